//! Hostile command lines and inputs (issue 17's findings), each test named after what it guards.

mod support;

use assert_cmd::Command;
use std::path::PathBuf;

fn aslrt() -> Command {
    let mut c = Command::cargo_bin("aslrt").unwrap();
    c.current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."));
    c
}

#[test]
fn a_thread_count_past_the_cap_is_refused_before_anything_starts() {
    // `stream --threads 100000` once panicked after 10.8 s of starting threads, with no result
    // written; 3,000 threads took 1.8 GB.
    for command in [&["stream", "examples/order-routing/definition.asl.json"][..], &["bench", "../shared/bench"][..]] {
        for threads in ["100000", "1025", "0", "many"] {
            let out = aslrt().args(command).args(["--threads", threads]).write_stdin("{}\n").output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{command:?} --threads {threads}: {stderr}");
            assert!(stderr.contains("from 1 to 1024"), "{stderr}");
            assert!(out.stdout.is_empty());
        }
    }
}

/// A Pass machine's definition, written to a file of its own for the test `name`.
fn pass_definition(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("aslrt-hostile-{name}-{}.asl.json", std::process::id()));
    std::fs::write(&path, r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#).unwrap();
    path
}

/// Runs `aslrt ARGS` under a 400 MB address-space limit, feeding it `head`, then `fill` bytes of
/// `a`, then `tail` on standard input from another thread. Returns its stdout and exit code.
fn capped(args: &[&str], head: &str, fill: usize, tail: &str) -> (String, Option<i32>) {
    use std::io::Write;
    let bin = assert_cmd::cargo::cargo_bin("aslrt");
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 400000; exec \"$0\" \"$@\"")
        .arg(bin)
        .args(args)
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let (head, tail) = (head.to_owned(), tail.to_owned());
    let writer = std::thread::spawn(move || {
        let chunk = vec![b'a'; 1 << 20];
        let _ = stdin.write_all(head.as_bytes());
        for _ in 0..fill / chunk.len() {
            if stdin.write_all(&chunk).is_err() {
                return;
            }
        }
        let _ = stdin.write_all(tail.as_bytes());
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    (String::from_utf8(out.stdout).unwrap(), out.status.code())
}

#[test]
fn a_stream_line_over_the_payload_limit_fails_its_own_event_without_being_read_whole() {
    // A 1.5 GB line once aborted the process ("memory allocation of 2013462528 bytes failed"),
    // losing the results of the lines before it too. Here 512 MiB under a 400 MB cap.
    let pass = pass_definition("stream");
    let (out, code) = capped(
        &["stream", pass.to_str().unwrap(), "--threads", "2"],
        "{\"n\":1}\n{\"x\":\"",
        512 << 20,
        "\"}\r\n{\"n\":3}\n",
    );
    assert_eq!(code, Some(0), "{out}");
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!((lines[0]["status"].as_str(), lines[2]["output"]["n"].as_i64()), (Some("SUCCEEDED"), Some(3)));
    assert_eq!(lines[1]["error"], "States.DataLimitExceeded");
    let want =
        format!("The event on line 2: The input of {} bytes exceeds the maximum of 262144 bytes", (512 << 20) + 8);
    assert_eq!(lines[1]["cause"], want.as_str());
}

#[test]
fn run_reads_standard_input_with_the_payload_bound() {
    // A 1.5 GB input on stdin once ran out of memory instead of failing the execution.
    let pass = pass_definition("run");
    let (out, code) = capped(&["run", pass.to_str().unwrap(), "--input", "-"], "{\"x\":\"", 512 << 20, "\"}");
    assert_eq!(code, Some(0), "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["error"], "States.DataLimitExceeded");
    let want = format!("The input of {} bytes exceeds the maximum of 262144 bytes", (512 << 20) + 8);
    assert_eq!(v["cause"], want.as_str());
}

#[test]
fn validate_and_run_agree_on_a_definition_too_large_to_compile() {
    // 100,000 states once validated as OK, and then `run` refused them.
    let path = std::env::temp_dir().join(format!("aslrt-hostile-large-{}.asl.json", std::process::id()));
    std::fs::write(&path, support::chain(65_537)).unwrap();
    let path = path.to_str().unwrap();
    let validate = aslrt().args(["validate", path]).output().unwrap();
    let run = aslrt().args(["run", path]).output().unwrap();
    // 65,537 states are 2.6 MB, past the 1 MiB a definition may have (AWS's hard quota).
    let too_large = "more than the 1,048,576 a definition may have (RuntimeLimits::max_definition_bytes)";
    assert_eq!(validate.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&validate.stdout).contains(too_large), "{validate:?}");
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains(too_large), "{run:?}");
}

#[test]
fn a_raise_handler_needs_an_error_name() {
    // `--handler ARN=raise:` once made Tasks fail with the error "".
    let pass = pass_definition("raise");
    for spec in ["x=raise:", "x=raise::cause"] {
        let out = aslrt().args(["run", pass.to_str().unwrap(), "--handler", spec]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{spec}");
    }
    for (i, file) in
        [r#"{"x": {"kind": "raise", "error": ""}}"#, r#"{"x": {"kind": "raise", "error": 7}}"#].into_iter().enumerate()
    {
        let handlers = std::env::temp_dir().join(format!("aslrt-hostile-handlers-{i}-{}.json", std::process::id()));
        std::fs::write(&handlers, file).unwrap();
        let out =
            aslrt().args(["run", pass.to_str().unwrap(), "--handlers", handlers.to_str().unwrap()]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{file}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("\"error\" must be a non-empty string"), "{out:?}");
    }
}

/// A folder of its own for the test `name`: a Pass definition and 2,000 events.
fn stream_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("aslrt-hostile-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("def.json"), r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#).unwrap();
    let events: String = (0..2000).map(|i| format!("{{\"i\":{i}}}\n")).collect();
    std::fs::write(d.join("events.ndjson"), events).unwrap();
    d
}

/// `aslrt stream` in `d` with a checkpoint, on `input`: exit code, stderr.
fn stream_in(d: &std::path::Path, input: &str, extra: &[&str]) -> (Option<i32>, String) {
    let out = aslrt()
        .current_dir(d)
        .args(["stream", "def.json", "--input", input, "--output", "out.ndjson", "--checkpoint", "cp.json"])
        .args(["--threads", "2"])
        .args(extra)
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_checkpoint_whose_output_was_deleted_is_refused_not_filled_with_nul_bytes() {
    // The rerun once exited 0 with an output of 128,055 NUL bytes.
    let d = stream_dir("cp-deleted");
    assert_eq!(stream_in(&d, "events.ndjson", &[]).0, Some(0));
    std::fs::remove_file(d.join("out.ndjson")).unwrap();
    let (code, stderr) = stream_in(&d, "events.ndjson", &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("deleted or cut") && stderr.contains("--restart"), "{stderr}");
    assert!(std::fs::read(d.join("out.ndjson")).unwrap().is_empty(), "nothing written");
    // Starting over writes every result again.
    assert_eq!(stream_in(&d, "events.ndjson", &["--restart"]).0, Some(0));
    assert_eq!(std::fs::read_to_string(d.join("out.ndjson")).unwrap().lines().count(), 2000);
}

#[test]
fn an_edited_checkpoint_is_refused_and_the_output_kept() {
    // `{"line":999999,"offset":1}` once cut 2,000 results down to `{`.
    let d = stream_dir("cp-edited");
    assert_eq!(stream_in(&d, "events.ndjson", &[]).0, Some(0));
    let results = std::fs::read(d.join("out.ndjson")).unwrap();
    let mut cp: serde_json::Value = serde_json::from_slice(&std::fs::read(d.join("cp.json")).unwrap()).unwrap();
    cp["line"] = 999_999.into();
    cp["offset"] = 1.into();
    std::fs::write(d.join("cp.json"), cp.to_string()).unwrap();
    let (code, stderr) = stream_in(&d, "events.ndjson", &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("not the one it recorded"), "{stderr}");
    assert_eq!(std::fs::read(d.join("out.ndjson")).unwrap(), results);
    // The old form, without what it depends on, is refused too.
    std::fs::write(d.join("cp.json"), r#"{"line":999999,"offset":1}"#).unwrap();
    let (code, stderr) = stream_in(&d, "events.ndjson", &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(std::fs::read(d.join("out.ndjson")).unwrap(), results);
}

#[test]
fn a_checkpoint_left_by_another_input_is_refused() {
    // It was once silently reused: exit 0, nothing processed.
    let d = stream_dir("cp-other");
    assert_eq!(stream_in(&d, "events.ndjson", &[]).0, Some(0));
    let other: String = (0..2000).map(|i| format!("{{\"other\":{i}}}\n")).collect();
    std::fs::write(d.join("other.ndjson"), other).unwrap();
    let (code, stderr) = stream_in(&d, "other.ndjson", &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("another input"), "{stderr}");
    // The same input again resumes after its end: nothing to do, nothing changed.
    let before = std::fs::read(d.join("out.ndjson")).unwrap();
    assert_eq!(stream_in(&d, "events.ndjson", &[]).0, Some(0));
    assert_eq!(std::fs::read(d.join("out.ndjson")).unwrap(), before);
}

#[test]
fn allow_resource_limits_what_a_run_may_invoke() {
    let definition = "examples/order-routing/definition.asl.json";
    let args = ["run", definition, "--input", "examples/order-routing/input.json"];
    let handlers = ["--handlers", "examples/order-routing/handlers.json"];
    let out =
        aslrt().args(args).args(handlers).args(["--allow-resource", "arn:aws:states:::nothing"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not among the resources"), "{out:?}");
    let out = aslrt().args(args).args(handlers).args(["--allow-resource", "*"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("SUCCEEDED"));
}

#[test]
fn a_checkpoint_whose_line_was_edited_is_refused() {
    // Its line count changed, its offset and hash kept: lines would be skipped or run twice.
    let d = stream_dir("cp-line");
    assert_eq!(stream_in(&d, "events.ndjson", &[]).0, Some(0));
    let results = std::fs::read(d.join("out.ndjson")).unwrap();
    let mut cp: serde_json::Value = serde_json::from_slice(&std::fs::read(d.join("cp.json")).unwrap()).unwrap();
    cp["line"] = 1500.into();
    std::fs::write(d.join("cp.json"), cp.to_string()).unwrap();
    let (code, stderr) = stream_in(&d, "events.ndjson", &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(std::fs::read(d.join("out.ndjson")).unwrap(), results);
}

#[test]
fn results_with_no_checkpoint_are_not_silently_overwritten() {
    // A deleted or mistyped checkpoint path once cut an existing output to nothing and began
    // again; now that takes --restart.
    let d = stream_dir("cp-missing");
    assert_eq!(stream_in(&d, "events.ndjson", &[]).0, Some(0));
    let results = std::fs::read(d.join("out.ndjson")).unwrap();
    std::fs::remove_file(d.join("cp.json")).unwrap();
    let (code, stderr) = stream_in(&d, "events.ndjson", &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("no checkpoint") && stderr.contains("--restart"), "{stderr}");
    assert_eq!(std::fs::read(d.join("out.ndjson")).unwrap(), results);
    assert_eq!(stream_in(&d, "events.ndjson", &["--restart"]).0, Some(0));
    assert_eq!(std::fs::read(d.join("out.ndjson")).unwrap(), results, "the same results again");
}
