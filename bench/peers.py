"""ClickHouse (chdb, embedded) and Polars peers of the mr jobs, for bench/run.sh.

    python3 bench/peers.py ENGINE QUERY OUT FILE...

ENGINE is `chdb` or `polars`. Runs QUERY over FILE... with BENCH_THREADS
threads (bench/run.sh sets it: every tool gets the same count; default: the
cores this process may use, as `nproc`) and writes its rows to OUT, one `key<TAB>value` line
each (unsorted; bench/check.py compares them with mr's). A `.gz` file is
decompressed by the engine itself. Queries:

  chdb url_views        JSONExtract(line, 'page_url', 'Nullable(String)')
                        over LineAsString, GROUP BY: only string page_urls
  chdb word_count       extractAll(lowerUTF8(line), '[\\p{L}\\p{N}_\\']+'):
                        mr's [\\w']+ (Python's \\w is exactly \\p{L}, \\p{N}
                        and _), but lowercased before the split: a word
                        whose lowercase changes class could differ
  chdb word_count_ws    splitByWhitespace(lowerUTF8(line)): less work
  chdb video_tagging    the job's rules in SQL (window functions)
  polars url_views      scan_ndjson + page_url column, group_by
  polars word_count_ws  str.to_lowercase().str.split(" ") per line: less work
  polars word_count     str.to_lowercase().str.extract_all([\\p{L}\\p{N}_']+): mr's rule
  chdb|polars startup   Python, the import and a one-row query, nothing read:
                        what each peer's wall time holds besides its work
                        (bench/report.py takes it off for the targets)

Semantics notes: ClickHouse and Polars count a numeric page_url as text (or
drop it), and drop or stop on malformed lines where mr stops (or skips them
with --skip-bad-records). The generated logs have neither, so the counts
agree exactly there.
"""
import os
import sys

# Every tool's one thread count (bench/duck.py and bench/shapes.py take it
# from here): BENCH_THREADS, else the cores this process may use.
THREADS = int(os.environ.get("BENCH_THREADS") or len(os.sched_getaffinity(0)))


def ch_str(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def ch_files(files):
    """file() takes one path or glob; {a,b} lists several (names must not hold , { } * ?)."""
    files = [os.path.abspath(f) for f in files]
    if len(files) == 1:
        return ch_str(files[0])
    d = os.path.dirname(files[0])
    names = [os.path.basename(f) for f in files]
    if any(os.path.dirname(f) != d for f in files) or any(set(n) & set(",{}*?") for n in names):
        raise SystemExit("chdb peer: files must share one directory and have plain names")
    return ch_str(d + "/{" + ",".join(names) + "}")


def chdb_query(name, files):
    lines = f"file({ch_files(files)}, 'LineAsString')"
    if name == "url_views":
        return (f"SELECT u, count() FROM (SELECT JSONExtract(line, 'page_url', 'Nullable(String)') AS u "
                f"FROM {lines}) WHERE u IS NOT NULL GROUP BY u")
    if name == "word_count":
        return (f"SELECT w, count() FROM {lines} "
                "ARRAY JOIN extractAll(lowerUTF8(line), '[\\\\p{L}\\\\p{N}_\\']+') AS w GROUP BY w")
    if name == "word_count_ws":
        return (f"SELECT w, count() FROM {lines} "
                "ARRAY JOIN splitByWhitespace(lowerUTF8(line)) AS w GROUP BY w")
    if name == "video_tagging":
        # As bench/duck.py's video_tagging: a video event has a string
        # username, an integer timestamp and a page_url whose path (before ?
        # and #) ends in /lecture/view and whose first lecture_id parameter is
        # ASCII digits. Watches: per user, events ordered by (timestamp,
        # lecture); a new watch starts when the lecture changes or more than
        # 30 minutes pass.
        return f"""
WITH raw AS (
  SELECT JSONExtractRaw(line, 'username') AS user_json,
         JSONType(line, 'username') AS username_type,
         JSONType(line, 'timestamp') AS ts_type,
         JSONExtract(line, 'timestamp', 'Nullable(Int64)') AS ts,
         splitByChar('#', JSONExtractString(line, 'page_url'))[1] AS url,
         JSONType(line, 'page_url') AS url_type
  FROM {lines}
), views AS (
  SELECT user_json, ts,
         extract(concat('&', if(position(url, '?') > 0, substring(url, position(url, '?') + 1), '')),
                 '&lecture_id(?:=([^&]*))?(?:&|$)') AS id_text
  FROM raw
  WHERE url_type = 'String' AND username_type = 'String' AND ts_type IN ('Int64', 'UInt64')
    AND endsWith(splitByChar('?', url)[1], '/lecture/view') AND ts IS NOT NULL
), ev AS (
  SELECT user_json, assumeNotNull(ts) AS ts, toUInt64(id_text) AS lecture
  FROM views WHERE match(id_text, '^[0-9]+$') AND toUInt64OrNull(id_text) IS NOT NULL
), ordered AS (
  -- One order for both windows below: events with equal (ts, lecture) are
  -- ties that each window could break its own way.
  SELECT *, row_number() OVER (PARTITION BY user_json ORDER BY ts, lecture
                               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS rn
  FROM ev
), marked AS (
  SELECT *, if(lagInFrame(toNullable(lecture)) OVER u = lecture
               AND ts - lagInFrame(ts) OVER u <= 1800000, 0, 1) AS new_watch
  FROM ordered WINDOW u AS (PARTITION BY user_json ORDER BY rn
                            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
), numbered AS (
  SELECT *, sum(new_watch) OVER (PARTITION BY user_json ORDER BY rn
                                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS watch
  FROM marked
), watches AS (
  SELECT user_json, watch, any(lecture) AS lecture, min(ts) AS t0, max(ts) AS t1, count() AS events
  FROM numbered GROUP BY user_json, watch
)
SELECT user_json,
       concat('{{"lecture_id":', toString(lecture), ',"start":', toString(t0), ',"end":', toString(t1),
              ',"events":', toString(events), ',"tag":"',
              multiIf(row_number() OVER (PARTITION BY user_json, lecture ORDER BY watch
                                         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) = 1, 'first_view',
                      lagInFrame(toNullable(lecture)) OVER (PARTITION BY user_json ORDER BY watch
                                         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) = lecture,
                      'immediate_review', 'later_review'), '"}}')
FROM watches
"""
    raise SystemExit(f"unknown chdb query {name!r}")


def run_chdb(name, out, files):
    import chdb

    sql = chdb_query(name, files) + f" SETTINGS max_threads={THREADS}"
    res = chdb.query(sql, "TabSeparatedRaw")
    with open(out, "wb") as f:
        f.write(res.bytes())


def run_polars(name, out, files):
    # Set, not defaulted: a POLARS_MAX_THREADS of the user's would otherwise
    # give Polars another thread count than the other tools, unsaid.
    os.environ["POLARS_MAX_THREADS"] = str(THREADS)
    import polars as pl

    if name == "url_views":
        frames = [pl.scan_ndjson(f, schema={"page_url": pl.String}, ignore_errors=True) for f in files]
        q = (pl.concat(frames).filter(pl.col("page_url").is_not_null())
             .group_by("page_url").agg(pl.len()))
    elif name in ("word_count", "word_count_ws"):
        frames = [pl.scan_csv(f, has_header=False, separator="\x01", quote_char=None,
                              new_columns=["line"], schema={"line": pl.String}) for f in files]
        lower = pl.col("line").str.to_lowercase()
        words = (lower.str.extract_all(r"[\p{L}\p{N}_']+") if name == "word_count"
                 else lower.str.split(" "))
        q = (pl.concat(frames).select(words.alias("w")).explode("w")
             .filter(pl.col("w").is_not_null() & (pl.col("w") != ""))
             .group_by("w").agg(pl.len()))
    else:
        raise SystemExit(f"unknown polars query {name!r}")
    q.collect().write_csv(out, separator="\t", include_header=False, quote_style="never")


def startup(engine):
    if engine == "chdb":
        import chdb

        chdb.query("SELECT 1", "TabSeparatedRaw")
    else:
        os.environ["POLARS_MAX_THREADS"] = str(THREADS)
        import polars as pl

        pl.DataFrame({"a": [1]}).sum()


def main():
    if len(sys.argv) >= 3 and sys.argv[2] == "startup":
        return startup(sys.argv[1])
    if len(sys.argv) < 5:
        raise SystemExit(__doc__)
    engine, name, out, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    {"chdb": run_chdb, "polars": run_polars}[engine](name, out, files)


if __name__ == "__main__":
    main()
