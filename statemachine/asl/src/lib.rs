//! The Amazon States Language as typed Rust.
//!
//! [`model`] is the document model: every state type and field of the language in both query
//! languages (JSONPath and JSONata), parsed strictly (unknown fields are errors) and emitted without
//! loss. The model deliberately represents some invalid combinations (for example `End` together
//! with `Next`) so that the validator can report them with a JSON pointer instead of a serde error.

pub mod intrinsics;
pub mod model;
pub mod path;
pub mod timestamp;
pub mod validate;

pub use model::{ParseError, State, StateMachine};
