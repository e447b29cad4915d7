//! [`Error`]: why a definition could not be turned into a [`crate::StateMachine`], or a
//! [`crate::Runtime`] could not start.

use crate::asl::Diagnostic;

/// Why a definition could not be compiled, or a [`crate::Runtime`] could not start. Executions
/// do not fail with an `Error`: their failures are [`crate::Outcome`]s, as AWS records them.
///
/// # Example
///
/// ```
/// use aslrt::{ErrorKind, StateMachine};
///
/// let err = StateMachine::compile(r#"{"StartAt": "Nope", "States": {"A": {"Type": "Succeed"}}}"#).unwrap_err();
/// assert!(matches!(err.kind(), ErrorKind::InvalidDefinition(_)));
/// let d = &err.diagnostics()[0];
/// assert_eq!((d.code, d.location.as_str()), ("MISSING_TRANSITION_TARGET", "/StartAt"));
/// ```
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
}

/// What kind of [`Error`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The definition did not validate: every problem found, as AWS's
    /// ValidateStateMachineDefinition reports it (`{"StartAt": "Nope", …}` gives
    /// `MISSING_TRANSITION_TARGET` at `/StartAt`).
    InvalidDefinition(Vec<Diagnostic>),
    /// The definition is valid but too large for the compiled form: more than 65,536 states in
    /// one machine, or constants, paths or other entries of one kind, or more than 65,535
    /// members of one template. The message says which.
    DefinitionTooLarge(String),
    /// A bug in aslrt: validation accepted what the compiler could not compile, or the compiled
    /// program failed its verification. Please report it with the definition.
    Internal(String),
    /// A [`crate::Runtime`] could not start: more workers asked for than
    /// [`crate::Runtime::MAX_THREADS`], or the system refused a thread. The message says which.
    Start(String),
    /// [`crate::Runtime::try_execute_async`] or [`crate::Runtime::try_submit`] found as many
    /// executions in flight as the runtime's bound allows; the event was not run.
    Busy(String),
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Error {
        Error { kind }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The diagnostics of an invalid definition, every problem found (empty for other errors).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match &self.kind {
            ErrorKind::InvalidDefinition(d) => d,
            _ => &[],
        }
    }
}

impl From<crate::compile::CompileError> for Error {
    fn from(e: crate::compile::CompileError) -> Error {
        match e {
            crate::compile::CompileError::TooLarge(what) => Error::new(ErrorKind::DefinitionTooLarge(what)),
            crate::compile::CompileError::Internal(what) => Error::new(ErrorKind::Internal(what)),
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
            ErrorKind::DefinitionTooLarge(m) => write!(f, "the definition is too large: {m}"),
            ErrorKind::Internal(m) => write!(f, "internal error (a bug in aslrt): {m}"),
            ErrorKind::Start(m) => write!(f, "the runtime could not start: {m}"),
            ErrorKind::Busy(m) => write!(f, "the runtime is busy: {m}"),
        }
    }
}

impl std::error::Error for Error {}
