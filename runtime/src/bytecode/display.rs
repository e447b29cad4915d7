//! `Display` for [`Program`]: a disassembly, for snapshot tests and `aslrt run --disasm`.

use super::*;
use crate::value::Const;
use std::fmt;

fn konst(c: &Const) -> String {
    fn to_serde(c: &Const) -> serde_json::Value {
        match c {
            Const::Null => serde_json::Value::Null,
            Const::Bool(b) => (*b).into(),
            Const::Int(i) => (*i).into(),
            Const::Float(f) => serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into),
            Const::Str(s) => s.as_ref().into(),
            Const::Array(a) => a.iter().map(to_serde).collect(),
            Const::Object(o) => {
                o.iter().map(|(k, v)| (k.to_string(), to_serde(v))).collect::<serde_json::Map<_, _>>().into()
            }
        }
    }
    to_serde(c).to_string()
}

/// A JSONata value as written: `{% expr %}`, or the JSON of a constant or structure.
fn jt_text(t: &crate::jsonata::JTemplate) -> String {
    use crate::jsonata::JTemplate;
    match t {
        JTemplate::Const(c) => konst(c),
        JTemplate::Expr { expr, .. } => format!("{{% {} %}}", expr.text()),
        JTemplate::Object(m) => {
            let inner: Vec<String> = m.iter().map(|(k, v)| format!("{k:?}:{}", jt_text(v))).collect();
            format!("{{{}}}", inner.join(","))
        }
        JTemplate::Array(v) => format!("[{}]", v.iter().map(jt_text).collect::<Vec<_>>().join(",")),
    }
}

impl Program {
    /// An operand as written: the literal, the path or the JSONata value.
    fn source_text<T: fmt::Display>(&self, s: Source<T>) -> String {
        match s {
            Source::Literal(x) => x.to_string(),
            Source::Path(p) => self.paths[p.index()].text.to_string(),
            Source::Jsonata(t) => jt_text(&self.jtemplates[t.index()]),
        }
    }

    /// A Choice rule as written, in prefix form: `And($.a NumericGreaterThan 1, Not(…))`.
    fn cond_text(&self, c: &Cond) -> String {
        let list = |xs: &[Cond]| xs.iter().map(|x| self.cond_text(x)).collect::<Vec<_>>().join(", ");
        match c {
            Cond::Test(t) => {
                let t = &self.tests[t.index()];
                let operand = match &t.operand {
                    TestOperand::Const(c) => konst(&self.consts[c.index()]),
                    TestOperand::Timestamp(n) => format!("@{n}ns"),
                    TestOperand::Path(p) => self.paths[p.index()].text.to_string(),
                };
                format!("{} {} {operand}", self.paths[t.variable.index()].text, t.op)
            }
            Cond::Not(x) => format!("Not({})", self.cond_text(x)),
            Cond::And(xs) => format!("And({})", list(xs)),
            Cond::Or(xs) => format!("Or({})", list(xs)),
        }
    }

    fn fmt_op(&self, f: &mut fmt::Formatter<'_>, m: &MachineCode, op: &Op) -> fmt::Result {
        let path = |p: PathId| &*self.paths[p.index()].text;
        match *op {
            Op::Enter(s) => write!(f, "enter      {:?}", &*m.state(s).name),
            Op::InputPath(p) => write!(f, "input      {}", path(p)),
            Op::OutputPath(p) => write!(f, "output     {}", path(p)),
            Op::PushConst(c) => write!(f, "push       {}", konst(&self.consts[c.index()])),
            Op::PushReg(r) => write!(f, "push       {r:?}"),
            Op::PushPath { path: p, root, field } => {
                write!(f, "push       {root:?} {} ({})", path(p), &*self.strings[field.index()])
            }
            Op::PushArg { path: p, root, .. } => write!(f, "arg        {root:?} {}", path(p)),
            Op::Apply(c) => {
                let call = &self.calls[c.index()];
                write!(f, "apply      {}/{}", call.name(), call.args.len())
            }
            Op::MakeObject { keys, len } => {
                write!(f, "object     {len} {:?}", self.keys[keys.index()].iter().map(|k| &**k).collect::<Vec<_>>())
            }
            Op::Object { id, .. } | Op::ItemObject(id) => {
                let o = &self.objects[id.index()];
                let members: Vec<String> = self.keys[o.keys.index()]
                    .iter()
                    .zip(o.members.iter())
                    .map(|(k, m)| match *m {
                        FlatMember::Path { path: p, .. } => format!("{k}: {}", path(p)),
                        FlatMember::MapItem { path: p, .. } => format!("{k}: {} (item)", path(p)),
                        FlatMember::Const(c) => format!("{k}: {}", konst(&self.consts[c.index()])),
                        FlatMember::Call(c) => format!("{k}: {}", self.calls[c.index()].text),
                    })
                    .collect();
                match op {
                    Op::Object { root, to: Some(to), .. } => {
                        write!(f, "object-of  {root:?} {{{}}} -> {to:?}", members.join(", "))
                    }
                    Op::Object { root, .. } => write!(f, "object-of  {root:?} {{{}}}", members.join(", ")),
                    _ => write!(f, "item-of    Eff {{{}}}", members.join(", ")),
                }
            }
            Op::MakeObjectTo { keys, len, to } => {
                let keys = self.keys[keys.index()].iter().map(|k| &**k).collect::<Vec<_>>();
                write!(f, "object-to  {to:?} {len} {keys:?}")
            }
            Op::MakeArray(n) => write!(f, "array      {n}"),
            Op::Pop(r) => write!(f, "pop        {r:?}"),
            Op::Move { to, from } => write!(f, "move       {to:?} <- {from:?}"),
            Op::ResultPath(r) => write!(f, "result     {}", &*self.ref_paths[r.index()].text),
            Op::ResultOutput(r) => write!(f, "result-out {}", &*self.ref_paths[r.index()].text),
            Op::Choose(c) => {
                let rules: Vec<String> = self.choices[c.index()].rules.iter().map(|r| self.cond_text(r)).collect();
                write!(f, "choose     {}", rules.join(" | "))
            }
            Op::ChoiceOut(pc) => write!(f, "choice-out {}", pc.0),
            Op::Invoke(r) => write!(f, "invoke     {}", &*self.resources[r.index()]),
            Op::Wait(w) => match self.waits[w.index()] {
                Wait::Seconds(s) => write!(f, "wait       seconds {}", self.source_text(s)),
                Wait::Until(t) => {
                    write!(f, "wait       until {}", self.source_text(t.map_literal(|n| format!("@{n}ns"))))
                }
            },
            Op::Jump(pc) => write!(f, "jump       {}", pc.0),
            Op::JumpIfNot(pc) => write!(f, "jump-ifnot {}", pc.0),
            Op::MapNext(pc) => write!(f, "map-next   {}", pc.0),
            Op::Branch(mid) => write!(f, "branch     m{}", mid.0),
            Op::JoinBranches => f.write_str("join"),
            Op::MapRun(mid) => write!(f, "map-run    m{}", mid.0),
            Op::MapBegin(id) => {
                let spec = &self.maps[id.index()];
                write!(f, "map-begin  {}", spec.items_path.map_or("$", |p| path(p)))
            }
            Op::Events(n) => write!(f, "events     {n}"),
            Op::Fail(id) => {
                let spec = &self.fails[id.index()];
                let show = |s: &Option<StrSource>| match s {
                    None => "-".to_owned(),
                    Some(StrSource::Literal(l)) => format!("{:?}", &*self.strings[l.index()]),
                    Some(StrSource::Path(p)) => path(*p).to_owned(),
                    Some(StrSource::Call(c)) => self.calls[c.index()].text.to_string(),
                    Some(StrSource::Jsonata(t)) => jt_text(&self.jtemplates[t.index()]),
                };
                write!(f, "fail       {} {}", show(&spec.error), show(&spec.cause))
            }
            Op::PushJT(t) => write!(f, "push-j     {}", jt_text(&self.jtemplates[t.index()])),
            Op::TestJ(t) => write!(f, "test-j     {}", jt_text(&self.jtemplates[t.index()])),
            Op::SetStates(flags) => write!(
                f,
                "states     input{}{}{}",
                if flags & STATES_RESULT != 0 { " result" } else { "" },
                if flags & STATES_ERROR != 0 { " errorOutput" } else { "" },
                if flags & STATES_CONTEXT != 0 { " context" } else { "" }
            ),
            Op::Assign(a) => {
                let names: Vec<&str> =
                    self.assigns[a.index()].slots.iter().map(|s| &*self.variables[*s as usize]).collect();
                write!(f, "assign     {names:?}")
            }
            Op::ResultWhole => f.write_str("result     $"),
            Op::ResultDiscard => f.write_str("result     null"),
            Op::InputNull => f.write_str("input      null"),
            Op::OutputNull => f.write_str("output     null"),
            other => {
                let name = format!("{other:?}").to_lowercase();
                f.write_str(&name)
            }
        }
    }
}

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, m) in self.machines.iter().enumerate() {
            writeln!(f, "m{i}: {} states, stack {}", m.states.len(), m.max_stack)?;
            for (pc, op) in m.code.iter().enumerate() {
                write!(f, "{pc:5}  ")?;
                self.fmt_op(f, m, op)?;
                writeln!(f)?;
            }
            for s in m.states.iter() {
                if !s.retry.is_empty() || !s.catch.is_empty() {
                    write!(f, "  handlers {:?}:", &*s.name)?;
                    for r in s.retry.iter() {
                        write!(f, " retry{:?}×{}", r.errors.names, r.max_attempts)?;
                    }
                    for c in s.catch.iter() {
                        write!(f, " catch{:?}->{}", c.errors.names, c.next.0)?;
                    }
                    writeln!(f)?;
                }
            }
        }
        Ok(())
    }
}
