//! [`JTemplate`]: a JSONata-mode field's value, JSON in which strings `{% … %}` are
//! expressions.

use super::Expr;
use crate::value::Const;
use std::sync::Arc;

/// A JSONata-mode value: JSON in which a string `{% … %}` is an expression.
#[derive(Clone, Debug)]
pub enum JTemplate {
    Const(Const),
    /// `field` is where it stands, as AWS names it in errors: `Output/a/b[0]`.
    Expr {
        expr: Arc<Expr>,
        field: String,
    },
    Object(Vec<(String, JTemplate)>),
    Array(Vec<JTemplate>),
}

impl JTemplate {
    /// Whether an expression in it may read `$states` beyond `members` (each with its leading
    /// dot: `.input`, `.context.Map`): some `$states` in its text is followed by none of them
    /// as a whole name (`$states.*`, `$states` whole, `$lookup($states, …)` are beyond all).
    pub fn reads_states_beyond(&self, members: &[&str]) -> bool {
        match self {
            JTemplate::Const(_) => false,
            JTemplate::Expr { expr, .. } => {
                let text = expr.text();
                text.match_indices("$states").any(|(i, m)| {
                    let after = &text[i + m.len()..];
                    !members.iter().any(|member| {
                        after
                            .strip_prefix(member)
                            .is_some_and(|rest| !rest.starts_with(|c: char| c.is_alphanumeric() || c == '_'))
                    })
                })
            }
            JTemplate::Object(m) => m.iter().any(|(_, x)| x.reads_states_beyond(members)),
            JTemplate::Array(v) => v.iter().any(|x| x.reads_states_beyond(members)),
        }
    }
}
