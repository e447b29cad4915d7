//! The functions AWS Step Functions adds: `$partition`, `$range`, `$hash`, `$uuid`, `$parse`.

use super::{arr, items, num_arg, str_arg};
use crate::jsonata::eval::{err, Ev, JError, JV, R};
use crate::value::Value;

/// `$partition(array[, size])`: chunks of `size`, as AWS measures it: no size gives `[array]`,
/// a size that truncates to 0 or an empty array gives nothing, a negative size is an error.
pub(super) fn partition<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
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
pub(super) fn range<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
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
    // In i128: `$range(0, -1e19, -1)` overflows an i64 (i64::MIN / -1).
    let count = (i128::from(end) - i128::from(start)) / i128::from(step) + 1;
    if count > i128::from(crate::common::JSONATA_RANGE_FUNCTION_ITEMS) {
        return err("D3137", crate::jsonata::eval::MEMORY_LIMIT);
    }
    let count = count as i64; // at most the bound above
    let out: bumpalo::collections::Vec<'a, Value<'a>> =
        bumpalo::collections::Vec::from_iter_in((0..count).map(|k| Value::Int(start + k * step)), ev.arena);
    Ok(match out.len() {
        1 => JV::V(out[0]),
        _ => JV::Seq(out.into_bump_slice(), false),
    })
}

/// `$hash(value, algorithm)`: lowercase hex digest; no algorithm gives nothing (AWS).
pub(super) fn hash<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let Some(text) = str_arg("$hash", a, 0)? else { return Ok(JV::Undef) };
    let Some(alg) = str_arg("$hash", a, 1)? else { return Ok(JV::Undef) };
    if !["MD5", "SHA-1", "SHA-256", "SHA-384", "SHA-512"].contains(&alg) {
        return err("D3137", format!("Hash algorithm '{alg}' must be one of SHA-1, SHA-384, SHA-256, SHA-512, MD5"));
    }
    let to_error = |f: crate::intrinsics::Failure| JError { code: "D3137", message: f.cause };
    crate::intrinsics::check_hash_input(text).map_err(to_error)?;
    crate::intrinsics::hex_digest(ev.arena, text, alg).map(JV::V).map_err(to_error)
}

pub(super) fn uuid<'a>(ev: &mut Ev<'a, '_>, _: &[JV<'a>], _: JV<'a>) -> R<'a> {
    Ok(JV::V(crate::intrinsics::random_uuid(ev.arena, ev.rng)))
}

/// `$parse(json)`: the value a JSON text stands for.
pub(super) fn parse<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
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
