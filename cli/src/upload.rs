//! Uploading a recording as the desktop client does, and as S3 events would reveal it: the
//! chunks in a random order, some of them twice (at-least-once delivery, retried uploads), then
//! the manifest with the expected count and each chunk's SHA-256.

use std::path::Path;

use bytes::Bytes;
use meeting_domain::contracts::{ChunkManifest, ManifestChunk};
use meeting_domain::keys::{chunk_key, manifest_key};
use meeting_domain::ports::ObjectStore;
use meeting_domain::{ChunkIndex, RecordingId, UserId};
use rand::seq::SliceRandom;
use sha2::{Digest, Sha256};

use crate::chunker::Chunks;
use crate::error::CliError;

/// Every how many chunks one is uploaded a second time.
const DUPLICATE_EVERY: usize = 3;

/// What was uploaded.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadReport {
    /// Chunk files uploaded (distinct).
    pub chunks: usize,
    /// Extra uploads of the same chunk.
    pub duplicates: usize,
    /// Expected chunk count written to the manifest.
    pub expected_chunk_count: u32,
    /// Chunks not uploaded because the recording already holds the same bytes (a rerun of
    /// `process` on an existing recording).
    pub unchanged: usize,
    /// Whether the manifest was written (a rerun leaves an identical one alone).
    pub manifest_written: bool,
}

impl UploadReport {
    /// Objects written, each one an S3 event.
    pub fn objects_written(&self) -> usize {
        self.chunks + self.duplicates + usize::from(self.manifest_written)
    }
}

/// Which chunks to upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Uploads {
    /// Every chunk (a new recording), some twice.
    All,
    /// Only the chunks the recording does not hold yet or holds with other bytes, once each,
    /// and the manifest only when it changed: `process` run again on an existing recording
    /// (a gap filled, a rejected chunk replaced, an interrupted upload finished).
    Changed,
}

fn sha256_file(path: &Path) -> Result<String, CliError> {
    let bytes = std::fs::read(path).map_err(|source| CliError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// Uploads the chunks and then the manifest into `bucket`.
pub async fn upload(
    store: &dyn ObjectStore,
    bucket: &str,
    user: &UserId,
    recording: &RecordingId,
    chunks: &Chunks,
) -> Result<UploadReport, CliError> {
    upload_chunks(store, bucket, user, recording, chunks, Uploads::All).await
}

/// The SHA-256 of the stored object `key`, `None` when there is none.
async fn stored_sha256(
    store: &dyn ObjectStore,
    bucket: &str,
    key: &str,
) -> Result<Option<String>, CliError> {
    match store.get_bytes(bucket, key).await {
        Ok(bytes) => Ok(Some(hex::encode(Sha256::digest(&bytes)))),
        Err(meeting_domain::PortError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Uploads `which` chunks and then the manifest into `bucket`.
pub async fn upload_chunks(
    store: &dyn ObjectStore,
    bucket: &str,
    user: &UserId,
    recording: &RecordingId,
    chunks: &Chunks,
    which: Uploads,
) -> Result<UploadReport, CliError> {
    let mut order: Vec<usize> = Vec::with_capacity(chunks.files.len());
    let mut unchanged = 0;
    for (i, (index, path)) in chunks.files.iter().enumerate() {
        if which == Uploads::Changed {
            let index = ChunkIndex::new(*index).map_err(|e| CliError::Usage(e.to_string()))?;
            let key = chunk_key(user, recording, index);
            if stored_sha256(store, bucket, &key).await? == Some(sha256_file(path)?) {
                unchanged += 1;
                continue;
            }
        }
        order.push(i);
    }
    let mut rng = rand::rng();
    order.shuffle(&mut rng);
    let duplicates: Vec<usize> = match which {
        Uploads::All => order
            .iter()
            .copied()
            .filter(|i| i % DUPLICATE_EVERY == 1)
            .collect(),
        Uploads::Changed => Vec::new(),
    };
    let uploaded = order.len();
    let mut plan = order;
    plan.extend(&duplicates);
    plan.shuffle(&mut rng);
    for i in plan {
        let (index, path) = &chunks.files[i];
        let index = ChunkIndex::new(*index).map_err(|e| CliError::Usage(e.to_string()))?;
        store
            .upload_from(
                bucket,
                &chunk_key(user, recording, index),
                path,
                "video/mp4",
            )
            .await?;
    }
    let (manifest, expected) = match &chunks.manifest {
        Some(given) => {
            let parsed: ChunkManifest = serde_json::from_slice(given).map_err(|e| {
                CliError::Usage(format!("the folder's manifest.json is invalid: {e}"))
            })?;
            (given.clone(), parsed.expected_chunk_count)
        }
        None => {
            let expected = chunks.files.iter().map(|(i, _)| i + 1).max().unwrap_or(0);
            let mut entries = Vec::new();
            for (index, path) in &chunks.files {
                entries.push(ManifestChunk {
                    index: ChunkIndex::new(*index).map_err(|e| CliError::Usage(e.to_string()))?,
                    sha256: Some(sha256_file(path)?),
                    duration_seconds: None,
                });
            }
            let manifest = ChunkManifest {
                expected_chunk_count: expected,
                chunks: entries,
            };
            let body =
                serde_json::to_vec_pretty(&manifest).map_err(|e| CliError::Usage(e.to_string()))?;
            (body, expected)
        }
    };
    let key = manifest_key(user, recording);
    let manifest_written = which == Uploads::All
        || stored_sha256(store, bucket, &key).await?
            != Some(hex::encode(Sha256::digest(&manifest)));
    if manifest_written {
        store
            .put_bytes(bucket, &key, Bytes::from(manifest), "application/json")
            .await?;
    }
    Ok(UploadReport {
        chunks: uploaded,
        duplicates: duplicates.len(),
        expected_chunk_count: expected,
        unchanged,
        manifest_written,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use recorder_local::object_store::DirObjectStore;

    use super::*;

    #[tokio::test]
    async fn given_chunks_when_uploaded_then_each_arrives_at_least_once_and_the_manifest_last() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = Vec::new();
        for index in 0..7u32 {
            let path = dir.path().join(format!("chunk_{index:03}.mp4"));
            std::fs::write(&path, format!("chunk {index}")).unwrap();
            files.push((index, path));
        }
        let chunks = Chunks {
            files,
            manifest: None,
            duration_seconds: None,
            video_dropped: false,
            _work: None,
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let store = DirObjectStore::new(dir.path().join("data")).with_events(tx);
        let (user, recording) = (UserId::new("u").unwrap(), RecordingId::new("r").unwrap());

        let report = upload(&store, "b", &user, &recording, &chunks)
            .await
            .unwrap();

        let mut keys = Vec::new();
        while let Ok(event) = rx.try_recv() {
            keys.push(
                event["detail"]["object"]["key"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        assert_eq!(
            keys.last().map(String::as_str),
            Some("users/u/chunks/r/manifest.json")
        );
        let mut uploads: BTreeMap<String, usize> = BTreeMap::new();
        for key in &keys[..keys.len() - 1] {
            *uploads.entry(key.clone()).or_default() += 1;
        }
        assert_eq!(uploads.len(), 7, "{uploads:?}");
        assert!(uploads.contains_key("users/u/chunks/r/chunk_006.mp4"));
        assert_eq!(keys.len() - 1, 7 + report.duplicates);
        assert!(report.duplicates > 0);
        let manifest: ChunkManifest = serde_json::from_slice(
            &store
                .get_bytes("b", "users/u/chunks/r/manifest.json")
                .await
                .unwrap(),
        )
        .unwrap();
        assert_eq!(manifest.expected_chunk_count, 7);
        assert_eq!(
            manifest.chunks[3].sha256.as_deref(),
            Some(hex::encode(Sha256::digest(b"chunk 3")).as_str())
        );
    }

    #[tokio::test]
    async fn given_a_recording_holding_some_chunks_when_uploaded_again_then_only_new_or_changed_chunks_and_a_changed_manifest_are_written()
     {
        let dir = tempfile::tempdir().unwrap();
        let (user, recording) = (UserId::new("u").unwrap(), RecordingId::new("r").unwrap());
        let mut files = Vec::new();
        for index in [0u32, 2] {
            let path = dir.path().join(format!("chunk_{index:03}.mp4"));
            std::fs::write(&path, format!("chunk {index}")).unwrap();
            files.push((index, path));
        }
        let mut chunks = Chunks {
            files,
            manifest: None,
            duration_seconds: None,
            video_dropped: false,
            _work: None,
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let store = DirObjectStore::new(dir.path().join("data")).with_events(tx);
        upload(&store, "b", &user, &recording, &chunks)
            .await
            .unwrap();
        while rx.try_recv().is_ok() {}
        // The gap is filled and chunk 2 replaced.
        let one = dir.path().join("chunk_001.mp4");
        std::fs::write(&one, "chunk 1").unwrap();
        std::fs::write(&chunks.files[1].1, "chunk 2, re-recorded").unwrap();
        chunks.files.insert(1, (1, one));

        let report = upload_chunks(&store, "b", &user, &recording, &chunks, Uploads::Changed)
            .await
            .unwrap();

        let mut keys = Vec::new();
        while let Ok(event) = rx.try_recv() {
            keys.push(
                event["detail"]["object"]["key"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        keys.sort();
        assert_eq!(
            keys,
            [
                "users/u/chunks/r/chunk_001.mp4",
                "users/u/chunks/r/chunk_002.mp4",
                "users/u/chunks/r/manifest.json"
            ]
        );
        assert_eq!(
            (report.chunks, report.unchanged, report.duplicates),
            (2, 1, 0)
        );
        assert_eq!(report.objects_written(), 3);

        let again = upload_chunks(&store, "b", &user, &recording, &chunks, Uploads::Changed)
            .await
            .unwrap();

        assert_eq!(again.objects_written(), 0, "{again:?}");
        assert!(rx.try_recv().is_err());
    }
}
