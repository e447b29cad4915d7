//! The [`Runtime`]: a work-stealing pool of workers that runs executions of compiled
//! [`StateMachine`]s, one at a time per worker, each on the worker's reused [`Scratch`].
//!
//! Start-up: [`Runtime::new`] creates one crossbeam-deque `Worker` queue per thread, hands every
//! thread the `Stealer`s of the others and a shared `Injector`, and starts the threads. A thread
//! takes an execution resumed after a suspension first (a second injector, so that completions
//! begin as soon as handlers answer, not after every queued first run), then looks for work in
//! its own queue, then takes a batch from the injector, then steals from the others
//! (crossbeam-deque's `find_task`), and parks when it finds none; submitting work unparks one
//! sleeper. A run resumed by a job of the worker itself (a handler that answered as the
//! worker polled it) goes first, to a slot only that worker takes (`NEXT`), a few times in a
//! row at most; and every few looks, first runs go before resumed ones (`FIRST_RUNS_EVERY`).
//!
//! Work comes in chunks: a batch or a stream is cut into jobs of several events, so that there
//! is one queue operation and one allocation per chunk, not per execution.
//!
//! Suspension: an execution started with [`Runtime::execute_async`] never waits inside a
//! worker. At a Wait or a retry back-off on the system clock, or at a Task whose handler is
//! asynchronous, its run stops and the worker moves on. A Wait or back-off waits in the
//! runtime's timer heap (`timers`, one thread); a handler's future is polled again on a worker
//! each time it is woken, or in a task on the host's tokio runtime if it gave one (`suspend`).
//! The execution then runs again on any worker, from the state it stopped in (see
//! `vm::Journal`). Batches and streams of a
//! machine that may suspend ([`StateMachine::may_suspend`]) run each event that way too.
//! [`Runtime::execute`] runs on the calling thread and waits in place.
//!
//! Spreading: while some worker is idle, a Map that turns out heavy spreads its items left over
//! the idle workers, and so does a Parallel its branches once their runs have proved heavy,
//! with the outcome of one after another (`vm::spread`).
//!
//! An execution that calls an asynchronous handler, suspended while the handler runs:
//!
//! ```
//! use aslrt::{AsyncFn, Runtime, StateMachine, TaskInfo};
//! use serde_json::{json, Value};
//!
//! let enrich = "arn:aws:lambda:eu-west-1:123456789012:function:enrich";
//! let machine = StateMachine::builder()
//!     .async_handler(enrich, AsyncFn(|input: Value, _: TaskInfo| async move {
//!         // An HTTP call, a database query…: the execution holds no worker while it waits.
//!         Ok(json!({"enriched": input}))
//!     }))
//!     .compile(&json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": enrich,
//!         "TimeoutSeconds": 5, "End": true}}}).to_string())?;
//! let runtime = Runtime::new(2);
//! let outcome = runtime.execute_async(&machine, br#"{"id":1}"#.to_vec()).wait();
//! assert_eq!(outcome.output.as_deref(), Some(r#"{"enriched":{"id":1}}"#));
//! runtime.shutdown();
//! # Ok::<(), aslrt::Error>(())
//! ```
//!
//! Shutdown: [`Runtime::shutdown`] (also on drop) lets the workers drain every queued job, then
//! joins them; [`Runtime::shutdown_now`] drops the queued jobs instead, counting their
//! executions as aborted.
//!
//! ```
//! use aslrt::{Runtime, StateMachine};
//!
//! let machine = StateMachine::compile(r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#)?;
//! let runtime = Runtime::new(2);
//! let outcomes = runtime.execute_batch(&machine, vec![br#"{"id":1}"#.to_vec(), br#"{"id":2}"#.to_vec()]);
//! assert_eq!(outcomes[1].output.as_deref(), Some(r#"{"id":2}"#));
//! let outcome = runtime.execute_async(&machine, br#"{"id":3}"#.to_vec()).wait();
//! assert_eq!(outcome.output.as_deref(), Some(r#"{"id":3}"#));
//! assert!(runtime.metrics().snapshot().prometheus().contains("aslrt_executions_succeeded_total 3"));
//! runtime.shutdown();
//! # Ok::<(), aslrt::Error>(())
//! ```

mod metrics;
mod suspend;
mod timers;

use metrics::Shard;
pub use metrics::{Metrics, MetricsSnapshot, TIME_BUCKETS_US};
use suspend::Resumable;

use crate::error::{Error, ErrorKind};
use crate::machine::{Cancel, Execution, Outcome, StateMachine};
use crate::vm::Scratch;
use crate::vm::{HelperJob, Helpers};
use crossbeam_deque::{Injector, Stealer, Worker};
use dashmap::DashMap;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A unit of work: runs on a worker with its scratch. `false` means it was dropped unrun.
type Job = Box<dyn FnOnce(&mut Scratch, &Shard, bool) + Send>;

struct Shared {
    injector: Injector<Job>,
    /// Executions whose wait has ended: taken before anything else.
    resumed: Injector<Job>,
    stealers: Vec<Stealer<Job>>,
    /// Jobs submitted and not yet finished.
    pending: AtomicUsize,
    shutdown: AtomicBool,
    abort: AtomicBool,
    sleep: Mutex<()>,
    wake: Condvar,
    /// Workers asleep for want of work: Map items and Parallel branches spread only when some are. Read
    /// at every Map and Parallel: on a cache line of its own, away from `pending`.
    idle: crossbeam_utils::CachePadded<AtomicUsize>,
    metrics: Metrics,
    /// Executions started with `execute_async` and not finished, by id: any thread can stop
    /// one (`Runtime::cancel`, like StopExecution) without holding its `Pending`. It is what
    /// keeps a waiting execution alive for its timers, which hold it weakly: only
    /// `Resumable::finish` removes an entry (and `stop`, once every execution has ended).
    /// Hashed with foldhash, not dashmap's default SipHash: the ids are the runtime's own
    /// sequence, nothing a caller chooses, and SipHash took a fifth of an insert and remove.
    executions: DashMap<u64, Arc<Resumable>, foldhash::fast::RandomState>,
    /// The Waits and back-offs of suspended executions, and handlers' time limits, served by
    /// the `aslrt-timers` thread.
    timers: timers::Timers,
    /// An execution whose only waits are timers at least this many milliseconds away packs
    /// its journal and event into one compressed block while it waits (`None`: never).
    pack_after: Option<u64>,
    /// Every suspended execution packs itself (`RuntimeBuilder::pack_every_wait`).
    pack_every_wait: bool,
    /// A suspended execution's runs start from its beginning
    /// (`RuntimeBuilder::replay_from_start`).
    replay_from_start: bool,
    /// The host's tokio runtime, if it gave one: handlers' futures are polled in tasks there.
    /// Else they are polled on the workers, and the runtime's own drives their IO and timers.
    host: Option<tokio::runtime::Handle>,
    /// Executions that nothing but a handler's answer can move on (see `Runtime::stuck_on_handlers`).
    stuck_on_handlers: AtomicUsize,
    next_id: std::sync::atomic::AtomicU64,
    /// Executions admitted by `execute_async` and `submit` and not finished, and the most
    /// allowed (`usize::MAX`: no bound); submitters blocked at the bound wait on `room`.
    admitted: AtomicUsize,
    max_in_flight: AtomicUsize,
    /// What executions admitted and not yet started hold: each one's event and
    /// `QUEUED_OVERHEAD`. Submitters wait while it is at `max_queued` (`usize::MAX`: no
    /// bound); a start that brings it under half of that wakes them, and one that brings it
    /// under the bound wakes the awaiting tasks (see `Shared::dequeued`); blocked threads
    /// also look again every 50 ms.
    queued: AtomicUsize,
    max_queued: usize,
    /// Submitters waiting for room, for either bound: blocked in `wait_for_room`, or awaiting
    /// it in `Runtime::room`.
    waiting: AtomicUsize,
    room_lock: Mutex<()>,
    room: Condvar,
    /// Wakes the submitters awaiting room (`Runtime::execute_when_room`): one per execution
    /// that ends (`Shared::leave`), all of them when the queue or the bound makes room for
    /// more (`Shared::room_made`); one that finds no room waits again.
    room_async: tokio::sync::Notify,
}

/// What a queued execution is charged beyond its event's bytes: its `Resumable`, its job and
/// its entry in the map of executions, rounded up.
pub(super) const QUEUED_OVERHEAD: usize = 512;

impl Shared {
    /// Queues a job: a new one, or a suspended execution's next run.
    fn submit(&self, job: Job) {
        self.pending.fetch_add(1, Ordering::AcqRel);
        self.injector.push(job);
        self.wake_one();
    }

    /// Wakes a worker asleep for want of work, if any. A worker counts itself idle before it
    /// looks at the queues one last time, and a submitter pushes before it reads the count
    /// (a fence between on each side): either the worker sees the job, or the submitter sees
    /// the worker and wakes it under the lock the worker sleeps with. So while every worker is
    /// busy, a submission takes no lock.
    fn wake_one(&self) {
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.idle.load(Ordering::SeqCst) > 0 {
            let _guard = self.sleep.lock();
            self.wake.notify_one();
        }
    }

    /// An admitted execution has finished: one more may start, and one waiting submitter (a
    /// blocked thread, and an awaiting task) is woken for it. A submitter waiting for room
    /// raises `waiting` before it looks at `admitted` again, and this lowers `admitted` before
    /// it reads `waiting` (all `SeqCst`, as are the bound's store and loads): either the
    /// submitter sees the room, or this sees the submitter and wakes it.
    fn leave(&self) {
        self.admitted.fetch_sub(1, Ordering::SeqCst);
        if self.max_in_flight.load(Ordering::SeqCst) != usize::MAX && self.waiting.load(Ordering::SeqCst) > 0 {
            {
                let _guard = self.room_lock.lock();
                self.room.notify_one();
            }
            // One: an awaiting task that is dropped before it looks passes it on (tokio's
            // `Notified`), and `Runtime::room` enables its `Notified` before it looks.
            self.room_async.notify_one();
        }
    }

    /// Wakes every submitter waiting for room, blocked or awaiting: each looks again.
    fn room_made(&self) {
        {
            let _guard = self.room_lock.lock();
            self.room.notify_all();
        }
        self.room_async.notify_waiters();
    }

    /// Admits one more execution if fewer than the bound are in flight.
    fn try_admit(&self) -> bool {
        let max = self.max_in_flight.load(Ordering::SeqCst);
        self.admitted.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| (n < max).then_some(n + 1)).is_ok()
    }

    /// The queue of executions not yet started is under its bound.
    fn queue_has_room(&self) -> bool {
        self.queued.load(Ordering::SeqCst) < self.max_queued
    }

    /// Admits one more execution if both bounds allow it.
    fn try_enter(&self) -> bool {
        self.queue_has_room() && self.try_admit()
    }

    /// A queued execution's first run has begun: its charge leaves the queue. Blocked
    /// submitters are woken when the queue falls under half its bound, so that they fill it
    /// by half at a time rather than one execution per wake-up (and they look every 50 ms).
    /// Awaiting tasks, which have no such look, are also woken when it falls under the bound.
    pub(super) fn dequeued(&self, bytes: usize) {
        let before = self.queued.fetch_sub(bytes, Ordering::SeqCst);
        let (after, low) = (before - bytes, (self.max_queued / 2).max(1));
        let under = |line: usize| before >= line && after < line;
        if (under(low) || under(self.max_queued)) && self.waiting.load(Ordering::SeqCst) > 0 {
            match under(low) {
                true => self.room_made(),
                false => self.room_async.notify_waiters(),
            }
        }
    }

    /// Queues the next run of an execution whose wait has ended, ahead of first runs. On one
    /// of this pool's workers (a handler's future that answered as the worker polled it), the
    /// run goes to that worker's `NEXT` slot, usually to run there next while what the
    /// execution touched is in that core's caches; the job it displaces goes to the `resumed`
    /// injector.
    fn resume(&self, job: Job) {
        self.pending.fetch_add(1, Ordering::AcqRel);
        let me = std::ptr::from_ref(self) as usize;
        let job = NEXT.with(|next| {
            let mut next = next.borrow_mut();
            match next.0 == me {
                true => next.1.replace(job),
                false => Some(job),
            }
        });
        if let Some(job) = job {
            self.resumed.push(job);
            self.wake_one();
        }
    }
}

impl Helpers for Shared {
    fn idle(&self) -> usize {
        self.idle.load(Ordering::Relaxed)
    }

    fn spawn(&self, job: HelperJob) {
        self.submit(Box::new(move |scratch, _, run| job(scratch, run)));
    }
}

/// A pool of workers, the machines registered by name, and the execution metrics.
pub struct Runtime {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    machines: DashMap<String, StateMachine>,
    /// The thread that serves `Shared::timers`.
    timer_thread: Option<JoinHandle<()>>,
    /// The runtime's own tokio runtime for handlers' futures, unless the host gave one.
    own: Option<tokio::runtime::Runtime>,
}

thread_local! {
    /// Set on a `Runtime`'s workers: a submission from a handler there never blocks.
    static ON_WORKER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// On a worker: the address of the `Shared` it serves, and the job it runs next, a run
    /// that one of its own jobs resumed (see `Shared::resume`). Only that worker takes it from
    /// there, at most `NEXT_IN_A_ROW` times in a row; then the job goes to the queue.
    static NEXT: std::cell::RefCell<(usize, Option<Job>)> = const { std::cell::RefCell::new((0, None)) };
}

/// How many jobs in a row a worker takes from its `NEXT` slot before the job there goes to
/// the `resumed` injector: a future that wakes itself each time it is polled must not keep
/// the worker from the rest (with one worker, from the execution it waits for), nor wait
/// behind a long job while another worker is idle.
const NEXT_IN_A_ROW: u32 = 3;

fn take_next() -> Option<Job> {
    NEXT.with(|next| next.borrow_mut().1.take())
}

/// How to start a [`Runtime`]: workers, where handlers' futures and timers run, and the bounds
/// on executions in flight and on the bytes queued for a first run. From [`Runtime::builder`].
///
/// ```
/// use aslrt::Runtime;
/// let runtime = Runtime::builder().threads(2).handler_threads(2).max_in_flight(10_000).build()?;
/// assert_eq!(runtime.threads(), 2);
/// # Ok::<(), aslrt::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RuntimeBuilder {
    threads: usize,
    handler_threads: usize,
    handle: Option<tokio::runtime::Handle>,
    max_in_flight: Option<usize>,
    max_queued_bytes: Option<usize>,
    pack_after: Option<Duration>,
    /// For the suspending conformance runs: every suspended execution packs itself, whatever
    /// it waits for, so that packing is checked against every case.
    pub(crate) pack_every_wait: bool,
    replay_from_start: bool,
}

impl RuntimeBuilder {
    /// Worker threads that run executions (default: [`Runtime::default_threads`], the cores
    /// this process may use; at least one, at most [`Runtime::MAX_THREADS`]).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Threads of the runtime's own tokio runtime (default 1), which drives the IO and timers
    /// of asynchronous handlers' futures and runs the tasks they spawn. The futures themselves
    /// are polled on the workers, each time they are woken: no tokio task per waiting handler.
    /// Not used with [`RuntimeBuilder::handler_runtime`].
    pub fn handler_threads(mut self, threads: usize) -> Self {
        self.handler_threads = threads.max(1);
        self
    }

    /// Runs handlers' futures on the host's tokio runtime instead of one of the runtime's own:
    /// each waiting future is polled in a task there (after its first poll on the worker). It
    /// must have the time driver enabled, and the IO driver for handlers that use `tokio::net`
    /// (`enable_all`). If it shuts down under a waiting handler, the execution ends ABORTED.
    pub fn handler_runtime(mut self, handle: tokio::runtime::Handle) -> Self {
        self.handle = Some(handle);
        self
    }

    /// At most `max` executions started by [`Runtime::execute_async`] and [`Runtime::submit`]
    /// (and their `try_` and `_when_room` forms) in flight at once (default: no bound; see
    /// [`Runtime::set_max_in_flight`]). Batches and
    /// streams of machines that never suspend are not counted: they bound themselves by their
    /// chunks; those of machines that may suspend run each event as `execute_async` does, and
    /// are. At least 1.
    pub fn max_in_flight(mut self, max: usize) -> Self {
        self.max_in_flight = Some(max.max(1));
        self
    }

    /// A bound for [`RuntimeBuilder::max_queued_bytes`] that suits most hosts, for each worker:
    /// 2 MiB, a few milliseconds of work for a worker even with events of a kilobyte.
    pub const QUEUED_BYTES_PER_WORKER: usize = 2 << 20;

    /// At most about `bytes` held by executions submitted with [`Runtime::execute_async`] and
    /// [`Runtime::submit`] and not yet started: each counts its event's length and 512 bytes
    /// (default: no bound; [`RuntimeBuilder::QUEUED_BYTES_PER_WORKER`] times the workers suits
    /// most hosts). At the bound, submitters block as they do at
    /// [`RuntimeBuilder::max_in_flight`] (the `try_` forms refuse with [`ErrorKind::Busy`]) until
    /// the queue is under it again: a start that brings it under half the bound wakes them, and
    /// they look again every 50 ms (tasks awaiting room are woken once it is under the bound).
    /// Workers and tokio threads are admitted past it, as at `max_in_flight`, except those
    /// that await room ([`Runtime::execute_when_room`], [`Runtime::submit_when_room`]). So a
    /// burst of submissions larger than the workers can start at once waits in the caller
    /// rather than in memory: an execution that started may pack itself, or finish and free
    /// its event, while the rest of the burst waits (100,000 executions of a 1.2 KiB event in a
    /// 1 s Wait: 1.4 KB each with a bound of 4 MiB, 1.7 KB before the bound existed). An event
    /// larger than the bound is admitted when the queue is under it.
    ///
    /// A submitter that blocks here must not hold what the executions' `done` callbacks (or
    /// their handlers) need, or neither can go on: the GIL of a Python host, say.
    pub fn max_queued_bytes(mut self, bytes: usize) -> Self {
        self.max_queued_bytes = Some(bytes.max(1));
        self
    }

    /// How long the timers must be before a waiting execution packs itself (see
    /// [`RuntimeBuilder::pack_waits_after`]).
    pub const PACK_AFTER: Duration = Duration::from_millis(100);

    /// An execution whose only waits are timers (Waits, retry back-offs) at least `after` away
    /// packs its journal and its event into one block compressed with zstd while it waits,
    /// and reads them back when it runs again: a few microseconds each way, for a third to a
    /// half of the memory (100,000 executions of a 1.2 KiB event in a 1 s Wait: about 1.2 KB
    /// each instead of 2.1 KB). Default [`RuntimeBuilder::PACK_AFTER`]; `None`: never.
    pub fn pack_waits_after(mut self, after: Option<Duration>) -> Self {
        self.pack_after = after;
        self
    }

    /// A debugging aid: every run of a suspended execution starts again from the execution's
    /// start and replays its journal (what its handlers answered, which Waits elapsed, what
    /// the clock read), instead of going on from the top-level state it stopped in. Outcomes
    /// are the same either way (the conformance tests run every case both ways); what changes
    /// is the cost, about K²/2 states for K sequential Tasks that wait, and that the journal
    /// keeps every outcome until the execution ends. Default `false`.
    pub fn replay_from_start(mut self, yes: bool) -> Self {
        self.replay_from_start = yes;
        self
    }

    /// Starts the runtime, or says why it cannot (see [`Runtime::try_new`]).
    pub fn build(self) -> Result<Runtime, Error> {
        Runtime::start_with(self)
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut machines: Vec<String> = self.machines.iter().map(|m| m.key().clone()).collect();
        machines.sort();
        f.debug_struct("Runtime").field("threads", &self.threads.len()).field("machines", &machines).finish()
    }
}

impl Runtime {
    /// The most worker threads a runtime may have. More is a mistake, not a configuration:
    /// each worker holds a stack and a scratch arena (3,000 of them took 1.8 GB).
    pub const MAX_THREADS: usize = 1024;

    /// Starts `threads` workers (at least one).
    ///
    /// # Panics
    /// When [`Runtime::try_new`] fails: more than [`Runtime::MAX_THREADS`] workers, or the
    /// system refuses a thread.
    pub fn new(threads: usize) -> Runtime {
        Runtime::try_new(threads).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts `threads` workers (at least one), or says why it cannot: more than
    /// [`Runtime::MAX_THREADS`], or a thread the system refused (then the workers already
    /// started are stopped again).
    pub fn try_new(threads: usize) -> Result<Runtime, Error> {
        Runtime::builder().threads(threads).build()
    }

    /// The workers a runtime has unless told otherwise: the cores this process may use (as
    /// `std::thread::available_parallelism` counts them, cgroup quotas included), at least one
    /// and at most [`Runtime::MAX_THREADS`]. It reads cgroup files each time: a caller that
    /// asks often keeps the answer.
    pub fn default_threads() -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get()).min(Runtime::MAX_THREADS)
    }

    /// A [`RuntimeBuilder`]: workers, where handlers' futures run, the bounds on executions
    /// in flight and on the bytes queued for a first run.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder {
            threads: Runtime::default_threads(),
            handler_threads: 1,
            handle: None,
            max_in_flight: None,
            max_queued_bytes: None,
            pack_after: Some(RuntimeBuilder::PACK_AFTER),
            pack_every_wait: false,
            replay_from_start: false,
        }
    }

    fn start_with(b: RuntimeBuilder) -> Result<Runtime, Error> {
        let threads = b.threads.max(1);
        if threads > Runtime::MAX_THREADS {
            return Err(Error::new(ErrorKind::Start(format!(
                "{threads} worker threads asked for; at most {}",
                Runtime::MAX_THREADS
            ))));
        }
        let (handle, own) = match b.handle {
            Some(handle) => (handle, None),
            None => {
                let own = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(b.handler_threads)
                    .thread_name("aslrt-handlers")
                    .enable_all()
                    .build()
                    .map_err(|e| Error::new(ErrorKind::Start(format!("starting the handlers' runtime: {e}"))))?;
                (own.handle().clone(), Some(own))
            }
        };
        let workers: Vec<Worker<Job>> = (0..threads).map(|_| Worker::new_fifo()).collect();
        let shared = Arc::new(Shared {
            injector: Injector::new(),
            resumed: Injector::new(),
            stealers: workers.iter().map(Worker::stealer).collect(),
            pending: AtomicUsize::new(0),
            shutdown: AtomicBool::new(false),
            abort: AtomicBool::new(false),
            sleep: Mutex::new(()),
            wake: Condvar::new(),
            idle: crossbeam_utils::CachePadded::new(AtomicUsize::new(0)),
            metrics: Metrics::new(threads),
            executions: DashMap::with_hasher(foldhash::fast::RandomState::default()),
            stuck_on_handlers: AtomicUsize::new(0),
            next_id: std::sync::atomic::AtomicU64::new(1),
            admitted: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(b.max_in_flight.unwrap_or(usize::MAX)),
            queued: AtomicUsize::new(0),
            max_queued: b.max_queued_bytes.unwrap_or(usize::MAX),
            waiting: AtomicUsize::new(0),
            room_lock: Mutex::new(()),
            room: Condvar::new(),
            room_async: tokio::sync::Notify::new(),
            timers: timers::Timers::new(),
            host: own.is_none().then(|| handle.clone()),
            pack_after: b.pack_after.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            pack_every_wait: b.pack_every_wait,
            replay_from_start: b.replay_from_start,
        });
        // Dropped on a failure below, it stops the workers started so far.
        let mut runtime = Runtime { shared, threads: Vec::new(), machines: DashMap::new(), timer_thread: None, own };
        let shared = Arc::clone(&runtime.shared);
        let context = handle.clone();
        let timer_thread = std::thread::Builder::new().name("aslrt-timers".into()).spawn(move || {
            // A handler's future that times out is dropped here, in the handlers' runtime.
            crate::handler::set_context(Some(context));
            shared.timers.run(&|at, id| {
                let exec = shared.executions.get(&id).map(|e| Arc::clone(e.value()));
                if let Some(exec) = exec {
                    exec.arm_limit(at);
                }
            });
        });
        runtime.timer_thread =
            Some(timer_thread.map_err(|e| Error::new(ErrorKind::Start(format!("starting the timer thread: {e}"))))?);
        for (i, local) in workers.into_iter().enumerate() {
            let shared = Arc::clone(&runtime.shared);
            let handle = handle.clone();
            let started = std::thread::Builder::new()
                .name(format!("aslrt-worker-{i}"))
                .spawn(move || worker(i, local, shared, handle));
            match started {
                Ok(handle) => runtime.threads.push(handle),
                Err(e) => {
                    return Err(Error::new(ErrorKind::Start(format!(
                        "starting worker thread {} of {threads}: {e}",
                        i + 1
                    ))))
                }
            }
        }
        Ok(runtime)
    }

    /// The number of workers.
    pub fn threads(&self) -> usize {
        self.threads.len()
    }

    /// Registers a compiled machine under `name`, replacing any previous one.
    pub fn register(&self, name: impl Into<String>, machine: StateMachine) {
        self.machines.insert(name.into(), machine);
    }

    /// A registered machine.
    pub fn machine(&self, name: &str) -> Option<StateMachine> {
        self.machines.get(name).map(|m| m.clone())
    }

    /// The execution metrics of every execution this runtime ran: read a
    /// [`snapshot`](Metrics::snapshot), or its Prometheus text.
    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// Runs one execution on the calling thread (with a scratch kept per thread) and records
    /// its metrics. A heavy Map spreads its items over the pool's idle workers.
    pub fn execute(&self, machine: &StateMachine, event: &[u8]) -> Outcome {
        thread_local! {
            static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::new());
        }
        SCRATCH.with(|s| {
            let mut scratch = s.borrow_mut();
            // Set once per thread and runtime: no reference count is touched per execution. (The
            // thread's scratch keeps the pool's shared state, a few hundred bytes with no thread
            // or work in it, after the `Runtime` is gone, until another runtime replaces it.)
            let ours =
                scratch.helpers.as_ref().is_some_and(|h| std::ptr::addr_eq(Arc::as_ptr(h), Arc::as_ptr(&self.shared)));
            if !ours {
                scratch.helpers = Some(Arc::clone(&self.shared) as Arc<dyn Helpers>);
            }
            record(self.shared.metrics.shard(0), || machine.execute(&mut scratch, event)).to_outcome()
        })
    }

    /// Runs one execution on the pool; the handle resolves (blocking or as a future) to its
    /// outcome, and can cancel it ([`Pending::cancel`]).
    ///
    /// The execution suspends, without holding a worker, at a Wait or a retry back-off on the
    /// system clock and at a Task whose handler is asynchronous ([`crate::handler::AsyncTaskHandler`]);
    /// it resumes on any worker when the timer fires or the future completes.
    ///
    /// With a bound on executions in flight ([`RuntimeBuilder::max_in_flight`]), it blocks
    /// until one finishes; with a bound on the bytes queued for a first run
    /// ([`RuntimeBuilder::max_queued_bytes`]), until the queue is under it. Called on a worker
    /// (from a handler) or on a thread of a tokio runtime (from a handler's future, or async
    /// host code), it never blocks: the execution counts all the same.
    /// [`Runtime::try_execute_async`] refuses instead, and async code awaits room with
    /// [`Runtime::execute_when_room`].
    pub fn execute_async(&self, machine: &StateMachine, event: Vec<u8>) -> Pending {
        self.wait_for_room();
        Pending(self.start(machine, event, None))
    }

    /// [`Runtime::execute_async`], or, at either bound (executions in flight, bytes queued),
    /// an error of kind [`ErrorKind::Busy`] at once (the event is not run).
    pub fn try_execute_async(&self, machine: &StateMachine, event: Vec<u8>) -> Result<Pending, Error> {
        self.admit_now()?;
        Ok(Pending(self.start(machine, event, None)))
    }

    /// [`Runtime::submit`], or, at either bound (executions in flight, bytes queued), an error
    /// of kind [`ErrorKind::Busy`] at once (the event is not run, `done` is not called).
    pub fn try_submit(
        &self,
        machine: &StateMachine,
        event: Vec<u8>,
        done: impl FnOnce(Outcome) + Send + 'static,
    ) -> Result<u64, Error> {
        self.admit_now()?;
        Ok(self.start(machine, event, Some(Box::new(done))).id)
    }

    /// [`Runtime::execute_async`] for async code: at either bound (executions in flight, bytes
    /// queued) it waits for room without blocking its thread, then starts the execution. The
    /// bound holds for it on any thread, a tokio runtime's included (where `execute_async` lets
    /// an execution past). Dropped while it waits, it has admitted nothing.
    ///
    /// Not from a handler's future of this runtime: the execution it belongs to holds its
    /// place in flight while it waits, and if every execution in flight did that, none would
    /// end to make room. `execute_async` lets such nested executions past the bound.
    ///
    /// # Example
    /// ```
    /// use aslrt::{Runtime, StateMachine, Status};
    /// let machine = StateMachine::compile(r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#)?;
    /// let runtime = Runtime::builder().threads(2).max_in_flight(64).build()?;
    /// let host = tokio::runtime::Builder::new_current_thread().build()?;
    /// let outcomes = host.block_on(async {
    ///     let mut pending = Vec::new();
    ///     for i in 0..1_000 {
    ///         // At most 64 in flight: the loop waits here for one to end.
    ///         pending.push(runtime.execute_when_room(&machine, format!("{i}").into_bytes()).await);
    ///     }
    ///     let mut outcomes = Vec::new();
    ///     for p in pending {
    ///         outcomes.push(p.await);
    ///     }
    ///     outcomes
    /// });
    /// assert!(outcomes.iter().all(|o| o.status == Status::Succeeded));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn execute_when_room(&self, machine: &StateMachine, event: Vec<u8>) -> Pending {
        self.room().await;
        Pending(self.start(machine, event, None))
    }

    /// [`Runtime::submit`] for async code: waits for room as [`Runtime::execute_when_room`]
    /// does, then starts the execution; `done` is called with its outcome. Dropped while it
    /// waits, it has started nothing and `done` is dropped uncalled.
    pub async fn submit_when_room(
        &self,
        machine: &StateMachine,
        event: Vec<u8>,
        done: impl FnOnce(Outcome) + Send + 'static,
    ) -> u64 {
        self.room().await;
        self.start(machine, event, Some(Box::new(done))).id
    }

    /// Admits one more execution, awaiting room at either bound. The waiter counts itself
    /// (`Shared::waiting`) and enables its `Notified` before each look at the bounds, so that
    /// a wake-up between the look and the wait, by `notify_one` or `notify_waiters`, is not
    /// lost.
    async fn room(&self) {
        struct Counted<'a>(&'a Shared);
        impl Drop for Counted<'_> {
            fn drop(&mut self) {
                self.0.waiting.fetch_sub(1, Ordering::SeqCst);
            }
        }
        let shared = &*self.shared;
        if shared.try_enter() {
            return;
        }
        shared.waiting.fetch_add(1, Ordering::SeqCst);
        let _counted = Counted(shared);
        loop {
            let mut notified = std::pin::pin!(shared.room_async.notified());
            notified.as_mut().enable();
            if shared.try_enter() {
                return;
            }
            notified.await;
        }
    }

    /// Bounds the executions in flight from `execute_async` and `submit` and their `try_` and
    /// `_when_room` forms (`None`: no bound; at least 1). Raising it wakes the submitters
    /// waiting for room; lowering it below the executions in flight stops new ones until
    /// enough finish.
    pub fn set_max_in_flight(&self, max: Option<usize>) {
        {
            let _guard = self.shared.room_lock.lock();
            self.shared.max_in_flight.store(max.map_or(usize::MAX, |m| m.max(1)), Ordering::SeqCst);
        }
        self.shared.room_made();
    }

    fn admit_now(&self) -> Result<(), Error> {
        let shared = &*self.shared;
        if shared.try_enter() {
            return Ok(());
        }
        if !shared.queue_has_room() {
            return Err(Error::new(ErrorKind::Busy(format!(
                "executions not yet started hold {} bytes, the most this runtime queues (max_queued_bytes {})",
                crate::common::thousands(shared.queued.load(Ordering::Relaxed) as u64),
                crate::common::thousands(shared.max_queued as u64)
            ))));
        }
        let max = self.shared.max_in_flight.load(Ordering::Relaxed);
        Err(Error::new(ErrorKind::Busy(format!(
            "{} executions are in flight, the most this runtime allows (max_in_flight {max})",
            crate::common::thousands(self.shared.admitted.load(Ordering::Relaxed) as u64)
        ))))
    }

    /// Admits one more execution, waiting for room at the bound. Never on a worker, nor on a
    /// thread of a tokio runtime (the handlers' own, the host's): there, waiting could hold
    /// up the executions that would make room (their handlers' futures and timers run on such
    /// threads), so the execution is admitted past the bound instead.
    fn wait_for_room(&self) {
        self.wait_for_room_unless(None);
    }

    /// [`Runtime::wait_for_room`], given up once `stop` is cancelled (looked at every 50 ms at
    /// most): `false`, nothing admitted.
    fn wait_for_room_unless(&self, stop: Option<&Cancel>) -> bool {
        let shared = &*self.shared;
        if shared.try_enter() {
            return true;
        }
        if ON_WORKER.get() || tokio::runtime::Handle::try_current().is_ok() {
            shared.admitted.fetch_add(1, Ordering::AcqRel);
            return true;
        }
        // Counted before the bounds are read again, as `dequeued` reads the count after it
        // lowers the queue: one of the two sees the other.
        shared.waiting.fetch_add(1, Ordering::SeqCst);
        let mut guard = shared.room_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut admitted = true;
        while !shared.try_enter() {
            if stop.is_some_and(Cancel::is_cancelled) {
                admitted = false;
                break;
            }
            guard = shared.room.wait_timeout(guard, Duration::from_millis(50)).unwrap_or_else(|p| p.into_inner()).0;
        }
        drop(guard);
        shared.waiting.fetch_sub(1, Ordering::SeqCst);
        admitted
    }

    /// Runs one execution on the pool, as [`Runtime::execute_async`] does, and calls `done` with
    /// its outcome when it ends: on the worker that ends it (or, for an execution a shutdown
    /// aborts or a runtime that is shutting down refuses, on the thread doing so). `done` is
    /// called exactly once; a panic in it is caught. Returns the execution's id, for
    /// [`Runtime::cancel`].
    ///
    /// # Example
    /// ```
    /// use aslrt::{Runtime, StateMachine, Status};
    /// let machine = StateMachine::compile(r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#)?;
    /// let runtime = Runtime::new(2);
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// runtime.submit(&machine, br#"{"id":1}"#.to_vec(), move |outcome| tx.send(outcome).unwrap());
    /// let outcome = rx.recv().unwrap();
    /// assert_eq!((outcome.status, outcome.output.as_deref()), (Status::Succeeded, Some(r#"{"id":1}"#)));
    /// # Ok::<(), aslrt::Error>(())
    /// ```
    ///
    /// With a bound on executions in flight or on the bytes queued, it blocks as
    /// [`Runtime::execute_async`] does; [`Runtime::try_submit`] refuses instead.
    pub fn submit(&self, machine: &StateMachine, event: Vec<u8>, done: impl FnOnce(Outcome) + Send + 'static) -> u64 {
        self.wait_for_room();
        self.start(machine, event, Some(Box::new(done))).id
    }

    /// [`Runtime::submit`], but a wait for room gives up once `stop` is cancelled (it looks
    /// about every 50 ms): then `None`, nothing is submitted and `done` is dropped uncalled.
    /// For a host that stops its submitters as it shuts down. Where `submit` would not wait,
    /// neither does this, whatever `stop` says.
    pub fn submit_unless(
        &self,
        machine: &StateMachine,
        event: Vec<u8>,
        stop: &Cancel,
        done: impl FnOnce(Outcome) + Send + 'static,
    ) -> Option<u64> {
        self.wait_for_room_unless(Some(stop)).then(|| self.start(machine, event, Some(Box::new(done))).id)
    }

    /// Starts an admitted execution.
    fn start(&self, machine: &StateMachine, event: Vec<u8>, done: Option<Done>) -> Arc<Resumable> {
        // Counted only under a bound: with none, the queue's counter is not touched.
        let queued = match self.shared.max_queued {
            usize::MAX => 0,
            _ => event.len().saturating_add(QUEUED_OVERHEAD),
        };
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let run = Resumable::new(id, machine.clone(), event, Arc::clone(&self.shared), done);
        if self.threads.is_empty() {
            // Shut down already.
            self.shared.leave();
            run.deliver(Execution::ABORTED.to_outcome());
            return run;
        }
        self.shared.executions.insert(id, Arc::clone(&run));
        if queued > 0 {
            self.shared.queued.fetch_add(queued, Ordering::SeqCst);
        }
        self.shared.submit(run.first_job(queued));
        run
    }

    /// Stops the in-flight execution `id` (see [`Pending::id`]) as [`Pending::cancel`] does;
    /// `false` if no execution with that id is in flight.
    pub fn cancel(&self, id: u64) -> bool {
        let found = self.shared.executions.get(&id).map(|e| Arc::clone(e.value()));
        found.map(|e| e.cancel()).is_some()
    }

    /// How many executions nothing but a handler's answer can move on: suspended, with no run
    /// queued or running and no timer pending, waiting only on handlers' futures (asynchronous
    /// handlers, or later answers). When it equals the executions in flight, the pool is idle
    /// until some handler answers.
    pub fn stuck_on_handlers(&self) -> usize {
        self.shared.stuck_on_handlers.load(Ordering::Acquire)
    }

    /// How many executions started with `execute_async` have not finished (running, queued,
    /// or suspended while they wait).
    pub fn in_flight(&self) -> usize {
        self.shared.executions.len()
    }

    /// Runs every event on the pool and returns the outcomes in input order. Executions that may
    /// suspend ([`StateMachine::may_suspend`]) run as with [`Runtime::execute_async`].
    ///
    /// An event is anything that holds its bytes: a `Vec<u8>`, or a view into a buffer shared by
    /// the batch (an `Arc` and a range) when copying every event would cost more than running it.
    /// Every event has been dropped when this returns.
    pub fn execute_batch<E>(&self, machine: &StateMachine, events: Vec<E>) -> Vec<Outcome>
    where
        E: AsRef<[u8]> + Send + 'static,
    {
        self.execute_batch_with(machine, events, |e| e.to_outcome())
    }

    /// [`Runtime::execute_batch`], with each execution's result made by `map` on the worker that
    /// ran it, from the borrowed [`Execution`]: what a caller keeps of a result, built where the
    /// result is, in parallel.
    ///
    /// # Example
    /// ```
    /// use aslrt::{Runtime, StateMachine, Status};
    /// let machine = StateMachine::compile(r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#)?;
    /// let runtime = Runtime::new(2);
    /// let lengths = runtime.execute_batch_with(&machine, vec![b"[1]".to_vec(), b"{}".to_vec()], |e| {
    ///     (e.status, e.output.map_or(0, str::len))
    /// });
    /// assert_eq!(lengths, [(Status::Succeeded, 3), (Status::Succeeded, 2)]);
    /// # Ok::<(), aslrt::Error>(())
    /// ```
    pub fn execute_batch_with<E, T, F>(&self, machine: &StateMachine, events: Vec<E>, map: F) -> Vec<T>
    where
        E: AsRef<[u8]> + Send + 'static,
        T: Send + 'static,
        F: Fn(Execution<'_>) -> T + Send + Sync + 'static,
    {
        self.execute_batch_chunked(machine, events, None, |_| (), move |_: &mut (), e| map(e))
    }

    /// [`Runtime::execute_batch_with`], stopped by `cancel`: once it is cancelled, executions
    /// running stop before their next state, suspended ones at once, and those not started never
    /// run; all of them end `ABORTED`, and the call returns as soon as they have.
    pub fn execute_batch_cancellable<E, T, F>(
        &self,
        machine: &StateMachine,
        events: Vec<E>,
        cancel: &Cancel,
        map: F,
    ) -> Vec<T>
    where
        E: AsRef<[u8]> + Send + 'static,
        T: Send + 'static,
        F: Fn(Execution<'_>) -> T + Send + Sync + 'static,
    {
        self.execute_batch_chunked(machine, events, Some(cancel), |_| (), move |_: &mut (), e| map(e))
    }

    /// [`Runtime::execute_batch_cancellable`] (with or without a `cancel`), with state shared by
    /// neighbouring results: a worker takes the events in runs of up to a few hundred, makes a
    /// `C` for each run with `start` (given the index of the run's first event), hands it to
    /// `map` with each execution of the run, in order, and drops it on the worker when the run
    /// ends, before this returns. One buffer for a run's outputs, instead of an allocation per
    /// result, or a table filled run by run as they end, is what it is for. An execution that
    /// may suspend ([`StateMachine::may_suspend`]) is a run of its own.
    pub fn execute_batch_chunked<E, T, C, S, F>(
        &self,
        machine: &StateMachine,
        events: Vec<E>,
        cancel: Option<&Cancel>,
        start: S,
        map: F,
    ) -> Vec<T>
    where
        E: AsRef<[u8]> + Send + 'static,
        T: Send + 'static,
        S: Fn(usize) -> C + Send + Sync + 'static,
        F: Fn(&mut C, Execution<'_>) -> T + Send + Sync + 'static,
    {
        if machine.may_suspend() {
            // Submitted one by one, which a bound may make wait: once `cancel` is cancelled,
            // the events not started yet never are (one admitted as the cancellation came
            // leaves at once), and end ABORTED as queued ones do.
            let stopped = || cancel.is_some_and(Cancel::is_cancelled);
            let pending: Vec<Option<Pending>> = events
                .into_iter()
                .map(|e| {
                    if !stopped() && self.wait_for_room_unless(cancel) {
                        if !stopped() {
                            return Some(Pending(self.start(machine, e.as_ref().to_vec(), None)));
                        }
                        self.shared.leave();
                    }
                    self.shared.metrics.shard(0).aborted();
                    None
                })
                .collect();
            let Some(cancel) = cancel else {
                return pending
                    .into_iter()
                    .enumerate()
                    .map(|(i, p)| match p {
                        Some(p) => map(&mut start(i), p.wait().as_execution()),
                        None => map(&mut start(i), Execution::ABORTED),
                    })
                    .collect();
            };
            let mut stopped = false;
            return pending
                .iter()
                .enumerate()
                .map(|(i, p)| loop {
                    let Some(p) = p else { break map(&mut start(i), Execution::ABORTED) };
                    if !stopped && cancel.is_cancelled() {
                        stopped = true;
                        pending.iter().flatten().for_each(Pending::cancel);
                    }
                    if let Some(o) = p.wait_for(Duration::from_millis(10)) {
                        break map(&mut start(i), o.as_execution());
                    }
                })
                .collect();
        }
        let cancel = cancel.cloned();
        let n = events.len();
        let chunk = chunk_size(n, self.threads());
        let results: Arc<Mutex<Vec<Option<T>>>> = Arc::new(Mutex::new((0..n).map(|_| None).collect()));
        let remaining = Arc::new((Mutex::new(n.div_ceil(chunk.max(1))), Condvar::new()));
        let map = Arc::new((start, map));
        let mut events = events.into_iter().enumerate().peekable();
        while events.peek().is_some() {
            let part: Vec<(usize, E)> = events.by_ref().take(chunk).collect();
            let (machine, results, remaining, map, cancel) =
                (machine.clone(), Arc::clone(&results), Arc::clone(&remaining), Arc::clone(&map), cancel.clone());
            self.shared.submit(Box::new(move |scratch, metrics, run| {
                // Counts the chunk as done even if it panics (a bug), so that the caller is
                // woken and fails on the missing results instead of waiting for ever.
                let _counted = ChunkDone(&remaining);
                let (start, map) = &*map;
                let mut shared = start(part.first().map_or(0, |(i, _)| *i));
                let done: Vec<(usize, T)> = part
                    .into_iter()
                    .map(|(i, e)| {
                        let execution = match &cancel {
                            None => run_or_abort(metrics, run, || machine.execute(scratch, e.as_ref())),
                            Some(c) => run_or_abort(metrics, run && !c.is_cancelled(), || {
                                machine.execute_cancellable(scratch, e.as_ref(), c)
                            }),
                        };
                        (i, map(&mut shared, execution))
                    })
                    .collect();
                drop(shared);
                let mut r = results.lock().unwrap_or_else(|p| p.into_inner());
                for (i, o) in done {
                    r[i] = Some(o);
                }
            }));
        }
        let (count, cv) = &*remaining;
        let mut c = count.lock().unwrap_or_else(|p| p.into_inner());
        while *c > 0 {
            c = cv.wait(c).unwrap_or_else(|p| p.into_inner());
        }
        drop(c);
        let mut r = results.lock().unwrap_or_else(|p| p.into_inner());
        let all: Option<Vec<T>> = r.drain(..).collect();
        all.expect("a batch's job panicked (a bug in aslrt): its results are missing")
    }

    /// Runs a stream of events, handing each result to `sink` in the order of the events.
    ///
    /// `format` turns an execution into the bytes the sink gets; it runs on the worker, on the
    /// execution's borrowed result. At most `max_in_flight` events are queued or running at a
    /// time (backpressure). `sink` returning an error stops the stream after the work in flight.
    /// Returns how many results the sink accepted: the caller may acknowledge (checkpoint) up to
    /// there, which makes the stream at-least-once. Executions that may suspend
    /// ([`StateMachine::may_suspend`]) run as with [`Runtime::execute_async`], in order.
    pub fn stream<S, F>(
        &self,
        machine: &StateMachine,
        mut source: impl Iterator<Item = (u64, Vec<u8>)>,
        max_in_flight: usize,
        format: F,
        mut sink: S,
    ) -> std::io::Result<u64>
    where
        S: FnMut(u64, &[u8]) -> std::io::Result<()>,
        F: Fn(u64, &Execution<'_>) -> Vec<u8> + Send + Sync + 'static,
    {
        if machine.may_suspend() {
            // Each event runs as with `execute_async`, at most `max_in_flight` at a time; results
            // go to the sink in event order.
            let mut window: std::collections::VecDeque<(u64, Pending)> = std::collections::VecDeque::new();
            let mut accepted = 0u64;
            loop {
                while window.len() < max_in_flight.max(1) {
                    let Some((id, event)) = source.next() else { break };
                    window.push_back((id, self.execute_async(machine, event)));
                }
                let Some((id, pending)) = window.pop_front() else { return Ok(accepted) };
                let outcome = pending.wait();
                if let Err(e) = sink(id, &format(id, &outcome.as_execution())) {
                    // Stop after the work in flight.
                    for (_, p) in window {
                        p.wait();
                    }
                    return Err(e);
                }
                accepted += 1;
            }
        }
        let format = Arc::new(format);
        let chunk = 64.min(max_in_flight.max(1));
        let (tx, rx) = crossbeam_channel::unbounded::<Vec<(u64, Vec<u8>)>>();
        let mut next_seq: u64 = 0; // sequence numbers in submission order
        let mut delivered: u64 = 0;
        let mut in_flight = 0usize;
        // Results arrive by chunk, out of order: keyed by the sequence of their first event.
        let mut reorder: BTreeMap<u64, Vec<(u64, Vec<u8>)>> = BTreeMap::new();
        let mut source = source.peekable();
        let mut accepted = 0u64;
        let mut failure: Option<std::io::Error> = None;
        loop {
            // Submit while there is room and input.
            while failure.is_none() && in_flight + chunk <= max_in_flight.max(chunk) && source.peek().is_some() {
                let part: Vec<(u64, Vec<u8>)> = source.by_ref().take(chunk).collect();
                let seq = next_seq;
                next_seq += part.len() as u64;
                in_flight += part.len();
                let (machine, format, tx) = (machine.clone(), Arc::clone(&format), tx.clone());
                self.shared.submit(Box::new(move |scratch, metrics, run| {
                    let out: Vec<(u64, Vec<u8>)> = part
                        .into_iter()
                        .map(|(id, e)| (id, format(id, &run_or_abort(metrics, run, || machine.execute(scratch, &e)))))
                        .collect();
                    let _ = tx.send(vec![(seq, Vec::new())].into_iter().chain(out).collect());
                }));
            }
            if in_flight == 0 {
                break;
            }
            let Ok(mut batch) = rx.recv() else { break };
            let seq = batch.remove(0).0;
            reorder.insert(seq, batch);
            while let Some(batch) = reorder.remove(&delivered) {
                delivered += batch.len() as u64;
                in_flight -= batch.len();
                for (id, bytes) in batch {
                    if failure.is_none() {
                        match sink(id, &bytes) {
                            Ok(()) => accepted += 1,
                            Err(e) => failure = Some(e),
                        }
                    }
                }
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(accepted),
        }
    }

    /// Lets the workers finish every queued job, then stops them.
    pub fn shutdown(mut self) {
        self.stop(false);
    }

    /// Stops the workers after the jobs they are running; queued jobs are dropped and their
    /// executions counted as aborted.
    pub fn shutdown_now(mut self) {
        self.stop(true);
    }

    fn stop(&mut self, abort: bool) {
        self.shared.abort.store(abort, Ordering::Release);
        self.shared.shutdown.store(true, Ordering::Release);
        if abort {
            let waiting: Vec<Arc<Resumable>> = self.shared.executions.iter().map(|e| Arc::clone(e.value())).collect();
            for e in waiting {
                e.kick();
            }
        }
        {
            let _guard = self.shared.sleep.lock();
            self.shared.wake.notify_all();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        // Every suspended execution has been resubmitted and finished by now. The timer
        // thread and the handlers' runtime are stopped too, so that none outlives the runtime
        // (a host that drops one at exit, or makes many, finds no thread of it left); from
        // inside an async context, where tokio may not block, the handlers' runtime is left to
        // end by itself.
        self.shared.timers.stop();
        if let Some(t) = self.timer_thread.take() {
            let _ = t.join();
        }
        self.shared.executions.clear();
        if let Some(timers) = self.own.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                timers.shutdown_background();
            } else {
                timers.shutdown_timeout(Duration::from_secs(5));
            }
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Also when no worker started: the timer thread may have.
        if !self.threads.is_empty() || self.timer_thread.is_some() {
            self.stop(false);
        }
    }
}

/// Counts one chunk of a batch as done when dropped.
struct ChunkDone<'a>(&'a (Mutex<usize>, Condvar));

impl Drop for ChunkDone<'_> {
    fn drop(&mut self) {
        let (count, cv) = self.0;
        let mut c = count.lock().unwrap_or_else(|p| p.into_inner());
        *c -= 1;
        // Only the last chunk wakes the caller: a wake per chunk would take a core from the
        // workers hundreds of times per batch.
        if *c == 0 {
            cv.notify_all();
        }
    }
}

fn chunk_size(n: usize, threads: usize) -> usize {
    // A few chunks per thread balance the load; at least one event and at most 256 per chunk.
    (n / (threads * 4)).clamp(1, 256)
}

fn record<'s>(metrics: &Shard, run: impl FnOnce() -> Execution<'s>) -> Execution<'s> {
    metrics.started();
    let t = Instant::now();
    let r = run();
    metrics.finished(r.status, t.elapsed(), r.transitions);
    r
}

/// Runs an execution and records it, or, for a job dropped unrun (`run` false: shutdown_now,
/// or cancelled before it started), counts it aborted without running it.
fn run_or_abort<'s>(metrics: &Shard, run: bool, execute: impl FnOnce() -> Execution<'s>) -> Execution<'s> {
    if run {
        record(metrics, execute)
    } else {
        metrics.aborted();
        Execution::ABORTED
    }
}

/// Every this many times a worker looks in the queues, it looks at first runs and its own
/// queue before resumed runs: futures that wake themselves each time they are polled keep the
/// `resumed` injector full, and must not keep the rest from ever running.
const FIRST_RUNS_EVERY: u32 = 31;

/// Finds a job: a resumed execution (unless `resumed_first` is false: then last), the local
/// queue, a batch from the injector, or one stolen from another worker.
fn find_task(local: &Worker<Job>, shared: &Shared, resumed_first: bool) -> Option<Job> {
    let resumed =
        || std::iter::repeat_with(|| shared.resumed.steal()).find(|s| !s.is_retry()).and_then(|s| s.success());
    let others = || {
        local.pop().or_else(|| {
            std::iter::repeat_with(|| {
                shared
                    .injector
                    .steal_batch_and_pop(local)
                    .or_else(|| shared.stealers.iter().map(|s| s.steal()).collect())
            })
            .find(|s| !s.is_retry())
            .and_then(|s| s.success())
        })
    };
    match resumed_first {
        true => resumed().or_else(others),
        false => others().or_else(resumed),
    }
}

fn worker(index: usize, local: Worker<Job>, shared: Arc<Shared>, handlers: tokio::runtime::Handle) {
    // Asynchronous handlers are started, and their futures polled once, on the worker, in the
    // tokio runtime that awaits them if they are not ready at once.
    crate::handler::set_context(Some(handlers));
    ON_WORKER.set(true);
    NEXT.with(|next| next.borrow_mut().0 = Arc::as_ptr(&shared) as usize);
    let helpers: Arc<dyn Helpers> = Arc::clone(&shared) as Arc<dyn Helpers>;
    let fresh = || {
        let mut scratch = Scratch::new();
        scratch.helpers = Some(Arc::clone(&helpers));
        scratch
    };
    let mut scratch = fresh();
    let shared = &*shared;
    let metrics = shared.metrics.shard(index + 1);
    let (mut in_a_row, mut finds) = (0, 0u32);
    loop {
        let next = match in_a_row < NEXT_IN_A_ROW {
            true => take_next(),
            false => {
                // Its turn is over: to the queue, where an idle worker may take it first.
                if let Some(job) = take_next() {
                    shared.resumed.push(job);
                    shared.wake_one();
                }
                None
            }
        };
        let job = match next {
            Some(job) => {
                in_a_row += 1;
                Some(job)
            }
            None => {
                in_a_row = 0;
                finds = finds.wrapping_add(1);
                find_task(&local, shared, finds % FIRST_RUNS_EVERY != 0)
            }
        };
        match job {
            Some(job) => {
                let run = !shared.abort.load(Ordering::Acquire);
                // A panicking job (a bug) must not take the worker down with it.
                let outcome =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut scratch, metrics, run)));
                if outcome.is_err() {
                    scratch = fresh();
                }
                shared.pending.fetch_sub(1, Ordering::AcqRel);
            }
            None => {
                if shared.shutdown.load(Ordering::Acquire) && shared.pending.load(Ordering::Acquire) == 0 {
                    return;
                }
                // Also while shutting down with executions still suspended: their next runs
                // arrive through the `resumed` injector, and a submission wakes a sleeper.
                // Idle first, then the last look (see `Shared::wake_one`).
                let guard = shared.sleep.lock().unwrap_or_else(|p| p.into_inner());
                shared.idle.fetch_add(1, Ordering::SeqCst);
                std::sync::atomic::fence(Ordering::SeqCst);
                if shared.injector.is_empty() && shared.resumed.is_empty() {
                    let _ = shared.wake.wait_timeout(guard, std::time::Duration::from_millis(50));
                }
                shared.idle.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
}

/// What [`Runtime::submit`] calls with an outcome.
type Done = Box<dyn FnOnce(Outcome) + Send>;

/// The outcome of [`Runtime::execute_async`]: `wait()` for it, or `.await` it.
pub struct Pending(Arc<Resumable>);

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").field("id", &self.0.id).field("done", &self.0.has_outcome()).finish()
    }
}

impl Pending {
    /// Stops the execution, like StopExecution: if it has not started it never runs; if it is
    /// running it stops before its next state; if it is suspended (a Wait, a retry back-off, an
    /// asynchronous handler) it stops at once, and the handler's future is dropped. Either way
    /// its outcome is `ABORTED`. An execution already finished keeps its outcome. A running
    /// synchronous handler is not interrupted: the execution stops when it returns.
    pub fn cancel(&self) {
        self.0.cancel();
    }

    /// The execution's id in its `Runtime` (for [`Runtime::cancel`]).
    pub fn id(&self) -> u64 {
        self.0.id
    }

    /// The outcome, if the execution ends within `timeout` (taking it: a later call finds none).
    fn wait_for(&self, timeout: Duration) -> Option<Outcome> {
        self.0.wait_outcome(Some(timeout))
    }

    /// Blocks the calling thread until the execution ends, and gives its outcome.
    pub fn wait(self) -> Outcome {
        self.0.wait_outcome(None).expect("without a time limit, the wait ends with the outcome")
    }
}

impl std::future::Future for Pending {
    type Output = Outcome;
    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Outcome> {
        match self.0.poll_outcome(Some(cx.waker())) {
            Some(o) => std::task::Poll::Ready(o),
            None => std::task::Poll::Pending,
        }
    }
}
