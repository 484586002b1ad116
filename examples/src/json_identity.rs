//! `json_identity`: `KEY<TAB>VALUE` records of any JSON, passed through a
//! mapper and a reducer unchanged, so that they come out grouped by key. The
//! key and value are `serde_json::Value`s: a fixture for the promise that
//! numbers go through a step unchanged (floats exactly; an integer beyond 64
//! bits, which a `Value` could keep only as a rounded float, is refused as a
//! bad record).
//!
//! ```text
//! printf '"b"\t1.5\n"a"\t{"id": 18446744073709551615}\n' | mr run json_identity
//! "a"<TAB>{"id":18446744073709551615}
//! "b"<TAB>1.5
//! ```

use mr_core::{Emitter, IdentityMapper, Job, JobError, Reducer, Step, Values};
use serde_json::Value;

/// The job.
pub struct JsonIdentity;

impl Job for JsonIdentity {
    fn name(&self) -> &str {
        "json_identity"
    }
    fn description(&self) -> &str {
        "Passes KEY<TAB>VALUE records of any JSON through unchanged, grouped by key (a fixture: numbers stay exact)."
    }
    fn steps(&self) -> Vec<Step> {
        vec![Step::map(IdentityMapper::<Value, Value>::new()).reduce(EachValue)]
    }
}

/// The reducer: every value of the key, as it came.
#[derive(Clone, Copy, Default)]
pub struct EachValue;

impl Reducer for EachValue {
    type Key = Value;
    type Value = Value;
    type OutKey = Value;
    type OutValue = Value;

    fn reduce(
        &mut self,
        key: Value,
        values: Values<'_, Value>,
        out: &mut Emitter<Value, Value>,
    ) -> Result<(), JobError> {
        for v in values {
            out.emit(&key, v)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mr_core::testing::run_in_memory;

    #[test]
    fn numbers_pass_unchanged_and_big_integers_are_refused() {
        let lines = [
            "\"b\"\t451705.20289303036",
            "\"a\"\t{\"id\": 18446744073709551615, \"neg\": -9223372036854775808}",
            "[1, \"k\"]\t1e300",
        ];
        let (got, _) = run_in_memory(&JsonIdentity, &lines).unwrap();
        assert_eq!(
            got,
            [
                "\"a\"\t{\"id\":18446744073709551615,\"neg\":-9223372036854775808}",
                "\"b\"\t451705.20289303036",
                "[1,\"k\"]\t1e+300",
            ]
        );
        for bad in [
            "\"k\"\t123456789012345678901234567890",
            "{\"id\": 18446744073709551616}\t1",
        ] {
            let e = run_in_memory(&JsonIdentity, &[bad])
                .unwrap_err()
                .to_string();
            assert!(e.contains("does not fit in 64 bits"), "{e}");
        }
    }
}
