//! What `eval-notes` prints: a line per meeting and the totals as a table, or everything as one
//! JSON document (`--json`).

use std::fmt::Write as _;

use serde::Serialize;

use crate::metrics::Counts;
use crate::metrics::items::MatchRules;
use crate::scoring::{MeetingScore, Totals};

/// The whole run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    /// Task/decision overlap threshold used.
    pub text_threshold: f64,
    /// DER collar, seconds.
    pub collar_seconds: f64,
    /// Per meeting.
    pub meetings: Vec<MeetingScore>,
    /// Added up.
    pub totals: Totals,
}

impl RunReport {
    /// Builds the report of a run.
    pub fn new(meetings: Vec<MeetingScore>, rules: MatchRules) -> Self {
        let totals = crate::scoring::totals(&meetings, rules.judge_due_date);
        Self {
            text_threshold: rules.text_threshold,
            collar_seconds: crate::metrics::der::COLLAR_SECONDS,
            meetings,
            totals,
        }
    }
}

fn pct(value: f64) -> String {
    format!("{:5.1}%", value * 100.0)
}

/// The human-readable report.
pub fn render(report: &RunReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<28} {:>3} {:>6} {:>6} {:>6} {:>6} {:>6} {:>5} {:>11} {:>11} {:>4}",
        "meeting",
        "spk",
        "audio",
        "wall",
        "WER",
        "DER",
        "cover",
        "lbls",
        "decisions",
        "actions",
        "inv"
    );
    for m in &report.meetings {
        let _ = writeln!(
            out,
            "{:<28} {:>3} {:>5.0}s {:>5.0}s {} {} {} {:>5} {:>11} {:>11} {:>4}",
            truncate(&m.id, 28),
            m.voices,
            m.audio_seconds,
            m.wall_seconds,
            pct(m.words.rate()),
            pct(m.speakers.der()),
            pct(m.speakers.coverage()),
            m.speaker_labels,
            format!(
                "{}/{}/{}",
                m.decisions.counts.true_positives,
                m.decisions.counts.predicted,
                m.decisions.counts.expected
            ),
            format!(
                "{}/{}/{}",
                m.action_items.counts.true_positives,
                m.action_items.counts.predicted,
                m.action_items.counts.expected
            ),
            m.decisions.invented + m.action_items.invented,
        );
        if let Some(error) = &m.error {
            let _ = writeln!(out, "    error: {error}");
        }
    }
    let t = &report.totals;
    let _ = writeln!(
        out,
        "(decisions, actions: matched/predicted/expected; cover: turn coverage; lbls: speaker labels; inv: invented)\n"
    );
    let _ = writeln!(
        out,
        "Overall, {} meetings ({} failed), {:.1} min of audio in {:.1} min (real-time factor {:.2}):",
        t.meetings,
        t.failed,
        t.audio_seconds / 60.0,
        t.wall_seconds / 60.0,
        if t.audio_seconds > 0.0 {
            t.wall_seconds / t.audio_seconds
        } else {
            0.0
        }
    );
    let w = &t.words;
    let _ = writeln!(
        out,
        "  WER                 {} ({} substitutions, {} deletions, {} insertions / {} words)",
        pct(w.rate()),
        w.substitutions,
        w.deletions,
        w.insertions,
        w.reference_words
    );
    let s = &t.speakers;
    let _ = writeln!(
        out,
        "  speaker error (DER) {} (missed {:.0} s, false alarm {:.0} s, confusion {:.0} s / {:.0} s; collar {} s)",
        pct(s.der()),
        s.missed,
        s.false_alarm,
        s.confusion,
        s.scored_speech,
        report.collar_seconds
    );
    let _ = writeln!(
        out,
        "  turn purity {}, turn coverage {}",
        pct(s.purity()),
        pct(s.coverage())
    );
    item_line(
        &mut out,
        "decisions",
        &t.decisions,
        [
            t.garbled_decisions,
            t.invented_decisions,
            t.tentative_as_decisions,
        ],
    );
    let a = &t.action_items;
    item_line(
        &mut out,
        "action items",
        a,
        [
            t.garbled_action_items,
            t.invented_action_items,
            t.tentative_as_action_items,
        ],
    );
    let f = &t.action_item_fields;
    let _ = writeln!(
        out,
        "  action items with the right task: {} of {} expected; of those, owner right {}, due right {}{}, due left in the task {}",
        f.task_pairs,
        a.expected,
        f.owner_right,
        f.due_right,
        if t.due_dates_judged {
            format!(", dueDate right {}", f.due_date_right)
        } else {
            String::new()
        },
        f.task_carries_due
    );
    let _ = writeln!(
        out,
        "  (an action item counts when owner, task (content-word overlap ≥ {}), due phrase{} are right; dueDate {})",
        report.text_threshold,
        if t.due_dates_judged {
            " and dueDate"
        } else {
            ""
        },
        if t.due_dates_judged {
            "judged: the summaries carry it"
        } else {
            "not judged: no summary carries it"
        }
    );
    out
}

/// One overall line of decisions or action items: precision, recall, F1, the counts, and the
/// unmatched predictions (`[garbled, invented, of which tentative]`).
fn item_line(out: &mut String, label: &str, counts: &Counts, unmatched: [usize; 3]) {
    let [garbled, invented, tentative] = unmatched;
    let _ = writeln!(
        out,
        "  {label:<19} P {} R {} F1 {:.3}  ({}/{}/{}; unmatched: garbled {garbled}, invented {invented}, of which tentative {tentative})",
        pct(counts.precision()),
        pct(counts.recall()),
        counts.f1(),
        counts.true_positives,
        counts.predicted,
        counts.expected,
    );
}

fn truncate(text: &str, width: usize) -> String {
    text.chars().take(width).collect()
}
