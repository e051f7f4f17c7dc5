//! Property: whatever arrives over HTTP (random bytes, random JSON, every member of every action
//! with a value of the wrong type, huge, negative or fractional numbers, forged tokens, every
//! action name and garbage ones), the server answers with a valid success or a well-formed AWS
//! JSON error, and goes on serving. Runs on a paused clock, so a `GetActivityTask` long poll on a
//! real activity costs no real time.

mod raw_http;

use std::net::SocketAddr;
use std::time::Duration;

use asl_engine::{Engine, EngineConfig, start_server};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use raw_http::{Reply, Req, send};
use serde_json::{Map, Value, json};

const ROLE: &str = "arn:aws:iam::123456789012:role/r";

/// Every action the server implements.
const ACTIONS: &[&str] = &[
    "CreateStateMachine",
    "DescribeStateMachine",
    "UpdateStateMachine",
    "ListStateMachines",
    "DeleteStateMachine",
    "StartExecution",
    "DescribeExecution",
    "ListExecutions",
    "GetExecutionHistory",
    "StopExecution",
    "CreateActivity",
    "DescribeActivity",
    "ListActivities",
    "DeleteActivity",
    "GetActivityTask",
    "SendTaskSuccess",
    "SendTaskFailure",
    "SendTaskHeartbeat",
];

/// Every member any action reads.
const MEMBERS: &[&str] = &[
    "name",
    "definition",
    "roleArn",
    "type",
    "stateMachineArn",
    "executionArn",
    "input",
    "statusFilter",
    "includeExecutionData",
    "reverseOrder",
    "maxResults",
    "nextToken",
    "error",
    "cause",
    "activityArn",
    "workerName",
    "taskToken",
    "output",
];

/// Real names, so that requests get past "does not exist" into the actions' own checks.
#[derive(Debug, Clone)]
struct Fixture {
    addr: SocketAddr,
    machine: String,
    execution: String,
    activity: String,
    token: String,
    definition: String,
}

async fn fixture() -> (Engine, Fixture, asl_engine::ServerHandle) {
    let engine = Engine::new(EngineConfig::default());
    let (addr, server) = start_server(engine.clone(), SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("server starts");
    let activity = engine.create_activity("fuzz").expect("activity").arn;
    // Numbers read from the input at run time: a Wait and a task timeout from `$.n`.
    let definition = json!({
        "StartAt": "Wait",
        "States": {
            "Wait": {"Type": "Wait", "SecondsPath": "$.n", "Next": "Work"},
            "Work": {"Type": "Task", "Resource": activity, "TimeoutSecondsPath": "$.n", "End": true}
        }
    })
    .to_string();
    let machine = engine
        .create_state_machine("fuzz", &definition, ROLE, None)
        .expect("machine")
        .arn;
    let execution = engine
        .start_execution(&machine, Some("fuzz"), Some(r#"{"n": 30}"#))
        .expect("execution")
        .arn
        .clone();
    let task = engine
        .activities()
        .poll(&activity, "fuzzer", Duration::from_secs(60))
        .await
        .expect("poll")
        .expect("the execution's task");
    let fixture = Fixture {
        addr,
        machine,
        execution,
        activity,
        token: task.0,
        definition,
    };
    (engine, fixture, server)
}

/// Numbers clients have no business sending, and some they do.
fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        Just(json!(u64::MAX)),
        Just(json!(i64::MIN)),
        Just(json!(-1)),
        Just(json!(0)),
        Just(json!(1000)),
        Just(json!(1001)),
        Just(json!(1e308)),
        Just(json!(-0.5)),
    ]
}

/// Tokens: canonical, overflowing, signed, padded, random.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => "[0-9]{1,25}",
        3 => Just("18446744073709551615".to_owned()),
        1 => Just("18446744073709551616".to_owned()),
        1 => Just("-1".to_owned()),
        1 => Just("+1".to_owned()),
        1 => Just("00".to_owned()),
        1 => Just(String::new()),
        1 => "[0-9a-f]{64}",
        1 => any::<String>(),
        1 => Just("1".repeat(2000)),
    ]
}

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{0,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A value for a member: a real name, a forged one, or something of the wrong type.
fn member_value(fixture: &Fixture) -> impl Strategy<Value = Value> + use<> {
    let real = prop::sample::select(vec![
        fixture.machine.clone(),
        fixture.execution.clone(),
        fixture.activity.clone(),
        fixture.token.clone(),
        fixture.definition.clone(),
        ROLE.to_owned(),
        "RUNNING".to_owned(),
        "STANDARD".to_owned(),
        "{}".to_owned(),
        r#"{"n": 18446744073709551615}"#.to_owned(),
        r#"{"n": -1}"#.to_owned(),
        r#"{"n": 1e300}"#.to_owned(),
    ])
    .prop_map(Value::String);
    prop_oneof![
        4 => real,
        2 => token().prop_map(Value::String),
        2 => number(),
        1 => any_json(),
    ]
}

/// A request body: random bytes, random JSON, or an object of members (maybe truncated).
fn body(fixture: &Fixture) -> impl Strategy<Value = Vec<u8>> + use<> {
    let members = prop::collection::btree_map(
        prop::sample::select(MEMBERS.to_vec()),
        member_value(fixture),
        0..8,
    )
    .prop_map(|m| {
        Value::Object(
            m.into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect::<Map<_, _>>(),
        )
    })
    .boxed();
    prop_oneof![
        5 => members.clone().prop_map(|v| v.to_string().into_bytes()),
        1 => (members, any::<prop::sample::Index>()).prop_map(|(v, cut)| {
            let text = v.to_string().into_bytes();
            let at = cut.index(text.len().max(1));
            text[..at.min(text.len())].to_vec()
        }),
        1 => any_json().prop_map(|v| v.to_string().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..256),
    ]
}

/// An X-Amz-Target: every real action (mostly), garbage, none.
fn target() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        8 => prop::sample::select(ACTIONS.to_vec()).prop_map(|a| Some(format!("AWSStepFunctions.{a}"))),
        1 => "[ -~]{0,40}".prop_map(|a| Some(format!("AWSStepFunctions.{a}"))),
        1 => "[ -~]{0,40}".prop_map(Some),
        1 => Just(None),
    ]
}

/// The members an action needs, with real values: the starting point that overrides break.
fn well_formed(action: &str, fixture: &Fixture, name: &str) -> Map<String, Value> {
    let members = match action {
        "CreateStateMachine" => {
            json!({"name": name, "definition": fixture.definition, "roleArn": ROLE})
        }
        "UpdateStateMachine" => {
            json!({"stateMachineArn": fixture.machine, "definition": fixture.definition})
        }
        "DescribeStateMachine" | "ListExecutions" => json!({"stateMachineArn": fixture.machine}),
        "DeleteStateMachine" => json!({"stateMachineArn": format!("{}-other", fixture.machine)}),
        "StartExecution" => {
            json!({"stateMachineArn": fixture.machine, "name": name, "input": r#"{"n": 5}"#})
        }
        "DescribeExecution" | "GetExecutionHistory" | "StopExecution" => {
            json!({"executionArn": fixture.execution})
        }
        "CreateActivity" => json!({"name": name}),
        "DescribeActivity" | "GetActivityTask" => json!({"activityArn": fixture.activity}),
        "DeleteActivity" => json!({"activityArn": format!("{}-other", fixture.activity)}),
        "SendTaskSuccess" => json!({"taskToken": fixture.token, "output": "{}"}),
        "SendTaskFailure" | "SendTaskHeartbeat" => json!({"taskToken": fixture.token}),
        _ => json!({}),
    };
    match members {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// A request: mostly a real action with its members well formed except for a few overridden
/// by random values; otherwise any target with any body.
fn request(fixture: &Fixture) -> impl Strategy<Value = (Option<String>, Vec<u8>)> + use<> {
    let base = fixture.clone();
    let overrides = prop::collection::btree_map(
        prop::sample::select(MEMBERS.to_vec()),
        member_value(fixture),
        0..3,
    );
    let near_valid = (
        prop::sample::select(ACTIONS.to_vec()),
        "[a-zA-Z0-9_-]{1,12}",
        prop::option::of(token()),
        prop::option::of(number()),
        overrides,
    )
        .prop_map(move |(action, name, next_token, max_results, overrides)| {
            let mut members = well_formed(action, &base, &name);
            if let Some(token) = next_token {
                members.insert("nextToken".to_owned(), Value::String(token));
            }
            if let Some(n) = max_results {
                members.insert("maxResults".to_owned(), n);
            }
            for (member, value) in overrides {
                members.insert(member.to_owned(), value);
            }
            (
                Some(format!("AWSStepFunctions.{action}")),
                Value::Object(members).to_string().into_bytes(),
            )
        });
    prop_oneof![
        3 => near_valid,
        2 => (target(), body(fixture)),
    ]
}

/// THEN: a success is a JSON object; anything else is a well-formed AWS JSON error.
fn check(reply: &Reply) -> Result<(), TestCaseError> {
    if reply.status == 200 {
        prop_assert!(
            reply.json().is_object(),
            "a 200 without a JSON object: {reply:?}"
        );
    } else {
        prop_assert!(reply.is_aws_error(), "not an AWS JSON error: {reply:?}");
    }
    Ok(())
}

#[test]
fn every_request_gets_an_aws_answer_and_the_server_survives() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime");
    let (_engine, fixture, _server) = runtime.block_on(fixture());
    let addr = fixture.addr;
    let mut runner = TestRunner::new(Config {
        cases: 600,
        failure_persistence: None,
        ..Config::default()
    });

    let result = runner.run(&request(&fixture), |(target, body)| {
        let request = Req::target(addr, target.as_deref())
            .header("X-Amz-Date", "20260101T000000Z")
            .body(body);
        let reply = runtime
            .block_on(send(addr, &request))
            .map_err(|e| TestCaseError::fail(format!("no reply: {e}")))?;
        check(&reply)
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }

    // AND the server is still alive
    let reply = runtime
        .block_on(send(
            addr,
            &Req::action(addr, "ListStateMachines").body("{}"),
        ))
        .expect("the server still answers");
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(reply.json()["stateMachines"].is_array(), "{reply:?}");
}
