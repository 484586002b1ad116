"""Compares a peer's results with mr's, for bench/run.sh.

    python3 bench/check.py JOB TOOL EXPECTED:FORMAT GOT:FORMAT [SEMANTICS]

Prints one CSV line `job,tool,agreement,detail` where agreement is `exact`
(same keys, same values), `differs`, `different by design`, `missing` (no
output file) or `unreadable` (a line not in FORMAT: a command cut short, an
error message). SEMANTICS (`same` or `different`) says whether the peer
computes the same thing; for a peer that does not (a whitespace split against
[\\w']+), the detail tells how far apart the results are rather than calling
it wrong.

Exits 1, saying why on stderr, unless the results are exact or different by
design: bench/run.sh then reports the run as not clean, and bench/report.py
gives no ratio or target against that peer.

Formats:
  mr     json(key) TAB value      (mr, the ceiling, mrjob; mrjob escapes
                                   non-ASCII as \\uXXXX: keys are decoded)
  tsv    key TAB value            (DuckDB COPY, awk)
  uniq   count SPACE "page_url": "key"   (grep -o | sort | uniq -c)
  lines  whole lines, compared as a multiset (video_tagging)
"""
import collections
import json
import sys


class Unreadable(Exception):
    pass


def load(spec):
    path, fmt = spec.rsplit(":", 1)
    out = collections.Counter()
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                parse(raw, fmt, out)
            except (ValueError, IndexError) as e:  # json.JSONDecodeError is a ValueError
                raise Unreadable(f"{path} line {n}: {raw[:60]!r}: {e}") from e
    return out


def parse(raw, fmt, out):
    """Adds one line of FORMAT to the counter out."""
    # Binary: only \n ends a line (a \r inside an awk word stays).
    line = raw.rstrip(b"\n").decode("utf-8", "surrogateescape")
    if not line:
        return
    if fmt == "lines":
        out[line] += 1
        return
    if fmt == "uniq":
        count, rest = line.strip().split(" ", 1)
        key = rest.split(":", 1)[1].strip()
        out[json.loads(key)] += int(count)
        return
    key, value = line.rsplit("\t", 1)
    if fmt == "mr":
        key = json.loads(key)
    out[key] += int(value)


def verdict(job, tool, agreement, detail, ok):
    """Prints the CSV line; on stderr too, and False, when the peer must not count."""
    detail = detail.replace(",", ";").replace("\n", " ")
    print(f"{job},{tool},{agreement},{detail}")
    if not ok:
        print(f"bench/check.py: {job}/{tool}: {agreement}: {detail}", file=sys.stderr)
    return ok


def main():
    job, tool, expected, got = sys.argv[1:5]
    semantics = sys.argv[5] if len(sys.argv) > 5 else "same"
    try:
        want, have = load(expected), load(got)
    except FileNotFoundError as e:
        return verdict(job, tool, "missing", f"{e.filename} not found", False)
    except Unreadable as e:
        return verdict(job, tool, "unreadable", str(e), False)
    if want == have:
        return verdict(job, tool, "exact", f"{len(want)} keys; total {sum(want.values())}", True)
    only_want = len(want.keys() - have.keys())
    only_have = len(have.keys() - want.keys())
    common = want.keys() & have.keys()
    unequal = sum(1 for k in common if want[k] != have[k])
    detail = (f"{len(have)} keys vs mr's {len(want)} ({only_want} only in mr; {only_have} only in peer; "
              f"{unequal} of {len(common)} shared keys with other counts); "
              f"total {sum(have.values())} vs {sum(want.values())}")
    if semantics == "same":
        return verdict(job, tool, "differs", detail, False)
    return verdict(job, tool, "different by design", detail, True)


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
