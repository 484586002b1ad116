//! `-r hadoop` and `-r spark` on the real engines, against the local runner.
//!
//! Hadoop: a real Apache Hadoop Streaming 3.5 run by the LocalJobRunner (a map
//! task a split, a real sort and spill, the combiner as Hadoop runs it),
//! assembled by `make-home.sh` from `$MR_HADOOP_SRC`, else `../shared/hadoop`
//! beside the checkout, else the copy vendored in `tests/hadoop-home/`. Spark:
//! pyspark in `local[2]`. Both need Java 17 and pyspark; without them each
//! test prints a one-line note and passes, unless `MR_REQUIRE_PEERS=1` (CI).
//!
//! Every shipped job but `wrong_mean` (wrong on purpose: its result depends on
//! the combiner) is compared, with 1 and 3 reducers, over a nested tree of
//! generated logs or text with `.gz` files, `_SUCCESS`, `_logs/` and hidden
//! files, with 1 MB splits (`-D fs.local.block.size=1000000`: Hadoop
//! Streaming uses the old `mapred` API, whose splits follow the block size
//! and ignore `mapreduce.input.fileinputformat.split.maxsize`). The runs skip
//! bad records; their reported places are checked against the files.
//! A Hadoop job costs 5 to 20 s (a JVM, a task a split), so each test batches
//! several jobs over one tree, and the tests run in parallel.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

/// Where the Hadoop files come from.
fn hadoop_src() -> PathBuf {
    if let Some(s) = std::env::var_os("MR_HADOOP_SRC").filter(|s| !s.is_empty()) {
        return PathBuf::from(s);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let shared = root.join("../shared/hadoop");
    if shared.join("make-home.sh").is_file() {
        return shared;
    }
    root.join("tests/hadoop-home")
}

fn java_and_pyspark() -> bool {
    static HAVE: OnceLock<bool> = OnceLock::new();
    *HAVE.get_or_init(|| {
        let java = peer_available(
            "java (a Java 17 runtime, for Hadoop and Spark)",
            Command::new("java").arg("-version"),
        );
        let pyspark = peer_available(
            "python3 with pyspark (pip install pyspark: Hadoop's and Spark's jars)",
            Command::new("python3").args(["-c", "import pyspark"]),
        );
        java && pyspark
    })
}

/// A local-mode Hadoop home, made once per test process; `None` (with a
/// note on stderr) when Java or pyspark is missing.
fn hadoop_home(test: &str) -> Option<&'static Path> {
    static HOME: OnceLock<Option<PathBuf>> = OnceLock::new();
    let home = HOME.get_or_init(|| {
        if !java_and_pyspark() {
            return None;
        }
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hadoop-home");
        let out = Command::new("bash")
            .arg(hadoop_src().join("make-home.sh"))
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "make-home.sh failed: {}",
            stderr(&out)
        );
        Some(dir)
    });
    if home.is_none() {
        eprintln!("skipped: {test} needs java and pyspark (real Hadoop Streaming)");
    }
    home.as_deref()
}

/// How `hadoop` is found by `mr`.
#[derive(Clone, Copy)]
enum Found {
    /// `$HADOOP_HOME` (bin/hadoop and the streaming jar under it).
    Home,
    /// Only `hadoop` on the PATH: no `HADOOP_*` variable.
    Path,
}

/// `mr ARGS` in `w` with Hadoop's environment, its own Hadoop temp dir, and
/// JVM options that start Hadoop's client faster.
fn mr_hadoop(w: &Workdir, home: &Path, found: Found, args: &[&str]) -> Output {
    mr_hadoop_as(w, home, found, Path::new(MR), args)
}

/// [`mr_hadoop`] with the binary at `exe`.
fn mr_hadoop_as(w: &Workdir, home: &Path, found: Found, exe: &Path, args: &[&str]) -> Output {
    let mut c = Command::new(exe);
    c.args(args)
        .current_dir(w.dir.path())
        .env("TMPDIR", w.path("_tmp"))
        .env(
            "HADOOP_OPTS",
            "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto",
        )
        .stdin(Stdio::null());
    for v in [
        "HADOOP_HOME",
        "HADOOP_PREFIX",
        "HADOOP_INSTALL",
        "HADOOP_MAPRED_HOME",
        "HADOOP_CONF_DIR",
    ] {
        c.env_remove(v);
    }
    match found {
        Found::Home => {
            c.env("HADOOP_HOME", home);
        }
        Found::Path => {
            let path = std::env::var_os("PATH").unwrap_or_default();
            let mut dirs = vec![home.join("bin")];
            dirs.extend(std::env::split_paths(&path));
            c.env("PATH", std::env::join_paths(dirs).unwrap());
        }
    }
    fs::create_dir_all(w.path("_tmp")).unwrap();
    c.output().unwrap()
}

/// `mr ARGS` in `w`, for `-r hadoop` or `-r spark`: Hadoop's home, Spark
/// on 127.0.0.1, the temp dir inside `w`.
fn mr_cluster(w: &Workdir, home: &Path, args: &[&str]) -> Command {
    fs::create_dir_all(w.path("_tmp")).unwrap();
    let mut c = Command::new(MR);
    c.args(args)
        .current_dir(w.dir.path())
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        .env("HADOOP_HOME", home)
        .env("TMPDIR", w.path("_tmp"))
        .stdin(Stdio::null());
    c
}

/// What is beside the output `out` in `w`: `.OUT.mr-tmp-*`, `.OUT.mr-old-*`
/// (and `OUT.*`, as runs before 2026-12-05 named them).
fn beside(w: &Workdir, out: &str) -> Vec<String> {
    fs::read_dir(w.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!("{out}.")) || n.starts_with(&format!(".{out}.mr-")))
        .collect()
}

/// The `-r hadoop` options every run here takes: 1 MB splits, Hadoop's
/// files and the intermediate outputs inside the work dir.
fn hadoop_args(w: &Workdir) -> Vec<String> {
    vec![
        "-r".into(),
        "hadoop".into(),
        "-D".into(),
        "fs.local.block.size=1000000".into(),
        "-D".into(),
        format!("hadoop.tmp.dir={}", w.path("_hadoop").display()),
        "--tmp-dir".into(),
        w.path("_hadoop_steps").display().to_string(),
    ]
}

/// A nested tree of generated click logs: two days, a `.gz`, Hadoop's
/// markers and logs, a hidden file; some lines are bad (cut JSON). The
/// plain files are 1.3 MB each: two splits each with 1 MB splits.
fn log_tree(w: &Workdir) -> &'static str {
    ok(w.mr(&[
        "gen",
        "clicklog",
        "--size",
        "4MB",
        "--seed",
        "11",
        "--files",
        "3",
        "--gz-files",
        "1",
        "--bad-fraction",
        "0.002",
        "--output",
        "gen",
    ]));
    place(
        w,
        &[
            ("gen/part-00000.jsonl", "logs/2013-07-31/part-00000.jsonl"),
            ("gen/part-00001.jsonl", "logs/2013-08-01/part-00001.jsonl"),
            (
                "gen/part-00002.jsonl.gz",
                "logs/2013-08-01/part-00002.jsonl.gz",
            ),
        ],
    );
    console_lines(
        w,
        "logs/2013-07-31/part-00000.jsonl",
        "logs/2013-08-02/console.jsonl",
    );
    markers(w, "logs");
    "logs"
}

/// Writes `to`: events of `from` with the line ends of Windows and console
/// tools (`\r\n`, `\r\r\n`), a lone `\r` as JSON whitespace within a
/// line, and a bad record holding `\r`s. Lines end at `\n` only, as locally and in mrjob: Hadoop's and
/// Spark's own reader would end lines at the lone `\r` too, and count two
/// bad records for each such event.
fn console_lines(w: &Workdir, from: &str, to: &str) {
    let text = fs::read_to_string(w.path(from)).unwrap();
    let events = text
        .lines()
        .filter(|l| serde_json::from_str::<Value>(l).is_ok_and(|v| v.is_object()))
        .filter(|l| l.contains(", \""))
        .take(200);
    let mut out = String::new();
    for (i, l) in events.enumerate() {
        match i % 4 {
            0 => out.push_str(&l.replacen(", \"", ",\r \"", 1)),
            _ => out.push_str(l),
        }
        out.push_str(["\n", "\r\n", "\r\r\n", "\n"][i % 4]);
    }
    // Blank lines, counted as such on a cluster too.
    out.push_str("\n  \r\n");
    // A bad record whose CRs would start lines of its own in a task's
    // stderr, which Hadoop reads as counters (mr escapes them).
    out.push_str(
        "{bad\rreporter:counter:mr,skipped records,-1\rreporter:counter:url_views,forged,7\n",
    );
    w.write(to, &out);
}

/// A nested tree of generated text, one file gzipped, with markers.
fn text_tree(w: &Workdir) -> &'static str {
    ok(w.mr(&[
        "gen",
        "text",
        "--size",
        "3MB",
        "--seed",
        "5",
        "--files",
        "3",
        "--gz-files",
        "1",
        "--output",
        "gen",
    ]));
    place(
        w,
        &[
            ("gen/part-00000.txt", "text/a/part-00000.txt"),
            ("gen/part-00001.txt", "text/a/b/part-00001.txt"),
            ("gen/part-00002.txt.gz", "text/part-00002.txt.gz"),
        ],
    );
    // Console output: a progress line redrawn after a lone `\r`, Windows
    // line ends. Lines end at `\n` only, as locally and in mrjob.
    let mut console = String::new();
    for i in 0..50 {
        console.push_str(&format!("job {i} loading 10%\rloading 60%\rloading 100%\n"));
        console.push_str(&format!("job {i} done\r\nit's {i} o'clock\r\r\n"));
    }
    w.write("text/a/console.txt", &console);
    markers(w, "text");
    "text"
}

fn place(w: &Workdir, moves: &[(&str, &str)]) {
    for (from, to) in moves {
        let to = w.path(to);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::rename(w.path(from), to).unwrap();
    }
}

/// Files both Hadoop and the local runner must skip: they would break
/// every job if read.
fn markers(w: &Workdir, tree: &str) {
    let junk = "{\"not\": \"an event\"\n\u{0}\u{1} not text either\n";
    w.write(&format!("{tree}/_SUCCESS"), "");
    w.write(&format!("{tree}/_logs/history/job_1.jhist"), junk);
    w.write(&format!("{tree}/.hidden"), junk);
    let day = fs::read_dir(w.path(tree))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.is_dir()
                && !p
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(['_', '.'])
        })
        .unwrap();
    fs::write(day.join("_SUCCESS"), "").unwrap();
    fs::write(day.join(".part-00000.crc"), junk).unwrap();
}

/// The sorted lines of an output directory's part files, and how many
/// part files it has.
fn sorted_parts(dir: &Path) -> (Vec<String>, usize) {
    let parts = part_names(dir).len();
    let mut lines: Vec<String> = read_parts(dir).lines().map(str::to_string).collect();
    lines.sort();
    (lines, parts)
}

fn report(w: &Workdir, name: &str) -> Value {
    serde_json::from_str(&fs::read_to_string(w.path(name)).unwrap()).unwrap()
}

/// The `mr` counters of a report that do not depend on the engine (the
/// combiner's and the sort's do, and a fold step's map output records
/// depend on the splits), and the job's own.
fn stable_counters(report: &Value) -> BTreeMap<String, i64> {
    let mut m = BTreeMap::new();
    for (group, names) in report["counters"].as_object().unwrap() {
        for (name, v) in names.as_object().unwrap() {
            let stable = group != "mr"
                || [
                    "input records",
                    "output records",
                    "reduce groups",
                    "skipped records",
                    "blank input lines",
                ]
                .iter()
                .any(|n| name.ends_with(&format!(": {n}")));
            if stable && v.as_i64() != Some(0) {
                m.insert(format!("{group} / {name}"), v.as_i64().unwrap());
            }
        }
    }
    m
}

/// The local runner's run of `job` over `input` with `reducers`: sorted
/// output lines and report.
fn local_run(w: &Workdir, job: &str, input: &str, reducers: usize) -> (Vec<String>, Value) {
    let out = format!("local-{job}-{reducers}");
    let rep = format!("{out}.json");
    ok(w.mr(&[
        "run",
        job,
        "-i",
        input,
        "-o",
        &out,
        "--partitions",
        &reducers.to_string(),
        "--chunksize",
        "1000000",
        "--skip-bad-records",
        "--report",
        &rep,
        "-q",
    ]));
    (sorted_parts(&w.path(&out)).0, report(w, &rep))
}

/// Runs `job` on Hadoop and on the local runner and compares outputs and
/// counters. Returns Hadoop's stderr.
fn compare_on_hadoop(
    w: &Workdir,
    home: &Path,
    found: Found,
    job: &str,
    input: &str,
    reducers: usize,
) -> String {
    let started = Instant::now();
    let out = format!("hadoop-{job}-{reducers}");
    let rep = format!("{out}.json");
    let r = reducers.to_string();
    let mut args: Vec<&str> = vec!["run", job, "-i", input, "-o", &out, "--partitions", &r];
    args.extend(["--skip-bad-records", "--report", &rep]);
    let extra = hadoop_args(w);
    args.extend(extra.iter().map(String::as_str));
    let o = mr_hadoop(w, home, found, &args);
    let err = stderr(&o);
    assert!(
        o.status.success(),
        "{job} on Hadoop failed: {}\n{err}",
        o.status
    );
    let (hadoop_lines, parts) = sorted_parts(&w.path(&out));
    assert!(w.path(&out).join("_SUCCESS").exists());
    assert_eq!(parts, reducers, "{job}: one part file a reducer");
    let (local_lines, local_report) = local_run(w, job, input, reducers);
    assert!(!local_lines.is_empty(), "{job}: no output");
    assert!(
        hadoop_lines == local_lines,
        "{job} with {reducers} reducer(s): Hadoop's {} lines differ from the local runner's {}",
        hadoop_lines.len(),
        local_lines.len()
    );
    // Counters: the same summary and report as the local runner (the
    // reduce groups too: the combiner's are counted apart).
    let hadoop_report = report(w, &rep);
    assert_eq!(hadoop_report["ok"], true);
    assert_eq!(hadoop_report["job"], job);
    assert_eq!(
        stable_counters(&hadoop_report),
        stable_counters(&local_report),
        "{job}: counters differ (Hadoop, local)"
    );
    assert_eq!(
        hadoop_report["skipped_records"],
        local_report["skipped_records"]
    );
    assert!(hadoop_report["counters"]["mr"]["step 0: input bytes"].as_i64() > Some(0));
    // The bytes of the last step's part files, from Hadoop's "Bytes
    // Written" (the summary and report said 0 before). On a local file
    // system Hadoop counts the parts' `.crc` checksums too: 4 bytes a
    // 512, and a header.
    let local_bytes = local_report["totals"]["output_bytes"].as_u64().unwrap_or(0);
    let hadoop_bytes = hadoop_report["totals"]["output_bytes"]
        .as_u64()
        .unwrap_or(0);
    assert!(local_bytes > 0, "{job}: {local_report}");
    assert!(
        (local_bytes..=local_bytes + local_bytes / 100 + 16 * reducers as u64)
            .contains(&hadoop_bytes),
        "{job}: output bytes, Hadoop {hadoop_bytes}, local {local_bytes}"
    );
    let records = local_report["counters"]["mr"]["step 0: input records"]
        .as_i64()
        .unwrap();
    assert!(
        err.contains(&format!("step 0: input records={records}\n")),
        "{err}"
    );
    eprintln!(
        "hadoop: {job}, {reducers} reducer(s): {} lines equal, {:.1}s",
        local_lines.len(),
        started.elapsed().as_secs_f64()
    );
    err
}

/// Checks each `mr-bad-record:` line against the file it names: the record
/// is at its offset, and its line (in the file, or in its split) is true.
/// Returns how many were in a split that does not start its file.
fn check_bad_record_places(stderr: &str, tree_root: &Path) -> usize {
    let mut in_split = 0;
    let mut seen = 0;
    for l in stderr.lines() {
        let Some(rest) = l.strip_prefix("mr-bad-record: ") else {
            continue;
        };
        seen += 1;
        let (header, record) = rest.split_once('\t').unwrap();
        let h: Value = serde_json::from_str(header).unwrap();
        let file = h["file"].as_str().unwrap();
        let path = PathBuf::from(file.strip_prefix("file:").unwrap_or(file));
        assert!(path.starts_with(tree_root), "{file}");
        let bytes = if file.ends_with(".gz") {
            use std::io::Read;
            let mut v = Vec::new();
            flate2::read::MultiGzDecoder::new(fs::File::open(&path).unwrap())
                .read_to_end(&mut v)
                .unwrap();
            v
        } else {
            fs::read(&path).unwrap()
        };
        let offset = h["offset"].as_u64().expect("an offset") as usize;
        // A record holding a CR, or bytes that are not UTF-8, is written
        // escaped (Hadoop would cut it, or replace them).
        let record = match h["escaped"].as_bool() {
            Some(true) => mr_core::output::bad::unescape_record(record.as_bytes()),
            _ => record.as_bytes().to_vec(),
        };
        assert_eq!(
            record.contains(&b'\r') || std::str::from_utf8(&record).is_err(),
            h["escaped"] == true,
            "{l}"
        );
        assert!(
            bytes[offset..].starts_with(&record)
                && bytes[offset + record.len()] == b'\n'
                && (offset == 0 || bytes[offset - 1] == b'\n'),
            "{l}: not the line at byte {offset} of {}",
            path.display()
        );
        let newlines = |range: std::ops::Range<usize>| {
            bytes[range].iter().filter(|&&b| b == b'\n').count() as u64
        };
        match h["line"].as_u64() {
            Some(line) => {
                assert_eq!(line, newlines(0..offset) + 1, "{l}");
                assert!(h.get("split_start").is_none(), "{l}");
            }
            None => {
                // Hadoop's reader drops everything through the first
                // newline at or after the split's start.
                let start = h["split_start"].as_u64().unwrap() as usize;
                assert!(start > 0 && start <= offset, "{l}");
                let line = h["line_in_split"].as_u64().unwrap();
                assert_eq!(line, newlines(start..offset), "{l}");
                in_split += 1;
            }
        }
    }
    assert!(seen > 0, "no mr-bad-record: lines in\n{stderr}");
    in_split
}

#[test]
fn log_jobs_equal_local_runner_on_hadoop_with_3_reducers() {
    let Some(home) = hadoop_home("log_jobs_equal_local_runner_on_hadoop_with_3_reducers") else {
        return;
    };
    let w = Workdir::new();
    let logs = log_tree(&w);
    let mut in_split = 0;
    for job in ["url_views", "video_tagging", "top_lectures"] {
        let err = compare_on_hadoop(&w, home, Found::Home, job, logs, 3);
        in_split += check_bad_record_places(&err, &fs::canonicalize(w.path(logs)).unwrap());
    }
    assert!(
        in_split > 0,
        "no bad record in a split after a file's first"
    );
}

/// Item 6 of issue 10 too: `hadoop` only on the PATH, no `HADOOP_HOME`.
#[test]
fn log_jobs_equal_local_runner_on_hadoop_with_1_reducer_and_hadoop_on_path() {
    let Some(home) = hadoop_home("log_jobs_equal_local_runner_on_hadoop_with_1_reducer") else {
        return;
    };
    let w = Workdir::new();
    let logs = log_tree(&w);
    for job in ["url_views", "video_tagging", "top_lectures"] {
        compare_on_hadoop(&w, home, Found::Path, job, logs, 1);
    }
}

#[test]
fn word_count_equals_local_runner_on_hadoop_with_1_and_3_reducers() {
    let Some(home) = hadoop_home("word_count_equals_local_runner_on_hadoop") else {
        return;
    };
    let w = Workdir::new();
    let text = text_tree(&w);
    for reducers in [1, 3] {
        compare_on_hadoop(&w, home, Found::Home, "word_count", text, reducers);
    }
}

/// A job's output compressed by Hadoop, read back by a later job run
/// locally: `mapreduce.output.fileoutputformat.compress=true` gives
/// `part-NNNNN.deflate` (DefaultCodec: zlib) without a codec named, and
/// `.snappy` or `.lz4` with SnappyCodec or Lz4Codec, the usual choices on a
/// cluster (their jars, snappy-java and lz4-java, come from pyspark here).
/// mr read all three as text, their compressed bytes counted as words; now
/// each reads what the local runner's own uncompressed output gives.
#[test]
fn outputs_hadoop_compressed_with_its_codecs_read_back_locally() {
    if hadoop_home("outputs_hadoop_compressed_with_its_codecs").is_none() {
        return;
    }
    let w = Workdir::new();
    // A home of its own, with the codecs' jars beside Hadoop's.
    let made = Command::new("bash")
        .arg(hadoop_src().join("make-home.sh"))
        .arg(w.path("hh"))
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", stderr(&made));
    let py = Command::new("python3")
        .args([
            "-c",
            "import pyspark, os; print(os.path.dirname(pyspark.__file__))",
        ])
        .output()
        .unwrap();
    let jars = Path::new(stdout(&py).trim()).join("jars");
    for jar in fs::read_dir(&jars).unwrap() {
        let jar = jar.unwrap().path();
        let name = jar.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("snappy-java-") || name.starts_with("lz4-java-") {
            std::os::unix::fs::symlink(&jar, w.path("hh").join(&name)).unwrap();
        }
    }
    let home = w.path("hh");
    let text = text_tree(&w);
    ok(w.mr(&["run", "word_count", "-i", text, "-o", "lout", "-q"]));
    let again = |dir: &str| stdout(&ok(w.mr(&["run", "word_count", "-i", dir])));
    let local = again("lout");
    assert!(local.contains("\"the\"\t"), "{local}");
    for (codec, ext) in [
        ("", "deflate"),
        ("SnappyCodec", "snappy"),
        ("Lz4Codec", "lz4"),
    ] {
        let out = format!("hout-{ext}");
        let mut args = vec!["run", "word_count", "-i", text, "-o", &out, "-q"];
        args.extend(["--partitions", "2", "-D"]);
        args.push("mapreduce.output.fileoutputformat.compress=true");
        let named = format!(
            "mapreduce.output.fileoutputformat.compress.codec=org.apache.hadoop.io.compress.{codec}"
        );
        if !codec.is_empty() {
            args.extend(["-D", &named]);
        }
        let extra = hadoop_args(&w);
        args.extend(extra.iter().map(String::as_str));
        if ext == "deflate" {
            // --cat-output reads the parts back with hadoop fs -text.
            args.push("--cat-output");
        }
        let o = ok(mr_hadoop(&w, &home, Found::Home, &args));
        if ext == "deflate" {
            let sorted = |t: &str| {
                let mut l: Vec<String> = t.lines().map(String::from).collect();
                l.sort();
                l
            };
            let (cat, want) = (sorted(&stdout(&o)), sorted(&read_parts(&w.path("lout"))));
            assert!(
                cat == want,
                "--cat-output: {} lines, {} wanted",
                cat.len(),
                want.len()
            );
        }
        let mut parts: Vec<String> = fs::read_dir(w.path(&out))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("part-"))
            .collect();
        parts.sort();
        assert_eq!(
            parts,
            [format!("part-00000.{ext}"), format!("part-00001.{ext}")]
        );
        assert_eq!(again(&out), local, "{ext}");
    }
}

/// A bad line in a file's second split stops the job; the task's own error
/// reaches the user, with the record's byte offset and its line in the
/// split, both true; the local runner names the same record by its true
/// line number.
#[test]
fn bad_line_in_a_later_split_is_reported_truly() {
    let Some(home) = hadoop_home("bad_line_in_a_later_split_is_reported_truly") else {
        return;
    };
    let w = Workdir::new();
    ok(w.mr(&[
        "gen",
        "clicklog",
        "--size",
        "2500KB",
        "--seed",
        "3",
        "--files",
        "1",
        "--gz-files",
        "0",
        "--output",
        "gen",
    ]));
    let good = fs::read(w.path("gen/part-00000.jsonl")).unwrap();
    // Cut the first line that starts after byte 1,200,000: in the second
    // split (Hadoop's old API splits at min(block size, total / 2)).
    let at = 1_200_000 + good[1_200_000..].iter().position(|&b| b == b'\n').unwrap() + 1;
    let end = at + good[at..].iter().position(|&b| b == b'\n').unwrap();
    let mut data = good[..at].to_vec();
    data.extend_from_slice(&good[at..at + 40]);
    data.extend_from_slice(&good[end..]);
    w.write("in/day/events.jsonl", &data);
    let true_line = good[..at].iter().filter(|&&b| b == b'\n').count() + 1;
    let in_split = data[1_000_000..at].iter().filter(|&&b| b == b'\n').count();

    let extra = hadoop_args(&w);
    let mut args = vec!["run", "url_views", "-i", "in", "-o", "out"];
    args.extend(["--report", "failed.json"]);
    args.extend(extra.iter().map(String::as_str));
    let o = mr_hadoop(&w, home, Found::Home, &args);
    let err = stderr(&o);
    assert!(!o.status.success());
    let failed = report(&w, "failed.json");
    assert_eq!(
        (&failed["ok"], &failed["runner"]),
        (&Value::Bool(false), &Value::from("hadoop"))
    );
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("bad record at file:"),
        "{failed}"
    );
    let abs = fs::canonicalize(w.path("in/day/events.jsonl")).unwrap();
    let want = format!(
        "mr: error: bad record at file:{}, byte {at} (line {in_split} of the split from byte 1000000): invalid JSON",
        abs.display()
    );
    assert!(err.contains(&want), "want {want:?} in:\n{err}");
    assert!(err.contains("the tasks said:"), "{err}");
    assert!(err.contains("Hadoop job job_local"), "{err}");
    // The task's line comes before Hadoop's chatter.
    let last = err.rfind("mr: error: bad record").unwrap();
    assert!(err[last..].lines().count() > 10, "{err}");

    // The local runner: the true line number.
    let o = w.mr(&[
        "run",
        "url_views",
        "-i",
        "in",
        "--chunksize",
        "1000000",
        "-q",
    ]);
    assert!(!o.status.success());
    let want = format!("bad record at in/day/events.jsonl:{true_line}:");
    assert!(
        stderr(&o).contains(&want),
        "want {want:?} in {}",
        stderr(&o)
    );
}

/// `-r spark` reads the nested tree (recursively, markers skipped), equals
/// the local runner, and reports the same counters.
#[test]
fn spark_local_mode_equals_local_runner_with_counters_and_report() {
    if !java_and_pyspark() {
        eprintln!("skipped: spark_local_mode_equals_local_runner needs java and pyspark");
        return;
    }
    let w = Workdir::new();
    let logs = log_tree(&w);
    for (job, reducers) in [("url_views", 3), ("top_lectures", 1)] {
        let started = Instant::now();
        let out = format!("spark-{job}");
        let rep = format!("{out}.json");
        let r = reducers.to_string();
        let o = w.mr_env(
            &[
                "run",
                job,
                "-r",
                "spark",
                "--spark-master",
                "local[2]",
                "-i",
                logs,
                "-o",
                &out,
                "--partitions",
                &r,
                "--skip-bad-records",
                "--report",
                &rep,
            ],
            &[("SPARK_LOCAL_IP", "127.0.0.1")],
        );
        let err = stderr(&o);
        assert!(o.status.success(), "{job} on Spark failed:\n{err}");
        let (lines, parts) = sorted_parts(&w.path(&out));
        assert_eq!(parts, reducers);
        let (local_lines, local_report) = local_run(&w, job, logs, reducers);
        assert!(lines == local_lines, "{job}: Spark's output differs");
        let spark_report = report(&w, &rep);
        assert_eq!(
            stable_counters(&spark_report),
            stable_counters(&local_report),
            "{job}: counters differ (Spark, local)"
        );
        assert!(err.contains("Counters:\n"), "{err}");
        // The input's bytes on disk, as Hadoop counts them (the .gz file's
        // compressed size), markers and hidden files left out.
        let on_disk: u64 = [
            "2013-07-31/part-00000.jsonl",
            "2013-08-01/part-00001.jsonl",
            "2013-08-01/part-00002.jsonl.gz",
            "2013-08-02/console.jsonl",
        ]
        .iter()
        .map(|f| fs::metadata(w.path(&format!("{logs}/{f}"))).unwrap().len())
        .sum();
        assert_eq!(
            spark_report["counters"]["mr"]["step 0: input bytes"].as_u64(),
            Some(on_disk),
            "{job}: {spark_report}"
        );
        eprintln!(
            "spark: {job}, {reducers} reducer(s): {} lines equal, {:.1}s",
            lines.len(),
            started.elapsed().as_secs_f64()
        );
    }
}

/// Issue 11: the ports of mrjob's examples on real Hadoop Streaming, with
/// their options (a nasty `-e`), a file option, `--files`, `--cmdenv` and
/// `-D` forwarded, give the local runner's results. Hadoop's
/// mrjob's own Hadoop runner, the job's steps command steps that run this
/// binary (examples/mrjob/mr_binary_steps.py, as docs/scale-out.md shows):
/// on the real Hadoop Streaming, video_tagging's secondary sort (mrjob's
/// `SORT_VALUES`) and top_lectures' two steps equal the local runner. A
/// Hadoop without HDFS takes mrjob's temp dir as a `file://` URI.
#[test]
fn mrjob_hadoop_runner_with_command_steps_equals_local_runner() {
    let Some(home) = hadoop_home("mrjob_hadoop_runner_with_command_steps_equals_local_runner")
    else {
        return;
    };
    if !peer_available(
        "python3 with mrjob",
        Command::new("python3").args(["-c", "import mrjob"]),
    ) {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let logs = root.join("examples/logs");
    let w = Workdir::new();
    fs::create_dir_all(w.path("_tmp")).unwrap();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![home.join("bin")];
    dirs.extend(std::env::split_paths(&path));
    for (job, steps) in [("video_tagging", "rs"), ("top_lectures", "cr,cr")] {
        let out = w.path(&format!("mrjob-{job}"));
        let o = Command::new("python3")
            .arg(root.join("examples/mrjob/mr_binary_steps.py"))
            .args([
                "-r",
                "hadoop",
                "--no-conf",
                "--no-output",
                "--hadoop-tmp-dir",
            ])
            .arg(format!("file://{}", w.path("_mrjob").display()))
            .arg("--output-dir")
            .arg(format!("file://{}", out.display()))
            .arg(&logs)
            .env("MR_BINARY", MR)
            .env("MR_JOB", job)
            .env("MR_STEPS", steps)
            .env("HADOOP_HOME", home)
            .env("PATH", std::env::join_paths(&dirs).unwrap())
            .env(
                "HADOOP_OPTS",
                "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto",
            )
            .env("TMPDIR", w.path("_tmp"))
            .current_dir(w.dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(o.status.success(), "{job}: {}", stderr(&o));
        let (want, _) = local_run(&w, job, logs.to_str().unwrap(), 1);
        assert!(!want.is_empty(), "{job}");
        assert_eq!(sorted_parts(&out).0, want, "{job}");
    }
}

/// TextOutputFormat adds a tab after a line without one (json-value and
/// raw-value output), which is dropped before comparing; input URIs are
/// `file:/...` in Hadoop and `file:///...` locally.
#[test]
fn mrjob_ports_with_options_and_files_equal_local_runner_on_hadoop() {
    let Some(home) = hadoop_home("mrjob_ports_with_options_and_files_equal_local_runner_on_hadoop")
    else {
        return;
    };
    let w = Workdir::new();
    ok(w.mr(&[
        "gen",
        "text",
        "--size",
        "200KB",
        "--seed",
        "11",
        "--output",
        "text",
        "--files",
        "2",
        "--gz-files",
        "0",
    ]));
    w.write("stops.txt", "the\nand\nof\na\nto\n");
    // grep's basic syntax (\? and \| the operators), quotes, $( ): a
    // command line that must reach the task unchanged.
    let nasty = r#"th[ae]'s\? \|"$(x)""#;
    let jobs: Vec<(&str, Vec<&str>)> = vec![
        ("mr_grep", vec!["-e", nasty, "--cmdenv", "TZ=UTC"]),
        (
            "mr_most_used_word",
            vec![
                "--stop-words-file",
                "stops.txt",
                "--files",
                "stops.txt#other.txt",
            ],
        ),
        ("mr_wc", vec!["-D", "my.setting=1"]),
        ("mr_count_lines_by_file", vec![]),
        ("mr_next_word_stats", vec![]),
        ("mr_words_containing_u_freq_count", vec![]),
        // Sampling more lines than there are: every line, in any order.
        ("mr_log_sampler", vec!["--sample-size", "1000000"]),
        // A last step with a combiner, written as text: it runs without
        // its combiner so that its lines are written as they are (before,
        // every raw-value line got Streaming's trailing tab).
        ("word_count", vec!["--output-protocol", "raw-value"]),
        ("word_count", vec!["--output-protocol", "text"]),
    ];
    let normalize = |lines: Vec<String>| -> Vec<String> {
        let mut v: Vec<String> = lines
            .into_iter()
            // Byte for byte but the URIs' spelling: a raw-value line (mr_grep,
            // mr_most_used_word, mr_log_sampler) gets no tab from Streaming.
            .map(|l| {
                l.replace("\"file:/", "\"file:")
                    .replace("\"file:///", "\"file:")
                    .replace("\"file://", "\"file:")
            })
            .collect();
        v.sort();
        v
    };
    for (i, (job, opts)) in jobs.iter().enumerate() {
        let started = Instant::now();
        let out = format!("hadoop-{job}-{i}");
        let mut args: Vec<&str> = vec!["run", job, "-i", "text", "-o", &out, "-q"];
        args.extend(opts.iter().copied());
        let extra = hadoop_args(&w);
        args.extend(extra.iter().map(String::as_str));
        let o = mr_hadoop(&w, home, Found::Home, &args);
        assert!(o.status.success(), "{job} on Hadoop: {}", stderr(&o));
        let local_out = format!("local-{job}-{i}");
        let mut largs: Vec<&str> = vec!["run", job, "-i", "text", "-o", &local_out, "-q"];
        largs.extend(opts.iter().copied());
        ok(w.mr(&largs));
        let hadoop = normalize(sorted_parts(&w.path(&out)).0);
        let local = normalize(sorted_parts(&w.path(&local_out)).0);
        assert!(!local.is_empty(), "{job}: no output");
        assert_eq!(hadoop, local, "{job}: Hadoop and the local runner differ");
        eprintln!(
            "hadoop: {job}: {} lines equal, {:.1}s",
            local.len(),
            started.elapsed().as_secs_f64()
        );
    }
}

/// Hadoop's `-files` reads its list as URIs split at commas: a binary in
/// `bin dir#1/my mr` or a file option's file `stop, words%.txt` failed with
/// Java's URISyntaxException (or "does not exist"). They are shipped through
/// links at plain paths, the binary run as `./mr`, the file linked under a
/// plain name the task is given.
#[test]
fn a_binary_and_files_at_awkward_paths_run_on_hadoop() {
    let Some(home) = hadoop_home("a_binary_and_files_at_awkward_paths_run_on_hadoop") else {
        return;
    };
    let w = Workdir::new();
    w.write("in put/a b.txt", "cat cat the\ncat dog\nthe\n");
    w.write("stop, words%.txt", "cat\n");
    let exe = w.path("bin dir#1/my mr");
    fs::create_dir_all(exe.parent().unwrap()).unwrap();
    fs::copy(MR, &exe).unwrap();
    let mut args = vec![
        "run",
        "mr_most_used_word",
        "-i",
        "in put",
        "-o",
        "out",
        "-q",
        "--stop-words-file",
        "stop, words%.txt",
    ];
    let extra = hadoop_args(&w);
    args.extend(extra.iter().map(String::as_str));
    let o = mr_hadoop_as(&w, home, Found::Home, &exe, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    // "cat" is the most used word but a stop word: "the" it is.
    assert_eq!(sorted_parts(&w.path("out")).0, ["\"the\""]);
}

/// On Spark a mapper is told its input file and where its split starts, as
/// Hadoop Streaming tells it (`mapreduce_map_input_file`, `_start`): mrjob's
/// `mr_count_lines_by_file` counted every line under `"-"`, and a bad record
/// was `bad record at -:2`. Now the counts are the local runner's, and the
/// record is named by its file and line.
#[test]
fn spark_tells_mappers_their_input_file_and_bad_records_their_place() {
    if hadoop_home("spark_tells_mappers_their_input_file").is_none() {
        return;
    }
    let w = Workdir::new();
    let text = text_tree(&w);
    let spark = ["-r", "spark", "--spark-master", "local[2]", "-q"];
    let run = |args: &[&str]| {
        let mut c = Command::new(MR);
        c.args(args)
            .args(spark)
            .current_dir(w.dir.path())
            .env("SPARK_LOCAL_IP", "127.0.0.1")
            .stdin(Stdio::null());
        c.output().unwrap()
    };
    let by_file = |out: &str| -> Vec<String> {
        let mut v: Vec<String> = out
            .lines()
            .map(|l| l.replace("\"file:///", "\"file:/"))
            .collect();
        v.sort();
        v
    };
    let local = by_file(&stdout(&ok(w.mr(&[
        "run",
        "mr_count_lines_by_file",
        "-i",
        text,
    ]))));
    assert!(
        local.len() > 2 && !local.iter().any(|l| l.starts_with("\"-\"")),
        "{local:?}"
    );
    // --cat-output prints what went to -o; --no-output prints nothing.
    let o = run(&[
        "run",
        "mr_count_lines_by_file",
        "-i",
        text,
        "-o",
        "sout",
        "--cat-output",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(by_file(&stdout(&o)), local);
    let o = run(&["run", "mr_count_lines_by_file", "-i", text, "--no-output"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");

    w.write("bad/events.jsonl", "{\"page_url\": \"/a\"}\n{bad\n");
    let o = run(&["run", "url_views", "-i", "bad"]);
    assert!(!o.status.success());
    // local[2] cuts the 24-byte file in two: the record is the first line
    // of the second split, whose line numbers Spark does not tell.
    let at = format!(
        "bad record at file:{}, line 1 of the split from byte 12",
        w.path("bad/events.jsonl").display()
    );
    assert!(stderr(&o).contains(&at), "{}", stderr(&o));

    // A Latin-1 line: a bad record locally and on Hadoop; Spark decodes it
    // with U+FFFD (in the JVM), and mr says so.
    w.write(
        "latin1/events.jsonl",
        b"{\"page_url\": \"/caf\xe9\"}\n{\"page_url\": \"/a\"}\n",
    );
    let o = run(&["run", "url_views", "-i", "latin1", "--skip-bad-records"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("1 input lines held U+FFFD as Spark read them"),
        "{}",
        stderr(&o)
    );
}

/// A mapper that reads whole files (mrjob's `mapper_raw`): on Hadoop (an
/// input manifest read a line a task), on Spark and under the emulator,
/// `wc_files` gives the local runner's output: every visible file once,
/// whole (a `.gz` decompressed, an empty file counted), hidden ones and
/// Hadoop's markers left out, names with spaces, quotes and `$(...)`
/// passed through and never run by a shell.
#[test]
fn whole_file_job_equals_local_runner_on_hadoop_spark_and_emulate() {
    let Some(home) = hadoop_home("whole_file_job_equals_local_runner_on_hadoop_spark_and_emulate")
    else {
        return;
    };
    let w = Workdir::new();
    let mut big = String::new();
    for i in 0..40_000 {
        big.push_str(&format!("line {i} of a file larger than a split\n"));
    }
    w.write("docs/big.txt", &big);
    w.write("docs/a b.txt", "one two\nthree\n");
    w.write("docs/q\"uote $(touch pwned) 'x'.txt", "nasty name\n");
    w.write("docs/empty.txt", "");
    w.write("docs/sub/deeper.txt", "in a subdirectory\n");
    w.write("docs/_SUCCESS", "");
    w.write("docs/.hidden.txt", "never read\n");
    w.write("docs/_logs/history.txt", "never read\n");
    w.write_gz("docs/zipped.txt.gz", b"zipped\nlines\n");

    let (local, _) = local_run(&w, "wc_files", "docs", 2);
    // Six visible files and the totals.
    assert_eq!(local.len(), 7, "{local:?}");
    assert!(
        local
            .iter()
            .any(|l| l.contains("zipped.txt.gz\"\t[2,2,13]")),
        "{local:?}"
    );
    assert!(
        local.iter().any(|l| l.contains("empty.txt\"\t[0,0,0]")),
        "{local:?}"
    );

    // A file is keyed by its path: the cluster runners are given the
    // absolute one (Hadoop lists a relative input relative, which a task
    // reads the same way, but the keys would differ).
    let docs = w.path("docs").display().to_string();
    let mut args: Vec<String> = ["run", "wc_files", "-i", &docs, "-o", "hadoop-out", "-q"]
        .map(String::from)
        .to_vec();
    args.extend(hadoop_args(&w));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = mr_hadoop(&w, home, Found::Home, &argv);
    assert!(o.status.success(), "on Hadoop: {}", stderr(&o));
    let (hadoop, _) = sorted_parts(&w.path("hadoop-out"));
    assert_eq!(hadoop, local, "Hadoop and the local runner differ");

    let o = w.mr(&[
        "run",
        "wc_files",
        "-r",
        "emulate",
        "-i",
        &docs,
        "-o",
        "emulate-out",
        "-q",
    ]);
    assert!(o.status.success(), "emulated: {}", stderr(&o));
    assert_eq!(sorted_parts(&w.path("emulate-out")).0, local, "emulated");

    if java_and_pyspark() {
        let o = w.mr_env(
            &[
                "run",
                "wc_files",
                "-r",
                "spark",
                "--spark-master",
                "local[2]",
                "-i",
                &docs,
                "-o",
                "spark-out",
                "-q",
            ],
            &[("SPARK_LOCAL_IP", "127.0.0.1")],
        );
        assert!(o.status.success(), "on Spark: {}", stderr(&o));
        assert_eq!(sorted_parts(&w.path("spark-out")).0, local, "Spark");
    }
    assert!(!w.path("pwned").exists() && !w.path("docs/pwned").exists());
}

/// What a reducer's `finish` hook writes in a reduce task that got no key
/// is dropped by Hadoop Streaming (it reads a reducer's output only once
/// `reduce` is called): real Hadoop gives what `-r emulate` gives, which
/// drops it too and says so, not what the local runner keeps.
#[test]
fn a_keyless_reduce_tasks_final_output_is_dropped_on_hadoop_as_emulated() {
    let Some(home) =
        hadoop_home("a_keyless_reduce_tasks_final_output_is_dropped_on_hadoop_as_emulated")
    else {
        return;
    };
    let w = Workdir::new();
    w.write("in/words.txt", "a b\nc a\n");
    let sorted = |o: &Output| {
        let mut v: Vec<String> = stdout(o).lines().map(String::from).collect();
        v.sort();
        v
    };
    let base = [
        "run",
        "reduce_totals",
        "-q",
        "-i",
        "in",
        "--partitions",
        "4",
    ];
    let local = sorted(&ok(w.mr(&base)));
    let emulated = sorted(&ok(w.mr(&[&base[..], &["-r", "emulate"]].concat())));
    assert_ne!(local, emulated, "a task without keys: {local:?}");
    let mut args: Vec<String> = base.map(String::from).to_vec();
    args.extend(hadoop_args(&w));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = mr_hadoop(&w, home, Found::Home, &argv);
    assert!(o.status.success(), "on Hadoop: {}", stderr(&o));
    assert_eq!(sorted(&o), emulated, "Hadoop and the emulator differ");
}

/// A map-only job over a directory on this disk: Spark lists the
/// directory in the file system's order (not by name, as the local runner
/// reads it), so `mr_grep` over logs named by date printed day-09 before
/// day-01 (probe /tmp/probe8-spark repro 02). The driver numbers the output
/// parts in the local runner's order of the files: the same lines in the
/// same order, on stdout and in the part files.
#[test]
fn a_map_only_job_over_a_directory_keeps_the_local_order_on_spark() {
    if !java_and_pyspark() {
        eprintln!("skipped: a_map_only_job_over_a_directory_keeps_the_local_order_on_spark");
        return;
    }
    let w = Workdir::new();
    // Made in an order other than their names', with a subdirectory.
    for day in [9, 12, 6, 1, 3, 11, 2, 10, 5, 8, 4, 7] {
        let lines: String = (0..(day * 3))
            .map(|i| format!("hit day-{day:02} line {i}\nmiss\n"))
            .collect();
        w.write(&format!("logs/day-{day:02}.log"), &lines);
    }
    w.write("logs/a/inner.log", "hit in a/\n");
    w.write("logs/a.log", "hit in a.log\n");
    let grep = ["run", "mr_grep", "-e", "hit", "-q", "-i", "logs"];
    let local = stdout(&ok(w.mr(&grep)));
    let spark = ["-r", "spark", "--spark-master", "local[2]"];
    let env = [("SPARK_LOCAL_IP", "127.0.0.1")];
    let o = w.mr_env(&[&grep[..], &spark[..]].concat(), &env);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), local, "printed lines");
    ok(w.mr(&[&grep[..], &["-o", "local-out"]].concat()));
    let o = w.mr_env(
        &[&grep[..], &spark[..], &["-o", "spark-out"]].concat(),
        &env,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        read_parts(&w.path("spark-out")),
        read_parts(&w.path("local-out"))
    );
}

/// A Spark run on a local output holds the output's lock, as a local run
/// does: a local run on that output meanwhile is refused (it found the
/// output free and swept the driver's live staging as a dead run's).
#[test]
fn a_spark_run_holds_its_local_output() {
    if !java_and_pyspark() {
        return;
    }
    let w = Workdir::new();
    w.write("in/a.txt", "a b a\n");
    let mut spark = Command::new(MR)
        .args(["run", "word_count", "-i", "in", "-o", "out", "-q"])
        .args(["-r", "spark", "--spark-master", "local[1]"])
        .current_dir(w.dir.path())
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !w.path(".out.mr-lock").exists() {
        assert!(spark.try_wait().unwrap().is_none(), "Spark ended first");
        assert!(started.elapsed().as_secs() < 60, "no lock taken");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let o = w.mr(&["run", "word_count", "-i", "in", "-o", "out", "-q"]);
    let ran = spark.wait_with_output().unwrap();
    assert!(ran.status.success(), "on Spark: {}", stderr(&ran));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("another mr run"), "{}", stderr(&o));
    assert_eq!(sorted_parts(&w.path("out")).0, ["\"a\"\t2", "\"b\"\t1"]);
    assert!(!w.path(".out.mr-lock").exists());
}

/// A failed run on Hadoop or Spark leaves no output (before, an empty
/// directory that the next run refused as existing). `--overwrite` on
/// Hadoop and Spark keeps the old output until the new one is complete: a failed run leaves it byte for byte (and no staging
/// directory); a run without `--overwrite` stops at once; a directory that
/// is not a finished job's output (no `_SUCCESS`) or a file is never
/// replaced; a successful run replaces the output and leaves nothing beside.
#[test]
fn outputs_on_hadoop_are_complete_or_absent_and_replaced_only_when_done() {
    outputs_are_complete_or_absent_and_replaced_only_when_done("hadoop");
}

#[test]
fn outputs_on_spark_are_complete_or_absent_and_replaced_only_when_done() {
    outputs_are_complete_or_absent_and_replaced_only_when_done("spark");
}

/// One engine a test, so that the two run side by side.
fn outputs_are_complete_or_absent_and_replaced_only_when_done(only: &str) {
    let Some(home) = hadoop_home(&format!(
        "outputs_on_{only}_are_complete_or_absent_and_replaced_only_when_done"
    )) else {
        return;
    };
    let w = Workdir::new();
    w.write(
        "in/a.jsonl",
        "{\"page_url\": \"/a\"}\n{\"page_url\": \"/b\"}\n",
    );
    w.write("bad/a.jsonl", "{\"page_url\": \"/a\"}\n{bad\n");
    w.write("mine/notes.txt", "precious\n");
    let snapshot = |dir: &str| -> BTreeMap<String, Vec<u8>> {
        fs::read_dir(w.path(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    fs::read(&p).unwrap(),
                )
            })
            .collect()
    };
    let beside = |out: &str| beside(&w, out);
    let engines: Vec<(&str, Vec<String>)> = {
        let mut v = vec![("hadoop", hadoop_args(&w))];
        if java_and_pyspark() {
            let spark = ["-r", "spark", "--spark-master", "local[2]"];
            v.push(("spark", spark.map(String::from).to_vec()));
        }
        v
    };
    for (engine, engine_args) in engines.iter().filter(|(e, _)| *e == only) {
        let out = format!("{engine}-out");
        let abs = |rel: &str| w.path(rel).display().to_string();
        let run_job = |job: &str, input: &str, output: &str, extra: &[&str]| {
            let mut args = vec!["run", job, "-i", input, "-o", output, "-q"];
            args.extend(extra);
            args.extend(engine_args.iter().map(String::as_str));
            mr_cluster(&w, home, &args).output().unwrap()
        };
        let run =
            |input: &str, output: &str, extra: &[&str]| run_job("url_views", input, output, extra);
        let (input, bad, output) = (abs("in"), abs("bad"), abs(&out));
        // A failed run leaves no output: Hadoop and Spark create it when the
        // job starts and leave it empty when it fails, and the next run
        // would refuse it as existing.
        let o = run(&bad, &output, &[]);
        assert!(
            !o.status.success(),
            "{engine}: a bad record without --skip-bad-records"
        );
        assert!(!w.path(&out).exists(), "{engine}: a failed run left {out}");
        assert_eq!(
            beside(&out),
            Vec::<String>::new(),
            "{engine}: left beside the output"
        );
        // A reducer that fails after the others finished: Hadoop's second
        // file output committer (the default of some Hadoop 3 releases,
        // this one's among them) moved their part files into the output as
        // each ended, and they stayed there, without `_SUCCESS`.
        w.write(
            "red/a.txt",
            "a b c d e f g h i j\nhello PANIC-IN-REDUCE there\n",
        );
        // Into an empty directory made beforehand, which is taken as no
        // output: a failed run leaves it as it was (it was removed before
        // the steps ran).
        fs::create_dir(w.path(&out)).unwrap();
        let o = run_job("panic_on", &abs("red"), &output, &["--partitions", "3"]);
        assert!(!o.status.success(), "{engine}: the reducer panics");
        assert_eq!(
            fs::read_dir(w.path(&out))
                .map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
                .ok(),
            Some(vec![]),
            "{engine}: a failed run did not leave the empty {out} as it was\n{}",
            stderr(&o)
        );
        assert_eq!(beside(&out), Vec::<String>::new(), "{engine}: beside");
        // The empty directory is taken, as the local runner takes it
        // (Hadoop alone refuses any existing output).
        let o = run(&input, &output, &[]);
        assert!(o.status.success(), "{engine}: {}", stderr(&o));
        let first = snapshot(&out);
        assert!(first.contains_key("_SUCCESS"), "{engine}: {first:?}");

        let o = run(&input, &output, &[]);
        assert!(!o.status.success(), "{engine}: no --overwrite, yet it ran");
        assert!(
            stderr(&o).contains("already exists"),
            "{engine}: {}",
            stderr(&o)
        );

        let o = run(&bad, &output, &["--overwrite"]);
        assert!(
            !o.status.success(),
            "{engine}: a bad record without --skip-bad-records"
        );
        assert_eq!(
            snapshot(&out),
            first,
            "{engine}: a failed --overwrite run changed the output"
        );
        assert_eq!(
            beside(&out),
            Vec::<String>::new(),
            "{engine}: left beside the output"
        );

        let o = run(&bad, &output, &["--overwrite", "--skip-bad-records"]);
        assert!(o.status.success(), "{engine}: {}", stderr(&o));
        let (lines, _) = sorted_parts(&w.path(&out));
        assert_eq!(lines, ["\"/a\"\t1"], "{engine}: the new output");
        assert_eq!(
            beside(&out),
            Vec::<String>::new(),
            "{engine}: left beside the output"
        );

        // A notebook saved beside the part files (and the engine's own
        // .crc checksums) would be lost with the old output: refused.
        let notebook = w.path(&format!("{out}/analysis.ipynb"));
        fs::write(&notebook, "{}\n").unwrap();
        let before = snapshot(&out);
        let o = run(&input, &output, &["--overwrite"]);
        assert!(!o.status.success(), "{engine}: replaced a notebook");
        assert!(
            stderr(&o).contains("holds files a job does not write")
                && stderr(&o).contains("analysis.ipynb"),
            "{engine}: {}",
            stderr(&o)
        );
        assert_eq!(snapshot(&out), before, "{engine}: the output changed");
        // Saved while the run ran: the new output goes in, the old one
        // (with the notebook) is kept beside it. On Hadoop only, to keep the
        // suite short: the Spark driver lists the old output with the same
        // rule as its refusal above.
        if *engine == "hadoop" {
            fs::remove_file(&notebook).unwrap();
            w.write(
                "saves/a.txt",
                format!("c d\nWRITE-FILE {}\n", notebook.display()),
            );
            let o = run_job("panic_on", &abs("saves"), &output, &["--overwrite"]);
            assert!(o.status.success(), "{engine}: {}", stderr(&o));
            let (lines, _) = sorted_parts(&w.path(&out));
            assert_eq!(lines, ["\"c\"\t1", "\"d\"\t1"], "{engine}: the new output");
            let kept = beside(&out);
            assert_eq!(kept.len(), 1, "{engine}: {kept:?} {}", stderr(&o));
            assert!(
                stderr(&o).contains("was kept in") && stderr(&o).contains(&kept[0]),
                "{engine}: {}",
                stderr(&o)
            );
            assert_eq!(
                fs::read_to_string(w.path(&format!("{}/analysis.ipynb", kept[0]))).unwrap(),
                "written by panic_on\n"
            );
            fs::remove_dir_all(w.path(&kept[0])).unwrap();
        }

        for target in ["mine", "mine/notes.txt"] {
            let o = run(&input, &abs(target), &["--overwrite"]);
            assert!(!o.status.success(), "{engine}: replaced {target}");
            assert!(
                stderr(&o).contains("will not replace"),
                "{engine}: {}",
                stderr(&o)
            );
        }
        assert_eq!(
            fs::read_to_string(w.path("mine/notes.txt")).unwrap(),
            "precious\n"
        );
    }
}

/// Ctrl-C (or a scheduler's SIGTERM) while a job runs on Hadoop or Spark.
/// Before, mr exited after a second and left the job running: without
/// `--overwrite` it wrote OUT after mr had said "interrupted", and with it
/// its staging directory stayed beside OUT forever; a terminal's Ctrl-C,
/// which reached the JVM too, left `OUT/_temporary`. Now mr stops the job
/// (SIGTERM to its process group), removes what it wrote, and exits 130:
/// OUT is absent, or the old output exactly as it was, and nothing is left
/// beside it or running.
#[test]
fn an_interrupted_hadoop_run_stops_its_job_and_leaves_no_output() {
    an_interrupted_cluster_run_stops_its_job_and_leaves_no_output("hadoop");
}

#[test]
fn an_interrupted_spark_run_stops_its_job_and_leaves_no_output() {
    an_interrupted_cluster_run_stops_its_job_and_leaves_no_output("spark");
}

/// One engine a test, so that the two run side by side.
fn an_interrupted_cluster_run_stops_its_job_and_leaves_no_output(only: &str) {
    let Some(home) = hadoop_home(&format!("an_interrupted_{only}_run_stops_its_job")) else {
        return;
    };
    let w = Workdir::new();
    // Enough 1 MB splits that the job is still running when interrupted.
    let line = "the quick brown fox jumps over the lazy dog again and again\n";
    w.write("in/big.txt", line.repeat(40_000_000 / line.len()));
    w.write("old/a.txt", "old words\n");
    let engines: Vec<(&str, Vec<String>)> = {
        let mut v = vec![("hadoop", hadoop_args(&w))];
        if java_and_pyspark() {
            let spark = [
                "-r",
                "spark",
                "--spark-master",
                "local[1]",
                "--partitions",
                "2",
            ];
            v.push(("spark", spark.map(String::from).to_vec()));
        }
        v
    };
    let beside = |out: &str| beside(&w, out);
    for (engine, engine_args) in engines.iter().filter(|(e, _)| *e == only) {
        for overwrite in [false, true] {
            let out = format!("{engine}-{overwrite}");
            let output = w.path(&out).display().to_string();
            let mut args = vec!["run", "word_count", "-o", &output, "-q"];
            if overwrite {
                ok(w.mr(&["run", "word_count", "-i", "old", "-o", &output, "-q"]));
                args.push("--overwrite");
            }
            let before = if overwrite {
                read_parts(&w.path(&out))
            } else {
                String::new()
            };
            let input = w.path("in").display().to_string();
            args.extend(["-i", &input]);
            args.extend(engine_args.iter().map(String::as_str));
            let child = mr_cluster(&w, home, &args)
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            // Under way: the job writes where its output goes, beside OUT
            // (also without --overwrite: OUT is never written into), and
            // has not committed it yet (its committer's `_temporary` is
            // there): on a loaded host a fixed wait could outlast the job.
            let under_way = || {
                beside(&out)
                    .iter()
                    .any(|b| w.path(b).join("_temporary").exists())
            };
            let deadline = Instant::now() + std::time::Duration::from_secs(240);
            while !under_way() {
                assert!(Instant::now() < deadline, "{engine}: never under way");
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            let sent = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(sent.success());
            let o = child.wait_with_output().unwrap();
            let ctx = format!("{engine}, overwrite {overwrite}: {}", stderr(&o));
            assert_eq!(o.status.code(), Some(130), "{ctx}");
            assert!(stderr(&o).contains("job was stopped"), "{ctx}");
            if overwrite {
                assert_eq!(read_parts(&w.path(&out)), before, "{ctx}");
                assert!(w.path(&out).join("_SUCCESS").exists(), "{ctx}");
            } else {
                assert!(
                    !w.path(&out).exists(),
                    "{ctx}: {:?}",
                    fs::read_dir(w.path(&out)).map(|d| d.count())
                );
            }
            assert_eq!(beside(&out), Vec::<String>::new(), "{ctx}");
            // Nothing of the job is left running (its tasks run this binary
            // on files of this work dir).
            std::thread::sleep(std::time::Duration::from_millis(500));
            let left = Command::new("pgrep").args(["-f", &input]).output().unwrap();
            assert_eq!(stdout(&left), "", "{ctx}: still running");
        }
        // Interrupted as the job ends (its _SUCCESS written): the complete
        // output stays and is said to (it was claimed removed, and a retry
        // then failed on it). The signal may also come after mr is done.
        let out = format!("{engine}-ending");
        let output = w.path(&out).display().to_string();
        let old = w.path("old").display().to_string();
        let mut args = vec!["run", "word_count", "-o", &output, "-q", "-i", &old];
        args.extend(engine_args.iter().map(String::as_str));
        let child = mr_cluster(&w, home, &args)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + std::time::Duration::from_secs(240);
        while !w.path(&out).join("_SUCCESS").exists() {
            assert!(Instant::now() < deadline, "{engine}: never finished");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let o = child.wait_with_output().unwrap();
        let ctx = format!("{engine}, ending: {}", stderr(&o));
        match o.status.code() {
            Some(130) => assert!(stderr(&o).contains("had finished: its output"), "{ctx}"),
            code => assert_eq!(code, Some(0), "{ctx}"),
        }
        assert_eq!(
            read_parts(&w.path(&out)).trim(),
            "\"old\"\t1\n\"words\"\t1",
            "{ctx}"
        );
    }
}

/// Hadoop's local job runner runs tasks in the client's directory and
/// leaves a file already there under a `-files` link's name: an old `./mr`
/// ran instead of the binary shipped, a `./stop.txt` was read instead of
/// the `--stop-words-file` given, with exit 0 (probe /tmp/probe-hadoop
/// repro 01). Refused before anything runs.
#[test]
fn a_file_shadowing_what_hadoop_ships_is_refused() {
    let Some(home) = hadoop_home("a_file_shadowing_what_hadoop_ships_is_refused") else {
        return;
    };
    let w = Workdir::new();
    w.write("in/a.txt", "the fox\n");
    w.write("conf/stop.txt", "the\n");
    w.write("stop.txt", "fox\n");
    let o = mr_cluster(
        &w,
        home,
        &[
            "run",
            "mr_most_used_word",
            "-r",
            "hadoop",
            "-i",
            "in",
            "-o",
            "out",
        ],
    )
    .args(["--stop-words-file", "conf/stop.txt"])
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("./stop.txt in the current directory is another file, not"),
        "{}",
        stderr(&o)
    );
    assert!(!w.path("out").exists());
    // ./mr shadowing the binary: refused, saying what it is.
    let refused_for = |what: &str| {
        let o = mr_cluster(
            &w,
            home,
            &["run", "word_count", "-r", "hadoop", "-i", "in", "-o", "out"],
        )
        .output()
        .unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let says = format!("./mr in the current directory is {what}, not");
        assert!(stderr(&o).contains(&says), "{}", stderr(&o));
    };
    // An old build as ./mr: the tasks would have run it.
    fs::remove_file(w.path("stop.txt")).unwrap();
    w.write("mr", "#!/bin/sh\necho '\"IMPOSTOR\"\t1'\n");
    refused_for("another file");
    // A directory of the binary's name: the crate `mr new` made, when run
    // from its parent (probe /tmp/probe8-author).
    fs::remove_file(w.path("mr")).unwrap();
    fs::create_dir(w.path("mr")).unwrap();
    refused_for("a directory");
}

/// A `hadoop fs -mv` of the new output into place that fails after moving
/// part of it (a rename done file by file on an object store) or all of it
/// (a client that fails after the rename): OUT is never left half-written,
/// the old output is put back whole, and what is said is where things are.
/// Before, the old output was moved back *into* the half-filled OUT, and
/// the message said it was put back (probe /tmp/probe-hadoop repro 02).
#[test]
fn a_failed_move_of_the_new_output_leaves_old_or_new_whole_on_hadoop() {
    let Some(home) =
        hadoop_home("a_failed_move_of_the_new_output_leaves_old_or_new_whole_on_hadoop")
    else {
        return;
    };
    let w = Workdir::new();
    w.write("in/a.txt", "a b c\nb c\nc\n");
    // A home whose `hadoop` is the real one but for its second `fs -mv`
    // (the new output's, after the old one's move aside).
    let wrapped = w.path("wrapped-home");
    fs::create_dir_all(wrapped.join("bin")).unwrap();
    for e in fs::read_dir(home).unwrap() {
        let e = e.unwrap();
        if e.file_name() != "bin" {
            std::os::unix::fs::symlink(e.path(), wrapped.join(e.file_name())).unwrap();
        }
    }
    let real = home.join("bin/hadoop");
    let count = w.path("mv-count");
    let script = format!(
        r#"#!/bin/bash
if [ "$1 $2" = "fs -mv" ]; then
  n=$(( $(cat '{count}' 2>/dev/null || echo 0) + 1 )); echo $n > '{count}'
  if [ $n = 2 ] && [ "$MODE" = part ]; then
    mkdir -p "$4"; mv "$3"/part-00000 "$4"/; echo "mv: failed part way" >&2; exit 1
  fi
  if [ $n = 2 ] && [ "$MODE" = all ]; then
    '{real}' "$@"; echo "mv: failed after the rename" >&2; exit 1
  fi
fi
exec '{real}' "$@"
"#,
        count = count.display(),
        real = real.display()
    );
    let wrapper = wrapped.join("bin/hadoop");
    fs::write(&wrapper, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).unwrap();
    let files = |dir: &str| -> BTreeMap<String, Vec<u8>> {
        let mut m = BTreeMap::new();
        for e in fs::read_dir(w.path(dir)).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if !name.starts_with('.') {
                m.insert(name, fs::read(&p).unwrap());
            }
        }
        m
    };
    for mode in ["part", "all"] {
        let _ = fs::remove_file(&count);
        for left in beside(&w, "out").iter().chain([&"out".to_string()]) {
            let _ = fs::remove_dir_all(w.path(left));
        }
        // The old output: a local run's (one part file).
        ok(w.mr(&[
            "run",
            "word_count",
            "-i",
            "in",
            "-o",
            "out",
            "-q",
            "--partitions",
            "1",
        ]));
        let old = files("out");
        let mut args = vec![
            "run",
            "word_count",
            "-i",
            "in",
            "-o",
            "out",
            "--overwrite",
            "-q",
        ];
        args.extend(["--partitions", "2"]);
        let hadoop = hadoop_args(&w);
        args.extend(hadoop.iter().map(String::as_str));
        let o = mr_cluster(&w, &wrapped, &args)
            .env("MODE", mode)
            .output()
            .unwrap();
        let err = stderr(&o);
        if mode == "part" {
            assert!(!o.status.success(), "{err}");
            assert_eq!(files("out"), old, "part: OUT is not the old output: {err}");
            assert!(
                err.contains("failed part way") && err.contains("was put back"),
                "{err}"
            );
            // The new output's two parts: one in staging, one moved back out.
            let mut new_parts = 0;
            for name in beside(&w, "out") {
                assert!(
                    name.contains(".mr-tmp-") || name.contains(".mr-part-"),
                    "{name}"
                );
                assert!(err.contains(&name), "{name} unnamed: {err}");
                new_parts += fs::read_dir(w.path(&name))
                    .unwrap()
                    .filter(|e| {
                        e.as_ref()
                            .unwrap()
                            .file_name()
                            .to_string_lossy()
                            .starts_with("part-")
                    })
                    .count();
            }
            assert_eq!(new_parts, 2, "{err}");
        } else {
            // All of it moved: the new output is in place, whole.
            assert!(o.status.success(), "{err}");
            assert!(err.contains("the new output is in place, whole"), "{err}");
            let new = files("out");
            assert!(
                new.contains_key("_SUCCESS") && new.contains_key("part-00001"),
                "{new:?}"
            );
            assert_eq!(beside(&w, "out"), Vec::<String>::new());
        }
    }
}

/// Another run writes the output while an `--overwrite` run runs (a retried
/// pipeline task whose first attempt is still going): `hadoop fs -mv` and
/// Hadoop's `rename` would put the new output *inside* the other run's.
/// The run sees it, takes its output back out, and fails; the other run's
/// output is left exactly as it wrote it.
#[test]
fn overwrite_on_hadoop_and_spark_never_nests_into_an_output_written_meanwhile() {
    let Some(home) =
        hadoop_home("overwrite_on_hadoop_and_spark_never_nests_into_an_output_written_meanwhile")
    else {
        return;
    };
    let w = Workdir::new();
    let lines: String = (0..20_000)
        .map(|i| format!("{{\"page_url\": \"/p{}\"}}\n", i % 500))
        .collect();
    w.write("in/a.jsonl", &lines);
    let mut engines = vec![("hadoop", hadoop_args(&w))];
    let spark = ["-r", "spark", "--spark-master", "local[2]"];
    engines.push(("spark", spark.map(String::from).to_vec()));
    for (engine, engine_args) in &engines {
        let out = format!("{engine}-race");
        let mut caught = false;
        // The other run must land between this run's last step starting and
        // its output moving in: a lost race is tried again.
        for _attempt in 0..3 {
            let _ = fs::remove_dir_all(w.path(&out));
            let (input, output) = (w.path("in"), w.path(&out));
            let (input, output) = (input.to_string_lossy(), output.to_string_lossy());
            let mut args = vec![
                "run",
                "url_views",
                "-i",
                &input,
                "-o",
                &output,
                "-q",
                "--overwrite",
            ];
            args.extend(engine_args.iter().map(String::as_str));
            let mut child = mr_cluster(&w, home, &args)
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let staging_started = || {
                fs::read_dir(w.dir.path()).unwrap().any(|e| {
                    let name = e.unwrap().file_name().to_string_lossy().into_owned();
                    name.starts_with(&format!(".{out}.mr-tmp-"))
                })
            };
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(240);
            while !staging_started() && child.try_wait().unwrap().is_none() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{engine}: no staging dir"
                );
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            // The other run's output.
            w.write(&format!("{out}/part-00000"), "\"/other\"\t1\n");
            w.write(&format!("{out}/_SUCCESS"), "");
            let o = child.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&o.stderr).into_owned();
            if o.status.success() {
                continue; // moved in before the other run wrote: try again
            }
            assert!(err.contains("another run wrote"), "{engine}: {err}");
            let mut left: Vec<String> = fs::read_dir(w.path(&out))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| !n.ends_with(".crc"))
                .collect();
            left.sort();
            assert_eq!(left, ["_SUCCESS", "part-00000"], "{engine}: {err}");
            assert_eq!(
                fs::read_to_string(w.path(&format!("{out}/part-00000"))).unwrap(),
                "\"/other\"\t1\n"
            );
            // The new output is whole, beside it, where the message says.
            let staging = fs::read_dir(w.dir.path())
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| {
                    p.file_name()
                        .unwrap()
                        .to_string_lossy()
                        .starts_with(&format!(".{out}.mr-tmp-"))
                })
                .unwrap_or_else(|| panic!("{engine}: no new output beside: {err}"));
            let name = staging.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                err.contains("the new output is in ") && err.contains(&name),
                "{engine}: {err}"
            );
            let (new, _) = sorted_parts(&staging);
            assert_eq!(new.len(), 500, "{engine}");
            caught = true;
            break;
        }
        assert!(
            caught,
            "{engine}: the other run never landed in time (3 tries)"
        );
    }
}

/// A job's counters in groups named as Hadoop's own (`Job Counters`,
/// `Map-Reduce Framework`, `File System Counters`, `Shuffle Errors`) are
/// reported as the local runner reports them; Hadoop's own counters in
/// those groups are not taken for the job's. Before, every group of such
/// a name was left out of the summary and the report under -r hadoop.
#[test]
fn job_counters_in_groups_named_as_hadoops_are_reported_on_hadoop() {
    let Some(home) = hadoop_home("job_counters_in_groups_named_as_hadoops_are_reported_on_hadoop")
    else {
        return;
    };
    let w = Workdir::new();
    let mut input = String::from("a b a\n");
    for group in [
        "Job Counters",
        "Map-Reduce Framework",
        "File System Counters",
        "Shuffle Errors",
        "File Input Format Counters",
        "mine",
    ] {
        input.push_str(&format!("COUNT\t{group}\tseen\nCOUNT\t{group}\tseen\n"));
    }
    w.write("in/a.txt", &input);
    let (local, local_report) = local_run(&w, "panic_on", "in", 1);
    let mut args: Vec<String> = ["run", "panic_on", "-i", "in", "-o", "out"]
        .map(String::from)
        .to_vec();
    args.extend(["--report".to_string(), "hadoop.json".to_string()]);
    args.extend(hadoop_args(&w));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = mr_hadoop(&w, home, Found::Home, &argv);
    assert!(o.status.success(), "on Hadoop: {}", stderr(&o));
    assert_eq!(sorted_parts(&w.path("out")).0, local);
    let hadoop_report = report(&w, "hadoop.json");
    let jobs = |r: &Value| {
        stable_counters(r)
            .into_iter()
            .filter(|(k, _)| !k.starts_with("mr / "))
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(jobs(&local_report).len(), 6, "{local_report}");
    assert_eq!(jobs(&hadoop_report), jobs(&local_report));
    // The summary shows them as the local runner's does.
    let err = stderr(&o);
    for group in ["Job Counters", "Map-Reduce Framework", "Shuffle Errors"] {
        assert!(err.contains(&format!("\n  {group}\n    seen=2\n")), "{err}");
    }
}

/// Spark in a `C` locale (cron, a bare container): its JVM decoded file
/// names by the locale, and a run over `in/` holding `é ü/a.txt` read
/// nothing, with exit 0 (`é ü` named as the input: "Input Pattern
/// file:/.../?? ?? matches 0 files"). spark-submit is given
/// `LC_ALL=C.UTF-8`, as `hadoop` is.
#[test]
fn spark_in_a_c_locale_reads_a_non_ascii_directory() {
    if !java_and_pyspark() {
        return;
    }
    let w = Workdir::new();
    w.write("in/é ü/a.txt", "école x\n");
    let local = ok(w.mr(&["run", "word_count", "-i", "in", "-q"]));
    assert_eq!(stdout(&local), "\"x\"\t1\n\"école\"\t1\n");
    let o = w.mr_env(
        &["run", "word_count", "-i", "in", "-q", "-r", "spark"],
        &[
            ("SPARK_LOCAL_IP", "127.0.0.1"),
            ("LC_ALL", "C"),
            ("LANG", "C"),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), stdout(&local));
}

/// A file whose name holds a newline (`a\nb.txt`): Hadoop reads it, and
/// tells its mapper its name, newline and all; but a whole-file job's
/// manifest was made from `hadoop fs -ls -R`, which prints the name as it
/// is, and the line was cut there: `wc_files` failed, its task opening
/// `/.../a` (found with the real Hadoop Streaming 3.5). The listing's lines
/// that start no entry now continue the name before; the results are the
/// local runner's, on Hadoop and on Spark (which lists files itself).
#[test]
fn a_file_with_a_newline_in_its_name_is_read_on_hadoop() {
    let Some(home) = hadoop_home("a_file_with_a_newline_in_its_name_is_read_on_hadoop") else {
        return;
    };
    let w = Workdir::new();
    w.write("docs/a\nb.txt", "one two\nthree\n");
    w.write("docs/c.txt", "four\n");
    w.write("docs/d\n-rw-r--r--.txt", "five six\n");
    let docs = w.path("docs").display().to_string();
    for job in ["wc_files", "mr_count_lines_by_file"] {
        let (local, _) = local_run(&w, job, &docs, 1);
        assert_eq!(
            local.len(),
            if job == "wc_files" { 4 } else { 3 },
            "{local:?}"
        );
        assert!(local.iter().any(|l| l.contains("a\\nb.txt")), "{local:?}");
        let out = format!("hadoop-{job}");
        let mut args: Vec<String> = ["run", job, "-i", &docs, "-o", &out, "-q"]
            .map(String::from)
            .to_vec();
        args.extend(hadoop_args(&w));
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = mr_hadoop(&w, home, Found::Home, &argv);
        assert!(o.status.success(), "{job} on Hadoop: {}", stderr(&o));
        // Hadoop names a local file `file:/...`; a task gives the job the
        // local runner's `file:///...` (TaskContext::input_uri), so even
        // mr_count_lines_by_file's keys are the same.
        let hadoop = sorted_parts(&w.path(&out)).0;
        assert_eq!(hadoop, local, "{job}: Hadoop and the local runner differ");
    }
}

/// `-r hadoop` without `--output` (refused before: "-r hadoop needs
/// --output"), as mrjob's Hadoop runner and `-r spark` take it: the last
/// step writes under the run's intermediate directory (`--tmp-dir`), whose
/// results are printed on stdout byte for byte as the local runner prints
/// them (three reducers' parts merged in key order, also when their lines
/// hold no key, as `json-value`'s do; a map-only step's one
/// part as it is; a two-step job), and the directory is then removed, with
/// the local copy the results were printed from. What was in `--tmp-dir`
/// before is left as it was.
#[test]
fn hadoop_without_output_prints_what_the_local_runner_prints() {
    let Some(home) = hadoop_home("hadoop_without_output_prints_what_the_local_runner_prints")
    else {
        return;
    };
    let w = Workdir::new();
    let mut text = String::new();
    for i in 0..3000 {
        text.push_str(&format!("w{} common x{} the end\n", i % 97, i % 13));
    }
    w.write("in/a.txt", &text);
    w.write("in/sub/b.txt", "common words\nand the end\n");
    w.write("one/a.txt", &text);
    let logs = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/logs")
        .display()
        .to_string();
    w.write("_hadoop_steps/keep/notes.txt", "mine\n");
    let runs: [(&str, &[&str]); 3] = [
        // Lines without their key (json-value): merged by key all the
        // same (they were merged by their text, the counts: probe 04).
        (
            "word_count",
            &[
                "-i",
                "in",
                "--partitions",
                "3",
                "--output-protocol",
                "json-value",
            ],
        ),
        ("mr_grep", &["-i", "one", "-e", "w1[0-9] "]),
        ("top_lectures", &["-i", &logs, "--partitions", "2"]),
    ];
    for (job, args) in runs {
        let local = ok(w.mr(&[&["run", job, "-q"][..], args].concat()));
        assert!(!local.stdout.is_empty(), "{job}");
        let mut all: Vec<String> = ["run", job].map(String::from).to_vec();
        all.extend(args.iter().map(|a| a.to_string()));
        all.extend(hadoop_args(&w));
        let argv: Vec<&str> = all.iter().map(String::as_str).collect();
        let o = mr_hadoop(&w, home, Found::Home, &argv);
        assert!(o.status.success(), "{job} on Hadoop: {}", stderr(&o));
        assert!(
            o.stdout == local.stdout,
            "{job}: Hadoop printed\n{}\nthe local runner\n{}",
            stdout(&o),
            stdout(&local)
        );
        assert!(stderr(&o).contains(&format!("mr: {job} finished on Hadoop")));
        assert!(!stderr(&o).contains("output in"), "{}", stderr(&o));
        // Nothing of the run is left, here or in --tmp-dir; what was there is.
        let left: Vec<String> = fs::read_dir(w.path("_hadoop_steps"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, ["keep"], "{job}");
        assert_eq!(
            fs::read_to_string(w.path("_hadoop_steps/keep/notes.txt")).unwrap(),
            "mine\n"
        );
        let tmp: Vec<String> = fs::read_dir(w.path("_tmp"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("mr-"))
            .collect();
        assert!(tmp.is_empty(), "{job}: {tmp:?}");
    }
}

/// Without `--output`, where the results come to is checked before any job
/// runs (probe /tmp/probe-new, repros 01-03): a `--tmp-dir` Hadoop cannot
/// read back (a glob character, a `:`) or a `$TMPDIR` that cannot hold the
/// results fails at once, every step run for nothing before; a relative or
/// empty `$TMPDIR` still brings the results here (a relative one made
/// `file://mr-ID-output/output`, its first component read as a host: the
/// results went to `/output`).
#[test]
fn hadoop_without_output_checks_where_the_results_go_before_the_job() {
    let Some(home) =
        hadoop_home("hadoop_without_output_checks_where_the_results_go_before_the_job")
    else {
        return;
    };
    let w = Workdir::new();
    w.write(
        "in.jsonl",
        "{\"page_url\": \"a\"}\n{\"page_url\": \"b\"}\n{\"page_url\": \"a\"}\n",
    );
    let run = |tmpdir: &str, tmp_dir: &str| {
        fs::create_dir_all(w.path(tmp_dir)).unwrap();
        let args: Vec<String> = [
            "run",
            "url_views",
            "-i",
            "in.jsonl",
            "-r",
            "hadoop",
            "-D",
            &format!("hadoop.tmp.dir={}", w.path("_hadoop").display()),
            "--tmp-dir",
            &w.path(tmp_dir).display().to_string(),
        ]
        .map(String::from)
        .to_vec();
        mr_cluster(
            &w,
            home,
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        )
        .env("TMPDIR", tmpdir)
        .env("HADOOP_OPTS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        .output()
        .unwrap()
    };
    for (tmpdir, tmp_dir, why) in [
        ("_tmp", "t[x]", "glob character"),
        ("_tmp", "t:c", "glob character"),
        ("/nonexistent-tmpdir", "steps", "set TMPDIR"),
    ] {
        let o = run(tmpdir, tmp_dir);
        assert!(!o.status.success(), "{tmp_dir}: {}", stderr(&o));
        assert!(stderr(&o).contains(why), "{tmp_dir}: {}", stderr(&o));
        assert!(!stderr(&o).contains("Running job"), "{}", stderr(&o));
        assert_eq!(
            fs::read_dir(w.path(tmp_dir)).unwrap().count(),
            0,
            "{tmp_dir}"
        );
    }
    fs::create_dir_all(w.path("rel")).unwrap();
    for tmpdir in ["rel", ""] {
        let o = run(tmpdir, "steps");
        assert!(o.status.success(), "TMPDIR={tmpdir:?}: {}", stderr(&o));
        assert_eq!(stdout(&o), "\"a\"\t2\n\"b\"\t1\n", "TMPDIR={tmpdir:?}");
        assert_eq!(fs::read_dir(w.path("steps")).unwrap().count(), 0);
        assert_eq!(fs::read_dir(w.path("rel")).unwrap().count(), 0);
    }
}

/// The report an earlier run wrote in its output (`--report OUT/run.json`)
/// is part of that output on every runner: `-r hadoop` and `-r spark
/// --overwrite` refused the output for it ("files a job does not write:
/// run.json"), which the local runner replaces (probe /tmp/probe15-cluster
/// repro 01). A file of the user's there still keeps the output.
#[test]
fn overwrite_on_hadoop_and_spark_replaces_a_report_written_in_the_output() {
    let Some(home) =
        hadoop_home("overwrite_on_hadoop_and_spark_replaces_a_report_written_in_the_output")
    else {
        return;
    };
    let w = Workdir::new();
    w.write(
        "in/a.jsonl",
        "{\"page_url\": \"/a\"}\n{\"page_url\": \"/b\"}\n",
    );
    let spark = ["-r", "spark", "--spark-master", "local[2]"].map(String::from);
    for (engine, engine_args) in [("hadoop", hadoop_args(&w)), ("spark", spark.to_vec())] {
        let out = format!("{engine}-out");
        let report = format!("{out}/run.json");
        let run = |extra: &[&str]| {
            let mut args = vec!["run", "url_views", "-i", "in", "-o", &out, "-q"];
            args.extend(extra);
            args.extend(engine_args.iter().map(String::as_str));
            mr_cluster(&w, home, &args).output().unwrap()
        };
        let first = run(&["--report", &report]);
        assert!(first.status.success(), "{engine}: {}", stderr(&first));
        let again = run(&["--overwrite", "--report", &report]);
        assert!(again.status.success(), "{engine}: {}", stderr(&again));
        assert!(w.path(&out).join("_SUCCESS").is_file(), "{engine}");
        // A file of the user's (not a report of this output) keeps it.
        w.write(&format!("{out}/notes.json"), "{\"mine\": true}\n");
        let kept = run(&["--overwrite"]);
        assert!(!kept.status.success(), "{engine}");
        assert!(
            stderr(&kept).contains("notes.json") && !stderr(&kept).contains("run.json"),
            "{engine}: {}",
            stderr(&kept)
        );
        assert!(w.path(&out).join("notes.json").is_file(), "{engine}");
    }
}
