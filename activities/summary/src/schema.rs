//! JSON Schemas of what a model must produce and of `summary.json`, and the checks applied to
//! every summary before it is stored: schema validation, then semantic rules the schema cannot
//! express (source times inside the recording, owners that occur in the transcript).

use std::sync::OnceLock;

use jsonschema::Validator;
use meeting_domain::contracts::{ActionItem, Decision, MeetingSummary, Transcript};
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a language model is asked to produce: the parts of a [`MeetingSummary`] that need
/// judgement. Speakers, language, kind and engine are set by us from the transcript and the
/// configuration, so a model cannot change them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModelSummary {
    /// What the meeting was about, as prose: whole sentences in the third person attributed to
    /// the speakers, topics in order, one paragraph per line; written from the transcript only.
    #[schemars(length(min = 1, max = 4000))]
    pub summary: String,
    /// Things someone committed to do or was asked to do. Owner only when the transcript names
    /// who does it; due only when a deadline was said.
    #[schemars(length(max = 200))]
    pub action_items: Vec<ActionItem>,
    /// Things that were decided, with the time they were said.
    #[schemars(length(max = 200))]
    pub decisions: Vec<Decision>,
}

/// Seconds a source time may lie past the end of the recording (rounding in the model's copy of
/// the timestamps).
const SOURCE_TIME_TOLERANCE_SECONDS: f64 = 1.0;

fn schema_value<T: JsonSchema>() -> Value {
    // Inline every sub-schema: tool input schemas of Bedrock and OpenAI-compatible servers are
    // most reliable without `$ref`/`$defs`.
    let mut value = SchemaSettings::draft2020_12()
        .with(|settings| settings.inline_subschemas = true)
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    if let Some(object) = value.as_object_mut() {
        object.remove("$schema");
    }
    value
}

/// The JSON Schema of [`ModelSummary`]: the input schema of the only tool a model is given.
pub fn model_summary_schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(schema_value::<ModelSummary>)
}

/// The JSON Schema of [`MeetingSummary`] (`summary.json`).
pub fn meeting_summary_schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(schema_value::<MeetingSummary>)
}

fn compiled(
    schema: &'static Value,
    cell: &'static OnceLock<Option<Validator>>,
) -> Option<&'static Validator> {
    cell.get_or_init(|| jsonschema::validator_for(schema).ok())
        .as_ref()
}

/// Schema errors of `value` against `schema`, as `path: message` with the offending values masked
/// (they may quote the transcript). An uncompilable schema is reported as an error too.
fn schema_errors(
    schema: &'static Value,
    cell: &'static OnceLock<Option<Validator>>,
    value: &Value,
) -> Vec<String> {
    match compiled(schema, cell) {
        Some(validator) => validator
            .iter_errors(value)
            .map(|error| format!("{}: {}", error.instance_path(), error.masked()))
            .collect(),
        None => vec!["the summary schema does not compile".to_owned()],
    }
}

/// Schema errors of a model's tool input against [`model_summary_schema`].
pub fn model_summary_errors(value: &Value) -> Vec<String> {
    static VALIDATOR: OnceLock<Option<Validator>> = OnceLock::new();
    schema_errors(model_summary_schema(), &VALIDATOR, value)
}

/// Schema errors of a `summary.json` value against [`meeting_summary_schema`].
pub fn meeting_summary_errors(value: &Value) -> Vec<String> {
    static VALIDATOR: OnceLock<Option<Validator>> = OnceLock::new();
    schema_errors(meeting_summary_schema(), &VALIDATOR, value)
}

/// Rules the schema cannot express, for a model's answer about `transcript`: non-blank text and
/// source times that are finite and inside the recording.
pub fn semantic_errors(summary: &ModelSummary, transcript: &Transcript) -> Vec<String> {
    let limit = transcript.duration_seconds.max(0.0) + SOURCE_TIME_TOLERANCE_SECONDS;
    let mut errors = Vec::new();
    if summary.summary.trim().is_empty() {
        errors.push("/summary: must not be blank".to_owned());
    }
    let mut check_time = |path: String, time: f64| {
        if !time.is_finite() || time < 0.0 || time > limit {
            errors.push(format!(
                "{path}/sourceTime: must be a time in seconds between 0 and {:.1} (the recording's duration)",
                transcript.duration_seconds
            ));
        }
    };
    for (index, item) in summary.action_items.iter().enumerate() {
        check_time(format!("/actionItems/{index}"), item.source_time);
    }
    for (index, decision) in summary.decisions.iter().enumerate() {
        check_time(format!("/decisions/{index}"), decision.source_time);
    }
    for (index, item) in summary.action_items.iter().enumerate() {
        if item.task.trim().is_empty() {
            errors.push(format!("/actionItems/{index}/task: must not be blank"));
        }
    }
    for (index, decision) in summary.decisions.iter().enumerate() {
        if decision.decision.trim().is_empty() {
            errors.push(format!("/decisions/{index}/decision: must not be blank"));
        }
    }
    errors
}

/// The owner names a summary of `transcript` may use: speaker labels and ids, `team`, and any
/// word that occurs in the transcript text.
///
/// An owner a model names that appears nowhere in the transcript is invented (or injected by
/// the transcript's own text aimed at the model); it is dropped rather than stored.
pub fn owner_is_grounded(owner: &str, transcript: &Transcript) -> bool {
    let owner = owner.trim();
    if owner.is_empty() {
        return false;
    }
    let lower = owner.to_lowercase();
    if lower == "team" {
        return true;
    }
    if transcript
        .speakers
        .iter()
        .any(|s| s.label.to_lowercase() == lower || s.id.to_lowercase() == lower)
    {
        return true;
    }
    // Every word of the owner ("Alice", "Alice and Bob") must occur in the transcript.
    let text: String = transcript
        .segments
        .iter()
        .map(|s| s.text.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ");
    lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && *w != "and")
        .all(|word| {
            text.split(|c: char| !c.is_alphanumeric())
                .any(|candidate| candidate == word)
        })
}

/// Drops owners that do not occur in the transcript (see [`owner_is_grounded`]).
pub fn ground_owners(summary: &mut ModelSummary, transcript: &Transcript) {
    for item in &mut summary.action_items {
        if item
            .owner
            .as_deref()
            .is_some_and(|owner| !owner_is_grounded(owner, transcript))
        {
            item.owner = None;
        }
    }
}

/// Checks a finished summary before it is stored: schema-valid `summary.json` or the errors.
pub fn check_meeting_summary(summary: &MeetingSummary) -> Result<Value, Vec<String>> {
    let value = serde_json::to_value(summary).map_err(|e| vec![e.to_string()])?;
    let errors = meeting_summary_errors(&value);
    if errors.is_empty() {
        Ok(value)
    } else {
        Err(errors)
    }
}
