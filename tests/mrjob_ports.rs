//! The ports of mrjob's example jobs (examples/src/mr_*.rs) against mrjob
//! 0.7.4's own examples (shipped in its wheel, `python3 -m
//! mrjob.examples.NAME`), on the same generated text: the decoded outputs
//! must be equal. Skipped with a note when mrjob is missing (fails under
//! MR_REQUIRE_PEERS=1).

mod common;
use common::*;
use serde_json::Value;
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
    let mut files: Vec<String> = std::fs::read_dir(w.path("text"))
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
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
}

#[test]
fn mr_grep_matches_mrjob_with_its_expression_option() {
    if !have_mrjob() {
        return;
    }
    let w = Workdir::new();
    let files = text(&w, "22");
    for expr in ["the", "th[ae]n", "^[A-Z]"] {
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
    let stop_file = w.write("my stop words.txt", stop).display().to_string();
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
            "The, AND,i",
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
        // mrjob writes commas in counter names as semicolons.
        let theirs = counters_of(&stderr(&theirs), group).replace(';', ",");
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
