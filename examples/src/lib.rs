//! # mr-examples: example jobs
//!
//! - [`csv_count`]: rows and fields of CSV files ([`mr_core::Csv`] input).
//! - [`top_lectures`]: a two-step job (count views per lecture, then select the top ten).
//!
//! The sample clicklogs of the README live in `examples/logs/`.
#![deny(missing_docs)]
use mr_core::Job;
use std::sync::Arc;

pub mod csv_count;
pub mod top_lectures;
pub mod wrong_mean;

/// Every example job.
pub fn all() -> Vec<Arc<dyn Job>> {
    vec![
        Arc::new(top_lectures::TopLectures),
        Arc::new(csv_count::CsvCount),
        Arc::new(wrong_mean::WrongMean),
    ]
}
