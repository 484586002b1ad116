#!/usr/bin/env bash
# Peak RSS against input size with a small sort buffer: a word count over text
# whose vocabulary is so large that almost every token is a distinct key (the
# worst case for memory: nothing combines away).
#
#   bench/memory.sh [BASE_MB] [SORT_BUFFER_MB]      (defaults: 500, 32)
#
# Prints a Markdown table: input size, wall time, MB/s, peak RSS, spills.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE_MB=${1:-500}
BUF_MB=${2:-32}
DATA=${MR_BENCH_DATA:-bench/data}
cargo build --release -q -p mr-cli
MR=target/release/mr
mkdir -p "$DATA"
echo "| input | x | wall s | MB/s | peak RSS MB | sort buffer MB | spills | distinct keys |"
echo "|---|---|---|---|---|---|---|---|"
for factor in 0.1 1 4; do
  size_mb=$(python3 -c "print(int($BASE_MB*$factor))")
  dir="$DATA/unique-${size_mb}MB"
  [ -d "$dir" ] || $MR gen text --size "${size_mb}MB" --vocab 500000000 --seed 11 --gz-files 0 --output "$dir" 2>/dev/null
  out=$( { /usr/bin/time -f "TIME %e %M" $MR run word_count -i "$dir" --sort-buffer-mb "$BUF_MB" -o "$DATA/out" --overwrite 2>&1 >/dev/null; } )
  wall=$(echo "$out" | awk '/^TIME/ {print $2}')
  rss=$(echo "$out" | awk '/^TIME/ {printf "%.0f", $3/1024}')
  spills=$(echo "$out" | awk -F= '/spills \(sort buffer full\)/ {print $2}')
  keys=$(echo "$out" | awk -F= '/step 0: reduce groups/ {print $2}')
  mbs=$(python3 -c "print(round($size_mb/$wall, 1))")
  echo "| ${size_mb} MB | $factor | $wall | $mbs | $rss | $BUF_MB | $spills | $keys |"
  rm -rf "$DATA/out"
done
