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
            aslrt::JsonFn(|v| {
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

/// A Wait of a minute on the system clock ends ABORTED soon after its handle is cancelled, and
/// the worker is free again for the next execution.
#[test]
fn cancel_stops_a_waiting_execution() {
    let rt = Runtime::new(1);
    let waits = StateMachine::compile(
        r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":60,"Next":"P"},"P":{"Type":"Pass","End":true}}}"#,
    )
    .unwrap();
    let pending = rt.execute_async(&waits, b"{}".to_vec());
    std::thread::sleep(std::time::Duration::from_millis(50));
    let started = std::time::Instant::now();
    pending.cancel();
    let outcome = pending.wait();
    assert_eq!(outcome.status, Status::Aborted);
    assert_eq!((outcome.output, outcome.error, outcome.cause), (None, None, None));
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "stopped within a Wait slice");
    assert_eq!(rt.execute_async(&machine(), br#"{"n":1}"#.to_vec()).wait().status, Status::Succeeded);
    let m = rt.metrics().snapshot();
    assert_eq!((m.executions_aborted, m.executions_succeeded), (1, 1));
}

/// A cancelled execution that loops through states stops before its next state; one cancelled
/// before it starts never runs.
#[test]
fn cancel_stops_a_looping_execution_and_one_not_started() {
    // No transition cap to speak of: a release build reaches the default million transitions in
    // well under the 20 ms before the cancellation.
    let limits = aslrt::RuntimeLimits::default().max_transitions(u64::MAX);
    let looping = StateMachine::builder()
        .limits(limits)
        .compile(
            r#"{"StartAt":"A","States":{
            "A":{"Type":"Pass","Next":"B"},
            "B":{"Type":"Choice","Choices":[{"Variable":"$.stop","IsPresent":true,"Next":"Done"}],"Default":"A"},
            "Done":{"Type":"Succeed"}}}"#,
        )
        .unwrap();
    let cancel = aslrt::Cancel::new();
    let stopper = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            cancel.cancel();
        })
    };
    let mut scratch = aslrt::Scratch::new();
    // Without the cancellation this would run until the 5-minute cap.
    let run = looping.execute_cancellable(&mut scratch, b"{}", &cancel);
    assert_eq!(run.status, Status::Aborted, "{:?} {:?}", run.error, run.cause);
    stopper.join().unwrap();
    let again = looping.execute_cancellable(&mut scratch, br#"{"stop":1}"#, &cancel);
    assert_eq!((again.status, again.transitions), (Status::Aborted, 0));
}

/// A runtime, like the rest of the façade, prints with `{:?}`: its workers and the names of
/// the machines registered on it.
#[test]
fn a_runtime_prints_its_workers_and_machines() {
    let rt = Runtime::new(2);
    rt.register("orders", machine());
    rt.register("audit", machine());
    assert_eq!(format!("{rt:?}"), r#"Runtime { threads: 2, machines: ["audit", "orders"] }"#);
}

/// `submit` calls its callback exactly once per execution, with that execution's outcome, and
/// a callback that panics takes no worker down.
#[test]
fn submit_calls_back_once_per_execution() {
    let rt = Runtime::new(2);
    let m = machine();
    let (tx, rx) = std::sync::mpsc::channel();
    for i in 0..2000i64 {
        let tx = tx.clone();
        rt.submit(&m, format!("{{\"n\":{i}}}").into_bytes(), move |o| tx.send((i, o)).unwrap());
    }
    rt.submit(&m, b"{\"n\":1}".to_vec(), |_| panic!("a callback's bug"));
    let tx2 = tx.clone();
    rt.submit(&m, b"{\"n\":5}".to_vec(), move |o| tx2.send((-1, o)).unwrap());
    drop(tx);
    let mut seen = vec![false; 2000];
    let mut after_panic = false;
    for (i, o) in rx.iter() {
        if i < 0 {
            after_panic = o.output.as_deref() == Some(r#"{"n":5,"twice":10}"#);
            continue;
        }
        assert!(!std::mem::replace(&mut seen[i as usize], true), "{i} called back twice");
        let expect =
            if i == 0 { format!("{{\"n\":{i},\"twice\":0}}") } else { format!("{{\"n\":{i},\"twice\":{}}}", 2 * i) };
        assert_eq!(o.output.as_deref(), Some(expect.as_str()));
    }
    assert!(seen.iter().all(|s| *s) && after_panic);
    rt.shutdown();
}

#[test]
fn a_batch_whose_job_panics_fails_instead_of_hanging() {
    let runtime = Runtime::new(2);
    let pass = StateMachine::compile(r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#).unwrap();
    let events: Vec<Vec<u8>> = (0..40).map(|i| format!("{{\"i\":{i}}}").into_bytes()).collect();
    let batch = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.execute_batch_with(&pass, events, |e| {
            assert!(e.output != Some(r#"{"i":17}"#), "a map that panics on one event");
            e.status
        })
    }));
    let why = batch.expect_err("a batch with a panicking job cannot succeed");
    let message = why.downcast_ref::<String>().cloned().or_else(|| why.downcast_ref::<&str>().map(|s| s.to_string()));
    assert!(message.as_deref().is_some_and(|m| m.contains("results are missing")), "{message:?}");
    // The pool is still usable afterwards.
    assert_eq!(runtime.execute_batch(&pass, vec![b"{}".to_vec()])[0].status, Status::Succeeded);
}

#[test]
fn a_cancelled_batch_ends_its_executions_aborted_and_returns() {
    let runtime = Runtime::new(2);
    let cancel = aslrt::Cancel::new();
    let stopper = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(30));
            cancel.cancel();
        })
    };
    // Pure work, run in chunks: those not yet run when the batch is cancelled never run.
    let events: Vec<Vec<u8>> = (0..2_000_000).map(|i| format!("{{\"n\":{i}}}").into_bytes()).collect();
    let statuses = runtime.execute_batch_cancellable(&machine(), events, &cancel, |e| e.status);
    stopper.join().unwrap();
    assert_eq!(statuses.len(), 2_000_000);
    assert!(statuses.iter().all(|s| matches!(s, Status::Succeeded | Status::Aborted)));
    assert!(statuses.contains(&Status::Aborted), "cancelled after 30 ms, the batch did not run to its end");

    // Executions that suspend (a Wait on the system clock) stop at once. (The wait is within
    // the 5-minute cap: a longer one would end TIMED_OUT at once, before the cancellation.)
    let wait =
        StateMachine::compile(r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":200,"End":true}}}"#).unwrap();
    let cancel = aslrt::Cancel::new();
    cancel.cancel();
    let started = std::time::Instant::now();
    let statuses = runtime.execute_batch_cancellable(&wait, vec![b"{}".to_vec(); 10], &cancel, |e| e.status);
    assert_eq!(statuses, vec![Status::Aborted; 10]);
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

/// A batch of a machine that may suspend is submitted one event at a time, which a bound on
/// executions in flight makes wait: once it is cancelled, the events not submitted yet never
/// run (their handler is never called) and end ABORTED.
#[test]
fn a_cancelled_batch_that_may_suspend_submits_no_more() {
    let runtime = Runtime::builder().threads(2).max_in_flight(1).build().unwrap();
    let cancel = aslrt::Cancel::new();
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (stop, counted) = (cancel.clone(), std::sync::Arc::clone(&calls));
    let machine = StateMachine::builder()
        .async_handler(
            "arn:aws:states:::local:stop",
            aslrt::AsyncFn(move |input: serde_json::Value, _: aslrt::TaskInfo| {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                stop.cancel();
                async move { Ok(input) }
            }),
        )
        .compile(
            r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::local:stop","End":true}}}"#,
        )
        .unwrap();
    assert!(machine.may_suspend());
    let statuses = runtime.execute_batch_cancellable(&machine, vec![b"{}".to_vec(); 20], &cancel, |e| e.status);
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1, "events were submitted after the cancellation");
    assert!(matches!(statuses[0], Status::Succeeded | Status::Aborted), "{statuses:?}");
    assert_eq!(statuses[1..], [Status::Aborted; 19]);
    assert_eq!(runtime.metrics().snapshot().executions_aborted, 20 - u64::from(statuses[0] == Status::Succeeded));
}

/// The runs of a chunked batch that have ended: each one's first event and the events it saw.
type Ended = std::sync::Arc<std::sync::Mutex<Vec<(usize, Vec<usize>)>>>;

/// A run of a chunked batch: the events it saw, reported when it is dropped.
struct Run {
    first: usize,
    seen: Vec<usize>,
    ended: Ended,
}

impl Drop for Run {
    fn drop(&mut self) {
        self.ended.lock().unwrap().push((self.first, std::mem::take(&mut self.seen)));
    }
}

#[test]
fn a_chunked_batch_starts_each_run_at_its_first_event_and_ends_it_before_returning() {
    let runtime = Runtime::new(2);
    let sleepy = StateMachine::builder()
        .async_handler(
            "arn:aws:lambda:::function:f",
            aslrt::AsyncFn(|v: serde_json::Value, _: aslrt::TaskInfo| async move { Ok(v) }),
        )
        .compile(
            r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:::function:f","End":true}}}"#,
        )
        .unwrap();
    assert!(sleepy.may_suspend());
    for (m, n) in [(machine(), 3000), (sleepy, 50)] {
        let ended: Ended = std::sync::Arc::default();
        let events: Vec<Vec<u8>> = (0..n).map(|i| format!("{{\"n\":{i}}}").into_bytes()).collect();
        let start = {
            let ended = std::sync::Arc::clone(&ended);
            move |first| Run { first, seen: Vec::new(), ended: std::sync::Arc::clone(&ended) }
        };
        let out = runtime.execute_batch_chunked(&m, events, None, start, |run: &mut Run, e| {
            let n: usize = e
                .output
                .and_then(|o| o.split(|c: char| !c.is_ascii_digit()).find(|s| !s.is_empty())?.parse().ok())
                .unwrap();
            run.seen.push(n);
            n
        });
        assert_eq!(out, (0..n).collect::<Vec<_>>());
        // Every run was dropped before the batch returned; each saw consecutive events from its
        // first, and together they saw every event once.
        let mut runs = std::mem::take(&mut *ended.lock().unwrap());
        runs.sort();
        let mut next = 0;
        for (first, seen) in runs {
            assert_eq!(first, next);
            assert_eq!(seen, (first..first + seen.len()).collect::<Vec<_>>());
            next += seen.len();
        }
        assert_eq!(next, n);
    }
}
