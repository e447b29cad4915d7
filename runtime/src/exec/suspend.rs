//! Suspended executions: waiting for a timer or an asynchronous handler, off the workers (see
//! [`crate::vm::Journal`] for how the execution then goes on).
//!
//! A run that stops leaves a [`Suspension`] in its journal, and the worker moves on to other work.
//! A Wait or back-off goes to the runtime's timers (`timers`). A handler's future becomes a
//! [`HandlerWait`], polled again on a worker each time it is woken (or in a task on the host's
//! tokio runtime, if it gave one), with its time limit (TimeoutSeconds, or, on the system clock,
//! what is left of the execution's) among the timers. The outcome is left in the execution's inbox,
//! and the execution is put back on the pool's `resumed` injector, where any worker picks it up,
//! before any first run (or, when the answer came as a worker polled the future, in that worker's
//! slot for its next job), and runs it again, unpacking it first if it packed itself (`pack`) while
//! waiting on long timers. A cancellation or `shutdown_now` queues a run at once, which ends the
//! execution ABORTED and drops the handlers' futures it no longer waits for.

use super::timers::{Fire, Timers};
use super::{Done, Job, Shared};
use crate::common::Status;
use crate::handler::Waiting;
use crate::machine::{Outcome, StateMachine};
use crate::vm::{Entry, Journal, ResourceId, Site, Suspension};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// An execution run by `Runtime::execute_async` or `Runtime::submit`: shared by the worker
/// that runs it, the waits it has in flight, the runtime's map of executions (for
/// `Runtime::cancel`) and its `Pending`. One allocation of a few hundred bytes beside the
/// event: it is most of what a waiting execution costs.
pub(super) struct Resumable {
    pub(super) id: u64,
    machine: StateMachine,
    shared: Arc<Shared>,
    /// Set by `cancel` (like StopExecution), or by a host task dropped under a wait.
    cancelled: AtomicBool,
    /// Touched only by the run (on a worker), held while it runs.
    state: Mutex<State>,
    /// Where waits that end leave their outcome; held only for a moment, so that the threads
    /// that end waits never wait for a run.
    inbox: Mutex<Inbox>,
    /// Where the outcome goes: `done`, or `Pending`.
    delivery: Mutex<Delivery>,
    ready: Condvar,
}

struct State {
    /// The event, kept for later runs; dropped when the execution ends. While the execution
    /// waits long (`packed`): its journal and event, packed and compressed (`pack`), in a
    /// block of exactly their size (one field for both keeps `Resumable` in a smaller size
    /// class of the allocator).
    event: Vec<u8>,
    packed: bool,
    journal: Option<Box<Journal>>,
    started: Option<Instant>,
    /// While it waits, the execution holds one count of the pool's `pending`, so that
    /// `shutdown` drains it.
    holds_pending: bool,
}

/// Where the timer of an execution's time limit stands.
#[derive(Clone, Copy)]
enum Limit {
    /// No timer: the execution has not waited for a handler yet, has no time limit, or only
    /// waited on handlers whose TimeoutSeconds came first; or it has ended.
    NotSet,
    /// Set, under this key.
    Set(super::timers::Key),
    /// Set far away: in the timers' list, which puts it in the map if the execution is still
    /// in flight at the next sweep (`arm_limit`).
    Deferred,
    /// It has fired: a handler wait that begins now times out at once.
    Fired,
}

enum Delivery {
    /// [`super::Runtime::submit`]'s callback, until it is called.
    Call(Option<Done>),
    /// For [`super::Pending`]: the outcome once there is one, and who to wake then.
    Await { outcome: Option<Box<Outcome>>, waker: Option<std::task::Waker> },
}

struct Inbox {
    resolved: Vec<(Site, Option<Entry>)>,
    /// The handlers' futures in flight: dropped when the execution ends first.
    handlers: Vec<Arc<HandlerWait>>,
    /// The timer of the execution's time limit, set at its first handler wait (once, not per
    /// wait: most waits end long before it) and removed when the execution ends.
    limit: Limit,
    /// A run is queued: a wait that ends meanwhile needs no other.
    queued: bool,
    /// The outcome is delivered: a wait that ends later changes nothing.
    finished: bool,
    /// A run is under way.
    running: bool,
    /// Waits in flight: on handlers' futures, and on timers.
    handler_waits: u32,
    timer_waits: u32,
    /// Counted in the pool's `stuck_on_handlers`: nothing queued or running, no timer, and a
    /// handler's future pending, so only an answer (or a cancellation) can move it on.
    stuck: bool,
}

impl Inbox {
    /// Updates `stuck` and the pool's count of such executions.
    fn restate(&mut self, shared: &Shared) {
        let stuck = !self.finished && !self.queued && !self.running && self.timer_waits == 0 && self.handler_waits > 0;
        if stuck != self.stuck {
            self.stuck = stuck;
            if stuck {
                shared.stuck_on_handlers.fetch_add(1, Ordering::AcqRel);
            } else {
                shared.stuck_on_handlers.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Resumable {
    /// A new execution, its first run to be queued by the caller (`job`); `done` takes the
    /// outcome, or else a `Pending`.
    pub fn new(id: u64, machine: StateMachine, event: Vec<u8>, shared: Arc<Shared>, done: Option<Done>) -> Arc<Self> {
        let delivery = match done {
            Some(done) => Delivery::Call(Some(done)),
            None => Delivery::Await { outcome: None, waker: None },
        };
        Arc::new(Resumable {
            id,
            machine,
            shared,
            cancelled: AtomicBool::new(false),
            state: Mutex::new(State { event, packed: false, journal: None, started: None, holds_pending: false }),
            inbox: Mutex::new(Inbox {
                resolved: Vec::new(),
                handlers: Vec::new(),
                limit: Limit::NotSet,
                queued: true,
                finished: false,
                running: false,
                handler_waits: 0,
                timer_waits: 0,
                stuck: false,
            }),
            delivery: Mutex::new(delivery),
            ready: Condvar::new(),
        })
    }

    /// A job that runs the execution once more.
    pub fn job(self: &Arc<Self>) -> Job {
        let me = Arc::clone(self);
        Box::new(move |scratch, metrics, run| me.step(scratch, metrics, run))
    }

    /// The execution's first run, charged `queued` bytes in the runtime's queue of executions
    /// not yet started (`Shared::queued`) until it begins, or until the job is dropped unrun
    /// (0 when the runtime has no bound on the queue).
    pub fn first_job(self: &Arc<Self>, queued: usize) -> Job {
        struct First {
            run: Arc<Resumable>,
            queued: usize,
        }
        impl First {
            /// Takes the charge out of the queue, once.
            fn release(&mut self) {
                if self.queued > 0 {
                    self.run.shared.dequeued(std::mem::take(&mut self.queued));
                }
            }
        }
        impl Drop for First {
            fn drop(&mut self) {
                self.release();
            }
        }
        let mut first = First { run: Arc::clone(self), queued };
        Box::new(move |scratch, metrics, run| {
            first.release();
            first.run.step(scratch, metrics, run);
        })
    }

    /// Stops the execution, like StopExecution: a run is queued if none is queued or running
    /// (a running one stops at its next state, or is queued again when it stops to wait),
    /// which ends it ABORTED and drops its handlers' futures.
    pub fn cancel(self: &Arc<Self>) {
        self.cancelled.store(true, Ordering::Relaxed);
        self.kick();
    }

    /// Queues a run of a waiting execution now: for a cancellation, or for `shutdown_now`
    /// (the runtime's `abort` is set, and the run ends it ABORTED).
    pub fn kick(self: &Arc<Self>) {
        let mut inbox = lock(&self.inbox);
        if !inbox.finished && !inbox.queued && !inbox.running {
            inbox.queued = true;
            self.shared.resume(self.job());
            inbox.restate(&self.shared);
        }
    }

    /// One run: to the end (the outcome is delivered), or until it waits.
    fn step(self: &Arc<Self>, scratch: &mut crate::vm::Scratch, metrics: &super::Shard, run: bool) {
        // The state first: a job queued while another run holds it takes, once that run is
        // over, every outcome that arrived meanwhile (or finds the execution finished).
        let mut st = lock(&self.state);
        let resolved = {
            let mut inbox = lock(&self.inbox);
            inbox.queued = false;
            if inbox.finished {
                return;
            }
            inbox.running = true;
            inbox.restate(&self.shared);
            std::mem::take(&mut inbox.resolved)
        };
        if std::mem::take(&mut st.packed) {
            match unpack(&st.event) {
                Some((journal, event)) => (st.journal, st.event) = (Some(Box::new(journal)), event),
                None => {
                    metrics.finished(Status::Failed, st.started.map_or(Duration::ZERO, |t| t.elapsed()), 0);
                    self.finish(&mut st, internal_error("a packed execution could not be read back"));
                    return;
                }
            }
        }
        if !run || (st.started.is_none() && self.cancelled.load(Ordering::Relaxed)) {
            // Dropped by shutdown_now (before it started or while it waited), or cancelled
            // before it started.
            match st.started {
                None => metrics.aborted(),
                Some(t) => metrics.finished(Status::Aborted, t.elapsed(), 0),
            }
            self.finish(&mut st, crate::machine::Execution::ABORTED.to_outcome());
            return;
        }
        let started = *st.started.get_or_insert_with(|| {
            metrics.started();
            Instant::now()
        });
        static SALT: AtomicU64 = AtomicU64::new(0);
        let machine = &self.machine;
        let State { event, journal, .. } = &mut *st;
        let journal = journal.get_or_insert_with(|| {
            let mut journal = machine.journal(SALT.fetch_add(1, Ordering::Relaxed));
            journal.resume_points = !self.shared.replay_from_start;
            Box::new(journal)
        });
        for (site, entry) in resolved {
            journal.resolve(site, entry);
        }
        // A panic here would be a bug; it must not leave the execution without an outcome.
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            machine.execute_resumable(scratch, event, &self.cancelled, journal).map(|e| e.to_outcome())
        }));
        let outcome = match ran {
            Ok(Some(done)) => {
                metrics.finished(done.status, started.elapsed(), done.transitions);
                Some(done)
            }
            Ok(None) => {
                let deadline = machine.deadline_millis(journal);
                let waits = journal.take_pending();
                if waits.is_empty() && !journal.waiting() {
                    metrics.finished(Status::Failed, started.elapsed(), 0);
                    Some(internal_error("the execution stopped with nothing to wait for"))
                } else {
                    if self.wait_for(waits, deadline) {
                        // Packed only now that its waits are handed out; a wait that ends
                        // meanwhile queues a run, which waits for this lock.
                        if let Some(block) = pack(journal, event) {
                            (st.journal, st.event, st.packed) = (None, block, true);
                        }
                    }
                    None
                }
            }
            Err(_) => {
                *scratch = crate::vm::Scratch::new();
                metrics.finished(Status::Failed, started.elapsed(), 0);
                Some(internal_error("the execution panicked (a bug in aslrt)"))
            }
        };
        match outcome {
            Some(o) => self.finish(&mut st, o),
            None if !st.holds_pending => {
                st.holds_pending = true;
                self.shared.pending.fetch_add(1, Ordering::AcqRel);
            }
            None => {}
        }
        drop(st);
        let mut inbox = lock(&self.inbox);
        inbox.running = false;
        // Cancelled, or the runtime aborting, after the run last looked: it must not wait for
        // its timers.
        let stopping = self.cancelled.load(Ordering::Relaxed) || self.shared.abort.load(Ordering::Acquire);
        if stopping && !inbox.finished && !inbox.queued {
            inbox.queued = true;
            self.shared.resume(self.job());
        }
        inbox.restate(&self.shared);
    }

    /// Hands out what the run stopped for: timers to the runtime's heap; a handler's future is
    /// polled again here, now with a waker that queues its next poll on the workers (or handed
    /// to a task on the host's runtime), and its time limit goes to the heap.
    ///
    /// `true` when the execution should pack itself while it waits: it waits only for timers,
    /// each at least [`Shared::pack_after`] away.
    fn wait_for(self: &Arc<Self>, waits: Vec<(Site, Suspension)>, deadline: Option<i64>) -> bool {
        let mut handlers = Vec::new();
        let long =
            |s: &Suspension| matches!(s, Suspension::Sleep { millis } if Some(*millis) >= self.shared.pack_after);
        let mut pack = self.shared.pack_after.is_some() && !waits.is_empty() && waits.iter().all(|(_, s)| long(s));
        let mut sleeps = Vec::new();
        let mut deadline_timer = None;
        let mut deferred = None;
        {
            let mut inbox = lock(&self.inbox);
            // Nothing else in flight that may end soon: a handler, or a shorter timer.
            pack = (pack && inbox.handler_waits == 0 && inbox.timer_waits == 0) || self.shared.pack_every_wait;
            for (site, suspension) in waits {
                match suspension {
                    Suspension::Sleep { millis } => {
                        inbox.timer_waits += 1;
                        sleeps.push((millis, site));
                    }
                    Suspension::Task { fut, resource, timeout, lambda } => {
                        inbox.handler_waits += 1;
                        // TimeoutSeconds counts from the handler's call, not from here.
                        let timeout =
                            timeout.map(|(t, started)| t.saturating_sub(started.elapsed().as_millis() as u64));
                        let now = crate::common::system_millis();
                        let left = deadline.map(|d| u64::try_from(d.saturating_sub(now)).unwrap_or(0));
                        // A TimeoutSeconds that comes first gets a timer of its own; the
                        // execution's time limit is one timer for all its waits. That timer
                        // runs a millisecond longer than `left`: the start and now are whole
                        // milliseconds of the system clock, and it must not fire before the
                        // limit is due (the comparison with TimeoutSeconds keeps `left`).
                        let (limit, times_out_the_task) = match (timeout, left) {
                            (Some(t), l) if l.is_none_or(|l| t < l) => (Some(t), true),
                            (_, l) => {
                                match (l.map(|l| l + 1), inbox.limit) {
                                    // Marked before it is in the list, which the sweep
                                    // may read at once.
                                    (Some(l), Limit::NotSet) if Timers::defers(l) => {
                                        inbox.limit = Limit::Deferred;
                                        deferred = Some(l);
                                    }
                                    (Some(l), Limit::NotSet) => deadline_timer = Some(l),
                                    // Fired already (a wait that began as it did): at once.
                                    (Some(_), Limit::Fired) => deadline_timer = Some(0),
                                    _ => {}
                                }
                                (None, false)
                            }
                        };
                        let wait = Arc::new(HandlerWait {
                            exec: Arc::clone(self),
                            site,
                            resource,
                            lambda,
                            times_out_the_task,
                            queued: AtomicBool::new(false),
                            done: AtomicBool::new(false),
                            answering: Mutex::new(Answering { fut: Some(fut), host: None, timer: None }),
                        });
                        inbox.handlers.reserve_exact(1);
                        inbox.handlers.push(Arc::clone(&wait));
                        handlers.push((wait, limit));
                    }
                }
            }
        }
        // With the inbox's lock released: a timer added once the timers have stopped is cut
        // short at once, which takes it.
        for (millis, site) in sleeps {
            self.shared.timers.add(millis, Fire::Sleep(Arc::downgrade(self), site));
        }
        if let Some(ms) = deferred {
            if !self.shared.timers.defer_limit(ms, self.id) {
                // Stopped: cut short, as any timer added now.
                deadline_timer = Some(ms);
            }
        }
        if let Some(ms) = deadline_timer {
            let key = self.shared.timers.add(ms, Fire::Deadline(Arc::clone(self)));
            let mut inbox = lock(&self.inbox);
            match key {
                Some(key) if inbox.finished => self.shared.timers.cancel(key),
                // Unless a time limit has fired already (this one, or one before it for a wait
                // that began as it did): a timer that has fired needs no removing.
                Some(key) if matches!(inbox.limit, Limit::NotSet) => inbox.limit = Limit::Set(key),
                _ => {}
            }
        }
        for (wait, limit) in handlers {
            if let Some(key) = limit.and_then(|ms| self.shared.timers.add(ms, Fire::Timeout(Arc::clone(&wait)))) {
                // Removed when the handler answers first; if it has already, at once.
                let mut answering = lock(&wait.answering);
                match answering.fut.is_some() {
                    true => answering.timer = Some(key),
                    false => self.shared.timers.cancel(key),
                }
            }
            match &self.shared.host {
                Some(host) => drop(host.spawn(OnHost(wait))),
                None => wait.poll(),
            }
        }
        pack
    }

    /// A wait ended: leave its outcome and queue a run, unless one is queued already.
    pub(super) fn resolved(self: &Arc<Self>, site: Site, entry: Option<Entry>, on_handler: bool) {
        let mut inbox = lock(&self.inbox);
        if on_handler {
            inbox.handler_waits -= 1;
            inbox.handlers.retain(|w| w.site != site);
        } else {
            inbox.timer_waits -= 1;
        }
        if inbox.finished {
            inbox.restate(&self.shared);
            return;
        }
        inbox.resolved.push((site, entry));
        if !inbox.queued {
            inbox.queued = true;
            self.shared.resume(self.job());
        }
        inbox.restate(&self.shared);
    }

    /// The sweep of deferred time limits found the execution in flight: its limit goes into
    /// the timers' map, at the deadline it was given (`at`), unless it has ended meanwhile.
    pub(super) fn arm_limit(self: Arc<Self>, at: u64) {
        let mut inbox = lock(&self.inbox);
        if inbox.finished || !matches!(inbox.limit, Limit::Deferred) {
            return;
        }
        // The timers' lock is taken under the inbox's: nothing takes them the other way round.
        if let Some(key) = self.shared.timers.insert_at(at, Fire::Deadline(Arc::clone(&self))) {
            inbox.limit = Limit::Set(key);
        }
    }

    /// The execution's time limit passed while it waited for handlers: each wait ends as
    /// timed out (their futures dropped), and the next run times the execution out.
    pub(super) fn deadline_passed(&self) {
        let handlers = {
            let mut inbox = lock(&self.inbox);
            inbox.limit = Limit::Fired;
            inbox.handlers.clone()
        };
        for wait in handlers {
            wait.time_out();
        }
    }

    fn finish(&self, st: &mut State, outcome: Outcome) {
        let (handlers, limit) = {
            let mut inbox = lock(&self.inbox);
            inbox.finished = true;
            inbox.resolved = Vec::new();
            inbox.restate(&self.shared);
            (std::mem::take(&mut inbox.handlers), std::mem::replace(&mut inbox.limit, Limit::NotSet))
        };
        if let Limit::Set(key) = limit {
            self.shared.timers.cancel(key);
        }
        // Handlers' futures the execution no longer waits for (a cancellation, a branch's
        // failure, the time limit) are dropped now.
        for wait in handlers {
            wait.abandon();
        }
        // A Wait's timer, left in the timers until it falls due, holds it only weakly.
        (st.event, st.packed, st.journal) = (Vec::new(), false, None);
        self.shared.executions.remove(&self.id);
        self.shared.leave();
        self.deliver(outcome);
        if std::mem::take(&mut st.holds_pending) {
            self.shared.pending.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// Gives the outcome to `done`, or to the `Pending`.
    pub(super) fn deliver(&self, o: Outcome) {
        let mut delivery = lock(&self.delivery);
        match &mut *delivery {
            Delivery::Call(done) => {
                let done = done.take();
                drop(delivery);
                if let Some(done) = done {
                    // The caller's code, on a worker: a panic in it must not take the worker down.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| done(o)));
                }
            }
            Delivery::Await { outcome, waker } => {
                *outcome = Some(Box::new(o));
                let waker = waker.take();
                drop(delivery);
                self.ready.notify_all();
                if let Some(w) = waker {
                    w.wake();
                }
            }
        }
    }

    /// The outcome, if there is one yet (taking it); else `waker` is woken when there is.
    pub(super) fn poll_outcome(&self, waker: Option<&std::task::Waker>) -> Option<Outcome> {
        let mut delivery = lock(&self.delivery);
        match &mut *delivery {
            Delivery::Await { outcome: Some(_), .. } | Delivery::Call(_) => {}
            Delivery::Await { outcome: None, waker: w } => {
                if let Some(waker) = waker {
                    *w = Some(waker.clone());
                }
                return None;
            }
        }
        match &mut *delivery {
            Delivery::Await { outcome, .. } => outcome.take().map(|o| *o),
            Delivery::Call(_) => None,
        }
    }

    /// Blocks until there is an outcome or `timeout` passes (`None`: for ever), and takes it.
    pub(super) fn wait_outcome(&self, timeout: Option<Duration>) -> Option<Outcome> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut delivery = lock(&self.delivery);
        loop {
            if let Delivery::Await { outcome, .. } = &mut *delivery {
                if let Some(o) = outcome.take() {
                    return Some(*o);
                }
            }
            delivery = match deadline {
                None => self.ready.wait(delivery).unwrap_or_else(|p| p.into_inner()),
                Some(d) => {
                    let left = d.checked_duration_since(Instant::now())?;
                    self.ready.wait_timeout(delivery, left).unwrap_or_else(|p| p.into_inner()).0
                }
            };
        }
    }

    /// The outcome is there, not yet taken.
    pub(super) fn has_outcome(&self) -> bool {
        matches!(&*lock(&self.delivery), Delivery::Await { outcome: Some(_), .. })
    }
}

/// The journal and event of an execution that waits long, in one block compressed with zstd
/// (level 1: about 5 µs to pack and 2 µs to read back for a 1.2 KiB event, which a wait of
/// 100 ms or more dwarfs): `[1 if compressed][u32 length unpacked][bytes]`. The w2 event
/// (1,169 bytes) and its journal take about 800 bytes so, beside 1,280 and a journal of 300.
/// `None` if the journal cannot be packed (the execution then waits as it is).
fn pack(journal: &Journal, event: &[u8]) -> Option<Vec<u8>> {
    thread_local! {
        static PACKER: std::cell::RefCell<(Vec<u8>, Vec<u8>, Option<zstd::bulk::Compressor<'static>>)> =
            const { std::cell::RefCell::new((Vec::new(), Vec::new(), None)) };
    }
    PACKER.with_borrow_mut(|(raw, out, compressor)| {
        raw.clear();
        journal.pack(raw);
        raw.extend_from_slice(event);
        let len = u32::try_from(raw.len()).ok()?;
        // zstd writes from the start of `out`, whatever it holds.
        out.clear();
        out.reserve(zstd::zstd_safe::compress_bound(raw.len()));
        let compressor = match compressor {
            Some(c) => c,
            None => compressor.insert(zstd::bulk::Compressor::new(1).ok()?),
        };
        let compressed = compressor.compress_to_buffer(raw.as_slice(), out).is_ok() && out.len() < raw.len();
        let (method, data) = if compressed { (1, &out[..]) } else { (0, &raw[..]) };
        // Exactly its length: the block is held while the execution waits.
        let mut block = Vec::with_capacity(5 + data.len());
        block.push(method);
        block.extend_from_slice(&len.to_le_bytes());
        block.extend_from_slice(data);
        if raw.capacity() > 1 << 20 {
            (*raw, *out) = (Vec::new(), Vec::new());
        }
        Some(block)
    })
}

/// What [`pack`] packed: the journal and the event.
fn unpack(block: &[u8]) -> Option<(Journal, Vec<u8>)> {
    thread_local! {
        static UNPACKER: std::cell::RefCell<(Vec<u8>, Option<zstd::bulk::Decompressor<'static>>)> =
            const { std::cell::RefCell::new((Vec::new(), None)) };
    }
    let (&method, rest) = block.split_first()?;
    let (len, data) = rest.split_first_chunk::<4>()?;
    let len = u32::from_le_bytes(*len) as usize;
    let read = |raw: &[u8]| Journal::unpack(raw).map(|(journal, event)| (journal, event.to_vec()));
    if method == 0 {
        return read(data);
    }
    UNPACKER.with_borrow_mut(|(raw, decompressor)| {
        raw.clear();
        raw.reserve(len);
        let decompressor = match decompressor {
            Some(d) => d,
            None => decompressor.insert(zstd::bulk::Decompressor::new().ok()?),
        };
        decompressor.decompress_to_buffer(data, raw).ok()?;
        let unpacked = (raw.len() == len).then(|| read(raw)).flatten();
        if raw.capacity() > 1 << 20 {
            *raw = Vec::new();
        }
        unpacked
    })
}

/// A failed outcome for what should not happen, rather than an execution that never ends.
fn internal_error(what: &str) -> crate::machine::Outcome {
    crate::machine::Outcome {
        status: Status::Failed,
        transitions: 0,
        output: None,
        error: Some("States.Runtime".into()),
        cause: Some(format!("internal error: {what}")),
    }
}

/// A handler's future that an execution waits for.
///
/// With the runtime's own tokio runtime, it is polled on the workers, in the handlers' tokio
/// context, each time it is woken: its waker queues the poll as a job on the pool's
/// `resumed` injector (or, woken on a worker of the pool, in that worker's slot). No tokio
/// task is spawned for it, so a waiting handler costs its own future and this; the tokio
/// threads drive IO and timers, and run what handlers spawn. With the host's
/// runtime ([`super::RuntimeBuilder::handler_runtime`]), a task there polls it ([`OnHost`]).
/// Either way, whoever takes the future out (its answer, its time limit, the execution's end)
/// resolves the wait, once.
pub(super) struct HandlerWait {
    exec: Arc<Resumable>,
    site: Site,
    resource: ResourceId,
    lambda: bool,
    /// The time limit, if it comes first, is the Task's TimeoutSeconds (`States.Timeout`),
    /// not the execution's.
    times_out_the_task: bool,
    /// A poll is queued on the workers.
    queued: AtomicBool,
    /// The future is gone: a waker that fires later (one a handler's task kept) queues nothing.
    done: AtomicBool,
    answering: Mutex<Answering>,
}

struct Answering {
    fut: Option<Waiting>,
    /// The host's task that polls the future, to wake when the future is taken from it.
    host: Option<std::task::Waker>,
    /// The time limit's timer, removed when the future is done first.
    timer: Option<super::timers::Key>,
}

impl HandlerWait {
    fn resource(&self) -> &str {
        self.exec.machine.resource_name(self.resource)
    }

    /// Polls the future on a worker, with a waker that queues the next poll there.
    fn poll(self: &Arc<Self>) {
        self.queued.store(false, Ordering::Release);
        let waker = std::task::Waker::from(Arc::clone(self));
        self.poll_with(&mut std::task::Context::from_waker(&waker), false);
    }

    /// Polls the future; with its answer, the wait is resolved. `true` once the future is gone.
    fn poll_with(&self, cx: &mut std::task::Context<'_>, on_host: bool) -> bool {
        let mut answering = lock(&self.answering);
        let Some(pending) = answering.fut.as_mut() else { return true };
        let std::task::Poll::Ready(answer) = crate::handler::poll_waiting(pending, cx, self.resource()) else {
            if on_host {
                answering.host = Some(cx.waker().clone());
            }
            return false;
        };
        // Taken under the same lock as the poll: a time limit firing meanwhile finds nothing.
        let done = self.take_from(answering);
        let dropped = done.map_or(Ok(()), |f| crate::handler::drop_waiting(f, self.resource()));
        self.exec.resolved(self.site, Some(self.task_entry(answer.and_then(|text| dropped.map(|()| text)))), true);
        true
    }

    /// The journal's entry for the Task's result.
    fn task_entry(&self, result: Result<String, crate::handler::TaskError>) -> Entry {
        let result = result.map_err(|e| (e.error.into_owned(), e.cause.map(|c| c.into_owned())));
        Entry::Task { result, lambda: self.lambda }
    }

    /// Takes the future out, removing its timer and waking the host's task that polls it (it
    /// then ends).
    fn take(&self) -> Option<Waiting> {
        self.take_from(lock(&self.answering))
    }

    /// [`HandlerWait::take`], with its lock already held.
    fn take_from(&self, mut answering: std::sync::MutexGuard<'_, Answering>) -> Option<Waiting> {
        let (fut, host, timer) = (answering.fut.take(), answering.host.take(), answering.timer.take());
        self.done.store(true, Ordering::Release);
        drop(answering);
        if let Some(key) = timer {
            self.exec.shared.timers.cancel(key);
        }
        if let Some(host) = host {
            host.wake();
        }
        fut
    }

    /// The time limit came first: the future is dropped (nothing of it outlives the timeout:
    /// a deferred reply answered afterwards is refused, not taken), and the Task fails with
    /// `States.Timeout`, or the execution times out.
    pub(super) fn time_out(&self) {
        let Some(fut) = self.take() else { return };
        let entry = match crate::handler::drop_waiting(fut, self.resource()) {
            Err(e) => self.task_entry(Err(e)),
            Ok(()) if self.times_out_the_task => {
                self.task_entry(Err(crate::handler::TaskError { error: "States.Timeout".into(), cause: None }))
            }
            Ok(()) => Entry::TimedOut,
        };
        self.exec.resolved(self.site, Some(entry), true);
    }

    /// The execution no longer waits for it: the future is dropped, and the wait resolved as
    /// cut short.
    pub(super) fn abandon(&self) {
        let Some(fut) = self.take() else { return };
        let _ = crate::handler::drop_waiting(fut, self.resource());
        self.exec.resolved(self.site, None, true);
    }
}

impl std::task::Wake for HandlerWait {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.done.load(Ordering::Acquire) || self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let me = Arc::clone(self);
        self.exec.shared.resume(Box::new(move |_, _, run| match run {
            true => me.poll(),
            false => me.abandon(),
        }));
    }
}

/// The host's tokio task that polls a handler's future. Dropped before the future is done
/// (the host's runtime shut down under it), it cancels the execution and resolves the wait as
/// cut short, so that the execution still ends (ABORTED) rather than waiting for ever.
struct OnHost(Arc<HandlerWait>);

impl std::future::Future for OnHost {
    type Output = ();

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        match self.0.poll_with(cx, true) {
            true => std::task::Poll::Ready(()),
            false => std::task::Poll::Pending,
        }
    }
}

impl Drop for OnHost {
    fn drop(&mut self) {
        // Taken first: a time limit that fires meanwhile keeps its own outcome.
        if let Some(fut) = self.0.take() {
            self.0.exec.cancelled.store(true, Ordering::Relaxed);
            let _ = crate::handler::drop_waiting(fut, self.0.resource());
            self.0.exec.resolved(self.0.site, None, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::exec::Runtime;
    use crate::handler::{AsyncFn, Handlers, TaskError};
    use crate::machine::StateMachine;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    /// `RuntimeBuilder::replay_from_start` reaches the runs: while an execution of two Tasks
    /// waits on the second, its journal still holds the first's outcome, which the next run
    /// reads back from the start; by default the run stopped at the second, and holds none.
    #[test]
    fn replay_from_start_keeps_the_journal_from_the_start() {
        let definition = r#"{"StartAt":"T1","States":{
            "T1":{"Type":"Task","Resource":"arn:aws:states:::aslrt:gate","ResultPath":"$.a","Next":"T2"},
            "T2":{"Type":"Task","Resource":"arn:aws:states:::aslrt:gate","ResultPath":"$.b","End":true}}}"#;
        for (from_start, kept) in [(false, 0), (true, 1)] {
            // One permit: the first call answers when first polled, the second waits.
            let gate = Arc::new(tokio::sync::Semaphore::new(1));
            let g = Arc::clone(&gate);
            let mut handlers = Handlers::new();
            handlers.insert_async(
                "arn:aws:states:::aslrt:gate",
                AsyncFn(move |_: serde_json::Value, _| {
                    let gate = Arc::clone(&g);
                    async move {
                        gate.acquire().await.map_err(|_| TaskError::new("Closed", "closed"))?.forget();
                        Ok(serde_json::json!(1))
                    }
                }),
            );
            let machine = StateMachine::builder().handlers(handlers).compile(definition).unwrap();
            let rt = Runtime::builder().threads(1).replay_from_start(from_start).build().unwrap();
            let pending = rt.execute_async(&machine, b"{}".to_vec());
            let since = Instant::now();
            while rt.stuck_on_handlers() == 0 {
                assert!(since.elapsed() < Duration::from_secs(10), "the execution never waited");
                std::thread::sleep(Duration::from_millis(2));
            }
            let exec = rt.shared.executions.get(&pending.id()).map(|e| Arc::clone(e.value())).unwrap();
            let entries = super::lock(&exec.state).journal.as_ref().map(|j| j.entries_len());
            // Let it end first: a failed check must not leave it waiting for its time limit.
            gate.add_permits(1);
            let o = pending.wait();
            assert_eq!(entries, Some(kept), "replay_from_start({from_start})");
            assert_eq!(o.output.as_deref(), Some(r#"{"a":1,"b":1}"#), "{o:?}");
        }
    }

    /// A long Wait, cancelled: what the execution holds is dropped when it ends, not when the
    /// Wait's timer falls due (the timer holds it weakly).
    #[test]
    fn a_cancelled_wait_drops_its_execution_before_its_timer_falls_due() {
        let machine =
            StateMachine::compile(r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":200,"End":true}}}"#)
                .unwrap();
        let rt = Runtime::builder().threads(1).build().unwrap();
        let pending = rt.execute_async(&machine, b"{}".to_vec());
        let exec = rt.shared.executions.get(&pending.id()).map(|e| Arc::downgrade(e.value())).unwrap();
        let since = Instant::now();
        while exec.upgrade().is_some_and(|e| super::lock(&e.inbox).timer_waits == 0) {
            assert!(since.elapsed() < Duration::from_secs(10), "the execution never waited");
            std::thread::sleep(Duration::from_millis(2));
        }
        pending.cancel();
        assert_eq!(pending.wait().status, crate::common::Status::Aborted);
        // The worker that ended it may hold it a moment longer.
        let since = Instant::now();
        while exec.upgrade().is_some() {
            assert!(since.elapsed() < Duration::from_secs(5), "the Wait's timer still holds the execution");
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(rt.in_flight(), 0);
    }
}
