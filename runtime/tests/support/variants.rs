//! Metamorphic transformations of a definition: each must leave every outcome as it is, byte for
//! byte. A compiler that relies on the order of states, on which handlers a state has, or on
//! fields that mean nothing, gives itself away under one of them.

use serde_json::{json, Map, Value};

/// The error name of the catchers and retriers [`with_unused_handlers`] adds: nothing raises it.
pub const NEVER_RAISED: &str = "Metamorphic.NeverRaised";

/// One transformation, by name (the name goes into test names and failure messages).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// Every `States` map (top level, branches, item processors) in reverse order.
    Reversed,
    /// Every `States` map in a shuffled order, from this seed.
    Shuffled(u64),
    /// A first catcher and a first retrier, for [`NEVER_RAISED`], on every Task, Parallel and
    /// Map state; the catcher leads to a new Fail state.
    UnusedHandlers,
    /// A `Comment` on every machine, state, Choice rule, retrier and catcher.
    Comments,
    /// All of the above at once (shuffled from this seed).
    All(u64),
}

impl Variant {
    /// The variants every definition is put through.
    pub fn each(seed: u64) -> [Variant; 5] {
        [Variant::Reversed, Variant::Shuffled(seed), Variant::UnusedHandlers, Variant::Comments, Variant::All(seed)]
    }

    pub fn name(self) -> &'static str {
        match self {
            Variant::Reversed => "reversed",
            Variant::Shuffled(_) => "shuffled",
            Variant::UnusedHandlers => "unused-handlers",
            Variant::Comments => "comments",
            Variant::All(_) => "all",
        }
    }

    /// `definition` transformed.
    pub fn apply(self, definition: &Value) -> Value {
        let mut d = definition.clone();
        match self {
            Variant::Reversed => for_each_machine(&mut d, &mut |m| reorder(m, |names| names.reverse())),
            Variant::Shuffled(seed) => {
                let mut rng = SplitMix(seed);
                for_each_machine(&mut d, &mut |m| reorder(m, |names| rng.shuffle(names)));
            }
            Variant::UnusedHandlers => for_each_machine(&mut d, &mut add_unused_handlers),
            Variant::Comments => for_each_machine(&mut d, &mut add_comments),
            Variant::All(seed) => {
                for v in [Variant::UnusedHandlers, Variant::Comments, Variant::Shuffled(seed)] {
                    d = v.apply(&d);
                }
            }
        }
        d
    }
}

/// Calls `f` on every machine of `definition` (an object with `States`): the top level, each
/// Parallel branch and each Map's item processor, inner machines first.
pub fn for_each_machine(machine: &mut Value, f: &mut impl FnMut(&mut Map<String, Value>)) {
    let Some(m) = machine.as_object_mut() else { return };
    if let Some(states) = m.get_mut("States").and_then(Value::as_object_mut) {
        for state in states.values_mut() {
            let Some(s) = state.as_object_mut() else { continue };
            if let Some(branches) = s.get_mut("Branches").and_then(Value::as_array_mut) {
                branches.iter_mut().for_each(|b| for_each_machine(b, f));
            }
            for key in ["ItemProcessor", "Iterator"] {
                if let Some(p) = s.get_mut(key) {
                    for_each_machine(p, f);
                }
            }
        }
    }
    f(m);
}

/// Puts the machine's states in the order `order` leaves their names in.
fn reorder(machine: &mut Map<String, Value>, order: impl FnOnce(&mut Vec<String>)) {
    let Some(states) = machine.get_mut("States").and_then(Value::as_object_mut) else { return };
    let mut names: Vec<String> = states.keys().cloned().collect();
    order(&mut names);
    let mut old = std::mem::take(states);
    for n in names {
        if let Some(v) = old.remove(&n) {
            states.insert(n, v);
        }
    }
}

fn has_error_handling(state: &Value) -> bool {
    matches!(state.get("Type").and_then(Value::as_str), Some("Task" | "Parallel" | "Map"))
}

fn add_unused_handlers(machine: &mut Map<String, Value>) {
    let Some(states) = machine.get_mut("States").and_then(Value::as_object_mut) else { return };
    if !states.values().any(has_error_handling) {
        return;
    }
    let mut fail = String::from("MetamorphicUnusedCatch");
    while states.contains_key(&fail) {
        fail.push('_');
    }
    for state in states.values_mut().filter(|s| has_error_handling(s)) {
        let Some(s) = state.as_object_mut() else { continue };
        prepend(s, "Catch", json!({"ErrorEquals": [NEVER_RAISED], "Next": fail}));
        prepend(s, "Retry", json!({"ErrorEquals": [NEVER_RAISED], "MaxAttempts": 3, "IntervalSeconds": 1}));
    }
    let cause = "a catcher for an error that never occurs was entered";
    states.insert(fail, json!({"Type": "Fail", "Error": "Metamorphic.Entered", "Cause": cause}));
}

fn prepend(state: &mut Map<String, Value>, key: &str, item: Value) {
    match state.get_mut(key).and_then(Value::as_array_mut) {
        Some(items) => items.insert(0, item),
        None => {
            state.insert(key.to_owned(), json!([item]));
        }
    }
}

fn add_comments(machine: &mut Map<String, Value>) {
    machine.insert("Comment".into(), json!("a machine"));
    let Some(states) = machine.get_mut("States").and_then(Value::as_object_mut) else { return };
    for state in states.values_mut() {
        let Some(s) = state.as_object_mut() else { continue };
        s.insert("Comment".into(), json!("a state"));
        for (key, what) in [("Choices", "a rule"), ("Retry", "a retrier"), ("Catch", "a catcher")] {
            for item in s.get_mut(key).and_then(Value::as_array_mut).into_iter().flatten() {
                if let Some(o) = item.as_object_mut() {
                    o.insert("Comment".into(), json!(what));
                }
            }
        }
    }
}

/// A small seeded generator (SplitMix64): the shuffles are the same on every machine and
/// every run.
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Fisher–Yates.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}
