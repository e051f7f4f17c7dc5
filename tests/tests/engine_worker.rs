//! The real worker runtime, through aws-sdk-sfn, against the local engine's Step Functions HTTP
//! API: tasks completed, failed with a typed error, kept alive by heartbeats past
//! HeartbeatSeconds, and timed out when nobody heartbeats.

use std::sync::Arc;
use std::time::Duration;

use activity_runtime::sfn::SfnTaskSource;
use activity_runtime::{Activity, Failure, Registry, TaskContext, Worker, WorkerConfig};
use asl_engine::{Engine, EngineConfig, start_server};
use async_trait::async_trait;
use aws_sdk_sfn::Client;
use meeting_domain::activity::{ActivityContract, ActivityErrorName};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const PREFIX: &str = "arn:aws:states:us-east-1:123456789012:activity:it";

#[derive(Debug)]
struct Echo;

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct EchoInput {
    value: String,
    mode: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct EchoOutput {
    value: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EchoError {
    Refused,
}

impl ActivityErrorName for EchoError {
    const ALL: &'static [Self] = &[Self::Refused];
    fn name(self) -> &'static str {
        "Echo.Refused"
    }
    fn retryable(self) -> bool {
        false
    }
}

impl ActivityContract for Echo {
    const NAME: &'static str = "echo";
    /// Short, so that heartbeats (every second) matter within the test.
    const HEARTBEAT_SECONDS: u32 = 3;
    const TIMEOUT_SECONDS: u32 = 60;
    type Input = EchoInput;
    type Output = EchoOutput;
    type Error = EchoError;
}

struct EchoActivity;

#[async_trait]
impl Activity for EchoActivity {
    type Contract = Echo;

    async fn run(
        &self,
        input: EchoInput,
        ctx: &TaskContext,
    ) -> Result<EchoOutput, Failure<EchoError>> {
        match input.mode.as_str() {
            "fail" => Err(Failure::new(
                EchoError::Refused,
                format!("refused {}", input.value),
            )),
            "slow" => {
                // Twice HeartbeatSeconds: only the runtime's heartbeats keep the task alive.
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(6)) => {}
                    () = ctx.cancel.cancelled() => return Err(Failure::new(EchoError::Refused, "cancelled")),
                }
                Ok(EchoOutput { value: input.value })
            }
            _ => Ok(EchoOutput { value: input.value }),
        }
    }
}

async fn client(endpoint: String) -> Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sfn::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .load()
        .await;
    Client::new(&config)
}

fn definition(activity_arn: &str) -> String {
    json!({
        "StartAt": "Echo",
        "States": {"Echo": {
            "Type": "Task", "Resource": activity_arn,
            "HeartbeatSeconds": Echo::HEARTBEAT_SECONDS, "TimeoutSeconds": Echo::TIMEOUT_SECONDS,
            "End": true
        }}
    })
    .to_string()
}

struct Harness {
    client: Client,
    machine_arn: String,
    activity_arn: String,
}

async fn harness() -> (Harness, asl_engine::ServerHandle) {
    let engine = Engine::new(EngineConfig::default());
    let (addr, server) = start_server(engine, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client = client(format!("http://{addr}")).await;
    let activity_arn = client
        .create_activity()
        .name("it-echo")
        .send()
        .await
        .expect("CreateActivity")
        .activity_arn;
    assert_eq!(activity_arn, format!("{PREFIX}-echo"));
    let machine_arn = client
        .create_state_machine()
        .name("echo-machine")
        .role_arn("arn:aws:iam::123456789012:role/test")
        .definition(definition(&activity_arn))
        .send()
        .await
        .expect("CreateStateMachine")
        .state_machine_arn;
    (
        Harness {
            client,
            machine_arn,
            activity_arn,
        },
        server,
    )
}

impl Harness {
    async fn start(&self, name: &str, input: Value) -> String {
        self.client
            .start_execution()
            .state_machine_arn(&self.machine_arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await
            .expect("StartExecution")
            .execution_arn
    }

    /// Polls DescribeExecution until the execution leaves RUNNING.
    async fn finished(
        &self,
        arn: &str,
    ) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
        loop {
            let described = self
                .client
                .describe_execution()
                .execution_arn(arn)
                .send()
                .await
                .unwrap();
            if described.status != aws_sdk_sfn::types::ExecutionStatus::Running {
                return described;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn worker(client: &Client) -> Worker {
    let mut registry = Registry::new(PREFIX);
    registry.register(EchoActivity).expect("registers");
    Worker::new(
        Arc::new(SfnTaskSource::new(client.clone())),
        registry,
        WorkerConfig {
            concurrency: 2,
            ..WorkerConfig::default()
        },
    )
    .expect("worker builds")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_worker_completes_fails_and_heartbeats_tasks_through_the_api() {
    let (h, server) = harness().await;
    let shutdown = CancellationToken::new();
    let w = worker(&h.client);
    let stop = shutdown.clone();
    let running = tokio::spawn(async move { w.run_until(stop.cancelled_owned()).await });

    let ok = h.start("ok", json!({"value": "hello", "mode": "ok"})).await;
    let fail = h.start("fail", json!({"value": "x", "mode": "fail"})).await;
    let slow = h
        .start("slow", json!({"value": "late", "mode": "slow"}))
        .await;

    let ok = h.finished(&ok).await;
    assert_eq!(ok.status, aws_sdk_sfn::types::ExecutionStatus::Succeeded);
    assert_eq!(
        serde_json::from_str::<Value>(ok.output.as_deref().unwrap()).unwrap(),
        json!({"value": "hello"})
    );

    let fail = h.finished(&fail).await;
    assert_eq!(fail.status, aws_sdk_sfn::types::ExecutionStatus::Failed);
    assert_eq!(fail.error.as_deref(), Some("Echo.Refused"));
    assert_eq!(fail.cause.as_deref(), Some("refused x"));

    let slow = h.finished(&slow).await;
    assert_eq!(
        slow.status,
        aws_sdk_sfn::types::ExecutionStatus::Succeeded,
        "{:?}",
        slow.error
    );

    shutdown.cancel();
    let summary = running.await.unwrap();
    assert_eq!(
        (
            summary.received,
            summary.succeeded,
            summary.failed,
            summary.unreported
        ),
        (3, 2, 1, 0),
        "{summary:?}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_nobody_heartbeats_times_out_and_its_token_is_rejected() {
    let (h, server) = harness().await;
    let arn = h
        .start("abandoned", json!({"value": "v", "mode": "ok"}))
        .await;
    // A worker that takes the task and dies: poll, never heartbeat or answer.
    let task = h
        .client
        .get_activity_task()
        .activity_arn(&h.activity_arn)
        .worker_name("dies")
        .send()
        .await
        .expect("GetActivityTask");
    let token = task.task_token.expect("a task is handed out");

    let finished = h.finished(&arn).await;
    assert_eq!(finished.status, aws_sdk_sfn::types::ExecutionStatus::Failed);
    // A missed heartbeat is its own error (matched by States.HeartbeatTimeout and by
    // States.Timeout in Retry/Catch).
    assert_eq!(finished.error.as_deref(), Some("States.HeartbeatTimeout"));

    let late = h
        .client
        .send_task_success()
        .task_token(&token)
        .output("{}")
        .send()
        .await;
    let err = late.expect_err("a timed-out token is rejected");
    assert!(
        err.into_service_error().is_task_timed_out(),
        "TaskTimedOut expected"
    );
    let history = h
        .client
        .get_execution_history()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    let types: Vec<String> = history
        .events
        .iter()
        .map(|e| e.r#type.as_str().to_owned())
        .collect();
    assert!(types.iter().any(|t| t == "ActivityTimedOut"), "{types:?}");
    server.shutdown().await;
}
