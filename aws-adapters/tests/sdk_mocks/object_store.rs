//! `S3ObjectStore` against mocked S3 responses.

use aws_sdk_s3::Client;
use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
use aws_sdk_s3::operation::head_object::{HeadObjectError, HeadObjectOutput};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::error::{NoSuchKey, NotFound};
use aws_sdk_s3::types::{ChecksumMode, ChecksumType};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use meeting_domain::PortError;
use meeting_domain::ports::ObjectStore;
use recorder_aws::S3ObjectStore;

use crate::three_attempts;

/// SHA-256 of "abc", base64 and hex.
const ABC_SHA256_BASE64: &str = "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";
const ABC_SHA256_HEX: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

#[tokio::test]
async fn given_an_object_with_a_sha256_when_heading_then_checksums_are_requested_and_hex_reported()
{
    let head = mock!(Client::head_object)
        .match_requests(|req| req.checksum_mode() == Some(&ChecksumMode::Enabled))
        .then_output(|| {
            HeadObjectOutput::builder()
                .content_length(3)
                .e_tag("\"900150983cd24fb0d6963f7d28e17f72\"")
                .checksum_sha256(ABC_SHA256_BASE64)
                .checksum_type(ChecksumType::FullObject)
                .build()
        });
    let client = mock_client!(aws_sdk_s3, [&head]);

    let meta = S3ObjectStore::new(client)
        .head("bucket", "key")
        .await
        .unwrap()
        .unwrap();

    assert_eq!(meta.size, 3);
    assert_eq!(meta.etag, "900150983cd24fb0d6963f7d28e17f72");
    assert_eq!(meta.sha256.as_deref(), Some(ABC_SHA256_HEX));
}

#[tokio::test]
async fn given_a_multipart_object_when_heading_then_its_composite_checksum_is_not_a_sha256() {
    let head = mock!(Client::head_object).then_output(|| {
        HeadObjectOutput::builder()
            .content_length(3)
            .e_tag("\"x-2\"")
            .checksum_sha256(format!("{ABC_SHA256_BASE64}-2"))
            .checksum_type(ChecksumType::Composite)
            .build()
    });
    let client = mock_client!(aws_sdk_s3, [&head]);

    let meta = S3ObjectStore::new(client)
        .head("bucket", "key")
        .await
        .unwrap()
        .unwrap();

    assert_eq!(meta.sha256, None);
}

#[tokio::test]
async fn given_a_missing_object_when_heading_then_none() {
    let head = mock!(Client::head_object)
        .then_error(|| HeadObjectError::NotFound(NotFound::builder().build()));
    let client = mock_client!(aws_sdk_s3, [&head]);

    let meta = S3ObjectStore::new(client)
        .head("bucket", "key")
        .await
        .unwrap();

    assert_eq!(meta, None);
}

#[tokio::test(start_paused = true)]
async fn given_a_bodyless_403_when_heading_then_access_denied() {
    let head = mock!(Client::head_object)
        .sequence()
        .http_status(403, None)
        .repeatedly()
        .build();
    let client = mock_client!(aws_sdk_s3, RuleMode::Sequential, [&head], |c| c
        .retry_config(three_attempts()));

    let result = S3ObjectStore::new(client).head("bucket", "key").await;

    assert!(
        matches!(result, Err(PortError::AccessDenied { service: "s3", .. })),
        "got {result:?}"
    );
    assert_eq!(head.num_calls(), 1);
}

#[tokio::test]
async fn given_a_range_when_reading_then_an_inclusive_byte_range_is_requested() {
    let get = mock!(Client::get_object)
        .match_requests(|req| req.range() == Some("bytes=4-11"))
        .then_output(|| {
            GetObjectOutput::builder()
                .body(ByteStream::from_static(b"ftypisom"))
                .build()
        });
    let client = mock_client!(aws_sdk_s3, [&get]);

    let bytes = S3ObjectStore::new(client)
        .get_range("bucket", "key", 4, 8)
        .await
        .unwrap();

    assert_eq!(bytes.as_ref(), b"ftypisom");
    assert_eq!(get.num_calls(), 1);
}

#[tokio::test]
async fn given_a_range_past_the_end_when_reading_then_empty_bytes() {
    let get = mock!(Client::get_object)
        .sequence()
        .http_status(
            416,
            Some(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InvalidRange</Code>\
                 <Message>The requested range is not satisfiable</Message></Error>"
                    .into(),
            ),
        )
        .build();
    let client = mock_client!(aws_sdk_s3, [&get]);

    let bytes = S3ObjectStore::new(client)
        .get_range("bucket", "key", 100, 8)
        .await
        .unwrap();

    assert!(bytes.is_empty());
}

#[tokio::test]
async fn given_a_missing_object_when_downloading_then_not_found_and_no_file() {
    let get = mock!(Client::get_object)
        .then_error(|| GetObjectError::NoSuchKey(NoSuchKey::builder().build()));
    let client = mock_client!(aws_sdk_s3, [&get]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chunk.mp4");

    let result = S3ObjectStore::new(client)
        .download_to("bucket", "key", &path)
        .await;

    assert!(
        matches!(result, Err(PortError::NotFound { .. })),
        "got {result:?}"
    );
    assert!(!path.exists());
}

#[tokio::test]
async fn given_a_body_shorter_than_announced_when_downloading_then_unavailable_and_the_partial_file_is_removed()
 {
    let get = mock!(Client::get_object).then_output(|| {
        GetObjectOutput::builder()
            .content_length(10)
            .body(ByteStream::from_static(b"abcd"))
            .build()
    });
    let client = mock_client!(aws_sdk_s3, [&get]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chunk.mp4");

    let result = S3ObjectStore::new(client)
        .download_to("bucket", "key", &path)
        .await;

    assert!(
        matches!(result, Err(PortError::Unavailable { .. })),
        "got {result:?}"
    );
    assert!(!path.exists(), "the partial file must be removed");
}
