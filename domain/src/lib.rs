//! The shared domain of the meeting recorder.
//!
//! Everything that the Lambdas, the activity workers, the generated workflow and the local runtime
//! must agree on lives here and nowhere else: identifiers, the S3 key grammar, the JSON contract
//! types exchanged with Step Functions (with their JSON Schemas), the recording status machine, the
//! closed sets of error names that activities raise, and the port traits that adapters implement.

pub mod activity;
pub mod contracts;
pub mod deployment;
pub mod error;
pub mod execution_status;
pub mod ids;
pub mod keys;
pub mod ports;
pub mod recorded_at;
pub mod sequencer;
pub mod status;

pub use error::{DomainError, PortError};
pub use execution_status::{ExecutionStatus, ExecutionStatusChange};
pub use ids::{ChunkIndex, RecordingId, RecordingRef, UserId};
pub use status::RecordingStatus;
