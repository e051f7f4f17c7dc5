//! Typed configuration of the Lambdas, read once per cold start from the environment variables
//! named in `meeting_domain::deployment::env` (the same names Terraform sets).

use std::time::Duration;

use meeting_domain::deployment::env;

use crate::error::LambdaError;

/// Default largest chunk: 512 MiB. A 10-second 1080p chunk is a few MB; anything near this is not
/// a chunk the client produced.
pub const DEFAULT_MAX_CHUNK_BYTES: u64 = 512 * 1024 * 1024;

/// Default grace period after the end of a recording before missing chunks are reported: 15
/// minutes, well past EventBridge's usual delivery delay of seconds to a minute or more.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(15 * 60);

/// Default CloudWatch namespace of the embedded metrics.
pub const DEFAULT_METRICS_NAMESPACE: &str = "MeetingRecorder";

/// Settings of the ingest and completion logic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngestConfig {
    /// The recordings bucket; events of other buckets are acknowledged and ignored.
    pub bucket: String,
    /// Largest accepted chunk, bytes.
    pub max_chunk_bytes: u64,
    /// Time after `stoppedAt` before missing chunks make a recording `incomplete_chunks`.
    pub grace: Duration,
    /// CloudWatch namespace of the metrics.
    pub metrics_namespace: String,
}

impl IngestConfig {
    /// A configuration with the defaults for `bucket`.
    pub fn new(bucket: impl Into<String>) -> Self {
        Self {
            bucket: bucket.into(),
            max_chunk_bytes: DEFAULT_MAX_CHUNK_BYTES,
            grace: DEFAULT_GRACE,
            metrics_namespace: DEFAULT_METRICS_NAMESPACE.to_owned(),
        }
    }

    /// Reads the configuration through `var` (e.g. `|k| std::env::var(k).ok()`).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, LambdaError> {
        let bucket = var(env::RECORDINGS_BUCKET)
            .filter(|b| !b.is_empty())
            .ok_or_else(|| LambdaError::Config(format!("{} is not set", env::RECORDINGS_BUCKET)))?;
        let number = |name: &str, default: u64| -> Result<u64, LambdaError> {
            match var(name) {
                None => Ok(default),
                Some(raw) => raw.trim().parse().map_err(|_| {
                    LambdaError::Config(format!("{name}={raw:?} is not a whole number"))
                }),
            }
        };
        let max_chunk_bytes = number(env::MAX_CHUNK_BYTES, DEFAULT_MAX_CHUNK_BYTES)?;
        if max_chunk_bytes == 0 {
            return Err(LambdaError::Config(format!(
                "{} must be positive",
                env::MAX_CHUNK_BYTES
            )));
        }
        let grace = Duration::from_secs(number(
            env::COMPLETION_GRACE_SECONDS,
            DEFAULT_GRACE.as_secs(),
        )?);
        let metrics_namespace =
            var(env::METRICS_NAMESPACE).unwrap_or_else(|| DEFAULT_METRICS_NAMESPACE.to_owned());
        Ok(Self {
            bucket,
            max_chunk_bytes,
            grace,
            metrics_namespace,
        })
    }

    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, LambdaError> {
        Self::from_vars(|k| std::env::var(k).ok())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn settings_are_read_from_the_deployment_variable_names() {
        let vars = HashMap::from([
            (env::RECORDINGS_BUCKET, "b"),
            (env::MAX_CHUNK_BYTES, "1000"),
            (env::COMPLETION_GRACE_SECONDS, "60"),
        ]);
        let config = IngestConfig::from_vars(|k| vars.get(k).map(|v| (*v).to_owned())).unwrap();
        assert_eq!(config.bucket, "b");
        assert_eq!(config.max_chunk_bytes, 1000);
        assert_eq!(config.grace, Duration::from_secs(60));
    }

    #[test]
    fn a_missing_bucket_or_a_bad_number_is_a_config_error() {
        assert!(matches!(
            IngestConfig::from_vars(|_| None),
            Err(LambdaError::Config(_))
        ));
        let bad = |k: &str| match k {
            env::RECORDINGS_BUCKET => Some("b".to_owned()),
            env::MAX_CHUNK_BYTES => Some("lots".to_owned()),
            _ => None,
        };
        assert!(matches!(
            IngestConfig::from_vars(bad),
            Err(LambdaError::Config(_))
        ));
    }
}
