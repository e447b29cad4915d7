//! The Runtime: batches and streams keep input order across workers, async executions resolve,
//! metrics count what ran, and a shutdown either drains or aborts queued work.

use aslrt::{Runtime, StateMachine, Status};

fn machine() -> StateMachine {
    StateMachine::compile(
        r#"{"StartAt":"C","States":{
            "C":{"Type":"Choice","Choices":[{"Variable":"$.n","NumericGreaterThanEquals":0,"Next":"Ok"}],"Default":"Bad"},
            "Ok":{"Type":"Pass","Parameters":{"n.$":"$.n","twice.$":"States.MathAdd($.n, $.n)"},"End":true},
            "Bad":{"Type":"Fail","Error":"Negative","Cause":"n < 0"}}}"#,
    )
    .unwrap()
}

#[test]
fn batch_results_are_in_input_order() {
    let rt = Runtime::new(2);
    let m = machine();
    let events: Vec<Vec<u8>> =
        (0..5000).map(|i| format!("{{\"n\":{}}}", if i % 7 == 0 { -i } else { i }).into_bytes()).collect();
    let out = rt.execute_batch(&m, events);
    assert_eq!(out.len(), 5000);
    for (i, o) in out.iter().enumerate() {
        if i % 7 == 0 && i > 0 {
            assert_eq!((o.status, o.error.as_deref()), (Status::Failed, Some("Negative")));
        } else {
            assert_eq!(o.output.as_deref(), Some(format!("{{\"n\":{i},\"twice\":{}}}", 2 * i).as_str()));
        }
    }
    let m = rt.metrics().snapshot();
    assert_eq!(m.executions_started, 5000);
    assert_eq!(m.executions_failed, 714);
    assert_eq!(m.executions_succeeded, 4286);
    assert_eq!(m.state_transitions, 10000);
    assert_eq!(*m.execution_time_buckets.last().unwrap(), 5000);
    assert!(m.prometheus().contains("aslrt_executions_failed_total 714\n"));
    rt.shutdown();
}

#[test]
fn stream_hands_results_to_the_sink_in_order() {
    let rt = Runtime::new(2);
    let m = machine();
    let source = (1..=10_000u64).map(|i| (i, format!("{{\"n\":{i}}}").into_bytes()));
    let mut next = 1u64;
    let accepted = rt
        .stream(
            &m,
            source,
            256,
            |id, r| format!("{id}:{}", r.output.unwrap_or("-")).into_bytes(),
            |id, bytes| {
                assert_eq!(id, next, "in order");
                assert_eq!(bytes, format!("{id}:{{\"n\":{id},\"twice\":{}}}", 2 * id).as_bytes());
                next += 1;
                Ok(())
            },
        )
        .unwrap();
    assert_eq!(accepted, 10_000);
}

#[test]
fn a_failing_sink_stops_the_stream() {
    let rt = Runtime::new(2);
    let m = machine();
    let source = (1..=1000u64).map(|i| (i, b"{\"n\":1}".to_vec()));
    let err = rt
        .stream(
            &m,
            source,
            64,
            |_, _| Vec::new(),
            |id, _| {
                if id == 100 {
                    Err(std::io::Error::other("disk full"))
                } else {
                    Ok(())
                }
            },
        )
        .unwrap_err();
    assert_eq!(err.to_string(), "disk full");
}

#[test]
fn async_and_sync_executions() {
    let rt = Runtime::new(2);
    let m = machine();
    let pending: Vec<_> = (0..100).map(|i| rt.execute_async(&m, format!("{{\"n\":{i}}}").into_bytes())).collect();
    for (i, p) in pending.into_iter().enumerate() {
        assert_eq!(p.wait().output, Some(format!("{{\"n\":{i},\"twice\":{}}}", 2 * i)));
    }
    assert_eq!(rt.execute(&m, b"{\"n\":-1}").error.as_deref(), Some("Negative"));
    rt.register("doubler", m);
    assert!(rt.machine("doubler").is_some() && rt.machine("nope").is_none());
}

#[test]
fn shutdown_now_aborts_queued_work() {
    let rt = Runtime::new(1);
    // A slow handler keeps the only worker busy while more work queues up.
    let slow = StateMachine::builder()
        .handler(
            "arn:aws:states:::local:slow",
            aslrt::handler::JsonFn(|v| {
                std::thread::sleep(std::time::Duration::from_millis(50));
                Ok(v)
            }),
        )
        .compile(
            r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::local:slow","End":true}}}"#,
        )
        .unwrap();
    let pending: Vec<_> = (0..20).map(|_| rt.execute_async(&slow, b"{}".to_vec())).collect();
    std::thread::sleep(std::time::Duration::from_millis(10));
    rt.shutdown_now();
    let statuses: Vec<Status> = pending.into_iter().map(|p| p.wait().status).collect();
    assert!(statuses.contains(&Status::Aborted), "{statuses:?}");
    assert!(statuses.first() == Some(&Status::Succeeded), "the running one finishes: {statuses:?}");
}
