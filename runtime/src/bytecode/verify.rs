//! Checks a compiled program once, when the [`crate::StateMachine`] is built: every index in
//! range, every jump inside its machine, every state entry an `Enter`, a template stack that
//! never underflows and has one depth at every op, no success path that runs into a catcher's
//! landing pad, and, in the unoptimised reference, only general ops, unplanned paths and no
//! state entered by falling through. It also computes each machine's stack size. A
//! [`VerifyError`] is a compiler bug, never a user error.

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
    if !program.optimized {
        paths_unplanned(program)?;
    }
    for m in 0..program.machines.len() {
        let max = verify_machine(program, m)?;
        success_paths_avoid_pads(program, m)?;
        if !program.optimized {
            unoptimised_is_general(program, m)?;
        }
        program.machines[m].max_stack = max;
    }
    Ok(())
}

/// The ops control may go on at after the op at `pc` when it raises no failure; an error names
/// the op at fault.
fn successors(p: &Program, code: &[Op], pc: usize) -> Result<Vec<usize>, (usize, String)> {
    let in_range = |pc: Pc| pc.index() < code.len();
    let next = pc + 1;
    Ok(match code[pc] {
        Op::Jump(t) | Op::ChoiceOut(t) => vec![target(t, in_range).map_err(|e| (pc, e))?],
        // Each rule's outcome and the Default's, in the ops after this one: each leaves (or
        // fails), so that none runs into the next.
        Op::Choose(c) => {
            let mut out = Vec::new();
            for k in 0..=p.choices.get(c.index()).map_or(0, |c| c.rules.len()) {
                let at = target(Pc((next + k) as u32), in_range).map_err(|e| (pc, e))?;
                if !matches!(code[at], Op::ChoiceOut(_) | Op::Jump(_) | Op::NoChoice) {
                    return Err((at, format!("{:?} in a Choice's table of outcomes", code[at])));
                }
                out.push(at);
            }
            out
        }
        Op::JumpIfNot(t) | Op::MapNext(t) => vec![target(t, in_range).map_err(|e| (pc, e))?, next],
        Op::End | Op::Fail(_) | Op::NoChoice => Vec::new(),
        _ => vec![next],
    })
}

/// A catcher's landing pad is entered only by routing a failure: from the machine's start,
/// from every state's entry and from every pad, control that raises no failure never reaches a
/// pad. (A state whose `Next` was laid out after its landing pads once fell into them on
/// success.)
fn success_paths_avoid_pads(p: &Program, m: usize) -> Result<(), VerifyError> {
    let machine = &p.machines[m];
    let code = &machine.code;
    let err = |pc: usize, message: String| VerifyError { machine: m, pc, message };
    let mut pad_of: Vec<Option<&str>> = vec![None; code.len()];
    for s in machine.states.iter() {
        for c in s.catch.iter() {
            if let Some(slot) = pad_of.get_mut(c.next.index()) {
                *slot = Some(&s.name);
            }
        }
    }
    let mut seen = vec![false; code.len()];
    // (pc, whether control starts there rather than arriving from the op before or a jump)
    let mut work: Vec<(usize, bool)> = vec![(0, true)];
    work.extend(machine.states.iter().map(|s| (s.entry.index(), true)));
    work.extend(machine.states.iter().flat_map(|s| s.catch.iter().map(|c| (c.next.index(), true))));
    while let Some((pc, start)) = work.pop() {
        if pc >= code.len() {
            return Err(err(pc, "control falls off the end of the code".into()));
        }
        if let (Some(state), false) = (pad_of[pc], start) {
            return Err(err(pc, format!("a success path runs into a landing pad of state '{state}'")));
        }
        if std::mem::replace(&mut seen[pc], true) {
            continue;
        }
        work.extend(successors(p, code, pc).map_err(|(at, e)| err(at, e))?.into_iter().map(|next| (next, false)));
    }
    Ok(())
}

/// The unoptimised reference uses only general ops and makes every transition an explicit
/// jump: no fused or specialised op, and no state's `Enter` after an op that goes on to the
/// next one.
fn unoptimised_is_general(p: &Program, m: usize) -> Result<(), VerifyError> {
    let code = &p.machines[m].code;
    let err = |pc: usize, message: String| VerifyError { machine: m, pc, message };
    for (pc, op) in code.iter().enumerate() {
        let specialised = matches!(
            op,
            Op::Object { .. }
                | Op::ItemObject(_)
                | Op::MakeObjectTo { .. }
                | Op::ResultOutput(_)
                | Op::ResultWhole
                | Op::ChoiceOut(_)
        );
        if specialised {
            return Err(err(pc, format!("{op:?} in an unoptimised program")));
        }
    }
    for s in p.machines[m].states.iter() {
        let at = s.entry.index();
        let falls_through = match at.checked_sub(1).and_then(|pc| code.get(pc)) {
            None => true,
            Some(op) => !matches!(op, Op::Jump(_) | Op::End | Op::Fail(_) | Op::NoChoice),
        };
        if falls_through {
            return Err(err(at, format!("state '{}' is entered by falling through in an unoptimised program", s.name)));
        }
    }
    Ok(())
}

/// No path of an unoptimised program is planned: each goes through the general evaluator.
fn paths_unplanned(p: &Program) -> Result<(), VerifyError> {
    let planned = |path: &Path| path.names.is_some() || path.wildcard.is_some() || path.context_field.is_some();
    let in_call = |c: &Call| c.args.iter().any(|a| matches!(a, crate::intrinsics::Arg::Path(x) if planned(x)));
    let what = match (p.paths.iter().find(|x| planned(x)), p.calls.iter().find(|c| in_call(c))) {
        (Some(path), _) => format!("path {} is planned in an unoptimised program", path.text),
        (None, Some(call)) => format!("a path of {} is planned in an unoptimised program", call.text),
        (None, None) => return Ok(()),
    };
    Err(VerifyError { machine: 0, pc: 0, message: what })
}

/// Whether an operand's path or JSONata value is in its pool.
fn source_in_range<T>(s: Option<&Source<T>>, p: &Program) -> bool {
    s.is_none_or(|s| match s.ids() {
        (Some(path), _) => path.index() < p.paths.len(),
        (_, Some(t)) => t.index() < p.jtemplates.len(),
        (None, None) => true,
    })
}

fn verify_machine(p: &Program, m: usize) -> Result<u16, VerifyError> {
    let code = &p.machines[m].code;
    let err = |pc: usize, message: String| VerifyError { machine: m, pc, message };
    let in_range = |pc: Pc| pc.index() < code.len();
    for (i, s) in p.machines[m].states.iter().enumerate() {
        if code.get(s.entry.index()) != Some(&Op::Enter(StateId(i as u16))) {
            return Err(err(s.entry.index(), format!("state {i} does not start with its Enter")));
        }
        if ![&s.timeout, &s.heartbeat].iter().all(|x| source_in_range(x.as_ref(), p)) {
            return Err(err(s.entry.index(), "a Task's time-out reads outside the pools".into()));
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
        for next in successors(p, code, pc).map_err(|(at, e)| err(at, e))? {
            work.push((next, after));
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
            let read = match &p.waits[w.index()] {
                Wait::Seconds(x) => source_in_range(Some(x), p),
                Wait::Until(x) => source_in_range(Some(x), p),
            };
            check(read, "wait operand")?;
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
            let spec = &p.maps[m.index()];
            let settings = [&spec.max_concurrency, &spec.tolerated_failure_count, &spec.tolerated_failure_percentage];
            check(settings.iter().all(|x| source_in_range(x.as_ref(), p)), "map setting")?;
            (u16::from(p.maps[m.index()].items_on_stack), 0)
        }
        Op::PushJsonata(t) => {
            check(t.index() < p.jtemplates.len(), "JSONata value")?;
            (0, 1)
        }
        Op::TestJsonata(t) => {
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
        let mut p = Program { optimized: true, ..Program::default() };
        p.paths.push(crate::path::parse_path("$.a").expect("a path"));
        p.consts.push(Const::Int(1));
        let operand = TestOperand::Const(ConstId(0));
        p.tests.push(ChoiceTest { variable: PathId(0), op: Compare::Numeric(Order::Equals), operand });
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

    fn state(name: &str, entry: u32, pad: Option<u32>) -> StateInfo {
        let catcher =
            |next| Catcher { errors: ErrorMatcher { names: Box::default(), all: true, task_failed: false }, next };
        StateInfo {
            name: name.into(),
            entry: Pc(entry),
            retry: Box::default(),
            catch: pad.map(|p| catcher(Pc(p))).into_iter().collect(),
            timeout: None,
            heartbeat: None,
        }
    }

    fn machine(code: Vec<Op>, states: Vec<StateInfo>, optimized: bool) -> Program {
        let mut p = Program { optimized, ..Program::default() };
        p.machines.push(MachineCode { code, states, max_stack: 0 });
        p
    }

    /// Issue #13: a state's success path that runs on into its catcher's landing pad is a
    /// compiler bug the verifier reports.
    #[test]
    fn no_success_path_runs_into_a_landing_pad() {
        let (enter, pad) = (Op::Enter(StateId(0)), Op::Move { to: Reg::Res, from: Reg::Err });
        let falls = vec![enter, Op::Attempt, Op::EndAttempt, Op::Exit, pad, Op::Exit, Op::End];
        let got = verify(&mut machine(falls, vec![state("T", 0, Some(4))], true));
        assert_eq!(got.as_ref().map_err(|e| e.pc), Err(4), "{got:?}");
        let leaves = vec![enter, Op::Attempt, Op::EndAttempt, Op::Exit, Op::End, pad, Op::Exit, Op::End];
        assert_eq!(verify(&mut machine(leaves, vec![state("T", 0, Some(5))], true)), Ok(()));
    }

    /// The unoptimised reference enters every state by an explicit jump, the first one too.
    #[test]
    fn an_unoptimised_program_enters_every_state_by_a_jump() {
        let (a, b) = (Op::Enter(StateId(0)), Op::Enter(StateId(1)));
        let states = || vec![state("A", 1, None), state("B", 3, None)];
        let jumps = vec![Op::Jump(Pc(1)), a, Op::Jump(Pc(3)), b, Op::End];
        assert_eq!(verify(&mut machine(jumps.clone(), states(), false)), Ok(()));
        let falls = vec![Op::Jump(Pc(1)), a, Op::Exit, b, Op::End];
        assert_eq!(verify(&mut machine(falls.clone(), states(), false)).map_err(|e| e.pc), Err(3));
        // An optimised program may fall through.
        assert_eq!(verify(&mut machine(falls, states(), true)), Ok(()));
        let first = vec![a, Op::End];
        assert!(verify(&mut machine(first, vec![state("A", 0, None)], false)).is_err());
        // A fused or specialised op has no place in it.
        let whole = vec![Op::Jump(Pc(1)), a, Op::ResultWhole, Op::End];
        assert_eq!(verify(&mut machine(whole.clone(), vec![state("A", 1, None)], false)).map_err(|e| e.pc), Err(2));
        assert_eq!(verify(&mut machine(whole, vec![state("A", 1, None)], true)), Ok(()));
    }

    /// A landing pad that runs on into another pad is caught too.
    #[test]
    fn no_landing_pad_runs_into_another() {
        let (enter, pad) = (Op::Enter(StateId(0)), Op::Move { to: Reg::Res, from: Reg::Err });
        let mut t = state("T", 0, None);
        let catcher =
            |next| Catcher { errors: ErrorMatcher { names: Box::default(), all: true, task_failed: false }, next };
        t.catch = vec![catcher(Pc(5)), catcher(Pc(6))].into();
        let code = vec![enter, Op::Attempt, Op::EndAttempt, Op::Exit, Op::End, pad, pad, Op::End];
        assert_eq!(verify(&mut machine(code, vec![t], true)).map_err(|e| e.pc), Err(6));
    }
}
