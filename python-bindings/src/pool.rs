//! The work-stealing runtimes batches, streams and asyncio executions run on: one per thread
//! count, started on first use and kept for the life of the process (their workers are idle
//! threads when nothing runs).

use aslrt::Runtime;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

static POOLS: Mutex<Option<HashMap<usize, Arc<Runtime>>>> = Mutex::new(None);

/// The most worker threads a call may ask for.
pub const MAX_THREADS: usize = 1024;

/// The runtime with `threads` workers (`None`: one per core).
pub fn runtime(threads: Option<usize>) -> Result<Arc<Runtime>, String> {
    let threads = match threads {
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        Some(0) => return Err("threads must be at least 1".into()),
        Some(n) if n > MAX_THREADS => return Err(format!("{n} threads: at most {MAX_THREADS}")),
        Some(n) => n,
    };
    let mut pools = POOLS.lock().unwrap_or_else(|p| p.into_inner());
    let pools = pools.get_or_insert_with(HashMap::new);
    Ok(Arc::clone(pools.entry(threads).or_insert_with(|| Arc::new(Runtime::new(threads)))))
}

/// Forgets every runtime, in a child process just forked: their worker threads were not copied
/// into it, so a batch there would wait for ever. Each is leaked, not dropped: dropping one would
/// wait to join threads that do not exist. The child starts new ones on first use.
pub fn forget_after_fork() {
    let mut pools = POOLS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(pools) = pools.take() {
        for (_, runtime) in pools {
            std::mem::forget(runtime);
        }
    }
}
