//! An object store on a data directory, with the semantics of the S3 adapter (proven by the same
//! contract suite) and S3's "Object Created" events in the shape EventBridge delivers them.
//!
//! Layout: `{root}/objects/{bucket}/{key}` holds the bytes and `{root}/meta/{bucket}/{key}.json`
//! the metadata (size, ETag = MD5 as S3 computes it for single-part uploads, SHA-256, sequencer).
//! Writes go to a temporary file that is renamed into place, so a reader never sees half an object.

use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use md5::{Digest as _, Md5};
use meeting_domain::PortError;
use meeting_domain::ports::{ObjectMeta, ObjectStore};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Digest as _;
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::sync::mpsc::UnboundedSender;

const SERVICE: &str = "local object store";

/// Read buffer for hashing and copying; large enough to amortise syscalls, small enough that
/// memory stays flat for multi-GB media.
const COPY_BUFFER: usize = 256 * 1024;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredMeta {
    size: u64,
    etag: String,
    sha256: String,
    sequencer: String,
    content_type: String,
    last_modified: String,
}

/// The directory-backed store.
#[derive(Debug)]
pub struct DirObjectStore {
    root: PathBuf,
    events: Option<UnboundedSender<Value>>,
    sequence: AtomicU64,
    region: String,
    account: String,
}

fn io_error(source: std::io::Error) -> PortError {
    PortError::Unavailable {
        service: SERVICE,
        source: Box::new(source),
    }
}

/// Percent-encodes a key as S3 does in event notifications (form encoding: space as `+`).
pub fn encode_event_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for byte in key.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' | b'*' => {
                out.push(char::from(byte));
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

impl DirObjectStore {
    /// A store rooted at `root` (created if needed).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            events: None,
            sequence: AtomicU64::new(0),
            region: "us-east-1".to_owned(),
            account: "123456789012".to_owned(),
        }
    }

    /// Sends an EventBridge-shaped "Object Created" event to `sink` after every write.
    pub fn with_events(mut self, sink: UnboundedSender<Value>) -> Self {
        self.events = Some(sink);
        self
    }

    /// Rejects keys and bucket names that could leave the data directory.
    fn checked(&self, bucket: &str, key: &str) -> Result<(PathBuf, PathBuf), PortError> {
        let bad = |what: &str| PortError::Rejected {
            service: SERVICE,
            source: format!("{what} is not a safe relative path").into(),
        };
        if bucket.is_empty() || bucket.contains('/') || bucket.starts_with('.') {
            return Err(bad("bucket name"));
        }
        let relative = Path::new(key);
        if key.is_empty()
            || key.ends_with('/')
            || relative
                .components()
                .any(|c| !matches!(c, Component::Normal(_)))
        {
            return Err(bad("key"));
        }
        let data = self.root.join("objects").join(bucket).join(relative);
        let meta = self
            .root
            .join("meta")
            .join(bucket)
            .join(format!("{key}.json"));
        Ok((data, meta))
    }

    async fn read_meta(&self, meta_path: &Path) -> Result<Option<StoredMeta>, PortError> {
        match tokio::fs::read(meta_path).await {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| PortError::Corrupt {
                    service: SERVICE,
                    detail: format!("{}: {e}", meta_path.display()),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(e)),
        }
    }

    /// Copies `source` into the object's place, hashing on the way, then writes metadata and emits
    /// the event.
    async fn store(
        &self,
        bucket: &str,
        key: &str,
        mut source: impl tokio::io::AsyncRead + Unpin,
        content_type: &str,
    ) -> Result<ObjectMeta, PortError> {
        let (data_path, meta_path) = self.checked(bucket, key)?;
        for path in [&data_path, &meta_path] {
            if let Some(parent) = path.parent() {
                tokio::fs::create_dir_all(parent).await.map_err(io_error)?;
            }
        }
        let parent = data_path.parent().unwrap_or(&self.root).to_owned();
        let temp = tempfile::NamedTempFile::new_in(&parent).map_err(io_error)?;
        let (std_file, temp_path) = temp.into_parts();
        let mut file = tokio::fs::File::from_std(std_file);
        let (mut md5, mut sha) = (Md5::new(), Sha256::new());
        let mut size = 0u64;
        let mut buffer = vec![0u8; COPY_BUFFER];
        loop {
            let n = source.read(&mut buffer).await.map_err(io_error)?;
            if n == 0 {
                break;
            }
            md5.update(&buffer[..n]);
            sha.update(&buffer[..n]);
            file.write_all(&buffer[..n]).await.map_err(io_error)?;
            size += n as u64;
        }
        file.flush().await.map_err(io_error)?;
        drop(file);
        temp_path
            .persist(&data_path)
            .map_err(|e| io_error(e.error))?;
        let sequence = self.sequence.fetch_add(1, Ordering::SeqCst) + 1;
        let now = chrono::Utc::now();
        let meta = StoredMeta {
            size,
            etag: hex::encode(md5.finalize()),
            sha256: hex::encode(sha.finalize()),
            // Sequencers are hex strings that order events of one key; include the time so a
            // restarted process keeps ordering after earlier runs.
            sequencer: format!(
                "{:016X}{:08X}",
                now.timestamp_micros(),
                sequence % 0x1_0000_0000
            ),
            content_type: content_type.to_owned(),
            last_modified: now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        };
        let meta_json = serde_json::to_vec(&meta).map_err(|e| PortError::Corrupt {
            service: SERVICE,
            detail: e.to_string(),
        })?;
        let meta_temp = meta_path.with_extension("json.tmp");
        tokio::fs::write(&meta_temp, meta_json)
            .await
            .map_err(io_error)?;
        tokio::fs::rename(&meta_temp, &meta_path)
            .await
            .map_err(io_error)?;
        self.emit(bucket, key, &meta);
        Ok(ObjectMeta {
            key: key.to_owned(),
            size: meta.size,
            etag: meta.etag,
            sha256: Some(meta.sha256),
        })
    }

    fn emit(&self, bucket: &str, key: &str, meta: &StoredMeta) {
        let Some(sink) = &self.events else {
            return;
        };
        let event = json!({
            "version": "0",
            "id": format!("local-{}", meta.sequencer),
            "detail-type": "Object Created",
            "source": "aws.s3",
            "account": self.account,
            "time": meta.last_modified,
            "region": self.region,
            "resources": [format!("arn:aws:s3:::{bucket}")],
            "detail": {
                "version": "0",
                "bucket": {"name": bucket},
                "object": {
                    "key": encode_event_key(key),
                    "size": meta.size,
                    "etag": meta.etag,
                    "sequencer": meta.sequencer,
                },
                "request-id": format!("local-{}", meta.sequencer),
                "requester": self.account,
                "source-ip-address": "127.0.0.1",
                "reason": "PutObject",
            }
        });
        // A closed bus means the runtime is shutting down; the object is stored either way and
        // the completion sweep picks it up on the next start.
        let _ = sink.send(event);
    }

    fn meta_of(key: &str, stored: StoredMeta) -> ObjectMeta {
        ObjectMeta {
            key: key.to_owned(),
            size: stored.size,
            etag: stored.etag,
            sha256: Some(stored.sha256),
        }
    }

    async fn open(&self, bucket: &str, key: &str) -> Result<tokio::fs::File, PortError> {
        let (data_path, meta_path) = self.checked(bucket, key)?;
        if self.read_meta(&meta_path).await?.is_none() {
            return Err(PortError::NotFound {
                what: format!("{bucket}/{key}"),
            });
        }
        tokio::fs::File::open(&data_path)
            .await
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => PortError::NotFound {
                    what: format!("{bucket}/{key}"),
                },
                _ => io_error(e),
            })
    }
}

#[async_trait]
impl ObjectStore for DirObjectStore {
    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectMeta>, PortError> {
        let (_, meta_path) = self.checked(bucket, key)?;
        Ok(self
            .read_meta(&meta_path)
            .await?
            .map(|m| Self::meta_of(key, m)))
    }

    async fn get_range(
        &self,
        bucket: &str,
        key: &str,
        start: u64,
        len: u64,
    ) -> Result<Bytes, PortError> {
        let mut file = self.open(bucket, key).await?;
        file.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(io_error)?;
        let mut out = Vec::new();
        file.take(len)
            .read_to_end(&mut out)
            .await
            .map_err(io_error)?;
        Ok(Bytes::from(out))
    }

    async fn get_bytes(&self, bucket: &str, key: &str) -> Result<Bytes, PortError> {
        let mut file = self.open(bucket, key).await?;
        let mut out = Vec::new();
        file.read_to_end(&mut out).await.map_err(io_error)?;
        Ok(Bytes::from(out))
    }

    async fn download_to(&self, bucket: &str, key: &str, path: &Path) -> Result<u64, PortError> {
        let mut source = self.open(bucket, key).await?;
        let result = async {
            let mut target = tokio::fs::File::create(path).await.map_err(io_error)?;
            let copied = tokio::io::copy(&mut source, &mut target)
                .await
                .map_err(io_error)?;
            target.flush().await.map_err(io_error)?;
            Ok(copied)
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(path).await;
        }
        result
    }

    async fn upload_from(
        &self,
        bucket: &str,
        key: &str,
        path: &Path,
        content_type: &str,
    ) -> Result<ObjectMeta, PortError> {
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| PortError::Rejected {
                service: SERVICE,
                source: Box::new(e),
            })?;
        self.store(bucket, key, file, content_type).await
    }

    async fn put_bytes(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        content_type: &str,
    ) -> Result<ObjectMeta, PortError> {
        self.store(bucket, key, std::io::Cursor::new(body), content_type)
            .await
    }

    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectMeta>, PortError> {
        let (_, probe) = self.checked(bucket, "probe")?;
        let meta_root = probe.parent().unwrap_or(&self.root).to_owned();
        let mut out = Vec::new();
        let mut stack = vec![meta_root.clone()];
        while let Some(dir) = stack.pop() {
            let mut entries = match tokio::fs::read_dir(&dir).await {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_error(e)),
            };
            while let Some(entry) = entries.next_entry().await.map_err(io_error)? {
                let path = entry.path();
                if entry.file_type().await.map_err(io_error)?.is_dir() {
                    stack.push(path);
                    continue;
                }
                let Some(relative) = path
                    .strip_prefix(&meta_root)
                    .ok()
                    .and_then(|p| p.to_str())
                    .and_then(|p| p.strip_suffix(".json"))
                else {
                    continue;
                };
                let key = relative.replace(std::path::MAIN_SEPARATOR, "/");
                if key.starts_with(prefix)
                    && let Some(meta) = self.read_meta(&path).await?
                {
                    out.push(Self::meta_of(&key, meta));
                }
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_directory_store_passes_the_object_store_contract() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirObjectStore::new(dir.path());
        recorder_testkit::contract::object_store::run_all(&store, "bucket").await;
    }

    #[tokio::test]
    async fn every_write_emits_one_s3_shaped_event_with_an_encoded_key() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let store = DirObjectStore::new(dir.path()).with_events(tx);
        let meta = store
            .put_bytes(
                "b",
                "users/u/chunks/r/a b.mp4",
                Bytes::from_static(b"1234"),
                "video/mp4",
            )
            .await
            .unwrap();
        let event = rx.try_recv().unwrap();
        assert_eq!(event["detail-type"], "Object Created");
        assert_eq!(event["source"], "aws.s3");
        assert_eq!(event["detail"]["bucket"]["name"], "b");
        assert_eq!(event["detail"]["object"]["key"], "users/u/chunks/r/a+b.mp4");
        assert_eq!(event["detail"]["object"]["size"], 4);
        assert_eq!(event["detail"]["object"]["etag"], meta.etag.as_str());
        assert!(rx.try_recv().is_err(), "exactly one event per write");
    }

    #[tokio::test]
    async fn sequencers_of_later_writes_sort_after_earlier_ones() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let store = DirObjectStore::new(dir.path()).with_events(tx);
        for body in ["one", "two"] {
            store
                .put_bytes("b", "k", Bytes::from(body), "text/plain")
                .await
                .unwrap();
        }
        let first = rx.try_recv().unwrap()["detail"]["object"]["sequencer"].clone();
        let second = rx.try_recv().unwrap()["detail"]["object"]["sequencer"].clone();
        assert!(second.as_str().unwrap() > first.as_str().unwrap());
    }

    #[tokio::test]
    async fn keys_that_escape_the_data_directory_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirObjectStore::new(dir.path());
        for key in ["../x", "a/../../x", "/etc/passwd", "a//b/", ""] {
            let result = store
                .put_bytes("b", key, Bytes::from_static(b"x"), "text/plain")
                .await;
            assert!(result.is_err(), "{key:?} accepted");
        }
        assert!(
            store
                .put_bytes("../b", "k", Bytes::new(), "t")
                .await
                .is_err()
        );
    }
}
