//! JSONata: one expression of the w5-jsonata kind as a Pass state's `Output`, run on the w5
//! event, beside the same computation written by hand (simd-json borrowed values, output written
//! directly). Both parse the event and write the result, so the difference is the evaluation:
//! the engine's path walks (names-only paths), a function call, string concatenation and a
//! boolean condition.

use aslrt::{Scratch, StateMachine};
use aslrt_benches::{same_json, workload};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use simd_json::prelude::*;
use simd_json::BorrowedValue;
use std::hint::black_box;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A hand-written twin of an expression: from the parsed event to the JSON of the result.
type Native = fn(&BorrowedValue<'_>, &mut Vec<u8>);

fn write(out: &mut Vec<u8>, v: &BorrowedValue<'_>) {
    v.write(out).expect("writing to a Vec");
}

fn detail<'v>(e: &'v BorrowedValue<'v>) -> &'v BorrowedValue<'v> {
    e.get("detail").expect("the w5 event has a detail")
}

fn bench(c: &mut Criterion) {
    let w = workload("w5-jsonata");
    let cases: [(&str, &str, Native); 4] = [
        ("path", "$states.input.detail.customer.tier", |e, out| {
            write(out, detail(e).get("customer").and_then(|c| c.get("tier")).expect("a tier"))
        }),
        ("count", "$count($states.input.detail.items)", |e, out| {
            let n = detail(e).get("items").and_then(|i| i.as_array()).map_or(0, |a| a.len());
            out.extend_from_slice(n.to_string().as_bytes());
        }),
        ("concat", "'ORDER#' & $states.input.detail.orderId & '#' & $states.input.detail.currency", |e, out| {
            let d = detail(e);
            let text = format!(
                "ORDER#{}#{}",
                d.get("orderId").and_then(|v| v.as_str()).unwrap_or(""),
                d.get("currency").and_then(|v| v.as_str()).unwrap_or("")
            );
            write(out, &BorrowedValue::from(text.as_str()));
        }),
        (
            "condition",
            "$states.input.detail.total >= 100 and ($states.input.detail.customer.tier = 'gold' or $states.input.detail.customer.tier = 'platinum') and $exists($states.input.detail.shipping.address)",
            |e, out| {
                let d = detail(e);
                let tier = d.get("customer").and_then(|c| c.get("tier")).and_then(|t| t.as_str()).unwrap_or("");
                let total = d.get("total").and_then(|t| t.as_f64()).unwrap_or(0.0);
                let shipped = d.get("shipping").and_then(|s| s.get("address")).is_some();
                let holds = total >= 100.0 && (tier == "gold" || tier == "platinum") && shipped;
                out.extend_from_slice(if holds { b"true" } else { b"false" });
            },
        ),
    ];
    let mut g = c.benchmark_group("jsonata");
    // Settings: criterion's defaults; one element is one evaluation of the expression.
    g.throughput(Throughput::Elements(1));
    for (label, text, native) in cases {
        let definition = serde_json::json!({"QueryLanguage": "JSONata", "StartAt": "E",
            "States": {"E": {"Type": "Pass", "Output": format!("{{% {text} %}}"), "End": true}}});
        let machine = StateMachine::compile(&definition.to_string()).unwrap_or_else(|e| panic!("{text}: {e}"));
        let mut scratch = Scratch::new();
        let (mut buf, mut out) = (w.input.clone(), Vec::new());
        // Both give the same value before either is timed.
        let got = machine.execute(&mut scratch, &w.input).output.unwrap_or_default().to_owned();
        native(&simd_json::to_borrowed_value(&mut buf).expect("JSON event"), &mut out);
        assert!(same_json(got.as_bytes(), &out), "{text}: aslrt {got}, native {}", String::from_utf8_lossy(&out));
        g.bench_function(format!("{label}/aslrt"), |b| {
            b.iter(|| black_box(machine.execute(&mut scratch, &w.input).status))
        });
        g.bench_function(format!("{label}/native"), |b| {
            b.iter(|| {
                buf.clear();
                buf.extend_from_slice(&w.input);
                out.clear();
                native(&simd_json::to_borrowed_value(&mut buf).expect("JSON event"), &mut out);
                black_box(out.len())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
