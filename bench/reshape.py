"""Rewrites generated bench data into shapes real inputs often have and the
generator writes rarely, for bench/run.sh's "real-world shapes" rows.

    python3 bench/reshape.py php-json OUT_DIR FILE...
    python3 bench/reshape.py cyrillic OUT_DIR FILE...
    python3 bench/reshape.py many-gz OUT_DIR FILE...

php-json  each JSON line as PHP's json_encode writes it by default (and
          Python's json.dumps, but for the slashes): every non-ASCII char a
          \\uXXXX escape, every `/` escaped as `\\/`. The same events, so every
          job's results are those of the original lines. A line that is not
          JSON (or not UTF-8) is kept as it is.
cyrillic  each Latin letter of the text mapped to a Cyrillic one (case kept):
          a stand-in for Russian prose, two bytes a letter, with capitals.
many-gz   the lines cut into files of 100 lines each, gzipped (about 12 KB
          each): logs as a shipper leaves them (hourly parts, CloudFront's
          and ELB's many small .gz files), one task per file.

Deterministic (no randomness); an output file that exists is kept.
"""
import gzip
import json
import os
import sys

LINES_PER_SMALL_FILE = 100

LATIN = "abcdefghijklmnopqrstuvwxyz"
CYRILLIC = "абцдефгхийклмнопярстужвьыз"
TO_CYRILLIC = str.maketrans(LATIN + LATIN.upper(), CYRILLIC + CYRILLIC.upper())


def php_json(line):
    try:
        line.encode("utf-8")  # bytes that are not UTF-8 are kept as they are
        event = json.loads(line)
    except ValueError:
        return line
    # A `/` occurs only inside strings in JSON text: escaping every one is
    # what json_encode does without JSON_UNESCAPED_SLASHES.
    return json.dumps(event).replace("/", "\\/") + "\n"


def main():
    if len(sys.argv) < 4 or sys.argv[1] not in ("php-json", "cyrillic", "many-gz"):
        sys.exit(__doc__)
    kind, out_dir, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    os.makedirs(out_dir, exist_ok=True)
    if kind == "many-gz":
        return many_gz(out_dir, files)
    for path in files:
        out = os.path.join(out_dir, os.path.basename(path))
        if os.path.exists(out):
            continue
        tmp = out + ".tmp"
        with open(path, encoding="utf-8", errors="surrogateescape", newline="") as src, \
                open(tmp, "w", encoding="utf-8", errors="surrogateescape", newline="") as dst:
            if kind == "php-json":
                for line in src:
                    dst.write(php_json(line))
            else:
                for line in src:
                    dst.write(line.translate(TO_CYRILLIC))
        os.replace(tmp, out)


def many_gz(out_dir, files):
    """Files of LINES_PER_SMALL_FILE lines, gzipped with no name or time in
    their headers (the same bytes every time)."""
    for f, path in enumerate(files):
        with open(path, "rb") as src:
            lines = src.readlines()
        for n, at in enumerate(range(0, len(lines), LINES_PER_SMALL_FILE)):
            out = os.path.join(out_dir, f"part-{f:02}-{n:05}.jsonl.gz")
            data = b"".join(lines[at:at + LINES_PER_SMALL_FILE])
            with open(out, "wb") as dst:
                dst.write(gzip.compress(data, compresslevel=6, mtime=0))


if __name__ == "__main__":
    main()
