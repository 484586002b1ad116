#!/usr/bin/env bash
# Two (or more) mr binaries on one input, interleaved: the CPU seconds (user +
# system) and wall seconds of each run, sorted, per binary. For telling two
# builds apart on a host whose speed drifts (run them in turn, many times).
#
#   bench/ab.sh INPUT ROUNDS BINARY... [-- JOB]      (JOB: url_views)
#
# Each run is `BINARY run JOB -q -i INPUT -o TMP/out`, its output removed.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: bench/ab.sh INPUT ROUNDS BINARY... [-- JOB]" >&2; exit 2; }
in=$1 rounds=$2
shift 2
bins=() job=url_views
while [ $# -gt 0 ]; do
  if [ "$1" = -- ]; then job=${2:?job after --}; break; fi
  bins+=("$1"); shift
done
case $rounds in '' | *[!0-9]* | 0) echo "bench/ab.sh: ROUNDS must be a positive number" >&2; exit 2 ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
declare -A cpu wall
for ((r = 0; r < rounds; r++)); do
  for b in "${bins[@]}"; do
    /usr/bin/time -f "%U %S %e" -o "$tmp/t" "$b" run "$job" -q -i "$in" -o "$tmp/out" > /dev/null
    read -r u s e < "$tmp/t"
    cpu[$b]+="$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }') "
    wall[$b]+="$e "
    rm -rf "$tmp/out"
  done
done
for b in "${bins[@]}"; do
  echo "$b cpu: $(tr ' ' '\n' <<< "${cpu[$b]}" | sort -n | xargs) wall: $(tr ' ' '\n' <<< "${wall[$b]}" | sort -n | xargs)"
done
