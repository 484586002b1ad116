//! Cuts input files into splits of about `chunk_size` bytes.
//!
//! A split owns the lines whose **first byte** lies in `[start, end)`: the
//! reader of a split that starts mid-line skips to the next line, and reads
//! past `end` to finish its last line. So no line is lost, cut or read twice,
//! whatever the chunk size. A compressed file, stdin or another stream (a
//! named pipe) is one split. A Parquet table has one split per row group.

use super::listing::{Compression, InputFile, InputSource};
use std::sync::Arc;

/// A byte range of one input file, the unit of work of a map task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The split's number in the step, which names its map task.
    pub index: usize,
    /// The file.
    pub file: Arc<InputFile>,
    /// First byte owned (for plain files).
    pub start: u64,
    /// One past the last byte where an owned line may start; `u64::MAX` to
    /// read to the end (gzip, stdin).
    pub end: u64,
}

impl Split {
    /// Approximate bytes this split covers (compressed size for gzip).
    pub fn len(&self) -> u64 {
        if self.end == u64::MAX {
            self.file.size
        } else {
            self.end - self.start
        }
    }

    /// True for a split that covers nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Splits files into byte ranges of at most `chunk_size` bytes.
///
/// ```
/// use mr_core::input::{make_splits, InputFile, InputSource};
/// use mr_core::input::listing::Compression;
/// let f = InputFile { source: InputSource::Path("x".into()), display: "x".into(),
///                     size: 250, compression: Compression::None, id: None };
/// let s = make_splits(vec![f], 100);
/// assert_eq!(s.iter().map(|s| (s.start, s.end)).collect::<Vec<_>>(),
///            vec![(0, 100), (100, 200), (200, 250)]);
/// ```
pub fn make_splits(files: Vec<InputFile>, chunk_size: u64) -> Vec<Split> {
    let chunk = chunk_size.max(1);
    let mut out = Vec::new();
    for f in files {
        if f.size == 0 && !f.source.is_stream() {
            continue; // nothing to read (even a zero-byte .gz, as crashed rotations leave)
        }
        let whole = f.compression.is_compressed() || f.source.is_stream();
        let file = Arc::new(f);
        if file.compression == Compression::Parquet && !whole {
            for (start, end) in table_ranges(&file) {
                out.push(Split {
                    index: out.len(),
                    file: file.clone(),
                    start,
                    end,
                });
            }
            continue;
        }
        if whole {
            out.push(Split {
                index: out.len(),
                start: 0,
                end: u64::MAX,
                file,
            });
            continue;
        }
        let mut start = 0;
        while start < file.size {
            let end = (start + chunk).min(file.size);
            out.push(Split {
                index: out.len(),
                file: file.clone(),
                start,
                end,
            });
            start = end;
        }
    }
    out
}

/// One split per file, each whole, empty files too: the input of a step
/// whose mapper reads whole files (see [`crate::input::whole_file`]), as
/// mrjob's input manifest lists every file.
///
/// ```
/// use mr_core::input::{split::whole_files, InputFile, InputSource};
/// use mr_core::input::listing::Compression;
/// let f = |n: &str, size| InputFile { source: InputSource::Path(n.into()), display: n.into(),
///                                     size, compression: Compression::None, id: None };
/// let s = whole_files(vec![f("a", 250), f("empty", 0)]);
/// assert_eq!(s.iter().map(|s| (s.index, s.start, s.end)).collect::<Vec<_>>(),
///            vec![(0, 0, u64::MAX), (1, 0, u64::MAX)]);
/// ```
pub fn whole_files(files: Vec<InputFile>) -> Vec<Split> {
    files
        .into_iter()
        .enumerate()
        .map(|(index, f)| Split {
            index,
            file: Arc::new(f),
            start: 0,
            end: u64::MAX,
        })
        .collect()
}

/// The splits of a Parquet file: one per row group. A file whose footer
/// cannot be read is one split, whose reader then reports why.
fn table_ranges(file: &InputFile) -> Vec<(u64, u64)> {
    #[cfg(feature = "parquet")]
    if let InputSource::Path(p) = &file.source
        && let Ok(ranges) = super::parquet::row_group_ranges(p)
    {
        return ranges;
    }
    let _ = file;
    vec![(0, u64::MAX)]
}
