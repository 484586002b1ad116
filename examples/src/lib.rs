//! Example jobs.
#![deny(missing_docs)]
use mr_core::Job;
use std::sync::Arc;

/// Every example job.
pub fn all() -> Vec<Arc<dyn Job>> {
    vec![]
}
