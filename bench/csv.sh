#!/usr/bin/env bash
# CSV parsing: mr's csv_count (Csv<T> input, the csv crate) against DuckDB's
# read_csv and chdb (ClickHouse in-process) on one CSV file of 100 columns
# (50 strings, 50 floats), each counting rows.
#
#   bench/csv.sh [SIZE_MB] [ROUNDS]      (default 1400 MB, 3 rounds; the issue's
#                                         figure to beat: 26 s on 8 threads for 1.4 GB)
#
# Needs python3 with duckdb (and chdb, skipped when missing) and a release mr
# (cargo build --release -p mr-cli). Prints MB/s per tool and mr's ratio.
# Every tool gets BENCH_THREADS threads (default `nproc`), as in bench/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${1:-1400}
ROUNDS=${2:-3}
MR=${MR:-target/release/mr}
DIR=${BENCH_DIR:-/tmp/mr-bench-csv}
THREADS=${BENCH_THREADS:-$(nproc)}
mkdir -p "$DIR"
CSV="$DIR/wide-${SIZE_MB}MB.csv"
if [ ! -s "$CSV" ]; then
  python3 - "$CSV" "$SIZE_MB" <<'PY'
import random, sys
path, mb = sys.argv[1], int(sys.argv[2])
rng = random.Random(7)
words = ["alpha", "beta", "gamma", "delta, quoted", "epsilon", "zeta \"q\"", "eta", "theta"]
with open(path, "w") as f:
    f.write(",".join([f"s{i}" for i in range(50)] + [f"f{i}" for i in range(50)]) + "\n")
    target = mb * 1_000_000
    while f.tell() < target:
        rows = []
        for _ in range(1000):
            s = []
            for i in range(50):
                w = words[rng.randrange(len(words))]
                s.append('"' + w.replace('"', '""') + '"' if ('"' in w or ',' in w) else w + str(rng.randrange(1000)))
            s += [f"{rng.random() * 1000:.4f}" for _ in range(50)]
            rows.append(",".join(s))
        f.write("\n".join(rows) + "\n")
PY
fi
BYTES=$(stat -c %s "$CSV")
echo "file: $CSV ($BYTES bytes), threads (each tool): $THREADS"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_cmd() { # prints seconds of the median of ROUNDS runs of "$@"
  for _ in $(seq "$ROUNDS"); do
    local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc -l
  done | median
}
mr_s=$(time_cmd "$MR" run csv_count -j "$THREADS" --input "$CSV" -q)
duck_s=$(time_cmd python3 -c "import duckdb,sys; duckdb.sql('SET threads=$THREADS'); duckdb.sql(\"SELECT count(*), sum(f0) FROM read_csv('$CSV', header=true)\").fetchall()")
chdb_s=""
if python3 -c "import chdb" 2>/dev/null; then
  chdb_s=$(time_cmd python3 -c "import chdb; chdb.query(\"SELECT count(), sum(f0) FROM file('$CSV', CSVWithNames) SETTINGS max_threads=$THREADS\")")
fi
rate() { echo "scale=1; $BYTES / 1000000 / $1" | bc -l; }
echo "mr csv_count:      ${mr_s}s  $(rate "$mr_s") MB/s"
echo "duckdb read_csv:   ${duck_s}s  $(rate "$duck_s") MB/s  (mr / duckdb time: $(echo "scale=2; $mr_s / $duck_s" | bc -l))"
if [ -n "$chdb_s" ]; then
  echo "chdb file(CSV):    ${chdb_s}s  $(rate "$chdb_s") MB/s  (mr / chdb time: $(echo "scale=2; $mr_s / $chdb_s" | bc -l))"
else
  echo "chdb: not installed (pip install chdb), skipped"
fi
