//! Conformance suite: every case in `tests/conformance/*.json` (definition, input, scripted
//! activity workers and tables, expected status / output / error / cause) runs on a fresh engine
//! with virtual time. Cases are written from the ASL specification and the AWS documentation.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use asl_engine::resources::MemoryTables;
use asl_engine::{Engine, EngineConfig, Resources, TableAdapter};
use meeting_domain::ports::ActivityTaskSource;
use serde_json::{Value, json};

/// One scripted reply of a worker.
async fn reply(source: &asl_engine::InProcessActivities, token: &str, script: &Value) {
    if script.get("silent").and_then(Value::as_bool) == Some(true) {
        return;
    }
    let every = script.get("every").and_then(Value::as_u64).unwrap_or(1);
    for _ in 0..script
        .get("heartbeats")
        .and_then(Value::as_u64)
        .unwrap_or(0)
    {
        tokio::time::sleep(Duration::from_secs(every)).await;
        if source.heartbeat(token).await.is_err() {
            return;
        }
    }
    if let Some(delay) = script.get("delay").and_then(Value::as_u64) {
        tokio::time::sleep(Duration::from_secs(delay)).await;
    }
    if let Some(error) = script.get("error").and_then(Value::as_str) {
        let cause = script.get("cause").and_then(Value::as_str).unwrap_or("");
        let _ = source.fail(token, error, cause).await;
    } else {
        let output = script.get("output").cloned().unwrap_or(json!({}));
        let _ = source.succeed(token, &output.to_string()).await;
    }
}

/// A case's `objects` (`{"bucket": {"key": "text"}}`) written under a fresh folder, for
/// ItemReaders.
fn objects_of(case: &Value) -> Result<Option<Arc<dyn asl_engine::ObjectReader>>, String> {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let Some(Value::Object(buckets)) = case.get("objects") else {
        return Ok(None);
    };
    let root = std::env::temp_dir().join(format!(
        "conformance-objects-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    for (bucket, keys) in buckets {
        for (key, body) in keys.as_object().into_iter().flatten() {
            let path = root.join(bucket).join(key);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
            }
            std::fs::write(&path, body.as_str().unwrap_or_default()).map_err(|e| e.to_string())?;
        }
    }
    Ok(Some(Arc::new(asl_engine::DirectoryObjects::new(root))))
}

async fn run_case(case: &Value) -> Result<(), String> {
    let tables = Arc::new(MemoryTables::new());
    if let Some(Value::Object(specs)) = case.get("tables") {
        for (name, spec) in specs {
            let keys: Vec<&str> = spec["key"]
                .as_array()
                .map(|k| k.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            tables.create_table(name, &keys);
            for item in spec
                .get("items")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                tables
                    .put_item(&json!({"TableName": name, "Item": item}))
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
    }
    let engine = Engine::new(EngineConfig {
        resources: Resources {
            tables: tables.clone(),
            objects: objects_of(case)?,
            ..Resources::default()
        },
        ..EngineConfig::default()
    });
    if let Some(Value::Object(workers)) = case.get("activities") {
        for (name, scripts) in workers {
            let info = engine.create_activity(name).map_err(|e| e.to_string())?;
            let source = engine.activity_source();
            let scripts: Vec<Value> = scripts.as_array().cloned().unwrap_or_default();
            tokio::spawn(async move {
                let mut n = 0usize;
                loop {
                    let Ok(Some(task)) = source.poll(&info.arn, "conformance-worker").await else {
                        continue;
                    };
                    let script = scripts
                        .get(n)
                        .or(scripts.last())
                        .cloned()
                        .unwrap_or(json!({}));
                    n += 1;
                    let source = source.clone();
                    tokio::spawn(async move {
                        let mut script = script;
                        if script.get("echo").and_then(Value::as_bool) == Some(true) {
                            script = json!({"output": serde_json::from_str::<Value>(&task.input).unwrap_or(Value::Null)});
                        }
                        reply(&source, &task.token, &script).await;
                    });
                }
            });
        }
    }
    let definition = serde_json::to_string(&case["definition"]).map_err(|e| e.to_string())?;
    asl::StateMachine::from_json(&definition)
        .map_err(|e| format!("the model rejects the definition: {e}"))?;
    let expected = &case["expected"];
    // CreateStateMachine runs the `asl` validator (and the engine's own support check), so every
    // definition here goes through the validator.
    let machine = match engine.create_state_machine(
        "conformance",
        &definition,
        "arn:aws:iam::123456789012:role/r",
        None,
    ) {
        Ok(m) => m,
        Err(e) => {
            return if expected.get("status").and_then(Value::as_str) == Some("INVALID_DEFINITION") {
                Ok(())
            } else {
                Err(format!("definition refused: {e}"))
            };
        }
    };
    let input = case.get("input").cloned().unwrap_or(json!({})).to_string();
    let execution = engine
        .start_execution(&machine.arn, Some("case"), Some(&input))
        .map_err(|e| e.to_string())?;
    let outcome = execution.wait().await;
    let actual = serde_json::to_value(&outcome).map_err(|e| e.to_string())?;
    let mismatch = |what: &str| Err(format!("{what}: expected {expected}, got {actual}"));
    if actual["status"] != expected["status"] {
        return mismatch("status");
    }
    if let Some(output) = expected.get("output")
        && &actual["output"] != output
    {
        return mismatch("output");
    }
    if let Some(error) = expected.get("error")
        && &actual["error"] != error
    {
        return mismatch("error");
    }
    if let Some(cause) = expected.get("cause")
        && &actual["cause"] != cause
    {
        return mismatch("cause");
    }
    if let Some(fragment) = expected.get("cause_contains").and_then(Value::as_str)
        && !actual["cause"].as_str().unwrap_or("").contains(fragment)
    {
        return mismatch("cause_contains");
    }
    if let Some(Value::Object(expected_items)) = case.get("expected_items") {
        for (table, items) in expected_items {
            let got = Value::Array(tables.items(table));
            if &got != items {
                return Err(format!("table {table}: expected {items}, got {got}"));
            }
        }
    }
    if let Some(wanted) = expected.get("history_events").and_then(Value::as_array) {
        let events = engine.history(&execution.arn).map_err(|e| e.to_string())?;
        let got: Vec<Value> = events
            .iter()
            .map(|e| {
                json!({"type": e.event_type.as_str(), "id": e.id,
                       "previousEventId": e.previous_event_id, "details": e.details})
            })
            .collect();
        // Each wanted event (a subset of an event's fields) must appear, in this order.
        let mut rest = got.iter();
        for want in wanted {
            if !rest.any(|event| contains(event, want)) {
                return Err(format!(
                    "history: no event like {want} (in order) in {}",
                    Value::Array(got.clone())
                ));
            }
        }
    }
    if let Some(types) = expected.get("history_types").and_then(Value::as_array) {
        let got: Vec<Value> = engine
            .history(&execution.arn)
            .map_err(|e| e.to_string())?
            .iter()
            .map(|e| json!(e.event_type.as_str()))
            .collect();
        if &got != types {
            return Err(format!("history: expected {types:?}, got {got:?}"));
        }
    }
    Ok(())
}

/// Whether `value` has every member of `subset` (objects recursively, other values equal).
fn contains(value: &Value, subset: &Value) -> bool {
    match (value, subset) {
        (Value::Object(have), Value::Object(want)) => want
            .iter()
            .all(|(key, w)| have.get(key).is_some_and(|h| contains(h, w))),
        (have, want) => have == want,
    }
}

fn run_in_virtual_time(case: Value) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        // A case that would wait forever fails instead of hanging the suite (virtual time).
        match tokio::time::timeout(Duration::from_secs(10 * 365 * 24 * 3600), run_case(&case)).await
        {
            Ok(result) => result,
            Err(_) => Err("the execution did not finish".into()),
        }
    })
}

#[test]
fn every_conformance_case_behaves_as_the_specification_says() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/conformance exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut total = 0;
    let mut failures = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable case file");
        let cases: Vec<Value> = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not a JSON array of cases: {e}", file.display()));
        for case in cases {
            total += 1;
            let name = format!(
                "{}::{}",
                file.file_stem().and_then(|s| s.to_str()).unwrap_or("?"),
                case["name"].as_str().unwrap_or("?")
            );
            if let Err(e) = run_in_virtual_time(case) {
                failures.push(format!("{name}: {e}"));
            }
        }
    }
    assert!(
        total >= 150,
        "the suite must have at least 150 cases, found {total}"
    );
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
