//! The Step Functions adapter against mocked SDK responses (aws-smithy-mocks): the long-poll
//! timeouts it configures, how service errors map onto the port's errors, and heartbeats.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use activity_runtime::sfn::{POLL_READ_TIMEOUT, SfnTaskSource};
use aws_sdk_sfn::Client;
use aws_sdk_sfn::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_sfn::config::retry::RetryConfig;
use aws_sdk_sfn::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sfn::error::BoxError;
use aws_sdk_sfn::operation::get_activity_task::{GetActivityTaskError, GetActivityTaskOutput};
use aws_sdk_sfn::operation::send_task_failure::SendTaskFailureError;
use aws_sdk_sfn::operation::send_task_failure::SendTaskFailureOutput;
use aws_sdk_sfn::operation::send_task_heartbeat::{
    SendTaskHeartbeatError, SendTaskHeartbeatOutput,
};
use aws_sdk_sfn::operation::send_task_success::{SendTaskSuccessError, SendTaskSuccessOutput};
use aws_sdk_sfn::types::error::{
    ActivityDoesNotExist, ActivityWorkerLimitExceeded, InvalidOutput, InvalidToken,
    KmsAccessDeniedException, KmsInvalidStateException, KmsThrottlingException, TaskDoesNotExist,
    TaskTimedOut,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::timeout::TimeoutConfig;
use meeting_domain::error::PortError;
use meeting_domain::ports::{ActivityTaskSource, TaskTokenError};

const ARN: &str = "arn:aws:states:us-east-1:123456789012:activity:meeting-recorder-prepare-media";

/// Records the effective timeout configuration of every call, by operation name.
#[derive(Clone, Debug, Default)]
struct TimeoutProbe(Arc<Mutex<Vec<(String, TimeoutConfig)>>>);

impl Intercept for TimeoutProbe {
    fn name(&self) -> &'static str {
        "TimeoutProbe"
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_owned())
            .unwrap_or_default();
        if let Some(timeouts) = cfg.load::<TimeoutConfig>()
            && let Ok(mut seen) = self.0.lock()
        {
            seen.push((operation, timeouts.clone()));
        }
        Ok(())
    }
}

impl TimeoutProbe {
    fn of(&self, operation: &str) -> TimeoutConfig {
        self.0
            .lock()
            .expect("probe lock")
            .iter()
            .find(|(op, _)| op == operation)
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| panic!("no {operation} call was seen"))
    }
}

fn client(rules: &[&Rule], probe: &TimeoutProbe) -> Client {
    let probe = probe.clone();
    mock_client!(aws_sdk_sfn, RuleMode::MatchAny, rules, move |config| config
        .retry_config(RetryConfig::disabled())
        .interceptor(probe.clone()))
}

fn source(rules: &[&Rule]) -> SfnTaskSource {
    SfnTaskSource::new(client(rules, &TimeoutProbe::default()))
}

// ------------------------------------------------------------------------------------------
// GetActivityTask
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn given_a_poll_when_sent_then_its_read_timeout_is_above_the_60_s_long_poll() {
    let rule =
        mock!(Client::get_activity_task).then_output(|| GetActivityTaskOutput::builder().build());
    let probe = TimeoutProbe::default();
    let source = SfnTaskSource::new(client(&[&rule], &probe));

    source.poll(ARN, "worker-1").await.expect("poll");

    let timeouts = probe.of("GetActivityTask");
    let read = timeouts.read_timeout().expect("a read timeout is set");
    assert!(read >= Duration::from_secs(65), "{read:?}");
    assert_eq!(read, POLL_READ_TIMEOUT);
    let attempt = timeouts
        .operation_attempt_timeout()
        .expect("an attempt timeout is set");
    assert!(attempt >= read, "{attempt:?} < {read:?}");
}

#[tokio::test]
async fn given_a_client_with_sdk_retries_when_a_poll_fails_then_it_is_not_retried_by_the_sdk() {
    let rule = mock!(Client::get_activity_task)
        .sequence()
        .http_status(503, None)
        .output(|| GetActivityTaskOutput::builder().build())
        .build();
    let client = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, &[&rule], |config| config
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1))
        ));
    let source = SfnTaskSource::new(client);

    let result = source.poll(ARN, "w").await;

    assert!(
        matches!(result, Err(PortError::Unavailable { .. })),
        "{result:?}"
    );
    assert_eq!(rule.num_calls(), 1, "the SDK opened a second poll");
}

#[tokio::test]
async fn given_report_calls_when_sent_then_they_carry_short_timeouts() {
    let rule = mock!(Client::send_task_heartbeat)
        .then_output(|| SendTaskHeartbeatOutput::builder().build());
    let probe = TimeoutProbe::default();
    let source = SfnTaskSource::new(client(&[&rule], &probe));

    source.heartbeat("token").await.expect("heartbeat");

    let timeouts = probe.of("SendTaskHeartbeat");
    assert!(
        timeouts
            .operation_attempt_timeout()
            .is_some_and(|t| t <= Duration::from_secs(10))
    );
    assert!(
        timeouts
            .operation_timeout()
            .is_some_and(|t| t <= Duration::from_secs(30))
    );
}

#[tokio::test]
async fn given_a_task_when_polled_then_token_input_activity_and_worker_name_travel() {
    let rule = mock!(Client::get_activity_task)
        .match_requests(|req| {
            req.activity_arn() == Some(ARN) && req.worker_name() == Some("worker-1")
        })
        .then_output(|| {
            GetActivityTaskOutput::builder()
                .task_token("tok-1")
                .input(r#"{"recordingId":"r"}"#)
                .build()
        });
    let source = source(&[&rule]);

    let task = source
        .poll(ARN, "worker-1")
        .await
        .expect("poll")
        .expect("task");

    assert_eq!(task.token, "tok-1");
    assert_eq!(task.input, r#"{"recordingId":"r"}"#);
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn given_a_worker_name_over_80_characters_when_polling_then_it_is_cut_to_the_api_limit() {
    let rule = mock!(Client::get_activity_task)
        .match_requests(|req| req.worker_name().is_some_and(|n| n.chars().count() <= 80))
        .then_output(|| GetActivityTaskOutput::builder().build());
    let source = source(&[&rule]);

    source.poll(ARN, &"w".repeat(200)).await.expect("poll");

    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn given_a_poll_that_ends_empty_when_polled_then_there_is_no_task() {
    let rule =
        mock!(Client::get_activity_task).then_output(|| GetActivityTaskOutput::builder().build());
    assert_eq!(source(&[&rule]).poll(ARN, "w").await.expect("poll"), None);
}

#[tokio::test]
async fn given_a_missing_activity_when_polled_then_it_is_not_found() {
    let rule = mock!(Client::get_activity_task).then_error(|| {
        GetActivityTaskError::ActivityDoesNotExist(ActivityDoesNotExist::builder().build())
    });
    let result = source(&[&rule]).poll(ARN, "w").await;
    assert!(
        matches!(result, Err(PortError::NotFound { ref what }) if what.contains(ARN)),
        "{result:?}"
    );
}

#[tokio::test]
async fn given_too_many_open_polls_when_polled_then_it_is_throttled_and_retryable() {
    let rule = mock!(Client::get_activity_task).then_error(|| {
        GetActivityTaskError::ActivityWorkerLimitExceeded(
            ActivityWorkerLimitExceeded::builder().build(),
        )
    });
    let result = source(&[&rule]).poll(ARN, "w").await;
    assert!(
        matches!(result, Err(PortError::Throttled { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn given_a_throttling_error_when_polled_then_it_is_throttled() {
    let rule = mock!(Client::get_activity_task)
        .sequence()
        .http_status(
            400,
            Some(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_owned()),
        )
        .build();
    let result = source(&[&rule]).poll(ARN, "w").await;
    assert!(
        matches!(result, Err(PortError::Throttled { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn given_a_5xx_when_polled_then_it_is_unavailable_and_retryable() {
    let rule = mock!(Client::get_activity_task)
        .sequence()
        .http_status(503, None)
        .build();
    let result = source(&[&rule]).poll(ARN, "w").await;
    assert!(
        matches!(result, Err(ref e @ PortError::Unavailable { .. }) if e.is_retryable()),
        "{result:?}"
    );
}

#[tokio::test]
async fn given_access_denied_when_polled_then_it_is_access_denied_and_not_retryable() {
    let rule = mock!(Client::get_activity_task)
        .sequence()
        .http_status(
            400,
            Some(r#"{"__type":"AccessDeniedException","message":"no"}"#.to_owned()),
        )
        .build();
    let result = source(&[&rule]).poll(ARN, "w").await;
    assert!(
        matches!(result, Err(ref e @ PortError::AccessDenied { .. }) if !e.is_retryable()),
        "{result:?}"
    );
}

// ------------------------------------------------------------------------------------------
// SendTaskHeartbeat
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn given_a_timed_out_task_when_heartbeating_then_the_task_is_gone_as_timed_out() {
    let rule = mock!(Client::send_task_heartbeat)
        .then_error(|| SendTaskHeartbeatError::TaskTimedOut(TaskTimedOut::builder().build()));
    let result = source(&[&rule]).heartbeat("tok").await;
    assert!(
        matches!(result, Err(TaskTokenError::TimedOut)),
        "{result:?}"
    );
}

#[tokio::test]
async fn given_an_invalid_token_when_heartbeating_then_the_task_is_gone_as_invalid_token() {
    let rule = mock!(Client::send_task_heartbeat)
        .then_error(|| SendTaskHeartbeatError::InvalidToken(InvalidToken::builder().build()));
    let result = source(&[&rule]).heartbeat("tok").await;
    assert!(
        matches!(result, Err(TaskTokenError::InvalidToken)),
        "{result:?}"
    );
}

#[tokio::test]
async fn given_a_stopped_execution_when_heartbeating_then_the_task_does_not_exist() {
    let rule = mock!(Client::send_task_heartbeat).then_error(|| {
        SendTaskHeartbeatError::TaskDoesNotExist(TaskDoesNotExist::builder().build())
    });
    let result = source(&[&rule]).heartbeat("tok").await;
    assert!(
        matches!(result, Err(TaskTokenError::TaskDoesNotExist)),
        "{result:?}"
    );
}

#[tokio::test]
async fn given_a_5xx_when_heartbeating_then_it_is_a_transient_port_error_not_a_gone_task() {
    let rule = mock!(Client::send_task_heartbeat)
        .sequence()
        .http_status(500, None)
        .build();
    let result = source(&[&rule]).heartbeat("tok").await;
    assert!(
        matches!(&result, Err(e @ TaskTokenError::Port(p)) if !e.task_is_gone() && p.is_retryable()),
        "{result:?}"
    );
}

#[tokio::test]
async fn given_throttling_when_heartbeating_then_it_is_a_retryable_port_error() {
    let rule = mock!(Client::send_task_heartbeat)
        .sequence()
        .http_status(
            400,
            Some(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_owned()),
        )
        .build();
    let result = source(&[&rule]).heartbeat("tok").await;
    assert!(
        matches!(
            &result,
            Err(TaskTokenError::Port(PortError::Throttled { .. }))
        ),
        "{result:?}"
    );
}

// ------------------------------------------------------------------------------------------
// SendTaskSuccess / SendTaskFailure
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn given_a_success_when_sent_then_token_and_output_travel() {
    let rule = mock!(Client::send_task_success)
        .match_requests(|req| req.task_token() == Some("tok") && req.output() == Some(r#"{"a":1}"#))
        .then_output(|| SendTaskSuccessOutput::builder().build());
    let source = source(&[&rule]);
    source.succeed("tok", r#"{"a":1}"#).await.expect("succeed");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn given_a_timed_out_task_when_succeeding_then_the_task_is_gone() {
    let rule = mock!(Client::send_task_success)
        .then_error(|| SendTaskSuccessError::TaskTimedOut(TaskTimedOut::builder().build()));
    let result = source(&[&rule]).succeed("tok", "{}").await;
    assert!(
        matches!(result, Err(TaskTokenError::TimedOut)),
        "{result:?}"
    );
}

#[tokio::test]
async fn given_invalid_output_when_succeeding_then_the_output_is_refused_and_the_token_is_not_gone()
{
    let rule = mock!(Client::send_task_success)
        .then_error(|| SendTaskSuccessError::InvalidOutput(InvalidOutput::builder().build()));
    let result = source(&[&rule]).succeed("tok", "{}").await;
    assert!(
        matches!(&result, Err(e @ TaskTokenError::InvalidOutput { .. }) if !e.task_is_gone()),
        "{result:?}"
    );
}

#[tokio::test]
async fn given_a_validation_exception_when_succeeding_then_the_output_is_refused() {
    let rule = mock!(Client::send_task_success)
        .sequence()
        .http_status(
            400,
            Some(
                r#"{"__type":"ValidationException","message":"1 validation error detected: Value at 'output' failed to satisfy constraint: Member must have length less than or equal to 262144"}"#
                    .to_owned(),
            ),
        )
        .build();
    let result = source(&[&rule]).succeed("tok", "{}").await;
    assert!(
        matches!(result, Err(TaskTokenError::InvalidOutput { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn given_access_denied_when_succeeding_then_it_is_a_refusal_of_the_call_not_of_the_output() {
    let rule = mock!(Client::send_task_success)
        .sequence()
        .http_status(
            400,
            Some(
                r#"{"__type":"AccessDeniedException","message":"not authorized to perform: states:SendTaskSuccess"}"#
                    .to_owned(),
            ),
        )
        .build();
    let result = source(&[&rule]).succeed("tok", "{}").await;
    assert!(
        matches!(&result, Err(e @ TaskTokenError::Port(p @ PortError::AccessDenied { .. })) if !e.task_is_gone() && !p.is_retryable()),
        "{result:?}"
    );
}

#[tokio::test]
async fn given_kms_errors_when_succeeding_then_throttling_is_retryable_and_the_others_are_refusals_of_the_call()
 {
    let throttled = mock!(Client::send_task_success).then_error(|| {
        SendTaskSuccessError::KmsThrottlingException(KmsThrottlingException::builder().build())
    });
    let result = source(&[&throttled]).succeed("tok", "{}").await;
    assert!(
        matches!(&result, Err(TaskTokenError::Port(p)) if p.is_retryable()),
        "{result:?}"
    );

    let denied = mock!(Client::send_task_success).then_error(|| {
        SendTaskSuccessError::KmsAccessDeniedException(KmsAccessDeniedException::builder().build())
    });
    let result = source(&[&denied]).succeed("tok", "{}").await;
    assert!(
        matches!(
            &result,
            Err(TaskTokenError::Port(PortError::AccessDenied { .. }))
        ),
        "{result:?}"
    );

    let disabled_key = mock!(Client::send_task_failure).then_error(|| {
        SendTaskFailureError::KmsInvalidStateException(KmsInvalidStateException::builder().build())
    });
    let result = source(&[&disabled_key]).fail("tok", "E", "c").await;
    assert!(
        matches!(&result, Err(TaskTokenError::Port(p @ PortError::Rejected { .. })) if !p.is_retryable()),
        "{result:?}"
    );
}

#[tokio::test]
async fn given_a_failure_when_sent_then_error_and_cause_travel() {
    let rule = mock!(Client::send_task_failure)
        .match_requests(|req| {
            req.task_token() == Some("tok")
                && req.error() == Some("Media.ChunkInvalid")
                && req.cause() == Some("chunk 2")
        })
        .then_output(|| SendTaskFailureOutput::builder().build());
    let source = source(&[&rule]);
    source
        .fail("tok", "Media.ChunkInvalid", "chunk 2")
        .await
        .expect("fail");
    assert_eq!(rule.num_calls(), 1);
}

// ------------------------------------------------------------------------------------------
// The worker over the adapter
// ------------------------------------------------------------------------------------------

mod through_the_worker {
    use std::sync::Arc;

    use activity_runtime::{
        Activity, Failure, Registry, TaskContext, TaskResult, Worker, WorkerConfig,
    };
    use async_trait::async_trait;
    use aws_sdk_sfn::operation::send_task_success::SendTaskSuccessError;
    use aws_sdk_sfn::types::error::InvalidOutput;
    use meeting_domain::activity::{ActivityContract, WorkerError};
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    use super::*;

    const PREFIX: &str = "arn:aws:states:us-east-1:123456789012:activity:meeting-recorder";
    const DOUBLE_ARN: &str =
        "arn:aws:states:us-east-1:123456789012:activity:meeting-recorder-double";

    struct DoubleContract;

    #[derive(Debug, Serialize, Deserialize, JsonSchema)]
    struct Number {
        n: u32,
    }

    impl ActivityContract for DoubleContract {
        const NAME: &'static str = "double";
        const HEARTBEAT_SECONDS: u32 = 60;
        const TIMEOUT_SECONDS: u32 = 300;
        type Input = Number;
        type Output = Number;
        type Error = WorkerError;
    }

    struct Double;

    #[async_trait]
    impl Activity for Double {
        type Contract = DoubleContract;
        async fn run(
            &self,
            input: Number,
            _ctx: &TaskContext,
        ) -> Result<Number, Failure<WorkerError>> {
            Ok(Number { n: input.n * 2 })
        }
    }

    fn worker(client: Client) -> Worker {
        let mut registry = Registry::new(PREFIX);
        registry.register(Double).expect("register");
        Worker::new(
            Arc::new(SfnTaskSource::new(client)),
            registry,
            WorkerConfig::default(),
        )
        .expect("worker")
    }

    fn task_rule() -> Rule {
        mock!(Client::get_activity_task)
            .match_requests(|req| req.activity_arn() == Some(DOUBLE_ARN))
            .then_output(|| {
                GetActivityTaskOutput::builder()
                    .task_token("tok-9")
                    .input(r#"{"n":21}"#)
                    .build()
            })
    }

    #[tokio::test]
    async fn given_a_task_from_step_functions_when_run_then_the_output_is_sent_with_send_task_success()
     {
        let poll = task_rule();
        let success = mock!(Client::send_task_success)
            .match_requests(|req| {
                req.task_token() == Some("tok-9") && req.output() == Some(r#"{"n":42}"#)
            })
            .then_output(|| SendTaskSuccessOutput::builder().build());
        let worker = worker(client(&[&poll, &success], &TimeoutProbe::default()));

        let report = worker.run_one("double").await.expect("run").expect("task");

        assert_eq!(report.result, TaskResult::Succeeded);
        assert_eq!((poll.num_calls(), success.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn given_access_denied_on_send_task_success_when_reported_then_the_task_is_not_failed() {
        let poll = task_rule();
        let success = mock!(Client::send_task_success)
            .sequence()
            .http_status(
                400,
                Some(r#"{"__type":"AccessDeniedException","message":"denied"}"#.to_owned()),
            )
            .build();
        let failure = mock!(Client::send_task_failure)
            .then_output(|| SendTaskFailureOutput::builder().build());
        let worker = worker(client(
            &[&poll, &success, &failure],
            &TimeoutProbe::default(),
        ));

        let report = worker.run_one("double").await.expect("run").expect("task");

        assert!(
            matches!(report.result, TaskResult::Unreported { .. }),
            "{report:?}"
        );
        assert_eq!((success.num_calls(), failure.num_calls()), (1, 0));
    }

    #[tokio::test]
    async fn given_step_functions_rejects_the_output_when_reported_then_the_task_is_failed_as_invalid_output()
     {
        let poll = task_rule();
        let success = mock!(Client::send_task_success)
            .then_error(|| SendTaskSuccessError::InvalidOutput(InvalidOutput::builder().build()));
        let failure = mock!(Client::send_task_failure)
            .match_requests(|req| {
                req.task_token() == Some("tok-9") && req.error() == Some("Worker.InvalidOutput")
            })
            .then_output(|| SendTaskFailureOutput::builder().build());
        let worker = worker(client(
            &[&poll, &success, &failure],
            &TimeoutProbe::default(),
        ));

        let report = worker.run_one("double").await.expect("run").expect("task");

        assert_eq!(
            report.result,
            TaskResult::Failed {
                error: "Worker.InvalidOutput"
            }
        );
        assert_eq!((success.num_calls(), failure.num_calls()), (1, 1));
    }
}
