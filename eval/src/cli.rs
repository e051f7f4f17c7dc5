//! The `eval-notes` command line: which meetings, where the audio and runs go, which `recorder`
//! to run, and how to print the result.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser;

use crate::error::EvalError;
use crate::meeting::Meeting;
use crate::meeting::load_all;
use crate::metrics::items::{DEFAULT_TEXT_THRESHOLD, MatchRules};
use crate::misses::render_misses;
use crate::pipeline::{NotesPipeline, RecorderCli, Resummarized, SavedNotes};
use crate::report::render;
use crate::run::{evaluate, render_all};

/// Scores the offline meeting-notes pipeline on the evaluation set: renders each scripted
/// meeting with espeak-ng (cached), runs `recorder --json process` on it with a fresh data
/// directory, and prints WER, speaker error (DER, 0.25 s collar), and precision/recall/F1 of
/// decisions and of action items (an action item counts only when owner, task and due are all
/// right).
#[derive(Debug, Parser)]
#[command(name = "eval-notes")]
pub struct Args {
    /// The meeting files (a glob); default: every meeting of the set.
    #[arg(long)]
    pub meetings: Option<String>,

    /// Where rendered audio, data directories and reports go; default: target/eval.
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,

    /// The `recorder` binary to run; default: build `recorder-cli` (debug) with cargo first and
    /// run target/debug/recorder.
    #[arg(long)]
    pub recorder: Option<PathBuf>,

    /// More arguments for `recorder process` (repeat the flag for each, e.g.
    /// `--recorder-arg=--model --recorder-arg=base.en`).
    #[arg(long = "recorder-arg", allow_hyphen_values = true)]
    pub recorder_args: Vec<String>,

    /// Whisper threads for `recorder process --threads`.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub threads: u16,

    /// Score the notes of the previous run again without processing (after changing the
    /// ground truth or the metrics).
    #[arg(long)]
    pub rescore: bool,

    /// Summarize the transcripts of the previous run again with this build's offline
    /// summarizer (seconds, no speech recognition), then score: for work on the summary rules.
    #[arg(long, conflicts_with = "rescore")]
    pub resummarize: bool,

    /// Only render the audio (and check the meeting files).
    #[arg(long)]
    pub render_only: bool,

    /// Content-word overlap (Dice, 0–1) at which two tasks or two decisions are the same.
    #[arg(long, default_value_t = DEFAULT_TEXT_THRESHOLD, value_parser = unit_interval)]
    pub text_threshold: f64,

    /// After the table, list per meeting every expected decision and action item that was
    /// missed, classified by why (not recognised, task text, owner, due, dueDate), and every
    /// prediction that matched nothing (garbled or invented), with what was heard.
    #[arg(long, conflicts_with = "json")]
    pub misses: bool,

    /// Print one JSON document (every score, and what the pipeline said) instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// `--text-threshold`: a finite number in 0–1.
fn unit_interval(raw: &str) -> Result<f64, String> {
    raw.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| (0.0..=1.0).contains(v))
        .ok_or_else(|| format!("{raw:?} is not a number from 0 to 1"))
}

/// The workspace this crate belongs to.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The cargo target directory (`CARGO_TARGET_DIR` or `target/` in the workspace).
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| root.join("target"), PathBuf::from)
}

/// Builds the `recorder` binary with the cargo that runs us (or `cargo`).
fn build_recorder(root: &Path) -> Result<PathBuf, EvalError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("eval-notes: cargo build -p recorder-cli --bin recorder");
    let status = Command::new(&cargo)
        .args(["build", "-q", "-p", "recorder-cli", "--bin", "recorder"])
        .current_dir(root)
        .status()
        .map_err(|source| EvalError::ToolMissing {
            tool: "cargo".to_owned(),
            source,
        })?;
    if !status.success() {
        return Err(EvalError::ToolFailed {
            tool: "cargo build -p recorder-cli".to_owned(),
            detail: format!("exit {status}"),
        });
    }
    Ok(target_dir(root).join("debug").join("recorder"))
}

/// Runs the command; returns what to print on stdout (progress goes to stderr).
///
/// # Errors
/// A bad pattern, a broken meeting file, a rendering failure, or a recorder that cannot be
/// built. A meeting the recorder fails on is scored, not an error.
pub fn run(args: &Args) -> Result<String, EvalError> {
    let root = workspace_root();
    let pattern = args.meetings.clone().unwrap_or_else(|| {
        root.join("eval")
            .join("meetings")
            .join("*.json")
            .to_string_lossy()
            .into_owned()
    });
    let cache = args
        .cache_dir
        .clone()
        .unwrap_or_else(|| target_dir(&root).join("eval"));
    let audio_dir = cache.join("audio");
    let runs_dir = cache.join("runs");
    let meetings = load_all(&pattern)?;
    let mut progress = |line: &str| eprintln!("eval-notes: {line}");
    if args.render_only {
        let rendered = render_all(&meetings, &audio_dir, &mut progress)?;
        let total: f64 = rendered.iter().map(|r| r.duration_seconds).sum();
        return Ok(format!(
            "{} meetings rendered, {:.1} min of audio, in {}\n",
            rendered.len(),
            total / 60.0,
            audio_dir.display()
        ));
    }
    let pipeline: Box<dyn NotesPipeline> = if args.rescore {
        Box::new(SavedNotes { work_dir: runs_dir })
    } else if args.resummarize {
        Box::new(Resummarized { work_dir: runs_dir })
    } else {
        let binary = match &args.recorder {
            Some(path) => path.clone(),
            None => build_recorder(&root)?,
        };
        Box::new(RecorderCli {
            binary,
            work_dir: runs_dir,
            threads: usize::from(args.threads),
            extra_args: args.recorder_args.clone(),
        })
    };
    let report = evaluate(
        &meetings,
        &audio_dir,
        pipeline.as_ref(),
        args.text_threshold,
        &mut progress,
    )?;
    if args.json {
        serde_json::to_string_pretty(&report)
            .map(|text| text + "\n")
            .map_err(|source| EvalError::Json {
                path: PathBuf::from("<stdout>"),
                source,
            })
    } else if args.misses {
        let rules = MatchRules {
            text_threshold: args.text_threshold,
            judge_due_date: report.totals.due_dates_judged,
        };
        let truths: Vec<&Meeting> = meetings.iter().map(|(_, m)| m).collect();
        Ok(render(&report) + "\n" + &render_misses(&truths, &report.meetings, rules))
    } else {
        Ok(render(&report))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::Args;

    #[test]
    fn given_a_threshold_outside_zero_to_one_then_the_command_line_is_refused() {
        for bad in ["1.5", "-0.1", "NaN", "x"] {
            let parsed = Args::try_parse_from(["eval-notes", "--text-threshold", bad]);
            assert!(parsed.is_err(), "{bad} accepted");
        }
        let parsed = Args::try_parse_from(["eval-notes", "--text-threshold", "0.5"]).expect("0.5");
        assert!((parsed.text_threshold - 0.5).abs() < 1e-12);
    }
}
