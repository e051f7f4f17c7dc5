//! The Summarize activity over an in-memory object store: reads `transcript.json`, writes a
//! schema-valid `summary.json` and `summary.md` under the processed prefix, maps every failure to
//! its typed error and never stores a failure as a summary.

mod common;

use std::sync::Arc;

use activity_runtime::activity::{Activity, TaskContext};
use async_trait::async_trait;
use common::{RECORDING, transcript_of, whisper_meeting};
use meeting_domain::contracts::{
    EngineInfo, MeetingSummary, SummarizeInput, SummaryError, Transcript, output_files,
    processed_prefix,
};
use meeting_domain::ports::ObjectStore;
use meeting_domain::{RecordingId, UserId};
use recorder_testkit::memory::object_store::{InjectedError, MemoryObjectStore, StoreOp};
use summary::activity::SummarizeActivity;
use summary::{ExtractiveSummarizer, SummarizeError, Summarizer};
use tokio_util::sync::CancellationToken;

const BUCKET: &str = "recordings";

fn input() -> SummarizeInput {
    let user_id = UserId::new("user-1").expect("user");
    let recording_id = RecordingId::new(RECORDING).expect("recording");
    let transcript_key = format!(
        "{}{}",
        processed_prefix(&user_id, &recording_id),
        output_files::TRANSCRIPT_JSON
    );
    SummarizeInput {
        user_id,
        recording_id,
        bucket: BUCKET.to_owned(),
        transcript_key,
        // Tuesday 10 March, late evening in UTC+1.
        recorded_at: Some("2026-03-10T23:30:00+01:00".to_owned()),
    }
}

fn ctx() -> TaskContext {
    TaskContext {
        cancel: CancellationToken::new(),
        task_id: "task-1".to_owned(),
    }
}

async fn store_with(transcript: &[u8]) -> Arc<MemoryObjectStore> {
    let store = Arc::new(MemoryObjectStore::new());
    store
        .put_bytes(
            BUCKET,
            &input().transcript_key,
            transcript.to_vec().into(),
            "application/json",
        )
        .await
        .expect("stored");
    store
}

fn json_of(transcript: &Transcript) -> Vec<u8> {
    serde_json::to_vec(transcript).expect("json")
}

fn extractive(store: &Arc<MemoryObjectStore>) -> SummarizeActivity {
    SummarizeActivity::new(store.clone(), Arc::new(ExtractiveSummarizer::new()))
}

#[tokio::test]
async fn given_a_transcript_when_run_then_summary_json_and_markdown_are_written_next_to_it() {
    // GIVEN the Whisper transcript of the scripted meeting in the bucket
    let store = store_with(&json_of(&whisper_meeting())).await;
    // WHEN the activity runs with the extractive engine
    let output = extractive(&store)
        .run(input(), &ctx())
        .await
        .expect("summary");
    // THEN both files are under the processed prefix and summary.json is a valid summary
    let prefix = "users/user-1/processed/rec-planning-1/";
    assert_eq!(output.summary_key, format!("{prefix}summary.json"));
    assert_eq!(output.summary_markdown_key, format!("{prefix}summary.md"));
    let stored: serde_json::Value =
        serde_json::from_str(&text_of(&store, &output.summary_key).await).expect("json");
    let errors = summary::schema::meeting_summary_errors(&stored);
    assert!(errors.is_empty(), "{errors:?}");
    let summary: MeetingSummary = serde_json::from_value(stored).expect("summary contract");
    assert_eq!(
        output.action_item_count as usize,
        summary.action_items.len()
    );
    assert_eq!(output.decision_count as usize, summary.decisions.len());
    assert_eq!(output.decision_count, 1);
    // Alice's budget, Bob's design doc and test plan; Bob's "Sure, I will review it" is his
    // answer to the request, not a fourth item ("review it" says nothing on its own).
    assert_eq!(output.action_item_count, 3);
    let markdown = text_of(&store, &output.summary_markdown_key).await;
    assert!(markdown.contains("## Action items"));
    assert!(markdown.contains("send the budget — **Alice** — due by Friday (Fri 2026-03-13)"));
    // Said on Tuesday 10 March: Friday is the 13th.
    let budget = summary
        .action_items
        .iter()
        .find(|i| i.task == "send the budget")
        .expect("the budget item");
    assert_eq!(budget.due_date, "2026-03-13".parse().ok());
    assert_eq!(
        summary.recorded_at.as_deref(),
        Some("2026-03-10T23:30:00+01:00")
    );
    // Items without a due phrase get no date.
    assert!(
        summary
            .action_items
            .iter()
            .all(|i| i.due.is_some() || i.due_date.is_none())
    );
}

async fn text_of(store: &MemoryObjectStore, key: &str) -> String {
    let bytes = store.get_bytes(BUCKET, key).await.expect("object");
    String::from_utf8(bytes.to_vec()).expect("utf-8")
}

async fn failure_of(activity: &SummarizeActivity) -> SummaryError {
    activity
        .run(input(), &ctx())
        .await
        .expect_err("the task fails")
        .error
}

fn only_the_transcript_is_stored(store: &MemoryObjectStore) {
    assert_eq!(store.keys(BUCKET), vec![input().transcript_key]);
}

#[tokio::test]
async fn given_invalid_json_when_run_then_invalid_transcript_and_nothing_is_written() {
    let store = store_with(b"{\"segments\": \"secret words\"}").await;
    let failure = extractive(&store)
        .run(input(), &ctx())
        .await
        .expect_err("invalid");
    assert_eq!(failure.error, SummaryError::InvalidTranscript);
    // The cause names the position, never the transcript's text.
    assert!(!failure.cause.contains("secret words"), "{}", failure.cause);
    only_the_transcript_is_stored(&store);
}

#[tokio::test]
async fn given_no_transcript_object_when_run_then_invalid_transcript() {
    let store = Arc::new(MemoryObjectStore::new());
    assert_eq!(
        failure_of(&extractive(&store)).await,
        SummaryError::InvalidTranscript
    );
    assert!(store.keys(BUCKET).is_empty());
}

#[tokio::test]
async fn given_a_transcript_without_words_when_run_then_a_no_speech_summary_is_written() {
    // GIVEN the transcript of a silent recording (markers and blanks only)
    let silent = transcript_of(&[
        ("spk_0", 0.0, 30.0, "[BLANK_AUDIO]"),
        ("spk_0", 30.0, 31.0, " "),
    ]);
    let store = store_with(&json_of(&silent)).await;
    // WHEN the activity runs with a summarizer that must not be asked
    let activity = SummarizeActivity::new(
        store.clone(),
        Arc::new(Fixed(|| {
            panic!("a transcript without words is never summarized")
        })),
    );
    let output = activity
        .run(input(), &ctx())
        .await
        .expect("silence is not a failure");
    // THEN a schema-valid summary says so, with no items, in both files
    assert_eq!((output.action_item_count, output.decision_count), (0, 0));
    let stored: serde_json::Value =
        serde_json::from_str(&text_of(&store, &output.summary_key).await).expect("json");
    let errors = summary::schema::meeting_summary_errors(&stored);
    assert!(errors.is_empty(), "{errors:?}");
    let summary: MeetingSummary = serde_json::from_value(stored).expect("summary contract");
    assert_eq!(summary.summary, "No speech was found in this recording.");
    assert!(summary.action_items.is_empty() && summary.decisions.is_empty());
    let markdown = text_of(&store, &output.summary_markdown_key).await;
    assert!(
        markdown.contains("No speech was found in this recording."),
        "{markdown}"
    );
}

#[tokio::test]
async fn given_the_transcript_of_another_recording_when_run_then_invalid_transcript() {
    let mut other = whisper_meeting();
    other.recording_id = RecordingId::new("someone-else").expect("id");
    let store = store_with(&json_of(&other)).await;
    assert_eq!(
        failure_of(&extractive(&store)).await,
        SummaryError::InvalidTranscript
    );
    only_the_transcript_is_stored(&store);
}

/// A summarizer that returns a fixed result.
struct Fixed(fn() -> Result<MeetingSummary, SummarizeError>);

#[async_trait]
impl Summarizer for Fixed {
    fn engine(&self) -> EngineInfo {
        EngineInfo {
            name: "fixed".to_owned(),
            model: None,
        }
    }
    async fn summarize(&self, _: &Transcript) -> Result<MeetingSummary, SummarizeError> {
        (self.0)()
    }
}

#[tokio::test]
async fn given_a_throttled_model_when_run_then_service_unavailable_and_no_summary_is_stored() {
    let store = store_with(&json_of(&whisper_meeting())).await;
    let activity = SummarizeActivity::new(
        store.clone(),
        Arc::new(Fixed(|| {
            Err(SummarizeError::ServiceUnavailable {
                service: "bedrock",
                source: "ThrottlingException".into(),
            })
        })),
    );
    assert_eq!(
        failure_of(&activity).await,
        SummaryError::ServiceUnavailable
    );
    only_the_transcript_is_stored(&store);
}

#[tokio::test]
async fn given_a_summarizer_returning_a_schema_breaking_summary_when_run_then_it_is_not_stored() {
    let store = store_with(&json_of(&whisper_meeting())).await;
    let activity = SummarizeActivity::new(
        store.clone(),
        Arc::new(Fixed(|| {
            let mut summary = ExtractiveSummarizer::new()
                .summarize_now(&whisper_meeting())
                .expect("summary");
            summary.summary = String::new();
            Ok(summary)
        })),
    );
    assert_eq!(
        failure_of(&activity).await,
        SummaryError::InvalidModelOutput
    );
    only_the_transcript_is_stored(&store);
}

#[tokio::test]
async fn given_storage_failing_on_write_when_run_then_storage_unavailable_is_retryable() {
    let store = store_with(&json_of(&whisper_meeting())).await;
    store.fail_next(StoreOp::Put, InjectedError::Unavailable);
    let failure = extractive(&store)
        .run(input(), &ctx())
        .await
        .expect_err("fails");
    assert_eq!(failure.error, SummaryError::StorageUnavailable);
    assert!(meeting_domain::activity::ActivityErrorName::retryable(
        failure.error
    ));
    only_the_transcript_is_stored(&store);
}

/// A summarizer that never answers.
struct Hanging;

#[async_trait]
impl Summarizer for Hanging {
    fn engine(&self) -> EngineInfo {
        EngineInfo {
            name: "hanging".to_owned(),
            model: None,
        }
    }
    async fn summarize(&self, _: &Transcript) -> Result<MeetingSummary, SummarizeError> {
        std::future::pending().await
    }
}

#[tokio::test]
async fn given_a_cancelled_task_when_the_model_hangs_then_the_activity_stops_without_storing() {
    let store = store_with(&json_of(&whisper_meeting())).await;
    let activity = SummarizeActivity::new(store.clone(), Arc::new(Hanging));
    let context = ctx();
    context.cancel.cancel();
    let failure = activity
        .run(input(), &context)
        .await
        .expect_err("cancelled");
    assert_eq!(failure.error, SummaryError::ServiceUnavailable);
    only_the_transcript_is_stored(&store);
}
