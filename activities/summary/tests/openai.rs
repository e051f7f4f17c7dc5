//! The OpenAI-compatible adapter against a tiny HTTP server on 127.0.0.1: request shape (one
//! forced function tool, transcript only in the user message), repair through a `tool` message,
//! and 429 as retryable.

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use common::{assert_schema_valid, whisper_meeting};
use meeting_domain::contracts::{SummaryError, SummaryKind};
use serde_json::{Value, json};
use summary::model::openai::{OpenAiChatModel, OpenAiConfig, OpenAiSummarizer};
use summary::model::{ModelSummaryConfig, TOOL_NAME};
use summary::{SummarizeError, Summarizer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A one-route HTTP server: answers each request with the next scripted (status, body) and
/// records the request bodies and authorization headers.
struct Server {
    base_url: String,
    bodies: Arc<Mutex<Vec<Value>>>,
    authorizations: Arc<Mutex<Vec<Option<String>>>>,
}

async fn serve(replies: Vec<(u16, Value)>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base_url = format!("http://{}/v1", listener.local_addr().expect("addr"));
    let bodies: Arc<Mutex<Vec<Value>>> = Arc::default();
    let authorizations: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let replies = Arc::new(Mutex::new(VecDeque::from(replies)));
    let (seen, auth) = (bodies.clone(), authorizations.clone());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buffer = Vec::new();
            let mut chunk = [0u8; 8192];
            let (header_end, length) = loop {
                let n = socket.read(&mut chunk).await.expect("read");
                assert!(n > 0, "connection closed before the request ended");
                buffer.extend_from_slice(&chunk[..n]);
                if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buffer[..at]).to_lowercase();
                    let length = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    break (at + 4, length);
                }
            };
            while buffer.len() < header_end + length {
                let n = socket.read(&mut chunk).await.expect("read body");
                assert!(n > 0, "connection closed before the body ended");
                buffer.extend_from_slice(&chunk[..n]);
            }
            let head = String::from_utf8_lossy(&buffer[..header_end]).to_string();
            assert!(head.starts_with("POST /v1/chat/completions "), "{head}");
            auth.lock().expect("lock").push(
                head.lines()
                    .find(|l| l.to_lowercase().starts_with("authorization:"))
                    .map(|l| l["authorization:".len()..].trim().to_owned()),
            );
            let body: Value = serde_json::from_slice(&buffer[header_end..header_end + length])
                .expect("json body");
            seen.lock().expect("lock").push(body);
            let (status, reply) = replies
                .lock()
                .expect("lock")
                .pop_front()
                .unwrap_or((500, json!({"error": "no more replies"})));
            let text = reply.to_string();
            let response = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n{text}",
                text.len()
            );
            socket.write_all(response.as_bytes()).await.expect("write");
            socket.shutdown().await.ok();
        }
    });
    Server {
        base_url,
        bodies,
        authorizations,
    }
}

fn tool_call(arguments: &Value) -> (u16, Value) {
    (
        200,
        json!({
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "choices": [{
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": null,
                    "tool_calls": [{
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": TOOL_NAME, "arguments": arguments.to_string()}
                    }]
                }
            }]
        }),
    )
}

fn answer() -> Value {
    json!({
        "summary": "Planning: budget, design review, release on Monday.",
        "actionItems": [{"task": "Send the budget", "owner": "Alice", "due": "Friday", "sourceTime": 11.4}],
        "decisions": [{"decision": "Ship on Monday", "sourceTime": 29.8}]
    })
}

/// Summarizes with `summarizer`, which must fail as a request the service rejected (not
/// retryable); the error, for further checks.
async fn rejected(summarizer: OpenAiSummarizer, why: &str) -> SummarizeError {
    let error = summarizer
        .summarize(&whisper_meeting())
        .await
        .expect_err(why);
    assert!(
        matches!(error, SummarizeError::ServiceRejected { .. }),
        "{why}: {error}"
    );
    error
}

fn summarizer(server: &Server) -> OpenAiSummarizer {
    let mut config = OpenAiConfig::new(&server.base_url, "llama-3.1-8b-instruct");
    config.api_key = Some("secret-key".to_owned());
    let model = OpenAiChatModel::new(config).expect("model");
    OpenAiSummarizer::new(model, ModelSummaryConfig::default()).expect("summarizer")
}

#[tokio::test]
async fn given_a_tool_call_answer_when_summarizing_then_the_request_forces_the_only_tool() {
    let server = serve(vec![tool_call(&answer())]).await;

    let summary = summarizer(&server)
        .summarize(&whisper_meeting())
        .await
        .expect("summary");

    assert_schema_valid(&summary);
    assert_eq!(summary.kind, SummaryKind::Generated);
    assert_eq!(summary.engine.name, "openai-compatible");
    assert_eq!(summary.action_items[0].owner.as_deref(), Some("Alice"));
    let bodies = server.bodies.lock().expect("lock").clone();
    assert_eq!(bodies.len(), 1);
    let body = &bodies[0];
    assert_eq!(body["model"], "llama-3.1-8b-instruct");
    assert_eq!(body["tools"].as_array().expect("tools").len(), 1);
    assert_eq!(body["tools"][0]["function"]["name"], TOOL_NAME);
    assert_eq!(body["tool_choice"]["function"]["name"], TOOL_NAME);
    assert_eq!(body["messages"][0]["role"], "system");
    let system = body["messages"][0]["content"].as_str().expect("system");
    assert!(!system.contains("Alice will send the budget"));
    let user = body["messages"][1]["content"].as_str().expect("user");
    assert!(user.starts_with("<transcript>") && user.contains("Alice will send the budget"));
    assert_eq!(
        server.authorizations.lock().expect("lock")[0].as_deref(),
        Some("Bearer secret-key")
    );
}

#[tokio::test]
async fn given_invalid_arguments_when_summarizing_then_the_repair_goes_back_as_a_tool_message() {
    let server = serve(vec![
        tool_call(&json!({"summary": "", "actionItems": [], "decisions": [], "extra": 1})),
        tool_call(&answer()),
    ])
    .await;

    summarizer(&server)
        .summarize(&whisper_meeting())
        .await
        .expect("repaired");

    let bodies = server.bodies.lock().expect("lock").clone();
    assert_eq!(bodies.len(), 2);
    let messages = bodies[1]["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 4);
    assert_eq!(messages[2]["tool_calls"][0]["id"], "call_1");
    assert_eq!(messages[3]["role"], "tool");
    assert_eq!(messages[3]["tool_call_id"], "call_1");
    assert!(
        messages[3]["content"]
            .as_str()
            .expect("feedback")
            .contains("extra")
    );
}

#[tokio::test]
async fn given_http_429_when_summarizing_then_the_error_is_retryable() {
    let server = serve(vec![(429, json!({"error": "rate limited"}))]).await;
    let error = summarizer(&server)
        .summarize(&whisper_meeting())
        .await
        .expect_err("rate limited");
    assert!(
        matches!(error, SummarizeError::ServiceUnavailable { .. }),
        "{error}"
    );
    assert_eq!(error.kind(), SummaryError::ServiceUnavailable);
}

#[tokio::test]
async fn given_http_401_when_summarizing_then_the_error_is_a_rejected_request() {
    let server = serve(vec![(401, json!({"error": "bad key"}))]).await;
    let error = rejected(summarizer(&server), "unauthorized").await;
    assert!(!error.is_retryable());
}

#[test]
fn given_an_api_key_and_plain_http_to_another_host_when_configured_then_it_is_refused() {
    for base in [
        "http://llm.example.com/v1",
        "http://10.0.0.7:8000/v1",
        "HTTP://llm.example.com/v1",
    ] {
        let mut config = OpenAiConfig::new(base, "m");
        config.api_key = Some("secret-key".to_owned());
        let error = OpenAiChatModel::new(config).expect_err(base);
        assert!(
            matches!(&error, SummarizeError::Config(m) if m.contains("plain http://")),
            "{base}: {error}"
        );
        assert!(!error.to_string().contains("secret-key"), "{error}");
    }
}

#[test]
fn given_https_or_a_loopback_server_or_no_key_when_configured_then_it_is_accepted() {
    let with_key = [
        "https://llm.example.com/v1",
        "http://127.0.0.1:8080/v1",
        "http://127.0.0.53/v1",
        "http://[::1]:8080/v1",
        "http://localhost:11434/v1",
    ];
    for base in with_key {
        let mut config = OpenAiConfig::new(base, "m");
        config.api_key = Some("secret-key".to_owned());
        OpenAiChatModel::new(config).unwrap_or_else(|e| panic!("{base}: {e}"));
    }
    // Without a key nothing secret travels: a plain-http server elsewhere is the user's choice.
    OpenAiChatModel::new(OpenAiConfig::new("http://llm.example.com/v1", "m")).expect("no key");
    for bad in ["ftp://llm.example.com/v1", "llm.example.com/v1"] {
        assert!(
            OpenAiChatModel::new(OpenAiConfig::new(bad, "m")).is_err(),
            "{bad}"
        );
    }
}

/// A server that answers every request with `head` and then up to `body_bytes` bytes of `x`,
/// counting how many body bytes it managed to write before the client hung up.
async fn serve_raw(head: String, body_bytes: usize) -> (String, Arc<Mutex<usize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base_url = format!("http://{}/v1", listener.local_addr().expect("addr"));
    let written = Arc::new(Mutex::new(0usize));
    let counter = written.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0u8; 65536];
            let _ = socket.read(&mut request).await;
            if socket.write_all(head.as_bytes()).await.is_err() {
                continue;
            }
            let block = vec![b'x'; 64 * 1024];
            let mut sent = 0;
            while sent < body_bytes {
                let n = block.len().min(body_bytes - sent);
                if socket.write_all(&block[..n]).await.is_err() {
                    break;
                }
                sent += n;
                *counter.lock().expect("lock") = sent;
            }
            socket.shutdown().await.ok();
        }
    });
    (base_url, written)
}

fn keyed_model(base_url: &str) -> OpenAiSummarizer {
    let mut config = OpenAiConfig::new(base_url, "m");
    config.api_key = Some("secret-key".to_owned());
    OpenAiSummarizer::new(
        OpenAiChatModel::new(config).expect("model"),
        ModelSummaryConfig::default(),
    )
    .expect("summarizer")
}

#[tokio::test]
async fn given_a_response_declared_larger_than_the_limit_when_summarizing_then_it_is_refused_unread()
 {
    const OFFERED: usize = 100 * 1024 * 1024;
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {OFFERED}\r\n\
         connection: close\r\n\r\n"
    );
    let (base_url, written) = serve_raw(head, OFFERED).await;
    let error = rejected(keyed_model(&base_url), "too large").await;
    let source = std::error::Error::source(&error).map(ToString::to_string);
    assert!(
        source.as_deref().is_some_and(|s| s.contains("larger than")),
        "{source:?}"
    );
    assert!(*written.lock().expect("lock") < OFFERED);
}

#[tokio::test]
async fn given_an_endless_response_without_a_length_when_summarizing_then_reading_stops_at_the_limit()
 {
    const OFFERED: usize = 100 * 1024 * 1024;
    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n";
    let (base_url, written) = serve_raw(head.to_owned(), OFFERED).await;
    let error = rejected(keyed_model(&base_url), "too large").await;
    assert!(!error.is_retryable());
    // The client hung up after the limit: the server could not push the 100 MiB it offered
    // (socket buffers hold a few MiB at most).
    let sent = *written.lock().expect("lock");
    assert!(
        sent < summary::model::openai::MAX_RESPONSE_BYTES + 32 * 1024 * 1024,
        "the client read {sent} bytes"
    );
}

#[tokio::test]
async fn given_a_redirect_when_summarizing_then_it_is_not_followed_and_the_key_stays() {
    let elsewhere = serve(vec![tool_call(&answer())]).await;
    let head = format!(
        "HTTP/1.1 307 Temporary Redirect\r\nlocation: {}/chat/completions\r\n\
         content-length: 0\r\nconnection: close\r\n\r\n",
        elsewhere.base_url
    );
    let (base_url, _) = serve_raw(head, 0).await;
    rejected(keyed_model(&base_url), "redirect").await;
    assert!(elsewhere.authorizations.lock().expect("lock").is_empty());
}
