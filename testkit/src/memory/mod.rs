//! In-memory fakes of the ports, with the same semantics as the real adapters (proven by the
//! suites in [`crate::contract`]).

pub mod catalog;
pub mod chunk_table;
pub mod object_store;
pub mod task_source;
pub mod workflow_starter;
