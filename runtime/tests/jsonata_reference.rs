//! The JSONata engine against the reference implementation: `tests/jsonata/reference.jsonl` holds
//! expressions, inputs and what jsonata 2.0.6 (JavaScript) returned (see that folder's README).
//! Each case is one test; ids in `tests/jsonata/known-differences.txt` must differ (and the list
//! only shrinks).

use aslrt::internal::jsonata::{Expr, JV};
use aslrt::internal::value::{from_serde, Arena};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value as Json;

fn main() {
    let args = Arguments::from_args();
    let known: std::collections::BTreeSet<String> = include_str!("jsonata/known-differences.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    let trials = include_str!("jsonata/reference.jsonl")
        .lines()
        .enumerate()
        .map(|(n, line)| {
            let case: Json = serde_json::from_str(line).expect("reference lines are JSON");
            let id = format!("ref-{:04}", n + 1);
            let expected_to_differ = known.contains(&id);
            Trial::test(id, move || check(&case, expected_to_differ))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

/// What aslrt's engine gives, in the reference's terms.
fn run(case: &Json) -> Json {
    let expr_text = case["expr"].as_str().unwrap_or_default();
    let bindings = case.get("bindings").and_then(Json::as_object).cloned().unwrap_or_default();
    let names: Vec<String> = bindings.keys().cloned().collect();
    let arena = Arena::new();
    let mut resolve = |name: &str| names.iter().position(|n| n == name).map(|i| i as u32);
    let expr = match Expr::compile(expr_text, &mut resolve) {
        Ok(e) => e,
        Err(e) => return serde_json::json!({"error": {"code": e.code}}),
    };
    let input_json = case.get("input").cloned().unwrap_or(Json::Null);
    let input = if case.get("input").is_some() { JV::V(from_serde(&arena, &input_json)) } else { JV::Undef };
    let values: Vec<Json> = bindings.values().cloned().collect();
    let globals: Vec<std::cell::Cell<JV<'_>>> =
        values.iter().map(|v| std::cell::Cell::new(JV::V(from_serde(&arena, v)))).collect();
    match expr.eval_detached(&arena, &globals, input, false) {
        Ok(JV::F(_)) => serde_json::json!({"result": {"function": true}}),
        Ok(v) => match v.to_value() {
            Some(x) => serde_json::json!({"result": with_non_finite(&x)}),
            None => serde_json::json!({"undefined": true}),
        },
        Err(e) => serde_json::json!({"error": {"code": e.code, "message": e.message}}),
    }
}

/// As the reference writes its results: non-finite numbers as `{"nonFinite": …}`.
fn with_non_finite(v: &aslrt::internal::value::Value<'_>) -> Json {
    use aslrt::internal::value::Value;
    match v {
        Value::Float(f) if f.is_nan() => serde_json::json!({"nonFinite": "NaN"}),
        Value::Float(f) if f.is_infinite() => {
            serde_json::json!({"nonFinite": if *f > 0.0 { "Infinity" } else { "-Infinity" }})
        }
        Value::Array(items) => Json::Array(items.iter().map(with_non_finite).collect()),
        Value::Object(members) => {
            Json::Object(members.iter().map(|(k, x)| ((*k).to_owned(), with_non_finite(x))).collect())
        }
        other => other.to_serde(),
    }
}

fn same(expect: &Json, got: &Json) -> bool {
    if let Some(e) = expect.get("error") {
        return got.get("error").and_then(|g| g.get("code")) == e.get("code");
    }
    if expect.get("undefined").is_some() {
        return got.get("undefined").is_some();
    }
    match (expect.get("result"), got.get("result")) {
        (Some(e), Some(g)) => aslrt::internal::conformance::json_eq(e, g),
        _ => false,
    }
}

fn check(case: &Json, expected_to_differ: bool) -> Result<(), Failed> {
    let got = run(case);
    let ok = same(case, &got);
    match (ok, expected_to_differ) {
        (true, false) | (false, true) => Ok(()),
        (false, false) => Err(format!(
            "{}\n input:    {}\n expected: {}\n got:      {}",
            case["expr"],
            case.get("input").unwrap_or(&Json::Null),
            strip(case),
            got
        )
        .into()),
        (true, true) => Err("now agrees with the reference: remove it from tests/jsonata/known-differences.txt".into()),
    }
}

fn strip(case: &Json) -> Json {
    let mut c = case.clone();
    if let Some(o) = c.as_object_mut() {
        o.remove("expr");
        o.remove("input");
    }
    c
}
