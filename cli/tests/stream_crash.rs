//! `aslrt stream` with `--checkpoint` loses no event across `kill -9`: 200,000 events, the
//! process killed (SIGKILL) mid-run twice and restarted with the same arguments; in the end every
//! input line has a result line, and no line of the output is torn.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const EVENTS: u64 = 200_000;

fn aslrt() -> Command {
    Command::new(env!("CARGO_BIN_EXE_aslrt"))
}

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("aslrt-stream-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn every_line_has_a_result_after_kill_and_restart() {
    let d = dir();
    // Enough work per event (a Map over 16 items) that the run lasts long enough to be killed.
    let def = d.join("def.json");
    std::fs::write(
        &def,
        r#"{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.xs","ItemSelector":{"v.$":"$$.Map.Item.Value","i.$":"$$.Map.Item.Index"},
            "ItemProcessor":{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.v","NumericGreaterThan":7,"Next":"Big"}],"Default":"Small"},
            "Big":{"Type":"Pass","Parameters":{"big.$":"$.v"},"End":true},"Small":{"Type":"Pass","Parameters":{"small.$":"$.i"},"End":true}}},
            "ResultPath":"$.out","End":true}}}"#,
    )
    .unwrap();
    let input = d.join("events.ndjson");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
        for i in 0..EVENTS {
            if i == 1234 {
                writeln!(f, "{{not json").unwrap(); // a malformed event still gets a result line
            } else {
                writeln!(f, r#"{{"id":{i},"xs":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]}}"#).unwrap();
            }
        }
    }
    let output = d.join("results.ndjson");
    let checkpoint = d.join("checkpoint.json");
    let args = |c: &mut Command| {
        c.args([
            "stream",
            def.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
        ])
        .args(["--checkpoint", checkpoint.to_str().unwrap(), "--threads", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    };
    let mut kills = 0;
    for round in 0..2 {
        let mut child = {
            let mut c = aslrt();
            args(&mut c);
            c.spawn().unwrap()
        };
        // Kill once the output has grown past a point in this round.
        let target = (round as u64 + 1) * 4_000_000;
        let started = Instant::now();
        loop {
            let size = std::fs::metadata(&output).map_or(0, |m| m.len());
            if size > target || started.elapsed() > Duration::from_secs(60) {
                break;
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        let _ = child.wait();
    }
    // The restart that finishes.
    let mut c = aslrt();
    args(&mut c);
    assert!(c.status().unwrap().success());

    let text = std::fs::read_to_string(&output).unwrap();
    let mut seen = BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("output line {} is torn: {e}: {line}", n + 1));
        let status = v["status"].as_str().unwrap();
        let line_no = v["line"].as_u64().unwrap();
        if line_no == 1235 {
            assert_eq!(v["error"], "States.Runtime");
            assert!(v["cause"].as_str().unwrap().starts_with("The event on line 1235 is not valid JSON"));
        } else {
            assert_eq!(status, "SUCCEEDED", "{line}");
        }
        seen.insert(line_no);
    }
    let missing: Vec<u64> = (1..=EVENTS).filter(|l| !seen.contains(l)).take(5).collect();
    assert!(missing.is_empty(), "lines without a result: {missing:?}");
    assert_eq!(seen.len() as u64, EVENTS);
    // A restart cuts the output back to the checkpoint, so no result line is duplicated either.
    assert_eq!(text.lines().count() as u64, EVENTS, "one result line per event");
    assert!(kills >= 1, "the run was killed mid-stream at least once");
    eprintln!("killed {kills} time(s); {} result lines for {EVENTS} events", text.lines().count());
    let _ = std::fs::remove_dir_all(&d);
}
