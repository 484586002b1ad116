//! Whole files for a mapper that reads files rather than lines: mrjob's
//! `mapper_raw`, for input that is not line-based (an archive of web pages,
//! a document per file, a binary format) or a job that needs a file's name
//! with its text.
//!
//! A mapper whose input is [`WholeFile`] gets each input file whole, one
//! file a task, never split. The runner hands the task one "line" naming the
//! file, as mrjob does with its input manifest:
//!
//! ```text
//!   input files --list--> manifest: one line per file, its URI as a JSON string
//!               --one line a map task--> WholeFile::from_line --> Mapper::map(file)
//!                                           file.open() / read_text() / path()
//! ```
//!
//! - **Locally** (`-r local`, `-r inline`) the line is `"file:///abs/path"`.
//! - **On Hadoop** (`-r hadoop`) the files under the inputs are listed with
//!   `hadoop fs -ls -R` into a manifest on the cluster, read one line a task
//!   (`NLineInputFormat`); a task reads a file that is not on its local disk
//!   with `hadoop fs -cat URI` (`$MR_HADOOP_BIN`, which `-r hadoop` sets, else
//!   `hadoop` on the PATH).
//! - [`WholeFile::open`] decompresses gzip, bzip2 and zstd (found from the
//!   first bytes, as for every input), as mrjob's runners unpack `.gz` and
//!   `.bz2` before `mapper_raw` sees them; [`WholeFile::path`] gives the
//!   file on disk as it is, for a library that wants a path.
//!
//! A line that is not a JSON string is taken whole as the URI, so a
//! hand-written manifest (`ls /data/* | mr run JOB --mapper`) works too.
//!
//! The file a task reads is [`WholeFile::uri`]. The task's
//! [`TaskContext::input_file`](crate::TaskContext::input_file) names the
//! same file under the local runner, but on Hadoop it names what Hadoop
//! gave the task, the manifest (as `mapreduce.map.input.file` does for
//! mrjob's `mapper_raw`).

use crate::error::JobError;
use crate::protocol::{DecodeError, FromLine};
use std::borrow::Cow;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::thread::JoinHandle;

/// One input file, whole: the input of a mapper that reads files (see the
/// [module docs](self)). Make it a mapper's `Input` and the step reads whole
/// files:
///
/// ```
/// use mr_core::input::whole_file::WholeFile;
/// use mr_core::{Emitter, JobError, Mapper};
/// #[derive(Clone)]
/// struct WordsPerFile;
/// impl Mapper for WordsPerFile {
///     type Input<'a> = WholeFile<'a>;
///     type Key = String;
///     type Value = u64;
///     fn map(&mut self, file: WholeFile<'_>, out: &mut Emitter<String, u64>) -> Result<(), JobError> {
///         let text = file.read_text()?;
///         out.emit(file.name(), text.split_whitespace().count() as u64)
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WholeFile<'a> {
    uri: Cow<'a, str>,
}

/// Where a file's bytes are, for a task.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Place {
    /// On this machine's disk.
    Local(PathBuf),
    /// On the cluster's file system: read with `hadoop fs -cat`.
    Cluster,
}

/// The environment variable naming the `hadoop` a task runs to read a file
/// from the cluster's file system (`-r hadoop` sets it with `-cmdenv`).
pub const HADOOP_BIN_ENV: &str = "MR_HADOOP_BIN";

/// The manifest line naming `uri`: the URI as a JSON string, so that no
/// character of a file's name (a tab, a newline) can cut it.
///
/// ```
/// use mr_core::input::whole_file::{manifest_line, WholeFile};
/// use mr_core::FromLine;
/// let line = manifest_line("file:///logs/a\tb\nc.txt");
/// assert_eq!(line, r#""file:///logs/a\tb\nc.txt""#);
/// let f = WholeFile::from_line(line.as_bytes()).unwrap().unwrap();
/// assert_eq!(f.uri(), "file:///logs/a\tb\nc.txt");
/// ```
pub fn manifest_line(uri: &str) -> String {
    // A string always encodes.
    serde_json::to_string(uri).unwrap_or_default()
}

impl<'a> FromLine<'a> for WholeFile<'a> {
    fn from_line(line: &'a [u8]) -> Result<Option<Self>, DecodeError> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        // Hadoop's `OFFSET TAB LINE`, when a task is not told to drop the
        // offset (mrjob takes the last field the same way).
        let line = match memchr::memchr(b'\t', line) {
            Some(tab)
                if tab > 0
                    && line[..tab].iter().all(u8::is_ascii_digit)
                    && line.get(tab + 1) == Some(&b'"') =>
            {
                &line[tab + 1..]
            }
            _ => line,
        };
        if line.first() == Some(&b'"')
            && let Ok(uri) = serde_json::from_slice::<Cow<'a, str>>(line)
        {
            return Ok(Some(WholeFile { uri }));
        }
        match std::str::from_utf8(line) {
            Ok(s) => Ok(Some(WholeFile {
                uri: Cow::Borrowed(s),
            })),
            Err(e) => Err(DecodeError(format!(
                "a whole-file input line names no file: it is not UTF-8 ({e})"
            ))),
        }
    }

    fn format() -> String {
        "whole files (one a task)".into()
    }

    const WHOLE_FILES: bool = true;
}

impl<'a> WholeFile<'a> {
    /// The file named by `uri` (`file:///abs/path`, `hdfs://...`, or a path).
    ///
    /// ```
    /// use mr_core::input::whole_file::WholeFile;
    /// assert_eq!(WholeFile::new("file:///a/b.txt").name(), "b.txt");
    /// ```
    pub fn new(uri: impl Into<Cow<'a, str>>) -> Self {
        WholeFile { uri: uri.into() }
    }

    /// The file's URI, as the runner listed it: `file:///abs/path` locally,
    /// what `hadoop fs -ls` shows on Hadoop (`hdfs://nn/logs/a.gz`).
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The last part of the URI: the file's name (`a.gz` for
    /// `hdfs://nn/logs/a.gz`), as mrjob jobs take `posixpath.basename`.
    pub fn name(&self) -> &str {
        let u = self.uri.trim_end_matches('/');
        u.rsplit('/').next().unwrap_or(u)
    }

    /// The file on this machine's disk, undecompressed, when it is there:
    /// for a `file:` URI or a path, and not in a Hadoop task whose default
    /// file system is a cluster's (there a bare path is on the cluster).
    ///
    /// ```
    /// use mr_core::input::whole_file::WholeFile;
    /// use std::path::Path;
    /// assert_eq!(WholeFile::new("file:///data/a.gz").path(), Some(Path::new("/data/a.gz").into()));
    /// assert_eq!(WholeFile::new("hdfs://nn:8020/data/a.gz").path(), None);
    /// ```
    pub fn path(&self) -> Option<PathBuf> {
        match place(&self.uri, |k| std::env::var(k).ok()) {
            Place::Local(p) => Some(p),
            Place::Cluster => None,
        }
    }

    /// The file's bytes, decompressed when it is gzip, bzip2 or zstd (found
    /// from its first bytes). Errors, on opening or on any read, name the
    /// file.
    pub fn open(&self) -> Result<Box<dyn BufRead + Send>, JobError> {
        let uri = self.uri.to_string();
        let raw: Box<dyn Read + Send> = match place(&self.uri, |k| std::env::var(k).ok()) {
            Place::Local(p) => Box::new(
                std::fs::File::open(&p)
                    .map_err(|e| JobError::msg(format!("opening {uri}: {e}")))?,
            ),
            Place::Cluster => Box::new(ClusterCat::start(&hadoop_bin(), &uri)?),
        };
        // Its errors say `reading URI: ...`.
        let decoded = crate::input::lines::open_stream(raw, Path::new(&uri))?;
        Ok(Box::new(BufReader::with_capacity(
            1 << 16,
            Named {
                inner: decoded.bytes,
                uri,
            },
        )))
    }

    /// The whole file, decompressed (see [`open`](Self::open)).
    pub fn read_bytes(&self) -> Result<Vec<u8>, JobError> {
        let mut bytes = Vec::new();
        self.open()?.read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    /// The whole file as text, decompressed: UTF-8, or, when it is not,
    /// Latin-1 (every byte one character), as mrjob's `to_unicode` reads a
    /// file and as [`TextLine`](crate::TextLine) reads a line.
    pub fn read_text(&self) -> Result<String, JobError> {
        let bytes = self.read_bytes()?;
        Ok(match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => e.as_bytes().iter().map(|&b| char::from(b)).collect(),
        })
    }
}

/// Where the file `uri` is, for a task whose environment is `env`.
fn place(uri: &str, env: impl Fn(&str) -> Option<String>) -> Place {
    if uri.starts_with("file:") {
        return Place::Local(local_path(local_part(uri)));
    }
    if crate::input::listing::uri_scheme(uri).is_some() {
        return Place::Cluster;
    }
    // A bare path: in a Hadoop task, on the job's default file system
    // (Hadoop Streaming gives a task its configuration as environment
    // variables, dots as underscores).
    match env("fs_defaultFS").or_else(|| env("fs_default_name")) {
        Some(fs) if !fs.starts_with("file:") => Place::Cluster,
        _ => Place::Local(PathBuf::from(uri)),
    }
}

/// The file a `file:` URI's path names: the path with its `%XX` escapes
/// decoded when they decode to bytes that are not UTF-8
/// ([`crate::input::InputSource::uri`] writes a name so when its bytes are
/// not UTF-8, or would decode so), or, when no file has that name, the path
/// as it is; other escapes (`c%20d.txt`) are the name's own, as `uri`
/// writes it and Hadoop names it, unless no file has that name (a manifest
/// written by hand, URL-encoded).
fn local_path(path: &str) -> PathBuf {
    let p = PathBuf::from(path);
    if !crate::input::listing::has_percent_escape(path) {
        return p;
    }
    if !crate::input::listing::escapes_to_non_utf8(path) && p.exists() {
        return p;
    }
    let bytes = crate::input::listing::percent_decoded(path);
    #[cfg(unix)]
    let decoded =
        PathBuf::from(<std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(bytes));
    #[cfg(not(unix))]
    let decoded = PathBuf::from(String::from_utf8_lossy(&bytes).into_owned());
    if decoded.exists() { decoded } else { p }
}

/// The path of a `file:` URI (`file:///a` and Hadoop's `file:/a` are `/a`),
/// or the URI itself.
fn local_part(uri: &str) -> &str {
    let Some(rest) = uri.strip_prefix("file:") else {
        return uri;
    };
    match rest.strip_prefix("//") {
        // `file:///a` (no host) and `file://host/a` are both `/a`.
        Some(after) => after.find('/').map_or("/", |i| &after[i..]),
        None => rest,
    }
}

/// The `hadoop` a task runs to read a cluster file.
fn hadoop_bin() -> String {
    std::env::var(HADOOP_BIN_ENV)
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "hadoop".into())
}

/// Read errors that name the file.
struct Named {
    inner: Box<dyn Read + Send>,
    uri: String,
}

impl Read for Named {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner
            .read(buf)
            .map_err(|e| io::Error::new(e.kind(), format!("reading {}: {e}", self.uri)))
    }
}

/// Bytes of stderr kept for an error message.
const STDERR_TAIL_BYTES: usize = 4096;

/// A cluster file's bytes: `hadoop fs -cat URI`'s output. Its stderr is
/// drained on a thread of its own (so neither pipe can fill and block), and
/// its end is an error when the command failed, with what it said.
struct ClusterCat {
    child: Child,
    stdout: ChildStdout,
    stderr: Option<JoinHandle<Vec<u8>>>,
    command: String,
    done: bool,
}

impl ClusterCat {
    fn start(hadoop: &str, uri: &str) -> Result<ClusterCat, JobError> {
        let command = format!("{hadoop} fs -cat {uri}");
        let mut child = Command::new(hadoop)
            .args(["fs", "-cat", uri])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                JobError::msg(format!(
                    "reading {uri} from the cluster: cannot run `{command}`: {e} \
                     (set {HADOOP_BIN_ENV} to the hadoop command)"
                ))
            })?;
        let (Some(stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(JobError::msg(format!("`{command}`: no pipes")));
        };
        let stderr = std::thread::spawn(move || {
            let mut tail = Vec::new();
            let mut buf = [0u8; 8192];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                tail.extend_from_slice(&buf[..n]);
                if tail.len() > 2 * STDERR_TAIL_BYTES {
                    tail.drain(..tail.len() - STDERR_TAIL_BYTES);
                }
            }
            tail
        });
        Ok(ClusterCat {
            child,
            stdout,
            stderr: Some(stderr),
            command,
            done: false,
        })
    }

    /// At the end of the output: whether the command succeeded.
    fn finish(&mut self) -> io::Result<()> {
        self.done = true;
        let status = self.child.wait()?;
        let said = self
            .stderr
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        if status.success() {
            return Ok(());
        }
        let said = String::from_utf8_lossy(&said[said.len().saturating_sub(STDERR_TAIL_BYTES)..])
            .trim()
            .to_string();
        Err(io::Error::other(format!(
            "`{}` failed ({status}){}{said}",
            self.command,
            if said.is_empty() { "" } else { ": " }
        )))
    }
}

impl Read for ClusterCat {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.stdout.read(buf)?;
        if n == 0 && !buf.is_empty() && !self.done {
            self.finish()?;
        }
        Ok(n)
    }
}

impl Drop for ClusterCat {
    fn drop(&mut self) {
        if !self.done {
            // Read only in part: the rest is not wanted.
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn lines_are_json_strings_or_taken_whole() {
        let f = |l: &[u8]| {
            WholeFile::from_line(l)
                .unwrap()
                .map(|f| f.uri().to_string())
        };
        assert_eq!(
            f(br#""file:///a b/c.txt""#).as_deref(),
            Some("file:///a b/c.txt")
        );
        assert_eq!(
            f(b"hdfs://nn/logs/x.gz\r").as_deref(),
            Some("hdfs://nn/logs/x.gz")
        );
        assert_eq!(f(b"120\t\"hdfs://nn/x\"").as_deref(), Some("hdfs://nn/x"));
        assert_eq!(f(b"12\tplain").as_deref(), Some("12\tplain"));
        // A name that starts with a quote, unbalanced: taken whole.
        assert_eq!(f(b"\"odd name").as_deref(), Some("\"odd name"));
        assert_eq!(f(b"  "), None);
        assert!(WholeFile::from_line(b"/x/\xff").is_err());
        for name in [
            "a\tb",
            "new\nline",
            "q\"uote",
            "back\\slash",
            "caf\u{e9} $(rm -rf x)",
        ] {
            let uri = format!("file:///d/{name}");
            assert_eq!(
                f(manifest_line(&uri).as_bytes()).as_deref(),
                Some(uri.as_str())
            );
        }
    }

    #[test]
    fn where_a_file_is() {
        assert_eq!(place("file:///a/b", no_env), Place::Local("/a/b".into()));
        assert_eq!(place("file:/a/b", no_env), Place::Local("/a/b".into()));
        assert_eq!(
            place("file://localhost/a/b", no_env),
            Place::Local("/a/b".into())
        );
        assert_eq!(place("hdfs://nn:8020/a", no_env), Place::Cluster);
        assert_eq!(place("s3a://bucket/a", no_env), Place::Cluster);
        assert_eq!(place("/a/b", no_env), Place::Local("/a/b".into()));
        assert_eq!(place("rel/b:c", no_env), Place::Local("rel/b:c".into()));
        let hdfs = |k: &str| (k == "fs_defaultFS").then(|| "hdfs://nn:8020".to_string());
        assert_eq!(place("/a/b", hdfs), Place::Cluster);
        let local = |k: &str| (k == "fs_defaultFS").then(|| "file:///".to_string());
        assert_eq!(place("/a/b", local), Place::Local("/a/b".into()));
        assert_eq!(WholeFile::new("hdfs://nn/logs/").name(), "logs");
        assert_eq!(WholeFile::new("x.txt").name(), "x.txt");
    }

    #[cfg(unix)]
    #[test]
    fn a_name_that_is_not_utf8_is_opened_from_its_uri() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let name = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
        std::fs::write(dir.path().join(name), "x\n").unwrap();
        let uri = crate::input::InputSource::Path(dir.path().join(name)).uri();
        assert!(uri.ends_with("/caf%E9.txt"), "{uri}");
        assert_eq!(WholeFile::new(&uri).read_text().unwrap(), "x\n");
        // A file named `caf%E9.txt` beside it has a URI of its own, and
        // each URI opens its own file.
        let literal = dir.path().join("caf%E9.txt");
        std::fs::write(&literal, "y\n").unwrap();
        let literal_uri = crate::input::InputSource::Path(literal.clone()).uri();
        assert!(literal_uri.ends_with("/caf%25E9.txt"), "{literal_uri}");
        assert_eq!(WholeFile::new(&uri).read_text().unwrap(), "x\n");
        assert_eq!(WholeFile::new(&literal_uri).read_text().unwrap(), "y\n");
        // A name with escapes that decode to UTF-8 is written as it is, as
        // Hadoop and mrjob name it, and opens itself though a file has the
        // name it decodes to; a URL-encoded one written by hand opens the
        // file it decodes to when it names none.
        let spaced = dir.path().join("c%20d.txt");
        std::fs::write(&spaced, "z\n").unwrap();
        std::fs::write(dir.path().join("c d.txt"), "w\n").unwrap();
        let spaced_uri = crate::input::InputSource::Path(spaced.clone()).uri();
        assert!(spaced_uri.ends_with("/c%20d.txt"), "{spaced_uri}");
        assert_eq!(WholeFile::new(&spaced_uri).read_text().unwrap(), "z\n");
        let by_hand = format!("file://{}/c%20d%20e.txt", dir.path().display());
        std::fs::write(dir.path().join("c d e.txt"), "v\n").unwrap();
        assert_eq!(WholeFile::new(&by_hand).read_text().unwrap(), "v\n");
        // A manifest written by hand with the name as it is still opens it
        // (when no file has the name it decodes to).
        std::fs::remove_file(dir.path().join(name)).unwrap();
        let by_hand = format!("file://{}", literal.display());
        assert_eq!(WholeFile::new(&by_hand).read_text().unwrap(), "y\n");
    }

    #[test]
    fn open_decompresses_and_read_text_falls_back_to_latin1() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("a.txt");
        std::fs::write(&plain, b"caf\xe9\nline 2\n").unwrap();
        let gz = dir.path().join("b.txt.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all("über\n".as_bytes()).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();

        let uri = |p: &Path| format!("file://{}", p.display());
        assert_eq!(
            WholeFile::new(uri(&plain)).read_text().unwrap(),
            "café\nline 2\n"
        );
        assert_eq!(WholeFile::new(uri(&gz)).read_text().unwrap(), "über\n");
        assert_eq!(WholeFile::new(uri(&gz)).path(), Some(gz.clone()));
        // Hadoop's DefaultCodec, told by its name and zlib header.
        let deflate = dir.path().join("part-r-00000.deflate");
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"x^2\n").unwrap();
        std::fs::write(&deflate, enc.finish().unwrap()).unwrap();
        assert_eq!(WholeFile::new(uri(&deflate)).read_text().unwrap(), "x^2\n");

        let missing = WholeFile::new(uri(&dir.path().join("gone.txt")));
        let e = missing.read_bytes().unwrap_err().to_string();
        assert!(e.contains("gone.txt") && e.contains("No such file"), "{e}");

        // A cut gzip stream: the error names the file.
        let cut = dir.path().join("cut.gz");
        let whole = std::fs::read(&gz).unwrap();
        std::fs::write(&cut, &whole[..whole.len() - 6]).unwrap();
        let e = WholeFile::new(uri(&cut))
            .read_bytes()
            .unwrap_err()
            .to_string();
        assert!(e.contains("cut.gz"), "{e}");
    }

    #[test]
    fn a_failed_cluster_read_says_what_the_command_said() {
        // `sh` stands in for hadoop: `sh fs -cat URI` fails, saying so.
        let mut cat = ClusterCat::start("sh", "hdfs://nn/x").unwrap();
        let e = io::copy(&mut cat, &mut io::sink()).unwrap_err().to_string();
        assert!(
            e.contains("sh fs -cat hdfs://nn/x") && e.contains("failed"),
            "{e}"
        );
        let e = ClusterCat::start("/no/such/hadoop", "hdfs://nn/x")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains(HADOOP_BIN_ENV), "{e}");
    }
}
