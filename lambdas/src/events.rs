//! Typed events this crate consumes, parsed tolerantly:
//!
//! * S3 "Object Created" notifications delivered by EventBridge. AWS names the ETag field `etag`,
//!   moto `eTag`; `sequencer`, `version-id` and `reason` may be absent. Any other S3 detail type
//!   (moto sends "Object Tags Added" after every put) is acknowledged and ignored.
//! * Records of the catalog table's DynamoDB stream, reduced to the one change we act on: an
//!   `expectedChunkCount` appearing on a recording.

use aws_lambda_events::event::dynamodb::EventRecord;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::LambdaError;

/// EventBridge `source` of S3 notifications.
pub const S3_SOURCE: &str = "aws.s3";
/// EventBridge `detail-type` of object creations.
pub const OBJECT_CREATED: &str = "Object Created";

/// The `detail` of an S3 EventBridge notification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct S3EventDetail {
    /// Detail schema version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The bucket.
    pub bucket: S3Bucket,
    /// The object.
    pub object: S3Object,
    /// S3 request id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Who made the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester: Option<String>,
    /// Source IP of the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip_address: Option<String>,
    /// `PutObject`, `CompleteMultipartUpload`, `CopyObject`, … (moto: always `ObjectCreated`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The bucket of a notification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Bucket {
    /// Bucket name.
    pub name: String,
}

/// The object of a notification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct S3Object {
    /// The key, form-encoded as S3 sends it.
    pub key: String,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// ETag (AWS `etag`, moto `eTag`).
    #[serde(default, alias = "eTag", skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Version id on versioned buckets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// Orders events of the same key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequencer: Option<String>,
}

/// An S3 object creation, the only S3 event we act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectCreated {
    /// Event time, when present.
    pub time: Option<DateTime<Utc>>,
    /// The notification detail.
    pub detail: S3EventDetail,
}

impl ObjectCreated {
    /// The ETag without quotes (empty when the event carries none).
    pub fn etag(&self) -> String {
        self.detail
            .object
            .etag
            .as_deref()
            .unwrap_or_default()
            .trim_matches('"')
            .to_owned()
    }

    /// The sequencer; when an emulator omits it, a fixed-width hex of the event time in
    /// microseconds, so newer events still compare greater.
    pub fn sequencer(&self) -> String {
        match &self.detail.object.sequencer {
            Some(s) if !s.is_empty() => s.clone(),
            _ => format!(
                "{:016X}",
                self.time.map_or(0, |t| t.timestamp_micros()).max(0)
            ),
        }
    }
}

/// What an EventBridge event from S3 turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum S3Notification {
    /// An object was created.
    Created(Box<ObjectCreated>),
    /// Any other event (e.g. "Object Tags Added"): acknowledge and ignore.
    Ignored {
        /// Its source.
        source: String,
        /// Its detail type.
        detail_type: String,
    },
}

/// Parses an EventBridge event that is expected to come from S3.
pub fn parse_s3_notification(
    event: EventBridgeEvent<Value>,
) -> Result<S3Notification, LambdaError> {
    if event.source != S3_SOURCE || event.detail_type != OBJECT_CREATED {
        return Ok(S3Notification::Ignored {
            source: event.source,
            detail_type: event.detail_type,
        });
    }
    let detail: S3EventDetail =
        serde_json::from_value(event.detail).map_err(|e| LambdaError::InvalidEvent {
            kind: "S3 Object Created",
            detail: e.to_string(),
        })?;
    Ok(S3Notification::Created(Box::new(ObjectCreated {
        time: event.time,
        detail,
    })))
}

/// Parses raw JSON of an EventBridge event.
pub fn parse_s3_notification_json(raw: &[u8]) -> Result<S3Notification, LambdaError> {
    let event: EventBridgeEvent<Value> =
        serde_json::from_slice(raw).map_err(|e| LambdaError::InvalidEvent {
            kind: "EventBridge",
            detail: e.to_string(),
        })?;
    parse_s3_notification(event)
}

/// The fields of a catalog item that the stream handler reads.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CatalogImage {
    /// `recordingId`.
    pub recording_id: Option<String>,
    /// `userId`.
    pub user_id: Option<String>,
    /// `expectedChunkCount`.
    pub expected_chunk_count: Option<u32>,
    /// `status`.
    pub status: Option<String>,
}

impl CatalogImage {
    /// Reads the image of a stream record (DynamoDB JSON: `{"attr": {"S": "…"}}`).
    pub fn from_item(item: &impl Serialize) -> Self {
        let value = serde_json::to_value(item).unwrap_or(Value::Null);
        let string = |name: &str| value.get(name)?.get("S")?.as_str().map(str::to_owned);
        let number = |name: &str| value.get(name)?.get("N")?.as_str()?.trim().parse().ok();
        Self {
            recording_id: string("recordingId"),
            user_id: string("userId"),
            expected_chunk_count: number("expectedChunkCount"),
            status: string("status"),
        }
    }
}

/// A catalog change that may complete a recording.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedCountWritten {
    /// User id as stored (validated by the caller).
    pub user_id: String,
    /// Recording id as stored (validated by the caller).
    pub recording_id: String,
    /// The count written.
    pub expected_chunk_count: u32,
}

/// Whether a catalog stream record is the write of `expectedChunkCount` (the count is in the new
/// image and was not in the old one). Other changes, including our own status transitions, are
/// not triggers.
pub fn expected_count_written(record: &EventRecord) -> Option<ExpectedCountWritten> {
    if record.event_name == "REMOVE" {
        return None;
    }
    let new = CatalogImage::from_item(&record.change.new_image);
    let old = CatalogImage::from_item(&record.change.old_image);
    let count = new.expected_chunk_count?;
    if old.expected_chunk_count == Some(count) {
        return None;
    }
    let keys = CatalogImage::from_item(&record.change.keys);
    let recording_id = new.recording_id.or(keys.recording_id)?;
    let user_id = new.user_id.or(keys.user_id)?;
    Some(ExpectedCountWritten {
        user_id,
        recording_id,
        expected_chunk_count: count,
    })
}
