//! A local Step Functions engine: interprets ASL (JSONPath mode) with a virtual clock and serves
//! the Step Functions API (AWS JSON 1.0) with activities.
//!
//! - [`Engine`]: state machines, executions, activities; the semantics of the API actions.
//! - [`api::start_server`]: the HTTP API for SDK clients (`AWS_ENDPOINT_URL`).
//! - [`run_to_completion`]: run one definition on one input (the CLI).
//! - [`Engine::activity_source`]: an in-process `ActivityTaskSource` for workers.
//! - [`LocalWorkflowStarter`]: the `WorkflowStarter` port on the engine.
//! - [`mocks`]: mocked task results (AWS Step Functions Local's mock configuration format).

pub mod activity;
pub mod api;
pub mod clock;
pub mod engine;
pub mod error;
pub mod execution;
pub mod history;
pub mod interpreter;
pub mod mocks;
pub mod resources;
pub mod run;
pub mod starter;

pub use activity::{ActivityQueue, InProcessActivities};
pub use api::{ServerHandle, ServerOptions, start_server, start_server_with};
pub use engine::{Engine, EngineConfig};
pub use error::{ApiError, DefinitionError, StatesError};
pub use execution::{ExecutionOutcome, ExecutionStatus};
pub use mocks::{MockConfig, MockConfigError, TestCaseMocks};
pub use resources::{
    DirectoryObjects, MemoryTables, ObjectReader, ObjectSummary, Resources, TableAdapter,
    TaskHandler,
};
pub use run::{RunError, RunOptions, run_to_completion};
pub use starter::LocalWorkflowStarter;
