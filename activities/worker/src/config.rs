//! The worker's typed configuration, read once from the environment variables named in
//! [`meeting_domain::deployment::env`] (Terraform sets exactly these).

use std::path::PathBuf;
use std::time::Duration;

use activity_runtime::{Registry, WorkerConfig};
use meeting_domain::deployment::env;

use crate::error::StartupError;

/// Default drain deadline. GetActivityTask long-polls for up to 60 s, so a poll open at SIGTERM
/// can still hand over a task 60 s later; 90 s gives that task 30 s, and 90 s plus the 5 s cancel
/// grace and the final reports stay under Fargate's maximum `stopTimeout` of 120 s.
pub const DEFAULT_DRAIN_SECONDS: u64 = 90;

/// Upper bound for `WORKER_CONCURRENCY`: each slot is one open GetActivityTask poll and one
/// running task (FFmpeg, Whisper), so a higher value is a typo rather than a plan.
pub const MAX_CONCURRENCY: usize = 64;

/// Standard variable holding the container's host name; used as the poll's `workerName` so the
/// execution history shows which task ran an activity.
const HOSTNAME: &str = "HOSTNAME";

/// Everything the worker reads from its environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerSettings {
    /// `ACTIVITY_ARN_PREFIX`: `arn:aws:states:{region}:{account}:activity:{prefix}`.
    pub activity_arn_prefix: String,
    /// `WORKER_ACTIVITIES`: the activity names to serve; `None` serves every registered one.
    pub activities: Option<Vec<String>>,
    /// `WORKER_CONCURRENCY`: tasks per activity at once (default 1).
    pub concurrency: usize,
    /// `WORKER_DRAIN_SECONDS`: how long running tasks may finish after SIGTERM (default 90).
    pub drain: Duration,
    /// `WORKER_HEARTBEAT_SECONDS`: seconds between a running task's heartbeats; `None` (unset)
    /// means a third of the activity's `HeartbeatSeconds`.
    pub heartbeat: Option<Duration>,
    /// `HOSTNAME`, or `activity-worker`.
    pub worker_name: String,
    /// `WORKER_SPOOL_DIR`: where results wait until Step Functions accepts them, so a restarted
    /// worker still reports them; `None` (unset) means no spool.
    pub spool_dir: Option<PathBuf>,
}

impl WorkerSettings {
    /// Reads the process environment.
    ///
    /// # Errors
    /// [`StartupError::MissingVar`] / [`StartupError::InvalidVar`].
    pub fn from_env() -> Result<Self, StartupError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup` (tests pass a map).
    ///
    /// # Errors
    /// [`StartupError::MissingVar`] / [`StartupError::InvalidVar`].
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, StartupError> {
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let activity_arn_prefix =
            var(env::ACTIVITY_ARN_PREFIX).ok_or(StartupError::MissingVar {
                var: env::ACTIVITY_ARN_PREFIX,
            })?;
        if !activity_arn_prefix.starts_with("arn:") || !activity_arn_prefix.contains(":activity:") {
            return Err(StartupError::InvalidVar {
                var: env::ACTIVITY_ARN_PREFIX,
                value: activity_arn_prefix,
                reason: "expected arn:aws:states:{region}:{account}:activity:{prefix}".into(),
            });
        }
        let activities = var(env::WORKER_ACTIVITIES).map(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        });
        let concurrency = match var(env::WORKER_CONCURRENCY) {
            None => 1,
            Some(value) => match value.trim().parse::<usize>() {
                Ok(n) if (1..=MAX_CONCURRENCY).contains(&n) => n,
                _ => {
                    return Err(StartupError::InvalidVar {
                        var: env::WORKER_CONCURRENCY,
                        value,
                        reason: format!("expected a whole number from 1 to {MAX_CONCURRENCY}"),
                    });
                }
            },
        };
        let drain = match var(env::WORKER_DRAIN_SECONDS) {
            None => Duration::from_secs(DEFAULT_DRAIN_SECONDS),
            Some(value) => match value.trim().parse::<u64>() {
                Ok(seconds) if seconds <= env::MAX_DRAIN_SECONDS => Duration::from_secs(seconds),
                _ => {
                    return Err(StartupError::InvalidVar {
                        var: env::WORKER_DRAIN_SECONDS,
                        value,
                        reason: format!(
                            "expected whole seconds from 0 to {}",
                            env::MAX_DRAIN_SECONDS
                        ),
                    });
                }
            },
        };
        let heartbeat = match var(env::WORKER_HEARTBEAT_SECONDS) {
            None => None,
            Some(value) => match value.trim().parse::<u64>() {
                Ok(seconds) if (1..=env::MAX_HEARTBEAT_SECONDS).contains(&seconds) => {
                    Some(Duration::from_secs(seconds))
                }
                _ => {
                    return Err(StartupError::InvalidVar {
                        var: env::WORKER_HEARTBEAT_SECONDS,
                        value,
                        reason: format!(
                            "expected whole seconds from 1 to {}",
                            env::MAX_HEARTBEAT_SECONDS
                        ),
                    });
                }
            },
        };
        let worker_name = var(HOSTNAME).unwrap_or_else(|| "activity-worker".to_owned());
        let spool_dir = match var(env::WORKER_SPOOL_DIR) {
            None => None,
            Some(value) if PathBuf::from(value.trim()).is_absolute() => {
                Some(PathBuf::from(value.trim()))
            }
            Some(value) => {
                return Err(StartupError::InvalidVar {
                    var: env::WORKER_SPOOL_DIR,
                    value,
                    reason: "expected an absolute directory path".into(),
                });
            }
        };
        Ok(Self {
            activity_arn_prefix,
            activities,
            concurrency,
            drain,
            heartbeat,
            worker_name,
            spool_dir,
        })
    }

    /// An empty registry for these settings (ARN prefix and activity selection applied).
    pub fn registry(&self) -> Registry {
        let registry = Registry::new(self.activity_arn_prefix.clone());
        match &self.activities {
            Some(names) => registry.only(names.clone()),
            None => registry,
        }
    }

    /// Whether this worker serves the activity `name` (every activity when
    /// `WORKER_ACTIVITIES` is unset).
    pub fn serves(&self, name: &str) -> bool {
        self.activities
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n == name))
    }

    /// The runtime configuration for these settings.
    pub fn worker_config(&self) -> WorkerConfig {
        WorkerConfig {
            worker_name: self.worker_name.clone(),
            concurrency: self.concurrency,
            drain_deadline: self.drain,
            heartbeat_interval: self.heartbeat,
            ..WorkerConfig::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const PREFIX: &str = "arn:aws:states:eu-west-1:123456789012:activity:meeting-recorder";

    fn read(vars: &[(&str, &str)]) -> Result<WorkerSettings, StartupError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        WorkerSettings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn given_only_the_arn_prefix_when_read_then_defaults_apply() {
        let settings = read(&[(env::ACTIVITY_ARN_PREFIX, PREFIX)]).expect("settings");
        assert_eq!(
            settings,
            WorkerSettings {
                activity_arn_prefix: PREFIX.into(),
                activities: None,
                concurrency: 1,
                drain: Duration::from_secs(DEFAULT_DRAIN_SECONDS),
                heartbeat: None,
                worker_name: "activity-worker".into(),
                spool_dir: None,
            }
        );
    }

    #[test]
    fn given_a_spool_directory_when_read_then_the_worker_spools_there() {
        let settings = read(&[
            (env::ACTIVITY_ARN_PREFIX, PREFIX),
            (env::WORKER_SPOOL_DIR, " /var/lib/activity-worker/spool "),
        ])
        .expect("settings");
        assert_eq!(
            settings.spool_dir,
            Some(PathBuf::from("/var/lib/activity-worker/spool"))
        );
    }

    #[test]
    fn given_a_relative_spool_directory_when_read_then_it_is_refused() {
        let result = read(&[
            (env::ACTIVITY_ARN_PREFIX, PREFIX),
            (env::WORKER_SPOOL_DIR, "spool"),
        ]);
        assert!(
            matches!(result, Err(StartupError::InvalidVar { var, .. }) if var == env::WORKER_SPOOL_DIR),
            "{result:?}"
        );
    }

    #[test]
    fn given_every_variable_when_read_then_each_is_typed() {
        let settings = read(&[
            (env::ACTIVITY_ARN_PREFIX, PREFIX),
            (env::WORKER_ACTIVITIES, " prepare-media, summarize ,"),
            (env::WORKER_CONCURRENCY, "4"),
            (env::WORKER_DRAIN_SECONDS, "100"),
            ("HOSTNAME", "ip-10-0-1-7"),
        ])
        .expect("settings");
        assert_eq!(
            settings.activities,
            Some(vec!["prepare-media".to_owned(), "summarize".to_owned()])
        );
        assert_eq!(settings.concurrency, 4);
        assert_eq!(settings.drain, Duration::from_secs(100));
        let config = settings.worker_config();
        assert_eq!(config.worker_name, "ip-10-0-1-7");
        assert_eq!(config.drain_deadline, Duration::from_secs(100));
    }

    #[test]
    fn given_no_arn_prefix_when_read_then_the_missing_variable_is_named() {
        assert!(matches!(
            read(&[]),
            Err(StartupError::MissingVar { var }) if var == env::ACTIVITY_ARN_PREFIX
        ));
    }

    #[test]
    fn given_a_prefix_that_is_not_an_activity_arn_when_read_then_it_is_refused() {
        assert!(matches!(
            read(&[(env::ACTIVITY_ARN_PREFIX, "meeting-recorder")]),
            Err(StartupError::InvalidVar { var, .. }) if var == env::ACTIVITY_ARN_PREFIX
        ));
    }

    #[test]
    fn given_a_zero_or_garbage_concurrency_when_read_then_it_is_refused() {
        for bad in ["0", "-1", "many", "65"] {
            let result = read(&[
                (env::ACTIVITY_ARN_PREFIX, PREFIX),
                (env::WORKER_CONCURRENCY, bad),
            ]);
            assert!(
                matches!(result, Err(StartupError::InvalidVar { var, .. }) if var == env::WORKER_CONCURRENCY),
                "{bad}: {result:?}"
            );
        }
    }

    #[test]
    fn given_a_heartbeat_period_when_read_then_the_worker_heartbeats_at_that_period() {
        let settings = read(&[
            (env::ACTIVITY_ARN_PREFIX, PREFIX),
            (env::WORKER_HEARTBEAT_SECONDS, " 2 "),
        ])
        .expect("settings");
        assert_eq!(settings.heartbeat, Some(Duration::from_secs(2)));
        assert_eq!(
            settings.worker_config().heartbeat_interval,
            Some(Duration::from_secs(2))
        );
    }

    #[test]
    fn given_no_heartbeat_period_when_read_then_the_contract_decides_it() {
        let settings = read(&[(env::ACTIVITY_ARN_PREFIX, PREFIX)]).expect("settings");
        assert_eq!(settings.worker_config().heartbeat_interval, None);
    }

    #[test]
    fn given_a_zero_or_garbage_heartbeat_period_when_read_then_it_is_refused() {
        for bad in ["0", "-1", "0.5", "often", "86401", "18446744073709551615"] {
            let result = read(&[
                (env::ACTIVITY_ARN_PREFIX, PREFIX),
                (env::WORKER_HEARTBEAT_SECONDS, bad),
            ]);
            assert!(
                matches!(result, Err(StartupError::InvalidVar { var, .. }) if var == env::WORKER_HEARTBEAT_SECONDS),
                "{bad}: {result:?}"
            );
        }
    }

    #[test]
    fn given_a_fractional_or_out_of_range_drain_when_read_then_it_is_refused() {
        for bad in ["1.5", "-1", "3601", "18446744073709551615"] {
            let result = read(&[
                (env::ACTIVITY_ARN_PREFIX, PREFIX),
                (env::WORKER_DRAIN_SECONDS, bad),
            ]);
            assert!(
                matches!(result, Err(StartupError::InvalidVar { var, .. }) if var == env::WORKER_DRAIN_SECONDS),
                "{bad}: {result:?}"
            );
        }
    }
}
