//! A host shared by many users, and inputs named twice (probes
//! /tmp/probe-shared and /tmp/probe-streams, 2026-12-05): the real `mr`
//! binary against links and FIFOs planted at the names it writes, files
//! rewritten under another umask, and one stream given as two inputs. Each
//! test fails on the mr before the fix.

mod common;

use common::{Workdir, ok, read_parts, stderr};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Another user's uid, for links and files planted by "another user".
const OTHER: u32 = 54321;

/// A symlink at `at` to `to`, owned by [`OTHER`]; `false` (said) when this
/// user cannot give a link away (only root can).
fn others_symlink(to: &Path, at: &Path) -> bool {
    if !is_root() {
        common::skip_note("needs root to make a link owned by another user");
        return false;
    }
    std::os::unix::fs::symlink(to, at).unwrap();
    std::os::unix::fs::lchown(at, Some(OTHER), Some(OTHER)).unwrap();
    true
}

/// The run's stderr says `text`.
#[track_caller]
fn says(o: &std::process::Output, text: &str) {
    assert!(stderr(o).contains(text), "{}", stderr(o));
}

/// A teammate's symlink at the output's lock name (`.OUT.mr-lock`) in a
/// shared directory: before, the run truncated and wrote the file it named.
#[test]
fn a_symlink_at_the_output_lock_is_refused_not_written_through() {
    let w = Workdir::new();
    w.write("in.txt", "the quick brown fox\n");
    let notes = w.write("notes.txt", "private notes\n");
    fs::create_dir(w.path("team")).unwrap();
    std::os::unix::fs::symlink(&notes, w.path("team/.out.mr-lock")).unwrap();
    let o = w.mr(&["run", "word_count", "-q", "-i", "in.txt", "-o", "team/out"]);
    assert!(!o.status.success());
    says(&o, "symbolic link");
    assert_eq!(fs::read_to_string(&notes).unwrap(), "private notes\n");
    assert!(!w.path("team/out").exists());
}

/// `mr run word_count -q -i in.txt --report run.json` in `w`.
fn report_run(w: &Workdir) -> std::process::Output {
    w.mr(&[
        "run",
        "word_count",
        "-q",
        "-i",
        "in.txt",
        "--report",
        "run.json",
    ])
}

/// `--report PATH` where another user put a symlink: before, mr resolved
/// it and replaced the file it named with the report.
#[test]
fn a_report_path_that_is_another_users_symlink_is_refused() {
    let w = Workdir::new();
    w.write("in.txt", "a b\n");
    let thesis = w.write("thesis.tex", "chapter 1\n");
    let link = w.path("run.json");
    if !others_symlink(&thesis, &link) {
        return;
    }
    let o = report_run(&w);
    assert!(!o.status.success());
    says(&o, "owned by another user (uid 54321)");
    assert_eq!(fs::read_to_string(&thesis).unwrap(), "chapter 1\n");
    // One's own link is followed, as before.
    fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(&thesis, &link).unwrap();
    ok(report_run(&w));
    assert!(fs::read_to_string(&thesis).unwrap().starts_with('{'));
}

/// A report made private stays private when a run replaces it.
#[test]
fn a_replaced_report_keeps_its_mode() {
    let w = Workdir::new();
    w.write("in.txt", "a b\n");
    let report = w.path("run.json");
    for _ in 0..2 {
        ok(report_run(&w));
        fs::set_permissions(&report, fs::Permissions::from_mode(0o600)).unwrap();
    }
    ok(report_run(&w));
    assert_eq!(fs::metadata(&report).unwrap().mode() & 0o777, 0o600);
    let leftovers: Vec<_> = fs::read_dir(w.path("."))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// `--overwrite` of an output shared with a group (`chgrp -R`): the new
/// part files are the group's too, not only the directory.
#[test]
fn overwrite_gives_the_new_files_the_old_outputs_group() {
    if !is_root() {
        common::skip_note("needs root to give files a group of another");
        return;
    }
    let w = Workdir::new();
    w.write("in.txt", "a b\n");
    ok(w.mr(&["run", "word_count", "-q", "-i", "in.txt", "-o", "out"]));
    for e in fs::read_dir(w.path("out")).unwrap().flatten() {
        std::os::unix::fs::chown(e.path(), None, Some(OTHER)).unwrap();
    }
    std::os::unix::fs::chown(w.path("out"), None, Some(OTHER)).unwrap();
    ok(w.mr(&[
        "run",
        "word_count",
        "-q",
        "-i",
        "in.txt",
        "-o",
        "out",
        "--overwrite",
    ]));
    for e in fs::read_dir(w.path("out")).unwrap().flatten() {
        assert_eq!(e.metadata().unwrap().gid(), OTHER, "{}", e.path().display());
    }
}

/// Root's `--overwrite` of a user's output (sudo, a root cron job): the new
/// directory had the user's owner but its `_dictionaries/` (events_table
/// always writes one) stayed root's, so the user could neither remove it
/// nor `--overwrite` it again (probe /tmp/probe4-env repro 04).
#[test]
fn roots_overwrite_of_a_users_output_gives_every_file_the_owner() {
    if !is_root() {
        common::skip_note("needs root to give files away");
        return;
    }
    let w = Workdir::new();
    ok(w.mr(&[
        "gen", "clicklog", "--size", "50KB", "--seed", "3", "--output", "logs",
    ]));
    let run = ["run", "events_table", "-q", "-i", "logs", "-o", "out"];
    ok(w.mr(&run));
    let chown_all = |dir: &Path| {
        let mut todo = vec![dir.to_path_buf()];
        while let Some(d) = todo.pop() {
            std::os::unix::fs::lchown(&d, Some(OTHER), Some(OTHER)).unwrap();
            if d.is_dir() {
                todo.extend(fs::read_dir(&d).unwrap().map(|e| e.unwrap().path()));
            }
        }
    };
    chown_all(&w.path("out"));
    ok(w.mr(&[&run[..], &["--overwrite"]].concat()));
    let mut todo = vec![w.path("out")];
    let mut seen = 0;
    while let Some(d) = todo.pop() {
        let m = fs::symlink_metadata(&d).unwrap();
        assert_eq!((m.uid(), m.gid()), (OTHER, OTHER), "{}", d.display());
        seen += 1;
        if m.is_dir() {
            todo.extend(fs::read_dir(&d).unwrap().map(|e| e.unwrap().path()));
        }
    }
    assert!(w.path("out/_dictionaries").is_dir() && seen > 3, "{seen}");
}

/// `mr ARGS` run as the user [`OTHER`] (by `setpriv`, so only as root), in
/// `w`'s directory, which it may enter; `None` (said) where that cannot be.
fn mr_as_other(w: &Workdir, args: &[&str]) -> Option<std::process::Output> {
    let setpriv = Path::new("/usr/bin/setpriv");
    if !is_root() || !setpriv.exists() {
        common::skip_note("needs root and setpriv to run mr as another user");
        return None;
    }
    fs::set_permissions(w.dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let tmp = w.path("_tmp_other");
    fs::create_dir_all(&tmp).unwrap();
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o1777)).unwrap();
    let o = std::process::Command::new(setpriv)
        .args(["--reuid", &OTHER.to_string(), "--regid", &OTHER.to_string()])
        .arg("--clear-groups")
        .arg(common::MR)
        .args(args)
        .current_dir(w.dir.path())
        .env("TMPDIR", &tmp)
        .env("HOME", &tmp)
        .output()
        .unwrap();
    if stderr(&o).contains("Permission denied") && stderr(&o).contains("setpriv") {
        common::skip_note("the mr binary is not reachable by another user here");
        return None;
    }
    Some(o)
}

/// A file that exists but that the user may not reach (inside a 0700
/// directory of another's) was said to be missing: "does not exist" for a
/// config file, "no such file" for `--files`, "no such directory" for
/// `--dictionaries` (probe /tmp/probe4-env repro 02). Now: permission
/// denied, with the path.
#[test]
fn a_file_out_of_reach_is_not_said_to_be_missing() {
    let w = Workdir::new();
    w.write("in.txt", "a b\n");
    w.write("priv/mr.toml", "[runners.local]\njobs = 1\n");
    w.write("priv/lookup.tsv", "a\tb\n");
    fs::create_dir_all(w.path("priv/day1/_dictionaries")).unwrap();
    fs::set_permissions(w.path("priv"), fs::Permissions::from_mode(0o700)).unwrap();
    let cases: [&[&str]; 3] = [
        &[
            "run",
            "word_count",
            "-q",
            "-i",
            "in.txt",
            "-c",
            "priv/mr.toml",
        ],
        &[
            "run",
            "word_count",
            "-q",
            "-i",
            "in.txt",
            "--files",
            "priv/lookup.tsv",
        ],
        &[
            "run",
            "events_table",
            "-q",
            "-i",
            "in.txt",
            "--dictionaries",
            "priv/day1",
            "-o",
            "mine/day2",
        ],
    ];
    fs::create_dir(w.path("mine")).unwrap();
    fs::set_permissions(w.path("mine"), fs::Permissions::from_mode(0o777)).unwrap();
    for args in cases {
        let Some(o) = mr_as_other(&w, args) else {
            return;
        };
        let e = stderr(&o);
        assert!(!o.status.success(), "{args:?}: {e}");
        assert!(
            e.contains("Permission denied") && e.contains("priv/"),
            "{args:?}: {e}"
        );
        assert!(
            !e.contains("does not exist") && !e.contains("no such"),
            "{args:?}: {e}"
        );
    }
}

/// An output whose parent the user may not write, the output itself
/// absent: the error offered `-o PARENT/OUT/NAME`, inside the very
/// directory that could not be made (probe /tmp/probe4-env repro 03).
#[test]
fn an_unwritable_parent_does_not_offer_an_output_inside_the_missing_one() {
    let w = Workdir::new();
    w.write("in.txt", "a b\n");
    fs::create_dir(w.path("ro")).unwrap();
    fs::set_permissions(w.path("ro"), fs::Permissions::from_mode(0o555)).unwrap();
    let Some(o) = mr_as_other(
        &w,
        &["run", "word_count", "-q", "-i", "in.txt", "-o", "ro/out"],
    ) else {
        return;
    };
    let e = stderr(&o);
    assert!(e.contains("cannot write beside the output"), "{e}");
    assert!(!e.contains("ro/out/NAME"), "{e}");
}

/// `--overwrite` of the user's own output whose `_bad_records/` they made
/// unreadable (mode 000): the refusal said the output itself could not be
/// listed (probe /tmp/probe4-env repro 06); it names the directory now.
#[test]
fn an_unlistable_directory_inside_an_output_is_named() {
    let w = Workdir::new();
    w.write("mine/in.jsonl", "{\"page_url\": \"/a\"}\nnot json\n");
    std::os::unix::fs::chown(w.path("mine"), Some(OTHER), Some(OTHER)).unwrap_or(());
    let run = [
        "run",
        "url_views",
        "-q",
        "-i",
        "mine/in.jsonl",
        "-o",
        "mine/out",
    ];
    let Some(o) = mr_as_other(&w, &[&run[..], &["--skip-bad-records"]].concat()) else {
        return;
    };
    assert!(o.status.success(), "{}", stderr(&o));
    fs::set_permissions(
        w.path("mine/out/_bad_records"),
        fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    let again = [&run[..], &["--skip-bad-records", "--overwrite"]].concat();
    let o = mr_as_other(&w, &again).unwrap();
    let e = stderr(&o);
    assert!(!o.status.success(), "{e}");
    assert!(
        e.contains("cannot list its _bad_records: Permission denied"),
        "{e}"
    );
    assert!(w.path("mine/out/part-00000").exists());
}

/// The same pipe given as two inputs: before, both read it at once, each
/// some of its lines cut where the reads split (wrong counts, exit 0).
#[test]
fn one_stream_named_twice_is_read_once() {
    let w = Workdir::new();
    let text: String = (0..20_000).map(|i| format!("w{} x\n", i % 101)).collect();
    let once = ok(w.mr_stdin(
        &["run", "word_count", "-q", "-i", "-"],
        Some(text.as_bytes()),
    ));
    for (twice, said) in [
        (
            ["/dev/stdin", "-"],
            "skipped -: the same stream as /dev/stdin",
        ),
        (["/dev/stdin", "/dev/stdin"], "/dev/stdin is listed twice"),
    ] {
        let o = ok(w.mr_stdin(
            &["run", "word_count", "-q", "-i", twice[0], "-i", twice[1]],
            Some(text.as_bytes()),
        ));
        assert_eq!(o.stdout, once.stdout, "-i {} -i {}", twice[0], twice[1]);
        says(&o, said);
    }
}

/// `cat a.log b.gz | mr run ...` reads the gzip bytes as text: said.
#[test]
fn gzip_bytes_inside_a_text_input_are_warned_of() {
    let w = Workdir::new();
    let mut mixed = b"hello world\n".to_vec();
    {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"x y\n").unwrap();
        mixed.extend(gz.finish().unwrap());
    }
    let o = ok(w.mr_stdin(&["run", "word_count", "-q"], Some(&mixed)));
    says(&o, "starts as a gzip file does (bytes 1f 8b 08)");
}

/// `-o file:/abs` and `-o file://localhost/abs` are local paths, as they
/// are for inputs: before, they were made under the current directory.
#[test]
fn file_uris_as_outputs_are_local_paths() {
    let w = Workdir::new();
    w.write("in.txt", "a b\n");
    let abs = w.path("out1");
    for (i, uri) in [
        format!("file:{}", abs.display()),
        format!("file://localhost{}1", abs.display()),
    ]
    .iter()
    .enumerate()
    {
        ok(w.mr(&["run", "word_count", "-q", "-i", "in.txt", "-o", uri]));
        let out = if i == 0 { abs.clone() } else { w.path("out11") };
        assert_eq!(read_parts(&out), "\"a\"\t1\n\"b\"\t1\n", "{uri}");
    }
    assert!(!w.path("file:").exists() && !w.path("localhost").exists());
}

/// A directory with a hidden name in an input directory is skipped, as
/// Hadoop does, and said: before, its files were left out silently.
#[test]
fn a_hidden_directory_of_inputs_is_said() {
    let w = Workdir::new();
    w.write("logs/_2024-01/day1.log", "old words\n");
    w.write("logs/2024-02/day1.log", "new words\n");
    let o = ok(w.mr(&["run", "word_count", "-i", "logs"]));
    says(
        &o,
        "skipped 1 file or directory whose name starts with _ or .",
    );
}

/// Stdin redirected from a file, already partly read, is not that file:
/// both are read (the dedup of `-i - -i b < b` lost b's first line).
#[test]
fn stdin_partly_read_from_a_file_is_not_taken_for_it() {
    let w = Workdir::new();
    w.write("b", "one\ntwo\n");
    let o = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "(read l; {} run word_count -q -i - -i b) < b",
            common::MR
        ))
        .current_dir(w.dir.path())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "\"one\"\t1\n\"two\"\t2\n"
    );
}

/// `mr gen --output DIR` where another user put a symlink: before, the
/// part files of the directory it named were replaced.
#[test]
fn gen_refuses_an_output_that_is_another_users_symlink() {
    let w = Workdir::new();
    let real = w.write("logs/part-00000.jsonl", "{\"real\": 1}\n");
    if !others_symlink(&w.path("logs"), &w.path("sample")) {
        return;
    }
    let o = w.mr(&["gen", "clicklog", "--size", "10KB", "--output", "sample"]);
    assert!(!o.status.success());
    says(&o, "owned by another user");
    assert_eq!(fs::read_to_string(&real).unwrap(), "{\"real\": 1}\n");
}
