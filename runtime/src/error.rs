//! [`Error`]: why a definition could not be turned into a [`crate::StateMachine`].

use crate::asl::Diagnostic;

/// An error from the API (not an execution failure: those are [`crate::Outcome`]s).
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
}

#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The definition did not validate: every problem found, `{"StartAt": "Nope", …}` gives
    /// `MISSING_TRANSITION_TARGET` at `/StartAt`.
    InvalidDefinition(Vec<Diagnostic>),
    /// A compiler bug: validation accepted something the compiler could not compile.
    Internal(String),
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Error {
        Error { kind }
    }

    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The diagnostics of an invalid definition (empty for other errors).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match &self.kind {
            ErrorKind::InvalidDefinition(d) => d,
            ErrorKind::Internal(_) => &[],
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            ErrorKind::InvalidDefinition(d) => {
                // AWS's CreateStateMachine wording.
                write!(f, "Invalid State Machine Definition: '")?;
                for (i, diag) in d.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{diag}")?;
                }
                write!(f, "'")
            }
            ErrorKind::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for Error {}
