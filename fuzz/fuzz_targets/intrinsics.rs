//! Any intrinsic call text, run in a Pass state's Parameters: parsing never panics, and a call
//! that parses either yields a value or fails as States.Runtime.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let def = serde_json::json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"v.$": text}, "End": true}}});
    let Ok(machine) = aslrt::StateMachine::compile(&def.to_string()) else { return };
    let input = serde_json::json!({"s": "a,b", "n": 3, "a": [1, 2, 2], "o": {"x": 1}, "f": 1.5});
    let out = machine.execute_json(&input);
    if out.status != aslrt::Status::Succeeded {
        assert_eq!(out.error.as_deref(), Some("States.Runtime"), "{out:?}");
    }
});
