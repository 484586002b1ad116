//! A directory of many small files (hourly rotations, one file per event
//! batch) is packed into a few map tasks, as Hadoop's
//! `CombineFileInputFormat` does: the same results as one file a task, each
//! file still its own to its mapper (its name, its hooks, its line numbers),
//! and a task count that no longer grows with the file count.

mod common;

use common::*;
use std::fs;

/// The number of `name=N` on stderr's summary.
fn counter(stderr: &str, name: &str) -> u64 {
    stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix(name)?.strip_prefix('=')?.parse().ok())
        .unwrap_or_else(|| panic!("no counter {name} in {stderr}"))
}

/// Writes `n` small clicklog files under `logs/` (file `i` holds `i % 3 + 1`
/// lines, a name with a space and a quote in some), one of them gzipped;
/// returns their concatenation in listing order (sorted by name).
fn small_logs(w: &Workdir, n: usize) -> String {
    let mut files = Vec::new();
    for i in 0..n {
        let lines: String = (0..i % 3 + 1)
            .map(|k| {
                format!(
                    "{{\"page_url\": \"/p/{}\", \"n\": {k}}}\n",
                    (i * 7 + k) % 41
                )
            })
            .collect();
        let name = if i % 50 == 7 {
            format!("logs/d{:02}/f {i:04} 'x'.jsonl", i / 100)
        } else {
            format!("logs/d{:02}/f{i:04}.jsonl", i / 100)
        };
        if i == 123 {
            w.write_gz(&format!("{name}.gz"), lines.as_bytes());
            files.push((format!("{name}.gz"), lines));
        } else {
            w.write(&name, &lines);
            files.push((name, lines));
        }
    }
    files.sort();
    files.into_iter().map(|(_, l)| l).collect()
}

#[test]
fn many_small_files_are_a_few_tasks_with_the_results_of_one_file() {
    let w = Workdir::new();
    let all = small_logs(&w, 600);
    w.write("one.jsonl", &all);
    let want = ok(w.mr(&["run", "url_views", "-i", "one.jsonl", "-q"]));
    for extra in [&[][..], &["--chunksize", "2KB"], &["-j", "1"]] {
        let args = ["run", "url_views", "-i", "logs", "--report", "r.json"];
        let o = ok(w.mr(&[&args[..], extra].concat()));
        assert_eq!(stdout(&o), stdout(&want), "{extra:?}");
        // Every file's bytes are counted (only each task's last file was).
        let report: serde_json::Value =
            serde_json::from_slice(&fs::read(w.path("r.json")).unwrap()).unwrap();
        // (of text: the .gz's uncompressed bytes).
        let counted = report["totals"]["input_bytes"].as_u64();
        assert_eq!(counted, Some(all.len() as u64), "{extra:?}");
        let tasks = counter(&stderr(&o), "step 0: map tasks");
        let most = if extra.is_empty() { 8 } else { 200 };
        assert!(tasks <= most, "{extra:?}: {tasks} map tasks for 600 files");
    }
}

/// Each file's mapper knows its file: mr_count_lines_by_file keys lines by
/// input URI, and a map-only job's output is every file's lines in order,
/// in far fewer part files than input files.
#[test]
fn each_packed_file_is_its_own_to_the_mapper() {
    let w = Workdir::new();
    let all = small_logs(&w, 300);
    let o = ok(w.mr(&["run", "mr_count_lines_by_file", "-i", "logs"]));
    let got = stdout(&o);
    assert_eq!(got.lines().count(), 300, "{got}");
    let root = w.path("logs");
    let uri = |rel: &str| format!("\"file://{}/{rel}\"", root.display());
    assert!(
        got.contains(&format!("{}\t1\n", uri("d00/f0000.jsonl"))),
        "{got}"
    );
    assert!(
        got.contains(&format!("{}\t3\n", uri("d01/f 0107 'x'.jsonl"))),
        "{got}"
    );
    assert!(
        got.contains(&format!("{}\t1\n", uri("d01/f0123.jsonl.gz"))),
        "{got}"
    );

    ok(w.mr(&[
        "run", "mr_grep", "-e", "page_url", "-i", "logs", "-o", "grep",
    ]));
    // Numbered by task, in input order: `cat grep/part-*` is the input's
    // order (they were numbered by each task's first file: part-00000,
    // part-00037, and past 99,999 files part-112517 before part-37618).
    let parts = part_names(&w.path("grep"));
    assert!(parts.len() <= 8, "{parts:?} for 300 input files");
    let numbered: Vec<String> = (0..parts.len()).map(|i| format!("part-{i:05}")).collect();
    assert_eq!(parts, numbered);
    assert_eq!(read_parts(&w.path("grep")), all);
}

/// A bad line in the 417th file of a pack is named by its file and line,
/// and kept aside under `--skip-bad-records` with the rest counted.
#[test]
fn a_bad_line_in_a_packed_file_is_named_by_its_file_and_line() {
    let w = Workdir::new();
    small_logs(&w, 600);
    w.write(
        "logs/d04/f0417.jsonl",
        "{\"page_url\": \"/ok\"}\n{\"page_url\": \n",
    );
    let o = w.mr(&["run", "url_views", "-i", "logs", "-o", "out"]);
    failed_saying(&o, "bad record at logs/d04/f0417.jsonl:2", &w.path("out"));

    let o = ok(w.mr(&[
        "run",
        "url_views",
        "-i",
        "logs",
        "-o",
        "out",
        "--skip-bad-records",
    ]));
    assert!(
        stderr(&o).contains("1 bad record skipped"),
        "{}",
        stderr(&o)
    );
    assert!(read_parts(&w.path("out")).contains("\"/ok\"\t1\n"));
    let mut kept = String::new();
    for e in fs::read_dir(w.path("out/_bad_records")).unwrap() {
        kept.push_str(&fs::read_to_string(e.unwrap().path()).unwrap());
    }
    assert!(
        kept.contains("\"file\":\"logs/d04/f0417.jsonl\",\"line\":2"),
        "{kept}"
    );
}
