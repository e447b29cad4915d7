//! Suspended executions: waiting for a timer or an asynchronous handler on tokio, off the
//! workers (see [`crate::vm::Journal`] for how the execution then goes on).
//!
//! A run that stops leaves a [`Suspension`] in its journal. The worker hands it to the
//! `Runtime`'s tokio runtime and moves on to other work. The tokio task sleeps, or runs the
//! handler's future (raced against TimeoutSeconds and the execution's own time limit), appends
//! the outcome to the journal and puts the execution back on the pool's injector, where any
//! worker picks it up and runs it again. A cancellation or `shutdown_now` ends a wait within
//! one 20 ms slice.

use super::{Job, Shared};
use crate::handler::{TaskError, TaskFuture};
use crate::machine::{Cancel, StateMachine};
use crate::vm::{Entry, Journal, Status, Suspension};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// How often a wait looks at cancellation and `shutdown_now`.
const SLICE: Duration = Duration::from_millis(20);

/// An execution run by `Runtime::execute_async`, between its runs.
pub(super) struct Resumable {
    pub machine: StateMachine,
    pub event: Vec<u8>,
    pub slot: Arc<super::Slot>,
    pub shared: Arc<Shared>,
    pub timers: tokio::runtime::Handle,
    journal: Option<Journal>,
    started: Option<Instant>,
}

impl Resumable {
    pub fn new(
        machine: StateMachine,
        event: Vec<u8>,
        slot: Arc<super::Slot>,
        shared: Arc<Shared>,
        timers: tokio::runtime::Handle,
    ) -> Self {
        Resumable { machine, event, slot, shared, timers, journal: None, started: None }
    }

    pub fn into_job(self) -> Job {
        Box::new(move |scratch, metrics, run| self.step(scratch, metrics, run))
    }

    /// One run: to the end (the outcome goes to the slot), or to the next suspension.
    fn step(mut self, scratch: &mut crate::Scratch, metrics: &super::Shard, run: bool) {
        if !run || (self.started.is_none() && self.slot.cancel.is_cancelled()) {
            // Dropped by shutdown_now (before it started or while it waited), or cancelled
            // before it started.
            match self.started {
                None => metrics.aborted(),
                Some(t) => metrics.finished(Status::Aborted, t.elapsed(), 0),
            }
            self.slot.fill(crate::Execution::ABORTED.to_outcome());
            return;
        }
        let started = *self.started.get_or_insert_with(|| {
            metrics.started();
            Instant::now()
        });
        static SALT: AtomicU64 = AtomicU64::new(0);
        let machine = &self.machine;
        let journal = self.journal.get_or_insert_with(|| machine.journal(SALT.fetch_add(1, Ordering::Relaxed)));
        match machine.execute_resumable(scratch, &self.event, &self.slot.cancel, journal) {
            Some(done) => {
                metrics.finished(done.status, started.elapsed(), done.transitions);
                self.slot.fill(done.to_outcome());
            }
            None => {
                let Some(suspension) = journal.pending.take() else { return };
                let deadline = machine.deadline_millis(journal);
                // The execution stays in flight while it waits: shutdown drains it too.
                self.shared.pending.fetch_add(1, Ordering::AcqRel);
                let timers = self.timers.clone();
                timers.spawn(async move {
                    let entry = wait(suspension, deadline, &self.slot.cancel, &self.shared).await;
                    if let (Some(e), Some(j)) = (entry, self.journal.as_mut()) {
                        j.resolve(e);
                    }
                    let shared = Arc::clone(&self.shared);
                    shared.resubmit(self.into_job());
                });
            }
        }
    }
}

/// Waits for what a run stopped for; the outcome to journal, or `None` when the wait was cut
/// short by a cancellation or `shutdown_now` (the next run then ends ABORTED).
async fn wait(s: Suspension, deadline_millis: Option<i64>, cancel: &Cancel, shared: &Shared) -> Option<Entry> {
    let stopped = || cancel.is_cancelled() || shared.abort.load(Ordering::Acquire);
    match s {
        Suspension::Sleep { millis } => {
            let until = tokio::time::Instant::now() + Duration::from_millis(millis);
            while tokio::time::Instant::now() < until {
                if stopped() {
                    return None;
                }
                tokio::time::sleep_until(until.min(tokio::time::Instant::now() + SLICE)).await;
            }
            Some(Entry::Waited)
        }
        Suspension::Task { handler, input, info, timeout, lambda } => {
            let left = deadline_millis.map(|d| Duration::from_millis((d - crate::vm::system_millis()).max(0) as u64));
            let task = await_task(handler.invoke(input, info.clone()), timeout, &info.resource);
            let watch = async {
                while !stopped() {
                    tokio::time::sleep(SLICE).await;
                }
            };
            let out_of_time = async {
                match left {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                r = task => Some(Entry::Task { result: r.map(|v| v.to_string()).map_err(|e| (e.error.into_owned(), e.cause.map(|c| c.into_owned()))), lambda }),
                () = watch => None,
                () = out_of_time => Some(Entry::TimedOut),
            }
        }
    }
}

/// Runs a handler's future as its own tokio task, so that a panic in it is caught (as
/// `States.TaskFailed`, like a synchronous handler's), within the Task's TimeoutSeconds
/// (`timeout_millis`; past it, the future is dropped and the Task fails with `States.Timeout`).
pub(crate) async fn await_task(
    fut: TaskFuture,
    timeout_millis: Option<u64>,
    resource: &str,
) -> Result<serde_json::Value, TaskError> {
    let mut handle = tokio::spawn(fut);
    let joined = match timeout_millis {
        Some(ms) => tokio::select! {
            j = &mut handle => j,
            () = tokio::time::sleep(Duration::from_millis(ms)) => {
                handle.abort();
                return Err(TaskError { error: "States.Timeout".into(), cause: None });
            }
        },
        None => handle.await,
    };
    joined.unwrap_or_else(|e| {
        let what = if e.is_panic() { "panicked" } else { "was cancelled" };
        Err(TaskError::new("States.TaskFailed", format!("the task handler for '{resource}' {what}")))
    })
}

/// For the synchronous APIs: runs an asynchronous handler's future to completion on the
/// calling thread (on a shared tokio runtime, or from a helper thread if the caller is itself
/// inside a tokio runtime, where blocking on another one is not allowed).
pub(crate) fn block_on_task(
    fut: TaskFuture,
    timeout_millis: Option<u64>,
    resource: &str,
) -> Result<serde_json::Value, TaskError> {
    static SHARED: OnceLock<Option<tokio::runtime::Runtime>> = OnceLock::new();
    let rt = SHARED.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("aslrt-async")
            .enable_time()
            .build()
            .ok()
    });
    let Some(rt) = rt else {
        return Err(TaskError::new("States.TaskFailed", "could not start the runtime for asynchronous handlers"));
    };
    let run = || rt.block_on(await_task(fut, timeout_millis, resource));
    if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::scope(|s| s.spawn(run).join()).unwrap_or_else(|_| {
            Err(TaskError::new("States.TaskFailed", format!("the task handler for '{resource}' panicked")))
        })
    } else {
        run()
    }
}
