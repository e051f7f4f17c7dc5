//! The embedded default: the meeting-recorder backend on one machine with no AWS account.
//!
//! The same domain code, the same generated workflow (`asl/processing.asl.json`, interpreted by the
//! local engine) and the same activity workers as on AWS; only the adapters differ:
//! [`object_store::DirObjectStore`] (a data directory emitting S3-shaped events),
//! [`sqlite`] (chunk table and catalog), [`event_bus`] (the generated EventBridge patterns) and
//! [`catalog_table`] (the catalog behind the engine's DynamoDB integration). [`runtime`] composes
//! them with the local engine and in-process workers into [`runtime::LocalBackend`].

pub mod catalog_table;
pub mod error;
pub mod event_bus;
pub mod object_store;
pub mod runtime;
pub mod sqlite;

pub use error::LocalError;
