//! The executor: a batch of 4096 events on 2 threads. Beside it, the ideal static split (two
//! scoped threads, each with its own `Scratch`, half the events each) and the same work on
//! tokio's multi-thread scheduler (a task per chunk of 64, a thread-local `Scratch`), the
//! alternative the `Runtime` was measured against.
//!
//! `exec/heavy-map`: one execution whose Map has 64 items of about 50 µs of CPU work each (a
//! Task handler). Beside it, the baseline: the same execution with its items one after another
//! on the calling thread (`StateMachine::execute`). On the `Runtime`, the Map spreads its items
//! over the idle worker. `exec/light-map`: 20,000 items of about 0.12 µs, which must not spread
//! (each would cost more to hand over than to run): `Runtime::execute` beside the same baseline.

use aslrt::{Runtime, Scratch};
use aslrt_benches::{compile, workload};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::cell::RefCell;
use std::hint::black_box;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EVENTS: usize = 4096;
const THREADS: usize = 2;
const CHUNK: usize = 64;

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::new());
}

fn bench(c: &mut Criterion) {
    for name in ["w1-pass", "w2-etl-event"] {
        let w = workload(name);
        let machine = compile(&w);
        let events: Vec<Vec<u8>> = vec![w.input.clone(); EVENTS];
        let mut g = c.benchmark_group(format!("exec/{name}"));
        g.throughput(Throughput::Elements(EVENTS as u64));

        // Every variant gets the batch as owned events (built outside the timing) and returns
        // owned outcomes in input order, as `execute_batch` does.
        g.bench_function("native: scoped threads, static split", |b| {
            b.iter_batched(
                || events.clone(),
                |mut batch| {
                    let second = batch.split_off(EVENTS / THREADS);
                    std::thread::scope(|s| {
                        let handles: Vec<_> = [batch, second]
                            .into_iter()
                            .map(|part| {
                                let machine = &machine;
                                s.spawn(move || {
                                    let mut scratch = Scratch::new();
                                    part.into_iter()
                                        .map(|e| machine.execute(&mut scratch, &e).to_outcome())
                                        .collect::<Vec<_>>()
                                })
                            })
                            .collect();
                        let mut all = Vec::with_capacity(EVENTS);
                        for h in handles {
                            all.extend(h.join().unwrap_or_default());
                        }
                        black_box(all.len())
                    })
                },
                BatchSize::LargeInput,
            )
        });

        let tokio_rt =
            tokio::runtime::Builder::new_multi_thread().worker_threads(THREADS).build().expect("a tokio runtime");
        g.bench_function("tokio: multi-thread scheduler, task per chunk", |b| {
            b.iter_batched(
                || events.clone(),
                |mut batch| {
                    tokio_rt.block_on(async {
                        let mut tasks = Vec::with_capacity(EVENTS / CHUNK);
                        while !batch.is_empty() {
                            let rest = batch.split_off(CHUNK.min(batch.len()));
                            let part = std::mem::replace(&mut batch, rest);
                            let machine = machine.clone();
                            tasks.push(tokio::spawn(async move {
                                SCRATCH.with_borrow_mut(|scratch| {
                                    part.into_iter()
                                        .map(|e| machine.execute(scratch, &e).to_outcome())
                                        .collect::<Vec<_>>()
                                })
                            }));
                        }
                        let mut all = Vec::with_capacity(EVENTS);
                        for t in tasks {
                            all.extend(t.await.unwrap_or_default());
                        }
                        black_box(all.len())
                    })
                },
                BatchSize::LargeInput,
            )
        });

        let runtime = Runtime::new(THREADS);
        g.bench_function("aslrt: Runtime::execute_batch", |b| {
            b.iter_batched(
                || events.clone(),
                |batch| black_box(runtime.execute_batch(&machine, batch).len()),
                BatchSize::LargeInput,
            )
        });
        g.finish();
    }
}

/// About 50 µs of arithmetic that the optimizer cannot skip.
fn work(seed: i64) -> i64 {
    let mut x = seed as u64 | 1;
    for _ in 0..40_000 {
        x = black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407));
    }
    (x >> 40) as i64
}

/// One Map execution `machine` on `input` (a Map of `items`), one after another on this thread
/// (the baseline) and on a 2-worker `Runtime` by `on_runtime`; both must end alike.
fn map_group(
    c: &mut Criterion,
    name: &str,
    machine: &aslrt::StateMachine,
    items: usize,
    label: &str,
    on_runtime: impl Fn(&Runtime, &[u8]) -> aslrt::Outcome,
) {
    let input = serde_json::to_vec(&(0..items as i64).collect::<Vec<i64>>()).expect("serializes");
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(items as u64));
    let mut scratch = Scratch::new();
    g.bench_function("baseline: items one after another (StateMachine::execute)", |b| {
        b.iter(|| black_box(machine.execute(&mut scratch, &input).status))
    });
    let runtime = Runtime::new(THREADS);
    g.bench_function(label, |b| b.iter(|| black_box(on_runtime(&runtime, &input).status)));
    let one = machine.execute(&mut scratch, &input).to_outcome();
    assert_eq!(on_runtime(&runtime, &input), one, "the same outcome on the runtime");
    g.finish();
}

fn heavy_map(c: &mut Criterion) {
    const WORK: &str = "arn:aws:states:::local:work";
    let machine = aslrt::StateMachine::builder()
        .handler(WORK, aslrt::JsonFn(|v: serde_json::Value| Ok(serde_json::json!(work(v.as_i64().unwrap_or(0))))))
        .compile(
            &serde_json::json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
                "ItemProcessor": {"StartAt": "W", "States": {"W": {"Type": "Task", "Resource": WORK, "End": true}}}}}})
            .to_string(),
        )
        .expect("compiles");
    map_group(c, "exec/heavy-map", &machine, 64, "aslrt: Runtime::execute_async, items spread", |rt, input| {
        rt.execute_async(&machine, input.to_vec()).wait()
    });
}

fn light_map(c: &mut Criterion) {
    let machine = aslrt::StateMachine::compile(
        r#"{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ItemProcessor":{"StartAt":"P","States":
            {"P":{"Type":"Pass","Parameters":{"v.$":"$","s.$":"States.Format('x{}', $)"},"End":true}}}}}}"#,
    )
    .expect("compiles");
    map_group(c, "exec/light-map", &machine, 20_000, "aslrt: Runtime::execute, idle workers", |rt, input| {
        rt.execute(&machine, input)
    });
}

criterion_group!(benches, bench, heavy_map, light_map);
criterion_main!(benches);
