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
