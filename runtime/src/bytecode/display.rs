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

    /// One op: its name (see [`mnemonic`]) and its operands as written in the definition.
    fn fmt_op(&self, f: &mut fmt::Formatter<'_>, m: &MachineCode, op: &Op) -> fmt::Result {
        let operands = self.operands(m, op);
        let name = mnemonic(op);
        if operands.is_empty() {
            f.write_str(&name)
        } else {
            write!(f, "{name:<14} {operands}")
        }
    }

    fn operands(&self, m: &MachineCode, op: &Op) -> String {
        let path = |p: PathId| &*self.paths[p.index()].text;
        let keys = |k: KeysId| self.keys[k.index()].iter().map(|k| &**k).collect::<Vec<_>>();
        match *op {
            Op::Enter(s) => format!("{:?}", &*m.state(s).name),
            Op::InputPath(p) | Op::OutputPath(p) => path(p).to_owned(),
            Op::PushConst(c) => konst(&self.consts[c.index()]),
            Op::PushReg(r) | Op::Pop(r) => format!("{r:?}"),
            Op::PushPath { path: p, root, field } => {
                format!("{root:?} {} ({})", path(p), &*self.strings[field.index()])
            }
            Op::PushArg { path: p, root, .. } => format!("{root:?} {}", path(p)),
            Op::Apply(c) => {
                let call = &self.calls[c.index()];
                format!("{}/{}", call.name(), call.args.len())
            }
            Op::MakeObject { keys: k, len } => format!("{len} {:?}", keys(k)),
            Op::MakeObjectTo { keys: k, len, to } => format!("{to:?} {len} {:?}", keys(k)),
            Op::Object { id, root, to } => {
                let members = self.flat_text(id);
                match to {
                    Some(to) => format!("{root:?} {{{members}}} -> {to:?}"),
                    None => format!("{root:?} {{{members}}}"),
                }
            }
            Op::ItemObject(id) => format!("Eff {{{}}}", self.flat_text(id)),
            Op::MakeArray(n) => n.to_string(),
            Op::Move { to, from } => format!("{to:?} <- {from:?}"),
            Op::ResultPath(r) | Op::ResultOutput(r) => self.ref_paths[r.index()].text.to_string(),
            Op::Choose(c) => {
                let rules: Vec<String> = self.choices[c.index()].rules.iter().map(|r| self.cond_text(r)).collect();
                rules.join(" | ")
            }
            Op::ChoiceOut(pc) | Op::Jump(pc) | Op::JumpIfNot(pc) | Op::MapNext(pc) => pc.0.to_string(),
            Op::Invoke(r) => self.resources[r.index()].to_string(),
            Op::Wait(w) => match self.waits[w.index()] {
                Wait::Seconds(s) => format!("seconds {}", self.source_text(s)),
                Wait::Until(t) => format!("until {}", self.source_text(t.map_literal(|n| format!("@{n}ns")))),
            },
            Op::Branch(mid) | Op::MapRun(mid) => format!("m{}", mid.0),
            Op::MapBegin(id) => self.maps[id.index()].items_path.map_or("$", |p| path(p)).to_owned(),
            Op::Events(n) => n.to_string(),
            Op::Fail(id) => {
                let spec = &self.fails[id.index()];
                let show = |s: &Option<StrSource>| match s {
                    None => "-".to_owned(),
                    Some(StrSource::Literal(l)) => format!("{:?}", &*self.strings[l.index()]),
                    Some(StrSource::Path(p)) => path(*p).to_owned(),
                    Some(StrSource::Call(c)) => self.calls[c.index()].text.to_string(),
                    Some(StrSource::Jsonata(t)) => jt_text(&self.jtemplates[t.index()]),
                };
                format!("{} {}", show(&spec.error), show(&spec.cause))
            }
            Op::PushJsonata(t) | Op::TestJsonata(t) => jt_text(&self.jtemplates[t.index()]),
            Op::SetStates(flags) => format!(
                "input{}{}{}",
                if flags & STATES_RESULT != 0 { " result" } else { "" },
                if flags & STATES_ERROR != 0 { " errorOutput" } else { "" },
                if flags & STATES_CONTEXT != 0 { " context" } else { "" }
            ),
            Op::Assign(a) => {
                let names: Vec<&str> =
                    self.assigns[a.index()].slots.iter().map(|s| &*self.variables[*s as usize]).collect();
                format!("{names:?}")
            }
            Op::InputNull
            | Op::ResultWhole
            | Op::ResultDiscard
            | Op::OutputNull
            | Op::Exit
            | Op::End
            | Op::NoChoice
            | Op::Attempt
            | Op::EndAttempt
            | Op::JoinBranches
            | Op::PushItem
            | Op::MapEnd => String::new(),
        }
    }

    /// A flat object's members (`Object`, `ItemObject`).
    fn flat_text(&self, id: ObjectId) -> String {
        let o = &self.objects[id.index()];
        let path = |p: PathId| &*self.paths[p.index()].text;
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
        members.join(", ")
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

/// An op's name in the disassembly and the docs: its variant's name in kebab case
/// (`ItemObject` is `item-object`), so that the enum, the disassembly and the docs use one name.
pub fn mnemonic(op: &Op) -> String {
    let debug = format!("{op:?}");
    let variant = debug.split(|c: char| !c.is_ascii_alphanumeric()).next().unwrap_or_default();
    let mut name = String::with_capacity(variant.len() + 4);
    for (i, c) in variant.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                name.push('-');
            }
            name.push(c.to_ascii_lowercase());
        } else {
            name.push(c);
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_op_is_named_by_its_variant() {
        assert_eq!(mnemonic(&Op::ItemObject(ObjectId(0))), "item-object");
        assert_eq!(mnemonic(&Op::MakeObjectTo { keys: KeysId(0), len: 1, to: Reg::Res }), "make-object-to");
        assert_eq!(mnemonic(&Op::PushJsonata(JtId(0))), "push-jsonata");
        assert_eq!(mnemonic(&Op::End), "end");
    }
}
