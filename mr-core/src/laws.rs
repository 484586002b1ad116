//! Laws: property tests that a step's combiner and reducer are safe to split.
//!
//! The engine may run a combiner 0, 1 or many times, on any group of a key's
//! values, in any order: the local runner combines in its sort buffer, at
//! each spill and not at all for keys seen once, and Hadoop does as it likes.
//! A job whose results depend on that (the classic mistake: a combiner that
//! averages averages) gives answers that silently change with the chunk size.
//! These checks find such jobs and shrink the failure to a handful of values.
//!
//! # The laws
//!
//! For every key and every list of values the mapper may emit for it:
//!
//! 1. [`Law::CombinerKeepsKey`]: the combiner emits only the key it was given;
//! 2. [`Law::Deterministic`]: reducing the same values twice gives the same output;
//! 3. [`Law::Order`]: the output does not depend on the order of the values
//!    (not checked when the step [sorts values](crate::TypedStep::sort_values));
//! 4. [`Law::Split`]: the output is the same whether the reducer gets the raw
//!    values or the values after the combiner ran over groups of them, once
//!    or in several rounds (combining outputs of combines), with some groups
//!    left alone (associativity and commutativity of the combiner);
//! 5. [`Law::CombinerOutputType`]: what the combiner emits can be read back as
//!    the mapper's value type (a float NaN, for one, encodes as `null`).
//!
//! Outputs are compared as multisets of records (as sorted lists), or as lists
//! when the step sorts values. A reducer that fails on some values must fail on
//! the combined values too (any two failures count as the same outcome).
//!
//! **Floating point** is compared exactly: the wrong mean must be caught. A sum
//! of `f64` in another order may differ in the last bit, so a float-summing job
//! can fail [`Law::Order`] or [`Law::Split`] on values with fractions; keep
//! integer (or fixed-point) partial states where you can, as the shipped jobs do.
//!
//! # Use
//!
//! From a job's tests, with values recorded by running the job's own mapper on
//! a few sample lines ([`assert_job_laws`]), or drawn from a proptest strategy
//! of mapper output records ([`assert_step_laws`]):
//!
//! ```
//! use mr_core::{laws, reducers::Sum, Emitter, Job, JobError, Mapper, Step};
//! use proptest::prelude::*;
//!
//! #[derive(Clone)]
//! struct Words;
//! impl Mapper for Words {
//!     type Input<'a> = &'a str;
//!     type Key = String;
//!     type Value = u64;
//!     fn map(&mut self, line: &str, out: &mut Emitter<String, u64>) -> Result<(), JobError> {
//!         line.split_whitespace().try_for_each(|w| out.emit(w, 1))
//!     }
//! }
//! struct WordCount;
//! impl Job for WordCount {
//!     fn name(&self) -> &str { "word_count" }
//!     fn description(&self) -> &str { "Counts words." }
//!     fn steps(&self) -> Vec<Step> { vec![Step::map(Words).combine(Sum::new()).reduce(Sum::new())] }
//! }
//!
//! laws::assert_job_laws(&WordCount, &["a b a", "b a c", "a"]);
//! let records = prop::collection::vec(("[ab]", 0u64..1000), 1..20);
//! laws::assert_step_laws(&WordCount.steps()[0], records);
//! ```
//!
//! [`check_step`], [`check_job_on_sample`] and [`LawConfig`] return the
//! [`LawViolation`] instead of panicking; `mr check` uses them.

use crate::counters::Counters;
use crate::emit::VecSink;
use crate::error::Error;
use crate::job::{Job, RecordError, ReduceFn, SliceValues, Step, TaskContext, TaskKind};
use crate::options::JobParams;
use crate::testing::{self, FileLines};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed, TestCaseError, TestError, TestRunner};
use serde::Serialize;
use serde_json::Value as Json;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

/// Cases checked by default, per step.
pub const DEFAULT_CASES: u32 = 128;
/// The most values of one key in a generated case, by default.
pub const DEFAULT_MAX_VALUES: usize = 16;
/// The most rounds of combining in one case (a round combines groups of the
/// previous round's output).
const MAX_ROUNDS: usize = 3;
/// Bound on proptest's shrinking steps, so a failure is reported quickly.
const MAX_SHRINK_ITERS: u32 = 20_000;

/// One law a step's combiner and reducer must obey. See the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Law {
    /// Keys and values of the given records encode as JSON.
    Encodes,
    /// The combiner emits only the key it was given.
    CombinerKeepsKey,
    /// What the combiner emits can be read back as the mapper's value type.
    CombinerOutputType,
    /// Reducing the same values twice gives the same output.
    Deterministic,
    /// The reducer's output does not depend on the order of the values.
    Order,
    /// Combining groups of the values first does not change the output.
    Split,
    /// A fold's `merge` agrees with its `accumulate` ([`check_fold`]).
    FoldMerge,
}

impl Law {
    /// A short name: `split`, `order`, `deterministic`, `combiner-key`,
    /// `combiner-type`, `fold-merge`, `encodes`.
    pub fn name(self) -> &'static str {
        match self {
            Law::Encodes => "encodes",
            Law::CombinerKeepsKey => "combiner-key",
            Law::CombinerOutputType => "combiner-type",
            Law::Deterministic => "deterministic",
            Law::Order => "order",
            Law::Split => "split",
            Law::FoldMerge => "fold-merge",
        }
    }

    /// What the law says, in one sentence.
    pub fn description(self) -> &'static str {
        match self {
            Law::Encodes => "keys and values must encode as JSON",
            Law::CombinerKeepsKey => "the combiner must emit only the key it was given",
            Law::CombinerOutputType => {
                "the combiner must emit values the reducer can read as the mapper's value type"
            }
            Law::Deterministic => "the reducer must give the same output for the same values",
            Law::Order => {
                "the reducer's output must not depend on the order of the values \
                 (they arrive in no particular order unless the step sorts values)"
            }
            Law::Split => {
                "the output must not change when the combiner runs first, on any groups of \
                 the values, any number of times (the combiner must be associative and \
                 commutative; averaging partial averages is the classic mistake)"
            }
            Law::FoldMerge => {
                "the fold's merge must agree with its accumulate: values folded in parts, the \
                 parts' accumulators merged, must finish as the values folded at once (the \
                 engine folds each chunk of the input apart, then merges)"
            }
        }
    }
}

impl fmt::Display for Law {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The laws that apply to a step: none for a map-only step; the combiner's
/// laws only when it has a combiner; [`Law::Order`] only when it does not
/// sort values; [`Law::FoldMerge`] only for a fold step
/// ([`TypedStep::fold`](crate::TypedStep::fold)), whose combiner and
/// reducer are its fold's `merge` and `finish`.
///
/// ```
/// # use mr_core::{laws::{laws_for, Law}, reducers::Sum, IdentityMapper, Step};
/// let step = Step::map(IdentityMapper::<String, u64>::new()).combine(Sum::new()).reduce(Sum::new());
/// assert_eq!(laws_for(&step), [Law::CombinerKeepsKey, Law::Deterministic, Law::Order,
///                              Law::Split, Law::CombinerOutputType]);
/// let fold = Step::map(IdentityMapper::<String, u64>::new()).fold(mr_core::fold::Count::new());
/// assert_eq!(laws_for(&fold).last(), Some(&Law::FoldMerge));
/// ```
pub fn laws_for(step: &Step) -> Vec<Law> {
    let mut laws = Vec::new();
    if !step.has_reducer() {
        return laws;
    }
    if step.has_combiner() {
        laws.push(Law::CombinerKeepsKey);
    }
    laws.push(Law::Deterministic);
    if !step.sorts_values() {
        laws.push(Law::Order);
    }
    if step.has_combiner() {
        laws.push(Law::Split);
        laws.push(Law::CombinerOutputType);
    }
    if step.fold_law.is_some() {
        laws.push(Law::FoldMerge);
    }
    laws
}

/// A broken law, with the smallest counterexample found.
///
/// Its `Display` names the law and prints the counterexample as JSON: the
/// key, the values, what was done to them and the two outputs that differ.
#[derive(Debug, Clone, PartialEq)]
pub struct LawViolation {
    /// The law.
    pub law: Law,
    /// The step (0-based), when the check knew it.
    pub step: Option<usize>,
    /// The key, as JSON.
    pub key: Json,
    /// The key's values, as given to the laws (before any reordering), as JSON.
    pub values: Vec<Json>,
    /// What was done to the values and what came out, as named JSON values
    /// (`combines`, `reordered`, `reduce(values)`, ...), in order.
    pub details: Vec<(String, Json)>,
}

impl LawViolation {
    /// The whole counterexample as one JSON object.
    pub fn to_json(&self) -> Json {
        let mut m = serde_json::Map::new();
        for (k, v) in self.fields() {
            m.insert(k, v);
        }
        Json::Object(m)
    }

    fn fields(&self) -> Vec<(String, Json)> {
        let mut f = vec![("law".to_string(), Json::from(self.law.name()))];
        if let Some(s) = self.step {
            f.push(("step".into(), Json::from(s)));
        }
        f.push(("key".into(), self.key.clone()));
        f.push(("values".into(), Json::Array(self.values.clone())));
        f.extend(self.details.iter().cloned());
        f
    }
}

impl fmt::Display for LawViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "law `{}` broken", self.law)?;
        if let Some(s) = self.step {
            write!(f, " in step {s}")?;
        }
        writeln!(f, ": {}", self.law.description())?;
        let n = self.values.len();
        let s = if n == 1 { "" } else { "s" };
        writeln!(f, "counterexample ({n} value{s}):")?;
        // One field a line, each value compact: readable and still JSON.
        writeln!(f, "{{")?;
        let fields = self.fields();
        for (i, (k, v)) in fields.iter().enumerate() {
            let comma = if i + 1 < fields.len() { "," } else { "" };
            writeln!(f, "  {}: {v}{comma}", Json::from(k.as_str()))?;
        }
        write!(f, "}}")
    }
}

impl std::error::Error for LawViolation {}

/// Why [`check_job_on_sample`] failed: a law, or the sample itself.
#[derive(Debug)]
pub enum LawError {
    /// A law is broken.
    Violation(Box<LawViolation>),
    /// The job failed on the sample before any law could be checked.
    Sample(Error),
}

impl fmt::Display for LawError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LawError::Violation(v) => v.fmt(f),
            LawError::Sample(e) => write!(f, "running the job on the sample: {e}"),
        }
    }
}

impl std::error::Error for LawError {}

impl From<LawViolation> for LawError {
    fn from(v: LawViolation) -> LawError {
        LawError::Violation(Box::new(v))
    }
}

/// How many cases to try and how to draw them.
///
/// ```
/// let cfg = mr_core::laws::LawConfig { cases: 64, ..Default::default() };
/// assert_eq!(cfg.max_values, mr_core::laws::DEFAULT_MAX_VALUES);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LawConfig {
    /// Cases tried per step (each: one key, some of its values, one way of
    /// reordering and combining them).
    pub cases: u32,
    /// The most values of one key in a case.
    pub max_values: usize,
    /// The random seed: the same seed tries the same cases.
    pub seed: u64,
    /// The job's options as its tasks see them ([`JobParams::defaults`],
    /// and what a test sets).
    pub params: Arc<JobParams>,
}

impl Default for LawConfig {
    fn default() -> Self {
        LawConfig {
            cases: DEFAULT_CASES,
            max_values: DEFAULT_MAX_VALUES,
            seed: 0,
            params: Arc::default(),
        }
    }
}

impl LawConfig {
    /// Checks a step's laws on records drawn from `records`: a strategy of
    /// lists of the mapper's output `(key, value)` pairs. Each key's values
    /// are checked in the order given.
    pub fn check_step<K, V, S>(&self, step: &Step, records: S) -> Result<(), LawViolation>
    where
        K: Serialize,
        V: Serialize,
        S: Strategy<Value = Vec<(K, V)>>,
    {
        if laws_for(step).is_empty() {
            return Ok(());
        }
        let ctx = Ctx {
            step,
            index: None,
            params: &self.params,
        };
        let strategy = (records.prop_map(encode_records), plan(self.max_values));
        self.run(&ctx, strategy, |(records, plan)| {
            let records = match records {
                Ok(r) => r,
                Err((key, value, e)) => {
                    return Err(Box::new(Failing {
                        key: Vec::new(),
                        values: Vec::new(),
                        plan: None,
                        violation: LawViolation {
                            law: Law::Encodes,
                            step: None,
                            key: Json::String(key.clone()),
                            values: vec![Json::String(value.clone())],
                            details: vec![("error".into(), Json::String(e.clone()))],
                        },
                    }));
                }
            };
            let mut groups: BTreeMap<&[u8], Vec<Vec<u8>>> = BTreeMap::new();
            for (k, v) in records {
                groups.entry(k).or_default().push(v.clone());
            }
            for (k, vs) in groups {
                // The mapper's values: a fold step's laws see them folded
                // (each one an accumulator), and its fold law as they are.
                ctx.fold_case(k, &vs)?;
                ctx.case(k, vs, plan)?;
            }
            Ok(())
        })
    }

    /// Checks one step's laws on the values recorded in `sample` (see
    /// [`record_sample`]): each case picks a key, draws some of its values
    /// (with repeats), reorders and combines them. A fold step's own law
    /// ([`Law::FoldMerge`]) is checked the same way on the values its mapper
    /// emitted before the fold.
    pub fn check_recorded(&self, step: &Step, sample: &StepSample) -> Result<(), LawViolation> {
        if laws_for(step).is_empty() {
            return Ok(());
        }
        let ctx = Ctx {
            step,
            index: Some(sample.step),
            params: &self.params,
        };
        let draw = |groups: &[Group], key: &Index, picks: &[Index]| {
            let (k, vs) = &groups[key.index(groups.len())];
            let values: Vec<Vec<u8>> = picks
                .iter()
                .map(|i| vs[i.index(vs.len())].clone())
                .collect();
            (k.clone(), values)
        };
        let picks = || vec(any::<Index>(), 1..=self.max_values.max(1));
        if !sample.groups.is_empty() {
            let strategy = (any::<Index>(), picks(), plan(self.max_values));
            self.run(&ctx, strategy, |(key, picks, plan)| {
                let (k, values) = draw(&sample.groups, key, picks);
                ctx.case(&k, values, plan)
            })?;
        }
        if !sample.unfolded.is_empty() {
            self.run(&ctx, (any::<Index>(), picks()), |(key, picks)| {
                let (k, values) = draw(&sample.unfolded, key, picks);
                ctx.fold_case(&k, &values)
            })?;
        }
        Ok(())
    }

    /// Runs the job on `sample` lines in memory, recording each step's mapper
    /// output, then checks every step's laws on the recorded values.
    pub fn check_job_on_sample<L: AsRef<[u8]>>(
        &self,
        job: &dyn Job,
        sample: &[L],
    ) -> Result<(), LawError> {
        // The job's option defaults, and over them what `params` sets.
        let cfg = LawConfig {
            cases: self.cases,
            max_values: self.max_values,
            seed: self.seed,
            params: Arc::new((*self.params).clone().with_defaults_of(job)),
        };
        let recorded = record_sample_with(job, &cfg.params, sample).map_err(LawError::Sample)?;
        // The steps these options choose (`Job::steps_for`), as the run
        // records them: the default steps' laws were checked (probe
        // /tmp/probe19-api repro 08).
        let steps = crate::job::steps_of(job, &cfg.params).map_err(LawError::Sample)?;
        for (step, s) in steps.iter().zip(&recorded.steps) {
            cfg.check_recorded(step, s)?;
        }
        Ok(())
    }

    /// Runs the cases; on a failure, proptest shrinks the case, then
    /// [`Ctx::shrink`] drops values one at a time with their place in the plan.
    fn run<S: Strategy>(
        &self,
        ctx: &Ctx<'_>,
        strategy: S,
        check: impl Fn(&S::Value) -> Result<(), Box<Failing>>,
    ) -> Result<(), LawViolation> {
        let config = Config {
            cases: self.cases,
            failure_persistence: None,
            max_shrink_iters: MAX_SHRINK_ITERS,
            rng_algorithm: RngAlgorithm::ChaCha,
            rng_seed: RngSeed::Fixed(self.seed),
            ..Config::default()
        };
        let mut runner = TestRunner::new(config);
        let last = RefCell::new(None);
        let result = runner.run(&strategy, |case| match check(&case) {
            Ok(()) => Ok(()),
            Err(f) => {
                let law = f.violation.law.name();
                *last.borrow_mut() = Some(f);
                Err(TestCaseError::fail(law))
            }
        });
        match result {
            Ok(()) => Ok(()),
            // Run the minimal case again for its details; a job that does not
            // fail twice the same way is reported with its last failure.
            Err(TestError::Fail(reason, minimal)) => Err(match check(&minimal) {
                Err(f) => ctx.shrink(*f),
                Ok(()) => match last.into_inner() {
                    Some(f) => f.violation,
                    None => LawViolation {
                        law: Law::Deterministic,
                        step: ctx.index,
                        key: Json::Null,
                        values: Vec::new(),
                        details: vec![("failure".into(), Json::String(reason.to_string()))],
                    },
                },
            }),
            // No case is ever rejected, so proptest has no reason to abort.
            Err(TestError::Abort(_)) => Ok(()),
        }
    }
}

/// Checks a step's laws on records drawn from `records` (a strategy of lists
/// of the mapper's output pairs), with the default [`LawConfig`].
///
/// ```
/// use mr_core::{laws, reducers::Sum, IdentityMapper, Step};
/// use proptest::prelude::*;
/// let step = Step::map(IdentityMapper::<String, u64>::new()).combine(Sum::new()).reduce(Sum::new());
/// let records = prop::collection::vec(("[a-c]", 0u64..100), 1..10);
/// assert!(laws::check_step(&step, records).is_ok());
/// ```
pub fn check_step<K, V, S>(step: &Step, records: S) -> Result<(), LawViolation>
where
    K: Serialize,
    V: Serialize,
    S: Strategy<Value = Vec<(K, V)>>,
{
    LawConfig::default().check_step(step, records)
}

/// Runs `job` on the `sample` lines in memory and checks every step's laws on
/// the values its mapper emitted, with the default [`LawConfig`].
pub fn check_job_on_sample<L: AsRef<[u8]>>(job: &dyn Job, sample: &[L]) -> Result<(), LawError> {
    LawConfig::default().check_job_on_sample(job, sample)
}

/// [`check_step`], for tests: panics with the counterexample.
#[track_caller]
pub fn assert_step_laws<K, V, S>(step: &Step, records: S)
where
    K: Serialize,
    V: Serialize,
    S: Strategy<Value = Vec<(K, V)>>,
{
    if let Err(v) = check_step(step, records) {
        panic!("{v}");
    }
}

/// [`check_job_on_sample`], for tests: panics with the counterexample.
#[track_caller]
pub fn assert_job_laws<L: AsRef<[u8]>>(job: &dyn Job, sample: &[L]) {
    if let Err(e) = check_job_on_sample(job, sample) {
        panic!("job {}: {e}", job.name());
    }
}

/// Checks that a [`Fold`](crate::Fold)'s `merge` agrees with its
/// `accumulate` on one key's `values`: folding them all into one
/// accumulator, and folding each run of them (cut at every place, and into
/// single values) into accumulators then merged (in order and in reverse),
/// finish to the same output, or all fail to finish (a count that
/// overflows does either way). The engine folds each chunk of the input
/// apart and merges the chunks' accumulators, so a fold that breaks this
/// (a `merge` that takes the max of sums) gives results that depend on the
/// chunking; the step laws ([`check_step`]) see only accumulators, and
/// cannot tell. `Err` says how the outputs differ.
///
/// ```
/// use mr_core::{laws::check_fold, Fold, fold::Count};
/// assert!(check_fold(&Count::<String>::new(), &"k".into(), vec![1, 2, 3]).is_ok());
/// #[derive(Clone)]
/// struct SumThenMax;
/// impl Fold for SumThenMax {
///     type Key = String; type Value = u64; type Acc = u64; type Out = u64;
///     fn init(&self) -> u64 { 0 }
///     fn accumulate(&self, acc: &mut u64, v: u64) { *acc += v }
///     fn merge(&self, acc: &mut u64, other: u64) { *acc = (*acc).max(other) }
///     fn finish(&self, _: &String, acc: u64) -> u64 { acc }
/// }
/// let e = check_fold(&SumThenMax, &"k".into(), vec![1, 2, 3]).unwrap_err();
/// assert!(e.contains("6") && e.contains("merge"), "{e}");
/// ```
pub fn check_fold<F: crate::Fold>(
    fold: &F,
    key: &F::Key,
    values: Vec<F::Value>,
) -> Result<(), String> {
    // Values copied through their JSON (a Fold's types are serde's).
    let encoded: Vec<Json> = values
        .iter()
        .map(|v| serde_json::to_value(v).map_err(|e| format!("a value does not encode: {e}")))
        .collect::<Result<_, _>>()?;
    let copy = |j: &Json| {
        serde_json::from_value::<F::Value>(j.clone())
            .map_err(|e| format!("a value does not decode: {e}"))
    };
    let fold_all = |part: &[Json]| -> Result<F::Acc, String> {
        let mut acc = fold.init();
        for v in part {
            fold.accumulate(&mut acc, copy(v)?);
        }
        Ok(acc)
    };
    // An accumulator's output, or the error finishing it gave: any two
    // errors are the same outcome, as in the step laws.
    let out = |acc: F::Acc| -> Result<Result<Json, String>, String> {
        match fold.try_finish(key, acc) {
            Err(e) => Ok(Err(e.to_string())),
            Ok(out) => serde_json::to_value(&out)
                .map(Ok)
                .map_err(|e| format!("an output does not encode: {e}")),
        }
    };
    let shown = |o: &Result<Json, String>| match o {
        Ok(j) => j.to_string(),
        Err(e) => format!("an error ({e})"),
    };
    let whole = out(fold_all(&encoded)?)?;
    let mut splits: Vec<Vec<&[Json]>> = (1..encoded.len())
        .map(|i| vec![&encoded[..i], &encoded[i..]])
        .collect();
    splits.push(encoded.chunks(1).collect());
    for parts in splits {
        for reversed in [false, true] {
            let mut accs = parts
                .iter()
                .map(|p| fold_all(p))
                .collect::<Result<Vec<_>, _>>()?;
            if reversed {
                accs.reverse();
            }
            let mut acc = fold.init();
            for a in accs {
                fold.merge(&mut acc, a);
            }
            let merged = out(acc)?;
            if merged.is_ok() != whole.is_ok() || merged.is_ok() && merged != whole {
                return Err(format!(
                    "folding the values {} at once gives {}, but folding them in {} parts \
                     and merging the parts' accumulators{} gives {}: merge must agree with \
                     accumulate (the engine folds each chunk of the input apart, then merges)",
                    Json::Array(encoded.clone()),
                    shown(&whole),
                    parts.len(),
                    if reversed { " in reverse order" } else { "" },
                    shown(&merged),
                ));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Recording a sample.

/// What a job's mappers emitted on sample input, step by step.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// Per step: the mapper's output, grouped by key.
    pub steps: Vec<StepSample>,
    /// The sample lines the first mapper accepted (blank lines included).
    pub accepted_lines: Vec<Vec<u8>>,
    /// For a sample recorded from files ([`record_sample_files`]): each
    /// file with the lines its mapper accepted (`accepted_lines` file by
    /// file). Empty for a sample recorded from lines.
    pub files: Vec<FileLines>,
}

/// One step's mapper output on the sample, grouped by key (keys in byte
/// order, each key's values in the order emitted).
#[derive(Debug, Clone, Default)]
pub struct StepSample {
    /// The step (0-based).
    pub step: usize,
    /// Input lines the step's mapper rejected (bad JSON, mapper errors):
    /// skipped, as `--skip-bad-records` would.
    pub rejected_lines: usize,
    groups: Vec<Group>,
    /// A fold step's mapper output before the fold (the values it folds),
    /// grouped by key; empty for other steps.
    unfolded: Vec<Group>,
}

/// A key and its values, encoded.
type Group = (Vec<u8>, Vec<Vec<u8>>);

impl StepSample {
    /// Distinct keys recorded.
    pub fn keys(&self) -> usize {
        self.groups.len()
    }

    /// Values recorded, over all keys.
    pub fn values(&self) -> usize {
        self.groups.iter().map(|(_, v)| v.len()).sum()
    }

    /// Bytes recorded: keys and values as encoded, one key per value.
    pub fn bytes(&self) -> usize {
        self.groups
            .iter()
            .map(|(k, vs)| vs.iter().map(|v| k.len() + v.len()).sum::<usize>())
            .sum()
    }

    /// True when the mapper emitted nothing.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// True when some key has two values recorded. Without one, every
    /// case of the laws is one value repeated: a reducer that averages
    /// averages, or that depends on the order of its values, cannot fail.
    pub fn has_two_values_of_a_key(&self) -> bool {
        self.groups.iter().any(|(_, vs)| vs.len() >= 2)
    }
}

/// Runs `job` on `lines` in memory, the plain way (no combiner, all of a
/// key's values to one reducer call), and records what each step's mapper
/// emits. Lines a mapper rejects are skipped and counted.
///
/// ```
/// # use mr_core::*;
/// # #[derive(Clone)] struct Lines;
/// # impl Mapper for Lines { type Input<'a> = &'a str; type Key = String; type Value = u64;
/// #   fn map(&mut self, l: &str, out: &mut Emitter<String, u64>) -> Result<(), JobError> { out.emit(l, 1) } }
/// # struct Count; impl Job for Count { fn name(&self) -> &str { "count" } fn description(&self) -> &str { "" }
/// #   fn steps(&self) -> Vec<Step> { vec![Step::map(Lines).reduce(reducers::Sum::new())] } }
/// let s = mr_core::laws::record_sample(&Count, &["a", "b", "a"]).unwrap();
/// assert_eq!((s.steps[0].keys(), s.steps[0].values()), (2, 3));
/// ```
pub fn record_sample<L: AsRef<[u8]>>(job: &dyn Job, lines: &[L]) -> Result<Sample, Error> {
    record_sample_with(job, &Arc::new(JobParams::defaults(job)), lines)
}

/// [`record_sample`] with the job's options as given in `params`.
pub fn record_sample_with<L: AsRef<[u8]>>(
    job: &dyn Job,
    params: &Arc<JobParams>,
    lines: &[L],
) -> Result<Sample, Error> {
    let lines: Vec<Vec<u8>> = lines.iter().map(|l| l.as_ref().to_vec()).collect();
    record_input(job, params, testing::Input::Lines(&lines))
}

/// Mappers a sample recorded from files is cut into (a file at least one):
/// a mapper that totals in its final hook (a fold, mrjob's `mapper_final`)
/// then gives a key several values to check the laws on, as the map tasks
/// of a run do, not one.
pub const RECORD_MAPPERS: usize = 8;

/// [`record_sample_with`] on input files, as a run reads them: the lines
/// cut into about [`RECORD_MAPPERS`] pieces, each through a mapper of its
/// own, told its file's URI; a mapper that reads CSV takes its file's first
/// line as the header. [`Sample::files`] gives the lines each file's
/// mappers accepted.
///
/// ```
/// # use mr_core::*;
/// # #[derive(Clone)] struct Cells;
/// # impl Mapper for Cells { type Input<'a> = Csv<Vec<String>>; type Key = String; type Value = u64;
/// #   fn map(&mut self, Csv(r): Csv<Vec<String>>, out: &mut Emitter<String, u64>) -> Result<(), JobError> {
/// #     for c in r { out.emit(&c, 1)?; } Ok(()) } }
/// # struct Count; impl Job for Count { fn name(&self) -> &str { "count" } fn description(&self) -> &str { "" }
/// #   fn steps(&self) -> Vec<Step> { vec![Step::map(Cells).reduce(reducers::Sum::new())] } }
/// use mr_core::testing::FileLines;
/// let file = |uri: &str, lines: &[&str]| FileLines {
///     uri: uri.into(),
///     lines: lines.iter().map(|l| l.as_bytes().to_vec()).collect(),
/// };
/// let files = vec![file("file:///a.csv", &["x,y", "a,b"]), file("file:///b.csv", &["x,y", "a,c"])];
/// let params = std::sync::Arc::new(JobParams::defaults(&Count));
/// let s = mr_core::laws::record_sample_files(&Count, &params, &files).unwrap();
/// // The headers are no records: a, b, a, c.
/// assert_eq!((s.steps[0].keys(), s.steps[0].values()), (3, 4));
/// assert_eq!(s.files, files);
/// ```
pub fn record_sample_files(
    job: &dyn Job,
    params: &Arc<JobParams>,
    files: &[FileLines],
) -> Result<Sample, Error> {
    // About RECORD_MAPPERS mappers, as a run's map tasks would read the
    // sample.
    let lines: usize = files.iter().map(|f| f.lines.len()).sum();
    let per_mapper = lines.div_ceil(RECORD_MAPPERS).max(1);
    record_input(job, params, testing::Input::Files(files, per_mapper))
}

/// Records `job` on `input`, into its first step.
fn record_input(
    job: &dyn Job,
    params: &Arc<JobParams>,
    input: testing::Input<'_>,
) -> Result<Sample, Error> {
    let mut sample = Sample::default();
    let mut counters = Counters::default();
    let mut lines = Vec::new();
    for (i, step) in crate::job::steps_of(job, params)?.iter().enumerate() {
        let step_input = if i == 0 {
            input
        } else {
            testing::Input::Lines(&lines)
        };
        let mapped = testing::map_input(step, i, step_input, &mut counters, true, params)?;
        if i == 0 {
            sample.accept(input, &mapped);
        }
        let rejected = mapped.iter().map(|m| m.rejected).sum();
        let records: Vec<_> = mapped.into_iter().flat_map(|m| m.records).collect();
        // A fold step's mapper emitted accumulators; its fold law needs the
        // values, from the same input through the mapper alone.
        let unfolded = match &step.fold_law {
            None => Vec::new(),
            Some(law) => {
                let plain = law.unfolded_step(step);
                let mut scratch = Counters::default();
                let mapped = testing::map_input(&plain, i, step_input, &mut scratch, true, params)?;
                testing::group(mapped.into_iter().flat_map(|m| m.records).collect())
                    .into_iter()
                    .collect()
            }
        };
        let mut groups = BTreeMap::new();
        let output = match step.new_reducer() {
            None => testing::record_lines(records),
            Some(mut reducer) => {
                groups = testing::group(records);
                testing::reduce_groups(step, i, &mut *reducer, &groups, &mut counters, params)?
            }
        };
        sample.steps.push(StepSample {
            step: i,
            rejected_lines: rejected,
            groups: groups.into_iter().collect(),
            unfolded,
        });
        lines = output;
    }
    Ok(sample)
}

impl Sample {
    /// Keeps the lines of `input` that the first step's mappers accepted.
    fn accept(&mut self, input: testing::Input<'_>, mapped: &[testing::Mapped]) {
        let pick = |lines: &[Vec<u8>], m: &testing::Mapped| -> Vec<Vec<u8>> {
            m.accepted.iter().map(|&n| lines[n].clone()).collect()
        };
        match input {
            testing::Input::Lines(lines) => {
                self.accepted_lines = mapped.iter().flat_map(|m| pick(lines, m)).collect();
            }
            testing::Input::Files(files, _) => {
                for (f, m) in files.iter().zip(mapped) {
                    let lines = pick(&f.lines, m);
                    self.accepted_lines.extend(lines.iter().cloned());
                    self.files.push(FileLines {
                        uri: f.uri.clone(),
                        lines,
                    });
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The checks, on encoded records.

type Record = (Vec<u8>, Vec<u8>);
/// Encoded records, or the key, value and error of the first that failed.
type Encoded = Result<Vec<Record>, (String, String, String)>;

fn encode_records<K: Serialize, V: Serialize>(records: Vec<(K, V)>) -> Encoded {
    let mut out = Vec::with_capacity(records.len());
    for (k, v) in records {
        match (serde_json::to_vec(&k), serde_json::to_vec(&v)) {
            (Ok(k), Ok(v)) => out.push((k, v)),
            (k, v) => {
                let show = |r: &serde_json::Result<Vec<u8>>| match r {
                    Ok(b) => String::from_utf8_lossy(b).into_owned(),
                    Err(_) => "(cannot encode)".to_string(),
                };
                let err = match (&k, &v) {
                    (Err(e), _) | (_, Err(e)) => e.to_string(),
                    _ => String::new(),
                };
                return Err((show(&k), show(&v), err));
            }
        }
    }
    Ok(out)
}

/// How a case reorders and combines a key's values. Every part shrinks
/// towards "no reordering, one group, combined once".
#[derive(Debug, Clone)]
struct Plan {
    /// Sort keys: the values are stably sorted by them (all zeros: no change).
    order: Vec<u8>,
    /// Rounds of combining, each over the previous round's output.
    rounds: Vec<Round>,
}

#[derive(Debug, Clone)]
struct Round {
    /// `cuts[j]`: a group ends after position `j`.
    cuts: Vec<bool>,
    /// `skip[g]`: group `g` is passed on without combining.
    skip: Vec<bool>,
}

impl Round {
    fn groups(&self, n: usize) -> Vec<(Range<usize>, bool)> {
        let mut out = Vec::new();
        let mut start = 0;
        for j in 0..n {
            if j + 1 == n || self.cuts.get(j).copied().unwrap_or(false) {
                let combine = !self.skip.get(out.len()).copied().unwrap_or(false);
                out.push((start..j + 1, combine));
                start = j + 1;
            }
        }
        out
    }
}

fn plan(max_values: usize) -> impl Strategy<Value = Plan> {
    let n = max_values.max(1);
    let round = (vec(any::<bool>(), n), vec(prop::bool::weighted(0.2), n))
        .prop_map(|(cuts, skip)| Round { cuts, skip });
    (vec(any::<u8>(), n), vec(round, 1..=MAX_ROUNDS))
        .prop_map(|(order, rounds)| Plan { order, rounds })
}

impl Plan {
    /// The order in which the values are taken: indices, stably sorted by
    /// their sort keys.
    fn permutation(&self, n: usize) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..n).collect();
        idx.sort_by_key(|&i| self.order.get(i).copied().unwrap_or(0));
        idx
    }

    fn reorder(&self, values: &[Vec<u8>]) -> Vec<Vec<u8>> {
        self.permutation(values.len())
            .into_iter()
            .map(|i| values[i].clone())
            .collect()
    }

    /// The plan for the values without value `i`: its sort key and its place
    /// in the first round's groups go too, so the other values keep their
    /// order and groups.
    fn without(&self, n: usize, i: usize) -> Plan {
        let mut plan = self.clone();
        let pos = self.permutation(n).iter().position(|&j| j == i);
        if i < plan.order.len() {
            plan.order.remove(i);
        }
        if let (Some(pos), Some(first)) = (pos, plan.rounds.first_mut()) {
            let groups = first.groups(n);
            if let Some(g) = groups.iter().position(|(r, _)| r.contains(&pos)) {
                let group = &groups[g].0;
                // The flag that ends a group moves with the group's end.
                let cut = if group.len() > 1 && pos + 1 == group.end {
                    pos - 1
                } else {
                    pos
                };
                if cut < first.cuts.len() {
                    first.cuts.remove(cut);
                }
                if group.len() == 1 && g < first.skip.len() {
                    first.skip.remove(g);
                }
            }
        }
        plan
    }
}

/// What running a reducer (init, reduce, finish) gave.
#[derive(Debug, Clone)]
enum Outcome {
    Records(Vec<Record>),
    Failed { decode: bool, message: String },
}

impl Outcome {
    /// Equal outputs: as lists when `ordered`, else as multisets. Any two
    /// failures are the same outcome.
    fn same(&self, other: &Outcome, ordered: bool) -> bool {
        match (self, other) {
            (Outcome::Records(a), Outcome::Records(b)) if ordered => a == b,
            (Outcome::Records(a), Outcome::Records(b)) => {
                let (mut a, mut b) = (a.clone(), b.clone());
                a.sort();
                b.sort();
                a == b
            }
            (Outcome::Failed { .. }, Outcome::Failed { .. }) => true,
            _ => false,
        }
    }

    fn to_json(&self) -> Json {
        match self {
            Outcome::Records(r) => records_json(r),
            Outcome::Failed { message, .. } => Json::String(format!("error: {message}")),
        }
    }
}

/// Parses encoded JSON for display (bytes that are not JSON become a string).
fn json(bytes: &[u8]) -> Json {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Json::String(String::from_utf8_lossy(bytes).into_owned()))
}

fn values_json(values: &[Vec<u8>]) -> Json {
    Json::Array(values.iter().map(|v| json(v)).collect())
}

fn records_json(records: &[Record]) -> Json {
    Json::Array(
        records
            .iter()
            .map(|(k, v)| Json::Array(vec![json(k), json(v)]))
            .collect(),
    )
}

/// Runs job code, turning its errors and panics into a message (and whether
/// it was a decoding error).
fn guarded(f: impl FnOnce() -> Result<(), RecordError>) -> Result<(), (bool, String)> {
    match std::panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(RecordError::Decode(m))) => Err((true, m)),
        Ok(Err(RecordError::Job(m) | RecordError::Unskippable(m))) => Err((false, m)),
        Ok(Err(RecordError::Fatal(e))) => Err((false, e.to_string())),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err((false, format!("panicked: {msg}")))
        }
    }
}

/// What one combiner call gave.
enum Combined {
    Values(Vec<Vec<u8>>),
    WrongKey(Vec<Record>),
    Failed(String),
}

/// A failing case: one key's values, the plan, and the law they break.
struct Failing {
    key: Vec<u8>,
    values: Vec<Vec<u8>>,
    /// None when the case cannot be shrunk further.
    plan: Option<Plan>,
    violation: LawViolation,
}

/// Most candidate cases tried by [`Ctx::shrink`].
const MAX_DELETIONS: usize = 2_000;

/// One step under check.
struct Ctx<'a> {
    step: &'a Step,
    index: Option<usize>,
    params: &'a Arc<JobParams>,
}

impl Ctx<'_> {
    fn violation(
        &self,
        law: Law,
        key: &[u8],
        values: &[Vec<u8>],
        details: Vec<(&str, Json)>,
    ) -> LawViolation {
        LawViolation {
            law,
            step: self.index,
            key: json(key),
            values: values.iter().map(|v| json(v)).collect(),
            details: details
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        }
    }

    /// A fresh reducer: init, reduce (unless there is nothing to reduce, as
    /// when a combiner emitted nothing), finish.
    fn reduce(&self, key: &[u8], values: &[Vec<u8>]) -> Outcome {
        let Some(mut reducer) = self.step.new_reducer() else {
            return Outcome::Records(Vec::new());
        };
        let ctx = TaskContext {
            step: self.index.unwrap_or(0),
            kind: TaskKind::Reduce,
            partition: Some(0),
            params: self.params.clone(),
            ..TaskContext::default()
        };
        let mut sink = VecSink::default();
        let mut counters = Counters::default();
        let r = guarded(|| {
            reducer
                .init(&ctx)
                .map_err(|e| RecordError::Job(format!("reducer init: {e}")))?;
            if !values.is_empty() {
                let mut stream = SliceValues(values.iter().map(Vec::as_slice));
                reducer.reduce(key, &mut stream, &mut sink, &mut counters)?;
            }
            reducer.finish(&mut sink, &mut counters)
        });
        match r {
            Ok(()) => Outcome::Records(sink.records),
            Err((decode, message)) => Outcome::Failed { decode, message },
        }
    }

    fn combine(&self, combiner: &mut dyn ReduceFn, key: &[u8], values: &[Vec<u8>]) -> Combined {
        let mut sink = VecSink::default();
        let mut counters = Counters::default();
        let r = guarded(|| {
            let mut stream = SliceValues(values.iter().map(Vec::as_slice));
            combiner.reduce(key, &mut stream, &mut sink, &mut counters)
        });
        match r {
            Err((_, m)) => Combined::Failed(format!("combiner: {m}")),
            Ok(()) if sink.records.iter().any(|(k, _)| k != key) => {
                Combined::WrongKey(sink.records)
            }
            Ok(()) => Combined::Values(sink.records.into_iter().map(|(_, v)| v).collect()),
        }
    }

    /// A fold step's own law ([`Law::FoldMerge`]) on one key's values as the
    /// mapper emitted them (before the fold); nothing for other steps. A
    /// case that fails is not shrunk further here (proptest shrinks the
    /// values drawn).
    fn fold_case(&self, key: &[u8], values: &[Vec<u8>]) -> Result<(), Box<Failing>> {
        let Some(law) = &self.step.fold_law else {
            return Ok(());
        };
        let checked = guarded(|| law.check(key, values).map_err(RecordError::Job));
        let Err((_, error)) = checked else {
            return Ok(());
        };
        Err(Box::new(Failing {
            key: key.to_vec(),
            values: values.to_vec(),
            plan: None,
            violation: self.violation(
                Law::FoldMerge,
                key,
                values,
                vec![("error", Json::String(error))],
            ),
        }))
    }

    /// [`Ctx::check`], keeping the case when it fails.
    fn case(&self, key: &[u8], values: Vec<Vec<u8>>, plan: &Plan) -> Result<(), Box<Failing>> {
        match self.check(key, &values, plan) {
            Ok(()) => Ok(()),
            Err(violation) => Err(Box::new(Failing {
                key: key.to_vec(),
                values,
                plan: Some(plan.clone()),
                violation,
            })),
        }
    }

    /// Drops values one at a time (with their place in the plan) while the
    /// case still fails. Proptest's shrinking cannot do this well: deleting a
    /// value shifts the positions the plan's groups are cut at.
    fn shrink(&self, mut f: Failing) -> LawViolation {
        let Some(mut plan) = f.plan.take() else {
            return f.violation;
        };
        let mut tries = 0;
        'smaller: while f.values.len() > 1 {
            for i in 0..f.values.len() {
                tries += 1;
                if tries > MAX_DELETIONS {
                    break 'smaller;
                }
                let mut values = f.values.clone();
                values.remove(i);
                let smaller = plan.without(f.values.len(), i);
                if let Err(v) = self.check(&f.key, &values, &smaller) {
                    (f.values, plan, f.violation) = (values, smaller, v);
                    continue 'smaller;
                }
            }
            break;
        }
        f.violation
    }

    /// Checks every law on one key's values, as the plan reorders and
    /// combines them.
    fn check(&self, key: &[u8], values: &[Vec<u8>], plan: &Plan) -> Result<(), LawViolation> {
        let sorts = self.step.sorts_values();
        // A combiner set up by its `init` hook, as a task's is (one that
        // read a job option there was checked with its default state, and
        // its empty output blamed on the user's maths: probe
        // /tmp/probe4-author repro 02); `Err` the hook's failure.
        let combiner = || {
            let mut c = self.step.new_combiner()?;
            let ctx = TaskContext {
                step: self.index.unwrap_or(0),
                kind: TaskKind::Combine,
                params: self.params.clone(),
                ..TaskContext::default()
            };
            let init = guarded(|| {
                c.init(&ctx)
                    .map_err(|e| RecordError::Job(format!("combiner init: {e}")))
            });
            Some(init.map(|()| c).map_err(|(_, m)| m))
        };

        // The combiner, once over all the values, keeps the key.
        if let Some(Ok(mut c)) = combiner() {
            let given = testing::sorted_if(sorts, values.to_vec());
            if let Combined::WrongKey(out) = self.combine(&mut *c, key, &given) {
                return Err(self.violation(
                    Law::CombinerKeepsKey,
                    key,
                    values,
                    vec![("combiner emitted", records_json(&out))],
                ));
            }
        }

        let given = testing::sorted_if(sorts, values.to_vec());
        let base = self.reduce(key, &given);
        let again = self.reduce(key, &given);
        if !base.same(&again, sorts) {
            return Err(self.violation(
                Law::Deterministic,
                key,
                values,
                vec![
                    ("reduce(values)", base.to_json()),
                    ("reduce(values) again", again.to_json()),
                ],
            ));
        }

        let start = if sorts {
            given
        } else {
            let reordered = plan.reorder(values);
            let out = self.reduce(key, &reordered);
            if !base.same(&out, false) {
                return Err(self.violation(
                    Law::Order,
                    key,
                    values,
                    vec![
                        ("reordered", values_json(&reordered)),
                        ("reduce(values)", base.to_json()),
                        ("reduce(reordered)", out.to_json()),
                    ],
                ));
            }
            reordered
        };

        let (mut c, mut failed) = match combiner() {
            None => return Ok(()),
            Some(Ok(c)) => (Some(c), None),
            Some(Err(m)) => (None, Some(m)),
        };
        let mut current = start;
        let mut combines = Vec::new();
        'rounds: for (r, round) in plan.rounds.iter().enumerate() {
            let Some(c) = c.as_deref_mut() else {
                break;
            };
            let mut next = Vec::new();
            for (range, combine) in round.groups(current.len()) {
                let group = &current[range];
                if !combine {
                    next.extend_from_slice(group);
                    continue;
                }
                let group = testing::sorted_if(sorts, group.to_vec());
                let mut call = serde_json::Map::new();
                if plan.rounds.len() > 1 {
                    call.insert("round".into(), Json::from(r + 1));
                }
                call.insert("in".into(), values_json(&group));
                match self.combine(c, key, &group) {
                    Combined::Values(out) => {
                        call.insert("out".into(), values_json(&out));
                        combines.push(Json::Object(call));
                        next.extend(out);
                    }
                    Combined::WrongKey(out) => {
                        call.insert("out".into(), records_json(&out));
                        combines.push(Json::Object(call));
                        return Err(self.violation(
                            Law::CombinerKeepsKey,
                            key,
                            values,
                            vec![("combines", Json::Array(combines))],
                        ));
                    }
                    Combined::Failed(m) => {
                        call.insert("error".into(), Json::String(m.clone()));
                        combines.push(Json::Object(call));
                        failed = Some(m);
                        break 'rounds;
                    }
                }
            }
            current = next;
        }
        let combined = testing::sorted_if(sorts, current);
        let out = match failed {
            Some(message) => Outcome::Failed {
                decode: false,
                message,
            },
            None => self.reduce(key, &combined),
        };
        if base.same(&out, sorts) {
            return Ok(());
        }
        let base_decode = matches!(base, Outcome::Failed { decode: true, .. });
        let law = match out {
            Outcome::Failed { decode: true, .. } if !base_decode => Law::CombinerOutputType,
            _ => Law::Split,
        };
        let mut details = Vec::new();
        if !sorts {
            let reordered = plan.reorder(values);
            if reordered != values {
                details.push(("reordered", values_json(&reordered)));
            }
        }
        details.push(("combines", Json::Array(combines)));
        details.push(("reduce(values)", base.to_json()));
        details.push(("reduce(combined)", out.to_json()));
        Err(self.violation(law, key, values, details))
    }
}
