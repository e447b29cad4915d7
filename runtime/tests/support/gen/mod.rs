//! A structure-aware generator of valid definitions and of events, driven by bytes
//! (`arbitrary::Unstructured`), so that a fuzzer's mutations become changes of structure: all
//! eight state types in both query languages, nested Parallel and Map, Retry and Catch
//! (catchers that fire too), Choice over paths and variables, intrinsics, JSONata, Assign, and
//! events with numbers and strings in unusual spellings. Run out of bytes, every choice takes
//! its first option, so any byte string gives a definition.

use arbitrary::Unstructured;
use aslrt::internal::conformance::Later;
use aslrt::internal::handler::{Echo, Raise, Return, TaskContext};
use aslrt::internal::value::{Const, Value as AValue};
use aslrt::{Handlers, TaskError, TaskHandler};
use serde_json::{json, Map, Value};
use std::sync::Arc;

mod values;

/// A generated definition and the event to run it on (JSON text, spelled as generated).
pub struct Generated {
    pub definition: Value,
    pub input: Vec<u8>,
}

const LAMBDA: &str = "arn:aws:lambda:us-east-1:111111111111:function:";
/// The functions [`handlers`] registers, by Lambda ARN and by name (`lambda:invoke`).
const FUNCTIONS: [&str; 5] = ["echo", "constant", "fail", "flaky", "timeout"];
const KEYS: [&str; 10] = ["a", "b", "id", "name", "items", "detail", "count", "flag", "amount", "longer_key_name_x"];
/// Variables assigned at the top level; a Parallel branch or Map iteration may read them but
/// not assign them, so it assigns its own (`i1a`, …, by depth).
const VARIABLES: [&str; 3] = ["v1", "v2", "v3"];
const INNER_VARIABLES: [[&str; 2]; 3] = [["i1a", "i1b"], ["i2a", "i2b"], ["i3a", "i3b"]];
/// Error names retriers and catchers match, and that states raise.
const ERRORS: [&str; 9] = [
    "Custom.Error",
    "Custom.Flaky",
    "States.TaskFailed",
    "States.ALL",
    "States.Timeout",
    "States.Runtime",
    "States.QueryEvaluationError",
    "States.ResultPathMatchFailure",
    "States.ExceedToleratedFailureThreshold",
];

/// Fails with `Custom.Flaky` on its first two attempts (by `$$.State.RetryCount`), then returns
/// its input: retries that succeed, the same way each run.
struct Flaky;

impl TaskHandler for Flaky {
    fn invoke<'a>(&self, input: AValue<'a>, ctx: &TaskContext<'a>) -> Result<AValue<'a>, TaskError> {
        if ctx.retry_count < 2 {
            return Err(TaskError::new("Custom.Flaky", format!("attempt {}", ctx.retry_count)));
        }
        Ok(input)
    }
}

/// The handler of the generator's function `name`.
fn handler_of(name: &str) -> Arc<dyn TaskHandler> {
    match name {
        "echo" => Arc::new(Echo),
        "constant" => Arc::new(Return(Const::from_serde(&json!({"ok": true, "n": 3, "items": [{"n": 1}, {"n": 2}]})))),
        "fail" => Arc::new(Raise(TaskError::new("Custom.Error", "it failed"))),
        "flaky" => Arc::new(Flaky),
        _ => Arc::new(Raise(TaskError { error: "States.Timeout".into(), cause: None })),
    }
}

/// Every resource the generator names (a function by its Lambda ARN and by its bare name),
/// with its handler as `wrap` makes it.
fn handlers_with(wrap: impl Fn(Arc<dyn TaskHandler>) -> Arc<dyn TaskHandler>) -> Handlers {
    let mut h = Handlers::new();
    for name in FUNCTIONS {
        let handler = wrap(handler_of(name));
        for resource in [format!("{LAMBDA}{name}"), name.to_owned()] {
            h.insert_arc(resource, Arc::clone(&handler));
        }
    }
    h
}

/// The handlers of every resource the generator names.
pub fn handlers() -> Handlers {
    handlers_with(|h| h)
}

/// [`handlers`], each answering later, after its execution has suspended (see
/// `aslrt::internal::conformance::Later`).
pub fn handlers_answering_later() -> Handlers {
    handlers_with(|h| Arc::new(Later(h)))
}

/// Generates a definition and an event from `u`.
pub fn generate(u: &mut Unstructured<'_>) -> Generated {
    let mut g = Gen { u, states: 0, depth: 0, in_map: false, jsonata: false, default_jsonata: false, at: 0 };
    let jsonata = g.chance(30);
    g.default_jsonata = jsonata;
    let mut definition = g.machine(jsonata);
    if jsonata {
        definition["QueryLanguage"] = json!("JSONata");
    }
    if g.chance(8) {
        definition["TimeoutSeconds"] = json!(g.int(1, 8));
    }
    let event = match g.int(0, 19) {
        0 => json!([g.scalar(), g.event()]),
        1 => g.scalar(),
        _ => g.event(),
    };
    let input = g.spelled(&event).into_bytes();
    Generated { definition, input }
}

struct Gen<'u, 'd> {
    u: &'u mut Unstructured<'d>,
    /// States made so far: names are `S0`, `S1`, … across the whole definition, and a budget.
    states: u32,
    /// Nesting of Parallel and Map.
    depth: u32,
    /// Inside a Map's item processor.
    in_map: bool,
    /// The query language of the state being generated.
    jsonata: bool,
    /// The definition's query language, which nested machines take too.
    default_jsonata: bool,
    /// The place in its machine's chain of the state being generated.
    at: usize,
}

/// Where a state goes on: the next state of its machine's chain, or the end.
type Next = Option<String>;

impl Gen<'_, '_> {
    fn int(&mut self, lo: u32, hi: u32) -> u32 {
        self.u.int_in_range(lo..=hi).unwrap_or(lo)
    }

    fn chance(&mut self, percent: u32) -> bool {
        self.int(0, 99) < percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.int(0, items.len() as u32 - 1) as usize]
    }

    /// A variable to read: one of the top level's, or one this scope or an outer one assigns.
    fn variable(&mut self) -> &'static str {
        match self.int(0, self.depth) {
            0 => self.pick(&VARIABLES),
            d => self.pick(&INNER_VARIABLES[(d as usize - 1).min(2)]),
        }
    }

    fn name(&mut self) -> String {
        self.states += 1;
        format!("S{}", self.states - 1)
    }

    /// A machine: a chain of states (each state's `Next` the one after it, so that every state is
    /// reachable), whose Choice rules and catchers may also go back, forward or to new terminal
    /// states.
    fn machine(&mut self, jsonata: bool) -> Value {
        let outer_at = self.at;
        let room = 14u32.saturating_sub(self.states).max(1);
        let n = self.int(1, room.min(5));
        let names: Vec<String> = (0..n).map(|_| self.name()).collect();
        let mut states = Map::new();
        let mut extra = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let next = names.get(i + 1).cloned();
            let lang = jsonata || self.chance(10);
            self.jsonata = lang;
            self.at = i;
            let mut state = self.state(next, &names, &mut extra);
            if lang && !jsonata {
                state["QueryLanguage"] = json!("JSONata");
            }
            self.jsonata = jsonata;
            states.insert(name.clone(), state);
        }
        for (name, state) in extra {
            states.insert(name, state);
        }
        self.at = outer_at;
        json!({"StartAt": names[0], "States": states})
    }

    /// A target for a Choice rule or a catcher: a state of the chain, or a new terminal state.
    fn target(&mut self, chain: &[String], extra: &mut Vec<(String, Value)>) -> String {
        let at = self.at;
        if self.chance(60) {
            // Mostly forward: a loop back runs until the transition limit or the time-out.
            return match chain.get(at + 1..).filter(|later| !later.is_empty() && self.chance(75)) {
                Some(later) => self.pick_name(later),
                None => self.pick_name(chain),
            };
        }
        let name = self.name();
        let state = match self.int(0, 2) {
            0 => json!({"Type": "Succeed"}),
            1 => json!({"Type": "Fail", "Error": "Fail.Error", "Cause": "a Fail state"}),
            _ => json!({"Type": "Pass", "End": true}),
        };
        extra.push((name.clone(), state));
        name
    }

    fn pick_name(&mut self, names: &[String]) -> String {
        names[self.int(0, names.len() as u32 - 1) as usize].clone()
    }

    fn state(&mut self, next: Next, chain: &[String], extra: &mut Vec<(String, Value)>) -> Value {
        let nested = self.depth < 2 && self.states < 12;
        let kinds: &[&str] = if nested {
            &["Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"]
        } else {
            &["Pass", "Task", "Choice", "Wait", "Succeed", "Fail"]
        };
        let mut kind = self.pick(kinds);
        // A terminal state ends the chain only at its end, and the chain's last state ends the
        // machine (a Choice there might never).
        if (next.is_some() && matches!(kind, "Succeed" | "Fail")) || (next.is_none() && kind == "Choice") {
            kind = "Pass";
        }
        let mut s = Map::new();
        s.insert("Type".into(), json!(kind));
        match kind {
            "Pass" => self.pass(&mut s),
            "Task" => self.task(&mut s, chain, extra),
            "Choice" => self.choice(&mut s, &next, chain, extra),
            "Wait" => self.wait(&mut s),
            "Succeed" => self.io(&mut s, false),
            "Fail" => self.fail(&mut s),
            "Parallel" => self.parallel(&mut s, chain, extra),
            _ => self.map(&mut s, chain, extra),
        }
        if !matches!(kind, "Choice" | "Succeed" | "Fail") {
            match next {
                Some(n) => s.insert("Next".into(), json!(n)),
                None => s.insert("End".into(), json!(true)),
            };
        }
        Value::Object(s)
    }

    // ---- fields shared by several kinds of state

    /// InputPath and OutputPath (JSONPath), or Output (JSONata); `result` adds ResultPath.
    fn io(&mut self, s: &mut Map<String, Value>, result: bool) {
        if self.jsonata {
            if self.chance(40) {
                s.insert("Output".into(), self.jsonata_value(result));
            }
            return;
        }
        if self.chance(10) {
            let p = if self.chance(15) { Value::Null } else { json!(self.path()) };
            s.insert("InputPath".into(), p);
        }
        if result && self.chance(50) {
            s.insert("ResultPath".into(), self.result_path());
        }
        if self.chance(12) {
            let p = match self.int(0, 5) {
                0 => Value::Null,
                // Often the ResultPath's own place (the fused result-output op).
                1 | 2 => s.get("ResultPath").filter(|p| p.is_string()).cloned().unwrap_or_else(|| json!("$.r")),
                _ => json!(self.path()),
            };
            s.insert("OutputPath".into(), p);
        }
    }

    fn result_path(&mut self) -> Value {
        match self.int(0, 7) {
            0 => Value::Null,
            1 => json!("$"),
            2 => json!("$.detail.r"),
            3 => json!("$.items[0]"),
            4 => json!("$.a"),
            _ => json!("$.r"),
        }
    }

    fn assign(&mut self, s: &mut Map<String, Value>) {
        if !self.chance(25) {
            return;
        }
        let mut a = Map::new();
        for _ in 0..self.int(1, 2) {
            let v = match self.depth {
                0 => self.pick(&VARIABLES),
                d => self.pick(&INNER_VARIABLES[(d as usize - 1).min(2)]),
            };
            if self.jsonata {
                a.insert(v.into(), self.jsonata_value(false));
            } else if self.chance(30) {
                a.insert(v.into(), self.constant());
            } else if self.chance(25) {
                a.insert(format!("{v}.$"), json!(self.intrinsic(0)));
            } else {
                a.insert(format!("{v}.$"), json!(self.path()));
            }
        }
        s.insert("Assign".into(), Value::Object(a));
    }

    /// Retry and Catch of a Task, Parallel or Map.
    fn errors(&mut self, s: &mut Map<String, Value>, chain: &[String], extra: &mut Vec<(String, Value)>) {
        if self.chance(40) {
            let retry: Vec<Value> = (0..self.int(1, 2))
                .map(|_| {
                    let mut r = json!({"ErrorEquals": self.error_names(), "MaxAttempts": self.int(0, 3)});
                    if self.chance(50) {
                        r["IntervalSeconds"] = json!(self.int(1, 3));
                        r["BackoffRate"] = json!(self.pick(&[1.0, 1.5, 2.0]));
                    }
                    if self.chance(20) {
                        r["MaxDelaySeconds"] = json!(self.int(1, 4));
                        r["JitterStrategy"] = json!(self.pick(&["FULL", "NONE"]));
                    }
                    r
                })
                .collect();
            s.insert("Retry".into(), json!(all_last(retry)));
        }
        if self.chance(45) {
            let mut catch = Vec::new();
            for _ in 0..self.int(1, 2) {
                let names = self.error_names();
                let catches_all = names == ["States.ALL"];
                let mut c = json!({"ErrorEquals": names, "Next": self.target(chain, extra)});
                if self.jsonata {
                    if self.chance(40) {
                        let output = self.pick(&[
                            "$states.errorOutput",
                            "$states.errorOutput.Error",
                            "{'in': $states.input, 'err': $states.errorOutput.Cause}",
                        ]);
                        c["Output"] = json!(format!("{{% {output} %}}"));
                    }
                } else if self.chance(60) {
                    c["ResultPath"] = self.result_path();
                }
                if self.chance(20) {
                    let mut holder = Map::new();
                    self.assign(&mut holder);
                    if let Some(a) = holder.remove("Assign") {
                        c["Assign"] = a;
                    }
                }
                catch.push(c);
                // Nothing may follow a catcher of States.ALL, whose target must stay reachable.
                if catches_all {
                    break;
                }
            }
            s.insert("Catch".into(), json!(catch));
        }
    }

    fn error_names(&mut self) -> Vec<&'static str> {
        let first = self.pick(&ERRORS);
        if first == "States.ALL" {
            return vec![first];
        }
        let mut names = vec![first];
        if self.chance(30) {
            let second = self.pick(&ERRORS);
            if second != "States.ALL" && second != first {
                names.push(second);
            }
        }
        names
    }

    // ---- the kinds of state

    fn pass(&mut self, s: &mut Map<String, Value>) {
        if !self.jsonata {
            match self.int(0, 3) {
                0 => {
                    s.insert("Parameters".into(), self.template(0));
                }
                1 => {
                    s.insert("Result".into(), self.constant());
                }
                _ => {}
            }
        }
        self.io(s, true);
        self.assign(s);
    }

    fn task(&mut self, s: &mut Map<String, Value>, chain: &[String], extra: &mut Vec<(String, Value)>) {
        let function = self.pick(&FUNCTIONS);
        if self.chance(25) {
            s.insert("Resource".into(), json!("arn:aws:states:::lambda:invoke"));
            let payload = if self.jsonata {
                json!({"FunctionName": function, "Payload": "{% $states.input %}"})
            } else {
                json!({"FunctionName": function, "Payload.$": "$"})
            };
            s.insert((if self.jsonata { "Arguments" } else { "Parameters" }).into(), payload);
        } else {
            s.insert("Resource".into(), json!(format!("{LAMBDA}{function}")));
            if self.jsonata && self.chance(40) {
                s.insert("Arguments".into(), self.jsonata_value(false));
            } else if !self.jsonata && self.chance(35) {
                s.insert("Parameters".into(), self.template(0));
            }
        }
        if !self.jsonata && self.chance(20) {
            s.insert("ResultSelector".into(), json!({"got.$": "$", "n": 1}));
        }
        match (self.jsonata, self.int(0, 19)) {
            (_, 0 | 1) => {
                s.insert("TimeoutSeconds".into(), json!(self.int(1, 5)));
            }
            (false, 2) => {
                s.insert("TimeoutSecondsPath".into(), json!(self.pick(&["$.count", "$.name", "$.missing"])));
            }
            (true, 2) => {
                s.insert("TimeoutSeconds".into(), json!(self.pick(&["{% $states.input.count %}", "{% 3 %}"])));
            }
            (_, 3) => {
                s.insert("TimeoutSeconds".into(), json!(5));
                s.insert("HeartbeatSeconds".into(), json!(self.int(1, 4)));
            }
            _ => {}
        }
        self.io(s, true);
        self.assign(s);
        self.errors(s, chain, extra);
    }

    fn choice(&mut self, s: &mut Map<String, Value>, next: &Next, chain: &[String], extra: &mut Vec<(String, Value)>) {
        let rules: Vec<Value> = (0..self.int(1, 3))
            .map(|_| {
                let mut r = if self.jsonata {
                    json!({"Condition": format!("{{% {} %}}", self.condition_expr())})
                } else {
                    self.condition(0)
                };
                r["Next"] = json!(self.target(chain, extra));
                if self.chance(15) {
                    let mut m = Map::new();
                    self.assign(&mut m);
                    if let Some(a) = m.remove("Assign") {
                        r["Assign"] = a;
                    }
                }
                if self.jsonata && self.chance(15) {
                    r["Output"] = self.jsonata_value(false);
                }
                r
            })
            .collect();
        s.insert("Choices".into(), json!(rules));
        // The chain goes on through the Default (or, without one, through a last rule).
        match next {
            Some(n) if self.chance(85) => {
                s.insert("Default".into(), json!(n));
            }
            Some(n) => {
                let last = if self.jsonata {
                    json!({"Condition": "{% true %}", "Next": n})
                } else {
                    json!({"Variable": "$", "IsPresent": true, "Next": n})
                };
                if let Some(Value::Array(rules)) = s.get_mut("Choices") {
                    rules.push(last);
                }
            }
            None if self.chance(60) => {
                let target = self.target(chain, extra);
                s.insert("Default".into(), json!(target));
            }
            None => {}
        }
        if self.jsonata {
            if self.chance(25) {
                s.insert("Output".into(), self.jsonata_value(false));
            }
        } else {
            if self.chance(15) {
                s.insert("InputPath".into(), json!(self.path()));
            }
            if self.chance(15) {
                s.insert("OutputPath".into(), json!(self.path()));
            }
        }
        self.assign(s);
    }

    fn wait(&mut self, s: &mut Map<String, Value>) {
        match (self.jsonata, self.int(0, 3)) {
            (true, 0) => s.insert("Seconds".into(), json!("{% $count($states.input.items) %}")),
            (true, 1) => s.insert("Timestamp".into(), json!("{% '2024-01-01T00:00:00Z' %}")),
            (false, 0) => s.insert("SecondsPath".into(), json!(self.pick(&["$.count", "$.count", "$.amount", "$.a"]))),
            (false, 1) => s.insert("Timestamp".into(), json!("2024-01-01T00:00:00Z")),
            (false, 2) if self.chance(30) => s.insert("TimestampPath".into(), json!("$.name")),
            _ => s.insert("Seconds".into(), json!(self.int(0, 1))),
        };
        self.io(s, false);
        self.assign(s);
    }

    fn fail(&mut self, s: &mut Map<String, Value>) {
        if self.jsonata {
            s.insert("Error".into(), json!(self.pick(&["Fail.Error", "{% 'Fail.' & $string($states.input.count) %}"])));
            if self.chance(50) {
                s.insert("Cause".into(), json!("{% $string($states.input) %}"));
            }
            return;
        }
        match self.int(0, 2) {
            0 => s.insert("ErrorPath".into(), json!(self.pick(&["$.name", "$.a", "States.Format('E{}', $.count)"]))),
            _ => s.insert("Error".into(), json!("Fail.Error")),
        };
        match self.int(0, 2) {
            0 => s.insert("CausePath".into(), json!(self.pick(&["$.name", "States.JsonToString($)"]))),
            1 => s.insert("Cause".into(), json!("a Fail state")),
            _ => None,
        };
    }

    fn parallel(&mut self, s: &mut Map<String, Value>, chain: &[String], extra: &mut Vec<(String, Value)>) {
        let jsonata = self.jsonata;
        self.depth += 1;
        let branches: Vec<Value> = (0..self.int(1, 2)).map(|_| self.machine(self.default_jsonata)).collect();
        self.depth -= 1;
        self.jsonata = jsonata;
        s.insert("Branches".into(), json!(branches));
        if jsonata && self.chance(30) {
            s.insert("Arguments".into(), self.jsonata_value(false));
        } else if !jsonata && self.chance(25) {
            s.insert("Parameters".into(), self.template(0));
        }
        if !jsonata && self.chance(15) {
            s.insert("ResultSelector".into(), json!({"first.$": "$[0]", "all.$": "$"}));
        }
        self.io(s, true);
        self.assign(s);
        self.errors(s, chain, extra);
    }

    fn map(&mut self, s: &mut Map<String, Value>, chain: &[String], extra: &mut Vec<(String, Value)>) {
        let jsonata = self.jsonata;
        if jsonata {
            if self.chance(80) {
                let items = self.pick(&["$states.input.items", "$states.input.detail", "$states.input.a", "[1, 2, 3]"]);
                s.insert("Items".into(), json!(format!("{{% {items} %}}")));
            }
            if self.chance(40) {
                s.insert(
                    "ItemSelector".into(),
                    json!({"v": "{% $states.context.Map.Item.Value %}", "i": "{% $states.context.Map.Item.Index %}"}),
                );
            }
        } else {
            if self.chance(85) {
                let items = self.pick(&["$.items", "$.items", "$.detail", "$.a", "$.items[*].n"]);
                s.insert("ItemsPath".into(), json!(items));
            }
            if self.chance(50) {
                let mut t = self.template(1);
                if let Some(o) = t.as_object_mut() {
                    o.insert("item.$".into(), json!("$$.Map.Item.Value"));
                    if self.chance(50) {
                        o.insert("index.$".into(), json!("$$.Map.Item.Index"));
                    }
                }
                s.insert((if self.chance(20) { "Parameters" } else { "ItemSelector" }).into(), t);
            }
            if self.chance(15) {
                s.insert("MaxConcurrencyPath".into(), json!(self.pick(&["$.count", "$.name"])));
            }
            if self.chance(15) {
                s.insert("ResultSelector".into(), json!({"n.$": "States.ArrayLength($)", "all.$": "$"}));
            }
        }
        if !s.contains_key("MaxConcurrencyPath") && self.chance(30) {
            let n = self.int(0, 3);
            let v = if jsonata && self.chance(40) { json!(format!("{{% {n} + $count([]) %}}")) } else { json!(n) };
            s.insert("MaxConcurrency".into(), v);
        }
        match (jsonata, self.int(0, 19)) {
            (_, 0 | 1) => {
                s.insert("ToleratedFailurePercentage".into(), json!(self.pick(&[0, 50, 100])));
            }
            (_, 2) => {
                s.insert("ToleratedFailureCount".into(), json!(self.int(0, 2)));
            }
            (false, 3) => {
                s.insert("ToleratedFailureCountPath".into(), json!(self.pick(&["$.count", "$.name"])));
            }
            (false, 4) => {
                s.insert("ToleratedFailurePercentagePath".into(), json!(self.pick(&["$.amount", "$.name"])));
            }
            (true, 3) => {
                s.insert("ToleratedFailurePercentage".into(), json!("{% $states.input.count * 10 %}"));
            }
            _ => {}
        }
        let (depth, in_map) = (self.depth, self.in_map);
        self.depth += 1;
        self.in_map = true;
        let mut processor = self.machine(self.default_jsonata);
        self.depth = depth;
        self.in_map = in_map;
        self.jsonata = jsonata;
        if !jsonata && self.chance(20) {
            s.insert("Iterator".into(), processor);
        } else {
            processor["ProcessorConfig"] = json!({"Mode": "INLINE"});
            s.insert("ItemProcessor".into(), processor);
        }
        self.io(s, true);
        self.assign(s);
        self.errors(s, chain, extra);
    }
}

/// A retrier or catcher list in which `States.ALL`, if any, comes last, alone: the rest after it
/// would never match, which AWS rejects.
fn all_last(mut items: Vec<Value>) -> Vec<Value> {
    let is_all = |v: &Value| v["ErrorEquals"].as_array().is_some_and(|a| a.iter().any(|e| e == "States.ALL"));
    if let Some(i) = items.iter().position(is_all) {
        items.truncate(i + 1);
    }
    items
}
