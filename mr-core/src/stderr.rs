//! Lines for the user on stderr that never panic.
//!
//! `eprintln!` panics when stderr cannot be written: a pipe whose reader is
//! gone (`mr run ... 2>&1 | tee log`, then Ctrl-C, which stops `tee` too), a
//! terminal hung up. A panic in the thread that handles Ctrl-C lost the stop
//! request, and the run went on to replace the old output. What mr says on
//! stderr goes through [`errln!`](crate::errln) and
//! [`errprint!`](crate::errprint) instead, which drop what cannot be written.

/// `eprintln!` that ignores a failure to write (see [the module](crate::stderr)).
///
/// ```
/// mr_core::errln!("mr: {} files", 3);
/// ```
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::writeln!(::std::io::stderr(), $($arg)*);
    }};
}

/// `eprint!` that ignores a failure to write (see [the module](crate::stderr)).
///
/// ```
/// mr_core::errprint!("\r");
/// ```
#[macro_export]
macro_rules! errprint {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::write!(::std::io::stderr(), $($arg)*);
    }};
}

#[cfg(test)]
mod tests {
    /// With stderr a pipe nobody reads, the macros return (where
    /// `eprintln!` panics): run in a child process whose stderr is closed
    /// at the other end.
    #[test]
    fn a_broken_stderr_is_not_a_panic() {
        use std::process::{Command, Stdio};
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        if std::env::var_os("MR_STDERR_CHILD").is_some() {
            // In the child: stderr's reader is gone (see below).
            std::thread::sleep(std::time::Duration::from_millis(200));
            crate::errln!("to a broken pipe");
            crate::errprint!("again");
            println!("survived");
            return;
        }
        let mut child = Command::new(exe)
            .args(["--exact", "stderr::tests::a_broken_stderr_is_not_a_panic"])
            .args(["--nocapture", "--test-threads", "1"])
            .env("MR_STDERR_CHILD", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the test binary runs");
        // Close the read end of the child's stderr: its writes get EPIPE.
        drop(child.stderr.take());
        let out = child.wait_with_output().expect("the child ends");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("survived"), "{stdout}");
    }
}
