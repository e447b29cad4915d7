//! The function library: JSONata 2.0's built-ins and the ones AWS adds (`$partition`, `$range`,
//! `$hash`, `$random`, `$uuid`, `$parse`). `$eval` is not available, as on AWS.

use super::eval::{err, num, single, text_fits, truthy, Ev, Func, JError, JV, R};
use super::numfmt::{precision15, write_js};
use crate::value::Value;

mod arrays;
mod aws;
mod dates;
mod higher_order;
mod numbers;
mod objects;
mod strings;
mod transform;

pub use strings::regex_match_object;
pub use transform::transform;

type BuiltinFn = for<'a, 'h> fn(&mut Ev<'a, 'h>, &[JV<'a>], JV<'a>) -> R<'a>;

/// One built-in: name (without `$`), arity, whether a missing first argument is the context.
pub struct Builtin {
    pub name: &'static str,
    pub min: usize,
    pub max: usize,
    pub context: bool,
    pub func: BuiltinFn,
}

macro_rules! b {
    ($name:literal, $min:literal, $max:literal, $ctx:literal, $f:expr) => {
        Builtin { name: $name, min: $min, max: $max, context: $ctx, func: $f }
    };
}

pub static BUILTINS: &[Builtin] = &[
    // Strings
    b!("string", 1, 2, true, strings::string),
    b!("length", 1, 1, true, strings::length),
    b!("substring", 2, 3, true, strings::substring),
    b!("substringBefore", 2, 2, true, strings::substring_before),
    b!("substringAfter", 2, 2, true, strings::substring_after),
    b!("uppercase", 1, 1, true, strings::uppercase),
    b!("lowercase", 1, 1, true, strings::lowercase),
    b!("trim", 1, 1, true, strings::trim),
    b!("pad", 2, 3, true, strings::pad),
    b!("contains", 2, 2, true, strings::contains),
    b!("split", 2, 3, true, strings::split),
    b!("join", 1, 2, false, strings::join),
    b!("match", 2, 3, true, strings::match_),
    b!("replace", 3, 4, true, strings::replace),
    b!("base64encode", 1, 1, true, strings::base64encode),
    b!("base64decode", 1, 1, true, strings::base64decode),
    b!("encodeUrlComponent", 1, 1, true, strings::encode_url_component),
    b!("encodeUrl", 1, 1, true, strings::encode_url),
    b!("decodeUrlComponent", 1, 1, true, strings::decode_url),
    b!("decodeUrl", 1, 1, true, strings::decode_url),
    b!("eval", 1, 2, false, strings::eval_unavailable),
    // Numbers
    b!("number", 1, 1, true, numbers::number),
    b!("abs", 1, 1, true, |ev, a, _| numbers::math1(ev, a, "abs", f64::abs)),
    b!("floor", 1, 1, true, |ev, a, _| numbers::math1(ev, a, "floor", f64::floor)),
    b!("ceil", 1, 1, true, |ev, a, _| numbers::math1(ev, a, "ceil", f64::ceil)),
    b!("round", 1, 2, true, numbers::round),
    b!("power", 2, 2, true, numbers::power),
    b!("sqrt", 1, 1, true, numbers::sqrt),
    b!("random", 0, 1, false, numbers::random),
    b!("formatBase", 1, 2, true, numbers::format_base),
    // Aggregation
    b!("sum", 1, 1, false, numbers::sum),
    b!("max", 1, 1, false, |ev, a, _| numbers::extreme(ev, a, true)),
    b!("min", 1, 1, false, |ev, a, _| numbers::extreme(ev, a, false)),
    b!("average", 1, 1, false, numbers::average),
    b!("count", 1, 1, false, numbers::count),
    // Booleans
    b!("boolean", 1, 1, true, |_, a, _| Ok(bool_or_undef(a[0], |v| truthy(v)))),
    b!("not", 1, 1, true, |_, a, _| Ok(bool_or_undef(a[0], |v| !truthy(v)))),
    b!("exists", 1, 1, false, |_, a, _| Ok(JV::V(Value::Bool(!matches!(a[0], JV::Undef))))),
    // Arrays
    b!("append", 2, 2, false, arrays::append),
    b!("reverse", 1, 1, false, arrays::reverse),
    b!("sort", 1, 2, false, arrays::sort),
    b!("distinct", 1, 1, false, arrays::distinct),
    b!("zip", 1, 64, false, arrays::zip),
    b!("shuffle", 1, 1, false, arrays::shuffle),
    // Objects
    b!("keys", 1, 1, true, objects::keys),
    b!("lookup", 2, 2, false, objects::lookup),
    b!("spread", 1, 1, true, objects::spread),
    b!("merge", 1, 1, false, objects::merge),
    b!("each", 2, 2, true, objects::each),
    b!("sift", 2, 2, true, objects::sift),
    b!("type", 1, 1, false, objects::type_of),
    b!("error", 0, 1, false, objects::error),
    b!("assert", 1, 2, false, objects::assert),
    // Higher-order
    b!("map", 2, 2, false, higher_order::map),
    b!("filter", 2, 2, false, higher_order::filter),
    b!("reduce", 2, 3, false, higher_order::reduce),
    b!("single", 1, 2, false, higher_order::single_fn),
    // Dates
    b!("now", 0, 2, false, dates::now),
    b!("millis", 0, 0, false, |ev, _, _| Ok(num(ev.now_millis as f64))),
    b!("fromMillis", 1, 3, false, dates::from_millis),
    b!("toMillis", 1, 2, false, dates::to_millis),
    // Added by AWS Step Functions
    b!("partition", 1, 2, false, aws::partition),
    b!("range", 1, 3, false, aws::range),
    b!("hash", 1, 2, false, aws::hash),
    b!("uuid", 0, 0, false, aws::uuid),
    b!("parse", 0, 1, false, aws::parse),
];

// --- helpers ---

fn type_err<T>(f: &str, pos: usize) -> Result<T, JError> {
    let f = f.trim_start_matches('$');
    err("T0410", format!("Argument {pos} of function \"{f}\" does not match function signature"))
}

/// An array argument with an element of the wrong type (`$sum(["a"])`).
fn element_err<T>(f: &str, pos: usize, kind: &str) -> Result<T, JError> {
    let f = f.trim_start_matches('$');
    err("T0412", format!("Argument {pos} of function \"{f}\" must be an array of \"{kind}\""))
}

fn str_arg<'a>(f: &str, args: &[JV<'a>], i: usize) -> Result<Option<&'a str>, JError> {
    match args.get(i).copied().map(single) {
        None | Some(JV::Undef) => Ok(None),
        Some(JV::V(Value::Str(s))) => Ok(Some(s)),
        _ => type_err(f, i + 1),
    }
}

fn num_arg(f: &str, args: &[JV<'_>], i: usize) -> Result<Option<f64>, JError> {
    match args.get(i).copied() {
        None | Some(JV::Undef) => Ok(None),
        Some(v) => match v.num() {
            Some(n) => Ok(Some(n)),
            None => type_err(f, i + 1),
        },
    }
}

/// An array argument: a single value stands for a one-item array.
fn items<'a>(ev: &Ev<'a, '_>, v: JV<'a>) -> &'a [Value<'a>] {
    match v {
        JV::Undef | JV::F(_) => &[],
        JV::Seq(s, _) | JV::V(Value::Array(s)) => s,
        JV::V(x) => ev.arena.alloc_slice_copy(&[x]),
    }
}

fn func_arg<'a>(f: &str, args: &[JV<'a>], i: usize) -> Result<&'a Func<'a>, JError> {
    match args.get(i) {
        Some(JV::F(func)) => Ok(func),
        _ => type_err(f, i + 1),
    }
}

fn arr<'a>(ev: &Ev<'a, '_>, items: impl IntoIterator<Item = Value<'a>>) -> JV<'a> {
    JV::Seq(bumpalo::collections::Vec::from_iter_in(items, ev.arena).into_bump_slice(), true)
}

fn s<'a>(ev: &Ev<'a, '_>, text: &str) -> JV<'a> {
    JV::V(Value::Str(ev.arena.alloc_str(text)))
}

fn bool_or_undef<'a>(v: JV<'a>, f: impl Fn(JV<'a>) -> bool) -> JV<'a> {
    match v {
        JV::Undef => JV::Undef,
        other => JV::V(Value::Bool(f(other))),
    }
}

/// Appends `v` as `$string` renders it (strings raw, the rest as JSON, numbers as JavaScript).
pub fn stringify_into(out: &mut bumpalo::collections::String<'_>, v: JV<'_>, max: usize) -> Result<(), JError> {
    match single(v) {
        JV::Undef => {}
        JV::F(_) => {}
        JV::V(Value::Str(s)) => out.push_str(s),
        other => {
            if let Some(x) = other.to_value() {
                json_into(out, &x, max)?;
            }
        }
    }
    Ok(())
}

/// Writes `v` as JSON. Past `max` bytes it fails at once: values share their parts, so a small
/// structure can stand for one far too long to write out.
fn json_into(out: &mut bumpalo::collections::String<'_>, v: &Value<'_>, max: usize) -> Result<(), JError> {
    match v {
        Value::Int(i) => {
            let _ = write_js(out, precision15(*i as f64));
        }
        Value::Float(f) => {
            if !f.is_finite() {
                return err("D3001", "Attempting to invoke string function on Infinity or NaN");
            }
            let _ = write_js(out, precision15(*f));
        }
        Value::Array(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_into(out, x, max)?;
                text_fits(out.len(), max)?;
            }
            out.push(']');
        }
        Value::Object(members) => {
            out.push('{');
            for (i, (k, x)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                crate::value::write_str(out, k);
                out.push(':');
                json_into(out, x, max)?;
                text_fits(out.len(), max)?;
            }
            out.push('}');
        }
        Value::Str(s) => crate::value::write_str(out, s),
        other => crate::value::write_json(out, other),
    }
    Ok(())
}

/// `JSON.stringify(v, null, 2)`.
fn pretty_into(
    out: &mut bumpalo::collections::String<'_>,
    v: &Value<'_>,
    depth: usize,
    max: usize,
) -> Result<(), JError> {
    let pad = |out: &mut bumpalo::collections::String<'_>, d: usize| {
        out.push('\n');
        for _ in 0..d {
            out.push_str("  ");
        }
    };
    match v {
        Value::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                pad(out, depth + 1);
                pretty_into(out, x, depth + 1, max)?;
                text_fits(out.len(), max)?;
            }
            pad(out, depth);
            out.push(']');
        }
        Value::Object(members) if !members.is_empty() => {
            out.push('{');
            for (i, (k, x)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                pad(out, depth + 1);
                crate::value::write_str(out, k);
                out.push_str(": ");
                pretty_into(out, x, depth + 1, max)?;
                text_fits(out.len(), max)?;
            }
            pad(out, depth);
            out.push('}');
        }
        other => json_into(out, other, max)?,
    }
    Ok(())
}
