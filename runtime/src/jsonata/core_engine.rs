//! The jsonata-core crate as an alternative JSONata engine, for the engine comparison
//! (feature `engine-jsonata-core`). Each evaluation converts `$states` and the workflow
//! variables into jsonata-core values and the result back: deep copies the built-in engine
//! does not make.

use crate::value::{Const, Value};
use bumpalo::Bump;
use jsonata_core::evaluator::{Context, Evaluator, EvaluatorError};
use jsonata_core::value::JValue;
use std::cell::Cell;

/// A parsed jsonata-core expression.
#[derive(Debug)]
pub struct CoreExpr(jsonata_core::ast::AstNode);

// SAFETY-free: the AST holds no shared mutable state; it is only read by evaluators.
impl CoreExpr {
    pub fn parse(text: &str) -> Option<CoreExpr> {
        jsonata_core::parser::parse(text).ok().map(CoreExpr)
    }
}

fn to_jvalue(v: &Value<'_>) -> JValue {
    JValue::from(v.to_serde())
}

fn err(message: String) -> EvaluatorError {
    EvaluatorError::EvaluationError(message)
}

/// Registers the functions AWS adds.
fn register(ev: &mut Evaluator) {
    let serde = |v: &JValue| serde_json::Value::from(v);
    let _ = ev.register_fn("partition", move |args: &[JValue]| {
        let (Some(serde_json::Value::Array(items)), Some(size)) = (args.first().map(serde), args.get(1).map(serde))
        else {
            return Err(err("T0410: Argument 1 of function \"partition\" does not match function signature".into()));
        };
        let size = size.as_f64().filter(|s| *s >= 1.0).ok_or_else(|| err("D3137: invalid chunk size".into()))? as usize;
        let chunks: Vec<serde_json::Value> = items.chunks(size).map(|c| serde_json::Value::Array(c.to_vec())).collect();
        Ok(JValue::from(serde_json::Value::Array(chunks)))
    });
    let _ = ev.register_fn_override("range", move |args: &[JValue]| {
        let n = |i: usize| args.get(i).map(serde).and_then(|v| v.as_f64()).map(|f| f as i64);
        let (Some(start), Some(end)) = (n(0), n(1)) else { return Ok(JValue::Undefined) };
        let step = n(2).unwrap_or(1);
        if step == 0 {
            return Ok(JValue::Undefined);
        }
        let mut out = Vec::new();
        let mut i = start;
        while (step > 0 && i <= end) || (step < 0 && i >= end) {
            out.push(serde_json::Value::from(i));
            i += step;
        }
        Ok(JValue::from(serde_json::Value::Array(out)))
    });
    let _ = ev.register_fn("parse", move |args: &[JValue]| match args.first().map(serde) {
        Some(serde_json::Value::String(s)) => serde_json::from_str::<serde_json::Value>(&s)
            .map(JValue::from)
            .map_err(|_| err("D3137: Invalid JSON".into())),
        _ => Ok(JValue::Undefined),
    });
}

/// The error code standing for "the result is a function".
pub const FUNCTION: &str = "function";

/// Evaluates `expr` with `$states` and the workflow variables of `vars` (names by slot).
pub fn eval<'a>(
    arena: &'a Bump,
    expr: &CoreExpr,
    vars: &[Cell<super::JV<'a>>],
    names: &[Box<str>],
) -> Result<Option<Value<'a>>, (String, String)> {
    let mut ctx = Context::new();
    for (slot, cell) in vars.iter().enumerate() {
        if let Some(v) = cell.get().to_value() {
            ctx.bind(names.get(slot).map_or("states", |n| n).to_owned(), to_jvalue(&v));
        }
    }
    let mut ev = Evaluator::with_context(ctx);
    register(&mut ev);
    match ev.evaluate(&expr.0, &JValue::Undefined) {
        Ok(JValue::Undefined) => Ok(None),
        Ok(JValue::Lambda(_) | JValue::Builtin { .. }) => Err((FUNCTION.to_owned(), String::new())),
        Ok(v) => {
            let json: serde_json::Value = serde_json::Value::from(&v);
            let c: &'a Const = arena.alloc(Const::from_serde(&json));
            Ok(Some(copy(arena, c)))
        }
        Err(e) => {
            let text = e.to_string();
            let (code, message) =
                text.split_once(": ").map_or(("D3137".to_owned(), text.clone()), |(c, m)| (c.to_owned(), m.to_owned()));
            Err((code, message))
        }
    }
}

fn copy<'a>(arena: &'a Bump, c: &Const) -> Value<'a> {
    use crate::value::ArenaExt;
    match c {
        Const::Null => Value::Null,
        Const::Bool(b) => Value::Bool(*b),
        Const::Int(i) => Value::Int(*i),
        // jsonata-core numbers are all f64; integral ones print as integers, as in JSONata.
        Const::Float(f) => super::eval::num_value(*f),
        Const::Str(s) => arena.string(s),
        Const::Array(items) => arena.array(items.iter().map(|x| copy(arena, x))),
        Const::Object(m) => arena.object(m.iter().map(|(k, x)| (&*arena.alloc_str(k), copy(arena, x)))),
    }
}
