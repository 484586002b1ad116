//! `mr_next_word_stats`: for each word, which words come next and how often
//! (a port of mrjob's `mr_next_word_stats.py`, the example of why sorted
//! values are useful).
//!
//! 1. each pair of adjacent words (Python's `[\w']+`, see
//!    [`WORD_RE`](crate::mr_most_used_word::WORD_RE), lowercased) counts
//!    `([prev, word], 1)` and `([prev, "*"], 1)`; summed; then re-keyed by
//!    `prev` as `["A: total", n]` or `["B: stats", [word, n]]`;
//! 2. with values sorted, each `prev` sees its total first ("A" < "B"), then
//!    emits `[prev, word]` with `[total, count, percent]`.
//!
//! Output: `["prev","word"]<TAB>[total,count,percent]`.

use mr_core::reducers::Sum;
use mr_core::{
    Emitter, IdentityMapper, Job, JobError, Mapper, Reducer, Step, TaskContext, TextLine, Values,
};
use serde_json::Value;

/// A value of step 2: `["A: total", n]` or `["B: stats", [word, n]]`.
pub type Tagged = (String, Value);

/// The job.
pub struct MrNextWordStats;

impl Job for MrNextWordStats {
    fn name(&self) -> &str {
        "mr_next_word_stats"
    }
    fn description(&self) -> &str {
        "Which words follow each word, with percentages: sorted values, compound keys (port of mrjob's mr_next_word_stats)."
    }
    fn steps(&self) -> Vec<Step> {
        vec![
            Step::map(Pairs::default())
                .combine(Sum::new())
                .reduce(SumCounts),
            Step::map(IdentityMapper::<String, Tagged>::new())
                .sort_values()
                .reduce(ComputeStats),
        ]
    }
}

/// Emits `([prev, "*"], 1)` and `([prev, word], 1)` for adjacent words.
#[derive(Clone, Default)]
pub struct Pairs {
    re: Option<regex::Regex>,
}

impl Mapper for Pairs {
    type Input<'a> = TextLine<'a>;
    type Key = (String, String);
    type Value = u64;

    fn init(&mut self, _ctx: &TaskContext) -> Result<(), JobError> {
        self.re = Some(regex::Regex::new(crate::mr_most_used_word::WORD_RE)?);
        Ok(())
    }

    fn map(
        &mut self,
        TextLine(line): TextLine<'_>,
        out: &mut Emitter<(String, String), u64>,
    ) -> Result<(), JobError> {
        let Some(re) = &self.re else {
            return Ok(());
        };
        let mut prev: Option<String> = None;
        for m in re.find_iter(&line) {
            let word = m.as_str().to_lowercase();
            if let Some(p) = prev {
                out.emit(&(p.clone(), "*".to_string()), 1)?;
                out.emit(&(p, word.clone()), 1)?;
            }
            prev = Some(word);
        }
        Ok(())
    }
}

/// Sums a pair's counts; re-keys by the first word.
#[derive(Clone)]
pub struct SumCounts;

impl Reducer for SumCounts {
    type Key = (String, String);
    type Value = u64;
    type OutKey = String;
    type OutValue = Tagged;

    fn reduce(
        &mut self,
        (prev, word): (String, String),
        counts: Values<'_, u64>,
        out: &mut Emitter<String, Tagged>,
    ) -> Result<(), JobError> {
        let count: u64 = counts.sum();
        if word == "*" {
            out.emit(&prev, ("A: total".to_string(), count.into()))
        } else {
            out.emit(
                &prev,
                ("B: stats".to_string(), serde_json::json!([word, count])),
            )
        }
    }
}

/// With the total first, the share of each following word.
#[derive(Clone)]
pub struct ComputeStats;

impl Reducer for ComputeStats {
    type Key = String;
    type Value = Tagged;
    type OutKey = (String, String);
    type OutValue = (u64, u64, f64);

    fn reduce(
        &mut self,
        prev: String,
        values: Values<'_, Tagged>,
        out: &mut Emitter<(String, String), (u64, u64, f64)>,
    ) -> Result<(), JobError> {
        let mut total: Option<u64> = None;
        for (tag, data) in values {
            if tag == "A: total" {
                total = data.as_u64();
                continue;
            }
            let (Some(word), Some(count)) = (data[0].as_str(), data[1].as_u64()) else {
                return Err(JobError::msg(format!("bad stats value {data}")));
            };
            let total = total.ok_or("a B value came before the A total: values are not sorted")?;
            let percent = 100.0 * count as f64 / total as f64;
            out.emit(&(prev.clone(), word.to_string()), (total, count, percent))?;
        }
        Ok(())
    }
}
