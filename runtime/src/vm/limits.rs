//! [`RuntimeLimits`]: the Express quotas, enforced per execution.

/// Limits on one execution. The default is AWS's Express quotas; change one with its setter.
///
/// # Example
///
/// ```
/// use aslrt::RuntimeLimits;
///
/// let limits = RuntimeLimits::default().max_transitions(10_000).max_depth(8);
/// assert_eq!((limits.max_transitions, limits.max_payload_bytes), (10_000, 256 * 1024));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuntimeLimits {
    /// Largest event, task result or output, in bytes of JSON (AWS: 256 KiB). It takes effect
    /// up to [`crate::value::WRITE_LIMIT`] (16 MiB), the most the writer writes of one value.
    pub max_payload_bytes: usize,
    /// Longest execution, in seconds (Express: 5 minutes). A definition's TimeoutSeconds can
    /// only shorten it.
    pub max_execution_seconds: u64,
    /// Most state transitions in one execution, counting those inside Parallel and Map.
    pub max_transitions: u64,
    /// Deepest nesting of Parallel and Map.
    pub max_depth: u32,
    /// Most memory the values one execution makes may take in its arena (in whole arena
    /// chunks, beyond what the arena held when the execution started), checked as each state is
    /// entered: past it the execution fails with `States.DataLimitExceeded`. AWS has no such
    /// limit, since every state's output is held to 256 KiB; a definition that grows its data in
    /// a loop (an error cause holding the input, which the next error's cause holds again)
    /// would otherwise take all the host's memory. It is a safety net, not an exact quota: the
    /// unoptimised program, which allocates more, reaches it a little sooner.
    pub max_arena_bytes: usize,
}

impl RuntimeLimits {
    /// These limits with [`max_payload_bytes`](Self::max_payload_bytes) set.
    pub fn max_payload_bytes(mut self, bytes: usize) -> Self {
        self.max_payload_bytes = bytes;
        self
    }

    /// These limits with [`max_execution_seconds`](Self::max_execution_seconds) set.
    pub fn max_execution_seconds(mut self, seconds: u64) -> Self {
        self.max_execution_seconds = seconds;
        self
    }

    /// These limits with [`max_transitions`](Self::max_transitions) set.
    pub fn max_transitions(mut self, transitions: u64) -> Self {
        self.max_transitions = transitions;
        self
    }

    /// These limits with [`max_depth`](Self::max_depth) set.
    pub fn max_depth(mut self, depth: u32) -> Self {
        self.max_depth = depth;
        self
    }

    /// These limits with [`max_arena_bytes`](Self::max_arena_bytes) set.
    pub fn max_arena_bytes(mut self, bytes: usize) -> Self {
        self.max_arena_bytes = bytes;
        self
    }

    /// The payload limit in effect: [`RuntimeLimits::max_payload_bytes`], at most the writer's
    /// limit.
    pub(crate) fn payload_bytes(&self) -> usize {
        self.max_payload_bytes.min(crate::value::WRITE_LIMIT)
    }
}

impl Default for RuntimeLimits {
    fn default() -> Self {
        RuntimeLimits {
            max_payload_bytes: 256 * 1024,
            max_execution_seconds: 300,
            max_transitions: 1_000_000,
            max_depth: 64,
            max_arena_bytes: 256 * 1024 * 1024,
        }
    }
}
