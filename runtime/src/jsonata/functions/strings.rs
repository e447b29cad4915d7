//! String functions: `$string`, `$substring`, `$split`, `$match`, `$replace`, the URL and
//! base64 codecs…

use super::{arr, element_err, items, num_arg, pretty_into, s, str_arg, stringify_into, type_err};
use crate::jsonata::eval::{err, num, single, Ev, Func, JError, RegexLit, JV, R};
use crate::value::{ArenaExt, Value};

pub(super) fn string<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let pretty = match a.get(1).copied().map(single) {
        None | Some(JV::Undef) => false,
        Some(JV::V(Value::Bool(b))) => b,
        Some(_) => return type_err("$string", 2),
    };
    if pretty {
        if let Some(v) = single(a[0]).to_value().filter(|v| matches!(v, Value::Array(_) | Value::Object(_))) {
            let mut out = bumpalo::collections::String::new_in(ev.arena);
            pretty_into(&mut out, &v, 0, ev.max_text)?;
            return Ok(JV::V(Value::Str(out.into_bump_str())));
        }
    }
    match single(a[0]) {
        JV::Undef => Ok(JV::Undef),
        JV::V(Value::Str(_)) => Ok(single(a[0])),
        JV::F(_) => Ok(s(ev, "")),
        v => {
            let mut out = bumpalo::collections::String::new_in(ev.arena);
            stringify_into(&mut out, v, ev.max_text)?;
            Ok(JV::V(Value::Str(out.into_bump_str())))
        }
    }
}

/// Characters as JSONata counts them: code points.
pub(super) fn js_len(s: &str) -> usize {
    s.chars().count()
}

pub(super) fn char_slice(s: &str, start: usize, end: usize) -> String {
    s.chars().skip(start).take(end.saturating_sub(start)).collect()
}

pub(super) fn length<'a>(_: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    if a[0].is_array() {
        return type_err("$length", 1);
    }
    Ok(match str_arg("$length", a, 0)? {
        Some(x) => num(js_len(x) as f64),
        None => JV::Undef,
    })
}

pub(super) fn substring<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
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

pub(super) fn substring_before<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let Some(text) = str_arg("$substringBefore", a, 0)? else { return Ok(JV::Undef) };
    let chars = str_arg("$substringBefore", a, 1)?.unwrap_or("");
    Ok(match text.find(chars) {
        Some(i) => s(ev, &text[..i]),
        None => JV::V(Value::Str(text)),
    })
}

pub(super) fn substring_after<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let Some(text) = str_arg("$substringAfter", a, 0)? else { return Ok(JV::Undef) };
    let chars = str_arg("$substringAfter", a, 1)?.unwrap_or("");
    Ok(match text.find(chars) {
        Some(i) => s(ev, &text[i + chars.len()..]),
        None => JV::V(Value::Str(text)),
    })
}

pub(super) fn uppercase<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    Ok(str_arg("$uppercase", a, 0)?.map_or(JV::Undef, |x| s(ev, &x.to_uppercase())))
}

pub(super) fn lowercase<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    Ok(str_arg("$lowercase", a, 0)?.map_or(JV::Undef, |x| s(ev, &x.to_lowercase())))
}

pub(super) fn trim<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let Some(text) = str_arg("$trim", a, 0)? else { return Ok(JV::Undef) };
    let collapsed = text.split([' ', '\t', '\n', '\r']).filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" ");
    Ok(s(ev, &collapsed))
}

pub(super) fn pad<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let Some(text) = str_arg("$pad", a, 0)? else { return Ok(JV::Undef) };
    let width = num_arg("$pad", a, 1)?.unwrap_or(0.0);
    let filler = str_arg("$pad", a, 2)?.filter(|f| !f.is_empty()).unwrap_or(" ");
    let len = js_len(text) as i64;
    let target = width.abs() as i64;
    if target <= len {
        return Ok(JV::V(Value::Str(text)));
    }
    // Each character takes a byte at least: a width past the limit is too long before it is made.
    ev.text_fits(usize::try_from(target).unwrap_or(usize::MAX))?;
    let fill: String = filler.chars().cycle().take((target - len) as usize).collect();
    Ok(s(ev, &if width < 0.0 { format!("{fill}{text}") } else { format!("{text}{fill}") }))
}

pub(super) fn regex_arg<'a>(a: &[JV<'a>], i: usize) -> Option<&'a RegexLit> {
    match a.get(i) {
        Some(JV::F(Func::Regex(r))) => Some(r),
        _ => None,
    }
}

pub(super) fn contains<'a>(_: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let Some(text) = str_arg("$contains", a, 0)? else { return Ok(JV::Undef) };
    if let Some(r) = regex_arg(a, 1) {
        return Ok(JV::V(Value::Bool(r.regex.is_match(text))));
    }
    let pattern = str_arg("$contains", a, 1)?.unwrap_or("");
    Ok(JV::V(Value::Bool(text.contains(pattern))))
}

pub(super) fn split<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
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

pub(super) fn join<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
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
        ev.text_fits(out.len() + part.len())?;
        out.push_str(part);
    }
    Ok(s(ev, &out))
}

/// Characters (code points) before byte offset `at`.
pub(super) fn char_index(text: &str, at: usize) -> i64 {
    text[..at].chars().count() as i64
}

pub(super) fn match_object<'a>(ev: &Ev<'a, '_>, text: &'a str, caps: &regex::Captures<'_>) -> Value<'a> {
    let m = caps.get(0).expect("group 0 always matches");
    let groups =
        ev.arena.array((1..caps.len()).map(|g| Value::Str(caps.get(g).map_or("", |c| ev.arena.alloc_str(c.as_str())))));
    ev.arena.object([
        ("match", Value::Str(ev.arena.alloc_str(m.as_str()))),
        ("index", Value::Int(char_index(text, m.start()))),
        ("groups", groups),
    ])
}

pub(super) fn match_<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
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

pub(super) fn replace<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], input: JV<'a>) -> R<'a> {
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
                    expand_replacement(repl, &caps, &mut out, ev.max_text);
                }
            }
            ev.text_fits(out.len())?;
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
    // Each match may lengthen the text: held to the limit as it is made.
    let mut out = String::new();
    let mut last = 0;
    for (at, m) in text.match_indices(pattern).take(limit) {
        out.push_str(&text[last..at]);
        out.push_str(repl);
        ev.text_fits(out.len())?;
        last = at + m.len();
    }
    out.push_str(&text[last..]);
    Ok(s(ev, &out))
}

/// `$0`, `$1`… in a replacement string; `$$` is a dollar. It stops once `out` passes `max`
/// bytes (each group may be the whole text, and a replacement may name one a hundred thousand
/// times): the caller then fails on the length.
pub(super) fn expand_replacement(repl: &str, caps: &regex::Captures<'_>, out: &mut String, max: usize) {
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
                        if out.len() > max {
                            return;
                        }
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

pub(super) fn base64encode<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    use base64::Engine as _;
    Ok(str_arg("$base64encode", a, 0)?
        .map_or(JV::Undef, |x| s(ev, &base64::engine::general_purpose::STANDARD.encode(x))))
}

pub(super) fn base64decode<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    use base64::Engine as _;
    let Some(x) = str_arg("$base64decode", a, 0)? else { return Ok(JV::Undef) };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(x.trim())
        .map_err(|e| JError { code: "D3137", message: format!("invalid base64: {e}") })?;
    Ok(s(ev, &String::from_utf8_lossy(&bytes)))
}

pub(super) fn percent_encode(text: &str, keep: &str) -> String {
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

pub(super) fn encode_url_component<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    Ok(str_arg("$encodeUrlComponent", a, 0)?.map_or(JV::Undef, |x| s(ev, &percent_encode(x, ""))))
}

pub(super) fn encode_url<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    Ok(str_arg("$encodeUrl", a, 0)?.map_or(JV::Undef, |x| s(ev, &percent_encode(x, ";,/?:@&=+$#"))))
}

pub(super) fn decode_url<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
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

pub(super) fn eval_unavailable<'a>(_: &mut Ev<'a, '_>, _: &[JV<'a>], _: JV<'a>) -> R<'a> {
    err("T1006", "The $eval function is not available in AWS Step Functions")
}
