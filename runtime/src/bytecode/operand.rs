//! Operands that states read when they run: numbers and times given literally, by a path or by
//! a JSONata value ([`Source`]), what a Wait waits for ([`Wait`]), and a Choice comparison's
//! operator ([`Compare`]). The compiler lowers the definition's fields into these; the VM never
//! sees the definition's own types.

use super::{JtId, PathId};
use std::fmt;

/// Where a value a state reads comes from: a literal checked with the definition, a path read
/// from the effective input (`…Path` fields), or a JSONata value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Source<T> {
    Literal(T),
    Path(PathId),
    Jsonata(JtId),
}

/// A Task's TimeoutSeconds or HeartbeatSeconds.
pub type Seconds = Source<u64>;

/// A Map's MaxConcurrency, ToleratedFailureCount or ToleratedFailurePercentage.
pub type Count = Source<f64>;

impl<T> Source<T> {
    /// The same operand with its literal changed by `f`.
    pub fn map_literal<U>(self, f: impl FnOnce(T) -> U) -> Source<U> {
        match self {
            Source::Literal(x) => Source::Literal(f(x)),
            Source::Path(p) => Source::Path(p),
            Source::Jsonata(t) => Source::Jsonata(t),
        }
    }

    /// The path or JSONata value it reads, for the verifier.
    pub(crate) fn ids(&self) -> (Option<PathId>, Option<JtId>) {
        match self {
            Source::Literal(_) => (None, None),
            Source::Path(p) => (Some(*p), None),
            Source::Jsonata(t) => (None, Some(*t)),
        }
    }
}

/// What a Wait state waits for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Wait {
    /// `Seconds` or `SecondsPath`, or a JSONata `Seconds`.
    Seconds(Source<u64>),
    /// `Timestamp` (a literal, parsed: nanoseconds since the Unix epoch) or `TimestampPath`, or a
    /// JSONata `Timestamp`.
    Until(Source<i128>),
}

impl Wait {
    /// Whether it reads the state's input or evaluates anything (not a literal).
    pub fn is_literal(&self) -> bool {
        matches!(self, Wait::Seconds(Source::Literal(_)) | Wait::Until(Source::Literal(_)))
    }
}

/// How a Choice comparison orders its two sides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
}

impl Order {
    /// Whether `o`, the left side's order against the right, satisfies this comparison.
    #[inline]
    pub fn holds(self, o: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Order::Equals => o == Equal,
            Order::LessThan => o == Less,
            Order::GreaterThan => o == Greater,
            Order::LessThanEquals => o != Greater,
            Order::GreaterThanEquals => o != Less,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Order::Equals => "Equals",
            Order::LessThan => "LessThan",
            Order::GreaterThan => "GreaterThan",
            Order::LessThanEquals => "LessThanEquals",
            Order::GreaterThanEquals => "GreaterThanEquals",
        }
    }
}

/// What an `Is…` type test asks of the variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Null,
    Present,
    Numeric,
    String,
    Boolean,
    Timestamp,
}

/// A Choice comparison's operator: what the two sides are compared as, and how. AWS's 23
/// operator names are these combined (`NumericLessThanEquals` is `Numeric(LessThanEquals)`);
/// `Display` gives the name back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compare {
    /// Strings, in UTF-16 code unit order (Java's).
    String(Order),
    /// `StringMatches`: a pattern with `*` wildcards.
    Matches,
    Numeric(Order),
    /// `BooleanEquals`.
    Boolean,
    /// RFC 3339 timestamps, by the instant they name.
    Timestamp(Order),
    /// `IsNull`, `IsPresent`, …: the operand is the boolean the test must give.
    Is(Kind),
}

impl fmt::Display for Compare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Compare::String(o) => write!(f, "String{}", o.name()),
            Compare::Matches => f.write_str("StringMatches"),
            Compare::Numeric(o) => write!(f, "Numeric{}", o.name()),
            Compare::Boolean => f.write_str("BooleanEquals"),
            Compare::Timestamp(o) => write!(f, "Timestamp{}", o.name()),
            Compare::Is(k) => write!(f, "Is{k:?}"),
        }
    }
}
