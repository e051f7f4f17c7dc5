//! The Step Functions API over HTTP (AWS JSON 1.0): `POST /` with
//! `X-Amz-Target: AWSStepFunctions.<Action>`, JSON in and out, errors as HTTP 400
//! `{"__type": code, "message": ...}` (403, 408 and 413 for requests refused before their action
//! runs: see [`start_server_with`]; hyper itself answers 431 to oversized headers).

mod access;
mod actions;
mod body;
mod connection;
mod server;
mod test_state;
mod validate;

pub use access::SECRET_HEADER;
pub use actions::dispatch;
pub use server::{MAX_BODY_BYTES, ServerHandle, ServerOptions, start_server, start_server_with};
