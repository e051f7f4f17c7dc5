//! Running one definition to completion: what the `statemachine run` command calls.

use serde_json::Value;

use crate::engine::{Engine, EngineConfig, load_definition};
use crate::error::DefinitionError;
use crate::execution::ExecutionOutcome;
use crate::mocks::TestCaseMocks;
use crate::resources::Resources;

/// Options of [`run_to_completion`].
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Run on virtual time: a paused tokio clock on a dedicated thread, so Waits, retry
    /// backoffs and timeouts take no real time.
    pub virtual_time: bool,
    /// Task resources (tables, custom handlers). Activities have no worker here: an activity
    /// task waits until its TimeoutSeconds.
    pub resources: Resources,
    /// Mocked task results (one test case of a mock configuration file): the mocked states
    /// return or throw what it says instead of running their resource.
    pub mocks: Option<TestCaseMocks>,
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The definition is invalid or unsupported.
    #[error(transparent)]
    Definition(#[from] DefinitionError),
    /// The input is not acceptable (too large).
    #[error("invalid input: {0}")]
    Input(String),
    /// The virtual-time thread could not be started or died.
    #[error("the engine thread failed: {0}")]
    Runtime(String),
}

const MACHINE_NAME: &str = "local";
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/local-engine";

async fn run_here(
    definition: &str,
    input: Value,
    resources: Resources,
    mocks: Option<TestCaseMocks>,
) -> Result<ExecutionOutcome, RunError> {
    load_definition(definition)?;
    let config = EngineConfig {
        resources,
        ..EngineConfig::default()
    };
    let engine = match mocks {
        Some(mocks) => Engine::with_mocks(config, mocks),
        None => Engine::new(config),
    };
    let machine = engine
        .create_state_machine(MACHINE_NAME, definition, ROLE_ARN, None)
        .map_err(|e| RunError::Definition(DefinitionError::Parse(e.message)))?;
    let input = serde_json::to_string(&input).unwrap_or_else(|_| "{}".into());
    let execution = engine
        .start_execution(&machine.arn, None, Some(&input))
        .map_err(|e| RunError::Input(e.message))?;
    Ok(execution.wait().await)
}

/// Runs `definition` on `input` and returns how the execution ended.
///
/// With `options.virtual_time` the execution runs on its own thread with a paused tokio clock
/// (callable from any context); otherwise it runs on the caller's runtime and clock.
pub async fn run_to_completion(
    definition: &str,
    input: Value,
    options: RunOptions,
) -> Result<ExecutionOutcome, RunError> {
    if !options.virtual_time {
        return run_here(definition, input, options.resources, options.mocks).await;
    }
    let definition = definition.to_owned();
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("asl-engine-virtual-time".into())
        .spawn(move || {
            let result = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .start_paused(true)
                .build()
                .map_err(|e| RunError::Runtime(e.to_string()))
                .and_then(|rt| {
                    rt.block_on(run_here(
                        &definition,
                        input,
                        options.resources,
                        options.mocks,
                    ))
                });
            let _ = tx.send(result);
        })
        .map_err(|e| RunError::Runtime(e.to_string()))?;
    rx.await
        .map_err(|_| RunError::Runtime("the engine thread ended without a result".into()))?
}
