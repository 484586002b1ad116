//! Reducers that many jobs share.

use crate::emit::Emitter;
use crate::error::JobError;
use crate::job::{Reducer, Values};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::marker::PhantomData;

/// Sums a key's `u64` values: the combiner and reducer of every counting job.
/// Associative and commutative, so it is safe as a combiner.
///
/// ```
/// use mr_core::{reducers::Sum, testing::with_emitter, Reducer};
/// // In a job: Step::map(MyMapper).combine(Sum::new()).reduce(Sum::new())
/// let _sum: Sum<String> = Sum::new();
/// ```
pub struct Sum<K>(PhantomData<fn(K)>);

impl<K> Sum<K> {
    /// The summing reducer.
    pub fn new() -> Self {
        Sum(PhantomData)
    }
}

impl<K> Default for Sum<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K> Clone for Sum<K> {
    fn clone(&self) -> Self {
        Self::new()
    }
}

impl<K> Reducer for Sum<K>
where
    K: Serialize + DeserializeOwned + Send + 'static,
{
    type Key = K;
    type Value = u64;
    type OutKey = K;
    type OutValue = u64;

    fn reduce(
        &mut self,
        key: K,
        values: Values<'_, u64>,
        out: &mut Emitter<K, u64>,
    ) -> Result<(), JobError> {
        let mut total = 0u64;
        for v in values {
            total = total
                .checked_add(v)
                .ok_or_else(|| JobError::msg("sum overflows u64"))?;
        }
        out.emit_ref(&key, &total)
    }
}
