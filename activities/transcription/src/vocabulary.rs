//! A user vocabulary: names, product words and acronyms the recogniser should spell right.
//!
//! One list serves both engines. Offline, the terms go into Whisper's prompt
//! ([`Vocabulary::whisper_prompt`]), which biases decoding towards their spelling; on AWS the same
//! list becomes an Amazon Transcribe custom vocabulary in table format
//! ([`Vocabulary::transcribe_table`], named by its content, [`Vocabulary::transcribe_name`]).
//!
//! The file has one term per line, as it should appear in the transcript (`Priya`, `DynamoDB`,
//! `Los Angeles`, `CLI`); blank lines and lines starting with `#` are ignored. A line may say how
//! the term is pronounced for Amazon Transcribe after ` = ` (`DynamoDB = Dynamo-D.B.`,
//! `S3 = S.-three`); without it the pronunciation is derived: spaces become hyphens and an
//! all-capital word of 2–5 letters is spelled out (`CLI` → `C.L.I.`). Transcribe's rules hold for
//! every term, so a list that works offline also works on AWS: at most 256 characters, letters,
//! apostrophes, hyphens and periods in the pronunciation, no digits there (numbers are spelled
//! out), at most [`MAX_FILE_BYTES`] in all.

use std::fmt::Write as _;
use std::path::Path;

use sha2::{Digest, Sha256};

/// Amazon Transcribe's limit for one custom-vocabulary file: 50 KB.
pub const MAX_FILE_BYTES: usize = 50 * 1024;
/// Amazon Transcribe's limit for one entry.
pub const MAX_TERM_CHARS: usize = 256;
/// Most of Whisper's 224-token prompt stays for the previous window's text: the glossary part
/// is cut at this many characters (about 100 tokens), whole terms only.
pub const MAX_PROMPT_GLOSSARY_CHARS: usize = 400;

/// One term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Term {
    /// As it should appear in the transcript.
    pub display: String,
    /// As Amazon Transcribe's `Phrase` column wants it: words joined by hyphens, spelled letters
    /// with periods, no digits.
    pub phrase: String,
}

/// A checked vocabulary (possibly empty).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Vocabulary {
    terms: Vec<Term>,
}

/// Why a vocabulary file was refused.
#[derive(Debug, thiserror::Error)]
pub enum VocabularyError {
    /// The file could not be read.
    #[error("cannot read the vocabulary file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is larger than Amazon Transcribe accepts.
    #[error(
        "the vocabulary has {bytes} bytes; Amazon Transcribe accepts at most {MAX_FILE_BYTES} (keep the words the recogniser gets wrong)"
    )]
    TooLarge {
        /// Its size.
        bytes: usize,
    },
    /// One line breaks a rule.
    #[error("vocabulary line {line} ({text:?}): {reason}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// The line.
        text: String,
        /// The rule.
        reason: String,
    },
}

impl Vocabulary {
    /// Reads and checks a vocabulary file.
    ///
    /// # Errors
    /// [`VocabularyError`] naming the file, or the line and the rule it breaks.
    pub fn read(path: &Path) -> Result<Self, VocabularyError> {
        let text = std::fs::read_to_string(path).map_err(|source| VocabularyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses and checks a vocabulary (the file format above). Terms repeated with a different
    /// case or spacing are kept once, first spelling wins.
    ///
    /// # Errors
    /// [`VocabularyError`] for the first line that breaks a rule.
    pub fn parse(text: &str) -> Result<Self, VocabularyError> {
        if text.len() > MAX_FILE_BYTES {
            return Err(VocabularyError::TooLarge { bytes: text.len() });
        }
        let mut terms: Vec<Term> = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let refuse = |reason: String| VocabularyError::Line {
                line: index + 1,
                text: line.chars().take(80).collect(),
                reason,
            };
            let term = parse_term(line).map_err(refuse)?;
            let key = term.display.to_lowercase();
            if !terms.iter().any(|t| t.display.to_lowercase() == key) {
                terms.push(term);
            }
        }
        Ok(Self { terms })
    }

    /// Whether there are no terms.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The terms, in file order.
    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// The glossary sentence that opens every Whisper prompt (`Glossary: Priya, DynamoDB.`), at
    /// most [`MAX_PROMPT_GLOSSARY_CHARS`] characters of terms; empty without terms.
    pub fn whisper_prompt(&self) -> String {
        let mut listed = String::new();
        for term in &self.terms {
            let separator = if listed.is_empty() { "" } else { ", " };
            if listed.len() + separator.len() + term.display.len() > MAX_PROMPT_GLOSSARY_CHARS {
                break;
            }
            listed.push_str(separator);
            listed.push_str(&term.display);
        }
        if listed.is_empty() {
            String::new()
        } else {
            format!("Glossary: {listed}.")
        }
    }

    /// The Amazon Transcribe custom vocabulary in table format: a `Phrase`, `IPA`, `SoundsLike`,
    /// `DisplayAs` header and one tab-separated row per term (the IPA and SoundsLike columns are
    /// no longer used by Transcribe and stay empty).
    pub fn transcribe_table(&self) -> String {
        let mut table = String::from("Phrase\tIPA\tSoundsLike\tDisplayAs\n");
        for term in &self.terms {
            // Writing to a String cannot fail.
            let _ = writeln!(table, "{}\t\t\t{}", term.phrase, term.display);
        }
        table
    }

    /// The custom vocabulary's name for `language`: derived from the table, so each distinct list
    /// is created once and every worker agrees on it without coordination
    /// (`meeting-recorder-en-US-<16 hex>`, inside Transcribe's `^[0-9a-zA-Z._-]+`, 200 chars).
    pub fn transcribe_name(&self, language: &str) -> String {
        let digest = Sha256::digest(self.transcribe_table().as_bytes());
        let language: String = language
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(16)
            .collect();
        format!("meeting-recorder-{language}-{}", hex::encode(&digest[..8]))
    }
}

fn parse_term(line: &str) -> Result<Term, String> {
    let (display, phrase) = match line.split_once('=') {
        Some((display, phrase)) => (display.trim(), Some(phrase.trim())),
        None => (line, None),
    };
    let display = display.split_whitespace().collect::<Vec<_>>().join(" ");
    if display.is_empty() {
        return Err("the term is empty".to_owned());
    }
    if display.chars().count() > MAX_TERM_CHARS {
        return Err(format!(
            "longer than {MAX_TERM_CHARS} characters, Amazon Transcribe's limit"
        ));
    }
    if let Some(c) = display
        .chars()
        .find(|c| c.is_control() || matches!(c, '<' | '>' | '"' | ',' | ';' | '='))
    {
        return Err(format!("the character {c:?} cannot be in a term"));
    }
    let phrase = match phrase {
        Some("") => return Err("nothing after \"=\"".to_owned()),
        Some(p) => p.to_owned(),
        None => derived_phrase(&display),
    };
    check_phrase(&phrase)?;
    Ok(Term { display, phrase })
}

/// The pronunciation Transcribe wants for a display form: words joined by hyphens, an
/// all-capital word of 2–5 letters spelled (`CLI` → `C.L.I.`).
fn derived_phrase(display: &str) -> String {
    display
        .split([' ', '-'])
        .filter(|w| !w.is_empty())
        .map(|word| {
            let letters = word.chars().count();
            if (2..=5).contains(&letters) && word.chars().all(|c| c.is_uppercase()) {
                word.chars().map(|c| format!("{c}.")).collect()
            } else {
                word.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

fn check_phrase(phrase: &str) -> Result<(), String> {
    if phrase.chars().count() > MAX_TERM_CHARS {
        return Err(format!(
            "the pronunciation is longer than {MAX_TERM_CHARS} characters"
        ));
    }
    if phrase.chars().any(|c| c.is_ascii_digit()) {
        return Err(
            "Amazon Transcribe takes no digits in a pronunciation: add how it is said after \" = \", e.g. \"S3 = S.-three\""
                .to_owned(),
        );
    }
    if let Some(c) = phrase
        .chars()
        .find(|c| !(c.is_alphabetic() || matches!(c, '-' | '.' | '\'')))
    {
        return Err(format!(
            "the pronunciation {phrase:?} has {c:?}; Amazon Transcribe allows letters, hyphens between words, periods after spelled letters and apostrophes"
        ));
    }
    if phrase.starts_with('-') || phrase.ends_with('-') || phrase.contains("--") {
        return Err(format!(
            "the pronunciation {phrase:?} has a hyphen that joins no two words"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_file_then_terms_keep_their_spelling_and_get_transcribe_phrases() {
        let vocabulary = Vocabulary::parse(
            "# people\nPriya\n\nLos  Angeles\nCLI\nDynamoDB = Dynamo-D.B.\nS3 = S.-three\npriya\n",
        )
        .unwrap();
        let pairs: Vec<(&str, &str)> = vocabulary
            .terms()
            .iter()
            .map(|t| (t.display.as_str(), t.phrase.as_str()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("Priya", "Priya"),
                ("Los Angeles", "Los-Angeles"),
                ("CLI", "C.L.I."),
                ("DynamoDB", "Dynamo-D.B."),
                ("S3", "S.-three"),
            ]
        );
        assert_eq!(
            vocabulary.transcribe_table(),
            "Phrase\tIPA\tSoundsLike\tDisplayAs\nPriya\t\t\tPriya\nLos-Angeles\t\t\tLos Angeles\nC.L.I.\t\t\tCLI\nDynamo-D.B.\t\t\tDynamoDB\nS.-three\t\t\tS3\n"
        );
        assert_eq!(
            vocabulary.whisper_prompt(),
            "Glossary: Priya, Los Angeles, CLI, DynamoDB, S3."
        );
    }

    #[test]
    fn given_terms_transcribe_refuses_then_the_line_and_rule_are_named() {
        for (text, line, needle) in [
            ("Priya\nS3\n", 2, "no digits"),
            ("Alice = Al ice\n", 1, "' '"),
            ("a<b>\n", 1, "'<'"),
            ("Bob = \n", 1, "nothing after"),
            ("Bob =\n", 1, "nothing after"),
            ("Rock = -n-roll\n", 1, "hyphen"),
            (&format!("{}\n", "x".repeat(300)), 1, "256"),
        ] {
            let err = Vocabulary::parse(text).unwrap_err();
            let message = err.to_string();
            assert!(
                message.starts_with(&format!("vocabulary line {line} "))
                    && message.contains(needle),
                "{text:?}: {message}"
            );
        }
        let big = "word\n".repeat(MAX_FILE_BYTES / 5 + 1);
        assert!(matches!(
            Vocabulary::parse(&big),
            Err(VocabularyError::TooLarge { .. })
        ));
    }

    #[test]
    fn given_a_long_list_then_the_prompt_keeps_whole_terms_within_its_budget() {
        // 200 distinct terms of letters only: "Termaaax", "Termaabx", …
        let text: String = (0..200)
            .map(|i: u32| {
                let letters: String = format!("{i:03}")
                    .bytes()
                    .map(|d| char::from(b'a' + (d - b'0')))
                    .collect();
                format!("Term{letters}x\n")
            })
            .collect();
        let vocabulary = Vocabulary::parse(&text).unwrap();
        let prompt = vocabulary.whisper_prompt();
        assert!(prompt.len() <= MAX_PROMPT_GLOSSARY_CHARS + "Glossary: .".len());
        assert!(prompt.ends_with("x."), "{prompt}");
        assert!(Vocabulary::default().whisper_prompt().is_empty());
    }

    #[test]
    fn given_two_lists_then_names_differ_and_the_same_list_names_the_same() {
        let a = Vocabulary::parse("Priya\n").unwrap();
        let b = Vocabulary::parse("Priya\nTom\n").unwrap();
        assert_ne!(a.transcribe_name("en-US"), b.transcribe_name("en-US"));
        assert_eq!(
            a.transcribe_name("en-US"),
            Vocabulary::parse("# again\nPriya\n")
                .unwrap()
                .transcribe_name("en-US")
        );
        assert_ne!(a.transcribe_name("en-US"), a.transcribe_name("en-GB"));
        let name = a.transcribe_name("en-US");
        assert!(
            name.starts_with("meeting-recorder-en-US-") && name.len() == 39,
            "{name}"
        );
    }
}
