//! JSON between Python values and text, through Python's own `json` module (its C encoder and
//! decoder), and the package's Python-side helpers.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyByteArray, PyBytes, PyString};

static LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static DUMPS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn json_fn<'py>(py: Python<'py>, cell: &'static PyOnceLock<Py<PyAny>>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    cell.get_or_try_init(py, || Ok::<_, PyErr>(py.import("json")?.getattr(name)?.unbind())).map(|f| f.bind(py).clone())
}

/// `json.loads(text)`.
pub fn loads<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    json_fn(py, &LOADS, "loads")?.call1((text,))
}

/// `json.dumps(value)` with AWS's compact separators, and `allow_nan=False`: NaN is no JSON.
pub fn dumps(value: &Bound<'_, PyAny>) -> PyResult<String> {
    let py = value.py();
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("separators", (",", ":"))?;
    kwargs.set_item("ensure_ascii", false)?;
    kwargs.set_item("allow_nan", false)?;
    json_fn(py, &DUMPS, "dumps")?.call((value,), Some(&kwargs))?.extract()
}

/// An execution's input as JSON bytes: a `str` or `bytes`-like as it is (the runtime checks
/// it), anything else as `json.dumps` writes it.
pub fn input_bytes(value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(s) = value.cast::<PyString>() {
        return match s.to_cow() {
            Ok(text) => Ok(text.into_owned().into_bytes()),
            Err(_) => unencodable(s),
        };
    }
    if let Ok(b) = value.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(b) = value.cast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    if let Ok(b) = value.cast::<pyo3::types::PyMemoryView>() {
        return b.call_method0("tobytes")?.extract();
    }
    dumps(value).map(String::into_bytes)
}

/// An object of the package's pure-Python part (`aslrt._errors` and the like).
pub fn helper<'py>(py: Python<'py>, module: &str, name: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import(module)?.getattr(name)
}

/// A `str` that is no UTF-8 (it holds a lone surrogate) as the bytes Python's `surrogatepass`
/// gives: not UTF-8 either, so that the execution fails on it (FAILED, saying where) as it does
/// on any other malformed event, instead of the call raising.
pub fn unencodable(s: &Bound<'_, PyString>) -> PyResult<Vec<u8>> {
    s.call_method1("encode", ("utf-8", "surrogatepass"))?.extract()
}
