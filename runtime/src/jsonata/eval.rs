//! Evaluation of a compiled JSONata [`Node`] over arena [`Value`]s, with JSONata's sequence
//! semantics: a path maps each step over the items of the previous one and flattens arrays
//! found in the data (not those built by an array constructor); a result sequence of one item is
//! that item, and an empty one is undefined.

use super::compile::{ArrayItem, BinOp, Lambda, Node, PathNode, Step, Sym};
use super::functions::{self, BUILTINS};
use crate::value::Value;
use bumpalo::Bump;
use std::cell::RefCell;

/// A JSONata value during evaluation.
#[derive(Clone, Copy, Debug)]
pub enum JV<'a> {
    Undef,
    V(Value<'a>),
    /// A result sequence (`cons: false`) or an array built by a constructor (`cons: true`).
    Seq(&'a [Value<'a>], bool),
    F(&'a Func<'a>),
}

/// A function value.
#[derive(Debug)]
pub enum Func<'a> {
    Lambda {
        def: &'a Lambda,
        scope: &'a Scope<'a>,
        input: JV<'a>,
    },
    Builtin(u16),
    /// Partial application: `None` marks a `?` slot.
    Partial {
        func: &'a Func<'a>,
        args: &'a [Option<JV<'a>>],
    },
    Regex(&'a RegexLit),
    /// `f ~> g` for two functions.
    Compose(&'a Func<'a>, &'a Func<'a>),
    Transform {
        pattern: &'a Node,
        update: &'a Node,
        delete: Option<&'a Node>,
        scope: &'a Scope<'a>,
    },
}

/// A compiled regular expression literal.
#[derive(Debug)]
pub struct RegexLit {
    pub source: String,
    pub regex: regex::Regex,
}

impl RegexLit {
    pub fn new(pattern: &str, flags: &str) -> Result<Self, super::lex::SyntaxError> {
        let mut prefix = String::new();
        if flags.contains('i') {
            prefix.push_str("(?i)");
        }
        if flags.contains('m') {
            prefix.push_str("(?m)");
        }
        regex::Regex::new(&format!("{prefix}{pattern}"))
            .map(|regex| RegexLit { source: pattern.to_owned(), regex })
            .map_err(|e| super::lex::SyntaxError {
                code: "S0302",
                message: format!("Invalid regular expression /{pattern}/: {e}"),
                at: 0,
            })
    }
}

/// A runtime error with JSONata's code.
#[derive(Clone, Debug, PartialEq)]
pub struct JError {
    pub code: &'static str,
    pub message: String,
}

pub type R<'a> = Result<JV<'a>, JError>;

#[cold]
pub fn err<T>(code: &'static str, message: impl Into<String>) -> Result<T, JError> {
    Err(JError { code, message: message.into() })
}

/// A lexical scope of local variables, in the arena so that closures can keep it.
#[derive(Debug)]
pub struct Scope<'a> {
    parent: Option<&'a Scope<'a>>,
    vars: RefCell<bumpalo::collections::Vec<'a, (Sym, JV<'a>)>>,
}

impl<'a> Scope<'a> {
    pub fn new(arena: &'a Bump, parent: Option<&'a Scope<'a>>) -> &'a Scope<'a> {
        arena.alloc(Scope { parent, vars: RefCell::new(bumpalo::collections::Vec::new_in(arena)) })
    }

    fn get(&self, s: Sym) -> Option<JV<'a>> {
        let mut cur = Some(self);
        while let Some(scope) = cur {
            if let Some((_, v)) = scope.vars.borrow().iter().rev().find(|(k, _)| *k == s) {
                return Some(*v);
            }
            cur = scope.parent;
        }
        None
    }

    fn set(&self, s: Sym, v: JV<'a>) {
        self.vars.borrow_mut().push((s, v));
    }
}

/// The evaluation context: the arena, the host's globals, determinism sources.
pub struct Ev<'a, 'h> {
    pub arena: &'a Bump,
    /// The host's globals by slot (workflow variables; slot 0 `$states`).
    pub globals: &'h [std::cell::Cell<JV<'a>>],
    pub rng: &'h mut crate::common::Rng,
    pub parse: &'h mut crate::value::ParseBuffers,
    pub now_millis: i64,
    pub depth: u32,
    /// `$$`: the input of the whole expression.
    pub root: JV<'a>,
    /// A top-level array input is one context item (JSONata's "outer wrapper"): this is the
    /// one-item sequence standing for it, which `$` unwraps.
    pub outer: Option<&'a [Value<'a>]>,
    /// Nodes evaluated so far (see [`MAX_STEPS`]).
    pub steps: u64,
    /// Every path goes the general way, names-only paths too (the unoptimised reference).
    pub general: bool,
}

const MAX_DEPTH: u32 = 400;

/// The most nodes one evaluation of an expression evaluates: a bound on its time, and so on the
/// memory it can take (a doubly recursive `$fib` on `[0..32]` would take 2^32 calls).
pub const MAX_STEPS: u64 = 1_000_000;

impl<'a> JV<'a> {
    /// The items this value stands for: a sequence or array's elements, a single value, nothing.
    pub fn items(&self) -> &'a [Value<'a>] {
        match *self {
            JV::Undef | JV::F(_) => &[],
            JV::Seq(s, _) => s,
            JV::V(Value::Array(a)) => a,
            JV::V(_) => &[],
        }
    }

    pub fn is_array(&self) -> bool {
        matches!(self, JV::Seq(..) | JV::V(Value::Array(_)))
    }

    /// As a JSON value (sequences become arrays); `None` for undefined and functions.
    pub fn to_value(self) -> Option<Value<'a>> {
        match self {
            JV::Undef | JV::F(_) => None,
            JV::V(v) => Some(v),
            JV::Seq(s, _) => Some(Value::Array(s)),
        }
    }

    pub fn num(self) -> Option<f64> {
        match self {
            JV::V(v) => v.as_f64(),
            JV::Seq(s, _) if s.len() == 1 => s[0].as_f64(),
            _ => None,
        }
    }
}

/// A number result: integers within ±2^53 as `Int`, so they print as JSON integers.
pub fn num<'a>(f: f64) -> JV<'a> {
    JV::V(num_value(f))
}

pub fn num_value<'a>(f: f64) -> Value<'a> {
    if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
        Value::Int(f as i64)
    } else {
        Value::Float(f)
    }
}

/// JSONata's `boolean()` cast.
pub fn truthy(v: JV<'_>) -> bool {
    match v {
        JV::Undef | JV::F(_) => false,
        JV::V(v) => value_truthy(&v),
        JV::Seq(s, _) => seq_truthy(s),
    }
}

fn seq_truthy(s: &[Value<'_>]) -> bool {
    if s.len() == 1 {
        value_truthy(&s[0])
    } else {
        s.iter().any(value_truthy)
    }
}

fn value_truthy(v: &Value<'_>) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Int(i) => *i != 0,
        Value::Float(f) => *f != 0.0 && !f.is_nan(),
        Value::Str(s) => !s.is_empty(),
        Value::Array(a) => seq_truthy(a),
        Value::Object(o) => !o.is_empty(),
    }
}

/// JSONata deep equality: numbers by value, arrays and objects member by member.
pub fn deep_equal(a: JV<'_>, b: JV<'_>) -> bool {
    match (a.to_value(), b.to_value()) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

impl<'a, 'h> Ev<'a, 'h> {
    fn seq(&self, items: bumpalo::collections::Vec<'a, Value<'a>>) -> JV<'a> {
        match items.len() {
            0 => JV::Undef,
            1 => JV::V(items[0]),
            _ => JV::Seq(items.into_bump_slice(), false),
        }
    }

    #[inline]
    pub fn eval(&mut self, n: &'a Node, input: JV<'a>, scope: &'a Scope<'a>) -> R<'a> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return err("U1002", "The expression took more than 1,000,000 evaluation steps.");
        }
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            return err("U1001", "Stack overflow error: Check for non-terminating recursive function.  Consider rewriting as tail-recursive.");
        }
        // Deep expressions (recursive lambdas) run on a stack grown on demand, so evaluation
        // never overflows the calling thread's stack, whatever its size.
        let r = stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.eval_inner(n, input, scope));
        self.depth -= 1;
        r
    }

    #[inline(never)]
    fn eval_inner(&mut self, n: &'a Node, input: JV<'a>, scope: &'a Scope<'a>) -> R<'a> {
        let a = self.arena;
        Ok(match n {
            Node::Const(c) => JV::V(c.materialize(a)),
            Node::Regex(r) => JV::F(a.alloc(Func::Regex(r))),
            Node::Path(p) => return self.path(p, input, scope),
            Node::Context | Node::Root | Node::Local(..) | Node::Global(_) => {
                self.variable(n, input, scope).unwrap_or(JV::Undef)
            }
            Node::Unbound => JV::Undef,
            Node::Builtin(i) => JV::F(a.alloc(Func::Builtin(*i))),
            Node::Name(name) => return Ok(self.lookup_all(input, name)),
            Node::Wildcard => return Ok(self.wildcard(input)),
            Node::Descendants => return Ok(self.descendants(input)),
            Node::Neg(x) => match self.eval(x, input, scope)? {
                JV::Undef => JV::Undef,
                v => match v.num() {
                    Some(f) => num(-f),
                    None => return err("D1002", "Cannot negate a non-numeric value"),
                },
            },
            Node::Binary(op, l, r) => return self.binary(*op, l, r, input, scope),
            Node::Array(items) => return self.array(items, input, scope),
            Node::Object(None, pairs) => return self.group(pairs, input, scope),
            Node::Object(Some(lhs), pairs) => {
                let v = self.eval(lhs, input, scope)?;
                return self.group(pairs, v, scope);
            }
            Node::Block(items) => {
                let inner = Scope::new(a, Some(scope));
                let mut last = JV::Undef;
                for x in items.iter() {
                    last = self.eval(x, input, inner)?;
                }
                last
            }
            Node::Cond(c, t, e) => {
                if truthy(self.eval(c, input, scope)?) {
                    return self.eval(t, input, scope);
                }
                match e {
                    Some(e) => return self.eval(e, input, scope),
                    None => JV::Undef,
                }
            }
            Node::Bind(s, x) => {
                let v = self.eval(x, input, scope)?;
                scope.set(*s, v);
                v
            }
            Node::Lambda(l) => JV::F(a.alloc(Func::Lambda { def: l, scope, input })),
            Node::Call(f, args) => {
                let func = self.eval(f, input, scope)?;
                return self.call(func, args, input, scope, None);
            }
            Node::CallBuiltin(i, args) => return self.call_builtin(*i, args, input, scope),
            Node::Placeholder => return err("S0215", "A ? placeholder is only allowed as a function argument"),
            Node::Chain(l, r) => return self.chain(l, r, input, scope),
            Node::Filter(x, preds) => {
                let mut v = self.eval(x, input, scope)?;
                for p in preds.iter() {
                    v = self.filter(p, v, scope)?;
                }
                v
            }
            Node::Transform(p, u, d) => {
                JV::F(a.alloc(Func::Transform { pattern: p, update: u, delete: d.as_deref(), scope }))
            }
        })
    }

    #[inline(never)]
    fn array(&mut self, items: &'a [ArrayItem], input: JV<'a>, scope: &'a Scope<'a>) -> R<'a> {
        let a = self.arena;
        let mut out = bumpalo::collections::Vec::new_in(a);
        for item in items.iter() {
            match item {
                ArrayItem::Nested(x) => {
                    if let Some(v) = self.eval(x, input, scope)?.to_value() {
                        out.push(v);
                    }
                }
                ArrayItem::Item(x) => match self.eval(x, input, scope)? {
                    JV::Undef | JV::F(_) => {}
                    JV::Seq(s, _) => out.extend_from_slice(s),
                    JV::V(Value::Array(s)) => out.extend_from_slice(s),
                    JV::V(v) => out.push(v),
                },
                ArrayItem::Range(lo, hi) => {
                    let (lo, hi) = (self.eval(lo, input, scope)?, self.eval(hi, input, scope)?);
                    let as_int = |v: JV<'a>, code: &'static str| -> Result<Option<i64>, JError> {
                        match v {
                            JV::Undef => Ok(None),
                            v => match v.num() {
                                Some(f) if f.fract() == 0.0 => Ok(Some(f as i64)),
                                _ => err(code, "The operands of the range operator (..) must evaluate to integers"),
                            },
                        }
                    };
                    let (lo, hi) = (as_int(lo, "T2003")?, as_int(hi, "T2004")?);
                    if let (Some(lo), Some(hi)) = (lo, hi) {
                        if hi >= lo {
                            if hi - lo >= 10_000_000 {
                                return err("D2014", "The size of the sequence allocated by the range operator (..) must not exceed 1e7.");
                            }
                            out.extend((lo..=hi).map(Value::Int));
                        }
                    }
                }
            }
        }
        Ok(JV::Seq(out.into_bump_slice(), true))
    }

    #[inline(never)]
    fn chain(&mut self, l: &'a Node, r: &'a Node, input: JV<'a>, scope: &'a Scope<'a>) -> R<'a> {
        let a = self.arena;
        let lhs = self.eval(l, input, scope)?;
        match r {
            // `a ~> f(b)` calls f(a, b); with a `?` placeholder, f(?, b) is a function to apply.
            Node::Call(f, args) if !args.iter().any(|x| matches!(x, Node::Placeholder)) => {
                let func = self.eval(f, input, scope)?;
                self.call(func, args, input, scope, Some(lhs))
            }
            Node::CallBuiltin(i, args) => {
                let mut vals = bumpalo::collections::Vec::with_capacity_in(args.len() + 1, a);
                vals.push(lhs);
                for x in args.iter() {
                    vals.push(self.eval(x, input, scope)?);
                }
                self.builtin(*i, &vals, input)
            }
            other => {
                let func = self.eval(other, input, scope)?;
                match (lhs, func) {
                    (JV::F(f1), JV::F(f2)) => Ok(JV::F(a.alloc(Func::Compose(f1, f2)))),
                    (_, JV::F(f)) => self.apply(f, &[lhs], input),
                    _ => err("T2006", "The right side of the function application operator ~> must be a function"),
                }
            }
        }
    }

    #[inline(never)]
    fn call_builtin(&mut self, i: u16, args: &'a [Node], input: JV<'a>, scope: &'a Scope<'a>) -> R<'a> {
        let a = self.arena;
        let mut vals = bumpalo::collections::Vec::with_capacity_in(args.len(), a);
        for x in args.iter() {
            vals.push(self.eval(x, input, scope)?);
        }
        self.builtin(i, &vals, input)
    }

    /// Field `name` of every object in `v` (arrays are looked into, results flattened).
    fn lookup_all(&self, v: JV<'a>, name: &str) -> JV<'a> {
        match v {
            JV::V(Value::Object(_)) => match v.to_value().and_then(|o| o.get(name)) {
                Some(x) => JV::V(x),
                None => JV::Undef,
            },
            JV::V(Value::Array(items)) | JV::Seq(items, _) => {
                let mut out = bumpalo::collections::Vec::new_in(self.arena);
                for item in items {
                    match self.lookup_all(JV::V(*item), name) {
                        JV::V(Value::Array(a)) | JV::Seq(a, _) => out.extend_from_slice(a),
                        JV::V(x) => out.push(x),
                        _ => {}
                    }
                }
                self.seq(out)
            }
            _ => JV::Undef,
        }
    }

    fn wildcard(&self, v: JV<'a>) -> JV<'a> {
        let mut out = bumpalo::collections::Vec::new_in(self.arena);
        let mut add = |x: Value<'a>| match x {
            Value::Array(items) => flatten_into(items, &mut out),
            other => out.push(other),
        };
        match v {
            JV::V(Value::Object(o)) => o.iter().for_each(|(_, x)| add(*x)),
            JV::V(Value::Array(items)) | JV::Seq(items, _) => {
                for item in items {
                    if let Value::Object(o) = item {
                        o.iter().for_each(|(_, x)| add(*x));
                    }
                }
            }
            _ => {}
        }
        self.seq(out)
    }

    fn descendants(&self, v: JV<'a>) -> JV<'a> {
        fn walk<'a>(v: Value<'a>, out: &mut bumpalo::collections::Vec<'a, Value<'a>>) {
            match v {
                Value::Array(items) => items.iter().for_each(|x| walk(*x, out)),
                Value::Object(o) => {
                    out.push(v);
                    o.iter().for_each(|(_, x)| walk(*x, out));
                }
                other => out.push(other),
            }
        }
        let mut out = bumpalo::collections::Vec::new_in(self.arena);
        match v {
            JV::V(x) => walk(x, &mut out),
            JV::Seq(items, _) => items.iter().for_each(|x| walk(*x, &mut out)),
            _ => {}
        }
        self.seq(out)
    }

    #[inline(never)]
    fn path(&mut self, p: &'a PathNode, input: JV<'a>, scope: &'a Scope<'a>) -> R<'a> {
        if p.names_only && !self.general {
            if let Some(v) = self.names_path(p, input, scope) {
                return Ok(v);
            }
        }
        let a = self.arena;
        let first_is_var = p.steps.first().is_some_and(|s| {
            s.sort.is_none()
                && matches!(s.node, Node::Local(..) | Node::Global(_) | Node::Context | Node::Root | Node::Unbound)
        });
        // The context sequence the first step maps over.
        let mut current: bumpalo::collections::Vec<'a, Value<'a>> = bumpalo::collections::Vec::new_in(a);
        let mut single_undefined = false;
        match input {
            JV::Seq(s, _) if !first_is_var => current.extend_from_slice(s),
            JV::V(Value::Array(s)) if !first_is_var => current.extend_from_slice(s),
            JV::Undef => single_undefined = true,
            other => match other.to_value() {
                Some(v) => current.push(v),
                None => single_undefined = true,
            },
        }
        let last = p.steps.len().saturating_sub(1);
        let mut result_cons = false;
        let mut whole_array: Option<Value<'a>> = None;
        for (i, step) in p.steps.iter().enumerate() {
            whole_array = None;
            if let Some(terms) = &step.sort {
                // A sort step orders the whole sequence so far.
                let ctx = if i == 0 { input } else { JV::Seq(current.into_bump_slice(), false) };
                let mut sorted = self.sort(ctx, terms, scope)?;
                for stage in step.stages.iter() {
                    sorted = self.filter(stage, sorted, scope)?;
                }
                current = bumpalo::collections::Vec::new_in(a);
                current.extend_from_slice(sorted.items());
                if let JV::V(v) = sorted {
                    if !matches!(v, Value::Array(_)) {
                        current.push(v);
                    }
                }
                continue;
            }
            if i == 0 && step.cons {
                // An array constructor as first step is evaluated once, not per context item.
                let v = self.step_value(step, input, scope)?;
                current = bumpalo::collections::Vec::new_in(a);
                match v {
                    JV::Seq(s, _) => current.extend_from_slice(s),
                    other => current.extend(other.to_value()),
                }
                result_cons = true;
            } else if i == 0 && (single_undefined || first_is_var) {
                let v = self.step_value(step, input, scope)?;
                if i == last {
                    if let JV::V(arr @ Value::Array(_)) = v {
                        whole_array = Some(arr);
                    }
                }
                current = self.flatten_step(&[v], i == last, step);
                result_cons = matches!(v, JV::Seq(_, true)) && i == last;
            } else {
                let mut results = bumpalo::collections::Vec::with_capacity_in(current.len(), a);
                for item in current.iter() {
                    let v = self.step_value(step, JV::V(*item), scope)?;
                    if !matches!(v, JV::Undef) {
                        results.push(v);
                    }
                }
                result_cons = i == last && results.len() == 1 && matches!(results[0], JV::Seq(_, true));
                if i == last && results.len() == 1 {
                    if let JV::V(v @ Value::Array(_)) = results[0] {
                        // A single array from the data is the result as it is.
                        whole_array = Some(v);
                    }
                }
                current = self.flatten_step(&results, i == last, step);
            }
            if current.is_empty() {
                break;
            }
        }
        let mut out = if let Some(v) = whole_array {
            JV::V(v)
        } else if p.keep_array || (result_cons && current.len() != 1) {
            JV::Seq(current.into_bump_slice(), true)
        } else {
            self.seq(current)
        };
        if p.keep_array && whole_array.is_none() {
            if let JV::Seq(s, _) = out {
                if s.is_empty() {
                    out = JV::Undef;
                }
            }
        }
        if let Some(pairs) = &p.group {
            return self.group(pairs, out, scope);
        }
        Ok(out)
    }

    /// The value of `$`, `$$`, a local or a host global; `None` for any other node.
    #[inline]
    fn variable(&self, n: &Node, input: JV<'a>, scope: &'a Scope<'a>) -> Option<JV<'a>> {
        Some(match n {
            Node::Context => match (input, self.outer) {
                (JV::Seq(s, _), Some(o)) if std::ptr::eq(s, o) => JV::V(s[0]),
                _ => input,
            },
            Node::Root => self.root,
            Node::Local(s, global) => match scope.get(*s) {
                Some(v) => v,
                None => global.and_then(|g| self.globals.get(g as usize)).map_or(JV::Undef, std::cell::Cell::get),
            },
            Node::Global(slot) => self.globals.get(*slot as usize).map_or(JV::Undef, std::cell::Cell::get),
            _ => return None,
        })
    }

    /// A [`PathNode::names_only`] path as the general evaluation would give it, walked member by
    /// member: an undefined or function variable, a missing member or a scalar on the way is
    /// undefined; an array at the end is the result as it is. `None` hands the path to the
    /// general evaluation, which maps over arrays and sequences: when the variable holds one
    /// (`$` over an array input included), when an array is met before the last name, and at
    /// the depth limit, so that both give the same U1001 there (reading a variable again is
    /// harmless).
    fn names_path(&self, p: &'a PathNode, input: JV<'a>, scope: &'a Scope<'a>) -> Option<JV<'a>> {
        if self.depth >= MAX_DEPTH {
            return None;
        }
        let (first, names) = p.steps.split_first()?;
        let mut cur = match self.variable(&first.node, input, scope)? {
            JV::V(v) if !matches!(v, Value::Array(_)) => v,
            JV::Undef | JV::F(_) => return Some(JV::Undef),
            _ => return None,
        };
        for (i, step) in names.iter().enumerate() {
            let Node::Name(name) = &step.node else { return None };
            // A scalar or an array has no member: undefined.
            cur = match cur.get(name) {
                Some(v) => v,
                None => return Some(JV::Undef),
            };
            if matches!(cur, Value::Array(_)) && i + 1 < names.len() {
                return None;
            }
        }
        Some(JV::V(cur))
    }

    fn step_value(&mut self, step: &'a Step, ctx: JV<'a>, scope: &'a Scope<'a>) -> R<'a> {
        let mut v = self.eval(&step.node, ctx, scope)?;
        for stage in step.stages.iter() {
            v = self.filter(stage, v, scope)?;
        }
        Ok(v)
    }

    /// Flattens one step's per-item results into the next context sequence.
    fn flatten_step(&self, results: &[JV<'a>], last: bool, _step: &Step) -> bumpalo::collections::Vec<'a, Value<'a>> {
        let mut out = bumpalo::collections::Vec::new_in(self.arena);
        if last && results.len() == 1 {
            if let JV::V(Value::Array(items)) = results[0] {
                out.extend_from_slice(items);
                return out;
            }
        }
        for r in results {
            match *r {
                JV::Undef | JV::F(_) => {}
                JV::Seq(s, true) => out.push(Value::Array(s)),
                JV::Seq(s, false) | JV::V(Value::Array(s)) => out.extend_from_slice(s),
                JV::V(v) => out.push(v),
            }
        }
        out
    }

    /// A predicate `[expr]` over the items of `v`.
    fn filter(&mut self, pred: &'a Node, v: JV<'a>, scope: &'a Scope<'a>) -> R<'a> {
        let items: &'a [Value<'a>] = match v {
            JV::Undef | JV::F(_) => return Ok(JV::Undef),
            JV::V(Value::Array(a)) | JV::Seq(a, _) => a,
            JV::V(x) => self.arena.alloc_slice_copy(&[x]),
        };
        let mut out = bumpalo::collections::Vec::new_in(self.arena);
        if let Node::Const(c) = pred {
            if let Some(f) = c.materialize(self.arena).as_f64() {
                let mut i = f.floor() as i64;
                if i < 0 {
                    i += items.len() as i64;
                }
                if let Some(x) = usize::try_from(i).ok().and_then(|i| items.get(i)) {
                    out.push(*x);
                }
                return Ok(self.seq(out));
            }
        }
        for (index, item) in items.iter().enumerate() {
            let r = self.eval(pred, JV::V(*item), scope)?;
            let keep = match r {
                JV::V(x) if x.is_number() => index_matches(x.as_f64().unwrap_or(f64::NAN), index, items.len()),
                JV::Seq(s, _) | JV::V(Value::Array(s)) if !s.is_empty() && s.iter().all(Value::is_number) => {
                    s.iter().any(|x| index_matches(x.as_f64().unwrap_or(f64::NAN), index, items.len()))
                }
                other => truthy(other),
            };
            if keep {
                out.push(*item);
            }
        }
        Ok(self.seq(out))
    }

    /// `{k: v, …}` over the items of `v`: items grouped by key, each value evaluated on its group.
    fn group(&mut self, pairs: &'a [(Node, Node)], v: JV<'a>, scope: &'a Scope<'a>) -> R<'a> {
        let a = self.arena;
        let items: &'a [Value<'a>] = match v {
            JV::V(Value::Array(s)) | JV::Seq(s, _) => s,
            JV::Undef => &[],
            other => match other.to_value() {
                Some(x) => a.alloc_slice_copy(&[x]),
                None => &[],
            },
        };
        // (key, pair index, items of the group)
        let mut groups: Vec<(&'a str, usize, bumpalo::collections::Vec<'a, Value<'a>>)> = Vec::new();
        let contexts: Vec<JV<'a>> =
            if items.is_empty() { vec![JV::Undef] } else { items.iter().map(|x| JV::V(*x)).collect() };
        for ctx in contexts {
            for (pi, (k, _)) in pairs.iter().enumerate() {
                let key = match self.eval(k, ctx, scope)? {
                    JV::Undef => continue,
                    JV::V(Value::Str(s)) => s,
                    other => {
                        let shown = other.to_value().map(|v| crate::value::to_json_string(&v)).unwrap_or_default();
                        return err(
                            "T1003",
                            format!("Key in object structure must evaluate to a string; got: {shown}"),
                        );
                    }
                };
                match groups.iter_mut().find(|(gk, _, _)| *gk == key) {
                    Some((_, gpi, data)) => {
                        if *gpi != pi {
                            return err("D1009", format!("Multiple key definitions evaluate to same key: {key}"));
                        }
                        if let JV::V(x) = ctx {
                            data.push(x);
                        }
                    }
                    None => {
                        let mut data = bumpalo::collections::Vec::new_in(a);
                        if let JV::V(x) = ctx {
                            data.push(x);
                        }
                        groups.push((key, pi, data));
                    }
                }
            }
        }
        let mut out = bumpalo::collections::Vec::with_capacity_in(groups.len(), a);
        for (key, pi, data) in groups {
            let ctx = match data.len() {
                0 => JV::Undef,
                1 => JV::V(data[0]),
                _ => JV::Seq(data.into_bump_slice(), false),
            };
            if let Some(v) = self.eval(&pairs[pi].1, ctx, scope)?.to_value() {
                out.push((key, v));
            }
        }
        Ok(JV::V(Value::Object(out.into_bump_slice())))
    }

    #[inline(never)]
    fn binary(&mut self, op: BinOp, l: &'a Node, r: &'a Node, input: JV<'a>, scope: &'a Scope<'a>) -> R<'a> {
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
                let mut s = bumpalo::collections::String::new_in(self.arena);
                for v in [lhs, rhs] {
                    if !matches!(v, JV::Undef) {
                        functions::stringify_into(&mut s, v)?;
                    }
                }
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
    fn call(
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
        (spec.func)(self, args, input)
    }

    fn sort(&mut self, v: JV<'a>, terms: &'a [(Node, bool)], scope: &'a Scope<'a>) -> R<'a> {
        let items = match v {
            JV::Undef => return Ok(JV::Undef),
            JV::V(Value::Array(s)) | JV::Seq(s, _) => s,
            other => return Ok(other),
        };
        // Keys computed once per item and term.
        let mut keyed: Vec<(Vec<JV<'a>>, Value<'a>)> = Vec::with_capacity(items.len());
        for item in items {
            let mut keys = Vec::with_capacity(terms.len());
            for (t, _) in terms.iter() {
                keys.push(single(self.eval(t, JV::V(*item), scope)?));
            }
            keyed.push((keys, *item));
        }
        let mut failure = None;
        keyed.sort_by(|x, y| {
            for (i, (_, desc)) in terms.iter().enumerate() {
                let o = match (x.0[i], y.0[i]) {
                    // Undefined keys sort last, in either direction.
                    (JV::Undef, JV::Undef) => continue,
                    (JV::Undef, _) => return std::cmp::Ordering::Greater,
                    (_, JV::Undef) => return std::cmp::Ordering::Less,
                    (JV::V(Value::Str(a)), JV::V(Value::Str(b))) => a.encode_utf16().cmp(b.encode_utf16()),
                    (a, b) => match (a.num(), b.num()) {
                        (Some(p), Some(q)) => p.partial_cmp(&q).unwrap_or(std::cmp::Ordering::Equal),
                        _ => {
                            failure.get_or_insert(JError {
                                code: "T2008",
                                message: "The expressions within an order-by clause must evaluate to numeric or string values".into(),
                            });
                            std::cmp::Ordering::Equal
                        }
                    },
                };
                let o = if *desc { o.reverse() } else { o };
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        });
        if let Some(e) = failure {
            return Err(e);
        }
        let out = self.arena.alloc_slice_fill_iter(keyed.into_iter().map(|(_, v)| v));
        Ok(JV::Seq(out, true))
    }
}

/// A one-item sequence is its item.
pub fn single(v: JV<'_>) -> JV<'_> {
    match v {
        JV::Seq(s, _) if s.len() == 1 => JV::V(s[0]),
        other => other,
    }
}

fn show(v: JV<'_>) -> String {
    v.to_value().map(|x| crate::value::to_json_string(&x)).unwrap_or_else(|| "undefined".into())
}

fn index_matches(f: f64, index: usize, len: usize) -> bool {
    if f.is_nan() {
        return false;
    }
    let mut i = f.floor() as i64;
    if i < 0 {
        i += len as i64;
    }
    i == index as i64
}

/// `===` on JSON values: primitives by value, containers never.
fn strict_eq(a: &Value<'_>, b: &Value<'_>) -> bool {
    match (a, b) {
        (Value::Array(_) | Value::Object(_), _) | (_, Value::Array(_) | Value::Object(_)) => false,
        _ => a == b,
    }
}

fn flatten_into<'a>(items: &'a [Value<'a>], out: &mut bumpalo::collections::Vec<'a, Value<'a>>) {
    for x in items {
        match x {
            Value::Array(inner) => flatten_into(inner, out),
            other => out.push(*other),
        }
    }
}
