//! Cuts input files into splits of about `chunk_size` bytes, and packs
//! small files' splits into tasks ([`pack`]).
//!
//! A split owns the lines whose **first byte** lies in `[start, end)`: the
//! reader of a split that starts mid-line skips to the next line, and reads
//! past `end` to finish its last line. So no line is lost, cut or read twice,
//! whatever the chunk size. A compressed file, stdin or another stream (a
//! named pipe) is one split. A Parquet table has one split per row group.

use super::listing::{Compression, InputFile, InputSource};
use std::sync::Arc;

/// A byte range of one input file: what a map task reads (one split, or a
/// pack of small files' splits: see [`pack`]).
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

/// Cuts the last parts of large plain files finer, so that a step ends on
/// `threads` × [`TAIL_PIECES`] short tasks. The scheduler starts the longest
/// tasks first (see `runner::schedule`), so these run last, and the threads
/// then finish within a short task of each other, not within a whole split
/// (with equal splits, one thread idles half a split at the end on
/// average); and a file of one or two splits keeps every thread busy. The
/// last `threads` such splits are cut in [`TAIL_PIECES`] each (fewer
/// splits, in more pieces each), no piece under [`TAIL_PIECE_MIN`] bytes;
/// nothing is cut for one thread.
/// Splits keep their order, renumbered. Which lines a task reads never
/// changes the results: a split owns the lines that start in it.
///
/// ```
/// use mr_core::input::{split::{finer_tail, make_splits}, InputFile, InputSource};
/// use mr_core::input::listing::Compression;
/// let f = |size| InputFile { source: InputSource::Path("x".into()), display: "x".into(),
///                            size, compression: Compression::None, id: None };
/// let mb = |s: &mr_core::input::Split| ((s.start >> 20), (s.end >> 20));
/// // Four splits of 16 MiB, two threads: the last two in quarters.
/// let splits = finer_tail(make_splits(vec![f(64 << 20)], 16 << 20), 2);
/// assert_eq!(splits.iter().map(mb).collect::<Vec<_>>(),
///            vec![(0, 16), (16, 32), (32, 36), (36, 40), (40, 44), (44, 48),
///                 (48, 52), (52, 56), (56, 60), (60, 64)]);
/// assert!(splits.iter().enumerate().all(|(i, s)| s.index == i));
/// // One split, two threads: eight pieces.
/// assert_eq!(finer_tail(make_splits(vec![f(16 << 20)], 16 << 20), 2).len(), 8);
/// // Pieces of 1 MiB at least: a file under 2 MiB is left whole.
/// assert_eq!(finer_tail(make_splits(vec![f(3 << 20)], 16 << 20), 2).len(), 3);
/// assert_eq!(finer_tail(make_splits(vec![f((2 << 20) - 1)], 16 << 20), 2).len(), 1);
/// ```
pub fn finer_tail(splits: Vec<Split>, threads: usize) -> Vec<Split> {
    let cuttable = |s: &Split| {
        matches!(s.file.source, InputSource::Path(_))
            && s.file.compression == Compression::None
            && s.end != u64::MAX
            && s.len() >= 2 * TAIL_PIECE_MIN
    };
    if threads <= 1 {
        return splits; // one thread ends when its tasks do
    }
    let mut cut: Vec<usize> = (0..splits.len())
        .rev()
        .filter(|&i| cuttable(&splits[i]))
        .take(threads)
        .collect();
    if cut.is_empty() {
        return splits;
    }
    cut.sort_unstable();
    let pieces = TAIL_PIECES * threads.div_ceil(cut.len()) as u64;
    let mut out = Vec::with_capacity(splits.len() + cut.len() * pieces as usize);
    for (i, s) in splits.into_iter().enumerate() {
        if cut.binary_search(&i).is_err() {
            out.push(Split {
                index: out.len(),
                ..s
            });
            continue;
        }
        let len = s.len();
        let n = pieces.min(len / TAIL_PIECE_MIN);
        for k in 0..n {
            out.push(Split {
                index: out.len(),
                file: s.file.clone(),
                start: s.start + len * k / n,
                end: s.start + len * (k + 1) / n,
            });
        }
    }
    out
}

/// Pieces a tail split is cut into by [`finer_tail`].
pub const TAIL_PIECES: u64 = 4;
/// The smallest piece [`finer_tail`] makes: 1 MiB.
pub const TAIL_PIECE_MIN: u64 = 1 << 20;

/// Packs runs of small files' splits into map tasks of about `target_bytes`
/// each, as Hadoop's `CombineFileInputFormat` does: a directory of 300,000
/// one-line logs is a few hundred tasks, not 300,000 (each a sort buffer, a
/// sorted run and a report line). Splits keep their order, so a task's
/// splits are consecutive and results come back as they would one split a
/// task. A split is packed when it is a whole file of plain text (or a
/// compressed file of at most [`PACKED_COMPRESSED_MAX`] bytes) costing less
/// than `target_bytes`; any other split (a part of a large file, a stream,
/// a table's row group) is a task of its own. A compressed byte costs
/// [`COMPRESSED_COST`] bytes.
///
/// ```
/// use mr_core::input::{split::{make_splits, pack}, InputFile, InputSource};
/// use mr_core::input::listing::Compression;
/// let f = |n: &str, size| InputFile { source: InputSource::Path(n.into()), display: n.into(),
///                                     size, compression: Compression::None, id: None };
/// let splits = make_splits(vec![f("a", 40), f("b", 40), f("c", 40), f("big", 250), f("d", 10)], 100);
/// let tasks: Vec<Vec<usize>> = pack(splits, 100).iter()
///     .map(|t| t.iter().map(|s| s.index).collect()).collect();
/// // a+b fit in 100 bytes; big is three splits of its own; d follows.
/// assert_eq!(tasks, vec![vec![0, 1], vec![2], vec![3], vec![4], vec![5], vec![6]]);
/// ```
pub fn pack(splits: Vec<Split>, target_bytes: u64) -> Vec<Vec<Split>> {
    let mut tasks: Vec<Vec<Split>> = Vec::new();
    let mut open: Vec<Split> = Vec::new();
    let mut open_cost = 0u64;
    for s in splits {
        let cost = pack_cost(&s).filter(|&c| c < target_bytes);
        match cost {
            Some(c) if open_cost + c <= target_bytes => {
                open_cost += c;
                open.push(s);
            }
            Some(c) => {
                tasks.push(std::mem::take(&mut open));
                open_cost = c;
                open.push(s);
            }
            None => {
                if !open.is_empty() {
                    tasks.push(std::mem::take(&mut open));
                    open_cost = 0;
                }
                tasks.push(vec![s]);
            }
        }
    }
    if !open.is_empty() {
        tasks.push(open);
    }
    tasks
}

/// The largest compressed file packed with others (1 MiB: some 4 to 10 MiB
/// of text): a larger one is a task of its own, which a worker may cut into
/// pieces as it is decoded.
pub const PACKED_COMPRESSED_MAX: u64 = 1 << 20;

/// How many bytes a compressed byte is taken to hold when packing (logs and
/// JSON events shrink 4 to 10 times with gzip, bzip2 or zstd).
pub const COMPRESSED_COST: u64 = 4;

/// What a split costs in a pack, if it can be packed: a whole file on disk,
/// plain or small and compressed, not a table.
fn pack_cost(s: &Split) -> Option<u64> {
    let f = &s.file;
    if !matches!(f.source, InputSource::Path(_)) || s.start != 0 {
        return None;
    }
    match f.compression {
        Compression::None if s.end >= f.size => Some(f.size),
        Compression::Parquet | Compression::None => None,
        _ if f.size <= PACKED_COMPRESSED_MAX => Some(f.size * COMPRESSED_COST),
        _ => None,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, size: u64, compression: Compression) -> InputFile {
        let source = match name {
            "-" => InputSource::Stdin,
            _ => InputSource::Path(name.into()),
        };
        InputFile {
            source,
            display: name.into(),
            size,
            compression,
            id: None,
        }
    }

    fn tasks(files: Vec<InputFile>, chunk: u64, target: u64) -> Vec<Vec<String>> {
        pack(make_splits(files, chunk), target)
            .iter()
            .map(|t| t.iter().map(|s| s.file.display.clone()).collect())
            .collect()
    }

    #[test]
    fn small_compressed_files_are_packed_at_their_cost_and_large_ones_alone() {
        let mib = 1 << 20;
        let files = vec![
            file("a.gz", mib / 4, Compression::Gzip),
            file("b.gz", mib / 4, Compression::Gzip),
            file("c.txt", mib, Compression::None),
            file("d.gz", 2 * mib, Compression::Gzip),
            file("e.zst", 10, Compression::Zstd),
        ];
        // a and b cost 1 MiB each (4 x their size): with c, 3 MiB.
        assert_eq!(
            tasks(files, 64 * mib, 3 * mib),
            [vec!["a.gz", "b.gz", "c.txt"], vec!["d.gz"], vec!["e.zst"]]
        );
    }

    #[test]
    fn streams_and_tables_are_never_packed() {
        let files = vec![
            file("a", 10, Compression::None),
            file("-", 0, Compression::None),
            file("b", 10, Compression::None),
            file("t.parquet", 10, Compression::Parquet),
            file("c", 10, Compression::None),
            file("d", 10, Compression::None),
        ];
        assert_eq!(
            tasks(files, 1000, 1000),
            [
                vec!["a"],
                vec!["-"],
                vec!["b"],
                vec!["t.parquet"],
                vec!["c", "d"]
            ]
        );
    }

    #[test]
    fn a_file_as_large_as_the_target_is_a_task_of_its_own() {
        let files = vec![
            file("a", 60, Compression::None),
            file("b", 100, Compression::None),
            file("c", 40, Compression::None),
            file("d", 40, Compression::None),
        ];
        assert_eq!(
            tasks(files, 1000, 100),
            [vec!["a"], vec!["b"], vec!["c", "d"]]
        );
    }
}
