//! Throughput of the local engine: state transitions per second on a 1,000-state Pass chain and
//! on a Map of 10,000 items, memory per running execution, and the same definitions on moto's
//! Step Functions interpreter (execution enabled) for the ratio in the README.
//!
//! `cargo bench -p asl-engine --bench throughput` (add `-- --no-moto` to skip moto). Prints a
//! Markdown table.

use std::time::{Duration, Instant};

use asl_engine::{Engine, EngineConfig, ExecutionStatus};
use serde_json::{Value, json};

/// Pass states in the chain benchmark.
const CHAIN_STATES: usize = 1_000;
/// Items in the Map benchmark.
const MAP_ITEMS: usize = 10_000;
/// Executions kept waiting for the memory measurement.
const WAITING_EXECUTIONS: usize = 2_000;
/// Runs per local measurement (the median is reported).
const RUNS: usize = 5;
/// Longest we wait for moto to finish one execution.
const MOTO_LIMIT: Duration = Duration::from_secs(600);
const ROLE: &str = "arn:aws:iam::123456789012:role/bench";

fn pass_chain(n: usize) -> String {
    let mut states = serde_json::Map::new();
    for i in 0..n {
        let mut state = json!({"Type": "Pass"});
        if i + 1 < n {
            state["Next"] = json!(format!("S{}", i + 1));
        } else {
            state["End"] = json!(true);
        }
        states.insert(format!("S{i}"), state);
    }
    json!({"StartAt": "S0", "States": states}).to_string()
}

fn map_definition() -> String {
    json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemProcessor": {
        "ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "P",
        "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}})
    .to_string()
}

fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

async fn run_local(engine: &Engine, name: &str, definition: &str, input: &Value) -> Duration {
    let machine = engine
        .create_state_machine(name, definition, ROLE, None)
        .expect("definition accepted");
    let start = Instant::now();
    let execution = engine
        .start_execution(&machine.arn, None, Some(&input.to_string()))
        .expect("started");
    let outcome = execution.wait().await;
    let elapsed = start.elapsed();
    assert_eq!(outcome.status, ExecutionStatus::Succeeded, "{outcome:?}");
    elapsed
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

async fn run_moto(
    client: &aws_sdk_sfn::Client,
    name: &str,
    definition: &str,
    input: &Value,
) -> Result<Duration, String> {
    let machine = client
        .create_state_machine()
        .name(name)
        .definition(definition)
        .role_arn(ROLE)
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    let start = Instant::now();
    let execution = client
        .start_execution()
        .state_machine_arn(machine.state_machine_arn())
        .input(input.to_string())
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    loop {
        let described = client
            .describe_execution()
            .execution_arn(execution.execution_arn())
            .send()
            .await
            .map_err(|e| format!("{e:?}"))?;
        match described.status() {
            aws_sdk_sfn::types::ExecutionStatus::Running => {}
            aws_sdk_sfn::types::ExecutionStatus::Succeeded => return Ok(start.elapsed()),
            other => {
                return Err(format!(
                    "moto ended with {other:?}: {:?}",
                    described.cause()
                ));
            }
        }
        if start.elapsed() > MOTO_LIMIT {
            return Err(format!("moto did not finish within {MOTO_LIMIT:?}"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A moto server started for this benchmark (its own process, stopped at the end).
struct Moto {
    child: std::process::Child,
    port: u16,
}

impl Moto {
    fn start() -> Result<Self, String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let binary = root.join(".tools/py-moto/bin/moto_server");
        if !binary.is_file() {
            return Err(format!("{} is missing", binary.display()));
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let child = std::process::Command::new(&binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        let mut moto = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            // Makes moto execute definitions; machines must be created after this switch.
            if let Ok(response) = moto.post(
                "/moto-api/config",
                r#"{"stepfunctions":{"execute_state_machine":true}}"#,
            ) && response.starts_with("HTTP/1.")
                && response
                    .split(' ')
                    .nth(1)
                    .is_some_and(|c| c.starts_with('2'))
            {
                return Ok(moto);
            }
            if Instant::now() > deadline {
                moto.stop();
                return Err("moto did not answer within 30 s".into());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn post(&self, path: &str, body: &str) -> std::io::Result<String> {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port))?;
        write!(
            stream,
            "POST {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        Ok(response)
    }

    fn client(&self) -> aws_sdk_sfn::Client {
        use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
        let config = aws_sdk_sfn::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "bench"))
            .endpoint_url(format!("http://127.0.0.1:{}", self.port))
            .build();
        aws_sdk_sfn::Client::from_conf(config)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rate(transitions: usize, elapsed: Duration) -> f64 {
    transitions as f64 / elapsed.as_secs_f64()
}

#[tokio::main]
async fn main() {
    let with_moto = !std::env::args().any(|a| a == "--no-moto");
    let chain = pass_chain(CHAIN_STATES);
    let map = map_definition();
    let items = Value::Array((0..MAP_ITEMS).map(|i| json!(i)).collect());
    // Transitions: every state entered (the Map itself plus one Pass per item).
    let chain_transitions = CHAIN_STATES;
    let map_transitions = MAP_ITEMS + 1;

    let engine = Engine::new(EngineConfig::default());
    let mut chain_samples = Vec::new();
    let mut map_samples = Vec::new();
    for run in 0..RUNS {
        chain_samples.push(run_local(&engine, &format!("chain{run}"), &chain, &json!({})).await);
        map_samples.push(run_local(&engine, &format!("map{run}"), &map, &items).await);
    }
    let chain_local = median(chain_samples);
    let map_local = median(map_samples);

    let waiting = Engine::new(EngineConfig::default());
    let machine = waiting
        .create_state_machine(
            "waiting",
            r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}"#,
            ROLE,
            None,
        )
        .expect("accepted");
    let before = rss_bytes();
    for _ in 0..WAITING_EXECUTIONS {
        waiting
            .start_execution(&machine.arn, None, Some(r#"{"recordingId":"r-0001"}"#))
            .expect("started");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_bytes();
    let per_execution = before
        .zip(after)
        .map(|(b, a)| a.saturating_sub(b) / WAITING_EXECUTIONS as u64);

    println!("| benchmark | local engine | moto 5.2.5 | ratio |");
    println!("|---|---|---|---|");
    let mut moto_results = (None, None);
    if with_moto {
        match Moto::start() {
            Ok(mut moto) => {
                let client = moto.client();
                moto_results = (
                    Some(run_moto(&client, "chain", &chain, &json!({})).await),
                    Some(run_moto(&client, "map", &map, &items).await),
                );
                moto.stop();
            }
            Err(e) => eprintln!("moto unavailable ({e}); run scripts/setup.sh python"),
        }
    }
    for (label, transitions, local, moto) in [
        (
            "1,000-state Pass chain",
            chain_transitions,
            chain_local,
            moto_results.0,
        ),
        (
            "Map of 10,000 items",
            map_transitions,
            map_local,
            moto_results.1,
        ),
    ] {
        let local_rate = rate(transitions, local);
        let (moto_cell, ratio) = match moto {
            Some(Ok(d)) => {
                let moto_rate = rate(transitions, d);
                (
                    format!("{moto_rate:.0} transitions/s ({:.2} s)", d.as_secs_f64()),
                    format!("{:.0}×", local_rate / moto_rate),
                )
            }
            Some(Err(e)) => (format!("failed: {e:.80}"), "-".into()),
            None => ("not run".into(), "-".into()),
        };
        println!(
            "| {label} | {local_rate:.0} transitions/s ({:.2} ms) | {moto_cell} | {ratio} |",
            local.as_secs_f64() * 1000.0
        );
    }
    match per_execution {
        Some(bytes) => println!(
            "| memory per waiting execution ({WAITING_EXECUTIONS} executions) | {:.1} KiB | - | - |",
            bytes as f64 / 1024.0
        ),
        None => println!("| memory per waiting execution | /proc unavailable | - | - |"),
    }
}
