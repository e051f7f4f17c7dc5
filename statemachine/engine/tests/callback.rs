//! The callback pattern (`….waitForTaskToken`): the integration receives `$$.Task.Token`, the
//! state waits until SendTaskSuccess / SendTaskFailure with that token, and times out otherwise.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use asl_engine::{Engine, EngineConfig, ExecutionStatus, Resources, StatesError, TaskHandler};
use async_trait::async_trait;
use serde_json::{Value, json};

const QUEUE: &str = "arn:aws:states:::sqs:sendMessage";

/// Stands in for SQS: keeps the messages it was sent.
#[derive(Default)]
struct Mailbox {
    messages: Mutex<Vec<Value>>,
}

#[async_trait]
impl TaskHandler for Mailbox {
    async fn invoke(&self, _resource: &str, input: Value) -> Result<Value, StatesError> {
        self.messages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(input);
        Ok(json!({"MessageId": "m-1"}))
    }
}

fn engine_with(mailbox: &Arc<Mailbox>) -> Engine {
    let mut handlers: HashMap<String, Arc<dyn TaskHandler>> = HashMap::new();
    handlers.insert(QUEUE.into(), Arc::clone(mailbox) as Arc<dyn TaskHandler>);
    Engine::new(EngineConfig {
        resources: Resources {
            handlers,
            ..Resources::default()
        },
        ..EngineConfig::default()
    })
}

const JSONPATH: &str = r#"{"StartAt":"Ask","States":{"Ask":{"Type":"Task",
  "Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken",
  "Parameters":{"MessageBody":{"token.$":"$$.Task.Token","question.$":"$.q"}},
  "TimeoutSeconds":60,"End":true}}}"#;

const JSONATA: &str = r#"{"QueryLanguage":"JSONata","StartAt":"Ask","States":{"Ask":{"Type":"Task",
  "Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken",
  "Arguments":{"MessageBody":{"token":"{% $states.context.Task.Token %}","question":"{% $states.input.q %}"}},
  "Output":{"answer":"{% $states.result.answer %}"},
  "TimeoutSeconds":60,"End":true}}}"#;

async fn token_sent(mailbox: &Mailbox) -> String {
    for _ in 0..1000 {
        if let Some(message) = mailbox
            .messages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .first()
        {
            return message["MessageBody"]["token"]
                .as_str()
                .expect("the token is in the message")
                .to_owned();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the integration was never called");
}

async fn run(definition: &str, answer: impl FnOnce(&Engine, &str)) -> (Engine, String) {
    let mailbox = Arc::new(Mailbox::default());
    let engine = engine_with(&mailbox);
    let machine = engine
        .create_state_machine("ask", definition, "arn:aws:iam::123456789012:role/r", None)
        .expect("valid");
    let execution = engine
        .start_execution(&machine.arn, None, Some(r#"{"q":"ship it?"}"#))
        .expect("started");
    let token = token_sent(&mailbox).await;
    answer(&engine, &token);
    (engine, execution.arn.clone())
}

#[tokio::test]
async fn given_a_callback_task_when_the_token_gets_success_then_the_result_is_the_output() {
    let (engine, arn) = run(JSONPATH, |engine, token| {
        engine
            .activities()
            .send_success(token, r#"{"answer":"yes"}"#)
            .expect("the token is waiting");
    })
    .await;
    let outcome = engine.wait(&arn).await.expect("finishes");
    assert_eq!(outcome.status, ExecutionStatus::Succeeded);
    assert_eq!(outcome.output, Some(json!({"answer": "yes"})));
    let types: Vec<&str> = engine
        .history(&arn)
        .expect("history")
        .iter()
        .map(|e| e.event_type.as_str())
        .collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[tokio::test]
async fn given_a_jsonata_callback_task_when_answered_then_output_reads_states_result() {
    let (engine, arn) = run(JSONATA, |engine, token| {
        engine
            .activities()
            .send_success(token, r#"{"answer":"no"}"#)
            .expect("the token is waiting");
    })
    .await;
    let outcome = engine.wait(&arn).await.expect("finishes");
    assert_eq!(outcome.output, Some(json!({"answer": "no"})));
}

#[tokio::test]
async fn given_a_callback_task_when_the_token_gets_failure_then_the_state_fails_with_it() {
    let (engine, arn) = run(JSONPATH, |engine, token| {
        engine
            .activities()
            .send_failure(token, "Rejected", "the reviewer said no")
            .expect("the token is waiting");
    })
    .await;
    let outcome = engine.wait(&arn).await.expect("finishes");
    assert_eq!(outcome.status, ExecutionStatus::Failed);
    assert_eq!(outcome.error.as_deref(), Some("Rejected"));
    assert_eq!(outcome.cause.as_deref(), Some("the reviewer said no"));
}

#[tokio::test(start_paused = true)]
async fn given_a_callback_task_when_nobody_answers_then_it_times_out() {
    let (engine, arn) = run(JSONPATH, |_, _| {}).await;
    let outcome = engine.wait(&arn).await.expect("finishes");
    assert_eq!(outcome.status, ExecutionStatus::Failed);
    assert_eq!(outcome.error.as_deref(), Some("States.Timeout"));
    let token_after = engine.history(&arn).expect("history");
    assert!(
        token_after
            .iter()
            .any(|e| e.event_type.as_str() == "TaskTimedOut")
    );
}
