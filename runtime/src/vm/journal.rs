//! The journal of a suspendable execution, for going on after a suspension.
//!
//! An execution run by a [`crate::Runtime`] does not hold its worker while it waits: at a Wait
//! or a retry back-off on the system clock, or at a Task whose handler is asynchronous, the VM
//! records a [`Suspension`] and the run stops. When the timer fires or the future completes,
//! the outcome is added here and the execution runs again on any worker.
//!
//! The next run does not start from the beginning. At each top-level state the VM notes what
//! the state starts from (a [`Mark`]); when the run stops, that becomes a [`Resume`]: the
//! state's input and the variables as JSON, the counters and the random source. The next run
//! enters that state afresh and replays only the outcomes journaled since it was entered
//! (Task results, waits that have elapsed, clock readings), so it retraces the state's own
//! steps and goes on from where it stopped; the journal keeps nothing older. An execution of
//! K sequential Tasks thus runs each state about twice, not K²/2 states. When a value is past
//! the writer's bound, no resume point is made and the run replays from the last one (or from
//! the start, with the same seed, start time and input).
//! A synchronous handler is not called again on replay: its result is journaled too.
//!
//! Outcomes are keyed by [`Site`]: the machine run they happened in (its scope: the top level,
//! or a Parallel branch or Map iteration, named by its parent's scope and position) and their
//! order within that run. Branches and iterations can therefore suspend concurrently: while one
//! waits, the others go on, each replaying only its own outcomes, whatever order the waits end in.

use crate::bytecode::ResourceId;
use crate::common::Rng;
use crate::handler::Waiting;
use std::collections::HashMap;

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
    /// Outcomes by site, each with the sequence number of the top-level state it happened in.
    entries: Entries,
    /// Sites whose wait has been handed out and not resolved yet, with their state's number
    /// (few: a list costs less memory than a map while the execution waits).
    in_flight: Vec<(Site, u32)>,
    /// The sequence number of the top-level state the run is in: what `record` stamps.
    pub(crate) stamp: u32,
    /// Where the next run starts, if not from the beginning.
    pub(crate) resume: Option<Resume>,
    /// What the last run stopped for, not yet handed out.
    pub(crate) pending: Vec<(Site, Suspension)>,
    /// The last run ended stopped (for something new or already in flight), rather than with
    /// an outcome.
    pub(crate) suspended: bool,
    /// How many outcomes runs have read back (what a resume point saves).
    pub(crate) replayed: std::cell::Cell<u64>,
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

/// Where a top-level state starts: its `Enter` op, the next site's sequence number, and the
/// counters and random source as the state is entered.
#[derive(Clone)]
pub(crate) struct Entered {
    pub pc: u32,
    pub seq: u32,
    pub transitions: u64,
    pub events: u64,
    pub virtual_elapsed_millis: i64,
    pub var_bytes: usize,
    pub rng: Rng,
}

/// What the current top-level state started from, noted as the VM enters it (see [`Resume`]).
pub(crate) struct Mark<'a> {
    pub at: Entered,
    /// The state's input.
    pub input: crate::value::Value<'a>,
}

/// Where the next run of a stopped execution starts: the top-level state it stopped in, as it
/// was entered. Values are kept as JSON text, about the size of the values themselves.
pub(crate) struct Resume {
    pub at: Entered,
    /// The state's input, as JSON; `None` when it is the execution's input itself (the first
    /// state's, often), which every run has anyway.
    pub input: Option<Box<str>>,
    /// The workflow variables, as JSON (`None`: not set).
    pub vars: Box<[Option<Box<str>>]>,
}

/// What a stopped run waits for.
pub(crate) enum Suspension {
    /// A Wait or retry back-off on the system clock.
    Sleep { millis: u64 },
    /// A handler's future, polled once already, for the Task's `resource`; `timeout` is the
    /// Task's TimeoutSeconds in milliseconds, counted from `started` (when the handler was
    /// called, not when the wait begins).
    Task { fut: Waiting, resource: ResourceId, timeout: Option<u64>, lambda: bool, started: std::time::Instant },
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
            entries: Entries::Few(Vec::new()),
            in_flight: Vec::new(),
            stamp: 0,
            resume: None,
            pending: Vec::new(),
            suspended: false,
            replayed: std::cell::Cell::new(0),
        }
    }

    /// Starts a run.
    pub(crate) fn rewind(&mut self) {
        self.pending.clear();
        self.suspended = false;
        self.stamp = self.resume.as_ref().map_or(0, |r| r.at.seq);
    }

    pub(crate) fn at(&self, site: Site) -> AtSite {
        match self.entries.get(site) {
            Some(e) => {
                self.replayed.set(self.replayed.get() + 1);
                AtSite::Done(e.clone())
            }
            None if self.in_flight.iter().any(|(s, _)| *s == site) => AtSite::Waiting,
            None => AtSite::New,
        }
    }

    /// Records an outcome the run produced itself.
    pub(crate) fn record(&mut self, site: Site, e: Entry) {
        self.entries.insert(site, self.stamp, e);
    }

    /// The next run starts at `r`: what happened before its state is not needed any more.
    pub(crate) fn resume_at(&mut self, r: Resume) {
        let seq = r.at.seq;
        self.entries.keep_from(seq);
        self.in_flight.retain(|(_, stamp)| *stamp >= seq);
        self.resume = Some(r);
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
        // Exactly as many as are waited for: the list is held while the execution waits.
        self.in_flight.reserve_exact(self.pending.len());
        for (site, _) in &self.pending {
            self.in_flight.push((*site, self.stamp));
        }
        std::mem::take(&mut self.pending)
    }

    /// The outcome of a wait that was in flight (`None`: it was cut short by a cancellation).
    pub(crate) fn resolve(&mut self, site: Site, e: Option<Entry>) {
        // A wait of a state the execution has left (a branch whose sibling failed) is dropped.
        let stamp = self.in_flight.iter().position(|(s, _)| *s == site).map(|i| self.in_flight.swap_remove(i).1);
        if let (Some(stamp), Some(e)) = (stamp, e) {
            self.entries.insert(site, stamp, e);
        }
    }

    /// How many outcomes are kept.
    #[cfg(test)]
    pub(crate) fn entries_len(&self) -> usize {
        self.entries.len()
    }

    /// Waits are still going on.
    pub(crate) fn waiting(&self) -> bool {
        !self.in_flight.is_empty()
    }
}

/// The journal's outcomes. Most executions keep a few (the current state's), held while they
/// wait: a list costs a tenth of a map's memory then, and is searched as fast. Past
/// [`Entries::FEW`] (a Map of many suspending iterations), a map.
enum Entries {
    Few(Vec<(Site, u32, Entry)>),
    Many(HashMap<Site, (u32, Entry)>),
}

impl Entries {
    const FEW: usize = 16;

    fn get(&self, site: Site) -> Option<&Entry> {
        match self {
            Entries::Few(v) => v.iter().find(|(s, ..)| *s == site).map(|(_, _, e)| e),
            Entries::Many(m) => m.get(&site).map(|(_, e)| e),
        }
    }

    fn insert(&mut self, site: Site, stamp: u32, e: Entry) {
        match self {
            Entries::Few(v) => match v.iter().position(|(s, ..)| *s == site) {
                Some(i) => v[i] = (site, stamp, e),
                None if v.len() < Entries::FEW => {
                    v.reserve_exact(1);
                    v.push((site, stamp, e));
                }
                None => {
                    let mut m: HashMap<Site, (u32, Entry)> = v.drain(..).map(|(s, t, e)| (s, (t, e))).collect();
                    m.insert(site, (stamp, e));
                    *self = Entries::Many(m);
                }
            },
            Entries::Many(m) => {
                m.insert(site, (stamp, e));
            }
        }
    }

    /// Keeps the outcomes of the top-level states numbered `seq` and later.
    fn keep_from(&mut self, seq: u32) {
        match self {
            Entries::Few(v) => {
                v.retain(|(_, stamp, _)| *stamp >= seq);
                v.shrink_to_fit();
            }
            Entries::Many(m) => {
                m.retain(|_, (stamp, _)| *stamp >= seq);
                if m.len() <= Entries::FEW / 2 {
                    *self = Entries::Few(m.drain().map(|(s, (t, e))| (s, t, e)).collect());
                }
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        match self {
            Entries::Few(v) => v.len(),
            Entries::Many(m) => m.len(),
        }
    }
}
