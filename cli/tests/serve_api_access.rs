//! `recorder serve` and who may use its Step Functions API: the shared secret from
//! `RECORDER_API_SECRET`, the refusal to listen beyond loopback without one, and the explicit
//! opt-out `RECORDER_API_INSECURE_NO_SECRET`. Runs the real binary with `--no-workers` (no
//! Whisper model needed) and talks raw HTTP to it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Bound on waiting for `serve` to print its address; generous for a loaded 2-core machine.
const WAIT: Duration = Duration::from_secs(120);

/// The API variables, removed from the test's environment so only what a test sets applies.
const API_VARIABLES: [&str; 3] = [
    "RECORDER_API_SECRET",
    "RECORDER_API_HOSTS",
    "RECORDER_API_INSECURE_NO_SECRET",
];

fn serve_command(data: &Path, listen: &str, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_recorder"));
    command
        .arg("--data-dir")
        .arg(data)
        .args(["serve", "--no-workers", "--listen", listen])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for variable in API_VARIABLES {
        command.env_remove(variable);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

/// A running `serve`, killed when dropped.
struct Serve {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `serve` and waits for the address it prints.
fn start(data: &Path, listen: &str, env: &[(&str, &str)]) -> Serve {
    // Owned by `Serve` at once, so that it is killed and reaped however the test ends.
    let mut serve = Serve {
        child: serve_command(data, listen, env)
            .spawn()
            .expect("recorder serve starts"),
        addr: SocketAddr::from(([0, 0, 0, 0], 0)),
    };
    let stderr = serve.child.stderr.take().expect("stderr is piped");
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let mut seen = Vec::new();
    loop {
        let Ok(line) = received.recv_timeout(WAIT) else {
            panic!("serve did not print its address:\n{}", seen.join("\n"));
        };
        if let Some(rest) = line.strip_prefix("Step Functions API: http://") {
            serve.addr = rest
                .split_whitespace()
                .next()
                .and_then(|a| a.parse().ok())
                .expect("an address");
            return serve;
        }
        seen.push(line);
    }
}

/// Sends a ListStateMachines with `host` and `headers`; the HTTP status and body.
fn list_state_machines(addr: SocketAddr, host: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(WAIT)).expect("read timeout");
    let mut request = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nX-Amz-Target: AWSStepFunctions.ListStateMachines\r\n\
         Content-Type: application/x-amz-json-1.0\r\nContent-Length: 2\r\nConnection: close\r\n"
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n{}");
    stream.write_all(request.as_bytes()).expect("request");
    let mut reply = String::new();
    stream.read_to_string(&mut reply).expect("reply");
    let status = reply
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP reply: {reply:?}"));
    let body = reply
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn serve_on_a_non_loopback_address_without_a_secret_refuses_to_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = serve_command(dir.path(), "0.0.0.0:0", &[])
        .spawn()
        .expect("recorder runs");

    // Read stderr to its end: a refusal ends the process; a serve that starts prints its API.
    let stderr = child.stderr.take().expect("stderr is piped");
    let mut printed = Vec::new();
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        if line.starts_with("Step Functions API:") {
            let _ = child.kill();
            let _ = child.wait();
            panic!("serve exposed the API beyond loopback without a secret: {line}");
        }
        printed.push(line);
    }
    let status = child.wait().expect("serve ends");

    let printed = printed.join("\n");
    assert_eq!(status.code(), Some(2), "{printed}");
    assert!(printed.contains("RECORDER_API_SECRET"), "{printed}");
}

#[test]
fn serve_with_a_secret_answers_only_requests_that_carry_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let serve = start(
        dir.path(),
        "127.0.0.1:0",
        &[("RECORDER_API_SECRET", "correct horse")],
    );
    let host = format!("127.0.0.1:{}", serve.addr.port());

    let (without, body) = list_state_machines(serve.addr, &host, &[]);
    assert_eq!(without, 403, "{body}");
    assert!(body.contains("AccessDeniedException"), "{body}");
    let (wrong, _) = list_state_machines(
        serve.addr,
        &host,
        &[("x-recorder-api-secret", "battery staple")],
    );
    assert_eq!(wrong, 403);
    let (right, body) = list_state_machines(
        serve.addr,
        &host,
        &[("x-recorder-api-secret", "correct horse")],
    );
    assert_eq!(right, 200, "{body}");
    let (foreign, _) = list_state_machines(
        serve.addr,
        &format!("evil.example:{}", serve.addr.port()),
        &[("x-recorder-api-secret", "correct horse")],
    );
    assert_eq!(foreign, 403);
}

#[test]
fn serve_on_every_address_starts_with_the_explicit_opt_out() {
    let dir = tempfile::tempdir().expect("temp dir");
    let serve = start(
        dir.path(),
        "0.0.0.0:0",
        &[
            ("RECORDER_API_INSECURE_NO_SECRET", "true"),
            ("RECORDER_API_HOSTS", "recorder.lan"),
        ],
    );
    let port = serve.addr.port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));

    let (by_ip, body) = list_state_machines(addr, &format!("127.0.0.1:{port}"), &[]);
    let (by_listed_name, _) = list_state_machines(addr, &format!("recorder.lan:{port}"), &[]);
    let (by_other_name, _) = list_state_machines(addr, &format!("evil.example:{port}"), &[]);

    assert_eq!(by_ip, 200, "{body}");
    assert_eq!(by_listed_name, 200);
    assert_eq!(by_other_name, 403);
}
