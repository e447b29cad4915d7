//! Task, Parallel and Map: an attempt region routed through Retry and Catch.

use super::{push, Compiler, Emitter, Handling};
use crate::asl::ast::{self, ErrorHandling, Machine, State};
use crate::bytecode::*;

type Catchers = Vec<(ErrorMatcher, CatchResult, String)>;

fn matcher(names: &[String]) -> ErrorMatcher {
    ErrorMatcher {
        all: names.iter().any(|n| n == "States.ALL"),
        task_failed: names.iter().any(|n| n == "States.TaskFailed"),
        names: names.iter().map(|n| n.as_str().into()).collect(),
    }
}

impl Compiler {
    fn tables(&mut self, errors: &ErrorHandling) -> Result<(Box<[Retrier]>, Catchers), String> {
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
        let mut catch = Vec::with_capacity(errors.catch.len());
        for c in &errors.catch {
            let result = match &c.result_path {
                None => CatchResult::Whole,
                Some(None) => CatchResult::Discard,
                Some(Some(p)) if p.segments.is_empty() => CatchResult::Whole,
                Some(Some(p)) => CatchResult::Path(self.ref_path(p)?),
            };
            catch.push((matcher(&c.error_equals), result, c.next.clone()));
        }
        Ok((retry, catch))
    }

    /// `In` from Parameters (evaluated on `Eff`) or `Eff` itself.
    fn input(&mut self, e: &mut Emitter, s: &State) -> Result<(), String> {
        match &s.io.parameters {
            Some(t) => {
                self.template(e, t, Reg::Eff)?;
                e.emit(Op::Pop(Reg::In));
            }
            None => e.emit(Op::Move { to: Reg::In, from: Reg::Eff }),
        }
        Ok(())
    }

    /// ResultSelector (on `Res`), the end of the attempt, then ResultPath, OutputPath, exit.
    fn finish_attempt(&mut self, e: &mut Emitter, s: &State) -> Result<(), String> {
        if let Some(t) = &s.io.result_selector {
            self.template(e, t, Reg::Res)?;
            e.emit(Op::Pop(Reg::Res));
        }
        e.emit(Op::EndAttempt);
        self.result_output_exit(e, s)
    }

    pub(super) fn task(&mut self, e: &mut Emitter, s: &State, t: &ast::Task) -> Result<Handling, String> {
        let resource = match self.program.resources.iter().position(|r| **r == *t.resource) {
            Some(i) => ResourceId(i as u16),
            None => ResourceId(push(&mut self.program.resources, t.resource.as_str().into())?),
        };
        self.input_path(e, s)?;
        e.emit(Op::Attempt);
        self.input(e, s)?;
        e.emit(Op::Invoke(resource));
        self.finish_attempt(e, s)?;
        let (retry, catch) = self.tables(&t.errors)?;
        Ok(Handling { retry, catch, timeout: t.timeout.clone(), heartbeat: t.heartbeat.clone() })
    }

    pub(super) fn parallel(
        &mut self,
        e: &mut Emitter,
        s: &State,
        branches: &[Machine],
        errors: &ErrorHandling,
    ) -> Result<Handling, String> {
        let mut ids = Vec::with_capacity(branches.len());
        for b in branches {
            ids.push(self.machine(b)?);
        }
        self.input_path(e, s)?;
        e.emit(Op::Attempt);
        self.input(e, s)?;
        e.emit(Op::Events(1)); // ParallelStateStarted
        for id in &ids {
            e.emit(Op::Branch(*id));
        }
        e.emit(Op::MakeArray(u16::try_from(ids.len()).map_err(|_| "too many branches")?));
        e.emit(Op::Pop(Reg::Res));
        e.emit(Op::Events(1)); // ParallelStateSucceeded
        self.finish_attempt(e, s)?;
        let (retry, catch) = self.tables(errors)?;
        Ok(Handling { retry, catch, ..Handling::default() })
    }

    pub(super) fn map(&mut self, e: &mut Emitter, s: &State, m: &ast::Map) -> Result<Handling, String> {
        let processor = self.machine(&m.processor)?;
        let items_path = m.items_path.as_ref().map(|p| self.path(p)).transpose()?;
        let max_concurrency_path = match &m.max_concurrency {
            Some(ast::Count::Path(p)) => Some(self.path(p)?),
            _ => None,
        };
        let spec = MapSpec {
            items_path,
            max_concurrency_path,
            tolerated_failure_count: m.tolerated_failure_count.clone(),
            tolerated_failure_percentage: m.tolerated_failure_percentage.clone(),
        };
        let id = MapId(push(&mut self.program.maps, spec)?);
        self.input_path(e, s)?;
        e.emit(Op::Attempt);
        e.emit(Op::MapBegin(id));
        let next = e.label();
        let done = e.label();
        e.bind(next);
        e.emit_to(Op::MapNext, done);
        // A Map's Parameters is the legacy name of its ItemSelector.
        match m.item_selector.as_ref().or(s.io.parameters.as_ref()) {
            Some(t) => self.template(e, t, Reg::Eff)?,
            None => e.emit(Op::PushItem),
        }
        e.emit(Op::MapRun(processor));
        e.emit_to(Op::Jump, next);
        e.bind(done);
        e.emit(Op::MapEnd);
        self.finish_attempt(e, s)?;
        let (retry, catch) = self.tables(&m.errors)?;
        Ok(Handling { retry, catch, ..Handling::default() })
    }
}
