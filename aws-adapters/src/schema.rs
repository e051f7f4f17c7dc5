//! The DynamoDB table schemas as code: attribute names, keys and indexes of the chunk table and
//! the catalog, and the functions that create them (tests, the local tool). Terraform declares the
//! same tables in `infra/`; keep the two in step with the table below.
//!
//! ```text
//! Chunk table (one item per chunk)                      billing: PAY_PER_REQUEST
//!   key      recordingKey (S, HASH) = "{userId}/{recordingId}"  chunkIndex (N, RANGE)
//!   GSI      userId-uploadedAt      userId (S, HASH)  uploadedAt (S, RANGE)   projection ALL
//!   attrs    recordingId S, userId S, uploadedAt S (RFC 3339), s3Key S, fileSize N, etag S,
//!            sequencer S, status S (validated|failed), reuploadCount N, lastError S?, sha256 S?
//!
//! Catalog (one item per recording)                      billing: PAY_PER_REQUEST
//!   key      userId (S, HASH)  recordingId (S, RANGE)
//!   stream   NEW_AND_OLD_IMAGES (drives the completion detector on expectedChunkCount writes)
//!   GSI      userId-updatedAt       userId (S, HASH)  updatedAt (S, RANGE)    projection ALL
//!   GSI      sweep-due              sweepShard (S, HASH)  sweepAt (S, RANGE)  projection ALL
//!            sparse: `sweepShard` = "due" and `sweepAt` exist only while somebody must still
//!            look at the recording (see the sweeper), so the index is the sweeper's work list.
//!   attrs    status S (absent on an item the client created: read as recording),
//!            expectedChunkCount N?, stoppedAt S?, endSignal S? (client|manifest),
//!            missingChunks L<N>?, failedChunks L<N>?, executionName S?, run N, error S?,
//!            cause S?, results M? {recordingKey S, audioKey S, transcriptKey S, summaryKey S,
//!            durationSeconds N}, updatedAt S (RFC 3339), sweepShard S?, sweepAt S?
//! ```
//!
//! Recording ids are chosen by clients, so every key is scoped by the user: the catalog's
//! partition key is the user id (an IAM condition on `dynamodb:LeadingKeys` confines a client to
//! its own items) and the chunk table's is `{userId}/{recordingId}`.
//!
//! Why a sparse index for the sweeper instead of a scan: a scan reads (and bills) every recording
//! ever made on every sweep; the sparse index holds only recordings someone must look at, in the
//! order they are due, so a sweep reads a bounded page of exactly its work. Its single partition
//! value takes a few writes per recording, far below the 1,000 writes/s a DynamoDB partition
//! accepts.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
};
use meeting_domain::PortError;

use aws_smithy_types::error::operation::BuildError;

use crate::error::{from_sdk, service};

/// Attribute names of the chunk table (camelCase, as in the seed).
pub mod chunk_attr {
    /// Partition key: `{userId}/{recordingId}` (recording ids are unique per user only).
    pub const RECORDING_KEY: &str = "recordingKey";
    /// The recording id.
    pub const RECORDING_ID: &str = "recordingId";
    /// Sort key.
    pub const CHUNK_INDEX: &str = "chunkIndex";
    /// Owner; user-index partition key.
    pub const USER_ID: &str = "userId";
    /// Object creation time; user-index sort key.
    pub const UPLOADED_AT: &str = "uploadedAt";
    /// Object key.
    pub const S3_KEY: &str = "s3Key";
    /// Object size.
    pub const FILE_SIZE: &str = "fileSize";
    /// Object ETag.
    pub const ETAG: &str = "etag";
    /// S3 event sequencer.
    pub const SEQUENCER: &str = "sequencer";
    /// `validated` / `failed`.
    pub const STATUS: &str = "status";
    /// Number of replacing re-uploads.
    pub const REUPLOAD_COUNT: &str = "reuploadCount";
    /// Failure reason.
    pub const LAST_ERROR: &str = "lastError";
    /// Hex SHA-256 of the object.
    pub const SHA256: &str = "sha256";
    /// X-Ray trace header of the invocation that recorded the chunk.
    pub const TRACE_HEADER: &str = "traceHeader";
}

/// Attribute names of the catalog.
pub mod catalog_attr {
    /// Sort key (recording ids are unique per user only).
    pub const RECORDING_ID: &str = "recordingId";
    /// Partition key, and the user index's partition key. A client's IAM policy can restrict it
    /// to its own items with `dynamodb:LeadingKeys`.
    pub const USER_ID: &str = "userId";
    /// Recording status (wire name).
    pub const STATUS: &str = "status";
    /// Expected number of chunks.
    pub const EXPECTED_CHUNK_COUNT: &str = "expectedChunkCount";
    /// When the end became known.
    pub const STOPPED_AT: &str = "stoppedAt";
    /// `client` or `manifest`: how the end became known.
    pub const END_SIGNAL: &str = "endSignal";
    /// Missing indices.
    pub const MISSING_CHUNKS: &str = "missingChunks";
    /// Failed indices.
    pub const FAILED_CHUNKS: &str = "failedChunks";
    /// Processing execution name.
    pub const EXECUTION_NAME: &str = "executionName";
    /// Processing run.
    pub const RUN: &str = "run";
    /// Error name.
    pub const ERROR: &str = "error";
    /// Error cause.
    pub const CAUSE: &str = "cause";
    /// Results map.
    pub const RESULTS: &str = "results";
    /// Last change; user-index sort key.
    pub const UPDATED_AT: &str = "updatedAt";
    /// Sweeper-index partition key, present only while someone must still look at the
    /// recording (always with [`SWEEP_AT`]).
    pub const SWEEP_SHARD: &str = "sweepShard";
    /// The only value of [`SWEEP_SHARD`]. One partition: a sweep reads it in `sweepAt` order, and
    /// its write rate (a few writes per recording) is far below a partition's 1,000 WCU/s.
    pub const SWEEP_SHARD_VALUE: &str = "due";
    /// When the sweeper looks at the recording next; sweeper-index sort key.
    pub const SWEEP_AT: &str = "sweepAt";
}

/// Attribute names inside the catalog's `results` map.
pub mod results_attr {
    /// Key of `recording.mp4`.
    pub const RECORDING_KEY: &str = "recordingKey";
    /// Key of the speech audio.
    pub const AUDIO_KEY: &str = "audioKey";
    /// Key of `transcript.json`.
    pub const TRANSCRIPT_KEY: &str = "transcriptKey";
    /// Key of `summary.json`.
    pub const SUMMARY_KEY: &str = "summaryKey";
    /// Duration in seconds.
    pub const DURATION_SECONDS: &str = "durationSeconds";
}

/// The chunk table's user index.
pub const CHUNK_USER_INDEX: &str = "userId-uploadedAt";
/// The catalog's user index.
pub const CATALOG_USER_INDEX: &str = "userId-updatedAt";
/// The catalog's sparse sweeper index.
pub const CATALOG_SWEEP_INDEX: &str = "sweep-due";

fn key(name: &str, key_type: KeyType) -> Result<KeySchemaElement, PortError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .map_err(invalid_request)
}

fn attribute(name: &str, kind: ScalarAttributeType) -> Result<AttributeDefinition, PortError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(kind)
        .build()
        .map_err(invalid_request)
}

fn gsi(name: &str, hash: &str, range: &str) -> Result<GlobalSecondaryIndex, PortError> {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key(hash, KeyType::Hash)?)
        .key_schema(key(range, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(invalid_request)
}

/// A builder rejected a request part we assembled (a required field unset): a bug here.
fn invalid_request(err: BuildError) -> PortError {
    PortError::Rejected {
        service: service::DYNAMODB,
        source: Box::new(err),
    }
}

/// Creates the chunk table `name` (see the module docs for the schema) and waits until it is
/// active.
pub async fn create_chunk_table(client: &Client, name: &str) -> Result<(), PortError> {
    use chunk_attr::*;
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute(RECORDING_KEY, ScalarAttributeType::S)?)
        .attribute_definitions(attribute(CHUNK_INDEX, ScalarAttributeType::N)?)
        .attribute_definitions(attribute(USER_ID, ScalarAttributeType::S)?)
        .attribute_definitions(attribute(UPLOADED_AT, ScalarAttributeType::S)?)
        .key_schema(key(RECORDING_KEY, KeyType::Hash)?)
        .key_schema(key(CHUNK_INDEX, KeyType::Range)?)
        .global_secondary_indexes(gsi(CHUNK_USER_INDEX, USER_ID, UPLOADED_AT)?)
        .send()
        .await
        .map_err(|err| from_sdk(service::DYNAMODB, err))?;
    wait_until_active(client, name).await
}

/// Creates the catalog table `name` (see the module docs for the schema), with its stream of
/// new and old images, and waits until it is active.
pub async fn create_catalog_table(client: &Client, name: &str) -> Result<(), PortError> {
    use catalog_attr::*;
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute(RECORDING_ID, ScalarAttributeType::S)?)
        .attribute_definitions(attribute(USER_ID, ScalarAttributeType::S)?)
        .attribute_definitions(attribute(UPDATED_AT, ScalarAttributeType::S)?)
        .attribute_definitions(attribute(SWEEP_SHARD, ScalarAttributeType::S)?)
        .attribute_definitions(attribute(SWEEP_AT, ScalarAttributeType::S)?)
        .key_schema(key(USER_ID, KeyType::Hash)?)
        .key_schema(key(RECORDING_ID, KeyType::Range)?)
        .global_secondary_indexes(gsi(CATALOG_USER_INDEX, USER_ID, UPDATED_AT)?)
        .global_secondary_indexes(gsi(CATALOG_SWEEP_INDEX, SWEEP_SHARD, SWEEP_AT)?)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .map_err(invalid_request)?,
        )
        .send()
        .await
        .map_err(|err| from_sdk(service::DYNAMODB, err))?;
    wait_until_active(client, name).await
}

async fn wait_until_active(client: &Client, name: &str) -> Result<(), PortError> {
    /// A new on-demand table with two indexes is usually active within a minute.
    const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(300);
    client
        .wait_until_table_exists()
        .table_name(name)
        .wait(MAX_WAIT)
        .await
        .map_err(|err| PortError::Unavailable {
            service: service::DYNAMODB,
            source: Box::new(err),
        })?;
    Ok(())
}
