//! Running `ffmpeg` and `ffprobe` as child processes: stdout captured up to a cap (or streamed
//! from one process through a filter into another, [`run_piped`]), the end of stderr kept for
//! error causes, a wall-clock limit, memory and CPU-time limits ([`crate::limits`]), and
//! cancellation. The child is killed (SIGKILL) and reaped on timeout or cancellation, and
//! `kill_on_drop` kills it if the task's future is dropped mid-run, so no FFmpeg outlives its
//! task. A child that fails under its limits is reported as such ([`ToolError::OutOfMemory`],
//! [`ToolError::Killed`]), not as a plain non-zero exit.

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

use crate::error::ToolError;
use crate::limits::{self, MemoryLimit, ResourceLimits};

/// How much of stderr is kept for a cause. Step Functions limits `cause` to 32,768 characters
/// (`SendTaskFailure`); a few KiB of FFmpeg's last words is what an operator needs.
pub const STDERR_TAIL_BYTES: usize = 4 * 1024;

/// Default cap on captured stdout: ffprobe's JSON for one chunk is a few KiB.
pub const DEFAULT_STDOUT_LIMIT: usize = 1024 * 1024;

/// One invocation of a tool.
#[derive(Debug, Clone)]
pub struct ToolCommand {
    /// The program to run (`ffmpeg`, or a path).
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Kill it after this long.
    pub timeout: Duration,
    /// Fail (and kill it) if it writes more than this to stdout.
    pub stdout_limit: usize,
    /// Memory and CPU-time limits, set in the child before it runs the program.
    pub limits: ResourceLimits,
}

impl ToolCommand {
    /// A command with the default stdout cap, the default memory limit and a CPU-time limit equal
    /// to its wall-clock limit.
    pub fn new(program: impl Into<PathBuf>, args: Vec<OsString>, timeout: Duration) -> Self {
        Self {
            program: program.into(),
            args,
            timeout,
            stdout_limit: DEFAULT_STDOUT_LIMIT,
            limits: ResourceLimits {
                memory: Some(MemoryLimit::default()),
                cpu_seconds: Some(whole_seconds(timeout)),
            },
        }
    }

    /// The same command with `memory` as its address-space limit.
    #[must_use]
    pub fn with_memory_limit(mut self, memory: MemoryLimit) -> Self {
        self.limits.memory = Some(memory);
        self
    }

    /// The same command with a CPU-time limit of `seconds`.
    #[must_use]
    pub fn with_cpu_seconds(mut self, seconds: u64) -> Self {
        self.limits.cpu_seconds = Some(seconds);
        self
    }

    fn tool_name(&self) -> String {
        self.program.to_string_lossy().into_owned()
    }
}

/// What a successful run produced.
#[derive(Debug, Clone)]
pub struct ToolOutput {
    /// Everything written to stdout.
    pub stdout: Vec<u8>,
    /// The end of stderr (warnings).
    pub stderr_tail: String,
    /// Wall time of the process.
    pub elapsed: Duration,
}

/// Reads `reader` to the end, keeping at most `limit` bytes; returns the bytes and whether more
/// were written (the rest is drained so the child never blocks on a full pipe).
async fn read_capped<R: AsyncRead + Unpin>(
    mut reader: R,
    limit: usize,
) -> std::io::Result<(Vec<u8>, bool)> {
    let mut kept = Vec::new();
    let mut overflow = false;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            return Ok((kept, overflow));
        }
        let room = limit.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
        overflow |= n > room;
    }
}

/// Reads `reader` to the end, keeping only the last `tail` bytes.
async fn read_tail<R: AsyncRead + Unpin>(mut reader: R, tail: usize) -> std::io::Result<String> {
    let mut kept: Vec<u8> = Vec::new();
    let mut truncated = false;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        kept.extend_from_slice(&buf[..n]);
        if kept.len() > 2 * tail {
            let cut = kept.len() - tail;
            kept.drain(..cut);
            truncated = true;
        }
    }
    if kept.len() > tail {
        let cut = kept.len() - tail;
        kept.drain(..cut);
        truncated = true;
    }
    let text = String::from_utf8_lossy(&kept).trim().to_owned();
    Ok(if truncated {
        format!("…{text}")
    } else {
        text
    })
}

/// `duration` rounded up to whole seconds, at least one.
fn whole_seconds(duration: Duration) -> u64 {
    duration
        .as_secs()
        .saturating_add(u64::from(duration.subsec_nanos() > 0))
        .max(1)
}

/// What to report for a child that exited unsuccessfully (it was not killed by us: timeouts and
/// cancellation return before the status is looked at).
fn failure(command: &ToolCommand, status: ExitStatus, stderr: String) -> ToolError {
    let tool = command.tool_name();
    if let Some(signal) = status.signal() {
        return ToolError::Killed {
            tool,
            signal,
            cpu_limit_seconds: command.limits.cpu_seconds,
            stderr,
        };
    }
    if let Some(memory) = command.limits.memory {
        let limit_mib = memory.mib();
        if loader_out_of_memory(&stderr) {
            return ToolError::LimitTooLowToStart {
                tool,
                limit_mib,
                stderr,
            };
        }
        if out_of_memory(&stderr) {
            return ToolError::OutOfMemory {
                tool,
                limit_mib,
                stderr,
            };
        }
    }
    ToolError::Failed {
        tool,
        status: status.to_string(),
        stderr,
    }
}

/// Whether the dynamic loader could not map the program's libraries (glibc's `ld.so` says
/// "error while loading shared libraries: libx.so: failed to map segment from shared object"
/// when `mmap` fails with `ENOMEM`; a missing library says "cannot open shared object file").
fn loader_out_of_memory(stderr: &str) -> bool {
    stderr.contains("error while loading shared libraries")
        && (stderr.contains("failed to map segment")
            || stderr.contains("cannot map zero-fill pages")
            || stderr.contains("Cannot allocate memory"))
}

/// Whether the program reported a failed allocation: `AVERROR(ENOMEM)` prints as
/// `strerror(ENOMEM)`, "Cannot allocate memory"; C++ libraries throw `std::bad_alloc`; gnulib's
/// `xalloc_die` (coreutils) says "memory exhausted".
fn out_of_memory(stderr: &str) -> bool {
    [
        "Cannot allocate memory",
        "std::bad_alloc",
        "Out of memory",
        "memory exhausted",
    ]
    .iter()
    .any(|marker| stderr.contains(marker))
}

fn spawn(command: &ToolCommand, stdin: Stdio) -> Result<tokio::process::Child, ToolError> {
    let tool = command.tool_name();
    let mut child = Command::new(&command.program);
    child
        .args(&command.args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    limits::apply(&mut child, command.limits);
    child.spawn().map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            ToolError::Missing { tool, source }
        } else {
            ToolError::Spawn { tool, source }
        }
    })
}

/// Runs `producer | filter | consumer`: the producer's stdout goes through `filter` into the
/// consumer's stdin, streaming (64 KiB at a time), so nothing is held in memory. Both processes
/// share one time limit and one cancellation; on either, both are killed. The consumer's stdout
/// is discarded. When both fail, the producer's error is reported (the consumer usually failed
/// because its input stopped).
pub async fn run_piped(
    producer: &ToolCommand,
    consumer: &ToolCommand,
    mut filter: impl FnMut(&[u8], &mut Vec<u8>) + Send,
    cancel: &CancellationToken,
) -> Result<(ToolOutput, ToolOutput), ToolError> {
    let started = Instant::now();
    let mut first = spawn(producer, Stdio::null())?;
    let mut second = spawn(consumer, Stdio::piped())?;
    let (first_tool, second_tool) = (producer.tool_name(), consumer.tool_name());
    let io_error = |tool: &str, source| ToolError::Io {
        tool: tool.to_owned(),
        source,
    };
    let missing = |what: &str| std::io::Error::other(format!("{what} was not captured"));
    let mut pcm = first
        .stdout
        .take()
        .ok_or_else(|| io_error(&first_tool, missing("stdout")))?;
    let mut sink = second
        .stdin
        .take()
        .ok_or_else(|| io_error(&second_tool, missing("stdin")))?;
    let first_err = first
        .stderr
        .take()
        .ok_or_else(|| io_error(&first_tool, missing("stderr")))?;
    let second_err = second
        .stderr
        .take()
        .ok_or_else(|| io_error(&second_tool, missing("stderr")))?;
    let second_out = second
        .stdout
        .take()
        .ok_or_else(|| io_error(&second_tool, missing("stdout")))?;
    let first_tail = tokio::spawn(read_tail(first_err, STDERR_TAIL_BYTES));
    let second_tail = tokio::spawn(read_tail(second_err, STDERR_TAIL_BYTES));
    let drain = tokio::spawn(read_capped(second_out, 0));

    let pump = async {
        let mut buf = vec![0u8; 64 * 1024];
        let mut out = Vec::with_capacity(64 * 1024);
        let copied: std::io::Result<()> = async {
            loop {
                let n = pcm.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                out.clear();
                filter(&buf[..n], &mut out);
                sink.write_all(&out).await?;
            }
            sink.shutdown().await
        }
        .await;
        drop(sink);
        drop(pcm);
        let a = first.wait().await;
        let b = second.wait().await;
        (copied, a, b)
    };
    let finished = tokio::select! {
        r = pump => Ok(r),
        () = tokio::time::sleep(producer.timeout) => Err(ToolError::TimedOut {
            tool: first_tool.clone(),
            limit: producer.timeout,
        }),
        () = cancel.cancelled() => Err(ToolError::Cancelled { tool: first_tool.clone() }),
    };
    let (copied, a, b) = match finished {
        Ok(r) => r,
        Err(e) => {
            kill(&mut first).await;
            kill(&mut second).await;
            return Err(e);
        }
    };
    let a = a.map_err(|e| io_error(&first_tool, e))?;
    let b = b.map_err(|e| io_error(&second_tool, e))?;
    let first_tail = flatten(first_tail.await).map_err(|e| io_error(&first_tool, e))?;
    let second_tail = flatten(second_tail.await).map_err(|e| io_error(&second_tool, e))?;
    let _ = drain.await;
    if !a.success() {
        return Err(failure(producer, a, first_tail));
    }
    if !b.success() {
        return Err(failure(consumer, b, second_tail));
    }
    copied.map_err(|e| io_error(&second_tool, e))?;
    let elapsed = started.elapsed();
    Ok((
        ToolOutput {
            stdout: Vec::new(),
            stderr_tail: first_tail,
            elapsed,
        },
        ToolOutput {
            stdout: Vec::new(),
            stderr_tail: second_tail,
            elapsed,
        },
    ))
}

/// Runs `command` to completion, or kills it on timeout or when `cancel` fires.
pub async fn run_tool(
    command: &ToolCommand,
    cancel: &CancellationToken,
) -> Result<ToolOutput, ToolError> {
    let tool = command.tool_name();
    let started = Instant::now();
    let mut child = spawn(command, Stdio::null())?;
    let io_error = |source| ToolError::Io {
        tool: tool.clone(),
        source,
    };
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| io_error(std::io::Error::other("stdout was not captured")))?;
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| io_error(std::io::Error::other("stderr was not captured")))?;
    let stdout_limit = command.stdout_limit;
    let stdout_task = tokio::spawn(read_capped(stdout, stdout_limit));
    let stderr_task = tokio::spawn(read_tail(stderr, STDERR_TAIL_BYTES));

    let status = tokio::select! {
        status = child.wait() => status.map_err(io_error)?,
        () = tokio::time::sleep(command.timeout) => {
            kill(&mut child).await;
            return Err(ToolError::TimedOut { tool, limit: command.timeout });
        }
        () = cancel.cancelled() => {
            kill(&mut child).await;
            return Err(ToolError::Cancelled { tool });
        }
    };
    let (stdout, overflow) = flatten(stdout_task.await).map_err(io_error)?;
    let stderr_tail = flatten(stderr_task.await).map_err(io_error)?;
    if !status.success() {
        return Err(failure(command, status, stderr_tail));
    }
    if overflow {
        return Err(ToolError::OutputTooLarge {
            tool,
            limit: stdout_limit,
        });
    }
    Ok(ToolOutput {
        stdout,
        stderr_tail,
        elapsed: started.elapsed(),
    })
}

/// The result of a reader task, with a panic or abort of the task as an I/O error.
fn flatten<T>(result: Result<std::io::Result<T>, tokio::task::JoinError>) -> std::io::Result<T> {
    result
        .map_err(std::io::Error::other)
        .and_then(|inner| inner)
}

/// Kills and reaps the child. Errors are ignored: the child may have exited in the meantime, and
/// `kill_on_drop` is the backstop.
async fn kill(child: &mut tokio::process::Child) {
    let _ = child.kill().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, timeout: Duration) -> ToolCommand {
        ToolCommand::new("sh", vec!["-c".into(), script.into()], timeout)
    }

    #[tokio::test]
    async fn a_successful_run_returns_stdout_and_the_tail_of_stderr() {
        let out = run_tool(
            &sh("echo out; echo warn >&2", Duration::from_secs(10)),
            &CancellationToken::new(),
        )
        .await
        .expect("sh runs");
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr_tail, "warn");
    }

    #[tokio::test]
    async fn a_failing_run_carries_its_status_and_truncated_stderr() {
        // GIVEN a program that writes far more than the tail to stderr and fails
        let script = "i=0; while [ $i -lt 2000 ]; do echo line-$i >&2; i=$((i+1)); done; exit 3";
        // WHEN it runs
        let err = run_tool(
            &sh(script, Duration::from_secs(30)),
            &CancellationToken::new(),
        )
        .await
        .expect_err("exit 3");
        // THEN the error has the exit status and only the end of stderr
        match err {
            ToolError::Failed { status, stderr, .. } => {
                assert!(status.contains('3'), "{status}");
                assert!(stderr.starts_with('…'));
                assert!(stderr.ends_with("line-1999"));
                assert!(stderr.len() <= STDERR_TAIL_BYTES + '…'.len_utf8());
            }
            other => panic!("expected Failed, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_missing_program_is_reported_with_the_setup_command() {
        let command = ToolCommand::new(
            "/nonexistent/ffmpeg-not-here",
            Vec::new(),
            Duration::from_secs(1),
        );
        let err = run_tool(&command, &CancellationToken::new())
            .await
            .expect_err("missing");
        assert!(matches!(err, ToolError::Missing { .. }));
        assert!(err.to_string().contains("scripts/setup.sh apt"));
    }

    #[tokio::test]
    async fn a_program_over_its_time_limit_is_killed() {
        let err = run_tool(
            &sh("sleep 30", Duration::from_millis(200)),
            &CancellationToken::new(),
        )
        .await
        .expect_err("timeout");
        assert!(matches!(err, ToolError::TimedOut { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn cancellation_kills_the_program() {
        // GIVEN a long-running program and a token cancelled shortly after it starts
        let cancel = CancellationToken::new();
        let trigger = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            trigger.cancel();
        });
        // WHEN it runs
        let err = run_tool(&sh("sleep 30", Duration::from_secs(60)), &cancel)
            .await
            .expect_err("cancelled");
        // THEN it was killed as cancelled, not timed out
        assert!(matches!(err, ToolError::Cancelled { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn a_pipe_streams_through_the_filter_into_the_consumer() {
        // GIVEN a producer of 200,000 bytes and a filter that keeps every other byte
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out");
        let producer = sh(
            "head -c 200000 /dev/zero | tr '\\0' 'a'",
            Duration::from_secs(10),
        );
        let consumer = sh(&format!("cat > {}", out.display()), Duration::from_secs(10));
        let mut keep = false;
        // WHEN piped
        run_piped(
            &producer,
            &consumer,
            |input, output| {
                for b in input {
                    keep = !keep;
                    if keep {
                        output.push(*b);
                    }
                }
            },
            &CancellationToken::new(),
        )
        .await
        .expect("pipe runs");
        // THEN the consumer received exactly the filtered stream
        let written = std::fs::read(&out).expect("output");
        assert_eq!(written.len(), 100_000);
        assert!(written.iter().all(|b| *b == b'a'));
    }

    #[tokio::test]
    async fn a_failing_producer_fails_the_pipe_with_its_stderr() {
        let producer = sh("echo broken input >&2; exit 1", Duration::from_secs(10));
        let consumer = sh("cat > /dev/null", Duration::from_secs(10));
        let err = run_piped(
            &producer,
            &consumer,
            |i, o| o.extend_from_slice(i),
            &CancellationToken::new(),
        )
        .await
        .expect_err("producer fails");
        match err {
            ToolError::Failed { stderr, .. } => assert_eq!(stderr, "broken input"),
            other => panic!("expected Failed, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn the_memory_and_cpu_limits_are_set_in_the_child() {
        // GIVEN a command limited to 768 MiB of address space and 7 s of CPU
        let command = sh("ulimit -v; ulimit -t", Duration::from_secs(10))
            .with_memory_limit(MemoryLimit::from_mib(768).expect("in range"))
            .with_cpu_seconds(7);
        // WHEN it reports its own limits
        let out = run_tool(&command, &CancellationToken::new())
            .await
            .expect("sh runs");
        // THEN they are the ones asked for (`ulimit -v` counts KiB)
        assert_eq!(String::from_utf8_lossy(&out.stdout), "786432\n7\n");
    }

    #[tokio::test]
    async fn an_allocation_beyond_the_memory_limit_fails_as_out_of_memory_naming_the_limit() {
        // GIVEN a program that needs an 800 MiB buffer, limited to 512 MiB (without the limit
        // it copies the 800 MiB and succeeds)
        let command = ToolCommand::new(
            "dd",
            ["if=/dev/zero", "of=/dev/null", "bs=800M", "count=1"]
                .map(OsString::from)
                .to_vec(),
            Duration::from_secs(60),
        )
        .with_memory_limit(MemoryLimit::from_mib(512).expect("in range"));
        // WHEN it runs
        let err = run_tool(&command, &CancellationToken::new())
            .await
            .expect_err("the allocation is refused");
        // THEN the failure says it ran out of its limit, and which
        assert!(
            matches!(err, ToolError::OutOfMemory { limit_mib: 512, .. }),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(
            message.starts_with(
                "`dd` ran out of its memory limit of 512 MiB (MEDIA_TOOL_MEMORY_MIB sets it)"
            ),
            "{message}"
        );
    }

    #[tokio::test]
    async fn a_program_over_its_cpu_limit_is_killed_and_the_limit_is_named() {
        // GIVEN a busy loop with one second of CPU time, and a wall-clock limit far away
        let command = sh("while :; do :; done", Duration::from_secs(120)).with_cpu_seconds(1);
        // WHEN it runs
        let err = run_tool(&command, &CancellationToken::new())
            .await
            .expect_err("killed");
        // THEN the kernel killed it at the CPU limit, long before the wall-clock limit
        assert!(
            matches!(
                err,
                ToolError::Killed {
                    signal: 9,
                    cpu_limit_seconds: Some(1),
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("CPU time limit of 1 s"), "{err}");
    }

    #[tokio::test]
    async fn a_loader_that_cannot_map_its_libraries_is_reported_as_a_limit_too_low_to_start() {
        // GIVEN a program failing the way glibc's loader does when mmap hits RLIMIT_AS
        let command = sh(
            "echo 'ffmpeg: error while loading shared libraries: libicudata.so.72: failed to \
             map segment from shared object' >&2; exit 127",
            Duration::from_secs(10),
        );
        // WHEN it runs
        let err = run_tool(&command, &CancellationToken::new())
            .await
            .expect_err("exit 127");
        // THEN the cause says the limit, not the input, is the problem
        assert!(
            matches!(
                err,
                ToolError::LimitTooLowToStart {
                    limit_mib: 1024,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("raise MEDIA_TOOL_MEMORY_MIB"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn stdout_beyond_the_cap_is_an_error() {
        let mut command = sh("head -c 100000 /dev/zero", Duration::from_secs(10));
        command.stdout_limit = 1000;
        let err = run_tool(&command, &CancellationToken::new())
            .await
            .expect_err("too much output");
        assert!(matches!(err, ToolError::OutputTooLarge { .. }), "{err:?}");
    }
}
