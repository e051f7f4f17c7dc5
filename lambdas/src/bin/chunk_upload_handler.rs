//! Lambda: Chunk Upload Handler. EventBridge "Object Created" events from S3 (chunks and
//! manifests) → chunk table → completion check. Errors are returned so EventBridge retries.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use recorder_lambdas::LambdaError;
use recorder_lambdas::ingest::handle_event;
use recorder_lambdas::runtime::{init_logs, ports_from_env, traced};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logs();
    let ports = ports_from_env("chunk-upload-handler").await?;
    let ports = &ports;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<EventBridgeEvent<Value>>| async move {
            traced(&event.context, handle_event(ports, event.payload))
                .await
                .map(|_| ())
                .map_err(|e: LambdaError| e)
        },
    ))
    .await
}
