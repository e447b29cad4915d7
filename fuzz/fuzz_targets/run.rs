//! A definition and an event, separated by the first NUL byte: compiling and running never
//! panic, and every execution ends with a status. Runs on a virtual clock with small limits so
//! that loops and long waits end quickly.
#![no_main]
use aslrt::handler::{Echo, Raise};
use aslrt::{Clock, Config, Handlers, RuntimeLimits, Scratch, StateMachine, TaskError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (def, event) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b"{}"[..]),
    };
    let Ok(def) = std::str::from_utf8(def) else { return };
    let mut handlers = Handlers::new();
    handlers.insert("arn:aws:states:::local:echo", Echo);
    handlers.insert("arn:aws:states:::local:fail", Raise(TaskError::new("Boom", "fuzz")));
    let config = Config {
        clock: Clock::Virtual { start_millis: Some(0) },
        seed: Some(0),
        limits: RuntimeLimits { max_transitions: 10_000, max_depth: 16, ..RuntimeLimits::default() },
        ..Config::default()
    };
    let Ok(machine) = StateMachine::builder().handlers(handlers).config(config).compile(def) else { return };
    let mut scratch = Scratch::new();
    let run = machine.execute(&mut scratch, event);
    if run.status == aslrt::Status::Succeeded {
        let out = run.output.expect("a succeeded execution has an output");
        serde_json::from_str::<serde_json::Value>(out).expect("the output is valid JSON");
    }
});
