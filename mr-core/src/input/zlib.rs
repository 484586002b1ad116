//! Hadoop's `.deflate` files: zlib streams (RFC 1950), one after another.
//!
//! Hadoop's `DefaultCodec`, the codec a job gets from
//! `mapreduce.output.fileoutputformat.compress=true` when it names none,
//! writes `part-r-00000.deflate`: a zlib stream (a two-byte header, deflate
//! data, an Adler-32 trailer). Hadoop reads such a file back as text, and a
//! stream that follows another (files joined with `cat`) as more text.
//! [`ZlibStreams`] does the same, and unlike a plain decoder it knows a
//! stream that stops before its end: a file cut short is an error, never a
//! shorter input.

use super::damage::damaged;
use flate2::{Decompress, FlushDecompress, Status};
use std::io::{self, BufRead, Read};

/// The decoded bytes of concatenated zlib streams read from `inner`.
///
/// ```
/// use flate2::{write::ZlibEncoder, Compression};
/// use mr_core::input::zlib::ZlibStreams;
/// use std::io::{Read, Write};
/// let mut file = Vec::new();
/// for text in ["a b\n", "c\n"] {
///     let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
///     z.write_all(text.as_bytes()).unwrap();
///     file.extend(z.finish().unwrap());
/// }
/// let mut s = String::new();
/// ZlibStreams::new(&file[..]).read_to_string(&mut s).unwrap();
/// assert_eq!(s, "a b\nc\n");
/// // Cut short: an error, not less text.
/// let cut = &file[..file.len() - 3];
/// assert!(ZlibStreams::new(cut).read_to_string(&mut String::new()).is_err());
/// ```
pub struct ZlibStreams<R> {
    inner: R,
    z: Decompress,
    /// Between streams (or before the first): the end of the input here is
    /// the end of the file, not a stream cut short.
    between: bool,
}

impl<R: BufRead> ZlibStreams<R> {
    /// Decodes the streams `inner` holds.
    pub fn new(inner: R) -> ZlibStreams<R> {
        ZlibStreams {
            inner,
            z: Decompress::new(true),
            between: true,
        }
    }
}

impl<R: BufRead> Read for ZlibStreams<R> {
    fn read(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        if dst.is_empty() {
            return Ok(0);
        }
        loop {
            let input = self.inner.fill_buf()?;
            if self.between {
                if input.is_empty() {
                    return Ok(0);
                }
                self.z.reset(true);
                self.between = false;
            }
            let eof = input.is_empty();
            let (in_before, out_before) = (self.z.total_in(), self.z.total_out());
            let status = self
                .z
                .decompress(input, dst, FlushDecompress::None)
                .map_err(|e| {
                    let what = format!("corrupt zlib stream: {e}");
                    if out_before == 0 {
                        // Nothing decoded yet: not a stream (bytes after
                        // the last one), or one damaged at its start.
                        io::Error::new(io::ErrorKind::InvalidData, what)
                    } else {
                        // Inside a stream, whose Adler-32 is checked at its
                        // end: what it gave before may be garbled.
                        damaged(io::ErrorKind::InvalidData, what)
                    }
                })?;
            let consumed = (self.z.total_in() - in_before) as usize;
            let produced = (self.z.total_out() - out_before) as usize;
            self.inner.consume(consumed);
            if status == Status::StreamEnd {
                self.between = true;
            }
            if produced > 0 {
                return Ok(produced);
            }
            if status != Status::StreamEnd && eof {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the zlib stream stops before its end (the file is cut short)",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::ZlibEncoder;
    use proptest::prelude::*;
    use std::io::{BufReader, Write};

    fn zlib(text: &[u8], level: u32) -> Vec<u8> {
        let mut z = ZlibEncoder::new(Vec::new(), flate2::Compression::new(level));
        z.write_all(text).unwrap();
        z.finish().unwrap()
    }

    fn decode(file: &[u8], buffer: usize) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        ZlibStreams::new(BufReader::with_capacity(buffer, file)).read_to_end(&mut out)?;
        Ok(out)
    }

    proptest! {
        /// Any texts, each its own stream, at any level and through any
        /// buffer size, come back joined; any cut inside a stream is an error.
        #[test]
        fn streams_decode_joined_and_cuts_are_errors(
            texts in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..3000), 1..4),
            level in 0u32..10,
            buffer in 1usize..5000,
            cut in any::<prop::sample::Index>(),
        ) {
            let mut file = Vec::new();
            let mut ends = Vec::new();
            for t in &texts {
                file.extend(zlib(t, level));
                ends.push(file.len());
            }
            prop_assert_eq!(decode(&file, buffer).unwrap(), texts.concat());
            let at = cut.index(file.len());
            if at > 0 && !ends.contains(&at) {
                prop_assert!(decode(&file[..at], buffer).is_err(), "cut at {} of {}", at, file.len());
            }
        }
    }

    #[test]
    fn an_empty_file_is_empty_and_garbage_is_an_error() {
        assert_eq!(decode(b"", 10).unwrap(), b"");
        let e = decode(b"x\x9c\xff\xff\xff\xff", 10).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
        // Garbage after a whole stream is a stream that does not decode.
        let mut file = zlib(b"a\n", 6);
        file.extend(b"not zlib");
        assert!(decode(&file, 10).is_err());
    }

    #[test]
    fn a_flipped_bit_inside_a_stream_is_damage_and_junk_after_one_is_not() {
        let text: Vec<u8> = (0..5000)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        // Stored (level 0): the flipped bit changes a byte of text, found
        // only by the Adler-32 at the stream's end.
        let mut file = zlib(&text, 0);
        let at = file.len() / 2;
        file[at] ^= 0x01;
        let e = decode(&file, 4096).unwrap_err();
        assert!(crate::input::damage::is_damage(&e), "{e}");
        let mut file = zlib(&text, 6);
        file.extend(b"not zlib");
        let e = decode(&file, 4096).unwrap_err();
        assert!(!crate::input::damage::is_damage(&e), "{e}");
    }
}
