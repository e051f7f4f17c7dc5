//! The scores: word error rate ([`wer`]), diarization error rate and turn purity ([`der`]),
//! precision/recall/F1 of decisions and action items ([`items`]). Pure functions over plain
//! data, so each is unit-tested on small examples whose answer is known by hand.

pub mod der;
pub mod items;
pub mod wer;

/// Precision, recall and F1 from counts.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    /// Predictions that match a truth item.
    pub true_positives: usize,
    /// Predictions made.
    pub predicted: usize,
    /// Truth items.
    pub expected: usize,
}

impl Counts {
    /// Adds another meeting's counts (micro-averaging).
    pub fn add(&mut self, other: Self) {
        self.true_positives += other.true_positives;
        self.predicted += other.predicted;
        self.expected += other.expected;
    }

    /// Matched / predicted; 1 when nothing was predicted (nothing wrong was said).
    pub fn precision(&self) -> f64 {
        ratio(self.true_positives, self.predicted)
    }

    /// Matched / expected; 1 when nothing was expected.
    pub fn recall(&self) -> f64 {
        ratio(self.true_positives, self.expected)
    }

    /// Harmonic mean of precision and recall; 0 when both are 0.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::Counts;

    #[test]
    fn given_two_of_three_predictions_right_out_of_four_expected_then_f1_is_four_sevenths() {
        let counts = Counts {
            true_positives: 2,
            predicted: 3,
            expected: 4,
        };
        assert!((counts.precision() - 2.0 / 3.0).abs() < 1e-12);
        assert!((counts.recall() - 0.5).abs() < 1e-12);
        // 2 · (2/3 · 1/2) / (2/3 + 1/2) = (2/3) / (7/6) = 4/7.
        assert!((counts.f1() - 4.0 / 7.0).abs() < 1e-12);
    }

    #[test]
    fn given_nothing_predicted_and_something_expected_then_f1_is_zero() {
        let counts = Counts {
            true_positives: 0,
            predicted: 0,
            expected: 2,
        };
        assert_eq!(counts.precision(), 1.0);
        assert_eq!(counts.recall(), 0.0);
        assert_eq!(counts.f1(), 0.0);
    }
}
