//! How executions close, on a paused clock: the machine's `TimeoutSeconds` ends an execution
//! TIMED_OUT and StopExecution ends it ABORTED, in both cases without running any Catch; and
//! every terminal transition is published once on [`Engine::status_changes`].

use std::time::Duration;

use asl_engine::{Engine, EngineConfig, ExecutionStatus};
use meeting_domain::ExecutionStatus as Status;
use tokio::sync::broadcast::error::TryRecvError;

const ROLE: &str = "arn:aws:iam::123456789012:role/local";

/// An activity task that nobody works on, with a Catch that would make the execution succeed.
/// The task's own timeout falls due at the same instant as the execution's.
fn caught_task_machine(activity_arn: &str, timeout: u32) -> String {
    format!(
        r#"{{"TimeoutSeconds":{timeout},"StartAt":"Work","States":{{
  "Work":{{"Type":"Task","Resource":"{activity_arn}","TimeoutSeconds":{timeout},
    "Catch":[{{"ErrorEquals":["States.ALL"],"Next":"Caught"}}],"End":true}},
  "Caught":{{"Type":"Pass","Result":"the catch ran","End":true}}}}}}"#
    )
}

fn engine_with(definition: &str) -> (Engine, String) {
    let engine = Engine::new(EngineConfig::default());
    engine
        .create_activity("nobody-works-here")
        .expect("activity");
    let definition = definition.replace(
        "ACTIVITY",
        "arn:aws:states:us-east-1:123456789012:activity:nobody-works-here",
    );
    let machine = engine
        .create_state_machine("m", &definition, ROLE, None)
        .expect("valid definition");
    (engine, machine.arn)
}

fn entered_states(engine: &Engine, arn: &str) -> Vec<String> {
    engine
        .history(arn)
        .expect("history")
        .iter()
        .filter_map(|e| {
            e.to_json(true)["stateEnteredEventDetails"]["name"]
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn given_the_execution_timeout_and_a_task_timeout_at_the_same_instant_then_it_times_out_without_the_catch()
 {
    let (engine, machine) = engine_with(&caught_task_machine("ACTIVITY", 10));
    // The two timers race on every run; the execution's must win every time.
    for run in 0..20 {
        let execution = engine
            .start_execution(&machine, Some(&format!("run-{run}")), None)
            .expect("started");

        let outcome = execution.wait().await;

        assert_eq!(outcome.status, ExecutionStatus::TimedOut, "run {run}");
        assert_eq!(outcome.output, None);
        let entered = entered_states(&engine, &execution.arn);
        assert!(!entered.contains(&"Caught".to_owned()), "{entered:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn given_a_running_execution_when_stopped_then_it_is_aborted_and_no_catch_runs() {
    let (engine, machine) = engine_with(&caught_task_machine("ACTIVITY", 3600));
    let execution = engine
        .start_execution(&machine, Some("stopped"), None)
        .expect("started");
    tokio::time::sleep(Duration::from_secs(5)).await;

    engine
        .stop_execution(
            &execution.arn,
            Some("Operator.Stop"),
            Some("stopped by hand"),
        )
        .expect("stopped");
    let outcome = execution.wait().await;
    tokio::time::sleep(Duration::from_secs(7200)).await;

    assert_eq!(outcome.status, ExecutionStatus::Aborted);
    assert_eq!(outcome.error.as_deref(), Some("Operator.Stop"));
    assert_eq!(execution.outcome().status, ExecutionStatus::Aborted);
    let entered = entered_states(&engine, &execution.arn);
    assert_eq!(entered, ["Work"], "nothing ran after the stop");
}

#[tokio::test(start_paused = true)]
async fn given_a_subscriber_when_executions_close_every_way_then_each_terminal_change_is_published_once()
 {
    let engine = Engine::new(EngineConfig::default());
    engine
        .create_activity("nobody-works-here")
        .expect("activity");
    let mut changes = engine.status_changes();
    let machine = |name: &str, definition: &str| {
        engine
            .create_state_machine(name, definition, ROLE, None)
            .expect("valid")
            .arn
    };
    let succeeds = machine(
        "succeeds",
        r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"ok":true},"End":true}}}"#,
    );
    let fails = machine(
        "fails",
        r#"{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Boom","Cause":"because"}}}"#,
    );
    let times_out = machine(
        "times-out",
        r#"{"TimeoutSeconds":60,"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}"#,
    );
    let waits = machine(
        "waits",
        r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}"#,
    );

    let ok = engine
        .start_execution(&succeeds, Some("ok"), Some(r#"{"n":1}"#))
        .unwrap();
    let failed = engine
        .start_execution(&fails, Some("failed"), None)
        .unwrap();
    let timed_out = engine
        .start_execution(&times_out, Some("timed-out"), None)
        .unwrap();
    let aborted = engine
        .start_execution(&waits, Some("aborted"), None)
        .unwrap();
    ok.wait().await;
    failed.wait().await;
    timed_out.wait().await;
    engine
        .stop_execution(&aborted.arn, None, Some("operator"))
        .unwrap();
    // Stopping a closed execution changes nothing and publishes nothing.
    engine.stop_execution(&ok.arn, None, None).unwrap();
    tokio::time::sleep(Duration::from_secs(7200)).await;

    let mut seen = Vec::new();
    loop {
        match changes.try_recv() {
            Ok(change) => seen.push(change),
            Err(TryRecvError::Empty) => break,
            Err(e) => panic!("{e}"),
        }
    }
    let summary: Vec<(&str, Status)> = seen.iter().map(|c| (c.name.as_str(), c.status)).collect();
    assert_eq!(
        summary,
        [
            ("ok", Status::Succeeded),
            ("failed", Status::Failed),
            ("timed-out", Status::TimedOut),
            ("aborted", Status::Aborted),
        ]
    );
    let ok_change = &seen[0];
    assert_eq!(ok_change.execution_arn, ok.arn);
    assert_eq!(ok_change.state_machine_arn, succeeds);
    assert_eq!(ok_change.input.as_deref(), Some(r#"{"n":1}"#));
    assert_eq!(ok_change.output.as_deref(), Some(r#"{"ok":true}"#));
    assert_eq!(ok_change.start_date, ok.start_date.timestamp_millis());
    let failed_change = &seen[1];
    assert_eq!(failed_change.error.as_deref(), Some("Boom"));
    assert_eq!(failed_change.cause.as_deref(), Some("because"));
    let timed_out_change = &seen[2];
    assert_eq!(
        timed_out_change.stop_date.unwrap() - timed_out_change.start_date,
        60_000,
        "stopped when the 60 s TimeoutSeconds passed"
    );
    assert_eq!(seen[3].cause.as_deref(), Some("operator"));
    assert!(seen.iter().all(|c| c.status.is_terminal()));
}
