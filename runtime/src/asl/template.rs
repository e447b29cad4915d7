//! Payload templates (`Parameters`, `ItemSelector`, `ResultSelector`): JSON with `"key.$"` members
//! whose values are paths or intrinsic calls, compiled once into a [`Template`].

use crate::intrinsics::{parse_call, Call};
use crate::path::{parse_path, Path};
use crate::value::Const;

#[derive(Clone, Debug, PartialEq)]
pub enum Template {
    /// A sub-tree with no `.$` member anywhere: materialized as it is.
    Const(Const),
    /// `"key.$": "$.path"`; `field` is the key as written (`key.$`), for error messages.
    Path {
        path: Path,
        field: Box<str>,
    },
    /// `"key.$": "States.Format(…)"`.
    Call {
        call: Call,
        field: Box<str>,
    },
    Object(Box<[(Box<str>, Template)]>),
    Array(Box<[Template]>),
}

/// A `.$` member whose value is neither a path nor an intrinsic call.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// The key as written (`key.$`).
    pub field: String,
    /// Where the member is within the template, as a JSON pointer (`/outer/key.$`).
    pub pointer: String,
    /// The value as written.
    pub expr: String,
    /// What the parser found wrong.
    pub detail: String,
}

/// Compiles a template, reporting each bad `.$` member.
pub fn compile_template(v: &serde_json::Value, problems: &mut Vec<Problem>) -> Template {
    compile_at(v, "", problems)
}

/// Compiles the part of a template at `pointer`.
fn compile_at(v: &serde_json::Value, pointer: &str, problems: &mut Vec<Problem>) -> Template {
    match v {
        serde_json::Value::Object(members) => {
            let mut out = Vec::with_capacity(members.len());
            for (k, x) in members {
                let here = format!("{pointer}/{}", escape_pointer(k));
                if let Some(name) = k.strip_suffix(".$") {
                    let t = match x {
                        serde_json::Value::String(expr) => compile_dynamic(expr, k, &here, problems),
                        other => {
                            problems.push(Problem {
                                field: k.clone(),
                                pointer: here,
                                expr: other.to_string(),
                                detail: "the value must be a string".into(),
                            });
                            Template::Const(Const::Null)
                        }
                    };
                    out.push((name.into(), t));
                } else {
                    out.push((k.as_str().into(), compile_at(x, &here, problems)));
                }
            }
            if out.iter().all(|(_, t)| matches!(t, Template::Const(_))) {
                Template::Const(Const::from_serde(v))
            } else {
                Template::Object(out.into())
            }
        }
        serde_json::Value::Array(items) => {
            let out: Vec<Template> =
                items.iter().enumerate().map(|(i, x)| compile_at(x, &format!("{pointer}/{i}"), problems)).collect();
            if out.iter().all(|t| matches!(t, Template::Const(_))) {
                Template::Const(Const::from_serde(v))
            } else {
                Template::Array(out.into())
            }
        }
        other => Template::Const(Const::from_serde(other)),
    }
}

fn compile_dynamic(expr: &str, field: &str, pointer: &str, problems: &mut Vec<Problem>) -> Template {
    let trimmed = expr.trim();
    let problem = |detail: String| Problem {
        field: field.to_owned(),
        pointer: pointer.to_owned(),
        expr: expr.to_owned(),
        detail,
    };
    if trimmed.starts_with("States.") {
        match parse_call(trimmed) {
            Ok(call) => Template::Call { call, field: field.into() },
            Err(e) => {
                problems.push(problem(e.message));
                Template::Const(Const::Null)
            }
        }
    } else {
        match parse_path(expr) {
            Ok(path) => Template::Path { path, field: field.into() },
            Err(e) => {
                problems.push(problem(format!("'{expr}': {e}")));
                Template::Const(Const::Null)
            }
        }
    }
}

/// Escapes a key for a JSON pointer (RFC 6901).
pub fn escape_pointer(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}
