//! Settling asyncio futures from the pool's workers, in batches: a worker queues what it settles
//! beside the loop's other pending settlements, and only the first of a batch wakes the loop
//! (`call_soon_threadsafe`, a write to its self-pipe, and the GIL). The loop then settles the
//! whole batch in one callback. One wake-up per result held `execute_async` to about 12,000
//! executions a second, the workers and the loop passing the GIL back and forth.

use crate::result::ExecutionResult;
use pyo3::exceptions::{PyException, PyRuntimeError};
use pyo3::prelude::*;
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// What a future is settled with.
pub enum Value {
    /// An execution's result.
    Result(ExecutionResult),
    /// Another object (`execute_when_room`'s first future gets the result's future).
    Object(Py<PyAny>),
}

/// The futures of one event loop waiting to be settled.
pub struct Settler {
    event_loop: Py<PyAny>,
    queue: Mutex<Vec<(Py<PyAny>, Value)>>,
}

thread_local! {
    /// The settler of the loop this thread ran last: a thread runs one loop at a time, and
    /// usually the same one.
    static LAST: RefCell<Option<Arc<Settler>>> = const { RefCell::new(None) };
}

impl Settler {
    /// The settler of `event_loop`, the loop running on this thread.
    pub fn of(event_loop: &Bound<'_, PyAny>) -> Arc<Settler> {
        let (settler, old) = LAST.with(|last| {
            let mut last = last.borrow_mut();
            match &*last {
                Some(s) if s.event_loop.is(event_loop) => (Arc::clone(s), None),
                _ => {
                    let s =
                        Arc::new(Settler { event_loop: event_loop.clone().unbind(), queue: Mutex::new(Vec::new()) });
                    (Arc::clone(&s), last.replace(s))
                }
            }
        });
        // Dropped once the cache is let go: dropping a loop may run Python that comes back here.
        drop(old);
        settler
    }

    /// Everything queued, taken out.
    fn take(&self) -> Vec<(Py<PyAny>, Value)> {
        std::mem::take(&mut *self.queue.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Settles `future` with `value` on the loop's thread, from any thread, unless it is done
    /// by then (cancelled). Once the loop is closed, what it would settle is dropped.
    pub fn settle(self: &Arc<Self>, future: Py<PyAny>, value: Value) {
        let first = {
            let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            queue.push((future, value));
            queue.len() == 1
        };
        if !first {
            return;
        }
        Python::attach(|py| {
            let drain = Py::new(py, Drain { settler: Arc::clone(self), ran: AtomicBool::new(false) });
            if let Err(e) = drain.and_then(|d| self.event_loop.bind(py).call_method1("call_soon_threadsafe", (d,))) {
                // Closed: nobody awaits these any more.
                drop(self.take());
                if !e.is_instance_of::<PyRuntimeError>(py) {
                    e.write_unraisable(py, None);
                }
            }
        });
    }
}

/// The loop's callback that settles a batch.
#[pyclass]
struct Drain {
    settler: Arc<Settler>,
    ran: AtomicBool,
}

#[pymethods]
impl Drain {
    /// Settles the batch; an exception that is no `Exception` (KeyboardInterrupt) is raised
    /// once every future of the batch is settled.
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        self.ran.store(true, Ordering::Relaxed);
        let mut interrupt = None;
        for (future, value) in self.settler.take() {
            let future = future.bind(py);
            let settled = future.call_method0("done").and_then(|done| {
                if done.is_truthy()? {
                    return Ok(());
                }
                let value = match value {
                    Value::Result(r) => Py::new(py, r)?.into_any(),
                    Value::Object(o) => o,
                };
                future.call_method1("set_result", (value,)).map(drop)
            });
            match settled {
                Err(e) if !e.is_instance_of::<PyException>(py) => interrupt = interrupt.or(Some(e)),
                Err(e) => e.write_unraisable(py, Some(future)),
                Ok(()) => {}
            }
        }
        interrupt.map_or(Ok(()), Err)
    }
}

impl Drop for Drain {
    /// A loop closed with this callback pending drops it unrun: what it would have settled is
    /// dropped too (with the GIL, which Python holds as it frees the callback), so that the next
    /// settlement wakes the loop and finds it closed.
    fn drop(&mut self) {
        if !self.ran.load(Ordering::Relaxed) {
            drop(self.settler.take());
        }
    }
}
