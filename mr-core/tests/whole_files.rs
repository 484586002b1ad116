//! A mapper that reads whole files (mrjob's `mapper_raw`): each input file
//! reaches one map call, whole and decompressed, however the input is cut
//! for line-based steps; an error names the file; only a first step can.

use mr_core::fold::Count;
use mr_core::input::whole_file::WholeFile;
use mr_core::reducers::Sum;
use mr_core::{Emitter, IdentityMapper, Job, JobError, Mapper, RunConfig, Step, TaskContext};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// Per file: its name, then `[bytes, lines, tasks that saw it]`; fails on
/// a file whose text holds `FAIL`.
#[derive(Clone, Default)]
struct PerFile {
    input_file: Option<String>,
}

impl Mapper for PerFile {
    type Input<'a> = WholeFile<'a>;
    type Key = String;
    type Value = (u64, u64, String);
    fn init(&mut self, ctx: &TaskContext) -> Result<(), JobError> {
        self.input_file = ctx.input_file.clone();
        Ok(())
    }
    fn map(
        &mut self,
        file: WholeFile<'_>,
        out: &mut Emitter<String, (u64, u64, String)>,
    ) -> Result<(), JobError> {
        let bytes = file.read_bytes()?;
        if bytes.windows(4).any(|w| w == b"FAIL") {
            return Err(JobError::msg("this file says FAIL"));
        }
        let lines = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
        let seen_as = self.input_file.clone().unwrap_or_default();
        out.emit(file.name(), (bytes.len() as u64, lines, seen_as))
    }
}

struct PerFileJob;
impl Job for PerFileJob {
    fn name(&self) -> &str {
        "per_file"
    }
    fn description(&self) -> &str {
        ""
    }
    fn steps(&self) -> Vec<Step> {
        vec![Step::map(PerFile::default()).into()]
    }
}

/// Lines over all files, counted by a fold over whole files.
#[derive(Clone)]
struct Lines;
impl Mapper for Lines {
    type Input<'a> = WholeFile<'a>;
    type Key = String;
    type Value = u64;
    fn map(&mut self, file: WholeFile<'_>, out: &mut Emitter<String, u64>) -> Result<(), JobError> {
        for line in file.read_text()?.lines() {
            out.emit(line, 1)?;
        }
        Ok(())
    }
}

struct LineCounts;
impl Job for LineCounts {
    fn name(&self) -> &str {
        "line_counts"
    }
    fn description(&self) -> &str {
        ""
    }
    fn steps(&self) -> Vec<Step> {
        vec![Step::map(Lines).fold(Count::new())]
    }
}

/// A whole-file mapper as a second step: refused.
struct Late;
impl Job for Late {
    fn name(&self) -> &str {
        "late"
    }
    fn description(&self) -> &str {
        ""
    }
    fn steps(&self) -> Vec<Step> {
        vec![
            Step::map(IdentityMapper::<String, u64>::new()).reduce(Sum::new()),
            Step::map(Lines).reduce(Sum::new()),
        ]
    }
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Names a hostile file system allows: a tab, a newline, quotes, a command.
const NASTY: &str = "a\tb\nc \"d\" $(touch x) 'e'.txt";

/// A directory of files: plain, gzip, empty, nasty names, in a subdirectory.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut text = Vec::new();
    for i in 0..5000 {
        writeln!(text, "line {i} of the big one").unwrap();
    }
    let files: BTreeMap<String, Vec<u8>> = [
        ("big.txt".to_string(), text),
        ("small.txt".to_string(), b"one\ntwo\n".to_vec()),
        ("empty.txt".to_string(), Vec::new()),
        ("no-newline.txt".to_string(), b"one\ntwo".to_vec()),
        (NASTY.to_string(), b"nasty\n".to_vec()),
        ("zipped.txt.gz".to_string(), b"a\nb\nc\n".to_vec()),
    ]
    .into_iter()
    .collect();
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    for (name, bytes) in &files {
        let path = if name == "small.txt" {
            dir.join("sub").join(name)
        } else {
            dir.join(name)
        };
        let on_disk = if name.ends_with(".gz") {
            gz(bytes)
        } else {
            bytes.clone()
        };
        std::fs::write(path, on_disk).unwrap();
    }
    files
}

fn config(inputs: Vec<String>, chunk_size: u64, jobs: usize) -> RunConfig {
    RunConfig {
        inputs,
        jobs,
        chunk_size,
        ..Default::default()
    }
}

fn run(
    job: &dyn Job,
    cfg: &RunConfig,
) -> Result<BTreeMap<String, serde_json::Value>, mr_core::Error> {
    let mut out = Vec::new();
    mr_core::run_job(job, cfg, &mut out)?;
    Ok(String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| {
            let (k, v) = l.split_once('\t').unwrap();
            (
                serde_json::from_str(k).unwrap(),
                serde_json::from_str(v).unwrap(),
            )
        })
        .collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    /// However small the chunks and however many threads, each file is one
    /// map call, whole, seen by a task that names it.
    #[test]
    fn each_file_reaches_one_map_call_whole(chunk in 1u64..4096, jobs in 1usize..4) {
        let dir = tempfile::tempdir().unwrap();
        let want = files(dir.path());
        let got = run(&PerFileJob, &config(vec![dir.path().display().to_string()], chunk, jobs)).unwrap();
        prop_assert_eq!(got.len(), want.len());
        for (name, bytes) in &want {
            let lines = bytes.iter().filter(|&&b| b == b'\n').count();
            let v = &got[name];
            prop_assert_eq!(v[0].as_u64(), Some(bytes.len() as u64), "{}", name);
            prop_assert_eq!(v[1].as_u64(), Some(lines as u64), "{}", name);
            prop_assert!(v[2].as_str().unwrap().ends_with(name.as_str()), "{} seen as {}", name, v[2]);
        }
    }
}

#[test]
fn a_fold_over_whole_files_counts_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    files(dir.path());
    let got = run(
        &LineCounts,
        &config(vec![dir.path().display().to_string()], 64, 2),
    )
    .unwrap();
    assert_eq!(got["one"], 2, "small.txt and no-newline.txt");
    assert_eq!(got["line 4999 of the big one"], 1);
    assert_eq!(got["b"], 1, "from the .gz");
}

#[test]
fn stdin_is_a_whole_file_too() {
    // `-` is read by the runner from this process's stdin: an empty one
    // under the test harness, still one (empty) file for the mapper.
    let got = run(&PerFileJob, &config(vec!["-".into()], 64, 1)).unwrap();
    assert_eq!(got.len(), 1);
    let (_, v) = got.iter().next().unwrap();
    assert_eq!((v[0].as_u64(), v[2].as_str()), (Some(0), Some("-")));
}

#[test]
fn a_file_the_mapper_fails_on_is_named_or_kept_aside() {
    let dir = tempfile::tempdir().unwrap();
    files(dir.path());
    std::fs::write(dir.path().join("bad one.txt"), b"ok\nFAIL\n").unwrap();
    let inputs = vec![dir.path().display().to_string()];
    let e = run(&PerFileJob, &config(inputs.clone(), 64, 2))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("bad one.txt") && e.contains("this file says FAIL"),
        "{e}"
    );
    assert!(
        !e.contains("bad one.txt:1"),
        "no line number for a whole file: {e}"
    );

    let out = tempfile::tempdir().unwrap();
    let cfg = RunConfig {
        skip_bad_records: true,
        output: mr_core::Output::Dir {
            path: out.path().join("o"),
            overwrite: false,
        },
        ..config(inputs, 64, 2)
    };
    let report = mr_core::run_job(&PerFileJob, &cfg, &mut Vec::new()).unwrap();
    assert_eq!(report.skipped_records, 1);
    let kept: String = report
        .bad_record_files
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(
        kept.contains("bad one.txt") && kept.contains("FAIL"),
        "{kept}"
    );
}

#[test]
fn only_a_first_step_reads_whole_files() {
    let dir = tempfile::tempdir().unwrap();
    files(dir.path());
    let e = run(
        &Late,
        &config(vec![dir.path().display().to_string()], 64, 1),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("step 1 of job late reads whole files"), "{e}");
}
