//! Intrinsic functions applied to evaluated arguments, beside the same computation in plain Rust.

use aslrt::internal::common::Rng;
use aslrt::internal::intrinsics::{parse_call, Call, Env};
use aslrt::internal::value::{ParseBuffers, Value};
use bumpalo::Bump;
use criterion::{criterion_group, criterion_main, Criterion};
use sha2::Digest;
use simd_json::prelude::*;
use std::hint::black_box;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn call(text: &str) -> Call {
    parse_call(text).unwrap_or_else(|e| panic!("{text}: {e:?}"))
}

fn bench(c: &mut Criterion) {
    let mut arena = Bump::new();
    let mut rng = Rng::seeded(7);
    let mut parse = ParseBuffers::default();
    let ints: Vec<Value<'static>> = (0..100).map(Value::Int).collect();
    let text: String = "The quick brown fox jumps over the lazy dog. ".repeat(23);
    let attribution = r#"{"campaign":"spring-sale","medium":"email","variant":"B"}"#;

    let mut run = |label: &str, text_call: &str, args: &[Value<'static>], native: &dyn Fn(&Bump) -> usize| {
        let f = call(text_call);
        let mut g = c.benchmark_group(format!("intrinsics/{label}"));
        g.bench_function("native", |b| {
            b.iter(|| {
                arena.reset();
                black_box(native(&arena))
            })
        });
        g.bench_function(format!("aslrt: {}", f.name()), |b| {
            b.iter(|| {
                arena.reset();
                let mut env = Env { arena: &arena, rng: &mut rng, parse: &mut parse };
                black_box(f.apply(&mut env, args).is_ok())
            })
        });
        g.finish();
    };

    run(
        "format",
        "States.Format('ORDER#{}#{}', $.a, $.b)",
        &[Value::Str("ORDER#{}#{}"), Value::Str("2024-05-14T09:21:07Z"), Value::Str("ORD-20240514-000123")],
        &|arena| bumpalo::format!(in arena, "ORDER#{}#{}", "2024-05-14T09:21:07Z", "ORD-20240514-000123").len(),
    );
    let ints_ref: &'static [Value<'static>] = Box::leak(ints.into_boxed_slice());
    run("partition", "States.ArrayPartition($.a, 7)", &[Value::Array(ints_ref), Value::Int(7)], &|arena| {
        let chunks = ints_ref.chunks(7).map(|c| Value::Array(arena.alloc_slice_copy(c)));
        bumpalo::collections::Vec::from_iter_in(chunks, arena).len()
    });
    let text_ref: &'static str = Box::leak(text.into_boxed_str());
    run("hash-sha256", "States.Hash($.a, 'SHA-256')", &[Value::Str(text_ref), Value::Str("SHA-256")], &|arena| {
        let digest = sha2::Sha256::digest(text_ref.as_bytes());
        let mut s = bumpalo::collections::String::with_capacity_in(64, arena);
        for b in digest {
            s.push(char::from_digit((b >> 4) as u32, 16).unwrap_or('0'));
            s.push(char::from_digit((b & 15) as u32, 16).unwrap_or('0'));
        }
        s.len()
    });
    run("string-to-json", "States.StringToJson($.a)", &[Value::Str(attribution)], &|arena| {
        let buf = arena.alloc_slice_copy(attribution.as_bytes());
        simd_json::to_borrowed_value(buf).map_or(0, |v| usize::from(v.is_object()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
