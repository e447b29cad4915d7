//! The leaf utilities every layer may use: RFC 3339 timestamps, the seedable and the
//! Java-compatible random sources, the wall clock, how an execution ended, and the most the
//! writer writes of one value.

mod rng;
pub mod timestamp;

pub use rng::{JavaRandom, Rng};

/// The most the writer writes of one value, in bytes: once past it, it leaves out every
/// container and the raw input it meets, so that what it wrote is incomplete and longer than
/// this. A value is a tree of references that may share nodes (a template that copies its input
/// twice, run in a loop), so its JSON can be exponentially larger than the memory it takes. No
/// size limit is above this (AWS's largest, 10 MiB of workflow variables, is below it, and
/// `RuntimeLimits::max_payload_bytes` takes effect up to it), so every size check still fails,
/// in bounded time and memory; a caller that keeps the text checks for it (`value::to_json_bounded`).
pub const WRITE_LIMIT: usize = 16 * 1024 * 1024;

/// Milliseconds since the Unix epoch, by the system clock.
pub fn system_millis() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// How an execution ended, as StartSyncExecution reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// It reached a Succeed state or an end: it has an output.
    Succeeded,
    /// A failure no catcher took: it has an error and a cause.
    Failed,
    /// It ran out of time (`TimeoutSeconds`, or Express's five minutes): `States.Timeout`.
    TimedOut,
    /// It was cancelled ([`crate::Cancel`]), or dropped unrun when a [`crate::Runtime`] was
    /// shut down at once.
    Aborted,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Status {
    /// AWS's name: `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
            Status::Aborted => "ABORTED",
        }
    }
}

// Fixed bounds, the same for every machine, for the modules below `config`; `RuntimeLimits`
// has each as a constant of the same name, with what it bounds.

/// Deepest nesting of intrinsic function calls.
pub const INTRINSIC_NESTING: usize = 64;
/// Deepest nesting of arrays and objects in a definition.
pub const DEFINITION_JSON_DEPTH: usize = 512;
/// Deepest nesting of arrays and objects in an event (the event parser's bound).
pub const EVENT_JSON_DEPTH: usize = simd_json::DEFAULT_MAX_DEPTH;
/// Most items `States.ArrayRange` makes.
pub const ARRAY_RANGE_ITEMS: usize = 1000;
/// Longest input of `States.Hash`, in characters.
pub const HASH_INPUT_CHARS: usize = 10_000;
/// Longest input of `States.Base64Encode` and `States.Base64Decode`, in characters.
pub const BASE64_INPUT_CHARS: usize = 10_000;
/// Deepest nesting of a JSONata expression's syntax.
pub const JSONATA_PARSE_DEPTH: u32 = 200;
/// Most items a JSONata range (`[a..b]`) makes, as JSONata allows.
pub const JSONATA_RANGE_ITEMS: u64 = 10_000_000;
/// Most items a range (`[a..b]`) makes on AWS: one more fails with AWS's evaluation memory
/// limit (measured on AWS: `[1..873782] ~> $count()` succeeds, `[1..873783]` fails).
pub const JSONATA_RANGE_HELD: u64 = 873_782;
/// Most items AWS's `$range` makes before its evaluation memory limit.
pub const JSONATA_RANGE_FUNCTION_ITEMS: u64 = 360_145;
/// Largest workflow variable, in bytes of JSON (AWS's quota).
pub const VARIABLE_BYTES: usize = 256 * 1024;
/// Largest sum of the variables one state assigns, in bytes of JSON (AWS's quota).
pub const VARIABLES_BYTES: usize = 10 * 1024 * 1024;
/// `RuntimeLimits::max_payload_bytes`' default: AWS's payload limit.
pub const PAYLOAD_BYTES: usize = 256 * 1024;
/// `RuntimeLimits::max_arena_bytes`' default.
pub const ARENA_BYTES: usize = 256 * 1024 * 1024;
/// `RuntimeLimits::max_jsonata_depth`'s default.
pub const JSONATA_DEPTH: u32 = 400;
/// `RuntimeLimits::max_jsonata_steps`' default.
pub const JSONATA_STEPS: u64 = 1_000_000;

/// `n` with its thousands grouped by commas, as the error texts write numbers: `1,000,000`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod thousands_tests {
    #[test]
    fn thousands_are_grouped() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(1000), "1,000");
        assert_eq!(super::thousands(65_536), "65,536");
        assert_eq!(super::thousands(1_000_000), "1,000,000");
    }
}
