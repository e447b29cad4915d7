//! The AWS-recorded conformance corpus, one test per case.
//!
//! Cases come from `../shared/conformance/*.jsonl` (relative to the workspace root), or from the
//! directory named by `ASLRT_CONFORMANCE_DIR`. Ids listed in `tests/conformance/known-failures.txt`
//! must fail (and are reported as passing tests when they do); any other failure fails, and so does
//! a listed case that passes, so the list only ever shrinks.

use aslrt::conformance::{run_case, Case};
use libtest_mimic::{Arguments, Failed, Trial};
use std::collections::BTreeSet;
use std::path::PathBuf;

fn corpus_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("ASLRT_CONFORMANCE_DIR") {
        return Some(PathBuf::from(dir));
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance");
    dir.is_dir().then_some(dir)
}

fn main() {
    let args = Arguments::from_args();
    let known: BTreeSet<String> = include_str!("conformance/known-failures.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    let mut trials = Vec::new();
    match corpus_dir() {
        None => {
            eprintln!(
                "conformance: no corpus at ../shared/conformance and ASLRT_CONFORMANCE_DIR unset; nothing to run"
            );
        }
        Some(dir) => {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
                .collect();
            files.sort();
            for file in files {
                let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
                for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                    let case =
                        Case::from_json_line(line).unwrap_or_else(|e| panic!("{}:{}: {e}", file.display(), n + 1));
                    let expected_to_fail = known.contains(&case.id);
                    let name = case.id.clone();
                    trials.push(Trial::test(name, move || check(&case, expected_to_fail)));
                }
            }
        }
    }
    libtest_mimic::run(&args, trials).exit();
}

fn check(case: &Case, expected_to_fail: bool) -> Result<(), Failed> {
    let verdict = run_case(case);
    match (verdict.passed, expected_to_fail) {
        (true, false) | (false, true) => Ok(()),
        (false, false) => Err(format!("expected {}\n got {}", case.expect, verdict.got).into()),
        (true, true) => Err("this case now passes: remove it from tests/conformance/known-failures.txt".into()),
    }
}
