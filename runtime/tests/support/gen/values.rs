//! The values the generator puts in a definition and the events it runs on: JSONPath paths,
//! constants, payload templates, intrinsic calls, Choice conditions, JSONata expressions, and
//! events whose numbers and strings come in unusual spellings.

use super::{Gen, KEYS};
use serde_json::{json, Map, Value};

impl Gen<'_, '_> {
    /// A JSONPath path: names of every length, indices, wildcards, filters, slices, the
    /// context object and variables.
    pub(super) fn path(&mut self) -> String {
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

    pub(super) fn constant(&mut self) -> Value {
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
    pub(super) fn template(&mut self, depth: u32) -> Value {
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

    pub(super) fn arg(&mut self, depth: u32) -> String {
        match self.int(0, 7) {
            0 => "'x'".into(),
            1 => self.pick(&["3", "1.5", "-2", "0"]).into(),
            2 => self.pick(&["true", "null", "'a,b'"]).into(),
            3 if depth < 2 => self.intrinsic(depth + 1),
            _ => self.path(),
        }
    }

    /// An intrinsic function call; arguments of the wrong type fail as they do on AWS.
    pub(super) fn intrinsic(&mut self, depth: u32) -> String {
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
    pub(super) fn condition(&mut self, depth: u32) -> Value {
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
    pub(super) fn jexpr(&mut self, depth: u32, result: bool) -> String {
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

    pub(super) fn condition_expr(&mut self) -> String {
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
    pub(super) fn jsonata_value(&mut self, result: bool) -> Value {
        match self.int(0, 4) {
            0 => self.constant(),
            1 => json!({"v": format!("{{% {} %}}", self.jexpr(0, result)), "c": 1}),
            _ => json!(format!("{{% {} %}}", self.jexpr(0, result))),
        }
    }

    // ---- events

    pub(super) fn event(&mut self) -> Value {
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

    pub(super) fn scalar(&mut self) -> Value {
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
    pub(super) fn spelled(&mut self, v: &Value) -> String {
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
