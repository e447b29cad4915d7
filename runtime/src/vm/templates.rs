//! Payload templates and paths' results: InputPath/OutputPath selection, flat objects built
//! by one op, intrinsic calls, and ResultPath placement.

use super::{Fault, Frame, Members, StateCtx, Vm};
use crate::bytecode::{CallId, FlatMember, FlatObject, PathId, Program, Reg, StrId, FLAT_CALL_ARGS};
use crate::intrinsics;
use crate::path::{Path, Root};
use crate::value::{to_json_string, Value};

impl<'a> Vm<'a> {
    /// InputPath / OutputPath: the single node a path selects, or `States.Runtime` in Jayway's words.
    pub(super) fn select(&mut self, p: &'a Path, v: Value<'a>, sc: &StateCtx<'a>) -> Result<Value<'a>, Fault<'a>> {
        match self.eval_path(p, v, sc) {
            Some(x) => Ok(x),
            None => Err(self.runtime(sc, format!("Invalid path '{}' : {}", p.text, p.not_found_message(v)))),
        }
    }

    /// Builds flat template object `o` with `$` paths read from `from`. Each member is written
    /// once, in its slot, in member order; a path that selects nothing leaves null there and is
    /// reported (the first one, in member order) before the next intrinsic call runs, or once
    /// the object is complete. With `proto`, the object built from the same `from` for an
    /// earlier Map item, the members that cannot differ between items (constants and `$` paths)
    /// are copied from it rather than evaluated again.
    pub(super) fn flat_object(
        &mut self,
        o: &'a FlatObject,
        from: Value<'a>,
        sc: &StateCtx<'a>,
        proto: Option<Members<'a>>,
    ) -> Result<Members<'a>, Fault<'a>> {
        let (program, arena) = (self.program, self.arena);
        let names = &program.keys[o.keys.index()];
        let mut missing = None;
        debug_assert_eq!(names.len(), o.members.len(), "verified");
        // A value returned into a (key, value) tuple would go through stack temporaries whose
        // partial reloads stall on store forwarding.
        let members = arena.alloc_slice_fill_copy(o.members.len(), ("", Value::Null));
        for (i, (slot, name)) in members.iter_mut().zip(names.iter()).enumerate() {
            slot.0 = name;
            match (o.members[i], proto) {
                (FlatMember::Const(_), Some(p)) => slot.1 = p[i].1,
                (FlatMember::Path { path, .. }, Some(p)) if program.paths[path.index()].root == Root::Input => {
                    slot.1 = p[i].1
                }
                (FlatMember::Const(c), _) => program.consts[c.index()].materialize_into(&mut slot.1, arena),
                (FlatMember::Path { path, field }, _) => match self.eval_path(&program.paths[path.index()], from, sc) {
                    Some(v) => slot.1 = v,
                    None => missing = missing.or(Some((path, field))),
                },
                (FlatMember::Call(c), _) => {
                    // A path member before it that selected nothing fails first, as it would
                    // have when evaluated on its own.
                    if let Some((path, field)) = missing {
                        let (p, field) = (&program.paths[path.index()], &program.strings[field.index()]);
                        return Err(self.field_not_found(sc, p, field, from));
                    }
                    slot.1 = self.flat_call(&program.calls[c.index()], from, sc)?;
                }
                (FlatMember::MapItem { index, path, field }, _) => match sc.item {
                    Some(item) if index => slot.1 = Value::Int(item.index as i64),
                    Some(item) => slot.1 = item.value,
                    None => missing = missing.or(Some((path, field))),
                },
            }
        }
        match missing {
            Some((path, field)) => {
                Err(self.field_not_found(sc, &program.paths[path.index()], &program.strings[field.index()], from))
            }
            None => Ok(members),
        }
    }

    /// A flat template member's intrinsic call: its arguments (constants and paths read from
    /// `from`) in order, then the function.
    #[inline(never)]
    pub(super) fn flat_call(
        &mut self,
        call: &'a intrinsics::Call,
        from: Value<'a>,
        sc: &StateCtx<'a>,
    ) -> Result<Value<'a>, Fault<'a>> {
        let mut args = [Value::Null; FLAT_CALL_ARGS];
        for (slot, arg) in args.iter_mut().zip(call.args.iter()) {
            match arg {
                intrinsics::Arg::Const(c) => c.materialize_into(slot, self.arena),
                intrinsics::Arg::Path(p) => match self.eval_path(p, from, sc) {
                    Some(v) => *slot = v,
                    None => return Err(self.arg_not_found(sc, call, p, from)),
                },
                intrinsics::Arg::Call(_) => {
                    return Err(self.runtime(sc, "internal error: a nested call in a flat object".into()))
                }
            }
        }
        let args = args.get(..call.args.len()).unwrap_or_default();
        let mut env = intrinsics::Env { arena: self.arena, rng: &mut self.rng, parse: self.parse };
        call.apply(&mut env, args).map_err(|failure| self.intrinsic_fault(sc, call, failure))
    }

    /// ResultPath: `result` placed into `raw`; failure is the catchable States.ResultPathMatchFailure.
    pub(super) fn place(
        &self,
        p: &'a crate::path::ReferencePath,
        raw: Value<'a>,
        result: Value<'a>,
    ) -> Result<Value<'a>, Fault<'a>> {
        p.place(self.arena, raw, result).map_err(|_| {
            let mut shown = String::new();
            crate::value::write_str(&mut shown, &to_json_string(&raw));
            self.catchable(
                "States.ResultPathMatchFailure",
                format!("Unable to apply ReferencePath {} to input {shown}", p.text),
            )
        })
    }

    /// `PushPath`: a template member's path, read from register `root`; nothing there fails
    /// naming the member.
    #[inline(always)]
    pub(super) fn push_path(
        &mut self,
        f: &mut Frame<'a>,
        path: PathId,
        root: Reg,
        field: StrId,
    ) -> Result<(), Fault<'a>> {
        let program: &'a Program = self.program;
        self.push_read(f, path, root, |vm, sc, p, from| {
            vm.field_not_found(sc, p, &program.strings[field.index()], from)
        })
    }

    /// `PushArg`: an intrinsic call's path argument, read from register `root`; nothing there
    /// fails naming the call.
    #[inline(always)]
    pub(super) fn push_arg(
        &mut self,
        f: &mut Frame<'a>,
        path: PathId,
        root: Reg,
        call: CallId,
    ) -> Result<(), Fault<'a>> {
        let program: &'a Program = self.program;
        self.push_read(f, path, root, |vm, sc, p, from| vm.arg_not_found(sc, &program.calls[call.index()], p, from))
    }

    /// Pushes what `path` reads from register `root`; nothing there is the failure `missing`
    /// makes.
    #[inline(always)]
    fn push_read(
        &mut self,
        f: &mut Frame<'a>,
        path: PathId,
        root: Reg,
        missing: impl FnOnce(&Self, &StateCtx<'a>, &Path, Value<'a>) -> Fault<'a>,
    ) -> Result<(), Fault<'a>> {
        let p = self.program.path(path);
        let from = f.reg(root);
        match self.eval_path(p, from, &f.sc) {
            Some(v) => {
                f.push(v);
                Ok(())
            }
            None => Err(missing(self, &f.sc, p, from)),
        }
    }

    /// `Apply`: an intrinsic on the arguments on top of the stack, replaced by its result.
    #[inline(always)]
    pub(super) fn apply(&mut self, f: &mut Frame<'a>, call: &'a intrinsics::Call) -> Result<(), Fault<'a>> {
        let base = f.sp - call.args.len();
        let mut env = intrinsics::Env { arena: self.arena, rng: &mut self.rng, parse: self.parse };
        let result = call.apply(&mut env, &f.stack[base..f.sp]);
        f.sp = base;
        let v = result.map_err(|failure| self.intrinsic_fault(&f.sc, call, failure))?;
        f.push(v);
        Ok(())
    }

    /// `Object`: a flat template's object, read from register `root`, pushed or put in `to`.
    #[inline(always)]
    pub(super) fn object(
        &mut self,
        f: &mut Frame<'a>,
        o: &'a FlatObject,
        root: Reg,
        to: Option<Reg>,
    ) -> Result<(), Fault<'a>> {
        let members = self.flat_object(o, f.reg(root), &f.sc, None)?;
        match to {
            Some(r) => f.set(r, Value::Object(members)),
            None => f.push(Value::Object(members)),
        }
        Ok(())
    }

    /// `ItemObject`: a Map's flat ItemSelector object for the current item, its keys shared
    /// with the first item's.
    #[inline(always)]
    pub(super) fn item_object(&mut self, f: &mut Frame<'a>, o: &'a FlatObject) -> Result<(), Fault<'a>> {
        let proto = f.map.as_ref().and_then(|lp| lp.item_proto);
        let members = self.flat_object(o, f.eff, &f.sc, proto)?;
        if let Some(lp) = f.map.as_mut() {
            lp.item_proto = lp.item_proto.or(Some(members));
        }
        f.push(Value::Object(members));
        Ok(())
    }

    /// `ResultOutput`: the result placed at a one-name ResultPath, or the result itself when
    /// the raw input is an object or null (where placing it makes an object of it alone).
    #[inline(always)]
    pub(super) fn result_output(
        &mut self,
        f: &Frame<'a>,
        rp: &'a crate::path::ReferencePath,
    ) -> Result<Value<'a>, Fault<'a>> {
        Ok(match f.raw {
            Value::Object(_) | Value::Null => f.res,
            raw => self.place(rp, raw, f.res)?,
        })
    }
}
