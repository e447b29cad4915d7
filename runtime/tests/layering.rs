//! The crate's modules form layers: each may use only the modules ARCHITECTURE.md lists for it,
//! and those are all listed above it, so no cycle can form. This test reads the list from
//! ARCHITECTURE.md (the `layers` block) and every `crate::` path in the source, and fails on a
//! use the list does not allow, on an allowance nothing uses (the list stays a true map), on a
//! module the list leaves out, and on a module that reaches the crate root's re-exports
//! (`crate::StateMachine`) instead of the module that defines the item. It also checks that
//! ARCHITECTURE.md's code map names every module file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The `layers` block: module → the modules it may use, in the order written.
fn allowed() -> Vec<(String, BTreeSet<String>)> {
    let doc = std::fs::read_to_string(Path::new(ROOT).join("../ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let block = doc
        .split("```layers\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("ARCHITECTURE.md has a ```layers block");
    block
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (name, deps) = l.split_once(':').unwrap_or_else(|| panic!("a layers line is `module: deps`: {l:?}"));
            (name.trim().to_owned(), deps.split_whitespace().map(str::to_owned).collect())
        })
        .collect()
}

/// The crate's top-level modules and their files (`lib.rs` aside).
fn modules() -> BTreeMap<String, Vec<PathBuf>> {
    let src = Path::new(ROOT).join("src");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&src).expect("src").flatten() {
        let path = entry.path();
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
        if path.is_dir() {
            out.insert(name, files_under(&path));
        } else if path.extension().is_some_and(|e| e == "rs") && name != "lib" {
            out.insert(name, vec![path]);
        }
    }
    out
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("module folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// What one source text reaches through `crate::`: module names, and root re-exports
/// (capitalised names), comments aside. `use crate::{a, b::{c, d}}` counts `a` and `b`, however
/// rustfmt spreads the group over lines.
fn crate_paths(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .map(|line| match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // The group's top-level items, up to its closing brace.
            let (mut depth, mut item) = (0usize, String::new());
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.extend(first_ident(item.trim()));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            out.extend(first_ident(item.trim()));
        } else if let Some(name) = first_ident(rest) {
            out.insert(name);
        }
    }
    out
}

fn first_ident(s: &str) -> Option<String> {
    let name: String = s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    (!name.is_empty()).then_some(name)
}

/// Every problem with the source against the list, one line each.
fn problems(allowed: &[(String, BTreeSet<String>)], modules: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut out = Vec::new();
    let mut above = BTreeSet::new();
    for (name, deps) in allowed {
        for d in deps.difference(&above) {
            out.push(format!("`{name}: {d}`: a module may use only modules listed above it (or this is a cycle)"));
        }
        above.insert(name.clone());
    }
    let listed: BTreeMap<_, _> = allowed.iter().map(|(n, d)| (n.clone(), d)).collect();
    for (name, uses) in modules {
        let Some(may) = listed.get(name) else {
            out.push(format!("module `{name}` is missing from ARCHITECTURE.md's layers"));
            continue;
        };
        for u in uses.iter().filter(|u| *u != name) {
            if u.starts_with(char::is_uppercase) {
                out.push(format!(
                    "`{name}` uses `crate::{u}`: name the module that defines it, not the root re-export"
                ));
            } else if !may.contains(u) {
                out.push(format!("`{name}` uses `crate::{u}`, which ARCHITECTURE.md's layers do not allow"));
            }
        }
        for d in may.iter().filter(|d| !uses.contains(*d)) {
            out.push(format!("`{name}` may use `{d}` by ARCHITECTURE.md's layers but does not: drop it from the list"));
        }
    }
    for name in listed.keys().filter(|n| !modules.contains_key(*n)) {
        out.push(format!("ARCHITECTURE.md's layers list `{name}`, which is no module"));
    }
    out
}

fn source_uses() -> BTreeMap<String, BTreeSet<String>> {
    modules()
        .into_iter()
        .map(|(name, files)| {
            let uses = files.iter().flat_map(|f| crate_paths(&std::fs::read_to_string(f).expect("source"))).collect();
            (name, uses)
        })
        .collect()
}

#[test]
fn modules_use_only_the_layers_below_them() {
    let problems = problems(&allowed(), &source_uses());
    assert!(problems.is_empty(), "the module layering is broken:\n{}", problems.join("\n"));
}

// The check itself: a new upward use, a cycle in the list, a root re-export and a missing
// module are each caught.
#[test]
fn the_check_catches_what_it_must() {
    let list = allowed();
    let mut uses = source_uses();
    assert!(problems(&list, &uses).is_empty());

    uses.get_mut("value").expect("value").insert("vm".into());
    let found = problems(&list, &uses);
    assert!(found.iter().any(|p| p.contains("`value` uses `crate::vm`")), "{found:?}");
    uses.get_mut("value").expect("value").remove("vm");

    let mut cyclic = list.clone();
    cyclic.iter_mut().find(|(n, _)| n == "path").expect("path").1.insert("vm".into());
    assert!(problems(&cyclic, &uses).iter().any(|p| p.contains("`path: vm`")));

    uses.get_mut("vm").expect("vm").insert("StateMachine".into());
    assert!(problems(&list, &uses).iter().any(|p| p.contains("root re-export")));
    uses.get_mut("vm").expect("vm").remove("StateMachine");

    uses.insert("newcomer".into(), BTreeSet::new());
    assert!(problems(&list, &uses).iter().any(|p| p.contains("`newcomer` is missing")));
}

#[test]
fn crate_paths_reads_groups_and_skips_comments() {
    let text = "use crate::{vm::Rng, value};\n/// [`crate::machine`]\nlet x = crate::path::parse(1); // crate::asl\n";
    let got: Vec<_> = crate_paths(text).into_iter().collect();
    assert_eq!(got, ["path", "value", "vm"]);
    // A group rustfmt spread over lines, with nested groups and a comment inside.
    let text = "use crate::{\n    bytecode::{Op, Program},\n    // crate::asl\n    jsonata::{\n        eval::Ev,\n    },\n    vm,\n};\n";
    let got: Vec<_> = crate_paths(text).into_iter().collect();
    assert_eq!(got, ["bytecode", "jsonata", "vm"]);
}

/// ARCHITECTURE.md's code map names every module, so that the map cannot fall behind the code:
/// each top-level module has a bullet (`` - `vm/`: `` or `` - `config.rs`: ``), and that bullet
/// names each file of the module in backticks, alone (`` `task` ``), as a file (`` `task.rs` ``)
/// or as a folder (`` `eval/` ``, for `eval/mod.rs`). Unit-test files aside.
#[test]
fn the_architecture_map_names_every_module() {
    let doc = std::fs::read_to_string(Path::new(ROOT).join("../ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let map = doc.split("## Code map").nth(1).and_then(|m| m.split("\n## ").next()).expect("a Code map section");
    // Each bullet with its continuation lines.
    let mut bullets: Vec<String> = Vec::new();
    for line in map.lines() {
        if line.starts_with("- ") {
            bullets.push(line.to_owned());
        } else if line.starts_with("  ") && !bullets.is_empty() {
            bullets.last_mut().unwrap().push_str(line);
        } else if !line.trim().is_empty() {
            bullets.push(String::new());
        }
    }
    let mut unnamed = Vec::new();
    let src = Path::new(ROOT).join("src");
    for (module, files) in modules() {
        let heads = [format!("- `{module}/`"), format!("- `{module}.rs`")];
        let Some(bullet) = bullets.iter().find(|b| heads.iter().any(|h| b.starts_with(h.as_str()))) else {
            unnamed.push(format!("{module} (no bullet)"));
            continue;
        };
        for file in &files {
            let dir = file.parent().unwrap_or(&src);
            let name = match file.file_stem().and_then(|s| s.to_str()).unwrap_or_default() {
                "tests" => continue,
                "mod" if dir == src.join(&module) => continue,
                "mod" => dir.file_name().and_then(|s| s.to_str()).unwrap_or_default(),
                _ if dir == src => continue,
                stem => stem,
            };
            if ![format!("`{name}`"), format!("`{name}/`"), format!("`{name}.rs`")]
                .iter()
                .any(|f| bullet.contains(f.as_str()))
            {
                unnamed.push(file.strip_prefix(ROOT).unwrap_or(file).display().to_string());
            }
        }
    }
    assert!(unnamed.is_empty(), "ARCHITECTURE.md's code map does not name {unnamed:?}");
}
