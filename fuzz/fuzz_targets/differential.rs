#![no_main]
//! Differential fuzzing of the compiler: a generated definition (see
//! `runtime/tests/support/gen.rs`) on a generated event must give the same outcome optimised,
//! unoptimised and under every metamorphic variant (`runtime/tests/support/oracle.rs`). Any
//! difference panics with the definition and the event.

use libfuzzer_sys::fuzz_target;

#[path = "../../runtime/tests/support/mod.rs"]
mod support;

fuzz_target!(|data: &[u8]| {
    let g = support::gen::generate(&mut arbitrary::Unstructured::new(data));
    if let Some(d) = support::oracle::disagreement(&g.definition, &g.input, &support::gen::handlers) {
        panic!("{d}\ndefinition: {}\ninput: {}", g.definition, String::from_utf8_lossy(&g.input));
    }
});
