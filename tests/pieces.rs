//! A compressed file or stdin cut into pieces, each parsed by a map task of
//! its own (`--cut-streams`): the same results, and the same line numbers in
//! errors and bad records, as one task reading the whole stream.

mod common;

use common::*;
use std::fs;
use std::path::Path;
use std::process::Output;

/// Text of `lines` lines, deterministic.
fn text(lines: usize) -> String {
    (0..lines)
        .map(|i| format!("w{} x{} Common\n", i % 977, (i * 7919) % 1013))
        .collect()
}

/// The pieces the map tasks of a run's report (JSON) read.
fn pieces(report: &Path) -> usize {
    let r: serde_json::Value = serde_json::from_slice(&fs::read(report).unwrap()).unwrap();
    r["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t.get("piece").is_some())
        .count()
}

/// Every bad record kept under `out`, whatever the tasks that kept them.
fn bad_records(out: &Path) -> String {
    let mut files: Vec<_> = fs::read_dir(out.join("_bad_records"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| fs::read_to_string(p).unwrap())
        .collect()
}

/// `mr run JOB -i INPUT` with 3 workers and pieces of 1 MiB, cut always,
/// its report in `report`.
fn run_cut(w: &Workdir, job: &str, input: &str, report: &str, more: &[&str]) -> Output {
    let mut args = vec![
        "run",
        job,
        "-i",
        input,
        "-j",
        "3",
        "--chunksize",
        "1MB",
        "--cut-streams",
        "always",
        "--report",
        report,
    ];
    args.extend_from_slice(more);
    w.mr(&args)
}

#[test]
fn a_gzip_file_cut_into_pieces_counts_as_one_task_does() {
    let w = Workdir::new();
    w.write_gz("in/a.txt.gz", text(200_000).as_bytes());
    let cut = ok(run_cut(&w, "word_count", "in", "r.json", &[]));
    let whole = ok(w.mr(&["run", "word_count", "-i", "in", "--cut-streams", "never"]));
    // Stdout is sorted by key, whatever the partitions.
    assert_eq!(stdout(&cut), stdout(&whole));
    assert!(stdout(&cut).contains("\"common\"\t200000\n"));
    assert!(pieces(&w.path("r.json")) >= 2, "not cut");
}

#[test]
fn stdin_cut_into_pieces_counts_as_one_task_does() {
    let w = Workdir::new();
    let t = text(200_000);
    let gz = fs::read(w.write_gz("a.gz", t.as_bytes())).unwrap();
    let whole = ok(w.mr(&["run", "word_count", "-i", "a.gz"]));
    for (name, data) in [("gzip", gz.as_slice()), ("plain", t.as_bytes())] {
        let report = format!("{name}.json");
        let args = [
            "run",
            "word_count",
            "-i",
            "-",
            "-j",
            "2",
            "--chunksize",
            "1MB",
            "--cut-streams",
            "always",
            "--report",
            &report,
        ];
        let cut = ok(w.mr_stdin(&args, Some(data)));
        assert_eq!(stdout(&cut), stdout(&whole), "{name}");
        assert!(pieces(&w.path(&report)) >= 2, "{name}: not cut");
    }
}

/// A reducer step (secondary sort, sorted runs per piece) over generated
/// clicklogs in one gzip file.
#[test]
fn a_reducer_step_over_pieces_gives_the_same_output() {
    let w = Workdir::new();
    ok(w.mr(&[
        "gen",
        "clicklog",
        "--size",
        "3000000",
        "--seed",
        "5",
        "--files",
        "1",
        "--gz-files",
        "1",
        "--output",
        "logs",
    ]));
    let cut = ok(run_cut(
        &w,
        "video_tagging",
        "logs",
        "r.json",
        &["-o", "cut"],
    ));
    ok(w.mr(&[
        "run",
        "video_tagging",
        "-i",
        "logs",
        "-o",
        "whole",
        "-j",
        "3",
        "--cut-streams",
        "never",
    ]));
    assert!(pieces(&w.path("r.json")) >= 2, "not cut: {}", stderr(&cut));
    assert_eq!(read_parts(&w.path("cut")), read_parts(&w.path("whole")));
}

#[test]
fn a_bad_line_in_a_later_piece_is_named_by_its_line() {
    let w = Workdir::new();
    let pad = "x".repeat(40);
    let mut lines: Vec<String> = (0..60_000)
        .map(|i| format!("{{\"page_url\": \"/p{}\", \"pad\": \"{pad}\"}}", i % 50))
        .collect();
    lines[45_000] = "{\"page_url\": broken".into();
    w.write_gz("in/e.json.gz", (lines.join("\n") + "\n").as_bytes());
    let o = run_cut(&w, "url_views", "in", "r.json", &["-o", "out"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("in/e.json.gz:45001"), "{}", stderr(&o));
    assert!(!w.path("out").exists());
    let o = ok(run_cut(
        &w,
        "url_views",
        "in",
        "r.json",
        &["-o", "out", "--skip-bad-records"],
    ));
    assert!(pieces(&w.path("r.json")) >= 3, "not cut");
    let kept = bad_records(&w.path("out"));
    assert!(kept.contains("45001") && kept.contains("broken"), "{kept}");
    assert!(stdout(&o).is_empty());
    // Line 45001 was a /p0 line (45000 % 50 == 0).
    assert!(read_parts(&w.path("out")).contains("\"/p0\"\t1199\n"));
}

#[test]
fn a_truncated_gzip_file_cut_into_pieces_reports_what_one_task_does() {
    let w = Workdir::new();
    let gz = fs::read(w.write_gz("whole.gz", text(200_000).as_bytes())).unwrap();
    w.write("in/cut.txt.gz", &gz[..gz.len() * 3 / 4]);
    let mut kept = Vec::new();
    for (mode, out) in [("never", "out-whole"), ("always", "out-cut")] {
        let args = [
            "run",
            "word_count",
            "-i",
            "in",
            "-o",
            out,
            "-j",
            "3",
            "--chunksize",
            "1MB",
            "--cut-streams",
            mode,
            "--skip-bad-records",
        ];
        ok(w.mr(&args));
        kept.push(bad_records(&w.path(out)));
    }
    assert!(
        kept[0].contains("compressed data after line"),
        "{}",
        kept[0]
    );
    assert_eq!(kept[0], kept[1]);
    assert_eq!(
        read_parts(&w.path("out-whole")),
        read_parts(&w.path("out-cut"))
    );
}

#[test]
fn later_pieces_of_a_csv_file_know_its_header() {
    let w = Workdir::new();
    let rows: String = (0..300_000)
        .map(|i| format!("r{i},{i},\"a, b\"\n"))
        .collect();
    w.write_gz("in/t.csv.gz", format!("name,n,q\n{rows}").as_bytes());
    let cut = ok(run_cut(&w, "csv_count", "in", "r.json", &[]));
    assert!(pieces(&w.path("r.json")) >= 2, "not cut");
    assert_eq!(stdout(&cut), "\"fields\"\t900000\n\"rows\"\t300000\n");
}

#[test]
fn a_map_only_step_is_never_cut() {
    let w = Workdir::new();
    let events: String = (0..50_000)
        .map(|i| format!("{{\"event_type\": \"play_video\", \"username\": \"u{}\", \"time\": \"2026-01-01T00:00:00\"}}\n", i % 7))
        .collect();
    w.write_gz("in/e.json.gz", events.as_bytes());
    ok(run_cut(&w, "events_table", "in", "r.json", &["-o", "out"]));
    assert_eq!(pieces(&w.path("r.json")), 0);
}
