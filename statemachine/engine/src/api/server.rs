//! The HTTP server (hyper 1, HTTP/1.1) serving the API on a local address, with the bounds a
//! server reachable by other processes (and, through DNS rebinding, by web pages) needs: who may
//! call it ([`super::access`]), how large a request may be and how long it may take to arrive
//! ([`super::body`], hyper's header limits), and how many connections it serves at once
//! ([`super::connection`]). Every refusal is an AWS JSON error an SDK client can read.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONNECTION, CONTENT_TYPE, HeaderValue};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

use super::access::{AccessPolicy, Denied};
use super::actions::dispatch;
use super::body::{BodyError, read_body};
use super::connection::{StallGuard, accept_loop};
use crate::engine::Engine;
use crate::error::ApiError;

/// Target prefix of every action (`X-Amz-Target: AWSStepFunctions.StartExecution`).
const TARGET_PREFIX: &str = "AWSStepFunctions.";
/// Request bodies above this are refused with 413 before more is read (AWS: a definition is at
/// most 1 MiB, an execution input or task output 256 KiB; JSON escaping can double a
/// definition's size in a CreateStateMachine body).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// hyper's read buffer, which bounds the request line and headers together (431 above it). An
/// SDK request's headers (SigV4 authorization, user agent, x-amz-*) are under 2 KiB; hyper's
/// minimum is 8 KiB.
const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Connections served at once. Each may hold a body of up to [`MAX_BODY_BYTES`], so request
/// bodies take at most 64 × 2 MiB = 128 MiB; a worker process holds about one connection per
/// activity it polls plus its heartbeats, so this serves several worker processes.
const DEFAULT_MAX_CONNECTIONS: usize = 64;
/// The time a client has to send a request's headers, counted from the connection's start or
/// from the end of the previous response: it is also the keep-alive idle timeout. (A
/// `GetActivityTask` long poll waits for up to 60 s *after* its headers, in the handler, where
/// this does not apply.)
const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// The time a client has to send a request's body once its headers are in.
const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// The time a response write may make no progress (the client stopped reading).
const DEFAULT_WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(30);

/// How the server guards itself; [`ServerOptions::default`] suits a loopback server.
#[derive(Clone)]
pub struct ServerOptions {
    /// When set, every request must carry `x-recorder-api-secret: <secret>` (403 otherwise).
    /// Off by default; set it when the server listens on a non-loopback address.
    pub shared_secret: Option<String>,
    /// Host names accepted in the `Host` header besides the ones the bound address implies
    /// (`localhost` and loopback IPs for a loopback bind, the bound IP otherwise), e.g. a LAN
    /// name workers use. Without a port; the port must be the bound one.
    pub extra_hosts: Vec<String>,
    /// Connections served at once; further connections wait in the listen backlog.
    pub max_connections: usize,
    /// Time to send a request's headers, also the keep-alive idle timeout.
    pub header_timeout: Duration,
    /// Time to send a request's body.
    pub body_timeout: Duration,
    /// Time a response write may make no progress before the connection is dropped.
    pub write_stall_timeout: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            shared_secret: None,
            extra_hosts: Vec::new(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            write_stall_timeout: DEFAULT_WRITE_STALL_TIMEOUT,
        }
    }
}

impl std::fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerOptions")
            .field(
                "shared_secret",
                &self.shared_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("extra_hosts", &self.extra_hosts)
            .field("max_connections", &self.max_connections)
            .field("header_timeout", &self.header_timeout)
            .field("body_timeout", &self.body_timeout)
            .field("write_stall_timeout", &self.write_stall_timeout)
            .finish()
    }
}

/// A running server; dropping it does not stop it, [`ServerHandle::shutdown`] does.
#[derive(Debug)]
pub struct ServerHandle {
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl ServerHandle {
    /// Stops accepting connections and waits for the accept loop to end.
    pub async fn shutdown(self) {
        self.shutdown.send_replace(true);
        let _ = self.task.await;
    }
}

/// A request answered with an error before (or instead of) running its action.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    error: ApiError,
    /// The body was not read to its end: the connection cannot carry another request.
    close: bool,
}

impl Refusal {
    fn bad_request(error: ApiError) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error,
            close: false,
        }
    }
}

impl From<Denied> for Refusal {
    fn from(Denied(message): Denied) -> Self {
        // Worth an operator's attention: a misconfigured worker, or a web page trying its luck.
        tracing::warn!(reason = %message, "api request refused");
        Self {
            status: StatusCode::FORBIDDEN,
            error: ApiError::new("AccessDeniedException", message),
            close: true,
        }
    }
}

impl From<BodyError> for Refusal {
    fn from(error: BodyError) -> Self {
        let (status, error) = match error {
            BodyError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ApiError::new(
                    "RequestEntityTooLargeException",
                    format!("the request body exceeds {MAX_BODY_BYTES} bytes"),
                ),
            ),
            BodyError::TimedOut => (
                StatusCode::REQUEST_TIMEOUT,
                ApiError::new(
                    "RequestTimeoutException",
                    "the request body did not arrive in time",
                ),
            ),
            BodyError::Read(e) => (
                StatusCode::BAD_REQUEST,
                ApiError::validation(format!("cannot read the body: {e}")),
            ),
        };
        Self {
            status,
            error,
            close: true,
        }
    }
}

fn response(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    response
}

fn error_response(refusal: &Refusal) -> Response<Full<Bytes>> {
    let mut answer = response(
        refusal.status,
        &json!({"__type": refusal.error.code, "message": refusal.error.message}),
    );
    if refusal.close {
        answer
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    answer
}

/// What every connection shares.
#[derive(Debug)]
struct Shared {
    engine: Engine,
    access: AccessPolicy,
    body_timeout: Duration,
}

async fn respond(shared: &Shared, request: Request<Incoming>) -> Result<Value, Refusal> {
    shared.access.check(request.headers())?;
    let action = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix(TARGET_PREFIX))
        .map(str::to_owned)
        .ok_or_else(|| {
            Refusal::bad_request(ApiError::new(
                "UnknownOperationException",
                "missing or unknown X-Amz-Target header",
            ))
        })?;
    let body = read_body(request.into_body(), MAX_BODY_BYTES, shared.body_timeout).await?;
    let payload: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            Refusal::bad_request(ApiError::new("SerializationException", e.to_string()))
        })?
    };
    if !payload.is_object() {
        return Err(Refusal::bad_request(ApiError::new(
            "SerializationException",
            "the request body must be a JSON object",
        )));
    }
    tracing::debug!(action = %action, "step functions api call");
    dispatch(&shared.engine, &action, &payload)
        .await
        .map_err(Refusal::bad_request)
}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(match respond(&shared, request).await {
        Ok(body) => response(StatusCode::OK, &body),
        Err(refusal) => error_response(&refusal),
    })
}

/// Serves the API of `engine` on `addr` (use `127.0.0.1:0` for a free port) with the default
/// [`ServerOptions`]. Returns the bound address and a handle to stop the server.
pub async fn start_server(
    engine: Engine,
    addr: SocketAddr,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    start_server_with(engine, addr, ServerOptions::default()).await
}

/// Serves the API of `engine` on `addr` with `options`.
///
/// # Errors
/// The address cannot be bound, or `options` are unusable (an empty shared secret, no
/// connection slot).
pub async fn start_server_with(
    engine: Engine,
    addr: SocketAddr,
    options: ServerOptions,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let invalid = |message: &str| std::io::Error::new(std::io::ErrorKind::InvalidInput, message);
    if options.shared_secret.as_deref() == Some("") {
        return Err(invalid("the API shared secret is empty"));
    }
    if options.max_connections == 0 {
        return Err(invalid("the API needs at least one connection slot"));
    }
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let shared = Arc::new(Shared {
        engine,
        access: AccessPolicy::new(
            local,
            &options.extra_hosts,
            options.shared_secret.as_deref(),
        ),
        body_timeout: options.body_timeout,
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout)
        .max_buf_size(MAX_HEADER_BYTES);
    let stall = options.write_stall_timeout;
    let slots = Arc::new(Semaphore::new(
        options.max_connections.min(Semaphore::MAX_PERMITS),
    ));
    let (shutdown, stop) = watch::channel(false);
    let task = tokio::spawn(accept_loop(listener, slots, stop, move |stream, slot| {
        let shared = Arc::clone(&shared);
        let connection = http.serve_connection(
            TokioIo::new(StallGuard::new(stream, stall)),
            service_fn(move |request| handle(Arc::clone(&shared), request)),
        );
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }));
    Ok((local, ServerHandle { shutdown, task }))
}
