//! JSONata 2.0 as AWS Step Functions runs it: lexed and parsed once, compiled into a tree whose
//! variables are resolved (locals to symbols, workflow variables and `$states` to host slots,
//! built-ins to table indices), and evaluated over the execution's arena values.
//!
//! `lex.rs` → `parse.rs` (Pratt parser, raw [`parse::Ast`]) → `compile.rs` ([`compile::Node`]) →
//! `eval/` (sequence semantics: `mod.rs` the expression walk, `path.rs` the steps, `call.rs`
//! functions and lambdas) with `functions/` (the library, a file per family) and `numfmt.rs`
//! (JavaScript number printing).
// Internal (reached by the crate's own tools through `internal`): documented where it helps,
// not item by item.
#![allow(missing_docs)]

pub mod compile;
#[cfg(feature = "engine-jsonata-core")]
pub mod core_engine;
pub mod eval;
pub mod functions;
pub mod lex;
pub mod numfmt;
pub mod parse;
mod template;

pub use compile::Resolver;
pub use eval::{Ev, JError, JV};
pub use lex::SyntaxError;
pub use template::JTemplate;

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

    /// Evaluates once outside a workflow (tests and tools): `globals` are the host's variables
    /// by slot, random functions draw from seed 0, and the clock reads 0. With `general`, every
    /// path goes the general way, as in the unoptimised program.
    pub fn eval_detached<'a>(
        &'a self,
        arena: &'a Bump,
        globals: &[std::cell::Cell<JV<'a>>],
        input: JV<'a>,
        general: bool,
    ) -> Result<JV<'a>, JError> {
        let mut rng = crate::common::Rng::seeded(0);
        let mut parse = crate::value::ParseBuffers::default();
        let mut ev = Ev {
            arena,
            globals,
            rng: &mut rng,
            parse: &mut parse,
            now_millis: 0,
            depth: 0,
            root: input,
            outer: None,
            steps: 0,
            general,
            max_text: crate::common::PAYLOAD_BYTES,
            max_depth: crate::common::JSONATA_DEPTH,
            max_steps: crate::common::JSONATA_STEPS,
            arena_cap: arena.allocated_bytes().saturating_add(crate::common::ARENA_BYTES),
        };
        self.eval(&mut ev, input)
    }

    /// The compiled tree, for static checks by the host.
    pub fn root(&self) -> &compile::Node {
        &self.root
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;
    use proptest::prelude::*;

    /// JSON whose objects mostly have members `a` and `b`, with arrays and scalars, four levels
    /// deep: paths of those names meet objects, arrays (mapped over), scalars and missing members.
    fn json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<i8>().prop_map(serde_json::Value::from),
            "[xy]{0,2}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 48, 3, |inner| {
            let member = || proptest::option::weighted(0.8, inner.clone());
            prop_oneof![
                1 => proptest::collection::vec(inner.clone(), 0..3).prop_map(serde_json::Value::from),
                3 => (member(), member()).prop_map(|(a, b)| {
                    let mut o = serde_json::Map::new();
                    o.extend(a.map(|v| ("a".to_owned(), v)));
                    o.extend(b.map(|v| ("b".to_owned(), v)));
                    serde_json::Value::Object(o)
                }),
            ]
        })
    }

    /// Sets `names_only` to `on` on the names-only paths of `n` (through blocks and bindings);
    /// how many there are.
    fn set_names_only(n: &mut compile::Node, on: bool) -> usize {
        match n {
            compile::Node::Path(p) if p.names_only || !on => {
                let was = p.names_only;
                p.names_only = on;
                usize::from(was)
            }
            compile::Node::Block(items) => items.iter_mut().map(|x| set_names_only(x, on)).sum(),
            compile::Node::Bind(_, x) => set_names_only(x, on),
            _ => 0,
        }
    }

    /// An expression's result, in a form that tells a sequence from an array; with
    /// `names_only` false, every path goes the general way.
    fn run(text: &str, x: &serde_json::Value, input: &serde_json::Value, names_only: bool) -> String {
        let arena = Bump::new();
        let mut expr = Expr::compile(text, &mut |n: &str| (n == "x").then_some(0)).expect("compiles");
        assert!(set_names_only(&mut expr.root, names_only) > 0, "{text} has a names-only path");
        let globals = [std::cell::Cell::new(JV::V(crate::value::from_serde(&arena, x)))];
        let input = JV::V(crate::value::from_serde(&arena, input));
        match expr.eval_detached(&arena, &globals, input, false) {
            Ok(JV::Undef) => "undefined".into(),
            Ok(JV::V(v)) => format!("value {}", crate::value::to_json_string(&v)),
            Ok(JV::Seq(s, cons)) => format!("sequence {cons} {}", crate::value::to_json_string(&Value::Array(s))),
            Ok(JV::F(_)) => "function".into(),
            Err(e) => format!("error {}", e.code),
        }
    }

    /// Through an array, a path maps over its items; on a scalar or a missing member it is
    /// undefined; an array at the end is the result as it is.
    #[test]
    fn names_only_paths_on_arrays_scalars_and_missing_members() {
        let x = serde_json::json!({"a": [{"b": 1}, {"b": [2, 3]}, {"c": 4}], "s": "t", "e": [5, 6]});
        let input = serde_json::json!({"a": {"b": {"c": 7}}});
        for (text, expect) in [
            ("$x.a.b", "sequence false [1,2,3]"),
            ("$x.s.b", "undefined"),
            ("$x.q", "undefined"),
            ("$x.e", "value [5,6]"),
            ("$.a.b.c", "value 7"),
            ("$$.a.b", "value {\"c\":7}"),
            // Locals: an object, a sequence (mapped over), a function (undefined).
            ("($v := $x; $v.s)", "value \"t\""),
            ("($v := $x.a.b; $v.q)", "undefined"),
            ("($v := $x.a; $v.b)", "sequence false [1,2,3]"),
            ("($f := function() { 1 }; $f.a)", "undefined"),
        ] {
            assert_eq!(run(text, &x, &input, true), expect, "{text}");
            assert_eq!(run(text, &x, &input, false), expect, "{text}");
        }
    }

    /// Predicates, wildcards, constructors, sorts, `[]` and group-by keep a path on the
    /// general evaluation.
    #[test]
    fn other_paths_are_not_names_only() {
        for text in [
            "$x.a[0]",
            "$x.a[b = 1].c",
            "$x.*",
            "$x.[a]",
            "$x.a[]",
            "$x.a{\"k\": b}",
            "$x.a^(b)",
            "$x.a.$string()",
            "a.b",
        ] {
            let mut expr = Expr::compile(text, &mut |n: &str| (n == "x").then_some(0)).expect("compiles");
            assert_eq!(set_names_only(&mut expr.root, false), 0, "{text}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]
        /// `$x.a.b`, `$.a.b` and `$$.a.b` give with the names-only evaluation what the general
        /// path evaluation gives, whatever they meet on the way.
        #[test]
        fn names_only_paths_match_the_general_evaluation(
            x in json(),
            input in json(),
            root in prop_oneof![Just("$x"), Just("$"), Just("$$")],
            names in proptest::collection::vec("[ab]", 1..4),
        ) {
            let text = format!("{root}.{}", names.join("."));
            prop_assert_eq!(run(&text, &x, &input, true), run(&text, &x, &input, false), "{}", text);
        }
    }
}
