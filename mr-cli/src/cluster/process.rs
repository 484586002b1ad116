//! Child processes whose output is drained on threads of its own, so that a
//! chatty child never blocks on a full pipe, and whose stderr is shown when
//! it fails (as ripgrep's `cli/process.rs` does for decompression commands).
//!
//! A drained stream also yields what the child reported the Hadoop
//! Streaming way: `reporter:counter:GROUP,NAME,AMOUNT` lines are summed into
//! [`Counters`], `mr-bad-record:` lines are counted (and echoed on request).

use anyhow::Context as _;
use mr_core::Counters;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::thread::JoinHandle;

/// How many of the last lines of a stream are kept for error messages.
pub const TAIL_LINES: usize = 60;
/// The longest line kept for error messages, in bytes.
const MAX_LINE_BYTES: usize = 4096;

/// What to do with the lines of a drained stream besides keeping its tail.
#[derive(Debug, Clone, Copy, Default)]
pub struct Echo {
    /// Copy `mr-bad-record:` lines to our stderr.
    pub bad_records: bool,
    /// Copy lines containing this text to our stderr (progress lines).
    pub matching: Option<&'static str>,
}

/// What a drained stream held.
#[derive(Debug, Default, Clone)]
pub struct Drained {
    /// Its last lines (at most [`TAIL_LINES`]), reporter lines left out.
    pub tail: VecDeque<String>,
    /// Lines dropped from the front of `tail`.
    pub dropped: u64,
    /// The sum of its `reporter:counter:` lines.
    pub counters: Counters,
    /// Its `mr-bad-record:` lines.
    pub bad_records: u64,
}

impl Drained {
    /// The tail as one string, with a note when lines were dropped.
    pub fn tail_text(&self) -> String {
        let mut s = String::new();
        if self.dropped > 0 {
            s.push_str(&format!("[... {} earlier lines]\n", self.dropped));
        }
        for l in &self.tail {
            s.push_str(l);
            s.push('\n');
        }
        s
    }

    fn line(&mut self, raw: &[u8], echo: Echo) {
        let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let line = String::from_utf8_lossy(raw);
        if let Some(rest) = line.strip_prefix("reporter:counter:") {
            // GROUP,NAME,AMOUNT; the amount is the last field.
            if let Some((gn, amount)) = rest.rsplit_once(',') {
                if let (Some((g, n)), Ok(a)) = (gn.split_once(','), amount.trim().parse()) {
                    self.counters.add(g, n, a);
                    return;
                }
            }
        }
        if line.starts_with("reporter:status:") {
            return;
        }
        if line.starts_with("mr-bad-record: ") {
            self.bad_records += 1;
            if echo.bad_records {
                let _ = writeln!(std::io::stderr().lock(), "{line}");
            }
        } else if echo.matching.is_some_and(|m| line.contains(m)) {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        }
        let mut kept = line.into_owned();
        if kept.len() > MAX_LINE_BYTES {
            let mut cut = MAX_LINE_BYTES;
            while !kept.is_char_boundary(cut) {
                cut -= 1;
            }
            kept.truncate(cut);
            kept.push_str(" [...]");
        }
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
            self.dropped += 1;
        }
        self.tail.push_back(kept);
    }
}

/// A stream read to its end on a thread of its own.
#[derive(Debug)]
pub struct Drain {
    handle: JoinHandle<Drained>,
}

impl Drain {
    /// Starts reading `stream` (a child's stderr or stdout).
    pub fn start(stream: impl Read + Send + 'static, echo: Echo) -> Drain {
        let handle = std::thread::spawn(move || {
            let mut d = Drained::default();
            let mut r = BufReader::with_capacity(64 << 10, stream);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match r.read_until(b'\n', &mut buf) {
                    Ok(0) => break,
                    Ok(_) => d.line(&buf, echo),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        d.line(
                            format!("[mr: error reading the stream: {e}]").as_bytes(),
                            echo,
                        );
                        break;
                    }
                }
            }
            d
        });
        Drain { handle }
    }

    /// Waits for the end of the stream.
    pub fn finish(self) -> Drained {
        self.handle.join().unwrap_or_else(|_| {
            let mut d = Drained::default();
            d.tail
                .push_back("[mr: the thread reading this stream panicked]".into());
            d
        })
    }
}

/// The error of a child that failed: what it was, how it ended, and the
/// tail of its stderr.
pub fn failure(what: &str, status: ExitStatus, stderr: &Drained) -> anyhow::Error {
    let tail = stderr.tail_text();
    if tail.trim().is_empty() {
        anyhow::anyhow!("{what} failed ({status}) and wrote nothing on stderr")
    } else {
        anyhow::anyhow!("{what} failed ({status}); its stderr ends with:\n{tail}")
    }
}

/// Runs `cmd` to its end with stdout and stderr drained on their own
/// threads (stdin from /dev/null). Succeeds with the drained stderr when the
/// command exits with status 0; otherwise the error holds the tail of its
/// stderr (and of its stdout, when it wrote there).
pub fn run_drained(cmd: &mut Command, what: &str, echo: Echo) -> anyhow::Result<Drained> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {what} ({:?})", cmd.get_program()))?;
    let out = child.stdout.take().map(|s| Drain::start(s, echo));
    let err = child.stderr.take().map(|s| Drain::start(s, echo));
    let status = child
        .wait()
        .with_context(|| format!("waiting for {what}"))?;
    let out = out.map(Drain::finish).unwrap_or_default();
    let mut err = err.map(Drain::finish).unwrap_or_default();
    if status.success() {
        err.counters.merge(&out.counters);
        return Ok(err);
    }
    if !out.tail.is_empty() {
        err.tail.push_back("[stdout:]".into());
        err.tail.extend(out.tail.iter().cloned());
        while err.tail.len() > 2 * TAIL_LINES {
            err.tail.pop_front();
            err.dropped += 1;
        }
    }
    Err(failure(what, status, &err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reporter_lines_become_counters_and_tail_keeps_the_end() {
        let mut input = String::new();
        for i in 0..100 {
            input.push_str(&format!("line {i}\n"));
        }
        input.push_str("reporter:counter:mr,map input records,3\n");
        input.push_str("reporter:counter:mr,map input records,4\n");
        input.push_str("reporter:status:done\n");
        let d = Drain::start(std::io::Cursor::new(input.into_bytes()), Echo::default()).finish();
        assert_eq!(d.counters.get("mr", "map input records"), 7);
        assert_eq!(d.tail.len(), TAIL_LINES);
        assert_eq!(d.tail.back().map(String::as_str), Some("line 99"));
        assert!(d.tail_text().starts_with("[... 40 earlier lines]"));
    }

    #[cfg(unix)]
    #[test]
    fn failing_command_shows_its_stderr() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo progress; echo 'boom: it broke' >&2; exit 3"]);
        let e = run_drained(&mut cmd, "the test command", Echo::default()).unwrap_err();
        let msg = format!("{e:#}");
        assert!(
            msg.contains("boom: it broke") && msg.contains("exit status: 3"),
            "{msg}"
        );
        assert!(msg.contains("[stdout:]\nprogress"), "{msg}");
        let mut ok = Command::new("sh");
        ok.args(["-c", "echo 'reporter:counter:g,n,2' >&2"]);
        let d = run_drained(&mut ok, "ok", Echo::default()).unwrap();
        assert_eq!(d.counters.get("g", "n"), 2);
    }
}
