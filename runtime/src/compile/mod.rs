//! [`Definition`] → [`Program`]: names become indices, the rest moves into its compiled form.

use crate::asl::ast::{self, Condition, Definition, Machine, StateKind, Str, Transition};
use crate::bytecode::*;
use std::collections::HashMap;

/// Compiles a validated definition. Validation has already checked every name, so a name that
/// does not resolve here is a compiler bug, reported as an internal error.
pub fn compile(def: &Definition) -> Result<Program, String> {
    let mut c = Compiler {
        program: Program {
            machines: Vec::new(),
            resources: Vec::new(),
            timeout_seconds: def.machine.timeout_seconds,
        },
    };
    c.machine(&def.machine)?;
    Ok(c.program)
}

struct Compiler {
    program: Program,
}

fn path_field(f: &Option<Option<crate::path::Path>>) -> PathField {
    match f {
        None => PathField::Whole,
        Some(None) => PathField::Null,
        Some(Some(p)) if p.segments.is_empty() && p.root == crate::path::Root::Input => {
            PathField::Whole
        }
        Some(Some(p)) => PathField::Path(p.clone()),
    }
}

fn result_field(f: &Option<Option<crate::path::ReferencePath>>) -> ResultField {
    match f {
        None => ResultField::Whole,
        Some(None) => ResultField::Discard,
        Some(Some(p)) if p.segments.is_empty() => ResultField::Whole,
        Some(Some(p)) => ResultField::Path(p.clone()),
    }
}

fn matcher(names: &[String]) -> ErrorMatcher {
    ErrorMatcher {
        all: names.iter().any(|n| n == "States.ALL"),
        task_failed: names.iter().any(|n| n == "States.TaskFailed"),
        names: names.iter().map(|n| n.as_str().into()).collect(),
    }
}

fn str_source(s: &Option<Str>) -> Option<StrSource> {
    s.as_ref().map(|s| match s {
        Str::Literal(l) => StrSource::Literal(l.as_str().into()),
        Str::Path(p) => StrSource::Path(p.clone()),
        Str::Call(c) => StrSource::Call(c.clone()),
    })
}

impl Compiler {
    fn machine(&mut self, m: &Machine) -> Result<MachineId, String> {
        let id = MachineId(self.program.machines.len() as u32);
        self.program.machines.push(MachineCode {
            start: StateId(0),
            states: Vec::new(),
        });
        let index: HashMap<&str, StateId> = m
            .states
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), StateId(i as u32)))
            .collect();
        let resolve = |name: &str| {
            index
                .get(name)
                .copied()
                .ok_or_else(|| format!("internal error: unresolved state '{name}'"))
        };
        let start = resolve(&m.start_at)?;
        let mut states = Vec::with_capacity(m.states.len());
        for s in &m.states {
            let next = match &s.transition {
                Transition::Next(n) => Some(resolve(n)?),
                _ => None,
            };
            let errors = match &s.kind {
                StateKind::Task(t) => Some(&t.errors),
                StateKind::Parallel { errors, .. } => Some(errors),
                StateKind::Map(map) => Some(&map.errors),
                _ => None,
            };
            let (retry, catch) = match errors {
                Some(e) => (
                    e.retry
                        .iter()
                        .map(|r| Retrier {
                            errors: matcher(&r.error_equals),
                            interval_seconds: r.interval_seconds,
                            max_attempts: r.max_attempts,
                            backoff_rate: r.backoff_rate,
                            max_delay_seconds: r.max_delay_seconds,
                            jitter_full: r.jitter_full,
                        })
                        .collect(),
                    e.catch
                        .iter()
                        .map(|c| {
                            Ok(Catcher {
                                errors: matcher(&c.error_equals),
                                result_path: result_field(&c.result_path),
                                next: resolve(&c.next)?,
                            })
                        })
                        .collect::<Result<_, String>>()?,
                ),
                None => (Box::default(), Box::default()),
            };
            let op = match &s.kind {
                StateKind::Pass { result } => StateOp::Pass {
                    result: result.clone(),
                },
                StateKind::Task(t) => {
                    let resource = match self
                        .program
                        .resources
                        .iter()
                        .position(|r| **r == *t.resource)
                    {
                        Some(i) => ResourceId(i as u32),
                        None => {
                            self.program.resources.push(t.resource.as_str().into());
                            ResourceId(self.program.resources.len() as u32 - 1)
                        }
                    };
                    StateOp::Task {
                        resource,
                        timeout: t.timeout.clone(),
                        heartbeat: t.heartbeat.clone(),
                    }
                }
                StateKind::Choice { choices, default } => StateOp::Choice {
                    rules: choices
                        .iter()
                        .map(|r| Ok((cond(&r.condition), resolve(&r.next)?)))
                        .collect::<Result<_, String>>()?,
                    default: default.as_deref().map(resolve).transpose()?,
                },
                StateKind::Wait(w) => StateOp::Wait(w.clone()),
                StateKind::Succeed => StateOp::Succeed,
                StateKind::Fail { error, cause } => StateOp::Fail {
                    error: str_source(error),
                    cause: str_source(cause),
                },
                StateKind::Parallel { branches, .. } => {
                    let mut ids = Vec::with_capacity(branches.len());
                    for b in branches {
                        ids.push(self.machine(b)?);
                    }
                    StateOp::Parallel {
                        branches: ids.into(),
                    }
                }
                StateKind::Map(map) => {
                    let processor = self.machine(&map.processor)?;
                    StateOp::Map(Box::new(MapOp {
                        items_path: map.items_path.clone(),
                        item_selector: map
                            .item_selector
                            .clone()
                            .or_else(|| s.io.parameters.clone()),
                        processor,
                        max_concurrency: map.max_concurrency.clone(),
                        tolerated_failure_count: map.tolerated_failure_count.clone(),
                        tolerated_failure_percentage: map.tolerated_failure_percentage.clone(),
                    }))
                }
            };
            let is_map = matches!(op, StateOp::Map(_));
            states.push(StateCode {
                name: s.name.as_str().into(),
                op,
                input_path: path_field(&s.io.input_path),
                output_path: path_field(&s.io.output_path),
                result_path: result_field(&s.io.result_path),
                // A Map's Parameters is its (legacy) ItemSelector, applied per item.
                parameters: if is_map {
                    None
                } else {
                    s.io.parameters.clone()
                },
                result_selector: s.io.result_selector.clone(),
                next,
                retry,
                catch,
            });
        }
        self.program.machines[id.0 as usize] = MachineCode { start, states };
        Ok(id)
    }
}

fn cond(c: &Condition) -> Cond {
    match c {
        Condition::And(list) => Cond::And(list.iter().map(cond).collect()),
        Condition::Or(list) => Cond::Or(list.iter().map(cond).collect()),
        Condition::Not(inner) => Cond::Not(Box::new(cond(inner))),
        Condition::Compare {
            variable,
            op,
            operand,
        } => {
            let is_ts = matches!(
                op,
                ast::Comparison::TimestampEquals
                    | ast::Comparison::TimestampLessThan
                    | ast::Comparison::TimestampGreaterThan
                    | ast::Comparison::TimestampLessThanEquals
                    | ast::Comparison::TimestampGreaterThanEquals
            );
            let operand = match operand {
                ast::Operand::Const(crate::value::Const::Str(s)) if is_ts => {
                    CondOperand::Timestamp(crate::vm::timestamp::parse(s).unwrap_or_default())
                }
                ast::Operand::Const(k) => CondOperand::Const(k.clone()),
                ast::Operand::Path(p) => CondOperand::Path(p.clone()),
                ast::Operand::None => CondOperand::None,
            };
            Cond::Compare {
                variable: variable.clone(),
                op: *op,
                operand,
            }
        }
    }
}
