//! `SfnWorkflowStarter` against mocked Step Functions responses.

use std::sync::Arc;

use aws_sdk_sfn::Client;
use aws_sdk_sfn::operation::describe_execution::{
    DescribeExecutionError, DescribeExecutionInput, DescribeExecutionOutput,
};
use aws_sdk_sfn::operation::start_execution::{
    StartExecutionError, StartExecutionInput, StartExecutionOutput,
};
use aws_sdk_sfn::types::ExecutionStatus as SfnExecutionStatus;
use aws_sdk_sfn::types::error::{ExecutionAlreadyExists, ExecutionDoesNotExist};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use chrono::{DateTime, TimeZone, Utc};
use meeting_domain::contracts::{ProcessingInput, ProcessingOptions};
use meeting_domain::ports::{
    Clock, ExecutionState, ExecutionStatus, StartOutcome, WorkflowStarter,
};
use meeting_domain::{PortError, RecordingId, UserId};
use recorder_aws::SfnWorkflowStarter;

use crate::{Captured, three_attempts};

const MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:processing";
const EXECUTION: &str = "arn:aws:states:us-east-1:123456789012:execution:processing:rec_1";

#[derive(Debug)]
struct FixedClock(DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 19, 30, 0).unwrap()
}

fn input() -> ProcessingInput {
    ProcessingInput {
        user_id: UserId::new("user_1").unwrap(),
        recording_id: RecordingId::new("rec_1").unwrap(),
        bucket: "recordings".into(),
        chunk_count: 3,
        run: 0,
        options: ProcessingOptions::default(),
        resume: None,
        manifest_key: None,
    }
}

fn output_started_at(start: DateTime<Utc>) -> StartExecutionOutput {
    StartExecutionOutput::builder()
        .execution_arn(EXECUTION)
        .start_date(aws_smithy_types::DateTime::from_millis(
            start.timestamp_millis(),
        ))
        .build()
        .unwrap()
}

fn starter(client: Client) -> SfnWorkflowStarter {
    SfnWorkflowStarter::new(client, MACHINE).with_clock(Arc::new(FixedClock(now())))
}

#[tokio::test]
async fn given_a_new_name_when_starting_then_the_name_and_canonical_input_are_sent() {
    let captured = Captured::<StartExecutionInput>::new();
    let seen = captured.clone();
    let start = mock!(Client::start_execution).then_compute_output(move |req| {
        seen.push(req);
        output_started_at(now() + chrono::TimeDelta::milliseconds(40))
    });
    let client = mock_client!(aws_sdk_sfn, [&start]);

    let outcome = starter(client).start("rec_1", &input()).await.unwrap();

    assert_eq!(
        outcome,
        StartOutcome::Started {
            execution_arn: EXECUTION.into()
        }
    );
    let request = &captured.all()[0];
    assert_eq!(request.state_machine_arn(), Some(MACHINE));
    assert_eq!(request.name(), Some("rec_1"));
    assert_eq!(
        request.input(),
        Some(
            r#"{"userId":"user_1","recordingId":"rec_1","bucket":"recordings","chunkCount":3,"run":0,"options":{},"manifestKey":null}"#
        )
    );
}

#[tokio::test]
async fn given_an_open_execution_with_the_same_input_when_started_again_then_already_running() {
    // Step Functions answers a replay with the original execution and its original start date.
    let start = mock!(Client::start_execution)
        .then_output(|| output_started_at(now() - chrono::TimeDelta::minutes(3)));
    let client = mock_client!(aws_sdk_sfn, [&start]);

    let outcome = starter(client).start("rec_1", &input()).await.unwrap();

    assert_eq!(
        outcome,
        StartOutcome::AlreadyRunning {
            execution_arn: EXECUTION.into()
        }
    );
}

#[tokio::test]
async fn given_a_closed_or_different_execution_when_started_then_conflict() {
    let start = mock!(Client::start_execution).then_error(|| {
        StartExecutionError::ExecutionAlreadyExists(
            ExecutionAlreadyExists::builder()
                .message("Execution Already Exists")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_sfn, [&start]);

    let result = starter(client).start("rec_1", &input()).await;

    assert!(
        matches!(result, Err(PortError::Conflict { .. })),
        "got {result:?}"
    );
    assert_eq!(start.num_calls(), 1, "a conflict is not retried");
}

#[tokio::test(start_paused = true)]
async fn given_persistent_throttling_when_starting_then_retried_then_throttled() {
    let start = mock!(Client::start_execution)
        .sequence()
        .http_status(
            400,
            Some(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.into()),
        )
        .times(3)
        .build();
    let client = mock_client!(aws_sdk_sfn, RuleMode::Sequential, [&start], |c| c
        .retry_config(three_attempts()));

    let result = starter(client).start("rec_1", &input()).await;

    assert!(
        matches!(
            result,
            Err(PortError::Throttled {
                service: "stepfunctions",
                ..
            })
        ),
        "got {result:?}"
    );
    assert_eq!(start.num_calls(), 3);
}

#[tokio::test]
async fn given_a_trace_header_when_starting_then_it_is_sent_as_trace_header_and_the_input_is_unchanged()
 {
    let captured = Captured::<StartExecutionInput>::new();
    let seen = captured.clone();
    let start = mock!(Client::start_execution).then_compute_output(move |req| {
        seen.push(req);
        output_started_at(now())
    });
    let client = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&start]);
    let header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

    let starter = starter(client);
    starter
        .start_traced("rec_1", &input(), Some(header))
        .await
        .unwrap();
    starter.start("rec_1", &input()).await.unwrap();

    let requests = captured.all();
    assert_eq!(requests[0].trace_header(), Some(header));
    assert_eq!(requests[1].trace_header(), None);
    assert_eq!(requests[0].input(), requests[1].input());
}

#[tokio::test]
async fn given_a_failed_execution_when_described_then_its_status_error_and_cause() {
    let captured = Captured::<DescribeExecutionInput>::new();
    let seen = captured.clone();
    let describe = mock!(Client::describe_execution).then_compute_output(move |req| {
        seen.push(req);
        DescribeExecutionOutput::builder()
            .execution_arn(EXECUTION)
            .state_machine_arn(MACHINE)
            .status(SfnExecutionStatus::Failed)
            .start_date(aws_smithy_types::DateTime::from_millis(
                now().timestamp_millis(),
            ))
            .error("MediaFailed")
            .cause("no chunks")
            .build()
            .unwrap()
    });
    let client = mock_client!(aws_sdk_sfn, [&describe]);

    let state = starter(client).describe("rec_1").await.unwrap();

    assert_eq!(
        state,
        Some(ExecutionState {
            status: ExecutionStatus::Failed,
            error: Some("MediaFailed".into()),
            cause: Some("no chunks".into()),
        })
    );
    assert_eq!(captured.all()[0].execution_arn(), Some(EXECUTION));
}

#[tokio::test]
async fn given_no_execution_of_that_name_when_described_then_none() {
    let describe = mock!(Client::describe_execution).then_error(|| {
        DescribeExecutionError::ExecutionDoesNotExist(
            ExecutionDoesNotExist::builder()
                .message("Execution Does Not Exist")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_sfn, [&describe]);

    let state = starter(client).describe("rec_1").await.unwrap();

    assert_eq!(state, None);
    assert_eq!(describe.num_calls(), 1);
}
