//! The context of one Lambda invocation that the handlers' logs and calls carry: its request id
//! and X-Ray trace header (the runtime's `Lambda-Runtime-Trace-Id`, `Context::xray_trace_id`).
//!
//! The binaries run each invocation inside [`run_traced`], which opens the `invocation` span
//! (`request_id`, `trace_id`: on every log line of the invocation) and scopes the trace header
//! to the handler's future with a task-local, so the completion check can pass it to
//! `WorkflowStarter::start_traced` without threading it through every handler signature. Code
//! outside an invocation (tests, the local runtime, the CLI) simply has no trace.

use std::future::Future;

use recorder_observability::TraceHeader;
use tracing::{Instrument, info_span, warn};

tokio::task_local! {
    static TRACE_HEADER: Option<TraceHeader>;
}

/// Runs `work` as the invocation `request_id`, traced by `trace_header` when it is a valid X-Ray
/// header (an invalid one is logged and dropped: tracing never fails an invocation).
pub async fn run_traced<F: Future>(
    request_id: &str,
    trace_header: Option<&str>,
    work: F,
) -> F::Output {
    let header = trace_header.and_then(|raw| match TraceHeader::parse(raw) {
        Ok(header) => Some(header),
        Err(e) => {
            warn!(error = %e, "ignoring the invocation's invalid trace header");
            None
        }
    });
    let span = info_span!(
        "invocation",
        request_id,
        trace_id = header.as_ref().map(|h| h.root.as_str())
    );
    TRACE_HEADER.scope(header, work.instrument(span)).await
}

/// The trace header of the invocation being handled, `None` outside [`run_traced`] or when the
/// invocation is not traced.
pub fn current_trace_header() -> Option<TraceHeader> {
    TRACE_HEADER.try_with(Clone::clone).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

    #[tokio::test]
    async fn given_a_traced_invocation_when_its_code_asks_then_it_gets_the_header() {
        let seen = run_traced("req-1", Some(HEADER), async { current_trace_header() }).await;
        assert_eq!(seen.map(|h| h.to_string()).as_deref(), Some(HEADER));
    }

    #[tokio::test]
    async fn outside_an_invocation_or_with_an_invalid_header_there_is_no_trace() {
        assert_eq!(current_trace_header(), None);
        let seen = run_traced("req-2", Some("Root=garbage"), async {
            current_trace_header()
        })
        .await;
        assert_eq!(seen, None);
        let seen = run_traced("req-3", None, async { current_trace_header() }).await;
        assert_eq!(seen, None);
    }

    #[tokio::test]
    async fn concurrent_invocations_keep_their_own_trace() {
        let other = "Root=1-5759e988-000000000000000000000001;Sampled=0";
        let (a, b) = tokio::join!(
            run_traced("a", Some(HEADER), async {
                tokio::task::yield_now().await;
                current_trace_header()
            }),
            run_traced("b", Some(other), async {
                tokio::task::yield_now().await;
                current_trace_header()
            }),
        );
        assert_eq!(a.unwrap().root, "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(b.unwrap().root, "1-5759e988-000000000000000000000001");
    }
}
