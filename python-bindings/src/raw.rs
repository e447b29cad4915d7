//! The only module with `unsafe`, for the two things a batch of a million events needs:
//! - its inputs read where Python keeps them (the bytes of a `bytes` object, or the UTF-8 form a
//!   `str` caches), with a reference to each object held until the batch is over: copying a
//!   million kilobyte events on the calling thread would cost more than running them;
//! - its results left out of the garbage collector's lists: they hold no Python object, so they
//!   can be in no cycle, and walking a million of them made every collection slower.

#![allow(unsafe_code)]

use crate::json;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use std::ffi::c_char;

unsafe extern "C" {
    // Part of every CPython 3 (and of the limited API from 3.10): the `str`'s UTF-8 form, made
    // once and cached in the object, which owns it. pyo3 declares it only for 3.10+ builds.
    fn PyUnicode_AsUTF8AndSize(unicode: *mut pyo3::ffi::PyObject, size: *mut pyo3::ffi::Py_ssize_t) -> *const c_char;
}

/// One input's bytes, in an object `Inputs` keeps alive.
pub struct View {
    ptr: *const u8,
    len: usize,
}

// SAFETY: a view is only read, by one worker at a time, while `Inputs` (which its batch's caller
// keeps until the batch has returned) holds the object owning the bytes, unchanged: `bytes` and
// a `str`'s cached UTF-8 never change while the object lives.
unsafe impl Send for View {}

impl AsRef<[u8]> for View {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `ptr` and `len` were read from a live object (or an owned buffer) that
        // `Inputs` keeps until every view is dropped, as its docs require of the caller.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// What the views point into. It must outlive every `View` it gave: keep it until the batch that
/// took the views has returned (every event is dropped by then).
pub struct Inputs {
    _objects: Vec<Py<PyAny>>,
    _owned: Vec<Vec<u8>>,
}

/// The views of `inputs` (an iterable of JSON str or bytes, or of JSON-able values, which are
/// written once with `json.dumps`), and what keeps them valid.
pub fn inputs(inputs: &Bound<'_, PyAny>) -> PyResult<(Inputs, Vec<View>)> {
    let mut objects = Vec::new();
    let mut owned: Vec<Vec<u8>> = Vec::new();
    let mut views = Vec::new();
    for item in inputs.try_iter()? {
        let item = item?;
        let view = if let Ok(b) = item.cast::<PyBytes>() {
            let bytes = b.as_bytes();
            View { ptr: bytes.as_ptr(), len: bytes.len() }
        } else if let Ok(s) = item.cast::<PyString>() {
            let mut len: pyo3::ffi::Py_ssize_t = 0;
            // SAFETY: `s` is a live str and the GIL is held; the returned buffer belongs to the
            // object, which `objects` keeps alive below.
            let ptr = unsafe { PyUnicode_AsUTF8AndSize(s.as_ptr(), &mut len) };
            if ptr.is_null() {
                return Err(PyErr::fetch(item.py()));
            }
            View { ptr: ptr.cast(), len: usize::try_from(len).unwrap_or(0) }
        } else {
            let bytes = json::input_bytes(&item)?;
            let view = View { ptr: bytes.as_ptr(), len: bytes.len() };
            // The Vec's heap buffer stays where it is when the Vec moves into `owned`.
            owned.push(bytes);
            view
        };
        objects.push(item.unbind());
        views.push(view);
    }
    Ok((Inputs { _objects: objects, _owned: owned }, views))
}

/// `result` as a new Python object that the cyclic garbage collector does not walk.
pub fn untracked(
    py: Python<'_>,
    result: crate::result::ExecutionResult,
) -> PyResult<Py<crate::result::ExecutionResult>> {
    let object = Py::new(py, result)?;
    // SAFETY: a live object of a GC type, with the GIL held. An ExecutionResult holds no Python
    // object and cannot be subclassed, so it can be part of no reference cycle: untracking it is
    // what CPython itself does for such containers. Its dealloc untracks again, a no-op.
    unsafe { pyo3::ffi::PyObject_GC_UnTrack(object.as_ptr().cast()) };
    Ok(object)
}
