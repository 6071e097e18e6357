//! Error paths of the scalar reference kernels: every invalid argument returns the specific
//! [`KernelError`] variant, and `output` is left untouched (it is filled with a sentinel
//! beforehand and compared bit for bit afterwards).

use sepconv_kernels::reference::{self, DenseShape, GlobalPoolShape};
use sepconv_kernels::{
    Activation, Conv2dGeometry, KernelError, Padding2d, PointwiseShape, SeparableAxis, SeparablePassGeometry,
};

const SENTINEL: f32 = -12345.625;
const HALF: usize = usize::MAX / 2;

/// Runs `f` on an output of `len` sentinels; checks the error and that nothing was written.
#[track_caller]
fn expect_err(len: usize, expected: KernelError, f: impl FnOnce(&mut [f32]) -> Result<(), KernelError>) {
    let got = run_on_sentinels(len, f);
    assert_eq!(got, expected);
}

/// As [`expect_err`] for errors that cannot be compared with `==` (NaN fields): returns the
/// error for the caller to `matches!`.
#[track_caller]
fn run_on_sentinels(len: usize, f: impl FnOnce(&mut [f32]) -> Result<(), KernelError>) -> KernelError {
    let mut out = vec![SENTINEL; len];
    let err = f(&mut out).expect_err("the kernel accepted invalid arguments");
    assert!(
        out.iter().all(|v| v.to_bits() == SENTINEL.to_bits()),
        "output was written before the error {err:?} was returned"
    );
    err
}

fn zero(what: &'static str) -> KernelError {
    KernelError::Zero { what }
}

fn len_mismatch(what: &'static str, expected: usize, actual: usize) -> KernelError {
    KernelError::LengthMismatch { what, expected, actual }
}

// --- Fixtures: one valid call per kernel; each test breaks exactly one thing. ----------------

/// conv2d: 1×4×4×4 → 3×3 kernel, pad 1, groups 2, out_c 6 → 1×4×4×6.
/// input 64, weights 6·3·3·2 = 108, bias 6, output 96.
fn conv_geometry() -> Conv2dGeometry {
    Conv2dGeometry::new(1, 4, 4, 4, 6, 3, 3).with_padding(Padding2d::uniform(1)).with_groups(2)
}

fn conv2d_call(
    g: Conv2dGeometry,
    input: usize,
    weights: usize,
    bias: Option<usize>,
    act: Activation,
) -> impl FnOnce(&mut [f32]) -> Result<(), KernelError> {
    move |out| {
        let b = bias.map(|n| vec![0.5; n]);
        reference::conv2d(&g, &vec![1.0; input], &vec![1.0; weights], b.as_deref(), act, out)
    }
}

/// dwconv: 1×4×4×3, 3×3, pad 1 → 1×4×4×3. input 48, weights 27, bias 3, output 48.
fn dw_geometry() -> Conv2dGeometry {
    Conv2dGeometry::depthwise(1, 4, 4, 3, 3, 3).with_padding(Padding2d::uniform(1))
}

fn dwconv_call(
    g: Conv2dGeometry,
    input: usize,
    weights: usize,
    bias: Option<usize>,
    act: Activation,
) -> impl FnOnce(&mut [f32]) -> Result<(), KernelError> {
    move |out| {
        let b = bias.map(|n| vec![0.5; n]);
        reference::dwconv(&g, &vec![1.0; input], &vec![1.0; weights], b.as_deref(), act, out)
    }
}

/// Separable pass: 1×3×5×2, k 3, pad 1/1 → row: 1×3×5×2, column: 1×3×5×2.
/// input 30, weights 6, bias 2, output 30.
fn pass_geometry(axis: SeparableAxis) -> SeparablePassGeometry {
    SeparablePassGeometry {
        axis,
        batch: 1,
        in_h: 3,
        in_w: 5,
        channels: 2,
        kernel: 3,
        stride: 1,
        dilation: 1,
        pad_before: 1,
        pad_after: 1,
    }
}

fn pass_call(
    g: SeparablePassGeometry,
    input: usize,
    weights: usize,
    bias: Option<usize>,
    act: Activation,
) -> impl FnOnce(&mut [f32]) -> Result<(), KernelError> {
    move |out| {
        let b = bias.map(|n| vec![0.5; n]);
        let (i, w) = (vec![1.0; input], vec![1.0; weights]);
        match g.axis {
            SeparableAxis::Row => reference::row_pass(&g, &i, &w, b.as_deref(), act, out),
            SeparableAxis::Column => reference::col_pass(&g, &i, &w, b.as_deref(), act, out),
        }
    }
}

/// Like `pass_call` but calls `row_pass` or `col_pass` regardless of `g.axis`.
fn pass_call_as(
    row: bool,
    g: SeparablePassGeometry,
    input: usize,
    weights: usize,
) -> impl FnOnce(&mut [f32]) -> Result<(), KernelError> {
    move |out| {
        let (i, w) = (vec![1.0; input], vec![1.0; weights]);
        if row {
            reference::row_pass(&g, &i, &w, None, Activation::None, out)
        } else {
            reference::col_pass(&g, &i, &w, None, Activation::None, out)
        }
    }
}

/// pointwise: 5 pixels, 3 → 4. input 15, weights 12, bias 4, output 20.
const PW: PointwiseShape = PointwiseShape { pixels: 5, in_c: 3, out_c: 4 };

fn pointwise_call(
    s: PointwiseShape,
    input: usize,
    weights: usize,
    bias: Option<usize>,
    act: Activation,
) -> impl FnOnce(&mut [f32]) -> Result<(), KernelError> {
    move |out| {
        let b = bias.map(|n| vec![0.5; n]);
        reference::pointwise(&s, &vec![1.0; input], &vec![1.0; weights], b.as_deref(), act, out)
    }
}

/// dense: batch 2, 3 → 4. input 6, weights 12, bias 4, output 8.
const DENSE: DenseShape = DenseShape { batch: 2, in_features: 3, out_features: 4 };

fn dense_call(
    s: DenseShape,
    input: usize,
    weights: usize,
    bias: Option<usize>,
    act: Activation,
) -> impl FnOnce(&mut [f32]) -> Result<(), KernelError> {
    move |out| {
        let b = bias.map(|n| vec![0.5; n]);
        reference::dense(&s, &vec![1.0; input], &vec![1.0; weights], b.as_deref(), act, out)
    }
}

/// global_avg_pool: batch 2, 6 pixels, 3 channels. input 36, output 6.
const POOL: GlobalPoolShape = GlobalPoolShape { batch: 2, pixels: 6, channels: 3 };

fn pool_call(s: GlobalPoolShape, input: usize) -> impl FnOnce(&mut [f32]) -> Result<(), KernelError> {
    move |out| reference::global_avg_pool(&s, &vec![1.0; input], out)
}

const NONE: Activation = Activation::None;

/// Runs a call that must succeed and checks that it wrote every output element.
#[track_caller]
fn expect_ok(len: usize, f: impl FnOnce(&mut [f32]) -> Result<(), KernelError>) {
    let mut out = vec![SENTINEL; len];
    f(&mut out).unwrap();
    assert!(out.iter().all(|v| v.to_bits() != SENTINEL.to_bits()), "an output element was not written");
}

#[test]
fn fixtures_are_valid() {
    // The baseline calls succeed, so every error below comes from the one broken parameter.
    expect_ok(96, conv2d_call(conv_geometry(), 64, 108, Some(6), NONE));
    expect_ok(48, dwconv_call(dw_geometry(), 48, 27, Some(3), NONE));
    expect_ok(30, pass_call(pass_geometry(SeparableAxis::Row), 30, 6, Some(2), NONE));
    expect_ok(30, pass_call(pass_geometry(SeparableAxis::Column), 30, 6, Some(2), NONE));
    expect_ok(20, pointwise_call(PW, 15, 12, Some(4), NONE));
    expect_ok(8, dense_call(DENSE, 6, 12, Some(4), NONE));
    expect_ok(6, pool_call(POOL, 36));
    expect_ok(3, |out| reference::add(&[1.0; 3], &[2.0; 3], NONE, out));
    expect_ok(3, |out| reference::activation(Activation::Relu6, &[1.0; 3], out));
}

// --- Zero sizes --------------------------------------------------------------------------------

#[test]
fn kernel_size_zero() {
    let g = Conv2dGeometry { kernel_h: 0, ..conv_geometry() };
    expect_err(96, zero("kernel_h"), conv2d_call(g, 64, 0, None, NONE));
    let g = Conv2dGeometry { kernel_w: 0, ..conv_geometry() };
    expect_err(96, zero("kernel_w"), conv2d_call(g, 64, 0, None, NONE));
    let g = Conv2dGeometry { kernel_h: 0, ..dw_geometry() };
    expect_err(48, zero("kernel_h"), dwconv_call(g, 48, 0, None, NONE));
    for axis in [SeparableAxis::Row, SeparableAxis::Column] {
        let g = SeparablePassGeometry { kernel: 0, ..pass_geometry(axis) };
        expect_err(30, zero("kernel"), pass_call(g, 30, 0, None, NONE));
    }
}

#[test]
fn stride_zero() {
    let g = conv_geometry().with_stride(0, 1);
    expect_err(96, zero("stride_h"), conv2d_call(g, 64, 108, None, NONE));
    let g = conv_geometry().with_stride(1, 0);
    expect_err(96, zero("stride_w"), conv2d_call(g, 64, 108, None, NONE));
    let g = dw_geometry().with_stride(1, 0);
    expect_err(48, zero("stride_w"), dwconv_call(g, 48, 27, None, NONE));
    for axis in [SeparableAxis::Row, SeparableAxis::Column] {
        let g = SeparablePassGeometry { stride: 0, ..pass_geometry(axis) };
        expect_err(30, zero("stride"), pass_call(g, 30, 6, None, NONE));
    }
}

#[test]
fn dilation_zero() {
    let g = conv_geometry().with_dilation(0, 1);
    expect_err(96, zero("dilation_h"), conv2d_call(g, 64, 108, None, NONE));
    let g = conv_geometry().with_dilation(1, 0);
    expect_err(96, zero("dilation_w"), conv2d_call(g, 64, 108, None, NONE));
    let g = dw_geometry().with_dilation(0, 1);
    expect_err(48, zero("dilation_h"), dwconv_call(g, 48, 27, None, NONE));
    for axis in [SeparableAxis::Row, SeparableAxis::Column] {
        let g = SeparablePassGeometry { dilation: 0, ..pass_geometry(axis) };
        expect_err(30, zero("dilation"), pass_call(g, 30, 6, None, NONE));
    }
}

#[test]
fn batch_zero() {
    let g = Conv2dGeometry { batch: 0, ..conv_geometry() };
    expect_err(96, zero("batch"), conv2d_call(g, 0, 108, None, NONE));
    let g = Conv2dGeometry { batch: 0, ..dw_geometry() };
    expect_err(48, zero("batch"), dwconv_call(g, 0, 27, None, NONE));
    for axis in [SeparableAxis::Row, SeparableAxis::Column] {
        let g = SeparablePassGeometry { batch: 0, ..pass_geometry(axis) };
        expect_err(30, zero("batch"), pass_call(g, 0, 6, None, NONE));
    }
    let s = PointwiseShape { pixels: 0, ..PW };
    expect_err(20, zero("pixels"), pointwise_call(s, 0, 12, None, NONE));
    let s = DenseShape { batch: 0, ..DENSE };
    expect_err(8, zero("batch"), dense_call(s, 0, 12, None, NONE));
    let s = GlobalPoolShape { batch: 0, ..POOL };
    expect_err(6, zero("batch"), pool_call(s, 0));
}

#[test]
fn other_dimensions_zero() {
    for (g, what) in [
        (Conv2dGeometry { in_h: 0, ..conv_geometry() }, "in_h"),
        (Conv2dGeometry { in_w: 0, ..conv_geometry() }, "in_w"),
        (Conv2dGeometry { in_c: 0, ..conv_geometry() }, "in_c"),
        (Conv2dGeometry { out_c: 0, ..conv_geometry() }, "out_c"),
    ] {
        expect_err(96, zero(what), conv2d_call(g, 0, 0, None, NONE));
    }
    let g = SeparablePassGeometry { channels: 0, ..pass_geometry(SeparableAxis::Row) };
    expect_err(30, zero("channels"), pass_call(g, 0, 0, None, NONE));
    expect_err(20, zero("in_c"), pointwise_call(PointwiseShape { in_c: 0, ..PW }, 0, 0, None, NONE));
    expect_err(20, zero("out_c"), pointwise_call(PointwiseShape { out_c: 0, ..PW }, 15, 0, None, NONE));
    let s = DenseShape { in_features: 0, ..DENSE };
    expect_err(8, zero("in_features"), dense_call(s, 0, 0, None, NONE));
    let s = DenseShape { out_features: 0, ..DENSE };
    expect_err(8, zero("out_features"), dense_call(s, 6, 0, None, NONE));
    expect_err(6, zero("pixels"), pool_call(GlobalPoolShape { pixels: 0, ..POOL }, 0));
    expect_err(6, zero("channels"), pool_call(GlobalPoolShape { channels: 0, ..POOL }, 0));
}

// --- Groups --------------------------------------------------------------------------------------

#[test]
fn groups_zero() {
    let g = conv_geometry().with_groups(0);
    expect_err(96, zero("groups"), conv2d_call(g, 64, 108, None, NONE));
    // dwconv validates the geometry before checking that it is depthwise.
    let g = dw_geometry().with_groups(0);
    expect_err(48, zero("groups"), dwconv_call(g, 48, 27, None, NONE));
}

#[test]
fn groups_not_dividing_in_c() {
    // in_c 6, out_c 4, groups 4: 4 divides out_c but not in_c.
    let g = Conv2dGeometry::new(1, 4, 4, 6, 4, 3, 3).with_groups(4);
    let err = KernelError::GroupsMismatch { groups: 4, channels: 6, what: "in_c" };
    expect_err(64, err, conv2d_call(g, 96, 36, None, NONE));
}

#[test]
fn groups_not_dividing_out_c() {
    // in_c 4, out_c 6, groups 4: 4 divides in_c but not out_c.
    let g = Conv2dGeometry::new(1, 4, 4, 4, 6, 3, 3).with_groups(4);
    let err = KernelError::GroupsMismatch { groups: 4, channels: 6, what: "out_c" };
    expect_err(64, err, conv2d_call(g, 64, 54, None, NONE));
}

// --- Slice lengths ------------------------------------------------------------------------------

#[test]
fn conv2d_wrong_lengths() {
    let g = conv_geometry();
    expect_err(96, len_mismatch("input", 64, 63), conv2d_call(g, 63, 108, Some(6), NONE));
    expect_err(96, len_mismatch("input", 64, 65), conv2d_call(g, 65, 108, Some(6), NONE));
    // Dense-conv weights (out_c·kh·kw·in_c = 216) are wrong for groups = 2 (108).
    expect_err(96, len_mismatch("weights", 108, 216), conv2d_call(g, 64, 216, Some(6), NONE));
    expect_err(96, len_mismatch("bias", 6, 4), conv2d_call(g, 64, 108, Some(4), NONE));
    expect_err(96, len_mismatch("bias", 6, 0), conv2d_call(g, 64, 108, Some(0), NONE));
    expect_err(95, len_mismatch("output", 96, 95), conv2d_call(g, 64, 108, Some(6), NONE));
    expect_err(97, len_mismatch("output", 96, 97), conv2d_call(g, 64, 108, Some(6), NONE));
}

#[test]
fn dwconv_wrong_lengths() {
    let g = dw_geometry();
    expect_err(48, len_mismatch("input", 48, 47), dwconv_call(g, 47, 27, Some(3), NONE));
    expect_err(48, len_mismatch("weights", 27, 9), dwconv_call(g, 48, 9, Some(3), NONE));
    expect_err(48, len_mismatch("bias", 3, 1), dwconv_call(g, 48, 27, Some(1), NONE));
    expect_err(16, len_mismatch("output", 48, 16), dwconv_call(g, 48, 27, Some(3), NONE));
}

#[test]
fn separable_wrong_lengths() {
    for axis in [SeparableAxis::Row, SeparableAxis::Column] {
        let g = pass_geometry(axis);
        expect_err(30, len_mismatch("input", 30, 31), pass_call(g, 31, 6, Some(2), NONE));
        expect_err(30, len_mismatch("weights", 6, 3), pass_call(g, 30, 3, Some(2), NONE));
        expect_err(30, len_mismatch("bias", 2, 3), pass_call(g, 30, 6, Some(3), NONE));
        expect_err(29, len_mismatch("output", 30, 29), pass_call(g, 30, 6, Some(2), NONE));
    }
    // A stride-2 row pass shrinks only the width: out 1×3×3×2 = 18, not 30.
    let g = SeparablePassGeometry { stride: 2, ..pass_geometry(SeparableAxis::Row) };
    expect_err(30, len_mismatch("output", 18, 30), pass_call(g, 30, 6, None, NONE));
}

#[test]
fn pointwise_wrong_lengths() {
    expect_err(20, len_mismatch("input", 15, 14), pointwise_call(PW, 14, 12, Some(4), NONE));
    expect_err(20, len_mismatch("weights", 12, 13), pointwise_call(PW, 15, 13, Some(4), NONE));
    expect_err(20, len_mismatch("bias", 4, 3), pointwise_call(PW, 15, 12, Some(3), NONE));
    expect_err(15, len_mismatch("output", 20, 15), pointwise_call(PW, 15, 12, Some(4), NONE));
}

#[test]
fn dense_wrong_lengths() {
    expect_err(8, len_mismatch("input", 6, 3), dense_call(DENSE, 3, 12, Some(4), NONE));
    expect_err(8, len_mismatch("weights", 12, 11), dense_call(DENSE, 6, 11, Some(4), NONE));
    expect_err(8, len_mismatch("bias", 4, 8), dense_call(DENSE, 6, 12, Some(8), NONE));
    expect_err(4, len_mismatch("output", 8, 4), dense_call(DENSE, 6, 12, Some(4), NONE));
}

#[test]
fn pool_wrong_lengths() {
    expect_err(6, len_mismatch("input", 36, 35), pool_call(POOL, 35));
    expect_err(7, len_mismatch("output", 6, 7), pool_call(POOL, 36));
}

#[test]
fn add_and_activation_wrong_lengths() {
    expect_err(3, len_mismatch("b", 3, 2), |out| reference::add(&[1.0; 3], &[1.0; 2], NONE, out));
    expect_err(4, len_mismatch("output", 3, 4), |out| reference::add(&[1.0; 3], &[1.0; 3], NONE, out));
    expect_err(2, len_mismatch("output", 3, 2), |out| {
        reference::activation(Activation::Relu, &[1.0; 3], out)
    });
}

// --- Kernel larger than the padded input ------------------------------------------------------

#[test]
fn kernel_larger_than_padded_input() {
    // 5×5 kernel on a 4×4 input with no padding: extent 5 > 4 (height is checked first).
    let g = Conv2dGeometry::new(1, 4, 4, 1, 1, 5, 5);
    let err = KernelError::KernelLargerThanInput { axis: "height", kernel_extent: 5, padded_input: 4 };
    expect_err(1, err, conv2d_call(g, 16, 25, None, NONE));
    // 3 taps with dilation 3 span 7 columns > 4 + 1 + 1 = 6 (the height, 1 tap, fits).
    let g = Conv2dGeometry::new(1, 4, 4, 1, 1, 1, 3).with_dilation(1, 3).with_padding(Padding2d::uniform(1));
    let err = KernelError::KernelLargerThanInput { axis: "width", kernel_extent: 7, padded_input: 6 };
    expect_err(16, err, conv2d_call(g, 16, 3, None, NONE));
    // Depthwise: the same 5×5 on 3×3 padded by 0 top / 1 bottom → padded height 4.
    let g =
        Conv2dGeometry::depthwise(1, 3, 3, 2, 5, 5).with_padding(Padding2d { bottom: 1, ..Padding2d::ZERO });
    let err = KernelError::KernelLargerThanInput { axis: "height", kernel_extent: 5, padded_input: 4 };
    expect_err(18, err, dwconv_call(g, 18, 50, None, NONE));
    // Row pass: 4 taps on a width of 2 padded 1 + 0 = 3.
    let g = SeparablePassGeometry { in_w: 2, kernel: 4, pad_after: 0, ..pass_geometry(SeparableAxis::Row) };
    let err = KernelError::KernelLargerThanInput { axis: "width", kernel_extent: 4, padded_input: 3 };
    expect_err(12, err, pass_call(g, 12, 8, None, NONE));
    // Column pass: 2 taps dilation 4 (extent 5) on a height of 3 padded 0 + 1 = 4.
    let g = SeparablePassGeometry {
        kernel: 2,
        dilation: 4,
        pad_before: 0,
        ..pass_geometry(SeparableAxis::Column)
    };
    let err = KernelError::KernelLargerThanInput { axis: "height", kernel_extent: 5, padded_input: 4 };
    expect_err(30, err, pass_call(g, 30, 4, None, NONE));
}

// --- Invalid clamp ------------------------------------------------------------------------------

/// A kernel call on a given output buffer.
type BoxedCall = Box<dyn FnOnce(&mut [f32]) -> Result<(), KernelError>>;

/// Every kernel that takes an activation, with its output length, called with valid shapes
/// and `act`.
fn all_act_calls(act: Activation) -> Vec<(usize, BoxedCall)> {
    vec![
        (96, Box::new(conv2d_call(conv_geometry(), 64, 108, Some(6), act))),
        (48, Box::new(dwconv_call(dw_geometry(), 48, 27, Some(3), act))),
        (30, Box::new(pass_call(pass_geometry(SeparableAxis::Row), 30, 6, Some(2), act))),
        (30, Box::new(pass_call(pass_geometry(SeparableAxis::Column), 30, 6, Some(2), act))),
        (20, Box::new(pointwise_call(PW, 15, 12, Some(4), act))),
        (8, Box::new(dense_call(DENSE, 6, 12, Some(4), act))),
        (3, Box::new(move |out: &mut [f32]| reference::add(&[1.0; 3], &[2.0; 3], act, out))),
        (3, Box::new(move |out: &mut [f32]| reference::activation(act, &[1.0, -1.0, 7.0], out))),
        // In place: the "output" is the data itself, which must stay untouched too.
        (3, Box::new(move |out: &mut [f32]| reference::activation_in_place(act, out))),
    ]
}

#[test]
fn clamp_min_greater_than_max() {
    let act = Activation::Clamp { min: 1.0, max: -1.0 };
    for (i, (len, call)) in all_act_calls(act).into_iter().enumerate() {
        let err = run_on_sentinels(len, call);
        assert_eq!(err, KernelError::InvalidClamp { min: 1.0, max: -1.0 }, "call #{i}");
    }
}

#[test]
fn clamp_with_nan_bound() {
    for act in [
        Activation::Clamp { min: f32::NAN, max: 1.0 },
        Activation::Clamp { min: -1.0, max: f32::NAN },
        Activation::Clamp { min: f32::NAN, max: f32::NAN },
    ] {
        for (i, (len, call)) in all_act_calls(act).into_iter().enumerate() {
            let err = run_on_sentinels(len, call);
            // NaN != NaN, so compare the variant and the bounds by hand.
            let Activation::Clamp { min, max } = act else { unreachable!() };
            assert!(
                matches!(err, KernelError::InvalidClamp { min: m, max: x }
                    if m.to_bits() == min.to_bits() && x.to_bits() == max.to_bits()),
                "{act:?}, call #{i}: {err:?}"
            );
        }
    }
}

#[test]
fn valid_clamp_edge_cases_are_accepted() {
    // min == max and infinite bounds are valid clamps.
    for act in [
        Activation::Clamp { min: 2.0, max: 2.0 },
        Activation::Clamp { min: f32::NEG_INFINITY, max: f32::INFINITY },
        Activation::Clamp { min: f32::NEG_INFINITY, max: f32::NEG_INFINITY },
    ] {
        expect_ok(3, |out| reference::activation(act, &[1.0, -1.0, 7.0], out));
    }
}

// --- Unsupported geometries ---------------------------------------------------------------------

#[test]
fn dwconv_rejects_non_depthwise_geometry() {
    // A dense conv with in_c == out_c: groups 1 instead of 4.
    let g = Conv2dGeometry::new(1, 4, 4, 4, 4, 3, 3).with_padding(Padding2d::uniform(1));
    let err = KernelError::Unsupported { kernel: "dwconv", what: "groups", value: 1, expected: 4 };
    expect_err(64, err, dwconv_call(g, 64, 36, None, NONE));
    // Grouped but not depthwise: groups 2.
    let g = g.with_groups(2);
    let err = KernelError::Unsupported { kernel: "dwconv", what: "groups", value: 2, expected: 4 };
    expect_err(64, err, dwconv_call(g, 64, 36, None, NONE));
    // Depth multiplier 2 (out_c = 2·in_c, groups = in_c).
    let g = Conv2dGeometry::new(1, 4, 4, 4, 8, 3, 3).with_padding(Padding2d::uniform(1)).with_groups(4);
    let err = KernelError::Unsupported { kernel: "dwconv", what: "out_c", value: 8, expected: 4 };
    expect_err(128, err, dwconv_call(g, 64, 72, None, NONE));
}

#[test]
fn separable_pass_rejects_wrong_axis() {
    let g = pass_geometry(SeparableAxis::Column);
    let err = run_on_sentinels(30, pass_call_as(true, g, 30, 6));
    assert!(
        matches!(err, KernelError::Unsupported { kernel: "row_pass", value: 1, expected: 0, .. }),
        "row_pass on a column geometry: {err:?}"
    );
    let g = pass_geometry(SeparableAxis::Row);
    let err = run_on_sentinels(30, pass_call_as(false, g, 30, 6));
    assert!(
        matches!(err, KernelError::Unsupported { kernel: "col_pass", value: 0, expected: 1, .. }),
        "col_pass on a row geometry: {err:?}"
    );
}

// --- Overflow -----------------------------------------------------------------------------------

#[test]
fn dimension_products_overflowing_usize() {
    let overflow = |what| KernelError::Overflow { what };
    // in_h = usize::MAX / 2, in_w = 3: the extents fit, batch·in_h·in_w·in_c does not.
    let g = Conv2dGeometry::new(1, HALF, 3, 1, 1, 1, 1);
    expect_err(4, overflow("input length"), conv2d_call(g, 4, 1, None, NONE));
    let g = Conv2dGeometry::depthwise(1, HALF, 3, 2, 3, 3);
    expect_err(4, overflow("input length"), dwconv_call(g, 4, 18, None, NONE));
    // out_c = usize::MAX / 2 with a 3×3 kernel: the weights overflow (the input, 4, is fine).
    let g =
        Conv2dGeometry::new(1, 2, 2, 1, HALF, 1, 3).with_padding(Padding2d { left: 1, ..Padding2d::ZERO });
    expect_err(4, overflow("weight length"), conv2d_call(g, 4, 1, None, NONE));
    // 1×1 kernel, out_c = usize::MAX / 2: weights fit, 2·2·out_c outputs do not.
    let g = Conv2dGeometry::new(1, 2, 2, 1, HALF, 1, 1);
    expect_err(4, overflow("output length"), conv2d_call(g, 4, 1, None, NONE));
    // in_h = usize::MAX with padding: the padded extent itself overflows.
    let g = Conv2dGeometry::new(1, usize::MAX, 1, 1, 1, 1, 1).with_padding(Padding2d::uniform(1));
    expect_err(4, overflow("padded input extent"), conv2d_call(g, 4, 1, None, NONE));
    // dilation · (kernel - 1) overflows.
    let g = Conv2dGeometry::new(1, 4, 4, 1, 1, 3, 3).with_dilation(HALF + 1, 1);
    expect_err(4, overflow("dilated kernel extent"), conv2d_call(g, 16, 9, None, NONE));
    // Separable, pointwise, dense, pool.
    let g = SeparablePassGeometry { in_h: HALF, ..pass_geometry(SeparableAxis::Row) };
    expect_err(4, overflow("input length"), pass_call(g, 4, 6, None, NONE));
    let s = PointwiseShape { pixels: HALF, in_c: 3, out_c: 1 };
    expect_err(4, overflow("input length"), pointwise_call(s, 4, 3, None, NONE));
    let s = DenseShape { batch: HALF, in_features: 3, out_features: 1 };
    expect_err(4, overflow("input length"), dense_call(s, 4, 3, None, NONE));
    let s = GlobalPoolShape { batch: 2, pixels: HALF, channels: 2 };
    expect_err(4, overflow("input length"), pool_call(s, 4));
}

// --- Display ------------------------------------------------------------------------------------

#[test]
fn display_names_the_offending_value() {
    let msg = |e: KernelError| e.to_string();
    let err =
        reference::conv2d(&conv_geometry().with_stride(0, 1), &[], &[], None, NONE, &mut []).unwrap_err();
    let m = msg(err);
    assert!(m.contains("stride_h"), "{m}");

    let m = msg(len_mismatch("weights", 108, 216));
    assert!(m.contains("weights") && m.contains("108") && m.contains("216"), "{m}");

    let m = msg(KernelError::GroupsMismatch { groups: 4, channels: 6, what: "in_c" });
    assert!(m.contains("groups = 4") && m.contains("in_c = 6"), "{m}");

    let m = msg(KernelError::KernelLargerThanInput { axis: "width", kernel_extent: 7, padded_input: 6 });
    assert!(m.contains("width") && m.contains('7') && m.contains('6'), "{m}");

    let m = msg(KernelError::Unsupported { kernel: "dwconv", what: "groups", value: 1, expected: 4 });
    assert!(m.contains("dwconv") && m.contains("groups") && m.contains('1') && m.contains('4'), "{m}");

    let m = msg(KernelError::InvalidClamp { min: 1.5, max: -2.5 });
    assert!(m.contains("1.5") && m.contains("-2.5"), "{m}");

    let m = msg(KernelError::Overflow { what: "input length" });
    assert!(m.contains("input length"), "{m}");

    // Errors produced by the kernels themselves, not built by hand.
    let mut out = [0.0; 96];
    let err = reference::conv2d(&conv_geometry(), &[0.0; 64], &[0.0; 216], None, NONE, &mut out).unwrap_err();
    let m = msg(err);
    assert!(m.contains("weights") && m.contains("108") && m.contains("216"), "{m}");
    let mut out = [0.0; 3];
    let err =
        reference::activation(Activation::Clamp { min: 3.0, max: 1.0 }, &[0.0; 3], &mut out).unwrap_err();
    let m = msg(err);
    assert!(m.contains("min = 3") && m.contains("max = 1"), "{m}");
}

// --- Geometry helper ---------------------------------------------------------------------------

/// `geometry::conv_out_extent` is public: called directly (not through `validate()`), a zero
/// kernel, stride or dilation must still be a `Zero` error, never a division by zero.
#[test]
fn conv_out_extent_rejects_zero_parameters() {
    use sepconv_kernels::geometry::conv_out_extent;
    let stride0 = std::panic::catch_unwind(|| conv_out_extent("height", 5, 3, 0, 1, 0, 0));
    assert!(matches!(stride0, Ok(Err(KernelError::Zero { .. }))), "stride 0: {stride0:?}");
    let kernel0 = conv_out_extent("height", 5, 0, 1, 1, 0, 0);
    assert!(matches!(kernel0, Err(KernelError::Zero { .. })), "kernel 0: {kernel0:?}");
    let dilation0 = conv_out_extent("height", 5, 3, 1, 0, 0, 0);
    assert!(matches!(dilation0, Err(KernelError::Zero { .. })), "dilation 0: {dilation0:?}");
}
