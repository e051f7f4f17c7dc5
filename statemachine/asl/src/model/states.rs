//! The eight state types. Each struct lists every field the specification allows for that type in
//! either query language; which of them may be used together is the validator's job.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::choice::ChoiceRule;
use super::common::{
    Branch, Catcher, ItemBatcher, ItemProcessor, ItemReader, NumberOrExpr, QueryLanguage,
    ResultWriter, Retrier,
};

/// A state, tagged by its `Type` field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "Type")]
#[allow(
    clippy::large_enum_variant,
    reason = "definitions are parsed once and matched everywhere; boxing would only add noise"
)]
pub enum State {
    /// Passes input to output, optionally injecting data.
    Pass(PassState),
    /// Does work through a resource (activity, Lambda, service integration).
    Task(TaskState),
    /// Branches on the input.
    Choice(ChoiceState),
    /// Delays.
    Wait(WaitState),
    /// Stops successfully.
    Succeed(SucceedState),
    /// Stops with an error.
    Fail(FailState),
    /// Runs branches in parallel.
    Parallel(ParallelState),
    /// Runs a processor for each item of an array.
    Map(MapState),
}

/// `Pass`.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PassState {
    /// Human-readable description.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub comment: Option<String>,
    /// Query language of this state.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub query_language: Option<QueryLanguage>,
    /// Next state.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub next: Option<String>,
    /// Terminal state.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub end: Option<bool>,
    /// Input filter (`null` = `{}`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::double_option::deserialize"
    )]
    pub input_path: Option<Option<String>>,
    /// Output filter (`null` = `{}`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::double_option::deserialize"
    )]
    pub output_path: Option<Option<String>>,
    /// Payload template for the effective input.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub parameters: Option<Value>,
    /// Fixed result.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub result: Option<Value>,
    /// Where the result goes (`null` discards it).
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
    pub assign: Option<Value>,
    /// State output (JSONata).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub output: Option<Value>,
}

/// `Task`.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TaskState {
    /// Human-readable description.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub comment: Option<String>,
    /// Query language of this state.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub query_language: Option<QueryLanguage>,
    /// The resource ARN.
    pub resource: String,
    /// Next state.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub next: Option<String>,
    /// Terminal state.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub end: Option<bool>,
    /// Input filter (`null` = `{}`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::double_option::deserialize"
    )]
    pub input_path: Option<Option<String>>,
    /// Output filter (`null` = `{}`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::double_option::deserialize"
    )]
    pub output_path: Option<Option<String>>,
    /// Payload template for the task input.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub parameters: Option<Value>,
    /// Payload template applied to the task result.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub result_selector: Option<Value>,
    /// Where the result goes (`null` discards it).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::double_option::deserialize"
    )]
    pub result_path: Option<Option<String>>,
    /// Retry policy.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub retry: Option<Vec<Retrier>>,
    /// Error handlers.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub catch: Option<Vec<Catcher>>,
    /// Hard cap on one attempt, seconds.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub timeout_seconds: Option<NumberOrExpr>,
    /// Cap taken from the input (reference path).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub timeout_seconds_path: Option<String>,
    /// Maximum time between heartbeats, seconds.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub heartbeat_seconds: Option<NumberOrExpr>,
    /// Heartbeat interval taken from the input (reference path).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub heartbeat_seconds_path: Option<String>,
    /// Role to assume for the task.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub credentials: Option<Value>,
    /// Variables to assign.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub assign: Option<Value>,
    /// Task arguments (JSONata).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub arguments: Option<Value>,
    /// State output (JSONata).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub output: Option<Value>,
}

/// `Choice`.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ChoiceState {
    /// Human-readable description.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub comment: Option<String>,
    /// Query language of this state.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub query_language: Option<QueryLanguage>,
    /// The rules, tried in order. (`Default` makes an absent list representable so the
    /// validator can report it.)
    #[serde(default)]
    pub choices: Vec<ChoiceRule>,
    /// State when no rule matches.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub default: Option<String>,
    /// Input filter (`null` = `{}`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::double_option::deserialize"
    )]
    pub input_path: Option<Option<String>>,
    /// Output filter (`null` = `{}`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::double_option::deserialize"
    )]
    pub output_path: Option<Option<String>>,
    /// Variables to assign.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub assign: Option<Value>,
    /// State output (JSONata).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub output: Option<Value>,
    /// Transitions are only allowed in rules and `Default`; kept to report a misplaced field.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub next: Option<String>,
    /// Kept to report a misplaced field.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub end: Option<bool>,
}

/// `Wait`.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct WaitState {
    /// Human-readable description.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub comment: Option<String>,
    /// Query language of this state.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub query_language: Option<QueryLanguage>,
    /// Next state.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub next: Option<String>,
    /// Terminal state.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub end: Option<bool>,
    /// Fixed delay, seconds.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub seconds: Option<NumberOrExpr>,
    /// Fixed time (RFC 3339) or JSONata expression.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub timestamp: Option<String>,
    /// Delay from the input (reference path).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub seconds_path: Option<String>,
    /// Time from the input (reference path).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub timestamp_path: Option<String>,
    /// Input filter (`null` = `{}`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::double_option::deserialize"
    )]
    pub input_path: Option<Option<String>>,
    /// Output filter (`null` = `{}`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::double_option::deserialize"
    )]
    pub output_path: Option<Option<String>>,
    /// Variables to assign.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub assign: Option<Value>,
    /// State output (JSONata).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub output: Option<Value>,
}

/// `Succeed`.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SucceedState {
    /// Human-readable description.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub comment: Option<String>,
    /// Query language of this state.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub query_language: Option<QueryLanguage>,
    /// Input filter (`null` = `{}`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::double_option::deserialize"
    )]
    pub input_path: Option<Option<String>>,
    /// Output filter (`null` = `{}`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::double_option::deserialize"
    )]
    pub output_path: Option<Option<String>>,
    /// State output (JSONata).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub output: Option<Value>,
}

/// `Fail`.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct FailState {
    /// Human-readable description.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub comment: Option<String>,
    /// Query language of this state.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub query_language: Option<QueryLanguage>,
    /// Error name (or JSONata expression).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub error: Option<String>,
    /// Error name from the input (path or intrinsic).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub error_path: Option<String>,
    /// Cause (or JSONata expression).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub cause: Option<String>,
    /// Cause from the input (path or intrinsic).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub cause_path: Option<String>,
}

/// `Parallel`.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ParallelState {
    /// Human-readable description.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub comment: Option<String>,
    /// Query language of this state.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub query_language: Option<QueryLanguage>,
    /// The branches (each its own scope).
    pub branches: Vec<Branch>,
    /// Next state.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub next: Option<String>,
    /// Terminal state.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub end: Option<bool>,
    /// Input filter (`null` = `{}`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::double_option::deserialize"
    )]
    pub input_path: Option<Option<String>>,
    /// Output filter (`null` = `{}`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::double_option::deserialize"
    )]
    pub output_path: Option<Option<String>>,
    /// Payload template for the branches' input.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub parameters: Option<Value>,
    /// Payload template applied to the result array.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub result_selector: Option<Value>,
    /// Where the result goes (`null` discards it).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::double_option::deserialize"
    )]
    pub result_path: Option<Option<String>>,
    /// Retry policy.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub retry: Option<Vec<Retrier>>,
    /// Error handlers.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub catch: Option<Vec<Catcher>>,
    /// Variables to assign.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub assign: Option<Value>,
    /// Branch input (JSONata).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub arguments: Option<Value>,
    /// State output (JSONata).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub output: Option<Value>,
}

/// `Map`.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct MapState {
    /// Human-readable description.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub comment: Option<String>,
    /// Query language of this state.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub query_language: Option<QueryLanguage>,
    /// The processor run for each item.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub item_processor: Option<ItemProcessor>,
    /// Legacy name of the processor. AWS still accepts it with a `ProcessorConfig` (INLINE or
    /// DISTRIBUTED) and together with `Parameters` or `ItemSelector` (LocalStack parity
    /// snapshots `test_map_state_legacy_config_*`, recorded against AWS).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub iterator: Option<ItemProcessor>,
    /// Next state.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub next: Option<String>,
    /// Terminal state.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub end: Option<bool>,
    /// Input filter (`null` = `{}`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::double_option::deserialize"
    )]
    pub input_path: Option<Option<String>>,
    /// Output filter (`null` = `{}`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::double_option::deserialize"
    )]
    pub output_path: Option<Option<String>>,
    /// Array of items (reference path; default `$`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub items_path: Option<String>,
    /// Array of items (JSONata: array or expression).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub items: Option<Value>,
    /// Payload template for each item's input.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub item_selector: Option<Value>,
    /// Legacy name of `ItemSelector`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub parameters: Option<Value>,
    /// Distributed reader.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub item_reader: Option<ItemReader>,
    /// Distributed batcher.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub item_batcher: Option<ItemBatcher>,
    /// Distributed result writer.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub result_writer: Option<ResultWriter>,
    /// Concurrent iterations (0 = no limit).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub max_concurrency: Option<NumberOrExpr>,
    /// Concurrency from the input (reference path).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub max_concurrency_path: Option<String>,
    /// Tolerated failed iterations, percent.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub tolerated_failure_percentage: Option<NumberOrExpr>,
    /// Tolerated percentage from the input (reference path).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub tolerated_failure_percentage_path: Option<String>,
    /// Tolerated failed iterations, count.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub tolerated_failure_count: Option<NumberOrExpr>,
    /// Tolerated count from the input (reference path).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub tolerated_failure_count_path: Option<String>,
    /// Label of child executions (distributed).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub label: Option<String>,
    /// Payload template applied to the result array.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub result_selector: Option<Value>,
    /// Where the result goes (`null` discards it).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::double_option::deserialize"
    )]
    pub result_path: Option<Option<String>>,
    /// Retry policy.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub retry: Option<Vec<Retrier>>,
    /// Error handlers.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::not_null::deserialize"
    )]
    pub catch: Option<Vec<Catcher>>,
    /// Variables to assign.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub assign: Option<Value>,
    /// State output (JSONata).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::keep_null::deserialize"
    )]
    pub output: Option<Value>,
}

impl MapState {
    /// The states each item runs through: `ItemProcessor`, or the legacy `Iterator`.
    pub fn processor(&self) -> Option<&ItemProcessor> {
        self.item_processor.as_ref().or(self.iterator.as_ref())
    }
}

impl State {
    /// The `Type` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Pass(_) => "Pass",
            Self::Task(_) => "Task",
            Self::Choice(_) => "Choice",
            Self::Wait(_) => "Wait",
            Self::Succeed(_) => "Succeed",
            Self::Fail(_) => "Fail",
            Self::Parallel(_) => "Parallel",
            Self::Map(_) => "Map",
        }
    }

    /// The state's own `QueryLanguage`.
    pub fn query_language(&self) -> Option<QueryLanguage> {
        match self {
            Self::Pass(s) => s.query_language,
            Self::Task(s) => s.query_language,
            Self::Choice(s) => s.query_language,
            Self::Wait(s) => s.query_language,
            Self::Succeed(s) => s.query_language,
            Self::Fail(s) => s.query_language,
            Self::Parallel(s) => s.query_language,
            Self::Map(s) => s.query_language,
        }
    }

    /// `Comment`.
    pub fn comment(&self) -> Option<&str> {
        match self {
            Self::Pass(s) => s.comment.as_deref(),
            Self::Task(s) => s.comment.as_deref(),
            Self::Choice(s) => s.comment.as_deref(),
            Self::Wait(s) => s.comment.as_deref(),
            Self::Succeed(s) => s.comment.as_deref(),
            Self::Fail(s) => s.comment.as_deref(),
            Self::Parallel(s) => s.comment.as_deref(),
            Self::Map(s) => s.comment.as_deref(),
        }
    }

    /// `Next`, for the types that have it.
    pub fn next(&self) -> Option<&str> {
        match self {
            Self::Pass(s) => s.next.as_deref(),
            Self::Task(s) => s.next.as_deref(),
            Self::Wait(s) => s.next.as_deref(),
            Self::Parallel(s) => s.next.as_deref(),
            Self::Map(s) => s.next.as_deref(),
            Self::Choice(s) => s.next.as_deref(),
            Self::Succeed(_) | Self::Fail(_) => None,
        }
    }

    /// `End`, for the types that have it.
    pub fn end(&self) -> Option<bool> {
        match self {
            Self::Pass(s) => s.end,
            Self::Task(s) => s.end,
            Self::Wait(s) => s.end,
            Self::Parallel(s) => s.end,
            Self::Map(s) => s.end,
            Self::Choice(s) => s.end,
            Self::Succeed(_) | Self::Fail(_) => None,
        }
    }

    /// Whether an execution can stop in this state (Succeed, Fail, or `End: true`).
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Succeed(_) | Self::Fail(_)) || self.end() == Some(true)
    }

    /// `Retry`, for the types that have it.
    pub fn retry(&self) -> Option<&[Retrier]> {
        match self {
            Self::Task(s) => s.retry.as_deref(),
            Self::Parallel(s) => s.retry.as_deref(),
            Self::Map(s) => s.retry.as_deref(),
            _ => None,
        }
    }

    /// `Catch`, for the types that have it.
    pub fn catch(&self) -> Option<&[Catcher]> {
        match self {
            Self::Task(s) => s.catch.as_deref(),
            Self::Parallel(s) => s.catch.as_deref(),
            Self::Map(s) => s.catch.as_deref(),
            _ => None,
        }
    }

    /// Every state name this state can transition to, in the same scope: `Next`, Choice rule
    /// targets and `Default`, Catch targets.
    pub fn transitions(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.next().into_iter().collect();
        if let Self::Choice(choice) = self {
            out.extend(
                choice
                    .choices
                    .iter()
                    .filter_map(|rule| rule.next.as_deref()),
            );
            out.extend(choice.default.as_deref());
        }
        if let Some(catchers) = self.catch() {
            out.extend(catchers.iter().map(|c| c.next.as_str()));
        }
        out
    }

    /// Nested scopes: Parallel branches, and a Map's processor (ItemProcessor or Iterator), as
    /// `(json pointer suffix, start_at, states)`.
    pub fn nested_scopes(&self) -> Vec<(String, &str, &indexmap::IndexMap<String, State>)> {
        match self {
            Self::Parallel(p) => p
                .branches
                .iter()
                .enumerate()
                .map(|(i, b)| (format!("/Branches/{i}"), b.start_at.as_str(), &b.states))
                .collect(),
            Self::Map(m) => {
                let mut out = Vec::new();
                if let Some(proc) = &m.item_processor {
                    out.push((
                        "/ItemProcessor".to_owned(),
                        proc.start_at.as_str(),
                        &proc.states,
                    ));
                }
                if let Some(it) = &m.iterator {
                    out.push(("/Iterator".to_owned(), it.start_at.as_str(), &it.states));
                }
                out
            }
            _ => Vec::new(),
        }
    }
}
