//! The handlers of offline runs (`--handler RESOURCE=SPEC`, `--handlers FILE`): a Task's result
//! given on the command line, for trying a definition without its real services.
//!
//! A spec is one of
//! - `echo`: returns the Task's input;
//! - `return:<json>`: returns the JSON value;
//! - `raise:<error>[:<cause>]`: fails with that error name and cause.
//!
//! A handlers file is a JSON object from resource to spec, each spec either such a string or
//! the corpus form `{"kind": "echo"}`, `{"kind": "return", "value": …}`,
//! `{"kind": "raise", "error": …, "cause": …}`. For `arn:aws:states:::lambda:invoke`, the
//! resource is the `FunctionName`.

use aslrt::internal::conformance::add_spec;
use aslrt::internal::handler::{Echo, Raise, Return};
use aslrt::internal::value::Const;
use aslrt::{Handlers, TaskError};

/// Adds the handlers of a handlers file: `text` is its content, `file` its name for errors.
pub fn add_file(handlers: &mut Handlers, file: &str, text: &str) -> Result<(), String> {
    let specs: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("{file}: not JSON: {e}"))?;
    let map = specs.as_object().ok_or_else(|| format!("{file}: must hold a JSON object, resource → spec"))?;
    for (resource, spec) in map {
        add(handlers, resource, spec).map_err(|e| format!("{file}: {e}"))?;
    }
    Ok(())
}

/// Adds the handler of one spec, in either form.
pub fn add(handlers: &mut Handlers, resource: &str, spec: &serde_json::Value) -> Result<(), String> {
    match spec.as_str() {
        Some(short) => add_short(handlers, resource, short),
        None => add_spec(handlers, resource, spec),
    }
}

/// Adds the handler of a short spec: `echo`, `return:<json>`, `raise:<error>[:<cause>]`.
pub fn add_short(handlers: &mut Handlers, resource: &str, spec: &str) -> Result<(), String> {
    if spec == "echo" {
        handlers.insert(resource, Echo);
    } else if let Some(json) = spec.strip_prefix("return:") {
        let v: serde_json::Value = serde_json::from_str(json).map_err(|e| format!("return:{json}: not JSON: {e}"))?;
        handlers.insert(resource, Return(Const::from_serde(&v)));
    } else if let Some(rest) = spec.strip_prefix("raise:").filter(|r| !r.is_empty() && !r.starts_with(':')) {
        let (error, cause) = match rest.split_once(':') {
            Some((e, c)) => (e.to_owned(), Some(c.to_owned())),
            None => (rest.to_owned(), None),
        };
        handlers.insert(resource, Raise(TaskError { error: error.into(), cause: cause.map(Into::into) }));
    } else {
        return Err(format!(
            "unknown handler spec '{spec}' for '{resource}': echo, return:<json>, or raise:<error>[:<cause>] with an error name"
        ));
    }
    Ok(())
}
