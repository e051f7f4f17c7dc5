//! The code that runs in AWS, end to end on emulators: S3 → EventBridge rules → SQS targets →
//! the Chunk Upload Handler; the catalog's DynamoDB stream → the stream handler; Step Functions
//! (the local engine's API) → the real `activity-worker` process with Whisper and the extractive
//! summarizer, its results in moto's S3 and the workflow's DynamoDB tasks writing moto's
//! catalog. Needs `scripts/setup.sh` (moto, ffmpeg, espeak-ng, the Whisper model).
//!
//! * [`harness`]: the deployment (infra's names, patterns and definition) and its teardown.
//! * [`pump`]: the Lambda handlers driven from the queues and the stream.
//! * [`worker`]: the worker binary as a child process.
//! * [`table_adapter`]: the engine's DynamoDB integration over aws-sdk-dynamodb.
//! * [`scenarios`]: the behaviours.

mod harness;
mod pump;
mod scenarios;
mod table_adapter;
mod worker;
