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
//! steps and goes on from where it stopped; the journal keeps nothing older (unless the
//! runtime replays from the start, `RuntimeBuilder::replay_from_start`: then every run starts
//! from the beginning and the journal keeps every outcome). An execution of
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
    /// Waits that a state already left still had in flight (a Parallel branch's, when another
    /// branch failed) when the run stopped without a resume point that drops them: a run from
    /// the start finds them still waiting, as the run that left them did, and their outcomes
    /// are not journaled.
    abandoned: Vec<Site>,
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
    /// A stopped run leaves a resume point (else the next run starts from the beginning:
    /// `RuntimeBuilder::replay_from_start`).
    pub(crate) resume_points: bool,
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
    /// Task's TimeoutSeconds in milliseconds and the instant it counts from (when the handler
    /// was called, not when the wait begins).
    Task { fut: Waiting, resource: ResourceId, timeout: Option<(u64, std::time::Instant)>, lambda: bool },
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
            abandoned: Vec::new(),
            stamp: 0,
            resume: None,
            pending: Vec::new(),
            suspended: false,
            replayed: std::cell::Cell::new(0),
            resume_points: true,
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
            None if self.in_flight.iter().any(|(s, _)| *s == site) || self.abandoned.contains(&site) => AtSite::Waiting,
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

    /// The run stopped in the top-level state numbered `seq` and the next starts from the
    /// beginning (`replay_from_start`, or no resume point could be written): the waits of the
    /// states before it are abandoned, as `resume_at` would drop them.
    pub(crate) fn abandon_before(&mut self, seq: u32) {
        let abandoned = &mut self.abandoned;
        self.in_flight.retain(|&(site, stamp)| {
            let keep = stamp >= seq;
            if !keep {
                abandoned.push(site);
            }
            keep
        });
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

/// A journal packed into bytes ([`Journal::pack`]) while its execution waits long.
impl Journal {
    /// Appends the journal to `out`, in a form [`Journal::unpack`] reads back. Only between
    /// runs: the waits asked for by the last run have been handed out.
    pub(crate) fn pack(&self, out: &mut Vec<u8>) {
        debug_assert!(self.pending.is_empty(), "a journal is packed between runs");
        let mut w = Packer(out);
        w.u64(self.seed);
        w.opt_i64(self.start_millis);
        w.u32(self.stamp);
        w.u8(u8::from(self.suspended));
        w.u8(u8::from(self.resume_points));
        w.u64(self.replayed.get());
        let entries: Vec<(Site, u32, &Entry)> = match &self.entries {
            Entries::Few(v) => v.iter().map(|(s, t, e)| (*s, *t, e)).collect(),
            Entries::Many(m) => m.iter().map(|(s, (t, e))| (*s, *t, e)).collect(),
        };
        w.u32(entries.len() as u32);
        for (site, stamp, e) in entries {
            w.site(site);
            w.u32(stamp);
            match e {
                Entry::Task { result, lambda } => {
                    w.u8(if *lambda { 1 } else { 0 });
                    match result {
                        Ok(text) => {
                            w.u8(0);
                            w.str(text);
                        }
                        Err((error, cause)) => {
                            w.u8(1);
                            w.str(error);
                            w.opt_str(cause.as_deref());
                        }
                    }
                }
                Entry::Waited => w.u8(2),
                Entry::TimedOut => w.u8(3),
                Entry::Clock(t) => {
                    w.u8(4);
                    w.u64(*t as u64);
                }
            }
        }
        w.u32(self.in_flight.len() as u32);
        for (site, stamp) in &self.in_flight {
            w.site(*site);
            w.u32(*stamp);
        }
        w.u32(self.abandoned.len() as u32);
        for site in &self.abandoned {
            w.site(*site);
        }
        match &self.resume {
            None => w.u8(0),
            Some(r) => {
                w.u8(1);
                let at = &r.at;
                w.u32(at.pc);
                w.u32(at.seq);
                w.u64(at.transitions);
                w.u64(at.events);
                w.u64(at.virtual_elapsed_millis as u64);
                w.u64(at.var_bytes as u64);
                let (state, pending) = at.rng.parts();
                w.u64(state);
                w.opt_i64(pending.map(|p| p as i64));
                w.opt_str(r.input.as_deref());
                w.u32(r.vars.len() as u32);
                for v in &r.vars {
                    w.opt_str(v.as_deref());
                }
            }
        }
    }

    /// The journal [`Journal::pack`] wrote at the start of `bytes`, and the bytes after it;
    /// `None` if they are not such a journal.
    pub(crate) fn unpack(bytes: &[u8]) -> Option<(Journal, &[u8])> {
        let mut r = Unpacker(bytes);
        let mut j = Journal::new(r.u64()?);
        j.start_millis = r.opt_i64()?;
        j.stamp = r.u32()?;
        j.suspended = r.u8()? != 0;
        j.resume_points = r.u8()? != 0;
        j.replayed.set(r.u64()?);
        for _ in 0..r.count(17)? {
            let (site, stamp) = (r.site()?, r.u32()?);
            let e = match r.u8()? {
                lambda @ (0 | 1) => {
                    let result = match r.u8()? {
                        0 => Ok(r.str()?),
                        _ => Err((r.str()?, r.opt_str()?)),
                    };
                    Entry::Task { result, lambda: lambda == 1 }
                }
                2 => Entry::Waited,
                3 => Entry::TimedOut,
                4 => Entry::Clock(r.u64()? as i64),
                _ => return None,
            };
            j.entries.insert(site, stamp, e);
        }
        let n = r.count(16)?;
        j.in_flight.reserve_exact(n);
        for _ in 0..n {
            j.in_flight.push((r.site()?, r.u32()?));
        }
        for _ in 0..r.count(12)? {
            j.abandoned.push(r.site()?);
        }
        if r.u8()? == 1 {
            let (pc, seq, transitions, events) = (r.u32()?, r.u32()?, r.u64()?, r.u64()?);
            let (virtual_elapsed_millis, var_bytes) = (r.u64()? as i64, r.u64()? as usize);
            let rng = Rng::from_parts(r.u64()?, r.opt_i64()?.map(|p| p as u64));
            let at = Entered { pc, seq, transitions, events, virtual_elapsed_millis, var_bytes, rng };
            let input = r.opt_str()?.map(String::into_boxed_str);
            let vars = (0..r.count(1)?)
                .map(|_| r.opt_str().map(|v| v.map(String::into_boxed_str)))
                .collect::<Option<Box<[_]>>>()?;
            j.resume = Some(Resume { at, input, vars });
        }
        Some((j, r.0))
    }
}

struct Packer<'a>(&'a mut Vec<u8>);

impl Packer<'_> {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn opt_i64(&mut self, v: Option<i64>) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                self.u64(v as u64);
            }
        }
    }
    fn site(&mut self, (scope, seq): Site) {
        self.u64(scope);
        self.u32(seq);
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.0.extend_from_slice(s.as_bytes());
    }
    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.u8(0),
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
        }
    }
}

struct Unpacker<'a>(&'a [u8]);

impl Unpacker<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|[b]| b)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }
    /// A count of items at least `size` bytes each: more than the bytes left could hold is
    /// damage, not a reason to reserve memory for them.
    fn count(&mut self, size: usize) -> Option<usize> {
        let n = self.u32()? as usize;
        (n <= self.0.len() / size).then_some(n)
    }
    fn opt_i64(&mut self) -> Option<Option<i64>> {
        match self.u8()? {
            0 => Some(None),
            _ => Some(Some(self.u64()? as i64)),
        }
    }
    fn site(&mut self) -> Option<Site> {
        Some((self.u64()?, self.u32()?))
    }
    fn str(&mut self) -> Option<String> {
        let n = self.u32()? as usize;
        let bytes = self.0.get(..n)?;
        self.0 = &self.0[n..];
        String::from_utf8(bytes.to_vec()).ok()
    }
    fn opt_str(&mut self) -> Option<Option<String>> {
        match self.u8()? {
            0 => Some(None),
            _ => self.str().map(Some),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(entries: usize) -> Journal {
        let mut j = Journal::new(42);
        j.start_millis = Some(1_700_000_000_000);
        j.stamp = 3;
        j.suspended = true;
        j.replayed.set(9);
        for i in 0..entries {
            let e = match i % 4 {
                0 => Entry::Task { result: Ok(format!(r#"{{"n":{i}}}"#)), lambda: i % 8 == 0 },
                1 => Entry::Task {
                    result: Err(("States.Timeout".into(), (i % 3 == 0).then(|| "slow".into()))),
                    lambda: false,
                },
                2 => Entry::Waited,
                _ => Entry::Clock(-(i as i64)),
            };
            j.entries.insert((i as u64 * 7, i as u32), (i % 5) as u32, e);
        }
        j.in_flight = vec![((1, 2), 3), ((u64::MAX, 0), 1)];
        j.abandoned = vec![(9, 4)];
        j.resume_points = false;
        let at = Entered {
            pc: 17,
            seq: 3,
            transitions: 12,
            events: 30,
            virtual_elapsed_millis: -5,
            var_bytes: 99,
            rng: Rng::from_parts(7, Some(11)),
        };
        j.resume =
            Some(Resume { at, input: Some(r#"{"é":"\u0000"}"#.into()), vars: vec![None, Some("[1]".into())].into() });
        j
    }

    fn packed(j: &Journal) -> Vec<u8> {
        let mut out = Vec::new();
        j.pack(&mut out);
        out
    }

    /// A journal packed and read back packs the same again, and leaves the bytes after it: for a
    /// few outcomes (a list) and for many (a map).
    #[test]
    fn a_packed_journal_reads_back_as_it_was() {
        for n in [0, 3, 40] {
            let j = sample(n);
            let mut bytes = packed(&j);
            bytes.extend_from_slice(b"event");
            let (back, rest) = Journal::unpack(&bytes).expect("reads back");
            assert_eq!(rest, b"event");
            assert_eq!(back.entries.len(), n);
            let mut again = packed(&back);
            again.extend_from_slice(b"event");
            if n <= Entries::FEW {
                assert_eq!(again, bytes, "{n} outcomes");
            } else {
                // A map packs its outcomes in its own order: compare what each site holds.
                for i in 0..n {
                    let site = (i as u64 * 7, i as u32);
                    assert_eq!(format!("{:?}", back.entries.get(site)), format!("{:?}", j.entries.get(site)));
                }
            }
            let r = back.resume.as_ref().unwrap();
            assert_eq!(
                (r.at.pc, r.at.seq, r.at.rng.parts(), r.input.as_deref()),
                (17, 3, (7, Some(11)), Some(r#"{"é":"\u0000"}"#))
            );
            assert_eq!(
                (
                    back.seed,
                    back.start_millis,
                    back.stamp,
                    back.in_flight.len(),
                    back.abandoned.clone(),
                    back.resume_points
                ),
                (42, Some(1_700_000_000_000), 3, 2, vec![(9, 4)], false)
            );
        }
    }

    /// Cut short anywhere, or with a byte changed, the bytes are refused or read as some other
    /// journal, never a panic.
    #[test]
    fn damaged_bytes_are_refused_without_a_panic() {
        let bytes = packed(&sample(6));
        for cut in 0..bytes.len() {
            let _ = Journal::unpack(&bytes[..cut]);
        }
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0xA5;
            let _ = Journal::unpack(&b);
        }
        assert!(Journal::unpack(&[]).is_none());
    }
}
