//! `eval-notes --misses`: per meeting, every expected decision and action item the notes did
//! not get right, classified by why, and every prediction that matched nothing, with the
//! recognised sentence the expected item was most likely said in. For work on the summary rules.
//!
//! Why an expected action item was missed, from the prediction whose task is closest to it:
//! - `not recognised`: no prediction shares [`LOOSE_THRESHOLD`] of its content words;
//! - `task text`: the closest prediction overlaps loosely but not by the match threshold;
//! - `owner`, `due`, `dueDate`, `due in task`: the task matches but that field is wrong.
//!
//! Several reasons may apply to one item (task and owner wrong); all are listed, and the totals
//! count each.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::meeting::{Meeting, TruthActionItem};
use crate::metrics::items::{LOOSE_THRESHOLD, MatchRules, PredictedActionItem};
use crate::pipeline::HeardLine;
use crate::scoring::MeetingScore;
use crate::text::{content_tokens, normalise_due, normalise_name, normalise_words, token_overlap};

/// The share of `wanted`'s content words found in `text` (0–1).
fn containment(wanted: &str, text: &str) -> f64 {
    let wanted = content_tokens(wanted);
    if wanted.is_empty() {
        return 0.0;
    }
    let have = content_tokens(text);
    let found = wanted.iter().filter(|w| have.contains(w)).count();
    found as f64 / wanted.len() as f64
}

/// The recognised line that holds most of `wanted`, with the one after it (a sentence split
/// over two segments).
fn heard_near<'a>(wanted: &str, heard: &'a [HeardLine]) -> Option<(&'a HeardLine, f64)> {
    heard
        .iter()
        .map(|line| (line, containment(wanted, &line.text)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .filter(|(_, share)| *share > 0.0)
}

fn heard_text(wanted: &str, heard: &[HeardLine]) -> String {
    heard_near(wanted, heard).map_or_else(
        || "        heard: nothing like it".to_owned(),
        |(line, share)| {
            format!(
                "        heard ({:.0}% of its words) [{} @ {:.1}s]: {}",
                share * 100.0,
                line.speaker,
                line.start,
                line.text
            )
        },
    )
}

/// The reasons a task-paired prediction `p` is not the truth item `t`.
fn field_reasons(p: &PredictedActionItem, t: &TruthActionItem, rules: MatchRules) -> Vec<String> {
    let mut reasons = Vec::new();
    let owner_right = p
        .owner
        .as_deref()
        .is_some_and(|o| normalise_name(o) == normalise_name(&t.owner));
    if !owner_right {
        reasons.push(format!(
            "owner ({} for {})",
            p.owner.as_deref().unwrap_or("none"),
            t.owner
        ));
    }
    let due_p = normalise_due(p.due.as_deref().unwrap_or(""));
    let due_t = normalise_due(t.due.as_deref().unwrap_or(""));
    if due_p != due_t {
        reasons.push(format!(
            "due ({:?} for {:?})",
            p.due.as_deref().unwrap_or("none"),
            t.due.as_deref().unwrap_or("none")
        ));
    } else if rules.judge_due_date && p.due_date != t.due_date {
        reasons.push(format!("dueDate ({:?} for {:?})", p.due_date, t.due_date));
    }
    if !due_t.is_empty() {
        let contains = |text: &str| {
            format!(" {} ", normalise_words(text).join(" ")).contains(&format!(" {due_t} "))
        };
        if contains(&p.task) && !contains(&t.task) {
            reasons.push("due in task".to_owned());
        }
    }
    reasons
}

fn describe(p: &PredictedActionItem) -> String {
    format!(
        "{}: {:?} due {:?}{}",
        p.owner.as_deref().unwrap_or("(no owner)"),
        p.task,
        p.due.as_deref().unwrap_or("none"),
        p.due_date.map(|d| format!(" ({d})")).unwrap_or_default()
    )
}

/// Counts of reasons, added up over meetings.
pub type ReasonCounts = BTreeMap<String, usize>;

/// The misses of one meeting; adds the reasons to `totals`.
pub fn meeting_misses(
    meeting: &Meeting,
    score: &MeetingScore,
    rules: MatchRules,
    totals: &mut ReasonCounts,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "== {} ({})", meeting.id, meeting.title);
    if let Some(names) = &score.names {
        let (by_label, mentioned) = (&names.by_label, &names.mentioned);
        let labels: Vec<String> = by_label.iter().map(|(l, n)| format!("{l} = {n}")).collect();
        let voices: Vec<&str> = meeting.voices.iter().map(|v| v.name.as_str()).collect();
        let _ = writeln!(
            out,
            "  names: {} | heard used: {} | voices: {}",
            if labels.is_empty() {
                "none".to_owned()
            } else {
                labels.join(", ")
            },
            mentioned.join(", "),
            voices.join(", ")
        );
    }
    let mut count = |reason: &str| *totals.entry(reason.to_owned()).or_default() += 1;

    // Decisions.
    let matched_truth: Vec<usize> = score.decisions.matched.iter().map(|(_, t)| *t).collect();
    let matched_pred: Vec<usize> = score.decisions.matched.iter().map(|(p, _)| *p).collect();
    for (t, truth) in meeting.truth.decisions.iter().enumerate() {
        if matched_truth.contains(&t) {
            continue;
        }
        count("decision missed");
        let nearest = score
            .predicted_decisions
            .iter()
            .map(|p| (p, token_overlap(&p.decision, &truth.text)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        let _ = writeln!(
            out,
            "  decision MISSED ({}): {:?}",
            truth.speaker, truth.text
        );
        if let Some((p, overlap)) = nearest.filter(|(_, o)| *o > 0.0) {
            let _ = writeln!(out, "        nearest ({overlap:.2}): {:?}", p.decision);
        }
        let _ = writeln!(out, "{}", heard_text(&truth.text, &score.heard));
    }
    for (p, predicted) in score.predicted_decisions.iter().enumerate() {
        if matched_pred.contains(&p) {
            continue;
        }
        let nearest = meeting
            .truth
            .decisions
            .iter()
            .map(|t| (t, token_overlap(&predicted.decision, &t.text)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        let garbled = nearest.is_some_and(|(_, o)| o >= LOOSE_THRESHOLD);
        let kind = if garbled { "garbled" } else { "invented" };
        count(&format!("decision {kind}"));
        let _ = writeln!(
            out,
            "  decision {} @ {:.1}s: {:?}",
            kind.to_uppercase(),
            predicted.source_time,
            predicted.decision
        );
        if let Some((t, overlap)) = nearest.filter(|(_, o)| *o > 0.0) {
            let _ = writeln!(out, "        nearest truth ({overlap:.2}): {:?}", t.text);
        }
    }

    // Action items.
    let matched_truth: Vec<usize> = score.action_items.matched.iter().map(|(_, t)| *t).collect();
    let matched_pred: Vec<usize> = score.action_items.matched.iter().map(|(p, _)| *p).collect();
    for (t, truth) in meeting.truth.action_items.iter().enumerate() {
        if matched_truth.contains(&t) {
            continue;
        }
        let nearest = score
            .predicted_action_items
            .iter()
            .enumerate()
            .filter(|(p, _)| !matched_pred.contains(p))
            .map(|(_, p)| (p, token_overlap(&p.task, &truth.task)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        let mut reasons = Vec::new();
        match nearest {
            Some((p, overlap)) if overlap >= rules.text_threshold => {
                reasons.extend(field_reasons(p, truth, rules));
            }
            Some((p, overlap)) if overlap >= LOOSE_THRESHOLD => {
                reasons.push(format!("task text ({overlap:.2})"));
                reasons.extend(field_reasons(p, truth, rules));
            }
            _ => reasons.push("not recognised".to_owned()),
        }
        for reason in &reasons {
            let key = reason.split(" (").next().unwrap_or(reason);
            count(&format!("action item: {key}"));
        }
        let _ = writeln!(
            out,
            "  action MISSED [{}] {}: {:?} due {:?} (said by {})",
            reasons.join("; "),
            truth.owner,
            truth.task,
            truth.due.as_deref().unwrap_or("none"),
            truth.speaker
        );
        if let Some((p, overlap)) = nearest.filter(|(_, o)| *o > 0.0) {
            let _ = writeln!(out, "        nearest ({overlap:.2}) {}", describe(p));
        }
        let _ = writeln!(out, "{}", heard_text(&truth.task, &score.heard));
    }
    for (p, predicted) in score.predicted_action_items.iter().enumerate() {
        if matched_pred.contains(&p) {
            continue;
        }
        let nearest = meeting
            .truth
            .action_items
            .iter()
            .map(|t| (t, token_overlap(&predicted.task, &t.task)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        let garbled = nearest.is_some_and(|(_, o)| o >= LOOSE_THRESHOLD);
        let kind = if garbled { "garbled" } else { "invented" };
        count(&format!("action item predicted {kind}"));
        let _ = writeln!(
            out,
            "  action {} @ {:.1}s {}",
            kind.to_uppercase(),
            predicted.source_time,
            describe(predicted)
        );
        if !garbled {
            let heard = score
                .heard
                .iter()
                .rfind(|l| l.start <= predicted.source_time + 0.05);
            if let Some(line) = heard {
                let _ = writeln!(out, "        heard [{}]: {}", line.speaker, line.text);
            }
        }
    }
    out
}

/// The misses of every meeting, then the reasons added up.
pub fn render_misses(meetings: &[&Meeting], scores: &[MeetingScore], rules: MatchRules) -> String {
    let mut totals = ReasonCounts::new();
    let mut out = String::new();
    for (meeting, score) in meetings.iter().zip(scores) {
        out.push_str(&meeting_misses(meeting, score, rules, &mut totals));
    }
    let _ = writeln!(out, "\nReasons (an item may have several):");
    for (reason, n) in &totals {
        let _ = writeln!(out, "  {n:>3}  {reason}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_task_with_its_words_in_a_line_then_that_line_is_the_one_heard() {
        let heard = [
            HeardLine {
                speaker: "Speaker 1".to_owned(),
                start: 0.0,
                text: "Good morning everyone.".to_owned(),
            },
            HeardLine {
                speaker: "Speaker 2".to_owned(),
                start: 3.0,
                text: "I will send the budget by Friday.".to_owned(),
            },
        ];
        let (line, share) = heard_near("send the budget", &heard).expect("a line");
        assert_eq!(line.start, 3.0);
        assert!((share - 1.0).abs() < 1e-12);
    }

    #[test]
    fn given_a_paired_prediction_with_the_wrong_owner_and_due_then_both_reasons_are_given() {
        let truth = TruthActionItem {
            owner: "Alice".to_owned(),
            task: "send the budget".to_owned(),
            due: Some("by Friday".to_owned()),
            due_date: None,
            speaker: "Alice".to_owned(),
        };
        let predicted = PredictedActionItem {
            task: "send the budget".to_owned(),
            owner: Some("Bob".to_owned()),
            due: None,
            due_date: None,
            source_time: 0.0,
        };
        let reasons = field_reasons(&predicted, &truth, MatchRules::default());
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert!(reasons[0].starts_with("owner"));
        assert!(reasons[1].starts_with("due"));
    }
}
