#!/usr/bin/env bash
# mr against the tools users would pick instead, on generated data, in one run:
# ClickHouse (embedded, chdb), Polars, DuckDB, mrjob (local and inline runners,
# on a slice), a grep/awk pipeline and a hand-written Rust program with no
# framework (bench/ceiling, the ceiling).
#
#   bench/run.sh [--size 1GB] [--runs 3] [--threads N] [--quick] [--no-install]
#                [--no-profile] [--wait-quiet] [--big SIZE] [--docs DIR]
#
#   --size SIZE    clicklog and text size (mr gen units: 1GB, 200MB, ...) [1GB]
#   --runs N       rounds; each round runs every tool once, in an order
#                  rotated from round to round; medians are reported      [3]
#   --threads N    threads of every tool: mr's -j, ClickHouse's max_threads,
#                  DuckDB's threads, Polars' POLARS_MAX_THREADS, the ceiling's
#                  -j, sort --parallel          [$BENCH_THREADS, else `nproc`]
#   --quick        --size 100MB --runs 1, report in bench/data/run/quick/ (about
#                  2 minutes; the committed docs/benchmarks.md is left alone)
#   --no-install   do not pip install bench/requirements.txt
#   --no-profile   skip the perf and callgrind profiles of mr and the ceiling
#   --wait-quiet   wait (up to 10 minutes) until other processes use < 0.5 core
#   --big SIZE     also time url_views and video_tagging (mr and ClickHouse) on
#                  SIZE of generated logs (e.g. 20GB: needs that much free disk
#                  and about 10 minutes more); the data is removed afterwards,
#                  also when the run fails or is interrupted
#   --docs DIR     where the report goes                                 [docs]
#
# Writes DIR/benchmarks.md (between its generated markers), DIR/bench-raw.csv,
# DIR/bench-throughput.png and DIR/bench-scaling.png. Data and outputs go to
# bench/data/run/ (gitignored; generated data is reused by later runs).
#
# Wall seconds are bash's clock around the command (1 ms steps; GNU time's %e
# has 10 ms steps, which make a fast command read 0.00 s); peak RSS is GNU
# time's `%M`: the peak RSS of the largest single process of the command (for a
# pipeline or mrjob, its biggest process, not the sum). MB are 10^6 bytes of
# uncompressed input.
#
# Exits 1, after writing the report, when a command failed or a peer that
# computes the same thing as mr gave other results (the report marks its
# ratios and targets n/a): such a run is not one to quote.
set -euo pipefail
shopt -s nullglob
ARGS="bench/run.sh${*:+$(printf ' %q' "$@")}" # as given, for meta.txt and the report
cd "$(dirname "$0")/.."

SIZE=1GB
RUNS=3
INSTALL=1
PROFILE=1
WAIT_QUIET=0
BIG=""
DOCS=docs
THREADS=${BENCH_THREADS:-$(nproc)}
while [ $# -gt 0 ]; do
  case "$1" in
    --size) SIZE=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --quick) SIZE=100MB; RUNS=1; DOCS=bench/data/run/quick; shift ;;
    --no-install) INSTALL=0; shift ;;
    --no-profile) PROFILE=0; shift ;;
    --wait-quiet) WAIT_QUIET=1; shift ;;
    --big) BIG=$2; shift 2 ;;
    --docs) DOCS=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && !/^#/ {exit} NR > 1 {print}' "$0"; exit 0 ;;
    *) echo "bench/run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

[ -x /usr/bin/time ] || { echo "bench/run.sh: needs GNU time as /usr/bin/time (apt install time)" >&2; exit 1; }

STARTED=$(date +%s)
WORK=bench/data/run
# say, q, gen (gen reads MR when it is called).
. bench/common.sh
# One thread count for every tool: peers.py and duck.py read it from here.
use_threads "bench/run.sh --threads" "$THREADS"
OUT=$WORK/out
RESULTS=$WORK/results
mkdir -p "$OUT" "$RESULTS"
RAW=$RESULTS/raw.csv
CHECKS=$RESULTS/checks.csv
META=$RESULTS/meta.txt
echo "section,job,tool,round,input_bytes,wall_s,peak_rss_kb,exit,others_cpu,note" > "$RAW"
echo "job,tool,agreement,detail" > "$CHECKS"
: > "$META"
: > "$RESULTS/profile.txt"

meta() { echo "$1=$2" >> "$META"; }
HZ=$(getconf CLK_TCK)
# Busy CPU seconds of the whole machine so far (all cores; /proc/stat ticks:
# user nice system irq softirq steal). Builtins only: reading it starts no
# process that the window it measures would count as other work.
busy_s() {
  local _cpu user nice sys _idle _iowait irq softirq steal _rest t
  read -r _cpu user nice sys _idle _iowait irq softirq steal _rest < /proc/stat
  t=$((user + nice + sys + irq + softirq + steal))
  printf '%d.%06d\n' $((t / HZ)) $((t % HZ * 1000000 / HZ))
}

# Sizes: mr gen's units (KB/MB/GB are powers of 1000).
bytes_of() {
  python3 -c '
import re, sys
m = re.fullmatch(r"([0-9.]+)\s*([KMG]i?B?|B)?", sys.argv[1].strip(), re.I)
if not m: sys.exit("bad size " + sys.argv[1])
u = (m.group(2) or "B").upper()
mult = {"B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "K": 1024, "M": 1 << 20, "G": 1 << 30,
        "KIB": 1024, "MIB": 1 << 20, "GIB": 1 << 30}[u]
print(int(float(m.group(1)) * mult))' "$1"
}
SIZE_BYTES=$(bytes_of "$SIZE")

if [ "$WAIT_QUIET" = 1 ]; then
  quiet=0
  for _ in $(seq 60); do
    b0=$(busy_s); sleep 10; b1=$(busy_s)
    used=$(awk -v a="$b0" -v b="$b1" 'BEGIN {printf "%.2f", (b - a) / 10}')
    awk -v u="$used" 'BEGIN {exit !(u < 0.5)}' && { quiet=1; break; }
    say "other processes keep $used cores busy: waiting for a quieter machine"
  done
  # Given up: said, not measured as if the machine were quiet (the report's
  # per-command figure of other processes' cores tells how busy it was).
  [ "$quiet" = 1 ] || say "still $used cores busy after 10 minutes: measuring anyway (see the report's other-processes figures)"
fi

# ---------------------------------------------------------------- tools
if [ "$INSTALL" = 1 ]; then
  say "pip install -r bench/requirements.txt -r .ci/requirements.txt"
  pip install -q -r bench/requirements.txt -r .ci/requirements.txt >&2 \
    || say "pip install failed: the peers it would install are reported as skipped"
fi
say "building mr and the ceiling"
cargo build --release -q -p mr-cli
cargo build --release -q --manifest-path bench/ceiling/Cargo.toml
# Private copies: the shared target/ may be rebuilt by someone else mid-run.
mkdir -p "$WORK/bin"
cp target/release/mr "$WORK/bin/mr"
cp bench/ceiling/target/release/ceiling "$WORK/bin/ceiling"
MR=$WORK/bin/mr
CEILING=$WORK/bin/ceiling
HAVE_DUCKDB=0; python3 -c 'import duckdb' 2>/dev/null && HAVE_DUCKDB=1
HAVE_MRJOB=0; python3 -c 'import mrjob' 2>/dev/null && HAVE_MRJOB=1
HAVE_CHDB=0; python3 -c 'import chdb' 2>/dev/null && HAVE_CHDB=1
HAVE_POLARS=0; python3 -c 'import polars' 2>/dev/null && HAVE_POLARS=1
AWK=""
for a in mawk gawk awk; do
  if command -v "$a" > /dev/null; then AWK=$a; break; fi
done
HAVE_PERF=0
if [ "$PROFILE" = 1 ] && command -v perf > /dev/null \
  && perf record -q -o "$WORK/perf.check" true > /dev/null 2>&1; then
  HAVE_PERF=1
fi
rm -f "$WORK/perf.check"

meta args "$ARGS"
meta threads "$THREADS"
meta size "$SIZE"
meta size_bytes "$SIZE_BYTES"
meta runs "$RUNS"
meta date "$(date -u +%Y-%m-%dT%H:%MZ)"
meta cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
meta cores "$(nproc)"
meta memory "$(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
meta kernel "$(uname -r)"
# A tree with uncommitted changes (mr's code or these scripts) cannot be checked
# out again: recorded, and the report says so at its top.
meta mr_commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- mr-core mr-cli jobs bench 2>/dev/null || echo ' (plus uncommitted changes)')"
meta uncommitted "$(git diff --name-only HEAD -- mr-core mr-cli jobs bench 2>/dev/null | head -20 | paste -sd ' ' -)"
meta rustc "$(rustc --version)"
meta python "$(python3 --version 2>&1)"
meta duckdb "$( [ $HAVE_DUCKDB = 1 ] && python3 -c 'import duckdb; print(duckdb.__version__)' || echo 'not installed')"
meta mrjob "$( [ $HAVE_MRJOB = 1 ] && python3 -c 'import mrjob; print(mrjob.__version__)' || echo 'not installed')"
meta chdb "$( [ $HAVE_CHDB = 1 ] && python3 -c 'import chdb; print(chdb.__version__, "(ClickHouse", chdb.engine_version + ")")' 2>/dev/null || echo 'not installed')"
meta polars "$( [ $HAVE_POLARS = 1 ] && python3 -c 'import polars; print(polars.__version__)' || echo 'not installed')"
meta awk "$( [ -n "$AWK" ] && { "$AWK" -W version 2>/dev/null || "$AWK" --version 2>/dev/null; } | head -1 | cut -c1-60 || echo none)"
meta grep "$(grep --version | head -1)"
meta sort "$(sort --version | head -1)"
meta load_at_start "$(cut -d' ' -f1-3 /proc/loadavg)"

# ----------------------------------------------------------------- data
size_of() { stat -c %s "$@" | awk '{s += $1} END {print s}'; }
# slice FILE BYTES OUT: the first whole lines of FILE, about BYTES of them.
slice() {
  [ -f "$3" ] || head -c "$2" "$1" | head -n -1 > "$3"
}

LOGS=$(gen clicklog "$SIZE_BYTES")
TEXT=$(gen text "$SIZE_BYTES")
# The same amount of logs as one gzip file: one split, the single-.gz row.
ONE_GZ=$(gen clicklog "$SIZE_BYTES" onegz --files 1 --gz-files 1)
ONE_GZ_FILES=("$ONE_GZ"/part-*)
ONE_GZ_BYTES=$(zcat "${ONE_GZ_FILES[@]}" | wc -c)
# Uncompressed input bytes: what MB/s is computed from.
LOGS_BYTES=$(zcat -f "$LOGS"/part-* | wc -c)
TEXT_BYTES=$(zcat -f "$TEXT"/part-* | wc -c)
LOGS_FILES=("$LOGS"/part-*)
TEXT_FILES=("$TEXT"/part-*)
LOGS_PLAIN=("$LOGS"/part-*.jsonl)
TEXT_PLAIN=("$TEXT"/part-*.txt)
LOGS_GZ=("$LOGS"/part-*.gz)
TEXT_GZ=("$TEXT"/part-*.gz)
meta logs "$LOGS: ${#LOGS_FILES[@]} files (${#LOGS_GZ[@]} gzipped), $LOGS_BYTES bytes uncompressed"
meta text "$TEXT: ${#TEXT_FILES[@]} files (${#TEXT_GZ[@]} gzipped), $TEXT_BYTES bytes uncompressed"
meta logs_gz "$ONE_GZ: 1 gzip file of $(size_of "${ONE_GZ_FILES[@]}") bytes, $ONE_GZ_BYTES bytes uncompressed"

# Real-world shapes the generator writes rarely (bench/reshape.py), from the
# first two plain files of each: logs as PHP's json_encode writes them (every
# non-ASCII char a \u escape, every / escaped), text in Cyrillic letters.
reshape_into() { python3 bench/reshape.py "$2" "$1" "${@:3}"; }
reshape() { once "$WORK/$1-$SIZE_BYTES" "bench/reshape.py $1" reshape_into "$@"; } # KIND FILE...
PHP_LOGS=$(reshape php-json "${LOGS_PLAIN[@]:0:2}")
SMALL_GZ=$(reshape many-gz "${LOGS_PLAIN[0]}")
SMALL_GZ_FILES=("$SMALL_GZ"/part-*)
SMALL_GZ_BYTES=$(cat "${SMALL_GZ_FILES[@]}" | zcat | wc -c)
CYRILLIC=$(reshape cyrillic "${TEXT_PLAIN[@]:0:2}")
PHP_FILES=("$PHP_LOGS"/part-*)
CYRILLIC_FILES=("$CYRILLIC"/part-*)
PHP_BYTES=$(size_of "${PHP_FILES[@]}")
CYRILLIC_BYTES=$(size_of "${CYRILLIC_FILES[@]}")
meta logs_php "$PHP_LOGS: ${#PHP_FILES[@]} files of the logs, as PHP's json_encode writes them (non-ASCII as \\u escapes, / as \\/), $PHP_BYTES bytes"
meta logs_small_gz "$SMALL_GZ: the first log file cut into ${#SMALL_GZ_FILES[@]} gzip files of 100 lines, $SMALL_GZ_BYTES bytes uncompressed"
meta text_cyrillic "$CYRILLIC: ${#CYRILLIC_FILES[@]} files of the text, Latin letters mapped to Cyrillic, $CYRILLIC_BYTES bytes"

# mrjob runs on a slice: 50 MB of logs and 20 MB of text at 1 GB (5% and 2%).
URL_SLICE=$WORK/slice-clicklog-$((SIZE_BYTES / 20)).jsonl
WORD_SLICE=$WORK/slice-text-$((SIZE_BYTES / 50)).txt
slice "${LOGS_PLAIN[0]}" $((SIZE_BYTES / 20)) "$URL_SLICE"
slice "${TEXT_PLAIN[0]}" $((SIZE_BYTES / 50)) "$WORD_SLICE"
URL_SLICE_BYTES=$(size_of "$URL_SLICE")
WORD_SLICE_BYTES=$(size_of "$WORD_SLICE")

# ------------------------------------------------------------ measuring
# measure SECTION JOB TOOL ROUND BYTES NOTE OUTFILE CMD: runs CMD (a bash
# string) under GNU time with stdout to OUTFILE, appends a row to raw.csv and
# leaves CMD's exit status in MEASURED_RC. Wall seconds are bash's clock
# (EPOCHREALTIME, microseconds) around the command, in ms: GNU time's %e has
# 10 ms steps; GNU time gives the peak RSS and the command's CPU time.
measure() {
  local section=$1 job=$2 tool=$3 round=$4 bytes=$5 note=$6 outfile=$7 cmd=$8
  local tf=$WORK/time.txt rc=0 busy0 busy1 t0 wall rss user sys others
  busy0=$(busy_s)
  t0=$(now_us)
  /usr/bin/time -f '%M %U %S' -o "$tf" timeout 1200 bash -c "$cmd" > "$outfile" 2> "$WORK/stderr.txt" || rc=$?
  wall=$(secs_since "$t0" 3)
  busy1=$(busy_s)
  read -r rss user sys < <(tail -1 "$tf")
  # What else ran meanwhile: the machine's busy CPU time less the command's own,
  # per second of wall time (0 on a quiet machine; 1 = one core kept busy).
  # Left empty under 0.5 s: /proc/stat counts in 10 ms ticks and GNU time's CPU
  # seconds in 10 ms steps, so a short command's figure is mostly rounding (a
  # CPU-idle `sleep 0.03` read as 3 cores); and never more than the cores there are.
  others=$(awk -v b0="$busy0" -v b1="$busy1" -v u="$user" -v s="$sys" -v w="$wall" -v n="$(nproc --all)" \
    'BEGIN {if (w < 0.5) exit; o = (b1 - b0 - u - s) / w; printf "%.2f", (o < 0 ? 0 : o > n ? n : o)}')
  MEASURED_RC=$rc
  if [ "$rc" != 0 ]; then
    say "$job/$tool failed (exit $rc): $(tail -3 "$WORK/stderr.txt" | tr '\n' ' ')"
  fi
  echo "$section,$job,$tool,$round,$bytes,$wall,$rss,$rc,$others,$note" >> "$RAW"
  say "$section $job $tool round $round: ${wall}s, $((rss / 1024)) MB peak RSS, others used ${others:-(not measured under 0.5 s)} cores"
}
skip() { # skip JOB TOOL WHY
  echo "main,$1,$2,0,0,,,skipped,,$3" >> "$RAW"
  say "$1/$2 skipped: $3"
}

# The tools, per job: name -> "bytes|output format|semantics|command".
declare -A CMD BYTES FORMAT SEMANTICS
tool() { # tool JOB NAME BYTES FORMAT SEMANTICS CMD
  CMD[$1/$2]=$6; BYTES[$1/$2]=$3; FORMAT[$1/$2]=$4; SEMANTICS[$1/$2]=$5
  TOOLS[$1]="${TOOLS[$1]:-} $2"
}
declare -A TOOLS
LC_C="export LC_ALL=C;"

tool url_views mr "$LOGS_BYTES" mr same "$MR run url_views -q -j $THREADS -i $LOGS"
tool url_views ceiling "$LOGS_BYTES" mr same "$CEILING url_views -j $THREADS $LOGS"
tool url_views ceiling-sonic "$LOGS_BYTES" mr same "$CEILING url_views_sonic -j $THREADS $LOGS"
tool url_views duckdb "$LOGS_BYTES" tsv same "python3 bench/duck.py url_views /dev/stdout $(q "${LOGS_FILES[@]}")"
tool url_views duckdb-objects "$LOGS_BYTES" tsv same "python3 bench/duck.py url_views_objects /dev/stdout $(q "${LOGS_FILES[@]}")"
tool url_views grep-sort-uniq "$LOGS_BYTES" uniq same \
  "$LC_C zcat -f $(q "${LOGS_FILES[@]}") | grep -o '\"page_url\": *\"[^\"]*\"' | sort --parallel=$THREADS | uniq -c"
tool url_views mrjob-local "$URL_SLICE_BYTES" mr same "python3 bench/mrjob/mr_url_views.py -r local --no-conf $URL_SLICE"
tool url_views mrjob-inline "$URL_SLICE_BYTES" mr same "python3 bench/mrjob/mr_url_views.py -r inline --no-conf $URL_SLICE"

tool url_views chdb "$LOGS_BYTES" tsv same "python3 bench/peers.py chdb url_views /dev/stdout $(q "${LOGS_FILES[@]}")"
tool url_views polars "$LOGS_BYTES" tsv same "python3 bench/peers.py polars url_views /dev/stdout $(q "${LOGS_FILES[@]}")"

tool url_views_gz mr "$ONE_GZ_BYTES" mr same "$MR run url_views -q -j $THREADS -i $ONE_GZ"
tool url_views_gz chdb "$ONE_GZ_BYTES" tsv same "python3 bench/peers.py chdb url_views /dev/stdout $(q "${ONE_GZ_FILES[@]}")"
tool url_views_gz duckdb-objects "$ONE_GZ_BYTES" tsv same "python3 bench/duck.py url_views_objects /dev/stdout $(q "${ONE_GZ_FILES[@]}")"

tool video_tagging mr "$LOGS_BYTES" lines same "$MR run video_tagging -q -j $THREADS -i $LOGS"
tool video_tagging duckdb "$LOGS_BYTES" lines same "python3 bench/duck.py video_tagging /dev/stdout $(q "${LOGS_FILES[@]}")"
tool video_tagging chdb "$LOGS_BYTES" lines same "python3 bench/peers.py chdb video_tagging /dev/stdout $(q "${LOGS_FILES[@]}")"

# A heavy mapper over one .gz: mr cuts the stream into pieces for both cores.
tool video_tagging_gz mr "$ONE_GZ_BYTES" lines same "$MR run video_tagging -q -j $THREADS -i $ONE_GZ"
tool video_tagging_gz chdb "$ONE_GZ_BYTES" lines same "python3 bench/peers.py chdb video_tagging /dev/stdout $(q "${ONE_GZ_FILES[@]}")"

tool url_views_php mr "$PHP_BYTES" mr same "$MR run url_views -q -j $THREADS -i $(q "$PHP_LOGS")"
tool url_views_php chdb "$PHP_BYTES" tsv same "python3 bench/peers.py chdb url_views /dev/stdout $(q "${PHP_FILES[@]}")"

tool url_views_small_gz mr "$SMALL_GZ_BYTES" mr same "$MR run url_views -q -j $THREADS -i $(q "$SMALL_GZ")"
tool url_views_small_gz chdb "$SMALL_GZ_BYTES" tsv same "python3 bench/peers.py chdb url_views /dev/stdout $(q "${SMALL_GZ_FILES[@]}")"

tool word_count_cyrillic mr "$CYRILLIC_BYTES" mr same "$MR run word_count -q -j $THREADS -i $(q "$CYRILLIC")"
tool word_count_cyrillic chdb "$CYRILLIC_BYTES" tsv same "python3 bench/peers.py chdb word_count /dev/stdout $(q "${CYRILLIC_FILES[@]}")"
tool word_count_cyrillic chdb-ws "$CYRILLIC_BYTES" tsv different "python3 bench/peers.py chdb word_count_ws /dev/stdout $(q "${CYRILLIC_FILES[@]}")"

tool word_count mr "$TEXT_BYTES" mr same "$MR run word_count -q -j $THREADS -i $TEXT"
tool word_count ceiling "$TEXT_BYTES" mr same "$CEILING word_count -j $THREADS $TEXT"
tool word_count duckdb "$TEXT_BYTES" tsv different "python3 bench/duck.py word_count /dev/stdout $(q "${TEXT_FILES[@]}")"
tool word_count chdb "$TEXT_BYTES" tsv same "python3 bench/peers.py chdb word_count /dev/stdout $(q "${TEXT_FILES[@]}")"
tool word_count chdb-ws "$TEXT_BYTES" tsv different "python3 bench/peers.py chdb word_count_ws /dev/stdout $(q "${TEXT_FILES[@]}")"
tool word_count polars "$TEXT_BYTES" tsv same "python3 bench/peers.py polars word_count /dev/stdout $(q "${TEXT_FILES[@]}")"
tool word_count polars-ws "$TEXT_BYTES" tsv different "python3 bench/peers.py polars word_count_ws /dev/stdout $(q "${TEXT_FILES[@]}")"
tool word_count mrjob-local "$WORD_SLICE_BYTES" mr same "python3 examples/mrjob/mr_word_freq_count.py -r local --no-conf $WORD_SLICE"
tool word_count mrjob-inline "$WORD_SLICE_BYTES" mr same "python3 examples/mrjob/mr_word_freq_count.py -r inline --no-conf $WORD_SLICE"

if [ -n "$AWK" ]; then
  tool url_views "$AWK" "$LOGS_BYTES" tsv same \
    "$LC_C zcat -f $(q "${LOGS_FILES[@]}") | $AWK -F'\"page_url\": \"' 'NF > 1 {sub(/\".*/, \"\", \$2); c[\$2]++} END {for (k in c) print k \"\\t\" c[k]}'"
  tool word_count "$AWK" "$TEXT_BYTES" tsv different \
    "$LC_C zcat -f $(q "${TEXT_FILES[@]}") | $AWK '{for (i = 1; i <= NF; i++) c[tolower(\$i)]++} END {for (w in c) print w \"\\t\" c[w]}'"
else
  skip url_views awk "no awk found"
  skip word_count awk "no awk found"
fi
# What a Python peer's wall time holds besides its work: the interpreter, the
# import and a one-row query (bench/report.py takes it off for the targets).
tool startup chdb 0 none same "python3 bench/peers.py chdb startup"
tool startup polars 0 none same "python3 bench/peers.py polars startup"
tool startup duckdb 0 none same "python3 bench/duck.py startup"
JOBS=(url_views url_views_gz url_views_php url_views_small_gz video_tagging video_tagging_gz word_count word_count_cyrillic startup)
for job in "${JOBS[@]}"; do
  kept=""
  for t in ${TOOLS[$job]}; do
    case "$t" in
      duckdb*) [ $HAVE_DUCKDB = 1 ] || { skip "$job" "$t" "python duckdb not installed"; continue; } ;;
      mrjob*) [ $HAVE_MRJOB = 1 ] || { skip "$job" "$t" "python mrjob not installed"; continue; } ;;
      chdb*) [ $HAVE_CHDB = 1 ] || { skip "$job" "$t" "python chdb not installed"; continue; } ;;
      polars*) [ $HAVE_POLARS = 1 ] || { skip "$job" "$t" "python polars not installed"; continue; } ;;
    esac
    kept="$kept $t"
  done
  TOOLS[$job]=$kept
done

# ---------------------------------------------------------- main rounds
declare -A LAST_RC # job/tool -> exit status of its last round, whose output is checked
for round in $(seq "$RUNS"); do
  for job in "${JOBS[@]}"; do
    read -r -a list <<< "${TOOLS[$job]}"
    n=${#list[@]}
    for i in $(seq 0 $((n - 1))); do
      t=${list[$(((i + round - 1) % n))]}
      note=""
      [ "$t" = mr ] && note="sort-buffer-mb=256"
      measure main "$job" "$t" "$round" "${BYTES[$job/$t]}" "$note" "$OUT/$job-$t.out" "${CMD[$job/$t]}"
      LAST_RC[$job/$t]=$MEASURED_RC
    done
  done
done

# ---------------------------------------------------------- agreement
# A peer that computes the same thing as mr but answers otherwise (or mr itself
# wrong: then every peer differs) must not count: check.py exits 1 and says so,
# bench/report.py marks that peer's ratios and targets n/a, and the run exits 1.
say "checking results against mr's"
PROBLEMS=()
$MR run url_views -q -j "$THREADS" -i "$URL_SLICE" > "$OUT/url_views-mr-slice.out"
$MR run word_count -q -j "$THREADS" -i "$WORD_SLICE" > "$OUT/word_count-mr-slice.out"
for job in "${JOBS[@]}"; do
  [ "$job" = startup ] && continue
  for t in ${TOOLS[$job]}; do
    [ "$t" = mr ] && continue
    expected=$OUT/$job-mr.out
    case "$t" in mrjob*) expected=$OUT/$job-mr-slice.out ;; esac
    # A failed command's output (cut short, an error message) is not checked.
    who=$t rc=${LAST_RC[$job/$t]:-0}
    if [ "$expected" = "$OUT/$job-mr.out" ] && [ "${LAST_RC[$job/mr]:-0}" != 0 ]; then
      who=mr rc=${LAST_RC[$job/mr]}
    fi
    if [ "$rc" != 0 ]; then
      echo "$job,$t,failed,$who exited $rc in the last round: its output is not checked" >> "$CHECKS"
      PROBLEMS+=("$job/$t: not checked, $who failed (exit $rc)")
      continue
    fi
    fmt=${FORMAT[$job/$t]}
    efmt=mr
    [ "$fmt" = lines ] && efmt=lines
    python3 bench/check.py "$job" "$t" "$expected:$efmt" "$OUT/$job-$t.out:$fmt" "${SEMANTICS[$job/$t]}" >> "$CHECKS" \
      || PROBLEMS+=("$job/$t: $(tail -1 "$CHECKS" | cut -d, -f3- | sed 's/,/: /')")
  done
done

# ---------------------------------------------------------- task mode
# The mapper alone, as Hadoop Streaming runs it (plain files on stdin, records
# on stdout), against the local runner on one thread over the same files.
TASK_TEXT=("${TEXT_PLAIN[0]}")
TASK_TEXT_BYTES=$(size_of "${TASK_TEXT[@]}")
TASK_LOGS_BYTES=$(size_of "${LOGS_PLAIN[@]}")
for round in $(seq "$RUNS"); do
  measure task url_views "mr --mapper" "$round" "$TASK_LOGS_BYTES" "stdin" /dev/null \
    "cat $(q "${LOGS_PLAIN[@]}") | $MR run url_views --mapper"
  measure task url_views "mr -j 1" "$round" "$TASK_LOGS_BYTES" "local runner" /dev/null \
    "$MR run url_views -q -j 1 $(q "${LOGS_PLAIN[@]}")"
  measure task word_count "mr --mapper" "$round" "$TASK_TEXT_BYTES" "stdin" /dev/null \
    "cat $(q "${TASK_TEXT[@]}") | $MR run word_count --mapper"
  measure task word_count "mr -j 1" "$round" "$TASK_TEXT_BYTES" "local runner" /dev/null \
    "$MR run word_count -q -j 1 $(q "${TASK_TEXT[@]}")"
done

# ------------------------------------------------------------ scaling
# Time and peak RSS against input size: 0.25x .. 4x of a base of SIZE/4.
# word_count with a small sort buffer, so that it spills: memory stays flat.
# Without -q: mr's counters (on stderr) give the number of spills.
SCALE_BUF=16
spills_to_note() { # appends the run's spill count (from mr's counters) to the last row's note
  local n
  n=$(awk -F= '/spills \(sort buffer full\)/ {print $2}' "$WORK/stderr.txt")
  # (no such line: mr leaves out counters that are 0)
  sed -i "\$ s/\$/ spills=${n:-0}/" "$RAW"
}
for factor in 0.25 0.5 1 2 4; do
  bytes=$(python3 -c "print(int($SIZE_BYTES / 4 * $factor))")
  logs=$(gen clicklog "$bytes")
  text=$(gen text "$bytes")
  measure scale url_views mr 1 "$(zcat -f "$logs"/part-* | wc -c)" "x$factor sort-buffer-mb=256" /dev/null \
    "$MR run url_views -j $THREADS -i $logs"
  spills_to_note
  measure scale word_count mr 1 "$(zcat -f "$text"/part-* | wc -c)" "x$factor sort-buffer-mb=$SCALE_BUF" /dev/null \
    "$MR run word_count -j $THREADS --sort-buffer-mb $SCALE_BUF -i $text"
  spills_to_note
done

# ------------------------------------------------------------- big run
# --big SIZE: mr and ClickHouse once each on SIZE of logs, then the data goes,
# whatever happens: a trap removes it (and a half-written .tmp) if the run fails
# or is interrupted; at 20 GB a Ctrl-C must not leave the disk full. Its own
# name (-big): at --big equal to --size (or to a scaling size) it must not be,
# and then delete, a data set the rest of the run reads.
if [ -n "$BIG" ]; then
  big_bytes=$(bytes_of "$BIG")
  BIG_DATA=$WORK/clicklog-$big_bytes-big
  trap 'rm -rf "$BIG_DATA" "$BIG_DATA.tmp"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  big=$(gen clicklog "$big_bytes" big)
  big_files=("$big"/part-*)
  big_plain=$(zcat -f "${big_files[@]}" | wc -c)
  measure big url_views mr 1 "$big_plain" "$BIG" /dev/null "$MR run url_views -q -j $THREADS -i $big"
  measure big video_tagging mr 1 "$big_plain" "$BIG" /dev/null "$MR run video_tagging -q -j $THREADS -i $big"
  if [ $HAVE_CHDB = 1 ]; then
    measure big url_views chdb 1 "$big_plain" "$BIG" /dev/null \
      "python3 bench/peers.py chdb url_views /dev/stdout $(q "${big_files[@]}")"
    measure big video_tagging chdb 1 "$big_plain" "$BIG" /dev/null \
      "python3 bench/peers.py chdb video_tagging /dev/stdout $(q "${big_files[@]}")"
  fi
  say "removing $big"
  rm -rf "$big"
  trap - EXIT INT TERM
fi

# ---------------------------------------------------------- profiles
# Where the time goes: perf's software clock (no hardware counters needed),
# self time per symbol, for mr and the ceiling on the main data.
if [ "$HAVE_PERF" = 1 ]; then
  for job in url_views word_count; do
    for t in mr ceiling; do
      say "perf record $job/$t"
      perf record -q -F 499 -g -o "$WORK/perf.data" -- bash -c "${CMD[$job/$t]}" > /dev/null 2>&1 || true
      {
        echo "### $job / $t (perf, self time, top symbols)"
        echo
        echo '```text'
        perf report -i "$WORK/perf.data" --no-children --sort symbol --stdio -g none 2> /dev/null \
          | awk '/^ +[0-9.]+%/ && n++ < 18' | sed -E 's/( +-)+ *$//' | cut -c1-120
        echo '```'
        echo
      } >> "$RESULTS/profile.txt"
    done
  done
  rm -f "$WORK/perf.data" "$WORK/perf.data.old"
elif [ "$PROFILE" = 1 ]; then
  echo "(perf is not usable on this machine: no perf profiles)" > "$RESULTS/profile.txt"
fi
# Instructions (callgrind) of mr and the ceiling on one thread over a slice:
# exact counts, whatever else runs on the machine.
if [ "$PROFILE" = 1 ] && command -v valgrind > /dev/null; then
  CG_LOGS=$WORK/slice-clicklog-cg-$SIZE_BYTES.jsonl
  CG_TEXT=$WORK/slice-text-cg-$SIZE_BYTES.txt
  slice "${LOGS_PLAIN[0]}" 8000000 "$CG_LOGS"
  slice "${TEXT_PLAIN[0]}" 4000000 "$CG_TEXT"
  {
    echo "### Instructions on one thread (callgrind)"
    echo
    echo "| job | tool | input | instructions | per input byte | per input line |"
    echo "|---|---|---|---:|---:|---:|"
  } >> "$RESULTS/profile.txt"
  for job in url_views word_count; do
    input=$CG_LOGS
    [ "$job" = word_count ] && input=$CG_TEXT
    records=$(wc -l < "$input")
    for t in mr ceiling; do
      say "callgrind $job/$t"
      cmd="$MR run $job -q -j 1 $input"
      [ "$t" = ceiling ] && cmd="$CEILING $job -j 1 $input"
      # shellcheck disable=SC2086 # $cmd is a command line
      valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.$job.$t" $cmd > /dev/null 2> "$WORK/cg.err" || true
      # (a profile that failed costs its row, not the run's report)
      ir=$(callgrind_annotate --auto=no "$WORK/cg.$job.$t" 2> /dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}') || ir=""
      b=$(size_of "$input")
      python3 -c "import sys; ir, b, r = map(int, sys.argv[1:4]); print(f'| $job | $t | {b/1e6:.1f} MB | {ir:,} | {ir/b:.1f} | {ir/r:.0f} |')" \
        "${ir:-0}" "$b" "${records:-1}" >> "$RESULTS/profile.txt"
    done
  done
  echo >> "$RESULTS/profile.txt"
  for job in url_views word_count; do
    for t in mr ceiling; do
      {
        echo "#### $job / $t (callgrind, self instructions, top functions)"
        echo
        echo '```text'
        callgrind_annotate --auto=no --threshold=100 "$WORK/cg.$job.$t" 2> /dev/null | python3 bench/callgrind_top.py 14 \
          || echo "(no profile: callgrind or callgrind_annotate failed)"
        echo '```'
        echo
      } >> "$RESULTS/profile.txt"
    done
  done
fi

meta load_at_end "$(cut -d' ' -f1-3 /proc/loadavg)"
meta duration_s "$(($(date +%s) - STARTED))"
say "writing $DOCS/benchmarks.md"
python3 bench/report.py "$RESULTS" "$DOCS"
# Failed commands (all sections) and peers whose results are not mr's: loud.
while IFS=, read -r section job tool round _ _ _ rc _; do
  [ "$section" = section ] || [ "$rc" = 0 ] || [ "$rc" = skipped ] \
    || PROBLEMS+=("$section $job/$tool round $round: failed (exit $rc)")
done < "$RAW"
if [ ${#PROBLEMS[@]} -gt 0 ]; then
  say "done in $(($(date +%s) - STARTED)) s, BUT THIS RUN IS NOT CLEAN (the report marks it):"
  printf '  %s\n' "${PROBLEMS[@]}" >&2
  exit 1
fi
say "done in $(($(date +%s) - STARTED)) s"
