//! The runtime's timers: every Wait and retry back-off of suspended executions, and the time
//! limit of every handler they wait for, in one heap served by one thread (`aslrt-timers`).
//!
//! A waiting execution costs an entry of 40 bytes here, not a task and timer of the handlers'
//! tokio runtime (512 bytes each). When an entry falls due, the thread resolves the wait (or
//! fails the handler's Task with `States.Timeout`) and queues the execution's next run. A
//! cancelled execution is not looked for here: it is run at once and ends ABORTED, and its
//! entry, when it falls due, finds it finished.

use super::suspend::{HandlerWait, Resumable};
use crate::vm::{Entry, Site};
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

pub(super) struct Timers {
    heap: Mutex<Heap>,
    /// Woken when an entry comes first, and to stop.
    changed: Condvar,
    /// Deadlines are nanoseconds since this instant.
    epoch: Instant,
}

struct Heap {
    due: BinaryHeap<Due>,
    stopped: bool,
}

/// A wait and when it ends; ordered so that the heap's top is the earliest.
struct Due {
    at: u64,
    fire: Fire,
}

/// What a timer ends.
pub(super) enum Fire {
    /// A Wait or back-off of the execution, at the site.
    Sleep(Arc<Resumable>, Site),
    /// A handler's time: its Task's TimeoutSeconds, or the execution's time limit.
    Timeout(Arc<HandlerWait>),
}

impl Fire {
    fn fire(self) {
        match self {
            Fire::Sleep(exec, site) => exec.resolved(site, Some(Entry::Waited), false),
            Fire::Timeout(wait) => wait.time_out(),
        }
    }

    /// Ends the wait as cut short.
    fn cut_short(self) {
        match self {
            Fire::Sleep(exec, site) => exec.resolved(site, None, false),
            Fire::Timeout(wait) => wait.abandon(),
        }
    }
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at
    }
}

impl Eq for Due {}

impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Due {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.at.cmp(&self.at)
    }
}

/// At most this many waits are resolved per taking of the lock, so that adding one never
/// waits behind a long burst.
const BURST: usize = 256;

impl Timers {
    pub fn new() -> Timers {
        Timers {
            heap: Mutex::new(Heap { due: BinaryHeap::new(), stopped: false }),
            changed: Condvar::new(),
            epoch: Instant::now(),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Fires `fire` after `millis`. Once the timers are stopped, cuts it short at once (the
    /// execution ends ABORTED).
    pub fn add(&self, millis: u64, fire: Fire) {
        let at = self.now().saturating_add(millis.saturating_mul(1_000_000));
        let mut heap = self.heap.lock().unwrap_or_else(|p| p.into_inner());
        if heap.stopped {
            drop(heap);
            fire.cut_short();
            return;
        }
        let first = heap.due.peek().is_none_or(|d| at < d.at);
        heap.due.push(Due { at, fire });
        drop(heap);
        if first {
            self.changed.notify_one();
        }
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
            while ready.len() < BURST && heap.due.peek().is_some_and(|d| d.at <= now) {
                ready.extend(heap.due.pop());
            }
            if !ready.is_empty() {
                // A burst (100,000 one-second Waits) leaves a large heap behind.
                if heap.due.capacity() > 4096 && heap.due.len() < heap.due.capacity() / 4 {
                    let keep = heap.due.len() * 2;
                    heap.due.shrink_to(keep);
                }
                drop(heap);
                for d in ready.drain(..) {
                    d.fire.fire();
                }
                heap = self.heap.lock().unwrap_or_else(|p| p.into_inner());
                continue;
            }
            heap = match heap.due.peek().map(|d| d.at - now) {
                Some(left) => self.changed.wait_timeout(heap, Duration::from_nanos(left)),
                None => self.changed.wait_timeout(heap, Duration::from_secs(3600)),
            }
            .unwrap_or_else(|p| p.into_inner())
            .0;
        }
    }

    /// Ends [`Timers::run`]; waits added afterwards are cut short at once.
    pub fn stop(&self) {
        self.heap.lock().unwrap_or_else(|p| p.into_inner()).stopped = true;
        self.changed.notify_all();
    }
}
