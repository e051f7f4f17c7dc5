//! Precision, recall and F1 of decisions and action items: predicted items are paired one-to-one
//! with truth items (a maximum bipartite matching over the pairs that agree, so the order of
//! either list never matters) and the pairs are the true positives.
//!
//! - A **decision** agrees with a truth decision when their texts' content words overlap by at
//!   least the threshold ([`crate::text::token_overlap`], the Dice coefficient).
//! - An **action item** agrees only if all of these hold: the owner is the same name after
//!   normalisation (an unassigned item never agrees); the task overlaps the truth task by at
//!   least the threshold and does not carry the due phrase (unless the truth task itself has
//!   those words); the due phrase is the same after normalisation and dropping leading
//!   prepositions ("by Friday" = "Friday"; no due on both sides agrees); and, when the run's
//!   summaries carry `dueDate`, the same date (absent = none).
//! - A predicted item that matches nothing is **garbled** when its text still overlaps some
//!   truth item of its kind by at least [`LOOSE_THRESHOLD`] (a real item with a field wrong or
//!   its words misheard), else **invented**: nothing the meeting asked for is recognisable in
//!   it. Invented items that overlap a tentative statement ("maybe we could…") by the loose
//!   threshold are counted separately as well.
//!
//! For diagnosis, items are also paired on the task alone, and the owner, due phrase and due
//! date of those pairs are checked one by one ([`FieldAccuracy`]).

use chrono::NaiveDate;
use serde::Serialize;

use super::Counts;
use crate::meeting::{TruthActionItem, TruthDecision, TruthStatement};
use crate::text::{normalise_due, normalise_name, normalise_words, token_overlap};

/// The overlap at or above which two tasks (or two decisions) are the same.
pub const DEFAULT_TEXT_THRESHOLD: f64 = 0.7;

/// The overlap below which an unmatched prediction resembles no truth item at all (invented)
/// rather than a real one said wrongly (garbled): fewer than two content words in five shared.
pub const LOOSE_THRESHOLD: f64 = 0.4;

/// An action item as the summary states it.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PredictedActionItem {
    /// What is to be done.
    pub task: String,
    /// Who does it.
    pub owner: Option<String>,
    /// When, as said.
    pub due: Option<String>,
    /// When, as a date (`dueDate`, when the summary schema has it).
    pub due_date: Option<NaiveDate>,
    /// Where it was said, seconds.
    pub source_time: f64,
}

/// A decision as the summary states it.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PredictedDecision {
    /// What was decided.
    pub decision: String,
    /// Where it was said, seconds.
    pub source_time: f64,
}

/// How strictly items are compared.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatchRules {
    /// Minimum [`token_overlap`] of two tasks or two decisions.
    pub text_threshold: f64,
    /// Whether `dueDate` is compared (the summaries of the run carry it).
    pub judge_due_date: bool,
}

impl Default for MatchRules {
    fn default() -> Self {
        Self {
            text_threshold: DEFAULT_TEXT_THRESHOLD,
            judge_due_date: false,
        }
    }
}

/// Of the items paired on their task alone, how many have each other field right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldAccuracy {
    /// Pairs of a predicted and a truth item with the same task.
    pub task_pairs: usize,
    /// … of which the owner is right.
    pub owner_right: usize,
    /// … of which the due phrase is right.
    pub due_right: usize,
    /// … of which the due date is right (absent on both sides counts as right).
    pub due_date_right: usize,
    /// … of which the task still carries the due phrase.
    pub task_carries_due: usize,
}

impl FieldAccuracy {
    /// Adds another meeting.
    pub fn add(&mut self, other: Self) {
        self.task_pairs += other.task_pairs;
        self.owner_right += other.owner_right;
        self.due_right += other.due_right;
        self.due_date_right += other.due_date_right;
        self.task_carries_due += other.task_carries_due;
    }
}

/// The score of one kind of item in one meeting.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemScore {
    /// True positives, predicted, expected.
    pub counts: Counts,
    /// Unmatched predictions that resemble a truth item (overlap ≥ [`LOOSE_THRESHOLD`]).
    pub garbled: usize,
    /// Unmatched predictions that resemble no truth item.
    pub invented: usize,
    /// Invented predictions that resemble a tentative statement.
    pub from_tentative: usize,
    /// Index pairs (predicted, truth) of the true positives.
    pub matched: Vec<(usize, usize)>,
}

/// A maximum bipartite matching (Kuhn's augmenting paths): `agrees[p][t]` says whether
/// predicted `p` may pair with truth `t`; returns the pairs.
pub fn maximum_matching(agrees: &[Vec<bool>]) -> Vec<(usize, usize)> {
    fn augment(
        p: usize,
        agrees: &[Vec<bool>],
        seen: &mut [bool],
        owner_of: &mut [Option<usize>],
    ) -> bool {
        for t in 0..owner_of.len() {
            if agrees[p][t] && !seen[t] {
                seen[t] = true;
                let holder = owner_of[t];
                if holder.is_none_or(|q| augment(q, agrees, seen, owner_of)) {
                    owner_of[t] = Some(p);
                    return true;
                }
            }
        }
        false
    }
    let truths = agrees.first().map_or(0, Vec::len);
    let mut owner_of: Vec<Option<usize>> = vec![None; truths];
    for p in 0..agrees.len() {
        let mut seen = vec![false; truths];
        augment(p, agrees, &mut seen, &mut owner_of);
    }
    let mut pairs: Vec<(usize, usize)> = owner_of
        .iter()
        .enumerate()
        .filter_map(|(t, p)| p.map(|p| (p, t)))
        .collect();
    pairs.sort_unstable();
    pairs
}

fn score(
    agrees: &[Vec<bool>],
    predicted_texts: &[&str],
    truth_texts: &[&str],
    tentative: &[TruthStatement],
) -> ItemScore {
    let matched = maximum_matching(agrees);
    let resembles = |text: &str, others: &[&str]| {
        others
            .iter()
            .any(|other| token_overlap(text, other) >= LOOSE_THRESHOLD)
    };
    let tentative: Vec<&str> = tentative.iter().map(|s| s.text.as_str()).collect();
    let (mut garbled, mut invented, mut from_tentative) = (0, 0, 0);
    for (p, text) in predicted_texts.iter().enumerate() {
        if matched.iter().any(|(q, _)| *q == p) {
            continue;
        }
        if resembles(text, truth_texts) {
            garbled += 1;
        } else {
            invented += 1;
            if resembles(text, &tentative) {
                from_tentative += 1;
            }
        }
    }
    ItemScore {
        counts: Counts {
            true_positives: matched.len(),
            predicted: predicted_texts.len(),
            expected: truth_texts.len(),
        },
        garbled,
        invented,
        from_tentative,
        matched,
    }
}

/// Scores the predicted decisions of one meeting.
pub fn score_decisions(
    predicted: &[PredictedDecision],
    truth: &[TruthDecision],
    tentative: &[TruthStatement],
    rules: MatchRules,
) -> ItemScore {
    let agrees: Vec<Vec<bool>> = predicted
        .iter()
        .map(|p| {
            truth
                .iter()
                .map(|t| token_overlap(&p.decision, &t.text) >= rules.text_threshold)
                .collect()
        })
        .collect();
    let predicted_texts: Vec<&str> = predicted.iter().map(|p| p.decision.as_str()).collect();
    let truth_texts: Vec<&str> = truth.iter().map(|t| t.text.as_str()).collect();
    score(&agrees, &predicted_texts, &truth_texts, tentative)
}

/// Whether `task` still says the due phrase of `truth` (and the truth task does not).
fn carries_due(task: &str, truth: &TruthActionItem) -> bool {
    let Some(due) = truth.due.as_deref() else {
        return false;
    };
    let due = normalise_due(due);
    if due.is_empty() {
        return false;
    }
    let contains =
        |text: &str| format!(" {} ", normalise_words(text).join(" ")).contains(&format!(" {due} "));
    contains(task) && !contains(&truth.task)
}

fn same_task(p: &PredictedActionItem, t: &TruthActionItem, rules: MatchRules) -> bool {
    token_overlap(&p.task, &t.task) >= rules.text_threshold
}

fn same_owner(p: &PredictedActionItem, t: &TruthActionItem) -> bool {
    p.owner
        .as_deref()
        .is_some_and(|owner| normalise_name(owner) == normalise_name(&t.owner))
}

fn same_due(p: &PredictedActionItem, t: &TruthActionItem) -> bool {
    normalise_due(p.due.as_deref().unwrap_or("")) == normalise_due(t.due.as_deref().unwrap_or(""))
}

/// Whether a predicted action item is exactly the truth item (see the module header).
pub fn action_item_agrees(p: &PredictedActionItem, t: &TruthActionItem, rules: MatchRules) -> bool {
    same_owner(p, t)
        && same_task(p, t, rules)
        && !carries_due(&p.task, t)
        && same_due(p, t)
        && (!rules.judge_due_date || p.due_date == t.due_date)
}

/// Scores the predicted action items of one meeting, with the per-field diagnosis.
pub fn score_action_items(
    predicted: &[PredictedActionItem],
    truth: &[TruthActionItem],
    tentative: &[TruthStatement],
    rules: MatchRules,
) -> (ItemScore, FieldAccuracy) {
    let agrees: Vec<Vec<bool>> = predicted
        .iter()
        .map(|p| {
            truth
                .iter()
                .map(|t| action_item_agrees(p, t, rules))
                .collect()
        })
        .collect();
    let predicted_texts: Vec<&str> = predicted.iter().map(|p| p.task.as_str()).collect();
    let truth_texts: Vec<&str> = truth.iter().map(|t| t.task.as_str()).collect();
    let item_score = score(&agrees, &predicted_texts, &truth_texts, tentative);

    let same_tasks: Vec<Vec<bool>> = predicted
        .iter()
        .map(|p| truth.iter().map(|t| same_task(p, t, rules)).collect())
        .collect();
    let mut fields = FieldAccuracy::default();
    for (p, t) in maximum_matching(&same_tasks) {
        let (p, t) = (&predicted[p], &truth[t]);
        fields.task_pairs += 1;
        fields.owner_right += usize::from(same_owner(p, t));
        fields.due_right += usize::from(same_due(p, t));
        fields.due_date_right += usize::from(p.due_date == t.due_date);
        fields.task_carries_due += usize::from(carries_due(&p.task, t));
    }
    (item_score, fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truth_item(
        owner: &str,
        task: &str,
        due: Option<&str>,
        date: Option<&str>,
    ) -> TruthActionItem {
        TruthActionItem {
            owner: owner.to_owned(),
            task: task.to_owned(),
            due: due.map(str::to_owned),
            due_date: date.map(|d| d.parse().expect("date")),
            speaker: owner.to_owned(),
        }
    }

    fn predicted(
        owner: Option<&str>,
        task: &str,
        due: Option<&str>,
        date: Option<&str>,
    ) -> PredictedActionItem {
        PredictedActionItem {
            task: task.to_owned(),
            owner: owner.map(str::to_owned),
            due: due.map(str::to_owned),
            due_date: date.map(|d| d.parse().expect("date")),
            source_time: 0.0,
        }
    }

    #[test]
    fn given_an_item_right_in_every_field_then_it_agrees_up_to_prepositions_and_case() {
        let t = truth_item(
            "Alice",
            "send the budget",
            Some("by Friday"),
            Some("2026-03-13"),
        );
        let p = predicted(
            Some("alice"),
            "Send the budget",
            Some("Friday"),
            Some("2026-03-13"),
        );
        let rules = MatchRules {
            judge_due_date: true,
            ..MatchRules::default()
        };
        assert!(action_item_agrees(&p, &t, rules));
    }

    #[test]
    fn given_the_issue_examples_then_none_of_them_agrees() {
        let t = truth_item(
            "Alice",
            "send the budget",
            Some("by Friday"),
            Some("2026-03-13"),
        );
        let rules = MatchRules::default();
        // The due phrase garbled into the task and no due.
        assert!(!action_item_agrees(
            &predicted(Some("Alice"), "send the budget high Friday", None, None),
            &t,
            rules
        ));
        // Right task and due, owner unassigned.
        assert!(!action_item_agrees(
            &predicted(None, "send the budget", Some("by Friday"), None),
            &t,
            rules
        ));
        // Right owner and task, the due phrase left inside the task as well.
        assert!(!action_item_agrees(
            &predicted(
                Some("Alice"),
                "send the budget by Friday",
                Some("Friday"),
                None
            ),
            &t,
            rules
        ));
        // Wrong date, when dates are judged.
        let judged = MatchRules {
            judge_due_date: true,
            ..rules
        };
        assert!(!action_item_agrees(
            &predicted(
                Some("Alice"),
                "send the budget",
                Some("Friday"),
                Some("2026-03-20")
            ),
            &t,
            judged
        ));
        // The same item without dates judged agrees.
        assert!(action_item_agrees(
            &predicted(
                Some("Alice"),
                "send the budget",
                Some("Friday"),
                Some("2026-03-20")
            ),
            &t,
            rules
        ));
    }

    #[test]
    fn given_a_known_match_set_then_precision_recall_f1_and_invented_follow() {
        // Truth: three items. Predicted: one exact, one with the wrong owner, one invented.
        let truth = [
            truth_item("Alice", "send the budget", Some("by Friday"), None),
            truth_item(
                "Bob",
                "write the migration plan",
                Some("before the next sprint"),
                None,
            ),
            truth_item("Maria", "book the venue", None, None),
        ];
        let predicted_items = [
            predicted(
                Some("Bob"),
                "write the migration plan",
                Some("before the next sprint"),
                None,
            ),
            predicted(Some("Speaker 2"), "book the venue", None, None),
            predicted(Some("Alice"), "switch to weekly releases", None, None),
        ];
        let tentative = [TruthStatement {
            text: "switch to weekly releases".to_owned(),
            speaker: "Bob".to_owned(),
        }];
        let (score, fields) =
            score_action_items(&predicted_items, &truth, &tentative, MatchRules::default());
        assert_eq!(
            score.counts,
            Counts {
                true_positives: 1,
                predicted: 3,
                expected: 3
            }
        );
        assert!((score.counts.f1() - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(score.matched, [(0, 1)]);
        // "book the venue" with the wrong owner is garbled; "switch to weekly releases" is
        // invented, from a tentative statement.
        assert_eq!(
            (score.garbled, score.invented, score.from_tentative),
            (1, 1, 1)
        );
        assert_eq!(
            fields,
            FieldAccuracy {
                task_pairs: 2,
                owner_right: 1,
                due_right: 2,
                due_date_right: 2,
                task_carries_due: 0
            }
        );
    }

    #[test]
    fn given_decisions_with_triggers_and_a_tentative_one_then_only_real_ones_match() {
        let truth = [
            TruthDecision {
                text: "ship the new release on Monday".to_owned(),
                speaker: "Bob".to_owned(),
            },
            TruthDecision {
                text: "go with the annual plan".to_owned(),
                speaker: "Alice".to_owned(),
            },
        ];
        let tentative = [TruthStatement {
            text: "move the stand-up to the afternoon".to_owned(),
            speaker: "Bob".to_owned(),
        }];
        let predicted_decisions = [
            PredictedDecision {
                decision: "We decided to ship the new release on Monday.".to_owned(),
                source_time: 1.0,
            },
            PredictedDecision {
                decision: "Maybe we could move the stand-up to the afternoon.".to_owned(),
                source_time: 2.0,
            },
        ];
        let score = score_decisions(
            &predicted_decisions,
            &truth,
            &tentative,
            MatchRules::default(),
        );
        assert_eq!(
            score.counts,
            Counts {
                true_positives: 1,
                predicted: 2,
                expected: 2
            }
        );
        assert_eq!(
            (score.garbled, score.invented, score.from_tentative),
            (0, 1, 1)
        );
        assert!((score.counts.f1() - 0.5).abs() < 1e-12);
    }

    #[test]
    fn given_competing_pairs_then_the_matching_is_maximum_not_greedy() {
        // p0 agrees with t0 and t1, p1 only with t0: greedy p0→t0 leaves p1 unmatched.
        let agrees = vec![vec![true, true], vec![true, false]];
        assert_eq!(maximum_matching(&agrees), [(0, 1), (1, 0)]);
    }
}
