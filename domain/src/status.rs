//! The recording status machine.
//!
//! ```text
//! recording → ready_for_processing → processing → completed
//!     ↘ incomplete_chunks (missing / failed indices listed)   ↘ processing_failed (error, cause)
//! ```
//!
//! Every transition is a conditional write in the catalog; only the writer that wins a transition
//! acts on it (for example, only the winner of `ready_for_processing` starts the workflow).

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::DomainError;

/// Where a recording is in its life.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordingStatus {
    /// Chunks are arriving; the end of the recording is not known or not all chunks are there.
    Recording,
    /// Every chunk 0..N-1 is recorded and the workflow start was won by one caller.
    ReadyForProcessing,
    /// The workflow runs.
    Processing,
    /// Transcript and summary are stored.
    Completed,
    /// Chunks are missing past the grace period, beyond the expected count, or failed their
    /// checksum. Not processed; a late chunk that fills the gap resumes the normal path.
    IncompleteChunks,
    /// The workflow failed; `error` and `cause` say why.
    ProcessingFailed,
}

impl RecordingStatus {
    /// Every status, in life-cycle order.
    pub const ALL: [Self; 6] = [
        Self::Recording,
        Self::ReadyForProcessing,
        Self::Processing,
        Self::Completed,
        Self::IncompleteChunks,
        Self::ProcessingFailed,
    ];

    /// The wire name (as stored in the catalog and written by the workflow).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Recording => "recording",
            Self::ReadyForProcessing => "ready_for_processing",
            Self::Processing => "processing",
            Self::Completed => "completed",
            Self::IncompleteChunks => "incomplete_chunks",
            Self::ProcessingFailed => "processing_failed",
        }
    }

    /// Parses a wire name.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// Whether `self → to` is an allowed transition. Reprocessing (`completed` or
    /// `processing_failed` → `ready_for_processing`) is an explicit operator action.
    pub fn can_move_to(self, to: Self) -> bool {
        use RecordingStatus::*;
        matches!(
            (self, to),
            (Recording, ReadyForProcessing)
                | (Recording, IncompleteChunks)
                | (IncompleteChunks, ReadyForProcessing)
                | (IncompleteChunks, IncompleteChunks)
                | (ReadyForProcessing, Processing)
                | (ReadyForProcessing, ProcessingFailed)
                | (Processing, Completed)
                | (Processing, ProcessingFailed)
                | (Completed, ReadyForProcessing)
                | (ProcessingFailed, ReadyForProcessing)
        )
    }

    /// Checks a transition, returning a typed error when it is not allowed.
    pub fn check_move(self, to: Self) -> Result<(), DomainError> {
        if self.can_move_to(to) {
            Ok(())
        } else {
            Err(DomainError::IllegalTransition { from: self, to })
        }
    }

    /// Statuses from which the completion detector may start processing.
    pub fn awaits_completion(self) -> bool {
        matches!(self, Self::Recording | Self::IncompleteChunks)
    }
}

impl fmt::Display for RecordingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for status in RecordingStatus::ALL {
            assert_eq!(RecordingStatus::parse(status.as_str()), Some(status));
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
        }
    }

    #[test]
    fn a_completed_recording_cannot_be_marked_incomplete() {
        assert!(
            RecordingStatus::Completed
                .check_move(RecordingStatus::IncompleteChunks)
                .is_err()
        );
        assert!(
            RecordingStatus::Recording
                .check_move(RecordingStatus::ReadyForProcessing)
                .is_ok()
        );
    }
}
