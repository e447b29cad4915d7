//! Pass, Succeed, Fail and Wait.

use super::{push, Compiler, Emitter};
use crate::asl::ast::{State, Str, Wait};
use crate::bytecode::*;
use crate::value::Const;

impl Compiler {
    pub(super) fn pass(&mut self, e: &mut Emitter, s: &State, result: Option<&Const>) -> Result<(), String> {
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
        self.result_output_exit(e, s)
    }

    pub(super) fn succeed(&mut self, e: &mut Emitter, s: &State) -> Result<(), String> {
        self.input_path(e, s)?;
        e.emit(Op::Move { to: Reg::Acc, from: Reg::Eff });
        self.output_exit(e, s)
    }

    pub(super) fn fail(&mut self, e: &mut Emitter, error: Option<&Str>, cause: Option<&Str>) -> Result<(), String> {
        let error = error.map(|x| self.str_source(x)).transpose()?;
        let cause = cause.map(|x| self.str_source(x)).transpose()?;
        let id = push(&mut self.program.fails, FailSpec { error, cause })?;
        e.emit(Op::Fail(FailId(id)));
        Ok(())
    }

    fn str_source(&mut self, s: &Str) -> Result<StrSource, String> {
        Ok(match s {
            Str::Literal(l) => StrSource::Literal(self.string(l)?),
            Str::Path(p) => StrSource::Path(self.path(p)?),
            Str::Call(c) => StrSource::Call(CallId(push(&mut self.program.calls, c.clone())?)),
        })
    }

    pub(super) fn wait(&mut self, e: &mut Emitter, s: &State, w: &Wait) -> Result<(), String> {
        self.input_path(e, s)?;
        let id = push(&mut self.program.waits, w.clone())?;
        e.emit(Op::Wait(WaitId(id)));
        e.emit(Op::Move { to: Reg::Acc, from: Reg::Eff });
        self.output_exit(e, s)
    }
}
