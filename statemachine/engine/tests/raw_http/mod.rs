//! A minimal HTTP/1.1 client over a TCP stream, for tests that need what an SDK client will not
//! send: foreign Host headers, bodies streamed without end, headers never finished, garbage.

#![allow(dead_code)] // each test file uses its own subset

use std::io;
use std::net::SocketAddr;

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A request: the first line is `POST / HTTP/1.1`; headers and body as given.
#[derive(Debug, Clone)]
pub struct Req {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    content_length: bool,
}

impl Req {
    /// A request for `AWSStepFunctions.{action}` to `addr` as an SDK client sends it.
    pub fn action(addr: SocketAddr, action: &str) -> Self {
        Self::target(addr, Some(&format!("AWSStepFunctions.{action}")))
    }

    /// A request with this `X-Amz-Target` (none when `None`).
    pub fn target(addr: SocketAddr, target: Option<&str>) -> Self {
        let mut headers = vec![
            ("Host".to_owned(), format!("127.0.0.1:{}", addr.port())),
            (
                "Content-Type".to_owned(),
                "application/x-amz-json-1.0".to_owned(),
            ),
        ];
        if let Some(target) = target {
            headers.push(("X-Amz-Target".to_owned(), target.to_owned()));
        }
        Self {
            headers,
            body: Vec::new(),
            content_length: true,
        }
    }

    /// Replaces the Host header (removes it when `None`).
    pub fn host(mut self, host: Option<&str>) -> Self {
        self.headers.retain(|(k, _)| k != "Host");
        if let Some(host) = host {
            self.headers.insert(0, ("Host".to_owned(), host.to_owned()));
        }
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body (sent with its Content-Length).
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sends no Content-Length of its own (the caller adds one or a Transfer-Encoding).
    pub fn without_content_length(mut self) -> Self {
        self.content_length = false;
        self
    }

    /// The bytes of the request line and headers (ending with the blank line).
    pub fn head(&self, close: bool) -> Vec<u8> {
        let mut head = String::from("POST / HTTP/1.1\r\n");
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if self.content_length {
            head.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        if close {
            head.push_str("Connection: close\r\n");
        }
        head.push_str("\r\n");
        head.into_bytes()
    }

    /// The whole request.
    pub fn bytes(&self, close: bool) -> Vec<u8> {
        let mut bytes = self.head(close);
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

/// A response.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Value::Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The `__type` of an AWS JSON error body.
    pub fn error_type(&self) -> Option<String> {
        self.json()
            .get("__type")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// Whether this is a well-formed AWS JSON 1.0 error: 4xx, the protocol's content type, an
    /// object with a non-empty string `__type` and a string `message`.
    pub fn is_aws_error(&self) -> bool {
        let body = self.json();
        (400..500).contains(&self.status)
            && self.header("content-type") == Some("application/x-amz-json-1.0")
            && body
                .get("__type")
                .and_then(Value::as_str)
                .is_some_and(|t| !t.is_empty())
            && body.get("message").is_some_and(Value::is_string)
    }
}

/// Parses the status line and headers of `head` (up to, not including, the blank line).
fn parse_head(head: &[u8]) -> io::Result<(u16, Vec<(String, String)>)> {
    let text = std::str::from_utf8(head).map_err(io::Error::other)?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other(format!("bad status line {status_line:?}")))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Ok((status, headers))
}

/// Reads one response (headers, then a Content-Length body) from `stream`, leaving the
/// connection usable for the next one. `UnexpectedEof` when the server closed without a reply.
pub async fn read_reply(stream: &mut (impl AsyncRead + Unpin)) -> io::Result<Reply> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "the server closed the connection after {} bytes of reply",
                    head.len()
                ),
            ));
        }
        head.push(byte[0]);
    }
    let (status, headers) = parse_head(&head[..head.len() - 4])?;
    let length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await?;
    Ok(Reply {
        status,
        headers,
        body,
    })
}

/// Sends `request` on a new connection (`Connection: close`) and reads the reply.
pub async fn send(addr: SocketAddr, request: &Req) -> io::Result<Reply> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(&request.bytes(true)).await?;
    read_reply(&mut stream).await
}

/// Reads until the server closes the connection; the number of bytes read.
pub async fn read_until_closed(stream: &mut (impl AsyncRead + Unpin)) -> usize {
    let mut total = 0;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return total,
            Ok(n) => total += n,
        }
    }
}
