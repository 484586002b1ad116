//! The speed of [`mr_jobs::json_scan::scan_field`] alone, over one NDJSON
//! file held in memory: the part of url_views' time that is its own (the
//! rest is reading, hashing and counting).
//!
//! ```sh
//! cargo run --release -p mr-jobs --example json_scan_speed -- \
//!     bench/data/run/clicklog-1000000000/part-00000.jsonl
//! ```
//!
//! Prints the best of 7 passes in MB/s, and how many lines the scan left to
//! serde_json (`unsure`).

use mr_jobs::json_scan::{Scan, scan_field};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: json_scan_speed FILE.jsonl")?;
    let data = std::fs::read(&path).map_err(|e| format!("{path}: {e}"))?;
    let lines: Vec<&[u8]> = data
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let mut best = f64::MAX;
    let mut unsure = 0;
    for _ in 0..7 {
        let started = Instant::now();
        let (mut found, mut left) = (0usize, 0usize);
        for line in &lines {
            match scan_field(line, b"page_url") {
                Scan::Object(Some(url)) => found += url.len(),
                Scan::Object(None) => {}
                Scan::Unsure => left += 1,
            }
        }
        best = best.min(started.elapsed().as_secs_f64());
        std::hint::black_box(found);
        unsure = left;
    }
    println!(
        "{path}: {:.0} MB/s ({} lines, {unsure} unsure, best of 7: {:.4} s)",
        data.len() as f64 / best / 1e6,
        lines.len(),
        best
    );
    Ok(())
}
