//! Payload templates (`Parameters`, `ItemSelector`, `ResultSelector`): JSON with `"key.$"` members
//! whose values are paths or intrinsic calls, compiled once into a [`Template`].

use super::{parse_path, Path};
use crate::intrinsics::{parse_call, Call};
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

/// Compiles a template, reporting each bad `.$` member as `(pointer suffix, message)`.
pub fn compile_template(
    v: &serde_json::Value,
    at: &str,
    problems: &mut Vec<(String, String)>,
) -> Template {
    match v {
        serde_json::Value::Object(members) => {
            let mut out = Vec::with_capacity(members.len());
            for (k, x) in members {
                let here = format!("{at}/{}", escape_pointer(k));
                if let Some(name) = k.strip_suffix(".$") {
                    let t = match x {
                        serde_json::Value::String(expr) => {
                            compile_dynamic(expr, k, &here, problems)
                        }
                        _ => {
                            problems.push((here, format!("the value of '{k}' must be a string holding a path or an intrinsic function")));
                            Template::Const(Const::Null)
                        }
                    };
                    out.push((name.into(), t));
                } else {
                    out.push((k.as_str().into(), compile_template(x, &here, problems)));
                }
            }
            if out.iter().all(|(_, t)| matches!(t, Template::Const(_))) {
                Template::Const(Const::from_serde(v))
            } else {
                Template::Object(out.into())
            }
        }
        serde_json::Value::Array(items) => {
            let out: Vec<Template> = items
                .iter()
                .enumerate()
                .map(|(i, x)| compile_template(x, &format!("{at}/{i}"), problems))
                .collect();
            if out.iter().all(|t| matches!(t, Template::Const(_))) {
                Template::Const(Const::from_serde(v))
            } else {
                Template::Array(out.into())
            }
        }
        other => Template::Const(Const::from_serde(other)),
    }
}

fn compile_dynamic(
    expr: &str,
    field: &str,
    at: &str,
    problems: &mut Vec<(String, String)>,
) -> Template {
    let trimmed = expr.trim();
    if trimmed.starts_with("States.") {
        match parse_call(trimmed) {
            Ok(call) => Template::Call {
                call,
                field: field.into(),
            },
            Err(e) => {
                problems.push((
                    at.to_owned(),
                    format!("invalid intrinsic function in '{field}': {e}"),
                ));
                Template::Const(Const::Null)
            }
        }
    } else {
        match parse_path(expr) {
            Ok(path) => Template::Path {
                path,
                field: field.into(),
            },
            Err(e) => {
                problems.push((
                    at.to_owned(),
                    format!("the value of '{field}' is not a valid JSONPath ('{expr}'): {e}"),
                ));
                Template::Const(Const::Null)
            }
        }
    }
}

/// Escapes a key for a JSON pointer (RFC 6901).
pub fn escape_pointer(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}
