//! Any text as a definition: what validates also compiles and passes the verifier, optimised and not.
//! The check is `compile` in `runtime/tests/support/fuzz_checks.rs`, which the regression tests
//! replay too.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../runtime/tests/support/mod.rs"]
mod support;

fuzz_target!(|data: &[u8]| support::fuzz_checks::compile(data));
