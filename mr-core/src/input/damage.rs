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
}
