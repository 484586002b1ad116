//! A map task: split (or a pack of small files' splits) -> lines -> a mapper
//! per split -> emitter -> sort buffer (or, for a map-only step, straight to
//! a part file).

use crate::counters::{Counters, TaskStats};
use crate::emit::RecordSink;
use crate::error::{Location, Result};
use crate::fold::{CarriedTable, flush_counted};
use crate::input::LineReader;
use crate::input::Split;
use crate::input::lines::{
    first_buffer_bytes, is_corrupt_data, line_number_at, open_split, open_stream_split, read_error,
};
use crate::input::listing::{Compression, InputSource};
use crate::input::pieces::{Piece, Rest};
use crate::input::read_ahead::{DecodeCost, thread_cpu_time};
use crate::input::whole_file::manifest_line;
use crate::job::{MapFn, RecordError, Step, TaskContext, TaskKind};
use crate::output::bad::{BadRecordPolicy, BadRecords};
use crate::output::part::PartWriter;
use crate::shuffle::buffer::SortBuffer;
use crate::shuffle::spill::Run;
use std::path::{Path, PathBuf};

/// What a map task needs from its runner.
pub(crate) struct MapEnv<'a> {
    pub step_index: usize,
    pub step: &'a Step,
    pub partitions: usize,
    pub buffer_bytes: usize,
    pub spill_dir: &'a Path,
    /// Spill files merged at once (see `SortBuffer::compact`).
    pub fan_in: usize,
    pub skip_bad: bool,
    pub bad_dir: &'a Path,
    /// Where to report input bytes read (first step only).
    pub progress: Option<&'a crate::runner::progress::Progress>,
    /// For a map-only step: the directory of this task's part file.
    pub part_dir: Option<&'a Path>,
    /// The columns to read from tables (Parquet), when the job says.
    pub columns: Option<&'a [String]>,
    /// The job's options, files and jobconf.
    pub params: &'a std::sync::Arc<crate::options::JobParams>,
    /// The longest line given to the mapper (`--max-line-mb`).
    pub max_line: usize,
    /// Where a fold step's tasks leave their tables for the next task on
    /// their thread (`None`: each task flushes its own).
    pub carry: Option<&'a Carry>,
}

/// The fold tables a step's map tasks hand on, one slot per thread: a task
/// takes its thread's table, folds into it, and leaves it unflushed for the
/// next; [`drain_carried`] flushes what is left when the map phase ends. Keys
/// that recur across the input are then sent on about once per thread rather
/// than once per task: on 400 MB of logs with 100k distinct URLs, 838k values
/// made 515k records to sort, spill and merge with a table per task.
///
/// A table is never dropped unflushed: a task whose slot is taken flushes
/// its table into its own output, as without carrying.
pub(crate) struct Carry {
    slots: Vec<std::sync::Mutex<Option<Box<dyn CarriedTable>>>>,
}

impl Carry {
    /// Slots for a pool of `threads` threads.
    pub fn new(threads: usize) -> Carry {
        Carry {
            slots: (0..threads.max(1)).map(|_| Default::default()).collect(),
        }
    }

    /// This thread's slot.
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Box<dyn CarriedTable>>> {
        let i = rayon::current_thread_index().unwrap_or(0) % self.slots.len();
        // A task that panicked holding the lock left a whole table or none.
        self.slots[i].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The table this thread's last task left, if any.
    fn take(&self) -> Option<Box<dyn CarriedTable>> {
        self.slot().take()
    }

    /// Leaves `table` for the next task on this thread; gives it back when
    /// the slot holds one already.
    fn put(&self, table: Box<dyn CarriedTable>) -> Option<Box<dyn CarriedTable>> {
        let mut slot = self.slot();
        match *slot {
            Some(_) => Some(table),
            None => {
                *slot = Some(table);
                None
            }
        }
    }

    /// Every table left, taken out.
    pub fn take_all(&self) -> Vec<Box<dyn CarriedTable>> {
        let slots = self.slots.iter();
        slots
            .filter_map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).take())
            .collect()
    }
}

impl MapEnv<'_> {
    /// A fold step's table budget: half the task's, its sort buffer the
    /// other half (only one split's mapper, and table, lives at a time).
    fn fold_budget(&self) -> Option<usize> {
        self.step.folds.then_some(self.buffer_bytes / 2)
    }
}

/// What a map task reads.
pub(crate) enum MapInput<'a> {
    /// Its split, whole.
    Split,
    /// A split that is a stream (see [`crate::input::lines::is_stream`]),
    /// read until it spends much more CPU per byte than the stream's decoder
    /// while `wanted` says that workers wait for work (or, `always`, after
    /// its first line): then the task ends there and hands the rest back
    /// ([`MapResult::rest`]), to be cut into pieces.
    Stream {
        wanted: &'a (dyn Fn() -> bool + Sync),
        always: bool,
    },
    /// A piece of a stream split.
    Piece(Piece),
    /// Its split's file, whole, for a mapper that reads whole files: the
    /// task's one input line is the file's URI (see
    /// [`crate::input::whole_file`]); the mapper reads the file itself.
    WholeFile,
}

/// Checks (of every 1024 lines) in a row that must find this task spending
/// [`HANDOFF_COST`] times the CPU per byte of the stream's decoder, and a
/// worker idle, before a stream task hands its rest over.
const HANDOFF_CHECKS: u32 = 16;
/// How much more CPU per byte than its decoder a stream task must spend for
/// pieces to pay for their cost (bytes copied once more, a task per piece):
/// the decoder could then feed more than one parser. A decoder that is the
/// bound keeps its stream in one task, which costs least. Measured on 1 GB of
/// clicklogs in one `.gz` on 2 cores: url_views spends 1.0 to 1.15 times
/// zlib-rs' CPU per byte (copying, checking and parsing as fast as it
/// inflates), video_tagging 1.9 to 2, word_count on text 3.2.
const HANDOFF_COST: f64 = 1.5;
/// Bytes a stream task reads before it compares costs.
const HANDOFF_AFTER_BYTES: u64 = 4 << 20;

/// What a stream task checks to hand its rest over, and what it keeps for
/// the cutter.
struct Handoff<'a> {
    /// What the stream's decoding costs (`None`: it does not run on a thread
    /// of its own, as for plain stdin).
    cost: Option<DecodeCost>,
    wanted: &'a (dyn Fn() -> bool + Sync),
    always: bool,
    /// This thread's CPU time when the task began.
    started: std::time::Duration,
    /// Checks in a row that found the task the bound and a worker idle.
    ahead: u32,
    /// The stream's first line (a CSV header for later pieces).
    header: Option<std::sync::Arc<[u8]>>,
    /// Set when the task stops to hand its rest over.
    handed: bool,
}

impl Handoff<'_> {
    /// Called after each line (`lines_read` so far, `line` starting at byte
    /// `read` of the stream): whether the task stops here and hands the rest
    /// over.
    fn stop_after(&mut self, lines_read: u64, line: &[u8], read: u64) -> bool {
        if lines_read == 1 {
            self.header = Some(line.into());
        }
        if !self.always && lines_read.is_multiple_of(1024) {
            self.ahead = if self.ready(read) { self.ahead + 1 } else { 0 };
        }
        self.handed = self.always || self.ahead == HANDOFF_CHECKS;
        self.handed
    }

    /// Whether, now, this task (having read `read` bytes) spends more CPU
    /// per byte than the decoder, and a worker waits for work.
    fn ready(&self, read: u64) -> bool {
        let Some(decode) = self.cost.as_ref().and_then(DecodeCost::ns_per_byte) else {
            return false;
        };
        if read < HANDOFF_AFTER_BYTES {
            return false;
        }
        let spent = thread_cpu_time().saturating_sub(self.started).as_nanos() as f64;
        spent / read as f64 >= HANDOFF_COST * decode && (self.wanted)()
    }
}

/// What a map task leaves behind.
pub(crate) struct MapResult {
    /// Sorted runs per partition (empty for map-only steps).
    pub runs: Vec<Vec<Run>>,
    pub stats: TaskStats,
    pub counters: Counters,
    /// The part file written by a map-only step.
    pub part: Option<PathBuf>,
    pub bad: BadRecords,
    /// What a [`MapInput::Stream`] task did not read.
    pub rest: Option<Rest>,
}

/// Where a map task's records go.
enum Sink {
    /// Shuffled: partitioned, sorted, combined, spilled.
    Buffer(Box<SortBuffer>),
    /// A map-only step: straight into the part file.
    Part(PartWriter),
}

impl Sink {
    fn as_sink(&mut self) -> &mut dyn RecordSink {
        match self {
            Sink::Buffer(b) => &mut **b,
            Sink::Part(p) => p,
        }
    }
}

/// Runs the step's mapper over one split, or over one piece of a split that
/// is a stream (see [`crate::input::pieces`]), or over several small files'
/// splits one after another (a pack, see [`crate::input::split::pack`]): one
/// sort buffer (or part file) and one bad-records file for the task, and a
/// mapper of its own for each split, as if each were a task (its hooks and
/// [`TaskContext`] name its file). `task` numbers the task in its step: it
/// names its part file (map-only steps, in input order) and its bad-records
/// file.
pub(crate) fn run_map_task(
    env: &MapEnv<'_>,
    task: usize,
    splits: &[Split],
    input: MapInput<'_>,
) -> Result<MapResult> {
    crate::cancel::check()?;
    if splits.is_empty() {
        return Err(crate::error::Error::Internal(
            "a map task with no split".into(),
        ));
    }
    let buffer_bytes = match env.fold_budget() {
        Some(table) => env.buffer_bytes - table,
        None => env.buffer_bytes,
    };
    let mut counters = Counters::default();
    let mut stats = TaskStats {
        map_tasks: 1,
        ..TaskStats::default()
    };
    let mut name = format!("map-{}-{task:05}", env.step_index);
    if let MapInput::Piece(p) = &input {
        name.push_str(&format!("-{:05}", p.index));
    }
    let mut bad = BadRecords::new(env.bad_dir.join(name));
    let mut policy = BadRecordPolicy::new(env.skip_bad);
    let mut sink = match env.part_dir {
        Some(dir) => Sink::Part(PartWriter::create(&dir.join(format!("part-{task:05}")))?),
        None => Sink::Buffer(Box::new(sort_buffer(env, buffer_bytes, task)?)),
    };
    let mut shared = Task {
        sink: &mut sink,
        bad: &mut bad,
        policy: &mut policy,
        counters: &mut counters,
        stats: &mut stats,
    };
    let mut input = Some(input);
    let mut rest = None;
    for split in splits {
        crate::cancel::check()?;
        let input = input.take().unwrap_or(MapInput::Split);
        rest = map_split(env, split, input, &mut shared)?;
    }
    stats.skipped_records += policy.skipped;
    let (runs, part) = match sink {
        Sink::Buffer(b) => {
            let (runs, bstats, ccounters) = b.finish()?;
            stats.add(&bstats);
            counters.merge(&ccounters);
            (runs, None)
        }
        Sink::Part(p) => {
            let (path, records, bytes) = p.finish()?;
            stats.map_output_records += records;
            stats.output_records += records;
            stats.output_bytes += bytes;
            (Vec::new(), Some(path))
        }
    };
    bad.finish()?;
    Ok(MapResult {
        runs,
        stats,
        counters,
        part,
        bad,
        rest,
    })
}

/// A map task's sort buffer of `bytes`, its combiner (if any) set up for
/// task `task` by its `init` hook, as task mode's combiner is (mrjob's
/// `combiner_init`: a combiner that reads a job option there was left with
/// its default state, and dropped every record, exit 0: probe
/// /tmp/probe4-author repro 01).
fn sort_buffer(env: &MapEnv<'_>, bytes: usize, task: usize) -> Result<SortBuffer> {
    let mut combiner = env.step.new_combiner();
    if let Some(c) = combiner.as_deref_mut() {
        let ctx = TaskContext {
            step: env.step_index,
            kind: TaskKind::Combine,
            task,
            input_file: None,
            input_uri: None,
            partition: None,
            params: env.params.clone(),
        };
        c.init(&ctx).map_err(|e| {
            RecordError::Job(e.to_string())
                .in_hook(format!("step {} combiner init", env.step_index))
        })?;
    }
    Ok(SortBuffer::new(
        env.step_index,
        env.partitions,
        bytes,
        env.step.sorts_values(),
        combiner,
        env.step.folds,
        env.spill_dir.to_path_buf(),
    )
    .with_fan_in(env.fan_in))
}

/// Flushes a table the step's map tasks left (see [`Carry`]) into sorted
/// runs, as a map task's end would: the runs per partition, and what the
/// flush and the sort count.
pub(crate) fn drain_carried(
    env: &MapEnv<'_>,
    mut table: Box<dyn CarriedTable>,
) -> Result<(Vec<Vec<Run>>, TaskStats, Counters)> {
    crate::cancel::check()?;
    let mut buffer = sort_buffer(env, env.buffer_bytes - env.fold_budget().unwrap_or(0), 0)?;
    buffer.expect(table.len(), table.flush_bytes());
    let flushed = flush_counted(&mut *table, &mut buffer)?;
    let (runs, mut stats, counters) = buffer.finish()?;
    stats.combine_output_records += flushed;
    Ok((runs, stats, counters))
}

/// What the splits of one map task share.
struct Task<'t> {
    sink: &'t mut Sink,
    bad: &'t mut BadRecords,
    policy: &'t mut BadRecordPolicy,
    counters: &'t mut Counters,
    stats: &'t mut TaskStats,
}

/// Runs a mapper of its own over one split of a map task, into the task's
/// sink: the rest of a stream it handed over, if it did.
fn map_split(
    env: &MapEnv<'_>,
    split: &Split,
    input: MapInput<'_>,
    task: &mut Task<'_>,
) -> Result<Option<Rest>> {
    let Task {
        sink,
        bad,
        policy,
        counters,
        stats,
    } = task;
    let ctx = TaskContext {
        step: env.step_index,
        kind: TaskKind::Map,
        task: split.index,
        input_file: Some(split.file.display.clone()),
        input_uri: Some(split.file.source.uri()),
        partition: None,
        params: env.params.clone(),
    };
    // A fold step's mapper folds into its thread's table when there is one.
    let mut mapper = match env.carry.and_then(Carry::take) {
        None => env.step.new_mapper(),
        Some(table) => env.step.new_mapper_carrying(table).or_else(|mut table| {
            stats.combine_output_records += flush_counted(&mut *table, sink.as_sink())?;
            Ok::<_, crate::error::Error>(env.step.new_mapper())
        })?,
    };
    if let Some(table) = env.fold_budget() {
        mapper.set_budget(table);
    }
    mapper.init(&ctx).map_err(|e| {
        RecordError::Job(e.to_string()).in_hook(format!("step {} mapper init", env.step_index))
    })?;
    if env.skip_bad {
        mapper.hold_back_output();
    }
    // A table's rows are JSON made from its pages: progress and throughput
    // count the bytes of the file, not of that JSON.
    let table = split.file.compression == Compression::Parquet;
    let path_for_errors = match &split.file.source {
        InputSource::Path(p) | InputSource::Stream(p) => Some(p.clone()),
        InputSource::Stdin => None,
    };
    let (mut recycle, mut handoff) = (None, None);
    let whole = matches!(input, MapInput::WholeFile);
    let mut reader = match input {
        MapInput::WholeFile => {
            let line = manifest_line(&split.file.source.uri()).into_bytes();
            let bytes: Box<dyn std::io::Read + Send> = Box::new(std::io::Cursor::new(line));
            LineReader::new(bytes, 0, u64::MAX)
        }
        MapInput::Piece(p) => {
            crate::input::csv::begin_piece(p.header.clone());
            let (lines, recycler) = p.into_lines();
            recycle = Some(recycler);
            lines
        }
        MapInput::Split => {
            match path_for_errors.as_deref() {
                Some(p) if split.file.compression == Compression::Parquet => {
                    crate::input::csv::begin_table(p)
                }
                p => crate::input::csv::begin_task(
                    p,
                    split.start == 0 || split.file.compression.is_compressed(),
                ),
            }
            open_split(split, env.columns)?
        }
        MapInput::Stream { wanted, always } => {
            crate::input::csv::begin_task(path_for_errors.as_deref(), true);
            let decoded = open_stream_split(split)?;
            handoff = Some(Handoff {
                cost: decoded.cost,
                wanted,
                always,
                started: thread_cpu_time(),
                ahead: 0,
                header: None,
                handed: false,
            });
            LineReader::with_capacity(decoded.bytes, 0, u64::MAX, first_buffer_bytes(split))
        }
    };
    reader.set_max_line(env.max_line);
    if !env.skip_bad {
        // The run fails on the cut line: nothing after it is needed.
        reader.stop_at_cut();
    }
    // Named by a panic that aborts the process (no error can carry it).
    let _mapping = crate::panics::mapping_file(&split.file.display);
    let first_offset = reader.position();
    let mut reported = first_offset;
    let mut lines_read = 0u64;
    let mut line_base: Option<u64> = reader.first_line();
    let notes = reader.table_notes().cloned();

    loop {
        let next = match reader.next_line_cut() {
            Ok(next) => next,
            Err(e) if is_corrupt_data(&e) => {
                // Stopped (a signal, another task's failure) while reading
                // past a long line: said as such, not as damage.
                crate::cancel::check()?;
                // Torn by a cut while read, not damaged: stop, never skip.
                crate::input::lines::still_as_listed(&split.file)?;
                // A log being written, or cut by a crash: the lines read so far
                // are good; the rest of the file is a bad record, kept with
                // the start of the line the damage cut.
                let location = Location::Line {
                    step: env.step_index,
                    file: split.file.display.clone(),
                    line: line_base.map(|base| base + lines_read),
                    offset: Some(reader.position()),
                    in_split: None,
                };
                let reason = format!(
                    "corrupt or truncated compressed data after line {} \
                     (uncompressed byte {}): {e}; the rest of the file cannot be read",
                    line_base.map_or(lines_read, |base| base + lines_read - 1),
                    reader.position()
                );
                let cut = reader.pending().to_vec();
                // Bytes after a whole bzip2 stream that are not one: junk
                // after the last stream, its lines all read, is a bad record
                // as junk after gzip members is; junk before whole streams
                // loses theirs. Never "a stream cut short", nor what other
                // tools do unchecked (probe /tmp/probe21-cliffs repro 02).
                if let Some(at) = crate::input::bzip2_blocks::junk_after_streams(&e) {
                    let whole_after = match &split.file.source {
                        InputSource::Path(p) => Some(
                            crate::input::damage::whole_frames_after(
                                Path::new(p),
                                Compression::Bzip2,
                                at,
                            )
                            .map_err(|e| read_error(p.clone(), e))?,
                        ),
                        _ => None,
                    };
                    let reason = format!(
                        "after line {} (uncompressed byte {}): {e}",
                        line_base.map_or(lines_read, |base| base + lines_read - 1),
                        reader.position()
                    );
                    if whole_after == Some(true) {
                        return Err(crate::Error::BadRecord {
                            location: Box::new(location),
                            reason: format!(
                                "{reason}, and whole bzip2 streams follow them (as `cat a.bz2 \
                                 junk b.bz2` makes): their lines are not read, so the file is \
                                 refused, even under --skip-bad-records (bzip2 -d and Python's \
                                 bz2 stop at those bytes too and leave the streams after them \
                                 out). Take the bytes out, or split the file into its streams \
                                 (bzip2recover FILE)"
                            ),
                            snippet: crate::error::snippet(&cut),
                        });
                    }
                    let read_all = match whole_after {
                        Some(_) => ": junk after the last stream, every line before it was read",
                        None => "",
                    };
                    let reason = format!(
                        "{reason}{read_all}; bzip2 -d ignores such bytes with a warning \
                         (\"trailing garbage after EOF ignored\"), Python's bz2 without one"
                    );
                    stats.input_records += 1;
                    policy.reject(&mut **bad, location, reason, &cut)?;
                    break;
                }
                // Where a gzip file stops being whole members (a member
                // running into the end, bytes that are not a member after
                // one), with whole members after it: a member cut short and
                // followed by others (`cat cut.gz whole.gz`), whose bytes it
                // decoded as its own, to garbage, or that follow it. Damage,
                // then, not a cut. A stream cannot be read again: a gzip
                // header seen in the bytes read tells.
                let cut_then_whole = match (
                    crate::input::gzip::members_may_follow(&e),
                    &split.file.source,
                ) {
                    (Some((from, _)), InputSource::Path(p)) => {
                        crate::input::gzip::whole_members_after(Path::new(p), from)
                            .map_err(|e| read_error(p.clone(), e))?
                    }
                    (Some((_, header_seen)), _) => header_seen,
                    // The same for zstd frames and bzip2 streams (a stream
                    // of them is not read again: bytes read tell nothing).
                    (None, InputSource::Path(p)) if !crate::input::damage::is_damage(&e) => {
                        crate::input::damage::whole_frames_after_a_cut(
                            Path::new(p),
                            split.file.compression,
                        )
                        .map_err(|e| read_error(p.clone(), e))?
                    }
                    _ => false,
                };
                if cut_then_whole {
                    // What the file is made of, its tool, and who refuses it.
                    let (frame, frames, tool, ext, refused) = match split.file.compression {
                        Compression::Zstd => {
                            ("zstd frame", "frames", "zstd", "zst", "zstd -d refuses")
                        }
                        Compression::Bzip2 => (
                            "bzip2 stream",
                            "streams",
                            "bzip2",
                            "bz2",
                            "bzip2 -d and Python refuse",
                        ),
                        _ => (
                            "gzip member",
                            "members",
                            "gzip",
                            "gz",
                            "gzip -d and Python refuse",
                        ),
                    };
                    return Err(crate::Error::BadRecord {
                        location: Box::new(location),
                        reason: format!(
                            "{reason}. A {frame} is cut short there and whole {frames} \
                             follow it (as `cat cut.{ext} whole.{ext}` makes): lines read past \
                             the cut may be garbage and theirs are lost; {refused} the file \
                             too, and so does --skip-bad-records. Check it ({tool} -t FILE) and \
                             repair or leave out the file"
                        ),
                        snippet: crate::error::snippet(&cut),
                    });
                }
                if crate::input::damage::is_damage(&e) {
                    // Damaged inside a gzip member, a zstd frame, a zlib
                    // stream or a bzip2 block, not cut short nor junk after
                    // the last one: lines read before the damage was seen
                    // may be garbled too (a flipped bit shows only at the
                    // checksum), and they are counted already. Never
                    // skipped, then, as Hadoop does not.
                    let check = match split.file.compression {
                        Compression::Bzip2 => "bzip2 -t FILE",
                        Compression::Zstd => "zstd -t FILE",
                        Compression::Deflate => "zlib-flate -uncompress < FILE",
                        _ => "gzip -t FILE",
                    };
                    return Err(crate::Error::BadRecord {
                        location: Box::new(location),
                        reason: format!(
                            "{reason}. The file is damaged, not cut short: lines read from it \
                             before may be wrong too, so even --skip-bad-records does not go \
                             on; check it ({check}) and repair or leave out the file"
                        ),
                        snippet: crate::error::snippet(&cut),
                    });
                }
                // The cut tail is a record, kept aside: read as one, so
                // that good + skipped = input records.
                stats.input_records += 1;
                policy.reject(&mut **bad, location, reason, &cut)?;
                break;
            }
            Err(e) => {
                // Stopped while reading: say why, not that the read failed.
                crate::cancel::check()?;
                return Err(read_error(
                    path_for_errors.clone().unwrap_or_else(|| "-".into()),
                    e,
                ));
            }
        };
        let Some((offset, line, cut)) = next else {
            break;
        };
        lines_read += 1;
        if offset == 0 && !whole {
            crate::input::listing::check_first_line(&split.file.display, line)?;
        } else if line.starts_with(GZIP_MAGIC) && env.step_index == 0 {
            said_gzip_inside(
                &split.file.display,
                line_base.map(|b| b + lines_read - 1),
                offset,
            );
        }
        if lines_read.is_multiple_of(1024) {
            crate::cancel::check()?;
            if let Some(p) = env.progress {
                if !table {
                    p.add_bytes(offset - reported);
                }
                p.add_records(1024);
                reported = offset;
            }
        }
        stats.input_records += 1;
        // A table's row holding a value its reader cannot give (a timestamp
        // out of range): a bad record naming the row, never mapped
        // (probe /tmp/probe23-fuzz repro 02).
        if let (Some(notes), Some(base)) = (&notes, line_base)
            && let Some(reason) = notes.take_bad_row(base + lines_read - 1)
        {
            let location = Location::Line {
                step: env.step_index,
                file: split.file.display.clone(),
                line: Some(base + lines_read - 1),
                offset: None,
                in_split: None,
            };
            policy.reject(&mut **bad, location, reason, line)?;
            continue;
        }
        crate::panics::mapping_line(offset, line_base.map(|base| base + lines_read - 1));
        let r = map_whole_line(
            &mut *mapper,
            line,
            cut.then_some(env.max_line),
            sink.as_sink(),
            counters,
            &mut stats.read_as_null,
        );
        let location = || Location::Line {
            step: env.step_index,
            file: split.file.display.clone(),
            // A whole file's error is the file's: no line in it.
            line: match line_base {
                _ if whole => None,
                Some(base) => Some(base + lines_read - 1),
                None => path_for_errors.as_deref().and_then(|p| {
                    // Only on the error path: count the lines before the split.
                    let base = line_number_at(p, offset).ok()? - (lines_read - 1);
                    line_base = Some(base);
                    Some(base + lines_read - 1)
                }),
            },
            offset: (!whole).then_some(offset),
            in_split: None,
        };
        let checked = policy.check(&mut **bad, r, location, line);
        if checked.is_err() && env.step_index == 0 {
            // A line torn by the file changing as it was read: that is the
            // error to give, not the line's.
            crate::input::lines::still_as_listed(&split.file)?;
        }
        if checked? == Some(false) {
            stats.blank_lines += 1;
        }
        if let Some(h) = &mut handoff
            && h.stop_after(lines_read, line, offset)
        {
            break;
        }
    }
    // Read to its end: still the file that was listed? A file rewritten
    // in place while read (same size, as `rsync --inplace` or a copy over
    // it does) would give results of half old, half new lines.
    if env.step_index == 0 {
        crate::input::lines::still_as_listed(&split.file)?;
    }
    if let Some((offset, len)) = reader.unfinished() {
        say_unfinished(&split.file.display, offset, len, counters, env.step_index);
    }
    if let Some(notes) = &notes
        && let (n @ 1.., Some(column)) = notes.take_hex()
    {
        say_hex(&split.file.display, &column, n, counters, env.step_index);
    }
    crate::input::csv::end_task();
    // A whole file, as a table, counts as the bytes of the file.
    stats.input_bytes += if table || whole {
        split.len()
    } else {
        reader.position().saturating_sub(first_offset)
    };
    if let Some(p) = env.progress {
        p.add_bytes(if table || whole {
            split.len()
        } else {
            reader.position().saturating_sub(reported)
        });
        p.add_records(lines_read % 1024);
    }
    let rest = match handoff {
        Some(h) if h.handed => Some(Rest {
            offset: reader.position(),
            line: lines_read + 1,
            header: h.header,
            bytes: Box::new(reader.into_rest()),
        }),
        _ => {
            if let Some(r) = recycle {
                r.give(reader.into_buffer());
            }
            None
        }
    };
    // Kept for the next task on this thread, or flushed by `finish`.
    if env.carry.is_some() {
        mapper.keep_table();
    }
    mapper.finish(sink.as_sink(), counters).map_err(|e| {
        e.in_hook(format!(
            "step {} mapper final ({})",
            env.step_index, split.file.display
        ))
    })?;
    let (combined_in, combined_out) = mapper.combined();
    stats.combine_input_records += combined_in;
    stats.combine_output_records += combined_out;
    if let Some(carry) = env.carry
        && let Some(table) = mapper.into_table()
        && let Some(mut table) = carry.put(table)
    {
        stats.combine_output_records += flush_counted(&mut *table, sink.as_sink())?;
    }
    Ok(rest)
}

/// Said of a line that fails once its NaN and infinities are read as null.
const AS_NULL: &str = " (with its NaN, Infinity and -Infinity read as null: JSON has no \
    such numbers, Python's json.dumps writes them; columns count in the line so read)";

/// Maps `line`, unless the reader cut it at `cut_at` bytes (`--max-line-mb`):
/// then it is a bad record, the mapper never seeing a part of a line. A
/// line whose JSON does not decode at Python's `NaN` or `Infinity` is
/// mapped again with them as `null`
/// ([`crate::protocol::python_constants_as_null`]), and counted in
/// `read_as_null`; if it fails again, that error is given, saying so.
pub(crate) fn map_whole_line(
    mapper: &mut dyn MapFn,
    line: &[u8],
    cut_at: Option<usize>,
    sink: &mut dyn RecordSink,
    counters: &mut Counters,
    read_as_null: &mut u64,
) -> std::result::Result<bool, RecordError> {
    if let Some(max) = cut_at {
        return Err(RecordError::Decode(format!(
            "the line is longer than {max} bytes, the longest a mapper is given \
             (--max-line-mb), so that memory stays bounded on a file that is not \
             lines; kept aside (--skip-bad-records), it holds its first {max} bytes \
             and the rest of it is read past"
        )));
    }
    let mapped = mapper.map_line(line, sink, counters);
    // Read with Python's constants as null by the job's own reader.
    let noted = crate::protocol::take_noted_as_null();
    match mapped {
        Ok(mapped) => {
            *read_as_null += u64::from(noted);
            Ok(mapped)
        }
        // A decode error comes before the mapper runs: nothing was emitted.
        Err(RecordError::Decode(reason)) => {
            let fixed = crate::protocol::refused_python_constant(&reason)
                .then(|| crate::protocol::python_constants_as_null(line))
                .flatten();
            let Some(fixed) = fixed else {
                return Err(RecordError::Decode(reason));
            };
            let mapped = mapper.map_line(&fixed, sink, counters);
            crate::protocol::take_noted_as_null();
            match mapped {
                Ok(mapped) => {
                    *read_as_null += 1;
                    Ok(mapped)
                }
                // What is wrong once they are null: the line's other
                // damage, or a field the job needs as a number.
                Err(RecordError::Decode(e)) => Err(RecordError::Decode(format!("{e}{AS_NULL}"))),
                Err(RecordError::Job(e)) => Err(RecordError::Job(format!("{e}{AS_NULL}"))),
                Err(fatal) => Err(fatal),
            }
        }
        r => r,
    }
}

/// Says, and counts ([`crate::counters::UNFINISHED_LINES`]), that the last line of `file` (at `offset`, `len`
/// bytes so far) was left unread: the file grew while read and the line
/// had no newline yet, a live log's line half-written.
fn say_unfinished(file: &str, offset: u64, len: u64, counters: &mut Counters, step: usize) {
    counters.add(
        crate::counters::FRAMEWORK,
        &format!("step {step}: {}", crate::counters::UNFINISHED_LINES),
        1,
    );
    crate::errln!(
        "mr: warning: {} grew while mr read it, and its last line (at byte {offset}, {len} bytes \
         so far, no newline yet) was still being written: it is left for the next run, as lines \
         appended after the listing are",
        crate::error::printable_line(file)
    );
}

/// Counts ([`crate::counters::BINARY_AS_HEX`]) the `n` values of a Parquet
/// binary column of `file` that were not UTF-8, given as the hex of their
/// bytes, and warns of them once a run, naming the file and the column: its
/// UTF-8 values are given as text, so one column then mixes two spellings
/// (url_views counted "2f636166e9" beside "/cafe" without a word: probe
/// /tmp/probe23-fuzz repro 05).
fn say_hex(file: &str, column: &str, n: u64, counters: &mut Counters, step: usize) {
    static SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let counter = format!("step {step}: {}", crate::counters::BINARY_AS_HEX);
    counters.add(
        crate::counters::FRAMEWORK,
        &counter,
        i64::try_from(n).unwrap_or(i64::MAX),
    );
    if SAID.swap(true, std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    crate::errln!(
        "mr: warning: {}: column {:?} is binary and holds values that are not UTF-8 text: they \
         are given as the hex of their bytes (as arrow writes binary), its UTF-8 values as text, \
         so the two spellings of one value differ; counted in {}/{counter}. If the column is \
         text in another encoding (Latin-1), convert it to UTF-8 before the run",
        crate::error::printable_line(file),
        column,
        crate::counters::FRAMEWORK,
    );
}

/// The first bytes of a gzip member (magic, deflate).
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b, 0x08];

/// Warns, once a run, of a line inside a text input that starts as a gzip
/// file does: most likely a `.gz` appended to a log or piped after one
/// (`cat a.log b.gz | mr run ...`), which is read as text, its bytes as
/// garbage records. Not an error: a web archive (WARC) holds raw gzip HTTP
/// bodies at line starts, and reads as it should.
fn said_gzip_inside(file: &str, line: Option<u64>, offset: u64) {
    static SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if SAID.swap(true, std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let at = line.map_or(format!("at byte {offset}"), |l| format!("line {l}"));
    crate::errln!(
        "mr: warning: {}, {at}, starts as a gzip file does (bytes 1f 8b 08): a .gz appended to a \
         text file, or piped after one (cat a.log b.gz | mr ...), is read as text, not \
         decompressed; give compressed files to mr by name (-i a.log -i b.gz, or -i DIR)",
        crate::error::printable_line(file)
    );
}
