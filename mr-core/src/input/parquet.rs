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
//!   field is `None`). A row holding a date, time or timestamp out of
//!   chrono's range is a bad record naming its row and column (see
//!   [`ParquetLines::notes`]).
//! - A column of JSON text (Parquet's JSON logical type: what mr writes for
//!   a tuple key like `["course", 1]`, DuckDB's `JSON`) is given as the JSON
//!   it holds, not as a string of it.
//! - Time zones: a timestamp column with an offset (`+00:00`, mr's own) or a
//!   named zone (`UTC`, `Europe/Paris`: DuckDB's `TIMESTAMPTZ`, pandas,
//!   Polars) is an ISO 8601 string with its offset.
//! - A key/value table (exactly the columns `key` and `value`: what
//!   `--output-format parquet` writes for records whose value is not an
//!   object) gives `KEY<TAB>VALUE` lines, the records it was made from, so
//!   that a job chained through Parquet reads what it would read from the
//!   same run's lines output. Any other table gives one JSON object a row.
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

use super::lines::TableNotes;
use crate::error::{Error, Result};
use arrow_array::{RecordBatch, RecordBatchReader};
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

/// The columns of categorical ids in a table mr wrote (`events_table`'s
/// output): those its metadata names ([`ID_COLUMNS_KEY`]), or, in a table
/// an older mr wrote, those of `categorical` it holds as integers. Empty for
/// any other table.
///
/// [`ID_COLUMNS_KEY`]: crate::output::parquet::ID_COLUMNS_KEY
pub fn id_columns(path: &Path, categorical: &[String]) -> Result<Vec<String>> {
    let file = File::open(path).map_err(|e| Error::io("opening", path, e))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| format_error(path, e))?;
    let schema = builder.schema();
    if let Some(ids) = schema
        .metadata()
        .get(crate::output::parquet::ID_COLUMNS_KEY)
    {
        return Ok(serde_json::from_str(ids).unwrap_or_else(|_| vec![ids.clone()]));
    }
    let by_mr = builder
        .metadata()
        .file_metadata()
        .created_by()
        .is_some_and(|c| c.starts_with("mr "));
    if !by_mr {
        return Ok(Vec::new());
    }
    Ok(categorical
        .iter()
        .filter(|c| {
            schema
                .field_with_name(c)
                .is_ok_and(|f| f.data_type().is_integer())
        })
        .cloned()
        .collect())
}

/// Where two fields of one object share a name: among the table's columns
/// (`within` empty) or among the fields of a struct column, also in lists
/// and maps (`within` its path, `a.b`); `None` when names are unique.
fn duplicate_name(fields: &arrow_schema::Fields, within: &str) -> Option<String> {
    use arrow_schema::DataType as D;
    let mut seen = std::collections::HashSet::new();
    for f in fields {
        if !seen.insert(f.name().as_str()) {
            return Some(match within {
                "" => format!(
                    "two columns named {:?}: a row is read as one JSON object, which cannot hold both",
                    f.name()
                ),
                _ => format!(
                    "two fields named {:?} in column {within:?}: a row is read as one JSON object, which cannot hold both",
                    f.name()
                ),
            });
        }
    }
    fields.iter().find_map(|f| {
        let path = match within {
            "" => f.name().clone(),
            _ => format!("{within}.{}", f.name()),
        };
        let mut ty = f.data_type();
        loop {
            match ty {
                D::List(item)
                | D::LargeList(item)
                | D::ListView(item)
                | D::LargeListView(item)
                | D::FixedSizeList(item, _)
                | D::Map(item, _) => ty = item.data_type(),
                D::Dictionary(_, value) => ty = value,
                D::Struct(inner) => return duplicate_name(inner, &path),
                _ => return None,
            }
        }
    })
}

fn format_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Format {
        what: format!("reading Parquet file {}", path.display()),
        reason: e.to_string(),
    }
}

/// True for a key/value table: one mr marked so (see
/// [`RECORDS_KEY`](crate::output::parquet::RECORDS_KEY)); without the mark,
/// one of exactly the columns `key` and `value` (in either order), as mr
/// writes records whose value is not an object.
pub fn is_key_value(schema: &arrow_schema::Schema) -> bool {
    if let Some(records) = schema.metadata().get(crate::output::parquet::RECORDS_KEY) {
        return records == crate::output::parquet::KEY_VALUE_ROWS;
    }
    let mut names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    names.sort_unstable();
    names == ["key", "value"]
}

/// True for a column of JSON text (the canonical `arrow.json` extension
/// type, which Parquet's JSON logical type is read as).
pub fn is_json_column(field: &arrow_schema::Field) -> bool {
    use arrow_schema::extension::{ExtensionType, Json};
    field.extension_type_name() == Some(Json::NAME)
}

/// Writes the cells of a JSON column as the JSON they hold (compact, on one
/// line); a cell that is not valid JSON is written as a string. With
/// `raw_temporal`, dates, times, timestamps and durations are written as the
/// numbers stored (a bad row's line, see [`bad_cells`]). Binary values
/// given as hex are counted in `notes`, when given.
#[derive(Debug)]
struct JsonColumns {
    raw_temporal: bool,
    notes: Option<TableNotes>,
}

impl arrow_json::EncoderFactory for JsonColumns {
    fn make_default_encoder<'a>(
        &self,
        field: &'a arrow_schema::FieldRef,
        array: &'a dyn arrow_array::Array,
        _options: &'a arrow_json::EncoderOptions,
    ) -> std::result::Result<
        Option<arrow_json::writer::NullableEncoder<'a>>,
        arrow_schema::ArrowError,
    > {
        use arrow_array::cast::AsArray;
        // Strings stored as plain binary (Hive, Impala, Spark without
        // `binaryAsString`): text, not arrow's hex of their bytes (url_views
        // counted "2f612f62" for "/a/b": probe /tmp/probe5-structured 02).
        let binary: Option<Box<dyn arrow_json::Encoder + 'a>> = match array.data_type() {
            arrow_schema::DataType::Binary => Some(Box::new(BinaryText::new(
                array.as_binary::<i32>(),
                field,
                &self.notes,
            ))),
            arrow_schema::DataType::LargeBinary => Some(Box::new(BinaryText::new(
                array.as_binary::<i64>(),
                field,
                &self.notes,
            ))),
            arrow_schema::DataType::BinaryView => Some(Box::new(BinaryText::new(
                array.as_binary_view(),
                field,
                &self.notes,
            ))),
            _ if self.raw_temporal => raw_temporal(array),
            _ => None,
        };
        if let Some(encoder) = binary {
            return Ok(Some(arrow_json::writer::NullableEncoder::new(
                encoder,
                array.nulls().cloned(),
            )));
        }
        if !is_json_column(field) {
            return Ok(None);
        }
        let encoder: Box<dyn arrow_json::Encoder + 'a> = match array.data_type() {
            arrow_schema::DataType::Utf8 => Box::new(JsonText(array.as_string::<i32>())),
            arrow_schema::DataType::LargeUtf8 => Box::new(JsonText(array.as_string::<i64>())),
            arrow_schema::DataType::Utf8View => Box::new(JsonText(array.as_string_view())),
            _ => return Ok(None),
        };
        Ok(Some(arrow_json::writer::NullableEncoder::new(
            encoder,
            array.nulls().cloned(),
        )))
    }
}

/// A temporal value written as the number stored (see [`JsonColumns`]).
struct RawNumber<'a, T: arrow_array::ArrowPrimitiveType>(&'a arrow_array::PrimitiveArray<T>);

impl<T: arrow_array::ArrowPrimitiveType> arrow_json::Encoder for RawNumber<'_, T>
where
    T::Native: std::fmt::Display,
{
    fn encode(&mut self, idx: usize, out: &mut Vec<u8>) {
        use std::io::Write;
        // Writing to a Vec does not fail.
        let _ = write!(out, "{}", self.0.value(idx));
    }
}

/// An encoder writing the numbers a date, time, timestamp or duration column
/// stores; `None` for other columns.
fn raw_temporal<'a>(
    array: &'a dyn arrow_array::Array,
) -> Option<Box<dyn arrow_json::Encoder + 'a>> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::*;
    use arrow_schema::{DataType as D, TimeUnit as U};
    fn raw<'a, T: arrow_array::ArrowPrimitiveType>(
        array: &'a dyn arrow_array::Array,
    ) -> Option<Box<dyn arrow_json::Encoder + 'a>>
    where
        T::Native: std::fmt::Display,
    {
        Some(Box::new(RawNumber(array.as_primitive_opt::<T>()?)))
    }
    match array.data_type() {
        D::Timestamp(U::Second, _) => raw::<TimestampSecondType>(array),
        D::Timestamp(U::Millisecond, _) => raw::<TimestampMillisecondType>(array),
        D::Timestamp(U::Microsecond, _) => raw::<TimestampMicrosecondType>(array),
        D::Timestamp(U::Nanosecond, _) => raw::<TimestampNanosecondType>(array),
        D::Date32 => raw::<Date32Type>(array),
        D::Date64 => raw::<Date64Type>(array),
        D::Time32(U::Second) => raw::<Time32SecondType>(array),
        D::Time32(_) => raw::<Time32MillisecondType>(array),
        D::Time64(U::Microsecond) => raw::<Time64MicrosecondType>(array),
        D::Time64(_) => raw::<Time64NanosecondType>(array),
        D::Duration(U::Second) => raw::<DurationSecondType>(array),
        D::Duration(U::Millisecond) => raw::<DurationMillisecondType>(array),
        _ => None,
    }
}

/// The values (by index) of a date, time, timestamp or duration `array`
/// that arrow cannot give as one: arrow-json writes such a value as the
/// text `"ERROR: Cast error: ..."` (a timestamp past chrono's range, a
/// date32 of 2^31-1, a time past 24 h) or `"<invalid>"` (a duration in
/// seconds or milliseconds past chrono's), in place of the value. Looked
/// for in lists, structs and maps too, each named by its index in `array`.
fn bad_temporal(array: &dyn arrow_array::Array) -> Vec<(usize, String)> {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::temporal_conversions as tc;
    use arrow_array::types::*;
    use arrow_schema::{DataType as D, TimeUnit as U};
    fn check<T: arrow_array::ArrowPrimitiveType>(
        array: &dyn arrow_array::Array,
        ok: impl Fn(i64) -> bool,
    ) -> Vec<(usize, String)>
    where
        T::Native: Into<i64>,
    {
        let Some(a) = array.as_primitive_opt::<T>() else {
            return Vec::new();
        };
        (0..a.len())
            .filter(|&i| a.is_valid(i) && !ok(a.value(i).into()))
            .map(|i| {
                let v: i64 = a.value(i).into();
                (i, format!("{v} is out of range for {}", a.data_type()))
            })
            .collect()
    }
    // The parents (by index) of the values `bad` of a list's children.
    fn parents(
        offsets: impl Iterator<Item = usize>,
        bad: Vec<(usize, String)>,
        array: &dyn arrow_array::Array,
    ) -> Vec<(usize, String)> {
        let ends: Vec<usize> = offsets.skip(1).collect();
        let mut bad: Vec<(usize, String)> = bad
            .into_iter()
            .map(|(child, why)| (ends.partition_point(|&end| end <= child), why))
            .filter(|(i, _)| *i < array.len() && array.is_valid(*i))
            .collect();
        bad.dedup_by_key(|(i, _)| *i);
        bad
    }
    match array.data_type() {
        D::Timestamp(U::Second, _) => check::<TimestampSecondType>(array, |v| {
            tc::as_datetime::<TimestampSecondType>(v).is_some()
        }),
        D::Timestamp(U::Millisecond, _) => check::<TimestampMillisecondType>(array, |v| {
            tc::as_datetime::<TimestampMillisecondType>(v).is_some()
        }),
        D::Timestamp(U::Microsecond, _) => check::<TimestampMicrosecondType>(array, |v| {
            tc::as_datetime::<TimestampMicrosecondType>(v).is_some()
        }),
        D::Timestamp(U::Nanosecond, _) => check::<TimestampNanosecondType>(array, |v| {
            tc::as_datetime::<TimestampNanosecondType>(v).is_some()
        }),
        D::Date32 => check::<Date32Type>(array, |v| {
            i32::try_from(v).is_ok_and(|v| tc::date32_to_datetime(v).is_some())
        }),
        D::Date64 => check::<Date64Type>(array, |v| tc::date64_to_datetime(v).is_some()),
        D::Time32(U::Second) => check::<Time32SecondType>(array, |v| {
            i32::try_from(v).is_ok_and(|v| tc::time32s_to_time(v).is_some())
        }),
        D::Time32(_) => check::<Time32MillisecondType>(array, |v| {
            i32::try_from(v).is_ok_and(|v| tc::time32ms_to_time(v).is_some())
        }),
        D::Time64(U::Microsecond) => {
            check::<Time64MicrosecondType>(array, |v| tc::time64us_to_time(v).is_some())
        }
        D::Time64(_) => check::<Time64NanosecondType>(array, |v| tc::time64ns_to_time(v).is_some()),
        D::Duration(U::Second) => {
            check::<DurationSecondType>(array, |v| tc::try_duration_s_to_duration(v).is_some())
        }
        D::Duration(U::Millisecond) => check::<DurationMillisecondType>(array, |v| {
            tc::try_duration_ms_to_duration(v).is_some()
        }),
        D::Struct(_) => {
            let s = array.as_struct();
            let mut bad: Vec<(usize, String)> = s
                .columns()
                .iter()
                .flat_map(|c| bad_temporal(c.as_ref()))
                .filter(|(i, _)| s.is_valid(*i))
                .collect();
            bad.sort_by_key(|(i, _)| *i);
            bad.dedup_by_key(|(i, _)| *i);
            bad
        }
        D::List(_) => {
            let l = array.as_list::<i32>();
            let bad = bad_temporal(l.values().as_ref());
            parents(l.value_offsets().iter().map(|&o| o as usize), bad, array)
        }
        D::LargeList(_) => {
            let l = array.as_list::<i64>();
            let bad = bad_temporal(l.values().as_ref());
            parents(l.value_offsets().iter().map(|&o| o as usize), bad, array)
        }
        D::Map(..) => {
            let m = array.as_map();
            let bad = bad_temporal(m.entries());
            parents(m.value_offsets().iter().map(|&o| o as usize), bad, array)
        }
        D::FixedSizeList(_, n) => {
            let l = array.as_fixed_size_list();
            let n = usize::try_from(*n).unwrap_or(1).max(1);
            let mut bad: Vec<(usize, String)> = bad_temporal(l.values().as_ref())
                .into_iter()
                .map(|(child, why)| (child / n, why))
                .filter(|(i, _)| *i < array.len() && array.is_valid(*i))
                .collect();
            bad.dedup_by_key(|(i, _)| *i);
            bad
        }
        _ => Vec::new(),
    }
}

/// The cells of `batch` that arrow cannot give as values (see
/// [`bad_temporal`]): by row (in the batch), each with its column and why.
fn bad_cells(batch: &RecordBatch) -> Vec<(usize, String)> {
    let mut bad: Vec<(usize, String)> = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        for (row, why) in bad_temporal(column.as_ref()) {
            let cell = format!("column {:?}: {why}", field.name());
            match bad.iter_mut().find(|(r, _)| *r == row) {
                Some((_, reason)) => {
                    reason.push_str("; ");
                    reason.push_str(&cell);
                }
                None => bad.push((row, cell)),
            }
        }
    }
    bad.sort_by_key(|(row, _)| *row);
    bad
}

struct JsonText<A>(A);

/// A binary cell as a JSON string: its text when it is UTF-8 (a string
/// stored as binary), else its bytes in hex, as arrow writes binary. Never
/// silently: each value given as hex is counted in the notes, with its
/// column, for the map task to count and warn of (url_views counted a
/// Latin-1 "/caf\xe9" as "2f636166e9" without a word: probe
/// /tmp/probe23-fuzz repro 05).
struct BinaryText<A> {
    values: A,
    /// The column (its name) and where to count its values given as hex.
    notes: Option<(String, TableNotes)>,
}

impl<A> BinaryText<A> {
    fn new(values: A, field: &arrow_schema::FieldRef, notes: &Option<TableNotes>) -> Self {
        BinaryText {
            values,
            notes: notes.clone().map(|n| (field.name().clone(), n)),
        }
    }
}

impl<'a, A: arrow_array::ArrayAccessor<Item = &'a [u8]>> arrow_json::Encoder for BinaryText<A> {
    fn encode(&mut self, idx: usize, out: &mut Vec<u8>) {
        let bytes = self.values.value(idx);
        match std::str::from_utf8(bytes) {
            Ok(text) => {
                // A &str always serializes.
                let _ = serde_json::to_writer(&mut *out, text);
            }
            Err(_) => {
                if let Some((column, notes)) = &self.notes {
                    notes.given_as_hex(column);
                }
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push(b'"');
                for &b in bytes {
                    out.extend_from_slice(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
                }
                out.push(b'"');
            }
        }
    }
}

impl<'a, A: arrow_array::ArrayAccessor<Item = &'a str>> arrow_json::Encoder for JsonText<A> {
    fn encode(&mut self, idx: usize, out: &mut Vec<u8>) {
        write_json_text(self.0.value(idx), out);
    }
}

/// `text` as JSON on one line: itself when it is valid JSON without line
/// breaks (mr's own cells always are), else re-written compactly, else (not
/// JSON at all) as a JSON string.
fn write_json_text(text: &str, out: &mut Vec<u8>) {
    let valid = serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok();
    if valid && !text.contains(['\n', '\r']) {
        out.extend_from_slice(text.trim().as_bytes());
        return;
    }
    let compact = match valid {
        true => {
            serde_json::from_str::<serde_json::Value>(text).and_then(|v| serde_json::to_vec(&v))
        }
        false => serde_json::to_vec(text),
    };
    match compact {
        Ok(v) => out.extend_from_slice(&v),
        // Serializing a string or a parsed value does not fail.
        Err(_) => out.extend_from_slice(b"null"),
    }
}

/// A row of a key/value table as arrow-json writes it.
#[derive(serde::Deserialize)]
struct KeyValue<'a> {
    #[serde(borrow)]
    key: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow)]
    value: Option<&'a serde_json::value::RawValue>,
}

/// Rewrites JSON object lines `{"key":K,"value":V}` in `rows` as
/// `K<TAB>V` lines into `out` (a missing field, a null, is `null`).
fn key_value_lines(rows: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    for row in rows.split(|b| *b == b'\n').filter(|r| !r.is_empty()) {
        let kv: KeyValue<'_> = serde_json::from_slice(row)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        out.extend_from_slice(kv.key.map_or("null", |v| v.get()).as_bytes());
        out.push(b'\t');
        out.extend_from_slice(kv.value.map_or("null", |v| v.get()).as_bytes());
        out.push(b'\n');
    }
    Ok(())
}

/// A split of a Parquet file as JSON lines (a [`Read`]).
pub struct ParquetLines {
    batches: ParquetRecordBatchReader,
    buf: Vec<u8>,
    pos: usize,
    first_row: u64,
    /// A key/value table: rows become `KEY<TAB>VALUE` lines.
    key_value: bool,
    /// The rows of a key/value table as JSON objects, before rewriting.
    rows: Vec<u8>,
    /// The number (from 0) in the file of the next batch's first row.
    next_row: u64,
    /// Where rows that cannot be given are told (see [`Self::notes`]);
    /// without, such a row is a read error.
    notes: Option<TableNotes>,
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
        let key_value = is_key_value(builder.schema());
        let mut builder = builder.with_row_groups(groups).with_batch_size(BATCH_ROWS);
        // A key/value table is read whole: its records are the key and value.
        if let Some(cols) = columns.filter(|_| !key_value) {
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
        // A row is one JSON object: two fields of one name would be one
        // key twice, and a reader keeps one of them (the other lost).
        if let Some(twice) = duplicate_name(batches.schema().fields(), "") {
            return Err(format_error(path, twice));
        }
        Ok(ParquetLines {
            batches,
            buf: Vec::new(),
            pos: 0,
            first_row,
            key_value,
            rows: Vec::new(),
            next_row: first_row,
            notes: None,
        })
    }

    /// From now on, a row holding a value arrow cannot give (a timestamp,
    /// date or time out of range: see [`bad_temporal`]) is told in the
    /// notes returned, as a bad row named by its number (from 1) and why,
    /// and given as a line with its dates and times as the numbers stored
    /// (for a map task to keep aside or to refuse, naming the row: probe
    /// /tmp/probe23-fuzz repro 02). Without notes, such a row is a read
    /// error naming the row and column. Never arrow's text in its place:
    /// it wrote `"ERROR: Cast error: ..."` as the value.
    pub fn notes(&mut self) -> TableNotes {
        self.notes.get_or_insert_with(TableNotes::default).clone()
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
        let first_row = self.next_row;
        self.next_row += batch.num_rows() as u64;
        let notes = self.notes.clone();
        let into = match self.key_value {
            true => &mut self.rows,
            false => &mut self.buf,
        };
        into.clear();
        write_rows(&batch, false, notes.as_ref(), into)?;
        let bad = bad_cells(&batch);
        if !bad.is_empty() {
            let Some(notes) = notes else {
                let (row, why) = &bad[0];
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("row {}: {why}", first_row + *row as u64 + 1),
                ));
            };
            // Each bad row's line as stored, in place of the line written.
            let mut lines: Vec<&[u8]> = into.split_inclusive(|b| *b == b'\n').collect();
            let mut raw = Vec::new();
            let mut at = Vec::with_capacity(bad.len());
            for (row, why) in &bad {
                let start = raw.len();
                write_rows(&batch.slice(*row, 1), true, None, &mut raw)?;
                at.push((*row, start..raw.len()));
                notes.bad_row(first_row + *row as u64 + 1, bad_value_reason(why));
            }
            for (row, range) in &at {
                if let Some(line) = lines.get_mut(*row) {
                    *line = &raw[range.clone()];
                }
            }
            let joined = lines.concat();
            *into = joined;
        }
        if self.key_value {
            key_value_lines(&self.rows, &mut self.buf)?;
        }
        Ok(true)
    }
}

/// Writes the rows of `batch` as JSON lines into `into` (see
/// [`JsonColumns`] for `raw_temporal` and `notes`).
fn write_rows(
    batch: &RecordBatch,
    raw_temporal: bool,
    notes: Option<&TableNotes>,
    into: &mut Vec<u8>,
) -> io::Result<()> {
    let factory = JsonColumns {
        raw_temporal,
        notes: notes.cloned(),
    };
    let mut w = arrow_json::WriterBuilder::new()
        .with_encoder_factory(std::sync::Arc::new(factory))
        .build::<_, arrow_json::writer::LineDelimited>(&mut *into);
    w.write(batch)
        .and_then(|()| w.finish())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Why a row with a value out of range (`cells`, from [`bad_cells`]) is a
/// bad record.
fn bad_value_reason(cells: &str) -> String {
    format!(
        "{cells}, so no date or time can be given (a time in another unit, as nanoseconds \
         in a millisecond column, a sentinel, or a damaged page); the record is the row with \
         its dates and times as the numbers stored"
    )
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

    /// Strings stored as binary columns (Hive's, Impala's, Spark's without
    /// `binaryAsString`) are read as text; bytes that are not UTF-8 stay
    /// arrow's hex. They were all hex: url_views counted "2f612f62" for
    /// "/a/b" (probe /tmp/probe5-structured repro 02).
    #[test]
    fn binary_columns_of_text_are_read_as_strings() {
        use arrow_array::{BinaryArray, LargeBinaryArray, RecordBatch};
        let d = tempfile::tempdir().unwrap();
        let pq = d.path().join("hive.parquet");
        let urls = BinaryArray::from(vec![Some(&b"/a/b"[..]), None, Some(b"\xff\x00\"")]);
        let large = LargeBinaryArray::from(vec![Some(&b"caf\xc3\xa9 \"q\""[..]), Some(b""), None]);
        let batch = RecordBatch::try_from_iter([
            ("page_url", Arc::new(urls) as arrow_array::ArrayRef),
            ("note", Arc::new(large) as arrow_array::ArrayRef),
        ])
        .unwrap();
        let f = std::fs::File::create(&pq).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(f, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let (s, e) = row_group_ranges(&pq).unwrap()[0];
        let mut all = String::new();
        let mut rows = ParquetLines::open(&pq, s, e, None).unwrap();
        let notes = rows.notes();
        rows.read_to_string(&mut all).unwrap();
        assert_eq!(
            all,
            "{\"page_url\":\"/a/b\",\"note\":\"café \\\"q\\\"\"}\n{\"note\":\"\"}\n{\"page_url\":\"ff0022\"}\n"
        );
        // The value given as hex is told, with its column, never silently
        // (probe /tmp/probe23-fuzz repro 05).
        assert_eq!(notes.take_hex(), (1, Some("page_url".to_string())));
    }

    /// Two columns of one name (pyarrow and Polars can write them), or two
    /// fields of one name in a struct, even inside a list: a row read as
    /// one JSON object held the name twice and the mapper's parser kept
    /// the last, the other value silently lost. Now the file is refused,
    /// naming the field; a projection that leaves one out reads the file.
    #[test]
    fn two_fields_of_one_name_are_refused_not_one_of_them_lost() {
        use arrow_array::{ArrayRef, FixedSizeListArray, Int64Array, StringArray, StructArray};
        use arrow_schema::{Field, Fields, Schema};
        let write = |name: &str, schema: Schema, cols: Vec<ArrayRef>| {
            let batch = RecordBatch::try_new(Arc::new(schema), cols).unwrap();
            let path = std::env::temp_dir().join(format!("mr-dup-{}-{name}", std::process::id()));
            let f = std::fs::File::create(&path).unwrap();
            let mut w = parquet::arrow::ArrowWriter::try_new(f, batch.schema(), None).unwrap();
            w.write(&batch).unwrap();
            w.close().unwrap();
            path
        };
        let read = |path: &Path, cols: Option<&[String]>| {
            let mut text = String::new();
            ParquetLines::open(path, 0, u64::MAX, cols)
                .and_then(|mut r| {
                    r.read_to_string(&mut text)
                        .map_err(|e| Error::io("reading", path, e))
                })
                .map(|_| text)
        };
        let ints: ArrayRef = Arc::new(Int64Array::from(vec![1, 2]));
        let strs: ArrayRef = Arc::new(StringArray::from(vec!["x", "y"]));
        let top = write(
            "top.parquet",
            Schema::new(vec![
                Field::new("a", arrow_schema::DataType::Int64, false),
                Field::new("b", arrow_schema::DataType::Utf8, false),
                Field::new("a", arrow_schema::DataType::Utf8, false),
            ]),
            vec![ints.clone(), strs.clone(), strs.clone()],
        );
        let err = read(&top, None).unwrap_err().to_string();
        assert!(err.contains("two columns named \"a\""), "{err}");
        assert!(err.contains("mr-dup-"), "{err}");
        // Read without one of them, the rows are whole.
        assert_eq!(
            read(&top, Some(&["b".to_string()])).unwrap(),
            "{\"b\":\"x\"}\n{\"b\":\"y\"}\n"
        );

        // In a struct inside a list: {"events": [{"n": 1, "n": "x"}]}.
        let fields = Fields::from(vec![
            Field::new("n", arrow_schema::DataType::Int64, false),
            Field::new("n", arrow_schema::DataType::Utf8, false),
        ]);
        let structs = StructArray::new(fields.clone(), vec![ints, strs], None);
        let item = Arc::new(Field::new(
            "item",
            arrow_schema::DataType::Struct(fields),
            false,
        ));
        let lists: ArrayRef = Arc::new(FixedSizeListArray::new(
            item.clone(),
            1,
            Arc::new(structs),
            None,
        ));
        let nested = write(
            "nested.parquet",
            Schema::new(vec![Field::new(
                "events",
                arrow_schema::DataType::FixedSizeList(item, 1),
                false,
            )]),
            vec![lists],
        );
        let err = read(&nested, None).unwrap_err().to_string();
        assert!(
            err.contains("two fields named \"n\" in column \"events\""),
            "{err}"
        );
        for p in [top, nested] {
            std::fs::remove_file(p).unwrap();
        }
    }

    /// A timestamp, date or time arrow cannot give (past chrono's range, a
    /// time past 24 h), alone or in a list, was written as arrow's text
    /// `"ERROR: Cast error: ..."` in place of the value, and mapped (probe
    /// /tmp/probe23-fuzz repro 02). Its row is told as bad, named by its
    /// number in the file and its column, and given with the numbers stored;
    /// without notes it is a read error.
    #[test]
    fn dates_and_times_out_of_range_are_bad_rows_never_error_text() {
        use arrow_array::builder::{ListBuilder, TimestampMillisecondBuilder};
        use arrow_array::{
            ArrayRef, Date32Array, StringArray, Time64MicrosecondArray, TimestampMillisecondArray,
        };
        let mut list = ListBuilder::new(TimestampMillisecondBuilder::new());
        for v in [
            [Some(0), None],
            [Some(1), Some(i64::MAX)],
            [None, None],
            [None, None],
        ] {
            list.values().append_option(v[0]);
            list.values().append_option(v[1]);
            list.append(true);
        }
        let batch = RecordBatch::try_from_iter([
            (
                "u",
                Arc::new(StringArray::from(vec!["a", "b", "c", "d"])) as ArrayRef,
            ),
            (
                "t",
                Arc::new(TimestampMillisecondArray::from(vec![
                    Some(1_370_044_800_781),
                    None,
                    Some(1_370_044_800_781_000_000),
                    Some(0),
                ])) as ArrayRef,
            ),
            (
                "d",
                Arc::new(Date32Array::from(vec![Some(1), None, Some(i32::MAX), None])) as ArrayRef,
            ),
            (
                "h",
                Arc::new(Time64MicrosecondArray::from(vec![
                    None,
                    None,
                    None,
                    Some(90_000_000_000),
                ])) as ArrayRef,
            ),
            ("l", Arc::new(list.finish()) as ArrayRef),
        ])
        .unwrap();
        let d = tempfile::tempdir().unwrap();
        let pq = d.path().join("t.parquet");
        let f = File::create(&pq).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(f, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();

        let mut rows = ParquetLines::open(&pq, 0, u64::MAX, None).unwrap();
        let notes = rows.notes();
        let mut text = String::new();
        rows.read_to_string(&mut text).unwrap();
        assert!(!text.contains("ERROR"), "{text}");
        assert_eq!(
            text,
            "{\"u\":\"a\",\"t\":\"2013-06-01T00:00:00.781\",\"d\":\"1970-01-02\",\
             \"l\":[\"1970-01-01T00:00:00\",null]}\n\
             {\"u\":\"b\",\"l\":[1,9223372036854775807]}\n\
             {\"u\":\"c\",\"t\":1370044800781000000,\"d\":2147483647,\"l\":[null,null]}\n\
             {\"u\":\"d\",\"t\":0,\"h\":90000000000,\"l\":[null,null]}\n"
        );
        assert_eq!(notes.take_bad_row(1), None);
        let b = notes.take_bad_row(2).unwrap();
        assert!(
            b.starts_with("column \"l\": 9223372036854775807 is out of range"),
            "{b}"
        );
        let c = notes.take_bad_row(3).unwrap();
        assert!(
            c.starts_with(
                "column \"t\": 1370044800781000000 is out of range for Timestamp(ms); \
                 column \"d\": 2147483647 is out of range for Date32"
            ),
            "{c}"
        );
        assert!(notes.take_bad_row(4).unwrap().starts_with("column \"h\""));

        // Without notes (a caller reading the table itself): an error.
        let e = ParquetLines::open(&pq, 0, u64::MAX, None)
            .unwrap()
            .read_to_string(&mut String::new())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("row 2: column \"l\""), "{e}");
    }

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
        // mr's table without the metadata (an older mr): a column of
        // integers a job makes ids of is taken for ids; strings are not.
        assert!(id_columns(&pq, &["s".to_string()]).unwrap().is_empty());
        assert_eq!(id_columns(&pq, &["n".to_string()]).unwrap(), ["n"]);
        std::fs::write(&pq, b"PAR1 not really").unwrap();
        let e = row_group_ranges(&pq).unwrap_err().to_string();
        assert!(e.contains("reading Parquet file"), "{e}");
    }

    /// Files as other writers make them (pipeline probe /tmp/probe-pipeline
    /// repros 02 and 08): pages in GZIP, LZ4 (Hadoop's and raw) and Brotli
    /// were refused ("Disabled feature at compile time: flate2"), a
    /// timestamp in the zone named "UTC" too ("only offset based timezones
    /// supported without chrono-tz feature"). A JSON column gives its JSON,
    /// on one line.
    #[test]
    fn codecs_named_time_zones_and_json_columns_of_other_writers() {
        use arrow_array::{ArrayRef, StringArray, TimestampMillisecondArray};
        use arrow_schema::{DataType, Field, Schema, TimeUnit};
        use parquet::basic::{BrotliLevel, Compression, GzipLevel, ZstdLevel};
        let schema = Arc::new(Schema::new(vec![
            Field::new("u", DataType::Utf8, true),
            Field::new(
                "t",
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                true,
            ),
            Field::new("j", DataType::Utf8, true)
                .with_extension_type(arrow_schema::extension::Json::default()),
        ]));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![Some("ann"), None, Some("bob")])),
            Arc::new(
                TimestampMillisecondArray::from(vec![Some(1_370_044_800_781), None, None])
                    .with_timezone("UTC"),
            ),
            Arc::new(StringArray::from(vec![
                Some(r#"["c",1]"#),
                Some("{\n  \"a\": 2\n}"),
                Some("not json"),
            ])),
        ];
        let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
        let d = tempfile::tempdir().unwrap();
        for codec in [
            Compression::GZIP(GzipLevel::default()),
            Compression::LZ4,
            Compression::LZ4_RAW,
            Compression::BROTLI(BrotliLevel::default()),
            Compression::SNAPPY,
            Compression::ZSTD(ZstdLevel::default()),
        ] {
            let path = d.path().join(format!("{codec}.parquet"));
            let props = parquet::file::properties::WriterProperties::builder()
                .set_compression(codec)
                .build();
            let file = File::create(&path).unwrap();
            let mut w =
                parquet::arrow::ArrowWriter::try_new(file, schema.clone(), Some(props)).unwrap();
            w.write(&batch).unwrap();
            w.close().unwrap();
            let mut text = String::new();
            ParquetLines::open(&path, 0, u64::MAX, None)
                .unwrap_or_else(|e| panic!("{codec}: {e}"))
                .read_to_string(&mut text)
                .unwrap_or_else(|e| panic!("{codec}: {e}"));
            assert_eq!(
                text,
                "{\"u\":\"ann\",\"t\":\"2013-06-01T00:00:00.781Z\",\"j\":[\"c\",1]}\n\
                 {\"j\":{\"a\":2}}\n\
                 {\"u\":\"bob\",\"j\":\"not json\"}\n",
                "{codec}"
            );
        }
    }
}
