//! Any text given as a definition: parsing and validation report diagnostics, never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = aslrt::asl::parse(text);
    }
});
