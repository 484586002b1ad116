//! The aggregator form of a step: fold each key's values into an accumulator,
//! merge accumulators, finish.
//!
//! ```text
//! map task:  mapper ─emit(k, v)─▶ table[k] = accumulate(table[k] or init(), v)
//!                                   └─ table full / task end ─▶ (k, acc) records
//! shuffle:   (k, acc) records, merged by the combiner: merge(acc, acc)
//! reduce:    merge every acc of k ─▶ finish(k, acc) ─▶ output (k, out)
//! ```
//!
//! This is the fast path for counting-like jobs: values never reach the sort
//! buffer one by one; only one accumulator per key and per table flush is
//! shuffled. The accumulator may differ from the value and from the output
//! (a mean's accumulator is `(sum, count)`, its output `sum / count`).
//!
//! # Laws
//!
//! `merge` must be associative and commutative, and `init()` its identity
//! (merging with a fresh accumulator changes nothing); `accumulate(acc, v)`
//! must equal merging `acc` with a fresh accumulator that took `v`. Then the
//! result cannot depend on how the input was split, buffered or partitioned.

use crate::Emitter;
use crate::counters::Counters;
use crate::emit::{EmitBuffers, RecordSink, Target, ValueFolder};
use crate::error::{Error, JobError};
use crate::job::{
    MapFn, Mapper, RecordError, Reducer, TaskContext, Values, decode_input, guarded_init,
    job_result,
};
use crate::panics::catch;
use crate::staged::{Holding, Next};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Folds a key's values into an accumulator.
///
/// ```
/// use mr_core::Fold;
/// /// The mean of each key's values: accumulator (sum, count).
/// #[derive(Clone)]
/// struct Mean;
/// impl Fold for Mean {
///     type Key = String;
///     type Value = f64;
///     type Acc = (f64, u64);
///     type Out = f64;
///     fn init(&self) -> (f64, u64) { (0.0, 0) }
///     fn accumulate(&self, acc: &mut (f64, u64), v: f64) { acc.0 += v; acc.1 += 1; }
///     fn merge(&self, acc: &mut (f64, u64), other: (f64, u64)) { acc.0 += other.0; acc.1 += other.1; }
///     fn finish(&self, _key: &String, acc: (f64, u64)) -> f64 { acc.0 / acc.1 as f64 }
/// }
/// // In a job: Step::map(MyMapper).fold(Mean)
/// ```
pub trait Fold: Clone + Send + Sync + 'static {
    /// The key (the mapper's output key).
    type Key: Serialize + DeserializeOwned + Send + 'static;
    /// The value folded in (the mapper's output value).
    type Value: Serialize + DeserializeOwned + Send + 'static;
    /// The per-key accumulator: what is shuffled.
    type Acc: Serialize + DeserializeOwned + Send + 'static;
    /// The output value.
    type Out: Serialize + Send + 'static;

    /// A fresh accumulator (the identity of `merge`).
    fn init(&self) -> Self::Acc;
    /// Folds one value in.
    fn accumulate(&self, acc: &mut Self::Acc, value: Self::Value);
    /// Merges another accumulator in (associative and commutative), and in
    /// agreement with [`accumulate`](Self::accumulate): values folded into
    /// two accumulators then merged must finish as the same values folded
    /// into one (the engine folds each chunk of the input apart); test it
    /// with [`crate::laws::check_fold`].
    fn merge(&self, acc: &mut Self::Acc, other: Self::Acc);
    /// The output for a key from its final accumulator.
    fn finish(&self, key: &Self::Key, acc: Self::Acc) -> Self::Out;

    /// [`finish`](Self::finish), or an error for this key: the engine calls
    /// this one. By default it cannot fail; [`Count`] fails on overflow.
    fn try_finish(&self, key: &Self::Key, acc: Self::Acc) -> Result<Self::Out, JobError> {
        Ok(self.finish(key, acc))
    }

    /// Whether a key's finished result is written: `false` leaves the key
    /// out of the step's output, as an mrjob reducer that yields nothing
    /// for it (a threshold on the total, a filter on the key). Asked once
    /// per key, after every accumulator of the key is merged and finished,
    /// so the laws of `merge` are untouched. By default every key is kept.
    ///
    /// ```
    /// use mr_core::{fold::Count, Fold};
    /// /// Counts, keeping the keys seen at least ten times.
    /// #[derive(Clone)]
    /// struct Frequent(Count<String>);
    /// impl Fold for Frequent {
    ///     type Key = String;
    ///     type Value = u64;
    ///     type Acc = u64;
    ///     type Out = u64;
    ///     fn init(&self) -> u64 { 0 }
    ///     fn accumulate(&self, acc: &mut u64, v: u64) { self.0.accumulate(acc, v) }
    ///     fn merge(&self, acc: &mut u64, other: u64) { self.0.merge(acc, other) }
    ///     fn finish(&self, key: &String, acc: u64) -> u64 { self.0.finish(key, acc) }
    ///     // Count's overflow check, kept.
    ///     fn try_finish(&self, key: &String, acc: u64) -> Result<u64, mr_core::JobError> {
    ///         self.0.try_finish(key, acc)
    ///     }
    ///     fn keep(&self, _key: &String, total: &u64) -> bool { *total >= 10 }
    /// }
    /// let f = Frequent(Count::new());
    /// assert!(f.keep(&"/home".to_string(), &12));
    /// assert!(!f.keep(&"/rare".to_string(), &3));
    /// ```
    fn keep(&self, key: &Self::Key, out: &Self::Out) -> bool {
        let _ = (key, out);
        true
    }
}

/// Counts values: the fold behind counting jobs (`acc = count`).
///
/// ```
/// use mr_core::{fold::Count, Fold};
/// let c: Count<String> = Count::new();
/// let mut acc = c.init();
/// c.accumulate(&mut acc, 2);
/// c.merge(&mut acc, 3);
/// assert_eq!(c.finish(&"k".to_string(), acc), 5);
/// ```
pub struct Count<K>(std::marker::PhantomData<fn(K)>);

impl<K> Count<K> {
    /// The counting fold: sums `u64` values.
    pub fn new() -> Self {
        Count(std::marker::PhantomData)
    }
}

impl<K> Default for Count<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K> Clone for Count<K> {
    fn clone(&self) -> Self {
        Self::new()
    }
}

impl<K: Serialize + DeserializeOwned + Send + 'static> Fold for Count<K> {
    type Key = K;
    type Value = u64;
    type Acc = u64;
    type Out = u64;
    fn init(&self) -> u64 {
        0
    }
    fn accumulate(&self, acc: &mut u64, value: u64) {
        *acc = acc.saturating_add(value);
    }
    fn merge(&self, acc: &mut u64, other: u64) {
        *acc = acc.saturating_add(other);
    }
    fn finish(&self, _key: &K, acc: u64) -> u64 {
        acc
    }
    /// A count that reached `u64::MAX` has overflowed (the additions
    /// saturate there): an error naming the key, as [`Sum`](crate::reducers::Sum) gives.
    fn try_finish(&self, key: &K, acc: u64) -> Result<u64, JobError> {
        if acc == u64::MAX {
            return Err(crate::reducers::overflow_error(key));
        }
        Ok(acc)
    }
}

/// Sums `f64` values exactly, as Python's `math.fsum`: the result is the
/// true sum rounded once, so it does not depend on how the input was split,
/// folded or merged (a plain `+=` of floats does, in its last bits).
///
/// The accumulator is the exact sum as a short list of non-overlapping
/// floats (Shewchuk's partials; rarely more than a few), `null` once a value
/// or an intermediate sum is not finite: that key's result is then an
/// error, never a silent `inf`.
///
/// ```
/// use mr_core::{fold::FloatSum, Fold};
/// let s: FloatSum<String> = FloatSum::new();
/// let (mut a, mut b) = (s.init(), s.init());
/// for v in [0.1, 0.2] { s.accumulate(&mut a, v) }
/// s.accumulate(&mut b, 0.3);
/// s.merge(&mut a, b);
/// // 0.1 + 0.2 + 0.3 is 0.6000000000000001 in floats; the exact sum rounds to 0.6.
/// assert_eq!(s.finish(&"k".to_string(), a), 0.6);
///
/// // Total seconds watched per video, as a fold step: its laws hold on any
/// // floats (a `+=` accumulator fails them on a sample like this one).
/// use mr_core::{laws, IdentityMapper, Step};
/// use proptest::prelude::*;
/// let step = Step::map(IdentityMapper::<String, f64>::new()).fold(FloatSum::new());
/// let records = prop::collection::vec(("[a-c]", -1e9f64..1e9), 1..20);
/// assert!(laws::check_step(&step, records).is_ok());
/// ```
pub struct FloatSum<K>(std::marker::PhantomData<fn(K)>);

impl<K> FloatSum<K> {
    /// The exact float sum.
    pub fn new() -> Self {
        FloatSum(std::marker::PhantomData)
    }
}

impl<K> Default for FloatSum<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K> Clone for FloatSum<K> {
    fn clone(&self) -> Self {
        Self::new()
    }
}

impl<K: Serialize + DeserializeOwned + Send + 'static> Fold for FloatSum<K> {
    type Key = K;
    type Value = f64;
    /// The partials, or `None` once the sum is not finite.
    type Acc = Option<Vec<f64>>;
    type Out = f64;
    fn init(&self) -> Option<Vec<f64>> {
        Some(Vec::new())
    }
    fn accumulate(&self, acc: &mut Option<Vec<f64>>, value: f64) {
        if let Some(p) = acc
            && !add_exact(p, value)
        {
            *acc = None;
        }
    }
    fn merge(&self, acc: &mut Option<Vec<f64>>, other: Option<Vec<f64>>) {
        match other {
            Some(o) => o.into_iter().for_each(|v| self.accumulate(acc, v)),
            None => *acc = None,
        }
    }
    /// The sum, rounded once (half to even); `NaN` when it is not finite
    /// (the engine calls [`try_finish`](Fold::try_finish), an error then).
    fn finish(&self, _key: &K, acc: Option<Vec<f64>>) -> f64 {
        acc.map_or(f64::NAN, |p| round_partials(&p))
    }
    fn try_finish(&self, key: &K, acc: Option<Vec<f64>>) -> Result<f64, JobError> {
        let sum = self.finish(key, acc);
        if sum.is_finite() {
            return Ok(sum);
        }
        Err(JobError::msg(format!(
            "the float sum of key {} is not a finite number: a value was infinite or NaN, \
             or the sum is beyond ±1.8e308",
            crate::reducers::key_text(key)
        )))
    }
}

/// Adds `x` to `p`, an exact sum as non-overlapping floats of increasing
/// magnitude (Shewchuk's `msum`, as in CPython's `math.fsum`); false when
/// `x` or a partial sum is not finite.
fn add_exact(p: &mut Vec<f64>, mut x: f64) -> bool {
    let mut kept = 0;
    for j in 0..p.len() {
        let mut y = p[j];
        if x.abs() < y.abs() {
            std::mem::swap(&mut x, &mut y);
        }
        let hi = x + y;
        let lo = y - (hi - x);
        if lo != 0.0 {
            p[kept] = lo;
            kept += 1;
        }
        x = hi;
    }
    p.truncate(kept);
    p.push(x);
    x.is_finite()
}

/// The sum of the partials `p` (as [`add_exact`] keeps them), rounded
/// once to the nearest float, ties to even (CPython's `math.fsum` ending).
fn round_partials(p: &[f64]) -> f64 {
    let Some((&top, rest)) = p.split_last() else {
        return 0.0;
    };
    let (mut hi, mut lo) = (top, 0.0);
    let mut n = rest.len();
    // From the top down, until the sum becomes inexact.
    while n > 0 {
        let x = hi;
        n -= 1;
        let y = p[n];
        hi = x + y;
        lo = y - (hi - x);
        if lo != 0.0 {
            break;
        }
    }
    // Half-way between two floats by `lo`, and the next partial down
    // pushes the same way: round away from `hi`.
    if n > 0 && ((lo < 0.0 && p[n - 1] < 0.0) || (lo > 0.0 && p[n - 1] > 0.0)) {
        let y = lo * 2.0;
        let x = hi + y;
        if y == x - hi {
            hi = x;
        }
    }
    hi
}

/// A mapper that can write straight into a fold table (kept typed by
/// [`TypedStep`](crate::TypedStep) so that `.fold()` can build one).
pub(crate) trait FoldableMapper<K, V>: Send + Sync {
    fn create_folding(&self, table: Box<dyn FoldTable<V>>) -> Box<dyn MapFn>;
}

/// A map task's table of accumulators, typed by the value it folds in.
pub(crate) trait FoldTable<V>: ValueFolder<V> + CarriedTable {
    fn set_budget(&mut self, bytes: usize);
    fn over_budget(&self) -> bool;
}

/// A fold table as the runner keeps it between the map tasks of one thread,
/// whatever it folds: a task hands its table on unflushed, the next task on
/// the thread folds into it, and what is left is flushed once at the end of
/// the map phase (see [`crate::map_task::Carry`]). With keys that recur
/// across the input (a site's 100k URLs, a text's vocabulary), each thread
/// then sends each key on about once, instead of once per task.
pub(crate) trait CarriedTable: Send {
    /// Writes every accumulator to `sink` and empties the table.
    fn flush(&mut self, sink: &mut dyn RecordSink) -> Result<(), Error>;
    /// Values folded in and accumulators written out so far: the table is
    /// the step's first combiner, so these count as combine input and
    /// output records.
    fn combined(&self) -> (u64, u64);
    /// Accumulators held.
    fn len(&self) -> usize;
    /// About the bytes a flush writes: its keys and accumulators encoded.
    fn flush_bytes(&self) -> usize;
    /// The table, to be told its type by the step that made it.
    fn as_any(&self) -> &dyn std::any::Any;
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any>;
}

/// Flushes `table` into `sink`: the accumulators written.
pub(crate) fn flush_counted(
    table: &mut dyn CarriedTable,
    sink: &mut dyn RecordSink,
) -> Result<u64, Error> {
    let before = table.combined().1;
    table.flush(sink)?;
    Ok(table.combined().1 - before)
}

/// The map side of a fold step: the user's mapper emits into the table.
pub(crate) struct FoldMapFn<M: Mapper> {
    pub mapper: M,
    pub bufs: EmitBuffers,
    pub table: Box<dyn FoldTable<M::Value>>,
    /// Set under `--skip-bad-records`: each call's values, until it
    /// succeeds (see [`crate::staged`]).
    pub staged: Option<crate::staged::Staged<M::Value>>,
    /// The table's [`CarriedTable::combined`] when this mapper got it (a
    /// carried table counts from an earlier task).
    pub base: (u64, u64),
    /// Set by [`MapFn::keep_table`]: `finish` leaves the table full if
    /// carrying it pays (see [`CARRY_RATIO`]).
    pub keep: bool,
}

/// Accumulators a table holds at a task's end, per value the task folded,
/// from which carrying it to the next task pays: below, the keys are few
/// for the values (a vocabulary against a text's words, a site's pages
/// against its visits), the flush costs little, and the task's own table,
/// holding only the keys it met, is the faster to look up (word_count over
/// 250 MB: 3% more CPU carried). Above, flushing is much of the task's work
/// (url_views over 100k distinct URLs: 40k accumulators out of 64k values a
/// task; 12% less CPU carried).
const CARRY_RATIO: f64 = 1.0 / 64.0;

impl<M: Mapper> FoldMapFn<M> {
    /// A mapper folding into `table`, fresh or carried from another task.
    pub fn new(mapper: M, table: Box<dyn FoldTable<M::Value>>) -> Self {
        FoldMapFn {
            mapper,
            bufs: EmitBuffers::default(),
            base: table.combined(),
            table,
            staged: None,
            keep: false,
        }
    }
}

mod keys;
mod slots;

/// One key of an [`AccTable`] and its accumulator: 32 bytes for a count,
/// two to a cache line, none across two (the table is larger than the CPU's
/// caches, and a lookup's time goes mostly to bringing its entry in). The
/// hash is not kept: a short key's comparison is two words and a tag, and
/// growing the table hashes the keys again, which for a short key is one
/// multiplication.
struct Entry<A> {
    key: keys::Key,
    acc: A,
}

pub(crate) struct AccTable<F: Fold> {
    fold: F,
    /// One lookup per emitted value (hash once, compare inline); the key is
    /// copied only when it is new.
    accs: slots::Slots<Entry<F::Acc>>,
    /// About the bytes a flush writes: the encoded keys and each
    /// accumulator's size (see [`CarriedTable::flush_bytes`]).
    out_bytes: usize,
    /// Bytes the table's long keys hold outside it.
    heap: usize,
    budget: usize,
    key: Vec<u8>,
    value: Vec<u8>,
    folded: u64,
    flushed: u64,
    /// `folded` when the table was last emptied.
    folded_at_flush: u64,
    /// Whether the task has looked at how much its table combines yet.
    sampled: bool,
    /// Set once the table is found not to combine (almost every key new):
    /// each value then goes straight out as a one-value accumulator.
    direct: Option<Direct<F::Acc>>,
    /// Short keys and their values whose slots were asked for, waiting to
    /// be looked up in the order they came (see [`BATCH`]).
    batch: Vec<(keys::Short, F::Value)>,
}

/// Short keys a table asks the slots of ([`slots::Slots::prefetch`]) before
/// it looks them up together: a lookup in a table larger than the CPU's
/// caches waits mostly for its slot to come in from memory, and asked for
/// when its key is emitted, the slot is on its way while the mapper reads
/// on (several at once). A record's batch is folded in by the end of its
/// map ([`ValueFolder::fold_pending`], inside the catch that blames a panic
/// on the record), in the order the keys came; a long key folds the batch
/// in before it.
const BATCH: usize = 16;

/// Values a task's table takes in before it looks at how much it combines
/// (once, see [`AccTable::insert_new`]).
const SAMPLE: u64 = 1 << 17;
/// Keys in that sample, per value, above which the table stops combining
/// and the task sends each value on as it comes: keys that seldom repeat (a
/// URL with a session id, an event id) cost a hash table insert, an
/// allocation and a copy each, for little; the reducers combine them all
/// the same. Adaptive partial aggregation, as in Trino and Spark. Measured
/// on 560 MB of url_views lines, 80% of them with a unique URL (a sample
/// ratio of 0.8): 3.0 s of CPU with the table, 2.4 s without; with a sample
/// ratio of 0.83 whose keys repeat more later in the task, no worse.
const DIRECT_RATIO: f64 = 0.8;
/// One-value accumulators on their way out, and their encoded keys (their
/// bytes count against the table's budget: a flush sends them on).
struct Direct<A> {
    keys: Vec<u8>,
    accs: Vec<(usize, A)>,
}

impl<F: Fold> AccTable<F> {
    pub fn new(fold: F) -> Self {
        AccTable {
            folded_at_flush: 0,
            sampled: false,
            direct: None,
            fold,
            accs: slots::Slots::new(),
            batch: Vec::with_capacity(BATCH),
            out_bytes: 0,
            heap: 0,
            budget: 64 << 20, // 64 MiB unless the runner says otherwise
            key: Vec::new(),
            value: Vec::new(),
            folded: 0,
            flushed: 0,
        }
    }
}

impl<F: Fold> FoldTable<F::Value> for AccTable<F> {
    fn set_budget(&mut self, bytes: usize) {
        self.budget = bytes.max(1);
    }

    /// Whether what the table holds in memory ([`AccTable::held_bytes`])
    /// is past its budget.
    fn over_budget(&self) -> bool {
        self.held_bytes() > self.budget
    }
}

impl<F: Fold> AccTable<F> {
    /// What the table holds in memory: its buckets as allocated, its long
    /// keys' bytes and the direct batch; and when it is full, the table
    /// twice its size that its next new key allocates beside it (so it is
    /// flushed rather than grown past its budget).
    ///
    /// A flat 64 bytes an entry was counted before, near what a table
    /// costs just after it grows (a short key's entry is 32 bytes, in a
    /// table 7/16 to 7/8 full): one of 850k keys that holds them in 35 MB
    /// was counted 70 MB, past a task's 64 MiB budget (`--sort-buffer-mb
    /// 256`, 2 threads), so it was flushed and refilled over and over: 6.8M
    /// records to sort for 850k keys, word_count on 100 MB of numbers 4.9 s,
    /// 1.1 s with a budget it fits in (probe /tmp/probe9-shapes repro 04).
    fn held_bytes(&self) -> usize {
        let mut bytes = self.accs.allocated_bytes() + self.heap;
        if self.accs.len() == self.accs.capacity() {
            bytes += self.accs.grown_bytes();
        }
        if let Some(d) = &self.direct {
            bytes += d.keys.len() + d.accs.len() * std::mem::size_of::<(usize, F::Acc)>();
        }
        bytes
    }
}

impl<F: Fold> CarriedTable for AccTable<F> {
    fn len(&self) -> usize {
        self.accs.len() + self.direct.as_ref().map_or(0, |d| d.accs.len()) + self.batch.len()
    }

    fn flush_bytes(&self) -> usize {
        self.out_bytes
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }

    fn flush(&mut self, sink: &mut dyn RecordSink) -> Result<(), Error> {
        // Long keys in the order they were allocated (about the order they
        // came in), not the table's: their bytes are then read one after
        // the other instead of a cache miss each (100k URLs: a fifth of a
        // thread's flush). Short keys first, as the table has them.
        self.fold_pending();
        let mut entries: Vec<Entry<F::Acc>> = self.accs.drain();
        entries.sort_by_key(|e| e.key.address());
        for Entry { key, acc } in entries {
            key.encode_into(&mut self.key);
            push_acc(sink, &self.key, &acc, &mut self.value)?;
            self.flushed += 1;
        }
        if let Some(d) = &mut self.direct {
            let mut start = 0;
            for (end, acc) in d.accs.drain(..) {
                push_acc(sink, &d.keys[start..end], &acc, &mut self.value)?;
                start = end;
                self.flushed += 1;
            }
            d.keys.clear();
            // Direct from now on: no table to probe, or to keep in memory.
            self.accs = slots::Slots::new();
        }
        self.out_bytes = 0;
        self.heap = 0;
        // A table grown past its budget (by one line's many new keys) is
        // given back, or it would be over it, and flushed, at every line.
        if self.accs.allocated_bytes() > self.budget {
            self.accs = slots::Slots::new();
        }
        self.folded_at_flush = self.folded;
        Ok(())
    }

    fn combined(&self) -> (u64, u64) {
        (self.folded, self.flushed)
    }
}

impl<F: Fold> AccTable<F> {
    /// Folds `v` into the accumulator of a key (a string's body or a whole
    /// encoded key): one hash, one probe; the key is copied only when new.
    /// Inlined into its two callers, with the short-key case (most words:
    /// two words and a tag to compare) apart from the long one.
    #[inline(always)]
    fn fold_key(&mut self, body: &[u8], quoted: bool, v: F::Value) {
        self.folded += 1;
        if body.len() <= keys::INLINE {
            let k = keys::Short::new(body, quoted);
            self.accs.prefetch(k.hash);
            self.batch.push((k, v));
            if self.batch.len() == BATCH {
                self.fold_batch();
            }
        } else {
            // After the short keys before it, in the order they came.
            self.fold_pending();
            let k = keys::Lookup::new(body, quoted);
            let encode = |out: &mut Vec<u8>| k.encode_onto(out);
            self.fold_hashed(k.hash, |key| k.matches(key), || k.to_key(), encode, v);
        }
    }

    /// Looks the batch's keys up, in the order they came, and folds their
    /// values in.
    #[inline(never)]
    fn fold_batch(&mut self) {
        let mut batch = std::mem::take(&mut self.batch);
        for (k, v) in batch.drain(..) {
            let encode = |out: &mut Vec<u8>| k.encode_onto(out);
            self.fold_hashed(k.hash, |key| k.matches(key), || k.to_key(), encode, v);
        }
        self.batch = batch;
    }

    /// Folds `v` into the accumulator of the key that hashes to `hash` and
    /// `matches`; `to_key` makes the key when it is new, `encode` appends
    /// the encoded key to a buffer.
    #[inline(always)]
    fn fold_hashed(
        &mut self,
        hash: u64,
        matches: impl Fn(&keys::Key) -> bool,
        to_key: impl FnOnce() -> keys::Key,
        encode: impl FnOnce(&mut Vec<u8>),
        v: F::Value,
    ) {
        match self.accs.find_mut(hash, |e| matches(&e.key)) {
            Some(e) => self.fold.accumulate(&mut e.acc, v),
            None => self.insert_new(hash, to_key, encode, v),
        }
    }

    /// Adds a key that is not in the table yet, with `v` folded in. Once
    /// [`SAMPLE`] values have come in, looks once at how many keys they
    /// made, to go [`Direct`] when the table does not combine: then a new
    /// key's value goes into the direct batch instead, and the table, once
    /// flushed, is dropped (so every key is new). The table's own path, a
    /// key it holds, pays nothing for this.
    #[cold]
    #[inline(never)]
    fn insert_new(
        &mut self,
        hash: u64,
        to_key: impl FnOnce() -> keys::Key,
        encode: impl FnOnce(&mut Vec<u8>),
        v: F::Value,
    ) {
        if !self.sampled {
            let sample = self.folded - self.folded_at_flush;
            if sample >= SAMPLE {
                self.sampled = true;
                if self.accs.len() as f64 > DIRECT_RATIO * sample as f64 {
                    self.direct = Some(Direct {
                        keys: Vec::new(),
                        accs: Vec::new(),
                    });
                }
            }
        }
        if let Some(d) = &mut self.direct {
            let mut acc = self.fold.init();
            self.fold.accumulate(&mut acc, v);
            let start = d.keys.len();
            encode(&mut d.keys);
            d.accs.push((d.keys.len(), acc));
            self.out_bytes += d.keys.len() - start + std::mem::size_of::<(usize, F::Acc)>();
            return;
        }
        let key = to_key();
        let mut acc = self.fold.init();
        self.fold.accumulate(&mut acc, v);
        self.out_bytes += key.encoded_len() + std::mem::size_of::<F::Acc>();
        self.heap += key.heap_bytes();
        self.accs
            .insert_unique(hash, Entry { key, acc }, |e| e.key.hash());
    }
}

/// Encodes `acc` into `value` (emptied first) and pushes it under `key`.
fn push_acc<A: Serialize>(
    sink: &mut dyn RecordSink,
    key: &[u8],
    acc: &A,
    value: &mut Vec<u8>,
) -> Result<(), Error> {
    value.clear();
    serde_json::to_writer(&mut *value, acc)
        .map_err(|e| Error::Internal(format!("accumulator does not encode: {e}")))?;
    sink.push(key, value)
}

impl<F: Fold> ValueFolder<F::Value> for AccTable<F> {
    fn fold_value(&mut self, key: &[u8], v: F::Value) -> Result<(), Error> {
        let (body, quoted) = keys::split_encoded(key);
        self.fold_key(body, quoted, v);
        Ok(())
    }

    /// The word-count path: the string is looked up as it is, not quoted.
    fn fold_str(&mut self, s: &str, v: F::Value) -> Result<(), Error> {
        self.fold_key(s.as_bytes(), true, v);
        Ok(())
    }

    fn fold_pending(&mut self) {
        if !self.batch.is_empty() {
            self.fold_batch();
        }
    }
}

impl<F: Fold> RecordSink for AccTable<F> {
    /// The slow path, for `emit_ref`: the value arrives encoded.
    fn push(&mut self, key: &[u8], value: &[u8]) -> Result<(), Error> {
        let v: F::Value = serde_json::from_slice(value)
            .map_err(|e| Error::Internal(format!("emitted value does not decode: {e}")))?;
        self.fold_value(key, v)
    }
}

/// Maps one line into a fold table: false for a line with no record.
fn fold_into<M: Mapper>(
    mapper: &mut M,
    bufs: &mut EmitBuffers,
    line: &[u8],
    table: &mut dyn ValueFolder<M::Value>,
    counters: &mut Counters,
) -> Result<bool, RecordError> {
    catch(|| {
        let Some(input) = decode_input::<M>(line)? else {
            return Ok(false);
        };
        let mut out = Emitter::with_target(Target::Fold(&mut *table), counters, bufs);
        let r = mapper.map(input, &mut out);
        table.fold_pending();
        job_result(r, bufs).map(|()| true)
    })
    .unwrap_or_else(|p| Err(RecordError::from_panic(p, bufs)))
}

impl<M: Mapper> MapFn for FoldMapFn<M> {
    fn hold_back_output(&mut self) {
        self.staged.get_or_insert_with(Default::default);
    }

    fn init(&mut self, ctx: &TaskContext) -> Result<(), JobError> {
        guarded_init(|| self.mapper.init(ctx))
    }

    fn set_budget(&mut self, bytes: usize) {
        self.table.set_budget(bytes);
    }

    fn map_line(
        &mut self,
        line: &[u8],
        sink: &mut dyn RecordSink,
        counters: &mut Counters,
    ) -> Result<bool, RecordError> {
        let (mapper, bufs) = (&mut self.mapper, &mut self.bufs);
        let mapped = match self.staged.as_mut() {
            None => fold_into(mapper, bufs, line, &mut *self.table, counters),
            Some(staged) => {
                let mut held = Holding::new(staged, Next::Fold(&mut *self.table));
                let r = fold_into(mapper, bufs, line, &mut held, counters);
                // What the call emitted is folded in now, by the job's
                // accumulate: a panic there was a raw crash (probe
                // /tmp/probe11-jobs repro 06). Not skipped: what it folded
                // before it panicked is in the table.
                catch(|| crate::staged::settle(held, r)).unwrap_or_else(|p| {
                    Err(RecordError::Unskippable(format!(
                        "{p}, in the fold's accumulate, folding what this record emitted; not \
                         skipped, as what it folded before the panic is in the task's table"
                    )))
                })
            }
        }?;
        if !mapped {
            return Ok(false);
        }
        if self.table.over_budget() {
            self.table.flush(sink).map_err(RecordError::Fatal)?;
        }
        Ok(true)
    }

    fn finish(
        &mut self,
        sink: &mut dyn RecordSink,
        counters: &mut Counters,
    ) -> Result<(), RecordError> {
        catch(|| {
            let mut out =
                Emitter::with_target(Target::Fold(&mut *self.table), counters, &mut self.bufs);
            let r = self.mapper.finish(&mut out);
            self.table.fold_pending();
            job_result(r, &mut self.bufs)
        })
        .unwrap_or_else(|p| Err(RecordError::from_panic(p, &mut self.bufs)))?;
        let folded = self.table.combined().0 - self.base.0;
        self.keep &= self.table.len() as f64 >= CARRY_RATIO * folded as f64;
        if self.keep {
            return Ok(());
        }
        self.table.flush(sink).map_err(RecordError::Fatal)
    }

    fn combined(&self) -> (u64, u64) {
        let (folded, flushed) = self.table.combined();
        (folded - self.base.0, flushed - self.base.1)
    }

    fn keep_table(&mut self) {
        self.keep = true;
    }

    fn into_table(self: Box<Self>) -> Option<Box<dyn CarriedTable>> {
        self.keep.then_some(self.table)
    }
}

/// The combiner of a fold step: merges accumulators.
#[derive(Clone)]
pub(crate) struct MergeAccs<F>(pub F);

impl<F: Fold> Reducer for MergeAccs<F> {
    type Key = F::Key;
    type Value = F::Acc;
    type OutKey = F::Key;
    type OutValue = F::Acc;

    fn reduce(
        &mut self,
        key: F::Key,
        values: Values<'_, F::Acc>,
        out: &mut Emitter<F::Key, F::Acc>,
    ) -> Result<(), JobError> {
        let mut acc = self.0.init();
        for v in values {
            self.0.merge(&mut acc, v);
        }
        out.emit_ref(&key, &acc)
    }
}

/// The reducer of a fold step: merges accumulators and finishes.
#[derive(Clone)]
pub(crate) struct FinishAccs<F>(pub F);

impl<F: Fold> Reducer for FinishAccs<F> {
    type Key = F::Key;
    type Value = F::Acc;
    type OutKey = F::Key;
    type OutValue = F::Out;

    fn reduce(
        &mut self,
        key: F::Key,
        values: Values<'_, F::Acc>,
        out: &mut Emitter<F::Key, F::Out>,
    ) -> Result<(), JobError> {
        let mut acc = self.0.init();
        for v in values {
            self.0.merge(&mut acc, v);
        }
        let result = self.0.try_finish(&key, acc)?;
        match self.0.keep(&key, &result) {
            true => out.emit_ref(&key, &result),
            false => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Job, Mapper, RunConfig, Step};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// `KEY VALUE` lines to `(KEY, VALUE)` records, the value parsed as `V`.
    struct KeyValue<V>(std::marker::PhantomData<fn() -> V>);
    impl<V> Clone for KeyValue<V> {
        fn clone(&self) -> Self {
            KeyValue(std::marker::PhantomData)
        }
    }
    impl<V> Mapper for KeyValue<V>
    where
        V: std::str::FromStr + Serialize + DeserializeOwned + Send + 'static,
        V::Err: std::error::Error + Send + Sync + 'static,
    {
        type Input<'a> = &'a str;
        type Key = String;
        type Value = V;
        fn map(&mut self, line: &str, out: &mut Emitter<String, V>) -> Result<(), JobError> {
            let (k, v) = line.split_once(' ').ok_or("no space")?;
            out.emit(k, v.parse()?)
        }
    }

    /// Exact mean (sums of small integers stay exact in f64).
    #[derive(Clone)]
    struct Mean;
    impl Fold for Mean {
        type Key = String;
        type Value = f64;
        type Acc = (f64, u64);
        type Out = f64;
        fn init(&self) -> (f64, u64) {
            (0.0, 0)
        }
        fn accumulate(&self, acc: &mut (f64, u64), v: f64) {
            acc.0 += v;
            acc.1 += 1;
        }
        fn merge(&self, acc: &mut (f64, u64), o: (f64, u64)) {
            acc.0 += o.0;
            acc.1 += o.1;
        }
        fn finish(&self, _: &String, acc: (f64, u64)) -> f64 {
            acc.0 / acc.1 as f64
        }
    }

    struct MeanJob;
    impl Job for MeanJob {
        fn name(&self) -> &str {
            "mean"
        }
        fn description(&self) -> &str {
            ""
        }
        fn steps(&self) -> Vec<Step> {
            vec![Step::map(KeyValue::<f64>(std::marker::PhantomData)).fold(Mean)]
        }
    }

    /// `Count` and `Sum` over the same records, by `fold` or `reduce`.
    struct Totals(bool);
    impl Job for Totals {
        fn name(&self) -> &str {
            "totals"
        }
        fn description(&self) -> &str {
            ""
        }
        fn steps(&self) -> Vec<Step> {
            let step = Step::map(KeyValue::<u64>(std::marker::PhantomData));
            vec![if self.0 {
                step.fold(Count::new())
            } else {
                step.reduce(crate::reducers::Sum::new())
            }]
        }
    }

    #[test]
    fn count_overflow_is_an_error_naming_the_key_as_sum_gives() {
        let max = u64::MAX;
        let fine = [format!("a {}", max - 1), "b 2".into(), "b 3".into()];
        let over = [format!("a {max}"), "b 2".into(), "a 1".into()];
        for fold in [true, false] {
            let (got, _) = crate::testing::run_in_memory(&Totals(fold), &fine).unwrap();
            assert_eq!(got, [format!("\"a\"\t{}", max - 1), "\"b\"\t5".into()]);
            let e = crate::testing::run_in_memory(&Totals(fold), &over).unwrap_err();
            assert!(
                e.to_string()
                    .contains(r#"the total of key "a" overflows u64"#),
                "{e}"
            );
            // Through the engine, the two values in different map tasks.
            let d = tempfile::tempdir().unwrap();
            std::fs::write(d.path().join("in"), over.join("\n")).unwrap();
            let cfg = RunConfig {
                inputs: vec![d.path().join("in").display().to_string()],
                chunk_size: 16,
                jobs: 2,
                tmp_dir: Some(d.path().join("tmp")),
                ..RunConfig::default()
            };
            let e = crate::run_job(&Totals(fold), &cfg, &mut Vec::new()).unwrap_err();
            assert!(
                e.to_string()
                    .contains(r#"the total of key "a" overflows u64"#),
                "{e}"
            );
        }
    }

    #[test]
    fn a_count_entry_is_half_a_cache_line() {
        assert_eq!(std::mem::size_of::<Entry<u64>>(), 32);
        // And so is its slot, empty or not: 16 slots in 512 bytes.
        assert_eq!(slots::bytes_for::<Entry<u64>>(14), 16 * 32);
    }

    /// Each space-separated word of a line, counted with `emit_str` (or
    /// `emit` for the words starting with `#`).
    #[derive(Clone)]
    struct SpaceWords;
    impl Mapper for SpaceWords {
        type Input<'a> = &'a str;
        type Key = String;
        type Value = u64;
        fn map(&mut self, line: &str, out: &mut Emitter<String, u64>) -> Result<(), JobError> {
            for w in line.split(' ') {
                if w.starts_with('#') {
                    out.emit(w, 1)?;
                } else {
                    out.emit_str(w, 1)?;
                }
            }
            Ok(())
        }
    }

    struct SpaceCount;
    impl Job for SpaceCount {
        fn name(&self) -> &str {
            "space_count"
        }
        fn description(&self) -> &str {
            ""
        }
        fn steps(&self) -> Vec<Step> {
            vec![Step::map(SpaceWords).fold(Count::new())]
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]
        /// Words of every length around the inline limit (16 and 17 bytes),
        /// non-ASCII, needing escapes, empty, many per record: every
        /// occurrence is counted once, whatever the budget.
        #[test]
        fn short_and_long_keys_count_every_word(
            lines in proptest::collection::vec(
                proptest::collection::vec(
                    prop_oneof![
                        "[ab]{0,3}",
                        "[a-c]{15,18}",
                        "[aé\\\"\t]{1,9}",
                        "#?[a-z]{1,40}",
                    ],
                    0..100,
                ).prop_map(|ws| ws.join(" ")),
                1..20,
            ),
            tiny in any::<bool>(),
        ) {
            let mut want: std::collections::BTreeMap<String, u64> = Default::default();
            for w in lines.iter().flat_map(|l| l.split(' ')) {
                *want.entry(serde_json::to_string(w).unwrap()).or_default() += 1;
            }
            let want: Vec<String> = want.into_iter().map(|(k, n)| format!("{k}\t{n}")).collect();
            let (mem, _) = crate::testing::run_in_memory(&SpaceCount, &lines).unwrap();
            prop_assert_eq!(&mem, &want);
            // Each line ends with a newline: an empty last line is a record.
            let got = run_file(&SpaceCount, &(lines.join("\n") + "\n"), 256, 0, tiny);
            prop_assert_eq!(got, want);
        }
    }

    /// A fold step's tables go from map task to map task on each thread:
    /// over many tasks, each key is sent on about once per thread (here 4
    /// keys on 2 threads), not once per task, and the counts are the same.
    #[test]
    fn tables_carried_across_tasks_send_each_key_on_once_a_thread() {
        let line = "a b #c ddddddddddddddddddddddddd";
        let text = vec![line; 500].join("\n");
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("in"), &text).unwrap();
        let cfg = RunConfig {
            inputs: vec![d.path().join("in").display().to_string()],
            chunk_size: 256,
            jobs: 2,
            tmp_dir: Some(d.path().join("tmp")),
            ..RunConfig::default()
        };
        let mut out = Vec::new();
        let report = crate::run_job(&SpaceCount, &cfg, &mut out).unwrap();
        let counter = |name: &str| {
            report
                .counters
                .get(crate::counters::FRAMEWORK, &format!("step 0: {name}"))
        };
        assert!(counter("map tasks") > 20, "{:?}", report.counters);
        assert_eq!(counter("combine input records"), 2000);
        let sent = counter("combine output records");
        assert!((4..=8).contains(&sent), "{sent} records sent on");
        assert_eq!(counter("reduce input records"), sent);
        let want = "\"#c\"\t500\n\"a\"\t500\n\"b\"\t500\n\"ddddddddddddddddddddddddd\"\t500\n";
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }

    /// The output lines of `job` run on 2 threads over a file holding
    /// `text`, with a tiny sort buffer (1 KiB) or a roomy one.
    fn run_file(job: &dyn Job, text: &str, chunk: u64, parts: usize, tiny: bool) -> Vec<String> {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("in"), text).unwrap();
        let cfg = RunConfig {
            inputs: vec![d.path().join("in").display().to_string()],
            chunk_size: chunk,
            partitions: parts,
            jobs: 2,
            sort_buffer_bytes: if tiny { 1024 } else { 1 << 20 },
            tmp_dir: Some(d.path().join("tmp")),
            ..RunConfig::default()
        };
        let mut out = Vec::new();
        crate::run_job(job, &cfg, &mut out).unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn reference(lines: &[String]) -> Vec<String> {
        let mut m: std::collections::BTreeMap<String, (i64, u64)> = Default::default();
        for l in lines {
            let (k, v) = l.split_once(' ').unwrap();
            let e = m.entry(serde_json::to_string(k).unwrap()).or_default();
            e.0 += v.parse::<i64>().unwrap();
            e.1 += 1;
        }
        m.into_iter()
            .map(|(k, (s, n))| {
                format!(
                    "{k}\t{}",
                    serde_json::to_string(&(s as f64 / n as f64)).unwrap()
                )
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
        #[test]
        fn fold_step_is_a_mean_whatever_the_settings(
            lines in proptest::collection::vec(("[a-f]{1,2}", 0i64..1000).prop_map(|(k, v)| format!("{k} {v}")), 1..300),
            chunk in 16u64..2000,
            parts in 1usize..5,
            tiny in any::<bool>(),
        ) {
            let got = run_file(&MeanJob, &lines.join("\n"), chunk, parts, tiny);
            prop_assert_eq!(&got, &reference(&lines));
            let (mem, _) = crate::testing::run_in_memory(&MeanJob, &lines).unwrap();
            prop_assert_eq!(got, mem);
        }
    }

    /// Records pushed to it, kept.
    #[derive(Default)]
    struct Kept(Vec<(Vec<u8>, Vec<u8>)>);
    impl RecordSink for Kept {
        fn push(&mut self, key: &[u8], value: &[u8]) -> Result<(), Error> {
            self.0.push((key.to_vec(), value.to_vec()));
            Ok(())
        }
    }

    /// A table's budget is weighed against what it holds: 850k short keys
    /// of a count fit in 64 MiB (35 MB of buckets), where 64 bytes an entry
    /// were counted and the table flushed and refilled over and over (probe
    /// /tmp/probe9-shapes repro 04: 6.8M records for 850k keys). Full, it
    /// counts the larger table its next key allocates; grown past its
    /// budget, it is given back at its flush.
    #[test]
    fn a_table_is_weighed_by_what_it_holds() {
        use std::fmt::Write;
        let mut table = AccTable::new(Count::<String>::new());
        table.set_budget(64 << 20);
        let mut word = String::new();
        for i in 0..850_000u32 {
            word.clear();
            write!(word, "{i}").unwrap();
            // Twice: keys that recur, or the table goes direct.
            table.fold_str(&word, 1).unwrap();
            table.fold_str(&word, 1).unwrap();
            assert!(
                !table.over_budget(),
                "over at {i} keys: {}",
                table.held_bytes()
            );
        }
        assert!(table.direct.is_none());
        let held = table.held_bytes();
        assert!((30 << 20..48 << 20).contains(&held), "{held}");
        // A small budget: over it, and given back once flushed.
        table.set_budget(1 << 20);
        assert!(table.over_budget());
        table.flush(&mut Kept::default()).unwrap();
        assert_eq!(table.accs.capacity(), 0);
        assert!(!table.over_budget());
        // Full: the next table counts too.
        let mut table = AccTable::new(Count::<String>::new());
        while table.accs.len() < 3 || table.accs.len() < table.accs.capacity() {
            let k = table.accs.len().to_string();
            table.fold_str(&k, 1).unwrap();
        }
        let cap = table.accs.capacity();
        let both = slots::bytes_for::<Entry<u64>>(cap) + slots::bytes_for::<Entry<u64>>(cap * 2);
        assert_eq!(table.held_bytes(), both);
    }

    /// `values` (key, value) folded into a `Mean` table, flushed whenever it
    /// says so and at the end: the accumulators merged per key, and whether
    /// the table went direct.
    fn fold_mean(values: &[(String, f64)]) -> (BTreeMap<String, (f64, u64)>, bool) {
        let mut table = AccTable::new(Mean);
        let mut kept = Kept::default();
        for (k, v) in values {
            if k.starts_with('#') {
                table
                    .fold_value(&serde_json::to_vec(k).unwrap(), *v)
                    .unwrap();
            } else {
                table.fold_str(k, *v).unwrap();
            }
            if table.over_budget() {
                table.flush(&mut kept).unwrap();
            }
        }
        let direct = table.direct.is_some();
        table.flush(&mut kept).unwrap();
        let (folded, flushed) = table.combined();
        assert_eq!(folded, values.len() as u64);
        assert_eq!(flushed, kept.0.len() as u64);
        let mut merged = BTreeMap::new();
        for (k, v) in kept.0 {
            let key: String = serde_json::from_slice(&k).unwrap();
            let acc: (f64, u64) = serde_json::from_slice(&v).unwrap();
            Mean.merge(merged.entry(key).or_insert((0.0, 0)), acc);
        }
        (merged, direct)
    }

    fn mean_reference(values: &[(String, f64)]) -> BTreeMap<String, (f64, u64)> {
        let mut m = BTreeMap::new();
        for (k, v) in values {
            Mean.accumulate(m.entry(k.clone()).or_insert((0.0, 0)), *v);
        }
        m
    }

    /// A task whose keys seldom repeat sends each value on as a one-value
    /// accumulator once it has seen [`SAMPLE`] values (with what its table
    /// held then); one whose keys repeat keeps combining. Either way the
    /// accumulators merge to the same results, every value counted once.
    #[test]
    fn a_table_that_does_not_combine_sends_values_straight_on() {
        // Unique keys, short and long, some given encoded; a few repeats.
        let n = SAMPLE as usize * 3;
        let unique: Vec<(String, f64)> = (0..n)
            .map(|i| match i % 7 {
                0 => ("again".to_string(), 1.0),
                1 => (format!("#{i}"), i as f64),
                2 => (format!("a key long enough to be boxed {i}"), 0.5),
                _ => (format!("k{i}"), i as f64),
            })
            .collect();
        let (got, direct) = fold_mean(&unique);
        assert!(direct);
        assert_eq!(got, mean_reference(&unique));
        assert_eq!(got["again"], (n.div_ceil(7) as f64, n.div_ceil(7) as u64));
        // Keys that repeat: the table combines, and stays.
        let repeated: Vec<(String, f64)> =
            (0..n).map(|i| (format!("k{}", i % 1000), 1.0)).collect();
        let (got, direct) = fold_mean(&repeated);
        assert!(!direct);
        assert_eq!(got, mean_reference(&repeated));
    }

    /// The same through the whole engine (2 threads, one split of 3 ×
    /// [`SAMPLE`] values, so that its task goes direct; a 1 MiB sort buffer,
    /// so that it spills): a fold step over keys that almost never repeat
    /// gives the mean of each.
    #[test]
    fn a_fold_over_unique_keys_is_right_through_the_engine() {
        let lines: Vec<String> = (0..SAMPLE * 3)
            .map(|i| format!("k{} {}", i % (SAMPLE * 3 - 5), i % 10))
            .collect();
        let got = run_file(&MeanJob, &lines.join("\n"), 1 << 30, 3, false);
        assert_eq!(got, reference(&lines));
    }

    /// Counts, keeping the keys counted at least `.0` times.
    #[derive(Clone)]
    struct AtLeast(u64);
    impl Fold for AtLeast {
        type Key = String;
        type Value = u64;
        type Acc = u64;
        type Out = u64;
        fn init(&self) -> u64 {
            0
        }
        fn accumulate(&self, acc: &mut u64, v: u64) {
            *acc += v;
        }
        fn merge(&self, acc: &mut u64, o: u64) {
            *acc += o;
        }
        fn finish(&self, _: &String, acc: u64) -> u64 {
            acc
        }
        fn keep(&self, _: &String, total: &u64) -> bool {
            *total >= self.0
        }
    }

    struct AtLeastJob(u64);
    impl Job for AtLeastJob {
        fn name(&self) -> &str {
            "at_least"
        }
        fn description(&self) -> &str {
            ""
        }
        fn steps(&self) -> Vec<Step> {
            vec![Step::map(KeyValue::<u64>(std::marker::PhantomData)).fold(AtLeast(self.0))]
        }
    }

    /// `Fold::keep` leaves a key out once its total is known, never a
    /// partial one: a key whose values are spread over many chunks and
    /// spills, each part below the threshold, is still written (with one
    /// partition and with several).
    #[test]
    fn a_fold_leaves_out_the_keys_it_does_not_keep_by_their_totals() {
        // Key kN is seen N + 1 times, one value in every chunk of 64 bytes or so.
        let lines: Vec<String> = (0..40)
            .flat_map(|round| (round..40).map(|k| format!("k{k:02} 1")))
            .collect();
        let want: Vec<String> = (0..40)
            .filter(|k| k + 1 >= 25)
            .map(|k| format!("\"k{k:02}\"\t{}", k + 1))
            .collect();
        for (chunk, parts, tiny) in [(1 << 30, 1, false), (64, 3, true), (500, 2, false)] {
            let got = run_file(&AtLeastJob(25), &lines.join("\n"), chunk, parts, tiny);
            assert_eq!(got, want, "chunk {chunk}, {parts} partitions, tiny {tiny}");
        }
    }

    /// `m × 2^e` values, whose exact sum an i128 holds (scaled by 2^40).
    fn exact_values() -> impl Strategy<Value = Vec<f64>> {
        proptest::collection::vec(
            (-(1i64 << 53)..(1i64 << 53), -40i32..20).prop_map(|(m, e)| m as f64 * 2f64.powi(e)),
            0..60,
        )
    }

    /// The exact sum of `exact_values`, rounded once (i128 to f64 rounds to
    /// nearest, ties to even; the scaling back is exact).
    fn exact_sum(vs: &[f64]) -> f64 {
        let scaled: i128 = vs.iter().map(|v| (v * 2f64.powi(40)) as i128).sum();
        scaled as f64 / 2f64.powi(40)
    }

    /// Folds `vs` as the engine may: in chunks, each accumulator through
    /// JSON (as it is shuffled), merged in the order `order` gives.
    fn float_sum_in_chunks(vs: &[f64], cuts: &[usize], order: &[usize]) -> f64 {
        let f: FloatSum<String> = FloatSum::new();
        let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (vs.len() + 1)).collect();
        bounds.extend([0, vs.len()]);
        bounds.sort_unstable();
        let mut accs: Vec<Option<Vec<f64>>> = bounds
            .windows(2)
            .map(|w| {
                let mut acc = f.init();
                vs[w[0]..w[1]]
                    .iter()
                    .for_each(|&v| f.accumulate(&mut acc, v));
                serde_json::from_str(&serde_json::to_string(&acc).unwrap()).unwrap()
            })
            .collect();
        let mut total = f.init();
        for &i in order {
            if !accs.is_empty() {
                let acc = accs.swap_remove(i % accs.len());
                f.merge(&mut total, acc);
            }
        }
        accs.into_iter().for_each(|a| f.merge(&mut total, a));
        f.try_finish(&"k".into(), total).unwrap()
    }

    proptest! {
        /// The exact sum rounded once, however the values are chunked,
        /// shuffled and merged: the law that makes it safe to fold floats.
        #[test]
        fn float_sum_is_the_exact_sum_whatever_the_grouping(
            vs in exact_values(),
            cuts in proptest::collection::vec(any::<usize>(), 0..6),
            order in proptest::collection::vec(any::<usize>(), 0..8),
        ) {
            let got = float_sum_in_chunks(&vs, &cuts, &order);
            prop_assert_eq!(got.to_bits(), exact_sum(&vs).to_bits(), "{:?}", vs);
        }

        /// Any finite floats (all exponents): every grouping gives the same
        /// bits as one fold in order.
        #[test]
        fn float_sum_of_any_floats_does_not_depend_on_grouping(
            vs in proptest::collection::vec(-1e300f64..1e300, 0..40),
            small in proptest::collection::vec(-1e-300f64..1e-300, 0..10),
            cuts in proptest::collection::vec(any::<usize>(), 0..6),
            order in proptest::collection::vec(any::<usize>(), 0..8),
        ) {
            let vs: Vec<f64> = vs.into_iter().chain(small).collect();
            let whole = float_sum_in_chunks(&vs, &[], &[]);
            prop_assert_eq!(float_sum_in_chunks(&vs, &cuts, &order).to_bits(), whole.to_bits());
        }
    }

    #[test]
    fn float_sum_rounds_once_and_refuses_what_is_not_finite() {
        let f: FloatSum<String> = FloatSum::new();
        let sum = |vs: &[f64]| {
            let mut acc = f.init();
            vs.iter().for_each(|&v| f.accumulate(&mut acc, v));
            f.try_finish(&"k".into(), acc)
        };
        // math.fsum's own examples, and its half-even rounding across partials.
        assert_eq!(sum(&[0.1; 10]).unwrap(), 1.0);
        assert_eq!(
            sum(&[1e100, 1.0, -1e100, 1e-100, 1e50, -1.0, -1e50]).unwrap(),
            1e-100
        );
        assert_eq!(sum(&[1.0, 1e-16, 1e-16]).unwrap(), 1.0000000000000002);
        assert_eq!(sum(&[]).unwrap(), 0.0);
        // Not finite: an error naming the key, also after a shuffle as JSON.
        for bad in [&[1e308, 1e308][..], &[f64::NAN], &[1.0, f64::INFINITY]] {
            let mut acc = f.init();
            bad.iter().for_each(|&v| f.accumulate(&mut acc, v));
            let acc: Option<Vec<f64>> =
                serde_json::from_str(&serde_json::to_string(&acc).unwrap()).unwrap();
            let mut total = f.init();
            f.merge(&mut total, acc);
            let e = f.try_finish(&"k".into(), total).unwrap_err().to_string();
            assert!(e.contains("key \"k\"") && e.contains("not a finite"), "{e}");
        }
    }
}
