//! Cold-start wiring shared by the Lambda binaries (feature `lambda-bins`): JSON logs, typed
//! configuration, SDK clients built once, and the mapping of [`LambdaError`] to the runtime's
//! error report with a stable error type that says whether a retry can help.

use std::future::Future;
use std::sync::Arc;

use lambda_runtime::Diagnostic;
use meeting_domain::deployment::env;
use meeting_domain::ports::SystemClock;
use recorder_aws::{DynamoDbCatalog, DynamoDbChunkTable, S3ObjectStore, SfnWorkflowStarter};

use crate::{EmfMetrics, IngestConfig, LambdaError, Ports};

impl From<LambdaError> for Diagnostic {
    fn from(error: LambdaError) -> Self {
        let error_type = if error.is_retryable() {
            "Recorder.Retryable"
        } else {
            "Recorder.Permanent"
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}

pub use crate::logging::init_logs;

/// Runs one invocation's `work` with its request id and X-Ray trace header (see
/// [`crate::invocation`]).
pub async fn traced<F: Future>(context: &lambda_runtime::Context, work: F) -> F::Output {
    crate::invocation::run_traced(&context.request_id, context.xray_trace_id.as_deref(), work).await
}

fn required(name: &str) -> Result<String, LambdaError> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| LambdaError::Config(format!("{name} is not set")))
}

/// Reads the configuration and builds every port once, for the function `function` (the
/// metrics' `Function` dimension).
pub async fn ports_from_env(function: &str) -> Result<Ports, LambdaError> {
    let config = IngestConfig::from_env()?;
    let chunk_table = required(env::CHUNK_TABLE)?;
    let catalog_table = required(env::CATALOG_TABLE)?;
    let state_machine = required(env::STATE_MACHINE_ARN)?;
    let sdk = aws_config::load_from_env().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    Ok(Ports {
        objects: Arc::new(S3ObjectStore::new(recorder_aws::s3_client(&sdk))),
        chunks: Arc::new(DynamoDbChunkTable::new(dynamodb.clone(), chunk_table)),
        catalog: Arc::new(DynamoDbCatalog::new(dynamodb, catalog_table)),
        workflows: Arc::new(SfnWorkflowStarter::new(
            aws_sdk_sfn::Client::new(&sdk),
            state_machine,
        )),
        clock: Arc::new(SystemClock),
        metrics: Arc::new(EmfMetrics::new(config.metrics_namespace.clone(), function)),
        config,
    })
}
