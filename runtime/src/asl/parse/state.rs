//! A state: its Type, its fields by kind (Pass, Succeed, Fail and Wait here), its query
//! language and its transition.

use super::{jsonata_text, ptr, Parser, JSONATA_ONLY, JSONPATH_ONLY};
use crate::asl::ast::{ErrorHandling, Io, Machine, Map, State, StateKind, Str, Transition, Wait};
use crate::intrinsics::parse_call;
use crate::value::Const;
use serde_json::{Map as JsonMap, Value as Json};

impl Parser {
    pub(super) fn state(&mut self, name: &str, obj: &JsonMap<String, Json>, at: &str) -> State {
        const COMMON: &[&str] = &["Type", "Comment", "QueryLanguage"];
        const IO: &[&str] = &["InputPath", "OutputPath"];
        const FLOW: &[&str] = &["Next", "End"];
        const RESULT: &[&str] = &["ResultPath", "Parameters"];
        const ERRORS: &[&str] = &["Retry", "Catch", "ResultSelector"];
        let ty = match obj.get("Type") {
            Some(Json::String(t)) => t.as_str(),
            Some(_) => {
                self.schema(&ptr(at, "Type"), "Type must be a string");
                return self.unreadable(name, at);
            }
            None => {
                self.schema(at, "the field 'Type' is required");
                return self.unreadable(name, at);
            }
        };
        // The state's query language: its own, or the state machine's (also inside Map and
        // Parallel). A JSONata machine cannot have JSONPath states.
        let jsonata = match obj.get("QueryLanguage") {
            Some(ql) => {
                let j = self.query_language(ql, &ptr(at, "QueryLanguage"));
                if !j && self.top_jsonata {
                    self.schema(
                        at,
                        "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
                    );
                    true
                } else {
                    j
                }
            }
            None => self.top_jsonata,
        };
        let downgraded = obj.get("QueryLanguage").and_then(Json::as_str) == Some("JSONPath") && self.top_jsonata;
        let allowed: Vec<&str> = match ty {
            "Pass" => [COMMON, IO, FLOW, RESULT, &["Result", "Output", "Assign"]].concat(),
            "Task" => [
                COMMON,
                IO,
                FLOW,
                RESULT,
                ERRORS,
                &[
                    "Resource",
                    "TimeoutSeconds",
                    "TimeoutSecondsPath",
                    "HeartbeatSeconds",
                    "HeartbeatSecondsPath",
                    "Credentials",
                    "Arguments",
                    "Output",
                    "Assign",
                ],
            ]
            .concat(),
            "Choice" => [COMMON, IO, &["Choices", "Default", "Output", "Assign"]].concat(),
            "Wait" => [COMMON, IO, FLOW, &["Seconds", "SecondsPath", "Timestamp", "TimestampPath", "Output", "Assign"]]
                .concat(),
            "Succeed" => [COMMON, IO, &["Output"]].concat(),
            "Fail" => [COMMON, &["Error", "Cause", "ErrorPath", "CausePath"]].concat(),
            "Parallel" => [COMMON, IO, FLOW, RESULT, ERRORS, &["Branches", "Arguments", "Output", "Assign"]].concat(),
            "Map" => [
                COMMON,
                IO,
                FLOW,
                RESULT,
                ERRORS,
                &[
                    "Iterator",
                    "ItemProcessor",
                    "ItemsPath",
                    "Items",
                    "ItemSelector",
                    "MaxConcurrency",
                    "MaxConcurrencyPath",
                    "ToleratedFailureCount",
                    "ToleratedFailureCountPath",
                    "ToleratedFailurePercentage",
                    "ToleratedFailurePercentagePath",
                    "Label",
                    "ItemReader",
                    "ItemBatcher",
                    "ResultWriter",
                    "Output",
                    "Assign",
                ],
            ]
            .concat(),
            other => {
                self.schema(&ptr(at, "Type"), format!("'{other}' is not a valid state type"));
                return self.unreadable(name, at);
            }
        };
        self.fields(obj, at, &allowed);
        // Fields of the other query language, in AWS's words, at the state's location.
        if !downgraded {
            let (others, lang, other_lang) =
                if jsonata { (JSONPATH_ONLY, "JSONata", "JSONPath") } else { (JSONATA_ONLY, "JSONPath", "JSONata") };
            for k in obj.keys() {
                if others.contains(&k.as_str()) && allowed.contains(&k.as_str()) {
                    self.schema(
                        at,
                        format!(
                            "The QueryLanguage is set to '{lang}', but field '{k}' is only supported for the '{other_lang}' QueryLanguage"
                        ),
                    );
                }
            }
        }
        let saved = std::mem::replace(&mut self.cur_jsonata, jsonata);
        let io = if jsonata { Io::default() } else { self.io(obj, at) };
        let output =
            if jsonata { obj.get("Output").map(|v| self.jtemplate(v, "Output", &ptr(at, "Output"))) } else { None };
        let arguments = if jsonata {
            obj.get("Arguments").map(|v| self.jtemplate(v, "Arguments", &ptr(at, "Arguments")))
        } else {
            None
        };
        let assign = self.assign(obj, jsonata, "", at);
        let transition =
            if matches!(ty, "Choice" | "Succeed" | "Fail") { Transition::None } else { self.transition(obj, at) };
        let kind = match ty {
            "Pass" => StateKind::Pass { result: obj.get("Result").filter(|_| !jsonata).map(Const::from_serde) },
            "Task" => StateKind::Task(Box::new(self.task(obj, at))),
            "Choice" => self.choice(obj, at),
            // A state whose own fields are bad stays in the model, so that the graph checks
            // (targets, reachability, terminal states) still see it.
            "Wait" => StateKind::Wait(self.wait(obj, at).unwrap_or(Wait::Seconds(0))),
            "Succeed" => StateKind::Succeed,
            "Fail" => StateKind::Fail {
                error: self.str_or_path(obj, "Error", "ErrorPath", at),
                cause: self.str_or_path(obj, "Cause", "CausePath", at),
            },
            "Parallel" => self.parallel(obj, at),
            "Map" => StateKind::Map(Box::new(self.map(obj, at).unwrap_or_else(|| {
                // Diagnosed; the Map's catchers were not read, so where they lead is unknown.
                self.incomplete = true;
                Map {
                    items: None,
                    item_selector_j: None,
                    items_path: None,
                    item_selector: None,
                    processor: Machine {
                        start_at: String::new(),
                        states: Vec::new(),
                        timeout_seconds: None,
                        incomplete: true,
                    },
                    max_concurrency: None,
                    tolerated_failure_count: None,
                    tolerated_failure_percentage: None,
                    errors: ErrorHandling::default(),
                }
            }))),
            _ => StateKind::Unreadable,
        };
        self.cur_jsonata = saved;
        State {
            name: name.to_owned(),
            pointer: at.to_owned(),
            kind,
            io,
            transition,
            jsonata,
            output,
            arguments,
            assign,
        }
    }

    pub(super) fn transition(&mut self, obj: &JsonMap<String, Json>, at: &str) -> Transition {
        let next = self.target(obj, "Next", at);
        let end = match obj.get("End") {
            None => false,
            Some(Json::Bool(b)) => *b,
            Some(_) => {
                self.schema(&ptr(at, "End"), "End must be a boolean");
                // Whether the state ends is unknown (no terminal or reachability check), but a
                // Next that can be read still names a target to check.
                self.incomplete = true;
                return next.map_or(Transition::None, Transition::Next);
            }
        };
        if next.is_none() && obj.contains_key("Next") {
            // Said already: Next is not a string. Where the state goes is unknown.
            return Transition::None;
        }
        match (next, end) {
            (Some(n), false) => Transition::Next(n),
            (None, true) => Transition::End,
            (Some(_), true) => {
                self.schema(at, "a state cannot have both 'Next' and 'End'");
                Transition::End
            }
            (None, false) => {
                self.diag("MISSING_TRANSITION_TARGET", at, "the state has neither 'Next' nor 'End: true'");
                Transition::End
            }
        }
    }

    pub(super) fn str_or_path(&mut self, obj: &JsonMap<String, Json>, lit: &str, path: &str, at: &str) -> Option<Str> {
        if obj.contains_key(lit) && obj.contains_key(path) {
            self.schema(at, format!("'{lit}' and '{path}' cannot both be set"));
        }
        if let Some(s) = self.string(obj, lit, at) {
            if self.cur_jsonata && jsonata_text(&s).is_some() {
                return Some(Str::Jsonata(self.jtemplate(&Json::String(s), lit, &ptr(at, lit))));
            }
            return Some(Str::Literal(s));
        }
        let text = self.string(obj, path, at)?;
        let here = ptr(at, path);
        if text.trim_start().starts_with("States.") {
            match parse_call(text.trim()) {
                Ok(mut c) => {
                    self.bind_call(&mut c);
                    Some(Str::Call(c))
                }
                Err(e) => {
                    self.schema(&here, format!("invalid intrinsic function in {path}: {e}"));
                    None
                }
            }
        } else {
            self.path(&text, &here, path).map(Str::Path)
        }
    }

    pub(super) fn wait(&mut self, obj: &JsonMap<String, Json>, at: &str) -> Option<Wait> {
        let present: Vec<&str> = ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"]
            .into_iter()
            .filter(|k| obj.contains_key(*k))
            .collect();
        if present.len() != 1 {
            self.schema(at, "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath");
            return None;
        }
        let here = ptr(at, present[0]);
        let v = &obj[present[0]];
        if self.cur_jsonata {
            if let Some(t) = v.as_str().filter(|t| jsonata_text(t).is_some()) {
                let jt = self.jtemplate(&Json::String(t.to_owned()), present[0], &here);
                return Some(if present[0] == "Seconds" { Wait::SecondsExpr(jt) } else { Wait::TimestampExpr(jt) });
            }
        }
        match present[0] {
            "Seconds" => match v.as_u64() {
                Some(n) if n <= 99_999_999 => Some(Wait::Seconds(n)),
                _ => {
                    self.schema(&here, "Seconds must be an integer from 0 to 99999999");
                    None
                }
            },
            "Timestamp" => match v.as_str().filter(|s| crate::common::timestamp::parse(s).is_some()) {
                Some(s) => Some(Wait::Timestamp(s.to_owned())),
                None => {
                    self.schema(&here, "Timestamp must be an RFC 3339 timestamp string");
                    None
                }
            },
            field => {
                let text = v.as_str().unwrap_or_default().to_owned();
                let p = self.path(&text, &here, field)?;
                Some(if field == "SecondsPath" { Wait::SecondsPath(p) } else { Wait::TimestampPath(p) })
            }
        }
    }
}

impl Parser {
    /// A state whose Type is missing or unknown, or that is no object: kept, so that references
    /// to it resolve. What it would reach is unknown, so its machine is incomplete (no
    /// reachability or terminal check): the one diagnostic is about the state itself.
    pub(super) fn unreadable(&mut self, name: &str, at: &str) -> State {
        self.incomplete = true;
        State {
            name: name.to_owned(),
            pointer: at.to_owned(),
            kind: StateKind::Unreadable,
            io: Io::default(),
            transition: Transition::None,
            jsonata: false,
            output: None,
            arguments: None,
            assign: None,
        }
    }

    /// A transition target field (`Next`, `Default`): its name, or `None` when it is absent or
    /// not a string. Not a string is diagnosed here and leaves the machine incomplete.
    pub(super) fn target(&mut self, obj: &JsonMap<String, Json>, field: &str, at: &str) -> Option<String> {
        let name = self.string(obj, field, at);
        if name.is_none() && obj.contains_key(field) {
            self.incomplete = true;
        }
        name
    }
}
