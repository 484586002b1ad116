//! Scale-out tests: the `mr` binary as a streaming program, with results
//! identical to the local runner's, under
//!
//! - a shell pipeline (`mapper | LC_ALL=C sort | [combiner | sort |] reducer`),
//! - the Hadoop emulator (`mr emulate-hadoop`),
//! - mrjob's local runner (command steps),
//! - a Spark standalone cluster started on 127.0.0.1 by the test,
//!
//! and the commands `-r hadoop` builds (against docs/scale-out.md).
//!
//! Tests that need a tool this machine lacks (bash, python3 with mrjob or
//! pyspark, java) print why and pass, unless `MR_REQUIRE_PEERS=1` (as in CI),
//! which makes them fail instead.

mod common;

use common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const LOGS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/logs");
const DOCS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/scale-out.md");
const MRJOB_EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/mrjob/mr_binary_steps.py"
);

impl Workdir {
    /// The sample logs (three plain files, one gzipped), as `logs/`.
    fn logs(&self) -> PathBuf {
        let to = self.path("logs");
        fs::create_dir_all(&to).unwrap();
        for e in fs::read_dir(LOGS).unwrap() {
            let e = e.unwrap();
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
        to
    }

    /// Generated text (`mr gen text`), as `text/`.
    fn text(&self) -> PathBuf {
        ok(self.mr(&[
            "gen",
            "text",
            "--size",
            "300KB",
            "--seed",
            "3",
            "--files",
            "3",
            "--gz-files",
            "1",
            "--output",
            "text",
        ]));
        self.path("text")
    }

    /// The local runner's results on stdout.
    fn local(&self, job: &str, input: &Path) -> String {
        stdout(&ok(self.mr(&[
            "run",
            job,
            "-q",
            "-i",
            &input.display().to_string(),
        ])))
    }
}

/// Lines sorted by key (the text before the first tab), stably: the order
/// of a key's lines is kept, as it matters for jobs that emit several.
fn by_key(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(str::to_string).collect();
    v.sort_by(|a, b| {
        let ka = a.split('\t').next().unwrap_or("");
        let kb = b.split('\t').next().unwrap_or("");
        ka.cmp(kb)
    });
    v
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

// ---------------------------------------------------------------------------
// Task mode through a shell pipeline: what Hadoop Streaming does, by hand.

/// The steps of a job: does each have a combiner?
fn combiners(job: &str) -> Vec<bool> {
    match job {
        "word_count" | "url_views" => vec![true],
        "video_tagging" => vec![false],
        "top_lectures" => vec![true, true],
        _ => panic!("unknown job {job}"),
    }
}

/// `{ cat plain...; gzip -dc gz...; } | mapper | LC_ALL=C sort |
/// [combiner | LC_ALL=C sort |] reducer`, step after step.
fn pipeline(w: &Workdir, job: &str, input: &Path, with_combiner: bool) -> String {
    // What a reader of the directory reads: not mr gen's hidden list of
    // its parts.
    let mut files: Vec<PathBuf> = fs::read_dir(input)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    files.sort();
    let mut cat = String::from("{ ");
    for f in &files {
        let tool = if f.extension().is_some_and(|e| e == "gz") {
            "gzip -dc"
        } else {
            "cat"
        };
        cat.push_str(&format!("{tool} {}; ", sh_quote(&f.display().to_string())));
    }
    cat.push('}');
    let mut script = String::from("set -euo pipefail\nexport LC_ALL=C\n");
    let mr = sh_quote(MR);
    for (n, has_combiner) in combiners(job).into_iter().enumerate() {
        let source = if n == 0 {
            cat.clone()
        } else {
            format!("cat step-{}.out", n - 1)
        };
        let task = |role: &str| format!("{mr} run {job} --step-num {n} --{role} 2>>tasks.err");
        let combine = if with_combiner && has_combiner {
            format!("{} | sort | ", task("combiner"))
        } else {
            String::new()
        };
        script.push_str(&format!(
            "{source} | {} | sort | {combine}{} > step-{n}.out\n",
            task("mapper"),
            task("reducer")
        ));
    }
    let last = combiners(job).len() - 1;
    script.push_str(&format!("cat step-{last}.out\n"));
    let o = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(w.dir.path())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "pipeline failed: {}\n{}\n{}",
        stderr(&o),
        script,
        fs::read_to_string(w.path("tasks.err")).unwrap_or_default()
    );
    stdout(&o)
}

fn check_pipeline(job: &str, text_input: bool) {
    if !peer_available("bash", Command::new("bash").args(["-c", "true"])) {
        return;
    }
    let w = Workdir::new();
    let input = if text_input { w.text() } else { w.logs() };
    let want = w.local(job, &input);
    assert!(want.lines().count() >= 10, "too little output: {want}");
    for with_combiner in [false, true] {
        let got = pipeline(&w, job, &input, with_combiner);
        assert!(
            got == want,
            "{job} (combiner: {with_combiner}): the pipeline gave\n{}\nthe local runner\n{}",
            &got[..got.len().min(2000)],
            &want[..want.len().min(2000)]
        );
    }
}

#[test]
fn task_mode_through_sort_equals_local_runner_word_count() {
    check_pipeline("word_count", true);
}

#[test]
fn task_mode_through_sort_equals_local_runner_url_views() {
    check_pipeline("url_views", false);
}

#[test]
fn task_mode_through_sort_equals_local_runner_video_tagging() {
    check_pipeline("video_tagging", false);
}

#[test]
fn task_mode_through_sort_equals_local_runner_top_lectures() {
    check_pipeline("top_lectures", false);
}

/// A mapper task given a line longer than `--max-line-mb` (what Hadoop
/// passes on whole: its own limit is off by default) reports it as a bad
/// record, or keeps its first bytes aside on stderr, and maps the rest.
#[test]
fn task_mode_mapper_cuts_a_line_longer_than_max_line_mb() {
    let w = Workdir::new();
    let input = format!(
        "{{\"page_url\": \"/a\"}}\n{}\n{{\"page_url\": \"/b\"}}\n",
        "x".repeat(5000)
    );
    let args = ["run", "url_views", "--mapper", "--max-line-mb", "0.002"];
    let o = w.mr_stdin(&args, Some(input.as_bytes()));
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("bad record at -:2: the line is longer than 2097 bytes"),
        "{err}"
    );

    let o = w.mr_stdin(
        &[&args[..], &["--skip-bad-records"]].concat(),
        Some(input.as_bytes()),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let mut records: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
    records.sort();
    assert_eq!(records, ["\"/a\"\t1", "\"/b\"\t1"]);
    let kept = stderr(&o)
        .lines()
        .find(|l| l.starts_with("mr-bad-record: "))
        .unwrap_or_default()
        .to_string();
    assert!(kept.ends_with(&format!("\t{}", "x".repeat(2097))), "{kept}");
}

/// A job's `set_status` reaches Hadoop as `reporter:status:` lines in task
/// mode, escaped and at most one a second, and is dropped by the local
/// runner.
#[test]
fn set_status_is_a_reporter_line_in_task_mode_only() {
    let w = Workdir::new();
    let input = "a b\nSET-STATUS scored\u{1b}[2J 1000\nSET-STATUS scored 2000\nc\n";
    let args = ["run", "panic_on", "--step-num", "0", "--mapper"];
    let o = ok(w.mr_stdin(&args, Some(input.as_bytes())));
    let err = stderr(&o);
    let statuses: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("reporter:status:") && !l.contains("reporter:status:mr "))
        .collect();
    assert_eq!(statuses, ["reporter:status:scored\\u{1b}[2J 1000"]);
    assert_eq!(stdout(&o).lines().count(), 3, "{}", stdout(&o));

    w.write("in.txt", input);
    let o = ok(w.mr(&["run", "panic_on", "-i", "in.txt"]));
    assert!(!stderr(&o).contains("reporter:status:"), "{}", stderr(&o));
}

// ---------------------------------------------------------------------------
// The Hadoop emulator.

#[test]
fn emulate_hadoop_equals_local_runner() {
    let w = Workdir::new();
    let logs = w.logs();
    let text = w.text();
    for (job, input) in [
        ("word_count", &text),
        ("url_views", &logs),
        ("video_tagging", &logs),
        ("top_lectures", &logs),
    ] {
        let want = w.local(job, input);
        let input = input.display().to_string();
        // Small splits and a tiny sort buffer: many map tasks, many spills,
        // the combiner run 0, 1 or 2 times on each.
        for seed in ["1", "2"] {
            let o = ok(w.mr(&[
                "emulate-hadoop",
                job,
                "-i",
                &input,
                "--partitions",
                "3",
                "--chunksize",
                "400KB",
                "--sort-buffer-mb",
                "0.1",
                "-j",
                "2",
                "--seed",
                seed,
            ]));
            assert!(stdout(&o) == want, "{job} seed {seed}: {}", stderr(&o));
            let e = stderr(&o);
            assert!(e.contains("finished under the Hadoop emulator"), "{e}");
            let combiner_runs: u64 = e
                .lines()
                .find_map(|l| l.trim().strip_prefix("combiner runs="))
                .map_or(0, |n| n.parse().unwrap());
            assert_eq!(combiner_runs > 0, job != "video_tagging", "{job}: {e}");
        }
        // Part files, one a reducer, and the _SUCCESS marker.
        let out = format!("out-{job}");
        ok(w.mr(&[
            "run",
            job,
            "-r",
            "emulate",
            "-i",
            &input,
            "-o",
            &out,
            "--partitions",
            "3",
            "-q",
        ]));
        let dir = w.path(&out);
        assert!(dir.join("_SUCCESS").exists());
        for p in 0..3 {
            assert!(dir.join(format!("part-{p:05}")).exists(), "{job}: part {p}");
        }
        assert_eq!(by_key(&read_parts(&dir)), by_key(&want), "{job}");
    }
    // No temp files left behind.
    assert_eq!(fs::read_dir(w.path("_tmp")).unwrap().count(), 0);
}

/// Printed without `-o`, a text protocol's lines come in the order of their
/// records' keys, as the local runner prints its own: they were merged by
/// their text (`json-value` lines by the counts, `text` keys unescaped, a
/// tab before a space; probe /tmp/probe-new repro 04, also `-r hadoop` and
/// `-r spark`). A record printed as a line that cannot be read back is
/// counted and said as locally.
#[test]
fn emulate_prints_a_text_protocol_in_the_local_runners_order() {
    let w = Workdir::new();
    let mut lines = String::new();
    for (i, url) in ["a b", "a\\tb", "a\\\"b", "z", "é", "/x"]
        .iter()
        .enumerate()
    {
        for _ in 0..=i {
            lines.push_str(&format!("{{\"page_url\": \"{url}\"}}\n"));
        }
    }
    w.write("in.jsonl", &lines);
    for protocol in ["json-value", "text", "raw-value"] {
        let run = |runner: &str| {
            ok(w.mr(&[
                "run",
                "url_views",
                "-r",
                runner,
                "-i",
                "in.jsonl",
                "--partitions",
                "3",
                "--output-protocol",
                protocol,
            ]))
        };
        let (local, emulated) = (run("local"), run("emulate"));
        assert_eq!(stdout(&emulated), stdout(&local), "{protocol}");
        let mangled = "records written as text that a reader cannot split back";
        for o in [&local, &emulated] {
            // The key with a tab, as `text` writes it.
            assert_eq!(
                stderr(o).contains(mangled),
                protocol == "text",
                "{protocol}: {}",
                stderr(o)
            );
        }
    }
}

/// A final record written as text (`raw-value`) holding a bare `\r` is one
/// line locally, but Hadoop Streaming's reader of a task's output ends a
/// line there: on -r hadoop the record came out as two lines, exit 0
/// (probe /tmp/probe-hadoop repro 02). A task Hadoop reads so (as the
/// emulator runs it) takes it for a bad record: the run fails naming it, or,
/// with --skip-bad-records, keeps it aside and counts it.
#[test]
fn a_text_record_with_a_cr_is_a_bad_record_where_hadoop_reads_it() {
    let w = Workdir::new();
    w.write("in.txt", "x one\nx progress 10%\r20%\nx two\n");
    let run = |extra: &[&str]| {
        let mut a = vec!["run", "mr_grep", "-e", "x", "-r", "emulate", "-i", "in.txt"];
        a.extend_from_slice(extra);
        w.mr(&a)
    };
    let o = run(&["-o", "strict"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    // Named by the input line the mapper made it of.
    assert!(
        stderr(&o).contains("in.txt:2: its text line holds a carriage return"),
        "{}",
        stderr(&o)
    );
    assert!(!w.path("strict").exists());
    let o = ok(run(&["-o", "skip", "--skip-bad-records"]));
    let e = stderr(&o);
    assert!(
        e.contains("mr-bad-record: ") && e.contains("carriage return"),
        "{e}"
    );
    let mut lines: Vec<String> = read_parts(&w.path("skip"))
        .lines()
        .map(String::from)
        .collect();
    lines.sort();
    assert_eq!(lines, ["x one", "x two"]);
}

/// The emulator's report and summary are the local runner's: counters
/// under their step names, bad records skipped counted and said. (Before,
/// its report said 0 records skipped when 3 were, and summed the steps'
/// counters under the tasks' names.)
#[test]
fn emulate_reports_as_the_local_runner_does() {
    let w = Workdir::new();
    let args = [
        "gen", "clicklog", "--size", "200KB", "--seed", "5", "--output", "in",
    ];
    ok(w.mr(&args));
    w.write("in/bad.jsonl", "{bad\nnot json\n");
    let report = |runner: &[&str], name: &str| -> (serde_json::Value, String) {
        let rep = format!("{name}.json");
        let args = [
            "run",
            "top_lectures",
            "-i",
            "in",
            "--skip-bad-records",
            "--report",
            &rep,
        ];
        let o = ok(w.mr(&[&args[..], runner].concat()));
        let text = fs::read_to_string(w.path(&rep)).unwrap();
        (serde_json::from_str(&text).unwrap(), stderr(&o))
    };
    let (local, _) = report(&[], "local");
    let (emulated, said) = report(&["-r", "emulate"], "emulate");
    assert_eq!(emulated["skipped_records"], 2, "{emulated}");
    assert_eq!(emulated["skipped_records"], local["skipped_records"]);
    for name in [
        "step 0: input records",
        "step 1: input records",
        "step 0: skipped records",
    ] {
        let n = &local["counters"]["mr"][name];
        assert!(n.as_i64() > Some(0), "{name}: {local}");
        assert_eq!(&emulated["counters"]["mr"][name], n, "{name}");
    }
    assert!(said.contains("mr: 2 bad records skipped"), "{said}");

    // The task processes' timeline: each map task of each step and each
    // reduce task, with its records; each step's map and reduce phases.
    let tasks = emulated["tasks"].as_array().unwrap();
    let maps = emulated["counters"]["emulate"]["map tasks"]
        .as_i64()
        .unwrap();
    let reduces = emulated["counters"]["emulate"]["reduce tasks"]
        .as_i64()
        .unwrap();
    assert_eq!(tasks.len() as i64, maps + reduces, "{emulated}");
    let sum = |phase: &str, step: u64, field: &str| -> u64 {
        tasks
            .iter()
            .filter(|t| t["phase"] == phase && t["step"] == step)
            .map(|t| t[field].as_u64().unwrap())
            .sum()
    };
    let counter = |name: &str| emulated["counters"]["mr"][name].as_u64().unwrap();
    assert_eq!(
        sum("map", 0, "records_in"),
        counter("step 0: input records")
    );
    assert_eq!(
        sum("reduce", 1, "records_out"),
        counter("step 1: output records")
    );
    let phases: Vec<(u64, &str)> = emulated["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["step"].as_u64().unwrap(), p["phase"].as_str().unwrap()))
        .collect();
    assert_eq!(
        phases,
        [(0, "map"), (0, "reduce"), (1, "map"), (1, "reduce")]
    );
}

/// A reduce task without keys: Hadoop Streaming starts its reducer but
/// never reads its output, so what a `finish` hook writes there (mrjob's
/// `reducer_final`) is lost on a cluster and kept locally (probe
/// /tmp/probe8-author repro 01). The emulator drops it as Hadoop does, and
/// says so; tests/hadoop.rs checks real Hadoop against it.
#[test]
fn emulate_drops_what_a_keyless_reduce_task_writes_as_hadoop_does() {
    let w = Workdir::new();
    w.write("in.txt", "a b\nc a\n");
    w.write("empty.txt", "");
    let run = |input: &str, runner: &[&str]| {
        let args = [
            "run",
            "reduce_totals",
            "-q",
            "-i",
            input,
            "--partitions",
            "4",
        ];
        let o = ok(w.mr(&[&args[..], runner].concat()));
        let mut lines: Vec<String> = stdout(&o).lines().map(String::from).collect();
        lines.sort();
        (lines, stderr(&o))
    };
    let (local, said) = run("in.txt", &[]);
    // A total from each of the four tasks, 0 from the keyless one.
    assert_eq!(
        local,
        [
            "\"a\"\t2", "\"b\"\t1", "\"c\"\t1", "null\t0", "null\t1", "null\t1", "null\t2"
        ],
        "{said}"
    );
    let (emulated, said) = run("in.txt", &["-r", "emulate"]);
    let keyless: Vec<&String> = local.iter().filter(|l| l.as_str() == "null\t0").collect();
    assert_eq!(keyless.len(), 1);
    let mut without = local.clone();
    without.retain(|l| l != "null\t0");
    assert_eq!(emulated, without);
    assert!(
        said.contains("mr: warning: 1 reduce task of step 0 got no keys (task ")
            && said.contains("the 1 line their finish hooks wrote (mrjob's reducer_final)"),
        "{said}"
    );
    // An empty input: a total of 0 from each task locally, none emulated.
    let (local, _) = run("empty.txt", &[]);
    assert_eq!(local, ["null\t0"; 4]);
    let (emulated, said) = run("empty.txt", &["-r", "emulate"]);
    assert!(emulated.is_empty(), "{emulated:?}");
    assert!(
        said.contains("4 reduce tasks of step 0 got no keys (tasks 0, 1, 2, 3)"),
        "{said}"
    );
}

/// What `-r hadoop` refuses before it submits, the emulator refuses too: it
/// is there to find what works locally and fails on a cluster.
/// Every task of an emulated run runs the program the run started with,
/// as Hadoop ships one copy per job: the binary removed mid-run (a
/// rebuild, a package upgrade) does not fail the tasks that start after
/// (they ran the new program, or failed to start).
#[test]
fn emulate_tasks_run_the_binary_the_run_started_with() {
    let w = Workdir::new();
    let text: String = (0..60_000)
        .map(|i| format!("w{} x{}\n", i % 977, i % 13))
        .collect();
    w.write("in/a.txt", &text);
    let copy = w.path("mrcopy");
    fs::copy(MR, &copy).unwrap();
    let mut child = Command::new(&copy)
        .args([
            "run",
            "word_count",
            "-r",
            "emulate",
            "-i",
            "in",
            "-o",
            "out",
            "-q",
        ])
        .args(["-j", "1", "--chunksize", "16KB", "--tmp-dir", "scratch"])
        .current_dir(w.dir.path())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Task directories made so far (one a task; gone at the step's end).
    let tasks = || -> usize {
        let Ok(dirs) = fs::read_dir(w.path("scratch")) else {
            return 0;
        };
        dirs.flatten()
            .filter_map(|d| fs::read_dir(d.path().join("step-0/tasks")).ok())
            .map(Iterator::count)
            .sum()
    };
    let started = Instant::now();
    while tasks() == 0 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "ended before its first task"
        );
        assert!(started.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(1));
    }
    fs::remove_file(&copy).unwrap();
    let at_removal = tasks();
    let mut later = 0;
    while child.try_wait().unwrap().is_none() {
        later = later.max(tasks());
        std::thread::sleep(Duration::from_millis(1));
    }
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        later > at_removal,
        "no task started after the removal: {at_removal}"
    );
    ok(w.mr(&["run", "word_count", "-i", "in", "-o", "local", "-q"]));
    let (emulated, local) = (read_parts(&w.path("out")), read_parts(&w.path("local")));
    assert!(by_key(&emulated) == by_key(&local), "the outputs differ");
}

#[test]
fn emulate_refuses_what_hadoop_refuses() {
    let w = Workdir::new();
    w.write("in/a.txt", "a b\n");
    w.write("col/app-T10:00.log", "a b\n");
    for (args, code, says) in [
        (
            &["-i", "in", "-D", "stream.num.map.output.key.fields=2"][..],
            2,
            "mr sets how Hadoop",
        ),
        (
            &["-i", "in", "-D", "mapreduce.job.reduces=0"][..],
            2,
            "is 0 reducers to Hadoop",
        ),
        (&["-i", "col"][..], 1, "cannot read a file with ':'"),
        // Settings by which a failed task, or Hadoop's own record
        // skipping, loses input with exit 0 (probe /tmp/probe-hadoop 03).
        (
            &["-i", "in", "-D", "stream.non.zero.exit.is.failure=FALSE"][..],
            2,
            "a task that fails would count as done",
        ),
        (
            &["-i", "in", "-D", "mapreduce.map.failures.maxpercent=5"][..],
            2,
            "succeed with failed tasks",
        ),
        (
            &["-i", "in", "-D", "mapreduce.reduce.skip.maxgroups=1"][..],
            2,
            "skip the records around a failure",
        ),
        // Hadoop's line length and non-recursive input directories drop
        // lines and files with exit 0 (probe /tmp/probe24-cluster repro 02).
        (
            &["-i", "in", "-D", "mapred.linerecordreader.maxlength=100"][..],
            2,
            "line reader would drop every longer line",
        ),
        (
            &[
                "-i",
                "in",
                "-D",
                "mapreduce.input.fileinputformat.input.dir.recursive=false",
            ][..],
            2,
            "would not read the subdirectories",
        ),
    ] {
        let o = w.mr(&[&["run", "word_count", "-r", "emulate"][..], args].concat());
        assert_eq!(o.status.code(), Some(code), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
    }
    // On Spark too, with Spark's own settings that read a damaged file
    // short without a word (probe /tmp/probe24-cluster repro 03); refused
    // before Spark starts.
    for (conf, says) in [
        ("spark.files.ignoreCorruptFiles=true", "damaged or vanished"),
        (
            "spark.sql.files.ignoreMissingFiles=TRUE",
            "damaged or vanished",
        ),
        (
            "mapreduce.input.linerecordreader.line.maxlength=9",
            "drop every longer line",
        ),
    ] {
        let o = w.mr(&["run", "word_count", "-r", "spark", "-i", "in", "-D", conf]);
        assert_eq!(o.status.code(), Some(2), "{conf}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{conf}: {}", stderr(&o));
    }
    // 0 reducers: refused by the local runner too (it ran with one a
    // thread: what worked locally failed on the cluster).
    let o = w.mr(&[
        "run",
        "word_count",
        "-i",
        "in",
        "-D",
        "mapreduce.job.reduces=0",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("is 0 reducers to Hadoop"),
        "{}",
        stderr(&o)
    );
    // A symbolic link as the output is not replaced, on any runner, as the
    // local runner refuses it (Spark replaced the link with a directory).
    ok(w.mr(&["run", "word_count", "-i", "in", "-o", "real", "-q"]));
    std::os::unix::fs::symlink("real", w.path("link")).unwrap();
    for runner in [
        &["-r", "spark"][..],
        &["-r", "hadoop", "--dry-run"],
        &["-r", "emulate"],
    ] {
        let args = ["run", "word_count", "-i", "in", "-o", "link", "--overwrite"];
        let o = w.mr(&[&args[..], runner].concat());
        assert_eq!(o.status.code(), Some(1), "{runner:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("is a symbolic link"),
            "{runner:?}: {}",
            stderr(&o)
        );
    }
    // Nor, without --overwrite, is --overwrite suggested for it (which
    // refuses it): the link is said, and where it points.
    let o = w.mr(&["run", "word_count", "-i", "in", "-o", "link"]);
    assert!(!stderr(&o).contains("--overwrite"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("is a symbolic link (to "),
        "{}",
        stderr(&o)
    );
    assert!(
        fs::symlink_metadata(w.path("link"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn emulate_hadoop_shows_the_failing_tasks_stderr() {
    let w = Workdir::new();
    w.write(
        "in/a.jsonl",
        "{\"page_url\": \"/a\"}\n{\"page_url\": \"/b\"}\n{\"page_url\": \"/x\", trunc\n",
    );
    let o = w.mr(&["emulate-hadoop", "url_views", "-i", "in", "-o", "out"]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("the mapper of map task 0 of step 0")
            && e.contains("its stderr ends with")
            && e.contains("bad record at file:")
            && e.contains("a.jsonl:3")
            && e.contains("trunc"),
        "{e}"
    );
    assert!(!w.path("out").exists());
    let o = ok(w.mr(&[
        "emulate-hadoop",
        "url_views",
        "-i",
        "in",
        "--skip-bad-records",
    ]));
    assert_eq!(stdout(&o), "\"/a\"\t1\n\"/b\"\t1\n");
    assert!(stderr(&o).contains("mr-bad-record: "), "{}", stderr(&o));
}

// ---------------------------------------------------------------------------
// `-r hadoop`: the commands, against the documented form.

/// `--dry-run` output with this binary's path and the run's id replaced by
/// the placeholders docs/scale-out.md shows.
fn normalized_dry_run(w: &Workdir, args: &[&str]) -> String {
    let o = ok(w.mr(args));
    let exe = fs::canonicalize(MR).unwrap().display().to_string();
    let s = stdout(&o)
        .replace(&exe, "/path/to/mr")
        .replace(MR, "/path/to/mr");
    // /tmp/mr-JOB-SECS-PID-RANDOM -> /tmp/mr-JOB-1795389352-4242-3f9a0c1e,
    // and so the output's staging names (OUT.mr-tmp-JOB-..., OUT.mr-old-...).
    let mut s = normalized_ids(&s, "/tmp/mr-");
    for mark in [".mr-tmp-", ".mr-old-"] {
        s = normalized_ids(&s, mark);
    }
    s
}

/// `s` with the run id after each `mark` (`JOB-SECS-PID-RANDOM`) made
/// `JOB-1795389352-4242-3f9a0c1e`.
fn normalized_ids(s: &str, mark: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find(mark) {
        let (head, tail) = rest.split_at(at + mark.len());
        out.push_str(head);
        let end = tail.find(['/', ' ', '\n']).unwrap_or(tail.len());
        let id = &tail[..end];
        let job_end = id
            .rfind('-')
            .and_then(|i| id[..i].rfind('-'))
            .and_then(|i| id[..i].rfind('-'))
            .unwrap_or(id.len());
        out.push_str(&id[..job_end]);
        out.push_str("-1795389352-4242-3f9a0c1e");
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

const JAR: &str = "/opt/hadoop/share/hadoop/tools/lib/hadoop-streaming-3.3.6.jar";

const TWO_STEPS_DOCUMENTED: &str = "\
hadoop fs -ls -d hdfs:///out/top_lectures hdfs:///out/top_lectures/_SUCCESS
# the output must not exist, or be an empty directory (listed empty here, and
# removed once every step has succeeded):
hadoop fs -ls hdfs:///out/top_lectures

hadoop jar /opt/hadoop/share/hadoop/tools/lib/hadoop-streaming-3.3.6.jar \\
    -D 'mapreduce.job.name=mr top_lectures step 1/2' \\
    -D mapreduce.input.fileinputformat.input.dir.recursive=true \\
    -D stream.map.input.ignoreKey=false \\
    -D 'textinputformat.record.delimiter=
' \\
    -D mapreduce.fileoutputcommitter.algorithm.version=1 \\
    -files /path/to/mr \\
    -input hdfs:///logs \\
    -output /tmp/mr-top_lectures-1795389352-4242-3f9a0c1e/step-0 \\
    -mapper './mr run top_lectures --step-num 0 --mapper' \\
    -combiner './mr run top_lectures --step-num 0 --combiner' \\
    -reducer './mr run top_lectures --step-num 0 --reducer' \\
    -numReduceTasks 4

hadoop jar /opt/hadoop/share/hadoop/tools/lib/hadoop-streaming-3.3.6.jar \\
    -D 'mapreduce.job.name=mr top_lectures step 2/2' \\
    -D mapreduce.input.fileinputformat.input.dir.recursive=true \\
    -D stream.map.input.ignoreKey=false \\
    -D 'textinputformat.record.delimiter=
' \\
    -D mapreduce.fileoutputcommitter.algorithm.version=1 \\
    -files /path/to/mr \\
    -input /tmp/mr-top_lectures-1795389352-4242-3f9a0c1e/step-0 \\
    -output hdfs:///out/.top_lectures.mr-tmp-top_lectures-1795389352-4242-3f9a0c1e \\
    -mapper './mr run top_lectures --step-num 1 --mapper' \\
    -combiner './mr run top_lectures --step-num 1 --combiner' \\
    -reducer './mr run top_lectures --step-num 1 --reducer' \\
    -numReduceTasks 4

# once every step has succeeded (the -rmdir only when OUT was an empty directory;
# if the -test finds the new output inside OUT, another run wrote OUT meanwhile:
# the new output is moved back out and the run fails):
hadoop fs -rmdir hdfs:///out/top_lectures
hadoop fs -mv hdfs:///out/.top_lectures.mr-tmp-top_lectures-1795389352-4242-3f9a0c1e hdfs:///out/top_lectures
hadoop fs -test -e hdfs:///out/top_lectures/.top_lectures.mr-tmp-top_lectures-1795389352-4242-3f9a0c1e

hadoop fs -rm -r -f -skipTrash /tmp/mr-top_lectures-1795389352-4242-3f9a0c1e
";

const SECONDARY_SORT_DOCUMENTED: &str = "\
hadoop fs -ls -d hdfs:///out/watches hdfs:///out/watches/_SUCCESS
# the output must not exist, or be an empty directory (listed empty here, and
# removed once every step has succeeded),
# or be a directory holding _SUCCESS and only what a job writes:
hadoop fs -ls hdfs:///out/watches

hadoop jar /opt/hadoop/share/hadoop/tools/lib/hadoop-streaming-3.3.6.jar \\
    -D 'mapreduce.job.name=mr video_tagging step 1/1' \\
    -D mapreduce.input.fileinputformat.input.dir.recursive=true \\
    -D stream.map.input.ignoreKey=false \\
    -D 'textinputformat.record.delimiter=
' \\
    -D mapreduce.fileoutputcommitter.algorithm.version=1 \\
    -D stream.num.map.output.key.fields=2 \\
    -D mapreduce.partition.keypartitioner.options=-k1,1 \\
    -D mapreduce.job.output.key.comparator.class=org.apache.hadoop.mapreduce.lib.partition.KeyFieldBasedComparator \\
    -D 'mapreduce.partition.keycomparator.options=-k1,1 -k2,2' \\
    -D stream.reduce.output=keyonlytext \\
    -D mapreduce.map.memory.mb=2048 \\
    -files /path/to/mr \\
    -input hdfs:///logs/2026-11-01 \\
    -input hdfs:///logs/2026-11-02 \\
    -output hdfs:///out/.watches.mr-tmp-video_tagging-1795389352-4242-3f9a0c1e \\
    -mapper './mr run video_tagging --step-num 0 --mapper' \\
    -reducer './mr run video_tagging --step-num 0 --reducer' \\
    -partitioner org.apache.hadoop.mapred.lib.KeyFieldBasedPartitioner \\
    -numReduceTasks 8

# once every step has succeeded (the -rmdir only when OUT was an empty directory,
# the first -mv only when there is an old output; if the -test finds the new
# output inside OUT, another run wrote OUT meanwhile: the new output is moved
# back out and the run fails):
hadoop fs -rmdir hdfs:///out/watches
hadoop fs -mv hdfs:///out/watches hdfs:///out/.watches.mr-old-video_tagging-1795389352-4242-3f9a0c1e
hadoop fs -mv hdfs:///out/.watches.mr-tmp-video_tagging-1795389352-4242-3f9a0c1e hdfs:///out/watches
hadoop fs -test -e hdfs:///out/watches/.watches.mr-tmp-video_tagging-1795389352-4242-3f9a0c1e
hadoop fs -ls hdfs:///out/.watches.mr-old-video_tagging-1795389352-4242-3f9a0c1e
hadoop fs -rm -r -skipTrash hdfs:///out/.watches.mr-old-video_tagging-1795389352-4242-3f9a0c1e
";

#[track_caller]
fn assert_documented(block: &str) {
    let docs = fs::read_to_string(DOCS).unwrap();
    assert!(
        docs.contains(block),
        "docs/scale-out.md does not show these commands:\n{block}"
    );
}

/// A `--tmp-dir` that starts with `-` is not taken for an option by
/// `hadoop fs` (`-rm -r -f -skipTrash -x/mr-...`).
#[test]
fn hadoop_tmp_dir_starting_with_a_dash_is_a_path() {
    let w = Workdir::new();
    let got = normalized_dry_run(
        &w,
        &[
            "run",
            "top_lectures",
            "-r",
            "hadoop",
            "--dry-run",
            "--tmp-dir=-x",
            "--input",
            "hdfs:///logs",
            "--output",
            "hdfs:///out/top_lectures",
            "--hadoop-streaming-jar",
            JAR,
        ],
    );
    assert!(got.contains("-skipTrash ./-x/mr-top_lectures-"), "{got}");
    assert!(!got.contains(" -x/"), "{got}");
}

#[test]
fn hadoop_dry_run_two_step_job_matches_the_documented_form() {
    let w = Workdir::new();
    let got = normalized_dry_run(
        &w,
        &[
            "run",
            "top_lectures",
            "-r",
            "hadoop",
            "--dry-run",
            "--input",
            "hdfs:///logs",
            "--output",
            "hdfs:///out/top_lectures",
            "--partitions",
            "4",
            "--hadoop-streaming-jar",
            JAR,
        ],
    );
    assert_eq!(got, TWO_STEPS_DOCUMENTED);
    assert_documented(TWO_STEPS_DOCUMENTED);
}

#[test]
fn hadoop_dry_run_secondary_sort_matches_the_documented_form() {
    let w = Workdir::new();
    let got = normalized_dry_run(
        &w,
        &[
            "run",
            "video_tagging",
            "-r",
            "hadoop",
            "--dry-run",
            "-i",
            "hdfs:///logs/2026-11-01",
            "-i",
            "hdfs:///logs/2026-11-02",
            "-o",
            "hdfs:///out/watches",
            "--overwrite",
            "--num-reducers",
            "8",
            "-D",
            "mapreduce.map.memory.mb=2048",
            "--hadoop-streaming-jar",
            JAR,
        ],
    );
    assert_eq!(got, SECONDARY_SORT_DOCUMENTED);
    assert_documented(SECONDARY_SORT_DOCUMENTED);
}

/// A stand-in for `hadoop`: logs its arguments, prints a lot on stderr (more
/// than a pipe holds), and fails the step whose job name contains `$FAIL`;
/// `fs -test` finds nothing.
const FAKE_HADOOP: &str = r#"#!/usr/bin/env bash
args="$*"
echo "${args//$'\n'/\\n}" >> "$(dirname "$0")/calls.log"
case "$*" in "fs -test "*) exit 1;; esac
for i in $(seq 1 3000); do echo "INFO some hadoop chatter line $i" >&2; done
echo "INFO mapreduce.Job:  map 100% reduce 100%" >&2
case "$*" in
  *"$FAIL"*) echo "ERROR streaming.StreamJob: Job not successful! (simulated)" >&2; exit 1;;
esac
exit 0
"#;

#[cfg(unix)]
#[test]
fn hadoop_runner_runs_each_step_and_shows_stderr_on_failure() {
    use std::os::unix::fs::PermissionsExt;
    let w = Workdir::new();
    let fake = w.write("bin/hadoop", FAKE_HADOOP);
    fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
    let fake = fake.display().to_string();
    let args = [
        "run",
        "top_lectures",
        "-r",
        "hadoop",
        "-i",
        "hdfs:///logs",
        "-o",
        "hdfs:///out",
        "--hadoop-bin",
        &fake,
        "--hadoop-streaming-jar",
        JAR,
    ];
    let o = ok(w.mr_env(&args, &[("FAIL", "no step fails")]));
    let calls = fs::read_to_string(w.path("bin/calls.log")).unwrap();
    let calls: Vec<&str> = calls.lines().collect();
    assert_eq!(calls.len(), 6, "{calls:?}");
    // The output is looked at before any step runs.
    assert_eq!(calls[0], "fs -ls -d hdfs:///out hdfs:///out/_SUCCESS");
    assert!(calls[1].contains("step 1/2") && calls[2].contains("step 2/2"));
    // Lines end at \n only, as locally (a newline, escaped in the log).
    assert!(
        calls[1]
            .contains("-D textinputformat.record.delimiter=\\n -D mapreduce.fileoutputcommitter")
    );
    // The last step wrote beside the output, then moved in.
    assert!(calls[2].contains("-output hdfs:///.out.mr-tmp-top_lectures-"));
    assert!(calls[3].starts_with("fs -mv hdfs:///.out.mr-tmp-top_lectures-"));
    assert!(calls[4].starts_with("fs -test -e hdfs:///out/.out.mr-tmp-top_lectures-"));
    assert!(calls[5].starts_with("fs -rm -r -f -skipTrash /tmp/mr-top_lectures-"));
    // Progress lines are echoed, the chatter is not.
    let e = stderr(&o);
    assert!(
        e.contains("map 100% reduce 100%") && !e.contains("chatter"),
        "{e}"
    );

    fs::remove_file(w.path("bin/calls.log")).unwrap();
    let o = w.mr_env(&args, &[("FAIL", "step 2/2")]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("Hadoop Streaming (step 2/2 of top_lectures) failed")
            && e.contains("Job not successful! (simulated)")
            && e.contains("chatter line 3000")
            && !e.contains("chatter line 100\n"),
        "{e}"
    );
    // The intermediate directory is removed on failure too.
    let calls = fs::read_to_string(w.path("bin/calls.log")).unwrap();
    assert!(
        calls.lines().last().unwrap().starts_with("fs -rm"),
        "{calls}"
    );
}

// ---------------------------------------------------------------------------
// mrjob's local runner, with command steps running this binary.

#[test]
fn mrjob_local_runner_with_command_steps_equals_local_runner() {
    if !peer_available(
        "python3 with mrjob",
        Command::new("python3").args(["-c", "import mrjob"]),
    ) {
        return;
    }
    let w = Workdir::new();
    let logs = w.logs();
    for (job, steps) in [
        ("url_views", "cr"),
        ("video_tagging", "rs"),
        ("top_lectures", "cr,cr"),
    ] {
        let want = w.local(job, &logs);
        let o = Command::new("python3")
            .args([MRJOB_EXAMPLE, "-r", "local", "--no-conf"])
            .arg(&logs)
            .env("MR_BINARY", MR)
            .env("MR_JOB", job)
            .env("MR_STEPS", steps)
            .env("TMPDIR", w.path("_tmp"))
            .current_dir(w.dir.path())
            .output()
            .unwrap();
        assert!(o.status.success(), "{job}: {}", stderr(&o));
        // mrjob concatenates its reducers' outputs: equal once ordered by key.
        assert_eq!(by_key(&stdout(&o)), by_key(&want), "{job}");
    }
}

// ---------------------------------------------------------------------------
// A Spark standalone cluster on 127.0.0.1.

/// Processes of this test, each in a process group of its own, stopped
/// (TERM, then KILL) when dropped: the cluster goes away on failure too.
struct Processes {
    children: Vec<(String, Child)>,
}

impl Processes {
    fn spawn(&mut self, name: &str, cmd: &mut Command, log: &Path) {
        use std::os::unix::process::CommandExt;
        let log = fs::File::create(log).unwrap();
        let child = cmd
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        self.children.push((name.to_string(), child));
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for (_, child) in self.children.iter_mut().rev() {
            // The negative pid names the process group we gave the child.
            let _ = Command::new("kill")
                .args(["-TERM", "--", &format!("-{}", child.id())])
                .status();
        }
        for (name, child) in self.children.iter_mut().rev() {
            let deadline = Instant::now() + Duration::from_secs(15);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            if child.try_wait().ok().flatten().is_none() {
                eprintln!("{name} did not stop on TERM: killing it");
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", child.id())])
                    .status();
                let _ = child.wait();
            }
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[track_caller]
fn wait_for_log(log: &Path, text: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let s = fs::read_to_string(log).unwrap_or_default();
        if s.contains(text) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not start in 120s; its log:\n{s}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Runs `cmd` (in its own process group) for at most `limit`.
fn output_within(cmd: &mut Command, limit: Duration) -> Output {
    use std::os::unix::process::CommandExt;
    let child = cmd
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let id = child.id();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(limit).is_err() {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{id}")])
                .status();
        }
    });
    let out = child.wait_with_output().unwrap();
    let _ = done_tx.send(());
    watchdog.join().unwrap();
    out
}

#[cfg(unix)]
#[test]
fn spark_standalone_cluster_equals_local_runner() {
    let pyspark = Command::new("python3")
        .args([
            "-c",
            "import pyspark, os; print(os.path.dirname(pyspark.__file__))",
        ])
        .output();
    let java = peer_available("java", Command::new("java").arg("-version"));
    let have_pyspark = peer_available(
        "python3 with pyspark (pip install pyspark)",
        Command::new("python3").args(["-c", "import pyspark"]),
    );
    if !java || !have_pyspark {
        return;
    }
    let spark_home = PathBuf::from(stdout(&pyspark.unwrap()).trim());
    let spark_class = spark_home.join("bin/spark-class");
    let w = Workdir::new();
    let logs = w.logs();
    let (port, ui, worker_ui) = (free_port(), free_port(), free_port());
    let master_url = format!("spark://127.0.0.1:{port}");
    let env = [
        ("SPARK_HOME", spark_home.display().to_string()),
        ("SPARK_LOCAL_IP", "127.0.0.1".to_string()),
        (
            "SPARK_LOCAL_DIRS",
            w.path("spark-local").display().to_string(),
        ),
    ];
    let mut cluster = Processes {
        children: Vec::new(),
    };
    let master_log = w.path("master.log");
    cluster.spawn(
        "the Spark master",
        Command::new(&spark_class)
            .args([
                "org.apache.spark.deploy.master.Master",
                "--host",
                "127.0.0.1",
            ])
            .args(["--port", &port.to_string(), "--webui-port", &ui.to_string()])
            .envs(env.iter().map(|(k, v)| (k, v))),
        &master_log,
    );
    wait_for_log(
        &master_log,
        "I have been elected leader",
        "the Spark master",
    );
    let worker_log = w.path("worker.log");
    cluster.spawn(
        "the Spark worker",
        Command::new(&spark_class)
            .args(["org.apache.spark.deploy.worker.Worker", &master_url])
            .args(["--host", "127.0.0.1", "--cores", "2", "--memory", "1g"])
            .args(["--webui-port", &worker_ui.to_string()])
            .arg("--work-dir")
            .arg(w.path("spark-work"))
            .envs(env.iter().map(|(k, v)| (k, v))),
        &worker_log,
    );
    wait_for_log(
        &worker_log,
        "Successfully registered with master",
        "the Spark worker",
    );

    let run = |args: &[&str]| {
        let o = output_within(
            Command::new(MR)
                .args(args)
                .args([
                    "--spark-master",
                    &master_url,
                    "-D",
                    "spark.executor.memory=512m",
                ])
                .current_dir(w.dir.path())
                .env("TMPDIR", w.path("_tmp"))
                .envs(env.iter().map(|(k, v)| (k, v))),
            Duration::from_secs(600),
        );
        assert!(
            o.status.success(),
            "mr {args:?} on Spark failed: {}\nworker log:\n{}",
            stderr(&o),
            fs::read_to_string(&worker_log).unwrap_or_default()
        );
        o
    };
    let input = logs.display().to_string();
    // url_views into an output directory: part files and _SUCCESS.
    let want = w.local("url_views", &logs);
    run(&[
        "run",
        "url_views",
        "-r",
        "spark",
        "-i",
        &input,
        "-o",
        "out",
        "--partitions",
        "3",
    ]);
    let out = w.path("out");
    assert!(out.join("_SUCCESS").exists());
    assert!(out.join("part-00002").exists());
    assert_eq!(by_key(&read_parts(&out)), by_key(&want));
    // video_tagging (secondary sort) to stdout, in key order.
    let want = w.local("video_tagging", &logs);
    let o = run(&[
        "run",
        "video_tagging",
        "-r",
        "spark",
        "-i",
        &input,
        "--partitions",
        "2",
    ]);
    assert!(
        stdout(&o) == want,
        "video_tagging on Spark:\n{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("video events="), "{}", stderr(&o));
    drop(cluster);
}

/// A CSV file's header in a task of Hadoop Streaming or Spark: the task
/// whose split starts the file takes its first line as the header, a task
/// of a later split reads it from the file, so csv_count counts data rows
/// only, as the local runner does (every cluster runner counted the header
/// as a row). Piped in by hand, with no file named, fields stay in order.
#[test]
fn csv_header_in_task_mode_comes_from_the_split_and_its_file() {
    let w = Workdir::new();
    let mut text = String::from("id,name,score\n");
    for i in 0..3000 {
        text.push_str(&format!("{i},n{i},{}\n", i % 100));
    }
    let file = w.write("csv/a.csv", &text);
    let uri = format!("file://{}", file.display());
    let cut = text[text.len() / 2..].find('\n').unwrap() + text.len() / 2 + 1;
    let mapper = |start: usize, bytes: &str| {
        let start = start.to_string();
        let env = [
            ("mapreduce_map_input_file", uri.as_str()),
            ("mapreduce_map_input_start", start.as_str()),
        ];
        stdout(&ok(w.mr_env_stdin(
            &["run", "csv_count", "--mapper"],
            &env,
            bytes.as_bytes(),
        )))
    };
    let count = |out: &str| -> u64 {
        out.lines()
            .filter(|l| l.starts_with("\"rows\""))
            .map(|l| l.split('\t').nth(1).unwrap().parse::<u64>().unwrap())
            .sum()
    };
    assert_eq!(
        count(&mapper(0, &text[..cut])) + count(&mapper(cut, &text[cut..])),
        3000
    );
    // By hand, no file: the header is a row of fields in order.
    let o = ok(w.mr_stdin(&["run", "csv_count", "--mapper"], Some(text.as_bytes())));
    assert_eq!(count(&stdout(&o)), 3001);
    // The emulator's splits (one process a task) agree with the local runner.
    let local = stdout(&ok(w.mr(&["run", "csv_count", "-i", "csv"])));
    let emulated = stdout(&ok(w.mr(&[
        "run",
        "csv_count",
        "-r",
        "emulate",
        "-i",
        "csv",
        "--chunksize",
        "8KB",
    ])));
    assert_eq!(emulated, local);
    assert!(local.contains("\"rows\"\t3000"), "{local}");
}

/// Run by hand, the last step's last task writes the job's output protocol,
/// as mrjob's task mode does (it wrote JSON): map-only mr_grep gives raw
/// lines, mr_most_used_word's second reducer a JSON value, as a local run;
/// `--output-protocol` still wins. And the cluster runners, which say the
/// protocol only when needed, say `json` when it is not the job's own.
#[test]
fn the_last_task_by_hand_writes_the_jobs_output_protocol() {
    let w = Workdir::new();
    let text = "the cat\nno dog here\nthe end\n";
    w.write("in.txt", text);
    let local = stdout(&ok(w.mr(&["run", "mr_grep", "-e", "the", "-i", "in.txt"])));
    let mapper = |extra: &[&str]| {
        let mut args = vec!["run", "mr_grep", "-e", "the", "--step-num", "0", "--mapper"];
        args.extend_from_slice(extra);
        stdout(&ok(w.mr_stdin(&args, Some(text.as_bytes()))))
    };
    assert_eq!(mapper(&[]), local);
    assert_eq!(local, "the cat\nthe end\n");
    assert_eq!(
        mapper(&["--output-protocol", "json"]),
        "null\t\"the cat\"\nnull\t\"the end\"\n"
    );
    let words = "one two two three three three\n";
    let task = |step: &str, role: &str, input: &str| {
        stdout(&ok(w.mr_stdin(
            &["run", "mr_most_used_word", "--step-num", step, role],
            Some(input.as_bytes()),
        )))
    };
    let sorted = |s: String| {
        let mut l: Vec<&str> = s.lines().collect();
        l.sort();
        l.iter().map(|l| format!("{l}\n")).collect::<String>()
    };
    let s0 = sorted(task("0", "--mapper", words));
    let s1 = sorted(task("1", "--mapper", &task("0", "--reducer", &s0)));
    let by_hand = task("1", "--reducer", &s1);
    let local = stdout(&ok(
        w.mr_stdin(&["run", "mr_most_used_word"], Some(words.as_bytes()))
    ));
    assert_eq!(by_hand, local);
    assert_eq!(by_hand, "\"three\"\n");
    let o = ok(w.mr(&[
        "run",
        "mr_grep",
        "-e",
        "the",
        "-i",
        "in.txt",
        "-o",
        "out",
        "-r",
        "hadoop",
        "--dry-run",
        "--output-protocol",
        "json",
        "--hadoop-streaming-jar",
        "/x.jar",
    ]));
    assert!(
        stdout(&o).contains("--output-protocol json"),
        "{}",
        stdout(&o)
    );
}

/// An input directory with no file to read (an old `_SUCCESS` only): the
/// local runner runs one map task (mr_wc's mapper_final emits its zeros),
/// Hadoop none, and wrote nothing (probe /tmp/probe-hadoop repro 04). Said
/// before submitting.
#[test]
fn an_input_without_files_is_said_to_run_no_map_task_on_hadoop() {
    let w = Workdir::new();
    w.write("day/_SUCCESS", "");
    w.write("full/a.txt", "one\n");
    let run = |input: &str| {
        w.mr(&[
            "run",
            "mr_wc",
            "-r",
            "hadoop",
            "--dry-run",
            "-i",
            input,
            "-o",
            "o",
            "--hadoop-streaming-jar",
            "/x.jar",
        ])
    };
    let o = ok(run("day"));
    assert!(
        stderr(&o).contains("Hadoop and Spark run no map task"),
        "{}",
        stderr(&o)
    );
    let o = ok(run("full"));
    assert!(
        !stderr(&o).contains("Hadoop and Spark run no map task"),
        "{}",
        stderr(&o)
    );
}

/// Local inputs that Hadoop and Spark would read otherwise than the local
/// runner are refused before a job is submitted, naming the file: a second
/// path to a file (the local runner reads it once, they twice), a loop, a
/// file whose name does not say its codec (they choose it by the name), what
/// the local runner refuses to read (Spark read a `.tar.gz` as lines of
/// junk), and, on Hadoop, an empty `.gz` (its codec fails on it; Spark
/// skips it) or a named pipe (it waited on it forever).
#[test]
fn local_inputs_a_cluster_would_read_otherwise_are_refused() {
    let w = Workdir::new();
    let line = "{\"page_url\": \"/a\"}\n";
    w.write("dup/f.jsonl", line);
    std::os::unix::fs::symlink("f.jsonl", w.path("dup/link.jsonl")).unwrap();
    w.write("loop/a/f.jsonl", line);
    std::os::unix::fs::symlink("..", w.path("loop/a/up")).unwrap();
    w.write("text named gz/x.jsonl.gz", line);
    w.write_gz("gzip named log/x.log", line.as_bytes());
    w.write("empty gz/x.gz", "");
    w.write("empty gz/y.jsonl", line);
    w.write_gz("fine/a.jsonl.gz", line.as_bytes());
    // A tar archive, gzipped: its decoded start is a tar header.
    let mut tar = vec![0u8; 512];
    tar[..9].copy_from_slice(b"inner.txt");
    tar[257..265].copy_from_slice(b"ustar\x0000");
    w.write_gz("tarball/logs.tar.gz", &tar);
    w.write("fifo/a.jsonl", line);
    let fifo = std::process::Command::new("mkfifo")
        .arg(w.path("fifo/pipe.jsonl"))
        .status()
        .is_ok_and(|s| s.success());
    w.write("fine/b.jsonl", line);
    let run = |runner: &str, input: &str| cluster_dry_run(&w, "url_views", runner, input);
    for runner in ["hadoop", "spark"] {
        for (input, says) in [
            ("dup", "dup/link.jsonl is the same file as"),
            (
                "loop",
                "loop/a/up is a symbolic link back into a directory being read",
            ),
            (
                "text named gz",
                "x.jsonl.gz holds plain text, but its name says gzip",
            ),
            (
                "gzip named log",
                "x.log holds gzip (.gz) data, but its name says no codec",
            ),
        ] {
            // Given as a `file:` URI, the same local files: the same checks
            // (they were skipped, and Hadoop counted a linked file twice).
            let uri = format!("file://{}", w.path(input).display());
            for input in [input, uri.as_str()] {
                let o = run(runner, input);
                assert_eq!(o.status.code(), Some(1), "{runner} {input}");
                assert!(
                    stderr(&o).contains(says),
                    "{runner} {input}: {}",
                    stderr(&o)
                );
            }
        }
        ok(run(runner, "fine"));
        ok(run(runner, &format!("file://{}", w.path("fine").display())));
    }
    let o = run("spark", "tarball");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("logs.tar.gz is a tar archive, not text"),
        "{}",
        stderr(&o)
    );
    if fifo {
        let o = run("hadoop", "fifo");
        assert_eq!(o.status.code(), Some(1));
        assert!(
            stderr(&o).contains("pipe.jsonl is a named pipe"),
            "{}",
            stderr(&o)
        );
        ok(run("spark", "fifo"));
    }
    // Spark too: it reads files with Hadoop's codecs, and mr has it read
    // empty splits, so its run failed after it started (probe
    // /tmp/probe5-runners repro 04, on a real Spark).
    for runner in ["hadoop", "spark"] {
        let o = run(runner, "empty gz");
        assert_eq!(o.status.code(), Some(1), "{runner}");
        assert!(
            stderr(&o).contains("x.gz is empty but named as gzip"),
            "{runner}: {}",
            stderr(&o)
        );
    }
    // A job whose tasks read whole files reads them with mr's reader, which
    // takes an empty `.gz` as an empty file (-r emulate refused it: probe
    // /tmp/probe5-structured repro 06).
    for runner in ["hadoop", "spark"] {
        ok(cluster_dry_run(&w, "wc_files", runner, "empty gz"));
    }
    // A path through a symbolic link's `..`: Hadoop and Spark fold `..` by
    // the text and would read another file than the local runner's
    // (probe /tmp/probe8-regress repro 03); refused. A `..` without a link
    // is the same file either way.
    #[cfg(unix)]
    {
        w.write("phys.txt", "physical\n");
        w.write("lnk/sub/phys.txt", "lexical\n");
        std::os::unix::fs::symlink("..", w.path("lnk/sub/up")).unwrap();
        for runner in ["hadoop", "spark"] {
            let o = cluster_dry_run(&w, "url_views", runner, "lnk/sub/up/../phys.txt");
            assert_eq!(o.status.code(), Some(1), "{runner}: {}", stderr(&o));
            assert!(
                stderr(&o).contains(
                    "lnk/sub/up/../phys.txt goes through a symbolic link before a `..`: \
                     Hadoop and Spark take `..` by the path's text, so they would read"
                ) && stderr(&o).contains("lnk/sub/phys.txt instead"),
                "{runner}: {}",
                stderr(&o)
            );
            ok(cluster_dry_run(
                &w,
                "url_views",
                runner,
                "lnk/../lnk/sub/phys.txt",
            ));
        }
    }
    // An input of no file: no map task on Hadoop nor on Spark, so a
    // mapper's final hook writes nothing there; said on both (Spark's run
    // printed nothing, exit 0, unsaid: probe /tmp/probe8-spark repro 03).
    // And an output's lock file inside the input is mr's, not a hidden
    // input file to name (repro 04).
    fs::create_dir_all(w.path("no files/sub")).unwrap();
    w.write("no files/_SUCCESS", "");
    w.write("no files/.out.mr-lock", "1\n");
    for runner in ["hadoop", "spark"] {
        let o = ok(cluster_dry_run(&w, "mr_wc", runner, "no files"));
        let cluster = if runner == "hadoop" {
            "Hadoop"
        } else {
            "Spark"
        };
        assert!(
            stderr(&o)
                .contains("the input holds no file to read: Hadoop and Spark run no map task then")
                && stderr(&o).contains(&format!("writes nothing on {cluster})")),
            "{runner}: {}",
            stderr(&o)
        );
        assert!(!stderr(&o).contains("mr-lock"), "{runner}: {}", stderr(&o));
    }
    // Named twice on the command line: the same.
    let o = w.mr(&[
        "run",
        "url_views",
        "-r",
        "hadoop",
        "--dry-run",
        "-i",
        "fine",
        "-i",
        "fine/b.jsonl",
        "-o",
        "o",
        "--hadoop-streaming-jar",
        "/x.jar",
    ]);
    assert!(
        stderr(&o).contains("fine/b.jsonl is the same file as"),
        "{}",
        stderr(&o)
    );
}

/// A dry run of `job` on `runner` (`hadoop` or `spark`) over `input`, to
/// output `o`: it needs neither Hadoop nor Spark installed.
fn cluster_dry_run(w: &Workdir, job: &str, runner: &str, input: &str) -> std::process::Output {
    cluster_dry_run_with(w, job, runner, input, &[], &[])
}

/// [`cluster_dry_run`] with `extra` arguments, in the environment `env`.
fn cluster_dry_run_with(
    w: &Workdir,
    job: &str,
    runner: &str,
    input: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> std::process::Output {
    let tool = match runner {
        "spark" => ["--spark-submit", "/x/spark-submit"],
        _ => ["--hadoop-streaming-jar", "/x.jar"],
    };
    let args = [
        "run",
        job,
        "-r",
        runner,
        "--dry-run",
        "-i",
        input,
        "-o",
        "o",
        tool[0],
        tool[1],
    ];
    w.mr_env(&[&args[..], extra].concat(), env)
}

/// A glob whose directory part matches hidden directories (`hid/*/x.txt`
/// with `hid/_tmp/` and `hid/.staging/`): the local runner leaves out what
/// is under them, Hadoop's `FileInputFormat` filters only the matches' own
/// names and read it (probe /tmp/probe-hadoop repro 05). Refused on Hadoop
/// and Spark, naming the pattern and the match; a pattern that skips them
/// runs.
#[test]
fn a_glob_through_hidden_directories_is_refused_on_a_cluster() {
    let w = Workdir::new();
    w.write("hid/day1/x.txt", "visible\n");
    w.write("hid/_tmp/x.txt", "hidden\n");
    w.write("hid/.staging/x.txt", "hidden\n");
    let run = |runner: &str, input: &str| cluster_dry_run(&w, "word_count", runner, input);
    for runner in ["hadoop", "spark"] {
        let o = run(runner, "hid/*/x.txt");
        assert_eq!(o.status.code(), Some(1), "{runner}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("hid/*/x.txt: this pattern matches hid/")
                && stderr(&o).contains("below a directory whose name starts with _ or ."),
            "{runner}: {}",
            stderr(&o)
        );
        ok(run(runner, "hid/[!._]*/x.txt"));
    }
    // Its only matches below hidden directories: the local runner finds no
    // input and says why; Hadoop (where a path that matches nothing here is
    // taken to be on the cluster's file system) and Spark refuse it too,
    // not read it (probe /tmp/probe6-docs repro 02).
    w.write("only/_tmp/x.txt", "hidden\n");
    let o = w.mr(&["run", "word_count", "-i", "only/*/x.txt"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("only/*/x.txt matches only files below a directory whose name")
            && stderr(&o).contains("such as only/_tmp/x.txt"),
        "{}",
        stderr(&o)
    );
    for runner in ["hadoop", "spark"] {
        let o = run(runner, "only/*/x.txt");
        assert_eq!(o.status.code(), Some(1), "{runner}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("only/*/x.txt: this pattern matches only/_tmp/x.txt, below"),
            "{runner}: {}",
            stderr(&o)
        );
    }
}

/// A glob reads the files Hadoop's glob (and mrjob's, Python's) reads: `**`
/// is `*`, within one name; `[^x]` negates. Checked against the real Hadoop
/// Streaming 3.5 and Spark 3.5: both read `a` and `c` for `g/**/*.jsonl`,
/// and `y` for `g/[^x].jsonl`.
#[test]
fn globs_read_what_hadoop_reads() {
    let w = Workdir::new();
    for f in ["g/d1/a", "g/d1/sub/b", "g/d2/c", "g/x", "g/y"] {
        let name = f.rsplit('/').next().unwrap_or(f);
        w.write(
            &format!("{f}.jsonl"),
            format!("{{\"page_url\": \"/{name}\"}}\n"),
        );
    }
    for (pattern, want) in [
        ("g/**/*.jsonl", "\"/a\"\t1\n\"/c\"\t1\n"),
        ("g/*/*.jsonl", "\"/a\"\t1\n\"/c\"\t1\n"),
        ("g/[^x].jsonl", "\"/y\"\t1\n"),
        ("g/[!x].jsonl", "\"/y\"\t1\n"),
        (
            "g/**",
            "\"/a\"\t1\n\"/b\"\t1\n\"/c\"\t1\n\"/x\"\t1\n\"/y\"\t1\n",
        ),
    ] {
        let o = ok(w.mr(&["run", "url_views", "-q", "-i", pattern]));
        assert_eq!(stdout(&o), want, "{pattern}");
        assert_eq!(stderr(&o), "", "{pattern}");
    }
}

/// What Hadoop's `Path`, `-input` and `-files` cannot take is refused
/// before a job is submitted (it failed minutes later with a Java stack
/// trace): a comma in an input, a colon in a name (given, or a file's below
/// an input directory: its checksum file's name is parsed as a URI), a `#`
/// in a shipped file's name; and `-o OUT/.` is OUT (its staging went
/// inside it).
#[test]
fn paths_hadoop_cannot_take_are_refused_up_front() {
    let w = Workdir::new();
    w.write("in dir,x/a.txt", "a b\n");
    w.write("co:lon/a.txt", "a b\n");
    w.write("ok/a.txt", "a b\n");
    w.write("stop#words.txt", "the\n");
    w.write("ok/_hidden.txt", "a b\n");
    w.write("by time/app-2026-12-04T10:00.log", "a b\n");
    // Hadoop reads a directory with a ':' below an input, and skips a
    // hidden file whatever its name.
    w.write("ok/2026-12-04T10:00/a.txt", "a b\n");
    w.write("ok/_x:y.txt", "a b\n");
    w.write("day[1].txt", "a b\n");
    let run = |args: &[&str]| {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        all.extend([
            "-r",
            "hadoop",
            "--dry-run",
            "--hadoop-streaming-jar",
            "/x.jar",
        ]);
        w.mr(&all)
    };
    for (args, says) in [
        (
            &["word_count", "-i", "in dir,x", "-o", "o"][..],
            "cuts its input paths at commas",
        ),
        (
            &["word_count", "-i", "co:lon", "-o", "o"][..],
            "with ':' in it",
        ),
        (
            &["word_count", "-i", "ok", "-o", "o:ut"][..],
            "with ':' in it",
        ),
        (
            &[
                "mr_most_used_word",
                "-i",
                "ok",
                "-o",
                "o",
                "--stop-words-file",
                "stop#words.txt",
            ][..],
            "read '#' as the start of the name",
        ),
        (
            &["word_count", "-i", "ok/_hidden.txt", "-o", "o"][..],
            "skip files and directories whose name starts with _ or .",
        ),
        (
            &["word_count", "-i", "day[1].txt", "-o", "o"][..],
            "read an input path as a glob pattern, and this one exists as it is written",
        ),
        (
            &["word_count", "-i", "by time", "-o", "o"][..],
            "by time/app-2026-12-04T10:00.log: Hadoop and Spark cannot read a file with ':'",
        ),
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
    }
    let o = ok(run(&[
        "word_count",
        "-i",
        "ok",
        "-o",
        "out/.",
        "--overwrite",
    ]));
    let cmds = stdout(&o);
    assert!(
        cmds.contains("-output .out.mr-tmp-") && !cmds.contains("out/..mr-tmp"),
        "{cmds}"
    );
    // A comma inside a glob's braces is Hadoop's own.
    ok(run(&["word_count", "-i", "o{k,x}", "-o", "o2"]));
    // Spark reads through Hadoop's file systems: the same refusal.
    let o = w.mr(&[
        "run",
        "word_count",
        "-r",
        "spark",
        "--dry-run",
        "--spark-submit",
        "/x/spark-submit",
        "-i",
        "by time",
        "-o",
        "o",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cannot read a file with ':'"),
        "{}",
        stderr(&o)
    );
}

/// A task-mode mapper reads Python's NaN as null as the local runner does,
/// and counts it for Hadoop (`reporter:counter:mr,...`).
#[test]
fn task_mode_mapper_reads_python_nan_as_null_and_counts_it() {
    let w = Workdir::new();
    let input = "{\"page_url\": \"/a\", \"t\": NaN}\n{\"page_url\": \"/a\", \"t\": [Infinity]}\n";
    let o = w.mr_stdin(&["run", "url_views", "--mapper"], Some(input.as_bytes()));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "\"/a\"\t2\n");
    assert!(
        stderr(&o).contains("reporter:counter:mr,lines read with NaN or Infinity as null,2"),
        "{}",
        stderr(&o)
    );
}

/// A local input file whose name is not UTF-8 (a Latin-1 `café.txt`):
/// Hadoop's local file system left it out, with exit 0 (probe
/// /tmp/probe-hadoop repro 09), and so did Spark, which lists files with
/// it. Refused before submitting, naming it, on both.
#[test]
fn a_file_name_that_is_not_utf8_is_refused_on_hadoop_and_spark() {
    use std::os::unix::ffi::OsStrExt as _;
    let w = Workdir::new();
    w.write("latin1/ok.txt", "one\n");
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
    std::fs::write(w.path("latin1").join(name), "two\n").unwrap();
    for (runner, engine) in [
        ("hadoop", ["--hadoop-streaming-jar", "/x.jar"]),
        ("spark", ["--spark-submit", "/x/spark-submit"]),
    ] {
        let args = [
            "run",
            "word_count",
            "-r",
            runner,
            "--dry-run",
            "-i",
            "latin1",
        ];
        let o = w.mr(&[&args[..], &["-o", "o"], &engine[..]].concat());
        assert_eq!(o.status.code(), Some(1), "{runner}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("caf%E9.txt: its name is not UTF-8"),
            "{runner}: {}",
            stderr(&o)
        );
    }
}

/// spark-submit starts a JVM, which decodes its arguments and file names by
/// the locale: under cron or in a bare container (no UTF-8 locale) a Spark
/// run of an input directory `é ü/` read nothing, with exit 0. It is given
/// `LC_ALL=C.UTF-8` then, as `hadoop` is; a UTF-8 locale is left as it is.
#[test]
fn spark_submit_is_given_a_utf8_locale_when_ours_is_not() {
    let w = Workdir::new();
    w.write("é ü/a.txt", "école\n");
    let run = |locale| {
        ok(cluster_dry_run_with(
            &w,
            "word_count",
            "spark",
            "é ü",
            &[],
            &[("LC_ALL", locale)],
        ))
    };
    let o = run("C");
    // The command's line (after the line about the driver).
    assert!(stdout(&o).contains("\nLC_ALL=C.UTF-8 "), "{}", stdout(&o));
    // An installed UTF-8 locale is kept (C.UTF-8 is glibc's own).
    let o = run("C.UTF-8");
    assert!(!stdout(&o).contains("LC_ALL="), "{}", stdout(&o));
    // One named UTF-8 that is not installed gives ASCII names to the JVM
    // (probe /tmp/probe-new, repro 06): replaced.
    let o = run("xx_XX.UTF-8");
    assert!(stdout(&o).contains("\nLC_ALL=C.UTF-8 "), "{}", stdout(&o));
}

/// Hadoop cuts counter names to 64 characters and adds up those that agree
/// up to there (probe /tmp/probe-hadoop repro 03: mr_text_classifier's
/// "Exceeded max df" counters, named after long words). The emulator, which
/// sees the whole names, says which one Hadoop would cut.
#[test]
fn emulate_warns_of_a_counter_name_hadoop_would_cut() {
    let w = Workdir::new();
    let long = "w".repeat(70);
    for i in 1..=6 {
        let (label, word) = if i <= 3 {
            ("spam-not_ham", "xray")
        } else {
            ("ham-not_spam", "yank")
        };
        w.write(&format!("docs/{i}-{label}.txt"), format!("{long} {word}\n"));
    }
    let o = ok(w.mr(&[
        "run",
        "mr_text_classifier",
        "--no-test-set",
        "--max-df",
        "2",
        "-r",
        "emulate",
        "-i",
        "docs",
        "--no-output",
    ]));
    assert!(
        stderr(&o).contains("has a longer name than Hadoop keeps"),
        "{}",
        stderr(&o)
    );
}

/// With a local master, Spark's shuffle and spill files go under
/// `--tmp-dir` (`spark.local.dir`), as the local runner's spills do (and
/// empty input files are map tasks, as on Hadoop); a
/// cluster's executors keep theirs, and a `-D spark.local.dir` wins (probe
/// /tmp/probe-new, repro 13: they went to /tmp/blockmgr-* whatever
/// `--tmp-dir` said).
#[test]
fn spark_shuffle_files_go_under_tmp_dir_with_a_local_master() {
    let w = Workdir::new();
    w.write("in/a.txt", "a b\n");
    let run = |extra: &[&str]| {
        stdout(&ok(cluster_dry_run_with(
            &w,
            "word_count",
            "spark",
            "in",
            extra,
            &[],
        )))
    };
    let scratch = w.path("scratch").display().to_string();
    let dir = format!("spark.local.dir={scratch}");
    assert!(
        run(&["--tmp-dir", "scratch"]).contains(&dir),
        "{}",
        run(&["--tmp-dir", "scratch"])
    );
    assert!(!run(&[]).contains("spark.local.dir"));
    let yarn = run(&["--tmp-dir", "scratch", "--spark-master", "yarn"]);
    assert!(!yarn.contains("spark.local.dir"), "{yarn}");
    let mine = run(&["--tmp-dir", "scratch", "-D", "spark.local.dir=/mine"]);
    assert!(
        mine.contains("spark.local.dir=/mine") && !mine.contains(&dir),
        "{mine}"
    );
    // Empty input files are map tasks, as on Hadoop (Spark 3 leaves them
    // out: mr_wc printed nothing for an empty file, probe /tmp/probe-spark
    // repro 02), unless -D says otherwise.
    let empty = "spark.hadoopRDD.ignoreEmptySplits";
    assert!(run(&[]).contains(&format!("{empty}=false")), "{}", run(&[]));
    let mine = run(&["-D", &format!("{empty}=true")]);
    assert!(
        mine.contains(&format!("{empty}=true")) && !mine.contains(&format!("{empty}=false")),
        "{mine}"
    );
}

/// `-D mapreduce.output.textoutputformat.separator=,` under `-r emulate`:
/// ignored without a word, where Hadoop writes the separator (probe
/// /tmp/probe5-runners repro 01, on a real Hadoop); said now, as -r spark
/// says it.
#[test]
fn emulate_says_it_ignores_an_output_separator() {
    let w = Workdir::new();
    w.write("in.txt", "a b a\n");
    let o = ok(w.mr(&[
        "run",
        "word_count",
        "-q",
        "-r",
        "emulate",
        "-i",
        "in.txt",
        "-D",
        "mapreduce.output.textoutputformat.separator=,",
    ]));
    assert_eq!(stdout(&o), "\"a\"\t2\n\"b\"\t1\n");
    assert!(
        stderr(&o).contains(
            "-D mapreduce.output.textoutputformat.separator has no effect under -r emulate"
        ),
        "{}",
        stderr(&o)
    );
}

/// An empty input file is a split of its own on Hadoop (FileInputFormat
/// makes one), so its map task runs and mr_wc's final hook writes its
/// zeros, as the local runner and Spark do; `-r emulate` ran no map task
/// and wrote nothing (probe /tmp/probe5-runners repro 03, on a real Hadoop).
#[test]
fn emulate_runs_a_map_task_for_an_empty_file() {
    let w = Workdir::new();
    w.write("in/empty.txt", "");
    for runner in ["local", "emulate"] {
        let o = ok(w.mr(&["run", "mr_wc", "-q", "-r", runner, "-i", "in"]));
        assert_eq!(
            stdout(&o),
            "\"chars\"\t0\n\"lines\"\t0\n\"words\"\t0\n",
            "{runner}"
        );
    }
}

/// The emulator's summary lists the job's counters first, its own group
/// next and the framework's last, as the local runner's does (it printed
/// the groups in name order: `emulate`, `mr`, the job's last: probe
/// /tmp/probe16-docs repro 03).
#[test]
fn emulate_lists_the_jobs_counters_first() {
    let w = Workdir::new();
    w.write("in.jsonl", "{\"page_url\": \"/a\"}\n{\"x\": 1}\n");
    let o = ok(w.mr(&[
        "run",
        "url_views",
        "-r",
        "emulate",
        "-i",
        "in.jsonl",
        "--no-output",
    ]));
    let err = stderr(&o);
    let groups: Vec<&str> = err
        .lines()
        .skip_while(|l| *l != "Counters:")
        .filter(|l| l.starts_with("  ") && !l.starts_with("   ") && !l.starts_with("  ("))
        .map(str::trim)
        .collect();
    assert_eq!(groups, ["url_views", "emulate", "mr"], "{err}");
}

/// The report's `settings.partitions` is the reducers the run had: under
/// `-r emulate` it said one a thread when `-D mapreduce.job.reduces` or
/// the job's own jobconf set them (probe /tmp/probe17-report repro 03).
#[test]
fn emulate_reports_the_reducers_jobconf_asked_for() {
    let w = Workdir::new();
    w.write("in.txt", "a b c d e f\n");
    for (job, extra, want) in [
        ("word_count", &["-D", "mapreduce.job.reduces=3"][..], 3),
        ("mr_wc", &[][..], 1),
    ] {
        let mut args = vec!["run", job, "-r", "emulate", "-i", "in.txt", "-q"];
        args.extend(["--no-output", "--report", "r.json"]);
        args.extend_from_slice(extra);
        ok(w.mr(&args));
        let r = w.json("r.json");
        assert_eq!(r["settings"]["partitions"], want, "{job}: {r}");
    }
}

/// The emulator's report gives the spills its map tasks wrote (its counter
/// `emulate / spills`), per task, per step and in all; it said 0 (probe
/// /tmp/probe17-report repro 04).
#[test]
fn emulate_reports_its_spills() {
    let w = Workdir::new();
    let text: String = (0..20_000).map(|i| format!("w{i} x\n")).collect();
    w.write("in.txt", &text);
    ok(w.mr(&[
        "run",
        "word_count",
        "-r",
        "emulate",
        "-i",
        "in.txt",
        "--sort-buffer-mb",
        "0.05",
        "--no-output",
        "-q",
        "--report",
        "r.json",
    ]));
    let r = w.json("r.json");
    let counted = r["counters"]["emulate"]["spills"].as_u64().unwrap();
    assert!(counted > 1, "{r}");
    assert_eq!(r["totals"]["spills"], counted, "{r}");
    let tasks: u64 = r["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["spills"].as_u64().unwrap())
        .sum();
    assert_eq!(tasks, counted, "{r}");
}

/// Under the emulator a map task's `input_bytes` is what it read, decoded,
/// as the local runner's: a `.gz` task said its file's size, and the tasks
/// did not add up to the total (probe /tmp/probe17-report repro 06).
#[test]
fn emulate_tasks_count_their_decoded_input() {
    let w = Workdir::new();
    let lines: String = (0..5000)
        .map(|i| format!("{{\"page_url\": \"/p{}\"}}\n", i % 7))
        .collect();
    w.write_gz("in/a.jsonl.gz", lines.as_bytes());
    w.write("in/b.jsonl", &lines);
    ok(w.mr(&[
        "run",
        "url_views",
        "-r",
        "emulate",
        "-i",
        "in",
        "--no-output",
        "-q",
        "--report",
        "r.json",
    ]));
    let r = w.json("r.json");
    let read: u64 = r["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["phase"] == "map")
        .map(|t| t["input_bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(read, 2 * lines.len() as u64, "{r}");
    assert_eq!(r["totals"]["input_bytes"], read, "{r}");
}
