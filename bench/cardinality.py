#!/usr/bin/env python3
"""mr url_views against ClickHouse (chdb) when page_urls are many: 100k or 1M
distinct URLs, or every one distinct (a URL with a session id). The generated
clicklog of bench/run.sh has about 3,000 (3,020 at 1 GB); real sites have query strings. Here
mr's fold tables, its sort and its merge carry most of the work, where on the
generated logs the JSON scan does.

    python3 bench/cardinality.py [--rounds N] [--mb MB] [--keep] [SHAPE ...]

    --rounds N  timed rounds per shape                                       [3]
    --mb MB     data per shape, in 10^6 bytes (about)                      [400]
    --keep      keep each shape's data in bench/data/cardinality/SHAPE
    SHAPE       distinct_100k, distinct_1m, distinct_all            [all three]

Each shape is `mr gen clicklog --seed 7` with every page_url replaced by one
of N URLs (`https://courses.example.org/courses/course-v1:C/courseware/
lecture?id=I`, picked by a seeded random generator; for distinct_all, the line
number), 3 files. The reference, independent of mr, counts the URLs as they
are written; mr's output and ClickHouse's must both equal it. Rounds run mr,
ClickHouse (bench/peers.py chdb url_views) and ClickHouse's startup alone back
to back, in an order rotated from round to round, as bench/shapes.py does;
ratio = mr ÷ (ClickHouse − startup), wall seconds. mr writes to an output
directory (-o), ClickHouse to /dev/null; neither output is sorted by ClickHouse
(mr's part files are: its sort is part of its time).

mr and ClickHouse get the same threads: BENCH_THREADS (default: the cores this
process may use, as `nproc`), mr's -j and ClickHouse's max_threads.

Needs target/release/mr ($MR instead, to time another build) and chdb (pip install -r bench/requirements.txt).
Exits 1 if an output differs from the reference.
"""
import argparse
import collections
import importlib.util
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MR = os.environ.get("MR") or os.path.join(ROOT, "target", "release", "mr")
PEERS = os.path.join(ROOT, "bench", "peers.py")
DATA = os.path.join(ROOT, "bench", "data", "cardinality")
NFILES = 3
SHAPES = {"distinct_100k": 100_000, "distinct_1m": 1_000_000, "distinct_all": None}

_spec = importlib.util.spec_from_file_location("shapes", os.path.join(ROOT, "bench", "shapes.py"))
shapes = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(shapes)

URL = re.compile(rb'"page_url": "(?:[^"\\]|\\.)*"')


def url(i):
    return f"https://courses.example.org/courses/course-v1:{i // 100}/courseware/lecture?id={i}"


def prepare(shape, mb, keep):
    """The shape's directory and reference counts, generated unless kept."""
    d = os.path.join(DATA, shape)
    ref_path = d + ".ref.json"
    if keep and os.path.isdir(d) and os.path.exists(ref_path):
        with open(ref_path) as fh:
            return d, collections.Counter(json.load(fh))
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    distinct = SHAPES[shape]
    rng = random.Random(f"cardinality-{shape}")
    counts = collections.Counter()
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "gen")
        subprocess.run([MR, "gen", "clicklog", "--size", str(int(mb * 1e6)), "--seed", "7",
                        "--files", str(NFILES), "--gz-files", "0", "--output", src],
                       check=True, stderr=subprocess.DEVNULL)
        n = 0
        for k, name in enumerate(sorted(os.listdir(src))):
            if name.startswith(("_", ".")):
                continue
            with open(os.path.join(src, name), "rb") as fin, \
                    open(os.path.join(d, f"part-{k:05d}.jsonl"), "wb") as fout:
                for line in fin:
                    n += 1
                    u = url(n if distinct is None else rng.randrange(distinct))
                    line, found = URL.subn(b'"page_url": "' + u.encode() + b'"', line, count=1)
                    if found:
                        counts[u] += 1
                    fout.write(line)
    if keep:
        with open(ref_path, "w") as fh:
            json.dump(counts, fh)
    return d, counts


def run_shape(shape, mb, rounds, keep):
    d, ref = prepare(shape, mb, keep)
    files = shapes.data_files(d)
    size = sum(os.path.getsize(f) for f in files) / 1e6
    out = tempfile.mkdtemp(prefix="mr-cardinality-")
    try:
        shapes.timed([MR, "run", "url_views", "-q", "-j", str(shapes.THREADS), "-i", d, "-o", os.path.join(out, "check")])
        got = collections.Counter()
        for part in sorted(os.listdir(os.path.join(out, "check"))):
            if part.startswith("part-"):
                got += shapes.load_counts(os.path.join(out, "check", part), True)
        ch_out = os.path.join(out, "ch.tsv")
        shapes.timed([sys.executable, PEERS, "chdb", "url_views", ch_out] + files)
        ch = shapes.load_counts(ch_out, False)
        ndiff, diff_keys = shapes.differing(got, ref)
        ch_diff = shapes.differing(ch, ref)[0]
        cmds = {"mr": lambda r: [MR, "run", "url_views", "-q", "-j", str(shapes.THREADS), "-i", d, "-o", os.path.join(out, f"r{r}")],
                "ch": lambda r: [sys.executable, PEERS, "chdb", "url_views", "/dev/null"] + files,
                "startup": lambda r: [sys.executable, PEERS, "chdb", "startup"]}
        order, walls, cpus, ratios = list(cmds), [], [], []
        for r in range(rounds):
            t = {name: shapes.timed(cmds[name](r)) for name in order[r % 3:] + order[:r % 3]}
            walls.append(t["mr"][0])
            cpus.append(t["mr"][1])
            work = t["ch"][0] - t["startup"][0]
            ratios.append(t["mr"][0] / work if work > 0 else float("inf"))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    if not keep:
        shutil.rmtree(d)
    return {"shape": shape, "mb": size, "keys": len(ref), "mr": statistics.median(walls),
            "cpu": statistics.median(cpus), "ratio": statistics.median(ratios),
            "lo": min(ratios), "hi": max(ratios), "ndiff": ndiff, "diff": diff_keys,
            "equal": ("yes" if ndiff == 0 else f"**no** ({ndiff} keys)")
            + ("" if ch_diff == 0 else f"; ClickHouse differs on {ch_diff} keys")}


def main():
    ap = argparse.ArgumentParser(description="mr url_views vs ClickHouse with many distinct URLs.")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--mb", type=float, default=400)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("shapes", nargs="*", metavar="SHAPE")
    a = ap.parse_args()
    unknown = [s for s in a.shapes if s not in SHAPES]
    if unknown or a.rounds < 1 or a.mb <= 0:
        ap.error(f"unknown shape(s) {unknown}; known: {', '.join(SHAPES)}" if unknown
                 else "--rounds and --mb must be positive")
    if not os.access(MR, os.X_OK):
        sys.exit("bench/cardinality.py: build target/release/mr first (cargo build --release -p mr-cli)")
    rows = []
    for s in a.shapes or list(SHAPES):
        r = run_shape(s, a.mb, a.rounds, a.keep)
        rows.append(r)
        print(f"{s}: {r['keys']} URLs, {r['mb']:.0f} MB, mr {r['mr']:.2f} s ({r['cpu']:.2f} s CPU), "
              f"ratio {r['ratio']:.2f} ({r['lo']:.2f}-{r['hi']:.2f}), equal: {r['equal']}", flush=True)
    print("\n| shape | distinct URLs | MB | mr wall s (median) | mr CPU s | ratio mr ÷ (ClickHouse − startup): "
          "median (range) | outputs equal to reference |\n|---|--:|--:|--:|--:|---|---|")
    for r in rows:
        print(f"| {r['shape']} | {r['keys']:,} | {r['mb']:.0f} | {r['mr']:.2f} | {r['cpu']:.2f} "
              f"| {r['ratio']:.2f} ({r['lo']:.2f}–{r['hi']:.2f}) | {r['equal']} |")
    bad = [r for r in rows if r["ndiff"] or "ClickHouse differs" in r["equal"]]
    for r in bad:
        print(f"{r['shape']}: {r['equal']}: {r['diff']}", file=sys.stderr)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
