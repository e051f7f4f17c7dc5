//! A fake AWS Lambda Runtime API (the `2018-06-01` interface) on 127.0.0.1, so a real `bootstrap`
//! can be run outside Lambda: the first `GET /2018-06-01/runtime/invocation/next` receives the one
//! queued event with the headers Lambda sends; later `next` polls are held open, as Lambda does
//! between invocations; every request is recorded with the instant it arrived.
//!
//! Standard library only (blocking sockets, one thread per connection), so the cold-start bench
//! (`lambdas/benches/cold_start.rs`) and the packaging test (`tests/tests/lambda_package.rs`, via
//! `#[path]`) share it without extra dependencies. HTTP/1.1 with keep-alive, `Content-Length` and
//! chunked request bodies: what the `lambda_runtime` client sends.

#![allow(dead_code)] // each includer uses a different part

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The `Lambda-Runtime-Aws-Request-Id` of the queued invocation.
pub const REQUEST_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

/// The path polled for the next invocation.
pub const NEXT_PATH: &str = "/2018-06-01/runtime/invocation/next";

/// One request the bootstrap made.
#[derive(Clone, Debug)]
pub struct Request {
    /// When its request line arrived.
    pub at: Instant,
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Body, as text.
    pub body: String,
}

/// A running fake; its threads end when the bootstrap closes its connections.
#[derive(Debug)]
pub struct FakeRuntimeApi {
    address: SocketAddr,
    requests: Receiver<Request>,
}

impl FakeRuntimeApi {
    /// Listens on an ephemeral 127.0.0.1 port and queues `event` (JSON text) as the one invocation.
    pub fn start(event: &str) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?;
        let (sender, requests) = channel();
        let pending = Arc::new(Mutex::new(Some(event.to_owned())));
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (sender, pending) = (sender.clone(), Arc::clone(&pending));
                thread::spawn(move || {
                    // A reset connection (the bootstrap was killed) just ends this thread.
                    let _ = serve(stream, &sender, &pending);
                });
            }
        });
        Ok(Self { address, requests })
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API` (`host:port`).
    pub fn runtime_api(&self) -> String {
        self.address.to_string()
    }

    /// The next request the bootstrap made, or `None` if none came within `timeout`.
    pub fn next_request(&self, timeout: Duration) -> Option<Request> {
        self.requests.recv_timeout(timeout).ok()
    }
}

fn serve(
    stream: TcpStream,
    sender: &Sender<Request>,
    pending: &Mutex<Option<String>>,
) -> io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let at = Instant::now();
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let path = parts.next().unwrap_or_default().to_owned();
        let (mut length, mut chunked) = (0usize, false);
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header)? == 0 {
                return Ok(());
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or((header, ""));
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().unwrap_or(0);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            }
        }
        let body = if chunked {
            read_chunked(&mut reader)?
        } else {
            let mut body = vec![0; length];
            reader.read_exact(&mut body)?;
            body
        };
        let is_next = method == "GET" && path == NEXT_PATH;
        let _ = sender.send(Request {
            at,
            method,
            path,
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        if is_next {
            let event = pending
                .lock()
                .map_err(|_| io::Error::other("poisoned"))?
                .take();
            let Some(event) = event else {
                // No more invocations: hold the poll open until the bootstrap goes away.
                let mut rest = Vec::new();
                let _ = reader.read_to_end(&mut rest);
                return Ok(());
            };
            let deadline_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis()
                + 60_000;
            write!(
                writer,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                 Lambda-Runtime-Aws-Request-Id: {REQUEST_ID}\r\n\
                 Lambda-Runtime-Deadline-Ms: {deadline_ms}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: \
                 arn:aws:lambda:us-east-1:123456789012:function:fake\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1\r\n\
                 Content-Length: {}\r\n\r\n{event}",
                event.len()
            )?;
        } else {
            let ack = r#"{"status":"OK"}"#;
            write!(
                writer,
                "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\n\r\n{ack}",
                ack.len()
            )?;
        }
        writer.flush()?;
    }
}

fn read_chunked(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size)?;
        let size = size.trim().split(';').next().unwrap_or_default();
        let size = usize::from_str_radix(size, 16)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
        let mut chunk = vec![0; size + 2]; // data and its CRLF
        reader.read_exact(&mut chunk)?;
        if size == 0 {
            return Ok(body);
        }
        body.extend_from_slice(&chunk[..size]);
    }
}

/// The malformed-key EventBridge "Object Created" event: acknowledged without any AWS call.
pub const MALFORMED_KEY_EVENT: &str = r#"{"version":"0","id":"x","detail-type":"Object Created","source":"aws.s3","account":"123456789012","time":"2026-01-01T00:00:00Z","region":"us-east-1","resources":[],"detail":{"bucket":{"name":"b"},"object":{"key":"not/a/chunk.txt","size":1,"etag":"e","sequencer":"01"}}}"#;

/// An empty DynamoDB stream batch for the catalog stream handler: no record, no AWS call.
pub const EMPTY_STREAM_BATCH: &str = r#"{"Records":[]}"#;

/// A scheduled EventBridge event for the sweeper (it ignores the payload and queries the tables).
pub const SCHEDULED_EVENT: &str = r#"{"version":"0","id":"s","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"2026-01-01T00:00:00Z","region":"us-east-1","resources":[],"detail":{}}"#;

/// The environment Lambda would give `function` (the variables `lambda_runtime` requires and the
/// ones Terraform sets), with every AWS endpoint at `aws_endpoint` and static test credentials.
pub fn lambda_env(function: &str, runtime_api: &str, aws_endpoint: &str) -> Vec<(String, String)> {
    [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_LAMBDA_FUNCTION_NAME", function),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/fake"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "fake"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_ENDPOINT_URL", aws_endpoint),
        ("AWS_MAX_ATTEMPTS", "1"),
        ("RECORDINGS_BUCKET", "b"),
        ("CHUNK_TABLE", "chunks"),
        ("CATALOG_TABLE", "catalog"),
        (
            "STATE_MACHINE_ARN",
            "arn:aws:states:us-east-1:123456789012:stateMachine:processing",
        ),
        ("RUST_LOG", "info"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// `http://127.0.0.1:PORT` where nothing listens (the port was just released): any AWS call fails
/// at once with "connection refused" instead of reaching a real endpoint.
pub fn unreachable_endpoint() -> io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(format!("http://{}", listener.local_addr()?))
}
