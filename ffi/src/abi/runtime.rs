//! The work-stealing pool from C: batches, submissions with completion callbacks, metrics.

use super::handler::UserData;
use super::*;
use std::cell::Cell;
use std::sync::atomic::AtomicUsize;
use std::sync::RwLock;

/// Called once per submitted execution when it ends, on a worker thread. The callee owns
/// `result` and must free it with `aslrt_result_free`. It may submit more work: there
/// `aslrt_runtime_submit` never blocks (past the limit it counts the execution in flight all the
/// same), and once `aslrt_runtime_free` has begun it returns `ASLRT_SHUT_DOWN`. It must not free
/// the runtime, and `aslrt_runtime_execute_batch` on the runtime running it returns
/// `ASLRT_WOULD_DEADLOCK`. It must not unwind (no C++ exception or longjmp may leave it).
pub type aslrt_done_fn = Option<unsafe extern "C" fn(userdata: *mut c_void, result: *mut aslrt_result)>;

/// A work-stealing pool of worker threads. Owned by the caller from `aslrt_runtime_new` (or
/// `aslrt_runtime_builder_build`) until `aslrt_runtime_free`. Every function taking it may be
/// called from any thread at once, until `aslrt_runtime_free` begins.
pub struct aslrt_runtime {
    /// Read by every call; taken by `aslrt_runtime_free` to stop the workers.
    runtime: RwLock<Option<Runtime>>,
    limit: Arc<InFlight>,
    /// Cancelled when `aslrt_runtime_free` begins: submissions waiting for room in the queue
    /// give up.
    stop_waiting: Cancel,
    /// How long `aslrt_runtime_free` waits for an answer before it aborts (milliseconds).
    grace_ms: AtomicU64,
}

/// The submitted executions in flight and the callbacks running, with the most executions
/// there may be.
struct InFlight {
    state: Mutex<Flight>,
    max: AtomicUsize,
    changed: Condvar,
}

#[derive(Default)]
struct Flight {
    executions: usize,
    callbacks: usize,
    /// Submissions blocked at the limit: `aslrt_runtime_free` wakes them (they return
    /// `ASLRT_SHUT_DOWN`) and waits for them to leave.
    waiting: usize,
    /// `aslrt_runtime_free` has begun: submissions are refused.
    closing: bool,
}

impl InFlight {
    fn lock(&self) -> std::sync::MutexGuard<'_, Flight> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A submission counted in flight but never queued: no longer counted.
    fn uncount(&self) {
        self.lock().executions -= 1;
        self.changed.notify_all();
    }
}

thread_local! {
    /// The runtime (its `InFlight`) whose done callback this thread is running, or NULL.
    static IN_DONE: Cell<*const InFlight> = const { Cell::new(std::ptr::null()) };
}

/// A done callback running on this thread: marks the thread as inside it, and counts the
/// callback as ended when dropped, whatever happens.
struct Calling<'a> {
    limit: &'a Arc<InFlight>,
    outer: *const InFlight,
}

impl<'a> Calling<'a> {
    fn enter(limit: &'a Arc<InFlight>) -> Calling<'a> {
        Calling { limit, outer: IN_DONE.with(|c| c.replace(Arc::as_ptr(limit))) }
    }
}

impl Drop for Calling<'_> {
    fn drop(&mut self) {
        IN_DONE.with(|c| c.set(self.outer));
        let mut state = self.limit.lock();
        state.callbacks -= 1;
        self.limit.changed.notify_all();
    }
}

/// Starts a work-stealing pool of `threads` workers (0: one per core, at most 1024), owned by
/// the caller until `aslrt_runtime_free`. At most 65,536 executions submitted with
/// `aslrt_runtime_submit` are in flight at once (`aslrt_runtime_set_max_in_flight`). NULL, with
/// the reason in `aslrt_last_error`, for more than 1024 threads, if the threads cannot be
/// started, or if a panic was caught. `aslrt_runtime_builder_new` starts one with more settings.
#[no_mangle]
pub extern "C" fn aslrt_runtime_new(threads: usize) -> *mut aslrt_runtime {
    guard(std::ptr::null_mut(), || match start(threads, Runtime::builder()) {
        Ok(runtime) => Box::into_raw(runtime),
        Err(_) => std::ptr::null_mut(),
    })
}

/// Starts `threads` workers (0: one per core) with `builder`'s other settings; on failure the
/// reason is left for `aslrt_last_error`.
fn start(threads: usize, builder: RuntimeBuilder) -> Result<Box<aslrt_runtime>, aslrt_status> {
    let builder = match threads {
        // The builder's default: one per core.
        0 => builder,
        n if n > Runtime::MAX_THREADS => {
            let max = Runtime::MAX_THREADS;
            return Err(fail(aslrt_status::ASLRT_INVALID_ARGUMENT, format!("{n} threads: at most {max}")));
        }
        n => builder.threads(n),
    };
    let started = builder.build().map_err(|e| fail(aslrt_status::ASLRT_NO_RESOURCES, e.to_string()))?;
    let limit = Arc::new(InFlight { state: Mutex::default(), max: AtomicUsize::new(65_536), changed: Condvar::new() });
    let runtime = RwLock::new(Some(started));
    Ok(Box::new(aslrt_runtime { runtime, limit, stop_waiting: Cancel::new(), grace_ms: AtomicU64::new(1000) }))
}

/// A runtime's settings before it starts: `aslrt_runtime_builder_new`, the
/// `aslrt_runtime_builder_set_*` functions, then `aslrt_runtime_builder_build`.
pub struct aslrt_runtime_builder {
    threads: usize,
    builder: RuntimeBuilder,
}

/// Settings for a runtime of `threads` workers (0: one per core, at most 1024), with the
/// defaults of `aslrt_runtime_new`; owned by the caller until `aslrt_runtime_builder_build`
/// consumes it or `aslrt_runtime_builder_free` frees it. NULL only if a panic was caught.
#[no_mangle]
pub extern "C" fn aslrt_runtime_builder_new(threads: usize) -> *mut aslrt_runtime_builder {
    guard(std::ptr::null_mut(), || {
        Box::into_raw(Box::new(aslrt_runtime_builder { threads, builder: Runtime::builder() }))
    })
}

/// Runs `f` on the live builder `builder`, or says that it is NULL.
///
/// # Safety
/// `builder` must be NULL or a live builder from `aslrt_runtime_builder_new`, used by one thread.
unsafe fn set(
    builder: *mut aslrt_runtime_builder,
    f: impl FnOnce(RuntimeBuilder) -> Result<RuntimeBuilder, aslrt_status>,
) -> aslrt_status {
    guard(aslrt_status::ASLRT_PANIC, || {
        // SAFETY: the caller promises NULL or a live builder, used by one thread.
        let Some(b) = (unsafe { builder.as_mut() }) else {
            return fail(aslrt_status::ASLRT_NULL_ARGUMENT, "builder is NULL");
        };
        match f(b.builder.clone()) {
            Ok(changed) => {
                b.builder = changed;
                aslrt_status::ASLRT_OK
            }
            Err(status) => status,
        }
    })
}

/// Bounds the bytes held by submitted executions not yet started to about `bytes` (at least
/// 1; default: no bound): each counts its event's length and 512 bytes. At the bound,
/// `aslrt_runtime_submit` blocks and `aslrt_runtime_try_submit` returns `ASLRT_BUSY` until the
/// workers have started enough of them, so that a burst of submissions waits in the
/// submitter rather than in memory. `ASLRT_QUEUED_BYTES_PER_WORKER` times the workers (the
/// `threads` given, or the number of cores for 0) suits most hosts. Submissions on a worker
/// thread (from a done callback, or a handler the pool runs) are admitted past it; one
/// blocked here when `aslrt_runtime_free` begins returns `ASLRT_SHUT_DOWN`. A thread that
/// submits must not hold what the done callbacks or handlers need (a lock of the host's), or
/// neither can go on.
///
/// # Safety
/// `builder` must come from `aslrt_runtime_builder_new`, not yet consumed or freed.
#[no_mangle]
pub unsafe extern "C" fn aslrt_runtime_builder_set_max_queued_bytes(
    builder: *mut aslrt_runtime_builder,
    bytes: usize,
) -> aslrt_status {
    // SAFETY: passed on as the caller promised it.
    unsafe {
        set(builder, |b| match bytes {
            0 => Err(fail(aslrt_status::ASLRT_INVALID_ARGUMENT, "max queued bytes must be at least 1")),
            n => Ok(b.max_queued_bytes(n)),
        })
    }
}

/// A bound for `aslrt_runtime_builder_set_max_queued_bytes` that suits most hosts, for each
/// worker: 2 MiB.
pub const ASLRT_QUEUED_BYTES_PER_WORKER: usize = 2 << 20;
const _: () = assert!(ASLRT_QUEUED_BYTES_PER_WORKER == RuntimeBuilder::QUEUED_BYTES_PER_WORKER);

/// An execution whose only waits are timers (Waits, retry back-offs) at least `millis` away
/// packs its journal and its event into one compressed block while it waits: a few
/// microseconds each way, for a third to a half of the memory. Default 100 ms; a negative
/// `millis`: never. Only machines on the system clock (`ASLRT_CLOCK_SYSTEM`) wait on timers.
///
/// # Safety
/// `builder` must come from `aslrt_runtime_builder_new`, not yet consumed or freed.
#[no_mangle]
pub unsafe extern "C" fn aslrt_runtime_builder_set_pack_waits_after(
    builder: *mut aslrt_runtime_builder,
    millis: i64,
) -> aslrt_status {
    let after = u64::try_from(millis).ok().map(std::time::Duration::from_millis);
    // SAFETY: passed on as the caller promised it.
    unsafe { set(builder, |b| Ok(b.pack_waits_after(after))) }
}

/// A debugging aid (default false): every run of a suspended execution starts again from the
/// execution's start and replays what its handlers answered, which Waits elapsed and what the
/// clock read, instead of going on from the top-level state it stopped in. Outcomes are the
/// same; the cost grows with the square of the waits, and each outcome is kept until the
/// execution ends.
///
/// # Safety
/// `builder` must come from `aslrt_runtime_builder_new`, not yet consumed or freed.
#[no_mangle]
pub unsafe extern "C" fn aslrt_runtime_builder_set_replay_from_start(
    builder: *mut aslrt_runtime_builder,
    yes: bool,
) -> aslrt_status {
    // SAFETY: passed on as the caller promised it.
    unsafe { set(builder, |b| Ok(b.replay_from_start(yes))) }
}

/// Starts the runtime the builder describes into `*out` (owned by the caller,
/// `aslrt_runtime_free`), as `aslrt_runtime_new` would. The builder is consumed whether this
/// succeeds or fails: do not use or free it afterwards. On failure `*out` is left as it was
/// (`ASLRT_INVALID_ARGUMENT` for more than 1024 threads, `ASLRT_NO_RESOURCES` if the threads
/// cannot be started).
///
/// # Safety
/// `builder` must come from `aslrt_runtime_builder_new`, not yet consumed or freed; `out` must
/// point to writable storage for a pointer.
#[no_mangle]
pub unsafe extern "C" fn aslrt_runtime_builder_build(
    builder: *mut aslrt_runtime_builder,
    out: *mut *mut aslrt_runtime,
) -> aslrt_status {
    guard(aslrt_status::ASLRT_PANIC, || {
        if builder.is_null() {
            return fail(aslrt_status::ASLRT_NULL_ARGUMENT, "builder is NULL");
        }
        // SAFETY: the caller hands back ownership of a live builder; consumed from here on.
        let aslrt_runtime_builder { threads, builder } = *unsafe { Box::from_raw(builder) };
        if out.is_null() {
            return fail(aslrt_status::ASLRT_NULL_ARGUMENT, "out is NULL");
        }
        match start(threads, builder) {
            Ok(runtime) => {
                // SAFETY: `out` is not NULL and the caller promises it is writable.
                unsafe { *out = Box::into_raw(runtime) };
                aslrt_status::ASLRT_OK
            }
            Err(status) => status,
        }
    })
}

/// Frees a builder that was never built. NULL is ignored.
///
/// # Safety
/// `builder` must be NULL or come from `aslrt_runtime_builder_new`, not yet consumed or freed.
#[no_mangle]
pub unsafe extern "C" fn aslrt_runtime_builder_free(builder: *mut aslrt_runtime_builder) {
    guard((), || {
        if !builder.is_null() {
            // SAFETY: the caller hands back ownership of a builder from aslrt_runtime_builder_new.
            drop(unsafe { Box::from_raw(builder) });
        }
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
        let _state = rt.limit.lock();
        rt.limit.max.store(max, Ordering::Relaxed);
        rt.limit.changed.notify_all();
        aslrt_status::ASLRT_OK
    })
}

/// Sets how long `aslrt_runtime_free` waits for a task reply's answer (default 1,000 ms) before
/// it ends the executions that only such an answer could move on as ABORTED.
///
/// # Safety
/// `runtime` must be a live runtime.
#[no_mangle]
pub unsafe extern "C" fn aslrt_runtime_set_shutdown_grace(runtime: *mut aslrt_runtime, millis: u64) -> aslrt_status {
    guard(aslrt_status::ASLRT_PANIC, || {
        // SAFETY: the caller promises a live runtime; it is only read.
        let Some(rt) = (unsafe { runtime.as_ref() }) else {
            return fail(aslrt_status::ASLRT_NULL_ARGUMENT, "runtime is NULL");
        };
        rt.grace_ms.store(millis, Ordering::Relaxed);
        aslrt_status::ASLRT_OK
    })
}

/// Refuses new submissions (`ASLRT_SHUT_DOWN`), waits for every execution in flight and every
/// done callback to end, stops the workers and frees the runtime. Executions that only a task
/// reply's answer could move on end ABORTED (their callbacks run) once nothing else is left to
/// run and no answer has come for the shutdown grace (`aslrt_runtime_set_shutdown_grace`).
/// NULL is ignored. Called from a done callback of this runtime it frees nothing and leaves a
/// message for `aslrt_last_error`. It must not be called from a handler.
///
/// # Safety
/// `runtime` must be NULL or a runtime the caller owns, not yet freed. No other thread may be in
/// a call on it or make one, except its own done callbacks and submissions already blocked at
/// either bound, in flight or queued bytes (both are refused with `ASLRT_SHUT_DOWN` from here
/// on).
#[no_mangle]
pub unsafe extern "C" fn aslrt_runtime_free(runtime: *mut aslrt_runtime) {
    guard((), || {
        // SAFETY: the caller promises NULL or a live runtime. Until the workers are joined it is
        // only read, since done callbacks may read it too.
        let Some(rt) = (unsafe { runtime.as_ref() }) else { return };
        if IN_DONE.with(Cell::get) == Arc::as_ptr(&rt.limit) {
            fail(aslrt_status::ASLRT_WOULD_DEADLOCK, "aslrt_runtime_free from a done callback of the same runtime");
            return;
        }
        let mut state = rt.limit.lock();
        state.closing = true;
        // Blocked submissions wake, see `closing` and leave; those waiting for room in the
        // queue give up within 50 ms.
        rt.stop_waiting.cancel();
        rt.limit.changed.notify_all();
        // Stuck: every execution in flight waits only on a handler's answer, with nothing
        // queued, running, on a timer or in a callback; taken as final once it has stayed so,
        // with the same executions and no answer given, for the grace.
        let grace = std::time::Duration::from_millis(rt.grace_ms.load(Ordering::Relaxed));
        let mut abort = false;
        let mut stuck_since: Option<((usize, u64), std::time::Instant)> = None;
        while state.executions > 0 || state.callbacks > 0 || state.waiting > 0 {
            let (in_flight, stuck) = rt
                .runtime
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
                .map_or((0, 0), |p| (p.in_flight(), p.stuck_on_handlers()));
            if state.callbacks == 0 && state.waiting == 0 && state.executions.max(in_flight) <= stuck {
                let now = (state.executions, super::handler::ANSWERS.load(Ordering::Acquire));
                match stuck_since {
                    Some((seen, since)) if seen == now => {
                        if since.elapsed() >= grace {
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
            state = rt.limit.changed.wait_timeout(state, wait).unwrap_or_else(|p| p.into_inner()).0;
        }
        drop(state);
        let pool = rt.runtime.write().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(pool) = pool {
            // Aborted executions' callbacks run on the workers during shutdown_now; they find
            // the runtime closing.
            if abort {
                pool.shutdown_now();
            } else {
                pool.shutdown();
            }
        }
        // The workers, which ran every callback, are joined; the counts are back to zero.
        let mut state = rt.limit.lock();
        while state.executions > 0 || state.callbacks > 0 || state.waiting > 0 {
            state = rt.limit.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        drop(state);
        // SAFETY: the caller hands back ownership; no worker or callback can reach it now.
        drop(unsafe { Box::from_raw(runtime) });
    })
}

/// Runs the `n` inputs across the pool and fills `results[0..n]` with their results, in input
/// order; the caller owns each (`aslrt_result_free`). On failure nothing is written. `inputs` may
/// be NULL when `n` is 0. The inputs are read in place until this returns: the caller must not
/// change or free them meanwhile. It returns when every execution has ended: a Task whose
/// handler never answers ends only at its TimeoutSeconds or, on the system clock, at the
/// execution's time limit (on a virtual clock only Waits and back-offs spend it). From a
/// done callback of the same runtime it returns `ASLRT_WOULD_DEADLOCK`.
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
        if IN_DONE.with(Cell::get) == Arc::as_ptr(&rt.limit) {
            return fail(
                aslrt_status::ASLRT_WOULD_DEADLOCK,
                "a batch from a done callback would wait for the worker running the callback",
            );
        }
        let pool = rt.runtime.read().unwrap_or_else(|p| p.into_inner());
        let (Some(pool), false) = (pool.as_ref(), rt.limit.lock().closing) else {
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
        for (i, m) in made.into_iter().enumerate() {
            // SAFETY: the caller promises `n` writable pointers at the non-NULL `results`.
            unsafe { *results.add(i) = m.into_raw() };
        }
        aslrt_status::ASLRT_OK
    })
}

/// The streaming entry: copies `input`, queues one execution and returns at once; `done(userdata,
/// result)` is called exactly once when it ends (see `aslrt_done_fn`). When the most executions
/// are already in flight it blocks until one ends (not in a done callback or a handler: there it
/// goes past the limit), and at the bound on queued bytes
/// (`aslrt_runtime_builder_set_max_queued_bytes`) until the workers have started enough (not on
/// a worker thread, where done callbacks and the pool's handlers run: there it goes past). The
/// machine may be freed after this returns. On failure (a NULL
/// argument, `ASLRT_SHUT_DOWN` once `aslrt_runtime_free` has begun) nothing is queued and
/// `done` is not called.
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
/// executions are already in flight or at the bound on queued bytes (nothing is queued then,
/// and `done` is not called).
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
        // SAFETY: the caller promises a valid view; it is copied before this returns.
        let event = match unsafe { bytes(input, "the input") } {
            Ok(b) => b.to_vec(),
            Err(status) => return status,
        };
        // On a worker (in a done callback or a handler) waiting for a slot could wait for the
        // worker itself: there the limit is passed instead.
        let on_worker = !IN_DONE.with(Cell::get).is_null() || super::handler::in_handler();
        {
            let mut state = rt.limit.lock();
            loop {
                if state.closing {
                    return fail(aslrt_status::ASLRT_SHUT_DOWN, "the runtime is shutting down");
                }
                if state.executions < rt.limit.max.load(Ordering::Relaxed) || (block && on_worker) {
                    break;
                }
                if !block {
                    return fail(aslrt_status::ASLRT_BUSY, "the most executions are already in flight");
                }
                state.waiting += 1;
                state = rt.limit.changed.wait(state).unwrap_or_else(|p| p.into_inner());
                state.waiting -= 1;
                if state.closing {
                    // aslrt_runtime_free may be waiting for this submission to leave.
                    rt.limit.changed.notify_all();
                }
            }
            // Counted before the pool sees it: aslrt_runtime_free waits for it from here on.
            state.executions += 1;
        }
        let pool = rt.runtime.read().unwrap_or_else(|p| p.into_inner());
        let Some(pool) = pool.as_ref() else {
            // Not reachable while counted (free takes the pool only once the count is zero), but
            // a count must never be left behind.
            rt.limit.uncount();
            return fail(aslrt_status::ASLRT_SHUT_DOWN, "the runtime is shutting down");
        };
        let limit = Arc::clone(&rt.limit);
        let userdata = UserData(userdata);
        let done = move |outcome| {
            let userdata = userdata;
            let made = result(outcome);
            // The slot is free before the callback runs, so that the callback's own submission
            // finds room; aslrt_runtime_free waits for the callback as well.
            {
                let mut state = limit.lock();
                state.executions -= 1;
                state.callbacks += 1;
                limit.changed.notify_all();
            }
            let _calling = Calling::enter(&limit);
            // SAFETY: `done` is the caller's callback, called once with a result it now owns
            // and the userdata it gave for this execution, as the header describes.
            unsafe { done(userdata.0, made) };
        };
        // At the bound on queued bytes (the pool has no other), a blocking submission waits
        // for room (not on a worker) until aslrt_runtime_free begins; the other is refused.
        let queued = match block {
            true => pool.submit_unless(&machine.machine, event, &rt.stop_waiting, done).is_some(),
            false => pool.try_submit(&machine.machine, event, done).is_ok(),
        };
        if queued {
            return aslrt_status::ASLRT_OK;
        }
        rt.limit.uncount();
        match block {
            true => fail(aslrt_status::ASLRT_SHUT_DOWN, "the runtime is shutting down"),
            false => fail(aslrt_status::ASLRT_BUSY, "the executions not yet started hold the most bytes allowed"),
        }
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
        let Some(rt) = (unsafe { runtime.as_ref() }) else { return 0 };
        let pool = rt.runtime.read().unwrap_or_else(|p| p.into_inner());
        let text = pool.as_ref().map(|p| p.metrics().snapshot().prometheus()).unwrap_or_default();
        // SAFETY: passed on from this function's contract.
        unsafe { copy_out(&text, buf, cap) }
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

/// A result made on a worker, on its way to the caller's array; freed if it never gets there
/// (a batch that panics part-way).
struct Made(*mut aslrt_result);

impl Made {
    fn into_raw(self) -> *mut aslrt_result {
        let r = self.0;
        std::mem::forget(self);
        r
    }
}

impl Drop for Made {
    fn drop(&mut self) {
        // SAFETY: the result was never handed out, so this is its only owner.
        unsafe { aslrt_result_free(self.0) }
    }
}

// SAFETY: the pointer is a fresh Box's, owned by no one else, moved once to the calling thread.
unsafe impl Send for Made {}
