//! Inputs that are damaged, mislabelled or hold values mr cannot give as
//! they are, run through the real binary: each is read whole, refused by
//! name, or made a bad record under the engine's policy; never turned into
//! data silently (probes /tmp/probe23-fuzz and /tmp/probe21-cliffs).

mod common;
use common::*;

/// Writes a one-row-group Parquet table of `batch` to `path`.
#[cfg(feature = "parquet")]
fn write_table(path: &std::path::Path, batch: &arrow_array::RecordBatch) {
    let f = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(f, batch.schema(), None).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
}

/// A timestamp out of range (nanoseconds written into a millisecond column)
/// reached the job as arrow's text "ERROR: Cast error: ...", exit 0 (probe
/// /tmp/probe23-fuzz repro 02). It is a bad record naming the file, row and
/// column: a strict run fails on it, --skip-bad-records keeps it aside.
#[cfg(feature = "parquet")]
#[test]
fn parquet_time_out_of_range_is_a_bad_record_not_error_text() {
    use arrow_array::{ArrayRef, StringArray, TimestampMillisecondArray};
    use std::sync::Arc;
    let w = Workdir::new();
    let batch = arrow_array::RecordBatch::try_from_iter([
        (
            "page_url",
            Arc::new(StringArray::from(vec!["/a", "/b", "/c"])) as ArrayRef,
        ),
        (
            "time",
            Arc::new(TimestampMillisecondArray::from(vec![
                1_370_044_800_781,
                1_370_044_800_781_000_000,
                1_370_044_800_782,
            ])) as ArrayRef,
        ),
    ])
    .unwrap();
    write_table(&w.path("events.parquet"), &batch);
    let o = w.mr(&["run", "mr_grep", "-e", ".", "-i", "events.parquet"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("bad record at events.parquet:2: column \"time\": 1370044800781000000"),
        "{e}"
    );
    assert!(!stdout(&o).contains("ERROR"), "{}", stdout(&o));

    let o = ok(w.mr(&[
        "run",
        "mr_grep",
        "-e",
        ".",
        "-i",
        "events.parquet",
        "--skip-bad-records",
        "-o",
        "out",
    ]));
    let out = read_parts(&w.path("out"));
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(!out.contains("ERROR") && !out.contains("/b"), "{out}");
    let kept: String = std::fs::read_dir(w.path("out/_bad_records"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(kept.contains("1370044800781000000"), "{kept}");
    assert!(stderr(&o).contains("skipped records=1"), "{}", stderr(&o));
}

/// Parquet BINARY values that are not UTF-8 (a Latin-1 "/caf\xe9") were
/// given as hex beside the column's UTF-8 values given as text, without a
/// word (probe /tmp/probe23-fuzz repro 05). They still are (as arrow writes
/// binary), but counted, and warned of once a run naming file and column.
#[cfg(feature = "parquet")]
#[test]
fn parquet_binary_not_utf8_is_counted_and_warned_of_once() {
    use arrow_array::{ArrayRef, BinaryArray};
    use std::sync::Arc;
    let w = Workdir::new();
    for (name, urls) in [
        ("a.parquet", vec![&b"/cafe"[..], b"/caf\xe9", b"/caf\xe9"]),
        ("b.parquet", vec![&b"/caf\xe9"[..], b"/cafe"]),
    ] {
        let batch = arrow_array::RecordBatch::try_from_iter([(
            "page_url",
            Arc::new(BinaryArray::from(urls)) as ArrayRef,
        )])
        .unwrap();
        write_table(&w.path(name), &batch);
    }
    let o = ok(w.mr(&[
        "run",
        "url_views",
        "-i",
        "a.parquet",
        "-i",
        "b.parquet",
        "-j",
        "1",
    ]));
    assert_eq!(stdout(&o), "\"/cafe\"\t2\n\"2f636166e9\"\t3\n");
    let e = stderr(&o);
    assert_eq!(e.matches("mr: warning:").count(), 1, "{e}");
    assert!(
        e.contains(".parquet: column \"page_url\" is binary and holds values that are not UTF-8"),
        "{e}"
    );
    assert!(
        e.contains("step 0: Parquet binary values not UTF-8 (given as hex)=3"),
        "{e}"
    );
}

/// The bytes of a hex string.
fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// Hadoop's SnappyCodec and Lz4Codec write an empty output as 4 zero bytes;
/// a concatenation of parts with one inside (`cat part-r-*.snappy`) was
/// called corrupt (probe /tmp/probe23-fuzz repro 01). Every part is read.
#[test]
fn hadoop_block_concatenation_with_an_empty_part_is_read_whole() {
    let w = Workdir::new();
    let empty = "00000000";
    // {"page_url": "a"}\n as Hadoop 3.3.4's codecs write it.
    for (ext, part) in [
        (
            "snappy",
            "000000120000001412447b22706167655f75726c223a202261227d0a",
        ),
        (
            "lz4",
            "0000001200000014f0037b22706167655f75726c223a202261227d0a",
        ),
    ] {
        w.write(
            &format!("merged.{ext}"),
            unhex(&format!("{part}{empty}{part}")),
        );
        w.write(&format!("first.{ext}"), unhex(&format!("{empty}{part}")));
        let o = ok(w.mr(&["run", "url_views", "-q", "-i", &format!("merged.{ext}")]));
        assert_eq!(stdout(&o), "\"a\"\t2\n", "{ext}");
        let o = ok(w.mr(&["run", "url_views", "-q", "-i", &format!("first.{ext}")]));
        assert_eq!(stdout(&o), "\"a\"\t1\n", "{ext}");
    }
}

/// A zlib stream saved under a .gz name was read as plain text after one
/// warning, and word_count counted its compressed bytes as words, exit 0
/// (probe /tmp/probe23-fuzz repro 06). It is read as zlib, said so.
#[test]
fn zlib_named_gz_is_read_as_zlib_with_a_warning() {
    use std::io::Write;
    let w = Workdir::new();
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&b"hello world\n".repeat(1000)).unwrap();
    w.write("events.gz", z.finish().unwrap());
    let o = ok(w.mr(&["run", "word_count", "-i", "events.gz"]));
    assert_eq!(stdout(&o), "\"hello\"\t1000\n\"world\"\t1000\n");
    let e = stderr(&o);
    assert!(
        e.contains("events.gz is named .gz but holds a zlib stream")
            && e.contains("reading it as zlib"),
        "{e}"
    );
}

/// `bzip2` of `text`.
fn bz2(text: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::new(9));
    e.write_all(text).unwrap();
    e.finish().unwrap()
}

/// Two whole bzip2 streams and one junk byte (`cat a.bz2 b.bz2; printf x`)
/// were refused as "a bzip2 stream is cut short there ... lines are lost;
/// bzip2 -d and Python refuse the file too", none of it true (probe
/// /tmp/probe21-cliffs repro 02). The junk is a bad record, as junk after
/// gzip members is: every line is read, a strict run stops on it, and
/// --skip-bad-records goes on. Junk with whole streams after it loses
/// theirs, and is refused even so.
#[test]
fn junk_after_whole_bzip2_streams_is_a_bad_record_not_a_cut() {
    let w = Workdir::new();
    let a = bz2(&b"{\"page_url\": \"a\"}\n".repeat(3));
    let b = bz2(b"{\"page_url\": \"b\"}\n");
    w.write("log.bz2", [&a[..], &b[..], b"x"].concat());
    let o = w.mr(&["run", "url_views", "-i", "log.bz2"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains(&format!(
            "bad record at log.bz2:5: after line 4 (uncompressed byte 72): the bytes from byte {} \
             of the file, after a whole bzip2 stream, are not a bzip2 stream: junk after the last \
             stream, every line before it was read",
            a.len() + b.len()
        )),
        "{e}"
    );
    assert!(!e.contains("cut short") && !e.contains("refuse"), "{e}");
    let o = ok(w.mr(&[
        "run",
        "url_views",
        "-q",
        "-i",
        "log.bz2",
        "--skip-bad-records",
    ]));
    assert_eq!(stdout(&o), "\"a\"\t3\n\"b\"\t1\n");

    w.write("mid.bz2", [&a[..], b"x", &b[..]].concat());
    let o = w.mr(&["run", "url_views", "-i", "mid.bz2", "--skip-bad-records"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("and whole bzip2 streams follow them"),
        "{}",
        stderr(&o)
    );
}
