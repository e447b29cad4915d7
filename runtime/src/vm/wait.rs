//! Wait states: how long to wait, from Seconds, Timestamp, their paths or JSONata.

use super::{long_of, Fault, StateCtx, Vm};
use crate::bytecode::{Source, Wait};
use crate::common::timestamp;
use crate::value::{to_json_string, Value};

impl<'a> Vm<'a> {
    pub(super) fn wait_millis(&mut self, w: &'a Wait, eff: Value<'a>, sc: &StateCtx<'a>) -> Result<u64, Fault<'a>> {
        let until = |vm: &mut Self, nanos: i128| -> u64 {
            let target_ms = (nanos / 1_000_000) as i64;
            u64::try_from(target_ms.saturating_sub(vm.now_millis())).unwrap_or(0)
        };
        match w {
            Wait::Seconds(Source::Literal(s)) => Ok(s * 1000),
            Wait::Seconds(Source::Jsonata(t)) => match self.jt_value(self.program.jt(*t), sc)? {
                v if v.as_integer().is_some_and(|i| i >= 0) => Ok(v.as_integer().unwrap_or(0) as u64 * 1000),
                other => Err(self.unexpected_type(sc, self.program.jt(*t), "number", other)),
            },
            Wait::Until(Source::Jsonata(t)) => match self.jt_value(self.program.jt(*t), sc)? {
                Value::Str(text) if timestamp::parse(text).is_some() => {
                    Ok(until(self, timestamp::parse(text).unwrap_or(0)))
                }
                other => Err(self.unexpected_type(sc, self.program.jt(*t), "timestamp string", other)),
            },
            Wait::Until(Source::Literal(nanos)) => Ok(until(self, *nanos)),
            Wait::Seconds(Source::Path(p)) => {
                let p = self.program.path(*p);
                let Some(v) = self.eval_path(p, eff, sc) else {
                    return Err(self.runtime(
                        sc,
                        format!("The SecondsPath parameter does not reference an input value: {}", p.text),
                    ));
                };
                match (long_of(v), v) {
                    (Some(i), _) if i >= 0 => Ok((i as u64).saturating_mul(1000)),
                    (Some(i), _) => Err(self.runtime(
                        sc,
                        format!("The SecondsPath parameter references a negative value: {} == {i}", p.text),
                    )),
                    (None, other) => Err(self.runtime(
                        sc,
                        format!(
                            "The SecondsPath parameter cannot be parsed as a long value: {} == {}",
                            p.text,
                            match other {
                                Value::Str(s) => s.to_owned(),
                                o => to_json_string(&o),
                            }
                        ),
                    )),
                }
            }
            Wait::Until(Source::Path(p)) => {
                let p = self.program.path(*p);
                let Some(v) = self.eval_path(p, eff, sc) else {
                    return Err(self.runtime(
                        sc,
                        format!("The TimestampPath parameter does not reference an input value: {}", p.text),
                    ));
                };
                match v.as_str().and_then(timestamp::parse) {
                    Some(t) => Ok(until(self, t)),
                    None => Err(self.runtime(
                        sc,
                        format!(
                            "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {}",
                            p.text,
                            match v {
                                Value::Str(s) => s.to_owned(),
                                o => to_json_string(&o),
                            }
                        ),
                    )),
                }
            }
        }
    }

    /// `Wait`: waits as long as the state says (suspending, sleeping or advancing a virtual
    /// clock: see `time.rs`).
    pub(super) fn wait(&mut self, w: &'a Wait, eff: Value<'a>, sc: &StateCtx<'a>) -> Result<(), Fault<'a>> {
        let millis = self.wait_millis(w, eff, sc)?;
        self.sleep(millis, false)
    }
}
