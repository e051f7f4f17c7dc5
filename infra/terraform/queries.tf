# The seed's CloudWatch Logs Insights queries (chunk upload latency, session completion rate,
# failed chunks) as saved queries, plus one to follow a recording through the Lambdas' logs.
# They name only fields the Lambdas' JSON log lines really write (lambdas/src/logging.rs
# flattens event fields to the top level; the invocation span adds span.request_id and
# span.trace_id): `cargo test -p recorder-lambdas --test log_queries` runs the handlers under
# that formatter and fails when a query names a field (or an `event` value) no line carries.

locals {
  # Every function that runs the completion check.
  completion_log_groups = [
    aws_cloudwatch_log_group.lambda["chunk-upload-handler"].name,
    aws_cloudwatch_log_group.lambda["catalog-stream-handler"].name,
    aws_cloudwatch_log_group.lambda["sweeper"].name,
  ]
}

resource "aws_cloudwatch_query_definition" "chunk_upload_latency" {
  name            = "${var.name_prefix}/chunk-upload-latency"
  log_group_names = [aws_cloudwatch_log_group.lambda["chunk-upload-handler"].name]
  # ingest_latency_ms: S3 object creation (the event time) to the chunk-table write;
  # duration_ms: the handler's own time for that chunk.
  query_string = <<-EOT
    fields @timestamp, recording_id, chunk_index, ingest_latency_ms, duration_ms
    | filter event = "chunk_recorded"
    | stats count(*) as chunks, avg(ingest_latency_ms) as avg_latency_ms, max(ingest_latency_ms) as max_latency_ms, pct(ingest_latency_ms, 99) as p99_latency_ms, avg(duration_ms) as avg_handler_ms, pct(duration_ms, 99) as p99_handler_ms by bin(5m)
  EOT
}

resource "aws_cloudwatch_query_definition" "session_completion_rate" {
  name            = "${var.name_prefix}/session-completion-rate"
  log_group_names = local.completion_log_groups
  # A recording is decided once: complete (all of 0..N validated, processing starts) or
  # incomplete (gaps after the grace period, failed or unexpected chunks).
  query_string = <<-EOT
    fields @timestamp, recording_id, expected_chunk_count, recorded_chunks
    | filter event = "recording_complete" or event = "recording_incomplete"
    | stats sum(strcontains(event, "recording_complete")) as complete, sum(strcontains(event, "recording_incomplete")) as incomplete, sum(strcontains(event, "recording_complete")) * 100 / count(*) as completion_pct by bin(1h)
  EOT
}

resource "aws_cloudwatch_query_definition" "failed_chunks" {
  name            = "${var.name_prefix}/failed-chunks"
  log_group_names = local.completion_log_groups
  # Chunks acknowledged but not usable (empty, too large, gone, not MP4) and chunks whose
  # SHA-256 does not match the manifest.
  query_string = <<-EOT
    fields @timestamp, recording_id, chunk_index, reason, span.request_id
    | filter event = "chunk_rejected"
    | sort @timestamp desc
    | limit 50
  EOT
}

resource "aws_cloudwatch_query_definition" "recording_timeline" {
  name            = "${var.name_prefix}/recording-timeline"
  log_group_names = local.completion_log_groups
  # Replace the id; span.trace_id opens the recording's X-Ray trace (Lambdas, state machine,
  # workers).
  query_string = <<-EOT
    fields @timestamp, event, chunk_index, reason, execution_name, span.trace_id, span.request_id
    | filter recording_id = "REPLACE_WITH_RECORDING_ID"
    | sort @timestamp asc
    | limit 1000
  EOT
}
