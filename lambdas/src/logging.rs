//! The Lambdas' JSON log format, defined once so the binaries and the Logs Insights query test
//! (`tests/log_queries.rs`) share it: one JSON object per line, the event's fields at the top
//! level (`flatten_event`) so Logs Insights discovers them by their plain names
//! (`recording_id`, not `fields.recording_id`), no timestamp (CloudWatch stamps every line), and
//! the current span — the invocation's `request_id` and `trace_id` — under `span`
//! (`span.trace_id` in Logs Insights). Lambda's JSON log format keeps lines that are already
//! JSON as they are.

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The level filter: `RUST_LOG`, default `info` (ids are fields; payloads are never logged at
/// INFO).
pub fn env_filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}

/// The JSON subscriber writing to `writer`.
pub fn json_subscriber<W>(writer: W, filter: EnvFilter) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .without_time()
        .with_env_filter(filter)
        .with_writer(writer)
        .finish()
}

/// Installs the JSON subscriber on stdout for the whole process (once per cold start; a second
/// call keeps the first subscriber).
pub fn init_logs() {
    let _ = tracing::subscriber::set_global_default(json_subscriber(std::io::stdout, env_filter()));
}
