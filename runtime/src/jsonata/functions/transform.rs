//! The transform operator `| pattern | update, delete |`.

use super::items;
use crate::jsonata::eval::{err, Ev, Scope, JV, R};
use crate::value::{ArenaExt, Value};

/// `| pattern | update, delete |` applied to `v`: a copy in which every object the pattern
/// selects is merged with the update object, less the deleted keys.
pub fn transform<'a>(
    ev: &mut Ev<'a, '_>,
    pattern: &'a crate::jsonata::compile::Node,
    update: &'a crate::jsonata::compile::Node,
    delete: Option<&'a crate::jsonata::compile::Node>,
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
