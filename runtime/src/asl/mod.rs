//! The Amazon States Language front end: JSON text → validated, typed [`Definition`].
// Internal (reached by the crate's own tools through `internal`): documented where it helps,
// not item by item.
#![allow(missing_docs)]

pub mod ast;
mod parse;
pub mod template;
mod validate;

pub use ast::Definition;
pub use parse::parse;
pub use template::{compile_template, Template};

/// One problem found in a definition, as AWS's ValidateStateMachineDefinition reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// AWS's code: `SCHEMA_VALIDATION_FAILED`, `MISSING_TRANSITION_TARGET`, …
    pub code: &'static str,
    /// JSON pointer to the offending node, `/States/Foo/Next`.
    pub location: String,
    /// What is wrong, in AWS's words where AWS has them.
    pub message: String,
    /// What exactly is wrong, where AWS's message does not say (a path's parse error).
    pub note: Option<String>,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} at {}",
            self.code,
            self.message,
            if self.location.is_empty() { "/" } else { &self.location }
        )?;
        if let Some(note) = &self.note {
            write!(f, " ({note})")?;
        }
        Ok(())
    }
}
