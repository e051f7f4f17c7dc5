//! An object store on a data directory, with the semantics of the S3 adapter (proven by the same
//! contract suite) and S3's "Object Created" events in the shape EventBridge delivers them.
//!
//! # Layout
//!
//! - `objects/{bucket}/{key}`: the bytes, a plain file (the CLI prints these paths for people to
//!   open).
//! - `meta/{bucket}/{key}.json`: the metadata (size, ETag = MD5 as S3 computes it for single-part
//!   uploads, SHA-256, sequencer, content type, time).
//! - `meta/{bucket}/{key}.json.pending`: a commit under way (the new metadata, naming the staged
//!   bytes).
//! - `objects/.staging/`, `meta/.staging/`: files being written, under names unique to their
//!   writer.
//! - `meta/.locks/`: the lock files that order the commits of one key.
//!
//! Bucket names never start with a dot, so none of these folders can be taken for a bucket, and
//! no key can be taken for a temporary file.
//!
//! # Crash safety
//!
//! The bytes and the metadata are two files, and two renames are not atomic together: a writer
//! killed between them, or two writers of one key interleaving them, would leave the metadata of
//! one write beside the bytes of another. So a write goes:
//!
//! 1. The bytes are streamed into a staging file, hashed on the way, and fsynced. This is the long
//!    part and runs alongside any other writer. The staging file is held by an OS lock (`flock`)
//!    for as long as its writer lives.
//! 2. Under the key's lock — an OS lock too, so it also orders writers in other processes
//!    (`recorder serve` and `recorder worker` share a data directory) — the metadata is made (the
//!    sequencer and time are taken now, so sequencers follow the order of the commits), written to
//!    a staging file, fsynced and renamed to `{key}.json.pending`, whose folder is fsynced: **the
//!    commit point**.
//! 3. The staged bytes are renamed onto `objects/{bucket}/{key}`; folder fsynced.
//! 4. The pending metadata is renamed onto `{key}.json`; folder fsynced; the lock is released and
//!    the event sent.
//!
//! A pending file whose key's lock is free is the trace of a writer that died between 2 and 4.
//! Whoever meets it (a read, `head`, `list`, the next write of the key) takes the lock and
//! finishes the write: if the staged bytes are still there they are renamed into place; if not,
//! the object's bytes are hashed and the pending metadata is committed only if they are the bytes
//! it describes (the writer died after step 3), else discarded (its staged bytes were lost; the
//! previous version is intact). The event a finished write's writer never sent is sent then.
//!
//! Readers take no lock on the normal path: they read the metadata and open the bytes, and an open
//! file keeps reading the version it opened even when a writer replaces it. When anything is off —
//! a pending file, bytes missing or not of the size the metadata says (a writer between steps 3
//! and 4, or an object torn by a power cut under earlier versions of this store, which did not
//! fsync) — they try again under the key's lock, where the answer is final: an object whose bytes
//! still do not match is reported absent and logged, never served. Reads of big objects stay
//! cheap: they check the size, and only crash recovery hashes.
//!
//! # Leftovers and earlier versions
//!
//! The first write of each store removes the staging files of dead writers: files whose lock is
//! free and that were not modified for [`STALE_STAGING_AFTER`]. Removing a live writer's file by
//! mistake could only make that write fail, never tear an object.
//!
//! Data directories of earlier versions have the same two files per object and no pending ones:
//! they are read as they are. Their temporary files (`.tmp*` beside the bytes, `*.json.tmp` beside
//! the metadata) lie among the objects, where a key may bear the same name, so they are left
//! alone; they were never listed and still are not.

mod durable;

use std::collections::BTreeSet;
use std::io::{Read as _, Write as _};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

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

use self::durable::{KeyLock, StagedFile, create_dirs_durably, parent_of, sync_parent};

const SERVICE: &str = "local object store";

/// Read buffer for hashing and copying; large enough to amortise syscalls, small enough that
/// memory stays flat for multi-GB media.
const COPY_BUFFER: usize = 256 * 1024;

/// A staging file whose lock is free and that nobody modified for this long belongs to a writer
/// that died. The lock says whether its writer lives; the delay only covers the instant between a
/// writer creating its file and locking it, with a wide margin.
pub const STALE_STAGING_AFTER: Duration = Duration::from_secs(60);

/// The suffix of a commit under way, after the metadata file's name.
const PENDING_SUFFIX: &str = ".pending";

/// The folder of staging files, inside `objects/` and `meta/` (a bucket never starts with a dot).
const STAGING: &str = ".staging";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredMeta {
    size: u64,
    etag: String,
    sha256: String,
    sequencer: String,
    content_type: String,
    last_modified: String,
    /// The staging file the bytes were written to, which recovery renames into place when the
    /// writer died after the commit point. Absent in metadata of earlier versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    staged_as: Option<String>,
}

/// Where one object's files lie.
#[derive(Debug, Clone)]
struct ObjectPaths {
    data: PathBuf,
    meta: PathBuf,
    pending: PathBuf,
}

/// The folders of a data directory that are not objects.
#[derive(Debug, Clone)]
struct Folders {
    data_staging: PathBuf,
    meta_staging: PathBuf,
    locks: PathBuf,
}

impl Folders {
    fn of(root: &Path) -> Self {
        Self {
            data_staging: root.join("objects").join(STAGING),
            meta_staging: root.join("meta").join(STAGING),
            locks: root.join("meta").join(".locks"),
        }
    }

    /// The staging file `name` refers to, when `name` is a bare file name (it comes from disk).
    fn staged(&self, name: &str) -> Option<PathBuf> {
        let mut components = Path::new(name).components();
        match (components.next(), components.next()) {
            (Some(Component::Normal(_)), None) => Some(self.data_staging.join(name)),
            _ => None,
        }
    }
}

/// A step of a commit after which tests simulate the writer being killed.
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CommitStep {
    /// The pending metadata is in place; the bytes are still staged.
    Pending,
    /// The bytes are in place; the metadata is still pending.
    BytesInPlace,
}

/// The directory-backed store.
#[derive(Debug)]
pub struct DirObjectStore {
    root: PathBuf,
    folders: Folders,
    events: Option<UnboundedSender<Value>>,
    sequence: Arc<AtomicU64>,
    region: String,
    account: String,
    staging_swept: tokio::sync::OnceCell<()>,
    stale_staging_after: Duration,
    #[cfg(test)]
    crash_after: Option<CommitStep>,
}

fn io_error(source: std::io::Error) -> PortError {
    PortError::Unavailable {
        service: SERVICE,
        source: Box::new(source),
    }
}

/// Runs blocking file-system work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, PortError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| io_error(std::io::Error::other(e)))?
        .map_err(io_error)
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

/// What reading one object's files found.
#[derive(Debug)]
enum Reading {
    /// Metadata and bytes that belong together.
    Found(StoredMeta, std::fs::File),
    /// No metadata: no object.
    Absent,
    /// Metadata whose bytes are missing or of another size, or unreadable metadata.
    Torn(String),
}

/// Reads the metadata and opens the bytes of an object, checking that they belong together.
fn read_object(paths: &ObjectPaths) -> std::io::Result<Reading> {
    let bytes = match std::fs::read(&paths.meta) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Reading::Absent),
        Err(e) => return Err(e),
    };
    let meta: StoredMeta = match serde_json::from_slice(&bytes) {
        Ok(meta) => meta,
        Err(e) => return Ok(Reading::Torn(format!("unreadable metadata: {e}"))),
    };
    let file = match std::fs::File::open(&paths.data) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Reading::Torn("the bytes are missing".to_owned()));
        }
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    if len != meta.size {
        return Ok(Reading::Torn(format!(
            "{len} bytes where the metadata says {}",
            meta.size
        )));
    }
    Ok(Reading::Found(meta, file))
}

/// Whether the file at `path` holds exactly the bytes `meta` describes.
fn holds(path: &Path, meta: &StoredMeta) -> std::io::Result<bool> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if file.metadata()?.len() != meta.size {
        return Ok(false);
    }
    let mut sha = Sha256::new();
    let mut buffer = vec![0u8; COPY_BUFFER];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        sha.update(&buffer[..n]);
    }
    Ok(hex::encode(sha.finalize()) == meta.sha256)
}

/// Finishes or discards the commit a dead writer left pending; returns the metadata of a finished
/// one. The caller holds the key's lock, so no live writer is in the middle of it.
fn recover(folders: &Folders, paths: &ObjectPaths) -> std::io::Result<Option<StoredMeta>> {
    let bytes = match std::fs::read(&paths.pending) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let finished = match serde_json::from_slice::<StoredMeta>(&bytes) {
        Ok(meta) => {
            let staged = meta.staged_as.as_deref().and_then(|n| folders.staged(n));
            let moved = match staged.map(|staged| std::fs::rename(staged, &paths.data)) {
                Some(Ok(())) => {
                    sync_parent(&paths.data)?;
                    true
                }
                Some(Err(e)) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                Some(Err(_)) | None => false,
            };
            (moved || holds(&paths.data, &meta)?).then_some(meta)
        }
        // Pending metadata is fsynced before it is renamed into place; unreadable, it was not
        // written by this store, and describes nothing that can be finished.
        Err(_) => None,
    };
    if finished.is_some() {
        std::fs::rename(&paths.pending, &paths.meta)?;
        tracing::info!(
            path = %paths.meta.display(),
            "finished a write whose writer died after committing it"
        );
    } else {
        std::fs::remove_file(&paths.pending)?;
        tracing::info!(
            path = %paths.pending.display(),
            "discarded a write whose writer died before its bytes were in place"
        );
    }
    sync_parent(&paths.meta)?;
    Ok(finished)
}

/// What [`look_up`] found, and the write it finished on the way, if any.
type LookUp = (Option<(StoredMeta, std::fs::File)>, Option<StoredMeta>);

/// The object at `paths`, consistent with its metadata: read without a lock when everything is in
/// order, else again under the key's lock after finishing any pending commit.
fn look_up(
    folders: &Folders,
    bucket: &str,
    key: &str,
    paths: &ObjectPaths,
) -> std::io::Result<LookUp> {
    if !paths.pending.try_exists()? {
        match read_object(paths)? {
            Reading::Found(meta, file) => return Ok((Some((meta, file)), None)),
            Reading::Absent => return Ok((None, None)),
            Reading::Torn(_) => {}
        }
    }
    let _lock = KeyLock::exclusive(&folders.locks, bucket, key)?;
    let finished = recover(folders, paths)?;
    let found = match read_object(paths)? {
        Reading::Found(meta, file) => Some((meta, file)),
        Reading::Absent => None,
        Reading::Torn(why) => {
            tracing::warn!(
                bucket,
                key,
                why,
                "object not served: its bytes do not match its metadata"
            );
            None
        }
    };
    Ok((found, finished))
}

/// The commit of one write (steps 2 to 4 of the module documentation), run on a blocking thread.
struct Commit {
    folders: Folders,
    paths: ObjectPaths,
    bucket: String,
    key: String,
    staged: StagedFile,
    size: u64,
    etag: String,
    sha256: String,
    content_type: String,
    sequence: Arc<AtomicU64>,
    #[cfg(test)]
    crash_after: Option<CommitStep>,
}

impl Commit {
    /// Commits the write; returns its metadata, and that of a dead writer's write it finished
    /// first (its pending file would otherwise be replaced unfinished).
    fn run(self) -> std::io::Result<(StoredMeta, Option<StoredMeta>)> {
        let Self {
            folders,
            paths,
            bucket,
            key,
            staged,
            size,
            etag,
            sha256,
            content_type,
            sequence,
            #[cfg(test)]
            crash_after,
        } = self;
        create_dirs_durably(parent_of(&paths.data))?;
        create_dirs_durably(parent_of(&paths.meta))?;
        let _lock = KeyLock::exclusive(&folders.locks, &bucket, &key)?;
        let finished = recover(&folders, &paths)?;
        let sequence = sequence.fetch_add(1, Ordering::SeqCst) + 1;
        let now = chrono::Utc::now();
        let meta = StoredMeta {
            size,
            etag,
            sha256,
            // Sequencers are hex strings that order events of one key; include the time so a
            // restarted process keeps ordering after earlier runs.
            sequencer: format!(
                "{:016X}{:08X}",
                now.timestamp_micros(),
                sequence % 0x1_0000_0000
            ),
            content_type,
            last_modified: now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            staged_as: Some(staged.name().to_owned()),
        };
        let meta_file = StagedFile::create(&folders.meta_staging)?;
        meta_file
            .file()
            .write_all(&serde_json::to_vec(&meta).map_err(std::io::Error::other)?)?;
        meta_file.file().sync_all()?;
        meta_file.rename_to(&paths.pending)?;
        sync_parent(&paths.pending)?;
        #[cfg(test)]
        if crash_after == Some(CommitStep::Pending) {
            staged.abandon();
            return Err(std::io::Error::other("simulated crash"));
        }
        if let Err(e) = staged.rename_to(&paths.data) {
            let _ = std::fs::remove_file(&paths.pending);
            let _ = sync_parent(&paths.pending);
            return Err(e);
        }
        sync_parent(&paths.data)?;
        #[cfg(test)]
        if crash_after == Some(CommitStep::BytesInPlace) {
            return Err(std::io::Error::other("simulated crash"));
        }
        std::fs::rename(&paths.pending, &paths.meta)?;
        sync_parent(&paths.meta)?;
        Ok((meta, finished))
    }
}

impl DirObjectStore {
    /// A store rooted at `root` (created if needed).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        Self {
            folders: Folders::of(&root),
            root,
            events: None,
            sequence: Arc::new(AtomicU64::new(0)),
            region: "us-east-1".to_owned(),
            account: "123456789012".to_owned(),
            staging_swept: tokio::sync::OnceCell::new(),
            stale_staging_after: STALE_STAGING_AFTER,
            #[cfg(test)]
            crash_after: None,
        }
    }

    /// Sends an EventBridge-shaped "Object Created" event to `sink` after every write.
    pub fn with_events(mut self, sink: UnboundedSender<Value>) -> Self {
        self.events = Some(sink);
        self
    }

    /// Rejects keys and bucket names that could leave the data directory.
    fn checked(&self, bucket: &str, key: &str) -> Result<ObjectPaths, PortError> {
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
        let meta_folder = self.root.join("meta").join(bucket);
        Ok(ObjectPaths {
            data: self.root.join("objects").join(bucket).join(relative),
            meta: meta_folder.join(format!("{key}.json")),
            pending: meta_folder.join(format!("{key}.json{PENDING_SUFFIX}")),
        })
    }

    /// Removes the staging files of dead writers, once per store (before its first write).
    async fn sweep_staging_once(&self) {
        self.staging_swept
            .get_or_init(|| async {
                let folders = [
                    self.folders.data_staging.clone(),
                    self.folders.meta_staging.clone(),
                ];
                let grace = self.stale_staging_after;
                let swept = blocking(move || {
                    folders.iter().try_fold(0, |removed, folder| {
                        Ok(removed + durable::sweep_staging(folder, grace)?)
                    })
                })
                .await;
                match swept {
                    Ok(0) => {}
                    Ok(removed) => {
                        tracing::info!(removed, "removed staging files of writers that died");
                    }
                    Err(error) => {
                        tracing::warn!(%error, "cannot remove staging files of dead writers");
                    }
                }
            })
            .await;
    }

    /// The object `bucket/key` with its bytes opened, consistent with each other.
    async fn find(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<(StoredMeta, tokio::fs::File)>, PortError> {
        let paths = self.checked(bucket, key)?;
        let folders = self.folders.clone();
        let (bucket_owned, key_owned) = (bucket.to_owned(), key.to_owned());
        let (found, finished) =
            blocking(move || look_up(&folders, &bucket_owned, &key_owned, &paths)).await?;
        if let Some(meta) = finished {
            self.emit(bucket, key, &meta);
        }
        Ok(found.map(|(meta, file)| (meta, tokio::fs::File::from_std(file))))
    }

    /// Copies `source` into the object's place, hashing on the way, commits it with its metadata
    /// and emits the event.
    async fn store(
        &self,
        bucket: &str,
        key: &str,
        mut source: impl tokio::io::AsyncRead + Unpin,
        content_type: &str,
    ) -> Result<ObjectMeta, PortError> {
        let paths = self.checked(bucket, key)?;
        self.sweep_staging_once().await;
        let staging = self.folders.data_staging.clone();
        let staged = blocking(move || StagedFile::create(&staging)).await?;
        let mut file = tokio::fs::File::from_std(staged.file().try_clone().map_err(io_error)?);
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
        file.sync_all().await.map_err(io_error)?;
        drop(file);
        let commit = Commit {
            folders: self.folders.clone(),
            paths,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            staged,
            size,
            etag: hex::encode(md5.finalize()),
            sha256: hex::encode(sha.finalize()),
            content_type: content_type.to_owned(),
            sequence: Arc::clone(&self.sequence),
            #[cfg(test)]
            crash_after: self.crash_after,
        };
        let (meta, finished) = blocking(move || commit.run()).await?;
        if let Some(finished) = finished {
            self.emit(bucket, key, &finished);
        }
        self.emit(bucket, key, &meta);
        Ok(Self::meta_of(key, meta))
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

    async fn open(&self, bucket: &str, key: &str) -> Result<(u64, tokio::fs::File), PortError> {
        match self.find(bucket, key).await? {
            Some((meta, file)) => Ok((meta.size, file)),
            None => Err(PortError::NotFound {
                what: format!("{bucket}/{key}"),
            }),
        }
    }
}

#[cfg(test)]
impl DirObjectStore {
    /// A store whose writes stop as if the writer were killed after `step`.
    fn crashing_after(mut self, step: CommitStep) -> Self {
        self.crash_after = Some(step);
        self
    }

    /// A store that takes unlocked staging files for dead writers' after `after`.
    fn with_stale_staging_after(mut self, after: Duration) -> Self {
        self.stale_staging_after = after;
        self
    }
}

#[async_trait]
impl ObjectStore for DirObjectStore {
    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectMeta>, PortError> {
        Ok(self
            .find(bucket, key)
            .await?
            .map(|(meta, _)| Self::meta_of(key, meta)))
    }

    async fn get_range(
        &self,
        bucket: &str,
        key: &str,
        start: u64,
        len: u64,
    ) -> Result<Bytes, PortError> {
        let (_, mut file) = self.open(bucket, key).await?;
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
        let (size, mut file) = self.open(bucket, key).await?;
        let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        file.read_to_end(&mut out).await.map_err(io_error)?;
        Ok(Bytes::from(out))
    }

    async fn download_to(&self, bucket: &str, key: &str, path: &Path) -> Result<u64, PortError> {
        let (_, mut source) = self.open(bucket, key).await?;
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
        let probe = self.checked(bucket, "probe")?;
        let meta_root = parent_of(&probe.meta).to_owned();
        let keys = blocking(move || keys_under(&meta_root)).await?;
        let mut out = Vec::new();
        for key in keys.into_iter().filter(|k| k.starts_with(prefix)) {
            // Keys come from file names; one that is not a safe key is not an object.
            if self.checked(bucket, &key).is_err() {
                continue;
            }
            if let Some((meta, _)) = self.find(bucket, &key).await? {
                out.push(Self::meta_of(&key, meta));
            }
        }
        Ok(out)
    }
}

/// The keys that have metadata or a pending commit under `meta_root`, in order.
fn keys_under(meta_root: &Path) -> std::io::Result<BTreeSet<String>> {
    let pending_suffix = format!(".json{PENDING_SUFFIX}");
    let mut keys = BTreeSet::new();
    let mut stack = vec![meta_root.to_owned()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                stack.push(path);
                continue;
            }
            let Some(relative) = path.strip_prefix(meta_root).ok().and_then(|p| p.to_str()) else {
                continue;
            };
            let Some(key) = relative
                .strip_suffix(".json")
                .or_else(|| relative.strip_suffix(pending_suffix.as_str()))
            else {
                continue;
            };
            keys.insert(key.replace(std::path::MAIN_SEPARATOR, "/"));
        }
    }
    Ok(keys)
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

    const BUCKET: &str = "b";

    /// A store on `root` whose first version of `key` is `v1`.
    async fn with_first_version(root: &Path, key: &str) -> DirObjectStore {
        let store = DirObjectStore::new(root);
        store
            .put_bytes(BUCKET, key, Bytes::from_static(b"v1"), "text/plain")
            .await
            .unwrap();
        store
    }

    /// A writer of `key` killed right after `step` (its write fails where the process would have
    /// died).
    async fn die_writing(root: &Path, key: &str, body: &'static [u8], step: CommitStep) {
        let dying = DirObjectStore::new(root).crashing_after(step);
        let crashed = dying
            .put_bytes(BUCKET, key, Bytes::from_static(body), "text/csv")
            .await;
        assert!(crashed.is_err(), "the write stopped after {step:?}");
    }

    fn files_in(folder: &Path) -> Vec<PathBuf> {
        std::fs::read_dir(folder)
            .map(|entries| entries.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default()
    }

    fn pending_files(root: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut stack = vec![root.join("meta")];
        while let Some(dir) = stack.pop() {
            for path in files_in(&dir) {
                if path.is_dir() {
                    stack.push(path);
                } else if path.to_string_lossy().ends_with(PENDING_SUFFIX) {
                    out.push(path);
                }
            }
        }
        out
    }

    #[tokio::test]
    async fn a_write_killed_after_its_commit_point_is_finished_by_the_next_reader() {
        // GIVEN an object whose second version's writer died with the new metadata pending and
        // the bytes still staged
        let dir = tempfile::tempdir().unwrap();
        with_first_version(dir.path(), "k").await;
        die_writing(dir.path(), "k", b"second", CommitStep::Pending).await;
        assert_eq!(pending_files(dir.path()).len(), 1);

        // WHEN a restarted process reads it
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let store = DirObjectStore::new(dir.path()).with_events(tx);
        let head = store.head(BUCKET, "k").await.unwrap().unwrap();

        // THEN it sees the second version, whole and with its own metadata, announced once
        let bytes = store.get_bytes(BUCKET, "k").await.unwrap();
        assert_eq!(bytes.as_ref(), b"second");
        assert_eq!(head.size, 6);
        assert_eq!(head.sha256.unwrap(), hex::encode(Sha256::digest(b"second")));
        let stored = store.find(BUCKET, "k").await.unwrap().unwrap().0;
        assert_eq!(stored.content_type, "text/csv");
        let event = rx.try_recv().unwrap();
        assert_eq!(event["detail"]["object"]["etag"], head.etag.as_str());
        assert!(rx.try_recv().is_err(), "one event for the finished write");
        assert!(pending_files(dir.path()).is_empty());
        assert!(files_in(&dir.path().join("objects/.staging")).is_empty());
    }

    #[tokio::test]
    async fn a_write_killed_between_its_two_renames_is_finished_by_the_next_listing() {
        // GIVEN an object whose second version's writer died with the new bytes in place and the
        // metadata still pending: the files on disk are the new bytes beside the old metadata
        let dir = tempfile::tempdir().unwrap();
        with_first_version(dir.path(), "d/k").await;
        die_writing(dir.path(), "d/k", b"second", CommitStep::BytesInPlace).await;
        assert_eq!(
            std::fs::read(dir.path().join("objects/b/d/k")).unwrap(),
            b"second"
        );

        // WHEN a restarted process lists the bucket
        let store = DirObjectStore::new(dir.path());
        let listed = store.list(BUCKET, "").await.unwrap();

        // THEN it lists the second version with its metadata, and reads it back
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].key, "d/k");
        assert_eq!(listed[0].size, 6);
        assert_eq!(
            listed[0].sha256.as_deref().unwrap(),
            hex::encode(Sha256::digest(b"second"))
        );
        assert_eq!(
            store.get_bytes(BUCKET, "d/k").await.unwrap().as_ref(),
            b"second"
        );
        assert!(pending_files(dir.path()).is_empty());
    }

    #[tokio::test]
    async fn a_write_finishes_the_pending_write_of_a_dead_writer_before_its_own() {
        // GIVEN a writer of `k` that died between its two renames
        let dir = tempfile::tempdir().unwrap();
        with_first_version(dir.path(), "k").await;
        die_writing(dir.path(), "k", b"second", CommitStep::BytesInPlace).await;

        // WHEN another writer stores `k`
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let store = DirObjectStore::new(dir.path()).with_events(tx);
        store
            .put_bytes(BUCKET, "k", Bytes::from_static(b"third!!"), "text/plain")
            .await
            .unwrap();

        // THEN both writes are announced, in order, and the last one is stored
        let sizes: Vec<_> = std::iter::from_fn(|| rx.try_recv().ok())
            .map(|e| e["detail"]["object"]["size"].as_u64().unwrap())
            .collect();
        assert_eq!(sizes, vec![6, 7]);
        assert_eq!(
            store.get_bytes(BUCKET, "k").await.unwrap().as_ref(),
            b"third!!"
        );
        assert!(pending_files(dir.path()).is_empty());
    }

    #[tokio::test]
    async fn a_pending_write_whose_staged_bytes_were_lost_is_discarded_for_the_previous_version() {
        // GIVEN a writer that died after its commit point, and its staged bytes lost since
        let dir = tempfile::tempdir().unwrap();
        with_first_version(dir.path(), "k").await;
        die_writing(dir.path(), "k", b"second", CommitStep::Pending).await;
        for staged in files_in(&dir.path().join("objects/.staging")) {
            std::fs::remove_file(staged).unwrap();
        }

        // WHEN a restarted process reads it
        let store = DirObjectStore::new(dir.path());
        let head = store.head(BUCKET, "k").await.unwrap().unwrap();

        // THEN the first version is intact, with its own metadata
        assert_eq!(head.size, 2);
        assert_eq!(head.sha256.unwrap(), hex::encode(Sha256::digest(b"v1")));
        assert_eq!(store.get_bytes(BUCKET, "k").await.unwrap().as_ref(), b"v1");
        assert!(pending_files(dir.path()).is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_writers_of_one_key_all_succeed_and_leave_bytes_with_their_own_metadata() {
        // GIVEN many writers storing different bodies of one key at once
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(DirObjectStore::new(dir.path()));
        let mut writers = Vec::new();
        for writer in 0..16usize {
            let store = Arc::clone(&store);
            writers.push(tokio::spawn(async move {
                for n in 0..10usize {
                    let body = format!("writer {writer} write {n} ").repeat(1 + writer * 37 + n);
                    store
                        .put_bytes(
                            BUCKET,
                            "same",
                            Bytes::from(body),
                            &format!("text/{writer}-{n}"),
                        )
                        .await?;
                }
                Ok::<_, PortError>(())
            }));
        }

        // WHEN they are all done
        for writer in writers {
            writer.await.unwrap().unwrap();
        }

        // THEN the object is one write's bytes beside that same write's metadata
        let bytes = store.get_bytes(BUCKET, "same").await.unwrap();
        let (stored, _) = store.find(BUCKET, "same").await.unwrap().unwrap();
        assert_eq!(stored.size, bytes.len() as u64);
        assert_eq!(stored.sha256, hex::encode(Sha256::digest(&bytes)));
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        let mut words = text.split(' ');
        let (writer, n) = (words.nth(1).unwrap(), words.nth(1).unwrap());
        assert_eq!(stored.content_type, format!("text/{writer}-{n}"));
    }

    #[tokio::test]
    async fn a_data_directory_of_the_previous_format_is_read_as_it_is() {
        // GIVEN a data directory written by the previous version: bytes and metadata without a
        // staged name, and its temporary files left by a crash
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("objects/b/rec")).unwrap();
        std::fs::create_dir_all(root.join("meta/b/rec")).unwrap();
        std::fs::write(root.join("objects/b/rec/a.txt"), b"hello").unwrap();
        std::fs::write(root.join("objects/b/rec/.tmpAbC123"), b"hel").unwrap();
        let old_meta = json!({
            "size": 5,
            "etag": hex::encode(Md5::digest(b"hello")),
            "sha256": hex::encode(Sha256::digest(b"hello")),
            "sequencer": "0006123456789ABC00000001",
            "contentType": "text/plain",
            "lastModified": "2025-01-01T00:00:00.000Z",
        });
        std::fs::write(
            root.join("meta/b/rec/a.txt.json"),
            serde_json::to_vec(&old_meta).unwrap(),
        )
        .unwrap();
        std::fs::write(root.join("meta/b/rec/a.txt.json.tmp"), b"{\"si").unwrap();

        // WHEN the store opens it
        let store = DirObjectStore::new(root);

        // THEN the object reads back with its metadata, and the leftovers are not objects
        let listed = store.list(BUCKET, "").await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].key, "rec/a.txt");
        assert_eq!(listed[0].etag, old_meta["etag"]);
        assert_eq!(
            store
                .get_range(BUCKET, "rec/a.txt", 1, 3)
                .await
                .unwrap()
                .as_ref(),
            b"ell"
        );
        store
            .put_bytes(
                BUCKET,
                "rec/a.txt",
                Bytes::from_static(b"new"),
                "text/plain",
            )
            .await
            .unwrap();
        assert_eq!(
            store.get_bytes(BUCKET, "rec/a.txt").await.unwrap().as_ref(),
            b"new"
        );
    }

    #[tokio::test]
    async fn an_object_torn_by_a_power_cut_under_the_previous_format_is_absent() {
        // GIVEN metadata of the previous version beside bytes a power cut left empty (it did not
        // fsync), and beside missing bytes
        let dir = tempfile::tempdir().unwrap();
        let store = with_first_version(dir.path(), "empty").await;
        with_first_version(dir.path(), "missing").await;
        std::fs::write(dir.path().join("objects/b/empty"), b"").unwrap();
        std::fs::remove_file(dir.path().join("objects/b/missing")).unwrap();

        // WHEN it is read
        // THEN it is not served: absent on head and list, not found on reads
        for key in ["empty", "missing"] {
            assert!(store.head(BUCKET, key).await.unwrap().is_none(), "{key}");
            assert!(matches!(
                store.get_bytes(BUCKET, key).await,
                Err(PortError::NotFound { .. })
            ));
        }
        assert!(store.list(BUCKET, "").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn the_first_write_sweeps_staging_files_of_dead_writers_but_not_of_live_ones() {
        // GIVEN a staging file a killed writer left, and one a live writer holds
        let dir = tempfile::tempdir().unwrap();
        die_writing(dir.path(), "k", b"lost", CommitStep::Pending).await;
        let staging = dir.path().join("objects/.staging");
        let dead = files_in(&staging);
        assert_eq!(dead.len(), 1);
        let live = StagedFile::create(&staging).unwrap();

        // WHEN a store writes for the first time
        let store = DirObjectStore::new(dir.path()).with_stale_staging_after(Duration::ZERO);
        store
            .put_bytes(BUCKET, "other", Bytes::from_static(b"x"), "text/plain")
            .await
            .unwrap();

        // THEN the dead writer's file is gone and the live writer's is kept
        let left = files_in(&staging);
        assert!(!dead[0].exists(), "a dead writer's staging file was kept");
        assert_eq!(left, vec![staging.join(live.name())]);
    }

    #[tokio::test]
    async fn staging_files_younger_than_the_grace_are_kept() {
        // GIVEN a staging file a killed writer left a moment ago
        let dir = tempfile::tempdir().unwrap();
        die_writing(dir.path(), "k", b"lost", CommitStep::Pending).await;

        // WHEN a store with the default grace writes
        let store = DirObjectStore::new(dir.path());
        store
            .put_bytes(BUCKET, "other", Bytes::from_static(b"x"), "text/plain")
            .await
            .unwrap();

        // THEN the file is kept (its writer might just not have locked it yet)
        assert_eq!(files_in(&dir.path().join("objects/.staging")).len(), 1);
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

#[cfg(test)]
mod crash_tests;
