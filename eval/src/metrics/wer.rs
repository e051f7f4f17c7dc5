//! Word error rate: the Levenshtein alignment of the recognised words against the reference
//! words (both through [`crate::text::normalise_words`]), counting substitutions, deletions and
//! insertions, divided by the number of reference words.

use serde::Serialize;

/// The edit counts of one alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WordErrors {
    /// Reference words replaced by another word.
    pub substitutions: usize,
    /// Reference words missing from the hypothesis.
    pub deletions: usize,
    /// Hypothesis words not in the reference.
    pub insertions: usize,
    /// Words in the reference.
    pub reference_words: usize,
}

impl WordErrors {
    /// Adds another alignment (corpus-level WER is total errors over total words).
    pub fn add(&mut self, other: Self) {
        self.substitutions += other.substitutions;
        self.deletions += other.deletions;
        self.insertions += other.insertions;
        self.reference_words += other.reference_words;
    }

    /// (S + D + I) / N; 0 for an empty reference with an empty hypothesis, 1 per inserted word
    /// otherwise.
    pub fn rate(&self) -> f64 {
        let errors = self.substitutions + self.deletions + self.insertions;
        if self.reference_words == 0 {
            errors as f64
        } else {
            errors as f64 / self.reference_words as f64
        }
    }
}

/// The minimum-edit alignment of `hypothesis` to `reference` (word lists, already normalised).
/// Ties prefer substitutions, then deletions, then insertions, as `sclite` does.
pub fn align(reference: &[String], hypothesis: &[String]) -> WordErrors {
    let (n, m) = (reference.len(), hypothesis.len());
    // cost[i][j]: (edits, substitutions, deletions, insertions) aligning reference[..i] with
    // hypothesis[..j]; one row kept at a time.
    type Cell = (usize, usize, usize, usize);
    let mut previous: Vec<Cell> = (0..=m).map(|j| (j, 0, 0, j)).collect();
    for i in 1..=n {
        let mut row: Vec<Cell> = Vec::with_capacity(m + 1);
        row.push((i, 0, i, 0));
        for j in 1..=m {
            let diagonal = previous[j - 1];
            let same = reference[i - 1] == hypothesis[j - 1];
            let substitute = if same {
                diagonal
            } else {
                (diagonal.0 + 1, diagonal.1 + 1, diagonal.2, diagonal.3)
            };
            let up = previous[j];
            let delete = (up.0 + 1, up.1, up.2 + 1, up.3);
            let left = row[j - 1];
            let insert = (left.0 + 1, left.1, left.2, left.3 + 1);
            let mut best = substitute;
            if delete.0 < best.0 {
                best = delete;
            }
            if insert.0 < best.0 {
                best = insert;
            }
            row.push(best);
        }
        previous = row;
    }
    let (_, substitutions, deletions, insertions) = previous[m];
    WordErrors {
        substitutions,
        deletions,
        insertions,
        reference_words: n,
    }
}

/// [`align`] of two texts after normalisation.
pub fn word_errors(reference: &str, hypothesis: &str) -> WordErrors {
    align(
        &crate::text::normalise_words(reference),
        &crate::text::normalise_words(hypothesis),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_identical_texts_up_to_case_and_punctuation_then_wer_is_zero() {
        let errors = word_errors(
            "Alice will send the budget by Friday.",
            "alice will send the budget, by friday",
        );
        assert_eq!(errors.rate(), 0.0);
        assert_eq!(errors.reference_words, 7);
    }

    #[test]
    fn given_one_substitution_and_one_deletion_then_wer_is_two_over_seven() {
        // "by" → "high" (substitution), "the" dropped (deletion).
        let errors = word_errors(
            "Alice will send the budget by Friday",
            "Alice will send budget high Friday",
        );
        assert_eq!(
            errors,
            WordErrors {
                substitutions: 1,
                deletions: 1,
                insertions: 0,
                reference_words: 7
            }
        );
        assert!((errors.rate() - 2.0 / 7.0).abs() < 1e-12);
    }

    #[test]
    fn given_an_inserted_word_then_it_counts_as_an_insertion() {
        let errors = word_errors("see you next week", "see you all next week");
        assert_eq!(
            (errors.substitutions, errors.deletions, errors.insertions),
            (0, 0, 1)
        );
        assert!((errors.rate() - 0.25).abs() < 1e-12);
    }

    #[test]
    fn given_an_empty_hypothesis_then_every_word_is_deleted() {
        let errors = word_errors("one two three", "");
        assert_eq!(errors.deletions, 3);
        assert_eq!(errors.rate(), 1.0);
    }

    #[test]
    fn given_two_meetings_then_the_corpus_rate_weights_by_words() {
        let mut total = word_errors("a b c d", "a b c x");
        total.add(word_errors("e f", "e f"));
        assert!((total.rate() - 1.0 / 6.0).abs() < 1e-12);
    }
}
