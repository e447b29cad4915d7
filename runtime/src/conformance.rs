//! The conformance runner: cases recorded against AWS (`../shared/conformance`, JSON lines), run
//! and compared as AWS recorded them. Used by `aslrt conformance` and by the test suite.
// Internal (reached by the crate's own tools through `internal`): documented where it helps,
// not item by item.
#![allow(missing_docs)]

use crate::common::Status;
use crate::config::{Clock, Config};
use crate::exec::Runtime;
use crate::handler::{Echo, Handlers, Raise, Return, TaskAnswer, TaskContext, TaskError, TaskHandler};
use crate::machine::{Outcome, StateMachine};
use crate::value::{Const, Value};
use serde_json::Value as Json;

/// One case of the corpus.
#[derive(Debug, Clone)]
pub struct Case {
    pub id: String,
    pub definition: Json,
    pub input: Json,
    pub expect: Json,
    pub tags: Vec<String>,
    pub handlers: Option<Json>,
}

impl Case {
    /// Parses one line of a `.jsonl` corpus file.
    pub fn from_json_line(line: &str) -> Result<Case, String> {
        let v: Json = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
        let field = |k: &str| v.get(k).cloned().ok_or_else(|| format!("missing field '{k}'"));
        Ok(Case {
            id: v.get("id").and_then(Json::as_str).ok_or("missing field 'id'")?.to_owned(),
            definition: field("definition")?,
            input: field("input")?,
            expect: field("expect")?,
            tags: v
                .get("tags")
                .and_then(Json::as_array)
                .map(|t| t.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
                .unwrap_or_default(),
            handlers: v.get("handlers").cloned(),
        })
    }
}

/// Builds a handler registry from the corpus' specs (`{"kind": "echo" | "return" | "raise"}`).
pub fn handlers_from_specs(specs: &Json) -> Result<Handlers, String> {
    let mut h = Handlers::new();
    let Some(map) = specs.as_object() else {
        return Err("handler specs must be a JSON object".into());
    };
    for (resource, spec) in map {
        add_spec(&mut h, resource, spec)?;
    }
    Ok(h)
}

/// Adds one handler from a spec of the corpus: `{"kind": "echo"}`, `{"kind": "return", "value":
/// …}` or `{"kind": "raise", "error": …, "cause": …}`.
pub fn add_spec(h: &mut Handlers, resource: &str, spec: &Json) -> Result<(), String> {
    match spec.get("kind").and_then(Json::as_str) {
        Some("echo") => {
            h.insert(resource, Echo);
        }
        Some("return") => {
            h.insert(resource, Return(Const::from_serde(spec.get("value").unwrap_or(&Json::Null))));
        }
        Some("raise") => {
            // An error name the Task fails with: a Catch or Retry could never name an empty one.
            let error = match spec.get("error") {
                None => "Exception",
                Some(Json::String(e)) if !e.is_empty() => e,
                Some(_) => {
                    return Err(format!(
                        "handler spec for '{resource}': \"error\" must be a non-empty string (the error name the Task fails with)"
                    ))
                }
            }
            .to_owned();
            let cause = match spec.get("cause") {
                None | Some(Json::Null) => None,
                Some(Json::String(c)) => Some(c.clone()),
                Some(_) => return Err(format!("handler spec for '{resource}': \"cause\" must be a string")),
            };
            h.insert(resource, Raise(TaskError { error: error.into(), cause: cause.map(Into::into) }));
        }
        other => return Err(format!("unknown handler kind {other:?} for '{resource}' (echo, return, raise)")),
    }
    Ok(())
}

/// The verdict on one case.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub passed: bool,
    pub got: Json,
}

/// Runs a case on a virtual clock and compares it with what AWS recorded.
pub fn run_case(case: &Case) -> Verdict {
    run_case_with(case, true)
}

/// [`run_case`], optimised or on the unoptimised reference program.
pub fn run_case_with(case: &Case, optimize: bool) -> Verdict {
    verdict(case, run_definition(case, &case.definition, optimize))
}

/// The verdict on `outcome` (or the definition error that stopped the case) for `case`.
pub fn verdict(case: &Case, outcome: Result<Outcome, String>) -> Verdict {
    let got = match outcome {
        Ok(o) => o.to_json(),
        Err(e) => serde_json::json!({"status": "DEFINITION_ERROR", "error": e}),
    };
    Verdict { passed: matches(&case.expect, &got), got }
}

/// Runs `definition` (the case's own, or a variant of it) on the case's input and handlers, on a
/// virtual clock with a fixed seed.
pub fn run_definition(case: &Case, definition: &Json, optimize: bool) -> Result<Outcome, String> {
    let handlers = match &case.handlers {
        Some(specs) => handlers_from_specs(specs)?,
        None => Handlers::new(),
    };
    Ok(compile_case(definition, handlers, optimize)?.execute_json(&case.input))
}

/// A case's definition compiled as the runner runs it: on a virtual clock, with a fixed seed.
fn compile_case(definition: &Json, handlers: Handlers, optimize: bool) -> Result<StateMachine, String> {
    let config = Config { clock: Clock::Virtual { start_millis: None }, seed: Some(0), ..Config::default() };
    StateMachine::builder()
        .optimize(optimize)
        .handlers(handlers)
        .config(config)
        .compile(&definition.to_string())
        .map_err(|e| e.to_string())
}

/// [`run_definition`] under a [`Runtime`] (`execute_async`), with every handler answering
/// later ([`TaskAnswer::Later`]): each Task suspends the execution, which goes on from where it
/// stopped when the answer comes. Every suspended execution is packed while it waits, as one
/// that waits long is, and read back when it runs again. The outcome must be the same as in
/// one synchronous run.
pub fn run_definition_suspending(case: &Case, definition: &Json, optimize: bool) -> Result<Outcome, String> {
    static RUNTIME: std::sync::OnceLock<Runtime> = std::sync::OnceLock::new();
    run_under(&RUNTIME, false, case, definition, optimize)
}

/// [`run_definition_suspending`] with every run of a suspended execution replaying it from
/// its start ([`crate::RuntimeBuilder::replay_from_start`]) instead of going on from the
/// state it stopped in: the outcome must be the same.
pub fn run_definition_replaying(case: &Case, definition: &Json, optimize: bool) -> Result<Outcome, String> {
    static RUNTIME: std::sync::OnceLock<Runtime> = std::sync::OnceLock::new();
    run_under(&RUNTIME, true, case, definition, optimize)
}

fn run_under(
    runtime: &std::sync::OnceLock<Runtime>,
    from_start: bool,
    case: &Case,
    definition: &Json,
    optimize: bool,
) -> Result<Outcome, String> {
    let mut handlers = Handlers::new();
    if let Some(specs) = &case.handlers {
        let specs = specs.as_object().ok_or("handler specs must be a JSON object")?;
        for (resource, spec) in specs {
            let mut one = Handlers::new();
            add_spec(&mut one, resource, spec)?;
            let inner = one.get(resource).cloned().ok_or("a handler spec added nothing")?;
            handlers.insert(resource.as_str(), Later(inner));
        }
    }
    let machine = compile_case(definition, handlers, optimize)?;
    let runtime = runtime.get_or_init(|| {
        let mut builder = Runtime::builder().threads(2).replay_from_start(from_start);
        builder.pack_every_wait = true;
        builder.build().expect("a runtime of two workers starts")
    });
    let event = serde_json::to_vec(&case.input).map_err(|e| e.to_string())?;
    Ok(runtime.execute_async(&machine, event).wait())
}

/// A handler that answers later: the answer is made at the call and handed over as a future
/// that is not ready when first polled, so that the execution suspends.
pub struct Later(pub std::sync::Arc<dyn TaskHandler>);

/// Pending when first polled (waking its task at once), then ready.
struct YieldOnce(bool);

impl std::future::Future for YieldOnce {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if std::mem::replace(&mut self.0, true) {
            std::task::Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
}

impl TaskHandler for Later {
    fn invoke<'a>(&self, input: Value<'a>, ctx: &TaskContext<'a>) -> Result<Value<'a>, TaskError> {
        self.0.invoke(input, ctx)
    }

    fn start<'a>(&self, input: Value<'a>, ctx: &TaskContext<'a>) -> TaskAnswer<'a> {
        let answer = self.0.invoke(input, ctx).map(|v| v.to_serde());
        TaskAnswer::Later(Box::pin(async move {
            YieldOnce(false).await;
            answer
        }))
    }

    fn may_defer(&self) -> bool {
        true
    }
}

/// Compares an outcome with the recorded expectation: status and error exactly, output as a
/// JSON value (numbers by value), cause exactly or against `cause_pattern` with `<…>` wildcards.
pub fn matches(expect: &Json, got: &Json) -> bool {
    if expect.get("status") != got.get("status") {
        return false;
    }
    if expect.get("status").and_then(Json::as_str) == Some(Status::Succeeded.as_str()) {
        return json_eq(expect.get("output").unwrap_or(&Json::Null), got.get("output").unwrap_or(&Json::Null));
    }
    if expect.get("error").unwrap_or(&Json::Null) != got.get("error").unwrap_or(&Json::Null) {
        return false;
    }
    let got_cause = got.get("cause").unwrap_or(&Json::Null);
    if let Some(pattern) = expect.get("cause_pattern").and_then(Json::as_str) {
        return got_cause.as_str().is_some_and(|c| pattern_matches(pattern, c));
    }
    expect.get("cause").unwrap_or(&Json::Null) == got_cause
}

/// JSON equality with numbers compared by value.
pub fn json_eq(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Json::Array(x), Json::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q)),
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// `<token>` in `pattern` matches any text.
pub fn pattern_matches(pattern: &str, text: &str) -> bool {
    let mut parts: Vec<&str> = Vec::new();
    let mut rest = pattern;
    while let Some(open) = rest.find('<') {
        match rest[open..].find('>') {
            Some(close) => {
                parts.push(&rest[..open]);
                rest = &rest[open + close + 1..];
            }
            None => break,
        }
    }
    parts.push(rest);
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut pos = 0;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            if !text.starts_with(part) {
                return false;
            }
            pos = part.len();
        } else if i == parts.len() - 1 {
            return text.len() >= pos + part.len() && text[pos..].ends_with(part);
        } else {
            match text[pos..].find(part) {
                Some(at) => pos += at + part.len(),
                None => return false,
            }
        }
    }
    true
}
