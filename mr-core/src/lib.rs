//! # mr-core: the job API and the engine of `mr`
//!
//! `mr` runs MapReduce jobs written in Rust over newline-delimited text and
//! JSON, on all the cores of one machine, with bounded memory; the same job
//! binary runs as a Hadoop Streaming task.
//!
//! ```text
//! input ─▶ split ─▶ map ─▶ combine ─▶ spill/sort ─▶ merge ─▶ reduce ─▶ output
//! input/   input/   map_   shuffle/   shuffle/       shuffle/ reduce_   output/
//! listing  split    task   buffer     spill          merge    task      commit
//! ```
//!
//! - [`job`]: what a user writes: [`Mapper`], [`Reducer`] (also used as a
//!   combiner), [`Job`] and its [`Step`]s;
//! - [`emit`]: how records leave user code;
//! - [`protocol`]: the `json(key) TAB json(value)` wire format and input decoding;
//! - [`input`]: files, directories, globs and gzip, cut into splits of lines;
//! - [`shuffle`]: partitioning, the memory-bounded sort buffer, spill files
//!   and the k-way merge;
//! - [`output`]: part files, `_SUCCESS`, records kept aside;
//! - [`options`]: the job's own options, files and jobconf;
//! - [`runner`]: the local runner (and its temp dir, [`runner::workdir`]);
//! - [`lock`]: owner locks that keep runs apart and mark their files as live;
//! - [`paths`]: paths compared by what they name (links, bind mounts, case);
//! - [`replace`]: files replaced whole, keeping their mode and group;
//! - [`categorical`]: consistent integer ids for string columns.
//!
//! ## A word count
//!
//! ```
//! use mr_core::{Emitter, Job, JobError, Mapper, Reducer, RunConfig, Step, Values};
//!
//! #[derive(Clone)]
//! struct Words;
//! impl Mapper for Words {
//!     type Input<'a> = &'a str;
//!     type Key = String;
//!     type Value = u64;
//!     fn map(&mut self, line: &str, out: &mut Emitter<String, u64>) -> Result<(), JobError> {
//!         for w in line.split_whitespace() {
//!             out.emit(&w.to_lowercase(), 1)?;
//!         }
//!         Ok(())
//!     }
//! }
//!
//! #[derive(Clone)]
//! struct Sum;
//! impl Reducer for Sum {
//!     type Key = String;
//!     type Value = u64;
//!     type OutKey = String;
//!     type OutValue = u64;
//!     fn reduce(&mut self, word: String, counts: Values<u64>, out: &mut Emitter<String, u64>)
//!         -> Result<(), JobError> {
//!         out.emit(&word, counts.sum())
//!     }
//! }
//!
//! struct WordCount;
//! impl Job for WordCount {
//!     fn name(&self) -> &str { "word_count" }
//!     fn description(&self) -> &str { "Counts words." }
//!     fn steps(&self) -> Vec<Step> {
//!         vec![Step::map(Words).combine(Sum).reduce(Sum)]
//!     }
//! }
//!
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::write(dir.path().join("a.txt"), "the cat\nThe dog\n").unwrap();
//! let cfg = RunConfig { inputs: vec![dir.path().display().to_string()], ..Default::default() };
//! let mut out = Vec::new();
//! mr_core::run_job(&WordCount, &cfg, &mut out).unwrap();
//! assert_eq!(String::from_utf8(out).unwrap(), "\"cat\"\t1\n\"dog\"\t1\n\"the\"\t2\n");
//! ```
#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links, rustdoc::private_intra_doc_links)]

pub mod cancel;
pub mod categorical;
pub mod config;
pub mod counters;
pub mod emit;
pub mod error;
pub mod fold;
pub mod input;
pub mod job;
pub mod laws;
pub mod lock;
mod map_task;
pub mod options;
pub mod output;
pub mod panics;
pub mod paths;
pub mod protocol;
mod reduce_task;
pub mod reducers;
pub mod replace;
pub mod runner;
pub mod shuffle;
mod staged;
pub mod status;
pub mod stderr;
pub mod table_hash;
pub mod testing;

pub use config::{CutStreams, Output, RunConfig};
pub use counters::Counters;
pub use emit::Emitter;
pub use error::{Error, JobError, Location, Result, SplitLine};
pub use fold::Fold;
pub use input::csv::Csv;
pub use job::{
    ColumnType, IdentityMapper, Job, Mapper, Reducer, Step, TaskContext, TaskKind, TypedStep,
    Values,
};
pub use options::{JobOption, JobParams, OptionKind};
pub use output::protocol::OutputProtocol;
pub use protocol::{FromLine, Json, TextLine};
pub use runner::local::{JobReport, run_job};
