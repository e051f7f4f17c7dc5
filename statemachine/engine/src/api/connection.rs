//! Bounds on connections: how many are served at once, how the accept loop backs off when
//! accepting fails (EMFILE, ENFILE, ENOBUFS...), and how long a stalled response write may hold
//! a connection.
//!
//! Excess connections are not accepted until a slot frees: they wait in the kernel's listen
//! backlog (their connect succeeds, their request is answered later), rather than being accepted
//! and closed, so a burst of SDK clients is slowed down instead of failed.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Sleep;

/// The first wait after a failed `accept`.
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
/// The longest wait between failed `accept`s.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// The wait after each failed `accept`: 10 ms doubling to 1 s, back to 10 ms after a success.
#[derive(Debug)]
pub(crate) struct AcceptBackoff {
    next: Duration,
}

impl AcceptBackoff {
    pub(crate) fn new() -> Self {
        Self {
            next: FIRST_BACKOFF,
        }
    }

    /// An `accept` failed: how long to wait before the next one.
    pub(crate) fn failed(&mut self) -> Duration {
        let wait = self.next;
        self.next = self.next.saturating_mul(2).min(MAX_BACKOFF);
        wait
    }

    /// An `accept` succeeded.
    pub(crate) fn succeeded(&mut self) {
        self.next = FIRST_BACKOFF;
    }
}

/// Where the accept loop gets its connections: a [`TcpListener`], or a fake in tests.
pub(crate) trait Accept: Send + 'static {
    /// A connection.
    type Io: Send + 'static;
    /// The next connection.
    fn accept(&self) -> impl Future<Output = io::Result<Self::Io>> + Send;
}

impl Accept for TcpListener {
    type Io = TcpStream;

    async fn accept(&self) -> io::Result<TcpStream> {
        TcpListener::accept(self).await.map(|(stream, _)| stream)
    }
}

/// Resolves when `stop` turns true; never if the handle that sends it is dropped (dropping a
/// [`crate::api::ServerHandle`] does not stop the server).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    if stop.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Accepts connections while a slot of `slots` is free and hands each to `serve` with its slot,
/// until `stop` turns true.
pub(crate) async fn accept_loop<A: Accept>(
    listener: A,
    slots: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
    serve: impl Fn(A::Io, OwnedSemaphorePermit),
) {
    let mut backoff = AcceptBackoff::new();
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_closed) => return,
            },
            () = stopped(&mut stop) => return,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stopped(&mut stop) => return,
        };
        match accepted {
            Ok(io) => {
                backoff.succeeded();
                serve(io, permit);
            }
            Err(error) => {
                let wait = backoff.failed();
                tracing::warn!(%error, wait_ms = wait.as_millis(), "accepting a connection failed; retrying");
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = stopped(&mut stop) => return,
                }
            }
        }
    }
}

/// An I/O stream whose writes fail once they have made no progress for `limit`: a client that
/// stops reading its response cannot hold its connection (and its slot) forever. Reads are not
/// timed here (hyper's header timeout and the body deadline cover them), and neither is the time
/// a request spends in its handler, so a 60-second `GetActivityTask` long poll is unaffected.
#[derive(Debug)]
pub(crate) struct StallGuard<T> {
    inner: T,
    limit: Duration,
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<T> StallGuard<T> {
    pub(crate) fn new(inner: T, limit: Duration) -> Self {
        Self {
            inner,
            limit,
            stalled: None,
        }
    }

    /// Records the outcome of a write-side poll: progress resets the stall timer, `Pending`
    /// starts it (or checks it), and an expired timer turns into an error.
    fn watch<R>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        if polled.is_ready() {
            self.stalled = None;
            return polled;
        }
        let limit = self.limit;
        let timer = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the client read nothing for {limit:?}"),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for StallGuard<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for StallGuard<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.watch(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.watch(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.watch(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.watch(cx, polled)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[test]
    fn the_backoff_doubles_from_10_ms_to_1_s_and_resets_on_success() {
        let mut backoff = AcceptBackoff::new();
        let waits: Vec<u128> = (0..9).map(|_| backoff.failed().as_millis()).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        backoff.succeeded();
        assert_eq!(backoff.failed(), Duration::from_millis(10));
    }

    /// A listener whose `accept` always fails as on EMFILE, remembering when it was called.
    struct ExhaustedListener {
        calls: Arc<Mutex<Vec<tokio::time::Instant>>>,
    }

    impl Accept for ExhaustedListener {
        type Io = ();

        async fn accept(&self) -> io::Result<()> {
            let count = {
                let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
                calls.push(tokio::time::Instant::now());
                calls.len()
            };
            if count > 1000 {
                // A busy loop: stop failing so the test gets to its assertion.
                return std::future::pending().await;
            }
            Err(io::Error::other("Too many open files (os error 24)"))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn failing_accepts_are_retried_with_backoff_not_in_a_busy_loop() {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let listener = ExhaustedListener {
            calls: Arc::clone(&calls),
        };
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(
            listener,
            Arc::new(Semaphore::new(4)),
            stopped,
            |(), _| {},
        ));

        tokio::time::sleep(Duration::from_secs(10)).await;
        stop.send_replace(true);
        task.await.expect("the accept loop ends when stopped");

        let calls = calls.lock().unwrap_or_else(|e| e.into_inner()).clone();
        // 10+20+...+640 ms = 1.27 s over the first 8 calls, then one call a second.
        assert!(
            (10..=20).contains(&calls.len()),
            "{} accept calls in 10 s",
            calls.len()
        );
        let gaps: Vec<Duration> = calls.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(gaps[0], Duration::from_millis(10));
        assert!(gaps.iter().all(|g| *g <= MAX_BACKOFF), "{gaps:?}");
    }

    /// A listener handing out `n` connections (numbered), then none.
    struct CountingListener {
        next: AtomicUsize,
        n: usize,
    }

    impl Accept for CountingListener {
        type Io = usize;

        async fn accept(&self) -> io::Result<usize> {
            let i = self.next.fetch_add(1, Ordering::SeqCst);
            if i < self.n {
                Ok(i)
            } else {
                std::future::pending().await
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn no_more_connections_are_accepted_than_there_are_slots() {
        let listener = CountingListener {
            next: AtomicUsize::new(0),
            n: 5,
        };
        let served = Arc::new(Mutex::new(Vec::new()));
        let slots = Arc::new(Semaphore::new(2));
        let (stop, stopped) = watch::channel(false);
        let record = Arc::clone(&served);
        let task = tokio::spawn(accept_loop(
            listener,
            Arc::clone(&slots),
            stopped,
            move |i, permit| {
                record
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((i, permit));
            },
        ));

        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(served.lock().unwrap_or_else(|e| e.into_inner()).len(), 2);
        // The first connection closes: its slot goes to the next one.
        drop(served.lock().unwrap_or_else(|e| e.into_inner()).remove(0));
        tokio::time::sleep(Duration::from_secs(1)).await;
        let ids: Vec<usize> = served
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(i, _)| *i)
            .collect();
        assert_eq!(ids, [1, 2]);
        stop.send_replace(true);
        task.await.expect("the accept loop ends when stopped");
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_that_makes_no_progress_fails_after_the_limit() {
        let (server, _client_never_reads) = tokio::io::duplex(1024);
        let mut guarded = StallGuard::new(server, Duration::from_secs(30));

        let written = guarded.write_all(&[b'x'; 4096]).await;

        let error = written.expect_err("the stalled write fails");
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_but_steady_reader_is_not_cut_off() {
        let (server, mut client) = tokio::io::duplex(1024);
        let mut guarded = StallGuard::new(server, Duration::from_secs(30));
        let reader = tokio::spawn(async move {
            let mut buf = [0u8; 512];
            let mut total = 0;
            while total < 8192 {
                tokio::time::sleep(Duration::from_secs(20)).await;
                total += client.read(&mut buf).await.expect("read");
            }
            total
        });

        guarded
            .write_all(&[b'x'; 8192])
            .await
            .expect("each write progresses within the limit");

        assert_eq!(reader.await.expect("reader"), 8192);
    }
}
