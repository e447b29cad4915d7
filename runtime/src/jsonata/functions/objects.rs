//! Object functions (`$keys`, `$lookup`, `$spread`, `$merge`, `$each`, `$sift`), `$type`,
//! `$error` and `$assert`.

use super::{arr, element_err, func_arg, items, s, str_arg, type_err};
use crate::jsonata::eval::{err, single, truthy, Ev, JV, R};
use crate::value::{ArenaExt, Value};

pub(super) fn objects<'a>(ev: &Ev<'a, '_>, v: JV<'a>) -> Vec<&'a [(&'a str, Value<'a>)]> {
    items_or_single(ev, v).iter().filter_map(|x| x.as_object()).collect()
}

pub(super) fn items_or_single<'a>(ev: &Ev<'a, '_>, v: JV<'a>) -> &'a [Value<'a>] {
    items(ev, v)
}

pub(super) fn keys<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
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

pub(super) fn lookup<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
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

pub(super) fn spread<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
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

pub(super) fn merge<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
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

pub(super) fn each<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], input: JV<'a>) -> R<'a> {
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

pub(super) fn sift<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], input: JV<'a>) -> R<'a> {
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

pub(super) fn type_of<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let t = match single(a[0]) {
        JV::Undef => return Ok(JV::Undef),
        JV::F(_) => "function",
        JV::Seq(..) => "array",
        JV::V(v) => v.kind().name(),
    };
    Ok(s(ev, t))
}

pub(super) fn error<'a>(_: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let msg = str_arg("$error", a, 0)?.unwrap_or("$error() function evaluated");
    err("D3137", msg)
}

pub(super) fn assert<'a>(_: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    match single(a[0]) {
        JV::V(Value::Bool(true)) => Ok(JV::Undef),
        JV::V(Value::Bool(false)) => err("D3141", str_arg("$assert", a, 1)?.unwrap_or("$assert() statement failed")),
        _ => err("T0410", "Argument 1 of function \"$assert\" does not match function signature"),
    }
}
