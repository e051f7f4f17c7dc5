//! Example payloads of every contract type validate against the committed schemas in
//! `asl/schemas/`, and broken payloads do not.

use std::path::Path;

use serde_json::{Value, json};

fn schema(name: &str) -> jsonschema::Validator {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../asl/schemas/{name}.schema.json"));
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("schema exists")).unwrap();
    jsonschema::validator_for(&schema).expect("a valid JSON Schema")
}

fn assert_valid(name: &str, payload: Value) {
    let validator = schema(name);
    let errors: Vec<String> = validator
        .iter_errors(&payload)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{name}: {payload} rejected: {errors:?}");
}

fn assert_invalid(name: &str, payload: Value) {
    assert!(
        !schema(name).is_valid(&payload),
        "{name}: {payload} accepted"
    );
}

#[test]
fn execution_input_examples() {
    let good = json!({"userId": "user_1", "recordingId": "rec-2", "bucket": "b", "chunkCount": 3, "run": 0, "options": {}});
    assert_valid("processing-input", good.clone());
    assert_valid(
        "processing-input",
        json!({"userId": "u", "recordingId": "r", "bucket": "b", "chunkCount": 1, "run": 2, "options": {"maxSpeakers": 4, "languageCode": "en-US"}}),
    );
    let mut bad_id = good.clone();
    bad_id["userId"] = json!("../etc");
    assert_invalid("processing-input", bad_id);
    let mut zero = good.clone();
    zero["chunkCount"] = json!(0);
    assert_invalid("processing-input", zero);
    let mut extra = good;
    extra["startedAt"] = json!("2026-01-01T00:00:00Z");
    assert_invalid("processing-input", extra);
}

#[test]
fn activity_payload_examples() {
    assert_valid(
        "prepare-media-input",
        json!({"userId": "u", "recordingId": "r", "bucket": "b", "chunkCount": 2}),
    );
    assert_valid(
        "prepare-media-output",
        json!({
        "recordingKey": "users/u/processed/r/recording.mp4", "audioKey": "users/u/processed/r/audio.flac",
        "durationSeconds": 20.5, "audioBytes": 1000,
        "chunkOffsets": [{"index": 0, "startSeconds": 0.0, "durationSeconds": 10.0}, {"index": 1, "startSeconds": 10.0, "durationSeconds": 10.5}],
        "recordedAt": "2026-03-10T10:00:00+01:00"}),
    );
    // When the recording started is always written (later states read it by path), null when
    // the chunks do not say.
    assert_valid(
        "prepare-media-output",
        json!({"recordingKey": "k", "audioKey": "a", "durationSeconds": 1.0, "audioBytes": 1,
        "chunkOffsets": [], "recordedAt": null}),
    );
    assert_invalid(
        "prepare-media-output",
        json!({"recordingKey": "k", "audioKey": "a", "durationSeconds": 1.0, "audioBytes": 1,
        "chunkOffsets": []}),
    );
    assert_invalid(
        "prepare-media-output",
        json!({"recordingKey": "k", "audioKey": "a", "durationSeconds": 1.0, "audioBytes": 1,
        "chunkOffsets": [{"index": 100000, "startSeconds": 0.0, "durationSeconds": 1.0}]}),
    );
    assert_valid(
        "start-transcription-input",
        json!({"userId": "u", "recordingId": "r", "bucket": "b", "audioKey": "a",
        "durationSeconds": 60.0, "audioBytes": 1, "run": 0, "options": {}}),
    );
    assert_valid(
        "start-transcription-output",
        json!({"jobName": "r-0", "engine": "whisper"}),
    );
    assert_valid(
        "check-transcription-input",
        json!({"userId": "u", "recordingId": "r", "bucket": "b", "jobName": "j"}),
    );
    assert_valid(
        "check-transcription-output",
        json!({"status": "IN_PROGRESS"}),
    );
    assert_valid(
        "check-transcription-output",
        json!({"status": "COMPLETED", "transcriptKey": "k", "speakerCount": 2}),
    );
    assert_valid(
        "check-transcription-output",
        json!({"status": "FAILED", "failureReason": "bad audio"}),
    );
    assert_invalid("check-transcription-output", json!({"status": "DONE"}));
    assert_valid(
        "summarize-input",
        json!({"userId": "u", "recordingId": "r", "bucket": "b", "transcriptKey": "k"}),
    );
    assert_valid(
        "summarize-output",
        json!({"summaryKey": "s", "summaryMarkdownKey": "m", "actionItemCount": 2, "decisionCount": 1}),
    );
}

#[test]
fn transcript_and_summary_examples() {
    assert_valid(
        "transcript",
        json!({
        "recordingId": "r", "language": "en-US", "durationSeconds": 12.0,
        "engine": {"name": "whisper.cpp", "model": "tiny.en"}, "speakersApproximate": true,
        "speakers": [{"id": "spk_0", "label": "Speaker 1"}],
        "segments": [{"speaker": "spk_0", "start": 0.0, "end": 2.5, "text": "Hello all.",
            "words": [{"start": 0.0, "end": 0.4, "text": "Hello", "confidence": 0.9}]}]}),
    );
    assert_invalid(
        "transcript",
        json!({"recordingId": "r", "language": "en", "durationSeconds": 1.0,
        "engine": {"name": "x"}, "speakersApproximate": false, "speakers": [],
        "segments": [{"speaker": "s", "start": 0.0, "end": 1.0, "text": "t", "words": [{"start": 0, "end": 1, "text": "t", "confidence": 1.5}]}]}),
    );
    let summary = json!({
        "summary": "The team reviewed the budget.",
        "actionItems": [{"task": "send the budget", "owner": "Alice", "due": "Friday", "sourceTime": 12.5}],
        "decisions": [{"decision": "ship on Monday", "sourceTime": 30.0}],
        "speakers": ["Speaker 1", "Speaker 2"], "language": "en-US", "kind": "extracted",
        "engine": {"name": "extractive"}});
    assert_valid("meeting-summary", summary.clone());
    let mut empty = summary.clone();
    empty["summary"] = json!("");
    assert_invalid("meeting-summary", empty);
    let mut negative = summary;
    negative["decisions"][0]["sourceTime"] = json!(-1);
    assert_invalid("meeting-summary", negative);
}

#[test]
fn manifest_catalog_and_chunk_examples() {
    assert_valid(
        "chunk-manifest",
        json!({"expectedChunkCount": 3, "chunks": [{"index": 0, "sha256": "a".repeat(64), "durationSeconds": 10.0}]}),
    );
    assert_invalid(
        "chunk-manifest",
        json!({"expectedChunkCount": 3, "chunks": [{"index": 0, "sha256": "XYZ"}]}),
    );
    assert_invalid("chunk-manifest", json!({"expectedChunkCount": 0}));
    assert_valid(
        "catalog-record",
        json!({"userId": "u", "recordingId": "r", "status": "incomplete_chunks",
        "expectedChunkCount": 4, "missingChunks": [2], "updatedAt": "2026-11-28T00:00:00Z"}),
    );
    assert_invalid(
        "catalog-record",
        json!({"userId": "u", "recordingId": "r", "status": "done", "updatedAt": "x"}),
    );
    assert_valid(
        "chunk-record",
        json!({"recordingId": "r", "chunkIndex": 2, "userId": "u", "uploadedAt": "2026-11-28T00:00:00Z",
        "s3Key": "users/u/chunks/r/chunk_002.mp4", "fileSize": 10, "etag": "e", "sequencer": "0A", "status": "validated"}),
    );
    assert_valid("recording-status", json!("ready_for_processing"));
    assert_invalid("recording-status", json!("ready"));
}
