//! Hand-written cases for outcomes the AWS-recorded corpus does not cover. Each goes through
//! `check(definition, input, expect)`.

use aslrt::internal::handler::{Echo, Raise};
use aslrt::JsonFn;
use aslrt::{Clock, Handlers, RuntimeLimits, StateMachine, TaskError, TaskHandler};
use serde_json::{json, Value};

fn handlers() -> Handlers {
    let mut h = Handlers::new();
    h.insert("arn:aws:states:::local:echo", Echo);
    h.insert("arn:aws:states:::local:fail", Raise(TaskError::new("Transient", "simulated transient failure")));
    h.insert("arn:aws:states:::local:panic", JsonFn(|_| -> Result<Value, TaskError> { panic!("handler bug") }));
    h.insert("arn:aws:states:::local:big", JsonFn(|_| Ok(json!("x".repeat(300 * 1024)))));
    h
}

/// Runs `definition` optimised and as the unoptimised reference, checks that both give the same
/// outcome byte for byte, and returns it.
fn run_with(definition: Value, input: Value, limits: RuntimeLimits) -> Value {
    let [optimized, reference] = [true, false].map(|optimize| {
        let machine = StateMachine::builder()
            .optimize(optimize)
            .handlers(handlers())
            .clock(Clock::Virtual { start_millis: Some(0) })
            .seed(Some(1))
            .limits(limits)
            .compile(&definition.to_string())
            .unwrap_or_else(|e| panic!("{e}"));
        machine.execute_json(&input)
    });
    assert_eq!(optimized, reference, "optimised and unoptimised outcomes of {definition} on {input}");
    optimized.to_json()
}

#[track_caller]
fn check(definition: Value, input: Value, expect: Value) {
    assert_eq!(run_with(definition, input, RuntimeLimits::default()), expect);
}

fn pass_then(state: Value) -> Value {
    json!({"StartAt": "S", "States": {"S": state}})
}

/// AWS reports a Choice with no matching rule and no Default as States.Runtime; the States
/// Language specification names States.NoChoiceMatched, which AWS documents as reserved. AWS wins.
#[test]
fn no_choice_matched_is_states_runtime() {
    check(
        json!({"StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "NumericEquals": 1, "Next": "D"}]},
            "D": {"Type": "Succeed"}}}),
        json!({"x": 2}),
        json!({"status": "FAILED", "error": "States.Runtime",
               "cause": "An error occurred while executing the state 'C' (entered at the event id #2). Failed to transition out of the state. The state does not point to a next state."}),
    );
}

/// A Choice reads a variable once for consecutive comparisons of it, and And and Or stop at the
/// operand that decides them: a later operand's missing variable is an error only when it is
/// reached. Rules go in order, and the first that holds wins.
#[test]
fn choice_rules_in_order_with_shared_and_missing_variables() {
    let machine = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [
            {"And": [{"Variable": "$.t", "StringEquals": "a"}, {"Variable": "$.n", "NumericGreaterThan": 1}], "Next": "A"},
            {"Or": [{"Variable": "$.t", "StringEquals": "b"}, {"Variable": "$.t", "StringEquals": "c"}], "Next": "B"},
            {"Not": {"Variable": "$.u", "IsPresent": true}, "Next": "N"},
            {"Variable": "$.u", "StringEqualsPath": "$.t", "Next": "U"}],
            "Default": "D"},
        "A": {"Type": "Pass", "Result": "A", "End": true},
        "B": {"Type": "Pass", "Result": "B", "End": true},
        "N": {"Type": "Pass", "Result": "N", "End": true},
        "U": {"Type": "Pass", "Result": "U", "End": true},
        "D": {"Type": "Pass", "Result": "D", "End": true}}});
    let chose = |input: Value, state: &str| {
        check(machine.clone(), input, json!({"status": "SUCCEEDED", "output": state}));
    };
    chose(json!({"t": "a", "n": 2}), "A");
    // `$.n` is missing, but the And is decided by its first operand.
    chose(json!({"t": "b"}), "B");
    chose(json!({"t": "c"}), "B");
    chose(json!({"t": "x"}), "N");
    chose(json!({"t": "x", "u": "x"}), "U");
    chose(json!({"t": "x", "u": "y"}), "D");
    // The And's second operand is reached, and its variable is missing.
    check(
        machine.clone(),
        json!({"t": "a"}),
        json!({"status": "FAILED", "error": "States.Runtime",
               "cause": "An error occurred while executing the state 'C' (entered at the event id #2). Invalid path '$.n': The choice state's condition path references an invalid value."}),
    );
}

/// Intrinsic failures are reported as States.Runtime (States.IntrinsicFailure is reserved), and,
/// being States.Runtime, are not caught by States.ALL.
#[test]
fn intrinsic_failure_is_states_runtime_and_not_caught() {
    check(
        json!({"StartAt": "P", "States": {
            "P": {"Type": "Parallel", "Branches": [{"StartAt": "I", "States": {"I": {"Type": "Pass",
                "Parameters": {"v.$": "States.ArrayGetItem($.a, 5)"}, "End": true}}}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
            "Caught": {"Type": "Succeed"}}}),
        json!({"a": [1]}),
        json!({"status": "FAILED", "error": "States.Runtime",
               "cause": "An error occurred while executing the state 'I' (entered at the event id #4). The function 'States.ArrayGetItem($.a, 5)' had the following error: Index 5 is out of bounds for an array of length 1"}),
    );
}

#[test]
fn tolerated_failure_threshold() {
    let def = |count: u64| {
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ToleratedFailureCount": count,
            "ItemProcessor": {"StartAt": "C", "States": {
                "C": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericGreaterThan": 1, "Next": "F"}], "Default": "OK"},
                "F": {"Type": "Fail", "Error": "Bad"},
                "OK": {"Type": "Succeed"}}}, "End": true}}})
    };
    check(def(2), json!([1, 2, 3]), json!({"status": "SUCCEEDED", "output": [1, null, null]}));
    check(
        def(1),
        json!([1, 2, 3]),
        json!({"status": "FAILED", "error": "States.ExceedToleratedFailureThreshold",
               "cause": "The specified tolerated failure threshold was exceeded"}),
    );
}

#[test]
fn data_limit_exceeded_is_not_caught() {
    check(
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::local:big",
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
            "Caught": {"Type": "Succeed"}}}),
        json!({}),
        json!({"status": "FAILED", "error": "States.DataLimitExceeded",
               "cause": "The state/task 'T' returned a result with a size exceeding the maximum number of bytes service limit."}),
    );
    let out = run_with(
        pass_then(json!({"Type": "Pass", "End": true})),
        json!({"a": "x".repeat(100)}),
        RuntimeLimits::default().max_payload_bytes(64),
    );
    assert_eq!(out["error"], "States.DataLimitExceeded");
}

#[test]
fn result_path_match_failure_is_catchable() {
    check(
        json!({"StartAt": "P", "States": {
            "P": {"Type": "Parallel", "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Pass", "Result": 1, "ResultPath": "$.a.b", "End": true}}}],
                  "Catch": [{"ErrorEquals": ["States.ResultPathMatchFailure"], "ResultPath": "$.err", "Next": "Caught"}], "End": true},
            "Caught": {"Type": "Pass", "End": true}}}),
        json!({"a": "text"}),
        json!({"status": "SUCCEEDED", "output": {"a": "text", "err": {"Error": "States.ResultPathMatchFailure",
            "Cause": "Unable to apply ReferencePath $.a.b to input \"{\\\"a\\\":\\\"text\\\"}\""}}}),
    );
}

#[test]
fn retry_backoff_then_catch() {
    check(
        json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:states:::local:fail",
                  "Retry": [{"ErrorEquals": ["Transient"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 2.0}],
                  "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "H"}], "End": true},
            "H": {"Type": "Pass", "Parameters": {"retries.$": "$$.State.RetryCount", "error.$": "$.error"}, "End": true}}}),
        json!({}),
        json!({"status": "SUCCEEDED", "output": {"retries": 0, "error": {"Error": "Transient", "Cause": "simulated transient failure"}}}),
    );
}

/// A retried JSONata Task sees its attempt's `$states.context.State.RetryCount` in its
/// Arguments (each attempt sets `$states` afresh): here the Arguments fail until the third
/// attempt, which reaches the handler with a count of 2.
#[test]
fn a_jsonata_retry_sees_its_retry_count() {
    check(
        pass_then(json!({"Type": "Task", "QueryLanguage": "JSONata", "Resource": "arn:aws:states:::local:echo",
            "Arguments": "{% $states.context.State.RetryCount < 2 ? $error('not yet') : {'n': $states.context.State.RetryCount} %}",
            "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 3, "IntervalSeconds": 1}], "End": true})),
        json!({}),
        json!({"status": "SUCCEEDED", "output": {"n": 2}}),
    );
}

#[test]
fn handler_panic_becomes_task_failure() {
    check(
        json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:states:::local:panic",
                  "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "H"}], "End": true},
            "H": {"Type": "Pass", "End": true}}}),
        json!({}),
        json!({"status": "SUCCEEDED", "output": {"Error": "States.TaskFailed",
               "Cause": "the task handler for 'arn:aws:states:::local:panic' panicked: handler bug"}}),
    );
}

#[test]
fn missing_handler_names_the_resource() {
    check(
        pass_then(json!({"Type": "Task", "Resource": "arn:aws:states:::local:nobody", "End": true})),
        json!({}),
        json!({"status": "FAILED", "error": "States.TaskFailed",
               "cause": "no task handler is registered for the resource 'arn:aws:states:::local:nobody'"}),
    );
}

#[test]
fn execution_times_out_after_five_minutes() {
    check(
        pass_then(json!({"Type": "Wait", "Seconds": 301, "End": true})),
        json!({}),
        json!({"status": "TIMED_OUT", "error": "States.Timeout", "cause": "The execution timed out."}),
    );
    check(
        json!({"TimeoutSeconds": 10, "StartAt": "S", "States": {"S": {"Type": "Wait", "Seconds": 11, "End": true}}}),
        json!({}),
        json!({"status": "TIMED_OUT", "error": "States.Timeout", "cause": "The execution timed out."}),
    );
    check(
        pass_then(json!({"Type": "Wait", "Seconds": 299, "End": true})),
        json!(1),
        json!({"status": "SUCCEEDED", "output": 1}),
    );
}

/// Since September 2025 a Map iterates a JSON object's members, with `$$.Map.Item.Key`.
#[test]
fn map_over_object_members() {
    check(
        pass_then(json!({"Type": "Map", "ItemsPath": "$.o",
            "ItemSelector": {"k.$": "$$.Map.Item.Key", "v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"},
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true})),
        json!({"o": {"a": 1, "b": 2}}),
        json!({"status": "SUCCEEDED", "output": [{"k": "a", "v": 1, "i": 0}, {"k": "b", "v": 2, "i": 1}]}),
    );
}

#[test]
fn malformed_event_fails_cleanly() {
    let machine = StateMachine::compile(&pass_then(json!({"Type": "Pass", "End": true})).to_string()).unwrap();
    let mut scratch = aslrt::Scratch::new();
    let run = machine.execute(&mut scratch, b"{\"a\":");
    assert_eq!(run.status, aslrt::Status::Failed);
    assert_eq!(run.error, Some("States.Runtime"));
    assert!(run.cause.unwrap().starts_with("The execution input is not valid JSON"));
    // The scratch is still good for the next event.
    let run = machine.execute(&mut scratch, b"[1]");
    assert_eq!(run.output, Some("[1]"));
}

#[test]
fn handlers_are_shared_across_threads() {
    fn assert_handler<H: TaskHandler>() {}
    assert_handler::<Echo>();
    let machine = StateMachine::builder()
        .handlers(handlers())
        .compile(
            &pass_then(json!({"Type": "Task", "Resource": "arn:aws:states:::local:echo", "End": true})).to_string(),
        )
        .unwrap();
    std::thread::scope(|s| {
        for t in 0..2 {
            let m = machine.clone();
            s.spawn(move || {
                let mut scratch = aslrt::Scratch::new();
                for i in 0..1000 {
                    let input = format!("{{\"t\":{t},\"i\":{i}}}");
                    assert_eq!(m.execute(&mut scratch, input.as_bytes()).output, Some(input.as_str()));
                }
            });
        }
    });
}

/// `definition` with `arn:aws:states:::local:slow`: a synchronous handler that takes 1.1 s.
fn with_slow_handler(definition: Value) -> StateMachine {
    let mut h = Handlers::new();
    h.insert(
        "arn:aws:states:::local:slow",
        JsonFn(|v| {
            std::thread::sleep(std::time::Duration::from_millis(1100));
            Ok(v)
        }),
    );
    StateMachine::builder().handlers(h).compile(&definition.to_string()).unwrap()
}

/// A synchronous handler that answers within its TimeoutSeconds and HeartbeatSeconds, on the
/// system clock, succeeds: the clock read around the call measures the call.
#[test]
fn a_quick_task_within_its_limits_succeeds() {
    let mut h = Handlers::new();
    h.insert("arn:aws:states:::local:echo", Echo);
    let machine = StateMachine::builder()
        .handlers(h)
        .compile(
            &json!({"StartAt": "T", "States": {
                "T": {"Type": "Task", "Resource": "arn:aws:states:::local:echo", "TimeoutSeconds": 2,
                      "HeartbeatSeconds": 1, "End": true}}})
            .to_string(),
        )
        .unwrap();
    let out = machine.execute_json(&json!({"a": 1})).to_json();
    assert_eq!(out, json!({"status": "SUCCEEDED", "output": {"a": 1}}));
}

/// A synchronous handler that outlives TimeoutSeconds fails the Task with States.Timeout (checked
/// when it returns), which States.TaskFailed does not catch but States.ALL does.
#[test]
fn task_timeout_on_the_system_clock() {
    let machine = with_slow_handler(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::local:slow", "TimeoutSeconds": 1,
              "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Wrong"}, {"ErrorEquals": ["States.ALL"], "Next": "Right"}],
              "End": true},
        "Wrong": {"Type": "Fail", "Error": "Wrong"},
        "Right": {"Type": "Pass", "End": true}}}));
    let out = machine.execute_json(&json!({})).to_json();
    assert_eq!(out, json!({"status": "SUCCEEDED", "output": {"Error": "States.Timeout", "Cause": ""}}));
}

/// HeartbeatSeconds, also without TimeoutSeconds, holds a synchronous handler to the same check:
/// one that runs longer sent no heartbeat meanwhile, so the Task fails with
/// States.HeartbeatTimeout.
#[test]
fn task_heartbeat_timeout_on_the_system_clock() {
    let machine = with_slow_handler(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::local:slow", "HeartbeatSeconds": 1, "End": true}}}));
    let out = machine.execute_json(&json!({}));
    assert_eq!((out.status, out.error.as_deref()), (aslrt::Status::Failed, Some("States.HeartbeatTimeout")), "{out:?}");
}

/// A program that never inspects its input passes the event through unparsed when it is
/// spelled as the runtime writes it: the output is the event's own bytes, also inside arrays a
/// Parallel builds, and a malformed event still fails. An event spelled otherwise (`2.50`,
/// `\u0041`) is parsed and written again, as the unoptimised program does: passed through, it
/// once came out as written (issue #13).
#[test]
fn unread_input_is_passed_through() {
    let pass = StateMachine::compile(&pass_then(json!({"Type": "Pass", "End": true})).to_string()).unwrap();
    let reference = StateMachine::builder()
        .optimize(false)
        .compile(&pass_then(json!({"Type": "Pass", "End": true})).to_string())
        .unwrap();
    let mut scratch = aslrt::Scratch::new();
    let event = br#"{"a":[1,2.5,"xA"],"b":{"c":null}}"#;
    let run = pass.execute(&mut scratch, event);
    assert_eq!(run.output, Some(std::str::from_utf8(event).unwrap()));
    for (spelled, written) in [
        (&br#"{"a":[1,2.50,"x\u0041"],"b":{"c":null}}"#[..], r#"{"a":[1,2.5,"xA"],"b":{"c":null}}"#),
        (br#"{"a":[1e0,25e-1,"xA"],"b":{"c":null}}"#, r#"{"a":[1.0,2.5,"xA"],"b":{"c":null}}"#),
    ] {
        let want = reference.execute(&mut aslrt::Scratch::new(), spelled).to_outcome();
        assert_eq!(want.output.as_deref(), Some(written));
        assert_eq!(pass.execute(&mut scratch, spelled).to_outcome(), want);
    }
    // Not compact: parsed and written compactly.
    let run = pass.execute(&mut scratch, b"{ \"a\" : [1, 2] }");
    assert_eq!(run.output, Some(r#"{"a":[1,2]}"#));
    let run = pass.execute(&mut scratch, b"{\"a\":");
    assert_eq!((run.status, run.error), (aslrt::Status::Failed, Some("States.Runtime")));
    let par = StateMachine::compile(
        &json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": 7, "End": true}}}]}}})
        .to_string(),
    )
    .unwrap();
    let run = par.execute(&mut scratch, br#"{"k":"v"}"#);
    assert_eq!(run.output, Some(r#"[{"k":"v"},7]"#));
}

/// Whitespace around the event is insignificant, whether the program reads the input or passes
/// it through unparsed; a byte JSON does not count as whitespace (form feed) is still an error.
#[test]
fn whitespace_around_the_event() {
    let pass = StateMachine::compile(r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#).expect("valid");
    let read = StateMachine::compile(r#"{"StartAt":"P","States":{"P":{"Type":"Pass","InputPath":"$.a","End":true}}}"#)
        .expect("valid");
    let mut scratch = aslrt::Scratch::new();
    assert_eq!(pass.execute(&mut scratch, b" \r\n{\"a\":[1,2]}\n").output, Some(r#"{"a":[1,2]}"#));
    assert_eq!(read.execute(&mut scratch, b"\t{\"a\":[1,2]}\n\n").output, Some("[1,2]"));
    let run = pass.execute(&mut scratch, b"\x0c{\"a\":1}");
    assert_eq!(run.status, aslrt::Status::Failed);
    assert_eq!(run.error, Some("States.Runtime"));
}

/// A malformed event fails the execution with a cause that says where and what.
#[test]
fn malformed_event_cause_names_line_and_column() {
    let pass = StateMachine::compile(r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#).expect("valid");
    let mut scratch = aslrt::Scratch::new();
    let run = pass.execute(&mut scratch, b"{\"a\":1,}");
    assert_eq!(run.error, Some("States.Runtime"));
    assert_eq!(
        run.cause,
        Some("The execution input is not valid JSON: a comma before a closing bracket, with nothing after it (line 1, column 8)")
    );
}

/// A template of only paths and constants is built in one op (`object`); a path that selects
/// nothing still fails the state as AWS reports it, naming the first such field in order.
#[test]
fn flat_template_reports_its_first_missing_field() {
    let parameters = json!({"a.$": "$.x", "k": [1], "b.$": "$.missing", "c.$": "$.also_missing"});
    check(
        pass_then(json!({"Type": "Pass", "Parameters": parameters, "End": true})),
        json!({"x": 1}),
        json!({"status": "FAILED", "error": "States.Runtime",
            "cause": "An error occurred while executing the state 'S' (entered at the event id #2). The JSONPath '$.missing' specified for the field 'b.$' could not be found in the input '{\"x\":1}'"}),
    );
    check(
        pass_then(json!({"Type": "Pass", "Parameters": parameters, "End": true})),
        json!({"x": 1, "missing": null, "also_missing": "y"}),
        json!({"status": "SUCCEEDED", "output": {"a": 1, "k": [1], "b": null, "c": "y"}}),
    );
}

/// An ItemSelector's `$` paths and constants are the same for every item, so after the first
/// item they are copied rather than evaluated again; `$$.Map.Item` paths still change per item.
/// A `$` path that selects nothing fails the Map at its first item, and not at all with no items.
#[test]
fn item_selector_reuses_what_does_not_depend_on_the_item() {
    let map = |selector: Value| {
        pass_then(json!({"Type": "Map", "ItemsPath": "$.xs", "ItemSelector": selector,
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}))
    };
    let selector = json!({"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index", "b.$": "$.b", "k": "c"});
    check(
        map(selector.clone()),
        json!({"xs": ["x", "y", "z"], "b": {"n": 1}}),
        json!({"status": "SUCCEEDED", "output": [
            {"v": "x", "i": 0, "b": {"n": 1}, "k": "c"},
            {"v": "y", "i": 1, "b": {"n": 1}, "k": "c"},
            {"v": "z", "i": 2, "b": {"n": 1}, "k": "c"}]}),
    );
    check(map(selector.clone()), json!({"xs": []}), json!({"status": "SUCCEEDED", "output": []}));
    let failed = run_with(map(selector), json!({"xs": [1, 2]}), RuntimeLimits::default());
    assert_eq!(failed["error"], "States.Runtime");
    assert!(failed["cause"]
        .as_str()
        .unwrap()
        .contains("The JSONPath '$.b' specified for the field 'b.$' could not be found"));
}

/// `$$.Map.Item.Value` and `$$.Map.Item.Index` members are read straight from the iteration;
/// outside a Map they select nothing, and the state fails naming the path and the field.
#[test]
fn map_item_members_outside_a_map_are_not_found() {
    let pass = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true,
        "Parameters": {"k": 1, "v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"}}}});
    let failed = run_with(pass, json!({"a": 1}), RuntimeLimits::default());
    assert_eq!(failed["error"], "States.Runtime");
    assert!(failed["cause"].as_str().unwrap().ends_with(
        "The JSONPath '$$.Map.Item.Value' specified for the field 'v.$' could not be found in the input '{\"a\":1}'"
    ));
}

/// `"ResultPath": "$.r"` with `"OutputPath": "$.r"` outputs the result without building the
/// object in between; the outcome is the one of the two steps apart (the ResultPath, then a
/// state whose InputPath is `$.r`), for every kind of input, the failures included.
#[test]
fn result_path_then_the_same_output_path_outputs_the_result() {
    let result = json!({"x": [1, {"y": 2}]});
    let fused =
        pass_then(json!({"Type": "Pass", "Result": result, "ResultPath": "$.r", "OutputPath": "$.r", "End": true}));
    let apart = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Result": result, "ResultPath": "$.r", "Next": "B"},
        "B": {"Type": "Pass", "InputPath": "$.r", "End": true}}});
    for input in [json!({"a": 1, "r": 0}), json!({}), json!(null), json!([1, 2]), json!("s"), json!(3), json!(true)] {
        let (got, want) = (run_with(fused.clone(), input.clone(), RuntimeLimits::default()), {
            run_with(apart.clone(), input.clone(), RuntimeLimits::default())
        });
        for field in ["status", "output", "error", "cause"] {
            assert_eq!(got[field], want[field], "{field} for {input}");
        }
    }
    let failed = run_with(fused, json!([1, 2]), RuntimeLimits::default());
    assert_eq!(failed["error"], "States.ResultPathMatchFailure", "{failed}");
}

/// Runs `members` as a Pass state's Parameters, built by the flat op, and again with a nested
/// member added, which builds the object on the stack; the outcomes must agree on every input.
fn flat_object_matches_the_stack(members: &Value, inputs: &[Value]) {
    let machine = |params: Value| pass_then(json!({"Type": "Pass", "Parameters": params, "End": true}));
    let mut nested = members.clone();
    nested["nested"] = json!({"x.$": "$"});
    for input in inputs {
        let flat = run_with(machine(members.clone()), input.clone(), RuntimeLimits::default());
        let mut stack = run_with(machine(nested.clone()), input.clone(), RuntimeLimits::default());
        if let Some(out) = stack.get_mut("output").and_then(Value::as_object_mut) {
            out.remove("nested");
        }
        for field in ["status", "output", "error", "cause"] {
            assert_eq!(flat[field], stack[field], "{field} of {members} for {input}");
        }
    }
}

/// A template object whose intrinsic calls take constants and paths is built by one op that
/// evaluates its members in order; the outcome is the one of the same members built on the
/// stack, failures included: the first member that fails, in member order, names the error,
/// whether a path selects nothing, an argument is missing or the function fails. Also: a
/// missing path between two calls, the second failing; a `$$.Map.Item` member outside a Map
/// before a call; calls of 8 and 9 arguments (the most a flat object evaluates itself, and
/// one more, built on the stack).
#[test]
fn calls_in_a_flat_template_object_fail_in_member_order() {
    let members = json!({"a.$": "$.a", "f.$": "States.Format('{}-{}', $.b, 'c')", "j.$": "States.StringToJson($.s)",
        "n": 1, "z.$": "$.z"});
    let inputs = [
        json!({"a": 1, "b": "B", "s": "{\"k\":[1]}", "z": 0}),
        json!({"b": "B", "s": "{}", "z": 0}),
        json!({"a": 1, "s": "{}", "z": 0}),
        json!({"a": 1, "b": "B", "s": "{bad", "z": 0}),
        json!({"b": "B", "s": "{bad"}),
        json!({"a": 1, "b": "B", "z": 0}),
        json!({"a": 1, "b": "B", "s": "1"}),
        json!({}),
    ];
    flat_object_matches_the_stack(&members, &inputs);
    let pass = pass_then(json!({"Type": "Pass", "Parameters": members, "End": true}));
    let failed = run_with(pass, json!({"b": "B", "s": "{bad"}), RuntimeLimits::default());
    assert!(failed["cause"].as_str().unwrap().contains("'$.a' specified for the field 'a.$'"), "{failed}");

    let args8 = (0..7).map(|i| format!("$.v{i}")).collect::<Vec<_>>().join(", ");
    let args9 = (0..8).map(|i| format!("$.v{i}")).collect::<Vec<_>>().join(", ");
    let inputs = [
        json!({"a": 1, "b": "B", "s": "[1]", "v0": 0, "v1": 1, "v2": 2, "v3": 3, "v4": 4, "v5": 5, "v6": 6, "v7": 7}),
        json!({"b": "B", "s": "{bad"}),
        json!({"a": 1, "s": "{bad"}),
        json!({"a": 1, "b": "B", "s": "{bad", "v0": 0}),
    ];
    for members in [
        json!({"f.$": "States.Format('{}', $.b)", "a.$": "$.a", "j.$": "States.StringToJson($.s)"}),
        json!({"i.$": "$$.Map.Item.Index", "f.$": "States.StringToJson($.s)"}),
        json!({"f8.$": format!("States.Format('{{}}{{}}{{}}{{}}{{}}{{}}{{}}', {args8})")}),
        json!({"f9.$": format!("States.Format('{{}}{{}}{{}}{{}}{{}}{{}}{{}}{{}}', {args9})")}),
    ] {
        flat_object_matches_the_stack(&members, &inputs);
    }
}

/// Calls in an ItemSelector run for every item, even those whose arguments are the same for
/// every item (only constants and `$` paths are copied from the first item's object).
#[test]
fn calls_in_an_item_selector_run_for_every_item() {
    let map = pass_then(json!({"Type": "Map", "ItemsPath": "$.xs", "End": true,
        "ItemSelector": {"n.$": "States.MathAdd($$.Map.Item.Index, 1)", "u.$": "States.UUID()",
            "k.$": "States.Format('{}-{}', $.b, $$.Map.Item.Value)", "b.$": "$.b"},
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true,
            "Parameters": {"item.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index", "in.$": "$"}}}}}));
    let out = run_with(map, json!({"xs": ["x", "y", "z"], "b": "B"}), RuntimeLimits::default());
    let items = out["output"].as_array().unwrap_or_else(|| panic!("{out}"));
    let uuids: std::collections::HashSet<&str> = items.iter().map(|i| i["in"]["u"].as_str().unwrap()).collect();
    assert_eq!(uuids.len(), 3, "{out}");
    for (i, item) in items.iter().enumerate() {
        let x = ["x", "y", "z"][i];
        assert_eq!(item["item"], x, "{out}");
        assert_eq!(item["i"], i, "{out}");
        assert_eq!(item["in"]["n"], i + 1, "{out}");
        assert_eq!(item["in"]["k"], format!("B-{x}"), "{out}");
        assert_eq!(item["in"]["b"], "B", "{out}");
    }
}

/// A wildcard path that starts with a context field (`$$.Map.Item.Value[*].id`,
/// `$$.Execution.Input.xs[*]`) is walked around its wildcard from that field.
#[test]
fn wildcard_paths_from_context_fields() {
    let map = pass_then(json!({"Type": "Map", "ItemsPath": "$.xs", "End": true,
        "ItemSelector": {"ids.$": "$$.Map.Item.Value[*].id", "all.$": "$$.Execution.Input.xs[*][0].id"},
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}));
    check(
        map,
        json!({"xs": [[{"id": 1}, {"id": 2}], [{"x": 0}, {"id": 3}]]}),
        json!({"status": "SUCCEEDED", "output": [{"ids": [1, 2], "all": [1]}, {"ids": [3], "all": [1]}]}),
    );
}

/// The fused ResultPath and OutputPath with an Assign (whose `$` is the state's result), and
/// on an event with a repeated key, which the ResultPath's object would collapse.
#[test]
fn result_path_then_the_same_output_path_with_assign_and_repeated_keys() {
    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.r", "OutputPath": "$.r",
            "Assign": {"seen.$": "$.x", "old.$": "$$.Execution.Input.a"}, "Next": "B"},
        "B": {"Type": "Pass", "Parameters": {"seen.$": "$seen", "old.$": "$old", "in.$": "$"}, "End": true}}});
    check(
        def.clone(),
        json!({"a": 7, "r": 0}),
        json!({"status": "SUCCEEDED", "output": {"seen": 1, "old": 7, "in": {"x": 1}}}),
    );
    let machine = StateMachine::compile(&def.to_string()).unwrap();
    let mut scratch = aslrt::Scratch::new();
    let run = machine.execute(&mut scratch, br#"{"r":1,"a":7,"r":2}"#);
    assert_eq!(run.to_outcome().to_json()["output"], json!({"seen": 1, "old": 7, "in": {"x": 1}}));
}

/// Issue #13: a Task with a Catch whose `Next` was laid out after its landing pad fell into the
/// pad on success, and the execution ended with the catcher's state (`null` here). AWS gives
/// `{"status":"complete"}`: the Task never fails, so `F` is never entered.
#[test]
fn a_transition_reaches_its_target_past_a_catchers_landing_pad() {
    check(
        json!({"StartAt": "P", "States": {
            "P": {"Type": "Pass", "Result": {"status": "incomplete"}, "ResultPath": "$", "Next": "T"},
            "T": {"Type": "Task", "Resource": "arn:aws:states:::local:echo", "Next": "C",
                  "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "F"}]},
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.status", "StringEquals": "complete", "Next": "Done"}],
                  "Default": "P2"},
            "P2": {"Type": "Pass", "Result": {"status": "complete"}, "ResultPath": "$", "Next": "T"},
            "F": {"Type": "Pass", "End": true},
            "Done": {"Type": "Succeed"}}}),
        json!({}),
        json!({"status": "SUCCEEDED", "output": {"status": "complete"}}),
    );
}

/// Issue #13: the same fall-through from a Map and a Parallel whose catcher never fires, and
/// the retry-then-correct loop of AWS's documentation (Task with Retry and Catch, a Choice, a
/// Wait, a Pass that loops back).
#[test]
fn map_parallel_and_retry_loops_do_not_fall_into_their_catchers() {
    let catch = json!([{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]);
    check(
        json!({"StartAt": "M", "States": {
            "M": {"Type": "Map", "ItemsPath": "$.xs", "Catch": catch, "Next": "P",
                  "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}},
            "P": {"Type": "Parallel", "Catch": catch, "Next": "Done", "Branches": [
                {"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": 1, "End": true}}}]},
            "Done": {"Type": "Succeed"},
            "Caught": {"Type": "Fail", "Error": "Caught"}}}),
        json!({"xs": [1, 2]}),
        json!({"status": "SUCCEEDED", "output": [1]}),
    );
    check(
        json!({"StartAt": "Init", "States": {
            "Init": {"Type": "Pass", "Result": {"tries": 0, "done": false}, "Next": "Work"},
            "Work": {"Type": "Task", "Resource": "arn:aws:states:::local:echo", "Next": "Check",
                     "Retry": [{"ErrorEquals": ["Transient"], "MaxAttempts": 2}],
                     "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}]},
            "Check": {"Type": "Choice", "Choices": [{"Variable": "$.done", "BooleanEquals": true, "Next": "Finish"}],
                      "Default": "Pause"},
            "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Correct"},
            "Correct": {"Type": "Pass", "Result": {"tries": 1, "done": true}, "Next": "Work"},
            "Finish": {"Type": "Succeed"},
            "Failed": {"Type": "Fail", "Error": "WorkFailed"}}}),
        json!({}),
        json!({"status": "SUCCEEDED", "output": {"tries": 1, "done": true}}),
    );
}

/// Issue #13: `aslrt run` printed a deep output as `null`, because `Outcome::to_json` parsed it
/// again with serde_json, whose recursion limit is 128. Both forms of the outcome keep it.
#[test]
fn deep_outputs_are_kept_whole() {
    let machine = StateMachine::compile(&pass_then(json!({"Type": "Pass", "End": true})).to_string()).unwrap();
    let event = format!("{}{}", "[".repeat(500), "]".repeat(500));
    let outcome = machine.execute(&mut aslrt::Scratch::new(), event.as_bytes()).to_outcome();
    assert_eq!(outcome.output.as_deref(), Some(event.as_str()));
    assert_eq!(outcome.to_json_line(), format!(r#"{{"status":"SUCCEEDED","output":{event}}}"#));
    let mut value = outcome.to_json()["output"].take();
    for _ in 0..499 {
        value = value.as_array_mut().and_then(|a| a.pop()).expect("one item at each level but the last");
    }
    assert_eq!(value, json!([]));
    let failed = aslrt::Outcome {
        status: aslrt::Status::Failed,
        transitions: 1,
        output: None,
        error: Some("E\"q".into()),
        cause: None,
    };
    assert_eq!(failed.to_json_line(), r#"{"status":"FAILED","error":"E\"q","cause":null}"#);
}

/// Issue #13, States.Format with an object or array argument: AWS renders it as Java's
/// `Map.toString` and `List.toString` do, strings inside unquoted (`{"Arg1": 1, "Arg2": []}`
/// gives `{Arg1=1, Arg2=[]}`), where JSON would have been a guess; numbers, booleans and null
/// go in as JSON.
#[test]
fn states_format_renders_objects_and_arrays_as_java_maps_and_lists() {
    check(
        pass_then(json!({"Type": "Pass", "End": true, "Parameters": {
            "r.$": "States.Format('Formatting argument {} and {} and {}.', $.o, $.a, $.n)"}})),
        json!({"o": {"Arg1": 1, "Arg2": [], "s": "x"}, "a": ["b", 2.5, null, true, {"k": "v"}], "n": 1.1}),
        json!({"status": "SUCCEEDED", "output": {
            "r": "Formatting argument {Arg1=1, Arg2=[], s=x} and [b, 2.5, null, true, {k=v}] and 1.1."}}),
    );
}

/// Issue #13, a JSONata Map whose `Items` is not an array, for each JSON type: a string, a
/// number, a boolean or null is `States.QueryEvaluationError` naming the expression, the type
/// and the value; an object is iterated over its key/value pairs (AWS since September 2025); no
/// value at all is "returned nothing"; a literal `Items` that is neither an array nor an
/// expression is a definition error (the States Language: "a JSON array or a JSONata string").
#[test]
fn jsonata_map_items_of_every_type() {
    let map = |items: Value| {
        json!({"QueryLanguage": "JSONata", "StartAt": "M", "States": {"M": {"Type": "Map", "Items": items,
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}})
    };
    let prefix = "An error occurred while executing the state 'M' (entered at the event id #2). The JSONata expression '$states.input.v' specified for the field 'Items'";
    for (v, kind, shown) in [
        (json!("abc"), "string", r#""abc""#),
        (json!(12.5), "number", "12.5"),
        (json!(true), "boolean", "true"),
        (json!(null), "null", "null"),
    ] {
        check(
            map(json!("{% $states.input.v %}")),
            json!({"v": v}),
            json!({"status": "FAILED", "error": "States.QueryEvaluationError",
                   "cause": format!("{prefix} returned an unexpected result type. Expected 'array', but was '{kind}' for value: {shown}")}),
        );
    }
    check(map(json!("{% $states.input.v %}")), json!({"v": {"a": 1}}), json!({"status": "SUCCEEDED", "output": [1]}));
    check(
        map(json!("{% $states.input.v %}")),
        json!({}),
        json!({"status": "FAILED", "error": "States.QueryEvaluationError",
               "cause": format!("{prefix} returned nothing (undefined).")}),
    );
    for literal in [json!(3), json!("abc"), json!(null), json!({"a": 1})] {
        let Err(err) = StateMachine::compile(&map(literal.clone()).to_string()) else {
            panic!("{literal} compiled as Items");
        };
        assert!(err.to_string().contains("Items must be a JSON array or a JSONata expression"), "{literal}: {err}");
    }
}

/// Issue #13, the `…Path` fields that take numbers: AWS reads the value's text as a long, so a
/// string holding an integer counts (`"2"`), while `2.0`, `2.5`, booleans, null and containers
/// are `States.Runtime` naming the field and the value (as recorded for `"NoNumber"` and `{}`),
/// and so are values out of range. The same for ToleratedFailureCountPath (a long),
/// ToleratedFailurePercentagePath (a double), Wait's SecondsPath and TimeoutSecondsPath, whose
/// missing value fails as a missing ItemsPath does.
#[test]
fn number_path_fields_read_the_value_as_text() {
    let at = "An error occurred while executing the state 'M' (entered at the event id #2).";
    let map = |field: &str| {
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.xs", field: "$.v",
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}})
    };
    let ok = json!({"status": "SUCCEEDED", "output": [1]});
    let failed =
        |cause: String| json!({"status": "FAILED", "error": "States.Runtime", "cause": format!("{at} {cause}")});
    for v in [json!(2), json!("2"), json!(0)] {
        check(map("MaxConcurrencyPath"), json!({"xs": [1], "v": v}), ok.clone());
    }
    for (v, shown) in [
        (json!(2.5), "2.5"),
        (json!(2.0), "2.0"),
        (json!(true), "true"),
        (json!(null), "null"),
        (json!({}), "{}"),
        (json!("x"), "x"),
    ] {
        check(
            map("MaxConcurrencyPath"),
            json!({"xs": [1], "v": v}),
            failed(format!(
                "The MaxConcurrencyPath field refers to value \"{shown}\" which is not a valid integer: $.v"
            )),
        );
    }
    check(
        map("MaxConcurrencyPath"),
        json!({"xs": [1], "v": -1}),
        failed("Expected non-negative integer for MaxConcurrency, got '-1' instead.".into()),
    );
    check(map("ToleratedFailureCountPath"), json!({"xs": [1], "v": "1"}), ok.clone());
    check(
        map("ToleratedFailureCountPath"),
        json!({"xs": [1], "v": 1.5}),
        failed("The ToleratedFailureCountPath field refers to value \"1.5\" which is not a valid integer: $.v".into()),
    );
    check(
        map("ToleratedFailureCountPath"),
        json!({"xs": [1], "v": -1}),
        failed("ToleratedFailureCount cannot be negative.".into()),
    );
    for v in [json!(50), json!("50"), json!(12.5)] {
        check(map("ToleratedFailurePercentagePath"), json!({"xs": [1], "v": v}), ok.clone());
    }
    check(
        map("ToleratedFailurePercentagePath"),
        json!({"xs": [1], "v": "half"}),
        failed(
            "The ToleratedFailurePercentagePath field refers to value \"half\" which is not a valid float: $.v".into(),
        ),
    );
    check(
        map("ToleratedFailurePercentagePath"),
        json!({"xs": [1], "v": 101}),
        failed("ToleratedFailurePercentage must be between 0 and 100.".into()),
    );
    let wait = pass_then(json!({"Type": "Wait", "SecondsPath": "$.v", "End": true}));
    check(wait.clone(), json!({"v": "1"}), json!({"status": "SUCCEEDED", "output": {"v": "1"}}));
    let task = pass_then(
        json!({"Type": "Task", "Resource": "arn:aws:states:::local:echo", "TimeoutSecondsPath": "$.t", "End": true}),
    );
    check(task.clone(), json!({"t": "5"}), json!({"status": "SUCCEEDED", "output": {"t": "5"}}));
    let at_s = "An error occurred while executing the state 'S' (entered at the event id #2).";
    check(
        task.clone(),
        json!({}),
        json!({"status": "FAILED", "error": "States.Runtime", "cause": format!("{at_s} Invalid path '$.t' : No results for path: $['t']")}),
    );
    check(
        task,
        json!({"t": 1.5}),
        json!({"status": "FAILED", "error": "States.Runtime",
               "cause": format!("{at_s} The TimeoutSecondsPath field refers to value \"1.5\" which is not a valid integer: $.t")}),
    );
}

/// A JSONata expression that would run for ever, or until the host's memory ran out (found by
/// the `jsonata` fuzz target: a doubly recursive function over a range), stops after a million
/// evaluation steps with `States.QueryEvaluationError`, which a Catch can take.
#[test]
fn a_runaway_jsonata_expression_stops() {
    let fib = "($fib := function($n) { $n < 2 ? $n : $fib($n - 1) + $fib($n - 1) }; [0..32].$fib($))";
    let out = run_with(
        json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {"P": {"Type": "Pass", "Output": format!("{{% {fib} %}}"), "End": true}}}),
        json!({}),
        RuntimeLimits::default(),
    );
    assert_eq!(out["error"], "States.QueryEvaluationError", "{out}");
    assert!(
        out["cause"]
            .as_str()
            .is_some_and(|c| c.ends_with("U1002: The expression took more than 1,000,000 evaluation steps.")),
        "{out}"
    );
}
