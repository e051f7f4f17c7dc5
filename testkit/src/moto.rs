//! Launcher for the pinned moto server (`scripts/setup.sh python` installs moto 5.2.5 into
//! `.tools/py-moto`), and SDK clients pointed at it.
//!
//! The server listens on 127.0.0.1 on a free port. It is started through a tiny Python watchdog
//! that holds the write end of a pipe from the test process: when the test process closes it
//! (dropping [`MotoServer`], a panic unwinding through it, or the process dying in any way, even
//! SIGKILL) the watchdog terminates moto. This is what lets one server be shared by every test
//! of a test binary ([`MotoServer::shared`]): statics are never dropped, but the pipe closes when
//! the process exits.
//!
//! Tests sharing a server isolate themselves with unique names ([`unique_name`]) instead of
//! resetting moto, so they can run in parallel.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};

/// Region every moto client uses.
pub const REGION: &str = "us-east-1";
/// The account moto answers for.
pub const ACCOUNT_ID: &str = "123456789012";

/// How long moto may take to answer after start (measured: about 1 s; a loaded 2-core CI
/// machine can be much slower).
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a stopping watchdog gets to terminate moto before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts to find a port moto can bind (another process may take the probed free port).
const START_ATTEMPTS: usize = 3;

/// Terminates moto when stdin reaches end of file (the test process closed it or died), and
/// exits with moto's status when moto exits by itself.
const WATCHDOG: &str = r#"
import subprocess, sys, threading
child = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL)
def stop_on_eof():
    try:
        sys.stdin.buffer.read()
    finally:
        child.terminate()
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
threading.Thread(target=stop_on_eof, daemon=True).start()
sys.exit(child.wait())
"#;

/// Why moto could not be started or called.
#[derive(Debug, thiserror::Error)]
pub enum MotoError {
    /// The pinned moto is not installed.
    #[error(
        "moto is not installed at {path}: run `scripts/setup.sh python` in the workspace root \
         (installs moto[server]==5.2.5 into .tools/py-moto)"
    )]
    NotInstalled {
        /// The expected `moto_server` path.
        path: PathBuf,
    },
    /// Spawning the process failed.
    #[error("could not start moto ({path}): {source}")]
    Spawn {
        /// The program.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// moto exited or did not answer in time.
    #[error("moto did not come up on port {port}: {reason}; its log is {log}")]
    NotReady {
        /// The port.
        port: u16,
        /// What happened.
        reason: String,
        /// The server log.
        log: PathBuf,
    },
    /// A call to moto's own API failed.
    #[error("moto API call {path} failed: {reason}")]
    Api {
        /// The API path.
        path: String,
        /// What happened.
        reason: String,
    },
}

/// A running moto server; stopped on drop.
#[derive(Debug)]
pub struct MotoServer {
    port: u16,
    endpoint: String,
    log: PathBuf,
    watchdog: Child,
    /// Closing this pipe tells the watchdog to stop moto.
    stdin: Option<ChildStdin>,
}

/// The workspace root (this crate's parent directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// A name no other test of this process (or any other process, with high probability) uses:
/// lower case, digits and `-`, valid for S3 buckets, DynamoDB tables, SQS queues and rules.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{:08x}-{}",
        rand::random::<u32>(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

impl MotoServer {
    /// Starts a new server for the caller alone.
    pub fn start() -> Result<Self, MotoError> {
        let root = workspace_root();
        let moto = root.join(".tools/py-moto/bin/moto_server");
        let python = root.join(".tools/py-moto/bin/python");
        if !moto.is_file() || !python.exists() {
            return Err(MotoError::NotInstalled { path: moto });
        }
        let mut last = None;
        for _ in 0..START_ATTEMPTS {
            match Self::start_on_free_port(&python, &moto) {
                Ok(server) => return Ok(server),
                Err(err @ MotoError::NotReady { .. }) => last = Some(err),
                Err(err) => return Err(err),
            }
        }
        Err(last.unwrap_or(MotoError::NotInstalled { path: moto }))
    }

    /// The server shared by every test of this test binary, started on first use. Panics with
    /// the reason (naming `scripts/setup.sh python` when moto is missing) if it cannot start.
    pub fn shared() -> &'static MotoServer {
        static SHARED: OnceLock<Result<MotoServer, String>> = OnceLock::new();
        match SHARED.get_or_init(|| Self::start().map_err(|err| err.to_string())) {
            Ok(server) => server,
            Err(reason) => panic!("{reason}"),
        }
    }

    fn start_on_free_port(python: &Path, moto: &Path) -> Result<Self, MotoError> {
        let port = free_port().map_err(|source| MotoError::Spawn {
            path: moto.to_path_buf(),
            source,
        })?;
        let log = std::env::temp_dir().join(format!("moto-{}-{port}.log", std::process::id()));
        let log_file = std::fs::File::create(&log).map_err(|source| MotoError::Spawn {
            path: log.clone(),
            source,
        })?;
        let log_err = log_file.try_clone().map_err(|source| MotoError::Spawn {
            path: log.clone(),
            source,
        })?;
        let mut watchdog = Command::new(python)
            .arg("-c")
            .arg(WATCHDOG)
            .arg(moto)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::from(log_file))
            .stderr(Stdio::from(log_err))
            .spawn()
            .map_err(|source| MotoError::Spawn {
                path: moto.to_path_buf(),
                source,
            })?;
        let stdin = watchdog.stdin.take();
        let mut server = Self {
            port,
            endpoint: format!("http://127.0.0.1:{port}"),
            log,
            watchdog,
            stdin,
        };
        server.wait_until_ready()?;
        Ok(server)
    }

    fn wait_until_ready(&mut self) -> Result<(), MotoError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.watchdog.try_wait() {
                return Err(self.not_ready(format!("the process exited with {status}")));
            }
            if let Ok((status, _)) = self.request("GET", "/moto-api/data.json", None)
                && status == 200
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(self.not_ready(format!("no answer within {READY_TIMEOUT:?}")));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn not_ready(&self, reason: String) -> MotoError {
        MotoError::NotReady {
            port: self.port,
            reason,
            log: self.log.clone(),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A minimal HTTP/1.0 call to moto's own API (`/moto-api/...`): status and body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Result<(u16, String), MotoError> {
        let api = |reason: String| MotoError::Api {
            path: path.to_owned(),
            reason,
        };
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2))
            .map_err(|e| api(e.to_string()))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(|e| api(e.to_string()))?;
        let body = body.unwrap_or("");
        let request = format!(
            "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        );
        stream
            .write_all(request.as_bytes())
            .map_err(|e| api(e.to_string()))?;
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .map_err(|e| api(e.to_string()))?;
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| api(format!("not an HTTP response: {response:.80}")))?;
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default();
        Ok((status, body))
    }

    /// Makes moto run Step Functions definitions (Pass/Choice/Wait/Map; no activities). Must be
    /// called before the state machines are created: machines created earlier vanish.
    pub fn enable_step_functions_execution(&self) -> Result<(), MotoError> {
        let (status, body) = self.request(
            "POST",
            "/moto-api/config",
            Some(r#"{"stepfunctions":{"execute_state_machine":true}}"#),
        )?;
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(MotoError::Api {
                path: "/moto-api/config".into(),
                reason: format!("status {status}: {body:.200}"),
            })
        }
    }

    /// Shared SDK configuration: this endpoint, [`REGION`], dummy static credentials.
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(Region::new(REGION))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "testing", "testing", None, None, "moto",
            ))
            .load()
            .await
    }

    /// An S3 client with path-style addressing (virtual hosts do not resolve on 127.0.0.1).
    pub async fn s3_client(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk_config().await)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// A DynamoDB client.
    pub async fn dynamodb_client(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk_config().await)
    }

    /// A Step Functions client.
    pub async fn sfn_client(&self) -> aws_sdk_sfn::Client {
        aws_sdk_sfn::Client::new(&self.sdk_config().await)
    }

    /// An SQS client.
    pub async fn sqs_client(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk_config().await)
    }

    /// An EventBridge client.
    pub async fn eventbridge_client(&self) -> aws_sdk_eventbridge::Client {
        aws_sdk_eventbridge::Client::new(&self.sdk_config().await)
    }

    /// Creates a fresh bucket with a unique name and returns the name.
    pub async fn create_bucket(&self, s3: &aws_sdk_s3::Client, prefix: &str) -> String {
        let bucket = unique_name(prefix);
        if let Err(err) = s3.create_bucket().bucket(&bucket).send().await {
            panic!(
                "creating bucket {bucket} on moto failed: {}",
                aws_sdk_s3::error::DisplayErrorContext(err)
            );
        }
        bucket
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        // Closing the pipe makes the watchdog terminate moto and exit.
        drop(self.stdin.take());
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if matches!(self.watchdog.try_wait(), Ok(Some(_)) | Err(_)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // The watchdog hangs: kill it (moto may survive; it dies with the pipe's other users).
        let _ = self.watchdog.kill();
        let _ = self.watchdog.wait();
    }
}

fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_differ_and_are_valid_bucket_names() {
        let a = unique_name("chunks");
        let b = unique_name("chunks");
        assert_ne!(a, b);
        assert!(a.len() <= 63);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
    }

    #[test]
    fn a_started_server_answers_and_is_gone_after_drop() {
        let server = MotoServer::start().unwrap_or_else(|err| panic!("{err}"));
        let port = server.port();
        let (status, _) = server
            .request("GET", "/moto-api/data.json", None)
            .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(status, 200);
        drop(server);
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        assert!(
            TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_err(),
            "moto still listens on {port} after drop"
        );
    }

    #[test]
    fn step_functions_execution_can_be_switched_on() {
        let server = MotoServer::start().unwrap_or_else(|err| panic!("{err}"));
        server
            .enable_step_functions_execution()
            .unwrap_or_else(|err| panic!("{err}"));
    }
}
