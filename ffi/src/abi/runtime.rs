//! The work-stealing pool from C: batches, submissions with completion callbacks, metrics.

use super::handler::UserData;
use super::*;

/// Called once per submitted execution when it ends, on a worker thread. The callee owns
/// `result` and must free it with `aslrt_result_free`. It may submit more work (blocking
/// `aslrt_runtime_submit` included: the execution's slot is free before the callback runs), but
/// must not free the runtime, nor call it once `aslrt_runtime_free` has begun. It must not
/// unwind (no C++ exception or longjmp may leave it).
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
        let _count = rt.limit.count.lock().unwrap_or_else(|p| p.into_inner());
        rt.limit.max.store(max, std::sync::atomic::Ordering::Relaxed);
        rt.limit.changed.notify_all();
        aslrt_status::ASLRT_OK
    })
}

/// Waits for every execution in flight (and every callback) to end, stops the workers and frees
/// the runtime. Executions that only a task reply's answer could move on end ABORTED (their
/// callbacks run) once nothing else is left to run and no answer has come for 100 ms. NULL is
/// ignored. It must not be called from a done callback or a handler.
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
        // Stuck: every execution in flight waits only on a handler's answer, with nothing queued,
        // running or on a timer; taken as final once it has stayed so, with the same executions
        // and no answer given, for GRACE.
        const GRACE: std::time::Duration = std::time::Duration::from_millis(100);
        let mut count = rt.limit.count.lock().unwrap_or_else(|p| p.into_inner());
        let mut abort = false;
        let mut stuck_since: Option<((usize, u64), std::time::Instant)> = None;
        while *count > 0 {
            if *count <= pool.stuck_on_handlers() {
                let now = (*count, super::handler::ANSWERS.load(std::sync::atomic::Ordering::Acquire));
                match stuck_since {
                    Some((seen, since)) if seen == now => {
                        if since.elapsed() >= GRACE {
                            abort = true;
                            break;
                        }
                    }
                    _ => stuck_since = Some((now, std::time::Instant::now())),
                }
            } else {
                stuck_since = None;
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
        // Every execution has ended and begun its callback once the count is back to zero; the
        // workers that run the callbacks were joined by the shutdown above.
        let mut count = rt.limit.count.lock().unwrap_or_else(|p| p.into_inner());
        while *count > 0 {
            count = rt.limit.changed.wait(count).unwrap_or_else(|p| p.into_inner());
        }
    })
}

/// Runs the `n` inputs across the pool and fills `results[0..n]` with their results, in input
/// order; the caller owns each (`aslrt_result_free`). On failure nothing is written. `inputs` may
/// be NULL when `n` is 0. The inputs are read in place until this returns: the caller must not
/// change or free them meanwhile.
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
            match unsafe { bytes(*v, format_args!("inputs[{i}]")) } {
                Ok(b) => events.push(Borrowed { ptr: b.as_ptr(), len: b.len() }),
                Err(status) => return status,
            }
        }
        // The caller's inputs are read in place, not copied: execute_batch returns only once
        // every event has run and been dropped, and the caller keeps them valid until this call
        // returns.
        // Each result is made on the worker that ran its execution.
        let made = pool.execute_batch_with(&machine.machine, events, |e| Made(result(e.to_outcome())));
        for (i, Made(r)) in made.into_iter().enumerate() {
            // SAFETY: the caller promises `n` writable pointers at the non-NULL `results`.
            unsafe { *results.add(i) = r };
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
            // The slot is free before the callback runs, so that a callback may submit the next
            // event even at the limit. The workers, which run the callbacks, are joined before
            // aslrt_runtime_free returns.
            {
                let mut count = limit.count.lock().unwrap_or_else(|p| p.into_inner());
                *count -= 1;
                limit.changed.notify_all();
            }
            // SAFETY: `done` is the caller's callback, called once with a result it now owns
            // and the userdata it gave for this execution, as the header describes.
            unsafe { done(userdata.0, result(outcome)) };
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

/// One input of `aslrt_runtime_execute_batch`, read where the caller keeps it.
struct Borrowed {
    ptr: *const u8,
    len: usize,
}

// SAFETY: the bytes are only read, by one worker at a time, while the caller (blocked in
// aslrt_runtime_execute_batch) keeps them valid and unchanged, as the header requires.
unsafe impl Send for Borrowed {}

impl AsRef<[u8]> for Borrowed {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `ptr` and `len` come from a valid view of the caller's, which stays valid
        // until aslrt_runtime_execute_batch returns; execute_batch drops every event before it
        // returns, so no reference outlives the call.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// A result made on a worker, on its way to the caller's array.
struct Made(*mut aslrt_result);

// SAFETY: the pointer is a fresh Box's, owned by no one else, moved once to the calling thread.
unsafe impl Send for Made {}
