//! Integration tests of `mr check`: the real binary, each test in its own
//! temp dir with a private TMPDIR (which must be empty afterwards).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The sample clicklogs shipped in `examples/logs/`.
fn logs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/logs")
}

struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    fn new() -> Workdir {
        let w = Workdir {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(w.tmp()).unwrap();
        w
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn tmp(&self) -> PathBuf {
        self.path("_tmp")
    }

    fn mr(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_mr"))
            .args(args)
            .current_dir(self.dir.path())
            .env("TMPDIR", self.tmp())
            .output()
            .unwrap()
    }

    /// `mr ARGS` (a check) passed, each of its `runs` whole-job runs with
    /// the plain run's output; its stdout.
    fn passes(&self, args: &[&str], runs: usize) -> String {
        let o = self.mr(args);
        assert!(o.status.success(), "{}", show(&o));
        let out = stdout(&o);
        assert_eq!(out.matches("same output").count(), runs, "{out}");
        out
    }

    /// Nothing left in the private TMPDIR.
    fn assert_clean(&self) {
        let left: Vec<_> = std::fs::read_dir(self.tmp()).unwrap().collect();
        assert!(left.is_empty(), "temp files left behind: {left:?}");
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn show(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status.code(),
        stdout(o),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The JSON counterexample printed after `counterexample (N values):`.
fn counterexample(out: &str) -> serde_json::Value {
    let start = out.find("counterexample (").expect("no counterexample");
    let body = &out[start..];
    let open = body.find('{').unwrap();
    let close = body.find("\n}").unwrap();
    serde_json::from_str(&body[open..close + 2]).unwrap()
}

/// Keys and values of the data in what `mr check` prints are escaped: a
/// C1 CSI (U+009B) and a right-to-left override reached the terminal raw
/// (probe /tmp/probe3-report repro 02).
#[test]
fn a_counterexample_never_sends_control_characters_to_the_terminal() {
    let w = Workdir::new();
    let lines: String = (0..60)
        .map(|i| {
            format!(
                "{{\"client\": \"\u{202e}evil\u{9b}2J\\u001b[31m\", \"pad\": \"{}\"}}\n",
                "x".repeat(i * 7 % 23)
            )
        })
        .collect();
    std::fs::write(w.path("a.jsonl"), lines).unwrap();
    let o = w.mr(&["check", "wrong_mean", "--input", "a.jsonl", "--runs", "1"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let out = stdout(&o);
    assert!(out.contains("counterexample"), "{out}");
    assert!(
        !out.contains(['\u{202e}', '\u{9b}', '\u{1b}']),
        "raw control characters: {out:?}"
    );
}

#[test]
fn the_wrong_mean_fails_with_a_small_counterexample() {
    let w = Workdir::new();
    let logs = logs();
    let o = w.mr(&["check", "wrong_mean", "--input", logs.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let out = stdout(&o);
    assert!(out.contains("law `split` broken in step 0"), "{out}");
    let cx = counterexample(&out);
    assert_eq!(cx["law"], "split", "{out}");
    let values = cx["values"].as_array().unwrap();
    assert!((3..=4).contains(&values.len()), "{out}");
    assert_ne!(cx["reduce(values)"], cx["reduce(combined)"], "{out}");
    // The whole-job runs show what the broken law costs.
    assert!(out.contains("DIFFERENT"), "{out}");
    assert!(out.contains("wrong_mean: FAILED"), "{out}");
    // docs/laws.md shows this run: its transcript, up to its "  ...", is
    // what mr check prints.
    let doc = std::fs::read_to_string(logs.join("../../docs/laws.md")).unwrap();
    let shown = doc
        .split_once("$ mr check wrong_mean --input examples/logs/\n")
        .and_then(|(_, rest)| rest.split_once("  ...\n"))
        .map(|(shown, _)| shown)
        .expect("docs/laws.md shows the wrong_mean check");
    assert!(
        out.starts_with(shown),
        "docs/laws.md's transcript is not what mr check prints now:\n{out}"
    );
    w.assert_clean();
}

#[test]
fn every_shipped_job_passes_on_the_sample_logs() {
    let w = Workdir::new();
    let listing = stdout(&w.mr(&["jobs"]));
    let jobs: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        // wrong_mean is wrong on purpose; mr_grep needs its -e option
        // (checked with it below);
        // mr_log_sampler needs --sample-size and draws per task;
        // mr_text_classifier keeps the first of two documents with one id,
        // as mrjob's does (the log files are all "part-..." to it: id
        // "part"), so its output depends on the values' order by design;
        // mr_phone_to_url reads WARC files, which the sample logs are not;
        // reduce_totals writes a total a reduce task, so its output
        // depends on --partitions by design (checked below to fail).
        .filter(|&j| {
            ![
                "wrong_mean",
                "mr_grep",
                "mr_log_sampler",
                "mr_text_classifier",
                "mr_phone_to_url",
                "reduce_totals",
            ]
            .contains(&j)
        })
        .collect();
    // What a reducer's final hook writes depends on how many reduce tasks
    // there are: mr check finds it, with a run of other partitions.
    let o = w.mr(&[
        "check",
        "reduce_totals",
        "--input",
        logs().to_str().unwrap(),
        "--sample-lines",
        "2000",
        "--runs",
        "3",
    ]);
    assert_ne!(o.status.code(), Some(0), "{}", show(&o));
    assert!(
        stdout(&o).contains("reduce_totals: FAILED") && stdout(&o).contains("partitions"),
        "{}",
        show(&o)
    );
    assert!(jobs.contains(&"video_tagging"), "{listing}");
    // Keyed by input file, so checked on the sample's files under the names
    // the runs read them by.
    assert!(jobs.contains(&"mr_count_lines_by_file"), "{listing}");
    let logs = logs();
    std::thread::scope(|s| {
        for job in &jobs {
            let (w, logs) = (&w, &logs);
            s.spawn(move || {
                let o = w.mr(&[
                    "check",
                    job,
                    "--input",
                    logs.to_str().unwrap(),
                    "--sample-lines",
                    "2000",
                    "--runs",
                    "3",
                ]);
                assert!(o.status.success(), "{job}: {}", show(&o));
                assert!(stdout(&o).contains(&format!("{job}: ok")), "{}", show(&o));
                // Every step's laws get a key with two values to combine,
                // but json_identity's: its keys are whole lines, each once.
                let weak = stdout(&o).contains("weak");
                assert_eq!(weak, *job == "json_identity", "{}", show(&o));
            });
        }
    });
    w.assert_clean();
}

#[test]
fn word_count_passes_on_generated_text() {
    let w = Workdir::new();
    let r#gen = w.mr(&[
        "gen",
        "text",
        "--size",
        "100KB",
        "--output",
        "text",
        "--files",
        "2",
        "--gz-files",
        "1",
    ]);
    assert!(r#gen.status.success(), "{}", show(&r#gen));
    let out = w.passes(
        &["check", "word_count", "--input", "text", "--seed", "3"],
        4,
    );
    assert!(out.contains("step 0: "), "{out}");
    assert!(out.contains("split"), "{out}");
    // The laws get several values of a key to combine: the sample is
    // recorded by several mappers, as a run's tasks map it. (One mapper
    // folding the whole sample recorded one value a key, and a law about
    // combining them could not fail.)
    let recorded = out.split("step 0: ").nth(1).unwrap();
    let n: Vec<usize> = recorded
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .take(2)
        .collect();
    assert!(n[0] > n[1] * 3 / 2, "values, keys: {n:?}\n{out}");
    w.assert_clean();
}

/// A job's options reach `mr check` as they reach `mr run`: mr_grep with
/// its required -e; without it, a usage error. Before, any job that read
/// an option (even one with a default) failed its check: "option --... is
/// not set".
#[test]
fn a_job_takes_its_options_in_check_too() {
    let w = Workdir::new();
    let logs = logs();
    let logs = logs.to_str().unwrap();
    let out = w.passes(&["check", "mr_grep", "-e", "page_url", "--input", logs], 4);
    assert!(out.contains("mr check: mr_grep: ok"), "{out}");
    let o = w.mr(&["check", "mr_grep", "--input", logs]);
    assert_eq!(o.status.code(), Some(2), "-e is required: {}", show(&o));
    // A sample the reducer never sees checks nothing: not "ok" (wrong_mean
    // reads JSON; these lines are text).
    std::fs::write(w.path("text.txt"), "one two\nthree\n").unwrap();
    let o = w.mr(&["check", "wrong_mean", "--input", "text.txt"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(stdout(&o).contains("nothing checked"), "{}", show(&o));
    w.assert_clean();
}

/// A job that asks for its reducers (mrjob's JOBCONF; mr_wc asks for one)
/// is checked with them: the number is not a setting its results may
/// differ under (a `reducer_final` total is one line a reducer).
#[test]
fn a_jobs_own_reducers_are_kept_in_check() {
    let w = Workdir::new();
    let logs = logs();
    let out = w.passes(&["check", "mr_wc", "--input", logs.to_str().unwrap()], 4);
    assert_eq!(out.matches("partitions 1,").count(), 4, "{out}");
    w.assert_clean();
}

#[test]
fn a_missing_input_is_an_error_not_a_failed_law() {
    let w = Workdir::new();
    let o = w.mr(&["check", "word_count", "--input", "nope.txt"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("nope.txt"), "{err}");
    let o = w.mr(&["check", "word_count"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "--input is required: {}",
        show(&o)
    );
}

/// A CSV job is checked as it runs: each file's first line is its header,
/// not a row, in the plain run as in the runs (which read each sampled file
/// as a file of its own). Before, the plain run counted every header as a
/// row and every check of a CSV job failed.
#[test]
fn a_csv_jobs_headers_are_headers_in_check() {
    let w = Workdir::new();
    std::fs::create_dir(w.path("csv")).unwrap();
    std::fs::write(w.path("csv/a.csv"), "a,b\n1,\"x, y\"\n2,z\n").unwrap();
    std::fs::write(w.path("csv/b.csv"), "x,y,z\r\n1,2,3\r\n").unwrap();
    let out = w.passes(&["check", "csv_count", "--input", "csv", "--runs", "8"], 8);
    assert!(out.contains("5 sample lines from 2 files"), "{out}");
    // Recorded by a mapper a line (8 mappers for the sample at most): the
    // headers give none, each of the 3 rows a "rows" and a "fields" value
    // (a later piece of a file reads its header too).
    assert!(out.contains("step 0: 6 values of 2 keys"), "{out}");
    w.assert_clean();
}

/// A config file sets `mr run`'s options; `mr check` draws its own settings
/// and ignores it, where it used to refuse every key ("jobs is not an
/// option of mr run").
#[test]
fn a_config_file_does_not_stop_check() {
    let w = Workdir::new();
    std::fs::write(
        w.path("mr.toml"),
        "[runners.local]\njobs = 4\nskip_bad_records = true\n",
    )
    .unwrap();
    std::fs::write(w.path("text.txt"), "one two\nthree one\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_mr"))
        .args(["check", "word_count", "--input", "text.txt", "--runs", "1"])
        .current_dir(w.dir.path())
        .env("TMPDIR", w.tmp())
        .env("MR_CONF", w.path("mr.toml"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", show(&o));
    assert!(stdout(&o).contains("whole job: 1 run on"), "{}", show(&o));
    w.assert_clean();
}

/// `--cases 0 --runs 0` checks nothing: a usage error, not "ok".
#[test]
fn nothing_to_check_is_no_pass() {
    let w = Workdir::new();
    let logs = logs();
    let args = ["check", "wrong_mean", "--input", logs.to_str().unwrap()];
    let o = w.mr(&[&args[..], &["--cases", "0", "--runs", "0"]].concat());
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(!stdout(&o).contains("ok"), "{}", show(&o));
}

/// One sample line gives each key one value, and every case repeats it:
/// the wrong mean passes such cases. Said, not a plain "ok".
#[test]
fn a_sample_too_thin_to_test_is_said() {
    let w = Workdir::new();
    let logs = logs();
    let args = ["check", "wrong_mean", "--input", logs.to_str().unwrap()];
    let o = w.mr(&[&args[..], &["--sample-lines", "1", "--runs", "0"]].concat());
    let out = stdout(&o);
    assert!(
        out.contains("but weak: no key has two values"),
        "{}",
        show(&o)
    );
    assert!(
        out.contains("wrong_mean: ok, on a sample too thin"),
        "{}",
        show(&o)
    );
    // With more lines, the same check finds the broken law.
    let o = w.mr(&[&args[..], &["--sample-lines", "40", "--runs", "0"]].concat());
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(!stdout(&o).contains("weak"), "{}", show(&o));
    w.assert_clean();
}

/// A whole-file job on a file whose name is not UTF-8: the runs read it as
/// `mr run` does (before: "input not found" under its lossy display name).
#[cfg(unix)]
#[test]
fn a_whole_file_job_is_checked_on_a_name_that_is_not_utf8() {
    use std::os::unix::ffi::OsStrExt;
    let w = Workdir::new();
    std::fs::create_dir_all(w.path("in")).unwrap();
    let name = std::ffi::OsStr::from_bytes(b"bad\xff.txt");
    std::fs::write(w.path("in").join(name), "a b\nc\n").unwrap();
    std::fs::write(w.path("in/good.txt"), "d e f\n").unwrap();
    w.passes(&["check", "wc_files", "--input", "in", "--runs", "2"], 2);
    w.assert_clean();
}

/// A file that starts with two byte-order marks (a tool added one to a
/// file that had one): a run drops the first, and so do the check's runs
/// on the sample (before: a false FAILED, one char short).
#[test]
fn a_file_with_two_byte_order_marks_is_no_false_alarm() {
    let w = Workdir::new();
    std::fs::write(
        w.path("bom2.txt"),
        b"\xef\xbb\xbf\xef\xbb\xbfhello world\nsecond line\n",
    )
    .unwrap();
    w.passes(&["check", "mr_wc", "--input", "bom2.txt", "--runs", "4"], 4);
    w.assert_clean();
}
