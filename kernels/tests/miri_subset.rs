//! A fast subset of the kernel tests, small enough to run under Miri
//! (`cargo +nightly miri test -p sepconv-kernels --test miri_subset`, see `scripts/miri.sh`).
//!
//! Every reference kernel (oracles and packed contract) and every portable (`wide`) kernel on a
//! handful of tiny geometries: channels 1, 3, 9 (9 = one full 8-lane tile plus a remainder),
//! widths 1–3, stride 1 and 2, padding 0 and 1. The portable kernels are checked against the
//! reference with a tolerance. The AVX2 and NEON kernels are not here: Miri does not implement
//! most of their intrinsics.

use sepconv_kernels::reference::{self, DenseShape, GlobalPoolShape};
use sepconv_kernels::{
    Activation, Conv2dGeometry, KernelError, Padding2d, PointwiseShape, SeparableAxis, SeparablePassGeometry,
    portable,
};

// ---------------------------------------------------------------- helpers

/// Deterministic values in `[-1, 1)` (a small LCG: no RNG crate, cheap under Miri).
fn data(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1);
    (0..len)
        .map(|_| {
            s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// The activations, cycled over the cases.
const ACTS: [Activation; 4] =
    [Activation::None, Activation::Relu, Activation::Relu6, Activation::Clamp { min: -0.5, max: 0.25 }];

const CHANNELS: [usize; 3] = [1, 3, 9];
const WIDTHS: [usize; 3] = [1, 2, 3];
const STRIDES: [usize; 2] = [1, 2];
const PADS: [usize; 2] = [0, 1];

/// Tolerance of a portable kernel (f32 accumulation, FMA or not) against the f64 reference on
/// inputs in `[-1, 1)` with at most 81 terms.
const TOL: f32 = 1e-4;

fn assert_close(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= TOL, "{what}: element {i}: got {g}, want {w}");
    }
}

/// Every (channels, width, stride, padding) of the grid whose 3-wide kernel fits, with the
/// kernel height/width (3, or 1 when the padded width is below 3). Height 2.
fn conv_cases() -> Vec<(usize, usize, usize, usize, usize)> {
    let mut v = Vec::new();
    for &c in &CHANNELS {
        for &w in &WIDTHS {
            for &s in &STRIDES {
                for &p in &PADS {
                    let k = if w + 2 * p >= 3 { 3 } else { 1 };
                    v.push((c, w, s, p, k));
                }
            }
        }
    }
    v
}

fn pad(p: usize) -> Padding2d {
    Padding2d { top: p, left: p, bottom: p, right: p }
}

// ---------------------------------------------------------------- depthwise

fn dw_geometry(c: usize, w: usize, s: usize, p: usize, k: usize) -> Conv2dGeometry {
    let kh = k.min(2 + 2 * p);
    Conv2dGeometry::depthwise(1, 2, w, c, kh, k).with_stride(s, s).with_padding(pad(p))
}

/// Reference oracle, reference packed contract and portable packed contract on one depthwise
/// geometry.
fn check_dwconv(g: &Conv2dGeometry, act: Activation, with_bias: bool, seed: u64) {
    let d = g.validate().unwrap();
    let input = data(d.input_len, seed);
    let weights = data(d.weight_len, seed + 1);
    let bias = data(g.in_c, seed + 2);
    let bias = with_bias.then_some(&bias[..]);

    let mut want = vec![f32::NAN; d.output_len];
    reference::dwconv(g, &input, &weights, bias, act, &mut want).unwrap();
    assert!(want.iter().all(|x| x.is_finite()), "{g:?}");

    let mut packed = vec![f32::NAN; reference::dwconv_packed_len(g).unwrap()];
    reference::dwconv_pack(g, &weights, bias, &mut packed).unwrap();
    let mut got = vec![f32::NAN; d.output_len];
    reference::dwconv_run(g, &input, &packed, act, &mut got).unwrap();
    assert_eq!(got, want, "reference dwconv_run {g:?}");

    let mut packed = vec![f32::NAN; portable::dwconv::dwconv_packed_len(g).unwrap()];
    portable::dwconv::dwconv_pack(g, &weights, bias, &mut packed).unwrap();
    let mut got = vec![f32::NAN; d.output_len];
    portable::dwconv::dwconv_run(g, &input, &packed, act, &mut got).unwrap();
    assert_close(&format!("portable dwconv {g:?} {act:?}"), &got, &want);
}

#[test]
fn dwconv_grid() {
    for (i, (c, w, s, p, k)) in conv_cases().into_iter().enumerate() {
        let g = dw_geometry(c, w, s, p, k);
        check_dwconv(&g, ACTS[i % ACTS.len()], i % 3 != 0, i as u64);
    }
}

#[test]
fn dwconv_interior_block_and_dilation() {
    // Width 6, 3×3, padding 1: ox 1..5 are interior, so the 4-pixel block runs once.
    let g = Conv2dGeometry::depthwise(1, 2, 6, 9, 3, 3).with_padding(pad(1));
    check_dwconv(&g, Activation::None, true, 100);
    // Dilation 2 and asymmetric padding, batch 2.
    let g = Conv2dGeometry::depthwise(2, 3, 3, 3, 2, 2).with_dilation(2, 2).with_padding(Padding2d {
        top: 1,
        left: 0,
        bottom: 0,
        right: 1,
    });
    check_dwconv(&g, Activation::Relu, false, 101);
}

#[test]
fn dwconv_hand_worked() {
    // 1×1×3×1 input [1, 2, 3], kernel 1×3 [1, 10, 100], padding 1 left/right, bias 0.5.
    let g = Conv2dGeometry::depthwise(1, 1, 3, 1, 1, 3).with_padding(Padding2d {
        top: 0,
        left: 1,
        bottom: 0,
        right: 1,
    });
    let mut out = [0.0; 3];
    reference::dwconv(&g, &[1.0, 2.0, 3.0], &[1.0, 10.0, 100.0], Some(&[0.5]), Activation::None, &mut out)
        .unwrap();
    assert_eq!(out, [210.5, 321.5, 32.5]);
}

// ---------------------------------------------------------------- conv2d

fn check_conv2d(g: &Conv2dGeometry, act: Activation, with_bias: bool, seed: u64) {
    let d = g.validate().unwrap();
    let input = data(d.input_len, seed);
    let weights = data(d.weight_len, seed + 1);
    let bias = data(g.out_c, seed + 2);
    let bias = with_bias.then_some(&bias[..]);

    let mut want = vec![f32::NAN; d.output_len];
    reference::conv2d(g, &input, &weights, bias, act, &mut want).unwrap();
    assert!(want.iter().all(|x| x.is_finite()), "{g:?}");

    let mut packed = vec![f32::NAN; reference::conv2d_packed_len(g).unwrap()];
    reference::conv2d_pack(g, &weights, bias, &mut packed).unwrap();
    let mut got = vec![f32::NAN; d.output_len];
    reference::conv2d_run(g, &input, &packed, act, &mut got).unwrap();
    assert_eq!(got, want, "reference conv2d_run {g:?}");

    let mut packed = vec![f32::NAN; portable::conv2d::conv2d_packed_len(g).unwrap()];
    portable::conv2d::conv2d_pack(g, &weights, bias, &mut packed).unwrap();
    let mut got = vec![f32::NAN; d.output_len];
    portable::conv2d::conv2d_run(g, &input, &packed, act, &mut got).unwrap();
    assert_close(&format!("portable conv2d {g:?} {act:?}"), &got, &want);
}

#[test]
fn conv2d_grid() {
    for (i, (c, w, s, p, k)) in conv_cases().into_iter().enumerate() {
        // Dense, out_c cycling over the channel counts.
        let out_c = CHANNELS[i % CHANNELS.len()];
        let kh = k.min(2 + 2 * p);
        let g = Conv2dGeometry::new(1, 2, w, c, out_c, kh, k).with_stride(s, s).with_padding(pad(p));
        check_conv2d(&g, ACTS[i % ACTS.len()], i % 2 == 0, i as u64);
    }
}

#[test]
fn conv2d_grouped() {
    // (in_c, out_c, groups): grouped with 1 and 3 channels per group, depthwise as conv2d.
    for (i, &(ci, co, groups)) in [(3, 9, 3), (9, 3, 3), (9, 9, 9), (9, 18, 9)].iter().enumerate() {
        let g = Conv2dGeometry::new(1, 3, 3, ci, co, 3, 3).with_groups(groups).with_padding(pad(1));
        check_conv2d(&g, ACTS[i % ACTS.len()], i != 1, 200 + i as u64);
        let g = g.with_stride(2, 2).with_padding(pad(0)).with_groups(groups);
        check_conv2d(&g, Activation::None, true, 210 + i as u64);
    }
}

// ---------------------------------------------------------------- pointwise

fn check_pointwise(s: &PointwiseShape, act: Activation, with_bias: bool, seed: u64) {
    let (in_len, w_len, out_len) = s.validate().unwrap();
    let input = data(in_len, seed);
    let weights = data(w_len, seed + 1);
    let bias = data(s.out_c, seed + 2);
    let bias = with_bias.then_some(&bias[..]);

    let mut want = vec![f32::NAN; out_len];
    reference::pointwise(s, &input, &weights, bias, act, &mut want).unwrap();

    let mut packed = vec![f32::NAN; reference::pointwise_packed_len(s).unwrap()];
    reference::pointwise_pack(s, &weights, bias, &mut packed).unwrap();
    let mut got = vec![f32::NAN; out_len];
    reference::pointwise_run(s, &input, &packed, act, &mut got).unwrap();
    assert_eq!(got, want, "reference pointwise_run {s:?}");

    let mut packed = vec![f32::NAN; portable::pointwise::pointwise_packed_len(s).unwrap()];
    portable::pointwise::pointwise_pack(s, &weights, bias, &mut packed).unwrap();
    let mut got = vec![f32::NAN; out_len];
    portable::pointwise::pointwise_run(s, &input, &packed, act, &mut got).unwrap();
    assert_close(&format!("portable pointwise {s:?} {act:?}"), &got, &want);
}

#[test]
fn pointwise_grid() {
    let mut i = 0;
    // Pixels 1..=5: below, at and above the 4-row register tile.
    for pixels in [1, 3, 5] {
        for &in_c in &CHANNELS {
            for &out_c in &CHANNELS {
                let s = PointwiseShape { pixels, in_c, out_c };
                check_pointwise(&s, ACTS[i % ACTS.len()], i % 3 != 1, 300 + i as u64);
                i += 1;
            }
        }
    }
    check_pointwise(&PointwiseShape { pixels: 4, in_c: 2, out_c: 17 }, Activation::Relu6, true, 399);
}

// ---------------------------------------------------------------- separable passes

fn sep_geometry(axis: SeparableAxis, c: usize, w: usize, s: usize, p: usize) -> SeparablePassGeometry {
    // The pass runs along a length-`w` axis; the other spatial extent is 2.
    let (in_h, in_w) = match axis {
        SeparableAxis::Row => (2, w),
        SeparableAxis::Column => (w, 2),
    };
    let kernel = if w + 2 * p >= 3 { 3 } else { 1 };
    SeparablePassGeometry {
        axis,
        batch: 1,
        in_h,
        in_w,
        channels: c,
        kernel,
        stride: s,
        dilation: 1,
        pad_before: p,
        pad_after: p,
    }
}

fn check_separable(g: &SeparablePassGeometry, act: Activation, with_bias: bool, seed: u64) {
    let d = g.validate().unwrap();
    let input = data(d.input_len, seed);
    let weights = data(d.weight_len, seed + 1);
    let bias = data(g.channels, seed + 2);
    let bias = with_bias.then_some(&bias[..]);
    let row = g.axis == SeparableAxis::Row;

    let mut want = vec![f32::NAN; d.output_len];
    if row {
        reference::row_pass(g, &input, &weights, bias, act, &mut want).unwrap();
    } else {
        reference::col_pass(g, &input, &weights, bias, act, &mut want).unwrap();
    }

    let mut packed = vec![f32::NAN; reference::separable_packed_len(g).unwrap()];
    reference::separable_pack(g, &weights, bias, &mut packed).unwrap();
    let mut got = vec![f32::NAN; d.output_len];
    if row {
        reference::row_pass_run(g, &input, &packed, act, &mut got).unwrap();
    } else {
        reference::col_pass_run(g, &input, &packed, act, &mut got).unwrap();
    }
    assert_eq!(got, want, "reference separable run {g:?}");

    let mut packed = vec![f32::NAN; portable::separable::separable_packed_len(g).unwrap()];
    portable::separable::separable_pack(g, &weights, bias, &mut packed).unwrap();
    let mut got = vec![f32::NAN; d.output_len];
    if row {
        portable::separable::row_pass_run(g, &input, &packed, act, &mut got).unwrap();
    } else {
        portable::separable::col_pass_run(g, &input, &packed, act, &mut got).unwrap();
    }
    assert_close(&format!("portable separable {g:?} {act:?}"), &got, &want);
}

#[test]
fn separable_grid() {
    let mut i = 0;
    for axis in [SeparableAxis::Row, SeparableAxis::Column] {
        for &c in &CHANNELS {
            for &w in &WIDTHS {
                for &s in &STRIDES {
                    for &p in &PADS {
                        let g = sep_geometry(axis, c, w, s, p);
                        check_separable(&g, ACTS[i % ACTS.len()], i % 4 != 3, 400 + i as u64);
                        i += 1;
                    }
                }
            }
        }
    }
}

#[test]
fn separable_dilation_and_asymmetric_padding() {
    for (i, axis) in [SeparableAxis::Row, SeparableAxis::Column].into_iter().enumerate() {
        for (j, (c, stride)) in [(1, 1), (3, 2), (9, 1)].into_iter().enumerate() {
            // Length 5 along the axis so that the flat row spans several 8-float vectors.
            let g = SeparablePassGeometry {
                axis,
                batch: 2,
                in_h: if i == 0 { 1 } else { 5 },
                in_w: if i == 0 { 5 } else { 1 },
                channels: c,
                kernel: 2,
                stride,
                dilation: 2,
                pad_before: 1,
                pad_after: 0,
            };
            check_separable(&g, ACTS[j], true, 500 + (3 * i + j) as u64);
        }
    }
}

// ---------------------------------------------------------------- small ops (reference only)

#[test]
fn activation_and_add() {
    let x = [-7.0, -0.5, 0.0, 0.1, 3.0, 8.0, f32::NAN];
    let mut out = [0.0; 7];
    reference::activation(Activation::Relu6, &x, &mut out).unwrap();
    assert_eq!(&out[..6], &[0.0, 0.0, 0.0, 0.1, 3.0, 6.0]);
    assert!(out[6].is_nan());

    let mut y = x;
    reference::activation_in_place(Activation::Clamp { min: -1.0, max: 1.0 }, &mut y).unwrap();
    assert_eq!(&y[..6], &[-1.0, -0.5, 0.0, 0.1, 1.0, 1.0]);
    assert!(y[6].is_nan());
    assert_eq!(
        reference::activation_in_place(Activation::Clamp { min: 1.0, max: -1.0 }, &mut y),
        Err(KernelError::InvalidClamp { min: 1.0, max: -1.0 })
    );

    let mut sum = [0.0; 3];
    reference::add(&[1.0, -2.0, 3.0], &[0.5, 0.5, 4.0], Activation::Relu, &mut sum).unwrap();
    assert_eq!(sum, [1.5, 0.0, 7.0]);
    assert!(matches!(
        reference::add(&[1.0; 3], &[1.0; 2], Activation::None, &mut sum),
        Err(KernelError::LengthMismatch { what: "b", expected: 3, actual: 2 })
    ));
}

#[test]
fn dense_and_global_pool() {
    let s = DenseShape { batch: 2, in_features: 3, out_features: 2 };
    let input = [1.0, 2.0, 3.0, -1.0, 0.0, 1.0];
    let weights = [1.0, 0.0, 1.0, 0.5, 0.5, 0.5];
    let mut out = [0.0; 4];
    reference::dense(&s, &input, &weights, Some(&[0.25, -1.0]), Activation::None, &mut out).unwrap();
    assert_eq!(out, [4.25, 2.0, 0.25, -1.0]);
    assert!(matches!(
        reference::dense(&s, &input, &weights[..5], None, Activation::None, &mut out),
        Err(KernelError::LengthMismatch { what: "weights", .. })
    ));

    let s = GlobalPoolShape { batch: 1, pixels: 3, channels: 2 };
    let mut out = [0.0; 2];
    reference::global_avg_pool(&s, &[1.0, 10.0, 2.0, 20.0, 6.0, 0.0], &mut out).unwrap();
    assert_eq!(out, [3.0, 10.0]);
    assert!(matches!(
        reference::global_avg_pool(&GlobalPoolShape { pixels: 0, ..s }, &[], &mut out),
        Err(KernelError::Zero { what: "pixels" })
    ));
}

#[test]
fn max_and_avg_pool() {
    for (i, (c, w, s, p, k)) in conv_cases().into_iter().enumerate() {
        let g = dw_geometry(c, w, s, p, k);
        let d = g.validate().unwrap();
        let input = data(d.input_len, 600 + i as u64);
        let mut mx = vec![f32::NAN; d.output_len];
        let mut avg_in = vec![f32::NAN; d.output_len];
        let mut avg_ex = vec![f32::NAN; d.output_len];
        reference::max_pool(&g, &input, &mut mx).unwrap();
        reference::avg_pool(&g, true, &input, &mut avg_in).unwrap();
        reference::avg_pool(&g, false, &input, &mut avg_ex).unwrap();
        // Windows of odd kernels with padding <= 1 always hold an input pixel.
        for j in 0..d.output_len {
            assert!(mx[j].is_finite() && avg_in[j].is_finite() && avg_ex[j].is_finite(), "{g:?}");
            assert!(avg_ex[j] <= mx[j] + 1e-6, "{g:?}: mean above max");
            assert!(avg_in[j].abs() <= avg_ex[j].abs() + 1e-6, "{g:?}: padded mean larger");
        }
    }
    // Hand-worked: 1×2×2×1, 2×2 window, padding 1 bottom/right, stride 2.
    let g = Conv2dGeometry::depthwise(1, 2, 2, 1, 2, 2).with_stride(2, 2).with_padding(Padding2d {
        top: 0,
        left: 0,
        bottom: 1,
        right: 1,
    });
    let mut out = [0.0; 1];
    reference::max_pool(&g, &[1.0, -2.0, 4.0, 3.0], &mut out).unwrap();
    assert_eq!(out, [4.0]);
    reference::avg_pool(&g, false, &[1.0, -2.0, 4.0, 3.0], &mut out).unwrap();
    assert_eq!(out, [1.5]);
}

// ---------------------------------------------------------------- error paths

#[test]
fn errors_write_nothing() {
    let g = Conv2dGeometry::depthwise(1, 2, 3, 3, 3, 3).with_padding(pad(1));
    let d = g.validate().unwrap();
    let input = data(d.input_len, 700);
    let mut out = vec![-42.0; d.output_len];

    // Packed buffers of the wrong length.
    let short = vec![0.0; portable::dwconv::dwconv_packed_len(&g).unwrap() - 1];
    assert!(matches!(
        portable::dwconv::dwconv_run(&g, &input, &short, Activation::None, &mut out),
        Err(KernelError::LengthMismatch { what: "packed", .. })
    ));
    let short = vec![0.0; reference::dwconv_packed_len(&g).unwrap() - 1];
    assert!(matches!(
        reference::dwconv_run(&g, &input, &short, Activation::None, &mut out),
        Err(KernelError::LengthMismatch { what: "packed", .. })
    ));
    // Non-depthwise geometry given to dwconv.
    let dense = Conv2dGeometry::new(1, 3, 3, 3, 6, 3, 3);
    assert!(matches!(portable::dwconv::dwconv_packed_len(&dense), Err(KernelError::Unsupported { .. })));
    // Invalid clamp, short input, short output.
    let packed_len = portable::conv2d::conv2d_packed_len(&g).unwrap();
    let mut packed = vec![0.0; packed_len];
    portable::conv2d::conv2d_pack(&g, &data(d.weight_len, 701), None, &mut packed).unwrap();
    let bad = Activation::Clamp { min: f32::NAN, max: 1.0 };
    assert!(portable::conv2d::conv2d_run(&g, &input, &packed, bad, &mut out).is_err());
    assert!(portable::conv2d::conv2d_run(&g, &input[1..], &packed, Activation::None, &mut out).is_err());
    let mut short_out = vec![-42.0; d.output_len - 1];
    assert!(portable::conv2d::conv2d_run(&g, &input, &packed, Activation::None, &mut short_out).is_err());
    assert!(short_out.iter().all(|&x| x == -42.0));

    // Wrong axis and zero kernel for the separable passes.
    let sg = sep_geometry(SeparableAxis::Column, 3, 3, 1, 1);
    let sd = sg.validate().unwrap();
    let mut packed = vec![0.0; portable::separable::separable_packed_len(&sg).unwrap()];
    portable::separable::separable_pack(&sg, &data(sd.weight_len, 702), None, &mut packed).unwrap();
    let sin = data(sd.input_len, 703);
    assert!(matches!(
        portable::separable::row_pass_run(&sg, &sin, &packed, Activation::None, &mut out[..sd.output_len]),
        Err(KernelError::Unsupported { .. })
    ));
    assert_eq!(
        portable::separable::separable_packed_len(&SeparablePassGeometry { kernel: 0, ..sg }),
        Err(KernelError::Zero { what: "kernel" })
    );

    // Pointwise with a wrong bias length.
    let ps = PointwiseShape { pixels: 2, in_c: 3, out_c: 9 };
    let mut packed = vec![0.0; portable::pointwise::pointwise_packed_len(&ps).unwrap()];
    assert!(matches!(
        portable::pointwise::pointwise_pack(&ps, &[0.0; 27], Some(&[0.0; 8]), &mut packed),
        Err(KernelError::LengthMismatch { what: "bias", .. })
    ));
    assert!(packed.iter().all(|&x| x == 0.0));

    assert!(out.iter().all(|&x| x == -42.0), "an erroring kernel wrote its output");
}
