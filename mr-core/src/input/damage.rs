//! Telling damage inside compressed data from a file cut short.
//!
//! A decoder checks its data's checksum only at the end of what it covers
//! (a gzip member's CRC-32, a zstd frame's XXH64, a zlib stream's Adler-32,
//! a bzip2 block's CRC-32), and hands out the bytes it decoded before that.
//! A flipped bit therefore garbles lines that are read, and counted, before
//! the checksum fails: such an input cannot be trusted even in part, and the
//! run fails with `--skip-bad-records` too. A file cut short (the decoder
//! runs out of input) or bytes after the last stream are another matter: the
//! lines before them are whole, and the rest can be kept aside.
//!
//! The decoders we write ourselves ([`super::gzip`], [`super::zlib`]) say
//! damage with [`damaged`]; those of other crates (libbz2's, libzstd's) are
//! read through [`SeesDamage`], which renames their damage errors so.

use super::bzip2_blocks::{BLOCK_MAGIC, END_MAGIC};
use super::listing::{BZIP2_MAGIC, ZSTD_MAGIC};
use std::io::{self, Read};

/// Damage inside compressed data (see the module doc).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Damaged(String);

/// An error of `kind` that says the data is damaged inside, not cut short
/// (the kind the decoder would give, so callers that look at it see no
/// change).
///
/// ```
/// use mr_core::input::damage::{damaged, is_damage};
/// use std::io::ErrorKind;
/// assert!(is_damage(&damaged(ErrorKind::InvalidData, "corrupt deflate stream")));
/// assert_eq!(damaged(ErrorKind::InvalidInput, "bad CRC").to_string(), "bad CRC");
/// ```
pub fn damaged(kind: io::ErrorKind, what: impl Into<String>) -> io::Error {
    io::Error::new(kind, Damaged(what.into()))
}

/// Whether a read error is damage inside compressed data (see the module
/// doc), as opposed to a file cut short or bytes after its last stream.
///
/// ```
/// use mr_core::input::damage::is_damage;
/// let cut = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "cut");
/// assert!(!is_damage(&cut));
/// ```
pub fn is_damage(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<Damaged>())
}

/// libzstd's errors for data that is damaged inside a frame
/// (`ZSTD_getErrorName` of `checksum_wrong`, `corruption_detected` and
/// `literals_headerWrong`): the zstd crate passes them on as their text.
/// A frame that does not start with zstd's magic ("Unknown frame
/// descriptor") is bytes after the last frame, and a cut frame is an
/// `UnexpectedEof`: neither is damage.
const ZSTD_DAMAGE: [&str; 3] = [
    "Restored data doesn't match checksum",
    "Data corruption detected",
    "Header of Literals' block doesn't respect format specification",
];

/// Whether `e`, from libbz2 or libzstd, says damaged data: a bzip2 block
/// whose CRC-32 fails or whose data is not bzip2 (libbz2's `BZ_DATA_ERROR`;
/// its `BZ_DATA_ERROR_MAGIC` is bytes after the last stream), or a zstd
/// frame whose checksum fails or whose blocks do not decode.
fn says_damage(e: &io::Error) -> bool {
    match e.get_ref() {
        Some(inner) => match inner.downcast_ref::<bzip2::Error>() {
            Some(bz) => matches!(bz, bzip2::Error::Data),
            None => ZSTD_DAMAGE.contains(&inner.to_string().as_str()),
        },
        None => false,
    }
}

/// A decoder of another crate whose damage errors are said as
/// [`damaged`], so that [`is_damage`] knows them.
pub struct SeesDamage<R>(pub R);

impl<R: Read> Read for SeesDamage<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|e| {
            if says_damage(&e) {
                damaged(e.kind(), e.to_string())
            } else {
                e
            }
        })
    }
}

/// Whether the zstd or bzip2 file `path`, whose decoder ran into the end
/// of the file inside a frame (a bzip2 stream), ends in whole frames that
/// start past its first byte: a frame cut short with whole ones after it,
/// as `cat cut.zst whole.zst` or a logger killed in a frame and restarted
/// make. The cut frame's decoder reads the whole frames' bytes as its own
/// and runs into the end, so that the file looks cut: the lines of the
/// whole frames would be lost, and the ones decoded from their bytes may be
/// garbage. The file is damaged then, as `zstd -d` and `bzip2 -d` say.
/// (For gzip, see [`super::gzip::whole_members_after`].)
///
/// Each place a frame's magic starts (zstd: `28 b5 2f fd`; bzip2: `BZh`,
/// a level, the first block's magic) is decoded as one frame, from the last
/// to the first, passing over those that do not decode (a cut frame, chance
/// bytes inside another). What follows the first whole one found (the last
/// whole frame) answers (`After`): a frame, or its magic, that runs into
/// the end means the file ends in the cut frame, no; the end, what writers
/// put after frames, or other bytes, yes. So a file of many frames costs
/// one or two of them. Any other compression answers no.
///
/// ```
/// use mr_core::input::damage::whole_frames_after_a_cut;
/// use mr_core::input::listing::Compression;
/// let dir = tempfile::tempdir().unwrap();
/// let frame = |text: &str| zstd::encode_all(text.as_bytes(), 3).unwrap();
/// let (a, b) = (frame(&"{\"page_url\": \"/a\"}\n".repeat(500)), frame("{}\n"));
/// let path = dir.path().join("log.zst");
/// std::fs::write(&path, [&a[..a.len() / 2], &b[..]].concat()).unwrap();
/// assert!(whole_frames_after_a_cut(&path, Compression::Zstd).unwrap());
/// std::fs::write(&path, [&b[..], &a[..a.len() / 2]].concat()).unwrap();
/// assert!(!whole_frames_after_a_cut(&path, Compression::Zstd).unwrap());
/// ```
pub fn whole_frames_after_a_cut(
    path: &std::path::Path,
    compression: super::listing::Compression,
) -> io::Result<bool> {
    let Some((magic, starts_one)) = frame_magic(compression) else {
        return Ok(false);
    };
    let f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    let candidates = places_of(&f, magic, 10, starts_one)?;
    for &at in candidates.iter().rev().filter(|&&at| at > 0) {
        if let Some(end) = frame_end(&f, compression, at)? {
            // What follows the last whole frame: a frame that runs into the
            // end is the cut one (nothing whole after it); the end, or what
            // writers put after frames, or other bytes (which the decoder
            // would have refused, had it got there), follow a cut.
            return Ok(after_frames(&f, end, len, compression)? != After::Frame);
        }
    }
    Ok(false)
}

/// Whether a whole zstd frame or bzip2 stream starts past byte `from` of
/// the file `path`: after junk that the decoder stopped at (see
/// [`super::bzip2_blocks::JunkAfterStreams`]), whole streams whose lines
/// would not be read (`cat a.bz2 junk b.bz2`), or none (junk at the end:
/// `cat a.bz2 b.bz2; printf x`, whose lines were all read: probe
/// /tmp/probe21-cliffs repro 02).
///
/// ```
/// use mr_core::input::damage::whole_frames_after;
/// use mr_core::input::listing::Compression;
/// use std::io::Write;
/// let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::new(1));
/// e.write_all(b"a\n").unwrap();
/// let a = e.finish().unwrap();
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("log.bz2");
/// std::fs::write(&path, [&a[..], b"x", &a[..]].concat()).unwrap();
/// assert!(whole_frames_after(&path, Compression::Bzip2, a.len() as u64).unwrap());
/// std::fs::write(&path, [&a[..], &a[..], b"x"].concat()).unwrap();
/// assert!(!whole_frames_after(&path, Compression::Bzip2, 2 * a.len() as u64).unwrap());
/// ```
pub fn whole_frames_after(
    path: &std::path::Path,
    compression: super::listing::Compression,
    from: u64,
) -> io::Result<bool> {
    let Some((magic, starts_one)) = frame_magic(compression) else {
        return Ok(false);
    };
    let f = std::fs::File::open(path)?;
    let candidates = places_of(&f, magic, 10, starts_one)?;
    for &at in candidates.iter().rev().filter(|&&at| at > from) {
        if frame_end(&f, compression, at)?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether the bytes at a magic start a frame.
type Check = fn(&[u8]) -> bool;

/// The magic a frame (a zstd frame, a bzip2 stream) starts with, and the
/// check of the bytes there; `None` for other compressions.
fn frame_magic(compression: super::listing::Compression) -> Option<(&'static [u8], Check)> {
    use super::listing::Compression;
    match compression {
        Compression::Zstd => Some((ZSTD_MAGIC, |_| true)),
        // `BZh`, a level, the first block's magic (the digits of pi).
        Compression::Bzip2 => Some((BZIP2_MAGIC, |h| {
            h.get(3).is_some_and(|l| (b'1'..=b'9').contains(l))
                && h.get(4..10).is_some_and(|m| m == bzip2_magic(BLOCK_MAGIC))
        })),
        _ => None,
    }
}

/// Where one frame of `f` starting at `at` ends, if it decodes whole.
fn frame_end(
    f: &std::fs::File,
    compression: super::listing::Compression,
    at: u64,
) -> io::Result<Option<u64>> {
    use super::listing::Compression;
    use std::io::{BufReader, Seek, SeekFrom};
    {
        let mut file = f;
        file.seek(SeekFrom::Start(at))?;
        let input = BufReader::with_capacity(1 << 16, file);
        let input = match compression {
            Compression::Zstd => {
                let mut d = zstd::stream::read::Decoder::with_buffer(input)?.single_frame();
                d.window_log_max(31)?;
                if io::copy(&mut d, &mut io::sink()).is_err() {
                    return Ok(None);
                }
                d.finish()
            }
            _ => {
                let mut d = bzip2::bufread::BzDecoder::new(input);
                if io::copy(&mut d, &mut io::sink()).is_err() {
                    return Ok(None);
                }
                d.into_inner()
            }
        };
        let mut input = input;
        Ok(Some(input.stream_position()?))
    }
}

/// A 48-bit bzip2 magic's bytes (byte-aligned, as a stream's first one is).
fn bzip2_magic(magic: u64) -> [u8; 6] {
    let b = magic.to_be_bytes();
    [b[2], b[3], b[4], b[5], b[6], b[7]]
}

/// What follows a whole frame in a file (see [`after_frames`]).
#[derive(Debug, PartialEq, Eq)]
enum After {
    /// The end of the file, after what writers put after frames: zero
    /// padding, zstd's skippable frames (a seekable file's seek table),
    /// empty bzip2 streams.
    End,
    /// The start of a frame (or of its magic, cut in it).
    Frame,
    /// Other bytes.
    Other,
}

/// What the bytes of `f` from `at` to `len` are (see [`After`]).
fn after_frames(
    f: &std::fs::File,
    mut at: u64,
    len: u64,
    compression: super::listing::Compression,
) -> io::Result<After> {
    use super::listing::Compression;
    use std::io::{Seek, SeekFrom};
    // An empty bzip2 stream's bytes after `BZh` and its level: the
    // end-of-stream magic and a CRC of 0.
    let empty_bz2 = [&bzip2_magic(END_MAGIC)[..], &[0; 4]].concat();
    let mut file = f;
    loop {
        if at >= len {
            return Ok(After::End);
        }
        let mut h = [0u8; 14];
        file.seek(SeekFrom::Start(at))?;
        let n = read_up_to(&mut file, &mut h)?;
        if n == 0 {
            return Ok(After::End); // shorter than it was listed
        }
        let h = &h[..n];
        // A magic cut short at the end is a frame cut there.
        let starts = |magic: &[u8]| h.starts_with(magic) || magic.starts_with(h);
        if h[0] == 0 {
            at += zeros_at(f, at, len)?;
            continue;
        }
        match compression {
            Compression::Zstd
                if h.len() >= 8
                    && (0x50..=0x5f).contains(&h[0])
                    && h[1..4] == [0x2a, 0x4d, 0x18] =>
            {
                let size = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
                at += 8 + u64::from(size);
                if at > len {
                    return Ok(After::Frame); // a skippable frame cut short
                }
            }
            Compression::Zstd
                if starts(ZSTD_MAGIC) || (h.len() < 8 && (0x50..=0x5f).contains(&h[0])) =>
            {
                return Ok(After::Frame);
            }
            Compression::Bzip2
                if h.len() == 14 && h.starts_with(BZIP2_MAGIC) && h[4..] == empty_bz2[..] =>
            {
                at += 14;
            }
            Compression::Bzip2 if starts(BZIP2_MAGIC) => return Ok(After::Frame),
            _ => return Ok(After::Other),
        }
    }
}

/// Reads into `buf` until it is full or the input ends: the bytes read.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// How many zero bytes `f` has from `at` on (up to `len`).
fn zeros_at(f: &std::fs::File, at: u64, len: u64) -> io::Result<u64> {
    use std::io::{Seek, SeekFrom};
    let mut file = f;
    file.seek(SeekFrom::Start(at))?;
    let mut buf = [0u8; 1 << 12];
    let mut zeros = 0;
    while at + zeros < len {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        match buf[..n].iter().position(|&b| b != 0) {
            Some(i) => return Ok(zeros + i as u64),
            None => zeros += n as u64,
        }
    }
    Ok(zeros)
}

/// The offsets in `f` where `magic` starts and `accept` takes the `look`
/// bytes from there (fewer at the file's end).
fn places_of(
    f: &std::fs::File,
    magic: &[u8],
    look: usize,
    accept: fn(&[u8]) -> bool,
) -> io::Result<Vec<u64>> {
    use std::io::{Seek, SeekFrom};
    let mut file = f;
    file.seek(SeekFrom::Start(0))?;
    let mut places = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    let (mut at, mut kept) = (0u64, 0usize);
    loop {
        let n = file.read(&mut buf[kept..])?;
        let filled = kept + n;
        let chunk = &buf[..filled];
        // At the end all is looked at; before it, a place too near the
        // chunk's end waits for the next (carried over).
        let upto = if n == 0 {
            filled
        } else {
            filled.saturating_sub(look)
        };
        for i in memchr::memmem::find_iter(chunk, magic).take_while(|&i| i < upto) {
            if accept(&chunk[i..filled.min(i + look)]) {
                places.push(at + i as u64);
            }
        }
        if n == 0 {
            return Ok(places);
        }
        let carry = filled - upto;
        buf.copy_within(upto..filled, 0);
        at += upto as u64;
        kept = carry;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Lines of distinct URLs, as a log holds them.
    fn log() -> Vec<u8> {
        (0..20_000)
            .map(|i| format!("{{\"page_url\": \"/page/{i:06}/abcdefghijklmnopqrstuvwxyz\"}}\n"))
            .collect::<String>()
            .into_bytes()
    }

    /// `file` with one bit flipped in its middle.
    fn flipped(file: &[u8]) -> Vec<u8> {
        let mut f = file.to_vec();
        let at = f.len() / 2;
        f[at] ^= 0x10;
        f
    }

    fn read_all(mut r: impl Read) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        r.read_to_end(&mut out).map(|_| out)
    }

    #[test]
    fn a_zstd_frame_whose_checksum_fails_is_damage() {
        let mut z = zstd::stream::write::Encoder::new(Vec::new(), 1).unwrap();
        z.include_checksum(true).unwrap();
        z.write_all(&log()).unwrap();
        let file = z.finish().unwrap();
        let bad = flipped(&file);
        let d = zstd::stream::read::Decoder::new(&bad[..]).unwrap();
        let e = read_all(SeesDamage(d)).unwrap_err();
        assert!(is_damage(&e), "{e}");
        // Cut short: not damage.
        let d = zstd::stream::read::Decoder::new(&file[..file.len() / 2]).unwrap();
        let e = read_all(SeesDamage(d)).unwrap_err();
        assert!(!is_damage(&e), "{e}");
    }

    #[test]
    fn a_bzip2_block_whose_crc_fails_is_damage() {
        let mut z = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        z.write_all(&log()).unwrap();
        let file = z.finish().unwrap();
        let bad = flipped(&file);
        let d = bzip2::read::MultiBzDecoder::new(&bad[..]);
        let e = read_all(SeesDamage(d)).unwrap_err();
        assert!(is_damage(&e), "{e}");
        // Cut short, or followed by bytes that are not bzip2: not damage.
        let d = bzip2::read::MultiBzDecoder::new(&file[..file.len() / 2]);
        assert!(!is_damage(&read_all(SeesDamage(d)).unwrap_err()));
        let tail = [&file[..], b"garbage after it"].concat();
        let d = bzip2::read::MultiBzDecoder::new(&tail[..]);
        assert!(!is_damage(&read_all(SeesDamage(d)).unwrap_err()));
    }

    #[test]
    fn other_errors_pass_unchanged() {
        let e = io::Error::other("disk on fire");
        assert!(!says_damage(&e));
        assert!(!says_damage(&io::Error::from(io::ErrorKind::UnexpectedEof)));
    }

    /// Many bzip2 streams (pbzip2 writes one per 900 kB block), the last
    /// one cut: a cut, found from the last two streams. One cut among
    /// whole ones: damage.
    #[test]
    fn whole_bzip2_streams_after_a_cut_are_found() {
        use crate::input::listing::Compression;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.bz2");
        let stream = |n: usize| {
            let mut z = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
            z.write_all(&log()[..n]).unwrap();
            z.finish().unwrap()
        };
        let (s, big) = (stream(50_000), stream(900_000));
        let cut = &big[..big.len() / 2];
        let found = |parts: &[&[u8]]| {
            fs_write(&path, &parts.concat());
            whole_frames_after_a_cut(&path, Compression::Bzip2).unwrap()
        };
        assert!(!found(&[&s, &s, &s, cut]));
        assert!(found(&[&s, cut, &s, &s]));
        assert!(found(&[cut, &s]));
        assert!(!found(&[cut]));
        // Not for another compression.
        fs_write(&path, &[cut, &s].concat());
        assert!(!whole_frames_after_a_cut(&path, Compression::Gzip).unwrap());
    }

    /// What writers put after the last frame (zero padding, a zstd
    /// skippable frame such as a seekable file's seek table, an empty bzip2
    /// stream) or other bytes, after whole frames after a cut: still found
    /// (they hid them: probe /tmp/probe9-regress repros 01, 02). A frame
    /// cut in its magic at the end is a cut.
    #[test]
    fn whole_frames_after_a_cut_are_found_whatever_follows_them() {
        use crate::input::listing::Compression;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let found = |parts: &[&[u8]], c| {
            fs_write(&path, &parts.concat());
            whole_frames_after_a_cut(&path, c).unwrap()
        };
        let z = |n: usize| zstd::encode_all(&log()[..n], 3).unwrap();
        let (zs, zbig) = (z(5_000), z(600_000));
        let zcut = &zbig[..zbig.len() / 2];
        let skippable = [&[0x5e, 0x2a, 0x4d, 0x18, 3, 0, 0, 0][..], b"abc"].concat();
        for tail in [
            &skippable[..],
            &[0; 100],
            b"junk",
            &[&skippable[..], &[0; 7]].concat(),
        ] {
            assert!(found(&[zcut, &zs, tail], Compression::Zstd), "{tail:?}");
        }
        assert!(!found(&[&zs, &zs, &[0x28, 0xb5]], Compression::Zstd));
        assert!(!found(&[&zs, &zs, &skippable[..5]], Compression::Zstd));
        let b = |n: usize| {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
            e.write_all(&log()[..n]).unwrap();
            e.finish().unwrap()
        };
        let (bs, bbig, empty) = (b(50_000), b(900_000), b(0));
        let bcut = &bbig[..bbig.len() / 2];
        for tail in [
            &empty[..],
            &[0; 100],
            b"junk",
            &[&empty[..], &empty[..]].concat(),
        ] {
            assert!(found(&[bcut, &bs, tail], Compression::Bzip2), "{tail:?}");
        }
        assert!(!found(&[&bs, &bs, b"BZ"], Compression::Bzip2));
        assert!(!found(&[&bs, &bs, b"BZh9"], Compression::Bzip2));
    }

    fn fs_write(path: &std::path::Path, data: &[u8]) {
        std::fs::write(path, data).unwrap();
    }

    /// A magic across two of the search's 1 MiB reads is found once, and
    /// one too near the end for its check is taken by it as it is.
    #[test]
    fn places_of_a_magic_across_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut data = vec![0u8; (1 << 20) + 100];
        for at in [(1 << 20) - 2, (1 << 20) - 7, 5, data.len() - 3] {
            data[at..at + 3].copy_from_slice(b"BZh");
        }
        std::fs::write(&path, &data).unwrap();
        let f = std::fs::File::open(&path).unwrap();
        let places = places_of(&f, b"BZh", 10, |_| true).unwrap();
        let want = [5, (1 << 20) - 7, (1 << 20) - 2, data.len() as u64 - 3];
        assert_eq!(places, want);
        assert_eq!(
            places_of(&f, b"BZh", 10, |h| h.len() == 10).unwrap().len(),
            3
        );
    }
}
