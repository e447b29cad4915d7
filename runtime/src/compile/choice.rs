//! Choice rules → tests and jumps, with short-circuit And/Or and Not folded into jump polarity.

use super::{push, Compiler, Emitter};
use crate::asl::ast::{self, ChoiceRule, Condition, State};
use crate::bytecode::*;

impl Compiler {
    pub(super) fn choice(
        &mut self,
        e: &mut Emitter,
        s: &State,
        rules: &[ChoiceRule],
        default: Option<&str>,
    ) -> Result<(), String> {
        if s.jsonata {
            return self.choice_jsonata(e, s, rules, default);
        }
        self.input_path(e, s)?;
        for rule in rules {
            let next_rule = e.label();
            self.jump_when(e, &rule.condition, false, next_rule)?;
            // A chosen rule's Assign replaces the state's; both read the effective input.
            let assign = rule.assign.as_ref().map(|a| self.assign_values(e, a, Reg::Eff)).transpose()?;
            self.choice_exit(e, s, assign, &rule.next)?;
            e.bind(next_rule);
        }
        match default {
            Some(d) => {
                let assign = s.assign.as_ref().map(|a| self.assign_values(e, a, Reg::Eff)).transpose()?;
                self.choice_exit(e, s, assign, d)?;
            }
            None => e.emit(Op::NoChoice),
        }
        Ok(())
    }

    /// The output of a JSONPath Choice for one outcome: OutputPath, the Assign, exit, jump.
    fn choice_exit(
        &mut self,
        e: &mut Emitter,
        s: &State,
        assign: Option<AssignId>,
        target: &str,
    ) -> Result<(), String> {
        e.emit(Op::Move { to: Reg::Acc, from: Reg::Eff });
        self.output_path(e, s)?;
        if let Some(a) = assign {
            e.emit(Op::Assign(a));
        }
        e.emit(Op::Exit);
        let target = e.state_label(target)?;
        e.emit_to(Op::Jump, target);
        Ok(())
    }

    /// JSONata: each rule's Condition in turn; the chosen rule's Output and Assign (or, for the
    /// Default, the state's) make the output.
    fn choice_jsonata(
        &mut self,
        e: &mut Emitter,
        s: &State,
        rules: &[ChoiceRule],
        default: Option<&str>,
    ) -> Result<(), String> {
        let mut uses = Self::jsonata_uses(s.output.as_ref(), s.assign.as_ref());
        for r in rules {
            uses.extend(Self::jsonata_uses(r.output.as_ref(), r.assign.as_ref()));
            if let Condition::Jsonata(t) = &r.condition {
                uses.push(Some(t));
            }
        }
        self.set_states(e, 0, &uses);
        for rule in rules {
            let next_rule = e.label();
            let Condition::Jsonata(t) = &rule.condition else {
                return Err("internal error: a JSONPath condition in a JSONata Choice".into());
            };
            let id = self.jt(t)?;
            e.emit(Op::TestJ(id));
            e.emit_to(Op::JumpIfNot, next_rule);
            self.jsonata_outcome(e, rule.output.as_ref(), rule.assign.as_ref(), Reg::Raw, Reg::Raw)?;
            e.emit(Op::Exit);
            let target = e.state_label(&rule.next)?;
            e.emit_to(Op::Jump, target);
            e.bind(next_rule);
        }
        match default {
            Some(d) => {
                self.jsonata_output_assign(e, s, Reg::Raw)?;
                e.emit(Op::Exit);
                let target = e.state_label(d)?;
                e.emit_to(Op::Jump, target);
            }
            None => e.emit(Op::NoChoice),
        }
        Ok(())
    }

    /// Emits code that jumps to `target` when `c` evaluates to `when`, and falls through otherwise.
    fn jump_when(&mut self, e: &mut Emitter, c: &Condition, when: bool, target: Label) -> Result<(), String> {
        match c {
            Condition::Compare { variable, op, operand } => {
                let test = self.test(variable, *op, operand)?;
                e.emit(Op::Test(test));
                e.emit_to(if when { Op::JumpIf } else { Op::JumpIfNot }, target);
            }
            Condition::Jsonata(t) => {
                let id = self.jt(t)?;
                e.emit(Op::TestJ(id));
                e.emit_to(if when { Op::JumpIf } else { Op::JumpIfNot }, target);
            }
            Condition::Not(inner) => self.jump_when(e, inner, !when, target)?,
            // And jumps on the first false; Or on the first true. The opposite polarity skips past
            // the last operand's jump as soon as the result is decided.
            Condition::And(list) | Condition::Or(list) => {
                let is_and = matches!(c, Condition::And(_));
                if when != is_and {
                    for x in list {
                        self.jump_when(e, x, when, target)?;
                    }
                } else {
                    let skip = e.label();
                    let (last, rest) = list.split_last().ok_or("internal error: empty And/Or")?;
                    for x in rest {
                        self.jump_when(e, x, !when, skip)?;
                    }
                    self.jump_when(e, last, when, target)?;
                    e.bind(skip);
                }
            }
        }
        Ok(())
    }

    fn test(
        &mut self,
        variable: &crate::path::Path,
        op: ast::Comparison,
        operand: &ast::Operand,
    ) -> Result<TestId, String> {
        use ast::Comparison as C;
        let is_timestamp = matches!(
            op,
            C::TimestampEquals
                | C::TimestampLessThan
                | C::TimestampGreaterThan
                | C::TimestampLessThanEquals
                | C::TimestampGreaterThanEquals
        );
        let variable = self.path(variable)?;
        let operand = match operand {
            ast::Operand::Const(crate::value::Const::Str(s)) if is_timestamp => TestOperand::Timestamp(
                crate::vm::timestamp::parse(s).ok_or("internal error: unparsed timestamp literal")?,
            ),
            ast::Operand::Const(k) => TestOperand::Const(self.constant(k)?),
            ast::Operand::Path(p) => TestOperand::Path(self.path(p)?),
            ast::Operand::None => TestOperand::Const(self.constant(&crate::value::Const::Null)?),
        };
        Ok(TestId(push(&mut self.program.tests, ChoiceTest { variable, op, operand })?))
    }
}
