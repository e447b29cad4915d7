//! The journal of a suspendable execution, for running it again after a suspension.
//!
//! An execution run by a [`crate::Runtime`] does not hold its worker while it waits: at a Wait
//! or a retry back-off on the system clock, or at a Task whose handler is asynchronous, the VM
//! stops with a [`Suspension`] and returns the worker. When the timer fires or the future
//! completes, the outcome is appended here and the execution runs again from its start on any
//! worker. Everything it did before is replayed from the journal (Task results in order, waits
//! that have elapsed), and the seed, start time and input are the same, so the run retraces
//! the same states and goes on from where it stopped. A synchronous handler is not called
//! again on replay: its result is journaled too.

use crate::handler::{AsyncTaskHandler, TaskInfo};
use std::sync::Arc;

/// What a suspendable execution has done so far.
pub(crate) struct Journal {
    /// The random source's seed, the same on every run.
    pub(crate) seed: u64,
    /// The execution's start time, fixed by the first run.
    pub(crate) start_millis: Option<i64>,
    entries: Vec<Entry>,
    cursor: usize,
    /// Set when a run stops: what it waits for.
    pub(crate) pending: Option<Suspension>,
}

/// One journaled outcome.
#[derive(Clone, Debug)]
pub(crate) enum Entry {
    /// A Task's outcome: its result as JSON, or its error and cause. `lambda`: the result is an
    /// asynchronous function's output, still to be wrapped as the Lambda integration's.
    Task { result: Result<String, (String, Option<String>)>, lambda: bool },
    /// A Wait or retry back-off that has elapsed.
    Waited,
    /// The execution's time ran out while it waited for a Task.
    TimedOut,
}

/// What a stopped run waits for.
pub(crate) enum Suspension {
    /// A Wait or retry back-off on the system clock.
    Sleep { millis: u64 },
    /// An asynchronous handler's future; `timeout` is the Task's TimeoutSeconds in milliseconds.
    Task {
        handler: Arc<dyn AsyncTaskHandler>,
        input: serde_json::Value,
        info: TaskInfo,
        timeout: Option<u64>,
        lambda: bool,
    },
}

impl Journal {
    pub(crate) fn new(seed: u64) -> Journal {
        Journal { seed, start_millis: None, entries: Vec::new(), cursor: 0, pending: None }
    }

    /// Starts a run: replay from the first entry.
    pub(crate) fn rewind(&mut self) {
        self.cursor = 0;
        self.pending = None;
    }

    /// The next journaled outcome, if the run has not caught up with the journal yet.
    pub(crate) fn replay(&mut self) -> Option<Entry> {
        let e = self.entries.get(self.cursor).cloned();
        self.cursor += usize::from(e.is_some());
        e
    }

    /// Records an outcome the run produced (not replayed).
    pub(crate) fn record(&mut self, e: Entry) {
        self.entries.push(e);
        self.cursor = self.entries.len();
    }

    /// Appends the outcome a suspension waited for, before the next run.
    pub(crate) fn resolve(&mut self, e: Entry) {
        self.entries.push(e);
    }
}
