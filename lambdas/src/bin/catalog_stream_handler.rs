//! Lambda: catalog DynamoDB stream → completion check when `expectedChunkCount` is written.
//! Returns partial batch failures (`ReportBatchItemFailures` on the event source mapping).

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use recorder_lambdas::runtime::{init_logs, ports_from_env, traced};
use recorder_lambdas::stream::handle_batch;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logs();
    let ports = ports_from_env("catalog-stream-handler").await?;
    let ports = &ports;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Event>| async move {
        Ok::<DynamoDbEventResponse, Error>(
            traced(&event.context, handle_batch(ports, &event.payload)).await,
        )
    }))
    .await
}
