//! Task handlers: host code that a Task state calls, registered by its `Resource`.
//!
//! A Task whose resource is `arn:aws:states:::lambda:invoke` is routed by its `FunctionName`
//! parameter and gets the Lambda integration's result shape (`{"Payload": …, "StatusCode": 200,
//! …}`); a Task on a plain Lambda ARN, or on any other resource, gets the handler's value as its
//! result.

mod allow;
mod run;

pub(crate) use allow::Allow;

pub(crate) use run::{
    block_on_task, drop_waiting, poll_once, poll_waiting, set_context, start_async, start_async_text, start_in_context,
    Polled,
};

use crate::bytecode::ResourceId;
use crate::value::{ArenaExt, Const, Value};
use bumpalo::Bump;
use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// What a handler sees besides its input.
#[derive(Debug)]
pub struct TaskContext<'a> {
    /// Where to allocate the values it returns (see [`crate::ArenaExt`]).
    pub arena: &'a Bump,
    /// The Task's `Resource`, as written in the definition.
    pub resource: &'a str,
    /// The Task state's name.
    pub state: &'a str,
    /// `$$.State.RetryCount`: 0 on the first attempt.
    pub retry_count: u32,
}

impl TaskContext<'_> {
    /// The same facts as an owned [`TaskInfo`], as an asynchronous handler gets them.
    pub fn info(&self) -> TaskInfo {
        TaskInfo { resource: self.resource.to_owned(), state: self.state.to_owned(), retry_count: self.retry_count }
    }
}

/// A Task failure: `error` is what Retry and Catch match (`ErrorEquals`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskError {
    /// The error name. A constant name costs no allocation (`Cow::Borrowed`); a computed one is
    /// owned.
    pub error: Cow<'static, str>,
    /// The cause, the text a catcher's `$.Cause` (or `$states.errorOutput.Cause`) reads.
    pub cause: Option<Cow<'static, str>>,
}

impl TaskError {
    /// A failure named `error`, with `cause`.
    pub fn new(error: impl Into<Cow<'static, str>>, cause: impl Into<Cow<'static, str>>) -> TaskError {
        TaskError { error: error.into(), cause: Some(cause.into()) }
    }
}

/// Host code for a Task state. Handlers are shared between threads.
pub trait TaskHandler: Send + Sync {
    /// Runs the task on `input`; the result must be allocated in `ctx.arena` (or borrowed from
    /// `input`).
    fn invoke<'a>(&self, input: Value<'a>, ctx: &TaskContext<'a>) -> Result<Value<'a>, TaskError>;

    /// Starts the task on `input`, answering at once or later. The default answers at once
    /// with [`TaskHandler::invoke`]. A handler that decides per call whether to wait (one that
    /// answers from a cache, else asks a service) answers [`TaskAnswer::Later`] with a future,
    /// and must then say so in [`TaskHandler::may_defer`].
    fn start<'a>(&self, input: Value<'a>, ctx: &TaskContext<'a>) -> TaskAnswer<'a> {
        TaskAnswer::Now(self.invoke(input, ctx))
    }

    /// Whether [`TaskHandler::start`] may answer later. A machine with such a handler runs as
    /// one that may suspend: under a [`crate::Runtime`], a later answer holds no worker.
    fn may_defer(&self) -> bool {
        false
    }
}

/// What [`TaskHandler::start`] gives: the result now, or a future of it. Under a
/// [`crate::Runtime`] (`execute_async`, batches and streams of a machine that may suspend) the
/// execution suspends until the future resolves, holding no worker; the synchronous APIs wait
/// for it on the calling thread. TimeoutSeconds applies as to an asynchronous handler.
#[non_exhaustive]
pub enum TaskAnswer<'a> {
    /// The result, or the failure, now.
    Now(Result<Value<'a>, TaskError>),
    /// The result later: under a Runtime the future is polled once on the worker, then, if not
    /// ready, awaited on the handlers' tokio runtime (see [`AsyncTaskHandler`]).
    Later(TaskFuture),
    /// The result later, as JSON text (parsed once into the execution's values; text that is
    /// not JSON fails the Task with `States.TaskFailed`): the fast path, with no serde_json
    /// value made.
    LaterText(TextFuture),
}

/// What an asynchronous handler learns about its Task: owned, since its future outlives the
/// execution's arena. A synchronous one gets the same from [`TaskContext::info`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskInfo {
    /// The Task's `Resource`.
    pub resource: String,
    /// The Task state's name.
    pub state: String,
    /// `$$.State.RetryCount`: 0 on the first attempt.
    pub retry_count: u32,
}

/// The future an asynchronous handler returns.
pub type TaskFuture = Pin<Box<dyn Future<Output = Result<serde_json::Value, TaskError>> + Send>>;

/// Host code for a Task state that waits on I/O or timers. Run by a [`crate::Runtime`]
/// (`execute_async`), the execution is suspended while the future runs and no worker is held;
/// it resumes on any worker when the future completes. `TimeoutSeconds` cancels the future
/// (`States.Timeout`). Elsewhere (the synchronous APIs) the calling thread waits for it.
///
/// # Where the future runs
/// `invoke` is called on the thread running the execution.
/// - Under a [`crate::Runtime`], the future is polled once right there, inside the context of
///   the handlers' tokio runtime (the runtime's own, `aslrt-handlers`, or the host's: see
///   [`crate::RuntimeBuilder::handler_runtime`]): a future that is ready at once (an answer from
///   a cache) costs no suspension, and the execution goes on. Otherwise the execution
///   suspends. With the runtime's own tokio runtime, the future is polled again on a worker,
///   in the same context, each time it is woken (no tokio task is spawned for it; the tokio
///   threads drive its IO and timers and run the tasks it spawns). With the host's runtime, it
///   is awaited in a task there. So a poll must not block, as for any future; on a worker it
///   runs in the runtime's context but not inside one of its tasks
///   (`tokio::task::block_in_place` is not available there).
/// - In the synchronous APIs, it is polled on a process-wide thread, `aslrt-async`, while the
///   caller blocks (from a helper thread if the caller is itself inside a tokio runtime).
///
/// While it is polled a tokio context with the time and IO drivers is current, so
/// `tokio::time`, `tokio::net` and `tokio::spawn` work. A panic in the future fails the Task
/// with `States.TaskFailed`, its message in the cause.
pub trait AsyncTaskHandler: Send + Sync {
    /// Starts the task on `input`: the future gives its result or failure.
    fn invoke(&self, input: serde_json::Value, task: TaskInfo) -> TaskFuture;

    /// Whether the runtime should call [`AsyncTaskHandler::invoke_text`] instead of `invoke`:
    /// the fast path, with no serde_json value made on either side ([`AsyncTextFn`]).
    fn takes_text(&self) -> bool {
        false
    }

    /// Starts the task on `input`, the Task input as JSON text, written once from the
    /// execution's values; the future gives the result as JSON text, parsed once into them
    /// (text that is not JSON fails the Task with `States.TaskFailed`). The default goes
    /// through [`AsyncTaskHandler::invoke`].
    fn invoke_text(&self, input: String, task: TaskInfo) -> TextFuture {
        match serde_json::from_str(&input) {
            Ok(value) => {
                let fut = self.invoke(value, task);
                Box::pin(async move { fut.await.map(|v| v.to_string()) })
            }
            Err(e) => {
                let e = TaskError::new("States.TaskFailed", format!("the task input is not JSON: {e}"));
                Box::pin(std::future::ready(Err(e)))
            }
        }
    }
}

/// The future of an asynchronous handler on JSON text ([`AsyncTaskHandler::invoke_text`]).
pub type TextFuture = Pin<Box<dyn Future<Output = Result<String, TaskError>> + Send>>;

/// An asynchronous handler on JSON text, from a closure that returns a future: the fast path
/// for a handler that sends its input on as bytes (an HTTP body, a queue message) and gets
/// bytes back. Its input is the Task input written once as JSON; its answer, JSON text, is
/// parsed once into the execution's values. No serde_json value is made.
///
/// ```
/// use aslrt::{AsyncTextFn, Handlers, TaskError};
///
/// let mut handlers = Handlers::new();
/// handlers.insert_async(
///     "arn:aws:states:::aslrt:lookup",
///     AsyncTextFn(|input: String, _| async move {
///         // e.g. POST `input` and return the response body.
///         Ok::<_, TaskError>(format!(r#"{{"bytes":{}}}"#, input.len()))
///     }),
/// );
/// ```
pub struct AsyncTextFn<F>(pub F);

impl<F> std::fmt::Debug for AsyncTextFn<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AsyncTextFn(..)")
    }
}

impl<F, Fut> AsyncTaskHandler for AsyncTextFn<F>
where
    F: Fn(String, TaskInfo) -> Fut + Send + Sync,
    Fut: Future<Output = Result<String, TaskError>> + Send + 'static,
{
    fn invoke(&self, input: serde_json::Value, task: TaskInfo) -> TaskFuture {
        let resource = task.resource.clone();
        let fut = (self.0)(input.to_string(), task);
        Box::pin(async move {
            let text = fut.await?;
            serde_json::from_str(&text).map_err(|e| invalid_json(&resource, &e.to_string()))
        })
    }

    fn takes_text(&self) -> bool {
        true
    }

    fn invoke_text(&self, input: String, task: TaskInfo) -> TextFuture {
        Box::pin((self.0)(input, task))
    }
}

/// A handler's answer that is not JSON: the Task fails with `States.TaskFailed`.
pub(crate) fn invalid_json(resource: &str, why: &str) -> TaskError {
    TaskError::new("States.TaskFailed", format!("the task handler for '{resource}' replied with invalid JSON: {why}"))
}

/// An asynchronous handler from a closure that returns a future.
pub struct AsyncFn<F>(pub F);

impl<F> std::fmt::Debug for AsyncFn<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AsyncFn(..)")
    }
}

impl<F, Fut> AsyncTaskHandler for AsyncFn<F>
where
    F: Fn(serde_json::Value, TaskInfo) -> Fut + Send + Sync,
    Fut: Future<Output = Result<serde_json::Value, TaskError>> + Send + 'static,
{
    fn invoke(&self, input: serde_json::Value, task: TaskInfo) -> TaskFuture {
        Box::pin((self.0)(input, task))
    }
}

/// Returns its input.
pub struct Echo;

impl TaskHandler for Echo {
    fn invoke<'a>(&self, input: Value<'a>, _: &TaskContext<'a>) -> Result<Value<'a>, TaskError> {
        Ok(input)
    }
}

/// Returns a constant.
pub struct Return(pub Const);

impl TaskHandler for Return {
    fn invoke<'a>(&self, _: Value<'a>, ctx: &TaskContext<'a>) -> Result<Value<'a>, TaskError> {
        // The constant is owned by the handler, which outlives no arena: copy it in.
        Ok(copy_const(&self.0, ctx.arena))
    }
}

/// A serde_json value copied into the arena.
pub(crate) fn copy_serde<'a>(v: &serde_json::Value, arena: &'a Bump) -> Value<'a> {
    copy_const(&Const::from_serde(v), arena)
}

fn copy_const<'a>(c: &Const, arena: &'a Bump) -> Value<'a> {
    match c {
        Const::Null => Value::Null,
        Const::Bool(b) => Value::Bool(*b),
        Const::Int(i) => Value::Int(*i),
        Const::Float(f) => Value::Float(*f),
        Const::Str(s) => arena.string(s),
        Const::Array(items) => arena.array(items.iter().map(|c| copy_const(c, arena))),
        Const::Object(members) => {
            arena.object(members.iter().map(|(k, c)| (&*arena.alloc_str(k), copy_const(c, arena))))
        }
    }
}

/// Always fails with the given error and cause.
pub struct Raise(pub TaskError);

impl TaskHandler for Raise {
    fn invoke<'a>(&self, _: Value<'a>, _: &TaskContext<'a>) -> Result<Value<'a>, TaskError> {
        Err(self.0.clone())
    }
}

/// A handler from a closure over serde_json values: the convenient, copying edge of the API,
/// and the slow path: the input is copied into a serde_json value and the answer back, about
/// 8 µs for a 1.2 KiB input. [`TextFn`] (JSON text) and [`TaskHandler`] itself (the crate's
/// values) avoid both copies.
pub struct JsonFn<F>(pub F);

impl<F> std::fmt::Debug for JsonFn<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JsonFn(..)")
    }
}

impl<F> TaskHandler for JsonFn<F>
where
    F: Fn(serde_json::Value) -> Result<serde_json::Value, TaskError> + Send + Sync,
{
    fn invoke<'a>(&self, input: Value<'a>, ctx: &TaskContext<'a>) -> Result<Value<'a>, TaskError> {
        let out = (self.0)(input.to_serde())?;
        Ok(copy_serde(&out, ctx.arena))
    }
}

/// A synchronous handler on JSON text: the fast path for handlers that pass JSON on as bytes.
/// Its input is the Task input written once as JSON (into a buffer reused from call to call,
/// so no allocation); its answer, any `AsRef<str>` holding JSON text, is parsed once into the
/// execution's values. Text that is not JSON fails the Task with `States.TaskFailed`. No
/// serde_json value is made, unlike [`JsonFn`].
///
/// ```
/// use aslrt::{Handlers, StateMachine, TextFn};
///
/// let mut handlers = Handlers::new();
/// handlers.insert("arn:aws:states:::aslrt:size", TextFn(|input: &str| Ok(format!(r#"{{"bytes":{}}}"#, input.len()))));
/// let machine = StateMachine::builder().handlers(handlers).compile(
///     r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::aslrt:size","End":true}}}"#,
/// )?;
/// let mut scratch = aslrt::Scratch::new();
/// assert_eq!(machine.execute(&mut scratch, br#"{"a":1}"#).output, Some(r#"{"bytes":7}"#));
/// # Ok::<(), aslrt::Error>(())
/// ```
pub struct TextFn<F>(pub F);

impl<F> std::fmt::Debug for TextFn<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TextFn(..)")
    }
}

impl<F, R> TaskHandler for TextFn<F>
where
    F: Fn(&str) -> Result<R, TaskError> + Send + Sync,
    R: AsRef<str>,
{
    fn invoke<'a>(&self, input: Value<'a>, ctx: &TaskContext<'a>) -> Result<Value<'a>, TaskError> {
        thread_local! {
            /// Where inputs are written, in one pass, reused from one call to the next.
            static TEXT: std::cell::Cell<String> = const { std::cell::Cell::new(String::new()) };
        }
        // Taken while in use: a handler that runs an execution on this thread finds it empty.
        let mut buf = TEXT.take();
        buf.clear();
        crate::value::write_json(&mut buf, &input);
        let out = (self.0)(&buf);
        TEXT.set(buf);
        ctx.arena.parse_json(out?.as_ref()).map_err(|e| invalid_json(ctx.resource, &e.to_string()))
    }
}

/// The handler registry: resource (or Lambda function name) → handler.
///
/// # Example
///
/// ```
/// use aslrt::{Handlers, JsonFn, StateMachine, TaskError};
///
/// let mut handlers = Handlers::new();
/// handlers.insert("arn:aws:states:::local:fail", JsonFn(|_| Err(TaskError::new("Boom", "it broke"))));
/// let machine = StateMachine::builder().handlers(handlers).compile(
///     r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::local:fail","End":true}}}"#,
/// )?;
/// let mut scratch = aslrt::Scratch::new();
/// let run = machine.execute(&mut scratch, b"{}");
/// assert_eq!((run.error, run.cause), (Some("Boom"), Some("it broke")));
/// # Ok::<(), aslrt::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Handlers {
    map: HashMap<String, Arc<dyn TaskHandler>>,
    async_map: HashMap<String, Arc<dyn AsyncTaskHandler>>,
}

impl std::fmt::Debug for Handlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut sync: Vec<&String> = self.map.keys().collect();
        let mut asynchronous: Vec<&String> = self.async_map.keys().collect();
        sync.sort();
        asynchronous.sort();
        f.debug_struct("Handlers").field("sync", &sync).field("async", &asynchronous).finish()
    }
}

impl Handlers {
    /// No handlers.
    pub fn new() -> Handlers {
        Handlers::default()
    }

    /// Registers `handler` for `resource`: a Task `Resource` ARN, or for
    /// `arn:aws:states:::lambda:invoke`, a `FunctionName` (bare name or function ARN), or a
    /// prefix pattern ending in `*` (`arn:aws:states:::local:*`), which serves every resource
    /// that starts with what precedes the `*` and has no exact handler; the longest pattern
    /// wins. It replaces any handler, synchronous or asynchronous, registered for the same key.
    pub fn insert(&mut self, resource: impl Into<String>, handler: impl TaskHandler + 'static) -> &mut Self {
        self.insert_arc(resource, Arc::new(handler))
    }

    /// Registers a handler shared with other registries (as [`Handlers::insert`]).
    pub fn insert_arc(&mut self, resource: impl Into<String>, handler: Arc<dyn TaskHandler>) -> &mut Self {
        let resource = resource.into();
        self.async_map.remove(&resource);
        self.map.insert(resource, handler);
        self
    }

    /// The synchronous handler registered for `resource`.
    pub fn get(&self, resource: &str) -> Option<&Arc<dyn TaskHandler>> {
        self.map.get(resource)
    }

    /// Registers an asynchronous handler for `resource` (as [`Handlers::insert`]). It replaces
    /// any handler, synchronous or asynchronous, registered for the same resource.
    pub fn insert_async(&mut self, resource: impl Into<String>, handler: impl AsyncTaskHandler + 'static) -> &mut Self {
        let resource = resource.into();
        self.map.remove(&resource);
        self.async_map.insert(resource, Arc::new(handler));
        self
    }

    /// The asynchronous handler registered for `resource`.
    pub fn get_async(&self, resource: &str) -> Option<&Arc<dyn AsyncTaskHandler>> {
        self.async_map.get(resource)
    }

    /// The handler registered under exactly `resource`.
    fn exact(&self, resource: &str) -> Option<Handler> {
        match self.map.get(resource) {
            Some(h) => Some(Handler::Sync(Arc::clone(h))),
            None => self.async_map.get(resource).map(|h| Handler::Async(Arc::clone(h))),
        }
    }

    /// The handler for `resource`: the one registered under exactly that name, or else the one
    /// whose key is the longest prefix pattern (`arn:aws:states:::lambda:*`, `enrich-*`) that
    /// matches it. A key ending in `*` stands for every name that starts with what precedes it.
    fn resolve(&self, resource: &str) -> Option<Handler> {
        if let Some(h) = self.exact(resource) {
            return Some(h);
        }
        let matches = |key: &&String| key.strip_suffix('*').is_some_and(|prefix| resource.starts_with(prefix));
        let sync = self.map.iter().filter(|(k, _)| matches(k)).max_by_key(|(k, _)| k.len());
        let asynchronous = self.async_map.iter().filter(|(k, _)| matches(k)).max_by_key(|(k, _)| k.len());
        match (sync, asynchronous) {
            (Some((ks, s)), Some((ka, _))) if ks.len() >= ka.len() => Some(Handler::Sync(Arc::clone(s))),
            (_, Some((_, a))) => Some(Handler::Async(Arc::clone(a))),
            (Some((_, s)), None) => Some(Handler::Sync(Arc::clone(s))),
            (None, None) => None,
        }
    }
}

/// A registered handler of either kind.
#[derive(Clone)]
enum Handler {
    Sync(Arc<dyn TaskHandler>),
    Async(Arc<dyn AsyncTaskHandler>),
}

/// What calling a Task's handler gives: its result, or an asynchronous handler to run on
/// `payload` (for `lambda:invoke`, the result is then wrapped as the Lambda integration's).
pub(crate) enum Called<'a> {
    Done(Result<Value<'a>, TaskError>),
    Async {
        handler: Arc<dyn AsyncTaskHandler>,
        payload: Value<'a>,
        lambda: bool,
    },
    /// A synchronous handler answered later ([`TaskAnswer::Later`], [`TaskAnswer::LaterText`]).
    Started {
        fut: Waiting,
        lambda: bool,
    },
}

/// A handler's future: of a serde_json value, or of JSON text.
pub(crate) enum Waiting {
    Json(TaskFuture),
    Text(TextFuture),
}

pub(crate) const LAMBDA_INVOKE: &str = "arn:aws:states:::lambda:invoke";

/// Handlers bound to a program's resources at compile time: the VM calls by [`ResourceId`].
pub(crate) struct Bound {
    slots: Box<[Option<Handler>]>,
    /// For `lambda:invoke`, whose function is named at run time.
    registry: Handlers,
    /// Some Task uses `lambda:invoke`.
    lambda: bool,
    /// The functions `lambda:invoke` may call, when the machine has an allow-list.
    allow: Option<Allow>,
}

impl Bound {
    pub fn new(resources: &[Box<str>], registry: Handlers, allow: Option<Allow>) -> Bound {
        // A Lambda function's ARN is also served by a handler registered under the function's
        // name, before any prefix pattern.
        let slots = resources
            .iter()
            .map(|r| {
                let by_name = || lambda_function_name(r).and_then(|name| registry.exact(name));
                registry.exact(r).or_else(by_name).or_else(|| registry.resolve(r))
            })
            .collect();
        let lambda = resources.iter().any(|r| &**r == LAMBDA_INVOKE);
        Bound { slots, registry, lambda, allow }
    }

    /// Some Task may call an asynchronous handler.
    pub fn has_async(&self) -> bool {
        // `lambda:invoke` finds its handler by FunctionName at run time: any asynchronous (or
        // deferring) one may do.
        let lambda_async =
            self.lambda && (!self.registry.async_map.is_empty() || self.registry.map.values().any(|h| h.may_defer()));
        lambda_async
            || self.slots.iter().any(|h| match h {
                Some(Handler::Async(_)) => true,
                Some(Handler::Sync(h)) => h.may_defer(),
                None => false,
            })
    }

    /// Calls the handler of resource `id` if it is synchronous, or says which asynchronous one
    /// to run.
    pub fn invoke<'a>(&self, id: ResourceId, input: Value<'a>, ctx: &TaskContext<'a>) -> Called<'a> {
        if ctx.resource == LAMBDA_INVOKE {
            return self.lambda_invoke(input, ctx);
        }
        match &self.slots[id.0 as usize] {
            Some(Handler::Sync(h)) => match guarded(h.as_ref(), input, ctx) {
                TaskAnswer::Now(r) => Called::Done(r),
                TaskAnswer::Later(fut) => Called::Started { fut: Waiting::Json(fut), lambda: false },
                TaskAnswer::LaterText(fut) => Called::Started { fut: Waiting::Text(fut), lambda: false },
            },
            Some(Handler::Async(h)) => Called::Async { handler: Arc::clone(h), payload: input, lambda: false },
            None => Called::Done(Err(no_handler(ctx.resource))),
        }
    }

    fn lambda_invoke<'a>(&self, input: Value<'a>, ctx: &TaskContext<'a>) -> Called<'a> {
        let Some(name) = input.get("FunctionName").and_then(|v| v.as_str()) else {
            return Called::Done(Err(TaskError::new(
                "States.Runtime",
                "the lambda:invoke integration needs a string 'FunctionName' parameter",
            )));
        };
        if let Some(refused) = self.allow.as_ref().filter(|a| !a.allows_function(name)) {
            return Called::Done(Err(refused.refused_function(name)));
        }
        // The function's own name: an ARN's sixth field, or a bare name before its `:QUALIFIER`
        // (the last field would be the qualifier, another function's name in the registry).
        let short = lambda_function_name(name)
            .map(|n| n.split(':').next().unwrap_or(n))
            .or_else(|| (!name.starts_with("arn:")).then(|| name.split(':').next().unwrap_or(name)));
        let found = self
            .registry
            .resolve(name)
            .or_else(|| short.and_then(|short| self.registry.resolve(short)))
            .or_else(|| self.registry.resolve(LAMBDA_INVOKE));
        let payload = input.get("Payload").unwrap_or(Value::EMPTY_OBJECT);
        match found {
            None => Called::Done(Err(no_handler(name))),
            Some(Handler::Async(handler)) => Called::Async { handler, payload, lambda: true },
            Some(Handler::Sync(h)) => match guarded(h.as_ref(), payload, ctx) {
                TaskAnswer::Now(r) => Called::Done(r.map(|out| lambda_result(ctx.arena, out))),
                TaskAnswer::Later(fut) => Called::Started { fut: Waiting::Json(fut), lambda: true },
                TaskAnswer::LaterText(fut) => Called::Started { fut: Waiting::Text(fut), lambda: true },
            },
        }
    }
}

/// The function's name in a Lambda function's ARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`,
/// with or without a version or alias after it).
fn lambda_function_name(resource: &str) -> Option<&str> {
    let mut parts = resource.splitn(8, ':');
    let head: Vec<&str> = parts.by_ref().take(6).collect();
    match head.as_slice() {
        ["arn", _, "lambda", _, _, "function"] => parts.next().filter(|name| !name.is_empty()),
        _ => None,
    }
}

/// The Lambda integration's result around a function's output.
pub(crate) fn lambda_result<'a>(a: &'a Bump, out: Value<'a>) -> Value<'a> {
    a.object([
        ("ExecutedVersion", Value::Str("$LATEST")),
        ("Payload", out),
        (
            "SdkHttpMetadata",
            a.object([
                ("AllHttpHeaders", Value::EMPTY_OBJECT),
                ("HttpHeaders", Value::EMPTY_OBJECT),
                ("HttpStatusCode", Value::Int(200)),
            ]),
        ),
        ("SdkResponseMetadata", a.object([("RequestId", Value::Str("00000000-0000-0000-0000-000000000000"))])),
        ("StatusCode", Value::Int(200)),
    ])
}

#[cold]
fn no_handler(resource: &str) -> TaskError {
    TaskError::new("States.TaskFailed", format!("no task handler is registered for the resource '{resource}'"))
}

/// A handler's panic as its Task's failure: `States.TaskFailed`, with the panic's message.
pub(crate) fn panicked(resource: &str, panic: &(dyn std::any::Any + Send)) -> TaskError {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".into());
    TaskError::new("States.TaskFailed", format!("the task handler for '{resource}' panicked: {what}"))
}

/// Calls a handler, turning a panic into a `States.TaskFailed` failure: a panic never escapes.
fn guarded<'a>(h: &dyn TaskHandler, input: Value<'a>, ctx: &TaskContext<'a>) -> TaskAnswer<'a> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h.start(input, ctx))) {
        Ok(answer) => answer,
        Err(panic) => TaskAnswer::Now(Err(panicked(ctx.resource, panic.as_ref()))),
    }
}
