//! Findings of the workflow checks (builder rules and data flow), each with a JSON pointer into
//! the emitted definition and a plain message.

use std::fmt;

/// One problem found in a workflow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Stable kebab-case code.
    pub code: &'static str,
    /// JSON pointer into the definition.
    pub pointer: String,
    /// What is wrong, in plain words.
    pub message: String,
}

impl Finding {
    /// A finding.
    pub fn new(code: &'static str, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code,
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}]: {}", self.pointer, self.code, self.message)
    }
}

/// Escapes one JSON pointer segment (RFC 6901).
pub fn escape_segment(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}
