//! Segment documents and the UDP client of the X-Ray daemon (or an ADOT collector's X-Ray
//! receiver). The daemon protocol is one datagram per document: the header line
//! `{"format":"json","version":1}` and a newline, then the segment JSON.
//!
//! The client is only built when `AWS_XRAY_DAEMON_ADDRESS` is set (see [`DaemonClient::from_lookup`]),
//! so a worker without a daemon sends nothing.

use std::collections::BTreeMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::Value;
use tokio::net::UdpSocket;

use crate::error::ObservabilityError;

/// The variable naming the daemon: `host:port`, or `tcp:host:port udp:host:port`.
pub const DAEMON_ADDRESS_VAR: &str = "AWS_XRAY_DAEMON_ADDRESS";

/// The header line of every datagram.
pub const PROTOCOL_HEADER: &str = "{\"format\":\"json\",\"version\":1}\n";

/// The daemon reads datagrams of at most 64 KiB (its UDP buffer); a larger document is lost.
pub const MAX_DATAGRAM_BYTES: usize = 64 * 1024;

/// Segment names are limited to 200 characters by X-Ray.
const MAX_NAME_CHARS: usize = 200;

/// One X-Ray segment document (the fields this project sends).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Segment {
    /// The service name shown on the trace map.
    pub name: String,
    /// This segment's id (16 hex digits).
    pub id: String,
    /// The trace (`Root` of the trace header).
    pub trace_id: String,
    /// The calling segment (`Parent` of the trace header).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// Start, epoch seconds with fraction.
    pub start_time: f64,
    /// End, epoch seconds with fraction.
    pub end_time: f64,
    /// The kind of resource (`AWS::ECS::Container` for the workers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// The work failed (client-side or expected error).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub error: bool,
    /// The work failed unexpectedly (a server-side fault).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fault: bool,
    /// Indexed key/values (searchable with filter expressions, e.g. `annotation.recording_id`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, Value>,
    /// Non-indexed details.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, Value>,
}

impl Segment {
    /// A segment named `name` of trace `trace_id`; the name is cut to X-Ray's 200 characters.
    pub fn new(
        name: &str,
        id: String,
        trace_id: String,
        start: SystemTime,
        end: SystemTime,
    ) -> Self {
        Self {
            name: name.chars().take(MAX_NAME_CHARS).collect(),
            id,
            trace_id,
            parent_id: None,
            start_time: epoch_seconds(start),
            end_time: epoch_seconds(end.max(start)),
            origin: None,
            error: false,
            fault: false,
            annotations: BTreeMap::new(),
            metadata: BTreeMap::new(),
        }
    }
}

/// Seconds since the epoch, with the fraction X-Ray expects.
pub fn epoch_seconds(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The datagram of one segment: header line, then the document.
///
/// # Errors
/// [`ObservabilityError::Serialize`], or [`ObservabilityError::SegmentTooLarge`] when the
/// datagram would exceed [`MAX_DATAGRAM_BYTES`].
pub fn datagram(segment: &Segment) -> Result<Vec<u8>, ObservabilityError> {
    let mut bytes = PROTOCOL_HEADER.as_bytes().to_vec();
    serde_json::to_writer(&mut bytes, segment)?;
    if bytes.len() > MAX_DATAGRAM_BYTES {
        return Err(ObservabilityError::SegmentTooLarge {
            id: segment.id.clone(),
            bytes: bytes.len(),
        });
    }
    Ok(bytes)
}

/// Parses `AWS_XRAY_DAEMON_ADDRESS`: `host:port` (UDP and TCP on the same address) or
/// `tcp:host:port udp:host:port` (either order); the UDP address is returned.
///
/// # Errors
/// [`ObservabilityError::InvalidDaemonAddress`].
pub fn parse_daemon_address(value: &str) -> Result<SocketAddr, ObservabilityError> {
    let invalid = || ObservabilityError::InvalidDaemonAddress {
        value: value.to_owned(),
    };
    let parts: Vec<&str> = value.split_whitespace().collect();
    let udp = match parts.as_slice() {
        [single] if !single.starts_with("tcp:") => single.strip_prefix("udp:").unwrap_or(single),
        [a, b] => [a, b]
            .into_iter()
            .find_map(|p| p.strip_prefix("udp:"))
            .filter(|_| a.starts_with("tcp:") || b.starts_with("tcp:"))
            .ok_or_else(invalid)?,
        _ => return Err(invalid()),
    };
    udp.to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(invalid)
}

/// Sends segments to the daemon over UDP (fire and forget, as every X-Ray SDK does).
#[derive(Debug)]
pub struct DaemonClient {
    socket: UdpSocket,
    target: SocketAddr,
}

impl DaemonClient {
    /// A client sending to `target` from an ephemeral local port.
    ///
    /// # Errors
    /// [`ObservabilityError::Io`] when no local UDP socket can be bound.
    pub async fn connect(target: SocketAddr) -> Result<Self, ObservabilityError> {
        let local: SocketAddr = if target.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            ([0u16; 8], 0).into()
        };
        let socket = UdpSocket::bind(local).await?;
        Ok(Self { socket, target })
    }

    /// The client named by `AWS_XRAY_DAEMON_ADDRESS` read through `lookup`; `None` (tracing
    /// off) when the variable is unset or empty.
    ///
    /// # Errors
    /// [`ObservabilityError::InvalidDaemonAddress`] for a malformed value, [`ObservabilityError::Io`].
    pub async fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, ObservabilityError> {
        match lookup(DAEMON_ADDRESS_VAR).filter(|v| !v.trim().is_empty()) {
            None => Ok(None),
            Some(value) => Ok(Some(Self::connect(parse_daemon_address(&value)?).await?)),
        }
    }

    /// Where segments go.
    pub fn target(&self) -> SocketAddr {
        self.target
    }

    /// Sends one segment.
    ///
    /// # Errors
    /// [`ObservabilityError`] when it cannot be serialized or sent.
    pub async fn send(&self, segment: &Segment) -> Result<(), ObservabilityError> {
        let bytes = datagram(segment)?;
        self.socket.send_to(&bytes, self.target).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn segment() -> Segment {
        let start = UNIX_EPOCH + Duration::from_millis(1_700_000_000_250);
        let mut segment = Segment::new(
            "meeting-recorder-worker",
            "53995c3f42cd8ad8".into(),
            "1-5759e988-bd862e3fe1be46a994272793".into(),
            start,
            start + Duration::from_millis(1500),
        );
        segment.parent_id = Some("0123456789abcdef".into());
        segment
            .annotations
            .insert("recording_id".into(), Value::from("rec_1"));
        segment
    }

    #[tokio::test]
    async fn given_a_listening_daemon_when_a_segment_is_sent_then_it_gets_the_header_line_and_the_document()
     {
        let daemon = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let client = DaemonClient::connect(daemon.local_addr().unwrap())
            .await
            .unwrap();
        client.send(&segment()).await.unwrap();

        let mut buf = vec![0u8; MAX_DATAGRAM_BYTES];
        let (len, _) = daemon.recv_from(&mut buf).await.unwrap();
        let text = std::str::from_utf8(&buf[..len]).unwrap();
        let (header, body) = text.split_once('\n').unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(header).unwrap(),
            serde_json::json!({"format": "json", "version": 1})
        );
        let doc: Value = serde_json::from_str(body).unwrap();
        assert_eq!(doc["trace_id"], "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(doc["parent_id"], "0123456789abcdef");
        assert_eq!(doc["id"], "53995c3f42cd8ad8");
        assert_eq!(doc["start_time"], 1_700_000_000.25);
        assert_eq!(doc["end_time"], 1_700_000_001.75);
        assert_eq!(doc["annotations"]["recording_id"], "rec_1");
        assert!(doc.get("error").is_none() && doc.get("fault").is_none());
    }

    #[tokio::test]
    async fn given_no_daemon_address_when_the_client_is_built_then_tracing_is_off() {
        assert!(DaemonClient::from_lookup(|_| None).await.unwrap().is_none());
        assert!(
            DaemonClient::from_lookup(|_| Some("  ".into()))
                .await
                .unwrap()
                .is_none()
        );
        let on = DaemonClient::from_lookup(|_| Some("127.0.0.1:2000".into()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(on.target(), "127.0.0.1:2000".parse().unwrap());
    }

    #[test]
    fn daemon_addresses_in_both_documented_forms_give_the_udp_address() {
        let udp: SocketAddr = "127.0.0.1:2001".parse().unwrap();
        assert_eq!(parse_daemon_address("127.0.0.1:2001").unwrap(), udp);
        assert_eq!(
            parse_daemon_address("tcp:127.0.0.1:2000 udp:127.0.0.1:2001").unwrap(),
            udp
        );
        assert_eq!(
            parse_daemon_address("udp:127.0.0.1:2001 tcp:127.0.0.1:2000").unwrap(),
            udp
        );
        for bad in [
            "",
            "nonsense",
            "tcp:127.0.0.1:2000",
            "udp:1.2.3.4:1 udp:1.2.3.4:2",
            "a b c",
        ] {
            assert!(parse_daemon_address(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn an_oversized_segment_is_refused_instead_of_silently_truncated() {
        let mut big = segment();
        big.metadata
            .insert("blob".into(), Value::from("x".repeat(MAX_DATAGRAM_BYTES)));
        assert!(matches!(
            datagram(&big),
            Err(ObservabilityError::SegmentTooLarge { .. })
        ));
        assert!(datagram(&segment()).is_ok());
    }
}
