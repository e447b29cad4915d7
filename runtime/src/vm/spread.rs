//! Map items and Parallel branches spread over idle workers.
//!
//! A Map's items and a Parallel's branches run one after another on their execution's worker:
//! most cost a few hundred nanoseconds, less than handing one to another thread. Heavy ones are
//! put off instead, when the [`crate::Runtime`] has idle workers:
//! - a Map whose items take [`ITEM_NANOS`] or more each, and whose items run so far, times the
//!   items left, come to [`HEAVY_NANOS`] or more, puts off the items left (their ItemSelector
//!   inputs are still made in order);
//! - a Parallel branch whose runs have averaged [`HEAVY_NANOS`] or more (timed while workers
//!   were idle, in earlier executions of the machine) is put off, and so is every branch after.
//!
//! At the Map's end or the Parallel's join, if the runs outweigh their handing over
//! ([`CROSSING_NANOS_PER_BYTE`]), they go at once, on the execution's own worker and on
//! helpers, each helper a job on the pool that takes runs until none are left (an
//! [`ItemBatch`]). A helper works in its own worker's scratch, so what it needs crosses as JSON
//! text: the item and its input, the workflow variables the run sees, the execution's input.
//! Its results come back the same way and are parsed into the execution's arena.
//!
//! The outcome is the one of one after another: results in order, the failure of the first run
//! that failed (no run starts once one has failed, and runs after it are not counted), a
//! later item's ItemSelector failure only after the runs put off before it. Spreading is used
//! only where it cannot change what an execution does: on the system clock (a virtual clock's
//! time passes run after run), without a configured seed, for machines that never suspend, for
//! Maps without tolerated failures, and with MaxConcurrency above one (it bounds the helpers
//! too). docs/performance.md ("Map items and Parallel branches over idle workers") has the
//! whole account, with the measurements behind each bound.

use super::{Fault, FaultKind, MapItem, Vm};
use crate::bytecode::MachineId;
use crate::jsonata::JV;
use crate::value::{json_len, parse_copy, to_json_string, Value};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Work of at least this many nanoseconds is spread, when workers are idle.
pub(crate) const HEAVY_NANOS: u64 = 200_000;

/// Map items are spread only when each takes at least this long: below it the half microsecond
/// an item's trip between workers costs eats the gain (measured with 2,000 items of a Task
/// on 2 workers: 1.1 µs items 0.95× the time of one after another, 2.6 µs 0.70×, 5 µs 0.63×,
/// 20 µs 0.53×; items of 0.12 µs ran 3.5× slower).
const ITEM_NANOS: u64 = 5_000;

/// What a byte of JSON costs to hand to another worker: written, parsed there (and the same for
/// what comes back), with room to spare.
const CROSSING_NANOS_PER_BYTE: u64 = 4;

/// A job for an idle worker: it runs with that worker's scratch; `false` means it was dropped
/// unrun (the runtime was shut down at once).
pub(crate) type HelperJob = Box<dyn FnOnce(&mut super::Scratch, bool) + Send>;

/// What the VM needs of a pool to spread runs over it.
pub(crate) trait Helpers: Send + Sync {
    /// Workers that have nothing to do.
    fn idle(&self) -> usize;
    /// Queues `job` for any worker.
    fn spawn(&self, job: HelperJob);
}

/// The machine a spreading VM runs, as its helpers need it: a job that takes runs of a batch
/// in the worker's own scratch until none are left. (The machine lives above the VM, so the VM
/// reaches it only through this.)
pub(crate) trait BatchRunner: Send + Sync {
    fn helper_job(&self, batch: Arc<ItemBatch>) -> HelperJob;
}

/// Set on a VM that may spread Map items and Parallel branches: the pool, and the machine its
/// helpers run.
#[derive(Clone, Copy)]
pub(crate) struct Spread<'a> {
    pub helpers: &'a Arc<dyn Helpers>,
    pub machine: &'a dyn BatchRunner,
    /// Each machine's average run as a Parallel branch, in nanoseconds (0: not timed yet).
    pub branch_nanos: &'a [AtomicU64],
}

impl Spread<'_> {
    /// Notes a branch run of `nanos` in the machine's average (a moving one, weighing the
    /// latest a quarter). The shared average is written only when it moves by an eighth or
    /// more, so that workers timing steady branches do not pass its cache line around.
    fn time_branch(&self, machine: MachineId, nanos: u64) {
        if let Some(avg) = self.branch_nanos.get(machine.index()) {
            let old = avg.load(Ordering::Relaxed);
            let new = if old == 0 { nanos.max(1) } else { old.saturating_mul(3).saturating_add(nanos) / 4 };
            if new.abs_diff(old) > old / 8 {
                avg.store(new, Ordering::Relaxed);
            }
        }
    }
}

/// A machine run put off: a Map item or a Parallel branch, its input, its result's slot, and
/// what it is expected to take.
#[derive(Clone, Copy)]
pub(super) struct Deferred<'a> {
    pub machine: MachineId,
    pub item: Option<MapItem<'a>>,
    pub input: Value<'a>,
    pub slot: usize,
    pub nanos: u64,
}

/// A Map's spreading in progress (see the module documentation).
pub(super) struct MapSpread<'a> {
    /// When the estimate started, and at which item; `None` until a worker is idle.
    timing: Option<(Instant, usize)>,
    /// The items left are being put off, each expected to take this many nanoseconds.
    deferring: Option<u64>,
    /// Put-off items, in item order.
    pub deferred: Vec<Deferred<'a>>,
}

impl<'a> MapSpread<'a> {
    pub fn new(spread: &Spread<'_>) -> MapSpread<'a> {
        let timing = (spread.helpers.idle() > 0).then(|| (Instant::now(), 0));
        MapSpread { timing, deferring: None, deferred: Vec::new() }
    }

    /// Whether item `index` of `len` is put off, and then what it is expected to take. The
    /// estimate is checked at items that are powers of two, so a Map of light items pays for a
    /// handful of clock readings at most.
    pub fn defer(&mut self, spread: &Spread<'_>, index: usize, len: usize) -> Option<u64> {
        if self.deferring.is_some() {
            return self.deferring;
        }
        if index == 0 || !index.is_power_of_two() {
            return None;
        }
        let Some((since, first)) = self.timing else {
            if spread.helpers.idle() > 0 {
                self.timing = Some((Instant::now(), index));
            }
            return None;
        };
        self.deferring = heavy_items(since.elapsed(), index - first, len - index).filter(|_| spread.helpers.idle() > 0);
        self.deferring
    }
}

/// Whether runs expected to take `expected` nanoseconds are worth handing over with `bytes` of
/// JSON crossing between workers: four times the crossing at least.
fn outweighs(expected: u64, bytes: usize) -> bool {
    (bytes as u64).saturating_mul(CROSSING_NANOS_PER_BYTE).saturating_mul(4) <= expected
}

/// The time per item when the `left` items of a Map are worth spreading, `ran` having taken
/// `took`: in all at least [`HEAVY_NANOS`], and each at least [`ITEM_NANOS`], so that an item's
/// trip between workers as JSON (about half a microsecond for a small item) stays a small part
/// of its cost.
fn heavy_items(took: Duration, ran: usize, left: usize) -> Option<u64> {
    let per_item = u64::try_from(took.as_nanos() / ran.max(1) as u128).unwrap_or(u64::MAX);
    let heavy = ran > 0 && left >= 2 && per_item >= ITEM_NANOS && per_item.saturating_mul(left as u64) >= HEAVY_NANOS;
    heavy.then_some(per_item)
}

/// One put-off run, as text: its machine, its Map item (index, key, value), its input.
struct OwnedItem {
    machine: MachineId,
    item: Option<(usize, Option<String>, String)>,
    input: String,
}

/// How a run by a helper ended.
pub(crate) struct ItemResult {
    outcome: Result<String, (FaultKind, Option<String>, Option<String>, bool)>,
    transitions: u64,
    events: u64,
    nanos: u64,
}

struct Claims {
    next: usize,
    stop: bool,
    /// Items taken by helpers and not finished.
    running: usize,
    results: Vec<Option<ItemResult>>,
}

/// The put-off runs of one Map or Parallel, shared by the execution and its helpers.
pub(crate) struct ItemBatch {
    items: Vec<OwnedItem>,
    /// The variables the items see, as JSON (`None`: not set).
    vars: Vec<Option<String>>,
    execution_input: String,
    start_millis: Option<i64>,
    depth: u32,
    var_bytes: usize,
    transitions: u64,
    events: u64,
    seed: u64,
    /// Set when the execution is cancelled: helpers' items end `ABORTED`.
    cancel: AtomicBool,
    claims: Mutex<Claims>,
    finished: Condvar,
}

impl ItemBatch {
    fn claims(&self) -> std::sync::MutexGuard<'_, Claims> {
        self.claims.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next item to run, unless all are taken or one has failed.
    fn claim(&self, helper: bool) -> Option<usize> {
        let mut c = self.claims();
        if c.stop || c.next >= self.items.len() {
            return None;
        }
        let k = c.next;
        c.next += 1;
        c.running += usize::from(helper);
        Some(k)
    }

    fn finish(&self, k: usize, result: ItemResult) {
        let mut c = self.claims();
        c.stop |= result.outcome.is_err();
        c.results[k] = Some(result);
        c.running -= 1;
        drop(c);
        self.finished.notify_all();
    }

    /// A helper's work: items until none are left. `run` runs one item in the helper's scratch.
    pub fn help(&self, mut run: impl FnMut(&ItemBatch, usize) -> ItemResult) {
        while let Some(k) = self.claim(true) {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(self, k)))
                .unwrap_or_else(|_| ItemResult::runtime("Internal error: a Map iteration's run panicked.".into()));
            self.finish(k, result);
        }
    }

    /// Runs item `k` in `vm` (a helper's, built for this batch by [`crate::StateMachine`]).
    pub fn run_item<'v>(&'v self, vm: &mut Vm<'v>, k: usize, vars: &[Option<Value<'v>>]) -> ItemResult {
        let arena = vm.arena;
        vm.start_millis.set(self.start_millis);
        vm.depth = self.depth;
        vm.var_bytes = self.var_bytes;
        vm.transitions = self.transitions;
        vm.events = self.events;
        vm.cancel = Some(&self.cancel);
        vm.rng = super::Rng::seeded(self.seed ^ (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let started = Instant::now();
        let run = &self.items[k];
        let item = match &run.item {
            Some((index, key, value)) => match parse_copy(arena, value, vm.parse) {
                Ok(value) => {
                    Ok(Some(MapItem { index: *index, value, key: key.as_deref().map(|k| &*arena.alloc_str(k)) }))
                }
                Err(e) => Err(e),
            },
            None => Ok(None),
        };
        let outcome = match (item, parse_copy(arena, &run.input, vm.parse)) {
            (Ok(item), Ok(input)) => {
                let cells = arena.alloc_slice_fill_iter(vars.iter().map(|v| Cell::new(v.map_or(JV::Undef, JV::V))));
                vm.run_machine(run.machine, input, item, cells)
            }
            (Err(e), _) | (_, Err(e)) => Err(vm.read_back(&e.message)),
        };
        ItemResult {
            outcome: match outcome {
                Ok(v) => Ok(to_json_string(&v)),
                Err(f) => Err((f.kind, f.error.map(str::to_owned), f.cause.map(str::to_owned), f.from_task)),
            },
            transitions: vm.transitions - self.transitions,
            events: vm.events - self.events,
            nanos: started.elapsed().as_nanos() as u64,
        }
    }

    /// The variables and the execution input, parsed into a helper's arena.
    pub fn parse_shared<'v>(
        &self,
        arena: &'v bumpalo::Bump,
        parse: &mut crate::value::ParseBuffers,
    ) -> Result<(Vec<Option<Value<'v>>>, Value<'v>), String> {
        let mut one = |text: &str| parse_copy(arena, text, parse).map_err(|e| e.message);
        let vars = self.vars.iter().map(|v| v.as_deref().map(&mut one).transpose()).collect::<Result<_, _>>()?;
        Ok((vars, one(&self.execution_input)?))
    }

    /// A run that cannot start: what it shares with the others did not read back.
    pub fn unreadable(why: &str) -> ItemResult {
        ItemResult::runtime(unreadable_cause(why))
    }
}

impl ItemResult {
    /// A run that ended before doing anything, in a terminal States.Runtime failure.
    fn runtime(cause: String) -> ItemResult {
        ItemResult {
            outcome: Err((FaultKind::Terminal, Some("States.Runtime".into()), Some(cause), false)),
            transitions: 0,
            events: 0,
            nanos: 0,
        }
    }
}

/// JSON handed between workers is written by this runtime's own writer: when it does not parse,
/// that is a bug, reported as such.
fn unreadable_cause(why: &str) -> String {
    format!("Internal error: JSON handed between workers did not parse: {why}")
}

impl<'a> Vm<'a> {
    /// Puts off the current item of the Map in `f` if the Map has turned out heavy (see
    /// [`MapSpread::defer`]): it runs at the Map's end, beside helpers.
    #[inline(never)]
    pub(super) fn put_off_item(&mut self, f: &mut super::Frame<'a>, processor: MachineId, input: Value<'a>) -> bool {
        let (Some(lp), Some(spread)) = (f.map.as_mut(), self.spread) else { return false };
        let (Some(s), Some(item)) = (lp.spread.as_mut(), lp.current) else { return false };
        let Some(nanos) = s.defer(&spread, item.index, lp.len) else { return false };
        s.deferred.push(Deferred { machine: processor, item: Some(item), input, slot: item.index, nanos });
        lp.out.push(Value::Null);
        true
    }

    /// Puts off Parallel branch `machine` if its runs have been heavy and a worker is idle, or
    /// if a branch before it was put off (a branch never runs before one ahead of it): it runs
    /// at the join, beside helpers. Otherwise, with a worker idle, returns when the branch
    /// starts, to time it ([`Vm::time_branch`]).
    #[inline(never)]
    pub(super) fn put_off_branch(
        &mut self,
        f: &mut super::Frame<'a>,
        machine: MachineId,
    ) -> Result<(), Option<Instant>> {
        let Some(spread) = self.spread else { return Err(None) };
        let avg = spread.branch_nanos.get(machine.index()).map_or(0, |a| a.load(Ordering::Relaxed));
        if f.put_off.is_empty() {
            if spread.helpers.idle() == 0 {
                return Err(None);
            }
            if avg < HEAVY_NANOS {
                return Err(Some(Instant::now()));
            }
        }
        f.put_off.push(Deferred { machine, item: None, input: f.input, slot: f.sp, nanos: avg });
        f.push(Value::Null);
        Ok(())
    }

    /// A failure in a Map that has put items off (an ItemSelector of a later item, say): the
    /// put-off items come before it, so they run first, and the first of their failures, if
    /// any, is the Map's instead. A cancellation or time-out drops them.
    #[cold]
    pub(super) fn run_put_off_before(&mut self, f: &mut super::Frame<'a>, fault: Fault<'a>) -> Fault<'a> {
        let Some(lp) = f.map.as_mut() else { return fault };
        let Some(s) = lp.spread.take() else { return fault };
        if s.deferred.is_empty() || !matches!(fault.kind, FaultKind::Catchable | FaultKind::Terminal) {
            return fault;
        }
        let max_concurrency = lp.max_concurrency;
        match self.run_put_off(s.deferred, &mut lp.out, f.sc.vars, max_concurrency) {
            Ok(()) => fault,
            Err(first) => first,
        }
    }

    /// Notes the time of a branch run that started at `started`.
    #[inline(never)]
    pub(super) fn time_branch(&self, machine: MachineId, started: Instant) {
        if let Some(spread) = self.spread {
            spread.time_branch(machine, started.elapsed().as_nanos() as u64);
        }
    }

    /// Runs put-off Map items or Parallel branches (see the module documentation) and places
    /// their results in their slots of `out`; the first failing run's failure is the state's.
    pub(super) fn run_put_off(
        &mut self,
        deferred: Vec<Deferred<'a>>,
        out: &mut [Value<'a>],
        vars: &'a [Cell<JV<'a>>],
        max_concurrency: usize,
    ) -> Result<(), Fault<'a>> {
        let Some(spread) = self.spread else { return self.run_here(&deferred, out, vars) };
        let helpers = match max_concurrency {
            0 => usize::MAX,
            n => n - 1,
        }
        .min(spread.helpers.idle())
        .min(deferred.len().saturating_sub(1));
        if helpers == 0 || !self.worth_crossing(&deferred, vars, helpers) {
            return self.run_here(&deferred, out, vars);
        }
        // Only JSON crosses to a helper: with a function or a sequence in a variable, or an input
        // passed through unparsed, the runs stay here.
        let shared_vars: Option<Vec<Option<String>>> = vars
            .iter()
            .map(|c| match c.get() {
                JV::Undef => Some(None),
                JV::V(v) => Some(Some(to_json_string(&v))),
                JV::Seq(..) | JV::F(_) => None,
            })
            .collect();
        let passed_through = matches!(self.execution_input, Value::Str(s) if std::ptr::eq(s, crate::value::INPUT));
        let (Some(shared_vars), false) = (shared_vars, passed_through) else {
            return self.run_here(&deferred, out, vars);
        };
        let batch = Arc::new(ItemBatch {
            items: deferred
                .iter()
                .map(|d| OwnedItem {
                    machine: d.machine,
                    item: d.item.map(|i| (i.index, i.key.map(str::to_owned), to_json_string(&i.value))),
                    input: to_json_string(&d.input),
                })
                .collect(),
            vars: shared_vars,
            execution_input: to_json_string(&self.execution_input),
            start_millis: Some(self.start()),
            depth: self.depth,
            var_bytes: self.var_bytes,
            transitions: self.transitions,
            events: self.events,
            seed: self.rng.next_u64(),
            cancel: AtomicBool::new(false),
            claims: Mutex::new(Claims {
                next: 0,
                stop: false,
                running: 0,
                results: (0..deferred.len()).map(|_| None).collect(),
            }),
            finished: Condvar::new(),
        });
        for _ in 0..helpers {
            spread.helpers.spawn(spread.machine.helper_job(Arc::clone(&batch)));
        }
        // This worker takes runs too, in its own arena: no copies. Each with the transitions and
        // history events it added, which a run after the first failure must not leave counted.
        let mut here: Vec<(usize, Result<Value<'a>, Fault<'a>>, u64, u64)> = Vec::new();
        while let Some(k) = batch.claim(false) {
            let d = deferred[k];
            let (started, transitions, events) = (Instant::now(), self.transitions, self.events);
            let result = self.run_machine(d.machine, d.input, d.item, vars);
            if d.item.is_none() {
                spread.time_branch(d.machine, started.elapsed().as_nanos() as u64);
            }
            if result.is_err() {
                batch.claims().stop = true;
            }
            if self.cancelled() {
                batch.cancel.store(true, Ordering::Relaxed);
            }
            here.push((k, result, self.transitions - transitions, self.events - events));
        }
        let mut claims = batch.claims();
        while claims.running > 0 {
            if self.cancelled() {
                batch.cancel.store(true, Ordering::Relaxed);
            }
            claims =
                batch.finished.wait_timeout(claims, Duration::from_millis(20)).unwrap_or_else(|p| p.into_inner()).0;
        }
        let mut results = std::mem::take(&mut claims.results);
        drop(claims);
        // One after another, no run would have started after the first that failed: its
        // transitions and history events (a Map item's two iteration events, counted when it
        // was put off, too) are taken back.
        let failed_here = here.iter().filter(|(_, r, ..)| r.is_err()).map(|(k, ..)| *k);
        let failed_there = results.iter().enumerate().filter(|(_, r)| r.as_ref().is_some_and(|r| r.outcome.is_err()));
        let first_failure = failed_here.chain(failed_there.map(|(k, _)| k)).min().unwrap_or(usize::MAX);
        let mut placed: Vec<Option<Result<Value<'a>, Fault<'a>>>> = results.iter().map(|_| None).collect();
        for (k, r, transitions, events) in here {
            if k > first_failure {
                self.transitions -= transitions;
                self.events -= events;
            }
            placed[k] = Some(r);
        }
        let not_started = deferred.iter().skip(first_failure.saturating_add(1)).filter(|d| d.item.is_some());
        self.events -= 2 * not_started.count() as u64;
        for (k, r) in results.iter_mut().enumerate().take(first_failure.saturating_add(1)) {
            let Some(r) = r.take() else { continue };
            self.transitions += r.transitions;
            self.events += r.events;
            if deferred[k].item.is_none() {
                spread.time_branch(deferred[k].machine, r.nanos);
            }
            placed[k] = Some(match r.outcome {
                Ok(json) => parse_copy(self.arena, &json, self.parse).map_err(|e| self.read_back(&e.message)),
                Err((kind, error, cause, from_task)) => Err(Fault {
                    error: error.map(|e| &*self.arena.alloc_str(&e)),
                    cause: cause.map(|c| &*self.arena.alloc_str(&c)),
                    kind,
                    from_task,
                }),
            });
        }
        // Each run counted only from the state's own count: the sum may pass the cap that none
        // of them reached.
        if self.transitions > self.limits.max_transitions {
            // Counted as one after another would have stopped: at the first transition over.
            self.transitions = self.limits.max_transitions + 1;
            return Err(self.terminal("The execution reached the maximum number of state transitions."));
        }
        // In order: the first failure is the state's; runs after it that went do not matter.
        for (k, r) in placed.into_iter().enumerate() {
            match r {
                Some(Ok(v)) => out[deferred[k].slot] = v,
                Some(Err(fault)) => return Err(fault),
                None => {}
            }
        }
        Ok(())
    }

    /// Whether the runs are expected to take at least four times what handing them over costs:
    /// the execution's input and the variables to each helper, each run's input (and Map item)
    /// there and a result of the same size back, at [`CROSSING_NANOS_PER_BYTE`].
    fn worth_crossing(&self, deferred: &[Deferred<'a>], vars: &[Cell<JV<'a>>], helpers: usize) -> bool {
        let expected: u64 = deferred.iter().map(|d| d.nanos).fold(0, u64::saturating_add);
        let var_bytes: usize = vars.iter().filter_map(|c| c.get().to_value()).map(|v| json_len(&v)).sum();
        let shared = (json_len(&self.execution_input) + var_bytes) * helpers;
        let runs: usize =
            deferred.iter().map(|d| 2 * json_len(&d.input) + d.item.map_or(0, |i| json_len(&i.value))).sum();
        outweighs(expected, shared + runs)
    }

    /// JSON from another worker that does not parse (see [`unreadable_cause`]).
    #[cold]
    fn read_back(&self, why: &str) -> Fault<'a> {
        let cause = unreadable_cause(why);
        Fault {
            error: Some("States.Runtime"),
            cause: Some(self.arena.alloc_str(&cause)),
            kind: FaultKind::Terminal,
            from_task: false,
        }
    }

    /// Runs put-off runs on this worker, in order.
    fn run_here(
        &mut self,
        deferred: &[Deferred<'a>],
        out: &mut [Value<'a>],
        vars: &'a [Cell<JV<'a>>],
    ) -> Result<(), Fault<'a>> {
        for d in deferred {
            out[d.slot] = self.run_machine(d.machine, d.input, d.item, vars)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_maps_of_heavy_items_are_spread() {
        let us = Duration::from_micros;
        // 20,000 items of 0.12 µs: 2.4 ms in all, but each would cost more to hand over.
        assert_eq!(heavy_items(Duration::from_nanos(120 * 8), 8, 19_992), None);
        // 1,000 items of 2 µs: 2 ms, still too light each.
        assert_eq!(heavy_items(us(2 * 8), 8, 992), None);
        // 1,000 items of 10 µs.
        assert_eq!(heavy_items(us(10 * 8), 8, 992), Some(10_000));
        // 64 items of 39 µs.
        assert_eq!(heavy_items(us(39 * 4), 4, 60), Some(39_000));
        // Heavy items, but too few left to be worth it.
        assert_eq!(heavy_items(us(50 * 4), 4, 3), None);
        assert_eq!(heavy_items(us(1_000), 4, 1), None);
        assert_eq!(heavy_items(us(1_000), 0, 10), None);
    }

    #[test]
    fn runs_spread_only_when_they_outweigh_their_handing_over() {
        // Three items of 0.1 ms with a 250 KB execution input for one helper: 0.3 ms of work
        // against about 1 ms of JSON.
        assert!(!outweighs(300_000, 250_000));
        // The same with a small input.
        assert!(outweighs(300_000, 200));
        // 64 items of 39 µs, 30 bytes each way.
        assert!(outweighs(64 * 39_000, 64 * 60 + 200));
        assert!(!outweighs(0, 1));
    }
}
