//! `aslrt bench --async`: workflows whose Tasks wait, under a `Runtime`.
//!
//! - **Steps**: K sequential Task states (K = 1, 5, 20, 50) on one event, submitted through
//!   `Runtime::submit` in windows; each figure is the median of three rounds taken in
//!   turns. The baseline, measured in the same run: a synchronous handler on the crate's
//!   `Value`. Against it, `AsyncTextFn` handlers that answer at once (their future is ready
//!   when first polled, so nothing suspends), and ones that yield once first (the execution
//!   suspends at every Task and resumes when the answer comes); exec/s × K shows whether a
//!   step costs the same at every K.
//! - **Glue**: on one thread, K = 20 Tasks with a synchronous handler on `Value`, on JSON text
//!   (`TextFn`) and on serde_json values (`JsonFn`), each answering the same small object: the
//!   difference per step is what the text or serde_json handling costs.
//! - **Concurrency**: N executions (default 100,000) submitted at once, each suspended in a
//!   Task whose handler holds its input and sleeps 1 s; then held until all N have started;
//!   then in a 1 s Wait state: the time until every handler has started, until the first
//!   execution completes, and the resident memory per suspended execution (the highest RSS
//!   sampled before the first completion, less RSS before). Only the held run has all N
//!   suspended at once whatever the start-up takes: its figure is the memory per execution.

use crate::out::outln;
use aslrt::{AsyncTextFn, Handlers, Runtime, Scratch, StateMachine, Status, TaskError};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

pub struct Options {
    pub threads: usize,
    pub seconds: f64,
    pub in_flight: usize,
    pub json: bool,
    /// The parts to run (see [`PARTS`]). One alone per process gives the cleanest memory
    /// figure: the allocator keeps what earlier parts freed.
    pub parts: Vec<String>,
    /// The runtime's `max_queued_bytes` (`None`: no bound).
    pub max_queued_bytes: Option<usize>,
}

/// Every part of the suite, in the order they run.
pub const PARTS: [&str; 5] = ["glue", "steps", "sleeping", "held", "wait"];

impl Options {
    fn wants(&self, part: &str) -> bool {
        self.parts.iter().any(|p| p == part)
    }
}

use aslrt_benches::{task_chain as chain, AnswerOk as Now, STEP_RESOURCE as RESOURCE};

fn compile(definition: &str, handlers: Handlers) -> Result<StateMachine, String> {
    StateMachine::builder().handlers(handlers).compile(definition).map_err(|e| e.to_string())
}

/// Counts completions; `wait_for` blocks until a number is reached. A completion costs one
/// atomic add (the lock is taken only by the one that reaches the target), so the harness adds
/// little to an execution's fixed cost.
#[derive(Default)]
struct Done {
    n: AtomicUsize,
    target: AtomicUsize,
    lock: Mutex<()>,
    cv: Condvar,
    failed: AtomicUsize,
    /// Nanoseconds from `t0` to the first completion.
    first_ns: AtomicU64,
}

impl Done {
    fn add(&self, status: Status, t0: Instant) {
        if status != Status::Succeeded {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        if self.first_ns.load(Ordering::Relaxed) == 0 {
            let at = (t0.elapsed().as_nanos() as u64).max(1);
            let _ = self.first_ns.compare_exchange(0, at, Ordering::AcqRel, Ordering::Relaxed);
        }
        let n = self.n.fetch_add(1, Ordering::AcqRel) + 1;
        // Only the completion that reaches the target (a waiter that comes later finds it
        // reached; the wait's timeout covers a race between the two).
        if n == self.target.load(Ordering::Acquire) {
            let _guard = self.lock.lock();
            self.cv.notify_all();
        }
    }

    fn finished(&self) -> usize {
        self.n.load(Ordering::Acquire)
    }

    fn wait_for(&self, target: usize) {
        self.target.store(target, Ordering::Release);
        let mut guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        while self.finished() < target {
            guard = self.cv.wait_timeout(guard, Duration::from_millis(10)).unwrap_or_else(|p| p.into_inner()).0;
        }
    }
}

/// Executions per second of `machine` on `event` for about `seconds`: between 10,000 and
/// 20,000 in flight throughout, topped up as they finish, so that the pool never drains
/// between rounds (a drained pool charged a short execution with its idle tail). The rate
/// counts what finished from the first submission to the last completion.
fn throughput(rt: &Runtime, machine: &StateMachine, event: &[u8], seconds: f64) -> Result<f64, String> {
    const HIGH: usize = 20_000;
    const LOW: usize = 10_000;
    let done = Arc::new(Done::default());
    let t0 = Instant::now();
    let mut submitted = 0;
    while submitted == 0 || t0.elapsed().as_secs_f64() < seconds {
        // At most HIGH per round: with executions that do not suspend, the runtime's bound on
        // the queue of those not yet started keeps fewer than HIGH in flight.
        for _ in submitted - done.finished()..HIGH {
            let d = Arc::clone(&done);
            rt.submit(machine, event.to_vec(), move |o| d.add(o.status, t0));
            submitted += 1;
        }
        done.wait_for(submitted.saturating_sub(LOW));
    }
    done.wait_for(submitted);
    let rate = submitted as f64 / t0.elapsed().as_secs_f64();
    match done.failed.load(Ordering::Relaxed) {
        0 => Ok(rate),
        n => Err(format!("{n} executions did not succeed")),
    }
}

/// A field of `/proc/self/status` given in kB (`VmRSS`, `VmHWM`), in bytes.
fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.strip_prefix(field).is_some_and(|rest| rest.starts_with(':')))?;
    line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kb| kb * 1024)
}

fn rss_bytes() -> u64 {
    status_bytes("VmRSS").unwrap_or(0)
}

struct Concurrency {
    started_s: Option<f64>,
    first_s: f64,
    all_s: f64,
    bytes_per: f64,
}

/// `n` executions of `machine` submitted at once; `started` counts handlers called.
fn concurrency(
    rt: &Runtime,
    machine: &StateMachine,
    event: &[u8],
    n: usize,
    started: Option<&AtomicUsize>,
    release: Option<&dyn Fn()>,
) -> Result<Concurrency, String> {
    let before = rss_bytes();
    let done = Arc::new(Done::default());
    let t0 = Instant::now();
    for _ in 0..n {
        let d = Arc::clone(&done);
        rt.submit(machine, event.to_vec(), move |o| d.add(o.status, t0));
    }
    let mut started_s = None;
    let mut peak = rss_bytes();
    loop {
        let finished = done.finished();
        if finished == n {
            break;
        }
        if finished == 0 {
            peak = peak.max(rss_bytes());
        }
        if let (None, Some(c)) = (started_s, started) {
            if c.load(Ordering::Relaxed) >= n {
                started_s = Some(t0.elapsed().as_secs_f64());
                if let Some(release) = release {
                    // Every execution is suspended now: one last sample, then let them go.
                    std::thread::sleep(Duration::from_millis(100));
                    peak = peak.max(rss_bytes());
                    release();
                }
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let all_s = t0.elapsed().as_secs_f64();
    if done.failed.load(Ordering::Relaxed) > 0 {
        return Err(format!("{} executions did not succeed", done.failed.load(Ordering::Relaxed)));
    }
    Ok(Concurrency {
        started_s,
        first_s: done.first_ns.load(Ordering::Relaxed) as f64 / 1e9,
        all_s,
        bytes_per: peak.saturating_sub(before) as f64 / n as f64,
    })
}

/// ns per execution of `machine` on one thread over about `seconds`.
fn ns_per_exec(machine: &StateMachine, event: &[u8], seconds: f64) -> Result<f64, String> {
    let mut scratch = Scratch::new();
    let status = machine.execute(&mut scratch, event).status;
    if status != Status::Succeeded {
        return Err(format!("the glue workload ended {status:?}"));
    }
    let (mut n, t0) = (0u64, Instant::now());
    while t0.elapsed().as_secs_f64() < seconds {
        for _ in 0..64 {
            std::hint::black_box(machine.execute(&mut scratch, event).status);
        }
        n += 64;
    }
    Ok(t0.elapsed().as_nanos() as f64 / n as f64)
}

fn glue(event: &[u8], opts: &Options) -> Result<(), String> {
    const K: usize = 20;
    let definition = chain(K);
    let mut machines = Vec::new();
    for (what, handlers) in aslrt_benches::glue_handlers() {
        machines.push((what, compile(&definition, handlers)?));
    }
    // In turns, three rounds, the best of each: the same drift for all.
    let mut best = [f64::MAX; 3];
    for _ in 0..3 {
        for (i, (_, m)) in machines.iter().enumerate() {
            best[i] = best[i].min(ns_per_exec(m, event, opts.seconds / 3.0)?);
        }
    }
    for (i, (what, _)) in machines.iter().enumerate() {
        let per_step = (best[i] - best[0]) / K as f64;
        if opts.json {
            outln!(
                "{}",
                serde_json::json!({"suite": "handler-glue", "handler": what, "k": K, "threads": 1,
                    "ns_per_exec": best[i].round(), "glue_ns_per_step": per_step.round()})
            );
        } else {
            outln!(
                "glue, {K} Tasks on one thread: {what:<6} {:>9.0} ns/exec, {per_step:>6.0} ns per step more than Value",
                best[i]
            );
        }
    }
    Ok(())
}

pub fn run(event: &[u8], event_name: &str, opts: &Options) -> Result<bool, String> {
    if let Some(unknown) = opts.parts.iter().find(|p| !PARTS.contains(&p.as_str())) {
        return Err(format!("unknown part {unknown:?} of the async suite (parts: {})", PARTS.join(", ")));
    }
    if opts.wants("glue") {
        glue(event, opts)?;
    }
    // By default a burst of submissions waits in the submitter, not in memory, as a host that
    // submits in bursts would configure it.
    let mut builder = Runtime::builder().threads(opts.threads);
    if let Some(bytes) = opts.max_queued_bytes {
        builder = builder.max_queued_bytes(bytes);
    }
    let rt = builder.build().map_err(|e| e.to_string())?;
    if opts.wants("steps") {
        steps(&rt, event, event_name, opts)?;
    }
    concurrency_parts(&rt, event, opts)?;
    if let Some(peak) = status_bytes("VmHWM") {
        match opts.json {
            true => outln!(
                "{}",
                serde_json::json!({"suite": "async", "peak_rss_bytes": peak,
                    "max_queued_bytes": opts.max_queued_bytes})
            ),
            false => outln!(
                "peak RSS of this process: {:.0} MiB (max_queued_bytes: {})",
                peak as f64 / (1024.0 * 1024.0),
                opts.max_queued_bytes.map_or("none".to_owned(), |n| n.to_string())
            ),
        }
    }
    Ok(true)
}

fn steps(rt: &Runtime, event: &[u8], event_name: &str, opts: &Options) -> Result<(), String> {
    let text_handlers = |yields: bool| {
        let mut h = Handlers::new();
        h.insert_async(
            RESOURCE,
            AsyncTextFn(move |_, _| async move {
                if yields {
                    tokio::task::yield_now().await;
                }
                Ok::<_, TaskError>(r#"{"ok":true}"#.to_owned())
            }),
        );
        h
    };
    let mut sync_handlers = Handlers::new();
    sync_handlers.insert(RESOURCE, Now);
    if !opts.json {
        outln!(
            "async steps: {event_name} ({} B) as the event, {} worker threads, medians of {ROUNDS} rounds",
            event.len(),
            opts.threads
        );
        outln!(
            "{:>3} {:>12} {:>12} {:>10} {:>12} {:>12} {:>10} {:>14}",
            "K",
            "sync exec/s",
            "at once",
            "÷ sync",
            "suspending",
            "× K",
            "vs K=1",
            "µs/extra step"
        );
    }
    const KS: [usize; 4] = [1, 5, 20, 50];
    let mut machines = Vec::new();
    for k in KS {
        let definition = chain(k);
        machines.push([
            compile(&definition, sync_handlers.clone())?,
            compile(&definition, text_handlers(false))?,
            compile(&definition, text_handlers(true))?,
        ]);
    }
    // Every figure is the median of ROUNDS, taken in turns (each K's three kinds, then the
    // next K, then the next round): this machine's speed shifts by up to a third over
    // seconds, and rows measured one after another would carry those shifts into × K.
    let mut samples = vec![[const { Vec::new() }; 3]; KS.len()];
    for _ in 0..ROUNDS {
        for (kinds, row) in machines.iter().zip(&mut samples) {
            for (machine, figures) in kinds.iter().zip(row.iter_mut()) {
                figures.push(throughput(rt, machine, event, opts.seconds)?);
            }
        }
    }
    let mut base = None;
    // The wall time per execution one more suspending step adds, from the row before: flat
    // when the cost is linear in K, growing with K when it is not.
    let mut before: Option<(usize, f64)> = None;
    for (k, row) in KS.into_iter().zip(&mut samples) {
        let [sync, now, later] = row.each_mut().map(|figures| median(figures));
        let scaled = later * k as f64;
        let base = *base.get_or_insert(scaled);
        let us = 1e6 / later;
        let per_step = before.map(|(k0, us0)| (us - us0) / (k - k0) as f64);
        before = Some((k, us));
        if opts.json {
            outln!(
                "{}",
                serde_json::json!({"suite": "async-steps", "k": k, "threads": opts.threads, "rounds": ROUNDS,
                    "sync_exec_per_s": sync.round(), "at_once_exec_per_s": now.round(),
                    "at_once_over_sync": (now / sync * 1000.0).round() / 1000.0,
                    "suspending_exec_per_s": later.round(), "suspending_steps_per_s": scaled.round(),
                    "steps_per_s_vs_k1": (scaled / base * 1000.0).round() / 1000.0,
                    "us_per_extra_step": per_step.map(|v| (v * 100.0).round() / 100.0)})
            );
        } else {
            outln!(
                "{k:>3} {sync:>12.0} {now:>12.0} {:>10.2} {later:>12.0} {scaled:>12.0} {:>10.2} {:>14}",
                now / sync,
                scaled / base,
                per_step.map_or("-".to_owned(), |v| format!("{v:.2}"))
            );
        }
    }
    Ok(())
}

/// Rounds of the steps part (see `steps`).
const ROUNDS: usize = 3;

fn median(figures: &mut [f64]) -> f64 {
    figures.sort_by(f64::total_cmp);
    figures[figures.len() / 2]
}

fn concurrency_parts(rt: &Runtime, event: &[u8], opts: &Options) -> Result<(), String> {
    let n = opts.in_flight;
    let report = |what: &str, c: Concurrency| {
        if opts.json {
            outln!(
                "{}",
                serde_json::json!({"suite": "async-concurrency", "what": what, "in_flight": n,
                    "handlers_started_s": c.started_s, "first_completion_s": c.first_s,
                    "all_completed_s": c.all_s, "bytes_per_suspended": c.bytes_per.round()})
            );
        } else {
            outln!(
                "{n} in flight, {what}: handlers started in {}, first completion at {:.3} s, all at {:.3} s, {:.0} B per suspended execution",
                c.started_s.map_or("-".to_owned(), |s| format!("{s:.3} s")),
                c.first_s,
                c.all_s,
                c.bytes_per
            );
        }
    };
    if opts.wants("sleeping") {
        let started = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&started);
        let mut sleeping = Handlers::new();
        // Holds its input while it sleeps, and answers with it, as a handler that sends the
        // input on and gets as much back would.
        sleeping.insert_async(
            RESOURCE,
            AsyncTextFn(move |input: String, _| {
                counter.fetch_add(1, Ordering::Relaxed);
                async move {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    Ok::<_, TaskError>(input)
                }
            }),
        );
        let machine = compile(&chain(1), sleeping)?;
        report("task sleeping 1 s", concurrency(rt, &machine, event, n, Some(&started), None)?);
    }
    if opts.wants("held") {
        // The same handler, held until all `n` have started, so that all are suspended at once
        // whatever the time it takes to start them: the memory figure.
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let (held, g) = (Arc::new(AtomicUsize::new(0)), Arc::clone(&gate));
        let counter = Arc::clone(&held);
        let mut holding = Handlers::new();
        holding.insert_async(
            RESOURCE,
            AsyncTextFn(move |input: String, _| {
                counter.fetch_add(1, Ordering::Relaxed);
                let gate = Arc::clone(&g);
                async move {
                    let _ = gate.acquire().await.map(tokio::sync::SemaphorePermit::forget);
                    Ok::<_, TaskError>(input)
                }
            }),
        );
        let release = || gate.add_permits(n);
        let machine = compile(&chain(1), holding)?;
        report("task held until all started", concurrency(rt, &machine, event, n, Some(&held), Some(&release))?);
    }
    if opts.wants("wait") {
        let wait = r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"End":true}}}"#;
        report("Wait 1 s", concurrency(rt, &compile(wait, Handlers::new())?, event, n, None, None)?);
    }
    Ok(())
}
