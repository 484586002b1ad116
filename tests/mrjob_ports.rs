//! The ports of mrjob's example jobs (examples/src/mr_*.rs) against mrjob
//! 0.7.4's own examples (shipped in its wheel, `python3 -m
//! mrjob.examples.NAME`), on the same generated text: the decoded outputs
//! must be equal. Skipped with a note when mrjob is missing (fails under
//! MR_REQUIRE_PEERS=1).

mod common;
use common::*;
use serde_json::Value;
use std::fs;
use std::path::Path;
use std::process::Command;

fn have_mrjob() -> bool {
    peer_available(
        "mrjob (pip install mrjob==0.7.4)",
        Command::new("python3").args(["-c", "import mrjob.examples.mr_wc"]),
    )
}

/// Generated text (two plain files), absolute paths.
fn text(w: &Workdir, seed: &str) -> Vec<String> {
    ok(w.mr(&[
        "gen",
        "text",
        "--size",
        "120KB",
        "--seed",
        seed,
        "--output",
        "text",
        "--files",
        "2",
        "--gz-files",
        "0",
    ]));
    // The parts, not mr gen's hidden list of them (readers skip it).
    let mut files: Vec<String> = std::fs::read_dir(w.path("text"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    files
}

/// `python3 -m mrjob.examples.NAME ARGS` in the work dir; its stdout.
fn mrjob(w: &Workdir, name: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .args(["-m", &format!("mrjob.examples.{name}")])
        .args(args)
        .current_dir(w.dir.path())
        .env("TMPDIR", w.path("_tmp"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mrjob {name} failed: {}",
        stderr(&out)
    );
    stdout(&out)
}

/// `mr run NAME ARGS`; its stdout.
fn mr(w: &Workdir, name: &str, args: &[&str]) -> String {
    let mut all = vec!["run", name, "-q"];
    all.extend_from_slice(args);
    stdout(&ok(w.mr(&all)))
}

/// JSON-protocol lines decoded and sorted.
fn records(out: &str) -> Vec<(Value, Value)> {
    let mut v: Vec<(Value, Value)> = out
        .lines()
        .map(|l| {
            let (k, v) = l
                .split_once('\t')
                .unwrap_or_else(|| panic!("no tab: {l:?}"));
            (
                serde_json::from_str(k).unwrap(),
                serde_json::from_str(v).unwrap(),
            )
        })
        .collect();
    v.sort_by_key(|(k, v)| (k.to_string(), v.to_string()));
    v
}

fn sorted_lines(out: &str) -> Vec<&str> {
    let mut v: Vec<&str> = out.lines().collect();
    v.sort();
    v
}

#[test]
fn mr_wc_matches_mrjob_and_gives_zeros_on_empty_input() {
    if !have_mrjob() {
        return;
    }
    let w = Workdir::new();
    let files = text(&w, "21");
    let mut args: Vec<&str> = files.iter().map(String::as_str).collect();
    let ours = records(&mr(&w, "mr_wc", &args));
    args.splice(0..0, ["-r", "inline", "--no-conf"]);
    let theirs = records(&mrjob(&w, "mr_wc", &args));
    assert_eq!(ours, theirs);
    assert_eq!(ours.len(), 3);

    let empty = w.write("empty.txt", "").display().to_string();
    let ours = records(&mr(&w, "mr_wc", &[&empty]));
    let theirs = records(&mrjob(&w, "mr_wc", &["-r", "inline", "--no-conf", &empty]));
    assert_eq!(ours, theirs);
    assert!(ours.iter().all(|(_, v)| v == 0), "{ours:?}");

    // As Hadoop would run it: no file, no map task, a warning; stdin (no
    // input named) is read, and was warned of as no file (probe
    // /tmp/probe-port repro 01).
    fs::create_dir(w.path("none")).unwrap();
    let o = w.mr(&["run", "mr_wc", "-q", "-r", "emulate", "-i", "none"]);
    assert!(
        stderr(&o).contains("holds no file to read"),
        "{}",
        stderr(&o)
    );
    let o = w.mr_stdin(&["run", "mr_wc", "-q", "-r", "emulate"], Some(b"the cat\n"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("no file"), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 3, "{}", stdout(&o));
}

/// mrjob's testing guide's example of `mapper_final` with a reducer: one
/// count, whatever the map tasks (several here: small splits).
#[test]
fn mr_count_lines_right_matches_mrjob() {
    if !have_mrjob() {
        return;
    }
    let w = Workdir::new();
    let files = text(&w, "27");
    let mut args: Vec<&str> = files.iter().map(String::as_str).collect();
    let lines: usize = files
        .iter()
        .map(|f| fs::read_to_string(f).unwrap().lines().count())
        .sum();
    let mut split = args.clone();
    split.extend(["--chunksize", "16KB"]);
    let ours = records(&mr(&w, "mr_count_lines_right", &split));
    args.splice(0..0, ["-r", "inline", "--no-conf"]);
    let theirs = records(&mrjob(&w, "mr_count_lines_right", &args));
    assert_eq!(ours, theirs);
    assert_eq!(ours, vec![(Value::Null, Value::from(lines))]);

    let empty = w.write("empty.txt", "").display().to_string();
    let ours = records(&mr(&w, "mr_count_lines_right", &[&empty]));
    let theirs = records(&mrjob(
        &w,
        "mr_count_lines_right",
        &["-r", "inline", "--no-conf", &empty],
    ));
    assert_eq!(ours, theirs);
    assert_eq!(ours, vec![(Value::Null, Value::from(0))]);
}

#[test]
fn mr_grep_matches_mrjob_with_its_expression_option() {
    if !have_mrjob() {
        return;
    }
    let w = Workdir::new();
    let mut files = text(&w, "22");
    w.write("ops.txt", "C++ and e+x\n2*3 = 6\nthe (th)e\n");
    files.push("ops.txt".into());
    // grep's basic expressions: + ? | ( ) { } are plain characters, their
    // backslashed forms the operators; a leading * is a star.
    for expr in [
        "the",
        "th[ae]n",
        "^[A-Z]",
        "e+",
        r"the\|and",
        r"\(th\)\{1,\}e",
        r"s\+ ",
        "*",
        "[[:digit:]]\\{3\\}",
    ] {
        let mut args = vec!["-e", expr];
        args.extend(files.iter().map(String::as_str));
        let ours = mr(&w, "mr_grep", &args);
        let mut margs = vec!["-r", "local", "--no-conf"];
        margs.extend(&args);
        let theirs = mrjob(&w, "mr_grep", &margs);
        assert!(!ours.is_empty(), "{expr}: no match");
        assert_eq!(sorted_lines(&ours), sorted_lines(&theirs), "-e {expr}");
    }
    // The expression is required, as in mrjob.
    let o = w.mr(&["run", "mr_grep", &files[0]]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--expression"), "{}", stderr(&o));
}

#[test]
fn mr_most_used_word_matches_mrjob_with_and_without_a_stop_words_file() {
    if !have_mrjob() {
        return;
    }
    let w = Workdir::new();
    let files = text(&w, "23");
    let inputs: Vec<&str> = files.iter().map(String::as_str).collect();
    let ours = mr(&w, "mr_most_used_word", &inputs);
    let mut margs = vec!["-r", "inline", "--no-conf"];
    margs.extend(&inputs);
    let theirs = mrjob(&w, "mr_most_used_word", &margs);
    let word: Value = serde_json::from_str(ours.trim()).unwrap();
    assert_eq!(word, serde_json::from_str::<Value>(theirs.trim()).unwrap());

    // A stop-words file that also stops the winner: another word wins.
    let mut stop = mr_examples::mr_most_used_word::STOP_WORDS.to_string();
    stop.push_str(word.as_str().unwrap());
    stop.push('\n');
    let stop_file = w.write("my stop words.txt", &stop).display().to_string();
    let mut args = vec!["--stop-words-file", stop_file.as_str()];
    args.extend(&inputs);
    let ours2 = mr(&w, "mr_most_used_word", &args);
    let mut margs = vec!["-r", "inline", "--no-conf"];
    margs.extend(&args);
    let theirs2 = mrjob(&w, "mr_most_used_word", &margs);
    assert_eq!(
        serde_json::from_str::<Value>(ours2.trim()).unwrap(),
        serde_json::from_str::<Value>(theirs2.trim()).unwrap()
    );
    assert_ne!(ours2, ours);

    // The same file with classic Mac line ends (Python reads a line to a
    // `\r`), named by an abbreviation of the option (argparse takes any
    // unambiguous prefix).
    let cr_file = w.write("cr stop words.txt", stop.replace('\n', "\r"));
    let cr_file = cr_file.display().to_string();
    let mut args = vec!["--stop-words", cr_file.as_str()];
    args.extend(&inputs);
    let ours3 = mr(&w, "mr_most_used_word", &args);
    let mut margs = vec!["-r", "inline", "--no-conf"];
    margs.extend(&args);
    let theirs3 = mrjob(&w, "mr_most_used_word", &margs);
    assert_eq!(ours3, ours2);
    assert_eq!(
        serde_json::from_str::<Value>(ours3.trim()).unwrap(),
        serde_json::from_str::<Value>(theirs3.trim()).unwrap()
    );

    // Python's `strip()` also takes the separators U+001C..U+001F off a
    // stop word, as Rust's `trim()` does not (probe /tmp/probe8-mrjob
    // repro 02).
    let sep = stop.replace(
        &format!("\n{}\n", word.as_str().unwrap()),
        &format!("\n\u{1c}{}\u{1f}\n", word.as_str().unwrap()),
    );
    assert_ne!(sep, stop);
    let sep_file = w.write("sep stop words.txt", sep).display().to_string();
    let mut args = vec!["--stop-words-file", sep_file.as_str()];
    args.extend(&inputs);
    assert_eq!(mr(&w, "mr_most_used_word", &args), ours2);
}

#[test]
fn mr_count_lines_by_file_matches_mrjob() {
    if !have_mrjob() {
        return;
    }
    let w = Workdir::new();
    let files = text(&w, "24");
    let mut args: Vec<&str> = files.iter().map(String::as_str).collect();
    let ours = records(&mr(&w, "mr_count_lines_by_file", &args));
    args.splice(0..0, ["-r", "inline", "--no-conf"]);
    let theirs = records(&mrjob(&w, "mr_count_lines_by_file", &args));
    assert_eq!(ours, theirs);
    assert_eq!(ours[0].0, Value::String(format!("file://{}", files[0])));

    // A path through `..` (`-i ../logs` from a subdirectory) is keyed as
    // Hadoop, Spark and the emulator key it: folded, `file:///w/logs/f`
    // (probe /tmp/probe8-spark repro 01: `file:///w/sub/../logs/f`).
    let file = Path::new(&files[0]);
    let dir = file.parent().unwrap();
    let through = format!(
        "{}/../{}/{}",
        dir.display(),
        dir.file_name().unwrap().to_str().unwrap(),
        file.file_name().unwrap().to_str().unwrap()
    );
    let folded = records(&mr(&w, "mr_count_lines_by_file", &[&through]));
    assert_eq!(folded[0].0, ours[0].0);
    let emulated = records(&mr(
        &w,
        "mr_count_lines_by_file",
        &["-r", "emulate", &through],
    ));
    assert_eq!(emulated, folded);
}

#[test]
fn mr_next_word_stats_matches_mrjob() {
    if !have_mrjob() {
        return;
    }
    let w = Workdir::new();
    let files = text(&w, "25");
    let mut args: Vec<&str> = files.iter().map(String::as_str).collect();
    let ours = records(&mr(&w, "mr_next_word_stats", &args));
    args.splice(0..0, ["-r", "inline", "--no-conf"]);
    let theirs = records(&mrjob(&w, "mr_next_word_stats", &args));
    assert!(ours.len() > 100, "{}", ours.len());
    assert_eq!(ours.len(), theirs.len());
    for (a, b) in ours.iter().zip(&theirs) {
        assert_eq!(a, b);
    }
}

#[test]
fn mr_words_containing_u_freq_count_matches_mrjob() {
    if !have_mrjob() {
        return;
    }
    let w = Workdir::new();
    let files = text(&w, "26");
    let mut args: Vec<&str> = files.iter().map(String::as_str).collect();
    let ours = records(&mr(&w, "mr_words_containing_u_freq_count", &args));
    // `-r local`: mrjob runs its `grep -i u` pre-filter in a shell there.
    args.splice(0..0, ["-r", "local", "--no-conf"]);
    let theirs = records(&mrjob(&w, "mr_words_containing_u_freq_count", &args));
    assert!(ours.len() > 50, "{}", ours.len());
    assert_eq!(ours, theirs);
}

/// A sample is `--sample-size` distinct input lines, written as they were
/// read (tabs, quotes, backslashes, UTF-8), as mrjob's; the same
/// `--random-seed` gives the same sample on one thread or two.
#[test]
fn mr_log_sampler_samples_like_mrjob_and_repeats_with_a_seed() {
    if !have_mrjob() {
        return;
    }
    let w = Workdir::new();
    let lines: Vec<String> = (0..3000)
        .map(|i| format!("{i}\tGET /a?q=\"{i}\" \\ é {}", "x".repeat(i % 7)))
        .collect();
    let input = w
        .write("log.txt", lines.join("\n") + "\n")
        .display()
        .to_string();
    let is_sample = |out: &str, n: usize| {
        let got: Vec<&str> = out.lines().collect();
        let distinct: std::collections::BTreeSet<&str> = got.iter().copied().collect();
        assert_eq!(got.len(), n, "{out}");
        assert_eq!(distinct.len(), n, "{out}");
        assert!(got.iter().all(|l| lines.iter().any(|x| x == l)), "{out}");
    };
    let ours = mr(&w, "mr_log_sampler", &["--sample-size", "40", &input]);
    is_sample(&ours, 40);
    let theirs = mrjob(
        &w,
        "mr_log_sampler",
        &["-r", "inline", "--no-conf", "--sample-size", "40", &input],
    );
    is_sample(&theirs, 40);

    let seeded = |j: &str| {
        let args = ["--sample-size", "40", "--random-seed", "9", "-j", j, &input];
        mr(&w, "mr_log_sampler", &args)
    };
    assert_eq!(seeded("1"), seeded("2"));
    assert_ne!(seeded("1"), ours, "a fresh seed each run, or a fixed one?");
    // And as Hadoop runs it (`-r emulate`: a process a task, file:/ URIs).
    let emulated = mr(
        &w,
        "mr_log_sampler",
        &[
            "-r",
            "emulate",
            "--sample-size",
            "40",
            "--random-seed",
            "9",
            &input,
        ],
    );
    assert_eq!(emulated, seeded("1"));
    // A sample larger than the input is the whole input.
    let all = mr(&w, "mr_log_sampler", &["--sample-size", "5000", &input]);
    let mut all: Vec<&str> = all.lines().collect();
    all.sort();
    let mut want: Vec<&str> = lines.iter().map(String::as_str).collect();
    want.sort();
    assert_eq!(all, want);
    // With an expected length, lines are dropped in the mapper: the sample
    // is at most the size asked for.
    let few = mr(
        &w,
        "mr_log_sampler",
        &["--sample-size", "40", "--expected-length", "3000", &input],
    );
    assert!(few.lines().count() <= 40, "{few}");
    // The size is required, as in mrjob.
    let o = w.mr(&["run", "mr_log_sampler", &input]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--sample-size"), "{}", stderr(&o));
}

/// `word_count` is mrjob's `mr_word_freq_count`, on generated text and on a
/// file that is not all UTF-8 (Latin-1 and Windows-1252 lines beside UTF-8
/// ones, as old corpora are): mrjob reads such a line as Latin-1, and so
/// does word_count, rather than failing on it.
#[test]
fn word_count_matches_mr_word_freq_count_on_text_that_is_not_all_utf8() {
    if !have_mrjob() {
        return;
    }
    let w = Workdir::new();
    let mut files = text(&w, "27");
    let mixed = b"Caf\xe9 au lait, na\xefve CAF\xc9\r\n\
        \x93Smart quotes\x94 \x96 and \xb5s, \xaa \xb2 \xbd\n\
        caf\xc3\xa9 in UTF-8, \xc3\x28 broken\n\
        \xff\xfe\x00w\x00o\x00r\x00d\n";
    files.push(w.write("mixed.txt", &mixed[..]).display().to_string());
    let mut args: Vec<&str> = files.iter().map(String::as_str).collect();
    let ours = records(&mr(&w, "word_count", &args));
    args.splice(0..0, ["-r", "inline", "--no-conf"]);
    let theirs = records(&mrjob(&w, "mr_word_freq_count", &args));
    assert!(ours.len() > 50, "{}", ours.len());
    assert!(ours == theirs, "word_count and mr_word_freq_count differ");
    // The Latin-1 lines were read, not dropped: words only they hold.
    for word in ["µs", "ÿþ", "ª"] {
        let n = ours.iter().find(|(k, _)| k == word).map(|(_, v)| v.clone());
        assert_eq!(n, Some(serde_json::json!(1)), "{word}");
    }
}

/// mrjob's `mr_text_classifier` (`mapper_raw`: one whole file a document;
/// four steps) on mrjob's own sample documents, copied into the work dir,
/// with the defaults and with every option changed: the same keys; the
/// same documents, field by field, and the same n-gram scores, floats
/// within 1e-9 relative (sums run in another order). mrjob is given the
/// files (its runners do not list a directory for `mapper_raw`), mr the
/// directory.
#[test]
fn mr_text_classifier_matches_mrjob_on_its_sample_documents() {
    if !have_mrjob() {
        return;
    }
    let w = Workdir::new();
    let where_ = Command::new("python3")
        .args([
            "-c",
            "import mrjob.examples, os; \
             print(os.path.join(os.path.dirname(mrjob.examples.__file__), 'docs-to-classify'))",
        ])
        .output()
        .unwrap();
    let samples = std::path::PathBuf::from(stdout(&where_).trim());
    let docs = w.path("docs");
    std::fs::create_dir_all(&docs).unwrap();
    let mut files = Vec::new();
    for e in std::fs::read_dir(&samples).unwrap() {
        let from = e.unwrap().path();
        let to = docs.join(from.file_name().unwrap());
        std::fs::copy(&from, &to).unwrap();
        files.push(to.display().to_string());
    }
    files.sort();
    assert_eq!(files.len(), 16, "{samples:?}: {files:?}");
    let docs = docs.display().to_string();

    let option_sets: [&[&str]; 3] = [
        &[],
        &["--max-ngram-size", "2", "--no-test-set"],
        &[
            "--min-df",
            "1",
            "--max-df",
            "3",
            "--max-ngram-size",
            "3",
            "--short-doc-threshold",
            "200",
            "--stop-words",
            // Python's strip() takes U+001C..U+001F off too.
            "The, AND,\u{1c}i\u{1f}",
        ],
    ];
    let mut max_rel = 0f64;
    for opts in option_sets {
        let mut args = opts.to_vec();
        args.push(&docs);
        let ours = records(&mr(&w, "mr_text_classifier", &args));
        let mut margs = vec!["-r", "inline", "--no-conf"];
        margs.extend(opts);
        margs.extend(files.iter().map(String::as_str));
        let theirs = records(&mrjob(&w, "mr_text_classifier", &margs));

        let by_key = |recs: Vec<(Value, Value)>| {
            let n = recs.len();
            let m: std::collections::BTreeMap<String, Value> =
                recs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            assert_eq!(m.len(), n, "{opts:?}: a key written twice");
            m
        };
        let (ours, theirs) = (by_key(ours), by_key(theirs));
        let keys =
            |m: &std::collections::BTreeMap<String, Value>| m.keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&ours), keys(&theirs), "{opts:?}: keys differ");
        let docs_out = ours.keys().filter(|k| k.starts_with(r#"["doc","#)).count();
        assert_eq!(docs_out, 16, "{opts:?}");
        assert!(ours.len() > 16 + 20, "{opts:?}: {} records", ours.len());
        for (k, a) in &ours {
            assert_close(a, &theirs[k], &format!("{opts:?} {k}"), &mut max_rel);
        }
        let in_test_set = ours.values().filter(|v| v["in_test_set"] == true).count();
        if opts.is_empty() {
            assert!(
                (1..16).contains(&in_test_set),
                "{in_test_set} in the test set"
            );
        } else if opts.contains(&"--no-test-set") {
            assert_eq!(in_test_set, 0);
        }
        eprintln!(
            "{opts:?}: {} records ({docs_out} documents) alike",
            ours.len()
        );
    }
    eprintln!("largest relative float difference: {max_rel:e}");

    // The counters, on the documents and one more whose id is taken (which
    // of the two is kept is up to the shuffle, so only counters compare).
    std::fs::copy(&files[0], w.path("docs/happiness-whitman.txt")).unwrap();
    files.push(w.path("docs/happiness-whitman.txt").display().to_string());
    let ours = ok(w.mr(&["run", "mr_text_classifier", "--max-df", "3", &docs]));
    let theirs = Command::new("python3")
        .args(["-m", "mrjob.examples.mr_text_classifier"])
        .args(["-r", "inline", "--no-conf", "--max-df", "3"])
        .args(&files)
        .current_dir(w.dir.path())
        .env("TMPDIR", w.path("_tmp"))
        .output()
        .unwrap();
    assert!(theirs.status.success(), "{}", stderr(&theirs));
    for group in ["Exceeded max df", "Document key collision"] {
        let ours = counters_of(&stderr(&ours), group);
        // Both write commas in counter names as semicolons.
        let theirs = counters_of(&stderr(&theirs), group);
        assert!(!ours.is_empty(), "no {group} counter");
        assert_eq!(ours, theirs, "{group}");
    }
}

/// The counters of `group` in a job's report (mr's or mrjob's), sorted
/// `NAME=VALUE` lines.
fn counters_of(report: &str, group: &str) -> String {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut lines = report.lines().skip_while(|l| l.trim() != group);
    let Some(head) = lines.next() else {
        return String::new();
    };
    let mut names: Vec<&str> = lines
        .take_while(|l| indent(l) > indent(head))
        .map(str::trim)
        .collect();
    names.sort();
    names.join("\n")
}

/// `a` and `b` are the same JSON, floats within 1e-9 relative; keeps the
/// largest relative difference seen in `max_rel`.
fn assert_close(a: &Value, b: &Value, at: &str, max_rel: &mut f64) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            let scale = x.abs().max(y.abs());
            let rel = if scale == 0.0 {
                0.0
            } else {
                (x - y).abs() / scale
            };
            *max_rel = max_rel.max(rel);
            assert!(rel <= 1e-9, "{at}: {x} != {y}");
        }
        (Value::Object(x), Value::Object(y)) => {
            let kx: Vec<&String> = x.keys().collect();
            let ky: Vec<&String> = y.keys().collect();
            assert_eq!(kx, ky, "{at}: fields differ");
            for (k, v) in x {
                assert_close(v, &y[k], &format!("{at}.{k}"), max_rel);
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}: lengths differ");
            for (i, (v, u)) in x.iter().zip(y).enumerate() {
                assert_close(v, u, &format!("{at}[{i}]"), max_rel);
            }
        }
        _ => assert_eq!(a, b, "{at}"),
    }
}

/// mrjob's `mr_phone_to_url` (`mapper_raw` on Common Crawl WET files, read
/// with warcio) on three WET files generated from a seed: two gzipped one
/// member a record, as Common Crawl's `.warc.wet.gz`, one plain. Phone
/// numbers in several formats, glued to letters (found) or digits (not);
/// records of other types and Content-Types; URLs with ports, user info,
/// IPv6 hosts, no path, Latin-1 and UTF-8; payloads that are not UTF-8; a
/// host with more than 1000 numbers (dropped) and one with exactly 1000
/// (kept); numbers on several hosts, ties broken by the URL rule. The
/// decoded outputs must be equal.
#[test]
fn mr_phone_to_url_matches_mrjob_on_generated_wet_files() {
    if !have_mrjob()
        || !peer_available(
            "warcio (pip install warcio)",
            Command::new("python3").args(["-c", "import warcio"]),
        )
    {
        return;
    }
    /// SplitMix64: the same files on every run and platform.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            ((z ^ (z >> 31)) % n as u64) as usize
        }
        fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
            &xs[self.below(xs.len())]
        }
    }
    /// A record: its first line, fields, content, two blank lines.
    fn record(version: &str, fields: &[(&str, &[u8])], content: &[u8]) -> Vec<u8> {
        let mut r = format!("{version}\r\n").into_bytes();
        for (name, value) in fields {
            r.extend_from_slice(format!("{name}: ").as_bytes());
            r.extend_from_slice(value);
            r.extend_from_slice(b"\r\n");
        }
        r.extend_from_slice(format!("Content-Length: {}\r\n\r\n", content.len()).as_bytes());
        r.extend_from_slice(content);
        r.extend_from_slice(b"\r\n\r\n");
        r
    }
    /// A `conversion` record of `url` with Content-Type `ctype`.
    fn page(url: &[u8], ctype: &str, text: &[u8], n: usize) -> Vec<u8> {
        let id = format!("<urn:uuid:{n:08x}-0000-4000-8000-000000000000>");
        record(
            "WARC/1.0",
            &[
                ("WARC-Type", b"conversion"),
                ("WARC-Target-URI", url),
                ("WARC-Date", b"2018-02-18T00:00:00Z"),
                ("WARC-Record-ID", id.as_bytes()),
                ("Content-Type", ctype.as_bytes()),
            ],
            text,
        )
    }
    fn warcinfo(name: &str) -> Vec<u8> {
        let fields: &[(&str, &[u8])] = &[
            ("WARC-Type", b"warcinfo"),
            ("WARC-Filename", name.as_bytes()),
            ("Content-Type", b"application/warc-fields"),
        ];
        record(
            "WARC/1.0",
            fields,
            b"Software-Info: mr test\r\nCall 415-555-0000\r\n",
        )
    }
    fn phone(rng: &mut Rng, (area, exch, line): (u32, u32, u32)) -> String {
        match rng.below(7) {
            0 => format!("({area}) {exch:03}-{line:04}"),
            1 => format!("{area}.{exch:03}.{line:04}"),
            2 => format!("1-{area}-{exch:03}-{line:04}"),
            3 => format!("+1 {area} {exch:03} {line:04}"),
            4 => format!("{area}-{exch:03}-{line:04}"),
            5 => format!("1 ({area}) {exch:03}-{line:04}"),
            _ => format!("1{area}.{exch:03}.{line:04}"),
        }
    }

    let mut rng = Rng(0x5eed_2018);
    let numbers: Vec<(u32, u32, u32)> = (0..80)
        .map(|_| {
            let area = *rng.pick(&[212, 305, 415, 503, 617, 800, 206, 773]);
            (area, rng.below(1000) as u32, rng.below(10000) as u32)
        })
        .collect();
    let hosts: [&[u8]; 12] = [
        b"http://www.alpha.example",
        b"https://shop.beta.example",
        b"http://Gamma.Example:8080",
        b"HTTP://delta.example",
        b"https://user:pw@epsilon.example:8443",
        b"http://zeta.example",
        b"http://[2001:db8::1]:8080",
        "http://café.example".as_bytes(),
        b"http://latin.example/caf\xe9",
        b"https://eta.example",
        b"http://theta.example",
        b"http://iota.example",
    ];
    let words = [
        "call", "us", "at", "menu", "open", "hours", "Fax:", "tel.", "or", "daily",
    ];
    let odd: [&[u8]; 5] = [
        b"\xe9t\xe9",
        b"\xff\xfe",
        b"\x93quoted\x94",
        b"\xc3\x28",
        b"\x08",
    ];
    let mut n = 0;
    let mut random_page = |rng: &mut Rng| -> Vec<u8> {
        n += 1;
        let mut url = rng.pick(&hosts).to_vec();
        match rng.below(4) {
            0 => {}
            1 => url.extend_from_slice(format!("?id={}", rng.below(50)).as_bytes()),
            _ => url.extend_from_slice(
                format!("/p{}/{}", rng.below(9), "x".repeat(rng.below(4))).as_bytes(),
            ),
        }
        let mut text = Vec::new();
        for _ in 0..rng.below(40) + 5 {
            match rng.below(10) {
                0..=1 => {
                    let number = *rng.pick(&numbers);
                    let num = phone(rng, number);
                    let (before, after): (&[u8], &[u8]) = match rng.below(6) {
                        // Glued to letters: found. Glued to a digit: not
                        // found, or found from a separator within.
                        0 => (b"tel", b"ext"),
                        1 => (b"9", b""),
                        2 => (b"", b"7"),
                        3 => (b"\xff", b"\xfe"),
                        4 => (b"\n", b",\n"),
                        _ => (b" ", b" "),
                    };
                    text.extend_from_slice(before);
                    text.extend_from_slice(num.as_bytes());
                    text.extend_from_slice(after);
                }
                2 => text.extend_from_slice(odd[rng.below(odd.len())]),
                3 => text.extend_from_slice(b"4155550123 "), // no separators
                _ => text.extend_from_slice(rng.pick(&words).as_bytes()),
            }
            text.push(if rng.below(5) == 0 { b'\n' } else { b' ' });
        }
        let ctype = match rng.below(12) {
            0 => "text/html",
            1 => "text/plain; charset=UTF-8",
            _ => "text/plain",
        };
        page(&url, ctype, &text, n)
    };
    /// `count` numbers of area code `area`, from `first`, on one page.
    fn listing(url: &str, area: u32, first: u32, count: u32) -> Vec<u8> {
        let text: String = (first..first + count)
            .map(|i| format!("Shop {i}: ({area}) 555-{i:04}\n"))
            .collect();
        page(
            url.as_bytes(),
            "text/plain",
            text.as_bytes(),
            first as usize,
        )
    }

    let mut files: Vec<Vec<Vec<u8>>> = vec![Vec::new(), Vec::new(), Vec::new()];
    let names = [
        "CC-MAIN-a.warc.wet.gz",
        "CC-MAIN-b.warc.wet",
        "CC-MAIN-c.warc.wet.gz",
    ];
    for (f, name) in files.iter_mut().zip(names) {
        f.push(warcinfo(name));
        for _ in 0..[120, 120, 40][names.iter().position(|x| *x == name).unwrap()] {
            f.push(random_page(&mut rng));
        }
    }
    // A directory: 1200 numbers on one host, over two files (dropped); a
    // host with exactly 1000 (kept).
    for i in 0..4u32 {
        files[i as usize % 2].push(listing(
            &format!("http://directory.example/list{i}"),
            312,
            i * 300,
            300,
        ));
        files[1 - i as usize % 2].push(listing(
            &format!("http://edge.example/page{i}"),
            646,
            i * 250,
            250,
        ));
    }
    // Ties: one number on each host. The same length: the first URL in
    // code point order; else the longest; but first the least crowded host.
    let ties: [(&[u8], &[u8]); 7] = [
        (b"http://tie-b.example/x1", b"718-555-0123"),
        (b"http://tie-a.example/x1", b"718-555-0123"),
        (b"http://short.example/a", b"917 555 0123"),
        (b"http://longer.example/abcdef", b"(917) 555-0123"),
        (
            b"http://two.example/a-much-longer-path",
            b"516.555.0123 or 516.555.0124.",
        ),
        (b"http://solo.example/b", b"+1 516 555 0123"),
        (b"http://solo2.example/b", b"+1 516 555 0124"),
    ];
    for (i, (url, text)) in ties.iter().enumerate() {
        files[i % 3].push(page(url, "text/plain", text, 9000 + i));
    }
    // Other record types, field names in lowercase, WARC/1.1, an empty
    // URI, and a URI in angle brackets with a space (warcio writes %20).
    let other: [Vec<u8>; 6] = [
        record(
            "WARC/1.0",
            &[
                ("WARC-Type", b"response"),
                ("WARC-Target-URI", b"http://response.example/"),
                ("Content-Type", b"text/plain"),
            ],
            b"(202) 555-0111",
        ),
        record(
            "WARC/1.0",
            &[("WARC-Type", b"metadata"), ("Content-Type", b"text/plain")],
            b"(202) 555-0112",
        ),
        record(
            "WARC/1.0",
            &[
                ("warc-type", b"conversion"),
                ("warc-target-uri", b"http://lower.example/"),
                ("content-type", b"text/plain"),
            ],
            b"(202) 555-0113",
        ),
        record(
            "WARC/1.1",
            &[
                ("WARC-Type", b"conversion"),
                ("WARC-Target-URI", b"http://v11.example/"),
                ("Content-Type", b"text/plain"),
            ],
            b"(202) 555-0114",
        ),
        page(b"", "text/plain", b"(202) 555-0115", 9100),
        page(
            b"<http://spaced.example/a b>",
            "text/plain",
            b"(202) 555-0116",
            9101,
        ),
    ];
    files[1].extend(other);

    let w = Workdir::new();
    let mut paths = Vec::new();
    for (records, name) in files.iter().zip(names) {
        let bytes = if name.ends_with(".gz") {
            // One gzip member a record.
            let mut all = Vec::new();
            for r in records {
                use std::io::Write;
                let mut enc =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                enc.write_all(r).unwrap();
                all.extend(enc.finish().unwrap());
            }
            all
        } else {
            records.concat()
        };
        paths.push(w.write(&format!("wet/{name}"), bytes).display().to_string());
    }

    let args: Vec<&str> = paths.iter().map(String::as_str).collect();
    let ours = records(&mr(&w, "mr_phone_to_url", &args));
    let mut margs = vec!["-r", "local", "--no-conf"];
    margs.extend(&args);
    let theirs = records(&mrjob(&w, "mr_phone_to_url", &margs));
    if ours != theirs {
        let only = |a: &[(Value, Value)], b: &[(Value, Value)]| {
            a.iter()
                .filter(|r| !b.contains(r))
                .take(10)
                .map(|(k, v)| format!("{k}\t{v}"))
                .collect::<Vec<_>>()
        };
        panic!(
            "mr ({} records) and mrjob ({}) differ\nonly mr: {:#?}\nonly mrjob: {:#?}",
            ours.len(),
            theirs.len(),
            only(&ours, &theirs),
            only(&theirs, &ours)
        );
    }

    // What the files were made to show, on mr's output (equal to mrjob's).
    let url_of = |phone: &str| {
        ours.iter()
            .find(|(k, _)| k == phone)
            .map(|(_, v)| v.as_str().unwrap().to_string())
    };
    let count = |prefix: &str| {
        ours.iter()
            .filter(|(k, _)| k.as_str().unwrap().starts_with(prefix))
            .count()
    };
    assert_eq!(count("+1312555"), 0, "the directory's numbers were kept");
    assert_eq!(count("+1646555"), 1000, "the host with 1000 numbers");
    assert_eq!(
        url_of("+17185550123").as_deref(),
        Some("http://tie-a.example/x1")
    );
    assert_eq!(
        url_of("+19175550123").as_deref(),
        Some("http://longer.example/abcdef")
    );
    assert_eq!(
        url_of("+15165550123").as_deref(),
        Some("http://solo.example/b")
    );
    assert_eq!(
        url_of("+12025550113").as_deref(),
        Some("http://lower.example/")
    );
    assert_eq!(
        url_of("+12025550114").as_deref(),
        Some("http://v11.example/")
    );
    assert_eq!(
        url_of("+12025550116").as_deref(),
        Some("http://spaced.example/a%20b")
    );
    for skipped in [
        "+12025550111",
        "+12025550112",
        "+12025550115",
        "+14155550000",
    ] {
        assert_eq!(url_of(skipped), None, "{skipped}");
    }
    let random = ours.len() - 1000 - 7;
    assert!(random > 30, "{random} numbers from the random pages");
    eprintln!(
        "mr_phone_to_url: {} records alike ({random} from the random pages)",
        ours.len()
    );
}
