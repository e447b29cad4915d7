//! The runtime's timers: every Wait and retry back-off of suspended executions, and the time
//! limit of every handler they wait for, in one heap served by one thread (`aslrt-timers`).
//!
//! A waiting execution costs an entry of a B-tree (about 80 bytes) here, not a task and timer of
//! the handlers' tokio runtime (512 bytes each). When an entry falls due, the thread resolves
//! the wait (or fails the handler's Task with `States.Timeout`) and queues the execution's
//! next run. A handler that answers first removes its entry. A cancelled execution's Wait is
//! not looked for here: the execution is run at once and ends ABORTED, and the entry, when it
//! falls due, finds it finished (holding until then what is left of it, without its event and
//! journal).

use super::suspend::{HandlerWait, Resumable};
use crate::vm::{Entry, Site};
use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

pub(super) struct Timers {
    heap: Mutex<Heap>,
    /// Woken for an entry due before the thread's next wake-up (`Heap::wake_at`), and to stop.
    changed: Condvar,
    /// Deadlines are nanoseconds since this instant.
    epoch: Instant,
}

struct Heap {
    /// By deadline, then by the order added (the second part makes every key unique).
    due: BTreeMap<Key, Fire>,
    next: u64,
    stopped: bool,
    /// When the thread, asleep, wakes next (0 while it is awake): only a timer due before
    /// then wakes it. A timer that comes first in the map only because the map was empty (a
    /// time limit of 300 s, say) does not, nor does one that becomes first as others are
    /// removed: the thread wakes at the time it chose, finds nothing due, and sleeps again.
    wake_at: u64,
}

/// Names a timer, to [`Timers::cancel`] it.
pub(super) type Key = (u64, u64);

/// What a timer ends.
pub(super) enum Fire {
    /// A Wait or back-off of the execution, at the site.
    Sleep(Arc<Resumable>, Site),
    /// A handler's TimeoutSeconds.
    Timeout(Arc<HandlerWait>),
    /// The execution's time limit, while it waits for handlers.
    Deadline(Arc<Resumable>),
}

impl Fire {
    fn fire(self) {
        match self {
            Fire::Sleep(exec, site) => exec.resolved(site, Some(Entry::Waited), false),
            Fire::Timeout(wait) => wait.time_out(),
            Fire::Deadline(exec) => exec.deadline_passed(),
        }
    }

    /// Ends the wait as cut short.
    fn cut_short(self) {
        match self {
            Fire::Sleep(exec, site) => exec.resolved(site, None, false),
            Fire::Timeout(wait) => wait.abandon(),
            Fire::Deadline(exec) => exec.deadline_passed(),
        }
    }
}

/// At most this many waits are resolved per taking of the lock, so that adding one never
/// waits behind a long burst.
const BURST: usize = 256;

impl Timers {
    pub fn new() -> Timers {
        Timers {
            heap: Mutex::new(Heap { due: BTreeMap::new(), next: 0, stopped: false, wake_at: 0 }),
            changed: Condvar::new(),
            epoch: Instant::now(),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Fires `fire` after `millis`; its key, to cancel it. Once the timers are stopped, cuts
    /// it short at once (the execution ends ABORTED). Not with a lock of the execution held:
    /// cutting short takes them.
    pub fn add(&self, millis: u64, fire: Fire) -> Option<Key> {
        let at = self.now().saturating_add(millis.saturating_mul(1_000_000));
        let mut heap = self.heap.lock().unwrap_or_else(|p| p.into_inner());
        if heap.stopped {
            drop(heap);
            fire.cut_short();
            return None;
        }
        let first = at < heap.wake_at;
        let key = (at, heap.next);
        heap.next += 1;
        heap.due.insert(key, fire);
        drop(heap);
        if first {
            self.changed.notify_one();
        }
        Some(key)
    }

    /// Drops a timer that has not fired: a handler answered before its time limit.
    pub fn cancel(&self, key: Key) {
        let gone = self.heap.lock().unwrap_or_else(|p| p.into_inner()).due.remove(&key);
        drop(gone);
    }

    /// The thread's loop: resolves waits as they fall due, until [`Timers::stop`].
    pub fn run(&self) {
        let mut heap = self.heap.lock().unwrap_or_else(|p| p.into_inner());
        let mut ready = Vec::with_capacity(BURST);
        loop {
            if heap.stopped {
                // Every execution has ended by now (the workers are joined): what is left are
                // waits of executions cancelled before they fell due.
                let left = std::mem::take(&mut heap.due);
                drop(heap);
                drop(left);
                return;
            }
            let now = self.now();
            while ready.len() < BURST && heap.due.first_key_value().is_some_and(|(k, _)| k.0 <= now) {
                ready.extend(heap.due.pop_first().map(|(_, fire)| fire));
            }
            if !ready.is_empty() {
                drop(heap);
                for fire in ready.drain(..) {
                    // A panic here (a bug, or a handler's future panicking as it is dropped,
                    // which `time_out` catches) must not stop every other timer.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fire.fire()));
                }
                heap = self.heap.lock().unwrap_or_else(|p| p.into_inner());
                continue;
            }
            let left = heap.due.first_key_value().map_or(3_600_000_000_000, |(k, _)| k.0 - now);
            heap.wake_at = now.saturating_add(left).max(1);
            heap = self.changed.wait_timeout(heap, Duration::from_nanos(left)).unwrap_or_else(|p| p.into_inner()).0;
            heap.wake_at = 0;
        }
    }

    /// Ends [`Timers::run`]; waits added afterwards are cut short at once.
    pub fn stop(&self) {
        self.heap.lock().unwrap_or_else(|p| p.into_inner()).stopped = true;
        self.changed.notify_all();
    }
}
