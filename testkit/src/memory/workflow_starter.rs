//! In-memory [`WorkflowStarter`] with Step Functions' name idempotency: the same name and the same
//! canonical input while open is `AlreadyRunning`; other input, or a closed execution, is a
//! `Conflict`. Records every start attempt, and can be told to fail the next calls so tests can
//! prove that a failed start is retried.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use meeting_domain::PortError;
use meeting_domain::contracts::ProcessingInput;
use meeting_domain::ports::{ExecutionState, ExecutionStatus, StartOutcome, WorkflowStarter};

#[derive(Debug)]
struct Execution {
    input: String,
    state: ExecutionState,
}

/// The in-memory workflow starter.
#[derive(Debug, Default)]
pub struct MemoryWorkflowStarter {
    executions: Mutex<HashMap<String, Execution>>,
    started: Mutex<Vec<(String, ProcessingInput)>>,
    fail_next: AtomicU32,
    calls: AtomicU32,
}

impl MemoryWorkflowStarter {
    /// No executions.
    pub fn new() -> Self {
        Self::default()
    }

    /// The ARN the fake gives an execution name.
    pub fn arn(name: &str) -> String {
        format!("arn:aws:states:us-east-1:000000000000:execution:memory:{name}")
    }

    /// Executions actually created (not `AlreadyRunning` replays), in order.
    pub fn started(&self) -> Vec<(String, ProcessingInput)> {
        self.started
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Every call to `start`, including failed and idempotent ones.
    pub fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }

    /// Makes the next `n` calls fail with a retryable `Unavailable` error.
    pub fn fail_next(&self, n: u32) {
        self.fail_next.store(n, Ordering::SeqCst);
    }

    /// Closes an execution (it succeeded), so its name can no longer be started.
    pub fn close(&self, name: &str) {
        self.finish(name, ExecutionStatus::Succeeded, None, None);
    }

    /// Ends an execution with `status` (and error and cause), as Step Functions would on success,
    /// failure, `TimeoutSeconds` or StopExecution. Returns whether it was running.
    pub fn finish(
        &self,
        name: &str,
        status: ExecutionStatus,
        error: Option<&str>,
        cause: Option<&str>,
    ) -> bool {
        let mut executions = self.executions.lock().unwrap_or_else(|e| e.into_inner());
        match executions.get_mut(name) {
            Some(e) if e.state.status == ExecutionStatus::Running => {
                e.state = ExecutionState {
                    status,
                    error: error.map(str::to_owned),
                    cause: cause.map(str::to_owned),
                };
                true
            }
            _ => false,
        }
    }

    /// Names of the executions still running.
    pub fn running(&self) -> Vec<String> {
        let executions = self.executions.lock().unwrap_or_else(|e| e.into_inner());
        let mut names: Vec<String> = executions
            .iter()
            .filter(|(_, e)| e.state.status == ExecutionStatus::Running)
            .map(|(name, _)| name.clone())
            .collect();
        names.sort();
        names
    }
}

#[async_trait]
impl WorkflowStarter for MemoryWorkflowStarter {
    async fn describe(&self, name: &str) -> Result<Option<ExecutionState>, PortError> {
        Ok(self
            .executions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .map(|e| e.state.clone()))
    }

    async fn start(&self, name: &str, input: &ProcessingInput) -> Result<StartOutcome, PortError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(PortError::Unavailable {
                service: "memory-sfn",
                source: "injected failure".into(),
            });
        }
        let canonical = serde_json::to_string(input).map_err(|e| PortError::Rejected {
            service: "memory-sfn",
            source: Box::new(e),
        })?;
        let mut executions = self.executions.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(existing) = executions.get(name) {
            return if existing.state.status == ExecutionStatus::Running
                && existing.input == canonical
            {
                Ok(StartOutcome::AlreadyRunning {
                    execution_arn: Self::arn(name),
                })
            } else {
                Err(PortError::Conflict {
                    what: format!("execution {name} already exists"),
                })
            };
        }
        executions.insert(
            name.to_owned(),
            Execution {
                input: canonical,
                state: ExecutionState {
                    status: ExecutionStatus::Running,
                    error: None,
                    cause: None,
                },
            },
        );
        self.started
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((name.to_owned(), input.clone()));
        Ok(StartOutcome::Started {
            execution_arn: Self::arn(name),
        })
    }
}

#[cfg(test)]
mod tests {
    use meeting_domain::PortError;
    use meeting_domain::RecordingId;
    use meeting_domain::ports::WorkflowStarter;

    use super::MemoryWorkflowStarter;
    use crate::contract::workflow_starter::input;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_memory_workflow_starter_passes_the_contract() {
        crate::contract::workflow_starter::run_all(MemoryWorkflowStarter::new).await;
    }

    #[tokio::test]
    async fn a_closed_execution_cannot_be_started_again() {
        let starter = MemoryWorkflowStarter::new();
        let rec = RecordingId::new("closed").unwrap();
        starter.start("closed", &input(&rec, 1)).await.unwrap();
        starter.close("closed");
        let again = starter.start("closed", &input(&rec, 1)).await;
        assert!(matches!(again, Err(PortError::Conflict { .. })));
        assert_eq!(starter.started().len(), 1);
    }

    #[tokio::test]
    async fn injected_failures_are_retryable_and_consumed() {
        let starter = MemoryWorkflowStarter::new();
        let rec = RecordingId::new("r").unwrap();
        starter.fail_next(1);
        assert!(
            starter
                .start("r", &input(&rec, 1))
                .await
                .unwrap_err()
                .is_retryable()
        );
        assert!(starter.start("r", &input(&rec, 1)).await.is_ok());
        assert_eq!(starter.calls(), 2);
    }
}
