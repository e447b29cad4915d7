//! Paths at run time: `$` paths, workflow variables (`$name`, and assigning them) and the
//! context object (`$$`).

use super::{Fault, Frame, StateCtx, Vm};
use crate::bytecode::AssignSpec;
use crate::common::timestamp;
use crate::config::Clock;
use crate::jsonata::JV;
use crate::path::{Path, Root};
use crate::value::{json_len, ArenaExt, Value};
use std::cell::Cell;

impl<'a> Vm<'a> {
    /// Writes workflow variables, within AWS's limits: 256 KiB a variable and an Assign, 10 MiB
    /// an execution.
    pub(super) fn assign(
        &mut self,
        spec: &'a AssignSpec,
        values: &[Value<'a>],
        vars: &'a [Cell<JV<'a>>],
        sc: &StateCtx<'a>,
    ) -> Result<(), Fault<'a>> {
        const VARIABLE_LIMIT: usize = crate::common::VARIABLE_BYTES;
        const EXECUTION_LIMIT: usize = crate::common::VARIABLES_BYTES;
        let mut total = 0usize;
        for (slot, v) in spec.slots.iter().zip(values) {
            let size = json_len(v);
            total += size;
            if size > VARIABLE_LIMIT {
                return Err(self.runtime(
                    sc,
                    format!(
                        "The value assigned to the variable '{}' is {size} bytes, more than the maximum of {VARIABLE_LIMIT} bytes",
                        self.program.variables[*slot as usize]
                    ),
                ));
            }
        }
        if total > VARIABLE_LIMIT {
            return Err(self.runtime(
                sc,
                format!("The values of one Assign are {total} bytes, more than the maximum of {VARIABLE_LIMIT} bytes"),
            ));
        }
        for (slot, v) in spec.slots.iter().zip(values) {
            let cell = &vars[*slot as usize];
            let old = cell.get().to_value().map_or(0, |o| json_len(&o));
            self.var_bytes = self.var_bytes.saturating_sub(old) + json_len(v);
            cell.set(JV::V(*v));
        }
        if self.var_bytes > EXECUTION_LIMIT {
            return Err(self.runtime(
                sc,
                format!(
                    "The workflow variables hold {} bytes, more than the maximum of {EXECUTION_LIMIT} bytes",
                    self.var_bytes
                ),
            ));
        }
        Ok(())
    }

    /// Evaluates a path against the state's input (`$`), a variable (`$name`) or the context
    /// object (`$$`).
    #[inline(always)]
    pub(crate) fn eval_path(&mut self, p: &'a Path, input: Value<'a>, sc: &StateCtx<'a>) -> Option<Value<'a>> {
        // `$` paths, most of them, go straight to the path: the other roots' code needs a
        // stack frame and saved registers that a `$` path would pay for on every call.
        match p.root {
            Root::Input => p.eval(self.arena, input),
            _ => self.eval_path_other(p, input, sc),
        }
    }

    /// [`eval_path`](Self::eval_path) for a variable or the context object (a `$` path, which
    /// `eval_path` takes itself, is evaluated here too).
    #[inline(never)]
    pub(super) fn eval_path_other(&mut self, p: &'a Path, input: Value<'a>, sc: &StateCtx<'a>) -> Option<Value<'a>> {
        match p.root {
            Root::Input => p.eval(self.arena, input),
            Root::Variable(slot) => {
                let value = sc.vars.get(slot as usize).and_then(|c| c.get().to_value())?;
                p.eval(self.arena, value)
            }
            Root::Context => {
                if let Some(v) = self.context_fast(p, sc) {
                    return v;
                }
                match p.segments.first() {
                    // Only the member the path names is built: `$$.Map.Item.Value` costs one small
                    // object, not the whole context.
                    Some(crate::path::Segment::Child(name)) => {
                        let member = self.context_member(name, sc)?;
                        p.eval_from(self.arena, member, 1)
                    }
                    _ => {
                        let whole = self.context(sc);
                        p.eval(self.arena, whole)
                    }
                }
            }
        }
    }

    /// The context fields read most (`$$.Map.Item.Value`, `$$.State.RetryCount`, …) without
    /// building the context objects; `None` when the path is not one of them.
    #[inline]
    pub(super) fn context_fast(&mut self, p: &'a Path, sc: &StateCtx<'a>) -> Option<Option<Value<'a>>> {
        use crate::path::ContextField as F;
        let (field, used) = p.context_field?;
        let value = match field {
            F::MapItemValue => sc.item?.value,
            F::MapItemIndex => Value::Int(sc.item?.index as i64),
            F::MapItemKey => Value::Str(sc.item?.key?),
            F::RetryCount => Value::Int(sc.retry_count as i64),
            F::StateName => Value::Str(sc.name),
            F::ExecutionInput => self.execution_input,
        };
        Some(p.eval_from(self.arena, value, used))
    }

    /// The whole context object `$$`.
    pub(super) fn context(&mut self, sc: &StateCtx<'a>) -> Value<'a> {
        let names = ["Execution", "State", "StateMachine", "Map"];
        let members: [(&str, Option<Value<'a>>); 4] = names.map(|n| (n, self.context_member(n, sc)));
        self.arena.object(members.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))))
    }

    /// One member of the context object: `Execution`, `State`, `StateMachine` or (inside a Map
    /// iteration) `Map`.
    pub(super) fn context_member(&mut self, name: &str, sc: &StateCtx<'a>) -> Option<Value<'a>> {
        let a = self.arena;
        match name {
            "Execution" => Some(match self.execution_ctx {
                Some(v) => v,
                None => {
                    let id = self.identity;
                    let exec_arn = format!(
                        "{}:{}",
                        id.state_machine_arn.replacen(":stateMachine:", ":express:", 1),
                        id.execution_name
                    );
                    let v = a.object([
                        ("Id", a.string(&exec_arn)),
                        ("Input", self.execution_input),
                        ("Name", Value::Str(&id.execution_name)),
                        ("RoleArn", Value::Str(&id.role_arn)),
                        ("StartTime", Value::Str(timestamp::format_millis_in(a, self.start()))),
                        ("RedriveCount", Value::Int(0)),
                    ]);
                    self.execution_ctx = Some(v);
                    v
                }
            }),
            "State" => {
                let entered = match self.clock {
                    Clock::System if sc.entered_millis != 0 => sc.entered_millis,
                    // A program that cannot read the time builds this member only as part of
                    // a context made whole (JSONata's `$states.context`, for its other members):
                    // no clock is read, nor journaled, for it.
                    Clock::System if !self.program.reads_entered_time => self.start(),
                    // Not taken in a program that may read it (before any state is entered):
                    // the time now, as before.
                    Clock::System => self.now_millis(),
                    _ => self.start().saturating_add(sc.entered_millis),
                };
                Some(a.object([
                    ("EnteredTime", Value::Str(timestamp::format_millis_in(a, entered))),
                    ("Name", Value::Str(sc.name)),
                    ("RetryCount", Value::Int(sc.retry_count as i64)),
                ]))
            }
            "StateMachine" => Some(a.object([
                ("Id", Value::Str(&self.identity.state_machine_arn)),
                ("Name", Value::Str(&self.identity.state_machine_name)),
            ])),
            "Map" => sc.item.map(|item| {
                let fields: [(&str, Option<Value<'a>>); 3] = [
                    ("Index", Some(Value::Int(item.index as i64))),
                    ("Value", Some(item.value)),
                    ("Key", item.key.map(Value::Str)),
                ];
                let item = a.object(fields.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
                a.object([("Item", item)])
            }),
            _ => None,
        }
    }

    /// `Assign`: the values on top of the stack, into the variables `spec` names.
    pub(super) fn assign_from_stack(
        &mut self,
        f: &mut Frame<'a>,
        spec: &'a AssignSpec,
        vars: &'a [Cell<JV<'a>>],
    ) -> Result<(), Fault<'a>> {
        let base = f.sp - spec.slots.len();
        self.assign(spec, &f.stack[base..f.sp], vars, &f.sc)?;
        f.sp = base;
        Ok(())
    }
}
