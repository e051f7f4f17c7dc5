//! SDK behaviour of the AWS adapters with `aws-smithy-mocks`: which calls are made with which
//! expressions, how service errors map to port outcomes, and that throttling is retried by the
//! SDK's retry configuration before it surfaces. No network: every response is a mock.

mod catalog;
mod chunk_table;
mod object_store;
mod workflow_starter;

use std::sync::{Arc, Mutex};

use aws_smithy_types::retry::RetryConfig;

/// The retry configuration used by the tests: the SDK's standard strategy, 3 attempts.
pub fn three_attempts() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(3)
}

/// Collects the requests a mock rule saw.
#[derive(Debug)]
pub struct Captured<T>(Arc<Mutex<Vec<T>>>);

impl<T> Clone for Captured<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T> Default for Captured<T> {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(Vec::new())))
    }
}

impl<T: Clone> Captured<T> {
    /// Nothing captured yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one request.
    pub fn push(&self, value: &T) {
        self.0.lock().unwrap().push(value.clone());
    }

    /// Every captured request, in order.
    pub fn all(&self) -> Vec<T> {
        self.0.lock().unwrap().clone()
    }
}
