//! The C ABI of aslrt: `libaslrt_ffi.so` and `libaslrt_ffi.a`, declared by the generated header
//! `include/aslrt.h`.
//!
//! Every exported function lives in [`abi`] (split by job into `handler`, `machine`, `result`
//! and `runtime`), the one module allowed `unsafe`: it checks each pointer and length, catches
//! every panic, and hands safe values to the [`aslrt`] crate. The header is generated from that
//! module by cbindgen (`cbindgen.toml`); `tests/header.rs` fails when the committed header
//! differs from what the code generates, and rewrites it with `ASLRT_UPDATE_HEADER=1`.
//!
//! No global allocator is set here: the host's allocator serves the library, and valgrind sees
//! every allocation.

#![deny(unsafe_code)]
#![warn(missing_docs)]

#[allow(unsafe_code)]
pub mod abi;
