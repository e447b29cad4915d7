//! Date and time functions: `$now`, `$millis`, `$fromMillis`, `$toMillis`.

use super::{num_arg, str_arg};
use crate::jsonata::eval::{err, num, Ev, JV, R};
use crate::value::Value;

pub(super) fn now<'a>(ev: &mut Ev<'a, '_>, _: &[JV<'a>], _: JV<'a>) -> R<'a> {
    Ok(JV::V(Value::Str(crate::common::timestamp::format_millis_in(ev.arena, ev.now_millis))))
}

pub(super) fn from_millis<'a>(ev: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let Some(ms) = num_arg("$fromMillis", a, 0)? else { return Ok(JV::Undef) };
    if a.len() > 1 && !matches!(a[1], JV::Undef) {
        return err("D3133", "aslrt supports $fromMillis only with the default (ISO 8601) picture");
    }
    Ok(JV::V(Value::Str(crate::common::timestamp::format_millis_in(ev.arena, ms as i64))))
}

pub(super) fn to_millis<'a>(_: &mut Ev<'a, '_>, a: &[JV<'a>], _: JV<'a>) -> R<'a> {
    let Some(t) = str_arg("$toMillis", a, 0)? else { return Ok(JV::Undef) };
    if a.len() > 1 && !matches!(a[1], JV::Undef) {
        return err("D3133", "aslrt supports $toMillis only with the default (ISO 8601) picture");
    }
    let parsed = chrono::DateTime::parse_from_rfc3339(t).map(|d| d.timestamp_millis()).or_else(|_| {
        chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .map(|d| d.and_hms_opt(0, 0, 0).map_or(0, |x| x.and_utc().timestamp_millis()))
    });
    match parsed {
        Ok(ms) => Ok(num(ms as f64)),
        Err(_) => err("D3110", format!("The timestamp '{t}' cannot be parsed")),
    }
}
