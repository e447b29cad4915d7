//! Python callables as Task handlers. `fn(input) -> output` is called with the GIL held, only
//! for the call: the input is the Task's effective input as a Python value, the output any
//! JSON-able value. An `async def` handler's coroutine runs on the package's own event-loop
//! thread (`aslrt/_loop.py`) while the execution is suspended.
//!
//! As Lambda reports them: a handler raising `SomeError("msg")` fails the Task with error
//! `SomeError` and cause `msg`; one returning what `json.dumps` refuses fails it with
//! `Runtime.MarshalError`. An exception that is no `Exception` (KeyboardInterrupt, SystemExit)
//! raised in a handler running on the thread that called `execute` stops the execution and is
//! raised again by that call; on a pool worker or the event loop it fails the Task by its class
//! name, like any other.

use crate::json;
use aslrt::{ArenaExt, Cancel, TaskAnswer, TaskContext, TaskError, TaskHandler, Value};
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use std::cell::RefCell;

/// A Python callable as a Task handler.
pub struct PyHandler {
    f: Py<PyAny>,
    is_async: bool,
}

impl PyHandler {
    pub fn new(f: &Bound<'_, PyAny>) -> PyResult<PyHandler> {
        if !f.is_callable() {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "a handler must be callable, not {}",
                f.get_type().name()?
            )));
        }
        let is_async = json::helper(f.py(), "aslrt._loop", "is_async")?.call1((f,))?.is_truthy()?;
        Ok(PyHandler { f: f.clone().unbind(), is_async })
    }
}

thread_local! {
    /// The execution running on this thread from `StateMachine.execute`, to stop when a handler
    /// raises a BaseException, and the exception, raised again once the execution has stopped.
    static INTERRUPT: RefCell<(Option<Cancel>, Option<PyErr>)> = const { RefCell::new((None, None)) };
}

/// Runs `run` with `cancel` as this thread's execution, and gives what a handler raised that
/// must reach the caller (see the module's doc).
pub fn watching<T>(cancel: &Cancel, run: impl FnOnce() -> T) -> (T, Option<PyErr>) {
    // A handler may execute a machine on this thread: the outer execution's watch comes back
    // when the inner one's ends.
    let outer = INTERRUPT.with(|i| std::mem::replace(&mut *i.borrow_mut(), (Some(cancel.clone()), None)));
    let out = run();
    let (_, raised) = INTERRUPT.with(|i| std::mem::replace(&mut *i.borrow_mut(), outer));
    (out, raised)
}

/// What a raised exception makes of the Task: its class name and message, as Lambda reports a
/// Python handler's exception.
fn task_error(py: Python<'_>, e: PyErr) -> TaskError {
    let value = e.value(py);
    let name = value.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "Exception".into());
    let message = value.str().map(|s| s.to_string()).unwrap_or_default();
    if !e.is_instance_of::<PyException>(py) {
        // KeyboardInterrupt, SystemExit and the like: not the Task's failure but the caller's.
        INTERRUPT.with(|i| {
            let mut i = i.borrow_mut();
            if let Some(cancel) = &i.0 {
                cancel.cancel();
                i.1.get_or_insert(e);
            }
        });
    }
    TaskError { error: name.into(), cause: (!message.is_empty()).then(|| message.into()) }
}

fn marshal_error(py: Python<'_>, e: PyErr) -> TaskError {
    let why = e.value(py).str().map(|s| s.to_string()).unwrap_or_default();
    TaskError::new("Runtime.MarshalError", format!("Unable to marshal response: {why}"))
}

/// A Python value as JSON text, or the Task's failure.
fn output_json(v: &Bound<'_, PyAny>) -> Result<String, TaskError> {
    json::dumps(v).map_err(|e| marshal_error(v.py(), e))
}

impl TaskHandler for PyHandler {
    fn invoke<'a>(&self, input: Value<'a>, ctx: &TaskContext<'a>) -> Result<Value<'a>, TaskError> {
        match self.start(input, ctx) {
            TaskAnswer::Now(r) => r,
            _ => Err(TaskError::new("States.TaskFailed", "an async handler where only an answer now was possible")),
        }
    }

    fn start<'a>(&self, input: Value<'a>, ctx: &TaskContext<'a>) -> TaskAnswer<'a> {
        let text = input.to_json();
        Python::attach(|py| {
            let called = json::loads(py, &text).and_then(|arg| self.f.bind(py).call1((arg,)));
            let returned = match called {
                Ok(v) => v,
                Err(e) => return TaskAnswer::Now(Err(task_error(py, e))),
            };
            if self.is_async {
                return match later(&returned) {
                    Ok(f) => TaskAnswer::LaterText(f),
                    Err(e) => TaskAnswer::Now(Err(task_error(py, e))),
                };
            }
            TaskAnswer::Now(output_json(&returned).and_then(|json| {
                ctx.arena.parse_json(&json).map_err(|e| TaskError::new("Runtime.MarshalError", e.to_string()))
            }))
        })
    }

    fn may_defer(&self) -> bool {
        self.is_async
    }
}

/// What settles an async handler's Task: called by the event loop with the coroutine's
/// `asyncio.Task` once it is done.
#[pyclass]
struct Settle {
    tx: std::sync::Mutex<Option<tokio::sync::oneshot::Sender<Result<String, TaskError>>>>,
}

#[pymethods]
impl Settle {
    fn __call__(&self, py: Python<'_>, fut: &Bound<'_, PyAny>) {
        let answer = if fut.call_method0("cancelled").and_then(|c| c.is_truthy()).unwrap_or(true) {
            Err(TaskError::new("States.TaskFailed", "the handler's coroutine was cancelled"))
        } else {
            match fut.call_method0("result") {
                Ok(v) => output_json(&v),
                Err(e) => Err(task_error(py, e)),
            }
        };
        if let Some(tx) = self.tx.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = tx.send(answer);
        }
    }
}

/// Cancels the coroutine (`aslrt._loop.Scheduled`) when the Task stops waiting for it (timed
/// out, or the execution was stopped).
struct CancelOnDrop(Option<Py<PyAny>>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(fut) = self.0.take() {
            Python::attach(|py| {
                let _ = fut.bind(py).call_method0("cancel");
            });
        }
    }
}

/// The coroutine `coro` scheduled on the event-loop thread, as the Task's future: its answer
/// as the JSON text `json.dumps` wrote (never NaN), parsed once by the runtime.
fn later(coro: &Bound<'_, PyAny>) -> PyResult<aslrt::TextFuture> {
    let py = coro.py();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let settle = Py::new(py, Settle { tx: std::sync::Mutex::new(Some(tx)) })?;
    let fut = json::helper(py, "aslrt._loop", "schedule")?.call1((coro, settle))?;
    let guard = CancelOnDrop(Some(fut.unbind()));
    Ok(Box::pin(async move {
        let answer = rx.await;
        let mut guard = guard;
        guard.0 = None; // done: nothing to cancel
        match answer {
            Ok(answer) => answer,
            Err(_) => Err(TaskError::new("States.TaskFailed", "the handler's coroutine ended without an answer")),
        }
    }))
}
