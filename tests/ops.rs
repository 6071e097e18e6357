//! Integration tests of the planned ops (`sepconv::ops`) and the inverted-residual block.
//!
//! - Every op, planned on every tier this CPU has, matches the reference kernel of
//!   `sepconv::kernels::reference` called directly on the same data (seeded random shapes).
//! - `Conv2d` routing (`path()`, `kernel_name()`), and the OHWI → HWC repacking of its
//!   depthwise path.
//! - Output shapes and SAME/VALID padding worked out by hand.
//! - Plan errors and run errors: the exact `Error` variant, a message that names the offending
//!   value, and an output buffer left untouched.
//!
//! Nothing here calls `force_isa` (a process-global override; the tests of this binary run in
//! parallel): every op is planned with `with_isa`.

use std::fmt::Debug;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use sepconv::Error;
use sepconv::blocks::{self, InvertedResidual};
use sepconv::dispatch::Isa;
use sepconv::kernels::reference::{self, DenseShape, GlobalPoolShape};
use sepconv::kernels::{
    Activation, Conv2dGeometry, KernelError, PadMode, Padding2d, PointwiseShape, SeparableAxis,
    SeparablePassGeometry, axis_padding,
};
use sepconv::ops::{
    ActivationOp, Add, Conv2d, ConvPath, Dense, DepthwiseConv2d, GlobalAvgPool, PointwiseConv2d,
    SeparableConv2d, SeparablePass1d, conv2d_output_shape,
};
use sepconv::tensor::{Shape4, Tensor, TensorError};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Relative tolerance of the tier-vs-reference comparisons, applied per output element to the
/// accumulated magnitude `M = |bias| + Σ|x·w|` (computed by running the reference kernel on
/// the absolute values): `|tier - reference| <= REL_TOL · M`. Today every tier runs the
/// reference kernels, so the outputs are bit-identical; the tolerance keeps these tests valid
/// once SIMD kernels (other summation order, FMA, f32 accumulators) land. Activations are
/// 1-Lipschitz, so they do not widen the gap.
const REL_TOL: f32 = 1e-5;

/// Seeded cases per randomized test.
const CASES: u64 = 48;

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// `len` values uniform in `[-1, 1)`.
fn rand_vec(r: &mut StdRng, len: usize) -> Vec<f32> {
    (0..len).map(|_| r.random_range(-1.0f32..1.0)).collect()
}

fn rand_bias(r: &mut StdRng, len: usize) -> Option<Vec<f32>> {
    r.random_bool(0.5).then(|| rand_vec(r, len))
}

fn rand_act(r: &mut StdRng) -> Activation {
    match r.random_range(0..4) {
        0 => Activation::None,
        1 => Activation::Relu,
        2 => Activation::Relu6,
        _ => Activation::Clamp { min: -0.4, max: 0.3 },
    }
}

fn abs_vec(v: &[f32]) -> Vec<f32> {
    v.iter().map(|x| x.abs()).collect()
}

/// One random spatial axis: `(input, kernel, stride, dilation, pad_before, pad_after)` with the
/// dilated kernel fitting in the padded input.
fn rand_axis(r: &mut StdRng) -> (usize, usize, usize, usize, usize, usize) {
    loop {
        let input = r.random_range(1..=9);
        let kernel = r.random_range(1..=5);
        let stride = r.random_range(1..=2);
        let dilation = r.random_range(1..=2);
        let (pb, pa) = (r.random_range(0..=3), r.random_range(0..=3));
        if dilation * (kernel - 1) < input + pb + pa {
            return (input, kernel, stride, dilation, pb, pa);
        }
    }
}

/// A random valid convolution geometry over the given channels and groups.
fn rand_geometry(r: &mut StdRng, in_c: usize, out_c: usize, groups: usize) -> Conv2dGeometry {
    let batch = r.random_range(1..=2);
    let (in_h, kh, sh, dh, top, bottom) = rand_axis(r);
    let (in_w, kw, sw, dw, left, right) = rand_axis(r);
    Conv2dGeometry::new(batch, in_h, in_w, in_c, out_c, kh, kw)
        .with_stride(sh, sw)
        .with_dilation(dh, dw)
        .with_padding(Padding2d { top, left, bottom, right })
        .with_groups(groups)
}

/// Asserts `|got - want| <= REL_TOL · mag` element-wise, naming the case on failure.
fn assert_close(ctx: &dyn Debug, got: &[f32], want: &[f32], mag: &[f32]) {
    assert_eq!(got.len(), want.len(), "{ctx:?}: output lengths differ");
    assert_eq!(mag.len(), want.len(), "{ctx:?}: magnitude length differs");
    for (i, ((&g, &w), &m)) in got.iter().zip(want).zip(mag).enumerate() {
        let tol = REL_TOL * m;
        assert!(
            (g - w).abs() <= tol,
            "{ctx:?}: element {i}: tier gives {g}, reference gives {w} (|diff| {} > tol {tol}, Σ|x·w| {m})",
            (g - w).abs()
        );
    }
}

fn tensor(shape: Shape4, data: &[f32]) -> Tensor {
    Tensor::from_slice(shape, data).expect("valid test tensor")
}

const SENTINEL: f32 = -7.25;

fn sentinel(shape: Shape4) -> Tensor {
    let len = shape.validate().expect("valid shape");
    Tensor::from_vec(shape, vec![SENTINEL; len]).expect("valid shape")
}

fn assert_untouched(out: &Tensor, ctx: &str) {
    assert!(out.as_slice().iter().all(|&v| v == SENTINEL), "{ctx}: the output buffer was written to");
}

/// Asserts a `ShapeMismatch` naming `op` and `what`, with the planned and given shapes.
fn assert_shape_mismatch(err: Error, op: &str, what: &str, expected: Shape4, actual: Shape4) {
    assert_shape_mismatch_any_op(err, &[op], what, expected, actual);
}

/// As [`assert_shape_mismatch`], accepting any op name in `ops`.
fn assert_shape_mismatch_any_op(err: Error, ops: &[&str], what: &str, expected: Shape4, actual: Shape4) {
    let msg = err.to_string();
    match err {
        Error::ShapeMismatch { op: o, what: w, expected: e, actual: a } => {
            assert!(ops.contains(&o), "op {o} not in {ops:?}: {msg}");
            assert_eq!((w, e, a), (what, expected, actual), "{msg}");
        }
        other => panic!("expected ShapeMismatch for {ops:?} {what}, got {other:?}"),
    }
    assert!(msg.contains(what) && msg.contains(&actual.to_string()), "message does not name it: {msg}");
}

/// Unwraps an `Error::Kernel`, checking its op, and returns the kernel error and the message.
fn kernel_err(err: Error, op: &str) -> (KernelError, String) {
    let msg = err.to_string();
    match err {
        Error::Kernel { op: o, source } => {
            assert_eq!(o, op, "{msg}");
            assert!(msg.starts_with(op), "message does not name the op: {msg}");
            (source, msg)
        }
        other => panic!("expected Error::Kernel from {op}, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Every op on every tier matches the reference kernel
// ---------------------------------------------------------------------------------------------

/// The path `Conv2d` must take for `g` (the routing rules of the ops docs).
fn expected_path(g: &Conv2dGeometry) -> ConvPath {
    if g.groups == g.in_c && g.in_c == g.out_c {
        ConvPath::Depthwise
    } else if g.kernel_h == 1
        && g.kernel_w == 1
        && g.stride_h == 1
        && g.stride_w == 1
        && g.padding == Padding2d::ZERO
        && g.groups == 1
    {
        ConvPath::Pointwise
    } else if g.groups == 1 {
        ConvPath::Dense
    } else {
        ConvPath::Grouped
    }
}

#[test]
fn conv2d_matches_reference_on_every_tier() {
    for case in 0..CASES * 2 {
        let seed = 0xC0_0000 + case;
        let r = &mut rng(seed);
        let g = match case % 4 {
            // Dense k×k.
            0 => {
                let (in_c, out_c) = (r.random_range(1..=17), r.random_range(1..=17));
                rand_geometry(r, in_c, out_c, 1)
            }
            // Grouped (sometimes depthwise-like with a depth multiplier).
            1 => {
                let groups = r.random_range(2..=4);
                let (cin_g, cout_g) = (r.random_range(1..=4), r.random_range(1..=4));
                rand_geometry(r, groups * cin_g, groups * cout_g, groups)
            }
            // Depthwise.
            2 => {
                let c = r.random_range(1..=17);
                rand_geometry(r, c, c, c)
            }
            // Pointwise 1×1 (dilation is random and irrelevant).
            _ => {
                let (in_c, out_c) = (r.random_range(1..=17), r.random_range(1..=17));
                let mut g = rand_geometry(r, in_c, out_c, 1);
                (g.kernel_h, g.kernel_w, g.stride_h, g.stride_w, g.padding) = (1, 1, 1, 1, Padding2d::ZERO);
                g
            }
        };
        let d = g.validate().unwrap_or_else(|e| panic!("seed {seed}: generator made {g:?}: {e}"));
        let input = rand_vec(r, d.input_len);
        let weights = rand_vec(r, d.weight_len);
        let bias = rand_bias(r, g.out_c);
        let act = rand_act(r);

        let mut want = vec![0.0; d.output_len];
        reference::conv2d(&g, &input, &weights, bias.as_deref(), act, &mut want).unwrap();
        let mut mag = vec![0.0; d.output_len];
        let abs_bias = bias.as_deref().map(abs_vec);
        reference::conv2d(
            &g,
            &abs_vec(&input),
            &abs_vec(&weights),
            abs_bias.as_deref(),
            Activation::None,
            &mut mag,
        )
        .unwrap();

        for isa in Isa::available() {
            let ctx = (seed, isa, &g, act, bias.is_some());
            let op = Conv2d::with_isa(isa, g, &weights, bias.as_deref(), act)
                .unwrap_or_else(|e| panic!("{ctx:?}: plan failed: {e}"));
            assert_eq!(op.isa(), isa, "{ctx:?}");
            assert_eq!(op.path(), expected_path(&g), "{ctx:?}");
            assert_eq!(op.input_shape(), Shape4::new(g.batch, g.in_h, g.in_w, g.in_c), "{ctx:?}");
            assert_eq!(op.output_shape(), Shape4::new(g.batch, d.out_h, d.out_w, g.out_c), "{ctx:?}");
            let x = tensor(op.input_shape(), &input);
            let mut y = sentinel(op.output_shape());
            op.run(x.view(), y.view_mut()).unwrap_or_else(|e| panic!("{ctx:?}: run failed: {e}"));
            assert_close(&ctx, y.as_slice(), &want, &mag);
        }
    }
}

#[test]
fn depthwise_matches_reference_on_every_tier() {
    for case in 0..CASES {
        let seed = 0xD0_0000 + case;
        let r = &mut rng(seed);
        let c = r.random_range(1..=17);
        let g = rand_geometry(r, c, c, c);
        let d = g.validate().unwrap();
        let input = rand_vec(r, d.input_len);
        let weights = rand_vec(r, d.weight_len); // [kh][kw][C]
        let bias = rand_bias(r, c);
        let act = rand_act(r);

        let mut want = vec![0.0; d.output_len];
        reference::dwconv(&g, &input, &weights, bias.as_deref(), act, &mut want).unwrap();
        let mut mag = vec![0.0; d.output_len];
        let abs_bias = bias.as_deref().map(abs_vec);
        reference::dwconv(
            &g,
            &abs_vec(&input),
            &abs_vec(&weights),
            abs_bias.as_deref(),
            Activation::None,
            &mut mag,
        )
        .unwrap();

        for isa in Isa::available() {
            let ctx = (seed, isa, &g, act, bias.is_some());
            let op = DepthwiseConv2d::with_isa(isa, g, &weights, bias.as_deref(), act).unwrap();
            assert_eq!(op.isa(), isa);
            assert_eq!(op.geometry(), &g);
            let x = tensor(op.input_shape(), &input);
            let mut y = sentinel(op.output_shape());
            op.run(x.view(), y.view_mut()).unwrap_or_else(|e| panic!("{ctx:?}: {e}"));
            assert_close(&ctx, y.as_slice(), &want, &mag);
        }
    }
}

#[test]
fn pointwise_matches_reference_on_every_tier() {
    for case in 0..CASES {
        let seed = 0x70_0000 + case;
        let r = &mut rng(seed);
        let input_shape = Shape4::new(
            r.random_range(1..=2),
            r.random_range(1..=9),
            r.random_range(1..=9),
            r.random_range(1..=17),
        );
        let out_c = r.random_range(1..=17);
        let s = PointwiseShape {
            pixels: input_shape.n * input_shape.h * input_shape.w,
            in_c: input_shape.c,
            out_c,
        };
        let (in_len, w_len, out_len) = s.validate().unwrap();
        let input = rand_vec(r, in_len);
        let weights = rand_vec(r, w_len);
        let bias = rand_bias(r, out_c);
        let act = rand_act(r);

        let mut want = vec![0.0; out_len];
        reference::pointwise(&s, &input, &weights, bias.as_deref(), act, &mut want).unwrap();
        let mut mag = vec![0.0; out_len];
        let abs_bias = bias.as_deref().map(abs_vec);
        reference::pointwise(
            &s,
            &abs_vec(&input),
            &abs_vec(&weights),
            abs_bias.as_deref(),
            Activation::None,
            &mut mag,
        )
        .unwrap();

        for isa in Isa::available() {
            let ctx = (seed, isa, input_shape, out_c, act, bias.is_some());
            let op =
                PointwiseConv2d::with_isa(isa, input_shape, out_c, &weights, bias.as_deref(), act).unwrap();
            assert_eq!(op.isa(), isa);
            assert_eq!(op.input_shape(), input_shape);
            assert_eq!(op.output_shape(), Shape4 { c: out_c, ..input_shape });
            let x = tensor(input_shape, &input);
            let mut y = sentinel(op.output_shape());
            op.run(x.view(), y.view_mut()).unwrap_or_else(|e| panic!("{ctx:?}: {e}"));
            assert_close(&ctx, y.as_slice(), &want, &mag);
        }
    }
}

fn rand_pass(r: &mut StdRng) -> (usize, SeparablePass1d) {
    let (input, kernel, stride, dilation, pad_before, pad_after) = rand_axis(r);
    (input, SeparablePass1d { kernel, stride, dilation, pad_before, pad_after })
}

fn pass_geometry(axis: SeparableAxis, input: Shape4, p: SeparablePass1d) -> SeparablePassGeometry {
    SeparablePassGeometry {
        axis,
        batch: input.n,
        in_h: input.h,
        in_w: input.w,
        channels: input.c,
        kernel: p.kernel,
        stride: p.stride,
        dilation: p.dilation,
        pad_before: p.pad_before,
        pad_after: p.pad_after,
    }
}

/// The reference row pass then column pass; returns the output, its shape and the scratch
/// length. With `mag`, runs on absolute values without activation (the magnitude bound).
#[allow(clippy::too_many_arguments)]
fn separable_reference(
    input_shape: Shape4,
    row: SeparablePass1d,
    col: SeparablePass1d,
    input: &[f32],
    row_w: &[f32],
    col_w: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
) -> (Vec<f32>, Shape4, usize) {
    let rg = pass_geometry(SeparableAxis::Row, input_shape, row);
    let rd = rg.validate().unwrap();
    let mut mid = vec![0.0; rd.output_len];
    reference::row_pass(&rg, input, row_w, None, Activation::None, &mut mid).unwrap();
    let mid_shape = Shape4::new(input_shape.n, rd.out_h, rd.out_w, input_shape.c);
    let cg = pass_geometry(SeparableAxis::Column, mid_shape, col);
    let cd = cg.validate().unwrap();
    let mut out = vec![0.0; cd.output_len];
    reference::col_pass(&cg, &mid, col_w, bias, act, &mut out).unwrap();
    (out, Shape4::new(input_shape.n, cd.out_h, cd.out_w, input_shape.c), rd.output_len)
}

#[test]
fn separable_matches_reference_on_every_tier() {
    for case in 0..CASES {
        let seed = 0x5E_0000 + case;
        let r = &mut rng(seed);
        let (in_w, row) = rand_pass(r);
        let (in_h, col) = rand_pass(r);
        let input_shape = Shape4::new(r.random_range(1..=2), in_h, in_w, r.random_range(1..=17));
        let c = input_shape.c;
        let input = rand_vec(r, input_shape.validate().unwrap());
        let row_w = rand_vec(r, row.kernel * c);
        let col_w = rand_vec(r, col.kernel * c);
        let bias = rand_bias(r, c);
        let act = rand_act(r);

        let (want, want_shape, scratch_len) =
            separable_reference(input_shape, row, col, &input, &row_w, &col_w, bias.as_deref(), act);
        let abs_bias = bias.as_deref().map(abs_vec);
        let (mag, _, _) = separable_reference(
            input_shape,
            row,
            col,
            &abs_vec(&input),
            &abs_vec(&row_w),
            &abs_vec(&col_w),
            abs_bias.as_deref(),
            Activation::None,
        );

        for isa in Isa::available() {
            let ctx = (seed, isa, input_shape, row, col, act, bias.is_some());
            let op =
                SeparableConv2d::with_isa(isa, input_shape, row, col, &row_w, &col_w, bias.as_deref(), act)
                    .unwrap_or_else(|e| panic!("{ctx:?}: {e}"));
            assert_eq!(op.isa(), isa);
            assert_eq!(op.input_shape(), input_shape, "{ctx:?}");
            assert_eq!(op.output_shape(), want_shape, "{ctx:?}");
            assert_eq!(op.scratch_len(), scratch_len, "{ctx:?}");
            let x = tensor(input_shape, &input);
            let mut y = sentinel(want_shape);
            op.run(x.view(), y.view_mut()).unwrap_or_else(|e| panic!("{ctx:?}: {e}"));
            assert_close(&ctx, y.as_slice(), &want, &mag);
        }
    }
}

#[test]
fn activation_and_add_match_reference_on_every_tier() {
    for case in 0..CASES {
        let seed = 0xAC_0000 + case;
        let r = &mut rng(seed);
        let shape = Shape4::new(
            r.random_range(1..=2),
            r.random_range(1..=9),
            r.random_range(1..=9),
            r.random_range(1..=17),
        );
        let len = shape.validate().unwrap();
        // Spread the values over [-8, 8) so that relu6 and the clamp bite on both sides.
        let a: Vec<f32> = rand_vec(r, len).iter().map(|v| v * 8.0).collect();
        let b: Vec<f32> = rand_vec(r, len).iter().map(|v| v * 8.0).collect();
        let act = rand_act(r);

        let mut want_act = vec![0.0; len];
        reference::activation(act, &a, &mut want_act).unwrap();
        let mut want_add = vec![0.0; len];
        reference::add(&a, &b, act, &mut want_add).unwrap();
        let mag_act = abs_vec(&a);
        let mag_add: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x.abs() + y.abs()).collect();

        for isa in Isa::available() {
            let ctx = (seed, isa, shape, act);
            let (xa, xb) = (tensor(shape, &a), tensor(shape, &b));

            let op = ActivationOp::with_isa(isa, shape, act).unwrap();
            assert_eq!((op.isa(), op.shape()), (isa, shape));
            let mut y = sentinel(shape);
            op.run(xa.view(), y.view_mut()).unwrap();
            assert_close(&ctx, y.as_slice(), &want_act, &mag_act);

            let op = Add::with_isa(isa, shape, act).unwrap();
            assert_eq!((op.isa(), op.shape()), (isa, shape));
            let mut y = sentinel(shape);
            op.run(xa.view(), xb.view(), y.view_mut()).unwrap();
            assert_close(&ctx, y.as_slice(), &want_add, &mag_add);
        }
    }
}

#[test]
fn global_avg_pool_and_dense_match_reference_on_every_tier() {
    for case in 0..CASES {
        let seed = 0x6A_0000 + case;
        let r = &mut rng(seed);

        // Global average pool.
        let shape = Shape4::new(
            r.random_range(1..=2),
            r.random_range(1..=9),
            r.random_range(1..=9),
            r.random_range(1..=17),
        );
        let s = GlobalPoolShape { batch: shape.n, pixels: shape.h * shape.w, channels: shape.c };
        let input = rand_vec(r, shape.validate().unwrap());
        let mut want = vec![0.0; shape.n * shape.c];
        reference::global_avg_pool(&s, &input, &mut want).unwrap();
        let mut mag = vec![0.0; shape.n * shape.c];
        reference::global_avg_pool(&s, &abs_vec(&input), &mut mag).unwrap();
        for isa in Isa::available() {
            let ctx = (seed, isa, shape);
            let op = GlobalAvgPool::with_isa(isa, shape).unwrap();
            assert_eq!(op.isa(), isa);
            assert_eq!(op.input_shape(), shape);
            assert_eq!(op.output_shape(), Shape4::new(shape.n, 1, 1, shape.c));
            let x = tensor(shape, &input);
            let mut y = sentinel(op.output_shape());
            op.run(x.view(), y.view_mut()).unwrap();
            assert_close(&ctx, y.as_slice(), &want, &mag);
        }

        // Dense.
        let ds = DenseShape {
            batch: r.random_range(1..=2),
            in_features: r.random_range(1..=40),
            out_features: r.random_range(1..=17),
        };
        let input = rand_vec(r, ds.batch * ds.in_features);
        let weights = rand_vec(r, ds.out_features * ds.in_features);
        let bias = rand_bias(r, ds.out_features);
        let act = rand_act(r);
        let mut want = vec![0.0; ds.batch * ds.out_features];
        reference::dense(&ds, &input, &weights, bias.as_deref(), act, &mut want).unwrap();
        let mut mag = vec![0.0; ds.batch * ds.out_features];
        let abs_bias = bias.as_deref().map(abs_vec);
        reference::dense(
            &ds,
            &abs_vec(&input),
            &abs_vec(&weights),
            abs_bias.as_deref(),
            Activation::None,
            &mut mag,
        )
        .unwrap();
        for isa in Isa::available() {
            let ctx = (seed, isa, ds, act, bias.is_some());
            let op = Dense::with_isa(
                isa,
                ds.batch,
                ds.in_features,
                ds.out_features,
                &weights,
                bias.as_deref(),
                act,
            )
            .unwrap();
            assert_eq!(op.isa(), isa);
            assert_eq!(op.input_shape(), Shape4::new(ds.batch, 1, 1, ds.in_features));
            assert_eq!(op.output_shape(), Shape4::new(ds.batch, 1, 1, ds.out_features));
            let x = tensor(op.input_shape(), &input);
            let mut y = sentinel(op.output_shape());
            op.run(x.view(), y.view_mut()).unwrap();
            assert_close(&ctx, y.as_slice(), &want, &mag);
        }
    }
}

/// Hand-checked numbers, so that the ops are not only compared with the reference.
#[test]
fn ops_hand_checked_values() {
    // Dense: [1, 2, 3] · [[1, 0, -1], [0.5, 0.5, 0.5]] + [10, -10] = [8, -7]; relu → [8, 0].
    let op = Dense::with_isa(
        Isa::Scalar,
        1,
        3,
        2,
        &[1.0, 0.0, -1.0, 0.5, 0.5, 0.5],
        Some(&[10.0, -10.0]),
        Activation::Relu,
    )
    .unwrap();
    let x = tensor(op.input_shape(), &[1.0, 2.0, 3.0]);
    let mut y = Tensor::zeros(op.output_shape()).unwrap();
    op.run(x.view(), y.view_mut()).unwrap();
    assert_eq!(y.as_slice(), &[8.0, 0.0]);

    // Global average pool of a 1×2×2×2 tensor: channel 0 = 1, 2, 3, 4; channel 1 = -4, 0, 0, 8.
    let op = GlobalAvgPool::with_isa(Isa::Scalar, Shape4::new(1, 2, 2, 2)).unwrap();
    let x = tensor(op.input_shape(), &[1.0, -4.0, 2.0, 0.0, 3.0, 0.0, 4.0, 8.0]);
    let mut y = Tensor::zeros(op.output_shape()).unwrap();
    op.run(x.view(), y.view_mut()).unwrap();
    assert_eq!(y.as_slice(), &[2.5, 1.0]);

    // Add with relu6: [1, 5, -3, 4] + [2, 3, 1, -5] = [3, 8, -2, -1] → [3, 6, 0, 0].
    let shape = Shape4::new(1, 1, 2, 2);
    let op = Add::with_isa(Isa::Scalar, shape, Activation::Relu6).unwrap();
    let (a, b) = (tensor(shape, &[1.0, 5.0, -3.0, 4.0]), tensor(shape, &[2.0, 3.0, 1.0, -5.0]));
    let mut y = Tensor::zeros(shape).unwrap();
    op.run(a.view(), b.view(), y.view_mut()).unwrap();
    assert_eq!(y.as_slice(), &[3.0, 6.0, 0.0, 0.0]);

    // Clamp [-1, 2] of [-3, -1, 0.5, 2, 7, -0.25].
    let shape = Shape4::new(1, 1, 3, 2);
    let op = ActivationOp::with_isa(Isa::Scalar, shape, Activation::Clamp { min: -1.0, max: 2.0 }).unwrap();
    let x = tensor(shape, &[-3.0, -1.0, 0.5, 2.0, 7.0, -0.25]);
    let mut y = Tensor::zeros(shape).unwrap();
    op.run(x.view(), y.view_mut()).unwrap();
    assert_eq!(y.as_slice(), &[-1.0, -1.0, 0.5, 2.0, 2.0, -0.25]);

    // Separable 1×3 then 3×1 with padding 1 on a 1×3×3×1 image of ones, weights [1, 2, 4] on
    // both axes: the centre sees (1 + 2 + 4)² = 49, the top-left corner (2 + 4)² = 36, the
    // top centre (2 + 4) · 7 = 42.
    let shape = Shape4::new(1, 3, 3, 1);
    let p = SeparablePass1d::new(3, 1);
    let op = SeparableConv2d::with_isa(
        Isa::Scalar,
        shape,
        p,
        p,
        &[1.0, 2.0, 4.0],
        &[1.0, 2.0, 4.0],
        None,
        Activation::None,
    )
    .unwrap();
    let x = tensor(shape, &[1.0; 9]);
    let mut y = Tensor::zeros(op.output_shape()).unwrap();
    op.run(x.view(), y.view_mut()).unwrap();
    assert_eq!(y.get(0, 1, 1, 0), Some(49.0));
    assert_eq!(y.get(0, 0, 0, 0), Some(36.0));
    assert_eq!(y.get(0, 0, 1, 0), Some(42.0));
    // Bottom-right corner: taps 1 and 2 on each axis, (1 + 2)² = 9.
    assert_eq!(y.get(0, 2, 2, 0), Some(9.0));
}

// ---------------------------------------------------------------------------------------------
// Conv2d routing and the depthwise weight layout
// ---------------------------------------------------------------------------------------------

fn plan_conv(g: Conv2dGeometry) -> Conv2d {
    let len = g.validate().unwrap().weight_len;
    let weights: Vec<f32> = (0..len).map(|i| (i % 7) as f32 * 0.25 - 0.5).collect();
    Conv2d::with_isa(Isa::Scalar, g, &weights, None, Activation::None)
        .unwrap_or_else(|e| panic!("{g:?}: {e}"))
}

#[test]
fn conv2d_routes_by_geometry() {
    let pad1 = Padding2d::uniform(1);

    // Depthwise 3×3: groups == in_c == out_c, with the dedicated 3×3 kernel.
    let op = plan_conv(Conv2dGeometry::depthwise(1, 8, 8, 16, 3, 3).with_padding(pad1));
    assert_eq!(op.path(), ConvPath::Depthwise);
    assert!(op.kernel_name().starts_with("dwconv3x3s1/"), "{}", op.kernel_name());
    // Stride 2: the 3×3 stride-2 kernel.
    let op = plan_conv(Conv2dGeometry::depthwise(1, 9, 9, 4, 3, 3).with_stride(2, 2).with_padding(pad1));
    assert_eq!(op.path(), ConvPath::Depthwise);
    assert!(op.kernel_name().starts_with("dwconv3x3s2/"), "{}", op.kernel_name());
    // Dilated, or with unequal strides: the general depthwise kernel.
    for g in [
        Conv2dGeometry::depthwise(1, 9, 9, 4, 3, 3).with_stride(2, 2).with_dilation(2, 2),
        Conv2dGeometry::depthwise(1, 9, 9, 4, 3, 3).with_stride(1, 2),
    ] {
        let op = plan_conv(g);
        assert_eq!(op.path(), ConvPath::Depthwise);
        assert!(op.kernel_name().starts_with("dwconv/"), "{g:?}: {}", op.kernel_name());
    }
    // Depthwise 5×5 and 3×5: the general depthwise kernel.
    for (kh, kw) in [(5, 5), (3, 5), (1, 1)] {
        let op = plan_conv(Conv2dGeometry::depthwise(1, 8, 8, 6, kh, kw).with_padding(Padding2d::uniform(2)));
        assert_eq!(op.path(), ConvPath::Depthwise, "{kh}×{kw}");
        assert!(op.kernel_name().contains("dwconv/"), "{kh}×{kw}: {}", op.kernel_name());
    }

    // Pointwise: 1×1, stride 1, no padding, one group.
    let op = plan_conv(Conv2dGeometry::new(2, 5, 7, 8, 12, 1, 1));
    assert_eq!(op.path(), ConvPath::Pointwise);
    assert!(op.kernel_name().contains("pointwise"), "{}", op.kernel_name());
    // Dilation does not matter for a 1×1 kernel.
    let op = plan_conv(Conv2dGeometry::new(1, 5, 7, 8, 12, 1, 1).with_dilation(2, 2));
    assert_eq!(op.path(), ConvPath::Pointwise);

    // 1×1 that is not a plain GEMM: strided, or padded → the dense kernel.
    let op = plan_conv(Conv2dGeometry::new(1, 6, 6, 8, 12, 1, 1).with_stride(2, 2));
    assert_eq!(op.path(), ConvPath::Dense);
    assert!(op.kernel_name().contains("conv2d"), "{}", op.kernel_name());
    let op = plan_conv(
        Conv2dGeometry::new(1, 6, 6, 8, 12, 1, 1).with_padding(Padding2d { right: 1, ..Padding2d::ZERO }),
    );
    assert_eq!(op.path(), ConvPath::Dense);

    // Dense k×k, groups 1 (a stem).
    let op = plan_conv(Conv2dGeometry::new(1, 16, 16, 3, 16, 3, 3).with_stride(2, 2).with_padding(pad1));
    assert_eq!(op.path(), ConvPath::Dense);
    assert!(op.kernel_name().contains("conv2d"), "{}", op.kernel_name());
    assert!(!op.kernel_name().contains("grouped"), "{}", op.kernel_name());

    // Grouped: 1 < groups < C, and a grouped 1×1.
    let op = plan_conv(Conv2dGeometry::new(1, 8, 8, 8, 8, 3, 3).with_groups(2).with_padding(pad1));
    assert_eq!(op.path(), ConvPath::Grouped);
    assert!(op.kernel_name().contains("grouped_conv"), "{}", op.kernel_name());
    let op = plan_conv(Conv2dGeometry::new(1, 8, 8, 8, 16, 1, 1).with_groups(4));
    assert_eq!(op.path(), ConvPath::Grouped);
    assert!(op.kernel_name().contains("grouped_conv"), "{}", op.kernel_name());
    // groups == in_c but out_c = 2·in_c (depth multiplier 2) is not depthwise.
    let op = plan_conv(Conv2dGeometry::new(1, 8, 8, 4, 8, 3, 3).with_groups(4));
    assert_eq!(op.path(), ConvPath::Grouped);

    // Routing is the same on every tier, and the kernel names are `op/impl`.
    for isa in Isa::available() {
        let g = Conv2dGeometry::depthwise(1, 8, 8, 16, 3, 3).with_padding(pad1);
        let op = Conv2d::with_isa(isa, g, &vec![0.5; 9 * 16], None, Activation::None).unwrap();
        assert_eq!((op.isa(), op.path()), (isa, ConvPath::Depthwise));
        assert!(op.kernel_name().starts_with("dwconv3x3s1/"), "{isa}: {}", op.kernel_name());
    }
}

#[test]
fn conv2d_depthwise_path_reads_ohwi_weights() {
    // Hand-checked: 1×2×2×2 input, 2×2 depthwise kernel, no padding → 1×1×1×2.
    // Channel 0 sees x = [1, 2, 3, 4] (row-major), channel 1 sees x = [10, 20, 30, 40].
    let x = [1.0, 10.0, 2.0, 20.0, 3.0, 30.0, 4.0, 40.0];
    // OHWI [C][kh][kw][1]: channel 0 taps [1, 2, 3, 4], channel 1 taps [0, 0, 0, -1].
    let ohwi = [1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0, -1.0];
    // Ch 0: 1·1 + 2·2 + 3·3 + 4·4 = 30; ch 1: 40 · -1 = -40; bias [0.5, 1].
    let g = Conv2dGeometry::depthwise(1, 2, 2, 2, 2, 2);
    for isa in Isa::available() {
        let op = Conv2d::with_isa(isa, g, &ohwi, Some(&[0.5, 1.0]), Activation::None).unwrap();
        assert_eq!(op.path(), ConvPath::Depthwise);
        let mut y = Tensor::zeros(op.output_shape()).unwrap();
        op.run(tensor(op.input_shape(), &x).view(), y.view_mut()).unwrap();
        assert_eq!(y.as_slice(), &[30.5, -39.0], "{isa}");
    }

    // Random non-symmetric weights: Conv2d with OHWI [C][kh][kw][1] equals DepthwiseConv2d with
    // the transposed [kh][kw][C], for square and non-square kernels.
    for case in 0..24u64 {
        let seed = 0xDE_0000 + case;
        let r = &mut rng(seed);
        let c = r.random_range(2..=17);
        let g = rand_geometry(r, c, c, c);
        let taps = g.kernel_h * g.kernel_w;
        let hwc = rand_vec(r, taps * c);
        let mut ohwi = vec![0.0; taps * c];
        for t in 0..taps {
            for ch in 0..c {
                ohwi[ch * taps + t] = hwc[t * c + ch];
            }
        }
        let input = rand_vec(r, g.validate().unwrap().input_len);
        let bias = rand_bias(r, c);
        let act = rand_act(r);
        for isa in Isa::available() {
            let ctx = (seed, isa, &g);
            let conv = Conv2d::with_isa(isa, g, &ohwi, bias.as_deref(), act).unwrap();
            let dw = DepthwiseConv2d::with_isa(isa, g, &hwc, bias.as_deref(), act).unwrap();
            assert_eq!(conv.path(), ConvPath::Depthwise);
            assert_eq!(conv.kernel_name(), dw.kernel_name());
            let x = tensor(g_input(&g), &input);
            let mut y_conv = sentinel(conv.output_shape());
            let mut y_dw = sentinel(dw.output_shape());
            conv.run(x.view(), y_conv.view_mut()).unwrap();
            dw.run(x.view(), y_dw.view_mut()).unwrap();
            assert_eq!(y_conv.as_slice(), y_dw.as_slice(), "{ctx:?}");
            // And feeding the HWC weights to Conv2d would be wrong (non-symmetric weights).
            if taps > 1 {
                let wrong = Conv2d::with_isa(isa, g, &hwc, bias.as_deref(), Activation::None).unwrap();
                let right = Conv2d::with_isa(isa, g, &ohwi, bias.as_deref(), Activation::None).unwrap();
                let mut y_wrong = Tensor::zeros(wrong.output_shape()).unwrap();
                let mut y_right = Tensor::zeros(right.output_shape()).unwrap();
                wrong.run(x.view(), y_wrong.view_mut()).unwrap();
                right.run(x.view(), y_right.view_mut()).unwrap();
                assert!(y_wrong.max_abs_diff(&y_right).unwrap() > 0.0, "{ctx:?}: layouts indistinguishable");
            }
        }
    }
}

fn g_input(g: &Conv2dGeometry) -> Shape4 {
    Shape4::new(g.batch, g.in_h, g.in_w, g.in_c)
}

// ---------------------------------------------------------------------------------------------
// Output shapes and padding modes, by hand
// ---------------------------------------------------------------------------------------------

#[test]
fn same_and_valid_padding_worked_examples() {
    use PadMode::{SameLower, SameUpper, Valid};
    // in 224, k 3, s 2: out = ceil(224 / 2) = 112; needed = 111·2 + 2 + 1 = 225; total 1.
    assert_eq!(axis_padding(SameUpper, 224, 3, 2, 1), Ok((0, 1)));
    assert_eq!(axis_padding(SameLower, 224, 3, 2, 1), Ok((1, 0)));
    assert_eq!(axis_padding(Valid, 224, 3, 2, 1), Ok((0, 0)));
    // in 7, k 3, s 1: needed = 6 + 2 + 1 = 9; total 2, split evenly.
    assert_eq!(axis_padding(SameUpper, 7, 3, 1, 1), Ok((1, 1)));
    assert_eq!(axis_padding(SameLower, 7, 3, 1, 1), Ok((1, 1)));
    // Dilation 2, k 3 (extent 5), in 10, s 1: needed = 9 + 4 + 1 = 14; total 4.
    assert_eq!(axis_padding(SameUpper, 10, 3, 1, 2), Ok((2, 2)));
    assert_eq!(axis_padding(SameLower, 10, 3, 1, 2), Ok((2, 2)));
    // in 4, k 4, s 1: total 3 → upper (1, 2), lower (2, 1).
    assert_eq!(axis_padding(SameUpper, 4, 4, 1, 1), Ok((1, 2)));
    assert_eq!(axis_padding(SameLower, 4, 4, 1, 1), Ok((2, 1)));
    // 1×1 stride 2 on 5: out 3, needed = 2·2 + 0 + 1 = 5; no padding.
    assert_eq!(axis_padding(SameUpper, 5, 1, 2, 1), Ok((0, 0)));
    // in 6, k 3, s 2: out 3, needed = 4 + 2 + 1 = 7; total 1.
    assert_eq!(axis_padding(SameUpper, 6, 3, 2, 1), Ok((0, 1)));
    // Kernel larger than the input: in 3, k 7 → needed 2 + 6 + 1 = 9, total 6.
    assert_eq!(axis_padding(SameUpper, 3, 7, 1, 1), Ok((3, 3)));
    // A zero parameter is an error naming it.
    assert_eq!(axis_padding(SameUpper, 7, 3, 0, 1), Err(KernelError::Zero { what: "stride" }));
    assert_eq!(axis_padding(Valid, 7, 0, 1, 1), Err(KernelError::Zero { what: "kernel" }));
    assert_eq!(axis_padding(SameLower, 0, 3, 1, 1), Err(KernelError::Zero { what: "input" }));
    assert_eq!(axis_padding(SameLower, 7, 3, 1, 0), Err(KernelError::Zero { what: "dilation" }));

    // Padding2d::for_mode: height and width independently.
    let p = Padding2d::for_mode(SameUpper, 224, 224, 3, 3, 2, 2, 1, 1).unwrap();
    assert_eq!(p, Padding2d { top: 0, left: 0, bottom: 1, right: 1 });
    let p = Padding2d::for_mode(SameLower, 224, 224, 3, 3, 2, 2, 1, 1).unwrap();
    assert_eq!(p, Padding2d { top: 1, left: 1, bottom: 0, right: 0 });
    // h: in 7 k 3 s 1 d 1 → (1, 1); w: in 10 k 3 s 2 d 2: out 5, needed 8 + 4 + 1 = 13, total 3
    // → lower puts 2 on the left, 1 on the right.
    let p = Padding2d::for_mode(SameLower, 7, 10, 3, 3, 1, 2, 1, 2).unwrap();
    assert_eq!(p, Padding2d { top: 1, left: 2, bottom: 1, right: 1 });
    assert_eq!(Padding2d::for_mode(Valid, 7, 10, 3, 3, 1, 2, 1, 2).unwrap(), Padding2d::ZERO);
    assert!(Padding2d::for_mode(SameUpper, 7, 10, 3, 3, 1, 0, 1, 1).is_err());

    // conv2d_output_shape with those paddings: SAME gives ceil(in / stride).
    let g = Conv2dGeometry::new(1, 224, 224, 3, 32, 3, 3)
        .with_stride(2, 2)
        .with_padding(Padding2d::for_mode(SameUpper, 224, 224, 3, 3, 2, 2, 1, 1).unwrap());
    assert_eq!(conv2d_output_shape(&g).unwrap(), Shape4::new(1, 112, 112, 32));
    // Same geometry, SAME_LOWER: (224 + 1 - 3) / 2 + 1 = 112 as well.
    let g = g.with_padding(Padding2d::for_mode(SameLower, 224, 224, 3, 3, 2, 2, 1, 1).unwrap());
    assert_eq!(conv2d_output_shape(&g).unwrap(), Shape4::new(1, 112, 112, 32));
    // VALID: (224 - 3) / 2 + 1 = 111.
    assert_eq!(conv2d_output_shape(&g.with_padding(Padding2d::ZERO)).unwrap(), Shape4::new(1, 111, 111, 32));
    // Depthwise 7×10, SAME_LOWER as above: h (7 + 2 - 3) / 1 + 1 = 7; w (10 + 3 - 5) / 2 + 1 = 5.
    let g = Conv2dGeometry::depthwise(2, 7, 10, 8, 3, 3)
        .with_stride(1, 2)
        .with_dilation(1, 2)
        .with_padding(Padding2d::for_mode(SameLower, 7, 10, 3, 3, 1, 2, 1, 2).unwrap());
    assert_eq!(conv2d_output_shape(&g).unwrap(), Shape4::new(2, 7, 5, 8));
    // Dilation 2, k 3, in 10, pads (2, 2): (10 + 4 - 5) / 1 + 1 = 10.
    let g =
        Conv2dGeometry::depthwise(1, 10, 10, 4, 3, 3).with_dilation(2, 2).with_padding(Padding2d::uniform(2));
    assert_eq!(conv2d_output_shape(&g).unwrap(), Shape4::new(1, 10, 10, 4));
    // Asymmetric padding and stride: h (5 + 0 + 3 - 2) / 3 + 1 = 3; w (4 + 1 + 0 - 2) / 1 + 1 = 4.
    let g = Conv2dGeometry::new(1, 5, 4, 2, 3, 2, 2).with_stride(3, 1).with_padding(Padding2d {
        top: 0,
        left: 1,
        bottom: 3,
        right: 0,
    });
    assert_eq!(conv2d_output_shape(&g).unwrap(), Shape4::new(1, 3, 4, 3));
    // An invalid geometry is an error.
    let err = conv2d_output_shape(&Conv2dGeometry::new(1, 5, 5, 2, 2, 3, 0)).unwrap_err();
    assert_eq!(kernel_err(err, "Conv2d").0, KernelError::Zero { what: "kernel_w" });
}

// ---------------------------------------------------------------------------------------------
// Plan errors
// ---------------------------------------------------------------------------------------------

fn conv_plan_err(g: Conv2dGeometry, weights: &[f32], bias: Option<&[f32]>, act: Activation) -> Error {
    Conv2d::with_isa(Isa::Scalar, g, weights, bias, act).expect_err("plan should fail")
}

#[test]
fn plan_errors_zero_parameters_and_groups() {
    let none = Activation::None;
    let base = Conv2dGeometry::new(1, 6, 6, 4, 6, 3, 3).with_padding(Padding2d::uniform(1));
    let w = vec![0.0; 6 * 3 * 3 * 4];

    // Zero kernel size, stride, dilation: KernelError::Zero naming the field.
    for (g, name) in [
        (Conv2dGeometry { kernel_h: 0, ..base }, "kernel_h"),
        (Conv2dGeometry { kernel_w: 0, ..base }, "kernel_w"),
        (base.with_stride(1, 0), "stride_w"),
        (base.with_stride(0, 1), "stride_h"),
        (base.with_dilation(0, 1), "dilation_h"),
        (base.with_dilation(1, 0), "dilation_w"),
        (base.with_groups(0), "groups"),
    ] {
        let (e, msg) = kernel_err(conv_plan_err(g, &w, None, none), "Conv2d");
        assert_eq!(e, KernelError::Zero { what: name }, "{msg}");
        assert!(msg.contains(name), "{msg}");
        // The depthwise op refuses them the same way.
        let dw = Conv2dGeometry { in_c: 4, out_c: 4, groups: 4, ..g };
        let dw = if g.groups == 0 { Conv2dGeometry { groups: 0, ..dw } } else { dw };
        let err = DepthwiseConv2d::with_isa(Isa::Scalar, dw, &[0.0; 36], None, none).unwrap_err();
        let (e, msg) = kernel_err(err, "DepthwiseConv2d");
        assert_eq!(e, KernelError::Zero { what: name }, "{msg}");
    }

    // Groups not dividing the channels.
    let (e, msg) = kernel_err(conv_plan_err(base.with_groups(3), &w, None, none), "Conv2d");
    assert_eq!(e, KernelError::GroupsMismatch { groups: 3, channels: 4, what: "in_c" });
    assert!(msg.contains("groups = 3") && msg.contains("in_c = 4"), "{msg}");
    let g = Conv2dGeometry { in_c: 6, out_c: 4, ..base }.with_groups(3);
    let (e, msg) = kernel_err(conv_plan_err(g, &w, None, none), "Conv2d");
    assert_eq!(e, KernelError::GroupsMismatch { groups: 3, channels: 4, what: "out_c" });
    assert!(msg.contains("groups = 3") && msg.contains("out_c = 4"), "{msg}");
}

#[test]
fn plan_errors_wrong_weight_or_bias_length() {
    let none = Activation::None;
    let base = Conv2dGeometry::new(1, 6, 6, 4, 6, 3, 3).with_padding(Padding2d::uniform(1));
    let w = vec![0.0; 6 * 3 * 3 * 4];

    // Weights of the wrong length (one short, one long), on every path.
    for g in [
        base,                                               // dense
        Conv2dGeometry { out_c: 4, ..base }.with_groups(2), // grouped
        Conv2dGeometry::depthwise(1, 6, 6, 4, 3, 3),        // depthwise
        Conv2dGeometry::new(1, 6, 6, 4, 6, 1, 1),           // pointwise
    ] {
        let need = g.validate().unwrap().weight_len;
        for len in [need - 1, need + 1] {
            let err = conv_plan_err(g, &vec![0.0; len], None, none);
            let (e, msg) = kernel_err(err, "Conv2d");
            assert_eq!(
                e,
                KernelError::LengthMismatch { what: "weights", expected: need, actual: len },
                "{g:?}"
            );
            assert!(msg.contains("weights") && msg.contains(&len.to_string()), "{msg}");
        }
    }
    let err = DepthwiseConv2d::with_isa(
        Isa::Scalar,
        Conv2dGeometry::depthwise(1, 6, 6, 4, 3, 3),
        &[0.0; 35],
        None,
        none,
    )
    .unwrap_err();
    assert_eq!(
        kernel_err(err, "DepthwiseConv2d").0,
        KernelError::LengthMismatch { what: "weights", expected: 36, actual: 35 }
    );
    let err = PointwiseConv2d::with_isa(Isa::Scalar, Shape4::new(1, 2, 2, 4), 3, &[0.0; 13], None, none)
        .unwrap_err();
    assert_eq!(
        kernel_err(err, "PointwiseConv2d").0,
        KernelError::LengthMismatch { what: "weights", expected: 12, actual: 13 }
    );
    let err = Dense::with_isa(Isa::Scalar, 1, 4, 3, &[0.0; 11], None, none).unwrap_err();
    assert_eq!(
        kernel_err(err, "Dense").0,
        KernelError::LengthMismatch { what: "weights", expected: 12, actual: 11 }
    );
    let p = SeparablePass1d::new(3, 1);
    let err = SeparableConv2d::with_isa(
        Isa::Scalar,
        Shape4::new(1, 5, 5, 4),
        p,
        p,
        &[0.0; 12],
        &[0.0; 11],
        None,
        none,
    )
    .unwrap_err();
    let (e, msg) = kernel_err(err, "SeparableConv2d");
    assert_eq!(e, KernelError::LengthMismatch { what: "weights", expected: 12, actual: 11 }, "{msg}");

    // Bias of the wrong length.
    let err = conv_plan_err(base, &w, Some(&[0.0; 5]), none);
    let (e, msg) = kernel_err(err, "Conv2d");
    assert_eq!(e, KernelError::LengthMismatch { what: "bias", expected: 6, actual: 5 });
    assert!(msg.contains("bias"), "{msg}");
    let err = DepthwiseConv2d::with_isa(
        Isa::Scalar,
        Conv2dGeometry::depthwise(1, 6, 6, 4, 3, 3),
        &[0.0; 36],
        Some(&[0.0; 3]),
        none,
    )
    .unwrap_err();
    assert_eq!(
        kernel_err(err, "DepthwiseConv2d").0,
        KernelError::LengthMismatch { what: "bias", expected: 4, actual: 3 }
    );
    let err =
        PointwiseConv2d::with_isa(Isa::Scalar, Shape4::new(1, 2, 2, 4), 3, &[0.0; 12], Some(&[0.0; 4]), none)
            .unwrap_err();
    assert_eq!(
        kernel_err(err, "PointwiseConv2d").0,
        KernelError::LengthMismatch { what: "bias", expected: 3, actual: 4 }
    );
    let err = Dense::with_isa(Isa::Scalar, 1, 4, 3, &[0.0; 12], Some(&[]), none).unwrap_err();
    assert_eq!(
        kernel_err(err, "Dense").0,
        KernelError::LengthMismatch { what: "bias", expected: 3, actual: 0 }
    );
    let err = SeparableConv2d::with_isa(
        Isa::Scalar,
        Shape4::new(1, 5, 5, 4),
        p,
        p,
        &[0.0; 12],
        &[0.0; 12],
        Some(&[0.0; 5]),
        none,
    )
    .unwrap_err();
    assert_eq!(
        kernel_err(err, "SeparableConv2d").0,
        KernelError::LengthMismatch { what: "bias", expected: 4, actual: 5 }
    );
    // Conv2d's depthwise and pointwise paths refuse a bad bias too (see
    // `conv2d_errors_name_conv2d_on_every_path` for the op name).
    let g = Conv2dGeometry::depthwise(1, 6, 6, 4, 3, 3);
    let err = conv_plan_err(g, &[0.0; 36], Some(&[0.0; 5]), none);
    assert!(
        matches!(
            err,
            Error::Kernel {
                source: KernelError::LengthMismatch { what: "bias", expected: 4, actual: 5 },
                ..
            }
        ),
        "{err:?}"
    );
    let g = Conv2dGeometry::new(1, 6, 6, 4, 6, 1, 1);
    let err = conv_plan_err(g, &[0.0; 24], Some(&[0.0; 5]), none);
    assert!(
        matches!(
            err,
            Error::Kernel {
                source: KernelError::LengthMismatch { what: "bias", expected: 6, actual: 5 },
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn plan_errors_unsupported_geometry() {
    let none = Activation::None;

    // DepthwiseConv2d given a non-depthwise geometry.
    let g = Conv2dGeometry::new(1, 6, 6, 4, 8, 3, 3).with_groups(4); // depth multiplier 2
    let err = DepthwiseConv2d::with_isa(Isa::Scalar, g, &[0.0; 72], None, none).unwrap_err();
    let (e, msg) = kernel_err(err, "DepthwiseConv2d");
    assert_eq!(e, KernelError::Unsupported { kernel: "depthwise", what: "out_c", value: 8, expected: 4 });
    assert!(msg.contains("out_c") && msg.contains('8'), "{msg}");
    let g = Conv2dGeometry::new(1, 6, 6, 4, 4, 3, 3).with_groups(2);
    let err = DepthwiseConv2d::with_isa(Isa::Scalar, g, &[0.0; 36], None, none).unwrap_err();
    let (e, msg) = kernel_err(err, "DepthwiseConv2d");
    assert_eq!(e, KernelError::Unsupported { kernel: "depthwise", what: "groups", value: 2, expected: 4 });
    assert!(msg.contains("groups"), "{msg}");
    let g = Conv2dGeometry::new(1, 6, 6, 4, 4, 3, 3); // groups 1
    let err = DepthwiseConv2d::with_isa(Isa::Scalar, g, &[0.0; 36], None, none).unwrap_err();
    assert!(matches!(
        kernel_err(err, "DepthwiseConv2d").0,
        KernelError::Unsupported { what: "groups", value: 1, .. }
    ));

    // Kernel larger than the padded input.
    let g = Conv2dGeometry::depthwise(1, 4, 4, 2, 3, 5);
    let err = DepthwiseConv2d::with_isa(Isa::Scalar, g, &[0.0; 30], None, none).unwrap_err();
    let (e, msg) = kernel_err(err, "DepthwiseConv2d");
    assert_eq!(e, KernelError::KernelLargerThanInput { axis: "width", kernel_extent: 5, padded_input: 4 });
    assert!(msg.contains("width") && msg.contains('5') && msg.contains('4'), "{msg}");
    // Dilation 3 makes a 3-tap kernel 7 wide; 5 + 1 of padding is not enough.
    let g = Conv2dGeometry::new(1, 5, 5, 2, 2, 3, 1)
        .with_dilation(3, 1)
        .with_padding(Padding2d { top: 1, ..Padding2d::ZERO });
    let (e, msg) = kernel_err(conv_plan_err(g, &[0.0; 12], None, none), "Conv2d");
    assert_eq!(
        e,
        KernelError::KernelLargerThanInput { axis: "height", kernel_extent: 7, padded_input: 6 },
        "{msg}"
    );
    let err = SeparableConv2d::with_isa(
        Isa::Scalar,
        Shape4::new(1, 5, 2, 1),
        SeparablePass1d::new(3, 0),
        SeparablePass1d::new(3, 0),
        &[0.0; 3],
        &[0.0; 3],
        None,
        none,
    )
    .unwrap_err();
    let (e, _) = kernel_err(err, "SeparableConv2d");
    assert_eq!(e, KernelError::KernelLargerThanInput { axis: "width", kernel_extent: 3, padded_input: 2 });
}

#[test]
fn plan_errors_invalid_clamp() {
    let base = Conv2dGeometry::new(1, 6, 6, 4, 6, 3, 3).with_padding(Padding2d::uniform(1));
    let w = vec![0.0; 6 * 3 * 3 * 4];
    let p = SeparablePass1d::new(3, 1);

    // Clamp with min > max (and NaN bounds) on every op that takes an activation.
    let bad = Activation::Clamp { min: 1.5, max: -1.5 };
    let want = KernelError::InvalidClamp { min: 1.5, max: -1.5 };
    let (e, msg) = kernel_err(conv_plan_err(base, &w, None, bad), "Conv2d");
    assert_eq!(e, want);
    assert!(msg.contains("min = 1.5") && msg.contains("max = -1.5"), "{msg}");
    let s = Shape4::new(1, 2, 2, 4);
    let g = Conv2dGeometry::depthwise(1, 6, 6, 4, 3, 3);
    let errs = [
        (DepthwiseConv2d::with_isa(Isa::Scalar, g, &[0.0; 36], None, bad).unwrap_err(), "DepthwiseConv2d"),
        (PointwiseConv2d::with_isa(Isa::Scalar, s, 3, &[0.0; 12], None, bad).unwrap_err(), "PointwiseConv2d"),
        (
            SeparableConv2d::with_isa(Isa::Scalar, s, p, p, &[0.0; 12], &[0.0; 12], None, bad).unwrap_err(),
            "SeparableConv2d",
        ),
        (ActivationOp::with_isa(Isa::Scalar, s, bad).unwrap_err(), "Activation"),
        (Add::with_isa(Isa::Scalar, s, bad).unwrap_err(), "Add"),
        (Dense::with_isa(Isa::Scalar, 1, 4, 3, &[0.0; 12], None, bad).unwrap_err(), "Dense"),
    ];
    for (err, op) in errs {
        assert_eq!(kernel_err(err, op).0, want, "{op}");
    }
    let err =
        ActivationOp::with_isa(Isa::Scalar, s, Activation::Clamp { min: f32::NAN, max: 1.0 }).unwrap_err();
    assert!(matches!(kernel_err(err, "Activation").0, KernelError::InvalidClamp { .. }));
    // min == max is a valid (constant) clamp.
    assert!(ActivationOp::with_isa(Isa::Scalar, s, Activation::Clamp { min: 2.0, max: 2.0 }).is_ok());
}

#[test]
fn plan_errors_zero_sized_or_overflowing_shapes() {
    let none = Activation::None;
    let base = Conv2dGeometry::new(1, 6, 6, 4, 6, 3, 3).with_padding(Padding2d::uniform(1));
    let w = vec![0.0; 6 * 3 * 3 * 4];
    let p = SeparablePass1d::new(3, 1);

    // A zero-sized input shape.
    let zero = Shape4::new(1, 0, 3, 2);
    let want = TensorError::ZeroDim { dim: "h" };
    for err in [
        ActivationOp::with_isa(Isa::Scalar, zero, none).unwrap_err(),
        Add::with_isa(Isa::Scalar, zero, none).unwrap_err(),
        GlobalAvgPool::with_isa(Isa::Scalar, zero).unwrap_err(),
        PointwiseConv2d::with_isa(Isa::Scalar, zero, 3, &[], None, none).unwrap_err(),
        SeparableConv2d::with_isa(Isa::Scalar, zero, p, p, &[0.0; 6], &[0.0; 6], None, none).unwrap_err(),
    ] {
        assert_eq!(err, Error::Tensor(want.clone()), "{err}");
        assert!(err.to_string().contains("dimension h is 0"), "{err}");
    }
    let err = Dense::with_isa(Isa::Scalar, 0, 4, 3, &[0.0; 12], None, none).unwrap_err();
    assert_eq!(err, Error::Tensor(TensorError::ZeroDim { dim: "n" }));
    // Conv2d's geometry names the zero field itself.
    let (e, msg) = kernel_err(conv_plan_err(Conv2dGeometry { in_w: 0, ..base }, &w, None, none), "Conv2d");
    assert_eq!(e, KernelError::Zero { what: "in_w" }, "{msg}");
    let (e, _) = kernel_err(conv_plan_err(Conv2dGeometry { batch: 0, ..base }, &w, None, none), "Conv2d");
    assert_eq!(e, KernelError::Zero { what: "batch" });
    let (e, _) = kernel_err(conv_plan_err(Conv2dGeometry { out_c: 0, ..base }, &w, None, none), "Conv2d");
    assert_eq!(e, KernelError::Zero { what: "out_c" });

    // A shape whose element count overflows usize.
    let huge = Shape4::new(usize::MAX, 2, 1, 1);
    let want = Error::Tensor(TensorError::Overflow { shape: huge });
    assert_eq!(ActivationOp::with_isa(Isa::Scalar, huge, none).unwrap_err(), want);
    assert_eq!(Add::with_isa(Isa::Scalar, huge, none).unwrap_err(), want);
    assert_eq!(GlobalAvgPool::with_isa(Isa::Scalar, huge).unwrap_err(), want);
    assert_eq!(PointwiseConv2d::with_isa(Isa::Scalar, huge, 3, &[0.0; 3], None, none).unwrap_err(), want);
    assert!(want.to_string().contains(&huge.to_string()) && want.to_string().contains("overflows"), "{want}");
    // The input fits but the pointwise output (×2 channels) does not.
    let big = Shape4::new(usize::MAX, 1, 1, 1);
    let err = PointwiseConv2d::with_isa(Isa::Scalar, big, 2, &[0.0; 2], None, none).unwrap_err();
    assert_eq!(err, Error::Tensor(TensorError::Overflow { shape: Shape4::new(usize::MAX, 1, 1, 2) }));
    // Conv2d: the input length overflows.
    let g = Conv2dGeometry::new(usize::MAX, 1, 1, 2, 2, 1, 1);
    let (e, msg) = kernel_err(conv_plan_err(g, &[0.0; 4], None, none), "Conv2d");
    assert_eq!(e, KernelError::Overflow { what: "input length" }, "{msg}");
    assert!(msg.contains("input length overflows"), "{msg}");
    // Dense: the weight matrix In × Out overflows.
    let n = usize::MAX / 2;
    let err = Dense::with_isa(Isa::Scalar, 1, n, 3, &[], None, none).unwrap_err();
    assert_eq!(kernel_err(err, "Dense").0, KernelError::Overflow { what: "weight length" });
    let err = Dense::with_isa(Isa::Scalar, 3, n, 1, &[], None, none).unwrap_err();
    assert_eq!(err, Error::Tensor(TensorError::Overflow { shape: Shape4::new(3, 1, 1, n) }));
}

/// `Conv2d` delegates its depthwise and pointwise paths to `DepthwiseConv2d` /
/// `PointwiseConv2d`; their errors (plan and run) must still name `Conv2d`, the op the user
/// called, whichever path the convolution routed to.
#[test]
fn conv2d_errors_name_conv2d_on_every_path() {
    let none = Activation::None;
    let g = Conv2dGeometry::depthwise(1, 6, 6, 4, 3, 3);
    let err = Conv2d::with_isa(Isa::Scalar, g, &[0.0; 36], Some(&[0.0; 5]), none).unwrap_err();
    assert!(matches!(err, Error::Kernel { op: "Conv2d", .. }), "{err}");
    let g = Conv2dGeometry::new(1, 6, 6, 4, 6, 1, 1);
    let err = Conv2d::with_isa(Isa::Scalar, g, &[0.0; 24], Some(&[0.0; 5]), none).unwrap_err();
    assert!(matches!(err, Error::Kernel { op: "Conv2d", .. }), "{err}");
    let op =
        Conv2d::with_isa(Isa::Scalar, Conv2dGeometry::depthwise(1, 4, 2, 3, 1, 1), &[0.0; 3], None, none)
            .unwrap();
    let x = Tensor::zeros(Shape4::new(1, 2, 4, 3)).unwrap();
    let mut y = Tensor::zeros(op.output_shape()).unwrap();
    let err = op.run(x.view(), y.view_mut()).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { op: "Conv2d", .. }), "{err}");
}

/// A zero `out_c` of `PointwiseConv2d`, or a zero `in_features` / `out_features` of `Dense`,
/// is an error naming that parameter (not the `c` of an internal shape).
#[test]
fn zero_feature_counts_are_named() {
    let none = Activation::None;
    let err =
        PointwiseConv2d::with_isa(Isa::Scalar, Shape4::new(1, 2, 2, 4), 0, &[], None, none).unwrap_err();
    assert!(err.to_string().contains("out_c"), "{err}");
    let err = Dense::with_isa(Isa::Scalar, 1, 0, 3, &[], None, none).unwrap_err();
    assert!(err.to_string().contains("in_features"), "{err}");
    let err = Dense::with_isa(Isa::Scalar, 1, 3, 0, &[], None, none).unwrap_err();
    assert!(err.to_string().contains("out_features"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Run errors: a shape other than the planned one, even with the same element count
// ---------------------------------------------------------------------------------------------

#[test]
fn run_rejects_shapes_other_than_planned_and_leaves_output_untouched() {
    let none = Activation::None;
    let planned = Shape4::new(1, 4, 2, 3);
    let swapped = Shape4::new(1, 2, 4, 3); // same 24 elements
    let x_ok = tensor(planned, &[0.5; 24]);
    let x_bad = tensor(swapped, &[0.5; 24]);

    // Every op whose input and output are `planned` (3×3 convolutions with padding 1).
    let dw_geom = Conv2dGeometry::depthwise(1, 4, 2, 3, 3, 3).with_padding(Padding2d::uniform(1));
    let conv_geom = Conv2dGeometry::new(1, 4, 2, 3, 3, 3, 3).with_padding(Padding2d::uniform(1));
    let p = SeparablePass1d::new(3, 1);
    for isa in Isa::available() {
        type Run<'a> = Box<dyn Fn(&Tensor, &mut Tensor) -> Result<(), Error> + 'a>;
        let dw = DepthwiseConv2d::with_isa(isa, dw_geom, &[0.1; 27], None, none).unwrap();
        let conv_dw = Conv2d::with_isa(isa, dw_geom, &[0.1; 27], None, none).unwrap();
        let conv_dense = Conv2d::with_isa(isa, conv_geom, &[0.1; 81], Some(&[1.0; 3]), none).unwrap();
        let pw = PointwiseConv2d::with_isa(isa, planned, 3, &[0.1; 9], None, none).unwrap();
        let conv_pw =
            Conv2d::with_isa(isa, Conv2dGeometry::new(1, 4, 2, 3, 3, 1, 1), &[0.1; 9], None, none).unwrap();
        let sep = SeparableConv2d::with_isa(isa, planned, p, p, &[0.1; 9], &[0.1; 9], None, none).unwrap();
        let act = ActivationOp::with_isa(isa, planned, Activation::Relu).unwrap();
        let add = Add::with_isa(isa, planned, none).unwrap();

        let ops: Vec<(&str, Run)> = vec![
            ("DepthwiseConv2d", Box::new(|x, y| dw.run(x.view(), y.view_mut()))),
            ("Conv2d(depthwise)", Box::new(|x, y| conv_dw.run(x.view(), y.view_mut()))),
            ("Conv2d", Box::new(|x, y| conv_dense.run(x.view(), y.view_mut()))),
            ("PointwiseConv2d", Box::new(|x, y| pw.run(x.view(), y.view_mut()))),
            ("Conv2d(pointwise)", Box::new(|x, y| conv_pw.run(x.view(), y.view_mut()))),
            ("SeparableConv2d", Box::new(|x, y| sep.run(x.view(), y.view_mut()))),
            ("Activation", Box::new(|x, y| act.run(x.view(), y.view_mut()))),
            ("Add", Box::new(|x, y| add.run(x.view(), x_ok.view(), y.view_mut()))),
        ];
        for (name, run) in &ops {
            // `conv2d_errors_name_conv2d_on_every_path` pins the op name of Conv2d's inner
            // paths; here either name is accepted.
            let op_name = name.split('(').next().unwrap();
            let accepted: &[&str] = match *name {
                "Conv2d(depthwise)" => &["Conv2d", "DepthwiseConv2d"],
                "Conv2d(pointwise)" => &["Conv2d", "PointwiseConv2d"],
                _ => &[op_name],
            };
            let ctx = format!("{isa} {name}");
            // Sanity: the planned shapes run.
            let mut y = sentinel(planned);
            run(&x_ok, &mut y).unwrap_or_else(|e| panic!("{ctx}: {e}"));
            assert!(y.as_slice().iter().all(|&v| v != SENTINEL), "{ctx}: output not fully written");
            // Wrong input shape.
            let mut y = sentinel(planned);
            let err = run(&x_bad, &mut y).unwrap_err();
            let what = if op_name == "Add" { "a" } else { "input" };
            assert_shape_mismatch_any_op(err, accepted, what, planned, swapped);
            assert_untouched(&y, &ctx);
            // Wrong output shape.
            let mut y = sentinel(swapped);
            let err = run(&x_ok, &mut y).unwrap_err();
            assert_shape_mismatch_any_op(err, accepted, "output", planned, swapped);
            assert_untouched(&y, &ctx);
        }

        // Add: the second operand too.
        let mut y = sentinel(planned);
        let err = add.run(x_ok.view(), x_bad.view(), y.view_mut()).unwrap_err();
        assert_shape_mismatch(err, "Add", "b", planned, swapped);
        assert_untouched(&y, "Add b");

        // A real grouped conv: 1×4×2×4 → 1×4×2×4, groups 2.
        let gp = Shape4::new(1, 4, 2, 4);
        let gs = Shape4::new(1, 2, 4, 4);
        let g = Conv2dGeometry::new(1, 4, 2, 4, 4, 3, 3).with_padding(Padding2d::uniform(1)).with_groups(2);
        let op = Conv2d::with_isa(isa, g, &[0.1; 72], None, none).unwrap();
        assert_eq!(op.path(), ConvPath::Grouped);
        let mut y = sentinel(gp);
        let err = op.run(tensor(gs, &[1.0; 32]).view(), y.view_mut()).unwrap_err();
        assert_shape_mismatch(err, "Conv2d", "input", gp, gs);
        assert_untouched(&y, "grouped input");
        let mut y = sentinel(gs);
        let err = op.run(tensor(gp, &[1.0; 32]).view(), y.view_mut()).unwrap_err();
        assert_shape_mismatch(err, "Conv2d", "output", gp, gs);
        assert_untouched(&y, "grouped output");

        // GlobalAvgPool: input 1×4×2×3 → 1×1×1×3.
        let op = GlobalAvgPool::with_isa(isa, planned).unwrap();
        let mut y = sentinel(Shape4::new(1, 1, 1, 3));
        let err = op.run(x_bad.view(), y.view_mut()).unwrap_err();
        assert_shape_mismatch(err, "GlobalAvgPool", "input", planned, swapped);
        assert_untouched(&y, "GlobalAvgPool input");
        let mut y = sentinel(Shape4::new(1, 1, 3, 1));
        let err = op.run(x_ok.view(), y.view_mut()).unwrap_err();
        assert_shape_mismatch(
            err,
            "GlobalAvgPool",
            "output",
            Shape4::new(1, 1, 1, 3),
            Shape4::new(1, 1, 3, 1),
        );
        assert_untouched(&y, "GlobalAvgPool output");

        // Dense: 2×1×1×6 → 2×1×1×4.
        let op = Dense::with_isa(isa, 2, 6, 4, &[0.1; 24], None, none).unwrap();
        let mut y = sentinel(op.output_shape());
        let err = op.run(tensor(Shape4::new(2, 1, 6, 1), &[1.0; 12]).view(), y.view_mut()).unwrap_err();
        assert_shape_mismatch(err, "Dense", "input", Shape4::new(2, 1, 1, 6), Shape4::new(2, 1, 6, 1));
        assert_untouched(&y, "Dense input");
        let mut y = sentinel(Shape4::new(1, 2, 1, 4));
        let err = op.run(tensor(Shape4::new(2, 1, 1, 6), &[1.0; 12]).view(), y.view_mut()).unwrap_err();
        assert_shape_mismatch(err, "Dense", "output", Shape4::new(2, 1, 1, 4), Shape4::new(1, 2, 1, 4));
        assert_untouched(&y, "Dense output");
    }
}

// ---------------------------------------------------------------------------------------------
// SeparableConv2d scratch
// ---------------------------------------------------------------------------------------------

#[test]
fn separable_run_with_scratch_agrees_with_run_and_checks_the_scratch() {
    let r = &mut rng(0x5C);
    let input_shape = Shape4::new(2, 7, 9, 5);
    let row = SeparablePass1d { kernel: 5, stride: 2, dilation: 1, pad_before: 2, pad_after: 1 };
    let col = SeparablePass1d { kernel: 3, stride: 1, dilation: 2, pad_before: 2, pad_after: 2 };
    let row_w = rand_vec(r, 5 * 5);
    let col_w = rand_vec(r, 3 * 5);
    let bias = rand_vec(r, 5);
    let x = tensor(input_shape, &rand_vec(r, input_shape.validate().unwrap()));
    for isa in Isa::available() {
        let op = SeparableConv2d::with_isa(
            isa,
            input_shape,
            row,
            col,
            &row_w,
            &col_w,
            Some(&bias),
            Activation::Relu6,
        )
        .unwrap();
        // Row pass: width (9 + 3 - 5) / 2 + 1 = 4; the scratch is 2×7×4×5.
        assert_eq!(op.scratch_len(), 2 * 7 * 4 * 5);
        // Column pass: height (7 + 4 - 5) / 1 + 1 = 7.
        assert_eq!(op.output_shape(), Shape4::new(2, 7, 4, 5));
        let names = op.kernel_names();
        assert!(names[0].starts_with("row_pass/") && names[1].starts_with("col_pass/"), "{names:?}");

        let mut y_run = Tensor::zeros(op.output_shape()).unwrap();
        op.run(x.view(), y_run.view_mut()).unwrap();
        // Twice, to check that the op's own scratch is not carried over between runs.
        let mut y_again = sentinel(op.output_shape());
        op.run(x.view(), y_again.view_mut()).unwrap();
        assert_eq!(y_run.as_slice(), y_again.as_slice(), "{isa}");
        // With a caller scratch full of garbage.
        let mut scratch = vec![f32::NAN; op.scratch_len()];
        let mut y_scratch = sentinel(op.output_shape());
        op.run_with_scratch(x.view(), y_scratch.view_mut(), &mut scratch).unwrap();
        assert_eq!(y_run.as_slice(), y_scratch.as_slice(), "{isa}");

        // A scratch of the wrong length is an error, not a panic, and nothing is written.
        for len in [0, op.scratch_len() - 1, op.scratch_len() + 1] {
            let mut scratch = vec![0.0; len];
            let mut y = sentinel(op.output_shape());
            let err = op.run_with_scratch(x.view(), y.view_mut(), &mut scratch).unwrap_err();
            let (e, msg) = kernel_err(err, "SeparableConv2d");
            assert!(
                matches!(e, KernelError::LengthMismatch { expected, actual, .. } if expected == op.scratch_len() && actual == len),
                "{isa} scratch {len}: {msg}"
            );
            assert_untouched(&y, "wrong scratch");
        }
        // A shape mismatch is reported before the scratch is looked at.
        let wrong = Shape4::new(2, 9, 7, 5);
        let mut y = sentinel(op.output_shape());
        let err = op.run_with_scratch(tensor(wrong, x.as_slice()).view(), y.view_mut(), &mut []).unwrap_err();
        assert_shape_mismatch(err, "SeparableConv2d", "input", input_shape, wrong);
        assert_untouched(&y, "separable wrong input");
    }
}

/// A wrong scratch length given to `run_with_scratch` is an error naming `scratch` (not the
/// op's output, which is the right size).
#[test]
fn separable_wrong_scratch_error_names_scratch() {
    let p = SeparablePass1d::new(3, 1);
    let s = Shape4::new(1, 4, 4, 2);
    let op = SeparableConv2d::with_isa(Isa::Scalar, s, p, p, &[0.0; 6], &[0.0; 6], None, Activation::None)
        .unwrap();
    let x = Tensor::zeros(s).unwrap();
    let mut y = Tensor::zeros(op.output_shape()).unwrap();
    let err = op.run_with_scratch(x.view(), y.view_mut(), &mut [0.0; 3]).unwrap_err();
    assert!(err.to_string().contains("scratch"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// The inverted-residual block
// ---------------------------------------------------------------------------------------------

fn run_block(block: &mut InvertedResidual, x: &Tensor) -> Tensor {
    let mut y = sentinel(block.output_shape());
    block.run(x.view(), y.view_mut()).unwrap();
    y
}

#[test]
fn inverted_residual_is_deterministic_and_tier_independent() {
    let shape = Shape4::new(1, 8, 8, 8);
    let r = &mut rng(0xB10C);
    let x = tensor(shape, &rand_vec(r, shape.validate().unwrap()));

    let mut a = InvertedResidual::seeded(Isa::Scalar, shape, 4, 8, 1, 42).unwrap();
    let mut b = InvertedResidual::seeded(Isa::Scalar, shape, 4, 8, 1, 42).unwrap();
    let ya = run_block(&mut a, &x);
    assert_eq!(ya.shape(), shape);
    assert!(ya.as_slice().iter().all(|v| v.is_finite() && *v != SENTINEL));
    assert!(ya.as_slice().iter().any(|&v| v != 0.0), "the block output is all zeros");
    // Same seed, two plans: identical; running again gives the same numbers.
    assert_eq!(ya.as_slice(), run_block(&mut b, &x).as_slice());
    assert_eq!(ya.as_slice(), run_block(&mut a, &x).as_slice());
    // With a residual: expand, depthwise, project, add.
    assert_eq!(a.kernel_names().len(), 4, "{:?}", a.kernel_names());

    // Across tiers: the same numbers up to rounding (bit-identical while every tier runs the
    // reference kernels).
    let scale = ya.as_slice().iter().fold(1.0f32, |m, v| m.max(v.abs()));
    for isa in Isa::available() {
        let mut c = InvertedResidual::seeded(isa, shape, 4, 8, 1, 42).unwrap();
        let yc = run_block(&mut c, &x);
        let diff = yc.max_abs_diff(&ya).unwrap();
        assert!(diff <= 1e-4 * scale, "{isa}: max |diff| {diff} vs scalar");
    }

    // A different seed gives different weights, hence a clearly different output.
    let mut d = InvertedResidual::seeded(Isa::Scalar, shape, 4, 8, 1, 43).unwrap();
    let diff = run_block(&mut d, &x).max_abs_diff(&ya).unwrap();
    assert!(diff > 1e-2, "seeds 42 and 43 give outputs within {diff}");
}

#[test]
fn inverted_residual_shapes() {
    // Stride 2: 9×9 → ceil(9 / 2) = 5 (3×3 depthwise, padding 1); no residual.
    let shape = Shape4::new(2, 9, 9, 8);
    let mut block = InvertedResidual::seeded(Isa::Scalar, shape, 3, 8, 2, 1).unwrap();
    assert_eq!(block.input_shape(), shape);
    assert_eq!(block.output_shape(), Shape4::new(2, 5, 5, 8));
    assert_eq!(block.kernel_names().len(), 3, "{:?}", block.kernel_names());
    let x = tensor(shape, &rand_vec(&mut rng(1), shape.validate().unwrap()));
    assert!(run_block(&mut block, &x).as_slice().iter().all(|v| v.is_finite() && *v != SENTINEL));

    // Cin != Cout, stride 1: no residual, 8 → 16 channels.
    let shape = Shape4::new(1, 6, 7, 8);
    let mut block = InvertedResidual::seeded(Isa::Scalar, shape, 2, 16, 1, 1).unwrap();
    assert_eq!(block.output_shape(), Shape4::new(1, 6, 7, 16));
    assert_eq!(block.kernel_names().len(), 3);
    let x = tensor(shape, &rand_vec(&mut rng(2), shape.validate().unwrap()));
    assert!(run_block(&mut block, &x).as_slice().iter().all(|v| v.is_finite() && *v != SENTINEL));

    // FLOPs: expand 6·7·8·16, depthwise 6·7·16·9, project 6·7·16·16 multiply-adds, 2 FLOPs each.
    let macs = 6 * 7 * (8 * 16 + 16 * 9 + 16 * 16);
    assert_eq!(block.flops(), 2 * macs as u64);

    // A wrong input shape is an error.
    let mut y = Tensor::zeros(block.output_shape()).unwrap();
    let err = block.run(Tensor::zeros(Shape4::new(1, 7, 6, 8)).unwrap().view(), y.view_mut()).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { what: "input", .. }), "{err}");
}

/// `InvertedResidual::seeded` with channel counts or an expansion whose weight lengths
/// overflow returns an error (checked before any weights are drawn), never a panic.
#[test]
fn inverted_residual_overflow_is_an_error() {
    let shape = Shape4::new(1, 1, 1, usize::MAX / 2);
    let result = std::panic::catch_unwind(|| InvertedResidual::seeded(Isa::Scalar, shape, 4, 1, 1, 0));
    match result {
        Ok(r) => assert!(r.is_err(), "an overflowing block was planned"),
        Err(_) => {
            panic!("InvertedResidual::seeded panicked on an overflowing shape instead of returning Err")
        }
    }
}

/// The block equals the chain of reference kernels with the same weights. The block does not
/// expose its weights, so they are redrawn here with the public `blocks::uniform` /
/// `blocks::he_uniform` in the order `InvertedResidual::seeded` draws them (expand weights,
/// expand bias, depthwise weights, depthwise bias, project weights, project bias). If that
/// order changes on purpose, update `redraw` below.
#[test]
fn inverted_residual_equals_reference_chain() {
    for (shape, expand, out_c, stride, seed) in [
        (Shape4::new(1, 6, 5, 4), 3, 4, 1, 7u64),
        (Shape4::new(2, 7, 6, 4), 2, 6, 2, 8),
        (Shape4::new(1, 5, 5, 3), 2, 5, 1, 9),
    ] {
        let mut r = rng(seed);
        let hidden = shape.c * expand;
        let w_expand = blocks::he_uniform(&mut r, hidden * shape.c, shape.c);
        let b_expand = blocks::uniform(&mut r, hidden, 0.1);
        let w_dw = blocks::he_uniform(&mut r, 9 * hidden, 9);
        let b_dw = blocks::uniform(&mut r, hidden, 0.1);
        let w_project = blocks::he_uniform(&mut r, out_c * hidden, hidden);
        let b_project = blocks::uniform(&mut r, out_c, 0.1);

        let x = rand_vec(&mut rng(seed + 100), shape.validate().unwrap());
        let pixels = shape.n * shape.h * shape.w;
        let mut expanded = vec![0.0; pixels * hidden];
        let s = PointwiseShape { pixels, in_c: shape.c, out_c: hidden };
        reference::pointwise(&s, &x, &w_expand, Some(&b_expand), Activation::Relu6, &mut expanded).unwrap();
        let g = Conv2dGeometry::depthwise(shape.n, shape.h, shape.w, hidden, 3, 3)
            .with_stride(stride, stride)
            .with_padding(Padding2d::uniform(1));
        let d = g.validate().unwrap();
        let mut filtered = vec![0.0; d.output_len];
        reference::dwconv(&g, &expanded, &w_dw, Some(&b_dw), Activation::Relu6, &mut filtered).unwrap();
        let s = PointwiseShape { pixels: shape.n * d.out_h * d.out_w, in_c: hidden, out_c };
        let mut want = vec![0.0; s.pixels * out_c];
        reference::pointwise(&s, &filtered, &w_project, Some(&b_project), Activation::None, &mut want)
            .unwrap();
        if stride == 1 && shape.c == out_c {
            let projected = want.clone();
            reference::add(&x, &projected, Activation::None, &mut want).unwrap();
        }

        let xt = tensor(shape, &x);
        for isa in Isa::available() {
            let mut block = InvertedResidual::seeded(isa, shape, expand, out_c, stride, seed).unwrap();
            assert_eq!(block.output_shape(), Shape4::new(shape.n, d.out_h, d.out_w, out_c));
            let y = run_block(&mut block, &xt);
            let scale = want.iter().fold(1.0f32, |m, v| m.max(v.abs()));
            for (i, (&got, &w)) in y.as_slice().iter().zip(&want).enumerate() {
                assert!(
                    (got - w).abs() <= 1e-5 * scale,
                    "{isa} {shape} seed {seed}: element {i}: {got} vs {w}"
                );
            }
        }
    }
}

/// A short weight slice with huge dimensions is refused before anything is allocated: the
/// packed buffer of a 2^31 × 2^31 dense layer (16 EiB) is never attempted.
#[test]
fn short_weights_with_huge_dimensions_are_refused_before_allocating() {
    let huge = 1usize << 31;
    let err = Dense::with_isa(Isa::Scalar, 1, huge, huge, &[0.0; 3], None, Activation::None).unwrap_err();
    assert!(
        matches!(
            &err,
            sepconv::Error::Kernel {
                source: KernelError::LengthMismatch { what: "weights", actual: 3, .. },
                ..
            }
        ),
        "{err}"
    );
    let err = PointwiseConv2d::with_isa(
        Isa::Scalar,
        Shape4::new(1, 1, 1, huge),
        huge,
        &[0.0; 3],
        None,
        Activation::None,
    )
    .unwrap_err();
    assert!(
        matches!(
            &err,
            sepconv::Error::Kernel { source: KernelError::LengthMismatch { what: "weights", .. }, .. }
        ),
        "{err}"
    );
}
