//! Running an asynchronous handler's future: started with its panics caught, awaited as its
//! own tokio task within the Task's TimeoutSeconds, or, for the synchronous APIs, driven to
//! completion on the calling thread.

use super::{AsyncTaskHandler, TaskError, TaskFuture, TaskInfo};
use std::sync::OnceLock;
use std::time::Duration;

/// Calls an asynchronous handler for its future; a panic in the call (before any future
/// exists) is a `States.TaskFailed` failure, as a panic in the future or in a synchronous
/// handler is.
pub(crate) fn start_async(
    handler: &dyn AsyncTaskHandler,
    input: serde_json::Value,
    info: TaskInfo,
) -> Result<TaskFuture, TaskError> {
    let resource = info.resource.clone();
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler.invoke(input, info)))
        .map_err(|panic| super::panicked(&resource, panic.as_ref()))
}

/// Runs a handler's future as its own tokio task, so that a panic in it is caught (as
/// `States.TaskFailed`, like a synchronous handler's), within the Task's TimeoutSeconds
/// (`timeout_millis`; past it, the future is dropped and the Task fails with `States.Timeout`).
pub(crate) async fn await_task(
    fut: TaskFuture,
    timeout_millis: Option<u64>,
    resource: &str,
) -> Result<serde_json::Value, TaskError> {
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
    joined.unwrap_or_else(|e| match e.try_into_panic() {
        Ok(panic) => Err(super::panicked(resource, panic.as_ref())),
        Err(_) => Err(TaskError::new("States.TaskFailed", format!("the task handler for '{resource}' was cancelled"))),
    })
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
pub(crate) fn block_on_task(
    fut: TaskFuture,
    timeout_millis: Option<u64>,
    resource: &str,
) -> Result<serde_json::Value, TaskError> {
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
