//! The summarizer port: a transcript in, a [`MeetingSummary`] out. The Summarize activity depends
//! on this trait only; the extractive engine, Bedrock and OpenAI-compatible servers are adapters.

use async_trait::async_trait;
use meeting_domain::contracts::{EngineInfo, MeetingSummary, Transcript};

use crate::error::SummarizeError;

/// Makes a summary with action items and decisions from a transcript.
///
/// The transcript is untrusted data: whatever it says, an implementation returns a summary that
/// matches the `MeetingSummary` schema, with source times inside the recording, or an error.
#[async_trait]
pub trait Summarizer: Send + Sync {
    /// The engine recorded in the summary (`extractive`, `bedrock`, `openai-compatible`).
    fn engine(&self) -> EngineInfo;

    /// Summarizes a transcript that has at least one word.
    async fn summarize(&self, transcript: &Transcript) -> Result<MeetingSummary, SummarizeError>;
}
