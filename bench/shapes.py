#!/usr/bin/env python3
"""mr url_views against ClickHouse (chdb) on 24 real-world NDJSON log shapes
(Python's json.dumps styles, edX tracking logs, metrics, number arrays, long
nested or short lines, long or non-ASCII keys, page_url first/last/absent, PHP,
CRLF, BOM, trailing whitespace, Go zap, JS pino, Java logstash, ...): how far
mr's speed and its ratio to ClickHouse move from bench/run.sh's clicklog when
other loggers write the lines, and whether mr's answer stays right on each.

    python3 bench/shapes.py [--rounds N] [--mb MB] [--keep] [SHAPE ...]
    python3 bench/shapes.py --list

    --rounds N  timed rounds per shape                                       [3]
    --mb MB     data per shape, in 10^6 bytes (rounded to whole pools)     [200]
    --keep      keep each shape's data in bench/data/shapes/SHAPE (and its
                reference, SHAPE.ref.json) and reuse it on later runs
    SHAPE       shapes to run, in that order                  [all, --list order]

Needs target/release/mr (cargo build --release -p mr-cli) and chdb (pip install
-r bench/requirements.txt). About a minute a shape at 200 MB and 3 rounds.

A shape's data is 3 files, each a pool of ~24 MB of distinct lines from a
generator seeded with the shape's name (the same bytes every run), repeated to
the size asked. The reference, independent of mr, is json.loads on every pool
line, counting the string page_url of top-level objects. mr's output must equal
it; ClickHouse's is checked too (a peer skipping work would flatter the ratio).
Each round then runs mr, ClickHouse (bench/peers.py chdb url_views) and its
startup alone (import, one-row query) back to back, in an order rotated from
round to round; a round's ratio is mr ÷ (ClickHouse - startup), wall seconds
(inf if ClickHouse - startup <= 0, as can happen on small data).
CPU is the user + system seconds of mr's process. mr and ClickHouse get the
same threads: BENCH_THREADS (default: the cores this process may use, as
`nproc`), mr's -j and ClickHouse's max_threads, as in bench/run.sh.

Prints one line per shape as it finishes, then a Markdown table of medians
(also written to bench/data/shapes/results.md). Exits 1 if mr's output differs
from the reference on any shape, naming the shape and a few differing keys.
"""
import argparse
import collections
import importlib.util
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MR = os.path.join(ROOT, "target", "release", "mr")
PEERS = os.path.join(ROOT, "bench", "peers.py")
DATA = os.path.join(ROOT, "bench", "data", "shapes")
# One thread count for mr (-j) and ClickHouse (bench/peers.py reads it).
from peers import THREADS  # noqa: E402 (bench/ is this script's directory)
os.environ["BENCH_THREADS"] = str(THREADS)

SEED = 20240601
NFILES = 3

# ---------------------------------------------------------------- the shapes

UAS = [
    "Mozilla/5.0 (Linux; U; Android 4.1.2; ru-ru; GT-I9300 Build/JZO54K) AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; Trident/6.0)",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "curl/8.4.0",
]
LANGS = ["en-US,en;q=0.8", "es-ES,es;q=0.8,en;q=0.6", "ja,en-US;q=0.7,en;q=0.3", "de-DE,de;q=0.8,en;q=0.6"]
CLIENTS = ["spark", "mobile-ios", "mobile-android", "web"]
NONASCII_WORDS = ["Москва", "Привет", "日本語", "東京都", "検索", "中文", "北京", "Ünïcödé", "café", "naïve",
                  "Ελληνικά", "עברית", "العربية", "한국어", "Straße", "Größe", "ñandú", "façade", "русский", "текст"]
NONASCII_KEYS = ["名前", "größe", "ciudad_año", "prénom", "город", "время", "データ", "état"]
LONG_KEYS = ["http_request_user_agent_string", "client_session_identifier", "upstream_response_time_ms",
             "request_header_accept_language", "geoip_country_iso_code", "x_forwarded_for_chain",
             "tls_negotiated_cipher_suite", "cloudfront_edge_location_id", "application_build_version",
             "authenticated_principal_name", "content_security_policy_report", "downstream_cache_status"]


def url(r):
    c, k = r.randrange(40), r.random()
    if k < 0.5:
        return f"https://class.mooc-platform.org/course-{c:03d}/lecture/view?lecture_id={r.randrange(60)}"
    if k < 0.8:
        return f"https://class.mooc-platform.org/course-{c:03d}/{r.choice(['grades', 'forum/list', 'wiki', 'quiz/start'])}"
    return f"https://www.example.com/shop/item/{r.randrange(2000)}?ref=home&utm_source=news&utm_medium=email"


def hexs(r, n):
    return "%0*x" % (n, r.getrandbits(4 * n))


def ip(r):
    return ".".join(str(r.randrange(256)) for _ in range(4))


def words(r, n):
    return " ".join(r.choice(NONASCII_WORDS) for _ in range(n))


def date(r, year):
    return f"{year}-{r.randrange(1, 13):02d}-{r.randrange(1, 29):02d}T{r.randrange(24):02d}:{r.randrange(60):02d}:{r.randrange(60):02d}"


def clicklog(r, url_pos="mid", with_url=True):
    """A line like mr gen's clicklog, with page_url where asked."""
    ts = 1370044801621 + r.randrange(10**9)
    fields = [
        ("key", r.choice(["pageview", "pageview", "user.video.lecture.action"])),
        ("value", "{}" if r.random() < .6 else json.dumps({"currentTime": r.randrange(600), "playbackRate": 1, "paused": False, "type": "play", "prevTime": 0}, separators=(",", ":"))),
        ("username", hexs(r, 36)), ("timestamp", ts),
        ("client", r.choice(CLIENTS)), ("session", f"{r.randrange(10**8):08d}-{ts}"), ("language", r.choice(LANGS)),
        ("from", r.choice(["https://www.google.com/", "https://t.co/Xk2Pq9", "https://www.mooc-platform.org/courses"])),
        ("user_ip", ip(r)), ("user_agent", r.choice(UAS)),
        ("12", [json.dumps({"height": r.randrange(400, 1400), "width": r.randrange(400, 1900)}, separators=(",", ":"))]),
        ("13", [r.randrange(2)]),
    ]
    if with_url:
        fields.insert({"first": 0, "mid": 4, "last": len(fields)}[url_pos], ("page_url", url(r)))
    return dict(fields)


def nonascii_rec(r, url_nonascii=False):
    d = clicklog(r)
    d["title"] = words(r, r.randrange(3, 8))
    d["search_query"] = words(r, r.randrange(1, 4))
    d["display_name"] = r.choice(["José Müller", "Zoë Ångström", "Дмитрий Иванов", "山田太郎", "Łukasz Żółć"])
    d["city"] = r.choice(["Zürich", "São Paulo", "Москва", "東京", "Kraków", "Montréal"])
    if url_nonascii:
        d["page_url"] = "https://ru.wikipedia.org/wiki/" + r.choice(NONASCII_WORDS) + f"_{r.randrange(200)}"
    return d


def edx(r):
    ts = f"{date(r, 2014)}.{r.randrange(10**6):06d}+00:00"
    course = f"MITx/6.00x/2014_T{r.randrange(1, 4)}"
    ev = {"id": f"i4x-MITx-6_00x-video-{hexs(r, 32)}", "currentTime": round(r.random() * 900, 3),
          "code": hexs(r, 11), "speed": "1.0"}
    return {
        "username": "user" + str(r.randrange(10**6)),
        "event_type": r.choice(["play_video", "pause_video", "problem_check", "/courses/" + course + "/courseware/"]),
        "ip": ip(r), "agent": r.choice(UAS), "host": "courses.edx.org",
        "referer": "https://courses.edx.org/courses/" + course + "/courseware/week_" + str(r.randrange(12)) + "/",
        "accept_language": r.choice(LANGS), "event": json.dumps(ev), "event_source": r.choice(["browser", "server"]),
        "context": {"user_id": r.randrange(10**7), "org_id": "MITx", "course_id": course,
                    "path": "/event", "course_user_tags": {}, "module": {"display_name": "Lecture " + str(r.randrange(30)), "usage_key": "block-v1:MITx+6.00x+2014_T1+type@video+block@" + hexs(r, 32)},
                    "enrollment_mode": r.choice(["audit", "verified", None]), "is_staff": r.random() < .01,
                    "client_time": r.random() * 1e9},
        "time": ts, "page_url": url(r), "page": None if r.random() < .3 else "https://courses.edx.org/courses/" + course + "/info",
        "session": hexs(r, 32),
        "score": round(r.random(), 6), "max_grade": r.randrange(10), "attempts": r.randrange(5),
        "success": r.choice([True, False, None]), "grade": r.random() * 10,
    }


def metrics(r):
    d = {"host": f"web-{r.randrange(64):03d}.prod", "ts": 1700000000 + r.randrange(10**7)}
    names = ["cpu_user", "cpu_sys", "cpu_idle", "load1", "load5", "load15", "mem_used", "mem_free", "swap",
             "disk_read_bytes", "disk_write_bytes", "net_rx", "net_tx", "req_rate", "err_rate", "p50", "p90",
             "p99", "p999", "gc_pause", "heap", "threads", "fds", "conns", "queue", "latency_avg"]
    for k, n in enumerate(names):
        d[n] = r.random() * 10 ** r.randrange(0, 7) if k % 2 else r.randrange(10 ** r.randrange(1, 12))
        if k == 13:
            d["page_url"] = url(r)
    for k in range(20):
        d[f"m{k}"] = round(r.gauss(0, 1000), r.randrange(0, 6)) if k % 3 else -r.randrange(10**6)
    d["ok"] = r.random() < .9
    d["note"] = None
    return d


def num_arrays(r):
    return {"device": hexs(r, 16), "ts": 1700000000 + r.randrange(10**7), "page_url": url(r),
            "samples": [r.random() * 100 for _ in range(r.randrange(100, 300))],
            "counts": [r.randrange(10**6) for _ in range(r.randrange(100, 300))],
            "matrix": [[r.randrange(-50, 50) for _ in range(8)] for _ in range(8)],
            "ok": True}


def payload(r, depth=0):
    k = r.random()
    if depth > 3 or k < 0.35:
        return r.choice([r.randrange(10**9), r.random() * 1000, True, False, None, "item-" + hexs(r, 8),
                         "Lorem ipsum dolor sit amet, consectetur adipiscing elit " + str(r.randrange(1000))])
    if k < 0.65:
        return [payload(r, depth + 1) for _ in range(r.randrange(2, 12))]
    return {f"field_{j}": payload(r, depth + 1) for j in range(r.randrange(2, 10))}


def long_nested(r):
    d = clicklog(r)
    target = r.randrange(10_000, 100_000)
    items, n = [], 0
    while n < target:
        it = {"id": r.randrange(10**9), "sku": hexs(r, 12), "name": "Product " + str(r.randrange(10**4)),
              "price": round(r.random() * 500, 2), "tags": ["a", "bb", "ccc"][: r.randrange(4)],
              "attrs": payload(r, 1), "in_stock": r.random() < .5}
        n += len(json.dumps(it)) + 2
        items.append(it)
    d["payload"] = {"cart": {"items": items, "currency": "EUR"}, "experiment": payload(r)}
    d["done"] = True
    return d


def short(r):
    return {"page_url": f"/c/{r.randrange(40)}/l/{r.randrange(60)}", "ts": 1370044801 + r.randrange(10**7), "u": r.randrange(10**5)}


def long_keys(r):
    d = clicklog(r)
    for k in LONG_KEYS:
        d[k] = r.choice(["HIT", "MISS", "TLS_AES_128_GCM_SHA256", "FRA56-C1", "alice@example.com", ip(r)]) if r.random() < .7 else r.randrange(10**6)
    return d


def nonascii_keys(r):
    d = clicklog(r)
    for k in NONASCII_KEYS:
        d[k] = r.choice(["Zürich", "abc", "Москва", "x" * 10]) if r.random() < .7 else r.randrange(1000)
    return d


def go_rec(r):
    ns = r.randrange(10**9)
    t = f"{date(r, 2024)}.{ns:09d}Z".rstrip("0")
    d = {"level": r.choice(["info", "debug", "warn"]), "ts": t, "caller": "server/handler.go:" + str(r.randrange(400)),
         "msg": "request served", "method": r.choice(["GET", "POST"]), "page_url": url(r),
         "status": r.choice([200, 200, 304, 404, 500]), "latencyMs": round(r.random() * 200, 3),
         "bytesOut": r.randrange(10**6), "remoteAddr": ip(r) + ":" + str(r.randrange(1024, 65535)),
         "userAgent": r.choice(UAS), "requestId": hexs(r, 32), "traceId": hexs(r, 32), "spanId": hexs(r, 16),
         "tags": {"env": "prod", "region": "eu-west-1", "canary": r.random() < .05}}
    s = json.dumps(d, separators=(",", ":"), ensure_ascii=False)
    # Go's encoding/json escapes <, >, & (HTML-safe) by default.
    return s.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def js_rec(r):
    t = f"{date(r, 2024)}.{r.randrange(1000):03d}Z"
    d = {"timestamp": t, "level": 30, "pid": r.randrange(50000), "hostname": "api-" + hexs(r, 6),
         "reqId": "req-" + str(r.randrange(10**6)), "req": {"method": "GET", "url": "/api/v1/items?id=" + str(r.randrange(10**5)),
         "headers": {"host": "api.example.com", "userAgent": r.choice(UAS), "acceptLanguage": r.choice(LANGS)},
         "remoteAddress": ip(r), "remotePort": r.randrange(65535)}, "page_url": url(r),
         "res": {"statusCode": 200, "contentLength": r.randrange(10**5)}, "responseTime": r.random() * 80,
         "msg": r.choice(["request completed", "Requête terminée", "リクエスト完了"])}
    return json.dumps(d, separators=(",", ":"), ensure_ascii=False)


def jackson_rec(r):
    t = f"{date(r, 2024)}.{r.randrange(1000):03d}+02:00"
    d = {"@timestamp": t, "@version": "1", "message": "GET " + url(r) + " took " + str(r.randrange(900)) + " ms",
         "logger_name": r.choice(["com.example.web.RequestLoggingFilter", "org.springframework.web.servlet.DispatcherServlet"]),
         "thread_name": "http-nio-8080-exec-" + str(r.randrange(200)), "level": r.choice(["INFO", "WARN", "ERROR"]),
         "level_value": 20000, "page_url": url(r), "userId": r.randrange(10**6), "durationMs": r.randrange(900),
         "traceId": hexs(r, 32)}
    if r.random() < .2:
        d["stack_trace"] = "java.lang.IllegalStateException: boom\n" + "".join(
            f"\tat com.example.service.Handler{j}.handle(Handler{j}.java:{r.randrange(500)})\n" for j in range(r.randrange(10, 40)))
    # Jackson escapes only " \ and control chars; compact separators.
    return json.dumps(d, separators=(",", ":"), ensure_ascii=False)


def php_rec(r):
    # PHP json_encode default: compact, escapes / as \/ and non-ASCII as \uXXXX.
    return json.dumps(nonascii_rec(r), separators=(",", ":"), ensure_ascii=True).replace("/", "\\/")


def pretty_inline(r):
    s = json.dumps(edx(r), separators=(", ", " : "))
    return "{ " + s[1:-1] + " }"


# name: (line generator, options, what it is). Options: pool_mb (size of the
# pool of distinct lines, 24), eol ("\n"), bom (a BOM at the start of each file).
SHAPES = {
    "py_default": (lambda r: json.dumps(clicklog(r)), {}, "clicklog, Python json.dumps defaults"),
    "py_compact": (lambda r: json.dumps(clicklog(r), separators=(",", ":")), {}, "clicklog, compact separators"),
    "py_ascii_nonascii": (lambda r: json.dumps(nonascii_rec(r)), {}, "non-ASCII values as \\uXXXX"),
    "py_utf8_nonascii": (lambda r: json.dumps(nonascii_rec(r), ensure_ascii=False), {}, "non-ASCII values as UTF-8"),
    "py_ascii_nonascii_url": (lambda r: json.dumps(nonascii_rec(r, True)), {}, "\\uXXXX inside page_url"),
    "edx": (lambda r: json.dumps(edx(r)), {}, "edX tracking log"),
    "metrics": (lambda r: json.dumps(metrics(r)), {}, "metrics, mostly numbers"),
    "num_arrays": (lambda r: json.dumps(num_arrays(r)), {}, "long arrays of numbers"),
    "long_nested": (lambda r: json.dumps(long_nested(r)), {"pool_mb": 32}, "10-100 KB nested lines"),
    "short": (lambda r: json.dumps(short(r)), {}, "56-byte lines, 3 fields"),
    "long_keys": (lambda r: json.dumps(long_keys(r)), {}, "clicklog + 12 long keys"),
    "nonascii_keys_utf8": (lambda r: json.dumps(nonascii_keys(r), ensure_ascii=False), {}, "non-ASCII keys as UTF-8"),
    "nonascii_keys_escaped": (lambda r: json.dumps(nonascii_keys(r)), {}, "non-ASCII keys as \\uXXXX"),
    "url_first": (lambda r: json.dumps(clicklog(r, "first")), {}, "page_url first field"),
    "url_last": (lambda r: json.dumps(clicklog(r, "last")), {}, "page_url last field"),
    "url_absent": (lambda r: json.dumps(clicklog(r, with_url=False)), {}, "no page_url"),
    "php_escaped": (php_rec, {}, "PHP json_encode: \\/ and \\uXXXX"),
    "crlf": (lambda r: json.dumps(clicklog(r)), {"eol": "\r\n"}, "CRLF line ends"),
    "bom": (lambda r: json.dumps(clicklog(r)), {"bom": True}, "UTF-8 BOM at file start"),
    "trailing_ws": (lambda r: json.dumps(clicklog(r)) + r.choice(["  ", " ", " \t", "   "]), {}, "trailing spaces and tabs"),
    "go_zap": (go_rec, {}, "Go zap, \\u0026 escapes"),
    "js_pino": (js_rec, {}, "JS pino, nested objects"),
    "java_logstash": (jackson_rec, {}, "Java logstash, stack traces"),
    "pretty_inline": (pretty_inline, {}, "edX, `{ \"k\" : v }` spacing"),
}


def reference(lines, bom):
    """Each line's string page_url (top-level object) or None, by json.loads."""
    out = []
    for j, s in enumerate(lines):
        v = json.loads(s.lstrip("\ufeff") if bom and j == 0 else s)
        u = v.get("page_url") if isinstance(v, dict) else None
        out.append(u if isinstance(u, str) else None)
    return out


def generate(shape, mb, outdir):
    """Writes outdir/part-0000{0,1,2}.jsonl; returns the reference: bytes,
    avg_line (bytes, line end included) and counts (page_url -> count)."""
    fn, opt, _ = SHAPES[shape]
    r = random.Random(f"{SEED}-{shape}")
    eol = opt.get("eol", "\n")
    pool, n = [], 0
    while n < opt.get("pool_mb", 24) * 1e6:
        line = fn(r)
        pool.append(line)
        n += len(line.encode()) + len(eol)
    os.makedirs(outdir)
    plain = (eol.join(pool) + eol).encode()
    urls_plain = reference(pool, False)
    per_pool = collections.Counter(u for u in urls_plain if u is not None)
    counts, total = collections.Counter(), 0
    for f in range(NFILES):
        lines, urls = pool, urls_plain
        if opt.get("bom"):  # the BOM only at the file's start: in its first copy of the pool
            lines = ["\ufeff" + pool[0]] + pool[1:]
            urls = reference(lines, True)
        blob = (eol.join(lines) + eol).encode()
        reps = max(1, round(mb * 1e6 / NFILES / len(blob)))
        with open(os.path.join(outdir, f"part-{f:05d}.jsonl"), "wb") as fh:
            fh.write(blob)
            for _ in range(reps - 1):
                fh.write(plain)
        total += len(blob) + len(plain) * (reps - 1)
        counts.update(u for u in urls if u is not None)
        counts.update({u: c * (reps - 1) for u, c in per_pool.items()})
    return {"mb": mb, "bytes": total, "avg_line": n / len(pool), "counts": counts}


def prepare(shape, mb, keep):
    """The shape's data directory and reference, generated unless kept from an earlier run."""
    d = os.path.join(DATA, shape)
    ref_path = d + ".ref.json"
    ref = json.load(open(ref_path)) if keep and os.path.isdir(d) and os.path.exists(ref_path) else {}
    if ref.get("mb") == mb:
        return d, dict(ref, counts=collections.Counter(ref["counts"]))
    shutil.rmtree(d, ignore_errors=True)
    shutil.rmtree(d + ".tmp", ignore_errors=True)
    ref = generate(shape, mb, d + ".tmp")
    os.rename(d + ".tmp", d)  # an interrupted run leaves no partial data set to reuse
    if keep:
        with open(ref_path, "w") as fh:
            json.dump(ref, fh)
    return d, ref


# ---------------------------------------------------------------- running

def timed(cmd, stdout=subprocess.DEVNULL):
    """Wall and CPU (user + system) seconds of cmd; exits if it fails."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    p = subprocess.run(cmd, stdout=stdout, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode:
        sys.exit(f"bench/shapes.py: failed ({p.returncode}): {' '.join(cmd[:4])} ...\n"
                 f"{p.stderr.decode(errors='replace')[-2000:]}")
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def data_files(d):
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".jsonl"))


def load_counts(path, json_keys):
    """key TAB count lines (mr's key is JSON, ClickHouse's raw) as a Counter."""
    got = collections.Counter()
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            k, _, v = line.rstrip("\n").rpartition("\t")
            got[json.loads(k) if json_keys else k] += int(v)
    return got


def differing(got, want, n=3):
    keys = sorted(k for k in set(got) | set(want) if got[k] != want[k])
    return len(keys), [f"{k!r}: got {got[k]}, want {want[k]}" for k in keys[:n]]


def check(d, ref):
    """mr's and ClickHouse's outputs against the reference: (mr diff, ClickHouse note)."""
    out = d + ".out"
    with open(out, "wb") as fh:
        timed([MR, "run", "url_views", "-q", "-j", str(THREADS), "-i", d], stdout=fh)
    n, keys = differing(load_counts(out, True), ref["counts"])
    timed([sys.executable, PEERS, "chdb", "url_views", out] + data_files(d))
    ch = load_counts(out, False)
    os.remove(out)
    want = ref["counts"]
    ch_note = "" if ch == want else (f"ClickHouse differs: {differing(ch, want)[0]} keys, "
                                     f"total {sum(ch.values())} vs {sum(want.values())}")
    return (n, keys), ch_note


def run_shape(shape, mb, rounds, keep):
    d, ref = prepare(shape, mb, keep)
    (ndiff, diff_keys), ch_note = check(d, ref)
    cmds = {"mr": [MR, "run", "url_views", "-q", "-j", str(THREADS), "-i", d],
            "ch": [sys.executable, PEERS, "chdb", "url_views", "/dev/null"] + data_files(d),
            "startup": [sys.executable, PEERS, "chdb", "startup"]}
    order, walls, cpus, ratios = list(cmds), [], [], []
    for k in range(rounds):
        t = {name: timed(cmds[name]) for name in order[k % 3:] + order[:k % 3]}  # order rotated
        walls.append(t["mr"][0])
        cpus.append(t["mr"][1])
        work = t["ch"][0] - t["startup"][0]  # <= 0: ClickHouse's work lost in its startup's noise
        ratios.append(t["mr"][0] / work if work > 0 else float("inf"))
    if not keep:
        shutil.rmtree(d)
        if os.path.exists(d + ".ref.json"):  # from an earlier --keep run
            os.remove(d + ".ref.json")
    size = ref["bytes"] / 1e6
    return {"shape": shape, "what": SHAPES[shape][2], "mb": size, "avg_line": ref["avg_line"],
            "mbps": statistics.median(size / w for w in walls),
            "cpu_gb": statistics.median(c / (size / 1e3) for c in cpus),
            "ratio": statistics.median(ratios), "lo": min(ratios), "hi": max(ratios),
            "ok": ndiff == 0, "ndiff": ndiff, "diff": diff_keys, "ch_note": ch_note,
            "equal": ("yes" if ndiff == 0 else f"**no** ({ndiff} keys)") + ("; " + ch_note if ch_note else "")}


def table(rows, rounds):
    out = [f"mr url_views vs ClickHouse (chdb), {THREADS} threads each, {rounds} round(s) a shape; medians. "
           "ratio = mr ÷ (ClickHouse − startup), wall seconds.", "",
           "| shape | what it is | MB | avg line bytes | mr MB/s (median) | mr CPU s/GB (median) "
           "| ratio mr ÷ (ClickHouse − startup): median (range) | output equal to reference |",
           "|---|---|--:|--:|--:|--:|---|---|"]
    for r in rows:
        out.append(f"| {r['shape']} | {r['what'].replace('|', '/')} | {r['mb']:.0f} | {r['avg_line']:.0f} "
                   f"| {r['mbps']:.0f} | {r['cpu_gb']:.2f} | {r['ratio']:.2f} ({r['lo']:.2f}–{r['hi']:.2f}) "
                   f"| {r['equal']} |")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description="mr url_views vs ClickHouse on real-world NDJSON shapes.")
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds per shape [3]")
    ap.add_argument("--mb", type=float, default=200, help="data per shape, 10^6 bytes [200]")
    ap.add_argument("--keep", action="store_true", help="keep (and reuse) each shape's data")
    ap.add_argument("--list", action="store_true", help="list the shapes and exit")
    ap.add_argument("shapes", nargs="*", metavar="SHAPE", help="shapes to run [all]")
    a = ap.parse_args()
    if a.list:
        for name, (_, _, what) in SHAPES.items():
            print(f"{name:24s} {what}")
        return 0
    unknown = [s for s in a.shapes if s not in SHAPES]
    if unknown or a.rounds < 1 or a.mb <= 0:
        ap.error(f"unknown shape(s) {' '.join(unknown)} (see --list)" if unknown else "--rounds and --mb must be > 0")
    if not os.access(MR, os.X_OK):
        sys.exit(f"bench/shapes.py: {MR} missing: cargo build --release -p mr-cli")
    if importlib.util.find_spec("chdb") is None:
        sys.exit("bench/shapes.py: needs chdb (pip install -r bench/requirements.txt)")
    os.makedirs(DATA, exist_ok=True)
    rows = []
    for shape in a.shapes or list(SHAPES):
        t0 = time.perf_counter()
        r = run_shape(shape, a.mb, a.rounds, a.keep)
        rows.append(r)
        print(f"{shape:22s} {r['mb']:4.0f} MB {r['avg_line']:6.0f} B/line  mr {r['mbps']:5.0f} MB/s "
              f"{r['cpu_gb']:5.2f} CPU s/GB  ratio {r['ratio']:.2f} ({r['lo']:.2f}-{r['hi']:.2f})  "
              f"{'equal' if r['ok'] else 'DIFFERS'}{'  ' + r['ch_note'] if r['ch_note'] else ''}"
              f"  [{time.perf_counter() - t0:.0f} s, load {os.getloadavg()[0]:.1f}]", flush=True)
        for k in r["diff"]:
            print(f"    {k}", flush=True)
        with open(os.path.join(DATA, "results.md"), "w") as fh:  # rewritten as it goes
            fh.write(table(rows, a.rounds))
    print()
    print(table(rows, a.rounds), end="")
    bad = [r for r in rows if not r["ok"]]
    for r in bad:
        print(f"bench/shapes.py: {r['shape']}: mr's output differs from the json.loads reference "
              f"on {r['ndiff']} keys, e.g. {'; '.join(r['diff'])}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
