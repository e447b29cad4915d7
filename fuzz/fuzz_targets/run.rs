//! A definition, a NUL byte and an event: compiling and running never panic, and a SUCCEEDED output is valid JSON.
//! The check is `run` in `runtime/tests/support/fuzz_checks.rs`, which the regression tests
//! replay too.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../runtime/tests/support/mod.rs"]
mod support;

fuzz_target!(|data: &[u8]| support::fuzz_checks::run(data));
