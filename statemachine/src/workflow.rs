//! The processing workflow of a recording, written with the typed builder:
//!
//! ```text
//! ResumeFrom (Choice): resume.from = summary → ReuseMediaForSummary → ReuseTranscript → Summarize
//!                      resume.from = transcription → ReuseMediaForTranscription → StartTranscription
//!                      otherwise (a full run) → ManifestKeyGiven (Choice)
//!                          $.manifestKey present (a key or null) → PrepareMedia
//!                          absent (an older input) → NoManifestKey (null) → PrepareMedia
//! PrepareMedia → StartTranscription → StartTranscriptionPolls → CheckTranscription
//!   → TranscriptionStatus (Choice)
//!     COMPLETED with transcript → Summarize → RecordResults → Succeeded
//!     FAILED → TranscriptionFailed ─┐
//!     COMPLETED without transcript → TranscriptMissing ─┤
//!     otherwise → TranscriptionPollBudget (Choice)
//!         checks ≥ MAX_TRANSCRIPTION_CHECKS → TranscriptionTimedOut ─┤
//!         otherwise → WaitForTranscription → CountTranscriptionCheck → CheckTranscription
//! any task failure (after retries) → RecordFailure → Failed
//! RecordResults / RecordFailure whose condition fails (not the current run) → NotCurrentRun
//! ```
//!
//! The catalog writes are keyed by `userId` + `recordingId` and conditional on the catalog still
//! naming this execution (`executionName = $$.Execution.Name`) and the recording still being
//! `ready_for_processing`/`processing`: a stale run never overwrites a newer one, and a lost
//! condition ends the execution FAILED (`Catalog.NotCurrentRun`) instead of looping.
//!
//! A reprocessing run may resume at a later stage: its input carries `resume` with the stored
//! outputs of the skipped stages ([`ProcessingInput`]), and the Pass states copy them to where the
//! later states read them (`$.media`, `$.transcription`).
//!
//! The status check runs before the first wait, so an engine that transcribes inside
//! StartTranscription (the offline Whisper adapter) goes straight on. Payloads carry S3 keys and
//! small metadata only.

use std::num::NonZeroU32;

use asl::model::{ChoiceRule, ComparisonOperator};
use meeting_domain::activity::ActivityContract;
use meeting_domain::contracts::{
    CheckTranscription, PrepareMedia, ProcessingInput, ResumeStage, StartTranscription, Summarize,
    workflow_errors,
};
use meeting_domain::deployment::{DEFAULT_PREFIX, names};
use serde_json::json;

use crate::builder::{
    ActivityHandle, BackoffRate, Catch, DYNAMODB_TRANSIENT_ERRORS, FailWith, PassOptions,
    ResultPath, Retry, TaskOptions, Transition, WaitFor, Workflow, WorkflowBuilder,
};
use crate::error::Error;

/// Seconds between transcription status checks. Transcribe jobs take minutes; polling every 30 s
/// keeps a 4-hour job under 500 iterations.
pub const POLL_INTERVAL_SECONDS: u32 = 30;

/// The longest a transcription job may run: Amazon Transcribe accepts media of at most 4 hours
/// (14,400 s), and a batch job takes at most about as long as its media.
pub const TRANSCRIPTION_JOB_LIMIT_SECONDS: u32 = 4 * 3600;

/// Status checks after which a job still QUEUED / IN_PROGRESS fails the recording with
/// `Transcription.TimedOut`: 14,400 s / 30 s = 480 waits. One iteration writes 13 history events
/// (Choice ×2, Wait, Pass, activity Task: 2 + 2 + 2 + 2 + 5), so 480 × 13 = 6,240 events, far
/// below the 25,000-event limit of a Standard execution; 480 × 30 s = 4 h also leaves the
/// media stage (1 h), the summary (30 min) and their retries inside the 8 h execution timeout.
pub const MAX_TRANSCRIPTION_CHECKS: u32 = TRANSCRIPTION_JOB_LIMIT_SECONDS / POLL_INTERVAL_SECONDS;

/// Hard cap of one execution: media (1 h) + transcription of a 4-hour recording + summary,
/// with retries.
pub const EXECUTION_TIMEOUT_SECONDS: u32 = 8 * 3600;

/// The account, region and name prefix the committed definition is emitted for. Deployments
/// substitute their own values for these exact strings (see [`Deployment::substitutions`]);
/// us-east-1 / 123456789012 are also what the emulators use by default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deployment {
    /// AWS region.
    pub region: String,
    /// AWS account id.
    pub account: String,
    /// Resource name prefix.
    pub prefix: String,
}

impl Default for Deployment {
    fn default() -> Self {
        Self {
            region: "us-east-1".to_owned(),
            account: "123456789012".to_owned(),
            prefix: DEFAULT_PREFIX.to_owned(),
        }
    }
}

impl Deployment {
    /// `arn:aws:states:{region}:{account}:activity:{prefix}-`.
    pub fn activity_arn_prefix(&self) -> String {
        format!(
            "arn:aws:states:{}:{}:activity:{}-",
            self.region, self.account, self.prefix
        )
    }

    /// The catalog table name.
    pub fn catalog_table(&self) -> String {
        names::catalog_table(&self.prefix)
    }

    /// The strings of the definition that name deployment resources, by role. A deployment
    /// replaces each value with its own (Terraform reads this from `asl/substitutions.json`).
    pub fn substitutions(&self) -> serde_json::Value {
        json!({
            "activityArnPrefix": self.activity_arn_prefix(),
            "catalogTable": self.catalog_table(),
        })
    }
}

/// Name of every state, so tests and the local runtime can refer to them.
pub mod states {
    /// Routes a reprocessing run to the stage it resumes at.
    pub const RESUME_FROM: &str = "ResumeFrom";
    /// Copies the stored media output for a run resuming at the transcription.
    pub const REUSE_MEDIA_FOR_TRANSCRIPTION: &str = "ReuseMediaForTranscription";
    /// Copies the stored media output for a run resuming at the summary.
    pub const REUSE_MEDIA_FOR_SUMMARY: &str = "ReuseMediaForSummary";
    /// Copies the stored transcript key for a run resuming at the summary.
    pub const REUSE_TRANSCRIPT: &str = "ReuseTranscript";
    /// Routes a full run on whether its input names a manifest key (even `null`).
    pub const MANIFEST_KEY_GIVEN: &str = "ManifestKeyGiven";
    /// Sets `$.manifestKey` to `null` for an input written before the field existed.
    pub const NO_MANIFEST_KEY: &str = "NoManifestKey";
    /// Joins chunks, extracts audio.
    pub const PREPARE_MEDIA: &str = "PrepareMedia";
    /// Starts the transcription job.
    pub const START_TRANSCRIPTION: &str = "StartTranscription";
    /// Checks the transcription job.
    pub const CHECK_TRANSCRIPTION: &str = "CheckTranscription";
    /// Routes on the job status.
    pub const TRANSCRIPTION_STATUS: &str = "TranscriptionStatus";
    /// Sets the transcription check counter to 0.
    pub const START_TRANSCRIPTION_POLLS: &str = "StartTranscriptionPolls";
    /// Fails the recording once the checks reached [`super::MAX_TRANSCRIPTION_CHECKS`].
    pub const TRANSCRIPTION_POLL_BUDGET: &str = "TranscriptionPollBudget";
    /// Waits between checks.
    pub const WAIT_FOR_TRANSCRIPTION: &str = "WaitForTranscription";
    /// Counts one more check.
    pub const COUNT_TRANSCRIPTION_CHECK: &str = "CountTranscriptionCheck";
    /// Turns an exhausted poll budget into an error object.
    pub const TRANSCRIPTION_TIMED_OUT: &str = "TranscriptionTimedOut";
    /// Turns a failed job into an error object.
    pub const TRANSCRIPTION_FAILED: &str = "TranscriptionFailed";
    /// Turns a completed job without transcript into an error object.
    pub const TRANSCRIPT_MISSING: &str = "TranscriptMissing";
    /// Summarizes.
    pub const SUMMARIZE: &str = "Summarize";
    /// Writes results to the catalog.
    pub const RECORD_RESULTS: &str = "RecordResults";
    /// Writes error and cause to the catalog.
    pub const RECORD_FAILURE: &str = "RecordFailure";
    /// Success.
    pub const SUCCEEDED: &str = "Succeeded";
    /// Failure.
    pub const FAILED: &str = "Failed";
    /// The catalog no longer names this run: end without writing.
    pub const NOT_CURRENT_RUN: &str = "NotCurrentRun";
}

fn secs(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

/// Retries for an activity: its own transient errors (and the worker's) with backoff and
/// jitter, and a dead worker (heartbeat timeout) twice.
fn activity_retries<A: ActivityContract>() -> Vec<Retry> {
    vec![
        Retry::on(A::retryable_error_names())
            .interval(secs(5))
            .max_attempts(3)
            .backoff(BackoffRate::DOUBLE)
            .max_delay(secs(60))
            .full_jitter(),
        Retry::on(["States.HeartbeatTimeout"])
            .interval(secs(5))
            .max_attempts(2)
            .backoff(BackoffRate::DOUBLE),
    ]
}

fn catch_all() -> Vec<Catch> {
    vec![Catch::on(
        ["States.ALL"],
        states::RECORD_FAILURE,
        ResultPath::at("$.error"),
    )]
}

/// The DynamoDB error of a failed `ConditionExpression`.
const CONDITIONAL_CHECK_FAILED: &str = "DynamoDB.ConditionalCheckFailedException";

/// A catalog write whose condition failed: this execution is not the recording's current run
/// (or the recording left `processing`). Ends the execution; never retried, never looped.
fn not_current_run() -> Catch {
    Catch::on(
        [CONDITIONAL_CHECK_FAILED],
        states::NOT_CURRENT_RUN,
        ResultPath::at("$.catalogConflict"),
    )
}

/// The key of the recording's catalog item (hash `userId`, range `recordingId`).
fn catalog_key() -> serde_json::Value {
    json!({
        "userId": {"S.$": "$.userId"},
        "recordingId": {"S.$": "$.recordingId"},
    })
}

/// The condition every catalog write of a run carries: still this run, still processing.
const CURRENT_RUN_CONDITION: &str =
    "#status IN (:ready, :processing) AND #executionName = :execution";

fn dynamodb_retries() -> Vec<Retry> {
    vec![
        Retry::on(DYNAMODB_TRANSIENT_ERRORS)
            .interval(secs(1))
            .max_attempts(5)
            .backoff(BackoffRate::DOUBLE)
            .max_delay(secs(20))
            .full_jitter(),
    ]
}

/// The JSON Schema of the execution input ([`ProcessingInput`]: the processing input with an
/// optional resume point).
pub fn input_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(ProcessingInput)).unwrap_or_default()
}

/// `resume.from` equals `stage`, guarded so a full run (no `resume`) never reads a missing path.
fn resumes_at(stage: ResumeStage, extra: Vec<ChoiceRule>) -> ChoiceRule {
    let mut rules = vec![
        ChoiceRule::compare("$.resume.from", ComparisonOperator::IsPresent, json!(true)),
        ChoiceRule::compare(
            "$.resume.from",
            ComparisonOperator::StringEquals,
            json!(stage.as_str()),
        ),
        ChoiceRule::compare("$.resume.media", ComparisonOperator::IsPresent, json!(true)),
    ];
    rules.extend(extra);
    ChoiceRule {
        and: Some(rules),
        ..ChoiceRule::default()
    }
}

/// A Pass state's parameters copying the stored media output to `$.media`.
fn reuse_media() -> PassOptions {
    PassOptions {
        comment: Some("Reuse the stored output of the media stage.".into()),
        parameters: Some(json!({
            "recordingKey.$": "$.resume.media.recordingKey",
            "audioKey.$": "$.resume.media.audioKey",
            "durationSeconds.$": "$.resume.media.durationSeconds",
            "audioBytes.$": "$.resume.media.audioBytes",
            "chunkOffsets.$": "$.resume.media.chunkOffsets",
            "recordedAt.$": "$.resume.media.recordedAt",
        })),
        result_path: ResultPath::at("$.media"),
        ..PassOptions::default()
    }
}

/// The resume Choice and the Pass states that restore the outputs of skipped stages.
fn resume_states(wf: &mut WorkflowBuilder) {
    use states::*;
    wf.choice(
        RESUME_FROM,
        vec![
            resumes_at(
                ResumeStage::Summary,
                vec![
                    ChoiceRule::compare(
                        "$.resume.transcriptKey",
                        ComparisonOperator::IsPresent,
                        json!(true),
                    ),
                    ChoiceRule::compare(
                        "$.resume.transcriptKey",
                        ComparisonOperator::IsString,
                        json!(true),
                    ),
                ],
            )
            .with_next(REUSE_MEDIA_FOR_SUMMARY),
            resumes_at(ResumeStage::Transcription, Vec::new())
                .with_next(REUSE_MEDIA_FOR_TRANSCRIPTION),
        ],
        Some(MANIFEST_KEY_GIVEN),
    );
    // `manifestKey` is always serialized, but an input without it (started before the field
    // existed, or written by hand) must not fail PrepareMedia's path outside every Catch.
    wf.choice(
        MANIFEST_KEY_GIVEN,
        vec![
            ChoiceRule::compare("$.manifestKey", ComparisonOperator::IsPresent, json!(true))
                .with_next(PREPARE_MEDIA),
        ],
        Some(NO_MANIFEST_KEY),
    );
    wf.pass(
        NO_MANIFEST_KEY,
        PassOptions {
            comment: Some("No manifest named: nothing to verify.".into()),
            result: Some(serde_json::Value::Null),
            result_path: ResultPath::at("$.manifestKey"),
            ..PassOptions::default()
        },
        Transition::next(PREPARE_MEDIA),
    );
    wf.pass(
        REUSE_MEDIA_FOR_TRANSCRIPTION,
        reuse_media(),
        Transition::next(START_TRANSCRIPTION),
    );
    wf.pass(
        REUSE_MEDIA_FOR_SUMMARY,
        reuse_media(),
        Transition::next(REUSE_TRANSCRIPT),
    );
    wf.pass(
        REUSE_TRANSCRIPT,
        PassOptions {
            comment: Some("Reuse the stored transcript, as a completed transcription.".into()),
            parameters: Some(json!({
                "status": "COMPLETED",
                "transcriptKey.$": "$.resume.transcriptKey",
            })),
            result_path: ResultPath::at("$.transcription"),
            ..PassOptions::default()
        },
        Transition::next(SUMMARIZE),
    );
}

/// Builds and checks the processing workflow for a deployment.
pub fn processing_workflow(deployment: &Deployment) -> Result<Workflow, Error> {
    use states::*;
    let prefix = deployment.activity_arn_prefix();
    let table = deployment.catalog_table();
    let mut wf = WorkflowBuilder::new(
        "Meeting recorder: join chunks, transcribe with speaker labels, summarize, record results.",
    )
    .timeout_seconds(EXECUTION_TIMEOUT_SECONDS);

    resume_states(&mut wf);

    wf.activity(
        PREPARE_MEDIA,
        &ActivityHandle::<PrepareMedia>::new(&prefix),
        TaskOptions {
            comment: Some("Join the chunks (stream copy) and extract 16 kHz mono audio.".into()),
            parameters: Some(json!({
                "userId.$": "$.userId",
                "recordingId.$": "$.recordingId",
                "bucket.$": "$.bucket",
                "chunkCount.$": "$.chunkCount",
                "manifestKey.$": "$.manifestKey",
            })),
            result_path: ResultPath::at("$.media"),
            retry: activity_retries::<PrepareMedia>(),
            catch: catch_all(),
            ..TaskOptions::default()
        },
        Transition::next(START_TRANSCRIPTION),
    );

    wf.activity(
        START_TRANSCRIPTION,
        &ActivityHandle::<StartTranscription>::new(&prefix),
        TaskOptions {
            comment: Some(
                "Start (or resume) the transcription job; idempotent by job name.".into(),
            ),
            parameters: Some(json!({
                "userId.$": "$.userId",
                "recordingId.$": "$.recordingId",
                "bucket.$": "$.bucket",
                "audioKey.$": "$.media.audioKey",
                "durationSeconds.$": "$.media.durationSeconds",
                "audioBytes.$": "$.media.audioBytes",
                "run.$": "$.run",
                "options.$": "$.options",
            })),
            result_path: ResultPath::at("$.transcriptionJob"),
            retry: activity_retries::<StartTranscription>(),
            catch: catch_all(),
            ..TaskOptions::default()
        },
        Transition::next(START_TRANSCRIPTION_POLLS),
    );

    wf.pass(
        START_TRANSCRIPTION_POLLS,
        PassOptions {
            comment: Some("No status check made yet: the poll loop is bounded.".into()),
            result: Some(json!({"checks": 0})),
            result_path: ResultPath::at("$.transcriptionPolls"),
            ..PassOptions::default()
        },
        Transition::next(CHECK_TRANSCRIPTION),
    );

    wf.activity(
        CHECK_TRANSCRIPTION,
        &ActivityHandle::<CheckTranscription>::new(&prefix),
        TaskOptions {
            comment: Some(
                "Check the job; when complete, store transcript.json and its exports.".into(),
            ),
            parameters: Some(json!({
                "userId.$": "$.userId",
                "recordingId.$": "$.recordingId",
                "bucket.$": "$.bucket",
                "jobName.$": "$.transcriptionJob.jobName",
            })),
            result_path: ResultPath::at("$.transcription"),
            retry: activity_retries::<CheckTranscription>(),
            catch: catch_all(),
            ..TaskOptions::default()
        },
        Transition::next(TRANSCRIPTION_STATUS),
    );

    let status_is = |value: &str| {
        ChoiceRule::compare(
            "$.transcription.status",
            ComparisonOperator::StringEquals,
            json!(value),
        )
    };
    wf.choice(
        TRANSCRIPTION_STATUS,
        vec![
            ChoiceRule {
                and: Some(vec![
                    status_is("COMPLETED"),
                    ChoiceRule::compare(
                        "$.transcription.transcriptKey",
                        ComparisonOperator::IsPresent,
                        json!(true),
                    ),
                    ChoiceRule::compare(
                        "$.transcription.transcriptKey",
                        ComparisonOperator::IsString,
                        json!(true),
                    ),
                ]),
                ..ChoiceRule::default()
            }
            .with_next(SUMMARIZE),
            status_is("FAILED").with_next(TRANSCRIPTION_FAILED),
            status_is("COMPLETED").with_next(TRANSCRIPT_MISSING),
        ],
        Some(TRANSCRIPTION_POLL_BUDGET),
    );

    wf.choice(
        TRANSCRIPTION_POLL_BUDGET,
        vec![
            ChoiceRule::compare(
                "$.transcriptionPolls.checks",
                ComparisonOperator::NumericGreaterThanEquals,
                json!(MAX_TRANSCRIPTION_CHECKS),
            )
            .with_next(TRANSCRIPTION_TIMED_OUT),
        ],
        Some(WAIT_FOR_TRANSCRIPTION),
    );

    wf.wait(
        WAIT_FOR_TRANSCRIPTION,
        WaitFor::Seconds(POLL_INTERVAL_SECONDS),
        Transition::next(COUNT_TRANSCRIPTION_CHECK),
    );

    wf.pass(
        COUNT_TRANSCRIPTION_CHECK,
        PassOptions {
            comment: Some("One more status check.".into()),
            parameters: Some(json!({
                "checks.$": "States.MathAdd($.transcriptionPolls.checks, 1)",
            })),
            result_path: ResultPath::at("$.transcriptionPolls"),
            ..PassOptions::default()
        },
        Transition::next(CHECK_TRANSCRIPTION),
    );

    let waited_hours = MAX_TRANSCRIPTION_CHECKS * POLL_INTERVAL_SECONDS / 3600;
    wf.pass(
        TRANSCRIPTION_TIMED_OUT,
        PassOptions {
            comment: Some(
                "The job outlived Transcribe's 4-hour limit: fail visibly instead of polling forever."
                    .into(),
            ),
            parameters: Some(json!({
                "Error": workflow_errors::TRANSCRIPTION_TIMED_OUT,
                "Cause.$": format!(
                    "States.Format('the transcription job {{}} was still not finished after {{}} checks {POLL_INTERVAL_SECONDS} s apart ({waited_hours} hours, the longest a Transcribe job runs); run `recorder reprocess --from transcription` to start a new job', $.transcriptionJob.jobName, $.transcriptionPolls.checks)"
                ),
            })),
            result_path: ResultPath::at("$.error"),
            ..PassOptions::default()
        },
        Transition::next(RECORD_FAILURE),
    );

    wf.pass(
        TRANSCRIPTION_FAILED,
        PassOptions {
            comment: Some(
                "The engine reported FAILED: record its status (with the reason) as the cause."
                    .into(),
            ),
            parameters: Some(json!({
                "Error": workflow_errors::TRANSCRIPTION_JOB_FAILED,
                "Cause.$": "States.JsonToString($.transcription)",
            })),
            result_path: ResultPath::at("$.error"),
            ..PassOptions::default()
        },
        Transition::next(RECORD_FAILURE),
    );

    wf.pass(
        TRANSCRIPT_MISSING,
        PassOptions {
            comment: Some(
                "A completed job must name its transcript; never summarize nothing.".into(),
            ),
            parameters: Some(json!({
                "Error": workflow_errors::TRANSCRIPTION_INVALID_ENGINE_OUTPUT,
                "Cause": "the transcription job completed without a transcript key",
            })),
            result_path: ResultPath::at("$.error"),
            ..PassOptions::default()
        },
        Transition::next(RECORD_FAILURE),
    );

    wf.activity(
        SUMMARIZE,
        &ActivityHandle::<Summarize>::new(&prefix),
        TaskOptions {
            comment: Some("Summary, action items and decisions from the transcript.".into()),
            parameters: Some(json!({
                "userId.$": "$.userId",
                "recordingId.$": "$.recordingId",
                "bucket.$": "$.bucket",
                "transcriptKey.$": "$.transcription.transcriptKey",
                "recordedAt.$": "$.media.recordedAt",
            })),
            result_path: ResultPath::at("$.summary"),
            retry: activity_retries::<Summarize>(),
            catch: catch_all(),
            ..TaskOptions::default()
        },
        Transition::next(RECORD_RESULTS),
    );

    wf.dynamodb_update_item(
        RECORD_RESULTS,
        TaskOptions {
            comment: Some("Mark the recording completed with the keys of its results.".into()),
            parameters: Some(json!({
                "TableName": table,
                "Key": catalog_key(),
                "UpdateExpression": "SET #status = :completed, #results = :results, #updatedAt = :now REMOVE #error, #cause",
                "ConditionExpression": CURRENT_RUN_CONDITION,
                "ExpressionAttributeNames": {
                    "#status": "status",
                    "#executionName": "executionName",
                    "#results": "results",
                    "#updatedAt": "updatedAt",
                    "#error": "error",
                    "#cause": "cause",
                },
                "ExpressionAttributeValues": {
                    ":completed": {"S": "completed"},
                    ":ready": {"S": "ready_for_processing"},
                    ":processing": {"S": "processing"},
                    ":execution": {"S.$": "$$.Execution.Name"},
                    ":now": {"S.$": "$$.State.EnteredTime"},
                    ":results": {"M": {
                        "recordingKey": {"S.$": "$.media.recordingKey"},
                        "audioKey": {"S.$": "$.media.audioKey"},
                        "transcriptKey": {"S.$": "$.transcription.transcriptKey"},
                        "summaryKey": {"S.$": "$.summary.summaryKey"},
                        "durationSeconds": {"N.$": "States.Format('{}', $.media.durationSeconds)"},
                    }},
                },
            })),
            result_path: ResultPath::Discard,
            retry: dynamodb_retries(),
            catch: {
                let mut catch = vec![not_current_run()];
                catch.extend(catch_all());
                catch
            },
            ..TaskOptions::default()
        },
        Transition::next(SUCCEEDED),
    );

    wf.succeed(SUCCEEDED);

    wf.dynamodb_update_item(
        RECORD_FAILURE,
        TaskOptions {
            comment: Some("Make the failure visible: status, error and cause in the catalog.".into()),
            parameters: Some(json!({
                "TableName": table,
                "Key": catalog_key(),
                "UpdateExpression": "SET #status = :failed, #error = :error, #cause = :cause, #updatedAt = :now",
                "ConditionExpression": CURRENT_RUN_CONDITION,
                "ExpressionAttributeNames": {
                    "#status": "status",
                    "#executionName": "executionName",
                    "#error": "error",
                    "#cause": "cause",
                    "#updatedAt": "updatedAt",
                },
                "ExpressionAttributeValues": {
                    ":failed": {"S": "processing_failed"},
                    ":ready": {"S": "ready_for_processing"},
                    ":processing": {"S": "processing"},
                    ":execution": {"S.$": "$$.Execution.Name"},
                    ":error": {"S.$": "$.error.Error"},
                    ":cause": {"S.$": "$.error.Cause"},
                    ":now": {"S.$": "$$.State.EnteredTime"},
                },
            })),
            result_path: ResultPath::Discard,
            retry: dynamodb_retries(),
            catch: vec![not_current_run()],
            ..TaskOptions::default()
        },
        Transition::next(FAILED),
    );

    wf.fail(
        FAILED,
        FailWith::Paths {
            error_path: "$.error.Error".into(),
            cause_path: "$.error.Cause".into(),
        },
    );

    wf.fail(
        NOT_CURRENT_RUN,
        FailWith::Fixed {
            error: workflow_errors::CATALOG_NOT_CURRENT_RUN.into(),
            cause: "the catalog no longer names this execution as the recording's current run \
                    (a newer run started, or the recording is no longer processing); nothing was \
                    written"
                .into(),
        },
    );

    wf.build(RESUME_FROM, &input_schema())
}

#[cfg(test)]
mod tests {
    use asl::model::State;

    use super::*;

    fn findings_after(mutate: impl FnOnce(&mut asl::model::StateMachine)) -> Vec<String> {
        let workflow = processing_workflow(&Deployment::default()).expect("workflow builds");
        let mut machine = workflow.machine.clone();
        mutate(&mut machine);
        crate::dataflow::check(&machine, &input_schema(), &workflow.task_schemas)
            .into_iter()
            .map(|f| f.to_string())
            .collect()
    }

    fn resume_choice(machine: &mut asl::model::StateMachine) -> &mut Vec<ChoiceRule> {
        match machine.states.get_mut(states::RESUME_FROM) {
            Some(State::Choice(choice)) => &mut choice.choices,
            other => panic!("ResumeFrom is not a Choice: {other:?}"),
        }
    }

    #[test]
    fn a_full_run_and_every_resume_point_start_at_the_resume_choice() {
        let workflow = processing_workflow(&Deployment::default()).expect("workflow builds");
        assert_eq!(workflow.machine.start_at, states::RESUME_FROM);
        let mut targets: Vec<String> = Vec::new();
        if let Some(State::Choice(choice)) = workflow.machine.states.get(states::RESUME_FROM) {
            targets.extend(choice.choices.iter().filter_map(|r| r.next.clone()));
            targets.extend(choice.default.clone());
        }
        assert_eq!(
            targets,
            [
                states::REUSE_MEDIA_FOR_SUMMARY,
                states::REUSE_MEDIA_FOR_TRANSCRIPTION,
                states::MANIFEST_KEY_GIVEN
            ]
        );
    }

    #[test]
    fn both_catalog_writes_use_the_user_scoped_key_and_the_current_run_condition() {
        let workflow = processing_workflow(&Deployment::default()).expect("workflow builds");
        for name in [states::RECORD_RESULTS, states::RECORD_FAILURE] {
            let Some(State::Task(task)) = workflow.machine.states.get(name) else {
                panic!("{name} is not a Task");
            };
            let params = task.parameters.as_ref().expect("parameters");
            assert_eq!(
                params["Key"],
                json!({"userId": {"S.$": "$.userId"}, "recordingId": {"S.$": "$.recordingId"}}),
                "{name}"
            );
            assert_eq!(
                params["ConditionExpression"],
                "#status IN (:ready, :processing) AND #executionName = :execution",
                "{name}"
            );
            assert_eq!(
                params["ExpressionAttributeValues"][":execution"],
                json!({"S.$": "$$.Execution.Name"}),
                "{name}"
            );
            let catches = task.catch.as_ref().expect("catches");
            assert_eq!(
                catches[0].error_equals,
                ["DynamoDB.ConditionalCheckFailedException"]
            );
            assert_eq!(catches[0].next, states::NOT_CURRENT_RUN, "{name}");
        }
    }

    #[test]
    fn the_poll_budget_is_transcribes_four_hours_at_thirty_seconds() {
        assert_eq!(MAX_TRANSCRIPTION_CHECKS, 480);
        assert!(
            u64::from(MAX_TRANSCRIPTION_CHECKS * POLL_INTERVAL_SECONDS)
                < u64::from(EXECUTION_TIMEOUT_SECONDS)
        );
    }

    #[test]
    fn resuming_at_the_summary_without_proving_the_transcript_key_is_reported() {
        let findings = findings_after(|m| {
            let rules = resume_choice(m);
            if let Some(and) = rules[0].and.as_mut() {
                and.truncate(3);
            }
        });
        assert!(
            findings
                .iter()
                .any(|f| f.contains("ReuseTranscript") && f.contains("$.resume.transcriptKey")),
            "{findings:#?}"
        );
    }

    #[test]
    fn reading_resume_without_the_presence_guard_is_reported() {
        let findings = findings_after(|m| {
            let rules = resume_choice(m);
            if let Some(and) = rules[1].and.as_mut() {
                and.remove(0);
            }
        });
        assert!(
            findings.iter().any(|f| f.contains("$.resume")),
            "{findings:#?}"
        );
    }
}
