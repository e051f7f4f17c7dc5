//! The ASL document model.
//!
//! Field names follow the specification exactly (PascalCase on the wire). Payload templates
//! (`Parameters`, `ResultSelector`, `ItemSelector`, `Arguments`, `Output`, `Assign`, `Result`) are
//! kept as JSON values because they are arbitrary JSON with `.$` keys or `{% %}` strings; the
//! validator and the interpreter walk them. Numbers keep their written form (`serde_json::Number`)
//! so `2` and `2.0` re-emit unchanged and a fractional `MaxAttempts` can be detected.

mod choice;
mod common;
mod states;

pub use choice::{ChoiceRule, Comparison, ComparisonOperator, OperandKind};
pub use common::{
    Branch, Catcher, ItemBatcher, ItemProcessor, ItemReader, JitterStrategy, NumberOrExpr,
    ProcessorConfig, ProcessorExecutionType, ProcessorMode, QueryLanguage, ResultWriter, Retrier,
};
pub use states::{
    ChoiceState, FailState, MapState, ParallelState, PassState, State, SucceedState, TaskState,
    WaitState,
};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// A state machine (also the shape of a Parallel branch or Map processor's body, see [`Branch`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct StateMachine {
    /// Human-readable description.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "not_null::deserialize"
    )]
    pub comment: Option<String>,
    /// The state the execution starts in.
    pub start_at: String,
    /// The states, by name, in document order.
    pub states: IndexMap<String, State>,
    /// ASL version (`"1.0"`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "not_null::deserialize"
    )]
    pub version: Option<String>,
    /// Maximum execution time, seconds.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "not_null::deserialize"
    )]
    pub timeout_seconds: Option<serde_json::Number>,
    /// Default query language of every state (`JSONPath` when absent).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "not_null::deserialize"
    )]
    pub query_language: Option<QueryLanguage>,
}

/// Why a document is not an ASL state machine.
#[derive(Debug, thiserror::Error)]
#[error("not a valid state machine document: {0}")]
pub struct ParseError(#[from] serde_json::Error);

impl ParseError {
    /// Line of the error in the input (1-based), 0 when unknown.
    pub fn line(&self) -> usize {
        self.0.line()
    }
}

impl StateMachine {
    /// Parses a definition. Unknown fields and wrongly typed values are errors.
    pub fn from_json(text: &str) -> Result<Self, ParseError> {
        Ok(serde_json::from_str(text)?)
    }

    /// Parses a definition from a JSON value.
    pub fn from_value(value: serde_json::Value) -> Result<Self, ParseError> {
        Ok(serde_json::from_value(value)?)
    }

    /// The definition as a JSON value.
    pub fn to_value(&self) -> serde_json::Value {
        // Serializing plain data structs with string keys cannot fail.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// The definition as pretty-printed JSON with a trailing newline.
    pub fn to_json_pretty(&self) -> String {
        let mut text = serde_json::to_string_pretty(&self.to_value()).unwrap_or_default();
        text.push('\n');
        text
    }

    /// The query language in force for `state` (its own, else the machine's, else JSONPath).
    pub fn query_language_of(&self, state: &State) -> QueryLanguage {
        state
            .query_language()
            .or(self.query_language)
            .unwrap_or(QueryLanguage::JsonPath)
    }
}

/// Deserializes a field that distinguishes "absent" (`None`) from `null` (`Some(None)`), as
/// `InputPath`, `OutputPath` and `ResultPath` do.
pub(crate) mod double_option {
    use serde::{Deserialize, Deserializer};

    pub(crate) fn deserialize<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
    where
        T: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Option::<T>::deserialize(deserializer).map(Some)
    }
}

/// Deserializes an optional typed field whose value may not be `null` (`"Comment": null` is
/// not ASL: it is rejected rather than silently dropped).
pub(crate) mod not_null {
    use serde::{Deserialize, Deserializer};

    pub(crate) fn deserialize<'de, T, D>(deserializer: D) -> Result<Option<T>, D::Error>
    where
        T: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        T::deserialize(deserializer).map(Some)
    }
}

/// Deserializes an optional JSON value so that an explicit `null` stays `Some(Value::Null)`
/// (`"Result": null` is a real payload and must re-emit), while an absent field stays `None`.
pub(crate) mod keep_null {
    use serde::{Deserialize, Deserializer};

    pub(crate) fn deserialize<'de, D>(
        deserializer: D,
    ) -> Result<Option<serde_json::Value>, D::Error>
    where
        D: Deserializer<'de>,
    {
        serde_json::Value::deserialize(deserializer).map(Some)
    }
}

#[cfg(test)]
mod tests;
