//! Suspended executions: waiting for a timer or an asynchronous handler on tokio, off the
//! workers (see [`crate::vm::Journal`] for how the execution then goes on).
//!
//! A run that stops leaves a [`Suspension`] in its journal. The worker hands it to the
//! handlers' tokio runtime and moves on to other work. The tokio task sleeps, or polls the
//! handler's future (raced against TimeoutSeconds and the execution's own time limit), appends
//! the outcome to the journal and puts the execution back on the pool's `resumed` injector,
//! where any worker picks it up, before any first run, and runs it again. A cancellation or
//! `shutdown_now` wakes a wait at once (a `Notify` per execution), and a handler's future that
//! is no longer awaited is dropped.

use super::{Job, Shared, Slot};
use crate::common::Status;
use crate::handler::{TaskError, Waiting};
use crate::machine::StateMachine;
use crate::vm::{Entry, Journal, Site, Suspension};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// An execution run by `Runtime::execute_async`: shared by the worker that runs it and the
/// waits it has in flight.
pub(super) struct Resumable {
    machine: StateMachine,
    event: Vec<u8>,
    slot: Arc<super::Slot>,
    shared: Arc<Shared>,
    timers: tokio::runtime::Handle,
    /// Touched only by the run (on a worker), held while it runs.
    state: Mutex<State>,
    /// Where waits that end leave their outcome; held only for a moment, so the tokio thread
    /// never waits for a run.
    inbox: Mutex<Inbox>,
}

#[derive(Default)]
struct State {
    journal: Option<Journal>,
    started: Option<Instant>,
    /// While it waits, the execution holds one count of the pool's `pending`, so that
    /// `shutdown` drains it.
    holds_pending: bool,
}

#[derive(Default)]
struct Inbox {
    resolved: Vec<(Site, Option<Entry>)>,
    /// A run is queued: a wait that ends meanwhile needs no other.
    queued: bool,
    /// The outcome is delivered: a wait that ends later changes nothing.
    finished: bool,
    /// A run is under way.
    running: bool,
    /// Waits in flight: on handlers' futures, and on timers.
    handler_waits: usize,
    timer_waits: usize,
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

impl Resumable {
    pub fn new(
        machine: StateMachine,
        event: Vec<u8>,
        slot: Arc<super::Slot>,
        shared: Arc<Shared>,
        timers: tokio::runtime::Handle,
    ) -> Arc<Self> {
        let (state, inbox) = (Mutex::new(State::default()), Mutex::new(Inbox::default()));
        Arc::new(Resumable { machine, event, slot, shared, timers, state, inbox })
    }

    /// A job that runs the execution once more.
    pub fn job(self: &Arc<Self>) -> Job {
        let me = Arc::clone(self);
        Box::new(move |scratch, metrics, run| me.step(scratch, metrics, run))
    }

    /// One run: to the end (the outcome goes to the slot), or until it waits.
    fn step(self: &Arc<Self>, scratch: &mut crate::vm::Scratch, metrics: &super::Shard, run: bool) {
        // The state first: a job queued while another run holds it takes, once that run is
        // over, every outcome that arrived meanwhile (or finds the execution finished).
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let resolved = {
            let mut inbox = self.inbox.lock().unwrap_or_else(|p| p.into_inner());
            inbox.queued = false;
            if inbox.finished {
                return;
            }
            inbox.running = true;
            inbox.restate(&self.shared);
            std::mem::take(&mut inbox.resolved)
        };
        if !run || (st.started.is_none() && self.slot.cancel.is_cancelled()) {
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
        let journal = st.journal.get_or_insert_with(|| machine.journal(SALT.fetch_add(1, Ordering::Relaxed)));
        for (site, entry) in resolved {
            journal.resolve(site, entry);
        }
        // A panic here would be a bug; it must not leave the execution without an outcome.
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            machine.execute_resumable(scratch, &self.event, &self.slot.cancel, journal).map(|e| e.to_outcome())
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
                    let mut inbox = self.inbox.lock().unwrap_or_else(|p| p.into_inner());
                    for (_, suspension) in &waits {
                        match suspension {
                            Suspension::Task { .. } => inbox.handler_waits += 1,
                            Suspension::Sleep { .. } => inbox.timer_waits += 1,
                        }
                    }
                    drop(inbox);
                    for (site, suspension) in waits {
                        match suspension {
                            Suspension::Sleep { millis } => {
                                let wait = Resolves { me: Some(Arc::clone(self)), site, on_handler: false };
                                self.timers.spawn(async move {
                                    let entry = sleep(millis, &wait.me().slot, &wait.me().shared).await;
                                    wait.resolve(entry);
                                })
                            }
                            Suspension::Task { fut, resource, timeout, lambda, started } => {
                                let wait = Resolves { me: Some(Arc::clone(self)), site, on_handler: true };
                                self.timers.spawn(async move {
                                    let me = wait.me();
                                    let resource = me.machine.resource_name(resource);
                                    let timeout =
                                        timeout.map(|t| t.saturating_sub(started.elapsed().as_millis() as u64));
                                    let entry =
                                        task(fut, timeout, lambda, resource, deadline, &me.slot, &me.shared).await;
                                    wait.resolve(entry);
                                })
                            }
                        };
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
        let mut inbox = self.inbox.lock().unwrap_or_else(|p| p.into_inner());
        inbox.running = false;
        inbox.restate(&self.shared);
    }

    /// A wait ended: leave its outcome and queue a run, unless one is queued already.
    fn resolved(self: &Arc<Self>, site: Site, entry: Option<Entry>, on_handler: bool) {
        let mut inbox = self.inbox.lock().unwrap_or_else(|p| p.into_inner());
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

    fn finish(&self, st: &mut State, outcome: crate::machine::Outcome) {
        {
            let mut inbox = self.inbox.lock().unwrap_or_else(|p| p.into_inner());
            inbox.finished = true;
            inbox.restate(&self.shared);
        }
        self.shared.executions.remove(&self.slot.id);
        self.shared.leave();
        self.slot.fill(outcome);
        if std::mem::take(&mut st.holds_pending) {
            self.shared.pending.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// A wait in flight: it leaves its outcome with [`Resolves::resolve`]. Dropped unresolved
/// (its tokio runtime shut down under it, or its future was dropped by a panic), it cancels the
/// execution and resolves the wait as cut short, so that the execution still ends (ABORTED)
/// and releases what it holds, rather than waiting for ever.
struct Resolves {
    me: Option<Arc<Resumable>>,
    site: Site,
    on_handler: bool,
}

impl Resolves {
    fn me(&self) -> &Arc<Resumable> {
        self.me.as_ref().expect("a wait is resolved once")
    }

    fn resolve(mut self, entry: Option<Entry>) {
        if let Some(me) = self.me.take() {
            me.resolved(self.site, entry, self.on_handler);
        }
    }
}

impl Drop for Resolves {
    fn drop(&mut self) {
        if let Some(me) = self.me.take() {
            me.slot.cancel();
            me.resolved(self.site, None, self.on_handler);
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

/// Waits for what a run stopped for; the outcome to journal, or `None` when the wait was cut
/// short by a cancellation or `shutdown_now` (the next run then ends ABORTED). A sleep and a
/// Task wait are futures of their own, so that a sleep holds no more than its timer.
async fn sleep(millis: u64, slot: &Slot, shared: &Shared) -> Option<Entry> {
    tokio::select! {
        () = tokio::time::sleep(Duration::from_millis(millis)) => Some(Entry::Waited),
        () = stopped(slot, shared) => None,
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
    slot: &Slot,
    shared: &Shared,
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
            () = stopped(slot, shared) => None,
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
/// `shutdown_now`; woken by them (`Slot::stop`), never by polling.
async fn stopped(slot: &Slot, shared: &Shared) {
    loop {
        // Registered before the flags are read, so that a notification in between is not lost.
        let notified = slot.stop.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if slot.cancel.is_cancelled() || shared.abort.load(Ordering::Acquire) {
            return;
        }
        notified.await;
    }
}
