//! Higher-order functions: `$map`, `$filter`, `$reduce`, `$single`.

use super::{func_arg, items};
use crate::jsonata::eval::{err, num, truthy, Ev, Func, JV, R};
use crate::value::Value;

/// Arguments for a callback: as many as it declares (value, index, array).
pub(super) fn callback_args<'a>(f: &Func<'a>, v: Value<'a>, i: usize, all: &'a [Value<'a>]) -> Vec<JV<'a>> {
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

pub(super) fn map<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], input: JV<'a>) -> R<'a> {
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

pub(super) fn filter<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], input: JV<'a>) -> R<'a> {
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

pub(super) fn reduce<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], input: JV<'a>) -> R<'a> {
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

pub(super) fn single_fn<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], input: JV<'a>) -> R<'a> {
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
