//! Compile: definition text to a runnable machine, beside the least any compiler must do,
//! reading the definition into a `serde_json::Value`.

use aslrt_benches::{compile, workload};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bench(c: &mut Criterion) {
    for name in ["w1-pass", "w2-etl-event", "w3-map-parallel", "w5-jsonata"] {
        let w = workload(name);
        let mut g = c.benchmark_group(format!("compile/{name}"));
        g.bench_function("native: serde_json parse", |b| {
            b.iter(|| black_box(serde_json::from_str::<serde_json::Value>(&w.definition).expect("JSON")))
        });
        g.bench_function("aslrt: validate + compile", |b| b.iter(|| black_box(compile(&w))));
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
