//! Replays the `checkpoint` fuzz target's seeds (`fuzz/seeds/checkpoint/`) and findings
//! (`tests/fuzz/testdata/`) through its check, `support/checkpoint_fuzz.rs`.

#[path = "../src/checkpoint.rs"]
mod checkpoint;
#[path = "support/checkpoint_fuzz.rs"]
mod checkpoint_fuzz;
#[path = "../src/lines.rs"]
#[allow(dead_code)] // `read_all` is for `aslrt run`
mod lines;
#[path = "../src/stream.rs"]
mod stream;

use std::path::PathBuf;

fn replay(dir: &str) -> usize {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        eprintln!("{}", path.display());
        checkpoint_fuzz::check(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())));
        n += 1;
    }
    n
}

#[test]
fn the_checkpoint_target_holds_on_its_seeds() {
    assert!(replay("../fuzz/seeds/checkpoint") > 0, "the checkpoint target has no seeds");
}

#[test]
fn checkpoint_fuzz_findings_stay_fixed() {
    assert!(replay("tests/fuzz/testdata") > 0, "no checkpoint fuzz findings under tests/fuzz/testdata");
}
