//! The map side's memory-bounded buffer: collects a map task's output,
//! combines it, and spills it as sorted runs.
//!
//! # The algorithm
//!
//! A [`SortBuffer`] is given a byte budget (its share of `--sort-buffer-mb`).
//!
//! **Steps without a combiner, that sort values, or whose records come
//! aggregated from a fold's table** (sorting mode):
//! 1. records are appended to one arena, with a fixed-size index entry each;
//! 2. when arena + index would exceed the budget, the index is sorted by
//!    (partition, key, sort key) and the records are written in that order,
//!    one segment per partition, to a new spill file; the combiner (if any)
//!    runs over each key's values on the way out;
//! 3. at the end of the task the rest is spilled the same way.
//!
//! **Steps with a combiner** (combining mode, a hash-based pre-aggregation):
//! 1. records are grouped by key in a hash table as they arrive;
//! 2. a key that collects [`COMBINE_EVERY`] values is combined at once, so a
//!    counting job holds one small value per distinct key;
//! 3. when the table's size (its allocation, the keys' and values', and the
//!    list a spill sorts) exceeds the budget, its keys are sorted by
//!    (partition, key), combined once more, and spilled as above;
//! 4. keys that hardly repeat (at least 9 in 10 distinct after
//!    [`DISTINCT_CHECK`] records, or at a later check) make the table cost
//!    more than it saves (a hash lookup per record, a table several times
//!    the records' size): the buffer turns to sorting mode for the rest of
//!    the task, the combiner still merging equal keys at each spill.
//!
//! The table (`super::combining`) keeps keys and values in arenas: no
//! allocation per key, and its memory counted as it is used.
//!
//! ```text
//!  emit ─▶ [ hash table / arena ] ──budget reached──▶ sort ─▶ combine ─▶ spill file
//!                                                              (segment per partition)
//! ```
//!
//! **Either mode**: when the newest `fan_in` spill files are of one level,
//! they are merged into one file of the next level (a tiered merge), so a tiny
//! budget on a large split leaves `(fan_in - 1) x log_fan_in(spills)` files,
//! not one per spill.
//!
//! A combiner must emit only the key it was given: anything else would break
//! the sort order of the run, and is reported as an error.

use super::combining::{CombiningTable, GroupId, GroupValues};
use super::merge::{CHECK_EVERY, DEFAULT_FAN_IN, Merger};
use super::partition::partition_of;
use super::spill::{Run, RunWriter};
use crate::counters::{Counters, TaskStats};
use crate::emit::RecordSink;
use crate::error::{Error, Location, Result, snippet};
use crate::job::{RecordError, ReduceFn, ValueStream};
use crate::protocol::sortable_value;
use std::path::PathBuf;

/// In combining mode, a key's values are combined as soon as it has this
/// many (or twice what the combiner last left it, when that is more).
pub const COMBINE_EVERY: u32 = 32;

/// Records (since the last spill) after which combining mode first checks
/// how many of its keys are distinct (then at each doubling, up to
/// `DISTINCT_CHECK_LAST`).
pub const DISTINCT_CHECK: u64 = 1 << 16;
/// The last such check.
const DISTINCT_CHECK_LAST: u64 = 1 << 22;
/// A spill's list of (partition, the key's first 16 bytes, group), one a
/// table entry: sorted on the first two, which tell most keys apart without
/// reading them (a cache miss each, in a table larger than the caches),
/// then on the whole key.
type SpillEntry = (usize, u128, GroupId);
/// What the last spills of small tasks may hold in memory at once, at most
/// (and at most half a task's buffer): see [`RunWriter::in_memory`].
const MEMORY_RUNS_MAX_BYTES: usize = 32 << 20;
/// Non-empty runs a map task may end with over several spill files before
/// they are merged into one ([`SortBuffer::merge_to_one_if_many_runs`]):
/// about 3 MB of bookkeeping kept to the reduce. Only thousands of
/// partitions with a small buffer get there: the merge rewrites the task's
/// output once more (word_count on 40 MB with a 4 MiB buffer and 64
/// partitions took 15% longer with it at 4,096 runs).
const MAX_TASK_RUNS: usize = 65_536;
/// The first reservation of a buffer's arena and index.
const FIRST_RESERVE_BYTES: usize = 64 << 10;
/// Past this size an arena grows at once to [`MAPPED_BYTES`] (see
/// [`grow_within`]).
const JUMP_AFTER_BYTES: usize = 1 << 20;
/// Above glibc's largest threshold for giving a block pages of its own
/// (`DEFAULT_MMAP_THRESHOLD_MAX`, 32 MiB on 64-bit systems).
const MAPPED_BYTES: usize = 33 << 20;

/// A record of the arena: where it is, its partition, and its key's first
/// bytes as a number, so that most comparisons of the sort are of two
/// integers in the index, not of two keys in the arena.
#[derive(Debug, Clone, Copy)]
struct Entry {
    off: usize,
    /// The key's first 8 bytes, big-endian, zero-padded: ordered as the
    /// keys are, when it differs (see [`key_prefix`]).
    prefix: u64,
    part: u32,
    klen: u32,
    slen: u32,
    vlen: u32,
}

impl Entry {
    /// The record's key, in the arena `d`.
    fn key<'d>(&self, d: &'d [u8]) -> &'d [u8] {
        &d[self.off..self.off + self.klen as usize]
    }

    /// The record's sort key (empty unless values are sorted).
    fn skey<'d>(&self, d: &'d [u8]) -> &'d [u8] {
        let s = self.off + self.klen as usize;
        &d[s..s + self.slen as usize]
    }

    /// The record's value.
    fn value<'d>(&self, d: &'d [u8]) -> &'d [u8] {
        let s = self.off + (self.klen + self.slen) as usize;
        &d[s..s + self.vlen as usize]
    }
}

/// The first 8 bytes of `key`, big-endian, zero-padded. Two prefixes that
/// differ order their keys as the keys' bytes do: at the first byte that
/// differs, either both bytes are the keys' own, or one is padding (0) and
/// the other a byte the shorter key lacks, which sorts it first.
fn key_prefix(key: &[u8]) -> u64 {
    let mut p = [0u8; 8];
    let n = key.len().min(8);
    p[..n].copy_from_slice(&key[..n]);
    u64::from_be_bytes(p)
}

/// [`key_prefix`] of 16 bytes.
fn key_prefix16(key: &[u8]) -> u128 {
    let mut p = [0u8; 16];
    let n = key.len().min(16);
    p[..n].copy_from_slice(&key[..n]);
    u128::from_be_bytes(p)
}

/// Sorts the index by partition, key and sort key, stably (records equal in
/// all three keep the order they came in), comparing integers where it can:
/// first by (partition, the key's first 8 bytes); then each run of entries
/// equal in those is refined by [`refine`].
fn sort_index(index: &mut [Entry], d: &[u8]) {
    index.sort_by_key(|e| (e.part, e.prefix));
    for run in index.chunk_by_mut(|a, b| (a.part, a.prefix) == (b.part, b.prefix)) {
        if run.len() > 1 {
            refine(run, d, 0, 0);
        }
    }
}

/// How many times [`refine`] goes 8 bytes further into keys before it
/// compares the rest of them whole.
const REFINE_DEPTH: usize = 16;

/// Sorts a run of entries whose keys share their first `known` bytes (and
/// their prefixes): the bytes all of them share are skipped (URLs share
/// `"https://host/`), the prefixes are taken again after those and sorted
/// on, and runs still equal are refined further. Keys that are all equal,
/// or differ only where one of them ends, are compared whole, then by sort
/// key.
///
/// A run larger than the CPU's caches costs a cache miss per key each time
/// its keys are read, so a level reads each key once: the shared length is
/// guessed from a few keys, and each key, read once, is checked against the
/// first key up to the guess (shortening it where they differ) and its
/// prefix taken after it. Only the keys before the last shortening, if
/// any, are read again. Exactly the shared bytes are skipped either way.
fn refine(run: &mut [Entry], d: &[u8], known: usize, depth: usize) {
    let key = |e: &Entry| e.key(d);
    let first = key(&run[0]);
    // The guess: the bytes the first key shares with a few others spread
    // over the run, at least what every key shares.
    let step = (run.len() / SHARED_SAMPLE).max(1);
    let mut shared = first.len();
    for e in run.iter().step_by(step).chain(run.last()) {
        shared = known + common_len(&first[known..shared], &key(e)[known..]);
    }
    let mut longest = 0;
    let mut stale = 0; // prefixes before it were taken after a longer guess
    for (i, e) in run.iter_mut().enumerate() {
        let k = e.key(d);
        if k.len() < shared || k[known..shared] != first[known..shared] {
            shared = known + common_len(&first[known..shared], &k[known..]);
            stale = i;
        }
        longest = longest.max(k.len());
        e.prefix = key_prefix(&k[shared..]);
    }
    // Every prefix after the same bytes: equal keys have equal prefixes,
    // which the spill's grouping relies on.
    for e in &mut run[..stale] {
        e.prefix = key_prefix(&e.key(d)[shared..]);
    }
    if shared <= known || shared >= longest || depth >= REFINE_DEPTH {
        run.sort_by(|a, b| key(a).cmp(key(b)).then_with(|| a.skey(d).cmp(b.skey(d))));
        return;
    }
    run.sort_by_key(|e| e.prefix);
    for sub in run.chunk_by_mut(|a, b| a.prefix == b.prefix) {
        if sub.len() > 1 {
            refine(sub, d, shared, depth + 1);
        }
    }
}

/// Keys of a run [`refine`] reads to guess the bytes all of its keys share.
const SHARED_SAMPLE: usize = 16;

/// How many leading bytes `a` and `b` share, compared 8 at a time.
fn common_len(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while let (Some(x), Some(y)) = (a.get(i..i + 8), b.get(i..i + 8)) {
        let word = |w: &[u8]| u64::from_le_bytes(w.try_into().unwrap_or([0; 8]));
        let diff = word(x) ^ word(y);
        if diff != 0 {
            return i + diff.trailing_zeros() as usize / 8;
        }
        i += 8;
    }
    i + a[i..n]
        .iter()
        .zip(&b[i..n])
        .take_while(|(x, y)| x == y)
        .count()
}

const ENTRY_BYTES: usize = std::mem::size_of::<Entry>();

enum Store {
    Sorting {
        data: Vec<u8>,
        index: Vec<Entry>,
    },
    Combining {
        table: CombiningTable,
        /// Records pushed since the last spill, for the check of distinct
        /// keys.
        pushed: u64,
    },
}

/// One spill file: a run per partition (`None` when empty); `level` counts
/// the merges that made it.
struct SpillFile {
    level: u32,
    runs: Vec<Option<Run>>,
}

/// A map task's output buffer. See the module docs.
pub struct SortBuffer {
    // PROPERTIES
    step: usize,
    partitions: usize,
    budget: usize,
    sort_values: bool,
    spill_dir: PathBuf,
    /// Spill files merged at once when they pile up (see [`Self::compact`]).
    fan_in: usize,
    /// Runs a task may end with before its files are merged into one
    /// ([`MAX_TASK_RUNS`]).
    max_task_runs: usize,
    // STATE
    store: Store,
    sort_key: Vec<u8>,
    /// Where a combiner's output for one group is gathered (the group's old
    /// buffer becomes the next scratch: no allocation per combine).
    combine_scratch: Vec<u8>,
    /// Spill files written so far (merged ones included), oldest first.
    files: Vec<SpillFile>,
    // RESOURCES
    combiner: Option<Box<dyn ReduceFn>>,
    /// The combiner's own counters.
    counters: Counters,
    stats: TaskStats,
}

impl SortBuffer {
    /// A buffer of `budget` bytes for step `step`'s map output.
    pub(crate) fn new(
        step: usize,
        partitions: usize,
        budget: usize,
        sort_values: bool,
        combiner: Option<Box<dyn ReduceFn>>,
        pre_aggregated: bool,
        spill_dir: PathBuf,
    ) -> SortBuffer {
        // A fold step's records arrive already aggregated (one per key per
        // table flush): appending them to the arena costs no hashing and no
        // allocation, and the combiner merges equal keys at the spill.
        let store = if combiner.is_some() && !sort_values && !pre_aggregated {
            Store::Combining {
                table: CombiningTable::new(budget),
                pushed: 0,
            }
        } else {
            Store::Sorting {
                data: Vec::new(),
                index: Vec::new(),
            }
        };
        SortBuffer {
            step,
            partitions: partitions.max(1),
            budget: budget.max(1),
            sort_values,
            spill_dir,
            store,
            sort_key: Vec::new(),
            combine_scratch: Vec::new(),
            fan_in: DEFAULT_FAN_IN,
            max_task_runs: MAX_TASK_RUNS,
            files: Vec::new(),
            combiner,
            counters: Counters::default(),
            stats: TaskStats::default(),
        }
    }

    /// Merges spill files `fan_in` at a time when they pile up (at least 2).
    pub(crate) fn with_fan_in(mut self, fan_in: usize) -> SortBuffer {
        self.fan_in = fan_in.max(2);
        self
    }

    /// Spills what is left and returns the runs per partition, with the
    /// buffer's statistics and the combiner's counters.
    ///
    /// The combiner's `finish` hook (mrjob's `combiner_final`) runs first:
    /// what it emits joins the map output, as the combiner's other output
    /// does.
    pub(crate) fn finish(mut self) -> Result<(Vec<Vec<Run>>, TaskStats, Counters)> {
        if let Some(mut c) = self.combiner.take() {
            let mut last = crate::emit::VecSink::default();
            let r = c.finish(&mut last, &mut self.counters);
            self.combiner = Some(c);
            r.map_err(|e| e.in_hook(format!("step {} combiner final", self.step)))?;
            for (key, value) in &last.records {
                self.push(key, value)?;
            }
        }
        if !self.is_empty() {
            // A task's only spill stays in memory when it is small: a file
            // made and deleted per task is most of the time of a run over
            // many small files.
            let memory = if self.files.is_empty() {
                let limit = (self.budget / 2).min(MEMORY_RUNS_MAX_BYTES);
                RunWriter::in_memory(self.held_bytes(), limit)
            } else {
                None
            };
            match memory {
                Some(w) => self.spill_into(w)?,
                None => self.spill()?,
            }
        }
        self.merge_to_one_if_many_runs()?;
        let mut runs = vec![Vec::new(); self.partitions];
        for f in self.files {
            for (p, run) in f.runs.into_iter().enumerate() {
                runs[p].extend(run);
            }
        }
        Ok((runs, self.stats, self.counters))
    }

    /// Keeps the number of spill files small however small the buffer: when
    /// the newest `fan_in` files are of one level, they are merged (partition
    /// by partition, `fan_in` files open at once) into one file of the next
    /// level. At most `(fan_in - 1) x levels` files stay, and each record is
    /// rewritten once per level: log_fan_in(spills) times.
    fn compact(&mut self) -> Result<()> {
        let k = self.fan_in;
        while self.files.len() >= k {
            let tail = &self.files[self.files.len() - k..];
            let level = tail[0].level;
            if tail.iter().any(|f| f.level != level) {
                return Ok(());
            }
            crate::cancel::check()?;
            let batch: Vec<SpillFile> = self.files.drain(self.files.len() - k..).collect();
            let merged = self.merge(batch, level + 1)?;
            self.files.push(merged);
        }
        Ok(())
    }

    /// At a task's end, merges its spill files into one (`fan_in` at a
    /// time, newest first) when their runs are many: a run is kept per
    /// spill file and partition until the reduce (about 50 bytes each), so
    /// many partitions and a small buffer made that bookkeeping grow with
    /// the input (`--partitions 8000 --sort-buffer-mb 2` on 636 MB of logs
    /// peaked at 363 MB: probe /tmp/probe7-scale repro 05). Hadoop's map
    /// tasks end with one file each, too.
    fn merge_to_one_if_many_runs(&mut self) -> Result<()> {
        let runs = |files: &[SpillFile]| {
            files
                .iter()
                .map(|f| f.runs.iter().flatten().count())
                .sum::<usize>()
        };
        if runs(&self.files) <= self.max_task_runs {
            return Ok(());
        }
        while self.files.len() > 1 {
            crate::cancel::check()?;
            let k = self.fan_in.min(self.files.len());
            let batch: Vec<SpillFile> = self.files.drain(self.files.len() - k..).collect();
            let level = batch.iter().map(|f| f.level).max().unwrap_or(0) + 1;
            let merged = self.merge(batch, level)?;
            self.files.push(merged);
        }
        Ok(())
    }

    /// Merges `batch` (oldest first) partition by partition into one file
    /// of `level`; the batch's files are deleted.
    fn merge(&mut self, batch: Vec<SpillFile>, level: u32) -> Result<SpillFile> {
        let mut w = RunWriter::create(&self.spill_dir)?;
        w.expect_bytes(
            batch
                .iter()
                .flat_map(|f| f.runs.iter().flatten())
                .map(Run::bytes)
                .sum(),
        );
        let (mut key, mut skey, mut value) = (Vec::new(), Vec::new(), Vec::new());
        let mut merged = Vec::with_capacity(self.partitions);
        for p in 0..self.partitions {
            let runs: Vec<Run> = batch.iter().filter_map(|f| f.runs[p].clone()).collect();
            if runs.is_empty() {
                merged.push(None);
                continue;
            }
            // Ties go to the older file: value order is kept.
            let mut m = Merger::new(&runs)?;
            while m.pop(&mut key, &mut skey, &mut value)? {
                w.write(&key, &skey, &value)?;
            }
            merged.push(Some(w.end_segment()).filter(|r| r.records > 0));
        }
        w.finish()?;
        drop(batch); // deletes the merged files
        self.stats.merge_passes += 1;
        Ok(SpillFile {
            level,
            runs: merged,
        })
    }

    fn is_empty(&self) -> bool {
        match &self.store {
            Store::Sorting { index, .. } => index.is_empty(),
            Store::Combining { table, .. } => table.is_empty(),
        }
    }

    fn push_sorting(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.sort_key.clear();
        if self.sort_values {
            sortable_value(value, &mut self.sort_key).map_err(|e| {
                Error::Internal(format!(
                    "emitted value is not JSON ({e}): {}",
                    snippet(value)
                ))
            })?;
        }
        let rec = key.len() + self.sort_key.len() + value.len();
        let Store::Sorting { data, index } = &mut self.store else {
            return Err(Error::Internal("sorting push on a combining buffer".into()));
        };
        if !index.is_empty() && data.len() + (index.len() + 1) * ENTRY_BYTES + rec > self.budget {
            self.stats.spills += 1;
            self.spill()?;
        }
        let Store::Sorting { data, index } = &mut self.store else {
            return Err(Error::Internal("sorting push on a combining buffer".into()));
        };
        // Grown by doubling up to the budget's share, not reserved whole at
        // once: a small task (one of thousands of small files) then maps
        // and unmaps kilobytes, not 128 MiB (whose unmapping stops every
        // core to flush its TLB).
        grow_within(data, rec, self.budget / 4 * 3);
        grow_within(index, 1, self.budget / 4 / ENTRY_BYTES + 1);
        let off = data.len();
        data.extend_from_slice(key);
        data.extend_from_slice(&self.sort_key);
        data.extend_from_slice(value);
        index.push(Entry {
            off,
            prefix: key_prefix(key),
            part: partition_of(key, self.partitions, self.sort_values) as u32,
            klen: key.len() as u32,
            slen: self.sort_key.len() as u32,
            vlen: value.len() as u32,
        });
        Ok(())
    }

    fn push_combining(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        let Store::Combining { table, pushed } = &mut self.store else {
            return Err(Error::Internal("combining push on a sorting buffer".into()));
        };
        *pushed += 1;
        if pushed.is_power_of_two()
            && (DISTINCT_CHECK..=DISTINCT_CHECK_LAST).contains(pushed)
            && table.len() as u64 * 10 >= *pushed * 9
        {
            // Keys that hardly repeat: the rest of the task sorts.
            self.turn_to_sorting()?;
            return self.push_sorting(key, value);
        }
        let g = table.group(key);
        if table.push(g, value) {
            let combiner = self
                .combiner
                .as_deref_mut()
                .ok_or_else(|| Error::Internal("combining buffer without a combiner".into()))?;
            let (values, count) = table.values(g);
            let out = combine_values(
                self.step,
                combiner,
                key,
                values,
                count,
                &mut self.combine_scratch,
                &mut self.counters,
                &mut self.stats,
            )?;
            table.replace(g, &self.combine_scratch, out);
        }
        // The list a spill sorts counts too; group numbers are 32 bits.
        if table.bytes() + table.len() * std::mem::size_of::<SpillEntry>() > self.budget
            || table.len() >= GroupId::MAX as usize
        {
            self.stats.spills += 1;
            self.spill()?;
        }
        Ok(())
    }

    /// Turns a combining buffer into a sorting one, its records kept
    /// (each key's values, as combined so far).
    fn turn_to_sorting(&mut self) -> Result<()> {
        let old = std::mem::replace(
            &mut self.store,
            Store::Sorting {
                data: Vec::new(),
                index: Vec::new(),
            },
        );
        if let Store::Combining { table, .. } = old {
            for g in 0..table.len() as GroupId {
                for v in GroupValues(table.values(g).0) {
                    self.push_sorting(table.key(g), v)?;
                }
            }
        }
        Ok(())
    }

    /// Makes room at once for `records` records of about `bytes` bytes in
    /// all, within the budget (a fold table's flush knows both): growing
    /// to them by doubling would copy the arena and index at each step.
    pub(crate) fn expect(&mut self, records: usize, bytes: usize) {
        if let Store::Sorting { data, index } = &mut self.store {
            let records = records.min(self.budget / 4 / ENTRY_BYTES + 1);
            index.reserve_exact(records.saturating_sub(index.capacity() - index.len()));
            let bytes = bytes.min(self.budget / 4 * 3);
            data.reserve_exact(bytes.saturating_sub(data.capacity() - data.len()));
        }
    }

    /// About the bytes the buffer's records take in a spill.
    fn held_bytes(&self) -> usize {
        match &self.store {
            Store::Sorting { data, index } => data.len() + index.len() * 3,
            Store::Combining { table, .. } => table.bytes(),
        }
    }

    /// Writes everything buffered as one spill file (a run per partition).
    fn spill(&mut self) -> Result<()> {
        let mut w = RunWriter::create(&self.spill_dir)?;
        w.expect_bytes(self.held_bytes() as u64);
        self.spill_into(w)
    }

    /// Sorts, combines and writes the buffer's records with `w`, a segment
    /// per partition, and keeps the runs.
    fn spill_into(&mut self, mut w: RunWriter) -> Result<()> {
        // A spill of a large buffer takes a while: look for a stop request
        // every few thousand records.
        let mut since_check = 0u64;
        let mut check = |records: u64| {
            since_check += records;
            if since_check >= CHECK_EVERY {
                since_check = 0;
                crate::cancel::check()?;
            }
            Ok::<(), Error>(())
        };
        let mut runs_now: Vec<Option<Run>> = vec![None; self.partitions];
        match &mut self.store {
            Store::Sorting { data, index } => {
                let d = &*data;
                let key = |e: &Entry| e.key(d);
                let skey = |e: &Entry| e.skey(d);
                let value = |e: &Entry| e.value(d);
                sort_index(index, d);
                let mut rest = &index[..];
                for (p, slot) in runs_now.iter_mut().enumerate() {
                    let (mine, tail) =
                        rest.split_at(rest.partition_point(|e| e.part as usize == p));
                    rest = tail;
                    let same = |a: &Entry, b: &Entry| {
                        a.prefix == b.prefix && a.klen == b.klen && key(a) == key(b)
                    };
                    for group in mine.chunk_by(same) {
                        check(group.len() as u64)?;
                        let k = key(&group[0]);
                        let Some(c) = self.combiner.as_deref_mut().filter(|_| group.len() > 1)
                        else {
                            for e in group {
                                w.write(k, skey(e), value(e))?;
                            }
                            continue;
                        };
                        let sort_values = self.sort_values;
                        let sk = &mut self.sort_key;
                        let mut written = 0u64;
                        let mut sink = KeyChecked {
                            step: self.step,
                            key: k,
                            write: |v: &[u8]| {
                                sk.clear();
                                if sort_values {
                                    sortable_value(v, sk).map_err(|e| {
                                        Error::Internal(format!("combiner output is not JSON: {e}"))
                                    })?;
                                }
                                written += 1;
                                w.write(k, sk, v)
                            },
                        };
                        self.stats.combine_input_records += group.len() as u64;
                        let vals = group.iter().map(value);
                        run_combiner(self.step, c, k, vals, &mut sink, &mut self.counters)?;
                        self.stats.combine_output_records += written;
                    }
                    *slot = Some(w.end_segment());
                }
                data.clear();
                index.clear();
            }
            Store::Combining { table, pushed } => {
                let parts = self.partitions;
                let mut entries: Vec<SpillEntry> = (0..table.len() as GroupId)
                    .map(|g| {
                        let k = table.key(g);
                        (partition_of(k, parts, false), key_prefix16(k), g)
                    })
                    .collect();
                let t = &*table;
                entries.sort_unstable_by(|a, b| {
                    (a.0, a.1)
                        .cmp(&(b.0, b.1))
                        .then_with(|| t.key(a.2).cmp(t.key(b.2)))
                });
                let combiner = self
                    .combiner
                    .as_deref_mut()
                    .ok_or_else(|| Error::Internal("combining buffer without a combiner".into()))?;
                let mut it = entries.into_iter().peekable();
                for (p, slot) in runs_now.iter_mut().enumerate() {
                    while let Some((_, _, g)) = it.next_if(|e| e.0 == p) {
                        let k = table.key(g);
                        let (mut values, count) = table.values(g);
                        check(u64::from(count))?;
                        if count > 1 {
                            combine_values(
                                self.step,
                                combiner,
                                k,
                                values,
                                count,
                                &mut self.combine_scratch,
                                &mut self.counters,
                                &mut self.stats,
                            )?;
                            values = &self.combine_scratch;
                        }
                        for v in GroupValues(values) {
                            w.write(k, &[], v)?;
                        }
                    }
                    *slot = Some(w.end_segment());
                }
                table.clear();
                // The check of distinct keys looks at the table's records.
                *pushed = 0;
            }
        }
        let bytes = w.finish()?;
        self.stats.runs += 1;
        self.stats.spilled_bytes += bytes;
        let runs: Vec<Option<Run>> = runs_now
            .into_iter()
            .map(|r| r.filter(|r| r.records > 0))
            .collect();
        self.stats.spilled_records += runs.iter().flatten().map(|r| r.records).sum::<u64>();
        self.files.push(SpillFile { level: 0, runs });
        self.compact()
    }
}

impl RecordSink for SortBuffer {
    fn push(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.stats.map_output_records += 1;
        self.stats.map_output_bytes += (key.len() + value.len() + 2) as u64;
        match self.store {
            Store::Sorting { .. } => self.push_sorting(key, value),
            Store::Combining { .. } => self.push_combining(key, value),
        }
    }
}

/// Makes room for `extra` more items in `v`: doubles its capacity (at least
/// [`FIRST_RESERVE_BYTES`] worth), stopping at `cap` items, its share of the
/// budget. Past its share (the other of arena and index used less than
/// theirs) it doubles again: growing by what one push needs would copy the
/// whole vector at every push.
///
/// Past [`JUMP_AFTER_BYTES`] it grows at once to [`MAPPED_BYTES`] (within
/// `cap`): a block that large gets pages of its own from the system, given
/// back when it is freed. Doubling through the sizes between would leave
/// each freed step in the C allocator's heap, which keeps such memory once
/// its threshold for own pages has risen (to 32 MiB at most): tens of MB
/// per thread that the next step's buffers came on top of. Past its share
/// it only doubles: the jump took 33 MiB of address space for a share of a
/// few, per task, and under `ulimit -v` with 8 threads the run aborted
/// (probe /tmp/probe14-fs repro 01).
pub(super) fn grow_within<T>(v: &mut Vec<T>, extra: usize, cap: usize) {
    if v.capacity() - v.len() >= extra {
        return;
    }
    let size = std::mem::size_of::<T>().max(1);
    let need = v.len() + extra;
    let first = FIRST_RESERVE_BYTES / size;
    let doubled = (v.capacity() * 2).max(first);
    let target = if need <= cap {
        let jumped = if doubled * size > JUMP_AFTER_BYTES {
            doubled.max(MAPPED_BYTES / size)
        } else {
            doubled
        };
        jumped.min(cap)
    } else {
        doubled
    }
    .max(need);
    v.reserve_exact(target - v.len());
}

/// Runs the combiner over one key's `count` values (each length-prefixed)
/// into `out` (the same form); returns how many values it wrote.
#[allow(clippy::too_many_arguments)]
fn combine_values(
    step: usize,
    combiner: &mut dyn ReduceFn,
    key: &[u8],
    values: &[u8],
    count: u32,
    out: &mut Vec<u8>,
    counters: &mut Counters,
    stats: &mut TaskStats,
) -> Result<u32> {
    out.clear();
    let mut written = 0u32;
    {
        let mut sink = KeyChecked {
            step,
            key,
            write: |v: &[u8]| {
                out.extend_from_slice(&(v.len() as u32).to_le_bytes());
                out.extend_from_slice(v);
                written += 1;
                Ok(())
            },
        };
        stats.combine_input_records += u64::from(count);
        run_combiner(
            step,
            combiner,
            key,
            GroupValues(values),
            &mut sink,
            counters,
        )?;
    }
    stats.combine_output_records += u64::from(written);
    Ok(written)
}

/// Runs a combiner over one key's values, turning its errors into the
/// engine's (a combiner error is never skipped: it is a bug in the job).
pub(crate) fn run_combiner<'v>(
    step: usize,
    combiner: &mut dyn ReduceFn,
    key: &[u8],
    values: impl Iterator<Item = &'v [u8]>,
    sink: &mut dyn RecordSink,
    counters: &mut Counters,
) -> Result<()> {
    let mut stream = crate::job::SliceValues(values);
    let vs: &mut dyn ValueStream = &mut stream;
    match combiner.reduce(key, vs, sink, counters) {
        Ok(()) => Ok(()),
        Err(RecordError::Fatal(e)) => Err(e),
        Err(RecordError::Decode(m) | RecordError::Job(m) | RecordError::Unskippable(m)) => {
            Err(Error::BadRecord {
                location: Box::new(Location::Key {
                    step,
                    key: snippet(key),
                }),
                reason: format!("combiner failed: {m}"),
                snippet: snippet(key),
            })
        }
    }
}

/// A sink that accepts only records with the given key.
struct KeyChecked<'k, F> {
    step: usize,
    key: &'k [u8],
    write: F,
}

impl<F: FnMut(&[u8]) -> Result<()>> RecordSink for KeyChecked<'_, F> {
    fn push(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        if key != self.key {
            return Err(Error::BadRecord {
                location: Box::new(Location::Key {
                    step: self.step,
                    key: snippet(self.key),
                }),
                reason: format!(
                    "the combiner emitted key {} for key {}: a combiner must emit only the key it was given",
                    snippet(key),
                    snippet(self.key)
                ),
                snippet: snippet(value),
            });
        }
        (self.write)(value)
    }
}

#[cfg(test)]
mod tests {
    use super::{SortBuffer, common_len, key_prefix};
    use proptest::prelude::*;

    /// Keys that share long beginnings (as URLs do), some a beginning of
    /// another, with zero bytes.
    fn keys_alike() -> impl Strategy<Value = Vec<Vec<u8>>> {
        let tail = prop::collection::vec(
            prop_oneof![Just(0u8), Just(b'/'), Just(b'z'), any::<u8>()],
            0..12,
        );
        (
            prop::collection::vec(any::<u8>(), 0..20),
            prop::collection::vec((tail, any::<bool>()), 1..80),
        )
            .prop_map(|(head, tails)| {
                tails
                    .into_iter()
                    .map(|(t, odd)| if odd { t } else { [&head[..], &t[..]].concat() })
                    .collect()
            })
    }

    /// Growth doubles, stops at the share, and doubles again past it: a
    /// push never copies the vector more than a doubling would.
    #[test]
    fn buffers_grow_by_doubling_within_and_past_their_share() {
        let mut v: Vec<u64> = Vec::new();
        let mut reallocations = 0;
        for i in 0..100_000u64 {
            let before = v.capacity();
            super::grow_within(&mut v, 1, 20_000);
            reallocations += usize::from(v.capacity() != before);
            v.push(i);
            if v.len() <= 20_000 {
                assert!(v.capacity() <= 20_000, "{} past the share", v.capacity());
            }
        }
        assert!(reallocations < 20, "{reallocations} reallocations");
    }

    /// Past 1 MiB a buffer grows at once to its own pages' size (33 MiB),
    /// within its share; a share below that is still kept.
    #[test]
    fn buffers_past_a_mib_grow_at_once_to_a_mapped_block() {
        let mut v: Vec<u8> = Vec::new();
        let mut sizes = Vec::new();
        while v.len() < super::MAPPED_BYTES + 1 {
            super::grow_within(&mut v, 4096, 1 << 30);
            if sizes.last() != Some(&v.capacity()) {
                sizes.push(v.capacity());
            }
            v.extend_from_slice(&[0; 4096]);
        }
        assert_eq!(
            sizes[..5],
            [64 << 10, 128 << 10, 256 << 10, 512 << 10, 1 << 20]
        );
        assert_eq!(sizes[5], super::MAPPED_BYTES, "{sizes:?}");
        assert_eq!(sizes[6], 2 * super::MAPPED_BYTES, "{sizes:?}");

        // Past a share of 2 MiB (the other of arena and index used less),
        // it doubles from where it is, not to 33 MiB.
        let mut past: Vec<u8> = Vec::new();
        while past.len() < 3 << 20 {
            super::grow_within(&mut past, 4096, 2 << 20);
            past.extend_from_slice(&[0; 4096]);
            assert!(
                past.capacity() <= 4 << 20,
                "{} past the share",
                past.capacity()
            );
        }

        let mut small: Vec<u8> = Vec::new();
        while small.len() < 8 << 20 {
            super::grow_within(&mut small, 4096, 8 << 20);
            small.extend_from_slice(&[0; 4096]);
            assert!(
                small.capacity() <= 8 << 20,
                "{} past the share",
                small.capacity()
            );
        }
    }

    /// A task's only spill stays in memory when small; once a task has
    /// spilled to a file, its last spill goes to a file too (a task's runs
    /// are then merged from files, as before).
    #[test]
    fn a_small_tasks_only_spill_stays_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let spilled = |budget: usize, records: usize| {
            let mut buf = SortBuffer::new(0, 2, budget, false, None, true, dir.path().into());
            for i in 0..records {
                let key = format!("key-{i:04}");
                crate::emit::RecordSink::push(&mut buf, key.as_bytes(), b"1").unwrap();
            }
            let (runs, stats, _) = buf.finish().unwrap();
            let runs: Vec<_> = runs.into_iter().flatten().collect();
            let read: usize = runs
                .iter()
                .map(|r| {
                    let mut rd = r.open().unwrap();
                    std::iter::from_fn(|| rd.advance().unwrap().then_some(())).count()
                })
                .sum();
            assert_eq!(read, records);
            (
                runs.iter().map(|r| r.in_memory()).collect::<Vec<_>>(),
                stats.runs,
            )
        };
        assert_eq!(spilled(1 << 20, 100), (vec![true, true], 1));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let (memory, runs) = spilled(2000, 300);
        assert!(runs > 2 && memory.iter().all(|m| !m), "{runs} {memory:?}");
    }

    /// A 64 MiB buffer for `step`'s map output, combining with its combiner.
    fn combining_buffer(
        step: &crate::Step,
        partitions: usize,
        dir: &std::path::Path,
    ) -> SortBuffer {
        SortBuffer::new(
            0,
            partitions,
            64 << 20,
            false,
            step.new_combiner(),
            false,
            dir.into(),
        )
    }

    /// A task whose spills leave many runs (many partitions, a small
    /// buffer) ends with them merged into one file: a run per partition
    /// kept to the reduce, not one per spill and partition (probe
    /// /tmp/probe7-scale repro 05), with the same records in each
    /// partition, in order. Few runs are left as they are.
    #[test]
    fn a_task_with_many_runs_ends_with_one_per_partition() {
        let dir = tempfile::tempdir().unwrap();
        let finish = |partitions: usize, records: u64| {
            let mut buf =
                SortBuffer::new(0, partitions, 4096, false, None, false, dir.path().into())
                    .with_fan_in(4);
            buf.max_task_runs = 4096;
            for i in 0..records {
                let key = format!("\"key-{:06}\"", i * 7919 % 5000);
                crate::emit::RecordSink::push(&mut buf, key.as_bytes(), i.to_string().as_bytes())
                    .unwrap();
            }
            let (runs, stats, _) = buf.finish().unwrap();
            (runs, stats)
        };
        let (runs, stats) = finish(1000, 20_000);
        assert!(stats.runs > 50, "{} spills", stats.runs);
        assert!(
            runs.iter().all(|p| p.len() <= 1),
            "more than a run in a partition"
        );
        // Each partition's records sorted by key, a key's values in the
        // order pushed.
        for p in &runs {
            let got = u64_records(std::slice::from_ref(p));
            let mut want = got.clone();
            want.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(got, want);
        }
        let mut all = u64_records(&runs);
        all.sort();
        let mut want: Vec<(Vec<u8>, u64)> = (0..20_000u64)
            .map(|i| (format!("\"key-{:06}\"", i * 7919 % 5000).into_bytes(), i))
            .collect();
        want.sort();
        assert_eq!(all, want);
        // Two partitions: the compacted files' few runs are kept.
        let (runs, _) = finish(2, 20_000);
        assert!(runs.iter().any(|p| p.len() > 1));
    }

    /// The records of `runs`, each value read as a `u64`.
    fn u64_records(runs: &[Vec<super::Run>]) -> Vec<(Vec<u8>, u64)> {
        let mut out = Vec::new();
        for run in runs.iter().flatten() {
            let mut r = run.open().unwrap();
            while r.advance().unwrap() {
                let v = std::str::from_utf8(&r.value).unwrap().parse().unwrap();
                out.push((r.key.clone(), v));
            }
        }
        out
    }

    /// A combining buffer whose keys hardly repeat turns to sorting at
    /// [`DISTINCT_CHECK`] records (a probe's 40 MB of distinct words took
    /// 3x the CPU and 1.9x the sort buffer's memory in the table: probe
    /// /tmp/probe-cliff repro 01); its runs hold the same sums. Keys that
    /// repeat keep the table.
    #[test]
    fn distinct_keys_turn_a_combining_buffer_to_sorting_with_the_same_sums() {
        use crate::reducers::Sum;
        let step = crate::Step::map(crate::IdentityMapper::<String, u64>::new())
            .combine(Sum::new())
            .reduce(Sum::new());
        let dir = tempfile::tempdir().unwrap();
        let sums = |pushes: &[(String, u64)], switched: bool| {
            let mut buf = combining_buffer(&step, 2, dir.path());
            for (k, v) in pushes {
                crate::emit::RecordSink::push(&mut buf, k.as_bytes(), v.to_string().as_bytes())
                    .unwrap();
            }
            assert_eq!(matches!(buf.store, super::Store::Sorting { .. }), switched);
            let (runs, stats, _) = buf.finish().unwrap();
            let mut sums = std::collections::BTreeMap::<Vec<u8>, u64>::new();
            for (k, v) in u64_records(&runs) {
                *sums.entry(k).or_default() += v;
            }
            (sums, stats)
        };
        let n = super::DISTINCT_CHECK as usize + 1000;
        let key = |i: usize| format!("\"k{i:07}\"");
        // Distinct, then the first thousand again: switched, summed at the spill.
        let mut pushes: Vec<(String, u64)> = (0..n).map(|i| (key(i), 1)).collect();
        pushes.extend((0..1000).map(|i| (key(i), 2)));
        let (got, stats) = sums(&pushes, true);
        assert_eq!(got.len(), n);
        assert!((0..n).all(|i| got[key(i).as_bytes()] == if i < 1000 { 3 } else { 1 }));
        assert_eq!(
            stats.combine_input_records - stats.combine_output_records,
            1000
        );
        // Each key twice in a row: half distinct, the table kept.
        let twice: Vec<(String, u64)> = (0..n).flat_map(|i| [(key(i), 1), (key(i), 1)]).collect();
        let (got, _) = sums(&twice, false);
        assert!(got.len() == n && got.values().all(|&v| v == 2));
    }

    /// A combiner that keeps every value it is given (as one that keeps each
    /// distinct visitor of a page does): a key's values are combined a few
    /// times each, not each time one more comes (5,000 values were
    /// 12.5 million values through the combiner), and all are kept.
    #[test]
    fn a_combiner_that_keeps_its_values_is_not_run_per_value() {
        #[derive(Clone)]
        struct KeepAll;
        impl crate::Reducer for KeepAll {
            type Key = String;
            type Value = u64;
            type OutKey = String;
            type OutValue = u64;
            fn reduce(
                &mut self,
                key: String,
                values: crate::Values<'_, u64>,
                out: &mut crate::Emitter<String, u64>,
            ) -> std::result::Result<(), crate::JobError> {
                for v in values {
                    out.emit(&key, v)?;
                }
                Ok(())
            }
        }
        let step = crate::Step::map(crate::IdentityMapper::<String, u64>::new())
            .combine(KeepAll)
            .reduce(KeepAll);
        let dir = tempfile::tempdir().unwrap();
        let mut buf = combining_buffer(&step, 1, dir.path());
        let n = 5_000u64;
        for v in 0..n {
            crate::emit::RecordSink::push(&mut buf, b"\"page\"", v.to_string().as_bytes()).unwrap();
        }
        let (runs, stats, _) = buf.finish().unwrap();
        assert!(
            stats.combine_input_records < 4 * n,
            "{} values through the combiner for {n}",
            stats.combine_input_records
        );
        let mut got: Vec<u64> = u64_records(&runs).into_iter().map(|(_, v)| v).collect();
        got.sort_unstable();
        assert_eq!(got, (0..n).collect::<Vec<_>>());
    }

    proptest! {
        #[test]
        fn common_len_counts_the_shared_beginning(
            head in prop::collection::vec(any::<u8>(), 0..40),
            a in prop::collection::vec(any::<u8>(), 0..20),
            b in prop::collection::vec(any::<u8>(), 0..20),
        ) {
            let (x, y) = ([&head[..], &a[..]].concat(), [&head[..], &b[..]].concat());
            let want = x.iter().zip(&y).take_while(|(p, q)| p == q).count();
            prop_assert_eq!(common_len(&x, &y), want);
            prop_assert_eq!(common_len(&y, &x), want);
        }

        /// Spilled runs hold every record, in key order, whatever the keys
        /// share (the sort's prefixes are taken after the shared bytes), in
        /// one spill or in many.
        #[test]
        fn runs_are_sorted_when_keys_start_alike(
            keys in keys_alike(),
            partitions in 1usize..3,
            budget in prop_oneof![Just(1usize << 20), 200usize..2000],
            sort_values in any::<bool>(),
        ) {
            let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
            let mut buf = SortBuffer::new(0, partitions, budget, sort_values, None, true, dir.path().into());
            // Values in descending order: sorted values must come out rising.
            for (i, k) in keys.iter().enumerate() {
                let v = (keys.len() - i).to_string();
                crate::emit::RecordSink::push(&mut buf, k, v.as_bytes())
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
            }
            let (runs, _, _) = buf.finish().map_err(|e| TestCaseError::fail(e.to_string()))?;
            let mut seen = Vec::new();
            for (p, part) in runs.iter().enumerate() {
                let mut records = Vec::new();
                for run in part {
                    let mut r = run.open().map_err(|e| TestCaseError::fail(e.to_string()))?;
                    let mut last: Option<(Vec<u8>, Vec<u8>)> = None;
                    while r.advance().map_err(|e| TestCaseError::fail(e.to_string()))? {
                        let now = (r.key.clone(), r.sort_key.clone());
                        if let Some(l) = &last {
                            prop_assert!(l <= &now, "{:?} before {:?}", l, now);
                        }
                        last = Some(now);
                        seen.push(r.key.clone());
                        records.push((r.key.clone(), r.value.clone()));
                    }
                }
                // One run: exactly a stable sort of the partition's records
                // (equal keys keep the order they came in, unless values
                // are sorted: then they rise).
                if part.len() == 1 {
                    let mut want: Vec<(Vec<u8>, Vec<u8>)> = keys
                        .iter()
                        .enumerate()
                        .filter(|(_, k)| super::partition_of(k, partitions, sort_values) == p)
                        .map(|(i, k)| (k.clone(), (keys.len() - i).to_string().into_bytes()))
                        .collect();
                    if sort_values {
                        want.sort_by_key(|(k, v)| (k.clone(), String::from_utf8_lossy(v).parse::<usize>().unwrap_or(0)));
                    } else {
                        want.sort_by(|a, b| a.0.cmp(&b.0));
                    }
                    prop_assert_eq!(&records, &want);
                }
            }
            let mut want = keys.clone();
            want.sort();
            seen.sort();
            prop_assert_eq!(seen, want);
        }

        /// Keys that share a long beginning but for a few, which part from
        /// it early and anywhere in the run (the guess of the shared
        /// bytes, from a sample, is then too long for the keys before
        /// them): sorted exactly as a stable sort of the keys and their
        /// sort keys would, equal keys with equal prefixes.
        #[test]
        fn sort_index_is_a_stable_sort_when_few_keys_part_early(
            head in prop::collection::vec(prop_oneof![Just(b'/'), any::<u8>()], 8..40),
            tails in prop::collection::vec(
                (prop::collection::vec(prop_oneof![Just(b'a'), Just(0u8), any::<u8>()], 0..6),
                 prop::option::weighted(0.05, (8usize..40, any::<u8>()))),
                2..300),
        ) {
            let keys: Vec<Vec<u8>> = tails
                .iter()
                .map(|(t, part)| {
                    let mut k = [&head[..], &t[..]].concat();
                    if let Some((at, b)) = *part {
                        let at = at.min(k.len() - 1);
                        k[at] = b;
                        k.truncate(at + 1 + t.len() % 3);
                    }
                    k
                })
                .collect();
            let mut data = Vec::new();
            let mut index = Vec::new();
            for (i, k) in keys.iter().enumerate() {
                let off = data.len();
                data.extend_from_slice(k);
                data.push((i % 3) as u8); // a sort key
                index.push(super::Entry { off, prefix: key_prefix(k), part: 0,
                    klen: k.len() as u32, slen: 1, vlen: 0 });
            }
            super::sort_index(&mut index, &data);
            let got: Vec<(&[u8], &[u8], usize)> =
                index.iter().map(|e| (e.key(&data), e.skey(&data), e.off)).collect();
            let mut want = got.clone();
            want.sort_by_key(|&(k, s, off)| (k, s, off));
            prop_assert_eq!(&got, &want);
            for w in index.windows(2) {
                if w[0].key(&data) == w[1].key(&data) {
                    prop_assert_eq!(w[0].prefix, w[1].prefix);
                }
            }
        }

        /// The sort compares prefixes first: where they differ they must
        /// order the keys as their bytes do (short keys, zero bytes and
        /// shared beginnings included).
        #[test]
        fn prefixes_that_differ_order_keys_as_bytes_do(
            a in prop::collection::vec(prop_oneof![Just(0u8), Just(b'"'), Just(b'a'), any::<u8>()], 0..12),
            b in prop::collection::vec(prop_oneof![Just(0u8), Just(b'"'), Just(b'a'), any::<u8>()], 0..12),
        ) {
            for (x, y) in [(&a, &b), (&a, &a[..a.len() / 2].to_vec())] {
                let (px, py) = (key_prefix(x), key_prefix(y));
                if px != py {
                    prop_assert_eq!(px.cmp(&py), x.cmp(y));
                } else {
                    prop_assert_eq!(x[..x.len().min(8)].iter().rev().skip_while(|&&c| c == 0).count(),
                                    y[..y.len().min(8)].iter().rev().skip_while(|&&c| c == 0).count());
                }
            }
        }
    }
}
