//! What a job is given besides its input, through the real `mr` binary:
//! its own options, files, jobconf, environment and output protocol, on the
//! local runner, in task mode and in the commands of the cluster runners.

mod common;
use common::*;

const NASTY: &str = r#"it's "$(touch pwned)" `x` $HOME a  b"#;

#[test]
fn job_options_show_in_help_and_are_required() {
    let w = Workdir::new();
    let o = ok(w.mr(&["run", "mr_grep", "--help"]));
    let help = stdout(&o);
    assert!(help.contains("Options of mr_grep"), "{help}");
    assert!(help.contains("-e, --expression <VALUE>"), "{help}");
    // The job after an option's value is the job whose help is shown.
    let help = stdout(&ok(w.mr(&["run", "-o", "out", "mr_grep", "--help"])));
    assert!(help.contains("Options of mr_grep"), "{help}");
    // `mr run --help` without a job is run's own help.
    let help = stdout(&ok(w.mr(&["run", "--help"])));
    assert!(!help.contains("--expression"), "{help}");
    let o = w.mr(&["run", "mr_grep", "in.txt"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--expression"), "{}", stderr(&o));
}

/// As argparse (mrjob's parser) reads them: an unambiguous prefix of a long
/// option names it, a job's option or run's own, before the job's name too
/// (where it may take the next argument as its value); an ambiguous one is
/// refused.
#[test]
fn long_options_may_be_abbreviated_as_in_mrjob() {
    let w = Workdir::new();
    let input = w.write("in.txt", "1\n2\n12\n3\n");
    let input = input.to_str().unwrap();
    let out = w.path("out");
    let out = out.to_str().unwrap();
    let o = ok(w.mr(&[
        "run",
        "--sort-buf",
        "1",
        "--overw",
        "-qo",
        out,
        "mr_grep",
        "--expr",
        "2",
        input,
    ]));
    assert_eq!(stderr(&o), "");
    assert_eq!(
        std::fs::read_to_string(w.path("out/part-00000")).unwrap(),
        "2\n12\n"
    );
    let o = ok(w.mr(&["run", "mr_log_sampler", "-q", "--sample", "2", input]));
    assert_eq!(stdout(&o).lines().count(), 2, "{}", stdout(&o));
    // --out: --output, --output-format or --output-protocol.
    let o = w.mr(&["run", "mr_grep", "-e", "2", "--out", out, input]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--out"), "{}", stderr(&o));
}

#[test]
fn grep_option_reaches_the_mapper_locally_inline_and_in_task_mode() {
    let w = Workdir::new();
    let input = w.write("in.txt", "mary had\r\r\na lamb\nmary\n");
    let input = input.to_str().unwrap();
    for runner in ["local", "inline", "emulate"] {
        let o = ok(w.mr(&["run", "mr_grep", "-r", runner, "-q", "-e", "^ma.y", input]));
        assert_eq!(stdout(&o), "mary had\nmary\n", "-r {runner}");
    }
    let o = ok(w.mr_stdin(
        &[
            "run",
            "mr_grep",
            "--mapper",
            "--expression",
            "lamb",
            "--output-protocol",
            "raw-value",
        ],
        Some(b"a lamb\nno\n"),
    ));
    assert_eq!(stdout(&o), "a lamb\n");
}

/// A value that starts with `-` (a grep pattern `-x`) reaches the tasks as
/// the value, not as an option the task refuses (every task exited 2).
#[test]
fn an_option_value_starting_with_a_dash_reaches_the_tasks() {
    let w = Workdir::new();
    let input = w.write("in.txt", "plain\n-x dash\n--x too\n");
    let input = input.to_str().unwrap();
    for runner in ["local", "emulate"] {
        for e in ["--expression=-x", "-e=-x"] {
            let o = ok(w.mr(&["run", "mr_grep", "-r", runner, "-q", e, input]));
            assert_eq!(stdout(&o), "-x dash\n--x too\n", "-r {runner} {e}");
        }
    }
}

#[test]
fn nasty_option_values_are_quoted_in_dry_runs() {
    let w = Workdir::new();
    let o = ok(w.mr(&[
        "run",
        "mr_grep",
        "-r",
        "hadoop",
        "--dry-run",
        "-e",
        "it's $(touch pwned) a  b",
        "--hadoop-streaming-jar",
        "s.jar",
        "-i",
        "hdfs:///in",
        "-o",
        "hdfs:///out",
    ]));
    let out = stdout(&o);
    // The step's command (the dry run shows the output check before it).
    let cmd = out
        .split("\n\n")
        .find(|c| c.contains(" jar s.jar"))
        .unwrap_or_else(|| panic!("{out}"));
    // The shell gives back the -mapper string, and Hadoop's splitting of it
    // gives back the value.
    let script = format!(
        "set -- {}; printf '%s\\n' \"$@\"",
        cmd.replace("\\\n", " ").trim()
    );
    let words = std::process::Command::new("sh")
        .args(["-c", &script])
        .current_dir(w.dir.path())
        .output()
        .unwrap();
    let words = format!("{}{}", stdout(&words), stderr(&words));
    assert!(!w.path("pwned").exists());
    let mapper = words
        .lines()
        .skip_while(|l| *l != "-mapper")
        .nth(1)
        .unwrap_or_else(|| panic!("{script}\n{words}"));
    let argv = mr_cli::cluster::hadoop_split_args(mapper);
    assert_eq!(
        argv[argv.len() - 1..],
        ["--expression=it's $(touch pwned) a  b"],
        "{mapper}"
    );
    assert!(argv.contains(&"raw-value".to_string()), "{mapper}");

    // A value with both kinds of quote travels hex-encoded, and decodes back.
    let o = ok(w.mr(&[
        "run",
        "mr_grep",
        "-r",
        "hadoop",
        "--dry-run",
        "-e",
        NASTY,
        "--hadoop-streaming-jar",
        "s.jar",
        "-i",
        "hdfs:///in",
        "-o",
        "hdfs:///out",
    ]));
    let hex = mr_args_hex(&o);
    let argv = mr_cli::cluster::expand_hex_args(vec![hex.clone()]).unwrap();
    assert_eq!(argv.last(), Some(&format!("--expression={NASTY}")));
    // And the task gets it whole: in grep's basic syntax every character of
    // it is itself (`$` mid-expression too), so it matches its own line only.
    let o = ok(w.mr_stdin(
        &[&hex],
        Some(b"x\nit's \"$(touch pwned)\" `x` $HOME a  b\n"),
    ));
    assert_eq!(stdout(&o), format!("{NASTY}\n"));
    assert!(!w.path("pwned").exists());

    // Spark: the value is one argument of the task (a JSON spec, no shell).
    let o = w.mr(&[
        "run",
        "mr_grep",
        "-r",
        "spark",
        "--dry-run",
        "-e",
        NASTY,
        "--spark-submit",
        "spark-submit",
        "-i",
        "in.txt",
    ]);
    if o.status.success() {
        let line = stdout(&o);
        assert!(line.contains("task_args"), "{line}");
    }
}

#[test]
fn files_are_readable_by_name_and_shipped_to_hadoop() {
    let w = Workdir::new();
    let input = w.write("in.txt", "the cat sat\nthe dog\ncat cat\n");
    let stop = w.write("stops.txt", "the\ncat\n");
    // mr_most_used_word with `extra` arguments and its stop words in `stop`
    // (a dry run's input and output on HDFS): its stdout.
    let most_used = |extra: &[&str], stop: &std::path::Path| {
        let mut args = vec!["run", "mr_most_used_word", "--stop-words-file"];
        args.push(stop.to_str().unwrap());
        args.extend_from_slice(extra);
        if extra.contains(&"--dry-run") {
            args.extend(["--hadoop-streaming-jar", "s.jar", "-i", "hdfs:///in", "-o"]);
            args.push("hdfs:///out");
        } else {
            args.extend(["-q", input.to_str().unwrap()]);
        }
        stdout(&ok(w.mr(&args)))
    };
    assert_eq!(
        most_used(&[], &stop),
        "\"sat\"\n",
        "ties go to the larger word"
    );
    let o = ok(w.mr(&["run", "mr_most_used_word", "-q", input.to_str().unwrap()]));
    assert_eq!(stdout(&o), "\"cat\"\n");
    // Emulated Hadoop: the file is shipped into each task's directory.
    assert_eq!(most_used(&["-r", "emulate"], &stop), "\"sat\"\n");
    // A file named as the binary the tasks run: shipped under another
    // name, its option given that name (it read the binary as stop words).
    let named_mr = w.write("sw/mr", "the\ncat\n");
    assert_eq!(most_used(&["-r", "emulate"], &named_mr), "\"sat\"\n");
    let hadoop = ["-r", "hadoop", "--dry-run"];
    let cmd = most_used(
        &[
            &hadoop[..],
            &["--files", "in.txt#lookup", "--cmdenv", "TZ=UTC"],
        ]
        .concat(),
        &stop,
    );
    assert!(cmd.contains("stops.txt#stops.txt"), "{cmd}");
    assert!(
        cmd.contains(&format!("{}#lookup", w.path("in.txt").display())),
        "{cmd}"
    );
    assert!(cmd.contains("--stop-words-file=stops.txt"), "{cmd}");
    assert!(cmd.contains("-cmdenv TZ=UTC"), "{cmd}");
    assert!(!cmd.contains("which these paths break"), "{cmd}");
    // A path -files cannot take as it is: the dry run says the run links
    // it, on comment lines that stay comments (a newline escaped).
    let odd = w.write("stop,\nwords", "the\n");
    let cmd = most_used(&hadoop, &odd);
    let note = format!("#   {}", odd.display().to_string().replace('\n', "\\n"));
    assert!(cmd.lines().any(|l| l == note), "{cmd}");
    let o = w.mr(&[
        "run",
        "mr_wc",
        "--files",
        "nope.txt",
        input.to_str().unwrap(),
    ]);
    assert!(
        stderr(&o).contains("nope.txt: no such file"),
        "{}",
        stderr(&o)
    );
}

/// A file shipped under its own name made plain for Hadoop's -files
/// (`stop words.txt` as `stop_words.txt`) is refused where another file
/// has the plain name: a task asking for it by its own name would find
/// the other file. Without a clash it is shipped under the plain name.
#[test]
fn a_file_whose_plain_name_another_has_is_refused_for_the_cluster() {
    let w = Workdir::new();
    w.write("a.tsv", "a\n");
    w.write("stop words.txt", "the\n");
    w.write("in.txt", "x\n");
    let dry = |files: &[&str]| {
        let args = ["run", "mr_wc", "-r", "hadoop", "--dry-run", "in.txt"];
        w.mr(&[&args[..], files].concat())
    };
    let o = dry(&[
        "--files",
        "a.tsv#stop_words.txt",
        "--files",
        "stop words.txt",
    ]);
    refused_saying(&o, "shipped to a cluster's tasks as stop_words.txt");
    let o = ok(dry(&["--files", "stop words.txt"]));
    assert!(
        stdout(&o).contains("stop words.txt#stop_words.txt"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn jobconf_unread_keys_are_warned_and_reduces_sets_partitions() {
    let w = Workdir::new();
    let input = w.write("in.txt", "a b\n");
    let o = ok(w.mr(&[
        "run",
        "mr_wc",
        "-D",
        "mapreduce.job.reduces=3",
        "-D",
        "my.unused=1",
        "-o",
        "out",
        input.to_str().unwrap(),
    ]));
    assert!(
        stderr(&o).contains("-D my.unused was not read"),
        "{}",
        stderr(&o)
    );
    assert!(
        !stderr(&o).contains("mapreduce.job.reduces was not"),
        "{}",
        stderr(&o)
    );
    assert!(w.path("out/part-00002").exists());
    // The emulator takes it too (it was ignored: one reducer, and so one
    // reducer_final summary, where Hadoop runs three).
    let input = input.to_str().unwrap();
    for reduces in ["mapreduce.job.reduces=3", "mapred.reduce.tasks=3"] {
        let args = [
            "run", "mr_wc", "-r", "emulate", "-D", reduces, "-o", "emu", input,
        ];
        let o = ok(w.mr(&[&args[..], &["--overwrite"]].concat()));
        assert!(stderr(&o).contains("3 reduce tasks"), "{}", stderr(&o));
        assert_eq!(part_names(&w.path("emu")).len(), 3, "{reduces}");
    }
    // Too many, or not a number: said of the key given, not of
    // --partitions (probe /tmp/probe23-fuzz repro 09).
    for (reduces, says) in [
        (
            "mapreduce.job.reduces=99999999999",
            "at most 100000 reducers",
        ),
        ("mapred.reduce.tasks=x", "not a number"),
    ] {
        // And so on Hadoop, before the job is submitted: it failed there
        // saying only "Streaming Command Failed!" (probe /tmp/probe24
        // repro 02).
        for runner in [&[][..], &["-r", "hadoop", "--dry-run"]] {
            let o = w.mr(&[&["run", "mr_wc", "-D", reduces, input][..], runner].concat());
            refused_saying(
                &o,
                &format!("jobconf {reduces} (-D or the job's own): {says}"),
            );
            assert!(!stderr(&o).contains("--partitions"), "{}", stderr(&o));
        }
    }
}

/// A job's own jobconf (mrjob's `JOBCONF`; mr_wc asks for one reducer)
/// holds in every runner, and the user's `-D` or `--partitions` overrides
/// it: one part file locally and under the emulator, `-D
/// mapreduce.job.reduces=1` before the user's in Hadoop's command.
#[test]
fn a_jobs_own_jobconf_holds_unless_the_user_says_otherwise() {
    let w = Workdir::new();
    let input = w.write("in.txt", "a b\nc\n").display().to_string();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run",
            "mr_wc",
            "-j",
            "2",
            "-o",
            "out",
            "--overwrite",
            &input,
        ];
        args.extend_from_slice(extra);
        ok(w.mr(&args))
    };
    run(&[]);
    assert_eq!(part_names(&w.path("out")), ["part-00000"]);
    assert_eq!(
        read_parts(&w.path("out")),
        "\"chars\"\t6\n\"lines\"\t2\n\"words\"\t3\n"
    );
    run(&["-D", "mapreduce.job.reduces=2"]);
    assert_eq!(part_names(&w.path("out")).len(), 2);
    run(&["--partitions", "3"]);
    assert_eq!(part_names(&w.path("out")).len(), 3);
    let o = run(&["-r", "emulate"]);
    assert!(stderr(&o).contains("1 reduce tasks"), "{}", stderr(&o));
    assert_eq!(part_names(&w.path("out")), ["part-00000"]);

    let o = ok(w.mr(&[
        "run",
        "mr_wc",
        "-r",
        "hadoop",
        "--dry-run",
        "-o",
        "hdfs:///o",
        "-D",
        "mapreduce.job.reduces=4",
        &input,
    ]));
    let cmd = stdout(&o);
    let job = cmd
        .find("-D mapreduce.job.reduces=1")
        .unwrap_or_else(|| panic!("{cmd}"));
    let user = cmd
        .find("-D mapreduce.job.reduces=4")
        .unwrap_or_else(|| panic!("{cmd}"));
    assert!(job < user, "the user's -D must come last, to win:\n{cmd}");
}

/// Keys with a tab or a newline written as text (mrjob's TextProtocol
/// writes them so too): the lines cannot be split back into the records,
/// and the run says how many, in a counter and a warning (even with -q);
/// JSON writes them whole, and says nothing.
#[test]
fn text_output_that_cannot_be_read_back_is_said() {
    let w = Workdir::new();
    w.write("k.tsv", "\"c\\td\"\t1\n\"e\\nf\"\t2\n\"ok\"\t3\n");
    let o = ok(w.mr(&[
        "run",
        "json_identity",
        "-i",
        "k.tsv",
        "--output-protocol",
        "text",
    ]));
    assert_eq!(stdout(&o), "c\td\t1\ne\nf\t2\nok\t3\n");
    let e = stderr(&o);
    assert!(
        e.contains("mr: warning: 2 records were written as text"),
        "{e}"
    );
    assert!(
        e.contains("step 0: records written as text that a reader cannot split back=2"),
        "{e}"
    );
    let o = ok(w.mr(&[
        "run",
        "json_identity",
        "-i",
        "k.tsv",
        "-q",
        "-o",
        "out",
        "--output-protocol",
        "raw-value",
    ]));
    // Only the value is written: one record's value is a number, whole.
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    let o = ok(w.mr(&["run", "json_identity", "-i", "k.tsv", "-q"]));
    assert_eq!(stdout(&o), "\"c\\td\"\t1\n\"e\\nf\"\t2\n\"ok\"\t3\n");
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
}

#[test]
fn output_protocols_and_output_flags() {
    let w = Workdir::new();
    let input = w.write("in.txt", "hello world\n");
    let inp = input.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut a = vec!["run", "mr_wc", "-q", "-j", "1"];
        a.extend_from_slice(extra);
        a.push(inp);
        stdout(&ok(w.mr(&a)))
    };
    assert_eq!(run(&[]), "\"chars\"\t12\n\"lines\"\t1\n\"words\"\t2\n");
    assert_eq!(
        run(&["--output-protocol", "text"]),
        "chars\t12\nlines\t1\nwords\t2\n"
    );
    assert_eq!(run(&["--output-protocol", "json-value"]), "12\n1\n2\n");
    assert_eq!(run(&["--no-output"]), "");
    assert_eq!(
        run(&["--output-dir", "o1", "--output-protocol", "text"]),
        ""
    );
    assert_eq!(read_parts(&w.path("o1")), "chars\t12\nlines\t1\nwords\t2\n");
    assert_eq!(
        run(&["-o", "o2", "--cat-output"]),
        "\"chars\"\t12\n\"lines\"\t1\n\"words\"\t2\n"
    );
    let o = w.mr(&["run", "mr_wc", "-o", "s3://bucket/out", inp]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("s3://"), "{}", stderr(&o));
    assert!(!w.path("s3:").exists());
}

#[test]
fn conf_file_gives_defaults_per_runner_and_the_command_line_wins() {
    let w = Workdir::new();
    let input = w.write("in.txt", "a b\n");
    let conf = w.write(
        "mr.toml",
        "[runners.local]\noutput_protocol = \"text\"\nquiet = true\ncmdenv = { MR_TEST_X = \"1\" }\n",
    );
    let inp = input.to_str().unwrap();
    let c = conf.to_str().unwrap();
    let o = ok(w.mr(&["run", "mr_wc", "-c", c, inp]));
    assert!(stdout(&o).starts_with("chars\t4\n"), "{}", stdout(&o));
    assert_eq!(stderr(&o), "");
    let o = ok(w.mr(&[
        "run",
        "mr_wc",
        "-c",
        c,
        "--output-protocol",
        "json-value",
        inp,
    ]));
    assert!(stdout(&o).starts_with("4\n"), "{}", stdout(&o));
    let o = ok(w.mr_env(&["run", "mr_wc", inp], &[("MR_CONF", c)]));
    assert!(stdout(&o).starts_with("chars\t4\n"));
    let o = ok(w.mr_env(&["run", "mr_wc", "--no-conf", "-q", inp], &[("MR_CONF", c)]));
    assert!(stdout(&o).starts_with("\"chars\""));
    let bad = w.write("bad.toml", "[runners.local]\nnot_an_option = 1\n");
    let o = w.mr(&["run", "mr_wc", "-c", bad.to_str().unwrap(), inp]);
    assert!(stderr(&o).contains("not_an_option"), "{}", stderr(&o));
    // A path's `$VAR` and `~` are expanded, as mrjob expands them (no
    // directory named `$MR_TEST_SCRATCH` made where cron runs); an unset
    // variable is an error.
    let scratch = w.path("scratch").display().to_string();
    let vars = w.write(
        "vars.toml",
        "[runners.local]\ntmp_dir = \"${MR_TEST_SCRATCH}/t\"\n",
    );
    let v = vars.to_str().unwrap();
    ok(w.mr_env(
        &["run", "mr_wc", "-q", "-c", v, inp],
        &[("MR_TEST_SCRATCH", &scratch)],
    ));
    assert!(w.path("scratch/t").is_dir());
    let o = w.mr(&["run", "mr_wc", "-q", "-c", v, inp]);
    assert!(
        stderr(&o).contains("$MR_TEST_SCRATCH is not set"),
        "{}",
        stderr(&o)
    );
    assert!(!w.path("${MR_TEST_SCRATCH}").exists());
}

#[test]
fn empty_input_still_runs_a_map_and_a_reduce_task() {
    let w = Workdir::new();
    let e = w.write("empty.txt", "");
    let o = ok(w.mr(&["run", "mr_wc", "-q", e.to_str().unwrap()]));
    assert_eq!(stdout(&o), "\"chars\"\t0\n\"lines\"\t0\n\"words\"\t0\n");
    let o = ok(w.mr(&["run", "mr_count_lines_by_file", "-q", e.to_str().unwrap()]));
    assert_eq!(stdout(&o), "");
}

#[test]
fn input_uri_is_a_file_uri() {
    let w = Workdir::new();
    w.write("d/a.txt", "1\n2\n");
    let o = ok(w.mr(&["run", "mr_count_lines_by_file", "-q", "d"]));
    let want = format!("\"file://{}\"\t2\n", w.path("d/a.txt").display());
    assert_eq!(stdout(&o), want);
}

/// An mrjob command line, as its users type it: the last of a repeated
/// option counts, a negative number is a value, mrjob's switches for what
/// mr always does are taken, `--num-cores` is `-j`, an mrjob script's name
/// points to its port, and an empty output directory made first is used.
#[test]
fn mrjob_command_lines_run_as_typed() {
    let w = Workdir::new();
    let lines: String = (1..=1000).map(|i| format!("{i}\n")).collect();
    w.write("nums.txt", &lines);
    let sample = |extra: &[&str]| {
        let mut args = vec!["run", "mr_log_sampler", "-q", "nums.txt"];
        args.extend_from_slice(extra);
        w.mr(&args)
    };
    let o = ok(sample(&["--sample-size=1", "--sample-size", "3"]));
    assert_eq!(stdout(&o).lines().count(), 3);
    // A value, not a flag; and a count, refused before any work.
    let o = sample(&["--sample-size", "-3"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(r#"--sample-size takes an integer from 0 up, got "-3""#),
        "{}",
        stderr(&o)
    );
    // mrjob's switches mr has no use for say why, not which of mr's is
    // "similar" (--setup was told to try --step-num: probe
    // /tmp/probe2-mrjob2 repro 01); --no-cat-output is --no-output.
    for switch in [
        &["--setup", "true"][..],
        &["--py-files=x.py"],
        &["--partitioner", "x"],
        &["--steps"],
    ] {
        let mut args = vec!["run", "mr_wc", "nums.txt"];
        args.extend_from_slice(switch);
        let o = w.mr(&args);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("is mrjob's; mr has no such switch")
                && !stderr(&o).contains("similar"),
            "{}",
            stderr(&o)
        );
    }
    let o = ok(w.mr(&["run", "mr_wc", "nums.txt", "--no-cat-output"]));
    assert_eq!(stdout(&o), "");
    // A pattern that is a negative number: a value of a string option too
    // (probe /tmp/probe2-mrjob2 repro 03: "unexpected argument '-5'").
    w.write("minus.txt", "x -5 y\nabc\n");
    let o = ok(w.mr(&["run", "mr_grep", "-q", "-e", "-5", "minus.txt"]));
    assert_eq!(stdout(&o), "x -5 y\n");
    std::fs::create_dir(w.path("out")).unwrap();
    ok(w.mr(&[
        "run",
        "word_count",
        "-q",
        "--num-cores",
        "2",
        "--check-input-paths",
        "--emulate-map-input-file",
        "--cleanup",
        "ALL",
        "--cleanup-on-failure",
        "NONE",
        "nums.txt",
        "-o",
        "out",
    ]));
    assert!(w.path("out/_SUCCESS").exists());
    let o = w.mr(&["run", "mr_grep.py", "-e", "x", "nums.txt"]);
    assert!(
        stderr(&o).contains(r#"mrjob's mr_grep.py is the job "mr_grep" here"#),
        "{}",
        stderr(&o)
    );
    let o = w.mr(&["run", "mr_word_freq_count", "nums.txt"]);
    assert!(
        stderr(&o).contains(r#"is the job "word_count" here"#),
        "{}",
        stderr(&o)
    );
}

/// The lines `option_kinds` counts, sorted (its output has one record a
/// key, in no set order across part files).
fn sorted_lines(o: &std::process::Output) -> Vec<String> {
    let mut lines: Vec<String> = stdout(o).lines().map(str::to_string).collect();
    lines.sort();
    lines
}

/// mrjob's add_file_arg takes `PATH#NAME` and ships the file as NAME (probe
/// /tmp/probe10-mrjob repro 03: "--course-names data/courses.tsv#names.tsv:
/// no such file"): locally the task reads the file at its path, on Hadoop
/// and under the emulator under NAME; a path that itself holds `#` and
/// names a file is that file.
#[test]
fn a_file_option_takes_mrjobs_path_hash_name() {
    let w = Workdir::new();
    let input = w.write("in.txt", "the cat sat\nthe dog\ncat cat\n");
    let input = input.to_str().unwrap();
    w.write("stops.txt", "the\ncat\n");
    w.write("stop#1.txt", "the\ncat\n");
    let most_used = |runner: &str, stop: &str| {
        w.mr(&[
            "run",
            "mr_most_used_word",
            "-r",
            runner,
            "-q",
            "--stop-words-file",
            stop,
            input,
        ])
    };
    for stop in ["stops.txt#sw.txt", "stop#1.txt", "stop#1.txt#sw.txt"] {
        let o = ok(most_used("local", stop));
        assert_eq!(stdout(&o), "\"sat\"\n", "{stop}");
    }
    let o = ok(most_used("emulate", "stops.txt#sw.txt"));
    assert_eq!(stdout(&o), "\"sat\"\n");
    // Hadoop's -files cannot ship a path with a `#`: said, as for --files.
    let o = most_used("emulate", "stop#1.txt");
    assert!(
        stderr(&o).contains("read '#' as the start"),
        "{}",
        stderr(&o)
    );
    // The task is given the name the file is shipped under.
    w.write("courses.tsv", "c1\tIntro\n");
    w.write("k.txt", "x\n");
    let lookup = |runner: &str| {
        let args = ["run", "option_kinds", "-q", "-r", runner, "k.txt"];
        let o = ok(w.mr(&[&args[..], &["--lookup", "courses.tsv#names.tsv"]].concat()));
        stdout(&o)
    };
    assert_eq!(
        lookup("local"),
        "[\"web\",null,\"courses.tsv: c1\\tIntro\"]\t1\n"
    );
    assert_eq!(
        lookup("emulate"),
        "[\"web\",null,\"names.tsv: c1\\tIntro\"]\t1\n"
    );
    let o = ok(w.mr(&[
        "run",
        "mr_most_used_word",
        "-r",
        "hadoop",
        "--dry-run",
        "--stop-words-file",
        "stops.txt#sw.txt",
        "--hadoop-streaming-jar",
        "s.jar",
        "-i",
        "hdfs:///in",
        "-o",
        "hdfs:///out",
    ]));
    let cmd = stdout(&o);
    assert!(
        cmd.contains(&format!("{}#sw.txt", w.path("stops.txt").display())),
        "{cmd}"
    );
    assert!(cmd.contains("--stop-words-file=sw.txt"), "{cmd}");
    // Neither the path nor its part before `#` is a file; a bad NAME.
    let o = w.mr(&[
        "run",
        "mr_most_used_word",
        "--stop-words-file",
        "nope.txt#sw.txt",
        input,
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--stop-words-file nope.txt#sw.txt: no such file, nor is nope.txt"),
        "{}",
        stderr(&o)
    );
    let o = w.mr(&[
        "run",
        "mr_most_used_word",
        "--stop-words-file",
        "nope.txt#a/b",
        input,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("FILE#NAME"), "{}", stderr(&o));
}

/// argparse's `choices` (probe /tmp/probe10-mrjob repro 04: a bad value
/// failed only once tasks ran): refused while parsing the command line or
/// a config file, exit 2 with the choices said; listed in the job's help;
/// a good value reaches the tasks of every runner.
#[test]
fn choices_are_checked_when_parsing_and_listed_in_help() {
    let w = Workdir::new();
    w.write("in.txt", "a\nb\n");
    let o = w.mr(&["run", "option_kinds", "--client", "bogus", "in.txt"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(r#"--client takes one of web, mobile, got "bogus""#),
        "{}",
        stderr(&o)
    );
    // The job's page and clap's list of its options both say them.
    let help = stdout(&ok(w.mr(&["run", "option_kinds", "--help"])));
    assert!(help.contains("default web, one of web, mobile"), "{help}");
    assert!(help.contains("[possible values: web, mobile]"), "{help}");
    assert!(help.contains("repeatable"), "{help}");
    let bad = w.write("bad.toml", "[runners.local]\nclient = \"bogus\"\n");
    let o = w.mr(&["run", "option_kinds", "-c", bad.to_str().unwrap(), "in.txt"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("bad.toml") && e.contains("one of web, mobile"),
        "{e}"
    );
    let good = w.write("good.toml", "[runners.local]\nclient = \"mobile\"\n");
    let o = ok(w.mr(&[
        "run",
        "option_kinds",
        "-q",
        "-c",
        good.to_str().unwrap(),
        "in.txt",
    ]));
    assert_eq!(stdout(&o), "[\"mobile\",null,null]\t2\n");
    for runner in ["local", "emulate"] {
        // The last of a plain option given twice counts.
        let args = ["run", "option_kinds", "-q", "-r", runner, "in.txt"];
        let o = ok(w.mr(&[&args[..], &["--client", "web", "--client", "mobile"]].concat()));
        assert_eq!(stdout(&o), "[\"mobile\",null,null]\t2\n", "-r {runner}");
    }
}

/// argparse's `action='append'` (probe /tmp/probe10-mrjob repro 05: all but
/// the last `--kind` were dropped without a word): every value reaches the
/// tasks, locally, in task mode and in Hadoop's command, whatever it holds,
/// and a config file gives a list.
#[test]
fn a_repeated_option_keeps_every_value() {
    let w = Workdir::new();
    let odd = r#"a,b "q""#;
    w.write(
        "in.txt",
        format!("kind a\nkind b c\nboth a b c\nnone\n{NASTY}\n{odd}\n"),
    );
    let want = [
        "[\"web\",\"a\",null]\t4",
        "[\"web\",\"a,b \\\"q\\\"\",null]\t1",
        "[\"web\",\"b c\",null]\t2",
        &format!(
            "[\"web\",{},null]\t1",
            serde_json::to_string(NASTY).unwrap()
        ),
    ];
    for runner in ["local", "inline", "emulate"] {
        let o = ok(w.mr(&[
            "run",
            "option_kinds",
            "-q",
            "-r",
            runner,
            "--kind",
            "a",
            "--kind=b c",
            "--kind",
            NASTY,
            "--kind",
            odd,
            "in.txt",
        ]));
        assert_eq!(sorted_lines(&o), want, "-r {runner}");
    }
    // Hadoop's command gives every value back, in order.
    let o = ok(w.mr(&[
        "run",
        "option_kinds",
        "-r",
        "hadoop",
        "--dry-run",
        "--kind",
        "a",
        "--kind",
        "b c",
        "--kind",
        NASTY,
        "--hadoop-streaming-jar",
        "s.jar",
        "-i",
        "hdfs:///in",
        "-o",
        "hdfs:///out",
    ]));
    let argv = mr_cli::cluster::expand_hex_args(vec![mr_args_hex(&o)]).unwrap();
    let kinds: Vec<&String> = argv.iter().filter(|a| a.starts_with("--kind=")).collect();
    assert_eq!(
        kinds,
        ["--kind=a", "--kind=b c", &format!("--kind={NASTY}")],
        "{argv:?}"
    );
    // A config file's list, then the command line's values.
    let conf = w.write("mr.toml", "[runners.local]\nkind = [\"none\", \"b c\"]\n");
    let c = conf.to_str().unwrap();
    let o = ok(w.mr(&["run", "option_kinds", "-q", "-c", c, "in.txt"]));
    assert_eq!(
        sorted_lines(&o),
        ["[\"web\",\"b c\",null]\t2", "[\"web\",\"none\",null]\t1"]
    );
    let o = ok(w.mr(&[
        "run",
        "option_kinds",
        "-q",
        "-c",
        c,
        "--kind",
        "a",
        "in.txt",
    ]));
    assert_eq!(sorted_lines(&o).len(), 3, "{}", stdout(&o));
    // Not given: no value, and the job counts each line once.
    let o = ok(w.mr(&["run", "option_kinds", "-q", "in.txt"]));
    assert_eq!(stdout(&o), "[\"web\",null,null]\t6\n");
}

/// `mr gen` takes `-o` for `--output`, as `mr run` does (probe
/// /tmp/probe10-mrjob repro 07: "unexpected argument '-o'").
#[test]
fn gen_takes_o_for_output() {
    let w = Workdir::new();
    for kind in ["clicklog", "text"] {
        ok(w.mr(&[
            "gen",
            kind,
            "--size",
            "2KB",
            "--files",
            "1",
            "--gz-files",
            "0",
            "-o",
            kind,
        ]));
        assert_eq!(part_names(&w.path(kind)).len(), 1, "{kind}");
    }
}

/// The `--mr-args-hex=` argument of the `-r hadoop --dry-run` command
/// line `o` printed: the arguments its tasks are given, hex-encoded.
fn mr_args_hex(o: &std::process::Output) -> String {
    let cmd = stdout(o);
    cmd.split([' ', '\''])
        .find(|a| a.starts_with("--mr-args-hex="))
        .unwrap_or_else(|| panic!("{cmd}"))
        .to_string()
}

/// `--files` takes a path that exists whole, `#` and `,` and all, as a
/// job's file options do; a split one that names no file says how the
/// argument was read (it said "--files h: no such file" for an existing
/// `h#x.tsv`: probe /tmp/probe23-fuzz repro 08).
#[test]
fn files_takes_an_existing_path_whole_and_says_how_it_split_one() {
    let w = Workdir::new();
    w.write("in.txt", "hello\n");
    w.write("h#x.tsv", "k\tv\n");
    w.write("a,b.tsv", "k\tv\n");
    w.write("c.tsv", "k\tv\n");
    let files = |spec: &str| w.mr(&["run", "word_count", "-q", "-i", "in.txt", "--files", spec]);
    ok(files("h#x.tsv"));
    ok(files("a,b.tsv"));
    // Still split where the whole is no file: c.tsv shipped as d.tsv.
    ok(files("c.tsv#d.tsv,h#x.tsv"));
    let o = files("g#x.tsv");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "--files \"g#x.tsv\": no such file g (read as g shipped as x.tsv: commas separate \
             files, and PATH#NAME ships PATH under NAME)"
        ),
        "{}",
        stderr(&o)
    );
}
