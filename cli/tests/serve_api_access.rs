//! `recorder serve` and who may use its Step Functions API: the shared secret from
//! `RECORDER_API_SECRET`, the refusal to listen beyond loopback without one, and the explicit
//! opt-out `RECORDER_API_INSECURE_NO_SECRET`; and the requests an attacker or a broken client
//! sends (a 200 MB body, declared or streamed without a length; a foreign `Host`; an overflowing
//! `nextToken`), each answered with its AWS-shaped error while the server keeps serving with its
//! peak memory (`VmHWM`) flat. Runs the real binary with `--no-workers` (no
//! Whisper model needed) and talks raw HTTP to it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

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
    let reply = call(addr, host, headers, "ListStateMachines", "{}");
    (reply.status, reply.body.to_string())
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

/// The body an attacker sends.
const HUGE: usize = 200 * 1024 * 1024;
/// How much the server's peak resident memory may grow over the hostile requests: far below
/// `HUGE`.
const MEMORY_SLACK_KIB: u64 = 64 * 1024;

/// Peak resident memory of the server process so far, KiB (`VmHWM`).
fn peak_kib(serve: &Serve) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", serve.child.id()))
        .expect("/proc/PID/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// A parsed HTTP response: status and JSON body.
#[derive(Debug)]
struct Reply {
    status: u16,
    body: Value,
}

fn parse_reply(raw: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status: {head:?}"));
    let body = serde_json::from_str(body.trim()).unwrap_or(Value::Null);
    Reply { status, body }
}

/// Reads one response whose body has a `content-length`.
fn read_reply(stream: &mut TcpStream) -> Reply {
    stream.set_read_timeout(Some(WAIT)).expect("timeout");
    let mut raw = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        let n = match stream.read(&mut buffer) {
            Ok(n) => n,
            // The server may reset the connection after answering a body it will not read.
            Err(e) if !raw.is_empty() => {
                eprintln!("read ended with {e} after {} bytes", raw.len());
                0
            }
            Err(e) => panic!("no response: {e}"),
        };
        raw.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&raw);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if body.len() >= length {
                return parse_reply(&raw);
            }
        }
        assert!(n > 0, "the connection closed mid-response: {text:?}");
    }
}

/// Sends one small request with `host` and `headers` and returns the reply.
fn call(addr: SocketAddr, host: &str, headers: &[(&str, &str)], action: &str, body: &str) -> Reply {
    let mut stream = TcpStream::connect(addr).expect("connect");
    let mut request = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nX-Amz-Target: AWSStepFunctions.{action}\r\n\
         Content-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).expect("send");
    read_reply(&mut stream)
}

/// Sends `head` and then up to `HUGE` bytes of body from another thread (the server may stop
/// reading at any point), and returns the reply the server sent meanwhile.
fn send_huge(addr: SocketAddr, head: String, chunked: bool) -> Reply {
    let mut stream = TcpStream::connect(addr).expect("connect");
    let mut writer = stream.try_clone().expect("clone");
    let sender = std::thread::spawn(move || {
        writer.write_all(head.as_bytes())?;
        let block = vec![b'a'; 1024 * 1024];
        for _ in 0..HUGE / block.len() {
            if chunked {
                writer.write_all(format!("{:x}\r\n", block.len()).as_bytes())?;
                writer.write_all(&block)?;
                writer.write_all(b"\r\n")?;
            } else {
                writer.write_all(&block)?;
            }
        }
        if chunked {
            writer.write_all(b"0\r\n\r\n")?;
        }
        Ok::<(), std::io::Error>(())
    });
    let reply = read_reply(&mut stream);
    let _ = stream.shutdown(std::net::Shutdown::Both);
    // Writing fails (reset, broken pipe) once the server closed the connection; either way the
    // thread ends.
    let _ = sender.join();
    reply
}

fn assert_aws_error(reply: &Reply, status: u16, error_type: &str) {
    assert_eq!(reply.status, status, "{reply:?}");
    assert_eq!(reply.body["__type"].as_str(), Some(error_type), "{reply:?}");
    assert!(reply.body["message"].is_string(), "{reply:?}");
}

#[test]
fn given_hostile_requests_when_sent_to_serve_then_each_gets_its_aws_error_and_the_server_stays_alive_with_flat_memory()
 {
    let data = tempfile::tempdir().expect("tempdir");
    let mut serve = start(data.path(), "127.0.0.1:0", &[]);
    let host = serve.addr.to_string();
    let list = call(serve.addr, &host, &[], "ListStateMachines", "{}");
    assert_eq!(list.status, 200, "{list:?}");
    let baseline = peak_kib(&serve);

    // 200 MB declared up front: refused before it is read.
    let declared = send_huge(
        serve.addr,
        format!(
            "POST / HTTP/1.1\r\nHost: {host}\r\nX-Amz-Target: AWSStepFunctions.StartExecution\r\n\
             Content-Type: application/x-amz-json-1.0\r\nContent-Length: {HUGE}\r\n\r\n"
        ),
        false,
    );
    assert_eq!(declared.status, 413, "{declared:?}");
    assert!(declared.body["__type"].is_string(), "{declared:?}");

    // 200 MB without a declared length: refused once the limit is passed while reading.
    let streamed = send_huge(
        serve.addr,
        format!(
            "POST / HTTP/1.1\r\nHost: {host}\r\nX-Amz-Target: AWSStepFunctions.StartExecution\r\n\
             Content-Type: application/x-amz-json-1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
        ),
        true,
    );
    assert_eq!(streamed.status, 413, "{streamed:?}");
    assert!(streamed.body["__type"].is_string(), "{streamed:?}");

    // A web page resolving its own name to 127.0.0.1 (DNS rebinding) sends its own Host.
    let port = serve.addr.port();
    for foreign in [format!("evil.example:{port}"), "evil.example".to_owned()] {
        let refused = call(
            serve.addr,
            &foreign,
            &[],
            "StartExecution",
            r#"{"stateMachineArn":"x"}"#,
        );
        assert!(
            matches!(refused.status, 403 | 421),
            "Host {foreign}: {refused:?}"
        );
        assert!(refused.body["__type"].is_string(), "{refused:?}");
    }

    // A token past any list: AWS's InvalidToken, not a panic.
    let overflow = call(
        serve.addr,
        &host,
        &[],
        "ListStateMachines",
        r#"{"nextToken":"18446744073709551615","maxResults":1000}"#,
    );
    assert_aws_error(&overflow, 400, "InvalidToken");

    // Still serving, the names a client may use for it included, and memory flat.
    for name in [host, format!("localhost:{port}")] {
        let again = call(serve.addr, &name, &[], "ListStateMachines", "{}");
        assert_eq!(again.status, 200, "Host {name}: {again:?}");
        assert!(again.body["stateMachines"].is_array(), "{again:?}");
    }
    assert!(
        serve.child.try_wait().expect("try_wait").is_none(),
        "serve exited"
    );
    let peak = peak_kib(&serve);
    assert!(
        peak < baseline + MEMORY_SLACK_KIB,
        "peak resident memory grew from {baseline} KiB to {peak} KiB"
    );
}

#[test]
fn a_worker_without_the_servers_secret_is_refused_at_start_saying_what_to_set() {
    let data = tempfile::tempdir().expect("tempdir");
    let serve = start(
        data.path(),
        "127.0.0.1:0",
        &[("RECORDER_API_SECRET", "correct horse")],
    );
    let worker_data = tempfile::tempdir().expect("tempdir");
    let mut worker = Command::new(env!("CARGO_BIN_EXE_recorder"));
    worker
        .arg("--data-dir")
        .arg(worker_data.path())
        .args(["worker", "--endpoint", &format!("http://{}", serve.addr)])
        .stdin(Stdio::null());
    for variable in API_VARIABLES {
        worker.env_remove(variable);
    }
    let output = worker.output().expect("recorder worker runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("refused this worker") && stderr.contains("RECORDER_API_SECRET"),
        "{stderr}"
    );
}
