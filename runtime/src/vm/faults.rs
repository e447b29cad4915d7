//! Failures as values: [`Fault`] and the faults the VM raises, worded as AWS words them.

use super::{StateCtx, Vm};
use crate::bytecode::{FailSpec, StrSource};
use crate::intrinsics;
use crate::path::Path;
use crate::value::{to_json_string, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FaultKind {
    /// Goes through Retry and Catch.
    Catchable,
    /// States.Runtime, States.DataLimitExceeded: ends the execution.
    Terminal,
    /// The execution's time ran out.
    TimedOut,
    /// The execution was cancelled (status ABORTED).
    Aborted,
    /// The run stopped to wait without holding its worker (see [`super::Journal`]); the execution
    /// goes on in a later run.
    Suspended,
}

/// An ASL failure in flight.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fault<'a> {
    pub error: Option<&'a str>,
    pub cause: Option<&'a str>,
    pub kind: FaultKind,
    /// Raised by a Task (for `States.TaskFailed` matching).
    pub from_task: bool,
}

impl<'a> Vm<'a> {
    #[cold]
    #[inline(never)]
    pub(super) fn aborted(&self) -> Fault<'a> {
        Fault { error: None, cause: None, kind: FaultKind::Aborted, from_task: false }
    }

    #[cold]
    #[inline(never)]
    pub(super) fn timed_out(&self) -> Fault<'a> {
        Fault {
            error: Some("States.Timeout"),
            cause: Some("The execution timed out."),
            kind: FaultKind::TimedOut,
            from_task: false,
        }
    }

    /// A `States.Runtime` failure with AWS's prefix naming the state and its entered event.
    #[cold]
    #[inline(never)]
    pub(crate) fn runtime(&self, sc: &StateCtx<'a>, message: String) -> Fault<'a> {
        let cause = format!(
            "An error occurred while executing the state '{}' (entered at the event id #{}). {message}",
            sc.name, sc.entered_event
        );
        Fault {
            error: Some("States.Runtime"),
            cause: Some(self.arena.alloc_str(&cause)),
            kind: FaultKind::Terminal,
            from_task: false,
        }
    }

    /// A template member's path selects nothing.
    #[cold]
    #[inline(never)]
    pub(super) fn field_not_found(&self, sc: &StateCtx<'a>, p: &Path, field: &str, input: Value<'a>) -> Fault<'a> {
        self.runtime(
            sc,
            format!(
                "The JSONPath '{}' specified for the field '{field}' could not be found in the input '{}'",
                p.text,
                to_json_string(&input)
            ),
        )
    }

    /// An intrinsic's path argument selects nothing.
    #[cold]
    #[inline(never)]
    pub(super) fn arg_not_found(
        &self,
        sc: &StateCtx<'a>,
        call: &intrinsics::Call,
        p: &Path,
        input: Value<'a>,
    ) -> Fault<'a> {
        self.runtime(
            sc,
            format!(
                "The function '{}' had the following error: The JsonPath argument for the field '{}' could not be found in the input '{}'",
                call.text,
                p.text,
                to_json_string(&input)
            ),
        )
    }

    #[cold]
    #[inline(never)]
    pub(super) fn data_limit(&self, sc: &StateCtx<'a>) -> Fault<'a> {
        self.data_limit_fault(&format!(
            "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
            sc.name
        ))
    }

    #[cold]
    #[inline(never)]
    pub(super) fn arena_full(&self) -> Fault<'a> {
        self.data_limit_fault(&format!(
            "The execution's values take more than {} bytes of memory (RuntimeLimits::max_arena_bytes).",
            self.limits.max_arena_bytes
        ))
    }

    /// `States.DataLimitExceeded`, which no catcher takes.
    fn data_limit_fault(&self, cause: &str) -> Fault<'a> {
        Fault {
            error: Some("States.DataLimitExceeded"),
            cause: Some(self.arena.alloc_str(cause)),
            kind: FaultKind::Terminal,
            from_task: false,
        }
    }

    #[cold]
    #[inline(never)]
    pub(super) fn catchable(&self, error: &str, cause: String) -> Fault<'a> {
        Fault {
            error: Some(self.arena.alloc_str(error)),
            cause: Some(self.arena.alloc_str(&cause)),
            kind: FaultKind::Catchable,
            from_task: false,
        }
    }

    #[cold]
    #[inline(never)]
    pub(super) fn terminal(&self, message: &'static str) -> Fault<'a> {
        Fault { error: Some("States.Runtime"), cause: Some(message), kind: FaultKind::Terminal, from_task: false }
    }

    /// A `…Path` field whose value is not a number of its kind (`integer` or `float`), as AWS
    /// words it; a missing value shows as `null`.
    #[cold]
    #[inline(never)]
    pub(super) fn not_a_number(
        &self,
        sc: &StateCtx<'a>,
        field: &str,
        kind: &str,
        v: Option<Value<'a>>,
        p: &Path,
    ) -> Fault<'a> {
        let shown = match v {
            Some(Value::Str(s)) => s.to_owned(),
            Some(other) => to_json_string(&other),
            None => "null".into(),
        };
        self.runtime(
            sc,
            format!("The {field}Path field refers to value \"{shown}\" which is not a valid {kind}: {}", p.text),
        )
    }

    /// A Task's failure as Retry and Catch see it.
    pub(super) fn task_fault(&self, error: &str, cause: Option<&str>) -> Fault<'a> {
        Fault {
            error: Some(self.arena.alloc_str(error)),
            cause: cause.map(|c| &*self.arena.alloc_str(c)),
            kind: FaultKind::Catchable,
            from_task: true,
        }
    }

    pub(super) fn fail_field(
        &mut self,
        src: Option<&'a StrSource>,
        field: &str,
        raw: Value<'a>,
        sc: &StateCtx<'a>,
    ) -> Result<Option<&'a str>, Fault<'a>> {
        let program = self.program;
        match src {
            None => Ok(None),
            Some(StrSource::Literal(s)) => Ok(Some(&program.strings[s.index()])),
            Some(StrSource::Jsonata(t)) => {
                let jt = &program.jtemplates[t.index()];
                match self.jt_value(jt, sc)? {
                    Value::Str(s) => Ok(Some(s)),
                    other => Err(self.unexpected_type(sc, jt, "string", other)),
                }
            }
            Some(StrSource::Path(p)) => {
                let p = &program.paths[p.index()];
                match self.eval_path(p, raw, sc) {
                    Some(Value::Str(s)) => Ok(Some(s)),
                    Some(other) => Ok(Some(self.arena.alloc_str(&to_json_string(&other)))),
                    None => Err(self.field_not_found(sc, p, field, raw)),
                }
            }
            Some(StrSource::Call(c)) => {
                let call = &program.calls[c.index()];
                let mut args = bumpalo::collections::Vec::with_capacity_in(call.args.len(), self.arena);
                for a in call.args.iter() {
                    args.push(match a {
                        crate::intrinsics::Arg::Const(k) => k.materialize(self.arena),
                        crate::intrinsics::Arg::Path(p) => match self.eval_path(p, raw, sc) {
                            Some(v) => v,
                            None => return Err(self.arg_not_found(sc, call, p, raw)),
                        },
                        crate::intrinsics::Arg::Call(_) => {
                            return Err(self.runtime(sc, format!("nested intrinsic calls are not supported in {field}")))
                        }
                    });
                }
                let mut env = intrinsics::Env { arena: self.arena, rng: &mut self.rng, parse: self.parse };
                match call.apply(&mut env, &args) {
                    Ok(Value::Str(s)) => Ok(Some(s)),
                    Ok(other) => Ok(Some(self.arena.alloc_str(&to_json_string(&other)))),
                    Err(failure) => Err(self.runtime(
                        sc,
                        format!("The function '{}' had the following error: {}", call.text, failure.cause),
                    )),
                }
            }
        }
    }

    /// An intrinsic function's failure as the state's: `States.Runtime` naming the function,
    /// or the function's own error name where it has one.
    pub(super) fn intrinsic_fault(
        &self,
        sc: &StateCtx<'a>,
        call: &intrinsics::Call,
        failure: intrinsics::Failure,
    ) -> Fault<'a> {
        let mut fault =
            self.runtime(sc, format!("The function '{}' had the following error: {}", call.text, failure.cause));
        if failure.error != "States.IntrinsicFailure" {
            fault.error = Some(failure.error);
        }
        fault
    }

    /// `States.QueryEvaluationError` (catchable), with the state prefix.
    #[cold]
    #[inline(never)]
    pub(super) fn query_error(&self, sc: &StateCtx<'a>, message: String) -> Fault<'a> {
        let mut f = self.runtime(sc, message);
        f.error = Some("States.QueryEvaluationError");
        f.kind = FaultKind::Catchable;
        f
    }

    /// A JSONata value of the wrong type for its field.
    #[cold]
    #[inline(never)]
    pub(super) fn unexpected_type(
        &self,
        sc: &StateCtx<'a>,
        t: &crate::jsonata::JTemplate,
        expected: &str,
        got: Value<'a>,
    ) -> Fault<'a> {
        let (text, field) = match t {
            crate::jsonata::JTemplate::Expr { expr, field } => (expr.text().to_owned(), field.clone()),
            // A literal of the wrong type: validation turns those down where it can.
            _ => (to_json_string(&got), String::new()),
        };
        self.query_error(
            sc,
            format!(
                "The JSONata expression '{text}' specified for the field '{field}' returned an unexpected result type. Expected '{expected}', but was '{}' for value: {}",
                crate::intrinsics::type_name(&got),
                to_json_string(&got)
            ),
        )
    }

    /// A Choice that matched no rule and has no Default. AWS reports it as States.Runtime, not
    /// the States.NoChoiceMatched that the States Language specification names.
    #[cold]
    pub(super) fn no_choice(&self, sc: &StateCtx<'a>) -> Fault<'a> {
        self.runtime(sc, "Failed to transition out of the state. The state does not point to a next state.".into())
    }

    /// A Fail state's failure: its Error and Cause, literal or read (a read that fails is the
    /// failure instead).
    pub(super) fn fail(&mut self, spec: &'a FailSpec, raw: Value<'a>, sc: &StateCtx<'a>) -> Fault<'a> {
        let error = match self.fail_field(spec.error.as_ref(), "ErrorPath", raw, sc) {
            Ok(e) => e,
            Err(fault) => return fault,
        };
        let cause = match self.fail_field(spec.cause.as_ref(), "CausePath", raw, sc) {
            Ok(c) => c,
            Err(fault) => return fault,
        };
        Fault { error, cause, kind: FaultKind::Catchable, from_task: false }
    }
}
