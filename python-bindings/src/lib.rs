//! `aslrt._native`: the Python module's native part, behind the `aslrt` package
//! (`python/aslrt/`). It wraps the `aslrt` crate and holds no runtime logic of its own:
//! - `machine`: `StateMachine`, its executions one at a time, in batches, as a stream and
//!   under asyncio;
//! - `handlers`: Python callables (plain or `async def`) as Task handlers;
//! - `result`: `ExecutionResult`; `arrow_out`: `execute_arrow`'s struct array;
//! - `pool`: the work-stealing runtimes the batches and streams run on, one per thread count;
//! - `admit`: the bound on asyncio executions in flight, and their turns for room; `settle`:
//!   their futures settled from the workers, in batches;
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
mod settle;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    #[cfg(unix)]
    {
        // The asyncio executions' gate is held across every fork (see `admit`).
        static AT_FORK: std::sync::Once = std::sync::Once::new();
        AT_FORK.call_once(|| raw::at_fork(admit::before_fork, admit::after_fork_in_parent, admit::after_fork_in_child));
    }
    m.add_class::<machine::StateMachine>()?;
    m.add_class::<machine::Stream>()?;
    m.add_class::<result::ExecutionResult>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(_after_fork, m)?)?;
    m.add_function(wrap_pyfunction!(set_max_async_in_flight, m)?)?;
    m.add_function(wrap_pyfunction!(max_async_in_flight, m)?)?;
    m.add_function(wrap_pyfunction!(async_in_flight, m)?)?;
    Ok(())
}

/// Bounds the executions started by `execute_async` and `execute_when_room` that run at once
/// in this process (`None`: no bound; default 65,536). Past it they wait their turn, in order,
/// without blocking the event loop. Raising it starts waiting ones at once.
#[pyfunction]
#[pyo3(signature = (n))]
fn set_max_async_in_flight(n: Option<usize>) -> PyResult<()> {
    if n == Some(0) {
        return Err(pyo3::exceptions::PyValueError::new_err("the bound must be at least 1 (None: no bound)"));
    }
    admit::set_max_in_flight(n);
    Ok(())
}

/// The bound `set_max_async_in_flight` sets (`None`: none).
#[pyfunction]
fn max_async_in_flight() -> Option<usize> {
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
}
