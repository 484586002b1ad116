"""Top functions by self instructions in a callgrind profile, for bench/run.sh.

    callgrind_annotate --auto=no --threshold=100 FILE | python3 bench/callgrind_top.py [N]

callgrind_annotate lists `file:function` pairs (inlined code appears under
each source file it came from); this sums them per function and prints the
top N (default 14) as percentages of the program's total.
"""
import collections
import re
import sys


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 14
    total, by = 0, collections.Counter()
    for line in sys.stdin:
        m = re.match(r"\s*([0-9,]+) \(\s*[0-9.]+%\)\s+(.*)", line)
        if not m:
            continue
        ir, what = int(m.group(1).replace(",", "")), m.group(2)
        if what.startswith("PROGRAM TOTALS"):
            total = ir
            continue
        what = re.sub(r" \[[^]]*\]$", "", what)
        fn = what.split(":", 1)[1] if re.match(r"^[^ :]*:", what) else what
        by[fn] += ir
    for fn, ir in by.most_common(n):
        print(f"{100 * ir / max(total, 1):6.2f}%  {fn[:120]}")


if __name__ == "__main__":
    main()
