//! [`Scratch`]: what one worker thread reuses from one execution to the next.

use super::Helpers;
use crate::value::ParseBuffers;
use bumpalo::Bump;
use std::sync::Arc;

/// Per-worker buffers reused from one execution to the next: the arena, the parser's buffers,
/// the event copy and the output.
pub struct Scratch {
    pub(crate) arena: Bump,
    pub(crate) parse: ParseBuffers,
    pub(crate) event: Vec<u8>,
    pub(crate) output: String,
    pub(crate) executions: u64,
    /// A worker's pool, over whose idle workers heavy Map items and Parallel branches spread.
    pub(crate) helpers: Option<Arc<dyn Helpers>>,
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch::new()
    }
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scratch")
            .field("arena_bytes", &self.arena.allocated_bytes())
            .field("executions", &self.executions)
            .finish_non_exhaustive()
    }
}

impl Scratch {
    /// Empty buffers; they grow to what the executions run in them need and stay that size.
    pub fn new() -> Scratch {
        Scratch {
            arena: Bump::with_capacity(64 * 1024),
            parse: ParseBuffers::default(),
            event: Vec::new(),
            output: String::new(),
            executions: 0,
            helpers: None,
        }
    }
}
