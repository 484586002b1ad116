//! The law checks of `mr_core::laws`, on jobs that obey them and on jobs that
//! break each law on purpose.

use mr_core::laws::{self, Law, LawConfig, LawError, LawViolation};
use mr_core::reducers::Sum;
use mr_core::{Emitter, IdentityMapper, Job, JobError, Mapper, Reducer, Step, Values};
use proptest::prelude::*;

/// Each line is `key number`: emits `(key, number)`.
#[derive(Clone)]
struct KeyNumber;
impl Mapper for KeyNumber {
    type Input<'a> = &'a str;
    type Key = String;
    type Value = f64;
    fn map(&mut self, line: &str, out: &mut Emitter<String, f64>) -> Result<(), JobError> {
        let (k, n) = line.split_once(' ').ok_or("expected `key number`")?;
        out.emit(k, n.parse()?)
    }
}

/// The classic mistake: the combiner averages, so the reducer averages
/// averages.
#[derive(Clone)]
struct Mean;
impl Reducer for Mean {
    type Key = String;
    type Value = f64;
    type OutKey = String;
    type OutValue = f64;
    fn reduce(
        &mut self,
        k: String,
        vs: Values<f64>,
        out: &mut Emitter<String, f64>,
    ) -> Result<(), JobError> {
        let (sum, n) = vs.fold((0.0, 0u64), |(s, n), v| (s + v, n + 1));
        out.emit(&k, sum / n as f64)
    }
}

struct WrongMean;
impl Job for WrongMean {
    fn name(&self) -> &str {
        "wrong_mean"
    }
    fn description(&self) -> &str {
        "Deliberately wrong: averages partial averages."
    }
    fn steps(&self) -> Vec<Step> {
        vec![Step::map(KeyNumber).combine(Mean).reduce(Mean)]
    }
}

/// A mean done right: the partial state is (sum, count).
#[derive(Clone)]
struct SumCount;
impl Reducer for SumCount {
    type Key = String;
    type Value = (i64, u64);
    type OutKey = String;
    type OutValue = (i64, u64);
    fn reduce(
        &mut self,
        k: String,
        vs: Values<(i64, u64)>,
        out: &mut Emitter<String, (i64, u64)>,
    ) -> Result<(), JobError> {
        let (s, n) = vs.fold((0, 0), |(s, n), (vs, vn)| (s + vs, n + vn));
        out.emit(&k, (s, n))
    }
}

#[derive(Clone)]
struct FinalMean;
impl Reducer for FinalMean {
    type Key = String;
    type Value = (i64, u64);
    type OutKey = String;
    type OutValue = f64;
    fn reduce(
        &mut self,
        k: String,
        vs: Values<(i64, u64)>,
        out: &mut Emitter<String, f64>,
    ) -> Result<(), JobError> {
        let (s, n) = vs.fold((0, 0), |(s, n), (vs, vn)| (s + vs, n + vn));
        out.emit(&k, s as f64 / n as f64)
    }
}

fn assert_small(v: &LawViolation, law: Law) {
    assert_eq!(v.law, law, "{v}");
    assert!(
        (2..=3).contains(&v.values.len()),
        "not a small counterexample: {v}"
    );
}

#[test]
fn the_wrong_mean_breaks_the_split_law_on_a_sample() {
    let lines: Vec<String> = (0..200)
        .map(|i| format!("{} {}", ["a", "b", "c"][i % 3], (i * 7919) % 101))
        .collect();
    let err = laws::check_job_on_sample(&WrongMean, &lines).unwrap_err();
    let LawError::Violation(v) = err else {
        panic!("{err}")
    };
    assert_small(&v, Law::Split);
    assert_eq!(v.step, Some(0));
    let shown = v.to_string();
    assert!(shown.contains("law `split` broken in step 0"), "{shown}");
    assert!(shown.contains("\"reduce(combined)\""), "{shown}");
    // The display is JSON after its two header lines.
    let body: String = shown.lines().skip(2).collect::<Vec<_>>().join("\n");
    let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(parsed, v.to_json());
}

#[test]
fn the_wrong_mean_breaks_the_split_law_on_a_strategy() {
    let records = prop::collection::vec((Just("k"), (0u32..100).prop_map(f64::from)), 1..20);
    let v = laws::check_step(&WrongMean.steps()[0], records).unwrap_err();
    assert_small(&v, Law::Split);
    assert_eq!(v.step, None);
}

#[test]
#[should_panic(expected = "law `split` broken")]
fn assert_job_laws_panics_with_the_counterexample() {
    laws::assert_job_laws(&WrongMean, &["a 1", "a 2", "a 4", "a 8"]);
}

#[test]
fn a_mean_of_sums_and_counts_obeys_the_laws() {
    let step = Step::map(IdentityMapper::<String, (i64, u64)>::new())
        .combine(SumCount)
        .reduce(FinalMean);
    let records = prop::collection::vec(("[ab]", (-1000i64..1000, 1u64..4)), 1..30);
    laws::assert_step_laws(&step, records);
}

#[test]
fn floats_are_compared_exactly() {
    // Summing 0.1, 0.2 and 0.3 in another order changes the last bit: the
    // order law reports it, as documented.
    let step = Step::map(IdentityMapper::<String, f64>::new()).reduce(Mean);
    let v = laws::check_step(
        &step,
        Just(vec![("k", 0.1), ("k", 0.2), ("k", 0.3), ("k", 0.7)]),
    );
    assert_eq!(v.unwrap_err().law, Law::Order);
}

/// A combiner that emits its count under another key.
#[derive(Clone)]
struct Renames;
impl Reducer for Renames {
    type Key = String;
    type Value = u64;
    type OutKey = String;
    type OutValue = u64;
    fn reduce(
        &mut self,
        k: String,
        vs: Values<u64>,
        out: &mut Emitter<String, u64>,
    ) -> Result<(), JobError> {
        out.emit(&format!("{k}!"), vs.sum())
    }
}

#[test]
fn a_combiner_must_keep_its_key() {
    let step = Step::map(IdentityMapper::<String, u64>::new())
        .combine(Renames)
        .reduce(Sum::new());
    let v = laws::check_step(&step, prop::collection::vec(("[ab]", 0u64..9), 1..9)).unwrap_err();
    assert_eq!(v.law, Law::CombinerKeepsKey, "{v}");
    assert_eq!(v.values.len(), 1, "{v}");
}

/// Emits the first value: depends on the order of the values.
#[derive(Clone)]
struct First;
impl Reducer for First {
    type Key = String;
    type Value = u64;
    type OutKey = String;
    type OutValue = u64;
    fn reduce(
        &mut self,
        k: String,
        mut vs: Values<u64>,
        out: &mut Emitter<String, u64>,
    ) -> Result<(), JobError> {
        match vs.next() {
            Some(v) => out.emit(&k, v),
            None => Ok(()),
        }
    }
}

#[test]
fn the_order_law_applies_unless_the_step_sorts_values() {
    let records = || prop::collection::vec(("[ab]", 0u64..9), 1..9);
    let step = Step::map(IdentityMapper::<String, u64>::new()).reduce(First);
    let v = laws::check_step(&step, records()).unwrap_err();
    assert_eq!(v.law, Law::Order, "{v}");
    assert_eq!(v.values.len(), 2, "{v}");

    let sorted = Step::map(IdentityMapper::<String, u64>::new())
        .sort_values()
        .reduce(First);
    laws::assert_step_laws(&sorted, records());
    // Min is a fine combiner for "first of the sorted values".
    let with_combiner = Step::map(IdentityMapper::<String, u64>::new())
        .sort_values()
        .combine(First)
        .reduce(First);
    laws::assert_step_laws(&with_combiner, records());
}

/// A reducer that remembers: its output depends on what it saw before.
#[derive(Clone, Default)]
struct Remembers(u64);
impl Reducer for Remembers {
    type Key = String;
    type Value = u64;
    type OutKey = String;
    type OutValue = u64;
    fn reduce(
        &mut self,
        k: String,
        vs: Values<u64>,
        out: &mut Emitter<String, u64>,
    ) -> Result<(), JobError> {
        self.0 += vs.sum::<u64>();
        out.emit(&k, self.0)
    }
}

#[test]
fn a_combiner_with_state_breaks_the_split_law() {
    let step = Step::map(IdentityMapper::<String, u64>::new())
        .combine(Remembers::default())
        .reduce(Sum::new());
    let v = laws::check_step(&step, prop::collection::vec(("a", 1u64..9), 1..9)).unwrap_err();
    assert_eq!(v.law, Law::Split, "{v}");
}

/// A combiner whose output the reducer cannot read: NaN encodes as `null`.
#[derive(Clone)]
struct NanMean;
impl Reducer for NanMean {
    type Key = String;
    type Value = f64;
    type OutKey = String;
    type OutValue = f64;
    fn reduce(
        &mut self,
        k: String,
        vs: Values<f64>,
        out: &mut Emitter<String, f64>,
    ) -> Result<(), JobError> {
        let _ = vs.count();
        out.emit(&k, f64::NAN)
    }
}

#[test]
fn a_combiner_must_emit_readable_values() {
    let step = Step::map(IdentityMapper::<String, f64>::new())
        .combine(NanMean)
        .reduce(Mean);
    let v = laws::check_step(
        &step,
        prop::collection::vec(("a", (0u32..10).prop_map(f64::from)), 1..4),
    )
    .unwrap_err();
    assert_eq!(v.law, Law::CombinerOutputType, "{v}");
}

#[test]
fn the_same_seed_finds_the_same_counterexample() {
    let lines: Vec<String> = (0..50).map(|i| format!("a {}", i % 10)).collect();
    let cfg = LawConfig {
        seed: 7,
        ..LawConfig::default()
    };
    let a = cfg.check_job_on_sample(&WrongMean, &lines).unwrap_err();
    let b = cfg.check_job_on_sample(&WrongMean, &lines).unwrap_err();
    assert_eq!(a.to_string(), b.to_string());
}

/// A fold that sums values (saturating) and merges accumulators with its
/// function; a sum that reached `u64::MAX` fails to finish, as an overflow.
#[derive(Clone)]
struct SumMergedBy(fn(&mut u64, u64));
impl mr_core::Fold for SumMergedBy {
    type Key = String;
    type Value = u64;
    type Acc = u64;
    type Out = u64;
    fn init(&self) -> u64 {
        0
    }
    fn accumulate(&self, acc: &mut u64, v: u64) {
        *acc = acc.saturating_add(v);
    }
    fn merge(&self, acc: &mut u64, other: u64) {
        (self.0)(acc, other)
    }
    fn finish(&self, _: &String, acc: u64) -> u64 {
        acc
    }
    fn try_finish(&self, _: &String, acc: u64) -> Result<u64, JobError> {
        match acc {
            u64::MAX => Err("overflow".into()),
            n => Ok(n),
        }
    }
}

/// A fold whose `merge` disagrees with its `accumulate`: values are summed,
/// accumulators maxed. Its merge alone is associative and commutative, so
/// the step laws (which see accumulators) pass it; the result still depends
/// on how the input was chunked.
const SUM_THEN_MAX: SumMergedBy = SumMergedBy(|acc, other| *acc = (*acc).max(other));

/// Each line is `key number`: emits `(key, number)` as a count.
#[derive(Clone)]
struct KeyCount;
impl Mapper for KeyCount {
    type Input<'a> = &'a str;
    type Key = String;
    type Value = u64;
    fn map(&mut self, line: &str, out: &mut Emitter<String, u64>) -> Result<(), JobError> {
        let (k, n) = line.split_once(' ').ok_or("expected `key number`")?;
        out.emit(k, n.parse()?)
    }
}

struct Folding<F>(F);
impl<F: mr_core::Fold<Key = String, Value = u64>> Job for Folding<F> {
    fn name(&self) -> &str {
        "folding"
    }
    fn description(&self) -> &str {
        "A fold of `key number` lines."
    }
    fn steps(&self) -> Vec<Step> {
        vec![Step::map(KeyCount).fold(self.0.clone())]
    }
}

fn key_numbers(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{} {}", ["a", "b"][i % 2], 1 + (i * 7919) % 13))
        .collect()
}

#[test]
fn a_fold_whose_merge_disagrees_with_accumulate_breaks_the_fold_merge_law() {
    let job = Folding(SUM_THEN_MAX);
    assert_eq!(
        laws::laws_for(&job.steps()[0]).last(),
        Some(&Law::FoldMerge)
    );
    // On a sample: the values are those the mapper emitted, not the
    // accumulators the step laws see.
    let err = laws::check_job_on_sample(&job, &key_numbers(200)).unwrap_err();
    let LawError::Violation(v) = err else {
        panic!("{err}")
    };
    assert_eq!(v.law, Law::FoldMerge, "{v}");
    assert_eq!(v.step, Some(0));
    assert!(v.values.len() >= 2, "{v}");
    let shown = v.to_string();
    assert!(
        shown.contains("law `fold-merge` broken in step 0"),
        "{shown}"
    );
    assert!(
        shown.contains("merge must agree with accumulate"),
        "{shown}"
    );
    // On a strategy of the mapper's records.
    let records = prop::collection::vec((Just("k"), 1u64..100), 1..20);
    let v = laws::check_step(&job.steps()[0], records).unwrap_err();
    assert_eq!(v.law, Law::FoldMerge, "{v}");
    assert!(v.values.len() >= 2, "{v}");
}

#[test]
#[should_panic(expected = "law `fold-merge` broken")]
fn assert_job_laws_checks_a_fold_merge() {
    laws::assert_job_laws(&Folding(SUM_THEN_MAX), &["a 1", "a 2", "b 4", "a 8"]);
}

#[test]
fn a_counting_fold_obeys_the_fold_merge_law() {
    let job = Folding(mr_core::fold::Count::new());
    laws::assert_job_laws(&job, &key_numbers(200));
    let records = prop::collection::vec((Just("k"), 1u64..100), 1..20);
    laws::assert_step_laws(&job.steps()[0], records);
}

/// A fold that panics in `merge` (as job code may): a broken law with the
/// panic's message, not a crash of the check.
#[test]
fn a_fold_that_panics_is_a_broken_law() {
    let panicky = SumMergedBy(|acc, other| {
        assert!(other < 5, "merge saw {other}");
        *acc += other;
    });
    let records = prop::collection::vec((Just("k"), 5u64..6), 2..4);
    let v = laws::check_step(&Folding(panicky).steps()[0], records).unwrap_err();
    assert!(v.to_string().contains("merge saw 5"), "{v}");
}

/// A count that overflows fails to finish however it was folded: the same
/// outcome, as two failing reductions are for the step laws.
#[test]
fn a_fold_that_fails_either_way_keeps_the_fold_merge_law() {
    let count = mr_core::fold::Count::<String>::new();
    assert_eq!(
        laws::check_fold(&count, &"k".into(), vec![u64::MAX, 1, 2]),
        Ok(())
    );
    // Failing one way only is broken: maxed accumulators of a sum that
    // overflows only when folded at once.
    let e = laws::check_fold(&SUM_THEN_MAX, &"k".into(), vec![u64::MAX - 1, 1]).unwrap_err();
    assert!(e.contains("an error (overflow)"), "{e}");
}
