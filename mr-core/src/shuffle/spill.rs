//! Sorted runs on disk: the writer, the reader, and the temp files that
//! delete themselves.
//!
//! A spill file holds one segment per partition; a segment is a sorted run of
//! records, each `varint(len) key  varint(len) sort-key  varint(len) value`.
//! Binary and length-prefixed: no escaping, no parsing on the way back. A
//! [`Run`] names one segment and keeps its file alive: the file is deleted when
//! the last `Run` pointing into it is dropped.
//!
//! A small task's only spill can stay in memory instead
//! ([`RunWriter::in_memory`]): the same bytes, one buffer per segment, read
//! the same way. Thousands of small input files (hourly logs, a log
//! shipper's many `.gz` parts) then cost no file each to create and delete,
//! which is most of their time on a busy file system. What memory runs hold
//! at once is bounded process-wide ([`MemoryRuns`]).

use crate::error::{Error, Result};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tempfile::TempPath;

/// Buffer size for writing a run.
pub const WRITE_BUFFER_BYTES: usize = 256 << 10; // 256 KiB
/// Buffer size for reading a run back during a merge (one per merged run).
pub const READ_BUFFER_BYTES: usize = 64 << 10; // 64 KiB

/// One sorted run: a segment of a spill file, or a buffer in memory.
#[derive(Debug, Clone)]
pub struct Run {
    storage: Storage,
    offset: u64,
    len: u64,
    /// Records in the run.
    pub records: u64,
    /// Bytes of its largest record (a merge holds one record of each run
    /// it reads at once).
    pub largest: u64,
}

/// Where a run's bytes are.
#[derive(Debug, Clone)]
enum Storage {
    /// A spill file, deleted with its last run.
    File(Arc<TempPath>),
    /// Its own buffer.
    Memory(Arc<MemoryRun>),
}

/// A run's bytes in memory, counted in [`MemoryRuns`] while they live.
struct MemoryRun(Box<[u8]>);

impl std::fmt::Debug for MemoryRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MemoryRun({} bytes)", self.0.len())
    }
}

impl Drop for MemoryRun {
    fn drop(&mut self) {
        MemoryRuns::give_back(self.0.len());
    }
}

/// The bytes all memory runs of this process hold, bounded: a run is kept in
/// memory only if its bytes fit under the bound its writer gives.
pub struct MemoryRuns;

static MEMORY_RUN_BYTES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl MemoryRuns {
    fn add(bytes: usize) {
        MEMORY_RUN_BYTES.fetch_add(bytes, std::sync::atomic::Ordering::AcqRel);
    }

    fn give_back(bytes: usize) {
        MEMORY_RUN_BYTES.fetch_sub(bytes, std::sync::atomic::Ordering::AcqRel);
    }

    /// Bytes held in memory runs now, in this process.
    pub fn held() -> usize {
        MEMORY_RUN_BYTES.load(std::sync::atomic::Ordering::Acquire)
    }
}

impl Run {
    /// Bytes the run takes on disk (or in memory).
    pub fn bytes(&self) -> u64 {
        self.len
    }

    /// True for a run held in memory.
    pub fn in_memory(&self) -> bool {
        matches!(self.storage, Storage::Memory(_))
    }

    /// Opens the run for reading.
    pub fn open(&self) -> Result<RunReader> {
        let (source, path, buffer): (Box<dyn Read + Send>, PathBuf, usize) = match &self.storage {
            Storage::File(file) => {
                let path: &Path = file;
                let mut f = File::open(path).map_err(|e| Error::io("opening spill", path, e))?;
                f.seek(SeekFrom::Start(self.offset))
                    .map_err(|e| Error::io("seeking in spill", path, e))?;
                (Box::new(f), path.to_path_buf(), READ_BUFFER_BYTES)
            }
            Storage::Memory(m) => {
                let bytes = Arc::clone(m);
                (
                    Box::new(io::Cursor::new(ArcBytes(bytes))),
                    PathBuf::from("(a run in memory)"),
                    (self.len as usize).clamp(1, READ_BUFFER_BYTES),
                )
            }
        };
        Ok(RunReader {
            r: BufReader::with_capacity(buffer, source.take(self.len)),
            path,
            expected: self.records,
            read: 0,
            key: Vec::new(),
            sort_key: Vec::new(),
            value: Vec::new(),
        })
    }
}

/// A memory run's bytes, readable through a cursor.
struct ArcBytes(Arc<MemoryRun>);

impl AsRef<[u8]> for ArcBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0.0
    }
}

/// Where a writer's records go.
enum Out {
    File {
        w: BufWriter<File>,
        file: Arc<TempPath>,
    },
    /// The current segment's bytes; each segment becomes a buffer of its own.
    Memory { segment: Vec<u8> },
}

/// Writes records into a new spill file (or memory), segment by segment.
pub struct RunWriter {
    out: Out,
    pos: u64,
    seg_start: u64,
    seg_records: u64,
    /// Bytes of the current segment's largest record.
    seg_largest: u64,
    /// Bytes this file is expected to take (for the disk-full message).
    expected: u64,
}

impl RunWriter {
    /// Creates a new spill file in `dir`.
    pub fn create(dir: &Path) -> Result<RunWriter> {
        let named = tempfile::Builder::new()
            .prefix("spill-")
            .tempfile_in(dir)
            .map_err(|e| Error::io("creating spill file in", dir, e))?;
        let (f, path) = named.into_parts();
        Ok(RunWriter {
            out: Out::File {
                w: BufWriter::with_capacity(WRITE_BUFFER_BYTES, f),
                file: Arc::new(path),
            },
            pos: 0,
            seg_start: 0,
            seg_records: 0,
            seg_largest: 0,
            expected: 0,
        })
    }

    /// A writer whose runs stay in memory, for a spill of about `bytes`
    /// bytes, if the memory runs of the process hold at most `limit` bytes
    /// with it; `None` otherwise (write a file then). Writers that ask at
    /// once may each pass: the bound is exceeded by at most one spill each.
    ///
    /// ```
    /// use mr_core::shuffle::spill::RunWriter;
    /// assert!(RunWriter::in_memory(1 << 40, 1 << 20).is_none()); // too big: a file
    /// let mut w = RunWriter::in_memory(64, 1 << 30).unwrap();
    /// w.write(b"\"key\"", b"", b"1").unwrap();
    /// let run = w.end_segment();
    /// assert!(run.in_memory() && run.records == 1);
    /// let mut r = run.open().unwrap();
    /// assert!(r.advance().unwrap() && r.key == b"\"key\"" && !r.advance().unwrap());
    /// ```
    pub fn in_memory(bytes: usize, limit: usize) -> Option<RunWriter> {
        (MemoryRuns::held().saturating_add(bytes) <= limit).then(|| RunWriter {
            out: Out::Memory {
                segment: Vec::with_capacity(bytes.min(WRITE_BUFFER_BYTES)),
            },
            pos: 0,
            seg_start: 0,
            seg_records: 0,
            seg_largest: 0,
            expected: bytes as u64,
        })
    }

    /// Appends a record to the current segment (records must come sorted).
    pub fn write(&mut self, key: &[u8], sort_key: &[u8], value: &[u8]) -> Result<()> {
        let total = match &mut self.out {
            Out::File { w, .. } => put_record(w, key, sort_key, value),
            Out::Memory { segment, .. } => put_record(segment, key, sort_key, value),
        };
        let total = total.map_err(|e| self.err(e))?;
        self.pos += total;
        self.seg_records += 1;
        self.seg_largest = self.seg_largest.max(total);
        Ok(())
    }

    /// Ends the current segment and returns it as a run (possibly empty).
    pub fn end_segment(&mut self) -> Run {
        let len = self.pos - self.seg_start;
        let run = match &mut self.out {
            Out::File { file, .. } => Run {
                storage: Storage::File(file.clone()),
                offset: self.seg_start,
                len,
                records: self.seg_records,
                largest: self.seg_largest,
            },
            Out::Memory { segment } => {
                let bytes = std::mem::take(segment).into_boxed_slice();
                MemoryRuns::add(bytes.len());
                Run {
                    storage: Storage::Memory(Arc::new(MemoryRun(bytes))),
                    offset: 0,
                    len,
                    records: self.seg_records,
                    largest: self.seg_largest,
                }
            }
        };
        self.seg_start = self.pos;
        self.seg_records = 0;
        self.seg_largest = 0;
        run
    }

    /// Flushes the file; runs handed out before stay readable.
    pub fn finish(mut self) -> Result<u64> {
        if let Out::File { w, .. } = &mut self.out {
            let r = w.flush();
            r.map_err(|e| self.err(e))?;
        }
        Ok(self.pos)
    }

    /// Says how many bytes this file is expected to take, for the message
    /// given if the disk fills up.
    pub fn expect_bytes(&mut self, bytes: u64) {
        self.expected = bytes;
    }

    fn err(&self, e: io::Error) -> Error {
        let path = match &self.out {
            Out::File { file, .. } => PathBuf::from(&***file),
            Out::Memory { .. } => return Error::io("writing a run in memory", "-", e),
        };
        // Name the --tmp-dir, not the run's own dir inside it.
        let dir = path
            .ancestors()
            .find(|a| {
                a.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    crate::runner::workdir::PREFIXES
                        .iter()
                        .any(|p| n.starts_with(p))
                })
            })
            .and_then(Path::parent)
            .or(path.parent())
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let (written, expected) = (self.pos, self.expected.max(self.pos));
        Error::io("writing spill", path, e).with_disk_full_hint(|| {
            use crate::runner::workdir::human_bytes;
            format!(
                "This spill needed about {} ({} written) in the temp dir {}; a step needs room \
                 there for about its whole map output. Use --tmp-dir on a disk with more room, \
                 or free space there; for a job with a combiner, a larger --sort-buffer-mb also \
                 combines more before spilling.",
                human_bytes(expected),
                human_bytes(written),
                dir.display()
            )
        })
    }
}

/// Reads a run back, one record at a time, into reused buffers.
///
/// A damaged file (cut short, or with garbage where a length should be) is an
/// error, never a panic, a huge allocation or a run that silently ends
/// early: lengths are checked against the bytes left in the run, and the
/// number of records read against the number written.
pub struct RunReader {
    r: BufReader<io::Take<Box<dyn Read + Send>>>,
    path: PathBuf,
    /// Records the writer put in the run.
    expected: u64,
    /// Records read so far.
    read: u64,
    /// The current record's key.
    pub key: Vec<u8>,
    /// The current record's sort key (empty unless values are sorted).
    pub sort_key: Vec<u8>,
    /// The current record's value.
    pub value: Vec<u8>,
}

impl RunReader {
    /// Reads the next record; false at the end of the run.
    pub fn advance(&mut self) -> Result<bool> {
        let r = self.next_record();
        r.map_err(|e| Error::io("reading spill", self.path.clone(), e))
    }

    fn next_record(&mut self) -> io::Result<bool> {
        let Some(klen) = read_varint(&mut self.r)? else {
            if self.read != self.expected {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "truncated spill run: {} of {} records",
                        self.read, self.expected
                    ),
                ));
            }
            return Ok(false);
        };
        if self.read == self.expected {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("spill run holds more than its {} records", self.expected),
            ));
        }
        read_into(&mut self.r, klen, &mut self.key)?;
        let slen = read_varint(&mut self.r)?.ok_or_else(truncated)?;
        read_into(&mut self.r, slen, &mut self.sort_key)?;
        let vlen = read_varint(&mut self.r)?.ok_or_else(truncated)?;
        read_into(&mut self.r, vlen, &mut self.value)?;
        self.read += 1;
        Ok(true)
    }
}

fn truncated() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "truncated spill record")
}

/// Reads `len` bytes into `buf`, refusing a length longer than what is left
/// of the run (a damaged length must not become a huge allocation).
fn read_into(
    r: &mut BufReader<io::Take<Box<dyn Read + Send>>>,
    len: u64,
    buf: &mut Vec<u8>,
) -> io::Result<()> {
    let left = r.buffer().len() as u64 + r.get_ref().limit();
    if len > left {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("spill record length {len} exceeds the {left} bytes left in the run"),
        ));
    }
    buf.clear();
    buf.resize(len as usize, 0);
    r.read_exact(buf)
}

/// Writes one record (`varint(len) part` for key, sort key and value);
/// returns its bytes.
#[inline]
fn put_record<W: Write>(w: &mut W, key: &[u8], sort_key: &[u8], value: &[u8]) -> io::Result<u64> {
    let mut head = [0u8; 10];
    let mut total = 0u64;
    for part in [key, sort_key, value] {
        let n = put_varint(&mut head, part.len() as u64);
        w.write_all(&head[..n])?;
        w.write_all(part)?;
        total += (n + part.len()) as u64;
    }
    Ok(total)
}

/// LEB128: 7 bits a byte, low bits first.
fn put_varint(out: &mut [u8], mut v: u64) -> usize {
    let mut i = 0;
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out[i] = b;
            return i + 1;
        }
        out[i] = b | 0x80;
        i += 1;
    }
}

fn read_varint(r: &mut impl BufRead) -> io::Result<Option<u64>> {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let b = {
            let buf = r.fill_buf()?;
            if buf.is_empty() {
                if shift == 0 {
                    return Ok(None);
                }
                return Err(truncated());
            }
            buf[0]
        };
        r.consume(1);
        if shift >= 64 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "bad varint in spill",
            ));
        }
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(Some(v));
        }
        shift += 7;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_round_trip_and_delete_their_file() {
        let d = tempfile::tempdir().unwrap();
        let mut w = RunWriter::create(d.path()).unwrap();
        w.write(b"a", b"", b"1").unwrap();
        w.write(&vec![b'k'; 300], b"s", &vec![b'v'; 70000]).unwrap();
        let r0 = w.end_segment();
        w.write(b"b", b"", b"").unwrap();
        let r1 = w.end_segment();
        w.finish().unwrap();
        let mut rd = r0.open().unwrap();
        assert!(rd.advance().unwrap());
        assert_eq!(
            (rd.key.as_slice(), rd.value.as_slice()),
            (&b"a"[..], &b"1"[..])
        );
        assert!(rd.advance().unwrap());
        assert_eq!(rd.key.len(), 300);
        assert_eq!(rd.sort_key, b"s");
        assert_eq!(rd.value.len(), 70000);
        assert!(!rd.advance().unwrap());
        let mut rd = r1.open().unwrap();
        assert!(rd.advance().unwrap());
        assert_eq!(rd.key, b"b");
        assert!(!rd.advance().unwrap());
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
        drop((r0, r1, rd));
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
    }

    #[test]
    fn memory_runs_round_trip_within_their_bound() {
        assert!(RunWriter::in_memory(usize::MAX / 2, 1 << 20).is_none());
        let mut w = RunWriter::in_memory(100, usize::MAX).unwrap();
        w.write(b"a", b"", b"1").unwrap();
        w.write(&vec![b'k'; 300], b"s", &vec![b'v'; 70000]).unwrap();
        let r0 = w.end_segment();
        let r1 = w.end_segment();
        w.write(b"b", b"", b"").unwrap();
        let r2 = w.end_segment();
        assert_eq!(w.finish().unwrap(), r0.bytes() + r2.bytes());
        assert!(r0.in_memory() && r0.bytes() > 70300);
        assert!(MemoryRuns::held() as u64 >= r0.bytes() + r2.bytes());
        let want: Vec<Record> = vec![
            (b"a".to_vec(), vec![], b"1".to_vec()),
            (vec![b'k'; 300], b"s".to_vec(), vec![b'v'; 70000]),
        ];
        assert_eq!(read_run(&r0).unwrap(), want);
        assert_eq!(read_run(&r1).unwrap(), vec![]);
        assert_eq!(
            read_run(&r2).unwrap(),
            vec![(b"b".to_vec(), vec![], vec![])]
        );
    }

    type Record = (Vec<u8>, Vec<u8>, Vec<u8>);

    /// Reads a run to its end or its first error.
    fn read_run(run: &Run) -> Result<Vec<Record>> {
        let mut rd = run.open()?;
        let mut got = Vec::new();
        while rd.advance()? {
            got.push((rd.key.clone(), rd.sort_key.clone(), rd.value.clone()));
        }
        Ok(got)
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
        /// Spill bytes cut short or overwritten: an error, or every record
        /// once; never a panic, a huge allocation, or records lost or doubled.
        #[test]
        fn damaged_spill_files_fail_cleanly(
            recs in proptest::collection::vec(
                (
                    proptest::collection::vec(any::<u8>(), 0..20),
                    proptest::collection::vec(any::<u8>(), 0..3),
                    proptest::collection::vec(any::<u8>(), 0..200),
                ),
                0..30,
            ),
            cut in any::<proptest::sample::Index>(),
            truncate in any::<bool>(),
            flips in proptest::collection::vec((any::<proptest::sample::Index>(), 1u8..=255), 0..4),
        ) {
            let d = tempfile::tempdir().unwrap();
            let mut w = RunWriter::create(d.path()).unwrap();
            for (k, s, v) in &recs {
                w.write(k, s, v).unwrap();
            }
            let run = w.end_segment();
            w.finish().unwrap();
            prop_assert_eq!(&read_run(&run).unwrap(), &recs);
            let Storage::File(file) = &run.storage else { unreachable!("a file run") };
            let path: &Path = file;
            let mut bytes = std::fs::read(path).unwrap();
            if bytes.is_empty() {
                return Ok(());
            }
            let cut_at = cut.index(bytes.len());
            if truncate {
                bytes.truncate(cut_at);
            }
            for (i, x) in &flips {
                if !bytes.is_empty() {
                    let i = i.index(bytes.len());
                    bytes[i] ^= x;
                }
            }
            std::fs::write(path, &bytes).unwrap();
            match read_run(&run) {
                Ok(got) => {
                    prop_assert!(!truncate, "a cut run read as complete");
                    prop_assert_eq!(got.len(), recs.len(), "records lost or doubled");
                }
                Err(e) => prop_assert!(e.to_string().contains("reading spill"), "{}", e),
            }
        }
    }
}
