//! Reads a split as lines, with large reads and no per-line allocation.
//!
//! Lines are returned without their `\n` and any `\r` before it (as mrjob
//! strips them: `a\r\r\n` is `a`); a last line without a
//! newline is still a line; a UTF-8 byte-order mark at the start of a file is
//! dropped.

use super::bzip2_blocks::Bz2Blocks;
use super::damage::SeesDamage;
use super::hadoop_blocks::{BlockCodec, HadoopBlocks};
use super::listing::{Compression, FileId, InputFile, InputSource, file_id, read_tail};
use super::mapped::{PREFETCH_AHEAD, WINDOW_BYTES, Window};
use super::read_ahead::{DecodeCost, INFLATE_GUESS, ReadAhead};
use super::split::Split;
use crate::error::{Error, Result};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};

/// Bytes read from the input at a time.
pub const READ_BUFFER_BYTES: usize = 1 << 20; // 1 MiB
/// The longest line a map task takes whole by default (`--max-line-mb`):
/// the first bytes of a longer one are a bad record, and its rest is read
/// past without being kept. A log directory holding a binary file, or a log
/// preallocated and left full of NUL bytes by a crash, has "lines" of
/// gigabytes; held whole, such a line (and the job's copies of it) would
/// take several times its size in memory.
pub const DEFAULT_MAX_LINE_BYTES: usize = 256 << 20; // 256 MiB
/// The smallest read buffer a plain file's task starts with.
const SMALL_READ_BUFFER_BYTES: usize = 4 << 10;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A line reader over any byte stream, that stops at the split's end.
pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    lo: usize,
    hi: usize,
    /// How far past `lo` we already looked for a newline.
    scanned: usize,
    eof: bool,
    /// Absolute offset of `buf[lo]` in the file (uncompressed).
    pos: u64,
    /// Lines starting at or after this offset belong to the next split.
    end: u64,
    /// The number of the first line returned, when known.
    first_line: Option<u64>,
    /// The longest line returned whole (see [`Self::set_max_line`]).
    max_line: usize,
    /// Whether the first bytes end a line that started before them.
    skip_first: bool,
    /// Whether to stop at a cut line rather than read past it.
    stop_at_cut: bool,
    /// The window of a plain file that `lo` and `hi` index instead of
    /// `buf`, while its lines are read where the page cache holds them.
    mapped: Option<Mapped>,
    /// A listed plain file (to look at its size again) and its size when
    /// listed: see [`Self::unfinished`].
    listed: Option<(File, u64)>,
    /// The offset and length of a last line left unread as unfinished.
    unfinished: Option<(u64, u64)>,
    /// What a table reader says of its rows beside them.
    notes: Option<TableNotes>,
}

/// What a table reader ([`super::parquet::ParquetLines`]) tells its map task
/// beside the lines it gives: the rows it could not give, each a bad record
/// the task refuses or keeps aside under its policy, and the binary values
/// it gave as hex, not as text (counted and warned of by the task). Shared by the reader,
/// which writes it, and the task, which reads it as it reads the lines.
#[derive(Debug, Clone, Default)]
pub struct TableNotes(std::sync::Arc<Shared>);

#[derive(Debug, Default)]
struct Shared {
    /// Set once a bad row is told: until then a row is checked without
    /// taking the lock (the task asks of every row of a table).
    any_bad: std::sync::atomic::AtomicBool,
    notes: std::sync::Mutex<Notes>,
}

#[derive(Debug, Default)]
struct Notes {
    /// Bad rows not taken yet, by number (from 1) in the file, in order.
    bad_rows: std::collections::VecDeque<(u64, String)>,
    /// Binary values given as hex (not UTF-8) not taken yet, and the first
    /// column that held one.
    hex: u64,
    hex_column: Option<String>,
}

impl TableNotes {
    fn lock(&self) -> std::sync::MutexGuard<'_, Notes> {
        // A panic elsewhere leaves the notes whole: each change is one push.
        self.0
            .notes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Tells that row `row` (from 1) is a bad record, and why.
    pub fn bad_row(&self, row: u64, reason: String) {
        self.lock().bad_rows.push_back((row, reason));
        self.0
            .any_bad
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// Tells that a binary value of `column` was not UTF-8, and was given as
    /// the hex of its bytes.
    pub fn given_as_hex(&self, column: &str) {
        let mut notes = self.lock();
        notes.hex += 1;
        if notes.hex_column.is_none() {
            notes.hex_column = Some(column.to_string());
        }
    }

    /// The binary values given as hex since last asked, and the first
    /// column that held one.
    ///
    /// ```
    /// use mr_core::input::lines::TableNotes;
    /// let notes = TableNotes::default();
    /// assert_eq!(notes.take_hex(), (0, None));
    /// notes.given_as_hex("id");
    /// notes.given_as_hex("url");
    /// assert_eq!(notes.take_hex(), (2, Some("id".to_string())));
    /// assert_eq!(notes.take_hex(), (0, None));
    /// ```
    pub fn take_hex(&self) -> (u64, Option<String>) {
        let mut notes = self.lock();
        (std::mem::take(&mut notes.hex), notes.hex_column.take())
    }

    /// Why row `row` (from 1) is a bad record, if it is one; rows before
    /// it are forgotten.
    ///
    /// ```
    /// use mr_core::input::lines::TableNotes;
    /// let notes = TableNotes::default();
    /// notes.bad_row(3, "out of range".into());
    /// assert_eq!(notes.take_bad_row(2), None);
    /// assert_eq!(notes.take_bad_row(3).as_deref(), Some("out of range"));
    /// assert_eq!(notes.take_bad_row(3), None);
    /// ```
    pub fn take_bad_row(&self, row: u64) -> Option<String> {
        if !self.0.any_bad.load(std::sync::atomic::Ordering::Acquire) {
            return None;
        }
        let mut notes = self.lock();
        while notes.bad_rows.front().is_some_and(|(r, _)| *r < row) {
            notes.bad_rows.pop_front();
        }
        match notes.bad_rows.front() {
            Some((r, _)) if *r == row => notes.bad_rows.pop_front().map(|(_, why)| why),
            _ => None,
        }
    }
}

/// A plain file read through windows mapped from it ([`Window`]): lines are
/// taken from the mapping, not copied out of the kernel first.
struct Mapped {
    window: Window,
    /// The file (sharing its offset with the reader's): mapped from, and
    /// positioned where the window ends when reading goes back to `read`.
    file: File,
    /// Its size when listed: no window is mapped past it.
    size: u64,
}

/// Plain files with fewer bytes left than this are read, not mapped: a
/// mapping costs more than a copy of a few pages.
const MIN_MAPPED_BYTES: u64 = 1 << 20;

/// Whether a plain file of `size` bytes is read from `at` through mapped
/// windows (see [`Window`]).
fn mapped_read(size: u64, at: u64) -> bool {
    cfg!(target_os = "linux") && size.saturating_sub(at) >= MIN_MAPPED_BYTES
}

impl<R: Read> LineReader<R> {
    /// A reader whose first byte is at offset `pos` of its file, returning
    /// lines that start before `end`.
    ///
    /// ```
    /// use mr_core::input::LineReader;
    /// let mut r = LineReader::new(&b"a\r\r\nb\n\nc"[..], 0, u64::MAX);
    /// let mut lines = Vec::new();
    /// while let Some((_, l)) = r.next_line().unwrap() { lines.push(l.to_vec()); }
    /// assert_eq!(lines, vec![b"a".to_vec(), b"b".to_vec(), b"".to_vec(), b"c".to_vec()]);
    /// ```
    pub fn new(inner: R, pos: u64, end: u64) -> Self {
        Self::with_capacity(inner, pos, end, READ_BUFFER_BYTES)
    }

    /// [`Self::new`] with a buffer of `capacity` bytes to start with (it
    /// grows for a longer line): a small file's task need not zero 1 MiB.
    pub fn with_capacity(inner: R, pos: u64, end: u64, capacity: usize) -> Self {
        LineReader {
            inner,
            buf: vec![0; capacity.max(1)],
            lo: 0,
            hi: 0,
            scanned: 0,
            eof: false,
            pos,
            end,
            first_line: (pos == 0).then_some(1),
            max_line: usize::MAX,
            skip_first: false,
            stop_at_cut: false,
            mapped: None,
            listed: None,
            unfinished: None,
            notes: None,
        }
    }

    /// A reader whose buffer starts out as `data` (taken as it is, not
    /// copied), whose first `len` bytes are the bytes at offset `pos` of
    /// their stream; `after` is read once they are used up (see
    /// [`super::pieces`]).
    ///
    /// ```
    /// use mr_core::input::LineReader;
    /// let mut r = LineReader::filled(b"a\nbXX".to_vec(), 3, 10, &b"c\n"[..]);
    /// assert_eq!(r.next_line().unwrap(), Some((10, &b"a"[..])));
    /// assert_eq!(r.next_line().unwrap(), Some((12, &b"bc"[..])));
    /// assert_eq!(r.next_line().unwrap(), None);
    /// ```
    pub fn filled(data: Vec<u8>, len: usize, pos: u64, after: R) -> Self {
        LineReader {
            inner: after,
            hi: len.min(data.len()),
            buf: data,
            lo: 0,
            scanned: 0,
            eof: false,
            pos,
            end: u64::MAX,
            first_line: (pos == 0).then_some(1),
            max_line: usize::MAX,
            skip_first: false,
            stop_at_cut: false,
            mapped: None,
            listed: None,
            unfinished: None,
            notes: None,
        }
    }

    /// Returns at most the first `bytes` bytes of a line (at least 1): a
    /// longer line is cut there ([`Self::next_line_cut`] says so) and the
    /// rest of it read past, so memory stays bounded whatever the input.
    /// Unlimited by default.
    ///
    /// ```
    /// use mr_core::input::LineReader;
    /// let mut r = LineReader::new(&b"ab\nabcdefgh\nc"[..], 0, u64::MAX);
    /// r.set_max_line(4);
    /// assert_eq!(r.next_line_cut().unwrap(), Some((0, &b"ab"[..], false)));
    /// assert_eq!(r.next_line_cut().unwrap(), Some((3, &b"abcd"[..], true)));
    /// assert_eq!(r.next_line_cut().unwrap(), Some((12, &b"c"[..], false)));
    /// ```
    pub fn set_max_line(&mut self, bytes: usize) {
        self.max_line = bytes.max(1);
    }

    /// Makes a line cut at the longest line ([`Self::set_max_line`]) the
    /// last one returned: its rest is not read past, and the reader ends
    /// there. For a run that fails on the first bad record: an endless
    /// line (`/dev/zero`, a disk image) fails at once rather than after
    /// the whole of it is read.
    ///
    /// ```
    /// use mr_core::input::LineReader;
    /// let mut r = LineReader::new(&b"abcdefgh\nc\n"[..], 0, u64::MAX);
    /// r.set_max_line(4);
    /// r.stop_at_cut();
    /// assert_eq!(r.next_line_cut().unwrap(), Some((0, &b"abcd"[..], true)));
    /// assert_eq!(r.next_line_cut().unwrap(), None);
    /// ```
    pub fn stop_at_cut(&mut self) {
        self.stop_at_cut = true;
    }

    /// The reader's first bytes end a line that started before them (a
    /// piece cut inside a line too long to keep, see [`super::pieces`]):
    /// they are read past, and the first line returned is the next one.
    pub fn starts_inside_a_line(&mut self) {
        self.skip_first = true;
    }

    /// The bytes not returned yet: those buffered, then the rest of the
    /// stream.
    pub fn into_rest(self) -> io::Chain<io::Cursor<Vec<u8>>, R> {
        // A window's file is positioned where its bytes end, as a
        // buffer's is: the stream goes on from there.
        let pending = self.pending().to_vec();
        io::Cursor::new(pending).chain(self.inner)
    }

    /// The reader's buffer, to be reused (see [`Self::filled`]).
    pub fn into_buffer(self) -> Vec<u8> {
        self.buf
    }

    /// The notes of the table read, if it is one (see [`TableNotes`]).
    pub fn table_notes(&self) -> Option<&TableNotes> {
        self.notes.as_ref()
    }

    /// Sets the number (from 1) of the first line returned.
    pub fn set_first_line(&mut self, line: u64) {
        self.first_line = Some(line);
    }

    /// The line number (from 1) in its file of the first line returned, when
    /// known without counting: 1 for a reader from a file's start, the first
    /// row's number for a table split, `None` for a split from the middle
    /// of a plain file (see [`line_number_at`]).
    pub fn first_line(&self) -> Option<u64> {
        self.first_line
    }

    /// Offset of the next unread line (bytes consumed so far, from the
    /// file's start; uncompressed for gzip).
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Bytes read but not yet returned as a line: after a read error, the
    /// start of the line it cut.
    pub fn pending(&self) -> &[u8] {
        &self.bytes()[self.lo..self.hi]
    }

    /// The bytes `lo` and `hi` index: the mapped window's, or the buffer's.
    #[inline(always)]
    fn bytes(&self) -> &[u8] {
        match &self.mapped {
            Some(m) => m.window.bytes(),
            None => &self.buf,
        }
    }

    /// Discards bytes through the next newline (the tail of a line owned by
    /// the previous split).
    /// The line is read past, never held: a split starting inside a line
    /// of gigabytes takes no more memory than any other.
    pub fn skip_partial_line(&mut self) -> io::Result<()> {
        let saved = (self.end, self.max_line);
        self.end = u64::MAX;
        self.max_line = 1;
        let r = self.next_line().map(|_| ());
        (self.end, self.max_line) = saved;
        r
    }

    /// The next line and the offset of its first byte, or `None` at the end
    /// of the split.
    pub fn next_line(&mut self) -> io::Result<Option<(u64, &[u8])>> {
        Ok(self
            .next_line_cut()?
            .map(|(offset, line, _)| (offset, line)))
    }

    /// [`Self::next_line`], and whether the line was cut at the longest
    /// line ([`Self::set_max_line`]).
    ///
    /// ```
    /// use mr_core::input::LineReader;
    /// let mut r = LineReader::new(&b"abcdefgh\n"[..], 0, u64::MAX);
    /// r.set_max_line(4);
    /// assert_eq!(r.next_line_cut().unwrap(), Some((0, &b"abcd"[..], true)));
    /// ```
    pub fn next_line_cut(&mut self) -> io::Result<Option<(u64, &[u8], bool)>> {
        if self.skip_first {
            self.skip_first = false;
            self.skip_partial_line()?;
        }
        if self.pos >= self.end {
            if let Some(m) = &self.mapped {
                m.check()?;
            }
            return Ok(None);
        }
        let (start, len, consumed) = loop {
            let window = &self.bytes()[self.lo + self.scanned..self.hi];
            if let Some(i) = memchr::memchr(b'\n', window) {
                let len = self.scanned + i;
                break (self.lo, len, len + 1);
            }
            self.scanned = self.hi - self.lo;
            if self.scanned > self.max_line {
                return self
                    .cut_line()
                    .map(|(offset, line)| Some((offset, line, true)));
            }
            if self.eof {
                if self.lo == self.hi {
                    return Ok(None);
                }
                let len = self.hi - self.lo;
                if self.listed.is_some() && self.left_unfinished(len) {
                    return Ok(None);
                }
                break (self.lo, len, len);
            }
            self.fill()?;
        };
        let line_start = self.pos;
        self.lo += consumed;
        self.pos += consumed as u64;
        self.scanned = 0;
        if let Some(m) = &self.mapped {
            // As many bytes as the line's, a page ahead of the next one.
            m.window.prefetch(self.lo + PREFETCH_AHEAD, consumed);
        }
        // A long line found whole in the buffer is cut all the same.
        let cut = len > self.max_line;
        if cut && self.stop_at_cut {
            // The reader ends here, as at the end of its split.
            self.end = self.pos;
        }
        let len = len.min(self.max_line);
        let line = trim_line(&self.bytes()[start..start + len], line_start == 0);
        Ok(Some((line_start, line, cut)))
    }

    /// Whether the file's last line, read to the file's end with no
    /// newline, is one a writer is still writing: the file is longer than
    /// it was listed. A live log's line caught half-written was read as a
    /// whole record (`hello wor` counted `wor`; a JSON event blamed as
    /// invalid: probe /tmp/probe10-safety repro 02). A file that did not
    /// grow ends its last line at its end.
    /// If so, the line (its `len` bytes at the reader's position) is left
    /// unread, the reader at its end (true).
    #[cold]
    #[inline(never)]
    fn left_unfinished(&mut self, len: usize) -> bool {
        let grown = self
            .listed
            .as_ref()
            .is_some_and(|(file, size)| file.metadata().is_ok_and(|m| m.len() > *size));
        if grown {
            self.unfinished = Some((self.pos, len as u64));
            self.lo = self.hi;
            self.scanned = 0;
            self.end = self.pos;
        }
        grown
    }

    /// The offset and length of the last line, when it was left unread
    /// because the file grew while read and the line had no newline yet at
    /// its end: a writer's line half-written, which belongs, as lines
    /// appended after the listing do, to the next run. Known once
    /// [`Self::next_line`] has given `None`.
    pub fn unfinished(&self) -> Option<(u64, u64)> {
        self.unfinished
    }

    /// The current line, known to be longer than `max_line` bytes: its
    /// first `max_line` bytes, the rest read past (into the buffer after
    /// them, overwritten read after read) up to its newline.
    #[cold]
    fn cut_line(&mut self) -> io::Result<(u64, &[u8])> {
        let max = self.max_line;
        // From a window, only the line's first `max` bytes are copied; the
        // others seen there are read past already.
        let seen_past = match self.mapped {
            Some(_) => {
                let past = self.hi - self.lo - max;
                self.leave_window(max)?;
                past as u64
            }
            None => 0,
        };
        if self.lo > 0 {
            self.buf.copy_within(self.lo..self.hi, 0);
            self.hi -= self.lo;
            self.lo = 0;
        }
        let line_start = self.pos;
        if self.stop_at_cut {
            // The reader ends here, as at the end of its split.
            self.end = self.pos;
            return Ok((line_start, trim_line(&self.buf[..max], line_start == 0)));
        }
        // Bytes of the line after its first `max`, none of them a newline.
        let mut past = (self.hi - max) as u64 + seen_past;
        let room = max + READ_BUFFER_BYTES;
        if self.buf.len() < room {
            self.buf.resize(room, 0);
        }
        self.hi = max;
        self.lo = max;
        let mut newline = 0;
        let mut reads = 0u32;
        while !self.eof {
            reads = reads.wrapping_add(1);
            if reads.is_multiple_of(64) && crate::cancel::check().is_err() {
                // Stopped (a signal, or another task failed) while reading
                // past a line that may never end: the caller's check says why.
                return Err(io::Error::other(
                    "stopped while reading past an over-long line",
                ));
            }
            match read_some(&mut self.inner, &mut self.buf[max..])? {
                0 => self.eof = true,
                n => match memchr::memchr(b'\n', &self.buf[max..max + n]) {
                    Some(i) => {
                        past += i as u64;
                        newline = 1;
                        self.lo = max + i + 1;
                        self.hi = max + n;
                        break;
                    }
                    None => past += n as u64,
                },
            }
        }
        self.pos += max as u64 + past + newline;
        self.scanned = 0;
        Ok((line_start, trim_line(&self.buf[..max], line_start == 0)))
    }

    fn fill(&mut self) -> io::Result<()> {
        if self.mapped.is_some() && self.next_window()? {
            return Ok(());
        }
        if self.lo > 0 {
            self.buf.copy_within(self.lo..self.hi, 0);
            self.hi -= self.lo;
            self.lo = 0;
        }
        if self.hi == self.buf.len() {
            // A line longer than the buffer: grow it, to one byte more than
            // the longest line at most (enough to see that a line is longer).
            let n = self.buf.len() * 2;
            let n = n.min(self.max_line.saturating_add(1).max(self.buf.len() + 1));
            self.buf.resize(n, 0);
        }
        match read_some(&mut self.inner, &mut self.buf[self.hi..])? {
            0 => self.eof = true,
            n => self.hi += n,
        }
        Ok(())
    }

    /// Reads the rest of a plain file through windows mapped from it, from
    /// the reader's position (`file` sharing its offset with the reader's
    /// own), while the file has at least [`MIN_MAPPED_BYTES`] of its listed
    /// `size` left there; else (or where it cannot map) it reads, into a
    /// buffer of [`READ_BUFFER_BYTES`].
    fn map_file(&mut self, file: File, size: u64) -> io::Result<()> {
        let mappable = mapped_read(size, self.pos) && self.lo == self.hi;
        let Some(window) = mappable
            .then(|| Window::map(&file, self.pos, WINDOW_BYTES))
            .flatten()
        else {
            // Read instead (a file system that cannot map, no address
            // space left): with reads of the usual size.
            if self.buf.len() < READ_BUFFER_BYTES {
                self.buf.resize(READ_BUFFER_BYTES, 0);
            }
            return Ok(());
        };
        let mut m = Mapped { window, file, size };
        m.position_after()?;
        self.lo = m.window.skip();
        self.hi = m.window.bytes().len();
        self.scanned = 0;
        self.mapped = Some(m);
        // The buffer is not used while mapped: its memory goes.
        self.buf = Vec::new();
        Ok(())
    }

    /// The window's bytes are read to its end with no newline found: maps
    /// the next window from the page of the first unread byte (true), or,
    /// at the listed size, for a line longer than a window, or where no
    /// window can be mapped, goes back to reading (false).
    #[cold]
    fn next_window(&mut self) -> io::Result<bool> {
        let Some(m) = &mut self.mapped else {
            return Ok(false);
        };
        m.check()?;
        let ends = m.window.offset() + m.window.bytes().len() as u64;
        if ends < m.size
            && let Some(window) = Window::map(&m.file, self.pos, WINDOW_BYTES)
            && window.offset() + (window.bytes().len() as u64) > ends
        {
            let lo = window.skip();
            m.window = window;
            m.position_after()?;
            // `scanned` still counts from `lo`: the same bytes.
            (self.lo, self.hi) = (lo, m.window.bytes().len());
            return Ok(true);
        }
        self.leave_window(self.hi - self.lo)?;
        Ok(false)
    }

    /// Goes back from a mapped window to reading into the buffer: the
    /// first `keep` of the window's unread bytes are copied there (the file
    /// is positioned after the window). Nothing to do when not mapped.
    fn leave_window(&mut self, keep: usize) -> io::Result<()> {
        let Some(m) = self.mapped.take() else {
            return Ok(());
        };
        m.check()?;
        let pending = &m.window.bytes()[self.lo..self.lo + keep];
        let mut buf = vec![0; pending.len() + READ_BUFFER_BYTES];
        buf[..pending.len()].copy_from_slice(pending);
        (self.lo, self.hi) = (0, pending.len());
        self.buf = buf;
        Ok(())
    }
}

impl Mapped {
    /// The file cut short while its window was read (see [`Window`]): the
    /// error a read that ended early gives.
    fn check(&self) -> io::Result<()> {
        if !self.window.was_cut() {
            return Ok(());
        }
        // A page that could not be read in a file of its listed size that
        // holds the whole window: the device failed, the file was not cut.
        let ends = self.window.offset() + self.window.bytes().len() as u64;
        if self
            .file
            .metadata()
            .is_ok_and(|m| m.len() == self.size && m.len() >= ends)
        {
            // Or cut and written again to its size meanwhile (`cp` over
            // it): a bare "Input/output error" read as a disk fault alone
            // (probe /tmp/probe25 repro 09).
            let e = io::Error::from_raw_os_error(libc::EIO);
            let e = io::Error::new(
                e.kind(),
                format!(
                    "{e}: a page of it could not be read while mr read it (mapped): the \
                     device failed to read it, or the file was cut short and written again \
                     meanwhile"
                ),
            );
            return Err(io::Error::new(e.kind(), SourceError(e)));
        }
        let how = shrank(self.size, "was cut shorter while mr read it");
        Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            SourceError(io::Error::new(io::ErrorKind::UnexpectedEof, Shrank(how))),
        ))
    }

    /// Positions the file after the window's bytes, where reading goes on.
    fn position_after(&mut self) -> io::Result<()> {
        let ends = self.window.offset() + self.window.bytes().len() as u64;
        self.file
            .seek(SeekFrom::Start(ends))
            .map_err(|e| io::Error::new(e.kind(), SourceError(e)))?;
        Ok(())
    }
}

/// A line without its line end as a reader returns it: every trailing `\r`
/// goes, as mrjob strips them (`\r\r\n` too), and the first line of a file
/// loses a UTF-8 byte-order mark.
#[inline]
pub(super) fn trim_line(mut line: &[u8], starts_file: bool) -> &[u8] {
    while let [rest @ .., b'\r'] = line {
        line = rest;
    }
    if starts_file {
        line.strip_prefix(BOM).unwrap_or(line)
    } else {
        line
    }
}

/// `r.read(buf)`, again when interrupted by a signal.
pub(super) fn read_some<R: Read + ?Sized>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// An I/O error of the input itself (the disk, the pipe), as opposed to an
/// error a decompressor found in the data: see [`is_corrupt_data`].
#[derive(Debug)]
struct SourceError(io::Error);

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SourceError {}

/// The raw input (file, pipe, stdin): its errors are tagged as
/// [`SourceError`]s, which decompressors pass through unchanged.
struct Source<R>(R);

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|e| match e.kind() {
            io::ErrorKind::Interrupted => e,
            kind => io::Error::new(kind, SourceError(e)),
        })
    }
}

impl<R: Seek> Seek for Source<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.0
            .seek(pos)
            .map_err(|e| io::Error::new(e.kind(), SourceError(e)))
    }
}

/// True when a read error of an [`open_split`] reader comes from the
/// decompressor (corrupt or truncated data), not from the input itself
/// nor from a decoding thread that failed.
pub fn is_corrupt_data(e: &io::Error) -> bool {
    !e.get_ref().is_some_and(|inner| {
        inner.is::<SourceError>() || inner.is::<super::read_ahead::DecoderFailed>()
    })
}

type BoxRead = Box<dyn Read + Send>;

/// A stream's decoded bytes, and, when they are decoded on a thread of
/// their own, what decoding them costs.
pub struct Decoded {
    /// The bytes.
    pub bytes: BoxRead,
    /// CPU time per byte decoded (see [`DecodeCost`]).
    pub cost: Option<DecodeCost>,
}

impl Decoded {
    fn ahead(r: ReadAhead) -> Decoded {
        let cost = Some(r.decode_cost());
        Decoded {
            bytes: Box::new(r),
            cost,
        }
    }

    fn plain(bytes: BoxRead) -> Decoded {
        Decoded { bytes, cost: None }
    }
}

/// Wraps `raw` (tagged) in the decoder of `compression`, which runs on a
/// helper thread ([`ReadAhead`]), ahead of the parsing. Errors pass through
/// unchanged, so [`is_corrupt_data`] still tells them apart. `size` is the
/// compressed size when known (a file, not a stream).
fn decoder(
    raw: BoxRead,
    compression: Compression,
    path: &std::path::Path,
    size: Option<u64>,
) -> Result<Decoded> {
    // A small file's buffer is about its size (a 1 MiB one per file was
    // most of the time over thousands of small files).
    let capacity = size.map_or(READ_BUFFER_BYTES, |n| {
        usize::try_from(n).map_or(READ_BUFFER_BYTES, |n| n.clamp(8 << 10, READ_BUFFER_BYTES))
    });
    let buffered = |raw| BufReader::with_capacity(capacity, Source(raw));
    Ok(match compression {
        // Reads the file itself, in large reads, with no buffer in between.
        Compression::Gzip => Decoded::ahead(ReadAhead::spawn_gzip(Source(raw), size)),
        Compression::Bzip2 => Decoded::ahead(ReadAhead::spawn_sized(
            SeesDamage(super::bzip2_blocks::Bz2Streams::new(buffered(raw))),
            size,
        )),
        Compression::Zstd => Decoded::ahead(ReadAhead::spawn_sized(
            {
                let mut d = zstd::stream::read::Decoder::with_buffer(buffered(raw))
                    .map_err(|e| Error::io("opening zstd stream", path, e))?;
                // Frames of `zstd --long` (windows up to 2 GiB, as `zstd -d
                // --long=31` reads them): the default limit (128 MiB) took such
                // a file for corrupt, and --skip-bad-records dropped it whole.
                // The window is the frame's own, in memory while it is read.
                d.window_log_max(31)
                    .map_err(|e| Error::io("opening zstd stream", path, e))?;
                SeesDamage(d)
            },
            size,
        )),
        Compression::Deflate => Decoded::ahead(ReadAhead::spawn_sized(
            super::zlib::ZlibStreams::new(buffered(raw)),
            size,
        )),
        Compression::Snappy => Decoded::ahead(ReadAhead::spawn_sized(
            HadoopBlocks::new(buffered(raw), BlockCodec::Snappy),
            size,
        )),
        Compression::Lz4 => Decoded::ahead(ReadAhead::spawn_sized(
            HadoopBlocks::new(buffered(raw), BlockCodec::Lz4),
            size,
        )),
        // Tables are opened by `open_table`, never here.
        Compression::None | Compression::Parquet => Decoded::plain(Box::new(buffered(raw))),
    })
}

/// The rows of a Parquet split as JSON lines, numbered from the split's
/// first row (so errors name the row in the file).
#[cfg(feature = "parquet")]
fn open_table(
    split: &Split,
    path: &std::path::Path,
    columns: Option<&[String]>,
) -> Result<LineReader<BoxRead>> {
    let mut rows = super::parquet::ParquetLines::open(path, split.start, split.end, columns)?;
    let first_row = rows.first_row();
    let notes = rows.notes();
    let mut r = LineReader::new(Box::new(Source(rows)) as BoxRead, 0, u64::MAX);
    r.first_line = Some(first_row + 1);
    r.notes = Some(notes);
    Ok(r)
}

#[cfg(not(feature = "parquet"))]
fn open_table(
    _split: &Split,
    _path: &std::path::Path,
    _columns: Option<&[String]>,
) -> Result<LineReader<BoxRead>> {
    Err(crate::output::parquet::not_built())
}

/// Opens a stream (stdin, a named pipe): its first bytes say whether it is
/// compressed; they are read, looked at and put back in front.
pub(crate) fn open_stream(raw: BoxRead, path: &std::path::Path) -> Result<Decoded> {
    let mut raw = raw;
    let mut head = Vec::with_capacity(4);
    let r = (&mut raw).take(4).read_to_end(&mut head);
    r.map_err(|e| Error::io("reading", path, e))?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let compression = Compression::from_magic(&head)
        .or_else(|| Compression::by_name(ext, &head))
        .unwrap_or(Compression::None);
    if compression == Compression::Parquet {
        return Err(Error::Format {
            what: format!("reading {}", path.display()),
            reason: "a Parquet table cannot be read from a stream (its index is at the end): \
                     give the file's path with --input"
                .into(),
        });
    }
    let whole: BoxRead = Box::new(io::Cursor::new(head).chain(raw));
    decoder(whole, compression, path, None)
}

/// Whether a split is read whole from its start, as one stream of bytes:
/// a compressed file, stdin, a named pipe.
pub fn is_stream(split: &Split) -> bool {
    split.file.source.is_stream() || split.file.compression.is_compressed()
}

/// The decoded bytes of a split that [`is_stream`], from the start.
pub fn open_stream_split(split: &Split) -> Result<Decoded> {
    let file = &split.file;
    let path = match &file.source {
        InputSource::Stdin => return open_stream(Box::new(io::stdin()), std::path::Path::new("-")),
        InputSource::Stream(p) => {
            // Blocks until the pipe has a writer, as `cat` does.
            let f = File::open(p).map_err(|e| Error::io("opening", p, e))?;
            return open_stream(Box::new(f), p);
        }
        InputSource::Path(p) => p,
    };
    let f = open_listed(file, path, 0)?;
    if file.compression == Compression::Bzip2 && file.size > super::read_ahead::INLINE_BYTES {
        // A block per thread (see bzip2_blocks): bzip2 is slow to decode.
        // Not for a small file, a block or two, decoded by its reader (it
        // cost a thread and 1 MiB blocks each: 5,000 files of 4.6 KB took
        // 4.1 s, probe /tmp/probe9-shapes repro 01).
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let cost = DecodeCost::default();
        let blocks = Bz2Blocks::new(Source(f), threads).counting_cpu(cost.clone());
        return Ok(Decoded::ahead(ReadAhead::spawn_counted(
            SeesDamage(blocks),
            cost,
        )));
    }
    decoder(Box::new(f), file.compression, path, Some(file.size))
}

/// The read buffer a split's reader starts with. A small file's task starts
/// with a small one (zeroing 1 MiB per file is most of the work of a run
/// over thousands of small files): the bytes left in the file and one more,
/// to see its end in one read, or, for a compressed file, a guess at what it
/// inflates to. The buffer grows for a longer line, so a guess too small
/// costs only reads.
pub(crate) fn first_buffer_bytes(split: &Split) -> usize {
    let file = &split.file;
    let left = match (&file.source, file.compression) {
        (InputSource::Path(_), Compression::None) => file.size.saturating_sub(split.start) + 2,
        (InputSource::Path(_), _) => file.size.saturating_mul(INFLATE_GUESS),
        _ => READ_BUFFER_BYTES as u64,
    };
    usize::try_from(left).map_or(READ_BUFFER_BYTES, |n| {
        n.clamp(SMALL_READ_BUFFER_BYTES, READ_BUFFER_BYTES)
    })
}

/// Checks that a compressed file's decoded start is text, as a map task
/// does at a file's first line (a `.tar.gz` is a tar archive, a gzipped
/// program is a program): for a run whose tasks cannot, as Spark's, which
/// are handed lines without their offsets. Plain files are checked when
/// they are listed; a file that cannot be opened or decoded is left to the
/// run, which reports it in its own way.
///
/// ```
/// use mr_core::input::listing::list_inputs;
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("a.gz");
/// let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
/// std::io::Write::write_all(&mut gz, b"\x7fELF\x02\x01\x01\0\0\0").unwrap();
/// std::fs::write(&path, gz.finish().unwrap()).unwrap();
/// let files = list_inputs(&[path.display().to_string()]).unwrap();
/// let e = mr_core::input::lines::check_decoded_start(&files[0]).unwrap_err();
/// assert!(e.to_string().contains("a program (ELF), not text"), "{e}");
/// ```
pub fn check_decoded_start(file: &InputFile) -> Result<()> {
    if !file.compression.is_compressed() || file.size == 0 || file.source.is_stream() {
        return Ok(());
    }
    let split = Split {
        index: 0,
        file: std::sync::Arc::new(file.clone()),
        start: 0,
        end: u64::MAX,
    };
    let Ok(mut reader) = open_split(&split, None) else {
        return Ok(());
    };
    // The head is what tells (a binary file may hold no newline for
    // hundreds of megabytes): the first line, cut at 64 KiB.
    reader.set_max_line(64 << 10);
    reader.stop_at_cut();
    match reader.next_line_cut() {
        Ok(Some((_, line, _))) => crate::input::listing::check_first_line(&file.display, line),
        _ => Ok(()),
    }
}

/// Opens a split positioned at its first owned line. A table (Parquet)
/// split reads only `columns` when given (see [`crate::input::parquet`]).
pub fn open_split(split: &Split, columns: Option<&[String]>) -> Result<LineReader<BoxRead>> {
    let file = &split.file;
    let capacity = first_buffer_bytes(split);
    let path = match &file.source {
        InputSource::Path(p) if !is_stream(split) => p,
        _ => {
            let bytes = open_stream_split(split)?.bytes;
            return Ok(LineReader::with_capacity(bytes, 0, u64::MAX, capacity));
        }
    };
    if file.compression == Compression::Parquet {
        return open_table(split, path, columns);
    }
    // A plain file's lines are read where the page cache holds them, when
    // it can map them (`map` is the file to map them from).
    let at = split.start.saturating_sub(1);
    let (capacity, mapping) = match file.compression {
        Compression::None if mapped_read(file.size, at) => (1, true),
        _ => (capacity, false),
    };
    let listed = open_listed(file, path, at)?;
    let map = mapping.then(|| listed.file.try_clone().ok()).flatten();
    // The split that ends the file: its last line may be a live log's
    // half-written one (see `LineReader::unfinished`).
    let last = (file.compression == Compression::None && split.end >= file.size)
        .then(|| listed.file.try_clone().ok())
        .flatten()
        .map(|f| (f, file.size));
    let r: BoxRead = Box::new(Source(listed));
    let mut lr = LineReader::with_capacity(r, at, split.end, capacity);
    lr.listed = last;
    if let Some(f) = map {
        lr.map_file(f, file.size).map_err(|e| read_error(path, e))?;
    }
    if split.start > 0 {
        // Started one byte early: if it is a newline, our first line
        // starts exactly at `start`; otherwise we are mid-line and skip it.
        lr.first_line = None;
        lr.skip_partial_line().map_err(|e| read_error(path, e))?;
    }
    Ok(lr)
}

/// A listed input file as a task reads it: still the file that was listed
/// (the same inode), and no shorter than it was then. A log rotated while
/// mr reads it, renamed away with another file taking its name, or cut
/// short in place (logrotate's `copytruncate`), would otherwise give results
/// for part of it, or for another file, and a success. A file that grew is
/// read as listed (its last line to its end): what was appended after the
/// listing is left for the next run.
struct Listed {
    file: File,
    /// Its size when listed.
    size: u64,
}

/// Opens `input` (at `path`) at byte `at`, or says how it changed since it
/// was listed ([`Error::InputChanged`]).
fn open_listed(input: &InputFile, path: &std::path::Path, at: u64) -> Result<Listed> {
    let mut file = File::open(path).map_err(|e| gone_or(input, path, "opening", e))?;
    let meta = file.metadata().map_err(|e| Error::io("reading", path, e))?;
    as_listed(input, path, &meta)?;
    if at > 0 {
        file.seek(SeekFrom::Start(at))
            .map_err(|e| Error::io("seeking in", path, e))?;
    }
    Ok(Listed {
        file,
        size: input.size,
    })
}

/// [`Error::InputChanged`] when a listed file is no longer what was listed
/// (another file under its name, or shorter); `Ok` for a stream. Asked
/// when a decoder finds corrupt data: a file cut short while it is read may
/// give the decoder a torn page (zeros) before its end, and that is the
/// file changing, not a damaged file to skip.
pub fn still_as_listed(input: &InputFile) -> Result<()> {
    match &input.source {
        InputSource::Path(p) => {
            let meta = std::fs::metadata(p).map_err(|e| gone_or(input, p, "reading", e))?;
            as_listed(input, p, &meta)
        }
        _ => Ok(()),
    }
}

/// [`Error::InputChanged`] for a listed file no longer found; else the
/// I/O error of `op` on it.
fn gone_or(input: &InputFile, path: &std::path::Path, op: &'static str, e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::NotFound && input.id.is_some() {
        return Error::InputChanged {
            path: path.to_path_buf(),
            how: "it is gone: deleted, or renamed away, after it was listed".into(),
        };
    }
    Error::io(op, path, e)
}

fn as_listed(input: &InputFile, path: &std::path::Path, meta: &std::fs::Metadata) -> Result<()> {
    let changed = |how: String| Error::InputChanged {
        path: path.to_path_buf(),
        how,
    };
    let ids = input.id.zip(file_id(meta));
    let same_version = |was: &FileId, now: &FileId| (was.size, was.mtime) == (now.size, now.mtime);
    // Another inode that is also another version (size, time): a file
    // system that numbers inodes anew (some FUSE mounts) does not make the
    // same, unchanged file look replaced.
    if let Some((was, now)) = ids
        && (was.dev, was.ino) != (now.dev, now.ino)
        && !same_version(&was, &now)
    {
        return Err(changed(
            "another file has taken its name (a log rotated by renaming?)".into(),
        ));
    }
    if meta.len() < input.size {
        return Err(changed(shrank(
            input.size,
            &format!("is {} now", meta.len()),
        )));
    }
    if let Some((was, now)) = ids {
        let same_version = same_version(&was, &now);
        // A compressed file is read to its end, as one stream: one that
        // changed is another stream than the one listed (or one still
        // being written), whose end is no damage to skip.
        if !same_version && input.compression.is_compressed() {
            return Err(changed(format!(
                "it was {} bytes when listed and is {} bytes, modified since: a compressed \
                 file still being written, or written again",
                was.size, now.size
            )));
        }
        // The same size but modified since it was listed: rewritten in
        // place. (A log appended to grows; what was listed of it is still
        // as listed.)
        if now.size == was.size && !same_version {
            return Err(changed(
                "it was modified after it was listed, and is the same size: rewritten in \
                 place (by rsync --inplace, or a copy over it?)"
                    .into(),
            ));
        }
        // Grown: appended to, if its listed bytes are still there (their
        // end is checked); else written again with more bytes, or cut
        // short and written again at the writer's old offset.
        if now.size > was.size && !same_version {
            let tail = read_tail(path, was.size).map_err(|e| Error::io("reading", path, e))?;
            if tail != was.tail {
                return Err(changed(format!(
                    "it was {} bytes when listed and is {} bytes, and its bytes before byte {} \
                     are not the ones listed: written again rather than appended to (a copy \
                     over it, or logrotate's copytruncate with a writer that does not append?)",
                    was.size, now.size, was.size
                )));
            }
        }
    }
    Ok(())
}

/// How a file that was `listed` bytes long was found shorter: `now`.
fn shrank(listed: u64, now: &str) -> String {
    format!(
        "it was {listed} bytes when listed and {now} (a log cut short in place, as logrotate's \
         copytruncate does?)"
    )
}

/// Why a [`Listed`] file ended early, carried by the read error.
#[derive(Debug)]
struct Shrank(String);

impl std::fmt::Display for Shrank {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Shrank {}

impl Read for Listed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        if n == 0 && !buf.is_empty() {
            // Where it ended: the file's offset, which a mapped reader
            // moves too (see [`LineReader::map_file`]).
            let pos = self.file.stream_position()?;
            if pos < self.size {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    Shrank(shrank(
                        self.size,
                        &format!("ended at byte {pos} as it was read"),
                    )),
                ));
            }
        }
        Ok(n)
    }
}

impl Seek for Listed {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.file.seek(to)
    }
}

/// The error of reading the input `path`: [`Error::InputChanged`] when the
/// file was cut short while read (`Listed`), else an I/O error naming it.
pub fn read_error(path: impl Into<std::path::PathBuf>, e: io::Error) -> Error {
    let path = path.into();
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<SourceError>());
    match inner.and_then(|s| s.0.get_ref()?.downcast_ref::<Shrank>()) {
        Some(Shrank(how)) => Error::InputChanged {
            path,
            how: how.clone(),
        },
        None => Error::io("reading", path, e),
    }
}

/// Counts the lines that start before `offset` in a plain file: turns a byte
/// offset into a line number for error messages (only on the error path).
pub fn line_number_at(path: &std::path::Path, offset: u64) -> io::Result<u64> {
    let mut f = BufReader::new(File::open(path)?).take(offset);
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            return Ok(n + 1);
        }
        n += memchr::memchr_iter(b'\n', &buf[..k]).count() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::listing::InputFile;
    use crate::input::split::make_splits;
    use proptest::prelude::*;

    fn read_all_splits(content: &[u8], chunk: u64) -> Vec<Vec<u8>> {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, content).unwrap();
        let f = InputFile {
            source: InputSource::Path(p),
            display: "f".into(),
            size: content.len() as u64,
            compression: Compression::None,
            id: None,
        };
        let mut out = Vec::new();
        for s in make_splits(vec![f], chunk) {
            let mut r = open_split(&s, None).unwrap();
            while let Some((_, l)) = r.next_line().unwrap() {
                out.push(l.to_vec());
            }
        }
        out
    }

    fn reference_lines(content: &[u8]) -> Vec<Vec<u8>> {
        if content.is_empty() {
            return vec![];
        }
        let content = content.strip_prefix(BOM).unwrap_or(content);
        let body = content.strip_suffix(b"\n").unwrap_or(content);
        body.split(|&b| b == b'\n')
            .map(|mut l| {
                while let [rest @ .., b'\r'] = l {
                    l = rest;
                }
                l.to_vec()
            })
            .collect()
    }

    /// Bytes rich in what a line splitter can get wrong: newlines, CRs, a
    /// BOM's bytes, NULs, invalid UTF-8.
    fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![
            4 => Just(b'\n'),
            2 => Just(b'\r'),
            1 => Just(0xEFu8),
            1 => Just(0xBBu8),
            1 => Just(0xBFu8),
            1 => Just(0u8),
            6 => any::<u8>(),
        ];
        (any::<bool>(), proptest::collection::vec(byte, 0..300)).prop_map(|(bom, mut v)| {
            if bom {
                v.splice(0..0, BOM.iter().copied());
            }
            v
        })
    }

    proptest! {
        #[test]
        fn every_line_read_once_whatever_the_chunk(
            lines in proptest::collection::vec("[a-c\r]{0,7}", 0..40),
            trailing_newline in any::<bool>(),
            chunk in 1u64..40,
        ) {
            let mut content = lines.join("\n").into_bytes();
            if trailing_newline && !content.is_empty() { content.push(b'\n'); }
            prop_assert_eq!(read_all_splits(&content, chunk), reference_lines(&content));
        }

        /// With a longest line, whatever the split size and buffer: every
        /// line once, at its offset, cut to its first `max` bytes exactly
        /// when longer, and the reader's buffer bounded by the longest line.
        #[test]
        fn long_lines_are_cut_once_in_place(
            content in hostile_bytes(),
            chunk in 1u64..64,
            max in 1usize..12,
            capacity in 1usize..8,
        ) {
            let mut want = Vec::new();
            let mut at = 0;
            for raw in content.split_inclusive(|&b| b == b'\n') {
                let body = raw.strip_suffix(b"\n").unwrap_or(raw);
                let head = trim_line(&body[..body.len().min(max)], at == 0);
                want.push((at as u64, head.to_vec(), body.len() > max));
                at += raw.len();
            }
            let d = tempfile::tempdir().unwrap();
            let p = d.path().join("f");
            std::fs::write(&p, &content).unwrap();
            let mut got = Vec::new();
            for s in make_splits(vec![InputFile {
                source: InputSource::Path(p.clone()),
                display: "f".into(),
                size: content.len() as u64,
                compression: Compression::None,
                id: None,
            }], chunk) {
                // As open_split does: from the byte before the split, past
                // the line the previous split owns.
                let begin = s.start.saturating_sub(1);
                let mut f = std::fs::File::open(&p).unwrap();
                f.seek(SeekFrom::Start(begin)).unwrap();
                let mut r = LineReader::with_capacity(f, begin, s.end, capacity);
                r.set_max_line(max);
                if s.start > 0 {
                    r.skip_partial_line().unwrap();
                }
                while let Some((offset, l, cut)) = r.next_line_cut().unwrap() {
                    got.push((offset, l.to_vec(), cut));
                }
                prop_assert!(r.into_buffer().len() <= capacity.max(max + 1) + READ_BUFFER_BYTES);
            }
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn a_piece_inside_a_line_starts_at_the_next_one() {
        let mut r = LineReader::filled(
            b"tail of a long line\nnext\n".to_vec(),
            25,
            100,
            std::io::empty(),
        );
        r.set_first_line(7);
        r.starts_inside_a_line();
        assert_eq!(r.next_line().unwrap(), Some((120, &b"next"[..])));
        assert_eq!(r.next_line().unwrap(), None);
        let mut r = LineReader::filled(b"no newline at all".to_vec(), 17, 100, std::io::empty());
        r.starts_inside_a_line();
        assert_eq!(r.next_line().unwrap(), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]
        /// Arbitrary bytes, any split size: every line read exactly once.
        #[test]
        fn arbitrary_bytes_every_line_once(content in hostile_bytes(), chunk in 1u64..64) {
            prop_assert_eq!(read_all_splits(&content, chunk), reference_lines(&content));
        }
    }

    /// A file listed (as the listing does: size, device and inode), then
    /// handed to `change` before its splits are read.
    fn listed_file(content: &[u8]) -> (tempfile::TempDir, std::path::PathBuf, InputFile) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("app.log");
        std::fs::write(&p, content).unwrap();
        let f = crate::input::list_inputs(&[p.display().to_string()])
            .unwrap()
            .remove(0);
        assert!(f.id.is_some());
        (d, p, f)
    }

    fn changed_how(e: Error) -> String {
        match e {
            Error::InputChanged { how, .. } => how,
            other => panic!("not InputChanged: {other}"),
        }
    }

    /// Sets the modification time of `p` 2 s after its own: a change a
    /// file system with coarse times still shows.
    fn later(p: &std::path::Path) {
        let t =
            std::fs::metadata(p).unwrap().modified().unwrap() + std::time::Duration::from_secs(2);
        let f = std::fs::File::options().write(true).open(p).unwrap();
        f.set_modified(t).unwrap();
    }

    /// `f` is refused as changed, saying `says`: asked again, and by each
    /// of its splits as it opens.
    fn refused_everywhere(f: &InputFile, says: &str) {
        let how = changed_how(still_as_listed(f).expect_err("changed"));
        assert!(how.contains(says), "{how}");
        for s in make_splits(vec![f.clone()], 4096) {
            let how = changed_how(open_split(&s, None).err().expect("refused"));
            assert!(how.contains(says), "{how}");
        }
    }

    /// Rewritten in place at the same size (rsync --inplace): refused; a
    /// log appended to is still read as listed.
    #[test]
    fn a_file_rewritten_in_place_is_told_from_one_appended_to() {
        let content = "line of a log\n".repeat(1000);
        let (_d, p, f) = listed_file(content.as_bytes());
        std::fs::write(&p, "LINE OF A LOG\n".repeat(1000)).unwrap();
        later(&p);
        refused_everywhere(&f, "rewritten in place");

        let (_d, p, f) = listed_file(content.as_bytes());
        let mut log = std::fs::File::options().append(true).open(&p).unwrap();
        std::io::Write::write_all(&mut log, b"one more\n").unwrap();
        later(&p);
        still_as_listed(&f).unwrap();
    }

    /// Grown since it was listed: appended to when its listed bytes are
    /// still there; else written again with more bytes (a copy over it), or
    /// cut short and written again at the writer's old offset (copytruncate
    /// with `app > log`: zeros where the log was): refused, and a split
    /// that opens then is refused too.
    #[test]
    fn a_file_written_again_with_more_bytes_is_told_from_one_appended_to() {
        let content = "2026-12-04T10:00:00 line of a log\n".repeat(1000);
        // A copy of another, longer export over it (same inode).
        let (_d, p, f) = listed_file(content.as_bytes());
        std::fs::write(&p, "2026-12-04T11:00:00 other line of a log\n".repeat(1000)).unwrap();
        later(&p);
        refused_everywhere(&f, "written again rather than appended to");
        // copytruncate, then the writer's next line at its old offset.
        let (_d, p, f) = listed_file(content.as_bytes());
        let mut log = std::fs::File::options().write(true).open(&p).unwrap();
        log.set_len(0).unwrap();
        log.seek(SeekFrom::Start(content.len() as u64 + 10))
            .unwrap();
        std::io::Write::write_all(&mut log, b"2026-12-04T12:00:00 next line\n").unwrap();
        later(&p);
        refused_everywhere(&f, "copytruncate");
        // Appended to, the last line half-written when listed: as listed.
        let (_d, p, f) = listed_file(&content.as_bytes()[..content.len() - 5]);
        let mut log = std::fs::File::options().append(true).open(&p).unwrap();
        std::io::Write::write_all(&mut log, b" log\nmore\n").unwrap();
        later(&p);
        still_as_listed(&f).unwrap();
        // Gone.
        std::fs::remove_file(&p).unwrap();
        refused_everywhere(&f, "it is gone");
    }

    /// A compressed file is one stream read to its end: one that changed
    /// since it was listed (still being written, or written again) is
    /// refused, never a damaged file whose end is skipped.
    #[test]
    fn a_compressed_file_that_changed_since_it_was_listed_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("app.log.gz");
        let gz = |text: &str| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut e, text.as_bytes()).unwrap();
            e.finish().unwrap()
        };
        let whole = gz(&"line of a log\n".repeat(5000));
        std::fs::write(&p, &whole[..whole.len() / 2]).unwrap();
        let f = crate::input::list_inputs(&[p.display().to_string()])
            .unwrap()
            .remove(0);
        std::fs::write(&p, &whole).unwrap();
        later(&p);
        refused_everywhere(&f, "a compressed file still being written");
    }

    #[test]
    fn a_file_cut_short_before_a_split_opens_stops_it() {
        let content = "line of a log\n".repeat(1000);
        let (_d, p, f) = listed_file(content.as_bytes());
        std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(140)
            .unwrap();
        // Asked when a decoder finds corrupt data: a torn read is this.
        refused_everywhere(&f, "14000 bytes when listed and is 140 now");
    }

    /// A reader of a log of 2,800,000 bytes (a mapped window's worth, more
    /// than a read buffer's) whose first line it has read, and the log's
    /// path.
    fn log_read_from_its_first_line() -> (tempfile::TempDir, std::path::PathBuf, LineReader<BoxRead>)
    {
        let content = "line of a log\n".repeat(200_000);
        let (d, p, f) = listed_file(content.as_bytes());
        let s = make_splits(vec![f], u64::MAX).remove(0);
        let mut r = open_split(&s, None).unwrap();
        assert_eq!(r.next_line().unwrap(), Some((0, &b"line of a log"[..])));
        (d, p, r)
    }

    #[test]
    fn a_file_cut_short_while_read_stops_the_reader_at_the_cut() {
        let (_d, p, mut r) = log_read_from_its_first_line();
        // The first bytes are mapped (or read); the rest is cut away now.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(1_400_000)
            .unwrap();
        let mut lines = 1;
        let e = loop {
            match r.next_line() {
                Ok(Some(_)) => lines += 1,
                Ok(None) => panic!("a silent end after {lines} lines"),
                Err(e) => break e,
            }
        };
        assert!(lines <= 100_000, "{lines}");
        assert!(!is_corrupt_data(&e), "an input error, never a bad record");
        let how = changed_how(read_error(&p, e));
        // Read through a mapping on Linux: its pages past the cut faulted
        // (SIGBUS, caught), and read as zeros, none of them a line.
        let says = if cfg!(target_os = "linux") {
            "2800000 bytes when listed and was cut shorter while mr read it"
        } else {
            "2800000 bytes when listed and ended at byte"
        };
        assert!(how.contains(says), "{how}");
    }

    /// Lines of every length from a seeded generator: short ones, ones
    /// across the mapped windows' ends, one longer than a window, CRs, and
    /// a last line without its newline.
    fn lines_of_every_length(seed: u64) -> Vec<u8> {
        let mut state = seed;
        let mut next = move |n: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % n
        };
        let mut content = Vec::new();
        while content.len() < 3 * WINDOW_BYTES {
            let len = match next(100) {
                0 => WINDOW_BYTES as u64 + next(5000),
                1..=10 => next(200_000),
                _ => next(700),
            };
            content.extend((0..len).map(|i| b'a' + (i % 26) as u8));
            content.extend_from_slice(if next(10) == 0 { b"\r\n" } else { b"\n" });
        }
        content.extend_from_slice(b"last line, no newline");
        content
    }

    #[test]
    fn a_plain_file_read_through_mapped_windows_gives_every_line_once() {
        let content = lines_of_every_length(7);
        let want = reference_lines(&content);
        for chunk in [u64::MAX, 5 << 20, (3 << 20) + 4097, 1 << 20] {
            let got = read_all_splits(&content, chunk);
            assert!(
                got == want,
                "chunk {chunk}: {} lines, want {}",
                got.len(),
                want.len()
            );
        }
    }

    #[test]
    fn a_line_longer_than_the_longest_kept_is_cut_from_a_mapped_window() {
        let mut content = b"first\n".to_vec();
        content.extend(std::iter::repeat_n(b'x', 6 << 20));
        content.extend_from_slice(b"\nnext\n");
        let (_d, _p, f) = listed_file(&content);
        let s = make_splits(vec![f], u64::MAX).remove(0);
        for stop in [false, true] {
            let mut r = open_split(&s, None).unwrap();
            r.set_max_line(1 << 20);
            if stop {
                r.stop_at_cut();
            }
            assert_eq!(r.next_line_cut().unwrap(), Some((0, &b"first"[..], false)));
            let (at, line, cut) = r.next_line_cut().unwrap().unwrap();
            assert_eq!((at, line.len(), cut), (6, 1 << 20, true));
            assert!(line.iter().all(|&b| b == b'x'));
            let next = r.next_line_cut().unwrap();
            if stop {
                assert_eq!(next, None);
            } else {
                assert_eq!(next, Some(((6 << 20) + 7, &b"next"[..], false)));
                // Only what is kept was copied out of the window.
                assert!(
                    r.buf.len() <= (1 << 20) + READ_BUFFER_BYTES,
                    "{}",
                    r.buf.len()
                );
            }
        }
    }

    /// Where a plain file cannot be mapped, it is read 1 MiB at a time
    /// (its reader had been given a buffer of 1 byte for the mapping:
    /// a read(2) per line; probe /tmp/probe6-mmap repros 01 and 02).
    #[test]
    fn a_file_that_cannot_be_mapped_is_read_in_large_reads() {
        let mut r = LineReader::with_capacity(&b"a\nb\n"[..], 0, u64::MAX, 1);
        r.map_file(File::open("/dev/null").unwrap(), 10 << 20)
            .unwrap();
        assert!(r.mapped.is_none());
        assert_eq!(r.buf.len(), READ_BUFFER_BYTES);
        assert_eq!(r.next_line().unwrap(), Some((0, &b"a"[..])));
    }

    /// A page of a mapped window that faulted while the file still has its
    /// listed size (a device's read error raises the same SIGBUS as a cut)
    /// is a read error, not "cut shorter" (probe /tmp/probe6-mmap repro 03).
    #[cfg(target_os = "linux")]
    #[test]
    fn a_page_that_faults_in_a_file_of_its_listed_size_is_a_read_error() {
        let (_d, p, mut r) = log_read_from_its_first_line();
        let file = std::fs::File::options().write(true).open(&p).unwrap();
        // Cut, so that a page faults (read as zeros), then as long again.
        file.set_len(100_000).unwrap();
        let zeros = r.bytes()[(1 << 20)..].iter().all(|&b| b == 0);
        file.set_len(2_800_000).unwrap();
        assert!(zeros);
        let e = loop {
            match r.next_line() {
                Ok(Some(_)) => {}
                Ok(None) => panic!("a silent end"),
                Err(e) => break e,
            }
        };
        assert!(!is_corrupt_data(&e));
        let said = read_error(&p, e).to_string();
        assert!(said.contains("Input/output error"), "{said}");
        // Which is also what a file cut and written again looks like.
        assert!(said.contains("written again meanwhile"), "{said}");
    }

    #[test]
    fn a_mapped_file_that_grew_is_read_as_listed() {
        let mut content = "line of a log\n".repeat(150_000);
        content.push_str("a last line still being written");
        let (_d, p, f) = listed_file(content.as_bytes());
        let mut file = std::fs::File::options().append(true).open(&p).unwrap();
        std::io::Write::write_all(&mut file, b" and its end\nappended\n").unwrap();
        let s = make_splits(vec![f], u64::MAX).remove(0);
        let mut r = open_split(&s, None).unwrap();
        let mut last = Vec::new();
        let mut n = 0;
        while let Some((_, l)) = r.next_line().unwrap() {
            (last, n) = (l.to_vec(), n + 1);
        }
        assert_eq!(n, 150_001);
        assert_eq!(last, b"a last line still being written and its end");
    }

    /// A live log's last line, read to the file's end with no newline yet
    /// while the file grows, is a writer's half-written line: left for the
    /// next run, and said, not read as a record (`hello wor` counted `wor`:
    /// probe /tmp/probe10-safety repro 02). One in a file that did not grow
    /// is its last line; mapped (a large file) or read alike.
    #[test]
    fn a_last_line_still_being_written_is_left_for_the_next_run() {
        for lines in [2, 150_000] {
            let mut content = "hello world\n".repeat(lines);
            content.push_str("hello wor");
            let (_d, p, f) = listed_file(content.as_bytes());
            let read = || {
                let s = make_splits(vec![f.clone()], u64::MAX).remove(0);
                let mut r = open_split(&s, None).unwrap();
                let mut last = Vec::new();
                let mut n = 0;
                while let Some((_, l)) = r.next_line().unwrap() {
                    (last, n) = (l.to_vec(), n + 1);
                }
                (n, String::from_utf8(last).unwrap(), r.unfinished())
            };
            assert_eq!(read(), (lines + 1, "hello wor".into(), None));
            let mut file = std::fs::File::options().append(true).open(&p).unwrap();
            std::io::Write::write_all(&mut file, b"l").unwrap();
            let at = (lines * 12) as u64;
            assert_eq!(read(), (lines, "hello world".into(), Some((at, 10))));
            std::io::Write::write_all(&mut file, b"d\n").unwrap();
            assert_eq!(read(), (lines + 1, "hello world".into(), None));
        }
    }

    #[test]
    fn another_file_under_the_listed_name_is_refused_and_a_grown_one_read_as_listed() {
        let (_d, p, f) = listed_file(b"a\nb\n");
        // Grown: read as listed, the appended line left for the next run.
        std::fs::write(&p, b"a\nb\nc\n").unwrap();
        let s = make_splits(vec![f.clone()], u64::MAX).remove(0);
        let mut r = open_split(&s, None).unwrap();
        let mut got = Vec::new();
        while let Some((_, l)) = r.next_line().unwrap() {
            got.push(l.to_vec());
        }
        assert_eq!(got, vec![b"a".to_vec(), b"b".to_vec()]);
        // Rotated: renamed away, a new (longer) file under the name.
        std::fs::rename(&p, p.with_extension("log.1")).unwrap();
        std::fs::write(&p, b"x\ny\nz\nw\n").unwrap();
        let how = changed_how(open_split(&s, None).err().expect("refused"));
        assert!(how.contains("another file has taken its name"), "{how}");

        // The same bytes and time under a new inode number, as some FUSE
        // mounts give a file looked up again: read.
        let (_d, p, f) = listed_file(b"a\nb\n");
        let copy = p.with_extension("copy");
        std::fs::copy(&p, &copy).unwrap();
        let mtime = std::fs::metadata(&p).unwrap().modified().unwrap();
        std::fs::File::options()
            .write(true)
            .open(&copy)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        std::fs::rename(&copy, &p).unwrap();
        let s = make_splits(vec![f], u64::MAX).remove(0);
        assert!(open_split(&s, None).is_ok());
    }

    #[test]
    fn long_lines_grow_the_buffer() {
        let long = vec![b'x'; READ_BUFFER_BYTES * 3 + 7];
        let mut content = long.clone();
        content.extend_from_slice(b"\nend\n");
        let got = read_all_splits(&content, 1000);
        assert_eq!(got, vec![long, b"end".to_vec()]);
    }

    #[test]
    fn bom_is_dropped() {
        assert_eq!(
            read_all_splits(b"\xEF\xBB\xBFa\nb\n", 100),
            vec![b"a".to_vec(), b"b".to_vec()]
        );
    }

    #[test]
    fn line_numbers_from_offsets() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, "a\nbb\nccc\n").unwrap();
        assert_eq!(line_number_at(&p, 0).unwrap(), 1);
        assert_eq!(line_number_at(&p, 2).unwrap(), 2);
        assert_eq!(line_number_at(&p, 5).unwrap(), 3);
    }
}
