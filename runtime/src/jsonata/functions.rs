//! The function library: JSONata 2.0's built-ins and the ones AWS adds (`$partition`, `$range`,
//! `$hash`, `$random`, `$uuid`, `$parse`). `$eval` is not available, as on AWS.

use super::eval::{err, num, single, truthy, Ev, Func, JError, RegexLit, Scope, JV, R};
use super::numfmt::{precision15, write_js};
use crate::value::{ArenaExt, Value};

type BuiltinFn = for<'a, 'h> fn(&mut Ev<'a, 'h>, &[JV<'a>], JV<'a>) -> R<'a>;

/// One built-in: name (without `$`), arity, whether a missing first argument is the context.
pub struct Builtin {
    pub name: &'static str,
    pub min: usize,
    pub max: usize,
    pub context: bool,
    pub func: BuiltinFn,
}

impl Builtin {
    pub fn name_with_dollar(&self) -> String {
        format!("${}", self.name)
    }
}

macro_rules! b {
    ($name:literal, $min:literal, $max:literal, $ctx:literal, $f:expr) => {
        Builtin { name: $name, min: $min, max: $max, context: $ctx, func: $f }
    };
}

pub static BUILTINS: &[Builtin] = &[
    // Strings
    b!("string", 1, 2, true, string),
    b!("length", 1, 1, true, length),
    b!("substring", 2, 3, true, substring),
    b!("substringBefore", 2, 2, true, substring_before),
    b!("substringAfter", 2, 2, true, substring_after),
    b!("uppercase", 1, 1, true, uppercase),
    b!("lowercase", 1, 1, true, lowercase),
    b!("trim", 1, 1, true, trim),
    b!("pad", 2, 3, true, pad),
    b!("contains", 2, 2, true, contains),
    b!("split", 2, 3, true, split),
    b!("join", 1, 2, false, join),
    b!("match", 2, 3, true, match_),
    b!("replace", 3, 4, true, replace),
    b!("base64encode", 1, 1, true, base64encode),
    b!("base64decode", 1, 1, true, base64decode),
    b!("encodeUrlComponent", 1, 1, true, encode_url_component),
    b!("encodeUrl", 1, 1, true, encode_url),
    b!("decodeUrlComponent", 1, 1, true, decode_url),
    b!("decodeUrl", 1, 1, true, decode_url),
    b!("eval", 1, 2, false, eval_unavailable),
    // Numbers
    b!("number", 1, 1, true, number),
    b!("abs", 1, 1, true, |ev, a, _| math1(ev, a, "abs", f64::abs)),
    b!("floor", 1, 1, true, |ev, a, _| math1(ev, a, "floor", f64::floor)),
    b!("ceil", 1, 1, true, |ev, a, _| math1(ev, a, "ceil", f64::ceil)),
    b!("round", 1, 2, true, round),
    b!("power", 2, 2, true, power),
    b!("sqrt", 1, 1, true, sqrt),
    b!("random", 0, 1, false, random),
    b!("formatBase", 1, 2, true, format_base),
    // Aggregation
    b!("sum", 1, 1, false, sum),
    b!("max", 1, 1, false, |ev, a, _| extreme(ev, a, true)),
    b!("min", 1, 1, false, |ev, a, _| extreme(ev, a, false)),
    b!("average", 1, 1, false, average),
    b!("count", 1, 1, false, count),
    // Booleans
    b!("boolean", 1, 1, true, |_, a, _| Ok(bool_or_undef(a[0], |v| truthy(v)))),
    b!("not", 1, 1, true, |_, a, _| Ok(bool_or_undef(a[0], |v| !truthy(v)))),
    b!("exists", 1, 1, false, |_, a, _| Ok(JV::V(Value::Bool(!matches!(a[0], JV::Undef))))),
    // Arrays
    b!("append", 2, 2, false, append),
    b!("reverse", 1, 1, false, reverse),
    b!("sort", 1, 2, false, sort),
    b!("distinct", 1, 1, false, distinct),
    b!("zip", 1, 64, false, zip),
    b!("shuffle", 1, 1, false, shuffle),
    // Objects
    b!("keys", 1, 1, true, keys),
    b!("lookup", 2, 2, false, lookup),
    b!("spread", 1, 1, true, spread),
    b!("merge", 1, 1, false, merge),
    b!("each", 2, 2, true, each),
    b!("sift", 2, 2, true, sift),
    b!("type", 1, 1, false, type_of),
    b!("error", 0, 1, false, error),
    b!("assert", 1, 2, false, assert),
    // Higher-order
    b!("map", 2, 2, false, map),
    b!("filter", 2, 2, false, filter),
    b!("reduce", 2, 3, false, reduce),
    b!("single", 1, 2, false, single_fn),
    // Dates
    b!("now", 0, 2, false, now),
    b!("millis", 0, 0, false, |ev, _, _| Ok(num(ev.now_millis as f64))),
    b!("fromMillis", 1, 3, false, from_millis),
    b!("toMillis", 1, 2, false, to_millis),
    // Added by AWS Step Functions
    b!("partition", 1, 2, false, partition),
    b!("range", 1, 3, false, range),
    b!("hash", 1, 2, false, hash),
    b!("uuid", 0, 0, false, uuid),
    b!("parse", 0, 1, false, parse),
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
pub fn stringify_into(out: &mut bumpalo::collections::String<'_>, v: JV<'_>) -> Result<(), JError> {
    match single(v) {
        JV::Undef => {}
        JV::F(_) => {}
        JV::V(Value::Str(s)) => out.push_str(s),
        other => {
            if let Some(x) = other.to_value() {
                json_into(out, &x)?;
            }
        }
    }
    Ok(())
}

fn json_into(out: &mut bumpalo::collections::String<'_>, v: &Value<'_>) -> Result<(), JError> {
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
                json_into(out, x)?;
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
                json_into(out, x)?;
            }
            out.push('}');
        }
        Value::Str(s) => crate::value::write_str(out, s),
        other => crate::value::write_json(out, other),
    }
    Ok(())
}

/// `JSON.stringify(v, null, 2)`.
fn pretty_into(out: &mut bumpalo::collections::String<'_>, v: &Value<'_>, depth: usize) -> Result<(), JError> {
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
                pretty_into(out, x, depth + 1)?;
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
                pretty_into(out, x, depth + 1)?;
            }
            pad(out, depth);
            out.push('}');
        }
        other => json_into(out, other)?,
    }
    Ok(())
}

// --- strings ---

fn string<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let pretty = match a.get(1).copied().map(single) {
        None | Some(JV::Undef) => false,
        Some(JV::V(Value::Bool(b))) => b,
        Some(_) => return type_err("$string", 2),
    };
    if pretty {
        if let Some(v) = single(a[0]).to_value().filter(|v| matches!(v, Value::Array(_) | Value::Object(_))) {
            let mut out = bumpalo::collections::String::new_in(ev.arena);
            pretty_into(&mut out, &v, 0)?;
            return Ok(JV::V(Value::Str(out.into_bump_str())));
        }
    }
    match single(a[0]) {
        JV::Undef => Ok(JV::Undef),
        JV::V(Value::Str(_)) => Ok(single(a[0])),
        JV::F(_) => Ok(s(ev, "")),
        v => {
            let mut out = bumpalo::collections::String::new_in(ev.arena);
            stringify_into(&mut out, v)?;
            Ok(JV::V(Value::Str(out.into_bump_str())))
        }
    }
}

/// Characters as JSONata counts them: code points.
fn js_len(s: &str) -> usize {
    s.chars().count()
}

fn char_slice(s: &str, start: usize, end: usize) -> String {
    s.chars().skip(start).take(end.saturating_sub(start)).collect()
}

fn length<'a>(_: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    if a[0].is_array() {
        return type_err("$length", 1);
    }
    Ok(match str_arg("$length", a, 0)? {
        Some(x) => num(js_len(x) as f64),
        None => JV::Undef,
    })
}

fn substring<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let Some(text) = str_arg("$substring", a, 0)? else { return Ok(JV::Undef) };
    let len = js_len(text) as f64;
    let mut start = num_arg("$substring", a, 1)?.unwrap_or(0.0);
    if start < 0.0 {
        start = (len + start).max(0.0);
    }
    // Array.prototype.slice semantics: fractional bounds are truncated after adding.
    let end = match num_arg("$substring", a, 2)? {
        Some(n) if n <= 0.0 => return Ok(s(ev, "")),
        Some(n) => (start + n).min(len),
        None => len,
    };
    Ok(s(ev, &char_slice(text, start.trunc() as usize, end.trunc().max(start.trunc()) as usize)))
}

fn substring_before<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let Some(text) = str_arg("$substringBefore", a, 0)? else { return Ok(JV::Undef) };
    let chars = str_arg("$substringBefore", a, 1)?.unwrap_or("");
    Ok(match text.find(chars) {
        Some(i) => s(ev, &text[..i]),
        None => JV::V(Value::Str(text)),
    })
}

fn substring_after<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let Some(text) = str_arg("$substringAfter", a, 0)? else { return Ok(JV::Undef) };
    let chars = str_arg("$substringAfter", a, 1)?.unwrap_or("");
    Ok(match text.find(chars) {
        Some(i) => s(ev, &text[i + chars.len()..]),
        None => JV::V(Value::Str(text)),
    })
}

fn uppercase<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    Ok(str_arg("$uppercase", a, 0)?.map_or(JV::Undef, |x| s(ev, &x.to_uppercase())))
}

fn lowercase<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    Ok(str_arg("$lowercase", a, 0)?.map_or(JV::Undef, |x| s(ev, &x.to_lowercase())))
}

fn trim<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let Some(text) = str_arg("$trim", a, 0)? else { return Ok(JV::Undef) };
    let collapsed = text.split([' ', '\t', '\n', '\r']).filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" ");
    Ok(s(ev, &collapsed))
}

fn pad<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let Some(text) = str_arg("$pad", a, 0)? else { return Ok(JV::Undef) };
    let width = num_arg("$pad", a, 1)?.unwrap_or(0.0);
    let filler = str_arg("$pad", a, 2)?.filter(|f| !f.is_empty()).unwrap_or(" ");
    let len = js_len(text) as i64;
    let target = width.abs() as i64;
    if target <= len {
        return Ok(JV::V(Value::Str(text)));
    }
    let fill: String = filler.chars().cycle().take((target - len) as usize).collect();
    Ok(s(ev, &if width < 0.0 { format!("{fill}{text}") } else { format!("{text}{fill}") }))
}

fn regex_arg<'a>(a: &[JV<'a>], i: usize) -> Option<&'a RegexLit> {
    match a.get(i) {
        Some(JV::F(Func::Regex(r))) => Some(r),
        _ => None,
    }
}

fn contains<'a>(_: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let Some(text) = str_arg("$contains", a, 0)? else { return Ok(JV::Undef) };
    if let Some(r) = regex_arg(a, 1) {
        return Ok(JV::V(Value::Bool(r.regex.is_match(text))));
    }
    let pattern = str_arg("$contains", a, 1)?.unwrap_or("");
    Ok(JV::V(Value::Bool(text.contains(pattern))))
}

fn split<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let Some(text) = str_arg("$split", a, 0)? else { return Ok(JV::Undef) };
    let limit = match num_arg("$split", a, 2)? {
        Some(n) if n < 0.0 => {
            return err("D3020", "Third argument of split function must evaluate to a positive number")
        }
        Some(n) => Some(n as usize),
        None => None,
    };
    let parts: Vec<&str> = if let Some(r) = regex_arg(a, 1) {
        r.regex.split(text).collect()
    } else {
        let sep = str_arg("$split", a, 1)?.unwrap_or("");
        if sep.is_empty() {
            let mut v: Vec<&str> = text.char_indices().map(|(i, c)| &text[i..i + c.len_utf8()]).collect();
            if text.is_empty() {
                v.clear();
            }
            v
        } else {
            text.split(sep).collect()
        }
    };
    let n = limit.unwrap_or(parts.len()).min(parts.len());
    Ok(arr(ev, parts[..n].iter().map(|p| Value::Str(ev.arena.alloc_str(p)))))
}

fn join<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    if matches!(a[0], JV::Undef) {
        return Ok(JV::Undef);
    }
    let sep = str_arg("$join", a, 1)?.unwrap_or("");
    let mut out = String::new();
    for (i, x) in items(ev, a[0]).iter().enumerate() {
        let Value::Str(part) = x else { return element_err("$join", 1, "strings") };
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(part);
    }
    Ok(s(ev, &out))
}

/// Characters (code points) before byte offset `at`.
fn char_index(text: &str, at: usize) -> i64 {
    text[..at].chars().count() as i64
}

fn match_object<'a>(ev: &Ev<'a, '_>, text: &'a str, caps: &regex::Captures<'_>) -> Value<'a> {
    let m = caps.get(0).expect("group 0 always matches");
    let groups =
        ev.arena.array((1..caps.len()).map(|g| Value::Str(caps.get(g).map_or("", |c| ev.arena.alloc_str(c.as_str())))));
    ev.arena.object([
        ("match", Value::Str(ev.arena.alloc_str(m.as_str()))),
        ("index", Value::Int(char_index(text, m.start()))),
        ("groups", groups),
    ])
}

fn match_<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let Some(text) = str_arg("$match", a, 0)? else { return Ok(JV::Undef) };
    let Some(r) = regex_arg(a, 1) else { return type_err("$match", 2) };
    let limit = num_arg("$match", a, 2)?.map(|n| n as usize).unwrap_or(usize::MAX);
    let found: Vec<Value<'a>> = r.regex.captures_iter(text).take(limit).map(|c| match_object(ev, text, &c)).collect();
    Ok(match found.len() {
        0 => JV::Undef,
        1 => JV::V(found[0]),
        _ => arr(ev, found),
    })
}

/// A regex called as a function: the match object of its first match.
pub fn regex_match_object<'a>(ev: &mut Ev<'a, '_>, r: &'a RegexLit, v: JV<'a>) -> R<'a> {
    let JV::V(Value::Str(text)) = single(v) else { return Ok(JV::Undef) };
    Ok(match r.regex.captures(text) {
        Some(c) => {
            let m = c.get(0).expect("group 0 always matches");
            let groups = ev
                .arena
                .array((1..c.len()).map(|g| Value::Str(c.get(g).map_or("", |x| ev.arena.alloc_str(x.as_str())))));
            JV::V(ev.arena.object([
                ("match", Value::Str(ev.arena.alloc_str(m.as_str()))),
                ("start", Value::Int(char_index(text, m.start()))),
                ("end", Value::Int(char_index(text, m.end()))),
                ("groups", groups),
            ]))
        }
        None => JV::Undef,
    })
}

fn replace<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], input: JV<'a>) -> R<'a> {
    let Some(text) = str_arg("$replace", a, 0)? else { return Ok(JV::Undef) };
    let limit = match num_arg("$replace", a, 3)? {
        Some(n) if n < 0.0 => {
            return err("D3011", "Fourth argument of replace function must evaluate to a positive number")
        }
        Some(n) => n as usize,
        None => usize::MAX,
    };
    if let Some(r) = regex_arg(a, 1) {
        let mut out = String::new();
        let mut last = 0;
        for (n, caps) in r.regex.captures_iter(text).enumerate() {
            if n >= limit {
                break;
            }
            let m = caps.get(0).expect("group 0");
            if m.as_str().is_empty() {
                return err("D1004", "Regular expression matches zero length string");
            }
            out.push_str(&text[last..m.start()]);
            match a.get(2) {
                Some(JV::F(f)) => {
                    let obj = match_object(ev, text, &caps);
                    match single(ev.apply(f, &[JV::V(obj)], input)?) {
                        JV::V(Value::Str(r)) => out.push_str(r),
                        _ => return err("D3012", "Attempted to replace a matched string with a non-string value"),
                    }
                }
                _ => {
                    let repl = str_arg("$replace", a, 2)?.unwrap_or("");
                    expand_replacement(repl, &caps, &mut out);
                }
            }
            last = m.end();
        }
        out.push_str(&text[last..]);
        return Ok(s(ev, &out));
    }
    let pattern = str_arg("$replace", a, 1)?.unwrap_or("");
    if pattern.is_empty() {
        return err("D3010", "Second argument of replace function cannot be an empty string");
    }
    let repl = str_arg("$replace", a, 2)?.unwrap_or("");
    Ok(s(ev, &text.replacen(pattern, repl, limit)))
}

/// `$0`, `$1`… in a replacement string; `$$` is a dollar.
fn expand_replacement(repl: &str, caps: &regex::Captures<'_>, out: &mut String) {
    let b = repl.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' && i + 1 < b.len() {
            if b[i + 1] == b'$' {
                out.push('$');
                i += 2;
                continue;
            }
            if b[i + 1].is_ascii_digit() {
                // The longest group number that exists, as JavaScript does.
                let mut j = i + 1;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                let mut end = j;
                while end > i + 1 {
                    let n: usize = repl[i + 1..end].parse().unwrap_or(usize::MAX);
                    if n < caps.len() {
                        out.push_str(caps.get(n).map_or("", |m| m.as_str()));
                        break;
                    }
                    end -= 1;
                }
                if end == i + 1 {
                    // No such group: nothing is inserted for the first digit.
                    end = i + 2;
                }
                i = end;
                continue;
            }
        }
        let ch = repl[i..].chars().next().unwrap_or('\0');
        out.push(ch);
        i += ch.len_utf8();
    }
}

fn base64encode<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    use base64::Engine as _;
    Ok(str_arg("$base64encode", a, 0)?
        .map_or(JV::Undef, |x| s(ev, &base64::engine::general_purpose::STANDARD.encode(x))))
}

fn base64decode<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    use base64::Engine as _;
    let Some(x) = str_arg("$base64decode", a, 0)? else { return Ok(JV::Undef) };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(x.trim())
        .map_err(|e| JError { code: "D3137", message: format!("invalid base64: {e}") })?;
    Ok(s(ev, &String::from_utf8_lossy(&bytes)))
}

fn percent_encode(text: &str, keep: &str) -> String {
    let mut out = String::new();
    for ch in text.chars() {
        if ch.is_ascii_alphanumeric() || "-_.!~*'()".contains(ch) || keep.contains(ch) {
            out.push(ch);
        } else {
            let mut buf = [0u8; 4];
            for b in ch.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

fn encode_url_component<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    Ok(str_arg("$encodeUrlComponent", a, 0)?.map_or(JV::Undef, |x| s(ev, &percent_encode(x, ""))))
}

fn encode_url<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    Ok(str_arg("$encodeUrl", a, 0)?.map_or(JV::Undef, |x| s(ev, &percent_encode(x, ";,/?:@&=+$#"))))
}

fn decode_url<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let Some(x) = str_arg("$decodeUrl", a, 0)? else { return Ok(JV::Undef) };
    let b = x.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() + 1 && i + 2 <= b.len() - 1 + 1 {
            let hex = x.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(v) => {
                    out.push(v);
                    i += 3;
                    continue;
                }
                None => return err("D3140", format!("Malformed URL passed to $decodeUrl(): \"{x}\"")),
            }
        }
        out.push(b[i]);
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(t) => Ok(s(ev, &t)),
        Err(_) => err("D3140", format!("Malformed URL passed to $decodeUrl(): \"{x}\"")),
    }
}

fn eval_unavailable<'a>(_: &mut Ev<'a, '_>, _: &[JV<'a>], _: JV<'a>) -> R<'a> {
    err("T1006", "The $eval function is not available in AWS Step Functions")
}

// --- numbers ---

fn number<'a>(_: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    if a[0].is_array() {
        return type_err("$number", 1);
    }
    Ok(match single(a[0]) {
        JV::Undef => JV::Undef,
        JV::V(v @ (Value::Int(_) | Value::Float(_))) => JV::V(v),
        JV::V(Value::Bool(b)) => num(if b { 1.0 } else { 0.0 }),
        JV::V(Value::Str(t)) => {
            let parsed = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                i64::from_str_radix(h, 16).ok().map(|v| v as f64)
            } else if let Some(bn) = t.strip_prefix("0b").or_else(|| t.strip_prefix("0B")) {
                i64::from_str_radix(bn, 2).ok().map(|v| v as f64)
            } else if let Some(o) = t.strip_prefix("0o").or_else(|| t.strip_prefix("0O")) {
                i64::from_str_radix(o, 8).ok().map(|v| v as f64)
            } else if t.is_empty()
                || t.contains(|c: char| c.is_whitespace() || (c.is_ascii_alphabetic() && c != 'e' && c != 'E'))
            {
                None
            } else {
                t.parse::<f64>().ok()
            };
            match parsed.filter(|f| f.is_finite()) {
                Some(f) => num(f),
                None => return err("D3030", format!("Unable to cast value to a number: \"{t}\"")),
            }
        }
        _ => return type_err("$number", 1),
    })
}

fn math1<'a>(_: &mut Ev<'a, '_>, a: &[JV<'a>], name: &str, f: fn(f64) -> f64) -> R<'a> {
    Ok(match num_arg(name, a, 0)? {
        Some(x) => num(f(x)),
        None => JV::Undef,
    })
}

/// `$round(n, precision)`: half to even, as JSONata does.
fn round<'a>(_: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let Some(x) = num_arg("$round", a, 0)? else { return Ok(JV::Undef) };
    let p = num_arg("$round", a, 1)?.unwrap_or(0.0) as i32;
    // Shift by decimal exponent through text, as the reference does, to avoid binary error.
    let shifted: f64 = format!("{x}e{p}").parse().unwrap_or(x * 10f64.powi(p));
    let mut r = shifted.round();
    let diff = (shifted - shifted.trunc()).abs();
    if (diff - 0.5).abs() < f64::EPSILON * shifted.abs().max(1.0) && r % 2.0 != 0.0 {
        r -= shifted.signum();
    }
    let back: f64 = format!("{r}e{}", -p).parse().unwrap_or(r / 10f64.powi(p));
    Ok(num(if back == 0.0 { 0.0 } else { back }))
}

fn power<'a>(_: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let (Some(x), Some(y)) = (num_arg("$power", a, 0)?, num_arg("$power", a, 1)?) else { return Ok(JV::Undef) };
    let r = x.powf(y);
    if !r.is_finite() {
        return err("D3061", format!("The power function has resulted in a value that cannot be represented as a JSON number: base={x}, exponent={y}"));
    }
    Ok(num(r))
}

fn sqrt<'a>(_: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let Some(x) = num_arg("$sqrt", a, 0)? else { return Ok(JV::Undef) };
    if x < 0.0 {
        return err("D3060", format!("The sqrt function cannot be applied to a negative number: {x}"));
    }
    Ok(num(x.sqrt()))
}

/// `$random([seed])`: a number in [0, 1); with a seed, the same number for the same seed (AWS).
fn random<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let f = match num_arg("$random", a, 0)? {
        // AWS: `new java.util.Random(seed).nextDouble()`.
        Some(seed) => crate::common::JavaRandom::new(seed.trunc() as i64).next_double(),
        None => ev.rng.next_f64(),
    };
    Ok(JV::V(Value::Float(f)))
}

fn format_base<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let Some(x) = num_arg("$formatBase", a, 0)? else { return Ok(JV::Undef) };
    let radix = num_arg("$formatBase", a, 1)?.unwrap_or(10.0) as u32;
    if !(2..=36).contains(&radix) {
        return err(
            "D3100",
            format!("The radix of the formatBase function must be between 2 and 36.  It was given {radix}"),
        );
    }
    let mut v = x.round() as i64;
    let neg = v < 0;
    v = v.abs();
    let mut digits = Vec::new();
    loop {
        digits.push(std::char::from_digit((v % radix as i64) as u32, radix).unwrap_or('0'));
        v /= radix as i64;
        if v == 0 {
            break;
        }
    }
    let text: String = digits.iter().rev().collect();
    Ok(s(ev, &if neg { format!("-{text}") } else { text }))
}

// --- aggregation ---

fn numbers(f: &str, v: &[Value<'_>]) -> Result<Vec<f64>, JError> {
    v.iter().map(|x| x.as_f64().map_or_else(|| element_err(f, 1, "numbers"), Ok)).collect()
}

fn sum<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    if matches!(a[0], JV::Undef) {
        return Ok(JV::Undef);
    }
    Ok(num(numbers("$sum", items(ev, a[0]))?.iter().sum()))
}

fn extreme<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], max: bool) -> R<'a> {
    let xs = numbers(if max { "$max" } else { "$min" }, items(ev, a[0]))?;
    let r = xs.iter().copied().reduce(|p, q| if (q > p) == max { q } else { p });
    Ok(r.map_or(JV::Undef, num))
}

fn average<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let xs = numbers("$average", items(ev, a[0]))?;
    if xs.is_empty() {
        return Ok(JV::Undef);
    }
    Ok(num(xs.iter().sum::<f64>() / xs.len() as f64))
}

fn count<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    Ok(num(items(ev, a[0]).len() as f64))
}

// --- arrays ---

fn append<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    match (a[0], a[1]) {
        (JV::Undef, other) | (other, JV::Undef) => Ok(other),
        (x, y) => {
            let (x, y) = (items(ev, x), items(ev, y));
            Ok(arr(ev, x.iter().chain(y.iter()).copied()))
        }
    }
}

fn reverse<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    if matches!(a[0], JV::Undef) {
        return Ok(JV::Undef);
    }
    Ok(arr(ev, items(ev, a[0]).iter().rev().copied()))
}

fn sort<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], input: JV<'a>) -> R<'a> {
    if matches!(a[0], JV::Undef) {
        return Ok(JV::Undef);
    }
    let mut v: Vec<Value<'a>> = items(ev, a[0]).to_vec();
    match a.get(1) {
        Some(JV::F(f)) => {
            // A stable merge sort driven by the comparator (`true`: swap).
            let mut failure = None;
            let n = v.len();
            let mut width = 1;
            while width < n {
                let mut merged = Vec::with_capacity(n);
                let mut i = 0;
                while i < n {
                    let (lo, mid, hi) = (i, (i + width).min(n), (i + 2 * width).min(n));
                    let (mut l, mut r) = (lo, mid);
                    while l < mid && r < hi {
                        let swap = match ev.apply(f, &[JV::V(v[l]), JV::V(v[r])], input) {
                            Ok(x) => truthy(x),
                            Err(e) => {
                                failure.get_or_insert(e);
                                false
                            }
                        };
                        if swap {
                            merged.push(v[r]);
                            r += 1;
                        } else {
                            merged.push(v[l]);
                            l += 1;
                        }
                    }
                    merged.extend_from_slice(&v[l..mid]);
                    merged.extend_from_slice(&v[r..hi]);
                    i += 2 * width;
                }
                v = merged;
                width *= 2;
            }
            if let Some(e) = failure {
                return Err(e);
            }
        }
        _ => {
            let all_num = v.iter().all(Value::is_number);
            let all_str = v.iter().all(|x| matches!(x, Value::Str(_)));
            if !all_num && !all_str {
                return err("D3070", "The single argument form of the sort function can only be applied to an array of strings or an array of numbers.  Use the second argument to specify a comparison function");
            }
            v.sort_by(|x, y| match (x, y) {
                (Value::Str(p), Value::Str(q)) => p.encode_utf16().cmp(q.encode_utf16()),
                _ => x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(std::cmp::Ordering::Equal),
            });
        }
    }
    Ok(arr(ev, v))
}

fn distinct<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    if !a[0].is_array() {
        return Ok(a[0]);
    }
    let mut out: Vec<Value<'a>> = Vec::new();
    for x in items(ev, a[0]) {
        if !out.contains(x) {
            out.push(*x);
        }
    }
    Ok(arr(ev, out))
}

fn zip<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let lists: Vec<&[Value<'a>]> = a.iter().map(|x| items(ev, *x)).collect();
    let n = lists.iter().map(|l| l.len()).min().unwrap_or(0);
    Ok(arr(ev, (0..n).map(|i| ev.arena.array(lists.iter().map(|l| l[i])))))
}

fn shuffle<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    if matches!(a[0], JV::Undef) {
        return Ok(JV::Undef);
    }
    let mut v: Vec<Value<'a>> = items(ev, a[0]).to_vec();
    for i in (1..v.len()).rev() {
        let j = (ev.rng.next_u64() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
    Ok(arr(ev, v))
}

// --- objects ---

fn objects<'a>(ev: &Ev<'a, '_>, v: JV<'a>) -> Vec<&'a [(&'a str, Value<'a>)]> {
    items_or_single(ev, v).iter().filter_map(|x| x.as_object()).collect()
}

fn items_or_single<'a>(ev: &Ev<'a, '_>, v: JV<'a>) -> &'a [Value<'a>] {
    items(ev, v)
}

fn keys<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let mut out: Vec<Value<'a>> = Vec::new();
    for o in objects(ev, a[0]) {
        for (k, _) in o {
            if !out.iter().any(|x| matches!(x, Value::Str(s) if s == k)) {
                out.push(Value::Str(k));
            }
        }
    }
    Ok(match out.len() {
        0 => JV::Undef,
        1 => JV::V(out[0]),
        _ => arr(ev, out),
    })
}

fn lookup<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let key = str_arg("$lookup", a, 1)?.unwrap_or("");
    let found: Vec<Value<'a>> = items(ev, a[0]).iter().filter_map(|x| x.get(key)).collect();
    let mut flat = Vec::new();
    for f in found {
        match f {
            Value::Array(inner) => flat.extend_from_slice(inner),
            other => flat.push(other),
        }
    }
    Ok(match flat.len() {
        0 => JV::Undef,
        1 => JV::V(flat[0]),
        _ => JV::Seq(ev.arena.alloc_slice_copy(&flat), false),
    })
}

fn spread<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    match a[0] {
        JV::Undef => Ok(JV::Undef),
        JV::V(x) if !matches!(x, Value::Array(_) | Value::Object(_)) => Ok(a[0]),
        JV::V(Value::Object(&[])) => Ok(JV::Undef),
        v => {
            let mut out = Vec::new();
            for x in items(ev, v) {
                match x {
                    Value::Object(o) => out.extend(o.iter().map(|(k, v)| ev.arena.object([(*k, *v)]))),
                    other => out.push(*other),
                }
            }
            Ok(arr(ev, out))
        }
    }
}

fn merge<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    if matches!(a[0], JV::Undef) {
        return Ok(JV::Undef);
    }
    if items(ev, a[0]).iter().any(|x| !matches!(x, Value::Object(_))) {
        return element_err("$merge", 1, "objects");
    }
    let mut out: Vec<(&'a str, Value<'a>)> = Vec::new();
    for o in objects(ev, a[0]) {
        for (k, v) in o {
            match out.iter_mut().find(|(x, _)| x == k) {
                Some(slot) => slot.1 = *v,
                None => out.push((k, *v)),
            }
        }
    }
    Ok(JV::V(ev.arena.object(out)))
}

fn each<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], input: JV<'a>) -> R<'a> {
    if matches!(a[0], JV::Undef) {
        return Ok(JV::Undef);
    }
    let Some(o) = single(a[0]).to_value().and_then(|v| v.as_object()) else { return type_err("$each", 1) };
    let f = func_arg("$each", a, 1)?;
    let mut out = Vec::new();
    for (k, v) in o {
        if let Some(r) = ev.apply(f, &[JV::V(*v), JV::V(Value::Str(k)), JV::V(Value::Object(o))], input)?.to_value() {
            out.push(r);
        }
    }
    Ok(arr(ev, out))
}

fn sift<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], input: JV<'a>) -> R<'a> {
    let Some(o) = single(a[0]).to_value().and_then(|v| v.as_object()) else { return Ok(JV::Undef) };
    let f = func_arg("$sift", a, 1)?;
    let mut out = Vec::new();
    for (k, v) in o {
        if truthy(ev.apply(f, &[JV::V(*v), JV::V(Value::Str(k)), JV::V(Value::Object(o))], input)?) {
            out.push((*k, *v));
        }
    }
    Ok(if out.is_empty() { JV::Undef } else { JV::V(ev.arena.object(out)) })
}

fn type_of<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let t = match single(a[0]) {
        JV::Undef => return Ok(JV::Undef),
        JV::F(_) => "function",
        JV::Seq(..) => "array",
        JV::V(v) => v.kind().name(),
    };
    Ok(s(ev, t))
}

fn error<'a>(_: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let msg = str_arg("$error", a, 0)?.unwrap_or("$error() function evaluated");
    err("D3137", msg)
}

fn assert<'a>(_: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    match single(a[0]) {
        JV::V(Value::Bool(true)) => Ok(JV::Undef),
        JV::V(Value::Bool(false)) => err("D3141", str_arg("$assert", a, 1)?.unwrap_or("$assert() statement failed")),
        _ => err("T0410", "Argument 1 of function \"$assert\" does not match function signature"),
    }
}

// --- higher-order ---

/// Arguments for a callback: as many as it declares (value, index, array).
fn callback_args<'a>(f: &Func<'a>, v: Value<'a>, i: usize, all: &'a [Value<'a>]) -> Vec<JV<'a>> {
    let n = match f {
        Func::Lambda { def, .. } => def.params.len(),
        _ => 1,
    };
    let mut out = vec![JV::V(v)];
    if n > 1 {
        out.push(num(i as f64));
    }
    if n > 2 {
        out.push(JV::V(Value::Array(all)));
    }
    out
}

fn map<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], input: JV<'a>) -> R<'a> {
    if matches!(a[0], JV::Undef) {
        return Ok(JV::Undef);
    }
    let f = func_arg("$map", a, 1)?;
    let all = items(ev, a[0]);
    let mut out = Vec::new();
    for (i, x) in all.iter().enumerate() {
        let args = callback_args(f, *x, i, all);
        if let Some(v) = ev.apply(f, &args, input)?.to_value() {
            out.push(v);
        }
    }
    Ok(match out.len() {
        0 => JV::Undef,
        1 if !a[0].is_array() => JV::V(out[0]),
        _ => JV::Seq(ev.arena.alloc_slice_copy(&out), false),
    })
}

fn filter<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], input: JV<'a>) -> R<'a> {
    if matches!(a[0], JV::Undef) {
        return Ok(JV::Undef);
    }
    let f = func_arg("$filter", a, 1)?;
    let all = items(ev, a[0]);
    let mut out = Vec::new();
    for (i, x) in all.iter().enumerate() {
        let args = callback_args(f, *x, i, all);
        if truthy(ev.apply(f, &args, input)?) {
            out.push(*x);
        }
    }
    Ok(match out.len() {
        0 => JV::Undef,
        1 => JV::V(out[0]),
        _ => JV::Seq(ev.arena.alloc_slice_copy(&out), false),
    })
}

fn reduce<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], input: JV<'a>) -> R<'a> {
    if matches!(a[0], JV::Undef) {
        return Ok(JV::Undef);
    }
    let f = func_arg("$reduce", a, 1)?;
    if matches!(f, Func::Lambda { def, .. } if def.params.len() < 2) {
        return err("D3050", "The second argument of reduce function must be a function with at least two arguments");
    }
    let all = items(ev, a[0]);
    let (mut acc, start) = match a.get(2) {
        Some(init) if !matches!(init, JV::Undef) => (*init, 0),
        _ => match all.first() {
            Some(x) => (JV::V(*x), 1),
            None => return Ok(JV::Undef),
        },
    };
    for (i, x) in all.iter().enumerate().skip(start) {
        acc = ev.apply(f, &[acc, JV::V(*x), num(i as f64), JV::V(Value::Array(all))], input)?;
    }
    Ok(acc)
}

fn single_fn<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], input: JV<'a>) -> R<'a> {
    if matches!(a[0], JV::Undef) {
        return Ok(JV::Undef);
    }
    let all = items(ev, a[0]);
    let mut found = None;
    for (i, x) in all.iter().enumerate() {
        let keep = match a.get(1) {
            Some(JV::F(f)) => truthy(ev.apply(f, &callback_args(f, *x, i, all), input)?),
            _ => true,
        };
        if keep {
            if found.is_some() {
                return err(
                    "D3138",
                    "The $single() function expected exactly 1 matching result.  Instead it matched more.",
                );
            }
            found = Some(*x);
        }
    }
    match found {
        Some(v) => Ok(JV::V(v)),
        None => err("D3139", "The $single() function expected exactly 1 matching result.  Instead it matched 0."),
    }
}

// --- dates ---

fn now<'a>(ev: &mut Ev<'a, '_>, _: &[JV<'a>], _: JV<'a>) -> R<'a> {
    Ok(JV::V(Value::Str(crate::common::timestamp::format_millis_in(ev.arena, ev.now_millis))))
}

fn from_millis<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let Some(ms) = num_arg("$fromMillis", a, 0)? else { return Ok(JV::Undef) };
    if a.len() > 1 && !matches!(a[1], JV::Undef) {
        return err("D3133", "aslrt supports $fromMillis only with the default (ISO 8601) picture");
    }
    Ok(JV::V(Value::Str(crate::common::timestamp::format_millis_in(ev.arena, ms as i64))))
}

fn to_millis<'a>(_: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let Some(t) = str_arg("$toMillis", a, 0)? else { return Ok(JV::Undef) };
    if a.len() > 1 && !matches!(a[1], JV::Undef) {
        return err("D3133", "aslrt supports $toMillis only with the default (ISO 8601) picture");
    }
    let parsed = chrono::DateTime::parse_from_rfc3339(t).map(|d| d.timestamp_millis()).or_else(|_| {
        chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .map(|d| d.and_hms_opt(0, 0, 0).map_or(0, |x| x.and_utc().timestamp_millis()))
    });
    match parsed {
        Ok(ms) => Ok(num(ms as f64)),
        Err(_) => err("D3110", format!("The timestamp '{t}' cannot be parsed")),
    }
}

// --- added by AWS ---

/// `$partition(array[, size])`: chunks of `size`, as AWS measures it: no size gives `[array]`,
/// a size that truncates to 0 or an empty array gives nothing, a negative size is an error.
fn partition<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    if !a[0].is_array() {
        return err("T0412", "Argument 1 of function \"partition\" must be an array");
    }
    let all = items(ev, a[0]);
    let size = match num_arg("$partition", a, 1)? {
        None => return Ok(arr(ev, [Value::Array(all)])),
        Some(n) if n < 0.0 => return err("D3137", "Second argument must be zero or greater"),
        Some(n) => n.trunc() as usize,
    };
    if size == 0 || all.is_empty() {
        return Ok(JV::Undef);
    }
    Ok(arr(ev, all.chunks(size).map(Value::Array)))
}

/// `$range(start, end, step)`: integers from start towards end (inclusive), as AWS measures it:
/// no step, a zero step or one pointing away gives nothing; a single number is that number.
fn range<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let (Some(start), Some(end), Some(step)) =
        (num_arg("$range", a, 0)?, num_arg("$range", a, 1)?, num_arg("$range", a, 2)?)
    else {
        return Ok(JV::Undef);
    };
    // AWS truncates non-integer arguments toward zero.
    let (start, end, step) = (start.trunc() as i64, end.trunc() as i64, step.trunc() as i64);
    if step == 0 || (step > 0 && start > end) || (step < 0 && start < end) {
        return Ok(JV::Undef);
    }
    let count = (end - start) / step + 1;
    if count > 360_145 {
        return err("D3137", "Expression evaluation memory limit exceeded: Check for excessive memory usage");
    }
    let out: bumpalo::collections::Vec<'a, Value<'a>> =
        bumpalo::collections::Vec::from_iter_in((0..count).map(|k| Value::Int(start + k * step)), ev.arena);
    Ok(match out.len() {
        1 => JV::V(out[0]),
        _ => JV::Seq(out.into_bump_slice(), false),
    })
}

/// `$hash(value, algorithm)`: lowercase hex digest; no algorithm gives nothing (AWS).
fn hash<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let Some(text) = str_arg("$hash", a, 0)? else { return Ok(JV::Undef) };
    let Some(alg) = str_arg("$hash", a, 1)? else { return Ok(JV::Undef) };
    if !["MD5", "SHA-1", "SHA-256", "SHA-384", "SHA-512"].contains(&alg) {
        return err("D3137", format!("Hash algorithm '{alg}' must be one of SHA-1, SHA-384, SHA-256, SHA-512, MD5"));
    }
    let to_error = |f: crate::intrinsics::Failure| JError { code: "D3137", message: f.cause };
    crate::intrinsics::check_hash_input(text).map_err(to_error)?;
    crate::intrinsics::hex_digest(ev.arena, text, alg).map(JV::V).map_err(to_error)
}

fn uuid<'a>(ev: &mut Ev<'a, '_>, _: &[JV<'a>], _: JV<'a>) -> R<'a> {
    Ok(JV::V(crate::intrinsics::random_uuid(ev.arena, ev.rng)))
}

/// `$parse(json)`: the value a JSON text stands for.
fn parse<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    if a.is_empty() {
        return Ok(JV::Undef);
    }
    let Some(text) = str_arg("$parse", a, 0)? else { return Ok(JV::Undef) };
    if let Some(v) = crate::value::parse_small(ev.arena, text) {
        return Ok(JV::V(v));
    }
    match crate::value::parse_copy(ev.arena, text, ev.parse) {
        Ok(v) => Ok(JV::V(v)),
        Err(_) => err("D3137", "Invalid JSON"),
    }
}

// --- transform ---

/// `| pattern | update, delete |` applied to `v`: a copy in which every object the pattern
/// selects is merged with the update object, less the deleted keys.
pub fn transform<'a>(
    ev: &mut Ev<'a, '_>,
    pattern: &'a super::compile::Node,
    update: &'a super::compile::Node,
    delete: Option<&'a super::compile::Node>,
    scope: &'a Scope<'a>,
    v: JV<'a>,
) -> R<'a> {
    let Some(root) = v.to_value() else { return Ok(JV::Undef) };
    // Copy the containers so that selected objects have identities of their own.
    fn copy<'a>(ev: &Ev<'a, '_>, v: Value<'a>) -> Value<'a> {
        match v {
            Value::Array(items) => Value::Array(ev.arena.alloc_slice_fill_iter(items.iter().map(|x| copy(ev, *x)))),
            Value::Object(o) => {
                Value::Object(ev.arena.alloc_slice_fill_iter(o.iter().map(|(k, x)| (*k, copy(ev, *x)))))
            }
            other => other,
        }
    }
    let root = copy(ev, root);
    let matched = ev.eval(pattern, JV::V(root), scope)?;
    let targets: Vec<*const (&str, Value<'a>)> =
        items(ev, matched).iter().filter_map(|x| x.as_object()).map(|o| o.as_ptr()).collect();
    let mut replaced: Vec<(*const (&str, Value<'a>), Value<'a>)> = Vec::new();
    for t in &targets {
        let Some(obj) = items(ev, matched).iter().filter_map(|x| x.as_object()).find(|o| o.as_ptr() == *t) else {
            continue;
        };
        let upd = ev.eval(update, JV::V(Value::Object(obj)), scope)?;
        let mut members: Vec<(&'a str, Value<'a>)> = obj.to_vec();
        match upd {
            JV::Undef => {}
            JV::V(Value::Object(u)) => {
                for (k, x) in u {
                    match members.iter_mut().find(|(m, _)| m == k) {
                        Some(slot) => slot.1 = *x,
                        None => members.push((k, *x)),
                    }
                }
            }
            _ => {
                return err("T2011", "The insert/update clause of the transform expression must evaluate to an object")
            }
        }
        if let Some(d) = delete {
            let del = ev.eval(d, JV::V(Value::Object(obj)), scope)?;
            for k in items(ev, del) {
                let Value::Str(k) = k else {
                    return err(
                        "T2012",
                        "The delete clause of the transform expression must evaluate to a string or array of strings",
                    );
                };
                members.retain(|(m, _)| m != k);
            }
        }
        replaced.push((*t, ev.arena.object(members)));
    }
    fn rebuild<'a>(ev: &Ev<'a, '_>, v: Value<'a>, replaced: &[(*const (&str, Value<'a>), Value<'a>)]) -> Value<'a> {
        match v {
            Value::Object(o) => {
                if let Some((_, r)) = replaced.iter().find(|(p, _)| *p == o.as_ptr()) {
                    return match r {
                        Value::Object(ro) => Value::Object(
                            ev.arena.alloc_slice_fill_iter(ro.iter().map(|(k, x)| (*k, rebuild(ev, *x, replaced)))),
                        ),
                        other => *other,
                    };
                }
                Value::Object(ev.arena.alloc_slice_fill_iter(o.iter().map(|(k, x)| (*k, rebuild(ev, *x, replaced)))))
            }
            Value::Array(items) => {
                Value::Array(ev.arena.alloc_slice_fill_iter(items.iter().map(|x| rebuild(ev, *x, replaced))))
            }
            other => other,
        }
    }
    Ok(JV::V(rebuild(ev, root, &replaced)))
}
