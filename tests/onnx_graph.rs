//! ONNX models exported by `tests/fixtures/make_fixtures.py`, imported, planned and run by
//! sepconv on every available tier, against ONNX Runtime's outputs stored next to them.
//!
//! Tolerance: max |sepconv − ORT| ≤ 1e-4 on outputs of magnitude ~1–10 (the peers agree with
//! each other to ~2e-5 on whole MobileNets; these models are small).

use std::path::PathBuf;

use sepconv::Error;
use sepconv::dispatch::Isa;
use sepconv::graph::{Batch, Graph, GraphOptions};
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
    "mobilenet_tiny_dyn",
    "shape_flatten",
    "maxpool",
    "avgpool_excl_pad",
    "avgpool_incl_pad",
    "pool_ceil",
    "shufflenet_units",
    "se_block",
    "hard_activations",
    "smooth_activations",
    "softmax_head",
    "softmax_channels",
    "reduce_mean_opset13",
    "reduce_mean_opset18",
    "concat",
    "matmul",
    "reshape",
    "clip_inputs_opset11",
    "pads",
    "pads_opset18_axes",
    "prelu_channels",
    "resize",
    "concat_spatial",
];

/// The six network families of `tests/fixtures/families.py` (small but with every block kind of
/// the published network; symbolic batch, BN not folded, the exporters' ops and shape
/// arithmetic). They share one 4-image input, `families.input.npy`.
const FAMILIES: &[&str] = &[
    "mobilenet_v3_small_tiny",
    "mobilenet_v3_large_tiny",
    "efficientnet_lite0_tiny",
    "shufflenet_v2_tiny",
    "pp_lcnet_tiny",
    "squeezenet1_1_tiny",
];

/// A fixture's input: `NAME.input.npy`, or the family fixtures' shared one.
fn input_of(name: &str) -> sepconv::npy::NpyArray {
    let own = fixture(&format!("{name}.input.npy"));
    read_npy_file(&if own.exists() { own } else { fixture("families.input.npy") }).unwrap()
}

#[test]
fn every_fixture_matches_onnx_runtime_on_every_tier() {
    // Every fixture, the network families included (they also have the relative check below).
    for name in MODELS.iter().chain(FAMILIES) {
        let model =
            load_model_file(&fixture(&format!("{name}.onnx"))).unwrap_or_else(|e| panic!("{name}: {e}"));
        let input = input_of(name);
        let want = read_npy_file(&fixture(&format!("{name}.output.npy"))).unwrap();
        // The batch of the stored input: 1, or more for the symbolic-batch models
        // (`mobilenet_tiny_dyn` and the families 4, `shape_flatten` 3, ...).
        let batch = Some(input.shape[0]);
        for isa in Isa::available() {
            let options = GraphOptions::default().with_isa(isa).with_batch(batch);
            let mut graph = Graph::plan(&model, options).unwrap_or_else(|e| panic!("{name} on {isa}: {e}"));
            assert_eq!(graph.input_dims(), input.shape, "{name}: input shape");
            assert_eq!(graph.output_dims(), want.shape, "{name}: output shape");
            let mut out = vec![0.0; want.data.len()];
            graph.run(&input.data, &mut out).unwrap();
            let scale = want.data.iter().fold(0.0f32, |a, &x| a.max(x.abs()));
            let diff = out.iter().zip(&want.data).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            eprintln!("{name} on {isa}: max|diff| {diff:e} (output scale {scale})");
            assert!(diff <= 1e-4, "{name} on {isa}: max|diff| {diff} (output scale {scale})");
        }
    }
}

/// The families against ONNX Runtime by the measure of issue 13, max|sepconv − ORT| / max|ORT|
/// ≤ 1e-4, on every tier: planned for the stored batch of 4 images, and planned for 1 image (the
/// symbolic batch's default) and run on each image alone (relative to that image's max|ORT|).
#[test]
fn network_families_match_onnx_runtime_within_1e_4_relative_on_every_tier_at_batch_1_and_4() {
    let max_abs = |v: &[f32]| v.iter().fold(0.0f32, |a, &x| a.max(x.abs()));
    let rel = |got: &[f32], want: &[f32]| {
        got.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max) / max_abs(want)
    };
    for name in FAMILIES {
        let model =
            load_model_file(&fixture(&format!("{name}.onnx"))).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(matches!(model.batch, Batch::Symbolic { .. }), "{name}: {:?}", model.batch);
        let input = input_of(name);
        let want = read_npy_file(&fixture(&format!("{name}.output.npy"))).unwrap();
        assert_eq!((input.shape[0], want.shape[0]), (4, 4), "{name}: a batch of 4 images");
        let (per_in, per_out) = (input.data.len() / 4, want.data.len() / 4);
        for isa in Isa::available() {
            let plan = |batch| {
                Graph::plan(&model, GraphOptions::default().with_isa(isa).with_batch(batch))
                    .unwrap_or_else(|e| panic!("{name} on {isa}: {e}"))
            };
            let mut four = plan(Some(4));
            assert_eq!(four.output_dims(), want.shape, "{name}: output shape");
            let mut out = vec![0.0; want.data.len()];
            four.run(&input.data, &mut out).unwrap();
            let rel4 = rel(&out, &want.data);
            let mut one = plan(None);
            assert_eq!(one.input_dims()[0], 1, "{name}: the symbolic batch defaults to 1");
            let mut rel1 = 0.0f32;
            for (image, want) in input.data.chunks_exact(per_in).zip(want.data.chunks_exact(per_out)) {
                let mut out = vec![0.0; per_out];
                one.run(image, &mut out).unwrap();
                rel1 = rel1.max(rel(&out, want));
            }
            eprintln!(
                "{name} on {isa}: max rel err {rel4:.2e} at batch 4, {rel1:.2e} at batch 1 (max|ORT| {})",
                max_abs(&want.data)
            );
            assert!(
                rel4 <= 1e-4 && rel1 <= 1e-4,
                "{name} on {isa}: max rel err {rel4} (batch 4), {rel1} (batch 1)"
            );
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

/// The smooth activations fuse into the op before them where it has no other reader: BN and
/// Sigmoid into the stem, Mul(x, Sigmoid(x)) as SiLU into its depthwise conv, the [1, 1, 1]
/// PRelu into the residual Add, Tanh, LeakyRelu, the SE's Relu and Sigmoid and the last PRelu
/// into their convs. Two stay steps of their own: the SiLU of `dw_res` (whose output the Add
/// also reads) and the Sigmoid with two readers (the Mul and the Add), so that Mul stays a Mul.
#[test]
fn smooth_activations_fuse_where_the_producer_has_one_reader() {
    let model = load_model_file(&fixture("smooth_activations.onnx")).unwrap();
    let graph = Graph::plan(&model, GraphOptions::default()).unwrap();
    let steps: Vec<(&str, &str)> = graph.steps().map(|s| (s.name, s.op)).collect();
    assert_eq!(
        steps,
        [
            ("stem", "conv/dense"),
            ("dw_silu", "conv/depthwise"),
            ("dw_res", "conv/depthwise"),
            ("res_silu_mul", "activation"),
            ("residual", "add"),
            ("pw_gate2", "conv/pointwise"),
            ("shared_gate", "activation"),
            ("gated", "mul"),
            ("gate_plus", "add"),
            ("pw_tanh", "conv/pointwise"),
            ("leaky", "conv/dense"),
            ("squeeze", "global_avg_pool"),
            ("reduce", "conv/pointwise"),
            ("expand", "conv/pointwise"),
            ("excite", "mul"),
            ("project", "conv/pointwise"),
        ]
    );
}

/// A zero `Pad` folds into the convolution that is its only reader (TensorFlow's SAME as Pad +
/// VALID conv, and a Pad before a conv with its own explicit pads); a Pad with another value,
/// or with a second reader, is a step of its own. The step keeps the conv's name.
#[test]
fn zero_pads_fold_into_the_conv_that_reads_them() {
    let steps = |name: &str| -> Vec<(String, String)> {
        let model = load_model_file(&fixture(&format!("{name}.onnx"))).unwrap();
        let graph = Graph::plan(&model, GraphOptions::default()).unwrap();
        graph.steps().map(|s| (s.name.to_string(), s.op.to_string())).collect()
    };
    let want = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    };
    assert_eq!(
        steps("pads"),
        want(&[
            ("stem", "conv/dense"),
            ("dw", "conv/depthwise"),
            ("half_pad", "pad"),
            ("pw", "conv/pointwise"),
            ("shared_pad", "pad"),
            ("after_shared", "conv/dense"),
            ("residual", "add"),
            ("pool_pad", "pad"),
            ("pool", "max_pool"),
        ])
    );
    assert_eq!(steps("pads_opset18_axes"), want(&[("axes_pad", "pad"), ("conv", "conv/dense")]));
}

/// A symbolic-batch model planned for 4 images computes, image by image, what it computes
/// planned for 1 (tolerance: 1e-5 absolute on outputs of magnitude ~10; the kernels tile the
/// batch's pixels differently but sum every output in the same order, so in practice equal).
#[test]
fn a_batch_of_4_is_4_batches_of_1_on_every_tier() {
    let model = load_model_file(&fixture("mobilenet_tiny_dyn.onnx")).unwrap();
    assert!(matches!(model.batch, Batch::Symbolic { .. }), "{:?}", model.batch);
    let input = read_npy_file(&fixture("mobilenet_tiny_dyn.input.npy")).unwrap();
    let per_image = input.data.len() / 4;
    for isa in Isa::available() {
        let plan = |batch| Graph::plan(&model, GraphOptions::default().with_isa(isa).with_batch(batch));
        let mut four = plan(Some(4)).unwrap();
        let mut one = plan(None).unwrap();
        assert_eq!((four.input_dims(), one.input_dims()), (vec![4, 3, 32, 32], vec![1, 3, 32, 32]));
        let mut out4 = vec![0.0; 40];
        four.run(&input.data, &mut out4).unwrap();
        for (i, image) in input.data.chunks_exact(per_image).enumerate() {
            let mut out1 = vec![0.0; 10];
            one.run(image, &mut out1).unwrap();
            let diff = out1.iter().zip(&out4[i * 10..]).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert!(diff <= 1e-5, "{isa}, image {i}: max|diff| {diff}");
        }
    }
}

#[test]
fn a_fixed_batch_cannot_be_changed_and_a_batch_is_at_least_1() {
    let fixed = load_model_file(&fixture("mobilenet_tiny.onnx")).unwrap();
    let dynamic = load_model_file(&fixture("mobilenet_tiny_dyn.onnx")).unwrap();
    let plan = |m, batch| Graph::plan(m, GraphOptions::default().with_batch(Some(batch)));
    let err = plan(&fixed, 2).unwrap_err();
    assert!(matches!(err, Error::Batch { requested: 2, .. }), "{err:?}");
    assert!(err.to_string().contains("fixed at 1 by graph input \"input\""), "{err}");
    assert_eq!(plan(&fixed, 1).unwrap().input_dims(), [1, 3, 32, 32]);
    for m in [&fixed, &dynamic] {
        let err = plan(m, 0).unwrap_err();
        assert!(matches!(err, Error::Batch { requested: 0, .. }), "{err:?}");
    }
}
