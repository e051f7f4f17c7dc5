//! Lambda: the scheduled sweeper (EventBridge schedule). Applies the grace period to recordings
//! still waiting for chunks; a failed check fails the invocation.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use recorder_lambdas::runtime::{init_logs, ports_from_env, traced};
use recorder_lambdas::sweeper::sweep;
use serde_json::Value;
use tracing::info;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logs();
    let ports = ports_from_env("sweeper").await?;
    let ports = &ports;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let report = traced(&event.context, sweep(ports)).await?;
        info!(?report, "sweep done");
        Ok::<(), recorder_lambdas::LambdaError>(())
    }))
    .await
}
