//! The interpreter: runs a [`Program`] on one event, in one arena, to one outcome.
//!
//! One [`Vm`] exists per execution and borrows everything for the execution's lifetime `'a`:
//! the program, the bound handlers, the arena and the parsed event. A state transition moves a
//! 24-byte [`Value`] from one state to the next; nothing is copied per state but the objects a
//! ResultPath or template actually changes, and those go into the arena.
//!
//! Failures are values: a [`Fault`] is routed by the state's Retry and Catch tables, unless it is
//! terminal (States.Runtime, States.DataLimitExceeded, the execution time-out), which no
//! catcher takes.

mod choice;
mod limits;
mod rng;
pub mod timestamp;

pub use limits::RuntimeLimits;
pub use rng::Rng;

use crate::bytecode::*;
use crate::handler::{Bound, TaskContext};
use crate::intrinsics::{self, Arg, Call};
use crate::path::{Path, Root, Template};
use crate::value::{json_len, to_json_string, ArenaExt, Value};
use bumpalo::Bump;

/// How time passes for Wait states, retry back-off and the execution time-out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Clock {
    /// Real time: a Wait state sleeps the calling thread.
    #[default]
    System,
    /// Virtual time starting at `start_millis` (or now): waits advance it at once. For tests,
    /// replays and benchmarks.
    Virtual { start_millis: Option<i64> },
    /// Like `Virtual`, and retry back-off takes no time at all (the benchmarks' zero-delay clock).
    ZeroDelay,
}

/// Names the context object reports (`$$.Execution.*`, `$$.StateMachine.*`).
#[derive(Clone, Debug)]
pub struct Identity {
    pub state_machine_name: String,
    pub state_machine_arn: String,
    pub execution_name: String,
    pub role_arn: String,
}

impl Default for Identity {
    fn default() -> Self {
        Identity {
            state_machine_name: "aslrt".into(),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:aslrt".into(),
            execution_name: "execution".into(),
            role_arn: "arn:aws:iam::123456789012:role/aslrt".into(),
        }
    }
}

/// Final status, as StartSyncExecution reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Succeeded,
    Failed,
    TimedOut,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FaultKind {
    /// Goes through Retry and Catch.
    Catchable,
    /// States.Runtime, States.DataLimitExceeded: ends the execution.
    Terminal,
    /// The execution's time ran out.
    TimedOut,
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

/// Per-state context: what `$$.State` and `$$.Map` show.
#[derive(Clone, Copy)]
pub(crate) struct StateCtx<'a> {
    pub name: &'a str,
    pub entered_event: u64,
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

/// What one state decided.
enum Step<'a> {
    Next(StateId, Value<'a>),
    End(Value<'a>),
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
    pub start_millis: i64,
    /// Virtual time elapsed (virtual clocks only).
    pub virtual_elapsed_millis: i64,
    pub execution_input: Value<'a>,
    /// `$$` parts that stay the same for the whole execution, built on first use.
    pub execution_ctx: Option<Value<'a>>,
}

fn system_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl<'a> Vm<'a> {
    // One argument per borrowed part of an execution; bundling them would only rename them.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        arena: &'a Bump,
        program: &'a Program,
        handlers: &'a Bound,
        limits: RuntimeLimits,
        clock: Clock,
        identity: &'a Identity,
        seed: u64,
        input: Value<'a>,
    ) -> Self {
        let start_millis = match clock {
            Clock::Virtual {
                start_millis: Some(s),
            } => s,
            _ => system_millis(),
        };
        Vm {
            arena,
            program,
            handlers,
            limits,
            clock,
            identity,
            rng: Rng::seeded(seed),
            events: 1, // ExecutionStarted
            transitions: 0,
            depth: 0,
            start_millis,
            virtual_elapsed_millis: 0,
            execution_input: input,
            execution_ctx: None,
        }
    }

    fn now_millis(&self) -> i64 {
        match self.clock {
            Clock::System => system_millis(),
            _ => self.start_millis + self.virtual_elapsed_millis,
        }
    }

    fn elapsed_millis(&self) -> i64 {
        self.now_millis() - self.start_millis
    }

    /// Waits `millis`, or fails with a time-out if the execution's time would run out first.
    fn sleep(&mut self, millis: u64, is_retry: bool) -> Result<(), Fault<'a>> {
        let budget = self
            .timeout_millis()
            .saturating_sub(self.elapsed_millis().max(0) as u64);
        if millis > budget {
            return Err(self.timed_out());
        }
        match self.clock {
            Clock::System => std::thread::sleep(std::time::Duration::from_millis(millis)),
            Clock::ZeroDelay if is_retry => {}
            _ => self.virtual_elapsed_millis += millis as i64,
        }
        Ok(())
    }

    fn timeout_millis(&self) -> u64 {
        let cap = self.limits.max_execution_seconds;
        let own = self.program.timeout_seconds.unwrap_or(cap).min(cap);
        own.saturating_mul(1000)
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

    fn catchable(&self, error: &str, cause: String) -> Fault<'a> {
        Fault {
            error: Some(self.arena.alloc_str(error)),
            cause: Some(self.arena.alloc_str(&cause)),
            kind: FaultKind::Catchable,
            from_task: false,
        }
    }

    /// Runs the top-level machine.
    pub fn run(&mut self, input: Value<'a>) -> Result<Value<'a>, Fault<'a>> {
        let out = self.run_machine(Program::ROOT, input, None)?;
        Ok(out)
    }

    fn run_machine(
        &mut self,
        id: MachineId,
        input: Value<'a>,
        item: Option<MapItem<'a>>,
    ) -> Result<Value<'a>, Fault<'a>> {
        let program: &'a Program = self.program;
        let machine = program.machine(id);
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            self.depth -= 1;
            return Err(self.catchable(
                "States.Runtime",
                "the maximum nesting depth was exceeded".into(),
            ));
        }
        let mut at = machine.start;
        let mut value = input;
        let result = loop {
            self.transitions += 1;
            if self.transitions > self.limits.max_transitions {
                let f = Fault {
                    error: Some("States.Runtime"),
                    cause: Some("The execution reached the maximum number of state transitions."),
                    kind: FaultKind::Terminal,
                    from_task: false,
                };
                break Err(f);
            }
            if self.clock == Clock::System
                && self.transitions.is_multiple_of(1024)
                && self.elapsed_millis() as u64 > self.timeout_millis()
            {
                break Err(self.timed_out());
            }
            let state = machine.state(at);
            self.events += 1;
            let sc = StateCtx {
                name: &state.name,
                entered_event: self.events,
                entered_millis: if self.clock == Clock::System {
                    0
                } else {
                    self.now_millis()
                },
                retry_count: 0,
                item,
            };
            match self.state(state, value, sc) {
                Ok(Step::Next(next, out)) => {
                    at = next;
                    value = out;
                }
                Ok(Step::End(out)) => break Ok(out),
                Err(f) => break Err(f),
            }
        };
        self.depth -= 1;
        result
    }

    fn state(
        &mut self,
        st: &'a StateCode,
        raw: Value<'a>,
        mut sc: StateCtx<'a>,
    ) -> Result<Step<'a>, Fault<'a>> {
        let step = match &st.op {
            StateOp::Pass { result } => {
                let eff = self.input_path(st, raw, &sc)?;
                let res = match (&st.parameters, result) {
                    (Some(t), _) => self.template(t, eff, &sc)?,
                    (None, Some(r)) => r.materialize(self.arena),
                    (None, None) => eff,
                };
                let out = self.result_path(&st.result_path, raw, res, &sc)?;
                self.finish(st, out, &sc)?
            }
            StateOp::Succeed => {
                let eff = self.input_path(st, raw, &sc)?;
                let out = self.output_path(st, eff, &sc)?;
                self.events += 1;
                Step::End(out)
            }
            StateOp::Fail { error, cause } => {
                let error = self.fail_field(error.as_ref(), "ErrorPath", raw, &sc)?;
                let cause = self.fail_field(cause.as_ref(), "CausePath", raw, &sc)?;
                return Err(Fault {
                    error,
                    cause,
                    kind: FaultKind::Catchable,
                    from_task: false,
                });
            }
            StateOp::Choice { rules, default } => {
                let eff = self.input_path(st, raw, &sc)?;
                let mut target = *default;
                for (cond, next) in rules.iter() {
                    if self.test(cond, eff, &sc)? {
                        target = Some(*next);
                        break;
                    }
                }
                let Some(next) = target else {
                    // AWS reports a Choice without a match as States.Runtime, not the
                    // States.NoChoiceMatched that the States Language specification names.
                    return Err(self.runtime(&sc, "Failed to transition out of the state. The state does not point to a next state.".into()));
                };
                let out = self.output_path(st, eff, &sc)?;
                self.events += 1;
                Step::Next(next, out)
            }
            StateOp::Wait(w) => {
                let eff = self.input_path(st, raw, &sc)?;
                let millis = self.wait_millis(w, eff, &sc)?;
                self.sleep(millis, false)?;
                let out = self.output_path(st, eff, &sc)?;
                self.finish_with(st, out)
            }
            StateOp::Task { .. } | StateOp::Parallel { .. } | StateOp::Map(_) => {
                let eff = self.input_path(st, raw, &sc)?;
                let mut attempts = [0u64; 8];
                let mut extra_attempts: Vec<u64> = Vec::new();
                loop {
                    match self.attempt(st, eff, &sc) {
                        Ok(result) => {
                            let out = self.result_path(&st.result_path, raw, result, &sc)?;
                            return self.finish(st, out, &sc);
                        }
                        Err(f) if f.kind != FaultKind::Catchable => return Err(f),
                        Err(f) => {
                            let name = f.error.unwrap_or("");
                            if let Some(i) = st
                                .retry
                                .iter()
                                .position(|r| r.errors.matches(name, f.from_task))
                            {
                                let r = &st.retry[i];
                                let used = if i < attempts.len() {
                                    &mut attempts[i]
                                } else {
                                    if extra_attempts.len() <= i {
                                        extra_attempts.resize(i + 1, 0);
                                    }
                                    &mut extra_attempts[i]
                                };
                                if *used < r.max_attempts {
                                    let delay = retry_delay(r, *used, &mut self.rng);
                                    *used += 1;
                                    self.sleep(delay, true)?;
                                    sc.retry_count += 1;
                                    continue;
                                }
                            }
                            if let Some(c) = st
                                .catch
                                .iter()
                                .find(|c| c.errors.matches(name, f.from_task))
                            {
                                let err = self.arena.object([
                                    ("Error", Value::Str(f.error.unwrap_or(""))),
                                    ("Cause", Value::Str(f.cause.unwrap_or(""))),
                                ]);
                                let out = self.result_path(&c.result_path, raw, err, &sc)?;
                                self.events += 1;
                                return Ok(Step::Next(c.next, out));
                            }
                            return Err(f);
                        }
                    }
                }
            }
        };
        Ok(step)
    }

    /// One attempt of a Task, Parallel or Map: from the effective input to the selected result.
    fn attempt(
        &mut self,
        st: &'a StateCode,
        eff: Value<'a>,
        sc: &StateCtx<'a>,
    ) -> Result<Value<'a>, Fault<'a>> {
        let result = match &st.op {
            StateOp::Task {
                resource, timeout, ..
            } => {
                let input = match &st.parameters {
                    Some(t) => self.template(t, eff, sc)?,
                    None => eff,
                };
                self.events += 2; // TaskScheduled, TaskStarted
                let r = self.task(*resource, timeout.as_ref(), input, sc);
                self.events += 1; // TaskSucceeded / TaskFailed
                r?
            }
            StateOp::Parallel { branches } => {
                let input = match &st.parameters {
                    Some(t) => self.template(t, eff, sc)?,
                    None => eff,
                };
                self.events += 1; // ParallelStateStarted
                let mut out =
                    bumpalo::collections::Vec::with_capacity_in(branches.len(), self.arena);
                for b in branches.iter() {
                    out.push(self.run_machine(*b, input, None)?);
                }
                self.events += 1; // ParallelStateSucceeded
                Value::Array(out.into_bump_slice())
            }
            StateOp::Map(m) => self.map(m, eff, sc)?,
            _ => unreachable!("attempt is only called for Task, Parallel and Map"),
        };
        match &st.result_selector {
            Some(t) => self.template(t, result, sc),
            None => Ok(result),
        }
    }

    fn task(
        &mut self,
        resource: ResourceId,
        timeout: Option<&'a crate::asl::ast::Seconds>,
        input: Value<'a>,
        sc: &StateCtx<'a>,
    ) -> Result<Value<'a>, Fault<'a>> {
        let name: &'a str = &self.program.resources[resource.0 as usize];
        let ctx = TaskContext {
            arena: self.arena,
            resource: name,
            state: sc.name,
            retry_count: sc.retry_count,
        };
        let started = self.now_millis();
        let outcome = self.handlers.invoke(resource, input, &ctx);
        let result = match outcome {
            Ok(v) => v,
            Err(e) => {
                return Err(Fault {
                    error: Some(self.arena.alloc_str(&e.error)),
                    cause: e.cause.as_deref().map(|c| &*self.arena.alloc_str(c)),
                    kind: FaultKind::Catchable,
                    from_task: true,
                })
            }
        };
        if let Some(limit) = timeout {
            let secs = match limit {
                crate::asl::ast::Seconds::Literal(s) => Some(*s),
                crate::asl::ast::Seconds::Path(p) => self
                    .eval_path(p, input, sc)
                    .and_then(|v| v.as_integer())
                    .map(|v| v as u64),
            };
            if let Some(secs) = secs {
                if (self.now_millis() - started) as u64 > secs * 1000 {
                    return Err(Fault {
                        error: Some("States.Timeout"),
                        cause: None,
                        kind: FaultKind::Catchable,
                        from_task: true,
                    });
                }
            }
        }
        if json_len(&result) > self.limits.max_payload_bytes {
            return Err(self.data_limit(sc));
        }
        Ok(result)
    }

    fn map(
        &mut self,
        m: &'a MapOp,
        eff: Value<'a>,
        sc: &StateCtx<'a>,
    ) -> Result<Value<'a>, Fault<'a>> {
        let items = match &m.items_path {
            Some(p) => match self.eval_path(p, eff, sc) {
                Some(v) => v,
                None => {
                    return Err(self.runtime(
                        sc,
                        format!("Invalid path '{}' : {}", p.text, p.not_found_message(eff)),
                    ))
                }
            },
            None => eff,
        };
        if let Some(crate::asl::ast::Count::Path(p)) = &m.max_concurrency {
            let v = self.eval_path(p, eff, sc);
            if v.and_then(|v| v.as_integer()).is_none_or(|i| i < 0) {
                let shown = match v {
                    Some(Value::Str(s)) => s.to_owned(),
                    Some(other) => to_json_string(&other),
                    None => "null".into(),
                };
                return Err(self.runtime(
                    sc,
                    format!("The MaxConcurrencyPath field refers to value \"{shown}\" which is not a valid integer: {}", p.text),
                ));
            }
        }
        let (values, keys): (&'a [Value<'a>], Option<Members<'a>>) = match items {
            Value::Array(a) => (a, None),
            Value::Object(o) => (&[], Some(o)),
            other => {
                return Err(self.runtime(
                    sc,
                    format!(
                        "Items of a Map state must be a JSON array or object, but got {}",
                        to_json_string(&other)
                    ),
                ))
            }
        };
        let len = keys.map_or(values.len(), <[_]>::len);
        let tolerated_count = self.count(m.tolerated_failure_count.as_ref(), eff, sc);
        let tolerated_pct = self.count(m.tolerated_failure_percentage.as_ref(), eff, sc);
        self.events += 1; // MapStateStarted
        let mut out = bumpalo::collections::Vec::with_capacity_in(len, self.arena);
        let mut failures = 0usize;
        for i in 0..len {
            let (key, value) = match keys {
                Some(o) => (Some(o[i].0), o[i].1),
                None => (None, values[i]),
            };
            let item = MapItem {
                index: i,
                value,
                key,
            };
            let isc = StateCtx {
                item: Some(item),
                ..*sc
            };
            let input = match &m.item_selector {
                Some(t) => self.template(t, eff, &isc)?,
                None => value,
            };
            self.events += 1; // MapIterationStarted
            match self.run_machine(m.processor, input, Some(item)) {
                Ok(v) => {
                    self.events += 1; // MapIterationSucceeded
                    out.push(v);
                }
                Err(f)
                    if f.kind == FaultKind::Catchable
                        && (tolerated_count.is_some() || tolerated_pct.is_some()) =>
                {
                    self.events += 1; // MapIterationFailed
                    failures += 1;
                    let over_count = tolerated_count.is_none_or(|c| failures as f64 > c);
                    let over_pct =
                        tolerated_pct.is_none_or(|p| failures as f64 * 100.0 / len as f64 > p);
                    if over_count && over_pct {
                        return Err(self.catchable(
                            "States.ExceedToleratedFailureThreshold",
                            "The specified tolerated failure threshold was exceeded".into(),
                        ));
                    }
                    out.push(Value::Null);
                }
                Err(f) => return Err(f),
            }
        }
        self.events += 1; // MapStateSucceeded
        Ok(Value::Array(out.into_bump_slice()))
    }

    fn count(
        &mut self,
        c: Option<&'a crate::asl::ast::Count>,
        eff: Value<'a>,
        sc: &StateCtx<'a>,
    ) -> Option<f64> {
        match c? {
            crate::asl::ast::Count::Literal(n) => Some(*n),
            crate::asl::ast::Count::Path(p) => self.eval_path(p, eff, sc).and_then(|v| v.as_f64()),
        }
    }

    fn wait_millis(
        &mut self,
        w: &'a crate::asl::ast::Wait,
        eff: Value<'a>,
        sc: &StateCtx<'a>,
    ) -> Result<u64, Fault<'a>> {
        use crate::asl::ast::Wait;
        let until = |vm: &Self, nanos: i128| -> u64 {
            let target_ms = (nanos / 1_000_000) as i64;
            (target_ms - vm.now_millis()).max(0) as u64
        };
        match w {
            Wait::Seconds(s) => Ok(s * 1000),
            Wait::Timestamp(t) => Ok(until(self, timestamp::parse(t).unwrap_or(0))),
            Wait::SecondsPath(p) => {
                let Some(v) = self.eval_path(p, eff, sc) else {
                    return Err(self.runtime(
                        sc,
                        format!(
                            "The SecondsPath parameter does not reference an input value: {}",
                            p.text
                        ),
                    ));
                };
                match v {
                    Value::Int(i) if i >= 0 => Ok(i as u64 * 1000),
                    Value::Int(i) => Err(self.runtime(
                        sc,
                        format!(
                            "The SecondsPath parameter references a negative value: {} == {i}",
                            p.text
                        ),
                    )),
                    other => Err(self.runtime(
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
            Wait::TimestampPath(p) => {
                let Some(v) = self.eval_path(p, eff, sc) else {
                    return Err(self.runtime(
                        sc,
                        format!(
                            "The TimestampPath parameter does not reference an input value: {}",
                            p.text
                        ),
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
        match src {
            None => Ok(None),
            Some(StrSource::Literal(s)) => Ok(Some(s)),
            Some(StrSource::Path(p)) => match self.eval_path(p, raw, sc) {
                Some(Value::Str(s)) => Ok(Some(s)),
                Some(other) => Ok(Some(self.arena.alloc_str(&to_json_string(&other)))),
                None => Err(self.runtime(
                    sc,
                    format!(
                        "The JSONPath '{}' specified for the field '{field}' could not be found in the input '{}'",
                        p.text,
                        to_json_string(&raw)
                    ),
                )),
            },
            Some(StrSource::Call(c)) => match self.call(c, raw, sc)? {
                Value::Str(s) => Ok(Some(s)),
                other => Ok(Some(self.arena.alloc_str(&to_json_string(&other)))),
            },
        }
    }

    /// OutputPath, then the state's exit event and its transition.
    fn finish(
        &mut self,
        st: &'a StateCode,
        out: Value<'a>,
        sc: &StateCtx<'a>,
    ) -> Result<Step<'a>, Fault<'a>> {
        let out = self.output_path(st, out, sc)?;
        Ok(self.finish_with(st, out))
    }

    fn finish_with(&mut self, st: &'a StateCode, out: Value<'a>) -> Step<'a> {
        self.events += 1; // *StateExited
        match st.next {
            Some(n) => Step::Next(n, out),
            None => Step::End(out),
        }
    }

    fn input_path(
        &mut self,
        st: &'a StateCode,
        raw: Value<'a>,
        sc: &StateCtx<'a>,
    ) -> Result<Value<'a>, Fault<'a>> {
        self.select(&st.input_path, raw, sc)
    }

    fn output_path(
        &mut self,
        st: &'a StateCode,
        v: Value<'a>,
        sc: &StateCtx<'a>,
    ) -> Result<Value<'a>, Fault<'a>> {
        self.select(&st.output_path, v, sc)
    }

    fn select(
        &mut self,
        f: &'a PathField,
        v: Value<'a>,
        sc: &StateCtx<'a>,
    ) -> Result<Value<'a>, Fault<'a>> {
        match f {
            PathField::Whole => Ok(v),
            PathField::Null => Ok(Value::EMPTY_OBJECT),
            PathField::Path(p) => match self.eval_path(p, v, sc) {
                Some(x) => Ok(x),
                None => Err(self.runtime(
                    sc,
                    format!("Invalid path '{}' : {}", p.text, p.not_found_message(v)),
                )),
            },
        }
    }

    fn result_path(
        &mut self,
        f: &'a ResultField,
        raw: Value<'a>,
        result: Value<'a>,
        sc: &StateCtx<'a>,
    ) -> Result<Value<'a>, Fault<'a>> {
        match f {
            ResultField::Whole => Ok(result),
            ResultField::Discard => Ok(raw),
            ResultField::Path(p) => p.place(self.arena, raw, result).map_err(|e| match e {
                crate::path::PlaceError::NotAnObject(at)
                | crate::path::PlaceError::MissingIndex(at) => {
                    let _ = at;
                    let mut shown = Vec::new();
                    crate::value::write_str(&mut shown, &to_json_string(&raw));
                    let cause = format!(
                        "Unable to apply ReferencePath {} to input {}",
                        p.text,
                        String::from_utf8_lossy(&shown)
                    );
                    let _ = sc;
                    self.catchable("States.ResultPathMatchFailure", cause)
                }
            }),
        }
    }

    /// Evaluates a path against the state's input (`$`) or the context object (`$$`).
    #[inline]
    pub(crate) fn eval_path(
        &mut self,
        p: &'a Path,
        input: Value<'a>,
        sc: &StateCtx<'a>,
    ) -> Option<Value<'a>> {
        match p.root {
            Root::Input => p.eval(self.arena, input),
            Root::Context => {
                let ctx = self.context(sc);
                p.eval(self.arena, ctx)
            }
        }
    }

    /// The context object `$$` for this state.
    fn context(&mut self, sc: &StateCtx<'a>) -> Value<'a> {
        let a = self.arena;
        let execution = match self.execution_ctx {
            Some(v) => v,
            None => {
                let id = &self.identity;
                let exec_arn = format!(
                    "{}:{}",
                    id.state_machine_arn
                        .replacen(":stateMachine:", ":express:", 1),
                    id.execution_name
                );
                let v = a.object([
                    ("Id", a.string(&exec_arn)),
                    ("Input", self.execution_input),
                    ("Name", Value::Str(&self.identity.execution_name)),
                    ("RoleArn", Value::Str(&self.identity.role_arn)),
                    (
                        "StartTime",
                        a.string(&timestamp::format_millis(self.start_millis)),
                    ),
                    ("RedriveCount", Value::Int(0)),
                ]);
                self.execution_ctx = Some(v);
                v
            }
        };
        let entered = if sc.entered_millis == 0 {
            self.now_millis()
        } else {
            sc.entered_millis
        };
        let state = a.object([
            ("EnteredTime", a.string(&timestamp::format_millis(entered))),
            ("Name", Value::Str(sc.name)),
            ("RetryCount", Value::Int(sc.retry_count as i64)),
        ]);
        let machine = a.object([
            ("Id", Value::Str(&self.identity.state_machine_arn)),
            ("Name", Value::Str(&self.identity.state_machine_name)),
        ]);
        let mut members = vec![
            ("Execution", execution),
            ("State", state),
            ("StateMachine", machine),
        ];
        if let Some(item) = sc.item {
            let mut fields = vec![
                ("Index", Value::Int(item.index as i64)),
                ("Value", item.value),
            ];
            if let Some(k) = item.key {
                fields.push(("Key", Value::Str(k)));
            }
            members.push(("Map", a.object([("Item", a.object(fields))])));
        }
        a.object(members)
    }

    /// Evaluates a payload template.
    pub(crate) fn template(
        &mut self,
        t: &'a Template,
        input: Value<'a>,
        sc: &StateCtx<'a>,
    ) -> Result<Value<'a>, Fault<'a>> {
        match t {
            Template::Const(c) => Ok(c.materialize(self.arena)),
            Template::Path { path, field } => match self.eval_path(path, input, sc) {
                Some(v) => Ok(v),
                None => Err(self.runtime(
                    sc,
                    format!(
                        "The JSONPath '{}' specified for the field '{field}' could not be found in the input '{}'",
                        path.text,
                        to_json_string(&input)
                    ),
                )),
            },
            Template::Call { call, .. } => self.call(call, input, sc),
            Template::Object(members) => {
                let out = self.arena.alloc_slice_fill_copy(members.len(), ("", Value::Null));
                for (slot, (k, t)) in out.iter_mut().zip(members.iter()) {
                    *slot = (k, self.template(t, input, sc)?);
                }
                Ok(Value::Object(out))
            }
            Template::Array(items) => {
                let out = self.arena.alloc_slice_fill_copy(items.len(), Value::Null);
                for (slot, t) in out.iter_mut().zip(items.iter()) {
                    *slot = self.template(t, input, sc)?;
                }
                Ok(Value::Array(out))
            }
        }
    }

    /// Evaluates an intrinsic call; failures are States.Runtime, as AWS reports them.
    fn call(
        &mut self,
        c: &'a Call,
        input: Value<'a>,
        sc: &StateCtx<'a>,
    ) -> Result<Value<'a>, Fault<'a>> {
        let mut args: bumpalo::collections::Vec<'a, Value<'a>> =
            bumpalo::collections::Vec::with_capacity_in(c.args.len(), self.arena);
        for a in c.args.iter() {
            let v = match a {
                Arg::Const(k) => k.materialize(self.arena),
                Arg::Path(p) => match self.eval_path(p, input, sc) {
                    Some(v) => v,
                    None => {
                        return Err(self.runtime(
                            sc,
                            format!(
                                "The function '{}' had the following error: The JsonPath argument for the field '{}' could not be found in the input '{}'",
                                c.text,
                                p.text,
                                to_json_string(&input)
                            ),
                        ))
                    }
                },
                Arg::Call(inner) => self.call(inner, input, sc)?,
            };
            args.push(v);
        }
        let mut env = intrinsics::Env {
            arena: self.arena,
            rng: &mut self.rng,
        };
        c.apply(&mut env, &args).map_err(|f| {
            let msg = format!(
                "The function '{}' had the following error: {}",
                c.text, f.cause
            );
            let mut fault = self.runtime(sc, msg);
            if f.error != "States.IntrinsicFailure" {
                fault.error = Some(f.error);
            }
            fault
        })
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
    let secs = if r.jitter_full {
        capped * rng.next_f64()
    } else {
        capped
    };
    (secs * 1000.0).min(u64::MAX as f64 / 2.0) as u64
}
