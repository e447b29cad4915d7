//! Evaluation of a compiled JSONata [`Node`] over arena [`Value`]s, with JSONata's sequence
//! semantics: a path maps each step over the items of the previous one and flattens arrays
//! found in the data (not those built by an array constructor); a result sequence of one item is
//! that item, and an empty one is undefined.

mod call;
mod path;

use super::compile::{ArrayItem, Lambda, Node, Sym};
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

/// AWS's message when an evaluation holds more memory than it allows (`D3137` here).
pub const MEMORY_LIMIT: &str = "Expression evaluation memory limit exceeded: Check for excessive memory usage";

/// Whether a text of `bytes` (or at least `bytes`, for one still being written) may be made
/// under a limit of `max`; past it, a JavaScript engine's "Invalid string length".
pub fn text_fits(bytes: usize, max: usize) -> Result<(), JError> {
    if bytes <= max {
        return Ok(());
    }
    err(
        "RangeError",
        format!("Invalid string length: the text would be {bytes} bytes or more, over the limit of {max} bytes"),
    )
}

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
    /// Nodes evaluated so far (at most `max_steps`).
    pub steps: u64,
    /// Every path goes the general way, names-only paths too (the unoptimised reference).
    pub general: bool,
    /// The longest text an expression may make, in bytes (the payload limit, which AWS holds
    /// every intermediate value to).
    pub max_text: usize,
    /// The deepest evaluation (`RuntimeLimits::max_jsonata_depth`).
    pub max_depth: u32,
    /// The most nodes one evaluation of an expression evaluates: a bound on its time, and so on
    /// the memory it can take (a doubly recursive `$fib` on `[0..32]` would take 2^32 calls;
    /// `RuntimeLimits::max_jsonata_steps`).
    pub max_steps: u64,
    /// The arena's `allocated_bytes` past which an evaluation fails with AWS's memory-limit
    /// error (the execution's share, `RuntimeLimits::max_arena_bytes`): checked at each step,
    /// since values share their parts and a few steps can ask for gigabytes.
    pub arena_cap: usize,
}

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

    /// AWS's memory-limit error, naming the limit here that it met (the arena cap, which the
    /// unoptimised program, allocating more, meets a little sooner).
    #[cold]
    fn arena_full(&self) -> R<'a> {
        err("D3137", format!("{MEMORY_LIMIT} (RuntimeLimits::max_arena_bytes)"))
    }

    #[cold]
    fn too_many_steps(&self) -> R<'a> {
        let steps = crate::common::thousands(self.max_steps);
        err("U1002", format!("The expression took more than {steps} evaluation steps."))
    }

    #[inline]
    pub fn eval(&mut self, n: &'a Node, input: JV<'a>, scope: &'a Scope<'a>) -> R<'a> {
        self.steps += 1;
        if self.steps > self.max_steps {
            return self.too_many_steps();
        }
        if self.arena.allocated_bytes() > self.arena_cap {
            return self.arena_full();
        }
        self.depth += 1;
        if self.depth > self.max_depth {
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
                            // In i128: `[-5e18..5e18]` overflows an i64 difference.
                            let span = i128::from(hi) - i128::from(lo);
                            if span >= i128::from(crate::common::JSONATA_RANGE_ITEMS) {
                                return err("D2014", "The size of the sequence allocated by the range operator (..) must not exceed 1e7.");
                            }
                            if span >= i128::from(crate::common::JSONATA_RANGE_HELD) {
                                return err("D3137", MEMORY_LIMIT);
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
