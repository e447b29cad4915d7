//! Compiling definitions (with or without a builder of handlers), running one execution on the
//! calling thread, and reading its result.

use super::handler::{CHandler, UserData};
use super::*;

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
/// negative value: the time of each execution's start); it is ignored for the system and the
/// zero-delay clocks.
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
/// The builder keeps `userdata`, never reading through it; the caller keeps it valid until every
/// machine compiled from this builder is freed and every execution of them has ended (a
/// submitted execution outlives `aslrt_machine_free`).
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

/// Allows the Tasks of the machines the builder compiles to invoke `pattern`: a Resource ARN, a
/// pattern (`*` any run of characters, `?` one) or a Lambda function's name. Once one is
/// allowed, only allowed resources are: compiling fails (`ASLRT_INVALID_DEFINITION`) on a Task
/// naming another, and a `lambda:invoke` FunctionName outside them at run time fails its Task
/// with `Lambda.AWSLambdaException`, which Retry and Catch see. Without any, every resource is.
///
/// # Safety
/// `builder` must come from `aslrt_builder_new` and not be consumed or freed; `pattern` must be
/// a valid view.
#[no_mangle]
pub unsafe extern "C" fn aslrt_builder_allow_resource(builder: *mut aslrt_builder, pattern: aslrt_str) -> aslrt_status {
    guard(aslrt_status::ASLRT_PANIC, || {
        // SAFETY: the caller promises a live builder from aslrt_builder_new, used by one thread.
        let Some(builder) = (unsafe { builder.as_mut() }) else {
            return fail(aslrt_status::ASLRT_NULL_ARGUMENT, "builder is NULL");
        };
        // SAFETY: the caller promises a valid view.
        let pattern = match unsafe { text(pattern, "the pattern") } {
            Ok(p) => p,
            Err(status) => return status,
        };
        if pattern.is_empty() {
            return fail(aslrt_status::ASLRT_INVALID_ARGUMENT, "the pattern is empty");
        }
        let mut allowed = builder.config.allowed_resources.take().unwrap_or_default();
        allowed.push(pattern.to_owned());
        builder.config = std::mem::take(&mut builder.config).allow_resources(allowed);
        aslrt_status::ASLRT_OK
    })
}

/// Sets the limit `name` of the machines the builder compiles to `value`: `name` is a field of
/// the crate's `RuntimeLimits` (`max_payload_bytes`, `max_execution_seconds`,
/// `max_transitions`, `max_depth`, `max_arena_bytes`, `max_definition_bytes`, `max_states`,
/// `max_jsonata_depth`, `max_jsonata_steps`, `max_map_items`); a value past the field's type
/// is its largest. An unknown name is `ASLRT_INVALID_ARGUMENT`, and `aslrt_last_error` lists
/// the known ones. Unset, each is AWS's quota (Express workflows).
///
/// # Safety
/// `builder` must come from `aslrt_builder_new` and not be consumed or freed; `name` must be a
/// valid view.
#[no_mangle]
pub unsafe extern "C" fn aslrt_builder_set_limit(
    builder: *mut aslrt_builder,
    name: aslrt_str,
    value: u64,
) -> aslrt_status {
    guard(aslrt_status::ASLRT_PANIC, || {
        // SAFETY: the caller promises a live builder from aslrt_builder_new, used by one thread.
        let Some(builder) = (unsafe { builder.as_mut() }) else {
            return fail(aslrt_status::ASLRT_NULL_ARGUMENT, "builder is NULL");
        };
        // SAFETY: the caller promises a valid view.
        let name = match unsafe { text(name, "the limit's name") } {
            Ok(n) => n,
            Err(status) => return status,
        };
        let mut limits = builder.config.limits;
        if let Err(why) = limits.set(name, value) {
            return fail(aslrt_status::ASLRT_INVALID_ARGUMENT, why);
        }
        builder.config = std::mem::take(&mut builder.config).limits(limits);
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
    let builder = guard(None, || {
        // SAFETY: the caller hands over ownership of a live builder from aslrt_builder_new.
        (!builder.is_null()).then(|| unsafe { Box::from_raw(builder) })
    });
    let Some(builder) = builder else {
        return fail(aslrt_status::ASLRT_NULL_ARGUMENT, "builder is NULL");
    };
    // SAFETY: passed on from this function's contract.
    unsafe { compile(builder.handlers, builder.config, definition, out) }
}

/// Runs one execution of `machine` on `input` (JSON) on the calling thread, into `*out` (owned by
/// the caller, `aslrt_result_free`). A failed execution is a result, not an error: malformed
/// input JSON gives a FAILED result whose cause says where. On failure `*out` is left as it was.
/// A handler that answers later (`ASLRT_TASK_PENDING`) is waited for on this thread, until its
/// answer or its Task's TimeoutSeconds; without TimeoutSeconds, until it is answered.
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
