//! Replays every input under `tests/fuzz/testdata/` through the check of the fuzz target named by
//! its file-name prefix. Each was a crash once; see that folder's README.

use std::path::PathBuf;

fn replay(target: &str, data: &[u8]) {
    match target {
        "jsonpath" => {
            let Ok(text) = std::str::from_utf8(data) else { return };
            let arena = bumpalo_arena();
            let doc = serde_json::json!({"a": {"b": [1, 2]}, "k l": true});
            let root = aslrt::value::from_serde(&arena, &doc);
            if let Ok(p) = aslrt::path::parse_path(text) {
                let _ = p.eval(&arena, root);
            }
        }
        "parse_asl" | "compile" => {
            if let Ok(text) = std::str::from_utf8(data) {
                if aslrt::asl::parse(text).is_ok() {
                    aslrt::StateMachine::compile(text).expect("what validates compiles");
                }
            }
        }
        "run" => {
            let (def, event) = match data.iter().position(|&b| b == 0) {
                Some(i) => (&data[..i], &data[i + 1..]),
                None => (data, &b"{}"[..]),
            };
            if let Ok(m) =
                std::str::from_utf8(def).map_err(|_| ()).and_then(|d| aslrt::StateMachine::compile(d).map_err(|_| ()))
            {
                let _ = m.execute(&mut aslrt::Scratch::new(), event);
            }
        }
        other => panic!("unknown fuzz target prefix '{other}'"),
    }
}

fn bumpalo_arena() -> aslrt::value::Arena {
    aslrt::value::Arena::new()
}

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
        let target = name.split('-').next().unwrap();
        replay(target, &std::fs::read(&path).unwrap());
        n += 1;
    }
    assert!(n > 0, "no fuzz findings under {}", dir.display());
}
