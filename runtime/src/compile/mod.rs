//! [`Definition`] → [`Program`]: each machine becomes one flat op stream, state names become
//! [`StateId`]s and jump targets, everything else moves into the program's pools.
//!
//! One file per kind of state: `state.rs` (Pass, Succeed, Fail, Wait), `choice.rs`, `task.rs`
//! (Task, Parallel, Map and their Retry/Catch), `template.rs` (payload templates and intrinsic
//! calls).
// Internal (reached by the crate's own tools through `internal`): documented where it helps,
// not item by item.
#![allow(missing_docs)]

mod choice;
mod state;
mod task;
mod template;

use crate::asl::ast::{Definition, ErrorHandling, Machine, State, StateKind, Transition};
use crate::bytecode::*;
use crate::intrinsics::{Arg, Call};
use crate::path::{Path, ReferencePath, Root};
use std::collections::HashMap;

/// How to compile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Let a transition to the next state in the layout fall through, fuse and specialise ops
    /// and plan path walks. Off, the program is the unoptimised reference: every transition an
    /// explicit jump, only general ops, every path through the general evaluator. Both must give
    /// byte-identical outcomes.
    pub optimize: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { optimize: true }
    }
}

/// Why a definition could not be compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CompileError {
    /// More of something than the compiled form can index (16-bit pool indices): what.
    TooLarge(String),
    /// A compiler bug: what went wrong.
    Internal(String),
}

impl CompileError {
    #[cold]
    fn internal(what: impl Into<String>) -> CompileError {
        CompileError::Internal(what.into())
    }
}

/// The compiler's results.
pub(crate) type Result<T> = std::result::Result<T, CompileError>;

/// Compiles a validated definition and verifies the result. An `Err` is a definition too large
/// for 16-bit pool indices, or a compiler bug.
pub fn compile(def: &Definition, options: Options) -> Result<Program> {
    let mut c = Compiler {
        program: Program {
            timeout_seconds: def.machine.timeout_seconds,
            variables: def.variables.iter().map(|v| v.as_str().into()).collect(),
            optimized: options.optimize,
            ..Program::default()
        },
        optimize: options.optimize,
    };
    c.machine(&def.machine)?;
    verify::verify(&mut c.program).map_err(|e| CompileError::internal(format!("bytecode verification failed: {e}")))?;
    c.program.analyse();
    Ok(c.program)
}

/// A state's Retry table and its Task time-outs (its catchers' landing pads are emitted after
/// every state of its machine).
#[derive(Default)]
pub(crate) struct Handling {
    pub retry: Box<[Retrier]>,
    pub timeout: Option<Seconds>,
    pub heartbeat: Option<Seconds>,
}

pub(crate) struct Compiler {
    pub program: Program,
    /// See [`Options::optimize`].
    pub optimize: bool,
}

/// Pushes `item` onto a pool and returns its 16-bit index.
fn push<T>(pool: &mut Vec<T>, item: T) -> Result<u16> {
    let i = u16::try_from(pool.len())
        .map_err(|_| CompileError::TooLarge("more than 65,536 paths, constants or other entries of one kind".into()))?;
    pool.push(item);
    Ok(i)
}

/// The code of one machine being emitted.
pub(crate) struct Emitter {
    pub code: Vec<Op>,
    labels: Vec<Option<Pc>>,
    /// (op index, label) pairs whose Pc operand is patched at the end.
    patches: Vec<(usize, Label)>,
    /// The label of each state's `Enter`.
    pub state_labels: Vec<Label>,
    pub states: HashMap<String, StateId>,
    /// A transition not emitted yet (optimised programs only): it is dropped when its target
    /// is bound next, so that the code falls through to it, and emitted as a jump before
    /// anything else is. A transition therefore reaches its target whatever is emitted after
    /// it, a catcher's landing pad included.
    pending: Option<Label>,
    /// Fuse ops and let transitions fall through (see [`Options::optimize`]).
    optimize: bool,
}

impl Emitter {
    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() as u32 - 1)
    }

    pub fn bind(&mut self, l: Label) {
        if self.pending == Some(l) {
            self.pending = None;
        } else {
            self.flush();
        }
        self.labels[l.0 as usize] = Some(Pc(self.code.len() as u32));
    }

    /// Emits the pending transition's jump.
    fn flush(&mut self) {
        if let Some(l) = self.pending.take() {
            self.emit_to(Op::Jump, l);
        }
    }

    /// A jump to `l` that may fall through instead, when `l` is bound next.
    fn jump_or_fall_through(&mut self, l: Label) {
        if self.optimize {
            self.flush();
            self.pending = Some(l);
        } else {
            self.emit_to(Op::Jump, l);
        }
    }

    pub fn emit(&mut self, op: Op) {
        self.flush();
        // `object; pop r` becomes one op, unless a jump lands on the pop.
        if let (true, Op::Pop(to), Some(&last)) = (self.optimize, op, self.code.last()) {
            let fused = match last {
                Op::MakeObject { keys, len } => Some(Op::MakeObjectTo { keys, len, to }),
                Op::Object { id, root, to: None } => Some(Op::Object { id, root, to: Some(to) }),
                _ => None,
            };
            let here = Some(Pc(self.code.len() as u32));
            if let Some(fused) = fused.filter(|_| !self.labels.contains(&here)) {
                *self.code.last_mut().expect("checked above") = fused;
                return;
            }
        }
        self.code.push(op);
    }

    /// Emits an op whose Pc operand is `l`, patched once `l` is bound.
    pub fn emit_to(&mut self, make: fn(Pc) -> Op, l: Label) {
        self.flush();
        self.patches.push((self.code.len(), l));
        self.code.push(make(Pc(u32::MAX)));
    }

    pub fn state_label(&self, name: &str) -> Result<Label> {
        self.states
            .get(name)
            .map(|id| self.state_labels[id.index()])
            .ok_or_else(|| CompileError::internal(format!("unresolved state '{name}'")))
    }

    /// The transition at the end of a state: a jump to the next state or the end of the machine.
    pub fn transition(&mut self, t: &Transition) -> Result<()> {
        match t {
            Transition::Next(n) => {
                let l = self.state_label(n)?;
                self.jump_or_fall_through(l);
            }
            Transition::End | Transition::None => self.emit(Op::End),
        }
        Ok(())
    }

    pub fn resolve(&self, l: Label) -> Result<Pc> {
        self.labels[l.0 as usize].ok_or_else(|| CompileError::internal(format!("label {} never bound", l.0)))
    }

    fn finish(mut self) -> Result<Vec<Op>> {
        self.flush();
        for (at, l) in std::mem::take(&mut self.patches) {
            let pc = self.resolve(l)?;
            self.code[at] = match self.code[at] {
                Op::Jump(_) => Op::Jump(pc),
                Op::ChoiceOut(_) => Op::ChoiceOut(pc),
                Op::JumpIfNot(_) => Op::JumpIfNot(pc),
                Op::MapNext(_) => Op::MapNext(pc),
                other => return Err(CompileError::internal(format!("patching {other:?}"))),
            };
        }
        Ok(self.code)
    }
}

impl Compiler {
    pub fn path(&mut self, p: &Path) -> Result<PathId> {
        let p = self.planned(p);
        push(&mut self.program.paths, p).map(PathId)
    }

    /// A copy of `p` for the program: with the walk planned when optimising, general otherwise.
    fn planned(&self, p: &Path) -> Path {
        let mut p = p.clone();
        if self.optimize {
            p.plan();
        }
        p
    }

    /// An intrinsic call into the pool, its path arguments planned as [`Compiler::path`] plans
    /// paths.
    pub fn call_id(&mut self, call: &Call) -> Result<CallId> {
        let call = self.planned_call(call);
        push(&mut self.program.calls, call).map(CallId)
    }

    fn planned_call(&self, call: &Call) -> Call {
        // One clone, planned in place: cloning again at each level cost the cube of the depth.
        fn plan(call: &mut Call) {
            for a in call.args.iter_mut() {
                match a {
                    Arg::Path(p) => p.plan(),
                    Arg::Call(inner) => plan(inner),
                    Arg::Const(_) => {}
                }
            }
        }
        let mut call = call.clone();
        if self.optimize {
            plan(&mut call);
        }
        call
    }

    pub fn ref_path(&mut self, p: &ReferencePath) -> Result<RefPathId> {
        push(&mut self.program.ref_paths, p.clone()).map(RefPathId)
    }

    pub fn constant(&mut self, c: &crate::value::Const) -> Result<ConstId> {
        push(&mut self.program.consts, c.clone()).map(ConstId)
    }

    pub fn string(&mut self, s: &str) -> Result<StrId> {
        push(&mut self.program.strings, s.into()).map(StrId)
    }

    fn machine(&mut self, m: &Machine) -> Result<MachineId> {
        // Reserve the id first: nested machines are compiled while this one is being emitted.
        let id = MachineId(push(
            &mut self.program.machines,
            MachineCode { code: Vec::new(), states: Vec::new(), max_stack: 0 },
        )?);
        let mut e = Emitter {
            code: Vec::new(),
            labels: Vec::new(),
            patches: Vec::new(),
            state_labels: Vec::new(),
            states: HashMap::new(),
            pending: None,
            optimize: self.optimize,
        };
        for (i, s) in m.states.iter().enumerate() {
            let sid = StateId(
                u16::try_from(i)
                    .map_err(|_| CompileError::TooLarge("more than 65,536 states in one machine".into()))?,
            );
            e.states.insert(s.name.clone(), sid);
            let l = e.label();
            e.state_labels.push(l);
        }
        // The machine starts with a jump to StartAt (which falls through when StartAt is the
        // first state).
        let start = e.state_label(&m.start_at)?;
        e.jump_or_fall_through(start);
        let mut infos = Vec::with_capacity(m.states.len());
        for (i, s) in m.states.iter().enumerate() {
            let l = e.state_labels[i];
            e.bind(l);
            let entry = Pc(e.code.len() as u32);
            e.emit(Op::Enter(StateId(i as u16)));
            let Handling { retry, timeout, heartbeat } = self.state(&mut e, s)?;
            infos.push(StateInfo {
                name: s.name.as_str().into(),
                entry,
                retry,
                catch: Box::default(),
                timeout,
                heartbeat,
            });
        }
        // The landing pads come after every state, so that no state's success path runs into
        // one, and a state's transition to the next state in the layout falls through.
        for (info, s) in infos.iter_mut().zip(&m.states) {
            if let Some(errors) = error_handling(s) {
                info.catch = self.landing_pads(&mut e, errors)?;
            }
        }
        let code = e.finish()?;
        self.program.machines[id.index()] = MachineCode { code, states: infos, max_stack: 0 };
        Ok(id)
    }

    /// Emits one state's code after its `Enter`.
    fn state(&mut self, e: &mut Emitter, s: &State) -> Result<Handling> {
        match &s.kind {
            StateKind::Pass { result } => self.pass(e, s, result.as_ref()).map(|()| Default::default()),
            StateKind::Succeed => self.succeed(e, s).map(|()| Default::default()),
            StateKind::Fail { error, cause } => {
                self.fail(e, s, error.as_ref(), cause.as_ref()).map(|()| Default::default())
            }
            StateKind::Wait(w) => self.wait(e, s, w).map(|()| Default::default()),
            StateKind::Choice { choices, default } => {
                self.choice(e, s, choices, default.as_deref()).map(|()| Default::default())
            }
            StateKind::Task(t) => self.task(e, s, t),
            StateKind::Parallel { branches, errors } => self.parallel(e, s, branches, errors),
            StateKind::Map(m) => self.map(e, s, m),
            StateKind::Unreadable => {
                Err(CompileError::internal("an unreadable state (its definition has a diagnostic)"))
            }
        }
    }

    /// A JSONata value into the pool.
    pub fn jt(&mut self, t: &crate::jsonata::JTemplate) -> Result<JtId> {
        push(&mut self.program.jtemplates, t.clone()).map(JtId)
    }

    /// Emits the values of an Assign (JSONPath templates read `root`), then the Assign op.
    pub fn assign(&mut self, e: &mut Emitter, a: &crate::asl::ast::Assign, root: Reg) -> Result<()> {
        let id = self.assign_values(e, a, root)?;
        e.emit(Op::Assign(id));
        Ok(())
    }

    /// Emits the values of an Assign and returns its spec; the caller emits the `Assign` op
    /// where the values take effect (JSONPath: after the state's own OutputPath).
    pub fn assign_values(&mut self, e: &mut Emitter, a: &crate::asl::ast::Assign, root: Reg) -> Result<AssignId> {
        use crate::asl::ast::Assign;
        let slots: Box<[u32]> = match a {
            Assign::JsonPath(v) => {
                for (_, _, t) in v {
                    self.template(e, t, root)?;
                }
                v.iter().map(|(s, _, _)| *s).collect()
            }
            Assign::Jsonata(v) => {
                for (_, _, t) in v {
                    let id = self.jt(t)?;
                    e.emit(Op::PushJsonata(id));
                }
                v.iter().map(|(s, _, _)| *s).collect()
            }
        };
        Ok(AssignId(push(&mut self.program.assigns, AssignSpec { slots })?))
    }

    /// The JSONata values an Output and an Assign evaluate, for [`Compiler::set_states`].
    pub fn jsonata_uses<'t>(
        output: Option<&'t crate::jsonata::JTemplate>,
        assign: Option<&'t crate::asl::ast::Assign>,
    ) -> Vec<Option<&'t crate::jsonata::JTemplate>> {
        let mut uses = vec![output];
        if let Some(crate::asl::ast::Assign::Jsonata(v)) = assign {
            uses.extend(v.iter().map(|(_, _, t)| Some(t)));
        }
        uses
    }

    /// `SetStates` for a JSONata state, with `context` only where an expression may read it (in
    /// an optimised program: the unoptimised one always makes it).
    pub fn set_states(&mut self, e: &mut Emitter, flags: u8, uses: &[Option<&crate::jsonata::JTemplate>]) {
        let ctx = !self.optimize || uses.iter().flatten().any(|t| needs_context(t));
        e.emit(Op::SetStates(flags | if ctx { STATES_CONTEXT } else { 0 }));
    }

    /// A JSONata field into `to`: the template's value, or `absent`'s when the field is not set.
    pub fn jsonata_into(
        &mut self,
        e: &mut Emitter,
        t: Option<&crate::jsonata::JTemplate>,
        to: Reg,
        absent: Reg,
    ) -> Result<()> {
        match t {
            Some(t) => {
                let id = self.jt(t)?;
                e.emit(Op::PushJsonata(id));
                e.emit(Op::Pop(to));
            }
            None => e.emit(Op::Move { to, from: absent }),
        }
        Ok(())
    }

    /// A JSONata Output into `Acc` (`absent`'s value when there is none), then the Assign,
    /// whose root is `assign_root`. Serves states, Choice rules and catchers.
    pub fn jsonata_outcome(
        &mut self,
        e: &mut Emitter,
        output: Option<&crate::jsonata::JTemplate>,
        assign: Option<&crate::asl::ast::Assign>,
        absent: Reg,
        assign_root: Reg,
    ) -> Result<()> {
        self.jsonata_into(e, output, Reg::Acc, absent)?;
        if let Some(a) = assign {
            self.assign(e, a, assign_root)?;
        }
        Ok(())
    }

    /// JSONata Output into `Acc` (or `default` when the state has none), then Assign.
    pub fn jsonata_output_assign(&mut self, e: &mut Emitter, s: &State, default: Reg) -> Result<()> {
        self.jsonata_outcome(e, s.output.as_ref(), s.assign.as_ref(), default, Reg::Raw)
    }

    /// The JSONata tail of a state: Output, Assign, exit, transition.
    pub fn jsonata_exit(&mut self, e: &mut Emitter, s: &State, default: Reg) -> Result<()> {
        self.jsonata_output_assign(e, s, default)?;
        e.emit(Op::Exit);
        e.transition(&s.transition)
    }

    /// InputPath: `Eff` from `Raw` (Enter already set `Eff = Raw`, so that an optimised
    /// program leaves out `$`).
    pub fn input_path(&mut self, e: &mut Emitter, s: &State) -> Result<()> {
        match self.io_path(&s.io.input_path)? {
            IoPath::Null => e.emit(Op::InputNull),
            IoPath::Whole => {}
            IoPath::Path(id) => e.emit(Op::InputPath(id)),
        }
        Ok(())
    }

    /// An InputPath or OutputPath field: absent means `$`, which only the unoptimised
    /// reference evaluates.
    fn io_path(&mut self, field: &Option<Option<Path>>) -> Result<IoPath> {
        Ok(match field {
            Some(None) => IoPath::Null,
            None if self.optimize => IoPath::Whole,
            Some(Some(p)) if self.optimize && is_root(p) => IoPath::Whole,
            Some(Some(p)) => IoPath::Path(self.path(p)?),
            None => {
                let root = crate::path::parse_path("$").map_err(|e| CompileError::internal(format!("{e}")))?;
                IoPath::Path(self.path(&root)?)
            }
        })
    }

    /// ResultPath (`Res` into `Raw`, to `Acc`), OutputPath, a pending Assign, the exit event and
    /// the transition.
    pub fn result_output_exit(&mut self, e: &mut Emitter, s: &State, assign: Option<AssignId>) -> Result<()> {
        if let (true, Some(Some(rp)), Some(Some(op))) = (self.optimize, &s.io.result_path, &s.io.output_path) {
            // `"ResultPath": "$.x", "OutputPath": "$.x"` outputs the result itself: the object
            // the ResultPath would make is never built.
            if rp.is_one_name() && op.root == Root::Input && op.segments == rp.segments {
                let id = self.ref_path(rp)?;
                e.emit(Op::ResultOutput(id));
                if let Some(a) = assign {
                    e.emit(Op::Assign(a));
                }
                e.emit(Op::Exit);
                return e.transition(&s.transition);
            }
        }
        self.result_path(e, &s.io.result_path)?;
        self.output_exit(e, s, assign)
    }

    /// `Acc` from `Res` placed into `Raw` at a ResultPath (absent: `$`; null: discard).
    pub fn result_path(&mut self, e: &mut Emitter, rp: &Option<Option<crate::path::ReferencePath>>) -> Result<()> {
        let whole = match rp {
            None => true,
            Some(None) => false,
            Some(Some(p)) => p.segments.is_empty(),
        };
        match rp {
            Some(None) => e.emit(Op::ResultDiscard),
            _ if whole && self.optimize => e.emit(Op::ResultWhole),
            None => {
                let id = self.ref_path(&ReferencePath { segments: Box::default(), text: "$".into() })?;
                e.emit(Op::ResultPath(id));
            }
            Some(Some(p)) => {
                let id = self.ref_path(p)?;
                e.emit(Op::ResultPath(id));
            }
        }
        Ok(())
    }

    /// OutputPath on `Acc`.
    pub fn output_path(&mut self, e: &mut Emitter, s: &State) -> Result<()> {
        match self.io_path(&s.io.output_path)? {
            IoPath::Null => e.emit(Op::OutputNull),
            IoPath::Whole => {}
            IoPath::Path(id) => e.emit(Op::OutputPath(id)),
        }
        Ok(())
    }

    /// OutputPath on `Acc`, a pending Assign, the exit event and the transition.
    pub fn output_exit(&mut self, e: &mut Emitter, s: &State, assign: Option<AssignId>) -> Result<()> {
        self.output_path(e, s)?;
        if let Some(a) = assign {
            e.emit(Op::Assign(a));
        }
        e.emit(Op::Exit);
        e.transition(&s.transition)
    }
}

/// Whether a JSONata value may read `$states.context`: some `$states` in its expressions is
/// not followed by `.input`, `.result` or `.errorOutput`.
fn needs_context(t: &crate::jsonata::JTemplate) -> bool {
    t.reads_states_beyond(&[".input", ".result", ".errorOutput"])
}

/// What an InputPath or OutputPath field compiles to.
enum IoPath {
    /// `null`: `{}`.
    Null,
    /// `$` in an optimised program: nothing to do.
    Whole,
    Path(PathId),
}

/// The Retry and Catch of a Task, Parallel or Map state.
fn error_handling(s: &State) -> Option<&ErrorHandling> {
    match &s.kind {
        StateKind::Task(t) => Some(&t.errors),
        StateKind::Parallel { errors, .. } => Some(errors),
        StateKind::Map(m) => Some(&m.errors),
        _ => None,
    }
}

fn is_root(p: &Path) -> bool {
    p.root == Root::Input && p.segments.is_empty()
}
