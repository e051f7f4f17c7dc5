//! Chunk checksums from the recording's manifest, verified where it scales: while the media
//! stage downloads the chunks it needs anyway, instead of in the completion Lambda (which would
//! read every chunk a second time within its 30 s).
//!
//! - [`expected_digests`] reads `manifest.json` (only when the task names it) and returns the
//!   SHA-256 each listed chunk must have;
//! - [`download_verified`] streams one chunk into its file in ranged pieces, hashing each piece on
//!   the way, so memory stays bounded and the object is read once.

use std::collections::BTreeMap;
use std::path::Path;

use meeting_domain::PortError;
use meeting_domain::contracts::{ChunkManifest, MAX_MANIFEST_BYTES, PrepareMediaInput};
use meeting_domain::keys::manifest_key;
use meeting_domain::ports::ObjectStore;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::error::MediaActivityError;

/// Bytes fetched per ranged read while a chunk is verified. The S3 performance guidelines
/// recommend byte-range requests of 8 MB or 16 MB; a 100 MB chunk is 13 requests, and a task
/// holds at most `chunk_concurrency` pieces in memory.
pub const VERIFY_PIECE_BYTES: u64 = 8 * 1024 * 1024;

/// The SHA-256 (lower-case hex) each chunk listed with a digest in the task's manifest must
/// have, by index. Empty, and nothing is read, when the task names no manifest.
pub async fn expected_digests(
    store: &dyn ObjectStore,
    input: &PrepareMediaInput,
) -> Result<BTreeMap<u32, String>, MediaActivityError> {
    let Some(key) = input.manifest_key.as_deref() else {
        return Ok(BTreeMap::new());
    };
    let invalid = |reason: String| MediaActivityError::ManifestInvalid {
        key: key.to_owned(),
        reason,
    };
    // The key comes from the execution input; never read another recording's object.
    let own = manifest_key(&input.user_id, &input.recording_id);
    if key != own {
        return Err(invalid(format!(
            "it is not this recording's manifest ({own})"
        )));
    }
    let bytes = match store
        .get_range(&input.bucket, key, 0, MAX_MANIFEST_BYTES + 1)
        .await
    {
        Ok(bytes) => bytes,
        Err(PortError::NotFound { .. }) => {
            return Err(invalid("there is no object at this key".to_owned()));
        }
        Err(source) => {
            return Err(MediaActivityError::Storage {
                action: format!("reading the manifest {key}"),
                source,
            });
        }
    };
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(invalid(format!(
            "it is larger than the {MAX_MANIFEST_BYTES}-byte limit"
        )));
    }
    let manifest: ChunkManifest = serde_json::from_slice(&bytes).map_err(|e| {
        invalid(format!(
            "it does not match the manifest schema ({:?} error at line {}, column {})",
            e.classify(),
            e.line(),
            e.column()
        ))
    })?;
    let mut digests = BTreeMap::new();
    for chunk in &manifest.chunks {
        let Some(sha256) = &chunk.sha256 else {
            continue;
        };
        let index = chunk.index.get();
        let sha256 = sha256.to_ascii_lowercase();
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid(format!(
                "the sha256 of chunk {index} is not 64 hex digits"
            )));
        }
        if let Some(previous) = digests.insert(index, sha256.clone())
            && previous != sha256
        {
            return Err(invalid(format!(
                "chunk {index} is listed twice with different sha256"
            )));
        }
    }
    Ok(digests)
}

/// Streams `bucket/key` (`size` bytes, from HEAD) into `path` in ranged pieces, hashing each
/// piece as it is written, and checks the digest against `expected`. The file is removed on any
/// failure. `NotFound` when the object disappeared.
pub async fn download_verified(
    store: &dyn ObjectStore,
    bucket: &str,
    key: &str,
    size: u64,
    path: &Path,
    expected: &str,
    index: u32,
) -> Result<(), MediaActivityError> {
    let result = stream_hashed(store, bucket, key, size, path, index).await;
    let outcome = match result {
        Ok(actual) if actual == expected => Ok(()),
        Ok(actual) => Err(MediaActivityError::ChecksumMismatch {
            index,
            key: key.to_owned(),
            expected: expected.to_owned(),
            actual,
        }),
        Err(e) => Err(e),
    };
    if outcome.is_err() {
        let _ = tokio::fs::remove_file(path).await;
    }
    outcome
}

async fn stream_hashed(
    store: &dyn ObjectStore,
    bucket: &str,
    key: &str,
    size: u64,
    path: &Path,
    index: u32,
) -> Result<String, MediaActivityError> {
    let io = |action: &str, source| MediaActivityError::Io {
        action: format!("{action} {}", path.display()),
        source,
    };
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(|e| io("creating", e))?;
    let mut hasher = Sha256::new();
    let mut offset = 0;
    while offset < size {
        let piece = store
            .get_range(bucket, key, offset, VERIFY_PIECE_BYTES.min(size - offset))
            .await
            .map_err(|source| MediaActivityError::Storage {
                action: format!("downloading chunk {index}"),
                source,
            })?;
        if piece.is_empty() {
            // The object is shorter than HEAD said (replaced meanwhile): the digest decides.
            break;
        }
        hasher.update(&piece);
        file.write_all(&piece).await.map_err(|e| io("writing", e))?;
        offset += piece.len() as u64;
    }
    file.flush().await.map_err(|e| io("writing", e))?;
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use recorder_testkit::memory::object_store::MemoryObjectStore;

    const KEY: &str = "users/u/chunks/r/chunk_000.mp4";

    /// An object spanning several pieces, whose last piece is short.
    async fn large_object(store: &MemoryObjectStore) -> Vec<u8> {
        let len = usize::try_from(2 * VERIFY_PIECE_BYTES + 3).expect("fits");
        let body: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        store
            .put_bytes("b", KEY, Bytes::from(body.clone()), "video/mp4")
            .await
            .expect("stored");
        body
    }

    #[tokio::test]
    async fn given_an_object_of_several_pieces_when_verified_then_the_file_has_every_byte() {
        let store = MemoryObjectStore::new();
        let body = large_object(&store).await;
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("chunk");
        let expected = hex::encode(Sha256::digest(&body));

        download_verified(&store, "b", KEY, body.len() as u64, &path, &expected, 0)
            .await
            .expect("the digest matches");

        assert_eq!(std::fs::read(&path).expect("file"), body);
    }

    #[tokio::test]
    async fn given_a_wrong_digest_when_verified_then_the_file_is_removed_and_both_digests_named() {
        let store = MemoryObjectStore::new();
        let body = large_object(&store).await;
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("chunk");
        let wrong = "a".repeat(64);

        let error = download_verified(&store, "b", KEY, body.len() as u64, &path, &wrong, 7)
            .await
            .expect_err("mismatch");

        let MediaActivityError::ChecksumMismatch {
            index,
            expected,
            actual,
            ..
        } = error
        else {
            panic!("{error:?}");
        };
        assert_eq!((index, expected), (7, wrong));
        assert_eq!(actual, hex::encode(Sha256::digest(&body)));
        assert!(!path.exists(), "the partial file is removed");
    }
}
