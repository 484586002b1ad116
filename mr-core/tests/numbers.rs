//! Numbers through the engine: any float survives an identity step
//! unchanged; counts and sums overflow with one error naming the key.

use mr_core::fold::Count;
use mr_core::reducers::Sum;
use mr_core::{Emitter, IdentityMapper, Job, JobError, Mapper, RunConfig, Step};
use proptest::prelude::*;

struct Identity;
impl Job for Identity {
    fn name(&self) -> &str {
        "identity"
    }
    fn description(&self) -> &str {
        ""
    }
    fn steps(&self) -> Vec<Step> {
        vec![Step::map(IdentityMapper::<u64, f64>::new()).into()]
    }
}

fn run(job: &dyn Job, input: &str) -> Result<String, mr_core::Error> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in"), input).unwrap();
    let cfg = RunConfig {
        inputs: vec![dir.path().join("in").display().to_string()],
        jobs: 1,
        ..Default::default()
    };
    let mut out = Vec::new();
    mr_core::run_job(job, &cfg, &mut out)?;
    Ok(String::from_utf8(out).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn any_float_survives_an_identity_step(floats in prop::collection::vec(any::<f64>().prop_filter("finite", |f| f.is_finite()), 1..300)) {
        let input: String = floats.iter().enumerate().map(|(i, f)| format!("{i}\t{}\n", serde_json::to_string(f).unwrap())).collect();
        let out = run(&Identity, &input).unwrap();
        prop_assert_eq!(&out, &input);
        for (line, f) in out.lines().zip(&floats) {
            let back: f64 = line.split('\t').nth(1).unwrap().parse().unwrap();
            prop_assert_eq!(back.to_bits(), f.to_bits());
        }
    }
}

#[test]
fn the_float_from_the_issue_keeps_its_last_digit() {
    let out = run(&Identity, "0\t451705.20289303036\n").unwrap();
    assert_eq!(out, "0\t451705.20289303036\n");
}

#[derive(Clone)]
struct Big;
impl Mapper for Big {
    type Input<'a> = &'a str;
    type Key = String;
    type Value = u64;
    fn map(&mut self, line: &str, out: &mut Emitter<String, u64>) -> Result<(), JobError> {
        out.emit("the", line.parse()?)
    }
}

struct SumJob(bool);
impl Job for SumJob {
    fn name(&self) -> &str {
        "sum"
    }
    fn description(&self) -> &str {
        ""
    }
    fn steps(&self) -> Vec<Step> {
        if self.0 {
            vec![Step::map(Big).fold(Count::new())]
        } else {
            vec![Step::map(Big).reduce(Sum::new())]
        }
    }
}

#[test]
fn count_and_sum_overflow_with_the_same_error_naming_the_key() {
    let input = format!("{}\n{}\n", u64::MAX - 1, 5);
    let a = run(&SumJob(true), &input).unwrap_err().to_string();
    let b = run(&SumJob(false), &input).unwrap_err().to_string();
    assert!(a.contains(r#"the total of key "the" overflows u64"#), "{a}");
    assert!(b.contains(r#"the total of key "the" overflows u64"#), "{b}");
    assert_eq!(run(&SumJob(true), "1\n2\n").unwrap(), "\"the\"\t3\n");
}
