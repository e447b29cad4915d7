//! The benchmark workloads of `../shared/bench` give their expected outputs (with the host
//! handlers its README describes, on the zero-delay clock).

mod support;

use aslrt::internal::handler::Echo;
use aslrt::JsonFn;
use aslrt::{Clock, Handlers, StateMachine, Status, TaskError};

fn handlers() -> Handlers {
    let mut h = Handlers::new();
    h.insert("arn:aws:states:::local:echo", Echo);
    h.insert(
        "arn:aws:states:::local:flaky",
        JsonFn(|input: serde_json::Value| {
            if input["attempt"] == 0 {
                Err(TaskError::new("Transient", "simulated transient failure"))
            } else {
                Ok(input)
            }
        }),
    );
    h.insert(
        "arn:aws:states:::local:always-fail",
        JsonFn(|_| Err(TaskError::new("Transient", "simulated transient failure"))),
    );
    h
}

#[test]
fn every_workload_gives_its_expected_output() {
    let Some(dir) = support::bench_dir() else { return };
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut n = 0;
    for entry in entries {
        let w = entry.unwrap().path();
        if !w.join("definition.asl.json").is_file() {
            continue;
        }
        let def = std::fs::read_to_string(w.join("definition.asl.json")).unwrap();
        let input = std::fs::read(w.join("input.json")).unwrap();
        let expected: serde_json::Value =
            serde_json::from_slice(&std::fs::read(w.join("expected-output.json")).unwrap()).unwrap();
        let machine = StateMachine::builder()
            .handlers(handlers())
            .clock(Clock::ZeroDelay)
            .compile(&def)
            .unwrap_or_else(|e| panic!("{}: {e}", w.display()));
        let mut scratch = aslrt::Scratch::new();
        let run = machine.execute(&mut scratch, &input);
        assert_eq!(run.status, Status::Succeeded, "{}: {run:?}", w.display());
        let got: serde_json::Value = serde_json::from_str(run.output.unwrap()).unwrap();
        assert!(aslrt::internal::conformance::json_eq(&got, &expected), "{}: got {got}", w.display());
        n += 1;
    }
    assert!(n >= 7, "expected the 7 workloads, found {n}");
}
