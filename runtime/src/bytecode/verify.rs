//! Checks a compiled program once, when the [`crate::StateMachine`] is built: every index in
//! range, every jump inside its machine, every state entry an `Enter`, and a template stack that
//! never underflows and has one depth at every op. It also computes each machine's stack size.
//! A [`VerifyError`] is a compiler bug, never a user error.

use super::*;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyError {
    pub machine: usize,
    pub pc: usize,
    pub message: String,
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "m{} pc {}: {}", self.machine, self.pc, self.message)
    }
}

/// Verifies `program` and records each machine's `max_stack`.
pub fn verify(program: &mut Program) -> Result<(), VerifyError> {
    for m in 0..program.machines.len() {
        let max = verify_machine(program, m)?;
        program.machines[m].max_stack = max;
    }
    Ok(())
}

fn verify_machine(p: &Program, m: usize) -> Result<u16, VerifyError> {
    let code = &p.machines[m].code;
    let err = |pc: usize, message: String| VerifyError { machine: m, pc, message };
    let in_range = |pc: Pc| pc.index() < code.len();
    for (i, s) in p.machines[m].states.iter().enumerate() {
        if code.get(s.entry.index()) != Some(&Op::Enter(StateId(i as u16))) {
            return Err(err(s.entry.index(), format!("state {i} does not start with its Enter")));
        }
        for c in s.catch.iter() {
            if !in_range(c.next) {
                return Err(err(s.entry.index(), "a catcher's landing pad is outside the code".into()));
            }
        }
    }
    // Check operands, and compute the stack depth before each op by a walk over the control flow.
    let mut depth: Vec<Option<u16>> = vec![None; code.len()];
    let mut work: Vec<(usize, u16)> = vec![(0, 0)];
    work.extend(p.machines[m].states.iter().map(|s| (s.entry.index(), 0)));
    // Landing pads start with an empty stack: routing a failure clears it.
    work.extend(p.machines[m].states.iter().flat_map(|s| s.catch.iter().map(|c| (c.next.index(), 0))));
    let mut max = 0u16;
    while let Some((pc, d)) = work.pop() {
        let Some(op) = code.get(pc) else {
            return Err(err(pc, "control falls off the end of the code".into()));
        };
        match depth[pc] {
            Some(seen) if seen == d => continue,
            Some(seen) => return Err(err(pc, format!("stack depth {d} here, {seen} on another path"))),
            None => depth[pc] = Some(d),
        }
        let (pops, pushes) = effect(p, op).map_err(|e| err(pc, e))?;
        if d < pops {
            return Err(err(pc, format!("{op:?} pops {pops} from a stack of {d}")));
        }
        let after = d - pops + pushes;
        max = max.max(after).max(d);
        let need_empty = matches!(op, Op::Enter(_) | Op::Attempt | Op::End | Op::Exit | Op::ChoiceOut(_));
        if (need_empty && d != 0) || (matches!(op, Op::MapBegin(_)) && d != pops) {
            return Err(err(pc, format!("{op:?} with {d} values on the stack")));
        }
        let next = pc + 1;
        match *op {
            Op::Jump(t) | Op::ChoiceOut(t) => work.push((target(t, in_range).map_err(|e| err(pc, e))?, after)),
            // Each rule's outcome and the Default's, in the ops after this one: each leaves (or
            // fails), so that none runs into the next.
            Op::Choose(c) => {
                for k in 0..=p.choices[c.index()].rules.len() {
                    let at = target(Pc((next + k) as u32), in_range).map_err(|e| err(pc, e))?;
                    if !matches!(code[at], Op::ChoiceOut(_) | Op::Jump(_) | Op::NoChoice) {
                        return Err(err(at, format!("{:?} in a Choice's table of outcomes", code[at])));
                    }
                    work.push((at, after));
                }
            }
            Op::JumpIfNot(t) | Op::MapNext(t) => {
                work.push((target(t, in_range).map_err(|e| err(pc, e))?, after));
                work.push((next, after));
            }
            Op::End | Op::Fail(_) | Op::NoChoice => {}
            _ => work.push((next, after)),
        }
    }
    Ok(max)
}

fn target(t: Pc, in_range: impl Fn(Pc) -> bool) -> Result<usize, String> {
    if in_range(t) {
        Ok(t.index())
    } else {
        Err(format!("jump to {} outside the code", t.0))
    }
}

/// (values popped, values pushed), after checking the op's operands.
fn effect(p: &Program, op: &Op) -> Result<(u16, u16), String> {
    let check = |ok: bool, what: &str| if ok { Ok(()) } else { Err(format!("{what} out of range in {op:?}")) };
    Ok(match *op {
        Op::Enter(_) => (0, 0),
        Op::InputPath(x) | Op::OutputPath(x) => {
            check(x.index() < p.paths.len(), "path")?;
            (0, 0)
        }
        Op::PushConst(c) => {
            check(c.index() < p.consts.len(), "constant")?;
            (0, 1)
        }
        Op::PushPath { path, field, .. } => {
            check(path.index() < p.paths.len(), "path")?;
            check(field.index() < p.strings.len(), "string")?;
            (0, 1)
        }
        Op::PushArg { path, call, .. } => {
            check(path.index() < p.paths.len(), "path")?;
            check(call.index() < p.calls.len(), "call")?;
            (0, 1)
        }
        Op::PushReg(_) | Op::PushItem => (0, 1),
        Op::Apply(c) => {
            check(c.index() < p.calls.len(), "call")?;
            (p.calls[c.index()].args.len() as u16, 1)
        }
        Op::MakeObject { keys, len } | Op::MakeObjectTo { keys, len, .. } => {
            check(keys.index() < p.keys.len(), "key list")?;
            if p.keys[keys.index()].len() != len as usize {
                return Err(format!("{op:?}: {} keys for {len} values", p.keys[keys.index()].len()));
            }
            (len, u16::from(matches!(op, Op::MakeObject { .. })))
        }
        Op::Object { id, .. } | Op::ItemObject(id) => {
            check(id.index() < p.objects.len(), "template object")?;
            let o = &p.objects[id.index()];
            check(o.keys.index() < p.keys.len(), "key list")?;
            if p.keys[o.keys.index()].len() != o.members.len() {
                return Err(format!("{op:?}: {} keys for {} members", p.keys[o.keys.index()].len(), o.members.len()));
            }
            for m in o.members.iter() {
                match *m {
                    FlatMember::Path { path, field } | FlatMember::MapItem { path, field, .. } => {
                        check(path.index() < p.paths.len(), "path")?;
                        check(field.index() < p.strings.len(), "string")?;
                    }
                    FlatMember::Const(c) => check(c.index() < p.consts.len(), "constant")?,
                    FlatMember::Call(c) => check(p.calls.get(c.index()).is_some_and(is_flat_call), "flat call")?,
                }
            }
            (0, u16::from(!matches!(op, Op::Object { to: Some(_), .. })))
        }
        Op::MakeArray(n) => (n, 1),
        Op::Pop(_) | Op::MapRun(_) => {
            if let Op::MapRun(m) = *op {
                check(m.index() < p.machines.len(), "machine")?;
            }
            (1, 0)
        }
        Op::ResultPath(r) | Op::ResultOutput(r) => {
            check(r.index() < p.ref_paths.len(), "reference path")?;
            if let Op::ResultOutput(r) = *op {
                // Its shortcut holds for a ResultPath of one name only.
                check(p.ref_paths[r.index()].is_one_name(), "ResultOutput of one name")?;
            }
            (0, 0)
        }
        Op::Choose(c) => {
            check(c.index() < p.choices.len(), "choice")?;
            fn tests_in_range(c: &Cond, p: &Program) -> bool {
                match c {
                    Cond::Test(t) => p.tests.get(t.index()).is_some_and(|t| {
                        let operand = match t.operand {
                            TestOperand::Const(c) => c.index() < p.consts.len(),
                            TestOperand::Path(x) => x.index() < p.paths.len(),
                            TestOperand::Timestamp(_) => true,
                        };
                        t.variable.index() < p.paths.len() && operand
                    }),
                    Cond::Not(x) => tests_in_range(x, p),
                    Cond::And(xs) | Cond::Or(xs) => xs.iter().all(|x| tests_in_range(x, p)),
                }
            }
            check(p.choices[c.index()].rules.iter().all(|r| tests_in_range(r, p)), "test")?;
            (0, 0)
        }
        Op::Wait(w) => {
            check(w.index() < p.waits.len(), "wait")?;
            (0, 0)
        }
        Op::Fail(f) => {
            check(f.index() < p.fails.len(), "fail")?;
            (0, 0)
        }
        Op::Invoke(r) => {
            check(r.index() < p.resources.len(), "resource")?;
            (0, 0)
        }
        Op::Branch(m) => {
            check(m.index() < p.machines.len(), "machine")?;
            (0, 1)
        }
        Op::MapBegin(m) => {
            check(m.index() < p.maps.len(), "map")?;
            (u16::from(p.maps[m.index()].items_on_stack), 0)
        }
        Op::PushJT(t) => {
            check(t.index() < p.jtemplates.len(), "JSONata value")?;
            (0, 1)
        }
        Op::TestJ(t) => {
            check(t.index() < p.jtemplates.len(), "JSONata value")?;
            (0, 0)
        }
        Op::Assign(a) => {
            check(a.index() < p.assigns.len(), "assign")?;
            let spec = &p.assigns[a.index()];
            if spec.slots.iter().any(|s| *s as usize >= p.variables.len()) {
                return Err(format!("variable slot out of range in {op:?}"));
            }
            (spec.slots.len() as u16, 0)
        }
        Op::SetStates(_) => (0, 0),
        Op::InputNull
        | Op::Move { .. }
        | Op::ResultWhole
        | Op::ResultDiscard
        | Op::OutputNull
        | Op::Exit
        | Op::Events(_)
        | Op::Jump(_)
        | Op::ChoiceOut(_)
        | Op::End
        | Op::JumpIfNot(_)
        | Op::NoChoice
        | Op::Attempt
        | Op::EndAttempt
        | Op::JoinBranches
        | Op::MapNext(_)
        | Op::MapEnd => (0, 0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One machine of one state whose Choice has one rule, with `code` as its code.
    fn choice_machine(code: Vec<Op>) -> Program {
        let mut p = Program::default();
        p.paths.push(crate::path::parse_path("$.a").expect("a path"));
        p.consts.push(Const::Int(1));
        let operand = TestOperand::Const(ConstId(0));
        p.tests.push(ChoiceTest { variable: PathId(0), op: Comparison::NumericEquals, operand });
        p.choices.push(ChoiceSpec { rules: vec![Cond::Test(TestId(0))].into() });
        let state = StateInfo {
            name: "C".into(),
            entry: Pc(0),
            retry: Box::default(),
            catch: Box::default(),
            timeout: None,
            heartbeat: None,
        };
        p.machines.push(MachineCode { code, states: vec![state], max_stack: 0 });
        p
    }

    #[test]
    fn a_choice_table_holds_one_outcome_per_rule_and_the_default() {
        let (enter, choose) = (Op::Enter(StateId(0)), Op::Choose(ChoiceId(0)));
        let ok = vec![enter, choose, Op::ChoiceOut(Pc(4)), Op::NoChoice, Op::End];
        assert_eq!(verify(&mut choice_machine(ok)), Ok(()));
        // An op that goes on to the next one would run into the next outcome.
        let runs_on = vec![enter, choose, Op::Exit, Op::NoChoice, Op::End];
        assert_eq!(verify(&mut choice_machine(runs_on)).map_err(|e| e.pc), Err(2));
        // The Default's entry is missing: the table runs off the end of the code.
        let short = vec![enter, choose, Op::ChoiceOut(Pc(0))];
        assert!(verify(&mut choice_machine(short)).is_err());
    }
}
