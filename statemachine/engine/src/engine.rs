//! The engine: state machines, executions and activities of one local "account", with the
//! semantics of the Step Functions API actions (name rules, StartExecution idempotency, Stop).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use asl::StateMachine;
use chrono::{DateTime, Utc};
use meeting_domain::ExecutionStatusChange;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::activity::{ActivityInfo, ActivityQueue, InProcessActivities};
use crate::clock::{EngineClock, saturating_secs_f64};
use crate::error::{ApiError, DefinitionError, names};
use crate::execution::{Execution, ExecutionOutcome, ExecutionStatus};
use crate::history::{EventType, HistoryEvent, not_truncated};
use crate::interpreter::{Points, Runner, ScopePoint, Sink, check_supported, template::new_uuid};
use crate::mocks::TestCaseMocks;
use crate::resources::Resources;

/// Names of state machines, executions and activities: 1 to 80 characters (AWS limit).
const MAX_NAME_LEN: usize = 80;
/// Input and output payloads: 256 KiB (AWS quota).
const MAX_INPUT_BYTES: usize = 262_144;
/// Status changes buffered per subscriber; a subscriber further behind than this misses the
/// oldest ones (`RecvError::Lagged`), as an EventBridge target can miss best-effort events.
const STATUS_CHANGE_BUFFER: usize = 1024;

/// Engine settings.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Region used in ARNs.
    pub region: String,
    /// Account id used in ARNs.
    pub account: String,
    /// Task resources.
    pub resources: Resources,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            region: "us-east-1".into(),
            account: "123456789012".into(),
            resources: Resources::default(),
        }
    }
}

/// What DescribeStateMachine returns.
#[derive(Clone, Debug)]
pub struct MachineRecord {
    /// ARN.
    pub arn: String,
    /// Name.
    pub name: String,
    /// Definition text.
    pub definition: String,
    /// Parsed definition.
    pub parsed: Arc<StateMachine>,
    /// Role ARN.
    pub role_arn: String,
    /// STANDARD or EXPRESS.
    pub machine_type: String,
    /// Creation time.
    pub creation_date: DateTime<Utc>,
}

#[derive(Default)]
struct Registry {
    machines: BTreeMap<String, MachineRecord>,
    executions: Vec<Arc<Execution>>,
    by_arn: HashMap<String, Arc<Execution>>,
}

/// The local Step Functions engine. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    config: EngineConfig,
    clock: EngineClock,
    activities: Arc<ActivityQueue>,
    registry: Mutex<Registry>,
    status_changes: broadcast::Sender<ExecutionStatusChange>,
    mocks: Option<Arc<TestCaseMocks>>,
}

/// Closes `execution` if it is still running and, when this call closed it, publishes its
/// status change: exactly one change per terminal transition, whoever closes it first.
fn close(
    execution: &Execution,
    changes: &broadcast::Sender<ExecutionStatusChange>,
    now: DateTime<Utc>,
    status: ExecutionStatus,
    output: Option<String>,
    error: Option<String>,
    cause: Option<String>,
) -> bool {
    let closed = execution.finish(now, status, output, error, cause);
    if closed {
        // No subscriber is not an error: nobody is watching.
        let _ = changes.send(execution.status_change());
    }
    closed
}

/// Where a run starts: the event its first state's entered event follows, the point a redrive
/// resumes, and `$$` for this run.
#[derive(Debug)]
struct RunStart {
    prev: u64,
    resume: Option<Box<ScopePoint>>,
    context: Arc<Value>,
}

/// Tells the execution its run's task is gone, and where the run stopped, when the task ends,
/// by a panic too: a redrive waits for it.
struct RunGone<'e> {
    execution: &'e Execution,
    point: Option<Box<ScopePoint>>,
}

impl Drop for RunGone<'_> {
    fn drop(&mut self) {
        self.execution.stopped_at(self.point.take());
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("region", &self.inner.config.region)
            .finish_non_exhaustive()
    }
}

/// Checks an AWS resource name: 1–80 characters, no whitespace, brackets, wildcards or
/// special characters, no control characters.
pub fn valid_name(name: &str) -> bool {
    const FORBIDDEN: &str = "<>{}[]?*\"#%\\^|~`$&,;:/";
    let len = name.chars().count();
    (1..=MAX_NAME_LEN).contains(&len)
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || FORBIDDEN.contains(c))
}

/// Parses a definition, validates it as Step Functions would at CreateStateMachine (the `asl`
/// crate's validator) and checks the engine can run it.
pub fn load_definition(definition: &str) -> Result<StateMachine, DefinitionError> {
    let machine =
        StateMachine::from_json(definition).map_err(|e| DefinitionError::Parse(e.to_string()))?;
    let diagnostics = asl::validate::validate(&machine);
    if !diagnostics.is_empty() {
        let listed: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
        return Err(DefinitionError::Parse(listed.join("; ")));
    }
    check_supported(&machine)?;
    Ok(machine)
}

impl Engine {
    /// A new engine with `config`; its clock starts now (must run inside a tokio runtime).
    pub fn new(config: EngineConfig) -> Self {
        Self::build(config, None)
    }

    /// A new engine whose executions take the mocked task results of `mocks` (one test case
    /// of a mock configuration file, see [`crate::mocks`]) instead of running those tasks; each
    /// execution counts its own invocations.
    pub fn with_mocks(config: EngineConfig, mocks: TestCaseMocks) -> Self {
        Self::build(config, Some(Arc::new(mocks)))
    }

    fn build(config: EngineConfig, mocks: Option<Arc<TestCaseMocks>>) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                clock: EngineClock::new(),
                activities: ActivityQueue::new(),
                registry: Mutex::new(Registry::default()),
                status_changes: broadcast::channel(STATUS_CHANGE_BUFFER).0,
                mocks,
            }),
        }
    }

    /// The engine's settings.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.inner
            .registry
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The engine's clock.
    pub fn clock(&self) -> EngineClock {
        self.inner.clock
    }

    /// Every terminal status change (SUCCEEDED, FAILED, TIMED_OUT, ABORTED) of the executions
    /// that close after this call, once each, and RUNNING when one is redriven, shaped as the
    /// `detail` of AWS's EventBridge event "Step Functions Execution Status Change". The local stand-in for an EventBridge rule on
    /// `aws.states`: it is how someone outside the workflow learns of an execution that ended
    /// without running its own Catch (timed out, aborted).
    pub fn status_changes(&self) -> broadcast::Receiver<ExecutionStatusChange> {
        self.inner.status_changes.subscribe()
    }

    /// The activity queue.
    pub fn activities(&self) -> &Arc<ActivityQueue> {
        &self.inner.activities
    }

    /// An in-process [`meeting_domain::ports::ActivityTaskSource`] for workers.
    pub fn activity_source(&self) -> InProcessActivities {
        InProcessActivities::new(Arc::clone(&self.inner.activities), self.inner.clock)
    }

    fn arn(&self, kind: &str, name: &str) -> String {
        format!(
            "arn:aws:states:{}:{}:{kind}:{name}",
            self.inner.config.region, self.inner.config.account
        )
    }

    /// CreateStateMachine. An identical request is idempotent; a different one with the same
    /// name is `StateMachineAlreadyExists`.
    pub fn create_state_machine(
        &self,
        name: &str,
        definition: &str,
        role_arn: &str,
        machine_type: Option<&str>,
    ) -> Result<MachineRecord, ApiError> {
        if !valid_name(name) {
            return Err(ApiError::new(
                "InvalidName",
                format!("Invalid Name: '{name}'"),
            ));
        }
        let machine_type = machine_type.unwrap_or("STANDARD");
        if machine_type != "STANDARD" && machine_type != "EXPRESS" {
            return Err(ApiError::validation(format!(
                "invalid type '{machine_type}'"
            )));
        }
        let parsed = load_definition(definition).map_err(|e| {
            ApiError::new(
                "InvalidDefinition",
                format!("Invalid State Machine Definition: '{e}'"),
            )
        })?;
        let arn = self.arn("stateMachine", name);
        let mut registry = self.registry();
        if let Some(existing) = registry.machines.get(&arn) {
            if existing.definition == definition && existing.role_arn == role_arn {
                return Ok(existing.clone());
            }
            return Err(ApiError::new(
                "StateMachineAlreadyExists",
                format!("State Machine Already Exists: '{arn}'"),
            ));
        }
        let record = MachineRecord {
            arn: arn.clone(),
            name: name.to_owned(),
            definition: definition.to_owned(),
            parsed: Arc::new(parsed),
            role_arn: role_arn.to_owned(),
            machine_type: machine_type.to_owned(),
            creation_date: self.inner.clock.now(),
        };
        registry.machines.insert(arn, record.clone());
        Ok(record)
    }

    fn machine_missing(arn: &str) -> ApiError {
        ApiError::new(
            "StateMachineDoesNotExist",
            format!("State Machine Does Not Exist: '{arn}'"),
        )
    }

    /// DescribeStateMachine.
    pub fn describe_state_machine(&self, arn: &str) -> Result<MachineRecord, ApiError> {
        self.registry()
            .machines
            .get(arn)
            .cloned()
            .ok_or_else(|| Self::machine_missing(arn))
    }

    /// UpdateStateMachine: returns the update date.
    pub fn update_state_machine(
        &self,
        arn: &str,
        definition: Option<&str>,
        role_arn: Option<&str>,
    ) -> Result<DateTime<Utc>, ApiError> {
        if definition.is_none() && role_arn.is_none() {
            return Err(ApiError::new(
                "MissingRequiredParameter",
                "Either the definition or the roleArn must be specified",
            ));
        }
        let parsed = definition
            .map(|d| {
                load_definition(d).map_err(|e| {
                    ApiError::new(
                        "InvalidDefinition",
                        format!("Invalid State Machine Definition: '{e}'"),
                    )
                })
            })
            .transpose()?;
        let mut registry = self.registry();
        let record = registry
            .machines
            .get_mut(arn)
            .ok_or_else(|| Self::machine_missing(arn))?;
        if let (Some(text), Some(parsed)) = (definition, parsed) {
            record.definition = text.to_owned();
            record.parsed = Arc::new(parsed);
        }
        if let Some(role) = role_arn {
            record.role_arn = role.to_owned();
        }
        Ok(self.inner.clock.now())
    }

    /// ListStateMachines, by ARN.
    pub fn list_state_machines(&self) -> Vec<MachineRecord> {
        self.registry().machines.values().cloned().collect()
    }

    /// DeleteStateMachine (running executions go on, as on AWS, until they finish).
    pub fn delete_state_machine(&self, arn: &str) {
        self.registry().machines.remove(arn);
    }

    /// StartExecution. Same name and input while the execution is open → the same execution
    /// (idempotent); a closed execution, or different input → `ExecutionAlreadyExists`.
    pub fn start_execution(
        &self,
        machine_arn: &str,
        name: Option<&str>,
        input: Option<&str>,
    ) -> Result<Arc<Execution>, ApiError> {
        self.start_execution_reporting(machine_arn, name, input)
            .map(|(execution, _)| execution)
    }

    /// StartExecution that also tells whether the execution is new (`true`) or an idempotent
    /// replay of an open one (`false`).
    pub fn start_execution_reporting(
        &self,
        machine_arn: &str,
        name: Option<&str>,
        input: Option<&str>,
    ) -> Result<(Arc<Execution>, bool), ApiError> {
        let input = input.unwrap_or("{}");
        if input.len() > MAX_INPUT_BYTES {
            return Err(ApiError::new(
                "InvalidExecutionInput",
                "the input exceeds the 262144-byte quota",
            ));
        }
        let input_value: Value = serde_json::from_str(input).map_err(|e| {
            ApiError::new(
                "InvalidExecutionInput",
                format!("Invalid State Machine Execution Input: '{e}'"),
            )
        })?;
        let name = match name {
            Some(n) => n.to_owned(),
            None => new_uuid(),
        };
        if !valid_name(&name) {
            return Err(ApiError::new(
                "InvalidName",
                format!("Invalid Name: '{name}'"),
            ));
        }
        let mut registry = self.registry();
        let machine = registry
            .machines
            .get(machine_arn)
            .cloned()
            .ok_or_else(|| Self::machine_missing(machine_arn))?;
        let arn = format!(
            "arn:aws:states:{}:{}:execution:{}:{name}",
            self.inner.config.region, self.inner.config.account, machine.name
        );
        if let Some(existing) = registry.by_arn.get(&arn) {
            let open = existing.lock().status == ExecutionStatus::Running;
            if open && existing.input == input {
                return Ok((Arc::clone(existing), false));
            }
            return Err(ApiError::new(
                "ExecutionAlreadyExists",
                format!("Execution Already Exists: '{arn}'"),
            ));
        }
        let now = self.inner.clock.now();
        let execution = Execution::new(
            arn.clone(),
            name,
            machine.arn.clone(),
            machine.name.clone(),
            input.to_owned(),
            machine.role_arn.clone(),
            now,
        );
        execution.record(
            now,
            EventType::ExecutionStarted,
            0,
            Some(json!({"input": input, "inputDetails": not_truncated(), "roleArn": machine.role_arn})),
        );
        registry.executions.push(Arc::clone(&execution));
        registry.by_arn.insert(arn, Arc::clone(&execution));
        drop(registry);
        self.spawn(Arc::clone(&execution), machine.parsed, input_value);
        Ok((execution, true))
    }

    fn spawn(&self, execution: Arc<Execution>, machine: Arc<StateMachine>, input: Value) {
        // AWS chains the first state's entered event to 0, not to ExecutionStarted (id 1).
        let start = RunStart {
            prev: 0,
            resume: None,
            context: execution.base_context(),
        };
        self.spawn_run(execution, machine, input, start);
    }

    /// Runs `machine` for `execution` in a task of its own, which closes the execution as the
    /// run ends (or as its TimeoutSeconds falls due), and then keeps where the run stopped for a
    /// redrive.
    fn spawn_run(
        &self,
        execution: Arc<Execution>,
        machine: Arc<StateMachine>,
        input: Value,
        start: RunStart,
    ) {
        let runner = Runner {
            exec: Arc::clone(&execution),
            activities: Arc::clone(&self.inner.activities),
            resources: self.inner.config.resources.clone(),
            clock: self.inner.clock,
            region: self.inner.config.region.clone(),
            mocks: self.inner.mocks.as_ref().map(|m| Arc::new(m.session())),
            base_context: start.context,
        };
        let clock = self.inner.clock;
        let changes = self.inner.status_changes.clone();
        let task_execution = Arc::clone(&execution);
        let task_machine = Arc::clone(&machine);
        let run = async move {
            let execution = task_execution;
            let machine = task_machine;
            // AWS: a redrive starts the machine's TimeoutSeconds afresh.
            let timeout = machine
                .timeout_seconds
                .as_ref()
                .and_then(|n| n.as_f64())
                .map(saturating_secs_f64);
            let mut closed = execution.done_receiver();
            let mut gone = RunGone {
                execution: &execution,
                point: None,
            };
            let stopped = Points::default();
            let run = runner.run_machine(
                &machine,
                input,
                start.prev,
                Sink::new(&stopped, 0),
                start.resume,
            );
            let limit = async {
                match timeout {
                    Some(t) => tokio::time::sleep(t).await,
                    None => std::future::pending().await,
                }
            };
            // Biased, closing events first: when the execution's TimeoutSeconds (or a
            // StopExecution) and a state's own timer fall due at the same instant, the execution
            // closes as AWS closes it, TIMED_OUT or ABORTED, and no Catch of the run gets to act.
            tokio::select! {
                biased;
                _ = closed.wait_for(|done| *done) => {}
                () = limit => {
                    close(&execution, &changes, clock.now(), ExecutionStatus::TimedOut, None,
                        Some(names::TIMEOUT.into()),
                        Some("The execution timed out (TimeoutSeconds of the state machine)".into()));
                }
                result = run => match result {
                    Ok(output) => {
                        let text = serde_json::to_string(&output).unwrap_or_default();
                        if text.len() > MAX_INPUT_BYTES {
                            close(&execution, &changes, clock.now(), ExecutionStatus::Failed, None,
                                Some(names::DATA_LIMIT_EXCEEDED.into()),
                                Some("The execution output exceeds the 262144-byte quota".into()));
                        } else {
                            close(&execution, &changes, clock.now(), ExecutionStatus::Succeeded, Some(text), None, None);
                        }
                    }
                    Err(e) => {
                        close(&execution, &changes, clock.now(), ExecutionStatus::Failed, None, Some(e.error), Some(e.cause));
                    }
                },
            }
            // The run is gone (finished or dropped): where it stopped is known.
            gone.point = stopped
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .pop()
                .map(|(_, point)| point);
        };
        execution.started(machine, || tokio::spawn(run));
    }

    /// RedriveExecution: continues a FAILED, TIMED_OUT or ABORTED execution of a STANDARD
    /// machine from where it stopped, with the same definition, input and ARN: the state that
    /// did not succeed runs again with the input it had and the variables as they were when it
    /// was entered; of a Map or Parallel, only the iterations or branches that failed or were
    /// aborted run again. Returns the redrive date. (`clientToken` idempotency is not kept: a
    /// second call finds the execution RUNNING.)
    pub async fn redrive_execution(&self, arn: &str) -> Result<DateTime<Utc>, ApiError> {
        let execution = self.execution(arn)?;
        let express = self
            .registry()
            .machines
            .get(&execution.machine_arn)
            .map(|m| m.machine_type == "EXPRESS");
        let refuse = |reason: &str| ApiError::new("ExecutionNotRedrivable", reason.to_owned());
        match express {
            None => return Err(refuse("State machine is in DELETING status")),
            Some(true) => {
                return Err(refuse(
                    "RedriveExecution is not supported for EXPRESS state machines",
                ));
            }
            Some(false) => {}
        }
        let now = self.inner.clock.now();
        execution.begin_redrive(now).map_err(refuse)?;
        execution.last_run_gone().await;
        // Stopped again in between: nothing to run.
        let Some(redrive) = execution.reopen() else {
            return Ok(now);
        };
        let _ = self.inner.status_changes.send(execution.status_change());
        let input: Value = serde_json::from_str(&execution.input).unwrap_or(Value::Null);
        let start = RunStart {
            prev: redrive.event_id,
            resume: redrive.resume,
            context: execution.redrive_context(redrive.count, redrive.date),
        };
        self.spawn_run(Arc::clone(&execution), redrive.machine, input, start);
        Ok(redrive.date)
    }

    fn execution(&self, arn: &str) -> Result<Arc<Execution>, ApiError> {
        self.registry().by_arn.get(arn).cloned().ok_or_else(|| {
            ApiError::new(
                "ExecutionDoesNotExist",
                format!("Execution Does Not Exist: '{arn}'"),
            )
        })
    }

    /// DescribeExecution.
    pub fn describe_execution(&self, arn: &str) -> Result<Arc<Execution>, ApiError> {
        self.execution(arn)
    }

    /// ListExecutions of a machine, newest first, optionally filtered by status.
    pub fn list_executions(
        &self,
        machine_arn: &str,
        status: Option<&str>,
    ) -> Result<Vec<Arc<Execution>>, ApiError> {
        let registry = self.registry();
        if !registry.machines.contains_key(machine_arn)
            && !registry
                .executions
                .iter()
                .any(|e| e.machine_arn == machine_arn)
        {
            return Err(Self::machine_missing(machine_arn));
        }
        Ok(registry
            .executions
            .iter()
            .rev()
            .filter(|e| e.machine_arn == machine_arn)
            .filter(|e| status.is_none_or(|s| e.lock().status.as_str() == s))
            .cloned()
            .collect())
    }

    /// GetExecutionHistory.
    pub fn history(&self, arn: &str) -> Result<Vec<HistoryEvent>, ApiError> {
        Ok(self.execution(arn)?.history())
    }

    /// StopExecution: aborts a running execution (its open task tokens stop working) and
    /// returns the stop date.
    pub fn stop_execution(
        &self,
        arn: &str,
        error: Option<&str>,
        cause: Option<&str>,
    ) -> Result<DateTime<Utc>, ApiError> {
        let execution = self.execution(arn)?;
        let now = self.inner.clock.now();
        close(
            &execution,
            &self.inner.status_changes,
            now,
            ExecutionStatus::Aborted,
            None,
            error.map(str::to_owned),
            cause.map(str::to_owned),
        );
        self.inner.activities.close_owner(arn);
        Ok(execution.lock().stop_date.unwrap_or(now))
    }

    /// Waits for an execution to close.
    pub async fn wait(&self, arn: &str) -> Result<ExecutionOutcome, ApiError> {
        let execution = self.execution(arn)?;
        Ok(execution.wait().await)
    }

    /// CreateActivity (idempotent).
    pub fn create_activity(&self, name: &str) -> Result<ActivityInfo, ApiError> {
        if !valid_name(name) {
            return Err(ApiError::new(
                "InvalidName",
                format!("Invalid Name: '{name}'"),
            ));
        }
        let arn = self.arn("activity", name);
        Ok(self
            .inner
            .activities
            .create(arn, name.to_owned(), self.inner.clock.now()))
    }
}
