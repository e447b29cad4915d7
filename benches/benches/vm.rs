//! The VM: one execution of a workload on a reused `Scratch`, beside native Rust. For w2 the
//! baseline is the workflow written by hand (simd-json borrowed values, output written
//! directly); for the others it is the floor of `shared/bench` (parse + serialize).

use aslrt::Scratch;
use aslrt_benches::{compile, same_json, workload, Floor};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use simd_json::prelude::*;
use simd_json::BorrowedValue;
use std::hint::black_box;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn json_str(out: &mut Vec<u8>, s: &str) {
    BorrowedValue::from(s).write(out).expect("writing to a Vec");
}

fn json_val(out: &mut Vec<u8>, v: Option<&BorrowedValue<'_>>) {
    match v {
        Some(v) => v.write(out).expect("writing to a Vec"),
        None => out.extend_from_slice(b"null"),
    }
}

/// w2-etl-event without an interpreter: normalize, classify, route, build the record.
fn native_w2(buf: &mut [u8], attribution_buf: &mut Vec<u8>, out: &mut Vec<u8>) -> usize {
    let event = simd_json::to_borrowed_value(buf).expect("JSON event");
    let detail = event.get("detail");
    let customer = detail.and_then(|d| d.get("customer"));
    let customer_id = customer.and_then(|c| c.get_str("id")).unwrap_or_default();
    let tier = customer.and_then(|c| c.get_str("tier")).unwrap_or_default();
    let total = detail.and_then(|d| d.get("total"));
    let items = detail.and_then(|d| d.get("items"));
    let item_count = items.and_then(|i| i.as_array()).map_or(0, Vec::len);
    attribution_buf.clear();
    attribution_buf.extend_from_slice(detail.and_then(|d| d.get_str("attribution")).unwrap_or("{}").as_bytes());
    let attribution = simd_json::to_borrowed_value(attribution_buf).expect("JSON attribution");
    let has_address = detail.and_then(|d| d.get("shipping")).and_then(|s| s.get("address")).is_some();
    let total_f = total.and_then(|t| t.as_f64()).unwrap_or_default();
    let (priority, queue, sla) = if total_f >= 100.0 && (tier == "gold" || tier == "platinum") && has_address {
        ("high", "express-fulfilment", 4)
    } else if attribution.get_str("medium") == Some("email") && item_count < 2 {
        ("normal", "campaign-followup", 24)
    } else {
        ("normal", "standard-fulfilment", 48)
    };
    let order_id = detail.and_then(|d| d.get_str("orderId")).unwrap_or_default();
    let time = event.get_str("time").unwrap_or_default();
    let channel = detail.and_then(|d| d.get_str("channel")).unwrap_or_default();
    out.clear();
    out.extend_from_slice(b"{\"record\":{\"pk\":");
    json_str(out, &format!("CUSTOMER#{customer_id}"));
    out.extend_from_slice(b",\"sk\":");
    json_str(out, &format!("ORDER#{time}#{order_id}"));
    out.extend_from_slice(b",\"orderId\":");
    json_str(out, order_id);
    out.extend_from_slice(b",\"total\":");
    json_val(out, total);
    out.extend_from_slice(b",\"currency\":");
    json_val(out, detail.and_then(|d| d.get("currency")));
    out.extend_from_slice(format!(",\"itemCount\":{item_count},\"priority\":").as_bytes());
    json_str(out, priority);
    out.extend_from_slice(b",\"queue\":");
    json_str(out, queue);
    out.extend_from_slice(format!(",\"slaHours\":{sla},\"campaign\":").as_bytes());
    json_val(out, attribution.get("campaign"));
    out.extend_from_slice(b",\"variant\":");
    json_val(out, attribution.get("variant"));
    out.extend_from_slice(b",\"summary\":");
    json_str(out, &format!("{item_count} items for customer {customer_id} via {channel}"));
    out.extend_from_slice(b",\"lines\":");
    json_val(out, items);
    out.extend_from_slice(b"},\"meta\":{\"eventId\":");
    json_val(out, event.get("id"));
    out.extend_from_slice(b",\"source\":");
    json_val(out, event.get("source"));
    out.extend_from_slice(b",\"schemaVersion\":2}}");
    out.len()
}

fn bench(c: &mut Criterion) {
    for name in ["w1-pass", "w2-etl-event", "w3-map-parallel", "w5-jsonata", "w6-large"] {
        let w = workload(name);
        let machine = compile(&w);
        let mut g = c.benchmark_group(format!("vm/{name}"));
        g.throughput(Throughput::Elements(1));
        if name == "w2-etl-event" {
            let mut buf = w.input.clone();
            let mut attribution = Vec::new();
            let mut out = Vec::new();
            native_w2(&mut buf, &mut attribution, &mut out);
            assert!(same_json(&out, &w.expected), "the native w2 gives the expected output");
            g.bench_function("native: hand-written workflow", |b| {
                b.iter(|| {
                    buf.clear();
                    buf.extend_from_slice(&w.input);
                    black_box(native_w2(&mut buf, &mut attribution, &mut out))
                })
            });
        }
        let mut floor = Floor::new(&w.input, &w.expected).expect("the workload floor");
        g.bench_function("native: floor (parse + serialize)", |b| b.iter(|| black_box(floor.run())));
        let mut scratch = Scratch::new();
        let run = machine.execute(&mut scratch, &w.input);
        assert!(same_json(run.output.expect("succeeds").as_bytes(), &w.expected), "{name}: expected output");
        g.bench_function("aslrt: execute", |b| {
            b.iter(|| black_box(machine.execute(&mut scratch, &w.input).output.map(str::len)))
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
