//! The work-stealing runtimes batches, streams and asyncio executions run on: one per thread
//! count, started on first use and kept for the life of the process (their workers are idle
//! threads when nothing runs).

use aslrt::Runtime;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// A runtime, and the process that started it. A forked child has none of its threads: there
/// the last handle leaks it rather than stop it (stopping would join threads that are not there).
pub struct Pool {
    /// Always `Some` until the pool is dropped.
    runtime: Option<Runtime>,
    pid: u32,
}

impl std::ops::Deref for Pool {
    type Target = Runtime;
    fn deref(&self) -> &Runtime {
        self.runtime.as_ref().expect("a pool's runtime lives until the pool is dropped")
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let runtime = self.runtime.take();
        if self.pid != pid() {
            std::mem::forget(runtime);
        }
    }
}

static POOLS: Mutex<Option<HashMap<usize, Arc<Pool>>>> = Mutex::new(None);

/// This process's id, once asked (0: not yet); cleared in a child inside `fork()`. A system
/// call each time otherwise, at every `execute_async`.
static PID: AtomicU32 = AtomicU32::new(0);

/// This process's id.
pub fn pid() -> u32 {
    match PID.load(Ordering::Relaxed) {
        0 => {
            let pid = std::process::id();
            PID.store(pid, Ordering::Relaxed);
            pid
        }
        pid => pid,
    }
}

/// In a child just forked, from inside `fork()` (`admit::after_fork_in_child`): every fork,
/// also those that skip Python's hooks.
pub fn forget_pid() {
    PID.store(0, Ordering::Relaxed);
}

/// The cores this process may use, the default thread count.
static CORES: OnceLock<usize> = OnceLock::new();

/// The runtime with `threads` workers (`None`: one per core); more than
/// `Runtime::MAX_THREADS` is refused by `Runtime::try_new`.
pub fn runtime(threads: Option<usize>) -> Result<Arc<Pool>, String> {
    let threads = match threads {
        // Asked once: it reads cgroup files, tens of microseconds, at every `execute_async`.
        None => *CORES.get_or_init(Runtime::default_threads),
        Some(0) => return Err("threads must be at least 1".into()),
        Some(n) => n,
    };
    let pid = pid();
    // The lock is held only to look up and insert, never while threads start: a fork while it
    // is held would leave it locked in the child for good.
    let lookup = || -> Option<Arc<Pool>> {
        let pools = POOLS.lock().unwrap_or_else(|p| p.into_inner());
        pools.as_ref()?.get(&threads).filter(|p| p.pid == pid).cloned()
    };
    if let Some(pool) = lookup() {
        return Ok(pool);
    }
    let started = Arc::new(Pool { runtime: Some(Runtime::try_new(threads).map_err(|e| e.to_string())?), pid });
    let mut pools = POOLS.lock().unwrap_or_else(|p| p.into_inner());
    let pools = pools.get_or_insert_with(HashMap::new);
    match pools.get(&threads) {
        // Another thread started one meanwhile: that one is the pool, and this one stops.
        Some(pool) if pool.pid == pid => Ok(Arc::clone(pool)),
        // None, or one of the parent's, in a forked child.
        _ => {
            pools.insert(threads, Arc::clone(&started));
            Ok(started)
        }
    }
}

/// Forgets every runtime, in a child process just forked: their worker threads were not copied
/// into it, so a batch there would wait for ever. The child starts new ones on first use; the
/// parent's are leaked by their last handle (see `Pool`).
pub fn forget_after_fork() {
    // Held by a thread the fork did not copy, the lock is never released here; `runtime` also
    // passes over pools of another process.
    if let Ok(mut pools) = POOLS.try_lock() {
        pools.take();
    }
}
