//! A structure-aware generator of valid definitions and of events, driven by bytes
//! (`arbitrary::Unstructured`), so that a fuzzer's mutations become changes of structure: all
//! eight state types in both query languages, nested Parallel and Map, Retry and Catch
//! (catchers that fire too), Choice over paths and variables, intrinsics, JSONata, Assign, and
//! events with numbers and strings in unusual spellings. Run out of bytes, every choice takes
//! its first option, so any byte string gives a definition.

use arbitrary::Unstructured;
use aslrt::internal::handler::{Echo, Raise, Return, TaskContext};
use aslrt::internal::value::{Const, Value as AValue};
use aslrt::{Handlers, TaskError, TaskHandler};
use serde_json::{json, Map, Value};

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

/// The handlers of every resource the generator names.
pub fn handlers() -> Handlers {
    let mut h = Handlers::new();
    for name in FUNCTIONS {
        for resource in [format!("{LAMBDA}{name}"), name.to_owned()] {
            match name {
                "echo" => h.insert(resource, Echo),
                "constant" => h.insert(
                    resource,
                    Return(Const::from_serde(&json!({"ok": true, "n": 3, "items": [{"n": 1}, {"n": 2}]}))),
                ),
                "fail" => h.insert(resource, Raise(TaskError::new("Custom.Error", "it failed"))),
                "flaky" => h.insert(resource, Flaky),
                _ => h.insert(resource, Raise(TaskError { error: "States.Timeout".into(), cause: None })),
            };
        }
    }
    h
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

    // ---- values

    /// A JSONPath path: names of every length, indices, wildcards, filters, slices, the
    /// context object and variables.
    fn path(&mut self) -> String {
        let key = self.pick(&KEYS);
        match self.int(0, 19) {
            0 => "$".into(),
            1..=4 => format!("$.{key}"),
            5 => format!("$.detail.{key}"),
            6 => format!("$.items[{}]", self.pick(&[0, 1, -1, 5])),
            7 => format!("$.items[{}].n", self.pick(&[0, 1, -1])),
            8 => self.pick(&["$.items[*].n", "$.items[*]", "$.*", "$.detail.*", "$.items[*].s"]).into(),
            9 => self.pick(&["$..n", "$.items[?(@.n > 1)].s", "$.items[0:2]", "$['a','b']", "$.items[0,1].n"]).into(),
            10 => "$['longer_key_name_x']".into(),
            11 => self
                .pick(&["$$.State.Name", "$$.State.RetryCount", "$$.Execution.Input.a", "$$.Execution.Input"])
                .into(),
            12 if self.in_map => self
                .pick(&["$$.Map.Item.Value", "$$.Map.Item.Index", "$$.Map.Item.Value.n", "$$.Map.Item.Value.s"])
                .into(),
            13 | 14 => {
                let v = self.variable();
                match self.int(0, 2) {
                    0 => format!("${v}"),
                    1 => format!("${v}.n"),
                    _ => format!("${v}[0]"),
                }
            }
            _ => format!("$.{key}"),
        }
    }

    fn constant(&mut self) -> Value {
        match self.int(0, 7) {
            0 => json!(self.int(0, 5)),
            1 => json!("text"),
            2 => json!({"k": 1, "s": "x"}),
            3 => json!([1, "two", null]),
            4 => json!(2.5),
            5 => Value::Null,
            6 => json!(true),
            _ => json!({"n": self.int(0, 3), "nested": {"a": [1, 2]}}),
        }
    }

    /// A payload template object.
    fn template(&mut self, depth: u32) -> Value {
        let mut t = Map::new();
        for i in 0..self.int(1, 4) {
            let key = format!("k{i}");
            match self.int(0, 9) {
                0 | 1 => {
                    t.insert(key, self.constant());
                }
                2..=5 => {
                    t.insert(format!("{key}.$"), json!(self.path()));
                }
                6 | 7 => {
                    t.insert(format!("{key}.$"), json!(self.intrinsic(0)));
                }
                8 if depth < 2 => {
                    t.insert(key, self.template(depth + 1));
                }
                _ => {
                    let inner = self.template(depth + 1);
                    t.insert(key, json!([inner, 1]));
                }
            }
        }
        Value::Object(t)
    }

    fn arg(&mut self, depth: u32) -> String {
        match self.int(0, 7) {
            0 => "'x'".into(),
            1 => self.pick(&["3", "1.5", "-2", "0"]).into(),
            2 => self.pick(&["true", "null", "'a,b'"]).into(),
            3 if depth < 2 => self.intrinsic(depth + 1),
            _ => self.path(),
        }
    }

    /// An intrinsic function call; arguments of the wrong type fail as they do on AWS.
    fn intrinsic(&mut self, depth: u32) -> String {
        let (a, b) = (self.arg(depth), self.arg(depth));
        match self.int(0, 18) {
            0 => format!("States.Format('{{}} and {{}}', {a}, {b})"),
            1 => format!("States.Format('x={{}}', {a})"),
            2 => "States.StringToJson('{\"n\":1,\"s\":[true]}')".into(),
            3 => format!("States.JsonToString({a})"),
            4 => format!("States.Array({a}, {b})"),
            5 => format!("States.ArrayPartition({a}, 2)"),
            6 => format!("States.ArrayContains({a}, {b})"),
            7 => "States.ArrayRange(1, 9, 2)".into(),
            8 => format!("States.ArrayGetItem({a}, 0)"),
            9 => format!("States.ArrayLength({a})"),
            10 => format!("States.ArrayUnique({a})"),
            11 => format!("States.Base64Encode({a})"),
            12 => format!("States.Hash({a}, 'SHA-1')"),
            13 => format!("States.JsonMerge({a}, {b}, false)"),
            14 => "States.MathRandom(1, 100)".into(),
            15 => format!("States.MathAdd({a}, {b})"),
            16 => format!("States.StringSplit({a}, ',')"),
            17 => "States.UUID()".into(),
            _ => format!("States.Base64Decode(States.Base64Encode({a}))"),
        }
    }

    /// A JSONPath Choice rule's condition (without `Next`).
    fn condition(&mut self, depth: u32) -> Value {
        if depth < 2 && self.chance(25) {
            return match self.int(0, 2) {
                0 => json!({"And": [self.condition(depth + 1), self.condition(depth + 1)]}),
                1 => json!({"Or": [self.condition(depth + 1), self.condition(depth + 1)]}),
                _ => json!({"Not": self.condition(depth + 1)}),
            };
        }
        let variable = self.path();
        let (op, operand) = match self.int(0, 15) {
            0 => ("StringEquals", json!(self.pick(&["x", "text", "a-0"]))),
            1 => ("StringEqualsPath", json!(self.path())),
            2 => ("StringLessThan", json!("m")),
            3 => ("StringMatches", json!(self.pick(&["a*", "*x*", "\\*"]))),
            4 => ("NumericEquals", json!(self.int(0, 3))),
            5 => ("NumericLessThan", json!(2.5)),
            6 => ("NumericGreaterThanPath", json!(self.path())),
            7 => ("NumericGreaterThanEquals", json!(1)),
            8 => ("BooleanEquals", json!(true)),
            9 => ("IsPresent", json!(self.chance(50))),
            10 => ("IsNull", json!(self.chance(50))),
            11 => ("IsNumeric", json!(true)),
            12 => ("IsString", json!(true)),
            13 => ("IsBoolean", json!(false)),
            14 => ("TimestampLessThan", json!("2024-01-01T00:00:00Z")),
            _ => ("IsTimestamp", json!(true)),
        };
        json!({"Variable": variable, op: operand})
    }

    /// A JSONata expression, without its `{% %}`.
    fn jexpr(&mut self, depth: u32, result: bool) -> String {
        let key = self.pick(&KEYS);
        let atom = |g: &mut Self| -> String {
            match g.int(0, 9) {
                0 | 1 => format!("$states.input.{key}"),
                2 => "$states.input.items[0].n".into(),
                3 => "$states.input.items.n".into(),
                4 => format!("${}", g.variable()),
                5 => "$states.context.State.Name".into(),
                6 => g.pick(&["1", "2.5", "'x'", "true", "null"]).into(),
                7 if result => "$states.result".into(),
                8 if g.in_map => "$states.context.Map.Item.Value".into(),
                8 => g.pick(&["$count($states.*)", "$keys($states)"]).into(),
                _ => "$states.input".into(),
            }
        };
        if depth >= 2 || self.chance(40) {
            return atom(self);
        }
        let (a, b) = (self.jexpr(depth + 1, result), self.jexpr(depth + 1, result));
        match self.int(0, 13) {
            0 => format!("({a} + {b})"),
            1 => format!("({a} & {b})"),
            2 => format!("$count({a})"),
            3 => format!("$sum({a})"),
            4 => format!("$string({a})"),
            5 => format!("($exists({a}) ? {a} : {b})"),
            6 => format!("{{'k': {a}, 'l': {b}}}"),
            7 => format!("[{a}, {b}]"),
            8 => format!("$uppercase($string({a}))"),
            9 => format!("$number({a})"),
            10 => format!("$states.input.items[n > {}]", self.int(0, 2)),
            11 => format!("$keys({a})"),
            12 => "$map($states.input.items, function($v) { $v.n * 2 })".into(),
            _ => format!("{a}.n"),
        }
    }

    fn condition_expr(&mut self) -> String {
        match self.int(0, 5) {
            0 => format!("$states.input.count > {}", self.int(0, 3)),
            1 => "$exists($states.input.a)".into(),
            2 => "$states.input.flag = true".into(),
            3 => "$count($states.input.items) > 1".into(),
            4 => format!("${} = 3", self.variable()),
            _ => self.jexpr(0, false),
        }
    }

    /// A JSONata field's value: an expression, or JSON with expressions inside.
    fn jsonata_value(&mut self, result: bool) -> Value {
        match self.int(0, 4) {
            0 => self.constant(),
            1 => json!({"v": format!("{{% {} %}}", self.jexpr(0, result)), "c": 1}),
            _ => json!(format!("{{% {} %}}", self.jexpr(0, result))),
        }
    }

    // ---- events

    fn event(&mut self) -> Value {
        let mut e = Map::new();
        for key in KEYS {
            if !self.chance(90) {
                continue;
            }
            let v = match key {
                "items" => {
                    let n = self.int(0, 4);
                    json!((0..n).map(|i| json!({"n": i as i64 - 1, "s": format!("s{i}")})).collect::<Vec<_>>())
                }
                "detail" => json!({"a": self.scalar(), "n": self.int(0, 9), "items": [1, 2]}),
                "count" | "amount" if self.chance(70) => json!(self.int(0, 3)),
                _ => self.scalar(),
            };
            e.insert(key.into(), v);
        }
        Value::Object(e)
    }

    fn scalar(&mut self) -> Value {
        match self.int(0, 10) {
            0 => json!(self.int(0, 4)),
            1 => json!(-1),
            2 => json!(2.5),
            3 => json!(71.4),
            4 => json!(self.pick(&["x", "text", "a,b", "2024-01-01T00:00:00Z", "é", "a b"])),
            5 => json!(true),
            6 => Value::Null,
            7 => json!([1, 2, 2]),
            8 => json!({"n": 1}),
            9 => json!(self.pick(&[1e20, 12345678901234567890.0])),
            _ => json!(12345678901234567890u64),
        }
    }

    /// `v` as JSON text, with numbers and strings sometimes spelled otherwise than the runtime
    /// writes them (`2.50`, `1e0`, `-0`, `\u0041`) and sometimes with whitespace.
    fn spelled(&mut self, v: &Value) -> String {
        let space = if self.chance(10) { " " } else { "" };
        match v {
            Value::Object(m) => {
                let members: Vec<String> = m
                    .iter()
                    .map(|(k, v)| {
                        let key = if self.chance(5) { escaped(k) } else { json!(k).to_string() };
                        format!("{key}:{space}{}", self.spelled(v))
                    })
                    .collect();
                format!("{{{}}}", members.join(&format!(",{space}")))
            }
            Value::Array(items) => {
                let items: Vec<String> = items.iter().map(|v| self.spelled(v)).collect();
                format!("[{}]", items.join(&format!(",{space}")))
            }
            Value::Number(n) if self.chance(15) => match (n.as_i64(), n.as_f64()) {
                (Some(0), _) => "-0".into(),
                (Some(i), _) => format!("{i}.0e0"),
                (None, Some(f)) if f.fract() != 0.0 => format!("{f}0"),
                (None, Some(f)) => format!("{f:e}"),
                _ => n.to_string(),
            },
            Value::String(s) if self.chance(15) => escaped(s),
            other => other.to_string(),
        }
    }
}

/// `s` as a JSON string with every character escaped (`"\u0061"`).
fn escaped(s: &str) -> String {
    let escaped: String =
        s.chars().map(|c| if (c as u32) < 0x10000 { format!("\\u{:04x}", c as u32) } else { c.to_string() }).collect();
    format!("\"{escaped}\"")
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
