//! Numeric functions (`$number`, `$round`, `$formatBase`, `$random`…) and aggregation
//! (`$sum`, `$max`, `$average`, `$count`).

use super::{element_err, items, num_arg, s, type_err};
use crate::jsonata::eval::{err, num, single, Ev, JError, JV, R};
use crate::value::Value;

pub(super) fn number<'a>(_: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
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

pub(super) fn math1<'a>(_: &mut Ev<'a, '_>, a: &[JV<'a>], name: &str, f: fn(f64) -> f64) -> R<'a> {
    Ok(match num_arg(name, a, 0)? {
        Some(x) => num(f(x)),
        None => JV::Undef,
    })
}

/// `$round(n, precision)`: half to even, as JSONata does.
pub(super) fn round<'a>(_: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
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

pub(super) fn power<'a>(_: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let (Some(x), Some(y)) = (num_arg("$power", a, 0)?, num_arg("$power", a, 1)?) else { return Ok(JV::Undef) };
    let r = x.powf(y);
    if !r.is_finite() {
        return err("D3061", format!("The power function has resulted in a value that cannot be represented as a JSON number: base={x}, exponent={y}"));
    }
    Ok(num(r))
}

pub(super) fn sqrt<'a>(_: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let Some(x) = num_arg("$sqrt", a, 0)? else { return Ok(JV::Undef) };
    if x < 0.0 {
        return err("D3060", format!("The sqrt function cannot be applied to a negative number: {x}"));
    }
    Ok(num(x.sqrt()))
}

/// `$random([seed])`: a number in [0, 1); with a seed, the same number for the same seed (AWS).
pub(super) fn random<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let f = match num_arg("$random", a, 0)? {
        // AWS: `new java.util.Random(seed).nextDouble()`.
        Some(seed) => crate::common::JavaRandom::new(seed.trunc() as i64).next_double(),
        None => ev.rng.next_f64(),
    };
    Ok(JV::V(Value::Float(f)))
}

pub(super) fn format_base<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
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

pub(super) fn numbers(f: &str, v: &[Value<'_>]) -> Result<Vec<f64>, JError> {
    v.iter().map(|x| x.as_f64().map_or_else(|| element_err(f, 1, "numbers"), Ok)).collect()
}

pub(super) fn sum<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    if matches!(a[0], JV::Undef) {
        return Ok(JV::Undef);
    }
    Ok(num(numbers("$sum", items(ev, a[0]))?.iter().sum()))
}

pub(super) fn extreme<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], max: bool) -> R<'a> {
    let xs = numbers(if max { "$max" } else { "$min" }, items(ev, a[0]))?;
    let r = xs.iter().copied().reduce(|p, q| if (q > p) == max { q } else { p });
    Ok(r.map_or(JV::Undef, num))
}

pub(super) fn average<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let xs = numbers("$average", items(ev, a[0]))?;
    if xs.is_empty() {
        return Ok(JV::Undef);
    }
    Ok(num(xs.iter().sum::<f64>() / xs.len() as f64))
}

pub(super) fn count<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    Ok(num(items(ev, a[0]).len() as f64))
}
