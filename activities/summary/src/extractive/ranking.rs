//! Picks the sentences of an extractive summary: TF-IDF vectors per sentence, score = cosine
//! similarity to the meeting's centroid (how typical of the whole meeting a sentence is), a bonus
//! for sentences holding a decision or an action item, and a redundancy filter (maximal marginal
//! relevance) so two near-identical sentences are not both chosen.

use std::collections::HashMap;

use crate::timeline::Sentence;

/// Sentences shorter than this many content words are not summary material ("Okay.", "Sure").
const MIN_CONTENT_WORDS: usize = 4;
/// A candidate this similar to an already chosen sentence is skipped.
const MAX_SIMILARITY: f64 = 0.6;
/// Score added to sentences that hold a decision or an action item.
const ITEM_BONUS: f64 = 0.25;

const STOP_WORDS: &[&str] = &[
    "a", "about", "above", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as",
    "at", "be", "because", "been", "before", "being", "but", "by", "can", "could", "did", "do",
    "does", "doing", "don't", "down", "each", "few", "for", "from", "further", "get", "go",
    "going", "gonna", "got", "had", "has", "have", "having", "he", "her", "here", "hers", "him",
    "his", "how", "i", "i'll", "i'm", "if", "in", "into", "is", "it", "it's", "its", "just",
    "know", "let's", "like", "me", "more", "most", "my", "no", "nor", "not", "now", "of", "off",
    "oh", "ok", "okay", "on", "once", "one", "only", "or", "other", "our", "out", "over", "own",
    "really", "right", "same", "she", "should", "so", "some", "such", "sure", "than", "that",
    "that's", "the", "their", "them", "then", "there", "these", "they", "think", "this", "those",
    "through", "to", "too", "um", "uh", "under", "until", "up", "very", "want", "was", "we",
    "we'll", "we're", "were", "what", "when", "where", "which", "while", "who", "why", "will",
    "with", "would", "yeah", "yes", "you", "your", "you're", "well", "thing", "things", "mean",
    "actually", "maybe", "need", "needs",
];

fn terms(sentence: &Sentence) -> Vec<String> {
    sentence
        .tokens
        .iter()
        .map(|t| {
            t.text
                .replace('’', "'")
                .trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| w.chars().any(char::is_alphabetic) && !STOP_WORDS.contains(&w.as_str()))
        .collect()
}

type Vector = HashMap<String, f64>;

fn cosine(a: &Vector, b: &Vector) -> f64 {
    let dot: f64 = a
        .iter()
        .filter_map(|(term, x)| b.get(term).map(|y| x * y))
        .sum();
    let norm = |v: &Vector| v.values().map(|x| x * x).sum::<f64>().sqrt();
    let denominator = norm(a) * norm(b);
    if denominator > 0.0 {
        dot / denominator
    } else {
        0.0
    }
}

/// How many sentences a summary of `count` sentences gets: a few, more for longer meetings.
pub fn summary_length(count: usize) -> usize {
    (count / 8).clamp(3, 6).min(count)
}

/// The TF-IDF vectors of a meeting's sentences (stop words left out; idf = ln(1 + n / df)).
#[derive(Clone, Debug)]
pub struct Tfidf {
    /// Content words per sentence.
    term_counts: Vec<usize>,
    /// One vector per sentence.
    vectors: Vec<Vector>,
}

impl Tfidf {
    /// The vectors of `sentences`.
    pub fn new(sentences: &[Sentence]) -> Self {
        let term_lists: Vec<Vec<String>> = sentences.iter().map(terms).collect();
        let n = term_lists.len() as f64;
        let mut document_frequency: HashMap<&str, f64> = HashMap::new();
        for list in &term_lists {
            let mut seen: Vec<&str> = list.iter().map(String::as_str).collect();
            seen.sort_unstable();
            seen.dedup();
            for term in seen {
                *document_frequency.entry(term).or_default() += 1.0;
            }
        }
        let vectors = term_lists
            .iter()
            .map(|list| {
                let mut v = Vector::new();
                for term in list {
                    let df = document_frequency
                        .get(term.as_str())
                        .copied()
                        .unwrap_or(1.0);
                    *v.entry(term.clone()).or_default() += (1.0 + n / df).ln();
                }
                v
            })
            .collect();
        Self {
            term_counts: term_lists.iter().map(Vec::len).collect(),
            vectors,
        }
    }

    /// How much the talk around sentence `a` and the talk around a later sentence `b` have in
    /// common: the cosine similarity of their neighbourhoods, each sentence with the `radius`
    /// sentences on either side of it, but never reaching the other sentence (so two adjacent
    /// sentences are compared as the block before the boundary against the block after it, as
    /// in TextTiling). Steadier than one short sentence against another.
    pub fn boundary_similarity(&self, a: usize, b: usize, radius: usize) -> f64 {
        let (a, b) = (a.min(b), a.max(b));
        let before = self.sum(a.saturating_sub(radius), (a + radius + 1).min(b));
        let after = self.sum((b.saturating_sub(radius)).max(a + 1), b + radius + 1);
        cosine(&before, &after)
    }

    /// The summed vectors of sentences `from..to` (clamped to the meeting).
    fn sum(&self, from: usize, to: usize) -> Vector {
        let to = to.min(self.vectors.len());
        let mut sum = Vector::new();
        for v in self.vectors.get(from.min(to)..to).unwrap_or_default() {
            for (term, weight) in v {
                *sum.entry(term.clone()).or_default() += weight;
            }
        }
        sum
    }
}

/// Indices of the chosen sentences, in time order. `with_items` are sentences holding a
/// decision or an action item; only sentences for which `eligible` holds are chosen. Empty when
/// no eligible sentence is long enough.
pub fn rank(
    tfidf: &Tfidf,
    with_items: &[usize],
    wanted: usize,
    eligible: impl Fn(usize) -> bool,
) -> Vec<usize> {
    let vectors = &tfidf.vectors;
    let mut centroid = Vector::new();
    for v in vectors {
        for (term, weight) in v {
            *centroid.entry(term.clone()).or_default() += weight;
        }
    }

    let mut scored: Vec<(usize, f64)> = vectors
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            (tfidf.term_counts[*i] >= MIN_CONTENT_WORDS || with_items.contains(i)) && eligible(*i)
        })
        .map(|(i, v)| {
            let bonus = if with_items.contains(&i) {
                ITEM_BONUS
            } else {
                0.0
            };
            (i, cosine(v, &centroid) + bonus)
        })
        .collect();
    // Highest score first; earlier sentence first on ties, so the result is deterministic.
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));

    let mut chosen: Vec<usize> = Vec::new();
    for (index, _) in scored {
        if chosen.len() >= wanted {
            break;
        }
        if chosen
            .iter()
            .all(|c| cosine(&vectors[*c], &vectors[index]) < MAX_SIMILARITY)
        {
            chosen.push(index);
        }
    }
    chosen.sort_unstable();
    chosen
}

/// The longest sentence (the earliest on a tie): the summary of a meeting whose sentences are
/// all too short to rank.
pub fn longest(sentences: &[Sentence]) -> Option<usize> {
    sentences
        .iter()
        .enumerate()
        .max_by_key(|(i, s)| (s.tokens.len(), std::cmp::Reverse(*i)))
        .map(|(index, _)| index)
}
