//! Choice rules: a JSONPath Choice is one [`Op::Choose`] over its rule trees, followed by a table
//! of outcomes; a JSONata Choice is a test and a jump per rule.

use super::{push, CompileError, Compiler, Emitter, Result};
use crate::asl::ast::{self, ChoiceRule, Condition, State};
use crate::bytecode::*;

impl Compiler {
    pub(super) fn choice(
        &mut self,
        e: &mut Emitter,
        s: &State,
        rules: &[ChoiceRule],
        default: Option<&str>,
    ) -> Result<()> {
        if s.jsonata {
            return self.choice_jsonata(e, s, rules, default);
        }
        self.input_path(e, s)?;
        let mut variables = Vec::new();
        let conds = rules.iter().map(|r| self.cond(&r.condition, &mut variables)).collect::<Result<_>>()?;
        let id = ChoiceId(push(&mut self.program.choices, ChoiceSpec { rules: conds })?);
        e.emit(Op::Choose(id));
        // The table `Choose` indexes: one op per rule, then the Default's. An outcome that only
        // leaves is that op (in an optimised program); one with an OutputPath or an Assign (a
        // chosen rule's replaces the state's) is a jump to its code after the table.
        let leaves_only = self.optimize && !has_output_path(s);
        let outcomes = rules
            .iter()
            .map(|r| (Some(r.next.as_str()), r.assign.as_ref()))
            .chain(std::iter::once((default, s.assign.as_ref())));
        let mut blocks = Vec::new();
        for (next, assign) in outcomes {
            match next {
                None => e.emit(Op::NoChoice),
                Some(next) if leaves_only && assign.is_none() => {
                    let target = e.state_label(next)?;
                    e.emit_to(Op::ChoiceOut, target);
                }
                Some(next) => {
                    let l = e.label();
                    e.emit_to(Op::Jump, l);
                    blocks.push((l, next, assign));
                }
            }
        }
        for (l, next, assign) in blocks {
            e.bind(l);
            // Both read the effective input.
            let assign = assign.map(|a| self.assign_values(e, a, Reg::Eff)).transpose()?;
            self.choice_exit(e, s, assign, next)?;
        }
        Ok(())
    }

    /// A rule's condition, its comparisons compiled into tests; `variables` holds the variables
    /// of this Choice compiled so far, so that comparisons of the same variable share its path
    /// (and the VM reads it once for consecutive comparisons) in an optimised program.
    fn cond(&mut self, c: &Condition, variables: &mut Vec<(crate::path::Path, PathId)>) -> Result<Cond> {
        Ok(match c {
            Condition::Compare { variable, op, operand } => {
                let shared = variables.iter().find(|(p, _)| self.optimize && p == variable);
                let path = match shared {
                    Some(&(_, id)) => id,
                    None => {
                        let id = self.path(variable)?;
                        variables.push((variable.clone(), id));
                        id
                    }
                };
                Cond::Test(self.test(path, *op, operand)?)
            }
            Condition::Not(inner) => Cond::Not(Box::new(self.cond(inner, variables)?)),
            Condition::And(list) => Cond::And(list.iter().map(|x| self.cond(x, variables)).collect::<Result<_>>()?),
            Condition::Or(list) => Cond::Or(list.iter().map(|x| self.cond(x, variables)).collect::<Result<_>>()?),
            Condition::Jsonata(_) => return Err(CompileError::internal("a JSONata condition in a JSONPath Choice")),
        })
    }

    /// The output of a JSONPath Choice for one outcome: OutputPath, the Assign, exit, jump.
    fn choice_exit(&mut self, e: &mut Emitter, s: &State, assign: Option<AssignId>, target: &str) -> Result<()> {
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
    ) -> Result<()> {
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
                return Err(CompileError::internal("a JSONPath condition in a JSONata Choice"));
            };
            let id = self.jt(t)?;
            e.emit(Op::TestJsonata(id));
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

    fn test(&mut self, variable: PathId, op: ast::Comparison, operand: &ast::Operand) -> Result<TestId> {
        let op = lower(op);
        let operand = match operand {
            ast::Operand::Const(crate::value::Const::Str(s)) if matches!(op, Compare::Timestamp(_)) => {
                TestOperand::Timestamp(
                    crate::common::timestamp::parse(s)
                        .ok_or_else(|| CompileError::internal("unparsed timestamp literal"))?,
                )
            }
            ast::Operand::Const(k) => TestOperand::Const(self.constant(k)?),
            ast::Operand::Path(p) => TestOperand::Path(self.path(p)?),
            ast::Operand::None => TestOperand::Const(self.constant(&crate::value::Const::Null)?),
        };
        Ok(TestId(push(&mut self.program.tests, ChoiceTest { variable, op, operand })?))
    }
}

/// Whether the state's OutputPath selects anything but the whole output.
fn has_output_path(s: &State) -> bool {
    match &s.io.output_path {
        None => false,
        Some(Some(p)) => !super::is_root(p),
        Some(None) => true,
    }
}

/// AWS's operator, as the VM compares.
fn lower(op: ast::Comparison) -> Compare {
    use ast::Comparison as C;
    match op {
        C::StringEquals => Compare::String(Order::Equals),
        C::StringLessThan => Compare::String(Order::LessThan),
        C::StringGreaterThan => Compare::String(Order::GreaterThan),
        C::StringLessThanEquals => Compare::String(Order::LessThanEquals),
        C::StringGreaterThanEquals => Compare::String(Order::GreaterThanEquals),
        C::StringMatches => Compare::Matches,
        C::NumericEquals => Compare::Numeric(Order::Equals),
        C::NumericLessThan => Compare::Numeric(Order::LessThan),
        C::NumericGreaterThan => Compare::Numeric(Order::GreaterThan),
        C::NumericLessThanEquals => Compare::Numeric(Order::LessThanEquals),
        C::NumericGreaterThanEquals => Compare::Numeric(Order::GreaterThanEquals),
        C::BooleanEquals => Compare::Boolean,
        C::TimestampEquals => Compare::Timestamp(Order::Equals),
        C::TimestampLessThan => Compare::Timestamp(Order::LessThan),
        C::TimestampGreaterThan => Compare::Timestamp(Order::GreaterThan),
        C::TimestampLessThanEquals => Compare::Timestamp(Order::LessThanEquals),
        C::TimestampGreaterThanEquals => Compare::Timestamp(Order::GreaterThanEquals),
        C::IsNull => Compare::Is(Kind::Null),
        C::IsPresent => Compare::Is(Kind::Present),
        C::IsNumeric => Compare::Is(Kind::Numeric),
        C::IsString => Compare::Is(Kind::String),
        C::IsBoolean => Compare::Is(Kind::Boolean),
        C::IsTimestamp => Compare::Is(Kind::Timestamp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The lowered operator prints as the name it was lowered from: one name across the
    // definition, the bytecode and the disassembly.
    #[test]
    fn every_comparison_lowers_to_its_own_name() {
        for (name, op) in ast::Comparison::ALL {
            assert_eq!(lower(op).to_string(), name);
        }
    }
}
