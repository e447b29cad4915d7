//! Any text as a definition: parsing returns diagnostics or a model and never panics.
//! The check is `parse_asl` in `runtime/tests/support/fuzz_checks.rs`, which the regression tests
//! replay too.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../runtime/tests/support/mod.rs"]
mod support;

fuzz_target!(|data: &[u8]| support::fuzz_checks::parse_asl(data));
