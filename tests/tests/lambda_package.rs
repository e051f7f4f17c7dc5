//! Packaging of the Lambda binaries for AWS Lambda's arm64 `provided.al2023` runtime. Runs the
//! README's build script, `scripts/build-lambdas.sh` (cargo-zigbuild, glibc 2.34; debug profile, see
//! [`lambda_dir`]), then checks every `target/lambda-debug/<function>/bootstrap`: an aarch64 ELF, no glibc symbol newer than
//! the runtime's 2.34, and one invocation served under `qemu-aarch64` against a fake Lambda Runtime
//! API on 127.0.0.1 (no AWS call reaches anything: the endpoint is a closed local port).
//!
//! Needs `scripts/setup.sh lambda` (cargo-zigbuild and zig in .tools/py-zig, the rustup target,
//! qemu-user, libc6-arm64-cross) and binutils; fails naming it when something is missing. The first
//! run cross-compiles the AWS SDK for aarch64 (minutes); later runs reuse the target dir.

#[path = "../../lambdas/benches/fake_runtime_api/mod.rs"]
mod fake_runtime_api;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use fake_runtime_api::{
    EMPTY_STREAM_BATCH, FakeRuntimeApi, MALFORMED_KEY_EVENT, NEXT_PATH, REQUEST_ID, Request,
    SCHEDULED_EVENT, lambda_env, unreachable_endpoint,
};

const FUNCTIONS: [&str; 4] = [
    "chunk-upload-handler",
    "catalog-stream-handler",
    "sweeper",
    "execution-status-handler",
];

/// A Step Functions "Execution Status Change" event of a run that SUCCEEDED (the shape EventBridge
/// delivers: epoch-millisecond dates, input and output as JSON strings). The workflow recorded its
/// own result: the handler acknowledges it without any AWS call.
const SUCCEEDED_EXECUTION_EVENT: &str = r#"{"version":"0","id":"e","detail-type":"Step Functions Execution Status Change","source":"aws.states","account":"123456789012","time":"2026-01-01T01:00:00Z","region":"us-east-1","resources":["arn:aws:states:us-east-1:123456789012:execution:processing:rec-1-r0-0123456789abcdef"],"detail":{"executionArn":"arn:aws:states:us-east-1:123456789012:execution:processing:rec-1-r0-0123456789abcdef","stateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:processing","name":"rec-1-r0-0123456789abcdef","status":"SUCCEEDED","startDate":1767225600000,"stopDate":1767229200000,"input":"{\"userId\":\"user-1\",\"recordingId\":\"rec-1\",\"bucket\":\"b\",\"chunkCount\":2,\"run\":0,\"options\":{},\"manifestKey\":null}","output":"{}","inputDetails":{"included":true},"outputDetails":{"included":true},"error":null,"cause":null}}"#;

/// Lambda provided.al2023 (Amazon Linux 2023) ships glibc 2.34.
const RUNTIME_GLIBC: (u32, u32) = (2, 34);

/// Generous: a bootstrap under qemu user emulation on a busy 2-core machine.
const INVOCATION_TIMEOUT: Duration = Duration::from_secs(60);

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace")
        .to_path_buf()
}

/// Runs the build script once per test process; returns `target/lambda-debug` (or the one under
/// `$CARGO_TARGET_DIR`). The test builds the debug profile: the same script, zig linker, glibc 2.34
/// pin and target as the README's `--release` command, without the release profile's LTO, which
/// on a 2-core CI machine costs more than the rest of the test suite together.
fn lambda_dir() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = workspace_root();
        let output = Command::new(root.join("scripts/build-lambdas.sh"))
            .current_dir(&root)
            .stdin(Stdio::null())
            .output()
            .expect("scripts/build-lambdas.sh could not be started");
        assert!(
            output.status.success(),
            "scripts/build-lambdas.sh failed (tools: run scripts/setup.sh lambda):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        let target = if target.is_absolute() {
            target
        } else {
            root.join(target)
        };
        target.join("lambda-debug")
    })
}

fn bootstrap(function: &str) -> PathBuf {
    let path = lambda_dir().join(function).join("bootstrap");
    assert!(path.is_file(), "{} was not produced", path.display());
    path
}

fn tool_output(tool: &str, args: &[&str], path: &Path) -> String {
    let output = Command::new(tool)
        .args(args)
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("{tool} is missing ({e}): run scripts/setup.sh apt"));
    assert!(
        output.status.success(),
        "{tool} failed on {}",
        path.display()
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Every `GLIBC_x.y[.z]` version the binary's dynamic symbols require, as (major, minor).
fn glibc_versions(objdump_t: &str) -> Vec<(u32, u32)> {
    objdump_t
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter_map(|word| word.strip_prefix("GLIBC_"))
        .filter_map(|version| {
            let mut parts = version.split('.');
            let major = parts.next()?.parse().ok()?;
            let minor = parts.next()?.parse().ok()?;
            Some((major, minor))
        })
        .collect()
}

/// Kills the bootstrap when the test ends, passing or not.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `function`'s bootstrap under qemu-aarch64 with `event` queued; returns the fake and the
/// first request after the `next` poll that fetched the event (the invocation's outcome).
fn invoke_under_qemu(function: &str, event: &str) -> Request {
    let path = bootstrap(function);
    let api = FakeRuntimeApi::start(event).expect("fake runtime API listens");
    let endpoint = unreachable_endpoint().expect("a free local port");
    let child = Command::new("qemu-aarch64")
        .arg("-L")
        .arg("/usr/aarch64-linux-gnu")
        .arg(&path)
        .env_clear()
        .envs(lambda_env(function, &api.runtime_api(), &endpoint))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("qemu-aarch64 is missing ({e}): run scripts/setup.sh lambda"));
    let _running = Running(child);
    let first = api
        .next_request(INVOCATION_TIMEOUT)
        .unwrap_or_else(|| panic!("{function} never polled the Runtime API"));
    assert_eq!(
        (first.method.as_str(), first.path.as_str()),
        ("GET", NEXT_PATH)
    );
    api.next_request(INVOCATION_TIMEOUT)
        .unwrap_or_else(|| panic!("{function} never reported its invocation"))
}

fn outcome_path(outcome: &str) -> String {
    format!("/2018-06-01/runtime/invocation/{REQUEST_ID}/{outcome}")
}

#[test]
fn every_bootstrap_is_a_64_bit_aarch64_elf() {
    for function in FUNCTIONS {
        let header = tool_output("readelf", &["-h"], &bootstrap(function));
        assert!(header.contains("ELF64"), "{function}: not ELF64:\n{header}");
        assert!(
            header
                .lines()
                .any(|l| l.contains("Machine:") && l.contains("AArch64")),
            "{function}: not AArch64:\n{header}"
        );
    }
}

#[test]
fn no_bootstrap_needs_a_glibc_newer_than_the_al2023_runtime() {
    for function in FUNCTIONS {
        let symbols = tool_output("objdump", &["-T"], &bootstrap(function));
        let versions = glibc_versions(&symbols);
        assert!(
            !versions.is_empty(),
            "{function}: no GLIBC symbol versions found; is it dynamically linked?"
        );
        let newest = versions.iter().max().copied().unwrap_or_default();
        assert!(
            newest <= RUNTIME_GLIBC,
            "{function} needs GLIBC_{}.{}, provided.al2023 has {}.{}",
            newest.0,
            newest.1,
            RUNTIME_GLIBC.0,
            RUNTIME_GLIBC.1
        );
    }
}

#[test]
fn glibc_versions_are_read_from_objdump_version_columns() {
    let sample = "0000 DF *UND* 0000 (GLIBC_2.17) memcpy\n0000 DF *UND* 0000 (GLIBC_2.34) \
                  __libc_start_main\n0000 DF *UND* 0000  GLIBC_2.36  arc4random\n";
    assert_eq!(glibc_versions(sample), vec![(2, 17), (2, 34), (2, 36)]);
}

#[test]
fn chunk_upload_handler_acknowledges_a_malformed_key_without_calling_aws() {
    // GIVEN the arm64 bootstrap, AWS endpoints at a closed port, a malformed-key event queued
    // WHEN it runs one invocation
    let outcome = invoke_under_qemu("chunk-upload-handler", MALFORMED_KEY_EVENT);
    // THEN it reports success (any AWS call would have failed the invocation)
    assert_eq!(outcome.method, "POST");
    assert_eq!(
        outcome.path,
        outcome_path("response"),
        "body: {}",
        outcome.body
    );
}

#[test]
fn catalog_stream_handler_answers_an_empty_batch_with_no_failures() {
    let outcome = invoke_under_qemu("catalog-stream-handler", EMPTY_STREAM_BATCH);
    assert_eq!(
        outcome.path,
        outcome_path("response"),
        "body: {}",
        outcome.body
    );
    let response: serde_json::Value =
        serde_json::from_str(&outcome.body).expect("the response is JSON");
    assert_eq!(response["batchItemFailures"], serde_json::json!([]));
}

#[test]
fn execution_status_handler_acknowledges_a_succeeded_run_without_calling_aws() {
    // GIVEN the arm64 bootstrap, AWS endpoints at a closed port, a SUCCEEDED status event queued
    let outcome = invoke_under_qemu("execution-status-handler", SUCCEEDED_EXECUTION_EVENT);
    // THEN it reports success: the workflow recorded its own result, and any AWS call would have
    // failed the invocation
    assert_eq!(outcome.method, "POST");
    assert_eq!(
        outcome.path,
        outcome_path("response"),
        "body: {}",
        outcome.body
    );
}

#[test]
fn sweeper_reports_unreachable_tables_as_an_invocation_error() {
    // GIVEN the sweeper with its DynamoDB endpoint at a closed port
    let outcome = invoke_under_qemu("sweeper", SCHEDULED_EVENT);
    // THEN the failure is reported to Lambda (so the schedule's retry applies), not swallowed
    assert_eq!(
        outcome.path,
        outcome_path("error"),
        "body: {}",
        outcome.body
    );
    let error: serde_json::Value = serde_json::from_str(&outcome.body).expect("the error is JSON");
    assert!(
        error["errorType"]
            .as_str()
            .is_some_and(|t| t.starts_with("Recorder.")),
        "error type: {error}"
    );
}
