//! Mocked task results, configured in the format of AWS Step Functions Local's mock
//! configuration file ("Using mocked service integrations", Step Functions developer guide):
//!
//! ```json
//! {"StateMachines": {"<machine>": {"TestCases": {"<case>": {"<state>": "<mocked response>"}}}},
//!  "MockedResponses": {"<mocked response>": {"0": {"Return": {"ok": true}},
//!                                          "1-2": {"Throw": {"Error": "E", "Cause": "C"}}}}}
//! ```
//!
//! A test case maps state names to mocked responses; a mocked response maps zero-based
//! invocation numbers (`"0"`) or inclusive ranges (`"1-2"`), contiguous from 0, to exactly one
//! of `Return` (the task result) or `Throw` (`Error` and `Cause`, the task failure).
//! Invocations are counted per state per execution, so each retry consumes the next number.
//! Unlike Step Functions Local, activity states can be mocked too.
//!
//! [`MockConfig`] parses and checks a file; [`TestCaseMocks`] is one test case's mocks, what an
//! engine is given; [`MockSession`] is that test case for one execution (its invocation
//! counters), what the interpreter asks at the start of every task.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

use crate::error::StatesError;
use crate::history::{EventType, not_truncated};
use crate::resources::ResourceKind;

/// Why a mock configuration cannot be used.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum MockConfigError {
    /// The text is not JSON.
    #[error("the mock configuration is not JSON: {0}")]
    NotJson(String),
    /// A key or value of the file is wrong; `at` is the JSON pointer of the offending key.
    #[error("mock configuration {at}: {message}")]
    Invalid {
        /// JSON pointer of the offending key, e.g. `/MockedResponses/Retry/1-2/Throw`.
        at: String,
        /// What is wrong.
        message: String,
    },
    /// No state machine of that name.
    #[error("the mock configuration has no state machine '{name}' (StateMachines has: {known})")]
    UnknownStateMachine {
        /// The name asked for.
        name: String,
        /// The names the file defines.
        known: String,
    },
    /// No state machine was named and the file has several (or none).
    #[error(
        "the mock configuration defines {count} state machines ({known}): name one (--state-machine)"
    )]
    AmbiguousStateMachine {
        /// How many it defines.
        count: usize,
        /// Their names.
        known: String,
    },
    /// No test case of that name.
    #[error("state machine '{machine}' has no test case '{case}' (TestCases has: {known})")]
    UnknownTestCase {
        /// The state machine.
        machine: String,
        /// The test case asked for.
        case: String,
        /// The test cases it defines.
        known: String,
    },
}

/// What one mocked invocation does.
#[derive(Debug, Clone, PartialEq)]
pub enum MockOutcome {
    /// The task succeeds with this result.
    Return(Value),
    /// The task fails with this error.
    Throw(StatesError),
}

impl MockOutcome {
    /// The task's result.
    pub fn into_result(self) -> Result<Value, StatesError> {
        match self {
            Self::Return(value) => Ok(value),
            Self::Throw(error) => Err(error),
        }
    }
}

/// One range of invocations of a mocked response.
#[derive(Debug, Clone, PartialEq)]
struct MockRange {
    first: u64,
    last: u64,
    outcome: MockOutcome,
}

/// A mocked response: what each invocation returns or throws.
#[derive(Debug, Clone, PartialEq)]
pub struct MockedResponse {
    name: String,
    ranges: Vec<MockRange>,
}

impl MockedResponse {
    /// A response whose every invocation from 0 to `last` does `outcome`.
    pub fn repeated(name: &str, last: u64, outcome: MockOutcome) -> Self {
        Self {
            name: name.to_owned(),
            ranges: vec![MockRange {
                first: 0,
                last,
                outcome,
            }],
        }
    }

    /// What the zero-based `invocation` does; `None` past the last one defined.
    pub fn at(&self, invocation: u64) -> Option<&MockOutcome> {
        self.ranges
            .iter()
            .find(|r| (r.first..=r.last).contains(&invocation))
            .map(|r| &r.outcome)
    }

    /// The number of invocations defined.
    pub fn invocations(&self) -> u64 {
        self.ranges.last().map_or(0, |r| r.last.saturating_add(1))
    }
}

/// A parsed and checked mock configuration file.
#[derive(Debug, Clone, PartialEq)]
pub struct MockConfig {
    machines: BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>>,
    responses: BTreeMap<String, Arc<MockedResponse>>,
}

fn invalid(at: &str, message: impl Into<String>) -> MockConfigError {
    MockConfigError::Invalid {
        at: if at.is_empty() { "/".into() } else { at.into() },
        message: message.into(),
    }
}

fn pointer(parent: &str, key: &str) -> String {
    asl::validate::pointer_push(parent, key)
}

fn object<'a>(value: &'a Value, at: &str) -> Result<&'a Map<String, Value>, MockConfigError> {
    value
        .as_object()
        .ok_or_else(|| invalid(at, format!("must be a JSON object, found {value}")))
}

/// Only `allowed` keys, and every one of `required`.
fn check_keys(
    map: &Map<String, Value>,
    at: &str,
    allowed: &[&str],
    required: &[&str],
) -> Result<(), MockConfigError> {
    if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(invalid(
            &pointer(at, unknown),
            format!(
                "unknown field '{unknown}' (expected: {})",
                allowed.join(", ")
            ),
        ));
    }
    if let Some(missing) = required.iter().find(|k| !map.contains_key(**k)) {
        return Err(invalid(at, format!("the field '{missing}' is required")));
    }
    Ok(())
}

/// `"3"` or `"1-2"`: decimal digits only, first ≤ last.
fn parse_range(key: &str, at: &str) -> Result<(u64, u64), MockConfigError> {
    let number = |text: &str| -> Result<u64, MockConfigError> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(
                at,
                format!(
                    "'{key}' is not an invocation number ('0') or an inclusive range ('1-2') of them"
                ),
            ));
        }
        text.parse()
            .map_err(|_| invalid(at, format!("the invocation number '{text}' is too large")))
    };
    let (first, last) = match key.split_once('-') {
        Some((first, last)) => (number(first)?, number(last)?),
        None => {
            let n = number(key)?;
            (n, n)
        }
    };
    if first > last {
        return Err(invalid(
            at,
            format!("the range '{key}' ends before it starts"),
        ));
    }
    Ok((first, last))
}

fn parse_outcome(value: &Value, at: &str) -> Result<MockOutcome, MockConfigError> {
    let map = object(value, at)?;
    check_keys(map, at, &["Return", "Throw"], &[])?;
    match (map.get("Return"), map.get("Throw")) {
        (Some(result), None) => Ok(MockOutcome::Return(result.clone())),
        (None, Some(thrown)) => {
            let at = pointer(at, "Throw");
            let thrown = object(thrown, &at)?;
            check_keys(thrown, &at, &["Error", "Cause"], &["Error", "Cause"])?;
            let text = |field: &str| -> Result<String, MockConfigError> {
                thrown
                    .get(field)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| invalid(&pointer(&at, field), "must be a string"))
            };
            Ok(MockOutcome::Throw(StatesError::new(
                text("Error")?,
                text("Cause")?,
            )))
        }
        _ => Err(invalid(
            at,
            "a mocked invocation needs exactly one of 'Return' and 'Throw'",
        )),
    }
}

fn parse_response(name: &str, value: &Value, at: &str) -> Result<MockedResponse, MockConfigError> {
    let map = object(value, at)?;
    if map.is_empty() {
        return Err(invalid(
            at,
            "a mocked response needs at least invocation '0'",
        ));
    }
    let mut ranges = Vec::with_capacity(map.len());
    for (key, step) in map {
        let here = pointer(at, key);
        let (first, last) = parse_range(key, &here)?;
        ranges.push((
            key.as_str(),
            MockRange {
                first,
                last,
                outcome: parse_outcome(step, &here)?,
            },
        ));
    }
    ranges.sort_by_key(|(_, r)| r.first);
    let mut expected = 0u64;
    for (key, range) in &ranges {
        if range.first != expected {
            return Err(invalid(
                &pointer(at, key),
                format!(
                    "invocations must be numbered from 0 without gaps or overlaps: '{key}' starts at {}, expected {expected}",
                    range.first
                ),
            ));
        }
        expected = range.last.saturating_add(1);
    }
    Ok(MockedResponse {
        name: name.to_owned(),
        ranges: ranges.into_iter().map(|(_, r)| r).collect(),
    })
}

fn names<'a>(keys: impl Iterator<Item = &'a String>) -> String {
    let listed: Vec<&str> = keys.map(String::as_str).collect();
    if listed.is_empty() {
        "nothing".into()
    } else {
        listed.join(", ")
    }
}

impl MockConfig {
    /// Parses and checks the text of a mock configuration file.
    ///
    /// # Errors
    /// [`MockConfigError::NotJson`], or [`MockConfigError::Invalid`] naming the offending key.
    pub fn parse(text: &str) -> Result<Self, MockConfigError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| MockConfigError::NotJson(e.to_string()))?;
        Self::from_value(&value)
    }

    /// Checks a mock configuration given as JSON.
    ///
    /// # Errors
    /// [`MockConfigError::Invalid`] naming the offending key.
    pub fn from_value(value: &Value) -> Result<Self, MockConfigError> {
        let root = object(value, "")?;
        check_keys(
            root,
            "",
            &["StateMachines", "MockedResponses"],
            &["StateMachines", "MockedResponses"],
        )?;
        let mut responses = BTreeMap::new();
        let responses_at = "/MockedResponses";
        for (name, response) in object(&root["MockedResponses"], responses_at)? {
            let at = pointer(responses_at, name);
            responses.insert(name.clone(), Arc::new(parse_response(name, response, &at)?));
        }
        let mut machines = BTreeMap::new();
        let machines_at = "/StateMachines";
        for (machine, config) in object(&root["StateMachines"], machines_at)? {
            let at = pointer(machines_at, machine);
            let config_map = object(config, &at)?;
            check_keys(config_map, &at, &["TestCases"], &["TestCases"])?;
            let cases_at = pointer(&at, "TestCases");
            let mut cases = BTreeMap::new();
            for (case, states) in object(&config_map["TestCases"], &cases_at)? {
                let case_at = pointer(&cases_at, case);
                let mut mocked = BTreeMap::new();
                for (state, response) in object(states, &case_at)? {
                    let state_at = pointer(&case_at, state);
                    let Some(response) = response.as_str() else {
                        return Err(invalid(
                            &state_at,
                            "must be the name of a mocked response (a string)",
                        ));
                    };
                    if !responses.contains_key(response) {
                        return Err(invalid(
                            &state_at,
                            format!(
                                "the mocked response '{response}' is not defined in MockedResponses (it has: {})",
                                names(responses.keys())
                            ),
                        ));
                    }
                    mocked.insert(state.clone(), response.to_owned());
                }
                cases.insert(case.clone(), mocked);
            }
            machines.insert(machine.clone(), cases);
        }
        Ok(Self {
            machines,
            responses,
        })
    }

    /// The mocks of test case `case` of state machine `machine` (when `None`, the file's only
    /// state machine).
    ///
    /// # Errors
    /// An unknown machine or test case, or no machine named when the file has several.
    pub fn test_case(
        &self,
        machine: Option<&str>,
        case: &str,
    ) -> Result<TestCaseMocks, MockConfigError> {
        let (machine, cases) = match machine {
            Some(name) => self.machines.get_key_value(name).ok_or_else(|| {
                MockConfigError::UnknownStateMachine {
                    name: name.to_owned(),
                    known: names(self.machines.keys()),
                }
            })?,
            None => {
                let mut all = self.machines.iter();
                match (all.next(), all.next()) {
                    (Some(only), None) => only,
                    _ => {
                        return Err(MockConfigError::AmbiguousStateMachine {
                            count: self.machines.len(),
                            known: names(self.machines.keys()),
                        });
                    }
                }
            }
        };
        let states = cases
            .get(case)
            .ok_or_else(|| MockConfigError::UnknownTestCase {
                machine: machine.clone(),
                case: case.to_owned(),
                known: names(cases.keys()),
            })?;
        let mut mocked = BTreeMap::new();
        for (state, response) in states {
            if let Some(response) = self.responses.get(response) {
                mocked.insert(state.clone(), Arc::clone(response));
            }
        }
        Ok(TestCaseMocks {
            states: mocked,
            attempt_limit: None,
        })
    }
}

/// The mocked states of one test case: state name → mocked response.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TestCaseMocks {
    states: BTreeMap<String, Arc<MockedResponse>>,
    attempt_limit: Option<u64>,
}

impl TestCaseMocks {
    /// Mocks for the given states.
    pub fn new(states: BTreeMap<String, Arc<MockedResponse>>) -> Self {
        Self {
            states,
            attempt_limit: None,
        }
    }

    /// Stops every task after `attempts` invocations of its state: a further invocation (a
    /// retry) fails with `States.Runtime` instead of running. What TestState uses to run one
    /// attempt only.
    pub fn with_attempt_limit(mut self, attempts: u64) -> Self {
        self.attempt_limit = Some(attempts);
        self
    }

    /// Whether `state` is mocked.
    pub fn is_mocked(&self, state: &str) -> bool {
        self.states.contains_key(state)
    }

    /// A fresh set of invocation counters for one execution.
    pub fn session(&self) -> MockSession {
        MockSession {
            mocks: self.clone(),
            counts: Mutex::new(HashMap::new()),
        }
    }
}

/// The cause of the `States.Runtime` a task fails with past the attempt limit.
pub const ATTEMPT_LIMIT_CAUSE: &str = "the attempt limit of this run was reached";

/// One test case's mocks for one execution: counts each state's invocations.
#[derive(Debug)]
pub struct MockSession {
    mocks: TestCaseMocks,
    counts: Mutex<HashMap<String, u64>>,
}

impl MockSession {
    /// Counts an invocation of `state`'s task and says what it does: `None` runs the real
    /// resource, `Some` replaces it (a mocked result or error).
    pub fn next(&self, state: &str) -> Option<MockOutcome> {
        let invocation = {
            let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
            let count = counts.entry(state.to_owned()).or_insert(0);
            let invocation = *count;
            *count += 1;
            invocation
        };
        if self
            .mocks
            .attempt_limit
            .is_some_and(|limit| invocation >= limit)
        {
            return Some(MockOutcome::Throw(StatesError::runtime(
                ATTEMPT_LIMIT_CAUSE,
            )));
        }
        let response = self.mocks.states.get(state)?;
        Some(response.at(invocation).cloned().unwrap_or_else(|| {
            MockOutcome::Throw(StatesError::runtime(format!(
                "the mocked response '{}' of the state '{state}' defines {} invocation(s); invocation {invocation} (zero-based) has none",
                response.name,
                response.invocations()
            )))
        }))
    }

    /// Whether `state`'s task is replaced by a mocked response (or by the attempt limit), so a
    /// callback integration is not called either.
    pub fn is_mocked(&self, state: &str) -> bool {
        self.mocks.attempt_limit.is_some() || self.mocks.states.contains_key(state)
    }

    /// How many times `state`'s task was invoked so far.
    pub fn invocations(&self, state: &str) -> u64 {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(state)
            .copied()
            .unwrap_or(0)
    }
}

/// `(resourceType, resource)` of a task's history events: `("lambda", "invoke")` for
/// `arn:aws:states:::lambda:invoke`, the service and the whole ARN otherwise.
fn resource_names(resource: &str) -> (String, String) {
    let parts: Vec<&str> = resource.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "states", "", "", rest] => match rest.split_once(':') {
            Some((service, action)) => (service.to_owned(), action.to_owned()),
            None => ((*rest).to_owned(), resource.to_owned()),
        },
        ["arn", _, service, ..] => ((*service).to_owned(), resource.to_owned()),
        _ => ("custom".to_owned(), resource.to_owned()),
    }
}

/// What a mocked task invocation does to a task, in the interpreter's terms.
#[derive(Debug, Clone, Copy)]
pub struct MockedTask<'a> {
    /// How the resource is classified (an activity records `Activity*` events).
    pub kind: &'a ResourceKind,
    /// The resource ARN.
    pub resource: &'a str,
    /// The region of the engine.
    pub region: &'a str,
    /// The effective task input.
    pub input: &'a Value,
    /// TimeoutSeconds, if any.
    pub timeout: Option<u64>,
    /// HeartbeatSeconds, if any.
    pub heartbeat: Option<u64>,
}

/// AWS default task timeout for activities when `TimeoutSeconds` is absent (99999999 s).
const DEFAULT_ACTIVITY_TIMEOUT_SECS: u64 = 99_999_999;

/// The history events a real task records for `outcome`, in order: `ActivityScheduled`,
/// `ActivityStarted`, `ActivitySucceeded|ActivityFailed` for an activity, `TaskScheduled`,
/// `TaskStarted`, `TaskSucceeded|TaskFailed` otherwise.
pub fn mocked_events(task: MockedTask<'_>, outcome: &MockOutcome) -> Vec<(EventType, Value)> {
    let input = serde_json::to_string(task.input).unwrap_or_default();
    if *task.kind == ResourceKind::Activity {
        let mut scheduled = json!({
            "resource": task.resource, "input": input, "inputDetails": not_truncated(),
            "timeoutInSeconds": task.timeout.unwrap_or(DEFAULT_ACTIVITY_TIMEOUT_SECS),
        });
        if let (Some(h), Value::Object(map)) = (task.heartbeat, &mut scheduled) {
            map.insert("heartbeatInSeconds".into(), json!(h));
        }
        let ended = match outcome {
            MockOutcome::Return(result) => (
                EventType::ActivitySucceeded,
                json!({"output": serde_json::to_string(result).unwrap_or_default(), "outputDetails": not_truncated()}),
            ),
            MockOutcome::Throw(e) => (
                EventType::ActivityFailed,
                json!({"error": e.error, "cause": e.cause}),
            ),
        };
        return vec![
            (EventType::ActivityScheduled, scheduled),
            (EventType::ActivityStarted, json!({"workerName": "mock"})),
            ended,
        ];
    }
    let (resource_type, resource) = resource_names(task.resource);
    let mut scheduled = json!({
        "resourceType": resource_type, "resource": resource, "region": task.region, "parameters": input,
    });
    if let (Some(t), Value::Object(map)) = (task.timeout, &mut scheduled) {
        map.insert("timeoutInSeconds".into(), json!(t));
    }
    if let (Some(h), Value::Object(map)) = (task.heartbeat, &mut scheduled) {
        map.insert("heartbeatInSeconds".into(), json!(h));
    }
    let ended = match outcome {
        MockOutcome::Return(result) => (
            EventType::TaskSucceeded,
            json!({"resourceType": resource_type, "resource": resource,
                   "output": serde_json::to_string(result).unwrap_or_default(), "outputDetails": not_truncated()}),
        ),
        MockOutcome::Throw(e) => (
            EventType::TaskFailed,
            json!({"resourceType": resource_type, "resource": resource, "error": e.error, "cause": e.cause}),
        ),
    };
    vec![
        (EventType::TaskScheduled, scheduled),
        (
            EventType::TaskStarted,
            json!({"resourceType": resource_type, "resource": resource}),
        ),
        ended,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{
      "StateMachines": {"LambdaSQSIntegration": {"TestCases": {
        "HappyPath": {"LambdaState": "MockedLambdaSuccess", "SQSState": "MockedSQSSuccess"},
        "RetryPath": {"LambdaState": "MockedLambdaRetry", "SQSState": "MockedSQSSuccess"},
        "HybridPath": {"LambdaState": "MockedLambdaSuccess"}}}},
      "MockedResponses": {
        "MockedLambdaSuccess": {"0": {"Return": {"StatusCode": 200, "Payload": {"body": "Hello"}}}},
        "MockedSQSSuccess": {"0": {"Return": {"MessageId": "m-1"}}},
        "MockedLambdaRetry": {
          "0": {"Throw": {"Error": "Lambda.ResourceNotReadyException", "Cause": "not ready"}},
          "1-2": {"Throw": {"Error": "Lambda.TimeoutException", "Cause": "timed out"}},
          "3": {"Return": {"StatusCode": 200}}}}}"#;

    fn error_at(text: &str) -> String {
        match MockConfig::parse(text).expect_err("refused") {
            MockConfigError::Invalid { at, .. } => at,
            other => panic!("not an Invalid error: {other}"),
        }
    }

    fn throw(error: &str, cause: &str) -> MockOutcome {
        MockOutcome::Throw(StatesError::new(error, cause))
    }

    #[test]
    fn given_the_aws_example_when_parsed_then_each_invocation_has_its_response() {
        let config = MockConfig::parse(EXAMPLE).expect("valid");
        let case = config.test_case(None, "RetryPath").expect("known case");
        let session = case.session();

        let seen: Vec<Option<MockOutcome>> = (0..5).map(|_| session.next("LambdaState")).collect();

        assert_eq!(
            seen[..4],
            [
                Some(throw("Lambda.ResourceNotReadyException", "not ready")),
                Some(throw("Lambda.TimeoutException", "timed out")),
                Some(throw("Lambda.TimeoutException", "timed out")),
                Some(MockOutcome::Return(json!({"StatusCode": 200}))),
            ]
        );
        assert!(
            matches!(&seen[4], Some(MockOutcome::Throw(e)) if e.error == "States.Runtime" && e.cause.contains("MockedLambdaRetry")),
            "{:?}",
            seen[4]
        );
        assert_eq!(session.invocations("LambdaState"), 5);
    }

    #[test]
    fn given_a_state_the_test_case_does_not_name_when_invoked_then_the_real_resource_runs() {
        let config = MockConfig::parse(EXAMPLE).expect("valid");
        let session = config
            .test_case(Some("LambdaSQSIntegration"), "HybridPath")
            .expect("known case")
            .session();

        assert_eq!(session.next("SQSState"), None);
        assert_eq!(session.invocations("SQSState"), 1);
    }

    #[test]
    fn given_two_sessions_when_counting_then_each_execution_counts_from_zero() {
        let case = MockConfig::parse(EXAMPLE)
            .expect("valid")
            .test_case(None, "HappyPath")
            .expect("known case");
        let first = case.session();
        let second = case.session();

        assert!(matches!(
            first.next("SQSState"),
            Some(MockOutcome::Return(_))
        ));
        assert!(matches!(
            second.next("SQSState"),
            Some(MockOutcome::Return(_))
        ));
    }

    #[test]
    fn given_unknown_names_when_a_test_case_is_chosen_then_the_error_lists_the_known_ones() {
        let config = MockConfig::parse(EXAMPLE).expect("valid");

        let machine = config
            .test_case(Some("Other"), "HappyPath")
            .expect_err("unknown");
        let case = config.test_case(None, "SadPath").expect_err("unknown");

        assert!(
            machine.to_string().contains("LambdaSQSIntegration"),
            "{machine}"
        );
        assert!(case.to_string().contains("HappyPath, HybridPath"), "{case}");
    }

    #[test]
    fn given_several_machines_and_none_named_when_a_test_case_is_chosen_then_it_is_ambiguous() {
        let config = MockConfig::parse(
            r#"{"StateMachines": {"A": {"TestCases": {}}, "B": {"TestCases": {}}}, "MockedResponses": {}}"#,
        )
        .expect("valid");

        let error = config.test_case(None, "X").expect_err("ambiguous");

        assert!(matches!(
            error,
            MockConfigError::AmbiguousStateMachine { count: 2, .. }
        ));
    }

    #[test]
    fn given_malformed_files_when_parsed_then_the_error_names_the_offending_key() {
        let responses = |body: &str| {
            format!(r#"{{"StateMachines": {{}}, "MockedResponses": {{"R": {body}}}}}"#)
        };
        for (text, at) in [
            (r#"{"StateMachines": {}}"#.to_owned(), "/"),
            (
                r#"{"StateMachines": {}, "MockedResponses": {}, "Extra": 1}"#.to_owned(),
                "/Extra",
            ),
            (responses(r#"{"0": {}}"#), "/MockedResponses/R/0"),
            (
                responses(r#"{"0": {"Return": 1, "Throw": {"Error": "E", "Cause": "C"}}}"#),
                "/MockedResponses/R/0",
            ),
            (
                responses(r#"{"0": {"Throw": {"Error": "E"}}}"#),
                "/MockedResponses/R/0/Throw",
            ),
            (
                responses(r#"{"0": {"Throw": {"Error": 5, "Cause": "C"}}}"#),
                "/MockedResponses/R/0/Throw/Error",
            ),
            (responses(r#"{"x": {"Return": 1}}"#), "/MockedResponses/R/x"),
            (responses(r#"{"2-1": {"Return": 1}}"#), "/MockedResponses/R/2-1"),
            (responses(r#"{"-1": {"Return": 1}}"#), "/MockedResponses/R/-1"),
            (
                responses(r#"{"0": {"Return": 1}, "2": {"Return": 2}}"#),
                "/MockedResponses/R/2",
            ),
            (
                responses(r#"{"0-1": {"Return": 1}, "1": {"Return": 2}}"#),
                "/MockedResponses/R/1",
            ),
            (responses(r#"{"1": {"Return": 1}}"#), "/MockedResponses/R/1"),
            (responses("{}"), "/MockedResponses/R"),
            (
                r#"{"StateMachines": {"M": {"TestCases": {"C": {"S": "Missing"}}}}, "MockedResponses": {}}"#
                    .to_owned(),
                "/StateMachines/M/TestCases/C/S",
            ),
            (
                r#"{"StateMachines": {"M": {"TestCases": {"C": {"S": 1}}}}, "MockedResponses": {}}"#
                    .to_owned(),
                "/StateMachines/M/TestCases/C/S",
            ),
            (
                r#"{"StateMachines": {"M": {}}, "MockedResponses": {}}"#.to_owned(),
                "/StateMachines/M",
            ),
        ] {
            assert_eq!(error_at(&text), at, "{text}");
        }
    }

    #[test]
    fn given_text_that_is_not_json_when_parsed_then_it_is_a_not_json_error() {
        assert!(matches!(
            MockConfig::parse("{nope"),
            Err(MockConfigError::NotJson(_))
        ));
    }

    #[test]
    fn given_an_attempt_limit_when_a_state_is_invoked_again_then_it_fails_with_a_runtime_error() {
        let session = TestCaseMocks::default().with_attempt_limit(1).session();

        assert_eq!(session.next("Task"), None);
        assert!(matches!(
            session.next("Task"),
            Some(MockOutcome::Throw(e)) if e.error == "States.Runtime" && e.cause == ATTEMPT_LIMIT_CAUSE
        ));
    }

    #[test]
    fn given_a_service_integration_arn_when_named_then_service_and_action_are_split() {
        assert_eq!(
            resource_names("arn:aws:states:::lambda:invoke"),
            ("lambda".to_owned(), "invoke".to_owned())
        );
        assert_eq!(
            resource_names("arn:aws:states:::sqs:sendMessage.waitForTaskToken"),
            ("sqs".to_owned(), "sendMessage.waitForTaskToken".to_owned())
        );
        let function = "arn:aws:lambda:us-east-1:123456789012:function:f";
        assert_eq!(
            resource_names(function),
            ("lambda".to_owned(), function.to_owned())
        );
    }
}
