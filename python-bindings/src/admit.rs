//! Admission for asyncio executions (`execute_async`, `execute_when_room`): at most
//! `max_async_in_flight` of them run on the pool at once in a process; the rest wait their
//! turn in order, each holding its event, and no thread blocks for them. Blocking the event
//! loop's thread would hold the GIL that executions in flight need to end, and stop the loop
//! that settles their results.
//!
//! A ticket goes `Waiting` → `Starting` → `Started`, or to `Cancelled` from `Waiting` (it was
//! never admitted and takes no room). The gate's lock is taken before a ticket's, never the
//! other way round; neither is held while Python runs or a run starts, so a thread holding the
//! GIL may wait for them. Across a fork the gate is held by the forking thread, inside
//! `fork()` itself, where no other thread can take the GIL (see `raw::at_fork`).

use crate::pool::Pool;
use crate::result::now_us;
use aslrt::{Outcome, StateMachine};
use std::cell::{Cell, RefCell};
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
    /// In the gate's queue (only there).
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
    /// The process that made it: in a forked child, the parent's tickets do nothing.
    pid: u32,
}

struct Gate {
    max: usize,
    /// Tickets admitted whose execution has not ended.
    in_flight: usize,
    /// Tickets waiting for room, oldest first (cancelled ones are dropped when their turn comes).
    waiting: VecDeque<Arc<Ticket>>,
    /// How many of `waiting` were cancelled.
    cancelled: usize,
}

static GATE: Mutex<Gate> =
    Mutex::new(Gate { max: DEFAULT_MAX_IN_FLIGHT, in_flight: 0, waiting: VecDeque::new(), cancelled: 0 });

thread_local! {
    /// Whether this thread is in `fill`: an end reported inline by a start (a runtime shut
    /// down) leaves the next start to that loop instead of recursing once per waiting ticket.
    static FILLING: Cell<bool> = const { Cell::new(false) };
    /// The gate, held by the thread that forks, from just before the fork until just after.
    static HELD: RefCell<Option<MutexGuard<'static, Gate>>> = const { RefCell::new(None) };
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts `start` now if there is room (or `past_bound`: a handler's nested execution, which
/// would wait for room its own execution holds), else queues it. Its `done` is called once,
/// unless the ticket is cancelled before it starts.
pub fn admit(start: Start, past_bound: bool) -> Arc<Ticket> {
    let pid = crate::pool::pid();
    let mut gate = lock(&GATE);
    if past_bound || (gate.in_flight < gate.max && gate.waiting.is_empty()) {
        gate.in_flight += 1;
        drop(gate);
        let ticket = Arc::new(Ticket { stage: Mutex::new(Stage::Starting), pid });
        begin(&ticket, start);
        ticket
    } else {
        let ticket = Arc::new(Ticket { stage: Mutex::new(Stage::Waiting(start)), pid });
        gate.waiting.push_back(Arc::clone(&ticket));
        ticket
    }
}

/// Sets the bound (`None`: none; at least 1). Raising it starts waiting tickets at once;
/// lowering it below the executions in flight holds the waiting ones until enough end.
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

/// Inside `fork()`, before the copy (`raw::at_fork`): holds the gate, so that no worker holds
/// it as the process is copied. No thread waits for the GIL while it holds the gate, so this
/// waits only for a moment.
pub extern "C" fn before_fork() {
    let gate = lock(&GATE);
    HELD.with(|held| *held.borrow_mut() = Some(gate));
}

/// Inside `fork()`, in the parent: lets the gate go.
pub extern "C" fn after_fork_in_parent() {
    HELD.with(|held| held.borrow_mut().take());
}

/// Inside `fork()`, in the child: forgets every ticket (their executions ran on the parent's
/// pools) and the parent's pid, then lets the gate go. Nothing is allocated or freed: the
/// parent's tickets are leaked, with the Python objects they hold.
pub extern "C" fn after_fork_in_child() {
    crate::pool::forget_pid();
    HELD.with(|held| {
        let mut held = held.borrow_mut();
        if let Some(gate) = held.as_mut() {
            gate.in_flight = 0;
            gate.cancelled = 0;
            std::mem::forget(std::mem::take(&mut gate.waiting));
        }
        held.take();
    });
}

impl Ticket {
    /// Stops the execution if it started (it ends ABORTED), or takes the ticket out of its turn
    /// if it waits (its `done` is dropped uncalled).
    pub fn cancel(&self) {
        if self.pid != crate::pool::pid() {
            return;
        }
        let mut gate = lock(&GATE);
        let mut stage = lock(&self.stage);
        match std::mem::replace(&mut *stage, Stage::Cancelled) {
            Stage::Waiting(start) => {
                gate.cancelled += 1;
                drop((stage, gate));
                drop(start);
            }
            Stage::Starting | Stage::CancelWhenStarted => *stage = Stage::CancelWhenStarted,
            Stage::Started(rt, id) => {
                drop((stage, gate));
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
    struct Filling;
    impl Drop for Filling {
        fn drop(&mut self) {
            FILLING.set(false);
        }
    }
    if FILLING.replace(true) {
        return;
    }
    let _filling = Filling;
    loop {
        let next = {
            let mut gate = lock(&GATE);
            let mut next = None;
            while gate.in_flight < gate.max {
                let Some(ticket) = gate.waiting.pop_front() else { break };
                let mut stage = lock(&ticket.stage);
                match std::mem::replace(&mut *stage, Stage::Starting) {
                    Stage::Waiting(start) => {
                        drop(stage);
                        gate.in_flight += 1;
                        next = Some((ticket, start));
                        break;
                    }
                    other => {
                        // Cancelled while it waited.
                        *stage = other;
                        gate.cancelled -= 1;
                    }
                }
            }
            next
        };
        match next {
            Some((ticket, start)) => begin(&ticket, start),
            None => break,
        }
    }
}

/// Starts an admitted ticket's execution (its stage is `Starting`, or `CancelWhenStarted`).
fn begin(ticket: &Ticket, start: Start) {
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
}
