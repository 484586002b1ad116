//! Which task runs next, on which worker thread.
//!
//! - `each_task`: a phase's tasks start longest first, each on the next
//!   free worker; results come back in the tasks' order.
//! - `each_map_task`: the same for map tasks, where the rest of a split
//!   that is a stream (a compressed file, stdin) may be cut into pieces as
//!   it is decoded (see [`crate::input::pieces`]), each parsed by a map task
//!   of its own on whichever worker is free:
//!
//! ```text
//!                                ┌─ stream: read; the rest ─▶ mr-cut ─▶ pieces ─┐
//! splits, longest first ─▶ worker┤                                              ├─▶ results in (split, piece) order
//!                                └─ plain split ────────────────────────────────┘
//! ```
//!
//! A worker takes a piece that is ready first (pieces are in memory and
//! bounded), else the next split: a stream split is read by this worker,
//! which may hand its rest to a cutting thread (at most one stream per
//! worker is open at a time: with that many open, the next plain split is
//! taken instead, or a piece waited for); any other split is run. With no
//! split left, it waits for pieces until every stream is read.

use crate::cancel::{RunFlag, first_failure, lock};
use crate::error::{Error, Result};
use crate::input::Split;
use crate::input::lines::is_stream;
use crate::input::pieces::{Cutter, Piece, Rest};
use crate::input::split::COMPRESSED_COST;
use crate::map_task::MapInput;
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Runs `task` on every item: in parallel on the pool, or (inline) one
/// after another in this thread, where a debugger follows the job's code
/// (a panic there is still caught and reported as the record's error).
///
/// On the pool, items start in order of decreasing `cost` (ties in their
/// order), each on the next free thread: the longest tasks first, so that
/// a long task does not start last and run alone while the other threads
/// idle. The results come back in the items' order, whatever order they
/// ran in.
///
/// The first task that fails stops the others (through `run`) at their
/// next check; its error is the one reported.
pub(crate) fn each_task<T: Send, R: Send>(
    pool: &rayon::ThreadPool,
    inline: bool,
    run: &RunFlag,
    items: Vec<T>,
    cost: impl Fn(&T) -> u64,
    task: impl Fn(T) -> Result<R> + Sync + Send,
) -> Result<Vec<R>> {
    let task = |item| run.task(|| task(item));
    if inline {
        return first_failure(items.into_iter().map(task).collect());
    }
    let queue = Mutex::new(longest_first(items, cost).into_iter());
    let done = Mutex::new(Vec::new());
    pool.broadcast(|_| {
        loop {
            let next = lock(&queue).next();
            let Some((i, item)) = next else { break };
            let r = task(item);
            lock(&done).push((i, r));
        }
    });
    in_order(done)
}

/// Runs `task` on every task's splits (one split, or a pack of small files'
/// splits: see [`crate::input::split::pack`]), as [`each_task`] does with
/// [`task_cost`]; with `cut`, a split alone in its task that is a stream is
/// read by one task until that task finds itself the bound while workers
/// wait for work (see [`MapInput::Stream`]); it hands the rest back, which is
/// cut into pieces of about `cut.piece_bytes`, and `task` runs on each
/// piece. `task` is given the task's number (its index in `splits`).
/// Results come back in task order, a split's pieces in their order.
pub(crate) fn each_map_task<R: Send>(
    pool: &rayon::ThreadPool,
    inline: bool,
    run: &RunFlag,
    splits: Vec<Vec<Split>>,
    cut: Option<Cut>,
    task: impl Fn(usize, &[Split], MapInput<'_>) -> Result<(R, Option<Rest>)> + Sync + Send,
) -> Result<Vec<R>> {
    let Cut {
        piece_bytes,
        always,
        max_line,
    } = match cut {
        Some(c)
            if !inline
                && pool.current_num_threads() > 1
                && splits.iter().any(|t| stream_task(t)) =>
        {
            c
        }
        _ => {
            return each_task(
                pool,
                inline,
                run,
                splits.into_iter().enumerate().collect(),
                |(_, t)| task_cost(t),
                |(n, s)| task(n, &s, MapInput::Split).map(|(r, _)| r),
            );
        }
    };
    let threads = pool.current_num_threads();
    let splits: Mutex<VecDeque<_>> = Mutex::new(longest_first(splits, |t| task_cost(t)).into());
    let pieces = PieceQueue::new();
    let wanted = || pieces.idle();
    // (split, piece) -> result.
    let done = Mutex::new(Vec::new());
    let finish = |split: usize, piece: usize, r: Result<R>| lock(&done).push(((split, piece), r));
    let run_piece = |(i, split, piece): Cutting| {
        let k = piece.index;
        let r = run.task(|| task(i, std::slice::from_ref(&*split), MapInput::Piece(piece)));
        finish(i, k, r.map(|(r, _)| r));
    };
    std::thread::scope(|scope| {
        pool.broadcast(|_| {
            loop {
                if let Some(cut) = pieces.try_pop() {
                    run_piece(cut);
                    continue;
                }
                let next = {
                    let mut queue = lock(&splits);
                    match queue.front() {
                        Some((_, s)) if !stream_task(s) => queue.pop_front().map(Next::Run),
                        Some(_) => match pieces.try_add_producer(threads) {
                            Some(slot) => queue.pop_front().map(|s| Next::Stream(s, slot)),
                            // As many streams are open as there are workers: a
                            // plain split further on, else wait for a piece.
                            None => match queue.iter().position(|(_, s)| !stream_task(s)) {
                                Some(k) => queue.remove(k).map(Next::Run),
                                None => Some(Next::Wait),
                            },
                        },
                        None => None,
                    }
                };
                match next {
                    Some(Next::Run((i, s))) => {
                        let r = run.task(|| task(i, &s, MapInput::Split));
                        finish(i, 0, r.map(|(r, _)| r));
                    }
                    Some(Next::Stream((i, s), slot)) => {
                        // The stream's producer slot is given back however this
                        // ends (a panic too), or handed to the cutter.
                        let r = run.task(|| {
                            task(
                                i,
                                &s,
                                MapInput::Stream {
                                    wanted: &wanted,
                                    always,
                                },
                            )
                        });
                        let rest = match r {
                            Ok((r, rest)) => {
                                finish(i, 0, Ok(r));
                                rest
                            }
                            Err(e) => {
                                finish(i, 0, Err(e));
                                None
                            }
                        };
                        let Some(rest) = rest else { continue };
                        let Some(s) = s.into_iter().next() else {
                            continue;
                        };
                        let s = Arc::new(s);
                        let cutter = Cutter::resume(rest, piece_bytes).with_max_line(max_line);
                        let spawned = std::thread::Builder::new()
                            .name("mr-cut".into())
                            .spawn_scoped(scope, move || cut_stream(cutter, i, s, slot, run));
                        if let Err(e) = spawned {
                            run.stop();
                            finish(
                                i,
                                1,
                                Err(Error::NoThread {
                                    what: "starting a task thread",
                                    source: e,
                                }),
                            );
                        }
                    }
                    Some(Next::Wait) | None => match pieces.pop_wait() {
                        Some(cut) => run_piece(cut),
                        // Every stream is read: done, unless splits are left.
                        None if next.is_none() => break,
                        None => {}
                    },
                }
            }
        });
        // Nothing is left to cut for (normally every cutter has ended).
        pieces.close();
    });
    in_order(done)
}

/// What a worker does next, besides a ready piece.
enum Next<'a> {
    /// Runs a split.
    Run((usize, Vec<Split>)),
    /// Reads a stream split, and cuts the rest into pieces if asked to, in
    /// the producer slot it holds.
    Stream((usize, Vec<Split>), Slot<'a, Cutting>),
    /// Waits for a piece: as many streams are open as there are workers.
    Wait,
}

/// How streams are cut (see [`crate::config::CutStreams`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cut {
    /// About how many bytes a piece holds.
    pub piece_bytes: usize,
    /// The longest line a task is given: a piece ends inside a longer one.
    pub max_line: usize,
    /// Cut after the first lines, whether it pays or not.
    pub always: bool,
}

/// A piece of the split at an index.
type Cutting = (usize, Arc<Split>, Piece);

/// The cutting thread of a stream: pieces into `queue` until the stream
/// ends or the run stops.
fn cut_stream(
    cutter: Cutter<Box<dyn std::io::Read + Send>>,
    index: usize,
    split: Arc<Split>,
    slot: Slot<'_, Cutting>,
    run: &RunFlag,
) {
    run.enter(|| {
        for piece in cutter {
            if crate::cancel::check().is_err() || !slot.0.push((index, split.clone(), piece)) {
                break;
            }
        }
    });
}

/// A producer's place in a [`PieceQueue`] ([`PieceQueue::try_add_producer`]):
/// dropping it says the producer is done, however it ends (a panic too), so
/// that no worker waits for items that will never come.
struct Slot<'a, T>(&'a PieceQueue<T>);

impl<T> Drop for Slot<'_, T> {
    fn drop(&mut self) {
        let mut s = lock(&self.0.state);
        s.producers -= 1;
        drop(s);
        self.0.changed.notify_all();
    }
}

/// What a map task costs, to start the longest first: its bytes; a
/// compressed file (one split) as [`COMPRESSED_COST`] times its size (only
/// the order of tasks depends on it, never their results).
pub(crate) fn split_cost(s: &Split) -> u64 {
    if s.file.compression.is_compressed() {
        s.len().saturating_mul(COMPRESSED_COST)
    } else {
        s.len()
    }
}

/// What a map task costs: the sum of its splits' [`split_cost`].
pub(crate) fn task_cost(splits: &[Split]) -> u64 {
    splits.iter().map(split_cost).sum()
}

/// Whether a task is one split that is a stream, which may be cut into
/// pieces as it is read.
fn stream_task(splits: &[Split]) -> bool {
    matches!(splits, [s] if is_stream(s))
}

/// The items with their indexes, longest first (ties in order).
fn longest_first<T>(items: Vec<T>, cost: impl Fn(&T) -> u64) -> Vec<(usize, T)> {
    let mut v: Vec<(usize, T)> = items.into_iter().enumerate().collect();
    v.sort_by_key(|(i, item)| (std::cmp::Reverse(cost(item)), *i));
    v
}

/// The results sorted by their keys, or the first failure.
fn in_order<K: Ord, R>(done: Mutex<Vec<(K, Result<R>)>>) -> Result<Vec<R>> {
    let mut done = done.into_inner().unwrap_or_else(|p| p.into_inner());
    done.sort_by(|a, b| a.0.cmp(&b.0));
    first_failure(done.into_iter().map(|(_, r)| r).collect())
}

/// Pieces from the cutting threads (producers) to the workers. One piece
/// waits at most: the others are in memory only while a worker parses them
/// or a cutter fills them.
struct PieceQueue<T> {
    state: Mutex<QueueState<T>>,
    changed: Condvar,
}

struct QueueState<T> {
    items: VecDeque<T>,
    producers: usize,
    /// Workers waiting in [`PieceQueue::pop_wait`].
    idle: usize,
    closed: bool,
}

/// Pieces waiting at most.
const WAITING: usize = 1;

impl<T> PieceQueue<T> {
    fn new() -> Self {
        PieceQueue {
            state: Mutex::new(QueueState {
                items: VecDeque::new(),
                producers: 0,
                idle: 0,
                closed: false,
            }),
            changed: Condvar::new(),
        }
    }

    fn wait<'a>(&self, g: MutexGuard<'a, QueueState<T>>) -> MutexGuard<'a, QueueState<T>> {
        self.changed
            .wait(g)
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// True when a worker waits for an item.
    fn idle(&self) -> bool {
        lock(&self.state).idle > 0
    }

    /// A producer's slot, unless `max` producers are at work.
    fn try_add_producer(&self, max: usize) -> Option<Slot<'_, T>> {
        let mut s = lock(&self.state);
        if s.producers >= max {
            return None;
        }
        s.producers += 1;
        Some(Slot(self))
    }

    /// Queues `item` when there is room; false once the queue is closed.
    fn push(&self, item: T) -> bool {
        let mut s = lock(&self.state);
        while s.items.len() >= WAITING && !s.closed {
            s = self.wait(s);
        }
        if s.closed {
            return false;
        }
        s.items.push_back(item);
        drop(s);
        self.changed.notify_all();
        true
    }

    /// A waiting item, if any.
    fn try_pop(&self) -> Option<T> {
        let item = lock(&self.state).items.pop_front();
        if item.is_some() {
            self.changed.notify_all();
        }
        item
    }

    /// The next item, waiting for one while a producer is at work; `None`
    /// once none is.
    fn pop_wait(&self) -> Option<T> {
        let mut s = lock(&self.state);
        loop {
            if let Some(item) = s.items.pop_front() {
                drop(s);
                self.changed.notify_all();
                return Some(item);
            }
            if s.producers == 0 || s.closed {
                return None;
            }
            s.idle += 1;
            s = self.wait(s);
            s.idle -= 1;
        }
    }

    /// Refuses items from now on.
    fn close(&self) {
        lock(&self.state).closed = true;
        self.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::listing::{Compression, InputFile, InputSource};

    #[test]
    fn longest_first_keeps_ties_in_order() {
        let v = longest_first(vec![3u64, 9, 3, 1, 9], |&c| c);
        assert_eq!(
            v.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            [1, 4, 0, 2, 3]
        );
    }

    #[test]
    fn results_come_back_in_order_whatever_ran_first() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let run = RunFlag::new();
        let items: Vec<u64> = (0..50).map(|i| (i * 7919) % 101).collect();
        let got = each_task(&pool, false, &run, items.clone(), |&c| c, |x| Ok(x * 2)).unwrap();
        assert_eq!(got, items.iter().map(|x| x * 2).collect::<Vec<_>>());
    }

    #[test]
    fn a_failure_is_reported_and_stops_the_rest() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let run = RunFlag::new();
        let r = each_task(
            &pool,
            false,
            &run,
            (0..20).collect(),
            |_| 1,
            |x: u32| {
                if x == 3 {
                    return Err(Error::Internal("three".into()));
                }
                crate::cancel::check()?;
                Ok(x)
            },
        );
        assert!(matches!(r, Err(Error::Internal(m)) if m == "three"));
    }

    /// A split of a file that is never opened: a `.gz` (a stream) or a
    /// plain file of 10 bytes.
    fn split(index: usize, compression: Compression) -> Split {
        let name = format!(
            "f{index}.{}",
            if compression.is_compressed() {
                "gz"
            } else {
                "txt"
            }
        );
        Split {
            index,
            file: Arc::new(InputFile {
                source: InputSource::Path(name.clone().into()),
                display: name,
                size: 10,
                compression,
                id: None,
            }),
            start: 0,
            end: if compression.is_compressed() {
                u64::MAX
            } else {
                10
            },
        }
    }

    fn gz_split(index: usize) -> Split {
        split(index, Compression::Gzip)
    }

    #[test]
    fn a_stream_task_that_panics_does_not_leave_the_others_waiting() {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(2)
                .build()
                .unwrap();
            let run = RunFlag::new();
            let cut = Some(Cut {
                piece_bytes: 1 << 20,
                max_line: usize::MAX,
                always: false,
            });
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                each_map_task(
                    &pool,
                    false,
                    &run,
                    vec![vec![gz_split(0)]],
                    cut,
                    |_, _, input| {
                        if let MapInput::Stream { .. } = input {
                            panic!("a bug in the task");
                        }
                        Ok(((), None))
                    },
                )
            }));
            let _ = tx.send(r.is_err());
        });
        let panicked = rx.recv_timeout(std::time::Duration::from_secs(60));
        assert_eq!(panicked, Ok(true), "each_map_task hung or did not panic");
    }

    /// A reader that blocks until `gate` is set, then ends.
    struct Gated(Arc<std::sync::atomic::AtomicBool>);

    impl std::io::Read for Gated {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            let start = std::time::Instant::now();
            while !self.0.load(std::sync::atomic::Ordering::SeqCst) {
                if start.elapsed() > std::time::Duration::from_secs(30) {
                    return Err(std::io::Error::other("gate never opened"));
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            Ok(0)
        }
    }

    /// With as many streams open as workers (their cutters waiting for
    /// their input), a free worker runs a plain split queued behind further
    /// streams instead of waiting for pieces: here the plain split is what
    /// the streams wait for.
    #[test]
    fn a_plain_split_behind_streams_runs_while_the_streams_are_open() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let run = RunFlag::new();
        let gate = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let plain = split(3, Compression::None);
        let splits = vec![
            vec![gz_split(0)],
            vec![gz_split(1)],
            vec![gz_split(2)],
            vec![plain],
        ];
        let cut = Some(Cut {
            piece_bytes: 1 << 20,
            max_line: usize::MAX,
            always: true,
        });
        let started = std::time::Instant::now();
        let got = each_map_task(&pool, false, &run, splits, cut, |_, s, input| {
            Ok(match input {
                MapInput::Stream { .. } => {
                    let rest = Rest {
                        bytes: Box::new(Gated(gate.clone())),
                        offset: 0,
                        line: 1,
                        header: None,
                    };
                    ((s[0].index, None), Some(rest))
                }
                MapInput::Split => {
                    gate.store(true, std::sync::atomic::Ordering::SeqCst);
                    ((s[0].index, None), None)
                }
                MapInput::Piece(p) => ((s[0].index, Some(p.index)), None),
                MapInput::WholeFile => unreachable!("the scheduler never makes one"),
            })
        })
        .unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        assert_eq!(
            got,
            [(0, None), (1, None), (2, None), (3, None)],
            "the gated streams are empty: no pieces"
        );
    }

    #[test]
    fn the_queue_hands_every_item_over_and_ends_with_its_producers() {
        let q = PieceQueue::new();
        let slots = [q.try_add_producer(2), q.try_add_producer(2)];
        assert!(slots.iter().all(Option::is_some) && q.try_add_producer(2).is_none());
        let mut got = Vec::new();
        std::thread::scope(|s| {
            for (p, slot) in (0..2).zip(slots) {
                s.spawn(move || {
                    let slot = slot.unwrap();
                    for i in 0..100 {
                        assert!(slot.0.push(p * 1000 + i));
                    }
                });
            }
            while let Some(x) = q.pop_wait() {
                got.push(x);
            }
        });
        got.sort();
        let want: Vec<_> = (0..2)
            .flat_map(|p| (0..100).map(move |i| p * 1000 + i))
            .collect();
        assert_eq!(got, want);
        q.close();
        assert!(!q.push(1));
    }
}
