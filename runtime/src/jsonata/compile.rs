//! [`Ast`] → [`Node`]: paths flattened into steps with their predicates, names resolved.
//!
//! A `$name` is, in this order: a local (a lambda parameter or a `:=` in an enclosing block,
//! interned as a [`Sym`]), a global of the host (a workflow variable or `$states`, as a slot the
//! host hands out), a built-in function, or unbound (undefined when evaluated). Nothing is looked
//! up by its text at run time.

use super::functions::BUILTINS;
use super::lex::SyntaxError;
use super::parse::Ast;
use crate::value::Const;

/// An interned local variable name.
pub type Sym = u32;

#[derive(Debug)]
pub enum Node {
    Const(Const),
    Regex(Box<super::eval::RegexLit>),
    Path(Box<PathNode>),
    /// `$`: the context value.
    Context,
    /// `$$`: the expression's input.
    Root,
    /// A local; when it is not bound (yet) at run time, the host global of the same name.
    Local(Sym, Option<u32>),
    /// A host global (workflow variable, `$states`) by slot.
    Global(u32),
    /// A variable bound nowhere: undefined.
    Unbound,
    /// A built-in function as a value.
    Builtin(u16),
    Neg(Box<Node>),
    Binary(BinOp, Box<Node>, Box<Node>),
    Array(Box<[ArrayItem]>),
    /// `{k: v}` on the context (None) or on the value of an expression (group-by).
    Object(Option<Box<Node>>, Box<[(Node, Node)]>),
    Block(Box<[Node]>),
    Cond(Box<Node>, Box<Node>, Option<Box<Node>>),
    Bind(Sym, Box<Node>),
    Lambda(Box<Lambda>),
    Call(Box<Node>, Box<[Node]>),
    /// A call of a built-in by index (not shadowed by a local).
    CallBuiltin(u16, Box<[Node]>),
    Placeholder,
    Chain(Box<Node>, Box<Node>),
    /// Predicates on a value that is not a path step: `$x[0]`, `[1,2,3][$ > 1]`.
    Filter(Box<Node>, Box<[Node]>),
    Transform(Box<Node>, Box<Node>, Option<Box<Node>>),
    Wildcard,
    Descendants,
    /// A field name (outside a path it is a one-step path).
    Name(Box<str>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Concat,
    And,
    Or,
    In,
}

#[derive(Debug)]
pub enum ArrayItem {
    /// A nested array constructor: kept as one element.
    Nested(Node),
    /// Anything else: appended (arrays flattened into the result).
    Item(Node),
    Range(Node, Node),
}

#[derive(Debug)]
pub struct Lambda {
    pub params: Box<[Sym]>,
    pub body: Node,
}

#[derive(Debug)]
pub struct PathNode {
    pub steps: Box<[Step]>,
    /// `[]` somewhere in the path: a single result stays an array.
    pub keep_array: bool,
    /// `path{…}`: grouping applied to the whole result.
    pub group: Option<Box<[(Node, Node)]>>,
    /// A variable (`$states`, `$x`, `$`, `$$`) followed by field names only: no predicates,
    /// sorts, array constructors, `[]` or group-by. The common `$states.input.a.b`, which the
    /// evaluator walks member by member while it meets no array (see `Ev::names_path`).
    pub names_only: bool,
}

#[derive(Debug)]
pub struct Step {
    /// For a sort step (`^(…)`), the sort terms: the step sorts the whole sequence so far.
    pub sort: Option<Box<[(Node, bool)]>>,
    pub node: Node,
    /// Predicates applied to this step's result per context item.
    pub stages: Box<[Node]>,
    /// The step is an array constructor: not flattened, and evaluated once if first.
    pub cons: bool,
}

/// Resolves a free variable name to a host slot.
pub trait Resolver {
    fn global(&mut self, name: &str) -> Option<u32>;
}

impl<F: FnMut(&str) -> Option<u32>> Resolver for F {
    fn global(&mut self, name: &str) -> Option<u32> {
        self(name)
    }
}

pub struct Compiler<'r> {
    resolver: &'r mut dyn Resolver,
    /// Local names in scope, innermost last; each entry a lexical frame.
    frames: Vec<Vec<String>>,
    symbols: Vec<String>,
}

impl<'r> Compiler<'r> {
    pub fn new(resolver: &'r mut dyn Resolver) -> Self {
        Compiler { resolver, frames: vec![Vec::new()], symbols: Vec::new() }
    }

    fn sym(&mut self, name: &str) -> Sym {
        match self.symbols.iter().position(|s| s == name) {
            Some(i) => i as Sym,
            None => {
                self.symbols.push(name.to_owned());
                (self.symbols.len() - 1) as Sym
            }
        }
    }

    fn is_local(&self, name: &str) -> bool {
        self.frames.iter().any(|f| f.iter().any(|n| n == name))
    }

    /// Names a block binds with `:=` at its own level (not inside nested lambdas).
    fn bound_in(items: &[Ast], out: &mut Vec<String>) {
        fn walk(a: &Ast, out: &mut Vec<String>) {
            match a {
                Ast::Bind(n, v) => {
                    out.push(n.clone());
                    walk(v, out);
                }
                Ast::Lambda { .. } | Ast::Block(_) => {}
                Ast::Binary(_, l, r) | Ast::Chain(l, r) | Ast::Range(l, r) => {
                    walk(l, out);
                    walk(r, out);
                }
                Ast::Neg(x) | Ast::Focus(x, _) | Ast::Index(x, _) => walk(x, out),
                Ast::Predicate(x, p) => {
                    walk(x, out);
                    if let Some(p) = p {
                        walk(p, out);
                    }
                }
                Ast::Cond(c, t, e) => {
                    walk(c, out);
                    walk(t, out);
                    if let Some(e) = e {
                        walk(e, out);
                    }
                }
                Ast::Call { func, args } => {
                    walk(func, out);
                    args.iter().for_each(|x| walk(x, out));
                }
                Ast::Array(items) => items.iter().for_each(|x| walk(x, out)),
                Ast::Object(g, pairs) => {
                    if let Some(g) = g {
                        walk(g, out);
                    }
                    for (k, v) in pairs {
                        walk(k, out);
                        walk(v, out);
                    }
                }
                _ => {}
            }
        }
        items.iter().for_each(|a| walk(a, out));
    }

    pub fn compile(&mut self, ast: &Ast) -> Result<Node, SyntaxError> {
        // The top level is an implicit block for `:=`.
        let mut names = Vec::new();
        Self::bound_in(std::slice::from_ref(ast), &mut names);
        self.frames.push(names);
        let n = self.node(ast);
        self.frames.pop();
        n
    }

    fn node(&mut self, ast: &Ast) -> Result<Node, SyntaxError> {
        Ok(match ast {
            Ast::Num(n) => Node::Const(num_const(*n)),
            Ast::Str(s) => Node::Const(Const::Str(s.as_str().into())),
            Ast::Bool(b) => Node::Const(Const::Bool(*b)),
            Ast::Null => Node::Const(Const::Null),
            Ast::Regex(p, f) => Node::Regex(Box::new(super::eval::RegexLit::new(p, f)?)),
            Ast::Name(_) | Ast::Wildcard | Ast::Descendants | Ast::Binary(".", _, _) => self.path(ast)?,
            Ast::Predicate(..) | Ast::Sort(..) => self.path(ast)?,
            Ast::Parent => {
                return Err(SyntaxError {
                    code: "S0217",
                    message: "The parent operator % is not supported by aslrt".into(),
                    at: 0,
                })
            }
            Ast::Var(v) => self.var(v),
            Ast::Neg(x) => Node::Neg(Box::new(self.node(x)?)),
            Ast::Binary(op, l, r) => {
                let op = match *op {
                    "+" => BinOp::Add,
                    "-" => BinOp::Sub,
                    "*" => BinOp::Mul,
                    "/" => BinOp::Div,
                    "%" => BinOp::Mod,
                    "=" => BinOp::Eq,
                    "!=" => BinOp::Ne,
                    "<" => BinOp::Lt,
                    "<=" => BinOp::Le,
                    ">" => BinOp::Gt,
                    ">=" => BinOp::Ge,
                    "&" => BinOp::Concat,
                    "and" => BinOp::And,
                    "or" => BinOp::Or,
                    "in" => BinOp::In,
                    other => {
                        return Err(SyntaxError {
                            code: "S0201",
                            message: format!("Syntax error: unexpected operator \"{other}\""),
                            at: 0,
                        })
                    }
                };
                Node::Binary(op, Box::new(self.node(l)?), Box::new(self.node(r)?))
            }
            Ast::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for it in items {
                    out.push(match it {
                        Ast::Range(a, b) => ArrayItem::Range(self.node(a)?, self.node(b)?),
                        Ast::Array(_) => ArrayItem::Nested(self.node(it)?),
                        other => ArrayItem::Item(self.node(other)?),
                    });
                }
                Node::Array(out.into())
            }
            Ast::Range(a, b) => Node::Array(Box::new([ArrayItem::Range(self.node(a)?, self.node(b)?)])),
            Ast::Object(None, pairs) => Node::Object(None, self.pairs(pairs)?),
            Ast::Object(Some(lhs), pairs) => {
                let pairs = self.pairs(pairs)?;
                let lhs = self.node(lhs)?;
                match lhs {
                    Node::Path(mut p) if p.group.is_none() => {
                        p.group = Some(pairs);
                        p.names_only = false;
                        Node::Path(p)
                    }
                    other => Node::Object(Some(Box::new(other)), pairs),
                }
            }
            Ast::Block(items) => {
                let mut names = Vec::new();
                Self::bound_in(items, &mut names);
                self.frames.push(names);
                let out: Result<Vec<Node>, _> = items.iter().map(|x| self.node(x)).collect();
                self.frames.pop();
                Node::Block(out?.into())
            }
            Ast::Cond(c, t, e) => Node::Cond(
                Box::new(self.node(c)?),
                Box::new(self.node(t)?),
                match e {
                    Some(e) => Some(Box::new(self.node(e)?)),
                    None => None,
                },
            ),
            Ast::Bind(name, v) => {
                let value = self.node(v)?;
                Node::Bind(self.sym(name), Box::new(value))
            }
            Ast::Lambda { params, body } => {
                self.frames.push(params.clone());
                let mut names = Vec::new();
                Self::bound_in(std::slice::from_ref(body), &mut names);
                self.frames.push(names);
                let body = self.node(body);
                self.frames.pop();
                self.frames.pop();
                let params = params.iter().map(|p| self.sym(p)).collect();
                Node::Lambda(Box::new(Lambda { params, body: body? }))
            }
            Ast::Call { func, args } => {
                let args: Result<Vec<Node>, _> = args.iter().map(|a| self.node(a)).collect();
                let args = args?.into_boxed_slice();
                if let Ast::Var(name) = &**func {
                    if !self.is_local(name) {
                        if let Some(i) = BUILTINS.iter().position(|b| b.name == name) {
                            if !args.iter().any(|a| matches!(a, Node::Placeholder)) {
                                return Ok(Node::CallBuiltin(i as u16, args));
                            }
                        }
                    }
                }
                Node::Call(Box::new(self.node(func)?), args)
            }
            Ast::Placeholder => Node::Placeholder,
            Ast::Chain(l, r) => Node::Chain(Box::new(self.node(l)?), Box::new(self.node(r)?)),
            Ast::Focus(..) | Ast::Index(..) => {
                return Err(SyntaxError {
                    code: "S0217",
                    message: "The focus (@) and index (#) binding operators are not supported by aslrt".into(),
                    at: 0,
                })
            }
            Ast::Transform(p, u, d) => Node::Transform(
                Box::new(self.node(p)?),
                Box::new(self.node(u)?),
                match d {
                    Some(d) => Some(Box::new(self.node(d)?)),
                    None => None,
                },
            ),
        })
    }

    fn var(&mut self, v: &str) -> Node {
        match v {
            "" => Node::Context,
            "$" => Node::Root,
            name if self.is_local(name) => {
                let global = self.resolver.global(name);
                Node::Local(self.sym(name), global)
            }
            name => match self.resolver.global(name) {
                Some(slot) => Node::Global(slot),
                None => match BUILTINS.iter().position(|b| b.name == name) {
                    Some(i) => Node::Builtin(i as u16),
                    None => Node::Unbound,
                },
            },
        }
    }

    fn pairs(&mut self, pairs: &[(Ast, Ast)]) -> Result<Box<[(Node, Node)]>, SyntaxError> {
        let out: Result<Vec<(Node, Node)>, _> = pairs.iter().map(|(k, v)| Ok((self.node(k)?, self.node(v)?))).collect();
        Ok(out?.into())
    }

    /// A path: `.`-separated steps, each with its predicates.
    fn path(&mut self, ast: &Ast) -> Result<Node, SyntaxError> {
        let mut steps: Vec<Step> = Vec::new();
        let mut keep_array = false;
        self.steps(ast, &mut steps, &mut keep_array)?;
        // A lone non-path value with predicates is a filter, not a path.
        if steps.len() == 1 && !is_step_node(&steps[0].node) && !keep_array && steps[0].sort.is_none() {
            let s = steps.pop().expect("one step");
            return Ok(if s.stages.is_empty() { s.node } else { Node::Filter(Box::new(s.node), s.stages) });
        }
        let plain = |s: &Step| s.sort.is_none() && s.stages.is_empty() && !s.cons;
        let names_only = steps.len() >= 2
            && !keep_array
            && steps.iter().all(plain)
            && matches!(steps[0].node, Node::Local(..) | Node::Global(_) | Node::Context | Node::Root)
            && steps[1..].iter().all(|s| matches!(s.node, Node::Name(_)));
        Ok(Node::Path(Box::new(PathNode { steps: steps.into(), keep_array, group: None, names_only })))
    }

    fn steps(&mut self, ast: &Ast, out: &mut Vec<Step>, keep_array: &mut bool) -> Result<(), SyntaxError> {
        self.steps_in(ast, out, keep_array, false)
    }

    /// `dotted`: inside `a.b`, where a string literal is a field name.
    fn steps_in(
        &mut self,
        ast: &Ast,
        out: &mut Vec<Step>,
        keep_array: &mut bool,
        dotted: bool,
    ) -> Result<(), SyntaxError> {
        match ast {
            Ast::Binary(".", l, r) => {
                self.steps_in(l, out, keep_array, true)?;
                self.steps_in(r, out, keep_array, true)
            }
            Ast::Predicate(x, pred) => {
                self.steps_in(x, out, keep_array, dotted)?;
                match pred {
                    None => *keep_array = true,
                    Some(p) => {
                        let p = self.node(p)?;
                        if let Some(last) = out.last_mut() {
                            let mut stages = std::mem::take(&mut last.stages).into_vec();
                            stages.push(p);
                            last.stages = stages.into();
                        }
                    }
                }
                Ok(())
            }
            Ast::Name(n) => {
                out.push(Step { sort: None, node: Node::Name(n.as_str().into()), stages: Box::default(), cons: false });
                Ok(())
            }
            Ast::Wildcard => {
                out.push(Step { sort: None, node: Node::Wildcard, stages: Box::default(), cons: false });
                Ok(())
            }
            Ast::Descendants => {
                out.push(Step { sort: None, node: Node::Descendants, stages: Box::default(), cons: false });
                Ok(())
            }
            // A string literal in a path is a field name: `a."b c"`.
            Ast::Str(n) if dotted => {
                out.push(Step { sort: None, node: Node::Name(n.as_str().into()), stages: Box::default(), cons: false });
                Ok(())
            }
            Ast::Num(_) | Ast::Bool(_) | Ast::Null if !out.is_empty() => {
                let shown = match ast {
                    Ast::Num(n) => super::numfmt::js_to_string(*n),
                    Ast::Bool(b) => b.to_string(),
                    _ => "null".into(),
                };
                Err(SyntaxError {
                    code: "S0213",
                    message: format!("The literal value {shown} cannot be used as a step within a path expression"),
                    at: 0,
                })
            }
            Ast::Sort(x, terms) => {
                self.steps_in(x, out, keep_array, dotted)?;
                let terms: Result<Vec<(Node, bool)>, _> = terms.iter().map(|(t, d)| Ok((self.node(t)?, *d))).collect();
                out.push(Step { sort: Some(terms?.into()), node: Node::Context, stages: Box::default(), cons: false });
                Ok(())
            }
            other => {
                let cons = matches!(other, Ast::Array(_));
                let node = self.node(other)?;
                out.push(Step { sort: None, node, stages: Box::default(), cons });
                Ok(())
            }
        }
    }
}

/// Names, wildcards and descendants are always path steps; other nodes only inside a path.
fn is_step_node(n: &Node) -> bool {
    matches!(n, Node::Name(_) | Node::Wildcard | Node::Descendants)
}

/// A JSONata number literal as a constant: integers stay integers.
pub fn num_const(n: f64) -> Const {
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        Const::Int(n as i64)
    } else {
        Const::Float(n)
    }
}
