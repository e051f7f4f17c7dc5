//! The S3 key grammar of recordings, rendered and parsed in one place.
//!
//! ```text
//! users/{userId}/chunks/{recordingId}/chunk_{index}.mp4     index: canonical `{:03}` (≥ 3 digits)
//! users/{userId}/chunks/{recordingId}/manifest.json         the end marker (a ChunkManifest)
//! users/{userId}/processed/{recordingId}/{file}             outputs (see `contracts::output_files`)
//! ```
//!
//! Keys arrive from clients through S3 event notifications, which form-encode them (`a b` →
//! `a+b`), so [`parse_event_key`] decodes first and then applies [`parse_key`]. The parser is a
//! bijection with the renderers: every accepted key is exactly what [`chunk_key`] or
//! [`manifest_key`] renders for its parts, so `chunk_1.mp4`, `chunk_0001.mp4` and `chunk_001.mp4`
//! can never name the same chunk twice. Anything else is rejected with a typed [`KeyRejection`].

use std::fmt;

use crate::ids::{ChunkIndex, MAX_CHUNK_INDEX, RecordingId, UserId};

/// Longest S3 object key, bytes (S3 limit: 1,024 bytes of UTF-8).
pub const MAX_KEY_BYTES: usize = 1024;

/// Digits of the canonical chunk index (`chunk_000.mp4` … `chunk_999.mp4`, then `chunk_1000.mp4`).
pub const INDEX_MIN_DIGITS: usize = 3;

/// File name of the manifest (end marker) of a recording.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Why a key is not one of ours. [`KeyRejection::code`] is a stable name for logs and metrics.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyRejection {
    /// A `%` not followed by two hex digits, or escapes that decode to invalid UTF-8.
    #[error("the key is not valid form/percent encoding")]
    BadPercentEncoding,
    /// Longer than S3 allows.
    #[error("the key is longer than {MAX_KEY_BYTES} bytes")]
    TooLong,
    /// A `.` or `..` segment.
    #[error("the key contains a `.` or `..` segment")]
    Traversal,
    /// `//`, a leading or a trailing `/`.
    #[error("the key contains an empty segment")]
    EmptySegment,
    /// Not `users/{userId}/chunks/{recordingId}/{file}`.
    #[error("the key is not under users/{{userId}}/chunks/{{recordingId}}/")]
    WrongPrefix,
    /// A file that is neither `*.mp4` nor `manifest.json`.
    #[error("the file is neither a .mp4 chunk nor manifest.json")]
    BadExtension,
    /// A `.mp4` file not named `chunk_{digits}.mp4`.
    #[error("the file name is not chunk_{{index}}.mp4")]
    BadFileName,
    /// The user id segment breaks the id rules.
    #[error("bad user id: {0}")]
    BadUserId(String),
    /// The recording id segment breaks the id rules.
    #[error("bad recording id: {0}")]
    BadRecordingId(String),
    /// The index is above [`MAX_CHUNK_INDEX`].
    #[error("the chunk index is above {MAX_CHUNK_INDEX}")]
    IndexOverflow,
    /// The index is not written in its canonical zero-padded form (`chunk_1`, `chunk_0001`).
    #[error("the chunk index is not in canonical form (at least 3 digits, no extra leading zero)")]
    NonCanonicalIndex,
}

impl KeyRejection {
    /// Stable reason code for logs and metric dimensions.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadPercentEncoding => "bad_percent_encoding",
            Self::TooLong => "too_long",
            Self::Traversal => "traversal",
            Self::EmptySegment => "empty_segment",
            Self::WrongPrefix => "wrong_prefix",
            Self::BadExtension => "bad_extension",
            Self::BadFileName => "bad_file_name",
            Self::BadUserId(_) => "bad_user_id",
            Self::BadRecordingId(_) => "bad_recording_id",
            Self::IndexOverflow => "index_overflow",
            Self::NonCanonicalIndex => "non_canonical_index",
        }
    }
}

/// A chunk object: who, which recording, which index.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ChunkKey {
    /// Owner.
    pub user: UserId,
    /// Recording.
    pub recording: RecordingId,
    /// Position.
    pub index: ChunkIndex,
}

/// A manifest object.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ManifestKey {
    /// Owner.
    pub user: UserId,
    /// Recording.
    pub recording: RecordingId,
}

/// An accepted recording key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RecordingKey {
    /// `chunk_{index}.mp4`.
    Chunk(ChunkKey),
    /// `manifest.json`.
    Manifest(ManifestKey),
}

impl RecordingKey {
    /// The owner.
    pub fn user(&self) -> &UserId {
        match self {
            Self::Chunk(c) => &c.user,
            Self::Manifest(m) => &m.user,
        }
    }

    /// The recording.
    pub fn recording(&self) -> &RecordingId {
        match self {
            Self::Chunk(c) => &c.recording,
            Self::Manifest(m) => &m.recording,
        }
    }
}

impl fmt::Display for RecordingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Chunk(c) => f.write_str(&chunk_key(&c.user, &c.recording, c.index)),
            Self::Manifest(m) => f.write_str(&manifest_key(&m.user, &m.recording)),
        }
    }
}

/// `users/{user}/chunks/{recording}/`: where the chunks and the manifest of a recording live.
pub fn chunk_prefix(user: &UserId, recording: &RecordingId) -> String {
    format!("users/{user}/chunks/{recording}/")
}

/// The key of a chunk, with the canonical `{:03}` index.
pub fn chunk_key(user: &UserId, recording: &RecordingId, index: ChunkIndex) -> String {
    format!(
        "users/{user}/chunks/{recording}/chunk_{:03}.mp4",
        index.get()
    )
}

/// The key of a recording's manifest.
pub fn manifest_key(user: &UserId, recording: &RecordingId) -> String {
    format!("users/{user}/chunks/{recording}/{MANIFEST_FILE}")
}

/// The key of an output file (one of `contracts::output_files`).
pub fn processed_key(user: &UserId, recording: &RecordingId, file: &str) -> String {
    format!(
        "{}{file}",
        crate::contracts::processed_prefix(user, recording)
    )
}

/// Decodes a key as S3 event notifications carry it (`+` is a space, `%XX` escapes) strictly:
/// a malformed escape or invalid UTF-8 is rejected instead of passed through.
pub fn decode_event_key(raw: &str) -> Result<String, KeyRejection> {
    // Every byte decodes to at most one byte, so a raw key 3x the limit is already too long
    // after decoding; rejecting it early bounds the work on hostile input.
    if raw.len() > 3 * MAX_KEY_BYTES {
        return Err(KeyRejection::TooLong);
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hi = bytes.get(i + 1).and_then(|b| hex_value(*b));
                let lo = bytes.get(i + 2).and_then(|b| hex_value(*b));
                match (hi, lo) {
                    (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                    _ => return Err(KeyRejection::BadPercentEncoding),
                }
                i += 3;
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| KeyRejection::BadPercentEncoding)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Parses a key taken from an S3 event notification (form-encoded).
pub fn parse_event_key(raw: &str) -> Result<RecordingKey, KeyRejection> {
    parse_key(&decode_event_key(raw)?)
}

/// Parses a decoded S3 key.
pub fn parse_key(key: &str) -> Result<RecordingKey, KeyRejection> {
    if key.len() > MAX_KEY_BYTES {
        return Err(KeyRejection::TooLong);
    }
    let segments: Vec<&str> = key.split('/').collect();
    if segments.iter().any(|s| *s == "." || *s == "..") {
        return Err(KeyRejection::Traversal);
    }
    if segments.iter().any(|s| s.is_empty()) {
        return Err(KeyRejection::EmptySegment);
    }
    let [users, user, chunks, recording, file] = segments.as_slice() else {
        return Err(KeyRejection::WrongPrefix);
    };
    if *users != "users" || *chunks != "chunks" {
        return Err(KeyRejection::WrongPrefix);
    }
    let user = UserId::new(*user).map_err(|e| KeyRejection::BadUserId(e.to_string()))?;
    let recording =
        RecordingId::new(*recording).map_err(|e| KeyRejection::BadRecordingId(e.to_string()))?;
    if *file == MANIFEST_FILE {
        return Ok(RecordingKey::Manifest(ManifestKey { user, recording }));
    }
    let Some(stem) = file.strip_suffix(".mp4") else {
        return Err(KeyRejection::BadExtension);
    };
    let Some(digits) = stem.strip_prefix("chunk_") else {
        return Err(KeyRejection::BadFileName);
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(KeyRejection::BadFileName);
    }
    if digits.len() < INDEX_MIN_DIGITS
        || (digits.len() > INDEX_MIN_DIGITS && digits.starts_with('0'))
    {
        return Err(KeyRejection::NonCanonicalIndex);
    }
    // MAX_CHUNK_INDEX has 5 digits; anything longer overflows without parsing a huge number.
    let value: u32 = if digits.len() > 9 {
        return Err(KeyRejection::IndexOverflow);
    } else {
        digits.parse().map_err(|_| KeyRejection::IndexOverflow)?
    };
    let index = ChunkIndex::new(value).map_err(|_| KeyRejection::IndexOverflow)?;
    Ok(RecordingKey::Chunk(ChunkKey {
        user,
        recording,
        index,
    }))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn ids() -> (UserId, RecordingId) {
        (
            UserId::new("user_1").unwrap(),
            RecordingId::new("rec-9").unwrap(),
        )
    }

    #[test]
    fn a_canonical_chunk_key_parses_into_its_parts() {
        let parsed = parse_key("users/user_1/chunks/rec-9/chunk_002.mp4").unwrap();
        let (user, recording) = ids();
        assert_eq!(
            parsed,
            RecordingKey::Chunk(ChunkKey {
                user,
                recording,
                index: ChunkIndex::new(2).unwrap()
            })
        );
    }

    #[test]
    fn indices_above_999_use_more_digits() {
        let (u, r) = ids();
        let key = chunk_key(&u, &r, ChunkIndex::new(1234).unwrap());
        assert!(key.ends_with("chunk_1234.mp4"));
        assert!(matches!(parse_key(&key), Ok(RecordingKey::Chunk(c)) if c.index.get() == 1234));
    }

    #[test]
    fn the_manifest_key_parses() {
        let parsed = parse_key("users/user_1/chunks/rec-9/manifest.json").unwrap();
        assert!(matches!(parsed, RecordingKey::Manifest(_)));
    }

    #[test]
    fn event_keys_are_form_decoded_before_parsing() {
        // `%5F` is `_`: an encoded but valid key is accepted.
        let parsed = parse_event_key("users/user%5F1/chunks/rec-9/chunk_000.mp4").unwrap();
        assert_eq!(parsed.user().as_str(), "user_1");
        // `+` is a space, which no id may contain.
        assert!(matches!(
            parse_event_key("users/user+1/chunks/rec-9/chunk_000.mp4"),
            Err(KeyRejection::BadUserId(_))
        ));
        // An encoded slash becomes a real separator, and `%2E%2E` a traversal.
        assert_eq!(
            parse_event_key("users/u/chunks/%2E%2E/chunk_000.mp4"),
            Err(KeyRejection::Traversal)
        );
    }

    #[test]
    fn hostile_and_malformed_keys_are_rejected_with_their_reason() {
        use KeyRejection::*;
        let cases: &[(&str, KeyRejection)] = &[
            ("users/u/chunks/../chunk_000.mp4", Traversal),
            ("users/u/chunks/r/./chunk_000.mp4", Traversal),
            ("users//chunks/r/chunk_000.mp4", EmptySegment),
            ("/users/u/chunks/r/chunk_000.mp4", EmptySegment),
            ("users/u/chunks/r/", EmptySegment),
            ("user/u/chunks/r/chunk_000.mp4", WrongPrefix),
            ("users/u/processed/r/chunk_000.mp4", WrongPrefix),
            ("users/u/chunks/r/x/chunk_000.mp4", WrongPrefix),
            ("users/u/chunks/r/chunk_000.mov", BadExtension),
            ("users/u/chunks/r/chunk_000.MP4", BadExtension),
            ("users/u/chunks/r/movie.mp4", BadFileName),
            ("users/u/chunks/r/chunk_.mp4", BadFileName),
            ("users/u/chunks/r/chunk_-01.mp4", BadFileName),
            ("users/u/chunks/r/chunk_1.mp4", NonCanonicalIndex),
            ("users/u/chunks/r/chunk_02.mp4", NonCanonicalIndex),
            ("users/u/chunks/r/chunk_0002.mp4", NonCanonicalIndex),
            ("users/u/chunks/r/chunk_100000.mp4", IndexOverflow),
            (
                "users/u/chunks/r/chunk_99999999999999999999.mp4",
                IndexOverflow,
            ),
        ];
        for (key, reason) in cases {
            assert_eq!(parse_key(key).as_ref(), Err(reason), "{key}");
        }
        assert!(matches!(
            parse_key("users/u$/chunks/r/chunk_000.mp4"),
            Err(BadUserId(_))
        ));
        assert!(matches!(
            parse_key("users/u/chunks/r\\x/chunk_000.mp4"),
            Err(BadRecordingId(_))
        ));
        assert_eq!(parse_event_key("users/u%zz"), Err(BadPercentEncoding));
        assert_eq!(parse_event_key("users/u%2"), Err(BadPercentEncoding));
        assert_eq!(parse_event_key("users/%ff/x"), Err(BadPercentEncoding));
        assert_eq!(parse_key(&"a".repeat(MAX_KEY_BYTES + 1)), Err(TooLong));
    }

    #[test]
    fn processed_keys_live_under_the_processed_prefix() {
        let (u, r) = ids();
        assert_eq!(
            processed_key(&u, &r, "summary.json"),
            "users/user_1/processed/rec-9/summary.json"
        );
    }

    fn id_strategy() -> impl Strategy<Value = String> {
        "[A-Za-z0-9_-]{1,128}"
    }

    proptest! {
        #[test]
        fn rendered_chunk_keys_parse_back(user in id_strategy(), rec in id_strategy(), index in 0..=MAX_CHUNK_INDEX) {
            let (user, rec) = (UserId::new(user).unwrap(), RecordingId::new(rec).unwrap());
            let index = ChunkIndex::new(index).unwrap();
            let key = chunk_key(&user, &rec, index);
            let expected = RecordingKey::Chunk(ChunkKey { user, recording: rec, index });
            prop_assert_eq!(parse_key(&key), Ok(expected.clone()));
            prop_assert_eq!(parse_event_key(&key), Ok(expected));
        }

        #[test]
        fn rendered_manifest_keys_parse_back(user in id_strategy(), rec in id_strategy()) {
            let (user, rec) = (UserId::new(user).unwrap(), RecordingId::new(rec).unwrap());
            let key = manifest_key(&user, &rec);
            prop_assert_eq!(parse_key(&key), Ok(RecordingKey::Manifest(ManifestKey { user, recording: rec })));
        }

        #[test]
        fn every_accepted_key_is_its_own_rendering(
            key in "users/[A-Za-z0-9_.-]{0,4}/chunks/[A-Za-z0-9_.-]{0,4}/(chunk_[0-9]{0,7}\\.mp4|manifest\\.json|[a-z_.]{0,8})"
        ) {
            if let Ok(parsed) = parse_key(&key) {
                prop_assert_eq!(parsed.to_string(), key);
            }
        }

        #[test]
        fn the_parser_never_panics(raw in ".{0,300}") {
            let _ = parse_event_key(&raw);
        }
    }
}
