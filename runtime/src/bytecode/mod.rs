//! The instruction set and the compiled [`Program`].
//!
//! Each machine (the top level, every Parallel branch, every Map processor) is one flat stream of
//! [`Op`]s. A state compiles to a run of ops that starts with [`Op::Enter`]; everything an op
//! refers to (paths, constants, key lists, intrinsic calls, Choice tests and rule trees,
//! Retry/Catch tables)
//! lives in the program's pools and is named by a 16-bit index, so that an `Op` is 8 bytes.
//!
//! The VM keeps five value registers per frame ([`Reg`]): `Acc` carries a value from one state
//! to the next, `Raw` is the state's input, `Eff` its effective input (after InputPath), `Res` its
//! result, `In` the input of a task or branch. Payload templates build values on a small stack
//! whose depth [`verify`] computes. Jumps go to [`Pc`]s; the compiler patches them through
//! [`Label`]s. [`Op::Choose`] goes on at one of the ops that follow it, by its rule's place.
//!
//! Spec references are to the Amazon States Language specification (states-language.net) and
//! the AWS Step Functions developer guide.
// Internal (reached by the crate's own tools through `internal`): documented where it helps,
// not item by item.
#![allow(missing_docs)]

mod display;
mod operand;
pub mod verify;

pub use operand::{Compare, Count, Kind, Order, Seconds, Source, Wait};

use crate::intrinsics::Call;
use crate::path::{Path, ReferencePath};
use crate::value::Const;

macro_rules! index_type {
    ($(#[$doc:meta])* $name:ident($int:ty)) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub $int);
        impl $name {
            #[inline]
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

index_type!(
    /// Index of a state within its machine.
    StateId(u16)
);
index_type!(
    /// Index of a machine (top level, Parallel branch, Map processor) in [`Program::machines`].
    MachineId(u16)
);
index_type!(
    /// Index of a Task resource in [`Program::resources`] (and of its bound handler).
    ResourceId(u16)
);
index_type!(
    /// Index into [`Program::paths`].
    PathId(u16)
);
index_type!(
    /// Index into [`Program::objects`].
    ObjectId(u16)
);
index_type!(
    /// Index into [`Program::ref_paths`].
    RefPathId(u16)
);
index_type!(
    /// Index into [`Program::consts`].
    ConstId(u16)
);
index_type!(
    /// Index into [`Program::keys`]: the member names of an object a template builds.
    KeysId(u16)
);
index_type!(
    /// Index into [`Program::calls`].
    CallId(u16)
);
index_type!(
    /// Index into [`Program::strings`].
    StrId(u16)
);
index_type!(
    /// Index into [`Program::tests`].
    TestId(u16)
);
index_type!(
    /// Index into [`Program::choices`].
    ChoiceId(u16)
);
index_type!(
    /// Index into [`Program::waits`].
    WaitId(u16)
);
index_type!(
    /// Index into [`Program::maps`].
    MapId(u16)
);
index_type!(
    /// Index into [`Program::fails`].
    FailId(u16)
);
index_type!(
    /// Index into [`Program::jtemplates`].
    JtId(u16)
);
index_type!(
    /// Index into [`Program::assigns`].
    AssignId(u16)
);
index_type!(
    /// A position in a machine's code.
    Pc(u32)
);

/// A value register of the VM's frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Reg {
    /// The value passed from state to state.
    Acc,
    /// The current state's input, as it arrived.
    Raw,
    /// The effective input: `Raw` after InputPath.
    Eff,
    /// The state's result (before ResultPath).
    Res,
    /// The input of a Task call or of Parallel branches.
    In,
    /// The error output `{"Error", "Cause"}` while a catcher runs.
    Err,
}

/// One instruction. Stack effects are written `before => after`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Enters state `.0`: counts its `*StateEntered` history event, makes it the current state
    /// (its name, entered event id and time, RetryCount 0), and sets `Raw = Eff = Acc`.
    /// - Stack: (empty) => (empty)
    Enter(StateId),
    /// `Eff = InputPath(Raw)`; no match is `States.Runtime` (spec: "InputPath").
    InputPath(PathId),
    /// `Eff = {}`: `"InputPath": null`.
    InputNull,
    /// Pushes a constant.
    /// - Stack: => value
    PushConst(ConstId),
    /// Pushes a register.
    /// - Stack: => value
    PushReg(Reg),
    /// Pushes the value of a `"key.$": "$.path"` template member, evaluated against `root`; no
    /// match is `States.Runtime` naming `field` (spec: "Payload Template").
    /// - Stack: => value
    PushPath { path: PathId, root: Reg, field: StrId },
    /// Pushes an intrinsic's path argument; no match is `States.Runtime` naming the call.
    /// - Stack: => value
    PushArg { path: PathId, root: Reg, call: CallId },
    /// Applies intrinsic call `.0` to its arguments (spec: "Intrinsic Functions").
    /// - Stack: arg1 … argN => result
    Apply(CallId),
    /// Builds an object from the top `len` values and key list `keys`.
    /// - Stack: v1 … vN => object
    MakeObject { keys: KeysId, len: u16 },
    /// [`Op::MakeObject`] and then [`Op::Pop`] into `to`, fused by the compiler: the object goes
    /// straight to its register instead of through a stack slot just written.
    /// - Stack: v1 … vN =>
    MakeObjectTo { keys: KeysId, len: u16, to: Reg },
    /// Builds template object `id`, whose members are paths (read from `root`), constants,
    /// `$$.Map.Item` fields and intrinsic calls of constants and paths ([`FlatMember`]), each
    /// evaluated in member order straight into its slot; the object goes to register `to`, or
    /// onto the stack. A path that selects nothing is `States.Runtime` naming its field, as
    /// with [`Op::PushPath`], reported before any later call runs.
    /// - Stack: => object (with `to: None`)
    Object { id: ObjectId, root: Reg, to: Option<Reg> },
    /// A Map's ItemSelector as template object `.0` read from `Eff`, pushed for `MapRun`: for
    /// the items after the first, members that cannot differ between items (constants and `$`
    /// paths: the Map state's input is the same for every item) are copied from the first
    /// item's object, and only `$$` and variable paths, `$$.Map.Item` fields and intrinsic
    /// calls are evaluated again.
    /// - Stack: => object
    ItemObject(ObjectId),
    /// Builds an array from the top `.0` values.
    /// - Stack: v1 … vN => array
    MakeArray(u16),
    /// Pops into a register.
    /// - Stack: value =>
    Pop(Reg),
    /// Copies register `from` to `to`.
    Move { to: Reg, from: Reg },
    /// `Acc = Res` placed into `Raw` at a ResultPath (spec: "ResultPath"); failure is the
    /// catchable `States.ResultPathMatchFailure`.
    ResultPath(RefPathId),
    /// A ResultPath of one name (`$.x`) and the same OutputPath: `Acc = Res` when `Raw` is an
    /// object or null, into which the placement succeeds and from which the OutputPath selects
    /// `Res` again; into anything else the placement fails, as [`Op::ResultPath`] would.
    ResultOutput(RefPathId),
    /// `Acc = Res` (ResultPath `$`, the default).
    ResultWhole,
    /// `Acc = Raw` (`"ResultPath": null`).
    ResultDiscard,
    /// `Acc = OutputPath(Acc)`; no match is `States.Runtime`.
    OutputPath(PathId),
    /// `Acc = {}` (`"OutputPath": null`).
    OutputNull,
    /// Counts the state's `*StateExited` history event.
    Exit,
    /// Counts `.0` history events (TaskScheduled, ParallelStateStarted, …).
    Events(u8),
    /// Goes on at op `.0` of the same machine: a transition, or a branch of the code's own.
    Jump(Pc),
    /// Ends the machine with `Acc` as its output.
    End,
    /// Evaluates the rules of JSONPath Choice `.0` against `Eff`, in order, And and Or stopping
    /// at the first operand that decides them (spec: "Choice Rules"), and goes on at the op `k`
    /// places after this one: `k` is the first rule that holds, or the number of rules when none
    /// does. Those ops are the rules' outcomes and, last, the Default's (or [`Op::NoChoice`]).
    /// A missing variable is `States.Runtime` (except for IsPresent).
    Choose(ChoiceId),
    /// A Choice outcome with nothing else to do: `Acc = Eff`, counts the ChoiceStateExited
    /// event and jumps to `.0`, the next state.
    ChoiceOut(Pc),
    /// No Choice rule matched and there is no Default: `States.Runtime`, as AWS reports it.
    NoChoice,
    /// Waits as Wait state `.0` says, reading `Eff` (spec: "Wait State").
    Wait(WaitId),
    /// Fails the machine with the Fail state's error and cause, read from `Raw`.
    Fail(FailId),
    /// Starts an attempt of a Task, Parallel or Map: a catchable failure until `EndAttempt`
    /// goes through the state's Retry and Catch tables; a retry restarts here.
    Attempt,
    /// Ends the attempt `Attempt` started: a failure from here on is not retried or caught by
    /// this state's tables.
    EndAttempt,
    /// Calls the Task's handler with `In`; `Res` = its result (spec: "Task State"). Counts the
    /// TaskScheduled, TaskStarted and TaskSucceeded/TaskFailed events.
    Invoke(ResourceId),
    /// Runs Parallel branch `.0` on `In` and pushes its output (spec: "Parallel State"). A
    /// branch that stops to wait (see `vm::Journal`) pushes null and the others still run.
    /// - Stack: => output
    Branch(MachineId),
    /// After a Parallel's branches: if one of them stopped to wait, the run stops here.
    JoinBranches,
    /// Starts Map `.0`: items from `Eff` through ItemsPath, the MaxConcurrencyPath and
    /// tolerated-failure settings; counts MapStateStarted (spec: "Map State").
    MapBegin(MapId),
    /// Moves to the next item, making it `$$.Map.Item`, or jumps to `.0` when none is left.
    MapNext(Pc),
    /// Runs the processor on the iteration input; counts MapIteration events.
    /// - Stack: input =>
    MapRun(MachineId),
    /// `Res` = the array of iteration outputs; counts MapStateSucceeded.
    MapEnd,
    /// Pushes the current Map item's value (the iteration input without ItemSelector).
    /// - Stack: => item
    PushItem,
    /// Evaluates JSONata value `.0` (JSON with `{% %}` expressions) and pushes it; nothing
    /// (undefined) is `States.QueryEvaluationError` naming the expression and field.
    /// - Stack: => value
    PushJsonata(JtId),
    /// Evaluates JSONata value `.0` as a Choice `Condition` into the flag; it must be a boolean.
    TestJsonata(JtId),
    /// Jumps to `.0` when [`Op::TestJsonata`]'s condition was false.
    JumpIfNot(Pc),
    /// Makes `$states` for the JSONata expressions that follow: `input` is `Raw`; the flags add
    /// `result` (`Res`, 1), `errorOutput` (`Err`, 2) and `context` (4).
    SetStates(u8),
    /// Assigns workflow variables `.0` from the values on the stack (evaluated before any is
    /// written), with AWS's size limits.
    /// - Stack: v1 … vN =>
    Assign(AssignId),
}

const _: () = assert!(std::mem::size_of::<Op>() == 8);

/// A jump target whose [`Pc`] is known later. Unbound labels are a compiler bug.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label(pub u32);

/// What the VM needs to know about a state besides its code.
#[derive(Debug)]
pub struct StateInfo {
    pub name: Box<str>,
    /// The `Enter` op.
    pub entry: Pc,
    pub retry: Box<[Retrier]>,
    pub catch: Box<[Catcher]>,
    /// A Task's TimeoutSeconds / TimeoutSecondsPath.
    pub timeout: Option<Seconds>,
    /// A Task's HeartbeatSeconds / HeartbeatSecondsPath.
    pub heartbeat: Option<Seconds>,
}

#[derive(Debug)]
pub struct MachineCode {
    pub code: Vec<Op>,
    pub states: Vec<StateInfo>,
    /// Deepest template stack the code needs (computed by [`verify`]).
    pub max_stack: u16,
}

impl Program {
    #[inline]
    pub fn path(&self, id: PathId) -> &Path {
        &self.paths[id.index()]
    }

    #[inline]
    pub fn jt(&self, id: JtId) -> &crate::jsonata::JTemplate {
        &self.jtemplates[id.index()]
    }
}

impl MachineCode {
    #[inline]
    pub fn state(&self, id: StateId) -> &StateInfo {
        &self.states[id.index()]
    }
}

/// A compiled state machine: code per machine, and the pools the code indexes.
#[derive(Debug, Default)]
pub struct Program {
    pub machines: Vec<MachineCode>,
    pub jtemplates: Vec<crate::jsonata::JTemplate>,
    pub assigns: Vec<AssignSpec>,
    /// Workflow variable names by slot; slot 0 is `$states`.
    pub variables: Vec<Box<str>>,
    pub paths: Vec<Path>,
    pub ref_paths: Vec<ReferencePath>,
    pub consts: Vec<Const>,
    pub keys: Vec<Box<[Box<str>]>>,
    pub objects: Vec<FlatObject>,
    pub calls: Vec<Call>,
    pub strings: Vec<Box<str>>,
    pub tests: Vec<ChoiceTest>,
    pub choices: Vec<ChoiceSpec>,
    pub waits: Vec<Wait>,
    pub maps: Vec<MapSpec>,
    pub fails: Vec<FailSpec>,
    /// Distinct Task resources, in order of first appearance.
    pub resources: Vec<Box<str>>,
    pub timeout_seconds: Option<u64>,
    /// Some op inspects the execution's input (a path, template, test, handler, …). When none
    /// does, the event needs no value tree: it is only validated and passed through.
    pub reads_input: bool,
    /// Some op can take time (a Task, a Wait, a retry back-off): the execution's start time is
    /// taken when it starts, for the time-out.
    pub needs_clock: bool,
    /// Some state waits: a Wait state, or a Retry's back-off.
    pub may_wait: bool,
    /// Some path or JSONata expression may read `$$.State.EnteredTime`: on the system clock,
    /// each state's entry time is then taken as it is entered (AWS gives the time the state
    /// was entered, the same in every retry and after its handler answers).
    pub reads_entered_time: bool,
    /// Compiled with optimisations (`compile::Options::optimize`). Off, the program is the
    /// unoptimised reference: every transition an explicit jump, no fused or specialised op,
    /// every path (JSONata's too) through the general evaluator, the event always parsed, and
    /// no Map item or Parallel branch spread over other workers.
    pub optimized: bool,
}

/// Whether a path may read `$$.State`: a context path that names `State` or not a member.
fn reads_state(p: &Path) -> bool {
    p.root == crate::path::Root::Context
        && p.context_field.is_none()
        && !matches!(p.segments.first(), Some(crate::path::Segment::Child(name)) if &**name != "State")
}

/// Whether an intrinsic's arguments, nested calls included, may read `$$.State`.
fn call_reads_state(c: &Call) -> bool {
    c.args.iter().any(|a| match a {
        crate::intrinsics::Arg::Path(p) => reads_state(p),
        crate::intrinsics::Arg::Call(c) => call_reads_state(c),
        crate::intrinsics::Arg::Const(_) => false,
    })
}

/// Whether a JSONata template may read `$states.context.State`: some `$states` in its
/// expressions is not followed by a member that cannot lead there.
fn jsonata_reads_state(t: &crate::jsonata::JTemplate) -> bool {
    const ELSEWHERE: [&str; 6] =
        [".input", ".result", ".errorOutput", ".context.Map", ".context.Execution", ".context.StateMachine"];
    t.reads_states_beyond(&ELSEWHERE)
}

impl Program {
    pub const ROOT: MachineId = MachineId(0);

    /// Sets [`Program::reads_input`] and [`Program::needs_clock`] from the code.
    pub fn analyse(&mut self) {
        let mut reads = false;
        let mut clock = false;
        let mut wait = false;
        for m in &self.machines {
            if m.states.iter().any(|s| !s.retry.is_empty()) {
                clock = true;
                wait = true;
            }
            for op in &m.code {
                match op {
                    // Moving values, building containers of them, control flow.
                    Op::Enter(_)
                    | Op::Move { .. }
                    | Op::Pop(_)
                    | Op::PushConst(_)
                    | Op::MakeObject { .. }
                    | Op::MakeObjectTo { .. }
                    | Op::MakeArray(_)
                    | Op::ResultWhole
                    | Op::ResultDiscard
                    | Op::OutputNull
                    | Op::InputNull
                    | Op::Exit
                    | Op::Events(_)
                    | Op::Jump(_)
                    | Op::End
                    | Op::Attempt
                    | Op::EndAttempt
                    | Op::Branch(_)
                    | Op::JoinBranches
                    | Op::ChoiceOut(_)
                    | Op::NoChoice => {}
                    Op::Wait(w) => {
                        clock = true;
                        wait = true;
                        if !self.waits[w.index()].is_literal() {
                            reads = true;
                        }
                    }
                    Op::Fail(f) => {
                        let spec = &self.fails[f.index()];
                        let literal = |s: &Option<StrSource>| matches!(s, None | Some(StrSource::Literal(_)));
                        if !(literal(&spec.error) && literal(&spec.cause)) {
                            reads = true;
                        }
                    }
                    Op::Invoke(_) => {
                        clock = true;
                        reads = true;
                    }
                    _ => reads = true,
                }
            }
        }
        // The unoptimised reference always parses the event: no raw pass-through.
        self.reads_input = reads || !self.optimized;
        self.needs_clock = clock;
        self.may_wait = wait;
        // `$$.State…` or the whole `$$` (a field the VM keeps at hand is not the time), as a
        // path or an intrinsic's argument; or a JSONata expression that may read
        // `$states.context.State` (see `jsonata_reads_state`).
        self.reads_entered_time = self.paths.iter().any(reads_state)
            || self.calls.iter().any(call_reads_state)
            || self.jtemplates.iter().any(jsonata_reads_state);
    }

    #[inline]
    pub fn machine(&self, id: MachineId) -> &MachineCode {
        &self.machines[id.index()]
    }
}

/// A template object whose members are all [`FlatMember`]s, no nested container (the common
/// `Parameters` and `ItemSelector`), for [`Op::Object`].
#[derive(Debug)]
pub struct FlatObject {
    pub keys: KeysId,
    pub members: Box<[FlatMember]>,
}

#[derive(Clone, Copy, Debug)]
pub enum FlatMember {
    /// `"key.$": "$.path"`; `field` is the key as written, for the error message.
    Path {
        path: PathId,
        field: StrId,
    },
    Const(ConstId),
    /// `"key.$": "$$.Map.Item.Value"` (or `…Index` with `index`), read straight from the Map
    /// iteration; outside one it selects nothing, like its `path`.
    MapItem {
        index: bool,
        path: PathId,
        field: StrId,
    },
    /// `"key.$": "States.Format('{}', $.a)"`: an intrinsic call whose arguments are constants
    /// and paths (at most [`FLAT_CALL_ARGS`]), evaluated in member order.
    Call(CallId),
}

/// The most arguments of an intrinsic call that a flat template object evaluates itself.
pub const FLAT_CALL_ARGS: usize = 8;

/// An intrinsic call a flat template object evaluates itself ([`FlatMember::Call`]): at most
/// [`FLAT_CALL_ARGS`] arguments, each a constant or a path.
pub fn is_flat_call(call: &Call) -> bool {
    call.args.len() <= FLAT_CALL_ARGS && call.args.iter().all(|a| !matches!(a, crate::intrinsics::Arg::Call(_)))
}

/// The variables one Assign writes, in stack order.
#[derive(Debug)]
pub struct AssignSpec {
    pub slots: Box<[u32]>,
}

/// `SetStates` flags.
pub const STATES_RESULT: u8 = 1;
pub const STATES_ERROR: u8 = 2;
pub const STATES_CONTEXT: u8 = 4;

/// A Choice comparison: `variable` `op` `operand`.
#[derive(Debug)]
pub struct ChoiceTest {
    pub variable: PathId,
    pub op: Compare,
    pub operand: TestOperand,
}

/// The rules of a JSONPath Choice state, for [`Op::Choose`].
#[derive(Debug)]
pub struct ChoiceSpec {
    pub rules: Box<[Cond]>,
}

/// A Choice rule's condition. Within one Choice, comparisons of the same variable share its
/// [`PathId`], so that the VM reads a variable once for consecutive comparisons of it.
#[derive(Debug)]
pub enum Cond {
    Test(TestId),
    Not(Box<Cond>),
    And(Box<[Cond]>),
    Or(Box<[Cond]>),
}

#[derive(Debug)]
pub enum TestOperand {
    Const(ConstId),
    /// A literal timestamp, parsed at compile time (nanoseconds since the epoch).
    Timestamp(i128),
    /// A `…Path` operator's second path.
    Path(PathId),
}

/// A string given literally, by a path, or by an intrinsic (Fail's Error/ErrorPath).
#[derive(Debug)]
pub enum StrSource {
    Literal(StrId),
    Path(PathId),
    Call(CallId),
    Jsonata(JtId),
}

#[derive(Debug)]
pub struct FailSpec {
    pub error: Option<StrSource>,
    pub cause: Option<StrSource>,
}

#[derive(Debug)]
pub struct MapSpec {
    /// The items are on the stack (JSONata `Items`, or the state input), not at ItemsPath.
    pub items_on_stack: bool,
    /// The JSONata `Items` value, named in type errors.
    pub items_jt: Option<JtId>,
    pub items_path: Option<PathId>,
    pub max_concurrency: Option<Count>,
    pub tolerated_failure_count: Option<Count>,
    pub tolerated_failure_percentage: Option<Count>,
}

/// Error names a retrier or catcher matches, with `States.ALL` and `States.TaskFailed` flagged.
#[derive(Debug)]
pub struct ErrorMatcher {
    pub names: Box<[Box<str>]>,
    pub all: bool,
    pub task_failed: bool,
}

impl ErrorMatcher {
    /// Whether this matcher takes `error`. `States.ALL` takes everything but the terminal errors;
    /// `States.TaskFailed` takes any Task failure but `States.Timeout`.
    pub fn matches(&self, error: &str, from_task: bool) -> bool {
        if self.names.iter().any(|n| &**n == error) {
            return true;
        }
        let terminal = matches!(error, "States.Runtime" | "States.DataLimitExceeded");
        (self.all && !terminal) || (self.task_failed && from_task && !terminal && error != "States.Timeout")
    }
}

#[derive(Debug)]
pub struct Retrier {
    pub errors: ErrorMatcher,
    pub interval_seconds: u64,
    pub max_attempts: u64,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<u64>,
    pub jitter_full: bool,
}

#[derive(Debug)]
pub struct Catcher {
    pub errors: ErrorMatcher,
    /// The catcher's landing pad: code that makes the state's output from the error output
    /// (`Err`) and goes on to the catcher's `Next`.
    pub next: Pc,
}
