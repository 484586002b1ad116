//! `wrong_mean`: **deliberately wrong**, to show what `mr check` and
//! [`mr_core::laws`] catch. Do not copy it.
//!
//! It computes the mean size in bytes of the events of each `client` (events
//! without a string `client` count under `"(none)"`), with a combiner that
//! averages partial averages. The mean of means is not the mean: combining
//! `[1, 2]` into `1.5` and then averaging with `4` gives `2.75`, not `2.33`.
//! So the result depends on how the engine cut the input into splits and
//! spills, which `mr check wrong_mean --input examples/logs/` shows with a
//! three-value counterexample.
//!
//! The fix is a partial state that combines: emit `(size, 1)`, let the
//! combiner sum both fields, and divide only in the reducer (DataFusion's
//! `Accumulator` keeps an average's state as `(sum, count)` for this reason).

use mr_core::protocol::MaybeStr;
use mr_core::{Emitter, Job, JobError, Mapper, Reducer, Step, Values};
use serde::Deserialize;

/// The job.
pub struct WrongMean;

impl Job for WrongMean {
    fn name(&self) -> &str {
        "wrong_mean"
    }
    fn description(&self) -> &str {
        "DELIBERATELY WRONG (averages averages in its combiner): the demo job of `mr check`."
    }
    fn steps(&self) -> Vec<Step> {
        vec![Step::map(EventSizes).combine(Mean).reduce(Mean)]
    }
}

#[derive(Deserialize)]
struct Client<'a> {
    #[serde(borrow, default)]
    client: MaybeStr<'a>,
}

/// The mapper: `(client, size of the event line in bytes)`.
#[derive(Clone, Copy, Default)]
pub struct EventSizes;

impl Mapper for EventSizes {
    type Input<'a> = &'a str;
    type Key = String;
    type Value = f64;

    fn map(&mut self, line: &str, out: &mut Emitter<String, f64>) -> Result<(), JobError> {
        if line.trim().is_empty() {
            return Ok(());
        }
        let event: Client<'_> = serde_json::from_str(line)?;
        let client = event.client.0.as_deref().unwrap_or("(none)");
        out.emit(client, line.len() as f64)
    }
}

/// The mean of the values: right as a reducer, wrong as a combiner.
#[derive(Clone, Copy, Default)]
pub struct Mean;

impl Reducer for Mean {
    type Key = String;
    type Value = f64;
    type OutKey = String;
    type OutValue = f64;

    fn reduce(
        &mut self,
        client: String,
        sizes: Values<'_, f64>,
        out: &mut Emitter<String, f64>,
    ) -> Result<(), JobError> {
        let (sum, n) = sizes.fold((0.0, 0u64), |(s, n), v| (s + v, n + 1));
        out.emit(&client, sum / n as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mr_core::laws::{self, Law, LawError};

    #[test]
    fn laws() {
        let lines: Vec<String> = (0..300)
            .map(|i| {
                let client = ["web", "spark"][i % 2];
                format!(
                    r#"{{"client": "{client}", "pad": "{}"}}"#,
                    "x".repeat(i % 17)
                )
            })
            .collect();
        let Err(LawError::Violation(v)) = laws::check_job_on_sample(&WrongMean, &lines) else {
            panic!("the wrong mean should break a law");
        };
        assert_eq!(v.law, Law::Split, "{v}");
        assert!(v.values.len() <= 4, "{v}");
    }
}
