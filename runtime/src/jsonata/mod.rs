//! JSONata 2.0 as AWS Step Functions runs it: lexed and parsed once, compiled into a tree whose
//! variables are resolved (locals to symbols, workflow variables and `$states` to host slots,
//! built-ins to table indices), and evaluated over the execution's arena values.
//!
//! `lex.rs` → `parse.rs` (Pratt parser, raw [`parse::Ast`]) → `compile.rs` ([`compile::Node`]) →
//! `eval.rs` (sequence semantics) with `functions.rs` (the library) and `numfmt.rs`
//! (JavaScript number printing).

pub mod compile;
#[cfg(feature = "engine-jsonata-core")]
pub mod core_engine;
pub mod eval;
pub mod functions;
pub mod lex;
pub mod numfmt;
pub mod parse;

pub use compile::Resolver;
pub use eval::{Ev, JError, JV};
pub use lex::SyntaxError;

use bumpalo::Bump;

/// A compiled JSONata expression: immutable, `Send + Sync`.
#[derive(Debug)]
pub struct Expr {
    root: compile::Node,
    text: Box<str>,
    /// The text names `$now` or `$millis` (an over-approximation): only then does an
    /// evaluation need the time.
    reads_clock: bool,
    #[cfg(feature = "engine-jsonata-core")]
    pub core: Option<core_engine::CoreExpr>,
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Expr>();
};

impl Expr {
    /// Parses and compiles `text`; free variables go through `resolver`.
    pub fn compile(text: &str, resolver: &mut dyn Resolver) -> Result<Expr, SyntaxError> {
        let ast = parse::parse(text)?;
        let root = compile::Compiler::new(resolver).compile(&ast)?;
        Ok(Expr {
            root,
            reads_clock: text.contains("$now") || text.contains("$millis"),
            text: text.into(),
            #[cfg(feature = "engine-jsonata-core")]
            core: core_engine::CoreExpr::parse(text),
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether an evaluation may read the time (`$now()`, `$millis()`).
    pub fn reads_clock(&self) -> bool {
        self.reads_clock
    }

    /// Evaluates with `input` as the context (`$`) and the root (`$$`).
    pub fn eval<'a>(&'a self, ev: &mut Ev<'a, '_>, input: JV<'a>) -> Result<JV<'a>, JError> {
        let scope = eval::Scope::new(ev.arena, None);
        ev.root = input;
        let input = match input {
            JV::V(arr @ crate::value::Value::Array(_)) => {
                let wrapped: &'a [crate::value::Value<'a>] = ev.arena.alloc_slice_copy(&[arr]);
                ev.outer = Some(wrapped);
                JV::Seq(wrapped, false)
            }
            other => other,
        };
        ev.eval(&self.root, input, scope)
    }

    /// The compiled tree, for static checks by the host.
    pub fn root(&self) -> &compile::Node {
        &self.root
    }
}

/// Evaluates `text` once against `input` (a convenience for tests and tools).
pub fn evaluate_once<'a>(
    arena: &'a Bump,
    text: &str,
    input: JV<'a>,
) -> Result<Option<crate::value::Value<'a>>, String> {
    let expr = Expr::compile(text, &mut |_: &str| None).map_err(|e| format!("{}: {}", e.code, e.message))?;
    let expr: &'a Expr = arena.alloc(expr);
    let mut rng = crate::vm::Rng::seeded(0);
    let mut parse = crate::value::ParseBuffers::default();
    let mut ev =
        Ev { arena, globals: &[], rng: &mut rng, parse: &mut parse, now_millis: 0, depth: 0, root: input, outer: None };
    expr.eval(&mut ev, input).map(|v| v.to_value()).map_err(|e| format!("{}: {}", e.code, e.message))
}
