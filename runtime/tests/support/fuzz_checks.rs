//! The check of every fuzz target, one function each, shared by the cargo-fuzz targets in
//! `fuzz/fuzz_targets/` (each a one-line call into here) and by `tests/fuzz_regressions.rs`,
//! which replays every input that once crashed a target. A check panics when what it guards
//! does not hold.

use aslrt::internal::handler::{Echo, Raise};
use aslrt::{Clock, Config, Handlers, RuntimeLimits, Scratch, StateMachine, TaskError};

/// Every fuzz target, by name: the name is both its file in `fuzz/fuzz_targets/` and the prefix
/// of its findings in `tests/fuzz/testdata/`.
pub const TARGETS: [&str; 7] = ["parse_asl", "compile", "run", "jsonpath", "intrinsics", "jsonata", "differential"];

/// Runs `target`'s check on `data`.
pub fn check(target: &str, data: &[u8]) {
    match target {
        "parse_asl" => parse_asl(data),
        "compile" => compile(data),
        "run" => run(data),
        "jsonpath" => jsonpath(data),
        "intrinsics" => intrinsics(data),
        "jsonata" => jsonata(data),
        "differential" => differential(data),
        other => panic!("no fuzz target '{other}' (the file name of a finding starts with its target)"),
    }
}

/// Any text as a definition: parsing returns diagnostics or a model, and never panics.
pub fn parse_asl(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = aslrt::internal::asl::parse(text);
    }
}

/// Any text as a definition: what validates also compiles and passes the verifier, optimised
/// and not.
pub fn compile(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if aslrt::internal::asl::parse(text).is_ok() {
        for optimize in [true, false] {
            if let Err(e) = StateMachine::builder().optimize(optimize).compile(text) {
                panic!("validated but did not compile (optimize: {optimize}): {e}");
            }
        }
    }
}

/// A definition, a NUL byte and an event: compiling and running never panic, and a SUCCEEDED
/// output is valid JSON (a virtual clock, 10,000 transitions, depth 16).
pub fn run(data: &[u8]) {
    let (def, event) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b"{}"[..]),
    };
    let Ok(def) = std::str::from_utf8(def) else { return };
    let mut handlers = Handlers::new();
    handlers.insert("arn:aws:states:::local:echo", Echo);
    handlers.insert("arn:aws:states:::local:fail", Raise(TaskError::new("Boom", "fuzz")));
    let config = Config::default()
        .clock(Clock::Virtual { start_millis: Some(0) })
        .seed(Some(0))
        .limits(RuntimeLimits::default().max_transitions(10_000).max_depth(16));
    let Ok(machine) = StateMachine::builder().handlers(handlers).config(config).compile(def) else { return };
    let mut scratch = Scratch::new();
    let run = machine.execute(&mut scratch, event);
    if run.status == aslrt::Status::Succeeded {
        let out = run.output.expect("a succeeded execution has an output");
        serde_json::from_str::<serde_json::Value>(out).expect("the output is valid JSON");
    }
}

/// The document the `jsonpath` target evaluates paths on.
const DOC: &str = r#"{"a":{"b":[1,2,{"c":"x"}],"d":null},"e":[{"f":1},{"f":2.5,"g":"h"}],"k l":true}"#;

/// Any text as a JSONPath: parsing never panics; a path that parses evaluates (planned and
/// not, with the same result) and names what it misses, and a reference path places, on a
/// fixed document, without panicking.
pub fn jsonpath(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let arena = bumpalo::Bump::new();
    let doc: serde_json::Value = serde_json::from_str(DOC).expect("the document is JSON");
    let root = aslrt::internal::value::from_serde(&arena, &doc);
    if let Ok(p) = aslrt::internal::path::parse_path(text) {
        let general = p.eval(&arena, root).map(|v| aslrt::internal::value::to_json_string(&v));
        let mut planned = p.clone();
        planned.plan();
        let walked = planned.eval(&arena, root).map(|v| aslrt::internal::value::to_json_string(&v));
        assert_eq!(walked, general, "{text}: the planned walk and the general evaluator differ");
        let _ = p.not_found_message(root);
    }
    if let Ok(r) = aslrt::internal::path::parse_reference_path(text) {
        let _ = r.place(&arena, root, aslrt::internal::value::Value::Int(1));
    }
}

/// Any text as a `.$` value (intrinsic calls among others): one that compiles yields a value or
/// fails with `States.Runtime` (or `States.DataLimitExceeded` for text past the writer's
/// limit).
pub fn intrinsics(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let def = serde_json::json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"v.$": text}, "End": true}}});
    let Ok(machine) = StateMachine::compile(&def.to_string()) else { return };
    let input = serde_json::json!({"s": "a,b", "n": 3, "a": [1, 2, 2], "o": {"x": 1}, "f": 1.5});
    let out = machine.execute_json(&input);
    if out.status != aslrt::Status::Succeeded {
        let error = out.error.as_deref();
        assert!(matches!(error, Some("States.Runtime" | "States.DataLimitExceeded")), "{out:?}");
    }
}

/// Any text as a JSONata expression: compiling never panics, and one that compiles evaluates on
/// a fixed input, with variables, to the same value or error whether its names-only paths are
/// walked member by member or go the general way.
pub fn jsonata(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let arena = bumpalo::Bump::new();
    let mut names: Vec<String> = Vec::new();
    let mut resolve = |name: &str| -> Option<u32> {
        let slot = names.iter().position(|n| n == name).unwrap_or_else(|| {
            names.push(name.to_owned());
            names.len() - 1
        });
        Some(slot as u32)
    };
    let Ok(expr) = aslrt::internal::jsonata::Expr::compile(text, &mut resolve) else { return };
    let doc = serde_json::json!({"a": {"b": [1, 2, {"c": "x"}]}, "n": 3, "s": "text", "xs": [{"a": 1}, {"a": [2, 3]}]});
    let input = aslrt::internal::jsonata::JV::V(aslrt::internal::value::from_serde(&arena, &doc));
    let globals: Vec<std::cell::Cell<aslrt::internal::jsonata::JV<'_>>> = (0..names.len())
        .map(|i| std::cell::Cell::new(if i % 2 == 0 { input } else { aslrt::internal::jsonata::JV::Undef }))
        .collect();
    let shown = |r: Result<aslrt::internal::jsonata::JV<'_>, aslrt::internal::jsonata::JError>| match r {
        Ok(v) => Ok(v.to_value().map(|v| aslrt::internal::value::to_json_string(&v))),
        Err(e) => Err(e.code),
    };
    let fast = shown(expr.eval_detached(&arena, &globals, input, false));
    let general = shown(expr.eval_detached(&arena, &globals, input, true));
    assert_eq!(fast, general, "{text}: names-only paths and the general evaluation differ");
}

/// Bytes driving the generator (`gen/`): the definition and event it makes agree optimised,
/// unoptimised and under every metamorphic variant (`oracle.rs`).
pub fn differential(data: &[u8]) {
    let g = super::gen::generate(&mut arbitrary::Unstructured::new(data));
    if let Some(d) = super::oracle::disagreement(&g.definition, &g.input, &super::gen::handlers) {
        panic!("{d}\ndefinition: {}\ninput: {}", g.definition, String::from_utf8_lossy(&g.input));
    }
}
