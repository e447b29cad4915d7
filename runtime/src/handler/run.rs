//! Running an asynchronous handler's future: started with its panics caught; under a Runtime,
//! polled on the workers in the handlers' tokio context (once as it starts, then each time it
//! is woken: `exec/suspend.rs`); for the synchronous APIs, driven to completion on the calling thread as its
//! own tokio task within the Task's TimeoutSeconds.

use super::{AsyncTaskHandler, TaskError, TaskFuture, TaskInfo, TextFuture};
use std::cell::RefCell;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

thread_local! {
    /// On a `Runtime`'s worker: the tokio runtime its handlers' futures run on.
    static CONTEXT: RefCell<Option<tokio::runtime::Handle>> = const { RefCell::new(None) };
}

/// Makes `handle` the tokio runtime that [`poll_once`] polls in, on this thread.
pub(crate) fn set_context(handle: Option<tokio::runtime::Handle>) {
    CONTEXT.with_borrow_mut(|c| *c = handle);
}

/// A handler's future, boxed, giving `T` (a serde_json value or JSON text).
pub(crate) type Answering<T> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, TaskError>> + Send>>;

/// What a first poll of a handler's future gave.
pub(crate) enum Polled<T> {
    /// The answer, at once: the execution goes on without suspending.
    Ready(Result<T, TaskError>),
    /// Not yet: the future is awaited off the worker.
    Pending(Answering<T>),
}

/// Polls a handler's future once on this thread, inside the tokio runtime set by
/// [`set_context`] (so that `tokio::time` and `tokio::net` work), with a waker that does
/// nothing: a future that answers at once costs no suspension; one that does not is polled
/// again, with a real waker, once it is awaited. A panic in the poll fails the Task, with its
/// message. Without a runtime on this thread the future is not polled here.
pub(crate) fn poll_once<T>(fut: Answering<T>, resource: &str) -> Polled<T> {
    let Some(handle) = CONTEXT.with_borrow(Clone::clone) else { return Polled::Pending(fut) };
    let _entered = handle.enter();
    let mut fut = fut;
    let mut cx = Context::from_waker(Waker::noop());
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fut.as_mut().poll(&mut cx))) {
        Ok(Poll::Ready(r)) => Polled::Ready(r),
        Ok(Poll::Pending) => Polled::Pending(fut),
        Err(panic) => Polled::Ready(Err(super::panicked(resource, panic.as_ref()))),
    }
}

/// Polls a waiting handler's future on this thread, inside the tokio runtime set by
/// [`set_context`], with the waker of `cx`: its answer as JSON text once ready, a panic in the
/// poll a failure of the Task with its message.
pub(crate) fn poll_waiting(
    fut: &mut super::Waiting,
    cx: &mut Context<'_>,
    resource: &str,
) -> Poll<Result<String, TaskError>> {
    let handle = CONTEXT.with_borrow(Clone::clone);
    let _entered = handle.as_ref().map(tokio::runtime::Handle::enter);
    let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match fut {
        super::Waiting::Json(f) => f.as_mut().poll(cx).map(|r| r.map(|v| v.to_string())),
        super::Waiting::Text(f) => f.as_mut().poll(cx),
    }));
    polled.unwrap_or_else(|panic| Poll::Ready(Err(super::panicked(resource, panic.as_ref()))))
}

/// Drops a handler's future (its drop is the handler's code too), in the tokio runtime set by
/// [`set_context`]: a panic in the drop as the Task's failure.
pub(crate) fn drop_waiting(fut: super::Waiting, resource: &str) -> Result<(), TaskError> {
    let handle = CONTEXT.with_borrow(Clone::clone);
    let _entered = handle.as_ref().map(tokio::runtime::Handle::enter);
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(fut)))
        .map_err(|panic| super::panicked(resource, panic.as_ref()))
}

/// [`start_async`] within the runtime set by [`set_context`], if any, so that a handler that
/// uses tokio when called (not only in its future) works on a worker too.
pub(crate) fn start_in_context<T>(start: impl FnOnce() -> Result<T, TaskError>) -> Result<T, TaskError> {
    let handle = CONTEXT.with_borrow(Clone::clone);
    let _entered = handle.as_ref().map(tokio::runtime::Handle::enter);
    start()
}

/// Calls an asynchronous handler for its future; a panic in the call (before any future
/// exists) is a `States.TaskFailed` failure, as a panic in the future or in a synchronous
/// handler is.
pub(crate) fn start_async(
    handler: &dyn AsyncTaskHandler,
    input: serde_json::Value,
    info: TaskInfo,
) -> Result<TaskFuture, TaskError> {
    start_caught(info, |info| handler.invoke(input, info))
}

/// [`start_async`] on JSON text ([`AsyncTaskHandler::invoke_text`]).
pub(crate) fn start_async_text(
    handler: &dyn AsyncTaskHandler,
    input: String,
    info: TaskInfo,
) -> Result<TextFuture, TaskError> {
    start_caught(info, |info| handler.invoke_text(input, info))
}

/// A handler's call for its future, a panic in it a failure of the Task named by `info`.
fn start_caught<F>(info: TaskInfo, call: impl FnOnce(TaskInfo) -> F) -> Result<F, TaskError> {
    let resource = info.resource.clone();
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call(info)))
        .map_err(|panic| super::panicked(&resource, panic.as_ref()))
}

/// Runs a handler's future as its own tokio task, so that a panic in it is caught (as
/// `States.TaskFailed`, like a synchronous handler's), within the Task's TimeoutSeconds
/// (`timeout_millis`; past it, the future is dropped and the Task fails with `States.Timeout`).
pub(crate) async fn await_task<T: Send + 'static>(
    fut: Answering<T>,
    timeout_millis: Option<u64>,
    resource: &str,
) -> Result<T, TaskError> {
    // Dropping this future (a timeout, a cancellation, the execution's time running out)
    // drops the handler's task too.
    let mut task = AbortOnDrop(tokio::spawn(fut));
    let joined = match timeout_millis {
        Some(ms) => tokio::select! {
            j = &mut task.0 => j,
            () = tokio::time::sleep(Duration::from_millis(ms)) => {
                // The future is gone before the Task fails: nothing of it outlives the timeout
                // (a deferred reply answered afterwards is refused, not taken).
                task.0.abort();
                let _ = (&mut task.0).await;
                return Err(TaskError { error: "States.Timeout".into(), cause: None });
            }
        },
        None => (&mut task.0).await,
    };
    joined.unwrap_or_else(|e| Err(joined_error(e, resource)))
}

/// Why a handler's task gave no answer: its panic (with the message), or a cancellation.
fn joined_error(e: tokio::task::JoinError, resource: &str) -> TaskError {
    match e.try_into_panic() {
        Ok(panic) => super::panicked(resource, panic.as_ref()),
        Err(_) => TaskError::new("States.TaskFailed", format!("the task handler for '{resource}' was cancelled")),
    }
}

/// A spawned handler future that is aborted when its waiter goes away.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// For the synchronous APIs: runs an asynchronous handler's future to completion on the
/// calling thread (on a shared tokio runtime, or from a helper thread if the caller is itself
/// inside a tokio runtime, where blocking on another one is not allowed).
pub(crate) fn block_on_task<T: Send + 'static>(
    fut: Answering<T>,
    timeout_millis: Option<u64>,
    resource: &str,
) -> Result<T, TaskError> {
    static SHARED: OnceLock<Option<tokio::runtime::Runtime>> = OnceLock::new();
    let rt = SHARED.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("aslrt-async")
            .enable_all()
            .build()
            .ok()
    });
    let Some(rt) = rt else {
        return Err(TaskError::new("States.TaskFailed", "could not start the runtime for asynchronous handlers"));
    };
    let run = || rt.block_on(await_task(fut, timeout_millis, resource));
    if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::scope(|s| s.spawn(run).join())
            .unwrap_or_else(|panic| Err(super::panicked(resource, panic.as_ref())))
    } else {
        run()
    }
}
