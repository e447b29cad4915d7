//! The interpreter: runs a [`Program`] on one event, in one arena, to one outcome.
//!
//! One [`Vm`] exists per execution and borrows everything for the execution's lifetime `'a`:
//! the program, the bound handlers, the arena and the parsed event. Each machine run is a
//! [`Frame`] and a dispatch loop over the machine's ops (this file), each op a call to the
//! method that does its job:
//!
//! - `templates.rs`: paths' results, payload templates, intrinsic calls, ResultPath;
//! - `choice.rs`, `wait.rs`, `task.rs` (Task, and Retry/Catch routing), `parallel.rs`,
//!   `map.rs`: the states;
//! - `jsonata.rs`: JSONata-mode fields; `context.rs`: `$$`, `$name` and assigning variables;
//! - `faults.rs`: [`Fault`] and every failure the VM raises, worded as AWS words it;
//! - `time.rs`: the clock, waiting, cancellation and the journal's sites; `journal.rs`: the
//!   journal of a suspendable execution; `spread.rs`: heavy Map items and Parallel branches
//!   spread over idle workers; `scratch.rs`: the per-thread buffers.
//!
//! A state transition moves a 24-byte [`Value`] from one register to the next; nothing is
//! copied per state but the objects a ResultPath or template actually builds, and those go into
//! the arena. Failures are values: a [`Fault`] is routed by the state's Retry and Catch tables,
//! unless it is terminal (States.Runtime, States.DataLimitExceeded, the execution time-out),
//! which no catcher takes.

mod choice;
mod context;
mod faults;
mod journal;
mod jsonata;
mod map;
mod parallel;
mod scratch;
mod spread;
mod task;
mod templates;
mod time;
mod wait;

/// Which resource a suspended Task waits on (a [`Suspension`]'s `resource`).
pub(crate) use crate::bytecode::ResourceId;
pub(crate) use faults::{Fault, FaultKind};
pub(crate) use journal::{AtSite, Entered, Entry, Journal, Mark, Resume, Site, Suspension};
use map::MapLoop;
pub use scratch::Scratch;
pub(crate) use spread::{BatchRunner, HelperJob, Helpers, ItemBatch, Spread};

use crate::bytecode::*;
use crate::common::{system_millis, timestamp, Rng};
use crate::config::{Clock, Config, Identity, RuntimeLimits};
use crate::handler::Bound;
use crate::jsonata::JV;
use crate::value::{Const, Value};
use bumpalo::Bump;
use std::cell::Cell;

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
    /// When the state was entered. With a virtual clock, the virtual time elapsed then (the
    /// clock is read only if `$$.State.EnteredTime` is); on the system clock, the time itself,
    /// taken in a program that may read it ([`Program::reads_entered_time`]), else 0.
    pub entered_millis: i64,
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

    #[inline]
    fn push_const(&mut self, c: &'a Const, arena: &'a Bump) {
        c.materialize_into(&mut self.stack[self.sp], arena);
        self.sp += 1;
    }

    #[inline]
    fn pop_to(&mut self, r: Reg) {
        let v = self.pop();
        self.set(r, v);
    }

    /// `MakeObject` / `MakeObjectTo`: the top `len` values as an object, pushed or put in `to`.
    #[inline]
    fn make_object(&mut self, arena: &'a Bump, names: &'a [Box<str>], len: u16, to: Option<Reg>) {
        let members = self.pop_object(arena, names, len);
        match to {
            Some(r) => self.set(r, Value::Object(members)),
            None => self.push(Value::Object(members)),
        }
    }

    /// `MakeArray`: the top `n` values as an array.
    #[inline]
    fn make_array(&mut self, arena: &'a Bump, n: u16) {
        let base = self.sp - n as usize;
        let items = arena.alloc_slice_copy(&self.stack[base..self.sp]);
        self.sp = base;
        self.push(Value::Array(items));
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
    /// With a journal: what the current top-level state started from, and the top-level
    /// variables (see [`Resume`]).
    pub mark: Option<Mark<'a>>,
    pub root_vars: &'a [Cell<JV<'a>>],
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
            mark: None,
            root_vars: &[],
        }
    }

    /// Runs the top-level machine.
    pub fn run(&mut self, input: Value<'a>) -> Result<Value<'a>, Fault<'a>> {
        let vars = self.arena.alloc_slice_fill_with(self.program.variables.len().max(1), |_| Cell::new(JV::Undef));
        self.root_vars = vars;
        self.run_machine(Program::ROOT, input, None, vars)
    }

    /// Runs the top-level machine from where a stopped run left it: the state `r` names,
    /// entered afresh with the input, variables, counters and random source it was entered
    /// with (see [`Journal`]).
    pub fn resume(&mut self, r: &Resume) -> Result<Value<'a>, Fault<'a>> {
        let arena = self.arena;
        let unreadable = |vm: &mut Self, e: crate::value::ParseError| {
            let cause = format!("internal error: a resume point did not read back: {}", e.message);
            Fault {
                error: Some("States.Runtime"),
                cause: Some(vm.arena.alloc_str(&cause)),
                kind: FaultKind::Terminal,
                from_task: false,
            }
        };
        let input = match r.input.as_deref().map(|text| crate::value::parse_copy(arena, text, self.parse)) {
            None => self.execution_input,
            Some(Ok(v)) => v,
            Some(Err(e)) => return Err(unreadable(self, e)),
        };
        let len = self.program.variables.len().max(1);
        let vars = arena.alloc_slice_fill_with(len, |_| Cell::new(JV::Undef));
        for (cell, text) in vars.iter().zip(r.vars.iter()) {
            if let Some(text) = text {
                match crate::value::parse_copy(arena, text, self.parse) {
                    Ok(v) => cell.set(JV::V(v)),
                    Err(e) => return Err(unreadable(self, e)),
                }
            }
        }
        self.root_vars = vars;
        let at = &r.at;
        self.seq = at.seq;
        self.transitions = at.transitions;
        self.events = at.events;
        self.virtual_elapsed_millis = at.virtual_elapsed_millis;
        self.var_bytes = at.var_bytes;
        self.rng = at.rng.clone();
        self.depth += 1;
        let result = self.dispatch(Program::ROOT, input, None, vars, at.pc as usize);
        self.depth -= 1;
        result
    }

    /// The resume point of a run that stopped: the top-level state it stopped in, with its
    /// values as JSON. `None` when the run made no mark, or a value is past the writer's limit
    /// or (defensively: assignments store JSON values) is not JSON; the next run then starts
    /// from the last point.
    pub fn resume_point(&self, raw_input: Option<&str>) -> Option<Resume> {
        let m = self.mark.as_ref()?;
        // `None` past the writer's limit, where the text would be cut short.
        let json = |v: &Value<'a>| -> Option<Box<str>> {
            let mut out = String::new();
            match raw_input {
                Some(raw) => crate::value::write_json_with_input(&mut out, v, raw),
                None => crate::value::write_json(&mut out, v),
            }
            (out.len() < crate::common::WRITE_LIMIT).then(|| out.into_boxed_str())
        };
        let vars = self
            .root_vars
            .iter()
            .map(|c| match c.get() {
                JV::Undef => Some(None),
                JV::V(v) => json(&v).map(Some),
                JV::Seq(..) | JV::F(_) => None,
            })
            .collect::<Option<Box<[_]>>>()?;
        let input = match m.input.is_same(&self.execution_input) {
            true => None,
            false => Some(json(&m.input)?),
        };
        Some(Resume { at: m.at.clone(), input, vars })
    }

    /// Notes what the top-level state entered at `pc` starts from (see [`Resume`]).
    #[cold]
    fn mark_state(&mut self, pc: usize, input: Value<'a>) {
        let at = Entered {
            pc: pc as u32,
            seq: self.seq,
            transitions: self.transitions,
            events: self.events,
            virtual_elapsed_millis: self.virtual_elapsed_millis,
            var_bytes: self.var_bytes,
            rng: self.rng.clone(),
        };
        self.mark = Some(Mark { at, input });
        if let Some(j) = self.journal.as_deref_mut() {
            j.stamp = self.seq;
        }
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
        let result = self.dispatch(id, input, item, vars, 0);
        if id != Program::ROOT {
            self.var_bytes = var_bytes;
        }
        self.depth -= 1;
        result
    }

    /// The dispatch loop of one machine run, from op `from`: each op is a call to the method
    /// that does its job, in the file of that job.
    fn dispatch(
        &mut self,
        id: MachineId,
        input: Value<'a>,
        item: Option<MapItem<'a>>,
        vars: &'a [Cell<JV<'a>>],
        from: usize,
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
            sc: StateCtx { vars, name: "", entered_event: 0, entered_millis: 0, retry_count: 0, item },
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
        let mut pc = from;
        // A run that may suspend notes where each top-level state starts (see `Resume`).
        let marking = id == Program::ROOT && self.journal.is_some();
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
                // States (this file).
                Op::Enter(s) => {
                    if marking {
                        self.mark_state(pc - 1, f.acc);
                    }
                    self.enter(&mut f, machine, s, vars)?
                }
                Op::Exit => self.events += 1,
                Op::Events(n) => self.events += n as u64,
                Op::Jump(t) => pc = t.index(),
                Op::JumpIfNot(t) => {
                    if !f.flag {
                        pc = t.index();
                    }
                }
                Op::End => return Ok(f.acc),
                // Registers and the template stack (`Frame`).
                Op::PushConst(c) => f.push_const(&program.consts[c.index()], arena),
                Op::PushReg(r) => f.push(f.reg(r)),
                Op::MakeObject { keys, len } => f.make_object(arena, &program.keys[keys.index()], len, None),
                Op::MakeObjectTo { keys, len, to } => f.make_object(arena, &program.keys[keys.index()], len, Some(to)),
                Op::MakeArray(n) => f.make_array(arena, n),
                Op::Pop(r) => f.pop_to(r),
                Op::Move { to, from } => f.set(to, f.reg(from)),
                // Paths, templates and intrinsics (`templates.rs`).
                Op::InputPath(p) => f.eff = tri!(self.select(program.path(p), f.raw, &f.sc)),
                Op::InputNull => f.eff = Value::EMPTY_OBJECT,
                Op::PushPath { path, root, field } => tri!(self.push_path(&mut f, path, root, field)),
                Op::PushArg { path, root, call } => tri!(self.push_arg(&mut f, path, root, call)),
                Op::Apply(c) => tri!(self.apply(&mut f, &program.calls[c.index()])),
                Op::Object { id, root, to } => tri!(self.object(&mut f, &program.objects[id.index()], root, to)),
                Op::ItemObject(id) => tri!(self.item_object(&mut f, &program.objects[id.index()])),
                Op::ResultPath(r) => f.acc = tri!(self.place(&program.ref_paths[r.index()], f.raw, f.res)),
                Op::ResultOutput(r) => f.acc = tri!(self.result_output(&f, &program.ref_paths[r.index()])),
                Op::ResultWhole => f.acc = f.res,
                Op::ResultDiscard => f.acc = f.raw,
                Op::OutputPath(p) => f.acc = tri!(self.select(program.path(p), f.acc, &f.sc)),
                Op::OutputNull => f.acc = Value::EMPTY_OBJECT,
                // Choice (`choice.rs`).
                Op::Choose(c) => pc += tri!(self.choose(&program.choices[c.index()], f.eff, &f.sc)),
                Op::ChoiceOut(t) => {
                    f.acc = f.eff;
                    self.events += 1;
                    pc = t.index();
                }
                Op::NoChoice => tri!(Err(self.no_choice(&f.sc))),
                // Wait (`wait.rs`) and Fail (`faults.rs`).
                Op::Wait(w) => tri!(self.wait(&program.waits[w.index()], f.eff, &f.sc)),
                Op::Fail(id) => tri!(Err(self.fail(&program.fails[id.index()], f.raw, &f.sc))),
                // Tasks and attempts (`task.rs`).
                Op::Attempt => f.attempt = Some(Pc(pc as u32 - 1)),
                Op::EndAttempt => f.attempt = None,
                Op::Invoke(r) => f.res = tri!(self.invoke(&f, machine, r)),
                // Parallel (`parallel.rs`).
                Op::Branch(m) => tri!(self.branch(&mut f, m, vars)),
                Op::JoinBranches => tri!(self.join_branches(&mut f, vars)),
                // Map (`map.rs`).
                Op::MapBegin(m) => tri!(self.map_begin(&mut f, &program.maps[m.index()])),
                Op::MapNext(done) => {
                    if self.map_next(&mut f) {
                        pc = done.index();
                    }
                }
                Op::PushItem => f.push(f.map.as_ref().and_then(|lp| lp.current).map_or(Value::Null, |i| i.value)),
                Op::MapRun(processor) => tri!(self.map_run(&mut f, processor, vars)),
                Op::MapEnd => tri!(self.map_end(&mut f, vars)),
                // JSONata and variables (`jsonata.rs`, `context.rs`).
                Op::PushJsonata(t) => {
                    let v = tri!(self.jt_value(program.jt(t), &f.sc));
                    f.push(v);
                }
                Op::TestJsonata(t) => f.flag = tri!(self.test_jsonata(program.jt(t), &f.sc)),
                Op::SetStates(flags) => self.set_states(&f, flags, vars),
                Op::Assign(id) => tri!(self.assign_from_stack(&mut f, &program.assigns[id.index()], vars)),
            }
        }
    }

    /// Enters state `s`: counts the transition, checks the execution's limits (transitions,
    /// cancellation, memory, time) and resets the frame for the state.
    #[inline(always)]
    fn enter(
        &mut self,
        f: &mut Frame<'a>,
        machine: &'a MachineCode,
        s: StateId,
        vars: &'a [Cell<JV<'a>>],
    ) -> Result<(), Fault<'a>> {
        self.transitions += 1;
        if self.transitions > self.limits.max_transitions {
            return Err(self.terminal("The execution reached the maximum number of state transitions."));
        }
        if self.cancelled() {
            return Err(self.aborted());
        }
        if self.arena.allocated_bytes().saturating_sub(self.arena_base) > self.limits.max_arena_bytes {
            return Err(self.arena_full());
        }
        if self.clock == Clock::System
            && self.transitions.is_multiple_of(1024)
            && self.elapsed_millis() > self.timeout_millis()
        {
            return Err(self.timed_out());
        }
        self.events += 1;
        // Journaled as any reading of the clock: a run that enters the state again (after a
        // suspension) sees the time the first one saw.
        let entered_millis = match self.clock {
            Clock::System if self.program.reads_entered_time => self.now_millis(),
            Clock::System => 0,
            _ => self.virtual_elapsed_millis,
        };
        f.state = s;
        f.sc = StateCtx {
            vars,
            name: &machine.state(s).name,
            entered_event: self.events,
            entered_millis,
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
        Ok(())
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
        let bound = crate::handler::Bound::new(&program.resources, crate::handler::Handlers::new(), None);
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
