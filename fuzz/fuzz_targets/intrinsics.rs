//! Any text as a `.$` value: an intrinsic that compiles yields a value or fails with `States.Runtime`.
//! The check is `intrinsics` in `runtime/tests/support/fuzz_checks.rs`, which the regression tests
//! replay too.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../runtime/tests/support/mod.rs"]
mod support;

fuzz_target!(|data: &[u8]| support::fuzz_checks::intrinsics(data));
