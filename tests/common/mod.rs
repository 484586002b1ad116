//! Helpers shared by the integration tests: a private work directory per test
//! that runs the real `mr` binary, and readers of its output.
#![allow(dead_code)] // each test binary uses a different subset

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The `mr` binary under test.
pub const MR: &str = env!("CARGO_BIN_EXE_mr");

/// A temp directory for one test; `mr` runs in it with a private TMPDIR.
pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(&p, content).unwrap();
        p
    }

    pub fn write_gz(&self, rel: &str, content: &[u8]) -> PathBuf {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(content).unwrap();
        self.write(rel, enc.finish().unwrap())
    }

    /// The JSON file `rel` (a `--report`), parsed.
    pub fn json(&self, rel: &str) -> serde_json::Value {
        serde_json::from_slice(&fs::read(self.path(rel)).unwrap()).unwrap()
    }

    /// `mr gen KIND` of `size` with `seed`, as one plain file in `out`
    /// (`out/part-00000.jsonl` or `.txt`).
    pub fn gen_one_file(&self, kind: &str, size: &str, seed: &str, out: &str) {
        let args = ["gen", kind, "--size", size, "--seed", seed, "--files", "1"];
        ok(self.mr(&[&args[..], &["--gz-files", "0", "--output", out]].concat()));
    }

    /// `mr ARGS` in this dir.
    pub fn mr(&self, args: &[&str]) -> Output {
        self.run(args, &[], None, false)
    }

    /// `mr ARGS` with `stdin` piped in.
    pub fn mr_stdin(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        self.run(args, &[], stdin, false)
    }

    /// `mr ARGS` with extra environment variables.
    pub fn mr_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.run(args, env, None, false)
    }

    /// `mr ARGS` with extra environment variables and `stdin` piped in.
    pub fn mr_env_stdin(&self, args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Output {
        self.run(args, env, Some(stdin), false)
    }

    /// `mr ARGS` into a reader that leaves at once (`| head -0`): its
    /// stdout is a pipe closed before mr writes to it (its `stdout` empty).
    pub fn mr_stdout_closed(&self, args: &[&str]) -> Output {
        self.run(args, &[], None, true)
    }

    fn run(
        &self,
        args: &[&str],
        env: &[(&str, &str)],
        stdin: Option<&[u8]>,
        stdout_closed: bool,
    ) -> Output {
        let tmp = self.path("_tmp");
        fs::create_dir_all(&tmp).unwrap();
        let mut child = Command::new(MR)
            .args(args)
            .current_dir(self.dir.path())
            .env("TMPDIR", &tmp)
            .envs(env.iter().copied())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(data) = stdin {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(data).unwrap();
        }
        if stdout_closed {
            drop(child.stdout.take());
        }
        child.wait_with_output().unwrap()
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The piped stderr of a spawned `child`, read to its end.
pub fn child_stderr(child: &mut std::process::Child) -> String {
    use std::io::Read;
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        e.read_to_string(&mut err).unwrap();
    }
    err
}

/// The output, after asserting the command succeeded (else its stderr).
#[track_caller]
pub fn ok(o: Output) -> Output {
    assert!(
        o.status.success(),
        "command failed: {}\n{}",
        o.status,
        stderr(&o)
    );
    o
}

/// The run failed (exit 1), its stderr says `says`, and it left no `out`.
#[track_caller]
pub fn failed_saying(o: &Output, says: &str, out: &Path) {
    assert_eq!(o.status.code(), Some(1), "{}", stderr(o));
    assert!(stderr(o).contains(says), "{}", stderr(o));
    assert!(!out.exists(), "{} was written", out.display());
}

/// The command was refused as a usage error (exit 2), its stderr saying
/// `says`.
#[track_caller]
pub fn refused_saying(o: &Output, says: &str) {
    assert_eq!(o.status.code(), Some(2), "{}", stderr(o));
    assert!(stderr(o).contains(says), "{}", stderr(o));
}

/// The names of an output directory's `part-*` files, sorted.
pub fn part_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("part-"))
        .collect();
    names.sort();
    names
}

/// Every `part-*` file of an output directory, concatenated in name order.
pub fn read_parts(dir: &Path) -> String {
    part_names(dir)
        .iter()
        .map(|n| fs::read_to_string(dir.join(n)).unwrap())
        .collect()
}

/// Whether an external tool is there; when `MR_REQUIRE_PEERS=1` (as in CI) a
/// missing tool fails the test instead of skipping it.
pub fn peer_available(what: &str, check: &mut Command) -> bool {
    let ok = check
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("MR_REQUIRE_PEERS").as_deref() != Ok("1"),
            "{what} is required (MR_REQUIRE_PEERS=1) but missing"
        );
        skip_note(&format!("{what} is not installed"));
    }
    ok
}

/// Says on the real stderr, past libtest's capture, that the current test
/// skipped its work: `cargo test` shows the line even when the test passes,
/// so an `ok` that did nothing is visible as such.
pub fn skip_note(why: &str) {
    use std::io::Write;
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    // `eprintln!` goes to libtest's capture buffer (shown only on failure);
    // a write to the `Stderr` handle goes to file descriptor 2 directly.
    let _ = writeln!(std::io::stderr().lock(), "note: {test} SKIPPED: {why}");
}
