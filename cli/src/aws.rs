//! The AWS backend of the operator commands: where the deployment's resources are (flags and
//! their environment variables, then `terraform output -json`, then the names derived from the
//! prefix, see `meeting_domain::deployment::names`), and the clients and ports built once from
//! the SDK configuration (region, profile, endpoint).

use std::sync::Arc;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use meeting_domain::deployment::names;
use meeting_domain::ports::{Catalog, ChunkTable, ObjectStore, SystemClock};
use recorder_aws::{
    DynamoDbCatalog, DynamoDbChunkTable, S3ObjectStore, SfnExecutions, SfnWorkflowStarter,
    SqsDeadLetterQueue,
};
use recorder_lambdas::{IngestConfig, Ports, RecordingMetrics};
use serde_json::Value;

use crate::args::BackendArgs;
use crate::error::CliError;

/// The queue names `infra/terraform/sqs.tf` gives the dead-letter queues, after the prefix.
const EVENTS_DLQ_SUFFIX: &str = "events-dlq";
const LAMBDA_DLQ_SUFFIX: &str = "lambda-dlq";

/// The deployment's resource names, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsNames {
    /// The name prefix.
    pub prefix: String,
    /// The recordings bucket, when known.
    pub bucket: Option<String>,
    /// The catalog table.
    pub catalog_table: String,
    /// The chunk table.
    pub chunk_table: String,
    /// The state machine, when known (else looked up by name).
    pub state_machine_arn: Option<String>,
    /// The EventBridge dead-letter queue, when known (else looked up by name).
    pub events_dlq_url: Option<String>,
    /// The Lambda dead-letter queue, when known (else looked up by name).
    pub lambda_dlq_url: Option<String>,
}

/// The string outputs of `terraform output -json` (`{"name": {"value": …, "type": …}}`).
pub fn parse_terraform_outputs(
    text: &str,
) -> Result<std::collections::BTreeMap<String, String>, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let object = value
        .as_object()
        .ok_or_else(|| "not a JSON object of outputs".to_owned())?;
    Ok(object
        .iter()
        .filter_map(|(name, output)| {
            output
                .get("value")
                .and_then(Value::as_str)
                .map(|v| (name.clone(), v.to_owned()))
        })
        .collect())
}

/// Resolves the names: a flag (or its variable) first, then the Terraform outputs, then the
/// default derived from the prefix.
pub fn resolve_names(args: &BackendArgs) -> Result<AwsNames, CliError> {
    let outputs = match &args.terraform_outputs {
        None => Default::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| CliError::Io {
                path: path.clone(),
                source,
            })?;
            parse_terraform_outputs(&text).map_err(|e| {
                CliError::Usage(format!(
                    "{}: not the output of `terraform output -json`: {e}",
                    path.display()
                ))
            })?
        }
    };
    let pick = |flag: &Option<String>, output: &str| {
        flag.clone()
            .filter(|v| !v.is_empty())
            .or_else(|| outputs.get(output).cloned())
    };
    Ok(AwsNames {
        prefix: args.prefix.clone(),
        bucket: pick(&args.bucket, "recordings_bucket"),
        catalog_table: pick(&args.catalog_table, "catalog_table")
            .unwrap_or_else(|| names::catalog_table(&args.prefix)),
        chunk_table: pick(&args.chunk_table, "chunk_table")
            .unwrap_or_else(|| names::chunk_table(&args.prefix)),
        state_machine_arn: pick(&args.state_machine_arn, "state_machine_arn"),
        events_dlq_url: pick(&args.events_dlq_url, "events_dlq_url"),
        lambda_dlq_url: pick(&args.lambda_dlq_url, "lambda_dlq_url"),
    })
}

/// Which dead-letter queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueueChoice {
    /// The EventBridge target DLQ.
    Events,
    /// The Lambda DLQ / on-failure destination.
    Lambda,
    /// A queue by URL.
    Url(String),
}

impl QueueChoice {
    /// Parses `--queue`: `events`, `lambda`, `all` or a URL.
    pub fn parse_list(value: &str) -> Result<Vec<Self>, CliError> {
        match value {
            "all" => Ok(vec![Self::Events, Self::Lambda]),
            "events" => Ok(vec![Self::Events]),
            "lambda" => Ok(vec![Self::Lambda]),
            url if url.starts_with("http://") || url.starts_with("https://") => {
                Ok(vec![Self::Url(url.to_owned())])
            }
            other => Err(CliError::Usage(format!(
                "--queue {other}: expected events, lambda, all or a queue URL"
            ))),
        }
    }
}

/// Clients and ports of one deployment, built once.
#[derive(Clone)]
pub struct AwsBackend {
    names: AwsNames,
    sdk: SdkConfig,
    catalog: Arc<DynamoDbCatalog>,
    chunks: Arc<DynamoDbChunkTable>,
    objects: Arc<S3ObjectStore>,
}

impl std::fmt::Debug for AwsBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsBackend")
            .field("names", &self.names)
            .finish_non_exhaustive()
    }
}

/// The SDK configuration for region, profile and endpoint.
pub async fn sdk_config(args: &BackendArgs) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = &args.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &args.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(endpoint) = &args.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

impl AwsBackend {
    /// Builds the clients for `args`.
    pub async fn connect(args: &BackendArgs) -> Result<Self, CliError> {
        let names = resolve_names(args)?;
        let sdk = sdk_config(args).await;
        Ok(Self::with_sdk(names, sdk))
    }

    /// Builds the clients from a ready SDK configuration (tests point it at moto).
    pub fn with_sdk(names: AwsNames, sdk: SdkConfig) -> Self {
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        Self {
            catalog: Arc::new(DynamoDbCatalog::new(
                dynamodb.clone(),
                names.catalog_table.clone(),
            )),
            chunks: Arc::new(DynamoDbChunkTable::new(dynamodb, names.chunk_table.clone())),
            objects: Arc::new(S3ObjectStore::new(recorder_aws::s3_client(&sdk))),
            names,
            sdk,
        }
    }

    /// The resolved names.
    pub fn names(&self) -> &AwsNames {
        &self.names
    }

    /// The catalog.
    pub fn catalog(&self) -> Arc<dyn Catalog> {
        Arc::clone(&self.catalog) as Arc<dyn Catalog>
    }

    /// The chunk table.
    pub fn chunks(&self) -> Arc<dyn ChunkTable> {
        Arc::clone(&self.chunks) as Arc<dyn ChunkTable>
    }

    /// The bucket.
    pub fn objects(&self) -> Arc<dyn ObjectStore> {
        Arc::clone(&self.objects) as Arc<dyn ObjectStore>
    }

    /// The bucket name, required by commands that read or write objects.
    pub fn bucket(&self) -> Result<&str, CliError> {
        self.names.bucket.as_deref().ok_or_else(|| {
            CliError::Usage(
                "the recordings bucket is unknown: pass --bucket, RECORDINGS_BUCKET or \
                 --terraform-outputs"
                    .into(),
            )
        })
    }

    /// The state machine ARN: given, or found by its name `{prefix}-processing`.
    pub async fn state_machine_arn(&self) -> Result<String, CliError> {
        if let Some(arn) = &self.names.state_machine_arn {
            return Ok(arn.clone());
        }
        let wanted = names::state_machine(&self.names.prefix);
        let client = aws_sdk_sfn::Client::new(&self.sdk);
        recorder_aws::executions::find_state_machine(&client, &wanted)
            .await?
            .ok_or_else(|| {
                CliError::Usage(format!(
                    "no state machine named {wanted}: pass --state-machine-arn or \
                     --terraform-outputs"
                ))
            })
    }

    /// Step Functions executions of the processing state machine.
    pub async fn executions(&self) -> Result<SfnExecutions, CliError> {
        Ok(SfnExecutions::new(
            aws_sdk_sfn::Client::new(&self.sdk),
            self.state_machine_arn().await?,
        ))
    }

    /// The ports the ingest handler runs on, as the Lambdas build them (metrics are counted in
    /// memory rather than printed, so replaying does not emit business metrics twice).
    pub async fn ports(&self) -> Result<Ports, CliError> {
        let bucket = self.bucket()?.to_owned();
        let state_machine = self.state_machine_arn().await?;
        Ok(Ports {
            objects: self.objects(),
            chunks: self.chunks(),
            catalog: self.catalog(),
            workflows: Arc::new(SfnWorkflowStarter::new(
                aws_sdk_sfn::Client::new(&self.sdk),
                state_machine,
            )),
            clock: Arc::new(SystemClock),
            metrics: Arc::new(RecordingMetrics::new()),
            config: IngestConfig::new(bucket),
        })
    }

    /// A dead-letter queue: by URL when known, else by the name infra gives it.
    pub async fn queue(&self, which: &QueueChoice) -> Result<SqsDeadLetterQueue, CliError> {
        let client = aws_sdk_sqs::Client::new(&self.sdk);
        let (url, suffix) = match which {
            QueueChoice::Url(url) => (Some(url.clone()), ""),
            QueueChoice::Events => (self.names.events_dlq_url.clone(), EVENTS_DLQ_SUFFIX),
            QueueChoice::Lambda => (self.names.lambda_dlq_url.clone(), LAMBDA_DLQ_SUFFIX),
        };
        match url {
            Some(url) => Ok(SqsDeadLetterQueue::new(client, url)),
            None => {
                let name = format!("{}-{suffix}", self.names.prefix);
                Ok(SqsDeadLetterQueue::by_name(client, &name).await?)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> BackendArgs {
        BackendArgs {
            prefix: "mr".into(),
            ..BackendArgs::default()
        }
    }

    #[test]
    fn names_default_to_the_prefix_of_the_deployment() {
        let names = resolve_names(&args()).unwrap();
        assert_eq!(names.catalog_table, "mr-catalog");
        assert_eq!(names.chunk_table, "mr-chunks");
        assert_eq!(names.bucket, None);
        assert_eq!(names.state_machine_arn, None);
    }

    #[test]
    fn terraform_outputs_fill_the_names_and_flags_win_over_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outputs.json");
        std::fs::write(
            &path,
            r#"{
              "recordings_bucket": {"sensitive": false, "type": "string", "value": "b-1"},
              "catalog_table": {"sensitive": false, "type": "string", "value": "t-catalog"},
              "state_machine_arn": {"sensitive": false, "type": "string", "value": "arn:sm"},
              "events_dlq_url": {"sensitive": false, "type": "string", "value": "https://q/e"},
              "activity_arns": {"sensitive": false, "type": ["map", "string"], "value": {"a": "b"}}
            }"#,
        )
        .unwrap();
        let mut args = args();
        args.terraform_outputs = Some(path);
        args.catalog_table = Some("flag-catalog".into());
        let names = resolve_names(&args).unwrap();
        assert_eq!(names.bucket.as_deref(), Some("b-1"));
        assert_eq!(names.catalog_table, "flag-catalog");
        assert_eq!(names.chunk_table, "mr-chunks");
        assert_eq!(names.state_machine_arn.as_deref(), Some("arn:sm"));
        assert_eq!(names.events_dlq_url.as_deref(), Some("https://q/e"));
        assert_eq!(names.lambda_dlq_url, None);
    }

    #[test]
    fn a_file_that_is_not_terraform_output_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outputs.json");
        std::fs::write(&path, "[1, 2]").unwrap();
        let mut args = args();
        args.terraform_outputs = Some(path);
        assert!(matches!(resolve_names(&args), Err(CliError::Usage(_))));
    }

    #[test]
    fn the_queue_option_names_one_or_both_queues_or_a_url() {
        assert_eq!(
            QueueChoice::parse_list("all").unwrap(),
            [QueueChoice::Events, QueueChoice::Lambda]
        );
        assert_eq!(
            QueueChoice::parse_list("https://sqs/q").unwrap(),
            [QueueChoice::Url("https://sqs/q".into())]
        );
        assert!(QueueChoice::parse_list("nope").is_err());
    }
}
