//! The interpreter: runs a [`Program`] on one event, in one arena, to one outcome.
//!
//! One [`Vm`] exists per execution and borrows everything for the execution's lifetime `'a`:
//! the program, the bound handlers, the arena and the parsed event. Each machine run is a
//! [`Frame`] and a dispatch loop over the machine's ops. A state transition moves a 24-byte
//! [`Value`] from one register to the next; nothing is copied per state but the objects a
//! ResultPath or template actually builds, and those go into the arena.
//!
//! Failures are values: a [`Fault`] is routed by the state's Retry and Catch tables, unless it is
//! terminal (States.Runtime, States.DataLimitExceeded, the execution time-out), which no
//! catcher takes.

mod choice;
mod journal;
mod scratch;
mod spread;

pub(crate) use journal::{AtSite, Entry, Journal, Site, Suspension};
pub use scratch::Scratch;
pub(crate) use spread::{BatchRunner, HelperJob, Helpers, ItemBatch, Spread};

use crate::bytecode::*;
use crate::common::{system_millis, timestamp, Rng};
use crate::config::{Clock, Config, Identity, RuntimeLimits};
use crate::handler::{Bound, Called, TaskContext, TaskInfo};
use crate::intrinsics;
use crate::jsonata::JV;
use crate::path::{Path, Root};
use crate::value::{json_len, to_json_string, ArenaExt, Value};
use bumpalo::Bump;
use std::cell::Cell;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FaultKind {
    /// Goes through Retry and Catch.
    Catchable,
    /// States.Runtime, States.DataLimitExceeded: ends the execution.
    Terminal,
    /// The execution's time ran out.
    TimedOut,
    /// The execution was cancelled (status ABORTED).
    Aborted,
    /// The run stopped to wait without holding its worker (see [`Journal`]); the execution
    /// goes on in a later run.
    Suspended,
}

/// An ASL failure in flight.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fault<'a> {
    pub error: Option<&'a str>,
    pub cause: Option<&'a str>,
    pub kind: FaultKind,
    /// Raised by a Task (for `States.TaskFailed` matching).
    pub from_task: bool,
}

/// How long an execution may run: the machine's TimeoutSeconds within the Express cap.
pub(crate) fn execution_timeout_millis(program: &Program, limits: &RuntimeLimits) -> u64 {
    let cap = limits.max_execution_seconds;
    program.timeout_seconds.unwrap_or(cap).min(cap).saturating_mul(1000)
}

/// Per-state context: what `$$.State` and `$$.Map` show.
#[derive(Clone, Copy)]
pub(crate) struct StateCtx<'a> {
    /// The workflow variables this machine run sees (slot 0: `$states`).
    pub vars: &'a [Cell<JV<'a>>],
    pub name: &'a str,
    pub entered_event: u64,
    /// With a virtual clock, the virtual time elapsed when the state was entered; the clock is
    /// read only if `$$.State.EnteredTime` is.
    pub entered_virtual_millis: i64,
    pub retry_count: u32,
    pub item: Option<MapItem<'a>>,
}

#[derive(Clone, Copy)]
pub(crate) struct MapItem<'a> {
    pub index: usize,
    pub value: Value<'a>,
    pub key: Option<&'a str>,
}

/// An object's members.
type Members<'a> = &'a [(&'a str, Value<'a>)];

/// A Map state's iteration in progress.
struct MapLoop<'a> {
    values: &'a [Value<'a>],
    keys: Option<Members<'a>>,
    len: usize,
    next: usize,
    current: Option<MapItem<'a>>,
    out: bumpalo::collections::Vec<'a, Value<'a>>,
    failures: usize,
    tolerated_count: Option<f64>,
    tolerated_pct: Option<f64>,
    /// The ItemSelector object built for the first item (see [`Op::ItemObject`]).
    item_proto: Option<Members<'a>>,
    /// With a journal: the sequence number the Map took (its items' scopes derive from it),
    /// how many items stopped to wait in this run, and MaxConcurrency (0: no limit).
    instance: u32,
    suspended: usize,
    max_concurrency: usize,
    /// How many waits the run had asked for when the Map started.
    pending_mark: usize,
    /// Set when the Map's items may be spread over idle workers (see `spread.rs`).
    spread: Option<spread::MapSpread<'a>>,
}

/// Retriers whose attempts are counted without a heap allocation.
const INLINE_RETRIERS: usize = 8;

/// One run of one machine: registers, the template stack, and the current state.
struct Frame<'a> {
    acc: Value<'a>,
    raw: Value<'a>,
    eff: Value<'a>,
    res: Value<'a>,
    input: Value<'a>,
    err: Value<'a>,
    flag: bool,
    state: StateId,
    sc: StateCtx<'a>,
    /// The Map item this machine runs for, if it is a Map processor.
    outer_item: Option<MapItem<'a>>,
    /// The current Task/Parallel/Map attempt's first op, while one is running.
    attempt: Option<Pc>,
    retries: [u64; INLINE_RETRIERS],
    more_retries: Vec<u64>,
    map: Option<MapLoop<'a>>,
    /// A Parallel branch stopped to wait in this run (see `Op::JoinBranches`), and how many
    /// waits the run had asked for when the Parallel's first branch started.
    branches_suspended: bool,
    parallel_mark: Option<usize>,
    /// Heavy branches of the running Parallel, put off to its join (see `spread.rs`).
    put_off: Vec<spread::Deferred<'a>>,
    stack: &'a mut [Value<'a>],
    sp: usize,
}

impl<'a> Frame<'a> {
    #[inline]
    fn reg(&self, r: Reg) -> Value<'a> {
        match r {
            Reg::Acc => self.acc,
            Reg::Raw => self.raw,
            Reg::Eff => self.eff,
            Reg::Res => self.res,
            Reg::In => self.input,
            Reg::Err => self.err,
        }
    }

    #[inline]
    fn set(&mut self, r: Reg, v: Value<'a>) {
        match r {
            Reg::Acc => self.acc = v,
            Reg::Raw => self.raw = v,
            Reg::Eff => self.eff = v,
            Reg::Res => self.res = v,
            Reg::In => self.input = v,
            Reg::Err => self.err = v,
        }
    }

    #[inline]
    fn push(&mut self, v: Value<'a>) {
        // The verifier sized the stack for this machine's deepest template.
        self.stack[self.sp] = v;
        self.sp += 1;
    }

    #[inline]
    fn pop(&mut self) -> Value<'a> {
        self.sp -= 1;
        self.stack[self.sp]
    }

    /// Pops the top `len` values as the members named `names`, in order. The members are
    /// returned (a pair, in registers) so that the caller writes the object where it stays.
    #[inline]
    fn pop_object(&mut self, arena: &'a Bump, names: &'a [Box<str>], len: u16) -> Members<'a> {
        let base = self.sp - len as usize;
        let values = &self.stack[base..self.sp];
        // Indexing (not a zipped iterator) lets each member be written in place, without a stack
        // temporary that the store forwarding of the next load trips over.
        let members = arena.alloc_slice_fill_with(values.len(), |i| (&*names[i], values[i]));
        self.sp = base;
        members
    }

    fn retries_used(&mut self, i: usize) -> &mut u64 {
        if i < INLINE_RETRIERS {
            &mut self.retries[i]
        } else {
            let j = i - INLINE_RETRIERS;
            if self.more_retries.len() <= j {
                self.more_retries.resize(j + 1, 0);
            }
            &mut self.more_retries[j]
        }
    }
}

/// One execution.
pub(crate) struct Vm<'a> {
    pub arena: &'a Bump,
    pub program: &'a Program,
    pub handlers: &'a Bound,
    pub limits: RuntimeLimits,
    pub clock: Clock,
    pub identity: &'a Identity,
    pub rng: Rng,
    /// The history event count as AWS would number it ("entered at the event id #N").
    pub events: u64,
    pub transitions: u64,
    pub depth: u32,
    /// Read from the clock on first use.
    pub start_millis: Cell<Option<i64>>,
    /// Virtual time elapsed (virtual clocks only).
    pub virtual_elapsed_millis: i64,
    pub execution_input: Value<'a>,
    /// The `$$.Execution` object, built on first use.
    pub execution_ctx: Option<Value<'a>>,
    /// Bytes of JSON held in workflow variables (AWS caps it at 10 MiB per execution).
    pub var_bytes: usize,
    /// simd-json's buffers, free again once the event is parsed: States.StringToJson uses them.
    pub parse: &'a mut crate::value::ParseBuffers,
    /// Set from another thread to stop the execution (checked at each state and while waiting).
    pub cancel: Option<&'a std::sync::atomic::AtomicBool>,
    /// Set when the execution may suspend (run by a `Runtime`): the outcomes of earlier runs
    /// to replay, and where a suspension is recorded.
    pub journal: Option<&'a mut Journal>,
    /// Set when heavy Map items and Parallel branches may spread over the pool's idle workers.
    pub spread: Option<Spread<'a>>,
    /// What the arena held when the execution started (chunks kept from earlier executions),
    /// which [`RuntimeLimits::max_arena_bytes`] does not count.
    arena_base: usize,
    /// With a journal: the current machine run's scope and next sequence number (its sites).
    scope: u64,
    seq: u32,
}

impl<'a> Vm<'a> {
    pub fn new(
        arena: &'a Bump,
        program: &'a Program,
        handlers: &'a Bound,
        config: &'a Config,
        rng: Rng,
        input: Value<'a>,
        parse: &'a mut crate::value::ParseBuffers,
    ) -> Self {
        let (limits, clock, identity) = (config.limits, config.clock, &config.identity);
        // The start time is read from the clock only if something needs it.
        let start_millis = Cell::new(match clock {
            Clock::Virtual { start_millis: Some(s) } => Some(s),
            _ if program.needs_clock => Some(system_millis()),
            _ => None,
        });
        Vm {
            arena,
            program,
            handlers,
            limits,
            clock,
            identity,
            rng,
            events: 1, // ExecutionStarted
            transitions: 0,
            depth: 0,
            start_millis,
            virtual_elapsed_millis: 0,
            execution_input: input,
            execution_ctx: None,
            var_bytes: 0,
            parse,
            cancel: None,
            journal: None,
            spread: None,
            arena_base: arena.allocated_bytes(),
            scope: 0,
            seq: 0,
        }
    }

    fn start(&self) -> i64 {
        match self.start_millis.get() {
            Some(s) => s,
            None => {
                let s = system_millis();
                self.start_millis.set(Some(s));
                s
            }
        }
    }

    /// The time now. In a suspendable run on the system clock every reading is journaled at a
    /// site, and a replay reads it back: the run sees the times the run that went there saw,
    /// and takes the same path (a Timestamp Wait, `$now()` in a Choice, EnteredTime).
    fn now_millis(&mut self) -> i64 {
        match self.clock {
            Clock::System => match self.site() {
                None => system_millis(),
                Some(site) => match self.at(site) {
                    AtSite::Done(Entry::Clock(t)) => t,
                    _ => {
                        let t = system_millis();
                        if let Some(j) = self.journal.as_deref_mut() {
                            j.record(site, Entry::Clock(t));
                        }
                        t
                    }
                },
            },
            _ => self.start().saturating_add(self.virtual_elapsed_millis),
        }
    }

    /// The time around a synchronous handler's call, for its TimeoutSeconds: not journaled (the
    /// Task's outcome is), so a replay that stops at the Task consumes no site for it.
    fn handler_clock(&mut self) -> i64 {
        match self.clock {
            Clock::System => system_millis(),
            _ => self.now_millis(),
        }
    }

    /// Milliseconds since the execution started, never negative. The start is read first: a
    /// start read lazily after "now" once made this −1, a huge number as a `u64`, and so a
    /// false `States.Timeout` for an execution of microseconds.
    fn elapsed_millis(&mut self) -> u64 {
        let start = self.start();
        let now = self.now_millis();
        u64::try_from(now.saturating_sub(start)).unwrap_or(0)
    }

    /// Waits `millis`, or fails with a time-out if the execution's time would run out first.
    fn sleep(&mut self, millis: u64, is_retry: bool) -> Result<(), Fault<'a>> {
        if self.clock == Clock::ZeroDelay && is_retry {
            return Ok(());
        }
        // The clock is read before the wait's own site, as in the run that journaled it: a replay
        // consumes the same sites in the same order (see `now_millis`).
        let budget = self.timeout_millis().saturating_sub(self.elapsed_millis());
        let site = if self.clock == Clock::System && millis > 0 { self.site() } else { None };
        if let Some(site) = site {
            match self.at(site) {
                // A wait this execution has already done, in a run before this one.
                AtSite::Done(_) => return Ok(()),
                AtSite::Waiting => return Err(self.suspended()),
                AtSite::New => {}
            }
        }
        if millis > budget {
            return Err(self.timed_out());
        }
        match self.clock {
            Clock::System if site.is_some() => {
                return Err(self.suspend(site, Suspension::Sleep { millis }));
            }
            Clock::System => {
                // In slices, so that a cancellation ends the wait within one slice.
                const SLICE_MS: u64 = 20;
                let mut left = millis;
                while left > 0 {
                    if self.cancelled() {
                        return Err(self.aborted());
                    }
                    let step = left.min(SLICE_MS);
                    std::thread::sleep(std::time::Duration::from_millis(step));
                    left -= step;
                }
            }
            _ => {
                let millis = i64::try_from(millis).unwrap_or(i64::MAX);
                self.virtual_elapsed_millis = self.virtual_elapsed_millis.saturating_add(millis);
            }
        }
        Ok(())
    }

    /// The next site of the current machine run, when the execution may suspend (see
    /// [`Journal`]); `None` otherwise.
    #[inline]
    fn site(&mut self) -> Option<Site> {
        self.journal.as_ref()?;
        let site = (self.scope, self.seq);
        self.seq += 1;
        Some(site)
    }

    /// What the journal has for `site`.
    fn at(&self, site: Site) -> AtSite {
        self.journal.as_deref().map_or(AtSite::New, |j| j.at(site))
    }

    /// Stops the run at `site` to wait for `s` (see [`Journal`]).
    #[cold]
    fn suspend(&mut self, site: Option<Site>, s: Suspension) -> Fault<'a> {
        if let (Some(j), Some(site)) = (self.journal.as_deref_mut(), site) {
            j.suspend(site, s);
        }
        self.suspended()
    }

    /// The run stops: something it needs is still being waited for.
    #[cold]
    fn suspended(&mut self) -> Fault<'a> {
        Fault { error: None, cause: None, kind: FaultKind::Suspended, from_task: false }
    }

    /// The waits asked for so far in this run (see [`Journal::drop_pending_since`]).
    fn pending_mark(&self) -> usize {
        self.journal.as_deref().map_or(0, Journal::pending_mark)
    }

    fn drop_pending_since(&mut self, mark: usize) {
        if let Some(j) = self.journal.as_deref_mut() {
            j.drop_pending_since(mark);
        }
    }

    /// Enters the scope of Parallel branch or Map item `index` of the Parallel or Map state that
    /// took sequence number `instance`: its own sites and, for replay, its own random source.
    /// Returns what [`Vm::leave_scope`] restores.
    fn enter_scope(&mut self, instance: u32, index: usize) -> Option<(u64, u32, Rng)> {
        let seed = self.journal.as_ref()?.seed;
        let scope = journal::child_scope(self.scope, instance, index);
        let saved = (self.scope, self.seq, std::mem::replace(&mut self.rng, Rng::seeded(seed ^ scope)));
        self.scope = scope;
        self.seq = 0;
        Some(saved)
    }

    fn leave_scope(&mut self, saved: Option<(u64, u32, Rng)>) {
        if let Some((scope, seq, rng)) = saved {
            self.scope = scope;
            self.seq = seq;
            self.rng = rng;
        }
    }

    #[inline]
    fn cancelled(&self) -> bool {
        self.cancel.is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed))
    }

    #[cold]
    #[inline(never)]
    fn aborted(&self) -> Fault<'a> {
        Fault { error: None, cause: None, kind: FaultKind::Aborted, from_task: false }
    }

    fn timeout_millis(&self) -> u64 {
        execution_timeout_millis(self.program, &self.limits)
    }

    #[cold]
    #[inline(never)]
    fn timed_out(&self) -> Fault<'a> {
        Fault {
            error: Some("States.Timeout"),
            cause: Some("The execution timed out."),
            kind: FaultKind::TimedOut,
            from_task: false,
        }
    }

    /// A `States.Runtime` failure with AWS's prefix naming the state and its entered event.
    #[cold]
    #[inline(never)]
    pub(crate) fn runtime(&self, sc: &StateCtx<'a>, message: String) -> Fault<'a> {
        let cause = format!(
            "An error occurred while executing the state '{}' (entered at the event id #{}). {message}",
            sc.name, sc.entered_event
        );
        Fault {
            error: Some("States.Runtime"),
            cause: Some(self.arena.alloc_str(&cause)),
            kind: FaultKind::Terminal,
            from_task: false,
        }
    }

    /// A template member's path selects nothing.
    #[cold]
    #[inline(never)]
    fn field_not_found(&self, sc: &StateCtx<'a>, p: &Path, field: &str, input: Value<'a>) -> Fault<'a> {
        self.runtime(
            sc,
            format!(
                "The JSONPath '{}' specified for the field '{field}' could not be found in the input '{}'",
                p.text,
                to_json_string(&input)
            ),
        )
    }

    /// An intrinsic's path argument selects nothing.
    #[cold]
    #[inline(never)]
    fn arg_not_found(&self, sc: &StateCtx<'a>, call: &intrinsics::Call, p: &Path, input: Value<'a>) -> Fault<'a> {
        self.runtime(
            sc,
            format!(
                "The function '{}' had the following error: The JsonPath argument for the field '{}' could not be found in the input '{}'",
                call.text,
                p.text,
                to_json_string(&input)
            ),
        )
    }

    #[cold]
    #[inline(never)]
    fn data_limit(&self, sc: &StateCtx<'a>) -> Fault<'a> {
        let cause = format!(
            "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
            sc.name
        );
        Fault {
            error: Some("States.DataLimitExceeded"),
            cause: Some(self.arena.alloc_str(&cause)),
            kind: FaultKind::Terminal,
            from_task: false,
        }
    }

    #[cold]
    #[inline(never)]
    fn arena_full(&self) -> Fault<'a> {
        let cause = format!(
            "The execution's values take more than {} bytes of memory (RuntimeLimits::max_arena_bytes).",
            self.limits.max_arena_bytes
        );
        Fault {
            error: Some("States.DataLimitExceeded"),
            cause: Some(self.arena.alloc_str(&cause)),
            kind: FaultKind::Terminal,
            from_task: false,
        }
    }

    #[cold]
    #[inline(never)]
    fn catchable(&self, error: &str, cause: String) -> Fault<'a> {
        Fault {
            error: Some(self.arena.alloc_str(error)),
            cause: Some(self.arena.alloc_str(&cause)),
            kind: FaultKind::Catchable,
            from_task: false,
        }
    }

    #[cold]
    #[inline(never)]
    fn terminal(&self, message: &'static str) -> Fault<'a> {
        Fault { error: Some("States.Runtime"), cause: Some(message), kind: FaultKind::Terminal, from_task: false }
    }

    /// Runs the top-level machine.
    pub fn run(&mut self, input: Value<'a>) -> Result<Value<'a>, Fault<'a>> {
        let vars = self.arena.alloc_slice_fill_with(self.program.variables.len().max(1), |_| Cell::new(JV::Undef));
        self.run_machine(Program::ROOT, input, None, vars)
    }

    /// Runs a machine. `outer` are the variables of the calling scope: a Parallel branch or Map
    /// iteration reads them, and its own assignments stay in its own copy.
    fn run_machine(
        &mut self,
        id: MachineId,
        input: Value<'a>,
        item: Option<MapItem<'a>>,
        outer: &'a [Cell<JV<'a>>],
    ) -> Result<Value<'a>, Fault<'a>> {
        if self.depth >= self.limits.max_depth {
            return Err(self.terminal("The execution exceeded the maximum nesting depth of Parallel and Map states."));
        }
        self.depth += 1;
        let vars: &'a [Cell<JV<'a>>] = if id == Program::ROOT {
            outer
        } else {
            self.arena.alloc_slice_fill_iter(outer.iter().map(|c| Cell::new(c.get())))
        };
        // A branch's or iteration's own variables end with it.
        let var_bytes = self.var_bytes;
        let result = self.dispatch(id, input, item, vars);
        if id != Program::ROOT {
            self.var_bytes = var_bytes;
        }
        self.depth -= 1;
        result
    }

    /// The dispatch loop of one machine run.
    fn dispatch(
        &mut self,
        id: MachineId,
        input: Value<'a>,
        item: Option<MapItem<'a>>,
        vars: &'a [Cell<JV<'a>>],
    ) -> Result<Value<'a>, Fault<'a>> {
        let program: &'a Program = self.program;
        let machine = program.machine(id);
        let code: &'a [Op] = &machine.code;
        let arena = self.arena;
        let mut f = Frame {
            acc: input,
            raw: input,
            eff: input,
            res: input,
            input,
            err: Value::Null,
            flag: false,
            state: StateId(0),
            sc: StateCtx { vars, name: "", entered_event: 0, entered_virtual_millis: 0, retry_count: 0, item },
            outer_item: item,
            attempt: None,
            retries: [0; INLINE_RETRIERS],
            more_retries: Vec::new(),
            map: None,
            branches_suspended: false,
            parallel_mark: None,
            put_off: Vec::new(),
            stack: arena.alloc_slice_fill_copy(machine.max_stack as usize, Value::Null),
            sp: 0,
        };
        let mut pc = 0usize;
        // `tri!` routes a failure through the current state's Retry/Catch tables and goes on at
        // the op they name; an unhandled failure ends this machine run.
        macro_rules! tri {
            ($e:expr) => {
                match $e {
                    Ok(v) => v,
                    Err(fault) => {
                        pc = self.route(&mut f, machine, fault)?.index();
                        continue;
                    }
                }
            };
        }
        loop {
            let op = code[pc];
            pc += 1;
            match op {
                Op::Enter(s) => {
                    self.transitions += 1;
                    if self.transitions > self.limits.max_transitions {
                        return Err(self.terminal("The execution reached the maximum number of state transitions."));
                    }
                    if self.cancelled() {
                        return Err(self.aborted());
                    }
                    if arena.allocated_bytes().saturating_sub(self.arena_base) > self.limits.max_arena_bytes {
                        return Err(self.arena_full());
                    }
                    if self.clock == Clock::System
                        && self.transitions.is_multiple_of(1024)
                        && self.elapsed_millis() > self.timeout_millis()
                    {
                        return Err(self.timed_out());
                    }
                    self.events += 1;
                    f.state = s;
                    f.sc = StateCtx {
                        vars,
                        name: &machine.state(s).name,
                        entered_event: self.events,
                        entered_virtual_millis: self.virtual_elapsed_millis,
                        retry_count: 0,
                        item: f.outer_item,
                    };
                    f.raw = f.acc;
                    f.eff = f.acc;
                    f.attempt = None;
                    if !machine.state(s).retry.is_empty() {
                        f.retries = [0; INLINE_RETRIERS];
                        f.more_retries.clear();
                    }
                }
                Op::InputPath(p) => f.eff = tri!(self.select(&program.paths[p.index()], f.raw, &f.sc)),
                Op::InputNull => f.eff = Value::EMPTY_OBJECT,
                Op::PushConst(c) => {
                    program.consts[c.index()].materialize_into(&mut f.stack[f.sp], arena);
                    f.sp += 1;
                }
                Op::PushReg(r) => f.push(f.reg(r)),
                Op::PushPath { path, root, field } => {
                    let p = &program.paths[path.index()];
                    let from = f.reg(root);
                    let v = tri!(self.eval_path(p, from, &f.sc).ok_or_else(|| self.field_not_found(
                        &f.sc,
                        p,
                        &program.strings[field.index()],
                        from
                    )));
                    f.push(v);
                }
                Op::PushArg { path, root, call } => {
                    let p = &program.paths[path.index()];
                    let from = f.reg(root);
                    let v = tri!(self.eval_path(p, from, &f.sc).ok_or_else(|| self.arg_not_found(
                        &f.sc,
                        &program.calls[call.index()],
                        p,
                        from
                    )));
                    f.push(v);
                }
                Op::Apply(c) => {
                    let call = &program.calls[c.index()];
                    let base = f.sp - call.args.len();
                    let mut env = intrinsics::Env { arena, rng: &mut self.rng, parse: self.parse };
                    let result = call.apply(&mut env, &f.stack[base..f.sp]);
                    f.sp = base;
                    let v = tri!(result.map_err(|failure| self.intrinsic_fault(&f.sc, call, failure)));
                    f.push(v);
                }
                Op::MakeObject { keys, len } => {
                    let members = f.pop_object(arena, &program.keys[keys.index()], len);
                    f.push(Value::Object(members));
                }
                Op::Object { id, root, to } => {
                    let members = tri!(self.flat_object(&program.objects[id.index()], f.reg(root), &f.sc, None));
                    match to {
                        Some(r) => f.set(r, Value::Object(members)),
                        None => f.push(Value::Object(members)),
                    }
                }
                Op::ItemObject(id) => {
                    let proto = f.map.as_ref().and_then(|lp| lp.item_proto);
                    let members = tri!(self.flat_object(&program.objects[id.index()], f.eff, &f.sc, proto));
                    if let Some(lp) = f.map.as_mut() {
                        lp.item_proto = lp.item_proto.or(Some(members));
                    }
                    f.push(Value::Object(members));
                }
                Op::MakeObjectTo { keys, len, to } => {
                    let members = f.pop_object(arena, &program.keys[keys.index()], len);
                    f.set(to, Value::Object(members));
                }
                Op::MakeArray(n) => {
                    let base = f.sp - n as usize;
                    let items = arena.alloc_slice_copy(&f.stack[base..f.sp]);
                    f.sp = base;
                    f.push(Value::Array(items));
                }
                Op::Pop(r) => {
                    let v = f.pop();
                    f.set(r, v);
                }
                Op::Move { to, from } => f.set(to, f.reg(from)),
                Op::ResultPath(r) => {
                    let rp = &program.ref_paths[r.index()];
                    f.acc = tri!(self.place(rp, f.raw, f.res));
                }
                Op::ResultOutput(r) => {
                    f.acc = match f.raw {
                        Value::Object(_) | Value::Null => f.res,
                        raw => tri!(self.place(&program.ref_paths[r.index()], raw, f.res)),
                    }
                }
                Op::ResultWhole => f.acc = f.res,
                Op::ResultDiscard => f.acc = f.raw,
                Op::OutputPath(p) => f.acc = tri!(self.select(&program.paths[p.index()], f.acc, &f.sc)),
                Op::OutputNull => f.acc = Value::EMPTY_OBJECT,
                Op::Exit => self.events += 1,
                Op::Events(n) => self.events += n as u64,
                Op::Jump(t) => pc = t.index(),
                Op::End => return Ok(f.acc),
                Op::Choose(c) => pc += tri!(self.choose(&program.choices[c.index()], f.eff, &f.sc)),
                Op::ChoiceOut(t) => {
                    f.acc = f.eff;
                    self.events += 1;
                    pc = t.index();
                }
                Op::JumpIfNot(t) => {
                    if !f.flag {
                        pc = t.index();
                    }
                }
                Op::NoChoice => {
                    // AWS reports a Choice without a match as States.Runtime, not the
                    // States.NoChoiceMatched that the States Language specification names.
                    tri!(Err(self.runtime(
                        &f.sc,
                        "Failed to transition out of the state. The state does not point to a next state.".into()
                    )))
                }
                Op::Wait(w) => {
                    let millis = tri!(self.wait_millis(&program.waits[w.index()], f.eff, &f.sc));
                    tri!(self.sleep(millis, false));
                }
                Op::Fail(id) => {
                    let spec = &program.fails[id.index()];
                    let error = tri!(self.fail_field(spec.error.as_ref(), "ErrorPath", f.raw, &f.sc));
                    let cause = tri!(self.fail_field(spec.cause.as_ref(), "CausePath", f.raw, &f.sc));
                    tri!(Err(Fault { error, cause, kind: FaultKind::Catchable, from_task: false }))
                }
                Op::Attempt => f.attempt = Some(Pc(pc as u32 - 1)),
                Op::EndAttempt => f.attempt = None,
                Op::Invoke(r) => {
                    self.events += 2; // TaskScheduled, TaskStarted
                    let info = machine.state(f.state);
                    let result = self.task(r, info.timeout.as_ref(), info.heartbeat.as_ref(), f.input, &f.sc);
                    self.events += 1; // TaskSucceeded / TaskFailed
                    f.res = tri!(result);
                }
                Op::Branch(m) => {
                    // A heavy branch is put off to the join, where it runs beside helpers.
                    let timer = match self.spread.is_some() {
                        true => match self.put_off_branch(&mut f, m) {
                            Ok(()) => continue,
                            Err(timer) => timer,
                        },
                        false => None,
                    };
                    let mark = *f.parallel_mark.get_or_insert(self.pending_mark());
                    let instance = self.site().map_or(0, |s| s.1);
                    let saved = self.enter_scope(instance, 0);
                    let outcome = self.run_machine(m, f.input, None, vars);
                    self.leave_scope(saved);
                    if let Some(started) = timer {
                        self.time_branch(m, started);
                    }
                    match outcome {
                        Ok(v) => f.push(v),
                        // The other branches go on; the Parallel stops at `JoinBranches`.
                        Err(fault) if fault.kind == FaultKind::Suspended => {
                            f.branches_suspended = true;
                            f.push(Value::Null);
                        }
                        Err(fault) => {
                            // The Parallel fails: it waits for none of its branches.
                            self.drop_pending_since(mark);
                            f.branches_suspended = false;
                            f.parallel_mark = None;
                            tri!(Err(fault))
                        }
                    }
                }
                Op::JoinBranches => {
                    f.parallel_mark = None;
                    if std::mem::take(&mut f.branches_suspended) {
                        tri!(Err(self.suspended()))
                    }
                    if !f.put_off.is_empty() {
                        let deferred = std::mem::take(&mut f.put_off);
                        tri!(self.run_put_off(deferred, &mut *f.stack, vars, 0));
                    }
                }
                Op::MapBegin(m) => {
                    let spec = &program.maps[m.index()];
                    let items = if spec.items_on_stack { Some(f.pop()) } else { None };
                    f.map = Some(tri!(self.map_begin(spec, f.eff, items, &f.sc)));
                    self.events += 1; // MapStateStarted
                }
                Op::MapNext(done) => {
                    let lp = f.map.as_mut().expect("MapNext follows MapBegin (verified)");
                    // With MaxConcurrency items waiting, no further item starts in this run.
                    if lp.next >= lp.len || (lp.max_concurrency > 0 && lp.suspended >= lp.max_concurrency) {
                        pc = done.index();
                    } else {
                        let i = lp.next;
                        let (key, value) = match lp.keys {
                            Some(members) => (Some(members[i].0), members[i].1),
                            None => (None, lp.values[i]),
                        };
                        let item = MapItem { index: i, value, key };
                        lp.current = Some(item);
                        lp.next += 1;
                        f.sc.item = Some(item);
                    }
                }
                Op::PushItem => {
                    let v = f.map.as_ref().and_then(|lp| lp.current).map_or(Value::Null, |i| i.value);
                    f.push(v);
                }
                Op::MapRun(processor) => {
                    let input = f.pop();
                    let item = f.map.as_ref().and_then(|lp| lp.current);
                    self.events += 1; // MapIterationStarted
                    if f.map.as_ref().is_some_and(|lp| lp.spread.is_some())
                        && self.put_off_item(&mut f, processor, input)
                    {
                        self.events += 1; // MapIterationSucceeded / MapIterationFailed
                        continue;
                    }
                    let instance = f.map.as_ref().map_or(0, |lp| lp.instance);
                    let saved = self.enter_scope(instance, item.map_or(0, |i| i.index));
                    let outcome = self.run_machine(processor, input, item, vars);
                    self.leave_scope(saved);
                    self.events += 1; // MapIterationSucceeded / MapIterationFailed
                    let lp = f.map.as_mut().expect("MapRun follows MapBegin (verified)");
                    match outcome {
                        Ok(v) => lp.out.push(v),
                        // The other items go on; the Map stops at `MapEnd`.
                        Err(fault) if fault.kind == FaultKind::Suspended => {
                            lp.suspended += 1;
                            lp.out.push(Value::Null);
                        }
                        Err(fault)
                            if fault.kind == FaultKind::Catchable
                                && (lp.tolerated_count.is_some() || lp.tolerated_pct.is_some()) =>
                        {
                            lp.failures += 1;
                            let failures = lp.failures as f64;
                            let over_count = lp.tolerated_count.is_none_or(|c| failures > c);
                            let over_pct = lp.tolerated_pct.is_none_or(|p| failures * 100.0 / lp.len as f64 > p);
                            lp.out.push(Value::Null);
                            if over_count && over_pct {
                                let mark = lp.pending_mark;
                                self.drop_pending_since(mark);
                                tri!(Err(self.catchable(
                                    "States.ExceedToleratedFailureThreshold",
                                    "The specified tolerated failure threshold was exceeded".into()
                                )))
                            }
                        }
                        Err(fault) => {
                            // The Map fails: it waits for none of its items.
                            let mark = lp.pending_mark;
                            self.drop_pending_since(mark);
                            tri!(Err(fault))
                        }
                    }
                }
                Op::PushJT(t) => {
                    let v = tri!(self.jt_value(&program.jtemplates[t.index()], &f.sc));
                    f.push(v);
                }
                Op::TestJ(t) => {
                    let jt = &program.jtemplates[t.index()];
                    f.flag = match tri!(self.jt_value(jt, &f.sc)) {
                        Value::Bool(b) => b,
                        other => tri!(Err(self.unexpected_type(&f.sc, jt, "boolean", other))),
                    };
                }
                Op::SetStates(flags) => {
                    let a = arena;
                    let fields: [(&str, Option<Value<'a>>); 4] = [
                        ("input", Some(f.raw)),
                        ("result", (flags & STATES_RESULT != 0).then_some(f.res)),
                        ("errorOutput", (flags & STATES_ERROR != 0).then_some(f.err)),
                        ("context", if flags & STATES_CONTEXT != 0 { Some(self.context(&f.sc)) } else { None }),
                    ];
                    let states = a.object(fields.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
                    vars[0].set(JV::V(states));
                }
                Op::Assign(id) => {
                    let spec = &program.assigns[id.index()];
                    let base = f.sp - spec.slots.len();
                    let values = &f.stack[base..f.sp];
                    tri!(self.assign(spec, values, vars, &f.sc));
                    f.sp = base;
                }
                Op::MapEnd => {
                    let mut lp = f.map.take().expect("MapEnd follows MapBegin (verified)");
                    if lp.suspended > 0 {
                        tri!(Err(self.suspended()))
                    }
                    if let Some(s) = lp.spread.take() {
                        let max_concurrency = lp.max_concurrency;
                        tri!(self.run_put_off(s.deferred, &mut lp.out, vars, max_concurrency));
                    }
                    f.res = Value::Array(lp.out.into_bump_slice());
                    f.sc.item = f.outer_item;
                    self.events += 1; // MapStateSucceeded
                }
            }
        }
    }

    /// Routes a failure raised in the current state: a retry (back to the attempt's start), a
    /// catcher (on to its state), or up to the caller. Only failures inside an attempt of a Task,
    /// Parallel or Map are routed, and never terminal ones.
    #[cold]
    fn route(&mut self, f: &mut Frame<'a>, machine: &'a MachineCode, fault: Fault<'a>) -> Result<Pc, Fault<'a>> {
        // Map items put off to the Map's end run before anything after them could fail: a
        // failure of theirs comes first.
        let fault = match f.map.as_ref().is_some_and(|lp| lp.spread.is_some()) {
            true => self.run_put_off_before(f, fault),
            false => fault,
        };
        let Some(attempt) = f.attempt else { return Err(fault) };
        if fault.kind != FaultKind::Catchable {
            return Err(fault);
        }
        let info = machine.state(f.state);
        let name = fault.error.unwrap_or("");
        f.sp = 0;
        f.map = None;
        f.put_off.clear();
        f.sc.item = f.outer_item;
        if let Some(i) = info.retry.iter().position(|r| r.errors.matches(name, fault.from_task)) {
            let r = &info.retry[i];
            let used = *f.retries_used(i);
            if used < r.max_attempts {
                let delay = retry_delay(r, used, &mut self.rng);
                *f.retries_used(i) += 1;
                self.sleep(delay, true)?;
                f.sc.retry_count += 1;
                return Ok(attempt);
            }
        }
        let Some(c) = info.catch.iter().find(|c| c.errors.matches(name, fault.from_task)) else {
            return Err(fault);
        };
        // The landing pad makes the output from the error output.
        f.err = self.arena.object([
            ("Error", Value::Str(fault.error.unwrap_or(""))),
            ("Cause", Value::Str(fault.cause.unwrap_or(""))),
        ]);
        f.attempt = None;
        Ok(c.next)
    }

    fn task(
        &mut self,
        resource: ResourceId,
        timeout: Option<&'a Seconds>,
        heartbeat: Option<&'a Seconds>,
        input: Value<'a>,
        sc: &StateCtx<'a>,
    ) -> Result<Value<'a>, Fault<'a>> {
        // Everything that may consume a site (an expression reading the clock) comes before the
        // Task's own site, so that a replay, which stops at that site, consumes the same ones.
        let timeout_secs = self.seconds("TimeoutSeconds", timeout, input, sc)?;
        let heartbeat_secs = self.seconds("HeartbeatSeconds", heartbeat, input, sc)?;
        let site = self.site();
        if let Some(site) = site {
            match self.at(site) {
                // A Task this execution ran before a suspension: its journaled outcome.
                AtSite::Done(entry) => return self.replayed_task(entry, sc),
                AtSite::Waiting => return Err(self.suspended()),
                AtSite::New => {}
            }
        }
        let name: &'a str = &self.program.resources[resource.index()];
        let ctx = TaskContext { arena: self.arena, resource: name, state: sc.name, retry_count: sc.retry_count };
        let started = self.handler_clock();
        let called = match self.handlers.invoke(resource, input, &ctx) {
            Called::Done(r) => r,
            Called::Async { handler, payload, lambda } => {
                let info =
                    TaskInfo { resource: name.to_owned(), state: sc.name.to_owned(), retry_count: sc.retry_count };
                let timeout = timeout_secs.map(|s| s.saturating_mul(1000));
                if site.is_some() {
                    let input = payload.to_serde();
                    return Err(self.suspend(site, Suspension::Task { handler, input, info, timeout, lambda }));
                }
                // Not run by a Runtime: the calling thread waits for the future.
                let r = crate::handler::start_async(handler.as_ref(), payload.to_serde(), info)
                    .and_then(|fut| crate::handler::block_on_task(fut, timeout, name));
                let r = r.map(|v| crate::handler::copy_serde(&v, self.arena));
                if lambda {
                    r.map(|v| crate::handler::lambda_result(self.arena, v))
                } else {
                    r
                }
            }
        };
        let result = match called {
            Ok(v) => v,
            Err(e) => return self.journaled(site, Err(self.task_fault(&e.error, e.cause.as_deref()))),
        };
        // A synchronous handler cannot be stopped while it runs, so its limits are checked when it
        // returns: longer than TimeoutSeconds is States.Timeout; longer than HeartbeatSeconds is
        // States.HeartbeatTimeout, since it sent no heartbeat meanwhile.
        let elapsed = u64::try_from(self.handler_clock().saturating_sub(started)).unwrap_or(0);
        for (secs, error) in [(timeout_secs, "States.Timeout"), (heartbeat_secs, "States.HeartbeatTimeout")] {
            if secs.is_some_and(|s| elapsed > s.saturating_mul(1000)) {
                let fault = Fault { error: Some(error), cause: None, kind: FaultKind::Catchable, from_task: true };
                return self.journaled(site, Err(fault));
            }
        }
        // Journaled before the size check (which a replay repeats), so that a run repeated for
        // a sibling's sake never calls the handler again.
        let result = self.journaled(site, Ok(result))?;
        if json_len(&result) > self.limits.payload_bytes() {
            return Err(self.data_limit(sc));
        }
        Ok(result)
    }

    /// TimeoutSeconds or HeartbeatSeconds, as a literal, a path or a JSONata expression.
    fn seconds(
        &mut self,
        field: &str,
        limit: Option<&'a Seconds>,
        input: Value<'a>,
        sc: &StateCtx<'a>,
    ) -> Result<Option<u64>, Fault<'a>> {
        Ok(match limit {
            None => None,
            Some(Source::Literal(s)) => Some(*s),
            // As a Map's settings: a long, or a string holding one; a missing value fails as a
            // missing ItemsPath does.
            Some(Source::Path(p)) => match self.eval_path(self.program.path(*p), input, sc) {
                None => {
                    let p = self.program.path(*p);
                    return Err(self.runtime(sc, format!("Invalid path '{}' : {}", p.text, p.not_found_message(input))));
                }
                Some(v) => match long_of(v) {
                    Some(n) => Some(n.max(0) as u64),
                    None => return Err(self.not_a_number(sc, field, "integer", Some(v), self.program.path(*p))),
                },
            },
            Some(Source::Jsonata(t)) => match self.jt_value(self.program.jt(*t), sc)? {
                v if v.as_integer().is_some_and(|i| i > 0) => v.as_integer().map(|i| i as u64),
                other => return Err(self.unexpected_type(sc, self.program.jt(*t), "number", other)),
            },
        })
    }

    /// A `…Path` field whose value is not a number of its kind (`integer` or `float`), as AWS
    /// words it; a missing value shows as `null`.
    #[cold]
    #[inline(never)]
    fn not_a_number(&self, sc: &StateCtx<'a>, field: &str, kind: &str, v: Option<Value<'a>>, p: &Path) -> Fault<'a> {
        let shown = match v {
            Some(Value::Str(s)) => s.to_owned(),
            Some(other) => to_json_string(&other),
            None => "null".into(),
        };
        self.runtime(
            sc,
            format!("The {field}Path field refers to value \"{shown}\" which is not a valid {kind}: {}", p.text),
        )
    }

    /// A Task's failure as Retry and Catch see it.
    fn task_fault(&self, error: &str, cause: Option<&str>) -> Fault<'a> {
        Fault {
            error: Some(self.arena.alloc_str(error)),
            cause: cause.map(|c| &*self.arena.alloc_str(c)),
            kind: FaultKind::Catchable,
            from_task: true,
        }
    }

    /// Journals a Task's outcome when the execution may suspend later, so that a later run
    /// replays it instead of calling the handler again.
    fn journaled(&mut self, site: Option<Site>, r: Result<Value<'a>, Fault<'a>>) -> Result<Value<'a>, Fault<'a>> {
        if let (Some(j), Some(site)) = (self.journal.as_deref_mut(), site) {
            let result = match &r {
                Ok(v) => Ok(to_json_string(v)),
                Err(f) => Err((f.error.unwrap_or_default().to_owned(), f.cause.map(str::to_owned))),
            };
            j.record(site, Entry::Task { result, lambda: false });
        }
        r
    }

    /// A Task outcome from the journal: parsed into this run's arena.
    fn replayed_task(&mut self, entry: Entry, sc: &StateCtx<'a>) -> Result<Value<'a>, Fault<'a>> {
        let (result, lambda) = match entry {
            Entry::Task { result, lambda } => (result, lambda),
            Entry::TimedOut => return Err(self.timed_out()),
            Entry::Waited | Entry::Clock(_) => {
                return Err(self.runtime(sc, "internal error: the journal does not match the run".into()))
            }
        };
        match result {
            Err((error, cause)) => Err(self.task_fault(&error, cause.as_deref())),
            Ok(json) => {
                if json.len() > self.limits.max_payload_bytes {
                    return Err(self.data_limit(sc));
                }
                let v = crate::value::parse_copy(self.arena, &json, self.parse)
                    .map_err(|e| self.runtime(sc, format!("internal error: a journaled result is not JSON: {e}")))?;
                Ok(if lambda { crate::handler::lambda_result(self.arena, v) } else { v })
            }
        }
    }

    fn map_begin(
        &mut self,
        m: &'a MapSpec,
        eff: Value<'a>,
        given: Option<Value<'a>>,
        sc: &StateCtx<'a>,
    ) -> Result<MapLoop<'a>, Fault<'a>> {
        let items = match (given, m.items_path) {
            (Some(v), _) => {
                if let (Some(jt), false) = (m.items_jt, matches!(v, Value::Array(_) | Value::Object(_))) {
                    return Err(self.unexpected_type(sc, &self.program.jtemplates[jt.index()], "array", v));
                }
                v
            }
            (None, Some(p)) => {
                let p = self.program.path(p);
                match self.eval_path(p, eff, sc) {
                    Some(v) => v,
                    None => {
                        return Err(
                            self.runtime(sc, format!("Invalid path '{}' : {}", p.text, p.not_found_message(eff)))
                        )
                    }
                }
            }
            (None, None) => eff,
        };
        let max_concurrency = self.setting(Setting::MaxConcurrency, m.max_concurrency.as_ref(), eff, sc)?;
        let (values, keys): (&'a [Value<'a>], Option<Members<'a>>) = match items {
            Value::Array(a) => (a, None),
            Value::Object(o) => (&[], Some(o)),
            other => {
                return Err(self.runtime(
                    sc,
                    format!("Items of a Map state must be a JSON array or object, but got {}", to_json_string(&other)),
                ))
            }
        };
        let len = keys.map_or(values.len(), <[_]>::len);
        let instance = self.site().map_or(0, |s| s.1);
        let tolerated_count =
            self.setting(Setting::ToleratedFailureCount, m.tolerated_failure_count.as_ref(), eff, sc)?;
        let tolerated_pct =
            self.setting(Setting::ToleratedFailurePercentage, m.tolerated_failure_percentage.as_ref(), eff, sc)?;
        let spread = match self.spread {
            Some(s) if tolerated_count.is_none() && tolerated_pct.is_none() => Some(spread::MapSpread::new(&s)),
            _ => None,
        };
        // Items run one after another unless they may suspend or be spread: only then does the
        // limit matter.
        let max_concurrency = match (&self.journal, &spread) {
            (None, None) => 0,
            _ => max_concurrency.map_or(0, |n| n as usize),
        };
        let spread = spread.filter(|_| max_concurrency != 1);
        Ok(MapLoop {
            values,
            keys,
            len,
            next: 0,
            current: None,
            out: bumpalo::collections::Vec::with_capacity_in(len, self.arena),
            failures: 0,
            tolerated_count,
            tolerated_pct,
            item_proto: None,
            instance,
            suspended: 0,
            max_concurrency,
            pending_mark: self.pending_mark(),
            spread,
        })
    }

    /// A Map's MaxConcurrency, ToleratedFailureCount or ToleratedFailurePercentage: a literal
    /// (validated with the definition), a path or a JSONata expression. A path's value is read
    /// as AWS reads it, as text parsed as a long (or a double, for the percentage): `2` and `"2"`
    /// are 2, while `2.5`, `true`, `null` and `{}` are `States.Runtime` naming the field and the
    /// value, and so is a value out of range. A JSONata value of the wrong type or range is
    /// `States.QueryEvaluationError`.
    fn setting(
        &mut self,
        setting: Setting,
        c: Option<&'a Count>,
        eff: Value<'a>,
        sc: &StateCtx<'a>,
    ) -> Result<Option<f64>, Fault<'a>> {
        let n = match c {
            None => return Ok(None),
            Some(Source::Literal(n)) => return Ok(Some(*n)),
            Some(Source::Path(p)) => {
                let p = self.program.path(*p);
                let v = self.eval_path(p, eff, sc);
                let n = v.and_then(|v| if setting.integer() { long_of(v).map(|i| i as f64) } else { double_of(v) });
                let kind = if setting.integer() { "integer" } else { "float" };
                n.ok_or_else(|| self.not_a_number(sc, setting.name(), kind, v, p))?
            }
            Some(Source::Jsonata(t)) => {
                let t = self.program.jt(*t);
                let v = self.jt_value(t, sc)?;
                match v.as_f64().filter(|n| setting.in_range(*n) && (!setting.integer() || n.fract() == 0.0)) {
                    Some(n) => return Ok(Some(n)),
                    None => return Err(self.unexpected_type(sc, t, setting.expected(), v)),
                }
            }
        };
        if setting.in_range(n) {
            return Ok(Some(n));
        }
        Err(self.runtime(
            sc,
            match setting {
                Setting::MaxConcurrency => {
                    format!("Expected non-negative integer for MaxConcurrency, got '{n}' instead.")
                }
                Setting::ToleratedFailureCount => "ToleratedFailureCount cannot be negative.".into(),
                Setting::ToleratedFailurePercentage => "ToleratedFailurePercentage must be between 0 and 100.".into(),
            },
        ))
    }

    fn wait_millis(&mut self, w: &'a Wait, eff: Value<'a>, sc: &StateCtx<'a>) -> Result<u64, Fault<'a>> {
        let until = |vm: &mut Self, nanos: i128| -> u64 {
            let target_ms = (nanos / 1_000_000) as i64;
            u64::try_from(target_ms.saturating_sub(vm.now_millis())).unwrap_or(0)
        };
        match w {
            Wait::Seconds(Source::Literal(s)) => Ok(s * 1000),
            Wait::Seconds(Source::Jsonata(t)) => match self.jt_value(self.program.jt(*t), sc)? {
                v if v.as_integer().is_some_and(|i| i >= 0) => Ok(v.as_integer().unwrap_or(0) as u64 * 1000),
                other => Err(self.unexpected_type(sc, self.program.jt(*t), "number", other)),
            },
            Wait::Until(Source::Jsonata(t)) => match self.jt_value(self.program.jt(*t), sc)? {
                Value::Str(text) if timestamp::parse(text).is_some() => {
                    Ok(until(self, timestamp::parse(text).unwrap_or(0)))
                }
                other => Err(self.unexpected_type(sc, self.program.jt(*t), "timestamp string", other)),
            },
            Wait::Until(Source::Literal(nanos)) => Ok(until(self, *nanos)),
            Wait::Seconds(Source::Path(p)) => {
                let p = self.program.path(*p);
                let Some(v) = self.eval_path(p, eff, sc) else {
                    return Err(self.runtime(
                        sc,
                        format!("The SecondsPath parameter does not reference an input value: {}", p.text),
                    ));
                };
                match (long_of(v), v) {
                    (Some(i), _) if i >= 0 => Ok((i as u64).saturating_mul(1000)),
                    (Some(i), _) => Err(self.runtime(
                        sc,
                        format!("The SecondsPath parameter references a negative value: {} == {i}", p.text),
                    )),
                    (None, other) => Err(self.runtime(
                        sc,
                        format!(
                            "The SecondsPath parameter cannot be parsed as a long value: {} == {}",
                            p.text,
                            match other {
                                Value::Str(s) => s.to_owned(),
                                o => to_json_string(&o),
                            }
                        ),
                    )),
                }
            }
            Wait::Until(Source::Path(p)) => {
                let p = self.program.path(*p);
                let Some(v) = self.eval_path(p, eff, sc) else {
                    return Err(self.runtime(
                        sc,
                        format!("The TimestampPath parameter does not reference an input value: {}", p.text),
                    ));
                };
                match v.as_str().and_then(timestamp::parse) {
                    Some(t) => Ok(until(self, t)),
                    None => Err(self.runtime(
                        sc,
                        format!(
                            "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {}",
                            p.text,
                            match v {
                                Value::Str(s) => s.to_owned(),
                                o => to_json_string(&o),
                            }
                        ),
                    )),
                }
            }
        }
    }

    fn fail_field(
        &mut self,
        src: Option<&'a StrSource>,
        field: &str,
        raw: Value<'a>,
        sc: &StateCtx<'a>,
    ) -> Result<Option<&'a str>, Fault<'a>> {
        let program = self.program;
        match src {
            None => Ok(None),
            Some(StrSource::Literal(s)) => Ok(Some(&program.strings[s.index()])),
            Some(StrSource::Jsonata(t)) => {
                let jt = &program.jtemplates[t.index()];
                match self.jt_value(jt, sc)? {
                    Value::Str(s) => Ok(Some(s)),
                    other => Err(self.unexpected_type(sc, jt, "string", other)),
                }
            }
            Some(StrSource::Path(p)) => {
                let p = &program.paths[p.index()];
                match self.eval_path(p, raw, sc) {
                    Some(Value::Str(s)) => Ok(Some(s)),
                    Some(other) => Ok(Some(self.arena.alloc_str(&to_json_string(&other)))),
                    None => Err(self.field_not_found(sc, p, field, raw)),
                }
            }
            Some(StrSource::Call(c)) => {
                let call = &program.calls[c.index()];
                let mut args = bumpalo::collections::Vec::with_capacity_in(call.args.len(), self.arena);
                for a in call.args.iter() {
                    args.push(match a {
                        crate::intrinsics::Arg::Const(k) => k.materialize(self.arena),
                        crate::intrinsics::Arg::Path(p) => match self.eval_path(p, raw, sc) {
                            Some(v) => v,
                            None => return Err(self.arg_not_found(sc, call, p, raw)),
                        },
                        crate::intrinsics::Arg::Call(_) => {
                            return Err(self.runtime(sc, format!("nested intrinsic calls are not supported in {field}")))
                        }
                    });
                }
                let mut env = intrinsics::Env { arena: self.arena, rng: &mut self.rng, parse: self.parse };
                match call.apply(&mut env, &args) {
                    Ok(Value::Str(s)) => Ok(Some(s)),
                    Ok(other) => Ok(Some(self.arena.alloc_str(&to_json_string(&other)))),
                    Err(failure) => Err(self.runtime(
                        sc,
                        format!("The function '{}' had the following error: {}", call.text, failure.cause),
                    )),
                }
            }
        }
    }

    /// InputPath / OutputPath: the single node a path selects, or `States.Runtime` in Jayway's words.
    fn select(&mut self, p: &'a Path, v: Value<'a>, sc: &StateCtx<'a>) -> Result<Value<'a>, Fault<'a>> {
        match self.eval_path(p, v, sc) {
            Some(x) => Ok(x),
            None => Err(self.runtime(sc, format!("Invalid path '{}' : {}", p.text, p.not_found_message(v)))),
        }
    }

    /// Builds flat template object `o` with `$` paths read from `from`. Each member is written
    /// once, in its slot, in member order; a path that selects nothing leaves null there and is
    /// reported (the first one, in member order) before the next intrinsic call runs, or once
    /// the object is complete. With `proto`, the object built from the same `from` for an
    /// earlier Map item, the members that cannot differ between items (constants and `$` paths)
    /// are copied from it rather than evaluated again.
    fn flat_object(
        &mut self,
        o: &'a FlatObject,
        from: Value<'a>,
        sc: &StateCtx<'a>,
        proto: Option<Members<'a>>,
    ) -> Result<Members<'a>, Fault<'a>> {
        let (program, arena) = (self.program, self.arena);
        let names = &program.keys[o.keys.index()];
        let mut missing = None;
        debug_assert_eq!(names.len(), o.members.len(), "verified");
        // A value returned into a (key, value) tuple would go through stack temporaries whose
        // partial reloads stall on store forwarding.
        let members = arena.alloc_slice_fill_copy(o.members.len(), ("", Value::Null));
        for (i, (slot, name)) in members.iter_mut().zip(names.iter()).enumerate() {
            slot.0 = name;
            match (o.members[i], proto) {
                (FlatMember::Const(_), Some(p)) => slot.1 = p[i].1,
                (FlatMember::Path { path, .. }, Some(p)) if program.paths[path.index()].root == Root::Input => {
                    slot.1 = p[i].1
                }
                (FlatMember::Const(c), _) => program.consts[c.index()].materialize_into(&mut slot.1, arena),
                (FlatMember::Path { path, field }, _) => match self.eval_path(&program.paths[path.index()], from, sc) {
                    Some(v) => slot.1 = v,
                    None => missing = missing.or(Some((path, field))),
                },
                (FlatMember::Call(c), _) => {
                    // A path member before it that selected nothing fails first, as it would
                    // have when evaluated on its own.
                    if let Some((path, field)) = missing {
                        let (p, field) = (&program.paths[path.index()], &program.strings[field.index()]);
                        return Err(self.field_not_found(sc, p, field, from));
                    }
                    slot.1 = self.flat_call(&program.calls[c.index()], from, sc)?;
                }
                (FlatMember::MapItem { index, path, field }, _) => match sc.item {
                    Some(item) if index => slot.1 = Value::Int(item.index as i64),
                    Some(item) => slot.1 = item.value,
                    None => missing = missing.or(Some((path, field))),
                },
            }
        }
        match missing {
            Some((path, field)) => {
                Err(self.field_not_found(sc, &program.paths[path.index()], &program.strings[field.index()], from))
            }
            None => Ok(members),
        }
    }

    /// A flat template member's intrinsic call: its arguments (constants and paths read from
    /// `from`) in order, then the function.
    #[inline(never)]
    fn flat_call(
        &mut self,
        call: &'a intrinsics::Call,
        from: Value<'a>,
        sc: &StateCtx<'a>,
    ) -> Result<Value<'a>, Fault<'a>> {
        let mut args = [Value::Null; FLAT_CALL_ARGS];
        for (slot, arg) in args.iter_mut().zip(call.args.iter()) {
            match arg {
                intrinsics::Arg::Const(c) => c.materialize_into(slot, self.arena),
                intrinsics::Arg::Path(p) => match self.eval_path(p, from, sc) {
                    Some(v) => *slot = v,
                    None => return Err(self.arg_not_found(sc, call, p, from)),
                },
                intrinsics::Arg::Call(_) => {
                    return Err(self.runtime(sc, "internal error: a nested call in a flat object".into()))
                }
            }
        }
        let args = args.get(..call.args.len()).unwrap_or_default();
        let mut env = intrinsics::Env { arena: self.arena, rng: &mut self.rng, parse: self.parse };
        call.apply(&mut env, args).map_err(|failure| self.intrinsic_fault(sc, call, failure))
    }

    /// An intrinsic function's failure as the state's: `States.Runtime` naming the function,
    /// or the function's own error name where it has one.
    fn intrinsic_fault(&self, sc: &StateCtx<'a>, call: &intrinsics::Call, failure: intrinsics::Failure) -> Fault<'a> {
        let mut fault =
            self.runtime(sc, format!("The function '{}' had the following error: {}", call.text, failure.cause));
        if failure.error != "States.IntrinsicFailure" {
            fault.error = Some(failure.error);
        }
        fault
    }

    /// ResultPath: `result` placed into `raw`; failure is the catchable States.ResultPathMatchFailure.
    fn place(
        &self,
        p: &'a crate::path::ReferencePath,
        raw: Value<'a>,
        result: Value<'a>,
    ) -> Result<Value<'a>, Fault<'a>> {
        p.place(self.arena, raw, result).map_err(|_| {
            let mut shown = String::new();
            crate::value::write_str(&mut shown, &to_json_string(&raw));
            self.catchable(
                "States.ResultPathMatchFailure",
                format!("Unable to apply ReferencePath {} to input {shown}", p.text),
            )
        })
    }

    /// A JSONata value: constants as they are, `{% %}` expressions evaluated with the workflow
    /// variables and `$states` of `sc`.
    fn jt_value(&mut self, t: &'a crate::jsonata::JTemplate, sc: &StateCtx<'a>) -> Result<Value<'a>, Fault<'a>> {
        use crate::jsonata::JTemplate;
        Ok(match t {
            JTemplate::Const(c) => c.materialize(self.arena),
            JTemplate::Expr { expr, field } => return self.jexpr(expr, field, sc),
            JTemplate::Object(members) => {
                let out = self.arena.alloc_slice_fill_copy(members.len(), ("", Value::Null));
                for (slot, (k, x)) in out.iter_mut().zip(members.iter()) {
                    *slot = (k.as_str(), self.jt_value(x, sc)?);
                }
                Value::Object(out)
            }
            JTemplate::Array(items) => {
                let out = self.arena.alloc_slice_fill_copy(items.len(), Value::Null);
                for (slot, x) in out.iter_mut().zip(items.iter()) {
                    *slot = self.jt_value(x, sc)?;
                }
                Value::Array(out)
            }
        })
    }

    fn jexpr(
        &mut self,
        expr: &'a crate::jsonata::Expr,
        field: &str,
        sc: &StateCtx<'a>,
    ) -> Result<Value<'a>, Fault<'a>> {
        #[cfg(feature = "engine-jsonata-core")]
        if let Some(core) = &expr.core {
            return match crate::jsonata::core_engine::eval(self.arena, core, sc.vars, &self.program.variables) {
                Ok(Some(v)) => Ok(v),
                Ok(None) => Err(self.query_error(
                    sc,
                    format!("The JSONata expression '{}' specified for the field '{field}' returned nothing (undefined).", expr.text()),
                )),
                Err((code, _)) if code == crate::jsonata::core_engine::FUNCTION => Err(self.query_error(
                    sc,
                    format!("The JSONata expression '{}' specified for the field '{field}' returned an unsupported result type.", expr.text()),
                )),
                Err((code, message)) => Err(self.query_error(
                    sc,
                    format!(
                        "The JSONata expression '{}' specified for the field '{field}' threw an error during evaluation. {code}: {message}",
                        expr.text()
                    ),
                )),
            };
        }
        let now_millis = if expr.reads_clock() { self.now_millis() } else { 0 };
        let mut ev = crate::jsonata::Ev {
            arena: self.arena,
            globals: sc.vars,
            rng: &mut self.rng,
            parse: self.parse,
            now_millis,
            depth: 0,
            root: JV::Undef,
            outer: None,
            steps: 0,
            general: !self.program.optimized,
        };
        match expr.eval(&mut ev, JV::Undef) {
            Ok(JV::Undef) => Err(self.query_error(
                sc,
                format!("The JSONata expression '{}' specified for the field '{field}' returned nothing (undefined).", expr.text()),
            )),
            Ok(JV::F(_)) => Err(self.query_error(
                sc,
                format!("The JSONata expression '{}' specified for the field '{field}' returned an unsupported result type.", expr.text()),
            )),
            Ok(v) => Ok(finite(self.arena, v.to_value().unwrap_or(Value::Null))),
            Err(e) => Err(self.query_error(
                sc,
                format!(
                    "The JSONata expression '{}' specified for the field '{field}' threw an error during evaluation. {}: {}",
                    expr.text(),
                    e.code,
                    e.message
                ),
            )),
        }
    }

    /// `States.QueryEvaluationError` (catchable), with the state prefix.
    #[cold]
    #[inline(never)]
    fn query_error(&self, sc: &StateCtx<'a>, message: String) -> Fault<'a> {
        let mut f = self.runtime(sc, message);
        f.error = Some("States.QueryEvaluationError");
        f.kind = FaultKind::Catchable;
        f
    }

    /// A JSONata value of the wrong type for its field.
    #[cold]
    #[inline(never)]
    fn unexpected_type(
        &self,
        sc: &StateCtx<'a>,
        t: &crate::jsonata::JTemplate,
        expected: &str,
        got: Value<'a>,
    ) -> Fault<'a> {
        let (text, field) = match t {
            crate::jsonata::JTemplate::Expr { expr, field } => (expr.text().to_owned(), field.clone()),
            // A literal of the wrong type: validation turns those down where it can.
            _ => (to_json_string(&got), String::new()),
        };
        self.query_error(
            sc,
            format!(
                "The JSONata expression '{text}' specified for the field '{field}' returned an unexpected result type. Expected '{expected}', but was '{}' for value: {}",
                crate::intrinsics::type_name(&got),
                to_json_string(&got)
            ),
        )
    }

    /// Writes workflow variables, within AWS's limits: 256 KiB a variable and an Assign, 10 MiB
    /// an execution.
    fn assign(
        &mut self,
        spec: &'a AssignSpec,
        values: &[Value<'a>],
        vars: &'a [Cell<JV<'a>>],
        sc: &StateCtx<'a>,
    ) -> Result<(), Fault<'a>> {
        const VARIABLE_LIMIT: usize = 256 * 1024;
        const EXECUTION_LIMIT: usize = 10 * 1024 * 1024;
        let mut total = 0usize;
        for (slot, v) in spec.slots.iter().zip(values) {
            let size = json_len(v);
            total += size;
            if size > VARIABLE_LIMIT {
                return Err(self.runtime(
                    sc,
                    format!(
                        "The value assigned to the variable '{}' is {size} bytes, more than the maximum of {VARIABLE_LIMIT} bytes",
                        self.program.variables[*slot as usize]
                    ),
                ));
            }
        }
        if total > VARIABLE_LIMIT {
            return Err(self.runtime(
                sc,
                format!("The values of one Assign are {total} bytes, more than the maximum of {VARIABLE_LIMIT} bytes"),
            ));
        }
        for (slot, v) in spec.slots.iter().zip(values) {
            let cell = &vars[*slot as usize];
            let old = cell.get().to_value().map_or(0, |o| json_len(&o));
            self.var_bytes = self.var_bytes.saturating_sub(old) + json_len(v);
            cell.set(JV::V(*v));
        }
        if self.var_bytes > EXECUTION_LIMIT {
            return Err(self.runtime(
                sc,
                format!(
                    "The workflow variables hold {} bytes, more than the maximum of {EXECUTION_LIMIT} bytes",
                    self.var_bytes
                ),
            ));
        }
        Ok(())
    }

    /// Evaluates a path against the state's input (`$`), a variable (`$name`) or the context
    /// object (`$$`).
    #[inline(always)]
    pub(crate) fn eval_path(&mut self, p: &'a Path, input: Value<'a>, sc: &StateCtx<'a>) -> Option<Value<'a>> {
        // `$` paths, most of them, go straight to the path: the other roots' code needs a
        // stack frame and saved registers that a `$` path would pay for on every call.
        match p.root {
            Root::Input => p.eval(self.arena, input),
            _ => self.eval_path_other(p, input, sc),
        }
    }

    /// [`eval_path`](Self::eval_path) for a variable or the context object (a `$` path, which
    /// `eval_path` takes itself, is evaluated here too).
    #[inline(never)]
    fn eval_path_other(&mut self, p: &'a Path, input: Value<'a>, sc: &StateCtx<'a>) -> Option<Value<'a>> {
        match p.root {
            Root::Input => p.eval(self.arena, input),
            Root::Variable(slot) => {
                let value = sc.vars.get(slot as usize).and_then(|c| c.get().to_value())?;
                p.eval(self.arena, value)
            }
            Root::Context => {
                if let Some(v) = self.context_fast(p, sc) {
                    return v;
                }
                match p.segments.first() {
                    // Only the member the path names is built: `$$.Map.Item.Value` costs one small
                    // object, not the whole context.
                    Some(crate::path::Segment::Child(name)) => {
                        let member = self.context_member(name, sc)?;
                        p.eval_from(self.arena, member, 1)
                    }
                    _ => {
                        let whole = self.context(sc);
                        p.eval(self.arena, whole)
                    }
                }
            }
        }
    }

    /// The context fields read most (`$$.Map.Item.Value`, `$$.State.RetryCount`, …) without
    /// building the context objects; `None` when the path is not one of them.
    #[inline]
    fn context_fast(&mut self, p: &'a Path, sc: &StateCtx<'a>) -> Option<Option<Value<'a>>> {
        use crate::path::ContextField as F;
        let (field, used) = p.context_field?;
        let value = match field {
            F::MapItemValue => sc.item?.value,
            F::MapItemIndex => Value::Int(sc.item?.index as i64),
            F::MapItemKey => Value::Str(sc.item?.key?),
            F::RetryCount => Value::Int(sc.retry_count as i64),
            F::StateName => Value::Str(sc.name),
            F::ExecutionInput => self.execution_input,
        };
        Some(p.eval_from(self.arena, value, used))
    }

    /// The whole context object `$$`.
    fn context(&mut self, sc: &StateCtx<'a>) -> Value<'a> {
        let names = ["Execution", "State", "StateMachine", "Map"];
        let members: [(&str, Option<Value<'a>>); 4] = names.map(|n| (n, self.context_member(n, sc)));
        self.arena.object(members.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))))
    }

    /// One member of the context object: `Execution`, `State`, `StateMachine` or (inside a Map
    /// iteration) `Map`.
    fn context_member(&mut self, name: &str, sc: &StateCtx<'a>) -> Option<Value<'a>> {
        let a = self.arena;
        match name {
            "Execution" => Some(match self.execution_ctx {
                Some(v) => v,
                None => {
                    let id = self.identity;
                    let exec_arn = format!(
                        "{}:{}",
                        id.state_machine_arn.replacen(":stateMachine:", ":express:", 1),
                        id.execution_name
                    );
                    let v = a.object([
                        ("Id", a.string(&exec_arn)),
                        ("Input", self.execution_input),
                        ("Name", Value::Str(&id.execution_name)),
                        ("RoleArn", Value::Str(&id.role_arn)),
                        ("StartTime", Value::Str(timestamp::format_millis_in(a, self.start()))),
                        ("RedriveCount", Value::Int(0)),
                    ]);
                    self.execution_ctx = Some(v);
                    v
                }
            }),
            "State" => {
                let entered = match self.clock {
                    Clock::System => self.now_millis(),
                    _ => self.start().saturating_add(sc.entered_virtual_millis),
                };
                Some(a.object([
                    ("EnteredTime", Value::Str(timestamp::format_millis_in(a, entered))),
                    ("Name", Value::Str(sc.name)),
                    ("RetryCount", Value::Int(sc.retry_count as i64)),
                ]))
            }
            "StateMachine" => Some(a.object([
                ("Id", Value::Str(&self.identity.state_machine_arn)),
                ("Name", Value::Str(&self.identity.state_machine_name)),
            ])),
            "Map" => sc.item.map(|item| {
                let fields: [(&str, Option<Value<'a>>); 3] = [
                    ("Index", Some(Value::Int(item.index as i64))),
                    ("Value", Some(item.value)),
                    ("Key", item.key.map(Value::Str)),
                ];
                let item = a.object(fields.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
                a.object([("Item", item)])
            }),
            _ => None,
        }
    }
}

/// A Map setting read from a path or a JSONata expression (see [`Vm::setting`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Setting {
    MaxConcurrency,
    ToleratedFailureCount,
    ToleratedFailurePercentage,
}

impl Setting {
    fn name(self) -> &'static str {
        match self {
            Setting::MaxConcurrency => "MaxConcurrency",
            Setting::ToleratedFailureCount => "ToleratedFailureCount",
            Setting::ToleratedFailurePercentage => "ToleratedFailurePercentage",
        }
    }

    fn integer(self) -> bool {
        self != Setting::ToleratedFailurePercentage
    }

    fn in_range(self, n: f64) -> bool {
        match self {
            Setting::ToleratedFailurePercentage => (0.0..=100.0).contains(&n),
            _ => n >= 0.0,
        }
    }

    /// What a JSONata value must be, as its error names it.
    fn expected(self) -> &'static str {
        match self {
            Setting::ToleratedFailurePercentage => "number between 0 and 100",
            _ => "non-negative integer",
        }
    }
}

/// A value read as AWS reads a number of a `…Path` field, its text parsed as a long: an integer,
/// or a string holding one (`"2"`); not `2.0`, `2.5`, a boolean, null or a container.
fn long_of(v: Value<'_>) -> Option<i64> {
    match v {
        Value::Int(i) => Some(i),
        Value::Str(s) => s.parse().ok(),
        _ => None,
    }
}

/// A value's text parsed as a double, as Java's `Double.parseDouble` reads it: a number, or a
/// string holding one (`"50"`, `" 12.5 "`, `"50d"`). `NaN` and `Infinity` read, and then fall
/// out of range; Rust's other spellings of them (`inf`, `nan`) do not.
fn double_of(v: Value<'_>) -> Option<f64> {
    let Value::Str(s) = v else { return v.as_f64() };
    let s = s.trim_matches(|c: char| c <= ' ');
    let s = s.strip_suffix(['d', 'D', 'f', 'F']).unwrap_or(s);
    let digits = s.trim_start_matches(['+', '-']);
    let spelled_as_java =
        digits.starts_with(|c: char| c.is_ascii_digit() || c == '.') || matches!(digits, "NaN" | "Infinity");
    s.parse().ok().filter(|_| spelled_as_java)
}

/// A JSONata result as AWS outputs it: a non-finite number becomes its name (`"Infinity"`).
fn finite<'a>(arena: &'a Bump, v: Value<'a>) -> Value<'a> {
    match v {
        Value::Float(f) if !f.is_finite() => Value::Str(if f.is_nan() {
            "NaN"
        } else if f > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        }),
        Value::Array(items) if items.iter().any(|x| matches!(x, Value::Float(f) if !f.is_finite())) => {
            Value::Array(arena.alloc_slice_fill_iter(items.iter().map(|x| finite(arena, *x))))
        }
        other => other,
    }
}

/// The back-off before retry number `used + 1`: IntervalSeconds × BackoffRate^used, capped by
/// MaxDelaySeconds, with FULL jitter drawn uniformly below it.
fn retry_delay(r: &Retrier, used: u64, rng: &mut Rng) -> u64 {
    let base = r.interval_seconds as f64 * r.backoff_rate.powi(used.min(1000) as i32);
    let capped = match r.max_delay_seconds {
        Some(m) => base.min(m as f64),
        None => base,
    };
    let secs = if r.jitter_full { capped * rng.next_f64() } else { capped };
    (secs * 1000.0).min(u64::MAX as f64 / 2.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue #13: the start time of a program that takes no time (Pass and Choice only) is
    /// read on first use. The deadline check read "now" before it, so once in a while the
    /// start came a millisecond later than "now", the elapsed time was −1 ms, and as a `u64` it
    /// was past any time-out: a false `States.Timeout` for an execution of microseconds. Each
    /// reading here starts from an unread start time; the clock crosses many millisecond
    /// boundaries meanwhile.
    #[test]
    fn elapsed_time_is_never_negative_when_the_start_is_read_late() {
        let program = Program::default();
        assert!(!program.needs_clock);
        let bound = crate::handler::Bound::new(&program.resources, crate::handler::Handlers::new());
        let config = Config::default();
        let arena = Bump::new();
        let mut parse = crate::value::ParseBuffers::default();
        let mut vm = Vm::new(&arena, &program, &bound, &config, Rng::seeded(0), Value::Null, &mut parse);
        let started = std::time::Instant::now();
        while started.elapsed() < std::time::Duration::from_millis(50) {
            vm.start_millis.set(None);
            // A thread put off between the two readings may see some milliseconds pass; the bug
            // saw 2^64 − 1.
            let elapsed = vm.elapsed_millis();
            assert!(elapsed < 60_000, "{elapsed} ms elapsed between two readings of the clock");
        }
    }
}
