//! K-way merge of sorted runs, and grouping of the merged stream by key.
//!
//! When a partition has more runs than the fan-in, [`merge_down`] first merges
//! them in passes of `fan_in` runs into larger runs on disk, so that at most
//! `fan_in` files are open and at most `fan_in` read buffers are in memory.

use super::spill::{Run, RunReader, RunWriter};
use crate::error::Result;
use crate::job::ValueStream;
use std::cmp::Ordering;
use std::path::Path;

/// Merges up to `fan_in` runs at a time; the default of `--merge-fan-in`.
pub const DEFAULT_FAN_IN: usize = 64;

/// Records (or values of one key) between two cancellation checks: one key
/// may hold millions of values, and a signal must stop the run within
/// milliseconds, not after the key.
pub const CHECK_EVERY: u64 = 4096;

/// A k-way merge of sorted runs: yields records in (key, sort key) order;
/// ties go to the earlier run, so the merge is deterministic.
pub struct Merger {
    readers: Vec<RunReader>,
    /// A binary min-heap of indices into `readers`.
    heap: Vec<usize>,
}

impl Merger {
    /// Opens the runs and positions each on its first record.
    pub fn new(runs: &[Run]) -> Result<Merger> {
        let mut readers = Vec::with_capacity(runs.len());
        let mut heap = Vec::with_capacity(runs.len());
        for run in runs {
            let mut r = run.open()?;
            if r.advance()? {
                heap.push(readers.len());
                readers.push(r);
            }
        }
        let mut m = Merger { readers, heap };
        for i in (0..m.heap.len() / 2).rev() {
            m.sift_down(i);
        }
        Ok(m)
    }

    fn cmp(&self, a: usize, b: usize) -> Ordering {
        let (ra, rb) = (&self.readers[a], &self.readers[b]);
        ra.key
            .cmp(&rb.key)
            .then_with(|| ra.sort_key.cmp(&rb.sort_key))
            .then_with(|| a.cmp(&b))
    }

    fn sift_down(&mut self, mut i: usize) {
        let n = self.heap.len();
        loop {
            let l = 2 * i + 1;
            if l >= n {
                return;
            }
            let r = l + 1;
            let mut c = l;
            if r < n && self.cmp(self.heap[r], self.heap[l]) == Ordering::Less {
                c = r;
            }
            if self.cmp(self.heap[c], self.heap[i]) == Ordering::Less {
                self.heap.swap(c, i);
                i = c;
            } else {
                return;
            }
        }
    }

    /// The key of the next record, if any.
    pub fn peek_key(&self) -> Option<&[u8]> {
        self.heap.first().map(|&t| self.readers[t].key.as_slice())
    }

    /// Moves the next record into the given buffers (by swapping, without
    /// copying); false when the merge is done.
    pub fn pop(
        &mut self,
        key: &mut Vec<u8>,
        sort_key: &mut Vec<u8>,
        value: &mut Vec<u8>,
    ) -> Result<bool> {
        let Some(&t) = self.heap.first() else {
            return Ok(false);
        };
        let r = &mut self.readers[t];
        std::mem::swap(&mut r.key, key);
        std::mem::swap(&mut r.sort_key, sort_key);
        std::mem::swap(&mut r.value, value);
        if !r.advance()? {
            let last = self.heap.len() - 1;
            self.heap.swap(0, last);
            self.heap.pop();
        }
        self.sift_down(0);
        Ok(true)
    }
}

/// Merges runs in passes of `fan_in` until at most `fan_in` remain; returns
/// them with the number of passes made.
pub fn merge_down(mut runs: Vec<Run>, fan_in: usize, dir: &Path) -> Result<(Vec<Run>, u64)> {
    let fan_in = fan_in_for_records(fan_in, &runs, MERGE_RECORD_BYTES);
    let mut passes = 0;
    while runs.len() > fan_in {
        crate::cancel::check()?;
        passes += 1;
        // Merge the smallest runs first: less data rewritten.
        runs.sort_by_key(Run::bytes);
        let excess = runs.len() - fan_in + 1; // runs to fold away this pass
        let take = excess.min(fan_in).max(2);
        let batch: Vec<Run> = runs.drain(..take).collect();
        runs.push(merge_to_run(&batch, dir)?);
    }
    Ok((runs, passes))
}

/// The largest records of the runs one merge reads at once, in all, at
/// most: a merge holds a record of each of its runs, so 64 runs of 8 MiB
/// records held 384 MB beside a 1 MiB sort buffer (probe
/// /tmp/probe3-memory repro 01).
pub const MERGE_RECORD_BYTES: u64 = 32 << 20;

/// `fan_in` (at least 2), lowered so that the runs a merge of `runs`
/// reads at once hold records of at most `budget` bytes in all, however
/// the runs are batched.
fn fan_in_for_records(fan_in: usize, runs: &[Run], budget: u64) -> usize {
    let mut largest: Vec<u64> = runs.iter().map(|r| r.largest).collect();
    largest.sort_unstable_by(|a, b| b.cmp(a));
    let mut held = 0u64;
    let fit = largest
        .iter()
        .take_while(|&&l| {
            held = held.saturating_add(l);
            held <= budget
        })
        .count();
    if fit == largest.len() {
        fan_in.max(2)
    } else {
        fan_in.min(fit).max(2)
    }
}

/// Merges runs into one new run.
pub fn merge_to_run(runs: &[Run], dir: &Path) -> Result<Run> {
    let mut m = Merger::new(runs)?;
    let mut w = RunWriter::create(dir)?;
    w.expect_bytes(runs.iter().map(Run::bytes).sum());
    let (mut k, mut s, mut v) = (Vec::new(), Vec::new(), Vec::new());
    let mut n = 0u64;
    while m.pop(&mut k, &mut s, &mut v)? {
        w.write(&k, &s, &v)?;
        n += 1;
        if n.is_multiple_of(CHECK_EVERY) {
            crate::cancel::check()?;
        }
    }
    let run = w.end_segment();
    w.finish()?;
    Ok(run)
}

/// A merged stream seen as key groups: call [`next_key`](Self::next_key), then
/// pull that key's values through `ValueStream`.
pub struct Grouped {
    merger: Merger,
    key: Vec<u8>,
    in_group: bool,
    scratch_key: Vec<u8>,
    scratch_sort: Vec<u8>,
    value: Vec<u8>,
    /// Values handed out so far.
    pub values_read: u64,
}

impl Grouped {
    /// Groups the merge of `runs`.
    pub fn new(runs: &[Run]) -> Result<Grouped> {
        Ok(Grouped {
            merger: Merger::new(runs)?,
            key: Vec::new(),
            in_group: false,
            scratch_key: Vec::new(),
            scratch_sort: Vec::new(),
            value: Vec::new(),
            values_read: 0,
        })
    }

    /// Skips what is left of the current group and copies the next key into
    /// `key`; false at the end.
    pub fn next_key(&mut self, key: &mut Vec<u8>) -> Result<bool> {
        while self.in_group {
            if self.next_value()?.is_none() {
                break;
            }
        }
        match self.merger.peek_key() {
            None => Ok(false),
            Some(k) => {
                self.key.clear();
                self.key.extend_from_slice(k);
                key.clear();
                key.extend_from_slice(k);
                self.in_group = true;
                Ok(true)
            }
        }
    }
}

impl ValueStream for Grouped {
    fn next_value(&mut self) -> Result<Option<&[u8]>> {
        if !self.in_group {
            return Ok(None);
        }
        if self.merger.peek_key() != Some(self.key.as_slice()) {
            self.in_group = false;
            return Ok(None);
        }
        self.merger.pop(
            &mut self.scratch_key,
            &mut self.scratch_sort,
            &mut self.value,
        )?;
        self.values_read += 1;
        if self.values_read.is_multiple_of(CHECK_EVERY) {
            crate::cancel::check()?;
        }
        Ok(Some(&self.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn write_runs(dir: &Path, runs: &[Vec<(u8, u8)>]) -> Vec<Run> {
        runs.iter()
            .map(|recs| {
                let mut recs = recs.clone();
                recs.sort_by_key(|r| r.0);
                let mut w = RunWriter::create(dir).unwrap();
                for (k, v) in recs {
                    w.write(&[k], &[], &[v]).unwrap();
                }
                let r = w.end_segment();
                w.finish().unwrap();
                r
            })
            .collect()
    }

    /// Runs of large records merge fewer at once: a merge holds a record
    /// of each run it reads (probe /tmp/probe3-memory repro 01).
    #[test]
    fn large_records_lower_the_fan_in() {
        let d = tempfile::tempdir().unwrap();
        let run = |value: usize| {
            let mut w = RunWriter::create(d.path()).unwrap();
            w.write(b"k", &[], &vec![b'x'; value]).unwrap();
            let r = w.end_segment();
            w.finish().unwrap();
            r
        };
        let small: Vec<Run> = (0..10).map(|_| run(10)).collect();
        assert_eq!(fan_in_for_records(64, &small, 1000), 64);
        let big: Vec<Run> = (0..10).map(|_| run(300)).collect();
        assert!(big.iter().all(|r| r.largest > 300));
        assert_eq!(fan_in_for_records(64, &big, 1000), 3);
        assert_eq!(fan_in_for_records(64, &big, 10), 2);
        assert_eq!(fan_in_for_records(2, &small, 1000), 2);
    }

    proptest! {
        #[test]
        fn merge_down_then_group_sees_every_value_once(
            runs in proptest::collection::vec(proptest::collection::vec((0u8..8, any::<u8>()), 0..20), 0..30),
            fan_in in 2usize..6,
        ) {
            let d = tempfile::tempdir().unwrap();
            let written = write_runs(d.path(), &runs);
            let (merged, _) = merge_down(written, fan_in, d.path()).unwrap();
            prop_assert!(merged.len() <= fan_in);
            let mut g = Grouped::new(&merged).unwrap();
            let mut got = Vec::new();
            let mut key = Vec::new();
            let mut last: Option<Vec<u8>> = None;
            while g.next_key(&mut key).unwrap() {
                prop_assert!(last.as_ref().is_none_or(|l| *l < key), "keys not strictly increasing");
                last = Some(key.clone());
                // Read only some values of odd keys: the rest must be skipped.
                let mut n = 0;
                while let Some(v) = g.next_value().unwrap() {
                    got.push((key[0], v[0]));
                    n += 1;
                    if key[0] % 2 == 1 && n == 1 { break; }
                }
            }
            let mut want: Vec<(u8, u8)> = runs.concat();
            want.sort();
            // Odd keys: we read exactly one value each.
            let mut got_even: Vec<_> = got.iter().copied().filter(|r| r.0 % 2 == 0).collect();
            got_even.sort();
            let want_even: Vec<_> = want.iter().copied().filter(|r| r.0 % 2 == 0).collect();
            prop_assert_eq!(got_even, want_even);
            drop(g);
            drop(merged);
            prop_assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
        }
    }
}
