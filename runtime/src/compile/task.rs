//! Task, Parallel and Map: an attempt region routed through Retry, and a landing pad per catcher.

use super::{push, CompileError, Compiler, Emitter, Handling, Result};
use crate::asl::ast::{self, ErrorHandling, Machine, State};
use crate::bytecode::*;

/// A JSONata TimeoutSeconds, HeartbeatSeconds, MaxConcurrency or ToleratedFailure setting.
fn jsonata_number<T>(x: &Option<ast::Number<T>>) -> Option<&crate::jsonata::JTemplate> {
    match x {
        Some(ast::Number::Jsonata(t)) => Some(t),
        _ => None,
    }
}

fn matcher(names: &[String]) -> ErrorMatcher {
    ErrorMatcher {
        all: names.iter().any(|n| n == "States.ALL"),
        task_failed: names.iter().any(|n| n == "States.TaskFailed"),
        names: names.iter().map(|n| n.as_str().into()).collect(),
    }
}

impl Compiler {
    /// The Retry table and, for a Task, its time-outs.
    fn handling(errors: &ErrorHandling) -> Handling {
        let retry = errors
            .retry
            .iter()
            .map(|r| Retrier {
                errors: matcher(&r.error_equals),
                interval_seconds: r.interval_seconds,
                max_attempts: r.max_attempts,
                backoff_rate: r.backoff_rate,
                max_delay_seconds: r.max_delay_seconds,
                jitter_full: r.jitter_full,
            })
            .collect();
        Handling { retry, ..Handling::default() }
    }

    /// A landing pad per catcher, emitted where the machine's code is now: it makes the state's
    /// output from the error output in `Err`, runs the catcher's Assign, counts the exit and
    /// jumps to the catcher's `Next`.
    pub(super) fn landing_pads(&mut self, e: &mut Emitter, errors: &ErrorHandling) -> Result<Box<[Catcher]>> {
        let mut catch = Vec::with_capacity(errors.catch.len());
        for c in &errors.catch {
            let pad = e.label();
            e.bind(pad);
            if c.jsonata {
                let uses = Self::jsonata_uses(c.output.as_ref(), c.assign.as_ref());
                self.set_states(e, STATES_ERROR, &uses);
                self.jsonata_outcome(e, c.output.as_ref(), c.assign.as_ref(), Reg::Err, Reg::Err)?;
            } else {
                let assign = c.assign.as_ref().map(|a| self.assign_values(e, a, Reg::Err)).transpose()?;
                e.emit(Op::Move { to: Reg::Res, from: Reg::Err });
                self.result_path(e, &c.result_path)?;
                if let Some(a) = assign {
                    e.emit(Op::Assign(a));
                }
            }
            e.emit(Op::Exit);
            let target = e.state_label(&c.next)?;
            e.emit_to(Op::Jump, target);
            catch.push(Catcher { errors: matcher(&c.error_equals), next: e.resolve(pad)? });
        }
        Ok(catch.into())
    }

    /// A Task's time-out or a Map's setting, lowered.
    fn source<T: Copy>(&mut self, n: &Option<ast::Number<T>>) -> Result<Option<Source<T>>> {
        n.as_ref()
            .map(|n| match n {
                ast::Number::Literal(x) => Ok(Source::Literal(*x)),
                ast::Number::Path(p) => self.path(p).map(Source::Path),
                ast::Number::Jsonata(t) => self.jt(t).map(Source::Jsonata),
            })
            .transpose()
    }

    /// `In` from Parameters or Arguments, or the (effective) input itself.
    fn input(&mut self, e: &mut Emitter, s: &State) -> Result<()> {
        if s.jsonata {
            return self.jsonata_into(e, s.arguments.as_ref(), Reg::In, Reg::Raw);
        }
        match &s.io.parameters {
            Some(t) => {
                self.template(e, t, Reg::Eff)?;
                e.emit(Op::Pop(Reg::In));
            }
            None => e.emit(Op::Move { to: Reg::In, from: Reg::Eff }),
        }
        Ok(())
    }

    /// After the result is in `Res`: JSONPath Assign (on the raw result) and ResultSelector, or
    /// JSONata Output and Assign; then the end of the attempt, the exit and the transition.
    fn finish_attempt(&mut self, e: &mut Emitter, s: &State) -> Result<()> {
        if s.jsonata {
            let uses = Self::jsonata_uses(s.output.as_ref(), s.assign.as_ref());
            self.set_states(e, STATES_RESULT, &uses);
            self.jsonata_output_assign(e, s, Reg::Res)?;
            e.emit(Op::EndAttempt);
            e.emit(Op::Exit);
            return e.transition(&s.transition);
        }
        // JSONPath Assign reads the raw result (as ResultSelector does); the variables change
        // when the state exits.
        let assign = s.assign.as_ref().map(|a| self.assign_values(e, a, Reg::Res)).transpose()?;
        if let Some(t) = &s.io.result_selector {
            self.template(e, t, Reg::Res)?;
            e.emit(Op::Pop(Reg::Res));
        }
        e.emit(Op::EndAttempt);
        self.result_output_exit(e, s, assign)
    }

    /// `SetStates` at the start of each attempt of a JSONata Task/Parallel/Map (for Arguments,
    /// Items…): inside it, so that a retry sees `$states` as the first attempt did, not as the
    /// failed attempt's Output left it (without the context an optimised program gives only
    /// the expressions that read it).
    fn enter_jsonata(&mut self, e: &mut Emitter, s: &State, extra: &[Option<&crate::jsonata::JTemplate>]) {
        if s.jsonata {
            let mut uses = vec![s.arguments.as_ref()];
            uses.extend_from_slice(extra);
            self.set_states(e, 0, &uses);
        }
    }

    pub(super) fn task(&mut self, e: &mut Emitter, s: &State, t: &ast::Task) -> Result<Handling> {
        let resource = match self.program.resources.iter().position(|r| **r == *t.resource) {
            Some(i) => ResourceId(i as u16),
            None => ResourceId(push(&mut self.program.resources, t.resource.as_str().into())?),
        };
        if !s.jsonata {
            self.input_path(e, s)?;
        }
        e.emit(Op::Attempt);
        // TimeoutSeconds and HeartbeatSeconds are evaluated with the Arguments.
        self.enter_jsonata(e, s, &[jsonata_number(&t.timeout), jsonata_number(&t.heartbeat)]);
        self.input(e, s)?;
        e.emit(Op::Invoke(resource));
        self.finish_attempt(e, s)?;
        let mut h = Self::handling(&t.errors);
        h.timeout = self.source(&t.timeout)?;
        h.heartbeat = self.source(&t.heartbeat)?;
        Ok(h)
    }

    pub(super) fn parallel(
        &mut self,
        e: &mut Emitter,
        s: &State,
        branches: &[Machine],
        errors: &ErrorHandling,
    ) -> Result<Handling> {
        let mut ids = Vec::with_capacity(branches.len());
        for b in branches {
            ids.push(self.machine(b)?);
        }
        if !s.jsonata {
            self.input_path(e, s)?;
        }
        e.emit(Op::Attempt);
        self.enter_jsonata(e, s, &[]);
        self.input(e, s)?;
        e.emit(Op::Events(1)); // ParallelStateStarted
        for id in &ids {
            e.emit(Op::Branch(*id));
        }
        e.emit(Op::JoinBranches);
        e.emit(Op::MakeArray(
            u16::try_from(ids.len())
                .map_err(|_| CompileError::TooLarge("more than 65,535 branches in one Parallel".into()))?,
        ));
        e.emit(Op::Pop(Reg::Res));
        e.emit(Op::Events(1)); // ParallelStateSucceeded
        self.finish_attempt(e, s)?;
        Ok(Self::handling(errors))
    }

    pub(super) fn map(&mut self, e: &mut Emitter, s: &State, m: &ast::Map) -> Result<Handling> {
        let processor = self.machine(&m.processor)?;
        let items_path = m.items_path.as_ref().map(|p| self.path(p)).transpose()?;
        let items_jt = match (&m.items, s.jsonata) {
            (Some(t), true) => Some(self.jt(t)?),
            _ => None,
        };
        let spec = MapSpec {
            items_on_stack: s.jsonata,
            items_jt,
            items_path,
            max_concurrency: self.source(&m.max_concurrency)?,
            tolerated_failure_count: self.source(&m.tolerated_failure_count)?,
            tolerated_failure_percentage: self.source(&m.tolerated_failure_percentage)?,
        };
        let id = MapId(push(&mut self.program.maps, spec)?);
        // The Map's settings are evaluated with its Items.
        let settings = [&m.max_concurrency, &m.tolerated_failure_count, &m.tolerated_failure_percentage];
        let mut uses = vec![m.items.as_ref()];
        uses.extend(settings.map(jsonata_number));
        if !s.jsonata {
            self.input_path(e, s)?;
        }
        e.emit(Op::Attempt);
        self.enter_jsonata(e, s, &uses);
        if s.jsonata {
            // Items: the JSONata value, or the state input.
            match items_jt {
                Some(jt) => e.emit(Op::PushJsonata(jt)),
                None => e.emit(Op::PushReg(Reg::Raw)),
            }
        }
        e.emit(Op::MapBegin(id));
        let next = e.label();
        let done = e.label();
        e.bind(next);
        e.emit_to(Op::MapNext, done);
        if s.jsonata {
            match &m.item_selector_j {
                Some(t) => {
                    // `$states.context.Map.Item` is this iteration's item.
                    self.set_states(e, STATES_CONTEXT, &[]);
                    let jt = self.jt(t)?;
                    e.emit(Op::PushJsonata(jt));
                }
                None => e.emit(Op::PushItem),
            }
        } else {
            // A Map's Parameters is the legacy name of its ItemSelector.
            match m.item_selector.as_ref().or(s.io.parameters.as_ref()) {
                Some(t) => {
                    self.template(e, t, Reg::Eff)?;
                    // The ItemSelector of every item but the first reuses the members that
                    // cannot differ between items (see `Op::ItemObject`).
                    if let (true, Some(last)) = (self.optimize, e.code.last_mut()) {
                        if let Op::Object { id, root: Reg::Eff, to: None } = *last {
                            *last = Op::ItemObject(id);
                        }
                    }
                }
                None => e.emit(Op::PushItem),
            }
        }
        e.emit(Op::MapRun(processor));
        e.emit_to(Op::Jump, next);
        e.bind(done);
        e.emit(Op::MapEnd);
        self.finish_attempt(e, s)?;
        Ok(Self::handling(&m.errors))
    }
}
