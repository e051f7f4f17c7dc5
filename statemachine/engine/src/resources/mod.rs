//! Task resources: what a Task state's `Resource` ARN runs on.
//!
//! - an activity ARN (`arn:aws:states:<region>:<account>:activity:<name>`) → the activity queue;
//! - `arn:aws:states:::dynamodb:getItem|putItem|updateItem` → a [`TableAdapter`];
//! - an ARN registered with [`TaskHandler`] (e.g. a local stand-in for a Lambda function);
//! - anything else fails the execution with `States.Runtime` naming the resource.

pub mod dynamodb;
pub mod objects;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

pub use dynamodb::{MemoryTables, TableAdapter};
pub use objects::{DirectoryObjects, ObjectReader, ObjectSummary};

use crate::error::StatesError;

/// A custom task resource, invoked with the task input and returning its result.
#[async_trait]
pub trait TaskHandler: Send + Sync {
    /// Runs the task.
    async fn invoke(&self, resource: &str, input: Value) -> Result<Value, StatesError>;
}

/// The DynamoDB actions of the optimized integration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DynamoAction {
    /// `getItem`.
    GetItem,
    /// `putItem`.
    PutItem,
    /// `updateItem`.
    UpdateItem,
}

impl DynamoAction {
    /// The action as written in the ARN.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GetItem => "getItem",
            Self::PutItem => "putItem",
            Self::UpdateItem => "updateItem",
        }
    }
}

/// What a resource ARN designates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResourceKind {
    /// An activity.
    Activity,
    /// A DynamoDB integration.
    DynamoDb(DynamoAction),
    /// A registered custom handler.
    Custom,
    /// Nothing this engine runs.
    Unsupported,
}

/// The resources an engine runs tasks on.
#[derive(Clone)]
pub struct Resources {
    /// The DynamoDB table adapter.
    pub tables: Arc<dyn TableAdapter>,
    /// Custom handlers by exact resource ARN.
    pub handlers: HashMap<String, Arc<dyn TaskHandler>>,
    /// Where a Map's ItemReader reads objects (`None`: an ItemReader fails, saying so).
    pub objects: Option<Arc<dyn ObjectReader>>,
}

impl std::fmt::Debug for Resources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resources")
            .field("handlers", &self.handlers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Default for Resources {
    fn default() -> Self {
        Self {
            tables: Arc::new(MemoryTables::new()),
            handlers: HashMap::new(),
            objects: None,
        }
    }
}

impl Resources {
    /// Classifies a resource ARN.
    pub fn classify(&self, resource: &str) -> ResourceKind {
        if self.handlers.contains_key(resource) {
            return ResourceKind::Custom;
        }
        let parts: Vec<&str> = resource.splitn(7, ':').collect();
        if parts.len() >= 7 && parts[0] == "arn" && parts[2] == "states" {
            if parts[5] == "activity" {
                return ResourceKind::Activity;
            }
            if parts[5] == "dynamodb" {
                return match parts[6] {
                    "getItem" => ResourceKind::DynamoDb(DynamoAction::GetItem),
                    "putItem" => ResourceKind::DynamoDb(DynamoAction::PutItem),
                    "updateItem" => ResourceKind::DynamoDb(DynamoAction::UpdateItem),
                    _ => ResourceKind::Unsupported,
                };
            }
        }
        ResourceKind::Unsupported
    }

    /// Runs a DynamoDB action.
    pub async fn dynamodb(
        &self,
        action: DynamoAction,
        request: &Value,
    ) -> Result<Value, StatesError> {
        match action {
            DynamoAction::GetItem => self.tables.get_item(request).await,
            DynamoAction::PutItem => self.tables.put_item(request).await,
            DynamoAction::UpdateItem => self.tables.update_item(request).await,
        }
    }
}

/// The error of a Task whose resource this engine does not run.
pub fn unsupported(resource: &str) -> StatesError {
    StatesError::runtime(format!(
        "the local engine does not run the task resource '{resource}' (it runs activity ARNs, \
         arn:aws:states:::dynamodb:getItem/putItem/updateItem and registered handlers); mock \
         the state instead: `statemachine run --mocks FILE --test-case NAME`"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_are_classified_by_their_arn() {
        let r = Resources::default();
        assert_eq!(
            r.classify("arn:aws:states:us-east-1:123456789012:activity:media"),
            ResourceKind::Activity
        );
        assert_eq!(
            r.classify("arn:aws:states:::dynamodb:updateItem"),
            ResourceKind::DynamoDb(DynamoAction::UpdateItem)
        );
        assert_eq!(
            r.classify("arn:aws:states:::dynamodb:deleteItem"),
            ResourceKind::Unsupported
        );
        assert_eq!(
            r.classify("arn:aws:lambda:us-east-1:123456789012:function:f"),
            ResourceKind::Unsupported
        );
    }
}
