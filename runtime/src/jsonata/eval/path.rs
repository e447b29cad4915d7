//! Path expressions: steps over names, wildcards and descendants, predicates and index
//! filters, sorting and grouping, with JSONata's sequence flattening.

use super::{err, single, truthy, Ev, JError, Scope, JV, R};
use crate::jsonata::compile::{Node, PathNode, Step};
use crate::value::Value;

impl<'a, 'h> Ev<'a, 'h> {
    /// Field `name` of every object in `v` (arrays are looked into, results flattened).
    pub(super) fn lookup_all(&self, v: JV<'a>, name: &str) -> JV<'a> {
        match v {
            JV::V(Value::Object(_)) => match v.to_value().and_then(|o| o.get(name)) {
                Some(x) => JV::V(x),
                None => JV::Undef,
            },
            JV::V(Value::Array(items)) | JV::Seq(items, _) => {
                let mut out = bumpalo::collections::Vec::new_in(self.arena);
                for item in items {
                    match self.lookup_all(JV::V(*item), name) {
                        JV::V(Value::Array(a)) | JV::Seq(a, _) => out.extend_from_slice(a),
                        JV::V(x) => out.push(x),
                        _ => {}
                    }
                }
                self.seq(out)
            }
            _ => JV::Undef,
        }
    }

    pub(super) fn wildcard(&self, v: JV<'a>) -> JV<'a> {
        let mut out = bumpalo::collections::Vec::new_in(self.arena);
        let mut add = |x: Value<'a>| match x {
            Value::Array(items) => flatten_into(items, &mut out),
            other => out.push(other),
        };
        match v {
            JV::V(Value::Object(o)) => o.iter().for_each(|(_, x)| add(*x)),
            JV::V(Value::Array(items)) | JV::Seq(items, _) => {
                for item in items {
                    if let Value::Object(o) = item {
                        o.iter().for_each(|(_, x)| add(*x));
                    }
                }
            }
            _ => {}
        }
        self.seq(out)
    }

    pub(super) fn descendants(&self, v: JV<'a>) -> JV<'a> {
        fn walk<'a>(v: Value<'a>, out: &mut bumpalo::collections::Vec<'a, Value<'a>>) {
            match v {
                Value::Array(items) => items.iter().for_each(|x| walk(*x, out)),
                Value::Object(o) => {
                    out.push(v);
                    o.iter().for_each(|(_, x)| walk(*x, out));
                }
                other => out.push(other),
            }
        }
        let mut out = bumpalo::collections::Vec::new_in(self.arena);
        match v {
            JV::V(x) => walk(x, &mut out),
            JV::Seq(items, _) => items.iter().for_each(|x| walk(*x, &mut out)),
            _ => {}
        }
        self.seq(out)
    }

    #[inline(never)]
    pub(super) fn path(&mut self, p: &'a PathNode, input: JV<'a>, scope: &'a Scope<'a>) -> R<'a> {
        if p.names_only && !self.general {
            if let Some(v) = self.names_path(p, input, scope) {
                return Ok(v);
            }
        }
        let a = self.arena;
        let first_is_var = p.steps.first().is_some_and(|s| {
            s.sort.is_none()
                && matches!(s.node, Node::Local(..) | Node::Global(_) | Node::Context | Node::Root | Node::Unbound)
        });
        // The context sequence the first step maps over.
        let mut current: bumpalo::collections::Vec<'a, Value<'a>> = bumpalo::collections::Vec::new_in(a);
        let mut single_undefined = false;
        match input {
            JV::Seq(s, _) if !first_is_var => current.extend_from_slice(s),
            JV::V(Value::Array(s)) if !first_is_var => current.extend_from_slice(s),
            JV::Undef => single_undefined = true,
            other => match other.to_value() {
                Some(v) => current.push(v),
                None => single_undefined = true,
            },
        }
        let last = p.steps.len().saturating_sub(1);
        let mut result_cons = false;
        let mut whole_array: Option<Value<'a>> = None;
        for (i, step) in p.steps.iter().enumerate() {
            whole_array = None;
            if let Some(terms) = &step.sort {
                // A sort step orders the whole sequence so far.
                let ctx = if i == 0 { input } else { JV::Seq(current.into_bump_slice(), false) };
                let mut sorted = self.sort(ctx, terms, scope)?;
                for stage in step.stages.iter() {
                    sorted = self.filter(stage, sorted, scope)?;
                }
                current = bumpalo::collections::Vec::new_in(a);
                current.extend_from_slice(sorted.items());
                if let JV::V(v) = sorted {
                    if !matches!(v, Value::Array(_)) {
                        current.push(v);
                    }
                }
                continue;
            }
            if i == 0 && step.cons {
                // An array constructor as first step is evaluated once, not per context item.
                let v = self.step_value(step, input, scope)?;
                current = bumpalo::collections::Vec::new_in(a);
                match v {
                    JV::Seq(s, _) => current.extend_from_slice(s),
                    other => current.extend(other.to_value()),
                }
                result_cons = true;
            } else if i == 0 && (single_undefined || first_is_var) {
                let v = self.step_value(step, input, scope)?;
                if i == last {
                    if let JV::V(arr @ Value::Array(_)) = v {
                        whole_array = Some(arr);
                    }
                }
                current = self.flatten_step(&[v], i == last, step);
                result_cons = matches!(v, JV::Seq(_, true)) && i == last;
            } else {
                let mut results = bumpalo::collections::Vec::with_capacity_in(current.len(), a);
                for item in current.iter() {
                    let v = self.step_value(step, JV::V(*item), scope)?;
                    if !matches!(v, JV::Undef) {
                        results.push(v);
                    }
                }
                result_cons = i == last && results.len() == 1 && matches!(results[0], JV::Seq(_, true));
                if i == last && results.len() == 1 {
                    if let JV::V(v @ Value::Array(_)) = results[0] {
                        // A single array from the data is the result as it is.
                        whole_array = Some(v);
                    }
                }
                current = self.flatten_step(&results, i == last, step);
            }
            if current.is_empty() {
                break;
            }
        }
        let mut out = if let Some(v) = whole_array {
            JV::V(v)
        } else if p.keep_array || (result_cons && current.len() != 1) {
            JV::Seq(current.into_bump_slice(), true)
        } else {
            self.seq(current)
        };
        if p.keep_array && whole_array.is_none() {
            if let JV::Seq(s, _) = out {
                if s.is_empty() {
                    out = JV::Undef;
                }
            }
        }
        if let Some(pairs) = &p.group {
            return self.group(pairs, out, scope);
        }
        Ok(out)
    }

    /// The value of `$`, `$$`, a local or a host global; `None` for any other node.
    #[inline]
    pub(super) fn variable(&self, n: &Node, input: JV<'a>, scope: &'a Scope<'a>) -> Option<JV<'a>> {
        Some(match n {
            Node::Context => match (input, self.outer) {
                (JV::Seq(s, _), Some(o)) if std::ptr::eq(s, o) => JV::V(s[0]),
                _ => input,
            },
            Node::Root => self.root,
            Node::Local(s, global) => match scope.get(*s) {
                Some(v) => v,
                None => global.and_then(|g| self.globals.get(g as usize)).map_or(JV::Undef, std::cell::Cell::get),
            },
            Node::Global(slot) => self.globals.get(*slot as usize).map_or(JV::Undef, std::cell::Cell::get),
            _ => return None,
        })
    }

    /// A [`PathNode::names_only`] path as the general evaluation would give it, walked member by
    /// member: an undefined or function variable, a missing member or a scalar on the way is
    /// undefined; an array at the end is the result as it is. `None` hands the path to the
    /// general evaluation, which maps over arrays and sequences: when the variable holds one
    /// (`$` over an array input included), when an array is met before the last name, and at
    /// the depth limit, so that both give the same U1001 there (reading a variable again is
    /// harmless).
    pub(super) fn names_path(&self, p: &'a PathNode, input: JV<'a>, scope: &'a Scope<'a>) -> Option<JV<'a>> {
        if self.depth >= self.max_depth {
            return None;
        }
        let (first, names) = p.steps.split_first()?;
        let mut cur = match self.variable(&first.node, input, scope)? {
            JV::V(v) if !matches!(v, Value::Array(_)) => v,
            JV::Undef | JV::F(_) => return Some(JV::Undef),
            _ => return None,
        };
        for (i, step) in names.iter().enumerate() {
            let Node::Name(name) = &step.node else { return None };
            // A scalar or an array has no member: undefined.
            cur = match cur.get(name) {
                Some(v) => v,
                None => return Some(JV::Undef),
            };
            if matches!(cur, Value::Array(_)) && i + 1 < names.len() {
                return None;
            }
        }
        Some(JV::V(cur))
    }

    pub(super) fn step_value(&mut self, step: &'a Step, ctx: JV<'a>, scope: &'a Scope<'a>) -> R<'a> {
        let mut v = self.eval(&step.node, ctx, scope)?;
        for stage in step.stages.iter() {
            v = self.filter(stage, v, scope)?;
        }
        Ok(v)
    }

    /// Flattens one step's per-item results into the next context sequence.
    pub(super) fn flatten_step(
        &self,
        results: &[JV<'a>],
        last: bool,
        _step: &Step,
    ) -> bumpalo::collections::Vec<'a, Value<'a>> {
        let mut out = bumpalo::collections::Vec::new_in(self.arena);
        if last && results.len() == 1 {
            if let JV::V(Value::Array(items)) = results[0] {
                out.extend_from_slice(items);
                return out;
            }
        }
        for r in results {
            match *r {
                JV::Undef | JV::F(_) => {}
                JV::Seq(s, true) => out.push(Value::Array(s)),
                JV::Seq(s, false) | JV::V(Value::Array(s)) => out.extend_from_slice(s),
                JV::V(v) => out.push(v),
            }
        }
        out
    }

    /// A predicate `[expr]` over the items of `v`.
    pub(super) fn filter(&mut self, pred: &'a Node, v: JV<'a>, scope: &'a Scope<'a>) -> R<'a> {
        let items: &'a [Value<'a>] = match v {
            JV::Undef | JV::F(_) => return Ok(JV::Undef),
            JV::V(Value::Array(a)) | JV::Seq(a, _) => a,
            JV::V(x) => self.arena.alloc_slice_copy(&[x]),
        };
        let mut out = bumpalo::collections::Vec::new_in(self.arena);
        if let Node::Const(c) = pred {
            if let Some(f) = c.materialize(self.arena).as_f64() {
                let mut i = f.floor() as i64;
                if i < 0 {
                    i += items.len() as i64;
                }
                if let Some(x) = usize::try_from(i).ok().and_then(|i| items.get(i)) {
                    out.push(*x);
                }
                return Ok(self.seq(out));
            }
        }
        for (index, item) in items.iter().enumerate() {
            let r = self.eval(pred, JV::V(*item), scope)?;
            let keep = match r {
                JV::V(x) if x.is_number() => index_matches(x.as_f64().unwrap_or(f64::NAN), index, items.len()),
                JV::Seq(s, _) | JV::V(Value::Array(s)) if !s.is_empty() && s.iter().all(Value::is_number) => {
                    s.iter().any(|x| index_matches(x.as_f64().unwrap_or(f64::NAN), index, items.len()))
                }
                other => truthy(other),
            };
            if keep {
                out.push(*item);
            }
        }
        Ok(self.seq(out))
    }

    /// `{k: v, …}` over the items of `v`: items grouped by key, each value evaluated on its group.
    pub(super) fn group(&mut self, pairs: &'a [(Node, Node)], v: JV<'a>, scope: &'a Scope<'a>) -> R<'a> {
        let a = self.arena;
        let items: &'a [Value<'a>] = match v {
            JV::V(Value::Array(s)) | JV::Seq(s, _) => s,
            JV::Undef => &[],
            other => match other.to_value() {
                Some(x) => a.alloc_slice_copy(&[x]),
                None => &[],
            },
        };
        // (key, pair index, items of the group)
        let mut groups: Vec<(&'a str, usize, bumpalo::collections::Vec<'a, Value<'a>>)> = Vec::new();
        let contexts: Vec<JV<'a>> =
            if items.is_empty() { vec![JV::Undef] } else { items.iter().map(|x| JV::V(*x)).collect() };
        for ctx in contexts {
            for (pi, (k, _)) in pairs.iter().enumerate() {
                let key = match self.eval(k, ctx, scope)? {
                    JV::Undef => continue,
                    JV::V(Value::Str(s)) => s,
                    other => {
                        let shown = other.to_value().map(|v| crate::value::to_json_string(&v)).unwrap_or_default();
                        return err(
                            "T1003",
                            format!("Key in object structure must evaluate to a string; got: {shown}"),
                        );
                    }
                };
                match groups.iter_mut().find(|(gk, _, _)| *gk == key) {
                    Some((_, gpi, data)) => {
                        if *gpi != pi {
                            return err("D1009", format!("Multiple key definitions evaluate to same key: {key}"));
                        }
                        if let JV::V(x) = ctx {
                            data.push(x);
                        }
                    }
                    None => {
                        let mut data = bumpalo::collections::Vec::new_in(a);
                        if let JV::V(x) = ctx {
                            data.push(x);
                        }
                        groups.push((key, pi, data));
                    }
                }
            }
        }
        let mut out = bumpalo::collections::Vec::with_capacity_in(groups.len(), a);
        for (key, pi, data) in groups {
            let ctx = match data.len() {
                0 => JV::Undef,
                1 => JV::V(data[0]),
                _ => JV::Seq(data.into_bump_slice(), false),
            };
            if let Some(v) = self.eval(&pairs[pi].1, ctx, scope)?.to_value() {
                out.push((key, v));
            }
        }
        Ok(JV::V(Value::Object(out.into_bump_slice())))
    }

    pub(super) fn sort(&mut self, v: JV<'a>, terms: &'a [(Node, bool)], scope: &'a Scope<'a>) -> R<'a> {
        let items = match v {
            JV::Undef => return Ok(JV::Undef),
            JV::V(Value::Array(s)) | JV::Seq(s, _) => s,
            other => return Ok(other),
        };
        // Keys computed once per item and term.
        let mut keyed: Vec<(Vec<JV<'a>>, Value<'a>)> = Vec::with_capacity(items.len());
        for item in items {
            let mut keys = Vec::with_capacity(terms.len());
            for (t, _) in terms.iter() {
                keys.push(single(self.eval(t, JV::V(*item), scope)?));
            }
            keyed.push((keys, *item));
        }
        let mut failure = None;
        keyed.sort_by(|x, y| {
            for (i, (_, desc)) in terms.iter().enumerate() {
                let o = match (x.0[i], y.0[i]) {
                    // Undefined keys sort last, in either direction.
                    (JV::Undef, JV::Undef) => continue,
                    (JV::Undef, _) => return std::cmp::Ordering::Greater,
                    (_, JV::Undef) => return std::cmp::Ordering::Less,
                    (JV::V(Value::Str(a)), JV::V(Value::Str(b))) => a.encode_utf16().cmp(b.encode_utf16()),
                    (a, b) => match (a.num(), b.num()) {
                        (Some(p), Some(q)) => p.partial_cmp(&q).unwrap_or(std::cmp::Ordering::Equal),
                        _ => {
                            failure.get_or_insert(JError {
                                code: "T2008",
                                message: "The expressions within an order-by clause must evaluate to numeric or string values".into(),
                            });
                            std::cmp::Ordering::Equal
                        }
                    },
                };
                let o = if *desc { o.reverse() } else { o };
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        });
        if let Some(e) = failure {
            return Err(e);
        }
        let out = self.arena.alloc_slice_fill_iter(keyed.into_iter().map(|(_, v)| v));
        Ok(JV::Seq(out, true))
    }
}

fn index_matches(f: f64, index: usize, len: usize) -> bool {
    if f.is_nan() {
        return false;
    }
    let mut i = f.floor() as i64;
    if i < 0 {
        i += len as i64;
    }
    i == index as i64
}

fn flatten_into<'a>(items: &'a [Value<'a>], out: &mut bumpalo::collections::Vec<'a, Value<'a>>) {
    for x in items {
        match x {
            Value::Array(inner) => flatten_into(inner, out),
            other => out.push(*other),
        }
    }
}
