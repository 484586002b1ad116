#!/usr/bin/env bash
# Clicklogs to a Parquet table: `mr run events_table --output-format parquet`
# against DuckDB's own `COPY (SELECT ...) TO 'x.parquet'` from the same JSON,
# then the check of issue #14: DuckDB's `SELECT action, count(*)` over mr's
# table equals url_views' counts regrouped by action.
#
#   bench/table.sh [SIZE] [ROUNDS]     (default 1GB, 3 rounds; mr gen units)
#
# Needs python3 with duckdb and a release mr built with Parquet support
# (cargo build --release -p mr-cli). Prints seconds, MB/s, the ratio mr/DuckDB
# and the check's result; exits 1 when the check fails. mr and DuckDB get the
# same threads: BENCH_THREADS (default `nproc`), as in bench/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-1GB}
ROUNDS=${2:-3}
MR=${MR:-target/release/mr}
DIR=${BENCH_DIR:-bench/data/table}
THREADS=${BENCH_THREADS:-$(nproc)}
mkdir -p "$DIR"
LOGS="$DIR/logs-$SIZE"
if [ ! -d "$LOGS" ]; then
  "$MR" gen clicklog --size "$SIZE" --seed 7 --output "$LOGS.tmp" --files 8 --gz-files 0 >/dev/null
  mv "$LOGS.tmp" "$LOGS"
fi
BYTES=$(du -sb "$LOGS" | cut -f1)
echo "input: $LOGS ($BYTES bytes, plain NDJSON), threads (each tool): $THREADS"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_cmd() { # the median seconds of ROUNDS runs of "$@"
  for _ in $(seq "$ROUNDS"); do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc -l
  done | median
}

mr_table() {
  "$MR" run events_table -j "$THREADS" --input "$LOGS" --output "$DIR/table" --overwrite \
    --output-format parquet -q
}
# DuckDB's best effort at the same table: the fields as columns (no URL
# splitting, no decoded `value`, no ids: less work than events_table), written
# as one zstd Parquet file on mr's threads.
duck_table() {
  python3 - "$LOGS" "$DIR/duck.parquet" "$THREADS" <<'PY'
import duckdb, sys
logs, out = sys.argv[1], sys.argv[2]
duckdb.sql(f"SET threads={int(sys.argv[3])}")
duckdb.sql(f"""COPY (SELECT username, "timestamp" AS time, "key" AS event_type,
  regexp_extract(page_url, '^(?:[a-z]+://[^/]*)?([^?#]*)', 1) AS action, page_url, session, user_ip,
  "from", client, "language", user_agent, "value"
  FROM read_ndjson('{logs}/*', ignore_errors=true, format='newline_delimited',
    columns={{username:'VARCHAR', "timestamp":'VARCHAR', "key":'VARCHAR', page_url:'VARCHAR',
             session:'VARCHAR', user_ip:'VARCHAR', "from":'VARCHAR', client:'VARCHAR',
             "language":'VARCHAR', user_agent:'VARCHAR', "value":'VARCHAR'}}))
  TO '{out}' (FORMAT parquet, COMPRESSION zstd)""")
PY
}

mr_s=$(time_cmd mr_table)
duck_s=$(time_cmd duck_table)
rate() { echo "scale=1; $BYTES / 1000000 / $1" | bc -l; }
echo "mr events_table -> parquet:  ${mr_s}s  $(rate "$mr_s") MB/s  ($(du -sh "$DIR/table" | cut -f1) with dictionaries)"
echo "duckdb COPY ... TO parquet:  ${duck_s}s  $(rate "$duck_s") MB/s  ($(du -sh "$DIR/duck.parquet" | cut -f1))"
echo "mr / duckdb time: $(echo "scale=2; $mr_s / $duck_s" | bc -l)"

# The check: actions counted by DuckDB over mr's table (ids joined to their
# dictionary) against url_views' counts regrouped by the URL's path.
"$MR" run url_views --input "$LOGS" -q >"$DIR/url_views.tsv"
python3 - "$DIR" <<'PY'
import duckdb, json, sys
from collections import Counter
d = sys.argv[1]
def path(url):
    url = url.split('?')[0].split('#')[0]
    i = url.find('://')
    if i < 0:
        return url
    j = url.find('/', i + 3)
    return url[j:] if j >= 0 else '/'
want = Counter()
for line in open(f'{d}/url_views.tsv'):
    k, v = line.rstrip('\n').split('\t')
    want[path(json.loads(k))] += int(v)
got = dict(duckdb.sql(f"""SELECT d.value, count(*) FROM '{d}/table/*.parquet' t
  JOIN read_json('{d}/table/_dictionaries/action.jsonl') d ON t.action = d.id GROUP BY 1""").fetchall())
rows = duckdb.sql(f"SELECT count(*) FROM '{d}/table/*.parquet'").fetchall()[0][0]
ok = got == dict(want)
print(f"check: {rows} rows; {len(got)} actions; DuckDB's counts by action "
      f"{'equal' if ok else 'DIFFER from'} url_views' counts regrouped by action")
sys.exit(0 if ok else 1)
PY
