//! Hand-worked cases for every scalar reference kernel: small integer-valued inputs and
//! weights, expected outputs written as literals, with the arithmetic of at least one element
//! shown in a comment so a reader can check it by hand.
//!
//! Conventions: activations NHWC, conv weights OHWI, depthwise weights `[kh][kw][C]`,
//! pointwise `[out_c][in_c]`, separable `[k][C]`, dense `[out][in]`. Convolutions are
//! cross-correlations (the kernel is not flipped): output `(oy, ox)` reads input
//! `(oy·stride + ky·dilation - pad_top, ox·stride + kx·dilation - pad_left)`.
//!
//! All values here are small integers (or exact binary fractions), so every result is exact
//! in `f32` and compared with `==`.

mod common;

use common::assert_same_values;
use sepconv_kernels::reference::{self, DenseShape, GlobalPoolShape};
use sepconv_kernels::{
    Activation, Conv2dGeometry, Padding2d, PointwiseShape, SeparableAxis, SeparablePassGeometry,
};

const INF: f32 = f32::INFINITY;
const NAN: f32 = f32::NAN;

/// Runs `conv2d` into a fresh buffer of the length `validate()` implies, checking the output
/// extent on the way.
fn run_conv2d(
    g: &Conv2dGeometry,
    out_hw: (usize, usize),
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
) -> Vec<f32> {
    let d = g.validate().unwrap();
    assert_eq!((d.out_h, d.out_w), out_hw, "output extent of {g:?}");
    let mut out = vec![f32::NAN; d.output_len];
    reference::conv2d(g, input, weights, bias, act, &mut out).unwrap();
    out
}

fn run_dwconv(
    g: &Conv2dGeometry,
    out_hw: (usize, usize),
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
) -> Vec<f32> {
    let d = g.validate().unwrap();
    assert_eq!((d.out_h, d.out_w), out_hw, "output extent of {g:?}");
    let mut out = vec![f32::NAN; d.output_len];
    reference::dwconv(g, input, weights, bias, act, &mut out).unwrap();
    out
}

fn run_pass(
    g: &SeparablePassGeometry,
    out_hw: (usize, usize),
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
) -> Vec<f32> {
    let d = g.validate().unwrap();
    assert_eq!((d.out_h, d.out_w), out_hw, "output extent of {g:?}");
    let mut out = vec![f32::NAN; d.output_len];
    match g.axis {
        SeparableAxis::Row => reference::row_pass(g, input, weights, bias, act, &mut out).unwrap(),
        SeparableAxis::Column => reference::col_pass(g, input, weights, bias, act, &mut out).unwrap(),
    }
    out
}

/// 1, 2, …, n as f32.
fn iota(n: usize) -> Vec<f32> {
    (1..=n).map(|v| v as f32).collect()
}

/// Every value repeated `c` times: turns a one-channel image into `c` identical channels (NHWC).
fn repeat_channels(v: &[f32], c: usize) -> Vec<f32> {
    v.iter().flat_map(|&x| std::iter::repeat_n(x, c)).collect()
}

// ---------------------------------------------------------------------------------------------
// conv2d
// ---------------------------------------------------------------------------------------------

#[test]
fn conv2d_dense_3x3_pad1_two_output_channels_with_bias() {
    // Input 1×3×3×1:      oc 0 weights (all ones)   oc 1 weights
    //   1 2 3             1 1 1                      1 2 3
    //   4 5 6             1 1 1                      4 5 6
    //   7 8 9             1 1 1                      7 8 9
    // bias = [1, -100]. Output (0,0) reads input rows/cols -1..=1 (the -1s are padding):
    //   oc 0: 1 + (1 + 2 + 4 + 5) = 13
    //   oc 1: -100 + w[1][1]·x[0][0] + w[1][2]·x[0][1] + w[2][1]·x[1][0] + w[2][2]·x[1][1]
    //       = -100 + 5·1 + 6·2 + 8·4 + 9·5 = -100 + 94 = -6
    // Centre (1,1), oc 1: -100 + Σ i·i (i = 1..9) = -100 + 285 = 185.
    let g = Conv2dGeometry::new(1, 3, 3, 1, 2, 3, 3).with_padding(Padding2d::uniform(1));
    let mut weights = vec![1.0; 9];
    weights.extend(iota(9));
    let out = run_conv2d(&g, (3, 3), &iota(9), &weights, Some(&[1.0, -100.0]), Activation::None);
    #[rustfmt::skip]
    let expected = [
        13.0, -6.0,   22.0, 54.0,   17.0, 6.0,
        28.0, 86.0,   46.0, 185.0,  34.0, 86.0,
        25.0, 6.0,    40.0, 54.0,   29.0, -6.0,
    ];
    assert_eq!(out, expected);

    // Same with ReLU: only the two negative elements change.
    let out = run_conv2d(&g, (3, 3), &iota(9), &weights, Some(&[1.0, -100.0]), Activation::Relu);
    #[rustfmt::skip]
    let expected = [
        13.0, 0.0,    22.0, 54.0,   17.0, 6.0,
        28.0, 86.0,   46.0, 185.0,  34.0, 86.0,
        25.0, 6.0,    40.0, 54.0,   29.0, 0.0,
    ];
    assert_eq!(out, expected);
}

#[test]
fn conv2d_2x2_stride2_batch2() {
    // Image 0 is 1..=16 (4×4, one channel), image 1 is its negation. Weights [1, 10, 100, 1000]
    // (w[ky][kx] = 10^(2ky + kx)) spell each 2×2 block as decimal digits:
    //   out[0][0] = 1·x[0][0] + 10·x[0][1] + 100·x[1][0] + 1000·x[1][1]
    //             = 1·1 + 10·2 + 100·5 + 1000·6 = 6521
    //   out[1][1] = 11 + 10·12 + 100·15 + 1000·16 = 17631
    let g = Conv2dGeometry::new(2, 4, 4, 1, 1, 2, 2).with_stride(2, 2);
    let mut input = iota(16);
    input.extend(iota(16).iter().map(|v| -v));
    let out = run_conv2d(&g, (2, 2), &input, &[1.0, 10.0, 100.0, 1000.0], None, Activation::None);
    assert_eq!(out, [6521.0, 8743.0, 15409.0, 17631.0, -6521.0, -8743.0, -15409.0, -17631.0]);
}

#[test]
fn conv2d_3x3_stride2_pad1() {
    // 5×5 input 1..=25, all-ones 3×3 kernel, stride 2, pad 1: out 3×3, each the sum of the
    // 3×3 window centred on input (2·oy, 2·ox), clipped at the border.
    //   out[0][0] = x[0][0] + x[0][1] + x[1][0] + x[1][1] = 1 + 2 + 6 + 7 = 16
    //   out[1][1] = 9 · x[2][2] = 9 · 13 = 117 (a full window sums to 9× its centre)
    //   out[2][2] = 19 + 20 + 24 + 25 = 88
    let g = Conv2dGeometry::new(1, 5, 5, 1, 1, 3, 3).with_stride(2, 2).with_padding(Padding2d::uniform(1));
    let out = run_conv2d(&g, (3, 3), &iota(25), &[1.0; 9], None, Activation::None);
    assert_eq!(out, [16.0, 33.0, 28.0, 69.0, 117.0, 87.0, 76.0, 123.0, 88.0]);
}

#[test]
fn conv2d_grouped_groups2() {
    // Input 1×2×1×4 (two rows, one column, four channels): row 0 = [1, 2, 3, 4],
    // row 1 = [5, 6, 7, 8]. Kernel 2×1, out_c = 4, groups = 2: oc 0, 1 read channels 0, 1;
    // oc 2, 3 read channels 2, 3. OHWI weights [oc][ky][0][i]:
    //   oc 0 and oc 2: ky 0 → [1, 10], ky 1 → [100, 1000] (digits); oc 1 and oc 3: all ones.
    //   oc 0 = 1·1 + 10·2 + 100·5 + 1000·6 = 6521      oc 1 = 1 + 2 + 5 + 6 = 14
    //   oc 2 = 1·3 + 10·4 + 100·7 + 1000·8 = 8743      oc 3 = 3 + 4 + 7 + 8 = 22
    let g = Conv2dGeometry::new(1, 2, 1, 4, 4, 2, 1).with_groups(2);
    let digits = [1.0, 10.0, 100.0, 1000.0];
    let ones = [1.0; 4];
    let weights = [digits, ones, digits, ones].concat();
    let out = run_conv2d(&g, (1, 1), &iota(8), &weights, None, Activation::None);
    assert_eq!(out, [6521.0, 14.0, 8743.0, 22.0]);
}

#[test]
fn conv2d_dilation2() {
    // 5×5 input 1..=25, 2×2 kernel with dilation 2 (taps 2 apart, extent 3): out 3×3.
    // Digit weights [1, 10, 100, 1000]:
    //   out[0][0] = 1·x[0][0] + 10·x[0][2] + 100·x[2][0] + 1000·x[2][2]
    //             = 1 + 10·3 + 100·11 + 1000·13 = 14131
    // Moving one column right adds 1 + 10 + 100 + 1000 = 1111; one row down adds 5·1111 = 5555.
    let g = Conv2dGeometry::new(1, 5, 5, 1, 1, 2, 2).with_dilation(2, 2);
    let out = run_conv2d(&g, (3, 3), &iota(25), &[1.0, 10.0, 100.0, 1000.0], None, Activation::None);
    #[rustfmt::skip]
    let expected = [
        14131.0, 15242.0, 16353.0,
        19686.0, 20797.0, 21908.0,
        25241.0, 26352.0, 27463.0,
    ];
    assert_eq!(out, expected);
}

#[test]
fn conv2d_multi_input_channel_ohwi_order() {
    // 1×1×2×3 input (one row, two pixels, three channels): [1, 2, 3], [4, 5, 6].
    // 1×2 kernel, out_c 2. OHWI: oc 0 = [[1, 10, 100], [1000, 0, 0]] (kx 0 then kx 1),
    // oc 1 = [[0, 0, 0], [1, 1, 1]].
    //   oc 0 = 1·1 + 10·2 + 100·3 + 1000·4 = 4321      oc 1 = 4 + 5 + 6 = 15
    let g = Conv2dGeometry::new(1, 1, 2, 3, 2, 1, 2);
    let weights = [1.0, 10.0, 100.0, 1000.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0];
    let out = run_conv2d(&g, (1, 1), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &weights, None, Activation::None);
    assert_eq!(out, [4321.0, 15.0]);
}

// ---------------------------------------------------------------------------------------------
// dwconv
// ---------------------------------------------------------------------------------------------

#[test]
fn dwconv_3x3_pad1_stride1() {
    // Two channels, both holding 1..=9 (3×3). HWC weights: channel 0 all ones with bias 100
    // (box sums + 100); channel 1 a single 1 at tap (ky 1, kx 2), no bias (0), which reads
    // x[oy][ox + 1]: a shift left, 0 where that falls in the right padding.
    //   ch 0 (0,0): 100 + 1 + 2 + 4 + 5 = 112         ch 1 (0,0): x[0][1] = 2
    //   ch 0 (1,1): 100 + 45 = 145                    ch 1 (0,2): x[0][3] = padding = 0
    let g = Conv2dGeometry::depthwise(1, 3, 3, 2, 3, 3).with_padding(Padding2d::uniform(1));
    let shift = [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0];
    let weights: Vec<f32> = shift.iter().flat_map(|&s| [1.0, s]).collect();
    let input = repeat_channels(&iota(9), 2);
    let out = run_dwconv(&g, (3, 3), &input, &weights, Some(&[100.0, 0.0]), Activation::None);
    #[rustfmt::skip]
    let expected = [
        112.0, 2.0,   121.0, 3.0,   116.0, 0.0,
        127.0, 5.0,   145.0, 6.0,   133.0, 0.0,
        124.0, 8.0,   139.0, 9.0,   128.0, 0.0,
    ];
    assert_eq!(out, expected);
}

#[test]
fn dwconv_3x3_stride2_asymmetric_padding() {
    // Two channels, both 1..=16 (4×4):   1  2  3  4
    //                                      5  6  7  8
    //                                      9 10 11 12
    //                                     13 14 15 16
    // Padding top 0, left 1, bottom 1, right 0; stride 2 → out 2×2:
    //   out_h = (4 + 0 + 1 - 3) / 2 + 1 = 2, out_w = (4 + 1 + 0 - 3) / 2 + 1 = 2.
    // Output (oy, ox) reads rows 2·oy .. 2·oy + 2 and columns 2·ox - 1 .. 2·ox + 1.
    // Channel 0, all-ones kernel:
    //   (0,0): rows 0-2, cols 0-1 (col -1 is padding) = 1+2+5+6+9+10 = 33
    //   (1,1): rows 2-3 (row 4 is padding), cols 1-3 = 10+11+12+14+15+16 = 78
    // Channel 1, a single 1 at tap (0, 0): reads x[2·oy][2·ox - 1]:
    //   (0,0) → padding = 0; (0,1) → x[0][1] = 2; (1,0) → 0; (1,1) → x[2][1] = 10.
    // Swapping top/bottom or left/right padding would change every one of these.
    let g = Conv2dGeometry::depthwise(1, 4, 4, 2, 3, 3).with_stride(2, 2).with_padding(Padding2d {
        top: 0,
        left: 1,
        bottom: 1,
        right: 0,
    });
    let tap = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    let weights: Vec<f32> = tap.iter().flat_map(|&t| [1.0, t]).collect();
    let out = run_dwconv(&g, (2, 2), &repeat_channels(&iota(16), 2), &weights, None, Activation::None);
    assert_eq!(out, [33.0, 0.0, 63.0, 2.0, 46.0, 0.0, 78.0, 10.0]);
}

#[test]
fn dwconv_3x3_dilation2_stride2_pad2() {
    // One channel, 5×5 input 1..=25, all-ones 3×3 kernel, dilation 2 (extent 5), stride 2,
    // pad 2: out_h = out_w = (5 + 4 - 5) / 2 + 1 = 3. Output (oy, ox) sums rows
    // {2oy-2, 2oy, 2oy+2} × cols {2ox-2, 2ox, 2ox+2} inside the image:
    //   (0,0): rows {0, 2} × cols {0, 2} = x00 + x02 + x20 + x22 = 1 + 3 + 11 + 13 = 28
    //   (1,1): rows {0,2,4} × cols {0,2,4} = 1+3+5 + 11+13+15 + 21+23+25 = 117
    let g = Conv2dGeometry::depthwise(1, 5, 5, 1, 3, 3)
        .with_stride(2, 2)
        .with_dilation(2, 2)
        .with_padding(Padding2d::uniform(2));
    let out = run_dwconv(&g, (3, 3), &iota(25), &[1.0; 9], None, Activation::None);
    assert_eq!(out, [28.0, 48.0, 36.0, 72.0, 117.0, 84.0, 68.0, 108.0, 76.0]);
}

#[test]
fn dwconv_5x5_pad2_bias_relu6() {
    // One channel, 3×3 input of ones, 5×5 kernel w[ky][kx] = 5·ky + kx + 1 (1..=25), pad 2:
    // out 3×3, out[oy][ox] = Σ w[ky][kx] over ky ∈ {2-oy, .., 4-oy}, kx ∈ {2-ox, .., 4-ox}
    //                      = 15·Σky + 3·Σkx + 9.
    //   (0,0): ky, kx ∈ {2,3,4}: 15·9 + 3·9 + 9 = 171 (= 13+14+15+18+19+20+23+24+25)
    //   (1,1): ky, kx ∈ {1,2,3}: 15·6 + 3·6 + 9 = 117
    //   (2,2): ky, kx ∈ {0,1,2}: 15·3 + 3·3 + 9 = 63
    let g = Conv2dGeometry::depthwise(1, 3, 3, 1, 5, 5).with_padding(Padding2d::uniform(2));
    let out = run_dwconv(&g, (3, 3), &[1.0; 9], &iota(25), None, Activation::None);
    assert_eq!(out, [171.0, 162.0, 153.0, 126.0, 117.0, 108.0, 81.0, 72.0, 63.0]);

    // Bias -112 then ReLU6: 171-112 = 59 → 6, 117-112 = 5, 108-112 = -4 → 0.
    let out = run_dwconv(&g, (3, 3), &[1.0; 9], &iota(25), Some(&[-112.0]), Activation::Relu6);
    assert_eq!(out, [6.0, 6.0, 6.0, 6.0, 5.0, 0.0, 0.0, 0.0, 0.0]);
}

#[test]
fn dwconv_batch2_channels_independent() {
    // 1×1 kernel depthwise = per-channel scale + bias. Batch 2, 1×2 pixels, 3 channels.
    // weights [2, -1, 10], bias [1, 0, -5]: pixel [1, 2, 3] → [2+1, -2+0, 30-5] = [3, -2, 25].
    let g = Conv2dGeometry::depthwise(2, 1, 2, 3, 1, 1);
    let input = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, -1.0, -2.0, -3.0, 0.0, 0.0, 0.0];
    let out = run_dwconv(&g, (1, 2), &input, &[2.0, -1.0, 10.0], Some(&[1.0, 0.0, -5.0]), Activation::None);
    assert_eq!(out, [3.0, -2.0, 25.0, 9.0, -5.0, 55.0, -1.0, 2.0, -35.0, 1.0, 0.0, -5.0]);
}

// ---------------------------------------------------------------------------------------------
// pointwise
// ---------------------------------------------------------------------------------------------

#[test]
fn pointwise_no_bias() {
    // 2 pixels × 3 channels: [1, 2, 3], [4, 5, 6]; weights [out_c][in_c] =
    // [[1, 10, 100], [1, 1, 1]]: pixel 0, oc 0 = 1 + 10·2 + 100·3 = 321; oc 1 = 1+2+3 = 6.
    let s = PointwiseShape { pixels: 2, in_c: 3, out_c: 2 };
    let mut out = [f32::NAN; 4];
    let w = [1.0, 10.0, 100.0, 1.0, 1.0, 1.0];
    reference::pointwise(&s, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &w, None, Activation::None, &mut out).unwrap();
    assert_eq!(out, [321.0, 6.0, 654.0, 15.0]);
}

#[test]
fn pointwise_bias_relu6() {
    // 3 pixels × 2 channels: [1, 2], [3, -1], [-2, -2]. Weights [[1, 1], [1, -1], [2, 0]],
    // bias [-1, 3, -3], then ReLU6 (clamp to [0, 6]):
    //   oc 0 = x0 + x1 - 1:  [2, 1, -5 → 0]
    //   oc 1 = x0 - x1 + 3:  [2, 7 → 6, 3]       (pixel 1: 3 - (-1) + 3 = 7, clamped to 6)
    //   oc 2 = 2·x0 - 3:     [-1 → 0, 3, -7 → 0]
    let s = PointwiseShape { pixels: 3, in_c: 2, out_c: 3 };
    let input = [1.0, 2.0, 3.0, -1.0, -2.0, -2.0];
    let w = [1.0, 1.0, 1.0, -1.0, 2.0, 0.0];
    let mut out = [f32::NAN; 9];
    reference::pointwise(&s, &input, &w, Some(&[-1.0, 3.0, -3.0]), Activation::Relu6, &mut out).unwrap();
    assert_eq!(out, [2.0, 2.0, 0.0, 1.0, 6.0, 3.0, 0.0, 3.0, 0.0]);
}

#[test]
fn pointwise_permutation_with_clamp() {
    // Weights = the anti-diagonal permutation: oc k reads ic 2-k, reversing the channels.
    // Pixel [-5, 0.5, 7] → [7, 0.5, -5] → clamp to [-1, 2] → [2, 0.5, -1].
    // Pixel [1, -0.25, 1.5] → [1.5, -0.25, 1] (inside the bounds, unchanged).
    let s = PointwiseShape { pixels: 2, in_c: 3, out_c: 3 };
    let w = [0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0];
    let mut out = [f32::NAN; 6];
    let act = Activation::Clamp { min: -1.0, max: 2.0 };
    reference::pointwise(&s, &[-5.0, 0.5, 7.0, 1.0, -0.25, 1.5], &w, None, act, &mut out).unwrap();
    assert_eq!(out, [2.0, 0.5, -1.0, 1.5, -0.25, 1.0]);
}

// ---------------------------------------------------------------------------------------------
// row_pass / col_pass
// ---------------------------------------------------------------------------------------------

fn row_geometry(in_h: usize, in_w: usize, channels: usize, kernel: usize) -> SeparablePassGeometry {
    SeparablePassGeometry {
        axis: SeparableAxis::Row,
        batch: 1,
        in_h,
        in_w,
        channels,
        kernel,
        stride: 1,
        dilation: 1,
        pad_before: 0,
        pad_after: 0,
    }
}

fn col_geometry(in_h: usize, in_w: usize, channels: usize, kernel: usize) -> SeparablePassGeometry {
    SeparablePassGeometry { axis: SeparableAxis::Column, ..row_geometry(in_h, in_w, channels, kernel) }
}

/// Two rows of five: [1, 2, 3, 4, 5] and [10, 20, 30, 40, 50] (1×2×5×1).
const TWO_ROWS: [f32; 10] = [1.0, 2.0, 3.0, 4.0, 5.0, 10.0, 20.0, 30.0, 40.0, 50.0];
/// The same values as two columns of five (1×5×2×1): column 0 = 1..5, column 1 = 10..50.
const TWO_COLS: [f32; 10] = [1.0, 10.0, 2.0, 20.0, 3.0, 30.0, 4.0, 40.0, 5.0, 50.0];

#[test]
fn row_pass_3tap_pad1() {
    // k = 3, pad 1 left and right, weights [1, 10, 100]: out[x] = x[x-1] + 10·x[x] + 100·x[x+1].
    //   row 0, x = 0: 0 (padding) + 10·1 + 100·2 = 210;  x = 4: 4 + 10·5 + 0 = 54.
    // Row 1 is row 0 × 10; the height is unchanged.
    let g = SeparablePassGeometry { pad_before: 1, pad_after: 1, ..row_geometry(2, 5, 1, 3) };
    let out = run_pass(&g, (2, 5), &TWO_ROWS, &[1.0, 10.0, 100.0], None, Activation::None);
    assert_eq!(out, [210.0, 321.0, 432.0, 543.0, 54.0, 2100.0, 3210.0, 4320.0, 5430.0, 540.0]);
}

#[test]
fn row_pass_2tap_stride2_pad_after_bias() {
    // k = 2, stride 2, pad 0 left / 1 right: out_w = (5 + 1 - 2) / 2 + 1 = 3.
    // Weights [1, 10], bias 1000: out[x] = 1000 + x[2x] + 10·x[2x+1]:
    //   row 0: [1000 + 1 + 20, 1000 + 3 + 40, 1000 + 5 + 0 (padding)] = [1021, 1043, 1005]
    let g = SeparablePassGeometry { stride: 2, pad_after: 1, ..row_geometry(2, 5, 1, 2) };
    let out = run_pass(&g, (2, 3), &TWO_ROWS, &[1.0, 10.0], Some(&[1000.0]), Activation::None);
    assert_eq!(out, [1021.0, 1043.0, 1005.0, 1210.0, 1430.0, 1050.0]);
}

#[test]
fn row_pass_dilation2_pad2_two_channels_relu() {
    // One row of five pixels, both channels = [1, 2, 3, 4, 5]. k = 3, dilation 2 (extent 5),
    // pad 2 each side: out_w = 5. Taps read x[x-2], x[x], x[x+2].
    // Channel 0 weights [1, 10, 100]:  out[0] = 0 + 10·1 + 100·3 = 310; out[2] = 1 + 30 + 500 = 531
    // Channel 1 weights [-1, 0, 1], ReLU: out[x] = relu(x[x+2] - x[x-2]):
    //   [3 - 0, 4 - 0, 5 - 1, 0 - 2 → 0, 0 - 3 → 0] = [3, 4, 4, 0, 0]
    let g = SeparablePassGeometry { dilation: 2, pad_before: 2, pad_after: 2, ..row_geometry(1, 5, 2, 3) };
    let input = repeat_channels(&iota(5), 2);
    let weights = [1.0, -1.0, 10.0, 0.0, 100.0, 1.0]; // [k][C]
    let out = run_pass(&g, (1, 5), &input, &weights, None, Activation::Relu);
    assert_eq!(out, [310.0, 3.0, 420.0, 4.0, 531.0, 4.0, 42.0, 0.0, 53.0, 0.0]);
}

#[test]
fn col_pass_3tap_pad1() {
    // The transpose of row_pass_3tap_pad1: out[y] = x[y-1] + 10·x[y] + 100·x[y+1] down each
    // column; column 0, y = 0: 0 + 10·1 + 100·2 = 210. The width (2) is unchanged.
    let g = SeparablePassGeometry { pad_before: 1, pad_after: 1, ..col_geometry(5, 2, 1, 3) };
    let out = run_pass(&g, (5, 2), &TWO_COLS, &[1.0, 10.0, 100.0], None, Activation::None);
    assert_eq!(out, [210.0, 2100.0, 321.0, 3210.0, 432.0, 4320.0, 543.0, 5430.0, 54.0, 540.0]);
}

#[test]
fn col_pass_2tap_stride2_pad_after_bias() {
    // k = 2, stride 2, pad 0 top / 1 bottom: out_h = 3; out[y] = 1000 + x[2y] + 10·x[2y+1]:
    //   column 0: [1021, 1043, 1005 (= 1000 + 5 + 10·padding)]; column 1: [1210, 1430, 1050].
    let g = SeparablePassGeometry { stride: 2, pad_after: 1, ..col_geometry(5, 2, 1, 2) };
    let out = run_pass(&g, (3, 2), &TWO_COLS, &[1.0, 10.0], Some(&[1000.0]), Activation::None);
    assert_eq!(out, [1021.0, 1210.0, 1043.0, 1430.0, 1005.0, 1050.0]);
}

#[test]
fn col_pass_dilation2_pad2_two_channels_relu() {
    // The transpose of row_pass_dilation2_pad2_two_channels_relu: a 5×1 image, both channels
    // [1..5] down the column. Channel 0: out[0] = 0 + 10·1 + 100·3 = 310.
    // Channel 1: relu(x[y+2] - x[y-2]) = [3, 4, 4, 0, 0].
    let g = SeparablePassGeometry { dilation: 2, pad_before: 2, pad_after: 2, ..col_geometry(5, 1, 2, 3) };
    let input = repeat_channels(&iota(5), 2);
    let weights = [1.0, -1.0, 10.0, 0.0, 100.0, 1.0];
    let out = run_pass(&g, (5, 1), &input, &weights, None, Activation::Relu);
    assert_eq!(out, [310.0, 3.0, 420.0, 4.0, 531.0, 4.0, 42.0, 0.0, 53.0, 0.0]);
}

// ---------------------------------------------------------------------------------------------
// activation / activation_in_place
// ---------------------------------------------------------------------------------------------

/// Runs both `activation` and `activation_in_place` and checks both against `expected`
/// (NaN must stay NaN).
#[track_caller]
fn check_activation(act: Activation, input: &[f32], expected: &[f32]) {
    let mut out = vec![12345.0; input.len()];
    reference::activation(act, input, &mut out).unwrap();
    assert_same_values(&out, expected, &format!("activation {act:?}"));
    let mut data = input.to_vec();
    reference::activation_in_place(act, &mut data).unwrap();
    assert_same_values(&data, expected, &format!("activation_in_place {act:?}"));
}

#[test]
fn activation_none_is_identity_even_for_nan_and_inf() {
    let input = [-3.5, 0.0, 7.0, INF, -INF, NAN];
    check_activation(Activation::None, &input, &input);
}

#[test]
fn activation_relu() {
    // max(x, 0): negatives and -inf → 0, +inf stays, NaN propagates.
    check_activation(
        Activation::Relu,
        &[-2.0, -0.5, 0.0, 3.0, INF, -INF, NAN],
        &[0.0, 0.0, 0.0, 3.0, INF, 0.0, NAN],
    );
}

#[test]
fn activation_relu6() {
    // min(max(x, 0), 6): 7 → 6, +inf → 6, -inf → 0, 6 and 5.5 unchanged, NaN propagates.
    check_activation(
        Activation::Relu6,
        &[-1.0, 0.0, 5.5, 6.0, 7.0, INF, -INF, NAN],
        &[0.0, 0.0, 5.5, 6.0, 6.0, 6.0, 0.0, NAN],
    );
}

#[test]
fn activation_clamp() {
    // Clamp to [-1, 2.5]: -3 → -1, 3 → 2.5, ±inf → the bounds, NaN propagates.
    check_activation(
        Activation::Clamp { min: -1.0, max: 2.5 },
        &[-3.0, -1.0, 0.0, 2.5, 3.0, INF, -INF, NAN],
        &[-1.0, -1.0, 0.0, 2.5, 2.5, 2.5, -1.0, NAN],
    );
    // Half-open clamps with an infinite bound, and a degenerate min == max.
    check_activation(
        Activation::Clamp { min: -INF, max: 0.0 },
        &[-5.0, 5.0, INF, -INF, NAN],
        &[-5.0, 0.0, 0.0, -INF, NAN],
    );
    check_activation(Activation::Clamp { min: 2.0, max: 2.0 }, &[-1.0, 2.0, 9.0, NAN], &[2.0, 2.0, 2.0, NAN]);
}

#[test]
fn activation_nan_propagates_through_fused_kernels() {
    // A NaN input reaches the output of a fused kernel even under ReLU6: 1·NaN + 0 = NaN.
    let s = PointwiseShape { pixels: 2, in_c: 1, out_c: 1 };
    let mut out = [0.0; 2];
    reference::pointwise(&s, &[NAN, -1.0], &[1.0], None, Activation::Relu6, &mut out).unwrap();
    assert!(out[0].is_nan(), "NaN must propagate, got {}", out[0]);
    assert_eq!(out[1], 0.0);
}

// ---------------------------------------------------------------------------------------------
// add
// ---------------------------------------------------------------------------------------------

#[test]
fn add_plain() {
    // [1, 2, 3] + [10, 20, 30] = [11, 22, 33]; -0.5 + 0.25 = -0.25.
    let mut out = [f32::NAN; 4];
    reference::add(&[1.0, 2.0, 3.0, -0.5], &[10.0, 20.0, 30.0, 0.25], Activation::None, &mut out).unwrap();
    assert_eq!(out, [11.0, 22.0, 33.0, -0.25]);
}

#[test]
fn add_relu() {
    // relu(a + b): 1 + (-2) = -1 → 0; -2 + 1 = -1 → 0; 3 + 0.5 = 3.5; -4 + 4 = 0.
    let mut out = [f32::NAN; 4];
    reference::add(&[1.0, -2.0, 3.0, -4.0], &[-2.0, 1.0, 0.5, 4.0], Activation::Relu, &mut out).unwrap();
    assert_eq!(out, [0.0, 0.0, 3.5, 0.0]);
}

#[test]
fn add_relu6_and_infinities() {
    // relu6(a + b): 5 + 3 = 8 → 6; 1 + (-4) = -3 → 0; 2 + 2 = 4; inf + 1 → 6; inf + (-inf) = NaN
    // (propagates).
    let mut out = [0.0; 5];
    reference::add(&[5.0, 1.0, 2.0, INF, INF], &[3.0, -4.0, 2.0, 1.0, -INF], Activation::Relu6, &mut out)
        .unwrap();
    assert_same_values(&out, &[6.0, 0.0, 4.0, 6.0, NAN], "add relu6");
}

// ---------------------------------------------------------------------------------------------
// global_avg_pool
// ---------------------------------------------------------------------------------------------

#[test]
fn global_avg_pool_batch2() {
    // [batch 2][pixels 4][channels 2]:
    //   n 0: ch 0 = [1, 2, 3, 4] → 10 / 4 = 2.5;     ch 1 = [10, 20, 30, 40] → 25
    //   n 1: ch 0 = [-1, -2, -3, -4] → -2.5;          ch 1 = [0, 0, 0, 8] → 2
    let s = GlobalPoolShape { batch: 2, pixels: 4, channels: 2 };
    #[rustfmt::skip]
    let input = [
        1.0, 10.0,   2.0, 20.0,   3.0, 30.0,   4.0, 40.0,
        -1.0, 0.0,   -2.0, 0.0,   -3.0, 0.0,   -4.0, 8.0,
    ];
    let mut out = [f32::NAN; 4];
    reference::global_avg_pool(&s, &input, &mut out).unwrap();
    assert_eq!(out, [2.5, 25.0, -2.5, 2.0]);
}

#[test]
fn global_avg_pool_single_pixel_is_identity() {
    let s = GlobalPoolShape { batch: 2, pixels: 1, channels: 3 };
    let input = [1.0, -2.0, 3.5, 4.0, 5.0, -6.25];
    let mut out = [f32::NAN; 6];
    reference::global_avg_pool(&s, &input, &mut out).unwrap();
    assert_eq!(out, input);
}

#[test]
fn global_avg_pool_inexact_mean_rounds_once() {
    // Mean of [1, 0, 0] is 1/3, which is not representable: the result is 1/3 rounded once to
    // the nearest f32 (0.333_333_34), i.e. exactly what `1.0f32 / 3.0` gives. Batch 2, one channel:
    // the second image [6, 7, 8] → 7.
    let s = GlobalPoolShape { batch: 2, pixels: 3, channels: 1 };
    let mut out = [f32::NAN; 2];
    reference::global_avg_pool(&s, &[1.0, 0.0, 0.0, 6.0, 7.0, 8.0], &mut out).unwrap();
    assert_eq!(out, [1.0f32 / 3.0, 7.0]);
}

// ---------------------------------------------------------------------------------------------
// dense
// ---------------------------------------------------------------------------------------------

#[test]
fn dense_batch2_bias() {
    // input [2][3] = [[1, 2, 3], [4, 5, 6]], weights [2][3] = [[1, 10, 100], [1, 1, 1]],
    // bias [1, -1]:  n 0: [1 + 1 + 20 + 300, -1 + 6] = [322, 5];  n 1: [1 + 654, -1 + 15] = [655, 14].
    let s = DenseShape { batch: 2, in_features: 3, out_features: 2 };
    let w = [1.0, 10.0, 100.0, 1.0, 1.0, 1.0];
    let mut out = [f32::NAN; 4];
    reference::dense(&s, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &w, Some(&[1.0, -1.0]), Activation::None, &mut out)
        .unwrap();
    assert_eq!(out, [322.0, 5.0, 655.0, 14.0]);
}

#[test]
fn dense_batch2_bias_relu() {
    // input [[1, -1], [2, 3]], weights [[1, 1], [1, -1], [0, 2]], bias [0, 1, -7], ReLU:
    //   n 0: [1 - 1 + 0, 1 + 1 + 1, -2 - 7 → 0] = [0, 3, 0]
    //   n 1: [2 + 3, 2 - 3 + 1, 6 - 7 → 0] = [5, 0, 0]
    let s = DenseShape { batch: 2, in_features: 2, out_features: 3 };
    let w = [1.0, 1.0, 1.0, -1.0, 0.0, 2.0];
    let mut out = [f32::NAN; 6];
    reference::dense(&s, &[1.0, -1.0, 2.0, 3.0], &w, Some(&[0.0, 1.0, -7.0]), Activation::Relu, &mut out)
        .unwrap();
    assert_eq!(out, [0.0, 3.0, 0.0, 5.0, 0.0, 0.0]);
}

#[test]
fn dense_outer_product_no_bias() {
    // in_features = 1: output[n][o] = input[n] · weights[o]. Inputs [2, -3], weights [1, 2, 3]:
    //   [[2, 4, 6], [-3, -6, -9]]
    let s = DenseShape { batch: 2, in_features: 1, out_features: 3 };
    let mut out = [f32::NAN; 6];
    reference::dense(&s, &[2.0, -3.0], &[1.0, 2.0, 3.0], None, Activation::None, &mut out).unwrap();
    assert_eq!(out, [2.0, 4.0, 6.0, -3.0, -6.0, -9.0]);
}
