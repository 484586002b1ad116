//! Fault suite, tasks and inputs (issue 9): job code that panics, a task that
//! fails while others run, signals in every phase and while stdout is
//! blocked, streams (FIFOs, /dev/stdin) as input, mislabelled and damaged
//! compressed files, and hostile text. Every test runs the real `mr`.
//!
//! With `--skip-bad-records`, every test that skips checks the bookkeeping:
//! the skipped count equals the lines under `_bad_records/`, and good plus
//! bad records equals the input records.

mod common;

use common::{MR, Workdir, child_stderr, failed_saying, ok, read_parts, stderr, stdout};
use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// A framework counter from the summary (absent: 0, as `mr` hides zeros).
fn counter(stderr: &str, name: &str) -> u64 {
    assert!(stderr.contains("Counters:"), "no counters in:\n{stderr}");
    stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{name}=")))
        .map_or(0, |v| v.parse().unwrap())
}

fn sorted(s: &str) -> Vec<&str> {
    let mut v: Vec<&str> = s.lines().collect();
    v.sort();
    v
}

/// Lines kept aside under `out/_bad_records/`.
fn bad_record_lines(out: &Path) -> u64 {
    let dir = out.join("_bad_records");
    let Ok(entries) = fs::read_dir(&dir) else {
        return 0;
    };
    entries
        .map(|e| {
            let data = fs::read(e.unwrap().path()).unwrap();
            data.iter().filter(|&&b| b == b'\n').count() as u64
        })
        .sum()
}

/// The run's skipped records equal the lines kept aside, and accepted plus
/// skipped records equal the input records.
#[track_caller]
fn assert_bookkeeping(err: &str, out: &Path, input_records: u64) {
    let skipped = counter(err, "step 0: skipped records");
    assert_eq!(skipped, bad_record_lines(out), "{err}");
    assert_eq!(
        counter(err, "step 0: input records"),
        input_records,
        "{err}"
    );
    let blank = counter(err, "step 0: blank input lines");
    let good = input_records - skipped - blank;
    assert!(good + skipped + blank == input_records);
}

/// No raw Rust panic output, only mr's own error.
#[track_caller]
fn assert_no_raw_panic(err: &str) {
    assert!(
        !err.contains("thread '") && !err.contains("RUST_BACKTRACE"),
        "raw panic message shown:\n{err}"
    );
}

// ---------------------------------------------------------------------------
// Job code that panics (the `panic_on` fixture).

/// A panic while job code unwinds from another (a `Drop` that panics)
/// aborts the process: Rust said only `thread caused non-unwinding panic`,
/// both messages lost (probe /tmp/probe11-jobs repro 03). mr now says the
/// first panic, why the process stops, and the record being mapped.
#[test]
fn a_panic_while_unwinding_is_said_before_the_abort() {
    let w = Workdir::new();
    w.write("in.txt", "a b\nc PANIC-IN-DROP\n");
    let o = w.mr_env(
        &["run", "panic_on", "-q", "-i", "in.txt", "-o", "out"],
        &[("RUST_BACKTRACE", "0")],
    );
    let e = stderr(&o);
    assert_eq!(o.status.code(), None, "killed by SIGABRT: {e}");
    assert!(
        e.contains(
            "mr: job code panicked while it was unwinding from an earlier panic (the line holds \
             the marker PANIC-IN-DROP, at examples/src/panic_on.rs:"
        ),
        "{e}"
    );
    assert!(e.contains("a Drop that panics"), "{e}");
    assert!(e.contains("while mapping in.txt:2,"), "{e}");
    assert!(!w.path("out").exists());
}

/// The record an abort names is the one being mapped on the thread that
/// panicked, in a file read from a later split too (no line number known
/// there without counting: its byte offset).
#[test]
fn an_abort_names_the_record_by_offset_past_the_first_split() {
    let w = Workdir::new();
    let mut text = "word\n".repeat(20_000);
    text.push_str("c PANIC-IN-DROP\n");
    w.write("big.txt", &text);
    let o = w.mr_env(
        &[
            "run",
            "panic_on",
            "-q",
            "-i",
            "big.txt",
            "-o",
            "out",
            "--chunksize",
            "16KB",
        ],
        &[("RUST_BACKTRACE", "0")],
    );
    let e = stderr(&o);
    assert_eq!(o.status.code(), None, "killed by SIGABRT: {e}");
    assert!(
        e.contains("while mapping big.txt, the line at byte 100000,"),
        "{e}"
    );
}

/// A job that makes a counter of each key: memory grew with the names,
/// and the summary printed each (1.6 million names: 310 MB; probe
/// /tmp/probe13-complexity repro 04). Past MAX_COUNTERS the run fails,
/// naming the first counter it did not keep, and writes no output; at the
/// limit it runs.
#[test]
fn a_counter_per_key_fails_the_run_past_the_limit() {
    use mr_core::counters::MAX_COUNTERS;
    let w = Workdir::new();
    let lines = |n: usize| -> String {
        (0..n)
            .map(|i| format!("COUNT\tper key\tkey {i}\n"))
            .collect()
    };
    w.write("at.txt", lines(MAX_COUNTERS));
    let o = w.mr(&["run", "panic_on", "-q", "-i", "at.txt", "-o", "at"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Spread over tasks that each keep fewer: the run's total counts.
    w.write("over.txt", lines(MAX_COUNTERS + 1));
    let o = w.mr(&[
        "run",
        "panic_on",
        "-q",
        "-i",
        "over.txt",
        "-o",
        "over",
        "--chunksize",
        "64KB",
    ]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains(&format!(
            "step 0: the job made more than {MAX_COUNTERS} distinct counters"
        )),
        "{e}"
    );
    assert!(e.contains("per key/key "), "{e}");
    assert!(!w.path("over").exists());
}

/// A fold's accumulate that panics: under `--skip-bad-records` what a
/// call emitted is folded in after it, outside the call's guard, and the
/// panic was a raw crash (exit 101, no `_bad_records/`: probe
/// /tmp/probe11-jobs repro 06). It fails the run, naming the record, with
/// or without the flag (not skipped: what it folded before is in the
/// table).
#[test]
fn a_panicking_fold_fails_the_run_naming_the_record() {
    let w = Workdir::new();
    w.write("in.txt", "a b\nc PANIC-IN-FOLD\nd\n");
    for skip in [false, true] {
        let mut args = vec![
            "run", "panic_on", "--fold", "-q", "-i", "in.txt", "-o", "out",
        ];
        if skip {
            args.push("--skip-bad-records");
        }
        let o = w.mr(&args);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "skip={skip}: {e}");
        assert!(
            e.contains(
                "mr: error: bad record at in.txt:2: job panicked: the fold met PANIC-IN-FOLD"
            ),
            "skip={skip}: {e}"
        );
        assert_no_raw_panic(&e);
        assert!(!w.path("out").exists());
    }
    w.write("good.txt", "a b\na\n");
    let args = [
        "run",
        "panic_on",
        "--fold",
        "-q",
        "-i",
        "good.txt",
        "--skip-bad-records",
    ];
    assert_eq!(stdout(&ok(w.mr(&args))), "\"a\"\t2\n\"b\"\t1\n");
}

/// A `println!` in job code: the local runner hung forever on the stdout
/// lock its results held, and in task mode (`-r emulate`, Hadoop, Spark)
/// the printed line became a record of the results, exit 0 (probe
/// /tmp/probe11-jobs repro 01). It goes to stderr now, on every runner,
/// and the results are the job's alone.
#[test]
fn a_println_in_job_code_goes_to_stderr_not_into_the_results() {
    let w = Workdir::new();
    w.write("in.txt", "a b\nPRINT \"fake\"\t1000\nc\n");
    let want = "\"a\"\t1\n\"b\"\t1\n\"c\"\t1\n";
    for runner in ["local", "inline", "emulate"] {
        // A file, not a pipe: a run that hangs is killed, not waited on.
        let file = fs::File::create(w.path("stdout.txt")).unwrap();
        let child = spawn(&w, "panic_on", "in.txt", &["-q", "-r", runner], file.into());
        let (code, err) = ended_within(child, Duration::from_secs(60));
        assert_eq!(code, Some(0), "-r {runner}: {err}");
        let out = fs::read_to_string(w.path("stdout.txt")).unwrap();
        let mut lines: Vec<&str> = out.lines().collect();
        lines.sort_unstable();
        assert_eq!(lines.join("\n") + "\n", want, "-r {runner}: {err}");
        if runner != "emulate" {
            assert!(err.contains("\"fake\"\t1000"), "-r {runner}: {err}");
        }
    }
    // With -o and --cat-output: stdout is the user's again for the copy.
    let o = ok(w.mr(&[
        "run",
        "panic_on",
        "-q",
        "-i",
        "in.txt",
        "-o",
        "out",
        "--cat-output",
    ]));
    let mut lines: Vec<&str> = std::str::from_utf8(&o.stdout).unwrap().lines().collect();
    lines.sort_unstable();
    assert_eq!(lines.join("\n") + "\n", want);
}

/// A panic in `Job::steps_for` (mrjob's `steps()` reading options) was a
/// raw `thread 'main' panicked`, exit 101, on every runner and in task mode
/// (probe /tmp/probe11-jobs repro 08): an error naming it now, exit 1.
#[test]
fn a_panic_in_steps_for_is_an_error_naming_it() {
    let w = Workdir::new();
    w.write("in.txt", "a b\n");
    let says = "mr: error: job failed in job panic_on steps: job panicked: steps_for met \
                --panic-in-steps (at examples/src/panic_on.rs:";
    let run = [
        "run",
        "panic_on",
        "--panic-in-steps",
        "-q",
        "-i",
        "in.txt",
        "-r",
    ];
    for runner in ["local", "emulate"] {
        let o = w.mr(&[&run[..], &[runner]].concat());
        assert_eq!(o.status.code(), Some(1), "-r {runner}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "-r {runner}: {}", stderr(&o));
        assert_no_raw_panic(&stderr(&o));
    }
    let task = [
        "run",
        "panic_on",
        "--panic-in-steps",
        "--mapper",
        "--step-num",
        "0",
    ];
    let o = w.mr_stdin(&task, Some(b"a b\n"));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains(says), "{}", stderr(&o));
}

/// `std::process::exit(0)` in job code ended a local run with exit 0, no
/// output and its staging, lock and temp dir left; on a cluster the task
/// was a success with its records cut short (probe /tmp/probe11-jobs repro
/// 05). It is said now, cleaned up after, and the status is 1.
#[test]
fn job_code_that_exits_the_process_fails_the_run_cleanly() {
    let w = Workdir::new();
    w.write("in.txt", "a b\nEXIT 0\nc\nd\n");
    for runner in ["local", "emulate"] {
        let child = spawn(
            &w,
            "panic_on",
            "in.txt",
            &["-q", "-r", runner, "-o", "out"],
            Stdio::null(),
        );
        let (code, err) = ended_within(child, Duration::from_secs(60));
        assert_eq!(code, Some(1), "-r {runner}: {err}");
        assert!(
            err.contains(
                "mr: job code called exit (std::process::exit) while the run was under way"
            ),
            "-r {runner}: {err}"
        );
        let left: Vec<String> = fs::read_dir(w.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "in.txt" && n != "scratch")
            .collect();
        assert!(left.is_empty(), "-r {runner}: {left:?}");
        assert_eq!(
            fs::read_dir(w.path("scratch")).map_or(0, |d| d.count()),
            0,
            "-r {runner}"
        );
    }
}

/// Job code recursing 4 MiB deep ran on Hadoop and Spark (a task runs on
/// the main thread, 8 MiB) and overflowed the local runner's worker
/// threads (2 MiB): they have the main thread's stack now (probe
/// /tmp/probe11-jobs repro 04).
#[test]
fn worker_threads_have_the_main_threads_stack() {
    let w = Workdir::new();
    w.write("in.txt", "a b\nRECURSE 1000\na\n");
    let o = ok(w.mr(&["run", "panic_on", "-q", "-i", "in.txt"]));
    assert_eq!(stdout(&o), "\"a\"\t2\n\"b\"\t1\n");
}

#[test]
fn a_panicking_mapper_is_a_located_bad_record() {
    let w = Workdir::new();
    w.write("in.txt", "a b\nc PANIC-IN-MAP d\n\ne\n");
    let o = w.mr(&["run", "panic_on", "-i", "in.txt", "-o", "out"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains(
            "mr: error: bad record at in.txt:2: job panicked: the line holds the marker PANIC-IN-MAP"
        ),
        "{e}"
    );
    assert!(e.contains("panic_on.rs:"), "{e}");
    assert_no_raw_panic(&e);
    assert!(!w.path("out").exists());

    let o = ok(w.mr(&[
        "run",
        "panic_on",
        "-i",
        "in.txt",
        "-o",
        "out",
        "--skip-bad-records",
    ]));
    let e = stderr(&o);
    assert_no_raw_panic(&e);
    assert_eq!(
        sorted(&read_parts(&w.path("out"))),
        ["\"a\"\t1", "\"b\"\t1", "\"e\"\t1"]
    );
    assert_eq!(counter(&e, "step 0: skipped records"), 1);
    assert_bookkeeping(&e, &w.path("out"), 4);
    let kept = fs::read_to_string(w.path("out/_bad_records/map-0-00000")).unwrap();
    assert!(
        kept.contains("job panicked") && kept.ends_with("\tc PANIC-IN-MAP d\n"),
        "{kept}"
    );
}

#[test]
fn a_panicking_reducer_names_the_key_and_is_skippable() {
    let w = Workdir::new();
    w.write("in.txt", "a PANIC-IN-REDUCE\nb\nPANIC-IN-REDUCE\n");
    let o = w.mr(&["run", "panic_on", "-i", "in.txt"]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("bad record at step 0 reducer, key \"PANIC-IN-REDUCE\": job panicked: the reducer met its marker"),
        "{e}"
    );
    assert_no_raw_panic(&e);
    ok(w.mr(&[
        "run",
        "panic_on",
        "-i",
        "in.txt",
        "-o",
        "out",
        "--skip-bad-records",
    ]));
    assert_eq!(
        sorted(&read_parts(&w.path("out"))),
        ["\"a\"\t1", "\"b\"\t1"]
    );
    assert_eq!(bad_record_lines(&w.path("out")), 1);
}

#[test]
fn a_panicking_hook_names_the_hook() {
    let w = Workdir::new();
    w.write("in.txt", "a\nPANIC-IN-FINAL\n");
    // In task mode too, under the emulator, as Hadoop and Spark run it (it
    // named no file there).
    for runner in [&[][..], &["-r", "emulate"]] {
        let o = w.mr(&[&["run", "panic_on", "-i", "in.txt"][..], runner].concat());
        assert_eq!(o.status.code(), Some(1));
        let e = stderr(&o);
        assert!(
            e.contains(
                "job failed in step 0 mapper final (in.txt): job panicked: this task saw \
                 PANIC-IN-FINAL"
            ),
            "{runner:?}: {e}"
        );
        assert_no_raw_panic(&e);
    }
}

#[test]
fn task_mode_panics_like_the_local_runner() {
    let w = Workdir::new();
    let o = w.mr_stdin(
        &["run", "panic_on", "--mapper"],
        Some(b"a\nx PANIC-IN-MAP\n"),
    );
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("bad record at -:2: job panicked"), "{e}");
    assert_no_raw_panic(&e);
    let o = ok(w.mr_stdin(
        &["run", "panic_on", "--mapper", "--skip-bad-records"],
        Some(b"a\nx PANIC-IN-MAP\n"),
    ));
    assert_eq!(stdout(&o), "\"a\"\t1\n");
    assert!(stderr(&o).contains("mr-bad-record: "), "{}", stderr(&o));
    let o = w.mr_stdin(
        &["run", "panic_on", "--reducer"],
        Some(b"\"PANIC-IN-REDUCE\"\t1\n"),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("key \"PANIC-IN-REDUCE\": job panicked"),
        "{}",
        stderr(&o)
    );
    assert_no_raw_panic(&stderr(&o));
    // A combiner that fails is never skipped, as in the local runner:
    // skipped, its key's values were dropped with exit 0 (probe
    // /tmp/probe-panic repro 02; here a sum that overflows).
    let o = w.mr_stdin(
        &[
            "run",
            "mr_words_containing_u_freq_count",
            "--step-num",
            "0",
            "--combiner",
            "--skip-bad-records",
        ],
        Some(b"\"aa\"\t1\n\"uu\"\t18446744073709551615\n\"uu\"\t1\n"),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("combiner failed"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("mr-bad-record"), "{}", stderr(&o));
}

// ---------------------------------------------------------------------------
// The first failure stops the run.

#[test]
fn the_first_failing_task_stops_the_others() {
    let w = Workdir::new();
    // a.txt fails on its 10th line. The scheduler runs the longest tasks
    // first, and cuts a step's last splits into pieces, so a.txt is the
    // longer file: its pieces run first (the first fails at once, though
    // under load another of its pieces may run to its end), b.txt's after.
    // b.txt ends with a line that makes the mapper write a file: were b.txt
    // not stopped, it would be there (no clock: a loaded machine is no
    // failure).
    let lines =
        |n: usize, tag: &str| -> String { (0..n).map(|i| format!("{tag}{i} x y\n")).collect() };
    let end_mark = |name: &str| format!("WRITE-FILE {}\n", w.path(name).display());
    let bad = lines(9, "a") + "PANIC-IN-MAP\n" + &lines(700_000, "a");
    w.write("in/a.txt", bad);
    w.write("in/b.txt", lines(600_000, "w") + &end_mark("b-end"));
    let o = w.mr(&[
        "run",
        "panic_on",
        "-i",
        "in",
        "-j",
        "2",
        "--chunksize",
        "100000000",
        "--tmp-dir",
        "scratch",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("in/a.txt:10"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("another task"), "{}", stderr(&o));
    assert!(!w.path("b-end").exists(), "b.txt was read to its end");
    assert_eq!(fs::read_dir(w.path("scratch")).unwrap().count(), 0);
}

// ---------------------------------------------------------------------------
// Signals.

/// `mr run JOB -i INPUT --tmp-dir scratch EXTRA...` in the background.
fn spawn(w: &Workdir, job: &str, input: &str, extra: &[&str], stdout: Stdio) -> Child {
    Command::new(MR)
        .args(["run", job, "-i", input, "--tmp-dir", "scratch"])
        .args(extra)
        .current_dir(w.dir.path())
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The exit status of `child`, which must end within `limit` (else it is
/// killed, and the test fails).
#[track_caller]
fn exit_within(child: &mut Child, limit: Duration) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The exit code and stderr of `child`, which must end within `limit`.
#[track_caller]
fn ended_within(mut child: Child, limit: Duration) -> (Option<i32>, String) {
    let status = exit_within(&mut child, limit);
    (status.code(), child_stderr(&mut child))
}

/// A condition that holds once `cond` has held for `hold`.
fn held_for(mut cond: impl FnMut() -> bool, hold: Duration) -> impl FnMut() -> bool {
    let mut since: Option<Instant> = None;
    move || {
        if !cond() {
            return false;
        }
        since.get_or_insert_with(Instant::now).elapsed() >= hold
    }
}

/// Waits (at most 60 s) until `ready` holds, then sends `signal`; returns
/// the exit code, the time from the signal to the exit, and stderr.
fn signal_when(
    child: &mut Child,
    signal: &str,
    ready: impl FnMut() -> bool,
) -> (Option<i32>, Duration, String) {
    signal_and_wait(child, signal, ready, Duration::from_secs(10))
}

/// [`signal_when`], waiting at most `limit` for the exit: longer for a run
/// that must not stop (on a loaded CI host a whole debug run can take
/// several times its usual 3 s).
fn signal_and_wait(
    child: &mut Child,
    signal: &str,
    mut ready: impl FnMut() -> bool,
    limit: Duration,
) -> (Option<i32>, Duration, String) {
    let started = Instant::now();
    while !ready() {
        if let Some(s) = child.try_wait().unwrap() {
            let e = child_stderr(child);
            panic!("the run ended ({s}) before the moment to stop it:\n{e}");
        }
        assert!(started.elapsed() < Duration::from_secs(60), "never ready");
        std::thread::sleep(Duration::from_millis(2));
    }
    let sent = Instant::now();
    let killed = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = exit_within(child, limit);
    let took = sent.elapsed();
    (status.code(), took, child_stderr(child))
}

/// The status a shell gives a process that `signal` stopped: 128 + its
/// number, which mr exits with once it has cleaned up.
fn exit_status(signal: &str) -> i32 {
    match signal {
        "-INT" => 130,
        "-TERM" => 143,
        "-QUIT" => 131,
        other => panic!("no status for {other}"),
    }
}

/// Stopped with 128 + the signal's number by its own checks (not the watchdog), promptly, with no
/// temp file and no output left.
#[track_caller]
fn assert_stopped_cleanly(
    w: &Workdir,
    signal: &str,
    (code, took, err): (Option<i32>, Duration, String),
) {
    assert_eq!(code, Some(exit_status(signal)), "{err}");
    assert!(
        !err.contains("did not stop"),
        "the run did not stop by itself; the watchdog ended it:\n{err}"
    );
    assert!(
        took < Duration::from_secs(2),
        "took {took:?} to stop:\n{err}"
    );
    assert!(!w.path("out").exists(), "unfinished output left behind");
    assert!(staging_dirs(w.dir.path()).is_empty(), "staging left behind");
    assert_eq!(
        fs::read_dir(w.path("scratch")).unwrap().count(),
        0,
        "temp files left behind"
    );
}

/// The output staging directories (`.out.mr-tmp-*`) in `root`.
fn staging_dirs(root: &Path) -> Vec<std::path::PathBuf> {
    fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(".out.mr-tmp-"))
        })
        .collect()
}

fn files_under(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .map(|e| {
            let p = e.unwrap().path();
            if p.is_dir() { files_under(&p) } else { 1 }
        })
        .sum()
}

/// The options of a run to `out` whose map task spills many small files
/// (of [`spilling_input`]) into `scratch`.
const SPILLING: [&str; 6] = ["-o", "out", "--sort-buffer-mb", "0.05", "-j", "1"];

/// `in.txt`, for a [`SPILLING`] run.
fn spilling_input(w: &Workdir) {
    let text: String = (0..400_000)
        .map(|i| format!("w{i} x{}\n", i % 100))
        .collect();
    w.write("in.txt", text);
}

/// A [`SPILLING`] run, with `more` options.
fn spilling_run(w: &Workdir, more: &[&str]) -> Child {
    spilling_input(w);
    let args = [&SPILLING[..], more].concat();
    spawn(w, "panic_on", "in.txt", &args, Stdio::null())
}

#[test]
fn sigint_during_map_and_spills() {
    let w = Workdir::new();
    let mut child = spilling_run(&w, &[]);
    let scratch = w.path("scratch");
    let r = signal_when(&mut child, "-INT", || files_under(&scratch) >= 4);
    assert_stopped_cleanly(&w, "-INT", r);
}

#[test]
fn sigterm_during_merge_passes() {
    let w = Workdir::new();
    let text: String = (0..200_000).map(|i| format!("w{i}\n")).collect();
    w.write("in.txt", text);
    let mut child = spawn(
        &w,
        "panic_on",
        "in.txt",
        &[
            "-o",
            "out",
            "--sort-buffer-mb",
            "0.02",
            "-j",
            "1",
            "--merge-fan-in",
            "2",
        ],
        Stdio::null(),
    );
    // With a fan-in of 2 the map task merges its spill files two at a time
    // as they pile up (a merge pass every other spill, ~300 in this run):
    // once several spill files exist, merge passes are under way.
    let scratch = w.path("scratch");
    let r = signal_when(&mut child, "-TERM", || files_under(&scratch) >= 4);
    assert_stopped_cleanly(&w, "-TERM", r);
}

/// `mr run ... 2>&1 | tee log`, then Ctrl-C: `tee` stops too, and what mr
/// says of the signal goes to a pipe nobody reads. Saying it panicked the
/// thread that handles signals before it asked the run to stop: the run went
/// on, replaced the old output, and exited 0.
#[test]
fn a_signal_is_honoured_when_stderr_is_a_broken_pipe() {
    let w = Workdir::new();
    w.write("old.txt", "old\n");
    ok(w.mr(&["run", "panic_on", "-i", "old.txt", "-o", "out"]));
    let before = read_parts(&w.path("out"));
    spilling_input(&w);
    let mut child = spawn(
        &w,
        "panic_on",
        "in.txt",
        &[&SPILLING[..], &["--overwrite"]].concat(),
        Stdio::null(),
    );
    // The reader of mr's stderr is gone: its writes fail with EPIPE.
    drop(child.stderr.take());
    let scratch = w.path("scratch");
    let (code, _, _) = signal_when(&mut child, "-TERM", || files_under(&scratch) >= 4);
    assert_eq!(code, Some(143));
    assert_eq!(
        read_parts(&w.path("out")),
        before,
        "the old output was replaced"
    );
    assert!(staging_dirs(w.dir.path()).is_empty(), "staging left behind");
}

/// Ctrl-\\ (SIGQUIT) quits at once, where its default action (a core
/// dump) would leave the spills and the staging directory behind.
#[test]
fn sigquit_exits_at_once_leaving_nothing_behind() {
    let w = Workdir::new();
    let mut child = spilling_run(&w, &[]);
    let scratch = w.path("scratch");
    let (code, took, err) = signal_when(&mut child, "-QUIT", || files_under(&scratch) >= 4);
    assert!(err.contains("quit by SIGQUIT"), "{err}");
    assert_stopped_cleanly(&w, "-QUIT", (code, took, err));
}

/// GNU `timeout` sends SIGTERM to mr and then to its process group, mr
/// included: two SIGTERMs a few milliseconds apart are one stop, not a
/// second signal's exit at once (which wrote no report and said nothing of
/// the output).
#[test]
fn a_signal_and_its_echo_are_one_stop() {
    let w = Workdir::new();
    let mut child = spilling_run(&w, &["--report", "run.json"]);
    let scratch = w.path("scratch");
    let pid = child.id().to_string();
    let r = signal_when(&mut child, "-TERM", || {
        let ready = files_under(&scratch) >= 4;
        if ready {
            // The echo, sent first here: signal_when's follows at once.
            assert!(
                Command::new("kill")
                    .args(["-TERM", &pid])
                    .status()
                    .unwrap()
                    .success()
            );
        }
        ready
    });
    assert!(
        r.2.contains("temporary files and the unfinished output were removed"),
        "{}",
        r.2
    );
    assert_stopped_cleanly(&w, "-TERM", r);
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(w.path("run.json")).unwrap()).unwrap();
    assert_eq!(report["ok"], false);
}

/// A signal mr started with ignored stays ignored: `nohup` ignores SIGHUP
/// so that a closed terminal does not end the run (before, mr caught it
/// again and stopped, exit 129).
#[test]
fn a_signal_ignored_at_start_stays_ignored() {
    let w = Workdir::new();
    spilling_input(&w);
    let mut child = Command::new("sh")
        .args([
            "-c",
            &format!("trap '' HUP; exec {MR} \"$@\"", MR = MR),
            "sh",
        ])
        .args(["run", "panic_on", "-i", "in.txt", "--tmp-dir", "scratch"])
        .args(SPILLING)
        .current_dir(w.dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let scratch = w.path("scratch");
    let (code, _, err) = signal_and_wait(
        &mut child,
        "-HUP",
        || files_under(&scratch) >= 4,
        Duration::from_secs(120),
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(w.path("out/_SUCCESS").exists(), "{err}");
}

#[test]
fn sigterm_while_a_reducer_pulls_one_keys_values() {
    let w = Workdir::new();
    // One key, many values; panic_on has no combiner, so all of them reach
    // the reducer, which sums them in one call.
    w.write("in.txt", "x\n".repeat(6_000_000));
    let mut child = spawn(
        &w,
        "panic_on",
        "in.txt",
        &["-o", "out", "-j", "1"],
        Stdio::null(),
    );
    // The reduce task's part file appears in the staging directory.
    let root = w.dir.path().to_path_buf();
    let in_reduce = held_for(
        || {
            staging_dirs(&root)
                .iter()
                .any(|d| d.join("part-00000").exists())
        },
        Duration::from_millis(150),
    );
    let r = signal_when(&mut child, "-TERM", in_reduce);
    assert_stopped_cleanly(&w, "-TERM", r);
}

#[test]
fn sigterm_while_stdout_is_blocked_exits_non_zero() {
    let w = Workdir::new();
    // Far more output than a pipe holds; nobody reads it.
    let text: String = (0..100_000).map(|i| format!("w{i}\n")).collect();
    w.write("in.txt", text);
    let mut child = spawn(&w, "word_count", "in.txt", &["-q"], Stdio::piped());
    let mut out = child.stdout.take().unwrap();
    let mut first = [0u8; 1];
    out.read_exact(&mut first).unwrap(); // it is writing; now it blocks
    let (code, took, err) = signal_when(&mut child, "-TERM", || true);
    assert_eq!(code, Some(exit_status("-TERM")), "{err}");
    assert!(took < Duration::from_secs(3), "took {took:?}:\n{err}");
    assert_eq!(
        fs::read_dir(w.path("scratch")).unwrap().count(),
        0,
        "temp files left behind"
    );
    drop(out);
}

// ---------------------------------------------------------------------------
// Streams as input.

fn mkfifo(p: &Path) -> bool {
    let made = Command::new("mkfifo").arg(p).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped: mkfifo is not available");
        return false;
    }
    true
}

#[test]
fn a_fifo_is_read_as_a_stream() {
    let w = Workdir::new();
    let fifo = w.path("f");
    if !mkfifo(&fifo) {
        return;
    }
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut f = fs::OpenOptions::new().write(true).open(fifo).unwrap();
            for i in 0..10_000 {
                writeln!(f, "w{} the", i % 7).unwrap();
            }
        })
    };
    let o = ok(w.mr(&["run", "word_count", "-i", "f"]));
    writer.join().unwrap();
    let total: u64 = stdout(&o)
        .lines()
        .map(|l| l.rsplit('\t').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, 20_000, "{}", stdout(&o));
}

/// A socket named as input was "No such device or address (os error 6)"
/// (open(2)'s ENXIO): now said to be a socket, and how to read one
/// (probe /tmp/probe14-fs).
#[test]
fn a_socket_named_as_input_is_said_to_be_one() {
    let w = Workdir::new();
    let _listener = std::os::unix::net::UnixListener::bind(w.path("sock")).unwrap();
    let o = w.mr(&["run", "word_count", "-q", "-i", "sock"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("opening sock: it is a socket, which cannot be opened as a file"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_fifo_without_a_writer_still_answers_ctrl_c() {
    let w = Workdir::new();
    let fifo = w.path("f");
    if !mkfifo(&fifo) {
        return;
    }
    fs::create_dir_all(w.path("scratch")).unwrap();
    let mut child = spawn(&w, "word_count", "f", &["-o", "out"], Stdio::null());
    let scratch = w.path("scratch");
    // The run has started (its temp dir exists) and waits for a writer.
    let waiting = held_for(
        || fs::read_dir(&scratch).unwrap().count() > 0,
        Duration::from_millis(200),
    );
    let (code, took, err) = signal_when(&mut child, "-INT", waiting);
    assert_eq!(code, Some(130), "{err}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert_eq!(fs::read_dir(w.path("scratch")).unwrap().count(), 0);
    assert!(!w.path("out").exists(), "unfinished output left behind");
    assert!(
        staging_dirs(w.dir.path()).is_empty(),
        "the forced exit left the staging directory"
    );
    assert!(
        !w.path(".out.mr-lock").exists(),
        "the forced exit left the lock file"
    );
}

/// A run blocked on its input when told to stop ends by the forced exit,
/// which wrote no report (probe /tmp/probe17-report repro 07: `tail -f log
/// | mr run ... --report r.json` under `timeout` left none): it writes the
/// failed run's report first.
#[test]
fn a_run_ended_by_force_still_writes_its_report() {
    let w = Workdir::new();
    let fifo = w.path("f");
    if !mkfifo(&fifo) {
        return;
    }
    fs::create_dir_all(w.path("scratch")).unwrap();
    let mut child = spawn(
        &w,
        "word_count",
        "f",
        &["-o", "out", "--report", "r.json"],
        Stdio::null(),
    );
    let scratch = w.path("scratch");
    let waiting = held_for(
        || fs::read_dir(&scratch).unwrap().count() > 0,
        Duration::from_millis(200),
    );
    let (code, _, err) = signal_when(&mut child, "-TERM", waiting);
    assert_eq!(code, Some(143), "{err}");
    assert!(w.path("r.json").is_file(), "no report");
    let r = w.json("r.json");
    assert_eq!(r["ok"], false, "{r}");
    assert!(r["error"].as_str().unwrap().contains("interrupted"), "{r}");
    assert!(!w.path("out").exists());
}

#[test]
fn dev_stdin_is_read_like_dash() {
    let w = Workdir::new();
    let o = ok(w.mr_stdin(
        &["run", "word_count", "-i", "/dev/stdin"],
        Some(b"a b\na\n"),
    ));
    assert_eq!(stdout(&o), "\"a\"\t2\n\"b\"\t1\n");
    // gzip on stdin is found by its magic bytes.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(b"z z\n").unwrap();
    let gz = enc.finish().unwrap();
    let o = ok(w.mr_stdin(&["run", "word_count", "-i", "-"], Some(&gz)));
    assert_eq!(stdout(&o), "\"z\"\t2\n");
}

// ---------------------------------------------------------------------------
// Compression by magic bytes; damaged compressed files.

#[test]
fn plain_text_named_gz_is_read_as_text_with_a_warning() {
    let w = Workdir::new();
    let text: String = (0..7719).map(|i| format!("w{} x\n", i % 3)).collect();
    w.write("in/mislabelled.gz", &text);
    w.write("in/mislabelled.bz2", "y y\n");
    w.write("in/mislabelled.zst", "y\n");
    let o = ok(w.mr(&[
        "run",
        "word_count",
        "-i",
        "in",
        "-o",
        "out",
        "--skip-bad-records",
    ]));
    let e = stderr(&o);
    assert_eq!(counter(&e, "step 0: input records"), 7719 + 2);
    assert_eq!(counter(&e, "step 0: skipped records"), 0);
    assert_eq!(bad_record_lines(&w.path("out")), 0);
    let warnings = e
        .matches("is named .gz but its first bytes are not gzip's")
        .count();
    assert_eq!(warnings, 1, "{e}");
    assert!(e.contains("in/mislabelled.gz"), "{e}");
    assert!(e.contains("in/mislabelled.zst is named .zst"), "{e}");
    assert!(read_parts(&w.path("out")).contains("\"x\"\t7719\n"));
}

/// A named pipe found while walking a directory is not read (it could block
/// forever), but said so: a log someone meant to read may be behind it.
#[test]
fn a_pipe_in_a_directory_is_skipped_with_a_warning() {
    let w = Workdir::new();
    w.write("in/a.txt", "x y\n");
    let pipe = w.path("in/feed; $(x).txt");
    match Command::new("mkfifo").arg(&pipe).status() {
        Ok(s) if s.success() => {}
        _ => return eprintln!("skipped: mkfifo not available"),
    }
    let o = ok(w.mr(&["run", "word_count", "-i", "in", "-o", "out"]));
    let e = stderr(&o);
    assert!(
        e.contains("mr: warning: skipped ") && e.contains("feed; $(x).txt: not a regular file"),
        "{e}"
    );
    let out = read_parts(&w.path("out"));
    assert_eq!(sorted(&out), ["\"x\"\t1", "\"y\"\t1"]);
}

/// A log directory as they come: a directory linked into the tree (a second
/// path to each file under it), a link looping back up, gzip files padded with
/// zeros after their last member (and between members), a byte-order mark,
/// CRLF, no final newline. Each line is counted once; a broken link is an
/// error that names it.
#[cfg(unix)]
#[test]
fn a_messy_log_directory_counts_each_line_once() {
    use std::os::unix::fs::symlink;
    let w = Workdir::new();
    w.write("logs/2026-01/a.txt", "\u{feff}x y\r\nx\r\nz");
    let padded = [gzip(b"y z\n"), vec![0; 700], gzip(b"x\n"), vec![0; 4100]].concat();
    w.write("logs/2026-01/b.txt.gz", padded);
    symlink("2026-01", w.path("logs/2026-01-link")).unwrap();
    symlink("..", w.path("logs/2026-01/up")).unwrap();
    let o = ok(w.mr(&["run", "word_count", "-i", "logs", "-o", "out"]));
    let e = stderr(&o);
    // The linked directory skipped whole, said once.
    assert!(
        e.contains("skipped logs/2026-01-link: the same directory as logs/2026-01"),
        "{e}"
    );
    assert!(
        e.contains("skipped logs/2026-01/up: a symbolic link back into"),
        "{e}"
    );
    let out = read_parts(&w.path("out"));
    assert_eq!(sorted(&out), ["\"x\"\t3", "\"y\"\t2", "\"z\"\t2"]);

    symlink("gone", w.path("logs/2026-01/broken.txt")).unwrap();
    let o = w.mr(&["run", "word_count", "-i", "logs", "-o", "out2"]);
    let says = "logs/2026-01/broken.txt: its target does not exist";
    failed_saying(&o, says, &w.path("out2"));

    // Two links to each other: what they are, not the system's "Too many
    // levels of symbolic links" (probe /tmp/probe8-logs).
    std::fs::remove_file(w.path("logs/2026-01/broken.txt")).unwrap();
    symlink("loop-b", w.path("logs/loop-a")).unwrap();
    symlink("loop-a", w.path("logs/loop-b")).unwrap();
    let o = w.mr(&["run", "word_count", "-i", "logs", "-o", "out3"]);
    let says = "following the symbolic link logs/loop-a: it leads back to itself through other \
                links (to loop-b), never to a file";
    failed_saying(&o, says, &w.path("out3"));
}

/// Inputs that overlap (a directory and a link in it, a glob over both, a
/// path given twice): each line counted once, each skip said once, and a
/// path met twice as it is said as that, not as "the same directory as"
/// itself.
#[cfg(unix)]
#[test]
fn overlapping_inputs_say_each_skip_once() {
    use std::os::unix::fs::symlink;
    let w = Workdir::new();
    w.write("d/real/f.txt", "x y\n");
    symlink("real", w.path("d/cur")).unwrap();
    symlink("cur", w.path("d/alias")).unwrap();
    for (i, inputs) in [
        &["d/cur", "d"][..],
        &["d/*"],
        &["d", "d/cur"],
        &["d/real/f.txt", "d/real/f.txt", "d/real"],
    ]
    .into_iter()
    .enumerate()
    {
        let out = format!("out{i}");
        let mut args = vec!["run", "word_count", "-o", &out];
        for input in inputs {
            args.extend(["-i", input]);
        }
        let e = stderr(&ok(w.mr(&args)));
        assert_eq!(
            sorted(&read_parts(&w.path(&out))),
            ["\"x\"\t1", "\"y\"\t1"],
            "{inputs:?}"
        );
        let warnings: Vec<&str> = e.lines().filter(|l| l.contains("warning")).collect();
        let mut unique = warnings.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), warnings.len(), "{inputs:?}: said twice:\n{e}");
        for line in warnings {
            if let Some((skipped, rest)) = line.split_once(": the same ") {
                let skipped = skipped.trim_start_matches("mr: warning: skipped ");
                assert!(!rest.contains(&format!("as {skipped},")), "{line}");
            }
        }
    }
    let e = stderr(&ok(w.mr(&[
        "run",
        "word_count",
        "-o",
        "o9",
        "-i",
        "d/real",
        "-i",
        "d/real",
    ])));
    assert!(
        e.contains("mr: warning: d/real is listed twice by the inputs given: it is read once"),
        "{e}"
    );
    // Ten skips are named, the rest counted: directories too.
    for i in 0..12 {
        symlink("real", w.path(&format!("d/link{i:02}"))).unwrap();
    }
    let e = stderr(&ok(w.mr(&["run", "word_count", "-o", "o10", "-i", "d"])));
    let named = e
        .lines()
        .filter(|l| l.contains("the same directory as"))
        .count();
    assert_eq!(named, 10, "{e}");
    assert!(
        e.contains("skipped 4 more second paths to files or directories already listed"),
        "{e}"
    );
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn bzip2(data: &[u8]) -> Vec<u8> {
    let mut enc = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// A damaged compressed file: a located error by default; skippable, with
/// the lines before the damage kept and the rest recorded as a bad record.
/// How a compressed file is damaged for [`check_damaged`].
#[derive(Clone, Copy, PartialEq)]
enum Damage {
    /// Cut in half: skippable, the lines before the cut kept.
    Cut,
    /// A byte flipped two thirds in: read as damage or as a cut (the decoder
    /// may run out of input mid-block), as the decoder says.
    Flip,
    /// A gzip member's CRC (the trailer's first 4 bytes) changed: every line
    /// decodes, and the damage shows only at the end, after all were read.
    Crc,
}

impl Damage {
    fn apply(self, b: &mut Vec<u8>) {
        match self {
            Damage::Cut => b.truncate(b.len() / 2),
            Damage::Flip => {
                let i = b.len() * 2 / 3;
                b[i] ^= 0x55;
            }
            Damage::Crc => {
                let i = b.len() - 8;
                b[i] ^= 0x55;
            }
        }
    }
}

fn check_damaged(name: &str, compress: fn(&[u8]) -> Vec<u8>, damage: Damage) {
    let truncated = damage == Damage::Cut;
    let either = damage == Damage::Flip;
    let w = Workdir::new();
    // Enough data for several compressed blocks (bzip2 -1: 100 kB blocks).
    let text: String = (0..120_000).map(|i| format!("n{}\n", i % 10)).collect();
    let mut bytes = compress(text.as_bytes());
    damage.apply(&mut bytes);
    w.write(&format!("in/{name}"), bytes);
    w.write("in/plain.txt", "n1\n");
    let o = w.mr(&["run", "word_count", "-i", "in", "-o", "out"]);
    assert_eq!(o.status.code(), Some(1), "{name}: {}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains(&format!("bad record at in/{name}:"))
            && e.contains("compressed data after line"),
        "{name}: {e}"
    );
    assert!(!w.path("out").exists());
    let skipping = [
        "run",
        "word_count",
        "-i",
        "in",
        "-o",
        "out",
        "--skip-bad-records",
    ];
    if either {
        let o = w.mr(&skipping);
        let e = stderr(&o);
        match o.status.code() {
            Some(1) => assert!(e.contains("damaged, not cut short"), "{name}: {e}"),
            code => assert_eq!(code, Some(0), "{name}: {e}"),
        }
        return;
    }
    if !truncated {
        // Damaged, not cut short: the lines read before the damage showed
        // may be garbled (a flipped byte in a gzip member shows at its CRC),
        // so the run fails with --skip-bad-records too, rather than count
        // them (it did: 4,680 garbage words, exit 0).
        let o = w.mr(&skipping);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("damaged, not cut short"),
            "{name}: {}",
            stderr(&o)
        );
        assert!(!w.path("out").exists());
        return;
    }
    let o = ok(w.mr(&skipping));
    let e = stderr(&o);
    assert_eq!(counter(&e, "step 0: skipped records"), 1, "{name}: {e}");
    let records = counter(&e, "step 0: input records");
    assert_bookkeeping(&e, &w.path("out"), records);
    // Every line read reached the mapper: the lines before the cut, as
    // written; the cut tail is an input record too, the one kept aside
    // (good + skipped = input records: it was left out of them).
    let counted: u64 = read_parts(&w.path("out"))
        .lines()
        .map(|l| l.rsplit('\t').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(
        counted + 1,
        records,
        "{name}: words counted and the cut tail against lines read"
    );
    // The file may have been cut into pieces (--cut-streams auto): the bad
    // record is kept by the task of its last piece.
    let kept: String = fs::read_dir(w.path("out/_bad_records"))
        .unwrap()
        .map(|e| fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(
        kept.contains("the rest of the file cannot be read"),
        "{kept}"
    );
}

#[test]
fn truncated_gz_bz2_zst_are_located_and_skippable() {
    check_damaged("cut.gz", gzip, Damage::Cut);
    check_damaged("cut.bz2", bzip2, Damage::Cut);
    check_damaged("cut.zst", |d| zstd::encode_all(d, 3).unwrap(), Damage::Cut);
}

/// A `.gz` whose middle member is cut short and followed by a whole one
/// (`cat cut.gz whole.gz`, or a logger killed in a member and restarted):
/// the cut member's inflater reads the next member's bytes as its own, to
/// garbage, and often runs into the end of the file as a cut does. It was
/// taken for a cut: with --skip-bad-records the garbage was counted (1,131
/// words not in the input), the whole member's lines lost, exit 0 (probe
/// /tmp/probe-logs repro 02). The file is damaged, as gzip -d and Python
/// say: the run fails, skipping or not, and writes nothing.
#[test]
fn a_cut_gzip_member_before_a_whole_one_is_damage() {
    let w = Workdir::new();
    let lines = |tag: &str| -> String {
        (0..3000)
            .map(|i| {
                format!(
                    "{{\"user\": {}, \"page_url\": \"/{tag}{}\"}}\n",
                    i % 50,
                    i % 8
                )
            })
            .collect()
    };
    let (a, c) = (gzip(lines("a").as_bytes()), gzip(lines("c").as_bytes()));
    // The cut member stored (gzip -0), so that its inflater surely takes the
    // whole member's bytes as the rest of a stored block and runs into the
    // end of the file (a compressed one does as its Huffman codes go).
    let mut stored = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
    stored.write_all(lines("b").as_bytes()).unwrap();
    let b = stored.finish().unwrap();
    assert!(b.len() / 2 > c.len());
    w.write("in/all.gz", [&a[..], &b[..b.len() / 2], &c[..]].concat());
    for skip in [false, true] {
        let mut args = vec!["run", "url_views", "-i", "in", "-o", "out"];
        if skip {
            args.push("--skip-bad-records");
        }
        let o = w.mr(&args);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let e = stderr(&o);
        // Strict, the first garbage line stops the run; skipping them, the
        // end of the file does, where the member was taken for a cut.
        if skip {
            assert!(e.contains("whole members follow it"), "{e}");
        } else {
            assert!(
                e.contains("bad record at in/all.gz:4500: invalid JSON"),
                "{e}"
            );
        }
        assert!(!w.path("out").exists());
    }
    // From stdin, which cannot be read again, the same: the whole
    // member's header was seen as the cut one read it (probe
    // /tmp/probe-verify6 repro 01: counted, exit 0). And a member cut in
    // its header, the whole one after it (repro 02: its lines lost, exit 0).
    let cat = [&a[..], &b[..b.len() / 2], &c[..]].concat();
    let args = ["run", "url_views", "-o", "piped", "--skip-bad-records"];
    let o = w.mr_stdin(&args, Some(&cat));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("whole members follow it"),
        "{}",
        stderr(&o)
    );
    // `first`: the file's first member is the one cut (a probe's sweep found
    // that skippable too, the whole member's lines lost).
    for (k, first) in [
        (1, false),
        (2, false),
        (3, false),
        (9, false),
        (2, true),
        (3, true),
    ] {
        let before = if first { &[][..] } else { &a[..] };
        let input = format!("head{k}{}", if first { "-first" } else { "" });
        w.write(
            &format!("{input}/all.gz"),
            [before, &b[..k], &c[..]].concat(),
        );
        let o = w.mr(&[
            "run",
            "url_views",
            "-i",
            &input,
            "-o",
            "o",
            "--skip-bad-records",
        ]);
        assert_eq!(o.status.code(), Some(1), "cut at {k}: {}", stderr(&o));
        assert!(!w.path("o").exists());
    }
    // Cut at the end of the file, the same member is a cut: skippable, the
    // lines before it counted.
    w.write("cut/all.gz", [&a[..], &b[..b.len() / 2]].concat());
    let o = ok(w.mr(&[
        "run",
        "url_views",
        "-i",
        "cut",
        "-o",
        "cut_out",
        "--skip-bad-records",
    ]));
    assert_eq!(
        counter(&stderr(&o), "step 0: skipped records"),
        1,
        "{}",
        stderr(&o)
    );
}

/// The same for zstd frames and bzip2 streams: a frame cut short with whole
/// ones after it (`cat cut.zst whole.zst`, a logger killed and restarted)
/// read as a cut, the whole frames' 5,000 lines lost with exit 0 under
/// --skip-bad-records (probe /tmp/probe9-bad repro 01). Damage now; a file
/// that ends in the cut frame (whole frames before it) is still a cut.
#[test]
fn a_cut_zstd_frame_or_bzip2_stream_before_a_whole_one_is_damage() {
    let w = Workdir::new();
    // Noise, so that the cut frame's blocks are large: its decoder waits
    // for more bytes than the small whole frame after it holds, and runs
    // into the end of the file (with a small block it may read them as the
    // next block and find them corrupt: refused as damage, as before).
    let mut x = 7u64;
    let mut lines = |tag: &str, n: usize| -> String {
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                format!("{{\"page_url\": \"/{tag}\", \"noise\": \"{x:016x}\"}}\n")
            })
            .collect()
    };
    let (a, b) = (lines("a", 12_000), lines("b", 20));
    let encode = |ext: &str, d: &str| match ext {
        "zst" => zstd::encode_all(d.as_bytes(), 3).unwrap(),
        _ => bzip2(d.as_bytes()),
    };
    for (ext, says) in [
        (
            "zst",
            "A zstd frame is cut short there and whole frames follow it",
        ),
        (
            "bz2",
            "A bzip2 stream is cut short there and whole streams follow it",
        ),
    ] {
        let (za, zb) = (encode(ext, &a), encode(ext, &b));
        let cut = &za[..za.len() / 2];
        w.write(&format!("{ext}/all.{ext}"), [cut, &zb[..]].concat());
        let o = w.mr(&[
            "run",
            "url_views",
            "-i",
            ext,
            "-o",
            "out",
            "--skip-bad-records",
        ]);
        assert_eq!(o.status.code(), Some(1), "{ext}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{ext}: {}", stderr(&o));
        assert!(!w.path("out").exists());
        // Whole frames, then the cut one at the end: the lines before the
        // cut are counted and the cut tail kept aside.
        let input = format!("{ext}-end");
        w.write(
            &format!("{input}/all.{ext}"),
            [&zb[..], &zb[..], cut].concat(),
        );
        let o = ok(w.mr(&[
            "run",
            "url_views",
            "-i",
            &input,
            "-o",
            "end_out",
            "--skip-bad-records",
        ]));
        assert_eq!(counter(&stderr(&o), "step 0: skipped records"), 1, "{ext}");
        let parts = read_parts(&w.path("end_out"));
        assert!(parts.contains("\"/b\"\t40\n"), "{ext}: {parts}");
        fs::remove_dir_all(w.path("end_out")).unwrap();
    }
}

/// Files that are not text, found in real log directories: a gpg-encrypted
/// data package and a Feather file. Each was read as text: word_count
/// counted thousands of garbage words, exit 0. Each now stops the run,
/// naming the file.
#[test]
fn encrypted_and_binary_files_are_not_read_as_text() {
    let w = Workdir::new();
    let cases: [(&str, Vec<u8>, &str); 2] = [
        (
            "events.log.gz.gpg",
            [&b"\x8c\x0d\x04\x09\x03\x02"[..], &[0xa7; 64]].concat(),
            "encrypted with gpg",
        ),
        (
            "table.feather",
            [&b"ARROW1\0\0"[..], &[0xff; 64]].concat(),
            "Arrow IPC",
        ),
    ];
    for (name, bytes, says) in cases {
        w.write(&format!("{name}/in"), bytes);
        let o = w.mr(&["run", "word_count", "-q", "-i", name, "--skip-bad-records"]);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{name}: {}", stderr(&o));
    }
}

/// A damaged (not cut) `.gz` or `.zst` fails the run, with or without
/// `--skip-bad-records`.
#[test]
fn corrupt_zst_behaves_like_corrupt_gz() {
    check_damaged("bad.gz", gzip, Damage::Flip);
    check_damaged("bad.zst", |d| zstd::encode_all(d, 3).unwrap(), Damage::Flip);
    check_damaged("crc.gz", gzip, Damage::Crc);
}

/// One flipped bit in a `.zst` frame with a checksum, a Hadoop `.deflate`
/// (zlib) stream or a `.bz2` block: each decoder hands out the garbled lines
/// before its checksum fails. With --skip-bad-records such a file was
/// "skipped from the damage on", so lines read before the checksum were
/// counted (probe /tmp/probe2-inputs repro 01: a URL not in the data, 17,772
/// lines, exit 0). It is damage, as in a gzip member: the run fails.
#[test]
fn a_flipped_bit_before_a_zst_deflate_or_bz2_checksum_fails_the_run() {
    let w = Workdir::new();
    let text: String = (0..20_000)
        .map(|i| format!("{{\"page_url\": \"/u{:040}\"}}\n", i * 7919))
        .collect();
    let zst = {
        let mut z = zstd::stream::write::Encoder::new(Vec::new(), 1).unwrap();
        z.include_checksum(true).unwrap();
        z.write_all(text.as_bytes()).unwrap();
        z.finish().unwrap()
    };
    // Stored: the bit changes a character, found only by the Adler-32.
    let deflate = {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::none());
        z.write_all(text.as_bytes()).unwrap();
        z.finish().unwrap()
    };
    for (name, mut bytes) in [
        ("in.zst", zst),
        ("part-00000.deflate", deflate),
        ("in.bz2", bzip2(text.as_bytes())),
    ] {
        let at = bytes.len() * 2 / 3;
        bytes[at] ^= 0x01;
        let dir = format!("d-{name}");
        w.write(&format!("{dir}/{name}"), bytes);
        let out = format!("{dir}-out");
        let o = w.mr(&[
            "run",
            "url_views",
            "-i",
            &dir,
            "-o",
            &out,
            "--skip-bad-records",
        ]);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("damaged, not cut short"),
            "{name}: {}",
            stderr(&o)
        );
        assert!(!w.path(&out).exists(), "{name}");
    }
}

/// `mr ARGS` (words split by the shell) in `w` under `ulimit -v LIMIT`.
fn under_ulimit_v(w: &Workdir, limit: impl std::fmt::Display, args: &str) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {limit}; exec \"$0\" {args}"))
        .arg(MR)
        .current_dir(w.dir.path())
        .output()
        .unwrap()
}

/// Under an address-space limit (`ulimit -v`), the default sort buffer is
/// sized to a quarter of it, halved: the 256 MiB default made a run on 100
/// MB of distinct words abort (SIGABRT, "memory allocation failed") under
/// `ulimit -v 600000`, leaving its staging and lock (probe
/// /tmp/probe3-memory repro 04).
#[test]
fn the_default_sort_buffer_fits_an_address_space_limit() {
    let w = Workdir::new();
    w.write("a.txt", "a b\n");
    let settings = |limit: &str| {
        let o = under_ulimit_v(&w, limit, "run word_count -q -i a.txt --report r.json");
        assert!(o.status.success(), "{}", stderr(&o));
        let r: serde_json::Value =
            serde_json::from_slice(&fs::read(w.path("r.json")).unwrap()).unwrap();
        r["settings"]["sort_buffer_bytes"].as_u64().unwrap()
    };
    // A cgroup's limit, where smaller, sizes it instead.
    if mr_core::runner::limits::memory_limit().is_some_and(|l| l < 2 << 30) {
        return;
    }
    assert_eq!(settings("1200000"), 1_200_000 * 1024 / 4 / 2);
    assert_eq!(settings("unlimited"), 256 << 20);
}

/// Under an address-space limit the default longest line is sized to it
/// too (a quarter of the quarter a run plans for): a 200 MB line under
/// `ulimit -v 400000` aborted with Rust's "memory allocation failed" (exit
/// 134) where it is a bad record naming the line and `--max-line-mb` (probe
/// /tmp/probe21-cliffs repro 03).
#[test]
fn the_default_longest_line_fits_an_address_space_limit() {
    if mr_core::runner::limits::memory_limit().is_some_and(|l| l < 2 << 30) {
        return;
    }
    let w = Workdir::new();
    w.write(
        "big.jsonl",
        format!("{{\"page_url\": \"/{}\"}}\n", "a".repeat(40 << 20)),
    );
    let o = under_ulimit_v(&w, 400000, "run url_views -q -i big.jsonl");
    let most = 400000 * 1024 / 4 / 4;
    assert_eq!(o.status.code(), Some(1), "{:?}: {}", o.status, stderr(&o));
    let says = format!("bad record at big.jsonl:1: the line is longer than {most} bytes");
    assert!(stderr(&o).contains(&says), "{}", stderr(&o));
    assert!(stderr(&o).contains("--max-line-mb"), "{}", stderr(&o));
}

/// With 8 worker threads (the default on an 8-core node) under `ulimit -v
/// 500000`, glibc gave each thread a malloc arena reserving 64 MiB of
/// address space, and word_count on 16 MB of text aborted ("memory
/// allocation of N bytes failed", exit 134) with the default buffer, its
/// lock and staging left behind (probe /tmp/probe7-env repro 01). mr keeps
/// malloc to two arenas under such a limit.
#[test]
fn eight_threads_fit_an_address_space_limit() {
    let w = Workdir::new();
    ok(w.mr(&[
        "gen", "text", "--size", "16MB", "--seed", "3", "--output", "in",
    ]));
    let o = under_ulimit_v(
        &w,
        500000,
        "run word_count -q -i in -o out -j 8 --chunksize 1MB",
    );
    assert!(o.status.success(), "{:?}: {}", o.status, stderr(&o));
    assert!(w.path("out/_SUCCESS").is_file());
    let left: Vec<_> = fs::read_dir(w.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "in" && n != "out" && n != "_tmp")
        .collect();
    assert!(left.is_empty(), "left beside the output: {left:?}");
    assert_eq!(fs::read_dir(w.path("_tmp")).unwrap().count(), 0);
}

/// A map task's buffer past its share of the sort buffer grew at once to
/// 33 MiB of address space: with 8 threads under `ulimit -v 300000` (the
/// buffer an eighth of it), word_count on 60 MB of clicklogs in 64 MB
/// splits aborted, "memory allocation of 34603008 bytes failed" (probe
/// /tmp/probe14-fs repro 01). Past its share it only doubles now.
#[test]
fn a_buffer_past_its_share_fits_an_address_space_limit() {
    let w = Workdir::new();
    ok(w.mr(&[
        "gen", "clicklog", "--size", "60MB", "--seed", "3", "--output", "in",
    ]));
    let o = under_ulimit_v(&w, 300000, "run word_count -q -i in -o out -j 8");
    assert!(o.status.success(), "{:?}: {}", o.status, stderr(&o));
    assert!(w.path("out/_SUCCESS").is_file());
}

// ---------------------------------------------------------------------------
// Hostile text.

#[test]
fn hostile_text_inputs() {
    let w = Workdir::new();
    w.write("in/empty.txt", "");
    fs::create_dir_all(w.path("in/emptydir")).unwrap();
    w.write("in/blank.txt", "\n\n  \n\t\n");
    w.write("in/crlf.txt", "alpha beta\r\nbeta\r\n");
    w.write("in/nofinal.txt", "gamma\ndelta");
    // Not UTF-8: read as Latin-1 (mrjob's RawValueProtocol), so counted,
    // not a bad record; binary garbage too.
    w.write("in/latin1.txt", b"caf\xe9\nok\n");
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let garbage_lines = garbage.iter().filter(|&&b| b == b'\n').count() as u64
        + u64::from(garbage.last() != Some(&b'\n'));
    w.write("in/garbage.bin", &garbage);
    let o = ok(w.mr(&[
        "run",
        "word_count",
        "-i",
        "in",
        "-o",
        "out",
        "--skip-bad-records",
        "--chunksize",
        "1000",
    ]));
    let e = stderr(&o);
    let records = 4 + 2 + 2 + 2 + garbage_lines;
    assert_bookkeeping(&e, &w.path("out"), records);
    let parts = read_parts(&w.path("out"));
    for want in [
        "\"alpha\"\t1\n",
        "\"beta\"\t2\n",
        "\"gamma\"\t1\n",
        "\"delta\"\t1\n",
        "\"ok\"\t1\n",
        "\"café\"\t1\n",
    ] {
        assert!(parts.contains(want), "{want} missing from {parts}");
    }
    assert!(!parts.contains('\r'), "{parts}");
    assert_eq!(counter(&e, "step 0: skipped records"), 0, "{e}");
}

#[test]
fn a_single_huge_line() {
    let w = Workdir::new();
    // One 24 MiB line (24 times the read buffer), cut by splits of 4 MB.
    // (Every split that starts inside it reads to its end: 50+ MB lines make
    // a debug-build test slow, not different.)
    const LEN: usize = 24 << 20;
    let mut text = "x".repeat(LEN);
    text.push_str("\ntail\n");
    w.write("in.txt", text);
    let o = ok(w.mr(&[
        "run",
        "word_count",
        "-i",
        "in.txt",
        "--chunksize",
        "4000000",
    ]));
    let out = stdout(&o);
    assert!(out.starts_with("\"tail\"\t1\n\"xxx"), "{}", &out[..40]);
    assert!(out.ends_with("xxx\"\t1\n"));
    assert_eq!(out.len(), "\"tail\"\t1\n".len() + LEN + "\"\"\t1\n".len());
}

// ---------------------------------------------------------------------------
// Numbers: kept exact, or refused (issue 11).

/// Records for `json_identity`: line 3 holds an integer beyond 64 bits,
/// the others numbers a `serde_json::Value` keeps exactly.
const BIG_INTEGER_INPUT: &str = concat!(
    "\"a\"\t18446744073709551615\n",
    "\"b\"\t{\"id\": -9223372036854775808, \"x\": 451705.20289303036}\n",
    "\"c\"\t[1, {\"id\": 123456789012345678901234567890}]\n",
    "\"d\"\t\"123456789012345678901234567890\"\n",
);

#[test]
fn a_big_integer_is_a_located_bad_record_not_a_float() {
    let w = Workdir::new();
    w.write("in.txt", BIG_INTEGER_INPUT);
    let o = w.mr(&["run", "json_identity", "-i", "in.txt", "-o", "out"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("mr: error: bad record at in.txt:3: integer 123456789012345678901234567890 does not fit in 64 bits (mr keeps numbers exact; quote it as a string)"),
        "{e}"
    );
    assert!(!w.path("out").exists());

    let o = ok(w.mr(&[
        "run",
        "json_identity",
        "-i",
        "in.txt",
        "-o",
        "out",
        "--skip-bad-records",
    ]));
    let e = stderr(&o);
    assert_eq!(counter(&e, "step 0: skipped records"), 1);
    assert_bookkeeping(&e, &w.path("out"), 4);
    assert_eq!(
        sorted(&read_parts(&w.path("out"))),
        [
            "\"a\"\t18446744073709551615",
            "\"b\"\t{\"id\":-9223372036854775808,\"x\":451705.20289303036}",
            "\"d\"\t\"123456789012345678901234567890\"",
        ]
    );
    let kept = fs::read_to_string(w.path("out/_bad_records/map-0-00000")).unwrap();
    assert!(
        kept.contains("\"line\":3")
            && kept.contains("does not fit in 64 bits")
            && kept.ends_with("\t\"c\"\t[1, {\"id\": 123456789012345678901234567890}]\n"),
        "{kept}"
    );
}

#[test]
fn task_mode_refuses_a_big_integer_in_the_mapper_and_the_reducer() {
    let w = Workdir::new();
    for role in ["--mapper", "--reducer"] {
        let args = ["run", "json_identity", "--step-num", "0", role];
        let o = w.mr_stdin(&args, Some(BIG_INTEGER_INPUT.as_bytes()));
        assert_eq!(o.status.code(), Some(1), "{role}: {}", stderr(&o));
        let e = stderr(&o);
        let at = if role == "--mapper" {
            "-:3"
        } else {
            "step 0 reducer, key \"c\""
        };
        assert!(
            e.contains(&format!(
                "bad record at {at}: integer 123456789012345678901234567890 does not fit in 64 bits"
            )),
            "{role}: {e}"
        );
        // The records before it went through unchanged.
        assert!(
            stdout(&o).starts_with("\"a\"\t18446744073709551615\n\"b\"\t{\"id\":-9223372036854775808,\"x\":451705.20289303036}\n"),
            "{role}: {}",
            stdout(&o)
        );
    }
}

/// A log left full of NUL bytes by a crash (or a binary file among the
/// logs): a "line" of 64 MiB. Longer than `--max-line-mb`, it is a located
/// bad record holding its first bytes, read past rather than held, in a
/// plain file read in splits that start inside it and in a `.gz` cut into
/// pieces inside it; the other lines count as if it were not there.
#[test]
fn a_line_longer_than_max_line_mb_is_a_bad_record_read_past() {
    let w = Workdir::new();
    let good = "{\"page_url\": \"/a\"}\n{\"page_url\": \"/b\"}\n".repeat(50);
    let mut crashed = good.clone().into_bytes();
    crashed.extend(vec![0u8; 64 << 20]);
    crashed.push(b'\n');
    crashed.extend(good.as_bytes());
    w.write("logs/crashed.jsonl", &crashed);
    w.write_gz("logs/more.jsonl.gz", &crashed);

    let o = w.mr(&[
        "run",
        "url_views",
        "-i",
        "logs/crashed.jsonl",
        "-o",
        "out",
        "--max-line-mb",
        "1",
    ]);
    let says = "bad record at logs/crashed.jsonl:101: the line is longer than 1048576 bytes";
    failed_saying(&o, says, &w.path("out"));
    assert!(stderr(&o).contains(r"record: \0\0\0"), "{}", stderr(&o));

    let o = ok(w.mr(&[
        "run",
        "url_views",
        "-i",
        "logs",
        "-o",
        "out",
        "--max-line-mb",
        "1",
        "--skip-bad-records",
        "--chunksize",
        "4MB",
        "--cut-streams",
        "always",
        "--report",
        "r.json",
    ]));
    // In any part file (keys go where Hadoop's hash puts them).
    let mut got: Vec<String> = read_parts(&w.path("out"))
        .lines()
        .map(String::from)
        .collect();
    got.sort();
    assert_eq!(got, ["\"/a\"\t200", "\"/b\"\t200"]);
    let err = stderr(&o);
    assert_bookkeeping(&err, &w.path("out"), 402);
    let mut kept = Vec::new();
    for e in fs::read_dir(w.path("out/_bad_records")).unwrap() {
        kept.extend(fs::read(e.unwrap().path()).unwrap());
    }
    for file in ["logs/crashed.jsonl", "logs/more.jsonl.gz"] {
        let header = format!("\"file\":\"{file}\",\"line\":101,\"offset\":1900,");
        assert!(
            kept.windows(header.len()).any(|b| b == header.as_bytes()),
            "{file}"
        );
    }
    // Each kept record: a header, a tab, the first MiB of NULs, a newline.
    let nuls = kept.iter().filter(|&&b| b == 0).count();
    assert_eq!(nuls, 2 << 20);
    // Read past, not held: the process never came near the line's size.
    let report: serde_json::Value =
        serde_json::from_slice(&fs::read(w.path("r.json")).unwrap()).unwrap();
    let peak = report["totals"]["peak_memory_bytes"].as_u64().unwrap();
    assert!(peak < 48 << 20, "peak memory {peak} bytes");
}

/// A line that never ends (`-i /dev/zero`, a disk image given by mistake):
/// a strict run fails on it at once, as soon as it is longer than
/// `--max-line-mb`, rather than reading it forever; under
/// `--skip-bad-records` it is read past (it might end), and a signal still
/// stops the run within its grace time.
#[test]
fn an_endless_line_fails_at_once_or_stops_on_a_signal() {
    let w = Workdir::new();
    fs::create_dir(w.path("scratch")).unwrap();
    let child = spawn(
        &w,
        "word_count",
        "/dev/zero",
        &["--max-line-mb", "1"],
        Stdio::null(),
    );
    let (code, err) = ended_within(child, Duration::from_secs(30));
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("bad record at /dev/zero:1: the line is longer than 1048576 bytes"),
        "{err}"
    );

    let mut child = spawn(
        &w,
        "word_count",
        "/dev/zero",
        &["--max-line-mb", "1", "--skip-bad-records", "-o", "out"],
        Stdio::null(),
    );
    let ready = held_for(|| true, Duration::from_millis(500));
    let (code, took, err) = signal_when(&mut child, "-TERM", ready);
    assert_eq!(code, Some(143), "{err}");
    assert!(took < Duration::from_secs(5), "{took:?}: {err}");
    assert!(!err.contains("did not stop"), "{err}");
    assert!(!w.path("out").exists());
}

/// The Hadoop emulator feeds its mappers under the same line limit: an
/// endless line fails at once in a strict run (the emulator used to hold it
/// whole: 5 GB of `/dev/zero` in 15 s), and a long line is kept aside under
/// `--skip-bad-records` with the local runner's results.
#[test]
fn the_emulator_feeds_mappers_under_the_line_limit() {
    let w = Workdir::new();
    fs::create_dir(w.path("scratch")).unwrap();
    let emulate = ["--max-line-mb", "1", "-r", "emulate"];
    let child = spawn(&w, "word_count", "/dev/zero", &emulate, Stdio::null());
    let (code, err) = ended_within(child, Duration::from_secs(30));
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("bad record at file:/dev/zero:1: the line is longer than 1048576 bytes"),
        "{err}"
    );

    let long = "x".repeat(3 << 20);
    w.write("long.txt", format!("a b\n{long}\nc a\n"));
    let o = w.mr(&[&["run", "word_count", "-i", "long.txt"][..], &emulate].concat());
    failed_saying(
        &o,
        "long.txt:2: the line is longer than 1048576 bytes",
        &w.path("x"),
    );
    let skip = ["--skip-bad-records", "-q"];
    let local = ok(w.mr(&[
        &["run", "word_count", "-i", "long.txt", "--max-line-mb", "1"][..],
        &skip,
    ]
    .concat()));
    let emulated = ok(w.mr(&[
        &["run", "word_count", "-i", "long.txt"][..],
        &emulate,
        &skip,
    ]
    .concat()));
    assert_eq!(sorted(&stdout(&emulated)), sorted(&stdout(&local)));
    assert_eq!(
        sorted(&stdout(&local)),
        ["\"a\"\t2", "\"b\"\t1", "\"c\"\t1"]
    );
}

/// Text a Windows tool wrote (PowerShell's `>` writes UTF-16LE): read as
/// bytes, its words would be cut at every other (zero) byte, silently. The
/// run stops before any task, naming the file, its encoding and the fix; a
/// log full of zero bytes, or one starting with them, is not taken for it.
#[test]
fn utf16_text_is_refused_before_any_task_naming_file_and_fix() {
    let w = Workdir::new();
    let text = "hello world hello\nsecond line\n".repeat(30);
    let utf16le = |t: &str| -> Vec<u8> { t.encode_utf16().flat_map(u16::to_le_bytes).collect() };
    w.write("logs/a.txt", &text);
    w.write(
        "logs/win.txt",
        [&[0xff, 0xfe][..], &utf16le(&text)].concat(),
    );
    let o = w.mr(&["run", "word_count", "-i", "logs", "-o", "out"]);
    let says = "logs/win.txt is UTF-16LE text (its byte-order mark): mr reads UTF-8";
    failed_saying(&o, says, &w.path("out"));
    assert!(
        stderr(&o).contains("iconv -f UTF-16LE -t UTF-8"),
        "{}",
        stderr(&o)
    );

    // Without a byte-order mark, by its zero bytes.
    fs::remove_file(w.path("logs/win.txt")).unwrap();
    w.write("logs/win.txt", utf16le(&text));
    let o = w.mr(&["run", "word_count", "-i", "logs", "-o", "out"]);
    failed_saying(
        &o,
        "logs/win.txt is UTF-16LE text (every other byte",
        &w.path("out"),
    );

    // Short, or in another script: still told (they were read as bytes).
    let russian = "привет мир, это журнал\n".repeat(20);
    for (name, t) in [
        ("short.txt", "user=ann action=login\n"),
        ("ru.txt", &russian[..]),
    ] {
        w.write(&format!("w16/{name}"), utf16le(t));
        let o = w.mr(&["run", "word_count", "-i", "w16", "-o", "out"]);
        failed_saying(&o, &format!("w16/{name} is UTF-16LE text"), &w.path("out"));
        fs::remove_file(w.path(&format!("w16/{name}"))).unwrap();
    }

    // Compressed, piped, or in a task Hadoop runs: the first line shows it.
    let with_bom = [&[0xff, 0xfe][..], &utf16le(&text)].concat();
    w.write_gz("gz/win.txt.gz", &with_bom);
    let o = w.mr(&["run", "word_count", "-i", "gz", "-o", "out"]);
    failed_saying(
        &o,
        "gz/win.txt.gz is UTF-16LE text (its byte-order mark)",
        &w.path("out"),
    );
    let o = w.mr_stdin(&["run", "word_count", "-o", "out"], Some(&with_bom));
    failed_saying(
        &o,
        "- is UTF-16LE text (its byte-order mark)",
        &w.path("out"),
    );
    hadoop_map_task_refuses(
        "hdfs:///logs/win.txt",
        &with_bom,
        "hdfs:///logs/win.txt is UTF-16LE text (its byte-order mark)",
    );

    // Zero bytes alone (a crashed log) are read as they always were.
    fs::remove_file(w.path("logs/win.txt")).unwrap();
    w.write(
        "logs/zeros.txt",
        [vec![0u8; 600], b"\nhello\n".to_vec()].concat(),
    );
    let o = ok(w.mr(&["run", "word_count", "-i", "logs", "-o", "out"]));
    assert!(
        read_parts(&w.path("out")).contains("\"hello\"\t61"),
        "{}",
        stderr(&o)
    );
}

/// A log cut short in place while the run reads it (logrotate's
/// `copytruncate`), or renamed away with a new file under its name: the run
/// read part of the file, or another file. It stops, naming the file and
/// what changed, even with `--skip-bad-records`, and writes no output;
/// before, the splits past the cut read nothing and the run succeeded.
#[test]
fn an_input_that_changes_while_read_stops_the_run_even_when_skipping() {
    let w = Workdir::new();
    let log = w.path("app.log");
    let mut text = format!("CUT-FILE-SHORT {} 100\n", log.display());
    text.push_str(&"alpha beta gamma delta\n".repeat(100_000));
    w.write("app.log", &text);
    let o = w.mr(&[
        "run",
        "panic_on",
        "-i",
        "app.log",
        "-o",
        "out",
        "--chunksize",
        "256KB",
        "-j",
        "1",
        "--skip-bad-records",
    ]);
    failed_saying(
        &o,
        &format!(
            "app.log changed while mr read it: it was {} bytes when listed and",
            text.len()
        ),
        &w.path("out"),
    );
    assert!(stderr(&o).contains("copytruncate"), "{}", stderr(&o));
    assert!(
        !stderr(&o).contains("bad record"),
        "not a bad record: {}",
        stderr(&o)
    );

    // The same file, still: counted whole.
    let text = "alpha beta gamma delta\n".repeat(100_000);
    w.write("app.log", &text);
    let o = ok(w.mr(&["run", "panic_on", "-i", "app.log", "--chunksize", "256KB"]));
    assert!(stdout(&o).contains("\"alpha\"\t100000"), "{}", stdout(&o));
}

/// A tar header (ustar) for one file of `size` bytes named `name`.
fn tar_header(name: &str, size: usize) -> Vec<u8> {
    let mut h = vec![0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[156] = b'0';
    h[257..265].copy_from_slice(b"ustar\x0000");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

/// Archives, compressions mr does not decode, and binary files among the
/// logs: read as lines, a text job counted their bytes as words and a JSON
/// job made every line a bad record (kept aside, the records inside lost to
/// the count), without a word about why. The run stops before any task,
/// naming the file, what it is and what to do; the same when the listing
/// cannot look into it (a `.tar.gz`, stdin, a Hadoop task's input).
#[test]
fn archives_and_binary_files_among_the_logs_are_refused_by_name() {
    let w = Workdir::new();
    let log = "{\"page_url\": \"https://m.org/a\"}\n".repeat(20);
    w.write("logs/a.jsonl", &log);
    let tar = [
        tar_header("app.jsonl", log.len()),
        log.as_bytes().to_vec(),
        vec![0u8; 512 - log.len() % 512 + 1024],
    ]
    .concat();
    let cases: [(&str, Vec<u8>, &str); 8] = [
        (
            "old.jsonl.xz",
            b"\xfd7zXZ\0\0\x04\xe6\xd6\xb4\x46\x02\0!\x01".to_vec(),
            "old.jsonl.xz is xz-compressed, not text (mr reads text, gzip, bzip2, zstd, \
             Hadoop's .deflate, .snappy and .lz4, and Parquet): decompress it (xz -d FILE)",
        ),
        (
            "export.zip",
            b"PK\x03\x04\x14\0\0\0\x08\0app.jsonl".to_vec(),
            "export.zip is a zip archive, not text",
        ),
        (
            "backup.tar",
            tar.clone(),
            "backup.tar is a tar archive, not text",
        ),
        (
            "backup.tgz",
            gzip(&tar),
            "backup.tgz is a tar archive, not text",
        ),
        (
            "part-r-00000",
            b"SEQ\x06\x19org.apache.hadoop.io.Text".to_vec(),
            "part-r-00000 is a Hadoop SequenceFile, not text",
        ),
        (
            // Hadoop's LzoCodec: block lengths, then LZO; no magic.
            "part-r-00001.lzo_deflate",
            b"\0\0\0\x2a\0\0\0\x1d\x2a\x6c{\"page_url\": ".to_vec(),
            "part-r-00001.lzo_deflate is LZO-compressed (Hadoop's LzoCodec), not text",
        ),
        (
            // A download saved with its Content-Encoding: gzip, gzipped.
            "events.jsonl.gz",
            gzip(&gzip(log.as_bytes())),
            "events.jsonl.gz is compressed twice (gzip data inside), not text",
        ),
        (
            "Thumbs.db",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\0\0\0\0".to_vec(),
            "Thumbs.db is an OLE2 compound file",
        ),
    ];
    for (name, bytes, says) in &cases {
        let path = format!("logs/{name}");
        w.write(&path, bytes);
        for job in ["word_count", "url_views"] {
            let o = w.mr(&["run", job, "-i", "logs", "-o", "out", "--skip-bad-records"]);
            failed_saying(&o, says, &w.path("out"));
        }
        fs::remove_file(w.path(&path)).unwrap();
    }
    let o = ok(w.mr(&["run", "url_views", "-i", "logs"]));
    assert_eq!(stdout(&o), "\"https://m.org/a\"\t20\n");

    // Piped, and in a task Hadoop runs: the first line shows it.
    let o = w.mr_stdin(&["run", "word_count", "-o", "out"], Some(&gzip(&tar)));
    failed_saying(&o, "- is a tar archive, not text", &w.path("out"));
    hadoop_map_task_refuses(
        "hdfs:///logs/backup.tar",
        &tar,
        "hdfs:///logs/backup.tar is a tar archive, not text",
    );
}

/// word_count's mapper in task mode, as Hadoop Streaming runs it on the
/// file `uri` holding `bytes` (its first line at key 0), fails saying
/// `says` and writes no records.
#[track_caller]
fn hadoop_map_task_refuses(uri: &str, bytes: &[u8], says: &str) {
    let mut child = Command::new(MR)
        .args(["run", "word_count", "--mapper"])
        .env("stream_map_input_ignoreKey", "false")
        .env("mapreduce_map_input_file", uri)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&[b"0\t", bytes].concat()).unwrap();
    drop(stdin);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(says), "{}", stderr(&o));
    assert_eq!(stdout(&o), "", "a task that refuses writes no records");
}

/// The words of `"alpha beta\ngamma alpha\n" x 5000`, compressed in two
/// streams under `logs/`: counted whole and cut into pieces, without a
/// warning. The expected output.
#[track_caller]
fn split_stream_counts(w: &Workdir) -> &'static str {
    let want = "\"alpha\"\t10000\n\"beta\"\t5000\n\"gamma\"\t5000\n";
    for extra in [&[][..], &["--cut-streams", "always", "--chunksize", "16KB"]] {
        let mut args = vec!["run", "word_count", "-i", "logs"];
        args.extend(extra);
        let o = ok(w.mr(&args));
        assert_eq!(stdout(&o), want, "{extra:?}");
        assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    }
    want
}

/// Hadoop's `DefaultCodec` (what `mapreduce.output.fileoutputformat.compress
/// =true` gives when no codec is named) writes `part-r-00000.deflate`: zlib
/// streams. mr read them as text and counted the compressed bytes as
/// words, exit 0. Now they are decoded (several streams joined, as Hadoop
/// reads them), from a file and cut into pieces, and one cut short is a
/// located error. The real Hadoop's output is read in `tests/hadoop.rs`.
#[test]
fn hadoop_deflate_files_are_decoded_and_a_cut_one_is_an_error() {
    let w = Workdir::new();
    let text = "alpha beta\ngamma alpha\n".repeat(5_000);
    let zlib = |t: &str| {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(t.as_bytes()).unwrap();
        z.finish().unwrap()
    };
    let half = text.len() / 2 + 1; // inside a word: the streams join
    let bytes = [zlib(&text[..half]), zlib(&text[half..])].concat();
    w.write("logs/part-r-00000.deflate", &bytes);
    split_stream_counts(&w);
    w.write("logs/part-r-00000.deflate", &bytes[..bytes.len() - 100]);
    let o = w.mr(&["run", "word_count", "-i", "logs", "-o", "out"]);
    failed_saying(
        &o,
        "bad record at logs/part-r-00000.deflate:",
        &w.path("out"),
    );
    assert!(
        stderr(&o).contains("corrupt or truncated compressed data after line")
            && stderr(&o).contains("the file is cut short"),
        "{}",
        stderr(&o)
    );
}

/// `pzstd` (zstd's parallel tool) starts its output with a skippable frame
/// (magic `0x184D2A50`) before each frame; `zstd -d` reads it. It was taken
/// for plain text ("named .zst but its first bytes are not zstd's"), and a
/// text job counted its compressed bytes as words. Now it is zstd: from a
/// file, cut into pieces, and piped.
#[test]
fn pzstd_output_with_skippable_frames_is_read_as_zstd() {
    let w = Workdir::new();
    let text = "alpha beta\ngamma alpha\n".repeat(5_000);
    let half = text.len() / 2 + 1; // inside a word: the frames join
    let pzstd = |parts: &[&str]| -> Vec<u8> {
        let mut out = Vec::new();
        for p in parts {
            let frame = zstd::encode_all(p.as_bytes(), 3).unwrap();
            out.extend_from_slice(&[0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0]);
            out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
            out.extend_from_slice(&frame);
        }
        out
    };
    let bytes = pzstd(&[&text[..half], &text[half..]]);
    w.write("logs/a.txt.zst", &bytes);
    let want = split_stream_counts(&w);
    let o = ok(w.mr_stdin(&["run", "word_count"], Some(&bytes)));
    assert_eq!(stdout(&o), want);
}

/// A log written by Python's `json.dumps` holds `NaN`, `Infinity` and
/// `-Infinity` for its float('nan') and float('inf'): mrjob's `json.loads`
/// reads them, and so does mr, as null, counting the lines. A line that is
/// not JSON even so is still a bad record, with the reason.
#[test]
fn python_nan_and_infinity_are_read_as_null_and_counted() {
    let w = Workdir::new();
    w.write(
        "logs/events.json",
        concat!(
            "{\"page_url\": \"/a\", \"duration\": NaN}\n",
            "{\"page_url\": \"/a\", \"pos\": [1.5, Infinity], \"note\": \"NaN\"}\n",
            "{\"x\": -Infinity, \"page_url\": \"/b\"}\n",
            "{\"page_url\": \"/b\"}\n",
            "{\"page_url\": \"/c\", \"x\": NaN\n",
        ),
    );
    let args = ["run", "url_views", "-i", "logs", "-o", "out"];
    let o = w.mr(&args);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("bad record at logs/events.json:5") && err.contains("allow_nan=False"),
        "{err}"
    );
    assert!(!w.path("out").exists());

    let o = ok(w.mr(&[&args[..], &["--skip-bad-records"]].concat()));
    let err = stderr(&o);
    assert_eq!(
        sorted(&read_parts(&w.path("out"))),
        ["\"/a\"\t2", "\"/b\"\t2"]
    );
    assert_eq!(
        counter(&err, "step 0: lines read with NaN or Infinity as null"),
        3
    );
    assert_bookkeeping(&err, &w.path("out"), 5);
    assert_eq!(bad_record_lines(&w.path("out")), 1);

    // In a table, such a number is a null.
    ok(w.mr(&[
        "run",
        "events_table",
        "-i",
        "logs/events.json",
        "-o",
        "table",
        "--skip-bad-records",
    ]));
    let rows = read_parts(&w.path("table"));
    assert_eq!(rows.lines().count(), 4, "{rows}");
    assert!(
        !rows.contains("NaN\"") && !rows.contains("Infinity"),
        "{rows}"
    );
}
