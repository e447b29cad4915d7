//! Heavy Maps spread their items over the Runtime's idle workers, with the outcome the items
//! would have had one after another: the same output, the same failure, the same transitions.

use aslrt::{Config, Outcome, Runtime, RuntimeLimits, Scratch, StateMachine, Status};
use aslrt::{JsonFn, TaskError};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const WORK: &str = "arn:aws:states:::local:work";

/// A Map over `$.items`: each item reads an outer variable, its index and value, and the
/// execution's input, then calls a handler that takes 2 ms and notes the thread it ran on.
fn machine(threads: Threads, max_concurrency: u32) -> StateMachine {
    let definition = json!({
        "StartAt": "Init",
        "States": {
            "Init": {"Type": "Pass", "Assign": {"factor": 3}, "Next": "Each"},
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": max_concurrency,
                "ItemSelector": {
                    "n.$": "$$.Map.Item.Value",
                    "i.$": "$$.Map.Item.Index",
                    "batch.$": "$$.Execution.Input.batch"
                },
                "ItemProcessor": {
                    "StartAt": "Work",
                    "States": {
                        "Work": {
                            "Type": "Task",
                            "Resource": WORK,
                            "Parameters": {"n.$": "$.n", "i.$": "$.i", "batch.$": "$.batch", "factor.$": "$factor"},
                            "ResultSelector": {"sum.$": "States.MathAdd($.n, $.factor)", "i.$": "$.i", "batch.$": "$.batch"},
                            "Next": "Id"
                        },
                        "Id": {"Type": "Pass", "Parameters": {"id.$": "States.Format('{}-{}', $.batch, $.i)", "sum.$": "$.sum"}, "End": true}
                    }
                },
                "ResultPath": "$.out",
                "End": true
            }
        }
    });
    compile_with_work(&definition, threads, 2, |input| match input["n"].as_i64() {
        Some(n) if n < 0 => Err(TaskError::new(format!("Negative{n}"), format!("item {} failed", input["i"]))),
        _ => Ok(input),
    })
}

/// Compiles `definition` with the `WORK` handler: it takes `millis` (or its input's `millis`),
/// notes the thread it ran on, and answers with `answer`.
fn compile_with_work(
    definition: &Value,
    threads: Threads,
    millis: u64,
    answer: fn(Value) -> Result<Value, TaskError>,
) -> StateMachine {
    compile_with_config(definition, threads, millis, answer, Config::default())
}

/// [`compile_with_work`] with `config`.
fn compile_with_config(
    definition: &Value,
    threads: Threads,
    millis: u64,
    answer: fn(Value) -> Result<Value, TaskError>,
    config: Config,
) -> StateMachine {
    StateMachine::builder()
        .config(config)
        .handler(
            WORK,
            JsonFn(move |input: Value| {
                std::thread::sleep(Duration::from_millis(input["millis"].as_u64().unwrap_or(millis)));
                threads.lock().unwrap().push(std::thread::current().name().unwrap_or("caller").to_owned());
                answer(input)
            }),
        )
        .compile(&definition.to_string())
        .unwrap()
}

fn event(items: &[i64]) -> Vec<u8> {
    json!({"batch": "b7", "items": items}).to_string().into_bytes()
}

/// The outcome with every item run one after another, on the calling thread.
fn one_after_another(items: &[i64], max_concurrency: u32) -> Outcome {
    let m = machine(Arc::default(), max_concurrency);
    m.execute(&mut Scratch::new(), &event(items)).to_outcome()
}

fn distinct(threads: &Mutex<Vec<String>>) -> usize {
    threads.lock().unwrap().iter().collect::<HashSet<_>>().len()
}

type Threads = Arc<Mutex<Vec<String>>>;

/// One execution with `execute_async` on `rt`, and the threads its items ran on.
fn on_pool(rt: &Runtime, items: &[i64], max_concurrency: u32) -> (Outcome, Threads) {
    let threads = Threads::default();
    let outcome = rt.execute_async(&machine(Arc::clone(&threads), max_concurrency), event(items)).wait();
    (outcome, threads)
}

/// Runs `run` until the runs it makes went on more than one thread (noted in `threads`), at
/// most 20 times: a worker between two naps does not count as idle, and a loaded test machine
/// has such moments. Every outcome must be `expected`'s. Panics if the runs never spread.
fn until_spread(expected: &Outcome, threads: &Threads, run: impl Fn() -> Outcome) {
    for _ in 0..20 {
        threads.lock().unwrap().clear();
        let outcome = run();
        assert_eq!(
            (outcome.status, &outcome.output, &outcome.error, &outcome.cause, outcome.transitions),
            (expected.status, &expected.output, &expected.error, &expected.cause, expected.transitions)
        );
        if distinct(threads) >= 2 {
            return;
        }
    }
    panic!("the runs never went on another worker");
}

#[test]
fn a_heavy_map_runs_on_idle_workers_with_the_same_outcome() {
    let items: Vec<i64> = (0..24).collect();
    let rt = Runtime::new(2);
    let expected = one_after_another(&items, 0);
    let (spread, threads) = on_pool(&rt, &items, 0);
    assert_eq!(spread.output, expected.output);
    let out: Value = serde_json::from_str(spread.output.as_deref().unwrap()).unwrap();
    assert_eq!(out["out"][23], json!({"id": "b7-23", "sum": 26}));
    assert_eq!(threads.lock().unwrap().len(), 24, "each item ran once");
    let threads = Threads::default();
    let m = machine(Arc::clone(&threads), 0);
    until_spread(&expected, &threads, || rt.execute_async(&m, event(&items)).wait());
    // So does an execution on the calling thread, and a batch (no journal).
    until_spread(&expected, &threads, || rt.execute(&m, &event(&items)));
    until_spread(&expected, &threads, || rt.execute_batch(&m, vec![event(&items)]).remove(0));
    rt.shutdown();
}

#[test]
fn the_lowest_failing_item_fails_the_map_as_one_after_another() {
    // Items 9 and 20 fail; run one after another, item 9 ends the Map, and the items after it
    // that ran on other workers meanwhile are not counted.
    let items: Vec<i64> = (0..24).map(|i| if i == 9 || i == 20 { -i } else { i }).collect();
    let rt = Runtime::new(2);
    let expected = one_after_another(&items, 0);
    assert_eq!((expected.status, expected.error.as_deref()), (Status::Failed, Some("Negative-9")));
    let threads = Threads::default();
    let m = machine(Arc::clone(&threads), 0);
    for _ in 0..3 {
        until_spread(&expected, &threads, || rt.execute_async(&m, event(&items)).wait());
    }
    rt.shutdown();
}

#[test]
fn max_concurrency_one_keeps_items_on_one_worker() {
    let items: Vec<i64> = (0..16).collect();
    let rt = Runtime::new(2);
    for _ in 0..3 {
        let (run, threads) = on_pool(&rt, &items, 1);
        assert_eq!(run.output, one_after_another(&items, 1).output);
        assert_eq!(distinct(&threads), 1);
    }
    rt.shutdown();
}

#[test]
fn light_maps_and_busy_pools_keep_their_outputs() {
    // Items that cost nothing never reach the estimate's threshold.
    let light = StateMachine::compile(
        r#"{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}"#,
    )
    .unwrap();
    let rt = Runtime::new(2);
    let input: Vec<i64> = (0..1000).collect();
    let run = rt.execute_async(&light, serde_json::to_vec(&input).unwrap()).wait();
    assert_eq!(run.output.as_deref(), Some(serde_json::to_string(&input).unwrap().as_str()));
    // With every worker busy, a heavy Map keeps its items: two executions on two workers.
    let threads = Threads::default();
    let m = machine(Arc::clone(&threads), 0);
    let items: Vec<i64> = (0..16).collect();
    let runs: Vec<_> = (0..2).map(|_| rt.execute_async(&m, event(&items))).collect();
    for r in runs {
        assert_eq!(r.wait().output, one_after_another(&items, 0).output);
    }
    assert_eq!(threads.lock().unwrap().len(), 32);
    rt.shutdown();
}

#[test]
fn a_cancelled_execution_stops_its_helpers() {
    let items: Vec<i64> = (0..2000).collect();
    let rt = Runtime::new(2);
    let pending = rt.execute_async(&machine(Arc::default(), 0), event(&items));
    std::thread::sleep(Duration::from_millis(100));
    pending.cancel();
    let started = std::time::Instant::now();
    assert_eq!(pending.wait().status, Status::Aborted);
    assert!(started.elapsed() < Duration::from_secs(2), "2,000 items of 2 ms were not all run");
    rt.shutdown();
}

/// A Parallel of two branches, each a Task that notes its thread: 5 ms in A, none in B;
/// `$.fail` names the branches that fail.
fn parallel(threads: Threads) -> StateMachine {
    let branch = |name: &str, millis: u64| {
        json!({"StartAt": name, "States": {name: {"Type": "Task", "Resource": WORK,
            "Parameters": {"branch": name, "millis": millis, "fail.$": "$.fail", "factor.$": "$factor"},
            "ResultSelector": {"branch.$": "$.branch", "factor.$": "$.factor"}, "End": true}}})
    };
    let definition = json!({
        "StartAt": "Init",
        "States": {
            "Init": {"Type": "Pass", "Assign": {"factor": 2}, "Next": "Both"},
            "Both": {"Type": "Parallel", "Branches": [branch("A", 5), branch("B", 0)], "End": true}
        }
    });
    compile_with_work(&definition, threads, 5, |input| {
        let name = input["branch"].as_str().unwrap_or("?").to_owned();
        match input["fail"].as_array().is_some_and(|f| f.contains(&json!(name))) {
            true => Err(TaskError::new(format!("Failed{name}"), "branch failed")),
            false => Ok(input),
        }
    })
}

#[test]
fn heavy_parallel_branches_run_on_idle_workers_once_timed() {
    let threads = Threads::default();
    let m = parallel(Arc::clone(&threads));
    let rt = Runtime::new(2);
    let input = br#"{"fail":[]}"#.to_vec();
    let expected = parallel(Threads::default()).execute(&mut Scratch::new(), &input).to_outcome();
    assert_eq!(expected.output.as_deref(), Some(r#"[{"branch":"A","factor":2},{"branch":"B","factor":2}]"#));
    // The first execution times its branches; later ones put A off, and B after it.
    let first = rt.execute_async(&m, input.clone()).wait();
    assert_eq!((first.output, first.transitions), (expected.output.clone(), expected.transitions));
    assert_eq!(distinct(&threads), 1, "untimed branches run one after another");
    until_spread(&expected, &threads, || rt.execute_async(&m, input.clone()).wait());
    // Both branches fail: A's failure is the Parallel's, as one after another, though B is
    // light and would fail first if it ran while A waits for the join.
    let both = br#"{"fail":["A","B"]}"#.to_vec();
    let failed = parallel(Threads::default()).execute(&mut Scratch::new(), &both).to_outcome();
    assert_eq!((failed.status, failed.error.as_deref()), (Status::Failed, Some("FailedA")));
    for _ in 0..3 {
        until_spread(&failed, &threads, || rt.execute_async(&m, both.clone()).wait());
    }
    rt.shutdown();
}

/// A Map over objects whose ItemSelector reads `$$.Map.Item.Value.n`, for each item a 2 ms
/// Task that fails for a negative `n`, then a Pass with a UUID.
fn selecting(config: Config, threads: Threads) -> StateMachine {
    let definition = json!({"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "ItemsPath": "$.items", "ItemSelector": {"n.$": "$$.Map.Item.Value.n"},
        "ItemProcessor": {"StartAt": "Work", "States": {
            "Work": {"Type": "Task", "Resource": WORK, "Next": "Tag"},
            "Tag": {"Type": "Pass", "Parameters": {"n.$": "$.n", "id.$": "States.UUID()"}, "End": true}}},
        "End": true}}});
    compile_with_config(
        &definition,
        threads,
        2,
        |input| match input["n"].as_i64() {
            Some(n) if n < 0 => Err(TaskError::new("Negative", format!("{n}"))),
            _ => Ok(input),
        },
        config,
    )
}

fn objects(n: usize, map: impl Fn(usize) -> Value) -> Vec<u8> {
    json!({"items": (0..n).map(map).collect::<Vec<_>>()}).to_string().into_bytes()
}

#[test]
fn a_later_items_selector_failure_waits_for_the_items_put_off_before_it() {
    // Item 9 fails in its Task; item 30 has no `n`, so its ItemSelector fails. One after
    // another, item 9's failure comes first.
    let event = objects(40, |i| match i {
        9 => json!({"n": -9}),
        30 => json!({}),
        _ => json!({"n": i}),
    });
    let expected = selecting(Config::default(), Threads::default()).execute(&mut Scratch::new(), &event).to_outcome();
    assert_eq!((expected.error.as_deref(), expected.cause.as_deref()), (Some("Negative"), Some("-9")));
    let rt = Runtime::new(2);
    let threads = Threads::default();
    let m = selecting(Config::default(), Arc::clone(&threads));
    until_spread(&expected, &threads, || rt.execute_async(&m, event.clone()).wait());
    rt.shutdown();
}

#[test]
fn the_transition_cap_holds_across_workers() {
    // 40 items of 2 states: 81 transitions one after another, over a cap of 60 that no worker's
    // share reaches alone.
    let config = Config::default().limits(RuntimeLimits::default().max_transitions(60));
    let event = objects(40, |i| json!({"n": i}));
    let expected = selecting(config.clone(), Threads::default()).execute(&mut Scratch::new(), &event).to_outcome();
    assert_eq!(expected.cause.as_deref(), Some("The execution reached the maximum number of state transitions."));
    let rt = Runtime::new(2);
    let threads = Threads::default();
    let m = selecting(config, Arc::clone(&threads));
    until_spread(&expected, &threads, || rt.execute_async(&m, event.clone()).wait());
    rt.shutdown();
}

#[test]
fn a_configured_seed_keeps_items_on_one_worker_and_its_uuids() {
    let config = Config::default().seed(Some(7));
    let event = objects(24, |i| json!({"n": i}));
    let expected = selecting(config.clone(), Threads::default()).execute(&mut Scratch::new(), &event).to_outcome();
    let rt = Runtime::new(2);
    let threads = Threads::default();
    // A batch draws from the seed as `StateMachine::execute` does (an `execute_async` run has
    // its own draws per Map item, for replays).
    let run = rt.execute_batch(&selecting(config, Arc::clone(&threads)), vec![event]);
    assert_eq!(run[0].output, expected.output);
    assert_eq!(distinct(&threads), 1);
    rt.shutdown();
}

#[test]
fn history_event_numbers_after_a_spread_map_are_as_one_after_another() {
    // The Map fails at item 9 and is caught; the next state fails with a cause that numbers
    // its entered event, after every item's and iteration's events.
    let definition = json!({"StartAt": "Each", "States": {
        "Each": {"Type": "Map", "ItemsPath": "$.items",
            "ItemProcessor": {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": WORK, "End": true}}},
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Bad"}], "End": true},
        "Bad": {"Type": "Pass", "Parameters": {"x.$": "$.nope"}, "End": true}}});
    let m = |threads| {
        compile_with_work(&definition, threads, 2, |input| match input.as_i64() {
            Some(9) => Err(TaskError::new("Nine", "item 9")),
            _ => Ok(input),
        })
    };
    let event = objects(40, |i| json!(i));
    let expected = m(Threads::default()).execute(&mut Scratch::new(), &event).to_outcome();
    assert!(expected.cause.as_deref().is_some_and(|c| c.contains("'Bad' (entered at the event id #")), "{expected:?}");
    let rt = Runtime::new(2);
    let threads = Threads::default();
    let spread = m(Arc::clone(&threads));
    until_spread(&expected, &threads, || rt.execute_async(&spread, event.clone()).wait());
    rt.shutdown();
}

#[test]
fn a_machine_that_may_wait_keeps_its_items_on_one_thread() {
    // A Wait (even of 0 s) may suspend the execution: its items never go to helpers, which
    // would hold their workers in the wait.
    let definition = json!({"StartAt": "Each", "States": {"Each": {"Type": "Map", "ItemsPath": "$.items",
        "ItemProcessor": {"StartAt": "Work", "States": {
            "Work": {"Type": "Task", "Resource": WORK, "Next": "Nap"},
            "Nap": {"Type": "Wait", "Seconds": 0, "End": true}}},
        "End": true}}});
    let threads = Threads::default();
    let m = compile_with_work(&definition, Arc::clone(&threads), 2, Ok);
    let rt = Runtime::new(2);
    let event = objects(24, |i| json!(i));
    for _ in 0..3 {
        threads.lock().unwrap().clear();
        assert_eq!(rt.execute(&m, &event).status, Status::Succeeded);
        assert_eq!(distinct(&threads), 1);
    }
    rt.shutdown();
}

/// A Map of `len` items of 1 ms: item `i` is `{"n": i}`, or fails in its Task when in
/// `failing`, or has no `n` (its ItemSelector fails) when it is `missing`.
fn generated(len: usize, failing: &[usize], missing: Option<usize>, max_concurrency: u32) -> (StateMachine, Vec<u8>) {
    let definition = json!({"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": max_concurrency,
        "ItemSelector": {"n.$": "$$.Map.Item.Value.n", "i.$": "$$.Map.Item.Index"},
        "ItemProcessor": {"StartAt": "Work", "States": {
            "Work": {"Type": "Task", "Resource": WORK, "Next": "Say"},
            "Say": {"Type": "Pass", "Parameters": {"said.$": "States.Format('{} at {}', $.n, $.i)"}, "End": true}}},
        "End": true}}});
    let m = compile_with_work(&definition, Threads::default(), 1, |input| match input["n"].as_i64() {
        Some(n) if n < 0 => Err(TaskError::new("Negative", format!("{n}"))),
        _ => Ok(input),
    });
    let event = objects(len, |i| match () {
        _ if missing == Some(i) => json!({}),
        _ if failing.contains(&i) => json!({"n": -(i as i64) - 1}),
        _ => json!({"n": i}),
    });
    (m, event)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 24, ..Default::default() })]

    /// Whatever fails where, and whatever the MaxConcurrency, a Map run on a pool with an idle
    /// worker ends as one after another: status, output, error, cause and transitions.
    #[test]
    fn spread_maps_end_as_one_after_another(
        len in 2usize..40,
        failing in proptest::collection::vec(0usize..40, 0..3),
        missing in proptest::option::of(0usize..40),
        max_concurrency in proptest::sample::select(vec![0u32, 2, 3]),
    ) {
        let (m, event) = generated(len, &failing, missing, max_concurrency);
        let expected = m.execute(&mut Scratch::new(), &event).to_outcome();
        let rt = Runtime::new(2);
        let spread = rt.execute_async(&m, event).wait();
        rt.shutdown();
        proptest::prop_assert_eq!(
            (spread.status, spread.output, spread.error, spread.cause, spread.transitions),
            (expected.status, expected.output, expected.error, expected.cause, expected.transitions)
        );
    }
}

#[test]
fn runs_that_cost_less_than_their_handing_over_stay() {
    // Four items of 0.1 ms: worth spreading with a small execution input, not with one of
    // 250 KB that each helper would parse first.
    let definition = json!({"StartAt": "Each", "States": {"Each": {"Type": "Map", "ItemsPath": "$.items",
        "ItemProcessor": {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": WORK,
            "Parameters": {"n.$": "$", "millis": 0}, "End": true}}},
        "ResultPath": "$.out", "OutputPath": "$.out", "End": true}}});
    let threads = Threads::default();
    let m = compile_with_work(&definition, Arc::clone(&threads), 0, |input| {
        std::thread::sleep(Duration::from_micros(100));
        Ok(input["n"].clone())
    });
    let rt = Runtime::new(2);
    let small = objects(4, |i| json!(i));
    let expected = m.execute(&mut Scratch::new(), &small).to_outcome();
    until_spread(&expected, &threads, || rt.execute_async(&m, small.clone()).wait());
    let mut large: Value = serde_json::from_slice(&small).unwrap();
    large["padding"] = json!("x".repeat(250_000));
    let large = large.to_string().into_bytes();
    // On a loaded machine an item can take far longer than 0.1 ms, and then spreading is worth
    // it after all: a run that stays is looked for, as `until_spread` looks for one that goes.
    let stays = (0..20).any(|_| {
        threads.lock().unwrap().clear();
        assert_eq!(rt.execute_async(&m, large.clone()).wait().output, expected.output);
        distinct(&threads) == 1
    });
    assert!(stays, "the items always went to another worker");
    rt.shutdown();
}
