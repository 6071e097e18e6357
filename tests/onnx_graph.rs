//! ONNX models exported by `tests/fixtures/make_fixtures.py`, imported, planned and run by
//! sepconv on every available tier, against ONNX Runtime's outputs stored next to them.
//!
//! Tolerance: max |sepconv − ORT| ≤ 1e-4 on outputs of magnitude ~1–10 (the peers agree with
//! each other to ~2e-5 on whole MobileNets; these models are small).

use std::path::PathBuf;

use sepconv::dispatch::Isa;
use sepconv::graph::{Graph, GraphOptions};
use sepconv::npy::read_npy_file;
use sepconv::onnx::load_model_file;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

const MODELS: &[&str] = &[
    "dw_same",
    "grouped",
    "pw_clip",
    "ir_block",
    "mobilenet_tiny",
    "maxpool",
    "avgpool_excl_pad",
    "avgpool_incl_pad",
    "concat",
    "matmul",
    "reshape",
    "clip_inputs_opset11",
];

#[test]
fn every_fixture_matches_onnx_runtime_on_every_tier() {
    for name in MODELS {
        let model =
            load_model_file(&fixture(&format!("{name}.onnx"))).unwrap_or_else(|e| panic!("{name}: {e}"));
        let input = read_npy_file(&fixture(&format!("{name}.input.npy"))).unwrap();
        let want = read_npy_file(&fixture(&format!("{name}.output.npy"))).unwrap();
        for isa in Isa::available() {
            let mut graph = Graph::plan(&model, GraphOptions { isa: Some(isa), ..GraphOptions::default() })
                .unwrap_or_else(|e| panic!("{name} on {isa}: {e}"));
            assert_eq!(graph.input_dims(), input.shape, "{name}: input shape");
            assert_eq!(graph.output_dims(), want.shape, "{name}: output shape");
            let mut out = vec![0.0; want.data.len()];
            graph.run(&input.data, &mut out).unwrap();
            let scale = want.data.iter().fold(0.0f32, |a, &x| a.max(x.abs()));
            let diff = out.iter().zip(&want.data).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert!(diff <= 1e-4, "{name} on {isa}: max|diff| {diff} (output scale {scale})");
        }
    }
}

#[test]
fn batchnorm_and_clip_fold_away_in_the_inverted_residual_block() {
    let model = load_model_file(&fixture("ir_block.onnx")).unwrap();
    let graph = Graph::plan(&model, GraphOptions::default()).unwrap();
    let ops: Vec<&str> = graph.steps().map(|s| s.op).collect();
    // expand (BN + Clip folded), depthwise (BN + Clip folded), project (BN folded), add.
    assert_eq!(ops, ["conv/pointwise", "conv/depthwise", "conv/pointwise", "add"]);
}
