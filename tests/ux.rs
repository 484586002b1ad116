//! Integration tests of what a user sees: a job's help page, suggestions,
//! stdin, the summary, the report (JSON and HTML), completions and man page,
//! usage errors, and what Ctrl-C leaves of `mr gen`.

mod common;

use common::*;
use std::fs;
use std::process::{Command, Stdio};

#[test]
fn job_help_shows_description_steps_formats() {
    let w = Workdir::new();
    let plain = stdout(&ok(w.mr(&["run", "--help"])));
    let o = stdout(&ok(w.mr(&["run", "url_views", "--help"])));
    assert_ne!(o, plain);
    for want in [
        "url_views: Page views per URL",
        "Input:  JSON lines, one event a line",
        "Output: KEY<TAB>VALUE lines, both JSON: (String, u64)",
        "Steps:",
        "mapper   PageUrls",
        "fold     Count",
        "Counters:",
        "url_views / events without a string page_url  counted and left out",
        "Usage:",
    ] {
        assert!(o.contains(want), "missing {want:?} in:\n{o}");
    }
    let o = stdout(&ok(w.mr(&["run", "video_tagging", "-h"])));
    assert!(o.contains("reducer"), "{o}");
    let o = stdout(&ok(w.mr(&["run", "top_lectures", "--help"])));
    assert!(o.contains("  2. mapper"), "two steps:\n{o}");
}

/// Every counter a shipped log job reports on real logs is explained by
/// its `--help` (events_table's listed none: probe /tmp/probe22-mooc repro
/// 03). Counters named by column (`wrong type (made null): COLUMN`) are
/// found by the name before the column.
#[test]
fn every_counter_a_log_job_reports_is_in_its_help() {
    let w = Workdir::new();
    let edx = concat!(
        r#"{"username": "u", "event_type": "problem_check", "event": "input_q1=choice_3", "#,
        r#""context": [1], "host": "courses.edx.org", "time": "x"}"#,
        "\n",
        r#"{"username": "v", "event": "{\"A\": 1, \"a\": 2, \"b\": NaN}", "page_url": 7}"#,
        "\n"
    );
    w.write("logs/edx.jsonl", edx);
    let logs = format!("{}/../examples/logs", env!("CARGO_MANIFEST_DIR"));
    for job in ["url_views", "video_tagging", "events_table"] {
        let o = ok(w.mr(&["run", job, "-i", &logs, "-i", "logs", "-o", job]));
        let help = stdout(&ok(w.mr(&["run", job, "--help"])));
        let said = stderr(&o);
        let mut group = String::new();
        let mut checked = 0;
        for line in said.lines() {
            if let Some(g) = line.strip_prefix("  ").filter(|g| !g.starts_with(' ')) {
                group = g.to_string();
            } else if let Some((name, _)) =
                line.strip_prefix("    ").and_then(|l| l.rsplit_once('='))
                && group != "mr"
            {
                let name = name.split_once(": ").map_or(name, |(n, _)| n);
                assert!(
                    help.contains(&format!("{group} / {name}")),
                    "{job} reports counter {group} / {name}, which --help does not explain:\n{help}"
                );
                checked += 1;
            }
        }
        assert!(checked > 0, "{job} reported no counter of its own:\n{said}");
    }
}

/// A run whose mappers left out every record says so, naming the job's
/// counters, even under `-q`: url_views over Open edX tracking logs (the
/// URL in `page`) printed nothing and exited 0 (probe /tmp/probe22-mooc
/// repro 02). A job that counts nothing is not warned of: a grep that
/// matched no line has answered.
#[test]
fn a_run_that_left_out_every_record_says_which_counters_left_them() {
    let w = Workdir::new();
    let edx: String = (0..10)
        .map(|i| {
            format!(
                "{{\"username\": \"u{i}\", \"event_type\": \"play_video\", \
                 \"page\": \"https://courses.edx.org/courses/x/courseware/\"}}\n"
            )
        })
        .collect();
    w.write("tracking.log", &edx);
    let o = ok(w.mr(&["run", "url_views", "-q", "-i", "tracking.log"]));
    assert_eq!(stdout(&o), "");
    let said = stderr(&o);
    assert!(
        said.contains("mappers read 10 records and emitted none")
            && said.contains("url_views / events without a string page_url=10"),
        "{said}"
    );
    let o = ok(w.mr(&[
        "run",
        "video_tagging",
        "-q",
        "-i",
        "tracking.log",
        "-o",
        "vt",
    ]));
    assert!(stderr(&o).contains("emitted none"), "{}", stderr(&o));
    // Output on one record: no warning.
    w.write("more.log", format!("{edx}{{\"page_url\": \"/a\"}}\n"));
    let o = ok(w.mr(&["run", "url_views", "-q", "-i", "more.log"]));
    assert_eq!(stderr(&o), "");
    let o = ok(w.mr(&[
        "run",
        "mr_grep",
        "-q",
        "-e",
        "nothing here",
        "-i",
        "more.log",
    ]));
    assert_eq!((stdout(&o).as_str(), stderr(&o).as_str()), ("", ""));
}

#[test]
fn main_help_has_examples_and_version_names_the_binary() {
    let w = Workdir::new();
    let o = stdout(&ok(w.mr(&["--help"])));
    assert!(o.contains("Examples:") && o.contains("mr new"), "{o}");
    let v = stdout(&ok(w.mr(&["--version"])));
    assert_eq!(v.trim(), format!("mr {}", env!("CARGO_PKG_VERSION")));
}

/// `--output=~/D` reaches mr unexpanded: expanded by gen, new and check
/// as by run (gen and new made a directory named `~`; check did not find a
/// file run reads: probe /tmp/probe3-ux repro 01).
#[test]
fn a_tilde_after_an_equals_sign_is_home_for_every_command() {
    let w = Workdir::new();
    let home = w.path("home");
    fs::create_dir(&home).unwrap();
    let home = home.to_str().unwrap();
    let env = [("HOME", home)];
    ok(w.mr_env(&["gen", "text", "--size", "1KB", "--output=~/g"], &env));
    ok(w.mr_env(&["new", "jobx", "--path=~/src"], &env));
    assert!(w.path("home/g").is_dir() && w.path("home/src/jobx/Cargo.toml").is_file());
    assert!(!w.path("~").exists());
    w.write("home/in.txt", "a b a\n");
    let o = w.mr_env(
        &["check", "word_count", "--input=~/in.txt", "--runs", "1"],
        &env,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
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
    // Asking for its help: said above the command's (it was the command's
    // help alone: probe /tmp/probe3-ux repro 05); an option's value is no job.
    let o = ok(w.mr(&["run", "url_veiws", "--help"]));
    assert!(
        stdout(&o).starts_with("mr: unknown job \"url_veiws\"; did you mean \"url_views\"?"),
        "{}",
        stdout(&o)
    );
    let o = ok(w.mr(&["run", "-i", "in.txt", "--help"]));
    assert!(!stdout(&o).contains("unknown job"), "{}", stdout(&o));
    // A job crate's own binary, run as mrjob runs `python my_job.py`
    // (probe /tmp/probe-port repro 04): said how to run it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let bin = w.write("target/debug/my job", "#!/bin/sh\n");
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let o = w.mr(&["run", "target/debug/my job", "in.txt"]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("it is a program")
                && stderr(&o).contains("`'target/debug/my job' run JOB ...`"),
            "{}",
            stderr(&o)
        );
    }
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
    // An output path cannot start a line of the summary of its own.
    let forged = "x\nmr: error: FORGED";
    let o = ok(w.mr(&["run", "word_count", "-i", "in.txt", "-o", forged]));
    let e = stderr(&o);
    assert!(!e.lines().any(|l| l.starts_with("mr: error")), "{e}");
    assert!(e.contains("x\\nmr: error: FORGED"), "{e}");
    // Nor can a path named in an error.
    let o = w.mr(&["run", "word_count", "-i", "nope\nmr: error: FORGED"]);
    let e = stderr(&o);
    assert!(!o.status.success());
    assert!(
        !e.lines().any(|l| l.starts_with("mr: error: FORGED")),
        "{e}"
    );
    assert!(
        e.contains("input not found: nope\\nmr: error: FORGED"),
        "{e}"
    );
}

/// A dry run read by a reader that closes the pipe at once (`| head -1`)
/// ends quietly: no panic, no error.
#[test]
fn a_dry_run_into_a_closed_pipe_is_no_error() {
    let w = Workdir::new();
    for runner in ["hadoop", "spark"] {
        let submit = match runner {
            "hadoop" => ["--hadoop-streaming-jar", "s.jar"],
            _ => ["--spark-submit", "spark-submit"],
        };
        let mut args = vec!["run", "word_count", "-r", runner, "--dry-run"];
        args.extend(["-i", "hdfs:///in", "-o", "hdfs:///out"]);
        args.extend(submit);
        let o = w.mr_stdout_closed(&args);
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(!e.contains("panicked"), "{runner}: {e}");
        if runner == "hadoop" {
            assert!(o.status.success(), "{e}");
        }
    }
}

/// `--cat-output` into a reader that leaves early (`| head`): the run
/// finished and committed its output, and its report says so and is
/// written in the output; it was reported as stopped, without counters,
/// and the one in the output left out with "a failed run leaves the output
/// as it was" (probe /tmp/probe17-report repro 10).
#[test]
fn cat_output_into_a_closed_pipe_reports_a_finished_run() {
    let w = Workdir::new();
    let text: String = (0..40_000).map(|i| format!("word{i} the\n")).collect();
    w.write("in.txt", &text);
    let o = w.mr_stdout_closed(&[
        "run",
        "word_count",
        "-q",
        "-i",
        "in.txt",
        "-o",
        "out",
        "--cat-output",
        "--report",
        "out/run.json",
    ]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{e}");
    assert!(w.path("out/_SUCCESS").is_file());
    let r = w.json("out/run.json");
    assert_eq!(r["ok"], true, "{r}");
    assert!(
        r.get("stopped").is_none_or(serde_json::Value::is_null),
        "{r}"
    );
    assert_eq!(r["totals"]["input_records"], 40_000, "{r}");
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

/// The output bytes the summary, the counter and the report give are the
/// part files' own: with a raw output protocol or Parquet they were the JSON
/// records' (59.8 kB said for 1,875 B written: probe /tmp/probe3-report
/// repros 04, 05). The input bytes are the file's, under -r emulate too.
#[test]
fn output_bytes_are_what_the_part_files_hold() {
    let w = Workdir::new();
    let events: String = (0..3000)
        .map(|i| format!("{{\"page_url\": \"/p{}\", \"q\": \"text\"}}\n", i % 100))
        .collect();
    w.write("a.jsonl", events);
    for (i, extra) in [
        &["--output-protocol", "raw-value"][..],
        &["--output-format", "parquet"][..],
        &[][..],
        // The emulator's report said 0 B read and written (repro 03).
        &["-r", "emulate"][..],
    ]
    .into_iter()
    .enumerate()
    {
        let out = format!("out{i}");
        let mut args = vec![
            "run",
            "url_views",
            "-i",
            "a.jsonl",
            "-o",
            &out,
            "--report",
            "r.json",
        ];
        args.extend_from_slice(extra);
        ok(w.mr(&args));
        let written: u64 = fs::read_dir(w.path(&out))
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.file_name().to_string_lossy().starts_with("part-"))
            .map(|e| e.metadata().unwrap().len())
            .sum();
        let r: serde_json::Value =
            serde_json::from_slice(&fs::read(w.path("r.json")).unwrap()).unwrap();
        assert_eq!(
            r["totals"]["output_bytes"].as_u64(),
            Some(written),
            "{extra:?}"
        );
        assert_eq!(
            r["counters"]["mr"]["step 0: output bytes"].as_u64(),
            Some(written),
            "{extra:?}"
        );
        let size = fs::metadata(w.path("a.jsonl")).unwrap().len();
        assert_eq!(r["totals"]["input_bytes"].as_u64(), Some(size), "{extra:?}");
    }
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
    // No page is named that `mr man` does not print (mr-help(1), clap's
    // help subcommand: probe /tmp/probe3-ux repro 02).
    let gen_page = stdout(&ok(w.mr(&["man", "gen"])));
    assert!(
        !man.contains(r"mr\-help") && !gen_page.contains(r"mr\-gen\-help"),
        "{man}"
    );
    // Each command has its page, named as the SUBCOMMANDS lines name it.
    let run = stdout(&ok(w.mr(&["man", "run"])));
    assert!(run.contains(".TH mr-run 1"), "{run}");
    // The program in its footer, not the command (probe /tmp/probe3-ux 10).
    assert!(run.contains(".TH mr-run 1  \"mr "), "{run}");
    assert!(run.contains(r"\fBmr run\fR") && run.contains(r"sort\-buffer\-mb"));
    let o = w.mr(&["man", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("a page for each of: run, jobs,"));
}

#[test]
fn progress_only_on_a_terminal_and_erased() {
    let w = Workdir::new();
    // Enough for about a second of work under a tiny sort buffer, so that
    // the first redraw (0.2 s in) finds the run going on any machine.
    let text: String = (0..150_000)
        .map(|i| format!("w{} x y z\n", i % 997))
        .collect();
    w.write("in.txt", &text);
    // stderr is a pipe here: no progress, no control characters.
    let o = ok(w.mr_env(
        &["run", "word_count", "-i", "in.txt", "-o", "o1"],
        &[("MR_PROGRESS_AFTER_MS", "0")],
    ));
    let e = stderr(&o);
    assert!(!e.contains('\r') && !e.contains('\x1b'), "{e:?}");
    if !peer_available(
        "script (util-linux)",
        Command::new("script").arg("--version"),
    ) {
        return;
    }
    // On a terminal (a pty from `script`): drawn, then erased before the summary.
    let run = |extra: &str| {
        let cmd = format!(
            "MR_PROGRESS_AFTER_MS=0 {MR} run word_count -i in.txt --sort-buffer-mb 0.05 -j 1 --chunksize 64KB {extra} -o o-{}",
            extra.len()
        );
        let o = Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .current_dir(w.dir.path())
            .env("TMPDIR", w.path("_tmp"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stdout(&o));
        stdout(&o)
    };
    let shown = run("");
    let summary = shown.find("Counters:").expect("summary");
    // The phase shown depends on how far the (short) run got at the first
    // redraw: the map or the merge+reduce phase.
    assert!(
        shown[..summary].contains("map") || shown[..summary].contains("reduce"),
        "{shown:?}"
    );
    assert!(shown[..summary].contains("records"), "{shown:?}");
    assert!(
        shown[..summary].ends_with("\r\x1b[2K"),
        "progress not erased before the summary: {:?}",
        &shown[summary.saturating_sub(200)..summary]
    );
    let quiet = run("-q");
    assert!(
        !quiet.contains("records") && !quiet.contains('\x1b'),
        "{quiet:?}"
    );
}

/// Events for video_tagging whose user name is an HTML/script injection.
const NASTY: &str = "</script><img src=x onerror=alert(1)>";

fn nasty_events(w: &Workdir) {
    let mut events = String::new();
    for i in 0..60 {
        let user = if i % 3 == 0 {
            format!("user{i}")
        } else {
            NASTY.to_string()
        };
        events.push_str(
            &serde_json::json!({
                "key": "user.video.lecture.action",
                "username": user,
                "timestamp": 1370044805460u64 + i * 1000,
                "page_url": format!("https://class.example.org/course-001/lecture/view?lecture_id={}", i % 4),
            })
            .to_string(),
        );
        events.push('\n');
    }
    w.write("events/a.jsonl", &events);
    w.write("events/b.jsonl", &events);
}

#[test]
fn html_report_escapes_data_and_draws_one_bar_per_task() {
    let w = Workdir::new();
    nasty_events(&w);
    let args = |report: &'static str| {
        [
            "run",
            "video_tagging",
            "-i",
            "events",
            "-j",
            "2",
            "--partitions",
            "3",
            "--chunksize",
            "4KB",
            "-q",
            "-o",
            report,
            "--report",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([format!(
            "{report}.{}",
            if report == "h" { "html" } else { "json" }
        )])
        .collect::<Vec<String>>()
    };
    let run = |a: Vec<String>| ok(w.mr(&a.iter().map(String::as_str).collect::<Vec<_>>()));
    run(args("h"));
    run(args("j"));
    let page = fs::read_to_string(w.path("h.html")).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(w.path("j.json")).unwrap()).unwrap();
    let tasks = json["tasks"].as_array().unwrap().len();
    assert!(tasks >= 5, "{tasks} tasks");
    assert!(!page.contains("<img"), "unescaped key in the page");
    assert!(page.contains("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"));
    assert_eq!(
        page.matches("<script").count(),
        1,
        "only the page's own script"
    );
    assert_eq!(page.matches("<rect class=\"task ").count(), tasks);
    assert!(
        !page.contains("<link") && !page.contains(" src=\""),
        "loads nothing"
    );

    if !peer_available("chromium", Command::new("chromium").arg("--version")) {
        return;
    }
    let profile = w.path("chromium-profile");
    let o = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", w.path("h.html").display()))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let dom = stdout(&o);
    let log = stderr(&o);
    assert!(o.status.success(), "{log}");
    let check = dom
        .split("id=\"check\"")
        .nth(1)
        .and_then(|s| s.split('>').next())
        .unwrap_or_else(|| panic!("no self-check in the DOM:\n{dom}"));
    assert!(check.contains(&format!("data-bars=\"{tasks}\"")), "{check}");
    assert!(check.contains("data-errors=\"0\""), "{check}");
    assert!(check.contains("data-ok=\"true\""), "{check}");
    assert!(!dom.contains("<img"), "the key became an element");
    assert!(
        !log.contains("Uncaught") && !log.contains("CONSOLE"),
        "console output: {log}"
    );
}

#[test]
fn mr_new_makes_a_crate_and_refuses_bad_names() {
    let w = Workdir::new();
    let o = ok(w.mr(&["new", "my-job", "--path", "jobs"]));
    assert!(stdout(&o).contains("cargo run -- run my_job --input sample.txt"));
    let dir = w.path("jobs/my-job");
    for f in [
        "Cargo.toml",
        "Cargo.lock",
        "src/lib.rs",
        "src/main.rs",
        "sample.txt",
        "README.md",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    // Its message to a full disk: an error, not a panic (probe
    // /tmp/probe3-ux repro 08).
    let o = Command::new(MR)
        .args(["new", "other", "--path", "jobs"])
        .current_dir(w.dir.path())
        .stdout(fs::File::create("/dev/full").unwrap())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with("mr: error: writing to standard output"),
        "{}",
        stderr(&o)
    );
    let toml = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    assert!(toml.contains("name = \"my-job\""), "{toml}");
    assert!(
        toml.contains("/mr-core\" }") && toml.contains("git = "),
        "{toml}"
    );
    let lib = fs::read_to_string(dir.join("src/lib.rs")).unwrap();
    assert!(
        lib.contains("pub struct MyJob;") && lib.contains("check_steps"),
        "{lib}"
    );
    assert!(
        fs::read_to_string(dir.join("src/main.rs"))
            .unwrap()
            .contains("my_job::MyJob")
    );
    // Never into an existing directory; the files there stay as they were.
    fs::write(dir.join("sample.txt"), "mine\n").unwrap();
    let o = w.mr(&["new", "my-job", "--path", "jobs"]);
    assert!(!o.status.success());
    assert_eq!(
        fs::read_to_string(dir.join("sample.txt")).unwrap(),
        "mine\n"
    );
    for bad in [
        "../escape",
        "a\"b",
        "a b",
        "fn",
        "-x",
        "",
        "x/y",
        "std",
        "1abc",
        "ab\ncd",
    ] {
        let o = w.mr(&["new", "--", bad]);
        assert!(!o.status.success(), "{bad:?} accepted");
        assert!(
            stderr(&o).contains("invalid name"),
            "{bad:?}: {}",
            stderr(&o)
        );
    }
    let left: Vec<_> = fs::read_dir(w.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 2, "only jobs/ and _tmp/: {left:?}");
    assert!(!w.dir.path().parent().unwrap().join("escape").exists());
}

/// `mr new`, then `cargo run` and `cargo test` in the new crate, sharing this
/// build's target directory. Minutes on a cold cache (the new crate's own
/// dependency features): `.ci/run` runs it with `--ignored`.
#[test]
#[ignore = "builds a new crate (minutes when cold); .ci/run runs it"]
fn mr_new_crate_runs_and_tests_at_once() {
    let w = Workdir::new();
    ok(w.mr(&["new", "wc_demo"]));
    let dir = w.path("wc_demo");
    // target/debug/mr -> target
    let target = std::path::Path::new(MR).parent().unwrap().parent().unwrap();
    let cargo = |args: &[&str]| {
        let o = Command::new(env!("CARGO"))
            .args(args)
            .current_dir(&dir)
            .env("CARGO_TARGET_DIR", target)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(o.status.success(), "cargo {args:?}: {}", stderr(&o));
        o
    };
    let o = cargo(&["run", "-q", "--", "run", "wc_demo", "--input", "sample.txt"]);
    let out = stdout(&o);
    assert!(out.contains("\"it\"\t8\n"), "{out}");
    assert!(out.contains("\"of\"\t9\n"), "{out}");
    let v = stdout(&cargo(&["run", "-q", "--", "--version"]));
    assert_eq!(v.trim(), "wc_demo 0.1.0");
    let help = stdout(&cargo(&["run", "-q", "--", "run", "wc_demo", "--help"]));
    assert!(help.contains("punctuation-only tokens"), "{help}");
    let t = cargo(&["test", "-q"]);
    let all = stdout(&t) + &stderr(&t);
    assert!(all.contains("3 passed"), "{all}");
}

/// A log line and a file name built to attack the terminal the messages are
/// printed on: the error, the warnings and the summary show their control
/// characters as escapes and send none of them.
#[test]
fn messages_escape_control_characters_from_the_input() {
    let w = Workdir::new();
    let name = "logs/a\x1b[2J\x1b]0;owned\x07.jsonl";
    w.write(
        name,
        "{\"page_url\": \"/a\"}\n\x1b[31mred\r\u{202e}gpj.exe\0\n",
    );
    // The same file again through a symbolic link: a warning naming both.
    std::os::unix::fs::symlink(w.path(name), w.path("logs/b\x1b[8m.jsonl")).unwrap();
    let sent = |text: &str| {
        text.chars()
            .filter(|&c| c.is_control() && c != '\n' || c == '\u{202e}')
            .collect::<String>()
    };

    let o = w.mr(&["run", "url_views", "-i", "logs", "-o", "out"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(sent(&err), "", "{err:?}");
    for want in [
        r"bad record at logs/a\u{1b}[2J\u{1b}]0;owned\u{7}.jsonl:2",
        r"record: \u{1b}[31mred\r\u{202e}gpj.exe\0",
        r"skipped logs/b\u{1b}[8m.jsonl: the same file as logs/a\u{1b}[2J",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }

    // Skipped and kept aside: the bad record is kept as it was, and the
    // summary on the terminal is escaped.
    let o = ok(w.mr(&[
        "run",
        "url_views",
        "-i",
        "logs",
        "-o",
        "out",
        "--skip-bad-records",
    ]));
    let err = stderr(&o);
    assert_eq!(sent(&err), "", "{err:?}");
    let kept = fs::read_dir(w.path("out/_bad_records"))
        .unwrap()
        .map(|e| fs::read(e.unwrap().path()).unwrap())
        .collect::<Vec<_>>()
        .concat();
    assert!(
        kept.windows(4).any(|b| b == b"\x1b[31"),
        "the kept record is the raw line: {}",
        String::from_utf8_lossy(&kept)
    );
}

/// `-` is stdout for `--report` (as `-i -` is stdin); `-o -` and `mr gen
/// --output -` are refused rather than make a directory named `-` that
/// `| next_tool` never sees.
#[test]
fn a_dash_is_stdout_or_refused_never_a_file_named_dash() {
    let w = Workdir::new();
    w.write("in.txt", "a b a\n");
    let o = w.mr(&["run", "word_count", "-q", "-i", "in.txt", "--report", "-"]);
    ok(o.clone());
    let out = String::from_utf8(o.stdout).unwrap();
    let (results, report) = out.split_once('{').unwrap();
    assert_eq!(results, "\"a\"\t2\n\"b\"\t1\n");
    let report: serde_json::Value = serde_json::from_str(&format!("{{{report}")).unwrap();
    assert_eq!(report["ok"], true);
    let o = w.mr(&["run", "word_count", "-q", "-i", "in.txt", "-o", "-"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("results go to stdout"),
        "{}",
        stderr(&o)
    );
    let o = w.mr(&["gen", "text", "--size", "1KB", "--output", "-"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!w.path("-").exists());
}

/// Mistakes on the command line of `mr gen` and `mr new` are usage errors
/// (exit status 2, as for `mr run` and clap), not failed runs (1); found by
/// probe /tmp/probe-term.
#[test]
fn gen_and_new_usage_mistakes_exit_2() {
    let w = Workdir::new();
    let gen_text = ["gen", "text", "--size", "1k", "--output", "o"];
    let gen_clicklog = ["gen", "clicklog", "--size", "1k", "--output", "o"];
    for (base, extra, said) in [
        (
            &gen_text,
            &["--files", "0"][..],
            "--files must be at least 1",
        ),
        (
            &gen_text,
            &["--files", "2", "--gz-files", "5"],
            "must not exceed --files",
        ),
        (&gen_text, &["--vocab", "0"], "--vocab must be at least 1"),
        (&gen_clicklog, &["--bad-fraction", "2"], "between 0 and 1"),
        (&gen_clicklog, &["--bad-fraction", "NaN"], "between 0 and 1"),
        (
            &gen_clicklog,
            &["--users", "0"],
            "--users must be at least 1",
        ),
        (&gen_clicklog, &["--urls", "0"], "--urls must be at least 1"),
    ] {
        let o = w.mr(&[&base[..], extra].concat());
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(said), "{extra:?}: {}", stderr(&o));
        assert!(!w.path("o").exists(), "{extra:?}");
    }
    for bad in ["1abc", "type", "a b"] {
        let o = w.mr(&["new", bad]);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", stderr(&o));
    }
    // An existing directory is no usage mistake: the command failed.
    fs::create_dir(w.path("taken")).unwrap();
    assert_eq!(w.mr(&["new", "taken"]).status.code(), Some(1));
}

/// The names in `dir`, sorted (none if it does not exist).
fn names_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// `mr gen` of 5 GB into `out`, running until its first part has begun.
fn gen_until_under_way(w: &Workdir) -> std::process::Child {
    let child = Command::new(MR)
        .args(["gen", "text", "--size", "5GB", "--output", "out"])
        .current_dir(w.dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let temp = w.path("out/.part-00000.txt.mr-tmp");
    let started = std::time::Instant::now();
    while fs::metadata(&temp).map_or(0, |m| m.len()) == 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "mr gen never began writing"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child
}

/// Ctrl-C during `mr gen` stops it at once (exit 130, no "did not stop
/// within 1s" from the watchdog) and leaves no part file: parts are written
/// under hidden names and put in place when all are complete, so the old
/// parts stay as they were; a `kill -9` leaves hidden temp files only,
/// which the next `mr gen` into the directory removes. Found by probe
/// /tmp/probe-term: a truncated part that looked like finished data.
#[test]
fn ctrl_c_during_gen_leaves_no_part_file() {
    let w = Workdir::new();
    // Into a directory gen makes: gone again.
    let child = gen_until_under_way(&w);
    let s = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(s.success());
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(!err.contains("did not stop within"), "{err}");
    assert!(
        err.contains("the unfinished part files were removed"),
        "{err}"
    );
    assert!(!w.path("out").exists(), "{:?}", names_in(&w.path("out")));

    // Into a directory holding an earlier run's parts: they stay.
    ok(w.mr(&[
        "gen",
        "text",
        "--size",
        "1KB",
        "--files",
        "1",
        "--gz-files",
        "0",
        "--output",
        "out",
    ]));
    let old = fs::read(w.path("out/part-00000.txt")).unwrap();
    let child = gen_until_under_way(&w);
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(143), "{}", stderr(&o));
    assert_eq!(
        names_in(&w.path("out")),
        [".mr-gen-parts", "part-00000.txt"]
    );
    assert_eq!(fs::read(w.path("out/part-00000.txt")).unwrap(), old);

    // Killed outright: nothing that looks like data, and the next run
    // cleans up.
    let mut child = gen_until_under_way(&w);
    child.kill().unwrap();
    child.wait().unwrap();
    let left = names_in(&w.path("out"));
    assert!(
        left.contains(&".part-00000.txt.mr-tmp".to_string()),
        "{left:?}"
    );
    assert!(
        left.iter()
            .all(|n| n.starts_with('.') || n == "part-00000.txt"),
        "{left:?}"
    );
    assert_eq!(fs::read(w.path("out/part-00000.txt")).unwrap(), old);
    ok(w.mr(&[
        "gen",
        "text",
        "--size",
        "10KB",
        "--files",
        "2",
        "--gz-files",
        "1",
        "--output",
        "out",
    ]));
    assert_eq!(
        names_in(&w.path("out")),
        [".mr-gen-parts", "part-00000.txt", "part-00001.txt.gz"]
    );
}

/// `mr emulate-hadoop` is `mr run -r emulate`: it takes none of the other
/// runners' options, lists none in its help, and refuses them as usage
/// errors (it ignored `-r spark`, and answered `-r hadoop --dry-run` with
/// "--dry-run is for -r hadoop and -r spark"). Found by probe /tmp/probe-term.
#[test]
fn emulate_hadoop_takes_only_what_it_honours() {
    let w = Workdir::new();
    w.write("in.txt", "a b a\n");
    let help = stdout(&ok(w.mr(&["emulate-hadoop", "--help"])));
    for gone in [
        "--runner",
        "--dry-run",
        "--spark-master",
        "--spark-submit",
        "--hadoop-bin",
        "--hadoop-streaming-jar",
        "--output-format",
        "--dictionaries",
        "--mapper",
        "--step-num",
    ] {
        assert!(!help.contains(gone), "{gone} in {help}");
    }
    assert!(
        help.contains("--seed") && help.contains("--jobconf"),
        "{help}"
    );
    let run_help = stdout(&ok(w.mr(&["run", "--help"])));
    assert!(run_help.contains("--dry-run") && run_help.contains("--spark-master"));
    for (args, said) in [
        (&["-r", "spark"][..], "takes no -r/--runner"),
        (&["-r", "hadoop", "--dry-run"], "takes no -r/--runner"),
        (
            &["--dry-run"],
            "takes no --dry-run: it shows a cluster runner's commands",
        ),
        (&["--spark-master", "local[2]"], "takes no --spark-master"),
        (&["--output-format", "parquet"], "takes no --output-format"),
        (&["--mapper"], "takes no --mapper"),
    ] {
        let o = w.mr(&[&["emulate-hadoop", "word_count", "-i", "in.txt"][..], args].concat());
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(said), "{args:?}: {err}");
        assert!(
            !err.contains("is for -r hadoop and -r spark"),
            "{args:?}: {err}"
        );
    }
    let o = ok(w.mr(&[
        "emulate-hadoop",
        "word_count",
        "-i",
        "in.txt",
        "-q",
        "--seed",
        "3",
    ]));
    assert_eq!(stdout(&o), "\"a\"\t2\n\"b\"\t1\n");
}

/// The completion scripts complete job names after `run`, `check` and
/// `emulate-hadoop` (found by probe /tmp/probe-term), and still load in
/// their shells; a JOB given as a path is still taken.
#[test]
fn completions_complete_job_names() {
    let w = Workdir::new();
    for shell in ["bash", "zsh", "fish"] {
        let script = stdout(&ok(w.mr(&["completions", shell])));
        assert!(
            script.contains("word_count") && script.contains("url_views"),
            "{shell}"
        );
        let path = w.write(&format!("mr.{shell}"), &script);
        if peer_available(shell, Command::new(shell).arg("-c").arg("true")) {
            let o = Command::new(shell).arg("-n").arg(&path).output().unwrap();
            assert!(o.status.success(), "{shell}: {}", stderr(&o));
        }
    }
    // `help` shows no list of the jobs (`mr jobs` does).
    let help = stdout(&ok(w.mr(&["run", "--help"])));
    assert!(!help.contains("possible values"), "{help}");
    if peer_available("bash", Command::new("bash").arg("-c").arg("true")) {
        let bin = w.path("bin");
        fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(MR, bin.join("mr")).unwrap();
        for sub in ["run", "check", "emulate-hadoop"] {
            let script = format!(
                "source <(mr completions bash)\n\
                 COMP_WORDS=(mr {sub} word_c); COMP_CWORD=2; COMP_LINE='mr {sub} word_c'\n\
                 COMP_POINT=${{#COMP_LINE}}; COMPREPLY=(); _mr mr word_c {sub}\n\
                 echo \"${{COMPREPLY[*]}}\""
            );
            let path = format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            );
            let o = Command::new("bash")
                .args(["-c", &script])
                .env("PATH", path)
                .output()
                .unwrap();
            assert_eq!(stdout(&o).trim(), "word_count", "{sub}: {}", stderr(&o));
        }
    }
    w.write("in.txt", "a\n");
    ok(w.mr(&["run", "jobs/word_count", "-i", "in.txt", "-q"]));
}

/// Every page a SEE ALSO line names is printed by `mr man` (`mr man gen`
/// names mr-gen-clicklog(1), which no command printed), and the examples
/// of `mr man` are set no-fill, their columns aligned; no groff warnings.
/// Found by probe /tmp/probe-term.
#[test]
fn every_man_page_named_is_printed_and_examples_stay_aligned() {
    let w = Workdir::new();
    let gen_page = stdout(&ok(w.mr(&["man", "gen"])));
    assert!(gen_page.contains(r"mr\-gen\-clicklog(1)"), "{gen_page}");
    for words in [
        &["gen", "clicklog"][..],
        &["mr-gen-clicklog"],
        &["gen-clicklog"],
    ] {
        let page = stdout(&ok(w.mr(&[&["man"][..], words].concat())));
        assert!(page.contains(".TH mr-gen-clicklog 1"), "{words:?}: {page}");
        assert!(
            page.contains(r"\-\-size") && page.contains(r"\-\-bad\-fraction"),
            "{page}"
        );
    }
    let text = stdout(&ok(w.mr(&["man", "gen", "text"])));
    assert!(text.contains(r"\-\-vocab"), "{text}");
    let o = w.mr(&["man", "gen", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("gen clicklog, gen text"),
        "{}",
        stderr(&o)
    );
    let man = stdout(&ok(w.mr(&["man"])));
    assert!(man.contains(".SH EXAMPLES\n.nf\n"), "{man}");
    if !peer_available("groff", Command::new("groff").arg("-v")) {
        return;
    }
    for words in [
        &[][..],
        &["run"],
        &["gen"],
        &["gen", "clicklog"],
        &["emulate-hadoop"],
    ] {
        let page = w.write("page.1", stdout(&ok(w.mr(&[&["man"][..], words].concat()))));
        let o = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww"])
            .arg(&page)
            .env("MANWIDTH", "80")
            .output()
            .unwrap();
        assert!(
            o.status.success() && o.stderr.is_empty(),
            "{words:?}: {}",
            stderr(&o)
        );
        if words.is_empty() {
            let shown = stdout(&o);
            assert!(
                shown
                    .lines()
                    .any(|l| l.trim_start().starts_with("mr jobs   ")
                        && l.trim_end().ends_with("the jobs this binary knows")),
                "{shown}"
            );
        }
    }
}
