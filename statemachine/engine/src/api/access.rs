//! Who may call the API: the checks made on a request's headers before its body is read.
//!
//! - **Host** (DNS rebinding): a web page on `evil.example` can make a browser resolve its own
//!   name to `127.0.0.1` and then drive the API as if it were same-origin; the request still
//!   carries `Host: evil.example:PORT`. Only host names that cannot be rebound are accepted:
//!   `localhost` and IP literals that reach the bound address (see [`HostRule`]), plus the names
//!   an operator lists explicitly.
//! - **Origin**: no SDK client or worker sends `Origin`; browsers send it on every cross-origin
//!   request and on same-origin POSTs. A request carrying one comes from a web page, and no web
//!   page (not even one on another `localhost` port: any local dev server or the scripts it
//!   loads) has business driving executions and task tokens, so it is refused whatever it says.
//! - **Shared secret** (optional): `x-recorder-api-secret` must match, compared on SHA-256
//!   digests in constant time.

use std::net::{IpAddr, SocketAddr};

use hyper::HeaderMap;
use hyper::header::{HOST, ORIGIN};
use sha2::{Digest, Sha256};

/// The header carrying the shared secret.
pub const SECRET_HEADER: &str = "x-recorder-api-secret";

/// Why a request was refused (answered 403 with `AccessDeniedException`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Denied(pub String);

/// Which `Host` names reach this server, derived from the bound address.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HostRule {
    /// Bound to a loopback address: `localhost` and loopback IP literals.
    Loopback,
    /// Bound to `0.0.0.0` / `::`: `localhost` and any IP literal (the machine's addresses are
    /// not known up front; an IP literal cannot be rebound by DNS).
    Unspecified,
    /// Bound to one non-loopback address: that address only.
    Exactly(IpAddr),
}

/// The checks of [`crate::api::start_server_with`] on every request.
#[derive(Clone)]
pub(crate) struct AccessPolicy {
    rule: HostRule,
    port: u16,
    extra_hosts: Vec<String>,
    secret_digest: Option<[u8; 32]>,
}

impl std::fmt::Debug for AccessPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessPolicy")
            .field("rule", &self.rule)
            .field("port", &self.port)
            .field("extra_hosts", &self.extra_hosts)
            .field("secret", &self.secret_digest.map(|_| "<redacted>"))
            .finish()
    }
}

/// Splits a `Host` header value into a lower-case host (IPv6 without brackets) and its port.
/// `None` when it is not `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_host(value: &str) -> Option<(String, Option<u16>)> {
    let strict_port = |p: &str| {
        (!p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<u16>().ok())
            .flatten()
    };
    if let Some(rest) = value.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            _ => Some(strict_port(after.strip_prefix(':')?)?),
        };
        return Some((host.to_ascii_lowercase(), port));
    }
    let (host, port) = match value.split_once(':') {
        Some((host, port)) => (host, Some(strict_port(port)?)),
        None => (value, None),
    };
    (!host.is_empty()).then(|| (host.to_ascii_lowercase(), port))
}

/// A 32-byte comparison whose time does not depend on where the inputs differ.
fn same_digest(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl AccessPolicy {
    /// The policy of a server bound to `bound`, accepting also `extra_hosts` (host names, no
    /// port) and requiring `secret` when given.
    pub(crate) fn new(bound: SocketAddr, extra_hosts: &[String], secret: Option<&str>) -> Self {
        let ip = bound.ip().to_canonical();
        let rule = if ip.is_loopback() {
            HostRule::Loopback
        } else if ip.is_unspecified() {
            HostRule::Unspecified
        } else {
            HostRule::Exactly(ip)
        };
        Self {
            rule,
            port: bound.port(),
            extra_hosts: extra_hosts
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            secret_digest: secret.map(|s| Sha256::digest(s.as_bytes()).into()),
        }
    }

    fn host_allowed(&self, host: &str) -> bool {
        if self.extra_hosts.iter().any(|h| h == host) {
            return true;
        }
        let ip = host.parse::<IpAddr>().ok().map(|ip| ip.to_canonical());
        match (&self.rule, ip) {
            (HostRule::Loopback | HostRule::Unspecified, None) => host == "localhost",
            (HostRule::Loopback, Some(ip)) => ip.is_loopback(),
            (HostRule::Unspecified, Some(_)) => true,
            (HostRule::Exactly(bound), Some(ip)) => ip == *bound,
            (HostRule::Exactly(_), None) => false,
        }
    }

    /// Checks Host, Origin and the shared secret, in that order.
    pub(crate) fn check(&self, headers: &HeaderMap) -> Result<(), Denied> {
        let host = headers
            .get(HOST)
            .ok_or_else(|| Denied("the request has no Host header".to_owned()))?;
        let host_text = host.to_str().unwrap_or("");
        let allowed = split_host(host_text).is_some_and(|(name, port)| {
            // No port means the scheme's default, 80.
            port.unwrap_or(80) == self.port && self.host_allowed(&name)
        });
        if !allowed {
            return Err(Denied(format!(
                "Host '{}' does not name this server; use http://127.0.0.1:{}/ or \
                 http://localhost:{}/ (or a host listed in RECORDER_API_HOSTS)",
                host_text.chars().take(256).collect::<String>(),
                self.port,
                self.port
            )));
        }
        if headers.contains_key(ORIGIN) {
            return Err(Denied(
                "requests from web pages (with an Origin header) are not accepted".to_owned(),
            ));
        }
        if let Some(expected) = &self.secret_digest {
            let given: [u8; 32] = headers
                .get(SECRET_HEADER)
                .map(|v| Sha256::digest(v.as_bytes()).into())
                .ok_or_else(|| Denied(format!("the {SECRET_HEADER} header is missing")))?;
            if !same_digest(&given, expected) {
                return Err(Denied(format!("the {SECRET_HEADER} header is wrong")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use hyper::header::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).expect("header value"));
        }
        map
    }

    fn policy(bound: &str) -> AccessPolicy {
        AccessPolicy::new(bound.parse().expect("address"), &[], None)
    }

    #[test]
    fn a_loopback_server_accepts_loopback_names_on_its_port() {
        let policy = policy("127.0.0.1:8083");
        for host in [
            "127.0.0.1:8083",
            "localhost:8083",
            "LOCALHOST:8083",
            "[::1]:8083",
            "127.0.0.2:8083",
        ] {
            assert_eq!(policy.check(&headers(&[("host", host)])), Ok(()), "{host}");
        }
    }

    #[test]
    fn a_loopback_server_refuses_other_names_ports_and_shapes() {
        let policy = policy("127.0.0.1:8083");
        for host in [
            "evil.example:8083",
            "localhost.evil.example:8083",
            "localhost.:8083",
            "10.0.0.5:8083",
            "127.0.0.1:8084",
            "127.0.0.1",
            "localhost",
            "127.0.0.1:+8083",
            "127.0.0.1:8083:1",
            "[::1]8083",
            "",
            ":8083",
        ] {
            assert!(policy.check(&headers(&[("host", host)])).is_err(), "{host}");
        }
        assert!(policy.check(&HeaderMap::new()).is_err(), "no Host");
    }

    #[test]
    fn without_a_port_the_host_is_accepted_only_on_port_80() {
        assert_eq!(
            policy("127.0.0.1:80").check(&headers(&[("host", "localhost")])),
            Ok(())
        );
    }

    #[test]
    fn a_server_on_one_address_accepts_that_address_and_listed_names_only() {
        let bound = "192.168.1.5:8083".parse().expect("address");
        let policy = AccessPolicy::new(bound, &["Box.LAN".to_owned()], None);
        assert_eq!(
            policy.check(&headers(&[("host", "192.168.1.5:8083")])),
            Ok(())
        );
        assert_eq!(policy.check(&headers(&[("host", "box.lan:8083")])), Ok(()));
        for host in ["localhost:8083", "127.0.0.1:8083", "192.168.1.6:8083"] {
            assert!(policy.check(&headers(&[("host", host)])).is_err(), "{host}");
        }
    }

    #[test]
    fn a_server_on_every_address_accepts_ip_literals_and_localhost_but_not_names() {
        let policy = policy("0.0.0.0:8083");
        for host in ["192.168.1.5:8083", "localhost:8083", "[fe80::1]:8083"] {
            assert_eq!(policy.check(&headers(&[("host", host)])), Ok(()), "{host}");
        }
        assert!(
            policy
                .check(&headers(&[("host", "evil.example:8083")]))
                .is_err()
        );
    }

    #[test]
    fn any_origin_is_refused_even_a_loopback_one() {
        let policy = policy("127.0.0.1:8083");
        for origin in [
            "http://evil.example",
            "http://localhost:3000",
            "http://127.0.0.1:8083",
            "null",
        ] {
            assert!(
                policy
                    .check(&headers(&[("host", "127.0.0.1:8083"), ("origin", origin)]))
                    .is_err(),
                "{origin}"
            );
        }
    }

    #[test]
    fn with_a_secret_only_requests_carrying_it_pass() {
        let bound = "127.0.0.1:8083".parse().expect("address");
        let policy = AccessPolicy::new(bound, &[], Some("s3cret"));
        let host = ("host", "127.0.0.1:8083");
        assert_eq!(
            policy.check(&headers(&[host, (SECRET_HEADER, "s3cret")])),
            Ok(())
        );
        assert!(policy.check(&headers(&[host])).is_err());
        for wrong in ["s3cre", "s3cret ", "S3CRET", ""] {
            assert!(
                policy
                    .check(&headers(&[host, (SECRET_HEADER, wrong)]))
                    .is_err(),
                "{wrong:?}"
            );
        }
    }

    #[test]
    fn the_policy_does_not_print_the_secret() {
        let bound = "127.0.0.1:8083".parse().expect("address");
        let printed = format!("{:?}", AccessPolicy::new(bound, &[], Some("s3cret")));
        assert!(!printed.contains("s3cret"), "{printed}");
    }
}
