//! Reducers that many jobs share.

use crate::emit::Emitter;
use crate::error::JobError;
use crate::job::{Reducer, Values};
use serde::Serialize;
use serde::de::DeserializeOwned;
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
            total = total.checked_add(v).ok_or_else(|| overflow_error(&key))?;
        }
        out.emit_ref(&key, &total)
    }
}

/// The one error for a count or sum that does not fit in a `u64`: it names
/// the key (as JSON), whichever of [`Sum`] and
/// [`Count`](crate::fold::Count) found it.
///
/// ```
/// let e = mr_core::reducers::overflow_error(&"the");
/// assert_eq!(e.to_string(), r#"the total of key "the" overflows u64"#);
/// ```
pub fn overflow_error<K: Serialize + ?Sized>(key: &K) -> JobError {
    let k = serde_json::to_string(key).unwrap_or_else(|_| "?".into());
    JobError::msg(format!("the total of key {k} overflows u64"))
}
