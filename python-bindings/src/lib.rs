//! `aslrt._native`: the Python module's native part, behind the `aslrt` package
//! (`python/aslrt/`). It wraps the `aslrt` crate and holds no runtime logic of its own:
//! - `machine`: `StateMachine`, its executions one at a time, in batches, as a stream and
//!   under asyncio;
//! - `handlers`: Python callables (plain or `async def`) as Task handlers;
//! - `result`: `ExecutionResult`; `arrow_out`: `execute_arrow`'s struct array;
//! - `pool`: the work-stealing runtimes the batches and streams run on, one per thread count;
//! - `admit`: the bound on asyncio executions in flight, and their turns for room;
//! - `raw`: the one module with `unsafe`: a batch's inputs read in place, Arrow arrays through
//!   the C data interface, pooled buffers, and results the garbage collector need not walk.
//!
//! The exceptions and `Diagnostic` are Python classes (`aslrt/_errors.py`), raised from here.

#![deny(unsafe_code)]

mod admit;
mod arrow_out;
mod handlers;
mod json;
mod machine;
mod pool;
mod raw;
mod result;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<machine::StateMachine>()?;
    m.add_class::<machine::Stream>()?;
    m.add_class::<result::ExecutionResult>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(_after_fork, m)?)?;
    m.add_function(wrap_pyfunction!(set_max_in_flight, m)?)?;
    m.add_function(wrap_pyfunction!(max_in_flight, m)?)?;
    m.add_function(wrap_pyfunction!(async_in_flight, m)?)?;
    Ok(())
}

/// Bounds the executions started by `execute_async` and `execute_when_room` that run at once
/// in this process (`None`: no bound; default 65,536, at least 1). Past it they wait their
/// turn, in order, without blocking the event loop. Raising it starts waiting ones at once.
#[pyfunction]
#[pyo3(signature = (max))]
fn set_max_in_flight(max: Option<usize>) {
    admit::set_max_in_flight(max);
}

/// The bound `set_max_in_flight` sets (`None`: none).
#[pyfunction]
fn max_in_flight() -> Option<usize> {
    admit::max_in_flight()
}

/// `(running, waiting)`: executions started by `execute_async` and `execute_when_room` that
/// have not ended, and those waiting for room.
#[pyfunction]
fn async_in_flight() -> (usize, usize) {
    admit::counts()
}

/// Called in a child process after `os.fork()` (registered by the package): the parent's pools
/// have no threads there.
#[pyfunction]
fn _after_fork() {
    pool::forget_after_fork();
    admit::forget_after_fork();
}
