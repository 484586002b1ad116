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
                    bar.set_message(line(&progress.snapshot(), n / 2));
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

/// One redraw: `map [=====>      ]  46% 36.7 MB of 112.5 MB · 80 MB/s · ...`
/// while the first step's map phase has a known size, else a spinner
/// (`frame` turns it) and the bytes read.
///
/// ```
/// use mr_cli::cmd::status_line::line;
/// use mr_core::runner::progress::Progress;
/// assert_eq!(line(&Progress::default().snapshot(), 0), "starting");
/// ```
pub fn line(s: &Snapshot, frame: u32) -> String {
    let step = if s.steps > 1 {
        format!("step {}/{} ", s.step + 1, s.steps)
    } else {
        String::new()
    };
    let rate = s.bytes_read as f64 / 1e6 / s.elapsed_secs.max(1e-9);
    let mut msg = match s.fraction() {
        Some(_) => format!(
            "{} of {} · {rate:.0} MB/s",
            human_bytes(s.bytes_read),
            human_bytes(s.bytes_total)
        ),
        None => format!("{} read · {rate:.0} MB/s", human_bytes(s.bytes_read)),
    };
    if let Some(eta) = s.eta_secs() {
        msg.push_str(&format!(" · ETA {}", eta_text(eta)));
    }
    msg.push_str(&format!(
        " · {} records · {} spills · tasks {}/{}",
        crate::cmd::summary::thousands(s.records),
        s.spills,
        s.tasks_done,
        s.tasks_total
    ));
    match s.fraction() {
        Some(f) => format!(
            "{step}{} [{}] {:>3}% {msg}",
            s.phase_name(),
            bar(f, 24),
            (f * 100.0).floor() as u32
        ),
        None if s.phase == Phase::Starting => "starting".to_string(),
        None => {
            const SPIN: [char; 4] = ['|', '/', '-', '\\'];
            let c = SPIN[frame as usize % SPIN.len()];
            format!("{c} {step}{} {msg}", s.phase_name())
        }
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
        let l = line(&at(46_000_000, 100_000_000, Phase::Map), 3);
        // 46 of 100 MB: 46%, and the bar is 46% full.
        assert!(l.starts_with("map ["), "{l}");
        assert!(l.contains(" 46% 46.0 MB of 100.0 MB"), "{l}");
        assert!(l.contains(&format!("[{}]", bar(0.46, 24))), "{l}");
        // Past the map phase: no percentage, no bar, the phase named.
        let l = line(&at(100_000_000, 100_000_000, Phase::Reduce), 1);
        assert!(l.starts_with("/ merge+reduce 100.0 MB read"), "{l}");
        assert!(!l.contains('%'), "{l}");
    }

    #[test]
    fn bars_are_always_their_width() {
        for i in 0..=100 {
            assert_eq!(bar(i as f64 / 100.0, 24).len(), 24);
        }
    }
}
