//! String intrinsics: States.Format, States.StringSplit.

use super::{want_str, Env, Failure, Result};
use crate::value::{ArenaExt, Value};

/// `States.Format(template, args…)`: each `{}` takes the next argument; strings go in as they
/// are, numbers, booleans and null as JSON, objects and arrays as AWS's Java renders a map or a
/// list (see [`write_formatted`]). `\{` and `\}` are literal braces.
pub fn format<'a>(env: &mut Env<'a, '_>, args: &[Value<'a>]) -> Result<Value<'a>> {
    let template = want_str("States.Format", 0, args[0])?;
    // A literal template was split when the call was parsed (see `Call::format`); this one comes
    // from a path, so it is split now.
    let pieces = pieces(template).ok_or_else(|| Failure::new("States.Format produced invalid UTF-8"))?;
    if placeholders(&pieces) + 1 != args.len() {
        return Err(Failure::new("Number of arguments in States.Format does not match the number of placeholders"));
    }
    format_pieces(env, &pieces, args)
}

/// A piece of a States.Format template: literal text, or the next argument (`{}`).
#[derive(Clone, Debug, PartialEq)]
pub enum Piece {
    Text(Box<str>),
    Arg,
}

/// A literal template's pieces, read as [`format()`] reads it (`\{`, `\}` and `\\` stand for
/// the character itself); `None` if it is not valid UTF-8 once split (it always is).
pub fn pieces(template: &str) -> Option<Box<[Piece]>> {
    let mut out = Vec::new();
    let mut text = Vec::new();
    let bytes = template.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if matches!(bytes.get(i + 1), Some(b'{' | b'}' | b'\\')) => {
                text.push(bytes[i + 1]);
                i += 2;
            }
            b'{' if bytes.get(i + 1) == Some(&b'}') => {
                if !text.is_empty() {
                    out.push(Piece::Text(String::from_utf8(std::mem::take(&mut text)).ok()?.into()));
                }
                out.push(Piece::Arg);
                i += 2;
            }
            b => {
                text.push(b);
                i += 1;
            }
        }
    }
    if !text.is_empty() {
        out.push(Piece::Text(String::from_utf8(text).ok()?.into()));
    }
    Some(out.into())
}

/// The number of `{}` in a template.
pub fn placeholders(pieces: &[Piece]) -> usize {
    pieces.iter().filter(|p| **p == Piece::Arg).count()
}

/// States.Format with a template split at compile time; the caller checked that there is one
/// argument per placeholder. The string is sized once and built without re-validating UTF-8.
pub fn format_pieces<'a>(env: &mut Env<'a, '_>, pieces: &[Piece], args: &[Value<'a>]) -> Result<Value<'a>> {
    let mut args_left = args.iter().skip(1);
    let mut len = 0;
    for p in pieces {
        len += match p {
            Piece::Text(t) => t.len(),
            Piece::Arg => args_left.next().map_or(0, |a| a.as_str().map_or(16, str::len)),
        };
    }
    let mut out = bumpalo::collections::String::with_capacity_in(len, env.arena);
    let mut args_left = args.iter().skip(1);
    for p in pieces {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Arg => match args_left.next() {
                Some(Value::Str(s)) => out.push_str(s),
                Some(Value::Int(i)) => out.push_str(itoa::Buffer::new().format(*i)),
                Some(other) => write_formatted(&mut out, other),
                None => {}
            },
        }
    }
    if out.len() > crate::common::WRITE_LIMIT {
        return Err(super::too_large());
    }
    Ok(Value::Str(out.into_bump_str()))
}

/// An argument of States.Format that is not a string: numbers, booleans and null as JSON;
/// an object as `{key=value, key=value}` and an array as `[value, value]`, with strings inside
/// them unquoted, as Java's `Map.toString` and `List.toString` write them (AWS renders
/// `{"Arg1": 1, "Arg2": []}` as `{Arg1=1, Arg2=[]}`).
pub fn write_formatted(out: &mut impl crate::value::Out, v: &Value<'_>) {
    match v {
        Value::Str(s) => out.push_str(s),
        // Past the writer's limit the text is turned down (see `format_pieces`).
        Value::Object(_) | Value::Array(_) if out.written() > crate::common::WRITE_LIMIT => {}
        Value::Object(members) => {
            out.push_str("{");
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push_str("=");
                write_formatted(out, v);
            }
            out.push_str("}");
        }
        Value::Array(items) => {
            out.push_str("[");
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_formatted(out, v);
            }
            out.push_str("]");
        }
        scalar => crate::value::write_json(out, scalar),
    }
}

/// `States.StringSplit(s, delimiters)`: splits at every character of `delimiters` and drops
/// empty pieces, as Java's StringTokenizer (`",,,,"` gives `[]`).
pub fn split<'a>(env: &mut Env<'a, '_>, args: &[Value<'a>]) -> Result<Value<'a>> {
    let s = want_str("States.StringSplit", 0, args[0])?;
    let delims = want_str("States.StringSplit", 1, args[1])?;
    Ok(env.arena.array(s.split(|c| delims.contains(c)).filter(|p| !p.is_empty()).map(Value::Str)))
}

/// Removes the backslash of `\{` and `\}` (string literals outside a Format template).
pub fn unescape_braces(s: &str) -> String {
    s.replace("\\{", "{").replace("\\}", "}")
}
