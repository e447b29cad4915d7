//! Hostile inputs (issue 17's findings): each test is named after what it guards, and fails on
//! the code before the fix. Inputs that once crashed the host, took unbounded time or memory, or
//! were reported wrongly.

use aslrt::{StateMachine, Status};

/// A Pass state whose Parameters member `x.$` is `expr`.
fn pass_with(expr: &str) -> String {
    serde_json::json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"x.$": expr}, "End": true}}})
        .to_string()
}

/// `f` applied `depth` times to `$.a`.
fn nested(f: &str, depth: usize) -> String {
    (0..depth).fold("$.a".to_owned(), |inner, _| format!("{f}({inner})"))
}

#[test]
fn an_intrinsic_nested_past_the_limit_is_a_definition_error_not_a_stack_overflow() {
    // 20,000 levels (280 KB) overflowed the parser's stack; 1,500 took every byte of memory.
    for depth in [65, 1_500, 20_000] {
        let error = StateMachine::compile(&pass_with(&nested("States.Array", depth))).unwrap_err();
        let diagnostics = error.diagnostics();
        assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
        assert_eq!(diagnostics[0].location, "/States/P/Parameters/x.$");
    }
}

#[test]
fn an_intrinsic_nested_to_the_limit_compiles_and_runs_at_once() {
    // 400 levels once took 4 s to compile (each level cloned the calls below it again).
    let depth = aslrt::internal::intrinsics::MAX_NESTING;
    let machine = StateMachine::compile(&pass_with(&nested("States.Array", depth))).unwrap();
    let run = machine.execute_json(&serde_json::json!({"a": 1}));
    let want = format!("{{\"x\":{}1{}}}", "[".repeat(depth), "]".repeat(depth));
    assert_eq!((run.status, run.output.as_deref()), (Status::Succeeded, Some(want.as_str())));
}

#[test]
fn json_to_string_nested_30_deep_fails_with_data_limit_exceeded() {
    // Each level escapes the one below it again: the text doubles per level. It once asked the
    // allocator for 1 GiB and aborted; now the text is held to the writer's bound and fails.
    let machine = StateMachine::compile(&pass_with(&nested("States.JsonToString", 30))).unwrap();
    let run = machine.execute_json(&serde_json::json!({"a": "\"quoted\""}));
    assert_eq!((run.status, run.error.as_deref()), (Status::Failed, Some("States.DataLimitExceeded")));
}

#[test]
fn a_runtime_of_more_threads_than_the_cap_is_refused_with_a_clear_error() {
    let error = aslrt::Runtime::try_new(100_000).unwrap_err();
    assert!(matches!(error.kind(), aslrt::ErrorKind::Start(_)), "{error:?}");
    assert_eq!(error.to_string(), "the runtime could not start: 100000 worker threads asked for; at most 1024");
    let runtime = aslrt::Runtime::try_new(4).unwrap();
    assert_eq!(runtime.threads(), 4);
}

#[test]
fn a_duplicate_state_name_is_a_definition_error() {
    // The last state of a name once silently replaced the others.
    let diagnostics = |definition: &str| {
        StateMachine::compile(definition)
            .err()
            .map(|e| {
                e.diagnostics().iter().map(|d| (d.code, d.location.clone(), d.message.clone())).collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let top = r#"{"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Result": 1, "Next": "B"},
        "B": {"Type": "Succeed"},
        "A": {"Type": "Pass", "Result": 2, "Next": "B"}}}"#;
    assert_eq!(
        diagnostics(top),
        vec![("DUPLICATE_STATE_NAME", "/States/A".to_owned(), "Duplicate State name: A".to_owned())]
    );
    let branch = r#"{"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "X", "States": {"X": {"Type": "Succeed"}, "X": {"Type": "Succeed"}}}]}}}"#;
    assert_eq!(diagnostics(branch).len(), 1);
    assert_eq!(diagnostics(branch)[0].1, "/States/P/Branches/0/States/X");
    // A repeated member elsewhere keeps JSON's usual reading: the last one.
    let twice = r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "Result": 2, "End": true}}}"#;
    let run = StateMachine::compile(twice).unwrap().execute_json(&serde_json::json!({}));
    assert_eq!(run.output.as_deref(), Some("2"));
}

/// `depth` Parallel states, each the only state of the branch of the one around it.
fn parallels(depth: usize) -> String {
    let mut m = serde_json::json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    for _ in 0..depth {
        m = serde_json::json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": [m], "End": true}}});
    }
    m.to_string()
}

#[test]
fn parallel_states_nested_32_deep_are_valid_json_and_run() {
    // 32 levels were once "not valid JSON: recursion limit exceeded" (serde_json's 128).
    for depth in [32, 63] {
        let machine = StateMachine::compile(&parallels(depth)).unwrap();
        let want = format!("{}{{}}{}", "[".repeat(depth), "]".repeat(depth));
        let direct = machine.execute_json(&serde_json::json!({}));
        assert_eq!(direct.output.as_deref(), Some(want.as_str()), "{depth} on the calling thread");
        // On a worker's smaller stack too.
        let runtime = aslrt::Runtime::new(2);
        let pooled = runtime.execute_batch(&machine, vec![b"{}".to_vec()]);
        assert_eq!(pooled[0].output.as_deref(), Some(want.as_str()), "{depth} on a worker");
    }
}

#[test]
fn nesting_past_max_depth_is_a_definition_error_where_it_happens() {
    // What validates runs: 64 nested Parallel states validated, then failed at run time.
    let error = StateMachine::compile(&parallels(64)).unwrap_err();
    let d = &error.diagnostics()[0];
    assert_eq!(d.code, "TOO_DEEPLY_NESTED");
    assert_eq!(d.location, format!("{}/States/P", "/States/P/Branches/0".repeat(63)));
    assert!(d.message.contains("at most 63 may nest"), "{}", d.message);
    // The limit is the machine's own.
    let shallow = StateMachine::builder().limits(aslrt::RuntimeLimits::default().max_depth(3));
    assert!(shallow.compile(&parallels(3)).is_err());
    let shallow = StateMachine::builder().limits(aslrt::RuntimeLimits::default().max_depth(3));
    assert!(shallow.compile(&parallels(2)).is_ok());
}

#[test]
fn json_nested_past_the_limit_is_a_diagnostic_with_its_place() {
    let deep = format!("{}1{}", "[".repeat(600), "]".repeat(600));
    let definition = format!(r#"{{"StartAt":"P","States":{{"P":{{"Type":"Pass","Result":{deep},"End":true}}}}}}"#);
    let error = StateMachine::compile(&definition).unwrap_err();
    let d = &error.diagnostics()[0];
    assert!(d.message.contains("more than 512 deep"), "{}", d.message);
    assert!(d.location.starts_with("/States/P/Result/0/0/0"), "{}", d.location);
}

#[test]
fn a_state_written_as_an_empty_object_has_one_diagnostic() {
    // `{}` once also gave "Missing 'Next' target: A", though A exists.
    for definition in [
        r#"{"StartAt": "A", "States": {"A": {}}}"#,
        r#"{"StartAt": "B", "States": {"B": {"Type": "Pass", "Next": "A"}, "A": {}}}"#,
    ] {
        let error = StateMachine::compile(definition).unwrap_err();
        let found: Vec<_> = error.diagnostics().iter().map(|d| (d.code, d.location.as_str())).collect();
        assert_eq!(found, [("SCHEMA_VALIDATION_FAILED", "/States/A")], "{definition}");
    }
}

#[test]
fn a_task_naming_a_resource_outside_the_allow_list_does_not_compile() {
    let definition = r#"{"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:enrich", "Next": "B"},
        "B": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": true}}}"#;
    let only_lambda = StateMachine::builder().allow_resources(["arn:aws:lambda:*:123456789012:function:*"]);
    let error = only_lambda.compile(definition).unwrap_err();
    let found: Vec<&str> = error.diagnostics().iter().map(|d| d.location.as_str()).collect();
    assert_eq!(found, ["/States/B/Resource"]);
    assert!(error.diagnostics()[0].message.contains("'arn:aws:states:::sqs:sendMessage' is not among"));
    // By the function's name, or with both resources allowed, it compiles.
    assert!(StateMachine::builder().allow_resources(["enrich", "arn:aws:states:::sqs:*"]).compile(definition).is_ok());
    assert!(StateMachine::compile(definition).is_ok(), "no allow-list: any resource");
}

#[test]
fn a_function_named_at_run_time_outside_the_allow_list_fails_its_task_catchably() {
    let definition = r#"{"StartAt": "Call", "States": {
        "Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName.$": "$.fn", "Payload": {"n": 1}},
            "Catch": [{"ErrorEquals": ["Lambda.AWSLambdaException"], "ResultPath": "$.denied", "Next": "Denied"}],
            "OutputPath": "$.Payload", "End": true},
        "Denied": {"Type": "Pass", "End": true}}}"#;
    let machine = StateMachine::builder()
        .allow_resources(["arn:aws:lambda:us-east-1:123456789012:function:allowed-*"])
        .handler("allowed-echo", aslrt::internal::handler::Echo)
        .handler("secret", aslrt::internal::handler::Echo)
        .compile(definition)
        .unwrap();
    let allowed = machine.execute_json(&serde_json::json!({"fn": "allowed-echo"}));
    assert_eq!(allowed.output.as_deref(), Some(r#"{"n":1}"#), "{allowed:?}");
    let denied = machine.execute_json(&serde_json::json!({"fn": "secret"}));
    let out: serde_json::Value = serde_json::from_str(denied.output.as_deref().unwrap()).unwrap();
    assert_eq!(out["denied"]["Error"], "Lambda.AWSLambdaException");
    let cause = out["denied"]["Cause"].as_str().unwrap();
    assert!(cause.contains("is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:123456789012:function:secret"), "{cause}");
}

#[test]
fn a_jsonata_string_doubled_forty_times_fails_its_state_instead_of_the_process() {
    // `$x & $x` forty times asked the arena for 512 MiB and more, and the allocation failure
    // panicked (the hostile-input catalogue found it). Every intermediate text is held to the
    // payload limit.
    let definition = serde_json::json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {"P": {"Type": "Pass",
        "Output": "{% ($s := function($x, $n){ $n = 0 ? $x : $s($x & $x, $n - 1) }; $s('ab', 40)) %}", "End": true}}});
    let run = StateMachine::compile(&definition.to_string()).unwrap().execute_json(&serde_json::json!({}));
    assert_eq!((run.status, run.error.as_deref()), (Status::Failed, Some("States.QueryEvaluationError")));
    assert!(run.cause.as_deref().unwrap_or_default().contains("Invalid string length"), "{run:?}");
}

/// A machine compiled with `limits`.
fn with_limits(definition: &str, limits: aslrt::RuntimeLimits) -> Result<StateMachine, aslrt::Error> {
    StateMachine::builder().config(aslrt::Config::default().limits(limits)).compile(definition)
}

#[test]
fn a_definition_past_max_definition_bytes_or_max_states_is_a_definition_error() {
    // 40,000 states in a row: 1.4 MB, past AWS's 1 MiB; once "internal error: too many states"
    // at run time for 100,000.
    let states: serde_json::Map<String, serde_json::Value> = (0..40_000)
        .map(|i| (format!("S{i}"), serde_json::json!({"Type": "Pass", "Next": format!("S{}", i + 1)})))
        .chain([("S40000".to_owned(), serde_json::json!({"Type": "Succeed"}))])
        .collect();
    let big = serde_json::json!({"StartAt": "S0", "States": states}).to_string();
    let error = StateMachine::compile(&big).unwrap_err();
    let d = error.diagnostics();
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(d[0].message.contains("more than the 1,048,576 a definition may have"), "{}", d[0].message);
    // Within a raised size limit, it compiles; within a lowered state limit, it does not.
    let raised = aslrt::RuntimeLimits::default().max_definition_bytes(2 << 20);
    assert!(with_limits(&big, raised).is_ok());
    let parallel = r#"{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
        {"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}},
        {"StartAt":"B","States":{"B":{"Type":"Pass","Next":"C"},"C":{"Type":"Succeed"}}}]}}}"#;
    let error = with_limits(parallel, aslrt::RuntimeLimits::default().max_states(3)).unwrap_err();
    let d = error.diagnostics();
    assert_eq!((d.len(), d[0].location.as_str()), (1, "/States"), "{d:?}");
    assert!(d[0].message.starts_with("the definition has 4 states"), "{}", d[0].message);
    assert!(with_limits(parallel, aslrt::RuntimeLimits::default().max_states(4)).is_ok());
}

#[test]
fn jsonata_steps_and_depth_follow_the_runtime_limits() {
    let def = r#"{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass",
        "Output":"{% $sum([1..5000].($ * 2)) %}","End":true}}}"#;
    let ok = with_limits(def, aslrt::RuntimeLimits::default()).unwrap().execute_json(&serde_json::json!({}));
    assert_eq!(ok.status, Status::Succeeded);
    let few = with_limits(def, aslrt::RuntimeLimits::default().max_jsonata_steps(1_000)).unwrap();
    let run = few.execute_json(&serde_json::json!({}));
    assert_eq!(run.error.as_deref(), Some("States.QueryEvaluationError"));
    assert!(run.cause.as_deref().is_some_and(|c| c.contains("more than 1,000 evaluation steps")), "{:?}", run.cause);
    let deep = r#"{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass",
        "Output":"{% ($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(50)) %}","End":true}}}"#;
    let run = with_limits(deep, aslrt::RuntimeLimits::default()).unwrap().execute_json(&serde_json::json!({}));
    assert_eq!(run.output.as_deref(), Some("50"));
    let shallow = with_limits(deep, aslrt::RuntimeLimits::default().max_jsonata_depth(20)).unwrap();
    let run = shallow.execute_json(&serde_json::json!({}));
    assert_eq!(run.error.as_deref(), Some("States.QueryEvaluationError"));
    assert!(run.cause.as_deref().is_some_and(|c| c.contains("U1001")), "{:?}", run.cause);
}

#[test]
fn a_map_over_more_items_than_max_map_items_fails_its_state() {
    // A JSONata range makes 200,000 items, more than any 256 KiB payload holds. States.Runtime
    // is terminal, as on AWS: the Catch naming it does not take it.
    let def = r#"{"QueryLanguage":"JSONata","StartAt":"M","States":{"M":{"Type":"Map",
        "Items":"{% [1..200000] %}","ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},
        "Catch":[{"ErrorEquals":["States.Runtime"],"Next":"Caught"}],"End":true},
        "Caught":{"Type":"Pass","End":true}}}"#;
    let machine = StateMachine::compile(def).unwrap();
    let run = machine.execute_json(&serde_json::json!({}));
    assert_eq!(run.status, Status::Failed, "{:?}", run.output);
    assert_eq!(run.error.as_deref(), Some("States.Runtime"));
    assert!(
        run.cause
            .as_deref()
            .is_some_and(|c| c.contains("200,000 items, more than RuntimeLimits::max_map_items (131,072)")),
        "{:?}",
        run.cause
    );
    // The limit is the host's to set: four items pass the default and fail a limit of three.
    let four = def.replace("[1..200000]", "[1..4]");
    assert_eq!(StateMachine::compile(&four).unwrap().execute_json(&serde_json::json!({})).status, Status::Succeeded);
    let three = with_limits(&four, aslrt::RuntimeLimits::default().max_map_items(3)).unwrap();
    let run = three.execute_json(&serde_json::json!({}));
    assert!(run.cause.as_deref().is_some_and(|c| c.contains("4 items, more than RuntimeLimits::max_map_items (3)")));
}

#[test]
fn an_event_nested_past_the_parser_bound_names_the_bound_and_its_place() {
    // It said "nested too deeply (line 1, column 128)": serde_json's bound, not the parser's.
    let machine = StateMachine::compile(r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#).unwrap();
    let n = aslrt::RuntimeLimits::EVENT_JSON_DEPTH;
    let ok = format!("{}{}", "[".repeat(n), "]".repeat(n));
    assert_eq!(machine.execute(&mut aslrt::Scratch::new(), ok.as_bytes()).status, Status::Succeeded);
    let deep = format!("{}{}", "[".repeat(n + 1), "]".repeat(n + 1));
    let mut scratch = aslrt::Scratch::new();
    let run = machine.execute(&mut scratch, deep.as_bytes());
    assert_eq!(run.error, Some("States.Runtime"));
    assert!(run.cause.is_some_and(|c| c.contains("nest more than 1024 deep (character")), "{:?}", run.cause);
}

#[test]
fn jsonata_functions_cannot_make_a_text_past_the_payload_limit() {
    // `$pad("x", 1e9)` took 12 s and 3.9 GB; `$replace` of 200,000 matches by 200,000 bytes
    // would ask for 40 GB; `$join` and `$string` made texts of megabytes.
    for expr in [
        r#"$pad("x", 1000000000)"#,
        r#"$replace($pad("", 200000, "a"), "a", $pad("", 200000, "b"))"#,
        r#"$replace($pad("", 200000, "a"), /a/, $pad("", 200000, "b"))"#,
        r#"$length($join([1..9].($pad("", 200000, "ab"))))"#,
        r#"$length($string([1..800000]))"#,
        // 200 KB, 600 KB once upper-cased (ΐ becomes three letters of two bytes).
        r#"$length($uppercase($pad("", 100000, "ΐ")))"#,
        // Each "$0" is the whole 256 Ki match: 32 GiB asked of one replacement.
        r#"$replace($pad("", 262144, "a"), /a+/, $pad("", 262144, "$0"))"#,
        // Values share their parts: 2^30 copies of a 64 KiB text, written out.
        r#"($x := $pad("", 65536, "x"); $d := function($v, $n) { $n = 0 ? $v : $d({"a": $v, "b": $v}, $n - 1) }; $length($string($d($x, 30))))"#,
        r#"($x := $pad("", 65536, "x"); $d := function($v, $n) { $n = 0 ? $v : $d({"a": $v, "b": $v}, $n - 1) }; $length("" & $d($x, 30)))"#,
        r#"($x := $pad("", 65536, "x"); $d := function($v, $n) { $n = 0 ? $v : $d({"a": $v, "b": $v}, $n - 1) }; $length($string($d($x, 30), true)))"#,
    ] {
        let def = serde_json::json!({"QueryLanguage": "JSONata", "StartAt": "P",
            "States": {"P": {"Type": "Pass", "Output": format!("{{% {expr} %}}"), "End": true}}});
        let run = StateMachine::compile(&def.to_string()).unwrap().execute_json(&serde_json::json!({}));
        assert_eq!(run.error.as_deref(), Some("States.QueryEvaluationError"), "{expr}: {:?}", run.output);
        assert!(
            run.cause.as_deref().is_some_and(|c| c.contains("RangeError: Invalid string length")),
            "{expr}: {:?}",
            run.cause
        );
    }
    // Up to the limit, they work.
    let def = serde_json::json!({"QueryLanguage": "JSONata", "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Output": "{% $length($join([1..2].($pad(\"\", 100000, \"ab\")))) %}", "End": true}}});
    let run = StateMachine::compile(&def.to_string()).unwrap().execute_json(&serde_json::json!({}));
    assert_eq!(run.output.as_deref(), Some("200000"));
}

#[test]
fn a_range_past_what_aws_holds_fails_with_its_memory_limit() {
    // Measured on AWS: [1..873782] ~> $count() succeeds, [1..873783] fails; ten million once
    // succeeded here.
    let count = |n: u64| {
        let def = serde_json::json!({"QueryLanguage": "JSONata", "StartAt": "P",
            "States": {"P": {"Type": "Pass", "Output": format!("{{% $count([1..{n}]) %}}"), "End": true}}});
        StateMachine::compile(&def.to_string()).unwrap().execute_json(&serde_json::json!({}))
    };
    assert_eq!(count(873_782).output.as_deref(), Some("873782"));
    for n in [873_783, 10_000_000] {
        let run = count(n);
        assert_eq!(run.error.as_deref(), Some("States.QueryEvaluationError"), "{n}");
        assert!(
            run.cause.as_deref().is_some_and(|c| c.contains("Expression evaluation memory limit exceeded")),
            "{n}: {:?}",
            run.cause
        );
    }
}

#[test]
fn ranges_of_huge_bounds_fail_without_overflowing() {
    // `[-5e18..5e18]` overflowed an i64 difference (a panic in debug builds, a capacity-overflow
    // panic in release); `$range(0, -1e19, -1)` divided i64::MIN by -1.
    for (expr, code) in
        [("$count([-5000000000000000000..5000000000000000000])", "D2014"), ("$count($range(0, -1e19, -1))", "D3137")]
    {
        let def = serde_json::json!({"QueryLanguage": "JSONata", "StartAt": "P",
            "States": {"P": {"Type": "Pass", "Output": format!("{{% {expr} %}}"), "End": true}}});
        let run = StateMachine::compile(&def.to_string()).unwrap().execute_json(&serde_json::json!({}));
        assert_eq!(run.error.as_deref(), Some("States.QueryEvaluationError"), "{expr}");
        assert!(run.cause.as_deref().is_some_and(|c| c.contains(code)), "{expr}: {:?}", run.cause);
    }
}

#[test]
fn a_text_a_function_hands_back_unchanged_is_not_held_to_the_limit() {
    // `$string` of a string returns it as it is: not a text it made, even past a lowered limit.
    let def = r#"{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass",
        "Output":"{% $length($string($states.input.s)) %}","End":true}}}"#;
    let machine = with_limits(def, aslrt::RuntimeLimits::default().max_payload_bytes(100)).unwrap();
    let run = machine.execute_json(&serde_json::json!({"s": "x".repeat(90)}));
    assert_eq!(run.output.as_deref(), Some("90"), "{:?}", run.cause);
}

#[test]
fn a_jsonata_array_doubled_forty_times_fails_with_the_memory_limit() {
    // `[$v, $v]` flattens: forty doublings ask for 2^40 items. One asked bumpalo for 400 MB at
    // a time until the process was killed; evaluation now stops at the execution's arena cap.
    for expr in [
        r#"($d := function($v, $n) { $n = 0 ? $v : $d([$v, $v], $n - 1) }; $count($d([1], 40)))"#,
        r#"($d := function($v, $n) { $n = 0 ? $v : $d($append($v, $v), $n - 1) }; $count($d([1], 40)))"#,
        r#"($x := $pad("", 65536, "x"); $d := function($v, $n) { $n = 0 ? $v : $d([$v, $v], $n - 1) }; $length("" & $d($x, 30)))"#,
    ] {
        let def = serde_json::json!({"QueryLanguage": "JSONata", "StartAt": "P",
            "States": {"P": {"Type": "Pass", "Output": format!("{{% {expr} %}}"), "End": true}}});
        let run = StateMachine::compile(&def.to_string()).unwrap().execute_json(&serde_json::json!({}));
        assert_eq!(run.error.as_deref(), Some("States.QueryEvaluationError"), "{expr}");
        assert!(
            run.cause.as_deref().is_some_and(|c| c.contains("Expression evaluation memory limit exceeded")),
            "{expr}: {:?}",
            run.cause
        );
    }
}
