"""DuckDB peers of the mr jobs, for bench/run.sh.

    python3 bench/duck.py QUERY OUT FILE...

Runs QUERY over FILE... with BENCH_THREADS threads (bench/run.sh sets it: every
tool gets the same count; default: the cores this process may use, as `nproc`)
and writes
its rows to OUT, one `key<TAB>value` line each (unsorted; bench/check.py
compares them with mr's). Queries:

  url_views          read_json with one declared column, GROUP BY page_url
  url_views_objects  read_json_objects + json->>'page_url', GROUP BY
  word_count         regexp_split_to_table(lower(line), '\\s+'): whitespace
                     split, less work than mr's [\\w']+ (punctuation stays
                     attached, no Unicode word classes)
  video_tagging      the job's rules in SQL (window functions): key is the
                     JSON username, value the watch as mr prints it

Semantics notes (what is equivalent and what is not):
  * url_views: `columns={page_url: 'VARCHAR'}` casts a number to its text
    ('17') where mr counts only strings; `->>` does the same. The generated
    logs have no numeric page_url, so the counts agree exactly there.
    `ignore_errors=true` drops a malformed line where mr stops (or skips it
    with --skip-bad-records).
  * word_count: lines are read with read_csv and a delimiter that never
    occurs, no quoting: one VARCHAR per line.
"""
import sys

import duckdb

from peers import THREADS  # every tool's one thread count


def files_sql(files):
    return "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"


def query(name, files):
    src = files_sql(files)
    lines = (f"read_csv({src}, columns={{'line': 'VARCHAR'}}, delim=E'\\x01', quote='', "
             "escape='', header=false, auto_detect=false, strict_mode=false, new_line='\\n')")
    if name == "url_views":
        return (f"SELECT page_url, count(*) FROM read_json({src}, format='newline_delimited', "
                "columns={page_url: 'VARCHAR'}, ignore_errors=true) "
                "WHERE page_url IS NOT NULL GROUP BY 1")
    if name == "url_views_objects":
        return (f"SELECT json->>'page_url' AS u, count(*) FROM read_json_objects({src}, "
                "format='newline_delimited', ignore_errors=true) WHERE u IS NOT NULL GROUP BY 1")
    if name == "word_count":
        return (f"SELECT w, count(*) FROM (SELECT regexp_split_to_table(lower(line), '\\s+') AS w "
                f"FROM {lines}) WHERE w <> '' GROUP BY 1")
    if name == "video_tagging":
        # A video event: string username, integer timestamp, page_url whose
        # path (before ? and #) ends in /lecture/view and whose first
        # lecture_id parameter is ASCII digits. Watches: per user, events
        # ordered by (timestamp, lecture_id); a new watch starts when the
        # lecture changes or more than 30 minutes pass.
        return f"""
WITH raw AS (
  SELECT json->>'username' AS username,
         json_type(json, 'username') AS username_type,
         json_type(json, 'timestamp') AS ts_type,
         json->>'timestamp' AS ts_text,
         split_part(json->>'page_url', '#', 1) AS url,
         json_type(json, 'page_url') AS url_type
  FROM read_json_objects({src}, format='newline_delimited')
), views AS (
  SELECT username, TRY_CAST(ts_text AS BIGINT) AS ts,
         regexp_extract('&' || CASE WHEN strpos(url, '?') > 0 THEN substr(url, strpos(url, '?') + 1) ELSE '' END,
                        '&lecture_id(=([^&]*))?(&|$)', 2) AS id_text
  FROM raw
  WHERE url_type = 'VARCHAR' AND username_type = 'VARCHAR' AND ts_type IN ('BIGINT', 'UBIGINT')
    AND ends_with(split_part(url, '?', 1), '/lecture/view') AND TRY_CAST(ts_text AS BIGINT) IS NOT NULL
), ev AS (
  SELECT username, ts, TRY_CAST(id_text AS UBIGINT) AS lecture
  FROM views WHERE regexp_full_match(id_text, '[0-9]+') AND TRY_CAST(id_text AS UBIGINT) IS NOT NULL
), ordered AS (
  -- One order for both windows below: events with equal (ts, lecture) are
  -- ties that each window could break its own way.
  SELECT *, row_number() OVER (PARTITION BY username ORDER BY ts, lecture) AS rn
  FROM ev
), marked AS (
  SELECT *, CASE WHEN lag(lecture) OVER u = lecture AND ts - lag(ts) OVER u <= 1800000
                 THEN 0 ELSE 1 END AS new_watch
  FROM ordered WINDOW u AS (PARTITION BY username ORDER BY rn)
), numbered AS (
  SELECT *, sum(new_watch) OVER (PARTITION BY username ORDER BY rn
                                 ROWS UNBOUNDED PRECEDING) AS watch
  FROM marked
), watches AS (
  SELECT username, watch, any_value(lecture) AS lecture, min(ts) AS t0, max(ts) AS t1,
         count(*) AS events
  FROM numbered GROUP BY username, watch
)
SELECT to_json(username),
       '{{"lecture_id":' || lecture || ',"start":' || t0 || ',"end":' || t1 || ',"events":' || events
       || ',"tag":"' || CASE
            WHEN row_number() OVER (PARTITION BY username, lecture ORDER BY watch) = 1 THEN 'first_view'
            WHEN lag(lecture) OVER (PARTITION BY username ORDER BY watch) = lecture THEN 'immediate_review'
            ELSE 'later_review' END || '"}}'
FROM watches
"""
    raise SystemExit(f"unknown query {name!r}")


def main():
    if sys.argv[1:2] == ["startup"]:
        # Python, the import and a one-row query: what the wall time of the
        # other queries holds besides their work.
        duckdb.connect().execute("SELECT 1").fetchall()
        return
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    name, out, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    con = duckdb.connect()
    con.execute(f"SET threads={THREADS}")
    con.execute("SET preserve_insertion_order=false")
    out_sql = out.replace("'", "''")
    con.execute(f"COPY ({query(name, files)}) TO '{out_sql}' "
                "(FORMAT csv, DELIMITER '\t', HEADER false, QUOTE '', ESCAPE '')")


if __name__ == "__main__":
    main()
