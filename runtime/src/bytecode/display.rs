//! `Display` for [`Program`]: a disassembly for tests and `aslrt compile --disasm`.

use super::*;
use std::fmt;

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, m) in self.machines.iter().enumerate() {
            writeln!(f, "machine m{i} start s{}", m.start.0)?;
            for (j, s) in m.states.iter().enumerate() {
                write!(f, "  s{j} {:?} ", &*s.name)?;
                match &s.op {
                    StateOp::Pass { result } => {
                        write!(f, "pass{}", if result.is_some() { " result" } else { "" })?
                    }
                    StateOp::Task { resource, .. } => write!(
                        f,
                        "task r{} {:?}",
                        resource.0, &*self.resources[resource.0 as usize]
                    )?,
                    StateOp::Choice { rules, default } => {
                        write!(f, "choice")?;
                        for (_, t) in rules.iter() {
                            write!(f, " ->s{}", t.0)?;
                        }
                        if let Some(d) = default {
                            write!(f, " default ->s{}", d.0)?;
                        }
                    }
                    StateOp::Wait(w) => write!(f, "wait {w:?}")?,
                    StateOp::Succeed => write!(f, "succeed")?,
                    StateOp::Fail { .. } => write!(f, "fail")?,
                    StateOp::Parallel { branches } => {
                        write!(f, "parallel")?;
                        for b in branches.iter() {
                            write!(f, " m{}", b.0)?;
                        }
                    }
                    StateOp::Map(m) => write!(f, "map m{}", m.processor.0)?,
                }
                if let PathField::Path(p) = &s.input_path {
                    write!(f, " in={}", p.text)?;
                }
                if s.parameters.is_some() {
                    write!(f, " params")?;
                }
                if s.result_selector.is_some() {
                    write!(f, " selector")?;
                }
                match &s.result_path {
                    ResultField::Path(p) => write!(f, " result={}", p.text)?,
                    ResultField::Discard => write!(f, " result=null")?,
                    ResultField::Whole => {}
                }
                if let PathField::Path(p) = &s.output_path {
                    write!(f, " out={}", p.text)?;
                }
                if !s.retry.is_empty() {
                    write!(f, " retry×{}", s.retry.len())?;
                }
                for c in s.catch.iter() {
                    write!(f, " catch->s{}", c.next.0)?;
                }
                match s.next {
                    Some(n) => writeln!(f, " ->s{}", n.0)?,
                    None => writeln!(f)?,
                }
            }
        }
        Ok(())
    }
}
