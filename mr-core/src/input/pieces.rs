//! Cuts a stream that can only be read from its start (a compressed file,
//! stdin) into pieces of whole lines, so that several map tasks parse it at
//! once while one thread decodes it.
//!
//! ```text
//! big.json.gz ─▶ mr-inflate ─▶ mr-cut ─▶ piece 0 │ piece 1 │ piece 2 … ─▶ a map task each, on any worker
//! ```
//!
//! Without pieces a compressed file is one map task: one core parses what
//! another inflates, and a heavy mapper leaves the other cores idle. A piece
//! is a split of the decoded stream: it holds the lines whose first byte lies
//! in it, knows its offset and first line number in the stream (errors and
//! bad records name the line, as for a plain file), and its map task's
//! output is kept in piece order, so the job's results are the same as with
//! one task. The stream's own failure (corrupt or truncated data, a failing
//! disk) reaches the task of the last piece at the byte where it happened,
//! with its [`io::ErrorKind`] kept.

use super::lines::{LineReader, read_some, trim_line};
use std::io::{self, Read};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// Bytes of pieces in memory at once, at most, for a run: the pieces being
/// parsed (one per worker), the one waiting, and those being filled.
pub const PIECE_MEMORY: usize = 64 << 20;
/// The largest piece: a map task per 16 MiB keeps the per-task costs (a
/// table flushed, a run written) small against the parsing.
pub const MAX_PIECE_BYTES: usize = 16 << 20;
/// The smallest piece.
pub const MIN_PIECE_BYTES: usize = 1 << 20;

/// How large the pieces of a run with `threads` workers are: [`PIECE_MEMORY`]
/// shared by the pieces that exist at once with one stream open (one per
/// worker, one waiting, one being filled, one spare), at most `chunk_size`
/// (`--chunksize`), within [`MIN_PIECE_BYTES`]..=[`MAX_PIECE_BYTES`]; when
/// cutting `always` (tests), as small as `chunk_size`.
///
/// ```
/// use mr_core::input::pieces::piece_bytes;
/// assert_eq!(piece_bytes(2, 64 << 20, false), (64 << 20) / 5);
/// assert_eq!(piece_bytes(64, 64 << 20, false), 1 << 20);
/// assert_eq!(piece_bytes(2, 3 << 20, false), 3 << 20);
/// assert_eq!(piece_bytes(2, 1000, false), 1 << 20);
/// assert_eq!(piece_bytes(2, 1000, true), 1000);
/// ```
pub fn piece_bytes(threads: usize, chunk_size: u64, always: bool) -> usize {
    let share = PIECE_MEMORY / (threads.max(1) + 3);
    let chunk = usize::try_from(chunk_size).unwrap_or(usize::MAX);
    let floor = if always { 1 } else { MIN_PIECE_BYTES };
    share.min(chunk).clamp(floor, MAX_PIECE_BYTES)
}

/// A run of whole lines of a stream.
pub struct Piece {
    /// Its number in the stream (0 first).
    pub index: usize,
    /// The offset of its first byte in the stream (uncompressed).
    pub offset: u64,
    /// The line number (from 1) of its first line in the stream.
    pub first_line: u64,
    /// The stream's first line, for a piece after the first (a CSV
    /// header), as a line reader returns it.
    pub header: Option<Arc<[u8]>>,
    /// A buffer whose first `len` bytes are the piece's.
    data: Vec<u8>,
    len: usize,
    /// The error the stream failed with right after the piece's bytes.
    error: Option<io::Error>,
    /// Whether its first bytes end a line too long to keep, begun in the
    /// piece before.
    inside_a_line: bool,
    recycle: Recycler,
}

impl Piece {
    /// Its bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a piece with no bytes (an empty stream's only piece).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Its lines, from its offset; then the stream's error, if it failed
    /// after this piece's bytes. Takes the bytes as they are (no copy).
    /// The reader's buffer goes back to the cutter through the
    /// [`Recycler`].
    pub fn into_lines(self) -> (LineReader<Box<dyn Read + Send>>, Recycler) {
        let after: Box<dyn Read + Send> = match self.error {
            Some(e) => Box::new(Failed(Some(e))),
            None => Box::new(io::empty()),
        };
        let mut r = LineReader::filled(self.data, self.len, self.offset, after);
        if self.inside_a_line {
            // Its first line ends the long line it continues.
            r.starts_inside_a_line();
            r.set_first_line(self.first_line + 1);
        } else {
            r.set_first_line(self.first_line);
        }
        (r, self.recycle)
    }
}

/// Gives a piece's buffer back to its cutter, to be filled again: no new
/// allocation, no page zeroed by the kernel or by us, for the next piece.
pub struct Recycler(SyncSender<Vec<u8>>);

impl Recycler {
    /// Hands `buffer` back (dropped if the cutter has a spare, or is gone).
    pub fn give(self, buffer: Vec<u8>) {
        let _ = self.0.try_send(buffer);
    }
}

/// A reader that fails once with an error, then ends.
struct Failed(Option<io::Error>);

impl Read for Failed {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        match self.0.take() {
            Some(e) => Err(e),
            None => Ok(0),
        }
    }
}

/// The rest of a stream whose first lines one map task parsed itself, to be
/// cut into pieces from there ([`Cutter::resume`]).
pub struct Rest {
    /// The stream's bytes from `offset` on.
    pub bytes: Box<dyn Read + Send>,
    /// The offset of the rest's first byte in the stream.
    pub offset: u64,
    /// The line number of the rest's first line.
    pub line: u64,
    /// The stream's first line (a CSV header).
    pub header: Option<Arc<[u8]>>,
}

/// Reads a stream into [`Piece`]s of at least `piece_bytes` (a piece ends at
/// the first line end after that; a line longer than a piece makes a larger
/// piece, up to the longest line a task is given, [`Cutter::with_max_line`]:
/// a piece ends inside a longer line, and the next starts inside it). The
/// last piece ends where the stream does, with or without a newline; a
/// stream that fails ends with a piece holding the bytes before the
/// failure, and the error. An empty stream is one empty piece (its map
/// task still runs the mapper's hooks, as for any split).
///
/// ```
/// use mr_core::input::pieces::Cutter;
/// let text = "a\nbb\nccc\n".repeat(100_000);
/// let pieces: Vec<_> = Cutter::new(text.as_bytes(), 100_000).collect();
/// assert!(pieces.len() > 1);
/// assert_eq!(pieces.iter().map(|p| p.len()).sum::<usize>(), text.len());
/// assert_eq!(pieces[1].first_line, 1 + text[..pieces[0].len()].matches('\n').count() as u64);
/// ```
pub struct Cutter<R> {
    inner: R,
    piece_bytes: usize,
    /// Buffers of pieces read, given back.
    spare: Receiver<Vec<u8>>,
    recycle: SyncSender<Vec<u8>>,
    /// The start of a line cut by the previous piece's end.
    carry: Vec<u8>,
    offset: u64,
    line: u64,
    index: usize,
    header: Option<Arc<[u8]>>,
    done: bool,
    max_line: usize,
    /// The last piece ended inside a line.
    inside_a_line: bool,
}

impl<R: Read> Cutter<R> {
    /// Cuts `inner` into pieces of about `piece_bytes`.
    pub fn new(inner: R, piece_bytes: usize) -> Cutter<R> {
        // One spare: the buffer of the piece parsed last.
        let (recycle, spare) = sync_channel(1);
        Cutter {
            inner,
            piece_bytes: piece_bytes.max(1),
            spare,
            recycle,
            carry: Vec::new(),
            offset: 0,
            line: 1,
            index: 0,
            header: None,
            done: false,
            max_line: usize::MAX,
            inside_a_line: false,
        }
    }

    /// Ends a piece inside a line once it holds more than `bytes` of it
    /// with no line end (so memory stays bounded): the task of that piece
    /// cuts the line at `bytes` (see [`LineReader::set_max_line`]), and the
    /// next piece starts at the line after it.
    pub fn with_max_line(mut self, bytes: usize) -> Self {
        self.max_line = bytes.max(1);
        self
    }

    /// Reads into `data` (its bytes are kept initialized: it is never
    /// shrunk, and only grown) after its first `len` until it holds a whole
    /// piece.
    fn fill(&mut self, data: &mut Vec<u8>, len: &mut usize) -> Filled {
        let mut want = self.piece_bytes;
        // Where the last newline may be: bytes before it were searched.
        let mut searched = 0;
        loop {
            if data.len() < want {
                data.resize(want, 0);
            }
            while *len < want {
                match read_some(&mut self.inner, &mut data[*len..want]) {
                    Ok(0) => return Filled::Ended(None),
                    Ok(k) => *len += k,
                    Err(e) => return Filled::Ended(Some(e)),
                }
            }
            if let Some(i) = memchr::memrchr(b'\n', &data[searched..*len]) {
                return Filled::Cut(searched + i + 1);
            }
            if *len > self.max_line {
                // No line end in the whole piece, longer than any line kept.
                return Filled::Cut(*len);
            }
            // A line longer than a piece: read on.
            searched = *len;
            want = *len + self.piece_bytes;
        }
    }
}

/// How [`Cutter::fill`] ended.
enum Filled {
    /// A piece's lines end at this length (through its last newline); the
    /// bytes after it start the next piece.
    Cut(usize),
    /// The stream ended, or failed with this error.
    Ended(Option<io::Error>),
}

impl Cutter<Box<dyn Read + Send>> {
    /// The pieces of `rest`, numbered from 1 (the task that parsed the
    /// stream's first lines was piece 0).
    pub fn resume(rest: Rest, piece_bytes: usize) -> Self {
        let mut c = Cutter::new(rest.bytes, piece_bytes);
        c.offset = rest.offset;
        c.line = rest.line;
        c.index = 1;
        c.header = rest.header;
        c
    }
}

impl<R: Read> Iterator for Cutter<R> {
    type Item = Piece;

    fn next(&mut self) -> Option<Piece> {
        if self.done {
            return None;
        }
        let mut data = self.spare.try_recv().unwrap_or_default();
        let carried = self.carry.len();
        if data.len() < carried {
            data.resize(carried, 0);
        }
        data[..carried].copy_from_slice(&self.carry);
        self.carry.clear();
        let mut len = carried;
        let error = match self.fill(&mut data, &mut len) {
            Filled::Cut(end) => {
                self.carry.extend_from_slice(&data[end..len]);
                len = end;
                None
            }
            Filled::Ended(error) => {
                self.done = true;
                if len == 0 && error.is_none() && self.index > 0 {
                    return None;
                }
                error
            }
        };
        let bytes = &data[..len];
        let inside_a_line = std::mem::replace(
            &mut self.inside_a_line,
            len > 0 && bytes.last() != Some(&b'\n') && !self.done,
        );
        if self.index == 0 {
            self.header = Some(first_line(bytes).into());
        }
        let lines = count_newlines(bytes);
        let piece = Piece {
            index: self.index,
            offset: self.offset,
            first_line: self.line,
            header: if self.index == 0 {
                None
            } else {
                self.header.clone()
            },
            data,
            len,
            error,
            inside_a_line,
            recycle: Recycler(self.recycle.clone()),
        };
        self.index += 1;
        self.offset += len as u64;
        self.line += lines;
        Some(piece)
    }
}

/// The first line of a stream as [`LineReader`] returns it.
fn first_line(data: &[u8]) -> &[u8] {
    let end = memchr::memchr(b'\n', data).unwrap_or(data.len());
    trim_line(&data[..end], true)
}

/// The newlines in `data`, eight bytes at a time: each word's newline bytes
/// become 1s in byte-wide counters, summed every 255 words.
pub fn count_newlines(data: &[u8]) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const NEWLINES: u64 = 0x0a0a_0a0a_0a0a_0a0a;
    const PAIRS: u64 = 0x00ff_00ff_00ff_00ff;
    let (words, rest) = data.as_chunks::<8>();
    let mut total = 0u64;
    for block in words.chunks(255) {
        let mut counts = 0u64;
        for w in block {
            let y = u64::from_ne_bytes(*w) ^ NEWLINES;
            // The high bit of each byte of y that is zero, exactly (the
            // low seven bits are added apart, so nothing carries).
            counts += !(((y & LOW7) + LOW7) | y | LOW7) >> 7;
        }
        let pairs = (counts & PAIRS) + (counts >> 8 & PAIRS);
        total += pairs.wrapping_mul(0x0001_0001_0001_0001) >> 48;
    }
    total + rest.iter().filter(|&&b| b == b'\n').count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A line: its offset, its number, its bytes.
    type Line = (u64, u64, Vec<u8>);

    /// The lines a reader returns, and the error it ends with.
    fn lines_of(mut r: LineReader<Box<dyn Read + Send>>) -> (Vec<Line>, Option<io::ErrorKind>) {
        let mut out = Vec::new();
        let first = r.first_line().unwrap_or(0);
        loop {
            match r.next_line() {
                Ok(Some((at, l))) => out.push((at, first + out.len() as u64, l.to_vec())),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e.kind())),
            }
        }
    }

    fn all_lines(data: &[u8]) -> Vec<Line> {
        let r: Box<dyn Read + Send> = Box::new(io::Cursor::new(data.to_vec()));
        lines_of(LineReader::new(r, 0, u64::MAX)).0
    }

    fn cut_lines(data: &[u8], piece: usize) -> Vec<Line> {
        let mut out = Vec::new();
        for p in Cutter::new(data, piece) {
            let (lines, err) = lines_of(p.into_lines().0);
            assert_eq!(err, None);
            out.extend(lines);
        }
        out
    }

    #[test]
    fn pieces_hold_the_lines_of_the_stream() {
        let data = b"\xEF\xBB\xBFhead\r\na\n\nbb\r\r\nlast without newline";
        for piece in 1..data.len() + 2 {
            assert_eq!(cut_lines(data, piece), all_lines(data), "piece {piece}");
        }
    }

    #[test]
    fn an_empty_stream_is_one_empty_piece() {
        let pieces: Vec<_> = Cutter::new(&b""[..], 10).collect();
        assert_eq!(pieces.len(), 1);
        assert!(pieces[0].is_empty() && pieces[0].first_line == 1);
        // A stream that ends with a newline has no empty last piece.
        let pieces: Vec<_> = Cutter::new(&b"abc\n"[..], 4).collect();
        assert_eq!(pieces.len(), 1);
    }

    #[test]
    fn a_line_longer_than_a_piece_makes_a_larger_piece() {
        let data = format!("x\n{}\ny\n", "z".repeat(1000));
        let pieces: Vec<_> = Cutter::new(data.as_bytes(), 10).collect();
        // The long line's piece ends at the last line end read with it.
        assert_eq!(pieces.iter().map(Piece::len).collect::<Vec<_>>(), [2, 1003]);
        assert_eq!(
            pieces.iter().map(|p| p.first_line).collect::<Vec<_>>(),
            [1, 2]
        );
        assert_eq!(cut_lines(data.as_bytes(), 10), all_lines(data.as_bytes()));
    }

    #[test]
    fn later_pieces_carry_the_first_line_as_a_header() {
        let pieces: Vec<_> = Cutter::new(&b"\xEF\xBB\xBFa,b\r\n1,2\n3,4\n"[..], 3).collect();
        assert!(pieces[0].header.is_none());
        for p in &pieces[1..] {
            assert_eq!(p.header.as_deref(), Some(&b"a,b"[..]));
        }
    }

    /// A stream that fails after `good` bytes.
    struct FailsAfter {
        data: io::Cursor<Vec<u8>>,
        kind: io::ErrorKind,
    }

    impl Read for FailsAfter {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.data.read(buf)? {
                0 => Err(io::Error::new(self.kind, "broken")),
                n => Ok(n),
            }
        }
    }

    #[test]
    fn the_streams_failure_ends_its_last_piece_where_it_happened() {
        let data = b"one\ntwo\nthr".to_vec();
        let cutter = Cutter::new(
            FailsAfter {
                data: io::Cursor::new(data),
                kind: io::ErrorKind::InvalidData,
            },
            4,
        );
        let pieces: Vec<_> = cutter.collect();
        assert_eq!(pieces.len(), 3);
        let last = pieces.into_iter().last().unwrap();
        assert_eq!((last.offset, last.first_line), (8, 3));
        let (mut r, _) = last.into_lines();
        let e = r.next_line().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        // The cut line is what the reader holds, at the error's offset.
        assert_eq!((r.pending(), r.position()), (&b"thr"[..], 8));
    }

    #[test]
    fn newlines_are_counted() {
        for n in [
            0usize,
            1,
            7,
            8,
            9,
            255 * 8,
            255 * 8 + 1,
            300 * 8 + 7,
            20_000,
        ] {
            let data: Vec<u8> = (0..n)
                .map(|i| if i % 3 == 0 { b'\n' } else { b'a' })
                .collect();
            assert_eq!(count_newlines(&data), n.div_ceil(3) as u64, "{n}");
        }
        assert_eq!(count_newlines(&vec![b'\n'; 20_000]), 20_000);
        // Bytes next to a newline's value are not newlines.
        assert_eq!(count_newlines(b"\x0b\x09\x8a\n\x0a\xff\x00\n\n"), 4);
    }

    proptest! {
        /// Whatever the piece size, the pieces' lines are the stream's lines,
        /// at the same offsets, with the same numbers.
        #[test]
        fn cutting_keeps_every_line_in_place(
            lines in proptest::collection::vec("[a-c\r]{0,12}", 0..60),
            last_newline in any::<bool>(),
            piece in 1usize..40,
        ) {
            let mut text = lines.join("\n");
            if last_newline && !text.is_empty() {
                text.push('\n');
            }
            prop_assert_eq!(cut_lines(text.as_bytes(), piece), all_lines(text.as_bytes()));
        }

        /// With a longest line: the pieces' lines are the stream's, cut at
        /// the same place, at the same offsets, with the same numbers, and
        /// no piece holds more than a piece and a longest line.
        #[test]
        fn long_lines_are_cut_as_in_one_reader(
            lines in proptest::collection::vec("[a-c\r]{0,30}", 0..40),
            last_newline in any::<bool>(),
            piece in 1usize..16,
            max in 1usize..10,
        ) {
            let mut text = lines.join("\n");
            if last_newline && !text.is_empty() {
                text.push('\n');
            }
            let data = text.as_bytes();
            let with_cuts = |mut r: LineReader<Box<dyn Read + Send>>| {
                r.set_max_line(max);
                let first = r.first_line().unwrap_or(0);
                let mut out = Vec::new();
                while let Some((at, l, cut)) = r.next_line_cut().unwrap() {
                    out.push((at, first + out.len() as u64, l.to_vec(), cut));
                }
                out
            };
            let whole: Box<dyn Read + Send> = Box::new(io::Cursor::new(data.to_vec()));
            let want = with_cuts(LineReader::new(whole, 0, u64::MAX));
            let mut got = Vec::new();
            for p in Cutter::new(data, piece).with_max_line(max) {
                prop_assert!(p.len() <= piece + max + 1, "{} bytes", p.len());
                got.extend(with_cuts(p.into_lines().0));
            }
            prop_assert_eq!(got, want);
        }
    }
}
