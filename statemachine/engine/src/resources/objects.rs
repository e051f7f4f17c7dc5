//! The objects a Map's `ItemReader` reads (`arn:aws:states:::s3:getObject` and
//! `…:s3:listObjectsV2`): a small port, and its adapter over a directory laid out as
//! `{root}/{bucket}/{key}` (the local object store keeps its bytes exactly so, under
//! `objects/`; `statemachine run --objects DIR` takes any such folder).

use std::path::{Component, Path, PathBuf};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::StatesError;

/// The error name AWS gives every failure of an ItemReader.
pub const ITEM_READER_FAILED: &str = "States.ItemReaderFailed";

/// One object of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectSummary {
    /// The key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// The ETag, quoted as S3 returns it (MD5 of the bytes for a single-part upload).
    pub etag: String,
    /// Last modification time.
    pub last_modified: DateTime<Utc>,
}

/// Reads objects for ItemReaders.
#[async_trait]
pub trait ObjectReader: Send + Sync {
    /// The bytes of `bucket`/`key`.
    async fn get_object(&self, bucket: &str, key: &str) -> Result<Vec<u8>, StatesError>;
    /// The objects of `bucket` whose key starts with `prefix`, in key order.
    async fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<ObjectSummary>, StatesError>;
}

/// Objects as files under a directory: `{root}/{bucket}/{key}`.
#[derive(Clone, Debug)]
pub struct DirectoryObjects {
    root: PathBuf,
}

impl DirectoryObjects {
    /// Objects under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The file of `bucket`/`key`, refusing names that would leave the root.
    fn path(&self, bucket: &str, key: &str) -> Result<PathBuf, StatesError> {
        let bad = |what: &str| {
            StatesError::new(
                ITEM_READER_FAILED,
                format!("The {what} is not a valid object name."),
            )
        };
        let plain = |name: &str| {
            !name.is_empty()
                && Path::new(name)
                    .components()
                    .all(|c| matches!(c, Component::Normal(_)))
        };
        if !plain(bucket) || bucket.contains('/') || bucket.starts_with('.') {
            return Err(bad("bucket"));
        }
        if !plain(key) {
            return Err(bad("key"));
        }
        Ok(self.root.join(bucket).join(key))
    }
}

fn missing(bucket: &str, key: &str) -> StatesError {
    StatesError::new(
        ITEM_READER_FAILED,
        format!(
            "The specified key does not exist. (Service: S3, Status Code: 404, Error Code: NoSuchKey) Bucket: {bucket}, Key: {key}"
        ),
    )
}

#[async_trait]
impl ObjectReader for DirectoryObjects {
    async fn get_object(&self, bucket: &str, key: &str) -> Result<Vec<u8>, StatesError> {
        let path = self.path(bucket, key)?;
        tokio::fs::read(&path)
            .await
            .map_err(|_| missing(bucket, key))
    }

    async fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<ObjectSummary>, StatesError> {
        let root = self.path(bucket, "x")?.parent().map(Path::to_path_buf);
        let Some(root) = root.filter(|r| r.is_dir()) else {
            return Err(StatesError::new(
                ITEM_READER_FAILED,
                format!(
                    "The specified bucket does not exist. (Service: S3, Status Code: 404, Error Code: NoSuchBucket) Bucket: {bucket}"
                ),
            ));
        };
        let listed = tokio::task::spawn_blocking(move || list_files(&root))
            .await
            .map_err(|e| StatesError::new(ITEM_READER_FAILED, e.to_string()))?;
        let mut objects: Vec<ObjectSummary> = listed
            .into_iter()
            .filter(|o| o.key.starts_with(prefix))
            .collect();
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(objects)
    }
}

/// Every file under `root` (keys joined with `/`), skipping hidden entries (temporary files).
fn list_files(root: &Path) -> Vec<ObjectSummary> {
    use md5::Digest as _;
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let key = format!("{prefix}{name}");
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            if meta.is_dir() {
                stack.push((entry.path(), format!("{key}/")));
            } else if let Ok(bytes) = std::fs::read(entry.path()) {
                out.push(ObjectSummary {
                    key,
                    size: meta.len(),
                    etag: format!("\"{}\"", hex::encode(md5::Md5::digest(&bytes))),
                    last_modified: meta
                        .modified()
                        .map(DateTime::<Utc>::from)
                        .unwrap_or_default(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn given_files_when_listed_then_keys_are_relative_sorted_and_prefixed() {
        let dir = std::env::temp_dir().join(format!("objects-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("b/logs")).expect("dirs");
        std::fs::write(dir.join("b/logs/2.txt"), b"two").expect("write");
        std::fs::write(dir.join("b/logs/1.txt"), b"one").expect("write");
        std::fs::write(dir.join("b/other.txt"), b"x").expect("write");
        std::fs::create_dir_all(dir.join("b/.staging")).expect("dirs");
        std::fs::write(dir.join("b/.staging/tmp"), b"x").expect("write");
        let objects = DirectoryObjects::new(&dir);
        let listed = objects.list_objects("b", "logs/").await.expect("listed");
        let keys: Vec<&str> = listed.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, ["logs/1.txt", "logs/2.txt"]);
        assert_eq!(listed[0].size, 3);
        assert_eq!(listed[0].etag, "\"f97c5d29941bfb1b2fdab0874906ab82\"");
        assert_eq!(
            objects.get_object("b", "logs/2.txt").await.expect("read"),
            b"two"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn given_a_key_that_leaves_the_root_when_read_then_refused() {
        let objects = DirectoryObjects::new("/nonexistent-root");
        let err = objects
            .get_object("b", "../../etc/passwd")
            .await
            .expect_err("refused");
        assert_eq!(err.error, ITEM_READER_FAILED);
        let err = objects
            .get_object("b", "missing")
            .await
            .expect_err("absent");
        assert!(err.cause.contains("NoSuchKey"), "{}", err.cause);
    }
}
