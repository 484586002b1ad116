//! # mr-jobs: the jobs shipped with `mr`
//!
//! One file a job, each with its tests beside it:
//!
//! | job | what it computes |
//! |---|---|
//! | [`word_count`] | word frequencies, exactly as mrjob's `mr_word_freq_count.py` |
//! | [`url_views`] | page views per URL in JSON clicklogs |
//! | [`video_tagging`] | per user, each lecture-video watch tagged first view / review |
//! | [`events_table`] | clicklog events as a typed table, categorical strings as ids |
#![deny(missing_docs)]

use mr_core::Job;
use std::sync::Arc;

pub mod events_table;
pub mod json_scan;
pub mod url_views;
pub mod video_tagging;
pub mod word_count;

/// Every shipped job, in the order `mr jobs` lists them.
pub fn all() -> Vec<Arc<dyn Job>> {
    vec![
        Arc::new(word_count::WordCount),
        Arc::new(url_views::UrlViews),
        Arc::new(video_tagging::VideoTagging),
        Arc::new(events_table::EventsTable),
    ]
}
