//! Input: which files to read ([`listing`]), how they are cut into splits
//! ([`split`]), and how a split becomes lines ([`lines`], decompressing ahead
//! on a helper thread: [`read_ahead`], gzip's CRC-32 checked on the reading one:
//! [`gzip`], damage inside compressed data told from a cut: [`damage`], bzip2 a block per thread: [`bzip2_blocks`], Hadoop's `.deflate`:
//! [`zlib`], its `.snappy` and `.lz4`: [`hadoop_blocks`]); tables ([`parquet`]) become JSON
//! lines; [`csv`] decodes CSV lines for mappers; [`whole_file`] gives a
//! mapper whole files instead of lines (mrjob's `mapper_raw`).

pub mod bzip2_blocks;
pub mod csv;
pub mod damage;
pub mod gzip;
pub mod hadoop_blocks;
pub mod lines;
pub mod listing;
pub mod mapped;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod pieces;
pub mod read_ahead;
pub mod split;
pub mod whole_file;
pub mod zlib;

pub use lines::LineReader;
pub use listing::{InputFile, InputSource, list_inputs};
pub use split::{Split, make_splits};
