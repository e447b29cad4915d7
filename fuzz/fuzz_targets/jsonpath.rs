//! Any text as a JSONPath: it parses or not without panicking; a path evaluates planned and unplanned alike.
//! The check is `jsonpath` in `runtime/tests/support/fuzz_checks.rs`, which the regression tests
//! replay too.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../runtime/tests/support/mod.rs"]
mod support;

fuzz_target!(|data: &[u8]| support::fuzz_checks::jsonpath(data));
