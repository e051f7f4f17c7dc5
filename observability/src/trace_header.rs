//! The X-Ray trace header, as carried by `X-Amzn-Trace-Id`, the Lambda runtime's
//! `Lambda-Runtime-Trace-Id` (`_X_AMZN_TRACE_ID`) and Step Functions' `traceHeader`:
//! `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`.
//!
//! Only `Root`, `Parent` and `Sampled` are interpreted; other keys (`Lineage`, `Self`) are
//! dropped. A header without a valid `Root` is rejected rather than half-propagated.

use std::fmt;
use std::str::FromStr;

use crate::error::ObservabilityError;

/// Hex digits of the random part of a trace id (96 bits, X-Ray's trace id format).
const TRACE_RANDOM_HEX: usize = 24;

/// Hex digits of a segment id (64 bits, X-Ray's segment id format).
pub const SEGMENT_ID_HEX: usize = 16;

/// Longest header accepted: Step Functions limits `traceHeader` to 256 characters.
const MAX_HEADER_LEN: usize = 256;

/// A parsed trace header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceHeader {
    /// The trace id: `1-{8 hex digits of epoch seconds}-{24 hex digits}`.
    pub root: String,
    /// The id of the segment that called us, when known.
    pub parent: Option<String>,
    /// The sampling decision: `Some(true)` for `Sampled=1`, `Some(false)` for `Sampled=0`,
    /// `None` when absent or deferred (`Sampled=?`).
    pub sampled: Option<bool>,
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_trace_id(root: &str) -> bool {
    let mut parts = root.split('-');
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next()),
        (Some("1"), Some(time), Some(random), None)
            if is_hex(time, 8) && is_hex(random, TRACE_RANDOM_HEX)
    )
}

impl TraceHeader {
    /// Parses a header. Whitespace around `;`-separated parts is ignored.
    ///
    /// # Errors
    /// [`ObservabilityError::InvalidTraceHeader`] when it is too long, has no `Root`, or its
    /// `Root` / `Parent` are not X-Ray ids.
    pub fn parse(header: &str) -> Result<Self, ObservabilityError> {
        let invalid = |reason| ObservabilityError::InvalidTraceHeader {
            header: header.chars().take(MAX_HEADER_LEN).collect(),
            reason,
        };
        if header.len() > MAX_HEADER_LEN {
            return Err(invalid("longer than 256 characters"));
        }
        let mut root = None;
        let mut parent = None;
        let mut sampled = None;
        for part in header.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((key, value)) = part.split_once('=') else {
                return Err(invalid("a part is not key=value"));
            };
            match key.trim() {
                "Root" => root = Some(value.trim().to_owned()),
                "Parent" => parent = Some(value.trim().to_owned()),
                "Sampled" => {
                    sampled = match value.trim() {
                        "1" => Some(true),
                        "0" => Some(false),
                        _ => None,
                    };
                }
                _ => {}
            }
        }
        let root = root.ok_or_else(|| invalid("no Root"))?;
        if !is_trace_id(&root) {
            return Err(invalid("Root is not 1-<8 hex>-<24 hex>"));
        }
        if parent
            .as_deref()
            .is_some_and(|p| !is_hex(p, SEGMENT_ID_HEX))
        {
            return Err(invalid("Parent is not 16 hex digits"));
        }
        Ok(Self {
            root,
            parent,
            sampled,
        })
    }

    /// The header of a call made from segment `segment_id` of this trace (same root and
    /// sampling decision, that segment as parent).
    #[must_use]
    pub fn child_of(&self, segment_id: &str) -> Self {
        Self {
            root: self.root.clone(),
            parent: Some(segment_id.to_owned()),
            sampled: self.sampled,
        }
    }

    /// Whether the trace was sampled: only then are segments worth sending.
    pub fn is_sampled(&self) -> bool {
        self.sampled == Some(true)
    }
}

impl FromStr for TraceHeader {
    type Err = ObservabilityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for TraceHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Root={}", self.root)?;
        if let Some(parent) = &self.parent {
            write!(f, ";Parent={parent}")?;
        }
        match self.sampled {
            Some(true) => write!(f, ";Sampled=1"),
            Some(false) => write!(f, ";Sampled=0"),
            None => Ok(()),
        }
    }
}

/// A new random segment id (16 lower-case hex digits, never all zero).
pub fn new_segment_id() -> String {
    let id: u64 = rand::random::<u64>().max(1);
    format!("{id:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

    #[test]
    fn given_a_lambda_trace_header_when_parsed_then_root_parent_and_sampling_are_read() {
        let header = TraceHeader::parse(HEADER).unwrap();
        assert_eq!(header.root, "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(header.parent.as_deref(), Some("53995c3f42cd8ad8"));
        assert!(header.is_sampled());
    }

    #[test]
    fn given_a_parsed_header_when_formatted_then_it_round_trips() {
        assert_eq!(TraceHeader::parse(HEADER).unwrap().to_string(), HEADER);
        let root_only = "Root=1-5759e988-bd862e3fe1be46a994272793";
        assert_eq!(
            TraceHeader::parse(root_only).unwrap().to_string(),
            root_only
        );
    }

    #[test]
    fn given_extra_keys_spaces_and_a_deferred_decision_when_parsed_then_they_are_tolerated() {
        let header = TraceHeader::parse(
            " Root=1-5759e988-bd862e3fe1be46a994272793 ; Sampled=? ;Lineage=a87bd80c:1|68fd508a:5",
        )
        .unwrap();
        assert_eq!(header.parent, None);
        assert_eq!(header.sampled, None);
        assert!(!header.is_sampled());
        let unsampled =
            TraceHeader::parse("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0").unwrap();
        assert_eq!(unsampled.sampled, Some(false));
    }

    #[test]
    fn given_a_header_without_a_valid_root_or_parent_when_parsed_then_it_is_rejected() {
        for bad in [
            "",
            "Parent=53995c3f42cd8ad8;Sampled=1",
            "Root=1-5759e988;Sampled=1",
            "Root=2-5759e988-bd862e3fe1be46a994272793",
            "Root=1-5759e988-bd862e3fe1be46a99427279z",
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=xyz",
            "Root=1-5759e988-bd862e3fe1be46a994272793;garbage",
        ] {
            assert!(TraceHeader::parse(bad).is_err(), "{bad:?} was accepted");
        }
        let long = format!("{HEADER};{}", "x=y;".repeat(80));
        assert!(TraceHeader::parse(&long).is_err());
    }

    #[test]
    fn given_a_header_when_a_child_is_made_then_root_and_sampling_stay_and_the_parent_moves() {
        let header = TraceHeader::parse(HEADER).unwrap();
        let id = new_segment_id();
        let child = header.child_of(&id);
        assert_eq!(child.root, header.root);
        assert_eq!(child.sampled, header.sampled);
        assert_eq!(child.parent.as_deref(), Some(id.as_str()));
        assert!(TraceHeader::parse(&child.to_string()).is_ok());
    }

    #[test]
    fn new_segment_ids_are_sixteen_hex_digits_and_differ() {
        let a = new_segment_id();
        let b = new_segment_id();
        assert!(is_hex(&a, SEGMENT_ID_HEX) && is_hex(&b, SEGMENT_ID_HEX));
        assert_ne!(a, b);
    }
}
