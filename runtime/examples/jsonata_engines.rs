//! Times the w5-jsonata workload (`../shared/bench/w5-jsonata`) with the JSONata engine this
//! build uses, beside the same logic in JSONPath (w2), for the engine comparison in
//! docs/performance.md ("Engine choice"):
//!
//!     cargo run --release -p aslrt --example jsonata_engines
//!     cargo run --release -p aslrt --example jsonata_engines --features engine-jsonata-core
//!
//! Prints the median ns per execution over 7 runs of 0.3 s each.

use aslrt::internal::handler::Echo;
use aslrt::{Scratch, StateMachine, Status};
use std::time::{Duration, Instant};

fn median_ns(machine: &StateMachine, input: &[u8]) -> f64 {
    let mut scratch = Scratch::new();
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_millis(300) {
        assert_eq!(machine.execute(&mut scratch, input).status, Status::Succeeded);
    }
    let mut runs = Vec::new();
    for _ in 0..7 {
        let (mut n, t) = (0u64, Instant::now());
        while t.elapsed() < Duration::from_millis(300) {
            std::hint::black_box(machine.execute(&mut scratch, input));
            n += 1;
        }
        runs.push(t.elapsed().as_nanos() as f64 / n as f64);
    }
    runs.sort_by(|a, b| a.total_cmp(b));
    runs[3]
}

fn main() {
    let bench = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/bench");
    let engine = if cfg!(feature = "engine-jsonata-core") { "jsonata-core" } else { "aslrt" };
    for w in ["w5-jsonata", "w2-etl-event"] {
        let dir = bench.join(w);
        let def = std::fs::read_to_string(dir.join("definition.asl.json")).expect("the bench workloads");
        let input = std::fs::read(dir.join("input.json")).expect("the bench workloads");
        let machine =
            StateMachine::builder().handler("arn:aws:states:::local:echo", Echo).compile(&def).expect("compiles");
        println!("{w}: {:.0} ns/execution (JSONata engine: {engine})", median_ns(&machine, &input));
    }
}
