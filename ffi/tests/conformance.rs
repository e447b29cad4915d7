//! The AWS-recorded corpus through the C API: each case compiled with `aslrt_builder_*` (its
//! handlers as C callbacks, a virtual clock, seed 0), run with `aslrt_machine_execute` on the
//! calling thread and again with `aslrt_runtime_execute_batch` on a pool (where a machine with C
//! handlers runs suspendable, with a journal), then on a pool from `aslrt_runtime_builder_*`
//! that replays every run from the start, its handlers answering from threads of their own
//! after returning `ASLRT_TASK_PENDING` (so that every Task suspends), and judged each time as
//! `aslrt conformance` judges it. The pass count must be the CLI's: every case (538), all
//! three ways.

use aslrt::internal::conformance::{verdict, Case};
use aslrt::{Outcome, Status};
use aslrt_ffi::abi::*;
use serde_json::Value as Json;
use std::ffi::c_void;
use std::path::PathBuf;

/// What a case's handler does (the corpus' `{"kind": …}` specs).
enum Spec {
    Echo,
    Return(String),
    Raise(String, String),
}

/// A handler's userdata: its spec, and whether it answers after returning
/// `ASLRT_TASK_PENDING`, from a thread of its own, rather than during the call.
struct Handler {
    spec: Spec,
    later: bool,
}

fn view(s: &str) -> aslrt_str {
    aslrt_str { ptr: s.as_ptr().cast(), len: s.len() }
}

/// Answers `reply` as `spec` says; `input` is the handler's input.
///
/// # Safety
/// `reply` must be a reply from a handler call, not yet answered.
unsafe fn answer(spec: &Spec, input: aslrt_str, reply: *mut aslrt_task_reply) -> aslrt_status {
    // SAFETY: as the caller promises.
    unsafe {
        match spec {
            Spec::Echo => aslrt_task_reply_ok(reply, input),
            Spec::Return(json) => aslrt_task_reply_ok(reply, view(json)),
            Spec::Raise(error, cause) => aslrt_task_reply_fail(reply, view(error), view(cause)),
        }
    }
}

/// Later answers the library refused (a panic in their threads would not fail the test).
static REFUSED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

unsafe extern "C" fn spec_handler(userdata: *mut c_void, input: aslrt_str, reply: *mut aslrt_task_reply) -> i32 {
    // SAFETY: the userdata registered below is a live `Handler` for the whole case.
    let handler = unsafe { &*(userdata as *const Handler) };
    if !handler.later {
        // SAFETY: `reply` is the handler call's own.
        return (unsafe { answer(&handler.spec, input, reply) } != aslrt_status::ASLRT_OK) as i32;
    }
    // The input view lives only during the call; the reply is only compared, never read.
    let (input, reply, userdata) = (text(input).unwrap_or_default(), reply as usize, userdata as usize);
    std::thread::spawn(move || {
        // SAFETY: the handler outlives the execution, which waits for this answer.
        let handler = unsafe { &*(userdata as *const Handler) };
        // SAFETY: the reply of the call above, answered once, here.
        let status = unsafe { answer(&handler.spec, view(&input), reply as *mut aslrt_task_reply) };
        if status != aslrt_status::ASLRT_OK {
            REFUSED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    });
    ASLRT_TASK_PENDING
}

fn text(v: aslrt_str) -> Option<String> {
    // SAFETY: a view from a live result.
    (!v.ptr.is_null())
        .then(|| unsafe { String::from_utf8_lossy(std::slice::from_raw_parts(v.ptr.cast(), v.len)).into_owned() })
}

fn last_error() -> String {
    // SAFETY: a NULL buffer with capacity 0 asks for the length; then a buffer of that size.
    let n = unsafe { aslrt_last_error(std::ptr::null_mut(), 0) };
    let mut buf = vec![0u8; n + 1];
    unsafe { aslrt_last_error(buf.as_mut_ptr().cast(), buf.len()) };
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Runs one case through the C API: on the calling thread, or on `pool` when given, with
/// handlers that answer `later` or during their call.
fn run(case: &Case, pool: Option<*mut aslrt_runtime>, later: bool) -> Result<Outcome, String> {
    let specs: Vec<(String, Box<Handler>)> = match &case.handlers {
        Some(Json::Object(map)) => map
            .iter()
            .map(|(resource, spec)| {
                let spec = match spec["kind"].as_str() {
                    Some("echo") => Spec::Echo,
                    Some("return") => Spec::Return(spec.get("value").unwrap_or(&Json::Null).to_string()),
                    _ => Spec::Raise(
                        spec["error"].as_str().unwrap_or("Exception").to_owned(),
                        spec["cause"].as_str().unwrap_or("").to_owned(),
                    ),
                };
                (resource.clone(), Box::new(Handler { spec, later }))
            })
            .collect(),
        _ => Vec::new(),
    };
    let definition = case.definition.to_string();
    let input = case.input.to_string();
    // SAFETY: the calls as the header describes them; every view outlives its call, the specs
    // outlive the machine, and the machine and result are freed once.
    unsafe {
        let builder = aslrt_builder_new();
        for (resource, spec) in &specs {
            let userdata = &**spec as *const Handler as *mut c_void;
            assert_eq!(
                aslrt_builder_add_handler(builder, view(resource), Some(spec_handler), userdata),
                aslrt_status::ASLRT_OK
            );
        }
        assert_eq!(
            aslrt_builder_set_clock(builder, aslrt_clock::ASLRT_CLOCK_VIRTUAL as i32, -1),
            aslrt_status::ASLRT_OK
        );
        assert_eq!(aslrt_builder_set_seed(builder, 0), aslrt_status::ASLRT_OK);
        let mut machine = std::ptr::null_mut();
        if aslrt_builder_compile(builder, view(&definition), &mut machine) != aslrt_status::ASLRT_OK {
            return Err(last_error());
        }
        let mut result = std::ptr::null_mut();
        match pool {
            None => assert_eq!(aslrt_machine_execute(machine, view(&input), &mut result), aslrt_status::ASLRT_OK),
            Some(rt) => {
                let inputs = [view(&input)];
                let status = aslrt_runtime_execute_batch(rt, machine, inputs.as_ptr(), 1, &mut result);
                assert_eq!(status, aslrt_status::ASLRT_OK);
            }
        }
        let status = match aslrt_result_status(result) {
            aslrt_execution_status::ASLRT_SUCCEEDED => Status::Succeeded,
            aslrt_execution_status::ASLRT_FAILED => Status::Failed,
            aslrt_execution_status::ASLRT_TIMED_OUT => Status::TimedOut,
            aslrt_execution_status::ASLRT_ABORTED => Status::Aborted,
        };
        let outcome = Outcome {
            status,
            transitions: 0,
            output: text(aslrt_result_output(result)),
            error: text(aslrt_result_error(result)),
            cause: text(aslrt_result_cause(result)),
        };
        aslrt_result_free(result);
        aslrt_machine_free(machine);
        Ok(outcome)
    }
}

#[test]
fn the_corpus_passes_through_the_c_api() {
    let dir = std::env::var_os("ASLRT_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance"));
    if !dir.is_dir() {
        assert!(
            std::env::var_os("ASLRT_ALLOW_MISSING_CORPUS").is_some_and(|v| v == "1"),
            "no conformance corpus at {}: set ASLRT_CONFORMANCE_DIR, or ASLRT_ALLOW_MISSING_CORPUS=1 to skip",
            dir.display()
        );
        return;
    }
    let (mut passed, mut failed) = (0, Vec::new());
    let pool = aslrt_runtime_new(2);
    let replaying = aslrt_runtime_builder_new(2);
    let mut replaying_pool = std::ptr::null_mut();
    // SAFETY: a live builder from aslrt_runtime_builder_new, consumed by the build.
    unsafe {
        assert_eq!(aslrt_runtime_builder_set_replay_from_start(replaying, true), aslrt_status::ASLRT_OK);
        assert_eq!(aslrt_runtime_builder_build(replaying, &mut replaying_pool), aslrt_status::ASLRT_OK);
    }
    for file in ["cases.jsonl", "task-cases.jsonl"] {
        let text =
            std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(file).display()));
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let case = Case::from_json_line(line).unwrap_or_else(|e| panic!("{file}: {e}"));
            let ways = [
                ("aslrt_machine_execute", None, false),
                ("aslrt_runtime_execute_batch", Some(pool), false),
                ("aslrt_runtime_execute_batch, answering later, replaying", Some(replaying_pool), true),
            ];
            for (way, on, later) in ways {
                if verdict(&case, run(&case, on, later)).passed {
                    passed += 1;
                } else {
                    failed.push(format!("{} ({way})", case.id));
                }
            }
        }
    }
    // SAFETY: the pools from above, each freed once.
    unsafe {
        aslrt_runtime_free(pool);
        aslrt_runtime_free(replaying_pool);
    }
    println!("C API conformance, three ways: {passed} passed, {} failed", failed.len());
    assert!(failed.is_empty(), "{} cases fail through the C API: {failed:?}", failed.len());
    assert_eq!(REFUSED.load(std::sync::atomic::Ordering::Relaxed), 0, "later answers were refused");
    assert!(passed > 0, "no case in {}", dir.display());
}
