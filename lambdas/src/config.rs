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

/// Default age after which a recording that never completed is retired (the deployment's
/// documented default, `env::DEFAULT_GIVE_UP_AFTER_SECONDS`: 7 days).
pub const DEFAULT_GIVE_UP_AFTER: Duration = Duration::from_secs(env::DEFAULT_GIVE_UP_AFTER_SECONDS);

/// Default recordings examined per sweep (`env::DEFAULT_SWEEP_LIMIT`).
pub const DEFAULT_SWEEP_LIMIT: usize = env::DEFAULT_SWEEP_LIMIT as usize;

/// Default age of a `processing` recording before the sweeper asks Step Functions about its
/// execution (`env::DEFAULT_PROCESSING_STALE_SECONDS`: the 8-hour `TimeoutSeconds` plus one
/// hour, so the status-change event normally settles it first).
pub const DEFAULT_PROCESSING_STALE: Duration =
    Duration::from_secs(env::DEFAULT_PROCESSING_STALE_SECONDS);

/// The longest accepted duration setting: 10 years. chrono's arithmetic on timestamps overflows
/// (and panics) past about 262,000 years; nothing here is meant to wait longer than this.
pub const MAX_DURATION_SECONDS: u64 = 10 * 365 * 24 * 3600;

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
    /// Age after which a recording that never completed is retired with a final status.
    pub give_up_after: Duration,
    /// Recordings one sweep examines at most.
    pub sweep_limit: usize,
    /// Age of a `processing` recording before the sweeper reconciles it with its execution.
    pub processing_stale: Duration,
}

impl IngestConfig {
    /// A configuration with the defaults for `bucket`.
    pub fn new(bucket: impl Into<String>) -> Self {
        Self {
            bucket: bucket.into(),
            max_chunk_bytes: DEFAULT_MAX_CHUNK_BYTES,
            grace: DEFAULT_GRACE,
            metrics_namespace: DEFAULT_METRICS_NAMESPACE.to_owned(),
            give_up_after: DEFAULT_GIVE_UP_AFTER,
            sweep_limit: DEFAULT_SWEEP_LIMIT,
            processing_stale: DEFAULT_PROCESSING_STALE,
        }
    }

    /// `duration` after `at`, saturating at chrono's maximum instead of panicking.
    pub fn after(
        at: chrono::DateTime<chrono::Utc>,
        duration: Duration,
    ) -> chrono::DateTime<chrono::Utc> {
        chrono::Duration::from_std(duration)
            .ok()
            .and_then(|d| at.checked_add_signed(d))
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
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
        if !(1..=env::MAX_MAX_CHUNK_BYTES).contains(&max_chunk_bytes) {
            return Err(LambdaError::Config(format!(
                "{}={max_chunk_bytes} is outside 1..={} bytes (S3's largest object)",
                env::MAX_CHUNK_BYTES,
                env::MAX_MAX_CHUNK_BYTES
            )));
        }
        let seconds = |name: &str, default: Duration| -> Result<Duration, LambdaError> {
            let value = number(name, default.as_secs())?;
            if value == 0 || value > MAX_DURATION_SECONDS {
                return Err(LambdaError::Config(format!(
                    "{name}={value} is outside 1..={MAX_DURATION_SECONDS} seconds"
                )));
            }
            Ok(Duration::from_secs(value))
        };
        let grace = seconds(env::COMPLETION_GRACE_SECONDS, DEFAULT_GRACE)?;
        let give_up_after = seconds(env::GIVE_UP_AFTER_SECONDS, DEFAULT_GIVE_UP_AFTER)?;
        let processing_stale = seconds(env::PROCESSING_STALE_SECONDS, DEFAULT_PROCESSING_STALE)?;
        let sweep_limit = number(env::SWEEP_LIMIT, DEFAULT_SWEEP_LIMIT as u64)?;
        // DynamoDB Query returns at most 1 MB a page; 10,000 records is far past one sweep's time.
        if !(1..=10_000).contains(&sweep_limit) {
            return Err(LambdaError::Config(format!(
                "{}={sweep_limit} is outside 1..=10000",
                env::SWEEP_LIMIT
            )));
        }
        if give_up_after <= grace {
            return Err(LambdaError::Config(format!(
                "{} must be longer than {}",
                env::GIVE_UP_AFTER_SECONDS,
                env::COMPLETION_GRACE_SECONDS
            )));
        }
        let metrics_namespace =
            var(env::METRICS_NAMESPACE).unwrap_or_else(|| DEFAULT_METRICS_NAMESPACE.to_owned());
        Ok(Self {
            bucket,
            max_chunk_bytes,
            grace,
            metrics_namespace,
            give_up_after,
            sweep_limit: usize::try_from(sweep_limit).unwrap_or(DEFAULT_SWEEP_LIMIT),
            processing_stale,
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
    fn numbers_out_of_range_are_config_errors_not_panics() {
        for (name, value) in [
            (env::COMPLETION_GRACE_SECONDS, "18446744073709551615"),
            (env::COMPLETION_GRACE_SECONDS, "99999999999999"),
            (env::GIVE_UP_AFTER_SECONDS, "0"),
            (env::SWEEP_LIMIT, "0"),
            (env::PROCESSING_STALE_SECONDS, "-5"),
            (env::MAX_CHUNK_BYTES, "0"),
            (env::MAX_CHUNK_BYTES, "18446744073709551615"),
        ] {
            let vars = HashMap::from([(env::RECORDINGS_BUCKET, "b"), (name, value)]);
            let read = IngestConfig::from_vars(|k| vars.get(k).map(|v| (*v).to_owned()));
            assert!(
                matches!(read, Err(LambdaError::Config(_))),
                "{name}={value}: {read:?}"
            );
        }
    }

    #[test]
    fn giving_up_before_the_grace_period_ends_is_refused() {
        let vars = HashMap::from([
            (env::RECORDINGS_BUCKET, "b"),
            (env::COMPLETION_GRACE_SECONDS, "600"),
            (env::GIVE_UP_AFTER_SECONDS, "300"),
        ]);
        let read = IngestConfig::from_vars(|k| vars.get(k).map(|v| (*v).to_owned()));
        assert!(matches!(read, Err(LambdaError::Config(_))), "{read:?}");
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
