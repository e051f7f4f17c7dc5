//! The saved CloudWatch Logs Insights queries (`aws_cloudwatch_query_definition` in
//! `infra/terraform/`) against what the Lambdas really log.
//!
//! The real handlers run over the in-memory fakes — a chunk ingested, a recording completed and
//! started, an invalid chunk, a recording with an unexpected chunk — inside a traced invocation
//! and under the Lambdas' own JSON formatter (`recorder_lambdas::logging`), writing to a buffer.
//! The queries are read from the Terraform files with python-hcl2 (installed by
//! `scripts/setup.sh python`). Every field a query names must occur in some captured record
//! (nested keys as Logs Insights flattens them: `span.trace_id`), and every `event = "…"` value
//! it filters on must have been written.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use common::{World, uid};
use meeting_domain::keys::chunk_key;
use meeting_domain::{ChunkIndex, RecordingId};
use recorder_lambdas::invocation::run_traced;
use recorder_lambdas::logging::json_subscriber;
use serde_json::Value;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

const TRACE_HEADER: &str =
    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

/// The only field whose filtered values are checked: the stable event names.
const EVENT_FIELD: &str = "event";

// ---------------------------------------------------------------------------------------------
// Capturing the Lambdas' JSON lines
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Runs the scenarios under the Lambdas' formatter and returns every JSON record written.
async fn captured_records() -> Vec<Value> {
    let buffer = Buffer::default();
    let subscriber = json_subscriber(buffer.clone(), EnvFilter::new("info"));
    let _default = tracing::subscriber::set_default(subscriber);

    let world = World::new();
    run_traced("req-complete", Some(TRACE_HEADER), async {
        // A recording of three chunks whose end is known before its last chunk arrives, each
        // chunk recorded 1.5 s after S3 created it.
        world.clock.advance(chrono::Duration::milliseconds(1500));
        for i in 0..2 {
            let e = world.upload_chunk("u", "rec_complete", i, b"chunk").await;
            world.deliver(e).await.unwrap();
        }
        world.set_expected("u", "rec_complete", 3).await;
        let e = world.upload_chunk("u", "rec_complete", 2, b"chunk").await;
        world.deliver(e).await.unwrap();
    })
    .await;
    run_traced("req-invalid", Some(TRACE_HEADER), async {
        // Not an MP4: acknowledged and reported.
        let key = chunk_key(
            &uid("u"),
            &RecordingId::new("rec_invalid").unwrap(),
            ChunkIndex::new(0).unwrap(),
        );
        let e = world
            .upload(&key, bytes::Bytes::from_static(b"plain text, no ftyp"))
            .await;
        world.deliver(e).await.unwrap();
    })
    .await;
    run_traced("req-incomplete", None, async {
        // Two chunks expected, index 5 arrives: incomplete at once.
        world.set_expected("u", "rec_incomplete", 2).await;
        for i in [0, 5] {
            let e = world.upload_chunk("u", "rec_incomplete", i, b"chunk").await;
            world.deliver(e).await.unwrap();
        }
    })
    .await;

    let bytes = buffer.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
    String::from_utf8(bytes)
        .expect("the log output is UTF-8")
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"))
        })
        .collect()
}

/// Every key path of a record, dotted as Logs Insights flattens nested JSON.
fn key_paths(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    if let Value::Object(map) = value {
        for (key, child) in map {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            key_paths(child, &path, out);
            out.insert(path);
        }
    }
}

/// What the captured records offer the queries.
struct Logged {
    fields: BTreeSet<String>,
    events: BTreeSet<String>,
}

fn logged(records: &[Value]) -> Logged {
    let mut fields = BTreeSet::new();
    let mut events = BTreeSet::new();
    for record in records {
        key_paths(record, "", &mut fields);
        if let Some(event) = record.get(EVENT_FIELD).and_then(Value::as_str) {
            events.insert(event.to_owned());
        }
    }
    Logged { fields, events }
}

// ---------------------------------------------------------------------------------------------
// Reading the queries
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
struct SavedQuery {
    resource: String,
    query: String,
    log_groups: Vec<String>,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate is inside the workspace")
        .to_path_buf()
}

/// Every `aws_cloudwatch_query_definition` of `infra/terraform/*.tf`.
fn saved_queries() -> Vec<SavedQuery> {
    let root = workspace_root();
    let python = root.join(".tools/py-checks/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup.sh python (it installs python-hcl2)",
        python.display()
    );
    let script = r#"
import hcl2, json, pathlib, re, sys
out, local = [], {}
for f in sorted(pathlib.Path(sys.argv[1]).glob("*.tf")):
    with f.open() as fh:
        doc = hcl2.load(fh)
    for block in doc.get("locals", []):
        local.update(block)
    for block in doc.get("resource", []):
        for name, body in block.get("aws_cloudwatch_query_definition", {}).items():
            out.append({"resource": name, "body": body})
def unwrap(value):
    # python-hcl2 wraps attribute values in a one-element list in some versions.
    return value[0] if isinstance(value, list) and len(value) == 1 else value
def resolve(value):
    m = isinstance(value, str) and re.fullmatch(r"\$\{local\.(\w+)\}", value)
    return resolve(unwrap(local[m.group(1)])) if m else value
for q in out:
    body = q.pop("body")
    q["query"] = unwrap(body.get("query_string"))
    groups = resolve(unwrap(body.get("log_group_names")))
    q["log_groups"] = [resolve(g) for g in groups] if isinstance(groups, list) else [groups]
print(json.dumps(out))
"#;
    let output = Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(root.join("infra/terraform"))
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e}; run scripts/setup.sh python",
                python.display()
            )
        });
    assert!(
        output.status.success(),
        "python-hcl2 failed (run scripts/setup.sh python): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let parsed: Vec<Value> = serde_json::from_slice(&output.stdout).expect("python printed JSON");
    parsed
        .iter()
        .map(|q| SavedQuery {
            resource: q["resource"].as_str().unwrap_or_default().to_owned(),
            query: q["query"].as_str().unwrap_or_default().to_owned(),
            log_groups: q["log_groups"]
                .as_array()
                .map(|groups| groups.iter().map(|g| g.to_string()).collect())
                .unwrap_or_default(),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The field names a Logs Insights query uses
// ---------------------------------------------------------------------------------------------

/// Commands, keywords and operators of the query language (case-insensitive).
const KEYWORDS: &[&str] = &[
    "fields", "filter", "stats", "sort", "limit", "display", "parse", "dedup", "unmask", "by",
    "as", "asc", "desc", "and", "or", "not", "in", "like",
];

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Number,
    Punct(String),
}

fn tokenize(query: &str) -> Vec<Token> {
    let text: String = query
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let regex_allowed = matches!(
            tokens.last(),
            Some(Token::Ident(w)) if w.eq_ignore_ascii_case("like")
        ) || matches!(tokens.last(), Some(Token::Punct(p)) if p == "=~");
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' || c == '\'' || (c == '/' && regex_allowed) || c == '`' {
            let end = (i + 1..chars.len())
                .find(|&j| chars[j] == c && chars[j - 1] != '\\')
                .unwrap_or(chars.len());
            let content: String = chars[i + 1..end].iter().collect();
            tokens.push(if c == '`' {
                Token::Ident(content)
            } else {
                Token::Str(content)
            });
            i = end + 1;
        } else if c.is_ascii_alphabetic() || c == '_' || c == '@' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '_' | '.' | '@'))
            {
                i += 1;
            }
            tokens.push(Token::Ident(chars[start..i].iter().collect()));
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            tokens.push(Token::Number);
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            if matches!(two.as_str(), "=~" | "!=" | "<=" | ">=") {
                tokens.push(Token::Punct(two));
                i += 2;
            } else {
                tokens.push(Token::Punct(c.to_string()));
                i += 1;
            }
        }
    }
    tokens
}

/// The log fields a query reads (not `@` fields, functions, keywords or `as` aliases) and the
/// values it compares `event` with.
fn query_fields(query: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let tokens = tokenize(query);
    let mut aliases = BTreeSet::new();
    let mut fields = BTreeSet::new();
    let mut event_values = BTreeSet::new();
    for (i, token) in tokens.iter().enumerate() {
        let Token::Ident(name) = token else { continue };
        let next = tokens.get(i + 1);
        let previous = i.checked_sub(1).and_then(|p| tokens.get(p));
        if matches!(previous, Some(Token::Ident(w)) if w.eq_ignore_ascii_case("as")) {
            aliases.insert(name.clone());
            continue;
        }
        if matches!(next, Some(Token::Punct(p)) if p == "(")
            || name.starts_with('@')
            || KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(name))
        {
            continue;
        }
        fields.insert(name.clone());
        if name == EVENT_FIELD {
            match (next, tokens.get(i + 2)) {
                (Some(Token::Punct(op)), Some(Token::Str(value))) if op == "=" => {
                    event_values.insert(value.clone());
                }
                (Some(Token::Ident(kw)), Some(Token::Punct(open)))
                    if kw.eq_ignore_ascii_case("in") && open == "[" =>
                {
                    for t in &tokens[i + 3..] {
                        match t {
                            Token::Str(value) => {
                                event_values.insert(value.clone());
                            }
                            Token::Punct(p) if p == "]" => break,
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
    }
    (&fields - &aliases, event_values)
}

/// What a query names that no captured record carries.
fn unlogged(query: &str, logged: &Logged) -> Vec<String> {
    let (fields, events) = query_fields(query);
    let mut problems: Vec<String> = fields
        .iter()
        .filter(|f| !logged.fields.contains(*f))
        .map(|f| format!("field {f}"))
        .collect();
    problems.extend(
        events
            .iter()
            .filter(|e| !logged.events.contains(*e))
            .map(|e| format!("event value {e:?}")),
    );
    problems
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_saved_query_names_only_fields_and_events_the_lambdas_log() {
    // GIVEN the saved queries and the records of real ingest, completion and rejections
    let queries = saved_queries();
    let records = captured_records().await;
    let logged = logged(&records);

    // THEN the three seed queries are there, each on the Lambdas' log groups
    let names: BTreeSet<&str> = queries.iter().map(|q| q.resource.as_str()).collect();
    for seed in [
        "chunk_upload_latency",
        "session_completion_rate",
        "failed_chunks",
    ] {
        assert!(names.contains(seed), "query {seed} is missing: {names:?}");
    }
    let mut problems = BTreeMap::new();
    for query in &queries {
        assert!(
            !query.log_groups.is_empty()
                && query
                    .log_groups
                    .iter()
                    .all(|g| g.contains("aws_cloudwatch_log_group.lambda")),
            "{} must read the Lambdas' log groups, not {:?}",
            query.resource,
            query.log_groups
        );
        let (fields, _) = query_fields(&query.query);
        assert!(
            !fields.is_empty(),
            "{} names no field: {}",
            query.resource,
            query.query
        );
        // AND every field and event value it names was written by some log line
        let missing = unlogged(&query.query, &logged);
        if !missing.is_empty() {
            problems.insert(query.resource.clone(), missing);
        }
    }
    assert!(
        problems.is_empty(),
        "queries name what no log line writes: {problems:#?}\nlogged fields: {:?}\nlogged events: {:?}",
        logged.fields,
        logged.events
    );
}

#[tokio::test]
async fn a_query_naming_an_unlogged_field_or_event_is_caught() {
    // GIVEN the real records
    let logged = logged(&captured_records().await);
    // WHEN a query names a field and an event nobody writes (the seed's own spelling)
    let problems = unlogged(
        r#"fields @timestamp, recordingId, expectedChunks | filter event = "session_complete""#,
        &logged,
    );
    // THEN both are reported
    assert_eq!(
        problems,
        [
            "field expectedChunks",
            "field recordingId",
            "event value \"session_complete\""
        ]
    );
}

#[tokio::test]
async fn the_latency_completion_and_rejection_lines_carry_their_values_and_the_trace() {
    let records = captured_records().await;
    let find = |event: &str| {
        records
            .iter()
            .find(|r| r[EVENT_FIELD] == event)
            .unwrap_or_else(|| panic!("no {event} line in {records:#?}"))
            .clone()
    };
    let recorded = find("chunk_recorded");
    assert_eq!(recorded["ingest_latency_ms"], 1500);
    assert!(recorded["duration_ms"].is_u64());
    assert_eq!(
        recorded["span"]["trace_id"],
        "1-5759e988-bd862e3fe1be46a994272793"
    );
    assert_eq!(recorded["span"]["request_id"], "req-complete");

    let complete = find("recording_complete");
    assert_eq!(complete["recording_id"], "rec_complete");
    assert_eq!(complete["expected_chunk_count"], 3);
    assert_eq!(complete["recorded_chunks"], 3);
    let started = find("processing_started");
    assert_eq!(started["trace_id"], "1-5759e988-bd862e3fe1be46a994272793");

    let rejected = find("chunk_rejected");
    assert_eq!(rejected["recording_id"], "rec_invalid");
    assert_eq!(rejected["chunk_index"], "0");
    assert!(rejected["reason"].as_str().unwrap().contains("MP4"));

    let incomplete = find("recording_incomplete");
    assert_eq!(incomplete["recording_id"], "rec_incomplete");
    assert_eq!(incomplete["failed_count"], 1);
    assert!(incomplete["span"].get("trace_id").is_none());
}

#[test]
fn query_fields_skip_builtins_functions_keywords_aliases_and_literals() {
    let (fields, events) = query_fields(
        r#"# a comment naming ghost_field
        fields @timestamp, recording_id, span.trace_id
        | filter event in ["a", "b"] and reason like /sha256 mismatch/ and size > 5
        | stats avg(ingest_latency_ms) as avg_ms, count(*) as n by bin(5m)
        | sort avg_ms desc
        | limit 20"#,
    );
    assert_eq!(
        fields,
        BTreeSet::from(
            [
                "event",
                "ingest_latency_ms",
                "reason",
                "recording_id",
                "size",
                "span.trace_id"
            ]
            .map(str::to_owned)
        )
    );
    assert_eq!(events, BTreeSet::from(["a".to_owned(), "b".to_owned()]));
}
