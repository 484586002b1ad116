//! A map call's output held back until the call succeeds.
//!
//! Under `--skip-bad-records` a line whose `map` call fails (an error, a
//! panic) is kept aside whole, and the run goes on: what the call emitted
//! before it failed must go too, or the results would count part of a
//! line that the summary says was skipped (and a user who fixes and reruns
//! the kept lines would count it twice). So each call emits into a
//! [`Staged`] buffer, which goes on into the sort buffer or the fold table
//! only once the call has returned `Ok`. The results are then those of
//! the input without the skipped lines, whatever a job emits before it
//! fails.
//!
//! A call that emits more than [`Staged::LIMIT`] bytes (a whole-file mapper
//! on a large file) is passed on as it goes rather than held in memory:
//! if it then fails, what it emitted stays, and the map task says so in
//! the bad record's reason.

use crate::emit::{RecordSink, ValueFolder};
use crate::error::Error;
use crate::job::RecordError;
use std::ops::Range;

/// One held-back emission.
enum Item<V> {
    /// An encoded record (`Emitter::emit` into a sink, `emit_ref`).
    Record {
        key: Range<usize>,
        value: Range<usize>,
    },
    /// A typed value under an encoded key (a fold step).
    Value { key: Range<usize>, value: V },
    /// A typed value under a plain string key (a fold step's `emit_str`).
    Str { key: Range<usize>, value: V },
}

/// The records and values of one map call, in the order emitted; keys and
/// encoded values in one byte arena, so that holding them back allocates
/// nothing once the buffers have grown.
pub(crate) struct Staged<V> {
    bytes: Vec<u8>,
    items: Vec<Item<V>>,
}

impl<V> Default for Staged<V> {
    fn default() -> Self {
        Staged {
            bytes: Vec::new(),
            items: Vec::new(),
        }
    }
}

impl<V> Staged<V> {
    /// Bytes a call may hold back before its output is passed on as it goes.
    pub const LIMIT: usize = 64 << 20;

    /// Whether the call has emitted more than [`Staged::LIMIT`].
    pub fn is_full(&self) -> bool {
        self.bytes.len() > Self::LIMIT
    }

    /// Throws the call's output away (it failed).
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.items.clear();
    }

    fn add(&mut self, b: &[u8]) -> Range<usize> {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(b);
        start..self.bytes.len()
    }

    /// Passes everything held back on to `next` (a fold table, or a
    /// [`Next`]), in order, and empties the buffer.
    pub fn replay(&mut self, next: &mut dyn ValueFolder<V>) -> Result<(), Error> {
        let r = self.items.drain(..).try_for_each(|item| match item {
            Item::Record { key, value } => next.push(&self.bytes[key], &self.bytes[value]),
            Item::Value { key, value } => next.fold_value(&self.bytes[key], value),
            Item::Str { key, value } => {
                let s = std::str::from_utf8(&self.bytes[key])
                    .map_err(|e| Error::Internal(format!("a held-back key is not UTF-8: {e}")))?;
                next.fold_str(s, value)
            }
        });
        self.bytes.clear();
        next.fold_pending();
        r
    }
}

/// Where held-back output goes once its call succeeds.
pub(crate) enum Next<'a, V> {
    /// The sort buffer or a part file.
    Sink(&'a mut dyn RecordSink),
    /// A fold step's accumulator table.
    Fold(&'a mut dyn ValueFolder<V>),
}

/// One map call's sink: holds its output back in a [`Staged`] buffer, and
/// passes it on when [`Holding::settle`] is told the call succeeded (or
/// as it goes, once the call has emitted more than [`Staged::LIMIT`]).
pub(crate) struct Holding<'a, V> {
    staged: &'a mut Staged<V>,
    next: Next<'a, V>,
    /// The call emitted too much to hold back: its output went on as it
    /// came.
    passed: bool,
}

impl<'a, V> Holding<'a, V> {
    /// Holds a call's output in `staged` (empty) on its way to `next`.
    pub fn new(staged: &'a mut Staged<V>, next: Next<'a, V>) -> Self {
        Holding {
            staged,
            next,
            passed: false,
        }
    }

    fn pass_on(&mut self) -> Result<(), Error> {
        self.staged.replay(&mut self.next)
    }

    /// Ends the call: its output goes on if it `succeeded`, and is thrown
    /// away if not. Returns whether the output of a failed call had
    /// already gone on (it was too large to hold back).
    pub fn settle(mut self, succeeded: bool) -> Result<bool, Error> {
        if succeeded {
            self.pass_on()?;
            return Ok(false);
        }
        self.staged.clear();
        Ok(self.passed)
    }

    /// Before holding more: past the limit, what is held goes on, and so
    /// does the rest of the call's output.
    fn holds(&mut self) -> Result<bool, Error> {
        if !self.passed && self.staged.is_full() {
            self.pass_on()?;
            self.passed = true;
        }
        Ok(!self.passed)
    }
}

/// Ends a call that ran into `held`: its output goes on if it succeeded;
/// if it failed, it is thrown away, or, when it had already gone on (too
/// large to hold back), the failure says so.
pub(crate) fn settle<V, T>(
    held: Holding<'_, V>,
    r: Result<T, RecordError>,
) -> Result<T, RecordError> {
    match r {
        Ok(v) => held.settle(true).map(|_| v).map_err(RecordError::Fatal),
        Err(RecordError::Fatal(e)) => {
            // The task stops; nothing of the call is to be passed on later.
            let _ = held.settle(false);
            Err(RecordError::Fatal(e))
        }
        Err(e) => match held.settle(false) {
            Ok(false) => Err(e),
            Ok(true) => Err(e.noted(&format!(
                "what it emitted before it failed was kept: more than {} MiB, too much \
                 to hold back",
                Staged::<V>::LIMIT >> 20
            ))),
            Err(fatal) => Err(RecordError::Fatal(fatal)),
        },
    }
}

impl<V> RecordSink for Next<'_, V> {
    fn push(&mut self, key: &[u8], value: &[u8]) -> Result<(), Error> {
        match self {
            Next::Sink(s) => s.push(key, value),
            Next::Fold(f) => f.push(key, value),
        }
    }
}

impl<V> ValueFolder<V> for Next<'_, V> {
    fn fold_value(&mut self, key: &[u8], value: V) -> Result<(), Error> {
        match self {
            Next::Fold(f) => f.fold_value(key, value),
            Next::Sink(_) => Err(not_a_fold()),
        }
    }

    fn fold_str(&mut self, s: &str, value: V) -> Result<(), Error> {
        match self {
            Next::Fold(f) => f.fold_str(s, value),
            Next::Sink(_) => Err(not_a_fold()),
        }
    }

    fn fold_pending(&mut self) {
        if let Next::Fold(f) = self {
            f.fold_pending();
        }
    }
}

fn not_a_fold() -> Error {
    Error::Internal("a typed value emitted for a step without a fold".into())
}

/// Held while the call is within [`Staged::LIMIT`], else passed on.
impl<V> RecordSink for Holding<'_, V> {
    fn push(&mut self, key: &[u8], value: &[u8]) -> Result<(), Error> {
        if self.holds()? {
            self.staged.push(key, value)
        } else {
            self.next.push(key, value)
        }
    }
}

impl<V> ValueFolder<V> for Holding<'_, V> {
    fn fold_value(&mut self, key: &[u8], value: V) -> Result<(), Error> {
        if self.holds()? {
            self.staged.fold_value(key, value)
        } else {
            self.next.fold_value(key, value)
        }
    }

    fn fold_str(&mut self, s: &str, value: V) -> Result<(), Error> {
        if self.holds()? {
            self.staged.fold_str(s, value)
        } else {
            self.next.fold_str(s, value)
        }
    }

    /// What went on past the limit may wait in the table's batch.
    fn fold_pending(&mut self) {
        self.next.fold_pending();
    }
}

impl<V> RecordSink for Staged<V> {
    fn push(&mut self, key: &[u8], value: &[u8]) -> Result<(), Error> {
        let key = self.add(key);
        let value = self.add(value);
        self.items.push(Item::Record { key, value });
        Ok(())
    }
}

impl<V> ValueFolder<V> for Staged<V> {
    fn fold_value(&mut self, key: &[u8], value: V) -> Result<(), Error> {
        let key = self.add(key);
        self.items.push(Item::Value { key, value });
        Ok(())
    }

    fn fold_str(&mut self, s: &str, value: V) -> Result<(), Error> {
        let key = self.add(s.as_bytes());
        self.items.push(Item::Str { key, value });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emit::VecSink;

    #[test]
    fn records_are_replayed_in_order_or_thrown_away() {
        let mut s: Staged<()> = Staged::default();
        s.push(b"\"a\"", b"1").unwrap();
        s.push(b"\"b\"", b"[2]").unwrap();
        let mut out = VecSink::default();
        s.replay(&mut Next::Sink(&mut out)).unwrap();
        assert_eq!(
            out.records,
            vec![
                (b"\"a\"".to_vec(), b"1".to_vec()),
                (b"\"b\"".to_vec(), b"[2]".to_vec())
            ]
        );
        s.push(b"\"c\"", b"3").unwrap();
        s.clear();
        let mut out = VecSink::default();
        s.replay(&mut Next::Sink(&mut out)).unwrap();
        assert!(out.records.is_empty());
    }

    /// A fold table stand-in that writes down what it is given.
    #[derive(Default)]
    struct Seen(Vec<String>);

    impl RecordSink for Seen {
        fn push(&mut self, key: &[u8], value: &[u8]) -> Result<(), Error> {
            self.0.push(format!(
                "record {} {}",
                String::from_utf8_lossy(key),
                String::from_utf8_lossy(value)
            ));
            Ok(())
        }
    }

    impl ValueFolder<u64> for Seen {
        fn fold_value(&mut self, key: &[u8], value: u64) -> Result<(), Error> {
            self.0
                .push(format!("value {} {value}", String::from_utf8_lossy(key)));
            Ok(())
        }
        fn fold_str(&mut self, s: &str, value: u64) -> Result<(), Error> {
            self.0.push(format!("str {s} {value}"));
            Ok(())
        }
    }

    #[test]
    fn a_failed_call_leaves_nothing_and_a_good_one_everything() {
        let mut staged: Staged<u64> = Staged::default();
        let mut seen = Seen::default();
        let mut h = Holding::new(&mut staged, Next::Fold(&mut seen));
        h.fold_str("a", 1).unwrap();
        assert!(!h.settle(false).unwrap());
        let mut h = Holding::new(&mut staged, Next::Fold(&mut seen));
        h.fold_str("b", 2).unwrap();
        h.push(b"\"c\"", b"3").unwrap();
        assert!(!h.settle(true).unwrap());
        assert_eq!(seen.0, ["str b 2", "record \"c\" 3"]);
    }

    #[test]
    fn a_call_past_the_limit_goes_on_as_it_comes() {
        let mut staged: Staged<()> = Staged::default();
        let mut out = VecSink::default();
        let big = vec![b'x'; Staged::<()>::LIMIT / 2 + 1];
        let mut h = Holding::new(&mut staged, Next::Sink(&mut out));
        for _ in 0..3 {
            h.push(b"\"k\"", &big).unwrap();
        }
        // Failed, but too large to have been held: said, not hidden.
        assert!(h.settle(false).unwrap());
        assert_eq!(out.records.len(), 3);
        assert!(staged.bytes.is_empty() && staged.items.is_empty());
    }

    /// Emits each word, then fails on `boom`. (A panic is tested on the
    /// real binary, tests/faults_tasks.rs: in mr-core's own code it would be
    /// taken for a bug in mr.)
    #[derive(Clone)]
    struct Partial;

    impl crate::Mapper for Partial {
        type Input<'a> = &'a str;
        type Key = String;
        type Value = u64;
        fn map(
            &mut self,
            line: &str,
            out: &mut crate::Emitter<String, u64>,
        ) -> Result<(), crate::JobError> {
            for w in line.split_whitespace() {
                match w {
                    "boom" => return Err(crate::JobError::msg("boom")),
                    _ => out.emit_str(w, 1)?,
                }
            }
            Ok(())
        }
    }

    /// The law `--skip-bad-records` promises: the results are those of the
    /// input without the skipped lines, whatever a line emitted before its
    /// call failed; with and without a fold (the table, not a sink).
    #[test]
    fn skipped_lines_leave_nothing_behind() {
        let lines: Vec<Vec<u8>> = ["a b c", "a a boom", "x a boom", "c c"]
            .iter()
            .map(|l| l.as_bytes().to_vec())
            .collect();
        let steps = [
            crate::Step::map(Partial).reduce(crate::reducers::Sum::new()),
            crate::Step::map(Partial).fold(crate::fold::Count::new()),
        ];
        for step in &steps {
            let mut counters = crate::Counters::default();
            let mapped = crate::testing::map_lines(
                step,
                0,
                &lines,
                None,
                &mut counters,
                true,
                &Default::default(),
            )
            .unwrap();
            assert_eq!(mapped.rejected, 2);
            let mut keys: Vec<String> = mapped
                .records
                .iter()
                .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
                .collect();
            keys.sort();
            keys.dedup();
            assert_eq!(keys, ["\"a\"", "\"b\"", "\"c\""], "folds: {}", step.folds);
        }
    }

    #[test]
    fn a_fold_table_gets_every_kind_in_order() {
        let mut s: Staged<u64> = Staged::default();
        s.fold_str("é", 1).unwrap();
        s.fold_value(b"[1,2]", 2).unwrap();
        s.push(b"\"k\"", b"3").unwrap();
        let mut seen = Seen::default();
        s.replay(&mut seen).unwrap();
        assert_eq!(seen.0, ["str é 1", "value [1,2] 2", "record \"k\" 3"]);
        assert!(!s.is_full());
    }
}
