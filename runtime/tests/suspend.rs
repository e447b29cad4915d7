//! Suspension: executions run by a `Runtime` wait for timers and asynchronous handlers without
//! holding a worker, resume on the pool, and replay what they did before (no handler is called
//! twice); cancellation and shutdown still reach them while they wait.

use aslrt::JsonFn;
use aslrt::{AsyncFn, Runtime, StateMachine, Status, TaskError, TaskInfo};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// The outcome of `pending`, or a test failure after `secs` instead of a hang.
fn within(secs: u64, pending: aslrt::Pending) -> aslrt::Outcome {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(pending.wait());
    });
    rx.recv_timeout(Duration::from_secs(secs)).expect("the execution finished in time")
}

/// One Wait state of `secs` seconds.
fn wait(secs: u64) -> StateMachine {
    StateMachine::compile(
        &json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": secs, "End": true}}}).to_string(),
    )
    .unwrap()
}

fn task(resource: &str) -> String {
    json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": true}}}).to_string()
}

/// One worker: the first execution waits on a future that only the second execution (queued
/// behind it) completes. Were the first holding the worker, neither could finish.
#[test]
fn an_async_handler_does_not_hold_the_worker() {
    let gate = Arc::new(tokio::sync::Notify::new());
    let (g1, g2) = (Arc::clone(&gate), Arc::clone(&gate));
    let waiter = StateMachine::builder()
        .async_handler(
            "arn:aws:states:::local:gate",
            AsyncFn(move |input: Value, _: TaskInfo| {
                let gate = Arc::clone(&g1);
                async move {
                    gate.notified().await;
                    Ok(json!({"opened": input["id"]}))
                }
            }),
        )
        .compile(&task("arn:aws:states:::local:gate"))
        .unwrap();
    let opener = StateMachine::builder()
        .handler(
            "arn:aws:states:::local:open",
            JsonFn(move |_| {
                g2.notify_one();
                Ok(json!("opened"))
            }),
        )
        .compile(&task("arn:aws:states:::local:open"))
        .unwrap();
    let rt = Runtime::new(1);
    let first = rt.execute_async(&waiter, br#"{"id":7}"#.to_vec());
    let second = rt.execute_async(&opener, b"{}".to_vec());
    assert_eq!(within(10, second).output.as_deref(), Some(r#""opened""#));
    assert_eq!(within(10, first).output.as_deref(), Some(r#"{"opened":7}"#));
    rt.shutdown();
}

/// One worker: an execution in a 2-second Wait (system clock) is suspended, so one queued
/// behind it runs and finishes while the first still waits.
#[test]
fn a_wait_does_not_hold_the_worker() {
    let slow = StateMachine::compile(
        r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":2,"Next":"P"},"P":{"Type":"Pass","Result":"slow","End":true}}}"#,
    )
    .unwrap();
    let quick =
        StateMachine::compile(r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Result":"quick","End":true}}}"#).unwrap();
    let rt = Runtime::new(1);
    let waiting = rt.execute_async(&slow, b"{}".to_vec());
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(within(10, rt.execute_async(&quick, b"{}".to_vec())).output.as_deref(), Some(r#""quick""#));
    let m = rt.metrics().snapshot();
    assert_eq!((m.executions_started, m.executions_succeeded), (2, 1), "the waiting execution is still in flight");
    assert_eq!(within(10, waiting).output.as_deref(), Some(r#""slow""#));
    rt.shutdown();
}

/// An asynchronous handler that fails its first attempt is retried after a back-off on the
/// system clock (itself a suspension); one that always fails is caught. A synchronous handler
/// that ran before the suspensions is not called again when the execution resumes.
#[test]
fn async_results_go_through_retry_and_catch_and_nothing_runs_twice() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let definition = json!({"StartAt": "Count", "States": {
        "Count": {"Type": "Task", "Resource": "arn:aws:states:::local:count", "ResultPath": "$.count", "Next": "Flaky"},
        "Flaky": {"Type": "Task", "Resource": "arn:aws:states:::local:flaky", "ResultPath": "$.flaky",
            "Retry": [{"ErrorEquals": ["Transient"], "IntervalSeconds": 1, "MaxAttempts": 2}], "Next": "Broken"},
        "Broken": {"Type": "Task", "Resource": "arn:aws:states:::local:broken", "ResultPath": "$.broken",
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.caught", "Next": "Done"}], "End": true},
        "Done": {"Type": "Succeed"}}});
    let machine = StateMachine::builder()
        .handler("arn:aws:states:::local:count", JsonFn(move |_| Ok(json!(counted.fetch_add(1, Ordering::SeqCst) + 1))))
        .async_handler(
            "arn:aws:states:::local:flaky",
            AsyncFn(|_: Value, task: TaskInfo| async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                match task.retry_count {
                    0 => Err(TaskError::new("Transient", "first attempt")),
                    n => Ok(json!({"attempt": n, "state": task.state})),
                }
            }),
        )
        .async_handler(
            "arn:aws:states:::local:broken",
            AsyncFn(|_: Value, _: TaskInfo| async { Err::<Value, _>(TaskError::new("Broken", "always")) }),
        )
        .compile(&definition.to_string())
        .unwrap();
    let rt = Runtime::new(2);
    let out = within(20, rt.execute_async(&machine, br#"{"id":1}"#.to_vec()));
    assert_eq!(out.status, Status::Succeeded, "{out:?}");
    let output: Value = serde_json::from_str(out.output.as_deref().unwrap()).unwrap();
    assert_eq!(
        output,
        json!({"id": 1, "count": 1, "flaky": {"attempt": 1, "state": "Flaky"},
            "caught": {"Error": "Broken", "Cause": "always"}})
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the synchronous handler ran once across the resumptions");
    rt.shutdown();
}

/// An asynchronous handler that takes a minute.
fn hang() -> impl aslrt::AsyncTaskHandler {
    AsyncFn(|_: Value, _: TaskInfo| async {
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok(json!("too late"))
    })
}

/// `definition` compiled with [`hang`] as `arn:aws:states:::local:hang`.
fn with_hang(definition: Value) -> StateMachine {
    StateMachine::builder()
        .async_handler("arn:aws:states:::local:hang", hang())
        .compile(&definition.to_string())
        .unwrap()
}

/// TimeoutSeconds drops an asynchronous handler's future that runs too long: States.Timeout.
#[test]
fn timeout_seconds_stops_an_async_handler() {
    let machine =
        with_hang(json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::local:hang",
                "TimeoutSeconds": 1, "End": true}}}));
    let rt = Runtime::new(1);
    let out = within(20, rt.execute_async(&machine, b"{}".to_vec()));
    assert_eq!((out.status, out.error.as_deref()), (Status::Failed, Some("States.Timeout")));
    rt.shutdown();
    // The synchronous API waits for the future on the calling thread, with the same limit,
    // also from inside a tokio runtime.
    let outside = machine.execute_json(&json!({}));
    assert_eq!(outside.error.as_deref(), Some("States.Timeout"));
    let inside = tokio::runtime::Runtime::new().unwrap().block_on(async { machine.execute_json(&json!({})) });
    assert_eq!(inside.error.as_deref(), Some("States.Timeout"));
}

/// A panic in an asynchronous handler fails the Task like a synchronous handler's panic.
#[test]
fn a_panicking_async_handler_fails_the_task() {
    let machine = StateMachine::builder()
        .async_handler(
            "arn:aws:states:::local:panic",
            AsyncFn(|_: Value, _: TaskInfo| async {
                if true {
                    panic!("handler bug");
                }
                Ok(json!(null))
            }),
        )
        .compile(&task("arn:aws:states:::local:panic"))
        .unwrap();
    // A handler that panics when called, before it has a future to return.
    struct PanicsAtCall;
    impl aslrt::AsyncTaskHandler for PanicsAtCall {
        fn invoke(&self, _: Value, _: TaskInfo) -> aslrt::TaskFuture {
            panic!("no future")
        }
    }
    let at_call = StateMachine::builder()
        .async_handler("arn:aws:states:::local:panic", PanicsAtCall)
        .compile(&task("arn:aws:states:::local:panic"))
        .unwrap();
    let rt = Runtime::new(1);
    for m in [&machine, &at_call] {
        let out = within(10, rt.execute_async(m, b"{}".to_vec()));
        assert_eq!((out.status, out.error.as_deref()), (Status::Failed, Some("States.TaskFailed")));
        assert_eq!(m.execute_json(&json!({})).error.as_deref(), Some("States.TaskFailed"));
    }
    rt.shutdown();
}

/// Cancelling an execution while it is suspended in a long Wait ends it ABORTED at once, and
/// shutdown_now aborts the ones still waiting; a plain shutdown lets them finish.
#[test]
fn suspended_executions_can_be_cancelled_drained_or_aborted() {
    let rt = Runtime::new(1);
    let long = rt.execute_async(&wait(60), b"{}".to_vec());
    std::thread::sleep(Duration::from_millis(100));
    long.cancel();
    assert_eq!(within(5, long).status, Status::Aborted);

    // The same through the Runtime, by the execution's id, from a thread without the handle.
    let long = rt.execute_async(&wait(60), b"{}".to_vec());
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(rt.in_flight(), 1);
    assert!(rt.cancel(long.id()));
    assert_eq!(within(5, long).status, Status::Aborted);
    assert_eq!(rt.in_flight(), 0);
    assert!(!rt.cancel(u64::MAX), "no such execution");

    let drained = rt.execute_async(&wait(1), br#"{"k":1}"#.to_vec());
    std::thread::sleep(Duration::from_millis(100));
    rt.shutdown();
    assert_eq!(within(5, drained).output.as_deref(), Some(r#"{"k":1}"#));

    let rt = Runtime::new(1);
    let aborted = rt.execute_async(&wait(60), b"{}".to_vec());
    std::thread::sleep(Duration::from_millis(100));
    rt.shutdown_now();
    assert_eq!(within(5, aborted).status, Status::Aborted);
}

/// Waits end in the order of their deadlines, not of their starts, each after its time, from
/// the runtime's one timer heap; a cancelled one does not hold up the others.
#[test]
fn waits_end_in_deadline_order_each_after_its_time() {
    let rt = Runtime::new(2);
    let (tx, rx) = mpsc::channel();
    let t0 = std::time::Instant::now();
    let cancelled = rt.execute_async(&wait(1), b"{}".to_vec());
    for secs in [3u64, 1, 2] {
        let tx = tx.clone();
        rt.submit(&wait(secs), format!("{{\"s\":{secs}}}").into_bytes(), move |o| {
            let _ = tx.send((secs, o.status, t0.elapsed()));
        });
    }
    cancelled.cancel();
    assert_eq!(within(5, cancelled).status, Status::Aborted);
    let ended: Vec<_> = (0..3).map(|_| rx.recv_timeout(Duration::from_secs(10)).expect("a Wait ended")).collect();
    assert_eq!(ended.iter().map(|e| e.0).collect::<Vec<_>>(), [1, 2, 3], "{ended:?}");
    for (secs, status, after) in ended {
        assert_eq!(status, Status::Succeeded);
        assert!(after >= Duration::from_secs(secs), "a {secs} s Wait ended after {after:?}");
    }
    assert_eq!(rt.in_flight(), 0);
}

/// Handlers' futures that wake themselves each time they are polled (they yield until another
/// execution sets a flag) do not keep a lone worker to themselves: the execution queued behind
/// them still runs, and all finish.
#[test]
fn a_future_that_keeps_waking_itself_does_not_hold_the_worker() {
    let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (seen, set) = (Arc::clone(&flag), Arc::clone(&flag));
    let machine = StateMachine::builder()
        .async_handler(
            "arn:aws:states:::local:spin",
            AsyncFn(move |input: Value, _: TaskInfo| {
                let seen = Arc::clone(&seen);
                async move {
                    while !seen.load(Ordering::SeqCst) {
                        tokio::task::yield_now().await;
                    }
                    Ok(input)
                }
            }),
        )
        .handler(
            "arn:aws:states:::local:set",
            JsonFn(move |input| {
                set.store(true, Ordering::SeqCst);
                Ok(input)
            }),
        )
        .compile(
            &json!({"StartAt": "Which", "States": {
                "Which": {"Type": "Choice", "Choices": [{"Variable": "$.set", "BooleanEquals": true, "Next": "Set"}],
                    "Default": "Spin"},
                "Spin": {"Type": "Task", "Resource": "arn:aws:states:::local:spin", "End": true},
                "Set": {"Type": "Task", "Resource": "arn:aws:states:::local:set", "End": true}}})
            .to_string(),
        )
        .unwrap();
    // Not dropped if the test fails: its worker would never stop.
    let rt = std::mem::ManuallyDrop::new(Runtime::new(1));
    let spinning: Vec<_> = (0..2).map(|_| rt.execute_async(&machine, br#"{"set":false}"#.to_vec())).collect();
    let setting = rt.execute_async(&machine, br#"{"set":true}"#.to_vec());
    assert_eq!(within(10, setting).status, Status::Succeeded);
    for run in spinning {
        assert_eq!(within(10, run).status, Status::Succeeded);
    }
    std::mem::ManuallyDrop::into_inner(rt).shutdown();
}

/// A timer due before the one the timer thread sleeps until wakes it: a 1 s Wait submitted
/// after a 30 s one ends after about 1 s, not with the other.
#[test]
fn a_shorter_wait_added_later_is_not_held_behind_a_longer_one() {
    let rt = Runtime::new(2);
    let long = rt.execute_async(&wait(30), b"{}".to_vec());
    // The timer thread is asleep until the 30 s Wait is due.
    std::thread::sleep(Duration::from_millis(200));
    let t0 = std::time::Instant::now();
    let short = rt.execute_async(&wait(1), b"{}".to_vec());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(short.wait()));
    let o = rx.recv_timeout(Duration::from_secs(10)).expect("the 1 s Wait was held behind the 30 s one");
    assert_eq!(o.status, Status::Succeeded);
    assert!(t0.elapsed() >= Duration::from_secs(1));
    long.cancel();
    assert_eq!(within(5, long).status, Status::Aborted);
}

/// An async handler that returns once `n` calls have started: it finishes only if that many
/// run at the same time.
fn rendezvous(n: usize) -> impl aslrt::AsyncTaskHandler {
    let arrived = Arc::new(AtomicUsize::new(0));
    let all_here = Arc::new(tokio::sync::Notify::new());
    AsyncFn(move |input: Value, _: TaskInfo| {
        let (arrived, all_here) = (Arc::clone(&arrived), Arc::clone(&all_here));
        async move {
            let notified = all_here.notified();
            if arrived.fetch_add(1, Ordering::SeqCst) + 1 >= n {
                all_here.notify_waiters();
            } else {
                notified.await;
            }
            Ok(json!({"item": input}))
        }
    })
}

/// Map items and Parallel branches that wait run concurrently: each call below returns only
/// once all of them have started, so run one after another they would never finish. Results
/// keep their order.
#[test]
fn map_items_and_parallel_branches_wait_concurrently() {
    let map = StateMachine::builder()
        .async_handler("arn:aws:states:::local:meet", rendezvous(5))
        .compile(
            &json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "ItemProcessor": {"StartAt": "T",
                "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::local:meet", "End": true}}}}}})
            .to_string(),
        )
        .unwrap();
    let parallel = StateMachine::builder()
        .async_handler("arn:aws:states:::local:meet", rendezvous(2))
        .compile(
            &json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::local:meet",
                    "Parameters": {"b": "A"}, "End": true}}},
                {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": "arn:aws:states:::local:meet",
                    "Parameters": {"b": "B"}, "End": true}}}]}}})
            .to_string(),
        )
        .unwrap();
    let rt = Runtime::new(1);
    let out = within(10, rt.execute_async(&map, b"[1,2,3,4,5]".to_vec()));
    assert_eq!(out.output.as_deref(), Some(r#"[{"item":1},{"item":2},{"item":3},{"item":4},{"item":5}]"#), "{out:?}");
    let out = within(10, rt.execute_async(&parallel, b"{}".to_vec()));
    assert_eq!(out.output.as_deref(), Some(r#"[{"item":{"b":"A"}},{"item":{"b":"B"}}]"#), "{out:?}");
    rt.shutdown();
}

/// MaxConcurrency bounds how many items wait at once: with 2, never more than 2 handler calls
/// are in progress, and all 6 items finish, in order.
#[test]
fn max_concurrency_bounds_the_items_in_flight() {
    let active = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (a, m) = (Arc::clone(&active), Arc::clone(&most));
    let machine = StateMachine::builder()
        .async_handler(
            "arn:aws:states:::local:slow",
            AsyncFn(move |input: Value, _: TaskInfo| {
                let (active, most) = (Arc::clone(&a), Arc::clone(&m));
                async move {
                    let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    // Later items finish first, so completions arrive out of order.
                    let ms = 120 - 20 * input.as_u64().unwrap_or(0);
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    active.fetch_sub(1, Ordering::SeqCst);
                    Ok(input)
                }
            }),
        )
        .compile(
            &json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 2, "End": true,
                "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task",
                    "Resource": "arn:aws:states:::local:slow", "End": true}}}}}})
            .to_string(),
        )
        .unwrap();
    let rt = Runtime::new(2);
    let out = within(20, rt.execute_async(&machine, b"[0,1,2,3,4,5]".to_vec()));
    assert_eq!(out.output.as_deref(), Some("[0,1,2,3,4,5]"), "{out:?}");
    assert_eq!(most.load(Ordering::SeqCst), 2);
    rt.shutdown();
}

/// Batches and streams of executions that may suspend run them as `execute_async` does: five
/// events whose handler returns only once all five have started finish on one worker, and
/// results keep event order.
#[test]
fn batches_and_streams_suspend_too() {
    let machine = |n| {
        StateMachine::builder()
            .async_handler("arn:aws:states:::local:meet", rendezvous(n))
            .compile(&task("arn:aws:states:::local:meet"))
            .unwrap()
    };
    let rt = Runtime::new(1);
    let events: Vec<Vec<u8>> = (1..=5).map(|i| i.to_string().into_bytes()).collect();
    let m = machine(5);
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|s| {
        s.spawn(|| tx.send(rt.execute_batch(&m, events.clone())));
        let out = rx.recv_timeout(Duration::from_secs(10)).expect("the batch finished");
        let outputs: Vec<_> = out.iter().map(|o| o.output.clone().unwrap_or_default()).collect();
        assert_eq!(outputs, (1..=5).map(|i| format!(r#"{{"item":{i}}}"#)).collect::<Vec<_>>());
    });
    let m = machine(3);
    let mut lines = Vec::new();
    let source = events.into_iter().enumerate().map(|(i, e)| (i as u64 + 1, e)).take(3);
    let accepted = rt
        .stream(
            &m,
            source,
            3,
            |id, e| format!("{id}:{}", e.output.unwrap_or("-")).into_bytes(),
            |_, b| {
                lines.push(String::from_utf8_lossy(b).into_owned());
                Ok(())
            },
        )
        .unwrap();
    assert_eq!(accepted, 3);
    assert_eq!(lines, [r#"1:{"item":1}"#, r#"2:{"item":2}"#, r#"3:{"item":3}"#]);
    rt.shutdown();
}

/// The execution's own time limit (its TimeoutSeconds, within the Express 5 minutes) also ends
/// a suspended execution: while it waits for a handler that outlives it, or at a Wait that
/// would.
#[test]
fn the_execution_time_limit_ends_a_suspended_execution() {
    let machine = with_hang(json!({"TimeoutSeconds": 1, "StartAt": "T", "States": {"T": {"Type": "Task",
                "Resource": "arn:aws:states:::local:hang", "End": true}}}));
    let waits = StateMachine::compile(
        &json!({"TimeoutSeconds": 1, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30, "End": true}}})
            .to_string(),
    )
    .unwrap();
    let rt = Runtime::new(1);
    for m in [&machine, &waits] {
        let out = within(10, rt.execute_async(m, b"{}".to_vec()));
        assert_eq!((out.status, out.error.as_deref()), (Status::TimedOut, Some("States.Timeout")), "{out:?}");
    }
    assert_eq!(rt.metrics().snapshot().executions_timed_out, 2);
    rt.shutdown();
}

/// A Task's TimeoutSeconds equal to the execution's, on the Task that starts it: the
/// execution's limit falls due first (it counts from the start, the Task's from the call), so
/// the execution times out, and no Catch on the Task turns that into a success. The timer of
/// the execution's limit runs a millisecond long so as not to fire early; the comparison with
/// the Task's limit must not count that millisecond (it once did, and the Task's limit won).
#[test]
fn the_execution_limit_wins_a_tie_with_the_first_tasks_timeout() {
    let machine = with_hang(json!({"TimeoutSeconds": 1, "StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::local:hang", "TimeoutSeconds": 1,
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
        "Caught": {"Type": "Pass", "End": true}}}));
    let rt = Runtime::new(1);
    for _ in 0..5 {
        let out = within(10, rt.execute_async(&machine, b"{}".to_vec()));
        assert_eq!((out.status, out.error.as_deref()), (Status::TimedOut, Some("States.Timeout")), "{out:?}");
    }
    rt.shutdown();
}

/// An execution's time limit is put among the timers only if it is still waiting a moment
/// after its first handler wait (most end long before): the ones that hang among many that
/// end at once still time out, none before its limit, and nothing is left in flight.
#[test]
fn time_limits_fire_among_executions_that_ended_before_them() {
    let definition = |resource: &str| {
        json!({"TimeoutSeconds": 1, "StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": true}}})
            .to_string()
    };
    let quick = StateMachine::builder()
        .async_handler(
            "arn:aws:states:::local:quick",
            AsyncFn(|input: Value, _: TaskInfo| async move {
                tokio::task::yield_now().await;
                Ok(input)
            }),
        )
        .compile(&definition("arn:aws:states:::local:quick"))
        .unwrap();
    let hanging = with_hang(serde_json::from_str(&definition("arn:aws:states:::local:hang")).unwrap());
    let rt = Runtime::new(2);
    let (tx, rx) = mpsc::channel();
    for i in 0..3_000 {
        let hangs = i % 1_000 == 500;
        let (tx, submitted) = (tx.clone(), std::time::Instant::now());
        rt.submit(if hangs { &hanging } else { &quick }, b"{}".to_vec(), move |out| {
            let _ = tx.send((hangs, submitted.elapsed(), out));
        });
    }
    drop(tx);
    let mut timed_out = 0;
    for _ in 0..3_000 {
        let (hangs, took, out) = rx.recv_timeout(Duration::from_secs(20)).expect("every execution ends");
        match hangs {
            true => {
                assert_eq!((out.status, out.error.as_deref()), (Status::TimedOut, Some("States.Timeout")), "{out:?}");
                // Its limit counts from its start, which came after its submission.
                assert!(took >= Duration::from_secs(1), "timed out {took:?} after its submission");
                timed_out += 1;
            }
            false => assert_eq!(out.status, Status::Succeeded, "{out:?}"),
        }
    }
    assert_eq!(timed_out, 3);
    assert_eq!((rt.in_flight(), rt.stuck_on_handlers()), (0, 0));
    rt.shutdown();
}

/// A run after a suspension sees the times the earlier run saw: a Wait until a timestamp
/// (whose length depends on the clock) is followed by a Task that runs once and replays, and
/// the execution goes on past both.
#[test]
fn a_timestamp_wait_replays_the_time_it_read() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let machine = StateMachine::builder()
        .handler("arn:aws:states:::local:count", JsonFn(move |_| Ok(json!(counted.fetch_add(1, Ordering::SeqCst) + 1))))
        .compile(
            &json!({"StartAt": "Until", "States": {
                "Until": {"Type": "Wait", "TimestampPath": "$.at", "Next": "Count"},
                "Count": {"Type": "Task", "Resource": "arn:aws:states:::local:count", "ResultPath": "$.n", "Next": "Again"},
                "Again": {"Type": "Wait", "Seconds": 1, "Next": "Done"},
                "Done": {"Type": "Pass", "End": true}}})
            .to_string(),
        )
        .unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let event = json!({"at": aslrt::internal::common::timestamp::format_millis(now + 300)});
    let rt = Runtime::new(1);
    let out = within(10, rt.execute_async(&machine, event.to_string().into_bytes()));
    assert_eq!(out.status, Status::Succeeded, "{out:?}");
    let output: Value = serde_json::from_str(out.output.as_deref().unwrap()).unwrap();
    assert_eq!(output["n"], 1);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    rt.shutdown();
}

/// A Parallel whose branch fails while another waits does not wait for it: the failure is
/// caught at once (the waiting branch's handler takes a minute).
#[test]
fn a_failing_branch_ends_the_parallel_without_waiting_for_the_others() {
    let machine = with_hang(json!({"StartAt": "P", "States": {
                "P": {"Type": "Parallel", "Branches": [
                    {"StartAt": "H", "States": {"H": {"Type": "Task", "Resource": "arn:aws:states:::local:hang", "End": true}}},
                    {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Broken", "Cause": "at once"}}}],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
                "Caught": {"Type": "Pass", "End": true}}}));
    let rt = Runtime::new(1);
    let out = within(10, rt.execute_async(&machine, b"{}".to_vec()));
    assert_eq!(out.output.as_deref(), Some(r#"{"Error":"Broken","Cause":"at once"}"#), "{out:?}");
    rt.shutdown();
}

/// The execution's time limit counts from its start, also when the run that first waits goes
/// on for a while after its first wait began: here one branch's handler hangs, then the other
/// branch's synchronous handler takes 0.8 s of the 1 s. The limit fires at 1 s. Read when the
/// first wait began and armed when the run ended (the bug ff4997b fixed), it fired at 1.8 s or
/// later.
#[test]
fn a_time_limit_set_after_a_slow_branch_still_counts_from_the_start() {
    let machine = StateMachine::builder()
        .async_handler("arn:aws:states:::local:hang", hang())
        .handler(
            "arn:aws:states:::local:slow",
            JsonFn(|_| {
                std::thread::sleep(Duration::from_millis(800));
                Ok(json!("slow"))
            }),
        )
        .compile(
            &json!({"TimeoutSeconds": 1, "StartAt": "P", "States": {
                "P": {"Type": "Parallel", "End": true, "Branches": [
                    {"StartAt": "H", "States": {"H": {"Type": "Task", "Resource": "arn:aws:states:::local:hang", "End": true}}},
                    {"StartAt": "S", "States": {"S": {"Type": "Task", "Resource": "arn:aws:states:::local:slow", "End": true}}}]}}})
            .to_string(),
        )
        .unwrap();
    // One worker: both branches run in the execution's first run, one after the other.
    let rt = Runtime::new(1);
    let submitted = std::time::Instant::now();
    let out = within(10, rt.execute_async(&machine, b"{}".to_vec()));
    let took = submitted.elapsed();
    assert_eq!((out.status, out.error.as_deref()), (Status::TimedOut, Some("States.Timeout")), "{out:?}");
    assert!(took >= Duration::from_secs(1), "timed out {took:?} after its submission");
    assert!(took < Duration::from_millis(1_750), "timed out {took:?} after its submission, past its 1 s");
    rt.shutdown();
}

/// A synchronous handler that answers later on some calls ([`aslrt::TaskAnswer::Later`]):
/// answered now, the execution goes straight on; answered later, it suspends without holding
/// the only worker (ten executions' futures are all pending at once), and the synchronous API
/// waits for the answer in place.
#[test]
fn a_handler_that_answers_later_holds_no_worker() {
    struct Sometimes {
        pending: Arc<AtomicUsize>,
    }
    impl aslrt::TaskHandler for Sometimes {
        fn invoke<'a>(
            &self,
            input: aslrt::Value<'a>,
            _: &aslrt::TaskContext<'a>,
        ) -> Result<aslrt::Value<'a>, TaskError> {
            Ok(input)
        }
        fn start<'a>(&self, input: aslrt::Value<'a>, ctx: &aslrt::TaskContext<'a>) -> aslrt::TaskAnswer<'a> {
            if input.get("now").is_some() {
                return aslrt::TaskAnswer::Now(self.invoke(input, ctx));
            }
            let pending = Arc::clone(&self.pending);
            let id = input.get("id").and_then(|v| v.as_integer()).unwrap_or(-1);
            aslrt::TaskAnswer::Later(Box::pin(async move {
                // Every one of the ten waits until all ten are pending: only possible if none
                // holds the one worker.
                pending.fetch_add(1, Ordering::SeqCst);
                for _ in 0..5000 {
                    if pending.load(Ordering::SeqCst) >= 10 {
                        return Ok(json!({"later": id}));
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Err(TaskError::new("Stuck", "the answers were not all pending at once"))
            }))
        }
        fn may_defer(&self) -> bool {
            true
        }
    }
    let handler = Sometimes { pending: Arc::new(AtomicUsize::new(0)) };
    let machine = StateMachine::builder()
        .handler("arn:aws:states:::local:t", handler)
        .compile(&task("arn:aws:states:::local:t"))
        .unwrap();
    assert!(machine.may_suspend());
    let rt = Runtime::new(1);
    let events: Vec<Vec<u8>> = (0..10).map(|i| format!("{{\"id\":{i}}}").into_bytes()).collect();
    let outcomes = rt.execute_batch(&machine, events);
    for (i, o) in outcomes.iter().enumerate() {
        assert_eq!(o.output.as_deref(), Some(format!("{{\"later\":{i}}}").as_str()), "{o:?}");
    }
    let now = within(10, rt.execute_async(&machine, br#"{"now":1}"#.to_vec()));
    assert_eq!(now.output.as_deref(), Some(r#"{"now":1}"#));
    // The synchronous API waits for the later answer on the calling thread (the counter is
    // past ten already, so it answers at once).
    let later = machine.execute_json(&json!({"id": 42}));
    assert_eq!(later.output.as_deref(), Some(r#"{"later":42}"#));
    rt.shutdown();
}

/// `stuck_on_handlers` counts executions, not waits, and only those nothing but an answer can
/// move on: two executions each with two Parallel branches waiting on answers count 2; one in a
/// Wait on the system clock does not count; once the answers come, none is stuck.
#[test]
fn stuck_on_handlers_counts_executions_waiting_only_on_answers() {
    let gate = Arc::new(tokio::sync::Notify::new());
    let g = Arc::clone(&gate);
    let answer = AsyncFn(move |input: Value, _: TaskInfo| {
        let g = Arc::clone(&g);
        async move {
            g.notified().await;
            Ok(input)
        }
    });
    let task = json!({"Type": "Task", "Resource": "arn:aws:states:::local:wait", "End": true});
    let parallel = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "A", "States": {"A": task}}, {"StartAt": "B", "States": {"B": task}}]}}});
    let machine = StateMachine::builder()
        .async_handler("arn:aws:states:::local:wait", answer)
        .compile(&parallel.to_string())
        .unwrap();
    let sleeper = StateMachine::compile(
        &json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 2, "End": true}}}).to_string(),
    )
    .unwrap();
    let rt = Runtime::new(2);
    let a = rt.execute_async(&machine, b"{}".to_vec());
    let b = rt.execute_async(&machine, b"{}".to_vec());
    let sleeping = rt.execute_async(&sleeper, b"{}".to_vec());
    let eventually = |want: usize| {
        for _ in 0..500 {
            if rt.stuck_on_handlers() == want {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    };
    assert!(eventually(2), "stuck: {}", rt.stuck_on_handlers());
    // Answer every pending future until both executions are done.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send((a.wait(), b.wait()));
    });
    let (a, b) = loop {
        gate.notify_waiters();
        if let Ok(done) = rx.recv_timeout(Duration::from_millis(20)) {
            break done;
        }
    };
    assert_eq!((a.status, b.status), (Status::Succeeded, Status::Succeeded));
    assert!(eventually(0), "stuck: {}", rt.stuck_on_handlers());
    assert_eq!(within(10, sleeping).status, Status::Succeeded);
    rt.shutdown();
}

/// A minimal HTTP/1.1 server on 127.0.0.1 (a thread per connection): it answers every request
/// with a JSON body naming the path it was asked for.
fn http_server() -> std::net::SocketAddr {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a local port");
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                let mut request = String::new();
                if reader.read_line(&mut request).is_err() {
                    return;
                }
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let body = json!({"path": path}).to_string();
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = reader.get_mut().write_all(answer.as_bytes());
            });
        }
    });
    addr
}

/// An async handler does real network I/O with `tokio::net` (the runtime that polls handlers
/// has the IO driver): an HTTP GET to a local server, 1,000 executions in flight at once.
#[test]
fn async_handlers_do_http_over_tokio_net_with_a_thousand_in_flight() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = http_server();
    let machine = StateMachine::builder()
        .async_handler(
            "arn:aws:states:::local:http",
            AsyncFn(move |input: Value, _: TaskInfo| async move {
                let fail = |e: std::io::Error| TaskError::new("Http.Error", e.to_string());
                let mut stream = tokio::net::TcpStream::connect(addr).await.map_err(fail)?;
                let request =
                    format!("GET /orders/{} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", input["id"]);
                stream.write_all(request.as_bytes()).await.map_err(fail)?;
                let mut answer = String::new();
                stream.read_to_string(&mut answer).await.map_err(fail)?;
                let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
                serde_json::from_str(body).map_err(|e| TaskError::new("Http.BadBody", e.to_string()))
            }),
        )
        .compile(&task("arn:aws:states:::local:http"))
        .unwrap();
    let rt = Runtime::new(2);
    let pending: Vec<aslrt::Pending> =
        (0..1000).map(|i| rt.execute_async(&machine, format!("{{\"id\":{i}}}").into_bytes())).collect();
    for (i, p) in pending.into_iter().enumerate() {
        let out = within(60, p);
        assert_eq!(out.status, Status::Succeeded, "{i}: {out:?}");
        assert_eq!(out.output.as_deref(), Some(format!(r#"{{"path":"/orders/{i}"}}"#).as_str()));
    }
}

/// A panic in an async handler's future fails its Task with the panic's message in the cause.
#[test]
fn an_async_handlers_panic_message_is_in_the_cause() {
    let machine = StateMachine::builder()
        .async_handler(
            "arn:aws:states:::local:boom",
            AsyncFn(|_: Value, _: TaskInfo| async move {
                tokio::task::yield_now().await;
                panic!("the upstream answered 503");
                #[allow(unreachable_code)]
                Ok(Value::Null)
            }),
        )
        .compile(&task("arn:aws:states:::local:boom"))
        .unwrap();
    let rt = Runtime::new(1);
    let out = within(20, rt.execute_async(&machine, b"{}".to_vec()));
    assert_eq!(out.error.as_deref(), Some("States.TaskFailed"));
    assert_eq!(
        out.cause.as_deref(),
        Some("the task handler for 'arn:aws:states:::local:boom' panicked: the upstream answered 503")
    );
    // The synchronous API drives the future on the calling thread: the same cause.
    let run = machine.execute_json(&json!({}));
    assert_eq!(run.cause.as_deref(), out.cause.as_deref());
}

/// Issue #18: handlers on JSON text, synchronous and asynchronous, ready at once or later,
/// under a `Runtime` and in the synchronous API, give the same outcomes as handlers on values;
/// an answer that is not JSON fails the Task with `States.TaskFailed`, which Catch takes.
#[test]
fn handlers_on_json_text_answer_as_handlers_on_values_do() {
    use aslrt::{AsyncTextFn, TextFn};
    let definition = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::aslrt:t", "ResultPath": "$.r", "Next": "Bad"},
        "Bad": {"Type": "Task", "Resource": "arn:aws:states:::aslrt:bad", "End": true,
                "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.caught", "Next": "Done"}]},
        "Done": {"Type": "Pass", "End": true}
    }})
    .to_string();
    let answer = |input: &str| format!(r#"{{"len":{},"echo":{input}}}"#, input.len());
    let sync = StateMachine::builder()
        .handler("arn:aws:states:::aslrt:t", TextFn(move |input: &str| Ok::<_, TaskError>(answer(input))))
        .handler("arn:aws:states:::aslrt:bad", TextFn(|_: &str| Ok::<_, TaskError>("{oops")))
        .compile(&definition)
        .unwrap();
    let build = |yields: bool| {
        StateMachine::builder()
            .async_handler(
                "arn:aws:states:::aslrt:t",
                AsyncTextFn(move |input: String, _| async move {
                    if yields {
                        tokio::task::yield_now().await;
                    }
                    Ok::<_, TaskError>(answer(&input))
                }),
            )
            .async_handler(
                "arn:aws:states:::aslrt:bad",
                AsyncTextFn(move |_, _| async move {
                    if yields {
                        tokio::task::yield_now().await;
                    }
                    Ok::<_, TaskError>("{oops".to_owned())
                }),
            )
            .compile(&definition)
            .unwrap()
    };
    let event = br#"{"id":"e-1","n":[1,2.5,"x"]}"#;
    let expected = json!({
        "id": "e-1", "n": [1, 2.5, "x"], "r": {"len": 28, "echo": {"id": "e-1", "n": [1, 2.5, "x"]}},
        "caught": {"Error": "States.TaskFailed",
                   "Cause": "the task handler for 'arn:aws:states:::aslrt:bad' replied with invalid JSON: expected a member name in double quotes (line 1, column 2)"}
    });
    let rt = Runtime::new(2);
    let outcomes = [
        ("sync TextFn, synchronous API", sync.execute_json(&serde_json::from_slice(event).unwrap())),
        ("sync TextFn, Runtime", within(10, rt.execute_async(&sync, event.to_vec()))),
        ("AsyncTextFn ready at once, Runtime", within(10, rt.execute_async(&build(false), event.to_vec()))),
        ("AsyncTextFn that suspends, Runtime", within(10, rt.execute_async(&build(true), event.to_vec()))),
        ("AsyncTextFn, synchronous API", build(true).execute_json(&serde_json::from_slice(event).unwrap())),
    ];
    for (what, o) in outcomes {
        assert_eq!(o.status, Status::Succeeded, "{what}: {o:?}");
        let got: Value = serde_json::from_str(o.output.as_deref().unwrap()).unwrap();
        assert_eq!(got, expected, "{what}");
    }
}

/// A Task whose synchronous handler holds its worker until the test lets it go (a message
/// on the sender), once per execution; the receiver hears each call as it begins.
fn blocking() -> (StateMachine, mpsc::Sender<()>, mpsc::Receiver<()>) {
    let (release, gate) = mpsc::channel::<()>();
    let (entered_tx, entered) = mpsc::channel::<()>();
    let (gate, entered_tx) = (std::sync::Mutex::new(gate), std::sync::Mutex::new(entered_tx));
    let machine = StateMachine::builder()
        .handler(
            "arn:aws:states:::aslrt:block",
            aslrt::TextFn(move |input: &str| {
                let _ = entered_tx.lock().unwrap().send(());
                let _ = gate.lock().unwrap().recv_timeout(Duration::from_secs(20));
                Ok::<_, TaskError>(input.to_owned())
            }),
        )
        .compile(&task("arn:aws:states:::aslrt:block"))
        .unwrap();
    (machine, release, entered)
}

/// An event of exactly 1,000 bytes, `{"i":i,"pad":"xx…"}` (for `i` < 10).
fn padded(i: usize) -> Vec<u8> {
    format!(r#"{{"i":{i},"pad":"{}"}}"#, "x".repeat(984)).into_bytes()
}

/// A Task whose handler answers with its input once `gate` gives it a permit.
fn gated(gate: &Arc<tokio::sync::Semaphore>) -> StateMachine {
    let g = Arc::clone(gate);
    StateMachine::builder()
        .async_handler(
            "arn:aws:states:::aslrt:gate",
            AsyncFn(move |input: Value, _: TaskInfo| {
                let gate = Arc::clone(&g);
                async move {
                    gate.acquire().await.map_err(|_| TaskError::new("Closed", "gate closed"))?.forget();
                    Ok(input)
                }
            }),
        )
        .compile(&task("arn:aws:states:::aslrt:gate"))
        .unwrap()
}

/// Issue #18: a bound on executions in flight. `execute_async` and `submit` block at it until
/// one finishes; `try_execute_async` and `try_submit` refuse at once with `ErrorKind::Busy`.
#[test]
fn max_in_flight_blocks_submitters_or_refuses_them() {
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let machine = gated(&gate);
    let rt = Arc::new(Runtime::builder().threads(2).max_in_flight(3).build().unwrap());
    let held: Vec<_> = (0..3).map(|i| rt.execute_async(&machine, format!(r#"{{"i":{i}}}"#).into_bytes())).collect();
    let busy = rt.try_execute_async(&machine, b"{}".to_vec()).unwrap_err();
    assert!(matches!(busy.kind(), aslrt::ErrorKind::Busy(_)), "{busy}");
    assert_eq!(
        busy.to_string(),
        "the runtime is busy: 3 executions are in flight, the most this runtime allows (max_in_flight 3)"
    );
    assert!(rt.try_submit(&machine, b"{}".to_vec(), |_| panic!("not run")).is_err());
    // A blocking submitter waits for room.
    let (tx, rx) = mpsc::channel();
    let (rt2, m2) = (Arc::clone(&rt), machine.clone());
    std::thread::spawn(move || {
        let pending = rt2.execute_async(&m2, br#"{"i":3}"#.to_vec());
        tx.send(pending).unwrap();
    });
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err(), "execute_async returned past the bound");
    gate.add_permits(1);
    let fourth = rx.recv_timeout(Duration::from_secs(10)).expect("room was made");
    gate.add_permits(3);
    for (i, p) in held.into_iter().chain([fourth]).enumerate() {
        let o = within(10, p);
        assert_eq!(o.status, Status::Succeeded, "{o:?}");
        assert_eq!(o.output.as_deref(), Some(format!(r#"{{"i":{i}}}"#).as_str()));
    }
    rt.set_max_in_flight(None);
    assert!(rt.try_execute_async(&machine, b"{}".to_vec()).is_ok());
    gate.add_permits(1);
}

/// Issue #18: async code awaits room. On a tokio runtime's thread, where `execute_async` lets
/// executions past the bound, `execute_when_room` and `submit_when_room` wait for it without
/// blocking the thread: no more than the bound ever run, and every execution ends.
#[test]
fn execute_when_room_holds_the_bound_on_a_tokio_thread() {
    let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (r, m) = (Arc::clone(&running), Arc::clone(&most));
    let machine = StateMachine::builder()
        .async_handler(
            "arn:aws:states:::aslrt:slow",
            AsyncFn(move |input: Value, _: TaskInfo| {
                let (running, most) = (Arc::clone(&r), Arc::clone(&m));
                async move {
                    most.fetch_max(running.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(3)).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    Ok(input)
                }
            }),
        )
        .compile(&task("arn:aws:states:::aslrt:slow"))
        .unwrap();
    let rt = Runtime::builder().threads(2).max_in_flight(3).build().unwrap();
    let host = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (done_tx, done_rx) = mpsc::channel();
    let (pending, ticks) = host.block_on(async {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        // Runs only while the submitting task waits without holding the thread.
        let ticker = {
            let stop = Arc::clone(&stop);
            tokio::spawn(async move {
                let mut ticks = 0;
                while !stop.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    ticks += 1;
                }
                ticks
            })
        };
        let mut pending = Vec::new();
        let submit_all = async {
            for i in 0..40 {
                let event = format!(r#"{{"i":{i}}}"#).into_bytes();
                if i % 2 == 0 {
                    pending.push(rt.execute_when_room(&machine, event).await);
                } else {
                    let tx = done_tx.clone();
                    rt.submit_when_room(&machine, event, move |o| tx.send((i, o)).unwrap()).await;
                }
                assert!(rt.in_flight() <= 3, "{} in flight past the bound of 3", rt.in_flight());
            }
        };
        // A lost wake-up fails the test rather than hanging it.
        tokio::time::timeout(Duration::from_secs(30), submit_all).await.expect("room came for every submission");
        stop.store(true, Ordering::SeqCst);
        (pending, ticker.await.unwrap())
    });
    assert!(ticks > 0, "the submitting task held its thread while it waited");
    for (i, p) in pending.into_iter().enumerate() {
        let o = within(10, p);
        assert_eq!(o.output.as_deref(), Some(format!(r#"{{"i":{}}}"#, 2 * i).as_str()), "{o:?}");
    }
    for _ in 0..20 {
        let (i, o) = done_rx.recv_timeout(Duration::from_secs(10)).expect("every submission ends");
        assert_eq!(o.output.as_deref(), Some(format!(r#"{{"i":{i}}}"#).as_str()), "{o:?}");
    }
    assert!(most.load(Ordering::SeqCst) <= 3, "{} handlers ran at once", most.load(Ordering::SeqCst));
}

/// Issue #18: `execute_when_room` dropped while it waits for room admits nothing: once the
/// execution in flight ends, the bound lets the next one in.
#[test]
fn a_dropped_wait_for_room_admits_nothing() {
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let machine = gated(&gate);
    let rt = Runtime::builder().threads(1).max_in_flight(1).build().unwrap();
    let held = rt.execute_async(&machine, br#"{"i":0}"#.to_vec());
    let host = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let waited = host.block_on(async {
        tokio::time::timeout(Duration::from_millis(200), rt.execute_when_room(&machine, br#"{"i":9}"#.to_vec())).await
    });
    assert!(waited.is_err(), "admitted past the bound");
    assert_eq!(rt.in_flight(), 1);
    gate.add_permits(1);
    assert_eq!(within(10, held).status, Status::Succeeded);
    let next = rt.try_execute_async(&machine, br#"{"i":1}"#.to_vec()).expect("the dropped wait took no room");
    gate.add_permits(1);
    assert_eq!(within(10, next).output.as_deref(), Some(r#"{"i":1}"#));
}

/// Issue #18: a task awaiting room is woken when `set_max_in_flight` raises the bound, and at
/// the bound on bytes queued, as soon as a start takes the queue under it.
#[test]
fn a_task_awaiting_room_wakes_when_there_is_room() {
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let machine = gated(&gate);
    let host = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let rt = Arc::new(Runtime::builder().threads(1).max_in_flight(1).build().unwrap());
    let held = rt.execute_async(&machine, br#"{"i":0}"#.to_vec());
    let (raised, rt2) = (Arc::new(std::sync::atomic::AtomicBool::new(false)), Arc::clone(&rt));
    let r = Arc::clone(&raised);
    let raiser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        r.store(true, Ordering::SeqCst);
        rt2.set_max_in_flight(Some(2));
    });
    let second = host.block_on(async {
        tokio::time::timeout(Duration::from_secs(10), rt.execute_when_room(&machine, br#"{"i":1}"#.to_vec())).await
    });
    let second = second.expect("the raised bound woke the waiting task");
    assert!(raised.load(Ordering::SeqCst), "admitted before the bound was raised");
    raiser.join().unwrap();
    gate.add_permits(2);
    assert_eq!(within(10, held).status, Status::Succeeded);
    assert_eq!(within(10, second).output.as_deref(), Some(r#"{"i":1}"#));

    // One worker held by the first event; the queue's bound holds two more of these events
    // (1,000 bytes and 512 each): the next one waits until a start takes the queue under it.
    let (blocking, release, entered) = blocking();
    let rt = Runtime::builder().threads(1).max_queued_bytes(3_024).build().unwrap();
    let first = rt.execute_async(&blocking, padded(0));
    entered.recv_timeout(Duration::from_secs(10)).unwrap();
    let queued: Vec<_> = (1..3).map(|i| rt.execute_async(&blocking, padded(i))).collect();
    assert!(rt.try_execute_async(&blocking, padded(9)).is_err(), "the queue is at its bound");
    let (started, s) = (Arc::new(std::sync::atomic::AtomicBool::new(false)), mpsc::Sender::clone(&release));
    let st = Arc::clone(&started);
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        st.store(true, Ordering::SeqCst);
        // The worker takes the next event: 1,512 bytes queued, under the bound, over half.
        s.send(()).unwrap();
    });
    let fourth = host.block_on(async {
        tokio::time::timeout(Duration::from_secs(10), rt.execute_when_room(&blocking, padded(3))).await
    });
    let fourth = fourth.expect("a start under the bound woke the waiting task");
    assert!(started.load(Ordering::SeqCst), "admitted while the queue was at its bound");
    releaser.join().unwrap();
    for _ in 0..3 {
        release.send(()).unwrap();
    }
    for (i, p) in [first].into_iter().chain(queued).chain([fourth]).enumerate() {
        let o = within(10, p);
        assert!(o.output.as_deref().unwrap().starts_with(&format!(r#"{{"i":{i},"#)), "{o:?}");
    }
}

/// Issue #18: a bound on the bytes of executions submitted and not yet started. While every
/// worker is busy, submitters block at it (the `try_` forms refuse with `ErrorKind::Busy`)
/// until a worker starts one; then every execution runs.
#[test]
fn max_queued_bytes_holds_a_burst_in_the_submitter() {
    let (machine, release, entered) = blocking();
    assert_eq!(padded(1).len(), 1_000);
    // Each queued execution counts its 1,000 bytes and 512: the bound holds three.
    let rt = Arc::new(Runtime::builder().threads(1).max_queued_bytes(4_096).build().unwrap());
    let (tx, rx) = mpsc::channel();
    let first = rt.execute_async(&machine, padded(0));
    // The worker has taken the first one: the queue is empty again.
    entered.recv_timeout(Duration::from_secs(10)).unwrap();
    let queued: Vec<_> = (1..4).map(|i| rt.execute_async(&machine, padded(i))).collect();
    let busy = rt.try_submit(&machine, padded(9), |_| panic!("not run")).unwrap_err();
    assert!(matches!(busy.kind(), aslrt::ErrorKind::Busy(_)), "{busy}");
    assert_eq!(
        busy.to_string(),
        "the runtime is busy: executions not yet started hold 4,536 bytes, the most this runtime queues \
         (max_queued_bytes 4,096)"
    );
    let rt2 = Arc::clone(&rt);
    let m2 = machine.clone();
    std::thread::spawn(move || {
        let pending = rt2.execute_async(&m2, padded(4));
        tx.send(pending).unwrap();
    });
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err(), "execute_async returned past the bound");
    // Starting the second leaves 3,024 bytes queued, under the bound: the submitter is let in.
    release.send(()).unwrap();
    let fifth = rx.recv_timeout(Duration::from_secs(10)).expect("room was made");
    for _ in 0..4 {
        release.send(()).unwrap();
    }
    for (i, p) in [first].into_iter().chain(queued).chain([fifth]).enumerate() {
        let o = within(10, p);
        assert_eq!(o.status, Status::Succeeded, "{o:?}");
        assert!(o.output.as_deref().unwrap().starts_with(&format!(r#"{{"i":{i},"#)), "{o:?}");
    }
}

/// Issue #18: with no `max_queued_bytes` (the default), nothing is refused or held for the
/// bytes queued: 64 MiB of events queued behind a busy worker are all admitted at once.
#[test]
fn without_a_queue_bound_a_burst_is_never_refused() {
    use aslrt::TextFn;
    let (release, gate) = mpsc::channel::<()>();
    let gate = std::sync::Mutex::new(gate);
    let machine = StateMachine::builder()
        .handler(
            "arn:aws:states:::aslrt:block",
            TextFn(move |input: &str| {
                let _ = gate.lock().unwrap().recv_timeout(Duration::from_secs(20));
                Ok::<_, TaskError>(input.to_owned())
            }),
        )
        .compile(&task("arn:aws:states:::aslrt:block"))
        .unwrap();
    let rt = Runtime::new(1);
    let event = format!(r#"{{"pad":"{}"}}"#, "x".repeat(1 << 20)).into_bytes();
    let ids: Vec<u64> =
        (0..64).map(|_| rt.try_submit(&machine, event.clone(), |_| {}).expect("no bound: never busy")).collect();
    assert_eq!(ids.len(), 64);
    for _ in 0..64 {
        release.send(()).unwrap();
    }
}

/// Issue #18: handlers' futures run on the host's tokio runtime when it passes its handle.
#[test]
fn handlers_run_on_the_hosts_tokio_runtime() {
    let host = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("host-runtime")
        .enable_all()
        .build()
        .unwrap();
    let machine = StateMachine::builder()
        .async_handler(
            "arn:aws:states:::aslrt:where",
            AsyncFn(|_: Value, _: TaskInfo| async {
                tokio::task::yield_now().await;
                tokio::time::sleep(Duration::from_millis(5)).await;
                Ok(json!(std::thread::current().name().unwrap_or("?")))
            }),
        )
        .compile(&task("arn:aws:states:::aslrt:where"))
        .unwrap();
    let rt = Runtime::builder().threads(2).handler_runtime(host.handle().clone()).build().unwrap();
    let o = within(10, rt.execute_async(&machine, b"{}".to_vec()));
    assert_eq!(o.output.as_deref(), Some(r#""host-runtime""#), "{o:?}");
    rt.shutdown();
}

/// Issue #18: on the system clock, an execution that suspends at async Tasks (on values and on
/// text), a Wait, a Parallel whose branches suspend, and a retried Task gives exactly what one
/// synchronous run gives with the same seed: variables assigned across suspensions, random
/// draws (`States.UUID`), counters.
#[test]
fn resuming_at_each_state_gives_what_one_run_gives() {
    use aslrt::AsyncTextFn;
    let tries = Arc::new(AtomicUsize::new(0));
    let t = Arc::clone(&tries);
    let definition = json!({"StartAt": "Start", "States": {
        "Start": {"Type": "Pass", "Assign": {"count": 0}, "Next": "Fetch"},
        "Fetch": {"Type": "Task", "Resource": "arn:aws:states:::aslrt:fetch", "ResultPath": "$.fetched",
                  "ResultSelector": {"id.$": "States.UUID()", "got.$": "$.n"}, "Assign": {"count.$": "States.MathAdd($count, 1)"},
                  "Next": "Nap"},
        "Nap": {"Type": "Wait", "Seconds": 1, "Next": "Both"},
        "Both": {"Type": "Parallel", "ResultPath": "$.both", "Next": "Flaky", "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::aslrt:text", "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": "arn:aws:states:::aslrt:fetch", "End": true}}}
        ]},
        "Flaky": {"Type": "Task", "Resource": "arn:aws:states:::aslrt:flaky", "ResultPath": "$.flaky",
                  "Retry": [{"ErrorEquals": ["Flake"], "IntervalSeconds": 1, "MaxAttempts": 2}], "Next": "End"},
        "End": {"Type": "Pass", "Parameters": {"count.$": "$count", "uuid.$": "States.UUID()", "all.$": "$"}, "End": true}
    }})
    .to_string();
    let machine = |suspends: bool| {
        let t = Arc::clone(&t);
        StateMachine::builder()
            .seed(Some(42))
            .async_handler(
                "arn:aws:states:::aslrt:fetch",
                AsyncFn(move |input: Value, _: TaskInfo| async move {
                    if suspends {
                        tokio::task::yield_now().await;
                    }
                    Ok(json!({"n": input.to_string().len()}))
                }),
            )
            .async_handler(
                "arn:aws:states:::aslrt:text",
                AsyncTextFn(move |input: String, _| async move {
                    if suspends {
                        tokio::task::yield_now().await;
                    }
                    Ok::<_, TaskError>(format!(r#"{{"len":{}}}"#, input.len()))
                }),
            )
            .async_handler(
                "arn:aws:states:::aslrt:flaky",
                AsyncFn(move |_: Value, info: TaskInfo| {
                    t.fetch_add(1, Ordering::Relaxed);
                    async move {
                        tokio::task::yield_now().await;
                        match info.retry_count {
                            0 => Err(TaskError::new("Flake", "first try")),
                            n => Ok(json!({"retries": n})),
                        }
                    }
                }),
            )
            .compile(&definition)
            .unwrap()
    };
    let event = json!({"order": "o-1", "items": [1, 2, 3]});
    let one_run = machine(false).execute_json(&event);
    assert_eq!(one_run.status, Status::Succeeded, "{one_run:?}");
    // The Wait and the back-off are long enough to pack the execution by default; the same
    // again with packing off.
    for pack in [Some(Runtime::builder().build().unwrap()), None] {
        let rt = pack.unwrap_or_else(|| Runtime::builder().pack_waits_after(None).build().unwrap());
        let resumed = within(20, rt.execute_async(&machine(true), event.to_string().into_bytes()));
        assert_eq!(resumed, one_run);
        let out: Value = serde_json::from_str(resumed.output.as_deref().unwrap()).unwrap();
        assert_eq!(out["count"], json!(1));
        assert_eq!(out["all"]["flaky"], json!({"retries": 1}));
    }
    // Each run called the flaky handler twice (a failure, then the retry), never again.
    assert_eq!(tries.load(Ordering::Relaxed), 6);
}

/// Review of issue #18: a handler's future that starts an execution on the same runtime at
/// its bound is not blocked (it would hold up the very thread that makes room).
#[test]
fn submitting_from_a_handlers_future_at_the_bound_does_not_deadlock() {
    static RT: std::sync::OnceLock<Runtime> = std::sync::OnceLock::new();
    static INNER: std::sync::OnceLock<StateMachine> = std::sync::OnceLock::new();
    let rt = RT.get_or_init(|| Runtime::builder().threads(2).max_in_flight(1).build().unwrap());
    INNER
        .get_or_init(|| StateMachine::compile(r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#).unwrap());
    let outer = StateMachine::builder()
        .async_handler(
            "arn:aws:states:::aslrt:nested",
            AsyncFn(|input: Value, _: TaskInfo| async move {
                tokio::task::yield_now().await;
                let inner = RT.get().unwrap().execute_async(INNER.get().unwrap(), input.to_string().into_bytes());
                let o = inner.await;
                Ok(json!({"inner": o.status.as_str()}))
            }),
        )
        .compile(&task("arn:aws:states:::aslrt:nested"))
        .unwrap();
    let o = within(10, rt.execute_async(&outer, b"{}".to_vec()));
    assert_eq!(o.output.as_deref(), Some(r#"{"inner":"SUCCEEDED"}"#), "{o:?}");
}

/// Review of issue #18: when the host's tokio runtime shuts down under a waiting execution,
/// the execution ends (ABORTED) instead of waiting for ever, and the runtime shuts down.
#[test]
fn a_wait_dropped_with_the_hosts_runtime_ends_the_execution() {
    let host = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let machine = StateMachine::builder()
        .async_handler(
            "arn:aws:states:::aslrt:slow",
            AsyncFn(|_: Value, _: TaskInfo| async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok(json!(null))
            }),
        )
        .compile(&task("arn:aws:states:::aslrt:slow"))
        .unwrap();
    let rt = Runtime::builder().threads(1).handler_runtime(host.handle().clone()).build().unwrap();
    let pending = rt.execute_async(&machine, b"{}".to_vec());
    let waited = std::time::Instant::now();
    while rt.stuck_on_handlers() == 0 {
        assert!(waited.elapsed() < Duration::from_secs(10), "the execution never suspended");
        std::thread::sleep(Duration::from_millis(5));
    }
    host.shutdown_background();
    let o = within(10, pending);
    assert_eq!(o.status, Status::Aborted, "{o:?}");
    rt.shutdown();
}

/// `Runtime::submit_unless`: a submission waiting for room at the queue's bound gives up once
/// its `stop` is cancelled, submitting nothing and dropping its `done` uncalled; with room, it
/// submits whatever `stop` says.
#[test]
fn submit_unless_gives_up_its_wait_when_stopped() {
    let (machine, release, entered) = blocking();
    let rt = Arc::new(Runtime::builder().threads(1).max_queued_bytes(1).build().unwrap());
    let first = rt.execute_async(&machine, padded(0));
    entered.recv_timeout(Duration::from_secs(10)).unwrap();
    // The queue is empty, so one more is let in, and the queue is then past its bound.
    let second = rt.execute_async(&machine, padded(1));
    let stop = aslrt::Cancel::new();
    let (tx, rx) = mpsc::channel();
    let (rt2, m2, stop2) = (Arc::clone(&rt), machine.clone(), stop.clone());
    let called = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let c2 = Arc::clone(&called);
    std::thread::spawn(move || {
        let id = rt2.submit_unless(&m2, padded(2), &stop2, move |_| c2.store(true, Ordering::SeqCst));
        tx.send(id).unwrap();
    });
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err(), "submit_unless returned past the bound");
    stop.cancel();
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).expect("the stop ended the wait"), None);
    for _ in 0..2 {
        release.send(()).unwrap();
    }
    assert_eq!(within(10, first).status, Status::Succeeded);
    assert_eq!(within(10, second).status, Status::Succeeded);
    // With room, a stopped submission goes in all the same.
    let (tx, rx) = mpsc::channel();
    let id = rt.submit_unless(&machine, padded(3), &stop, move |o| tx.send(o).unwrap());
    assert!(id.is_some());
    release.send(()).unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap().status, Status::Succeeded);
    assert!(!called.load(Ordering::SeqCst), "the given-up submission ran");
}

/// On the system clock, `$$.State.EnteredTime` is when the state was entered, as AWS gives it:
/// after the execution was submitted and before the handler was first called; the same in a
/// retry's Parameters (after a back-off), in the ResultSelector (after the handler) and in the
/// run that goes on after the execution suspended. As a path, as an intrinsic's argument only,
/// and in JSONata. Each attempt of the handler takes 30 ms, and the first fails.
#[test]
fn entered_time_is_when_the_state_was_entered() {
    let task = |fields: Value| {
        let mut state = json!({"Type": "Task", "Resource": "arn:aws:states:::local:slow",
            "Retry": [{"ErrorEquals": ["Slow"], "IntervalSeconds": 1, "MaxAttempts": 1}], "End": true});
        state.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
        json!({"StartAt": "T", "States": {"T": state}})
    };
    let mut jsonata = task(json!({"Arguments": "{% {'t': $states.context.State.EnteredTime} %}",
        "Output": "{% {'first': $states.result.first, 'retried': $states.result.t, 'after': $states.context.State.EnteredTime} %}"}));
    jsonata["QueryLanguage"] = json!("JSONata");
    let definitions = [
        task(json!({"Parameters": {"t.$": "$$.State.EnteredTime"},
            "ResultSelector": {"first.$": "$.first", "retried.$": "$.t", "after.$": "$$.State.EnteredTime"}})),
        task(json!({"Parameters": {"t.$": "States.Format('{}', $$.State.EnteredTime)"},
            "ResultSelector": {"first.$": "$.first", "retried.$": "$.t",
                "after.$": "States.Format('{}', $$.State.EnteredTime)"}})),
        jsonata,
    ];
    // AWS's spelling, fixed width: such times compare as strings.
    let now = || {
        let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
        chrono::DateTime::from_timestamp_millis(ms as i64).unwrap().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    };
    for definition in definitions {
        // What the first attempt was given and when it was called; the second answers with
        // the first's input and its own.
        let first = Arc::new(std::sync::Mutex::new(None::<(Value, String)>));
        let seen = Arc::clone(&first);
        let machine = StateMachine::builder()
            .async_handler(
                "arn:aws:states:::local:slow",
                AsyncFn(move |input: Value, task: TaskInfo| {
                    let (seen, called) = (Arc::clone(&seen), now());
                    async move {
                        tokio::time::sleep(Duration::from_millis(30)).await;
                        let mut first = seen.lock().unwrap();
                        match task.retry_count {
                            0 => {
                                *first = Some((input["t"].clone(), called));
                                Err(TaskError::new("Slow", "first attempt"))
                            }
                            _ => Ok(json!({"first": first.as_ref().map(|f| &f.0), "t": input["t"]})),
                        }
                    }
                }),
            )
            .compile(&definition.to_string())
            .unwrap();
        let rt = Runtime::new(2);
        let before = now();
        let out = within(20, rt.execute_async(&machine, b"{}".to_vec()));
        assert_eq!(out.status, Status::Succeeded, "{out:?}");
        let output: Value = serde_json::from_str(out.output.as_deref().unwrap()).unwrap();
        let t = output["first"].as_str().unwrap_or_default();
        let called = first.lock().unwrap().take().map(|f| f.1).unwrap_or_default();
        assert!(before.as_str() <= t && t <= called.as_str(), "{before} <= {t} <= {called}: {definition}");
        assert_eq!(output, json!({"first": t, "retried": t, "after": t}), "{definition}");
    }
}
