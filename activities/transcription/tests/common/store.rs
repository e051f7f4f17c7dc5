//! A minimal in-memory [`ObjectStore`] for these tests (keys in order, whole-object semantics).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;
use meeting_domain::error::PortError;
use meeting_domain::ports::{ObjectMeta, ObjectStore};

#[derive(Debug, Default)]
pub struct MemoryStore {
    objects: Mutex<BTreeMap<(String, String), (Bytes, String)>>,
}

impl MemoryStore {
    pub fn object(&self, bucket: &str, key: &str) -> Option<Bytes> {
        self.objects
            .lock()
            .unwrap()
            .get(&(bucket.to_owned(), key.to_owned()))
            .map(|(b, _)| b.clone())
    }

    pub fn content_type(&self, bucket: &str, key: &str) -> Option<String> {
        self.objects
            .lock()
            .unwrap()
            .get(&(bucket.to_owned(), key.to_owned()))
            .map(|(_, c)| c.clone())
    }

    pub fn keys(&self) -> Vec<String> {
        self.objects
            .lock()
            .unwrap()
            .keys()
            .map(|(_, k)| k.clone())
            .collect()
    }

    fn meta(key: &str, body: &Bytes) -> ObjectMeta {
        ObjectMeta {
            key: key.to_owned(),
            size: body.len() as u64,
            etag: format!("{:x}", body.len()),
            sha256: None,
        }
    }

    fn get(&self, bucket: &str, key: &str) -> Result<Bytes, PortError> {
        self.object(bucket, key).ok_or_else(|| PortError::NotFound {
            what: format!("{bucket}/{key}"),
        })
    }
}

#[async_trait]
impl ObjectStore for MemoryStore {
    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectMeta>, PortError> {
        Ok(self.object(bucket, key).map(|b| Self::meta(key, &b)))
    }

    async fn get_range(
        &self,
        bucket: &str,
        key: &str,
        start: u64,
        len: u64,
    ) -> Result<Bytes, PortError> {
        let body = self.get(bucket, key)?;
        let start = (start as usize).min(body.len());
        let end = (start + len as usize).min(body.len());
        Ok(body.slice(start..end))
    }

    async fn get_bytes(&self, bucket: &str, key: &str) -> Result<Bytes, PortError> {
        self.get(bucket, key)
    }

    async fn download_to(&self, bucket: &str, key: &str, path: &Path) -> Result<u64, PortError> {
        let body = self.get(bucket, key)?;
        std::fs::write(path, &body).map_err(|e| PortError::Unavailable {
            service: "memory",
            source: Box::new(e),
        })?;
        Ok(body.len() as u64)
    }

    async fn upload_from(
        &self,
        bucket: &str,
        key: &str,
        path: &Path,
        content_type: &str,
    ) -> Result<ObjectMeta, PortError> {
        let body = Bytes::from(std::fs::read(path).map_err(|e| PortError::Unavailable {
            service: "memory",
            source: Box::new(e),
        })?);
        self.put_bytes(bucket, key, body, content_type).await
    }

    async fn put_bytes(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        content_type: &str,
    ) -> Result<ObjectMeta, PortError> {
        let meta = Self::meta(key, &body);
        self.objects.lock().unwrap().insert(
            (bucket.to_owned(), key.to_owned()),
            (body, content_type.to_owned()),
        );
        Ok(meta)
    }

    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectMeta>, PortError> {
        Ok(self
            .objects
            .lock()
            .unwrap()
            .iter()
            .filter(|((b, k), _)| b == bucket && k.starts_with(prefix))
            .map(|((_, k), (body, _))| Self::meta(k, body))
            .collect())
    }
}
