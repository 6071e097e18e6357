//! Graph planning and running: folding (BatchNorm into convolutions, activations into stores),
//! lowering, the arena, boundary layouts, errors naming nodes, and the built-in MobileNets
//! against the reference tier.

mod common;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use sepconv::Error;
use sepconv::dispatch::Isa;
use sepconv::graph::{
    Batch, BatchNormSpec, ConvSpec, DenseSpec, Graph, GraphOptions, Layout, Model, Node, OpSpec, PadSpec,
    PoolKind, PoolSpec,
};
use sepconv::kernels::reference;
use sepconv::kernels::{Activation, Conv2dGeometry, PadMode, Padding2d};
use sepconv::models::{Builtin, DEFAULT_SEED};
use sepconv::tensor::{Shape4, nchw_to_nhwc, nhwc_to_nchw};

fn rand_vec(rng: &mut StdRng, n: usize, bound: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-bound..=bound)).collect()
}

fn scalar() -> GraphOptions {
    GraphOptions::default().with_isa(Isa::Scalar)
}

fn conv_spec(
    rng: &mut StdRng,
    in_c: usize,
    out_c: usize,
    k: usize,
    stride: usize,
    groups: usize,
) -> ConvSpec {
    ConvSpec {
        out_c,
        kernel: (k, k),
        stride: (stride, stride),
        dilation: (1, 1),
        padding: PadSpec::Auto(PadMode::SameUpper),
        groups,
        weights: rand_vec(rng, out_c * k * k * in_c / groups, 0.5),
        bias: Some(rand_vec(rng, out_c, 0.1)),
        activation: Activation::None,
    }
}

/// A model from a node list: value 0 is the input, node i writes value i + 1.
fn model(input_shape: Shape4, layout: Layout, ops: Vec<(OpSpec, Vec<usize>)>) -> Model {
    let nodes: Vec<Node> = ops
        .into_iter()
        .enumerate()
        .map(|(i, (op, inputs))| Node { name: format!("n{i}"), op, inputs, output: i + 1 })
        .collect();
    let output = nodes.len();
    Model {
        name: "test".into(),
        value_names: (0..=output).map(|v| format!("v{v}")).collect(),
        input: 0,
        input_shape,
        batch: Batch::Symbolic { name: "N".into() },
        layout,
        output,
        nodes,
    }
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn geometry(spec: &ConvSpec, s: Shape4, padding: Padding2d) -> Conv2dGeometry {
    Conv2dGeometry::new(s.n, s.h, s.w, s.c, spec.out_c, spec.kernel.0, spec.kernel.1)
        .with_stride(spec.stride.0, spec.stride.1)
        .with_padding(padding)
        .with_groups(spec.groups)
}

#[test]
fn conv_bn_relu6_folds_into_one_step_and_matches_the_unfolded_math() {
    let mut rng = StdRng::seed_from_u64(1);
    let s = Shape4::new(1, 7, 7, 4);
    let conv = conv_spec(&mut rng, 4, 6, 3, 2, 1);
    let bn = BatchNormSpec {
        scale: rand_vec(&mut rng, 6, 2.0),
        bias: rand_vec(&mut rng, 6, 1.0),
        mean: rand_vec(&mut rng, 6, 1.0),
        var: (0..6).map(|_| rng.random_range(0.1..2.0)).collect(),
        epsilon: 1e-3,
    };
    let m = model(
        s,
        Layout::Nhwc,
        vec![
            (OpSpec::Conv(conv.clone()), vec![0]),
            (OpSpec::BatchNorm(bn.clone()), vec![1]),
            (OpSpec::Activation(Activation::Relu6), vec![2]),
        ],
    );
    for isa in Isa::available() {
        let mut g = Graph::plan(&m, GraphOptions::default().with_isa(isa)).unwrap();
        let steps: Vec<_> = g.steps().collect();
        assert_eq!(steps.len(), 1, "{isa}: conv, BN and ReLU6 fold into one step: {steps:?}");
        assert_eq!(steps[0].op, "conv/dense");

        // Unfolded: conv (reference), then BN and ReLU6 by hand.
        let input = rand_vec(&mut rng, 7 * 7 * 4, 1.0);
        let pad = Padding2d::for_mode(PadMode::SameUpper, 7, 7, 3, 3, 2, 2, 1, 1).unwrap();
        let geom = geometry(&conv, s, pad);
        let d = geom.validate().unwrap();
        let mut y = vec![0.0; d.output_len];
        reference::conv2d(&geom, &input, &conv.weights, conv.bias.as_deref(), Activation::None, &mut y)
            .unwrap();
        for (i, v) in y.iter_mut().enumerate() {
            let c = i % 6;
            let z = (*v - bn.mean[c]) / (bn.var[c] + bn.epsilon).sqrt() * bn.scale[c] + bn.bias[c];
            *v = z.clamp(0.0, 6.0);
        }
        let mut out = vec![0.0; d.output_len];
        g.run(&input, &mut out).unwrap();
        assert!(max_abs_diff(&out, &y) < 1e-4, "{isa}: {out:?} vs {y:?}");
    }
}

#[test]
fn a_bn_that_cannot_fold_runs_as_a_per_channel_affine() {
    // BatchNorm straight on the input (no producing convolution), then Relu.
    let mut rng = StdRng::seed_from_u64(2);
    let s = Shape4::new(2, 3, 5, 3);
    let bn = BatchNormSpec {
        scale: vec![1.5, -2.0, 0.5],
        bias: vec![0.1, 0.2, -0.3],
        mean: vec![0.0, 1.0, -1.0],
        var: vec![1.0, 4.0, 0.25],
        epsilon: 0.0,
    };
    let m = model(
        s,
        Layout::Nhwc,
        vec![(OpSpec::BatchNorm(bn.clone()), vec![0]), (OpSpec::Activation(Activation::Relu), vec![1])],
    );
    let mut g = Graph::plan(&m, scalar()).unwrap();
    assert_eq!(g.steps().count(), 1, "the ReLU fuses into the lowered BatchNorm");
    let input = rand_vec(&mut rng, 90, 3.0);
    let mut out = vec![0.0; 90];
    g.run(&input, &mut out).unwrap();
    for (i, (&x, &y)) in input.iter().zip(&out).enumerate() {
        let c = i % 3;
        let want = ((x - bn.mean[c]) / bn.var[c].sqrt() * bn.scale[c] + bn.bias[c]).max(0.0);
        assert!((y - want).abs() < 1e-5, "element {i}: {y} vs {want}");
    }
}

#[test]
fn activation_read_twice_is_not_fused() {
    // conv → v1; relu(v1) → v2; add(v1, v2) → v3: v1 has two readers, so the ReLU stays a step.
    let mut rng = StdRng::seed_from_u64(3);
    let s = Shape4::new(1, 4, 4, 2);
    let conv = conv_spec(&mut rng, 2, 2, 1, 1, 1);
    let m = model(
        s,
        Layout::Nhwc,
        vec![
            (OpSpec::Conv(conv.clone()), vec![0]),
            (OpSpec::Activation(Activation::Relu), vec![1]),
            (OpSpec::Add(Activation::None), vec![1, 2]),
        ],
    );
    let mut g = Graph::plan(&m, scalar()).unwrap();
    let ops: Vec<&str> = g.steps().map(|s| s.op).collect();
    assert_eq!(ops, ["conv/pointwise", "activation", "add"]);
    let input = rand_vec(&mut rng, 32, 1.0);
    let mut out = vec![0.0; 32];
    g.run(&input, &mut out).unwrap();
    let geom = geometry(&conv, s, Padding2d::ZERO);
    let mut y = vec![0.0; 32];
    reference::conv2d(&geom, &input, &conv.weights, conv.bias.as_deref(), Activation::None, &mut y).unwrap();
    let want: Vec<f32> = y.iter().map(|&v| v + v.max(0.0)).collect();
    assert!(max_abs_diff(&out, &want) < 1e-6);
}

#[test]
fn nchw_boundary_flatten_dense_pools_and_concat() {
    // NCHW input 1×3×6×6 → conv 3→4 (3×3 SAME) → [maxpool 2×2 s2 | avgpool 3×3 s2 pad 1] → concat (8 ch, 3×3)
    // → flatten (NCHW order, 72) → dense 72→5.
    let mut rng = StdRng::seed_from_u64(4);
    let s = Shape4::new(1, 6, 6, 3);
    let conv = conv_spec(&mut rng, 3, 4, 3, 1, 1);
    let maxp = PoolSpec {
        kind: PoolKind::Max,
        kernel: (2, 2),
        stride: (2, 2),
        padding: PadSpec::Explicit(Padding2d::ZERO),
    };
    let avgp = PoolSpec {
        kind: PoolKind::Avg { count_include_pad: false },
        kernel: (3, 3),
        stride: (2, 2),
        padding: PadSpec::Explicit(Padding2d::uniform(1)),
    };
    let dense = DenseSpec {
        out_features: 5,
        weights: rand_vec(&mut rng, 5 * 72, 0.3),
        bias: Some(rand_vec(&mut rng, 5, 0.1)),
        activation: Activation::None,
    };
    let m = model(
        s,
        Layout::Nchw,
        vec![
            (OpSpec::Conv(conv.clone()), vec![0]),
            (OpSpec::Pool(maxp), vec![1]),
            (OpSpec::Pool(avgp), vec![1]),
            (OpSpec::Concat, vec![2, 3]),
            (OpSpec::Flatten, vec![4]),
            (OpSpec::Dense(dense.clone()), vec![5]),
        ],
    );
    let input_nchw = rand_vec(&mut rng, 108, 1.0);

    // By hand, in NHWC with the reference kernels.
    let mut x = vec![0.0; 108];
    nchw_to_nhwc(s, &input_nchw, &mut x).unwrap();
    let pad = Padding2d::for_mode(PadMode::SameUpper, 6, 6, 3, 3, 1, 1, 1, 1).unwrap();
    let mut y = vec![0.0; 6 * 6 * 4];
    reference::conv2d(
        &geometry(&conv, s, pad),
        &x,
        &conv.weights,
        conv.bias.as_deref(),
        Activation::None,
        &mut y,
    )
    .unwrap();
    let mut a = vec![0.0; 9 * 4];
    reference::max_pool(&Conv2dGeometry::depthwise(1, 6, 6, 4, 2, 2).with_stride(2, 2), &y, &mut a).unwrap();
    let mut b = vec![0.0; 9 * 4];
    let g_avg =
        Conv2dGeometry::depthwise(1, 6, 6, 4, 3, 3).with_stride(2, 2).with_padding(Padding2d::uniform(1));
    reference::avg_pool(&g_avg, false, &y, &mut b).unwrap();
    let mut cat = vec![0.0; 9 * 8];
    for p in 0..9 {
        cat[p * 8..p * 8 + 4].copy_from_slice(&a[p * 4..p * 4 + 4]);
        cat[p * 8 + 4..p * 8 + 8].copy_from_slice(&b[p * 4..p * 4 + 4]);
    }
    let mut flat = vec![0.0; 72];
    nhwc_to_nchw(Shape4::new(1, 3, 3, 8), &cat, &mut flat).unwrap();
    let mut want = vec![0.0; 5];
    let ds = reference::DenseShape { batch: 1, in_features: 72, out_features: 5 };
    reference::dense(&ds, &flat, &dense.weights, dense.bias.as_deref(), Activation::None, &mut want).unwrap();

    for isa in Isa::available() {
        let mut g = Graph::plan(&m, GraphOptions::default().with_isa(isa)).unwrap();
        assert_eq!(g.input_dims(), [1, 3, 6, 6]);
        assert_eq!(g.output_dims(), [1, 5]);
        let mut out = vec![0.0; 5];
        g.run(&input_nchw, &mut out).unwrap();
        assert!(max_abs_diff(&out, &want) < 1e-4, "{isa}: {out:?} vs {want:?}");
    }
}

#[test]
fn nchw_output_of_a_4d_value_is_converted_back() {
    let mut rng = StdRng::seed_from_u64(5);
    let s = Shape4::new(1, 5, 4, 3);
    let dw = conv_spec(&mut rng, 3, 3, 3, 1, 3);
    let m = model(s, Layout::Nchw, vec![(OpSpec::Conv(dw.clone()), vec![0])]);
    let mut g = Graph::plan(&m, scalar()).unwrap();
    assert_eq!(g.output_dims(), [1, 3, 5, 4]);
    let input_nchw = rand_vec(&mut rng, 60, 1.0);
    let mut out = vec![0.0; 60];
    g.run(&input_nchw, &mut out).unwrap();
    let mut x = vec![0.0; 60];
    nchw_to_nhwc(s, &input_nchw, &mut x).unwrap();
    // OHWI [C][3][3][1] → HWC for the depthwise reference.
    let mut hwc = vec![0.0; 27];
    for c in 0..3 {
        for t in 0..9 {
            hwc[t * 3 + c] = dw.weights[c * 9 + t];
        }
    }
    let geom = Conv2dGeometry::depthwise(1, 5, 4, 3, 3, 3).with_padding(Padding2d::uniform(1));
    let mut y = vec![0.0; 60];
    reference::dwconv(&geom, &x, &hwc, dw.bias.as_deref(), Activation::None, &mut y).unwrap();
    let mut want = vec![0.0; 60];
    nhwc_to_nchw(s, &y, &mut want).unwrap();
    assert!(max_abs_diff(&out, &want) < 1e-6);
}

#[test]
fn arena_reuses_buffers_by_liveness() {
    // A chain of 8 pointwise convs needs 2 buffers (plus none for the input once it is read):
    // each step's output takes a slot its inputs do not use.
    let mut rng = StdRng::seed_from_u64(6);
    let s = Shape4::new(1, 8, 8, 4);
    let ops = (0..8).map(|i| (OpSpec::Conv(conv_spec(&mut rng, 4, 4, 1, 1, 1)), vec![i])).collect();
    let g = Graph::plan(&model(s, Layout::Nhwc, ops), scalar()).unwrap();
    assert_eq!(g.arena_buffers(), 2, "ping-pong");
    assert_eq!(g.arena_bytes(), 2 * 4 * 8 * 8 * 4);
}

#[test]
fn planning_errors_name_the_node() {
    let mut rng = StdRng::seed_from_u64(7);
    let s = Shape4::new(1, 4, 4, 2);
    // Reading a value before it is computed.
    let m = model(
        s,
        Layout::Nhwc,
        vec![(OpSpec::Add(Activation::None), vec![0, 2]), (OpSpec::Activation(Activation::Relu), vec![0])],
    );
    let err = Graph::plan(&m, scalar()).unwrap_err();
    assert!(matches!(&err, Error::Graph { node, .. } if node == "n0"), "{err}");
    assert!(err.to_string().contains("before it is computed"), "{err}");
    // Wrong weight length: the op's error, wrapped with the node's name.
    let mut bad = conv_spec(&mut rng, 2, 3, 3, 1, 1);
    bad.weights.pop();
    let m = model(s, Layout::Nhwc, vec![(OpSpec::Conv(bad), vec![0])]);
    let err = Graph::plan(&m, scalar()).unwrap_err();
    assert!(matches!(&err, Error::Node { node, .. } if node == "n0"), "{err}");
    assert!(err.to_string().contains("weights"), "{err}");
    // Groups that do not divide the channels.
    let mut grouped = conv_spec(&mut rng, 2, 4, 3, 1, 1);
    grouped.groups = 3;
    let m = model(s, Layout::Nhwc, vec![(OpSpec::Conv(grouped), vec![0])]);
    let err = Graph::plan(&m, scalar()).unwrap_err();
    assert!(err.to_string().contains("n0") && err.to_string().contains("groups = 3"), "{err}");
    // Adding different shapes.
    let m = model(
        s,
        Layout::Nhwc,
        vec![
            (OpSpec::Conv(conv_spec(&mut rng, 2, 3, 1, 1, 1)), vec![0]),
            (OpSpec::Add(Activation::None), vec![0, 1]),
        ],
    );
    let err = Graph::plan(&m, scalar()).unwrap_err();
    assert!(matches!(&err, Error::Graph { node, .. } if node == "n1"), "{err}");
    // A dense layer on a non-flat input.
    let dense =
        DenseSpec { out_features: 2, weights: vec![0.0; 64], bias: None, activation: Activation::None };
    let m = model(s, Layout::Nhwc, vec![(OpSpec::Dense(dense), vec![0])]);
    assert!(Graph::plan(&m, scalar()).unwrap_err().to_string().contains("flat input"));
    // An unavailable tier.
    let unavailable = Isa::ALL.into_iter().find(|i| !i.is_available()).expect("some tier is unavailable");
    let m = model(s, Layout::Nhwc, vec![(OpSpec::Activation(Activation::Relu), vec![0])]);
    assert!(matches!(
        Graph::plan(&m, GraphOptions::default().with_isa(unavailable)),
        Err(Error::IsaUnavailable { .. })
    ));
}

#[test]
fn run_checks_buffer_lengths_and_writes_nothing_on_error() {
    let m =
        model(Shape4::new(1, 2, 2, 2), Layout::Nchw, vec![(OpSpec::Activation(Activation::Relu), vec![0])]);
    let mut g = Graph::plan(&m, scalar()).unwrap();
    let mut out = vec![9.0; 8];
    assert!(matches!(g.run(&[0.0; 7], &mut out), Err(Error::Graph { .. })));
    assert!(matches!(g.run(&[0.0; 8], &mut out[..7]), Err(Error::Graph { .. })));
    assert_eq!(out, [9.0; 8]);
}

#[test]
fn builtin_mobilenets_plan_with_the_expected_structure() {
    let v2 = Graph::plan(&Builtin::MobileNetV2.model(DEFAULT_SEED), scalar()).unwrap();
    assert_eq!(v2.input_dims(), [1, 3, 224, 224]);
    assert_eq!(v2.output_dims(), [1, 1000]);
    let count = |g: &Graph, op: &str| g.steps().filter(|s| s.op == op).count();
    // 17 blocks: 17 depthwise, 16 expansions + 17 projections + stem-free head = 34 pointwise,
    // 10 residual adds; every ReLU6 fused.
    assert_eq!(count(&v2, "conv/depthwise"), 17);
    assert_eq!(count(&v2, "conv/pointwise"), 34);
    assert_eq!(count(&v2, "add"), 10);
    assert_eq!(count(&v2, "activation"), 0);
    // ~300 M multiply-adds.
    let mflop = v2.flops() as f64 / 1e6;
    assert!((590.0..620.0).contains(&mflop), "{mflop}");
    let v1 = Graph::plan(&Builtin::MobileNetV1.model(DEFAULT_SEED), scalar()).unwrap();
    assert_eq!(count(&v1, "conv/depthwise"), 13);
    assert_eq!(count(&v1, "conv/pointwise"), 13);
    let mflop = v1.flops() as f64 / 1e6;
    assert!((1130.0..1150.0).contains(&mflop), "{mflop}");
    // Same seed, same model.
    assert_eq!(Builtin::MobileNetV2.model(DEFAULT_SEED), Builtin::MobileNetV2.model(DEFAULT_SEED));
    // The packed weights: MobileNetV2 has 3.5 M parameters (14 MB as f32); packing pads a
    // little and BN folding adds biases.
    let mb = v2.weight_bytes() as f64 / 1e6;
    assert!((13.9..15.0).contains(&mb), "{mb} MB");
}

/// `plan_owned` (which frees each node's weights once packed) plans exactly what `plan` does.
#[test]
fn plan_owned_plans_what_plan_does() {
    let mut rng = StdRng::seed_from_u64(11);
    // A small network with BN to fold (cheap under the emulated lanes).
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mobilenet_tiny.onnx");
    let model = sepconv::onnx::load_model_file(&path).unwrap();
    let input = rand_vec(&mut rng, 3 * 32 * 32, 1.0);
    let isa = Isa::best_available();
    let options = GraphOptions::default().with_isa(isa);
    let mut a = Graph::plan(&model, options).unwrap();
    let mut b = Graph::plan_owned(model, options).unwrap();
    assert_eq!(a.steps().collect::<Vec<_>>(), b.steps().collect::<Vec<_>>());
    assert_eq!((a.weight_bytes(), a.arena_bytes()), (b.weight_bytes(), b.arena_bytes()));
    let (mut ya, mut yb) = (vec![0.0; 10], vec![1.0; 10]);
    a.run(&input, &mut ya).unwrap();
    b.run(&input, &mut yb).unwrap();
    assert_eq!(ya, yb, "{isa}");
}

/// Full networks against the reference tier. The reference kernels are slow under qemu, so this
/// runs on x86_64 only (the aarch64 lane runs the smaller graphs above on every tier), and
/// under an emulated x86_64 CPU (`.ci/run`'s CPU matrix) MobileNetV2 alone, on the tier the
/// CPU selects.
#[cfg(target_arch = "x86_64")]
#[test]
fn builtin_mobilenets_match_the_reference_tier() {
    let mut rng = StdRng::seed_from_u64(8);
    let input = rand_vec(&mut rng, 3 * 224 * 224, 1.0);
    let emulated = common::emulated_cpu().is_some();
    let (models, tiers) = if emulated {
        (&[Builtin::MobileNetV2][..], vec![Isa::best_available()])
    } else {
        (&[Builtin::MobileNetV2, Builtin::MobileNetV1][..], Isa::available())
    };
    for &b in models {
        let m = b.model(DEFAULT_SEED);
        let mut want = vec![0.0; 1000];
        Graph::plan(&m, scalar()).unwrap().run(&input, &mut want).unwrap();
        let scale = want.iter().fold(0.0f32, |a, &x| a.max(x.abs()));
        assert!(scale > 0.1 && scale < 1e3, "{}: logits stay in a sane range: {scale}", b.name());
        for &isa in &tiers {
            let mut g = Graph::plan(&m, GraphOptions::default().with_isa(isa)).unwrap();
            let mut out = vec![0.0; 1000];
            g.run(&input, &mut out).unwrap();
            // f32 accumulation in another order over ~50 layers: 1e-4 of the logits' scale.
            let d = max_abs_diff(&out, &want);
            assert!(d <= 1e-4 * scale, "{} on {isa}: max|diff| {d} (scale {scale})", b.name());
        }
    }
}

/// Large NCHW inputs and outputs are converted to and from NHWC in bands across the threads:
/// the outputs at 2 and 3 threads are bit-identical to 1 thread's, for shapes whose channel
/// and pixel counts leave remainders in the bands and the 8×8 transpose blocks (batch 2, and
/// an RGB-like 3-channel input).
#[test]
fn multi_threaded_layout_conversions_match_one_thread() {
    let mut rng = StdRng::seed_from_u64(77);
    for s in [Shape4::new(2, 61, 67, 13), Shape4::new(1, 120, 130, 3), Shape4::new(1, 40, 45, 37)] {
        let dw = conv_spec(&mut rng, s.c, s.c, 3, 1, s.c);
        let m = model(s, Layout::Nchw, vec![(OpSpec::Conv(dw), vec![0])]);
        let input = rand_vec(&mut rng, s.len().unwrap(), 1.0);
        let run = |threads| {
            let mut g = Graph::plan(&m, GraphOptions::default().with_threads(threads)).unwrap();
            let mut out = vec![f32::NAN; s.len().unwrap()];
            g.run(&input, &mut out).unwrap();
            out
        };
        let one = run(1);
        assert!(one.iter().all(|v| v.is_finite()), "{s}");
        for t in [2, 3] {
            let many = run(t);
            assert!(
                one.iter().zip(&many).all(|(a, b)| a.to_bits() == b.to_bits()),
                "{s}: {t} threads differ"
            );
        }
    }
}
