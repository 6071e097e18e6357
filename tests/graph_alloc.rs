//! `Graph::run` performs zero heap allocations after planning: a counting global allocator
//! (this test binary only, `tests/alloc_counter`) counts every `alloc`/`realloc` made while
//! armed.

mod alloc_counter;
mod common;

use alloc_counter::allocations;
use sepconv::dispatch::Isa;
use sepconv::graph::{Graph, GraphOptions, Model};
use sepconv::models::{Builtin, DEFAULT_SEED};
use sepconv::onnx::load_model_file;

#[global_allocator]
static GLOBAL: alloc_counter::Counting = alloc_counter::Counting;

/// The small MobileNet-like ONNX fixture everywhere, and MobileNetV2 on x86_64 natively. The
/// emulated lanes (the aarch64 one and the x86_64 CPU matrix of `.ci/run`, where MobileNetV2
/// alone takes two minutes) keep to the fixture, which exercises the same op kinds.
fn models() -> Vec<Model> {
    let tiny = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mobilenet_tiny.onnx");
    let mut models = vec![load_model_file(&tiny).unwrap()];
    if cfg!(target_arch = "x86_64") && common::emulated_cpu().is_none() {
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
            let options =
                GraphOptions::default().with_isa(isa).with_threads(threads).with_pin(false).with_batch(None);
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
