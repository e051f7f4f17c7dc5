//! The processing workflow of the meeting recorder, written in Rust and emitted as Amazon States
//! Language.
//!
//! - [`asl`] (re-exported) is the typed model of the language and its validator;
//! - [`builder`] is a typed builder that makes invalid machines hard to write;
//! - [`dataflow`] follows the JSON Schemas of the contract types through the workflow;
//! - [`workflow`] is the processing workflow itself;
//! - [`generate`] writes `asl/` (definition, schemas, event patterns) and checks it is current.

pub use asl;

pub mod builder;
pub mod cli;
pub mod dataflow;
pub mod diagnostics;
pub mod error;
pub mod generate;
pub mod workflow;

pub use error::Error;
