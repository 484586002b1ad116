//! mr-core in a program of its own: `run_job` called as a library, not by
//! `mr run` (probe /tmp/probe19-api). What the command line did for a run
//! (option defaults, the job's jobconf) the library does too; what it did
//! to the process (its exit status, its open-files limit) it leaves alone.

use mr_core::laws::{LawConfig, LawError};
use mr_core::{
    Emitter, Error, Job, JobError, JobOption, JobParams, Mapper, Reducer, RunConfig, Step,
    TaskContext, Values,
};
use std::sync::Arc;

/// Each word of a line, with 1, but only words at least `--min-len` long
/// (read in `init`: an option the job gives a default).
#[derive(Clone, Default)]
struct LongWords {
    min_len: usize,
}

impl Mapper for LongWords {
    type Input<'a> = &'a str;
    type Key = String;
    type Value = u64;
    fn init(&mut self, ctx: &TaskContext) -> Result<(), JobError> {
        self.min_len = ctx.option("min-len")?;
        Ok(())
    }
    fn map(&mut self, line: &str, out: &mut Emitter<String, u64>) -> Result<(), JobError> {
        for w in line.split_whitespace().filter(|w| w.len() >= self.min_len) {
            out.emit(w, 1)?;
        }
        Ok(())
    }
}

/// Sums a word's counts; under `--mean`, their mean instead: not a
/// combiner's law (a mean of means is no mean).
#[derive(Clone, Default)]
struct SumOrMean {
    mean: bool,
}

impl Reducer for SumOrMean {
    type Key = String;
    type Value = u64;
    type OutKey = String;
    type OutValue = u64;
    fn reduce(
        &mut self,
        key: String,
        values: Values<u64>,
        out: &mut Emitter<String, u64>,
    ) -> Result<(), JobError> {
        let (sum, n) = values.fold((0u64, 0u64), |(s, n), v| (s + v, n + 1));
        out.emit(&key, if self.mean { sum / n.max(1) } else { sum })
    }
}

/// Counts words of at least `--min-len` (default 3) bytes; `--mean` picks a
/// combiner that breaks the laws; `--label` is required when `--labelled`
/// says so (a second job, [`Labelled`]).
struct Words;

impl Job for Words {
    fn name(&self) -> &str {
        "words"
    }
    fn description(&self) -> &str {
        "Counts long words."
    }
    fn options(&self) -> Vec<JobOption> {
        vec![
            JobOption::uint("min-len").default("3"),
            JobOption::flag("mean"),
        ]
    }
    fn jobconf(&self) -> Vec<(String, String)> {
        vec![("mapreduce.job.reduces".into(), "1".into())]
    }
    fn steps(&self) -> Vec<Step> {
        self.steps_for(&JobParams::defaults(self))
    }
    fn steps_for(&self, params: &JobParams) -> Vec<Step> {
        let mean = params.options.get("mean").is_some_and(|v| v == "true");
        vec![
            Step::map(LongWords::default())
                .combine(SumOrMean { mean })
                .reduce(SumOrMean::default()),
        ]
    }
}

/// A job with a required option.
struct Labelled;

impl Job for Labelled {
    fn name(&self) -> &str {
        "labelled"
    }
    fn description(&self) -> &str {
        ""
    }
    fn options(&self) -> Vec<JobOption> {
        vec![JobOption::string("label").required()]
    }
    fn steps(&self) -> Vec<Step> {
        Words.steps()
    }
}

/// The values of each key `M` emits, summed: the job of the tests below
/// that need only a mapper of their own.
struct Summed<M>(M);

impl<M: Mapper<Key = String, Value = u64> + Clone> Job for Summed<M> {
    fn name(&self) -> &str {
        "summed"
    }
    fn description(&self) -> &str {
        ""
    }
    fn steps(&self) -> Vec<Step> {
        vec![Step::map(self.0.clone()).reduce(mr_core::reducers::Sum::new())]
    }
}

fn config(dir: &std::path::Path, text: &str) -> RunConfig {
    let input = dir.join("in.txt");
    std::fs::write(&input, text).unwrap();
    RunConfig {
        inputs: vec![input.display().to_string()],
        // Two threads whatever the machine: the open-files test below
        // expects a run that needs no more than a common soft limit.
        jobs: 2,
        ..RunConfig::default()
    }
}

#[test]
fn a_run_gives_the_job_its_option_defaults_and_jobconf() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "an apple a day\nan apple\n");
    let mut out = Vec::new();
    // The job's `--min-len` was "not set" in a RunConfig::default() run.
    let report = mr_core::run_job(&Words, &cfg, &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "\"apple\"\t2\n\"day\"\t1\n"
    );
    // Its jobconf's one reducer, as `mr run` gives it.
    assert_eq!(report.partitions.len(), 1);
    // What the caller sets still wins over the defaults.
    let mut out = Vec::new();
    let longer = RunConfig {
        params: Arc::new(JobParams::default().with_option("min-len", "4")),
        ..cfg.clone()
    };
    mr_core::run_job(&Words, &longer, &mut out).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "\"apple\"\t2\n");
}

#[test]
fn options_are_checked_as_the_command_line_checks_them() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "an apple\n");
    let e = mr_core::run_job(&Labelled, &cfg, &mut Vec::new()).unwrap_err();
    assert!(
        matches!(&e, Error::Config(m) if m.contains("--label is required")),
        "{e}"
    );
    let bad = RunConfig {
        params: Arc::new(JobParams::default().with_option("min-len", "three")),
        ..cfg
    };
    let e = mr_core::run_job(&Words, &bad, &mut Vec::new()).unwrap_err();
    assert!(e.to_string().contains("--min-len takes an integer"), "{e}");
}

#[test]
fn skipped_records_of_a_run_to_a_writer_can_be_kept() {
    /// Reads numbers; anything else is a bad record.
    #[derive(Clone)]
    struct Numbers;
    impl Mapper for Numbers {
        type Input<'a> = &'a str;
        type Key = String;
        type Value = u64;
        fn map(&mut self, line: &str, out: &mut Emitter<String, u64>) -> Result<(), JobError> {
            out.emit("sum", line.trim().parse::<u64>().map_err(JobError::msg)?)
        }
    }
    let sum = Summed(Numbers);
    let dir = tempfile::tempdir().unwrap();
    let kept = dir.path().join("skipped");
    let cfg = RunConfig {
        skip_bad_records: true,
        bad_records_dir: Some(kept.clone()),
        ..config(dir.path(), "1\ntwo\n3\n")
    };
    let mut out = Vec::new();
    let report = mr_core::run_job(&sum, &cfg, &mut out).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "\"sum\"\t4\n");
    assert_eq!(report.skipped_records, 1);
    assert!(!report.bad_record_files.is_empty());
    let held: String = report
        .bad_record_files
        .iter()
        .map(|f| {
            assert!(f.starts_with(&kept), "{}", f.display());
            std::fs::read_to_string(f).unwrap()
        })
        .collect();
    assert!(held.contains("two"), "{held}");
    // A second run never writes over what the first kept.
    let before: Vec<_> = report
        .bad_record_files
        .iter()
        .map(|f| std::fs::read(f).unwrap())
        .collect();
    let e = mr_core::run_job(&sum, &cfg, &mut Vec::new()).unwrap_err();
    assert!(e.to_string().contains("already exists"), "{e}");
    for (f, bytes) in report.bad_record_files.iter().zip(before) {
        assert_eq!(std::fs::read(f).unwrap(), bytes);
    }
}

#[test]
fn the_laws_are_checked_on_the_steps_the_options_choose() {
    let sample = ["apple apple pear", "apple plum", "pear pear pear apple"];
    let lawful = LawConfig::default().check_job_on_sample(&Words, &sample);
    assert!(lawful.is_ok(), "{:?}", lawful.err().map(|e| e.to_string()));
    let mean = LawConfig {
        params: Arc::new(JobParams::default().with_option("mean", "true")),
        ..LawConfig::default()
    };
    // The default steps' laws were checked, and this combiner passed.
    match mean.check_job_on_sample(&Words, &sample) {
        Err(LawError::Violation(v)) => assert!(v.to_string().contains("step 0"), "{v}"),
        other => panic!(
            "a mean combiner passed: {:?}",
            other.map_err(|e| e.to_string())
        ),
    }
}

#[test]
fn a_run_leaves_the_open_files_limit_it_does_not_need() {
    // As mr-core's limits read it.
    let soft = || rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    let before = soft();
    // A run of two threads merges at most 32 + 2 * 66 files: within any
    // soft limit of 1024 (the common default); below it, it is raised.
    if before.is_none_or(|n| n < 1024) {
        eprintln!("soft limit {before:?}: not shown here");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    mr_core::run_job(&Words, &config(dir.path(), "an apple\n"), &mut Vec::new()).unwrap();
    assert_eq!(soft(), before);
}

/// The child's part of the next test: a run under way on another thread
/// when the program exits with a status of its own.
const EXITING_CHILD: &str = "MR_EMBEDDING_EXITING_CHILD";

#[test]
fn a_program_exiting_while_a_run_goes_on_elsewhere_keeps_its_status() {
    /// Slow lines: the run is still going on when the program exits.
    #[derive(Clone)]
    struct Slow;
    impl Mapper for Slow {
        type Input<'a> = &'a str;
        type Key = String;
        type Value = u64;
        fn map(&mut self, line: &str, out: &mut Emitter<String, u64>) -> Result<(), JobError> {
            std::thread::sleep(std::time::Duration::from_millis(20));
            out.emit(line, 1)
        }
    }
    if let Ok(dir) = std::env::var(EXITING_CHILD) {
        let cfg = config(std::path::Path::new(&dir), &"line\n".repeat(1000));
        std::thread::spawn(move || mr_core::run_job(&Summed(Slow), &cfg, &mut Vec::new()));
        std::thread::sleep(std::time::Duration::from_millis(300));
        // The program's own exit, as `main` returning calls it.
        std::process::exit(7);
    }
    let dir = tempfile::tempdir().unwrap();
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_program_exiting_while_a_run_goes_on_elsewhere_keeps_its_status",
            "--nocapture",
        ])
        .env(EXITING_CHILD, dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&child.stderr);
    // It exited 1, "job code called exit" said of a job that did not.
    assert_eq!(child.status.code(), Some(7), "{stderr}");
    assert!(!stderr.contains("job code called exit"), "{stderr}");
}
