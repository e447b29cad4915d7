//! Definitions that are rejected, and how: every diagnostic at once, each with AWS's code and a
//! JSON pointer to the offending key; and the compiled program of a small machine that is
//! accepted.

use aslrt::StateMachine;
use serde_json::json;

fn diagnostics(definition: &str) -> Vec<(String, String, String)> {
    match aslrt::internal::asl::parse(definition) {
        Ok(_) => Vec::new(),
        Err(d) => d.into_iter().map(|d| (d.code.to_owned(), d.location, d.message)).collect(),
    }
}

#[test]
fn validation_reports_every_problem() {
    let d = diagnostics(
        r#"{"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "Nowhere"},
            "B": {"Type": "Pass", "End": true, "Bogus": 1},
            "C": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken", "End": true},
            "D": {"Type": "Pass", "Parameters": {"x.$": "$.a[", "y.$": "States.Nope()"}, "End": true}}}"#,
    );
    let codes: Vec<(&str, &str)> = d.iter().map(|(c, l, _)| (c.as_str(), l.as_str())).collect();
    assert!(codes.contains(&("MISSING_TRANSITION_TARGET", "/States/A/Next")), "{d:?}");
    assert!(
        d.contains(&("SCHEMA_VALIDATION_FAILED".into(), "/States/B".into(), "Field 'Bogus' is not supported".into())),
        "{d:?}"
    );
    assert!(codes.contains(&("SCHEMA_VALIDATION_FAILED", "/States/C/Resource")), "{d:?}");
    for field in ["x.$", "y.$"] {
        let message =
            format!("The value for the field '{field}' must be a valid JSONPath or a valid intrinsic function call");
        let at = format!("/States/D/Parameters/{field}");
        assert!(d.contains(&("SCHEMA_VALIDATION_FAILED".into(), at, message)), "{d:?}");
    }
    assert!(codes.contains(&("MISSING_TRANSITION_TARGET", "/States/B")), "unreachable B: {d:?}");
}

// A diagnostic points at the offending key, however deep in a payload template (or an
// array in it) the key sits.
#[test]
fn a_template_diagnostic_points_at_its_key() {
    let d = diagnostics(
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true,
            "Parameters": {"outer": {"list": [1, {"bad/key.$": "$.["}]}},
            "Assign": {"v.$": "nope"}}}}"#,
    );
    let locations: Vec<&str> = d.iter().map(|(_, l, _)| l.as_str()).collect();
    assert_eq!(locations, ["/States/A/Parameters/outer/list/1/bad~1key.$", "/States/A/Assign/v.$"], "{d:?}");
    // The same in JSONata, for an expression in an Output template and in an Assign.
    let d = diagnostics(
        r#"{"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Pass", "End": true,
            "Output": {"outer": {"list": [1, "{% $x + %}"]}},
            "Assign": {"v": "{% ) %}"}}}}"#,
    );
    let mut locations: Vec<&str> = d.iter().map(|(_, l, _)| l.as_str()).collect();
    locations.sort();
    assert_eq!(locations, ["/States/A/Assign/v", "/States/A/Output/outer/list/1"], "{d:?}");
}

// One mistake, one diagnostic: a state whose Type is bad, or that is no object, is not also
// reported as a missing target, nor are the states only it leads to reported unreachable, nor
// its machine as having no terminal state.
#[test]
fn a_bad_type_does_not_cascade() {
    for def in [
        r#"{"StartAt": "A", "States": {"A": {"Type": "Passs", "Next": "B"}, "B": {"Type": "Succeed"}}}"#,
        r#"{"StartAt": "A", "States": {"A": {"Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}}"#,
        r#"{"StartAt": "A", "States": {"A": {"Type": 7, "Choices": [{"Next": "B"}]}, "B": {"Type": "Succeed"}}}"#,
        r#"{"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "X", "States": {"X": {"Type": "Tsk", "Next": "Y"}, "Y": {"Type": "Pass", "End": true}}}]}}}"#,
        // The same for a transition that cannot be read: the states after it are not reported
        // unreachable, nor is the state reported to have neither Next nor End.
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": 5}, "B": {"Type": "Succeed"}}}"#,
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": "yes"}}}"#,
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": 5}}"#,
        r#"{"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsPresent": true,
            "Next": 5}], "Default": "D"}, "D": {"Type": "Succeed"}, "E": {"Type": "Succeed"}}}"#,
        r#"{"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsPresent": true,
            "Next": "D"}], "Default": 1}, "D": {"Type": "Succeed"}, "E": {"Type": "Succeed"}}}"#,
        r#"{"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [7, {"Variable": "$.a", "IsPresent": true,
            "Next": "D"}]}, "D": {"Type": "Succeed"}, "E": {"Type": "Succeed"}}}"#,
        r#"{"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsPresent": "yes",
            "Next": "E"}], "Default": "D"}, "D": {"Type": "Succeed"}, "E": {"Type": "Succeed"}}}"#,
        r#"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::local:x", "End": true,
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": 7}]}, "H": {"Type": "Succeed"}}}"#,
        r#"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::local:x", "End": true,
            "Catch": ["H"]}, "H": {"Type": "Succeed"}}}"#,
        r#"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::local:x", "End": true,
            "Catch": {"ErrorEquals": ["States.ALL"], "Next": "H"}}, "H": {"Type": "Succeed"}}}"#,
        r#"{"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": {"Next": "D"}, "Default": "E"},
            "D": {"Type": "Succeed"}, "E": {"Type": "Succeed"}}}"#,
        r#"{"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [{"Condition": "{% true %}", "Next": "D"}],
            "Default": "E"}, "D": {"Type": "Succeed"}, "E": {"Type": "Succeed"}}}"#,
        r#"{"QueryLanguage": "JSONata", "StartAt": "C", "States": {"C": {"Type": "Choice",
            "Choices": [{"Condition": 3, "Next": "D"}], "Default": "E"}, "D": {"Type": "Succeed"}, "E": {"Type": "Succeed"}}}"#,
        r#"{"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H"}]}, "H": {"Type": "Succeed"}}}"#,
    ] {
        let d = diagnostics(def);
        assert_eq!(d.len(), 1, "{def}: {d:?}");
        assert_eq!(d[0].0, "SCHEMA_VALIDATION_FAILED", "{def}: {d:?}");
    }
}

// What an unreadable part hides is only what depends on it: a target that can be read is still
// checked, and a broken branch leaves its parent's checks in place.
#[test]
fn an_unreadable_part_hides_only_what_depends_on_it() {
    for (def, expect) in [
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nope", "End": "yes"}}}"#,
            vec![("SCHEMA_VALIDATION_FAILED", "/States/A/End"), ("MISSING_TRANSITION_TARGET", "/States/A/Next")],
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": 5}, "B": {"Type": "Pass", "Next": "Nowhere"},
                "C": {"Type": "Succeed"}}}"#,
            vec![("SCHEMA_VALIDATION_FAILED", "/States/A/Next"), ("MISSING_TRANSITION_TARGET", "/States/B/Next")],
        ),
        (
            r#"{"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "X", "States": {"X": {"Type": "Tsk", "End": true}}}]}, "U": {"Type": "Succeed"}}}"#,
            vec![
                ("SCHEMA_VALIDATION_FAILED", "/States/P/Branches/0/States/X/Type"),
                ("MISSING_TRANSITION_TARGET", "/States/U"),
            ],
        ),
    ] {
        let d = diagnostics(def);
        let got: Vec<(&str, &str)> = d.iter().map(|(c, l, _)| (c.as_str(), l.as_str())).collect();
        assert_eq!(got, expect, "{def}: {d:?}");
    }
}

#[test]
fn validation_codes() {
    let first = |def: &str| diagnostics(def).into_iter().next();
    assert_eq!(first("{").unwrap().0, "INVALID_JSON_DESCRIPTION");
    // AWS's codes and wording: an empty definition, a state name past 80 characters.
    for empty in ["", " \n\t"] {
        assert_eq!(
            first(empty).unwrap(),
            ("MISSING_DESCRIPTION".into(), "".into(), "Received a null or empty workflow input.".into())
        );
    }
    let long = "S".repeat(81);
    let def = format!(r#"{{"StartAt": "{long}", "States": {{"{long}": {{"Type": "Succeed"}}}}}}"#);
    assert_eq!(
        diagnostics(&def),
        vec![(
            "INVALID_STATE_NAME".into(),
            format!("/States/{long}"),
            format!("Invalid State name: State '{long}' exceeds the 80-character limit allowed by the service")
        )]
    );
    let eighty = "S".repeat(80);
    assert!(diagnostics(&format!(r#"{{"StartAt": "{eighty}", "States": {{"{eighty}": {{"Type": "Succeed"}}}}}}"#))
        .is_empty());
    assert_eq!(
        first(r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}}"#).unwrap(),
        ("MISSING_END_STATE".into(), "".into(), "Workflow has no terminal state".into())
    );
    assert_eq!(
        first(r#"{"StartAt": "X", "States": {"A": {"Type": "Succeed"}}}"#).unwrap(),
        ("MISSING_TRANSITION_TARGET".into(), "/StartAt".into(), "Missing 'Next' target: X".into())
    );
    assert_eq!(first(r#"{"StartAt": "A", "States": {"A": {"Type": "Pass"}}}"#).unwrap().0, "MISSING_TRANSITION_TARGET");
    assert_eq!(first(r#"{"StartAt": "A", "States": {"A": {"Type": "Nope"}}}"#).unwrap().1, "/States/A/Type");
    assert_eq!(
        first(r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:us-east-1:1:activity:x", "End": true}}}"#)
            .unwrap()
            .0,
        "SCHEMA_VALIDATION_FAILED"
    );
    assert_eq!(
        first(r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::s3:getObject.sync", "End": true}}}"#)
            .unwrap()
            .0,
        "SCHEMA_VALIDATION_FAILED"
    );
    let retry_all_not_last = r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::local:x", "End": true,
        "Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]}}}"#;
    assert_eq!(first(retry_all_not_last).unwrap().1, "/States/A/Retry/0/ErrorEquals");
}

/// The compiled program of a small machine, as `aslrt run --disasm` prints it. Catches changes
/// to the instruction selection: a change here should be deliberate.
#[test]
fn disassembly_snapshot() {
    let machine = StateMachine::compile(
        &json!({"StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [
                {"Or": [{"Variable": "$.a", "NumericGreaterThan": 1}, {"Not": {"Variable": "$.b", "IsPresent": true}}], "Next": "P"},
                {"Variable": "$.a", "IsString": true, "Assign": {"s.$": "$.a"}, "Next": "P"}],
                "Default": "F"},
            "P": {"Type": "Pass", "Parameters": {"n.$": "States.ArrayLength($.xs)", "k": 1}, "ResultPath": "$.r", "End": true},
            "F": {"Type": "Fail", "Error": "E"}}})
        .to_string(),
    )
    .unwrap();
    let expect = r#"m0: 3 states, stack 1
    0  enter          "C"
    1  choose         Or($.a NumericGreaterThan 1, Not($.b IsPresent true)) | $.a IsString true
    2  choice-out     10
    3  jump           5
    4  choice-out     15
    5  push-path      Eff $.a (s.$)
    6  move           Acc <- Eff
    7  assign         ["s"]
    8  exit
    9  jump           10
   10  enter          "P"
   11  object         Eff {n: States.ArrayLength($.xs), k: 1} -> Res
   12  result-path    $.r
   13  exit
   14  end
   15  enter          "F"
   16  fail           "E" -
"#;
    assert_eq!(machine.disassemble(), expect);
}
