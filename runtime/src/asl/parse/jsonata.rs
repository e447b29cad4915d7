//! JSONata fields: each `{% %}` expression compiled, its free variables resolved to slots,
//! and AWS's static restrictions checked.

use super::{jsonata_text, ptr, Parser};
use crate::asl::Diagnostic;
use crate::jsonata::compile::Node as JNode;
use crate::jsonata::{Expr, JTemplate};
use crate::value::Const;
use serde_json::Value as Json;
use std::sync::Arc;

impl Parser {
    /// Compiles a JSONata expression; `field` names it as AWS does in errors (`Output/a`).
    pub(super) fn jsonata_expr(&mut self, text: &str, field: &str, at: &str) -> Option<Arc<Expr>> {
        let mut vars = std::mem::take(&mut self.vars);
        let mut resolve = |name: &str| -> Option<u32> {
            Some(match vars.iter().position(|v| v == name) {
                Some(i) => i as u32,
                None => {
                    vars.push(name.to_owned());
                    (vars.len() - 1) as u32
                }
            })
        };
        let compiled = Expr::compile(text, &mut resolve);
        self.vars = vars;
        match compiled {
            Ok(e) => {
                let mut problems = Vec::new();
                top_level_references(e.root(), true, &mut problems);
                for m in problems {
                    self.diag("UNSUPPORTED_JSONATA_EXPRESSION", at, m);
                }
                if text.contains("$states.errorOutput") && !field.contains("Catch[") {
                    self.diag("UNSUPPORTED_JSONATA_EXPRESSION", at, "Field '$states.errorOutput' does not exist.");
                }
                Some(Arc::new(e))
            }
            Err(e) => {
                self.diags.push(Diagnostic {
                    code: "INVALID_JSONATA_EXPRESSION",
                    location: at.to_owned(),
                    message: e.message,
                    note: Some(format!("{} at offset {} of '{text}'", e.code, e.at)),
                });
                None
            }
        }
    }

    /// A JSONata-mode value: `{% %}` strings (at any depth) are expressions. `at` points at the
    /// value; a diagnostic points at the member or element holding the expression.
    pub(super) fn jtemplate(&mut self, v: &Json, field: &str, at: &str) -> JTemplate {
        match v {
            Json::String(s) => match jsonata_text(s) {
                Some(text) => match self.jsonata_expr(text, field, at) {
                    Some(expr) => JTemplate::Expr { expr, field: field.to_owned() },
                    None => JTemplate::Const(Const::Null),
                },
                None => JTemplate::Const(Const::Str(s.as_str().into())),
            },
            Json::Object(members) => {
                let out: Vec<(String, JTemplate)> = members
                    .iter()
                    .map(|(k, x)| (k.clone(), self.jtemplate(x, &format!("{field}/{k}"), &ptr(at, k))))
                    .collect();
                if out.iter().all(|(_, t)| matches!(t, JTemplate::Const(_))) {
                    JTemplate::Const(Const::from_serde(v))
                } else {
                    JTemplate::Object(out)
                }
            }
            Json::Array(items) => {
                let out: Vec<JTemplate> = items
                    .iter()
                    .enumerate()
                    .map(|(i, x)| self.jtemplate(x, &format!("{field}[{i}]"), &format!("{at}/{i}")))
                    .collect();
                if out.iter().all(|t| matches!(t, JTemplate::Const(_))) {
                    JTemplate::Const(Const::from_serde(v))
                } else {
                    JTemplate::Array(out)
                }
            }
            other => JTemplate::Const(Const::from_serde(other)),
        }
    }
}

/// AWS's static restrictions on JSONata: no field name or `$` at the top level of an expression
/// (where there is no input), and no `$$` at all. Predicates, group-by and sort terms have a
/// context item, so names there are fine; a lambda body keeps its outer context.
fn top_level_references(n: &JNode, top: bool, out: &mut Vec<String>) {
    use crate::jsonata::compile::ArrayItem;
    let walk = |x: &JNode, t: bool, out: &mut Vec<String>| top_level_references(x, t, out);
    match n {
        JNode::Root => out.push("Reference to '$$' is not supported.".into()),
        JNode::Context if top => out.push("Reference to '$' at the top level is not supported.".into()),
        JNode::Name(name) if top => out.push(format!("Reference to '{name}' at the top level is not supported.")),
        JNode::Wildcard | JNode::Descendants if top => {
            out.push("Reference to '*' at the top level is not supported.".into())
        }
        JNode::Path(p) => {
            for (i, step) in p.steps.iter().enumerate() {
                walk(&step.node, top && i == 0, out);
                for stage in step.stages.iter() {
                    walk(stage, false, out);
                }
                if let Some(terms) = &step.sort {
                    terms.iter().for_each(|(t, _)| walk(t, false, out));
                }
            }
            if let Some(g) = &p.group {
                for (k, v) in g.iter() {
                    walk(k, false, out);
                    walk(v, false, out);
                }
            }
        }
        JNode::Neg(x) | JNode::Bind(_, x) => walk(x, top, out),
        JNode::Binary(_, l, r) | JNode::Chain(l, r) => {
            walk(l, top, out);
            walk(r, top, out);
        }
        JNode::Array(items) => {
            for it in items.iter() {
                match it {
                    ArrayItem::Nested(x) | ArrayItem::Item(x) => walk(x, top, out),
                    ArrayItem::Range(a, b) => {
                        walk(a, top, out);
                        walk(b, top, out);
                    }
                }
            }
        }
        JNode::Object(lhs, pairs) => {
            let inner = match lhs {
                Some(l) => {
                    walk(l, top, out);
                    false
                }
                None => top,
            };
            for (k, v) in pairs.iter() {
                walk(k, inner, out);
                walk(v, inner, out);
            }
        }
        JNode::Block(items) => items.iter().for_each(|x| walk(x, top, out)),
        JNode::Cond(c, t, e) => {
            walk(c, top, out);
            walk(t, top, out);
            if let Some(e) = e {
                walk(e, top, out);
            }
        }
        JNode::Lambda(l) => walk(&l.body, top, out),
        JNode::Call(f, args) => {
            walk(f, top, out);
            args.iter().for_each(|x| walk(x, top, out));
        }
        JNode::CallBuiltin(_, args) => args.iter().for_each(|x| walk(x, top, out)),
        JNode::Filter(x, preds) => {
            walk(x, top, out);
            preds.iter().for_each(|p| walk(p, false, out));
        }
        _ => {}
    }
}
