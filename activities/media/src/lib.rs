//! The PrepareMedia activity: validates, probes and joins chunks with FFmpeg and extracts 16 kHz
//! mono speech audio.
//!
//! - [`activity`]: the activity itself over an [`meeting_domain::ports::ObjectStore`].
//! - [`probe`]: magic bytes and `ffprobe` under whitelists: what a chunk must be to get joined.
//! - [`manifest`]: chunk checksums from the manifest, verified while the chunks download.
//! - [`join`]: the FFmpeg command lines (concat demuxer, one decode for both outputs).
//! - [`trim`]: dropping each chunk's encoder padding so offsets never drift.
//! - [`process`]: running `ffmpeg`/`ffprobe` with limits, cancellation and captured stderr.
//! - [`limits`]: the memory and CPU-time limits of every FFmpeg/ffprobe child.
//! - [`error`]: the crate's errors and their mapping onto the contract's error names.

pub mod activity;
pub mod error;
pub mod join;
pub mod limits;
pub mod manifest;
pub mod probe;
pub mod process;
pub mod trim;

pub use activity::{MediaConfig, PrepareMediaActivity};
pub use error::{ConfigError, MediaActivityError, ToolError};
pub use limits::MemoryLimit;
