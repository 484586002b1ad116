//! Parquet output and input against their peers: files `mr` writes read back
//! by DuckDB, pyarrow and Polars with the same rows and types; files DuckDB
//! writes read by `mr`; events_table's table and dictionaries checked against
//! url_views; categorical ids the same under other settings.

#![cfg(feature = "parquet")]

mod common;
use common::*;
use std::collections::BTreeMap;
use std::process::Command;

/// python3 with duckdb, pyarrow and polars (skips, or fails under
/// MR_REQUIRE_PEERS=1, when missing).
fn python_peers() -> bool {
    peer_available(
        "python3 with duckdb, pyarrow and polars (pip install -r .ci/requirements.txt)",
        Command::new("python3").args(["-c", "import duckdb, pyarrow, polars"]),
    )
}

/// Runs a Python script in the workdir; its stdout.
fn python(w: &Workdir, script: &str) -> String {
    let o = Command::new("python3")
        .args(["-c", script])
        .current_dir(w.dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "python failed:\n{}", stderr(&o));
    stdout(&o)
}

fn gen_logs(w: &Workdir, size: &str, seed: &str) {
    ok(w.mr(&[
        "gen",
        "clicklog",
        "--size",
        size,
        "--seed",
        seed,
        "--output",
        "logs",
        "--files",
        "3",
        "--gz-files",
        "1",
        "--users",
        "300",
        "--urls",
        "200",
    ]));
}

#[test]
fn parquet_output_reads_back_in_duckdb_pyarrow_and_polars() {
    if !python_peers() {
        return;
    }
    let w = Workdir::new();
    gen_logs(&w, "400KB", "3");
    ok(w.mr(&[
        "run",
        "video_tagging",
        "--input",
        "logs",
        "--output",
        "lines",
        "-j",
        "2",
    ]));
    ok(w.mr(&[
        "run",
        "video_tagging",
        "--input",
        "logs",
        "--output",
        "table",
        "-j",
        "2",
        "--output-format",
        "parquet",
        "--parquet-compression",
        "snappy",
    ]));
    assert!(w.path("table/_SUCCESS").exists());
    assert!(!w.path("table/part-00000").exists());
    // The rows mr wrote as lines, as the table should hold them.
    let mut expected: Vec<String> = read_parts(&w.path("lines"))
        .lines()
        .map(|l| {
            let (k, v) = l.split_once('\t').unwrap();
            let v: serde_json::Value = serde_json::from_str(v).unwrap();
            format!(
                "{}|{}|{}|{}|{}|{}",
                serde_json::from_str::<String>(k).unwrap(),
                v["lecture_id"],
                v["start"],
                v["end"],
                v["events"],
                v["tag"].as_str().unwrap()
            )
        })
        .collect();
    expected.sort();
    assert!(expected.len() > 20, "{}", expected.len());
    let script = r#"
import duckdb, pyarrow.parquet as pq, pyarrow.dataset as ds, polars as pl, glob
cols = 'key, lecture_id, start, "end", events, tag'
def show(rows):
    return sorted('|'.join(str(x) for x in r) for r in rows)
d = duckdb.sql(f"SELECT {cols} FROM 'table/*.parquet'").fetchall()
t = ds.dataset(sorted(glob.glob('table/*.parquet'))).to_table()
a = list(zip(*[t.column(c).to_pylist() for c in ['key','lecture_id','start','end','events','tag']]))
p = pl.read_parquet('table/*.parquet').select(['key','lecture_id','start','end','events','tag']).rows()
assert show(d) == show(a) == show(p), 'peers disagree'
print('\n'.join(show(d)))
print('SCHEMA', ','.join(f'{f.name}:{f.type}' for f in t.schema))
f = pq.ParquetFile(sorted(glob.glob('table/*.parquet'))[0])
print('CODEC', f.metadata.row_group(0).column(0).compression)
print('ENCODINGS', ','.join(f.metadata.row_group(0).column(5).encodings))
print('DTYPES', duckdb.sql("SELECT typeof(lecture_id), typeof(tag) FROM 'table/*.parquet' LIMIT 1").fetchall()[0])
"#;
    let out = python(&w, script);
    let (rows, meta) = out.split_at(out.find("SCHEMA").unwrap());
    let got: Vec<&str> = rows.lines().collect();
    assert_eq!(got, expected);
    assert!(
        meta.contains(
            "SCHEMA key:string,lecture_id:int64,start:int64,end:int64,events:int64,tag:string"
        ),
        "{meta}"
    );
    assert!(meta.contains("CODEC SNAPPY"), "{meta}");
    assert!(meta.contains("RLE_DICTIONARY"), "{meta}");
    assert!(meta.contains("DTYPES ('BIGINT', 'VARCHAR')"), "{meta}");
}

#[test]
fn parquet_written_by_duckdb_is_read_by_mr_one_split_per_row_group() {
    if !python_peers() {
        return;
    }
    let w = Workdir::new();
    // 5000 events over 7 URLs (one null, one a struct column beside), in row
    // groups DuckDB rounds to 2048 rows: three splits.
    python(
        &w,
        r#"
import duckdb
duckdb.sql("""COPY (SELECT CASE WHEN i % 7 = 6 THEN NULL ELSE '/p' || (i % 7) END AS page_url,
  i AS n, {'a': i, 'b': [i, i]} AS s, i::DOUBLE * 0.5 AS f
  FROM range(5000) t(i)) TO 'in.parquet' (FORMAT parquet, ROW_GROUP_SIZE 1000)""")
"#,
    );
    let o = ok(w.mr(&[
        "run",
        "url_views",
        "--input",
        "in.parquet",
        "-j",
        "2",
        "--report",
        "r.json",
    ]));
    // One map task per row group, as DuckDB wrote them.
    let groups = python(
        &w,
        "import pyarrow.parquet as pq; print(pq.ParquetFile('in.parquet').metadata.num_row_groups)",
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("r.json")).unwrap()).unwrap();
    assert_eq!(
        report["counters"]["mr"]["step 0: map tasks"].to_string(),
        groups.trim()
    );
    assert!(groups.trim().parse::<u32>().unwrap() >= 2, "{groups}");
    let got: Vec<String> = stdout(&o).lines().map(String::from).collect();
    let mut expected = Vec::new();
    for p in 0..6 {
        let n = (0..5000).filter(|i| i % 7 == p).count();
        expected.push(format!("\"/p{p}\"\t{n}"));
    }
    assert_eq!(got, expected);
    assert!(
        stderr(&o).contains("events without a string page_url"),
        "{}",
        stderr(&o)
    );
    // Cluster runners read text lines: a local table is refused up front.
    for runner in ["hadoop", "spark"] {
        let o = w.mr(&[
            "run",
            "url_views",
            "-r",
            runner,
            "--input",
            "in.parquet",
            "--output",
            "out-r",
            "--dry-run",
        ]);
        assert!(!o.status.success(), "{runner}");
        assert!(
            stderr(&o).contains("in.parquet is a Parquet table: only the local runner"),
            "{runner}: {}",
            stderr(&o)
        );
    }
    // Only the columns a job declares are read: url_views reads page_url
    // beside a map column that JSON cannot hold (integer keys), which a job
    // reading every column is refused on.
    python(
        &w,
        r#"
import duckdb
duckdb.sql("""COPY (SELECT '/p' || (i % 3) AS page_url, map([i], ['x']) AS m FROM range(300) t(i))
  TO 'map.parquet' (FORMAT parquet)""")
"#,
    );
    let o = ok(w.mr(&["run", "url_views", "--input", "map.parquet"]));
    assert_eq!(stdout(&o), "\"/p0\"\t100\n\"/p1\"\t100\n\"/p2\"\t100\n");
    let o = w.mr(&["run", "mr_grep", "-e", "p", "--input", "map.parquet"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("map.parquet"), "{}", stderr(&o));
    // Typed columns come through as JSON of the same types: video_tagging
    // (integer timestamps) reads DuckDB's Parquet as it reads the JSON.
    let mut events = String::new();
    for i in 0..6000u64 {
        events.push_str(&format!(
            "{{\"username\": \"u{}\", \"timestamp\": {}, \"page_url\": \"/c/lecture/view?lecture_id={}\"}}\n",
            i % 13,
            1_375_000_000_000 + i * 7_919 * (i % 5),
            i % 4
        ));
    }
    w.write("events.json", &events);
    python(
        &w,
        r#"
import duckdb
duckdb.sql("""COPY (SELECT * FROM read_json('events.json', columns={username: 'VARCHAR', timestamp: 'BIGINT', page_url: 'VARCHAR'}))
  TO 'events.parquet' (FORMAT parquet, ROW_GROUP_SIZE 2048)""")
"#,
    );
    let from_json = ok(w.mr(&["run", "video_tagging", "--input", "events.json"]));
    let from_parquet = ok(w.mr(&[
        "run",
        "video_tagging",
        "--input",
        "events.parquet",
        "-j",
        "2",
    ]));
    assert!(stdout(&from_json).lines().count() > 100);
    assert_eq!(stdout(&from_parquet), stdout(&from_json));

    // A bad row in a later row group is named by its row number in the file;
    // with --skip-bad-records it is kept aside and the other rows counted.
    python(
        &w,
        r#"
import duckdb
duckdb.sql("""COPY (SELECT i AS n, CASE WHEN i = 3500 THEN 'PANIC-IN-MAP' ELSE 'w' END AS s
  FROM range(5000) t(i)) TO 'bad.parquet' (FORMAT parquet, ROW_GROUP_SIZE 1000)""")
"#,
    );
    let o = w.mr(&["run", "panic_on", "--input", "bad.parquet", "-j", "2"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("bad record at bad.parquet:3501: job panicked"),
        "{}",
        stderr(&o)
    );
    let o = ok(w.mr(&[
        "run",
        "panic_on",
        "--input",
        "bad.parquet",
        "--skip-bad-records",
        "--output",
        "out",
    ]));
    let kept: String = std::fs::read_dir(w.path("out/_bad_records"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(kept.contains("PANIC-IN-MAP"), "{kept}");
    assert_eq!(
        read_parts(&w.path("out")).lines().count(),
        4999,
        "{}",
        stderr(&o)
    );
    // Not from a stream: its index is at its end.
    let o = w.mr_stdin(
        &["run", "url_views"],
        Some(&std::fs::read(w.path("bad.parquet")).unwrap()),
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("cannot be read from a stream"),
        "{}",
        stderr(&o)
    );
}

/// The path of a URL as events_table defines `action`.
fn url_path(url: &str) -> &str {
    let url = &url[..url.find(['?', '#']).unwrap_or(url.len())];
    match url.find("://") {
        Some(i) => url[i + 3..].find('/').map_or("/", |j| &url[i + 3 + j..]),
        None => url,
    }
}

#[test]
fn events_table_matches_url_views_and_ids_do_not_depend_on_settings() {
    if !python_peers() {
        return;
    }
    let w = Workdir::new();
    gen_logs(&w, "600KB", "11");
    let o = ok(w.mr(&[
        "run",
        "events_table",
        "--input",
        "logs",
        "--output",
        "table",
        "--output-format",
        "parquet",
        "-j",
        "2",
        "--chunksize",
        "64KB",
    ]));
    // The generator's odd timestamps (a float of ms, a string) are times:
    // a float of ms was made null (probe /tmp/probe12-tables repro 03).
    assert!(
        !stderr(&o).contains("fields of the wrong type"),
        "{}",
        stderr(&o)
    );
    for col in ["username", "action", "page_url", "event_type", "user_agent"] {
        assert!(
            w.path(&format!("table/_dictionaries/{col}.jsonl")).exists(),
            "{col}"
        );
    }
    // url_views' counts regrouped by action.
    let o = ok(w.mr(&["run", "url_views", "--input", "logs"]));
    let mut by_action: BTreeMap<String, u64> = BTreeMap::new();
    for l in stdout(&o).lines() {
        let (k, v) = l.split_once('\t').unwrap();
        let url: String = serde_json::from_str(k).unwrap();
        *by_action.entry(url_path(&url).to_string()).or_default() += v.parse::<u64>().unwrap();
    }
    let out = python(
        &w,
        r#"
import duckdb
rows = duckdb.sql("""SELECT d.value, count(*) FROM 'table/*.parquet' t
  JOIN read_json('table/_dictionaries/action.jsonl') d ON t.action = d.id GROUP BY 1 ORDER BY 1""").fetchall()
for a, n in rows: print(f'{a}\t{n}')
print('TYPES', duckdb.sql("SELECT typeof(username), typeof(time), typeof(currentTime), typeof(paused) FROM 'table/*.parquet' LIMIT 1").fetchall()[0])
print('NULLTIME', duckdb.sql("SELECT count(*) FROM 'table/*.parquet' WHERE time IS NULL").fetchall()[0][0])
print('MS', duckdb.sql("SELECT sum(epoch_ms(time)) FROM 'table/*.parquet'").fetchall()[0][0])
"#,
    );
    // The times are the JSON output's milliseconds, as a TIMESTAMP.
    let o = ok(w.mr(&["run", "events_table", "--input", "logs"]));
    let ms: i128 = stdout(&o)
        .lines()
        .filter_map(|l| {
            let row: serde_json::Value = serde_json::from_str(l.split_once('\t')?.1).ok()?;
            row["time"].as_i64()
        })
        .map(i128::from)
        .sum();
    assert!(ms > 0);
    assert!(out.contains(&format!("MS {ms}\n")), "{ms}: {out}");
    assert!(out.contains("NULLTIME 0\n"), "{out}");
    let (rows, meta) = out.split_at(out.find("TYPES").unwrap());
    let got: BTreeMap<String, u64> = rows
        .lines()
        .map(|l| {
            let (a, n) = l.split_once('\t').unwrap();
            (a.to_string(), n.parse().unwrap())
        })
        .collect();
    assert_eq!(got, by_action);
    assert!(
        meta.contains("TYPES ('BIGINT', 'TIMESTAMP WITH TIME ZONE', 'DOUBLE', 'BOOLEAN')"),
        "{meta}"
    );
    // Same input, other settings: the same dictionaries, the same table.
    ok(w.mr(&[
        "run",
        "events_table",
        "--input",
        "logs",
        "--output",
        "table2",
        "--output-format",
        "parquet",
        "-j",
        "1",
        "--chunksize",
        "1MB",
        "--partitions",
        "3",
    ]));
    for col in ["username", "action", "page_url"] {
        let a = std::fs::read(w.path(&format!("table/_dictionaries/{col}.jsonl"))).unwrap();
        let b = std::fs::read(w.path(&format!("table2/_dictionaries/{col}.jsonl"))).unwrap();
        assert_eq!(a, b, "{col}");
    }
    let same = python(
        &w,
        r#"
import duckdb
q = "SELECT * EXCLUDE (session) FROM '{}/*.parquet' ORDER BY ALL"
print(duckdb.sql(q.format('table')).fetchall() == duckdb.sql(q.format('table2')).fetchall())
"#,
    );
    assert_eq!(same.trim(), "True");
}

#[test]
fn parquet_output_needs_a_directory_and_conflicts_are_named() {
    let w = Workdir::new();
    w.write("in.json", "{\"page_url\": \"/a\"}\n");
    let o = w.mr(&[
        "run",
        "url_views",
        "--input",
        "in.json",
        "--output-format",
        "parquet",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--output DIR"), "{}", stderr(&o));
    // Line-output switches with a table: said before the run (--cat-output
    // printed the table's bytes; --output-protocol was ignored).
    for (flag, says) in [
        (&["--cat-output"][..], "--cat-output prints line output"),
        (
            &["--output-protocol", "raw-value"][..],
            "--output-protocol is for line output",
        ),
    ] {
        let mut args = vec![
            "run",
            "url_views",
            "-i",
            "in.json",
            "-o",
            "p",
            "--output-format",
            "parquet",
        ];
        args.extend_from_slice(flag);
        let o = w.mr(&args);
        assert!(!o.status.success());
        assert!(stderr(&o).contains(says), "{}", stderr(&o));
        assert!(!w.path("p").exists());
    }
    // events_table on lines whose value fields disagree in type cannot
    // conflict (types come from names); a bad line is kept aside.
    w.write(
        "logs/a.json",
        "{\"key\": \"k\", \"value\": \"{\\\"type\\\": {\\\"x\\\": 1}}\", \"timestamp\": \"x\"}\n\
         {\"key\": \"k\", \"value\": \"{\\\"type\\\": \\\"play\\\"}\"}\nnot json\n",
    );
    let o = w.mr(&[
        "run",
        "events_table",
        "--input",
        "logs",
        "--output",
        "t",
        "--output-format",
        "parquet",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("a.json:3"), "{}", stderr(&o));
    assert!(!w.path("t").exists());
    let o = ok(w.mr(&[
        "run",
        "events_table",
        "--input",
        "logs",
        "--output",
        "t",
        "--output-format",
        "parquet",
        "--skip-bad-records",
    ]));
    assert!(
        stderr(&o).contains("1 bad record skipped"),
        "{}",
        stderr(&o)
    );
    assert!(w.path("t/part-00000.parquet").exists());
    assert!(w.path("t/_bad_records").exists());
}

/// An output's dictionary file as `value -> (id, count)`.
fn dictionary(w: &Workdir, out: &str, col: &str) -> BTreeMap<String, (u64, u64)> {
    dictionary_file(w, &format!("{out}/_dictionaries/{col}.jsonl"))
}

/// A dictionary file as `value -> (id, count)`.
fn dictionary_file(w: &Workdir, file: &str) -> BTreeMap<String, (u64, u64)> {
    let text = std::fs::read_to_string(w.path(file)).unwrap();
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let value = v["value"].as_str().unwrap().to_string();
            (
                value,
                (v["id"].as_u64().unwrap(), v["count"].as_u64().unwrap()),
            )
        })
        .collect()
}

/// `--dictionaries`: a second day's table keeps the first day's ids, new
/// values get the next ones, and its rows decode (with its dictionaries) to
/// the strings a run on stdout keeps; `--overwrite` of the output whose
/// dictionaries are given reads them before replacing it; a day with no
/// rows carries them over with counts 0; a wrong directory is an error.
#[test]
fn dictionaries_of_an_earlier_run_keep_their_ids() {
    let w = Workdir::new();
    gen_logs(&w, "200KB", "21");
    std::fs::rename(w.path("logs"), w.path("day1")).unwrap();
    gen_logs(&w, "200KB", "22");
    std::fs::rename(w.path("logs"), w.path("day2")).unwrap();
    let run = |input: &str, out: &str, extra: &[&str]| {
        let mut args = vec!["run", "events_table", "-q", "-i", input, "-o", out];
        args.extend_from_slice(extra);
        w.mr(&args)
    };
    ok(run("day1", "t1", &[]));
    ok(run("day2", "t2", &["--dictionaries", "t1/_dictionaries"]));
    let cols = ["username", "action", "page_url", "client"];
    for col in cols {
        let (d1, d2) = (dictionary(&w, "t1", col), dictionary(&w, "t2", col));
        for (v, (id, _)) in &d1 {
            assert_eq!(d2[v].0, *id, "{col} {v}: the id changed");
        }
        let mut ids: Vec<u64> = d2.values().map(|(id, _)| *id).collect();
        ids.sort();
        assert_eq!(ids, (0..d2.len() as u64).collect::<Vec<_>>(), "{col}");
        assert!(d2.len() > d1.len(), "{col}: day 2 brings new values");
    }
    // Day 2's rows, decoded, are what a run on stdout writes (strings kept).
    let strings = stdout(&ok(w.mr(&["run", "events_table", "-i", "day2"])));
    let decode: BTreeMap<&str, BTreeMap<u64, String>> = cols
        .iter()
        .map(|c| {
            let d = dictionary(&w, "t2", c);
            (*c, d.into_iter().map(|(v, (id, _))| (id, v)).collect())
        })
        .collect();
    let table = read_parts(&w.path("t2"));
    assert_eq!(
        decoded_rows(&table, Some(&decode)),
        decoded_rows(&strings, None)
    );
    // The counts are this output's: day 2's alone.
    let d2 = dictionary(&w, "t2", "client");
    let counted: u64 = d2.values().map(|(_, n)| n).sum();
    assert_eq!(
        counted as usize,
        strings
            .lines()
            .filter(|l| l.contains("\"client\":\""))
            .count()
    );
    // Replacing t2 with a run given t2 itself: the same ids.
    ok(run("day2", "t2", &["--overwrite", "--dictionaries", "t2"]));
    for col in cols {
        let again = dictionary(&w, "t2", col);
        assert_eq!(again, d2_of(&decode, col, &again), "{col}");
    }
    // A day without rows: the dictionaries carry over, counts 0.
    w.write("day3/empty.jsonl", "");
    ok(run("day3", "t3", &["--dictionaries", "t2"]));
    let d3 = dictionary(&w, "t3", "username");
    assert_eq!(d3.len(), dictionary(&w, "t2", "username").len());
    assert!(d3.values().all(|(_, n)| *n == 0));
    // A mistyped directory fails before anything is written.
    let o = run("day2", "t4", &["--dictionaries", "day1"]);
    failed_saying(
        &o,
        "holds no dictionary of this job's columns",
        &w.path("t4"),
    );
    // One dictionary file named: a file, not the directory.
    let o = run(
        "day2",
        "t4",
        &["--dictionaries", "t2/_dictionaries/username.jsonl"],
    );
    failed_saying(
        &o,
        "is a file: give the earlier output directory",
        &w.path("t4"),
    );
    // A directory with some columns' files only: the others start afresh, said.
    std::fs::create_dir(w.path("some")).unwrap();
    std::fs::copy(
        w.path("t2/_dictionaries/username.jsonl"),
        w.path("some/username.jsonl"),
    )
    .unwrap();
    let o = ok(run("day2", "t5", &["--dictionaries", "some"]));
    assert!(
        stderr(&o).contains("no dictionary of event_type, action"),
        "{}",
        stderr(&o)
    );
}

/// The rows of `key TAB object` lines, sorted, with the ids of the columns
/// of `decode` replaced by their values (`None`: strings already), and the
/// columns no test decodes made null.
fn decoded_rows(text: &str, decode: Option<&BTreeMap<&str, BTreeMap<u64, String>>>) -> Vec<String> {
    let mut v: Vec<String> = text
        .lines()
        .map(|l| {
            let mut row: serde_json::Value =
                serde_json::from_str(l.split_once('\t').unwrap().1).unwrap();
            for (c, names) in decode.into_iter().flatten() {
                if let Some(id) = row[*c].as_u64() {
                    row[*c] = names[&id].clone().into();
                }
            }
            for c in ["event_type", "language", "user_agent"] {
                row[c] = serde_json::Value::Null; // not decoded here
            }
            row.to_string()
        })
        .collect();
    v.sort();
    v
}

/// `--dictionary-store`: days run in any order, and a day run again with
/// other logs (late events), share one store whose ids never move. Every
/// table, the first day's too, decodes with the store as it ends to the
/// strings a run on stdout keeps, where `--dictionaries t1` for both later
/// runs would have given two values one id. Runs given the store at once
/// agree with it too. A store inside the output or an input, or beside
/// `--dictionaries`, or on a cluster, is refused before anything runs.
#[test]
fn a_dictionary_store_keeps_every_id_for_good() {
    let w = Workdir::new();
    for (day, seed) in [("day1", "31"), ("day2", "32"), ("late", "33")] {
        gen_logs(&w, "100KB", seed);
        std::fs::rename(w.path("logs"), w.path(day)).unwrap();
    }
    let run = |input: &str, out: &str, extra: &[&str]| {
        let mut args = vec!["run", "events_table", "-q", "-i", input, "-o", out];
        args.extend_from_slice(extra);
        w.mr(&args)
    };
    let store = ["--dictionary-store", "ids"];
    ok(run("day1", "t1", &store));
    let clients = |t: &str| -> u64 { dictionary(&w, t, "client").values().map(|(_, n)| n).sum() };
    let first_day1 = clients("t1");
    ok(run("day2", "t2", &store));
    // Day 1 again, with its late events: t1 replaced, t2 kept.
    std::fs::rename(w.path("late"), w.path("day1/late")).unwrap();
    ok(run("day1", "t1", &[&store[..], &["--overwrite"]].concat()));
    // Two more days at once.
    for (day, seed) in [("day3", "34"), ("day4", "35")] {
        gen_logs(&w, "100KB", seed);
        std::fs::rename(w.path("logs"), w.path(day)).unwrap();
    }
    std::thread::scope(|s| {
        let run = &run;
        for d in ["3", "4"] {
            s.spawn(move || ok(run(&format!("day{d}"), &format!("t{d}"), &store)));
        }
    });
    let cols = ["username", "action", "page_url", "client"];
    let decode: BTreeMap<&str, BTreeMap<u64, String>> = cols
        .iter()
        .map(|c| {
            let d = dictionary_file(&w, &format!("ids/{c}.jsonl"));
            (*c, d.into_iter().map(|(v, (id, _))| (id, v)).collect())
        })
        .collect();
    for day in ["1", "2", "3", "4"] {
        let strings = stdout(&ok(w.mr(&[
            "run",
            "events_table",
            "-i",
            &format!("day{day}"),
        ])));
        let table = read_parts(&w.path(&format!("t{day}")));
        assert_eq!(
            decoded_rows(&table, Some(&decode)),
            decoded_rows(&strings, None),
            "day {day}"
        );
        // Each table's own dictionaries agree with the store.
        for c in cols {
            for (v, (id, _)) in dictionary(&w, &format!("t{day}"), c) {
                assert_eq!(decode[c][&id], v, "day {day}, {c}");
            }
        }
    }
    // The store's counts: every run's, the replaced day 1's too.
    let runs: u64 = ["t1", "t2", "t3", "t4"].map(clients).iter().sum();
    let stored: u64 = dictionary_file(&w, "ids/client.jsonl")
        .values()
        .map(|(_, n)| n)
        .sum();
    assert_eq!(stored, runs + first_day1);
    // Refused before anything is written.
    let o = run("day2", "t5", &["--dictionary-store", "t5/ids"]);
    failed_saying(&o, "is inside the output", &w.path("t5"));
    let o = run("day2", "t5", &["--dictionary-store", "day2/ids"]);
    failed_saying(&o, "is inside the input day2", &w.path("t5"));
    let o = run("day2", "t5", &["--dictionary-store", "day2/../day2/ids"]);
    failed_saying(&o, "is inside the input day2", &w.path("t5"));
    let o = run("day2", "t5", &["--dictionary-store", "nosuch/../t5/ids"]);
    failed_saying(&o, "is inside the output t5", &w.path("t5"));
    assert!(!w.path("day2/ids").exists());
    // A run refused for another reason leaves no store behind.
    let o = run("day2", "t1", &["--dictionary-store", "new-ids"]);
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    assert!(!w.path("new-ids").exists());
    let o = run(
        "day2",
        "t5",
        &["--dictionary-store", "ids", "-i", "ids/client.jsonl"],
    );
    failed_saying(&o, "is inside an input, or holds one", &w.path("t5"));
    let o = run(
        "day2",
        "t5",
        &["--dictionary-store", "ids", "--dictionaries", "t1"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot be used with"), "{}", stderr(&o));
    let o = run("day2", "t5", &["--dictionary-store", "ids", "-r", "hadoop"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("are for the local runner"),
        "{}",
        stderr(&o)
    );
    let o = run("day2", "t5", &["--dictionary-store", "t1"]);
    failed_saying(&o, "is a job's output", &w.path("t5"));
}

/// `got`'s ids are those `decode` gives for `col` (the ids did not move).
fn d2_of(
    decode: &BTreeMap<&str, BTreeMap<u64, String>>,
    col: &str,
    got: &BTreeMap<String, (u64, u64)>,
) -> BTreeMap<String, (u64, u64)> {
    decode[col]
        .iter()
        .map(|(id, v)| (v.clone(), (*id, got[v].1)))
        .collect()
}

/// Day after day, one schema: a day whose `client` and `language` are all
/// null, and a day without events, give the tables of a full day (same
/// columns, same types), with dictionaries a next day can keep; and a row
/// longer than `--max-line-mb` (a long URL kept in three columns) is not
/// lost in the stages that give the ids.
#[test]
fn quiet_days_keep_the_schema_and_long_rows_are_kept() {
    if !python_peers() {
        return;
    }
    let w = Workdir::new();
    let event = |user: &str, t: u64, url: &str, client: Option<&str>| {
        serde_json::json!({"key": "pageview", "username": user, "timestamp": t,
            "page_url": url, "client": client, "language": client,
            "value": "{\"score\": 0.5}"})
        .to_string()
    };
    std::fs::create_dir_all(w.path("d1")).unwrap();
    std::fs::create_dir_all(w.path("d2")).unwrap();
    std::fs::create_dir_all(w.path("d3")).unwrap();
    std::fs::write(
        w.path("d1/a.jsonl"),
        [
            event(
                "ann",
                1370044801621,
                "/c/lecture/view?lecture_id=3",
                Some("web"),
            ),
            event("bob", 1370044801622, "/c/quiz?quiz_id=4", Some("ios")),
        ]
        .join("\n"),
    )
    .unwrap();
    let long = format!("/x?a={}", "y".repeat(600_000));
    std::fs::write(
        w.path("d2/a.jsonl"),
        [
            event("cy", 1370044801623, &long, None),
            event("ann", 1370044801624, "/c", None),
        ]
        .join("\n"),
    )
    .unwrap();
    std::fs::write(w.path("d3/a.jsonl"), "").unwrap();
    let run = |input: &str, out: &str, dicts: Option<&str>| {
        let mut args = vec![
            "run",
            "events_table",
            "-q",
            "-i",
            input,
            "-o",
            out,
            "--output-format",
            "parquet",
            "--max-line-mb",
            "1",
            "--skip-bad-records",
        ];
        if let Some(d) = dicts {
            args.extend(["--dictionaries", d]);
        }
        ok(w.mr(&args))
    };
    run("d1", "t1", None);
    run("d2", "t2", Some("t1"));
    run("d3", "t3", Some("t2"));
    run("d3", "t3-alone", None);
    run("d2", "t4", Some("t3-alone"));
    let out = python(
        &w,
        r#"
import pyarrow.parquet as pq, glob, json
for t in ['t1', 't2', 't3', 't3-alone', 't4']:
    files = sorted(glob.glob(t + '/part-*.parquet'))
    tables = [pq.read_table(f) for f in files]
    rows = sum(x.num_rows for x in tables)
    schema = ','.join(f'{f.name}:{f.type}' for f in tables[0].schema if f.name in
        ('username', 'time', 'client', 'language', 'page_url', 'score'))
    dicts = sorted(p.split('/')[-1] for p in glob.glob(t + '/_dictionaries/*.jsonl'))
    print(t, len(files), rows, schema, len(dicts))
"#,
    );
    let schema =
        "username:int64,time:timestamp[ms, tz=+00:00],page_url:int64,client:int64,language:int64";
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            format!("t1 1 2 {schema},score:double 7"),
            format!("t2 1 2 {schema},score:double 7"),
            format!("t3 1 0 {schema} 7"),
            format!("t3-alone 1 0 {schema} 7"),
            format!("t4 1 2 {schema},score:double 7"),
        ],
        "{out}"
    );
    // The long row's URL is whole in day 2's dictionary.
    let d2 = dictionary(&w, "t2", "page_url");
    assert!(
        d2.contains_key(&long),
        "{:?}",
        d2.keys().map(|k| k.len()).collect::<Vec<_>>()
    );
}

/// A run that finds the store locked (another run giving ids; here
/// `flock(1)` holding it) says it waits, and a SIGTERM then stops it at
/// once: exit 143, nothing written, the store as it was, and no word of an
/// output in place (the count stage's work output was named so before).
#[test]
fn a_run_waiting_for_the_store_says_so_and_stops_on_sigterm() {
    use std::io::BufRead;
    let w = Workdir::new();
    gen_logs(&w, "50KB", "41");
    std::fs::create_dir(w.path("ids")).unwrap();
    let mut holder = match Command::new("flock")
        .arg("-x")
        .arg(w.path("ids"))
        .args(["sleep", "60"])
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return skip_note(&format!("no flock(1): {e}")),
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut mr = Command::new(MR)
        .args(["run", "events_table", "-q", "-i", "logs", "-o", "t"])
        .args(["--dictionary-store", "ids"])
        .current_dir(w.dir.path())
        .env("TMPDIR", w.path(""))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(mr.stderr.take().unwrap());
    let mut said = String::new();
    while !said.contains("waiting for the dictionary store") {
        assert_ne!(err.read_line(&mut said).unwrap(), 0, "{said}");
    }
    let killed = Command::new("kill")
        .args(["-TERM", &mr.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = mr.wait().unwrap();
    let _ = holder.kill();
    let _ = holder.wait();
    std::io::Read::read_to_string(&mut err, &mut said).unwrap();
    assert_eq!(status.code(), Some(143), "{said}");
    assert!(!said.contains("categorical-counts"), "{said}");
    assert!(!said.contains("did not stop"), "{said}");
    assert!(!w.path("t").exists());
    // Nothing but the store's lock file, which is never removed.
    let left: Vec<_> = std::fs::read_dir(w.path("ids"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, [mr_core::lock::DIR_LOCK_FILE]);
}

/// Writes `batch` as a Parquet file at `rel` with `codec`, as another
/// writer (Spark, Hive, pandas, DuckDB) might.
fn write_foreign(
    w: &Workdir,
    rel: &str,
    batch: &arrow_array::RecordBatch,
    codec: parquet::basic::Compression,
) {
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(codec)
        .build();
    let file = std::fs::File::create(w.path(rel)).unwrap();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
}

/// Pages compressed with GZIP, LZ4 (Hadoop's and raw) or Brotli, as Spark
/// and Hive tables and pandas' `compression='gzip'` have them, are read
/// (they were refused: "Disabled feature at compile time: flate2";
/// pipeline probe /tmp/probe-pipeline repro 08).
#[test]
fn parquet_pages_in_gzip_lz4_and_brotli_are_read() {
    use parquet::basic::{BrotliLevel, Compression, GzipLevel};
    let w = Workdir::new();
    let urls = arrow_array::StringArray::from(vec!["/a", "/b", "/a"]);
    let batch =
        arrow_array::RecordBatch::try_from_iter([("page_url", std::sync::Arc::new(urls) as _)])
            .unwrap();
    for (name, codec) in [
        ("gzip", Compression::GZIP(GzipLevel::default())),
        ("lz4", Compression::LZ4),
        ("lz4_raw", Compression::LZ4_RAW),
        ("brotli", Compression::BROTLI(BrotliLevel::default())),
    ] {
        let file = format!("{name}.parquet");
        write_foreign(&w, &file, &batch, codec);
        let o = w.mr(&["run", "url_views", "-i", &file, "-q"]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        assert_eq!(stdout(&o), "\"/a\"\t2\n\"/b\"\t1\n", "{name}");
    }
}

/// A timestamp column in the zone named "UTC" (DuckDB's TIMESTAMPTZ,
/// pandas' `datetime64[ns, UTC]`, Polars' `Datetime(tz="UTC")`) is read,
/// as one in "+00:00" (mr's own) is; a named zone with an offset too (it
/// failed: "Invalid timezone \"UTC\": only offset based timezones supported
/// without chrono-tz feature"; pipeline probe /tmp/probe-pipeline repro 02).
#[test]
fn timestamps_in_a_named_time_zone_are_read() {
    use arrow_array::{RecordBatch, StringArray, TimestampMicrosecondArray};
    let w = Workdir::new();
    for (i, tz) in ["UTC", "Europe/Paris", "+00:00"].into_iter().enumerate() {
        let time = TimestampMicrosecondArray::from(vec![1_370_044_800_781_000]).with_timezone(tz);
        let batch = RecordBatch::try_from_iter([
            (
                "username",
                std::sync::Arc::new(StringArray::from(vec!["ann"])) as _,
            ),
            ("time", std::sync::Arc::new(time) as _),
        ])
        .unwrap();
        write_foreign(
            &w,
            &format!("t{i}.parquet"),
            &batch,
            parquet::basic::Compression::SNAPPY,
        );
    }
    // events_table reads the time as an ISO 8601 time with its offset:
    // the same instant whatever the zone's name.
    let mut times = Vec::new();
    for i in 0..3 {
        let out = format!("e{i}");
        ok(w.mr(&[
            "run",
            "events_table",
            "-i",
            &format!("t{i}.parquet"),
            "-o",
            &out,
        ]));
        let rows = read_parts(&w.path(&out));
        let row: serde_json::Value =
            serde_json::from_str(rows.lines().next().unwrap().split('\t').nth(1).unwrap()).unwrap();
        times.push(row["time"].clone());
    }
    assert_eq!(
        times[0],
        serde_json::json!(1_370_044_800_781u64),
        "{times:?}"
    );
    assert!(times.iter().all(|t| *t == times[0]), "{times:?}");
    // A file pandas writes, when pandas is there.
    if peer_available(
        "python3 with pandas and pyarrow",
        Command::new("python3").args(["-c", "import pandas, pyarrow"]),
    ) {
        python(
            &w,
            "import pandas as pd\n\
             pd.DataFrame({'username': ['ann'], 'time': pd.to_datetime(['2013-06-01T00:00:00.781Z'])})\
             .to_parquet('pandas.parquet')",
        );
        ok(w.mr(&["run", "events_table", "-i", "pandas.parquet", "-o", "ep"]));
        assert!(read_parts(&w.path("ep")).contains("1370044800781"));
    }
}

/// A key/value Parquet output read by a `(K, V)` job gives the records the
/// same run's lines output gives (the row was the key and the value null:
/// `{"key":"a","value":2}<TAB>null`, exit 0; pipeline probe
/// /tmp/probe-pipeline repro 03). A tuple key, which Parquet holds as JSON
/// text, comes back as the tuple (repro 04: top_lectures could not write
/// Parquet at all).
#[test]
fn chaining_through_parquet_gives_what_chaining_through_lines_gives() {
    let w = Workdir::new();
    w.write(
        "logs/x.jsonl",
        "{\"page_url\":\"a\"}\n{\"page_url\":\"b\"}\n{\"page_url\":\"a\"}\n",
    );
    for (job, logs) in [("url_views", "logs"), ("top_lectures", "lectures")] {
        if job == "top_lectures" {
            let lines: String = [1, 1, 2, 3]
                .iter()
                .map(|i| {
                    format!(
                        "{{\"page_url\":\"https://m.org/c1/lecture/view?lecture_id={i}\",\"username\":\"u\"}}\n"
                    )
                })
                .collect();
            w.write("lectures/x.jsonl", lines);
        }
        let lines = format!("{job}-lines");
        let table = format!("{job}-table");
        ok(w.mr(&["run", job, "-i", logs, "-o", &lines, "-q"]));
        ok(w.mr(&[
            "run",
            job,
            "-i",
            logs,
            "-o",
            &table,
            "--output-format",
            "parquet",
            "-q",
        ]));
        let from_lines = ok(w.mr(&["run", "json_identity", "-i", &lines, "-q"]));
        let from_table = ok(w.mr(&["run", "json_identity", "-i", &table, "-q"]));
        assert_eq!(stdout(&from_table), stdout(&from_lines), "{job}");
        assert!(!stdout(&from_lines).is_empty());
    }
    assert_eq!(
        stdout(&ok(w.mr(&[
            "run",
            "json_identity",
            "-i",
            "top_lectures-table",
            "-q"
        ]))),
        "[\"https://m.org/c1\",1]\t2\n[\"https://m.org/c1\",2]\t1\n[\"https://m.org/c1\",3]\t1\n"
    );
    // DuckDB reads the tuple key as JSON.
    if python_peers() {
        let got = python(
            &w,
            "import duckdb\n\
             print(duckdb.sql(\"SELECT typeof(key), key->>0, (key->>1)::INT, value \
             FROM 'top_lectures-table/*.parquet' ORDER BY 3\").fetchall()[0])",
        );
        assert_eq!(got.trim(), "('JSON', 'https://m.org/c1', 1, 2)");
    }
}

/// events_table's own table given back to it (yesterday's table in the
/// input, `-i day1` by mistake) is refused before the run, and the shared
/// store is left as it was: its ids were read as the strings "0", "1" and
/// given ids of their own, for good (pipeline probe /tmp/probe-pipeline
/// repro 07). A lines output (beside its `_dictionaries/`) too.
#[test]
fn a_table_of_ids_is_refused_as_events() {
    let w = Workdir::new();
    w.write(
        "logs/a.jsonl",
        "{\"key\":\"pageview\",\"username\":\"ann\",\"timestamp\":1370044800781,\"page_url\":\"https://x.org/c/index\"}\n\
         {\"key\":\"pageview\",\"username\":\"bob\",\"timestamp\":1370044801000,\"page_url\":\"https://x.org/c/index\"}\n",
    );
    let store = ["--dictionary-store", "ids"];
    let mut args = vec![
        "run",
        "events_table",
        "-i",
        "logs",
        "-o",
        "day1",
        "--output-format",
        "parquet",
    ];
    args.extend_from_slice(&store);
    ok(w.mr(&args));
    ok(w.mr(&["run", "events_table", "-i", "logs", "-o", "lines1"]));
    let before = std::fs::read_to_string(w.path("ids/username.jsonl")).unwrap();
    for input in ["day1", "day1/part-00000.parquet", "lines1"] {
        let mut args = vec![
            "run",
            "events_table",
            "-i",
            input,
            "-o",
            "day2",
            "--output-format",
            "parquet",
        ];
        args.extend_from_slice(&store);
        let o = w.mr(&args);
        failed_saying(&o, "is already a table of ids", &w.path("day2"));
        assert!(stderr(&o).contains("raw events"), "{}", stderr(&o));
        assert_eq!(
            std::fs::read_to_string(w.path("ids/username.jsonl")).unwrap(),
            before
        );
    }
    let o = w.mr(&["run", "events_table", "-i", "day1", "-o", "day2"]);
    failed_saying(&o, "columns username", &w.path("day2"));
    // A job without categorical columns reads the table as it is; one that
    // finds ids where it reads values, and so emits nothing, says why (it
    // gave 0 records, exit 0, without a word).
    let o = ok(w.mr(&["run", "url_views", "-i", "day1"]));
    assert_eq!(stdout(&o), "");
    assert!(
        stderr(&o).contains("day1/part-00000.parquet is a table of categorical ids"),
        "{}",
        stderr(&o)
    );
    let o = ok(w.mr(&["run", "url_views", "-i", "logs"]));
    assert!(!stderr(&o).contains("categorical ids"), "{}", stderr(&o));
}
