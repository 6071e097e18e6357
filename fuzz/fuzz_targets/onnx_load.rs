//! Arbitrary bytes into the ONNX importer; a model that imports is planned on the Scalar tier
//! and, when its input is small, run once on zeros. Errors are fine, panics are bugs.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sepconv::dispatch::Isa;
use sepconv::graph::{Graph, GraphOptions};

/// Largest input (in elements) the target runs a planned graph on.
const MAX_RUN_ELEMS: usize = 65536;
/// Largest output it allocates for that run.
const MAX_OUT_ELEMS: usize = 1 << 22;

fuzz_target!(|data: &[u8]| {
    let Ok(model) = sepconv::onnx::load_model(data) else { return };
    let options = GraphOptions::default().with_isa(Isa::Scalar);
    let Ok(mut graph) = Graph::plan(&model, options) else { return };
    let Ok(in_len) = graph.input_shape().len() else { return };
    let Ok(out_len) = graph.output_shape().len() else { return };
    if in_len > MAX_RUN_ELEMS || out_len > MAX_OUT_ELEMS {
        return;
    }
    let input = vec![0.0f32; in_len];
    let mut output = vec![0.0f32; out_len];
    let _ = graph.run(&input, &mut output);
});
