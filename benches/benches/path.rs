//! JSONPath: compiled paths evaluated on the w2 event, beside the same lookups written by hand
//! on the same value tree.

use aslrt::internal::path::parse_path;
use aslrt::internal::value::{parse_in_place, ParseBuffers, Value};
use aslrt_benches::workload;
use bumpalo::Bump;
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bench(c: &mut Criterion) {
    let w = workload("w2-etl-event");
    let tree = Bump::new();
    let buf = tree.alloc_slice_copy(&w.input);
    let root = parse_in_place(&tree, buf, &mut ParseBuffers::default()).expect("JSON event");
    let mut results = Bump::new();

    type Native = for<'a> fn(&'a Bump, Value<'a>) -> Option<Value<'a>>;
    let cases: [(&str, &str, Native); 4] = [
        ("field", "$.detail.customer.tier", |_, v| v.get("detail")?.get("customer")?.get("tier")),
        ("index", "$.detail.items[1].sku", |_, v| v.get("detail")?.get("items")?.as_array()?.get(1)?.get("sku")),
        ("wildcard", "$.detail.items[*].unitPrice", |arena, v| {
            let items = v.get("detail")?.get("items")?.as_array()?;
            let picked = items.iter().filter_map(|i| i.get("unitPrice"));
            Some(Value::Array(bumpalo::collections::Vec::from_iter_in(picked, arena).into_bump_slice()))
        }),
        ("filter", "$.detail.items[?(@.qty > 1)].sku", |arena, v| {
            let items = v.get("detail")?.get("items")?.as_array()?;
            let picked = items
                .iter()
                .filter(|i| i.get("qty").and_then(|q| q.as_f64()).is_some_and(|q| q > 1.0))
                .filter_map(|i| i.get("sku"));
            Some(Value::Array(bumpalo::collections::Vec::from_iter_in(picked, arena).into_bump_slice()))
        }),
    ];
    for (label, text, native) in cases {
        // Planned as the compiler of an optimised program plans its paths.
        let mut path = parse_path(text).expect("valid path");
        path.plan();
        assert_eq!(
            aslrt::internal::value::to_json_string(&path.eval(&results, root).expect("found")),
            aslrt::internal::value::to_json_string(&native(&results, root).expect("found")),
            "{text}"
        );
        let mut g = c.benchmark_group(format!("path/{label}"));
        g.bench_function("native: hand-written lookup", |b| {
            b.iter(|| {
                results.reset();
                black_box(native(&results, root).is_some())
            })
        });
        g.bench_function(format!("aslrt: {text}"), |b| {
            b.iter(|| {
                results.reset();
                black_box(path.eval(&results, root).is_some())
            })
        });
        g.finish();
    }
    let mut g = c.benchmark_group("path/parse");
    g.bench_function("aslrt: parse $.detail.items[?(@.qty > 1)].sku", |b| {
        b.iter(|| black_box(parse_path("$.detail.items[?(@.qty > 1)].sku").is_ok()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
