//! Parquet output (`--output-format parquet`): the last step's records as a
//! table, one `part-NNNNN.parquet` per part, committed with the output
//! directory like line parts.
//!
//! # Records to rows
//!
//! Each `key TAB value` record becomes one row:
//!
//! | record | row |
//! |---|---|
//! | `null TAB {"a":1,"b":"x"}` (a map-only job emitting objects) | columns `a`, `b` |
//! | `"k" TAB {"a":1}` | columns `key`, `a` (a value field named `key` is an error) |
//! | `"k" TAB 3` (any value that is not an object) | columns `key`, `value` |
//! | `null TAB 3` | column `value` |
//!
//! So a serde struct emitted as the value gives one column per field, in the
//! struct's order; `Option` fields are nullable, nested structs become
//! struct columns and `Vec`s list columns. A top-level column of arrays
//! whose items differ in type (a tuple key such as `["course", 1]`) holds
//! each array's JSON text, with Parquet's JSON logical type (DuckDB reads a
//! `JSON` column; pandas and Polars a string): the only lossless column for
//! it, as Parquet's lists hold items of one type.
//!
//! Read back by mr ([`crate::input::parquet`]), a table of exactly `key` and
//! `value` gives the records it was made from (`key TAB value`); a JSON
//! column gives the JSON it holds.
//!
//! # Schema
//!
//! The engine between steps only sees encoded JSON, so the schema is inferred
//! from the records ([`super::schema`]): every part is read once to infer its
//! types, the parts' types are merged (the same schema for every file of a
//! run), then each part is converted. A job's categorical columns are
//! counted in that first pass and get their ids in the second (`Scan`). A column that is a string in one record
//! and an object in another stops the run with an error naming the column,
//! the record and where it is. Columns are nullable; integers are `INT64`,
//! other numbers `DOUBLE`, strings `UTF8` (dictionary-encoded: Parquet's
//! dictionary pages, falling back to plain only for a column chunk whose
//! distinct values outgrow the dictionary page limit).
//!
//! # Memory
//!
//! A file is written a row group at a time: a row group is closed at
//! [`ParquetOptions::row_group_rows`] rows or when its encoded data reaches
//! [`ParquetOptions::row_group_bytes`], whichever comes first; rows are decoded
//! in batches of [`BATCH_ROWS`].

use crate::error::{Error, Result};
use crate::protocol::split_record;
#[cfg(feature = "parquet")]
pub use arrow_impl::{Scan, TablePart, infer_part, write_part, write_parts};
use std::path::{Path, PathBuf};

/// Rows decoded into one Arrow batch (fewer for a wide table: see
/// `batch_rows`).
pub const BATCH_ROWS: usize = 8192;
/// Cells (rows × columns) an Arrow batch holds at most, but for 64 rows:
/// about 110 bytes a cell while it is decoded and written, so 4 Mi cells
/// made a table of 1,000 string columns peak at 510 MB beside an 8 MiB
/// sort buffer (probe /tmp/probe3-memory repro 03); 1 Mi cells, a quarter.
/// Tables of up to 128 columns keep [`BATCH_ROWS`].
const BATCH_CELLS: usize = 1 << 20;

/// The compression codec of the Parquet pages (`--parquet-compression`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParquetCompression {
    /// zstd level 1: smaller files, fast.
    #[default]
    Zstd,
    /// Snappy: what older Hadoop and Hive setups expect.
    Snappy,
    /// No compression.
    None,
}

impl std::str::FromStr for ParquetCompression {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "zstd" => Ok(ParquetCompression::Zstd),
            "snappy" => Ok(ParquetCompression::Snappy),
            "none" | "uncompressed" => Ok(ParquetCompression::None),
            _ => Err(format!(
                "unknown Parquet compression {s:?} (zstd, snappy or none)"
            )),
        }
    }
}

/// How Parquet files are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParquetOptions {
    /// The page codec.
    pub compression: ParquetCompression,
    /// The most rows in a row group.
    pub row_group_rows: usize,
    /// A row group is closed once its encoded data reaches this many bytes.
    pub row_group_bytes: usize,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        ParquetOptions {
            compression: ParquetCompression::Zstd,
            row_group_rows: 1 << 20,
            row_group_bytes: 64 << 20,
        }
    }
}

#[cfg(feature = "parquet")]
impl ParquetOptions {
    fn properties(&self) -> parquet::file::properties::WriterProperties {
        use parquet::basic::{Compression, ZstdLevel};
        use parquet::file::properties::WriterProperties;
        let compression = match self.compression {
            ParquetCompression::Zstd => Compression::ZSTD(ZstdLevel::default()),
            ParquetCompression::Snappy => Compression::SNAPPY,
            ParquetCompression::None => Compression::UNCOMPRESSED,
        };
        WriterProperties::builder()
            .set_compression(compression)
            .set_dictionary_enabled(true)
            .set_max_row_group_row_count(Some(self.row_group_rows.max(1)))
            .set_max_row_group_bytes(Some(self.row_group_bytes.max(1 << 10)))
            .set_created_by(format!("mr {}", env!("CARGO_PKG_VERSION")))
            .set_key_value_metadata(Some(vec![parquet::file::metadata::KeyValue::new(
                SPARK_VERSION_KEY.to_string(),
                SPARK_CALENDAR_VERSION.to_string(),
            )]))
            .build()
    }
}

/// The footer key Spark reads to tell which calendar a file's dates and
/// times are in ([`SPARK_CALENDAR_VERSION`]).
pub const SPARK_VERSION_KEY: &str = "org.apache.spark.version";

/// What mr's tables give as [`SPARK_VERSION_KEY`]: a Spark 3 writer's
/// files (without Spark's `legacyDateTime` key) hold proleptic Gregorian
/// dates and times, as mr's do. Without the key, Spark (3.x, by default)
/// takes a file for one that may be in the old Julian/Gregorian calendar
/// and refuses to read a time before 1900 in it, failing every query of
/// the column for the whole table (Go's zero time `0001-01-01T00:00:00Z`
/// in one event: probe /tmp/probe12-tables repro 02). Other readers read
/// no such key.
pub const SPARK_CALENDAR_VERSION: &str = "3.0.0";

/// Appends the row (a JSON object's text) of one `key TAB value` record to
/// `out`, following the table in the module docs; `Ok(false)` for a blank line.
///
/// ```
/// use mr_core::output::parquet::record_row;
/// let row = |l: &str| { let mut o = Vec::new(); record_row(l.as_bytes(), &mut o).unwrap(); String::from_utf8(o).unwrap() };
/// assert_eq!(row("null\t{\"a\":1}"), "{\"a\":1}");
/// assert_eq!(row("\"k\"\t{\"a\":1}"), "{\"key\":\"k\",\"a\":1}");
/// assert_eq!(row("\"k\"\t{}"), "{\"key\":\"k\"}");
/// assert_eq!(row("\"k\"\t[1]"), "{\"key\":\"k\",\"value\":[1]}");
/// assert_eq!(row("null\t3"), "{\"value\":3}");
/// assert!(record_row(b"\"k\"\t{\"key\":1}", &mut Vec::new()).is_err());
/// ```
pub fn record_row(line: &[u8], out: &mut Vec<u8>) -> std::result::Result<bool, String> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(false);
    }
    let (k, v) = split_record(line);
    let k = k.trim_ascii();
    let v = match v.trim_ascii() {
        b"" => &b"null"[..],
        v => v,
    };
    let key = (k != b"null").then_some(k);
    if let Some(body) = v.strip_prefix(b"{") {
        match key {
            None => out.extend_from_slice(v),
            Some(k) => {
                if has_field(v, "key")? {
                    return Err(
                        "the value is an object with a field `key` and the record has a key too: \
                         rename the field or emit a null key"
                            .into(),
                    );
                }
                out.extend_from_slice(b"{\"key\":");
                out.extend_from_slice(k);
                if !body.trim_ascii_start().starts_with(b"}") {
                    out.push(b',');
                }
                out.extend_from_slice(body);
            }
        }
    } else {
        out.push(b'{');
        if let Some(k) = key {
            out.extend_from_slice(b"\"key\":");
            out.extend_from_slice(k);
            out.push(b',');
        }
        out.extend_from_slice(b"\"value\":");
        out.extend_from_slice(v);
        out.push(b'}');
    }
    Ok(true)
}

/// True when the JSON object `v` has a top-level field `name`.
fn has_field(v: &[u8], name: &str) -> std::result::Result<bool, String> {
    let m: std::collections::BTreeMap<std::borrow::Cow<'_, str>, serde::de::IgnoredAny> =
        serde_json::from_slice(v).map_err(|e| format!("invalid JSON value: {e}"))?;
    Ok(m.contains_key(name))
}

/// Without the `parquet` feature: an error saying how to get it.
#[cfg(not(feature = "parquet"))]
pub fn write_parts(
    _parts: &[PathBuf],
    _dest_dir: &Path,
    _opts: &ParquetOptions,
    _columns: &Declared,
    _pool: &rayon::ThreadPool,
) -> Result<Vec<PathBuf>> {
    Err(not_built())
}

/// The key of a table's metadata (Arrow schema metadata, which pyarrow and
/// Polars show too) listing, as a JSON array, the columns whose values are
/// categorical ids: a table of ids is refused as the input of a job with
/// categorical columns (it would give the ids ids of their own).
pub const ID_COLUMNS_KEY: &str = "mr:categorical_columns";

/// The key of a table's metadata saying how its rows hold the records:
/// [`KEY_VALUE_ROWS`] when no record's value was an object (each row is a
/// record's `key` and `value`, read back as `KEY<TAB>VALUE` lines), else
/// `objects` (each row is a value's object, with `key` when the record had
/// one, read back as the object). Without it (another writer, an older
/// mr) a table of exactly the columns `key` and `value` is taken for the
/// first: a record `"a"<TAB>{"value":1}` made such a table, and read back
/// as `"a"<TAB>1` (probe /tmp/probe5-structured repros 09, 10).
pub const RECORDS_KEY: &str = "mr:records";

/// [`RECORDS_KEY`]'s value for a table of keys and values.
pub const KEY_VALUE_ROWS: &str = "key_value";

/// What a job says of its table's columns (see [`crate::Job::columns`]):
/// the columns every table starts with, and the type of a column a run
/// saw only nulls in.
pub struct Declared<'a> {
    /// Columns first in every table, in order, typed so.
    pub fixed: Vec<(String, crate::ColumnType)>,
    /// The columns whose values are categorical ids (named in the table's
    /// metadata under [`ID_COLUMNS_KEY`]).
    pub ids: Vec<String>,
    /// The type of another column by its name, if the job can say.
    pub type_of: Box<TypeOf<'a>>,
}

/// A column's type by its name, if known.
pub type TypeOf<'a> = dyn Fn(&str) -> Option<crate::ColumnType> + Sync + 'a;

impl<'a> Declared<'a> {
    /// What `job` declares, its categorical columns being ids.
    pub fn of(job: &'a dyn crate::Job, categorical: &'a [String]) -> Declared<'a> {
        use crate::ColumnType;
        let id = move |n: &str| categorical.iter().any(|c| c == n);
        Declared {
            ids: categorical.to_vec(),
            fixed: job
                .columns()
                .into_iter()
                .map(|(n, t)| {
                    let t = if id(&n) { ColumnType::Int } else { t };
                    (n, t)
                })
                .collect(),
            type_of: Box::new(move |n| {
                if id(n) {
                    Some(ColumnType::Int)
                } else {
                    job.column_type(n)
                }
            }),
        }
    }
}

/// The error of a Parquet feature in a build without it.
pub fn not_built() -> Error {
    Error::Config(
        "this mr was built without Parquet support (the `parquet` cargo feature of mr-core, \
         on by default, was turned off)"
            .into(),
    )
}

/// More columns than a table of events has by design: said, not refused.
pub const MANY_COLUMNS: usize = 1000;

/// Rows decoded into one Arrow batch for a table of `columns`:
/// [`BATCH_ROWS`], fewer for a wide table, whose batch holds a buffer
/// a column (mostly nulls): 30,000 columns of 8,192 rows took gigabytes.
///
/// ```
/// use mr_core::output::parquet::{batch_rows, BATCH_ROWS};
/// assert_eq!(batch_rows(20), BATCH_ROWS);
/// assert_eq!(batch_rows(128), BATCH_ROWS);
/// assert_eq!(batch_rows(1_000), 1_048);
/// assert_eq!(batch_rows(30_000), 64);
/// assert_eq!(batch_rows(10_000_000), 64);
/// ```
pub fn batch_rows(columns: usize) -> usize {
    (BATCH_CELLS / columns.max(1)).clamp(64, BATCH_ROWS)
}

#[cfg(feature = "parquet")]
mod arrow_impl {
    use super::*;
    use crate::categorical::{ColumnEncoder, RowEncoder, ValueCounts};
    use crate::error::snippet;
    use crate::output::schema::{CategoricalScan, ObserveError, RowType};
    use arrow_schema::{DataType, SchemaRef};
    use parquet::arrow::ArrowWriter;
    use rayon::prelude::*;
    use std::fs::File;
    use std::io::BufWriter;
    use std::sync::Arc;

    /// Reads a part's lines, calling `f(row_number, row, line)` for each
    /// record. Rows are made by [`record_row`], or, for a table with
    /// categorical columns (`objects`), are the records' objects as they
    /// are (a record's key left out, as the categorical stages always
    /// left it), numbered without the blank lines.
    fn for_each_row(
        part: &TablePart,
        mut f: impl FnMut(u64, &[u8], &[u8]) -> Result<()>,
        objects: bool,
    ) -> Result<()> {
        let name = &part.name;
        let mut row = Vec::new();
        let mut n = 0u64;
        let mut lines = 0u64;
        for piece in &part.pieces {
            let path = match &piece.file.source {
                crate::input::InputSource::Path(p) => p.as_path(),
                _ => Path::new(&piece.file.display),
            };
            let mut reader = crate::input::lines::open_split(piece, None)?;
            while let Some((_, line)) = reader
                .next_line()
                .map_err(|e| Error::io("reading", path, e))?
            {
                lines += 1;
                if lines.is_multiple_of(4096) {
                    crate::cancel::check()?;
                }
                if objects {
                    let obj = match memchr::memchr(b'\t', line) {
                        Some(_) => split_record(line).1,
                        None => line,
                    }
                    .trim_ascii();
                    if obj.is_empty() {
                        continue;
                    }
                    n += 1;
                    if !obj.starts_with(b"{") {
                        return Err(record_error(name, n, "not a JSON object", line));
                    }
                    f(n, obj, line)?;
                    continue;
                }
                n += 1;
                row.clear();
                match record_row(line, &mut row) {
                    Ok(true) => f(n, &row, line)?,
                    Ok(false) => {}
                    Err(reason) => return Err(record_error(name, n, reason, line)),
                }
            }
        }
        Ok(())
    }

    fn record_error(name: &str, n: u64, reason: impl std::fmt::Display, line: &[u8]) -> Error {
        Error::Format {
            what: format!("Parquet output, record {n} of {name}"),
            reason: format!("{reason}\n  record: {}", snippet(line)),
        }
    }

    /// The column types of one part's records, how many there are, and how
    /// many of them have a value that is an object (see [`RECORDS_KEY`]).
    pub fn infer_part(part: &Path, name: &str) -> Result<(RowType, u64, u64)> {
        let s = scan_part(&TablePart::file(part, name)?, None)?;
        Ok((s.row_type, s.rows, s.objects))
    }

    /// What one pass over a part finds.
    struct PartScan {
        /// The column types of its rows.
        row_type: RowType,
        /// How many rows.
        rows: u64,
        /// How many of them have a value that is an object.
        objects: u64,
        /// The strings of the categorical columns, counted, if any.
        counts: Option<ValueCounts>,
    }

    /// Reads a part once: its rows' types and, with `categorical` columns,
    /// their strings counted (the rows typed as their ids: see
    /// [`RowType::observe_categorical`]).
    fn scan_part(part: &TablePart, categorical: Option<&[String]>) -> Result<PartScan> {
        let name = &part.name;
        let mut t = RowType::default();
        let mut cat = categorical.map(CategoricalScan::new);
        let (mut rows, mut objects) = (0, 0);
        for_each_row(
            part,
            |n, row, line| {
                let observed = match &mut cat {
                    Some(cat) => t.observe_categorical(row, cat),
                    None => t.observe(row),
                };
                match observed {
                    Ok(()) => {
                        rows += 1;
                        let value = split_record(line).1.trim_ascii();
                        objects += u64::from(cat.is_some() || value.starts_with(b"{"));
                        Ok(())
                    }
                    Err(ObserveError::Conflict(c)) => Err(record_error(name, n, c, line)),
                    Err(ObserveError::Json(e)) => Err(record_error(name, n, e, line)),
                }
            },
            categorical.is_some(),
        )?;
        Ok(PartScan {
            row_type: t,
            rows,
            objects,
            counts: cat.map(CategoricalScan::into_counts),
        })
    }

    /// A Parquet file of `schema` without rows.
    fn write_empty(dest: &Path, schema: &SchemaRef, opts: &ParquetOptions) -> Result<()> {
        create_writer(dest, schema, opts)?
            .close()
            .map_err(|e| parquet_error(dest, e))?;
        Ok(())
    }

    /// A Parquet writer of `schema` into the new file `dest`.
    fn create_writer(
        dest: &Path,
        schema: &SchemaRef,
        opts: &ParquetOptions,
    ) -> Result<ArrowWriter<BufWriter<File>>> {
        let file = File::create(dest).map_err(|e| Error::io("creating", dest, e))?;
        ArrowWriter::try_new(
            BufWriter::with_capacity(1 << 20, file),
            schema.clone(),
            Some(opts.properties()),
        )
        .map_err(|e| parquet_error(dest, e))
    }

    /// The error of the Parquet writer failing to write `dest`: one of the
    /// file system (disk full, `ulimit -f`) is said as such, with its hint.
    fn parquet_error(dest: &Path, e: parquet::errors::ParquetError) -> Error {
        if let parquet::errors::ParquetError::External(inner) = &e
            && let Some(io) = inner.downcast_ref::<std::io::Error>()
        {
            let copy = match io.raw_os_error() {
                Some(code) => std::io::Error::from_raw_os_error(code),
                None => std::io::Error::new(io.kind(), io.to_string()),
            };
            return Error::io("writing", dest, copy);
        }
        writing_error(dest, &e)
    }

    /// The error of Arrow or Parquet failing to write `dest`.
    fn writing_error(dest: &Path, e: &dyn std::fmt::Display) -> Error {
        Error::Format {
            what: format!("writing {}", dest.display()),
            reason: e.to_string(),
        }
    }

    /// Converts one part of `key TAB value` lines, read as `schema`, into a
    /// Parquet file of `table` (the same columns, some maybe renamed: see
    /// [`apart_by_case`](crate::output::schema::apart_by_case)); returns the
    /// rows written.
    pub fn write_part(
        part: &Path,
        name: &str,
        dest: &Path,
        schemas: (&SchemaRef, &SchemaRef),
        opts: &ParquetOptions,
    ) -> Result<u64> {
        write_part_with(&TablePart::file(part, name)?, dest, schemas, opts, None)
    }

    /// How a part's categorical strings become their ids as it is written.
    enum Encode<'a> {
        /// The strings decoded as strings, then replaced by their ids a
        /// batch at a time (the row is parsed once, by the decoder): a
        /// part whose categorical values are all strings or null.
        Columns {
            /// The schema with the categorical columns as strings.
            strings: SchemaRef,
            /// Each categorical column's index and ids.
            columns: Vec<(usize, ColumnEncoder<'a>)>,
        },
        /// Each row rewritten with its ids before it is decoded (what the
        /// encode stage wrote): a part with other values there, which
        /// become null.
        Rows(&'a RowEncoder),
    }

    impl<'a> Encode<'a> {
        /// How to encode a part read as `schema`, whose categorical values
        /// include `not_strings` other than strings and null.
        fn new(schema: &SchemaRef, ids: &'a RowEncoder, not_strings: u64) -> Encode<'a> {
            if not_strings > 0 {
                return Encode::Rows(ids);
            }
            let columns: Vec<(usize, ColumnEncoder<'a>)> = schema
                .fields()
                .iter()
                .enumerate()
                .filter_map(|(i, f)| ids.column(f.name()).map(|c| (i, c)))
                .collect();
            let fields: Vec<arrow_schema::FieldRef> = schema
                .fields()
                .iter()
                .enumerate()
                .map(|(i, f)| match columns.iter().any(|(c, _)| *c == i) {
                    true => Arc::new(f.as_ref().clone().with_data_type(DataType::Utf8)),
                    false => f.clone(),
                })
                .collect();
            Encode::Columns {
                strings: Arc::new(arrow_schema::Schema::new(fields)),
                columns,
            }
        }
    }

    /// The ids of a column of strings.
    fn ids_of_strings(
        column: &arrow_array::ArrayRef,
        ids: &ColumnEncoder<'_>,
    ) -> std::result::Result<arrow_array::ArrayRef, String> {
        use arrow_array::Array;
        let strings = column
            .as_any()
            .downcast_ref::<arrow_array::StringArray>()
            .ok_or("a categorical column was not decoded as strings")?;
        let mut out = arrow_array::builder::Int64Builder::with_capacity(strings.len());
        for v in strings.iter() {
            match v {
                None => out.append_null(),
                Some(v) => {
                    let id = ids.id(v)?;
                    out.append_value(i64::try_from(id).map_err(|e| e.to_string())?);
                }
            }
        }
        Ok(Arc::new(out.finish()))
    }

    /// [`write_part`], the categorical columns' strings replaced by their
    /// ids as `encode` says (rows as [`for_each_row`] reads them with
    /// `objects`).
    fn write_part_with(
        part: &TablePart,
        dest: &Path,
        (schema, table): (&SchemaRef, &SchemaRef),
        opts: &ParquetOptions,
        encode: Option<Encode<'_>>,
    ) -> Result<u64> {
        let name = &part.name;
        let arrow_err = |e: &dyn std::fmt::Display| writing_error(dest, e);
        let mut writer = create_writer(dest, table, opts)?;
        let renamed = !Arc::ptr_eq(schema, table);
        let batch_rows = batch_rows(schema.fields().len());
        let (read_as, columns, rows_encoder) = match &encode {
            Some(Encode::Columns { strings, columns }) => (strings, &columns[..], None),
            Some(Encode::Rows(ids)) => (schema, &[][..], Some(*ids)),
            None => (schema, &[][..], None),
        };
        let mut decoder = arrow_json::ReaderBuilder::new(read_as.clone())
            .with_batch_size(batch_rows)
            .build_decoder()
            .map_err(|e| arrow_err(&e))?;
        let mut rows = 0u64;
        let mut buf = Vec::new();
        let mut first_line = 0u64;
        let mut flush = |buf: &mut Vec<u8>, first_line: u64| -> Result<()> {
            let mut off = 0;
            while off < buf.len() {
                let n = decoder.decode(&buf[off..]).map_err(|e| Error::Format {
                    what: format!("Parquet output, records from {first_line} of {name}"),
                    reason: e.to_string(),
                })?;
                off += n;
                match decoder.flush().map_err(|e| arrow_err(&e))? {
                    Some(batch) => {
                        let batch = match (renamed, columns.is_empty()) {
                            (false, true) => batch,
                            _ => {
                                let mut cols = batch.columns().to_vec();
                                for (i, ids) in columns {
                                    cols[*i] = ids_of_strings(&cols[*i], ids).map_err(|e| {
                                        Error::Format {
                                            what: format!(
                                                "Parquet output, records from {first_line} of \
                                                 {name}"
                                            ),
                                            reason: e,
                                        }
                                    })?;
                                }
                                arrow_array::RecordBatch::try_new(table.clone(), cols)
                                    .map_err(|e| arrow_err(&e))?
                            }
                        };
                        writer.write(&batch).map_err(|e| parquet_error(dest, e))?
                    }
                    None if n == 0 => {
                        return Err(Error::Internal(
                            "the JSON decoder took no bytes and gave no rows".into(),
                        ));
                    }
                    None => {}
                }
            }
            buf.clear();
            Ok(())
        };
        let json: Vec<&str> = schema
            .fields()
            .iter()
            .filter(|f| crate::input::parquet::is_json_column(f))
            .map(|f| f.name().as_str())
            .collect();
        let mut pending = 0usize;
        let mut encoded = Vec::new();
        for_each_row(
            part,
            |n, row, line| {
                if pending == 0 {
                    first_line = n;
                }
                let row = match rows_encoder {
                    Some(ids) => {
                        encoded.clear();
                        ids.encode(row, &mut encoded)
                            .map_err(|e| record_error(name, n, e, line))?;
                        &encoded[..]
                    }
                    None => row,
                };
                match json.is_empty() {
                    true => buf.extend_from_slice(row),
                    false => with_json_text(row, &json, &mut buf)
                        .map_err(|e| record_error(name, n, e, line))?,
                }
                buf.push(b'\n');
                pending += 1;
                rows += 1;
                if pending == batch_rows {
                    pending = 0;
                    flush(&mut buf, first_line)?;
                }
                Ok(())
            },
            encode.is_some(),
        )?;
        flush(&mut buf, first_line)?;
        writer.close().map_err(|e| parquet_error(dest, e))?;
        Ok(rows)
    }

    /// Appends `row` (a JSON object's text) to `out` with the values of the
    /// `json` columns (arrays whose items differ in type) as strings of their
    /// JSON text, which a column of JSON text is decoded from.
    fn with_json_text(
        row: &[u8],
        json: &[&str],
        out: &mut Vec<u8>,
    ) -> std::result::Result<(), serde_json::Error> {
        use crate::protocol::RawFields;
        let RawFields(fields) = serde_json::from_slice(row)?;
        let Some(fields) = fields else {
            out.extend_from_slice(row);
            return Ok(());
        };
        out.push(b'{');
        for (i, (name, value)) in fields.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            serde_json::to_writer(&mut *out, name)?;
            out.push(b':');
            match json.contains(&name.as_ref()) && value.get() != "null" {
                true => serde_json::to_writer(&mut *out, value.get())?,
                false => out.extend_from_slice(value.get().as_bytes()),
            }
        }
        out.push(b'}');
        Ok(())
    }

    /// Converts the parts (line files, in part order) into `part-NNNNN.parquet`
    /// files in `dest_dir` with one schema, starting with the `declared`
    /// columns; returns the files written. Parts without records give no
    /// file; no records at all give one empty table when columns are
    /// declared (a day without events is still a table), else no files.
    pub fn write_parts(
        parts: &[PathBuf],
        dest_dir: &Path,
        opts: &ParquetOptions,
        declared: &Declared,
        pool: &rayon::ThreadPool,
    ) -> Result<Vec<PathBuf>> {
        let parts = parts
            .iter()
            .map(|p| {
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                TablePart::file(p, &name)
            })
            .collect::<Result<Vec<_>>>()?;
        let scan = Scan::of(parts, declared, None, pool)?;
        scan.write(dest_dir, opts, declared, None, pool)
    }

    /// A part of a table: the name its Parquet file (`NAME.parquet`) and
    /// its errors take, and where its records are.
    #[derive(Debug, Clone)]
    pub struct TablePart {
        /// `part-NNNNN`.
        pub name: String,
        /// The splits of `key TAB value` lines it holds, in order (as a
        /// map task of them reads them).
        pub pieces: Vec<crate::input::Split>,
    }

    impl TablePart {
        /// The part that is the whole file `path` (none of it when empty).
        pub fn file(path: &Path, name: &str) -> Result<TablePart> {
            use crate::input::listing::Compression;
            use crate::input::{InputFile, InputSource};
            let size = std::fs::metadata(path)
                .map_err(|e| Error::io("opening", path, e))?
                .len();
            let file = InputFile {
                source: InputSource::Path(path.to_path_buf()),
                display: path.display().to_string(),
                size,
                compression: Compression::None,
                id: None,
            };
            Ok(TablePart {
                name: name.to_string(),
                pieces: crate::input::make_splits(vec![file], u64::MAX),
            })
        }
    }

    /// A table's parts read once (in parallel): its row type, and, with
    /// categorical columns, their strings counted. The first of the two
    /// passes over the parts; [`Scan::write`] is the second.
    ///
    /// With categorical columns, each part's distinct values are counted
    /// in memory and merged into the run's counts as each part ends: a
    /// table of threads' parts in flight, each at most the size of the
    /// dictionary made of them, beside the merged counts (the dictionary's
    /// order of memory, not the rows').
    pub struct Scan {
        parts: Vec<TablePart>,
        /// Per part: its rows, and its categorical values other than
        /// strings and null.
        part_rows: Vec<(u64, u64)>,
        row_type: RowType,
        objects: u64,
        total: u64,
        counts: Option<ValueCounts>,
    }

    impl Scan {
        /// Reads `parts`, their rows' types merged with the `declared`
        /// columns; with `categorical` columns, their rows are the records'
        /// objects (keys left out) and the columns' strings are counted, as
        /// ids their type (see [`Scan::take_counts`]).
        pub fn of(
            parts: Vec<TablePart>,
            declared: &Declared,
            categorical: Option<&[String]>,
            pool: &rayon::ThreadPool,
        ) -> Result<Scan> {
            let counts = std::sync::Mutex::new(categorical.map(ValueCounts::new));
            let types = pool.install(|| {
                parts
                    .par_iter()
                    .map(|p| {
                        let mut s = scan_part(p, categorical)?;
                        let mut not_strings = 0;
                        if let Some(c) = s.counts.take() {
                            not_strings = c.not_a_string;
                            let mut all = counts
                                .lock()
                                .map_err(|_| Error::Internal("a scan's thread panicked".into()))?;
                            if let Some(all) = all.as_mut() {
                                all.merge(c);
                            }
                        }
                        Ok((s, not_strings))
                    })
                    .collect::<Result<Vec<_>>>()
            })?;
            let counts = counts
                .into_inner()
                .map_err(|_| Error::Internal("a scan's thread panicked".into()))?;
            let mut row_type = RowType::declared(&declared.fixed);
            let mut part_rows = Vec::with_capacity(types.len());
            let (mut objects, mut total) = (0, 0);
            for ((s, not_strings), p) in types.into_iter().zip(&parts) {
                part_rows.push((s.rows, not_strings));
                (objects, total) = (objects + s.objects, total + s.rows);
                row_type.merge(s.row_type).map_err(|c| Error::Format {
                    what: format!("Parquet output, {}", p.name),
                    reason: format!(
                        "{c} (compared with the parts before it and the job's columns)"
                    ),
                })?;
            }
            row_type.type_null_columns(&*declared.type_of);
            Ok(Scan {
                parts,
                part_rows,
                row_type,
                objects,
                total,
                counts,
            })
        }

        /// The categorical columns' strings counted in every part (once).
        pub fn take_counts(&mut self) -> Option<ValueCounts> {
            self.counts.take()
        }

        /// Writes the parts as `NAME.parquet` files in `dest_dir`, with one
        /// schema starting with the `declared` columns, the categorical
        /// columns' strings replaced by their ids in `ids` (given when the
        /// scan counted them); returns the files written. Parts without
        /// records give no file; no records at all give one empty table
        /// when columns are declared (a day without events is still a
        /// table), else no files.
        pub fn write(
            self,
            dest_dir: &Path,
            opts: &ParquetOptions,
            declared: &Declared,
            ids: Option<&RowEncoder>,
            pool: &rayon::ThreadPool,
        ) -> Result<Vec<PathBuf>> {
            let Scan {
                parts,
                part_rows,
                row_type,
                objects,
                total,
                counts: _,
            } = self;
            let empty_table = !part_rows.iter().any(|(rows, _)| *rows > 0);
            if empty_table && declared.fixed.is_empty() {
                return Ok(Vec::new());
            }
            if row_type.is_empty() {
                return Err(Error::Format {
                    what: "Parquet output".into(),
                    reason: "the records have no fields (only empty objects): no column to write"
                        .into(),
                });
            }
            let mut metadata = std::collections::HashMap::new();
            let records = match (objects, total) {
                (0, 1..) => KEY_VALUE_ROWS,
                _ => "objects",
            };
            metadata.insert(RECORDS_KEY.to_string(), records.to_string());
            if !declared.ids.is_empty() {
                let ids = serde_json::to_string(&declared.ids)
                    .map_err(|e| Error::Internal(e.to_string()))?;
                metadata.insert(ID_COLUMNS_KEY.to_string(), ids);
            }
            let schema = row_type.arrow_schema().map_err(|c| Error::Format {
                what: "Parquet output".into(),
                reason: c.to_string(),
            })?;
            let schema: SchemaRef = Arc::new(schema.with_metadata(metadata.clone()));
            if schema.fields().len() > MANY_COLUMNS {
                crate::errln!(
                    "mr: warning: the table has {} columns, one for each field name the records \
                     hold (answers keyed by question id?): Parquet writes and readers slow down \
                     and use memory with each; a job that keeps such fields in one column scales",
                    schema.fields().len()
                );
            }
            // Names equal but for case kept apart, under names every reader
            // agrees on (the records are still read by their own names).
            let (apart, renamed) = crate::output::schema::apart_by_case(&schema);
            let table = match renamed.is_empty() {
                true => schema.clone(),
                false => Arc::new(apart.with_metadata(metadata)),
            };
            if !renamed.is_empty() {
                let list: Vec<String> = renamed
                    .iter()
                    .map(|(old, new)| format!("{old} as {new}"))
                    .collect();
                crate::errln!(
                    "mr: note: columns whose names equal another's but for case, which Spark \
                     refuses and DuckDB renames as it reads, are written under names of their \
                     own: {}",
                    crate::error::printable_line(&list.join(", "))
                );
            }
            if empty_table {
                let dest = dest_dir.join("part-00000.parquet");
                write_empty(&dest, &table, opts)?;
                return Ok(vec![dest]);
            }
            let parts: Vec<(&TablePart, u64)> = parts
                .iter()
                .zip(part_rows)
                .filter_map(|(p, (rows, not_strings))| (rows > 0).then_some((p, not_strings)))
                .collect();
            let write = |(p, not_strings): &(&TablePart, u64)| {
                let dest = dest_dir.join(format!("{}.parquet", p.name));
                let encode = ids.map(|ids| Encode::new(&schema, ids, *not_strings));
                write_part_with(p, &dest, (&schema, &table), opts, encode)?;
                Ok(dest)
            };
            if schema.fields().len() > MANY_COLUMNS {
                // A writer holds state for each column: one at a time.
                return parts.iter().map(write).collect();
            }
            pool.install(|| parts.par_iter().map(write).collect::<Result<Vec<_>>>())
        }
    }
}

#[cfg(all(test, feature = "parquet"))]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int64Type;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use std::fs::File;

    fn none() -> Declared<'static> {
        Declared {
            fixed: Vec::new(),
            ids: Vec::new(),
            type_of: Box::new(|_| None),
        }
    }

    fn pool() -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap()
    }

    #[test]
    fn parts_share_one_schema_and_round_trip() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("part-00000");
        let b = d.path().join("part-00001");
        let e = d.path().join("part-00002");
        std::fs::write(&a, "null\t{\"n\":1,\"s\":\"x\"}\nnull\t{\"n\":2}\n").unwrap();
        std::fs::write(&b, "null\t{\"s\":\"y\",\"f\":1.5}\n").unwrap();
        std::fs::write(&e, "").unwrap();
        let out = d.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let opts = ParquetOptions {
            row_group_rows: 1,
            ..Default::default()
        };
        let files = write_parts(&[a, b, e], &out, &opts, &none(), &pool()).unwrap();
        assert_eq!(files.len(), 2);
        let f = File::open(&files[0]).unwrap();
        let r = ParquetRecordBatchReaderBuilder::try_new(f).unwrap();
        assert_eq!(r.metadata().num_row_groups(), 2);
        let schema = r.schema().clone();
        let names: Vec<_> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["n", "s", "f"]);
        let batches: Vec<_> = r.build().unwrap().map(|b| b.unwrap()).collect();
        let n: Vec<_> = batches
            .iter()
            .flat_map(|b| {
                b.column(0)
                    .as_primitive::<Int64Type>()
                    .iter()
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(n, [Some(1), Some(2)]);
        let f = File::open(&files[1]).unwrap();
        let r = ParquetRecordBatchReaderBuilder::try_new(f).unwrap();
        assert_eq!(r.schema(), &schema);
    }

    /// Fields whose names differ by case alone, in different records (and
    /// parts), are columns apart under names every reader agrees on (found
    /// by a probe: DuckDB read `score_note` from `Score_note`'s column and
    /// renamed the other as it read; Spark refuses such a table).
    #[test]
    fn names_equal_but_for_case_are_columns_apart() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("part-00000");
        let b = d.path().join("part-00001");
        std::fs::write(&a, "null\t{\"Score_note\":\"A\",\"n\":1}\n").unwrap();
        std::fs::write(&b, "null\t{\"score_note\":\"B\"}\nnull\t{\"N\":2}\n").unwrap();
        let out = d.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let files = write_parts(&[a, b], &out, &Default::default(), &none(), &pool()).unwrap();
        let read = |f: &Path| {
            let r = ParquetRecordBatchReaderBuilder::try_new(File::open(f).unwrap()).unwrap();
            r.build().unwrap().next().unwrap().unwrap()
        };
        let (first, second) = (read(&files[0]), read(&files[1]));
        let names: Vec<_> = first
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        // The name in lower case stays, whichever record came first.
        assert_eq!(names, ["Score_note_2", "n", "score_note", "N_2"]);
        let text = |b: &arrow_array::RecordBatch, c: &str, row: usize| {
            let col = b.column_by_name(c).unwrap().as_string::<i32>();
            arrow_array::Array::is_valid(col, row).then(|| col.value(row).to_string())
        };
        assert_eq!(text(&first, "Score_note_2", 0).as_deref(), Some("A"));
        assert_eq!(text(&first, "score_note", 0), None);
        assert_eq!(text(&second, "score_note", 0).as_deref(), Some("B"));
        assert_eq!(text(&second, "Score_note_2", 0), None);
        let n2 = second
            .column_by_name("N_2")
            .unwrap()
            .as_primitive::<Int64Type>();
        assert_eq!(n2.value(1), 2);
    }

    /// A day whose column is all null, and a day without rows, give the
    /// same schema as a day with values: the job's declared columns.
    /// A wide table (a column per question id) is written in batches of
    /// fewer rows, one part at a time, every row and value kept.
    #[test]
    fn a_wide_table_round_trips_in_small_batches() {
        let d = tempfile::tempdir().unwrap();
        let parts: Vec<PathBuf> = (0..2)
            .map(|i| d.path().join(format!("part-0000{i}")))
            .collect();
        for (i, p) in parts.iter().enumerate() {
            let lines: String = (0..2000)
                .map(|r| format!("null\t{{\"q{}\":{r},\"part\":{i}}}\n", (r * 7 + i) % 2500))
                .collect();
            std::fs::write(p, lines).unwrap();
        }
        let out = d.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let files = write_parts(&parts, &out, &Default::default(), &none(), &pool()).unwrap();
        assert_eq!(files.len(), 2);
        for (i, f) in files.iter().enumerate() {
            let r = ParquetRecordBatchReaderBuilder::try_new(File::open(f).unwrap()).unwrap();
            assert!(r.schema().fields().len() > MANY_COLUMNS);
            assert!(batch_rows(r.schema().fields().len()) < 2000);
            let batches: Vec<_> = r.build().unwrap().map(|b| b.unwrap()).collect();
            assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 2000);
            // Row 1999 of part i, the last: q{(1999 * 7 + i) % 2500} = 1999.
            let last = batches.last().unwrap();
            let col = last
                .column_by_name(&format!("q{}", (1999 * 7 + i) % 2500))
                .unwrap();
            let col = col.as_primitive::<Int64Type>();
            assert_eq!(col.value(last.num_rows() - 1), 1999);
        }
    }

    #[test]
    fn declared_columns_keep_the_schema_of_null_and_empty_days() {
        use crate::ColumnType;
        let declared = || Declared {
            ids: Vec::new(),
            fixed: vec![
                ("user".into(), ColumnType::Int),
                ("t".into(), ColumnType::Int),
            ],
            type_of: Box::new(|n| (n == "score").then_some(ColumnType::Float)),
        };
        let schema_of = |lines: &str| {
            let d = tempfile::tempdir().unwrap();
            let a = d.path().join("part-00000");
            std::fs::write(&a, lines).unwrap();
            let out = d.path().join("out");
            std::fs::create_dir(&out).unwrap();
            let files = write_parts(&[a], &out, &Default::default(), &declared(), &pool()).unwrap();
            assert_eq!(files, [out.join("part-00000.parquet")]);
            let f = File::open(&files[0]).unwrap();
            let r = ParquetRecordBatchReaderBuilder::try_new(f).unwrap();
            let rows: usize = r.build().unwrap().map(|b| b.unwrap().num_rows()).sum();
            let f = File::open(&files[0]).unwrap();
            let r = ParquetRecordBatchReaderBuilder::try_new(f).unwrap();
            (r.schema().clone(), rows)
        };
        let (values, 2) = schema_of(
            "null\t{\"user\":1,\"t\":5,\"score\":0.5}\nnull\t{\"user\":2,\"t\":6,\"score\":null}\n",
        ) else {
            panic!("two rows")
        };
        let (nulls, 1) = schema_of("null\t{\"user\":null,\"t\":null,\"score\":null}\n") else {
            panic!("one row")
        };
        assert_eq!(nulls, values);
        let (empty, 0) = schema_of("") else {
            panic!("no rows")
        };
        let names: Vec<_> = empty.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["user", "t"]);
        // Declared columns come first, in order, whatever the records' order.
        let (reordered, 1) = schema_of("null\t{\"score\":1.5,\"t\":1,\"user\":3}\n") else {
            panic!("one row")
        };
        let names: Vec<_> = reordered
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        assert_eq!(names, ["user", "t", "score"]);
        // A record against a declared type is an error naming the column.
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("part-00000");
        std::fs::write(&a, "null\t{\"user\":\"ann\"}\n").unwrap();
        let e = write_parts(&[a], d.path(), &Default::default(), &declared(), &pool())
            .unwrap_err()
            .to_string();
        assert!(e.contains("`user`"), "{e}");
    }

    #[test]
    fn conflicts_across_parts_name_the_part() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("part-00000");
        let b = d.path().join("part-00001");
        std::fs::write(&a, "null\t{\"u\":\"ann\"}\n").unwrap();
        std::fs::write(&b, "null\t{\"u\":{\"name\":\"bob\"}}\n").unwrap();
        let e = write_parts(
            &[a.clone(), b],
            d.path(),
            &Default::default(),
            &none(),
            &pool(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("part-00001") && e.contains("column `u`"), "{e}");
        std::fs::write(&a, "null\t{\"u\":\"ann\"}\nnull\t{\"u\":[1]}\n").unwrap();
        let e = write_parts(&[a], d.path(), &Default::default(), &none(), &pool())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("record 2 of part-00000") && e.contains("a string in earlier records"),
            "{e}"
        );
    }

    /// Integers keep their values: above 2^63 - 1 an unsigned column,
    /// with negative ones too a decimal of 20 digits (a double rounded
    /// 18446744073709551615 to 1.8446744073709552e19, silently).
    #[test]
    fn integers_beyond_i64_stay_exact() {
        use arrow_array::types::{Decimal128Type, UInt64Type};
        use arrow_schema::DataType;
        let d = tempfile::tempdir().unwrap();
        let part = d.path().join("part-00000");
        std::fs::write(
            &part,
            "null\t{\"u\":18446744073709551615,\"w\":-9223372036854775808,\"i\":-1}\n\
             null\t{\"u\":7,\"w\":18446744073709551615,\"i\":9223372036854775807}\n",
        )
        .unwrap();
        let out = d.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let files =
            write_parts(&[part], &out, &ParquetOptions::default(), &none(), &pool()).unwrap();
        let r = ParquetRecordBatchReaderBuilder::try_new(File::open(&files[0]).unwrap()).unwrap();
        let types: Vec<_> = r
            .schema()
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        assert_eq!(
            types,
            [
                DataType::UInt64,
                DataType::Decimal128(20, 0),
                DataType::Int64
            ]
        );
        let b = r.build().unwrap().next().unwrap().unwrap();
        let u: Vec<_> = b.column(0).as_primitive::<UInt64Type>().iter().collect();
        assert_eq!(u, [Some(u64::MAX), Some(7)]);
        let w: Vec<_> = b
            .column(1)
            .as_primitive::<Decimal128Type>()
            .iter()
            .collect();
        assert_eq!(w, [Some(i128::from(i64::MIN)), Some(i128::from(u64::MAX))]);
        let i: Vec<_> = b.column(2).as_primitive::<Int64Type>().iter().collect();
        assert_eq!(i, [Some(-1), Some(i64::MAX)]);
    }

    /// A tuple key (`top_lectures`' `[course, lecture]`: items of different
    /// types) is a column of JSON text with Parquet's JSON logical type (it
    /// stopped the run: "column `key[]` is a string in earlier records and
    /// an integer here", pipeline probe /tmp/probe-pipeline repro 04), also
    /// when one part's arrays are of one type and another's of another; and
    /// a key/value table reads back as the records it was made from (it was
    /// read as `{"key":..,"value":..}<TAB>null`, repro 03).
    #[test]
    fn tuple_keys_are_json_and_key_value_tables_read_back_as_records() {
        use crate::input::parquet::ParquetLines;
        use parquet::basic::LogicalType;
        use std::io::Read;
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("part-00000");
        let b = d.path().join("part-00001");
        let c = d.path().join("part-00002");
        std::fs::write(&a, "[\"c1\",1]\t2\n[\"c2\", 10]\t1\n").unwrap();
        std::fs::write(&b, "[7,8]\t3\nnull\t4\n").unwrap();
        std::fs::write(&c, "[\"x\",\"y\"]\t5\n").unwrap();
        let out = d.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let files = write_parts(&[a, b, c], &out, &Default::default(), &none(), &pool()).unwrap();
        let r = ParquetRecordBatchReaderBuilder::try_new(File::open(&files[0]).unwrap()).unwrap();
        let key = r.parquet_schema().column(0);
        assert_eq!(key.name(), "key");
        assert_eq!(key.logical_type_ref(), Some(&LogicalType::Json));
        let mut text = String::new();
        for f in &files {
            ParquetLines::open(f, 0, u64::MAX, None)
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
        }
        assert_eq!(
            text,
            "[\"c1\",1]\t2\n[\"c2\", 10]\t1\n[7,8]\t3\nnull\t4\n[\"x\",\"y\"]\t5\n"
        );
        // A key/value table of other keys, read with a projection (the
        // job's input columns): still the records.
        let p = d.path().join("part-00003");
        std::fs::write(&p, "\"a\"\t{\"n\":1}\n").unwrap();
        let out2 = d.path().join("out2");
        std::fs::create_dir(&out2).unwrap();
        let p2 = d.path().join("part-00004");
        std::fs::write(&p2, "\"a\"\t2\n\"b\"\t1.5\n").unwrap();
        let files = write_parts(&[p2], &out2, &Default::default(), &none(), &pool()).unwrap();
        let mut text = String::new();
        ParquetLines::open(&files[0], 0, u64::MAX, Some(&["page_url".to_string()]))
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "\"a\"\t2.0\n\"b\"\t1.5\n");
        // A value that is an object: its fields beside the key, a row.
        let out3 = d.path().join("out3");
        std::fs::create_dir(&out3).unwrap();
        let files = write_parts(&[p], &out3, &Default::default(), &none(), &pool()).unwrap();
        let mut text = String::new();
        ParquetLines::open(&files[0], 0, u64::MAX, None)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "{\"key\":\"a\",\"n\":1}\n");
    }

    /// Which records a table of exactly the columns `key` and `value` holds
    /// is in its metadata: values that are objects with a field `value`
    /// (`"a"<TAB>{"value":1}`, read back as `"a"<TAB>1`), and values of
    /// null keys alone (`null<TAB>5`, a table of one column `value`, read
    /// back as the object `{"value":5}`), were taken for the other shape
    /// (probe /tmp/probe5-structured repros 09, 10).
    #[test]
    fn a_tables_records_are_read_back_as_its_metadata_says() {
        use crate::input::parquet::ParquetLines;
        use std::io::Read;
        let d = tempfile::tempdir().unwrap();
        let back = |name: &str, records: &str| {
            let part = d.path().join(format!("part-{name}"));
            std::fs::write(&part, records).unwrap();
            let out = d.path().join(name);
            std::fs::create_dir(&out).unwrap();
            let files = write_parts(&[part], &out, &Default::default(), &none(), &pool()).unwrap();
            let mut text = String::new();
            ParquetLines::open(&files[0], 0, u64::MAX, None)
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
            text
        };
        assert_eq!(
            back(
                "objects",
                "\"a\"\t{\"value\":1}\nnull\t{\"key\":\"b\",\"value\":3}\n"
            ),
            "{\"key\":\"a\",\"value\":1}\n{\"key\":\"b\",\"value\":3}\n"
        );
        assert_eq!(back("values", "null\t5\nnull\t7\n"), "null\t5\nnull\t7\n");
        assert_eq!(back("pairs", "\"a\"\t1\n"), "\"a\"\t1\n");
    }

    /// A table of categorical ids names its columns of ids in its metadata,
    /// so that a job with categorical columns can refuse it as input
    /// (pipeline probe /tmp/probe-pipeline repro 07).
    #[test]
    fn a_table_of_ids_says_so() {
        use crate::input::parquet::id_columns;
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("part-00000");
        std::fs::write(&a, "null\t{\"user\":0,\"n\":1}\n").unwrap();
        let out = d.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let declared = Declared {
            fixed: Vec::new(),
            ids: vec!["user".into()],
            type_of: Box::new(|_| None),
        };
        let files = write_parts(
            std::slice::from_ref(&a),
            &out,
            &Default::default(),
            &declared,
            &pool(),
        )
        .unwrap();
        assert_eq!(id_columns(&files[0], &[]).unwrap(), ["user"]);
        // Without the metadata (an older mr): mr's table with an integer
        // column the job makes ids of.
        let out2 = d.path().join("out2");
        std::fs::create_dir(&out2).unwrap();
        let files = write_parts(&[a], &out2, &Default::default(), &none(), &pool()).unwrap();
        assert!(id_columns(&files[0], &[]).unwrap().is_empty());
        assert!(
            id_columns(&files[0], &["page".to_string()])
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            id_columns(&files[0], &["user".to_string()]).unwrap(),
            ["user"]
        );
    }

    /// A table says, as a Spark 3 writer does, that its times are in the
    /// proleptic Gregorian calendar: without it Spark refused a whole
    /// table for one time before 1900 (probe /tmp/probe12-tables repro 02,
    /// checked with Spark 3.5 by its script).
    #[test]
    fn a_table_tells_spark_its_calendar() {
        use parquet::file::reader::{FileReader, SerializedFileReader};
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("part-00000");
        std::fs::write(&a, "null\t{\"n\":1}\n").unwrap();
        let out = d.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let files = write_parts(&[a], &out, &Default::default(), &none(), &pool()).unwrap();
        let reader = SerializedFileReader::new(std::fs::File::open(&files[0]).unwrap()).unwrap();
        let kv = reader
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .unwrap();
        let spark: Vec<_> = kv.iter().filter(|k| k.key == SPARK_VERSION_KEY).collect();
        assert_eq!(spark.len(), 1, "{kv:?}");
        assert_eq!(spark[0].value.as_deref(), Some(SPARK_CALENDAR_VERSION));
        // Spark's key for a file in its old calendar is not there.
        assert!(!kv.iter().any(|k| k.key.contains("legacy")), "{kv:?}");
        // Alongside Arrow's schema, which readers still find.
        assert!(kv.iter().any(|k| k.key == "ARROW:schema"), "{kv:?}");
    }
}
