//! The offline summarizer: an extractive summary (sentences of the transcript chosen by TF-IDF
//! centrality, retold as prose in the third person by rules, see the `prose` module) plus
//! pattern-based action items and decisions. Every content word of its output comes from the
//! transcript, a speaker's name or label, or a fixed connective ("said that", "the team"), so it
//! cannot invent facts or owners, and it is labelled `extracted` in the output.

mod names;
mod patterns;
mod prose;
mod ranking;

use async_trait::async_trait;
use meeting_domain::contracts::{EngineInfo, MeetingSummary, SummaryKind, Transcript};

use crate::error::SummarizeError;
use crate::port::Summarizer;
use crate::timeline;

pub use patterns::TEAM_OWNER;

/// The names people used for each other in a meeting: offered as suggestions when renaming
/// speakers (`recorder speakers`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NameSuggestions {
    /// Speaker label → the name the conversation shows it is (two agreeing turns, or a
    /// self-introduction, and nothing against it).
    pub by_label: Vec<(String, String)>,
    /// Every name used to address or introduce someone, in order of first use.
    pub mentioned: Vec<String>,
}

/// The [`NameSuggestions`] of a transcript.
pub fn name_suggestions(transcript: &Transcript) -> NameSuggestions {
    let names = names::Names::read(&timeline::sentences(transcript));
    NameSuggestions {
        by_label: names.of_label.into_iter().collect(),
        mentioned: names.mentioned,
    }
}

/// Engine name recorded in summaries made by [`ExtractiveSummarizer`].
pub const ENGINE_NAME: &str = "extractive";
/// Version of the rules, recorded as the engine's model.
pub const RULES_VERSION: &str = "tfidf-patterns-prose-2";

/// The offline, rule-based summarizer.
#[derive(Clone, Debug, Default)]
pub struct ExtractiveSummarizer;

impl ExtractiveSummarizer {
    /// A summarizer with the built-in rules.
    pub fn new() -> Self {
        Self
    }

    /// Summarizes synchronously (the work is CPU-only and takes milliseconds).
    pub fn summarize_now(&self, transcript: &Transcript) -> Result<MeetingSummary, SummarizeError> {
        let sentences = timeline::sentences(transcript);
        if sentences.is_empty() {
            return Ok(crate::no_speech::summary(transcript, self.engine()));
        }
        let speakers = timeline::active_speakers(transcript);
        let extracted = patterns::extract(&sentences, &speakers);
        let names = names::Names::read(&sentences);
        let summary = prose::summary_text(
            &sentences,
            &names,
            &extracted,
            ranking::summary_length(sentences.len()),
        );
        Ok(MeetingSummary {
            summary,
            action_items: extracted.action_items,
            decisions: extracted.decisions,
            speakers,
            language: transcript.language.clone(),
            kind: SummaryKind::Extracted,
            engine: self.engine(),
            recorded_at: None,
        })
    }
}

#[async_trait]
impl Summarizer for ExtractiveSummarizer {
    fn engine(&self) -> EngineInfo {
        EngineInfo {
            name: ENGINE_NAME.to_owned(),
            model: Some(RULES_VERSION.to_owned()),
        }
    }

    async fn summarize(&self, transcript: &Transcript) -> Result<MeetingSummary, SummarizeError> {
        self.summarize_now(transcript)
    }
}
