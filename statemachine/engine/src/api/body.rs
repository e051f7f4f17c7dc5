//! Reading a request body under a size limit and a deadline, without ever holding more than the
//! limit: a declared `Content-Length` above it is refused before a byte of the body is read, and
//! a chunked body is cut off at the first frame that would cross it.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Body;

/// Why a body could not be read.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// The body is (or declares itself) longer than the limit.
    TooLarge,
    /// The body did not arrive in time.
    TimedOut,
    /// The connection failed while reading.
    Read(String),
}

/// Reads `body` whole if it is at most `limit` bytes and arrives within `deadline`.
pub(crate) async fn read_body<B>(
    body: B,
    limit: usize,
    deadline: Duration,
) -> Result<Bytes, BodyError>
where
    B: Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    // hyper reports a Content-Length as the exact size hint.
    if body.size_hint().lower() > u64::try_from(limit).unwrap_or(u64::MAX) {
        return Err(BodyError::TooLarge);
    }
    match tokio::time::timeout(deadline, Limited::new(body, limit).collect()).await {
        Err(_) => Err(BodyError::TimedOut),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(BodyError::TooLarge),
        Ok(Err(e)) => Err(BodyError::Read(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures::{StreamExt, stream};
    use http_body_util::{Full, StreamBody};
    use hyper::body::Frame;

    use super::*;

    const LIMIT: usize = 2 * 1024 * 1024;
    const CHUNK: usize = 64 * 1024;
    const HUGE: usize = 200 * 1024 * 1024;

    /// A body of `total` bytes in `CHUNK`-sized frames, made only when polled, counting the
    /// bytes handed out.
    fn counted_body(
        total: usize,
        handed_out: Arc<AtomicUsize>,
    ) -> StreamBody<impl futures::Stream<Item = Result<Frame<Bytes>, Infallible>>> {
        let frames = stream::iter((0..total / CHUNK).map(move |_| {
            handed_out.fetch_add(CHUNK, Ordering::SeqCst);
            Ok(Frame::data(Bytes::from(vec![b'x'; CHUNK])))
        }));
        StreamBody::new(frames)
    }

    #[tokio::test]
    async fn a_huge_streamed_body_is_cut_off_at_the_limit_not_buffered() {
        let handed_out = Arc::new(AtomicUsize::new(0));
        let body = counted_body(HUGE, Arc::clone(&handed_out));

        let read = read_body(body, LIMIT, Duration::from_secs(30)).await;

        assert!(matches!(read, Err(BodyError::TooLarge)), "{read:?}");
        let consumed = handed_out.load(Ordering::SeqCst);
        assert!(
            consumed <= LIMIT + CHUNK,
            "read {consumed} bytes of a {HUGE}-byte body with a {LIMIT}-byte limit"
        );
    }

    #[tokio::test]
    async fn a_declared_length_above_the_limit_is_refused_before_reading() {
        let body = Full::new(Bytes::from(vec![b'x'; LIMIT + 1]));

        let read = read_body(body, LIMIT, Duration::from_secs(30)).await;

        assert!(matches!(read, Err(BodyError::TooLarge)), "{read:?}");
    }

    #[tokio::test]
    async fn a_body_at_the_limit_is_read_whole() {
        let handed_out = Arc::new(AtomicUsize::new(0));
        let body = counted_body(LIMIT, Arc::clone(&handed_out));

        let read = read_body(body, LIMIT, Duration::from_secs(30))
            .await
            .expect("a body at the limit is accepted");

        assert_eq!(read.len(), LIMIT);
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_stops_arriving_times_out() {
        let frames = stream::iter([Ok::<_, Infallible>(Frame::data(Bytes::from_static(b"{")))])
            .chain(stream::pending());
        let body = StreamBody::new(frames);

        let read = read_body(body, LIMIT, Duration::from_secs(30)).await;

        assert!(matches!(read, Err(BodyError::TimedOut)), "{read:?}");
    }
}
