//! The progress bar of `mr run` on stderr (a terminal): phase, bytes of the
//! total with percentage, MB/s, ETA, records and spills, redrawn a few times
//! a second after the first half second, and erased when the run ends, is
//! interrupted (the Ctrl-C handler erases it too), or starts printing
//! results on the same terminal ([`ClearsStatus`]).
//!
//! Each redraw is one line built from one snapshot of the run's
//! [`Progress`], so the percentage, the bytes and the phase always agree.

use mr_core::runner::progress::{Phase, Progress, Snapshot, human_bytes};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// A running progress bar; [`StatusLine::finish`] (or drop) erases it.
pub struct StatusLine {
    stop: Arc<AtomicBool>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl StatusLine {
    /// Starts drawing `progress` on stderr.
    pub fn start(progress: Arc<Progress>) -> StatusLine {
        use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("mr-progress".into())
            .spawn(move || {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                // The whole line is the message: one update, one redraw.
                bar.set_style(
                    ProgressStyle::with_template("{wide_msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                let tick = std::time::Duration::from_millis(100);
                // Say nothing for short runs (the first half second; tests
                // set MR_PROGRESS_AFTER_MS=0); then redraw every 0.2 s.
                let quiet_ticks = std::env::var("MR_PROGRESS_AFTER_MS")
                    .ok()
                    .and_then(|v| v.parse::<u32>().ok())
                    .map_or(5, |ms| ms / 100);
                let mut n = 0u32;
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    n += 1;
                    if n < quiet_ticks || !n.is_multiple_of(2) {
                        continue;
                    }
                    // The last column stays free: a line that fills it leaves
                    // the cursor waiting to wrap, and some terminals wrap.
                    let width = terminal_width().saturating_sub(1);
                    bar.set_message(line(&progress.snapshot(), n / 2, width));
                }
                bar.finish_and_clear();
            })
            .ok();
        StatusLine {
            stop,
            thread: Mutex::new(thread),
        }
    }

    /// Erases the bar and stops drawing; returns once it is gone.
    pub fn finish(&self) {
        self.stop.store(true, Ordering::Relaxed);
        let thread = self.thread.lock().map(|mut t| t.take()).unwrap_or(None);
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

impl Drop for StatusLine {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The bar's width when the line has room for it, and the least it is
/// shrunk to before it is dropped.
const BAR_WIDTH: usize = 24;
const BAR_MIN_WIDTH: usize = 10;

/// One redraw, at most `width` columns: `map [=====>      ]  46% 36.7 MB
/// of 112.5 MB · 80 MB/s · ETA 12s · 1,200 records · 2 spills · tasks 3/8`
/// while the first step's map phase has a known size, else a spinner
/// (`frame` turns it) and the bytes read.
///
/// A line wider than the terminal is never cut (a cut `ETA 1` for 12s
/// reads as another number): the bar shrinks, and the least useful fields
/// go whole (spills, tasks, records, MB/s, the bytes, then the bar); on a
/// very narrow terminal the phase and percentage, ETA, step and spinner
/// are left.
///
/// ```
/// use mr_cli::cmd::status_line::line;
/// use mr_core::runner::progress::Progress;
/// assert_eq!(line(&Progress::default().snapshot(), 0, 80), "starting");
/// ```
pub fn line(s: &Snapshot, frame: u32, width: usize) -> String {
    let (fields, bar_at) = fields(s, frame);
    fit(fields, bar_at, s.fraction().unwrap_or(0.0), width)
}

/// The fields of the line, in order, and where the bar goes (an empty
/// field, drawn at its width by [`fit`]).
fn fields(s: &Snapshot, frame: u32) -> (Vec<Field>, Option<usize>) {
    let mut fields = Vec::new();
    let mut field = |text: String, keep: u8, sep: &'static str| {
        fields.push(Field { text, keep, sep });
        fields.len() - 1
    };
    let fraction = s.fraction();
    if fraction.is_none() && s.phase == Phase::Starting {
        field("starting".to_string(), u8::MAX, "");
        return (fields, None);
    }
    const SPIN: [char; 4] = ['|', '/', '-', '\\'];
    if fraction.is_none() {
        field(SPIN[frame as usize % SPIN.len()].to_string(), 7, "");
    }
    if s.steps > 1 {
        field(format!("step {}/{}", s.step + 1, s.steps), 8, " ");
    }
    field(s.phase_name().to_string(), u8::MAX, " ");
    let bar_at = fraction.map(|_| field(String::new(), 6, " "));
    match fraction {
        Some(f) => {
            field(format!("{:>3}%", (f * 100.0).floor() as u32), 10, " ");
            let of = format!(
                "{} of {}",
                human_bytes(s.bytes_read),
                human_bytes(s.bytes_total)
            );
            field(of, 5, " ");
        }
        None => {
            field(format!("{} read", human_bytes(s.bytes_read)), 5, " ");
        }
    }
    let rate = s.bytes_read as f64 / 1e6 / s.elapsed_secs.max(1e-9);
    field(format!("{rate:.0} MB/s"), 3, " · ");
    if let Some(eta) = s.eta_secs() {
        field(format!("ETA {}", eta_text(eta)), 9, " · ");
    }
    let records = crate::cmd::summary::thousands(s.records);
    field(format!("{records} records"), 3, " · ");
    field(format!("{} spills", s.spills), 1, " · ");
    field(
        format!("tasks {}/{}", s.tasks_done, s.tasks_total),
        2,
        " · ",
    );
    (fields, bar_at)
}

/// One part of the progress line: its text, how much it is worth keeping
/// (the lowest goes first when the line is too wide) and what comes
/// before it when it follows another.
struct Field {
    text: String,
    keep: u8,
    sep: &'static str,
}

/// Joins the fields that fit in `width` columns: the least worth keeping
/// are left out first (the later of equals), then any left out that fits
/// in the room left is taken back, the most useful first. The bar (the
/// field at `bar_at`, empty until now) counts as [`BAR_MIN_WIDTH`] and
/// takes what room is left, up to [`BAR_WIDTH`]. Nothing is cut: if even
/// the most useful field does not fit, the line is empty.
fn fit(mut fields: Vec<Field>, bar_at: Option<usize>, fraction: f64, width: usize) -> String {
    let cols = |kept: &[bool]| -> usize {
        let mut n = 0;
        for (i, f) in fields.iter().enumerate().filter(|&(i, _)| kept[i]) {
            if n > 0 {
                n += f.sep.chars().count();
            }
            n += if bar_at == Some(i) {
                BAR_MIN_WIDTH + 2
            } else {
                f.text.chars().count()
            };
        }
        n
    };
    let mut order: Vec<usize> = (0..fields.len()).collect();
    order.sort_by_key(|&i| (fields[i].keep, std::cmp::Reverse(i)));
    let mut kept = vec![true; fields.len()];
    for &i in &order {
        if cols(&kept) <= width {
            break;
        }
        kept[i] = false;
    }
    for &i in order.iter().rev() {
        if !kept[i] {
            kept[i] = true;
            kept[i] = cols(&kept) <= width;
        }
    }
    let room = width.saturating_sub(cols(&kept));
    if let Some(at) = bar_at.filter(|&at| kept[at]) {
        fields[at].text = format!("[{}]", bar(fraction, (BAR_MIN_WIDTH + room).min(BAR_WIDTH)));
    }
    let mut out = String::new();
    for (_, f) in fields.iter().enumerate().filter(|&(i, _)| kept[i]) {
        if !out.is_empty() {
            out.push_str(f.sep);
        }
        out.push_str(&f.text);
    }
    out
}

/// The terminal's width in columns, as indicatif measures it (80 when
/// stderr is no terminal or says 0).
fn terminal_width() -> usize {
    match rustix::termios::tcgetwinsize(std::io::stderr()) {
        Ok(ws) if ws.ws_row > 0 && ws.ws_col > 0 => usize::from(ws.ws_col),
        _ => 80,
    }
}

/// `=====>      `: `width` characters, filled to `fraction`.
///
/// ```
/// use mr_cli::cmd::status_line::bar;
/// assert_eq!(bar(0.0, 4), "    ");
/// assert_eq!(bar(0.5, 4), "==> ");
/// assert_eq!(bar(1.0, 4), "====");
/// ```
pub fn bar(fraction: f64, width: usize) -> String {
    let filled = ((fraction.clamp(0.0, 1.0) * width as f64) as usize).min(width);
    let mut s = "=".repeat(filled);
    if filled > 0 && filled < width {
        s.push('>');
    }
    while s.len() < width {
        s.push(' ');
    }
    s
}

/// `42s`, `3m05s`, `1h02m`.
fn eta_text(secs: f64) -> String {
    let s = secs.round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// A writer that erases the progress bar before its first byte: results
/// printed on the terminal that shows the bar (the bar's next redraw would
/// erase the line just printed).
pub struct ClearsStatus<W: Write> {
    inner: W,
    status: Option<Arc<StatusLine>>,
}

impl<W: Write> ClearsStatus<W> {
    /// Wraps `inner`; `status` is the bar to erase, if it shares a terminal.
    pub fn new(inner: W, status: Option<Arc<StatusLine>>) -> Self {
        ClearsStatus { inner, status }
    }
}

impl<W: Write> Write for ClearsStatus<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(s) = self.status.take() {
            s.finish();
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(read: u64, total: u64, phase: Phase) -> Snapshot {
        Snapshot {
            step: 0,
            steps: 1,
            phase,
            tasks_done: 1,
            tasks_total: 3,
            bytes_read: read,
            bytes_total: total,
            records: 10,
            spills: 0,
            elapsed_secs: 2.0,
        }
    }

    #[test]
    fn one_line_agrees_with_itself() {
        let l = line(&at(46_000_000, 100_000_000, Phase::Map), 3, 200);
        // 46 of 100 MB: 46%, and the bar is 46% full.
        assert!(l.starts_with("map ["), "{l}");
        assert!(l.contains(" 46% 46.0 MB of 100.0 MB"), "{l}");
        assert!(l.contains(&format!("[{}]", bar(0.46, 24))), "{l}");
        // Past the map phase: no percentage, no bar, the phase named.
        let l = line(&at(100_000_000, 100_000_000, Phase::Reduce), 1, 200);
        assert!(l.starts_with("/ merge+reduce 100.0 MB read"), "{l}");
        assert!(!l.contains('%'), "{l}");
    }

    /// A run at its busiest: two steps, big numbers, an ETA of 12 s.
    fn busy(phase: Phase) -> Snapshot {
        Snapshot {
            step: 0,
            steps: 2,
            phase,
            tasks_done: 117,
            tasks_total: 1_024,
            bytes_read: 46_700_000_000,
            bytes_total: 112_500_000_000,
            records: 1_123_456_789,
            spills: 1_234,
            elapsed_secs: 8.6,
        }
    }

    /// Whether `l` is some of `s`'s fields, whole, in order, joined as
    /// drawn (the bar at any width).
    fn whole_fields_of(l: &str, s: &Snapshot) -> bool {
        let (fields, bar_at) = fields(s, 1);
        let mut rest = l;
        let mut first = true;
        for (i, f) in fields.iter().enumerate() {
            let sep = if first { "" } else { f.sep };
            let Some(after) = rest.strip_prefix(sep) else {
                continue;
            };
            let after = if bar_at == Some(i) {
                match after.strip_prefix('[').and_then(|a| a.split_once(']')) {
                    Some((inner, tail)) if inner.chars().all(|c| " =>".contains(c)) => Some(tail),
                    _ => None,
                }
            } else {
                after.strip_prefix(f.text.as_str())
            };
            if let Some(tail) = after {
                rest = tail;
                first = false;
            }
        }
        rest.is_empty()
    }

    /// Every width gets a line that fits, made of whole fields of the
    /// full line (`ETA 1` for `ETA 12s`, `1,1` for `1,123,456,789 records`
    /// would be cut ones).
    #[test]
    fn a_narrow_terminal_drops_whole_fields() {
        let snaps = [
            busy(Phase::Starting),
            busy(Phase::Map),
            busy(Phase::Reduce),
            at(46_000_000, 100_000_000, Phase::Map),
            at(100_000_000, 100_000_000, Phase::Output),
        ];
        for s in &snaps {
            for width in 0..=200 {
                let l = line(s, 1, width);
                assert!(l.chars().count() <= width, "{width}: {l:?}");
                assert!(whole_fields_of(&l, s), "{width}: {l:?}");
            }
            assert!(!whole_fields_of("map [==>  ]  41% · ETA 1", s));
        }
        // The phase is shown from 12 columns on, whatever the phase.
        for s in &snaps {
            assert!(
                line(s, 1, 12).contains(s.phase_name()),
                "{:?}",
                line(s, 1, 12)
            );
        }
    }

    #[test]
    fn widths_20_40_80_200() {
        let map = busy(Phase::Map);
        let f = 46.7 / 112.5;
        assert_eq!(
            line(&map, 0, 200),
            format!(
                "step 1/2 map [{}]  41% 46.70 GB of 112.50 GB · 5430 MB/s · ETA 12s · \
                 1,123,456,789 records · 1234 spills · tasks 117/1024",
                bar(f, BAR_WIDTH)
            )
        );
        // Spills, tasks and records left out; the bar a little shorter.
        assert_eq!(
            line(&map, 0, 80),
            format!(
                "step 1/2 map [{}]  41% 46.70 GB of 112.50 GB · 5430 MB/s · ETA 12s",
                bar(f, 16)
            )
        );
        assert_eq!(line(&map, 0, 80).chars().count(), 80);
        assert_eq!(
            line(&map, 0, 40),
            format!("step 1/2 map [{}]  41% · ETA 12s", bar(f, BAR_MIN_WIDTH))
        );
        assert_eq!(line(&map, 0, 20), "map  41% · ETA 12s");
        let reduce = busy(Phase::Reduce);
        assert_eq!(
            line(&reduce, 2, 200),
            "- step 1/2 merge+reduce 46.70 GB read · 5430 MB/s · 1,123,456,789 records · \
             1234 spills · tasks 117/1024"
        );
        assert_eq!(
            line(&reduce, 2, 80),
            "- step 1/2 merge+reduce 46.70 GB read · 5430 MB/s · 1,123,456,789 records"
        );
        assert_eq!(
            line(&reduce, 2, 40),
            "- step 1/2 merge+reduce 46.70 GB read"
        );
        assert_eq!(line(&reduce, 2, 20), "- merge+reduce");
        assert_eq!(line(&reduce, 2, 5), "-");
        assert_eq!(line(&busy(Phase::Starting), 0, 20), "starting");
        assert_eq!(line(&busy(Phase::Starting), 0, 2), "");
    }

    #[test]
    fn bars_are_always_their_width() {
        for i in 0..=100 {
            assert_eq!(bar(i as f64 / 100.0, 24).len(), 24);
        }
    }
}
