#!/usr/bin/env bash
# Issue 13's three ClickHouse targets alone, over many short rounds: a check
# that takes minutes where bench/run.sh takes over 20, and whose median is
# steadier on a host whose speed drifts (each round runs mr, ClickHouse and
# ClickHouse's startup back to back, in an order rotated from round to round).
#
#   bench/targets.sh [ROUNDS]        (default 10; about 25 s a round at 1 GB)
#
# Every tool gets BENCH_THREADS threads (mr's -j, ClickHouse's max_threads;
# default `nproc`), as in bench/run.sh. Uses the 1 GB data of bench/run.sh in bench/data/run/ (generated here with
# the same seed when missing) and target/release/mr (built when missing).
# Prints one line per round and the median ratios against the targets:
#   url_views, plain NDJSON      mr ÷ (ClickHouse - startup) ≤ 0.5
#   url_views, one .gz           mr ÷ (ClickHouse - startup) ≤ 0.8
#   word_count vs whitespace     mr ÷ (ClickHouse - startup) ≤ 1.0
# A round where ClickHouse's time is not above its startup's counts as inf (not
# met), as in bench/report.py and bench/shapes.py: its work lost in the noise.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-10}
case $ROUNDS in '' | *[!0-9]* | 0) echo "usage: bench/targets.sh [ROUNDS]" >&2; exit 2 ;; esac
MR=$PWD/target/release/mr
THREADS=${BENCH_THREADS:-$(nproc)}
WORK=bench/data/run
SIZE=1000000000
. bench/common.sh
use_threads "bench/targets.sh: BENCH_THREADS" "$THREADS"
[ -x "$MR" ] || cargo build --release -p mr-cli --locked
python3 -c "import chdb" 2>/dev/null || { echo "bench/targets.sh: needs chdb (pip install -r bench/requirements.txt)" >&2; exit 1; }
mkdir -p "$WORK"
LOGS=$(gen clicklog $SIZE)
TEXT=$(gen text $SIZE)
ONE_GZ=$(gen clicklog $SIZE onegz --files 1 --gz-files 1)
cat "$LOGS"/part-* "$TEXT"/part-* "$ONE_GZ"/part-* > /dev/null # warm the page cache

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# secs CMD: wall seconds of the bash command CMD, its output discarded: bash's
# clock (microseconds), where GNU time's %e has 10 ms steps.
secs() {
  local t0
  t0=$(now_us)
  bash -c "$1" > /dev/null 2>&1 || { echo "failed: $1" >&2; exit 1; }
  secs_since "$t0"
}
declare -A CMD=(
  [startup]="python3 bench/peers.py chdb startup"
  [url_mr]="$(q "$MR" run url_views -q -j "$THREADS" -i "$LOGS")"
  [url_ch]="python3 bench/peers.py chdb url_views /dev/null $(q "$LOGS"/part-*)"
  [gz_mr]="$(q "$MR" run url_views -q -j "$THREADS" -i "$ONE_GZ")"
  [gz_ch]="python3 bench/peers.py chdb url_views /dev/null $(q "$ONE_GZ"/part-*)"
  [wc_mr]="$(q "$MR" run word_count -q -j "$THREADS" -i "$TEXT")"
  [wc_ch]="python3 bench/peers.py chdb word_count_ws /dev/null $(q "$TEXT"/part-*)"
)
ORDER=(startup url_mr url_ch gz_mr gz_ch wc_mr wc_ch)
declare -A T
for ((r = 1; r <= ROUNDS; r++)); do
  for ((i = 0; i < ${#ORDER[@]}; i++)); do
    k=${ORDER[$(((i + r) % ${#ORDER[@]}))]}
    T[$k]=$(secs "${CMD[$k]}")
  done
  # One line per round; its three ratios also go to ratios.txt for the medians.
  awk -v r="$r" -v s="${T[startup]}" -v out="$TMP/ratios.txt" \
    -v a="${T[url_mr]}" -v b="${T[url_ch]}" -v c="${T[gz_mr]}" -v d="${T[gz_ch]}" \
    -v e="${T[wc_mr]}" -v f="${T[wc_ch]}" '
    function x(m, ch) { return ch - s > 0 ? sprintf("%f", m / (ch - s)) : "inf" }
    function show(v) { return v == "inf" ? v : sprintf("%.2fx", v) }
    BEGIN {
      printf "round %2d  startup %.2f s | url_views mr %.2f ch %.2f: %s | one .gz mr %.2f ch %.2f: %s | word_count mr %.2f ch %.2f: %s\n",
        r, s, a, b, show(x(a, b)), c, d, show(x(c, d)), e, f, show(x(e, f))
      printf "%s %s %s\n", x(a, b), x(c, d), x(e, f) >> out
    }'
done
python3 - "$TMP/ratios.txt" <<'EOF'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
x = lambda v: "inf" if v == float("inf") else f"{v:.2f}x"  # inf: ClickHouse no slower than its startup
for i, (name, need) in enumerate([("url_views, plain NDJSON", 0.5), ("url_views, one .gz", 0.8),
                                   ("word_count vs whitespace split", 1.0)]):
    col = [r[i] for r in rows]
    m = statistics.median(col)
    print(f"{name:32s} median {x(m)} of ClickHouse less startup (need <= {need}x): "
          f"{'met' if m <= need else 'not met'}; rounds {x(min(col))} to {x(max(col))}")
EOF
