#!/usr/bin/env bash
# Issue 13's three ClickHouse targets alone, over many short rounds: a check
# that takes minutes where bench/run.sh takes over 20, and whose median is
# steadier on a host whose speed drifts (each round runs mr, ClickHouse and
# ClickHouse's startup back to back, in an order rotated from round to round).
#
#   bench/targets.sh [ROUNDS]        (default 10; about 25 s a round at 1 GB)
#
# Uses the 1 GB data of bench/run.sh in bench/data/run/ (generated here with
# the same seed when missing) and target/release/mr (built when missing).
# Prints one line per round and the median ratios against the targets:
#   url_views, plain NDJSON      mr ÷ (ClickHouse - startup) ≤ 0.5
#   url_views, one .gz           mr ÷ (ClickHouse - startup) ≤ 0.8
#   word_count vs whitespace     mr ÷ (ClickHouse - startup) ≤ 1.0
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-10}
case $ROUNDS in '' | *[!0-9]* | 0) echo "usage: bench/targets.sh [ROUNDS]" >&2; exit 2 ;; esac
MR=$PWD/target/release/mr
WORK=bench/data/run
SIZE=1000000000
. bench/common.sh
[ -x "$MR" ] || cargo build --release -p mr-cli --locked
python3 -c "import chdb" 2>/dev/null || { echo "bench/targets.sh: needs chdb (pip install -r bench/requirements.txt)" >&2; exit 1; }
mkdir -p "$WORK"
LOGS=$(gen clicklog $SIZE)
TEXT=$(gen text $SIZE)
ONE_GZ=$(gen clicklog $SIZE onegz --files 1 --gz-files 1)
cat "$LOGS"/part-* "$TEXT"/part-* "$ONE_GZ"/part-* > /dev/null # warm the page cache

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# secs CMD: wall seconds of the bash command CMD (GNU time), its output discarded.
secs() {
  /usr/bin/time -f %e -o "$TMP/time" bash -c "$1" > /dev/null 2>&1 || { echo "failed: $1" >&2; exit 1; }
  tail -1 "$TMP/time"
}
declare -A CMD=(
  [startup]="python3 bench/peers.py chdb startup"
  [url_mr]="$(q "$MR" run url_views -q -i "$LOGS")"
  [url_ch]="python3 bench/peers.py chdb url_views /dev/null $(q "$LOGS"/part-*)"
  [gz_mr]="$(q "$MR" run url_views -q -i "$ONE_GZ")"
  [gz_ch]="python3 bench/peers.py chdb url_views /dev/null $(q "$ONE_GZ"/part-*)"
  [wc_mr]="$(q "$MR" run word_count -q -i "$TEXT")"
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
    -v e="${T[wc_mr]}" -v f="${T[wc_ch]}" 'BEGIN {
      printf "round %2d  startup %.2f s | url_views mr %.2f ch %.2f: %.2fx | one .gz mr %.2f ch %.2f: %.2fx | word_count mr %.2f ch %.2f: %.2fx\n",
        r, s, a, b, a / (b - s), c, d, c / (d - s), e, f, e / (f - s)
      printf "%f %f %f\n", a / (b - s), c / (d - s), e / (f - s) >> out
    }'
done
python3 - "$TMP/ratios.txt" <<'EOF'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
for i, (name, need) in enumerate([("url_views, plain NDJSON", 0.5), ("url_views, one .gz", 0.8),
                                   ("word_count vs whitespace split", 1.0)]):
    col = [r[i] for r in rows]
    m = statistics.median(col)
    print(f"{name:32s} median {m:.2f}x of ClickHouse less startup (need <= {need}x): "
          f"{'met' if m <= need else 'not met'}; rounds {min(col):.2f}-{max(col):.2f}x")
EOF
