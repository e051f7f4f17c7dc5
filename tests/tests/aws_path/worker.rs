//! The real `activity-worker` binary as a separate process, configured only through the
//! environment variables Terraform gives the ECS task, pointed at the emulators:
//! `AWS_ENDPOINT_URL` → moto (S3), `AWS_ENDPOINT_URL_SFN` → the local engine (aws-config's
//! service-specific endpoint override; the SDK config keeps the global endpoint, so the S3 client
//! still switches to path-style addressing).
//!
//! Each worker runs under a small Python watchdog (the pinned moto's interpreter) that kills it
//! when this test process closes the watchdog's stdin, which happens on drop, on a panic and
//! when the test process dies in any way: no worker outlives its test.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use meeting_domain::deployment::env;
use recorder_testkit::moto::{REGION, workspace_root};

/// Starts the worker (stdout/stderr to a log file), prints its pid, kills it with SIGKILL when
/// stdin reaches end of file, and exits with its status when it exits by itself.
const WATCHDOG: &str = r#"
import os, subprocess, sys, threading
log = open(sys.argv[1], "ab")
child = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=log, stderr=log)
print(child.pid, flush=True)
def stop_on_eof():
    try:
        sys.stdin.buffer.read()
    finally:
        child.kill()
threading.Thread(target=stop_on_eof, daemon=True).start()
status = child.wait()
# os._exit: no interpreter finalization while the stdin thread still blocks in read().
os._exit(status if status >= 0 else 128 - status)
"#;

/// How long a worker may take to exit after a signal before the test gives up on it.
const EXIT_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the emulators are, and how the worker should behave.
#[derive(Clone, Debug)]
pub struct WorkerEnv {
    /// moto (S3).
    pub moto_endpoint: String,
    /// The engine's Step Functions API.
    pub sfn_endpoint: String,
    /// `arn:aws:states:{region}:{account}:activity:{prefix}`.
    pub activity_arn_prefix: String,
    /// `WORKER_DRAIN_SECONDS`.
    pub drain_seconds: u64,
    /// `WORKER_HEARTBEAT_SECONDS`.
    pub heartbeat_seconds: u64,
}

/// A running worker; killed on drop.
#[derive(Debug)]
pub struct WorkerProcess {
    name: String,
    pid: u32,
    log: PathBuf,
    watchdog: Child,
    stdin: Option<ChildStdin>,
}

/// The worker binary next to this test binary (`target/debug/activity-worker`). `cargo test`
/// does not build other packages' binaries, so when it is missing it is built once with
/// `cargo build -p activity-worker`; panics with that command when the build fails. (An existing
/// binary is used as it is: rebuild it after changing the worker.)
pub fn worker_binary() -> &'static Path {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let result = BINARY.get_or_init(|| {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        // target/debug/deps/aws_path-HASH → target/debug
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .ok_or_else(|| format!("unexpected test binary location {}", exe.display()))?;
        let binary = profile_dir.join("activity-worker");
        if binary.is_file() {
            return Ok(binary);
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        eprintln!("{} is missing: building it", binary.display());
        let output = Command::new(&cargo)
            .args(["build", "-p", "activity-worker", "--bin", "activity-worker"])
            .current_dir(workspace_root())
            .output()
            .map_err(|e| format!("could not run {cargo}: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "`cargo build -p activity-worker` failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        if binary.is_file() {
            Ok(binary)
        } else {
            Err(format!(
                "{} is missing after `cargo build -p activity-worker`",
                binary.display()
            ))
        }
    });
    match result {
        Ok(path) => path,
        Err(reason) => panic!(
            "the activity worker binary is needed: {reason}\nbuild it with `cargo build -p \
             activity-worker` (the Whisper model comes from `scripts/setup.sh models`)"
        ),
    }
}

impl WorkerProcess {
    /// Starts a worker named `name` serving every activity.
    pub fn start(name: &str, config: &WorkerEnv) -> Self {
        let root = workspace_root();
        let python = root.join(".tools/py-moto/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run `scripts/setup.sh python`",
            python.display()
        );
        let log =
            std::env::temp_dir().join(format!("aws-path-worker-{}-{name}.log", std::process::id()));
        let mut command = Command::new(&python);
        command
            .arg("-c")
            .arg(WATCHDOG)
            .arg(&log)
            .arg(worker_binary())
            .current_dir(&root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for var in [
            "AWS_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE",
            env::WORKER_ACTIVITIES,
            env::WHISPER_MODEL_PATH,
        ] {
            command.env_remove(var);
        }
        command
            .env("AWS_ENDPOINT_URL", &config.moto_endpoint)
            .env("AWS_ENDPOINT_URL_SFN", &config.sfn_endpoint)
            .env("AWS_REGION", REGION)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env(env::ACTIVITY_ARN_PREFIX, &config.activity_arn_prefix)
            .env(env::WORKER_CONCURRENCY, "1")
            .env(env::WORKER_DRAIN_SECONDS, config.drain_seconds.to_string())
            .env(
                env::WORKER_HEARTBEAT_SECONDS,
                config.heartbeat_seconds.to_string(),
            )
            .env(env::TRANSCRIBER, "whisper")
            .env(env::SUMMARIZER, "extractive")
            .env(env::WHISPER_THREADS, "2")
            .env(env::MEETING_RECORDER_CACHE, root.join(".cache"))
            .env("HOSTNAME", name)
            .env("RUST_LOG", "info");
        let mut watchdog = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting the worker watchdog ({}): {e}", python.display()));
        let stdout = watchdog
            .stdout
            .take()
            .unwrap_or_else(|| panic!("the watchdog has no stdout"));
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap_or_else(|e| panic!("reading the worker pid: {e}"));
        let pid = line.trim().parse().unwrap_or_else(|_| {
            panic!(
                "the watchdog did not report the worker pid (got {line:?}); log {}",
                log.display()
            )
        });
        let stdin = watchdog.stdin.take();
        Self {
            name: name.to_owned(),
            pid,
            log,
            watchdog,
            stdin,
        }
    }

    /// Its name (`workerName` in the execution history).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sends `signal` (`TERM`, `KILL`) to the worker itself.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid.to_string())
            .status()
            .unwrap_or_else(|e| panic!("running kill: {e}"));
        assert!(
            status.success(),
            "kill -{signal} {} failed: {status}",
            self.pid
        );
    }

    /// Waits for the worker to exit; its exit code (128 + signal when killed by one).
    pub fn wait_for_exit(&mut self) -> i32 {
        let deadline = Instant::now() + EXIT_TIMEOUT;
        loop {
            match self.watchdog.try_wait() {
                Ok(Some(status)) => return status.code().unwrap_or(-1),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Ok(None) => panic!(
                    "worker {} did not exit within {EXIT_TIMEOUT:?}; log:\n{}",
                    self.name,
                    self.log_tail()
                ),
                Err(e) => panic!("waiting for worker {}: {e}", self.name),
            }
        }
    }

    /// The worker's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last lines of the worker's log (for panic messages).
    pub fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        // End of file on the watchdog's stdin kills the worker; then reap the watchdog.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if !matches!(self.watchdog.try_wait(), Ok(None)) {
                // Keep the log of a failed test for a look after the run.
                if !std::thread::panicking() {
                    let _ = std::fs::remove_file(&self.log);
                }
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.watchdog.kill();
        let _ = self.watchdog.wait();
    }
}
