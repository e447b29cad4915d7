//! Shared pieces of the criterion benchmarks and of `aslrt bench`: the `shared/bench` workloads
//! and the floor.
//!
//! Every benchmark group puts aslrt beside a hand-written native Rust baseline that does the
//! same work without an interpreter, so `cargo bench -p aslrt-benches` reads as ratios.
//! The workloads are read from `../shared/bench` (relative to the repository root) or from the
//! folder named by `ASLRT_BENCH_DIR`.

use aslrt::internal::handler::{Echo, Raise};
use aslrt::{Handlers, TaskContext, TaskError, TaskHandler, Value};
use std::path::{Path, PathBuf};

/// One workload of `shared/bench`.
pub struct Workload {
    /// The folder's name (`w2-etl-event`).
    pub name: String,
    pub definition: String,
    /// The input and expected output, without trailing whitespace.
    pub input: Vec<u8>,
    pub expected: Vec<u8>,
}

/// The folder holding the workloads.
pub fn bench_dir() -> PathBuf {
    std::env::var_os("ASLRT_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/bench"))
}

/// Reads the workload in `dir` (`definition.asl.json`, `input.json`, `expected-output.json`);
/// an error names the file.
pub fn load(dir: &Path) -> Result<Workload, String> {
    let read = |f: &str| std::fs::read(dir.join(f)).map_err(|e| format!("{}: {e}", dir.join(f).display()));
    let trim = |mut v: Vec<u8>| {
        while v.last().is_some_and(|b| b.is_ascii_whitespace()) {
            v.pop();
        }
        v
    };
    Ok(Workload {
        name: dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        definition: String::from_utf8(read("definition.asl.json")?)
            .map_err(|e| format!("{}: {e}", dir.join("definition.asl.json").display()))?,
        input: trim(read("input.json")?),
        expected: trim(read("expected-output.json")?),
    })
}

/// Loads a workload by folder name; panics with the path when it is missing (benchmarks only).
pub fn workload(name: &str) -> Workload {
    load(&bench_dir().join(name)).unwrap_or_else(|e| panic!("{e} (set ASLRT_BENCH_DIR)"))
}

/// The `flaky` handler of the benchmark workloads: fails with `Transient` while its input's
/// `attempt` is 0, then returns its input (the workflow passes `$$.State.RetryCount` as
/// `attempt`). A failure with constant names allocates nothing.
pub struct Flaky;

impl TaskHandler for Flaky {
    fn invoke<'a>(&self, input: Value<'a>, _: &TaskContext<'a>) -> Result<Value<'a>, TaskError> {
        if input.get("attempt").and_then(|a| a.as_f64()) == Some(0.0) {
            Err(TaskError::new("Transient", "simulated transient failure"))
        } else {
            Ok(input)
        }
    }
}

/// The host handlers the shared benchmark workloads expect (their README): `echo`, `flaky` and
/// `always-fail` under `arn:aws:states:::local:…`.
pub fn bench_handlers() -> Handlers {
    let mut h = Handlers::new();
    h.insert("arn:aws:states:::local:echo", Echo);
    h.insert("arn:aws:states:::local:flaky", Flaky);
    h.insert("arn:aws:states:::local:always-fail", Raise(TaskError::new("Transient", "simulated transient failure")));
    h
}

/// Compiles a workload with the host handlers `shared/bench` describes (echo, flaky,
/// always-fail) and a zero-delay retry clock.
pub fn try_compile(w: &Workload) -> Result<aslrt::StateMachine, String> {
    try_compile_with(w, true)
}

/// [`try_compile`], optimised or as the unoptimised reference.
pub fn try_compile_with(w: &Workload, optimize: bool) -> Result<aslrt::StateMachine, String> {
    try_compile_with_handlers(w, bench_handlers(), optimize)
}

/// [`try_compile_with`], with these handlers instead of the shared workloads'.
pub fn try_compile_with_handlers(
    w: &Workload,
    handlers: Handlers,
    optimize: bool,
) -> Result<aslrt::StateMachine, String> {
    aslrt::StateMachine::builder()
        .optimize(optimize)
        .handlers(handlers)
        .clock(aslrt::Clock::ZeroDelay)
        .compile(&w.definition)
        .map_err(|e| e.to_string())
}

/// [`try_compile`], panicking on an error (benchmarks only).
pub fn compile(w: &Workload) -> aslrt::StateMachine {
    try_compile(w).unwrap_or_else(|e| panic!("{}: {e}", w.name))
}

/// Whether two JSON texts hold the same value (as AWS compares outputs); text that is not JSON
/// equals nothing.
pub fn same_json(a: &[u8], b: &[u8]) -> bool {
    match (serde_json::from_slice::<serde_json::Value>(a), serde_json::from_slice::<serde_json::Value>(b)) {
        (Ok(a), Ok(b)) => aslrt::internal::conformance::json_eq(&a, &b),
        _ => false,
    }
}

/// The floor of `shared/bench`: parse the input with simd-json into a reused tape and write a
/// value the size of the expected output into a reused buffer. No runtime can do less.
pub struct Floor {
    padded: Vec<u8>,
    fresh: Vec<u8>,
    len: usize,
    buffers: simd_json::Buffers,
    tape: simd_json::Tape<'static>,
    output: simd_json::OwnedValue,
    out: Vec<u8>,
}

impl Floor {
    /// The floor of one workload: its input, and the expected output (JSON).
    pub fn new(input: &[u8], expected: &[u8]) -> Result<Floor, String> {
        let len = input.len();
        let mut padded = input.to_vec();
        padded.resize(len + simd_json::INPUT_PADDING, 0);
        let mut fresh = padded.clone();
        let mut buffers = simd_json::Buffers::new(len);
        // The input must parse, so that `run` cannot fail.
        let mut t = simd_json::Tape::null();
        simd_json::fill_tape_padded(&mut fresh, len, &mut buffers, &mut t).map_err(|e| format!("input: {e}"))?;
        let tape = t.reset();
        let out = Vec::with_capacity(expected.len());
        let mut expected = expected.to_vec();
        let output = simd_json::to_owned_value(&mut expected).map_err(|e| format!("expected output: {e}"))?;
        Ok(Floor { padded, fresh, len, buffers, tape, output, out })
    }

    /// One round: copy, parse, serialize; returns the output length.
    #[inline]
    pub fn run(&mut self) -> usize {
        use simd_json::prelude::Writable;
        self.fresh[..self.len].copy_from_slice(&self.padded[..self.len]);
        let mut t = std::mem::replace(&mut self.tape, simd_json::Tape::null()).reset();
        // `new` parsed this input once, so it parses again.
        let _ = simd_json::fill_tape_padded(&mut self.fresh, self.len, &mut self.buffers, &mut t);
        std::hint::black_box(&t);
        self.tape = t.reset();
        self.out.clear();
        // Writing into a Vec cannot fail.
        let _ = self.output.write(&mut self.out);
        std::hint::black_box(&self.out);
        self.out.len()
    }

    /// [`run`](Self::run) compiled once more, on its own: the floor's time moves by up to 20 %
    /// with how the compiler lays out the code around it, so a harness can time both copies
    /// and keep the faster.
    #[inline(never)]
    pub fn run_outlined(&mut self) -> usize {
        self.run()
    }
}

/// The resource of [`task_chain`]'s Tasks.
pub const STEP_RESOURCE: &str = "arn:aws:states:::aslrt:step";

/// K Task states in a row on [`STEP_RESOURCE`], each putting its result at `$.step`: the
/// async-steps workload of `aslrt bench --async` and the handler benches.
pub fn task_chain(k: usize) -> String {
    let states: Vec<String> = (1..=k)
        .map(|i| {
            let next = if i == k { r#""End":true"#.to_owned() } else { format!(r#""Next":"T{}""#, i + 1) };
            format!(r#""T{i}":{{"Type":"Task","Resource":"{STEP_RESOURCE}","ResultPath":"$.step",{next}}}"#)
        })
        .collect();
    format!(r#"{{"StartAt":"T1","States":{{{}}}}}"#, states.join(","))
}

/// Answers `{"ok":true}` at once, on the crate's values: the baseline handler.
pub struct AnswerOk;

impl TaskHandler for AnswerOk {
    fn invoke<'a>(&self, _: Value<'a>, ctx: &TaskContext<'a>) -> Result<Value<'a>, TaskError> {
        use aslrt::ArenaExt;
        Ok(ctx.arena.object([("ok", Value::Bool(true))]))
    }
}

/// The same answer, `{"ok":true}`, from a handler on [`STEP_RESOURCE`] of each kind: on the
/// crate's values (the baseline), on JSON text (`TextFn`) and on serde_json values (`JsonFn`).
/// What one costs more than the first, per Task, is its glue.
pub fn glue_handlers() -> [(&'static str, Handlers); 3] {
    let mut value = Handlers::new();
    value.insert(STEP_RESOURCE, AnswerOk);
    let mut text = Handlers::new();
    text.insert(STEP_RESOURCE, aslrt::TextFn(|_: &str| Ok::<_, TaskError>(r#"{"ok":true}"#)));
    let mut serde = Handlers::new();
    serde.insert(STEP_RESOURCE, aslrt::JsonFn(|_| Ok(serde_json::json!({"ok": true}))));
    [("Value", value), ("TextFn", text), ("JsonFn", serde)]
}
