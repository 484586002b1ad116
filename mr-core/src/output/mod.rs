//! Output: part files ([`part`]), records kept aside ([`bad`]), the atomic
//! commit of an output directory ([`commit`]), results on stdout
//! ([`stdout`]), how final records are written ([`protocol`]), and the output
//! formats: lines (the part files as they are) or Parquet ([`parquet`], with
//! [`schema`] inferring its columns).

pub mod bad;
pub mod commit;
pub mod parquet;
pub mod part;
pub mod protocol;
#[cfg(feature = "parquet")]
pub mod schema;
pub mod stdout;

/// The format of the output files (`--output-format`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// `json(key) TAB json(value)` lines: `part-NNNNN`.
    #[default]
    Lines,
    /// A Parquet table: `part-NNNNN.parquet` (see [`parquet`]).
    Parquet(parquet::ParquetOptions),
}
