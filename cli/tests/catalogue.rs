//! The hostile-input catalogue (`runtime/tests/hostile/catalogue.jsonl`), each case through the
//! `aslrt` command under a 2 GiB address-space cap (`prlimit --as`) and a time cap (60 s, or the
//! case's `seconds`, for cases whose point is that they end quickly): every
//! case must end with its named outcome, and none with a signal, a panic or an exit code other
//! than 0 (an execution, whatever its status) or 1 (a definition refused).
//!
//! A case is `{"name", "definition", "input", "expect", "handlers"?, "seconds"?, "clock"?,
//! "front_ends"?}`. Handlers are the CLI's forms (`echo`, `return`, `raise`), run through the
//! command, or ones only a program can be, run here in process through the crate, with the same
//! caps in spirit (a thread given the case's time, and `RuntimeLimits`' arena cap): `panic`
//! (the handler panics), `sleep` (sleeps `millis`, then echoes). `non_json` needs a handler
//! that can return something other than JSON, which a Rust one cannot: such cases name the
//! front ends that run them (`front_ends`), the C API and Python. `clock` is `system` for a case
//! about real time (a handler's TimeoutSeconds); otherwise the clock is virtual. A text (definition or
//! input) is a string, `{"repeat": TEXT, "times": N}`, `{"concat": [TEXT, ...]}` or `{"hex":
//! "..."}` (raw bytes); a definition may also be `{"parallels": N}` (N nested Parallel states)
//! or `{"chain": N}` (N Pass states in a row). `expect` is `{"invalid": CODE}` or `{"invalid":
//! [CODE, ...]}` (exactly these definition diagnostics, in order), `{"too_large": true}`,
//! `{"bad_utf8": true}`, `{"status", "error"?, "python_error"?}` (the error a Python handler's
//! exception gives instead, by its class name), or `{"bounded": true}` (any result, within the
//! caps).

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The bytes a text stands for.
fn text(t: &Value) -> Vec<u8> {
    match t {
        Value::String(s) => s.clone().into_bytes(),
        Value::Array(parts) => parts.iter().flat_map(text).collect(),
        Value::Object(o) if o.contains_key("repeat") => {
            text(&o["repeat"]).repeat(o["times"].as_u64().expect("times") as usize)
        }
        Value::Object(o) if o.contains_key("concat") => text(&o["concat"]),
        Value::Object(o) if o.contains_key("hex") => {
            let hex = o["hex"].as_str().expect("hex");
            (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digits")).collect()
        }
        other => panic!("not a text: {other}"),
    }
}

fn definition(d: &Value) -> Vec<u8> {
    if let Some(n) = d.get("parallels").and_then(Value::as_u64) {
        return support::parallels(n).into_bytes();
    }
    if let Some(n) = d.get("chain").and_then(Value::as_u64) {
        return support::chain(n).into_bytes();
    }
    text(d)
}

/// Whether the case's handlers need a program (`panic`, `sleep`): not the CLI's forms.
fn native_handlers(case: &Value) -> bool {
    case.get("handlers")
        .and_then(Value::as_object)
        .is_some_and(|h| h.values().any(|spec| matches!(spec["kind"].as_str(), Some("panic" | "sleep"))))
}

/// Whether the expected outcome is `got` (a run's status and error).
fn as_expected(expect: &Value, status: &str, error: Option<&str>) -> bool {
    expect["status"] == status && expect.get("error").is_none_or(|e| e.as_str() == error)
}

/// Runs a case whose handlers need a program, in process, on a thread given its time.
fn run_in_process(case: &Value) -> Result<(), String> {
    use aslrt::{Clock, Config, Handlers, JsonFn, StateMachine};
    let mut handlers = Handlers::new();
    for (resource, spec) in case["handlers"].as_object().expect("handlers") {
        match spec["kind"].as_str() {
            Some("panic") => {
                let message = spec["message"].as_str().unwrap_or("panic").to_owned();
                handlers.insert(
                    resource.as_str(),
                    JsonFn(move |_| -> Result<serde_json::Value, aslrt::TaskError> { panic!("{message}") }),
                );
            }
            Some("sleep") => {
                let millis = spec["millis"].as_u64().expect("millis");
                handlers.insert(
                    resource.as_str(),
                    JsonFn(move |v| {
                        std::thread::sleep(std::time::Duration::from_millis(millis));
                        Ok(v)
                    }),
                );
            }
            other => panic!("{}: a handler kind the in-process runner does not know: {other:?}", case["name"]),
        }
    }
    let clock = match case.get("clock").and_then(Value::as_str) {
        Some("system") => Clock::System,
        _ => Clock::Virtual { start_millis: Some(0) },
    };
    let machine = StateMachine::builder()
        .handlers(handlers)
        .config(Config::default().clock(clock))
        .compile(std::str::from_utf8(&definition(&case["definition"])).expect("UTF-8"))
        .map_err(|e| format!("did not compile: {e}"))?;
    let input = text(&case["input"]);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut scratch = aslrt::Scratch::new();
        let run = machine.execute(&mut scratch, &input);
        let _ = tx.send((run.status.to_string(), run.error.map(str::to_owned), run.cause.map(str::to_owned)));
    });
    let seconds = case.get("seconds").and_then(Value::as_u64).unwrap_or(60);
    let (status, error, cause) = rx.recv_timeout(std::time::Duration::from_secs(seconds)).map_err(|e| match e {
        std::sync::mpsc::RecvTimeoutError::Timeout => format!("no result within {seconds} s"),
        std::sync::mpsc::RecvTimeoutError::Disconnected => "the execution's thread panicked".to_owned(),
    })?;
    if as_expected(&case["expect"], &status, error.as_deref()) {
        Ok(())
    } else {
        Err(format!("expected {}: {status} {error:?} {cause:?}", case["expect"]))
    }
}

/// Runs one case; `Err` says how it went wrong.
fn run_case(case: &Value, dir: &Path) -> Result<(), String> {
    if native_handlers(case) {
        return run_in_process(case);
    }
    let name = case["name"].as_str().expect("name");
    let def = dir.join(format!("{name}.asl.json"));
    let input = dir.join(format!("{name}.input.json"));
    std::fs::write(&def, definition(&case["definition"])).unwrap();
    std::fs::write(&input, text(&case["input"])).unwrap();
    let mut c = Command::new("prlimit");
    let seconds = case.get("seconds").and_then(Value::as_u64).unwrap_or(60).to_string();
    c.arg("--as=2147483648").args(["timeout", &seconds]).arg(env!("CARGO_BIN_EXE_aslrt"));
    c.args(["run", def.to_str().unwrap(), "--input", input.to_str().unwrap()]);
    if case.get("clock").and_then(Value::as_str) != Some("system") {
        c.arg("--virtual-clock");
    }
    if let Some(h) = case.get("handlers") {
        let file = dir.join(format!("{name}.handlers.json"));
        std::fs::write(&file, h.to_string()).unwrap();
        c.args(["--handlers", file.to_str().unwrap()]);
    }
    let started = std::time::Instant::now();
    let out = c.current_dir(root()).output().map_err(|e| format!("could not start: {e}"))?;
    let took = started.elapsed();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let code = out.status.code();
    let said = || format!("exit {code:?} after {took:?}; stdout {:.300}; stderr {:.300}", stdout, stderr);
    if code == Some(124) {
        return Err(format!("timed out: {}", said()));
    }
    if !matches!(code, Some(0 | 1)) || stderr.contains("panicked") {
        return Err(format!("crashed: {}", said()));
    }
    let expect = &case["expect"];
    let result = || serde_json::from_str::<Value>(stdout.trim()).map_err(|e| format!("no result ({e}): {}", said()));
    let fine = if let Some(wanted) = expect.get("invalid") {
        // Exactly the diagnostics named, in order: the CLI writes each as "  CODE: message at …".
        let wanted: Vec<&str> = match wanted {
            Value::Array(codes) => codes.iter().filter_map(Value::as_str).collect(),
            one => one.as_str().into_iter().collect(),
        };
        let got: Vec<&str> = stderr
            .lines()
            .filter_map(|l| l.strip_prefix("  ")?.split_once(": ").map(|(code, _)| code))
            .filter(|code| !code.is_empty() && code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
            .collect();
        code == Some(1) && got == wanted
    } else if expect.get("too_large").is_some() {
        code == Some(1) && stderr.contains("too large")
    } else if expect.get("bad_utf8").is_some() {
        code == Some(1) && stderr.contains("UTF-8")
    } else if expect.get("bounded").is_some() {
        code == Some(0) && result().is_ok()
    } else {
        let r = result()?;
        code == Some(0) && as_expected(expect, r["status"].as_str().unwrap_or(""), r["error"].as_str())
    };
    if fine {
        Ok(())
    } else {
        Err(format!("expected {expect}: {}", said()))
    }
}

#[test]
fn every_hostile_input_ends_with_its_named_outcome_within_the_caps() {
    let catalogue = std::fs::read_to_string(root().join("runtime/tests/hostile/catalogue.jsonl")).unwrap();
    let cases: Vec<Value> = catalogue.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(cases.len() >= 80, "the catalogue holds {} cases", cases.len());
    let dir = std::env::temp_dir().join(format!("aslrt-catalogue-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A case for other front ends only is one a Rust program cannot write (see above).
    let here =
        |case: &&Value| case.get("front_ends").and_then(Value::as_array).is_none_or(|f| f.iter().any(|e| e == "rust"));
    let failures: Vec<String> = cases
        .iter()
        .filter(here)
        .filter_map(|case| run_case(case, &dir).err().map(|e| format!("{}: {e}", case["name"])))
        .collect();
    assert!(cases.iter().filter(here).count() >= 80, "the Rust runner runs fewer than 80 cases");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{} of {} cases:\n{}", failures.len(), cases.len(), failures.join("\n"));
}
