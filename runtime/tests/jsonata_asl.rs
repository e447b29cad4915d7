//! JSONata states and workflow variables: what the AWS-recorded corpus does not cover, through
//! one `check(definition, input, expect)`.

use aslrt::internal::handler::Echo;
use aslrt::{Clock, StateMachine};
use serde_json::{json, Value};

fn run(definition: &Value, input: &Value, seed: u64) -> Value {
    let machine = StateMachine::builder()
        .handler("arn:aws:states:::local:echo", Echo)
        .clock(Clock::Virtual { start_millis: Some(0) })
        .seed(Some(seed))
        .compile(&definition.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    machine.execute_json(input).to_json()
}

#[track_caller]
fn check(definition: Value, input: Value, expect: Value) {
    assert_eq!(run(&definition, &input, 1), expect);
}

/// A JSONata machine with one Pass whose Output is `expr`.
fn output(expr: &str) -> Value {
    json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {"P": {"Type": "Pass", "Output": expr, "End": true}}})
}

fn ok(v: Value) -> Value {
    json!({"status": "SUCCEEDED", "output": v})
}

fn query_error(expr: &str, field: &str, what: &str) -> Value {
    json!({"status": "FAILED", "error": "States.QueryEvaluationError",
           "cause": format!("An error occurred while executing the state 'P' (entered at the event id #2). The JSONata expression '{expr}' specified for the field '{field}' {what}")})
}

#[test]
fn partition() {
    check(output("{% $partition([1,2,3,4,5], 2) %}"), json!({}), ok(json!([[1, 2], [3, 4], [5]])));
    check(output("{% $partition([1,2], 5) %}"), json!({}), ok(json!([[1, 2]])));
    // AWS: no size is the whole array as one chunk; a size that truncates to 0 gives nothing.
    check(output("{% $partition([1,2]) %}"), json!({}), ok(json!([[1, 2]])));
    check(
        output("{% $partition([1,2], 0.5) %}"),
        json!({}),
        query_error("$partition([1,2], 0.5)", "Output", "returned nothing (undefined)."),
    );
    check(
        output("{% $partition([1,2], -1) %}"),
        json!({}),
        query_error(
            "$partition([1,2], -1)",
            "Output",
            "threw an error during evaluation. D3137: Second argument must be zero or greater",
        ),
    );
}

#[test]
fn range() {
    check(output("{% $range(0, 10, 3) %}"), json!({}), ok(json!([0, 3, 6, 9])));
    check(output("{% $range(5, 1, -2) %}"), json!({}), ok(json!([5, 3, 1])));
    // AWS: one number is that number; a step pointing away gives nothing.
    check(output("{% $range(4, 4, 1) %}"), json!({}), ok(json!(4)));
    check(
        output("{% $range(1, 5, -1) %}"),
        json!({}),
        query_error("$range(1, 5, -1)", "Output", "returned nothing (undefined)."),
    );
}

#[test]
fn hash() {
    check(
        output("{% $hash('input data', 'SHA-256') %}"),
        json!({}),
        ok(json!("b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3")),
    );
    check(output("{% $hash('input data', 'MD5') %}"), json!({}), ok(json!("812f45842bc6d66ee14572ce20db8e86")));
    check(
        output("{% $hash('x', 'SHA-3') %}"),
        json!({}),
        query_error(
            "$hash('x', 'SHA-3')",
            "Output",
            "threw an error during evaluation. D3137: Hash algorithm 'SHA-3' must be one of SHA-1, SHA-384, SHA-256, SHA-512, MD5",
        ),
    );
}

/// `$random(seed)` is `new java.util.Random(seed).nextDouble()` on AWS.
#[test]
fn random_and_uuid_are_reproducible() {
    check(output("{% $random(42) %}"), json!({}), ok(json!(0.7275636800328681)));
    let def = output("{% {'r': $random(), 'u': $uuid(), 's': $random() < 1} %}");
    let a = run(&def, &json!({}), 7);
    assert_eq!(a, run(&def, &json!({}), 7), "the same seed gives the same values");
    assert_ne!(a, run(&def, &json!({}), 8), "another seed gives other values");
    let u = a["output"]["u"].as_str().unwrap();
    assert_eq!((u.len(), &u[14..15]), (36, "4"), "a version 4 UUID: {u}");
    // States.UUID draws from the same seeded source.
    let jsonpath =
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"u.$": "States.UUID()"}, "End": true}}});
    assert_eq!(run(&jsonpath, &json!({}), 3), run(&jsonpath, &json!({}), 3));
}

#[test]
fn parse() {
    check(output("{% $parse('{\"a\": [1, 2]}') %}"), json!({}), ok(json!({"a": [1, 2]})));
    check(
        output("{% $parse('{nope') %}"),
        json!({}),
        query_error("$parse('{nope')", "Output", "threw an error during evaluation. D3137: Invalid JSON"),
    );
    check(
        output("{% $eval('1') %}"),
        json!({}),
        query_error(
            "$eval('1')",
            "Output",
            "threw an error during evaluation. T1006: The $eval function is not available in AWS Step Functions",
        ),
    );
}

#[test]
fn now_is_the_runtime_clock() {
    check(output("{% $now() %}"), json!({}), ok(json!("1970-01-01T00:00:00.000Z")));
    check(output("{% $millis() %}"), json!({}), ok(json!(0)));
}

/// Every Assign and Output expression sees the variables as they were when the state was
/// entered; the new values show from the next state on.
#[test]
fn assign_sees_values_from_state_entry() {
    check(
        json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
            "A": {"Type": "Pass", "Assign": {"x": 3, "a": 6}, "Next": "B"},
            "B": {"Type": "Pass", "Assign": {"x": "{% $a %}", "nextX": "{% $x %}"}, "Output": "{% [$x, $a] %}", "Next": "C"},
            "C": {"Type": "Pass", "Output": "{% [$x, $nextX] %}", "End": true}}}),
        json!({}),
        ok(json!([6, 3])),
    );
}

/// Map iterations and Parallel branches read outer variables; their own assignments stay in
/// their scope.
#[test]
fn inner_scopes_read_outer_variables() {
    check(
        json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
            "A": {"Type": "Pass", "Assign": {"factor": 10}, "Next": "M"},
            "M": {"Type": "Map", "Items": "{% [1, 2, 3] %}",
                  "ItemProcessor": {"StartAt": "X", "States": {
                      "X": {"Type": "Pass", "Assign": {"local": "{% $states.input * $factor %}"}, "Next": "Y"},
                      "Y": {"Type": "Pass", "Output": "{% $local %}", "End": true}}},
                  "Next": "After"},
            "After": {"Type": "Pass", "Output": "{% {'items': $states.input, 'local': $exists($local)} %}", "End": true}}}),
        json!({}),
        ok(json!({"items": [10, 20, 30], "local": false})),
    );
}

/// An attempt to assign an outer variable from a Map iteration is rejected with the definition.
#[test]
fn map_iteration_cannot_assign_an_outer_variable() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"total": 0}, "Next": "M"},
        "M": {"Type": "Map", "Items": "{% [1, 2] %}",
              "ItemProcessor": {"StartAt": "X", "States": {
                  "X": {"Type": "Pass", "Assign": {"total": "{% $total + $states.input %}"}, "End": true}}},
              "End": true}}});
    let err = StateMachine::compile(&def.to_string()).expect_err("rejected");
    let d = &err.diagnostics()[0];
    assert_eq!((d.code, d.location.as_str()), ("SCHEMA_VALIDATION_FAILED", "/States/M/ItemProcessor/States/X/Assign"));
    assert!(d.message.contains("'total'"), "{}", d.message);
}

#[test]
fn jsonpath_mode_variables() {
    check(
        json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Assign": {"order.$": "$.order", "greeting.$": "States.Format('Hello {}', $.name)"}, "Next": "B"},
            "B": {"Type": "Pass", "Parameters": {"n.$": "$order.lines[1]", "g.$": "$greeting", "c.$": "States.ArrayLength($order.lines)"}, "End": true}}}),
        json!({"order": {"lines": ["a", "b"]}, "name": "Ada"}),
        ok(json!({"n": "b", "g": "Hello Ada", "c": 2})),
    );
}

/// AWS's limits: 256 KiB a variable and an Assign, 10 MiB an execution.
#[test]
fn variable_size_limits() {
    let big = "x".repeat(200 * 1024);
    let one =
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {"v.$": "$.s", "w.$": "$.s"}, "End": true}}});
    let out = run(&one, &json!({"s": big}), 1);
    assert_eq!(out["error"], "States.Runtime");
    assert!(out["cause"].as_str().unwrap().contains("The values of one Assign are 409604 bytes"), "{out}");
    let per_var = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {"v.$": "States.Array($.s, $.s)"}, "End": true}}});
    let out = run(&per_var, &json!({"s": big}), 1);
    assert!(out["cause"].as_str().unwrap().contains("The value assigned to the variable 'v' is 409607 bytes"), "{out}");
    // 60 states of 200 KiB each pass 10 MiB.
    let mut states = serde_json::Map::new();
    for i in 0..60 {
        let next = if i == 59 { json!({"End": true}) } else { json!({"Next": format!("S{}", i + 1)}) };
        let mut s = json!({"Type": "Pass", "Assign": {format!("v{i}.$"): "$.s"}});
        s.as_object_mut().unwrap().extend(next.as_object().unwrap().clone());
        states.insert(format!("S{i}"), s);
    }
    let many = json!({"StartAt": "S0", "States": states});
    let out = run(&many, &json!({"s": big}), 1);
    assert_eq!(out["error"], "States.Runtime");
    assert!(out["cause"].as_str().unwrap().contains("more than the maximum of 10485760 bytes"), "{out}");
}

#[test]
fn jsonata_validation() {
    let diags = |def: Value| -> Vec<(String, String, String)> {
        match aslrt::internal::asl::parse(&def.to_string()) {
            Ok(_) => Vec::new(),
            Err(d) => d.into_iter().map(|d| (d.code.to_owned(), d.location, d.message)).collect(),
        }
    };
    let d = diags(
        json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": "$.a", "End": true}}}),
    );
    assert_eq!(
        d,
        [(
            "SCHEMA_VALIDATION_FAILED".into(),
            "/States/P".into(),
            "The QueryLanguage is set to 'JSONata', but field 'InputPath' is only supported for the 'JSONPath' QueryLanguage".into()
        )]
    );
    let d = diags(json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Output": "{% 1 %}", "End": true}}}));
    assert_eq!(
        d[0].2,
        "The QueryLanguage is set to 'JSONPath', but field 'Output' is only supported for the 'JSONata' QueryLanguage"
    );
    let d = diags(
        json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {"P": {"Type": "Pass", "QueryLanguage": "JSONPath", "End": true}}}),
    );
    assert_eq!(d[0].2, "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine");
    let d = diags(output("{% 1 + %}"));
    assert_eq!((d[0].0.as_str(), d[0].1.as_str()), ("INVALID_JSONATA_EXPRESSION", "/States/P/Output"));
    let d = diags(output("{% phone %}"));
    assert_eq!(d[0].2, "Reference to 'phone' at the top level is not supported.");
    let d = diags(output("{% $$.a %}"));
    assert_eq!(d[0].2, "Reference to '$$' is not supported.");
    assert!(diags(output("{% $states.input.items[price > 3].name %}")).is_empty(), "names inside predicates are fine");
}
