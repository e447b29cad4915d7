//! `aslrt bench --async`: workflows whose Tasks wait, under a `Runtime`.
//!
//! - **Steps**: K sequential Task states (K = 1, 5, 20, 50) on one event, each Task's handler
//!   answering at once: asynchronously (the execution suspends at every Task and goes on when
//!   the answer comes), and, as the baseline measured in the same run, synchronously on the
//!   crate's `Value`. Both are submitted through `Runtime::submit` in windows; exec/s × K shows
//!   whether an async step costs the same at every K.
//! - **Concurrency**: N executions (default 100,000) submitted at once, each suspended in a
//!   Task whose handler sleeps 1 s, then the same in a 1 s Wait state: the time until every
//!   handler has started, until the first execution completes, and the resident memory per
//!   suspended execution (RSS sampled while all wait, less RSS before).

use crate::out::outln;
use aslrt::{AsyncFn, Handlers, Runtime, StateMachine, Status, TaskError, TaskHandler};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

pub struct Options {
    pub threads: usize,
    pub seconds: f64,
    pub in_flight: usize,
    pub json: bool,
}

const RESOURCE: &str = "arn:aws:states:::aslrt:step";

/// K Task states in a row, each putting its result at `$.step`.
fn chain(k: usize) -> String {
    let states: Vec<String> = (1..=k)
        .map(|i| {
            let next = if i == k { r#""End":true"#.to_owned() } else { format!(r#""Next":"T{}""#, i + 1) };
            format!(r#""T{i}":{{"Type":"Task","Resource":"{RESOURCE}","ResultPath":"$.step",{next}}}"#)
        })
        .collect();
    format!(r#"{{"StartAt":"T1","States":{{{}}}}}"#, states.join(","))
}

/// Answers `{"ok":true}` at once, on the crate's values.
struct Now;

impl TaskHandler for Now {
    fn invoke<'a>(&self, _: aslrt::Value<'a>, ctx: &aslrt::TaskContext<'a>) -> Result<aslrt::Value<'a>, TaskError> {
        use aslrt::ArenaExt;
        Ok(ctx.arena.object([("ok", aslrt::Value::Bool(true))]))
    }
}

fn compile(definition: &str, handlers: Handlers) -> Result<StateMachine, String> {
    StateMachine::builder().handlers(handlers).compile(definition).map_err(|e| e.to_string())
}

/// Counts completions; `wait_for` blocks until a number is reached.
#[derive(Default)]
struct Done {
    n: Mutex<usize>,
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
        let _ = self.first_ns.compare_exchange(0, t0.elapsed().as_nanos() as u64, Ordering::AcqRel, Ordering::Relaxed);
        let mut n = self.n.lock().unwrap_or_else(|p| p.into_inner());
        *n += 1;
        self.cv.notify_all();
    }

    fn wait_for(&self, target: usize) {
        let mut n = self.n.lock().unwrap_or_else(|p| p.into_inner());
        while *n < target {
            n = self.cv.wait(n).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// Executions per second of `machine` on `event` for about `seconds`, submitted in windows.
fn throughput(rt: &Runtime, machine: &StateMachine, event: &[u8], seconds: f64) -> Result<f64, String> {
    const WINDOW: usize = 20_000;
    let done = Arc::new(Done::default());
    let t0 = Instant::now();
    let mut submitted = 0;
    while submitted == 0 || t0.elapsed().as_secs_f64() < seconds {
        for _ in 0..WINDOW {
            let d = Arc::clone(&done);
            rt.submit(machine, event.to_vec(), move |o| d.add(o.status, t0));
        }
        submitted += WINDOW;
        done.wait_for(submitted);
    }
    let rate = submitted as f64 / t0.elapsed().as_secs_f64();
    match done.failed.load(Ordering::Relaxed) {
        0 => Ok(rate),
        n => Err(format!("{n} executions did not succeed")),
    }
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
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
        let finished = *done.n.lock().unwrap_or_else(|p| p.into_inner());
        if finished == n {
            break;
        }
        if finished == 0 {
            peak = peak.max(rss_bytes());
        }
        if let (None, Some(c)) = (started_s, started) {
            if c.load(Ordering::Relaxed) >= n {
                started_s = Some(t0.elapsed().as_secs_f64());
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

pub fn run(event: &[u8], event_name: &str, opts: &Options) -> Result<bool, String> {
    let rt = Runtime::new(opts.threads);
    let mut async_handlers = Handlers::new();
    async_handlers
        .insert_async(RESOURCE, AsyncFn(|_, _| async { Ok::<_, TaskError>(serde_json::json!({"ok": true})) }));
    let mut sync_handlers = Handlers::new();
    sync_handlers.insert(RESOURCE, Now);
    if !opts.json {
        outln!("async steps: {event_name} ({} B) as the event, {} worker threads", event.len(), opts.threads);
        outln!(
            "{:>3} {:>12} {:>12} {:>12} {:>12} {:>10}",
            "K",
            "sync exec/s",
            "async exec/s",
            "async × K",
            "async/sync",
            ""
        );
    }
    let mut base = None;
    for k in [1, 5, 20, 50] {
        let definition = chain(k);
        let sync = throughput(&rt, &compile(&definition, sync_handlers.clone())?, event, opts.seconds)?;
        let asyn = throughput(&rt, &compile(&definition, async_handlers.clone())?, event, opts.seconds)?;
        let scaled = asyn * k as f64;
        let base = *base.get_or_insert(scaled);
        if opts.json {
            outln!(
                "{}",
                serde_json::json!({"suite": "async-steps", "k": k, "threads": opts.threads,
                    "sync_exec_per_s": sync.round(), "async_exec_per_s": asyn.round(),
                    "async_steps_per_s": scaled.round(), "async_over_sync": (asyn / sync * 1000.0).round() / 1000.0,
                    "steps_per_s_vs_k1": (scaled / base * 1000.0).round() / 1000.0})
            );
        } else {
            outln!(
                "{k:>3} {sync:>12.0} {asyn:>12.0} {scaled:>12.0} {:>12.2} {:>10}",
                asyn / sync,
                format!("{:.2}× K=1", scaled / base)
            );
        }
    }
    let n = opts.in_flight;
    let started = Arc::new(AtomicUsize::new(0));
    let mut sleeping = Handlers::new();
    let counter = Arc::clone(&started);
    sleeping.insert_async(
        RESOURCE,
        AsyncFn(move |_, _| {
            counter.fetch_add(1, Ordering::Relaxed);
            async {
                tokio::time::sleep(Duration::from_secs(1)).await;
                Ok::<_, TaskError>(serde_json::json!({"ok": true}))
            }
        }),
    );
    let task = concurrency(&rt, &compile(&chain(1), sleeping)?, event, n, Some(&started))?;
    let wait = r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"End":true}}}"#;
    let wait = concurrency(&rt, &compile(wait, Handlers::new())?, event, n, None)?;
    for (what, c) in [("task sleeping 1 s", task), ("Wait 1 s", wait)] {
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
    }
    Ok(true)
}
