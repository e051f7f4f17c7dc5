//! [`WorkflowStarter`] on the local engine: the local runtime starts processing executions
//! exactly as Step Functions would (execution name = idempotency key, canonical JSON input).

use async_trait::async_trait;
use meeting_domain::PortError;
use meeting_domain::contracts::ProcessingInput;
use meeting_domain::ports::{ExecutionState, StartOutcome, WorkflowStarter};

use crate::engine::Engine;

/// Starts executions of one state machine of a local [`Engine`].
#[derive(Clone, Debug)]
pub struct LocalWorkflowStarter {
    engine: Engine,
    state_machine_arn: String,
}

impl LocalWorkflowStarter {
    /// Starts executions of `state_machine_arn` on `engine`.
    pub fn new(engine: Engine, state_machine_arn: impl Into<String>) -> Self {
        Self {
            engine,
            state_machine_arn: state_machine_arn.into(),
        }
    }
}

#[async_trait]
impl WorkflowStarter for LocalWorkflowStarter {
    async fn describe(&self, name: &str) -> Result<Option<ExecutionState>, PortError> {
        let arn = format!(
            "{}:{name}",
            self.state_machine_arn
                .replacen(":stateMachine:", ":execution:", 1)
        );
        match self.engine.describe_execution(&arn) {
            Ok(execution) => {
                let state = execution.lock();
                let status = state.status;
                Ok(Some(ExecutionState {
                    status,
                    error: state.error.clone(),
                    cause: state.cause.clone(),
                }))
            }
            Err(e) if e.code == "ExecutionDoesNotExist" => Ok(None),
            Err(e) => Err(PortError::Rejected {
                service: "local step functions",
                source: Box::new(e),
            }),
        }
    }

    async fn start(&self, name: &str, input: &ProcessingInput) -> Result<StartOutcome, PortError> {
        let text = serde_json::to_string(input).map_err(|e| PortError::Rejected {
            service: "local step functions",
            source: Box::new(e),
        })?;
        match self.engine.start_execution_reporting(
            &self.state_machine_arn,
            Some(name),
            Some(&text),
        ) {
            Ok((execution, true)) => Ok(StartOutcome::Started {
                execution_arn: execution.arn.clone(),
            }),
            Ok((execution, false)) => Ok(StartOutcome::AlreadyRunning {
                execution_arn: execution.arn.clone(),
            }),
            Err(e) if e.code == "ExecutionAlreadyExists" => Err(PortError::Conflict {
                what: format!("execution {name}: {}", e.message),
            }),
            Err(e) if e.code == "StateMachineDoesNotExist" => Err(PortError::NotFound {
                what: format!("state machine {}", self.state_machine_arn),
            }),
            Err(e) => Err(PortError::Rejected {
                service: "local step functions",
                source: Box::new(e),
            }),
        }
    }
}
