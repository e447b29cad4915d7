//! Payload templates and intrinsic calls → stack code.

use super::{push, CompileError, Compiler, Emitter, Result};
use crate::asl::Template;
use crate::bytecode::*;
use crate::intrinsics::{Arg, Call};
use crate::path::ContextField;

/// A member a flat template object evaluates itself: a path, a constant, or an intrinsic call
/// whose arguments are constants and paths.
fn is_flat(t: &Template) -> bool {
    match t {
        Template::Path { .. } | Template::Const(_) => true,
        Template::Call { call, .. } => is_flat_call(call),
        Template::Object(_) | Template::Array(_) => false,
    }
}

impl Compiler {
    /// Emits code that pushes the value of `t`, with `$` paths read from `root`.
    pub(super) fn template(&mut self, e: &mut Emitter, t: &Template, root: Reg) -> Result<()> {
        match t {
            Template::Const(c) => {
                let id = self.constant(c)?;
                e.emit(Op::PushConst(id));
            }
            Template::Path { path, field } => {
                let path = self.path(path)?;
                let field = self.string(field)?;
                e.emit(Op::PushPath { path, root, field });
            }
            Template::Call { call, .. } => self.call(e, call, root)?,
            Template::Object(members) if self.optimize && members.iter().all(|(_, m)| is_flat(m)) => {
                let flat = members
                    .iter()
                    .map(|(_, m)| match m {
                        Template::Path { path: p, field } => {
                            let (path, field) = (self.path(p)?, self.string(field)?);
                            Ok(match ContextField::of_path(p) {
                                Some((ContextField::MapItemValue, 3)) if p.segments.len() == 3 => {
                                    FlatMember::MapItem { index: false, path, field }
                                }
                                Some((ContextField::MapItemIndex, 3)) if p.segments.len() == 3 => {
                                    FlatMember::MapItem { index: true, path, field }
                                }
                                _ => FlatMember::Path { path, field },
                            })
                        }
                        Template::Const(c) => Ok(FlatMember::Const(self.constant(c)?)),
                        Template::Call { call, .. } => Ok(FlatMember::Call(self.call_id(call)?)),
                        _ => Err(CompileError::internal("a flat template member is a container")),
                    })
                    .collect::<Result<Box<[_]>>>()?;
                let keys = KeysId(push(&mut self.program.keys, members.iter().map(|(k, _)| k.clone()).collect())?);
                let id = ObjectId(push(&mut self.program.objects, FlatObject { keys, members: flat })?);
                e.emit(Op::Object { id, root, to: None });
            }
            Template::Object(members) => {
                for (_, m) in members.iter() {
                    self.template(e, m, root)?;
                }
                let keys = push(&mut self.program.keys, members.iter().map(|(k, _)| k.clone()).collect())?;
                let len = u16::try_from(members.len())
                    .map_err(|_| CompileError::TooLarge("more than 65,535 members in one template object".into()))?;
                e.emit(Op::MakeObject { keys: KeysId(keys), len });
            }
            Template::Array(items) => {
                for m in items.iter() {
                    self.template(e, m, root)?;
                }
                let len = u16::try_from(items.len())
                    .map_err(|_| CompileError::TooLarge("more than 65,535 items in one template array".into()))?;
                e.emit(Op::MakeArray(len));
            }
        }
        Ok(())
    }

    /// Emits an intrinsic call: its arguments, then `Apply`.
    pub(super) fn call(&mut self, e: &mut Emitter, call: &Call, root: Reg) -> Result<()> {
        let id = self.call_id(call)?;
        for a in call.args.iter() {
            match a {
                Arg::Const(c) => {
                    let c = self.constant(c)?;
                    e.emit(Op::PushConst(c));
                }
                Arg::Path(p) => {
                    let path = self.path(p)?;
                    e.emit(Op::PushArg { path, root, call: id });
                }
                Arg::Call(inner) => self.call(e, inner, root)?,
            }
        }
        e.emit(Op::Apply(id));
        Ok(())
    }
}
