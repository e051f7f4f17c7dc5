//! In-memory [`ObjectStore`]: objects live in a map keyed by bucket and key. Same semantics as the
//! S3 and directory adapters (proven by [`crate::contract::object_store`]): `head` is `None` for a
//! missing object, reads are `NotFound`, writes replace, `list` is in key order. Every object gets
//! a SHA-256 checksum, as if uploaded with `x-amz-checksum-sha256`.
//!
//! Tests can inject failures ([`MemoryObjectStore::fail_next`]) to exercise the callers' handling of
//! transient and permanent storage errors.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;
use meeting_domain::PortError;
use meeting_domain::ports::{ObjectMeta, ObjectStore};
use sha2::{Digest, Sha256};

/// Service name used in the errors of this fake.
const SERVICE: &str = "memory object store";

#[derive(Debug, Clone)]
struct StoredObject {
    body: Bytes,
    etag: String,
    sha256: String,
}

/// Which operation an injected failure applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOp {
    /// `head`.
    Head,
    /// `get_range` and `get_bytes`.
    Get,
    /// `download_to`.
    Download,
    /// `upload_from` and `put_bytes`.
    Put,
    /// `list`.
    List,
}

/// The kind of error an injected failure returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InjectedError {
    /// `PortError::Unavailable` (retryable).
    Unavailable,
    /// `PortError::Throttled` (retryable).
    Throttled,
    /// `PortError::AccessDenied` (not retryable).
    AccessDenied,
}

impl InjectedError {
    fn to_port_error(self) -> PortError {
        let source = "injected by the test".into();
        match self {
            Self::Unavailable => PortError::Unavailable {
                service: SERVICE,
                source,
            },
            Self::Throttled => PortError::Throttled {
                service: SERVICE,
                source,
            },
            Self::AccessDenied => PortError::AccessDenied {
                service: SERVICE,
                source,
            },
        }
    }
}

#[derive(Debug, Default)]
struct State {
    objects: BTreeMap<(String, String), StoredObject>,
    failures: VecDeque<(StoreOp, InjectedError)>,
}

/// An object store in memory.
#[derive(Debug, Default)]
pub struct MemoryObjectStore {
    state: Mutex<State>,
}

impl MemoryObjectStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next call of `op` fail with `error` (failures queue up in order; a call of a
    /// different operation does not consume them).
    pub fn fail_next(&self, op: StoreOp, error: InjectedError) {
        self.lock().failures.push_back((op, error));
    }

    /// Every key stored in `bucket`, in order (for assertions).
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        self.lock()
            .objects
            .keys()
            .filter(|(b, _)| b == bucket)
            .map(|(_, k)| k.clone())
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn injected(&self, op: StoreOp) -> Result<(), PortError> {
        let mut state = self.lock();
        if let Some(pos) = state.failures.iter().position(|(o, _)| *o == op)
            && let Some((_, error)) = state.failures.remove(pos)
        {
            return Err(error.to_port_error());
        }
        Ok(())
    }

    fn object(&self, bucket: &str, key: &str) -> Result<StoredObject, PortError> {
        self.lock()
            .objects
            .get(&(bucket.to_owned(), key.to_owned()))
            .cloned()
            .ok_or_else(|| PortError::NotFound {
                what: format!("object {bucket}/{key}"),
            })
    }

    fn store(&self, bucket: &str, key: &str, body: Bytes) -> ObjectMeta {
        let sha256 = hex::encode(Sha256::digest(&body));
        // S3 single-part ETags are 32 hex digits (MD5); any stable digest of the content will do.
        let etag = sha256[..32].to_owned();
        let object = StoredObject { body, etag, sha256 };
        let meta = meta_of(key, &object);
        self.lock()
            .objects
            .insert((bucket.to_owned(), key.to_owned()), object);
        meta
    }
}

fn meta_of(key: &str, object: &StoredObject) -> ObjectMeta {
    ObjectMeta {
        key: key.to_owned(),
        size: object.body.len() as u64,
        etag: object.etag.clone(),
        sha256: Some(object.sha256.clone()),
    }
}

fn io_error(what: &str, error: &std::io::Error) -> PortError {
    PortError::Rejected {
        service: SERVICE,
        source: format!("{what}: {error}").into(),
    }
}

#[async_trait]
impl ObjectStore for MemoryObjectStore {
    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectMeta>, PortError> {
        self.injected(StoreOp::Head)?;
        Ok(self
            .lock()
            .objects
            .get(&(bucket.to_owned(), key.to_owned()))
            .map(|o| meta_of(key, o)))
    }

    async fn get_range(
        &self,
        bucket: &str,
        key: &str,
        start: u64,
        len: u64,
    ) -> Result<Bytes, PortError> {
        self.injected(StoreOp::Get)?;
        let body = self.object(bucket, key)?.body;
        let size = body.len();
        let from = usize::try_from(start).unwrap_or(usize::MAX).min(size);
        let to = usize::try_from(start.saturating_add(len))
            .unwrap_or(usize::MAX)
            .min(size);
        Ok(body.slice(from..to))
    }

    async fn get_bytes(&self, bucket: &str, key: &str) -> Result<Bytes, PortError> {
        self.injected(StoreOp::Get)?;
        Ok(self.object(bucket, key)?.body)
    }

    async fn download_to(&self, bucket: &str, key: &str, path: &Path) -> Result<u64, PortError> {
        self.injected(StoreOp::Download)?;
        let body = self.object(bucket, key)?.body;
        if let Err(error) = tokio::fs::write(path, &body).await {
            // The port promises no partial file on error; the file may not exist at all.
            let _ = tokio::fs::remove_file(path).await;
            return Err(io_error("writing the download", &error));
        }
        Ok(body.len() as u64)
    }

    async fn upload_from(
        &self,
        bucket: &str,
        key: &str,
        path: &Path,
        _content_type: &str,
    ) -> Result<ObjectMeta, PortError> {
        self.injected(StoreOp::Put)?;
        let body = tokio::fs::read(path)
            .await
            .map_err(|e| io_error("reading the upload", &e))?;
        Ok(self.store(bucket, key, Bytes::from(body)))
    }

    async fn put_bytes(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        _content_type: &str,
    ) -> Result<ObjectMeta, PortError> {
        self.injected(StoreOp::Put)?;
        Ok(self.store(bucket, key, body))
    }

    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectMeta>, PortError> {
        self.injected(StoreOp::List)?;
        Ok(self
            .lock()
            .objects
            .iter()
            .filter(|((b, k), _)| b == bucket && k.starts_with(prefix))
            .map(|((_, k), o)| meta_of(k, o))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_memory_store_passes_the_object_store_contract() {
        let store = MemoryObjectStore::new();
        crate::contract::object_store::run_all(&store, "contract-bucket").await;
    }

    #[tokio::test]
    async fn an_injected_failure_applies_once_to_its_operation_only() {
        // GIVEN a store told to fail the next download
        let store = MemoryObjectStore::new();
        store
            .put_bytes("b", "k", Bytes::from_static(b"x"), "text/plain")
            .await
            .expect("put");
        store.fail_next(StoreOp::Download, InjectedError::Unavailable);
        // WHEN another operation runs first, then two downloads
        assert!(store.head("b", "k").await.expect("head").is_some());
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("k");
        let first = store.download_to("b", "k", &path).await;
        let second = store.download_to("b", "k", &path).await;
        // THEN only the first download failed, retryably
        assert!(first.expect_err("injected").is_retryable());
        assert_eq!(second.expect("second download"), 1);
    }
}
