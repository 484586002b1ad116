//! # mr-examples: example jobs
//!
//! - [`csv_count`]: rows and fields of CSV files ([`mr_core::Csv`] input).
//! - [`top_lectures`]: a two-step job (count views per lecture, then select the top ten).
//! - Ports of mrjob 0.7.4's own examples, with the same command-line options
//!   (see docs/from-mrjob.md): [`mr_grep`] (a required option, raw output,
//!   map-only), [`mr_most_used_word`] (two steps, a file option, JSON-value
//!   output), [`mr_wc`] (`mapper_final`, zeros on empty input),
//!   [`mr_count_lines_right`] (`mapper_final` and a reducer: a count per
//!   map task, summed),
//!   [`mr_count_lines_by_file`] (input URIs), [`mr_next_word_stats`] (sorted
//!   values, compound keys), [`mr_log_sampler`] (a random sample: int
//!   options, sorted values, raw output), [`mr_words_containing_u_freq_count`]
//!   (`mapper_pre_filter` as a skip in the mapper), [`mr_text_classifier`]
//!   (`mapper_raw`: whole files as input; four steps, counters),
//!   [`mr_phone_to_url`] (`mapper_raw` on Common Crawl WET files: a WARC
//!   record reader; two steps).
//! - [`wc_files`]: `wc` for each input file, read whole (a mapper that reads
//!   files: mrjob's `mapper_raw`).
//! - [`wrong_mean`]: deliberately wrong, the demo job of `mr check`.
//! - [`reduce_totals`]: a reducer's final hook (mrjob's `reducer_final`),
//!   and what its output depends on (the reduce tasks; Hadoop drops a
//!   keyless task's).
//! - [`panic_on`]: a test fixture whose code panics on marked lines.
//! - [`option_kinds`]: a test fixture for job options with choices,
//!   repeated ones and file options given as `PATH#NAME`.
//!
//! The sample clicklogs of the README live in `examples/logs/`.
#![deny(missing_docs)]
use mr_core::Job;
use std::sync::Arc;

pub mod csv_count;
pub mod json_identity;
pub mod mr_count_lines_by_file;
pub mod mr_count_lines_right;
pub mod mr_grep;
pub mod mr_log_sampler;
pub mod mr_most_used_word;
pub mod mr_next_word_stats;
pub mod mr_phone_to_url;
pub mod mr_text_classifier;
pub mod mr_wc;
pub mod mr_words_containing_u_freq_count;
pub mod option_kinds;
pub mod panic_on;
pub mod reduce_totals;
pub mod top_lectures;
pub mod wc_files;
pub mod wrong_mean;

/// Python's `open(path).read()` in text mode: universal newlines (`\r\n`
/// and `\r` read as `\n`).
fn universal_newlines(text: String) -> String {
    if text.contains('\r') {
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text
    }
}

/// Every example job.
pub fn all() -> Vec<Arc<dyn Job>> {
    vec![
        Arc::new(top_lectures::TopLectures),
        Arc::new(csv_count::CsvCount),
        Arc::new(wrong_mean::WrongMean),
        Arc::new(mr_grep::MrGrep),
        Arc::new(mr_most_used_word::MrMostUsedWord),
        Arc::new(mr_wc::MrWc),
        Arc::new(mr_count_lines_by_file::MrCountLinesByFile),
        Arc::new(mr_count_lines_right::MrCountLinesRight),
        Arc::new(mr_next_word_stats::MrNextWordStats),
        Arc::new(mr_log_sampler::MrLogSampler),
        Arc::new(mr_words_containing_u_freq_count::MrWordsContainingUFreqCount),
        Arc::new(mr_text_classifier::MrTextClassifier),
        Arc::new(mr_phone_to_url::MrPhoneToUrl),
        Arc::new(panic_on::PanicOn),
        Arc::new(json_identity::JsonIdentity),
        Arc::new(wc_files::WcFiles),
        Arc::new(reduce_totals::ReduceTotals),
        Arc::new(option_kinds::OptionKinds),
    ]
}
