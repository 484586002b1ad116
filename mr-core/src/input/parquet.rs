//! Parquet input: files that start with Parquet's magic bytes `PAR1` (whatever
//! their name; a `*.parquet` that does not is read as text, with a warning)
//! are read as tables, one split per row group, each row given to the
//! mapper as one JSON object line. So `Json<T>` mappers (and `&str` mappers
//! that parse JSON) read Parquet unchanged.
//!
//! - Columns: all of them, or only those the job declares with
//!   [`crate::Job::input_columns`] (the others are never read from disk).
//! - Values: as arrow-json writes them: integers and floats as numbers,
//!   strings as strings, lists as arrays, structs as objects, timestamps and
//!   dates as ISO 8601 strings; a null is an absent field (so an `Option`
//!   field is `None`).
//! - Splits: a split owns the row groups whose first byte lies in its byte
//!   range; [`row_group_ranges`] gives one range per row group.
//!
//! ```no_run
//! # // (a Parquet file written by DuckDB: COPY (SELECT 1 AS n) TO 'x.parquet')
//! use mr_core::input::parquet::ParquetLines;
//! use std::io::Read;
//! let mut text = String::new();
//! ParquetLines::open("x.parquet".as_ref(), 0, u64::MAX, None)?.read_to_string(&mut text)?;
//! assert_eq!(text, "{\"n\":1}\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::error::{Error, Result};
use arrow_array::RecordBatch;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::file::metadata::RowGroupMetaData;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// The magic bytes at the start (and end) of a Parquet file.
pub const MAGIC: &[u8] = b"PAR1";

/// Rows converted to JSON at a time.
const BATCH_ROWS: usize = 4096;

/// The first byte of a row group (its first column chunk) and its size.
fn row_group_range(rg: &RowGroupMetaData) -> (u64, u64) {
    let start = rg
        .columns()
        .iter()
        .map(|c| {
            let (s, _) = c.byte_range();
            s
        })
        .min()
        .unwrap_or(0);
    let len = rg.columns().iter().map(|c| c.byte_range().1).sum::<u64>();
    (start, len)
}

/// The byte ranges `[start, end)` of a Parquet file's row groups, in order:
/// the splits of the file.
pub fn row_group_ranges(path: &Path) -> Result<Vec<(u64, u64)>> {
    let file = File::open(path).map_err(|e| Error::io("opening", path, e))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| format_error(path, e))?;
    Ok(builder
        .metadata()
        .row_groups()
        .iter()
        .map(|rg| {
            let (s, len) = row_group_range(rg);
            (s, s + len.max(1))
        })
        .collect())
}

fn format_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Format {
        what: format!("reading Parquet file {}", path.display()),
        reason: e.to_string(),
    }
}

/// A split of a Parquet file as JSON lines (a [`Read`]).
pub struct ParquetLines {
    batches: ParquetRecordBatchReader,
    buf: Vec<u8>,
    pos: usize,
    first_row: u64,
}

impl ParquetLines {
    /// The rows of the row groups starting in `[start, end)`, only `columns`
    /// (top-level names; unknown names are ignored) or all.
    pub fn open(
        path: &Path,
        start: u64,
        end: u64,
        columns: Option<&[String]>,
    ) -> Result<ParquetLines> {
        let file = File::open(path).map_err(|e| Error::io("opening", path, e))?;
        let builder =
            ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| format_error(path, e))?;
        let row_groups = builder.metadata().row_groups();
        let groups: Vec<usize> = row_groups
            .iter()
            .enumerate()
            .filter(|(_, rg)| (start..end).contains(&row_group_range(rg).0))
            .map(|(i, _)| i)
            .collect();
        let first_row = row_groups[..groups.first().copied().unwrap_or(0)]
            .iter()
            .map(|rg| rg.num_rows().max(0) as u64)
            .sum();
        let mut builder = builder.with_row_groups(groups).with_batch_size(BATCH_ROWS);
        if let Some(cols) = columns {
            let roots: Vec<usize> = builder
                .schema()
                .fields()
                .iter()
                .enumerate()
                .filter(|(_, f)| cols.iter().any(|c| c == f.name()))
                .map(|(i, _)| i)
                .collect();
            let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
            builder = builder.with_projection(mask);
        }
        let batches = builder.build().map_err(|e| format_error(path, e))?;
        Ok(ParquetLines {
            batches,
            buf: Vec::new(),
            pos: 0,
            first_row,
        })
    }

    /// The number (from 0) in the file of the split's first row.
    pub fn first_row(&self) -> u64 {
        self.first_row
    }

    fn next_batch(&mut self) -> io::Result<bool> {
        let Some(batch) = self.batches.next() else {
            return Ok(false);
        };
        let batch: RecordBatch =
            batch.map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        self.buf.clear();
        self.pos = 0;
        let mut w = arrow_json::LineDelimitedWriter::new(&mut self.buf);
        w.write(&batch)
            .and_then(|()| w.finish())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        Ok(true)
    }
}

impl Read for ParquetLines {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.buf.len() {
            if !self.next_batch()? {
                return Ok(0);
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::parquet::{ParquetOptions, write_part};
    use crate::output::schema::RowType;
    use std::sync::Arc;

    #[test]
    fn row_groups_are_splits_and_columns_are_projected() {
        let d = tempfile::tempdir().unwrap();
        let part = d.path().join("part");
        let mut text = String::new();
        for i in 0..10 {
            text.push_str(&format!(
                "null\t{{\"n\":{i},\"s\":\"x{i}\",\"o\":{{\"a\":[{i}]}},\"z\":null}}\n"
            ));
        }
        std::fs::write(&part, &text).unwrap();
        let mut t = RowType::default();
        for l in text.lines() {
            t.observe(l.split_once('\t').unwrap().1.as_bytes()).unwrap();
        }
        let schema = Arc::new(t.arrow_schema().unwrap());
        let pq = d.path().join("t.parquet");
        let opts = ParquetOptions {
            row_group_rows: 4,
            ..Default::default()
        };
        write_part(&part, "part", &pq, (&schema, &schema), &opts).unwrap();
        let ranges = row_group_ranges(&pq).unwrap();
        assert_eq!(ranges.len(), 3);
        let mut all = String::new();
        for (s, e) in &ranges {
            ParquetLines::open(&pq, *s, *e, None)
                .unwrap()
                .read_to_string(&mut all)
                .unwrap();
        }
        assert_eq!(
            all.lines().next().unwrap(),
            r#"{"n":0,"s":"x0","o":{"a":[0]}}"#
        );
        assert_eq!(all.lines().count(), 10);
        let mut some = String::new();
        let cols = ["s".to_string(), "nope".to_string()];
        ParquetLines::open(&pq, ranges[1].0, ranges[1].1, Some(&cols))
            .unwrap()
            .read_to_string(&mut some)
            .unwrap();
        assert_eq!(
            some,
            "{\"s\":\"x4\"}\n{\"s\":\"x5\"}\n{\"s\":\"x6\"}\n{\"s\":\"x7\"}\n"
        );
        std::fs::write(&pq, b"PAR1 not really").unwrap();
        let e = row_group_ranges(&pq).unwrap_err().to_string();
        assert!(e.contains("reading Parquet file"), "{e}");
    }
}
