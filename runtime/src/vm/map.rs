//! Map states: the items, the settings (MaxConcurrency, ToleratedFailure…), and the
//! iteration's ops.

use super::{double_of, long_of, spread, Fault, FaultKind, Frame, MapItem, Members, StateCtx, Vm};
use crate::bytecode::{Count, MachineId, MapSpec, Source};
use crate::jsonata::JV;
use crate::value::{to_json_string, Value};
use std::cell::Cell;

/// A Map state's iteration in progress.
pub(super) struct MapLoop<'a> {
    pub(super) values: &'a [Value<'a>],
    pub(super) keys: Option<Members<'a>>,
    pub(super) len: usize,
    pub(super) next: usize,
    pub(super) current: Option<MapItem<'a>>,
    pub(super) out: bumpalo::collections::Vec<'a, Value<'a>>,
    pub(super) failures: usize,
    pub(super) tolerated_count: Option<f64>,
    pub(super) tolerated_pct: Option<f64>,
    /// The ItemSelector object built for the first item (see [`crate::bytecode::Op::ItemObject`]).
    pub(super) item_proto: Option<Members<'a>>,
    /// With a journal: the sequence number the Map took (its items' scopes derive from it),
    /// how many items stopped to wait in this run, and MaxConcurrency (0: no limit).
    pub(super) instance: u32,
    pub(super) suspended: usize,
    pub(super) max_concurrency: usize,
    /// How many waits the run had asked for when the Map started.
    pub(super) pending_mark: usize,
    /// Set when the Map's items may be spread over idle workers (see `spread.rs`).
    pub(super) spread: Option<spread::MapSpread<'a>>,
}

impl MapLoop<'_> {
    /// Whether the Map has a ToleratedFailureCount or ToleratedFailurePercentage: then a failed
    /// item is counted, not the Map's failure at once.
    fn tolerates_failures(&self) -> bool {
        self.tolerated_count.is_some() || self.tolerated_pct.is_some()
    }

    /// Counts a failed item; whether the failures are now past both the tolerated count and
    /// the tolerated percentage (an absent one does not hold them back).
    fn past_tolerance(&mut self) -> bool {
        self.failures += 1;
        let failures = self.failures as f64;
        let over_count = self.tolerated_count.is_none_or(|c| failures > c);
        let over_pct = self.tolerated_pct.is_none_or(|p| failures * 100.0 / self.len as f64 > p);
        over_count && over_pct
    }
}

/// A Map setting read from a path or a JSONata expression (see [`Vm::setting`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Setting {
    MaxConcurrency,
    ToleratedFailureCount,
    ToleratedFailurePercentage,
}

impl Setting {
    pub(super) fn name(self) -> &'static str {
        match self {
            Setting::MaxConcurrency => "MaxConcurrency",
            Setting::ToleratedFailureCount => "ToleratedFailureCount",
            Setting::ToleratedFailurePercentage => "ToleratedFailurePercentage",
        }
    }

    pub(super) fn integer(self) -> bool {
        self != Setting::ToleratedFailurePercentage
    }

    pub(super) fn in_range(self, n: f64) -> bool {
        match self {
            Setting::ToleratedFailurePercentage => (0.0..=100.0).contains(&n),
            _ => n >= 0.0,
        }
    }

    /// What a JSONata value must be, as its error names it.
    pub(super) fn expected(self) -> &'static str {
        match self {
            Setting::ToleratedFailurePercentage => "number between 0 and 100",
            _ => "non-negative integer",
        }
    }
}

impl<'a> Vm<'a> {
    /// A Map's loop: its items (`given` from the stack, or at ItemsPath of `eff`) and its
    /// settings (MaxConcurrency, ToleratedFailure…), each checked as AWS checks it.
    fn map_loop(
        &mut self,
        m: &'a MapSpec,
        eff: Value<'a>,
        given: Option<Value<'a>>,
        sc: &StateCtx<'a>,
    ) -> Result<MapLoop<'a>, Fault<'a>> {
        let items = match (given, m.items_path) {
            (Some(v), _) => {
                if let (Some(jt), false) = (m.items_jt, matches!(v, Value::Array(_) | Value::Object(_))) {
                    return Err(self.unexpected_type(sc, &self.program.jtemplates[jt.index()], "array", v));
                }
                v
            }
            (None, Some(p)) => {
                let p = self.program.path(p);
                match self.eval_path(p, eff, sc) {
                    Some(v) => v,
                    None => {
                        return Err(
                            self.runtime(sc, format!("Invalid path '{}' : {}", p.text, p.not_found_message(eff)))
                        )
                    }
                }
            }
            (None, None) => eff,
        };
        let max_concurrency = self.setting(Setting::MaxConcurrency, m.max_concurrency.as_ref(), eff, sc)?;
        let (values, keys): (&'a [Value<'a>], Option<Members<'a>>) = match items {
            Value::Array(a) => (a, None),
            Value::Object(o) => (&[], Some(o)),
            other => {
                return Err(self.runtime(
                    sc,
                    format!("Items of a Map state must be a JSON array or object, but got {}", to_json_string(&other)),
                ))
            }
        };
        let len = keys.map_or(values.len(), <[_]>::len);
        if len > self.limits.max_map_items {
            return Err(self.runtime(
                sc,
                format!(
                    "The Map state has {} items, more than RuntimeLimits::max_map_items ({}).",
                    crate::common::thousands(len as u64),
                    crate::common::thousands(self.limits.max_map_items as u64)
                ),
            ));
        }
        let instance = self.site().map_or(0, |s| s.1);
        let tolerated_count =
            self.setting(Setting::ToleratedFailureCount, m.tolerated_failure_count.as_ref(), eff, sc)?;
        let tolerated_pct =
            self.setting(Setting::ToleratedFailurePercentage, m.tolerated_failure_percentage.as_ref(), eff, sc)?;
        let spread = match self.spread {
            Some(s) if tolerated_count.is_none() && tolerated_pct.is_none() => Some(spread::MapSpread::new(&s)),
            _ => None,
        };
        // Items run one after another unless they may suspend or be spread: only then does the
        // limit matter.
        let max_concurrency = match (&self.journal, &spread) {
            (None, None) => 0,
            _ => max_concurrency.map_or(0, |n| n as usize),
        };
        let spread = spread.filter(|_| max_concurrency != 1);
        Ok(MapLoop {
            values,
            keys,
            len,
            next: 0,
            current: None,
            out: bumpalo::collections::Vec::with_capacity_in(len, self.arena),
            failures: 0,
            tolerated_count,
            tolerated_pct,
            item_proto: None,
            instance,
            suspended: 0,
            max_concurrency,
            pending_mark: self.pending_mark(),
            spread,
        })
    }

    /// A Map's MaxConcurrency, ToleratedFailureCount or ToleratedFailurePercentage: a literal
    /// (validated with the definition), a path or a JSONata expression. A path's value is read
    /// as AWS reads it, as text parsed as a long (or a double, for the percentage): `2` and `"2"`
    /// are 2, while `2.5`, `true`, `null` and `{}` are `States.Runtime` naming the field and the
    /// value, and so is a value out of range. A JSONata value of the wrong type or range is
    /// `States.QueryEvaluationError`.
    pub(super) fn setting(
        &mut self,
        setting: Setting,
        c: Option<&'a Count>,
        eff: Value<'a>,
        sc: &StateCtx<'a>,
    ) -> Result<Option<f64>, Fault<'a>> {
        let n = match c {
            None => return Ok(None),
            Some(Source::Literal(n)) => return Ok(Some(*n)),
            Some(Source::Path(p)) => {
                let p = self.program.path(*p);
                let v = self.eval_path(p, eff, sc);
                let n = v.and_then(|v| if setting.integer() { long_of(v).map(|i| i as f64) } else { double_of(v) });
                let kind = if setting.integer() { "integer" } else { "float" };
                n.ok_or_else(|| self.not_a_number(sc, setting.name(), kind, v, p))?
            }
            Some(Source::Jsonata(t)) => {
                let t = self.program.jt(*t);
                let v = self.jt_value(t, sc)?;
                match v.as_f64().filter(|n| setting.in_range(*n) && (!setting.integer() || n.fract() == 0.0)) {
                    Some(n) => return Ok(Some(n)),
                    None => return Err(self.unexpected_type(sc, t, setting.expected(), v)),
                }
            }
        };
        if setting.in_range(n) {
            return Ok(Some(n));
        }
        Err(self.runtime(
            sc,
            match setting {
                Setting::MaxConcurrency => {
                    format!("Expected non-negative integer for MaxConcurrency, got '{n}' instead.")
                }
                Setting::ToleratedFailureCount => "ToleratedFailureCount cannot be negative.".into(),
                Setting::ToleratedFailurePercentage => "ToleratedFailurePercentage must be between 0 and 100.".into(),
            },
        ))
    }

    /// `MapBegin`: the items (on the stack, or at ItemsPath) and the settings.
    pub(super) fn map_begin(&mut self, f: &mut Frame<'a>, spec: &'a MapSpec) -> Result<(), Fault<'a>> {
        let items = if spec.items_on_stack { Some(f.pop()) } else { None };
        f.map = Some(self.map_loop(spec, f.eff, items, &f.sc)?);
        self.events += 1; // MapStateStarted
        Ok(())
    }

    /// `MapNext`: takes the next item, or says `true` when none is left to start in this run
    /// (all started, or MaxConcurrency items waiting).
    pub(super) fn map_next(&mut self, f: &mut Frame<'a>) -> bool {
        let lp = f.map.as_mut().expect("MapNext follows MapBegin (verified)");
        if lp.next >= lp.len || (lp.max_concurrency > 0 && lp.suspended >= lp.max_concurrency) {
            return true;
        }
        let i = lp.next;
        let (key, value) = match lp.keys {
            Some(members) => (Some(members[i].0), members[i].1),
            None => (None, lp.values[i]),
        };
        let item = MapItem { index: i, value, key };
        lp.current = Some(item);
        lp.next += 1;
        f.sc.item = Some(item);
        false
    }

    /// `MapRun`: runs the processor on the item's input (or puts it off, to spread), and
    /// collects its result. An item that stops to wait leaves a null and the Map stops at its
    /// end; a failed item fails the Map, unless the Map tolerates it.
    pub(super) fn map_run(
        &mut self,
        f: &mut Frame<'a>,
        processor: MachineId,
        vars: &'a [Cell<JV<'a>>],
    ) -> Result<(), Fault<'a>> {
        let input = f.pop();
        let item = f.map.as_ref().and_then(|lp| lp.current);
        self.events += 1; // MapIterationStarted
        if f.map.as_ref().is_some_and(|lp| lp.spread.is_some()) && self.put_off_item(f, processor, input) {
            self.events += 1; // MapIterationSucceeded / MapIterationFailed
            return Ok(());
        }
        let instance = f.map.as_ref().map_or(0, |lp| lp.instance);
        let saved = self.enter_scope(instance, item.map_or(0, |i| i.index));
        let outcome = self.run_machine(processor, input, item, vars);
        self.leave_scope(saved);
        self.events += 1; // MapIterationSucceeded / MapIterationFailed
        let lp = f.map.as_mut().expect("MapRun follows MapBegin (verified)");
        match outcome {
            Ok(v) => lp.out.push(v),
            // The other items go on; the Map stops at `MapEnd`.
            Err(fault) if fault.kind == FaultKind::Suspended => {
                lp.suspended += 1;
                lp.out.push(Value::Null);
            }
            Err(fault) if fault.kind == FaultKind::Catchable && lp.tolerates_failures() => {
                lp.out.push(Value::Null);
                if lp.past_tolerance() {
                    let mark = lp.pending_mark;
                    self.drop_pending_since(mark);
                    return Err(self.catchable(
                        "States.ExceedToleratedFailureThreshold",
                        "The specified tolerated failure threshold was exceeded".into(),
                    ));
                }
            }
            Err(fault) => {
                // The Map fails: it waits for none of its items.
                let mark = lp.pending_mark;
                self.drop_pending_since(mark);
                return Err(fault);
            }
        }
        Ok(())
    }

    /// `MapEnd`: once no item waits, runs the items put off to spread, and makes the result.
    pub(super) fn map_end(&mut self, f: &mut Frame<'a>, vars: &'a [Cell<JV<'a>>]) -> Result<(), Fault<'a>> {
        let mut lp = f.map.take().expect("MapEnd follows MapBegin (verified)");
        if lp.suspended > 0 {
            return Err(self.suspended());
        }
        if let Some(s) = lp.spread.take() {
            let max_concurrency = lp.max_concurrency;
            self.run_put_off(s.deferred, &mut lp.out, vars, max_concurrency)?;
        }
        f.res = Value::Array(lp.out.into_bump_slice());
        f.sc.item = f.outer_item;
        self.events += 1; // MapStateSucceeded
        Ok(())
    }
}
