//! Task handlers: 20 Task states in a row on the w2 event (1.2 KiB), each handler answering
//! `{"ok":true}`, one thread. The baseline is a handler on the crate's `Value` (no copy either
//! way); beside it, the same answer from a handler on JSON text (`TextFn`: the input written
//! once, the answer parsed once) and on serde_json values (`JsonFn`: the slow path). The
//! difference from the baseline, divided by 20, is the glue each step costs.

use aslrt::{Scratch, StateMachine};
use aslrt_benches::{glue_handlers, task_chain, workload};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const STEPS: usize = 20;

fn bench(c: &mut Criterion) {
    let w = workload("w2-etl-event");
    let definition = task_chain(STEPS);
    let mut g = c.benchmark_group("handlers/20-tasks-w2");
    g.throughput(Throughput::Elements(STEPS as u64));
    for (what, handlers) in glue_handlers() {
        let m = StateMachine::builder().handlers(handlers).compile(&definition).expect("compiles");
        let mut scratch = Scratch::new();
        assert_eq!(m.execute(&mut scratch, &w.input).status, aslrt::Status::Succeeded);
        let name = if what == "Value" { format!("native: {what} handler") } else { format!("aslrt: {what}") };
        g.bench_function(name, |b| b.iter(|| black_box(m.execute(&mut scratch, &w.input).status)));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
