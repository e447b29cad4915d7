//! Execution metrics, CloudWatch's set for Step Functions: ExecutionsStarted,
//! ExecutionsSucceeded, ExecutionsFailed, ExecutionsTimedOut, ExecutionsAborted, ExecutionTime
//! (a histogram) and StateTransitions. Counters are relaxed atomics; read a snapshot, or the
//! Prometheus text format.

use crate::common::Status;
use crossbeam_utils::CachePadded;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Upper bounds of the ExecutionTime histogram buckets, in microseconds (then +Inf): from 1 µs
/// to Express's five minutes, so that waits and back-offs fall in a bucket of their own.
pub const TIME_BUCKETS_US: [u64; 16] =
    [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 60_000_000, 300_000_000];

/// The counters, one shard per worker and one for executions run on callers' threads, each on
/// its own cache line: workers never contend for a counter. A snapshot sums the shards.
pub struct Metrics {
    shards: Box<[CachePadded<Shard>]>,
}

/// Prints the counters' sums, as a [`MetricsSnapshot`] taken now.
impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Metrics").field(&self.snapshot()).finish()
    }
}

/// One writer's counters. A worker's shard has a single writer, so it adds with a plain load
/// and store; the callers' shard is shared and adds atomically.
pub(crate) struct Shard {
    shared: bool,
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
    /// ExecutionsStarted.
    pub executions_started: u64,
    /// ExecutionsSucceeded.
    pub executions_succeeded: u64,
    /// ExecutionsFailed.
    pub executions_failed: u64,
    /// ExecutionsTimedOut.
    pub executions_timed_out: u64,
    /// ExecutionsAborted.
    pub executions_aborted: u64,
    /// StateTransitions, over every execution.
    pub state_transitions: u64,
    /// ExecutionTime: cumulative counts per bucket of [`TIME_BUCKETS_US`], then +Inf.
    pub execution_time_buckets: Vec<u64>,
    /// ExecutionTime: the sum of every execution's time, in seconds.
    pub execution_time_sum_seconds: f64,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new(0)
    }
}

impl Shard {
    fn new(shared: bool) -> Shard {
        Shard {
            shared,
            started: AtomicU64::new(0),
            succeeded: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            timed_out: AtomicU64::new(0),
            aborted: AtomicU64::new(0),
            transitions: AtomicU64::new(0),
            time_buckets: Default::default(),
            time_sum_ns: AtomicU64::new(0),
        }
    }

    #[inline]
    fn add(&self, counter: &AtomicU64, n: u64) {
        if self.shared {
            counter.fetch_add(n, Relaxed);
        } else {
            counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
        }
    }

    pub(crate) fn started(&self) {
        self.add(&self.started, 1);
    }

    pub(crate) fn finished(&self, status: Status, elapsed: Duration, transitions: u64) {
        let counter = match status {
            Status::Succeeded => &self.succeeded,
            Status::Failed => &self.failed,
            Status::TimedOut => &self.timed_out,
            Status::Aborted => &self.aborted,
        };
        self.add(counter, 1);
        self.add(&self.transitions, transitions);
        let us = elapsed.as_micros() as u64;
        let bucket = TIME_BUCKETS_US.iter().position(|b| us <= *b).unwrap_or(TIME_BUCKETS_US.len());
        self.add(&self.time_buckets[bucket], 1);
        self.add(&self.time_sum_ns, elapsed.as_nanos() as u64);
    }

    pub(crate) fn aborted(&self) {
        self.add(&self.started, 1);
        self.add(&self.aborted, 1);
    }
}

impl Metrics {
    /// Counters for `workers` single-writer shards (indices 1..=workers) and the shared one (0).
    pub(crate) fn new(workers: usize) -> Metrics {
        Metrics { shards: (0..=workers).map(|i| CachePadded::new(Shard::new(i == 0))).collect() }
    }

    /// The shard of worker `index` (1-based), or the shared one for 0.
    pub(crate) fn shard(&self, index: usize) -> &Shard {
        &self.shards[index.min(self.shards.len() - 1)]
    }

    /// The counters now, summed over the workers.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let sum = |f: fn(&Shard) -> &AtomicU64| self.shards.iter().map(|s| f(s).load(Relaxed)).sum::<u64>();
        let mut cumulative = 0;
        let execution_time_buckets = (0..=TIME_BUCKETS_US.len())
            .map(|i| {
                cumulative += self.shards.iter().map(|s| s.time_buckets[i].load(Relaxed)).sum::<u64>();
                cumulative
            })
            .collect();
        MetricsSnapshot {
            executions_started: sum(|s| &s.started),
            executions_succeeded: sum(|s| &s.succeeded),
            executions_failed: sum(|s| &s.failed),
            executions_timed_out: sum(|s| &s.timed_out),
            executions_aborted: sum(|s| &s.aborted),
            state_transitions: sum(|s| &s.transitions),
            execution_time_buckets,
            execution_time_sum_seconds: sum(|s| &s.time_sum_ns) as f64 / 1e9,
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
