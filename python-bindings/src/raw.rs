//! The only module with `unsafe`, for what batches of a million events need:
//! - inputs read where Python or Arrow keeps them (the bytes of a `bytes` object, the UTF-8 form
//!   a `str` caches, the values of an Arrow string or binary array): copying a million kilobyte
//!   events on the calling thread would cost more than running them. Views are made only here,
//!   inside an `Inputs` that owns what they point into, and only `run_batch` takes them apart:
//!   it drops the owner once the batch, and with it every view, is gone;
//! - Arrow arrays taken from, and handed to, pyarrow through the C data interface's capsules;
//! - results left out of the garbage collector's lists: they hold no Python object, so they can
//!   be in no cycle, and walking a million of them made every collection slower;
//! - fork handlers registered with `pthread_atfork`.

#![allow(unsafe_code)]

use crate::json;
use arrow_array::ffi::{from_ffi, to_ffi, FFI_ArrowArray, FFI_ArrowSchema};
use arrow_array::{Array, ArrayRef, StringArray};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyCapsule, PyString};
use std::any::Any;
use std::ffi::{c_char, CStr};
use std::sync::Arc;

unsafe extern "C" {
    // Part of every CPython 3 (and of the limited API from 3.10): the `str`'s UTF-8 form, made
    // once and cached in the object, which owns it. pyo3 declares it only for 3.10+ builds.
    fn PyUnicode_AsUTF8AndSize(unicode: *mut pyo3::ffi::PyObject, size: *mut pyo3::ffi::Py_ssize_t) -> *const c_char;
}

#[cfg(unix)]
unsafe extern "C" {
    fn pthread_atfork(
        prepare: Option<extern "C" fn()>,
        parent: Option<extern "C" fn()>,
        child: Option<extern "C" fn()>,
    ) -> std::ffi::c_int;
}

/// Has `prepare` run in the thread that forks, inside `fork()` itself: after Python's own fork
/// hooks, so while the GIL stays where it is and no Python code runs, and for forks that skip
/// those hooks too; then `parent` or `child` after it. Call it once.
#[cfg(unix)]
pub fn at_fork(prepare: extern "C" fn(), parent: extern "C" fn(), child: extern "C" fn()) {
    // SAFETY: three plain functions that live as long as the process; POSIX lets a process
    // register handlers at any time.
    unsafe {
        pthread_atfork(Some(prepare), Some(parent), Some(child));
    }
}

/// One input's bytes, in something its `Inputs` owns. Private to this module's use.
pub struct View {
    ptr: *const u8,
    len: usize,
}

impl View {
    fn of(bytes: &[u8]) -> View {
        View { ptr: bytes.as_ptr(), len: bytes.len() }
    }
}

// SAFETY: a view is only read, by one worker at a time, and what it points into (a `bytes` or
// `str` object, an owned buffer or an Arrow array, all immutable while they live) is owned by
// its `Inputs`, which `run_batch` keeps until every view has been dropped.
unsafe impl Send for View {}

impl AsRef<[u8]> for View {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `ptr` and `len` were read from bytes that the view's `Inputs` owns, unchanged,
        // and `run_batch` drops that owner only after the batch has dropped every view.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// A batch's inputs: views, and what owns the bytes they point into.
pub struct Inputs {
    owner: Box<dyn Any + Send>,
    views: Vec<View>,
}

/// Runs `inputs` on `rt` (see `machine::run_batch`), and drops what they point into only once
/// the batch has returned, every view dropped.
pub fn run_batch<T: Send + 'static>(
    py: Python<'_>,
    rt: &Arc<crate::pool::Pool>,
    machine: &aslrt::StateMachine,
    inputs: Inputs,
    map: impl Fn(aslrt::Execution<'_>) -> T + Send + Sync + 'static,
) -> PyResult<Vec<T>> {
    run_batch_chunked(py, rt, machine, inputs, |_| (), move |_: &mut (), e| map(e))
}

/// `run_batch` with a state for each run of events a worker takes, made by `start` from the
/// index of its first event (`Runtime::execute_batch_chunked`).
pub fn run_batch_chunked<T: Send + 'static, C>(
    py: Python<'_>,
    rt: &Arc<crate::pool::Pool>,
    machine: &aslrt::StateMachine,
    inputs: Inputs,
    start: impl Fn(usize) -> C + Send + Sync + 'static,
    map: impl Fn(&mut C, aslrt::Execution<'_>) -> T + Send + Sync + 'static,
) -> PyResult<Vec<T>> {
    let Inputs { owner, views } = inputs;
    match crate::machine::run_batch(py, rt, machine, views, start, map) {
        // The batch has returned (the thread running it sends only then), every view dropped;
        // a Ctrl-C that stopped it comes beside the results.
        Ok((results, raised)) => {
            drop(owner);
            raised.map_or(Ok(results), Err)
        }
        // Given up on (a second Ctrl-C) or its thread ended without sending: workers might
        // still read views, so what they point into is leaked rather than freed.
        Err(e) => {
            std::mem::forget(owner);
            Err(e)
        }
    }
}

/// The inputs of a batch: an iterable of JSON str or bytes, read in place, or of JSON-able
/// values, written once with `json.dumps`.
pub fn inputs(inputs: &Bound<'_, PyAny>) -> PyResult<Inputs> {
    let mut views = Vec::new();
    let mut objects: Vec<Py<PyAny>> = Vec::new();
    let mut owned: Vec<Vec<u8>> = Vec::new();
    for item in inputs.try_iter()? {
        let item = item?;
        let view = if let Ok(b) = item.cast::<PyBytes>() {
            let view = View::of(b.as_bytes());
            objects.push(item.unbind());
            view
        } else if let Ok(s) = item.cast::<PyString>() {
            let mut len: pyo3::ffi::Py_ssize_t = 0;
            // SAFETY: `s` is a live str and the GIL is held; the buffer returned belongs to the
            // object, which `objects` keeps alive.
            let ptr = unsafe { PyUnicode_AsUTF8AndSize(s.as_ptr(), &mut len) };
            if ptr.is_null() {
                // No UTF-8 form (a lone surrogate): the event fails as malformed.
                drop(PyErr::fetch(item.py()));
                let bytes = json::unencodable(s)?;
                let view = View::of(&bytes);
                owned.push(bytes);
                view
            } else {
                // SAFETY: CPython gives `len` bytes at `ptr`, owned by `s`, which `objects` keeps.
                let view = View::of(unsafe {
                    std::slice::from_raw_parts(ptr.cast::<u8>(), usize::try_from(len).unwrap_or(0))
                });
                objects.push(item.unbind());
                view
            }
        } else {
            let bytes = json::input_bytes(&item)?;
            let view = View::of(&bytes);
            // The Vec's heap buffer stays where it is when the Vec moves into `owned`.
            owned.push(bytes);
            view
        };
        // Items written out (by json.dumps, or surrogatepass) are not kept: their views point
        // into `owned`.
        views.push(view);
    }
    Ok(Inputs { owner: Box::new((objects, owned)), views })
}

/// The views of an offset-laid array's values (`values` between consecutive `offsets`), `None`
/// where `valid` says the row is null. The offsets are checked first: `from_ffi` takes an array
/// from another library on trust, and workers must not read outside its data.
fn by_offsets<O: arrow_array::OffsetSizeTrait>(
    offsets: &[O],
    values: &[u8],
    valid: impl Fn(usize) -> bool,
) -> Result<Vec<Option<View>>, String> {
    // In order from a first offset >= 0, so the last, within the values, bounds them all.
    let in_bounds = offsets.first().is_none_or(|f| *f >= O::zero())
        && offsets.windows(2).all(|w| w[0] <= w[1])
        && offsets.last().is_none_or(|l| l.as_usize() <= values.len());
    if !in_bounds {
        return Err(OUTSIDE.into());
    }
    Ok(offsets
        .windows(2)
        .enumerate()
        .map(|(i, w)| valid(i).then(|| View::of(&values[w[0].as_usize()..w[1].as_usize()])))
        .collect())
}

const OUTSIDE: &str = "the Arrow array's offsets or views point outside its data";

/// The values of an Arrow string or binary array, and which rows have one (not null).
pub fn arrow_inputs(array: ArrayRef) -> Result<(Inputs, Vec<bool>), String> {
    use arrow_array::cast::AsArray;
    use arrow_schema::DataType;
    // Strings are read as bytes, by their offsets: the text of an array from another library
    // has not been checked to be UTF-8 (the execution checks it, failing the event if not).
    let valid = |i: usize| array.is_valid(i);
    let views: Vec<Option<View>> = match array.data_type() {
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            by_offsets(a.value_offsets(), a.values(), valid)?
        }
        DataType::LargeUtf8 => {
            let a = array.as_string::<i64>();
            by_offsets(a.value_offsets(), a.values(), valid)?
        }
        DataType::Binary => {
            let a = array.as_binary::<i32>();
            by_offsets(a.value_offsets(), a.values(), valid)?
        }
        DataType::LargeBinary => {
            let a = array.as_binary::<i64>();
            by_offsets(a.value_offsets(), a.values(), valid)?
        }
        // Views point into several buffers: arrow checks that they stay inside them. Text is
        // checked as bytes, as above: bad UTF-8 fails its own event, not the call.
        DataType::Utf8View | DataType::BinaryView => {
            let data = array.to_data().into_builder().data_type(DataType::BinaryView).build().map_err(|_| OUTSIDE)?;
            arrow_array::BinaryViewArray::from(data).iter().map(|v| v.map(View::of)).collect()
        }
        other => return Err(format!("execute_arrow takes a string or binary array of JSON events, not {other}")),
    };
    let present = views.iter().map(Option::is_some).collect();
    Ok((Inputs { owner: Box::new(array), views: views.into_iter().flatten().collect() }, present))
}

const SCHEMA: &CStr = c"arrow_schema";
const ARRAY: &CStr = c"arrow_array";

/// The array behind an object of the Arrow PyCapsule interface (`__arrow_c_array__`), taken
/// over from its capsules.
pub fn import_array(object: &Bound<'_, PyAny>) -> PyResult<ArrayRef> {
    let (schema, array): (Bound<'_, PyCapsule>, Bound<'_, PyCapsule>) =
        object.call_method0("__arrow_c_array__")?.extract()?;
    let schema_ptr = schema.pointer_checked(Some(SCHEMA))?.cast::<FFI_ArrowSchema>();
    let array_ptr = array.pointer_checked(Some(ARRAY))?.cast::<FFI_ArrowArray>();
    // SAFETY: the capsules named "arrow_array" and "arrow_schema" hold an ArrowArray and an
    // ArrowSchema, as the PyCapsule interface requires. The array is moved out and an empty
    // (released) one left behind, so that the capsule's destructor does not release it again;
    // the schema is only borrowed while its capsule is alive.
    let data = unsafe {
        let taken = std::ptr::replace(array_ptr.as_ptr(), FFI_ArrowArray::empty());
        from_ffi(taken, schema_ptr.as_ref())
    }
    .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("reading the Arrow array: {e}")))?;
    Ok(arrow_array::make_array(data))
}

/// What `ExecutionResult`-free batches hand to pyarrow: an object of the PyCapsule interface,
/// giving its array once.
#[pyclass]
pub struct ArrowCapsules {
    array: std::sync::Mutex<Option<(FFI_ArrowSchema, FFI_ArrowArray)>>,
}

impl ArrowCapsules {
    pub fn new(array: &dyn Array) -> PyResult<ArrowCapsules> {
        let (ffi_array, ffi_schema) = to_ffi(&array.to_data())
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("exporting the Arrow array: {e}")))?;
        Ok(ArrowCapsules { array: std::sync::Mutex::new(Some((ffi_schema, ffi_array))) })
    }
}

#[pymethods]
impl ArrowCapsules {
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_array__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<(Bound<'py, PyCapsule>, Bound<'py, PyCapsule>)> {
        let _ = requested_schema; // the array is given as it is
        let Some((schema, array)) = self.array.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return Err(pyo3::exceptions::PyValueError::new_err("the Arrow array was already taken"));
        };
        // The capsules own the structs (boxed, the capsule's pointer on them); a consumer moves
        // them out and leaves them released, and dropping a released one does nothing.
        Ok((PyCapsule::new_with_value(py, schema, SCHEMA)?, PyCapsule::new_with_value(py, array, ARRAY)?))
    }
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

/// Column buffers of arrays that pyarrow has released, kept for the next `execute_arrow`: a
/// 100,000-event call fills 70 MB of output, and fresh pages cost a quarter of the call in page
/// faults. At most `POOL_BYTES` are kept, of buffers of at least `POOL_MIN` bytes.
static POOL: std::sync::Mutex<Vec<Vec<u8>>> = std::sync::Mutex::new(Vec::new());
const POOL_BYTES: usize = 256 << 20;
const POOL_MIN: usize = 1 << 20;

/// An empty buffer to append a column to: the largest kept one, whose pages are already the
/// process's, or else a new one.
pub fn reused_buffer() -> Vec<u8> {
    // The pools are caches: one busy (or left locked by a thread that was not forked along)
    // is passed over.
    let Ok(mut pool) = POOL.try_lock() else { return Vec::new() };
    let largest = pool.iter().enumerate().max_by_key(|(_, v)| v.capacity()).map(|(i, _)| i);
    let mut v = largest.map(|i| pool.swap_remove(i)).unwrap_or_default();
    v.clear();
    v
}

/// Gives its buffer back to the pool when the array holding it is released.
struct Pooled(Vec<u8>);

impl Drop for Pooled {
    fn drop(&mut self) {
        let v = std::mem::take(&mut self.0);
        if let (true, Ok(mut pool)) = (v.capacity() >= POOL_MIN, POOL.try_lock()) {
            if pool.iter().map(Vec::capacity).sum::<usize>() + v.capacity() <= POOL_BYTES {
                pool.push(v);
            }
        }
    }
}

/// `data` as an Arrow buffer that goes back to the pool when released.
pub fn pooled_buffer(data: Vec<u8>) -> arrow_buffer::Buffer {
    let ptr = std::ptr::NonNull::new(data.as_ptr().cast_mut()).expect("a Vec's pointer is never null");
    let len = data.len();
    let owner: Arc<Pooled> = Arc::new(Pooled(data));
    // SAFETY: `ptr` and `len` are the Vec's, whose heap buffer does not move when the Vec moves
    // into `owner`; the Arc keeps it, unchanged, until the buffer and every slice of it is gone.
    unsafe { arrow_buffer::Buffer::from_custom_allocation(ptr, len, owner) }
}

/// `data` (the bytes of whole `str`s, in order) as a string array, without checking again that
/// it is UTF-8.
pub fn string_array(offsets: OffsetBuffer<i32>, data: Vec<u8>, nulls: Option<NullBuffer>) -> StringArray {
    debug_assert!(std::str::from_utf8(&data).is_ok());
    // SAFETY: every caller builds `data` by concatenating the bytes of Rust `str`s at `offsets`
    // (arrow_out::Table), so each value is UTF-8, and the offsets are the running sums of their
    // lengths, starting at 0 and ending at `data.len()`.
    unsafe { StringArray::new_unchecked(offsets, pooled_buffer(data), nulls) }
}
