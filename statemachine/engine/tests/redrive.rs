//! RedriveExecution, on a paused clock with scripted activity workers: a FAILED, TIMED_OUT or
//! ABORTED execution continues from the state that did not succeed, with the input it had and
//! the variables as they were when it was entered; the steps that succeeded are not run again,
//! and of a Map or Parallel only the iterations or branches that failed run again. The last test
//! drives the action through the real `aws-sdk-sfn` client.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use asl_engine::{Engine, EngineConfig, ExecutionStatus, start_server};
use meeting_domain::ExecutionStatus as Status;
use meeting_domain::ports::ActivityTaskSource;
use serde_json::{Value, json};

const ROLE: &str = "arn:aws:iam::123456789012:role/local";
const ACTIVITY: &str = "arn:aws:states:us-east-1:123456789012:activity:work";

/// A worker on the `work` activity: it echoes its input as `{"done": input}`, except that while
/// it is broken it fails the inputs `fails` picks (after `delay` seconds of virtual time).
#[derive(Clone)]
struct Worker {
    fixed: Arc<AtomicBool>,
    tasks: Arc<AtomicUsize>,
    inputs: Arc<std::sync::Mutex<Vec<Value>>>,
}

impl Worker {
    fn start(engine: &Engine, fails: fn(&Value) -> bool, delay: u64) -> Self {
        let info = engine.create_activity("work").expect("activity");
        let source = engine.activity_source();
        let worker = Self {
            fixed: Arc::new(AtomicBool::new(false)),
            tasks: Arc::new(AtomicUsize::new(0)),
            inputs: Arc::default(),
        };
        let shared = worker.clone();
        tokio::spawn(async move {
            loop {
                let Ok(Some(task)) = source.poll(&info.arn, "redrive-worker").await else {
                    continue;
                };
                shared.tasks.fetch_add(1, Ordering::SeqCst);
                let input: Value = serde_json::from_str(&task.input).expect("JSON input");
                shared.inputs.lock().expect("inputs").push(input.clone());
                let broken = !shared.fixed.load(Ordering::SeqCst) && fails(&input);
                let source = source.clone();
                tokio::spawn(async move {
                    if broken {
                        tokio::time::sleep(Duration::from_secs(delay)).await;
                        let _ = source.fail(&task.token, "Worker.Broken", "not yet").await;
                    } else {
                        let output = json!({"done": input}).to_string();
                        let _ = source.succeed(&task.token, &output).await;
                    }
                });
            }
        });
        worker
    }

    fn fix(&self) {
        self.fixed.store(true, Ordering::SeqCst);
    }

    fn tasks(&self) -> usize {
        self.tasks.load(Ordering::SeqCst)
    }

    fn inputs(&self) -> Vec<Value> {
        self.inputs.lock().expect("inputs").clone()
    }
}

fn always(_: &Value) -> bool {
    true
}

fn machine(engine: &Engine, definition: Value) -> String {
    let text = definition.to_string().replace("ACTIVITY", ACTIVITY);
    let name = format!("m{}", engine.list_state_machines().len());
    engine
        .create_state_machine(&name, &text, ROLE, None)
        .expect("valid definition")
        .arn
}

fn history(engine: &Engine, arn: &str) -> Vec<Value> {
    engine
        .history(arn)
        .expect("history")
        .iter()
        .map(|e| e.to_json(true))
        .collect()
}

fn entered(events: &[Value], state: &str) -> usize {
    events
        .iter()
        .filter(|e| e["stateEnteredEventDetails"]["name"] == state)
        .count()
}

fn output(outcome: &asl_engine::ExecutionOutcome) -> Value {
    outcome.output.clone().expect("an output")
}

#[tokio::test(start_paused = true)]
async fn given_a_failed_task_when_redriven_after_the_worker_is_fixed_then_it_succeeds_without_rerunning_the_pass()
 {
    let engine = Engine::new(EngineConfig::default());
    let worker = Worker::start(&engine, always, 0);
    let arn = machine(
        &engine,
        json!({"StartAt": "Prepare", "States": {
            "Prepare": {"Type": "Pass", "Result": {"ready": true}, "ResultPath": "$.prepared", "Next": "Work"},
            "Work": {"Type": "Task", "Resource": "ACTIVITY", "End": true}}}),
    );
    let mut changes = engine.status_changes();
    let execution = engine
        .start_execution(&arn, Some("run"), Some(r#"{"id":7}"#))
        .expect("started");
    let failed = execution.wait().await;
    assert_eq!(failed.status, ExecutionStatus::Failed);
    assert_eq!(failed.error.as_deref(), Some("Worker.Broken"));

    worker.fix();
    let date = engine
        .redrive_execution(&execution.arn)
        .await
        .expect("redriven");
    let outcome = execution.wait().await;

    assert_eq!(outcome.status, ExecutionStatus::Succeeded, "{outcome:?}");
    let expected = json!({"done": {"id": 7, "prepared": {"ready": true}}});
    assert_eq!(output(&outcome), expected);
    assert_eq!(worker.tasks(), 2);
    let inputs = worker.inputs();
    assert_eq!(
        inputs[0], inputs[1],
        "the task reruns with the input it had"
    );
    let events = history(&engine, &execution.arn);
    assert_eq!(entered(&events, "Prepare"), 1, "the Pass is not rerun");
    assert_eq!(entered(&events, "Work"), 2);
    let redriven = events
        .iter()
        .position(|e| e["type"] == "ExecutionRedriven")
        .expect("an ExecutionRedriven event");
    assert_eq!(events[redriven - 1]["type"], "ExecutionFailed");
    assert_eq!(
        events[redriven]["executionRedrivenEventDetails"],
        json!({"redriveCount": 1})
    );
    assert_eq!(events[redriven + 1]["type"], "TaskStateEntered");
    assert_eq!(
        events[redriven + 1]["previousEventId"],
        events[redriven]["id"]
    );
    assert_eq!(events.last().expect("events")["type"], "ExecutionSucceeded");
    let state = execution.lock();
    assert_eq!((state.redrive_count, state.redrive_date), (1, Some(date)));
    assert!(state.stop_date.is_some());
    drop(state);
    let statuses: Vec<Status> = std::iter::from_fn(|| changes.try_recv().ok())
        .map(|c| c.status)
        .collect();
    assert_eq!(
        statuses,
        vec![Status::Failed, Status::Running, Status::Succeeded]
    );
}

#[tokio::test(start_paused = true)]
async fn given_a_map_with_one_failed_iteration_of_three_when_redriven_then_only_that_iteration_runs_again()
 {
    let engine = Engine::new(EngineConfig::default());
    // Iteration 1 fails after the other two have succeeded.
    let worker = Worker::start(&engine, |input| input["item"] == 1, 10);
    let arn = machine(
        &engine,
        json!({"StartAt": "Each", "States": {
            "Each": {"Type": "Map", "ItemsPath": "$.items",
                "ItemSelector": {"item.$": "$$.Map.Item.Value"},
                "ItemProcessor": {"StartAt": "Mark", "States": {
                    "Mark": {"Type": "Pass", "Parameters": {"item.$": "$.item", "marked": true}, "Next": "Work"},
                    "Work": {"Type": "Task", "Resource": "ACTIVITY", "End": true}}},
                "End": true}}}),
    );
    let execution = engine
        .start_execution(&arn, Some("map"), Some(r#"{"items":[0,1,2]}"#))
        .expect("started");
    assert_eq!(execution.wait().await.status, ExecutionStatus::Failed);
    assert_eq!(worker.tasks(), 3);

    worker.fix();
    engine
        .redrive_execution(&execution.arn)
        .await
        .expect("redriven");
    let outcome = execution.wait().await;

    assert_eq!(outcome.status, ExecutionStatus::Succeeded, "{outcome:?}");
    assert_eq!(worker.tasks(), 4, "one activity task more: iteration 1's");
    let done = |n: u64| json!({"done": {"item": n, "marked": true}});
    assert_eq!(output(&outcome), json!([done(0), done(1), done(2)]));
    let events = history(&engine, &execution.arn);
    assert_eq!(
        entered(&events, "Mark"),
        3,
        "iteration 1 reruns from its Task"
    );
    assert_eq!(entered(&events, "Work"), 4);
    let redriven = events
        .iter()
        .position(|e| e["type"] == "ExecutionRedriven")
        .expect("redriven");
    let rerun: Vec<&Value> = events[redriven..]
        .iter()
        .filter(|e| e["type"] == "MapIterationStarted")
        .map(|e| &e["mapIterationStartedEventDetails"]["index"])
        .collect();
    assert_eq!(rerun, vec![&json!(1)]);
}

#[tokio::test(start_paused = true)]
async fn given_a_parallel_with_one_failed_branch_when_redriven_then_only_that_branch_runs_again() {
    let engine = Engine::new(EngineConfig::default());
    let worker = Worker::start(&engine, |input| input["branch"] == "B", 5);
    let branch = |name: &str| {
        json!({"StartAt": name, "States": {
            name: {"Type": "Task", "Resource": "ACTIVITY", "Parameters": {"branch": name}, "End": true}}})
    };
    let arn = machine(
        &engine,
        json!({"StartAt": "Both", "States": {
            "Both": {"Type": "Parallel", "Branches": [branch("A"), branch("B")], "End": true}}}),
    );
    let execution = engine
        .start_execution(&arn, Some("parallel"), None)
        .expect("started");
    assert_eq!(execution.wait().await.status, ExecutionStatus::Failed);
    assert_eq!(worker.tasks(), 2);

    worker.fix();
    engine
        .redrive_execution(&execution.arn)
        .await
        .expect("redriven");
    let outcome = execution.wait().await;

    assert_eq!(outcome.status, ExecutionStatus::Succeeded, "{outcome:?}");
    assert_eq!(worker.tasks(), 3);
    assert_eq!(
        output(&outcome),
        json!([{"done": {"branch": "A"}}, {"done": {"branch": "B"}}])
    );
    let events = history(&engine, &execution.arn);
    assert_eq!((entered(&events, "A"), entered(&events, "B")), (1, 2));
}

#[tokio::test(start_paused = true)]
async fn given_variables_assigned_before_the_failure_when_redriven_then_the_state_sees_them_as_they_were()
 {
    let engine = Engine::new(EngineConfig::default());
    let worker = Worker::start(&engine, always, 0);
    let arn = machine(
        &engine,
        json!({"StartAt": "Set", "States": {
            "Set": {"Type": "Pass", "Assign": {"greeting": "hello", "n": 1}, "Next": "Bump"},
            "Bump": {"Type": "Pass", "Assign": {"n.$": "States.MathAdd($n, 1)"}, "Next": "Work"},
            "Work": {"Type": "Task", "Resource": "ACTIVITY",
                "Parameters": {"greeting.$": "$greeting", "n.$": "$n"},
                "Assign": {"n.$": "States.MathAdd($n, 10)"}, "Next": "Show"},
            "Show": {"Type": "Pass", "Parameters": {"n.$": "$n"}, "End": true}}}),
    );
    let execution = engine
        .start_execution(&arn, Some("variables"), None)
        .expect("started");
    assert_eq!(execution.wait().await.status, ExecutionStatus::Failed);

    worker.fix();
    engine
        .redrive_execution(&execution.arn)
        .await
        .expect("redriven");
    let outcome = execution.wait().await;

    assert_eq!(outcome.status, ExecutionStatus::Succeeded, "{outcome:?}");
    let inputs = worker.inputs();
    assert_eq!(inputs[1], json!({"greeting": "hello", "n": 2}));
    assert_eq!(output(&outcome), json!({"n": 12}));
}

#[tokio::test(start_paused = true)]
async fn given_a_redriven_execution_then_the_context_has_its_redrive_count_and_time() {
    let engine = Engine::new(EngineConfig::default());
    // The worker fails while the execution has not been redriven.
    let worker = Worker::start(&engine, |input| input["count"] == 0, 0);
    let arn = machine(
        &engine,
        json!({"StartAt": "Work", "States": {
            "Work": {"Type": "Task", "Resource": "ACTIVITY",
                "Parameters": {"count.$": "$$.Execution.RedriveCount"}, "Next": "When"},
            "When": {"Type": "Pass",
                "Parameters": {"count.$": "$$.Execution.RedriveCount", "time.$": "$$.Execution.RedriveTime"},
                "End": true}}}),
    );
    let execution = engine
        .start_execution(&arn, Some("context"), None)
        .expect("started");
    assert_eq!(execution.wait().await.status, ExecutionStatus::Failed);
    tokio::time::sleep(Duration::from_secs(90)).await;

    let date = engine
        .redrive_execution(&execution.arn)
        .await
        .expect("redriven");
    let outcome = execution.wait().await;

    assert_eq!(outcome.status, ExecutionStatus::Succeeded, "{outcome:?}");
    let time = date.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    assert_eq!(output(&outcome), json!({"count": 1, "time": time}));
    assert_eq!(
        worker.inputs(),
        vec![json!({"count": 0}), json!({"count": 1})]
    );
}

#[tokio::test(start_paused = true)]
async fn given_a_stopped_execution_when_redriven_then_the_task_it_was_waiting_for_runs_again() {
    let engine = Engine::new(EngineConfig::default());
    // The worker holds the first task for an hour: the execution is stopped meanwhile.
    let worker = Worker::start(&engine, always, 3600);
    let arn = machine(
        &engine,
        json!({"StartAt": "Each", "States": {
            "Each": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1,
                "ItemProcessor": {"StartAt": "Work", "States": {
                    "Work": {"Type": "Task", "Resource": "ACTIVITY", "End": true}}},
                "End": true}}}),
    );
    let execution = engine
        .start_execution(&arn, Some("stopped"), Some(r#"{"items":["a","b"]}"#))
        .expect("started");
    tokio::time::sleep(Duration::from_secs(5)).await;
    engine
        .stop_execution(&execution.arn, Some("Operator"), None)
        .expect("stopped");
    assert_eq!(execution.wait().await.status, ExecutionStatus::Aborted);

    worker.fix();
    engine
        .redrive_execution(&execution.arn)
        .await
        .expect("redriven");
    let outcome = execution.wait().await;

    assert_eq!(outcome.status, ExecutionStatus::Succeeded, "{outcome:?}");
    assert_eq!(output(&outcome), json!([{"done": "a"}, {"done": "b"}]));
    assert_eq!(worker.tasks(), 3, "item a's task once more, then item b's");
    let state = execution.lock();
    assert_eq!(
        (state.error.as_deref(), state.cause.as_deref()),
        (None, None)
    );
}

#[tokio::test(start_paused = true)]
async fn given_a_succeeded_or_running_execution_when_redriven_then_it_is_not_redrivable() {
    let engine = Engine::new(EngineConfig::default());
    let done = machine(
        &engine,
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    );
    let succeeded = engine
        .start_execution(&done, Some("succeeded"), None)
        .expect("started");
    succeeded.wait().await;
    let error = engine
        .redrive_execution(&succeeded.arn)
        .await
        .expect_err("refused");
    assert_eq!(
        (error.code, error.message.as_str()),
        (
            "ExecutionNotRedrivable",
            "Execution is SUCCEEDED and cannot be redriven"
        )
    );

    engine.create_activity("work").expect("activity");
    let waiting = machine(
        &engine,
        json!({"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": "ACTIVITY", "End": true}}}),
    );
    let running = engine
        .start_execution(&waiting, Some("running"), None)
        .expect("started");
    let error = engine
        .redrive_execution(&running.arn)
        .await
        .expect_err("refused");
    assert_eq!(
        (error.code, error.message.as_str()),
        (
            "ExecutionNotRedrivable",
            "Execution is RUNNING and cannot be redriven"
        )
    );
    assert_eq!(running.lock().redrive_count, 0);

    engine
        .stop_execution(&running.arn, None, None)
        .expect("stopped");
    running.wait().await;
    // AWS quota: at most 1,000 redrives of one execution.
    running.lock().redrive_count = 1000;
    let error = engine
        .redrive_execution(&running.arn)
        .await
        .expect_err("refused");
    assert_eq!(error.code, "ExecutionNotRedrivable");
    running.lock().redrive_count = 999;
    engine
        .redrive_execution(&running.arn)
        .await
        .expect("the 1,000th redrive");
    assert_eq!(running.lock().redrive_count, 1000);

    let missing = engine
        .redrive_execution("arn:aws:states:us-east-1:123456789012:execution:m:nope")
        .await
        .expect_err("refused");
    assert_eq!(missing.code, "ExecutionDoesNotExist");
}

#[tokio::test]
async fn given_a_failed_execution_when_redriven_through_the_sdk_then_the_response_and_described_fields_parse()
 {
    use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_sfn::types::{
        ExecutionRedriveFilter, ExecutionRedriveStatus, ExecutionStatus as SdkStatus,
        HistoryEventType,
    };

    let engine = Engine::new(EngineConfig::default());
    let (addr, server) = start_server(engine.clone(), SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("server starts");
    let config = aws_sdk_sfn::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .endpoint_url(format!("http://{addr}"))
        .build();
    let client = aws_sdk_sfn::Client::from_conf(config);
    let activity = client
        .create_activity()
        .name("work")
        .send()
        .await
        .expect("activity")
        .activity_arn()
        .to_owned();
    let definition = json!({"StartAt": "Work", "States": {
        "Work": {"Type": "Task", "Resource": activity, "End": true}}});
    let machine = client
        .create_state_machine()
        .name("sdk")
        .definition(definition.to_string())
        .role_arn(ROLE)
        .send()
        .await
        .expect("machine")
        .state_machine_arn()
        .to_owned();
    let arn = client
        .start_execution()
        .state_machine_arn(&machine)
        .send()
        .await
        .expect("start")
        .execution_arn()
        .to_owned();
    let task = |n: u32| {
        let client = client.clone();
        let activity = activity.clone();
        async move {
            let task = client
                .get_activity_task()
                .activity_arn(&activity)
                .send()
                .await
                .expect("poll");
            let token = task.task_token().expect("a task").to_owned();
            if n == 0 {
                client
                    .send_task_failure()
                    .task_token(token)
                    .error("Worker.Broken")
                    .send()
                    .await
                    .expect("failure");
            } else {
                client
                    .send_task_success()
                    .task_token(token)
                    .output("{}")
                    .send()
                    .await
                    .expect("success");
            }
        }
    };
    task(0).await;
    engine.wait(&arn).await.expect("known");
    let failed = client
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .expect("describe");
    assert_eq!(failed.status(), &SdkStatus::Failed);
    assert_eq!(
        failed.redrive_status(),
        Some(&ExecutionRedriveStatus::Redrivable)
    );
    assert_eq!(
        (failed.redrive_count(), failed.redrive_date()),
        (Some(0), None)
    );

    let redriven = client
        .redrive_execution()
        .execution_arn(&arn)
        .send()
        .await
        .expect("redrive");
    let running = client
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .expect("describe");
    assert_eq!(running.status(), &SdkStatus::Running);
    assert_eq!(running.redrive_count(), Some(1));
    assert_eq!(running.redrive_date(), Some(redriven.redrive_date()));
    assert_eq!(running.stop_date(), None);
    assert_eq!(
        running.redrive_status_reason(),
        Some("Execution is RUNNING and cannot be redriven")
    );

    task(1).await;
    engine.wait(&arn).await.expect("known");
    let succeeded = client
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .expect("describe");
    assert_eq!(succeeded.status(), &SdkStatus::Succeeded);
    assert_eq!(
        succeeded.redrive_status(),
        Some(&ExecutionRedriveStatus::NotRedrivable)
    );
    let again = client
        .redrive_execution()
        .execution_arn(&arn)
        .send()
        .await
        .expect_err("refused");
    assert!(again.into_service_error().is_execution_not_redrivable());

    let listed = client
        .list_executions()
        .state_machine_arn(&machine)
        .redrive_filter(ExecutionRedriveFilter::Redriven)
        .send()
        .await
        .expect("list");
    let items = listed.executions();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].redrive_count(), Some(1));
    assert!(items[0].redrive_date().is_some());
    let history = client
        .get_execution_history()
        .execution_arn(&arn)
        .send()
        .await
        .expect("history");
    let redriven_event = history
        .events()
        .iter()
        .find(|e| e.r#type() == &HistoryEventType::ExecutionRedriven)
        .expect("an ExecutionRedriven event");
    assert_eq!(
        redriven_event
            .execution_redriven_event_details()
            .and_then(|d| d.redrive_count()),
        Some(1)
    );
    server.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn given_a_jsonata_map_with_a_failed_iteration_when_redriven_then_only_that_iteration_runs_again()
 {
    let engine = Engine::new(EngineConfig::default());
    let worker = Worker::start(&engine, |input| input["item"] == 2, 10);
    let arn = machine(
        &engine,
        json!({"QueryLanguage": "JSONata", "StartAt": "Each", "States": {
            "Each": {"Type": "Map", "Items": "{% $states.input.items %}",
                "ItemSelector": {"item": "{% $states.context.Map.Item.Value %}"},
                "ItemProcessor": {"StartAt": "Work", "States": {
                    "Work": {"Type": "Task", "Resource": "ACTIVITY", "Output": "{% $states.result.done.item %}", "End": true}}},
                "End": true}}}),
    );
    let execution = engine
        .start_execution(&arn, Some("jsonata"), Some(r#"{"items":[1,2,3]}"#))
        .expect("started");
    assert_eq!(execution.wait().await.status, ExecutionStatus::Failed);

    worker.fix();
    engine
        .redrive_execution(&execution.arn)
        .await
        .expect("redriven");
    let outcome = execution.wait().await;

    assert_eq!(outcome.status, ExecutionStatus::Succeeded, "{outcome:?}");
    assert_eq!(output(&outcome), json!([1, 2, 3]));
    assert_eq!(worker.tasks(), 4);
}
