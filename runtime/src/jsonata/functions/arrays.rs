//! Array functions: `$append`, `$reverse`, `$sort`, `$distinct`, `$zip`, `$shuffle`.

use super::{arr, items};
use crate::jsonata::eval::{err, truthy, Ev, JV, R};
use crate::value::{ArenaExt, Value};

pub(super) fn append<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    match (a[0], a[1]) {
        (JV::Undef, other) | (other, JV::Undef) => Ok(other),
        (x, y) => {
            let (x, y) = (items(ev, x), items(ev, y));
            Ok(arr(ev, x.iter().chain(y.iter()).copied()))
        }
    }
}

pub(super) fn reverse<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    if matches!(a[0], JV::Undef) {
        return Ok(JV::Undef);
    }
    Ok(arr(ev, items(ev, a[0]).iter().rev().copied()))
}

pub(super) fn sort<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], input: JV<'a>) -> R<'a> {
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

pub(super) fn distinct<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
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

pub(super) fn zip<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let lists: Vec<&[Value<'a>]> = a.iter().map(|x| items(ev, *x)).collect();
    let n = lists.iter().map(|l| l.len()).min().unwrap_or(0);
    Ok(arr(ev, (0..n).map(|i| ev.arena.array(lists.iter().map(|l| l[i])))))
}

pub(super) fn shuffle<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
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
