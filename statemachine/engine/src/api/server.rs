//! The HTTP server (hyper 1, HTTP/1.1) serving the API on a local address.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::actions::dispatch;
use crate::engine::Engine;
use crate::error::ApiError;

/// Target prefix of every action (`X-Amz-Target: AWSStepFunctions.StartExecution`).
const TARGET_PREFIX: &str = "AWSStepFunctions.";
/// Request bodies above this are refused (AWS: definitions up to 1 MiB; inputs 256 KiB).
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

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

fn response(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    response
}

fn error_response(error: &ApiError) -> Response<Full<Bytes>> {
    response(
        StatusCode::BAD_REQUEST,
        &json!({"__type": error.code, "message": error.message}),
    )
}

async fn handle(
    engine: Engine,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let target = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let Some(action) = target
        .as_deref()
        .and_then(|t| t.strip_prefix(TARGET_PREFIX))
        .map(str::to_owned)
    else {
        return Ok(error_response(&ApiError::new(
            "UnknownOperationException",
            "missing or unknown X-Amz-Target header",
        )));
    };
    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            return Ok(error_response(&ApiError::validation(format!(
                "cannot read the body: {e}"
            ))));
        }
    };
    if body.len() > MAX_BODY_BYTES {
        return Ok(error_response(&ApiError::validation(
            "the request body is too large",
        )));
    }
    let payload: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return Ok(error_response(&ApiError::new(
                    "SerializationException",
                    e.to_string(),
                )));
            }
        }
    };
    tracing::debug!(action = %action, "step functions api call");
    Ok(match dispatch(&engine, &action, &payload).await {
        Ok(body) => response(StatusCode::OK, &body),
        Err(e) => error_response(&e),
    })
}

/// Serves the API of `engine` on `addr` (use `127.0.0.1:0` for a free port). Returns the bound
/// address and a handle to stop the server.
pub async fn start_server(
    engine: Engine,
    addr: SocketAddr,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let (shutdown, mut stop) = watch::channel(false);
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let engine = engine.clone();
                    tokio::spawn(async move {
                        let service = service_fn(move |req| handle(engine.clone(), req));
                        if let Err(e) = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await
                        {
                            tracing::debug!(error = %e, "connection ended with an error");
                        }
                    });
                }
                _ = stop.wait_for(|s| *s) => break,
            }
        }
    });
    Ok((local, ServerHandle { shutdown, task }))
}
