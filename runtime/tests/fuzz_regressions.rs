//! Replays every input under `tests/fuzz/testdata/` through the check of the fuzz target named by
//! its file-name prefix (`support/fuzz_checks.rs`, the very code the targets run). Each was a
//! crash or a discrepancy once; see that folder's README. Every target's seeds
//! (`fuzz/seeds/<target>/`) go through its check too, so that each check runs on every test run.

mod support;

use std::path::PathBuf;
use support::fuzz_checks::{check, TARGETS};

#[test]
fn fuzz_findings_stay_fixed() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/testdata");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let target = TARGETS.iter().copied().filter(|t| name.starts_with(&format!("{t}-"))).max_by_key(|t| t.len());
        let target = target.unwrap_or_else(|| panic!("{name}: its name does not start with a fuzz target and '-'"));
        check(target, &std::fs::read(&path).unwrap());
        n += 1;
    }
    assert!(n > 0, "no fuzz findings under {}", dir.display());
}

/// The targets whose check is the CLI's (`cli/tests/support/checkpoint_fuzz.rs`), replayed by
/// `cli/tests/checkpoint_fuzz.rs` on their seeds and findings.
const CLI_TARGETS: [&str; 1] = ["checkpoint"];

/// Every fuzz target has its check here (or in the CLI's tests), so that its findings can be
/// replayed, and every check a target.
#[test]
fn every_fuzz_target_can_be_replayed() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/fuzz_targets");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok()?.path().file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    files.sort();
    let mut targets: Vec<String> = TARGETS.iter().chain(&CLI_TARGETS).map(|t| t.to_string()).collect();
    targets.sort();
    assert_eq!(files, targets);
}

/// Each fuzz target has seeds, and its check holds on each of them.
#[test]
fn every_fuzz_target_holds_on_its_seeds() {
    let seeds = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds");
    for target in TARGETS {
        let dir = seeds.join(target);
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            check(target, &std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())));
            n += 1;
        }
        assert!(n > 0, "the fuzz target {target} has no seeds in {}", dir.display());
    }
}
