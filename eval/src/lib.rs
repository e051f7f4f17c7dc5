//! The meeting-notes evaluation: a set of scripted meetings with ground truth
//! (`eval/meetings/*.json`), rendered to audio with `espeak-ng`, run through the real offline
//! pipeline (`recorder process`), and scored.
//!
//! - [`meeting`]: the meeting files and their consistency checks;
//! - [`render`]: a meeting to an `.m4a` and its exact speaker turns;
//! - [`pipeline`]: the port from audio to notes, and the `recorder` binary behind it;
//! - [`text`]: normalisation shared by the metrics;
//! - [`metrics`]: WER, DER / turn purity and coverage, precision/recall/F1 of items;
//! - [`scoring`], [`run`], [`report`]: one meeting scored, a run, what is printed;
//! - [`misses`]: what the notes missed or made up, and why (`--misses`);
//! - [`cli`]: the `eval-notes` command line.

pub mod cli;
pub mod error;
pub mod meeting;
pub mod metrics;
pub mod misses;
pub mod pipeline;
pub mod render;
pub mod report;
pub mod run;
pub mod scoring;
pub mod text;

pub use error::EvalError;
