//! JSON → [`Definition`], collecting every problem instead of stopping at the first.
//!
//! "Parsing never fails": each field is read on its own, a bad one adds a [`Diagnostic`] and a
//! placeholder, and parsing goes on so that one run reports everything.

use super::ast::*;
use super::template::{compile_template, escape_pointer, Problem, Template};
use super::{validate, Diagnostic};
use crate::intrinsics::parse_call;
use crate::intrinsics::{Arg, Call};
use crate::jsonata::{compile::Node as JNode, Expr, JTemplate};
use crate::path::{parse_path, parse_reference_path, Path, ReferencePath, Root};
use crate::value::Const;
use serde_json::{Map as JsonMap, Value as Json};
use std::sync::Arc;

const SCHEMA: &str = "SCHEMA_VALIDATION_FAILED";

/// Parses and validates a definition. `Err` holds every diagnostic found.
pub fn parse(text: &str) -> Result<Definition, Vec<Diagnostic>> {
    let json: Json = match serde_json::from_str(text) {
        Ok(j) => j,
        Err(e) => {
            return Err(vec![Diagnostic {
                code: "INVALID_JSON_DESCRIPTION",
                location: String::new(),
                message: format!("the definition is not valid JSON: {e}"),
                note: None,
            }])
        }
    };
    let mut p = Parser { diags: Vec::new(), top_jsonata: false, vars: vec!["states".to_owned()], cur_jsonata: false };
    let Some(obj) = json.as_object() else {
        p.schema("", "the definition must be a JSON object");
        return Err(p.diags);
    };
    if let Some(ql) = obj.get("QueryLanguage") {
        p.top_jsonata = p.query_language(ql, "/QueryLanguage");
        p.cur_jsonata = p.top_jsonata;
    }
    let machine = p.machine(obj, "", &["Comment", "StartAt", "States", "TimeoutSeconds", "Version", "QueryLanguage"]);
    let def = Definition { machine, variables: std::mem::take(&mut p.vars) };
    validate::check(&def, &mut p.diags);
    if p.diags.is_empty() {
        Ok(def)
    } else {
        Err(p.diags)
    }
}

struct Parser {
    diags: Vec<Diagnostic>,
    /// The state machine's query language is JSONata (states inherit it, nested ones too).
    top_jsonata: bool,
    /// Workflow variable names by slot; slot 0 is `states`.
    vars: Vec<String>,
    /// The query language of the state being parsed is JSONata.
    cur_jsonata: bool,
}

/// The fields only JSONPath states have.
const JSONPATH_ONLY: &[&str] = &[
    "InputPath",
    "OutputPath",
    "ResultPath",
    "ResultSelector",
    "Parameters",
    "Result",
    "ItemsPath",
    "MaxConcurrencyPath",
    "ErrorPath",
    "CausePath",
    "SecondsPath",
    "TimestampPath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentagePath",
];
/// The fields only JSONata states have.
const JSONATA_ONLY: &[&str] = &["Output", "Arguments", "Items"];

/// `{% expr %}`: the expression text, if `s` is one.
fn jsonata_text(s: &str) -> Option<&str> {
    s.strip_prefix("{%").and_then(|r| r.strip_suffix("%}")).map(str::trim)
}

fn ptr(base: &str, field: &str) -> String {
    format!("{base}/{}", escape_pointer(field))
}

impl Parser {
    fn diag(&mut self, code: &'static str, location: &str, message: impl Into<String>) {
        self.diags.push(Diagnostic { code, location: location.to_owned(), message: message.into(), note: None });
    }

    fn schema(&mut self, location: &str, message: impl Into<String>) {
        self.diag(SCHEMA, location, message);
    }

    fn unsupported(&mut self, location: &str, what: &str) {
        self.diag("UNSUPPORTED_FEATURE", location, format!("{what} is not supported by aslrt yet"));
    }

    /// Checks a QueryLanguage value; true when it makes the state JSONata (AWS: anything but
    /// exactly "JSONPath").
    fn query_language(&mut self, v: &Json, at: &str) -> bool {
        match v.as_str() {
            Some("JSONPath") => false,
            Some("JSONata") => true,
            Some(_) => {
                self.schema(at, "Value should be one of the following: [JSONPath, JSONata]");
                true
            }
            None => {
                self.schema(at, "Expected value of type [STRING]");
                true
            }
        }
    }

    fn slot(&mut self, name: &str) -> u32 {
        match self.vars.iter().position(|v| v == name) {
            Some(i) => i as u32,
            None => {
                self.vars.push(name.to_owned());
                (self.vars.len() - 1) as u32
            }
        }
    }

    fn bind_path(&mut self, p: &mut Path) {
        if let Some(name) = p.variable.clone() {
            p.root = Root::Variable(self.slot(&name));
        }
    }

    fn bind_call(&mut self, c: &mut Call) {
        let mut args = std::mem::take(&mut c.args).into_vec();
        for a in args.iter_mut() {
            match a {
                Arg::Path(p) => self.bind_path(p),
                Arg::Call(inner) => self.bind_call(inner),
                Arg::Const(_) => {}
            }
        }
        c.args = args.into();
    }

    fn bind_template(&mut self, t: &mut Template) {
        match t {
            Template::Path { path, .. } => self.bind_path(path),
            Template::Call { call, .. } => self.bind_call(call),
            Template::Object(members) => {
                let mut m = std::mem::take(members).into_vec();
                m.iter_mut().for_each(|(_, x)| self.bind_template(x));
                *members = m.into();
            }
            Template::Array(items) => {
                let mut m = std::mem::take(items).into_vec();
                m.iter_mut().for_each(|x| self.bind_template(x));
                *items = m.into();
            }
            Template::Const(_) => {}
        }
    }

    /// Compiles a JSONata expression; `field` names it as AWS does in errors (`Output/a`).
    fn jsonata_expr(&mut self, text: &str, field: &str, at: &str) -> Option<Arc<Expr>> {
        let mut vars = std::mem::take(&mut self.vars);
        let mut resolve = |name: &str| -> Option<u32> {
            Some(match vars.iter().position(|v| v == name) {
                Some(i) => i as u32,
                None => {
                    vars.push(name.to_owned());
                    (vars.len() - 1) as u32
                }
            })
        };
        let compiled = Expr::compile(text, &mut resolve);
        self.vars = vars;
        match compiled {
            Ok(e) => {
                let mut problems = Vec::new();
                top_level_references(e.root(), true, &mut problems);
                for m in problems {
                    self.diag("UNSUPPORTED_JSONATA_EXPRESSION", at, m);
                }
                if text.contains("$states.errorOutput") && !field.contains("Catch[") {
                    self.diag("UNSUPPORTED_JSONATA_EXPRESSION", at, "Field '$states.errorOutput' does not exist.");
                }
                let _ = field;
                Some(Arc::new(e))
            }
            Err(e) => {
                self.diags.push(Diagnostic {
                    code: "INVALID_JSONATA_EXPRESSION",
                    location: at.to_owned(),
                    message: e.message,
                    note: Some(format!("{} at offset {} of '{text}'", e.code, e.at)),
                });
                None
            }
        }
    }

    /// A JSONata-mode value: `{% %}` strings (at any depth) are expressions.
    fn jtemplate(&mut self, v: &Json, field: &str, at: &str) -> JTemplate {
        match v {
            Json::String(s) => match jsonata_text(s) {
                Some(text) => match self.jsonata_expr(text, field, at) {
                    Some(expr) => JTemplate::Expr { expr, field: field.to_owned() },
                    None => JTemplate::Const(Const::Null),
                },
                None => JTemplate::Const(Const::Str(s.as_str().into())),
            },
            Json::Object(members) => {
                let out: Vec<(String, JTemplate)> =
                    members.iter().map(|(k, x)| (k.clone(), self.jtemplate(x, &format!("{field}/{k}"), at))).collect();
                if out.iter().all(|(_, t)| matches!(t, JTemplate::Const(_))) {
                    JTemplate::Const(Const::from_serde(v))
                } else {
                    JTemplate::Object(out)
                }
            }
            Json::Array(items) => {
                let out: Vec<JTemplate> =
                    items.iter().enumerate().map(|(i, x)| self.jtemplate(x, &format!("{field}[{i}]"), at)).collect();
                if out.iter().all(|t| matches!(t, JTemplate::Const(_))) {
                    JTemplate::Const(Const::from_serde(v))
                } else {
                    JTemplate::Array(out)
                }
            }
            other => JTemplate::Const(Const::from_serde(other)),
        }
    }

    /// `Assign`: in JSONata mode a JSONata value per variable, in JSONPath mode a payload
    /// template member per variable (`"x.$": "$.path"`). `field` prefixes error locations.
    fn assign(&mut self, obj: &JsonMap<String, Json>, jsonata: bool, field: &str, at: &str) -> Option<Assign> {
        let v = obj.get("Assign")?;
        let here = ptr(at, "Assign");
        let Some(members) = v.as_object() else {
            self.schema(&here, "Assign must be a JSON object");
            return None;
        };
        let mut names = Vec::new();
        let valid_name = |n: &str| {
            let mut c = n.chars();
            c.next().is_some_and(|f| f.is_alphabetic() || f == '_')
                && c.all(|x| x.is_alphanumeric() || x == '_')
                && n.chars().count() <= 80
        };
        for k in members.keys() {
            let name = if jsonata { k.as_str() } else { k.strip_suffix(".$").unwrap_or(k) };
            if !valid_name(name) || name == "states" {
                self.schema(&ptr(&here, k), format!("The variable name '{name}' is not valid"));
            }
            names.push(name.to_owned());
        }
        if jsonata {
            let mut out = Vec::new();
            for ((k, x), name) in members.iter().zip(&names) {
                let slot = self.slot(name);
                let t = self.jtemplate(x, &format!("{field}Assign/{k}"), &here);
                out.push((slot, name.clone(), t));
            }
            Some(Assign::Jsonata(out))
        } else {
            let mut problems = Vec::new();
            let mut out = Vec::new();
            for ((k, x), name) in members.iter().zip(&names) {
                let one = serde_json::json!({ k.clone(): x.clone() });
                let mut t = compile_template(&one, &mut problems);
                self.bind_template(&mut t);
                let value = match t {
                    Template::Object(m) => m.into_vec().pop().map(|(_, t)| t).unwrap_or(Template::Const(Const::Null)),
                    Template::Const(Const::Object(m)) => {
                        Template::Const(m.into_vec().pop().map(|(_, c)| c).unwrap_or(Const::Null))
                    }
                    other => other,
                };
                let slot = self.slot(name);
                out.push((slot, name.clone(), value));
            }
            self.template_problems(problems, &here);
            Some(Assign::JsonPath(out))
        }
    }

    fn fields(&mut self, obj: &JsonMap<String, Json>, at: &str, allowed: &[&str]) {
        for k in obj.keys() {
            if !allowed.contains(&k.as_str()) {
                // AWS's wording and location: the object holding the field.
                self.schema(at, format!("Field '{k}' is not supported"));
            }
        }
    }

    fn machine(&mut self, obj: &JsonMap<String, Json>, at: &str, allowed: &[&str]) -> Machine {
        self.fields(obj, at, allowed);
        let start_at = match obj.get("StartAt") {
            Some(Json::String(s)) => s.clone(),
            Some(_) => {
                self.schema(&ptr(at, "StartAt"), "StartAt must be a string");
                String::new()
            }
            None => {
                self.schema(at, "the field 'StartAt' is required");
                String::new()
            }
        };
        let timeout_seconds = obj.get("TimeoutSeconds").and_then(|v| self.uint(v, &ptr(at, "TimeoutSeconds")));
        let mut states = Vec::new();
        match obj.get("States") {
            Some(Json::Object(map)) => {
                if map.is_empty() {
                    self.schema(&ptr(at, "States"), "States must not be empty");
                }
                for (name, s) in map {
                    let sp = ptr(&ptr(at, "States"), name);
                    if name.is_empty() || name.chars().count() > 80 {
                        self.schema(&sp, "a state name must be 1 to 80 characters long");
                    }
                    match s.as_object() {
                        Some(o) => {
                            if let Some(st) = self.state(name, o, &sp) {
                                states.push(st);
                            }
                        }
                        None => self.schema(&sp, format!("the state '{name}' must be a JSON object")),
                    }
                }
            }
            Some(_) => self.schema(&ptr(at, "States"), "States must be a JSON object"),
            None => self.schema(at, "the field 'States' is required"),
        }
        Machine { start_at, states, timeout_seconds }
    }

    fn uint(&mut self, v: &Json, at: &str) -> Option<u64> {
        match v.as_u64() {
            Some(n) => Some(n),
            None => {
                self.schema(at, "expected a non-negative integer");
                None
            }
        }
    }

    fn string(&mut self, obj: &JsonMap<String, Json>, field: &str, at: &str) -> Option<String> {
        match obj.get(field) {
            None => None,
            Some(Json::String(s)) => Some(s.clone()),
            Some(_) => {
                self.schema(&ptr(at, field), format!("{field} must be a string"));
                None
            }
        }
    }

    /// A path field that may be null (InputPath, OutputPath, ItemsPath).
    fn path_field(&mut self, obj: &JsonMap<String, Json>, field: &str, at: &str) -> Option<Option<Path>> {
        match obj.get(field)? {
            Json::Null => Some(None),
            Json::String(s) => self.path(s, &ptr(at, field), field).map(Some),
            _ => {
                self.schema(&ptr(at, field), format!("{field} must be a string or null"));
                None
            }
        }
    }

    fn path(&mut self, text: &str, at: &str, field: &str) -> Option<Path> {
        match parse_path(text) {
            Ok(mut p) => {
                self.bind_path(&mut p);
                Some(p)
            }
            Err(e) => {
                self.schema(at, format!("the value of {field} is not a valid JSONPath ('{text}'): {e}"));
                None
            }
        }
    }

    fn reference_path(&mut self, obj: &JsonMap<String, Json>, at: &str) -> Option<Option<ReferencePath>> {
        match obj.get("ResultPath")? {
            Json::Null => Some(None),
            Json::String(s) => match parse_reference_path(s) {
                Ok(p) => Some(Some(p)),
                Err(e) => {
                    self.schema(
                        &ptr(at, "ResultPath"),
                        format!("the value of ResultPath is not a valid reference path ('{s}'): {e}"),
                    );
                    None
                }
            },
            _ => {
                self.schema(&ptr(at, "ResultPath"), "ResultPath must be a string or null");
                None
            }
        }
    }

    fn template(&mut self, obj: &JsonMap<String, Json>, field: &str, at: &str) -> Option<Template> {
        let v = obj.get(field)?;
        let here = ptr(at, field);
        if !v.is_object() {
            self.schema(&here, format!("{field} must be a JSON object"));
            return None;
        }
        let mut problems = Vec::new();
        let mut t = compile_template(v, &mut problems);
        self.bind_template(&mut t);
        self.template_problems(problems, &here);
        Some(t)
    }

    /// AWS's diagnostic for each bad `.$` member of a payload template at `at`.
    fn template_problems(&mut self, problems: Vec<Problem>, at: &str) {
        for p in problems {
            self.diags.push(Diagnostic {
                code: SCHEMA,
                location: at.to_owned(),
                message: format!(
                    "The value for the field '{}' must be a valid JSONPath or a valid intrinsic function call",
                    p.field
                ),
                note: Some(p.detail),
            });
        }
    }

    fn io(&mut self, obj: &JsonMap<String, Json>, at: &str) -> Io {
        Io {
            input_path: self.path_field(obj, "InputPath", at),
            output_path: self.path_field(obj, "OutputPath", at),
            result_path: self.reference_path(obj, at),
            parameters: self.template(obj, "Parameters", at),
            result_selector: self.template(obj, "ResultSelector", at),
        }
    }

    fn state(&mut self, name: &str, obj: &JsonMap<String, Json>, at: &str) -> Option<State> {
        const COMMON: &[&str] = &["Type", "Comment", "QueryLanguage"];
        const IO: &[&str] = &["InputPath", "OutputPath"];
        const FLOW: &[&str] = &["Next", "End"];
        const RESULT: &[&str] = &["ResultPath", "Parameters"];
        const ERRORS: &[&str] = &["Retry", "Catch", "ResultSelector"];
        let ty = match obj.get("Type") {
            Some(Json::String(t)) => t.as_str(),
            Some(_) => {
                self.schema(&ptr(at, "Type"), "Type must be a string");
                return None;
            }
            None => {
                self.schema(at, "the field 'Type' is required");
                return None;
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
                return None;
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
            "Map" => StateKind::Map(Box::new(self.map(obj, at).unwrap_or_else(|| Map {
                items: None,
                item_selector_j: None,
                items_path: None,
                item_selector: None,
                processor: Machine { start_at: String::new(), states: Vec::new(), timeout_seconds: None },
                max_concurrency: None,
                tolerated_failure_count: None,
                tolerated_failure_percentage: None,
                errors: ErrorHandling::default(),
            }))),
            _ => {
                self.cur_jsonata = saved;
                return None;
            }
        };
        self.cur_jsonata = saved;
        Some(State {
            name: name.to_owned(),
            pointer: at.to_owned(),
            kind,
            io,
            transition,
            jsonata,
            output,
            arguments,
            assign,
        })
    }

    fn transition(&mut self, obj: &JsonMap<String, Json>, at: &str) -> Transition {
        let next = self.string(obj, "Next", at);
        let end = match obj.get("End") {
            None => false,
            Some(Json::Bool(b)) => *b,
            Some(_) => {
                self.schema(&ptr(at, "End"), "End must be a boolean");
                false
            }
        };
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

    fn str_or_path(&mut self, obj: &JsonMap<String, Json>, lit: &str, path: &str, at: &str) -> Option<Str> {
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

    fn seconds(&mut self, obj: &JsonMap<String, Json>, lit: &str, path: &str, at: &str) -> Option<Seconds> {
        if let Some(t) = obj.get(lit).and_then(Json::as_str).filter(|t| jsonata_text(t).is_some()) {
            return Some(Number::Jsonata(self.jtemplate(&Json::String(t.to_owned()), lit, &ptr(at, lit))));
        }
        if let Some(v) = obj.get(lit) {
            return match v.as_u64() {
                Some(n) if n > 0 => Some(Number::Literal(n)),
                _ => {
                    self.schema(&ptr(at, lit), format!("{lit} must be a positive integer"));
                    None
                }
            };
        }
        let text = self.string(obj, path, at)?;
        self.path(&text, &ptr(at, path), path).map(Number::Path)
    }

    fn task(&mut self, obj: &JsonMap<String, Json>, at: &str) -> Task {
        let resource = match self.string(obj, "Resource", at) {
            Some(r) => r,
            None => {
                if !obj.contains_key("Resource") {
                    self.schema(at, "the field 'Resource' is required");
                }
                String::new()
            }
        };
        let here = ptr(at, "Resource");
        if resource.ends_with(".sync") || resource.contains(".sync:") {
            self.diag(
                "SCHEMA_VALIDATION_FAILED",
                &here,
                "Express state machines do not support the '.sync' integration pattern",
            );
        } else if resource.ends_with(".waitForTaskToken") {
            self.diag(
                "SCHEMA_VALIDATION_FAILED",
                &here,
                "Express state machines do not support the '.waitForTaskToken' integration pattern",
            );
        } else if resource.contains(":activity:") {
            self.diag("SCHEMA_VALIDATION_FAILED", &here, "Express state machines do not support activities");
        } else if !resource.is_empty() && !resource.starts_with("arn:") {
            self.diag("INVALID_RESOURCE", &here, format!("'{resource}' is not a valid resource ARN"));
        }
        Task {
            resource,
            timeout: self.seconds(obj, "TimeoutSeconds", "TimeoutSecondsPath", at),
            heartbeat: self.seconds(obj, "HeartbeatSeconds", "HeartbeatSecondsPath", at),
            errors: self.error_handling(obj, at),
        }
    }

    fn error_handling(&mut self, obj: &JsonMap<String, Json>, at: &str) -> ErrorHandling {
        let mut out = ErrorHandling::default();
        if let Some(v) = obj.get("Retry") {
            let here = ptr(at, "Retry");
            match v.as_array() {
                Some(items) => {
                    for (i, r) in items.iter().enumerate() {
                        let rp = format!("{here}/{i}");
                        match r.as_object() {
                            Some(o) => {
                                if let Some(r) = self.retrier(o, &rp) {
                                    out.retry.push(r);
                                }
                            }
                            None => self.schema(&rp, "a retrier must be a JSON object"),
                        }
                    }
                    self.check_states_all(out.retry.iter().map(|r| &r.error_equals), &here);
                }
                None => self.schema(&here, "Retry must be an array"),
            }
        }
        if let Some(v) = obj.get("Catch") {
            let here = ptr(at, "Catch");
            match v.as_array() {
                Some(items) => {
                    for (i, c) in items.iter().enumerate() {
                        let cp = format!("{here}/{i}");
                        match c.as_object() {
                            Some(o) => {
                                self.fields(
                                    o,
                                    &cp,
                                    &["ErrorEquals", "Next", "ResultPath", "Comment", "Assign", "Output"],
                                );
                                let jsonata = self.cur_jsonata;
                                let wrong = if jsonata { "ResultPath" } else { "Output" };
                                if o.contains_key(wrong) {
                                    let (lang, other) =
                                        if jsonata { ("JSONata", "JSONPath") } else { ("JSONPath", "JSONata") };
                                    self.schema(
                                        &cp,
                                        format!("The QueryLanguage is set to '{lang}', but field '{wrong}' is only supported for the '{other}' QueryLanguage"),
                                    );
                                }
                                let prefix = format!("Catch[{i}]/");
                                let output = if jsonata {
                                    o.get("Output")
                                        .map(|v| self.jtemplate(v, &format!("{prefix}Output"), &ptr(&cp, "Output")))
                                } else {
                                    None
                                };
                                let assign = self.assign(o, jsonata, &prefix, &cp);
                                let error_equals = self.error_equals(o, &cp);
                                let next = match self.string(o, "Next", &cp) {
                                    Some(n) => n,
                                    None => {
                                        self.schema(&cp, "the field 'Next' is required in a catcher");
                                        String::new()
                                    }
                                };
                                let result_path = if jsonata { None } else { self.reference_path(o, &cp) };
                                out.catch.push(Catcher { error_equals, result_path, next, jsonata, output, assign });
                            }
                            None => self.schema(&cp, "a catcher must be a JSON object"),
                        }
                    }
                    self.check_states_all(out.catch.iter().map(|c| &c.error_equals), &here);
                }
                None => self.schema(&here, "Catch must be an array"),
            }
        }
        out
    }

    /// `States.ALL` must appear alone, in the last retrier or catcher.
    fn check_states_all<'e>(&mut self, lists: impl ExactSizeIterator<Item = &'e Vec<String>>, at: &str) {
        let n = lists.len();
        for (i, list) in lists.enumerate() {
            if list.iter().any(|e| e == "States.ALL") && (list.len() > 1 || i + 1 != n) {
                self.schema(&format!("{at}/{i}/ErrorEquals"), "States.ALL must appear alone in the last entry");
            }
        }
    }

    fn error_equals(&mut self, o: &JsonMap<String, Json>, at: &str) -> Vec<String> {
        match o.get("ErrorEquals").and_then(Json::as_array) {
            Some(list) if !list.is_empty() => list
                .iter()
                .filter_map(|e| match e.as_str() {
                    Some(s) => Some(s.to_owned()),
                    None => {
                        self.schema(&ptr(at, "ErrorEquals"), "ErrorEquals must hold strings");
                        None
                    }
                })
                .collect(),
            _ => {
                self.schema(at, "ErrorEquals must be a non-empty array of error names");
                Vec::new()
            }
        }
    }

    fn retrier(&mut self, o: &JsonMap<String, Json>, at: &str) -> Option<Retrier> {
        self.fields(
            o,
            at,
            &[
                "ErrorEquals",
                "IntervalSeconds",
                "MaxAttempts",
                "BackoffRate",
                "MaxDelaySeconds",
                "JitterStrategy",
                "Comment",
            ],
        );
        let error_equals = self.error_equals(o, at);
        let interval_seconds = match o.get("IntervalSeconds") {
            None => 1,
            Some(v) => match v.as_u64() {
                Some(n) if (1..=99_999_999).contains(&n) => n,
                _ => {
                    self.schema(&ptr(at, "IntervalSeconds"), "IntervalSeconds must be an integer from 1 to 99999999");
                    1
                }
            },
        };
        let max_attempts = match o.get("MaxAttempts") {
            None => 3,
            Some(v) => match v.as_u64() {
                Some(n) if n <= 99_999_999 => n,
                _ => {
                    self.schema(&ptr(at, "MaxAttempts"), "MaxAttempts must be an integer from 0 to 99999999");
                    3
                }
            },
        };
        let backoff_rate = match o.get("BackoffRate") {
            None => 2.0,
            Some(v) => match v.as_f64() {
                Some(n) if n >= 1.0 => n,
                _ => {
                    self.schema(&ptr(at, "BackoffRate"), "BackoffRate must be a number not less than 1.0");
                    2.0
                }
            },
        };
        let max_delay_seconds = match o.get("MaxDelaySeconds") {
            None => None,
            Some(v) => match v.as_u64() {
                Some(n) if (1..=31_622_400).contains(&n) => Some(n),
                _ => {
                    self.schema(&ptr(at, "MaxDelaySeconds"), "MaxDelaySeconds must be an integer from 1 to 31622400");
                    None
                }
            },
        };
        let jitter_full = match o.get("JitterStrategy").map(|v| v.as_str()) {
            None | Some(Some("NONE")) => false,
            Some(Some("FULL")) => true,
            Some(_) => {
                self.schema(&ptr(at, "JitterStrategy"), "JitterStrategy must be \"FULL\" or \"NONE\"");
                false
            }
        };
        Some(Retrier { error_equals, interval_seconds, max_attempts, backoff_rate, max_delay_seconds, jitter_full })
    }

    fn choice(&mut self, obj: &JsonMap<String, Json>, at: &str) -> StateKind {
        let here = ptr(at, "Choices");
        let mut choices = Vec::new();
        match obj.get("Choices").and_then(Json::as_array) {
            Some(list) if !list.is_empty() => {
                for (i, rule) in list.iter().enumerate() {
                    let rp = format!("{here}/{i}");
                    let Some(o) = rule.as_object() else {
                        self.schema(&rp, "a choice rule must be a JSON object");
                        continue;
                    };
                    let next = match self.string(o, "Next", &rp) {
                        Some(n) => n,
                        None => {
                            self.schema(&rp, "a top-level choice rule must have 'Next'");
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
                                continue;
                            }
                        };
                        choices.push(ChoiceRule { condition, next, assign, output });
                        continue;
                    }
                    if o.contains_key("Condition") {
                        self.schema(&rp, "The QueryLanguage is set to 'JSONPath', but field 'Condition' is only supported for the 'JSONata' QueryLanguage");
                        continue;
                    }
                    if let Some(condition) = self.condition(o, &rp, true) {
                        choices.push(ChoiceRule { condition, next, assign, output: None });
                    }
                }
            }
            _ => self.schema(&here, "Choices must be a non-empty array"),
        }
        let default = self.string(obj, "Default", at);
        StateKind::Choice { choices, default }
    }

    fn condition(&mut self, o: &JsonMap<String, Json>, at: &str, top: bool) -> Option<Condition> {
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

    fn wait(&mut self, obj: &JsonMap<String, Json>, at: &str) -> Option<Wait> {
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

    fn parallel(&mut self, obj: &JsonMap<String, Json>, at: &str) -> StateKind {
        let here = ptr(at, "Branches");
        let mut branches = Vec::new();
        match obj.get("Branches").and_then(Json::as_array) {
            Some(list) if !list.is_empty() => {
                for (i, b) in list.iter().enumerate() {
                    let bp = format!("{here}/{i}");
                    match b.as_object() {
                        Some(o) => {
                            let saved = self.cur_jsonata;
                            branches.push(self.machine(o, &bp, &["Comment", "StartAt", "States"]));
                            self.cur_jsonata = saved;
                        }
                        None => self.schema(&bp, "a branch must be a JSON object"),
                    }
                }
            }
            _ => self.schema(&here, "Branches must be a non-empty array"),
        }
        StateKind::Parallel { branches, errors: self.error_handling(obj, at) }
    }

    fn count(&mut self, obj: &JsonMap<String, Json>, lit: &str, at: &str, max: f64) -> Option<Count> {
        let path = format!("{lit}Path");
        if obj.contains_key(lit) && obj.contains_key(&path) {
            self.schema(at, format!("'{lit}' and '{path}' cannot both be set"));
        }
        if let Some(v) = obj.get(lit) {
            if let Some(t) = v.as_str().filter(|t| self.cur_jsonata && jsonata_text(t).is_some()) {
                return Some(Number::Jsonata(self.jtemplate(&Json::String(t.to_owned()), lit, &ptr(at, lit))));
            }
            return match v.as_f64() {
                Some(n) if (0.0..=max).contains(&n) => Some(Number::Literal(n)),
                _ => {
                    self.schema(&ptr(at, lit), format!("{lit} must be a number from 0 to {max}"));
                    None
                }
            };
        }
        let text = self.string(obj, &path, at)?;
        self.path(&text, &ptr(at, &path), &path).map(Number::Path)
    }

    fn map(&mut self, obj: &JsonMap<String, Json>, at: &str) -> Option<Map> {
        for distributed in ["ItemReader", "ItemBatcher", "ResultWriter"] {
            if obj.contains_key(distributed) {
                self.unsupported(&ptr(at, distributed), "a distributed Map field");
            }
        }
        let (key, body) = match (obj.get("ItemProcessor"), obj.get("Iterator")) {
            (Some(p), None) => ("ItemProcessor", p),
            (None, Some(i)) => ("Iterator", i),
            (Some(_), Some(_)) => {
                self.schema(at, "a Map state cannot have both 'ItemProcessor' and 'Iterator'");
                return None;
            }
            (None, None) => {
                self.schema(at, "a Map state needs 'ItemProcessor' (or the legacy 'Iterator')");
                return None;
            }
        };
        let here = ptr(at, key);
        let Some(body) = body.as_object() else {
            self.schema(&here, format!("{key} must be a JSON object"));
            return None;
        };
        // Mode DISTRIBUTED without ItemReader/ResultWriter runs the items given inline, as AWS
        // does; the child executions are not observable from the parent, so they run in process.
        if let Some(cfg) = body.get("ProcessorConfig") {
            match cfg.get("Mode").and_then(Json::as_str) {
                None | Some("INLINE" | "DISTRIBUTED") => {}
                Some(other) => self.schema(
                    &ptr(&ptr(&here, "ProcessorConfig"), "Mode"),
                    format!("'{other}' is not a Map mode (INLINE or DISTRIBUTED)"),
                ),
            }
        }
        let saved = self.cur_jsonata;
        let processor = self.machine(body, &here, &["Comment", "StartAt", "States", "ProcessorConfig"]);
        self.cur_jsonata = saved;
        if obj.contains_key("ItemSelector") && obj.contains_key("Parameters") {
            self.schema(at, "a Map state cannot have both 'ItemSelector' and 'Parameters'");
        }
        let jsonata = self.cur_jsonata;
        let item_selector = if jsonata { None } else { self.template(obj, "ItemSelector", at) };
        let item_selector_j = if jsonata {
            obj.get("ItemSelector").map(|v| self.jtemplate(v, "ItemSelector", &ptr(at, "ItemSelector")))
        } else {
            None
        };
        let items =
            if jsonata { obj.get("Items").map(|v| self.jtemplate(v, "Items", &ptr(at, "Items"))) } else { None };
        // Items is a JSON array or a JSONata expression (the States Language specification); a
        // literal of another type would fail every execution.
        if let Some(v) = obj.get("Items").filter(|_| jsonata) {
            if !(v.is_array() || v.as_str().is_some_and(|t| jsonata_text(t).is_some())) {
                self.schema(&ptr(at, "Items"), "Items must be a JSON array or a JSONata expression");
            }
        }
        let items_path = if jsonata { None } else { self.path_field(obj, "ItemsPath", at).flatten() };
        Some(Map {
            items,
            item_selector_j,
            items_path,
            item_selector,
            processor,
            max_concurrency: self.count(obj, "MaxConcurrency", at, 99_999_999.0),
            tolerated_failure_count: self.count(obj, "ToleratedFailureCount", at, 99_999_999.0),
            tolerated_failure_percentage: self.count(obj, "ToleratedFailurePercentage", at, 100.0),
            errors: self.error_handling(obj, at),
        })
    }
}

/// AWS's static restrictions on JSONata: no field name or `$` at the top level of an expression
/// (where there is no input), and no `$$` at all. Predicates, group-by and sort terms have a
/// context item, so names there are fine; a lambda body keeps its outer context.
fn top_level_references(n: &JNode, top: bool, out: &mut Vec<String>) {
    use crate::jsonata::compile::ArrayItem;
    let walk = |x: &JNode, t: bool, out: &mut Vec<String>| top_level_references(x, t, out);
    match n {
        JNode::Root => out.push("Reference to '$$' is not supported.".into()),
        JNode::Context if top => out.push("Reference to '$' at the top level is not supported.".into()),
        JNode::Name(name) if top => out.push(format!("Reference to '{name}' at the top level is not supported.")),
        JNode::Wildcard | JNode::Descendants if top => {
            out.push("Reference to '*' at the top level is not supported.".into())
        }
        JNode::Path(p) => {
            for (i, step) in p.steps.iter().enumerate() {
                walk(&step.node, top && i == 0, out);
                for stage in step.stages.iter() {
                    walk(stage, false, out);
                }
                if let Some(terms) = &step.sort {
                    terms.iter().for_each(|(t, _)| walk(t, false, out));
                }
            }
            if let Some(g) = &p.group {
                for (k, v) in g.iter() {
                    walk(k, false, out);
                    walk(v, false, out);
                }
            }
        }
        JNode::Neg(x) | JNode::Bind(_, x) => walk(x, top, out),
        JNode::Binary(_, l, r) | JNode::Chain(l, r) => {
            walk(l, top, out);
            walk(r, top, out);
        }
        JNode::Array(items) => {
            for it in items.iter() {
                match it {
                    ArrayItem::Nested(x) | ArrayItem::Item(x) => walk(x, top, out),
                    ArrayItem::Range(a, b) => {
                        walk(a, top, out);
                        walk(b, top, out);
                    }
                }
            }
        }
        JNode::Object(lhs, pairs) => {
            let inner = match lhs {
                Some(l) => {
                    walk(l, top, out);
                    false
                }
                None => top,
            };
            for (k, v) in pairs.iter() {
                walk(k, inner, out);
                walk(v, inner, out);
            }
        }
        JNode::Block(items) => items.iter().for_each(|x| walk(x, top, out)),
        JNode::Cond(c, t, e) => {
            walk(c, top, out);
            walk(t, top, out);
            if let Some(e) = e {
                walk(e, top, out);
            }
        }
        JNode::Lambda(l) => walk(&l.body, top, out),
        JNode::Call(f, args) => {
            walk(f, top, out);
            args.iter().for_each(|x| walk(x, top, out));
        }
        JNode::CallBuiltin(_, args) => args.iter().for_each(|x| walk(x, top, out)),
        JNode::Filter(x, preds) => {
            walk(x, top, out);
            preds.iter().for_each(|p| walk(p, false, out));
        }
        _ => {}
    }
}
