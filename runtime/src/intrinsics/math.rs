//! Math intrinsics: States.MathAdd, States.MathRandom.

use super::{want_int, Env, Failure, Result};
use crate::value::Value;

/// Rounds as Java's `Math.round`: half up (`-0.5` gives 0, `2.5` gives 3), which is what AWS does
/// with a fractional MathAdd argument.
fn round_half_up(v: Value<'_>, pos: usize) -> Result<i64> {
    match v {
        Value::Int(i) => Ok(i),
        Value::Float(f) if f.is_finite() => Ok((f + 0.5).floor() as i64),
        other => want_int("States.MathAdd", pos, other),
    }
}

pub fn add<'a>(_: &mut Env<'a, '_>, args: &[Value<'a>]) -> Result<Value<'a>> {
    let a = round_half_up(args[0], 0)?;
    let b = round_half_up(args[1], 1)?;
    a.checked_add(b).map(Value::Int).ok_or_else(|| Failure::new("States.MathAdd overflowed"))
}

/// `States.MathRandom(start, end[, seed])`: an integer in `[start, end)`.
pub fn random<'a>(env: &mut Env<'a, '_>, args: &[Value<'a>]) -> Result<Value<'a>> {
    let start = want_int("States.MathRandom", 0, args[0])?;
    let end = want_int("States.MathRandom", 1, args[1])?;
    if end <= start {
        return Err(Failure::new(format!("States.MathRandom needs start < end, but got {start} and {end}")));
    }
    let span = (end as i128 - start as i128) as u128;
    let draw = match args.get(2) {
        // With a seed, as Java's `new Random(seed).nextInt(end - start) + start` (AWS runs on
        // the JVM); the value itself is not in the AWS recordings (they mask it).
        Some(seed) if span <= i32::MAX as u128 => {
            let seed = want_int("States.MathRandom", 2, *seed)?;
            let v = crate::common::JavaRandom::new(seed).next_int(span as i32);
            return Ok(Value::Int(start + v as i64));
        }
        Some(seed) => {
            let seed = want_int("States.MathRandom", 2, *seed)?;
            crate::common::Rng::seeded(seed as u64).next_u64()
        }
        None => env.rng.next_u64(),
    };
    Ok(Value::Int((start as i128 + (draw as u128 % span) as i128) as i64))
}
