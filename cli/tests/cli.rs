//! The `aslrt` command as a user runs it.

use assert_cmd::Command;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn aslrt() -> Command {
    let mut c = Command::cargo_bin("aslrt").unwrap();
    c.current_dir(root());
    c
}

fn stdout(c: &mut Command) -> (String, i32) {
    let out = c.output().unwrap();
    (String::from_utf8(out.stdout).unwrap(), out.status.code().unwrap_or(-1))
}

#[test]
fn runs_the_bundled_example() {
    let (out, code) = stdout(aslrt().args([
        "run",
        "examples/order-routing/definition.asl.json",
        "--input",
        "examples/order-routing/input.json",
        "--handlers",
        "examples/order-routing/handlers.json",
    ]));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], "SUCCEEDED");
    assert_eq!(v["output"]["summary"], "order o-1042 for Ada: 2 line(s) to priority");
}

#[test]
fn run_reports_failures_as_json_and_exits_0() {
    let dir = tempdir();
    let def = dir.join("def.json");
    std::fs::write(
        &def,
        r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::local:x","End":true}}}"#,
    )
    .unwrap();
    let (out, code) = stdout(aslrt().args([
        "run",
        def.to_str().unwrap(),
        "--handler",
        "arn:aws:states:::local:x=raise:Boom:it broke",
    ]));
    assert_eq!(code, 0);
    assert_eq!(out.trim(), r#"{"status":"FAILED","error":"Boom","cause":"it broke"}"#);
    let (out, _) = stdout(aslrt().args(["run", def.to_str().unwrap()]).write_stdin("{}"));
    assert!(out.contains("no task handler is registered for the resource 'arn:aws:states:::local:x'"), "{out}");
    let (out, _) =
        stdout(aslrt().args(["run", def.to_str().unwrap(), "--handler", "arn:aws:states:::local:x=return:{\"a\":1}"]));
    assert_eq!(out.trim(), r#"{"status":"SUCCEEDED","output":{"a":1}}"#);
}

#[test]
fn validate_prints_every_diagnostic_and_exits_1() {
    let dir = tempdir();
    let def = dir.join("bad.json");
    std::fs::write(&def, r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"C":{"Type":"Wait","End":true}}}"#)
        .unwrap();
    let (out, code) = stdout(aslrt().args(["validate", def.to_str().unwrap()]));
    assert_eq!(code, 1);
    assert!(out.contains("SCHEMA_VALIDATION_FAILED at /States/C:"), "{out}");
    assert!(out.contains("MISSING_TRANSITION_TARGET at /States/A/Next: Missing 'Next' target: B"), "{out}");
    assert!(out.contains("MISSING_TRANSITION_TARGET at /States/C: State \"C\" is not reachable."), "{out}");
}

#[test]
fn bad_usage_exits_1_without_panicking() {
    for args in [
        vec!["validate", "/nonexistent.json"],
        vec!["run", "/nonexistent.json"],
        vec!["run", "examples/order-routing/definition.asl.json", "--handler", "no-equals-sign"],
        vec!["run", "examples/order-routing/definition.asl.json", "--handler", "x=bogus"],
    ] {
        let out = aslrt().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"), "{args:?}");
    }
    // A command line that cannot be parsed, such as one missing a required argument, exits 2.
    for (args, missing) in
        [(vec!["conformance"], "<FILE>..."), (vec!["bench"], "<DIR>..."), (vec!["run"], "<DEFINITION>")]
    {
        let out = aslrt().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("required") && err.contains(missing), "{args:?}: {err}");
    }
    let out = aslrt().args(["run", "examples/order-routing/definition.asl.json"]).write_stdin("").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn malformed_event_is_a_failed_execution() {
    let (out, code) = stdout(
        aslrt().args(["run", "examples/order-routing/definition.asl.json", "--input", "-"]).write_stdin("{nope"),
    );
    assert_eq!(code, 0);
    assert_eq!(
        out.trim_end(),
        r#"{"status":"FAILED","error":"States.Runtime","cause":"The execution input is not valid JSON: expected a member name in double quotes (line 1, column 2)"}"#
    );
    // In a stream, the event is named by its line, and the place in it by its column.
    let def = tempdir().join("pass.json");
    std::fs::write(&def, r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#).unwrap();
    let (out, code) = stdout(aslrt().args(["stream", def.to_str().unwrap()]).write_stdin("{\"a\":1}\n{\"a\":1,}\n"));
    assert_eq!(code, 0);
    assert_eq!(
        out.lines().nth(1),
        Some(
            r#"{"line":2,"status":"FAILED","error":"States.Runtime","cause":"The event on line 2 is not valid JSON: a comma before a closing bracket, with nothing after it (column 8)"}"#
        ),
        "{out}"
    );
}

#[test]
fn conformance_counts_and_exit_code() {
    let dir = tempdir();
    let cases = dir.join("cases.jsonl");
    std::fs::write(
        &cases,
        concat!(
            r#"{"id":"ok","definition":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"input":{"a":1},"expect":{"status":"SUCCEEDED","output":{"a":1.0}},"tags":["pass"]}"#,
            "\n",
            r#"{"id":"bad","definition":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"input":{"a":1},"expect":{"status":"SUCCEEDED","output":{"a":2}},"tags":["pass","x"]}"#,
            "\n",
        ),
    )
    .unwrap();
    let (out, code) = stdout(aslrt().args(["conformance", cases.to_str().unwrap(), "--by-tag"]));
    assert_eq!(code, 1);
    assert!(out.contains("FAIL bad"), "{out}");
    assert_eq!(out.lines().last(), Some("1 passed, 1 failed"));
    let (out, code) = stdout(aslrt().args(["conformance", cases.to_str().unwrap(), "--skip-tag", "x"]));
    assert_eq!((out.lines().last(), code), (Some("1 passed, 0 failed"), 0));
    let known = dir.join("known.txt");
    std::fs::write(&known, "# listed\nbad\n").unwrap();
    let (_, code) =
        stdout(aslrt().args(["conformance", cases.to_str().unwrap(), "--known-failures", known.to_str().unwrap()]));
    assert_eq!(code, 0);
    std::fs::write(&known, "ok\nbad\n").unwrap();
    let (out, code) =
        stdout(aslrt().args(["conformance", cases.to_str().unwrap(), "--known-failures", known.to_str().unwrap()]));
    assert_eq!(code, 1, "a listed case that passes fails the run: {out}");
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aslrt-cli-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// A workload folder as `shared/bench` lays them out.
fn workload(def: &str, input: &str, expected: &str) -> PathBuf {
    let dir = tempdir().join("w-pass");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("definition.asl.json"), def).unwrap();
    std::fs::write(dir.join("input.json"), input).unwrap();
    std::fs::write(dir.join("expected-output.json"), expected).unwrap();
    dir
}

const PASS: &str = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"id.$":"$.id"},"End":true}}}"#;

#[test]
fn bench_reports_one_json_line_per_workload_and_thread_count() {
    let dir = workload(PASS, r#"{"id":"a-1","x":[1,2]}"#, r#"{"id":"a-1"}"#);
    let (out, code) =
        stdout(aslrt().args(["bench", dir.to_str().unwrap(), "--threads", "2", "--seconds", "0.5", "--json"]));
    assert_eq!(code, 0, "{out}");
    let rows: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 2, "{out}");
    for (row, threads) in rows.iter().zip([1, 2]) {
        assert_eq!(row["workload"], "w-pass");
        assert_eq!(row["threads"], threads);
        assert_eq!(row["output_ok"], true);
        let num = |k: &str| row[k].as_f64().unwrap_or_else(|| panic!("{k} in {row}"));
        assert!(num("exec_per_s") > 0.0 && num("ns_per_exec") > 0.0 && num("floor_ns") > 0.0);
        assert!(num("exec_per_s_min") <= num("exec_per_s") && num("exec_per_s") <= num("exec_per_s_max"), "{row}");
        assert!((num("exec_per_s_per_core") - num("exec_per_s") / threads as f64).abs() <= 1.0, "{row}");
        // ratio = ns per execution × threads ÷ floor, as the JSON rounds them.
        let ratio = num("ns_per_exec") * threads as f64 / num("floor_ns");
        assert!((num("ratio") - ratio).abs() <= 0.01 + ratio * 0.001, "{row}");
    }
    assert_eq!(rows[0]["allocs_per_exec"], 0.0, "a Pass state allocates nothing per execution");
}

/// `--async-only` runs the suspension suite alone: no workload rows, and each part's JSON row
/// with its figures (here the concurrency parts, 2,000 in flight).
#[test]
fn bench_async_only_runs_the_suspension_suite_alone() {
    let dir = workload(PASS, r#"{"id":"a-1","x":[1,2]}"#, r#"{"id":"a-1"}"#);
    let args = ["bench", dir.to_str().unwrap(), "--async-only", "--threads", "2", "--json", "--in-flight", "2000"];
    let (out, code) = stdout(aslrt().args(args).args(["--async-parts", "sleeping,wait"]));
    assert_eq!(code, 0, "{out}");
    let rows: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(rows.iter().all(|r| r.get("workload").is_none()), "no workload rows: {out}");
    let parts: Vec<&serde_json::Value> = rows.iter().filter(|r| r["suite"] == "async-concurrency").collect();
    assert_eq!(parts.len(), 2, "{out}");
    for row in parts {
        assert_eq!(row["in_flight"], 2000, "{row}");
        let first = row["first_completion_s"].as_f64().unwrap();
        assert!((1.0..10.0).contains(&first), "a 1 s wait ends after 1 s: {row}");
        assert!(row["bytes_per_suspended"].as_f64().is_some(), "{row}");
    }
    // The runtime's queue bound: 2 MiB per worker unless given; 0 is none.
    let peak = |rows: &[serde_json::Value]| rows.iter().find(|r| r["suite"] == "async").cloned().unwrap();
    assert_eq!(peak(&rows)["max_queued_bytes"], 4 << 20, "{out}");
    let (out, code) = stdout(aslrt().args(args).args(["--async-parts", "wait", "--max-queued-bytes", "0"]));
    assert_eq!(code, 0, "{out}");
    let rows: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(peak(&rows)["max_queued_bytes"], serde_json::Value::Null, "{out}");
}

/// Every command's help says what its arguments are, which are required, the handler forms
/// where handlers are taken, and the exit codes.
#[test]
fn help_documents_arguments_handler_forms_and_exit_codes() {
    for command in ["validate", "run", "stream", "bench", "conformance", "info"] {
        let (help, code) = stdout(aslrt().args([command, "--help"]));
        assert_eq!(code, 0, "{command}");
        assert!(help.contains("Exit codes:") && help.contains("  2  the command line could not be parsed"), "{help}");
        if matches!(command, "run" | "stream") {
            assert!(help.contains("<DEFINITION>  The state machine definition (ASL JSON)"), "{help}");
            for form in ["return:<json>", "raise:<error>[:<cause>]", r#"{"kind": "raise", "error""#] {
                assert!(help.contains(form), "{command} --help lacks {form}: {help}");
            }
        }
    }
    let (help, _) = stdout(aslrt().args(["bench", "--help"]));
    assert!(help.contains("Usage: aslrt bench [OPTIONS] <DIR>..."), "{help}");
    let (help, _) = stdout(aslrt().args(["conformance", "--help"]));
    assert!(help.contains("Usage: aslrt conformance [OPTIONS] <FILE>..."), "{help}");
}

/// The bundled example is a benchmark workload too: its handlers come from its handlers.json.
#[test]
fn bench_runs_the_bundled_example() {
    let (out, code) = stdout(aslrt().args(["bench", "examples/order-routing", "--threads", "1", "--seconds", "0.2"]));
    assert_eq!(code, 0, "{out}");
    let row = out.lines().find(|l| l.starts_with("order-routing")).unwrap_or_else(|| panic!("{out}"));
    assert!(row.ends_with("ok"), "{row}");
}

/// `aslrt bench` on a Pass workload with this expected output: its status and stderr.
fn bench_with_expected(expected: &str) -> (Option<i32>, String) {
    let dir = workload(PASS, r#"{"id":"a-1"}"#, expected);
    let out = aslrt().args(["bench", dir.to_str().unwrap(), "--seconds", "0.2"]).output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn bench_refuses_a_workload_whose_output_differs() {
    let (code, err) = bench_with_expected(r#"{"id":"b-2"}"#);
    assert_eq!(code, Some(1));
    assert!(err.contains("w-pass: the output does not equal expected-output.json"), "{err}");
}

#[test]
fn bench_names_the_workload_whose_expected_output_is_not_json() {
    let (code, err) = bench_with_expected(r#"{"id":"#);
    assert_ne!(code, Some(0));
    assert!(err.contains("w-pass"), "{err}");
}

/// A reader that goes away (`aslrt … | head`) ends the command quietly: no panic, SIGPIPE's
/// status 141.
#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let dir = tempdir();
    let def = dir.join("def.json");
    // A definition with many diagnostics: `validate` prints a line for each.
    let states: Vec<String> = (0..2000).map(|i| format!(r#""S{i}":{{"Type":"Pass","Next":"Nowhere"}}"#)).collect();
    std::fs::write(&def, format!(r#"{{"StartAt":"S0","States":{{{}}}}}"#, states.join(","))).unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("aslrt"))
        .args(["validate", def.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(141), "{err}");
    assert!(err.is_empty(), "{err}");
}

/// `--no-optimize` runs the unoptimised reference program on `run` (and `--disasm` shows it),
/// `stream`, `conformance` and `bench`, with the same outcomes. The definition is issue #13's:
/// optimised, a Task whose `Next` followed its catcher in the layout fell into it on success.
#[test]
fn every_command_runs_the_unoptimised_program_with_no_optimize() {
    let dir = tempdir();
    let def = dir.join("def.json");
    let definition = r#"{"StartAt":"P","States":{
        "P":{"Type":"Pass","Result":{"status":"incomplete"},"ResultPath":"$","Next":"T"},
        "T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:111111111111:function:f","Next":"C",
             "Catch":[{"ErrorEquals":["States.TaskFailed"],"Next":"F"}]},
        "C":{"Type":"Choice","Choices":[{"Variable":"$.status","StringEquals":"complete","Next":"Done"}],"Default":"P2"},
        "P2":{"Type":"Pass","Result":{"status":"complete"},"ResultPath":"$","Next":"T"},
        "F":{"Type":"Pass","End":true},
        "Done":{"Type":"Succeed"}}}"#;
    std::fs::write(&def, definition).unwrap();
    let echo = "arn:aws:lambda:us-east-1:111111111111:function:f=echo";
    for mode in [&[][..], &["--no-optimize"]] {
        let (out, code) = stdout(aslrt().args(["run", def.to_str().unwrap(), "--handler", echo]).args(mode));
        assert_eq!((out.trim(), code), (r#"{"status":"SUCCEEDED","output":{"status":"complete"}}"#, 0), "{mode:?}");
    }
    let (listing, _) =
        stdout(aslrt().args(["run", def.to_str().unwrap(), "--handler", echo, "--disasm", "--no-optimize"]));
    assert!(listing.lines().nth(1).is_some_and(|l| l.trim() == "0  jump           1"), "{listing}");
    let (listing, _) = stdout(aslrt().args(["run", def.to_str().unwrap(), "--handler", echo, "--disasm"]));
    assert!(listing.lines().nth(1).is_some_and(|l| l.trim().starts_with("0  enter")), "{listing}");

    let events = dir.join("events.jsonl");
    std::fs::write(&events, "{}\n{\"status\":\"x\"}\n").unwrap();
    let (out, code) =
        stdout(aslrt().args(["stream", def.to_str().unwrap(), "--input", events.to_str().unwrap()]).args([
            "--handler",
            echo,
            "--no-optimize",
        ]));
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.lines().filter(|l| l.contains(r#""output":{"status":"complete"}"#)).count(), 2, "{out}");

    let case = serde_json::json!({"id": "issue-13", "definition": serde_json::from_str::<serde_json::Value>(definition).unwrap(),
        "input": {}, "expect": {"status": "SUCCEEDED", "output": {"status": "complete"}}, "tags": [],
        "handlers": {"arn:aws:lambda:us-east-1:111111111111:function:f": {"kind": "echo"}}});
    let cases = dir.join("cases.jsonl");
    std::fs::write(&cases, format!("{case}\n")).unwrap();
    let (out, code) = stdout(aslrt().args(["conformance", "--no-optimize", cases.to_str().unwrap()]));
    assert_eq!((out.trim(), code), ("1 passed, 0 failed", 0));

    let workload = workload(PASS, r#"{"id":"a-1","x":[1,2]}"#, r#"{"id":"a-1"}"#);
    let (out, code) = stdout(
        aslrt()
            .args(["bench", workload.to_str().unwrap(), "--threads", "1", "--seconds", "0.2"])
            .args(["--json", "--no-optimize"]),
    );
    assert_eq!(code, 0, "{out}");
    let row: serde_json::Value = serde_json::from_str(out.lines().next().unwrap_or_default()).unwrap();
    assert_eq!(row["output_ok"], true, "{row}");
}
