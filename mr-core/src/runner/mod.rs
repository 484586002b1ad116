//! Runners: how a job's steps are executed. [`local`] runs everything in this
//! process on a thread pool.

pub mod limits;
pub mod local;
pub mod progress;
pub mod schedule;
pub mod task;
pub mod timeline;
pub mod workdir;
