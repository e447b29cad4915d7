//! The AWS-recorded conformance corpus, one test per case.
//!
//! Cases come from `../shared/conformance/*.jsonl` (relative to the workspace root), or from the
//! directory named by `ASLRT_CONFORMANCE_DIR`; a missing corpus fails, unless
//! `ASLRT_ALLOW_MISSING_CORPUS=1` says to skip. Ids listed in `tests/conformance/known-failures.txt`
//! must fail (and are reported as passing tests when they do); any other failure fails, and so does
//! a listed case that passes, so the list only ever shrinks. Each case runs twice: in one
//! synchronous run, and under a `Runtime` with handlers that answer later, so that every Task
//! suspends the execution (`suspending/` before its name); and so again with every run after a
//! suspension replaying the execution from its start (`replaying/`).

use aslrt::internal::conformance::{run_case, run_definition_replaying, run_definition_suspending, verdict, Case};
use libtest_mimic::{Arguments, Failed, Trial};
use std::collections::BTreeSet;

mod support;

fn main() {
    let args = Arguments::from_args();
    let known: BTreeSet<String> = include_str!("conformance/known-failures.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    let mut trials = Vec::new();
    if let Some(dir) = support::corpus_dir() {
        for case in support::corpus_cases(&dir) {
            let expected_to_fail = known.contains(&case.id);
            let case = std::sync::Arc::new(case);
            let (name, one) = (case.id.clone(), case.clone());
            trials.push(Trial::test(name, move || check(&one, expected_to_fail, Mode::OneRun)));
            for mode in [Mode::Suspending, Mode::Replaying] {
                let (name, case) = (format!("{}/{}", mode.name(), case.id), case.clone());
                trials.push(Trial::test(name, move || check(&case, expected_to_fail, mode)));
            }
        }
    }
    libtest_mimic::run(&args, trials).exit();
}

#[derive(Clone, Copy)]
enum Mode {
    OneRun,
    Suspending,
    Replaying,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::OneRun => "",
            Mode::Suspending => "suspending",
            Mode::Replaying => "replaying",
        }
    }
}

fn check(case: &Case, expected_to_fail: bool, mode: Mode) -> Result<(), Failed> {
    let verdict = match mode {
        Mode::OneRun => run_case(case),
        Mode::Suspending => verdict(case, run_definition_suspending(case, &case.definition, true)),
        Mode::Replaying => verdict(case, run_definition_replaying(case, &case.definition, true)),
    };
    match (verdict.passed, expected_to_fail) {
        (true, false) | (false, true) => Ok(()),
        (false, false) => Err(format!("expected {}\n got {}", case.expect, verdict.got).into()),
        (true, true) => Err("this case now passes: remove it from tests/conformance/known-failures.txt".into()),
    }
}
