//! The façade's types have the traits users reach for: every one prints with `{:?}`, the shared
//! ones cross threads, and the plain data ones compare and clone. A missing trait is a compile
//! error here, before a user meets it.

use aslrt::*;
use std::fmt::Debug;

fn debug<T: Debug>() {}
fn shared<T: Send + Sync>() {}
fn data<T: Clone + PartialEq + Debug>() {}

#[test]
fn the_facade_types_have_the_usual_traits() {
    debug::<StateMachine>();
    debug::<Builder>();
    debug::<Scratch>();
    debug::<Execution<'static>>();
    debug::<Outcome>();
    debug::<Cancel>();
    debug::<Runtime>();
    debug::<Pending>();
    debug::<Metrics>();
    debug::<Handlers>();
    debug::<TaskContext<'static>>();
    debug::<TaskError>();
    debug::<JsonFn<fn(serde_json::Value) -> Result<serde_json::Value, TaskError>>>();
    debug::<AsyncFn<fn()>>();
    debug::<TextFn<fn(&str) -> Result<String, TaskError>>>();
    debug::<AsyncTextFn<fn()>>();
    debug::<RuntimeBuilder>();
    shared::<RuntimeBuilder>();
    debug::<Error>();
    debug::<ErrorKind>();
    shared::<StateMachine>();
    shared::<Runtime>();
    shared::<Metrics>();
    shared::<Handlers>();
    shared::<Pending>();
    shared::<Error>();
    data::<Config>();
    data::<RuntimeLimits>();
    data::<Identity>();
    data::<Clock>();
    data::<Status>();
    data::<Diagnostic>();
    data::<TaskInfo>();
    data::<MetricsSnapshot>();
    data::<ValueKind>();
    data::<Outcome>();
}

#[test]
fn the_facade_prints_what_it_holds() {
    let machine = StateMachine::compile(r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#).unwrap();
    let rt = Runtime::new(1);
    let pending = rt.execute_async(&machine, b"{}".to_vec());
    let id = pending.id();
    let outcome = pending.wait();
    assert_eq!(outcome.status, Status::Succeeded);
    let shown = format!("{:?}", rt.metrics());
    assert!(shown.starts_with("Metrics(MetricsSnapshot { executions_started: 1,"), "{shown}");
    let pending = rt.execute_async(&machine, b"{}".to_vec());
    let shown = format!("{pending:?}");
    assert!(shown.starts_with(&format!("Pending {{ id: {}, done: ", id + 1)), "{shown}");
    pending.wait();
    assert_eq!(format!("{:?}", JsonFn(|v: serde_json::Value| Ok::<_, TaskError>(v))), "JsonFn(..)");
}

/// The last handler registered for a resource is its handler, whichever kind either is: a
/// synchronous one after an asynchronous one leaves nothing that could suspend.
#[test]
fn a_handler_replaces_the_other_kind_for_its_resource() {
    let task = r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::local:t","End":true}}}"#;
    let sync = JsonFn(|_| Ok(serde_json::json!("sync")));
    let asynchronous = AsyncFn(|_, _| async { Ok(serde_json::json!("async")) });
    let mut handlers = Handlers::new();
    handlers.insert_async("arn:aws:states:::local:t", asynchronous).insert("arn:aws:states:::local:t", sync);
    let machine = StateMachine::builder().handlers(handlers).compile(task).unwrap();
    assert!(!machine.may_suspend());
    assert_eq!(machine.execute_json(&serde_json::json!({})).output.as_deref(), Some(r#""sync""#));

    let sync = JsonFn(|_| Ok(serde_json::json!("sync")));
    let asynchronous = AsyncFn(|_, _| async { Ok(serde_json::json!("async")) });
    let mut handlers = Handlers::new();
    handlers.insert("arn:aws:states:::local:t", sync).insert_async("arn:aws:states:::local:t", asynchronous);
    let machine = StateMachine::builder().handlers(handlers).compile(task).unwrap();
    assert!(machine.may_suspend());
    assert_eq!(machine.execute_json(&serde_json::json!({})).output.as_deref(), Some(r#""async""#));
}

/// A key ending in `*` serves every resource that starts with what precedes it: the exact key
/// first, then the longest pattern.
#[test]
fn a_prefix_pattern_serves_the_resources_it_starts() {
    let answer = |s: &'static str| JsonFn(move |_| Ok(serde_json::json!(s)));
    let mut handlers = Handlers::new();
    handlers
        .insert("arn:aws:states:::local:*", answer("wide"))
        .insert("arn:aws:states:::local:special*", answer("narrow"))
        .insert("arn:aws:states:::local:special-one", answer("exact"));
    let task = |resource: &str, path: &str, next: Option<&str>| {
        let mut s = serde_json::json!({"Type": "Task", "Resource": resource, "ResultPath": path});
        match next {
            Some(n) => s["Next"] = n.into(),
            None => s["End"] = true.into(),
        }
        s
    };
    let definition = serde_json::json!({"StartAt": "A", "States": {
        "A": task("arn:aws:states:::local:other", "$.a", Some("B")),
        "B": task("arn:aws:states:::local:special-two", "$.b", Some("C")),
        "C": task("arn:aws:states:::local:special-one", "$.c", Some("D")),
        "D": task("arn:aws:states:::elsewhere:x", "$.d", None)}});
    let machine = StateMachine::builder().handlers(handlers).compile(&definition.to_string()).unwrap();
    let out = machine.execute_json(&serde_json::json!({}));
    assert_eq!(out.error.as_deref(), Some("States.TaskFailed"), "D matches no key: {out:?}");
    let definition = definition.to_string().replace("arn:aws:states:::elsewhere:x", "arn:aws:states:::local:last");
    let mut handlers = Handlers::new();
    handlers
        .insert("arn:aws:states:::local:*", answer("wide"))
        .insert("arn:aws:states:::local:special*", answer("narrow"))
        .insert("arn:aws:states:::local:special-one", answer("exact"));
    let machine = StateMachine::builder().handlers(handlers).compile(&definition).unwrap();
    let out = machine.execute_json(&serde_json::json!({}));
    assert_eq!(out.output.as_deref(), Some(r#"{"a":"wide","b":"narrow","c":"exact","d":"wide"}"#));
}

/// A Lambda function's ARN as a Task's Resource is served by a handler registered under the
/// function's name (with or without a version or alias in the ARN), before prefix patterns and
/// after a handler registered under the whole ARN.
#[test]
fn a_lambda_arn_is_served_by_the_functions_name() {
    let answer = |s: &'static str| JsonFn(move |_| Ok(serde_json::json!(s)));
    let task = |resource: &str| {
        serde_json::json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": true}}})
            .to_string()
    };
    let run = |handlers: Handlers, resource: &str| {
        let machine = StateMachine::builder().handlers(handlers).compile(&task(resource)).unwrap();
        machine.execute_json(&serde_json::json!({})).output
    };
    let arn = "arn:aws:lambda:us-east-1:123456789012:function:enrich";
    let mut handlers = Handlers::new();
    handlers.insert("enrich", answer("by name")).insert("arn:aws:lambda:*", answer("by prefix"));
    assert_eq!(run(handlers, arn).as_deref(), Some(r#""by name""#));
    let mut handlers = Handlers::new();
    handlers.insert("enrich", answer("by name")).insert(arn, answer("by arn"));
    assert_eq!(run(handlers, arn).as_deref(), Some(r#""by arn""#));
    let mut handlers = Handlers::new();
    handlers.insert("enrich", answer("by name"));
    assert_eq!(run(handlers, &format!("{arn}:live")).as_deref(), Some(r#""by name""#));
    let mut handlers = Handlers::new();
    handlers.insert("enrich", answer("by name"));
    assert_eq!(run(handlers, "arn:aws:states:::local:enrich"), None, "only Lambda ARNs name a function");
}
