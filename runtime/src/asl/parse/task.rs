//! Task, Parallel and Map states: resources, time-outs, Retry and Catch, branches, item
//! processors and their settings.

use super::{jsonata_text, ptr, Parser};
use crate::asl::ast::{Catcher, Count, ErrorHandling, Map, Number, Retrier, Seconds, StateKind, Task};
use serde_json::{Map as JsonMap, Value as Json};

impl Parser {
    pub(super) fn seconds(&mut self, obj: &JsonMap<String, Json>, lit: &str, path: &str, at: &str) -> Option<Seconds> {
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

    pub(super) fn task(&mut self, obj: &JsonMap<String, Json>, at: &str) -> Task {
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

    pub(super) fn error_handling(&mut self, obj: &JsonMap<String, Json>, at: &str) -> ErrorHandling {
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
                                let next = match self.target(o, "Next", &cp) {
                                    Some(n) => n,
                                    None => {
                                        if !o.contains_key("Next") {
                                            self.schema(&cp, "the field 'Next' is required in a catcher");
                                            self.incomplete = true;
                                        }
                                        String::new()
                                    }
                                };
                                let result_path = if jsonata { None } else { self.reference_path(o, &cp) };
                                out.catch.push(Catcher { error_equals, result_path, next, jsonata, output, assign });
                            }
                            None => {
                                self.schema(&cp, "a catcher must be a JSON object");
                                self.incomplete = true;
                            }
                        }
                    }
                    self.check_states_all(out.catch.iter().map(|c| &c.error_equals), &here);
                }
                None => {
                    self.schema(&here, "Catch must be an array");
                    self.incomplete = true;
                }
            }
        }
        out
    }

    /// `States.ALL` must appear alone, in the last retrier or catcher.
    pub(super) fn check_states_all<'e>(&mut self, lists: impl ExactSizeIterator<Item = &'e Vec<String>>, at: &str) {
        let n = lists.len();
        for (i, list) in lists.enumerate() {
            if list.iter().any(|e| e == "States.ALL") && (list.len() > 1 || i + 1 != n) {
                self.schema(&format!("{at}/{i}/ErrorEquals"), "States.ALL must appear alone in the last entry");
            }
        }
    }

    pub(super) fn error_equals(&mut self, o: &JsonMap<String, Json>, at: &str) -> Vec<String> {
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

    pub(super) fn retrier(&mut self, o: &JsonMap<String, Json>, at: &str) -> Option<Retrier> {
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

    pub(super) fn parallel(&mut self, obj: &JsonMap<String, Json>, at: &str) -> StateKind {
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

    pub(super) fn count(&mut self, obj: &JsonMap<String, Json>, lit: &str, at: &str, max: f64) -> Option<Count> {
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

    pub(super) fn map(&mut self, obj: &JsonMap<String, Json>, at: &str) -> Option<Map> {
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
