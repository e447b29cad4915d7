//! Differential tests: generated definitions (all eight state types, nested Parallel and Map,
//! Retry and Catch, Choice, intrinsics, JSONata, Assign) on generated events give the same
//! outcome optimised, unoptimised, suspended at every Task and under every metamorphic variant
//! (see `support/oracle.rs`). The `differential` fuzz target runs the same oracle on the same
//! generator for as long as it is let; here a bounded number of cases runs in every test run,
//! from a fixed seed. Each discrepancy ever found is a named regression test below.

mod support;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use serde_json::{json, Value};
use support::gen::{generate, handlers};
use support::oracle::{disagreement, run};

#[track_caller]
fn agrees(definition: Value, input: &str) {
    if let Some(d) = disagreement(&definition, input.as_bytes(), &handlers) {
        panic!("{d}\ndefinition: {definition}\ninput: {input}");
    }
}

proptest! {
    #![proptest_config(Config { cases: 400, rng_seed: RngSeed::Fixed(13), failure_persistence: None, ..Config::default() })]

    #[test]
    fn every_way_of_running_a_generated_definition_agrees(bytes in proptest::collection::vec(any::<u8>(), 0..3000)) {
        let g = generate(&mut arbitrary::Unstructured::new(&bytes));
        if let Some(d) = disagreement(&g.definition, &g.input, &handlers) {
            prop_assert!(false, "{d}\ndefinition: {}\ninput: {}", g.definition, String::from_utf8_lossy(&g.input));
        }
    }
}

/// The generator is worth its runs: most of what it makes is valid, and over a few hundred
/// byte strings it makes every type of state, in both query languages, and executions that
/// succeed and fail (most fail: a random program meets a missing path or a failing Task
/// somewhere, which exercises the error paths, Retry and Catch).
#[test]
fn the_generator_makes_valid_definitions_of_every_kind() {
    let mut rng = support::variants::SplitMix(1);
    let (mut valid, mut succeeded, mut failed) = (0, 0, 0);
    let mut kinds = std::collections::BTreeSet::new();
    let mut jsonata = false;
    const N: usize = 300;
    for _ in 0..N {
        let bytes: Vec<u8> = (0..2000).map(|_| rng.next() as u8).collect();
        let g = generate(&mut arbitrary::Unstructured::new(&bytes));
        let text = g.definition.to_string();
        for kind in ["Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"] {
            if text.contains(&format!(r#""Type":"{kind}""#)) {
                kinds.insert(kind);
            }
        }
        jsonata |= text.contains("JSONata");
        match run(&g.definition, &g.input, &handlers, true) {
            Ok(o) if o.status == aslrt::Status::Succeeded => succeeded += 1,
            Ok(_) => failed += 1,
            Err(e) => eprintln!("invalid: {e}\n{text}"),
        }
        valid = succeeded + failed;
    }
    assert!(valid * 10 >= N * 9, "only {valid} of {N} generated definitions are valid");
    assert_eq!(kinds.len(), 8, "{kinds:?}");
    assert!(jsonata);
    assert!(succeeded * 10 >= N && failed * 10 >= N, "{succeeded} succeeded, {failed} failed");
}

/// Issue #13: a definition that never reads its input passed a compact event through as it was
/// spelled (`2.50`, `\u0041`), where the unoptimised program, which parses it, writes `2.5` and
/// `A`. Only an event spelled as the writer spells it passes through now.
#[test]
fn an_event_passed_through_reads_as_the_writer_writes_it() {
    let pass = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    for input in [r#"{"a":[1,2.50,"x\u0041"]}"#, r#"{"a":-0}"#, r#"{"a":1e2}"#, r#"{"a":71.4,"b":"é"}"#] {
        agrees(pass.clone(), input);
    }
}

/// Found by `differential` (an out-of-memory crash): a Catch that loops back to its state,
/// placing the error in the input, whose next error's cause holds the input again, grew the
/// data by half again and more each time, until the host ran out of memory. The execution's
/// memory is bounded now (`RuntimeLimits::max_arena_bytes`): it ends with
/// `States.DataLimitExceeded`, the same way in every mode.
#[test]
fn a_catch_loop_that_grows_its_error_ends_with_a_data_limit() {
    let definition = json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "End": true,
              "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Pass", "ResultPath": "$.items[0]", "End": true}}}],
              "Catch": [{"ErrorEquals": ["States.ResultPathMatchFailure"], "ResultPath": "$.a", "Next": "P"}]}}});
    // Four MiB of memory, so that the test takes little time.
    let [optimized, reference] = [true, false].map(|optimize| {
        let config = support::oracle::config();
        let config = config.clone().limits(config.limits.max_arena_bytes(4 << 20));
        let machine = aslrt::StateMachine::builder().optimize(optimize).config(config).compile(&definition.to_string());
        machine.map(|m| m.execute(&mut aslrt::Scratch::new(), br#"{"items":[]}"#).to_outcome()).ok()
    });
    assert_eq!(optimized, reference);
    let got = optimized.expect("valid");
    assert_eq!(got.error.as_deref(), Some("States.DataLimitExceeded"), "{got:?}");
}

/// A template that copies its input twice, run in a loop, doubles the size of its JSON each
/// time while the memory it takes grows by one object: 2^100 bytes after 100 rounds. Writing
/// it, and every size check, stop at `WRITE_LIMIT`; the output is too large, as AWS says.
#[test]
fn a_value_that_doubles_in_a_loop_is_written_in_bounded_time() {
    let definition = json!({"StartAt": "Double", "States": {
        "Double": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)", "a.$": "$", "b.$": "$"}, "Next": "More"},
        "More": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericLessThan": 100, "Next": "Double"}],
                 "Default": "Done"},
        "Done": {"Type": "Succeed"}}});
    agrees(definition.clone(), r#"{"n":0}"#);
    let got = run(&definition, br#"{"n":0}"#, &handlers, true).expect("valid");
    assert_eq!(got.error.as_deref(), Some("States.DataLimitExceeded"), "{got:?}");
}

/// Found by `differential`: a JSONata Pass, Succeed or Wait whose only reader of
/// `$states.context` was its Assign made `$states` without the context (the compiler looked at
/// the Output only), so the Assign failed with "returned nothing"; the unoptimised program,
/// which always makes the context, succeeded. The same held for a Task's TimeoutSeconds and a
/// Map's settings, and for `$states.*`, which names no field.
#[test]
fn the_context_is_there_for_every_expression_that_may_read_it() {
    let state_name = json!({"v": "{% $states.context.State.Name %}"});
    for kind in ["Pass", "Succeed"] {
        let mut state = json!({"Type": kind, "Assign": {"v1": state_name}});
        if kind == "Pass" {
            state["End"] = json!(true);
        }
        agrees(json!({"QueryLanguage": "JSONata", "StartAt": "S", "States": {"S": state}}), "{}");
    }
    agrees(
        json!({"QueryLanguage": "JSONata", "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 0,
            "Assign": {"v1": state_name}, "End": true}}}),
        "{}",
    );
    agrees(
        json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {"T": {"Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:111111111111:function:echo",
            "TimeoutSeconds": "{% $length($states.context.State.Name) %}", "End": true}}}),
        "{}",
    );
    agrees(
        json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {"P": {"Type": "Pass",
            "Output": "{% $count($states.*) %}", "End": true}}}),
        "{}",
    );
    let got = run(
        &json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
            "P": {"Type": "Pass", "Assign": {"v1": "{% $states.context.State.Name %}"}, "Next": "Q"},
            "Q": {"Type": "Pass", "Output": "{% $v1 %}", "End": true}}}),
        b"{}",
        &handlers,
        true,
    )
    .expect("valid");
    assert_eq!(got.output.as_deref(), Some(r#""P""#), "{got:?}");
}

/// Found by `differential` (a false alarm, fixed in the oracle): a catcher's error cause names
/// the catcher by its place (`Catch[0]/Assign/x`), and a later catcher put that cause into the
/// state's data, so the variant with a catcher added first differed in the output as well as in
/// the cause. The oracle now leaves catcher places out of both; the variant still agrees.
#[test]
fn a_cause_naming_a_catcher_by_place_may_reach_the_output() {
    agrees(
        json!({"StartAt": "M", "States": {
            "M": {"Type": "Map", "ItemsPath": "$.items", "ResultPath": "$", "Next": "Done",
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Done", "ResultPath": "$.a"}],
                  "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "QueryLanguage": "JSONata",
                      "Resource": "arn:aws:lambda:us-east-1:111111111111:function:fail", "End": true,
                      "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "After",
                                 "Assign": {"x": "{% $states.input.missing %}"}}]},
                      "After": {"Type": "Pass", "End": true}}}},
            "Done": {"Type": "Pass", "End": true}}}),
        r#"{"items":[1]}"#,
    );
}

/// Found by `differential` (a false alarm once the JSONata evaluation checked the arena cap at
/// each step): a Catch whose Output holds the input and the error's cause goes back to its own
/// state, so the data doubles each round until it meets the cap, which the unoptimised program,
/// allocating more, meets a few states sooner. The memory-limit error names the cap
/// (`RuntimeLimits::max_arena_bytes`), which the oracle leaves out of the comparison, as it does
/// when a state meets it.
#[test]
fn a_catch_that_doubles_its_data_meets_the_arena_cap() {
    agrees(
        json!({"QueryLanguage": "JSONata", "StartAt": "S0", "States": {"S0": {"Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:111111111111:function:constant",
            "Assign": {"v2": "{% (($states.input.id & $states.input) + $states.input.longer_key_name_x) %}", "v1": 4},
            "Retry": [{"ErrorEquals": ["Custom.Error"], "MaxAttempts": 0, "IntervalSeconds": 2, "BackoffRate": 1.5,
                       "MaxDelaySeconds": 4, "JitterStrategy": "FULL"}],
            "Catch": [{"ErrorEquals": ["States.QueryEvaluationError"], "Next": "S0",
                       "Output": "{% {'in': $states.input, 'err': $states.errorOutput.Cause} %}"},
                      {"ErrorEquals": ["Custom.Flaky", "Custom.Error"], "Next": "S0"}],
            "End": true}}}),
        r#"{"a": 1e20, "id": "x", "name": -0, "items": [], "detail": {"a": -0, "n": -0, "items": [1.0e0, 2.0e0]}, "count": -0, "flag": -0, "amount": -0, "longer_key_name_x": -0}"#,
    );
}

/// Found by `differential`: a JSONata Task whose Output failed was retried, and the retry's
/// Arguments found no `$states.context` in the optimised program, whose Output had set
/// `$states` without it (the expressions there do not read it); the unoptimised program always
/// makes it, so there the Output failed again. Each attempt now sets `$states` afresh. The
/// same for a Map iteration's Task, and for the settings of a retried Map.
#[test]
fn a_retried_attempt_sees_the_context_its_first_attempt_saw() {
    let task = json!({"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:111111111111:function:echo",
        "Arguments": {"v": "{% $states.context.State.Name %}"}, "Output": {"v": "{% $states.input.a %}"},
        "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 1, "IntervalSeconds": 1}], "End": true});
    agrees(json!({"QueryLanguage": "JSONata", "StartAt": "S", "States": {"S": task}}), "{}");
    agrees(
        json!({"QueryLanguage": "JSONata", "StartAt": "M", "States": {"M": {"Type": "Map", "Items": [1],
            "ItemProcessor": {"StartAt": "S", "States": {"S": task}}, "End": true}}}),
        "{}",
    );
    agrees(
        json!({"QueryLanguage": "JSONata", "StartAt": "M", "States": {"M": {"Type": "Map",
            "Items": "{% [$states.context.State.Name] %}", "Output": {"v": "{% $states.input.a %}"},
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
            "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 1, "IntervalSeconds": 1}], "End": true}}}),
        "{}",
    );
}

/// Found by `differential` once its oracle suspended executions at every Task: on a virtual
/// clock that starts in the past (the oracle's), a handler's wait was bounded by the time limit
/// left on the system clock, which had run out long before, so the execution timed out at once.
/// On a virtual clock only Waits and back-offs spend the limit, as in one run; a handler's wait
/// is bounded by its TimeoutSeconds. The second definition spends the whole limit in a Wait,
/// which one run allows (a Wait may end at the limit), before a Task.
#[test]
fn on_a_virtual_clock_a_suspended_handler_spends_none_of_the_time_limit() {
    let echo = "arn:aws:lambda:us-east-1:111111111111:function:echo";
    let definitions = [
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": echo, "TimeoutSeconds": 1, "End": true}}}),
        json!({"TimeoutSeconds": 1, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "Next": "T"},
            "T": {"Type": "Task", "Resource": echo, "End": true}}}),
    ];
    for definition in definitions {
        let one = run(&definition, b"{}", &handlers, true).unwrap();
        assert_eq!(one.status, aslrt::Status::Succeeded, "{one:?}");
        agrees(definition, "{}");
    }
}
