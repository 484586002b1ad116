"""The logic of mrjob's word-frequency example (examples/mrjob/mr_word_freq_count.py)
without mrjob's process plumbing, for inputs too big for mrjob's runners:
re.findall(r"[\\w']+", line), lower(), summed. Reads files (.gz too) given on the
command line, lines decoded as mrjob does (UTF-8, newline stripped), and prints
`json(word)\\tcount` sorted by the word's JSON bytes, as `mr run word_count` does.
"""
import collections
import gzip
import json
import re
import sys

WORD_RE = re.compile(r"[\w']+")
counts = collections.Counter()
for path in sys.argv[1:]:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        for raw in f:
            line = raw.rstrip(b"\n").rstrip(b"\r").decode("utf-8")
            counts.update(w.lower() for w in WORD_RE.findall(line))
out = sorted((json.dumps(w, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), n) for w, n in counts.items())
w = sys.stdout.buffer
for k, n in out:
    w.write(k + b"\t" + str(n).encode() + b"\n")
