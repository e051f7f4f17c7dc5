//! Which transcription and summary engines the worker uses, read once from the environment
//! (`TRANSCRIBER`, `SUMMARIZER` and their settings, names in [`meeting_domain::deployment::env`]).

use meeting_domain::deployment::env;
use transcription::vocabulary::Vocabulary;

use crate::error::StartupError;

/// Speaker labels Transcribe accepts (`MaxSpeakerLabels`: 2–30).
const SPEAKER_LABELS: std::ops::RangeInclusive<u8> = 2..=30;

/// The transcription engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TranscriberChoice {
    /// Amazon Transcribe batch jobs.
    Aws {
        /// `MaxSpeakerLabels` when a recording does not set it.
        max_speakers: u8,
        /// KMS key for Transcribe's output object.
        output_kms_key: Option<String>,
    },
    /// Whisper (whisper.cpp) on the worker's CPU.
    Whisper {
        /// CPU threads per transcription.
        threads: usize,
        /// At most this many speakers when a recording does not set it (`MAX_SPEAKERS`; the
        /// offline labeller finds at most 8); `None`: estimated.
        max_speakers: Option<u8>,
    },
}

/// The summary engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SummarizerChoice {
    /// Bedrock Converse with a forced schema tool.
    Bedrock {
        /// Model or inference profile id.
        model_id: String,
    },
    /// The offline extractive engine.
    Extractive,
    /// Any OpenAI-compatible chat-completions server.
    OpenAi {
        /// `http(s)://host[:port]/v1`.
        base_url: String,
        /// Model name.
        model: String,
        /// Bearer token, if the server wants one.
        api_key: Option<String>,
    },
}

/// Both engine choices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Engines {
    /// Transcription.
    pub transcriber: TranscriberChoice,
    /// Summaries.
    pub summarizer: SummarizerChoice,
    /// The user vocabulary (`VOCABULARY` or `VOCABULARY_FILE`) for either transcriber.
    pub vocabulary: Vocabulary,
}

impl Engines {
    /// Reads the process environment.
    ///
    /// # Errors
    /// [`StartupError::MissingVar`] / [`StartupError::InvalidVar`].
    pub fn from_env() -> Result<Self, StartupError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup` (tests pass a map).
    ///
    /// # Errors
    /// [`StartupError::MissingVar`] / [`StartupError::InvalidVar`].
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, StartupError> {
        let var = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let invalid = |var: &'static str, value: String, reason: &str| StartupError::InvalidVar {
            var,
            value,
            reason: reason.to_owned(),
        };
        let transcriber = match var(env::TRANSCRIBER).as_deref().unwrap_or("aws") {
            "aws" => {
                let max_speakers = match var(env::MAX_SPEAKERS) {
                    None => 10,
                    Some(v) => v
                        .parse::<u8>()
                        .ok()
                        .filter(|n| SPEAKER_LABELS.contains(n))
                        .ok_or_else(|| invalid(env::MAX_SPEAKERS, v, "expected 2 to 30"))?,
                };
                TranscriberChoice::Aws {
                    max_speakers,
                    output_kms_key: var(env::TRANSCRIBE_OUTPUT_KMS_KEY),
                }
            }
            "whisper" => {
                let threads = match var(env::WHISPER_THREADS) {
                    None => 2,
                    Some(v) => v
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=env::MAX_WHISPER_THREADS).contains(n))
                        .ok_or_else(|| {
                            invalid(
                                env::WHISPER_THREADS,
                                v,
                                &format!("expected 1 to {}", env::MAX_WHISPER_THREADS),
                            )
                        })?,
                };
                let max_speakers = var(env::MAX_SPEAKERS)
                    .map(|v| {
                        v.parse::<u8>()
                            .ok()
                            .filter(|n| SPEAKER_LABELS.contains(n))
                            .ok_or_else(|| invalid(env::MAX_SPEAKERS, v, "expected 2 to 30"))
                    })
                    .transpose()?;
                TranscriberChoice::Whisper {
                    threads,
                    max_speakers,
                }
            }
            other => {
                return Err(invalid(
                    env::TRANSCRIBER,
                    other.to_owned(),
                    "expected aws or whisper",
                ));
            }
        };
        let summarizer = match var(env::SUMMARIZER).as_deref().unwrap_or("bedrock") {
            "bedrock" => SummarizerChoice::Bedrock {
                model_id: var(env::BEDROCK_MODEL_ID).ok_or(StartupError::MissingVar {
                    var: env::BEDROCK_MODEL_ID,
                })?,
            },
            "extractive" => SummarizerChoice::Extractive,
            "openai" => SummarizerChoice::OpenAi {
                base_url: var(env::OPENAI_BASE_URL).ok_or(StartupError::MissingVar {
                    var: env::OPENAI_BASE_URL,
                })?,
                model: var(env::OPENAI_MODEL).ok_or(StartupError::MissingVar {
                    var: env::OPENAI_MODEL,
                })?,
                api_key: var(env::OPENAI_API_KEY),
            },
            other => {
                return Err(invalid(
                    env::SUMMARIZER,
                    other.to_owned(),
                    "expected bedrock, extractive or openai",
                ));
            }
        };
        let vocabulary = match (var(env::VOCABULARY), var(env::VOCABULARY_FILE)) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    env::VOCABULARY_FILE,
                    var(env::VOCABULARY_FILE).unwrap_or_default(),
                    "set VOCABULARY or VOCABULARY_FILE, not both",
                ));
            }
            (Some(inline), None) => Vocabulary::parse(&inline)
                .map_err(|e| invalid(env::VOCABULARY, inline.clone(), &e.to_string()))?,
            (None, Some(path)) => Vocabulary::read(std::path::Path::new(&path))
                .map_err(|e| invalid(env::VOCABULARY_FILE, path.clone(), &e.to_string()))?,
            (None, None) => Vocabulary::default(),
        };
        Ok(Self {
            transcriber,
            summarizer,
            vocabulary,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<Engines, StartupError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Engines::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn the_aws_engines_are_the_default_and_need_a_model_id() {
        assert!(
            matches!(read(&[]), Err(StartupError::MissingVar { var }) if var == env::BEDROCK_MODEL_ID)
        );
        let engines = read(&[
            (env::BEDROCK_MODEL_ID, "m"),
            (env::TRANSCRIBE_OUTPUT_KMS_KEY, "k"),
        ])
        .unwrap();
        assert_eq!(
            engines,
            Engines {
                transcriber: TranscriberChoice::Aws {
                    max_speakers: 10,
                    output_kms_key: Some("k".into())
                },
                summarizer: SummarizerChoice::Bedrock {
                    model_id: "m".into()
                },
                vocabulary: Vocabulary::default(),
            }
        );
    }

    #[test]
    fn a_vocabulary_is_read_inline_or_from_a_file_and_checked() {
        let base = [(env::BEDROCK_MODEL_ID, "m")];
        let inline = read(&[base[0], (env::VOCABULARY, "Priya\nDynamoDB = Dynamo-D.B.")]).unwrap();
        assert_eq!(
            inline.vocabulary,
            Vocabulary::parse("Priya\nDynamoDB = Dynamo-D.B.\n").unwrap()
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("words.txt");
        std::fs::write(&file, "# team\nPriya\n").unwrap();
        let from_file = read(&[base[0], (env::VOCABULARY_FILE, file.to_str().unwrap())]).unwrap();
        assert_eq!(from_file.vocabulary.terms().len(), 1);
        assert!(matches!(
            read(&[base[0], (env::VOCABULARY, "S3")]),
            Err(StartupError::InvalidVar { var, reason, .. }) if var == env::VOCABULARY && reason.contains("digits")
        ));
        assert!(matches!(
            read(&[base[0], (env::VOCABULARY, "A"), (env::VOCABULARY_FILE, "/x")]),
            Err(StartupError::InvalidVar { reason, .. }) if reason.contains("not both")
        ));
        assert!(matches!(
            read(&[base[0], (env::VOCABULARY_FILE, "/nonexistent/words.txt")]),
            Err(StartupError::InvalidVar { var, .. }) if var == env::VOCABULARY_FILE
        ));
    }

    #[test]
    fn offline_engines_are_selected_by_name() {
        let engines = read(&[
            (env::TRANSCRIBER, "whisper"),
            (env::WHISPER_THREADS, "1"),
            (env::SUMMARIZER, "extractive"),
        ])
        .unwrap();
        assert_eq!(
            engines.transcriber,
            TranscriberChoice::Whisper {
                threads: 1,
                max_speakers: None
            }
        );
        let engines = read(&[
            (env::TRANSCRIBER, "whisper"),
            (env::MAX_SPEAKERS, "3"),
            (env::SUMMARIZER, "extractive"),
        ])
        .unwrap();
        assert_eq!(
            engines.transcriber,
            TranscriberChoice::Whisper {
                threads: 2,
                max_speakers: Some(3)
            }
        );
        assert!(matches!(
            read(&[(env::TRANSCRIBER, "whisper"), (env::MAX_SPEAKERS, "1")]),
            Err(StartupError::InvalidVar { var, .. }) if var == env::MAX_SPEAKERS
        ));
        assert_eq!(engines.summarizer, SummarizerChoice::Extractive);
    }

    #[test]
    fn bad_values_name_the_variable() {
        for vars in [
            vec![(env::TRANSCRIBER, "pocketsphinx")],
            vec![(env::MAX_SPEAKERS, "31"), (env::BEDROCK_MODEL_ID, "m")],
            vec![(env::SUMMARIZER, "gpt")],
        ] {
            let error = read(&vars).unwrap_err().to_string();
            assert!(error.contains(vars[0].0), "{error}");
        }
        assert!(matches!(
            read(&[(env::SUMMARIZER, "openai"), (env::OPENAI_BASE_URL, "http://x/v1")]),
            Err(StartupError::MissingVar { var }) if var == env::OPENAI_MODEL
        ));
    }
}
