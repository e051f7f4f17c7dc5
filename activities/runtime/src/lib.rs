//! The activity worker runtime and the activities it runs.
//!
//! An [`activity::Activity`] is the code behind one Step Functions activity; its types and error
//! names come from its [`meeting_domain::activity::ActivityContract`], which the workflow generator
//! uses too. A [`Registry`] holds many typed activities behind one erased interface; a [`Worker`]
//! polls an [`meeting_domain::ports::ActivityTaskSource`] for each of them (Step Functions through
//! [`sfn::SfnTaskSource`], the local engine, or a fake), heartbeats, checks outputs against their
//! schema, reports results — spooled in a [`spool::ResultSpool`] until they are accepted, with
//! heartbeats until then — and shuts down without losing a task.

pub mod activity;
pub mod backoff;
pub mod error;
pub mod fs_spool;
mod heartbeat;
pub mod identity;
pub mod limits;
pub mod registry;
pub mod sfn;
pub mod signals;
pub mod spool;
pub mod worker;

pub use activity::{Activity, Failure, TaskContext};
pub use backoff::Backoff;
pub use error::RuntimeError;
pub use fs_spool::FsResultSpool;
pub use registry::{Outcome, RegisteredActivity, Registry};
pub use spool::{MemoryResultSpool, ResultSpool, SpooledReport, SpooledResult};
pub use worker::{ReplaySummary, TaskReport, TaskResult, Worker, WorkerConfig, WorkerSummary};
