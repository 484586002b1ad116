//! Hadoop's block codecs: `SnappyCodec` (`.snappy`) and `Lz4Codec` (`.lz4`).
//!
//! A job's output compressed with either
//! (`mapreduce.output.fileoutputformat.compress.codec=...SnappyCodec`, the
//! usual choice on a cluster) is written by Hadoop's `BlockCompressorStream`:
//! blocks, each a big-endian 4-byte length of its decoded bytes followed by
//! chunks, each a big-endian 4-byte length and that many bytes of raw Snappy
//! (or LZ4 block) data, until the block's bytes are decoded. The format has
//! no magic number and no checksum; Snappy's and LZ4's framed formats (the
//! `snzip` and `lz4` tools) are other formats. [`HadoopBlocks`] reads it,
//! and, where Hadoop's reader stops quietly at a file cut short, says so.

use std::io::{self, Read};

/// The codec of a block stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockCodec {
    /// Raw Snappy chunks (`org.apache.hadoop.io.compress.SnappyCodec`).
    Snappy,
    /// LZ4 block chunks (`org.apache.hadoop.io.compress.Lz4Codec`).
    Lz4,
}

/// The longest block decoded: Hadoop's default buffer is 256 KiB; a length
/// beyond this is not a block stream.
const MAX_BLOCK: usize = 1 << 30;

/// The decoded bytes of a Hadoop block-compressed stream.
///
/// ```
/// use mr_core::input::hadoop_blocks::{BlockCodec, HadoopBlocks};
/// use std::io::Read;
/// let text = b"a b\nc\n";
/// let chunk = snap::raw::Encoder::new().compress_vec(text).unwrap();
/// let mut file = (text.len() as u32).to_be_bytes().to_vec();
/// file.extend((chunk.len() as u32).to_be_bytes());
/// file.extend(&chunk);
/// let mut s = String::new();
/// HadoopBlocks::new(&file[..], BlockCodec::Snappy).read_to_string(&mut s).unwrap();
/// assert_eq!(s, "a b\nc\n");
/// assert!(HadoopBlocks::new(&file[..file.len() - 1], BlockCodec::Snappy)
///     .read_to_string(&mut String::new())
///     .is_err());
/// ```
pub struct HadoopBlocks<R> {
    inner: R,
    codec: BlockCodec,
    /// Decoded bytes of the current block not yet read.
    block: Vec<u8>,
    at: usize,
    chunk: Vec<u8>,
}

impl<R: Read> HadoopBlocks<R> {
    /// Decodes the blocks `inner` holds.
    pub fn new(inner: R, codec: BlockCodec) -> HadoopBlocks<R> {
        HadoopBlocks {
            inner,
            codec,
            block: Vec::new(),
            at: 0,
            chunk: Vec::new(),
        }
    }

    /// Reads a big-endian length; `None` at a clean end of the stream.
    fn length(&mut self, what: &str) -> io::Result<Option<usize>> {
        let mut b = [0u8; 4];
        let mut n = 0;
        while n < 4 {
            match self.inner.read(&mut b[n..]) {
                Ok(0) if n == 0 => return Ok(None),
                Ok(0) => return Err(cut(what)),
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let len = u32::from_be_bytes(b) as usize;
        if len > MAX_BLOCK {
            return Err(corrupt(format!("a {what} of {len} bytes")));
        }
        Ok(Some(len))
    }

    /// Decodes the next block into `self.block`; false at the end.
    fn next_block(&mut self) -> io::Result<bool> {
        let Some(size) = self.length("block length")? else {
            return Ok(false);
        };
        self.block.clear();
        self.block.resize(size, 0);
        self.at = 0;
        let mut filled = 0;
        // An empty block (an empty output) still holds one chunk.
        let mut first = true;
        while filled < size || (size == 0 && first) {
            first = false;
            let Some(len) = self.length("chunk length")? else {
                if size == 0 {
                    break;
                }
                return Err(cut("chunk length"));
            };
            self.chunk.resize(len, 0);
            self.inner
                .read_exact(&mut self.chunk)
                .map_err(|e| match e.kind() {
                    io::ErrorKind::UnexpectedEof => cut("chunk"),
                    _ => e,
                })?;
            let out = &mut self.block[filled..];
            let n = match self.codec {
                BlockCodec::Snappy => {
                    let want = snap::raw::decompress_len(&self.chunk)
                        .map_err(|e| corrupt(format!("Snappy chunk: {e}")))?;
                    if want > out.len() {
                        return Err(corrupt("a chunk longer than its block".into()));
                    }
                    snap::raw::Decoder::new()
                        .decompress(&self.chunk, out)
                        .map_err(|e| corrupt(format!("Snappy chunk: {e}")))?
                }
                BlockCodec::Lz4 => lz4_flex::block::decompress_into(&self.chunk, out)
                    .map_err(|e| corrupt(format!("LZ4 chunk: {e}")))?,
            };
            filled += n;
        }
        Ok(true)
    }
}

fn cut(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("the Hadoop block stream stops inside a {what} (the file is cut short)"),
    )
}

fn corrupt(what: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("corrupt Hadoop block stream: {what}"),
    )
}

impl<R: Read> Read for HadoopBlocks<R> {
    fn read(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        if dst.is_empty() {
            return Ok(0);
        }
        while self.at == self.block.len() {
            if !self.next_block()? {
                return Ok(0);
            }
        }
        let n = dst.len().min(self.block.len() - self.at);
        dst[..n].copy_from_slice(&self.block[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What Hadoop's `BlockCompressorStream` writes: blocks of at most
    /// `block` bytes, each in chunks of at most `chunk` bytes of input; and
    /// where each block ends, in the file and in the text.
    fn hadoop_ends(
        text: &[u8],
        codec: BlockCodec,
        block: usize,
        chunk: usize,
    ) -> (Vec<u8>, Vec<(usize, usize)>) {
        let mut out = Vec::new();
        let mut ends = Vec::new();
        let blocks: Vec<&[u8]> = if text.is_empty() {
            vec![&[][..]]
        } else {
            text.chunks(block).collect()
        };
        let mut decoded = 0;
        for b in blocks {
            out.extend((b.len() as u32).to_be_bytes());
            if b.is_empty() {
                // Hadoop's reader ends at an empty block's length.
                ends.push((out.len(), decoded));
            }
            let pieces: Vec<&[u8]> = if b.is_empty() {
                vec![&[][..]]
            } else {
                b.chunks(chunk).collect()
            };
            for piece in pieces {
                let c = match codec {
                    BlockCodec::Snappy => snap::raw::Encoder::new().compress_vec(piece).unwrap(),
                    BlockCodec::Lz4 => lz4_flex::block::compress(piece),
                };
                out.extend((c.len() as u32).to_be_bytes());
                out.extend(c);
            }
            decoded += b.len();
            ends.push((out.len(), decoded));
        }
        (out, ends)
    }

    fn hadoop(text: &[u8], codec: BlockCodec, block: usize, chunk: usize) -> Vec<u8> {
        hadoop_ends(text, codec, block, chunk).0
    }

    fn decode(file: &[u8], codec: BlockCodec) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        HadoopBlocks::new(file, codec).read_to_end(&mut out)?;
        Ok(out)
    }

    proptest! {
        /// Any text, in any block and chunk sizes, in either codec, comes
        /// back whole; a cut between blocks gives the blocks before it, a
        /// cut anywhere else is an error.
        #[test]
        fn blocks_decode_and_cuts_are_errors(
            text in prop::collection::vec(any::<u8>(), 0..5000),
            block in 1usize..3000,
            chunk in 1usize..3000,
            lz4 in any::<bool>(),
            cut in any::<prop::sample::Index>(),
        ) {
            let codec = if lz4 { BlockCodec::Lz4 } else { BlockCodec::Snappy };
            let (file, ends) = hadoop_ends(&text, codec, block, chunk);
            prop_assert_eq!(decode(&file, codec).unwrap(), text.clone());
            let at = cut.index(file.len());
            match ends.iter().find(|(byte, _)| *byte == at) {
                Some(&(_, decoded)) => {
                    prop_assert_eq!(decode(&file[..at], codec).unwrap(), text[..decoded].to_vec());
                }
                None if at == 0 => prop_assert_eq!(decode(&file[..0], codec).unwrap(), Vec::<u8>::new()),
                None => prop_assert!(decode(&file[..at], codec).is_err(), "cut at {} of {}", at, file.len()),
            }
        }
    }

    #[test]
    fn empty_outputs_and_concatenation() {
        for codec in [BlockCodec::Snappy, BlockCodec::Lz4] {
            let empty = hadoop(b"", codec, 10, 10);
            assert_eq!(decode(&empty, codec).unwrap(), b"");
            assert_eq!(decode(b"", codec).unwrap(), b"");
            let joined = [
                hadoop(b"a\n", codec, 10, 10),
                empty,
                hadoop(b"b\n", codec, 1, 1),
            ]
            .concat();
            assert_eq!(decode(&joined, codec).unwrap(), b"a\nb\n");
        }
        let e = decode(&[0xff, 0xff, 0xff, 0xff], BlockCodec::Snappy).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
    }
}
