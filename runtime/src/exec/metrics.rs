//! Execution metrics, CloudWatch's set for Step Functions: ExecutionsStarted,
//! ExecutionsSucceeded, ExecutionsFailed, ExecutionsTimedOut, ExecutionsAborted, ExecutionTime
//! (a histogram) and StateTransitions. Counters are relaxed atomics; read a snapshot, or the
//! Prometheus text format.

use crate::vm::Status;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Upper bounds of the ExecutionTime histogram buckets, in microseconds (then +Inf).
pub const TIME_BUCKETS_US: [u64; 12] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 10_000, 100_000];

#[derive(Default)]
pub struct Metrics {
    started: AtomicU64,
    succeeded: AtomicU64,
    failed: AtomicU64,
    timed_out: AtomicU64,
    aborted: AtomicU64,
    transitions: AtomicU64,
    time_buckets: [AtomicU64; TIME_BUCKETS_US.len() + 1],
    time_sum_ns: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricsSnapshot {
    pub executions_started: u64,
    pub executions_succeeded: u64,
    pub executions_failed: u64,
    pub executions_timed_out: u64,
    pub executions_aborted: u64,
    pub state_transitions: u64,
    /// Cumulative counts per bucket of [`TIME_BUCKETS_US`], then +Inf.
    pub execution_time_buckets: Vec<u64>,
    pub execution_time_sum_seconds: f64,
}

impl Metrics {
    pub(crate) fn started(&self) {
        self.started.fetch_add(1, Relaxed);
    }

    pub(crate) fn finished(&self, status: Status, elapsed: Duration, transitions: u64) {
        let counter = match status {
            Status::Succeeded => &self.succeeded,
            Status::Failed => &self.failed,
            Status::TimedOut => &self.timed_out,
            Status::Aborted => &self.aborted,
        };
        counter.fetch_add(1, Relaxed);
        self.transitions.fetch_add(transitions, Relaxed);
        let us = elapsed.as_micros() as u64;
        let bucket = TIME_BUCKETS_US.iter().position(|b| us <= *b).unwrap_or(TIME_BUCKETS_US.len());
        self.time_buckets[bucket].fetch_add(1, Relaxed);
        self.time_sum_ns.fetch_add(elapsed.as_nanos() as u64, Relaxed);
    }

    pub(crate) fn aborted(&self) {
        self.started.fetch_add(1, Relaxed);
        self.aborted.fetch_add(1, Relaxed);
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        let mut cumulative = 0;
        let execution_time_buckets = self
            .time_buckets
            .iter()
            .map(|b| {
                cumulative += b.load(Relaxed);
                cumulative
            })
            .collect();
        MetricsSnapshot {
            executions_started: self.started.load(Relaxed),
            executions_succeeded: self.succeeded.load(Relaxed),
            executions_failed: self.failed.load(Relaxed),
            executions_timed_out: self.timed_out.load(Relaxed),
            executions_aborted: self.aborted.load(Relaxed),
            state_transitions: self.transitions.load(Relaxed),
            execution_time_buckets,
            execution_time_sum_seconds: self.time_sum_ns.load(Relaxed) as f64 / 1e9,
        }
    }
}

impl MetricsSnapshot {
    /// The Prometheus text exposition format.
    pub fn prometheus(&self) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, v: u64| {
            out.push_str(&format!("# HELP aslrt_{name} {help}\n# TYPE aslrt_{name} counter\naslrt_{name} {v}\n"));
        };
        counter(
            &mut out,
            "executions_started_total",
            "Executions started (CloudWatch ExecutionsStarted).",
            self.executions_started,
        );
        counter(
            &mut out,
            "executions_succeeded_total",
            "Executions that succeeded (CloudWatch ExecutionsSucceeded).",
            self.executions_succeeded,
        );
        counter(
            &mut out,
            "executions_failed_total",
            "Executions that failed (CloudWatch ExecutionsFailed).",
            self.executions_failed,
        );
        counter(
            &mut out,
            "executions_timed_out_total",
            "Executions stopped by the 5-minute cap or TimeoutSeconds (CloudWatch ExecutionsTimedOut).",
            self.executions_timed_out,
        );
        counter(
            &mut out,
            "executions_aborted_total",
            "Executions aborted by shutdown_now (CloudWatch ExecutionsAborted).",
            self.executions_aborted,
        );
        counter(&mut out, "state_transitions_total", "State transitions, as AWS bills them.", self.state_transitions);
        out.push_str(
            "# HELP aslrt_execution_time_seconds Wall time from start to end of each execution (CloudWatch ExecutionTime).\n# TYPE aslrt_execution_time_seconds histogram\n",
        );
        for (i, count) in self.execution_time_buckets.iter().enumerate() {
            let le = TIME_BUCKETS_US.get(i).map_or("+Inf".to_owned(), |us| format!("{}", *us as f64 / 1e6));
            out.push_str(&format!("aslrt_execution_time_seconds_bucket{{le=\"{le}\"}} {count}\n"));
        }
        out.push_str(&format!("aslrt_execution_time_seconds_sum {}\n", self.execution_time_sum_seconds));
        out.push_str(&format!(
            "aslrt_execution_time_seconds_count {}\n",
            self.execution_time_buckets.last().copied().unwrap_or(0)
        ));
        out
    }
}
