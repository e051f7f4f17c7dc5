//! Identifiers that cross trust boundaries: user ids, recording ids and chunk indices.
//!
//! Ids come from S3 keys written by clients, so they are validated on construction and can never
//! hold a path separator, `..` or anything outside `[A-Za-z0-9_-]`.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::DomainError;

/// Longest accepted user or recording id. DynamoDB keys allow 2 KB; 128 keeps keys, execution
/// names (Step Functions: 80 characters incl. run suffix, see [`RecordingId::execution_name`]) and
/// log lines readable.
pub const MAX_ID_LEN: usize = 128;

/// Highest chunk index accepted. 100,000 chunks of 10 s are more than 11 days of audio, far beyond
/// Transcribe's 4 h per file; anything larger is a hostile or broken client.
pub const MAX_CHUNK_INDEX: u32 = 99_999;

fn validate_id(kind: &'static str, value: &str) -> Result<(), DomainError> {
    if value.is_empty() || value.len() > MAX_ID_LEN {
        return Err(DomainError::InvalidId {
            kind,
            reason: format!("length {} is outside 1..={MAX_ID_LEN}", value.len()),
        });
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(DomainError::InvalidId {
            kind,
            reason: format!("character {bad:?} is not in [A-Za-z0-9_-]"),
        });
    }
    Ok(())
}

macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident, $kind:literal) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, JsonSchema)]
        #[serde(transparent)]
        #[schemars(transparent)]
        pub struct $name(
            #[schemars(regex(pattern = r"^[A-Za-z0-9_-]{1,128}$"))] String,
        );

        impl $name {
            /// Validates and wraps an id.
            pub fn new(value: impl Into<String>) -> Result<Self, DomainError> {
                let value = value.into();
                validate_id($kind, &value)?;
                Ok(Self(value))
            }

            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(deserializer)?;
                Self::new(raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

string_id!(
    /// The user who owns a recording (first path segment after `users/`).
    UserId,
    "user id"
);
string_id!(
    /// One recording session of one user.
    RecordingId,
    "recording id"
);

impl RecordingId {
    /// Step Functions execution name for this recording: the id itself for the first run, and
    /// `{id}--r{run}` for deliberate reprocessing runs. Execution names are limited to 80
    /// characters (Step Functions `StartExecution.name`), so long ids are shortened to a prefix plus
    /// a stable hash, which keeps the name deterministic (the idempotency key) and unique.
    pub fn execution_name(&self, run: u32) -> String {
        /// `StartExecution` name limit.
        const MAX_EXECUTION_NAME: usize = 80;
        let suffix = if run == 0 {
            String::new()
        } else {
            format!("--r{run}")
        };
        let full = format!("{}{suffix}", self.0);
        if full.len() <= MAX_EXECUTION_NAME {
            return full;
        }
        // FNV-1a 64: stable across builds and platforms, unlike std's SipHash with random keys.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in self.0.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        let tail = format!("-{hash:016x}{suffix}");
        let keep = MAX_EXECUTION_NAME - tail.len();
        format!("{}{tail}", &self.0[..keep])
    }
}

/// Zero-based position of a chunk in its recording.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Debug)]
#[serde(try_from = "u32", into = "u32")]
pub struct ChunkIndex(u32);

impl JsonSchema for ChunkIndex {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ChunkIndex".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Zero-based chunk index.",
            "type": "integer",
            "minimum": 0,
            "maximum": MAX_CHUNK_INDEX,
        })
    }
}

impl ChunkIndex {
    /// Validates and wraps an index.
    pub fn new(value: u32) -> Result<Self, DomainError> {
        if value > MAX_CHUNK_INDEX {
            return Err(DomainError::ChunkIndexOverflow {
                value: u64::from(value),
            });
        }
        Ok(Self(value))
    }

    /// The index as a number.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for ChunkIndex {
    type Error = DomainError;
    fn try_from(value: u32) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<ChunkIndex> for u32 {
    fn from(value: ChunkIndex) -> Self {
        value.0
    }
}

impl fmt::Display for ChunkIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_the_documented_alphabet_only() {
        assert!(UserId::new("user_123-A").is_ok());
        for bad in ["", "a/b", "..", "a b", "é", &"x".repeat(129)] {
            assert!(UserId::new(bad).is_err(), "{bad:?} must be rejected");
        }
    }

    #[test]
    fn ids_deserialize_through_validation() {
        assert!(serde_json::from_str::<RecordingId>("\"rec_1\"").is_ok());
        assert!(serde_json::from_str::<RecordingId>("\"../etc\"").is_err());
    }

    #[test]
    fn execution_names_are_stable_short_and_distinct_per_run() {
        let id = RecordingId::new("rec_1").unwrap();
        assert_eq!(id.execution_name(0), "rec_1");
        assert_eq!(id.execution_name(2), "rec_1--r2");
        let long = RecordingId::new("a".repeat(128)).unwrap();
        let other = RecordingId::new(format!("{}b", "a".repeat(127))).unwrap();
        assert!(long.execution_name(0).len() <= 80);
        assert!(long.execution_name(12).len() <= 80);
        assert_eq!(long.execution_name(0), long.execution_name(0));
        assert_ne!(long.execution_name(0), other.execution_name(0));
        assert_ne!(long.execution_name(0), long.execution_name(1));
    }

    #[test]
    fn chunk_index_rejects_overflow() {
        assert!(ChunkIndex::new(MAX_CHUNK_INDEX).is_ok());
        assert!(ChunkIndex::new(MAX_CHUNK_INDEX + 1).is_err());
        assert!(serde_json::from_str::<ChunkIndex>("100000").is_err());
    }
}
