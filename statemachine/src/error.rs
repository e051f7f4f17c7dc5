//! Errors of the statemachine crate.

use std::path::PathBuf;

/// What can go wrong while building, checking or writing the workflow.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The workflow failed validation or the data-flow check.
    #[error("the workflow is invalid:\n{}", .0.iter().map(|d| format!("  {d}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<crate::diagnostics::Finding>),
    /// A generated file could not be read or written.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A definition file is not an ASL document.
    #[error("{path} is not a state machine definition: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: asl::ParseError,
    },
}
