//! Cold-start init time and package size of the Lambda binaries.
//!
//! Init time: from spawning the native (x86_64, bench = release profile) binary to its first
//! `GET /2018-06-01/runtime/invocation/next` on a fake Runtime API, i.e. reading the config, JSON
//! logs, building the SDK clients and starting `lambda_runtime`. The median of `COLD_START_RUNS`
//! (default 15) fresh processes per function. Measured natively on purpose: the arm64 bootstrap
//! under qemu user emulation is several times slower and says nothing about Lambda's Graviton.
//!
//! Size: of the arm64 `target/lambda/<function>/bootstrap` that `scripts/build-lambdas.sh
//! --release` produced (skipped with a note if absent), unzipped and zipped (`zip`, deflate level
//! 6, what Terraform's `archive_file` does).
//!
//! `cargo bench -p recorder-lambdas --bench cold_start`

#[path = "fake_runtime_api/mod.rs"]
mod fake_runtime_api;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fake_runtime_api::{
    EMPTY_STREAM_BATCH, FakeRuntimeApi, MALFORMED_KEY_EVENT, SCHEDULED_EVENT, lambda_env,
    unreachable_endpoint,
};

const DEFAULT_RUNS: usize = 15;

fn functions() -> [(&'static str, &'static str, &'static str); 3] {
    [
        (
            "chunk-upload-handler",
            env!("CARGO_BIN_EXE_chunk-upload-handler"),
            MALFORMED_KEY_EVENT,
        ),
        (
            "catalog-stream-handler",
            env!("CARGO_BIN_EXE_catalog-stream-handler"),
            EMPTY_STREAM_BATCH,
        ),
        ("sweeper", env!("CARGO_BIN_EXE_sweeper"), SCHEDULED_EVENT),
    ]
}

/// One cold start: spawn → first `next` poll.
fn cold_start(function: &str, exe: &str, event: &str) -> Result<Duration, String> {
    let api = FakeRuntimeApi::start(event).map_err(|e| e.to_string())?;
    let endpoint = unreachable_endpoint().map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut child = Command::new(exe)
        .env_clear()
        .envs(lambda_env(function, &api.runtime_api(), &endpoint))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{exe}: {e}"))?;
    let first = api.next_request(Duration::from_secs(30));
    let _ = child.kill();
    let _ = child.wait();
    first
        .map(|request| request.at.duration_since(started))
        .ok_or_else(|| format!("{function} never polled the Runtime API"))
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn zipped_size(bootstrap: &Path) -> Option<u64> {
    let dir = std::env::temp_dir().join(format!("cold-start-zip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let zip = dir.join("bootstrap.zip");
    let _ = std::fs::remove_file(&zip);
    let ok = Command::new("zip")
        .args(["-q", "-j", "-6"])
        .arg(&zip)
        .arg(bootstrap)
        .status()
        .ok()?
        .success();
    let size = if ok {
        std::fs::metadata(&zip).ok().map(|m| m.len())
    } else {
        None
    };
    let _ = std::fs::remove_dir_all(&dir);
    size
}

fn lambda_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    std::env::var_os("CARGO_TARGET_DIR")
        .map(|t| workspace.join(t))
        .unwrap_or_else(|| workspace.join("target"))
        .join("lambda")
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument selects functions by name.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let runs = std::env::var("COLD_START_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .filter(|r: &usize| *r > 0)
        .unwrap_or(DEFAULT_RUNS);
    println!("cold start (native x86_64 release, spawn → first /next), {runs} runs each:");
    for (function, exe, event) in functions() {
        if !filter.is_empty() && !filter.iter().any(|f| function.contains(f.as_str())) {
            continue;
        }
        let mut samples = Vec::with_capacity(runs);
        for _ in 0..runs {
            match cold_start(function, exe, event) {
                Ok(d) => samples.push(d),
                Err(e) => {
                    eprintln!("cold_start: {e}");
                    std::process::exit(1);
                }
            }
        }
        samples.sort();
        println!(
            "  {function:<24} median {:7.2} ms   min {:7.2} ms   max {:7.2} ms",
            millis(samples[samples.len() / 2]),
            millis(samples[0]),
            millis(samples[samples.len() - 1]),
        );
    }
    println!("arm64 package (scripts/build-lambdas.sh --release):");
    for (function, _, _) in functions() {
        let bootstrap = lambda_dir().join(function).join("bootstrap");
        match std::fs::metadata(&bootstrap) {
            Ok(meta) => {
                let zipped = zipped_size(&bootstrap).map_or_else(
                    || "? (zip not installed)".to_owned(),
                    |z| format!("{:.2} MiB", z as f64 / 1048576.0),
                );
                println!(
                    "  {function:<24} bootstrap {:.2} MiB   zipped {zipped}",
                    meta.len() as f64 / 1048576.0
                );
            }
            Err(_) => println!("  {function:<24} not built: {}", bootstrap.display()),
        }
    }
}
