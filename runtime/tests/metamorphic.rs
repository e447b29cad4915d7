//! Metamorphic tests over the AWS-recorded corpus: every case, transformed in ways that must not
//! change its outcome (states reordered, unused Retry and Catch added, Comments added, all at
//! once), still gives the recorded outcome, and exactly the outcome of the case as written, in
//! both the optimised and the unoptimised program. The recorded cases seldom put a state's
//! `Next` right after it; the reordered ones do, which is how a Catch fall-through hid
//! (issue #13). Each is also run under a `Runtime` with handlers that answer later, so that
//! every Task suspends the execution and it goes on from where it stopped (issue #18).

mod support;

use aslrt::internal::conformance::{run_definition, run_definition_suspending, verdict, Case};
use libtest_mimic::{Arguments, Failed, Trial};
use support::variants::Variant;

fn main() {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    if let Some(dir) = support::corpus_dir() {
        for case in support::corpus_cases(&dir) {
            let case = std::sync::Arc::new(case);
            for variant in Variant::each(support::seed_of(&case.id)) {
                let case = case.clone();
                let name = format!("{}/{}", variant.name(), case.id);
                trials.push(Trial::test(name, move || check(&case, variant)));
            }
        }
    }
    libtest_mimic::run(&args, trials).exit();
}

fn check(case: &Case, variant: Variant) -> Result<(), Failed> {
    let original = run_definition(case, &case.definition, true);
    let transformed = variant.apply(&case.definition);
    for (optimize, suspending) in [(true, false), (false, false), (true, true), (false, true)] {
        let mode = match (optimize, suspending) {
            (true, false) => "optimised",
            (false, false) => "unoptimised",
            (true, true) => "optimised, suspending at each Task",
            (false, true) => "unoptimised, suspending at each Task",
        };
        let got = match suspending {
            false => run_definition(case, &transformed, optimize),
            true => run_definition_suspending(case, &transformed, optimize),
        };
        if got != original {
            return Err(format!(
                "{mode}: the {} variant gives {got:?}, the case as written {original:?}",
                variant.name()
            )
            .into());
        }
        let v = verdict(case, got);
        if !v.passed {
            return Err(format!("{mode}: expected {}\n got {}", case.expect, v.got).into());
        }
    }
    Ok(())
}
