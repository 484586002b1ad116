//! `--report FILE.html`: the run's report as one self-contained page (no
//! network: CSS, SVG and a few lines of script inline). It shows the
//! totals, the phases, a timeline of tasks per worker thread for each phase
//! (as Spark's event timeline), partition sizes, the heaviest keys (skew),
//! spills, the counters and the settings; or the error of a failed run.
//!
//! Everything is rendered here, from the report's JSON document, and every
//! string that comes from the data (keys, paths, counter names, the error)
//! goes through [`html_escape`]. The page's script only adds hover details
//! and writes a self-check (`#check`: task bars drawn, script errors) that
//! the tests read in headless Chromium.

use crate::cmd::summary::thousands;
use mr_core::runner::progress::human_bytes;
use serde_json::Value;
use std::fmt::Write as _;

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attribute values,
/// and writes control characters and the marks that reorder text on screen
/// (a right-to-left override would show `moc.elgoog` as `google.com`) as
/// visible escapes, as the terminal's messages do.
///
/// ```
/// use mr_cli::cmd::report_html::html_escape;
/// assert_eq!(html_escape("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
/// assert_eq!(html_escape("\u{202e}exe.kcatta"), "\\u{202e}exe.kcatta");
/// ```
pub fn html_escape(s: &str) -> String {
    escape_text(&mr_core::error::printable_line(s))
}

/// [`html_escape`] for a message of several lines shown as it is
/// (`white-space: pre-wrap`): newlines kept.
///
/// ```
/// use mr_cli::cmd::report_html::html_escape_lines;
/// assert_eq!(html_escape_lines("a <b>\n  c\u{1b}"), "a &lt;b&gt;\n  c\\u{1b}");
/// ```
pub fn html_escape_lines(s: &str) -> String {
    escape_text(&mr_core::error::printable(s))
}

/// HTML's five characters escaped.
fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:20px 28px 40px}
h1{font-size:22px;margin:8px 0 2px}h2{font-size:16px;margin:28px 0 8px;border-bottom:1px solid #dde1e7;padding-bottom:4px}
.sub{color:#5b6472;margin-bottom:12px}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:8px 14px;min-width:120px}
.card b{display:block;font-size:18px}.card span{color:#5b6472;font-size:12px}
table{border-collapse:collapse;background:#fff;border:1px solid #dde1e7}
td,th{padding:3px 10px;border-bottom:1px solid #eef0f3;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
code{font:12px ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
.err{background:#fdecec;border:1px solid #e5a5a5;color:#8a1f1f;padding:10px 14px;border-radius:6px;white-space:pre-wrap}
.ok{color:#1c7c3c}.bad{color:#b42318}
svg{background:#fff;border:1px solid #dde1e7;border-radius:4px}
svg text{font:11px system-ui,sans-serif;fill:#5b6472}
rect.task{stroke:#fff;stroke-width:.5}rect.task:hover{stroke:#1d2330;stroke-width:1.5}
.map{fill:#4c78a8}.merge{fill:#b8860b}.reduce{fill:#f58518}.bar{fill:#72b7b2}
.legend{margin-bottom:6px}.legend i{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px;border-radius:2px}
#tip{position:fixed;pointer-events:none;background:#1d2330;color:#fff;padding:4px 8px;border-radius:4px;font-size:12px;display:none;max-width:420px}
.muted{color:#5b6472;font-size:12px}
"#;

/// The page's script: hover details, and a self-check the tests read.
const SCRIPT: &str = r#"
(function(){
  var errors=[];
  window.addEventListener('error',function(e){errors.push(String(e.message))});
  function check(){
    var c=document.getElementById('check');
    var bars=document.querySelectorAll('rect.task').length;
    c.setAttribute('data-bars',String(bars));
    c.setAttribute('data-tasks',c.getAttribute('data-expected'));
    c.setAttribute('data-errors',String(errors.length));
    c.setAttribute('data-ok',String(errors.length===0&&String(bars)===c.getAttribute('data-expected')));
    c.textContent='self-check: '+bars+' task bars for '+c.getAttribute('data-expected')+' tasks, '+errors.length+' script errors';
  }
  var tip=document.getElementById('tip');
  document.querySelectorAll('rect.task,rect.bar').forEach(function(r){
    var t=r.querySelector('title');if(!t)return;
    r.addEventListener('mousemove',function(e){tip.textContent=t.textContent;tip.style.display='block';
      tip.style.left=(e.clientX+12)+'px';tip.style.top=(e.clientY+12)+'px'});
    r.addEventListener('mouseleave',function(){tip.style.display='none'});
  });
  check();
})();
"#;

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

fn count(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => html_escape(s),
        Value::Null => String::new(),
        other => html_escape(&other.to_string()),
    }
}

/// Renders the report document (see [`crate::cmd::report::document`]).
pub fn render(doc: &Value) -> String {
    let mut h = String::new();
    let job = text(&doc["job"]);
    let ok = doc["ok"].as_bool().unwrap_or(false);
    let stopped = doc["stopped"].as_str();
    let tasks = doc["tasks"].as_array().cloned().unwrap_or_default();
    let _ = writeln!(
        h,
        "<html lang=en><head><meta charset=utf-8>\
         <meta name=viewport content=\"width=device-width,initial-scale=1\">\
         <title>mr report: {job}</title><style>{CSS}</style></head><body><main>"
    );
    let _ = writeln!(
        h,
        "<h1>{job} <span class={}>{}</span></h1><div class=sub>{:.2} s wall time{}</div>",
        if ok { "ok" } else { "bad" },
        match (ok, stopped) {
            (true, Some(_)) => "stopped early",
            (true, None) => "finished",
            (false, _) => "failed",
        },
        num(&doc["elapsed_secs"]),
        match doc["output_dir"].as_str() {
            Some(d) => format!(" · output in <code>{}</code>", html_escape(d)),
            None => String::new(),
        }
    );
    if let Some(err) = doc["error"].as_str() {
        let _ = writeln!(h, "<div class=err>{}</div>", html_escape_lines(err));
    }
    if let Some(note) = stopped {
        let _ = writeln!(h, "<p>{}</p>", html_escape(note));
    }
    if ok && stopped.is_none() {
        totals(&mut h, doc);
        phases(&mut h, doc);
        timeline(&mut h, doc, &tasks);
        partitions(&mut h, doc);
        heavy_keys(&mut h, doc);
        counters(&mut h, doc);
    }
    settings(&mut h, doc);
    let _ = writeln!(
        h,
        "<p id=check class=muted data-expected={}></p><div id=tip></div>\
         <p class=muted>Written by mr. This page loads nothing from the network.</p>\
         </main><script>{SCRIPT}</script></body></html>",
        tasks.len()
    );
    // A finished run's report names its output in a mark, by which a later
    // `--overwrite` of that output knows it for mr's and replaces it with
    // the output (mr_core::output::commit::is_report_of).
    let head = match doc["output_dir"].as_str() {
        Some(out) if ok && stopped.is_none() => {
            mr_core::output::commit::html_report_mark(out, h.as_bytes())
        }
        _ => "<!doctype html>\n".to_string(),
    };
    head + &h
}

fn totals(h: &mut String, doc: &Value) {
    let t = &doc["totals"];
    let secs = num(&doc["elapsed_secs"]).max(1e-9);
    let cards = [
        (human_bytes(count(&t["input_bytes"])), "input"),
        (thousands(count(&t["input_records"])), "records in"),
        (thousands(count(&t["output_records"])), "records out"),
        (
            format!("{:.1} MB/s", count(&t["input_bytes"]) as f64 / 1e6 / secs),
            "throughput",
        ),
        // Null where not known (a cluster's own), as peak memory.
        (t["spills"].as_u64().map_or("?".into(), thousands), "spills"),
        (
            t["peak_memory_bytes"]
                .as_u64()
                .map_or("?".into(), human_bytes),
            "peak memory",
        ),
        (thousands(count(&doc["skipped_records"])), "skipped records"),
    ];
    h.push_str("<h2>Totals</h2><div class=cards>");
    for (v, label) in cards {
        let _ = write!(h, "<div class=card><b>{v}</b><span>{label}</span></div>");
    }
    h.push_str("</div>\n");
}

fn phases(h: &mut String, doc: &Value) {
    let Some(phases) = doc["phases"].as_array() else {
        return;
    };
    let spills = doc["spills_per_step"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    h.push_str(
        "<h2>Phases</h2><table><tr><th>step</th><th>phase</th><th class=n>wall time</th></tr>",
    );
    for p in phases {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=n>{:.3} s</td></tr>",
            count(&p["step"]),
            text(&p["phase"]),
            num(&p["secs"])
        );
    }
    h.push_str("</table>");
    let per_step: Vec<String> = spills
        .iter()
        .enumerate()
        .map(|(i, s)| format!("step {i}: {}", count(s)))
        .collect();
    let _ = writeln!(
        h,
        "<p class=muted>Sort-buffer spills ({}). Merge and reduce run in the same \
         reduce tasks; their wall time is shared out by the tasks' time in each.</p>",
        per_step.join(", ")
    );
}

/// The event timeline: one row per (step, phase, worker thread), one bar per
/// task; a reduce task's merging part is drawn darker.
fn timeline(h: &mut String, doc: &Value, tasks: &[Value]) {
    if tasks.is_empty() {
        return;
    }
    let total = tasks
        .iter()
        .map(|t| num(&t["end"]))
        .fold(num(&doc["elapsed_secs"]), f64::max)
        .max(1e-6);
    let mut rows: Vec<(u64, String, u64)> = tasks
        .iter()
        .map(|t| {
            (
                count(&t["step"]),
                t["phase"].as_str().unwrap_or("").to_string(),
                count(&t["thread"]),
            )
        })
        .collect();
    rows.sort_by_key(|r| (r.0, r.1 != "map", r.2));
    rows.dedup();
    let (left, width, row_h) = (150.0, 900.0, 18.0);
    let height = rows.len() as f64 * row_h + 30.0;
    h.push_str(
        "<h2>Timeline</h2><div class=legend><i style=\"background:#4c78a8\"></i>map\
         <i style=\"background:#b8860b\"></i>merge<i style=\"background:#f58518\"></i>reduce \
         <span class=muted>· one bar per task, one row per worker thread and phase; hover for details</span></div>",
    );
    let _ = write!(
        h,
        "<svg id=timeline width=\"{}\" height=\"{height}\" viewBox=\"0 0 {} {height}\" role=img aria-label=\"task timeline\">",
        left + width + 10.0,
        left + width + 10.0
    );
    for (i, (step, phase, thread)) in rows.iter().enumerate() {
        let y = i as f64 * row_h + 4.0;
        let _ = write!(
            h,
            "<text x=4 y=\"{}\">step {} {} · thread {}</text>",
            y + 12.0,
            step,
            html_escape(phase),
            thread
        );
    }
    // Time axis.
    for k in 0..=4 {
        let x = left + width * k as f64 / 4.0;
        let _ = write!(
            h,
            "<line x1=\"{x}\" x2=\"{x}\" y1=0 y2=\"{}\" stroke=\"#eef0f3\"/><text x=\"{}\" y=\"{}\">{:.2}s</text>",
            height - 16.0,
            x - if k == 4 { 30.0 } else { 10.0 },
            height - 4.0,
            total * k as f64 / 4.0
        );
    }
    for t in tasks {
        let key = (
            count(&t["step"]),
            t["phase"].as_str().unwrap_or("").to_string(),
            count(&t["thread"]),
        );
        let row = rows.iter().position(|r| *r == key).unwrap_or(0);
        let y = row as f64 * row_h + 4.0;
        let (start, end) = (num(&t["start"]), num(&t["end"]));
        let x = left + width * start / total;
        let w = (width * (end - start) / total).max(1.0);
        let phase = t["phase"].as_str().unwrap_or("map");
        let class = if phase == "reduce" { "reduce" } else { "map" };
        let _ = write!(
            h,
            "<rect class=\"task {class}\" x=\"{x:.2}\" y=\"{y}\" width=\"{w:.2}\" height=\"{}\"><title>step {} {} task {}{} · thread {} · {:.3}–{:.3} s · {} · {} records in, {} out{}</title></rect>",
            row_h - 3.0,
            count(&t["step"]),
            html_escape(phase),
            count(&t["task"]),
            match t["piece"].as_u64() {
                Some(p) => format!(" piece {p}"),
                None => String::new(),
            },
            count(&t["thread"]),
            start,
            end,
            human_bytes(count(&t["input_bytes"])),
            thousands(count(&t["records_in"])),
            thousands(count(&t["records_out"])),
            match count(&t["spills"]) {
                0 => String::new(),
                n => format!(" · {n} spills"),
            }
        );
        if let Some(m) = t["merge_end"].as_f64() {
            let mw = width * (m - start).max(0.0) / total;
            if mw >= 0.5 {
                let _ = write!(
                    h,
                    "<rect class=merge x=\"{x:.2}\" y=\"{y}\" width=\"{mw:.2}\" height=\"{}\" pointer-events=none/>",
                    row_h - 3.0
                );
            }
        }
    }
    h.push_str("</svg>\n");
}

fn partitions(h: &mut String, doc: &Value) {
    let Some(parts) = doc["partitions"].as_array().filter(|p| !p.is_empty()) else {
        return;
    };
    let most = parts
        .iter()
        .map(|p| count(&p["bytes"]))
        .max()
        .unwrap_or(1)
        .max(1);
    let row_h = 16.0;
    let height = parts.len() as f64 * row_h + 6.0;
    h.push_str("<h2>Partitions</h2><p class=muted>Bytes of sorted runs each reduce task merged; a long bar is a skewed partition.</p>");
    let _ = write!(h, "<svg width=760 height=\"{height}\">");
    for (i, p) in parts.iter().enumerate() {
        let y = i as f64 * row_h + 3.0;
        let bytes = count(&p["bytes"]);
        let w = (500.0 * bytes as f64 / most as f64).max(1.0);
        let _ = write!(
            h,
            "<text x=4 y=\"{}\">step {} part {}</text><rect class=bar x=120 y=\"{y}\" width=\"{w:.1}\" height=\"{}\"><title>{} · {} values</title></rect><text x=\"{}\" y=\"{}\">{} · {} values</text>",
            y + 11.0,
            count(&p["step"]),
            count(&p["partition"]),
            row_h - 3.0,
            human_bytes(bytes),
            thousands(count(&p["records"])),
            126.0 + w,
            y + 11.0,
            human_bytes(bytes),
            thousands(count(&p["records"]))
        );
    }
    h.push_str("</svg>\n");
}

fn heavy_keys(h: &mut String, doc: &Value) {
    let mut keys: Vec<(u64, u64, u64, String)> = Vec::new();
    for p in doc["partitions"].as_array().into_iter().flatten() {
        for k in p["heavy_keys"].as_array().into_iter().flatten() {
            keys.push((
                count(&k[1]),
                count(&p["step"]),
                count(&p["partition"]),
                k[0].as_str().unwrap_or("").to_string(),
            ));
        }
    }
    if keys.is_empty() {
        return;
    }
    keys.sort_by_key(|k| std::cmp::Reverse(k.0));
    keys.truncate(20);
    h.push_str(
        "<h2>Heaviest keys</h2><p class=muted>The keys with the most values reaching a reducer \
         (after combining), top 5 of each reduce task: one key far above the rest is skew. \
         A step that combines in its map tasks (a count, a sum) sends a key at most one value \
         from each map task: its number here is how many map tasks saw it, not its total, \
         which is in the output.</p>\
         <table><tr><th class=n>values</th><th>step</th><th>partition</th><th>key (JSON)</th></tr>",
    );
    for (n, step, part, key) in keys {
        let _ = write!(
            h,
            "<tr><td class=n>{}</td><td>{}</td><td>{part}</td><td><code>{}</code></td></tr>",
            thousands(n),
            step,
            html_escape(&shortened(&key))
        );
    }
    h.push_str("</table>\n");
}

/// A key (or a counter's name) as the page shows it: its first 200
/// characters, then how long it is (a 200,000-character URL pushed the rest
/// of the page screens down). A heavy key the report holds already cut (at
/// [`HEAVY_KEY_BYTES`] bytes, ending `… (N bytes)`) is N bytes long, not
/// the length of what the report holds (probe /tmp/probe17-report repro
/// 01: a 10,003-byte key was said to be 1,041).
///
/// [`HEAVY_KEY_BYTES`]: mr_core::runner::timeline::HEAVY_KEY_BYTES
fn shortened(key: &str) -> std::borrow::Cow<'_, str> {
    const SHOWN: usize = 200;
    let (text, len) = report_cut(key).unwrap_or((key, key.len()));
    match text.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}… ({len} bytes in all)", &text[..cut]).into(),
        None => key.into(),
    }
}

/// A heavy key as the report cut it: its first bytes and its length, when
/// it ends `… (N bytes)` after a cut at [`HEAVY_KEY_BYTES`] bytes (a
/// character boundary at most 3 bytes before it).
///
/// [`HEAVY_KEY_BYTES`]: mr_core::runner::timeline::HEAVY_KEY_BYTES
fn report_cut(key: &str) -> Option<(&str, usize)> {
    let (text, tail) = key.rsplit_once("… (")?;
    let len: usize = tail.strip_suffix(" bytes)")?.parse().ok()?;
    let shown = mr_core::runner::timeline::HEAVY_KEY_BYTES;
    (text.len() + 3 >= shown && text.len() <= shown && len > text.len()).then_some((text, len))
}

fn counters(h: &mut String, doc: &Value) {
    let Some(groups) = doc["counters"].as_object() else {
        return;
    };
    h.push_str(
        "<h2>Counters</h2><table><tr><th>group</th><th>name</th><th class=n>value</th></tr>",
    );
    for (g, names) in groups {
        for (n, v) in names.as_object().into_iter().flatten() {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=n>{}</td></tr>",
                html_escape(&shortened(g)),
                html_escape(&shortened(n)),
                text(v)
            );
        }
    }
    h.push_str("</table>\n");
}

fn settings(h: &mut String, doc: &Value) {
    let Some(s) = doc["settings"].as_object() else {
        return;
    };
    h.push_str("<h2>Settings</h2><table>");
    for (k, v) in s {
        let _ = write!(
            h,
            "<tr><td>{}</td><td><code>{}</code></td></tr>",
            html_escape(k),
            text(v)
        );
    }
    h.push_str("</table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_strings_are_escaped() {
        let nasty = "</script><img src=x onerror=alert(1)>";
        let doc = serde_json::json!({
            "job": nasty, "ok": false, "error": nasty, "elapsed_secs": 1.0,
            "settings": {"inputs": [nasty]},
        });
        let page = render(&doc);
        assert!(!page.contains("<img"), "{page}");
        assert!(page.contains("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"));
        assert_eq!(page.matches("<script>").count(), 1);
    }

    /// A heavy key the report holds cut at 1 KiB says the length it gives
    /// (probe /tmp/probe17-report repro 01: a 10,003-byte key was "1041
    /// bytes in all"); a counter name from the data is cut as a key is
    /// (repro 08: a 100,000-character one made the page a million pixels
    /// wide).
    #[test]
    fn cut_keys_keep_their_length_and_counter_names_are_cut() {
        // As the report holds it (runner::timeline's HeavyKeys).
        let cut = mr_core::runner::timeline::HEAVY_KEY_BYTES;
        let key = format!("\"/{}\"", "u".repeat(10_000));
        let held = format!("{}… ({} bytes)", &key[..cut], key.len());
        let shown = shortened(&held);
        assert!(shown.ends_with("… (10003 bytes in all)"), "{shown}");
        assert_eq!(
            shown.chars().count(),
            200 + "… (10003 bytes in all)".chars().count()
        );
        // A short key that only looks cut is shown as it is.
        assert_eq!(shortened("\"a… (5 bytes)\""), "\"a… (5 bytes)\"");
        let long = "n".repeat(100_000);
        let doc = serde_json::json!({
            "job": "j", "ok": true, "elapsed_secs": 1.0,
            "counters": {"g": {long.clone(): 1}},
        });
        let page = render(&doc);
        assert!(!page.contains(&long[..1000]), "the name whole");
        assert!(page.contains("… (100000 bytes in all)"));
    }

    /// Heaviest keys: a right-to-left override shown as an escape, not
    /// obeyed; so is a zero-width space, by which two keys look the same;
    /// a huge key cut, with its length.
    #[test]
    fn heavy_keys_are_shown_as_they_are_and_cut() {
        let spoof = "\"\u{202e}exe.kcatta/moc.elgoog//:sptth\"";
        let twin = "\"/ad\u{200b}min\"";
        let huge = format!("\"/{}\"", "x".repeat(200_000));
        let doc = serde_json::json!({
            "job": "j", "ok": true, "elapsed_secs": 1.0,
            "partitions": [{"step": 0, "partition": 0,
                            "heavy_keys": [[spoof, 2], ["\"/admin\"", 2], [twin, 2], [huge, 1]]}],
        });
        let page = render(&doc);
        assert!(!page.contains('\u{202e}'), "the override reached the page");
        assert!(page.contains("\\u{202e}exe.kcatta"), "{page}");
        assert!(
            !page.contains('\u{200b}') && page.contains("/ad\\u{200b}min"),
            "{page}"
        );
        assert!(page.contains("… (200003 bytes in all)"));
        assert!(page.len() < 50_000, "{}", page.len());
    }
}
