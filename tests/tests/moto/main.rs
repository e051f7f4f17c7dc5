//! Cross-crate tests on a pinned moto server (one per test binary; `scripts/setup.sh python`
//! installs it): the chaos harness over the DynamoDB and S3 adapters, and the S3 → EventBridge →
//! SQS path with the event patterns of `asl/event-patterns/`.

mod chaos;
mod eventbridge;
