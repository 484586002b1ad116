# Helpers shared by bench/run.sh and bench/targets.sh (sourced, not run).
# Expects WORK (the data directory) and MR (the mr binary) to be set.

say() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }

# q ARGS...: ARGS quoted for a bash command string.
q() { printf '%q ' "$@"; }

# gen KIND BYTES [NAME GEN_ARGS...]: a directory of generated data, made once
# (in DIR.tmp, then renamed, so an interrupted run never leaves a partial data
# set behind).
gen() {
  local kind=$1 bytes=$2 dir=$WORK/$1-$2${3:+-$3}
  if [ ! -d "$dir" ]; then
    say "mr gen $kind --size $bytes ${*:4}"
    rm -rf "$dir.tmp"
    "$MR" gen "$kind" --size "$bytes" --seed 7 --output "$dir.tmp" "${@:4}" 2>/dev/null
    mv "$dir.tmp" "$dir"
  fi
  echo "$dir"
}
