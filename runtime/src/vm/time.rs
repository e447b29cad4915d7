//! Time and suspension: the clock as the execution sees it (virtual or real, journaled when
//! the execution may suspend), waiting, cancellation, and the journal's sites.

use super::{execution_timeout_millis, AtSite, Entry, Fault, FaultKind, Journal, Site, Suspension, Vm};
use crate::common::{system_millis, Rng};
use crate::config::Clock;

impl<'a> Vm<'a> {
    pub(super) fn start(&self) -> i64 {
        match self.start_millis.get() {
            Some(s) => s,
            None => {
                let s = system_millis();
                self.start_millis.set(Some(s));
                s
            }
        }
    }

    /// The time now. In a suspendable run on the system clock every reading is journaled at a
    /// site, and a replay reads it back: the run sees the times the run that went there saw,
    /// and takes the same path (a Timestamp Wait, `$now()` in a Choice, EnteredTime).
    pub(super) fn now_millis(&mut self) -> i64 {
        match self.clock {
            Clock::System => match self.site() {
                None => system_millis(),
                Some(site) => match self.at(site) {
                    AtSite::Done(Entry::Clock(t)) => t,
                    _ => {
                        let t = system_millis();
                        if let Some(j) = self.journal.as_deref_mut() {
                            j.record(site, Entry::Clock(t));
                        }
                        t
                    }
                },
            },
            _ => self.start().saturating_add(self.virtual_elapsed_millis),
        }
    }

    /// The time around a synchronous handler's call, for its TimeoutSeconds and
    /// HeartbeatSeconds: not journaled (the Task's outcome is), so a replay that stops at the
    /// Task consumes no site for it.
    pub(super) fn handler_clock(&mut self) -> i64 {
        match self.clock {
            Clock::System => system_millis(),
            _ => self.now_millis(),
        }
    }

    /// Milliseconds since the execution started, never negative. The start is read first: a
    /// start read lazily after "now" once made this −1, a huge number as a `u64`, and so a
    /// false `States.Timeout` for an execution of microseconds.
    pub(super) fn elapsed_millis(&mut self) -> u64 {
        let start = self.start();
        let now = self.now_millis();
        u64::try_from(now.saturating_sub(start)).unwrap_or(0)
    }

    /// Waits `millis`, or fails with a time-out if the execution's time would run out first.
    pub(super) fn sleep(&mut self, millis: u64, is_retry: bool) -> Result<(), Fault<'a>> {
        if self.clock == Clock::ZeroDelay && is_retry {
            return Ok(());
        }
        // The clock is read before the wait's own site, as in the run that journaled it: a replay
        // consumes the same sites in the same order (see `now_millis`).
        let budget = self.timeout_millis().saturating_sub(self.elapsed_millis());
        let site = if self.clock == Clock::System && millis > 0 { self.site() } else { None };
        if let Some(site) = site {
            match self.at(site) {
                // A wait this execution has already done, in a run before this one.
                AtSite::Done(_) => return Ok(()),
                AtSite::Waiting => return Err(self.suspended()),
                AtSite::New => {}
            }
        }
        if millis > budget {
            return Err(self.timed_out());
        }
        match self.clock {
            Clock::System if site.is_some() => {
                return Err(self.suspend(site, Suspension::Sleep { millis }));
            }
            Clock::System => {
                // In slices, so that a cancellation ends the wait within one slice.
                const SLICE_MS: u64 = 20;
                let mut left = millis;
                while left > 0 {
                    if self.cancelled() {
                        return Err(self.aborted());
                    }
                    let step = left.min(SLICE_MS);
                    std::thread::sleep(std::time::Duration::from_millis(step));
                    left -= step;
                }
            }
            _ => {
                let millis = i64::try_from(millis).unwrap_or(i64::MAX);
                self.virtual_elapsed_millis = self.virtual_elapsed_millis.saturating_add(millis);
            }
        }
        Ok(())
    }

    /// The next site of the current machine run, when the execution may suspend (see
    /// [`Journal`]); `None` otherwise.
    #[inline]
    pub(super) fn site(&mut self) -> Option<Site> {
        self.journal.as_ref()?;
        let site = (self.scope, self.seq);
        self.seq += 1;
        Some(site)
    }

    /// What the journal has for `site`.
    pub(super) fn at(&self, site: Site) -> AtSite {
        self.journal.as_deref().map_or(AtSite::New, |j| j.at(site))
    }

    /// Stops the run at `site` to wait for `s` (see [`Journal`]).
    #[cold]
    pub(super) fn suspend(&mut self, site: Option<Site>, s: Suspension) -> Fault<'a> {
        if let (Some(j), Some(site)) = (self.journal.as_deref_mut(), site) {
            j.suspend(site, s);
        }
        self.suspended()
    }

    /// The run stops: something it needs is still being waited for.
    #[cold]
    pub(super) fn suspended(&mut self) -> Fault<'a> {
        Fault { error: None, cause: None, kind: FaultKind::Suspended, from_task: false }
    }

    /// The waits asked for so far in this run (see [`Journal::drop_pending_since`]).
    pub(super) fn pending_mark(&self) -> usize {
        self.journal.as_deref().map_or(0, Journal::pending_mark)
    }

    pub(super) fn drop_pending_since(&mut self, mark: usize) {
        if let Some(j) = self.journal.as_deref_mut() {
            j.drop_pending_since(mark);
        }
    }

    /// Enters the scope of Parallel branch or Map item `index` of the Parallel or Map state that
    /// took sequence number `instance`: its own sites and, for replay, its own random source.
    /// Returns what [`Vm::leave_scope`] restores.
    pub(super) fn enter_scope(&mut self, instance: u32, index: usize) -> Option<(u64, u32, Rng)> {
        let seed = self.journal.as_ref()?.seed;
        let scope = super::journal::child_scope(self.scope, instance, index);
        let saved = (self.scope, self.seq, std::mem::replace(&mut self.rng, Rng::seeded(seed ^ scope)));
        self.scope = scope;
        self.seq = 0;
        Some(saved)
    }

    pub(super) fn leave_scope(&mut self, saved: Option<(u64, u32, Rng)>) {
        if let Some((scope, seq, rng)) = saved {
            self.scope = scope;
            self.seq = seq;
            self.rng = rng;
        }
    }

    #[inline]
    pub(super) fn cancelled(&self) -> bool {
        self.cancel.is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed))
    }

    pub(super) fn timeout_millis(&self) -> u64 {
        execution_timeout_millis(self.program, &self.limits)
    }
}
