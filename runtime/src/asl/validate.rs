//! Whole-definition checks over the model as read: transition targets, reachability, a terminal
//! state, variable scopes. Runs on every machine, including Parallel branches and Map
//! processors.

use super::ast::*;
use super::Diagnostic;
use std::collections::HashMap;

/// The checks of a whole definition, as read: every problem found.
pub fn validate(def: &Definition) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    check_machine(&def.machine, "", &mut diags);
    check_scopes(&def.machine, &[], &mut diags);
    diags
}

/// The variables a machine's own states (and Choice rules) assign, with where. Catchers are not
/// counted: AWS accepts a catcher on a Parallel assigning a name its branches assign too (the
/// recorded case `test_parallel_catch_error[PARALLEL_CATCH_ERROR_VARIABLE_SAMPLING]`).
fn assigned_in(m: &Machine) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for s in &m.states {
        let mut add = |a: &Option<Assign>, at: String| {
            if let Some(a) = a {
                out.extend(a.names().into_iter().map(|n| (n.to_owned(), at.clone())));
            }
        };
        add(&s.assign, format!("{}/Assign", s.pointer));
        if let StateKind::Choice { choices, .. } = &s.kind {
            for (i, r) in choices.iter().enumerate() {
                add(&r.assign, format!("{}/Choices/{i}/Assign", s.pointer));
            }
        }
    }
    out
}

/// A Parallel branch or Map iteration reads the variables of the scopes around it but cannot
/// assign them: a name assigned outside cannot be assigned inside.
fn check_scopes(m: &Machine, outer: &[String], diags: &mut Vec<Diagnostic>) {
    let mut visible: Vec<String> = outer.to_vec();
    visible.extend(assigned_in(m).into_iter().map(|(n, _)| n));
    for s in &m.states {
        for inner in s.nested() {
            for (name, at) in assigned_in(inner) {
                if visible.contains(&name) {
                    diags.push(Diagnostic {
                        code: "SCHEMA_VALIDATION_FAILED",
                        location: at,
                        message: format!(
                            "The variable '{name}' is assigned in an outer scope: a Parallel branch or Map iteration can read it but not assign it"
                        ),
                        note: None,
                    });
                }
            }
            check_scopes(inner, &visible, diags);
        }
    }
}

fn missing(diags: &mut Vec<Diagnostic>, target: &str, location: String) {
    diags.push(Diagnostic {
        code: "MISSING_TRANSITION_TARGET",
        location,
        message: format!("Missing 'Next' target: {target}"),
        note: None,
    });
}

/// The names a state can go to, with the pointer of the field naming each.
fn targets(s: &State) -> Vec<(&str, String)> {
    let mut out = Vec::new();
    if let Transition::Next(n) = &s.transition {
        out.push((n.as_str(), format!("{}/Next", s.pointer)));
    }
    let catchers = match &s.kind {
        StateKind::Task(t) => Some(&t.errors.catch),
        StateKind::Parallel { errors, .. } => Some(&errors.catch),
        StateKind::Map(m) => Some(&m.errors.catch),
        _ => None,
    };
    for (i, c) in catchers.into_iter().flatten().enumerate() {
        out.push((c.next.as_str(), format!("{}/Catch/{i}/Next", s.pointer)));
    }
    if let StateKind::Choice { choices, default } = &s.kind {
        for (i, r) in choices.iter().enumerate() {
            out.push((r.next.as_str(), format!("{}/Choices/{i}/Next", s.pointer)));
        }
        if let Some(d) = default {
            out.push((d.as_str(), format!("{}/Default", s.pointer)));
        }
    }
    out
}

fn check_machine(m: &Machine, at: &str, diags: &mut Vec<Diagnostic>) {
    let index: HashMap<&str, usize> = m.states.iter().enumerate().map(|(i, s)| (s.name.as_str(), i)).collect();
    if !m.start_at.is_empty() && !index.contains_key(m.start_at.as_str()) {
        missing(diags, &m.start_at, format!("{at}/StartAt"));
    }
    for s in &m.states {
        for (target, location) in targets(s) {
            if !target.is_empty() && !index.contains_key(target) {
                missing(diags, target, location);
            }
        }
        match &s.kind {
            StateKind::Parallel { branches, .. } => {
                for (i, b) in branches.iter().enumerate() {
                    check_machine(b, &format!("{}/Branches/{i}", s.pointer), diags);
                }
            }
            StateKind::Map(map) => {
                check_machine(&map.processor, &format!("{}/ItemProcessor", s.pointer), diags);
            }
            _ => {}
        }
    }
    if m.incomplete {
        return;
    }
    let terminal = m.states.iter().any(|s| {
        matches!(s.transition, Transition::End) || matches!(s.kind, StateKind::Succeed | StateKind::Fail { .. })
    });
    if !terminal && !m.states.is_empty() {
        diags.push(Diagnostic {
            code: "MISSING_END_STATE",
            location: String::new(),
            message: "Workflow has no terminal state".into(),
            note: None,
        });
        return;
    }
    // Reachability from StartAt.
    let Some(&start) = index.get(m.start_at.as_str()) else {
        return;
    };
    let mut seen = vec![false; m.states.len()];
    let mut stack = vec![start];
    while let Some(i) = stack.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        for (t, _) in targets(&m.states[i]) {
            if let Some(&j) = index.get(t) {
                stack.push(j);
            }
        }
    }
    for (s, reached) in m.states.iter().zip(seen) {
        if !reached {
            diags.push(Diagnostic {
                code: "MISSING_TRANSITION_TARGET",
                location: s.pointer.clone(),
                message: format!("State \"{}\" is not reachable.", s.name),
                note: None,
            });
        }
    }
}
