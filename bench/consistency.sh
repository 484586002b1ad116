#!/usr/bin/env bash
# Every shipped job gives identical results on generated logs whatever
# --jobs/--partitions/--sort-buffer-mb/--chunksize, and the default run's MB/s.
#
#   bench/consistency.sh [SIZE]      (default 1GB)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-1GB}
DATA=${MR_BENCH_DATA:-bench/data}
cargo build --release -q -p mr-cli
MR=target/release/mr
LOGS="$DATA/clicklog-$SIZE"
[ -d "$LOGS" ] || $MR gen clicklog --size "$SIZE" --seed 7 --output "$LOGS" 2>/dev/null
BYTES=$(python3 -c "import sys; from pathlib import Path; import gzip
t=0
for p in Path('$LOGS').iterdir():
    if p.name.startswith('.'): continue  # mr gen's list of its parts
    t += len(gzip.open(p).read()) if p.suffix=='.gz' else p.stat().st_size
print(t)")
SETTINGS=(
  ""
  "-j 1 --partitions 1"
  "-j 2 --partitions 7 --sort-buffer-mb 4 --chunksize 10MB"
  "-j 2 --partitions 3 --sort-buffer-mb 0.5 --chunksize 3MB --merge-fan-in 4"
)
echo "| job | settings | wall s | MB/s | md5 of output |"
echo "|---|---|---|---|---|"
for job in url_views video_tagging word_count top_lectures; do
  first=""
  for s in "${SETTINGS[@]}"; do
    start=$(date +%s.%N)
    sum=$($MR run $job -i "$LOGS" -q $s | md5sum | cut -c1-12)
    end=$(date +%s.%N)
    wall=$(python3 -c "print(round($end-$start, 2))")
    mbs=$(python3 -c "print(round($BYTES/1e6/($end-$start), 0))")
    echo "| $job | ${s:-defaults} | $wall | $mbs | $sum |"
    if [ -z "$first" ]; then first=$sum; elif [ "$sum" != "$first" ]; then echo "MISMATCH for $job with '$s'" >&2; exit 1; fi
  done
done
echo
echo "All settings gave identical output for every job ($((BYTES/1000000)) MB uncompressed input)."
