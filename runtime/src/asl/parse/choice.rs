//! Choice states: rules, their comparisons and nested And/Or/Not conditions.

use super::{jsonata_text, ptr, Parser};
use crate::asl::ast::{ChoiceRule, Comparison, Condition, Operand, StateKind};
use crate::jsonata::JTemplate;
use crate::value::Const;
use serde_json::{Map as JsonMap, Value as Json};

impl Parser {
    pub(super) fn choice(&mut self, obj: &JsonMap<String, Json>, at: &str) -> StateKind {
        let here = ptr(at, "Choices");
        let mut choices = Vec::new();
        match obj.get("Choices").and_then(Json::as_array) {
            Some(list) if !list.is_empty() => {
                for (i, rule) in list.iter().enumerate() {
                    let rp = format!("{here}/{i}");
                    let Some(o) = rule.as_object() else {
                        self.schema(&rp, "a choice rule must be a JSON object");
                        self.incomplete = true;
                        continue;
                    };
                    let next = match self.target(o, "Next", &rp) {
                        Some(n) => n,
                        None => {
                            if !o.contains_key("Next") {
                                self.schema(&rp, "a top-level choice rule must have 'Next'");
                                self.incomplete = true;
                            }
                            String::new()
                        }
                    };
                    let prefix = format!("Choices[{i}]/");
                    let assign = self.assign(o, self.cur_jsonata, &prefix, &rp);
                    if self.cur_jsonata {
                        self.fields(o, &rp, &["Condition", "Next", "Assign", "Output", "Comment"]);
                        let output =
                            o.get("Output").map(|v| self.jtemplate(v, &format!("{prefix}Output"), &ptr(&rp, "Output")));
                        let condition = match o.get("Condition") {
                            Some(Json::Bool(b)) => Condition::Jsonata(JTemplate::Const(Const::Bool(*b))),
                            Some(Json::String(t)) if jsonata_text(t).is_some() => Condition::Jsonata(self.jtemplate(
                                &Json::String(t.clone()),
                                &format!("{prefix}Condition"),
                                &ptr(&rp, "Condition"),
                            )),
                            _ => {
                                self.schema(
                                    &rp,
                                    "a JSONata choice rule needs a 'Condition': true, false or a {% %} expression",
                                );
                                self.incomplete = true;
                                continue;
                            }
                        };
                        choices.push(ChoiceRule { condition, next, assign, output });
                        continue;
                    }
                    if o.contains_key("Condition") {
                        self.schema(&rp, "The QueryLanguage is set to 'JSONPath', but field 'Condition' is only supported for the 'JSONata' QueryLanguage");
                        self.incomplete = true;
                        continue;
                    }
                    match self.condition(o, &rp, true) {
                        Some(condition) => choices.push(ChoiceRule { condition, next, assign, output: None }),
                        // Diagnosed; the rule is dropped, so where it leads counts as unknown.
                        None => self.incomplete = true,
                    }
                }
            }
            _ => {
                self.schema(&here, "Choices must be a non-empty array");
                self.incomplete = true;
            }
        }
        let default = self.target(obj, "Default", at);
        StateKind::Choice { choices, default }
    }

    pub(super) fn condition(&mut self, o: &JsonMap<String, Json>, at: &str, top: bool) -> Option<Condition> {
        let mut allowed: Vec<&str> = vec!["Variable", "And", "Or", "Not", "Comment"];
        if top {
            allowed.extend(["Next", "Assign", "Output"]);
        }
        let ops: Vec<String> = Comparison::ALL
            .iter()
            .flat_map(
                |(n, c)| {
                    if c.is_type_test() {
                        vec![n.to_string()]
                    } else {
                        vec![n.to_string(), format!("{n}Path")]
                    }
                },
            )
            .collect();
        for k in o.keys() {
            if !allowed.contains(&k.as_str()) && !ops.contains(k) {
                self.schema(&ptr(at, k), format!("the field '{k}' is not supported in a choice rule"));
            }
        }
        let sub = |p: &mut Parser, key: &str| -> Option<Vec<Condition>> {
            let here = ptr(at, key);
            match o.get(key).and_then(Json::as_array) {
                Some(list) if !list.is_empty() => Some(
                    list.iter()
                        .enumerate()
                        .filter_map(|(i, r)| match r.as_object() {
                            Some(ro) => p.condition(ro, &format!("{here}/{i}"), false),
                            None => {
                                p.schema(&format!("{here}/{i}"), "a choice rule must be a JSON object");
                                None
                            }
                        })
                        .collect(),
                ),
                _ => {
                    p.schema(&here, format!("{key} must be a non-empty array of choice rules"));
                    None
                }
            }
        };
        if o.contains_key("And") {
            return sub(self, "And").map(Condition::And);
        }
        if o.contains_key("Or") {
            return sub(self, "Or").map(Condition::Or);
        }
        if let Some(n) = o.get("Not") {
            return match n.as_object() {
                Some(no) => self.condition(no, &ptr(at, "Not"), false).map(|c| Condition::Not(Box::new(c))),
                None => {
                    self.schema(&ptr(at, "Not"), "Not must be a choice rule object");
                    None
                }
            };
        }
        let variable = match self.string(o, "Variable", at) {
            Some(v) => self.path(&v, &ptr(at, "Variable"), "Variable")?,
            None => {
                self.schema(at, "a choice rule needs 'Variable' and a comparison operator, or And/Or/Not");
                return None;
            }
        };
        let mut found = None;
        for (name, cmp) in Comparison::ALL {
            if let Some(v) = o.get(name) {
                found = Some((name.to_string(), cmp, Some(v), false));
            }
            let pname = format!("{name}Path");
            if let Some(v) = o.get(&pname).filter(|_| !cmp.is_type_test()) {
                found = Some((pname, cmp, Some(v), true));
            }
        }
        let Some((name, op, Some(v), is_path)) = found else {
            self.schema(at, "a choice rule needs a comparison operator");
            return None;
        };
        let here = ptr(at, &name);
        let operand = if is_path {
            let text = v.as_str().unwrap_or_default();
            Operand::Path(self.path(text, &here, &name)?)
        } else {
            let ok = match op {
                _ if op.is_type_test() => v.is_boolean(),
                Comparison::BooleanEquals => v.is_boolean(),
                Comparison::NumericEquals
                | Comparison::NumericLessThan
                | Comparison::NumericGreaterThan
                | Comparison::NumericLessThanEquals
                | Comparison::NumericGreaterThanEquals => v.is_number(),
                Comparison::TimestampEquals
                | Comparison::TimestampLessThan
                | Comparison::TimestampGreaterThan
                | Comparison::TimestampLessThanEquals
                | Comparison::TimestampGreaterThanEquals => {
                    v.as_str().is_some_and(|s| crate::common::timestamp::parse(s).is_some())
                }
                _ => v.is_string(),
            };
            if !ok {
                self.schema(&here, format!("the value of {name} has the wrong type"));
                return None;
            }
            Operand::Const(Const::from_serde(v))
        };
        Some(Condition::Compare { variable, op, operand })
    }
}
