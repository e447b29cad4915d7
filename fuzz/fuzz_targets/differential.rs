//! Bytes driving a generator of valid definitions and events: the outcome is the same optimised, unoptimised and under every metamorphic variant.
//! The check is `differential` in `runtime/tests/support/fuzz_checks.rs`, which the regression tests
//! replay too.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../runtime/tests/support/mod.rs"]
mod support;

fuzz_target!(|data: &[u8]| support::fuzz_checks::differential(data));
