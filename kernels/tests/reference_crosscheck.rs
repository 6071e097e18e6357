//! Randomized cross-checks between the scalar reference kernels (and against an independent
//! naive convolution written in signed coordinates in `common`).
//!
//! Every case is generated from `StdRng::seed_from_u64(seed)` for `seed in 0..CASES`; each
//! assertion message prints the seed and the full geometry, so a failure is reproduced by
//! running the same test body for that one seed. Random ranges: batch 1–2, H/W 1–9, channels
//! 1–19, kernel 1–5, stride 1–2, dilation 1–2, each pad side 0–3, groups among the divisors;
//! geometries that `validate()` rejects are regenerated.
//!
//! Tolerance: `|a - b| <= 1e-6 · (|bias| + Σ|x·w|)` per output element (see
//! `common::REL_TOL` for why that bound is sound and tight).

mod common;

use common::{
    REL_TOL, activate, assert_close, check_close, naive_conv, naive_extent, rand_act, rand_bias,
    rand_conv_geometry, rand_depthwise_geometry, rand_padding, rand_spatial, rand_vec, rng,
};
use rand::RngExt;
use sepconv_kernels::reference::{self, DenseShape, GlobalPoolShape};
use sepconv_kernels::{Activation, Conv2dGeometry, PointwiseShape, SeparableAxis, SeparablePassGeometry};

/// Random cases per cross-check (7 checks → a few hundred kernel runs in total).
const CASES: u64 = 64;

fn conv2d_out(
    g: &Conv2dGeometry,
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    ctx: &str,
) -> Vec<f32> {
    let d = g.validate().expect(ctx);
    let mut out = vec![f32::NAN; d.output_len];
    reference::conv2d(g, input, weights, bias, act, &mut out).expect(ctx);
    out
}

/// Depthwise HWC weights `[kh][kw][C]` → OHWI `[C][kh][kw][1]`.
fn hwc_to_ohwi(w: &[f32], kh: usize, kw: usize, c: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(w.len());
    for ch in 0..c {
        for t in 0..kh * kw {
            out.push(w[t * c + ch]);
        }
    }
    out
}

#[test]
fn conv2d_matches_naive_oracle() {
    for seed in 0..CASES {
        let mut r = rng(seed);
        let g = rand_conv_geometry(&mut r);
        let d = g.validate().unwrap();
        let p = g.padding;
        let ctx = format!("seed {seed}, {g:?}");
        // The output extent agrees with the independent formula.
        assert_eq!(
            (d.out_h, d.out_w),
            (
                naive_extent(g.in_h, g.kernel_h, g.stride_h, g.dilation_h, p.top + p.bottom),
                naive_extent(g.in_w, g.kernel_w, g.stride_w, g.dilation_w, p.left + p.right),
            ),
            "{ctx}"
        );
        let input = rand_vec(&mut r, d.input_len);
        let weights = rand_vec(&mut r, d.weight_len);
        let bias = rand_bias(&mut r, g.out_c);
        let act = rand_act(&mut r);
        let ctx = format!("{ctx}, bias {}, {act:?}", bias.is_some());
        let out = conv2d_out(&g, &input, &weights, bias.as_deref(), act, &ctx);
        let (exact, mag) = naive_conv(&g, &input, &weights, bias.as_deref());
        assert_close(&out, &activate(act, &exact), &mag, &ctx);
    }
}

#[test]
fn dwconv_matches_conv2d_with_groups_eq_channels() {
    for seed in 0..CASES {
        let mut r = rng(seed);
        let g = rand_depthwise_geometry(&mut r);
        let d = g.validate().unwrap();
        let c = g.in_c;
        let input = rand_vec(&mut r, d.input_len);
        let w_hwc = rand_vec(&mut r, g.kernel_h * g.kernel_w * c);
        let bias = rand_bias(&mut r, c);
        let act = rand_act(&mut r);
        let ctx = format!("seed {seed}, {g:?}, bias {}, {act:?}", bias.is_some());

        let mut out = vec![f32::NAN; d.output_len];
        reference::dwconv(&g, &input, &w_hwc, bias.as_deref(), act, &mut out).expect(&ctx);
        let w_ohwi = hwc_to_ohwi(&w_hwc, g.kernel_h, g.kernel_w, c);
        let expected = conv2d_out(&g, &input, &w_ohwi, bias.as_deref(), act, &ctx);
        let (_, mag) = naive_conv(&g, &input, &w_ohwi, bias.as_deref());
        assert_close(&out, &expected, &mag, &ctx);
    }
}

#[test]
fn pointwise_matches_conv2d_1x1() {
    for seed in 0..CASES {
        let mut r = rng(seed);
        let in_c = r.random_range(1..=19);
        let out_c = r.random_range(1..=19);
        // A 1×1, stride 1, unpadded conv over a random N×H×W; dilation is irrelevant for 1×1.
        let g = Conv2dGeometry::new(
            r.random_range(1..=2),
            r.random_range(1..=9),
            r.random_range(1..=9),
            in_c,
            out_c,
            1,
            1,
        )
        .with_dilation(r.random_range(1..=2), r.random_range(1..=2));
        assert!(g.is_pointwise());
        let d = g.validate().unwrap();
        let s = PointwiseShape { pixels: g.batch * g.in_h * g.in_w, in_c, out_c };
        let input = rand_vec(&mut r, d.input_len);
        let weights = rand_vec(&mut r, d.weight_len); // [out_c][1][1][in_c] == [out_c][in_c]
        let bias = rand_bias(&mut r, out_c);
        let act = rand_act(&mut r);
        let ctx = format!("seed {seed}, {g:?}, {s:?}, bias {}, {act:?}", bias.is_some());

        let mut out = vec![f32::NAN; s.pixels * out_c];
        reference::pointwise(&s, &input, &weights, bias.as_deref(), act, &mut out).expect(&ctx);
        let expected = conv2d_out(&g, &input, &weights, bias.as_deref(), act, &ctx);
        let (_, mag) = naive_conv(&g, &input, &weights, bias.as_deref());
        assert_close(&out, &expected, &mag, &ctx);
    }
}

#[test]
fn row_then_col_pass_matches_dwconv_with_outer_product_kernel() {
    for seed in 0..CASES {
        let mut r = rng(seed);
        let g = rand_depthwise_geometry(&mut r);
        let d = g.validate().unwrap();
        let (n, c, p) = (g.batch, g.in_c, g.padding);
        let input = rand_vec(&mut r, d.input_len);
        let row_w = rand_vec(&mut r, g.kernel_w * c); // [kw][C]
        let col_w = rand_vec(&mut r, g.kernel_h * c); // [kh][C]
        let bias = rand_bias(&mut r, c);
        let act = rand_act(&mut r);

        // Row pass: width axis, no bias, no activation. [N][H][W][C] → [N][H][out_w][C].
        let row_g = SeparablePassGeometry {
            axis: SeparableAxis::Row,
            batch: n,
            in_h: g.in_h,
            in_w: g.in_w,
            channels: c,
            kernel: g.kernel_w,
            stride: g.stride_w,
            dilation: g.dilation_w,
            pad_before: p.left,
            pad_after: p.right,
        };
        // Column pass: height axis, bias and activation. → [N][out_h][out_w][C].
        let col_g = SeparablePassGeometry {
            axis: SeparableAxis::Column,
            in_w: d.out_w,
            kernel: g.kernel_h,
            stride: g.stride_h,
            dilation: g.dilation_h,
            pad_before: p.top,
            pad_after: p.bottom,
            ..row_g
        };
        let ctx = format!("seed {seed}, {g:?}, bias {}, {act:?}", bias.is_some());
        let rd = row_g.validate().expect(&ctx);
        assert_eq!((rd.out_h, rd.out_w), (g.in_h, d.out_w), "{ctx}: row pass extent");
        let cd = col_g.validate().expect(&ctx);
        assert_eq!((cd.out_h, cd.out_w), (d.out_h, d.out_w), "{ctx}: column pass extent");

        let mut mid = vec![f32::NAN; rd.output_len];
        reference::row_pass(&row_g, &input, &row_w, None, Activation::None, &mut mid).expect(&ctx);
        let mut out = vec![f32::NAN; cd.output_len];
        reference::col_pass(&col_g, &mid, &col_w, bias.as_deref(), act, &mut out).expect(&ctx);

        // w2d[ky][kx][c] = col[ky][c] · row[kx][c] (HWC depthwise layout).
        let mut w2d = Vec::with_capacity(g.kernel_h * g.kernel_w * c);
        for ky in 0..g.kernel_h {
            for kx in 0..g.kernel_w {
                for ch in 0..c {
                    w2d.push(col_w[ky * c + ch] * row_w[kx * c + ch]);
                }
            }
        }
        let mut expected = vec![f32::NAN; d.output_len];
        reference::dwconv(&g, &input, &w2d, bias.as_deref(), act, &mut expected).expect(&ctx);
        let (_, mag) = naive_conv(&g, &input, &hwc_to_ohwi(&w2d, g.kernel_h, g.kernel_w, c), bias.as_deref());
        assert_close(&out, &expected, &mag, &ctx);
    }
}

#[test]
fn grouped_conv2d_matches_per_group_convs() {
    for seed in 0..CASES {
        let mut r = rng(seed);
        // Pick groups first so that most cases are really grouped (1–4 groups).
        let g = loop {
            let groups = r.random_range(1..=4);
            let cin_g = r.random_range(1..=19 / groups);
            let cout_g = r.random_range(1..=19 / groups);
            let g = rand_spatial(&mut r, groups * cin_g, groups * cout_g, groups);
            if g.validate().is_ok() {
                break g;
            }
        };
        let d = g.validate().unwrap();
        let (cin_g, cout_g) = (g.in_c / g.groups, g.out_c / g.groups);
        let input = rand_vec(&mut r, d.input_len);
        let weights = rand_vec(&mut r, d.weight_len);
        let bias = rand_bias(&mut r, g.out_c);
        let act = rand_act(&mut r);
        let ctx = format!("seed {seed}, {g:?}, bias {}, {act:?}", bias.is_some());
        let out = conv2d_out(&g, &input, &weights, bias.as_deref(), act, &ctx);

        let pixels_in = g.batch * g.in_h * g.in_w;
        let pixels_out = g.batch * d.out_h * d.out_w;
        let per_group_w = cout_g * g.kernel_h * g.kernel_w * cin_g;
        let mut expected = vec![f32::NAN; d.output_len];
        for k in 0..g.groups {
            // This group's input channels, as a dense NHWC tensor with cin_g channels.
            let input_k: Vec<f32> = (0..pixels_in)
                .flat_map(|px| &input[px * g.in_c + k * cin_g..px * g.in_c + (k + 1) * cin_g])
                .copied()
                .collect();
            // OHWI is output-major, so this group's weights are one contiguous block.
            let weights_k = &weights[k * per_group_w..(k + 1) * per_group_w];
            let bias_k = bias.as_deref().map(|b| &b[k * cout_g..(k + 1) * cout_g]);
            let g_k = Conv2dGeometry { in_c: cin_g, out_c: cout_g, groups: 1, ..g };
            let out_k = conv2d_out(&g_k, &input_k, weights_k, bias_k, act, &ctx);
            // Interleave back: output channel k·cout_g + o of every pixel.
            for px in 0..pixels_out {
                expected[px * g.out_c + k * cout_g..px * g.out_c + (k + 1) * cout_g]
                    .copy_from_slice(&out_k[px * cout_g..(px + 1) * cout_g]);
            }
        }
        assert!(expected.iter().all(|v| !v.is_nan()), "{ctx}: interleave left a gap");
        let (_, mag) = naive_conv(&g, &input, &weights, bias.as_deref());
        assert_close(&out, &expected, &mag, &ctx);
    }
}

#[test]
fn dense_matches_pointwise_with_pixels_eq_batch() {
    for seed in 0..CASES {
        let mut r = rng(seed);
        // Dense layers are wider than convolution channel counts; still cheap.
        let s = DenseShape {
            batch: r.random_range(1..=4),
            in_features: r.random_range(1..=40),
            out_features: r.random_range(1..=40),
        };
        let p = PointwiseShape { pixels: s.batch, in_c: s.in_features, out_c: s.out_features };
        let input = rand_vec(&mut r, s.batch * s.in_features);
        let weights = rand_vec(&mut r, s.out_features * s.in_features);
        let bias = rand_bias(&mut r, s.out_features);
        let act = rand_act(&mut r);
        let ctx = format!("seed {seed}, {s:?}, bias {}, {act:?}", bias.is_some());

        let mut out = vec![f32::NAN; s.batch * s.out_features];
        reference::dense(&s, &input, &weights, bias.as_deref(), act, &mut out).expect(&ctx);
        let mut expected = vec![f32::NAN; out.len()];
        reference::pointwise(&p, &input, &weights, bias.as_deref(), act, &mut expected).expect(&ctx);
        let g = Conv2dGeometry::new(s.batch, 1, 1, s.in_features, s.out_features, 1, 1);
        let (_, mag) = naive_conv(&g, &input, &weights, bias.as_deref());
        assert_close(&out, &expected, &mag, &ctx);
    }
}

#[test]
fn global_avg_pool_matches_independent_mean() {
    for seed in 0..CASES {
        let mut r = rng(seed);
        let (batch, h, w, channels) =
            (r.random_range(1..=2), r.random_range(1..=9), r.random_range(1..=9), r.random_range(1..=19));
        let s = GlobalPoolShape { batch, pixels: h * w, channels };
        // Values away from zero on both sides so the mean can cancel.
        let input: Vec<f32> = rand_vec(&mut r, batch * h * w * channels).iter().map(|v| v * 8.0).collect();
        let ctx = format!("seed {seed}, {s:?} (H {h}, W {w})");
        let mut out = vec![f32::NAN; batch * channels];
        reference::global_avg_pool(&s, &input, &mut out).expect(&ctx);

        // Independent mean: walk the NHWC tensor pixel by pixel, accumulating per channel.
        let mut expected = Vec::new();
        let mut mag = Vec::new();
        for img in input.chunks_exact(h * w * channels) {
            let mut sum = vec![0.0f64; channels];
            let mut abs = vec![0.0f64; channels];
            for pixel in img.chunks_exact(channels) {
                for (ch, &v) in pixel.iter().enumerate() {
                    sum[ch] += f64::from(v);
                    abs[ch] += f64::from(v).abs();
                }
            }
            let count = (h * w) as f64;
            expected.extend(sum.iter().map(|s| (s / count) as f32));
            mag.extend(abs.iter().map(|a| a / count));
        }
        assert_close(&out, &expected, &mag, &ctx);
    }
}

#[test]
fn padding_only_outputs_equal_bias() {
    // A 1×1 kernel with stride 1 and padding on every side: the border outputs read only
    // padding, so they are exactly act(bias); the interior equals a per-pixel product.
    for seed in 0..16 {
        let mut r = rng(seed);
        let c = r.random_range(1..=8);
        let pad = rand_padding(&mut r);
        let g = Conv2dGeometry::depthwise(1, r.random_range(1..=4), r.random_range(1..=4), c, 1, 1)
            .with_padding(pad);
        let d = g.validate().unwrap();
        let input = rand_vec(&mut r, d.input_len);
        let w = rand_vec(&mut r, c);
        let bias = rand_vec(&mut r, c);
        let ctx = format!("seed {seed}, {g:?}");
        let mut out = vec![f32::NAN; d.output_len];
        reference::dwconv(&g, &input, &w, Some(&bias), Activation::None, &mut out).expect(&ctx);
        for oy in 0..d.out_h {
            for ox in 0..d.out_w {
                let inside =
                    (pad.top..pad.top + g.in_h).contains(&oy) && (pad.left..pad.left + g.in_w).contains(&ox);
                for ch in 0..c {
                    let got = out[(oy * d.out_w + ox) * c + ch];
                    let want = if inside {
                        let x = input[((oy - pad.top) * g.in_w + (ox - pad.left)) * c + ch];
                        (f64::from(x) * f64::from(w[ch]) + f64::from(bias[ch])) as f32
                    } else {
                        bias[ch]
                    };
                    assert_eq!(got, want, "{ctx}: ({oy}, {ox}, {ch})");
                }
            }
        }
    }
}

#[test]
fn tolerance_is_tight_enough_to_catch_a_missing_tap() {
    // Sanity check of the tolerance itself: dropping a single tap's contribution from a conv
    // result must violate the REL_TOL bound (otherwise the cross-checks would be vacuous).
    let mut r = rng(7);
    let g = Conv2dGeometry::new(1, 3, 3, 4, 1, 3, 3);
    let d = g.validate().unwrap();
    let input = rand_vec(&mut r, d.input_len);
    let weights = rand_vec(&mut r, d.weight_len);
    let (exact, mag) = naive_conv(&g, &input, &weights, None);
    let tap = f64::from(input[0]) * f64::from(weights[0]);
    assert!(tap.abs() > REL_TOL * mag[0] * 10.0, "the dropped term is not negligible");
    let broken = [(exact[0] - tap) as f32];
    assert!(check_close(&broken, &[exact[0] as f32], &mag).is_err(), "a result missing one tap passed");
    // While the correctly rounded result passes.
    assert!(check_close(&[exact[0] as f32], &[exact[0] as f32], &mag).is_ok());
}
