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

use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

/// Bytes per block handed from the decoder thread to the reader.
pub const BLOCK_BYTES: usize = 1 << 20; // 1 MiB
/// Blocks in flight at most: one being filled, one queued, one being read.
pub const BLOCKS: usize = 3;

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
    full: Option<Receiver<io::Result<Vec<u8>>>>,
    empty: Option<SyncSender<Vec<u8>>>,
    block: Vec<u8>,
    at: usize,
    done: bool,
    thread: Option<JoinHandle<()>>,
}

impl ReadAhead {
    /// Starts reading `inner` on a new thread.
    pub fn spawn<R: Read + Send + 'static>(inner: R) -> ReadAhead {
        let (full_tx, full_rx) = sync_channel::<io::Result<Vec<u8>>>(BLOCKS - 2);
        let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(BLOCKS);
        let thread = std::thread::Builder::new()
            .name("mr-inflate".into())
            .spawn(move || fill_blocks(inner, full_tx, empty_rx))
            .ok();
        ReadAhead {
            full: Some(full_rx),
            empty: Some(empty_tx),
            block: Vec::new(),
            at: 0,
            done: false,
            thread,
        }
    }
}

/// The helper thread: fills blocks until the end, an error, or a reader that
/// went away.
fn fill_blocks<R: Read>(
    mut inner: R,
    full: SyncSender<io::Result<Vec<u8>>>,
    empty: Receiver<Vec<u8>>,
) {
    // Allocated as needed; then the reader hands them back to be refilled.
    let mut spare = (0..BLOCKS).map(|_| Vec::new()).collect::<Vec<_>>();
    loop {
        let mut block = match spare.pop() {
            Some(b) => b,
            None => match empty.recv() {
                Ok(b) => b,
                Err(_) => return, // the reader is gone
            },
        };
        block.resize(BLOCK_BYTES, 0);
        let mut n = 0;
        let result = loop {
            if n == block.len() {
                break Ok(());
            }
            match inner.read(&mut block[n..]) {
                Ok(0) => break Ok(()),
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        block.truncate(n);
        let end = n < BLOCK_BYTES;
        if n > 0 && full.send(Ok(block)).is_err() {
            return;
        }
        if let Err(e) = result {
            let _ = full.send(Err(e));
            return;
        }
        if end {
            return; // dropping `full` tells the reader: end of stream
        }
    }
}

impl Read for ReadAhead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.block.len() {
            if self.done {
                return Ok(0);
            }
            let Some(full) = &self.full else {
                return Ok(0);
            };
            if self.thread.is_none() {
                // The system refused a thread: say so on the first read.
                self.done = true;
                return Err(io::Error::other("could not start the decompression thread"));
            }
            match full.recv() {
                Ok(Ok(block)) => {
                    let old = std::mem::replace(&mut self.block, block);
                    self.at = 0;
                    if let (Some(empty), true) = (&self.empty, old.capacity() > 0) {
                        // The thread may have finished: then the block is dropped.
                        let _ = empty.try_send(old);
                    }
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => self.done = true, // the thread ended: end of stream
            }
        }
        let n = buf.len().min(self.block.len() - self.at);
        buf[..n].copy_from_slice(&self.block[self.at..self.at + n]);
        self.at += n;
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

    #[test]
    fn dropping_the_reader_early_ends_the_thread() {
        let data = vec![b'x'; 10 * BLOCK_BYTES];
        let mut r = ReadAhead::spawn(io::Cursor::new(data));
        let mut buf = [0u8; 10];
        r.read_exact(&mut buf).unwrap();
        drop(r); // joins the thread: would hang if it stayed blocked
    }
}
