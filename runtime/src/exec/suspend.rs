//! Suspended executions: waiting for a timer or an asynchronous handler, off the workers (see
//! [`crate::vm::Journal`] for how the execution then goes on).
//!
//! A run that stops leaves a [`Suspension`] in its journal, and the worker moves on to other
//! work. A Wait or back-off goes to the runtime's timer heap (`timers`); a handler's future to a
//! tokio task on the handlers' runtime, which polls it (raced against TimeoutSeconds and the
//! execution's own time limit). The outcome is left in the execution's inbox, and the
//! execution is put back on the pool's `resumed` injector, where any worker picks it up, before
//! any first run, and runs it again. A cancellation or `shutdown_now` queues a run at once,
//! which ends the execution ABORTED, and wakes its handler waits (a `Notify` per execution):
//! a handler's future that is no longer awaited is dropped.

use super::{Done, Job, Shared};
use crate::common::Status;
use crate::handler::{TaskError, Waiting};
use crate::machine::{Cancel, Outcome, StateMachine};
use crate::vm::{Entry, Journal, Site, Suspension};
use std::sync::atomic::{AtomicU64, Ordering};
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
    cancel: Cancel,
    /// Wakes the execution's handler waits when it is cancelled or the runtime aborts.
    stop: tokio::sync::Notify,
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
    /// The event, kept for later runs; dropped when the execution ends.
    event: Vec<u8>,
    journal: Option<Journal>,
    started: Option<Instant>,
    /// While it waits, the execution holds one count of the pool's `pending`, so that
    /// `shutdown` drains it.
    holds_pending: bool,
}

enum Delivery {
    /// [`super::Runtime::submit`]'s callback, until it is called.
    Call(Option<Done>),
    /// For [`super::Pending`]: the outcome once there is one, and who to wake then.
    Await { outcome: Option<Box<Outcome>>, waker: Option<std::task::Waker> },
}

struct Inbox {
    resolved: Vec<(Site, Option<Entry>)>,
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
            cancel: Cancel::default(),
            stop: tokio::sync::Notify::new(),
            state: Mutex::new(State { event, journal: None, started: None, holds_pending: false }),
            inbox: Mutex::new(Inbox {
                resolved: Vec::new(),
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

    /// Stops the execution, like StopExecution: its handler waits are woken, and a run is
    /// queued if none is queued or running (a running one stops at its next state, or is
    /// queued again when it stops to wait), which ends it ABORTED.
    pub fn cancel(self: &Arc<Self>) {
        self.cancel.cancel();
        self.stop.notify_waiters();
        self.kick();
    }

    /// For `shutdown_now`: wakes the execution's handler waits and queues a run, which ends it
    /// ABORTED (the runtime's `abort` is set).
    pub fn abort(self: &Arc<Self>) {
        self.stop.notify_waiters();
        self.kick();
    }

    /// Queues a run of a waiting execution now, for a cancellation or `shutdown_now`.
    fn kick(self: &Arc<Self>) {
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
        if !run || (st.started.is_none() && self.cancel.is_cancelled()) {
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
        let journal = journal.get_or_insert_with(|| machine.journal(SALT.fetch_add(1, Ordering::Relaxed)));
        for (site, entry) in resolved {
            journal.resolve(site, entry);
        }
        // A panic here would be a bug; it must not leave the execution without an outcome.
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            machine.execute_resumable(scratch, event, &self.cancel, journal).map(|e| e.to_outcome())
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
                    self.wait_for(waits, deadline);
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
        let stopping = self.cancel.is_cancelled() || self.shared.abort.load(Ordering::Acquire);
        if stopping && !inbox.finished && !inbox.queued {
            inbox.queued = true;
            self.shared.resume(self.job());
        }
        inbox.restate(&self.shared);
    }

    /// Hands out what the run stopped for: timers to the runtime's heap, handlers' futures to
    /// tokio tasks.
    fn wait_for(self: &Arc<Self>, waits: Vec<(Site, Suspension)>, deadline: Option<i64>) {
        {
            let mut inbox = lock(&self.inbox);
            for (_, suspension) in &waits {
                match suspension {
                    Suspension::Task { .. } => inbox.handler_waits += 1,
                    Suspension::Sleep { .. } => inbox.timer_waits += 1,
                }
            }
        }
        for (site, suspension) in waits {
            match suspension {
                Suspension::Sleep { millis } => self.shared.timers.add(millis, Arc::clone(self), site),
                Suspension::Task { fut, resource, timeout, lambda, started } => {
                    let wait = Resolves { me: Some(Arc::clone(self)), site };
                    self.shared.handlers.spawn(async move {
                        let me = wait.me();
                        let resource = me.machine.resource_name(resource);
                        let timeout = timeout.map(|t| t.saturating_sub(started.elapsed().as_millis() as u64));
                        let entry = task(fut, timeout, lambda, resource, deadline, me).await;
                        wait.resolve(entry);
                    });
                }
            }
        }
    }

    /// A wait ended: leave its outcome and queue a run, unless one is queued already.
    pub(super) fn resolved(self: &Arc<Self>, site: Site, entry: Option<Entry>, on_handler: bool) {
        let mut inbox = lock(&self.inbox);
        if on_handler {
            inbox.handler_waits -= 1;
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

    fn finish(&self, st: &mut State, outcome: Outcome) {
        {
            let mut inbox = lock(&self.inbox);
            inbox.finished = true;
            inbox.resolved = Vec::new();
            inbox.restate(&self.shared);
        }
        // A timer of a cancelled execution may hold it until it falls due: only the husk.
        st.event = Vec::new();
        st.journal = None;
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

/// A handler's wait in flight: it leaves its outcome with [`Resolves::resolve`]. Dropped
/// unresolved (its tokio runtime shut down under it, or its future was dropped by a panic), it
/// cancels the execution and resolves the wait as cut short, so that the execution still ends
/// (ABORTED) and releases what it holds, rather than waiting for ever.
struct Resolves {
    me: Option<Arc<Resumable>>,
    site: Site,
}

impl Resolves {
    fn me(&self) -> &Arc<Resumable> {
        self.me.as_ref().expect("a wait is resolved once")
    }

    fn resolve(mut self, entry: Option<Entry>) {
        if let Some(me) = self.me.take() {
            me.resolved(self.site, entry, true);
        }
    }
}

impl Drop for Resolves {
    fn drop(&mut self) {
        if let Some(me) = self.me.take() {
            me.cancel.cancel();
            me.resolved(self.site, None, true);
        }
    }
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

/// A Task's wait: its handler's future (its panics caught), raced against one timer, set for
/// whichever comes first of the Task's TimeoutSeconds (`States.Timeout`) and the execution's
/// time limit (the execution times out). The future is polled in this same tokio task.
async fn task(
    fut: Waiting,
    timeout: Option<u64>,
    lambda: bool,
    resource: &str,
    deadline_millis: Option<i64>,
    me: &Resumable,
) -> Option<Entry> {
    let journaled = |r: Result<String, TaskError>| {
        let result = r.map_err(|e| (e.error.into_owned(), e.cause.map(|c| c.into_owned())));
        Entry::Task { result, lambda }
    };
    let now = crate::common::system_millis();
    let left = deadline_millis.map(|d| u64::try_from(d.saturating_sub(now)).unwrap_or(0));
    let (limit, times_out_the_task) = match (timeout, left) {
        (Some(t), Some(l)) => (Some(t.min(l)), t < l),
        (Some(t), None) => (Some(t), true),
        (None, l) => (l, false),
    };
    let mut answer = std::pin::pin!(Some(async move {
        let caught = match fut {
            Waiting::Json(fut) => Caught(fut).await.map(|r| r.map(|v| v.to_string())),
            Waiting::Text(fut) => Caught(fut).await,
        };
        caught.unwrap_or_else(|panic| Err(crate::handler::panicked(resource, panic.as_ref())))
    }));
    let timer = async {
        match limit {
            Some(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
            None => std::future::pending().await,
        }
    };
    let ended = match answer.as_mut().as_pin_mut() {
        None => None,
        Some(pending) => tokio::select! {
            r = pending => Some(Ok(r)),
            () = stopped(me) => None,
            () = timer => Some(Err(())),
        },
    };
    // The future is gone before the Task fails: nothing of it outlives the timeout (a deferred
    // reply answered afterwards is refused, not taken). Its drop is the handler's code too.
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| answer.set(None)));
    if let Err(panic) = dropped {
        return Some(journaled(Err(crate::handler::panicked(resource, panic.as_ref()))));
    }
    match ended? {
        Ok(r) => Some(journaled(r)),
        Err(()) if times_out_the_task => {
            Some(journaled(Err(TaskError { error: "States.Timeout".into(), cause: None })))
        }
        Err(()) => Some(Entry::TimedOut),
    }
}

/// A future whose panics are caught, as the panic's payload.
struct Caught<F>(F);

impl<F: std::future::Future + Unpin> std::future::Future for Caught<F> {
    type Output = std::thread::Result<F::Output>;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        let inner = &mut self.0;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| std::pin::Pin::new(inner).poll(cx))) {
            Ok(std::task::Poll::Ready(v)) => std::task::Poll::Ready(Ok(v)),
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Err(panic) => std::task::Poll::Ready(Err(panic)),
        }
    }
}

/// Completes when the execution is cancelled or the runtime is shut down with
/// `shutdown_now`; woken by them (`Resumable::stop`), never by polling.
async fn stopped(me: &Resumable) {
    loop {
        // Registered before the flags are read, so that a notification in between is not lost.
        let notified = me.stop.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if me.cancel.is_cancelled() || me.shared.abort.load(Ordering::Acquire) {
            return;
        }
        notified.await;
    }
}
