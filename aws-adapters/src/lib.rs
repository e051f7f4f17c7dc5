//! AWS adapters of the domain ports: S3 ([`S3ObjectStore`]), DynamoDB ([`DynamoDbChunkTable`],
//! [`DynamoDbCatalog`], with their schemas in [`schema`]) and Step Functions
//! ([`SfnWorkflowStarter`]); for operators, Step Functions executions ([`SfnExecutions`]) and the
//! SQS dead-letter queues ([`SqsDeadLetterQueue`]).
//!
//! Each adapter implements the semantics written on its port in `meeting_domain::ports` and runs
//! the same contract suite as the in-memory fakes (on moto). SDK errors become
//! [`meeting_domain::PortError`]s in one place, [`error`], by their codes, never their messages.
//! Retries of throttling and transient errors are the SDK's job (its retry config, set where the
//! client is built); an error that reaches a port has exhausted them.

pub mod catalog;
pub mod chunk_table;
pub mod dead_letters;
pub mod error;
pub mod executions;
mod item;
pub mod object_store;
pub mod schema;
pub mod workflow_starter;

pub use catalog::DynamoDbCatalog;
pub use chunk_table::DynamoDbChunkTable;
pub use dead_letters::{DeadLetter, SqsDeadLetterQueue};
pub use error::AdapterError;
pub use executions::SfnExecutions;
pub use object_store::{S3ObjectStore, s3_client};
pub use schema::{create_catalog_table, create_chunk_table};
pub use workflow_starter::SfnWorkflowStarter;
