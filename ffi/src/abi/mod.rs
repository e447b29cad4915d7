//! Every exported function and type of the C ABI. The doc comments here are the header's.
//!
//! The rules every function keeps:
//! - a panic never crosses the boundary: each body runs inside `catch_unwind`, and a caught
//!   panic returns `ASLRT_PANIC` with the message in `aslrt_last_error`;
//! - every pointer is checked for NULL, and a length is trusted only together with its pointer;
//! - an output parameter is written only on success;
//! - a failing call leaves a message for `aslrt_last_error` on the calling thread.
#![allow(non_camel_case_types)]

mod handler;
mod machine;
mod result;
mod runtime;

pub use handler::*;
pub use machine::*;
pub use result::*;
pub use runtime::*;

use aslrt::{
    ArenaExt, Cancel, Clock, Config, Error, ErrorKind, Handlers, Outcome, Runtime, RuntimeBuilder, StateMachine,
    Status, TaskAnswer, TaskContext, TaskError, TaskHandler, Value,
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
    /// The call would wait for the worker making it: `aslrt_runtime_execute_batch` or
    /// `aslrt_runtime_free` from a done callback of the same runtime.
    ASLRT_WOULD_DEADLOCK = 12,
    /// The system refused what the call needed: `aslrt_runtime_new` could not start a thread.
    ASLRT_NO_RESOURCES = 13,
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
/// until `aslrt_builder_compile` (which consumes it) or `aslrt_builder_free`; used from one
/// thread at a time.
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

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

fn fail(status: aslrt_status, message: impl Into<String>) -> aslrt_status {
    let message = message.into();
    // A thread that is exiting has no last error left to set.
    let _ = LAST_ERROR.try_with(|e| *e.borrow_mut() = message);
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
unsafe fn bytes<'a>(s: aslrt_str, what: impl std::fmt::Display) -> Result<&'a [u8], aslrt_status> {
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
unsafe fn text<'a>(s: aslrt_str, what: impl std::fmt::Display) -> Result<&'a str, aslrt_status> {
    // SAFETY: passed on from this function's own contract.
    let b = unsafe { bytes(s, &what) }?;
    std::str::from_utf8(b).map_err(|e| fail(aslrt_status::ASLRT_INVALID_UTF8, format!("{what} is not UTF-8: {e}")))
}

fn view(b: &[u8]) -> aslrt_str {
    aslrt_str { ptr: b.as_ptr().cast(), len: b.len() }
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

/// The library's version, as a NUL-terminated string owned by the library (static).
#[no_mangle]
pub extern "C" fn aslrt_version() -> *const c_char {
    guard(std::ptr::null(), || concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast())
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
