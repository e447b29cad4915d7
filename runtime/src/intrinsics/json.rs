//! JSON intrinsics: States.StringToJson, States.JsonToString, States.JsonMerge.

use super::{type_name, want_str, Env, Failure, Result};
use crate::value::{to_json_bounded, Value};

pub fn string_to_json<'a>(env: &mut Env<'a, '_>, args: &[Value<'a>]) -> Result<Value<'a>> {
    let s = want_str("States.StringToJson", 0, args[0])?;
    if s.trim().is_empty() {
        // AWS (Jackson) reads an empty document as null.
        return Ok(Value::Null);
    }
    // A small plain document is read directly, its strings borrowed from `s`.
    if let Some(v) = crate::value::parse_small(env.arena, s) {
        return Ok(v);
    }
    crate::value::parse_copy(env.arena, s, env.parse)
        .map_err(|e| Failure::new(format!("The string '{s}' is not valid JSON: {e}")))
}

pub fn json_to_string<'a>(env: &mut Env<'a, '_>, args: &[Value<'a>]) -> Result<Value<'a>> {
    to_json_bounded(env.arena, &args[0]).map(Value::Str).ok_or_else(super::too_large)
}

/// `States.JsonMerge(a, b, false)`: a shallow merge, `b`'s members winning. AWS supports only
/// `false` for the deep-merge flag.
pub fn merge<'a>(env: &mut Env<'a, '_>, args: &[Value<'a>]) -> Result<Value<'a>> {
    let (Value::Object(a), Value::Object(b)) = (args[0], args[1]) else {
        let bad = if args[0].as_object().is_none() { args[0] } else { args[1] };
        return Err(Failure::new(format!("States.JsonMerge expects two objects, but was given {}", type_name(&bad))));
    };
    match args[2] {
        Value::Bool(false) => {}
        Value::Bool(true) => return Err(Failure::new("States.JsonMerge does not support deep merge (true)")),
        other => {
            return Err(Failure::new(format!(
                "The third argument of States.JsonMerge must be a boolean, but was {}",
                type_name(&other)
            )))
        }
    }
    let mut out = bumpalo::collections::Vec::with_capacity_in(a.len() + b.len(), env.arena);
    for (k, v) in a.iter() {
        out.push((*k, Value::Object(b).get(k).unwrap_or(*v)));
    }
    for (k, v) in b.iter() {
        if Value::Object(a).get(k).is_none() {
            out.push((*k, *v));
        }
    }
    Ok(Value::Object(out.into_bump_slice()))
}
