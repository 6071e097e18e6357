//! `Graph::run` performs zero heap allocations after planning: a counting global allocator
//! (this test binary only) counts every `alloc`/`realloc` made while armed.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use sepconv::dispatch::Isa;
use sepconv::graph::{Graph, GraphOptions, Model};
use sepconv::models::{Builtin, DEFAULT_SEED};
use sepconv::onnx::load_model_file;

struct Counting;

static ARMED: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so `System`'s
// guarantees hold; the counter is a relaxed atomic that allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ARMED.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from `System` through this allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if ARMED.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if ARMED.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged; `ptr` came from `System` through this allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f` (on any thread) while armed. Every thread counts — the pool's
/// threads must not allocate either — so the armed windows must stay short: libtest's main
/// thread allocates to print its "has been running for over 60 seconds" warning.
fn allocations(f: impl FnOnce()) -> usize {
    ALLOCS.store(0, Ordering::SeqCst);
    ARMED.store(true, Ordering::SeqCst);
    f();
    ARMED.store(false, Ordering::SeqCst);
    ALLOCS.load(Ordering::SeqCst)
}

/// MobileNetV2 natively; under emulation (the aarch64 lane runs in qemu, and its NEON tier has
/// no kernels of its own yet) the small MobileNet-like ONNX fixture, which exercises the same
/// op kinds.
fn models() -> Vec<Model> {
    let tiny = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mobilenet_tiny.onnx");
    let mut models = vec![load_model_file(&tiny).unwrap()];
    if cfg!(target_arch = "x86_64") {
        models.push(Builtin::MobileNetV2.model(DEFAULT_SEED));
    }
    models
}

#[test]
fn graph_run_allocates_nothing() {
    // The best tier this CPU has (the SIMD kernels are what runs in production) on 1, 2 and 3
    // threads, and the scalar tier on one thread. Every graph is planned and warmed up first
    // and all stay alive to the end: a dropped pool's threads exit asynchronously, and their
    // teardown must not land in another graph's armed window.
    let best = Isa::best_available();
    let cases = [(best, 1), (best, 2), (best, 3), (Isa::Scalar, 1)];
    let mut planned = Vec::new();
    for model in models() {
        for (isa, threads) in cases {
            let options = GraphOptions { isa: Some(isa), threads, pin: false };
            let mut graph = Graph::plan(&model, options).unwrap();
            let input = vec![0.5f32; graph.input_shape().validate().unwrap()];
            let mut output = vec![0.0f32; graph.output_shape().validate().unwrap()];
            // Warm-up: lazily initialized process and pool state (CPU-feature caches, the pool
            // threads' queues) settles here.
            for _ in 0..3 {
                graph.run(&input, &mut output).unwrap();
            }
            planned.push((model.name.clone(), isa, threads, graph, input, output));
        }
    }
    let mut best_output: Vec<(String, Vec<f32>)> = Vec::new();
    for (name, isa, threads, graph, input, output) in &mut planned {
        let runs = if *isa == Isa::Scalar { 2 } else { 10 };
        let n = allocations(|| {
            for _ in 0..runs {
                graph.run(input, output).unwrap();
            }
        });
        assert_eq!(n, 0, "{name} on {isa}, {threads} thread(s): {n} heap allocations in {runs} runs");
        let n = allocations(|| graph.run_profiled(input, output).unwrap());
        assert_eq!(n, 0, "{name} on {isa}, {threads} thread(s): {n} heap allocations in a profiled run");
        // Splitting rows over threads changes nothing in the result.
        if *isa == best {
            match best_output.iter().find(|(m, _)| m == name) {
                None => best_output.push((name.clone(), output.clone())),
                Some((_, r)) => assert!(r == output, "{name}: {threads} threads give another output than 1"),
            }
        }
    }
}
