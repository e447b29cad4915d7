//! Array intrinsics: States.Array, ArrayPartition, ArrayContains, ArrayRange, ArrayGetItem,
//! ArrayLength, ArrayUnique.

use super::{want_array, want_int, Env, Failure, Result};
use crate::value::{ArenaExt, Value};

/// AWS caps States.ArrayRange at 1,000 elements.
const MAX_RANGE: usize = crate::common::ARRAY_RANGE_ITEMS;

pub fn array<'a>(env: &mut Env<'a, '_>, args: &[Value<'a>]) -> Result<Value<'a>> {
    Ok(env.arena.array(args.iter().copied()))
}

pub fn partition<'a>(env: &mut Env<'a, '_>, args: &[Value<'a>]) -> Result<Value<'a>> {
    let items = want_array("States.ArrayPartition", 0, args[0])?;
    let size = want_int("States.ArrayPartition", 1, args[1])?;
    if size <= 0 {
        return Err(Failure::new(format!("Chunk size should be a positive integer, but was {size}")));
    }
    Ok(env.arena.array(items.chunks(size as usize).map(Value::Array)))
}

pub fn contains<'a>(_: &mut Env<'a, '_>, args: &[Value<'a>]) -> Result<Value<'a>> {
    let items = want_array("States.ArrayContains", 0, args[0])?;
    Ok(Value::Bool(items.iter().any(|v| *v == args[1])))
}

pub fn range<'a>(env: &mut Env<'a, '_>, args: &[Value<'a>]) -> Result<Value<'a>> {
    let start = want_int("States.ArrayRange", 0, args[0])?;
    let end = want_int("States.ArrayRange", 1, args[1])?;
    let step = want_int("States.ArrayRange", 2, args[2])?;
    if step == 0 {
        return Err(Failure::new("States.ArrayRange step must not be 0"));
    }
    let count = if (step > 0 && start > end) || (step < 0 && start < end) {
        0
    } else {
        ((end as i128 - start as i128) / step as i128 + 1) as u128
    };
    if count > MAX_RANGE as u128 {
        return Err(Failure::new(format!(
            "States.ArrayRange can produce at most {MAX_RANGE} elements, but this range has {count}"
        )));
    }
    Ok(env.arena.array((0..count as i64).map(|k| Value::Int(start + k * step))))
}

pub fn get_item<'a>(_: &mut Env<'a, '_>, args: &[Value<'a>]) -> Result<Value<'a>> {
    let items = want_array("States.ArrayGetItem", 0, args[0])?;
    let index = want_int("States.ArrayGetItem", 1, args[1])?;
    usize::try_from(index)
        .ok()
        .and_then(|i| items.get(i).copied())
        .ok_or_else(|| Failure::new(format!("Index {index} is out of bounds for an array of length {}", items.len())))
}

pub fn length<'a>(_: &mut Env<'a, '_>, args: &[Value<'a>]) -> Result<Value<'a>> {
    let items = want_array("States.ArrayLength", 0, args[0])?;
    Ok(Value::Int(items.len() as i64))
}

pub fn unique<'a>(env: &mut Env<'a, '_>, args: &[Value<'a>]) -> Result<Value<'a>> {
    let items = want_array("States.ArrayUnique", 0, args[0])?;
    let mut out = bumpalo::collections::Vec::with_capacity_in(items.len(), env.arena);
    for v in items {
        if !out.contains(v) {
            out.push(*v);
        }
    }
    Ok(Value::Array(out.into_bump_slice()))
}
