//! `StateMachine`: a compiled definition and its executions, one at a time (`execute`), in a
//! batch on the pool (`execute_many`), as an ordered stream (`stream`), and under asyncio
//! (`execute_async`). Every wait releases the GIL, and on the main thread looks for signals, so
//! that Ctrl-C stops a long call promptly: its executions in flight end ABORTED and
//! KeyboardInterrupt is raised (a second Ctrl-C stops waiting for them). Batches and streams are
//! refused inside handlers on the pool or the async handlers' loop, where they would wait for
//! the thread they run on.

use crate::handlers::{self, PyHandler};
use crate::result::{now_us, ExecutionResult};
use crate::settle::{self, Settler};
use crate::{admit, arrow_out, json, pool, raw};
use aslrt::{Cancel, Clock, ErrorKind, Outcome, RuntimeLimits, Scratch};
use crossbeam_channel as mpsc;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often a call waiting on the pool looks for signals (Ctrl-C).
const SIGNAL_CHECK: Duration = Duration::from_millis(50);

/// A state machine compiled from its Amazon States Language definition, with its Task
/// handlers. Immutable: share it between threads freely.
#[pyclass(frozen, module = "aslrt", name = "StateMachine")]
pub struct StateMachine {
    machine: aslrt::StateMachine,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::new());
}

/// The definition as text: a `str`, UTF-8 `bytes`, or a `dict` or other mapping (written by
/// `json.dumps`).
fn definition_text(definition: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = definition.cast::<PyString>() {
        return Ok(s.to_cow()?.into_owned());
    }
    if let Ok(b) = definition.cast::<PyBytes>() {
        return String::from_utf8(b.as_bytes().to_vec())
            .map_err(|e| PyValueError::new_err(format!("the definition is not UTF-8: {e}")));
    }
    if definition.cast::<PyDict>().is_ok() {
        return json::dumps(definition);
    }
    if is_mapping(definition)? {
        return json::dumps(PyDict::from_sequence(&definition.call_method0("items")?)?.as_any());
    }
    Err(PyTypeError::new_err(format!(
        "the definition must be a str, bytes or dict, not {}",
        definition.get_type().name()?
    )))
}

/// Whether `object` is a `collections.abc.Mapping`.
fn is_mapping(object: &Bound<'_, PyAny>) -> PyResult<bool> {
    object.is_instance(&json::helper(object.py(), "collections.abc", "Mapping")?)
}

/// `limits` (a mapping of `RuntimeLimits`' fields) over the defaults.
fn runtime_limits(limits: &Bound<'_, PyAny>) -> PyResult<RuntimeLimits> {
    let mut l = RuntimeLimits::default();
    let items = limits.call_method0("items").map_err(|_| PyTypeError::new_err("limits must be a mapping"))?;
    for item in items.try_iter()? {
        let (key, value): (String, Bound<'_, PyAny>) = item?.extract()?;
        let number = || -> PyResult<u64> {
            value
                .extract::<u64>()
                .map_err(|_| PyValueError::new_err(format!("limits['{key}'] must be a whole number >= 0")))
        };
        if !RuntimeLimits::SETTINGS.contains(&key.as_str()) {
            // Named before the value is read: a misspelt key is the likelier mistake.
            return Err(PyValueError::new_err(l.set(&key, 0).expect_err("an unknown limit")));
        }
        l.set(&key, number()?).map_err(PyValueError::new_err)?;
    }
    Ok(l)
}

/// `aslrt.DefinitionError` for a definition that did not compile.
fn definition_error(py: Python<'_>, e: aslrt::Error) -> PyErr {
    let made = (|| -> PyResult<PyErr> {
        let diagnostic = json::helper(py, "aslrt._errors", "Diagnostic")?;
        let list = PyList::empty(py);
        if let ErrorKind::InvalidDefinition(diagnostics) = e.kind() {
            for d in diagnostics {
                let message = match &d.note {
                    Some(note) => format!("{} ({note})", d.message),
                    None => d.message.clone(),
                };
                list.append(diagnostic.call1((d.code, d.location.as_str(), message))?)?;
            }
        }
        let class = json::helper(py, "aslrt._errors", "DefinitionError")?;
        Ok(PyErr::from_value(class.call1((e.to_string(), list))?))
    })();
    made.unwrap_or_else(|err| err)
}

fn pool_error(e: String) -> PyErr {
    PyValueError::new_err(e)
}

/// Refuses a batch or a stream from a handler running on a pool worker: it would wait for
/// workers, one of which it holds (with one thread, or all of them in such handlers, for ever).
fn not_on_a_worker(py: Python<'_>, what: &str) -> PyResult<()> {
    if std::thread::current().name().is_some_and(|n| n.starts_with("aslrt-worker")) || on_async_loop(py)? {
        return Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
            "{what} cannot run inside a handler on aslrt's pool or event loop: it would wait for the \
             thread it runs on (use execute there)"
        )));
    }
    Ok(())
}

/// Whether this is the thread of the event loop async handlers run on (`aslrt/_loop.py`).
fn on_async_loop(py: Python<'_>) -> PyResult<bool> {
    let thread = py.import("threading")?.call_method0("current_thread")?;
    Ok(thread.getattr("name")?.extract::<String>()? == "aslrt-asyncio")
}

/// Whether this is Python's main thread, the one signals reach.
fn on_main_thread(py: Python<'_>) -> PyResult<bool> {
    let threading = py.import("threading")?;
    Ok(threading.call_method0("current_thread")?.is(&threading.call_method0("main_thread")?))
}

/// Runs `events` on `rt` with the GIL released, making each result with `map` on its worker;
/// Ctrl-C (a signal's exception) stops the batch, its executions ABORTED, and is given beside
/// the results (`Err` only when the batch was given up on, before it ended).
pub fn run_batch<T: Send + 'static, C>(
    py: Python<'_>,
    rt: &Arc<pool::Pool>,
    machine: &aslrt::StateMachine,
    events: Vec<raw::View>,
    start: impl Fn(usize) -> C + Send + Sync + 'static,
    map: impl Fn(&mut C, aslrt::Execution<'_>) -> T + Send + Sync + 'static,
) -> PyResult<(Vec<T>, Option<PyErr>)> {
    let cancel = Cancel::new();
    let (tx, rx) = mpsc::unbounded();
    let (machine, batch_cancel, pool) = (machine.clone(), cancel.clone(), Arc::clone(rt));
    std::thread::Builder::new()
        .name("aslrt-batch".into())
        .spawn(move || {
            let _ = tx.send(pool.execute_batch_chunked(&machine, events, Some(&batch_cancel), start, map));
        })
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(format!("starting a batch: {e}")))?;
    wait_signalled(py, &rx, || cancel.cancel())
}

/// Waits on `rx` with the GIL released, looking for signals every `SIGNAL_CHECK`; on a signal's
/// exception, calls `stop` and keeps waiting until `rx` gives. Returns what it gave, and the
/// signal's exception if one came; a second signal's exception at once, without it.
fn wait_signalled<T: Send>(py: Python<'_>, rx: &mpsc::Receiver<T>, stop: impl Fn()) -> PyResult<(T, Option<PyErr>)> {
    let mut raised: Option<PyErr> = None;
    loop {
        match py.detach(|| rx.recv_timeout(SIGNAL_CHECK)) {
            Ok(v) => return Ok((v, raised)),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Err(e) = py.check_signals() {
                    if raised.is_some() {
                        // A second Ctrl-C while the stopped work winds down (a handler that does
                        // not return, say): give up waiting. What was running is left to end on
                        // its own, and its results are dropped.
                        return Err(e);
                    }
                    stop();
                    raised = Some(e);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(raised.unwrap_or_else(|| {
                    pyo3::exceptions::PyRuntimeError::new_err("aslrt: the pool dropped a result (a bug in aslrt)")
                }))
            }
        }
    }
}

#[pymethods]
impl StateMachine {
    /// Compiles `definition` (a str, bytes or dict) with `handlers`, a dict from a Resource
    /// ARN, a Lambda function name or a prefix ending in `*` to a callable `fn(input) ->
    /// output` (or `async def`). `limits` overrides `RuntimeLimits` (a dict). `clock` is
    /// `"system"` (a Wait waits), `"virtual"` (waits advance a virtual clock at once) or
    /// `"zero-delay"` (retry back-off takes no time either); `seed` fixes the random source
    /// (States.UUID, States.MathRandom, jitter). `allowed_resources`, an iterable of Resource
    /// ARNs, patterns (`*`, `?`) or Lambda function names, is what Tasks may invoke: a Task
    /// naming another does not compile, and a `lambda:invoke` FunctionName outside them fails
    /// its Task with `Lambda.AWSLambdaException`. Raises `aslrt.DefinitionError`, with every
    /// diagnostic, when the definition is not valid.
    #[new]
    #[pyo3(signature = (definition, handlers=None, *, limits=None, clock="system", seed=None, allowed_resources=None))]
    fn new(
        py: Python<'_>,
        definition: &Bound<'_, PyAny>,
        handlers: Option<&Bound<'_, PyAny>>,
        limits: Option<&Bound<'_, PyAny>>,
        clock: &str,
        seed: Option<u64>,
        allowed_resources: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<StateMachine> {
        let text = definition_text(definition)?;
        let mut builder = aslrt::StateMachine::builder();
        if let Some(handlers) = handlers.filter(|h| !h.is_none()) {
            if !is_mapping(handlers)? {
                return Err(PyTypeError::new_err("handlers must be a dict (or another mapping)"));
            }
            for item in handlers.call_method0("items")?.try_iter()? {
                let (resource, f): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
                let resource: String =
                    resource.extract().map_err(|_| PyTypeError::new_err("a handler's key must be a str"))?;
                if resource.is_empty() {
                    return Err(PyValueError::new_err("a handler's key must not be empty"));
                }
                builder = builder.handler(resource, PyHandler::new(&f)?);
            }
        }
        if let Some(limits) = limits.filter(|l| !l.is_none()) {
            builder = builder.limits(runtime_limits(limits)?);
        }
        builder = builder.seed(seed).clock(match clock {
            "system" => Clock::System,
            "virtual" => Clock::Virtual { start_millis: None },
            "zero-delay" => Clock::ZeroDelay,
            other => {
                return Err(PyValueError::new_err(format!(
                    "clock must be 'system', 'virtual' or 'zero-delay', not {other:?}"
                )))
            }
        });
        if let Some(allowed) = allowed_resources.filter(|a| !a.is_none()) {
            if allowed.is_instance_of::<PyString>() {
                return Err(PyTypeError::new_err("allowed_resources takes an iterable of str, not one str"));
            }
            let patterns = allowed
                .try_iter()?
                .map(|p| p?.extract::<String>().map_err(|_| PyTypeError::new_err("allowed_resources holds str only")))
                .collect::<PyResult<Vec<String>>>()?;
            builder = builder.allow_resources(patterns);
        }
        let machine = py.detach(|| builder.compile(&text)).map_err(|e| definition_error(py, e))?;
        Ok(StateMachine { machine })
    }

    /// Runs one execution with the GIL released and returns its `ExecutionResult`: on the
    /// calling thread, except on the main thread when the machine may wait (a Wait on the
    /// system clock, an async handler): then on the pool, so that Ctrl-C can stop it. `input`
    /// is a JSON str or bytes, or any JSON-able value; malformed JSON is a FAILED result, not an
    /// exception.
    fn execute(&self, py: Python<'_>, input: &Bound<'_, PyAny>) -> PyResult<ExecutionResult> {
        let event = json::input_bytes(input)?;
        let start = now_us();
        if self.machine.may_suspend() && on_async_loop(py)? {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "execute of a machine that may wait cannot run inside an async handler: it would block the \
                 event loop its own async handlers need (await sm.execute_async(...) there)",
            ));
        }
        if self.machine.may_suspend() && on_main_thread(py)? {
            // It may wait (a Wait on the system clock, an async handler): on the pool, so that
            // this thread, the one Ctrl-C reaches, can look for it meanwhile and stop it. Other
            // threads run it themselves, as before (their handlers stay on their thread).
            let rt = pool::runtime(None).map_err(pool_error)?;
            let (tx, rx) = mpsc::unbounded();
            let id = rt.submit(&self.machine, event, move |outcome: Outcome| {
                let _ = tx.send(ExecutionResult::new(&outcome.as_execution(), start));
            });
            let (result, raised) = wait_signalled(py, &rx, || {
                rt.cancel(id);
            })?;
            return raised.map_or(Ok(result), Err);
        }
        let cancel = Cancel::new();
        let machine = &self.machine;
        let (result, raised) = py.detach(|| {
            handlers::watching(&cancel, || {
                SCRATCH.with(|s| match s.try_borrow_mut() {
                    Ok(mut scratch) => {
                        ExecutionResult::new(&machine.execute_cancellable(&mut scratch, &event, &cancel), start)
                    }
                    // A handler executing a machine on this thread: a scratch of its own.
                    Err(_) => {
                        ExecutionResult::new(&machine.execute_cancellable(&mut Scratch::new(), &event, &cancel), start)
                    }
                })
            })
        });
        raised.map_or(Ok(result), Err)
    }

    /// Runs every input on the work-stealing pool (`threads` workers; default one per core)
    /// with the GIL released, and returns their results in input order. Executions that may
    /// wait (async handlers, Waits) all start at once: bound them with `stream(max_in_flight=…)`.
    #[pyo3(signature = (inputs, *, threads=None))]
    fn execute_many(&self, py: Python<'_>, inputs: &Bound<'_, PyAny>, threads: Option<usize>) -> PyResult<Py<PyList>> {
        not_on_a_worker(py, "execute_many")?;
        if inputs.is_instance_of::<PyString>() || inputs.is_instance_of::<PyBytes>() {
            return Err(PyTypeError::new_err(
                "execute_many takes an iterable of events, not one event (a str or bytes): use execute",
            ));
        }
        let rt = pool::runtime(threads).map_err(pool_error)?;
        let events = raw::inputs(inputs)?;
        let start = now_us();
        let results = raw::run_batch(py, &rt, &self.machine, events, move |e| ExecutionResult::new(&e, start))?;
        let objects = results.into_iter().map(|r| raw::untracked(py, r)).collect::<PyResult<Vec<_>>>()?;
        Ok(PyList::new(py, objects)?.unbind())
    }

    /// Runs a pyarrow array (or chunked array) of JSON events, `string`, `large_string`,
    /// `binary`, `large_binary` or their views, on the pool, and returns a pyarrow
    /// `StructArray` of `status`, `output`, `error` and `cause` (strings), one row per event,
    /// with no Python object made per event. A null event is a FAILED row.
    #[pyo3(signature = (array, *, threads=None))]
    fn execute_arrow<'py>(
        &self,
        py: Python<'py>,
        array: &Bound<'py, PyAny>,
        threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyAny>> {
        not_on_a_worker(py, "execute_arrow")?;
        let pa = py.import("pyarrow").map_err(|e| {
            pyo3::exceptions::PyImportError::new_err(format!("execute_arrow needs pyarrow (pip install pyarrow): {e}"))
        })?;
        let array = if array.is_instance(&pa.getattr("ChunkedArray")?)? {
            array.call_method0("combine_chunks")?
        } else {
            array.clone()
        };
        if !array.hasattr("__arrow_c_array__")? {
            return Err(PyTypeError::new_err(format!(
                "execute_arrow takes a pyarrow array of JSON events, not {}",
                array.get_type().name()?
            )));
        }
        let (events, present) = raw::arrow_inputs(raw::import_array(&array)?).map_err(PyTypeError::new_err)?;
        let rt = pool::runtime(threads).map_err(pool_error)?;
        let table = arrow_out::Table::new(&present);
        let runs = Arc::clone(&table);
        raw::run_batch_chunked(py, &rt, &self.machine, events, move |first| runs.run(first), arrow_out::Run::push)?;
        let table = py.detach(|| table.finish()).map_err(PyValueError::new_err)?;
        pa.call_method1("array", (raw::ArrowCapsules::new(&table)?,))
    }

    /// Runs the items of `iterable` on the pool and yields `(item, result)` in input order,
    /// while up to `max_in_flight` later items already run: commit an item (a Kafka offset)
    /// only once it has been yielded, for at-least-once processing. `event(item)` gives an
    /// item's input when the item is not the input itself (a Kafka message: `event=lambda m:
    /// m.value()`).
    #[pyo3(signature = (iterable, *, threads=None, max_in_flight=1024, event=None))]
    fn stream(
        &self,
        py: Python<'_>,
        iterable: &Bound<'_, PyAny>,
        threads: Option<usize>,
        max_in_flight: usize,
        event: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Stream> {
        not_on_a_worker(py, "stream")?;
        if max_in_flight == 0 {
            return Err(PyValueError::new_err("max_in_flight must be at least 1"));
        }
        let rt = pool::runtime(threads).map_err(pool_error)?;
        let (tx, rx) = mpsc::unbounded();
        Ok(Stream {
            state: Mutex::new(StreamState {
                machine: self.machine.clone(),
                rt,
                source: Some(iterable.try_iter()?.unbind().into_any()),
                event: event.filter(|e| !e.is_none()).map(Bound::unbind),
                failed: None,
                max_in_flight,
                in_flight: VecDeque::new(),
                ended: BTreeMap::new(),
                next_seq: 0,
                tx,
                rx,
            }),
        })
    }

    /// Runs one execution on the pool for asyncio: `await sm.execute_async(input)`. Cancelling
    /// the awaiting task stops the execution (it ends ABORTED). At most
    /// `aslrt.max_async_in_flight()` such executions run at once; past it, the execution waits
    /// its turn without blocking the event loop (see `execute_when_room`); one a handler
    /// starts goes past it, since its own execution holds a place.
    fn execute_async<'py>(&self, py: Python<'py>, input: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
        self.start_async(&event_loop, input, None)
    }

    /// Waits for room under `aslrt.max_async_in_flight()`, starts the execution, and gives the
    /// future of its result: `result = await (await sm.execute_when_room(input))`. A producer
    /// that awaits it before taking its next event goes no faster than executions end.
    /// Cancelled while it waits, it has started nothing.
    fn execute_when_room<'py>(&self, py: Python<'py>, input: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
        let admitted = event_loop.call_method0("create_future")?;
        self.start_async(&event_loop, input, Some(&admitted))?;
        Ok(admitted)
    }

    fn __repr__(&self) -> String {
        "StateMachine(...)".into()
    }
}

impl StateMachine {
    /// Admits an asyncio execution of `input` (see `admit`) on `event_loop`, the running loop,
    /// and gives the future of its result; `admitted`, if given, is settled with that future
    /// once the execution starts. A handler's nested execution, on the handlers' loop, goes
    /// past the bound: its own execution holds a place, and if every place were held so, none
    /// would end.
    fn start_async<'py>(
        &self,
        event_loop: &Bound<'py, PyAny>,
        input: &Bound<'py, PyAny>,
        admitted: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = event_loop.py();
        let event = json::input_bytes(input)?;
        let fut = event_loop.call_method0("create_future")?;
        let rt = pool::runtime(None).map_err(pool_error)?;
        let settler = Settler::of(event_loop);
        let on_start = admitted.map(|admitted| {
            let (settler, admitted, fut) = (Arc::clone(&settler), admitted.clone().unbind(), fut.clone().unbind());
            Box::new(move || settler.settle(admitted, settle::Value::Object(fut))) as Box<dyn FnOnce() + Send>
        });
        let fut_ref = fut.clone().unbind();
        let done = Box::new(move |outcome: Outcome, start: i64| {
            settler.settle(fut_ref, settle::Value::Result(ExecutionResult::new(&outcome.as_execution(), start)));
        });
        let start = admit::Start { rt, machine: self.machine.clone(), event, done, on_start };
        // On the loop async handlers run on: a handler's own execution holds a place.
        let nested = json::helper(py, "aslrt._loop", "_loop")?.is(event_loop);
        let ticket = admit::admit(start, nested);
        fut.call_method1("add_done_callback", (StopOnCancel { ticket: Arc::clone(&ticket) },))?;
        if let Some(admitted) = admitted {
            admitted.call_method1("add_done_callback", (StopOnCancel { ticket },))?;
        }
        Ok(fut)
    }
}

/// Stops an asyncio execution, or takes it out of its turn for room, when a future of it (its
/// result's, or `execute_when_room`'s) is cancelled.
#[pyclass]
struct StopOnCancel {
    ticket: Arc<admit::Ticket>,
}

#[pymethods]
impl StopOnCancel {
    fn __call__(&self, fut: &Bound<'_, PyAny>) -> PyResult<()> {
        if fut.call_method0("cancelled")?.is_truthy()? {
            self.ticket.cancel();
        }
        Ok(())
    }
}

/// The iterator `StateMachine.stream` returns.
#[pyclass(module = "aslrt", name = "Stream")]
pub struct Stream {
    state: Mutex<StreamState>,
}

struct StreamState {
    machine: aslrt::StateMachine,
    rt: Arc<pool::Pool>,
    /// The items' iterator, until it is exhausted.
    source: Option<Py<PyAny>>,
    /// What makes an item's input, when it is not the item itself.
    event: Option<Py<PyAny>>,
    /// Why taking items stopped early, raised after the items before it are yielded.
    failed: Option<PyErr>,
    max_in_flight: usize,
    /// Items submitted and not yet yielded, oldest first: the item, its sequence number and its
    /// execution's id.
    in_flight: VecDeque<(Py<PyAny>, u64, u64)>,
    /// Results that came before their turn, by sequence number.
    ended: BTreeMap<u64, ExecutionResult>,
    next_seq: u64,
    tx: mpsc::Sender<(u64, ExecutionResult)>,
    rx: mpsc::Receiver<(u64, ExecutionResult)>,
}

impl StreamState {
    /// Takes items from the source and submits them until `max_in_flight` are in flight or the
    /// source is exhausted.
    /// Stops taking items as soon as the oldest one's result is in, so that a slow source does
    /// not hold back results that are ready. An item that fails (the source raises, `event`
    /// raises, or the input is no JSON) ends the taking; its exception is raised once the items
    /// before it have been yielded. A `BaseException` that is no `Exception` (Ctrl-C while the
    /// source waits for a message, `SystemExit`) is returned instead, to be raised at once.
    fn fill(&mut self, py: Python<'_>) -> Option<PyErr> {
        while self.in_flight.len() < self.max_in_flight {
            while let Ok((seq, result)) = self.rx.try_recv() {
                self.ended.insert(seq, result);
            }
            if self.in_flight.front().is_some_and(|(_, seq, _)| self.ended.contains_key(seq)) {
                return None;
            }
            let Some(source) = &self.source else { return None };
            let event = (|| -> PyResult<Option<(Bound<'_, PyAny>, Vec<u8>)>> {
                let Some(item) = source.bind(py).cast::<pyo3::types::PyIterator>()?.clone().next() else {
                    return Ok(None);
                };
                let item = item?;
                let event = match &self.event {
                    Some(f) => json::input_bytes(&f.bind(py).call1((&item,))?)?,
                    None => json::input_bytes(&item)?,
                };
                Ok(Some((item, event)))
            })();
            let (item, event) = match event {
                Ok(Some(taken)) => taken,
                Ok(None) => {
                    self.source = None;
                    return None;
                }
                Err(e) if !e.is_instance_of::<pyo3::exceptions::PyException>(py) => return Some(e),
                Err(e) => {
                    self.source = None;
                    self.failed = Some(e);
                    return None;
                }
            };
            let (seq, tx, start) = (self.next_seq, self.tx.clone(), now_us());
            self.next_seq += 1;
            let id = self.rt.submit(&self.machine, event, move |outcome: Outcome| {
                let _ = tx.send((seq, ExecutionResult::new(&outcome.as_execution(), start)));
            });
            self.in_flight.push_back((item.unbind(), seq, id));
        }
        None
    }

    /// Stops every execution in flight without waiting for them; their results, should they
    /// still come, are never yielded.
    fn abandon(&mut self) {
        for (_, _, id) in &self.in_flight {
            self.rt.cancel(*id);
        }
        self.in_flight.clear();
        self.ended.clear();
        self.source = None;
        self.failed = None;
        let (tx, rx) = mpsc::unbounded();
        (self.tx, self.rx) = (tx, rx);
    }
}

#[pymethods]
impl Stream {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<(Py<PyAny>, Py<ExecutionResult>)>> {
        // As a generator: a stream is not iterated from two threads, nor from inside itself
        // (its source or `event`), at once.
        let mut state = match self.state.try_lock() {
            Ok(state) => state,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return Err(PyValueError::new_err("stream already executing")),
        };
        if let Some(interrupted) = state.fill(py) {
            // As a Ctrl-C while waiting for a result: what is in flight is stopped, not waited for.
            state.abandon();
            return Err(interrupted);
        }
        let Some(&(_, seq, _)) = state.in_flight.front() else {
            return state.failed.take().map_or(Ok(None), Err);
        };
        while !state.ended.contains_key(&seq) {
            let got = {
                let st = &*state;
                let rt = Arc::clone(&st.rt);
                let ids: Vec<u64> = st.in_flight.iter().map(|(_, _, id)| *id).collect();
                wait_signalled(py, &st.rx, || {
                    for id in &ids {
                        rt.cancel(*id);
                    }
                })
            };
            let (ended, raised) = match got {
                Ok(got) => got,
                Err(e) => {
                    // Given up on (a second Ctrl-C): stopped, not waited for.
                    state.abandon();
                    return Err(e);
                }
            };
            state.ended.insert(ended.0, ended.1);
            if let Some(e) = raised {
                // Stopped; what is still winding down (a handler that does not return) is not
                // waited for, so that nothing here can hang.
                state.abandon();
                return Err(e);
            }
        }
        let (item, _, _) = state.in_flight.pop_front().expect("the front was just read");
        let result = state.ended.remove(&seq).expect("the front's result was just found");
        Ok(Some((item, raw::untracked(py, result)?)))
    }

    /// Ends the stream: executions in flight are stopped (ABORTED) and their items never
    /// yielded; later `next()` calls end at once.
    fn close(&self) -> PyResult<()> {
        let Ok(mut state) = self.state.try_lock() else {
            return Err(PyValueError::new_err("stream already executing"));
        };
        state.abandon();
        Ok(())
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        // Executions still in flight when the consumer stops reading are stopped; their results
        // were never yielded, so a consumer committing after each yield loses nothing.
        let state = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        for (_, _, id) in &state.in_flight {
            state.rt.cancel(*id);
        }
    }
}
