//! End-to-end tests of `recorder process`: the real binary, the local backend, FFmpeg, the
//! offline Whisper model and the extractive summarizer, on recordings rendered with espeak-ng.
//!
//! Needs `scripts/setup.sh apt models` (ffmpeg, espeak-ng, sox and the verified tiny.en model);
//! a missing tool or model fails the test with a message naming the set-up command.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use recorder_testkit::media::{MEETING_SCRIPT, corrupt_chunk, make_recording, render_script};
use serde_json::Value;

fn require_model() {
    if let Err(e) = model_present() {
        panic!("the offline Whisper model is not set up ({e}); run `scripts/setup.sh models`");
    }
}

fn model_present() -> Result<(), String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cache = std::env::var_os("MEETING_RECORDER_CACHE")
        .map_or_else(|| root.join(".cache"), PathBuf::from);
    let model = cache.join("models").join("ggml-tiny.en.bin");
    if std::env::var_os("WHISPER_MODEL_PATH").is_some() || model.is_file() {
        Ok(())
    } else {
        Err(format!("{} does not exist", model.display()))
    }
}

/// Runs `recorder --json --data-dir DATA ARGS…`.
fn recorder(data: &Path, args: &[&str]) -> Output {
    recorder_command(data, args)
        .output()
        .expect("the recorder binary runs")
}

fn recorder_command(data: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_recorder"));
    command.arg("--json").arg("--data-dir").arg(data).args(args);
    command
}

/// `recorder ARGS…` in a new network namespace, which has no interface but a loopback that is
/// down: proof that processing needs no network. `unshare -rn` makes one as root and, where user
/// namespaces are enabled, as any user; where neither works the command runs as it is and says so.
fn recorder_offline(data: &Path, args: &[&str]) -> Output {
    let probe = Command::new("unshare")
        .args(["-rn", "cat", "/proc/net/dev"])
        .output();
    let Some(interfaces) = probe
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    else {
        eprintln!("cannot create a network namespace (unshare -rn); running with the network");
        return recorder(data, args);
    };
    let names: Vec<&str> = interfaces
        .lines()
        .skip(2)
        .filter_map(|line| line.split(':').next().map(str::trim))
        .collect();
    assert_eq!(names, ["lo"], "the namespace has other interfaces");
    let inner = recorder_command(data, args);
    Command::new("unshare")
        .args(["-rn", "--"])
        .arg(inner.get_program())
        .args(inner.get_args())
        .output()
        .expect("unshare runs the recorder binary")
}

fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}); stdout: {}; stderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn lower(value: &Value) -> String {
    value.to_string().to_lowercase()
}

/// The sample meeting processed once, offline, and shared by the tests that read its report (Whisper is
/// the slow part: about 10 s on 2 cores).
fn sample_report() -> &'static Value {
    static REPORT: std::sync::OnceLock<(tempfile::TempDir, Value)> = std::sync::OnceLock::new();
    &REPORT
        .get_or_init(|| {
            require_model();
            let dir = tempfile::tempdir().unwrap();
            let wav = render_script(dir.path(), MEETING_SCRIPT);
            let data = dir.path().join("data");
            let output = recorder_offline(
                &data,
                &[
                    "process",
                    wav.to_str().unwrap(),
                    "--recording",
                    "sample",
                    // A WAV carries no creation time: say when the meeting was (a Tuesday).
                    "--recorded-at",
                    "2026-03-10T10:00:00+01:00",
                ],
            );
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                output.status.success(),
                "exit {:?}: {stderr}",
                output.status
            );
            let report = stdout_json(&output);
            (dir, report)
        })
        .1
}

#[test]
fn given_the_sample_meeting_when_processed_offline_then_it_completes_with_two_speakers_and_every_output()
 {
    let report = sample_report();

    assert_eq!(report["record"]["status"], "completed", "{report}");
    let transcript = &report["transcript"];
    assert_eq!(
        transcript["speakers"].as_array().map(Vec::len),
        Some(2),
        "{transcript}"
    );
    let text = lower(&transcript["segments"]);
    for word in ["budget", "friday", "release", "monday", "documentation"] {
        assert!(text.contains(word), "{word:?} missing from {text}");
    }
    let files: Vec<String> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_owned())
        .collect();
    for name in [
        "recording.mp4",
        "audio.flac",
        "transcript.json",
        "summary.json",
    ] {
        let file = files.iter().find(|f| f.ends_with(name));
        assert!(
            file.is_some_and(|f| Path::new(f).is_file()),
            "{name} not written: {files:?}"
        );
    }
}

#[test]
fn given_the_sample_meeting_when_processed_offline_then_the_action_items_have_their_owners() {
    let report = sample_report();

    let actions = report["summary"]["actionItems"]
        .as_array()
        .expect("action items");
    let owners: Vec<String> = actions.iter().map(|a| lower(&a["owner"])).collect();
    assert!(owners.iter().any(|o| o.contains("alice")), "{actions:?}");
    assert!(owners.iter().any(|o| o.contains("bob")), "{actions:?}");
    // "Alice will send the budget by Friday", said on Tuesday 10 March: due Friday the 13th.
    let budget = actions
        .iter()
        .find(|a| lower(&a["task"]).contains("budget"))
        .unwrap_or_else(|| panic!("no budget item: {actions:?}"));
    assert_eq!(budget["due"], "by Friday", "{budget}");
    assert_eq!(budget["dueDate"], "2026-03-13", "{budget}");
    assert_eq!(
        report["summary"]["recordedAt"], "2026-03-10T10:00:00+01:00",
        "{}",
        report["summary"]
    );
}

#[test]
fn given_the_sample_meeting_when_processed_offline_then_the_decision_to_ship_on_monday_is_found() {
    let report = sample_report();

    let decisions = lower(&report["summary"]["decisions"]);
    assert!(
        decisions.contains("ship") && decisions.contains("monday"),
        "the decision to ship on Monday is missing: {decisions}; transcript: {}",
        report["transcript"]["segments"]
    );
}

/// Chunks of a short two-line meeting in `dir/chunks` (3 s each).
fn short_recording(dir: &Path) -> PathBuf {
    let chunks = dir.join("chunks");
    std::fs::create_dir_all(&chunks).unwrap();
    let files = make_recording(&chunks, &MEETING_SCRIPT[..2], 3.0);
    assert!(files.len() >= 3, "expected at least 3 chunks: {files:?}");
    for entry in std::fs::read_dir(&chunks).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "wav") {
            std::fs::remove_file(path).unwrap();
        }
    }
    chunks
}

#[test]
fn given_a_folder_with_a_gap_when_processed_then_the_recording_is_incomplete_naming_the_missing_index()
 {
    require_model();
    let dir = tempfile::tempdir().unwrap();
    let chunks = short_recording(dir.path());
    std::fs::remove_file(chunks.join("chunk_001.mp4")).unwrap();
    let data = dir.path().join("data");

    let output = recorder(
        &data,
        &[
            "process",
            chunks.to_str().unwrap(),
            "--recording",
            "gap",
            "--grace-seconds",
            "1",
        ],
    );

    assert_eq!(output.status.code(), Some(1));
    let report = stdout_json(&output);
    assert_eq!(report["record"]["status"], "incomplete_chunks", "{report}");
    assert_eq!(report["record"]["missingChunks"], serde_json::json!([1]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("incomplete_chunks") && stderr.contains("[1]"),
        "{stderr}"
    );
    let status = recorder(&data, &["status", "gap"]);
    assert!(status.status.success());
    assert_eq!(stdout_json(&status)["status"], "incomplete_chunks");
}

#[test]
fn given_a_corrupt_chunk_when_processed_then_the_recording_fails_with_the_index_in_the_cause() {
    require_model();
    let dir = tempfile::tempdir().unwrap();
    let chunks = short_recording(dir.path());
    corrupt_chunk(&chunks, "chunk_001.mp4");
    let data = dir.path().join("data");

    let output = recorder(
        &data,
        &[
            "process",
            chunks.to_str().unwrap(),
            "--recording",
            "corrupt",
        ],
    );

    assert_eq!(output.status.code(), Some(1));
    let report = stdout_json(&output);
    let record = &report["record"];
    assert_eq!(record["status"], "processing_failed", "{report}");
    assert_eq!(record["error"], "Media.ChunkInvalid", "{report}");
    let cause = record["cause"].as_str().unwrap_or_default();
    assert!(
        cause.contains("chunk 1 "),
        "the cause must name chunk 1: {cause}"
    );
    assert!(
        report.get("summary").is_none(),
        "no summary for a failed recording"
    );
}

#[test]
fn given_a_recording_without_speech_when_processed_then_it_completes_with_a_no_speech_summary() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let silence = dir.path().join("silence.m4a");
    let encoded = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .args(["anullsrc=r=48000:cl=mono", "-t", "12", "-c:a", "aac"])
        .arg(&silence)
        .status()
        .expect("ffmpeg runs (scripts/setup.sh apt)");
    assert!(encoded.success());

    let output = recorder(
        &data,
        &["process", silence.to_str().unwrap(), "--recording", "quiet"],
    );

    // Silence is a normal outcome: completed, exit 0, never presented as a failure.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        !stderr.lines().any(|l| l.starts_with("error:")),
        "silence is not reported as an error: {stderr}"
    );
    let report = stdout_json(&output);
    assert_eq!(report["record"]["status"], "completed", "{report}");
    assert!(report["record"]["error"].is_null(), "{report}");
    let transcript = &report["transcript"];
    assert_eq!(
        transcript["segments"].as_array().map(Vec::len),
        Some(0),
        "an empty transcript: {transcript}"
    );
    let summary = &report["summary"];
    assert_eq!(
        summary["summary"], "No speech was found in this recording.",
        "{report}"
    );
    assert_eq!(summary["actionItems"], serde_json::json!([]), "{summary}");
    assert_eq!(summary["decisions"], serde_json::json!([]), "{summary}");
    let markdown = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .find(|f| f.ends_with("summary.md"))
        .map(|f| std::fs::read_to_string(f).unwrap())
        .expect("summary.md is written");
    assert!(
        markdown.contains("No speech was found in this recording."),
        "{markdown}"
    );
}

#[test]
fn given_bad_input_when_processed_then_one_line_is_printed_and_the_exit_code_is_not_zero() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let not_media = dir.path().join("notes.mp4");
    std::fs::write(&not_media, b"just some text").unwrap();
    for input in [dir.path().join("missing.mp4"), not_media] {
        let output = recorder(&data, &["process", input.to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(2), "{input:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(output.stdout.is_empty());
    }
}
