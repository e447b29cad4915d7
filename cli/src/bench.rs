//! `aslrt bench`: the workloads of `shared/bench`, timed against the "physical limit" floor
//! measured in the same run (parse the input with simd-json into a reused tape, serialize a value
//! the size of the expected output into a reused buffer), as that folder's README prescribes.

use crate::out::outln;
use aslrt::{Scratch, StateMachine, Status};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// mimalloc, counting allocations while `COUNTING` is set (only the bench reads the count).
pub struct CountingMimalloc;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static COUNTING: AtomicBool = AtomicBool::new(false);

// SAFETY: every call is forwarded unchanged to mimalloc, which upholds GlobalAlloc's contract.
unsafe impl std::alloc::GlobalAlloc for CountingMimalloc {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: `ptr` came from mimalloc with this layout.
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: as for `dealloc`; `new_size` is the caller's.
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
    }
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) }
    }
}

pub struct Options {
    pub threads: usize,
    pub seconds: f64,
    pub json: bool,
    /// Time the unoptimised reference program instead.
    pub optimize: bool,
}

/// A workload (`aslrt_benches::load`, which the criterion benches read them with too) and its
/// compiled machine.
struct Workload {
    data: aslrt_benches::Workload,
    machine: StateMachine,
}

/// One row: a workload on a number of threads.
struct Row {
    workload: String,
    threads: usize,
    /// Executions per second, all threads together: min / median / max of the runs.
    exec_per_s: Spread,
    ns_per_exec: f64,
    floor_ns: f64,
    ratio: f64,
    allocs_per_exec: f64,
    output_ok: bool,
}

fn workloads(dirs: &[String], optimize: bool) -> Result<Vec<Workload>, String> {
    let mut found: Vec<PathBuf> = Vec::new();
    for d in dirs {
        let p = PathBuf::from(d);
        if p.join("definition.asl.json").is_file() {
            found.push(p);
        } else {
            let mut inner: Vec<PathBuf> = std::fs::read_dir(&p)
                .map_err(|e| format!("{d}: {e}"))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join("definition.asl.json").is_file())
                .collect();
            inner.sort();
            found.extend(inner);
        }
    }
    if found.is_empty() {
        return Err("no workload (a folder with definition.asl.json) under the given paths".into());
    }
    found.iter().map(|p| load(p, optimize)).collect()
}

/// The event of the suspension suite (`aslrt bench --async`): the input of the first workload
/// named like `w2…`, else of the first; with the workload's name.
pub fn async_event(dirs: &[String]) -> Result<(String, Vec<u8>), String> {
    let found = workloads(dirs, true)?;
    let w = found.iter().find(|w| w.data.name.starts_with("w2")).unwrap_or(&found[0]);
    Ok((w.data.name.clone(), w.data.input.clone()))
}

/// A workload folder: the `shared/bench` layout, whose Tasks get that README's host handlers
/// (echo, flaky, always-fail), plus an optional `handlers.json` in the form `--handlers` takes.
fn load(dir: &Path, optimize: bool) -> Result<Workload, String> {
    let data = aslrt_benches::load(dir)?;
    let mut handlers = aslrt_benches::bench_handlers();
    let file = dir.join("handlers.json");
    if file.is_file() {
        let name = file.display().to_string();
        let text = std::fs::read_to_string(&file).map_err(|e| format!("{name}: {e}"))?;
        crate::handlers::add_file(&mut handlers, &name, &text)?;
    }
    let machine = aslrt_benches::try_compile_with_handlers(&data, handlers, optimize)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(Workload { data, machine })
}

/// Minimum, median and maximum of five runs.
#[derive(Clone, Copy)]
struct Spread {
    min: f64,
    median: f64,
    max: f64,
}

const RUNS: usize = 5;

impl Spread {
    fn of(mut runs: [f64; RUNS]) -> Spread {
        runs.sort_by(|a, b| a.total_cmp(b));
        Spread { min: runs[0], median: runs[RUNS / 2], max: runs[RUNS - 1] }
    }

    /// The same runs as rates: `1e9 / ns`, so the slowest run is the minimum.
    fn per_second(self) -> Spread {
        Spread { min: 1e9 / self.max, median: 1e9 / self.median, max: 1e9 / self.min }
    }
}

/// One of the five runs that `seconds` of measurement is split into: at least 100 ms.
fn run_length(seconds: f64) -> Duration {
    Duration::from_secs_f64((seconds / RUNS as f64).max(0.1))
}

/// ns per call of `f` over `run_for`, in batches of 16.
fn ns_per_call(run_for: Duration, f: &mut impl FnMut()) -> f64 {
    let (mut n, t) = (0u64, Instant::now());
    while t.elapsed() < run_for {
        for _ in 0..16 {
            f();
        }
        n += 16;
    }
    t.elapsed().as_nanos() as f64 / n as f64
}

/// The floor and the runtime on one thread, measured in turns: after a 0.5 s warm-up of each,
/// five rounds of one run of each (≥ 100 ms, `seconds / 5` in all), so that all see the same
/// drift of this machine. The floor is timed as two copies of its code (inlined here, and
/// compiled on its own), whose times differ by up to 20 % with code layout alone; the faster
/// copy is the floor. Returns (floor, runtime) ns per execution.
fn floor_and_runtime(
    seconds: f64,
    mut floor: impl FnMut(),
    mut floor_copy: impl FnMut(),
    mut runtime: impl FnMut(),
) -> (Spread, Spread) {
    for f in [&mut floor as &mut dyn FnMut(), &mut floor_copy, &mut runtime] {
        let warm = Instant::now();
        while warm.elapsed() < Duration::from_millis(500) {
            f();
        }
    }
    let run_for = run_length(seconds);
    let (mut floors, mut copies, mut runs) = ([0.0; RUNS], [0.0; RUNS], [0.0; RUNS]);
    for i in 0..RUNS {
        floors[i] = ns_per_call(run_for, &mut floor);
        copies[i] = ns_per_call(run_for, &mut floor_copy);
        runs[i] = ns_per_call(run_for, &mut runtime);
    }
    let (a, b) = (Spread::of(floors), Spread::of(copies));
    (if a.median <= b.median { a } else { b }, Spread::of(runs))
}

/// The floor (`aslrt_benches::Floor`, shared with the criterion benches: simd-json parse of the
/// input into reused buffers and tape, and serialization of a value the size of the expected
/// output into a reused buffer) and one thread of the runtime, in turns; with the runtime's
/// heap allocations per execution in steady state.
fn single(w: &Workload, seconds: f64) -> Result<(Spread, Spread, f64), String> {
    let floor =
        || aslrt_benches::Floor::new(&w.data.input, &w.data.expected).map_err(|e| format!("{}: {e}", w.data.name));
    let (mut floor, mut copy) = (floor()?, floor()?);
    let mut scratch = Scratch::new();
    let (floor_ns, ns) = floor_and_runtime(
        seconds,
        || {
            std::hint::black_box(floor.run());
        },
        || {
            std::hint::black_box(copy.run_outlined());
        },
        || {
            std::hint::black_box(w.machine.execute(&mut scratch, &w.data.input).status);
        },
    );
    let runs = 1000;
    ALLOCATIONS.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::Relaxed);
    for _ in 0..runs {
        std::hint::black_box(w.machine.execute(&mut scratch, &w.data.input).status);
    }
    COUNTING.store(false, Ordering::Relaxed);
    Ok((floor_ns, ns, ALLOCATIONS.load(Ordering::Relaxed) as f64 / runs as f64))
}

fn output_ok(w: &Workload) -> bool {
    let mut scratch = Scratch::new();
    let run = w.machine.execute(&mut scratch, &w.data.input);
    let (Some(out), Status::Succeeded) = (run.output, run.status) else { return false };
    aslrt_benches::same_json(out.as_bytes(), &w.data.expected)
}

/// ns per execution with `threads` workers, each with its own scratch: five runs of
/// `seconds / 5` (at least 100 ms each).
fn parallel(w: &Workload, threads: usize, seconds: f64) -> Spread {
    let run_for = run_length(seconds);
    let mut runs = [0.0; RUNS];
    for run in runs.iter_mut() {
        let stop = AtomicBool::new(false);
        let total = AtomicUsize::new(0);
        let started = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    let mut scratch = Scratch::new();
                    let mut n = 0usize;
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..16 {
                            std::hint::black_box(w.machine.execute(&mut scratch, &w.data.input).status);
                        }
                        n += 16;
                    }
                    total.fetch_add(n, Ordering::Relaxed);
                });
            }
            std::thread::sleep(run_for);
            stop.store(true, Ordering::Relaxed);
        });
        *run = started.elapsed().as_nanos() as f64 / total.load(Ordering::Relaxed).max(1) as f64;
    }
    Spread::of(runs)
}

pub fn run(dirs: &[String], opts: &Options) -> Result<bool, String> {
    let loaded = workloads(dirs, opts.optimize)?;
    if !opts.json {
        let model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| {
                c.lines()
                    .find(|l| l.starts_with("model name"))
                    .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".into());
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        outln!(
            "machine: {cores} cores, {model}; allocator: mimalloc; simd-json: {}; build: {} ({}); retry clock: zero-delay; program: {}",
            aslrt::internal::value::simd_implementation(),
            if cfg!(debug_assertions) { "debug" } else { "release, thin LTO" },
            // AVX2 compiled in means a `target-cpu` (or `target-feature`) flag; without one the
            // build targets baseline x86-64 and simd-json picks its parser at run time.
            if cfg!(target_feature = "avx2") { "AVX2 compiled in" } else { "no target-cpu flags" },
            if opts.optimize { "optimised" } else { "unoptimised reference (--no-optimize)" }
        );
        outln!(
            "exec/s: median of {RUNS} runs (min–max); per core: exec/s ÷ threads; ratio: ns/exec × threads ÷ floor ns"
        );
        outln!(
            "{:<22} {:>7} {:>12} {:>23} {:>11} {:>10} {:>10} {:>6} {:>11} {:>6}",
            "workload",
            "threads",
            "exec/s",
            "(min–max)",
            "per core",
            "ns/exec",
            "floor ns",
            "ratio",
            "allocs/exec",
            "output"
        );
    }
    let mut all_ok = true;
    for w in &loaded {
        let ok = output_ok(w);
        all_ok &= ok;
        if !ok {
            eprintln!("{}: the output does not equal expected-output.json; not reported", w.data.name);
            continue;
        }
        let (floor, ns, allocs) = single(w, opts.seconds)?;
        let floor = floor.median;
        let mut rows = vec![Row {
            workload: w.data.name.clone(),
            threads: 1,
            exec_per_s: ns.per_second(),
            ns_per_exec: ns.median,
            floor_ns: floor,
            ratio: ns.median / floor,
            allocs_per_exec: allocs,
            output_ok: ok,
        }];
        if opts.threads > 1 {
            let ns_n = parallel(w, opts.threads, opts.seconds);
            rows.push(Row {
                workload: w.data.name.clone(),
                threads: opts.threads,
                exec_per_s: ns_n.per_second(),
                ns_per_exec: ns_n.median,
                floor_ns: floor,
                // The cost per core.
                ratio: ns_n.median * opts.threads as f64 / floor,
                allocs_per_exec: allocs,
                output_ok: ok,
            });
        }
        for r in rows {
            let per_core = r.exec_per_s.median / r.threads as f64;
            if opts.json {
                outln!(
                    "{}",
                    serde_json::json!({
                        "workload": r.workload, "threads": r.threads, "exec_per_s": r.exec_per_s.median.round(),
                        "exec_per_s_min": r.exec_per_s.min.round(), "exec_per_s_max": r.exec_per_s.max.round(),
                        "exec_per_s_per_core": per_core.round(),
                        "ns_per_exec": (r.ns_per_exec * 10.0).round() / 10.0, "floor_ns": (r.floor_ns * 10.0).round() / 10.0,
                        "ratio": (r.ratio * 1000.0).round() / 1000.0, "allocs_per_exec": r.allocs_per_exec, "output_ok": r.output_ok
                    })
                );
            } else {
                outln!(
                    "{:<22} {:>7} {:>12.0} {:>23} {:>11.0} {:>10.1} {:>10.1} {:>6.2} {:>11.2} {:>6}",
                    r.workload,
                    r.threads,
                    r.exec_per_s.median,
                    format!("({:.0}–{:.0})", r.exec_per_s.min, r.exec_per_s.max),
                    per_core,
                    r.ns_per_exec,
                    r.floor_ns,
                    r.ratio,
                    r.allocs_per_exec,
                    if r.output_ok { "ok" } else { "WRONG" }
                );
            }
        }
    }
    Ok(all_ok)
}
