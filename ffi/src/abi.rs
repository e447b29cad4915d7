//! Every exported function and type of the C ABI. The doc comments here are the header's.
//!
//! The rules every function keeps:
//! - a panic never crosses the boundary: each body runs inside `catch_unwind`, and a caught
//!   panic returns `ASLRT_PANIC` with the message in `aslrt_last_error`;
//! - every pointer is checked for NULL, and a length is trusted only together with its pointer;
//! - an output parameter is written only on success;
//! - a failing call leaves a message for `aslrt_last_error` on the calling thread.
#![allow(non_camel_case_types)]

use aslrt::{
    ArenaExt, Clock, Config, Error, ErrorKind, Handlers, Outcome, Runtime, StateMachine, Status, TaskAnswer,
    TaskContext, TaskError, TaskHandler, Value,
};
use dashmap::DashMap;
use std::cell::RefCell;
use std::ffi::{c_char, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, LazyLock, Mutex};

/// A borrowed byte view: `len` bytes at `ptr`, with no NUL terminator needed. `{NULL, 0}` is the
/// empty string; a NULL `ptr` with a nonzero `len` is refused (`ASLRT_NULL_ARGUMENT`). The
/// library reads it only during the call it is passed to, unless that function says otherwise.
/// Views the library returns are owned by the object they come from.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct aslrt_str {
    /// The first byte, or NULL for the empty string.
    pub ptr: *const c_char,
    /// The number of bytes.
    pub len: usize,
}

/// What a call did. `ASLRT_OK` is 0; each failure has its own value, never reused.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum aslrt_status {
    /// It worked.
    ASLRT_OK = 0,
    /// A required pointer was NULL (or a view had a NULL pointer and a nonzero length).
    ASLRT_NULL_ARGUMENT = 1,
    /// A text that must be UTF-8 was not.
    ASLRT_INVALID_UTF8 = 2,
    /// The definition did not validate: `aslrt_last_error` lists every diagnostic with its
    /// code and JSON pointer.
    ASLRT_INVALID_DEFINITION = 3,
    /// The definition is valid but too large for the compiled form.
    ASLRT_DEFINITION_TOO_LARGE = 4,
    /// A JSON text given to the library (a handler's reply) is not JSON.
    ASLRT_INVALID_JSON = 5,
    /// An argument is out of its range (an empty resource, a zero count where one is needed).
    ASLRT_INVALID_ARGUMENT = 6,
    /// The task reply was already answered: the first answer stands.
    ASLRT_ALREADY_ANSWERED = 7,
    /// The runtime is shutting down and takes no more work.
    ASLRT_SHUT_DOWN = 8,
    /// `aslrt_runtime_try_submit`: the runtime already has its most executions in flight.
    ASLRT_BUSY = 9,
    /// A panic inside the library was caught; the message is in `aslrt_last_error`.
    ASLRT_PANIC = 10,
    /// A bug in aslrt; the message is in `aslrt_last_error`.
    ASLRT_INTERNAL = 11,
}

/// How an execution ended, as `aslrt_result_status` reports it.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum aslrt_execution_status {
    /// It reached a Succeed state or an end: `aslrt_result_output` holds the output.
    ASLRT_SUCCEEDED = 1,
    /// A failure no catcher took: `aslrt_result_error` and `aslrt_result_cause` say which.
    ASLRT_FAILED = 2,
    /// It ran out of time (`TimeoutSeconds`, or Express's five minutes): `States.Timeout`.
    ASLRT_TIMED_OUT = 3,
    /// It was cancelled, or dropped unrun by a runtime freed at once.
    ASLRT_ABORTED = 4,
}

/// A compiled state machine: immutable, and safe to use from any number of threads at once.
/// Owned by the caller from `aslrt_machine_compile` or `aslrt_builder_compile` until
/// `aslrt_machine_free`; executions already submitted keep what they need, so it may be freed
/// while they run.
pub struct aslrt_machine {
    machine: StateMachine,
}

/// Task handlers being collected for a machine. Owned by the caller from `aslrt_builder_new`
/// until `aslrt_builder_compile` (which consumes it) or `aslrt_builder_free`.
pub struct aslrt_builder {
    handlers: Handlers,
    config: Config,
}

/// How time passes for Wait states, retry back-off and time-outs, for
/// `aslrt_builder_set_clock`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum aslrt_clock {
    /// The system clock (the default): a Wait waits.
    ASLRT_CLOCK_SYSTEM = 0,
    /// Virtual time, for tests and replays: waits advance it at once.
    ASLRT_CLOCK_VIRTUAL = 1,
    /// Virtual time in which retry back-off takes no time at all either.
    ASLRT_CLOCK_ZERO_DELAY = 2,
}

/// An execution's outcome. Owned by whoever it was handed to, until `aslrt_result_free`; the
/// views its accessors return live as long as it does.
pub struct aslrt_result {
    outcome: Outcome,
    // The views' text, each followed by a NUL so that C may also read them as strings.
    output: Option<Box<[u8]>>,
    error: Option<Box<[u8]>>,
    cause: Option<Box<[u8]>>,
}

/// A handle to answer one Task call with `aslrt_task_reply_ok` or `aslrt_task_reply_fail`,
/// exactly once. The library owns it:
/// - a handler that returns 0 (or nonzero) must not use it after returning;
/// - a handler that returns `ASLRT_TASK_PENDING` keeps it and answers later, from any thread;
///   answering ends the handle. A handle never answered is ended by the Task's TimeoutSeconds
///   (`States.Timeout`), or by `aslrt_runtime_free` (the execution then ends ABORTED).
///
/// The pointer is a handle, never dereferenced: answering a handle already answered or ended
/// returns `ASLRT_ALREADY_ANSWERED` and touches no memory.
pub struct aslrt_task_reply {
    _handle: [u8; 0],
}

/// What a handler returns to answer later, keeping its `aslrt_task_reply` (see there). Under a
/// runtime the execution is suspended meanwhile and holds no worker; `aslrt_machine_execute`
/// waits for the answer on the calling thread.
pub const ASLRT_TASK_PENDING: i32 = 0x5045_4E44;

/// The replies in use, by handle: the answer given during the call, or the channel to a Task
/// waiting for a later one. Handles are never reused.
static REPLIES: LazyLock<DashMap<u64, Reply>> = LazyLock::new(DashMap::new);
static NEXT_REPLY: AtomicU64 = AtomicU64::new(1);

#[derive(Default)]
struct Reply {
    answer: Option<Answer>,
    waiter: Option<tokio::sync::oneshot::Sender<Answer>>,
}

/// Ends a reply's entry when the Task stops waiting for it (answered, timed out or aborted).
struct Forget(u64);

impl Drop for Forget {
    fn drop(&mut self) {
        REPLIES.remove(&self.0);
    }
}

/// Gives `answer` to the reply `reply`, returning `status` (the answer's own, `ASLRT_OK` unless
/// its text could not be read) or why it could not be given.
fn give(reply: *mut aslrt_task_reply, answer: Answer, status: aslrt_status) -> aslrt_status {
    let id = reply as usize as u64;
    let ended = "the task reply was answered already, or its Task has ended (TimeoutSeconds, or the runtime was freed)";
    let Some(mut entry) = REPLIES.get_mut(&id) else {
        return fail(aslrt_status::ASLRT_ALREADY_ANSWERED, ended);
    };
    if entry.answer.is_some() {
        return fail(aslrt_status::ASLRT_ALREADY_ANSWERED, "the task reply was already answered");
    }
    match entry.waiter.take() {
        None => entry.answer = Some(answer),
        Some(waiter) => {
            drop(entry);
            REPLIES.remove(&id);
            if waiter.send(answer).is_err() {
                return fail(aslrt_status::ASLRT_ALREADY_ANSWERED, ended);
            }
        }
    }
    status
}

enum Answer {
    Ok(String),
    Fail {
        error: String,
        cause: Option<String>,
    },
    /// What the handler gave could not be read; the Task fails with this cause.
    Unreadable(String),
}

/// A Task handler: called with the Task's effective input as JSON (`input`, owned by the library
/// and valid during the call), it answers through `reply` and returns 0. Returning nonzero, or
/// returning without answering, fails the Task with `States.TaskFailed` and a cause saying so;
/// so does an answer that is not JSON. Retry and Catch then apply.
///
/// It may be called from any worker thread, at the same time as other calls of it: `userdata`
/// must be safe to use that way. It may call back into the library (compile, execute).
pub type aslrt_task_fn =
    Option<unsafe extern "C" fn(userdata: *mut c_void, input: aslrt_str, reply: *mut aslrt_task_reply) -> i32>;

/// Called once per submitted execution when it ends, on a worker thread (or on the thread that
/// frees the runtime, for one it aborts). The callee owns `result` and must free it with
/// `aslrt_result_free`. It must not free the runtime.
pub type aslrt_done_fn = Option<unsafe extern "C" fn(userdata: *mut c_void, result: *mut aslrt_result)>;

/// A work-stealing pool of worker threads. Owned by the caller from `aslrt_runtime_new` until
/// `aslrt_runtime_free`.
pub struct aslrt_runtime {
    runtime: Option<Runtime>,
    limit: Arc<InFlight>,
}

/// How many submitted executions have not called back, and the most there may be.
struct InFlight {
    count: Mutex<usize>,
    max: std::sync::atomic::AtomicUsize,
    changed: Condvar,
}

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

fn fail(status: aslrt_status, message: impl Into<String>) -> aslrt_status {
    let message = message.into();
    LAST_ERROR.with(|e| *e.borrow_mut() = message);
    status
}

/// Runs `f`, turning a panic into `ASLRT_PANIC` (or `on_panic` for functions without a status).
fn guard<T>(on_panic: T, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into());
            fail(aslrt_status::ASLRT_PANIC, format!("aslrt panicked (a bug in aslrt): {what}"));
            on_panic
        }
    }
}

/// The bytes of a view, or why it cannot be read.
///
/// # Safety
/// `s.ptr`, when not NULL, must point to `s.len` readable bytes for the lifetime `'a`.
unsafe fn bytes<'a>(s: aslrt_str, what: &str) -> Result<&'a [u8], aslrt_status> {
    if s.ptr.is_null() {
        return if s.len == 0 {
            Ok(&[])
        } else {
            Err(fail(aslrt_status::ASLRT_NULL_ARGUMENT, format!("{what}: a NULL pointer with length {}", s.len)))
        };
    }
    // SAFETY: the caller promises `len` readable bytes at the non-NULL `ptr` (the header's rule
    // for every aslrt_str), and they are only read during this call.
    Ok(unsafe { std::slice::from_raw_parts(s.ptr.cast::<u8>(), s.len) })
}

/// The text of a view, or why it cannot be read.
///
/// # Safety
/// As [`bytes`].
unsafe fn text<'a>(s: aslrt_str, what: &str) -> Result<&'a str, aslrt_status> {
    // SAFETY: passed on from this function's own contract.
    let b = unsafe { bytes(s, what) }?;
    std::str::from_utf8(b).map_err(|e| fail(aslrt_status::ASLRT_INVALID_UTF8, format!("{what} is not UTF-8: {e}")))
}

fn view(b: &[u8]) -> aslrt_str {
    aslrt_str { ptr: b.as_ptr().cast(), len: b.len() }
}

/// An optional text and its NUL, for a result's views.
fn owned(s: &Option<String>) -> Option<Box<[u8]>> {
    s.as_ref().map(|s| {
        let mut b = Vec::with_capacity(s.len() + 1);
        b.extend_from_slice(s.as_bytes());
        b.push(0);
        b.into_boxed_slice()
    })
}

fn result(outcome: Outcome) -> *mut aslrt_result {
    let (output, error, cause) = (owned(&outcome.output), owned(&outcome.error), owned(&outcome.cause));
    Box::into_raw(Box::new(aslrt_result { outcome, output, error, cause }))
}

fn compile_error(e: Error) -> aslrt_status {
    match e.kind() {
        ErrorKind::InvalidDefinition(diagnostics) => {
            let list: Vec<String> = diagnostics.iter().map(|d| d.to_string()).collect();
            fail(aslrt_status::ASLRT_INVALID_DEFINITION, format!("invalid definition:\n{}", list.join("\n")))
        }
        ErrorKind::DefinitionTooLarge(_) => fail(aslrt_status::ASLRT_DEFINITION_TOO_LARGE, e.to_string()),
        _ => fail(aslrt_status::ASLRT_INTERNAL, e.to_string()),
    }
}

/// A C handler and its userdata, as an aslrt Task handler.
struct CHandler {
    f: unsafe extern "C" fn(*mut c_void, aslrt_str, *mut aslrt_task_reply) -> i32,
    userdata: UserData,
}

struct UserData(*mut c_void);

// SAFETY: the header tells the caller that a handler may be called from any worker thread, at
// the same time as other calls, so the userdata it registers must allow that; the library
// itself never reads through the pointer.
unsafe impl Send for UserData {}
// SAFETY: as for Send.
unsafe impl Sync for UserData {}

impl CHandler {
    /// An answer as the Task's result, now (in the arena).
    fn now<'a>(answer: Option<Answer>, ctx: &TaskContext<'a>) -> Result<Value<'a>, TaskError> {
        let resource = ctx.resource;
        match answer {
            Some(Answer::Ok(json)) => ctx.arena.parse_json(&json).map_err(|e| invalid(resource, &e.to_string())),
            Some(answer) => Err(failure(answer, resource)),
            None => Err(failed(format!("the task handler for '{resource}' returned without replying"))),
        }
    }

    /// An answer as the Task's result, later (as the future of an answer gives it).
    fn later(answer: Answer, resource: &str) -> Result<serde_json::Value, TaskError> {
        match answer {
            Answer::Ok(json) => serde_json::from_str(&json).map_err(|e| invalid(resource, &e.to_string())),
            answer => Err(failure(answer, resource)),
        }
    }
}

fn failure(answer: Answer, resource: &str) -> TaskError {
    match answer {
        Answer::Fail { error, cause } => TaskError { error: error.into(), cause: cause.map(Into::into) },
        Answer::Unreadable(why) => failed(format!("the task handler for '{resource}' replied {why}")),
        Answer::Ok(_) => failed(format!("the task handler for '{resource}' failed")),
    }
}

fn failed(cause: String) -> TaskError {
    TaskError::new("States.TaskFailed", cause)
}

fn invalid(resource: &str, why: &str) -> TaskError {
    failed(format!("the task handler for '{resource}' replied with invalid JSON: {why}"))
}

impl TaskHandler for CHandler {
    fn invoke<'a>(&self, input: Value<'a>, ctx: &TaskContext<'a>) -> Result<Value<'a>, TaskError> {
        match self.start(input, ctx) {
            TaskAnswer::Now(r) => r,
            // The runtime calls `start`, which may answer later (`may_defer`); only a caller of
            // `invoke` itself, which cannot wait, sees this.
            TaskAnswer::Later(_) => Err(failed(format!(
                "the task handler for '{}' answered later, where only an answer now was possible",
                ctx.resource
            ))),
        }
    }

    fn start<'a>(&self, input: Value<'a>, ctx: &TaskContext<'a>) -> TaskAnswer<'a> {
        let text = input.to_json();
        let id = NEXT_REPLY.fetch_add(1, Ordering::Relaxed);
        REPLIES.insert(id, Reply::default());
        let reply = id as usize as *mut aslrt_task_reply;
        // SAFETY: `f` is the function the caller registered for this resource, called as the
        // header describes it: `text` stays valid for the whole call, and `reply` is a handle
        // the library never dereferences.
        let rc = unsafe { (self.f)(self.userdata.0, view(text.as_bytes()), reply) };
        let resource = ctx.resource;
        if rc == ASLRT_TASK_PENDING {
            let Some(mut entry) = REPLIES.get_mut(&id) else {
                return TaskAnswer::Now(Err(failed(format!("the task handler for '{resource}' lost its reply"))));
            };
            if let Some(given) = entry.answer.take() {
                // Answered (from another thread) before the handler returned.
                drop(entry);
                REPLIES.remove(&id);
                return TaskAnswer::Now(Self::now(Some(given), ctx));
            }
            let (tx, rx) = tokio::sync::oneshot::channel();
            entry.waiter = Some(tx);
            drop(entry);
            let resource = resource.to_owned();
            // Moved into the future, so that the entry ends with it, polled or not.
            let forget = Forget(id);
            return TaskAnswer::Later(Box::pin(async move {
                let _forget = forget;
                match rx.await {
                    Ok(answer) => Self::later(answer, &resource),
                    Err(_) => Err(failed(format!("the task handler for '{resource}' dropped its reply"))),
                }
            }));
        }
        let given = REPLIES.remove(&id).and_then(|(_, r)| r.answer);
        if rc != 0 {
            return TaskAnswer::Now(Err(failed(format!("the task handler for '{resource}' returned {rc}"))));
        }
        TaskAnswer::Now(Self::now(given, ctx))
    }

    fn may_defer(&self) -> bool {
        true
    }
}

/// The library's version, as a NUL-terminated string owned by the library (static).
#[no_mangle]
pub extern "C" fn aslrt_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Copies the calling thread's last error message into `buf`, NUL-terminated and truncated to
/// `cap` bytes (NUL included), and returns its full length without the NUL, so that a caller can
/// size a buffer. `buf` may be NULL when `cap` is 0. For an invalid definition the message lists
/// every diagnostic, one per line, with its code and JSON pointer. The message stays until the
/// next failing call on the same thread.
///
/// # Safety
/// `buf`, when not NULL, must point to `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn aslrt_last_error(buf: *mut c_char, cap: usize) -> usize {
    // SAFETY: passed on from this function's contract.
    guard(0, || LAST_ERROR.with(|e| unsafe { copy_out(&e.borrow(), buf, cap) }))
}

/// Copies `text` into `buf` as far as `cap` allows, NUL-terminated, and returns its full length.
///
/// # Safety
/// `buf`, when not NULL, must point to `cap` writable bytes.
unsafe fn copy_out(text: &str, buf: *mut c_char, cap: usize) -> usize {
    if !buf.is_null() && cap > 0 {
        let n = text.len().min(cap - 1);
        // SAFETY: the caller promises `cap` writable bytes at `buf`; `n + 1 <= cap`.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), n);
            *buf.add(n) = 0;
        }
    }
    text.len()
}

/// Validates and compiles `definition` (ASL JSON) with no Task handlers, into `*out`, which the
/// caller then owns (`aslrt_machine_free`). On failure `*out` is left as it was.
///
/// # Safety
/// `definition` must be a valid view; `out` must point to writable storage for a pointer.
#[no_mangle]
pub unsafe extern "C" fn aslrt_machine_compile(definition: aslrt_str, out: *mut *mut aslrt_machine) -> aslrt_status {
    // SAFETY: passed on from this function's contract.
    unsafe { compile(Handlers::new(), Config::default(), definition, out) }
}

/// # Safety
/// As [`aslrt_machine_compile`].
unsafe fn compile(
    handlers: Handlers,
    config: Config,
    definition: aslrt_str,
    out: *mut *mut aslrt_machine,
) -> aslrt_status {
    guard(aslrt_status::ASLRT_PANIC, || {
        if out.is_null() {
            return fail(aslrt_status::ASLRT_NULL_ARGUMENT, "out is NULL");
        }
        // SAFETY: the caller promises a valid view.
        let text = match unsafe { text(definition, "the definition") } {
            Ok(t) => t,
            Err(status) => return status,
        };
        match StateMachine::builder().handlers(handlers).config(config).compile(text) {
            Ok(machine) => {
                // SAFETY: `out` is not NULL and the caller promises it is writable.
                unsafe { *out = Box::into_raw(Box::new(aslrt_machine { machine })) };
                aslrt_status::ASLRT_OK
            }
            Err(e) => compile_error(e),
        }
    })
}

/// A new, empty set of Task handlers, owned by the caller until `aslrt_builder_compile`
/// consumes it or `aslrt_builder_free` frees it. NULL only if a panic was caught.
#[no_mangle]
pub extern "C" fn aslrt_builder_new() -> *mut aslrt_builder {
    guard(std::ptr::null_mut(), || {
        Box::into_raw(Box::new(aslrt_builder { handlers: Handlers::new(), config: Config::default() }))
    })
}

/// Sets the clock of the machines the builder compiles: `clock` is one of `aslrt_clock`.
/// `start_millis` is where a virtual clock starts, in milliseconds since the Unix epoch (a
/// negative value: the time of each execution's start); it is ignored for the system clock.
///
/// # Safety
/// `builder` must come from `aslrt_builder_new`, not yet consumed or freed.
#[no_mangle]
pub unsafe extern "C" fn aslrt_builder_set_clock(
    builder: *mut aslrt_builder,
    clock: i32,
    start_millis: i64,
) -> aslrt_status {
    guard(aslrt_status::ASLRT_PANIC, || {
        // SAFETY: the caller promises a live builder from aslrt_builder_new, used by one thread.
        let Some(builder) = (unsafe { builder.as_mut() }) else {
            return fail(aslrt_status::ASLRT_NULL_ARGUMENT, "builder is NULL");
        };
        let start = (start_millis >= 0).then_some(start_millis);
        let clock = match clock {
            c if c == aslrt_clock::ASLRT_CLOCK_SYSTEM as i32 => Clock::System,
            c if c == aslrt_clock::ASLRT_CLOCK_VIRTUAL as i32 => Clock::Virtual { start_millis: start },
            c if c == aslrt_clock::ASLRT_CLOCK_ZERO_DELAY as i32 => Clock::ZeroDelay,
            other => return fail(aslrt_status::ASLRT_INVALID_ARGUMENT, format!("{other} is no aslrt_clock")),
        };
        builder.config = std::mem::take(&mut builder.config).clock(clock);
        aslrt_status::ASLRT_OK
    })
}

/// Seeds the random source of the machines the builder compiles (States.UUID, States.MathRandom,
/// `$random()`, retry jitter), so that executions repeat exactly. Unseeded (the default), each
/// execution draws a fresh seed.
///
/// # Safety
/// `builder` must come from `aslrt_builder_new`, not yet consumed or freed.
#[no_mangle]
pub unsafe extern "C" fn aslrt_builder_set_seed(builder: *mut aslrt_builder, seed: u64) -> aslrt_status {
    guard(aslrt_status::ASLRT_PANIC, || {
        // SAFETY: the caller promises a live builder from aslrt_builder_new, used by one thread.
        let Some(builder) = (unsafe { builder.as_mut() }) else {
            return fail(aslrt_status::ASLRT_NULL_ARGUMENT, "builder is NULL");
        };
        builder.config = std::mem::take(&mut builder.config).seed(Some(seed));
        aslrt_status::ASLRT_OK
    })
}

/// Registers `fn` (with `userdata`, passed to every call) as the handler of `resource`: an exact
/// Resource ARN, a Lambda function name (for `arn:aws:states:::lambda:invoke`), or a prefix
/// ending in `*`, which serves every resource starting with what precedes it (the exact name
/// first, then the longest prefix). A later registration of the same key replaces the earlier.
/// The builder keeps `userdata`, never reading through it; the caller keeps it valid for as long
/// as any machine compiled from this builder exists.
///
/// # Safety
/// `builder` must come from `aslrt_builder_new` and not be consumed or freed; `resource` must
/// be a valid view; `fn` must be a function with the `aslrt_task_fn` signature.
#[no_mangle]
pub unsafe extern "C" fn aslrt_builder_add_handler(
    builder: *mut aslrt_builder,
    resource: aslrt_str,
    r#fn: aslrt_task_fn,
    userdata: *mut c_void,
) -> aslrt_status {
    guard(aslrt_status::ASLRT_PANIC, || {
        // SAFETY: the caller promises a live builder from aslrt_builder_new, used by one thread.
        let Some(builder) = (unsafe { builder.as_mut() }) else {
            return fail(aslrt_status::ASLRT_NULL_ARGUMENT, "builder is NULL");
        };
        let Some(f) = r#fn else {
            return fail(aslrt_status::ASLRT_NULL_ARGUMENT, "fn is NULL");
        };
        // SAFETY: the caller promises a valid view.
        let resource = match unsafe { text(resource, "the resource") } {
            Ok(r) => r,
            Err(status) => return status,
        };
        if resource.is_empty() {
            return fail(aslrt_status::ASLRT_INVALID_ARGUMENT, "the resource is empty");
        }
        builder.handlers.insert(resource, CHandler { f, userdata: UserData(userdata) });
        aslrt_status::ASLRT_OK
    })
}

/// Frees a builder that was never compiled. NULL is ignored.
///
/// # Safety
/// `builder` must be NULL or come from `aslrt_builder_new`, not yet consumed or freed.
#[no_mangle]
pub unsafe extern "C" fn aslrt_builder_free(builder: *mut aslrt_builder) {
    guard((), || {
        if !builder.is_null() {
            // SAFETY: the caller hands back ownership of a builder from aslrt_builder_new.
            drop(unsafe { Box::from_raw(builder) });
        }
    })
}

/// Validates and compiles `definition` with the builder's handlers into `*out` (owned by the
/// caller, `aslrt_machine_free`). The builder is consumed whether this succeeds or fails: do not
/// use or free it afterwards. On failure `*out` is left as it was.
///
/// # Safety
/// `builder` must come from `aslrt_builder_new`, not yet consumed or freed; `definition` must be
/// a valid view; `out` must point to writable storage for a pointer.
#[no_mangle]
pub unsafe extern "C" fn aslrt_builder_compile(
    builder: *mut aslrt_builder,
    definition: aslrt_str,
    out: *mut *mut aslrt_machine,
) -> aslrt_status {
    if builder.is_null() {
        return fail(aslrt_status::ASLRT_NULL_ARGUMENT, "builder is NULL");
    }
    // SAFETY: the caller hands over ownership of a live builder from aslrt_builder_new.
    let builder = unsafe { Box::from_raw(builder) };
    // SAFETY: passed on from this function's contract.
    unsafe { compile(builder.handlers, builder.config, definition, out) }
}

/// Answers a Task with `output_json`, its result (copied), during the handler's call or, after
/// it returned `ASLRT_TASK_PENDING`, from any thread. Returns `ASLRT_ALREADY_ANSWERED` if the
/// reply was answered before (the first answer stands) or its Task has ended. An answer that is
/// not UTF-8 or not JSON fails the Task with `States.TaskFailed`.
///
/// # Safety
/// `output_json` must be a valid view. `reply` is only compared, never dereferenced.
#[no_mangle]
pub unsafe extern "C" fn aslrt_task_reply_ok(reply: *mut aslrt_task_reply, output_json: aslrt_str) -> aslrt_status {
    guard(aslrt_status::ASLRT_PANIC, || {
        if reply.is_null() {
            return fail(aslrt_status::ASLRT_NULL_ARGUMENT, "reply is NULL");
        }
        // SAFETY: the caller promises a valid view.
        let (answer, status) = match unsafe { text(output_json, "the reply's output") } {
            Ok(t) => (Answer::Ok(t.to_owned()), aslrt_status::ASLRT_OK),
            Err(status) => (Answer::Unreadable(LAST_ERROR.with(|e| e.borrow().clone())), status),
        };
        give(reply, answer, status)
    })
}

/// Fails a Task with `error` (what Retry and Catch match) and `cause` (both copied; an empty
/// cause is no cause), when `aslrt_task_reply_ok` could answer. Returns
/// `ASLRT_ALREADY_ANSWERED` if the reply was answered before or its Task has ended.
///
/// # Safety
/// `error` and `cause` must be valid views. `reply` is only compared, never dereferenced.
#[no_mangle]
pub unsafe extern "C" fn aslrt_task_reply_fail(
    reply: *mut aslrt_task_reply,
    error: aslrt_str,
    cause: aslrt_str,
) -> aslrt_status {
    guard(aslrt_status::ASLRT_PANIC, || {
        if reply.is_null() {
            return fail(aslrt_status::ASLRT_NULL_ARGUMENT, "reply is NULL");
        }
        // SAFETY: the caller promises valid views.
        let texts = unsafe { (text(error, "the error"), text(cause, "the cause")) };
        let (answer, status) = match texts {
            (Ok(error), Ok(cause)) => (
                Answer::Fail { error: error.to_owned(), cause: (!cause.is_empty()).then(|| cause.to_owned()) },
                aslrt_status::ASLRT_OK,
            ),
            (Err(status), _) | (_, Err(status)) => {
                (Answer::Unreadable(LAST_ERROR.with(|e| e.borrow().clone())), status)
            }
        };
        give(reply, answer, status)
    })
}

/// Runs one execution of `machine` on `input` (JSON) on the calling thread, into `*out` (owned by
/// the caller, `aslrt_result_free`). A failed execution is a result, not an error: malformed
/// input JSON gives a FAILED result whose cause says where. On failure `*out` is left as it was.
///
/// # Safety
/// `machine` must be live; `input` a valid view; `out` writable storage for a pointer.
#[no_mangle]
pub unsafe extern "C" fn aslrt_machine_execute(
    machine: *const aslrt_machine,
    input: aslrt_str,
    out: *mut *mut aslrt_result,
) -> aslrt_status {
    guard(aslrt_status::ASLRT_PANIC, || {
        // SAFETY: the caller promises a live machine; it is only read.
        let Some(machine) = (unsafe { machine.as_ref() }) else {
            return fail(aslrt_status::ASLRT_NULL_ARGUMENT, "machine is NULL");
        };
        if out.is_null() {
            return fail(aslrt_status::ASLRT_NULL_ARGUMENT, "out is NULL");
        }
        // SAFETY: the caller promises a valid view.
        let event = match unsafe { bytes(input, "the input") } {
            Ok(b) => b,
            Err(status) => return status,
        };
        let outcome = SCRATCH.with(|s| match s.try_borrow_mut() {
            Ok(mut scratch) => machine.machine.execute(&mut scratch, event).to_outcome(),
            // A handler executing on its own thread from inside an execution: a scratch of its own.
            Err(_) => machine.machine.execute(&mut aslrt::Scratch::new(), event).to_outcome(),
        });
        // SAFETY: `out` is not NULL and the caller promises it is writable.
        unsafe { *out = result(outcome) };
        aslrt_status::ASLRT_OK
    })
}

thread_local! {
    static SCRATCH: RefCell<aslrt::Scratch> = RefCell::new(aslrt::Scratch::new());
}

/// How the execution ended. A NULL result reads as `ASLRT_ABORTED`.
///
/// # Safety
/// `result` must be NULL or a live result.
#[no_mangle]
pub unsafe extern "C" fn aslrt_result_status(result: *const aslrt_result) -> aslrt_execution_status {
    // SAFETY: the caller promises NULL or a live result; it is only read.
    match unsafe { result.as_ref() }.map(|r| r.outcome.status) {
        Some(Status::Succeeded) => aslrt_execution_status::ASLRT_SUCCEEDED,
        Some(Status::Failed) => aslrt_execution_status::ASLRT_FAILED,
        Some(Status::TimedOut) => aslrt_execution_status::ASLRT_TIMED_OUT,
        _ => aslrt_execution_status::ASLRT_ABORTED,
    }
}

fn field(result: *const aslrt_result, pick: impl Fn(&aslrt_result) -> &Option<Box<[u8]>>) -> aslrt_str {
    // SAFETY: the callers promise NULL or a live result; it is only read, and the view points
    // into the result, which owns it.
    let text = unsafe { result.as_ref() }.and_then(|r| pick(r).as_deref());
    match text {
        // The stored text ends with a NUL that the view leaves out.
        Some(t) => aslrt_str { ptr: t.as_ptr().cast(), len: t.len() - 1 },
        None => aslrt_str { ptr: std::ptr::null(), len: 0 },
    }
}

/// The output JSON of a SUCCEEDED execution, owned by the result (and NUL-terminated, so it may
/// be read as a C string too); `{NULL, 0}` otherwise.
///
/// # Safety
/// `result` must be NULL or a live result.
#[no_mangle]
pub unsafe extern "C" fn aslrt_result_output(result: *const aslrt_result) -> aslrt_str {
    field(result, |r| &r.output)
}

/// The error name of a FAILED or TIMED_OUT execution, owned by the result (NUL-terminated);
/// `{NULL, 0}` otherwise.
///
/// # Safety
/// `result` must be NULL or a live result.
#[no_mangle]
pub unsafe extern "C" fn aslrt_result_error(result: *const aslrt_result) -> aslrt_str {
    field(result, |r| &r.error)
}

/// The cause of a FAILED or TIMED_OUT execution, owned by the result (NUL-terminated); `{NULL,
/// 0}` when there is none.
///
/// # Safety
/// `result` must be NULL or a live result.
#[no_mangle]
pub unsafe extern "C" fn aslrt_result_cause(result: *const aslrt_result) -> aslrt_str {
    field(result, |r| &r.cause)
}

/// Frees a result and the views taken from it. NULL is ignored.
///
/// # Safety
/// `result` must be NULL or a result the caller owns, not yet freed.
#[no_mangle]
pub unsafe extern "C" fn aslrt_result_free(result: *mut aslrt_result) {
    guard((), || {
        if !result.is_null() {
            // SAFETY: the caller hands back ownership of a live result.
            drop(unsafe { Box::from_raw(result) });
        }
    })
}

/// Frees a machine. Executions already submitted keep what they need. NULL is ignored.
///
/// # Safety
/// `machine` must be NULL or a machine the caller owns, not yet freed, that no other thread is
/// passing to a call.
#[no_mangle]
pub unsafe extern "C" fn aslrt_machine_free(machine: *mut aslrt_machine) {
    guard((), || {
        if !machine.is_null() {
            // SAFETY: the caller hands back ownership of a live machine.
            drop(unsafe { Box::from_raw(machine) });
        }
    })
}

/// Starts a work-stealing pool of `threads` workers (0: one per core), owned by the caller until
/// `aslrt_runtime_free`. At most 65,536 executions submitted with `aslrt_runtime_submit` are in
/// flight at once (`aslrt_runtime_set_max_in_flight`). NULL only if a panic was caught.
#[no_mangle]
pub extern "C" fn aslrt_runtime_new(threads: usize) -> *mut aslrt_runtime {
    guard(std::ptr::null_mut(), || {
        let threads = if threads == 0 { std::thread::available_parallelism().map_or(1, |n| n.get()) } else { threads };
        let limit = Arc::new(InFlight {
            count: Mutex::new(0),
            max: std::sync::atomic::AtomicUsize::new(65_536),
            changed: Condvar::new(),
        });
        Box::into_raw(Box::new(aslrt_runtime { runtime: Some(Runtime::new(threads)), limit }))
    })
}

/// Sets the most executions submitted with `aslrt_runtime_submit` that may be in flight (at
/// least 1): past it, `aslrt_runtime_submit` blocks and `aslrt_runtime_try_submit` returns
/// `ASLRT_BUSY`.
///
/// # Safety
/// `runtime` must be a live runtime.
#[no_mangle]
pub unsafe extern "C" fn aslrt_runtime_set_max_in_flight(runtime: *mut aslrt_runtime, max: usize) -> aslrt_status {
    guard(aslrt_status::ASLRT_PANIC, || {
        // SAFETY: the caller promises a live runtime; it is only read.
        let Some(rt) = (unsafe { runtime.as_ref() }) else {
            return fail(aslrt_status::ASLRT_NULL_ARGUMENT, "runtime is NULL");
        };
        if max == 0 {
            return fail(aslrt_status::ASLRT_INVALID_ARGUMENT, "max in flight must be at least 1");
        }
        rt.limit.max.store(max, std::sync::atomic::Ordering::Relaxed);
        rt.limit.changed.notify_all();
        aslrt_status::ASLRT_OK
    })
}

/// Waits for every execution in flight (and every callback) to end, stops the workers and frees
/// the runtime. Executions still waiting for a task reply that is never answered end ABORTED
/// (their callbacks run), once nothing else is left to run. NULL is ignored. It must not be
/// called from a done callback or a handler.
///
/// # Safety
/// `runtime` must be NULL or a runtime the caller owns, not yet freed, that no other thread is
/// passing to a call.
#[no_mangle]
pub unsafe extern "C" fn aslrt_runtime_free(runtime: *mut aslrt_runtime) {
    guard((), || {
        if runtime.is_null() {
            return;
        }
        // SAFETY: the caller hands back ownership of a live runtime.
        let mut rt = unsafe { Box::from_raw(runtime) };
        let Some(pool) = rt.runtime.take() else { return };
        // Queued and running executions finish. Once every one left is waiting for a handler's
        // answer (a reply never answered), they end ABORTED.
        let mut count = rt.limit.count.lock().unwrap_or_else(|p| p.into_inner());
        let mut abort = false;
        while *count > 0 {
            if *count <= pool.waiting_on_handlers() {
                abort = true;
                break;
            }
            let wait = std::time::Duration::from_millis(10);
            count = rt.limit.changed.wait_timeout(count, wait).unwrap_or_else(|p| p.into_inner()).0;
        }
        drop(count);
        if abort {
            pool.shutdown_now();
        } else {
            pool.shutdown();
        }
        // Every callback has run once the count is back to zero.
        let mut count = rt.limit.count.lock().unwrap_or_else(|p| p.into_inner());
        while *count > 0 {
            count = rt.limit.changed.wait(count).unwrap_or_else(|p| p.into_inner());
        }
    })
}

/// Runs the `n` inputs across the pool and fills `results[0..n]` with their results, in input
/// order; the caller owns each (`aslrt_result_free`). On failure nothing is written. `inputs` may
/// be NULL when `n` is 0.
///
/// # Safety
/// `runtime` and `machine` must be live; `inputs` must point to `n` valid views and `results` to
/// `n` writable pointers.
#[no_mangle]
pub unsafe extern "C" fn aslrt_runtime_execute_batch(
    runtime: *mut aslrt_runtime,
    machine: *const aslrt_machine,
    inputs: *const aslrt_str,
    n: usize,
    results: *mut *mut aslrt_result,
) -> aslrt_status {
    guard(aslrt_status::ASLRT_PANIC, || {
        // SAFETY: the caller promises a live runtime and machine; both are only read.
        let (Some(rt), Some(machine)) = (unsafe { runtime.as_ref() }, unsafe { machine.as_ref() }) else {
            return fail(aslrt_status::ASLRT_NULL_ARGUMENT, "runtime or machine is NULL");
        };
        if n > 0 && (inputs.is_null() || results.is_null()) {
            return fail(aslrt_status::ASLRT_NULL_ARGUMENT, "inputs or results is NULL");
        }
        let Some(pool) = rt.runtime.as_ref() else {
            return fail(aslrt_status::ASLRT_SHUT_DOWN, "the runtime is shutting down");
        };
        let views: &[aslrt_str] = if n == 0 {
            &[]
        } else {
            // SAFETY: the caller promises `n` views at the non-NULL `inputs`.
            unsafe { std::slice::from_raw_parts(inputs, n) }
        };
        let mut events = Vec::with_capacity(n);
        for (i, v) in views.iter().enumerate() {
            // SAFETY: the caller promises each view is valid.
            match unsafe { bytes(*v, &format!("inputs[{i}]")) } {
                Ok(b) => events.push(b.to_vec()),
                Err(status) => return status,
            }
        }
        let outcomes = pool.execute_batch(&machine.machine, events);
        for (i, o) in outcomes.into_iter().enumerate() {
            // SAFETY: the caller promises `n` writable pointers at the non-NULL `results`.
            unsafe { *results.add(i) = result(o) };
        }
        aslrt_status::ASLRT_OK
    })
}

/// The streaming entry: copies `input`, queues one execution and returns at once; `done(userdata,
/// result)` is called exactly once when it ends (see `aslrt_done_fn`). When the most executions
/// are already in flight it blocks until one ends. The machine may be freed after this returns.
///
/// # Safety
/// `runtime` and `machine` must be live; `input` a valid view; `done` a function with the
/// `aslrt_done_fn` signature; `userdata` valid until `done` is called, from any thread.
#[no_mangle]
pub unsafe extern "C" fn aslrt_runtime_submit(
    runtime: *mut aslrt_runtime,
    machine: *const aslrt_machine,
    input: aslrt_str,
    done: aslrt_done_fn,
    userdata: *mut c_void,
) -> aslrt_status {
    // SAFETY: passed on from this function's contract.
    unsafe { submit(runtime, machine, input, done, userdata, true) }
}

/// As `aslrt_runtime_submit`, but returns `ASLRT_BUSY` instead of blocking when the most
/// executions are already in flight (nothing is queued then, and `done` is not called).
///
/// # Safety
/// As `aslrt_runtime_submit`.
#[no_mangle]
pub unsafe extern "C" fn aslrt_runtime_try_submit(
    runtime: *mut aslrt_runtime,
    machine: *const aslrt_machine,
    input: aslrt_str,
    done: aslrt_done_fn,
    userdata: *mut c_void,
) -> aslrt_status {
    // SAFETY: passed on from this function's contract.
    unsafe { submit(runtime, machine, input, done, userdata, false) }
}

/// # Safety
/// As `aslrt_runtime_submit`.
unsafe fn submit(
    runtime: *mut aslrt_runtime,
    machine: *const aslrt_machine,
    input: aslrt_str,
    done: aslrt_done_fn,
    userdata: *mut c_void,
    block: bool,
) -> aslrt_status {
    guard(aslrt_status::ASLRT_PANIC, || {
        // SAFETY: the caller promises a live runtime and machine; both are only read.
        let (Some(rt), Some(machine)) = (unsafe { runtime.as_ref() }, unsafe { machine.as_ref() }) else {
            return fail(aslrt_status::ASLRT_NULL_ARGUMENT, "runtime or machine is NULL");
        };
        let Some(done) = done else {
            return fail(aslrt_status::ASLRT_NULL_ARGUMENT, "done is NULL");
        };
        let Some(pool) = rt.runtime.as_ref() else {
            return fail(aslrt_status::ASLRT_SHUT_DOWN, "the runtime is shutting down");
        };
        // SAFETY: the caller promises a valid view; it is copied before this returns.
        let event = match unsafe { bytes(input, "the input") } {
            Ok(b) => b.to_vec(),
            Err(status) => return status,
        };
        {
            let mut count = rt.limit.count.lock().unwrap_or_else(|p| p.into_inner());
            while *count >= rt.limit.max.load(std::sync::atomic::Ordering::Relaxed) {
                if !block {
                    return fail(aslrt_status::ASLRT_BUSY, "the most executions are already in flight");
                }
                count = rt.limit.changed.wait(count).unwrap_or_else(|p| p.into_inner());
            }
            *count += 1;
        }
        let limit = Arc::clone(&rt.limit);
        let userdata = UserData(userdata);
        pool.submit(&machine.machine, event, move |outcome| {
            let userdata = userdata;
            // SAFETY: `done` is the caller's callback, called once with a result it now owns
            // and the userdata it gave for this execution, as the header describes.
            unsafe { done(userdata.0, result(outcome)) };
            let mut count = limit.count.lock().unwrap_or_else(|p| p.into_inner());
            *count -= 1;
            limit.changed.notify_all();
        });
        aslrt_status::ASLRT_OK
    })
}

/// Writes the runtime's metrics (CloudWatch's Step Functions set, in Prometheus text format) into
/// `buf` as `aslrt_last_error` does: NUL-terminated, truncated to `cap`, and returns the full
/// length. `buf` may be NULL when `cap` is 0. Returns 0 for a NULL runtime.
///
/// # Safety
/// `runtime` must be NULL or live; `buf`, when not NULL, must point to `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn aslrt_runtime_metrics(runtime: *mut aslrt_runtime, buf: *mut c_char, cap: usize) -> usize {
    guard(0, || {
        // SAFETY: the caller promises NULL or a live runtime; it is only read.
        let Some(pool) = (unsafe { runtime.as_ref() }).and_then(|r| r.runtime.as_ref()) else {
            return 0;
        };
        // SAFETY: passed on from this function's contract.
        unsafe { copy_out(&pool.metrics().snapshot().prometheus(), buf, cap) }
    })
}
