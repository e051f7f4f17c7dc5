//! Identifiers that cross trust boundaries: user ids, recording ids and chunk indices.
//!
//! Ids come from S3 keys written by clients, so they are validated on construction and can never
//! hold a path separator, `..` or anything outside `[A-Za-z0-9_-]`.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};

use crate::error::DomainError;

/// Longest accepted user or recording id. DynamoDB keys allow 2 KB; 128 keeps keys, execution
/// names (Step Functions: 80 characters, see [`RecordingRef::execution_name`]) and
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

/// A recording as the system addresses it: ids are chosen by clients, so a recording id is only
/// unique within its user. Every table key, execution name and job name is built from both.
#[derive(
    Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct RecordingRef {
    /// The owner.
    pub user_id: UserId,
    /// The recording, unique within `user_id`.
    pub recording_id: RecordingId,
}

/// `StartExecution.name` limit (Step Functions: 1–80 characters).
const MAX_EXECUTION_NAME: usize = 80;

/// Characters of the recording id kept in execution names, for people reading consoles and logs.
const READABLE_PREFIX: usize = 40;

/// Hex digits of SHA-256 in execution names: 96 bits, so two recordings' names collide with
/// probability about 2^-48 after 2^24 recordings of one deployment.
const NAME_HASH_HEX: usize = 24;

impl RecordingRef {
    /// The recording `recording` of `user`.
    pub fn new(user: UserId, recording: RecordingId) -> Self {
        Self {
            user_id: user,
            recording_id: recording,
        }
    }

    /// The chunk table's partition key: `{userId}/{recordingId}`. Injective, since neither id can
    /// hold a `/`.
    pub fn storage_key(&self) -> String {
        format!("{}/{}", self.user_id, self.recording_id)
    }

    /// Parses [`storage_key`](Self::storage_key).
    pub fn parse_storage_key(key: &str) -> Result<Self, DomainError> {
        let (user, recording) = key.split_once('/').ok_or_else(|| DomainError::InvalidId {
            kind: "recording key",
            reason: "expected {userId}/{recordingId}".to_owned(),
        })?;
        Ok(Self::new(UserId::new(user)?, RecordingId::new(recording)?))
    }

    /// The Step Functions execution name of processing run `run`:
    /// `{recording id, at most 40 characters}-r{run}-{24 hex digits}`, the digits being the
    /// SHA-256 of user, recording and run. Deterministic (it is the idempotency key of the start),
    /// at most 80 characters, and distinct for every (user, recording, run): `abc--r1` run 0 and
    /// `abc` run 1, or the same recording id of two users, get different names.
    pub fn execution_name(&self, run: u32) -> String {
        let digest = Sha256::digest(format!(
            "execution\n{}\n{}\n{run}",
            self.user_id, self.recording_id
        ));
        let hash = hex_prefix(digest.as_slice(), NAME_HASH_HEX);
        let name = format!("{}-r{run}-{hash}", self.recording_id.readable_name_part());
        debug_assert!(name.len() <= MAX_EXECUTION_NAME);
        name
    }

    /// The transcription job name of run `run`: `meeting-` and the execution name (Transcribe:
    /// at most 200 characters of `[0-9a-zA-Z._-]`, unique per account and region).
    pub fn transcription_job_name(&self, run: u32) -> String {
        format!("meeting-{}", self.execution_name(run))
    }

    /// The run whose execution name is `name`, if `name` is one of this recording's names.
    pub fn run_of_execution(&self, name: &str) -> Option<u32> {
        let run = self.recording_id.run_named_by(name)?;
        (self.execution_name(run) == name).then_some(run)
    }
}

impl RecordingId {
    /// The part of this id execution names keep, for people reading consoles and logs.
    fn readable_name_part(&self) -> &str {
        &self.0[..self.0.len().min(READABLE_PREFIX)]
    }

    /// The run stated by `name` when it has the shape of an execution name of a recording with
    /// this id (`{readable part}-r{run}-{24 hex digits}`). Without the user the hash cannot be
    /// checked: two users' recordings with the same id share the shape (see
    /// [`RecordingRef::run_of_execution`] for the exact check).
    pub fn run_named_by(&self, name: &str) -> Option<u32> {
        let rest = name
            .strip_prefix(self.readable_name_part())?
            .strip_prefix("-r")?;
        let (run, hash) = rest.split_once('-')?;
        let shaped = !run.is_empty()
            && run.bytes().all(|b| b.is_ascii_digit())
            && hash.len() == NAME_HASH_HEX
            && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if shaped { run.parse().ok() } else { None }
    }
}

fn hex_prefix(bytes: &[u8], digits: usize) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(digits + 1);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
        if out.len() >= digits {
            break;
        }
    }
    out.truncate(digits);
    out
}

impl fmt::Display for RecordingRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.user_id, self.recording_id)
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

    fn rref(user: &str, recording: &str) -> RecordingRef {
        RecordingRef::new(
            UserId::new(user).unwrap(),
            RecordingId::new(recording).unwrap(),
        )
    }

    #[test]
    fn execution_names_are_stable_short_and_distinct_per_user_recording_and_run() {
        let rec = rref("u1", "rec_1");
        assert_eq!(rec.execution_name(0), rec.execution_name(0));
        assert!(rec.execution_name(0).starts_with("rec_1-r0-"));
        assert_ne!(rec.execution_name(0), rec.execution_name(1));
        assert_ne!(rec.execution_name(0), rref("u2", "rec_1").execution_name(0));
        // The collision of the old `{id}--r{run}` scheme: `abc--r1` run 0 against `abc` run 1.
        assert_ne!(
            rref("u", "abc--r1").execution_name(0),
            rref("u", "abc").execution_name(1)
        );
        let long = rref(&"u".repeat(128), &"a".repeat(128));
        let other = rref(&"u".repeat(128), &format!("{}b", "a".repeat(127)));
        assert!(long.execution_name(u32::MAX).len() <= 80);
        assert_ne!(long.execution_name(0), other.execution_name(0));
        assert!(long.transcription_job_name(u32::MAX).len() <= 200);
    }

    #[test]
    fn a_name_tells_its_run_only_to_its_own_recording() {
        let rec = rref("u1", "rec-r2-x");
        let name = rec.execution_name(7);
        assert_eq!(rec.run_of_execution(&name), Some(7));
        assert_eq!(rref("u2", "rec-r2-x").run_of_execution(&name), None);
        assert_eq!(rec.run_of_execution("rec-r2-x"), None);
    }

    #[test]
    fn storage_keys_round_trip_and_cannot_be_forged_across_users() {
        let rec = rref("alice", "r1");
        assert_eq!(rec.storage_key(), "alice/r1");
        assert_eq!(RecordingRef::parse_storage_key("alice/r1").unwrap(), rec);
        assert!(RecordingRef::parse_storage_key("alice/r1/x").is_err());
        assert!(RecordingRef::parse_storage_key("alice").is_err());
    }

    #[test]
    fn chunk_index_rejects_overflow() {
        assert!(ChunkIndex::new(MAX_CHUNK_INDEX).is_ok());
        assert!(ChunkIndex::new(MAX_CHUNK_INDEX + 1).is_err());
        assert!(serde_json::from_str::<ChunkIndex>("100000").is_err());
    }
}
