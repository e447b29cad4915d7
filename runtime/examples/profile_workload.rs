//! Runs one workload of `../shared/bench` in a loop, for profilers:
//! `cargo run --release -p aslrt --example profile_workload -- w2-etl-event 5`.
fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "w2-etl-event".into());
    let seconds: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5.0);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/bench").join(&name);
    let def = std::fs::read_to_string(dir.join("definition.asl.json")).expect("workload");
    let input = std::fs::read(dir.join("input.json")).expect("workload");
    let machine = aslrt::StateMachine::builder()
        .handler("arn:aws:states:::local:echo", aslrt::internal::handler::Echo)
        .clock(aslrt::Clock::ZeroDelay)
        .compile(&def)
        .expect("compiles");
    let mut scratch = aslrt::Scratch::new();
    let t = std::time::Instant::now();
    let mut n = 0u64;
    while t.elapsed().as_secs_f64() < seconds {
        for _ in 0..64 {
            std::hint::black_box(machine.execute(&mut scratch, &input).status);
        }
        n += 64;
    }
    eprintln!("{name}: {n} executions, {:.0} ns/exec", t.elapsed().as_nanos() as f64 / n as f64);
}
