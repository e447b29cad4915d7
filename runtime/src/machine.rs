//! [`StateMachine`] (compiled once, shared), [`Scratch`] (per worker), and the results of an
//! execution.

use crate::bytecode::Program;
use crate::common::{Rng, Status};
use crate::config::{Clock, Config, Identity, RuntimeLimits};
use crate::error::{Error, ErrorKind};
use crate::handler::{Allow, Bound, Handlers};
use crate::value::{parse_in_place, validate_canonical, write_json, write_json_with_input, ParseBuffers, Value, INPUT};
use crate::vm::{BatchRunner, FaultKind, HelperJob, Helpers, ItemBatch, Journal, Scratch, Spread, Vm};
use bumpalo::Bump;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// How the cause of a `States.Runtime` failure for an event that is not JSON begins; the
/// parser's description follows. Hosts that know more (a line number) can replace it.
pub const INVALID_INPUT_CAUSE: &str = "The execution input is not valid JSON: ";

/// The cause of `States.DataLimitExceeded` for an input of `len` bytes, over the limit of
/// `max`: what [`StateMachine::execute`] says, for front ends that do not read such an input
/// whole (a stream line, standard input) and so cannot give it.
pub fn oversized_input_cause(len: u64, max: usize) -> String {
    format!("The input of {len} bytes exceeds the maximum of {max} bytes")
}

/// Builds a [`StateMachine`]: handlers and configuration, then [`Builder::compile`].
pub struct Builder {
    handlers: Handlers,
    config: Config,
    optimize: bool,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("handlers", &self.handlers)
            .field("config", &self.config)
            .field("optimize", &self.optimize)
            .finish()
    }
}

impl Default for Builder {
    fn default() -> Self {
        Builder { handlers: Handlers::default(), config: Config::default(), optimize: true }
    }
}

impl Builder {
    /// Whether to optimise the program (on by default). Off, the machine runs the unoptimised
    /// reference program: every transition an explicit jump, no fused or specialised op, every
    /// path through the general evaluator, the event always parsed and nothing spread over other
    /// workers. It is slower, and gives byte-identical outcomes: it is the specification every
    /// optimisation is checked against.
    ///
    /// ```
    /// use aslrt::{Scratch, StateMachine};
    ///
    /// let definition = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","ResultPath":"$.x","OutputPath":"$.x","End":true}}}"#;
    /// let reference = StateMachine::builder().optimize(false).compile(definition)?;
    /// let optimized = StateMachine::compile(definition)?;
    /// let (mut a, mut b) = (Scratch::new(), Scratch::new());
    /// assert_eq!(reference.execute(&mut a, br#"{"id":1}"#), optimized.execute(&mut b, br#"{"id":1}"#));
    /// # Ok::<(), aslrt::Error>(())
    /// ```
    pub fn optimize(mut self, on: bool) -> Self {
        self.optimize = on;
        self
    }

    /// Replaces the Task handlers with `handlers`.
    pub fn handlers(mut self, handlers: Handlers) -> Self {
        self.handlers = handlers;
        self
    }

    /// Registers a synchronous handler for `resource`: a Task's `Resource` ARN, or for
    /// `arn:aws:states:::lambda:invoke`, a `FunctionName` (a bare name or a function ARN).
    ///
    /// # Example
    ///
    /// ```
    /// use aslrt::{JsonFn, Scratch, StateMachine};
    ///
    /// let machine = StateMachine::builder()
    ///     .handler("arn:aws:lambda:us-east-1:123456789012:function:double", JsonFn(|v: serde_json::Value| {
    ///         Ok(serde_json::json!(v["n"].as_i64().unwrap_or(0) * 2))
    ///     }))
    ///     .compile(r#"{"StartAt":"T","States":{"T":{"Type":"Task",
    ///         "Resource":"arn:aws:lambda:us-east-1:123456789012:function:double","End":true}}}"#)?;
    /// assert_eq!(machine.execute(&mut Scratch::new(), br#"{"n":21}"#).output, Some("42"));
    /// # Ok::<(), aslrt::Error>(())
    /// ```
    pub fn handler(mut self, resource: impl Into<String>, h: impl crate::handler::TaskHandler + 'static) -> Self {
        self.handlers.insert(resource, h);
        self
    }

    /// Registers an asynchronous handler (see [`crate::handler::AsyncTaskHandler`]).
    pub fn async_handler(
        mut self,
        resource: impl Into<String>,
        h: impl crate::handler::AsyncTaskHandler + 'static,
    ) -> Self {
        self.handlers.insert_async(resource, h);
        self
    }

    /// Replaces the whole configuration.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Sets the limits of each execution ([`Config::limits`]).
    pub fn limits(mut self, limits: RuntimeLimits) -> Self {
        self.config.limits = limits;
        self
    }

    /// Allows Tasks to invoke only `resources` ([`Config::allowed_resources`]).
    pub fn allow_resources<S: Into<String>>(mut self, resources: impl IntoIterator<Item = S>) -> Self {
        self.config = self.config.allow_resources(resources);
        self
    }

    /// Sets the clock ([`Config::clock`]).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.config.clock = clock;
        self
    }

    /// Sets the seed of the random source ([`Config::seed`]).
    pub fn seed(mut self, seed: Option<u64>) -> Self {
        self.config.seed = seed;
        self
    }

    /// Sets the names the context object reports ([`Config::identity`]).
    pub fn identity(mut self, identity: Identity) -> Self {
        self.config.identity = identity;
        self
    }

    /// Validates and compiles `definition` (ASL JSON text).
    pub fn compile(self, definition: &str) -> Result<StateMachine, Error> {
        let limits = &self.config.limits;
        let refuse = |location: &str, message: String| {
            let d = crate::asl::Diagnostic {
                code: "SCHEMA_VALIDATION_FAILED",
                location: location.into(),
                message,
                note: None,
            };
            Err(Error::new(ErrorKind::InvalidDefinition(vec![d])))
        };
        if definition.len() > limits.max_definition_bytes {
            return refuse(
                "",
                format!(
                    "the definition is {} bytes, more than the {} a definition may have (RuntimeLimits::max_definition_bytes)",
                    crate::common::thousands(definition.len() as u64),
                    crate::common::thousands(limits.max_definition_bytes as u64)
                ),
            );
        }
        let def = crate::asl::parse(definition).map_err(|d| Error::new(ErrorKind::InvalidDefinition(d)))?;
        if let Some(d) = nested_too_deep(&def.machine, 0, limits.max_depth) {
            return Err(Error::new(ErrorKind::InvalidDefinition(vec![d])));
        }
        let states = count_states(&def.machine);
        if states > limits.max_states {
            return refuse(
                "/States",
                format!(
                    "the definition has {} states, counting those in Parallel branches and Map processors, more \
                     than the {} a definition may have (RuntimeLimits::max_states)",
                    crate::common::thousands(states as u64),
                    crate::common::thousands(limits.max_states as u64)
                ),
            );
        }
        let allow = self.config.allowed_resources.as_ref().map(|patterns| {
            let identity = &self.config.identity;
            Allow::new(patterns, &identity.state_machine_arn, &identity.role_arn)
        });
        if let Some(allow) = &allow {
            let mut refused = Vec::new();
            not_allowed(&def.machine, allow, &mut refused);
            if !refused.is_empty() {
                return Err(Error::new(ErrorKind::InvalidDefinition(refused)));
            }
        }
        let options = crate::compile::Options { optimize: self.optimize };
        let program = crate::compile::compile(&def, options)?;
        let bound = Bound::new(&program.resources, self.handlers, allow);
        let branch_nanos = program.machines.iter().map(|_| AtomicU64::new(0)).collect();
        Ok(StateMachine { inner: Arc::new(Inner { program, bound, config: self.config, branch_nanos }) })
    }
}

/// The first Parallel or Map state whose branches or iterations would run past `max` levels of
/// nesting (the top level is level 0; `RuntimeLimits::max_depth`), as a definition diagnostic:
/// a definition that compiles does not fail on its nesting at run time.
fn nested_too_deep(m: &crate::asl::ast::Machine, level: u32, max: u32) -> Option<crate::asl::Diagnostic> {
    for s in &m.states {
        for machine in s.nested() {
            if level + 1 >= max {
                return Some(crate::asl::Diagnostic {
                    // AWS's code for it: "The states are too deeply nested".
                    code: "TOO_DEEPLY_NESTED",
                    location: s.pointer.clone(),
                    message: format!(
                        "Parallel and Map states nest {} deep here; at most {} may nest (RuntimeLimits::max_depth is {max}, the top level included)",
                        level + 1,
                        max.saturating_sub(1)
                    ),
                    note: None,
                });
            }
            if let Some(d) = nested_too_deep(machine, level + 1, max) {
                return Some(d);
            }
        }
    }
    None
}

/// The states of `m`, those of the machines nested in them included.
fn count_states(m: &crate::asl::ast::Machine) -> usize {
    m.states.iter().map(|s| 1 + s.nested().iter().map(count_states).sum::<usize>()).sum()
}

/// A diagnostic for each Task whose Resource the allow-list does not allow (`lambda:invoke` is
/// checked by its FunctionName when it runs).
fn not_allowed(m: &crate::asl::ast::Machine, allow: &Allow, out: &mut Vec<crate::asl::Diagnostic>) {
    use crate::asl::ast::StateKind;
    for s in &m.states {
        match &s.kind {
            StateKind::Task(t) if t.resource != crate::handler::LAMBDA_INVOKE && !allow.allows(&t.resource) => {
                out.push(crate::asl::Diagnostic {
                    code: "SCHEMA_VALIDATION_FAILED",
                    location: format!("{}/Resource", s.pointer),
                    message: format!(
                        "the resource '{}' is not among the resources this state machine may invoke",
                        t.resource
                    ),
                    note: None,
                });
            }
            _ => {}
        }
        s.nested().iter().for_each(|inner| not_allowed(inner, allow, out));
    }
}

struct Inner {
    program: Program,
    bound: Bound,
    config: Config,
    /// Each machine's average run as a Parallel branch, for spreading heavy branches over idle
    /// workers (`vm::spread`).
    branch_nanos: Box<[AtomicU64]>,
}

/// A compiled state machine: immutable, cheap to clone, shared across threads.
#[derive(Clone)]
pub struct StateMachine {
    inner: Arc<Inner>,
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<StateMachine>();
};

impl BatchRunner for StateMachine {
    fn helper_job(&self, batch: Arc<ItemBatch>) -> HelperJob {
        let machine = self.clone();
        Box::new(move |scratch, run| {
            if run {
                machine.help(scratch, &batch);
            }
        })
    }
}

/// The result of one execution, borrowing the [`Scratch`] it ran in: StartSyncExecution's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Execution<'s> {
    /// How the execution ended.
    pub status: Status,
    /// State transitions the execution made (CloudWatch's StateTransitions).
    pub transitions: u64,
    /// The output JSON, when SUCCEEDED.
    pub output: Option<&'s str>,
    /// The error name (`States.TaskFailed`, a Fail state's `Error`…), when FAILED or TIMED_OUT;
    /// `None` when the failure named none (a Fail state without `Error`).
    pub error: Option<&'s str>,
    /// The cause, as AWS words it, when FAILED or TIMED_OUT; `None` when there is none.
    pub cause: Option<&'s str>,
}

impl Execution<'_> {
    /// An execution stopped before its first state (status `ABORTED`, nothing else).
    pub const ABORTED: Execution<'static> =
        Execution { status: Status::Aborted, transitions: 0, output: None, error: None, cause: None };

    /// Appends the members of [`Outcome::to_json_line`]'s object, `"status":…,"output":…` or
    /// `"status":…,"error":…,"cause":…`, to `out`: the output as the execution wrote it.
    pub fn write_fields(&self, out: &mut String) {
        let text = |out: &mut String, s: Option<&str>| match s {
            Some(s) => crate::value::write_str(out, s),
            None => out.push_str("null"),
        };
        out.push_str("\"status\":\"");
        out.push_str(self.status.as_str());
        match (self.status, self.output) {
            (Status::Succeeded, output) => {
                out.push_str("\",\"output\":");
                out.push_str(output.unwrap_or("null"));
            }
            _ => {
                out.push_str("\",\"error\":");
                text(out, self.error);
                out.push_str(",\"cause\":");
                text(out, self.cause);
            }
        }
    }

    /// An owned copy.
    pub fn to_outcome(&self) -> Outcome {
        Outcome {
            status: self.status,
            transitions: self.transitions,
            output: self.output.map(str::to_owned),
            error: self.error.map(str::to_owned),
            cause: self.cause.map(str::to_owned),
        }
    }
}

/// An owned execution result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// How the execution ended.
    pub status: Status,
    /// State transitions the execution made.
    pub transitions: u64,
    /// The output JSON, when SUCCEEDED.
    pub output: Option<String>,
    /// The error name, when FAILED or TIMED_OUT (see [`Execution::error`]).
    pub error: Option<String>,
    /// The cause, when FAILED or TIMED_OUT (see [`Execution::cause`]).
    pub cause: Option<String>,
}

impl Outcome {
    /// This outcome as a borrowed [`Execution`].
    pub fn as_execution(&self) -> Execution<'_> {
        Execution {
            status: self.status,
            transitions: self.transitions,
            output: self.output.as_deref(),
            error: self.error.as_deref(),
            cause: self.cause.as_deref(),
        }
    }

    /// `{"status":"SUCCEEDED","output":…}` or `{"status":"FAILED","error":…,"cause":…}`, as
    /// text: the output is written as the execution wrote it, never parsed again.
    pub fn to_json_line(&self) -> String {
        let mut out = String::from("{");
        self.as_execution().write_fields(&mut out);
        out.push('}');
        out
    }

    /// [`to_json_line`](Self::to_json_line) as a serde_json value. The output is parsed at any
    /// depth the runtime writes (serde_json's own limit of 128 does not apply).
    pub fn to_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert("status".into(), self.status.as_str().into());
        match self.status {
            Status::Succeeded => {
                let out =
                    self.output.as_deref().and_then(|o| parse_unbounded(o).ok()).unwrap_or(serde_json::Value::Null);
                m.insert("output".into(), out);
            }
            _ => {
                m.insert("error".into(), self.error.clone().map_or(serde_json::Value::Null, Into::into));
                m.insert("cause".into(), self.cause.clone().map_or(serde_json::Value::Null, Into::into));
            }
        }
        serde_json::Value::Object(m)
    }
}

impl std::fmt::Debug for StateMachine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = &self.inner.program;
        f.debug_struct("StateMachine")
            .field("machines", &p.machines.len())
            .field("states", &p.machines.iter().map(|m| m.states.len()).sum::<usize>())
            .field("optimized", &p.optimized)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl StateMachine {
    /// A [`Builder`]: handlers, configuration and optimisation, then [`Builder::compile`].
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Compiles `definition` with no handlers and the default configuration.
    pub fn compile(definition: &str) -> Result<StateMachine, Error> {
        Builder::default().compile(definition)
    }

    /// The compiled program's disassembly.
    pub fn disassemble(&self) -> String {
        self.inner.program.to_string()
    }

    /// Runs one execution on `event` (JSON bytes), reusing `scratch`.
    pub fn execute<'s>(&self, scratch: &'s mut Scratch, event: &[u8]) -> Execution<'s> {
        self.execute_inner(scratch, event, None, None)
    }

    /// Like [`execute`](Self::execute), but stops with status `ABORTED` (no output, error or
    /// cause) once `cancel` is cancelled: before the next state is entered, or within 20 ms
    /// while a Wait state or a retry back-off waits on the system clock.
    pub fn execute_cancellable<'s>(&self, scratch: &'s mut Scratch, event: &[u8], cancel: &Cancel) -> Execution<'s> {
        if cancel.is_cancelled() {
            return Execution::ABORTED;
        }
        self.execute_inner(scratch, event, Some(&cancel.0), None)
    }

    /// A new journal for a suspendable execution of this machine (see [`Journal`]).
    pub(crate) fn journal(&self, salt: u64) -> Journal {
        let seed = self.inner.config.seed.unwrap_or_else(|| Rng::unseeded(salt).next_u64());
        Journal::new(seed)
    }

    /// What a VM running this machine needs to spread Map items and Parallel branches over
    /// `helpers` (see `vm::spread`).
    fn spread<'s>(&'s self, helpers: &'s Arc<dyn Helpers>) -> Spread<'s> {
        Spread { helpers, machine: self, branch_nanos: &self.inner.branch_nanos }
    }

    /// A helper's part of a spread Map or Parallel (see `vm::spread`): takes runs of `batch`
    /// in this worker's scratch until none are left.
    fn help(&self, scratch: &mut Scratch, batch: &ItemBatch) {
        let Scratch { arena, parse, helpers, .. } = scratch;
        arena.reset();
        let arena: &Bump = arena;
        let inner = &*self.inner;
        // Parsed when the first run is taken: a helper that comes late finds none.
        let mut shared = None;
        batch.help(|batch, k| {
            let (vars, execution_input) = match shared.get_or_insert_with(|| batch.parse_shared(arena, parse)) {
                Ok((vars, input)) => (&*vars, *input),
                Err(why) => return ItemBatch::unreadable(why),
            };
            let rng = Rng::seeded(0);
            let mut vm = Vm::new(arena, &inner.program, &inner.bound, &inner.config, rng, execution_input, parse);
            // A helper's runs may spread further, over workers idle still.
            vm.spread = helpers.as_ref().map(|helpers| self.spread(helpers));
            batch.run_item(&mut vm, k, vars)
        });
    }

    /// How this machine runs: its limits, clock, identity and seed.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Whether an execution may suspend when run by a `Runtime`: it waits on the system clock
    /// (a Wait state or a Retry back-off) or may call an asynchronous handler.
    pub fn may_suspend(&self) -> bool {
        (self.inner.config.clock == Clock::System && self.inner.program.may_wait) || self.inner.bound.has_async()
    }

    /// The name of Task resource `id`, as written in the definition.
    pub(crate) fn resource_name(&self, id: crate::bytecode::ResourceId) -> &str {
        &self.inner.program.resources[id.index()]
    }

    /// When the execution's time limit runs out on the system clock, for a suspended
    /// execution's handler waits. `None` on a virtual clock, where only Waits and back-offs
    /// spend the limit, as in one run: a handler's wait is bounded by its TimeoutSeconds alone.
    pub(crate) fn deadline_millis(&self, journal: &Journal) -> Option<i64> {
        if self.inner.config.clock != Clock::System {
            return None;
        }
        let limit = crate::vm::execution_timeout_millis(&self.inner.program, &self.inner.config.limits);
        journal.start_millis.map(|s| s.saturating_add(i64::try_from(limit).unwrap_or(i64::MAX)))
    }

    /// One run of a suspendable execution: `None` when it stopped to wait, with what it waits
    /// for in `journal`; the next run, once that is resolved, starts at the state it stopped in
    /// (the journal's resume point) and goes on.
    pub(crate) fn execute_resumable<'s>(
        &self,
        scratch: &'s mut Scratch,
        event: &[u8],
        cancel: &AtomicBool,
        journal: &mut Journal,
    ) -> Option<Execution<'s>> {
        if cancel.load(Ordering::Relaxed) {
            return Some(Execution::ABORTED);
        }
        journal.rewind();
        let run = self.execute_inner(scratch, event, Some(cancel), Some(&mut *journal));
        if journal.suspended {
            None
        } else {
            Some(run)
        }
    }

    fn execute_inner<'s>(
        &self,
        scratch: &'s mut Scratch,
        event: &[u8],
        cancel: Option<&AtomicBool>,
        journal: Option<&mut Journal>,
    ) -> Execution<'s> {
        let Scratch { arena, parse, event: buf, output, executions, helpers } = scratch;
        arena.reset();
        output.clear();
        *executions += 1;
        let cfg = &self.inner.config;
        let fail = |error: &'static str, cause: String, arena: &'s Bump| Execution {
            status: Status::Failed,
            transitions: 0,
            output: None,
            error: Some(error),
            cause: Some(arena.alloc_str(&cause)),
        };
        if event.len() > cfg.limits.max_payload_bytes {
            let cause = oversized_input_cause(event.len() as u64, cfg.limits.max_payload_bytes);
            return fail("States.DataLimitExceeded", cause, arena);
        }
        // Whitespace around the document means nothing in JSON; without it, an event spelled as
        // the writer would spell it (the usual event line, newline and all) can be passed
        // through unparsed, with the output the unoptimised program writes.
        let event = trim_json_whitespace(event);
        buf.clear();
        buf.extend_from_slice(event);
        let arena: &'s Bump = arena;
        // A program that never inspects its input does not need its value tree: an event spelled
        // as the writer would spell it is only validated, and written back as it is wherever the
        // program outputs it. Any other is parsed (validation unescaped its strings in place, so
        // from a fresh copy), and written as the writer spells it, as the unoptimised program,
        // which parses every event, writes it.
        let pass_through =
            !self.inner.program.reads_input && validate_canonical(buf.as_mut_slice(), event, parse).unwrap_or(false);
        let raw = if pass_through { std::str::from_utf8(event).ok() } else { None };
        let parsed = if raw.is_some() {
            Ok(Value::Str(INPUT))
        } else {
            if !self.inner.program.reads_input {
                buf.clear();
                buf.extend_from_slice(event);
            }
            parse_in_place(arena, buf.as_mut_slice(), parse)
        };
        let input = match parsed {
            Ok(v) => v,
            Err(e) => {
                // simd-json's errors can be terse ("InternalError"): say what is wrong and where,
                // in plain words. The event is malformed, so this path is cold.
                let why = crate::value::explain_invalid_json(event, &e.to_string());
                return fail("States.Runtime", format!("{INVALID_INPUT_CAUSE}{why}"), arena);
            }
        };
        let rng = match (cfg.seed, &journal) {
            (_, Some(j)) => Rng::seeded(j.seed),
            (Some(seed), None) => Rng::seeded(seed),
            (None, None) => Rng::unseeded(*executions),
        };
        // Spreading keeps an execution's outcome as it is only on the system clock, without a
        // configured seed (the runs' random draws would depend on their timing), and for
        // machines that never suspend: a helper never holds its worker in a Wait, and no replay
        // calls a handler twice (see `vm::spread`).
        let spread = helpers
            .as_ref()
            .filter(|_| self.inner.program.optimized)
            .filter(|_| cfg.clock == Clock::System && cfg.seed.is_none() && !self.may_suspend())
            .map(|helpers| self.spread(helpers));
        let extra = RunExtra { raw_input: raw, cancel, journal, spread };
        run_vm(&self.inner, arena, input, rng, output, parse, extra)
    }

    /// Convenience: runs on a serde_json value with a fresh scratch, returning an owned result.
    pub fn execute_json(&self, input: &serde_json::Value) -> Outcome {
        let mut scratch = Scratch::new();
        let bytes = serde_json::to_vec(input).unwrap_or_default();
        self.execute(&mut scratch, &bytes).to_outcome()
    }
}

/// What an execution may carry besides its input: the event's bytes when the input is passed
/// through unparsed, a cancellation flag, and the journal of a suspendable execution.
struct RunExtra<'e> {
    raw_input: Option<&'e str>,
    cancel: Option<&'e AtomicBool>,
    journal: Option<&'e mut Journal>,
    spread: Option<Spread<'e>>,
}

fn run_vm<'s>(
    inner: &Inner,
    arena: &'s Bump,
    input: Value<'s>,
    rng: Rng,
    output: &'s mut String,
    parse: &mut ParseBuffers,
    RunExtra { raw_input, cancel, journal, spread }: RunExtra<'_>,
) -> Execution<'s> {
    let cfg = &inner.config;
    // The VM runs for a lifetime shorter than both the program borrow and 's: its output is
    // serialized into `output` and its error strings are copied into the arena before it ends.
    let transitions;
    let outcome = {
        let mut vm = Vm::new(arena, &inner.program, &inner.bound, cfg, rng, input, parse);
        vm.cancel = cancel;
        vm.spread = spread;
        let mut journal = journal;
        if let Some(start) = journal.as_ref().and_then(|j| j.start_millis) {
            vm.start_millis.set(Some(start));
        }
        // A run after a suspension starts where the last one stopped (see `vm::Resume`).
        let resume = journal.as_deref_mut().and_then(|j| j.resume.take());
        vm.journal = journal;
        let result = match &resume {
            Some(r) => vm.resume(r),
            None => vm.run(input),
        };
        let start = vm.start_millis.get();
        // Stopped at the top, not merely somewhere: a branch that waited while another failed
        // does not hold back the outcome.
        let suspended = matches!(&result, Err(f) if f.kind == FaultKind::Suspended);
        let points = vm.journal.as_deref().is_some_and(|j| j.resume_points);
        let point = if suspended && points { vm.resume_point(raw_input) } else { None };
        let stopped_in = vm.mark.as_ref().filter(|_| suspended).map(|m| m.at.seq);
        if let Some(j) = vm.journal.as_deref_mut() {
            j.start_millis = j.start_millis.or(start);
            j.suspended = suspended;
            match point {
                Some(p) => j.resume_at(p),
                None => {
                    if let Some(seq) = stopped_in {
                        j.abandon_before(seq);
                    }
                    j.resume = resume;
                }
            }
        }
        transitions = vm.transitions;
        match result {
            Ok(v) => {
                match raw_input {
                    Some(raw) => write_json_with_input(output, &v, raw),
                    None => write_json(output, &v),
                }
                Ok(())
            }
            Err(f) => Err((f.kind, f.error.map(|e| &*arena.alloc_str(e)), f.cause.map(|c| &*arena.alloc_str(c)))),
        }
    };
    match outcome {
        Ok(()) => {
            if output.len() > cfg.limits.payload_bytes() {
                // Past the writer's limit the output was cut short: its length is not the
                // value's, and not the same in every mode (see `common::WRITE_LIMIT`).
                let cause = match output.len() > crate::common::WRITE_LIMIT {
                    true => format!("The execution output exceeds the maximum of {} bytes", cfg.limits.payload_bytes()),
                    false => format!(
                        "The execution output of {} bytes exceeds the maximum of {} bytes",
                        output.len(),
                        cfg.limits.payload_bytes()
                    ),
                };
                return Execution {
                    status: Status::Failed,
                    transitions,
                    output: None,
                    error: Some("States.DataLimitExceeded"),
                    cause: Some(arena.alloc_str(&cause)),
                };
            }
            Execution {
                status: Status::Succeeded,
                transitions,
                output: Some(output.as_str()),
                error: None,
                cause: None,
            }
        }
        // A suspended run's result is not used: the caller sees the journal's suspension.
        Err((FaultKind::Aborted | FaultKind::Suspended, _, _)) => Execution { transitions, ..Execution::ABORTED },
        Err((kind, error, cause)) => Execution {
            status: if kind == FaultKind::TimedOut { Status::TimedOut } else { Status::Failed },
            transitions,
            output: None,
            error: if kind == FaultKind::TimedOut { Some("States.Timeout") } else { error },
            cause,
        },
    }
}

/// A cancellation handle for one or more executions, like StopExecution: cheap to clone, and
/// cancelling any clone stops every execution run with it (see
/// [`StateMachine::execute_cancellable`]). Cancellation cannot be undone.
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A handle not cancelled yet.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Cancels every execution run with this handle or a clone of it.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// `text` parsed by serde_json without its recursion limit, on a stack that grows as deep as the
/// value goes.
fn parse_unbounded(text: &str) -> serde_json::Result<serde_json::Value> {
    use serde::Deserialize;
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    let value = serde_json::Value::deserialize(serde_stacker::Deserializer::new(&mut de))?;
    de.end()?;
    Ok(value)
}

/// `text` without the JSON whitespace (space, tab, line feed, carriage return) around it.
fn trim_json_whitespace(mut text: &[u8]) -> &[u8] {
    let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    while let [first, rest @ ..] = text {
        if !ws(first) {
            break;
        }
        text = rest;
    }
    while let [rest @ .., last] = text {
        if !ws(last) {
            break;
        }
        text = rest;
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::Waiting;
    use crate::handler::{AsyncFn, Handlers, TaskError};
    use crate::vm::{Entry, Journal, Suspension};

    /// Each state's entry time is taken (and journaled) only in a program that may read
    /// `$$.State.EnteredTime`: through a path, an intrinsic's argument, `$$` whole, or JSONata's
    /// `$states` other than its input, result, error and the context's other members.
    #[test]
    fn the_entry_time_is_taken_only_where_it_may_be_read() {
        use serde_json::json;
        let reads =
            |d: serde_json::Value| StateMachine::compile(&d.to_string()).unwrap().inner.program.reads_entered_time;
        let pass = |p: serde_json::Value| json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": p, "End": true}}});
        let jsonata = |output: &str| json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {"P": {"Type": "Pass", "Output": output, "End": true}}});
        for (definition, expect) in [
            (pass(json!({"t.$": "$$.State.EnteredTime"})), true),
            (pass(json!({"t.$": "$$"})), true),
            (pass(json!({"t.$": "States.Format('{}', $$.State.EnteredTime)"})), true),
            (pass(json!({"t.$": "$$.State.Name", "r.$": "$$.State.RetryCount"})), false),
            (pass(json!({"t.$": "States.Format('{}', $$.Execution.Name)"})), false),
            (jsonata("{% $states.context.State.EnteredTime %}"), true),
            (jsonata("{% ($s := $states; $s.context.State.EnteredTime) %}"), true),
            (jsonata("{% $keys($states.context) %}"), true),
            (jsonata("{% $states.input %}"), false),
            (jsonata("{% $states.context.Execution.Name %}"), false),
            (
                json!({"QueryLanguage": "JSONata", "StartAt": "M", "States": {"M": {"Type": "Map",
                    "Items": "{% $states.input.items %}", "ItemSelector": "{% $states.context.Map.Item.Value %}",
                    "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "P",
                        "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}}),
                false,
            ),
        ] {
            assert_eq!(reads(definition.clone()), expect, "{definition}");
        }
    }

    /// Runs a suspendable execution to its end by hand: each stopped run's waits are answered
    /// (a Task's future driven on `rt`, a sleep taken as done) and the execution runs again.
    /// Returns the outcome, the runs, and how many outcomes the runs read back in all.
    /// `from_start`: with no resume points, as `RuntimeBuilder::replay_from_start` runs it.
    fn run_by_hand(machine: &StateMachine, event: &[u8], from_start: bool) -> (Outcome, usize, u64, Vec<usize>) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (mut scratch, cancel) = (Scratch::new(), AtomicBool::new(false));
        let mut journal = machine.journal(7);
        journal.resume_points = !from_start;
        let (mut runs, mut kept) = (0, Vec::new());
        loop {
            runs += 1;
            if let Some(done) = machine.execute_resumable(&mut scratch, event, &cancel, &mut journal) {
                return (done.to_outcome(), runs, journal.replayed.get(), kept);
            }
            kept.push(journal.entries_len());
            for (site, s) in journal.take_pending() {
                journal.resolve(site, Some(answer(&rt, s)));
            }
        }
    }

    /// What a wait ends with: a Task's future driven on `rt`, a sleep taken as done.
    fn answer(rt: &tokio::runtime::Runtime, s: Suspension) -> Entry {
        match s {
            Suspension::Sleep { .. } => Entry::Waited,
            Suspension::Task { fut, lambda, .. } => {
                let result = match fut {
                    Waiting::Json(fut) => rt.block_on(fut).map(|v| v.to_string()),
                    Waiting::Text(fut) => rt.block_on(fut),
                };
                let result = result.map_err(|e| (e.error.into(), None));
                Entry::Task { result, lambda }
            }
        }
    }

    /// Review of issue #18: a Parallel branch's wait that outlives the Parallel (another
    /// branch failed, the Catch went on to a Task that waits) is answered late. Replayed from
    /// the start, the branch still finds it waiting, as the run that left it did: the outcome
    /// is the one resuming gives, with the failed branch's error (not the late answer's).
    #[test]
    fn a_wait_a_failed_branch_left_stays_unanswered_when_replayed_from_the_start() {
        let definition = r#"{"StartAt":"P","States":{
            "P":{"Type":"Parallel","Next":"C",
                 "Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.err","Next":"C"}],
                 "Branches":[
                   {"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::aslrt:a","End":true}}},
                   {"StartAt":"B","States":{"B":{"Type":"Task","Resource":"arn:aws:states:::aslrt:b","End":true}}}]},
            "C":{"Type":"Task","Resource":"arn:aws:states:::aslrt:c","ResultPath":"$.c","End":true}}}"#;
        let mut handlers = Handlers::new();
        for (name, answer) in [("a", Err("FromA")), ("b", Err("FromB")), ("c", Ok(1))] {
            handlers.insert_async(
                format!("arn:aws:states:::aslrt:{name}"),
                AsyncFn(move |_: serde_json::Value, _| async move {
                    tokio::task::yield_now().await;
                    answer.map(|n| serde_json::json!(n)).map_err(|e| TaskError::new(e, "failed"))
                }),
            );
        }
        let machine = StateMachine::builder().handlers(handlers).compile(definition).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (mut scratch, cancel) = (Scratch::new(), AtomicBool::new(false));
        let mut outputs = Vec::new();
        for from_start in [false, true] {
            let mut journal = machine.journal(7);
            journal.resume_points = !from_start;
            let mut run = |journal: &mut Journal| {
                machine.execute_resumable(&mut scratch, b"{}", &cancel, journal).map(|e| e.to_outcome())
            };
            assert!(run(&mut journal).is_none(), "both branches wait");
            let mut waits: Vec<_> =
                journal.take_pending().into_iter().map(|(site, s)| (site, answer(&rt, s))).collect();
            assert_eq!(waits.len(), 2);
            let from_a = |e: &Entry| matches!(e, Entry::Task { result: Err((name, _)), .. } if name == "FromA");
            waits.sort_by_key(|(_, e)| from_a(e));
            let (a, b) = (waits.pop().unwrap(), waits.pop().unwrap());
            assert!(from_a(&a.1), "{a:?}");
            journal.resolve(b.0, Some(b.1));
            assert!(run(&mut journal).is_none(), "B fails the Parallel; the Catch goes on to C, which waits");
            let c: Vec<_> = journal.take_pending().into_iter().map(|(site, s)| (site, answer(&rt, s))).collect();
            assert_eq!(c.len(), 1);
            // A's answer comes late, then C's.
            journal.resolve(a.0, Some(a.1));
            journal.resolve(c[0].0, Some(c[0].1.clone()));
            let done = run(&mut journal).expect("the execution ends");
            assert_eq!(done.status, Status::Succeeded, "{done:?}");
            outputs.push(done.output);
        }
        assert!(outputs[0].as_deref().is_some_and(|o| o.contains("FromB") && o.ends_with(r#""c":1}"#)), "{outputs:?}");
        assert_eq!(outputs[0], outputs[1], "resumed, then replayed from the start");
    }

    /// Issue #18: a run after a suspension starts at the top-level state it stopped in, so an
    /// execution of K sequential asynchronous Tasks reads back K outcomes in all (one per
    /// Task), not K(K+1)/2, and its journal never holds more than the current state's.
    #[test]
    fn a_resumed_run_starts_at_the_state_it_stopped_in() {
        const K: usize = 40;
        let states: Vec<String> = (1..=K)
            .map(|i| {
                let next = if i == K { r#""End":true"#.to_owned() } else { format!(r#""Next":"T{}""#, i + 1) };
                format!(
                    r#""T{i}":{{"Type":"Task","Resource":"arn:aws:states:::aslrt:r","ResultSelector":{{"n.$":"States.MathAdd($.n, 1)"}},"ResultPath":"$.acc",{next}}}"#
                )
            })
            .collect();
        let definition = format!(r#"{{"StartAt":"T1","States":{{{}}}}}"#, states.join(","));
        let mut handlers = Handlers::new();
        // Answers later (not ready when first polled) with the count so far.
        handlers.insert_async(
            "arn:aws:states:::aslrt:r",
            AsyncFn(|input: serde_json::Value, _| async move {
                tokio::task::yield_now().await;
                let n = input.pointer("/acc/n").and_then(serde_json::Value::as_i64).unwrap_or(0);
                Ok::<_, TaskError>(serde_json::json!({ "n": n }))
            }),
        );
        let machine = StateMachine::builder().handlers(handlers).compile(&definition).unwrap();
        let (outcome, runs, replayed, kept) = run_by_hand(&machine, br#"{"id":"e-1"}"#, false);
        assert_eq!(outcome.status, Status::Succeeded, "{outcome:?}");
        assert_eq!(outcome.output.as_deref(), Some(r#"{"id":"e-1","acc":{"n":40}}"#));
        assert_eq!(outcome.transitions, K as u64);
        assert_eq!(runs, K + 1);
        assert_eq!(replayed, K as u64, "outcomes read back over {runs} runs");
        assert!(kept.iter().all(|&n| n == 0), "entries kept after each stop: {kept:?}");
        // Replayed from the start (`RuntimeBuilder::replay_from_start`): the same outcome,
        // every earlier outcome read back at each run (1 + 2 + … + K), all of them kept.
        let (again, runs, replayed, kept) = run_by_hand(&machine, br#"{"id":"e-1"}"#, true);
        assert_eq!((again.output, again.transitions, runs), (outcome.output, outcome.transitions, K + 1));
        assert_eq!(replayed, (K * (K + 1) / 2) as u64, "outcomes read back over {runs} runs");
        assert_eq!(kept, (0..K).collect::<Vec<_>>(), "entries kept after each stop");
    }
}
