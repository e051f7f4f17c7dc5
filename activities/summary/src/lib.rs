//! Summaries of meeting transcripts: the [`port::Summarizer`] port, its adapters (the offline
//! [`extractive`] engine, Amazon Bedrock and OpenAI-compatible chat servers in [`model`]) and the
//! Summarize activity ([`activity::SummarizeActivity`]) that reads `transcript.json` and writes
//! `summary.json` and `summary.md`. A transcript without speech gets the [`no_speech`] summary:
//! silence is a normal outcome, never a failure.
//!
//! A transcript is untrusted data. The extractive engine only matches patterns in it; the model
//! adapters keep it out of the instructions, give the model exactly one tool (the summary schema)
//! and validate what comes back.

pub mod activity;
pub mod due_date;
pub mod error;
pub mod extractive;
pub mod markdown;
pub mod model;
pub mod no_speech;
pub mod port;
pub mod schema;
pub mod timeline;

pub use error::SummarizeError;
pub use extractive::ExtractiveSummarizer;
pub use no_speech::NO_SPEECH_SUMMARY;
pub use port::Summarizer;
