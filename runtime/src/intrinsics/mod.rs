//! The `States.*` intrinsic functions of JSONPath mode: a `(name, arity, fn)` table, the call
//! parser, and evaluation over [`Value`]s.
//!
//! Calls are parsed and their arity checked when the definition is compiled; at run time an
//! intrinsic is an index into [`FUNCTIONS`] and a list of already-parsed arguments.
// Internal (reached by the crate's own tools through `internal`): documented where it helps,
// not item by item.
#![allow(missing_docs)]

mod array;
mod encoding;
mod json;
mod math;
mod parse;
mod string;

pub use encoding::{check_hash_input, hex_digest, random_uuid};
pub use string::Piece;

#[cfg(test)]
mod tests;

pub use parse::{parse_call, ParseError, MAX_NESTING};

use crate::path::Path;
use crate::value::{Const, Value};
use bumpalo::Bump;

/// What an intrinsic needs besides its arguments.
pub struct Env<'a, 'r> {
    pub arena: &'a Bump,
    pub rng: &'r mut crate::common::Rng,
    pub parse: &'r mut crate::value::ParseBuffers,
}

/// An intrinsic's failure; the VM reports it as `States.IntrinsicFailure` (or the named error).
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub error: &'static str,
    pub cause: String,
}

impl Failure {
    #[cold]
    #[inline(never)]
    pub fn new(cause: impl Into<String>) -> Failure {
        Failure { error: "States.IntrinsicFailure", cause: cause.into() }
    }
}

/// A value whose JSON (or States.Format text) would pass the writer's limit
/// ([`crate::common::WRITE_LIMIT`]): `States.DataLimitExceeded`, as a result that large would be.
#[cold]
#[inline(never)]
pub(crate) fn too_large() -> Failure {
    Failure {
        error: "States.DataLimitExceeded",
        cause: format!("the text it builds is larger than {} bytes", crate::common::WRITE_LIMIT),
    }
}

pub type Result<T> = std::result::Result<T, Failure>;
type Function = for<'a, 'r> fn(&mut Env<'a, 'r>, &[Value<'a>]) -> Result<Value<'a>>;

/// One row of the registry: name, least and most arguments (`usize::MAX`: variadic), function.
pub struct Spec {
    pub name: &'static str,
    pub min: usize,
    pub max: usize,
    pub func: Function,
}

/// The registry of the 18 intrinsics, as AWS names them.
pub static FUNCTIONS: &[Spec] = &[
    Spec { name: "States.Format", min: 1, max: usize::MAX, func: string::format },
    Spec { name: "States.StringToJson", min: 1, max: 1, func: json::string_to_json },
    Spec { name: "States.JsonToString", min: 1, max: 1, func: json::json_to_string },
    Spec { name: "States.Array", min: 0, max: usize::MAX, func: array::array },
    Spec { name: "States.ArrayPartition", min: 2, max: 2, func: array::partition },
    Spec { name: "States.ArrayContains", min: 2, max: 2, func: array::contains },
    Spec { name: "States.ArrayRange", min: 3, max: 3, func: array::range },
    Spec { name: "States.ArrayGetItem", min: 2, max: 2, func: array::get_item },
    Spec { name: "States.ArrayLength", min: 1, max: 1, func: array::length },
    Spec { name: "States.ArrayUnique", min: 1, max: 1, func: array::unique },
    Spec { name: "States.Base64Encode", min: 1, max: 1, func: encoding::base64_encode },
    Spec { name: "States.Base64Decode", min: 1, max: 1, func: encoding::base64_decode },
    Spec { name: "States.Hash", min: 2, max: 2, func: encoding::hash },
    Spec { name: "States.JsonMerge", min: 3, max: 3, func: json::merge },
    Spec { name: "States.MathRandom", min: 2, max: 3, func: math::random },
    Spec { name: "States.MathAdd", min: 2, max: 2, func: math::add },
    Spec { name: "States.StringSplit", min: 2, max: 2, func: string::split },
    Spec { name: "States.UUID", min: 0, max: 0, func: encoding::uuid },
];

/// A parsed intrinsic call.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// Index into [`FUNCTIONS`].
    pub func: u16,
    pub args: Box<[Arg]>,
    pub text: Box<str>,
    /// A States.Format whose template is a literal, split into its pieces when the call is
    /// parsed (and only when the placeholders match the arguments): no template is scanned at
    /// run time.
    pub format: Option<Box<[string::Piece]>>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    Const(Const),
    Path(Path),
    Call(Box<Call>),
}

impl Call {
    pub fn name(&self) -> &'static str {
        FUNCTIONS[self.func as usize].name
    }

    /// Applies the function to already evaluated arguments.
    pub fn apply<'a>(&self, env: &mut Env<'a, '_>, args: &[Value<'a>]) -> Result<Value<'a>> {
        match &self.format {
            Some(pieces) => string::format_pieces(env, pieces, args),
            None => (FUNCTIONS[self.func as usize].func)(env, args),
        }
    }
}

// Argument helpers shared by the families.

pub(crate) fn type_name(v: &Value<'_>) -> &'static str {
    v.kind().name()
}

pub(crate) fn want_str<'a>(f: &str, pos: usize, v: Value<'a>) -> Result<&'a str> {
    v.as_str().ok_or_else(|| {
        Failure::new(format!("The {} argument of {f} must be a string, but was {}", ordinal(pos), type_name(&v)))
    })
}

pub(crate) fn want_array<'a>(f: &str, pos: usize, v: Value<'a>) -> Result<&'a [Value<'a>]> {
    v.as_array().ok_or_else(|| {
        Failure::new(format!("The {} argument of {f} must be an array, but was {}", ordinal(pos), type_name(&v)))
    })
}

pub(crate) fn want_int(f: &str, pos: usize, v: Value<'_>) -> Result<i64> {
    v.as_integer().ok_or_else(|| {
        Failure::new(format!(
            "The {} argument of {f} must be an integer, but was {}",
            ordinal(pos),
            crate::value::to_json_string(&v)
        ))
    })
}

fn ordinal(pos: usize) -> &'static str {
    ["first", "second", "third", "fourth"].get(pos).copied().unwrap_or("next")
}
