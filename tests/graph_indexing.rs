//! Malformed models that used to panic while planning (an index past the end of a slice) and
//! are now errors naming the offending node.

use sepconv::Error;
use sepconv::dispatch::Isa;
use sepconv::graph::{
    Batch, BatchNormSpec, ConvSpec, Graph, GraphOptions, Layout, Model, Node, OpSpec, PadSpec,
};
use sepconv::kernels::{Activation, Padding2d};
use sepconv::tensor::Shape4;

fn scalar() -> GraphOptions {
    GraphOptions::default().with_isa(Isa::Scalar)
}

/// A 1×1 convolution 2 → 2 channels with the given bias, then a BatchNorm over 2 channels
/// (which folds into the convolution when the convolution is well formed, as in
/// `tests/graph.rs`).
fn conv_then_bn(bias: Option<Vec<f32>>) -> Model {
    let conv = ConvSpec {
        out_c: 2,
        kernel: (1, 1),
        stride: (1, 1),
        dilation: (1, 1),
        padding: PadSpec::Explicit(Padding2d::ZERO),
        groups: 1,
        weights: vec![1.0, 0.0, 0.0, 1.0],
        bias,
        activation: Activation::None,
    };
    let bn = BatchNormSpec {
        scale: vec![2.0, 3.0],
        bias: vec![0.5, -0.5],
        mean: vec![0.0, 1.0],
        var: vec![1.0, 1.0],
        epsilon: 0.0,
    };
    Model {
        name: "conv_bn".into(),
        value_names: vec!["x".into(), "c".into(), "y".into()],
        input: 0,
        input_shape: Shape4::new(1, 2, 2, 2),
        batch: Batch::Fixed { by: "test".into() },
        layout: Layout::Nhwc,
        output: 2,
        nodes: vec![
            Node { name: "conv".into(), op: OpSpec::Conv(conv), inputs: vec![0], output: 1 },
            Node { name: "bn".into(), op: OpSpec::BatchNorm(bn), inputs: vec![1], output: 2 },
        ],
    }
}

#[test]
fn a_conv_with_a_short_bias_before_a_batchnorm_is_an_error_naming_the_conv() {
    // Folding the BatchNorm into the convolution used to index the bias per output channel
    // (`bias[o]` for o < out_c) and panicked on a bias shorter than out_c.
    let err = Graph::plan(&conv_then_bn(Some(vec![0.25])), scalar()).unwrap_err();
    let Error::Node { node, source } = &err else { panic!("expected an error at a node, got {err:?}") };
    assert_eq!(node, "conv", "{err}");
    assert!(err.to_string().contains("bias"), "{err}");
    assert!(matches!(**source, Error::Kernel { .. }), "{err}");
}

#[test]
fn a_conv_with_a_long_bias_before_a_batchnorm_is_an_error_naming_the_conv() {
    // A bias longer than out_c did not panic, but the fold silently dropped its tail, so the
    // model planned with a bias it does not have; now the convolution's own check reports it.
    let err = Graph::plan(&conv_then_bn(Some(vec![0.25, 0.5, 0.75])), scalar()).unwrap_err();
    let Error::Node { node, .. } = &err else { panic!("expected an error at a node, got {err:?}") };
    assert_eq!(node, "conv", "{err}");
    assert!(err.to_string().contains("bias"), "{err}");
}
