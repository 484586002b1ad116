//! Fault suite, output and temp space (issue 9, docs/reliability.md): the real
//! `mr` binary against concurrent runs, failures and signals during
//! `--overwrite`, SIGKILL at random points, full disks, bad `--output`s, tiny
//! splits and a low open-files limit. Each test fails on the mr before the fix.

mod common;

use common::{MR, Workdir, ok, read_parts, stderr};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::FileTypeExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `n` lines of words, `distinct` different ones: deterministic.
fn text(n: usize, distinct: usize) -> String {
    (0..n)
        .map(|i| format!("w{} x{} the end\n", i % distinct, i % 97))
        .collect()
}

/// Every file under `dir`, with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

/// Names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn spawn(w: &Workdir, args: &[&str]) -> Child {
    let tmp = w.path("_tmp");
    fs::create_dir_all(&tmp).unwrap();
    Command::new(MR)
        .args(args)
        .current_dir(w.dir.path())
        .env("TMPDIR", &tmp)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child) -> (Option<i32>, String) {
    let o = child.wait_with_output().unwrap();
    (o.status.code(), stderr(&o))
}

fn signal(child: &Child, sig: &str) {
    let s = Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(s.success());
}

/// Waits until `cond` holds (the job is under way).
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let started = Instant::now();
    while !cond() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{what}: never happened"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn has_staging(dir: &Path, name: &str) -> bool {
    names(dir)
        .iter()
        .any(|n| n.starts_with(&format!(".{name}.mr-tmp-")))
}

/// What a word count of `text(n, d)` gives, as sorted lines.
fn expected_counts(w: &Workdir, input: &str) -> String {
    let o = ok(w.mr(&["run", "word_count", "-i", input, "-q"]));
    common::stdout(&o)
}

/// `sh -c SCRIPT` in `w`'s directory (a `ulimit` or `umask` first, then
/// `exec {MR} ...`).
fn sh_in(w: &Workdir, script: &str) -> std::process::Output {
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(w.dir.path())
        .output()
        .unwrap()
}

fn sorted(s: &str) -> Vec<&str> {
    let mut v: Vec<&str> = s.lines().collect();
    v.sort_unstable();
    v
}

// ---------------------------------------------------------------------------
// Two runs, one output.

#[test]
fn concurrent_runs_on_one_output_leave_one_complete_output() {
    let w = Workdir::new();
    w.write("in.txt", text(20_000, 5_000));
    let want = expected_counts(&w, "in.txt");
    for overwrite in [false, true] {
        for round in 0..10 {
            let _ = fs::remove_dir_all(w.path("O"));
            let mut args = vec!["run", "word_count", "-q", "-i", "in.txt", "-o", "O"];
            if overwrite {
                args.push("--overwrite");
            }
            let a = spawn(&w, &args);
            let b = spawn(&w, &args);
            let results = [finish(a), finish(b)];
            let ctx = format!("overwrite={overwrite} round={round}: {results:?}");
            assert!(w.path("O/_SUCCESS").exists(), "no complete output: {ctx}");
            assert_eq!(sorted(&read_parts(&w.path("O"))), sorted(&want), "{ctx}");
            assert!(results.iter().any(|r| r.0 == Some(0)), "nobody won: {ctx}");
            for (code, err) in &results {
                if *code != Some(0) {
                    assert_eq!(*code, Some(1), "{ctx}");
                    assert!(
                        err.contains("another mr run (pid ") || err.contains("already exists"),
                        "unclear message: {ctx}"
                    );
                }
            }
            assert_eq!(names(w.dir.path()), ["O", "_tmp", "in.txt"], "{ctx}");
        }
    }
}

// ---------------------------------------------------------------------------
// --overwrite replaces only on success.

#[test]
fn overwrite_with_a_failing_run_keeps_the_old_output() {
    let w = Workdir::new();
    w.write("good.txt", "{\"page_url\": \"/a\"}\n");
    w.write("bad.txt", "{\"page_url\": \"/a\"}\n{\"page_url\": \n");
    ok(w.mr(&["run", "url_views", "-q", "-i", "good.txt", "-o", "K"]));
    let before = snapshot(&w.path("K"));
    let o = w.mr(&[
        "run",
        "url_views",
        "-q",
        "-i",
        "bad.txt",
        "-o",
        "K",
        "--overwrite",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("invalid JSON"), "{}", stderr(&o));
    assert_eq!(snapshot(&w.path("K")), before, "old output changed");
    assert_eq!(names(w.dir.path()), ["K", "_tmp", "bad.txt", "good.txt"]);
}

/// `-o .` from an empty directory (an empty output is taken) renamed the
/// new output over the current directory: mr said "output in .", the
/// shell's `ls` showed nothing (probe /tmp/probe2-safety repro 04). Refused,
/// with `-o ..` from inside an output too; a user's directory of files
/// is not told to pass --overwrite, which would refuse it (repro 05).
/// A run that fails, or is stopped, removes the parents it made for its
/// output: no empty `results/2026-12-07/` is left for `ls results/*` or a
/// scheduler's sensor to take for a day that ran (probe /tmp/probe11-daily
/// repro 01). A parent that was there, or that holds the output, stays.
#[test]
fn a_failed_or_stopped_run_leaves_no_parent_it_made() {
    let w = Workdir::new();
    w.write("bad.jsonl", "{\"page_url\": \"/a\"}\n{bad\n");
    w.write("big.txt", text(1_500_000, 200_000));
    fs::create_dir(w.path("results")).unwrap();
    let day = "results/2026-12-07/views";
    let o = w.mr(&["run", "url_views", "-q", "-i", "bad.jsonl", "-o", day]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(names(&w.path("results")), Vec::<String>::new());
    let args = [
        "run",
        "word_count",
        "-q",
        "-i",
        "big.txt",
        "-o",
        day,
        "-j",
        "1",
    ];
    let child = spawn(&w, &args);
    wait_for("staging dir", || {
        has_staging(&w.path("results/2026-12-07"), "views")
    });
    signal(&child, "TERM");
    let (code, err) = finish(child);
    assert_eq!(code, Some(143), "{err}");
    assert_eq!(names(&w.path("results")), Vec::<String>::new());
    ok(w.mr(&[
        "run",
        "url_views",
        "-q",
        "-i",
        "bad.jsonl",
        "-o",
        day,
        "--skip-bad-records",
    ]));
    assert!(w.path(day).join("_SUCCESS").is_file());
    assert_eq!(names(&w.path("results/2026-12-07")), ["views"]);
}

#[test]
fn the_current_directory_is_never_the_output() {
    let w = Workdir::new();
    w.write("in/a.txt", "a b a\n");
    fs::create_dir_all(w.path("results/sub")).unwrap();
    let cwd = "results/sub";
    for (out, overwrite) in [(".", false), (".", true), ("..", true)] {
        let mut args = vec!["run", "word_count", "-q", "-i", "../../in/a.txt", "-o", out];
        if overwrite {
            args.push("--overwrite");
        }
        let o = Command::new(MR)
            .args(&args)
            .current_dir(w.path(cwd))
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(stderr(&o).contains("current directory"), "{}", stderr(&o));
        assert!(
            w.path(cwd).is_dir() && names(&w.path(cwd)).is_empty(),
            "-o {out}"
        );
    }
    w.write("docs/thesis.tex", "mine");
    let o = w.mr(&["run", "word_count", "-q", "-i", "in", "-o", "docs"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("not a finished job's output")
            && !stderr(&o).contains("pass --overwrite"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn sigint_sigterm_or_sighup_during_overwrite_keeps_the_old_output() {
    let w = Workdir::new();
    w.write("small.txt", "a b a\n");
    w.write("big.txt", text(1_500_000, 200_000));
    ok(w.mr(&["run", "word_count", "-q", "-i", "small.txt", "-o", "K"]));
    let before = snapshot(&w.path("K"));
    // A shell's status for a process the signal stopped: 128 + its number.
    for (sig, status) in [("INT", 130), ("TERM", 143), ("HUP", 129)] {
        let child = spawn(
            &w,
            &[
                "run",
                "word_count",
                "-q",
                "-i",
                "big.txt",
                "-o",
                "K",
                "--overwrite",
                "--tmp-dir",
                "scratch",
                "--sort-buffer-mb",
                "1",
                "-j",
                "1",
            ],
        );
        wait_for("staging dir", || has_staging(w.dir.path(), "K"));
        std::thread::sleep(Duration::from_millis(100));
        signal(&child, sig);
        let (code, err) = finish(child);
        assert_eq!(code, Some(status), "SIG{sig}: {err}");
        assert_eq!(
            snapshot(&w.path("K")),
            before,
            "SIG{sig}: old output changed"
        );
        assert!(!has_staging(w.dir.path(), "K"), "SIG{sig}: staging left");
        assert_eq!(names(&w.path("scratch")), Vec::<String>::new());
    }
}

/// Ctrl-C while the commit removes the old output (40,000 part files):
/// the new output is in place and stays; mr says so, and exits 130.
#[test]
fn sigint_during_the_commit_keeps_the_new_output_and_says_so() {
    let w = Workdir::new();
    w.write("small.txt", "a b a\n");
    let k = w.path("K");
    fs::create_dir(&k).unwrap();
    fs::write(k.join("_SUCCESS"), "").unwrap();
    for i in 0..40_000 {
        fs::write(k.join(format!("part-{i:06}")), "").unwrap();
    }
    let child = spawn(
        &w,
        &[
            "run",
            "word_count",
            "-q",
            "-i",
            "small.txt",
            "-o",
            "K",
            "--overwrite",
        ],
    );
    // The new output in K (its part-00000; the old ones have six digits)
    // and the old one under the staging name, being removed.
    let swapped = || k.join("part-00000").exists() && has_staging(w.dir.path(), "K");
    wait_for("the old output swapped out", swapped);
    signal(&child, "INT");
    let (code, err) = finish(child);
    assert_eq!(code, Some(130), "{err}");
    assert!(
        err.contains("interrupted after the output was in place") && err.contains("was kept"),
        "{err}"
    );
    assert!(!err.contains("did not stop"), "{err}");
    assert_eq!(read_parts(&k), "\"a\"\t2\n\"b\"\t1\n");
    assert!(!has_staging(w.dir.path(), "K"));
}

// ---------------------------------------------------------------------------
// SIGKILL, then a rerun.

#[test]
fn sigkill_at_random_points_then_a_rerun_succeeds_and_frees_the_temp_dir() {
    let w = Workdir::new();
    w.write("in.txt", text(150_000, 30_000));
    let want = expected_counts(&w, "in.txt");
    let args = [
        "run",
        "word_count",
        "-i",
        "in.txt",
        "-o",
        "out",
        "--overwrite",
        "--tmp-dir",
        "scratch",
        "--sort-buffer-mb",
        "0.5",
        "-j",
        "2",
    ];
    let mut freed = 0;
    // A seeded generator: the same kill points on every run of the test.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..4 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = Duration::from_millis((seed >> 33) % 300);
        let mut child = spawn(&w, &args);
        wait_for("temp dir", || !names(&w.path("scratch")).is_empty());
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let left = names(&w.path("scratch"));
        let o = ok(w.mr(&args));
        let err = stderr(&o);
        if !left.is_empty() {
            assert!(
                err.contains("mr: removed 1 stale temp dir of dead runs"),
                "round {round} ({delay:?}): {left:?} left, rerun said: {err}"
            );
            freed += 1;
        }
        assert_eq!(
            names(&w.path("scratch")),
            Vec::<String>::new(),
            "round {round}"
        );
        assert_eq!(sorted(&read_parts(&w.path("out"))), sorted(&want));
        assert_eq!(
            names(w.dir.path()),
            ["_tmp", "in.txt", "out", "scratch"],
            "round {round}"
        );
    }
    assert!(freed > 0, "no kill left a temp dir: the test did not test");
}

#[test]
fn concurrent_runs_on_one_tmp_dir_all_succeed() {
    let w = Workdir::new();
    w.write("in.txt", text(50_000, 20_000));
    let want = expected_counts(&w, "in.txt");
    // A dead run's temp dir, as a SIGKILL leaves it.
    let dead = w.path("scratch/mr-job-dead01");
    fs::create_dir_all(dead.join("spill-0")).unwrap();
    fs::write(dead.join("spill-0/spill-1"), vec![7u8; 3 << 20]).unwrap();
    fs::write(dead.join("owner.lock"), "999999\n").unwrap();
    let runs: Vec<Child> = (0..3)
        .map(|i| {
            let out = format!("out{i}");
            spawn(
                &w,
                &[
                    "run",
                    "word_count",
                    "-i",
                    "in.txt",
                    "-o",
                    &out,
                    "--tmp-dir",
                    "scratch",
                    "--sort-buffer-mb",
                    "0.25",
                    "-j",
                    "1",
                ],
            )
        })
        .collect();
    let results: Vec<_> = runs.into_iter().map(finish).collect();
    let mut reports = 0;
    for (i, (code, err)) in results.iter().enumerate() {
        assert_eq!(*code, Some(0), "run {i}: {err}");
        assert_eq!(
            sorted(&read_parts(&w.path(&format!("out{i}")))),
            sorted(&want)
        );
        if err.contains("removed 1 stale temp dir of dead runs (3 MB)") {
            reports += 1;
        }
    }
    assert_eq!(reports, 1, "{results:?}");
    assert_eq!(names(&w.path("scratch")), Vec::<String>::new());
}

/// A dead run's leftovers given as this run's input (its step results, or
/// the part files of an output it never finished, salvaged by the user)
/// are read, not removed by the run's sweep of dead runs' leftovers.
#[test]
fn dead_runs_leftovers_given_as_input_are_read_not_removed() {
    let w = Workdir::new();
    // A temp dir of a killed run, its step 0 results inside.
    let dead = w.path("scratch/mr-job-dead02");
    fs::create_dir_all(dead.join("step-0")).unwrap();
    fs::write(dead.join("step-0/part-00000"), "step zero results\n").unwrap();
    fs::write(dead.join("owner.lock"), "999999\n").unwrap();
    // The unfinished output of a run killed while writing K.
    let staging = w.path(".K.mr-tmp-999999-abcdef");
    fs::create_dir_all(&staging).unwrap();
    fs::write(staging.join("part-00000"), "salvaged words\n").unwrap();
    let o = ok(w.mr(&[
        "run",
        "word_count",
        "-i",
        "scratch/mr-job-dead02/step-0",
        "-i",
        ".K.mr-tmp-999999-abcdef",
        "-o",
        "K",
        "--tmp-dir",
        "scratch",
    ]));
    let err = stderr(&o);
    assert_eq!(
        sorted(&read_parts(&w.path("K"))),
        [
            "\"results\"\t1",
            "\"salvaged\"\t1",
            "\"step\"\t1",
            "\"words\"\t1",
            "\"zero\"\t1"
        ]
    );
    assert!(dead.join("step-0/part-00000").exists(), "{err}");
    assert!(staging.join("part-00000").exists(), "{err}");
    assert!(
        err.contains("the temp dir of a dead run, in place"),
        "{err}"
    );
    assert!(
        err.contains("the unfinished output of a dead run, in place"),
        "{err}"
    );
    // Once they are no input, the next run sweeps them as before.
    w.write("in.txt", "a\n");
    let o = ok(w.mr(&[
        "run",
        "word_count",
        "-i",
        "in.txt",
        "-o",
        "K",
        "--overwrite",
        "--tmp-dir",
        "scratch",
    ]));
    assert!(!dead.exists() && !staging.exists(), "{}", stderr(&o));
}

// ---------------------------------------------------------------------------
// Full disks (a 1 MiB tmpfs; needs root and mount).

struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path) -> Option<Tmpfs> {
        fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
            .arg(at)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            common::skip_note("cannot mount a 1 MiB tmpfs (needs root): disk-full case not run");
            return None;
        }
        Some(Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn disk_full_in_tmp_dir_says_how_much_and_what_to_do() {
    let w = Workdir::new();
    let Some(fs_) = Tmpfs::mount(&w.path("small")) else {
        return;
    };
    w.write("in.txt", text(300_000, 300_000));
    let o = w.mr(&[
        "run",
        "word_count",
        "-q",
        "-i",
        "in.txt",
        "--tmp-dir",
        "small/t",
        "--sort-buffer-mb",
        "4",
        "-j",
        "1",
    ]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains("writing spill") && e.contains("the disk is full"),
        "{e}"
    );
    assert!(
        e.contains("This spill needed about") && e.contains("--tmp-dir"),
        "{e}"
    );
    assert_eq!(
        names(&fs_.0.join("t")),
        Vec::<String>::new(),
        "temp files left"
    );
}

#[test]
fn disk_full_in_output_says_so_and_keeps_the_old_output() {
    let w = Workdir::new();
    let Some(fs_) = Tmpfs::mount(&w.path("small")) else {
        return;
    };
    w.write("small.txt", "a b a\n");
    w.write("big.txt", text(300_000, 300_000));
    ok(w.mr(&[
        "run",
        "word_count",
        "-q",
        "-i",
        "small.txt",
        "-o",
        "small/K",
    ]));
    let before = snapshot(&fs_.0.join("K"));
    let o = w.mr(&[
        "run",
        "word_count",
        "-q",
        "-i",
        "big.txt",
        "-o",
        "small/K",
        "--overwrite",
    ]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains("the disk is full") && e.contains("--output"),
        "{e}"
    );
    assert_eq!(snapshot(&fs_.0.join("K")), before);
    assert_eq!(names(&fs_.0), ["K"], "staging or lock file left");
}

// ---------------------------------------------------------------------------
// --output that must not be replaced.

#[test]
fn overwrite_never_replaces_the_input_a_file_or_a_dir_of_other_files() {
    let w = Workdir::new();
    w.write("data/in.txt", "a b\n");
    w.write("home/notes.txt", "my notes\n");
    w.write("file.txt", "a file\n");
    let all = snapshot(w.dir.path());
    let cases: [(&str, &[&str]); 4] = [
        ("data", &["-i", "data", "-o", "data"]),
        ("home", &["-i", "data", "-o", "home"]),
        ("file", &["-i", "data", "-o", "file.txt"]),
        ("dot", &["-i", "../data", "-o", "."]),
    ];
    for (what, io) in cases {
        let mut args = vec!["run", "word_count", "-q", "--overwrite"];
        args.extend_from_slice(io);
        let o = if what == "dot" {
            Command::new(MR)
                .args(&args)
                .current_dir(w.path("home"))
                .output()
                .unwrap()
        } else {
            w.mr(&args)
        };
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{what}: {e}");
        assert!(
            e.contains("will not replace")
                || e.contains("contains the input")
                || e.contains("not a directory")
                || e.contains("is the current directory"),
            "{what}: {e}"
        );
        let mut now = snapshot(w.dir.path());
        now.retain(|p, _| !p.starts_with("_tmp"));
        assert_eq!(now, all, "{what}: files changed");
    }
    // Output inside the input: fine the first time, refused once it holds
    // what would be read.
    ok(w.mr(&["run", "word_count", "-q", "-i", "data", "-o", "data/out"]));
    let o = w.mr(&[
        "run",
        "word_count",
        "-q",
        "-i",
        "data",
        "-o",
        "data/out",
        "--overwrite",
    ]);
    assert!(stderr(&o).contains("contains the input"), "{}", stderr(&o));
    assert!(w.path("data/out/_SUCCESS").exists());
}

/// Whether this test may mount in a mount namespace of its own (`unshare
/// -m`, root or user namespaces); if not, it says it skips.
fn mount_namespaces() -> bool {
    let probe = Command::new("unshare")
        .args(["-m", "true"])
        .stderr(Stdio::null())
        .status();
    let can = probe.is_ok_and(|s| s.success());
    if !can {
        eprintln!("skipped: unshare -m is not permitted here");
    }
    can
}

/// `sh -c SCRIPT sh ARGS...` in `w`'s directory, in a mount namespace of
/// its own (`unshare -m`): what it mounts goes with it.
fn in_mount_namespace<S: AsRef<std::ffi::OsStr>>(w: &Workdir, script: &str, args: &[S]) -> Command {
    let mut c = Command::new("unshare");
    c.args(["-m", "sh", "-c", script, "sh"])
        .args(args)
        .current_dir(w.dir.path());
    c
}

/// An output directory that is a bind mount of one on the same disk is a
/// mount point as much as one of another disk: refused before the run,
/// empty or a finished output under --overwrite. Its device is its
/// parent's, so it was taken for a directory, the whole job ran, and the
/// rename failed with "Device or resource busy" (probe /tmp/probe25
/// repro 05).
#[test]
fn an_output_bind_mounted_from_the_same_disk_is_refused_before_the_run() {
    let w = Workdir::new();
    w.write("logs/a.txt", "a b a\n");
    fs::create_dir_all(w.path("empty")).unwrap();
    ok(w.mr(&["run", "word_count", "-q", "-i", "logs", "-o", "done"]));
    let parts = read_parts(&w.path("done"));
    fs::create_dir_all(w.path("out")).unwrap();
    if !mount_namespaces() {
        return;
    }
    for (source, more, says) in [
        ("empty", "", "it is a mount point"),
        (
            "done",
            "--overwrite",
            "it is a mount point, which --overwrite cannot replace",
        ),
    ] {
        let script = format!(
            "mount --bind {source} out && exec \"$1\" run word_count -i logs -o out {more}"
        );
        let o = in_mount_namespace(&w, &script, &[MR]).output().unwrap();
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{source}: {e}");
        assert!(e.contains(says), "{source}: {e}");
    }
    assert_eq!(read_parts(&w.path("done")), parts);
}

/// The same input and output by two paths that no link resolves: a bind
/// mount (an automounted `/home` and its `/export/home` are alike, and a
/// case-insensitive disk's `wc` and `WC`). `--overwrite` replaced the input
/// with the output, a report through the alias replaced an input file, and
/// a dictionary store inside the input was read back as events. Each is
/// now refused, whatever the path. Run in a mount namespace of its own
/// (`unshare -m`), so the mount is gone with it; where that is not
/// permitted the test says so and checks nothing.
#[test]
fn an_input_reached_through_a_bind_mount_is_still_the_input() {
    let w = Workdir::new();
    w.write("real/logs/a.jsonl", "{\"page_url\": \"/x\"}\n");
    fs::create_dir_all(w.path("alias")).unwrap();
    if !mount_namespaces() {
        return;
    }
    ok(w.mr(&[
        "run",
        "url_views",
        "-q",
        "-i",
        "real/logs",
        "-o",
        "real/counts",
    ]));
    let before = snapshot(w.dir.path());
    let mr = MR;
    let alias = w.path("alias");
    let real = w.path("real");
    let cases = [
        (
            "--overwrite",
            "run word_count -q -i alias/counts -o real/counts --overwrite",
            "contains the input",
        ),
        (
            "--report",
            "run url_views -q -i real/logs -o out --report alias/logs/a.jsonl",
            "would replace an input",
        ),
        (
            "--dictionary-store",
            "run events_table -q -i real/logs -o table --dictionary-store alias/logs/ids",
            "inside the input",
        ),
    ];
    for (what, args, says) in cases {
        let script = format!("mount --bind \"$1\" \"$2\" && exec \"$3\" {args}");
        let o = in_mount_namespace(
            &w,
            &script,
            &[real.as_os_str(), alias.as_os_str(), mr.as_ref()],
        )
        .output()
        .unwrap();
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{what}: {e}");
        assert!(e.contains(says), "{what}: {e}");
        let mut now = snapshot(w.dir.path());
        now.retain(|p, _| !p.starts_with("_tmp"));
        assert_eq!(now, before, "{what}: files changed");
    }
}

/// `--overwrite` of an output in an overlayfs lower layer (baked into a
/// container image): the old output cannot be moved at all (EXDEV), so the
/// exchange and the rename aside both failed after the whole run, and each
/// retry kept one more full copy beside it. The old output is now removed
/// (it holds only what a job writes) and the new one moved in.
#[test]
fn overwrite_replaces_an_output_in_an_overlay_lower_layer() {
    let w = Workdir::new();
    w.write("in.txt", "new words here\n");
    w.write("old.txt", "old\n");
    for d in ["upper", "work", "merged"] {
        fs::create_dir_all(w.path(d)).unwrap();
    }
    if !mount_namespaces() {
        return;
    }
    ok(w.mr(&[
        "run",
        "word_count",
        "-q",
        "-i",
        "old.txt",
        "-o",
        "lower/out",
    ]));
    let script = "mount -t overlay overlay -o lowerdir=lower,upperdir=upper,workdir=work merged \
                  && \"$1\" run word_count -q -i in.txt -o merged/out --overwrite \
                  && cat merged/out/part-* && ls -a merged";
    let o = in_mount_namespace(&w, script, &[MR]).output().unwrap();
    let (out, e) = (String::from_utf8_lossy(&o.stdout), stderr(&o));
    if e.contains("unknown filesystem type") || e.contains("wrong fs type") {
        eprintln!("skipped: no overlayfs here: {e}");
        return;
    }
    assert!(o.status.success(), "{e}");
    for word in ["\"new\"\t1", "\"words\"\t1", "\"here\"\t1"] {
        assert!(out.contains(word), "{out}");
    }
    assert!(!out.contains("\"old\""), "{out}");
    assert!(
        !out.contains(".out.mr-"),
        "a copy left beside the output: {out}"
    );
}

/// A `--dictionary-store` to be made on a read-only disk was found
/// unwritable only once the whole job had run. It is refused before the
/// run: here the input is a stdin that never ends, so a run that started
/// would never exit.
#[test]
fn a_dictionary_store_that_cannot_be_made_is_refused_before_the_run() {
    let w = Workdir::new();
    fs::create_dir_all(w.path("ro")).unwrap();
    if !mount_namespaces() {
        return;
    }
    let script = "mount -t tmpfs -o ro none \"$1\" && exec \"$2\" run events_table -q -i - -o table \
                  --dictionary-store \"$1/ids\"";
    let mut child = in_mount_namespace(&w, script, &[w.path("ro").as_os_str(), MR.as_ref()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _open = child.stdin.take(); // never closed while we wait
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("the run started: the store was not checked before it");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let (code, e) = finish(child);
    assert_eq!(code, Some(1), "{e}");
    assert!(e.contains("creating the dictionary store in"), "{e}");
    assert!(e.contains("Read-only file system"), "{e}");
    assert!(!w.path("table").exists());
}

// ---------------------------------------------------------------------------
// Bounds.

/// A user keeps a notebook and plots beside the `part-*` files of an
/// output. `--overwrite` would have removed them with the old output; it
/// now refuses, names them, and changes nothing. When the file appears
/// while the run writes (the `WRITE-FILE` line of `panic_on`), the run
/// fails without touching it and keeps its finished results beside it.
#[test]
fn overwrite_never_removes_files_a_user_put_in_the_output() {
    let w = Workdir::new();
    w.write("in.txt", "a b a\n");
    ok(w.mr(&["run", "word_count", "-q", "-i", "in.txt", "-o", "K"]));
    w.write("K/analysis.ipynb", "{\"cells\": []}\n");
    w.write("K/.ipynb_checkpoints/analysis-checkpoint.ipynb", "{}\n");
    let before = snapshot(&w.path("K"));
    let over = [
        "run",
        "word_count",
        "-q",
        "-i",
        "in.txt",
        "-o",
        "K",
        "--overwrite",
    ];
    let o = w.mr(&over);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains("will not replace K: it holds files a job does not write")
            && e.contains(".ipynb_checkpoints/, analysis.ipynb"),
        "{e}"
    );
    assert_eq!(snapshot(&w.path("K")), before, "files changed");

    // Hadoop's checksums and old-style part names are an output's own.
    fs::remove_file(w.path("K/analysis.ipynb")).unwrap();
    fs::remove_dir_all(w.path("K/.ipynb_checkpoints")).unwrap();
    w.write("K/.part-00000.crc", "crc");
    w.write("K/part-r-00007", "\"z\"\t1\n");
    ok(w.mr(&over));
    assert_eq!(
        names(&w.path("K")),
        ["_SUCCESS", "part-00000", "part-00001"]
    );

    // Saved while the run writes.
    let before = snapshot(&w.path("K"));
    let notebook = w.path("K/notes.txt");
    w.write(
        "in2.txt",
        format!("c d\nWRITE-FILE {}\n", notebook.display()),
    );
    let o = w.mr(&[
        "run",
        "panic_on",
        "-q",
        "-i",
        "in2.txt",
        "-o",
        "K",
        "--overwrite",
    ]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains("changed during the run") && e.contains("notes.txt"),
        "{e}"
    );
    let mut now = snapshot(&w.path("K"));
    assert_eq!(
        now.remove(Path::new("notes.txt")).unwrap(),
        b"written by panic_on\n"
    );
    assert_eq!(now, before, "old output changed");
    let kept: Vec<String> = names(w.dir.path())
        .into_iter()
        .filter(|n| n.starts_with(".K.mr-tmp-"))
        .collect();
    assert_eq!(kept.len(), 1, "{e}");
    assert!(e.contains(&kept[0]), "the message says where: {e}");
    assert_eq!(
        sorted(&read_parts(&w.path(&kept[0]))),
        ["\"c\"\t1", "\"d\"\t1"],
        "the new results are kept"
    );
}

fn counter(stderr: &str, name: &str) -> i64 {
    stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix(name)?.strip_prefix('=')?.parse().ok())
        .unwrap_or_else(|| panic!("no counter {name} in {stderr}"))
}

#[test]
fn tiny_chunksize_stays_bounded() {
    let w = Workdir::new();
    w.write("in.txt", text(60_000, 1000)); // 1 MB: 100,000 splits of 10 bytes
    let started = Instant::now();
    let o = ok(w.mr(&[
        "run",
        "word_count",
        "-i",
        "in.txt",
        "--chunksize",
        "10",
        "--tmp-dir",
        "scratch",
    ]));
    let e = stderr(&o);
    assert!(e.contains("mr: note: --chunksize 10 would cut"), "{e}");
    let tasks = counter(&e, "step 0: map tasks");
    assert!(tasks <= 1024, "{tasks} map tasks");
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn low_open_files_limit_lowers_the_merge_fan_in() {
    let w = Workdir::new();
    w.write("in.txt", text(100_000, 100_000));
    let want = expected_counts(&w, "in.txt");
    // ~100 runs per partition, merged 64 at a time by default: over the limit.
    let o = sh_in(
        &w,
        &format!(
            "ulimit -n 48 && exec {MR} run word_count -q -i in.txt --sort-buffer-mb 0.05 -j 2 \
             --tmp-dir scratch"
        ),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(sorted(&common::stdout(&o)), sorted(&want));
}

/// A relative `-o` from a current directory removed under the shell said
/// only "resolving .: No such file or directory" (probe /tmp/probe4-env
/// repro 05); it names the output and the cause now.
#[test]
fn a_relative_output_from_a_removed_directory_says_so() {
    let w = Workdir::new();
    w.write("in.txt", "a b\n");
    fs::create_dir(w.path("gone")).unwrap();
    let input = w.path("in.txt");
    let o = sh_in(
        &w,
        &format!(
            "cd gone && rmdir ../gone && exec {MR} run word_count -q -i '{}' -o out",
            input.display()
        ),
    );
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains("the output out is relative to the current directory, which was removed"),
        "{e}"
    );
}

/// `-r emulate` under the same limit, with more map tasks than it lets a
/// reduce task hold open: each reducer's feed opened every map output of its
/// partition at once, and the run failed after all its map tasks with a raw
/// "Too many open files" (probe /tmp/probe4-env repro 01); now they are
/// merged in passes, as Hadoop's `mapreduce.task.io.sort.factor` has it.
#[test]
fn emulate_merges_more_map_outputs_than_the_open_files_limit_in_passes() {
    let w = Workdir::new();
    for i in 0..120 {
        w.write(&format!("in/f{i:03}.txt"), format!("w{} common\n", i % 7));
    }
    let want = expected_counts(&w, "in");
    let o = sh_in(
        &w,
        &format!(
            "ulimit -n 64 && exec {MR} run word_count -q -r emulate -i in -j 2 --partitions 2 \
             --tmp-dir scratch"
        ),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(sorted(&common::stdout(&o)), sorted(&want));
    assert!(common::stdout(&o).contains("\"common\"\t120\n"));
    assert_eq!(std::fs::read_dir(w.path("scratch")).unwrap().count(), 0);
}

/// A run whose `--dictionary-store` cannot be written whole (its disk
/// full) leaves every file of the store as it was: the columns written
/// before the one that failed had their new counts in place, and the rerun
/// added them again to those columns only (probe /tmp/probe11-daily repro
/// 03). A tmpfs in a mount namespace of its own (`unshare -m`), filled to
/// 16 KiB short; where that is not permitted the test says so and checks
/// nothing.
#[test]
fn a_dictionary_store_is_written_whole_or_not_at_all() {
    let w = Workdir::new();
    if !mount_namespaces() {
        return;
    }
    ok(w.mr(&[
        "gen", "clicklog", "--size", "5MB", "--seed", "3", "--files", "7", "--output", "logs",
    ]));
    fs::create_dir(w.path("ids")).unwrap();
    let script = r#"
        run() { "$1" run events_table -q -i "logs/$2" -o "$3" --output-format parquet --dictionary-store ids; }
        mount -t tmpfs -o size=1m tmpfs ids && run "$1" part-00000.jsonl day1 && cp -a ids before || exit 9
        used=$(df -k --output=used ids | tail -1)
        mount -o remount,size=$((used + 16))k ids || exit 9
        run "$1" part-00001.jsonl day2
        echo "day2 exit $?"
        diff -r -x .mr-dir.lock before ids && echo "store unchanged""#;
    let o = in_mount_namespace(&w, script, &[MR]).output().unwrap();
    let (out, e) = (common::stdout(&o), stderr(&o));
    assert!(out.contains("day2 exit 1"), "{out}{e}");
    assert!(e.contains("No space left on device"), "{e}");
    assert!(out.contains("store unchanged"), "{out}{e}");
}

/// A part file that would grow past `ulimit -f`: SIGXFSZ used to kill mr
/// with no word said ("File size limit exceeded" from the shell), its
/// staging and temp dir left behind. Now the write fails, the error names
/// the file and the limit, the old output stays, and nothing is left.
#[test]
fn a_file_size_limit_fails_the_run_cleanly() {
    let w = Workdir::new();
    w.write("in.txt", text(100_000, 100_000));
    w.write("old/part-00000", "\"old\"\t1\n");
    w.write("old/_SUCCESS", "");
    let o = sh_in(
        &w,
        &format!(
            "ulimit -f 64 && exec {MR} run word_count -q -i in.txt -o old --overwrite -j 1 \
             --partitions 1 --tmp-dir scratch"
        ),
    );
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains("File too large"), "{e}");
    // sh counts 512-byte blocks (bash, 1024).
    assert!(e.contains("the file-size limit (ulimit -f) is "), "{e}");
    assert_eq!(read_parts(&w.path("old")), "\"old\"\t1\n");
    let left: Vec<_> = fs::read_dir(w.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("mr-tmp") || n.contains("mr-lock"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let scratch = fs::read_dir(w.path("scratch")).map_or(0, |d| d.count());
    assert_eq!(scratch, 0, "temp dirs left in scratch");
    // The skipped records of a map task are one file, whatever
    // --partitions is: its hint is smaller splits, not more partitions
    // (which failed the same way: probe /tmp/probe7-env repro 05).
    let bad: String = (0..3000)
        .map(|i| format!("{{\"page_url\": \"/{i}\",\n"))
        .collect();
    w.write("bad.jsonl", bad);
    let o = sh_in(
        &w,
        &format!(
            "ulimit -f 64 && exec {MR} run url_views -q -i bad.jsonl -o skipped -j 1 \
             --skip-bad-records --partitions 64 --tmp-dir scratch"
        ),
    );
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains("_bad_records"), "{e}");
    assert!(e.contains("a smaller --chunksize"), "{e}");
    assert!(!e.contains("--partitions"), "{e}");
    assert!(!w.path("skipped").exists());
}

#[test]
fn many_small_spills_leave_few_files() {
    let w = Workdir::new();
    w.write("in.txt", text(20_000, 20_000)); // 0.5 MB
    let want = expected_counts(&w, "in.txt");
    let mut child = Command::new(MR)
        .args([
            "run",
            "word_count",
            "-q",
            "-i",
            "in.txt",
            "-j",
            "1",
            "--sort-buffer-mb",
            "0.001",
            "--merge-fan-in",
            "8",
            "--tmp-dir",
            "scratch",
        ])
        .current_dir(w.dir.path())
        .stdout(fs::File::create(w.path("stdout")).unwrap())
        .stderr(fs::File::create(w.path("stderr")).unwrap())
        .spawn()
        .unwrap();
    // Count the spill files while the job runs (1 KiB buffer: thousands of spills).
    let mut most = 0;
    while child.try_wait().unwrap().is_none() {
        for job in names(&w.path("scratch")) {
            most = most.max(names(&w.path(&format!("scratch/{job}/spill-0"))).len());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let status = child.wait().unwrap();
    let err = fs::read_to_string(w.path("stderr")).unwrap();
    assert!(status.success(), "{err}");
    let out = fs::read_to_string(w.path("stdout")).unwrap();
    assert_eq!(sorted(&out), sorted(&want));
    assert!(most > 0, "never saw a spill file");
    assert!(most <= 8 * 5, "{most} spill files at once");
}

/// The emulator's task writes its output (its stdout) in mr's temp dir: a
/// full one was said as "writing to standard output: No space left on
/// device", naming neither (probe /tmp/probe7-env repro 06). The error now
/// names the temp dir and the remedy, as the local runner's does.
#[cfg(target_os = "linux")]
#[test]
fn a_full_temp_dir_under_the_emulator_is_named() {
    let w = Workdir::new();
    if !mount_namespaces() {
        return;
    }
    let lines: String = (0..200_000)
        .map(|i| format!("{{\"page_url\": \"/p{}\"}}\n", i % 5000))
        .collect();
    w.write("in.jsonl", lines);
    fs::create_dir_all(w.path("small")).unwrap();
    fs::create_dir_all(w.path("scratch")).unwrap();
    // `-r emulate` with a 64 KiB tmpfs mounted on small/ (`$1` in `args`):
    // its stderr, after an exit 1.
    let on_small_disk = |args: &str| {
        let script = format!(
            "mount -t tmpfs -o size=64k none \"$1\" && mkdir \"$1/tmp\" && exec \"$2\" run \
             url_views -r emulate -q -i in.jsonl -j 1 --partitions 2 {args}"
        );
        let o = in_mount_namespace(&w, &script, &[w.path("small").as_os_str(), MR.as_ref()])
            .output()
            .unwrap();
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{e}");
        e
    };
    let e = on_small_disk("-o out --tmp-dir \"$1/tmp\"");
    assert!(e.contains("No space left on device"), "{e}");
    assert!(e.contains("use --tmp-dir on a disk with more room"), "{e}");
    assert!(e.contains("small/tmp"), "{e}");
    assert!(!w.path("out").exists());
    // The output's disk full, the temp dir's not: the last step's parts
    // are written beside the output, and the hint says so.
    let e = on_small_disk("-o \"$1/out\" --tmp-dir scratch");
    assert!(e.contains("beside the output"), "{e}");
    assert!(!e.contains("--tmp-dir on a disk"), "{e}");
}

/// A full disk behind stdout is stdout's error, not a temporary part's (it
/// used to say `copying /tmp/mr-job-*/part-00000: No space left on device`
/// and blame --tmp-dir, with gigabytes free there).
#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_behind_stdout_is_named_as_stdout() {
    let w = Workdir::new();
    w.write("in.txt", text(2000, 50));
    // `mr ARGS -i in.txt` with stdout on /dev/full: its exit code and stderr.
    let to_full = |args: &[&str]| {
        let o = Command::new(MR)
            .args(args)
            .arg("-i")
            .arg(w.path("in.txt"))
            .current_dir(w.dir.path())
            .stdout(fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    // Map-only: its parts are copied to stdout.
    let (code, said) = to_full(&["run", "mr_grep", "-e", "w", "-q"]);
    assert_eq!(code, Some(1));
    assert!(
        said.contains("writing to standard output: No space left"),
        "{said}"
    );
    assert!(!said.contains("--tmp-dir"), "{said}");
    // --cat-output: the output is written and complete; the message says
    // so, and that only its copy on stdout failed.
    let (code, said) = to_full(&["run", "word_count", "-q", "--cat-output", "-o", "out"]);
    assert_eq!(code, Some(1));
    assert!(
        said.contains("is complete and in place; only printing it failed"),
        "{said}"
    );
    assert!(w.path("out/_SUCCESS").exists());
}

/// An output name that is not UTF-8 is refused before anything is written:
/// its lossy form would put the results in another directory (`caf\u{fffd}`).
#[test]
fn an_output_name_that_is_not_utf8_is_refused() {
    use std::os::unix::ffi::OsStrExt;
    let w = Workdir::new();
    w.write("in.txt", "a b\n");
    let o = Command::new(MR)
        .args(["run", "word_count", "-i", "in.txt", "-o"])
        .arg(std::ffi::OsStr::from_bytes(b"caf\xe9"))
        .current_dir(w.dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(r#"argument "caf\xE9" is not UTF-8"#),
        "{}",
        stderr(&o)
    );
    let mut left: Vec<String> = std::fs::read_dir(w.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["in.txt"]);
}

/// An output below a file (`-o notes.txt/out`) names the file: the message
/// was "creating notes.txt: File exists" (probe /tmp/probe-messy).
#[test]
fn an_output_below_a_file_names_the_file() {
    let w = Workdir::new();
    w.write("in.txt", "a b\n");
    w.write("notes.txt", "mine\n");
    let o = w.mr(&["run", "word_count", "-i", "in.txt", "-o", "notes.txt/a/out"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("below notes.txt, which is a file, not a directory"),
        "{}",
        stderr(&o)
    );
    assert_eq!(fs::read_to_string(w.path("notes.txt")).unwrap(), "mine\n");
}

/// A `--tmp-dir` in the output is refused before anything is made: the
/// output would hold the run's scratch, and the commit then blamed the
/// directory mr had made itself.
#[test]
fn a_tmp_dir_inside_the_output_is_refused_up_front() {
    let w = Workdir::new();
    w.write("in.txt", "a b\n");
    for (out, tmp) in [
        ("o1", "o1/tmp"),
        ("o2", "o2"),
        ("o3", "./o3/../o3/x/y"),
        ("o4", "nosuch/../o4/tmp"),
    ] {
        // `-r emulate` too: it ran the whole job, then refused at its
        // commit and kept the results hidden (probe /tmp/probe4-crash).
        for runner in ["local", "emulate"] {
            let o = w.mr(&[
                "run",
                "word_count",
                "-r",
                runner,
                "-i",
                "in.txt",
                "-o",
                out,
                "--tmp-dir",
                tmp,
            ]);
            assert!(!o.status.success());
            assert!(
                stderr(&o).contains("is inside the output directory"),
                "{runner}: {}",
                stderr(&o)
            );
            assert!(!w.path(out).exists(), "{runner} {out}");
            let hidden = std::fs::read_dir(w.dir.path()).unwrap().count();
            assert_eq!(hidden, 2, "{runner} {out}: only in.txt and _tmp are left");
        }
    }
    ok(w.mr(&[
        "run",
        "word_count",
        "-i",
        "in.txt",
        "-o",
        "o4",
        "--tmp-dir",
        "o4-tmp",
    ]));
}

/// `--report` inside the output, run after run with `--overwrite`: the
/// report an earlier run wrote there is part of the old output, replaced
/// with it, also by a run that writes no report or one of another name
/// (refused before: "holds files a job does not write: run.json").
/// Recognised by name and content: a user's JSON file, a report edited by
/// hand, or one of another output copied in, still keeps the output.
#[test]
fn a_report_kept_in_the_output_does_not_stop_the_next_overwrite() {
    let w = Workdir::new();
    w.write("in.txt", "a b a\n");
    let run = |extra: &[&str]| word_count_into(&w, "K", extra);
    ok(run(&["--report", "K/run.json"]));
    let first = fs::read_to_string(w.path("K/run.json")).unwrap();
    ok(run(&["--overwrite", "--report", "K/run.json"]));
    assert_ne!(fs::read_to_string(w.path("K/run.json")).unwrap(), first);
    ok(run(&["--overwrite", "--report", "K/_other.json"]));
    assert_eq!(
        names(&w.path("K")),
        ["_SUCCESS", "_other.json", "part-00000", "part-00001"]
    );
    ok(run(&["--overwrite"]));
    assert_eq!(
        names(&w.path("K")),
        ["_SUCCESS", "part-00000", "part-00001"]
    );

    // Not a report of this output: kept, and the output with it.
    ok(run(&["--overwrite", "--report", "K/run.json"]));
    let report = fs::read_to_string(w.path("K/run.json")).unwrap();
    ok(word_count_into(&w, "L", &["--report", "L/run.json"]));
    let of_l = fs::read_to_string(w.path("L/run.json")).unwrap();
    fs::remove_file(w.path("K/run.json")).unwrap();
    each_keeps_k(
        &w,
        [
            (
                "notes.json",
                "{\"job\": \"word_count\", \"ok\": true}\n".to_string(),
            ),
            (
                "run.json",
                report.replacen('{', "{\"reviewed\": \"yes\",", 1),
            ),
            ("run.txt", report.clone()),
            ("l.json", of_l),
        ],
        || run(&["--overwrite"]),
    );
}

/// A run killed (SIGKILL) while it wrote its report into its committed
/// output leaves the report's temporary file there: the same command again
/// was refused ("it holds files a job does not write: .run.json.tmp-..."),
/// a scheduler's retry failing until someone removed it (probe
/// /tmp/probe20-downstream repro 04). It is the output's own, as the
/// report is, for a run writing that report; a file so named for another
/// report, or not mr's pattern, still keeps the output.
#[test]
fn a_killed_report_writes_leftover_does_not_stop_the_rerun() {
    let w = Workdir::new();
    w.write("in.txt", "a b a\n");
    let run = |extra: &[&str]| word_count_into(&w, "K", extra);
    ok(run(&["--report", "K/run.json"]));
    w.write("K/.run.json.tmp-Ab3dE9", "{\"job\": \"word_co");
    ok(run(&["--overwrite", "--report", "K/run.json"]));
    assert_eq!(
        names(&w.path("K")),
        ["_SUCCESS", "part-00000", "part-00001", "run.json"]
    );
    let leftover = || "{\"job\": \"word_co".to_string();
    each_keeps_k(
        &w,
        [
            (".other.json.tmp-Ab3dE9", leftover()),
            (".run.json.tmp-notes1x", leftover()),
            (".run.json.tmp-Ab3dE9.bak", leftover()),
        ],
        || run(&["--overwrite", "--report", "K/run.json"]),
    );
}

/// Each of `files` (name, text), put alone in the finished output `K`,
/// keeps it: `overwrite` (a `--overwrite` run into `K`) fails naming it,
/// and nothing in `K` changes.
fn each_keeps_k<const N: usize>(
    w: &Workdir,
    files: [(&str, String); N],
    overwrite: impl Fn() -> std::process::Output,
) {
    for (name, text) in files {
        w.write(&format!("K/{name}"), &text);
        let before = snapshot(&w.path("K"));
        let o = overwrite();
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{name}: {e}");
        assert!(
            e.contains("it holds files a job does not write") && e.contains(name),
            "{name}: {e}"
        );
        assert_eq!(snapshot(&w.path("K")), before, "{name}: files changed");
        fs::remove_file(w.path(&format!("K/{name}"))).unwrap();
    }
}

/// `mr run word_count -q -i in.txt -o OUT EXTRA...` in `w`.
fn word_count_into(w: &Workdir, out: &str, extra: &[&str]) -> Output {
    let mut args = vec!["run", "word_count", "-q", "-i", "in.txt", "-o", out];
    args.extend_from_slice(extra);
    w.mr(&args)
}

/// mr's HTML report inside the output (`--report K/run.html`), as its JSON
/// one: part of the old output, replaced with it by the next `--overwrite`
/// (refused before: "it holds files a job does not write: run.html").
/// Recognised by the mark mr writes at its top (this output's name, the
/// page's length and CRC): a user's page, mr's page edited, or another
/// output's page copied in still keeps the output, and a FIFO so named is
/// not waited on.
#[test]
fn an_html_report_kept_in_the_output_does_not_stop_the_next_overwrite() {
    let w = Workdir::new();
    w.write("in.txt", "a b a\n");
    let run = |out: &str, extra: &[&str]| word_count_into(&w, out, extra);
    ok(run("K", &["--report", "K/run.html"]));
    ok(run("K", &["--overwrite", "--report", "K/run.html"]));
    ok(run("K", &["--overwrite", "--report", "K/_other.htm"]));
    assert_eq!(
        names(&w.path("K")),
        ["_SUCCESS", "_other.htm", "part-00000", "part-00001"]
    );
    ok(run("K", &["--overwrite"]));
    assert_eq!(
        names(&w.path("K")),
        ["_SUCCESS", "part-00000", "part-00001"]
    );

    ok(run("K", &["--overwrite", "--report", "K/run.html"]));
    let page = fs::read_to_string(w.path("K/run.html")).unwrap();
    ok(run("L", &["--report", "L/run.html"]));
    let of_l = fs::read_to_string(w.path("L/run.html")).unwrap();
    fs::remove_file(w.path("K/run.html")).unwrap();
    each_keeps_k(
        &w,
        [
            (
                "notes.html",
                "<!doctype html>\n<html><body>my notes on K</body></html>\n".to_string(),
            ),
            ("run.html", page.replacen("<h1>", "<h1>reviewed: ", 1)),
            ("run.txt", page.clone()),
            ("l.html", of_l),
        ],
        || run("K", &["--overwrite"]),
    );
    // A FIFO named like a report: not opened for reading (which would
    // wait for a writer), and it keeps the output.
    let fifo = w.path("K/run.html");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let o = run("K", &["--overwrite"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("run.html"), "{}", stderr(&o));
}

/// A failed `--overwrite` run leaves the previous output as it was: its
/// report, asked for inside that output, is not written there (it was, and
/// the next job over the output read it as a bad record).
#[test]
fn a_failed_run_writes_no_report_into_the_previous_output() {
    let w = Workdir::new();
    w.write("good.json", "{\"page_url\": \"/a\"}\n");
    w.write("bad.json", "{\"page_url\": \"/a\"}\nnot json\n");
    let run = |input: &str, extra: &[&str]| {
        let args = ["run", "url_views", "-q", "-i", input, "-o", "views"];
        w.mr(&[&args[..], extra].concat())
    };
    ok(run("good.json", &[]));
    let before = read_parts(&w.path("views"));
    let o = run("bad.json", &["--overwrite", "--report", "views/run.json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!w.path("views/run.json").exists(), "the report was added");
    assert!(
        stderr(&o).contains("the report was not written"),
        "{}",
        stderr(&o)
    );
    assert_eq!(read_parts(&w.path("views")), before);
    // Outside the output, a failed run's report is written.
    let o = run("bad.json", &["--overwrite", "--report", "failed.json"]);
    assert_eq!(o.status.code(), Some(1));
    let doc = fs::read_to_string(w.path("failed.json")).unwrap();
    assert!(
        doc.contains("\"ok\":false") || doc.contains("\"ok\": false"),
        "{doc}"
    );
}

/// `--report` never replaces the run's own data: an input file (given or
/// in a directory given), or a file the output holds (a part file that
/// `_SUCCESS` would vouch for). Each is refused before the run, and the
/// file is left as it was.
#[test]
fn a_report_never_replaces_an_input_or_a_part_of_the_output() {
    let w = Workdir::new();
    w.write("logs/in.txt", "a b a\n");
    w.write("in.txt", "c\n");
    ok(w.mr(&["run", "word_count", "-q", "-i", "logs", "-o", "K"]));
    let part = fs::read_to_string(w.path("K/part-00000")).unwrap();
    let run = |input: &str, report: &str| {
        let args = ["-i", input, "-o", "K", "--overwrite", "--report", report];
        w.mr(&[&["run", "word_count", "-q"][..], &args].concat())
    };
    for (input, report) in [
        ("in.txt", "in.txt"),
        ("logs", "logs/in.txt"),
        ("logs", "K/part-00000"),
        ("logs", "K/_SUCCESS"),
        // The output directory itself; a new file in an input directory
        // (the next run would read it as input).
        ("logs", "K"),
        ("logs", "logs/run.json"),
    ] {
        let o = run(input, report);
        assert!(!o.status.success(), "--report {report} was written");
        assert!(stderr(&o).contains("--report"), "{}", stderr(&o));
    }
    assert_eq!(fs::read_to_string(w.path("in.txt")).unwrap(), "c\n");
    assert_eq!(
        fs::read_to_string(w.path("logs/in.txt")).unwrap(),
        "a b a\n"
    );
    assert_eq!(fs::read_to_string(w.path("K/part-00000")).unwrap(), part);
    assert!(!w.path("logs/run.json").exists());
    // A name readers skip in an input directory or beside the parts; a new
    // file in a directory that is no input.
    for (input, report) in [
        ("logs", "logs/_run.json"),
        ("in.txt", "logs/run.json"),
        // Last: later runs to K with other reports would keep K for it.
        ("logs", "K/_run.json"),
    ] {
        let o = run(input, report);
        assert!(o.status.success(), "--report {report}: {}", stderr(&o));
    }
}

/// Nor a file the run reads besides its input: a dictionary store's
/// column (its only copy of those ids), anything new in the store (read
/// as a column by the next run), the `--dictionaries` a table decodes
/// with, a `--files` file or a job's file option, a config file. Each was
/// overwritten with exit 0 (probe /tmp/probe25 repro 02).
#[test]
fn a_report_never_replaces_a_file_the_run_reads() {
    let w = Workdir::new();
    w.write("logs/a.jsonl", "{\"page_url\":\"/a\",\"username\":\"u\"}\n");
    w.write("look up.txt", "x\n");
    w.write("mr.toml", "[runners.local]\njobs = 1\n");
    let table = |more: &[&str]| {
        let args = [
            "run",
            "events_table",
            "-q",
            "-i",
            "logs",
            "--output-format",
            "parquet",
        ];
        w.mr(&[&args[..], more].concat())
    };
    ok(table(&["-o", "t1", "--dictionary-store", "ids"]));
    let store = fs::read(w.path("ids/page_url.jsonl")).unwrap();
    let kept = fs::read(w.path("t1/_dictionaries/page_url.jsonl")).unwrap();
    for (more, says) in [
        (
            &[
                "-o",
                "t2",
                "--dictionary-store",
                "ids",
                "--report",
                "ids/page_url.jsonl",
            ][..],
            "is the dictionary store",
        ),
        (
            &[
                "-o",
                "t2",
                "--dictionary-store",
                "ids",
                "--report",
                "ids/run.jsonl",
            ],
            "the report would be inside it",
        ),
        (
            &[
                "-o",
                "t2",
                "--dictionaries",
                "t1",
                "--report",
                "t1/_dictionaries/page_url.jsonl",
            ],
            "is the --dictionaries directory",
        ),
        (
            &["-o", "t2", "-c", "mr.toml", "--report", "mr.toml"],
            "is a config file",
        ),
    ] {
        let o = table(more);
        assert_eq!(o.status.code(), Some(1), "{more:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{more:?}: {}", stderr(&o));
        assert!(!w.path("t2").exists());
    }
    // A job's files and the config file $MR_CONF names, each refused.
    for (job, file_flag, env, says) in [
        (
            "word_count",
            "--files",
            None,
            "is the job's file look up.txt",
        ),
        (
            "option_kinds",
            "--lookup",
            None,
            "is the job's file look up.txt",
        ),
        (
            "word_count",
            "",
            Some("mr.toml"),
            "the config file $MR_CONF names",
        ),
    ] {
        let report = env.unwrap_or("look up.txt");
        let mut args = vec!["run", job, "-q", "-i", "logs", "--report", report];
        if !file_flag.is_empty() {
            args.extend([file_flag, "look up.txt"]);
        }
        let env: Vec<(&str, &str)> = env.map(|e| ("MR_CONF", e)).into_iter().collect();
        let o = w.mr_env(&args, &env);
        assert_eq!(o.status.code(), Some(1), "{job}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{job}: {}", stderr(&o));
    }
    assert_eq!(fs::read_to_string(w.path("look up.txt")).unwrap(), "x\n");
    assert_eq!(fs::read(w.path("ids/page_url.jsonl")).unwrap(), store);
    assert!(!w.path("ids/run.jsonl").exists());
    assert_eq!(
        fs::read(w.path("t1/_dictionaries/page_url.jsonl")).unwrap(),
        kept
    );
    assert_eq!(
        fs::read_to_string(w.path("mr.toml")).unwrap(),
        "[runners.local]\njobs = 1\n"
    );
}

/// `--report /dev/stdout > results.txt` and `--report /dev/stderr
/// 2>>job.log`: the report goes through the stream, after what was
/// written there (the results, yesterday's log). Renamed over the file the
/// stream is redirected to, it replaced it, results and log lost, exit 0.
/// A FIFO or `/dev/null` is written as it is, not replaced; the report
/// file itself is created as any file is (0666 less the umask).
#[test]
fn a_report_to_a_standard_stream_is_written_through_it() {
    let w = Workdir::new();
    w.write("in.txt", "a b a\n");
    let run = |report: &str, stdout: fs::File, stderr: fs::File, out: Option<&str>| {
        let mut args = vec![
            "run",
            "word_count",
            "-q",
            "-i",
            "in.txt",
            "--report",
            report,
        ];
        args.extend(out.map(|o| ["-o", o]).into_iter().flatten());
        let status = Command::new(MR)
            .current_dir(w.path(""))
            .args(&args)
            .stdout(stdout)
            .stderr(stderr)
            .status()
            .unwrap();
        assert!(status.success(), "--report {report}");
    };
    let file = |name: &str| fs::File::create(w.path(name)).unwrap();
    let append = |name: &str| {
        fs::OpenOptions::new()
            .append(true)
            .open(w.path(name))
            .unwrap()
    };
    for report in ["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1", "results.txt"] {
        run(report, file("results.txt"), file("err.txt"), None);
        let got = fs::read_to_string(w.path("results.txt")).unwrap();
        assert!(got.starts_with("\"a\"\t2\n\"b\"\t1\n{"), "{report}: {got}");
        let doc: serde_json::Value = serde_json::from_str(&got[12..]).unwrap();
        assert_eq!(doc["ok"], true, "{report}");
    }
    w.write("job.log", "yesterday: ok\n");
    run(
        "/dev/stderr",
        file("results.txt"),
        append("job.log"),
        Some("K"),
    );
    let log = fs::read_to_string(w.path("job.log")).unwrap();
    assert!(log.starts_with("yesterday: ok\n{"), "{log}");
    assert!(w.path("K/_SUCCESS").exists());
    // A FIFO read by another process, and /dev/null: written, not replaced.
    let fifo = w.path("report.fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let reader = std::thread::spawn(move || fs::read_to_string(fifo).unwrap());
    run("report.fifo", file("results.txt"), file("err.txt"), None);
    assert!(reader.join().unwrap().contains("\"ok\": true"));
    run("/dev/null", file("results.txt"), file("err.txt"), None);
    assert!(
        Path::new("/dev/null")
            .metadata()
            .unwrap()
            .file_type()
            .is_char_device()
    );
    // A report file under umask 077 is the user's alone, as the parts are.
    let o = sh_in(
        &w,
        &format!("umask 077; {MR} run word_count -q -i in.txt -o U --report r.json"),
    );
    ok(o);
    use std::os::unix::fs::PermissionsExt;
    for f in ["r.json", "U/part-00000"] {
        let mode = fs::metadata(w.path(f)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
}

/// A temp dir on another file system than the output (`/tmp` a tmpfs, the
/// output on disk: the usual layout) is no error for a job whose parts are
/// made in the temp dir (categorical columns): they are copied in, not
/// renamed (before: `Invalid cross-device link`, the run failed).
#[test]
fn a_temp_dir_on_another_file_system_is_no_error() {
    use std::os::unix::fs::MetadataExt;
    let w = Workdir::new();
    let shm = Path::new("/dev/shm");
    let other_fs = shm
        .metadata()
        .is_ok_and(|m| m.dev() != w.dir.path().metadata().unwrap().dev());
    let Some(tmp) = other_fs.then(|| tempfile::tempdir_in(shm).ok()).flatten() else {
        eprintln!("skipped: no /dev/shm on another file system to put a temp dir on");
        return;
    };
    w.write(
        "in.jsonl",
        "{\"page_url\": \"/a\", \"user_id\": \"u1\", \"time\": 1}\n",
    );
    let tmp_dir = tmp.path().to_str().unwrap();
    ok(w.mr(&[
        "run",
        "events_table",
        "-q",
        "-i",
        "in.jsonl",
        "-o",
        "T",
        "--tmp-dir",
        tmp_dir,
    ]));
    assert!(w.path("T/_SUCCESS").exists());
    assert!(read_parts(&w.path("T")).contains("\"page_url\":0"));
    assert_eq!(
        fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "temp files left"
    );
}

/// A `$TMPDIR` that is missing or no directory (a scheduler's per-task
/// setting gone wrong) is an error that names it; it is not created (a
/// scratch disk not mounted would fill the root file system).
#[test]
fn a_bad_tmpdir_is_named_and_not_made() {
    let w = Workdir::new();
    w.write("in.txt", "a\n");
    for tmpdir in ["in.txt", "no/such/dir"] {
        let t = w.path(tmpdir).display().to_string();
        let o = w.mr_env(
            &["run", "word_count", "-q", "-i", "in.txt"],
            &[("TMPDIR", &t)],
        );
        assert_eq!(o.status.code(), Some(1), "{tmpdir}");
        assert!(stderr(&o).contains("($TMPDIR)"), "{}", stderr(&o));
    }
    assert!(!w.path("no").exists());
    // An empty TMPDIR is none: /tmp, as for mktemp and Python's tempfile.
    ok(w.mr_env(
        &["run", "word_count", "-q", "-i", "in.txt"],
        &[("TMPDIR", "")],
    ));
}

/// A power cut cannot be had in a test; what makes an output survive one
/// can be seen: `strace` shows every part file and `_SUCCESS` flushed to
/// disk (`fsync`) before the rename that puts the output in place, and the
/// directory holding it flushed after, before the old output is removed.
#[test]
fn the_output_is_on_disk_before_it_is_put_in_place() {
    let w = Workdir::new();
    if !common::peer_available("strace", Command::new("strace").arg("-V")) {
        return;
    }
    let traced = Command::new("strace")
        .args(["-o", "/dev/null", "true"])
        .status();
    if !traced.is_ok_and(|s| s.success()) {
        // Installed, but this sandbox does not allow ptrace(2).
        common::skip_note("strace cannot trace here (ptrace not permitted)");
        return;
    }
    w.write("in.txt", text(20_000, 3_000));
    ok(w.mr(&["run", "word_count", "-i", "in.txt", "-o", "out"]));
    let trace = w.path("trace.txt");
    let o = Command::new("strace")
        .args([
            "-f",
            "-y",
            "-e",
            "trace=fsync,rename,renameat2,unlink,unlinkat",
            "-o",
        ])
        .arg(&trace)
        .args([
            MR,
            "run",
            "word_count",
            "-i",
            "in.txt",
            "-o",
            "out",
            "--overwrite",
        ])
        .args(["--partitions", "3", "-q"])
        .current_dir(w.dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let trace = fs::read_to_string(trace).unwrap();
    let lines: Vec<&str> = trace.lines().collect();
    let at = |what: &dyn Fn(&str) -> bool| lines.iter().position(|l| what(l));
    let swap = at(&|l| l.contains("renameat2(") && l.contains("RENAME_EXCHANGE"))
        .unwrap_or_else(|| panic!("no exchange in\n{trace}"));
    for part in ["part-00000", "part-00001", "part-00002", "_SUCCESS"] {
        let synced = at(&|l| l.contains("fsync(") && l.contains(&format!("/{part}>")));
        assert!(
            synced.is_some_and(|i| i < swap),
            "{part} not flushed before the swap:\n{trace}"
        );
    }
    let parent = w.dir.path().canonicalize().unwrap();
    let parent_synced =
        at(&|l| l.contains("fsync(") && l.contains(&format!("<{}>", parent.display())));
    let old_removed = at(&|l| l.contains("unlink") && l.contains("_SUCCESS"))
        .unwrap_or_else(|| panic!("the old output's removal is not in\n{trace}"));
    assert!(
        parent_synced.is_some_and(|i| swap < i && i < old_removed),
        "the swap is not flushed before the old output is removed:\n{trace}"
    );
    assert_eq!(
        read_parts(&w.path("out")).lines().count(),
        3_000 + 97 + 2,
        "{}",
        read_parts(&w.path("out"))
    );
}

/// The report of another output of the same name (`a/out`'s, kept by the
/// user in `b/out`) is the user's file: `--overwrite` of `b/out` keeps the
/// output, and the file (probe /tmp/probe-new, repro 10: it was removed
/// with `b/out`, the reports being told apart by the output's last name).
#[test]
fn a_report_of_another_output_of_the_same_name_keeps_the_output() {
    let w = Workdir::new();
    w.write("in.txt", "a b a\n");
    let run = |out: &str, extra: &[&str]| word_count_into(&w, out, extra);
    ok(run("b/out", &[]));
    // Each report as a/out's run wrote it, copied into b/out.
    ok(run("a/out", &["--report", "a/out/run.html"]));
    fs::copy(w.path("a/out/run.html"), w.path("b/out/run.html")).unwrap();
    ok(run(
        "a/out",
        &["--overwrite", "--report", "a/out/_report.json"],
    ));
    fs::copy(w.path("a/out/_report.json"), w.path("b/out/_report.json")).unwrap();
    let o = run("b/out", &["--overwrite"]);
    assert!(!o.status.success(), "{}", stderr(&o));
    assert_eq!(
        names(&w.path("b/out")),
        [
            "_SUCCESS",
            "_report.json",
            "part-00000",
            "part-00001",
            "run.html"
        ]
    );
    // a/out's own reports still let a/out be replaced.
    ok(run("a/out", &["--overwrite"]));
    assert_eq!(
        names(&w.path("a/out")),
        ["_SUCCESS", "part-00000", "part-00001"]
    );
}

/// With no `--output`, skipped records have only stderr: they are written
/// there before the results, so stdout closed early by its reader (`| head
/// -1`, exit 0) no longer loses them, and a stderr whose reader went away
/// fails the run instead of passing for a closed stdout (exit 0, every
/// skipped record lost: probe /tmp/probe10-safety repro 01).
#[test]
fn skipped_records_printed_to_stderr_are_never_lost() {
    let w = Workdir::new();
    let mut lines = String::new();
    for i in 0..20_000 {
        lines.push_str(&format!("{{\"page_url\": \"/p{}\"}}\n", i % 300));
    }
    lines.push_str("{\"page_url\": \"/cut\n");
    w.write("in.jsonl", &lines);
    let spawn = |stdout: Stdio, stderr: Stdio| {
        Command::new(MR)
            .args([
                "run",
                "url_views",
                "-q",
                "--skip-bad-records",
                "-i",
                "in.jsonl",
            ])
            .current_dir(w.dir.path())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap()
    };
    // stdout's reader gone before the first result: exit 0, and the
    // skipped record still on stderr.
    let mut child = spawn(Stdio::piped(), Stdio::piped());
    drop(child.stdout.take());
    let err = common::child_stderr(&mut child);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}: {err}");
    assert!(
        err.contains("1 bad record skipped") && err.contains("\"/cut"),
        "{err}"
    );
    // stderr's reader gone: the skipped record cannot be kept, the run fails.
    let mut child = spawn(Stdio::null(), Stdio::piped());
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "a run that lost its skipped records exited 0"
    );
}
