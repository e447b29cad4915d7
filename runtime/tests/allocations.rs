//! Zero heap allocations per execution in steady state: events are parsed into reused buffers,
//! values live in the per-worker arena (reset per execution), output goes into a reused buffer.
//! A counting global allocator in this test binary checks it on the benchmark workloads and the
//! bundled example.

mod support;

use aslrt::internal::handler::Echo;
use aslrt::{Handlers, Scratch, StateMachine, Status};
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static COUNTING: AtomicBool = AtomicBool::new(false);

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller upholds `alloc`'s contract, which System's shares.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: as for `dealloc`, and `new_size` is the caller's valid size.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Heap allocations per execution after warm-up, over `runs` executions.
fn allocations_per_execution(definition: &str, event: &[u8], handlers: Handlers) -> usize {
    let machine =
        StateMachine::builder().handlers(handlers).clock(aslrt::Clock::ZeroDelay).compile(definition).unwrap();
    let mut scratch = Scratch::new();
    for _ in 0..3 {
        assert_eq!(machine.execute(&mut scratch, event).status, Status::Succeeded);
    }
    let runs = 100;
    ALLOCATIONS.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::Relaxed);
    for _ in 0..runs {
        let run = machine.execute(&mut scratch, event);
        assert_eq!(run.status, Status::Succeeded);
    }
    COUNTING.store(false, Ordering::Relaxed);
    ALLOCATIONS.load(Ordering::Relaxed) / runs
}

#[test]
fn no_heap_allocation_per_execution() {
    // One test, so that no other test thread allocates while counting.
    let mut cases: Vec<(String, String, Vec<u8>)> = vec![(
        "examples/order-routing".into(),
        std::fs::read_to_string(root().join("examples/order-routing/definition.asl.json")).unwrap(),
        std::fs::read(root().join("examples/order-routing/input.json")).unwrap(),
    )];
    // None only when ASLRT_ALLOW_MISSING_CORPUS=1 said to skip a missing folder; a folder that
    // exists must hold every workload.
    let workloads = [
        "w1-pass",
        "w2-etl-event",
        "w3-map-parallel",
        "w4-retry-catch",
        "w4-retry-catch-fail",
        "w5-jsonata",
        "w6-large",
    ];
    if let Some(bench) = support::bench_dir() {
        for w in workloads {
            let dir = bench.join(w);
            let read =
                |f: &str| std::fs::read(dir.join(f)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(f).display()));
            cases.push((w.into(), String::from_utf8(read("definition.asl.json")).unwrap(), read("input.json")));
        }
    }
    for (name, definition, event) in cases {
        let mut handlers = aslrt_benches::bench_handlers();
        handlers.insert("arn:aws:states:::local:quote", Echo);
        let n = allocations_per_execution(&definition, &event, handlers);
        assert_eq!(n, 0, "{name}: {n} heap allocations per execution");
    }
}
