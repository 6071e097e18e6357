//! A catalogue of bad inputs: every entry is an input that must be refused with a specific
//! typed error whose message names the offending value, and with nothing written (output
//! buffers keep their sentinel, output files do not appear). One `#[test]` per group; every
//! `refuse!` is one entry.
//!
//! NaN and Inf weights are the exception: they are valid, plan and run, and propagate through
//! the outputs per IEEE 754.
//!
//! The CLI entries spawn the `sepconv` binary; under a Cargo target runner (the aarch64 lane,
//! the emulated x86_64 CPUs of `.ci/run`) they spawn it through the same runner as the test
//! binary (see `common::runner`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::describe;

use prost::Message;
use sepconv::Error;
use sepconv::dispatch::Isa;
use sepconv::graph::{
    Batch, ConvSpec, DenseSpec, Graph, GraphOptions, Layout, Model, Node, OpSpec, PadSpec, PoolKind, PoolSpec,
};
use sepconv::kernels::{Activation, Conv2dGeometry, KernelError, Padding2d};
use sepconv::npy::{NpyError, read_npy};
use sepconv::onnx::proto::tensor_proto::{DataLocation, DataType};
use sepconv::onnx::proto::tensor_shape_proto::dimension::Value as DimValue;
use sepconv::onnx::proto::type_proto::Value as TypeValue;
use sepconv::onnx::proto::{self, ModelProto};
use sepconv::onnx::{OnnxError, load_model};
use sepconv::ops::{
    ActivationOp, Add, Conv2d, Dense, DepthwiseConv2d, GlobalAvgPool, PointwiseConv2d, SeparableConv2d,
    SeparablePass1d,
};
use sepconv::tensor::{Shape4, Tensor, TensorError, TensorView, TensorViewMut, nchw_to_nhwc};
use sepconv::threads::Threads;

// -------------------------------------------------------------------------------------------
// Helpers
// -------------------------------------------------------------------------------------------

/// What every output buffer holds before a refused call, and must still hold after it.
const SENTINEL: f32 = -12345.5;

fn sentinel(len: usize) -> Vec<f32> {
    vec![SENTINEL; len]
}

#[track_caller]
fn assert_untouched(label: &str, buf: &[f32]) {
    if let Some(i) = buf.iter().position(|v| v.to_bits() != SENTINEL.to_bits()) {
        panic!("{label}: output element {i} was written ({}) although the call was refused", buf[i]);
    }
}

/// One catalogue entry: `$result` must be an `Err` matching `$pat`, whose message contains
/// every needle. Evaluates to the error.
macro_rules! refuse {
    ($label:expr, $result:expr, $pat:pat $(if $guard:expr)?, [$($needle:expr),* $(,)?]) => {{
        let label: &str = $label;
        let err = match $result {
            Ok(_) => panic!("{label}: accepted, but must be refused"),
            Err(e) => e,
        };
        assert!(matches!(&err, $pat $(if $guard)?), "{label}: wrong error: {err:?}");
        let msg = err.to_string();
        $(
            assert!(msg.contains($needle), "{label}: message {msg:?} does not name {:?}", $needle);
        )*
        err
    }};
}

/// Tiers this CPU cannot run (e.g. `neon` on x86_64, `avx2` on aarch64).
fn unavailable_tiers() -> Vec<Isa> {
    let available = Isa::available();
    let tiers: Vec<Isa> = Isa::ALL.into_iter().filter(|i| !available.contains(i)).collect();
    assert!(!tiers.is_empty(), "every tier is available: nothing to test");
    tiers
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A fresh temporary directory for one test.
fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sepconv-bad-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A 3×3, 1×8×8×4 → 8 dense convolution (OHWI weights of 8·3·3·4 = 288).
fn conv_geom() -> Conv2dGeometry {
    Conv2dGeometry::new(1, 8, 8, 4, 8, 3, 3)
}

fn kernel_err(err: &Error, op_name: &str) -> KernelError {
    match err {
        Error::Kernel { op, source } if *op == op_name => source.clone(),
        other => panic!("expected a Kernel error of {op_name}, got {other:?}"),
    }
}

// -------------------------------------------------------------------------------------------
// Tensors
// -------------------------------------------------------------------------------------------

#[test]
fn tensors() {
    for (dim, shape) in [
        ("n", Shape4::new(0, 2, 2, 2)),
        ("h", Shape4::new(1, 0, 2, 2)),
        ("w", Shape4::new(1, 2, 0, 2)),
        ("c", Shape4::new(1, 2, 2, 0)),
    ] {
        refuse!(
            &format!("zeros with {dim} = 0"),
            Tensor::zeros(shape),
            TensorError::ZeroDim { dim: d } if *d == dim,
            [&format!("dimension {dim} is 0")]
        );
    }
    let huge = Shape4::new(usize::MAX, 2, 1, 1);
    refuse!(
        "element count overflows",
        Tensor::zeros(huge),
        TensorError::Overflow { shape } if *shape == huge,
        [&huge.to_string(), "overflows"]
    );
    let too_large = Shape4::new(1, 1, 1, usize::MAX / 2);
    refuse!(
        "valid shape too large to allocate",
        Tensor::zeros(too_large),
        TensorError::TooLarge { len } if *len == usize::MAX / 2,
        [&(usize::MAX / 2).to_string()]
    );
    let s = Shape4::new(1, 2, 2, 2);
    refuse!(
        "from_vec with 7 elements for 8",
        Tensor::from_vec(s, vec![0.0; 7]),
        TensorError::LengthMismatch { expected: 8, actual: 7, .. },
        ["1x2x2x2", "8", "7"]
    );
    refuse!(
        "from_le_bytes of an odd length",
        Tensor::from_le_bytes(s, &[0u8; 31]),
        TensorError::ByteLength { len: 31 },
        ["31"]
    );
    refuse!(
        "from_le_bytes with 9 floats for 8",
        Tensor::from_le_bytes(s, &[0u8; 36]),
        TensorError::LengthMismatch { expected: 8, actual: 9, .. },
        ["8", "9"]
    );
    let data = [0.0f32; 9];
    refuse!(
        "view of 9 elements as 1x2x2x2",
        TensorView::new(s, &data),
        TensorError::LengthMismatch { expected: 8, actual: 9, .. },
        ["1x2x2x2", "9"]
    );
    refuse!(
        "view with a zero dimension",
        TensorView::new(Shape4::new(1, 2, 0, 2), &data[..0]),
        TensorError::ZeroDim { dim: "w" },
        ["dimension w"]
    );
    let mut out = sentinel(7);
    refuse!(
        "mutable view of 7 elements as 1x2x2x2",
        TensorViewMut::new(s, &mut out),
        TensorError::LengthMismatch { expected: 8, actual: 7, .. },
        ["7"]
    );
    assert_untouched("mutable view", &out);

    // copy_from between views of the same element count but different shapes.
    let src = Tensor::from_vec(Shape4::new(1, 4, 2, 1), vec![1.0; 8]).unwrap();
    let mut out = sentinel(8);
    let mut dst = TensorViewMut::new(s, &mut out).unwrap();
    refuse!(
        "copy_from a 1x4x2x1 view into a 1x2x2x2 view",
        dst.copy_from(src.view()),
        TensorError::ShapeMismatch { .. },
        ["1x2x2x2", "1x4x2x1"]
    );
    assert_untouched("copy_from", &out);

    let mut out = sentinel(7);
    refuse!(
        "nchw_to_nhwc into a destination of 7 for 8",
        nchw_to_nhwc(s, &[1.0; 8], &mut out),
        TensorError::LengthMismatch { expected: 8, actual: 7, .. },
        ["7"]
    );
    assert_untouched("nchw_to_nhwc", &out);
}

// -------------------------------------------------------------------------------------------
// Ops: planning
// -------------------------------------------------------------------------------------------

#[test]
fn conv2d_planning() {
    let w = vec![0.1; 288];
    let plan = |g: Conv2dGeometry, w: &[f32]| Conv2d::new(g, w, None, Activation::None);
    let zero_cases: [(&str, Conv2dGeometry); 6] = [
        ("kernel_h", Conv2dGeometry { kernel_h: 0, ..conv_geom() }),
        ("kernel_w", Conv2dGeometry { kernel_w: 0, ..conv_geom() }),
        ("stride_h", conv_geom().with_stride(0, 1)),
        ("stride_w", conv_geom().with_stride(1, 0)),
        ("dilation_h", conv_geom().with_dilation(0, 1)),
        ("groups", conv_geom().with_groups(0)),
    ];
    for (what, g) in zero_cases {
        refuse!(
            &format!("Conv2d with {what} = 0"),
            plan(g, &w),
            Error::Kernel { op: "Conv2d", source: KernelError::Zero { what: wh } } if *wh == what,
            ["Conv2d", &format!("{what} is 0")]
        );
    }
    refuse!(
        "Conv2d with groups 3 not dividing in_c 4",
        plan(conv_geom().with_groups(3), &w),
        Error::Kernel { source: KernelError::GroupsMismatch { groups: 3, channels: 4, what: "in_c" }, .. },
        ["groups = 3", "in_c = 4"]
    );
    let g = Conv2dGeometry { out_c: 6, ..conv_geom() }.with_groups(4);
    refuse!(
        "Conv2d with groups 4 not dividing out_c 6",
        plan(g, &w),
        Error::Kernel { source: KernelError::GroupsMismatch { groups: 4, channels: 6, what: "out_c" }, .. },
        ["groups = 4", "out_c = 6"]
    );
    refuse!(
        "Conv2d weights too short",
        plan(conv_geom(), &w[..287]),
        Error::Kernel {
            source: KernelError::LengthMismatch { what: "weights", expected: 288, actual: 287 },
            ..
        },
        ["weights", "287", "288"]
    );
    refuse!(
        "Conv2d weights too long",
        plan(conv_geom(), &[0.1; 289]),
        Error::Kernel {
            source: KernelError::LengthMismatch { what: "weights", expected: 288, actual: 289 },
            ..
        },
        ["weights", "289", "288"]
    );
    refuse!(
        "Conv2d (dense path) bias of 7 for 8 channels",
        Conv2d::new(conv_geom(), &w, Some(&[0.0; 7]), Activation::None),
        Error::Kernel { source: KernelError::LengthMismatch { what: "bias", expected: 8, actual: 7 }, .. },
        ["bias", "7", "8"]
    );
    let dw = Conv2dGeometry::depthwise(1, 8, 8, 4, 3, 3);
    refuse!(
        "Conv2d (depthwise path) bias of 5 for 4 channels",
        Conv2d::new(dw, &[0.1; 36], Some(&[0.0; 5]), Activation::None),
        Error::Kernel { source: KernelError::LengthMismatch { what: "bias", expected: 4, actual: 5 }, .. },
        ["bias", "5", "4"]
    );
    let pw = Conv2dGeometry::new(1, 8, 8, 4, 8, 1, 1);
    refuse!(
        "Conv2d (pointwise path) bias of 9 for 8 channels",
        Conv2d::new(pw, &[0.1; 32], Some(&[0.0; 9]), Activation::None),
        Error::Kernel { source: KernelError::LengthMismatch { what: "bias", expected: 8, actual: 9 }, .. },
        ["bias", "9", "8"]
    );
    let big =
        Conv2dGeometry { kernel_h: 11, kernel_w: 11, ..conv_geom() }.with_padding(Padding2d::uniform(1));
    refuse!(
        "Conv2d kernel 11 larger than the padded input 10",
        plan(big, &vec![0.0; 8 * 11 * 11 * 4]),
        Error::Kernel {
            source: KernelError::KernelLargerThanInput {
                axis: "height",
                kernel_extent: 11,
                padded_input: 10
            },
            ..
        },
        ["11", "10", "height"]
    );
    let dilated = conv_geom().with_dilation(1, 5);
    refuse!(
        "Conv2d dilated kernel width 11 larger than the input 8",
        plan(dilated, &w),
        Error::Kernel {
            source: KernelError::KernelLargerThanInput { axis: "width", kernel_extent: 11, padded_input: 8 },
            ..
        },
        ["width", "11", "8"]
    );
    let overflow =
        Conv2dGeometry { batch: usize::MAX / 4, in_c: 8, ..Conv2dGeometry::new(1, 8, 8, 8, 8, 1, 1) };
    refuse!(
        "Conv2d dims whose product overflows",
        plan(overflow, &[0.0; 64]),
        Error::Kernel { source: KernelError::Overflow { .. }, .. },
        ["overflows"]
    );
    // Huge padding with a huge stride: one output pixel, but a padded image whose size
    // overflows (kernels step through it by stride · row).
    let huge_pad = conv_geom()
        .with_stride(usize::MAX / 2, usize::MAX / 2)
        .with_padding(Padding2d::uniform(usize::MAX / 8));
    refuse!(
        "Conv2d padded image size overflows",
        plan(huge_pad, &w),
        Error::Kernel { source: KernelError::Overflow { what: "padded input size" }, .. },
        ["padded input size", "overflows"]
    );
    refuse!(
        "Conv2d clamp with min > max",
        Conv2d::new(conv_geom(), &w, None, Activation::Clamp { min: 2.0, max: 1.0 }),
        Error::Kernel { source: KernelError::InvalidClamp { min, max }, .. } if *min == 2.0 && *max == 1.0,
        ["min = 2", "max = 1"]
    );
    refuse!(
        "Conv2d clamp with a NaN bound",
        Conv2d::new(conv_geom(), &w, None, Activation::Clamp { min: 0.0, max: f32::NAN }),
        Error::Kernel { source: KernelError::InvalidClamp { max, .. }, .. } if max.is_nan(),
        ["NaN"]
    );
}

#[test]
fn depthwise_pointwise_separable_dense_planning() {
    let dw = Conv2dGeometry::depthwise(1, 8, 8, 4, 3, 3);
    refuse!(
        "DepthwiseConv2d given out_c 8 != in_c 4",
        DepthwiseConv2d::new(Conv2dGeometry { out_c: 8, ..dw }, &[0.0; 36], None, Activation::None),
        Error::Kernel {
            op: "DepthwiseConv2d",
            source: KernelError::Unsupported { kernel: "depthwise", what: "out_c", value: 8, expected: 4 }
        },
        ["depthwise", "out_c", "8"]
    );
    refuse!(
        "DepthwiseConv2d given groups 1 (a dense geometry)",
        DepthwiseConv2d::new(dw.with_groups(1), &[0.0; 36], None, Activation::None),
        Error::Kernel {
            source: KernelError::Unsupported { kernel: "depthwise", what: "groups", value: 1, expected: 4 },
            ..
        },
        ["groups = 4, got 1"]
    );
    refuse!(
        "DepthwiseConv2d weights of 35 for 36",
        DepthwiseConv2d::new(dw, &[0.0; 35], None, Activation::None),
        Error::Kernel {
            op: "DepthwiseConv2d",
            source: KernelError::LengthMismatch { what: "weights", expected: 36, actual: 35 }
        },
        ["weights", "35", "36"]
    );
    refuse!(
        "DepthwiseConv2d stride 0",
        DepthwiseConv2d::new(dw.with_stride(0, 0), &[0.0; 36], None, Activation::None),
        Error::Kernel { source: KernelError::Zero { what: "stride_h" }, .. },
        ["stride_h"]
    );

    let s = Shape4::new(1, 4, 4, 3);
    refuse!(
        "PointwiseConv2d out_c 0",
        PointwiseConv2d::new(s, 0, &[], None, Activation::None),
        Error::Kernel { op: "PointwiseConv2d", source: KernelError::Zero { what: "out_c" } },
        ["out_c is 0"]
    );
    refuse!(
        "PointwiseConv2d input with c = 0",
        PointwiseConv2d::new(Shape4::new(1, 4, 4, 0), 2, &[], None, Activation::None),
        Error::Tensor(TensorError::ZeroDim { dim: "c" }),
        ["dimension c"]
    );
    refuse!(
        "PointwiseConv2d weights of 5 for 2x3",
        PointwiseConv2d::new(s, 2, &[0.0; 5], None, Activation::None),
        Error::Kernel { source: KernelError::LengthMismatch { what: "weights", expected: 6, actual: 5 }, .. },
        ["weights", "5", "6"]
    );
    refuse!(
        "PointwiseConv2d bias of 3 for 2",
        PointwiseConv2d::new(s, 2, &[0.0; 6], Some(&[0.0; 3]), Activation::None),
        Error::Kernel { source: KernelError::LengthMismatch { what: "bias", expected: 2, actual: 3 }, .. },
        ["bias", "3", "2"]
    );
    let huge = Shape4::new(usize::MAX / 2, 3, 1, 1);
    refuse!(
        "PointwiseConv2d input whose element count overflows",
        PointwiseConv2d::new(huge, 2, &[0.0; 2], None, Activation::None),
        Error::Tensor(TensorError::Overflow { .. }),
        [&huge.to_string()]
    );
    refuse!(
        "PointwiseConv2d weight count out_c * in_c overflows",
        PointwiseConv2d::new(Shape4::new(1, 1, 1, 1 << 33), 1 << 33, &[], None, Activation::None),
        Error::Kernel { source: KernelError::Overflow { .. }, .. },
        ["overflows"]
    );

    let input = Shape4::new(1, 6, 6, 3);
    let p3 = SeparablePass1d::new(3, 1);
    let sep = |row: SeparablePass1d, col: SeparablePass1d, rw: &[f32], cw: &[f32], b: Option<&[f32]>| {
        SeparableConv2d::new(input, row, col, rw, cw, b, Activation::None)
    };
    for (what, pass) in [
        ("kernel", SeparablePass1d { kernel: 0, ..p3 }),
        ("stride", SeparablePass1d { stride: 0, ..p3 }),
        ("dilation", SeparablePass1d { dilation: 0, ..p3 }),
    ] {
        refuse!(
            &format!("SeparableConv2d row {what} 0"),
            sep(pass, p3, &[0.0; 9], &[0.0; 9], None),
            Error::Kernel { op: "SeparableConv2d", source: KernelError::Zero { what: wh } } if *wh == what,
            [&format!("{what} is 0")]
        );
    }
    refuse!(
        "SeparableConv2d row weights of 8 for 9",
        sep(p3, p3, &[0.0; 8], &[0.0; 9], None),
        Error::Kernel { source: KernelError::LengthMismatch { what: "weights", expected: 9, actual: 8 }, .. },
        ["weights", "8", "9"]
    );
    refuse!(
        "SeparableConv2d column weights of 10 for 9",
        sep(p3, p3, &[0.0; 9], &[0.0; 10], None),
        Error::Kernel {
            source: KernelError::LengthMismatch { what: "weights", expected: 9, actual: 10 },
            ..
        },
        ["weights", "10", "9"]
    );
    refuse!(
        "SeparableConv2d bias of 2 for 3",
        sep(p3, p3, &[0.0; 9], &[0.0; 9], Some(&[0.0; 2])),
        Error::Kernel { source: KernelError::LengthMismatch { what: "bias", expected: 3, actual: 2 }, .. },
        ["bias", "2", "3"]
    );
    refuse!(
        "SeparableConv2d column kernel 9 taller than the padded input 8",
        sep(p3, SeparablePass1d::new(9, 1), &[0.0; 9], &[0.0; 27], None),
        Error::Kernel {
            source: KernelError::KernelLargerThanInput { axis: "height", kernel_extent: 9, padded_input: 8 },
            ..
        },
        ["height", "9", "8"]
    );
    refuse!(
        "SeparableConv2d clamp min > max",
        SeparableConv2d::new(
            input,
            p3,
            p3,
            &[0.0; 9],
            &[0.0; 9],
            None,
            Activation::Clamp { min: 1.0, max: -1.0 }
        ),
        Error::Kernel { source: KernelError::InvalidClamp { .. }, .. },
        ["min = 1", "max = -1"]
    );

    refuse!(
        "Dense in_features 0",
        Dense::new(1, 0, 2, &[], None, Activation::None),
        Error::Kernel { op: "Dense", source: KernelError::Zero { what: "in_features" } },
        ["in_features"]
    );
    refuse!(
        "Dense out_features 0",
        Dense::new(1, 2, 0, &[], None, Activation::None),
        Error::Kernel { op: "Dense", source: KernelError::Zero { what: "out_features" } },
        ["out_features"]
    );
    refuse!(
        "Dense batch 0",
        Dense::new(0, 2, 2, &[0.0; 4], None, Activation::None),
        Error::Tensor(TensorError::ZeroDim { dim: "n" }),
        ["dimension n"]
    );
    refuse!(
        "Dense weights of 7 for 2x4",
        Dense::new(1, 4, 2, &[0.0; 7], None, Activation::None),
        Error::Kernel { source: KernelError::LengthMismatch { what: "weights", expected: 8, actual: 7 }, .. },
        ["weights", "7", "8"]
    );
    refuse!(
        "Dense bias of 1 for 2",
        Dense::new(1, 4, 2, &[0.0; 8], Some(&[0.0]), Activation::None),
        Error::Kernel { source: KernelError::LengthMismatch { what: "bias", expected: 2, actual: 1 }, .. },
        ["bias", "1", "2"]
    );
    refuse!(
        "Dense batch * in_features overflows",
        Dense::new(usize::MAX / 2, 4, 2, &[0.0; 8], None, Activation::None),
        Error::Tensor(TensorError::Overflow { .. }),
        ["overflows"]
    );
}

#[test]
fn elementwise_and_pool_planning() {
    let zero = Shape4::new(1, 0, 4, 2);
    refuse!(
        "Add of a shape with h = 0",
        Add::new(zero, Activation::None),
        Error::Tensor(TensorError::ZeroDim { dim: "h" }),
        ["dimension h"]
    );
    refuse!(
        "ActivationOp of a shape with c = 0",
        ActivationOp::new(Shape4::new(1, 2, 2, 0), Activation::Relu),
        Error::Tensor(TensorError::ZeroDim { dim: "c" }),
        ["dimension c"]
    );
    refuse!(
        "GlobalAvgPool of a shape with n = 0",
        GlobalAvgPool::new(Shape4::new(0, 2, 2, 2)),
        Error::Tensor(TensorError::ZeroDim { dim: "n" }),
        ["dimension n"]
    );
    let huge = Shape4::new(usize::MAX, usize::MAX, 1, 1);
    refuse!(
        "GlobalAvgPool of a shape that overflows",
        GlobalAvgPool::new(huge),
        Error::Tensor(TensorError::Overflow { .. }),
        ["overflows"]
    );
    let s = Shape4::new(1, 2, 2, 2);
    refuse!(
        "Add with clamp min > max",
        Add::new(s, Activation::Clamp { min: 6.0, max: 0.0 }),
        Error::Kernel { op: "Add", source: KernelError::InvalidClamp { .. } },
        ["min = 6", "max = 0"]
    );
    refuse!(
        "ActivationOp with a NaN clamp bound",
        ActivationOp::new(s, Activation::Clamp { min: f32::NAN, max: 1.0 }),
        Error::Kernel { source: KernelError::InvalidClamp { min, .. }, .. } if min.is_nan(),
        ["NaN"]
    );
}

#[test]
fn unavailable_tier_is_refused_by_every_op() {
    for isa in unavailable_tiers() {
        let name = isa.name();
        let is_isa = |e: &Error| matches!(e, Error::IsaUnavailable { isa: i, .. } if *i == isa);
        let s = Shape4::new(1, 4, 4, 2);
        let dw = Conv2dGeometry::depthwise(1, 4, 4, 2, 3, 3);
        let results: Vec<(&str, Result<(), Error>)> = vec![
            ("Conv2d", Conv2d::with_isa(isa, dw, &[0.0; 18], None, Activation::None).map(drop)),
            (
                "DepthwiseConv2d",
                DepthwiseConv2d::with_isa(isa, dw, &[0.0; 18], None, Activation::None).map(drop),
            ),
            (
                "PointwiseConv2d",
                PointwiseConv2d::with_isa(isa, s, 2, &[0.0; 4], None, Activation::None).map(drop),
            ),
            (
                "SeparableConv2d",
                SeparableConv2d::with_isa(
                    isa,
                    s,
                    SeparablePass1d::new(3, 1),
                    SeparablePass1d::new(3, 1),
                    &[0.0; 6],
                    &[0.0; 6],
                    None,
                    Activation::None,
                )
                .map(drop),
            ),
            ("Dense", Dense::with_isa(isa, 1, 2, 2, &[0.0; 4], None, Activation::None).map(drop)),
            ("Add", Add::with_isa(isa, s, Activation::None).map(drop)),
            ("ActivationOp", ActivationOp::with_isa(isa, s, Activation::Relu).map(drop)),
            ("GlobalAvgPool", GlobalAvgPool::with_isa(isa, s).map(drop)),
        ];
        for (op, r) in results {
            let err = refuse!(&format!("{op} planned for {name}"), r, Error::IsaUnavailable { .. }, [name]);
            assert!(is_isa(&err), "{op}: {err:?}");
        }
        let m = graph_model(vec![(OpSpec::Activation(Activation::Relu), vec![0])]);
        refuse!(
            &format!("Graph planned for {name}"),
            Graph::plan(&m, GraphOptions::default().with_isa(isa)),
            Error::IsaUnavailable { .. },
            [name]
        );
    }
}

// -------------------------------------------------------------------------------------------
// Ops: running
// -------------------------------------------------------------------------------------------

/// Runs `f` on a sentinel-filled output of `shape` and checks that it is refused with a
/// ShapeMismatch naming `what` and the given shape, and that the output is untouched.
fn refuse_run(
    label: &str,
    out_shape: Shape4,
    what_expected: &str,
    f: impl FnOnce(TensorViewMut<'_>) -> Result<(), Error>,
) {
    let mut out = sentinel(out_shape.len().unwrap());
    let view = TensorViewMut::new(out_shape, &mut out).unwrap();
    let err = refuse!(label, f(view), Error::ShapeMismatch { .. }, [what_expected]);
    let Error::ShapeMismatch { what, .. } = &err else { unreachable!() };
    assert!(what_expected.starts_with(what), "{label}: names {what}, not {what_expected}");
    assert_untouched(label, &out);
}

#[test]
fn ops_running_with_wrong_shapes() {
    let g = conv_geom();
    let conv = Conv2d::new(g, &[0.1; 288], None, Activation::None).unwrap();
    let (in_s, out_s) = (conv.input_shape(), conv.output_shape()); // 1x8x8x4 -> 1x6x6x8
    let good_in = Tensor::zeros(in_s).unwrap();
    let wrong_in = Tensor::zeros(Shape4::new(1, 8, 8, 5)).unwrap();
    refuse_run("Conv2d input 1x8x8x5", out_s, "input has shape 1x8x8x5", |o| conv.run(wrong_in.view(), o));
    refuse_run("Conv2d output 1x6x6x7", Shape4::new(1, 6, 6, 7), "output has shape 1x6x6x7", |o| {
        conv.run(good_in.view(), o)
    });
    // Same element count (288), different shape.
    refuse_run("Conv2d output 1x6x8x6", Shape4::new(1, 6, 8, 6), "output has shape 1x6x8x6", |o| {
        conv.run(good_in.view(), o)
    });
    let same_count_in = Tensor::zeros(Shape4::new(1, 4, 8, 8)).unwrap();
    refuse_run("Conv2d input 1x4x8x8 (same count)", out_s, "input has shape 1x4x8x8", |o| {
        conv.run(same_count_in.view(), o)
    });

    let dw_g = Conv2dGeometry::depthwise(1, 8, 8, 4, 3, 3).with_padding(Padding2d::uniform(1));
    let dw = DepthwiseConv2d::new(dw_g, &[0.1; 36], None, Activation::None).unwrap();
    refuse_run("DepthwiseConv2d output 1x8x4x8 (same count)", Shape4::new(1, 8, 4, 8), "output", |o| {
        dw.run(good_in.view(), o)
    });
    refuse_run("DepthwiseConv2d input 2x8x8x4", dw.output_shape(), "input has shape 2x8x8x4", |o| {
        dw.run(Tensor::zeros(Shape4::new(2, 8, 8, 4)).unwrap().view(), o)
    });

    let pw = PointwiseConv2d::new(in_s, 2, &[0.1; 8], None, Activation::None).unwrap();
    refuse_run("PointwiseConv2d output 1x8x8x4", Shape4::new(1, 8, 8, 4), "output has shape 1x8x8x4", |o| {
        pw.run(good_in.view(), o)
    });
    refuse_run("PointwiseConv2d output 1x16x4x2 (same count)", Shape4::new(1, 16, 4, 2), "output", |o| {
        pw.run(good_in.view(), o)
    });

    let sin = Shape4::new(1, 6, 6, 3);
    let p3 = SeparablePass1d::new(3, 1);
    let sep = SeparableConv2d::new(sin, p3, p3, &[0.1; 9], &[0.1; 9], None, Activation::None).unwrap();
    let sep_in = Tensor::zeros(sin).unwrap();
    refuse_run("SeparableConv2d output 1x3x12x3 (same count)", Shape4::new(1, 3, 12, 3), "output", |o| {
        sep.run(sep_in.view(), o)
    });
    for len in [sep.scratch_len() - 1, sep.scratch_len() + 1] {
        let mut out = sentinel(sep.output_shape().len().unwrap());
        let mut scratch = sentinel(len);
        let view = TensorViewMut::new(sep.output_shape(), &mut out).unwrap();
        refuse!(
            &format!("SeparableConv2d scratch of {len}"),
            sep.run_with_scratch(sep_in.view(), view, &mut scratch),
            Error::Kernel {
                op: "SeparableConv2d",
                source: KernelError::LengthMismatch { what: "scratch", expected: 108, actual }
            } if *actual == len,
            ["scratch", &len.to_string(), "108"]
        );
        assert_untouched("separable output", &out);
        assert_untouched("separable scratch", &scratch);
    }

    let dense = Dense::new(2, 4, 3, &[0.1; 12], None, Activation::None).unwrap();
    refuse_run("Dense input 1x2x1x4 (same count)", dense.output_shape(), "input has shape 1x2x1x4", |o| {
        dense.run(Tensor::zeros(Shape4::new(1, 2, 1, 4)).unwrap().view(), o)
    });

    let s = Shape4::new(1, 2, 2, 2);
    let add = Add::new(s, Activation::None).unwrap();
    let a = Tensor::zeros(s).unwrap();
    let b_wrong = Tensor::zeros(Shape4::new(1, 2, 4, 1)).unwrap();
    refuse_run("Add b 1x2x4x1 (same count)", s, "b has shape 1x2x4x1", |o| {
        add.run(a.view(), b_wrong.view(), o)
    });
    let act = ActivationOp::new(s, Activation::Relu6).unwrap();
    refuse_run("ActivationOp output 1x1x4x2 (same count)", Shape4::new(1, 1, 4, 2), "output", |o| {
        act.run(a.view(), o)
    });
    // The parallel entry points check the same things before any band runs.
    let threads = Threads::new(3, false).unwrap();
    refuse_run("Conv2d run_par output 1x6x8x6 (same count)", Shape4::new(1, 6, 8, 6), "output", |o| {
        threads.run(|par| conv.run_par(good_in.view(), o, par))
    });
    refuse_run("PointwiseConv2d run_par input 1x8x8x5", pw.output_shape(), "input has shape 1x8x8x5", |o| {
        threads.run(|par| pw.run_par(wrong_in.view(), o, par))
    });
    let mut out = sentinel(sep.output_shape().len().unwrap());
    let mut scratch = sentinel(sep.scratch_len() - 3);
    let view = TensorViewMut::new(sep.output_shape(), &mut out).unwrap();
    refuse!(
        "SeparableConv2d run_par scratch of 105",
        threads.run(|par| sep.run_par_with_scratch(sep_in.view(), view, &mut scratch, par)),
        Error::Kernel {
            source: KernelError::LengthMismatch { what: "scratch", expected: 108, actual: 105 },
            ..
        },
        ["scratch", "105", "108"]
    );
    assert_untouched("separable run_par output", &out);
    assert_untouched("separable run_par scratch", &scratch);
    let pool = GlobalAvgPool::new(Shape4::new(2, 4, 4, 3)).unwrap();
    let pool_in = Tensor::zeros(Shape4::new(2, 4, 4, 3)).unwrap();
    refuse_run("GlobalAvgPool output 1x1x2x3 (same count)", Shape4::new(1, 1, 2, 3), "output", |o| {
        pool.run(pool_in.view(), o)
    });
}

// -------------------------------------------------------------------------------------------
// NaN / Inf weights: valid, propagated per IEEE 754
// -------------------------------------------------------------------------------------------

#[test]
fn nan_and_inf_weights_plan_and_propagate() {
    // Pointwise on the reference tier: pixel 0 = [1, 1, 1], pixel 1 = [0, 1, 1].
    let s = Shape4::new(1, 1, 2, 3);
    let w = [f32::NAN, 1.0, 1.0, f32::INFINITY, 1.0, 1.0, 1.0, 1.0, 1.0];
    let pw = PointwiseConv2d::with_isa(Isa::Scalar, s, 3, &w, None, Activation::None).unwrap();
    let input = Tensor::from_vec(s, vec![1.0, 1.0, 1.0, 0.0, 1.0, 1.0]).unwrap();
    let mut out = Tensor::zeros(pw.output_shape()).unwrap();
    pw.run(input.view(), out.view_mut()).unwrap();
    let o = out.as_slice();
    assert!(o[0].is_nan() && o[3].is_nan(), "NaN weight must give NaN: {o:?}");
    assert_eq!(o[1], f32::INFINITY, "1 * inf = inf: {o:?}");
    assert!(o[4].is_nan(), "0 * inf = NaN: {o:?}");
    assert_eq!((o[2], o[5]), (3.0, 2.0), "{o:?}");

    // Dense with a NaN and an Inf bias.
    let dense =
        Dense::with_isa(Isa::Scalar, 1, 2, 2, &[1.0; 4], Some(&[f32::NAN, f32::INFINITY]), Activation::None)
            .unwrap();
    let x = Tensor::from_vec(dense.input_shape(), vec![1.0, 2.0]).unwrap();
    let mut y = Tensor::zeros(dense.output_shape()).unwrap();
    dense.run(x.view(), y.view_mut()).unwrap();
    assert!(y.as_slice()[0].is_nan() && y.as_slice()[1] == f32::INFINITY, "{:?}", y.as_slice());

    // Dense-path Conv2d: 3×3 on a 3×3 image, one NaN tap for channel 0, all +Inf for channel 1.
    let g = Conv2dGeometry::new(1, 3, 3, 1, 2, 3, 3);
    let mut cw = vec![1.0; 18];
    cw[4] = f32::NAN;
    cw[9..].fill(f32::INFINITY);
    let conv = Conv2d::with_isa(Isa::Scalar, g, &cw, None, Activation::None).unwrap();
    let x = Tensor::from_vec(conv.input_shape(), vec![1.0; 9]).unwrap();
    let mut y = Tensor::zeros(conv.output_shape()).unwrap();
    conv.run(x.view(), y.view_mut()).unwrap();
    assert!(y.as_slice()[0].is_nan() && y.as_slice()[1] == f32::INFINITY, "{:?}", y.as_slice());

    // Depthwise 3×3 pad 1 on 4×4 ones: channel 0 has NaN at tap (0, 0), channel 1 +Inf at tap
    // (2, 2). A tap over the padding contributes nothing, so the NaN reaches only the outputs
    // whose tap (0, 0) lies inside the image, and the Inf only those whose tap (2, 2) does.
    let dw_g = Conv2dGeometry::depthwise(1, 4, 4, 2, 3, 3).with_padding(Padding2d::uniform(1));
    let mut dw_w = vec![1.0; 18]; // [kh][kw][C]
    dw_w[0] = f32::NAN;
    dw_w[(2 * 3 + 2) * 2 + 1] = f32::INFINITY;
    let x = Tensor::from_vec(Shape4::new(1, 4, 4, 2), vec![1.0; 32]).unwrap();
    let reference = {
        let op = DepthwiseConv2d::with_isa(Isa::Scalar, dw_g, &dw_w, None, Activation::None).unwrap();
        let mut y = Tensor::zeros(op.output_shape()).unwrap();
        op.run(x.view(), y.view_mut()).unwrap();
        y
    };
    let inside = |v: usize| (1..=4).contains(&v); // padded coordinate inside the 4×4 image
    for oy in 0..4 {
        for ox in 0..4 {
            let valid =
                (oy..oy + 3).filter(|&y| inside(y)).count() * (ox..ox + 3).filter(|&x| inside(x)).count();
            let c0 = reference.get(0, oy, ox, 0).unwrap();
            let c1 = reference.get(0, oy, ox, 1).unwrap();
            if inside(oy) && inside(ox) {
                assert!(c0.is_nan(), "({oy}, {ox}) ch0 = {c0}");
            } else {
                assert_eq!(c0, valid as f32, "({oy}, {ox}) ch0");
            }
            if inside(oy + 2) && inside(ox + 2) {
                assert_eq!(c1, f32::INFINITY, "({oy}, {ox}) ch1");
            } else {
                assert_eq!(c1, valid as f32, "({oy}, {ox}) ch1");
            }
        }
    }
    // Every available tier agrees with the reference on where NaN and Inf appear.
    for isa in Isa::available() {
        let op = DepthwiseConv2d::with_isa(isa, dw_g, &dw_w, None, Activation::None).unwrap();
        let mut y = Tensor::zeros(op.output_shape()).unwrap();
        op.run(x.view(), y.view_mut()).unwrap();
        for (i, (&got, &want)) in y.as_slice().iter().zip(reference.as_slice()).enumerate() {
            let same = (got.is_nan() && want.is_nan()) || got == want;
            assert!(same, "{isa} ({}): element {i} is {got}, the reference {want}", op.kernel_name());
        }
    }
}

// -------------------------------------------------------------------------------------------
// Graph
// -------------------------------------------------------------------------------------------

/// A model over an NHWC 1×4×4×2 input: value 0 is the input, node i writes value i + 1.
fn graph_model(ops: Vec<(OpSpec, Vec<usize>)>) -> Model {
    let nodes: Vec<Node> = ops
        .into_iter()
        .enumerate()
        .map(|(i, (op, inputs))| Node { name: format!("n{i}"), op, inputs, output: i + 1 })
        .collect();
    let output = nodes.len();
    Model {
        name: "bad".into(),
        value_names: (0..=output).map(|v| format!("v{v}")).collect(),
        input: 0,
        input_shape: Shape4::new(1, 4, 4, 2),
        batch: Batch::Symbolic { name: "N".into() },
        layout: Layout::Nhwc,
        output,
        nodes,
    }
}

/// A 1×1 convolution 2 → `out_c` channels with the given stride.
fn conv1x1(out_c: usize, stride: usize) -> OpSpec {
    OpSpec::Conv(ConvSpec {
        out_c,
        kernel: (1, 1),
        stride: (stride, stride),
        dilation: (1, 1),
        padding: PadSpec::Explicit(Padding2d::ZERO),
        groups: 1,
        weights: vec![0.5; 2 * out_c],
        bias: None,
        activation: Activation::None,
    })
}

fn scalar() -> GraphOptions {
    GraphOptions::default().with_isa(Isa::Scalar)
}

#[test]
fn graph_planning_and_running() {
    // n0 reads v2, which n1 computes later.
    let m = graph_model(vec![(OpSpec::Activation(Activation::Relu), vec![2]), (conv1x1(2, 1), vec![0])]);
    refuse!(
        "node reading a value computed later",
        Graph::plan(&m, scalar()),
        Error::Graph { node, .. } if node == "n0",
        ["\"n0\"", "\"v2\"", "before it is computed"]
    );
    let m = graph_model(vec![(OpSpec::Activation(Activation::Relu), vec![7])]);
    refuse!(
        "node reading a value that does not exist",
        Graph::plan(&m, scalar()),
        Error::Graph { node, .. } if node == "n0",
        ["\"n0\"", "value 7"]
    );
    let m = graph_model(vec![(conv1x1(3, 1), vec![0]), (OpSpec::Add(Activation::None), vec![0, 1])]);
    refuse!(
        "Add of 1x4x4x2 and 1x4x4x3",
        Graph::plan(&m, scalar()),
        Error::Graph { node, .. } if node == "n1",
        ["\"n1\"", "1x4x4x2", "1x4x4x3"]
    );
    let dense = OpSpec::Dense(DenseSpec {
        out_features: 2,
        weights: vec![0.0; 64],
        bias: None,
        activation: Activation::None,
    });
    let m = graph_model(vec![(dense, vec![0])]);
    refuse!(
        "Dense on a 1x4x4x2 map",
        Graph::plan(&m, scalar()),
        Error::Graph { node, .. } if node == "n0",
        ["\"n0\"", "flat input", "1x4x4x2"]
    );
    let m = graph_model(vec![(conv1x1(2, 2), vec![0]), (OpSpec::Concat, vec![0, 1])]);
    refuse!(
        "Concat of 1x4x4x2 and 1x2x2x2",
        Graph::plan(&m, scalar()),
        Error::Graph { node, .. } if node == "n1",
        ["\"n1\"", "1x4x4x2", "1x2x2x2"]
    );
    let OpSpec::Conv(mut bad) = conv1x1(3, 1) else { unreachable!() };
    bad.weights.pop();
    let m = graph_model(vec![(OpSpec::Conv(bad), vec![0])]);
    let err = refuse!(
        "conv node with 5 weights for 6",
        Graph::plan(&m, scalar()),
        Error::Node { node, .. } if node == "n0",
        ["\"n0\"", "weights", "5", "6"]
    );
    let Error::Node { source, .. } = &err else { unreachable!() };
    assert!(matches!(kernel_err(source, "Conv2d"), KernelError::LengthMismatch { what: "weights", .. }));

    let m = graph_model(vec![(OpSpec::Add(Activation::None), vec![0])]);
    refuse!(
        "Add node with one input",
        Graph::plan(&m, scalar()),
        Error::Graph { node, .. } if node == "n0",
        ["\"n0\"", "takes 2 input(s), got 1"]
    );
    let mut m = graph_model(vec![(OpSpec::Activation(Activation::Relu), vec![0])]);
    m.nodes[0].output = 0;
    refuse!(
        "node overwriting the model input",
        Graph::plan(&m, scalar()),
        Error::Graph { node, .. } if node == "n0",
        ["\"v0\"", "already defined"]
    );
    let m = graph_model(vec![(OpSpec::Activation(Activation::Relu), vec![0])]);
    refuse!(
        "graph planned for 0 threads",
        Graph::plan(&m, scalar().with_threads(0)),
        Error::InvalidParam { what: "threads", value: 0, .. },
        ["threads = 0"]
    );
    // Running: a valid graph given buffers of the wrong lengths.
    let m = graph_model(vec![(conv1x1(3, 1), vec![0])]);
    let mut g = Graph::plan(&m, scalar()).unwrap();
    let mut out = sentinel(48);
    refuse!(
        "input of 31 elements for 32",
        g.run(&[1.0; 31], &mut out),
        Error::Graph { node, .. } if node == "<model input>",
        ["31", "32"]
    );
    assert_untouched("graph input", &out);
    let mut out = sentinel(49);
    refuse!(
        "output of 49 elements for 48",
        g.run(&[1.0; 32], &mut out),
        Error::Graph { node, .. } if node == "<model output>",
        ["49", "48"]
    );
    assert_untouched("graph output", &out);
    let mut out = sentinel(47);
    refuse!(
        "profiled run with an output of 47 elements for 48",
        g.run_profiled(&[1.0; 32], &mut out),
        Error::Graph { node, .. } if node == "<model output>",
        ["47", "48"]
    );
    assert_untouched("graph output (profiled)", &out);
}

/// A pool whose padding is not smaller than its window (a window could lie wholly in the
/// padding, giving -inf or 0/0) is refused by the graph planner, as the ONNX importer refuses
/// it.
#[test]
fn graph_pool_padding_not_smaller_than_window() {
    for kind in [PoolKind::Max, PoolKind::Avg { count_include_pad: false }] {
        let pool = OpSpec::Pool(PoolSpec {
            kind,
            kernel: (1, 1),
            stride: (1, 1),
            padding: PadSpec::Explicit(Padding2d::uniform(1)),
        });
        let m = graph_model(vec![(pool, vec![0])]);
        refuse!(
            &format!("{kind:?} pool 1x1 with padding 1"),
            Graph::plan(&m, scalar()),
            Error::Graph { node, .. } if node == "n0",
            ["\"n0\"", "padding"]
        );
    }
}

// -------------------------------------------------------------------------------------------
// ONNX
// -------------------------------------------------------------------------------------------

fn decode(name: &str) -> ModelProto {
    ModelProto::decode(fixture_bytes(name).as_slice()).unwrap()
}

fn import(m: &ModelProto) -> Result<Model, OnnxError> {
    load_model(&m.encode_to_vec())
}

fn graph_of(m: &mut ModelProto) -> &mut proto::GraphProto {
    m.graph.as_mut().unwrap()
}

fn initializer<'a>(m: &'a mut ModelProto, name: &str) -> &'a mut proto::TensorProto {
    graph_of(m).initializer.iter_mut().find(|t| t.name() == name).unwrap()
}

#[test]
fn onnx_models() {
    refuse!("empty bytes", load_model(b""), OnnxError::MissingOpset, ["no opset"]);
    refuse!("garbage bytes", load_model(&[0xff; 64]), OnnxError::Decode(_), ["protobuf decoding failed"]);
    let bytes = fixture_bytes("mobilenet_tiny.onnx");
    refuse!(
        "half of mobilenet_tiny.onnx",
        load_model(&bytes[..bytes.len() / 2]),
        OnnxError::Decode(_),
        ["protobuf"]
    );

    let mut m = decode("mobilenet_tiny.onnx");
    graph_of(&mut m).node.iter_mut().find(|n| n.name() == "stem").unwrap().op_type = Some("FancyConv".into());
    refuse!(
        "unsupported operator",
        import(&m),
        OnnxError::UnsupportedOp { node, op_type, .. } if node == "stem" && op_type == "FancyConv",
        ["\"stem\"", "FancyConv"]
    );

    let mut m = decode("dw_same.onnx");
    let w = initializer(&mut m, "dw.weight");
    let n = w.raw_data.as_ref().unwrap().len() / 4;
    w.data_type = Some(DataType::Double as i32);
    w.raw_data = Some((0..n).flat_map(|_| 0.5f64.to_le_bytes()).collect());
    refuse!(
        "a DOUBLE initializer",
        import(&m),
        OnnxError::Tensor { tensor, node, .. } if tensor == "dw.weight" && node == "dw",
        ["\"dw.weight\"", "DOUBLE"]
    );

    let mut m = decode("dw_same.onnx");
    let input = &mut graph_of(&mut m).input[0];
    let Some(TypeValue::TensorType(t)) = input.r#type.as_mut().unwrap().value.as_mut() else { panic!() };
    t.shape.as_mut().unwrap().dim[2].value = Some(DimValue::DimParam("height".into()));
    refuse!(
        "a symbolic height with no size given (a symbolic batch binds to 1)",
        import(&m),
        OnnxError::Input { name, .. } if name == "input",
        ["\"input\"", "dimension 2", "height", "--input-shape"]
    );

    let mut m = decode("dw_same.onnx");
    let w = initializer(&mut m, "dw.weight");
    w.data_location = Some(DataLocation::External as i32);
    w.raw_data = None;
    w.external_data.push(proto::StringStringEntryProto {
        key: Some("location".into()),
        value: Some("weights.bin".into()),
    });
    refuse!(
        "external data",
        import(&m),
        OnnxError::ExternalData { tensor, .. } if tensor == "dw.weight",
        ["\"dw.weight\"", "EXTERNAL"]
    );

    refuse!(
        "opset 10 fixture",
        load_model(&fixture_bytes("clip_attrs_opset10.onnx")),
        OnnxError::UnsupportedOpset { version: 10 },
        ["opset 10", "11 to 21"]
    );
    let mut m = decode("dw_same.onnx");
    m.opset_import.iter_mut().for_each(|o| o.version = Some(99));
    refuse!("opset 99", import(&m), OnnxError::UnsupportedOpset { version: 99 }, ["opset 99"]);
}

// -------------------------------------------------------------------------------------------
// npy
// -------------------------------------------------------------------------------------------

/// small_f32.npy with its descriptor changed to float16 (which the reader refuses).
fn float16_npy() -> Vec<u8> {
    common::with_descr(&fixture_bytes("npy/small_f32.npy"), b"<f2")
}

#[test]
fn npy_files() {
    refuse!(
        "float16 file",
        read_npy(&float16_npy()),
        NpyError::UnsupportedDtype { descr } if descr.contains("<f2"),
        ["<f2"]
    );
    let mut bytes = fixture_bytes("npy/small_f32.npy");
    bytes[1..6].copy_from_slice(b"NUMPX");
    refuse!(
        "bad magic",
        read_npy(&bytes),
        NpyError::BadMagic { found } if found.as_slice() == b"\x93NUMPX",
        ["NUMPX"]
    );
    refuse!("PNG bytes", read_npy(b"\x89PNG\r\n\x1a\n"), NpyError::BadMagic { .. }, ["PNG"]);
    let bytes = fixture_bytes("npy/small_f32.npy");
    let cut = &bytes[..bytes.len() - 4];
    refuse!(
        "data short by one float",
        read_npy(cut),
        NpyError::DataLength { expected: 96, actual: 92, .. },
        ["92", "96"]
    );
    refuse!(
        "cut inside the header",
        read_npy(&bytes[..40]),
        NpyError::Truncated { what: "header", available: 40, .. },
        ["header", "40"]
    );
    let mut fortran = fixture_bytes("npy/fortran_f32.npy");
    let pos = fortran.windows(4).position(|w| w == b"True").expect("fortran_order: True");
    fortran[pos..pos + 4].copy_from_slice(b"Tru?");
    refuse!(
        "fortran_order garbage",
        read_npy(&fortran),
        NpyError::MalformedHeader { header, .. } if header.contains("Tru?"),
        ["malformed npy header", "Tru?"]
    );
}

// -------------------------------------------------------------------------------------------
// CLI
// -------------------------------------------------------------------------------------------

/// Runs the built `sepconv` with `args` and no inherited `SEPCONV_ISA`, through the test's
/// own runner (see `common::runner`).
fn sepconv(args: &[&str]) -> Output {
    common::run_sepconv(args, None)
}

/// Names of the entries of `dir`.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn cli_refuses_bad_inputs() {
    let dir = temp_dir("cli");
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let out = dir.join("y.npy");
    let out_s = s(&out);
    let model = s(&fixture("mobilenet_tiny.onnx"));
    let f2 = dir.join("x_f2.npy");
    std::fs::write(&f2, float16_npy()).unwrap();
    let f2 = s(&f2);
    let wrong_shape = s(&fixture("dw_same.input.npy"));
    let truncated = dir.join("truncated.npy");
    let bytes = fixture_bytes("mobilenet_tiny.input.npy");
    std::fs::write(&truncated, &bytes[..bytes.len() - 8]).unwrap();
    let truncated = s(&truncated);
    let missing = s(&dir.join("no_such_model.onnx"));
    let unavailable = unavailable_tiers()[0].name();
    let as_dir = dir.join("out_is_a_dir.npy");
    std::fs::create_dir(&as_dir).unwrap();
    let as_dir_s = s(&as_dir);
    let no_dir = s(&dir.join("no_such_dir").join("y.npy"));
    let garbage = dir.join("garbage.onnx");
    std::fs::write(&garbage, [0xffu8; 64]).unwrap();
    let garbage = s(&garbage);
    let missing_input = s(&dir.join("no_such_input.npy"));
    let dotdot = format!("{}/..", s(&as_dir));
    let opset10 = s(&fixture("clip_attrs_opset10.onnx"));
    let fast = ["--iters", "1", "--warmup", "0"];

    let cases: Vec<(&str, Vec<&str>, Vec<&str>)> = vec![
        ("missing model file", vec![&missing, "--output", &out_s], vec!["no_such_model.onnx"]),
        ("float16 input", vec![&model, "--input", &f2, "--output", &out_s], vec!["<f2"]),
        (
            "input of the wrong shape",
            vec![&model, "--input", &wrong_shape, "--output", &out_s],
            vec!["dw_same.input.npy", "shape"],
        ),
        ("truncated input", vec![&model, "--input", &truncated, "--output", &out_s], vec!["npy data has"]),
        ("unknown --isa", vec![&model, "--isa", "bogus", "--output", &out_s], vec!["`bogus`"]),
        ("unavailable --isa", vec![&model, "--isa", unavailable, "--output", &out_s], vec![unavailable]),
        ("output in a nonexistent directory", vec![&model, "--output", &no_dir], vec!["no_such_dir"]),
        ("output path is a directory", vec![&model, "--output", &as_dir_s], vec!["out_is_a_dir.npy"]),
        ("output path naming no file", vec![&model, "--output", &dotdot], vec!["does not name a file"]),
        ("garbage model file", vec![&garbage, "--output", &out_s], vec!["protobuf decoding failed"]),
        (
            "missing input file",
            vec![&model, "--input", &missing_input, "--output", &out_s],
            vec!["no_such_input.npy"],
        ),
        ("opset 10 model", vec![&opset10, "--output", &out_s], vec!["opset 10"]),
    ];
    for (label, args, needles) in cases {
        let mut full = vec!["run"];
        full.extend(args);
        full.extend(fast);
        let before = entries(&dir);
        let o = sepconv(&full);
        assert_eq!(o.status.code(), Some(1), "{label}: {}", describe(&o));
        let err = String::from_utf8(o.stderr.clone()).expect("stderr is UTF-8");
        assert!(err.starts_with("error:") && err.lines().count() == 1, "{label}: stderr {err:?}");
        for needle in needles {
            assert!(err.contains(needle), "{label}: {needle:?} not in {err:?}");
        }
        assert!(o.stdout.is_empty(), "{label}: {}", describe(&o));
        assert!(!out.exists(), "{label}: an output file was written");
        assert_eq!(entries(&dir), before, "{label}: the directory changed (a temporary file left?)");
        assert!(entries(&as_dir).is_empty(), "{label}: something was written into {as_dir_s}");
    }

    // Usage errors exit 2 and write nothing either.
    let usage: [&[&str]; 5] = [
        &["run"],
        &["run", &model, "--builtin", "mobilenet_v2", "--output", &out_s],
        &["run", &model, "--iters", "0", "--output", &out_s],
        &["run", &model, "--no-such-flag", "--output", &out_s],
        &["run", &model, "--threads", "0", "--output", &out_s],
    ];
    for args in usage {
        let o = sepconv(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", describe(&o));
        assert!(String::from_utf8_lossy(&o.stderr).contains("error"), "{args:?}: {}", describe(&o));
        assert!(o.stdout.is_empty(), "{args:?}: {}", describe(&o));
        assert!(!out.exists(), "{args:?}: an output file was written");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Found by fuzzing (`fuzz/fuzz_targets/plan_ops.rs`): a 1-tap separable pass with a huge
/// dilation is a valid geometry (one tap has no spacing) and must run like dilation 1 on every
/// tier, without an arithmetic overflow in the kernels.
#[test]
fn one_tap_separable_pass_with_huge_dilation_runs_like_dilation_one() {
    use sepconv::ops::{SeparableConv2d, SeparablePass1d};
    let shape = sepconv::tensor::Shape4::new(1, 3, 5, 2);
    let input = sepconv::tensor::Tensor::from_vec(shape, (0..30).map(|v| v as f32 - 7.0).collect()).unwrap();
    let huge =
        SeparablePass1d { kernel: 1, stride: 1, dilation: usize::MAX / 3, pad_before: 0, pad_after: 0 };
    let unit = SeparablePass1d { dilation: 1, ..huge };
    for isa in sepconv::dispatch::Isa::available() {
        let run = |pass: SeparablePass1d| {
            let op = SeparableConv2d::with_isa(
                isa,
                shape,
                pass,
                pass,
                &[0.5, -2.0],
                &[1.5, 0.25],
                Some(&[0.1, 0.2]),
                sepconv::kernels::Activation::None,
            )
            .unwrap();
            let mut out = sepconv::tensor::Tensor::zeros(op.output_shape()).unwrap();
            op.run(input.view(), out.view_mut()).unwrap();
            out
        };
        assert_eq!(run(huge), run(unit), "{isa}");
        // A 3-tap pass with a huge stride (one output along the axis: width 5, height 3) runs
        // like its canonical stride (3 = padded 5 - extent 3 + 1).
        let strided =
            |stride| SeparablePass1d { kernel: 3, stride, dilation: 1, pad_before: 0, pad_after: 0 };
        let run3 = |pass: SeparablePass1d| {
            let op = SeparableConv2d::with_isa(
                isa,
                shape,
                pass,
                pass,
                &[0.5, -2.0, 1.0, 0.25, 3.0, -1.0],
                &[1.5, 0.25, -0.5, 2.0, 1.0, 0.75],
                None,
                sepconv::kernels::Activation::None,
            )
            .unwrap();
            let mut out = sepconv::tensor::Tensor::zeros(op.output_shape()).unwrap();
            op.run(input.view(), out.view_mut()).unwrap();
            out
        };
        assert_eq!(run3(strided(usize::MAX / 2)), run3(strided(3)), "{isa}");
    }
}

/// The Conv2dGeometry form of the fuzz finding above: a huge stride on an axis with one output,
/// or a huge dilation on an axis with a one-tap kernel, is a valid geometry that must run like
/// its canonical form (`Conv2dGeometry::canonical`) on every tier and every conv route (dense,
/// grouped, depthwise), without an arithmetic overflow in the kernels.
#[test]
fn huge_stride_or_dilation_on_a_single_output_axis_runs_like_its_canonical_form() {
    let shape = Shape4::new(2, 3, 5, 4);
    let input = Tensor::from_vec(shape, (0..120).map(|v| (v % 13) as f32 - 6.0).collect()).unwrap();
    // (label, geometry with huge values, the same convolution with small ones)
    let cases: Vec<(&str, Conv2dGeometry, Conv2dGeometry)> = [(1, 6), (2, 4), (4, 4)]
        .into_iter()
        .flat_map(|(groups, out_c)| {
            let base = Conv2dGeometry { kernel_h: 2, ..Conv2dGeometry::new(2, 3, 5, 4, out_c, 2, 1) }
                .with_groups(groups)
                .with_padding(Padding2d { top: 1, left: 1, bottom: 0, right: 2 });
            // Height: padded 4, extent 2 -> one output for any stride >= 3; width: 1 tap.
            [
                ("stride_h", base.with_stride(usize::MAX / 3, 2), base.with_stride(3, 2)),
                ("dilation_w", base.with_dilation(1, usize::MAX / 5), base.with_dilation(1, 1)),
                (
                    "both",
                    base.with_stride(usize::MAX - 1, 1).with_dilation(2, usize::MAX),
                    base.with_stride(2, 1).with_dilation(2, 1),
                ),
            ]
        })
        .collect();
    for (what, huge, unit) in cases {
        assert_eq!(huge.validate().unwrap(), unit.validate().unwrap(), "{what}: dims differ");
        assert_eq!(huge.canonical().validate(), huge.validate(), "{what}: canonical dims differ");
        let w: Vec<f32> =
            (0..huge.validate().unwrap().weight_len).map(|v| (v % 7) as f32 * 0.25 - 0.5).collect();
        let bias: Vec<f32> = (0..huge.out_c).map(|v| v as f32 * 0.125).collect();
        let mut expected = None;
        for isa in Isa::available() {
            let run = |g: Conv2dGeometry| {
                let op = Conv2d::with_isa(isa, g, &w, Some(&bias), Activation::None).unwrap();
                let mut out = Tensor::zeros(op.output_shape()).unwrap();
                op.run(input.view(), out.view_mut()).unwrap();
                out
            };
            let (a, b) = (run(huge), run(unit));
            assert_eq!(a, b, "{what} groups {} on {isa}", huge.groups);
            // Every tier agrees with the first (scalar reference) one within float rounding.
            let first = expected.get_or_insert_with(|| a.clone());
            for (x, y) in first.as_slice().iter().zip(a.as_slice()) {
                assert!(
                    (x - y).abs() <= 1e-5 * (1.0 + x.abs()),
                    "{what} groups {} on {isa}: {x} vs {y}",
                    huge.groups
                );
            }
        }
    }
}
