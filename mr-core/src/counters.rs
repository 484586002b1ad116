//! Counters: `(group, name) -> amount`, kept per task and summed at the end.
//!
//! The engine's own counters live in the [`FRAMEWORK`] group; a job adds its
//! own through [`crate::Emitter::count`]. In task mode they are printed as
//! Hadoop Streaming reporter lines so that Hadoop sums them across tasks.

use crate::error::printable_line;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The group of the engine's own counters.
pub const FRAMEWORK: &str = "mr";
/// Where a job's counter in the group [`FRAMEWORK`] is kept (see
/// [`crate::Emitter::count`]).
pub const JOB_MR_GROUP: &str = "mr (job)";

/// Framework counter of input lines read with Python's `NaN`, `Infinity` or
/// `-Infinity` as `null` (see [`crate::protocol::python_constants_as_null`]).
pub const READ_AS_NULL: &str = "lines read with NaN or Infinity as null";

/// The framework counter of final records written as text lines that
/// cannot be read back (see [`crate::OutputProtocol::write_record`]).
pub const MANGLED: &str = "records written as text that a reader cannot split back";
/// Framework counter of the values of Parquet binary columns that are not
/// UTF-8, given to the mapper as the hex of their bytes (the others are
/// given as text).
pub const BINARY_AS_HEX: &str = "Parquet binary values not UTF-8 (given as hex)";
/// Last lines of live logs left for the next run, a writer still writing
/// them (see [`crate::input::LineReader::unfinished`]).
pub const UNFINISHED_LINES: &str = "lines still being written, left for the next run";

/// Named integer counters grouped like Hadoop's.
///
/// ```
/// use mr_core::Counters;
/// let mut a = Counters::default();
/// a.add("url_views", "no page_url", 2);
/// let mut b = Counters::default();
/// b.add("url_views", "no page_url", 3);
/// a.merge(&b);
/// assert_eq!(a.get("url_views", "no page_url"), 5);
/// ```
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counters {
    groups: BTreeMap<String, BTreeMap<String, i64>>,
    /// The first counter refused past [`MAX_COUNTERS`] (group, name), if any.
    refused: Option<Box<(String, String)>>,
}

/// Distinct counters a run keeps at most. A job that makes a counter of
/// each key (a URL, a user agent) grew memory with them, past the sort
/// buffer's bound (1.6 million names took 310 MB and 1.6 million lines of
/// summary: probe /tmp/probe13-complexity repro 04); Hadoop fails such a
/// job at 120 (`mapreduce.job.counters.max`). A counter past this many is
/// not kept, and the run fails once its step ends ([`Counters::too_many`]).
pub const MAX_COUNTERS: usize = 10_000;

/// A counter's group or name as [`Counters`] keeps it, on every runner as
/// Hadoop's counter lines carry it: a comma as a semicolon, and a newline,
/// a control or an invisible character escaped ([`printable_line`]), as
/// task mode writes it (a name with a newline was a real newline locally
/// and the text `\n` on Hadoop, Spark and emulate: probe /tmp/probe11-jobs
/// repro 07). Borrowed when it is printable ASCII without a comma (most).
fn stored(s: &str) -> std::borrow::Cow<'_, str> {
    if s.bytes().all(|b| (b' '..=b'~').contains(&b) && b != b',') {
        return std::borrow::Cow::Borrowed(s);
    }
    match printable_line(s) {
        line if line.contains(',') => std::borrow::Cow::Owned(line.replace(',', ";")),
        line => line,
    }
}

impl Counters {
    /// Adds `amount` to counter `(group, name)`.
    ///
    /// A comma in the group or the name is kept as a semicolon, as mrjob's
    /// `increment_counter` does on every runner: Hadoop's counter lines
    /// (`reporter:counter:GROUP,NAME,AMOUNT`) cannot carry one, so every
    /// runner names the counter alike; for the same reason a newline or a
    /// control character is kept escaped (`\n`).
    ///
    /// ```
    /// use mr_core::Counters;
    /// let mut c = Counters::default();
    /// c.add("words", "(1, 'a')", 2);
    /// assert_eq!(c.get("words", "(1; 'a')"), 2);
    /// assert_eq!(c.get("words", "(1, 'a')"), 2);
    /// c.add("lines", "ends in \r", 1);
    /// assert_eq!(c.get("lines", "ends in \\r"), 1);
    /// ```
    pub fn add(&mut self, group: &str, name: &str, amount: i64) {
        // Counters are bumped per record: looked up as given first. A name
        // kept otherwise (a comma, an escape) holds none of what `stored`
        // changes, so no name given otherwise is found as it is.
        if let Some(v) = self.groups.get_mut(group).and_then(|g| g.get_mut(name)) {
            *v += amount;
            return;
        }
        let (group, name) = (stored(group), stored(name));
        if let Some(v) = self.groups.get_mut(&*group).and_then(|g| g.get_mut(&*name)) {
            *v += amount;
            return;
        }
        // The engine's own counters (a few a step) are always kept.
        if group != FRAMEWORK && self.job_counters() >= MAX_COUNTERS {
            if self.refused.is_none() {
                self.refused = Some(Box::new((group.into_owned(), name.into_owned())));
            }
            return;
        }
        self.groups
            .entry(group.into_owned())
            .or_default()
            .insert(name.into_owned(), amount);
    }

    /// How many counters the job made (outside [`FRAMEWORK`]): a sum over
    /// the groups, which are few, taken only when a name is new.
    fn job_counters(&self) -> usize {
        self.groups
            .iter()
            .filter(|(g, _)| *g != FRAMEWORK)
            .map(|(_, names)| names.len())
            .sum()
    }

    /// The run's error when a counter was refused past [`MAX_COUNTERS`]:
    /// its counters would be wrong, so the run fails rather than report
    /// them.
    ///
    /// ```
    /// use mr_core::counters::{Counters, MAX_COUNTERS};
    /// let mut c = Counters::default();
    /// for i in 0..MAX_COUNTERS {
    ///     c.add("status", &i.to_string(), 1);
    /// }
    /// assert!(c.too_many().is_none());
    /// c.add("status", "0", 1); // a counter it has
    /// assert!(c.too_many().is_none());
    /// c.add("status", "one more", 1);
    /// let e = c.too_many().unwrap();
    /// assert!(e.contains("status/one more"), "{e}");
    /// assert_eq!(c.get("status", "one more"), 0);
    /// ```
    pub fn too_many(&self) -> Option<String> {
        let (group, name) = self.refused.as_deref()?;
        Some(format!(
            "the job made more than {MAX_COUNTERS} distinct counters (the first not kept: \
             {}/{}): counters are for a few totals, each kept in memory and printed; count \
             per key with the job's output instead (Hadoop fails a job past 120, \
             mapreduce.job.counters.max)",
            printable_line(group),
            printable_line(name)
        ))
    }

    /// The value of a counter, 0 if never set (commas read as semicolons,
    /// as [`Counters::add`] stores them).
    pub fn get(&self, group: &str, name: &str) -> i64 {
        self.groups
            .get(&*stored(group))
            .and_then(|g| g.get(&*stored(name)))
            .copied()
            .unwrap_or(0)
    }

    /// The framework counter `name` summed over the steps (`step 0: NAME`,
    /// `step 1: NAME`, ...).
    ///
    /// ```
    /// use mr_core::counters::{Counters, FRAMEWORK};
    /// let mut c = Counters::default();
    /// c.add(FRAMEWORK, "step 0: skipped records", 2);
    /// c.add(FRAMEWORK, "step 1: skipped records", 3);
    /// c.add("job", "step 1: skipped records", 7);
    /// assert_eq!(c.all_steps("skipped records"), 5);
    /// ```
    pub fn all_steps(&self, name: &str) -> i64 {
        self.groups.get(FRAMEWORK).map_or(0, |g| {
            g.iter()
                .filter(|(n, _)| {
                    n.strip_prefix("step ")
                        .and_then(|rest| rest.split_once(": "))
                        .is_some_and(|(step, n)| n == name && step.parse::<usize>().is_ok())
                })
                .map(|(_, v)| *v)
                .sum()
        })
    }

    /// Adds every counter of `other` into `self`.
    pub fn merge(&mut self, other: &Counters) {
        for (g, names) in &other.groups {
            for (n, v) in names {
                self.add(g, n, *v);
            }
        }
        if self.refused.is_none() {
            self.refused.clone_from(&other.refused);
        }
    }

    /// Iterates `(group, name, amount)` in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, i64)> {
        self.groups
            .iter()
            .flat_map(|(g, names)| names.iter().map(move |(n, v)| (g.as_str(), n.as_str(), *v)))
    }

    /// True when no counter was ever added.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// A human-readable report, one group per paragraph, as printed on stderr
    /// at the end of a run.
    pub fn report(&self) -> String {
        let mut out = String::from("Counters:\n");
        for (g, names) in &self.groups {
            let _ = writeln!(out, "  {}", printable_line(g));
            for (n, v) in names {
                let _ = writeln!(out, "    {}={v}", printable_line(n));
            }
        }
        out
    }

    /// Hadoop Streaming reporter lines: `reporter:counter:GROUP,NAME,AMOUNT`.
    /// Group and name hold no comma ([`Counters::add`]), and control
    /// characters are escaped
    /// ([`printable_line`]): a newline in a name would start a line of
    /// Hadoop's protocol of its own.
    pub fn reporter_lines(&self) -> String {
        let mut out = String::new();
        for (g, n, v) in self.iter() {
            let _ = writeln!(
                out,
                "reporter:counter:{},{},{}",
                printable_line(g),
                printable_line(n),
                v
            );
        }
        out
    }
}

/// Counters the engine keeps per task as plain fields (a field bump costs
/// nothing; a map lookup per record would).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct TaskStats {
    pub map_tasks: u64,
    pub input_bytes: u64,
    pub input_records: u64,
    pub blank_lines: u64,
    pub map_output_records: u64,
    pub map_output_bytes: u64,
    pub combine_input_records: u64,
    pub combine_output_records: u64,
    pub spills: u64,
    pub runs: u64,
    pub spilled_records: u64,
    pub spilled_bytes: u64,
    pub merge_passes: u64,
    pub reduce_groups: u64,
    pub reduce_input_records: u64,
    pub output_records: u64,
    pub output_bytes: u64,
    pub skipped_records: u64,
    pub read_as_null: u64,
}

impl TaskStats {
    pub fn add(&mut self, o: &TaskStats) {
        self.map_tasks += o.map_tasks;
        self.input_bytes += o.input_bytes;
        self.input_records += o.input_records;
        self.blank_lines += o.blank_lines;
        self.map_output_records += o.map_output_records;
        self.map_output_bytes += o.map_output_bytes;
        self.combine_input_records += o.combine_input_records;
        self.combine_output_records += o.combine_output_records;
        self.spills += o.spills;
        self.runs += o.runs;
        self.spilled_records += o.spilled_records;
        self.spilled_bytes += o.spilled_bytes;
        self.merge_passes += o.merge_passes;
        self.reduce_groups += o.reduce_groups;
        self.reduce_input_records += o.reduce_input_records;
        self.output_records += o.output_records;
        self.output_bytes += o.output_bytes;
        self.skipped_records += o.skipped_records;
        self.read_as_null += o.read_as_null;
    }

    /// Writes the stats into `c` under the framework group, prefixed by the step.
    pub fn export(&self, step: usize, c: &mut Counters) {
        let p = |n: &str| format!("step {step}: {n}");
        let fields: [(&str, u64); 19] = [
            ("map tasks", self.map_tasks),
            ("input bytes", self.input_bytes),
            ("input records", self.input_records),
            ("blank input lines", self.blank_lines),
            ("map output records", self.map_output_records),
            ("map output bytes", self.map_output_bytes),
            ("combine input records", self.combine_input_records),
            ("combine output records", self.combine_output_records),
            ("spills (sort buffer full)", self.spills),
            ("sorted runs written", self.runs),
            ("spilled records", self.spilled_records),
            ("spilled bytes", self.spilled_bytes),
            ("merge passes", self.merge_passes),
            ("reduce groups", self.reduce_groups),
            ("reduce input records", self.reduce_input_records),
            ("output records", self.output_records),
            ("output bytes", self.output_bytes),
            ("skipped records", self.skipped_records),
            (READ_AS_NULL, self.read_as_null),
        ];
        for (name, v) in fields {
            c.add(FRAMEWORK, &p(name), v as i64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reporter_lines_escape_commas() {
        let mut c = Counters::default();
        c.add("a,b", "c", 3);
        c.add("a;b", "c", 1);
        assert_eq!(c.reporter_lines(), "reporter:counter:a;b,c,4\n");
        assert_eq!(c.report(), "Counters:\n  a;b\n    c=4\n");
        // A name taken from a record cannot forge a line of the protocol
        // nor drive the terminal the summary is printed on.
        let mut c = Counters::default();
        c.add("g", "x\nreporter:counter:g,forged,9\x1b[2J", 1);
        assert_eq!(
            c.reporter_lines(),
            "reporter:counter:g,x\\nreporter:counter:g;forged;9\\u{1b}[2J,1\n"
        );
        assert!(!c.report().contains('\x1b') && c.report().lines().count() == 3);
    }

    /// A name is kept as a cluster's counter lines carry it, so every
    /// runner names the counter alike (probe /tmp/probe11-jobs repro 07).
    #[test]
    fn names_are_kept_as_counter_lines_carry_them() {
        let mut local = Counters::default();
        local.add("g", "new\nline", 1);
        local.add("g\r", "tab\there", 2);
        assert_eq!(local.get("g", "new\\nline"), 1);
        let mut cluster = Counters::default();
        for line in local.reporter_lines().lines() {
            let fields = line.strip_prefix("reporter:counter:").unwrap();
            let mut f = fields.rsplitn(2, ',');
            let amount: i64 = f.next().unwrap().parse().unwrap();
            let (group, name) = f.next().unwrap().split_once(',').unwrap();
            cluster.add(group, name, amount);
        }
        assert_eq!(cluster, local);
        assert_eq!(
            local.reporter_lines(),
            "reporter:counter:g,new\\nline,1\nreporter:counter:g\\r,tab\there,2\n"
        );
    }

    #[test]
    fn merge_sums() {
        let mut a = Counters::default();
        a.add("g", "x", 1);
        let mut b = Counters::default();
        b.add("g", "x", 2);
        b.add("g", "y", 5);
        a.merge(&b);
        assert_eq!(a.get("g", "x"), 3);
        assert_eq!(a.get("g", "y"), 5);
        assert_eq!(a.get("g", "z"), 0);
    }
}
