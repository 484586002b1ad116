# Helpers shared by bench/run.sh and bench/targets.sh (sourced, not run).
# Expects WORK (the data directory) and MR (the mr binary) to be set.

say() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }

# q ARGS...: ARGS quoted for a bash command string.
q() { printf '%q ' "$@"; }

# once DIR WHAT CMD ARGS...: prints DIR, made first if missing by
# `CMD DIR.tmp ARGS...` (WHAT said), then renamed, so an interrupted run never
# leaves a partial data set behind.
once() {
  local dir=$1
  if [ ! -d "$dir" ]; then
    say "$2"
    rm -rf "$dir.tmp"
    "$3" "$dir.tmp" "${@:4}"
    mv "$dir.tmp" "$dir"
  fi
  echo "$dir"
}

# gen KIND BYTES [NAME GEN_ARGS...]: a directory of generated data, made once.
gen_into() { "$MR" gen "$2" --size "$3" --seed 7 --output "$1" "${@:4}" 2>/dev/null; }
gen() { once "$WORK/$1-$2${3:+-$3}" "mr gen $1 --size $2 ${*:4}" gen_into "$1" "$2" "${@:4}"; }

# use_threads WHO N: N (a positive number) becomes every tool's thread count,
# exported as BENCH_THREADS for the Python peers (bench/peers.py reads it);
# WHO names what gave N in the error.
use_threads() {
  case $2 in '' | *[!0-9]* | 0) echo "$1 needs a positive number of threads" >&2; exit 2 ;; esac
  export BENCH_THREADS=$2
}

# now_us: bash's clock in microseconds (GNU time's %e has 10 ms steps).
now_us() { echo "${EPOCHREALTIME/[.,]/}"; }

# secs_since T0 [DIGITS]: seconds from T0 (now_us) to now, DIGITS decimals (6).
secs_since() {
  local d=$(($(now_us) - $1)) digits=${2:-6}
  printf '%d.%0*d\n' $((d / 1000000)) "$digits" $((d % 1000000 / 10 ** (6 - digits)))
}
