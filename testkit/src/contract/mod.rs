//! Contract test suites: one per port, run against every implementation (fake, SQLite, AWS on an
//! emulator) so no implementation can promise what another would not do.

pub mod catalog;
pub mod chunk_table;
pub mod object_store;
pub mod task_source;
pub mod workflow_starter;
