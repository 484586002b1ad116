//! The emitter a task writes to: a typed pair becomes an encoded record.
//!
//! Mappers, combiners and reducers never see the engine's buffers: they call
//! [`Emitter::emit`] with their own key and value types, which are encoded as
//! JSON into reused buffers and pushed into a [`RecordSink`] (the sort buffer,
//! a part file, or standard output in task mode).

use crate::counters::Counters;
use crate::error::{Error, JobError};
use serde::Serialize;
use std::borrow::Borrow;
use std::marker::PhantomData;

/// Where encoded records go. The engine implements it for its sort buffers
/// and output writers.
pub trait RecordSink {
    /// Takes one record: the key and value as JSON bytes.
    fn push(&mut self, key: &[u8], value: &[u8]) -> Result<(), Error>;
}

impl<S: RecordSink + ?Sized> RecordSink for &mut S {
    fn push(&mut self, key: &[u8], value: &[u8]) -> Result<(), Error> {
        (**self).push(key, value)
    }
}

/// Collects records in memory: for tests and for small outputs.
///
/// ```
/// use mr_core::emit::{RecordSink, VecSink};
/// let mut s = VecSink::default();
/// s.push(b"\"a\"", b"1").unwrap();
/// assert_eq!(s.records, vec![(b"\"a\"".to_vec(), b"1".to_vec())]);
/// ```
#[derive(Debug, Default, Clone)]
pub struct VecSink {
    /// The records pushed so far, in order.
    pub records: Vec<(Vec<u8>, Vec<u8>)>,
}

impl RecordSink for VecSink {
    fn push(&mut self, key: &[u8], value: &[u8]) -> Result<(), Error> {
        self.records.push((key.to_vec(), value.to_vec()));
        Ok(())
    }
}

/// Buffers an emitter reuses between records, so emitting allocates nothing
/// once they have grown.
#[derive(Debug, Default)]
pub(crate) struct EmitBuffers {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    /// Set when the sink failed (disk full, broken pipe): such a failure is
    /// never a bad record and is never skipped.
    pub fatal: Option<Error>,
}

/// What a mapper, combiner or reducer writes its output to.
///
/// `K` and `V` are the step's declared output types; [`emit`](Self::emit)
/// takes the key by reference (any borrowed form, e.g. `&str` for a `String`
/// key) and the value by value.
pub struct Emitter<'a, K, V> {
    target: Target<'a, V>,
    counters: &'a mut Counters,
    bufs: &'a mut EmitBuffers,
    records: u64,
    _types: PhantomData<fn(&K, V)>,
}

/// Where an emitter's records go: encoded into a sink, or, in a fold step,
/// folded as typed values into the map task's accumulator table (the value
/// is never encoded and decoded again).
pub(crate) enum Target<'a, V> {
    Bytes(&'a mut dyn RecordSink),
    Fold(&'a mut dyn ValueFolder<V>),
}

/// Takes a key (encoded) and a typed value: a fold step's accumulator table.
pub(crate) trait ValueFolder<V>: RecordSink {
    fn fold_value(&mut self, key: &[u8], value: V) -> Result<(), Error>;
}

impl<'a, K: Serialize, V: Serialize> Emitter<'a, K, V> {
    pub(crate) fn new(
        sink: &'a mut dyn RecordSink,
        counters: &'a mut Counters,
        bufs: &'a mut EmitBuffers,
    ) -> Self {
        Self::with_target(Target::Bytes(sink), counters, bufs)
    }

    pub(crate) fn with_target(
        target: Target<'a, V>,
        counters: &'a mut Counters,
        bufs: &'a mut EmitBuffers,
    ) -> Self {
        Emitter {
            target,
            counters,
            bufs,
            records: 0,
            _types: PhantomData,
        }
    }

    /// Emits one record.
    ///
    /// ```
    /// # use mr_core::{Emitter, testing::with_emitter};
    /// let records = with_emitter::<String, u64>(|out| {
    ///     out.emit("word", 2)?;
    ///     Ok(())
    /// });
    /// assert_eq!(records, vec![("\"word\"".into(), "2".into())]);
    /// ```
    pub fn emit<Q>(&mut self, key: &Q, value: V) -> Result<(), JobError>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        if let Target::Fold(folder) = &mut self.target {
            self.bufs.key.clear();
            serde_json::to_writer(&mut self.bufs.key, key)?;
            self.records += 1;
            if let Err(e) = folder.fold_value(&self.bufs.key, value) {
                let msg = e.to_string();
                self.bufs.fatal = Some(e);
                return Err(JobError::msg(msg));
            }
            return Ok(());
        }
        self.emit_ref(key, &value)
    }

    /// Emits one record with a string key: the same record as
    /// [`emit`](Self::emit), faster for the common key that needs no JSON
    /// escaping (it is quoted as is, without going through serde).
    ///
    /// ```
    /// # use mr_core::{Emitter, testing::with_emitter};
    /// let records = with_emitter::<String, u64>(|out| {
    ///     out.emit_str("word", 2)?;
    ///     out.emit_str("say \"hi\"\n", 1)?;
    ///     Ok(())
    /// });
    /// assert_eq!(records, vec![("\"word\"".into(), "2".into()),
    ///                          (r#""say \"hi\"\n""#.into(), "1".into())]);
    /// ```
    pub fn emit_str(&mut self, key: &str, value: V) -> Result<(), JobError>
    where
        K: Borrow<str>,
    {
        let plain = key.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\');
        if !plain {
            return self.emit(key, value);
        }
        self.bufs.key.clear();
        self.bufs.key.reserve(key.len() + 2);
        self.bufs.key.push(b'"');
        self.bufs.key.extend_from_slice(key.as_bytes());
        self.bufs.key.push(b'"');
        self.records += 1;
        let result = match &mut self.target {
            Target::Fold(folder) => folder.fold_value(&self.bufs.key, value),
            Target::Bytes(sink) => {
                self.bufs.value.clear();
                serde_json::to_writer(&mut self.bufs.value, &value)?;
                sink.push(&self.bufs.key, &self.bufs.value)
            }
        };
        if let Err(e) = result {
            let msg = e.to_string();
            self.bufs.fatal = Some(e);
            return Err(JobError::msg(msg));
        }
        Ok(())
    }

    /// Emits one record from a borrowed key and a borrowed value.
    pub fn emit_ref<Q, W>(&mut self, key: &Q, value: &W) -> Result<(), JobError>
    where
        K: Borrow<Q>,
        V: Borrow<W>,
        Q: Serialize + ?Sized,
        W: Serialize + ?Sized,
    {
        self.bufs.key.clear();
        serde_json::to_writer(&mut self.bufs.key, key)?;
        self.bufs.value.clear();
        serde_json::to_writer(&mut self.bufs.value, value)?;
        self.records += 1;
        let sink: &mut dyn RecordSink = match &mut self.target {
            Target::Bytes(s) => &mut **s,
            Target::Fold(f) => &mut **f,
        };
        if let Err(e) = sink.push(&self.bufs.key, &self.bufs.value) {
            let msg = e.to_string();
            self.bufs.fatal = Some(e);
            return Err(JobError::msg(msg));
        }
        Ok(())
    }

    /// Adds `amount` to the job counter `(group, name)`.
    pub fn count(&mut self, group: &str, name: &str, amount: i64) {
        self.counters.add(group, name, amount);
    }

    /// Records emitted through this emitter so far.
    pub fn emitted(&self) -> u64 {
        self.records
    }
}
