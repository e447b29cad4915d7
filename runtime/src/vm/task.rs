//! Task states and Retry/Catch routing: calling a handler (or replaying its journaled
//! outcome) within TimeoutSeconds and HeartbeatSeconds, and routing a failure to a retry, a
//! catcher or the caller.

use super::{long_of, AtSite, Entry, Fault, FaultKind, Frame, Site, StateCtx, Suspension, Vm};
use crate::bytecode::{MachineCode, Pc, ResourceId, Retrier, Seconds, Source};
use crate::common::Rng;
use crate::handler::{Called, Polled, TaskContext, TaskError, TaskInfo, Waiting};
use crate::value::{json_len, to_json_string, ArenaExt, Value};

/// The back-off before retry number `used + 1`: IntervalSeconds × BackoffRate^used, capped by
/// MaxDelaySeconds, with FULL jitter drawn uniformly below it.
fn retry_delay(r: &Retrier, used: u64, rng: &mut Rng) -> u64 {
    let base = r.interval_seconds as f64 * r.backoff_rate.powi(used.min(1000) as i32);
    let capped = match r.max_delay_seconds {
        Some(m) => base.min(m as f64),
        None => base,
    };
    let secs = if r.jitter_full { capped * rng.next_f64() } else { capped };
    (secs * 1000.0).min(u64::MAX as f64 / 2.0) as u64
}

impl<'a> Vm<'a> {
    /// Routes a failure raised in the current state: a retry (back to the attempt's start), a
    /// catcher (on to its state), or up to the caller. Only failures inside an attempt of a Task,
    /// Parallel or Map are routed, and never terminal ones.
    #[cold]
    pub(super) fn route(
        &mut self,
        f: &mut Frame<'a>,
        machine: &'a MachineCode,
        fault: Fault<'a>,
    ) -> Result<Pc, Fault<'a>> {
        // Map items put off to the Map's end run before anything after them could fail: a
        // failure of theirs comes first.
        let fault = match f.map.as_ref().is_some_and(|lp| lp.spread.is_some()) {
            true => self.run_put_off_before(f, fault),
            false => fault,
        };
        let Some(attempt) = f.attempt else { return Err(fault) };
        if fault.kind != FaultKind::Catchable {
            return Err(fault);
        }
        let info = machine.state(f.state);
        let name = fault.error.unwrap_or("");
        f.sp = 0;
        f.map = None;
        f.put_off.clear();
        f.sc.item = f.outer_item;
        if let Some(i) = info.retry.iter().position(|r| r.errors.matches(name, fault.from_task)) {
            let r = &info.retry[i];
            let used = *f.retries_used(i);
            if used < r.max_attempts {
                let delay = retry_delay(r, used, &mut self.rng);
                *f.retries_used(i) += 1;
                self.sleep(delay, true)?;
                f.sc.retry_count += 1;
                return Ok(attempt);
            }
        }
        let Some(c) = info.catch.iter().find(|c| c.errors.matches(name, fault.from_task)) else {
            return Err(fault);
        };
        // The landing pad makes the output from the error output.
        f.err = self.arena.object([
            ("Error", Value::Str(fault.error.unwrap_or(""))),
            ("Cause", Value::Str(fault.cause.unwrap_or(""))),
        ]);
        f.attempt = None;
        Ok(c.next)
    }

    /// A future's answer as the Task's result, in the arena (wrapped as the Lambda
    /// integration's for `lambda:invoke`).
    fn answered(&self, r: Result<serde_json::Value, TaskError>, lambda: bool) -> Result<Value<'a>, TaskError> {
        let r = r.map(|v| crate::handler::copy_serde(&v, self.arena));
        if lambda {
            r.map(|v| crate::handler::lambda_result(self.arena, v))
        } else {
            r
        }
    }

    /// A handler's future. Under a Runtime (`site`), it is polled once: an answer ready at
    /// once is the Task's result now; otherwise the execution suspends (the `Err`). Elsewhere
    /// the calling thread waits for it.
    fn await_answer(
        &mut self,
        fut: Waiting,
        site: Option<Site>,
        resource: ResourceId,
        timeout_secs: Option<u64>,
        lambda: bool,
    ) -> Result<Result<Value<'a>, TaskError>, Fault<'a>> {
        let name: &'a str = &self.program.resources[resource.index()];
        let timeout = timeout_secs.map(|s| s.saturating_mul(1000));
        // TimeoutSeconds runs from here, not from when the run ends and the wait begins. The
        // clock is read only for it, and only where the execution may suspend (a caller that
        // waits in place counts the limit from here itself).
        let counted = timeout.filter(|_| site.is_some()).map(|t| (t, std::time::Instant::now()));
        let fut = match (site, fut) {
            (None, Waiting::Json(fut)) => {
                return Ok(self.answered(crate::handler::block_on_task(fut, timeout, name), lambda))
            }
            (None, Waiting::Text(fut)) => {
                return Ok(self.answered_text(crate::handler::block_on_task(fut, timeout, name), lambda, name))
            }
            (Some(_), Waiting::Json(fut)) => match crate::handler::poll_once(fut, name) {
                Polled::Ready(r) => return Ok(self.answered(r, lambda)),
                Polled::Pending(fut) => Waiting::Json(fut),
            },
            (Some(_), Waiting::Text(fut)) => match crate::handler::poll_once(fut, name) {
                Polled::Ready(r) => return Ok(self.answered_text(r, lambda, name)),
                Polled::Pending(fut) => Waiting::Text(fut),
            },
        };
        Err(self.suspend(site, Suspension::Task { fut, resource, timeout: counted, lambda }))
    }

    /// A future's answer in JSON text as the Task's result, parsed into the arena (see
    /// [`Vm::answered`]); text that is not JSON fails the Task.
    fn answered_text(
        &self,
        r: Result<String, TaskError>,
        lambda: bool,
        resource: &str,
    ) -> Result<Value<'a>, TaskError> {
        let r = r.and_then(|text| {
            self.arena.parse_json(&text).map_err(|e| crate::handler::invalid_json(resource, &e.to_string()))
        });
        if lambda {
            r.map(|v| crate::handler::lambda_result(self.arena, v))
        } else {
            r
        }
    }

    pub(super) fn task(
        &mut self,
        resource: ResourceId,
        timeout: Option<&'a Seconds>,
        heartbeat: Option<&'a Seconds>,
        input: Value<'a>,
        sc: &StateCtx<'a>,
    ) -> Result<Value<'a>, Fault<'a>> {
        // Everything that may consume a site (an expression reading the clock) comes before the
        // Task's own site, so that a replay, which stops at that site, consumes the same ones.
        let timeout_secs = self.seconds("TimeoutSeconds", timeout, input, sc)?;
        let heartbeat_secs = self.seconds("HeartbeatSeconds", heartbeat, input, sc)?;
        let site = self.site();
        if let Some(site) = site {
            match self.at(site) {
                // A Task this execution ran before a suspension: its journaled outcome.
                AtSite::Done(entry) => return self.replayed_task(entry, sc, &self.program.resources[resource.index()]),
                AtSite::Waiting => return Err(self.suspended()),
                AtSite::New => {}
            }
        }
        let name: &'a str = &self.program.resources[resource.index()];
        let ctx = TaskContext { arena: self.arena, resource: name, state: sc.name, retry_count: sc.retry_count };
        // The clock is read around the call only for a limit to check against it.
        let started = (timeout_secs.is_some() || heartbeat_secs.is_some()).then(|| self.handler_clock());
        let called = match self.handlers.invoke(resource, input, &ctx) {
            Called::Done(r) => r,
            Called::Async { handler, payload, lambda } => {
                let info =
                    TaskInfo { resource: name.to_owned(), state: sc.name.to_owned(), retry_count: sc.retry_count };
                let h = handler.as_ref();
                let start = || match h.takes_text() {
                    true => crate::handler::start_async_text(h, payload.to_json(), info).map(Waiting::Text),
                    false => crate::handler::start_async(h, payload.to_serde(), info).map(Waiting::Json),
                };
                // Under a Runtime, started in its tokio context.
                let started = match site {
                    Some(_) => crate::handler::start_in_context(start),
                    None => start(),
                };
                match started {
                    Err(e) => Err(e),
                    Ok(fut) => self.await_answer(fut, site, resource, timeout_secs, lambda)?,
                }
            }
            Called::Started { fut, lambda } => self.await_answer(fut, site, resource, timeout_secs, lambda)?,
        };
        let result = match called {
            Ok(v) => v,
            Err(e) => return self.journaled(site, Err(self.task_fault(&e.error, e.cause.as_deref()))),
        };
        // A synchronous handler cannot be stopped while it runs, so its limits are checked when it
        // returns: longer than TimeoutSeconds is States.Timeout; longer than HeartbeatSeconds is
        // States.HeartbeatTimeout, since it sent no heartbeat meanwhile.
        let elapsed = started.map_or(0, |s| u64::try_from(self.handler_clock().saturating_sub(s)).unwrap_or(0));
        for (secs, error) in [(timeout_secs, "States.Timeout"), (heartbeat_secs, "States.HeartbeatTimeout")] {
            if secs.is_some_and(|s| elapsed > s.saturating_mul(1000)) {
                let fault = Fault { error: Some(error), cause: None, kind: FaultKind::Catchable, from_task: true };
                return self.journaled(site, Err(fault));
            }
        }
        // Journaled before the size check (which a replay repeats), so that a run repeated for
        // a sibling's sake never calls the handler again.
        let result = self.journaled(site, Ok(result))?;
        if json_len(&result) > self.limits.payload_bytes() {
            return Err(self.data_limit(sc));
        }
        Ok(result)
    }

    /// TimeoutSeconds or HeartbeatSeconds, as a literal, a path or a JSONata expression.
    pub(super) fn seconds(
        &mut self,
        field: &str,
        limit: Option<&'a Seconds>,
        input: Value<'a>,
        sc: &StateCtx<'a>,
    ) -> Result<Option<u64>, Fault<'a>> {
        Ok(match limit {
            None => None,
            Some(Source::Literal(s)) => Some(*s),
            // As a Map's settings: a long, or a string holding one; a missing value fails as a
            // missing ItemsPath does.
            Some(Source::Path(p)) => match self.eval_path(self.program.path(*p), input, sc) {
                None => {
                    let p = self.program.path(*p);
                    return Err(self.runtime(sc, format!("Invalid path '{}' : {}", p.text, p.not_found_message(input))));
                }
                Some(v) => match long_of(v) {
                    Some(n) => Some(n.max(0) as u64),
                    None => return Err(self.not_a_number(sc, field, "integer", Some(v), self.program.path(*p))),
                },
            },
            Some(Source::Jsonata(t)) => match self.jt_value(self.program.jt(*t), sc)? {
                v if v.as_integer().is_some_and(|i| i > 0) => v.as_integer().map(|i| i as u64),
                other => return Err(self.unexpected_type(sc, self.program.jt(*t), "number", other)),
            },
        })
    }

    /// Journals a Task's outcome when the execution may suspend later, so that a later run
    /// replays it instead of calling the handler again.
    pub(super) fn journaled(
        &mut self,
        site: Option<Site>,
        r: Result<Value<'a>, Fault<'a>>,
    ) -> Result<Value<'a>, Fault<'a>> {
        if let (Some(j), Some(site)) = (self.journal.as_deref_mut(), site) {
            let result = match &r {
                Ok(v) => Ok(to_json_string(v)),
                Err(f) => Err((f.error.unwrap_or_default().to_owned(), f.cause.map(str::to_owned))),
            };
            j.record(site, Entry::Task { result, lambda: false });
        }
        r
    }

    /// A Task outcome from the journal: parsed into this run's arena.
    pub(super) fn replayed_task(
        &mut self,
        entry: Entry,
        sc: &StateCtx<'a>,
        resource: &str,
    ) -> Result<Value<'a>, Fault<'a>> {
        let (result, lambda) = match entry {
            Entry::Task { result, lambda } => (result, lambda),
            Entry::TimedOut => return Err(self.timed_out()),
            Entry::Waited | Entry::Clock(_) => {
                return Err(self.runtime(sc, "internal error: the journal does not match the run".into()))
            }
        };
        match result {
            Err((error, cause)) => Err(self.task_fault(&error, cause.as_deref())),
            Ok(json) => {
                // Bounded before it is read; held to the payload limit as a value, as an answer
                // ready at once is (text may be spelled longer than the value it holds).
                if json.len() > crate::common::WRITE_LIMIT {
                    return Err(self.data_limit(sc));
                }
                // Read as an answer in text is read when it comes at once: a handler on JSON
                // text may answer what is not JSON, and the Task fails.
                let v = match self.answered_text(Ok(json), lambda, resource) {
                    Ok(v) => v,
                    Err(e) => return Err(self.task_fault(&e.error, e.cause.as_deref())),
                };
                if json_len(&v) > self.limits.payload_bytes() {
                    return Err(self.data_limit(sc));
                }
                Ok(v)
            }
        }
    }

    /// `Invoke`: the current state's Task, with its history events.
    pub(super) fn invoke(
        &mut self,
        f: &Frame<'a>,
        machine: &'a MachineCode,
        r: ResourceId,
    ) -> Result<Value<'a>, Fault<'a>> {
        self.events += 2; // TaskScheduled, TaskStarted
        let info = machine.state(f.state);
        let result = self.task(r, info.timeout.as_ref(), info.heartbeat.as_ref(), f.input, &f.sc);
        self.events += 1; // TaskSucceeded / TaskFailed
        result
    }
}
