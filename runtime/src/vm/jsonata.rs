//! The JSONata bridge: a JSONata-mode field's value, evaluated with `$states` and the
//! workflow variables, and its errors as AWS reports them.

use super::{Fault, Frame, StateCtx, Vm};
use crate::bytecode::{STATES_CONTEXT, STATES_ERROR, STATES_RESULT};
use crate::jsonata::{JTemplate, JV};
use crate::value::{ArenaExt, Value};
use bumpalo::Bump;
use std::cell::Cell;

/// A JSONata result as AWS outputs it: a non-finite number becomes its name (`"Infinity"`).
fn finite<'a>(arena: &'a Bump, v: Value<'a>) -> Value<'a> {
    match v {
        Value::Float(f) if !f.is_finite() => Value::Str(if f.is_nan() {
            "NaN"
        } else if f > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        }),
        Value::Array(items) if items.iter().any(|x| matches!(x, Value::Float(f) if !f.is_finite())) => {
            Value::Array(arena.alloc_slice_fill_iter(items.iter().map(|x| finite(arena, *x))))
        }
        other => other,
    }
}

impl<'a> Vm<'a> {
    /// A JSONata value: constants as they are, `{% %}` expressions evaluated with the workflow
    /// variables and `$states` of `sc`.
    pub(super) fn jt_value(
        &mut self,
        t: &'a crate::jsonata::JTemplate,
        sc: &StateCtx<'a>,
    ) -> Result<Value<'a>, Fault<'a>> {
        use crate::jsonata::JTemplate;
        Ok(match t {
            JTemplate::Const(c) => c.materialize(self.arena),
            JTemplate::Expr { expr, field } => return self.jexpr(expr, field, sc),
            JTemplate::Object(members) => {
                let out = self.arena.alloc_slice_fill_copy(members.len(), ("", Value::Null));
                for (slot, (k, x)) in out.iter_mut().zip(members.iter()) {
                    *slot = (k.as_str(), self.jt_value(x, sc)?);
                }
                Value::Object(out)
            }
            JTemplate::Array(items) => {
                let out = self.arena.alloc_slice_fill_copy(items.len(), Value::Null);
                for (slot, x) in out.iter_mut().zip(items.iter()) {
                    *slot = self.jt_value(x, sc)?;
                }
                Value::Array(out)
            }
        })
    }

    pub(super) fn jexpr(
        &mut self,
        expr: &'a crate::jsonata::Expr,
        field: &str,
        sc: &StateCtx<'a>,
    ) -> Result<Value<'a>, Fault<'a>> {
        #[cfg(feature = "engine-jsonata-core")]
        if let Some(core) = &expr.core {
            return match crate::jsonata::core_engine::eval(self.arena, core, sc.vars, &self.program.variables) {
                Ok(Some(v)) => Ok(v),
                Ok(None) => Err(self.query_error(
                    sc,
                    format!("The JSONata expression '{}' specified for the field '{field}' returned nothing (undefined).", expr.text()),
                )),
                Err((code, _)) if code == crate::jsonata::core_engine::FUNCTION => Err(self.query_error(
                    sc,
                    format!("The JSONata expression '{}' specified for the field '{field}' returned an unsupported result type.", expr.text()),
                )),
                Err((code, message)) => Err(self.query_error(
                    sc,
                    format!(
                        "The JSONata expression '{}' specified for the field '{field}' threw an error during evaluation. {code}: {message}",
                        expr.text()
                    ),
                )),
            };
        }
        let now_millis = if expr.reads_clock() { self.now_millis() } else { 0 };
        let mut ev = crate::jsonata::Ev {
            arena: self.arena,
            globals: sc.vars,
            rng: &mut self.rng,
            parse: self.parse,
            now_millis,
            depth: 0,
            root: JV::Undef,
            outer: None,
            steps: 0,
            general: !self.program.optimized,
            max_text: self.limits.payload_bytes(),
            max_depth: self.limits.max_jsonata_depth,
            max_steps: self.limits.max_jsonata_steps,
            arena_cap: self.arena_base.saturating_add(self.limits.max_arena_bytes),
        };
        match expr.eval(&mut ev, JV::Undef) {
            Ok(JV::Undef) => Err(self.query_error(
                sc,
                format!("The JSONata expression '{}' specified for the field '{field}' returned nothing (undefined).", expr.text()),
            )),
            Ok(JV::F(_)) => Err(self.query_error(
                sc,
                format!("The JSONata expression '{}' specified for the field '{field}' returned an unsupported result type.", expr.text()),
            )),
            Ok(v) => Ok(finite(self.arena, v.to_value().unwrap_or(Value::Null))),
            Err(e) => Err(self.query_error(
                sc,
                format!(
                    "The JSONata expression '{}' specified for the field '{field}' threw an error during evaluation. {}: {}",
                    expr.text(),
                    e.code,
                    e.message
                ),
            )),
        }
    }

    /// `TestJsonata`: a JSONata Choice Condition, which must give a boolean.
    pub(super) fn test_jsonata(&mut self, jt: &'a JTemplate, sc: &StateCtx<'a>) -> Result<bool, Fault<'a>> {
        match self.jt_value(jt, sc)? {
            Value::Bool(b) => Ok(b),
            other => Err(self.unexpected_type(sc, jt, "boolean", other)),
        }
    }

    /// `SetStates`: `$states` for the JSONata fields that follow: the input, and the result,
    /// the error output and the context where `flags` ask for them.
    pub(super) fn set_states(&mut self, f: &Frame<'a>, flags: u8, vars: &'a [Cell<JV<'a>>]) {
        let fields: [(&str, Option<Value<'a>>); 4] = [
            ("input", Some(f.raw)),
            ("result", (flags & STATES_RESULT != 0).then_some(f.res)),
            ("errorOutput", (flags & STATES_ERROR != 0).then_some(f.err)),
            ("context", if flags & STATES_CONTEXT != 0 { Some(self.context(&f.sc)) } else { None }),
        ];
        let states = self.arena.object(fields.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
        vars[0].set(JV::V(states));
    }
}
