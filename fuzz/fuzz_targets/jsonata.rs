//! Any text as a JSONata expression: it compiles or not without panicking, and evaluates the same with its names-only paths walked or general.
//! The check is `jsonata` in `runtime/tests/support/fuzz_checks.rs`, which the regression tests
//! replay too.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../runtime/tests/support/mod.rs"]
mod support;

fuzz_target!(|data: &[u8]| support::fuzz_checks::jsonata(data));
