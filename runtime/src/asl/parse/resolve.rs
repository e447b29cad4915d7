//! Name and slot resolution: workflow variables get their slots as they are met, and the
//! paths, intrinsic calls and templates that read them are bound to those slots.

use super::{ptr, Parser};
use crate::asl::ast::Assign;
use crate::asl::template::{compile_template, Template};
use crate::intrinsics::{Arg, Call};
use crate::path::{Path, Root};
use crate::value::Const;
use serde_json::{Map as JsonMap, Value as Json};

impl Parser {
    pub(super) fn slot(&mut self, name: &str) -> u32 {
        match self.vars.iter().position(|v| v == name) {
            Some(i) => i as u32,
            None => {
                self.vars.push(name.to_owned());
                (self.vars.len() - 1) as u32
            }
        }
    }

    pub(super) fn bind_path(&mut self, p: &mut Path) {
        if let Some(name) = p.variable.clone() {
            p.root = Root::Variable(self.slot(&name));
        }
    }

    pub(super) fn bind_call(&mut self, c: &mut Call) {
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

    pub(super) fn bind_template(&mut self, t: &mut Template) {
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

    /// `Assign`: in JSONata mode a JSONata value per variable, in JSONPath mode a payload
    /// template member per variable (`"x.$": "$.path"`). `field` prefixes error locations.
    pub(super) fn assign(
        &mut self,
        obj: &JsonMap<String, Json>,
        jsonata: bool,
        field: &str,
        at: &str,
    ) -> Option<Assign> {
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
                let t = self.jtemplate(x, &format!("{field}Assign/{k}"), &ptr(&here, k));
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
}
