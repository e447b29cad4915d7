//! Parallel states: each branch a machine run of its own, one after another (a heavy one put
//! off to the join and spread over idle workers: `spread.rs`), gathered at the join.

use super::{Fault, FaultKind, Frame, Vm};
use crate::bytecode::MachineId;
use crate::jsonata::JV;
use crate::value::Value;
use std::cell::Cell;

impl<'a> Vm<'a> {
    /// `Branch`: runs one branch on the Parallel's input and pushes its result. A branch that
    /// stops to wait leaves a null, and the Parallel stops at the join; a failed branch fails
    /// the Parallel, which then waits for none of its branches.
    pub(super) fn branch(
        &mut self,
        f: &mut Frame<'a>,
        m: MachineId,
        vars: &'a [Cell<JV<'a>>],
    ) -> Result<(), Fault<'a>> {
        // A heavy branch is put off to the join, where it runs beside helpers.
        let timer = match self.spread.is_some() {
            true => match self.put_off_branch(f, m) {
                Ok(()) => return Ok(()),
                Err(timer) => timer,
            },
            false => None,
        };
        let mark = *f.parallel_mark.get_or_insert(self.pending_mark());
        let instance = self.site().map_or(0, |s| s.1);
        let saved = self.enter_scope(instance, 0);
        let outcome = self.run_machine(m, f.input, None, vars);
        self.leave_scope(saved);
        if let Some(started) = timer {
            self.time_branch(m, started);
        }
        match outcome {
            Ok(v) => f.push(v),
            // The other branches go on; the Parallel stops at `JoinBranches`.
            Err(fault) if fault.kind == FaultKind::Suspended => {
                f.branches_suspended = true;
                f.push(Value::Null);
            }
            Err(fault) => {
                self.drop_pending_since(mark);
                f.branches_suspended = false;
                f.parallel_mark = None;
                return Err(fault);
            }
        }
        Ok(())
    }

    /// `JoinBranches`: stops the execution's run if a branch waits; otherwise runs the
    /// branches put off to spread.
    pub(super) fn join_branches(&mut self, f: &mut Frame<'a>, vars: &'a [Cell<JV<'a>>]) -> Result<(), Fault<'a>> {
        f.parallel_mark = None;
        if std::mem::take(&mut f.branches_suspended) {
            return Err(self.suspended());
        }
        if !f.put_off.is_empty() {
            let deferred = std::mem::take(&mut f.put_off);
            self.run_put_off(deferred, &mut *f.stack, vars, 0)?;
        }
        Ok(())
    }
}
