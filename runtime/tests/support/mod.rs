//! Test support shared by the integration tests and every fuzz target (which include this
//! folder by path): where the `../shared` corpus and workloads are, transformations that must
//! not change an outcome (`variants`), a generator of valid definitions (`gen/`), the oracle
//! that runs them every way (`oracle`), and each fuzz target's check (`fuzz_checks`).
// Each test crate uses a part of it.
#![allow(dead_code)]

pub mod fuzz_checks;
pub mod gen;
pub mod oracle;
pub mod variants;

use aslrt::Outcome;
use std::path::PathBuf;

/// The AWS-recorded corpus: `ASLRT_CONFORMANCE_DIR`, or `../shared/conformance` beside the
/// repository. A missing corpus fails the test that needs it, with the reason, unless
/// `ASLRT_ALLOW_MISSING_CORPUS=1` says to skip (then `None`).
pub fn corpus_dir() -> Option<PathBuf> {
    shared_dir("ASLRT_CONFORMANCE_DIR", "conformance")
}

/// The benchmark workloads: `ASLRT_BENCH_DIR`, or `../shared/bench`, under the same rule as
/// [`corpus_dir`].
pub fn bench_dir() -> Option<PathBuf> {
    shared_dir("ASLRT_BENCH_DIR", "bench")
}

fn shared_dir(variable: &str, name: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os(variable) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared").join(name),
    };
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("ASLRT_ALLOW_MISSING_CORPUS").is_ok_and(|v| v == "1") {
        eprintln!("nothing at {}: skipped (ASLRT_ALLOW_MISSING_CORPUS=1)", dir.display());
        return None;
    }
    panic!(
        "nothing at {}: set {variable} to the folder of shared/{name}, or ASLRT_ALLOW_MISSING_CORPUS=1 to skip",
        dir.display()
    );
}

/// Every case of the corpus, in file order.
pub fn corpus_cases(dir: &std::path::Path) -> Vec<aslrt::internal::conformance::Case> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
        for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let case = aslrt::internal::conformance::Case::from_json_line(line)
                .unwrap_or_else(|e| panic!("{}:{}: {e}", file.display(), n + 1));
            cases.push(case);
        }
    }
    assert!(!cases.is_empty(), "no case in {}", dir.display());
    cases
}

/// `outcome` with the places of catchers left out of its cause and its output. AWS names a
/// field of a catcher by the catcher's place (`Catch[1]/Assign/x`), so a catcher added first
/// moves the name of every other one in an error's cause, wherever the cause goes (the error
/// output a later catcher places in the state's data): the only change of outcome it makes.
pub fn catcher_places(outcome: &Result<Outcome, String>) -> Result<Outcome, String> {
    let mut o = outcome.clone()?;
    for text in [&mut o.cause, &mut o.output].into_iter().flatten() {
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(at) = rest.find("Catch[") {
            out.push_str(&rest[..at + "Catch[".len()]);
            rest = rest[at + "Catch[".len()..].trim_start_matches(|c: char| c.is_ascii_digit());
        }
        out.push_str(rest);
        *text = out;
    }
    Ok(o)
}

/// A seed from a text (FNV-1a), so that each case is shuffled its own way, the same way each run.
pub fn seed_of(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}
