//! Task handlers in C: the reply handles, answered now or later, and the handler that calls C.

use super::*;

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
/// Answers given so far: `aslrt_runtime_free` aborts waiting executions only while none comes.
pub(super) static ANSWERS: AtomicU64 = AtomicU64::new(0);

#[derive(Default)]
struct Reply {
    /// Set, under the entry's lock, by the first answer accepted: every later one is refused,
    /// even while the first is on its way to the waiting Task.
    answered: bool,
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

/// Gives `answer` to the reply `reply`: `ASLRT_OK`, or why it could not be given.
fn give(reply: *mut aslrt_task_reply, answer: Answer) -> aslrt_status {
    let id = reply as usize as u64;
    let ended = "the task reply was answered already, or its Task has ended (TimeoutSeconds, or the runtime was freed)";
    let Some(mut entry) = REPLIES.get_mut(&id) else {
        return fail(aslrt_status::ASLRT_ALREADY_ANSWERED, ended);
    };
    if entry.answered {
        return fail(aslrt_status::ASLRT_ALREADY_ANSWERED, "the task reply was already answered");
    }
    entry.answered = true;
    ANSWERS.fetch_add(1, Ordering::AcqRel);
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
    aslrt_status::ASLRT_OK
}

enum Answer {
    Ok(String),
    Fail { error: String, cause: Option<String> },
}

/// A Task handler: called with the Task's effective input as JSON (`input`, owned by the library
/// and valid during the call), it answers through `reply` and returns 0, or returns
/// `ASLRT_TASK_PENDING` to answer later (see `aslrt_task_reply`). Returning anything else, or 0
/// without answering, fails the Task with `States.TaskFailed` and a cause saying so; so does an
/// answer that is not JSON. Retry and Catch then apply.
///
/// It may be called from any worker thread, at the same time as other calls of it: `userdata`
/// must be safe to use that way. It may call back into the library: compile, execute, and
/// submit (which never blocks inside a handler: past the limit it counts the execution all the
/// same). It should not wait on a runtime that runs it: `aslrt_runtime_execute_batch` there
/// waits for workers, and the one it holds is one of them. It must not free that runtime, nor
/// unwind (no C++ exception or longjmp may leave it).
pub type aslrt_task_fn =
    Option<unsafe extern "C" fn(userdata: *mut c_void, input: aslrt_str, reply: *mut aslrt_task_reply) -> i32>;

thread_local! {
    /// How many C handler calls this thread is inside (a handler may execute a machine whose
    /// handler is in C too).
    static IN_HANDLER: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Whether this thread is inside a C handler's call.
pub(super) fn in_handler() -> bool {
    IN_HANDLER.with(|n| n.get() > 0)
}

/// Marks this thread as inside a C handler's call while it lives.
struct Inside;

impl Inside {
    fn enter() -> Inside {
        IN_HANDLER.with(|n| n.set(n.get() + 1));
        Inside
    }
}

impl Drop for Inside {
    fn drop(&mut self) {
        IN_HANDLER.with(|n| n.set(n.get() - 1));
    }
}

/// A C handler and its userdata, as an aslrt Task handler.
pub(super) struct CHandler {
    pub(super) f: unsafe extern "C" fn(*mut c_void, aslrt_str, *mut aslrt_task_reply) -> i32,
    pub(super) userdata: UserData,
}

pub(super) struct UserData(pub(super) *mut c_void);

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

    /// An answer as the Task's result, later: its JSON text as it is, parsed once by the
    /// runtime (which fails the Task if it is not JSON).
    fn later(answer: Answer, resource: &str) -> Result<String, TaskError> {
        match answer {
            Answer::Ok(json) => Ok(json),
            answer => Err(failure(answer, resource)),
        }
    }
}

fn failure(answer: Answer, resource: &str) -> TaskError {
    match answer {
        Answer::Fail { error, cause } => TaskError { error: error.into(), cause: cause.map(Into::into) },
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
            _ => Err(failed(format!(
                "the task handler for '{}' answered later, where only an answer now was possible",
                ctx.resource
            ))),
        }
    }

    fn start<'a>(&self, input: Value<'a>, ctx: &TaskContext<'a>) -> TaskAnswer<'a> {
        let text = input.to_json();
        // The handle is the id as a pointer: truncated to the pointer's width (a no-op on 64-bit
        // targets), never 0, and never the id of a reply still in use when the counter wraps.
        let id = loop {
            let id = NEXT_REPLY.fetch_add(1, Ordering::Relaxed) as usize as u64;
            if id == 0 {
                continue;
            }
            if let dashmap::Entry::Vacant(slot) = REPLIES.entry(id) {
                slot.insert(Reply::default());
                break id;
            }
        };
        let reply = id as usize as *mut aslrt_task_reply;
        let rc = {
            let _inside = Inside::enter();
            // SAFETY: `f` is the function the caller registered for this resource, called as
            // the header describes it: `text` stays valid for the whole call, and `reply` is a
            // handle the library never dereferences.
            unsafe { (self.f)(self.userdata.0, view(text.as_bytes()), reply) }
        };
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
            return TaskAnswer::LaterText(Box::pin(async move {
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

/// Answers a Task with `output_json`, its result (copied), during the handler's call or, after
/// it returned `ASLRT_TASK_PENDING`, from any thread. Returns `ASLRT_ALREADY_ANSWERED` if the
/// reply was answered before (the first answer stands) or its Task has ended. A view that is not
/// UTF-8 (or NULL with a length) is refused and leaves the reply unanswered; an answer that is
/// not JSON answers it all the same, failing the Task with `States.TaskFailed`, and returns
/// `ASLRT_INVALID_JSON`.
///
/// # Safety
/// `output_json` must be a valid view. `reply` is only compared, never dereferenced.
#[no_mangle]
pub unsafe extern "C" fn aslrt_task_reply_ok(reply: *mut aslrt_task_reply, output_json: aslrt_str) -> aslrt_status {
    guard(aslrt_status::ASLRT_PANIC, || {
        if reply.is_null() {
            return fail(aslrt_status::ASLRT_NULL_ARGUMENT, "reply is NULL");
        }
        // SAFETY: the caller promises a valid view. One that cannot be read is refused and
        // leaves the reply unanswered, for a corrected answer.
        match unsafe { text(output_json, "the reply's output") } {
            Ok(t) => {
                // Checked here too, so that the caller learns of it: the Task fails all the same.
                let json = serde_json::from_str::<serde::de::IgnoredAny>(t).err();
                match (give(reply, Answer::Ok(t.to_owned())), json) {
                    (aslrt_status::ASLRT_OK, Some(e)) => fail(
                        aslrt_status::ASLRT_INVALID_JSON,
                        format!("the reply's output is not JSON ({e}): the Task fails with States.TaskFailed"),
                    ),
                    (status, _) => status,
                }
            }
            Err(status) => status,
        }
    })
}

/// Fails a Task with `error` (what Retry and Catch match) and `cause` (both copied; an empty
/// cause is no cause), when `aslrt_task_reply_ok` could answer. Returns
/// `ASLRT_ALREADY_ANSWERED` if the reply was answered before or its Task has ended. An empty
/// `error`, or a view that cannot be read, is refused and leaves the reply unanswered.
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
        match texts {
            (Ok(""), Ok(_)) => fail(
                aslrt_status::ASLRT_INVALID_ARGUMENT,
                "the error name is empty: Retry and Catch match it, so it needs one (the reply stays unanswered)",
            ),
            (Ok(error), Ok(cause)) => give(
                reply,
                Answer::Fail { error: error.to_owned(), cause: (!cause.is_empty()).then(|| cause.to_owned()) },
            ),
            // Refused, as for aslrt_task_reply_ok: the reply stays unanswered.
            (Err(status), _) | (_, Err(status)) => status,
        }
    })
}
