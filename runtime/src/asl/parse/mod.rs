//! JSON → [`Definition`], collecting every problem instead of stopping at the first.
//!
//! "Parsing never fails": each field is read on its own, a bad one adds a [`Diagnostic`] and a
//! placeholder, and parsing goes on so that one run reports everything.

use super::ast::*;
use super::template::{compile_template, escape_pointer, Problem, Template};
use super::Diagnostic;
use crate::path::{parse_path, parse_reference_path, Path, ReferencePath};
use serde_json::{Map as JsonMap, Value as Json};

mod choice;
mod json;
mod jsonata;
mod resolve;
mod state;
mod task;

const SCHEMA: &str = "SCHEMA_VALIDATION_FAILED";

/// Reads a definition: the model, and every problem found in its fields (each bad field read
/// as a placeholder, so that one run reports everything). `Err` when there is nothing to read:
/// the text is not a JSON object.
pub fn read(text: &str) -> Result<(Definition, Vec<Diagnostic>), Vec<Diagnostic>> {
    if text.trim_matches([' ', '\t', '\n', '\r']).is_empty() {
        // AWS's code and wording for an empty definition.
        return Err(vec![Diagnostic {
            code: "MISSING_DESCRIPTION",
            location: String::new(),
            message: "Received a null or empty workflow input.".into(),
            note: None,
        }]);
    }
    let (json, repeated) = match json::read(text) {
        Ok(read) => read,
        Err(json::ReadError::TooDeep(at)) => {
            return Err(vec![Diagnostic {
                code: SCHEMA,
                location: at,
                message: format!("arrays and objects nest here more than {} deep", json::MAX_DEPTH),
                note: None,
            }])
        }
        Err(json::ReadError::Json(e)) => {
            return Err(vec![Diagnostic {
                code: "INVALID_JSON_DESCRIPTION",
                location: String::new(),
                message: format!("the definition is not valid JSON: {}", crate::value::explain(&e)),
                note: None,
            }])
        }
    };
    let mut p = Parser {
        diags: Vec::new(),
        top_jsonata: false,
        vars: vec!["states".to_owned()],
        cur_jsonata: false,
        incomplete: false,
        repeated,
    };
    let Some(obj) = json.as_object() else {
        p.schema("", "the definition must be a JSON object");
        return Err(p.diags);
    };
    if let Some(ql) = obj.get("QueryLanguage") {
        p.top_jsonata = p.query_language(ql, "/QueryLanguage");
        p.cur_jsonata = p.top_jsonata;
    }
    let machine = p.machine(obj, "", &["Comment", "StartAt", "States", "TimeoutSeconds", "Version", "QueryLanguage"]);
    Ok((Definition { machine, variables: std::mem::take(&mut p.vars) }, p.diags))
}

struct Parser {
    diags: Vec<Diagnostic>,
    /// The state machine's query language is JSONata (states inherit it, nested ones too).
    top_jsonata: bool,
    /// Workflow variable names by slot; slot 0 is `states`.
    vars: Vec<String>,
    /// The query language of the state being parsed is JSONata.
    cur_jsonata: bool,
    /// The machine being read has a state or a transition target that could not be read.
    incomplete: bool,
    /// The pointers of members whose name its object already had (the last one is read).
    repeated: Vec<String>,
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

    fn fields(&mut self, obj: &JsonMap<String, Json>, at: &str, allowed: &[&str]) {
        for k in obj.keys() {
            if !allowed.contains(&k.as_str()) {
                // AWS's wording and location: the object holding the field.
                self.schema(at, format!("Field '{k}' is not supported"));
            }
        }
    }

    fn machine(&mut self, obj: &JsonMap<String, Json>, at: &str, allowed: &[&str]) -> Machine {
        // A nested machine's unreadable parts are its own: the outer machine's flag is kept.
        let outer = std::mem::replace(&mut self.incomplete, false);
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
                    if self.repeated.contains(&sp) {
                        // AWS's wording; the state read is the last of that name.
                        self.diag("DUPLICATE_STATE_NAME", &sp, format!("Duplicate State name: {name}"));
                    }
                    if name.chars().count() > 80 {
                        // AWS's code and wording (CreateStateMachine's InvalidDefinition).
                        let why = format!(
                            "Invalid State name: State '{name}' exceeds the 80-character limit allowed by the service"
                        );
                        self.diag("INVALID_STATE_NAME", &sp, why);
                    } else if name.is_empty() {
                        self.schema(&sp, "a state name must be 1 to 80 characters long");
                    }
                    match s.as_object() {
                        Some(o) => states.push(self.state(name, o, &sp)),
                        None => {
                            self.schema(&sp, format!("the state '{name}' must be a JSON object"));
                            states.push(self.unreadable(name, &sp));
                        }
                    }
                }
            }
            Some(_) => self.schema(&ptr(at, "States"), "States must be a JSON object"),
            None => self.schema(at, "the field 'States' is required"),
        }
        let incomplete = std::mem::replace(&mut self.incomplete, outer);
        Machine { start_at, states, timeout_seconds, incomplete }
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
                location: format!("{at}{}", p.pointer),
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
}
