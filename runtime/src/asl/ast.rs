//! The typed model of a definition, as parsed and validated. Paths, templates and intrinsic calls
//! are already compiled here; state references are still names (the compiler turns them into
//! indices).

use super::template::Template;
use crate::jsonata::JTemplate;
use crate::path::{Path, ReferencePath};
use crate::value::Const;

/// Workflow variables a state (or Choice rule, or catcher) assigns: (slot, name, value).
#[derive(Clone, Debug)]
pub enum Assign {
    /// Values are payload templates; `$` is the state's result or effective input.
    JsonPath(Vec<(u32, String, Template)>),
    Jsonata(Vec<(u32, String, JTemplate)>),
}

impl Assign {
    pub fn names(&self) -> Vec<&str> {
        match self {
            Assign::JsonPath(v) => v.iter().map(|(_, n, _)| n.as_str()).collect(),
            Assign::Jsonata(v) => v.iter().map(|(_, n, _)| n.as_str()).collect(),
        }
    }
}

/// A state machine, or the body of a Parallel branch or Map processor.
#[derive(Clone, Debug)]
pub struct Machine {
    pub start_at: String,
    /// States in definition order.
    pub states: Vec<State>,
    pub timeout_seconds: Option<u64>,
    /// A state, or a transition target, could not be read (a diagnostic says why): what the
    /// machine reaches is unknown, so validation skips its reachability and terminal checks
    /// rather than report what follows from the one mistake.
    pub incomplete: bool,
}

/// A whole definition.
#[derive(Clone, Debug)]
pub struct Definition {
    pub machine: Machine,
    /// Workflow variable names by slot; slot 0 is `$states`.
    pub variables: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct State {
    pub name: String,
    /// JSON pointer of the state, `/States/Name` (nested: `/States/P/Branches/0/States/X`).
    pub pointer: String,
    pub kind: StateKind,
    pub io: Io,
    pub transition: Transition,
    /// The state's query language is JSONata.
    pub jsonata: bool,
    /// JSONata `Output`.
    pub output: Option<JTemplate>,
    /// JSONata `Arguments` (Task, Parallel).
    pub arguments: Option<JTemplate>,
    pub assign: Option<Assign>,
}

impl State {
    /// The machines nested in this state: a Parallel's branches, a Map's processor.
    pub fn nested(&self) -> &[Machine] {
        match &self.kind {
            StateKind::Parallel { branches, .. } => branches,
            StateKind::Map(map) => std::slice::from_ref(&map.processor),
            _ => &[],
        }
    }
}

#[derive(Clone, Debug)]
pub enum Transition {
    Next(String),
    End,
    /// Choice, Succeed and Fail choose (or end) by themselves.
    None,
}

/// The input/output processing fields (JSONPath mode).
#[derive(Clone, Debug, Default)]
pub struct Io {
    /// `None`: field absent (`$`); `Some(None)`: explicit null.
    pub input_path: Option<Option<Path>>,
    pub output_path: Option<Option<Path>>,
    pub result_path: Option<Option<ReferencePath>>,
    pub parameters: Option<Template>,
    pub result_selector: Option<Template>,
}

#[derive(Clone, Debug)]
pub enum StateKind {
    Pass {
        result: Option<Const>,
    },
    Task(Box<Task>),
    Choice {
        choices: Vec<ChoiceRule>,
        default: Option<String>,
    },
    Wait(Wait),
    Succeed,
    Fail {
        error: Option<Str>,
        cause: Option<Str>,
    },
    Parallel {
        branches: Vec<Machine>,
        errors: ErrorHandling,
    },
    Map(Box<Map>),
    /// A state whose Type is missing or unknown (the definition has a diagnostic for it and
    /// never compiles): kept so that references to it resolve.
    Unreadable,
}

/// A string field that may instead come from a path (`Error` / `ErrorPath`).
#[derive(Clone, Debug)]
pub enum Str {
    Literal(String),
    Path(Path),
    Call(crate::intrinsics::Call),
    Jsonata(JTemplate),
}

#[derive(Clone, Debug)]
pub struct Task {
    pub resource: String,
    pub timeout: Option<Seconds>,
    pub heartbeat: Option<Seconds>,
    pub errors: ErrorHandling,
}

/// A number given literally, by a path or by a JSONata value (TimeoutSeconds /
/// TimeoutSecondsPath, MaxConcurrency / MaxConcurrencyPath, …).
#[derive(Clone, Debug)]
pub enum Number<T> {
    Literal(T),
    Path(Path),
    Jsonata(JTemplate),
}

/// A Task's TimeoutSeconds or HeartbeatSeconds.
pub type Seconds = Number<u64>;

/// A Map's MaxConcurrency or ToleratedFailure setting.
pub type Count = Number<f64>;

#[derive(Clone, Debug, Default)]
pub struct ErrorHandling {
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
}

#[derive(Clone, Debug)]
pub struct Retrier {
    pub error_equals: Vec<String>,
    pub interval_seconds: u64,
    pub max_attempts: u64,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<u64>,
    pub jitter_full: bool,
}

#[derive(Clone, Debug)]
pub struct Catcher {
    pub error_equals: Vec<String>,
    pub result_path: Option<Option<ReferencePath>>,
    pub next: String,
    pub jsonata: bool,
    pub output: Option<JTemplate>,
    pub assign: Option<Assign>,
}

#[derive(Clone, Debug)]
pub enum Wait {
    Seconds(u64),
    SecondsPath(Path),
    Timestamp(String),
    TimestampPath(Path),
    /// JSONata `Seconds`: evaluated, then a non-negative integer.
    SecondsExpr(JTemplate),
    /// JSONata `Timestamp`: evaluated, then a timestamp string.
    TimestampExpr(JTemplate),
}

#[derive(Clone, Debug)]
pub struct Map {
    /// JSONata `Items`.
    pub items: Option<JTemplate>,
    /// JSONata `ItemSelector`.
    pub item_selector_j: Option<JTemplate>,
    pub items_path: Option<Path>,
    pub item_selector: Option<Template>,
    pub processor: Machine,
    pub max_concurrency: Option<Count>,
    pub tolerated_failure_count: Option<Count>,
    pub tolerated_failure_percentage: Option<Count>,
    pub errors: ErrorHandling,
}

/// A Choice rule: a top-level rule carries `next`; nested ones (inside And/Or/Not) do not.
#[derive(Clone, Debug)]
pub struct ChoiceRule {
    pub condition: Condition,
    pub next: String,
    /// A rule's own Assign and (JSONata) Output replace the state's when it is chosen.
    pub assign: Option<Assign>,
    pub output: Option<JTemplate>,
}

#[derive(Clone, Debug)]
pub enum Condition {
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
    Compare {
        variable: Path,
        op: Comparison,
        operand: Operand,
    },
    /// A JSONata `Condition`.
    Jsonata(JTemplate),
}

#[derive(Clone, Debug)]
pub enum Operand {
    Const(Const),
    Path(Path),
    None,
}

/// The comparison operators of a Choice rule, as AWS names them (without the `Path` suffix,
/// which only changes where the operand comes from).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    StringEquals,
    StringLessThan,
    StringGreaterThan,
    StringLessThanEquals,
    StringGreaterThanEquals,
    StringMatches,
    NumericEquals,
    NumericLessThan,
    NumericGreaterThan,
    NumericLessThanEquals,
    NumericGreaterThanEquals,
    BooleanEquals,
    TimestampEquals,
    TimestampLessThan,
    TimestampGreaterThan,
    TimestampLessThanEquals,
    TimestampGreaterThanEquals,
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

impl Comparison {
    pub const ALL: [(&'static str, Comparison); 23] = [
        ("StringEquals", Comparison::StringEquals),
        ("StringLessThan", Comparison::StringLessThan),
        ("StringGreaterThan", Comparison::StringGreaterThan),
        ("StringLessThanEquals", Comparison::StringLessThanEquals),
        ("StringGreaterThanEquals", Comparison::StringGreaterThanEquals),
        ("StringMatches", Comparison::StringMatches),
        ("NumericEquals", Comparison::NumericEquals),
        ("NumericLessThan", Comparison::NumericLessThan),
        ("NumericGreaterThan", Comparison::NumericGreaterThan),
        ("NumericLessThanEquals", Comparison::NumericLessThanEquals),
        ("NumericGreaterThanEquals", Comparison::NumericGreaterThanEquals),
        ("BooleanEquals", Comparison::BooleanEquals),
        ("TimestampEquals", Comparison::TimestampEquals),
        ("TimestampLessThan", Comparison::TimestampLessThan),
        ("TimestampGreaterThan", Comparison::TimestampGreaterThan),
        ("TimestampLessThanEquals", Comparison::TimestampLessThanEquals),
        ("TimestampGreaterThanEquals", Comparison::TimestampGreaterThanEquals),
        ("IsNull", Comparison::IsNull),
        ("IsPresent", Comparison::IsPresent),
        ("IsNumeric", Comparison::IsNumeric),
        ("IsString", Comparison::IsString),
        ("IsBoolean", Comparison::IsBoolean),
        ("IsTimestamp", Comparison::IsTimestamp),
    ];

    /// True for the `Is*` type tests, whose operand is a boolean literal.
    pub fn is_type_test(self) -> bool {
        matches!(
            self,
            Comparison::IsNull
                | Comparison::IsPresent
                | Comparison::IsNumeric
                | Comparison::IsString
                | Comparison::IsBoolean
                | Comparison::IsTimestamp
        )
    }
}
