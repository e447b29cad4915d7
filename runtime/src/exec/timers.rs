//! The runtime's timers: every Wait and retry back-off of suspended executions, and the time
//! limit of every handler they wait for, in one heap served by one thread (`aslrt-timers`).
//!
//! A waiting execution costs an entry of a B-tree (about 80 bytes) here, not a task and timer of
//! the handlers' tokio runtime (512 bytes each). When an entry falls due, the thread resolves
//! the wait (or fails the handler's Task with `States.Timeout`) and queues the execution's
//! next run. A handler that answers first removes its entry. A cancelled execution's Wait is
//! not looked for here: the execution is run at once and ends ABORTED, and the entry, which
//! holds the execution weakly, finds it gone when it falls due (within the execution's time
//! limit: no Wait outlasts it). Until then the entry and the execution's emptied block (about
//! 250 bytes; its event, journal, machine and outcome are dropped when it ends) stay.
//!
//! An execution's time limit (300 s, say) is set at its first handler wait, and most
//! executions end long before it. So a limit further away than [`DEFER_NS`] twice over is not
//! put in the map when it is set: its deadline and the execution's id wait in a list, which
//! the thread sweeps [`DEFER_NS`] after the first entry came. The sweep puts the limits of the
//! executions still in flight into the map, with the deadlines they had (so none fires late),
//! and drops the rest: an execution that ends within that time never touches the map.

use super::suspend::{HandlerWait, Resumable};
use crate::vm::{Entry, Site};
use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, Weak};
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
    /// Time limits not yet in `due`: (deadline, execution id), in the order set.
    deferred: Vec<(u64, u64)>,
    /// When the thread sweeps `deferred`, if it holds any.
    sweep_at: u64,
}

impl Heap {
    /// Puts `fire` in the map at `at`, under a key of its own.
    fn insert(&mut self, at: u64, fire: Fire) -> Key {
        let key = (at, self.next);
        self.next += 1;
        self.due.insert(key, fire);
        key
    }
}

/// How long a time limit waits in `Heap::deferred` at most before the thread puts it in the
/// map; only limits at least twice as far away wait there.
pub(super) const DEFER_NS: u64 = 50_000_000;

/// Names a timer, to [`Timers::cancel`] it.
pub(super) type Key = (u64, u64);

/// What a timer ends.
pub(super) enum Fire {
    /// A Wait or back-off of the execution, at the site. Held weakly: an execution that ends
    /// first (cancelled, or a branch that failed) drops what it holds at once (its machine
    /// among them), not when the Wait falls due; while it waits, the runtime's map of
    /// executions in flight holds it (`Shared::executions`).
    Sleep(Weak<Resumable>, Site),
    /// A handler's TimeoutSeconds.
    Timeout(Arc<HandlerWait>),
    /// The execution's time limit, while it waits for handlers.
    Deadline(Arc<Resumable>),
}

impl Fire {
    fn fire(self) {
        match self {
            Fire::Sleep(exec, site) => {
                if let Some(exec) = exec.upgrade() {
                    exec.resolved(site, Some(Entry::Waited), false);
                }
            }
            Fire::Timeout(wait) => wait.time_out(),
            Fire::Deadline(exec) => exec.deadline_passed(),
        }
    }

    /// Ends the wait as cut short.
    fn cut_short(self) {
        match self {
            Fire::Sleep(exec, site) => {
                if let Some(exec) = exec.upgrade() {
                    exec.resolved(site, None, false);
                }
            }
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
            heap: Mutex::new(Heap {
                due: BTreeMap::new(),
                next: 0,
                stopped: false,
                wake_at: 0,
                deferred: Vec::new(),
                sweep_at: 0,
            }),
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
        let key = heap.insert(at, fire);
        drop(heap);
        if first {
            self.changed.notify_one();
        }
        Some(key)
    }

    /// Whether a time limit `millis` away waits in the list the thread sweeps.
    pub fn defers(millis: u64) -> bool {
        millis.saturating_mul(1_000_000) >= 2 * DEFER_NS
    }

    /// Sets the time limit of execution `id`, `millis` from now, in the list the thread
    /// sweeps (see [`Timers::defers`]). It needs no removing: the sweep drops it if the
    /// execution has ended. `false` once the timers are stopped.
    pub fn defer_limit(&self, millis: u64, id: u64) -> bool {
        let now = self.now();
        let at = now.saturating_add(millis.saturating_mul(1_000_000));
        let mut heap = self.heap.lock().unwrap_or_else(|p| p.into_inner());
        if heap.stopped {
            return false;
        }
        let mut wake = false;
        if heap.deferred.is_empty() {
            heap.sweep_at = now + DEFER_NS;
            wake = heap.sweep_at < heap.wake_at;
        }
        heap.deferred.push((at, id));
        drop(heap);
        if wake {
            self.changed.notify_one();
        }
        true
    }

    /// Puts a deferred time limit in the map, at the deadline it was given; its key. `None`
    /// once the timers are stopped (every execution has ended by then). Called by the sweep,
    /// on the thread, which looks at the map again before it sleeps.
    pub fn insert_at(&self, at: u64, fire: Fire) -> Option<Key> {
        let mut heap = self.heap.lock().unwrap_or_else(|p| p.into_inner());
        match heap.stopped {
            true => None,
            false => Some(heap.insert(at, fire)),
        }
    }

    /// Drops a timer that has not fired: a handler answered before its time limit.
    pub fn cancel(&self, key: Key) {
        let gone = self.heap.lock().unwrap_or_else(|p| p.into_inner()).due.remove(&key);
        drop(gone);
    }

    /// The thread's loop: resolves waits as they fall due, until [`Timers::stop`]. `arm` puts
    /// a deferred time limit (deadline, execution id) in the map if that execution is still in
    /// flight (see [`Timers::defer_limit`]).
    pub fn run(&self, arm: &dyn Fn(u64, u64)) {
        let mut heap = self.heap.lock().unwrap_or_else(|p| p.into_inner());
        let mut ready = Vec::with_capacity(BURST);
        let mut sweep = Vec::new();
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
            if sweep.is_empty() && !heap.deferred.is_empty() && heap.sweep_at <= now {
                std::mem::swap(&mut heap.deferred, &mut sweep);
                // Taken from the end: the earliest deadlines first.
                sweep.reverse();
            }
            if !sweep.is_empty() {
                drop(heap);
                // BURST at a time, with the timers that fall due between: the sweep of a
                // large burst does not make them late.
                let from = sweep.len().saturating_sub(BURST);
                for (at, id) in sweep.drain(from..) {
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| arm(at, id)));
                }
                // A burst's list is not kept once it has passed (16 B per execution).
                if sweep.is_empty() && sweep.capacity() > 4096 {
                    sweep = Vec::new();
                }
                heap = self.heap.lock().unwrap_or_else(|p| p.into_inner());
                continue;
            }
            let mut left = heap.due.first_key_value().map_or(3_600_000_000_000, |(k, _)| k.0 - now);
            if !heap.deferred.is_empty() {
                left = left.min(heap.sweep_at.saturating_sub(now));
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// A time limit far enough away waits in the list, and the sweep hands it on with the
    /// deadline it was given; a nearer one is not deferred.
    #[test]
    fn a_deferred_limit_is_swept_with_its_own_deadline() {
        assert!(!Timers::defers(99));
        assert!(Timers::defers(100));
        let timers = Arc::new(Timers::new());
        let (tx, rx) = mpsc::channel();
        let thread = {
            let timers = Arc::clone(&timers);
            std::thread::spawn(move || timers.run(&|at, id| tx.send((at, id, timers.now())).unwrap()))
        };
        let before = timers.now();
        assert!(timers.defer_limit(300_000, 7));
        let after = timers.now();
        let (at, id, swept) = rx.recv_timeout(Duration::from_secs(10)).expect("the sweep never came");
        assert_eq!(id, 7);
        assert!(
            (before + 300_000_000_000..=after + 300_000_000_000).contains(&at),
            "{at} not {before}..{after} + 300 s"
        );
        // Not before its time: a sweep that came early would have cost nothing, one too
        // late only the memory of the list.
        assert!(swept >= before + DEFER_NS, "swept {} ns after", swept - before);
        timers.stop();
        thread.join().unwrap();
        assert!(!timers.defer_limit(300_000, 8), "deferred after the timers stopped");
    }
}
