//! `mr gen`: deterministic test data for jobs and benchmarks.
//!
//! Two kinds of data are generated:
//!
//! * [`clicklog`]: MOOC click logs, one JSON object per line (`part-NNNNN.jsonl`), with Zipf-skewed users
//!   and URLs, interleaved per-user sessions in global time order, video watching with long pauses and
//!   rewatches, nested JSON in the `value` field, non-ASCII text, missing/null fields and, on request,
//!   truncated (malformed) lines.
//! * [`text`]: prose-like lines for word count (`part-NNNNN.txt`) with a Zipf vocabulary of any size,
//!   mixed case, punctuation, apostrophes, digits, non-ASCII words, empty lines and CRLF endings.
//!
//! # Determinism
//!
//! The same arguments and seed give byte-identical uncompressed output on every machine: the generators use
//! `ChaCha8Rng::seed_from_u64`, draw integers only as `u32`/`u64` (never `usize`), and use no
//! transcendental float functions (whose last bit may differ between C libraries). Zipf draws therefore go
//! through [`zipf::ZipfTable`] (weights `1/(k+q)`, built with `+ - * /` only) instead of `rand_distr::Zipf`.
//! Gzipped files are reproducible too for a given `flate2` backend (the gzip header has no time stamp).
//!
//! # Layout
//!
//! `--size` is the total number of uncompressed bytes (exceeded by at most one line). Lines are cut into
//! `--files` consecutive chunks of about `size / files` bytes each, so each file covers one time range of the
//! log; the last `--gz-files` files are gzipped. Every file is written even if it ends up empty.
//! Each is written under a hidden temp name and all are renamed into place once complete, so a part
//! file always holds a whole part (see `sink::PartWriter`); Ctrl-C stops the generator at once.

pub mod clicklog;
mod json;
mod sink;
pub mod text;
mod words;
mod zipf;

use std::path::PathBuf;
use std::time::Instant;

pub use clicklog::clicklog;
pub use text::text;

/// Bytes in a kilobyte (`KB`), as in `dd` and GNU `sort`.
const KB: u64 = 1000;
/// Bytes in a kibibyte (`K`, `KiB`).
const KIB: u64 = 1024;

/// `mr gen` arguments.
#[derive(clap::Args, Debug)]
pub struct GenArgs {
    /// What to generate.
    #[command(subcommand)]
    pub kind: GenKind,
}

/// The kinds of data `mr gen` writes.
#[derive(clap::Subcommand, Debug)]
pub enum GenKind {
    /// MOOC click logs: one JSON object per line, Zipf-skewed users and URLs, interleaved sessions.
    Clicklog(ClicklogArgs),
    /// Prose-like text for word count: Zipf vocabulary, mixed case, punctuation, some non-ASCII words.
    Text(TextArgs),
}

/// Arguments of `mr gen clicklog`.
#[derive(clap::Args, Debug, Clone)]
pub struct ClicklogArgs {
    /// Total uncompressed size, e.g. 1GB, 300MB, 64KiB or a plain number of bytes
    /// (KB/MB/GB are powers of 1000; K/M/G and KiB/MiB/GiB powers of 1024).
    #[arg(long, value_parser = parse_size)]
    pub size: u64,
    /// Seed of the random generator: the same seed and arguments give byte-identical output.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Output directory, created if missing. The part files an earlier `mr gen` wrote there are
    /// replaced once the new ones are complete (Ctrl-C leaves them as they were); any other
    /// `part-NNNNN.{jsonl,txt}[.gz]` file there makes it refuse the directory.
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// Number of files to write.
    #[arg(long, default_value_t = 8)]
    pub files: u32,
    /// How many of the files (the last ones) are gzipped.
    #[arg(long, default_value_t = 2)]
    pub gz_files: u32,
    /// Fraction of lines that are malformed (truncated JSON), between 0 and 1.
    #[arg(long, default_value_t = 0.0)]
    pub bad_fraction: f64,
    /// Number of distinct users (activity is Zipf-skewed).
    #[arg(long, default_value_t = 40_000)]
    pub users: u32,
    /// Approximate number of distinct page URLs (popularity is Zipf-skewed).
    #[arg(long, default_value_t = 3_000)]
    pub urls: u32,
}

/// Arguments of `mr gen text`.
#[derive(clap::Args, Debug, Clone)]
pub struct TextArgs {
    /// Total uncompressed size, e.g. 1GB, 300MB, 64KiB or a plain number of bytes
    /// (KB/MB/GB are powers of 1000; K/M/G and KiB/MiB/GiB powers of 1024).
    #[arg(long, value_parser = parse_size)]
    pub size: u64,
    /// Seed of the random generator: the same seed and arguments give byte-identical output.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Output directory, created if missing. The part files an earlier `mr gen` wrote there are
    /// replaced once the new ones are complete (Ctrl-C leaves them as they were); any other
    /// `part-NNNNN.{jsonl,txt}[.gz]` file there makes it refuse the directory.
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// Number of files to write.
    #[arg(long, default_value_t = 4)]
    pub files: u32,
    /// How many of the files (the last ones) are gzipped.
    #[arg(long, default_value_t = 1)]
    pub gz_files: u32,
    /// Number of distinct words, drawn Zipf-like. Any size works: words are derived from their rank,
    /// no word list is stored.
    #[arg(long, default_value_t = 50_000)]
    pub vocab: u64,
}

/// What a generator wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenSummary {
    /// The files written, in order (`part-00000...`).
    pub files: Vec<PathBuf>,
    /// Uncompressed bytes written, line endings included.
    pub bytes: u64,
    /// Lines written (empty and malformed lines included).
    pub lines: u64,
}

/// Runs `mr gen`: generates the data and prints a one-line summary to stderr.
pub fn run(args: &GenArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let (what, output, gz_files, summary) = match &args.kind {
        GenKind::Clicklog(a) => ("clicklog", &a.output, a.gz_files, clicklog(a)?),
        GenKind::Text(a) => ("text", &a.output, a.gz_files, text(a)?),
    };
    let secs = started.elapsed().as_secs_f64();
    let mb_per_s = if secs > 0.0 {
        summary.bytes as f64 / 1e6 / secs
    } else {
        0.0
    };
    mr_core::errln!(
        "mr gen {what}: wrote {} lines, {} bytes (uncompressed) to {} file{} ({gz_files} gzipped) in {}, \
         {secs:.1} s ({mb_per_s:.0} MB/s)",
        summary.lines,
        summary.bytes,
        summary.files.len(),
        if summary.files.len() == 1 { "" } else { "s" },
        output.display(),
    );
    Ok(())
}

/// Parses a size such as `1GB`, `300MB`, `64KiB`, `1.5G` or `1000` (bytes).
///
/// Units are case-insensitive and may follow a space: `B`; `KB`, `MB`, `GB`, `TB` are powers of 1000;
/// `K`, `M`, `G`, `T` and `KiB`, `MiB`, `GiB`, `TiB` are powers of 1024 (as in GNU `sort -S` and `dd`).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let unit = unit.trim_start().to_ascii_lowercase();
    let multiplier = match unit.as_str() {
        "" | "b" => 1,
        "kb" => KB,
        "mb" => KB.pow(2),
        "gb" => KB.pow(3),
        "tb" => KB.pow(4),
        "k" | "kib" => KIB,
        "m" | "mib" => KIB.pow(2),
        "g" | "gib" => KIB.pow(3),
        "t" | "tib" => KIB.pow(4),
        _ => {
            return Err(format!(
                "invalid size {s:?}: unknown unit {unit:?} (use B, KB, MB, GB, TB, K, M, G, T, KiB, MiB, GiB, TiB)"
            ));
        }
    };
    if num.is_empty() {
        return Err(format!("invalid size {s:?}: expected a number, e.g. 300MB"));
    }
    if num.contains('.') {
        let value: f64 = num
            .parse()
            .map_err(|e| format!("invalid size {s:?}: {e}"))?;
        let bytes = (value * multiplier as f64).round();
        if !(bytes >= 0.0 && bytes < u64::MAX as f64) {
            return Err(format!("invalid size {s:?}: too large"));
        }
        Ok(bytes as u64)
    } else {
        num.parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(multiplier))
            .ok_or_else(|| format!("invalid size {s:?}: too large"))
    }
}

/// Checks the file layout arguments shared by both generators: a mistake
/// is a usage error (exit status 2), as for `mr run`.
fn check_layout(files: u32, gz_files: u32) -> anyhow::Result<()> {
    if files < 1 {
        crate::usage!("--files must be at least 1");
    }
    if gz_files > files {
        crate::usage!("--gz-files ({gz_files}) must not exceed --files ({files})");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// The concatenated uncompressed contents of `files` (gzipped ones decompressed).
    pub(crate) fn read_parts(files: &[PathBuf]) -> Vec<u8> {
        let mut all = Vec::new();
        for path in files {
            let bytes = std::fs::read(path).unwrap();
            if path.extension().is_some_and(|e| e == "gz") {
                flate2::read::GzDecoder::new(&bytes[..])
                    .read_to_end(&mut all)
                    .unwrap();
            } else {
                all.extend_from_slice(&bytes);
            }
        }
        all
    }

    #[test]
    fn parse_size_units() {
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("64KB"), Ok(64_000));
        assert_eq!(parse_size("64kb"), Ok(64_000));
        assert_eq!(parse_size("64K"), Ok(65_536));
        assert_eq!(parse_size("64KiB"), Ok(65_536));
        assert_eq!(parse_size("300MB"), Ok(300_000_000));
        assert_eq!(parse_size("300 mib"), Ok(300 << 20));
        assert_eq!(parse_size("1GB"), Ok(1_000_000_000));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert_eq!(parse_size("1.5GB"), Ok(1_500_000_000));
        assert_eq!(parse_size(" 12b "), Ok(12));
        assert_eq!(parse_size("0"), Ok(0));
    }

    #[test]
    fn parse_size_errors() {
        for bad in [
            "",
            "GB",
            "12XB",
            "-1",
            "1.2.3MB",
            "99999999999999999999",
            "20000000TB",
        ] {
            assert!(parse_size(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn layout_checked() {
        for (files, gz) in [(0, 0), (2, 3)] {
            let e = check_layout(files, gz).unwrap_err();
            assert!(e.is::<crate::UsageError>(), "{e}");
        }
        assert!(check_layout(2, 2).is_ok());
    }
}
