//! [`ObjectStore`] on Amazon S3.
//!
//! - `head` asks for checksums (`ChecksumMode=ENABLED`) and reports the object's SHA-256 as
//!   lower-case hex when it was stored with a full-object SHA-256 (`x-amz-checksum-sha256`).
//! - Downloads stream the body into the file chunk by chunk; a failed download removes the file.
//! - Uploads send a SHA-256 checksum that S3 verifies. Files up to the multipart threshold go in
//!   one streamed `PutObject` (S3 accepts up to 5 GiB in one PUT); larger files go multipart,
//!   each part streamed from its file range, and a failed multipart upload is aborted so no
//!   orphaned parts are billed. Multipart objects carry a composite checksum, which is not the
//!   SHA-256 of the object, so their `sha256` is `None`.
//! - Clients for emulators need `force_path_style(true)` on the S3 config (built by the caller).

use std::path::Path;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
use aws_sdk_s3::operation::head_object::HeadObjectError;
use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, ChecksumType, CompletedMultipartUpload, CompletedPart,
};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use bytes::Bytes;
use meeting_domain::PortError;
use meeting_domain::ports::{ObjectMeta, ObjectStore};
use tokio::io::AsyncWriteExt;

use crate::error::{AdapterError, from_sdk, service};

/// S3's minimum size of every part but the last.
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// S3's maximum size of one part.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// S3's maximum object size for a single `PutObject`.
pub const MAX_SINGLE_PUT: u64 = 5 * 1024 * 1024 * 1024;
/// S3's maximum number of parts in one multipart upload.
const MAX_PARTS: u64 = 10_000;
/// Default switch to multipart: AWS recommends multipart for objects above 100 MB; a 4-hour
/// meeting's joined MP4 is around 1–2 GB.
const DEFAULT_MULTIPART_THRESHOLD: u64 = 100 * 1024 * 1024;
/// Default part size: 16 MiB parts keep a 2 GB upload at 128 parts.
const DEFAULT_PART_SIZE: u64 = 16 * 1024 * 1024;

/// Service name for local file errors during transfers.
const LOCAL_DISK: &str = "local-disk";

/// An S3 client for `sdk`. When an endpoint override is configured (`AWS_ENDPOINT_URL`, an
/// emulator or a local S3), path-style addressing is used: virtual-host style would put the
/// bucket name into the host name, which does not resolve for `127.0.0.1` or `localhost`.
pub fn s3_client(sdk: &aws_config::SdkConfig) -> Client {
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(needs_path_style(sdk))
        .build();
    Client::from_conf(config)
}

/// Whether S3 requests for `sdk` must use path-style addressing.
fn needs_path_style(sdk: &aws_config::SdkConfig) -> bool {
    sdk.endpoint_url().is_some()
}

/// Objects in S3.
#[derive(Clone, Debug)]
pub struct S3ObjectStore {
    client: Client,
    multipart_threshold: u64,
    part_size: u64,
}

impl S3ObjectStore {
    /// Uses `client` (for an emulator, built with `force_path_style(true)`).
    pub fn new(client: Client) -> Self {
        Self {
            client,
            multipart_threshold: DEFAULT_MULTIPART_THRESHOLD,
            part_size: DEFAULT_PART_SIZE,
        }
    }

    /// Files larger than `threshold` bytes are uploaded in parts of `part_size` bytes (clamped
    /// to S3's 5 MiB–5 GiB; the threshold to at most the 5 GiB single-PUT limit).
    #[must_use]
    pub fn with_multipart(mut self, threshold: u64, part_size: u64) -> Self {
        self.multipart_threshold = threshold.min(MAX_SINGLE_PUT);
        self.part_size = part_size.clamp(MIN_PART_SIZE, MAX_PART_SIZE);
        self
    }

    /// The part size used for a file of `size` bytes: the configured size, raised so the upload
    /// fits in S3's 10,000 parts.
    fn part_size_for(&self, size: u64) -> u64 {
        self.part_size.max(size.div_ceil(MAX_PARTS))
    }

    async fn get_object(
        &self,
        bucket: &str,
        key: &str,
        range: Option<String>,
    ) -> Result<Option<GetObjectOutput>, PortError> {
        let result = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .set_range(range)
            .send()
            .await;
        match result {
            Ok(output) => Ok(Some(output)),
            Err(err) => match err.as_service_error() {
                Some(GetObjectError::NoSuchKey(_)) => Err(not_found(bucket, key)),
                // 416: the range starts at or past the end (every range of an empty object).
                Some(other) if other.code() == Some("InvalidRange") => Ok(None),
                _ => Err(from_sdk(service::S3, err)),
            },
        }
    }

    async fn put_single(
        &self,
        bucket: &str,
        key: &str,
        body: ByteStream,
        size: u64,
        content_type: &str,
    ) -> Result<ObjectMeta, PortError> {
        let output = self
            .client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .content_length(i64::try_from(size).unwrap_or(i64::MAX))
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .body(body)
            .send()
            .await
            .map_err(|err| from_sdk(service::S3, err))?;
        Ok(ObjectMeta {
            key: key.to_owned(),
            size,
            etag: unquote(output.e_tag().unwrap_or_default()),
            sha256: output.checksum_sha256().and_then(sha256_hex),
        })
    }

    async fn put_multipart(
        &self,
        bucket: &str,
        key: &str,
        path: &Path,
        size: u64,
        content_type: &str,
    ) -> Result<ObjectMeta, PortError> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .send()
            .await
            .map_err(|err| from_sdk(service::S3, err))?;
        let upload_id = created.upload_id().ok_or_else(|| {
            AdapterError::MissingResponseField { field: "UploadId" }.into_port(service::S3)
        })?;
        match self.upload_parts(bucket, key, path, size, upload_id).await {
            Ok(meta) => Ok(meta),
            Err(err) => {
                // Best effort: an upload left open is also removed by the bucket's lifecycle rule
                // for incomplete multipart uploads.
                if let Err(abort) = self
                    .client
                    .abort_multipart_upload()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(upload_id)
                    .send()
                    .await
                {
                    tracing::warn!(bucket, key, error = %abort, "aborting a failed multipart upload failed");
                }
                Err(err)
            }
        }
    }

    async fn upload_parts(
        &self,
        bucket: &str,
        key: &str,
        path: &Path,
        size: u64,
        upload_id: &str,
    ) -> Result<ObjectMeta, PortError> {
        let part_size = self.part_size_for(size);
        let mut parts = Vec::new();
        let mut offset = 0;
        let mut number = 1;
        while offset < size {
            let length = part_size.min(size - offset);
            let body = ByteStream::read_from()
                .path(path)
                .offset(offset)
                .length(Length::Exact(length))
                .build()
                .await
                .map_err(|err| PortError::Unavailable {
                    service: LOCAL_DISK,
                    source: Box::new(err),
                })?;
            let uploaded = self
                .client
                .upload_part()
                .bucket(bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(number)
                .content_length(i64::try_from(length).unwrap_or(i64::MAX))
                .body(body)
                .send()
                .await
                .map_err(|err| from_sdk(service::S3, err))?;
            parts.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(uploaded.e_tag().map(str::to_owned))
                    .build(),
            );
            offset += length;
            number += 1;
        }
        let completed = self
            .client
            .complete_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|err| from_sdk(service::S3, err))?;
        Ok(ObjectMeta {
            key: key.to_owned(),
            size,
            etag: unquote(completed.e_tag().unwrap_or_default()),
            sha256: None,
        })
    }
}

fn not_found(bucket: &str, key: &str) -> PortError {
    PortError::NotFound {
        what: format!("s3://{bucket}/{key}"),
    }
}

fn local_disk(err: std::io::Error) -> PortError {
    PortError::Unavailable {
        service: LOCAL_DISK,
        source: Box::new(err),
    }
}

/// S3 returns ETags in double quotes.
fn unquote(etag: &str) -> String {
    etag.trim_matches('"').to_owned()
}

/// The lower-case hex of a base64 SHA-256 checksum; `None` for a composite multipart checksum
/// (`…-N`) or anything that does not decode to 32 bytes.
fn sha256_hex(base64: &str) -> Option<String> {
    let bytes = aws_smithy_types::base64::decode(base64).ok()?;
    (bytes.len() == 32).then(|| hex::encode(bytes))
}

fn to_u64(value: Option<i64>) -> u64 {
    value.and_then(|v| u64::try_from(v).ok()).unwrap_or(0)
}

async fn collect(output: GetObjectOutput) -> Result<Bytes, PortError> {
    let data = output
        .body
        .collect()
        .await
        .map_err(|err| PortError::Unavailable {
            service: service::S3,
            source: Box::new(err),
        })?;
    Ok(data.into_bytes())
}

/// Streams `output`'s body into `path`; returns the bytes written.
async fn stream_to_file(mut output: GetObjectOutput, path: &Path) -> Result<u64, PortError> {
    let expected = output.content_length().and_then(|v| u64::try_from(v).ok());
    let mut file = tokio::fs::File::create(path).await.map_err(local_disk)?;
    let mut written = 0u64;
    while let Some(chunk) = output.body.next().await {
        let chunk = chunk.map_err(|err| PortError::Unavailable {
            service: service::S3,
            source: Box::new(err),
        })?;
        file.write_all(&chunk).await.map_err(local_disk)?;
        written += chunk.len() as u64;
    }
    file.flush().await.map_err(local_disk)?;
    file.sync_all().await.map_err(local_disk)?;
    if let Some(expected) = expected
        && expected != written
    {
        return Err(AdapterError::Truncated {
            expected,
            received: written,
        }
        .into_port(service::S3));
    }
    Ok(written)
}

#[async_trait]
impl ObjectStore for S3ObjectStore {
    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectMeta>, PortError> {
        let result = self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(err) => {
                return match err.as_service_error() {
                    Some(HeadObjectError::NotFound(_)) => Ok(None),
                    _ => Err(from_sdk(service::S3, err)),
                };
            }
        };
        let full_object = !matches!(output.checksum_type(), Some(ChecksumType::Composite));
        Ok(Some(ObjectMeta {
            key: key.to_owned(),
            size: to_u64(output.content_length()),
            etag: unquote(output.e_tag().unwrap_or_default()),
            sha256: output
                .checksum_sha256()
                .filter(|_| full_object)
                .and_then(sha256_hex),
        }))
    }

    async fn get_range(
        &self,
        bucket: &str,
        key: &str,
        start: u64,
        len: u64,
    ) -> Result<Bytes, PortError> {
        if len == 0 {
            // No byte range can express zero bytes; still report a missing object.
            return match self.head(bucket, key).await? {
                Some(_) => Ok(Bytes::new()),
                None => Err(not_found(bucket, key)),
            };
        }
        let last = start.saturating_add(len - 1);
        match self
            .get_object(bucket, key, Some(format!("bytes={start}-{last}")))
            .await?
        {
            Some(output) => collect(output).await,
            None => Ok(Bytes::new()),
        }
    }

    async fn get_bytes(&self, bucket: &str, key: &str) -> Result<Bytes, PortError> {
        match self.get_object(bucket, key, None).await? {
            Some(output) => collect(output).await,
            None => Ok(Bytes::new()),
        }
    }

    async fn download_to(&self, bucket: &str, key: &str, path: &Path) -> Result<u64, PortError> {
        let Some(output) = self.get_object(bucket, key, None).await? else {
            return Err(not_found(bucket, key));
        };
        let result = stream_to_file(output, path).await;
        if result.is_err()
            && let Err(err) = tokio::fs::remove_file(path).await
            && err.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %path.display(), error = %err, "could not remove a partial download");
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
        let size = tokio::fs::metadata(path).await.map_err(local_disk)?.len();
        if size > self.multipart_threshold {
            return self
                .put_multipart(bucket, key, path, size, content_type)
                .await;
        }
        let body = ByteStream::from_path(path)
            .await
            .map_err(|err| PortError::Unavailable {
                service: LOCAL_DISK,
                source: Box::new(err),
            })?;
        self.put_single(bucket, key, body, size, content_type).await
    }

    async fn put_bytes(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        content_type: &str,
    ) -> Result<ObjectMeta, PortError> {
        let size = body.len() as u64;
        self.put_single(bucket, key, ByteStream::from(body), size, content_type)
            .await
    }

    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectMeta>, PortError> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut objects = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| from_sdk(service::S3, err))?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                objects.push(ObjectMeta {
                    key: key.to_owned(),
                    size: to_u64(object.size()),
                    etag: unquote(object.e_tag().unwrap_or_default()),
                    // Listings carry the checksum algorithm, never its value.
                    sha256: None,
                });
            }
        }
        // S3 lists in UTF-8 binary order already; sorting keeps the promise for any backend.
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(objects)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sdk(endpoint: Option<&str>) -> aws_config::SdkConfig {
        let mut builder = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"));
        if let Some(url) = endpoint {
            builder = builder.endpoint_url(url);
        }
        builder.build()
    }

    #[test]
    fn an_endpoint_override_switches_to_path_style() {
        assert!(needs_path_style(&sdk(Some("http://127.0.0.1:5000"))));
        assert!(!needs_path_style(&sdk(None)));
    }

    #[test]
    fn base64_sha256_becomes_lower_case_hex() {
        // SHA-256 of the empty string.
        assert_eq!(
            sha256_hex("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=").as_deref(),
            Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
    }

    #[test]
    fn composite_and_malformed_checksums_are_not_reported_as_sha256() {
        assert_eq!(
            sha256_hex("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=-3"),
            None
        );
        assert_eq!(sha256_hex("AAAA"), None);
    }

    #[test]
    fn part_size_grows_to_fit_ten_thousand_parts() {
        let store = S3ObjectStore::new(Client::from_conf(
            aws_sdk_s3::Config::builder()
                .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
                .build(),
        ));
        assert_eq!(store.part_size_for(1024), DEFAULT_PART_SIZE);
        let huge = 400 * 1024 * 1024 * 1024;
        assert!(store.part_size_for(huge) * MAX_PARTS >= huge);
        assert_eq!(
            store.with_multipart(1, 1).part_size,
            MIN_PART_SIZE,
            "parts below the S3 minimum are raised to it"
        );
    }
}
