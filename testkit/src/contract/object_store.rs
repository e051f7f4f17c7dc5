//! The contract every [`ObjectStore`] implementation must pass: the in-memory fake, the directory
//! store of the local runtime and the S3 adapter (on moto). Each case uses its own fresh key prefix,
//! so the suite can run against a shared bucket, repeatedly and in parallel.
//!
//! Call [`run_all`] from one test, or the individual cases from separate tests. A broken promise
//! panics with a message naming the case.

use std::path::Path;

use bytes::Bytes;
use meeting_domain::PortError;
use meeting_domain::ports::ObjectStore;
use sha2::{Digest, Sha256};

/// Bigger than the 5 MiB minimum part size of S3 multipart uploads, so an adapter that switches
/// to multipart above a threshold is exercised across a part boundary.
const LARGE_OBJECT_BYTES: usize = 6 * 1024 * 1024 + 7;

/// A fresh, unique prefix for one case.
fn unique_prefix(case: &str) -> String {
    format!("contract/{:016x}/{case}/", rand::random::<u64>())
}

/// Deterministic, non-repeating-looking content of `len` bytes.
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| u8::try_from((i * 31 + i / 251) % 251).unwrap_or(0))
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn assert_not_found<T: std::fmt::Debug>(case: &str, result: Result<T, PortError>) {
    match result {
        Err(PortError::NotFound { .. }) => {}
        other => panic!("{case}: expected NotFound, got {other:?}"),
    }
}

/// Runs every case of the contract against `store`, in `bucket`.
pub async fn run_all<S: ObjectStore + ?Sized>(store: &S, bucket: &str) {
    missing_objects_are_none_on_head_and_not_found_on_reads(store, bucket).await;
    put_then_head_reports_size_etag_and_a_correct_checksum(store, bucket).await;
    a_put_replaces_the_previous_object(store, bucket).await;
    ranges_return_the_requested_bytes_and_stop_at_the_end(store, bucket).await;
    large_files_round_trip_through_upload_and_download(store, bucket).await;
    an_empty_object_round_trips(store, bucket).await;
    list_returns_only_the_prefix_in_key_order(store, bucket).await;
}

/// `head` of a missing object is `None`; `get_bytes`, `get_range` and `download_to` are
/// `NotFound`, and a failed download leaves no file behind.
pub async fn missing_objects_are_none_on_head_and_not_found_on_reads<S: ObjectStore + ?Sized>(
    store: &S,
    bucket: &str,
) {
    let case = "missing object";
    let key = format!("{}absent.bin", unique_prefix("missing"));
    let head = store.head(bucket, &key).await;
    assert!(
        matches!(head, Ok(None)),
        "{case}: head must be Ok(None), got {head:?}"
    );
    assert_not_found(case, store.get_bytes(bucket, &key).await);
    assert_not_found(case, store.get_range(bucket, &key, 0, 10).await);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("absent.bin");
    assert_not_found(case, store.download_to(bucket, &key, &path).await);
    assert!(
        !path.exists(),
        "{case}: a failed download must not leave a file behind"
    );
}

/// After `put_bytes`, `head` reports the size, a non-empty ETag that is equal for equal content
/// and different for different content, and a SHA-256 (when reported) that matches the content.
pub async fn put_then_head_reports_size_etag_and_a_correct_checksum<S: ObjectStore + ?Sized>(
    store: &S,
    bucket: &str,
) {
    let case = "put then head";
    let prefix = unique_prefix("head");
    let body = b"hello, meeting".to_vec();
    let (a, b, c) = (
        format!("{prefix}a.txt"),
        format!("{prefix}b.txt"),
        format!("{prefix}c.txt"),
    );
    let put = store
        .put_bytes(bucket, &a, Bytes::from(body.clone()), "text/plain")
        .await
        .unwrap_or_else(|e| panic!("{case}: put_bytes failed: {e}"));
    let head = store
        .head(bucket, &a)
        .await
        .unwrap_or_else(|e| panic!("{case}: head failed: {e}"))
        .unwrap_or_else(|| panic!("{case}: head of a stored object is None"));
    assert_eq!(head.key, a, "{case}: head key");
    assert_eq!(head.size, body.len() as u64, "{case}: head size");
    assert!(!head.etag.is_empty(), "{case}: empty ETag");
    assert!(
        !head.etag.contains('"'),
        "{case}: ETag must be unquoted, got {}",
        head.etag
    );
    assert_eq!(put.etag, head.etag, "{case}: put and head ETags differ");
    assert_eq!(put.size, head.size, "{case}: put and head sizes differ");
    if let Some(sha) = &head.sha256 {
        assert_eq!(sha, &sha256_hex(&body), "{case}: SHA-256 does not match");
    }
    let same = store
        .put_bytes(bucket, &b, Bytes::from(body.clone()), "text/plain")
        .await
        .unwrap_or_else(|e| panic!("{case}: put_bytes failed: {e}"));
    let other = store
        .put_bytes(
            bucket,
            &c,
            Bytes::from_static(b"other content"),
            "text/plain",
        )
        .await
        .unwrap_or_else(|e| panic!("{case}: put_bytes failed: {e}"));
    assert_eq!(
        same.etag, head.etag,
        "{case}: equal content, different ETag"
    );
    assert_ne!(
        other.etag, head.etag,
        "{case}: different content, same ETag"
    );
    let read = store
        .get_bytes(bucket, &a)
        .await
        .unwrap_or_else(|e| panic!("{case}: get_bytes failed: {e}"));
    assert_eq!(read.as_ref(), body.as_slice(), "{case}: content differs");
}

/// A second put of the same key replaces the object.
pub async fn a_put_replaces_the_previous_object<S: ObjectStore + ?Sized>(store: &S, bucket: &str) {
    let case = "put replaces";
    let key = format!("{}object.bin", unique_prefix("replace"));
    let first = store
        .put_bytes(
            bucket,
            &key,
            Bytes::from_static(b"first version"),
            "application/octet-stream",
        )
        .await
        .unwrap_or_else(|e| panic!("{case}: first put failed: {e}"));
    let second = store
        .put_bytes(
            bucket,
            &key,
            Bytes::from_static(b"second"),
            "application/octet-stream",
        )
        .await
        .unwrap_or_else(|e| panic!("{case}: second put failed: {e}"));
    assert_ne!(first.etag, second.etag, "{case}: ETag did not change");
    let read = store
        .get_bytes(bucket, &key)
        .await
        .unwrap_or_else(|e| panic!("{case}: get_bytes failed: {e}"));
    assert_eq!(read.as_ref(), b"second", "{case}: old content returned");
    let head = store
        .head(bucket, &key)
        .await
        .unwrap_or_else(|e| panic!("{case}: head failed: {e}"))
        .unwrap_or_else(|| panic!("{case}: object vanished"));
    assert_eq!(head.size, 6, "{case}: head reports the old size");
}

/// `get_range` returns exactly the requested bytes, and fewer when the range passes the end.
pub async fn ranges_return_the_requested_bytes_and_stop_at_the_end<S: ObjectStore + ?Sized>(
    store: &S,
    bucket: &str,
) {
    let case = "get_range";
    let key = format!("{}range.bin", unique_prefix("range"));
    let body = pattern(1000);
    store
        .put_bytes(
            bucket,
            &key,
            Bytes::from(body.clone()),
            "application/octet-stream",
        )
        .await
        .unwrap_or_else(|e| panic!("{case}: put failed: {e}"));
    let head = store
        .get_range(bucket, &key, 0, 8)
        .await
        .unwrap_or_else(|e| panic!("{case}: range 0+8 failed: {e}"));
    assert_eq!(head.as_ref(), &body[..8], "{case}: first 8 bytes");
    let middle = store
        .get_range(bucket, &key, 100, 50)
        .await
        .unwrap_or_else(|e| panic!("{case}: range 100+50 failed: {e}"));
    assert_eq!(middle.as_ref(), &body[100..150], "{case}: middle bytes");
    let tail = store
        .get_range(bucket, &key, 990, 100)
        .await
        .unwrap_or_else(|e| panic!("{case}: range past the end failed: {e}"));
    assert_eq!(tail.as_ref(), &body[990..], "{case}: range past the end");
}

/// A file larger than one multipart part uploads and downloads byte for byte, and
/// `download_to` returns the number of bytes written.
pub async fn large_files_round_trip_through_upload_and_download<S: ObjectStore + ?Sized>(
    store: &S,
    bucket: &str,
) {
    let case = "upload/download";
    let key = format!("{}large.bin", unique_prefix("large"));
    let body = pattern(LARGE_OBJECT_BYTES);
    let dir = tempfile::tempdir().expect("temp dir");
    let source = dir.path().join("source.bin");
    std::fs::write(&source, &body).expect("write source");
    let meta = store
        .upload_from(bucket, &key, &source, "application/octet-stream")
        .await
        .unwrap_or_else(|e| panic!("{case}: upload_from failed: {e}"));
    assert_eq!(meta.size, body.len() as u64, "{case}: uploaded size");
    if let Some(sha) = &meta.sha256 {
        assert_eq!(sha, &sha256_hex(&body), "{case}: SHA-256 of the upload");
    }
    let target = dir.path().join("target.bin");
    let written = store
        .download_to(bucket, &key, &target)
        .await
        .unwrap_or_else(|e| panic!("{case}: download_to failed: {e}"));
    assert_eq!(written, body.len() as u64, "{case}: bytes written");
    assert_file_equals(case, &target, &body);
}

/// A zero-byte object is stored, reported with size 0 and downloads to an empty file.
pub async fn an_empty_object_round_trips<S: ObjectStore + ?Sized>(store: &S, bucket: &str) {
    let case = "empty object";
    let key = format!("{}empty.bin", unique_prefix("empty"));
    store
        .put_bytes(bucket, &key, Bytes::new(), "application/octet-stream")
        .await
        .unwrap_or_else(|e| panic!("{case}: put failed: {e}"));
    let head = store
        .head(bucket, &key)
        .await
        .unwrap_or_else(|e| panic!("{case}: head failed: {e}"))
        .unwrap_or_else(|| panic!("{case}: head of an empty object is None"));
    assert_eq!(head.size, 0, "{case}: size");
    let dir = tempfile::tempdir().expect("temp dir");
    let target = dir.path().join("empty.bin");
    let written = store
        .download_to(bucket, &key, &target)
        .await
        .unwrap_or_else(|e| panic!("{case}: download_to failed: {e}"));
    assert_eq!(written, 0, "{case}: bytes written");
    assert_file_equals(case, &target, &[]);
}

/// `list` returns every object under the prefix with its size, in key order, and nothing from a
/// sibling prefix that merely starts with the same characters.
pub async fn list_returns_only_the_prefix_in_key_order<S: ObjectStore + ?Sized>(
    store: &S,
    bucket: &str,
) {
    let case = "list";
    let base = unique_prefix("list");
    let prefix = format!("{base}rec/");
    let sibling = format!("{base}rec-other/");
    for (key, len) in [
        (format!("{prefix}chunk_002.mp4"), 3),
        (format!("{prefix}chunk_000.mp4"), 1),
        (format!("{prefix}nested/chunk_001.mp4"), 2),
        (format!("{sibling}chunk_000.mp4"), 4),
    ] {
        store
            .put_bytes(bucket, &key, Bytes::from(pattern(len)), "video/mp4")
            .await
            .unwrap_or_else(|e| panic!("{case}: put {key} failed: {e}"));
    }
    let listed = store
        .list(bucket, &prefix)
        .await
        .unwrap_or_else(|e| panic!("{case}: list failed: {e}"));
    let got: Vec<(String, u64)> = listed.into_iter().map(|m| (m.key, m.size)).collect();
    let want = vec![
        (format!("{prefix}chunk_000.mp4"), 1),
        (format!("{prefix}chunk_002.mp4"), 3),
        (format!("{prefix}nested/chunk_001.mp4"), 2),
    ];
    assert_eq!(got, want, "{case}: listing of {prefix}");
    let empty = store
        .list(bucket, &format!("{base}nothing-here/"))
        .await
        .unwrap_or_else(|e| panic!("{case}: list of an empty prefix failed: {e}"));
    assert!(empty.is_empty(), "{case}: empty prefix listed {empty:?}");
}

fn assert_file_equals(case: &str, path: &Path, expected: &[u8]) {
    let actual = std::fs::read(path).unwrap_or_else(|e| panic!("{case}: reading {path:?}: {e}"));
    assert_eq!(actual.len(), expected.len(), "{case}: file length");
    assert!(actual == expected, "{case}: file content differs");
}
