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
