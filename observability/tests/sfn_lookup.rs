//! `SfnTraceLookup` against mocked Step Functions: the recording's newest running execution is
//! found by name and its `traceHeader` read; no execution, or none traced, is no trace.
#![cfg(feature = "sfn")]

use aws_sdk_sfn::Client;
use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
use aws_sdk_sfn::operation::list_executions::ListExecutionsOutput;
use aws_sdk_sfn::primitives::DateTime;
use aws_sdk_sfn::types::{ExecutionListItem, ExecutionStatus};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use recorder_observability::TraceLookup;
use recorder_observability::sfn::SfnTraceLookup;

const MACHINE: &str = "arn:aws:states:us-east-1:1:stateMachine:meeting-recorder-processing";
const HEADER: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

/// The execution name of `recording`'s run `run` (user scoping hashes it in).
fn run_name(recording: &str, run: u32) -> String {
    meeting_domain::RecordingRef::new(
        meeting_domain::UserId::new("u").unwrap(),
        meeting_domain::RecordingId::new(recording).unwrap(),
    )
    .execution_name(run)
}

fn arn(name: &str) -> String {
    format!("arn:aws:states:us-east-1:1:execution:meeting-recorder-processing:{name}")
}

fn item(name: &str, started_ms: i64) -> ExecutionListItem {
    ExecutionListItem::builder()
        .execution_arn(arn(name))
        .state_machine_arn(MACHINE)
        .name(name)
        .status(ExecutionStatus::Running)
        .start_date(DateTime::from_millis(started_ms))
        .build()
        .unwrap()
}

fn described(name: &str, header: Option<&str>) -> DescribeExecutionOutput {
    DescribeExecutionOutput::builder()
        .execution_arn(arn(name))
        .state_machine_arn(MACHINE)
        .status(ExecutionStatus::Running)
        .start_date(DateTime::from_millis(0))
        .set_trace_header(header.map(str::to_owned))
        .build()
        .unwrap()
}

#[tokio::test]
async fn given_a_running_reprocess_run_when_looked_up_then_its_trace_header_is_returned() {
    // GIVEN two pages of running executions, the recording's rerun on the second
    let first = mock!(Client::list_executions)
        .match_requests(|r| {
            r.state_machine_arn() == Some(MACHINE)
                && r.status_filter() == Some(&ExecutionStatus::Running)
                && r.next_token().is_none()
        })
        .then_output(|| {
            ListExecutionsOutput::builder()
                .executions(item(&run_name("rec_10", 0), 5_000))
                .next_token("page-2")
                .build()
                .unwrap()
        });
    let second = mock!(Client::list_executions)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(|| {
            ListExecutionsOutput::builder()
                .executions(item(&run_name("rec_1", 2), 9_000))
                .build()
                .unwrap()
        });
    let describe = mock!(Client::describe_execution)
        .match_requests(|r| r.execution_arn() == Some(arn(&run_name("rec_1", 2)).as_str()))
        .then_output(|| described(&run_name("rec_1", 2), Some(HEADER)));
    let client = mock_client!(
        aws_sdk_sfn,
        RuleMode::MatchAny,
        [&first, &second, &describe]
    );

    // WHEN the trace of rec_1 is looked up
    let header = SfnTraceLookup::new(client, MACHINE)
        .trace_header("rec_1")
        .await
        .unwrap();

    // THEN it is the rerun's header, found without describing the other recording
    assert_eq!(header.unwrap().to_string(), HEADER);
    assert_eq!(
        (first.num_calls(), second.num_calls(), describe.num_calls()),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn given_no_running_execution_or_an_untraced_one_then_there_is_no_trace() {
    let none = mock!(Client::list_executions).then_output(|| {
        ListExecutionsOutput::builder()
            .set_executions(Some(Vec::new()))
            .build()
            .unwrap()
    });
    let describe = mock!(Client::describe_execution).then_output(|| described("rec_1", None));
    let client = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&none, &describe]);
    let lookup = SfnTraceLookup::new(client, MACHINE);
    assert_eq!(lookup.trace_header("rec_1").await.unwrap(), None);
    assert_eq!(describe.num_calls(), 0);

    let running = mock!(Client::list_executions).then_output(|| {
        ListExecutionsOutput::builder()
            .executions(item(&run_name("rec_1", 0), 1_000))
            .build()
            .unwrap()
    });
    let untraced = mock!(Client::describe_execution).then_output(|| described("rec_1", None));
    let client = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&running, &untraced]);
    let lookup = SfnTraceLookup::new(client, MACHINE);
    assert_eq!(lookup.trace_header("rec_1").await.unwrap(), None);
    assert_eq!(untraced.num_calls(), 1);
}
