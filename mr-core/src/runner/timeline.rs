//! What a local run did and when, for the summary and the report: the wall
//! time of each phase, one record per task (thread, start and end, bytes and
//! records), and per reduce partition its size and heaviest keys.
//!
//! Collected cheaply: one clock reading at each task's start and end, and
//! figures the tasks count anyway. Times are seconds from the run's start.

use serde::Serialize;
use std::time::Instant;

/// One phase of one step: `map`, `merge`, `reduce` or `output`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PhaseRecord {
    /// 0-based step.
    pub step: usize,
    /// `map`, `merge`, `reduce` or `output`.
    pub phase: &'static str,
    /// Wall seconds the phase took. For `merge` and `reduce` (which run
    /// inside the same reduce tasks) the reduce phase's wall time is shared
    /// out by the tasks' time spent merging runs and reducing.
    pub secs: f64,
}

/// One task: what ran where and when.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TaskRecord {
    /// 0-based step.
    pub step: usize,
    /// `map` or `reduce`.
    pub phase: &'static str,
    /// The split (map) or partition (reduce) number.
    pub task: usize,
    /// For a map task over a piece of a stream split: the piece's number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub piece: Option<usize>,
    /// The worker thread that ran it (0-based).
    pub thread: usize,
    /// Seconds from the run's start.
    pub start: f64,
    /// Seconds from the run's start.
    pub end: f64,
    /// For reduce tasks: when merging runs ended and reducing began.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merge_end: Option<f64>,
    /// Bytes read (map: input bytes; reduce: sorted-run bytes).
    pub input_bytes: u64,
    /// Records read.
    pub records_in: u64,
    /// Records written (map: what the mapper emitted, before a combiner,
    /// the task's `map output records`; reduce: output records). A
    /// fold's map tasks carry their tables on to the next task of their
    /// thread, and the tables are written when the step's map phase ends:
    /// 0 for them (the counter `map output records` holds what they wrote).
    pub records_out: u64,
    /// Sort-buffer spills (map tasks).
    pub spills: u64,
}

/// One reduce partition: its size and its heaviest keys.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PartitionRecord {
    /// 0-based step.
    pub step: usize,
    /// The partition number (its part file's number).
    pub partition: usize,
    /// Bytes of sorted runs it merged.
    pub bytes: u64,
    /// Values it reduced.
    pub records: u64,
    /// The keys with the most values, most first: `(key as JSON, values)`.
    pub heavy_keys: Vec<(String, u64)>,
}

/// The run's clock and its records.
#[derive(Debug, Clone)]
pub(crate) struct Timeline {
    pub started: Instant,
    pub phases: Vec<PhaseRecord>,
    pub tasks: Vec<TaskRecord>,
    pub partitions: Vec<PartitionRecord>,
}

impl Timeline {
    pub fn new(started: Instant) -> Timeline {
        Timeline {
            started,
            phases: Vec::new(),
            tasks: Vec::new(),
            partitions: Vec::new(),
        }
    }

    /// Seconds since the run started.
    pub fn now(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    pub fn phase(&mut self, step: usize, phase: &'static str, since: f64) {
        let secs = (self.now() - since).max(0.0);
        self.phases.push(PhaseRecord { step, phase, secs });
    }
}

/// How much of a heavy key a report keeps: a longer one is cut there (at a
/// character's start) and ends `… (N bytes)`, N its length.
///
/// ```
/// assert_eq!(mr_core::runner::timeline::HEAVY_KEY_BYTES, 1024);
/// ```
pub const HEAVY_KEY_BYTES: usize = 1024;

/// The top `N` keys of a reduce task by number of values, kept as the
/// task goes: one comparison per key, a copy only when a key enters, of
/// its first [`HeavyKeys::SHOWN`] bytes (a key of a whole HTML page must
/// not make the report, or the task's memory, that size).
#[derive(Debug, Default)]
pub(crate) struct HeavyKeys {
    /// Values, the key's first bytes, and its whole length.
    top: Vec<(u64, Vec<u8>, usize)>,
}

impl HeavyKeys {
    /// How many keys each reduce task keeps.
    pub const N: usize = 5;

    /// How much of a key is kept and shown.
    pub const SHOWN: usize = HEAVY_KEY_BYTES;

    pub fn offer(&mut self, key: &[u8], values: u64) {
        if self.top.len() == Self::N {
            match self.top.last() {
                Some((least, _, _)) if values <= *least => return,
                _ => {}
            }
            self.top.pop();
        }
        let at = self.top.partition_point(|(v, _, _)| *v >= values);
        let mut cut = key.len().min(Self::SHOWN);
        // Not inside a UTF-8 character.
        while cut > 0 && cut < key.len() && key[cut] & 0xC0 == 0x80 {
            cut -= 1;
        }
        self.top
            .insert(at, (values, key[..cut].to_vec(), key.len()));
    }

    /// The keys, most values first; a key longer than [`Self::SHOWN`]
    /// bytes is cut there and says its length (`"abc… (4000000 bytes)`).
    pub fn into_vec(self) -> Vec<(String, u64)> {
        self.top
            .into_iter()
            .map(|(v, k, len)| {
                let mut shown = String::from_utf8_lossy(&k).into_owned();
                if len > k.len() {
                    shown.push_str(&format!("… ({len} bytes)"));
                }
                (shown, v)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heavy_keys_keeps_the_top_n_most_first() {
        let mut h = HeavyKeys::default();
        for (i, n) in [3u64, 9, 1, 7, 7, 2, 10, 4].iter().enumerate() {
            h.offer(format!("k{i}").as_bytes(), *n);
        }
        let top = h.into_vec();
        let counts: Vec<u64> = top.iter().map(|(_, n)| *n).collect();
        assert_eq!(counts, [10, 9, 7, 7, 4]);
        assert_eq!(top[0].0, "k6");
    }

    #[test]
    fn a_long_key_is_cut_at_a_character_and_says_its_length() {
        let mut h = HeavyKeys::default();
        let long = format!("\"{}\"", "é".repeat(HeavyKeys::SHOWN));
        h.offer(long.as_bytes(), 2);
        h.offer(b"\"short\"", 1);
        let top = h.into_vec();
        let (shown, n) = &top[0];
        assert_eq!(*n, 2);
        let len = long.len();
        let (head, tail) = shown.split_once('…').unwrap();
        assert_eq!(tail, format!(" ({len} bytes)"));
        assert!(head.len() <= HeavyKeys::SHOWN && head.len() > HeavyKeys::SHOWN - 4);
        assert!(long.starts_with(head));
        assert_eq!(top[1].0, "\"short\"");
    }
}
