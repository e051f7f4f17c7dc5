//! Building blocks shared by several state types: Retry and Catch, query languages, numbers that
//! may be JSONata expressions, Parallel branches and Map processors.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::State;

/// The query language of a state or machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueryLanguage {
    /// Paths, payload templates and intrinsic functions (the default).
    #[serde(rename = "JSONPath")]
    JsonPath,
    /// JSONata expressions in `{% %}` strings, `Arguments`, `Output`, `Condition`.
    #[serde(rename = "JSONata")]
    JsonAta,
}

/// A number, or in JSONata mode a `{% expression %}` string that yields one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NumberOrExpr {
    /// A literal number.
    Number(serde_json::Number),
    /// A JSONata expression string.
    Expr(String),
}

impl NumberOrExpr {
    /// The literal number, if it is one.
    pub fn as_number(&self) -> Option<&serde_json::Number> {
        match self {
            Self::Number(n) => Some(n),
            Self::Expr(_) => None,
        }
    }
}

/// Jitter applied to retry intervals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum JitterStrategy {
    /// Each interval is a random value between 0 and the computed backoff.
    Full,
    /// No jitter (the default).
    None,
}

/// One entry of a `Retry` list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Retrier {
    /// Error names this retrier handles.
    pub error_equals: Vec<String>,
    /// Seconds before the first retry (default 1).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub interval_seconds: Option<serde_json::Number>,
    /// Maximum retries (default 3; 0 means never retry).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub max_attempts: Option<serde_json::Number>,
    /// Multiplier of the interval per attempt (default 2.0, at least 1.0).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub backoff_rate: Option<serde_json::Number>,
    /// Cap on the interval, seconds.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub max_delay_seconds: Option<serde_json::Number>,
    /// Jitter.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub jitter_strategy: Option<JitterStrategy>,
    /// Human-readable description.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub comment: Option<String>,
}

/// One entry of a `Catch` list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Catcher {
    /// Error names this catcher handles.
    pub error_equals: Vec<String>,
    /// State to go to.
    pub next: String,
    /// Where the error output goes (JSONPath); `null` discards it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::double_option::deserialize"
    )]
    pub result_path: Option<Option<String>>,
    /// Variables to assign.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub assign: Option<serde_json::Value>,
    /// State output on catch (JSONata).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub output: Option<serde_json::Value>,
    /// Human-readable description.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub comment: Option<String>,
}

/// A Parallel branch or a legacy Map `Iterator`: a nested state machine body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Branch {
    /// Human-readable description.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub comment: Option<String>,
    /// First state.
    pub start_at: String,
    /// States of the branch (their own scope: no transitions out of it).
    pub states: IndexMap<String, State>,
}

/// A Map `ItemProcessor`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ItemProcessor {
    /// Human-readable description.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub comment: Option<String>,
    /// Inline or distributed processing.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub processor_config: Option<ProcessorConfig>,
    /// First state.
    pub start_at: String,
    /// States of the processor (their own scope).
    pub states: IndexMap<String, State>,
}

/// How a Map runs its iterations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ProcessorConfig {
    /// INLINE (default) or DISTRIBUTED.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub mode: Option<ProcessorMode>,
    /// Child execution type for DISTRIBUTED mode.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub execution_type: Option<ProcessorExecutionType>,
}

/// Map processing mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ProcessorMode {
    /// Iterations run inside the parent execution.
    Inline,
    /// Iterations run as child executions.
    Distributed,
}

/// Child execution type of a distributed Map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ProcessorExecutionType {
    /// Standard workflows.
    Standard,
    /// Express workflows.
    Express,
}

/// Where a distributed Map reads its items (parsed and emitted; not executed locally).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ItemReader {
    /// The reader resource (for example `arn:aws:states:::s3:getObject`).
    pub resource: String,
    /// Reader settings (InputType, CSVHeaders, MaxItems, …).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub reader_config: Option<serde_json::Value>,
    /// Request parameters (JSONPath).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub parameters: Option<serde_json::Value>,
    /// Request arguments (JSONata).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub arguments: Option<serde_json::Value>,
}

/// How a distributed Map batches items (parsed and emitted; not executed locally).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ItemBatcher {
    /// Items per batch.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub max_items_per_batch: Option<NumberOrExpr>,
    /// Items per batch from the input.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub max_items_per_batch_path: Option<String>,
    /// Bytes per batch.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub max_input_bytes_per_batch: Option<NumberOrExpr>,
    /// Bytes per batch from the input.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub max_input_bytes_per_batch_path: Option<String>,
    /// Fixed input added to every batch.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub batch_input: Option<serde_json::Value>,
}

/// Where a distributed Map writes its results (parsed and emitted; not executed locally).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ResultWriter {
    /// The writer resource.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub resource: Option<String>,
    /// Request parameters (JSONPath).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub parameters: Option<serde_json::Value>,
    /// Request arguments (JSONata).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub arguments: Option<serde_json::Value>,
    /// Output transformation settings.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub writer_config: Option<serde_json::Value>,
}
