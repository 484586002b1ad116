"""Compares a peer's results with mr's, for bench/run.sh.

    python3 bench/check.py JOB TOOL EXPECTED:FORMAT GOT:FORMAT [SEMANTICS]

Prints one CSV line `job,tool,agreement,detail` where agreement is `exact`
(same keys, same values), `differs` or `missing`. SEMANTICS (`same` or
`different`) says whether the peer computes the same thing; for a peer that
does not (a whitespace split against [\\w']+), the detail tells how far apart
the results are rather than calling it wrong.

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


def load(spec):
    path, fmt = spec.rsplit(":", 1)
    out = collections.Counter()
    with open(path, "rb") as f:
        for raw in f:
            # Binary: only \n ends a line (a \r inside an awk word stays).
            line = raw.rstrip(b"\n").decode("utf-8", "surrogateescape")
            if not line:
                continue
            if fmt == "lines":
                out[line] += 1
                continue
            if fmt == "uniq":
                count, rest = line.strip().split(" ", 1)
                key = rest.split(":", 1)[1].strip()
                out[json.loads(key)] += int(count)
                continue
            key, value = line.rsplit("\t", 1)
            if fmt == "mr":
                key = json.loads(key)
            out[key] += int(value)
    return out


def main():
    job, tool, expected, got = sys.argv[1:5]
    semantics = sys.argv[5] if len(sys.argv) > 5 else "same"
    try:
        want, have = load(expected), load(got)
    except FileNotFoundError as e:
        print(f"{job},{tool},missing,{e.filename} not found")
        return
    if want == have:
        detail = f"{len(want)} keys; total {sum(want.values())}"
        print(f"{job},{tool},exact,{detail}")
        return
    only_want = len(want.keys() - have.keys())
    only_have = len(have.keys() - want.keys())
    common = want.keys() & have.keys()
    unequal = sum(1 for k in common if want[k] != have[k])
    detail = (f"{len(have)} keys vs mr's {len(want)} ({only_want} only in mr; {only_have} only in peer; "
              f"{unequal} of {len(common)} shared keys with other counts); "
              f"total {sum(have.values())} vs {sum(want.values())}")
    verdict = "differs" if semantics == "same" else "different by design"
    print(f"{job},{tool},{verdict},{detail.replace(',', ';')}")


if __name__ == "__main__":
    main()
