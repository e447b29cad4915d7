//! The `checkpoint` fuzz target's check, shared by `fuzz/fuzz_targets/checkpoint.rs` and by
//! `tests/checkpoint_fuzz.rs`, which replays its seeds and findings. Both include `stream.rs`,
//! `checkpoint.rs` and `lines.rs` from `src/` as modules of their crate root, as `main.rs` does.
//!
//! The input drives a session with `aslrt stream --checkpoint`: an input file of generated lines,
//! a first run over a prefix of it (a run cut short, or an input still growing), then edits of
//! the output, the checkpoint and the input, with runs between them, and a last run. What must
//! hold of every run:
//! - it resumes exactly: the output then has the length of a clean run's over the same input,
//!   and each of its bytes is the clean run's, or one that an edit of the output put there and
//!   that no run has rewritten since (edits to results the checkpoint does not check are kept,
//!   but nothing is skipped, repeated or made up);
//! - or it refuses, naming `--restart`, and has written nothing: the output is a prefix of what
//!   it was;
//! - `--restart` then gives exactly the clean run's output, and a run right after a resumed run
//!   changes nothing.

use crate::stream::{self, Options};
use aslrt::{Config, RuntimeLimits, StateMachine};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Routes on `$.fail`: a Pass for most events, a Fail for some; invalid JSON fails with
/// `States.Runtime`, and lines past the (small) payload limit with `States.DataLimitExceeded`.
const DEFINITION: &str = r#"{"StartAt":"C","States":{
  "C":{"Type":"Choice","Choices":[{"Variable":"$.fail","IsPresent":true,"Next":"F"}],"Default":"P"},
  "P":{"Type":"Pass","Parameters":{"v.$":"$"},"End":true},
  "F":{"Type":"Fail","Error":"E","Cause":"c"}}}"#;

/// The payload limit: lines longer than this fail on their own.
const LIMIT: usize = 48;

fn machine() -> &'static StateMachine {
    static MACHINE: OnceLock<StateMachine> = OnceLock::new();
    MACHINE.get_or_init(|| {
        let config = Config::default().limits(RuntimeLimits::default().max_payload_bytes(LIMIT));
        StateMachine::builder().config(config).compile(DEFINITION).expect("the definition compiles")
    })
}

/// The bytes of the fuzz input, read front to back; zeros once they run out.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }
    fn number(&mut self) -> usize {
        usize::from(u16::from_le_bytes([self.byte(), self.byte()]))
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One input line, chosen by a byte: JSON events, ones that fail, malformed and oversized ones,
/// empty lines, CRLF endings and raw bytes.
fn line(d: &mut Bytes<'_>, out: &mut Vec<u8>) {
    let n = d.byte();
    match d.byte() % 8 {
        0 => out.extend_from_slice(format!("{{\"a\":{n}}}").as_bytes()),
        1 => out.extend_from_slice(b"{\"fail\":true}"),
        2 => out.extend_from_slice(format!("[{n},\"x\"]").as_bytes()),
        3 => out.extend_from_slice(b"{\"a\":"),
        4 => out.extend_from_slice(format!("\"{}\"", "y".repeat(usize::from(n))).as_bytes()),
        5 => {}
        6 => {
            for _ in 0..n % 16 {
                out.push(match d.byte() {
                    b'\n' => b' ',
                    b => b,
                });
            }
        }
        _ => out.extend_from_slice(format!("{{\"a\":{n}}}\r").as_bytes()),
    }
}

/// The files of one session, in a folder of its own (removed when it ends), and the places of
/// the output that hold what an edit put there: a run may keep those, and nothing else that
/// differs from a clean run's output.
struct Files {
    dir: PathBuf,
    input: PathBuf,
    output: PathBuf,
    checkpoint: PathBuf,
    clean: PathBuf,
    edited: BTreeSet<usize>,
}

impl Files {
    fn new() -> Files {
        static SESSION: AtomicU64 = AtomicU64::new(0);
        let n = SESSION.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("aslrt-checkpoint-fuzz-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("the session folder is made");
        Files {
            input: dir.join("input"),
            output: dir.join("output"),
            checkpoint: dir.join("checkpoint"),
            clean: dir.join("clean"),
            dir,
            edited: BTreeSet::new(),
        }
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn text(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_default()
}

/// `aslrt stream --input … --output … [--checkpoint …] [--restart]`.
fn stream(input: &Path, output: &Path, checkpoint: Option<&Path>, restart: bool) -> Result<(), String> {
    let opts = Options {
        input: Some(text(input)),
        output: Some(text(output)),
        threads: 1,
        checkpoint: checkpoint.map(text),
        restart,
        metrics: None,
    };
    stream::run(machine(), &opts)
}

/// A run with the checkpoint, checked against a clean run over the same input: whether it
/// resumed (or restarted) rather than refused.
fn checked_run(f: &mut Files, restart: bool) -> bool {
    let before = read(&f.output);
    let result = stream(&f.input, &f.output, Some(&f.checkpoint), restart);
    let _ = std::fs::remove_file(&f.clean);
    stream(&f.input, &f.clean, None, false).expect("a clean run succeeds");
    let (after, clean) = (read(&f.output), read(&f.clean));
    match result {
        Ok(()) => {
            // An edited byte may stay as the edit left it; after --restart, none.
            let edited = |i: usize| !restart && f.edited.contains(&i) && before.get(i) == Some(&after[i]);
            let kept = |i: usize| after[i] == clean[i] || edited(i);
            let wrong = (after.len() != clean.len()).then_some(after.len().min(clean.len()));
            if let Some(i) = wrong.or_else(|| (0..after.len()).find(|&i| !kept(i))) {
                panic!(
                    "a run (restart: {restart}) resumed wrongly from byte {i}:\nbefore: {:?}\nafter: {:?}\nclean: {:?}",
                    String::from_utf8_lossy(&before),
                    String::from_utf8_lossy(&after),
                    String::from_utf8_lossy(&clean)
                );
            }
            f.edited.retain(|&i| i < after.len() && after[i] != clean[i]);
            true
        }
        Err(why) => {
            assert!(!restart, "--restart failed: {why}");
            assert!(why.contains("--restart"), "a refusal does not say how to start over: {why}");
            assert!(before.starts_with(&after), "a refused run changed the output: {why}");
            f.edited.retain(|&i| i < after.len());
            false
        }
    }
}

/// Rewrites one number of the checkpoint's JSON, leaving the rest as it is.
fn set_field(checkpoint: &Path, key: &str, value: usize) {
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&read(checkpoint)) else { return };
    if let Some(o) = v.as_object_mut() {
        o.insert(key.to_owned(), value.into());
        std::fs::write(checkpoint, v.to_string()).expect("the checkpoint is written");
    }
}

/// Cuts `file` to `at` (modulo its length plus one); its new length.
fn truncate(file: &Path, at: usize) -> usize {
    let mut bytes = read(file);
    bytes.truncate(at % (bytes.len() + 1));
    std::fs::write(file, &bytes).expect("the file is written");
    bytes.len()
}

/// XORs the byte at `at` (modulo the length) with `with`; where, if anywhere.
fn flip(file: &Path, at: usize, with: u8) -> Option<usize> {
    let mut bytes = read(file);
    if bytes.is_empty() {
        return None;
    }
    let i = at % bytes.len();
    bytes[i] ^= with.max(1);
    std::fs::write(file, bytes).expect("the file is written");
    Some(i)
}

pub fn check(data: &[u8]) {
    let mut d = Bytes(data);
    let mut f = Files::new();
    let mut input = Vec::new();
    for _ in 0..d.byte() % 12 {
        line(&mut d, &mut input);
        input.push(b'\n');
    }
    if d.byte() % 2 == 1 {
        input.pop(); // no newline after the last line
    }
    // The first run sees a prefix: an input that was still being written.
    let prefix = d.number() % (input.len() + 1);
    std::fs::write(&f.input, &input[..prefix]).expect("the input is written");
    stream(&f.input, &f.output, Some(&f.checkpoint), false).expect("a first run succeeds");
    let first = read(&f.checkpoint);
    std::fs::write(&f.input, &input).expect("the input is written");
    let mut edits = 0;
    while !d.is_empty() && edits < 8 {
        edits += 1;
        match d.byte() % 13 {
            0 => {
                let len = truncate(&f.output, d.number());
                f.edited.retain(|&i| i < len);
            }
            1 => f.edited.extend(flip(&f.output, d.number(), d.byte())),
            2 => {
                let _ = std::fs::remove_file(&f.output);
                f.edited.clear();
            }
            3 => {
                let _ = std::fs::remove_file(&f.checkpoint);
            }
            4 => set_field(&f.checkpoint, "line", d.number() % 16),
            5 => set_field(&f.checkpoint, "offset", d.number()),
            6 => {
                truncate(&f.checkpoint, d.number());
            }
            7 => {
                let mut out = read(&f.output);
                let from = out.len();
                line(&mut d, &mut out);
                f.edited.extend(from..out.len());
                std::fs::write(&f.output, out).expect("the output is written");
            }
            8 => {
                flip(&f.input, d.number(), d.byte());
            }
            9 => {
                truncate(&f.input, d.number());
            }
            10 => {
                let mut more = read(&f.input);
                line(&mut d, &mut more);
                more.push(b'\n');
                std::fs::write(&f.input, more).expect("the input is written");
            }
            11 => std::fs::write(&f.checkpoint, &first).expect("the checkpoint is written"),
            _ => {
                let restart = d.byte() % 4 == 0;
                checked_run(&mut f, restart);
            }
        }
    }
    let resumed = checked_run(&mut f, false);
    // Nothing changed since: the same again, and the output as it was.
    let settled = read(&f.output);
    let again = stream(&f.input, &f.output, Some(&f.checkpoint), false);
    assert_eq!(again.is_ok(), resumed, "a second run did not end as the first: {again:?}");
    assert_eq!(read(&f.output), settled, "a second run changed the output");
    // Whatever the files hold, --restart ends as a clean run.
    stream(&f.input, &f.output, Some(&f.checkpoint), true).expect("--restart succeeds");
    assert_eq!(read(&f.output), read(&f.clean), "--restart did not end as a clean run");
}
