//! JSONPath in AWS's dialect (Jayway JsonPath): parsed once at compile time, evaluated over [`Value`]s.
//!
//! A path is *definite* when it can select at most one node (`$.a.b[0]`): evaluating it gives that
//! node or nothing. Any wildcard, slice, union, filter or deep scan makes it indefinite, and it then
//! gives the array of every node it selects, in document order, possibly empty. That is what AWS
//! returns for `Parameters` such as `"ids.$": "$.items[*].id"`.
// Internal (reached by the crate's own tools through `internal`): documented where it helps,
// not item by item.
#![allow(missing_docs)]

mod parse;

use crate::value::{last_member, ArenaExt, KeyWords, Value};
use bumpalo::Bump;
pub use parse::{parse_path, parse_reference_path, PathError};

/// Where a path starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Root {
    /// `$`: the state's (effective) input.
    Input,
    /// `$$`: the context object.
    Context,
    /// `$name`: a workflow variable, by slot (resolved when the definition is parsed).
    Variable(u32),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Segment {
    /// `.name`, `['name']`
    Child(Box<str>),
    /// `[3]`, `[-1]`
    Index(i64),
    /// `.*`, `[*]`
    Wildcard,
    /// `[start:end:step]`
    Slice(Option<i64>, Option<i64>, Option<i64>),
    /// `['a','b']`
    Names(Box<[Box<str>]>),
    /// `[0,2]`
    Indices(Box<[i64]>),
    /// `..name`, `..*` (None), `..[0]` is not supported by AWS either
    Descendant(Option<Box<str>>),
    /// `[?(expr)]`
    Filter(Box<Filter>),
}

/// A filter expression, `[?( … )]`.
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    /// `@.a` alone: the node exists (and, for booleans, Jayway treats it as existence too).
    Exists(Operand),
    Compare(Operand, CmpOp, Operand),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    /// `@…`, relative to the current node.
    Current(Box<[Segment]>),
    /// `$…`, relative to the document root.
    Root(Box<[Segment]>),
    Literal(crate::value::Const),
}

/// A compiled JSONPath.
#[derive(Clone, Debug, PartialEq)]
pub struct Path {
    /// Only names and indices: at most one node.
    pub definite: bool,
    pub root: Root,
    /// For a variable root, its name (`order` in `$order.items`).
    pub variable: Option<Box<str>>,
    pub segments: Box<[Segment]>,
    /// The text as written, for error messages.
    pub text: Box<str>,
    /// The plan of the walk ([`Path::plan`]); all three are `None` in an unplanned path, which
    /// goes through the general evaluator.
    ///
    /// For a `$$` path that starts with a context field the VM keeps at hand, that field and
    /// how many segments name it (`$$.Map.Item.Value.id`: `MapItemValue`, 3).
    pub context_field: Option<(ContextField, usize)>,
    /// For an indefinite path whose only indefinite segment is a wildcard (`$.items[*].id`), the
    /// wildcard's position: the path is walked around it, without the general collection.
    pub wildcard: Option<usize>,
    /// For a definite path of names only, each of 4 to 16 bytes (most paths: `$.detail.total`),
    /// each name's length and words, taken once: `walk_names` compares members with them.
    pub names: Option<Box<[KeyWords]>>,
}

/// A step that selects at most one node: a name or an index.
pub(crate) fn is_definite_step(s: &Segment) -> bool {
    matches!(s, Segment::Child(_) | Segment::Index(_))
}

/// The context fields read most, which the VM answers without building context objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContextField {
    /// `$$.Map.Item.Value`
    MapItemValue,
    /// `$$.Map.Item.Index`
    MapItemIndex,
    /// `$$.Map.Item.Key`
    MapItemKey,
    /// `$$.State.RetryCount`
    RetryCount,
    /// `$$.State.Name`
    StateName,
    /// `$$.Execution.Input`
    ExecutionInput,
}

impl ContextField {
    /// The field a `$$` path starts with, and how many segments name it.
    pub fn of_path(p: &Path) -> Option<(ContextField, usize)> {
        match p.root {
            Root::Context => ContextField::of(&p.segments),
            _ => None,
        }
    }

    /// The field a context path's segments start with, and how many segments name it.
    pub fn of(segments: &[Segment]) -> Option<(ContextField, usize)> {
        let name = |i: usize| match segments.get(i) {
            Some(Segment::Child(n)) => Some(&**n),
            _ => None,
        };
        Some(match (name(0)?, name(1)?) {
            ("Map", "Item") => match name(2)? {
                "Value" => (ContextField::MapItemValue, 3),
                "Index" => (ContextField::MapItemIndex, 3),
                "Key" => (ContextField::MapItemKey, 3),
                _ => return None,
            },
            ("State", "RetryCount") => (ContextField::RetryCount, 2),
            ("State", "Name") => (ContextField::StateName, 2),
            ("Execution", "Input") => (ContextField::ExecutionInput, 2),
            _ => return None,
        })
    }
}

impl Path {
    /// Plans the walk ([`Path::context_field`], [`Path::wildcard`], [`Path::names`]): the
    /// compiler of an optimised program plans each path it keeps. A plan changes how a path is
    /// walked, never what it selects.
    pub fn plan(&mut self) {
        let segments = &self.segments;
        self.context_field = ContextField::of_path(self);
        self.wildcard = match segments.iter().position(|s| !is_definite_step(s)) {
            Some(w) if segments[w] == Segment::Wildcard && segments[w + 1..].iter().all(is_definite_step) => Some(w),
            _ => None,
        };
        self.names = match self.definite {
            true => segments
                .iter()
                .map(|s| if let Segment::Child(n) = s { KeyWords::of(n.as_bytes()) } else { None })
                .collect(),
            false => None,
        };
    }

    /// True when the path selects at most one node.
    #[inline]
    pub fn is_definite(&self) -> bool {
        self.definite
    }

    /// Evaluates against `root`: a definite path gives its node or `None`; an indefinite one gives
    /// the array of matches (never `None`).
    #[inline]
    pub fn eval<'a>(&self, arena: &'a Bump, root: Value<'a>) -> Option<Value<'a>> {
        self.eval_from(arena, root, 0)
    }

    /// Evaluates the segments after the first `skip` against `root` (which stands for the node
    /// the skipped segments lead to).
    #[inline]
    pub fn eval_from<'a>(&self, arena: &'a Bump, root: Value<'a>, skip: usize) -> Option<Value<'a>> {
        let segments = self.segments.get(skip..)?;
        if !self.definite {
            return Some(match self.wildcard.and_then(|w| w.checked_sub(skip)) {
                Some(w) => around_wildcard(arena, root, segments, w),
                None => collect_all(arena, root, segments),
            });
        }
        if segments.is_empty() {
            return Some(root);
        }
        match self.names.as_deref() {
            Some(names) if skip == 0 => walk_names(names, &root).copied(),
            _ => walk(segments, &root).copied(),
        }
    }

    /// Jayway's message for a definite path that selects nothing in `root`: a missing leaf gives
    /// `No results for path: $['a']['b']`, a missing property before the leaf gives
    /// `Missing property in path $['a']`.
    pub fn not_found_message(&self, root: Value<'_>) -> String {
        let mut text = String::from("$");
        let mut cur = Some(root);
        let n = self.segments.len();
        for (i, seg) in self.segments.iter().enumerate() {
            match seg {
                Segment::Child(name) => text.push_str(&format!("['{name}']")),
                Segment::Index(idx) => text.push_str(&format!("[{idx}]")),
                _ => return format!("No results for path: {}", self.text),
            }
            cur = cur.and_then(|c| step_definite(c, seg));
            if cur.is_none() && i + 1 < n {
                return format!("Missing property in path {text}");
            }
        }
        format!("No results for path: {text}")
    }
}

/// One step of a definite path (a name or an index), for the collection and error messages;
/// [`walk`] takes definite paths with [`step_leaf`], which inlines the member lookup.
#[inline]
fn step_definite<'a>(cur: Value<'a>, seg: &Segment) -> Option<Value<'a>> {
    match seg {
        Segment::Child(name) => cur.get(name),
        Segment::Index(i) => cur.element(*i).copied(),
        _ => None,
    }
}

/// The node that the (non-empty) segments of a definite path lead to from `root`, as a
/// reference into the tree: no value is copied on the way. The function calls nothing, member
/// lookups included ([`last_member`] is inlined), so that a path costs one call.
#[inline(never)]
fn walk<'a>(segments: &[Segment], root: &Value<'a>) -> Option<&'a Value<'a>> {
    walk_with(segments, root, step_leaf)
}

/// [`walk`] for a path of names of 4 to 16 bytes ([`Path::names`]): each step compares the
/// members' keys with the name's words taken at compile time, the last of a repeated key
/// winning, and nothing here becomes a call.
#[inline(never)]
fn walk_names<'a>(names: &[KeyWords], root: &Value<'a>) -> Option<&'a Value<'a>> {
    walk_with(names, root, |cur, name| match *cur {
        Value::Object(members) => name.last_in(members),
        _ => None,
    })
}

/// The steps of a definite path from `root`, each by `step`.
#[inline(always)]
fn walk_with<'a, S>(
    steps: &[S],
    root: &Value<'a>,
    step: impl Fn(&Value<'a>, &S) -> Option<&'a Value<'a>>,
) -> Option<&'a Value<'a>> {
    let (first, rest) = steps.split_first()?;
    let mut cur = step(root, first)?;
    for s in rest {
        cur = step(cur, s)?;
    }
    Some(cur)
}

#[inline(always)]
fn step_leaf<'a>(cur: &Value<'a>, seg: &Segment) -> Option<&'a Value<'a>> {
    match (seg, cur) {
        (Segment::Child(name), &Value::Object(members)) => last_member(members, name.as_bytes()),
        (Segment::Index(i), _) => cur.element(*i),
        _ => None,
    }
}

/// What a path of names and indices around one wildcard (`segments[w]`, as in `$.items[*].id`)
/// selects from `root`: the walk before the wildcard, then the walk after it from each element
/// (or member value), keeping those it reaches, in document order.
#[inline(never)]
fn around_wildcard<'a>(arena: &'a Bump, root: Value<'a>, segments: &[Segment], w: usize) -> Value<'a> {
    let (before, after) = (segments.get(..w).unwrap_or_default(), segments.get(w + 1..).unwrap_or_default());
    let node = if before.is_empty() { Some(root) } else { walk(before, &root).copied() };
    let reach = |v: &'a Value<'a>| if after.is_empty() { Some(v) } else { walk(after, v) };
    let mut out = bumpalo::collections::Vec::new_in(arena);
    match node {
        Some(Value::Array(items)) => {
            out.reserve_exact(items.len());
            out.extend(items.iter().filter_map(reach).copied());
        }
        Some(Value::Object(members)) => {
            out.reserve_exact(members.len());
            out.extend(members.iter().filter_map(|(_, v)| reach(v)).copied());
        }
        _ => {}
    }
    Value::Array(out.into_bump_slice())
}

/// Every node an indefinite path selects from `root`, as an array in document order.
#[inline(never)]
fn collect_all<'a>(arena: &'a Bump, root: Value<'a>, segments: &[Segment]) -> Value<'a> {
    let mut out = bumpalo::collections::Vec::new_in(arena);
    collect(arena, root, root, segments, &mut out);
    Value::Array(out.into_bump_slice())
}

fn collect<'a>(
    arena: &'a Bump,
    doc: Value<'a>,
    cur: Value<'a>,
    segs: &[Segment],
    out: &mut bumpalo::collections::Vec<'a, Value<'a>>,
) {
    let Some((seg, rest)) = segs.split_first() else {
        out.push(cur);
        return;
    };
    match seg {
        Segment::Child(_) | Segment::Index(_) => {
            if let Some(next) = step_definite(cur, seg) {
                collect(arena, doc, next, rest, out);
            }
        }
        Segment::Wildcard => match cur {
            Value::Array(items) => items.iter().for_each(|v| collect(arena, doc, *v, rest, out)),
            Value::Object(members) => members.iter().for_each(|(_, v)| collect(arena, doc, *v, rest, out)),
            _ => {}
        },
        Segment::Slice(start, end, step) => {
            if let Value::Array(items) = cur {
                let len = items.len() as i64;
                let norm = |x: i64| if x < 0 { (len + x).max(0) } else { x.min(len) };
                let s = start.map_or(0, norm);
                let e = end.map_or(len, norm);
                let step = step.unwrap_or(1).max(1);
                let mut i = s;
                while i < e {
                    collect(arena, doc, items[i as usize], rest, out);
                    i += step;
                }
            }
        }
        Segment::Names(names) => {
            for n in names.iter() {
                if let Some(v) = cur.get(n) {
                    collect(arena, doc, v, rest, out);
                }
            }
        }
        Segment::Indices(idx) => {
            for i in idx.iter() {
                if let Some(v) = cur.element(*i) {
                    collect(arena, doc, *v, rest, out);
                }
            }
        }
        Segment::Descendant(name) => descend(arena, doc, cur, name.as_deref(), rest, out),
        Segment::Filter(f) => match cur {
            Value::Array(items) => {
                for v in items.iter() {
                    if f.test(arena, doc, *v) {
                        collect(arena, doc, *v, rest, out);
                    }
                }
            }
            Value::Object(_) if f.test(arena, doc, cur) => collect(arena, doc, cur, rest, out),
            _ => {}
        },
    }
}

fn descend<'a>(
    arena: &'a Bump,
    doc: Value<'a>,
    cur: Value<'a>,
    name: Option<&str>,
    rest: &[Segment],
    out: &mut bumpalo::collections::Vec<'a, Value<'a>>,
) {
    match cur {
        Value::Object(members) => {
            for (k, v) in members.iter() {
                if name.is_none_or(|n| n == *k) {
                    collect(arena, doc, *v, rest, out);
                }
            }
            for (_, v) in members.iter() {
                descend(arena, doc, *v, name, rest, out);
            }
        }
        Value::Array(items) => {
            for v in items.iter() {
                if name.is_none() {
                    collect(arena, doc, *v, rest, out);
                }
            }
            for v in items.iter() {
                descend(arena, doc, *v, name, rest, out);
            }
        }
        _ => {}
    }
}

impl Filter {
    fn test<'a>(&self, arena: &'a Bump, doc: Value<'a>, cur: Value<'a>) -> bool {
        match self {
            Filter::Exists(op) => op.eval(arena, doc, cur).is_some(),
            Filter::Compare(l, op, r) => {
                let (Some(a), Some(b)) = (l.eval(arena, doc, cur), r.eval(arena, doc, cur)) else {
                    return false;
                };
                compare(a, *op, b)
            }
            Filter::And(a, b) => a.test(arena, doc, cur) && b.test(arena, doc, cur),
            Filter::Or(a, b) => a.test(arena, doc, cur) || b.test(arena, doc, cur),
            Filter::Not(a) => !a.test(arena, doc, cur),
        }
    }
}

fn compare(a: Value<'_>, op: CmpOp, b: Value<'_>) -> bool {
    use std::cmp::Ordering;
    let ord = match (a, b) {
        (x, y) if x.is_number() && y.is_number() => x.as_f64().partial_cmp(&y.as_f64()),
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        (x, y) => {
            return match op {
                CmpOp::Eq => x == y,
                CmpOp::Ne => x != y,
                _ => false,
            }
        }
    };
    match (op, ord) {
        (CmpOp::Eq, Some(o)) => o == Ordering::Equal,
        (CmpOp::Ne, o) => o != Some(Ordering::Equal),
        (CmpOp::Lt, Some(o)) => o == Ordering::Less,
        (CmpOp::Le, Some(o)) => o != Ordering::Greater,
        (CmpOp::Gt, Some(o)) => o == Ordering::Greater,
        (CmpOp::Ge, Some(o)) => o != Ordering::Less,
        _ => false,
    }
}

impl Operand {
    fn eval<'a>(&'a self, arena: &'a Bump, doc: Value<'a>, cur: Value<'a>) -> Option<Value<'a>> {
        let (start, segs) = match self {
            Operand::Current(s) => (cur, s),
            Operand::Root(s) => (doc, s),
            Operand::Literal(c) => return Some(c.materialize(arena)),
        };
        if segs.iter().all(|s| matches!(s, Segment::Child(_) | Segment::Index(_))) {
            let mut v = start;
            for s in segs.iter() {
                v = step_definite(v, s)?;
            }
            Some(v)
        } else {
            let mut out = bumpalo::collections::Vec::new_in(arena);
            collect(arena, doc, start, segs, &mut out);
            Some(arena.array(out))
        }
    }
}

/// A reference path (ResultPath): `$`, or `$` followed by names and indices only.
#[derive(Clone, Debug, PartialEq)]
pub struct ReferencePath {
    pub segments: Box<[Segment]>,
    pub text: Box<str>,
}

/// Why a result could not be placed at a ResultPath.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceError {
    /// A node on the path exists but is not an object (or an array, for an index).
    NotAnObject,
    /// An index segment does not name an existing element.
    MissingIndex,
}

impl ReferencePath {
    /// One name (`$.x`): placing into an object or null always succeeds.
    pub fn is_one_name(&self) -> bool {
        matches!(*self.segments, [Segment::Child(_)])
    }

    /// `root` with `value` placed at this path, creating missing objects on the way.
    /// Only the objects on the path are copied, shallowly.
    pub fn place<'a>(&'a self, arena: &'a Bump, root: Value<'a>, value: Value<'a>) -> Result<Value<'a>, PlaceError> {
        place_at(arena, root, &self.segments, value)
    }
}

fn place_at<'a>(
    arena: &'a Bump,
    cur: Value<'a>,
    segs: &'a [Segment],
    value: Value<'a>,
) -> Result<Value<'a>, PlaceError> {
    let Some((seg, rest)) = segs.split_first() else {
        return Ok(value);
    };
    match seg {
        Segment::Child(name) => {
            let base = match cur {
                Value::Object(_) => cur,
                Value::Null => Value::EMPTY_OBJECT,
                _ => return Err(PlaceError::NotAnObject),
            };
            // The node already there matters only when the path goes on below it.
            let child = match rest {
                [] => value,
                _ => place_at(arena, base.get(name).unwrap_or(Value::Null), rest, value)?,
            };
            Ok(base.with_member(arena, name, child))
        }
        Segment::Index(i) => {
            let Value::Array(items) = cur else {
                return Err(PlaceError::NotAnObject);
            };
            let idx = if *i < 0 { items.len() as i64 + i } else { *i };
            let Some(idx) = usize::try_from(idx).ok().filter(|&x| x < items.len()) else {
                return Err(PlaceError::MissingIndex);
            };
            let child = place_at(arena, items[idx], rest, value)?;
            let copy = arena.alloc_slice_copy(items);
            copy[idx] = child;
            Ok(Value::Array(copy))
        }
        _ => Err(PlaceError::NotAnObject),
    }
}

#[cfg(test)]
mod tests;
