//! `ExecutionResult`: how one execution ended, as DescribeExecution tells it.

use crate::json;
use aslrt::{Execution, Status};
use pyo3::prelude::*;
use std::time::{SystemTime, UNIX_EPOCH};

/// How one execution ended: its status, its output (SUCCEEDED) or its error and cause (FAILED,
/// TIMED_OUT), and when it was started and stopped. A failed execution is a result, not an
/// exception: `raise_for_status()` turns it into one.
#[pyclass(frozen, module = "aslrt", name = "ExecutionResult")]
pub struct ExecutionResult {
    status: Status,
    transitions: u64,
    output_json: Option<String>,
    error: Option<String>,
    cause: Option<String>,
    /// Microseconds since the Unix epoch: when the execution was accepted, and when it ended.
    start_us: i64,
    stop_us: i64,
}

/// Microseconds since the Unix epoch, now.
pub fn now_us() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

impl ExecutionResult {
    /// A result of `e`, accepted at `start_us` and ended now.
    pub fn new(e: &Execution<'_>, start_us: i64) -> ExecutionResult {
        ExecutionResult {
            status: e.status,
            transitions: e.transitions,
            output_json: e.output.map(str::to_owned),
            error: e.error.map(str::to_owned),
            cause: e.cause.map(str::to_owned),
            start_us,
            stop_us: now_us(),
        }
    }

    /// The status as AWS names it.
    pub fn status_name(status: Status) -> &'static str {
        match status {
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
            Status::Aborted => "ABORTED",
        }
    }
}

fn date(py: Python<'_>, micros: i64) -> PyResult<Py<PyAny>> {
    let utc = json::helper(py, "datetime", "timezone")?.getattr("utc")?;
    let datetime = json::helper(py, "datetime", "datetime")?;
    let epoch = datetime.call1((1970, 1, 1, 0, 0, 0, 0, utc))?;
    let delta = json::helper(py, "datetime", "timedelta")?.call1((0, 0, micros))?;
    Ok(epoch.call_method1("__add__", (delta,))?.unbind())
}

#[pymethods]
impl ExecutionResult {
    /// `"SUCCEEDED"`, `"FAILED"`, `"TIMED_OUT"` or `"ABORTED"`.
    #[getter]
    fn status(&self) -> &'static str {
        Self::status_name(self.status)
    }

    /// The output as a Python value (parsed from `output_json` at each access: keep it); `None`
    /// unless SUCCEEDED. The result holds no Python object, so that making a million of them
    /// gives the garbage collector nothing to walk.
    #[getter]
    fn output(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let Some(text) = &self.output_json else { return Ok(py.None()) };
        Ok(json::loads(py, text)?.unbind())
    }

    /// The output as the JSON text the execution wrote; `None` unless SUCCEEDED.
    #[getter]
    fn output_json(&self) -> Option<&str> {
        self.output_json.as_deref()
    }

    /// The error name (`States.TaskFailed`, a Fail state's `Error`…) of a FAILED or TIMED_OUT
    /// execution; `None` otherwise, or when the failure named none.
    #[getter]
    fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// The cause, as AWS words it, of a FAILED or TIMED_OUT execution; `None` when there is none.
    #[getter]
    fn cause(&self) -> Option<&str> {
        self.cause.as_deref()
    }

    /// State transitions the execution made (CloudWatch's StateTransitions).
    #[getter]
    fn transitions(&self) -> u64 {
        self.transitions
    }

    /// When the execution was accepted (a `datetime` in UTC).
    #[getter]
    fn start_date(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        date(py, self.start_us)
    }

    /// When the execution ended (a `datetime` in UTC).
    #[getter]
    fn stop_date(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        date(py, self.stop_us)
    }

    /// Raises `aslrt.ExecutionError` (with `.error`, `.cause` and `.status`) unless SUCCEEDED;
    /// returns the result itself otherwise, for chaining.
    fn raise_for_status(slf: Py<Self>, py: Python<'_>) -> PyResult<Py<Self>> {
        let r = slf.get();
        if r.status == Status::Succeeded {
            return Ok(slf);
        }
        let class = json::helper(py, "aslrt._errors", "ExecutionError")?;
        let err = class.call1((Self::status_name(r.status), r.error.as_deref(), r.cause.as_deref()))?;
        Err(PyErr::from_value(err))
    }

    fn __repr__(&self) -> String {
        match self.status {
            Status::Succeeded => {
                format!(
                    "ExecutionResult(status='SUCCEEDED', output_json={:?})",
                    self.output_json.as_deref().unwrap_or("")
                )
            }
            _ => {
                let text = |t: &Option<String>| t.as_deref().map_or_else(|| "None".to_owned(), |t| format!("{t:?}"));
                format!(
                    "ExecutionResult(status='{}', error={}, cause={})",
                    Self::status_name(self.status),
                    text(&self.error),
                    text(&self.cause)
                )
            }
        }
    }
}
