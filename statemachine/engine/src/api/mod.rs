//! The Step Functions API over HTTP (AWS JSON 1.0): `POST /` with
//! `X-Amz-Target: AWSStepFunctions.<Action>`, JSON in and out, errors as HTTP 400
//! `{"__type": code, "message": ...}`.

mod actions;
mod server;

pub use actions::dispatch;
pub use server::{ServerHandle, start_server};
