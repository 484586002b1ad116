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

/// The largest of a key's values (any ordered JSON value: a number, a
/// string, a timestamp as text), as mrjob jobs write `yield key,
/// max(values)`. Associative and commutative, so it is safe as a combiner;
/// of values that compare equal, the first is kept. Floats compare as
/// numbers (JSON has no NaN).
///
/// ```
/// use mr_core::{laws, reducers::Max, IdentityMapper, Step};
/// use proptest::prelude::*;
/// // The largest price per product, as a combiner too.
/// let step = Step::map(IdentityMapper::<String, f64>::new()).combine(Max::new()).reduce(Max::new());
/// let records = prop::collection::vec(("[a-c]", -1e9f64..1e9), 1..20);
/// assert!(laws::check_step(&step, records).is_ok());
/// ```
pub type Max<K, V = u64> = Extreme<K, V, true>;

/// The smallest of a key's values: [`Max`]'s twin.
///
/// ```
/// use mr_core::{laws, reducers::Min, IdentityMapper, Step};
/// use proptest::prelude::*;
/// // The first time (ISO 8601 text) each user was seen.
/// let step = Step::map(IdentityMapper::<u64, String>::new()).combine(Min::new()).reduce(Min::new());
/// let records = prop::collection::vec((0u64..5, "2026-1[0-2]-0[1-9]"), 1..20);
/// assert!(laws::check_step(&step, records).is_ok());
/// ```
pub type Min<K, V = u64> = Extreme<K, V, false>;

/// [`Max`] (`MAX = true`) or [`Min`]: keeps a key's extreme value.
pub struct Extreme<K, V, const MAX: bool>(PhantomData<fn(K, V)>);

impl<K, V, const MAX: bool> Extreme<K, V, MAX> {
    /// The reducer.
    pub fn new() -> Self {
        Extreme(PhantomData)
    }
}

impl<K, V, const MAX: bool> Default for Extreme<K, V, MAX> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V, const MAX: bool> Clone for Extreme<K, V, MAX> {
    fn clone(&self) -> Self {
        Self::new()
    }
}

impl<K, V, const MAX: bool> Reducer for Extreme<K, V, MAX>
where
    K: Serialize + DeserializeOwned + Send + 'static,
    V: Serialize + DeserializeOwned + PartialOrd + Send + 'static,
{
    type Key = K;
    type Value = V;
    type OutKey = K;
    type OutValue = V;

    fn reduce(
        &mut self,
        key: K,
        values: Values<'_, V>,
        out: &mut Emitter<K, V>,
    ) -> Result<(), JobError> {
        let mut best: Option<V> = None;
        for v in values {
            let better = match &best {
                None => true,
                Some(b) if MAX => v > *b,
                Some(b) => v < *b,
            };
            if better {
                best = Some(v);
            }
        }
        match best {
            Some(b) => out.emit_ref(&key, &b),
            None => Ok(()),
        }
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
    JobError::msg(format!("the total of key {} overflows u64", key_text(key)))
}

/// A key as an error names it: its JSON.
pub(crate) fn key_text<K: Serialize + ?Sized>(key: &K) -> String {
    serde_json::to_string(key).unwrap_or_else(|_| "?".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{IdentityMapper, Job, Step, testing::run_in_memory};

    struct Extremes<const MAX: bool>;

    impl<const MAX: bool> Job for Extremes<MAX> {
        fn name(&self) -> &str {
            "extremes"
        }
        fn description(&self) -> &str {
            ""
        }
        fn steps(&self) -> Vec<Step> {
            let extreme = Extreme::<String, f64, MAX>::new;
            vec![
                Step::map(IdentityMapper::<String, f64>::new())
                    .combine(extreme())
                    .reduce(extreme()),
            ]
        }
    }

    #[test]
    fn max_and_min_keep_each_keys_extreme_value() {
        let lines = [
            "\"a\"\t1.5",
            "\"b\"\t-3",
            "\"a\"\t-2e300",
            "\"a\"\t9.25",
            "\"b\"\t-3.5",
        ];
        let (max, _) = run_in_memory(&Extremes::<true>, &lines).unwrap();
        assert_eq!(max, ["\"a\"\t9.25", "\"b\"\t-3.0"]);
        let (min, _) = run_in_memory(&Extremes::<false>, &lines).unwrap();
        assert_eq!(min, ["\"a\"\t-2e+300", "\"b\"\t-3.5"]);
    }
}
