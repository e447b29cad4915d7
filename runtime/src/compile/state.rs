//! Pass, Succeed, Fail and Wait.

use super::{push, CompileError, Compiler, Emitter, Result};
use crate::asl::ast::{State, Str, Wait};
use crate::bytecode;
use crate::bytecode::*;
use crate::common::timestamp;
use crate::value::Const;

impl Compiler {
    pub(super) fn pass(&mut self, e: &mut Emitter, s: &State, result: Option<&Const>) -> Result<()> {
        if s.jsonata {
            self.set_states(e, 0, &Self::jsonata_uses(s.output.as_ref(), s.assign.as_ref()));
            return self.jsonata_exit(e, s, Reg::Raw);
        }
        self.input_path(e, s)?;
        match (&s.io.parameters, result) {
            (Some(t), _) => {
                self.template(e, t, Reg::Eff)?;
                e.emit(Op::Pop(Reg::Res));
            }
            (None, Some(r)) => {
                let id = self.constant(r)?;
                e.emit(Op::PushConst(id));
                e.emit(Op::Pop(Reg::Res));
            }
            (None, None) => e.emit(Op::Move { to: Reg::Res, from: Reg::Eff }),
        }
        // JSONPath Assign on a Pass reads the result; the variables change when the state exits.
        let assign = s.assign.as_ref().map(|a| self.assign_values(e, a, Reg::Res)).transpose()?;
        self.result_output_exit(e, s, assign)
    }

    pub(super) fn succeed(&mut self, e: &mut Emitter, s: &State) -> Result<()> {
        if s.jsonata {
            self.set_states(e, 0, &Self::jsonata_uses(s.output.as_ref(), s.assign.as_ref()));
            return self.jsonata_exit(e, s, Reg::Raw);
        }
        self.input_path(e, s)?;
        e.emit(Op::Move { to: Reg::Acc, from: Reg::Eff });
        self.output_exit(e, s, None)
    }

    pub(super) fn fail(&mut self, e: &mut Emitter, s: &State, error: Option<&Str>, cause: Option<&Str>) -> Result<()> {
        if s.jsonata {
            let uses: Vec<Option<&crate::jsonata::JTemplate>> = [error, cause]
                .into_iter()
                .map(|x| match x {
                    Some(Str::Jsonata(t)) => Some(t),
                    _ => None,
                })
                .collect();
            self.set_states(e, 0, &uses);
        }
        let error = error.map(|x| self.str_source(x)).transpose()?;
        let cause = cause.map(|x| self.str_source(x)).transpose()?;
        let id = push(&mut self.program.fails, FailSpec { error, cause })?;
        e.emit(Op::Fail(FailId(id)));
        Ok(())
    }

    fn str_source(&mut self, s: &Str) -> Result<StrSource> {
        Ok(match s {
            Str::Literal(l) => StrSource::Literal(self.string(l)?),
            Str::Path(p) => StrSource::Path(self.path(p)?),
            Str::Call(c) => StrSource::Call(self.call_id(c)?),
            Str::Jsonata(t) => StrSource::Jsonata(self.jt(t)?),
        })
    }

    pub(super) fn wait(&mut self, e: &mut Emitter, s: &State, w: &Wait) -> Result<()> {
        if s.jsonata {
            let t = match w {
                Wait::SecondsExpr(t) | Wait::TimestampExpr(t) => Some(t),
                _ => None,
            };
            let mut uses = Self::jsonata_uses(s.output.as_ref(), s.assign.as_ref());
            uses.push(t);
            self.set_states(e, 0, &uses);
        } else {
            self.input_path(e, s)?;
        }
        let lowered = match w {
            Wait::Seconds(n) => bytecode::Wait::Seconds(Source::Literal(*n)),
            Wait::SecondsPath(p) => bytecode::Wait::Seconds(Source::Path(self.path(p)?)),
            Wait::SecondsExpr(t) => bytecode::Wait::Seconds(Source::Jsonata(self.jt(t)?)),
            Wait::Timestamp(t) => bytecode::Wait::Until(Source::Literal(
                timestamp::parse(t).ok_or_else(|| CompileError::internal("unparsed timestamp literal"))?,
            )),
            Wait::TimestampPath(p) => bytecode::Wait::Until(Source::Path(self.path(p)?)),
            Wait::TimestampExpr(t) => bytecode::Wait::Until(Source::Jsonata(self.jt(t)?)),
        };
        let id = push(&mut self.program.waits, lowered)?;
        e.emit(Op::Wait(WaitId(id)));
        if s.jsonata {
            return self.jsonata_exit(e, s, Reg::Raw);
        }
        let assign = s.assign.as_ref().map(|a| self.assign_values(e, a, Reg::Eff)).transpose()?;
        e.emit(Op::Move { to: Reg::Acc, from: Reg::Eff });
        self.output_exit(e, s, assign)
    }
}
