//! How a state machine runs: [`Config`] with its [`RuntimeLimits`] (the Express quotas),
//! [`Clock`] and [`Identity`]. Plain data, below everything that reads it.

/// How a state machine runs: its limits, its clock, the names its context object reports and
/// the seed of its random source. Start from `Config::default()` (AWS's Express quotas, the
/// system clock) and change what you need.
///
/// # Example
///
/// ```
/// use aslrt::{Clock, Config, RuntimeLimits};
///
/// let config = Config::default()
///     .clock(Clock::Virtual { start_millis: Some(0) })
///     .limits(RuntimeLimits::default().max_transitions(10_000))
///     .seed(Some(7));
/// assert_eq!(config.limits.max_transitions, 10_000);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// The limits of one execution (AWS's Express quotas by default).
    pub limits: RuntimeLimits,
    /// How time passes for Wait states, retry back-off and time-outs.
    pub clock: Clock,
    /// The names `$$.Execution` and `$$.StateMachine` report.
    pub identity: Identity,
    /// Seed of the random source behind States.UUID, States.MathRandom, `$random()` and retry
    /// jitter. `None`: a fresh seed per execution.
    pub seed: Option<u64>,
    /// The resources Tasks may invoke, the analogue of the execution role: ARNs or patterns
    /// (`*` any run of characters, `?` one). `None`: any. A Task naming another resource does
    /// not compile; a Lambda function named at run time (`lambda:invoke`'s `FunctionName`, a
    /// bare name resolved in the machine's account and region) outside them fails its Task with
    /// `Lambda.AWSLambdaException`, AWS's error for a function the role may not invoke.
    pub allowed_resources: Option<Vec<String>>,
}

impl Config {
    /// This configuration with `limits`.
    pub fn limits(mut self, limits: RuntimeLimits) -> Self {
        self.limits = limits;
        self
    }

    /// This configuration with `clock`.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// This configuration with `identity`.
    pub fn identity(mut self, identity: Identity) -> Self {
        self.identity = identity;
        self
    }

    /// This configuration with the random source's `seed` (`None`: a fresh one per execution).
    pub fn seed(mut self, seed: Option<u64>) -> Self {
        self.seed = seed;
        self
    }

    /// This configuration with Tasks allowed to invoke only `resources`
    /// ([`Config::allowed_resources`]).
    pub fn allow_resources<S: Into<String>>(mut self, resources: impl IntoIterator<Item = S>) -> Self {
        self.allowed_resources = Some(resources.into_iter().map(Into::into).collect());
        self
    }
}

/// How time passes for Wait states, retry back-off and the execution time-out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Clock {
    /// Real time. An execution that waits (a Wait state, a retry's back-off) is suspended when a
    /// [`crate::Runtime`] runs it (`execute_async`, `execute_batch`, `stream`): it holds no
    /// worker, and resumes on any worker when the time comes. Run on the caller's thread
    /// ([`crate::StateMachine::execute`]), it sleeps that thread.
    #[default]
    System,
    /// Virtual time: waits advance it at once. For tests, replays and benchmarks. Only Waits
    /// and back-offs spend the execution's time limit: an asynchronous handler's wait under a
    /// [`crate::Runtime`] is bounded by its TimeoutSeconds alone, as when the caller's thread
    /// waits for it.
    Virtual {
        /// The time the execution starts at, in milliseconds since the Unix epoch (`None`: now).
        start_millis: Option<i64>,
    },
    /// Like `Virtual`, and retry back-off takes no time at all (the benchmarks' zero-delay clock).
    ZeroDelay,
}

/// Names the context object reports (`$$.Execution.*`, `$$.StateMachine.*`). Start from
/// `Identity::default()` and set what you need.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Identity {
    /// `$$.StateMachine.Name`.
    pub state_machine_name: String,
    /// `$$.StateMachine.Id`; `$$.Execution.Id` is made from it.
    pub state_machine_arn: String,
    /// `$$.Execution.Name`.
    pub execution_name: String,
    /// `$$.Execution.RoleArn`.
    pub role_arn: String,
}

impl Default for Identity {
    fn default() -> Self {
        Identity {
            state_machine_name: "aslrt".into(),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:aslrt".into(),
            execution_name: "execution".into(),
            role_arn: "arn:aws:iam::123456789012:role/aslrt".into(),
        }
    }
}

/// Limits on definitions and executions. The default is AWS's quotas (Express workflows);
/// change one with its setter. Each is checked where it can be: on the definition when it is
/// compiled (a definition diagnostic), otherwise as the execution runs (a named error).
///
/// Some bounds are not settings but rules of the language as AWS runs it, or of the parser,
/// and are constants here: [`INTRINSIC_NESTING`](Self::INTRINSIC_NESTING),
/// [`DEFINITION_JSON_DEPTH`](Self::DEFINITION_JSON_DEPTH), [`EVENT_JSON_DEPTH`](Self::EVENT_JSON_DEPTH),
/// [`JSONATA_PARSE_DEPTH`](Self::JSONATA_PARSE_DEPTH), [`JSONATA_RANGE_ITEMS`](Self::JSONATA_RANGE_ITEMS),
/// [`JSONATA_RANGE_HELD`](Self::JSONATA_RANGE_HELD),
/// [`VARIABLE_BYTES`](Self::VARIABLE_BYTES), [`VARIABLES_BYTES`](Self::VARIABLES_BYTES),
/// [`WRITTEN_VALUE_BYTES`](Self::WRITTEN_VALUE_BYTES), [`ARRAY_RANGE_ITEMS`](Self::ARRAY_RANGE_ITEMS)
/// and [`HASH_INPUT_CHARS`](Self::HASH_INPUT_CHARS) / [`BASE64_INPUT_CHARS`](Self::BASE64_INPUT_CHARS).
/// Every text a JSONata function or `&` makes is held to the payload limit, and a JSONata
/// evaluation to the execution's arena cap ([`max_arena_bytes`](Self::max_arena_bytes)).
/// `StringMatches` needs no bound: it takes time linear in its text and pattern, whatever they
/// hold.
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
    /// up to 16 MiB, the most the writer writes of one value.
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
    /// entered: past it the execution fails with `States.DataLimitExceeded`. A JSONata
    /// evaluation checks it at each step too, and past it fails with AWS's evaluation memory
    /// limit (`States.QueryEvaluationError`). AWS has no such
    /// limit, since every state's output is held to 256 KiB; a definition that grows its data in
    /// a loop (an error cause holding the input, which the next error's cause holds again)
    /// would otherwise take all the host's memory. It is a safety net, not an exact quota: the
    /// unoptimised program, which allocates more, reaches it a little sooner.
    pub max_arena_bytes: usize,
    /// Largest definition, in bytes (AWS: 1 MiB, a hard quota).
    pub max_definition_bytes: usize,
    /// Most states in one definition, those inside Parallel branches and Map processors
    /// included (65,536 by default; the compiled form holds at most 65,536 in each machine,
    /// the top level and each branch or processor).
    pub max_states: usize,
    /// Deepest JSONata evaluation: expressions within expressions and function calls within
    /// calls. Deeper fails with `States.QueryEvaluationError` (JSONata's `U1001`, "Stack
    /// overflow error").
    pub max_jsonata_depth: u32,
    /// Most expression nodes one JSONata expression may evaluate, a bound on its time (a doubly
    /// recursive `$fib` would otherwise take 2^n calls). Past it the evaluation fails with
    /// `States.QueryEvaluationError` (`U1002`).
    pub max_jsonata_steps: u64,
    /// Most items one Map state may iterate over. Past it the Map state fails with
    /// `States.Runtime`. The default, 131,072, is more than a 256 KiB payload can hold, so with
    /// the default payload limit only item lists made during the run (a JSONata range, say)
    /// reach it.
    pub max_map_items: usize,
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

    /// These limits with [`max_definition_bytes`](Self::max_definition_bytes) set.
    pub fn max_definition_bytes(mut self, bytes: usize) -> Self {
        self.max_definition_bytes = bytes;
        self
    }

    /// These limits with [`max_states`](Self::max_states) set.
    pub fn max_states(mut self, states: usize) -> Self {
        self.max_states = states;
        self
    }

    /// These limits with [`max_jsonata_depth`](Self::max_jsonata_depth) set.
    pub fn max_jsonata_depth(mut self, depth: u32) -> Self {
        self.max_jsonata_depth = depth;
        self
    }

    /// These limits with [`max_jsonata_steps`](Self::max_jsonata_steps) set.
    pub fn max_jsonata_steps(mut self, steps: u64) -> Self {
        self.max_jsonata_steps = steps;
        self
    }

    /// These limits with [`max_map_items`](Self::max_map_items) set.
    pub fn max_map_items(mut self, items: usize) -> Self {
        self.max_map_items = items;
        self
    }

    /// The names of the settings, as [`RuntimeLimits::set`] takes them: the fields' names.
    pub const SETTINGS: [&'static str; 10] = [
        "max_payload_bytes",
        "max_execution_seconds",
        "max_transitions",
        "max_depth",
        "max_arena_bytes",
        "max_definition_bytes",
        "max_states",
        "max_jsonata_depth",
        "max_jsonata_steps",
        "max_map_items",
    ];

    /// Sets the limit named `name` (one of [`SETTINGS`](Self::SETTINGS)) to `value`, or to the
    /// field's largest value if `value` is larger; for the front ends, which name limits by
    /// text. An unknown name is an error that lists the known ones.
    ///
    /// ```
    /// let mut limits = aslrt::RuntimeLimits::default();
    /// limits.set("max_map_items", 1000).unwrap();
    /// assert_eq!(limits.max_map_items, 1000);
    /// assert!(limits.set("max_items", 1).is_err());
    /// ```
    pub fn set(&mut self, name: &str, value: u64) -> Result<(), String> {
        let size = usize::try_from(value).unwrap_or(usize::MAX);
        let small = u32::try_from(value).unwrap_or(u32::MAX);
        match name {
            "max_payload_bytes" => self.max_payload_bytes = size,
            "max_execution_seconds" => self.max_execution_seconds = value,
            "max_transitions" => self.max_transitions = value,
            "max_depth" => self.max_depth = small,
            "max_arena_bytes" => self.max_arena_bytes = size,
            "max_definition_bytes" => self.max_definition_bytes = size,
            "max_states" => self.max_states = size,
            "max_jsonata_depth" => self.max_jsonata_depth = small,
            "max_jsonata_steps" => self.max_jsonata_steps = value,
            "max_map_items" => self.max_map_items = size,
            other => return Err(format!("unknown limit '{other}': the limits are {}", Self::SETTINGS.join(", "))),
        }
        Ok(())
    }

    /// Deepest nesting of intrinsic function calls within one another; deeper is a definition
    /// diagnostic.
    pub const INTRINSIC_NESTING: usize = crate::common::INTRINSIC_NESTING;
    /// Deepest nesting of arrays and objects in a definition; deeper is a definition diagnostic.
    pub const DEFINITION_JSON_DEPTH: usize = crate::common::DEFINITION_JSON_DEPTH;
    /// Deepest nesting of arrays and objects in an event; deeper fails the execution with
    /// `States.Runtime` (the event parser's own bound).
    pub const EVENT_JSON_DEPTH: usize = crate::common::EVENT_JSON_DEPTH;
    /// Deepest nesting of a JSONata expression's syntax; deeper is a definition diagnostic.
    pub const JSONATA_PARSE_DEPTH: u32 = crate::common::JSONATA_PARSE_DEPTH;
    /// Most items a JSONata range (`[a..b]`) may ask for (JSONata's rule, `D2014`).
    pub const JSONATA_RANGE_ITEMS: u64 = crate::common::JSONATA_RANGE_ITEMS;
    /// Most items a JSONata range makes, as AWS measures it: past it, AWS's evaluation memory
    /// limit (`States.QueryEvaluationError`, "Expression evaluation memory limit exceeded").
    pub const JSONATA_RANGE_HELD: u64 = crate::common::JSONATA_RANGE_HELD;
    /// Largest workflow variable, in bytes of JSON (AWS's quota: past it,
    /// `States.DataLimitExceeded`).
    pub const VARIABLE_BYTES: usize = crate::common::VARIABLE_BYTES;
    /// Largest sum of the variables one state assigns, in bytes of JSON (AWS's quota).
    pub const VARIABLES_BYTES: usize = crate::common::VARIABLES_BYTES;
    /// Most bytes of JSON the writer writes of one value: `max_payload_bytes` takes effect up
    /// to it.
    pub const WRITTEN_VALUE_BYTES: usize = crate::common::WRITE_LIMIT;
    /// Most items `States.ArrayRange` makes (AWS's rule).
    pub const ARRAY_RANGE_ITEMS: usize = crate::common::ARRAY_RANGE_ITEMS;
    /// Longest input `States.Hash` takes, in characters (AWS's rule).
    pub const HASH_INPUT_CHARS: usize = crate::common::HASH_INPUT_CHARS;
    /// Longest input `States.Base64Encode` and `States.Base64Decode` take, in characters (AWS's
    /// rule).
    pub const BASE64_INPUT_CHARS: usize = crate::common::BASE64_INPUT_CHARS;

    /// The payload limit in effect: [`RuntimeLimits::max_payload_bytes`], at most the writer's
    /// limit.
    pub(crate) fn payload_bytes(&self) -> usize {
        self.max_payload_bytes.min(crate::common::WRITE_LIMIT)
    }
}

impl Default for RuntimeLimits {
    fn default() -> Self {
        RuntimeLimits {
            max_payload_bytes: crate::common::PAYLOAD_BYTES,
            max_execution_seconds: 300,
            max_transitions: 1_000_000,
            max_depth: 64,
            max_arena_bytes: crate::common::ARENA_BYTES,
            max_definition_bytes: 1024 * 1024,
            max_states: 65_536,
            max_jsonata_depth: crate::common::JSONATA_DEPTH,
            max_jsonata_steps: crate::common::JSONATA_STEPS,
            max_map_items: 131_072,
        }
    }
}
