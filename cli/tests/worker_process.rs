//! The local backend with its workers in separate processes: `recorder serve --no-workers` and
//! `recorder worker` polling its Step Functions API, as the Fargate workers poll AWS.
//!
//! A worker killed with SIGKILL in the middle of a transcription must not lose the recording:
//! its heartbeats stop, the engine times the task out (`States.HeartbeatTimeout`), the workflow's
//! retry hands it to another worker and the recording completes.
//!
//! To keep the test short, `serve` runs the generated workflow with every activity's
//! `HeartbeatSeconds` lowered to [`HEARTBEAT_SECONDS`] (everything else is the committed
//! `asl/processing.asl.json`), and the workers heartbeat every second. Needs
//! `scripts/setup.sh apt models`; without the model the worker exits and the test fails with its
//! message.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent, HistoryEventType};
use meeting_domain::keys::{chunk_key, manifest_key};
use meeting_domain::{ChunkIndex, RecordingId, UserId};
use recorder_testkit::media::{MEETING_SCRIPT, make_recording};
use serde_json::{Value, json};

/// The heartbeat timeout of the test's workflow: long enough for a loaded machine to send a
/// heartbeat every second, short enough to keep the test quick.
const HEARTBEAT_SECONDS: u64 = 4;

/// Bound on each wait; generous for a loaded 2-core CI machine.
const WAIT: Duration = Duration::from_secs(240);

/// Child processes killed when the test ends, however it ends.
#[derive(Default)]
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A child's stderr, collected by a thread so the pipe never fills.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn follow(child: &mut Child) -> (Self, mpsc::Receiver<String>) {
        let log = Self::default();
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().expect("stderr is piped");
        let lines = Arc::clone(&log.0);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line.clone());
                lines.lock().expect("log lock").push(line);
            }
        });
        (log, rx)
    }

    fn text(&self) -> String {
        self.0.lock().expect("log lock").join("\n")
    }
}

fn recorder(data: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_recorder"));
    command
        .arg("--data-dir")
        .arg(data)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// The committed workflow with every `HeartbeatSeconds` set to `seconds`.
fn workflow_with_heartbeat(seconds: u64) -> String {
    fn patch(value: &mut Value, seconds: u64, patched: &mut usize) {
        match value {
            Value::Object(map) => {
                if let Some(heartbeat) = map.get_mut("HeartbeatSeconds") {
                    *heartbeat = json!(seconds);
                    *patched += 1;
                }
                map.values_mut()
                    .for_each(|child| patch(child, seconds, patched));
            }
            Value::Array(items) => items
                .iter_mut()
                .for_each(|child| patch(child, seconds, patched)),
            _ => {}
        }
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../asl/processing.asl.json");
    let text = std::fs::read_to_string(&path).expect("the generated workflow exists");
    let mut definition: Value = serde_json::from_str(&text).expect("the workflow is JSON");
    let mut patched = 0;
    patch(&mut definition, seconds, &mut patched);
    assert!(
        patched >= 4,
        "expected a HeartbeatSeconds on each of the four activity states, patched {patched}"
    );
    definition.to_string()
}

/// Starts `serve --no-workers` and returns the address of its API and its state machine ARN.
fn start_serve(data: &Path, definition: &Path, processes: &mut Processes) -> (String, String, Log) {
    let mut child = recorder(data)
        .args(["serve", "--no-workers", "--listen", "127.0.0.1:0"])
        .args(["--grace-seconds", "30", "--definition"])
        .arg(definition)
        .spawn()
        .expect("recorder serve starts");
    let (log, lines) = Log::follow(&mut child);
    processes.0.push(child);
    let (mut endpoint, mut machine) = (None, None);
    let deadline = Instant::now() + WAIT;
    while endpoint.is_none() || machine.is_none() {
        let line = lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("serve did not print its address:\n{}", log.text()));
        if let Some(rest) = line.strip_prefix("Step Functions API: ") {
            endpoint = rest.split_whitespace().next().map(str::to_owned);
        }
        if let Some(rest) = line.strip_prefix("state machine: ") {
            machine = Some(rest.trim().to_owned());
        }
    }
    (
        endpoint.expect("endpoint"),
        machine.expect("state machine"),
        log,
    )
}

fn start_worker(data: &Path, endpoint: &str, name: &str) -> (Child, Log) {
    let mut child = recorder(data)
        .args(["worker", "--endpoint", endpoint, "--threads", "1"])
        .args([
            "--heartbeat-seconds",
            "1",
            "--drain-seconds",
            "5",
            "--name",
            name,
        ])
        .spawn()
        .expect("recorder worker starts");
    let (log, _) = Log::follow(&mut child);
    (child, log)
}

/// Puts the recording's chunks and manifest into the watched folder, chunks in reverse order.
fn drop_recording(inbox: &Path, user: &UserId, recording: &RecordingId, chunks: &[PathBuf]) {
    let place = |key: &str, from: Option<&Path>, bytes: Option<&[u8]>| {
        let target = inbox.join(key);
        std::fs::create_dir_all(target.parent().expect("parent")).expect("inbox folder");
        match (from, bytes) {
            (Some(from), _) => {
                std::fs::copy(from, &target).expect("chunk copied");
            }
            (None, Some(bytes)) => std::fs::write(&target, bytes).expect("manifest written"),
            (None, None) => unreachable!("a file or bytes"),
        }
    };
    for (index, chunk) in chunks.iter().enumerate().rev() {
        let index = ChunkIndex::new(u32::try_from(index).expect("index")).expect("index");
        place(&chunk_key(user, recording, index), Some(chunk), None);
    }
    let manifest = json!({ "expectedChunkCount": chunks.len() }).to_string();
    place(
        &manifest_key(user, recording),
        None,
        Some(manifest.as_bytes()),
    );
}

fn sfn_client(endpoint: &str) -> aws_sdk_sfn::Client {
    let config = aws_sdk_sfn::Config::builder()
        .behavior_version(aws_sdk_sfn::config::BehaviorVersion::latest())
        .region(aws_sdk_sfn::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_sfn::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .build();
    aws_sdk_sfn::Client::from_conf(config)
}

async fn only_execution(sfn: &aws_sdk_sfn::Client, machine: &str) -> Option<String> {
    let listed = sfn
        .list_executions()
        .state_machine_arn(machine)
        .send()
        .await
        .expect("ListExecutions");
    let executions = listed.executions();
    assert!(
        executions.len() <= 1,
        "one recording, one execution: {executions:?}"
    );
    executions.first().map(|e| e.execution_arn().to_owned())
}

async fn history(sfn: &aws_sdk_sfn::Client, execution: &str) -> Vec<HistoryEvent> {
    sfn.get_execution_history()
        .execution_arn(execution)
        .max_results(1000)
        .send()
        .await
        .expect("GetExecutionHistory")
        .events()
        .to_vec()
}

/// Whether the last state entered is `state` and its activity has been handed to a worker.
fn running_activity_of(events: &[HistoryEvent], state: &str) -> bool {
    let entered = events.iter().rposition(|e| {
        e.r#type() == &HistoryEventType::TaskStateEntered
            && e.state_entered_event_details().map(|d| d.name()) == Some(state)
    });
    entered.is_some_and(|at| {
        events[at..]
            .iter()
            .any(|e| e.r#type() == &HistoryEventType::ActivityStarted)
            && !events[at..].iter().any(|e| {
                matches!(
                    e.r#type(),
                    HistoryEventType::ActivitySucceeded | HistoryEventType::ActivityFailed
                )
            })
    })
}

fn describe(events: &[HistoryEvent]) -> String {
    events
        .iter()
        .map(|e| {
            let name = e
                .state_entered_event_details()
                .map(|d| format!(" {}", d.name()))
                .unwrap_or_default();
            format!("{}{name}", e.r#type().as_str())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_worker_killed_mid_transcription_when_its_heartbeats_stop_then_another_worker_retries_the_task_and_the_recording_completes()
 {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let media = dir.path().join("media");
    std::fs::create_dir_all(&media).expect("media dir");
    let chunks = make_recording(&media, MEETING_SCRIPT, 6.0);
    let definition = dir.path().join("workflow.json");
    std::fs::write(&definition, workflow_with_heartbeat(HEARTBEAT_SECONDS)).expect("definition");

    let mut processes = Processes::default();
    let (endpoint, machine, serve_log) = start_serve(&data, &definition, &mut processes);
    let sfn = sfn_client(&endpoint);
    let (first, first_log) = start_worker(&data, &endpoint, "worker-a");
    processes.0.push(first);

    let user = UserId::new("u-kill").expect("user id");
    let recording = RecordingId::new("killed-worker").expect("recording id");
    drop_recording(&data.join("inbox"), &user, &recording, &chunks);

    // Wait until worker A runs the transcription, then kill it without warning.
    let deadline = Instant::now() + WAIT;
    let execution = loop {
        assert!(
            Instant::now() < deadline,
            "the transcription never started on worker A\nserve:\n{}\nworker A:\n{}",
            serve_log.text(),
            first_log.text()
        );
        if let Some(execution) = only_execution(&sfn, &machine).await
            && running_activity_of(&history(&sfn, &execution).await, "StartTranscription")
        {
            break execution;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut first = processes.0.pop().expect("worker A");
    first.kill().expect("SIGKILL worker A");
    first.wait().expect("worker A reaped");

    let (second, second_log) = start_worker(&data, &endpoint, "worker-b");
    processes.0.push(second);

    let status = loop {
        assert!(
            Instant::now() < deadline,
            "the execution did not finish after worker A died\nhistory: {}\nworker B:\n{}",
            describe(&history(&sfn, &execution).await),
            second_log.text()
        );
        let described = sfn
            .describe_execution()
            .execution_arn(&execution)
            .send()
            .await
            .expect("DescribeExecution");
        if described.status() != &ExecutionStatus::Running {
            break described.status().clone();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let events = history(&sfn, &execution).await;
    assert_eq!(
        status,
        ExecutionStatus::Succeeded,
        "history: {}\nworker B:\n{}",
        describe(&events),
        second_log.text()
    );

    // The killed task timed out by heartbeat and a later attempt of the same state succeeded.
    let timed_out = events
        .iter()
        .position(|e| {
            e.r#type() == &HistoryEventType::ActivityTimedOut
                && e.activity_timed_out_event_details().and_then(|d| d.error())
                    == Some("States.HeartbeatTimeout")
        })
        .unwrap_or_else(|| panic!("no heartbeat timeout in: {}", describe(&events)));
    let retried = events[timed_out..].iter().any(|e| {
        e.r#type() == &HistoryEventType::ActivityStarted
            && e.activity_started_event_details()
                .and_then(|d| d.worker_name())
                == Some("worker-b")
    });
    assert!(
        retried,
        "worker B never took the task over: {}",
        describe(&events)
    );

    // The catalog says completed and the results exist.
    let output = Command::new(env!("CARGO_BIN_EXE_recorder"))
        .arg("--data-dir")
        .arg(&data)
        .args([
            "--json",
            "status",
            recording.as_str(),
            "--user",
            user.as_str(),
        ])
        .output()
        .expect("recorder status runs");
    let status: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "status is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    let text = status.to_string();
    assert!(text.contains("\"completed\""), "status: {text}");
    assert!(text.contains("transcript.json"), "status: {text}");
}
