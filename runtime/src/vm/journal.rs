//! The journal of a suspendable execution, for running it again after a suspension.
//!
//! An execution run by a [`crate::Runtime`] does not hold its worker while it waits: at a Wait
//! or a retry back-off on the system clock, or at a Task whose handler is asynchronous, the VM
//! records a [`Suspension`] and the run stops. When the timer fires or the future completes,
//! the outcome is added here and the execution runs again from its start on any worker.
//! Everything it did before is replayed from the journal (Task results, waits that have
//! elapsed), and the seed, start time and input are the same, so the run retraces the same
//! states and goes on from where it stopped. A synchronous handler is not called again on
//! replay: its result is journaled too.
//!
//! Outcomes are keyed by [`Site`]: the machine run they happened in (its scope: the top level,
//! or a Parallel branch or Map iteration, named by its parent's scope and position) and their
//! order within that run. Branches and iterations can therefore suspend concurrently: while one
//! waits, the others go on, each replaying only its own outcomes, whatever order the waits end in.

use crate::handler::{AsyncTaskHandler, TaskFuture, TaskInfo};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Where a journaled outcome happened: (scope, sequence number within the scope).
pub(crate) type Site = (u64, u32);

/// The scope of a Parallel branch or Map iteration: its parent's scope, the sequence number the
/// Parallel or Map state took there, and the branch or item index.
pub(crate) fn child_scope(parent: u64, instance: u32, index: usize) -> u64 {
    let mut h = parent ^ 0x9E37_79B9_7F4A_7C15;
    for x in [u64::from(instance), index as u64] {
        h = (h ^ x).wrapping_mul(0x0100_0000_01B3).rotate_left(29).wrapping_add(0xBF58_476D_1CE4_E5B9);
    }
    h
}

/// What a suspendable execution has done so far.
pub(crate) struct Journal {
    /// The random source's seed, the same on every run.
    pub(crate) seed: u64,
    /// The execution's start time, fixed by the first run.
    pub(crate) start_millis: Option<i64>,
    entries: HashMap<Site, Entry>,
    /// Sites whose wait has been handed out and not resolved yet.
    in_flight: HashSet<Site>,
    /// What the last run stopped for, not yet handed out.
    pub(crate) pending: Vec<(Site, Suspension)>,
    /// The last run ended stopped (for something new or already in flight), rather than with
    /// an outcome.
    pub(crate) suspended: bool,
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
    /// A reading of the system clock.
    Clock(i64),
}

/// What a stopped run waits for.
/// How a suspended Task's future comes about.
pub(crate) enum TaskStart {
    /// An asynchronous handler, to start on `input` on the runtime's tokio thread.
    Handler { handler: Arc<dyn AsyncTaskHandler>, input: serde_json::Value },
    /// A synchronous handler's later answer, already started ([`crate::handler::TaskAnswer`]).
    Started(TaskFuture),
}

pub(crate) enum Suspension {
    /// A Wait or retry back-off on the system clock.
    Sleep { millis: u64 },
    /// An asynchronous handler's future; `timeout` is the Task's TimeoutSeconds in milliseconds.
    Task { start: TaskStart, info: TaskInfo, timeout: Option<u64>, lambda: bool },
}

/// What the VM finds at a site that may suspend.
pub(crate) enum AtSite {
    /// An outcome from an earlier run.
    Done(Entry),
    /// Its wait is still going on: the run stops here again.
    Waiting,
    /// Not reached before: run it.
    New,
}

impl Journal {
    pub(crate) fn new(seed: u64) -> Journal {
        Journal {
            seed,
            start_millis: None,
            entries: HashMap::new(),
            in_flight: HashSet::new(),
            pending: Vec::new(),
            suspended: false,
        }
    }

    /// Starts a run.
    pub(crate) fn rewind(&mut self) {
        self.pending.clear();
        self.suspended = false;
    }

    pub(crate) fn at(&self, site: Site) -> AtSite {
        match self.entries.get(&site) {
            Some(e) => AtSite::Done(e.clone()),
            None if self.in_flight.contains(&site) => AtSite::Waiting,
            None => AtSite::New,
        }
    }

    /// Records an outcome the run produced itself.
    pub(crate) fn record(&mut self, site: Site, e: Entry) {
        self.entries.insert(site, e);
    }

    /// The run stops at `site` to wait for `s`.
    pub(crate) fn suspend(&mut self, site: Site, s: Suspension) {
        self.pending.push((site, s));
    }

    /// How many waits the run has asked for so far.
    pub(crate) fn pending_mark(&self) -> usize {
        self.pending.len()
    }

    /// Drops the waits asked for since `mark`: a Parallel or Map whose branch or item failed
    /// does not wait for its others (AWS stops them).
    pub(crate) fn drop_pending_since(&mut self, mark: usize) {
        self.pending.truncate(mark);
    }

    /// Hands out the new waits of the last run: they are in flight until resolved.
    pub(crate) fn take_pending(&mut self) -> Vec<(Site, Suspension)> {
        for (site, _) in &self.pending {
            self.in_flight.insert(*site);
        }
        std::mem::take(&mut self.pending)
    }

    /// The outcome of a wait that was in flight (`None`: it was cut short by a cancellation).
    pub(crate) fn resolve(&mut self, site: Site, e: Option<Entry>) {
        self.in_flight.remove(&site);
        if let Some(e) = e {
            self.entries.insert(site, e);
        }
    }

    /// Waits are still going on.
    pub(crate) fn waiting(&self) -> bool {
        !self.in_flight.is_empty()
    }
}
