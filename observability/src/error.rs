//! The one error type of this crate.

/// What can go wrong while propagating or emitting traces.
#[derive(Debug, thiserror::Error)]
pub enum ObservabilityError {
    /// A trace header that is not `Root=1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx[;Parent=…][;Sampled=…]`.
    #[error("invalid X-Ray trace header {header:?}: {reason}")]
    InvalidTraceHeader {
        /// The header as received (trace headers carry ids only, no secrets).
        header: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `AWS_XRAY_DAEMON_ADDRESS` does not name a UDP address.
    #[error(
        "AWS_XRAY_DAEMON_ADDRESS={value:?} is not host:port or \"tcp:host:port udp:host:port\"; fix the task definition"
    )]
    InvalidDaemonAddress {
        /// The variable's value.
        value: String,
    },
    /// The UDP socket to the daemon could not be opened or written.
    #[error("cannot send to the X-Ray daemon: {0}")]
    Io(#[from] std::io::Error),
    /// A segment document larger than the daemon accepts in one datagram.
    #[error("x-ray segment {id} is {bytes} bytes, above the daemon's 64 KiB datagram limit")]
    SegmentTooLarge {
        /// The segment id.
        id: String,
        /// Its size with the header line.
        bytes: usize,
    },
    /// A segment could not be serialized.
    #[error("cannot serialize an X-Ray segment: {0}")]
    Serialize(#[from] serde_json::Error),
    /// The execution's trace header could not be looked up.
    #[error("cannot look up the execution's trace header: {0}")]
    Lookup(#[source] Box<dyn std::error::Error + Send + Sync>),
}
