//! Operators and calls: binary operators, function application (lambdas, partial
//! application, regexes) and the built-ins' calls.

use super::{deep_equal, err, num, show, truthy, Ev, Func, JError, Scope, JV, R};
use crate::jsonata::compile::{BinOp, Node};
use crate::jsonata::functions;
use crate::jsonata::functions::BUILTINS;
use crate::value::Value;

impl<'a, 'h> Ev<'a, 'h> {
    #[inline(never)]
    pub(super) fn call_builtin(&mut self, i: u16, args: &'a [Node], input: JV<'a>, scope: &'a Scope<'a>) -> R<'a> {
        let a = self.arena;
        let mut vals = bumpalo::collections::Vec::with_capacity_in(args.len(), a);
        for x in args.iter() {
            vals.push(self.eval(x, input, scope)?);
        }
        self.builtin(i, &vals, input)
    }

    #[inline(never)]
    pub(super) fn binary(&mut self, op: BinOp, l: &'a Node, r: &'a Node, input: JV<'a>, scope: &'a Scope<'a>) -> R<'a> {
        match op {
            BinOp::And => {
                let lhs = self.eval(l, input, scope)?;
                if !truthy(lhs) {
                    return Ok(JV::V(Value::Bool(false)));
                }
                return Ok(JV::V(Value::Bool(truthy(self.eval(r, input, scope)?))));
            }
            BinOp::Or => {
                let lhs = self.eval(l, input, scope)?;
                if truthy(lhs) {
                    return Ok(JV::V(Value::Bool(true)));
                }
                return Ok(JV::V(Value::Bool(truthy(self.eval(r, input, scope)?))));
            }
            _ => {}
        }
        let lhs = self.eval(l, input, scope)?;
        let rhs = self.eval(r, input, scope)?;
        match op {
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => {
                if matches!(lhs, JV::Undef) || matches!(rhs, JV::Undef) {
                    return Ok(JV::Undef);
                }
                let sym = match op {
                    BinOp::Add => "+",
                    BinOp::Sub => "-",
                    BinOp::Mul => "*",
                    BinOp::Div => "/",
                    _ => "%",
                };
                let Some(x) = lhs.num() else {
                    return err("T2001", format!("The left side of the \"{sym}\" operator must evaluate to a number"));
                };
                let Some(y) = rhs.num() else {
                    return err("T2002", format!("The right side of the \"{sym}\" operator must evaluate to a number"));
                };
                let z = match op {
                    BinOp::Add => x + y,
                    BinOp::Sub => x - y,
                    BinOp::Mul => x * y,
                    BinOp::Div => x / y,
                    _ => x % y,
                };
                // Like jsonata 2.0.6, a non-finite result is a value (AWS prints it as a string).
                Ok(num(z))
            }
            BinOp::Eq | BinOp::Ne => {
                if matches!(lhs, JV::Undef) || matches!(rhs, JV::Undef) {
                    return Ok(JV::V(Value::Bool(false)));
                }
                let eq = deep_equal(lhs, rhs);
                Ok(JV::V(Value::Bool(if op == BinOp::Eq { eq } else { !eq })))
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let comparable =
                    |v: &JV<'a>| matches!(v, JV::Undef | JV::V(Value::Str(_) | Value::Int(_) | Value::Float(_)));
                let sym = match op {
                    BinOp::Lt => "<",
                    BinOp::Le => "<=",
                    BinOp::Gt => ">",
                    _ => ">=",
                };
                if !comparable(&lhs) || !comparable(&rhs) {
                    return err(
                        "T2010",
                        format!("The expressions either side of operator \"{sym}\" must evaluate to numeric or string values"),
                    );
                }
                let ord = match (lhs, rhs) {
                    (JV::Undef, _) | (_, JV::Undef) => return Ok(JV::Undef),
                    (JV::V(Value::Str(a)), JV::V(Value::Str(b))) => Some(a.encode_utf16().cmp(b.encode_utf16())),
                    (x, y) => match (x.num(), y.num()) {
                        (Some(a), Some(b)) => a.partial_cmp(&b),
                        _ => {
                            return err(
                                "T2009",
                                format!(
                                "The values {} and {} either side of operator \"{sym}\" must be of the same data type",
                                show(x),
                                show(y)
                            ),
                            )
                        }
                    },
                };
                use std::cmp::Ordering::*;
                let b = match (op, ord) {
                    (_, None) => false,
                    (BinOp::Lt, Some(o)) => o == Less,
                    (BinOp::Le, Some(o)) => o != Greater,
                    (BinOp::Gt, Some(o)) => o == Greater,
                    (_, Some(o)) => o != Less,
                };
                Ok(JV::V(Value::Bool(b)))
            }
            BinOp::Concat => {
                // Held to the payload limit before it is made: `$s & $s` forty times over would
                // ask the arena for a terabyte.
                let len = |v: &JV<'_>| match v {
                    JV::V(Value::Str(s)) => s.len(),
                    _ => 0,
                };
                self.text_fits(len(&lhs) + len(&rhs))?;
                let mut s = bumpalo::collections::String::new_in(self.arena);
                for v in [lhs, rhs] {
                    if !matches!(v, JV::Undef) {
                        functions::stringify_into(&mut s, v, self.max_text)?;
                    }
                }
                self.text_fits(s.len())?;
                Ok(JV::V(Value::Str(s.into_bump_str())))
            }
            BinOp::In => {
                if matches!(lhs, JV::Undef) || matches!(rhs, JV::Undef) {
                    return Ok(JV::V(Value::Bool(false)));
                }
                let Some(needle) = lhs.to_value() else { return Ok(JV::V(Value::Bool(false))) };
                let hay: &[Value<'a>] = match rhs {
                    JV::V(Value::Array(s)) | JV::Seq(s, _) => s,
                    JV::V(x) => return Ok(JV::V(Value::Bool(strict_eq(&needle, &x)))),
                    _ => &[],
                };
                Ok(JV::V(Value::Bool(hay.iter().any(|x| strict_eq(&needle, x)))))
            }
            BinOp::And | BinOp::Or => unreachable!("handled above"),
        }
    }

    /// Calls `func` with the evaluated `args`; `first` is the left side of `~>`.
    pub(super) fn call(
        &mut self,
        func: JV<'a>,
        args: &'a [Node],
        input: JV<'a>,
        scope: &'a Scope<'a>,
        first: Option<JV<'a>>,
    ) -> R<'a> {
        let JV::F(f) = func else {
            return err("T1006", "Attempted to invoke a non-function");
        };
        let a = self.arena;
        let partial = args.iter().any(|x| matches!(x, Node::Placeholder));
        if partial {
            let mut slots = bumpalo::collections::Vec::new_in(a);
            if let Some(v) = first {
                slots.push(Some(v));
            }
            for x in args.iter() {
                slots.push(match x {
                    Node::Placeholder => None,
                    other => Some(self.eval(other, input, scope)?),
                });
            }
            return Ok(JV::F(a.alloc(Func::Partial { func: f, args: slots.into_bump_slice() })));
        }
        let mut vals = bumpalo::collections::Vec::with_capacity_in(args.len() + 1, a);
        if let Some(v) = first {
            vals.push(v);
        }
        for x in args.iter() {
            vals.push(self.eval(x, input, scope)?);
        }
        self.apply(f, &vals, input)
    }

    /// Applies a function value to arguments.
    pub fn apply(&mut self, f: &'a Func<'a>, args: &[JV<'a>], input: JV<'a>) -> R<'a> {
        match f {
            Func::Builtin(i) => self.builtin(*i, args, input),
            Func::Lambda { def, scope, input: captured } => {
                let frame = Scope::new(self.arena, Some(scope));
                for (i, p) in def.params.iter().enumerate() {
                    frame.set(*p, args.get(i).copied().unwrap_or(JV::Undef));
                }
                self.eval(&def.body, *captured, frame)
            }
            Func::Partial { func, args: slots } => {
                let mut full = bumpalo::collections::Vec::with_capacity_in(slots.len(), self.arena);
                let mut given = args.iter();
                for s in slots.iter() {
                    full.push(match s {
                        Some(v) => *v,
                        None => given.next().copied().unwrap_or(JV::Undef),
                    });
                }
                full.extend(given.copied());
                self.apply(func, &full, input)
            }
            Func::Regex(r) => functions::regex_match_object(self, r, args.first().copied().unwrap_or(JV::Undef)),
            Func::Compose(f1, f2) => {
                let mid = self.apply(f1, args, input)?;
                self.apply(f2, &[mid], input)
            }
            Func::Transform { pattern, update, delete, scope } => {
                functions::transform(self, pattern, update, *delete, scope, args.first().copied().unwrap_or(JV::Undef))
            }
        }
    }

    pub fn builtin(&mut self, i: u16, args: &[JV<'a>], input: JV<'a>) -> R<'a> {
        let spec = &BUILTINS[i as usize];
        if spec.context && args.len() < spec.min {
            let mut with_ctx = bumpalo::collections::Vec::with_capacity_in(args.len() + 1, self.arena);
            with_ctx.push(input);
            with_ctx.extend_from_slice(args);
            return (spec.func)(self, &with_ctx, input);
        }
        if args.len() < spec.min || args.len() > spec.max {
            let pos = if args.len() > spec.max { spec.max + 1 } else { args.len() + 1 };
            return err(
                "T0410",
                format!("Argument {pos} of function \"{}\" does not match function signature", spec.name),
            );
        }
        let made = (spec.func)(self, args, input)?;
        // Every text a function makes is held to the payload limit, as on AWS (those that could
        // make a far longer one, `$pad`, `$join` and `$replace`, check as they go). One it
        // hands back unchanged, an argument or the input, it did not make.
        if let JV::V(Value::Str(s)) = made {
            let same = |v: &JV<'a>| matches!(v, JV::V(Value::Str(x)) if std::ptr::eq(x.as_ptr(), s.as_ptr()));
            if !same(&input) && !args.iter().any(same) {
                self.text_fits(s.len())?;
            }
        }
        Ok(made)
    }

    /// Whether a text of `bytes` may be made: AWS holds every intermediate value to the payload
    /// limit, and a JavaScript engine's "Invalid string length" is what it says past it.
    pub(crate) fn text_fits(&self, bytes: usize) -> Result<(), JError> {
        super::text_fits(bytes, self.max_text)
    }
}

/// `===` on JSON values: primitives by value, containers never.
fn strict_eq(a: &Value<'_>, b: &Value<'_>) -> bool {
    match (a, b) {
        (Value::Array(_) | Value::Object(_), _) | (_, Value::Array(_) | Value::Object(_)) => false,
        _ => a == b,
    }
}
