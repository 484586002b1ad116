//! # mr-examples: example jobs
//!
//! - [`top_lectures`]: a two-step job (count views per lecture, then select the top ten).
//! - [`wrong_mean`]: deliberately wrong, the demo job of `mr check`.
//! - [`panic_on`]: a test fixture whose code panics on marked lines.
//!
//! The sample clicklogs of the README live in `examples/logs/`.
#![deny(missing_docs)]
use mr_core::Job;
use std::sync::Arc;

pub mod panic_on;
pub mod top_lectures;
pub mod wrong_mean;

/// Every example job.
pub fn all() -> Vec<Arc<dyn Job>> {
    vec![
        Arc::new(top_lectures::TopLectures),
        Arc::new(wrong_mean::WrongMean),
        Arc::new(panic_on::PanicOn),
    ]
}
