//! Admission for asyncio executions (`execute_async`, `execute_when_room`): at most
//! `max_in_flight` of them run on the pool at once in a process; the rest wait their turn in
//! order, each holding its event, and no thread blocks for them. Blocking the event loop's
//! thread would hold the GIL that executions in flight need to end, and stop the loop that
//! settles their results.
//!
//! A ticket goes `Waiting` → `Starting` → `Started`, or to `Cancelled` from `Waiting` (it was
//! never admitted and takes no room). Neither lock is held while Python runs or a run starts.

use crate::pool::Pool;
use crate::result::now_us;
use aslrt::{Outcome, StateMachine};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

/// The default bound, as the C API's: about 240 MB of executions suspended with a 1.2 KiB
/// event, before what their handlers hold.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 65_536;

/// Called with the outcome and the time the execution started (µs since the epoch).
pub type Done = Box<dyn FnOnce(Outcome, i64) + Send>;

/// What a ticket needs to start its execution.
pub struct Start {
    pub rt: Arc<Pool>,
    pub machine: StateMachine,
    pub event: Vec<u8>,
    pub done: Done,
    /// Called once the execution has started (`execute_when_room` settles its first future).
    pub on_start: Option<Box<dyn FnOnce() + Send>>,
}

enum Stage {
    Waiting(Start),
    Starting,
    /// Cancelled while starting: stopped as soon as its id is known.
    CancelWhenStarted,
    Started(Arc<Pool>, u64),
    Cancelled,
}

/// One asyncio execution's place: waiting for room, or started.
pub struct Ticket {
    stage: Mutex<Stage>,
}

struct Gate {
    max: usize,
    /// Tickets admitted whose execution has not ended.
    in_flight: usize,
    /// Tickets waiting for room, oldest first (cancelled ones are skipped when their turn comes).
    waiting: VecDeque<Arc<Ticket>>,
    /// How many of `waiting` were cancelled.
    cancelled: usize,
}

static GATE: Mutex<Gate> =
    Mutex::new(Gate { max: DEFAULT_MAX_IN_FLIGHT, in_flight: 0, waiting: VecDeque::new(), cancelled: 0 });

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts `start` now if there is room (or `past_bound`: a handler's nested execution, which
/// would wait for room its own execution holds), else queues it. Its `done` is called once,
/// unless the ticket is cancelled before it starts.
pub fn admit(start: Start, past_bound: bool) -> Arc<Ticket> {
    let ticket = Arc::new(Ticket { stage: Mutex::new(Stage::Waiting(start)) });
    let now = {
        let mut gate = lock(&GATE);
        if past_bound || (gate.in_flight < gate.max && gate.waiting.is_empty()) {
            gate.in_flight += 1;
            true
        } else {
            gate.waiting.push_back(Arc::clone(&ticket));
            false
        }
    };
    if now {
        // Not cancelled: nobody else has seen the ticket yet.
        begin(&ticket);
    } else {
        // Room may have been made between an end's count and its look at the queue.
        fill();
    }
    ticket
}

/// Sets the bound (`None`: none). Raising it starts waiting tickets at once; lowering it below
/// the executions in flight holds the waiting ones until enough end.
pub fn set_max_in_flight(max: Option<usize>) {
    lock(&GATE).max = max.map_or(usize::MAX, |m| m.max(1));
    fill();
}

/// The bound (`None`: none).
pub fn max_in_flight() -> Option<usize> {
    Some(lock(&GATE).max).filter(|&m| m != usize::MAX)
}

/// Asyncio executions admitted and not ended, and those waiting for room.
pub fn counts() -> (usize, usize) {
    let gate = lock(&GATE);
    (gate.in_flight, gate.waiting.len() - gate.cancelled)
}

/// Forgets every ticket, in a child process just forked: their executions ran on the parent's
/// pools. The parent's tickets are leaked, not dropped: they hold the parent's Python objects.
pub fn forget_after_fork() {
    if let Ok(mut gate) = GATE.try_lock() {
        gate.in_flight = 0;
        gate.cancelled = 0;
        std::mem::forget(std::mem::take(&mut gate.waiting));
    }
}

impl Ticket {
    /// Stops the execution if it started (it ends ABORTED), or takes the ticket out of its turn
    /// if it waits (its `done` is dropped uncalled).
    pub fn cancel(&self) {
        let mut stage = lock(&self.stage);
        match std::mem::replace(&mut *stage, Stage::Cancelled) {
            Stage::Waiting(start) => {
                drop(stage);
                // Counted until its turn comes, when `begin` refuses it (`fill` uncounts it).
                lock(&GATE).cancelled += 1;
                drop(start);
            }
            Stage::Starting | Stage::CancelWhenStarted => *stage = Stage::CancelWhenStarted,
            Stage::Started(rt, id) => {
                drop(stage);
                rt.cancel(id);
            }
            Stage::Cancelled => {}
        }
    }
}

/// Gives its room back when the execution ends: dropped by the `done` callback, or with it if
/// the runtime drops it uncalled.
struct Leave;

impl Drop for Leave {
    fn drop(&mut self) {
        lock(&GATE).in_flight -= 1;
        fill();
    }
}

/// Starts waiting tickets while there is room.
fn fill() {
    loop {
        let next = {
            let mut gate = lock(&GATE);
            if gate.in_flight >= gate.max {
                return;
            }
            let Some(next) = gate.waiting.pop_front() else { return };
            gate.in_flight += 1;
            next
        };
        if !begin(&next) {
            let mut gate = lock(&GATE);
            gate.in_flight -= 1;
            gate.cancelled -= 1;
        }
    }
}

/// Starts an admitted ticket's execution; `false` if it was cancelled while it waited.
fn begin(ticket: &Ticket) -> bool {
    let start = {
        let mut stage = lock(&ticket.stage);
        match std::mem::replace(&mut *stage, Stage::Starting) {
            Stage::Waiting(start) => start,
            other => {
                *stage = other;
                return false;
            }
        }
    };
    let Start { rt, machine, event, done, on_start } = start;
    let leave = Leave;
    let started = now_us();
    let id = rt.submit(&machine, event, move |outcome| {
        // Room first: whoever awaits the result may look at the counts at once.
        drop(leave);
        done(outcome, started);
    });
    let cancelled = {
        let mut stage = lock(&ticket.stage);
        let cancelled = matches!(*stage, Stage::CancelWhenStarted);
        *stage = Stage::Started(Arc::clone(&rt), id);
        cancelled
    };
    if cancelled {
        rt.cancel(id);
    }
    if let Some(on_start) = on_start {
        on_start();
    }
    true
}
