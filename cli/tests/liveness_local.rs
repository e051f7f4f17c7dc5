//! No recording is ever stuck on one machine: the real `recorder` binary interrupted, run twice
//! on one data directory, run again after a gap is filled or a rejected chunk replaced, and given
//! inputs a new user gets wrong.
//!
//! Needs `scripts/setup.sh apt models` (ffmpeg, espeak-ng, sox and the verified tiny.en model);
//! a missing tool or model fails the test with a message naming the set-up command. No sleeps:
//! every wait is for a line the binary prints or for its exit.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use recorder_testkit::media::{
    MEETING_SCRIPT, corrupt_chunk, make_recording, render_script, zero_byte_chunk,
};
use serde_json::Value;

/// Bound on each wait for a line; generous for a loaded 2-core CI machine.
const WAIT: Duration = Duration::from_secs(300);

fn require_model() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cache = std::env::var_os("MEETING_RECORDER_CACHE")
        .map_or_else(|| root.join(".cache"), PathBuf::from);
    let model = cache.join("models").join("ggml-tiny.en.bin");
    assert!(
        std::env::var_os("WHISPER_MODEL_PATH").is_some() || model.is_file(),
        "the offline Whisper model is not set up ({} does not exist); run `scripts/setup.sh models`",
        model.display()
    );
}

fn recorder_command(data: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_recorder"));
    command
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .stdin(Stdio::null());
    command
}

/// Runs `recorder --data-dir DATA ARGS…` to its end.
fn recorder(data: &Path, args: &[&str]) -> Output {
    recorder_command(data, args)
        .output()
        .expect("the recorder binary runs")
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}); stdout: {}; stderr: {}",
            String::from_utf8_lossy(&output.stdout),
            stderr_of(output)
        )
    })
}

/// A running `recorder`, killed when the test ends however it ends, whose stderr is collected
/// line by line.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Running {
    fn start(data: &Path, args: &[&str]) -> Self {
        let mut child = recorder_command(data, args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("recorder starts");
        let (tx, lines) = mpsc::channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("stderr is piped");
        let collected = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                collected.lock().expect("log lock").push(line.clone());
                let _ = tx.send(line);
            }
        });
        Self { child, lines, log }
    }

    fn text(&self) -> String {
        self.log.lock().expect("log lock").join("\n")
    }

    /// Waits for a stderr line containing `needle`.
    fn wait_for_line(&self, needle: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            match self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) if line.contains(needle) => return,
                Ok(_) => {}
                Err(_) => panic!("no line with {needle:?}; stderr so far:\n{}", self.text()),
            }
        }
    }

    fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -{name} failed");
    }

    /// Waits for the exit (and the end of stderr) and returns the exit code.
    fn exit_code(&mut self) -> Option<i32> {
        let status = self.child.wait().expect("recorder is reaped");
        // The reader thread ends at EOF; drain what it still sends.
        while self.lines.recv_timeout(WAIT).is_ok() {}
        status.code()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The sample meeting played four times (≈ 90 s): long enough that its transcription is still
/// running when the test interrupts it.
fn long_meeting(dir: &Path) -> PathBuf {
    let once = render_script(dir, MEETING_SCRIPT);
    let long = dir.join("long-meeting.wav");
    let encoded = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-stream_loop", "3", "-i"])
        .arg(&once)
        .args(["-c", "copy"])
        .arg(&long)
        .status()
        .expect("ffmpeg runs (scripts/setup.sh apt)");
    assert!(encoded.success());
    long
}

/// Chunks of a short two-line meeting in `dir/chunks` (2 s each, at least 4 of them).
fn short_recording(dir: &Path) -> PathBuf {
    let chunks = dir.join("chunks");
    std::fs::create_dir_all(&chunks).unwrap();
    let files = make_recording(&chunks, &MEETING_SCRIPT[..2], 2.0);
    assert!(files.len() >= 4, "expected at least 4 chunks: {files:?}");
    for entry in std::fs::read_dir(&chunks).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "mp4") {
            std::fs::remove_file(path).unwrap();
        }
    }
    chunks
}

fn files_named(report: &Value, name: &str) -> usize {
    report["files"].as_array().map_or(0, |files| {
        files
            .iter()
            .filter(|f| f.as_str().is_some_and(|f| f.ends_with(name)))
            .count()
    })
}

#[test]
fn given_process_running_when_a_second_process_or_reprocess_starts_on_its_data_directory_then_it_exits_3_naming_the_holder_and_status_still_works()
 {
    require_model();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let meeting = long_meeting(dir.path());
    let chunks = short_recording(dir.path());
    let mut first = Running::start(
        &data,
        &[
            "process",
            meeting.to_str().unwrap(),
            "--recording",
            "first",
            "--threads",
            "1",
        ],
    );
    first.wait_for_line("transcribing");

    let second = recorder(
        &data,
        &["process", chunks.to_str().unwrap(), "--recording", "second"],
    );
    let reprocess = recorder(&data, &["reprocess", "first"]);
    let status = recorder(&data, &["--json", "status", "first"]);
    let list = recorder(&data, &["status"]);
    first.signal("TERM");
    let code = first.exit_code();

    for (what, output) in [("process", &second), ("reprocess", &reprocess)] {
        assert_eq!(
            output.status.code(),
            Some(3),
            "{what}: {}",
            stderr_of(output)
        );
        let stderr = stderr_of(output);
        assert_eq!(stderr.trim().lines().count(), 1, "{what}: {stderr}");
        for needle in [
            data.to_str().unwrap(),
            &format!("pid {}", first.child.id()),
            "process",
            "--recording first",
            "--data-dir",
            "stop it",
        ] {
            assert!(
                stderr.contains(needle),
                "{what}: {needle:?} not in {stderr}"
            );
        }
    }
    assert!(status.status.success(), "{}", stderr_of(&status));
    assert_eq!(stdout_json(&status)["status"], "processing");
    assert!(list.status.success(), "{}", stderr_of(&list));
    assert_eq!(code, Some(143), "SIGTERM exits 143:\n{}", first.text());
}

#[test]
fn given_process_interrupted_mid_transcription_when_the_same_command_runs_again_then_it_exits_130_first_and_then_completes_with_one_transcript()
 {
    require_model();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let meeting = long_meeting(dir.path());
    let args = [
        "process",
        meeting.to_str().unwrap(),
        "--recording",
        "interrupted",
        "--threads",
        "1",
    ];
    let mut first = Running::start(&data, &args);
    first.wait_for_line("transcribing");

    first.signal("INT");
    let code = first.exit_code();

    assert_eq!(code, Some(130), "SIGINT exits 130:\n{}", first.text());
    let text = first.text();
    let last = text.lines().last().unwrap_or_default();
    assert!(
        last.contains("recording local-user/interrupted is saved (processing)")
            && last.contains("run the same command again to resume it")
            && last.contains("--recording interrupted"),
        "{text}"
    );
    let status = recorder(&data, &["--json", "status", "interrupted"]);
    assert_eq!(stdout_json(&status)["status"], "processing");

    let mut again = vec!["--json"];
    again.extend(args);
    let rerun = recorder(&data, &again);

    assert_eq!(rerun.status.code(), Some(0), "{}", stderr_of(&rerun));
    let report = stdout_json(&rerun);
    assert_eq!(report["record"]["status"], "completed", "{report}");
    assert_eq!(
        report["record"]["run"], 0,
        "resumed, not a new run: {report}"
    );
    assert_eq!(files_named(&report, "transcript.json"), 1, "{report}");
    assert_eq!(files_named(&report, "summary.json"), 1, "{report}");
    assert!(
        report["transcript"]["segments"]
            .as_array()
            .is_some_and(|s| !s.is_empty()),
        "{report}"
    );
}

#[test]
fn given_process_interrupted_when_reprocess_runs_then_it_takes_the_processing_recording_over_in_a_new_run()
 {
    require_model();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let meeting = long_meeting(dir.path());
    let mut first = Running::start(
        &data,
        &[
            "process",
            meeting.to_str().unwrap(),
            "--recording",
            "taken-over",
            "--threads",
            "1",
        ],
    );
    first.wait_for_line("transcribing");
    first.signal("TERM");
    assert_eq!(first.exit_code(), Some(143), "{}", first.text());

    let output = recorder(&data, &["--json", "reprocess", "taken-over"]);

    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let report = stdout_json(&output);
    assert_eq!(report["record"]["status"], "completed", "{report}");
    assert_eq!(report["record"]["run"], 1, "a new run: {report}");
    assert_eq!(files_named(&report, "summary.json"), 1, "{report}");
}

#[test]
fn given_a_folder_missing_a_chunk_when_the_chunk_is_added_and_the_same_command_runs_again_then_the_recording_completes()
 {
    require_model();
    let dir = tempfile::tempdir().unwrap();
    let chunks = short_recording(dir.path());
    let kept = dir.path().join("chunk_001.mp4");
    std::fs::rename(chunks.join("chunk_001.mp4"), &kept).unwrap();
    let data = dir.path().join("data");
    let args = [
        "--json",
        "process",
        chunks.to_str().unwrap(),
        "--recording",
        "gap-fill",
        "--grace-seconds",
        "1",
    ];

    let first = recorder(&data, &args);

    assert_eq!(first.status.code(), Some(1), "{}", stderr_of(&first));
    let report = stdout_json(&first);
    assert_eq!(report["record"]["status"], "incomplete_chunks", "{report}");
    assert_eq!(report["record"]["missingChunks"], serde_json::json!([1]));
    let stderr = stderr_of(&first);
    let last = stderr.trim().lines().last().unwrap_or_default();
    assert!(
        last.contains("missing chunks [1]")
            && last.contains("add the missing chunk_001.mp4")
            && last.contains("run the same command again"),
        "{stderr}"
    );

    std::fs::rename(&kept, chunks.join("chunk_001.mp4")).unwrap();
    let second = recorder(&data, &args);

    assert_eq!(second.status.code(), Some(0), "{}", stderr_of(&second));
    let report = stdout_json(&second);
    assert_eq!(report["record"]["status"], "completed", "{report}");
    assert_eq!(files_named(&report, "summary.json"), 1, "{report}");
}

/// Passes once ingest stores a rejected chunk with `status = failed` and its reason (the
/// integrator's change): before it, an empty chunk is reported as missing.
#[test]
fn given_an_empty_chunk_when_processed_then_it_is_reported_rejected_with_its_reason_and_replacing_it_completes_the_recording()
 {
    require_model();
    let dir = tempfile::tempdir().unwrap();
    let chunks = short_recording(dir.path());
    let good = dir.path().join("chunk_001.mp4");
    std::fs::rename(chunks.join("chunk_001.mp4"), &good).unwrap();
    zero_byte_chunk(&chunks, "chunk_001.mp4");
    let data = dir.path().join("data");
    let args = [
        "process",
        chunks.to_str().unwrap(),
        "--recording",
        "rejected",
        "--grace-seconds",
        "1",
    ];
    let json_args: Vec<&str> = std::iter::once("--json").chain(args).collect();

    let first = recorder(&data, &json_args);

    assert_eq!(first.status.code(), Some(1), "{}", stderr_of(&first));
    let report = stdout_json(&first);
    assert_eq!(report["record"]["status"], "incomplete_chunks", "{report}");
    let rejected = &report["rejectedChunks"];
    assert_eq!(rejected[0]["index"], 1, "{report}");
    assert!(
        rejected[0]["reason"]
            .as_str()
            .is_some_and(|r| r.to_lowercase().contains("empty")),
        "{report}"
    );
    assert!(
        !report["record"]["missingChunks"]
            .as_array()
            .is_some_and(|m| m.contains(&Value::from(1))),
        "a rejected chunk is not missing: {report}"
    );
    let stderr = stderr_of(&first);
    assert!(
        stderr.contains("rejected chunk 1")
            && stderr.contains("fix or re-record the rejected chunk_001.mp4"),
        "{stderr}"
    );
    let status = recorder(&data, &["status", "rejected"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("rejected    chunk 1: "), "{text}");
    assert!(!text.contains("missing     1"), "{text}");

    std::fs::rename(&good, chunks.join("chunk_001.mp4")).unwrap();
    let second = recorder(&data, &json_args);

    assert_eq!(second.status.code(), Some(0), "{}", stderr_of(&second));
    assert_eq!(stdout_json(&second)["record"]["status"], "completed");
}

#[test]
fn given_a_corrupt_chunk_when_it_is_replaced_and_the_same_command_runs_again_then_the_recording_completes()
 {
    require_model();
    let dir = tempfile::tempdir().unwrap();
    let chunks = short_recording(dir.path());
    let good = dir.path().join("chunk_001.mp4");
    std::fs::rename(chunks.join("chunk_001.mp4"), &good).unwrap();
    corrupt_chunk(&chunks, "chunk_001.mp4");
    let data = dir.path().join("data");
    let args = [
        "--json",
        "process",
        chunks.to_str().unwrap(),
        "--recording",
        "corrupt-fixed",
        "--grace-seconds",
        "1",
    ];

    let first = recorder(&data, &args);

    assert_eq!(first.status.code(), Some(1), "{}", stderr_of(&first));
    let report = stdout_json(&first);
    // Failed by the media stage today; rejected at ingest once ingest decodes chunks.
    let status = report["record"]["status"].as_str().unwrap_or_default();
    assert!(
        ["processing_failed", "incomplete_chunks"].contains(&status),
        "{report}"
    );
    let stderr = stderr_of(&first);
    let last = stderr.trim().lines().last().unwrap_or_default();
    assert!(
        last.contains("chunk 1")
            && last.contains("re-record")
            && last.contains("run the same command again"),
        "{stderr}"
    );

    std::fs::rename(&good, chunks.join("chunk_001.mp4")).unwrap();
    let second = recorder(&data, &args);

    assert_eq!(second.status.code(), Some(0), "{}", stderr_of(&second));
    let report = stdout_json(&second);
    assert_eq!(report["record"]["status"], "completed", "{report}");
    assert_eq!(files_named(&report, "transcript.json"), 1, "{report}");
}

#[test]
fn given_inputs_a_new_user_gets_wrong_when_processed_then_each_says_what_is_wrong_and_what_to_do_with_exit_2()
 {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let others = dir.path().join("others");
    std::fs::create_dir_all(&others).unwrap();
    std::fs::write(others.join("notes.txt"), b"agenda").unwrap();
    std::fs::write(others.join("chunk_1.mp4"), b"not padded").unwrap();
    let cases = [
        (dir.path().join("no-such-folder"), "no such file or folder"),
        (empty, "(it is empty)"),
        (others, "it holds 2 other files: chunk_1.mp4, notes.txt"),
    ];
    for (input, what) in cases {
        let output = recorder(&data, &["process", input.to_str().unwrap()]);

        assert_eq!(output.status.code(), Some(2), "{input:?}");
        let stderr = stderr_of(&output);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(stderr.contains(what), "{what:?} not in {stderr}");
        assert!(
            stderr.contains("chunk_NNN.mp4") || stderr.contains("chunk_000.mp4"),
            "the message says what a valid input is: {stderr}"
        );
        assert!(output.stdout.is_empty());
    }
}

#[test]
fn given_serve_running_when_process_starts_on_its_data_directory_then_it_is_refused_serve_logs_outcomes_and_exits_143_on_sigterm()
 {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let chunks = dir.path().join("chunks");
    std::fs::create_dir_all(&chunks).unwrap();
    std::fs::write(chunks.join("chunk_000.mp4"), b"....ftypisom").unwrap();
    let mut serve = Running::start(
        &data,
        &[
            "serve",
            "--no-workers",
            "--listen",
            "127.0.0.1:0",
            "--grace-seconds",
            "1",
        ],
    );
    serve.wait_for_line("Ctrl-C to stop");

    let refused = recorder(&data, &["process", chunks.to_str().unwrap()]);
    let status = recorder(&data, &["status"]);
    // A recording of two chunks whose second never comes: serve logs the outcome and the advice.
    let upload = data.join("inbox/users/u-serve/chunks/half/");
    std::fs::create_dir_all(&upload).unwrap();
    std::fs::copy(chunks.join("chunk_000.mp4"), upload.join("chunk_000.mp4")).unwrap();
    std::fs::write(
        upload.join("manifest.json"),
        br#"{"expectedChunkCount": 2}"#,
    )
    .unwrap();
    serve.wait_for_line("recording half (user u-serve) incomplete_chunks; missing chunks 1");
    serve.signal("TERM");
    let code = serve.exit_code();

    assert_eq!(refused.status.code(), Some(3), "{}", stderr_of(&refused));
    let stderr = stderr_of(&refused);
    assert!(
        stderr.contains(&format!("pid {}", serve.child.id())) && stderr.contains("serve"),
        "{stderr}"
    );
    assert!(status.status.success(), "{}", stderr_of(&status));
    assert_eq!(code, Some(143), "{}", serve.text());
    let log = serve.text();
    assert!(
        log.contains("Next: add the missing chunk_001.mp4"),
        "the outcome line says what to do: {log}"
    );
    let lock = std::fs::File::open(data.join("recorder.lock")).expect("the lock file exists");
    lock.try_lock()
        .expect("the lock is released when serve stops");
}
