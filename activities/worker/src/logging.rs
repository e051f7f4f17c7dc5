//! JSON logs on stdout (one object per line, for CloudWatch Logs and the local runtime), filtered
//! by `RUST_LOG` (default `info`), panics logged as JSON events too, and — when the task has an
//! X-Ray daemon (`AWS_XRAY_DAEMON_ADDRESS`) and knows its state machine (`STATE_MACHINE_ARN`) —
//! one X-Ray segment per activity task, in the trace of the recording's execution.
//!
//! Step Functions does not hand the trace to activity tasks: the runtime's `activity_task` span
//! (activity, task id, recording id) is timed by [`recorder_observability::XrayLayer`], and the
//! exporter reads the running execution's `traceHeader` (ListExecutions + DescribeExecution) to
//! place the segment under it. Without both variables nothing is sent and no AWS call is made.

use std::net::SocketAddr;
use std::sync::Arc;

use meeting_domain::deployment::env;
use recorder_observability::daemon::{DAEMON_ADDRESS_VAR, parse_daemon_address};
use recorder_observability::layer::FinishedSpan;
use recorder_observability::sfn::SfnTraceLookup;
use recorder_observability::{DaemonClient, ObservabilityError, SegmentExporter, XrayLayer};
use tokio::sync::mpsc;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The span the activity runtime opens around each task (`activity_runtime::worker`).
pub const TASK_SPAN: &str = "activity_task";

/// The worker's node on the X-Ray trace map.
pub const XRAY_SERVICE: &str = "meeting-recorder-worker";

/// Where the worker's segments go and which executions it looks traces up in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XraySettings {
    /// The daemon's UDP address.
    pub daemon: SocketAddr,
    /// The processing state machine.
    pub state_machine_arn: String,
}

impl XraySettings {
    /// Reads `AWS_XRAY_DAEMON_ADDRESS` and `STATE_MACHINE_ARN` through `lookup`: `None` (X-Ray
    /// off) unless both are set.
    ///
    /// # Errors
    /// [`ObservabilityError::InvalidDaemonAddress`] for a malformed daemon address.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, ObservabilityError> {
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let (Some(daemon), Some(state_machine_arn)) =
            (var(DAEMON_ADDRESS_VAR), var(env::STATE_MACHINE_ARN))
        else {
            return Ok(None);
        };
        Ok(Some(Self {
            daemon: parse_daemon_address(&daemon)?,
            state_machine_arn,
        }))
    }
}

/// Installs the JSON subscriber (plus the X-Ray layer when configured) and a panic hook that logs
/// through it. Safe to call twice. Call it inside the Tokio runtime: the segment exporter is
/// spawned on it.
pub fn init_json_logs() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_filter(filter);
    let xray = XraySettings::from_lookup(|name| std::env::var(name).ok());
    let (layer, finished) = match &xray {
        Ok(Some(_)) => {
            let (layer, finished) = XrayLayer::new(TASK_SPAN);
            (Some(layer), Some(finished))
        }
        _ => (None, None),
    };
    let installed = tracing_subscriber::registry()
        .with(json)
        .with(layer)
        .try_init()
        .is_ok();
    if !installed {
        return;
    }
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!(panic = %message, %location, "panic");
    }));
    match (xray, finished) {
        (Ok(Some(settings)), Some(finished)) => spawn_exporter(settings, finished),
        (Err(e), _) => tracing::warn!(error = %e, "x-ray off"),
        _ => {}
    }
}

/// Runs the segment exporter on the current Tokio runtime.
fn spawn_exporter(settings: XraySettings, finished: mpsc::Receiver<FinishedSpan>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::warn!("x-ray off: logging was initialised outside the Tokio runtime");
        return;
    };
    runtime.spawn(async move {
        let daemon = match DaemonClient::connect(settings.daemon).await {
            Ok(daemon) => daemon,
            Err(e) => {
                tracing::warn!(error = %e, "x-ray off: cannot open the daemon socket");
                return;
            }
        };
        let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let lookup =
            SfnTraceLookup::new(aws_sdk_sfn::Client::new(&aws), settings.state_machine_arn);
        tracing::info!(daemon = %settings.daemon, "x-ray segments on");
        SegmentExporter::new(Arc::new(lookup), daemon, XRAY_SERVICE)
            .run(finished)
            .await;
    });
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Option<XraySettings>, ObservabilityError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        XraySettings::from_lookup(|k| vars.get(k).cloned())
    }

    const MACHINE: &str = "arn:aws:states:us-east-1:1:stateMachine:meeting-recorder-processing";

    #[test]
    fn given_a_daemon_and_a_state_machine_then_x_ray_is_on() {
        let on = settings(&[
            ("AWS_XRAY_DAEMON_ADDRESS", "127.0.0.1:2000"),
            ("STATE_MACHINE_ARN", MACHINE),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(on.daemon, "127.0.0.1:2000".parse().unwrap());
        assert_eq!(on.state_machine_arn, MACHINE);
    }

    #[test]
    fn without_either_variable_x_ray_is_off() {
        assert_eq!(settings(&[]).unwrap(), None);
        assert_eq!(
            settings(&[("AWS_XRAY_DAEMON_ADDRESS", "127.0.0.1:2000")]).unwrap(),
            None
        );
        assert_eq!(settings(&[("STATE_MACHINE_ARN", MACHINE)]).unwrap(), None);
    }

    #[test]
    fn a_malformed_daemon_address_is_an_error() {
        assert!(
            settings(&[
                ("AWS_XRAY_DAEMON_ADDRESS", "tcp:127.0.0.1:2000"),
                ("STATE_MACHINE_ARN", MACHINE),
            ])
            .is_err()
        );
    }
}
