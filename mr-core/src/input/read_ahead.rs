//! Decompresses on a thread of its own, ahead of the reader.
//!
//! A compressed file is one split, read by one map task: without this, the
//! task's thread inflates and then parses, one after the other, on one core.
//! [`ReadAhead`] moves the decoder to a helper thread that fills blocks of
//! [`BLOCK_BYTES`] while the task parses the previous ones, so inflating and
//! parsing overlap on two cores. At most [`BLOCKS`] blocks exist at a time
//! (the memory bound), and they are recycled, not reallocated.
//!
//! Errors of the decoder (a truncated or corrupt stream) reach the reader at
//! the same place in the byte stream, with their [`io::ErrorKind`] kept, so the
//! map task tells a damaged file from a failing disk as before.
//!
//! A gzip file's thread only inflates ([`ReadAhead::spawn_gzip`]): each
//! member's CRC-32 and size are checked here, on the reading thread, as its
//! bytes are handed out, and a mismatch is an error at the member's end, as
//! with [`flate2::read::MultiGzDecoder`] (see [`super::gzip`]).

use super::gzip::{GzInflater, MemberCheck, MemberEnd};
use super::lines::read_some;
use std::io::{self, BufRead, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Bytes per block handed from the decoder thread to the reader.
pub const BLOCK_BYTES: usize = 1 << 20; // 1 MiB
/// Blocks in flight at most: one being filled, one queued, one being read.
pub const BLOCKS: usize = 3;
/// Bytes per block of a gzip file's compressed bytes, read on a thread of
/// their own (`mr-gzread`) so that the inflating thread does not copy them
/// out of the kernel.
pub const COMPRESSED_BLOCK_BYTES: usize = 256 << 10;
/// Compressed files of at most this size are inflated by their reader
/// itself, without a thread ([`ReadAhead::spawn_gzip`]).
pub(crate) const INLINE_BYTES: u64 = 128 << 10;
/// What a compressed log inflates to, for sizing buffers before knowing:
/// about 8 times its size (gzip'd JSON logs inflate 5 to 10 times).
pub(crate) const INFLATE_GUESS: u64 = 8;

/// Decoded bytes, and the gzip members that end in them (checked by the
/// reader: see [`super::gzip`]).
#[derive(Default)]
struct Block {
    data: Vec<u8>,
    ends: Vec<MemberEnd>,
}

/// A [`Read`] whose bytes are produced by `inner` on a helper thread.
///
/// ```
/// use std::io::Read;
/// let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
/// let mut r = mr_core::input::read_ahead::ReadAhead::spawn(std::io::Cursor::new(data.clone()));
/// let mut got = Vec::new();
/// r.read_to_end(&mut got).unwrap();
/// assert_eq!(got, data);
/// ```
pub struct ReadAhead {
    full: Option<Receiver<io::Result<Block>>>,
    empty: Option<SyncSender<Block>>,
    block: Block,
    at: usize,
    /// The next of `block.ends` to check.
    next_end: usize,
    /// For gzip: the CRC-32 of the current member so far.
    check: Option<MemberCheck>,
    done: bool,
    thread: Option<JoinHandle<()>>,
    /// For a small file: its decoder, run on the reading thread itself.
    inline: Option<Inline>,
    cost: DecodeCost,
}

/// A decoder run by the reader itself, a block at a time: for a file so
/// small that a thread of its own would cost more than it saves (a run over
/// thousands of small `.gz` files spent most of its time starting threads
/// and mapping their blocks).
struct Inline {
    fill: Box<dyn Fill>,
    block_bytes: usize,
    /// The decoder said the stream ended (or failed, see `error`).
    ended: bool,
    /// Its error, given once the bytes decoded before it are read.
    error: Option<io::Error>,
}

impl Inline {
    fn new(fill: impl Fill, block_bytes: usize) -> Inline {
        Inline {
            fill: Box::new(fill),
            block_bytes,
            ended: false,
            error: None,
        }
    }
}

/// What decoding a stream has cost so far: the CPU time of the decoding
/// thread (and of the threads it decodes on, for bzip2) per byte decoded.
///
/// A reader that spends much more CPU per byte than its decoder is the
/// bound: the decoder could feed more readers (see [`super::pieces`]). CPU
/// time, not waiting time, is compared: two threads that share a core wait
/// for each other whichever is the slower.
#[derive(Clone, Debug, Default)]
pub struct DecodeCost(Arc<Cost>);

#[derive(Debug, Default)]
struct Cost {
    /// The decoding thread's CPU time so far, in nanoseconds.
    cpu: AtomicU64,
    /// CPU time of the threads it decoded on, in nanoseconds.
    helpers: AtomicU64,
    bytes: AtomicU64,
}

/// Bytes decoded before [`DecodeCost::ns_per_byte`] says anything.
const COST_AFTER_BYTES: u64 = 4 << 20;

impl DecodeCost {
    /// CPU nanoseconds per byte decoded, once a few MiB are (`None` before).
    ///
    /// ```
    /// let r = mr_core::input::read_ahead::ReadAhead::spawn(std::io::empty());
    /// assert_eq!(r.decode_cost().ns_per_byte(), None);
    /// ```
    pub fn ns_per_byte(&self) -> Option<f64> {
        let bytes = self.0.bytes.load(Ordering::Relaxed);
        if bytes < COST_AFTER_BYTES {
            return None;
        }
        let cpu = self.0.cpu.load(Ordering::Relaxed) + self.0.helpers.load(Ordering::Relaxed);
        Some(cpu as f64 / bytes as f64)
    }

    /// Counts CPU time spent for the decoder on another thread.
    pub fn add_helper_cpu(&self, cpu: Duration) {
        let ns = u64::try_from(cpu.as_nanos()).unwrap_or(u64::MAX);
        self.0.helpers.fetch_add(ns, Ordering::Relaxed);
    }
}

/// The CPU time the calling thread has used so far.
pub fn thread_cpu_time() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// Fills a block on the helper thread: up to its capacity; true at the end
/// of the stream.
trait Fill: Send + 'static {
    fn fill(&mut self, block: &mut Block) -> io::Result<bool>;
}

/// Any decoder that is a [`Read`] (bzip2, zstd, tests).
struct Plain<R>(R);

impl<R: Read + Send + 'static> Fill for Plain<R> {
    fn fill(&mut self, block: &mut Block) -> io::Result<bool> {
        let data = &mut block.data;
        let n0 = data.len();
        data.resize(data.capacity(), 0);
        let mut n = n0;
        let result = loop {
            if n == data.len() {
                break Ok(false);
            }
            match read_some(&mut self.0, &mut data[n..]) {
                Ok(0) => break Ok(true),
                Ok(k) => n += k,
                Err(e) => break Err(e),
            }
        };
        data.truncate(n);
        result
    }
}

impl<R: BufRead + Send + 'static> Fill for GzInflater<R> {
    fn fill(&mut self, block: &mut Block) -> io::Result<bool> {
        GzInflater::fill(self, &mut block.data, &mut block.ends)
    }
}

impl ReadAhead {
    /// Starts reading `inner` on a new thread.
    pub fn spawn<R: Read + Send + 'static>(inner: R) -> ReadAhead {
        Self::spawn_counted(inner, DecodeCost::default())
    }

    /// [`spawn`](Self::spawn), the decoding thread's CPU time counted into
    /// `cost` (which `inner` may add its own threads' to).
    pub fn spawn_counted<R: Read + Send + 'static>(inner: R, cost: DecodeCost) -> ReadAhead {
        Self::start(Plain(inner), None, "mr-inflate", BLOCK_BYTES, cost)
    }

    /// [`spawn`](Self::spawn) for a decoder of a file of `size` compressed
    /// bytes (when known): a file of at most 128 KiB is decoded by the
    /// reader itself, in blocks of about what it decodes to, without a
    /// thread, as a small gzip file is ([`spawn_gzip`](Self::spawn_gzip)).
    /// 5,000 `.zst` files of 4.6 KB took 3.9 s against 0.15 s as `.gz`,
    /// most of it a thread and three zeroed 1 MiB blocks per file (probe
    /// /tmp/probe9-shapes repro 01).
    ///
    /// ```
    /// use std::io::Read;
    /// let data = b"a line\n".repeat(1000);
    /// let z = zstd::encode_all(&data[..], 3).unwrap();
    /// let size = Some(z.len() as u64);
    /// let d = zstd::stream::read::Decoder::new(std::io::Cursor::new(z)).unwrap();
    /// let mut r = mr_core::input::read_ahead::ReadAhead::spawn_sized(d, size);
    /// let mut got = Vec::new();
    /// r.read_to_end(&mut got).unwrap();
    /// assert_eq!(got, data);
    /// ```
    pub fn spawn_sized<R: Read + Send + 'static>(inner: R, size: Option<u64>) -> ReadAhead {
        match size.filter(|&n| n <= INLINE_BYTES) {
            Some(n) => Self::inline(Plain(inner), None, n),
            None => Self::spawn(inner),
        }
    }

    /// A reader that runs `fill` itself (no thread), for a file of `n`
    /// compressed bytes.
    fn inline(fill: impl Fill, check: Option<MemberCheck>, n: u64) -> ReadAhead {
        let block_bytes = usize::try_from(n.saturating_mul(INFLATE_GUESS))
            .map_or(BLOCK_BYTES, |b| b.clamp(64 << 10, BLOCK_BYTES));
        let mut r = Self::idle(check, DecodeCost::default());
        r.inline = Some(Inline::new(fill, block_bytes));
        r
    }

    /// Starts inflating the gzip file `raw` on a new thread; the members'
    /// CRC-32s are checked by the reader, as it reads (see
    /// [`super::gzip`]).
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    /// e.write_all(b"a line\n").unwrap();
    /// let gz = e.finish().unwrap();
    /// let mut r = mr_core::input::read_ahead::ReadAhead::spawn_gzip(std::io::Cursor::new(gz), None);
    /// let mut got = String::new();
    /// r.read_to_string(&mut got).unwrap();
    /// assert_eq!(got, "a line\n");
    /// ```
    ///
    /// `size`, the compressed size when known: a file of at most 128 KiB
    /// is inflated by the reader itself, without a thread (for thousands of
    /// small files, starting threads and mapping their blocks was most of
    /// the time); one that one read takes whole is read by the inflating
    /// thread itself; a larger one, or a stream, by a thread of its own
    /// (`mr-gzread`).
    pub fn spawn_gzip<R: Read + Send + 'static>(raw: R, size: Option<u64>) -> ReadAhead {
        let check = Some(MemberCheck::default());
        if let Some(n) = size.filter(|&n| n <= INLINE_BYTES) {
            // So small that the reader inflates it itself, in blocks of about
            // what it inflates to.
            let input = io::BufReader::with_capacity(INLINE_BYTES as usize, raw);
            return Self::inline(GzInflater::new(input), check, n);
        }
        if size.is_some_and(|n| n <= COMPRESSED_BLOCK_BYTES as u64) {
            let input = io::BufReader::with_capacity(COMPRESSED_BLOCK_BYTES, raw);
            return Self::start(
                GzInflater::new(input),
                check,
                "mr-inflate",
                BLOCK_BYTES,
                DecodeCost::default(),
            );
        }
        let compressed = Self::start(
            Plain(raw),
            None,
            "mr-gzread",
            COMPRESSED_BLOCK_BYTES,
            DecodeCost::default(),
        );
        Self::start(
            GzInflater::new(compressed),
            check,
            "mr-inflate",
            BLOCK_BYTES,
            DecodeCost::default(),
        )
    }

    fn start<F: Fill>(
        inner: F,
        check: Option<MemberCheck>,
        name: &str,
        block_bytes: usize,
        cost: DecodeCost,
    ) -> ReadAhead {
        let name = name.to_string();
        Self::start_on(inner, check, block_bytes, cost, move |f| {
            std::thread::Builder::new().name(name).spawn(f)
        })
    }

    /// [`ReadAhead::start`] with the thread started by `spawn`.
    fn start_on<F: Fill>(
        inner: F,
        check: Option<MemberCheck>,
        block_bytes: usize,
        cost: DecodeCost,
        spawn: impl FnOnce(Box<dyn FnOnce() + Send>) -> io::Result<JoinHandle<()>>,
    ) -> ReadAhead {
        let (full_tx, full_rx) = sync_channel::<io::Result<Block>>(BLOCKS - 2);
        let (empty_tx, empty_rx) = sync_channel::<Block>(BLOCKS);
        let spent = cost.clone();
        let mut r = Self::idle(check, cost);
        // The decoder goes to the thread through a slot, so that it is
        // still here if the system refuses the thread.
        let slot = Arc::new(Mutex::new(Some(inner)));
        let taken = slot.clone();
        r.thread = spawn(Box::new(move || {
            let inner = taken.lock().ok().and_then(|mut s| s.take());
            if let Some(inner) = inner {
                fill_blocks(inner, block_bytes, full_tx, empty_rx, spent);
            }
        }))
        .ok();
        if r.thread.is_none() {
            // No thread (ulimit -u, a pids limit): the reader decodes
            // itself, slower but whole; never a file taken for corrupt.
            if let Some(inner) = slot.lock().ok().and_then(|mut s| s.take()) {
                r.inline = Some(Inline::new(inner, block_bytes));
                return r;
            }
        }
        (r.full, r.empty) = (Some(full_rx), Some(empty_tx));
        r
    }

    /// A reader with no decoder yet: no thread, no channels, nothing read.
    fn idle(check: Option<MemberCheck>, cost: DecodeCost) -> ReadAhead {
        ReadAhead {
            full: None,
            empty: None,
            block: Block::default(),
            at: 0,
            next_end: 0,
            check,
            done: false,
            thread: None,
            inline: None,
            cost,
        }
    }

    /// What decoding has cost so far (shared with the decoding thread).
    pub fn decode_cost(&self) -> DecodeCost {
        self.cost.clone()
    }

    /// Checks the member that ends at the current position, if one does.
    fn check_member_end(&mut self) -> io::Result<bool> {
        let Some(end) = self.block.ends.get(self.next_end) else {
            return Ok(false);
        };
        if end.at != self.at {
            return Ok(false);
        }
        self.next_end += 1;
        match &mut self.check {
            Some(check) => check.finish(end).map(|()| true),
            None => Ok(true),
        }
    }
}

/// The helper thread: fills blocks until the end, an error, or a reader that
/// went away.
fn fill_blocks<F: Fill>(
    mut inner: F,
    block_bytes: usize,
    full: SyncSender<io::Result<Block>>,
    empty: Receiver<Block>,
    cost: DecodeCost,
) {
    // Allocated as needed; then the reader hands them back to be refilled.
    let mut spare = (0..BLOCKS).map(|_| Block::default()).collect::<Vec<_>>();
    loop {
        let mut block = match spare.pop() {
            Some(b) => b,
            None => match empty.recv() {
                Ok(b) => b,
                Err(_) => return, // the reader is gone
            },
        };
        block.data.clear();
        block.ends.clear();
        block.data.reserve_exact(block_bytes);
        let result = inner.fill(&mut block);
        let send = !block.data.is_empty() || !block.ends.is_empty();
        if send {
            let cpu = u64::try_from(thread_cpu_time().as_nanos()).unwrap_or(u64::MAX);
            cost.0.cpu.store(cpu, Ordering::Relaxed);
            cost.0
                .bytes
                .fetch_add(block.data.len() as u64, Ordering::Relaxed);
            if full.send(Ok(block)).is_err() {
                return;
            }
        }
        match result {
            Ok(false) => {}
            Ok(true) => return, // dropping `full` tells the reader: end of stream
            Err(e) => {
                let _ = full.send(Err(e));
                return;
            }
        }
    }
}

impl ReadAhead {
    /// Gets to unread bytes: checks the member ending here, takes the next
    /// block when this one is read. False at the end of the stream.
    fn advance(&mut self) -> io::Result<bool> {
        loop {
            match self.check_member_end() {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => {
                    self.done = true;
                    self.block = Block::default();
                    self.at = 0;
                    return Err(e);
                }
            }
            if self.at < self.block.data.len() {
                return Ok(true);
            }
            if self.done {
                return Ok(false);
            }
            if let Some(inline) = &mut self.inline {
                if inline.ended {
                    self.done = true;
                    return match inline.error.take() {
                        Some(e) => Err(e),
                        None => Ok(false),
                    };
                }
                let block = &mut self.block;
                block.data.clear();
                block.ends.clear();
                block.data.reserve_exact(inline.block_bytes);
                match inline.fill.fill(block) {
                    Ok(end) => inline.ended = end,
                    Err(e) => (inline.ended, inline.error) = (true, Some(e)),
                }
                self.at = 0;
                self.next_end = 0;
                continue;
            }
            let Some(full) = &self.full else {
                return Ok(false);
            };
            if self.thread.is_none() {
                // The system refused a thread: say so on the first read.
                self.done = true;
                return Err(io::Error::other(DecoderFailed(
                    "could not start the decompression thread".into(),
                )));
            }
            match full.recv() {
                Ok(Ok(block)) => {
                    let old = std::mem::replace(&mut self.block, block);
                    self.at = 0;
                    self.next_end = 0;
                    if let (Some(empty), true) = (&self.empty, old.data.capacity() > 0) {
                        // The thread may have finished: then the block is dropped.
                        let _ = empty.try_send(old);
                    }
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    // The thread ended: the end of the stream, unless it
                    // panicked (a bug, a thread of its own refused), which
                    // must not read as a file that ends there.
                    self.done = true;
                    if let Some(t) = self.thread.take()
                        && let Err(panic) = t.join()
                    {
                        return Err(io::Error::other(DecoderFailed(format!(
                            "the decompression thread failed: {}",
                            crate::panics::payload_message(&*panic)
                        ))));
                    }
                }
            }
        }
    }

    /// Where the bytes that can be handed out now end: the block's end, or
    /// the next member's end, which is checked before going on.
    fn limit(&self) -> usize {
        match self.block.ends.get(self.next_end) {
            Some(end) => end.at,
            None => self.block.data.len(),
        }
    }
}

/// The decoding thread failed (it panicked, or none could be started): not
/// the data's fault, so never a bad record (see
/// [`crate::input::lines::is_corrupt_data`]).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DecoderFailed(String);

/// The blocks themselves, without a copy (the inflating thread reads its
/// compressed input so).
impl BufRead for ReadAhead {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.advance()?;
        let limit = self.limit();
        Ok(&self.block.data[self.at.min(limit)..limit])
    }

    fn consume(&mut self, n: usize) {
        let end = self.limit().min(self.at + n);
        if let Some(check) = &mut self.check {
            check.update(&self.block.data[self.at..end]);
        }
        self.at = end;
    }
}

impl Read for ReadAhead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let bytes = self.fill_buf()?;
        let n = buf.len().min(bytes.len());
        buf[..n].copy_from_slice(&bytes[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        // Hang up first, so a thread blocked on either channel wakes and ends.
        self.full = None;
        self.empty = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Yields its data in reads of the given sizes, then fails with `err`.
    struct Chunky {
        data: Vec<u8>,
        at: usize,
        step: usize,
        err: Option<io::ErrorKind>,
    }

    impl Read for Chunky {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.at == self.data.len() {
                return match self.err {
                    Some(kind) => Err(io::Error::new(kind, "boom")),
                    None => Ok(0),
                };
            }
            let n = buf.len().min(self.step).min(self.data.len() - self.at);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    /// A decoder that panics after some bytes (a bug, or a thread of its
    /// own refused: the parallel bzip2 decoder's under a pids limit).
    struct PanicsAfter(usize);

    impl Read for PanicsAfter {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0 == 0 {
                panic!("failed to spawn thread");
            }
            let n = buf.len().min(self.0);
            buf[..n].fill(b'x');
            self.0 -= n;
            Ok(n)
        }
    }

    /// A decoding thread that panicked is an error, never the end of the
    /// file: a .bz2 read so gave an empty output with _SUCCESS, exit 0.
    #[test]
    fn a_decoder_that_panics_is_an_error_not_the_end() {
        let mut r = ReadAhead::spawn(PanicsAfter(3 << 20));
        let mut all = Vec::new();
        let e = r.read_to_end(&mut all).unwrap_err();
        assert!(
            e.to_string().contains("the decompression thread failed"),
            "{e}"
        );
        assert!(e.to_string().contains("failed to spawn thread"), "{e}");
        assert!(all.len() <= 3 << 20);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn same_bytes_then_same_error(
            len in prop_oneof![0usize..100, BLOCK_BYTES - 3..BLOCK_BYTES + 3, 0usize..4 * BLOCK_BYTES],
            step in 1usize..(2 * BLOCK_BYTES),
            fail in any::<bool>(),
            read_size in 1usize..300_000,
        ) {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
            let err = fail.then_some(io::ErrorKind::UnexpectedEof);
            let mut r = ReadAhead::spawn(Chunky { data: data.clone(), at: 0, step, err });
            let mut got = Vec::new();
            let mut buf = vec![0; read_size];
            let outcome = loop {
                match r.read(&mut buf) {
                    Ok(0) => break None,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(e) => break Some(e.kind()),
                }
            };
            prop_assert_eq!(got.len(), data.len());
            prop_assert!(got == data);
            prop_assert_eq!(outcome, err);
        }
    }

    fn gzip_member(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn read_all(mut r: impl Read, read_size: usize) -> (Vec<u8>, Option<io::ErrorKind>) {
        let mut got = Vec::new();
        let mut buf = vec![0; read_size];
        loop {
            match r.read(&mut buf) {
                Ok(0) => return (got, None),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => return (got, Some(e.kind())),
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        /// Gzip members across block boundaries, any read size: the bytes
        /// and the error flate2's MultiGzDecoder gives, a wrong CRC-32 or
        /// size included (found by the reader).
        #[test]
        fn gzip_reads_like_multigzdecoder(
            sizes in proptest::collection::vec(prop_oneof![0usize..1000, BLOCK_BYTES - 9..BLOCK_BYTES + 9], 1..4),
            read_size in 1usize..300_000,
            damage in proptest::option::of((any::<proptest::sample::Index>(), 1usize..9)),
        ) {
            let mut file = Vec::new();
            let mut ends = Vec::new();
            for (i, &n) in sizes.iter().enumerate() {
                let data: Vec<u8> = (0..n).map(|j| (j * (i + 3) % 256) as u8).collect();
                file.extend(gzip_member(&data));
                ends.push(file.len());
            }
            if let Some((member, back)) = damage {
                // A byte of a trailer: its CRC-32 or its size.
                file[ends[member.index(ends.len())] - back] ^= 0x40;
            }
            // A file small enough is read by the inflating thread itself.
            let size = (read_size % 2 == 0).then_some(file.len() as u64);
            let ours = read_all(ReadAhead::spawn_gzip(io::Cursor::new(file.clone()), size), read_size);
            let theirs = read_all(flate2::read::MultiGzDecoder::new(&file[..]), read_size);
            prop_assert_eq!(ours.1, theirs.1);
            prop_assert_eq!(ours.1.is_some(), damage.is_some());
            prop_assert!(ours.0 == theirs.0, "{} vs {} bytes", ours.0.len(), theirs.0.len());
        }
    }

    /// A small file is inflated by its reader, without a thread; cut
    /// anywhere, it fails as a threaded one does, after a prefix of its
    /// bytes.
    #[test]
    fn a_decoder_refused_its_thread_decodes_inline_and_loses_nothing() {
        // As under `ulimit -u`: before, the file was "corrupt", and with
        // --skip-bad-records one bad record, its lines lost with exit 0.
        let data: Vec<u8> = (0..200_000u32)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let gz = gzip_member(&data);
        let refused = |_: Box<dyn FnOnce() + Send>| -> io::Result<JoinHandle<()>> {
            Err(io::Error::from(io::ErrorKind::WouldBlock))
        };
        let input = io::BufReader::new(io::Cursor::new(gz));
        let r = ReadAhead::start_on(
            GzInflater::new(input),
            None,
            64 << 10,
            DecodeCost::default(),
            refused,
        );
        assert!(r.thread.is_none() && r.inline.is_some());
        let (got, err) = read_all(r, 4096);
        assert_eq!(err, None);
        assert!(got == data, "{} of {} bytes", got.len(), data.len());
    }

    #[test]
    fn a_small_gzip_file_is_read_inline_and_fails_like_a_threaded_one() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let file = gzip_member(&data);
        assert!(file.len() as u64 <= INLINE_BYTES, "{}", file.len());
        let r = ReadAhead::spawn_gzip(io::Cursor::new(file.clone()), Some(file.len() as u64));
        assert!(r.thread.is_none() && r.inline.is_some());
        assert!(read_all(r, 4096) == (data.clone(), None));
        for cut in [0, 5, 11, file.len() / 3, file.len() - 9, file.len() - 1] {
            let bytes = file[..cut].to_vec();
            let size = Some(cut as u64);
            let inline = read_all(
                ReadAhead::spawn_gzip(io::Cursor::new(bytes.clone()), size),
                777,
            );
            let threaded = read_all(ReadAhead::spawn_gzip(io::Cursor::new(bytes), None), 777);
            assert_eq!(inline.1, Some(io::ErrorKind::UnexpectedEof), "cut at {cut}");
            assert_eq!(inline.1, threaded.1, "cut at {cut}");
            assert!(data.starts_with(&inline.0) && data.starts_with(&threaded.0));
        }
    }

    /// A small zstd file (any decoder but gzip's) is decoded by its reader
    /// too (probe /tmp/probe9-shapes repro 01), with the same bytes and
    /// the same error when cut as on a thread; a large one gets a thread.
    #[test]
    fn a_small_file_of_another_codec_is_read_inline_like_a_threaded_one() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let file = zstd::encode_all(&data[..], 3).unwrap();
        assert!(file.len() as u64 <= INLINE_BYTES, "{}", file.len());
        let decoder =
            |bytes: Vec<u8>| zstd::stream::read::Decoder::new(io::Cursor::new(bytes)).unwrap();
        let r = ReadAhead::spawn_sized(decoder(file.clone()), Some(file.len() as u64));
        assert!(r.thread.is_none() && r.inline.is_some());
        assert!(read_all(r, 4096) == (data.clone(), None));
        for cut in [file.len() / 3, file.len() - 1] {
            let bytes = file[..cut].to_vec();
            let inline = read_all(
                ReadAhead::spawn_sized(decoder(bytes.clone()), Some(cut as u64)),
                777,
            );
            let threaded = read_all(ReadAhead::spawn_sized(decoder(bytes), None), 777);
            assert!(inline.1.is_some(), "cut at {cut}");
            assert_eq!(inline, threaded, "cut at {cut}");
        }
        let big = Some(INLINE_BYTES + 1);
        let r = ReadAhead::spawn_sized(decoder(file), big);
        assert!(r.inline.is_none());
    }

    #[test]
    fn dropping_the_reader_early_ends_the_thread() {
        let data = vec![b'x'; 10 * BLOCK_BYTES];
        let mut r = ReadAhead::spawn(io::Cursor::new(data));
        let mut buf = [0u8; 10];
        r.read_exact(&mut buf).unwrap();
        drop(r); // joins the thread: would hang if it stayed blocked
    }

    #[test]
    fn dropping_a_gzip_reader_early_ends_both_threads() {
        let gz = gzip_member(&vec![b'x'; 10 * BLOCK_BYTES]);
        let file: Vec<u8> = std::iter::repeat_n(gz, 50).flatten().collect();
        let mut r = ReadAhead::spawn_gzip(io::Cursor::new(file), None);
        let mut buf = [0u8; 10];
        r.read_exact(&mut buf).unwrap();
        drop(r); // joins the inflating thread, which joins the reading one
    }
}
