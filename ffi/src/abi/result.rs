//! Results: an execution's outcome, owned by the caller, with views into its texts.

use super::*;

/// An execution's outcome. Owned by whoever it was handed to, until `aslrt_result_free`; the
/// views its accessors return live as long as it does.
pub struct aslrt_result {
    outcome: Outcome,
}

/// A result the caller will own. Two allocations, a small one and the texts, measured faster
/// under glibc's malloc than one allocation per result or a block shared by neighbouring results:
/// those let a freed batch coalesce and be given back to the kernel, and the next batch then
/// page-faults its memory in again (docs/performance.md, issue #15).
pub(super) fn result(outcome: Outcome) -> *mut aslrt_result {
    Box::into_raw(Box::new(aslrt_result { outcome }))
}

/// How the execution ended. A NULL result reads as `ASLRT_ABORTED`.
///
/// # Safety
/// `result` must be NULL or a live result.
#[no_mangle]
pub unsafe extern "C" fn aslrt_result_status(result: *const aslrt_result) -> aslrt_execution_status {
    guard(aslrt_execution_status::ASLRT_ABORTED, || {
        // SAFETY: the caller promises NULL or a live result; it is only read.
        match unsafe { result.as_ref() }.map(|r| r.outcome.status) {
            Some(Status::Succeeded) => aslrt_execution_status::ASLRT_SUCCEEDED,
            Some(Status::Failed) => aslrt_execution_status::ASLRT_FAILED,
            Some(Status::TimedOut) => aslrt_execution_status::ASLRT_TIMED_OUT,
            _ => aslrt_execution_status::ASLRT_ABORTED,
        }
    })
}

fn field(result: *const aslrt_result, pick: impl Fn(&Outcome) -> &Option<String>) -> aslrt_str {
    let none = aslrt_str { ptr: std::ptr::null(), len: 0 };
    guard(none, || {
        // SAFETY: the callers promise NULL or a live result; it is only read, and the view
        // points into the result, which owns it.
        match unsafe { result.as_ref() }.and_then(|r| pick(&r.outcome).as_deref()) {
            Some(t) => view(t.as_bytes()),
            None => none,
        }
    })
}

/// The output JSON of a SUCCEEDED execution, owned by the result (a view: not NUL-terminated);
/// `{NULL, 0}` otherwise.
///
/// # Safety
/// `result` must be NULL or a live result.
#[no_mangle]
pub unsafe extern "C" fn aslrt_result_output(result: *const aslrt_result) -> aslrt_str {
    field(result, |o| &o.output)
}

/// The error name of a FAILED or TIMED_OUT execution, owned by the result; `{NULL, 0}`
/// otherwise.
///
/// # Safety
/// `result` must be NULL or a live result.
#[no_mangle]
pub unsafe extern "C" fn aslrt_result_error(result: *const aslrt_result) -> aslrt_str {
    field(result, |o| &o.error)
}

/// The cause of a FAILED or TIMED_OUT execution, owned by the result; `{NULL, 0}` when there is
/// none.
///
/// # Safety
/// `result` must be NULL or a live result.
#[no_mangle]
pub unsafe extern "C" fn aslrt_result_cause(result: *const aslrt_result) -> aslrt_str {
    field(result, |o| &o.cause)
}

/// Frees a result and the views taken from it, on any thread. NULL is ignored.
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
