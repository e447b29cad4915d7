//! The Amazon States Language front end: JSON text → validated, typed [`Definition`], in two
//! steps that each report every problem they find as a [`Diagnostic`]:
//!
//! - [`read()`] (`parse/`): each field read and checked on its own, by state kind (`state.rs`,
//!   `task.rs`, `choice.rs`), JSONata expressions compiled (`jsonata.rs`), workflow variables
//!   resolved to slots (`resolve.rs`), payload templates compiled (`asl/template.rs`);
//! - [`validate()`] (`validate.rs`): the checks of the whole graph: transition targets,
//!   reachability, terminal states, variable scopes.
//!
//! [`parse()`] runs both.
// Internal (reached by the crate's own tools through `internal`): documented where it helps,
// not item by item.
#![allow(missing_docs)]

pub mod ast;
mod parse;
pub mod template;
mod validate;

pub use ast::Definition;
pub use parse::read;
pub use template::{compile_template, Template};
pub use validate::validate;

/// Reads and validates a definition: `Err` holds every diagnostic of both steps.
pub fn parse(text: &str) -> Result<Definition, Vec<Diagnostic>> {
    let (definition, mut diagnostics) = read(text)?;
    diagnostics.extend(validate(&definition));
    if diagnostics.is_empty() {
        Ok(definition)
    } else {
        Err(diagnostics)
    }
}

/// One problem found in a definition, as AWS's ValidateStateMachineDefinition reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
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
