//! AWS adapters of the domain ports: S3, DynamoDB, Step Functions.
