//! Definitions that validate must compile and verify: a compile error after a clean validation
//! is a compiler bug, and the verifier must accept everything the compiler emits.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if aslrt::asl::parse(text).is_ok() {
        if let Err(e) = aslrt::StateMachine::compile(text) {
            panic!("validated but did not compile: {e}");
        }
    }
});
