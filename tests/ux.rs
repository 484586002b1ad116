//! Integration tests of what a user sees: a job's help page, suggestions,
//! stdin, the summary, the report (JSON and HTML), completions and man page.

mod common;

use common::*;
use std::fs;

#[test]
fn job_help_shows_description_steps_formats() {
    let w = Workdir::new();
    let plain = stdout(&ok(w.mr(&["run", "--help"])));
    let o = stdout(&ok(w.mr(&["run", "url_views", "--help"])));
    assert_ne!(o, plain);
    for want in [
        "url_views: Page views per URL",
        "Input:  JSON lines",
        "Output: KEY<TAB>VALUE lines, both JSON: (String, u64)",
        "Steps:",
        "mapper   PageUrls",
        "fold     Count",
        "Usage:",
    ] {
        assert!(o.contains(want), "missing {want:?} in:\n{o}");
    }
    let o = stdout(&ok(w.mr(&["run", "video_tagging", "-h"])));
    assert!(o.contains("reducer"), "{o}");
    let o = stdout(&ok(w.mr(&["run", "top_lectures", "--help"])));
    assert!(o.contains("  2. mapper"), "two steps:\n{o}");
}

#[test]
fn main_help_has_examples_and_version_names_the_binary() {
    let w = Workdir::new();
    let o = stdout(&ok(w.mr(&["--help"])));
    assert!(o.contains("Examples:") && o.contains("mr new"), "{o}");
    let v = stdout(&ok(w.mr(&["--version"])));
    assert_eq!(v.trim(), format!("mr {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn mistyped_job_gets_a_suggestion() {
    let w = Workdir::new();
    w.write("in.txt", "a\n");
    let o = w.mr(&["run", "url_veiws", "-i", "in.txt"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("did you mean \"url_views\"?"),
        "{}",
        stderr(&o)
    );
    let o = w.mr(&["run", "qqqqqq", "-i", "in.txt"]);
    assert!(!stderr(&o).contains("did you mean"), "{}", stderr(&o));
}

#[test]
fn stdin_is_read_without_input() {
    let w = Workdir::new();
    let o = ok(w.mr_stdin(&["run", "word_count", "-q"], Some(b"b a\na\n")));
    assert_eq!(stdout(&o), "\"a\"\t2\n\"b\"\t1\n");
}

#[test]
fn summary_hides_zero_framework_counters_unless_verbose() {
    let w = Workdir::new();
    w.write("in.txt", "a b a\nc a\n");
    let o = ok(w.mr(&["run", "word_count", "-i", "in.txt"]));
    let e = stderr(&o);
    assert!(!e.contains("=0\n"), "zero counter shown:\n{e}");
    assert!(e.contains("framework counters are 0: -v shows them"), "{e}");
    for want in [
        "done in",
        "input    10 B, 2 records",
        "output   3 records",
        "phases   map",
        "merge",
        "reduce",
        "spills   0",
    ] {
        assert!(e.contains(want), "missing {want:?}:\n{e}");
    }
    if cfg!(target_os = "linux") {
        assert!(e.contains(" peak"), "{e}");
    }
    // A fold step combines in its table: 5 words in, 3 keys out.
    assert!(e.contains("step 0: combine input records=5"), "{e}");
    assert!(e.contains("step 0: combine output records=3"), "{e}");
    let v = stderr(&ok(w.mr(&["run", "word_count", "-i", "in.txt", "-v"])));
    assert!(v.contains("step 0: skipped records=0"), "{v}");
}

#[test]
fn json_report_has_phases_tasks_and_partitions() {
    let w = Workdir::new();
    let text: String = (0..2000).map(|i| format!("w{} hot\n", i % 50)).collect();
    w.write("in.txt", &text);
    ok(w.mr(&[
        "run",
        "word_count",
        "-i",
        "in.txt",
        "--chunksize",
        "4KB",
        "--partitions",
        "3",
        "-j",
        "2",
        "-q",
        "--report",
        "r.json",
    ]));
    let r: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(w.path("r.json")).unwrap()).unwrap();
    assert_eq!(r["ok"], true);
    let tasks = r["tasks"].as_array().unwrap();
    let maps = tasks.iter().filter(|t| t["phase"] == "map").count();
    let reduces = tasks.iter().filter(|t| t["phase"] == "reduce").count();
    assert!(maps >= 4, "{maps} map tasks");
    assert_eq!(reduces, 3);
    for t in tasks {
        assert!(t["start"].as_f64().unwrap() <= t["end"].as_f64().unwrap());
        assert!(t["thread"].as_u64().unwrap() < 2);
    }
    let read: u64 = tasks
        .iter()
        .filter(|t| t["phase"] == "map")
        .map(|t| t["input_bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(read, text.len() as u64);
    let phases: Vec<&str> = r["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["map", "merge", "reduce", "output"]);
    assert_eq!(r["totals"]["input_records"], 2000);
    // "hot" is on every line: the heaviest key of its partition.
    let parts = r["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 3);
    let hot = parts
        .iter()
        .find(|p| p["heavy_keys"][0][0] == "\"hot\"")
        .expect("hot is a heavy key");
    assert!(hot["heavy_keys"][0][1].as_u64().unwrap() >= 1);
}

#[test]
fn report_is_written_when_the_run_fails() {
    let w = Workdir::new();
    w.write("bad.jsonl", "{\"page_url\": \"/a\"}\n{not json\n");
    let o = w.mr(&[
        "run",
        "video_tagging",
        "-i",
        "bad.jsonl",
        "--report",
        "r.json",
    ]);
    assert!(!o.status.success());
    let r: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(w.path("r.json")).unwrap()).unwrap();
    assert_eq!(r["ok"], false);
    assert_eq!(r["job"], "video_tagging");
    let err = r["error"].as_str().unwrap();
    assert!(err.contains("bad.jsonl"), "{err}");
    // A configuration error is reported too.
    let o = w.mr(&[
        "run",
        "word_count",
        "-i",
        "missing.txt",
        "--report",
        "r2.json",
    ]);
    assert!(!o.status.success());
    let r: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(w.path("r2.json")).unwrap()).unwrap();
    assert_eq!(r["ok"], false);
    assert!(r["error"].as_str().unwrap().contains("missing.txt"));
    // No temp file left beside the report.
    let names: Vec<String> = fs::read_dir(w.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with(".tmp")), "{names:?}");
}

#[test]
fn completions_and_man_page() {
    let w = Workdir::new();
    for shell in ["bash", "zsh", "fish"] {
        let o = stdout(&ok(w.mr(&["completions", shell])));
        assert!(o.contains("mr") && o.contains("run"), "{shell}: {o}");
        assert!(o.contains("sort-buffer-mb"), "{shell}");
    }
    let man = stdout(&ok(w.mr(&["man"])));
    assert!(man.starts_with(".ie") || man.contains(".TH mr"), "{man}");
    assert!(man.contains("completions"));
}
