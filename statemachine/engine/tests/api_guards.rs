//! The API server's guards, over real TCP: who may call it (Host, Origin, shared secret), how
//! large and how slow a request may be, how many connections it serves, and that every refusal
//! is an AWS JSON error after which the server goes on serving. Time-dependent cases run on a
//! paused tokio clock.

mod raw_http;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use asl_engine::{Engine, EngineConfig, ServerHandle, ServerOptions, start_server_with};
use raw_http::{Req, read_reply, read_until_closed, send};
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};

const MIB: usize = 1024 * 1024;
/// Longer than any timeout of the server: waiting this long (in virtual time) for something
/// that should happen sooner is how a test notices it did not.
const PATIENCE: Duration = Duration::from_secs(600);

async fn serve(options: ServerOptions) -> (Engine, SocketAddr, ServerHandle) {
    let engine = Engine::new(EngineConfig::default());
    let (addr, handle) = start_server_with(
        engine.clone(),
        SocketAddr::from(([127, 0, 0, 1], 0)),
        options,
    )
    .await
    .expect("server starts");
    (engine, addr, handle)
}

/// THEN the server still answers a plain request.
async fn assert_alive(addr: SocketAddr) {
    let reply = send(addr, &Req::action(addr, "ListStateMachines").body("{}"))
        .await
        .expect("the server still answers");
    assert_eq!(reply.status, 200, "{reply:?}");
}

fn assert_error(reply: &raw_http::Reply, status: u16, error_type: &str) {
    assert_eq!(reply.status, status, "{reply:?}");
    assert!(reply.is_aws_error(), "not an AWS JSON error: {reply:?}");
    assert_eq!(reply.error_type().as_deref(), Some(error_type), "{reply:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_mb_chunked_body_is_refused_with_413_after_at_most_the_limit() {
    let (_engine, addr, _server) = serve(ServerOptions::default()).await;
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let request = Req::action(addr, "StartExecution")
        .without_content_length()
        .header("Transfer-Encoding", "chunked");
    let written = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&written);

    // WHEN the client streams 200 MB in 64 KiB chunks (never holding more than one)
    let streaming = tokio::spawn(async move {
        const CHUNK: usize = 64 * 1024;
        writer.write_all(&request.head(false)).await?;
        let chunk = [b' '; CHUNK];
        for _ in 0..(200 * MIB / CHUNK) {
            writer
                .write_all(format!("{CHUNK:x}\r\n").as_bytes())
                .await?;
            writer.write_all(&chunk).await?;
            writer.write_all(b"\r\n").await?;
            counter.fetch_add(CHUNK, Ordering::SeqCst);
        }
        writer.write_all(b"0\r\n\r\n").await
    });
    let reply = read_reply(&mut reader).await.expect("a reply");
    // The server stops reading: the client's writes fail once the socket buffers are full.
    let _ = streaming.await.expect("the streaming task ends");

    // THEN 413 with an AWS error, the connection closed, and the body was not read to its end
    assert_error(&reply, 413, "RequestEntityTooLargeException");
    assert_eq!(reply.header("connection"), Some("close"));
    let sent = written.load(Ordering::SeqCst);
    assert!(
        sent < 50 * MIB,
        "the client got {sent} bytes of a 200 MB body through: the server read past its 2 MiB limit"
    );
    assert_alive(addr).await;
}

#[tokio::test(start_paused = true)]
async fn a_declared_200_mb_body_is_refused_before_any_of_it_is_sent() {
    let (_engine, addr, _server) = serve(ServerOptions::default()).await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = Req::action(addr, "StartExecution")
        .without_content_length()
        .header("Content-Length", &(200 * MIB).to_string());

    // WHEN only the headers are sent
    stream
        .write_all(&request.head(false))
        .await
        .expect("headers");
    let reply = tokio::time::timeout(PATIENCE, read_reply(&mut stream))
        .await
        .expect("the server answers without waiting for the body")
        .expect("a reply");

    // THEN
    assert_error(&reply, 413, "RequestEntityTooLargeException");
    assert_alive(addr).await;
}

#[tokio::test(start_paused = true)]
async fn a_body_that_stops_arriving_is_answered_408() {
    let (_engine, addr, _server) = serve(ServerOptions::default()).await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = Req::action(addr, "ListStateMachines")
        .without_content_length()
        .header("Content-Length", "100");

    // WHEN ten of the hundred declared bytes arrive, then nothing
    stream
        .write_all(&request.head(false))
        .await
        .expect("headers");
    stream.write_all(b"{\"maxResul").await.expect("part");
    let reply = tokio::time::timeout(PATIENCE, read_reply(&mut stream))
        .await
        .expect("the server gives up on the body")
        .expect("a reply");

    // THEN
    assert_error(&reply, 408, "RequestTimeoutException");
    assert_alive(addr).await;
}

#[tokio::test]
async fn oversized_headers_are_refused_and_the_server_lives_on() {
    let (_engine, addr, _server) = serve(ServerOptions::default()).await;
    // 20 KiB of headers: above the server's 16 KiB, small enough to be sent whole before the
    // server answers (so the client sees the answer rather than a reset).
    let request = Req::action(addr, "ListStateMachines")
        .header("X-Padding", &"p".repeat(20 * 1024))
        .body("{}");

    let reply = send(addr, &request).await.expect("a reply");

    // THEN hyper's 431: no action ran
    assert_eq!(reply.status, 431, "{reply:?}");
    assert_alive(addr).await;
}

#[tokio::test]
async fn a_foreign_host_is_refused_before_the_action_runs() {
    let (engine, addr, _server) = serve(ServerOptions::default()).await;
    let body = json!({"name": "rebound"}).to_string();
    for host in [
        Some(format!("evil.example:{}", addr.port())),
        Some(format!("127.0.0.1.nip.io:{}", addr.port())),
        Some("127.0.0.1:1".to_owned()),
        None,
    ] {
        // WHEN a page that rebound its DNS name to 127.0.0.1 creates an activity
        let request = Req::action(addr, "CreateActivity")
            .host(host.as_deref())
            .body(body.clone());
        let reply = send(addr, &request).await.expect("a reply");

        // THEN
        assert_error(&reply, 403, "AccessDeniedException");
    }
    assert!(engine.activities().list().is_empty(), "an action ran");
    for host in ["localhost", "127.0.0.1", "[::1]"] {
        let request = Req::action(addr, "ListActivities")
            .host(Some(&format!("{host}:{}", addr.port())))
            .body("{}");
        assert_eq!(
            send(addr, &request).await.expect("reply").status,
            200,
            "{host}"
        );
    }
}

#[tokio::test]
async fn a_request_from_a_web_page_is_refused() {
    let (engine, addr, _server) = serve(ServerOptions::default()).await;

    let request = Req::action(addr, "CreateActivity")
        .header("Origin", "http://localhost:3000")
        .body(json!({"name": "from-a-page"}).to_string());
    let reply = send(addr, &request).await.expect("a reply");

    assert_error(&reply, 403, "AccessDeniedException");
    assert!(engine.activities().list().is_empty(), "the action ran");
}

#[tokio::test]
async fn with_a_shared_secret_only_requests_carrying_it_are_served() {
    let (_engine, addr, _server) = serve(ServerOptions {
        shared_secret: Some("correct horse".to_owned()),
        ..ServerOptions::default()
    })
    .await;
    let request = Req::action(addr, "ListStateMachines").body("{}");

    let missing = send(addr, &request).await.expect("reply");
    let wrong = send(
        addr,
        &request
            .clone()
            .header(asl_engine::api::SECRET_HEADER, "battery staple"),
    )
    .await
    .expect("reply");
    let right = send(
        addr,
        &request
            .clone()
            .header(asl_engine::api::SECRET_HEADER, "correct horse"),
    )
    .await
    .expect("reply");

    assert_error(&missing, 403, "AccessDeniedException");
    assert_error(&wrong, 403, "AccessDeniedException");
    assert_eq!(right.status, 200, "{right:?}");
}

#[tokio::test]
async fn an_empty_shared_secret_is_refused_at_start() {
    let engine = Engine::new(EngineConfig::default());
    let started = start_server_with(
        engine,
        SocketAddr::from(([127, 0, 0, 1], 0)),
        ServerOptions {
            shared_secret: Some(String::new()),
            ..ServerOptions::default()
        },
    )
    .await;
    assert!(started.is_err());
}

#[tokio::test]
async fn an_overflowing_next_token_is_an_invalid_token_over_http() {
    let (_engine, addr, _server) = serve(ServerOptions::default()).await;
    let request = Req::action(addr, "ListStateMachines")
        .body(json!({"nextToken": "18446744073709551615", "maxResults": 1000}).to_string());

    let reply = send(addr, &request).await.expect("a reply");

    assert_error(&reply, 400, "InvalidToken");
    assert_eq!(
        reply.json()["message"],
        json!("Invalid Token: '18446744073709551615'")
    );
    assert_alive(addr).await;
}

#[tokio::test]
async fn a_body_that_is_not_a_json_object_is_a_serialization_error() {
    let (_engine, addr, _server) = serve(ServerOptions::default()).await;
    for body in ["[]", "5", "\"x\"", "null", "{", "\u{0}"] {
        let reply = send(addr, &Req::action(addr, "ListStateMachines").body(body))
            .await
            .expect("a reply");
        assert_error(&reply, 400, "SerializationException");
    }
}

#[tokio::test(start_paused = true)]
async fn a_connection_that_never_finishes_its_headers_is_dropped() {
    let (_engine, addr, _server) = serve(ServerOptions::default()).await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");

    // WHEN a slowloris client sends half a request line and stops
    stream
        .write_all(b"POST / HTTP/1.1\r\nHo")
        .await
        .expect("part");
    let closed = tokio::time::timeout(PATIENCE, read_until_closed(&mut stream)).await;

    // THEN the server closes the connection (at its 30 s header timeout)
    assert!(closed.is_ok(), "the half-sent request held its connection");
    assert_alive(addr).await;
}

#[tokio::test(start_paused = true)]
async fn an_idle_keep_alive_connection_is_closed() {
    let (_engine, addr, _server) = serve(ServerOptions::default()).await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = Req::action(addr, "ListStateMachines").body("{}");
    stream
        .write_all(&request.bytes(false))
        .await
        .expect("request");
    let reply = read_reply(&mut stream).await.expect("reply");
    assert_eq!(reply.status, 200);

    // WHEN the client keeps the connection open and sends nothing more
    let closed = tokio::time::timeout(PATIENCE, read_until_closed(&mut stream)).await;

    // THEN the server closes it
    assert!(closed.is_ok(), "the idle connection was kept open");
}

#[tokio::test(start_paused = true)]
async fn a_long_poll_outlives_the_header_and_body_timeouts() {
    let (engine, addr, _server) = serve(ServerOptions::default()).await;
    let activity = engine.create_activity("idle").expect("activity");
    let request =
        Req::action(addr, "GetActivityTask").body(json!({"activityArn": activity.arn}).to_string());
    let started = tokio::time::Instant::now();

    let reply = send(addr, &request).await.expect("a reply");

    // THEN the poll ran its full 60 s and answered "no task"
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json(), json!({}));
    assert!(started.elapsed() >= Duration::from_secs(60));
}

#[tokio::test(start_paused = true)]
async fn connections_beyond_the_limit_wait_for_a_free_slot() {
    let (_engine, addr, _server) = serve(ServerOptions {
        max_connections: 2,
        header_timeout: Duration::from_secs(3600),
        ..ServerOptions::default()
    })
    .await;
    // GIVEN two connections holding both slots
    let first = TcpStream::connect(addr).await.expect("connect");
    let _second = TcpStream::connect(addr).await.expect("connect");

    // WHEN a third sends a request
    let mut third = TcpStream::connect(addr).await.expect("connect");
    let request = Req::action(addr, "ListStateMachines").body("{}");
    third
        .write_all(&request.bytes(true))
        .await
        .expect("request");
    let early = tokio::time::timeout(PATIENCE, read_reply(&mut third)).await;

    // THEN it is not served while the slots are taken, and is once one frees
    assert!(early.is_err(), "served beyond the limit: {early:?}");
    drop(first);
    let reply = tokio::time::timeout(PATIENCE, read_reply(&mut third))
        .await
        .expect("served once a slot is free")
        .expect("a reply");
    assert_eq!(reply.status, 200);
}

/// A finished execution whose history is about `events × 200 KiB` long.
async fn execution_with_a_large_history(engine: &Engine) -> String {
    let mut states = serde_json::Map::new();
    let count = 30;
    for i in 0..count {
        let state = if i + 1 == count {
            json!({"Type": "Pass", "End": true})
        } else {
            json!({"Type": "Pass", "Next": format!("S{}", i + 1)})
        };
        states.insert(format!("S{i}"), state);
    }
    let definition = json!({"StartAt": "S0", "States": states}).to_string();
    let machine = engine
        .create_state_machine(
            "large",
            &definition,
            "arn:aws:iam::123456789012:role/r",
            None,
        )
        .expect("machine");
    let input = json!({"pad": "x".repeat(200 * 1024)}).to_string();
    let execution = engine
        .start_execution(&machine.arn, Some("large"), Some(&input))
        .expect("execution");
    execution.wait().await;
    execution.arn.clone()
}

#[tokio::test(start_paused = true)]
async fn a_client_that_stops_reading_its_response_loses_its_connection_slot() {
    let (engine, addr, _server) = serve(ServerOptions {
        max_connections: 1,
        ..ServerOptions::default()
    })
    .await;
    let execution = execution_with_a_large_history(&engine).await;
    // GIVEN the only connection slot taken by a client with a tiny receive window, asking for
    // a response of several MB (more than the kernel buffers hold) and never reading it
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("buffer size");
    let mut slow = socket.connect(addr).await.expect("connect");
    let request = Req::action(addr, "GetExecutionHistory")
        .body(json!({"executionArn": execution}).to_string());
    slow.write_all(&request.bytes(true)).await.expect("request");

    // WHEN another client sends a request
    let reply = tokio::time::timeout(
        PATIENCE,
        send(addr, &Req::action(addr, "ListStateMachines").body("{}")),
    )
    .await;

    // THEN it is served once the stalled response is given up (30 s without progress)
    let reply = reply
        .expect("the stalled connection kept the only slot")
        .expect("a reply");
    assert_eq!(reply.status, 200);
    drop(slow);
}
