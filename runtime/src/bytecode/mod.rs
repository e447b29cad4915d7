//! The compiled program: every state name resolved to a [`StateId`], every path, template and
//! intrinsic call parsed, every Retry/Catch table resolved. Immutable and `Send + Sync`; the VM
//! runs it without looking anything up by name.

mod display;

use crate::asl::ast::{Comparison, Count, Seconds, Wait};
use crate::intrinsics::Call;
use crate::path::{Path, ReferencePath, Template};
use crate::value::Const;

/// Index of a state within its [`MachineCode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StateId(pub u32);

/// Index of a machine (the top level, a Parallel branch or a Map processor) in [`Program`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MachineId(pub u32);

/// Index of a Task's bound handler in [`Program::resources`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ResourceId(pub u32);

#[derive(Debug)]
pub struct Program {
    pub machines: Vec<MachineCode>,
    /// Distinct Task resources, in order of first appearance.
    pub resources: Vec<Box<str>>,
    pub timeout_seconds: Option<u64>,
}

impl Program {
    pub const ROOT: MachineId = MachineId(0);

    pub fn machine(&self, id: MachineId) -> &MachineCode {
        &self.machines[id.0 as usize]
    }
}

#[derive(Debug)]
pub struct MachineCode {
    pub start: StateId,
    pub states: Vec<StateCode>,
}

impl MachineCode {
    #[inline]
    pub fn state(&self, id: StateId) -> &StateCode {
        &self.states[id.0 as usize]
    }
}

/// Where a state's input/output field leads: absent (`$`), a path, or explicit `null`.
#[derive(Clone, Debug, Default)]
pub enum PathField {
    #[default]
    Whole,
    Path(Path),
    Null,
}

#[derive(Clone, Debug, Default)]
pub enum ResultField {
    #[default]
    Whole,
    Path(ReferencePath),
    Discard,
}

#[derive(Debug)]
pub struct StateCode {
    pub name: Box<str>,
    pub op: StateOp,
    pub input_path: PathField,
    pub output_path: PathField,
    pub result_path: ResultField,
    pub parameters: Option<Template>,
    pub result_selector: Option<Template>,
    /// `None`: the state ends its machine (End, Succeed, Fail) or chooses (Choice).
    pub next: Option<StateId>,
    pub retry: Box<[Retrier]>,
    pub catch: Box<[Catcher]>,
}

#[derive(Debug)]
pub enum StateOp {
    Pass {
        result: Option<Const>,
    },
    Task {
        resource: ResourceId,
        timeout: Option<Seconds>,
        heartbeat: Option<Seconds>,
    },
    Choice {
        rules: Box<[(Cond, StateId)]>,
        default: Option<StateId>,
    },
    Wait(Wait),
    Succeed,
    Fail {
        error: Option<StrSource>,
        cause: Option<StrSource>,
    },
    Parallel {
        branches: Box<[MachineId]>,
    },
    Map(Box<MapOp>),
}

#[derive(Debug)]
pub enum StrSource {
    Literal(Box<str>),
    Path(Path),
    Call(Call),
}

#[derive(Debug)]
pub struct MapOp {
    pub items_path: Option<Path>,
    pub item_selector: Option<Template>,
    pub processor: MachineId,
    pub max_concurrency: Option<Count>,
    pub tolerated_failure_count: Option<Count>,
    pub tolerated_failure_percentage: Option<Count>,
}

/// A compiled Choice condition.
#[derive(Debug)]
pub enum Cond {
    And(Box<[Cond]>),
    Or(Box<[Cond]>),
    Not(Box<Cond>),
    Compare {
        variable: Path,
        op: Comparison,
        operand: CondOperand,
    },
}

#[derive(Debug)]
pub enum CondOperand {
    Const(Const),
    /// A literal timestamp, parsed at compile time (nanoseconds since the epoch).
    Timestamp(i128),
    Path(Path),
    None,
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
        (self.all && !terminal)
            || (self.task_failed && from_task && !terminal && error != "States.Timeout")
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
    pub result_path: ResultField,
    pub next: StateId,
}
