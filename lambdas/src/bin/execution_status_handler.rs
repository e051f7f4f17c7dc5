//! Lambda: execution status handler. Step Functions "Execution Status Change" events (FAILED,
//! TIMED_OUT, ABORTED) → the recording's catalog item, for runs that ended without settling it.
//! Errors are returned so EventBridge retries.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use recorder_lambdas::LambdaError;
use recorder_lambdas::execution_status::handle_event;
use recorder_lambdas::runtime::{init_logs, ports_from_env, traced};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logs();
    let ports = ports_from_env("execution-status-handler").await?;
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
