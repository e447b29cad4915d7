//! `aslrt stream --checkpoint` across cut, edited and deleted outputs, checkpoints and inputs:
//! every run resumes exactly or refuses having written nothing. The check is in
//! `cli/tests/support/checkpoint_fuzz.rs`, which the CLI's tests replay too.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../cli/src/checkpoint.rs"]
mod checkpoint;
#[path = "../../cli/src/lines.rs"]
#[allow(dead_code)] // `read_all` is for `aslrt run`
mod lines;
#[path = "../../cli/src/stream.rs"]
mod stream;
#[path = "../../cli/tests/support/checkpoint_fuzz.rs"]
mod checkpoint_fuzz;

fuzz_target!(|data: &[u8]| checkpoint_fuzz::check(data));
