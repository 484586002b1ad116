//! `mr run`'s config file (`-c`, `$MR_CONF`, `--no-conf`; mr-cli/src/conf.rs),
//! through the real binary. The tests are named after the findings of the
//! config probe (/tmp/probe-conf/repro/NN.sh) they pin.

mod common;

use common::*;

/// `mr ARGS` in `w` with `$MR_CONF` unset (the tester's may be set).
fn mr(w: &Workdir, args: &[&str]) -> std::process::Output {
    w.mr_env(args, &[("MR_CONF", "")])
}

/// `mr run word_count -q -i in.txt -c CONF EXTRA...` in `w`.
fn word_count(w: &Workdir, conf: &str, extra: &[&str]) -> std::process::Output {
    let args = ["run", "word_count", "-q", "-i", "in.txt", "-c", conf];
    mr(w, &[&args[..], extra].concat())
}

const TEXT_A_B: &str = "a\t1\nb\t1\n";

/// 01: every form of -c that clap takes reads the file.
#[test]
fn repro01_every_form_of_c_reads_the_file() {
    let w = Workdir::new();
    w.write("in.txt", "a b\n");
    w.write("c.toml", "[runners.local]\noutput_protocol = \"text\"\n");
    for form in [
        &["-c", "c.toml"][..],
        &["-cc.toml"],
        &["-c=c.toml"],
        &["-vc", "c.toml"],
        &["--conf-path=c.toml"],
    ] {
        // No -q: it conflicts with -v.
        let args = [&["run", "word_count", "-i", "in.txt"][..], form].concat();
        let o = ok(mr(&w, &args));
        assert_eq!(stdout(&o), TEXT_A_B, "{form:?}");
    }
}

/// 02: task mode never reads $MR_CONF: its [runners.local] changed what the
/// emulator's tasks wrote and skipped.
#[test]
fn repro02_task_mode_reads_no_config_file() {
    let w = Workdir::new();
    w.write("in.txt", "a b a\n");
    let local = w.write(
        "local.toml",
        "[runners.local]\noutput_protocol = \"text\"\n",
    );
    let o = ok(w.mr_env(
        &["run", "word_count", "-r", "emulate", "-i", "in.txt", "-q"],
        &[("MR_CONF", local.to_str().unwrap())],
    ));
    assert_eq!(stdout(&o), "\"a\"\t2\n\"b\"\t1\n");
    let skip = w.write("skip.toml", "[runners.local]\nskip_bad_records = true\n");
    w.write("bad.jsonl", "{\"page_url\": \"/a\"}\n{\"broken\n");
    let o = w.mr_env(
        &["run", "url_views", "-r", "emulate", "-i", "bad.jsonl", "-q"],
        &[("MR_CONF", skip.to_str().unwrap())],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let o = mr(&w, &["run", "word_count", "--mapper", "-c", "skip.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("task mode"), "{}", stderr(&o));
}

/// 03: the runner is chosen by -r, not by a section's `runner`.
#[test]
fn repro03_runner_in_a_section_is_refused() {
    let w = Workdir::new();
    w.write("in.txt", "a b\n");
    w.write("c.toml", "[runners.local]\nrunner = \"hadoop\"\n");
    let o = word_count(&w, "c.toml", &[]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("c.toml") && e.contains("-r hadoop") && e.contains("[runners.hadoop]"),
        "{e}"
    );
}

/// 04: a switch of the file that conflicts with one typed is dropped.
#[test]
fn repro04_a_conflicting_switch_of_the_file_gives_way() {
    let w = Workdir::new();
    w.write("in.txt", "a b\n");
    w.write("c.toml", "[runners.local]\nverbose = true\n");
    let o = ok(word_count(&w, "c.toml", &[]));
    assert_eq!(stderr(&o), "");
    w.write("d.toml", "[runners.local]\ncat_output = true\n");
    let o = ok(word_count(&w, "d.toml", &["--no-output"]));
    assert_eq!(stdout(&o), "");
}

/// 05: -D mapreduce.job.reduces typed beats the file's partitions.
#[test]
fn repro05_typed_jobconf_reduces_beats_the_files_partitions() {
    let w = Workdir::new();
    w.write("in.txt", "a b c d e f g\n");
    w.write("c.toml", "[runners.local]\npartitions = 2\n");
    let args = [
        "run",
        "word_count",
        "-q",
        "-i",
        "in.txt",
        "-c",
        "c.toml",
        "-o",
        "out",
    ];
    ok(mr(
        &w,
        &[&args[..], &["-D", "mapreduce.job.reduces=5"]].concat(),
    ));
    assert_eq!(part_names(&w.path("out")).len(), 5);
    ok(word_count(&w, "c.toml", &["-o", "out2"]));
    assert_eq!(part_names(&w.path("out2")).len(), 2);
    // Between files the later one wins, under either spelling (the earlier
    // file's partitions won: probe /tmp/probe-docs repro 01).
    w.write(
        "mine.toml",
        "[runners.local.jobconf]\nmapreduce.job.reduces = 4\n",
    );
    for (first, second, out, parts) in [
        ("c.toml", "mine.toml", "out3", 4),
        ("mine.toml", "c.toml", "out4", 2),
    ] {
        ok(mr(
            &w,
            &[&args[..5], &["-c", first, "-c", second, "-o", out]].concat(),
        ));
        assert_eq!(
            part_names(&w.path(out)).len(),
            parts,
            "-c {first} -c {second}"
        );
    }
}

/// 06, 07: a bad value is said with the file and the key.
#[test]
fn repro06_07_bad_values_name_the_file_and_key() {
    let w = Workdir::new();
    w.write("in.txt", "a b\n");
    for (line, says) in [
        ("quiet = \"false\"", "true or false"),
        ("skip_bad_records = 1", "true or false"),
        ("jobs = \"four\"", "four"),
        ("jobs = -1", "-1"),
        ("sort_buffer_mb = 0", "--sort-buffer-mb"),
        ("merge_fan_in = 1", "--merge-fan-in"),
    ] {
        w.write("site.toml", format!("[runners.local]\n{line}\n"));
        let o = word_count(&w, "site.toml", &[]);
        assert_eq!(o.status.code(), Some(2), "{line}");
        let e = stderr(&o);
        let key = line.split(' ').next().unwrap();
        assert!(
            e.contains("site.toml") && e.contains(&format!("runners.local.{key}")),
            "{line}: {e}"
        );
        assert!(e.contains(says), "{line}: {e}");
    }
    // false: the switch is not given.
    w.write("f.toml", "[runners.local]\nquiet = false\n");
    let o = ok(mr(
        &w,
        &["run", "word_count", "-i", "in.txt", "-c", "f.toml"],
    ));
    assert!(!stderr(&o).is_empty());
}

/// 08, 09: dotted jobconf keys, and mrjob's option names, as keys.
#[test]
fn repro08_09_dotted_jobconf_and_mrjob_names() {
    let w = Workdir::new();
    w.write("in.txt", "a b c d e\n");
    w.write(
        "c.toml",
        "[runners.local]\nnum_cores = 1\noutput_dir = \"out\"\n[runners.local.jobconf]\nmapreduce.job.reduces = 3\n",
    );
    ok(word_count(&w, "c.toml", &[]));
    assert_eq!(part_names(&w.path("out")).len(), 3);
    w.write(
        "d.toml",
        "[runners.local]\nnum_reducers = 2\noutput_dir = \"out2\"\n",
    );
    ok(word_count(&w, "d.toml", &[]));
    assert_eq!(part_names(&w.path("out2")).len(), 2);
}

/// 10: include, a misspelled section, a singular [runner.local].
#[test]
fn repro10_include_and_unknown_sections() {
    let w = Workdir::new();
    w.write("in.txt", "a b\n");
    w.write(
        "conf/base.toml",
        "[runners.local]\noutput_protocol = \"text\"\njobs = 2\n",
    );
    w.write(
        "conf/c.toml",
        "include = \"base.toml\"\n[runners.local]\njobs = 1\n",
    );
    let o = ok(word_count(&w, "conf/c.toml", &[]));
    assert_eq!(stdout(&o), TEXT_A_B);
    w.write("loop.toml", "include = \"loop.toml\"\n");
    let o = word_count(&w, "loop.toml", &[]);
    assert!(stderr(&o).contains("includes itself"), "{}", stderr(&o));
    for (text, says) in [
        (
            "[runners.locl]\njobs = 1\n",
            "runners.locl (did you mean runners.local?)",
        ),
        (
            "[runner.local]\njobs = 1\n",
            "unknown key runner (did you mean runners?)",
        ),
        ("jobs = 1\n", "unknown key jobs"),
    ] {
        w.write("bad.toml", text);
        let o = word_count(&w, "bad.toml", &[]);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{e}");
        assert!(
            e.contains("bad.toml") && e.contains(says) && e.contains("local, inline, hadoop"),
            "{e}"
        );
    }
}

/// 11: an mrjob.conf given to -c is said to be YAML or JSON.
#[test]
fn repro11_an_mrjob_conf_is_said_to_be_one() {
    let w = Workdir::new();
    w.write("in.txt", "a b\n");
    w.write("site.conf", "runners:\n  local:\n    num_cores: 2\n");
    w.write(
        "site.json",
        "{\"runners\": {\"local\": {\"num_cores\": 2}}}\n",
    );
    for f in ["site.conf", "site.json"] {
        let o = word_count(&w, f, &[]);
        let e = stderr(&o);
        assert!(
            e.contains("not TOML") && e.contains("[runners.local]"),
            "{e}"
        );
    }
}

/// 12: a NUL in a cmdenv value is refused naming the file and key.
#[test]
fn repro12_a_nul_in_cmdenv_is_refused() {
    let w = Workdir::new();
    w.write("in.txt", "a b\n");
    let section = "cmdenv = { A = \"x\\u0000y\" }\n";
    w.write(
        "c.toml",
        format!("[runners.local]\n{section}[runners.emulate]\n{section}"),
    );
    for runner in ["local", "emulate"] {
        let o = word_count(&w, "c.toml", &["-r", runner]);
        assert_eq!(o.status.code(), Some(2));
        let e = stderr(&o);
        assert!(
            e.contains("c.toml") && e.contains("runners.") && e.contains("NUL"),
            "{e}"
        );
    }
}

/// 13: a leading ~ of a path option typed after `=` is the home directory.
#[test]
fn repro13_tilde_after_equals_is_home() {
    let w = Workdir::new();
    w.write("home/lookup.tsv", "x\n");
    w.write("work/in.txt", "a b\n");
    let home = w.path("home");
    let o = std::process::Command::new(MR)
        .args([
            "run",
            "word_count",
            "-q",
            "-i",
            "in.txt",
            "--tmp-dir=~/scratch",
        ])
        .args(["--files=~/lookup.tsv", "--no-conf"])
        .current_dir(w.path("work"))
        .env("HOME", &home)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!w.path("work/~").exists());
    assert!(home.join("scratch").is_dir());
}

/// 14: -r emulate and mr emulate-hadoop honour --no-output and --cat-output.
#[test]
fn repro14_emulate_honours_no_output_and_cat_output() {
    let w = Workdir::new();
    w.write("in.txt", "a b\n");
    let run = ["run", "word_count", "-r", "emulate", "-q", "-i", "in.txt"];
    let o = ok(mr(&w, &[&run[..], &["--no-output"]].concat()));
    assert_eq!(stdout(&o), "");
    let o = ok(mr(&w, &[&run[..], &["-o", "o1", "--cat-output"]].concat()));
    assert_eq!(stdout(&o), "\"a\"\t1\n\"b\"\t1\n");
    w.write("c.toml", "[runners.emulate]\nno_output = true\n");
    let o = ok(mr(
        &w,
        &[
            "emulate-hadoop",
            "word_count",
            "-q",
            "-i",
            "in.txt",
            "-c",
            "c.toml",
        ],
    ));
    assert_eq!(stdout(&o), "");
}

/// 15: $MR_CONF's ~ is expanded; a missing file says $MR_CONF named it.
#[test]
fn repro15_mr_conf_tilde_and_missing_file() {
    let w = Workdir::new();
    w.write("in.txt", "a b\n");
    w.write(
        "home/mr.toml",
        "[runners.local]\noutput_protocol = \"text\"\n",
    );
    let home = w.path("home");
    let o = ok(w.mr_env(
        &["run", "word_count", "-q", "-i", "in.txt"],
        &[("MR_CONF", "~/mr.toml"), ("HOME", home.to_str().unwrap())],
    ));
    assert_eq!(stdout(&o), TEXT_A_B);
    let gone = w.path("gone.toml");
    let o = w.mr_env(
        &["run", "word_count", "-q", "-i", "in.txt"],
        &[("MR_CONF", gone.to_str().unwrap())],
    );
    assert!(
        stderr(&o).contains("$MR_CONF") && stderr(&o).contains("--no-conf"),
        "{}",
        stderr(&o)
    );
}

/// 16: a job's required option can come from the file.
#[test]
fn repro16_a_required_job_option_from_the_file() {
    let w = Workdir::new();
    let lines: String = (1..=50).map(|i| format!("{i}\n")).collect();
    w.write("in.txt", lines);
    w.write(
        "c.toml",
        "[runners.local]\nsample_size = 2\nrandom_seed = 3\n",
    );
    let a = ok(mr(
        &w,
        &[
            "run",
            "mr_log_sampler",
            "-q",
            "-i",
            "in.txt",
            "--sample-size",
            "2",
            "--random-seed",
            "3",
        ],
    ));
    let b = ok(mr(
        &w,
        &[
            "run",
            "mr_log_sampler",
            "-q",
            "-i",
            "in.txt",
            "-c",
            "c.toml",
        ],
    ));
    assert_eq!(stdout(&a), stdout(&b));
    // Still required when nobody gives it.
    let o = mr(&w, &["run", "mr_log_sampler", "-q", "-i", "in.txt"]);
    assert!(stderr(&o).contains("--sample-size"), "{}", stderr(&o));
    // The same file serves every job: another job's run leaves the key
    // alone (it was refused as "not an option of mr run", exit 2); a key
    // no job has still is.
    let o = ok(word_count(&w, "c.toml", &[]));
    assert!(stdout(&o).contains("\"1\"\t1"), "{}", stdout(&o));
    w.write(
        "typo.toml",
        "[runners.local]
sample_sise = 2
",
    );
    let o = word_count(&w, "typo.toml", &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// 17: an empty or commented-out file gives nothing, and stops nothing.
#[test]
fn repro17_an_empty_file_is_no_error() {
    let w = Workdir::new();
    w.write("in.txt", "a b\n");
    w.write("empty.toml", "");
    w.write("commented.toml", "# [runners.local]\n# jobs = 4\n");
    for f in ["empty.toml", "commented.toml"] {
        ok(word_count(&w, f, &[]));
    }
}

/// 18: the command line's `files` NAME and inputs replace the file's.
#[test]
fn repro18_typed_list_items_replace_the_files() {
    let w = Workdir::new();
    w.write("in.txt", "a b\n");
    w.write("l1.tsv", "1\n");
    w.write("l2.tsv", "2\n");
    w.write("other.txt", "z\n");
    w.write(
        "f.toml",
        "[runners.local]\nfiles = [\"l1.tsv#lookup\"]\ninput = [\"other.txt\"]\n",
    );
    ok(word_count(&w, "f.toml", &["--files", "l2.tsv#lookup"]));
    let o = ok(mr(
        &w,
        &["run", "word_count", "-q", "-c", "f.toml", "in.txt"],
    ));
    assert_eq!(stdout(&o), "\"a\"\t1\n\"b\"\t1\n");
    let o = ok(mr(&w, &["run", "word_count", "-q", "-c", "f.toml"]));
    assert_eq!(stdout(&o), "\"z\"\t1\n");
}

/// `-c` given twice (refused: "cannot be used multiple times"): the files
/// are read in order, as mrjob merges its `-c` files: a later file's value
/// wins, lists add up; `--no-conf` still refuses `-c`.
#[test]
fn repeated_c_merges_the_files_in_order() {
    let w = Workdir::new();
    w.write("in1.txt", "a b\n");
    w.write("in2.txt", "a\n");
    w.write(
        "a.toml",
        "[runners.local]\noutput_protocol = \"text\"\ninput = [\"in1.txt\"]\n",
    );
    w.write(
        "b.toml",
        "[runners.local]\noutput_protocol = \"json-value\"\ninput = \"in2.txt\"\n",
    );
    let run = |extra: &[&str]| mr(&w, &[&["run", "word_count", "-q"][..], extra].concat());
    let o = ok(run(&["-c", "a.toml", "-c", "b.toml"]));
    assert_eq!(stdout(&o), "2\n1\n");
    let o = ok(run(&["-c", "b.toml", "--conf-path=a.toml"]));
    assert_eq!(stdout(&o), "a\t2\nb\t1\n");
    // $MR_CONF is not read when -c names files.
    let o = ok(w.mr_env(
        &["run", "word_count", "-q", "-c", "a.toml", "-c", "a.toml"],
        &[("MR_CONF", w.path("b.toml").to_str().unwrap())],
    ));
    assert_eq!(stdout(&o), "a\t1\nb\t1\n");
    let o = run(&["-c", "a.toml", "-c", "missing.toml"]);
    refused_saying(&o, "missing.toml");
    let o = run(&["-c", "a.toml", "-c", "b.toml", "--no-conf"]);
    refused_saying(&o, "--no-conf");
}

/// mrjob.conf's `upload_files` and `spark_submit_bin` (refused as "not an
/// option of mr run") are mr's `files` and `spark_submit`.
#[test]
fn mrjob_upload_files_and_spark_submit_bin_are_taken() {
    let w = Workdir::new();
    w.write("in.txt", "a b\n");
    w.write("lookup.tsv", "k\tv\n");
    w.write(
        "c.toml",
        "[runners.spark]\nupload_files = [\"lookup.tsv#lookup\"]\n\
         spark_submit_bin = \"/opt/spark/bin/spark-submit\"\n",
    );
    let o = ok(mr(
        &w,
        &[
            "run",
            "word_count",
            "-i",
            "in.txt",
            "-c",
            "c.toml",
            "-r",
            "spark",
            "--dry-run",
        ],
    ));
    let shown = stdout(&o);
    assert!(
        shown.contains("/opt/spark/bin/spark-submit --master"),
        "{shown}"
    );
    assert!(shown.contains("lookup.tsv\",\"lookup\"]"), "{shown}");
}

/// `mr run word_count -i in.txt -r spark --dry-run`: Spark's commands,
/// printed, not run.
const SPARK_DRY_RUN: [&str; 7] = [
    "run",
    "word_count",
    "-i",
    "in.txt",
    "-r",
    "spark",
    "--dry-run",
];

/// mrjob's `--spark-submit-bin PATH` on the command line was refused (clap
/// suggested `--spark-submit`): it is an alias of `--spark-submit`, as
/// `spark_submit_bin` is in a file, and wins over the file's. mrjob's
/// command with arguments is said to be a path alone.
#[test]
fn mrjob_spark_submit_bin_switch_is_taken() {
    let w = Workdir::new();
    w.write("in.txt", "a b\n");
    w.write(
        "c.toml",
        "[runners.spark]\nspark_submit_bin = \"/opt/spark/bin/spark-submit\"\n",
    );
    let spark = SPARK_DRY_RUN;
    let bin = "/other/spark/bin/spark-submit";
    for extra in [
        &["--spark-submit-bin", bin][..],
        &["-c", "c.toml", "--spark-submit-bin", bin],
    ] {
        let o = ok(mr(&w, &[&spark[..], extra].concat()));
        let shown = stdout(&o);
        assert!(
            shown.contains(&format!("{bin} --master")),
            "{extra:?}: {shown}"
        );
    }
    let o = mr(
        &w,
        &[
            &spark[..],
            &["--spark-submit-bin", "spark-submit --verbose"],
        ]
        .concat(),
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("the path of spark-submit alone"),
        "{}",
        stderr(&o)
    );
}

/// mrjob.conf's `local_tmp_dir`, `hadoop_tmp_dir` and `spark_tmp_dir`, and
/// mrjob's switches of the same names, were refused as "not an option of mr
/// run" / unknown arguments. Each is mr's `tmp_dir` for the runner where it
/// means that (`local_tmp_dir` but on -r hadoop, whose `tmp_dir` is on the
/// cluster's filesystem: `hadoop_tmp_dir` there); elsewhere it is refused
/// saying why. A key in another runner's section is not read.
#[test]
fn mrjob_tmp_dirs_apply_to_their_runner_only() {
    let w = Workdir::new();
    w.write("in.txt", "a b\n");
    // Local: the temp dir is made where local_tmp_dir says.
    w.write(
        "c.toml",
        "[runners.local]\nlocal_tmp_dir = \"scratch\"\n\
         [runners.hadoop]\nlocal_tmp_dir = \"never\"\nhadoop_tmp_dir = \"/cluster/tmp\"\n\
         [runners.spark]\nspark_tmp_dir = \"hdfs:///tmp\"\n",
    );
    let o = ok(word_count(&w, "c.toml", &[]));
    assert_eq!(stdout(&o), "\"a\"\t1\n\"b\"\t1\n");
    assert!(w.path("scratch").is_dir(), "no temp dir made");
    ok(mr(
        &w,
        &[
            "run",
            "word_count",
            "-q",
            "-i",
            "in.txt",
            "--local-tmp-dir",
            "scratch2",
        ],
    ));
    assert!(w.path("scratch2").is_dir(), "no temp dir made");
    // Hadoop: hadoop_tmp_dir is the steps' directory on the cluster.
    let hadoop = [
        "run",
        "top_lectures",
        "-r",
        "hadoop",
        "--dry-run",
        "-i",
        "hdfs:///logs",
        "-o",
        "hdfs:///out/top",
        "--hadoop-bin",
        "/opt/hadoop/bin/hadoop",
        "--hadoop-streaming-jar",
        "/opt/hadoop/streaming.jar",
    ];
    w.write(
        "h.toml",
        "[runners.hadoop]\nhadoop_tmp_dir = \"/cluster/tmp\"\n",
    );
    for extra in [&["-c", "h.toml"][..], &["--hadoop-tmp-dir", "/cluster/tmp"]] {
        let o = ok(mr(&w, &[&hadoop[..], extra].concat()));
        assert!(
            stdout(&o).contains("/cluster/tmp/mr-top_lectures-"),
            "{extra:?}: {}",
            stdout(&o)
        );
    }
    // Where one has no meaning: refused, saying why, naming the key.
    let refused = |args: &[&str], says: &[&str]| {
        let o = mr(&w, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let e = stderr(&o);
        for s in says {
            assert!(e.contains(s), "{args:?}: {e}");
        }
    };
    refused(
        &[&hadoop[..], &["-c", "c.toml"]].concat(),
        &[
            "runners.hadoop.local_tmp_dir",
            "has no meaning in mr's -r hadoop",
        ],
    );
    refused(
        &[&hadoop[..], &["--local-tmp-dir", "/scratch"]].concat(),
        &[
            "--local-tmp-dir (mrjob's) has no meaning",
            "--hadoop-tmp-dir",
        ],
    );
    w.write(
        "l.toml",
        "[runners.local]\nhadoop_tmp_dir = \"/cluster/tmp\"\n",
    );
    refused(
        &["run", "word_count", "-i", "in.txt", "-c", "l.toml"],
        &[
            "runners.local.hadoop_tmp_dir",
            "it is for -r hadoop",
            "[runners.hadoop]",
        ],
    );
    refused(
        &[
            "run",
            "word_count",
            "-i",
            "in.txt",
            "--hadoop-tmp-dir",
            "/cluster/tmp",
        ],
        &["it is for -r hadoop", "--tmp-dir (mrjob's --local-tmp-dir)"],
    );
    let spark = SPARK_DRY_RUN;
    refused(
        &[&spark[..], &["-c", "c.toml"]].concat(),
        &["runners.spark.spark_tmp_dir", "no use for it"],
    );
    refused(
        &[&spark[..], &["--spark-tmp-dir", "hdfs:///tmp"]].concat(),
        &["--spark-tmp-dir (mrjob's) has no meaning", "no use for it"],
    );
    // Both names of one setting in a section, or typed over the file's.
    w.write(
        "both.toml",
        "[runners.local]\ntmp_dir = \"a\"\nlocal_tmp_dir = \"b\"\n",
    );
    let o = word_count(&w, "both.toml", &[]);
    refused_saying(&o, "are one option");
    ok(word_count(&w, "c.toml", &["--tmp-dir", "typed"]));
    assert!(w.path("typed").is_dir());
}

/// A config file is read up to 1 MiB: `-c /dev/zero` grew to the machine's
/// memory, and a 30 MB file took 1.4 GB to be refused (probe
/// /tmp/probe23-fuzz repro 07). A pipe (`-c <(...)`) is still read.
#[test]
fn a_config_file_is_read_up_to_a_bound() {
    let w = Workdir::new();
    w.write("in.txt", "a b\n");
    let o = mr(
        &w,
        &["run", "word_count", "-i", "in.txt", "-c", "/dev/zero"],
    );
    refused_saying(&o, "holds more than 1 MiB: not a config file");
    w.write("big.toml", "x = 1\n".repeat(300_000));
    let o = mr(&w, &["run", "word_count", "-i", "in.txt", "-c", "big.toml"]);
    refused_saying(&o, "big.toml holds more than 1 MiB");
    let o = std::process::Command::new("bash")
        .current_dir(w.path(""))
        .env("MR", env!("CARGO_BIN_EXE_mr"))
        .env("MR_CONF", "")
        .args([
            "-c",
            r#""$MR" run word_count -q -i in.txt -c <(printf '[runners.local]\noutput_protocol = "text"\n')"#,
        ])
        .output()
        .unwrap();
    assert_eq!(stdout(&ok(o)), TEXT_A_B);
}
