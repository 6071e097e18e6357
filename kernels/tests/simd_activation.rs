//! The nonlinear activations (LeakyRelu, HardSigmoid, HardSwish, Sigmoid, SiLU, Tanh) of every
//! tier against the reference, and their fusion into every convolution entry point.
//!
//! 1. Each tier's `activation` / `activation_in_place` against `Activation::apply` (which
//!    computes the transcendental ones in `f64` and rounds once). Tolerance per element:
//!    `1e-6 · |reference|` plus an absolute floor: 1e-6 for HardSwish (its gate `x/6 + 1/2` is
//!    computed as one FMA with 1/6 rounded to f32: an error of a few 1e-8 in the gate, times
//!    `|x| <= 3`), 2e-7 for HardSigmoid (one FMA against one f64 rounding), 1e-37 for sigmoid
//!    and tanh and 1e-35 for SiLU (below `exp(-87)`, where the SIMD exp stops and the reference
//!    goes on into the denormals; SiLU multiplies that by `|x| <= 120`). The SIMD exp is within 2 ulp and tanh's polynomial within 1e-8, so 1e-6
//!    (~8 ulp) passes them and still catches a wrong coefficient or a wrong branch, which moves
//!    results by far more. NaN must stay NaN; ±inf, ±0 and the branch points (|x| = 1/2 for
//!    tanh, ±3 for HardSwish, ±87/88 for exp) are in every sweep. Lengths 0–70 hit every tail.
//! 2. Every convolution entry point of every tier with a nonlinear activation equals, bit for
//!    bit, the same call with no activation followed by that tier's `activation_in_place`: the
//!    epilogue is applied once, to the whole output, and the stores' clamp is the identity.
//!
//! Seeds are printed on failure; tiers the CPU lacks must answer `IsaUnavailable`.

mod common;

use common::{rand_bias, rand_conv_geometry, rand_depthwise_geometry, rand_vec, rng};
use rand::{RngExt, rngs::StdRng};
use sepconv_kernels::{
    Activation, Conv2dGeometry, KernelError, PointwiseShape, SeparableAxis, SeparablePassGeometry, portable,
    reference,
};

type ActFn = fn(Activation, &[f32], &mut [f32]) -> Result<(), KernelError>;
type InPlaceFn = fn(Activation, &mut [f32]) -> Result<(), KernelError>;
type Packed<G> = (
    fn(&G) -> Result<usize, KernelError>,
    fn(&G, &[f32], Option<&[f32]>, &mut [f32]) -> Result<(), KernelError>,
    fn(&G, &[f32], &[f32], Activation, &mut [f32]) -> Result<(), KernelError>,
);

/// One tier's activation kernels and convolution entry points.
struct Tier {
    name: &'static str,
    available: bool,
    activation: ActFn,
    in_place: InPlaceFn,
    dwconv: Packed<Conv2dGeometry>,
    conv2d: Packed<Conv2dGeometry>,
    pointwise: Packed<PointwiseShape>,
    /// Row and column passes (`None` where the tier runs another tier's).
    separable: Option<(Packed<SeparablePassGeometry>, Packed<SeparablePassGeometry>)>,
}

macro_rules! tier {
    ($name:literal, $available:expr, $m:path, separable: $sep:tt) => {{
        use $m as m;
        Tier {
            name: $name,
            available: $available,
            activation: m::activation::activation,
            in_place: m::activation::activation_in_place,
            dwconv: (m::dwconv::dwconv_packed_len, m::dwconv::dwconv_pack, m::dwconv::dwconv_run),
            conv2d: (m::conv2d::conv2d_packed_len, m::conv2d::conv2d_pack, m::conv2d::conv2d_run),
            pointwise: (m::pointwise::pointwise_packed_len, m::pointwise::pointwise_pack, m::pointwise::pointwise_run),
            separable: tier!(@sep m, $sep),
        }
    }};
    (@sep $m:ident, true) => {
        Some((
            ($m::separable::separable_packed_len, $m::separable::separable_pack, $m::separable::row_pass_run),
            ($m::separable::separable_packed_len, $m::separable::separable_pack, $m::separable::col_pass_run),
        ))
    };
    (@sep $m:ident, false) => {
        None
    };
}

fn tiers() -> Vec<Tier> {
    #[allow(unused_mut)]
    let mut t = vec![tier!("portable", true, portable, separable: true)];
    #[cfg(target_arch = "x86_64")]
    {
        use sepconv_kernels::{avx512, x86_64};
        t.push(tier!("avx2", x86_64::is_available(), x86_64, separable: true));
        t.push(tier!("avx512", avx512::is_available(), avx512, separable: false));
    }
    #[cfg(target_arch = "aarch64")]
    {
        use sepconv_kernels::aarch64;
        t.push(tier!("neon", aarch64::is_available(), aarch64, separable: true));
    }
    t
}

/// The nonlinear activations, with the parameters a test may pick.
fn nonlinear(r: &mut StdRng) -> [Activation; 6] {
    [
        Activation::LeakyRelu { alpha: r.random_range(-0.5f32..1.5) },
        Activation::HardSigmoid { alpha: r.random_range(0.05f32..0.5), beta: r.random_range(0.0f32..1.0) },
        Activation::HardSwish,
        Activation::Sigmoid,
        Activation::Silu,
        Activation::Tanh,
    ]
}

/// Values that hit every branch and special case, then random ones on three scales.
fn inputs(r: &mut StdRng, len: usize, act: Activation) -> Vec<f32> {
    let mut special = vec![
        0.0,
        -0.0,
        0.5,
        -0.5,
        0.499_999_97,
        -0.500_000_06,
        3.0,
        -3.0,
        2.999_999_8,
        -3.000_000_2,
        87.0,
        -87.0,
        88.0,
        -88.5,
        100.0,
        -100.0,
        1e-30,
        -1e-30,
        f32::NAN,
    ];
    // SiLU(-inf) is NaN in the reference (-inf · 0) but its limit, 0, in the SIMD form: not
    // compared.
    if act != Activation::Silu {
        special.extend([f32::INFINITY, f32::NEG_INFINITY]);
    }
    (0..len)
        .map(|i| match r.random_range(0..4) {
            0 => special[(i * 7 + len) % special.len()],
            1 => r.random_range(-1.0f32..1.0),
            2 => r.random_range(-8.0f32..8.0),
            _ => r.random_range(-120.0f32..120.0),
        })
        .collect()
}

fn abs_floor(act: Activation) -> f64 {
    match act {
        Activation::HardSwish => 1e-6,
        Activation::HardSigmoid { .. } => 2e-7,
        // x · exp(-87) for |x| <= 120.
        Activation::Silu => 1e-35,
        _ => 1e-37,
    }
}

fn check(act: Activation, x: &[f32], got: &[f32], ctx: &str) {
    for (i, (&xi, &g)) in x.iter().zip(got).enumerate() {
        let want = act.apply(xi);
        if want.is_nan() || g.is_nan() {
            assert!(want.is_nan() && g.is_nan(), "{ctx}: element {i} x = {xi}: got {g}, want {want}");
            continue;
        }
        let tol = 1e-6 * f64::from(want).abs() + abs_floor(act);
        let diff = (f64::from(g) - f64::from(want)).abs();
        assert!(
            diff <= tol || g == want,
            "{ctx}: element {i} x = {xi}: got {g}, want {want} (diff {diff:e} > {tol:e})"
        );
    }
}

#[test]
fn every_tier_matches_the_reference_activations() {
    for tier in tiers() {
        for seed in 0..300u64 {
            let mut r = rng(seed);
            let len = (seed as usize) % 71;
            for act in nonlinear(&mut r) {
                let x = inputs(&mut r, len, act);
                let ctx = format!("{} seed {seed} len {len} {act:?}", tier.name);
                let mut out = vec![-7.0; len];
                let res = (tier.activation)(act, &x, &mut out);
                if !tier.available {
                    assert!(matches!(res, Err(KernelError::IsaUnavailable { .. })), "{ctx}: {res:?}");
                    assert!(out.iter().all(|&v| v == -7.0), "{ctx}: written without the CPU");
                    continue;
                }
                res.unwrap();
                check(act, &x, &out, &ctx);
                let mut y = x.clone();
                (tier.in_place)(act, &mut y).unwrap();
                assert!(
                    y.iter().zip(&out).all(|(a, b)| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())),
                    "{ctx}: in place differs from out of place"
                );
            }
        }
    }
}

#[test]
fn the_reference_activations_are_the_textbook_functions() {
    let close = |a: f32, b: f64| (f64::from(a) - b).abs() <= 1e-7 * b.abs().max(1e-30);
    for x in [-20.0f32, -3.5, -1.0, -0.25, 0.0, 1e-3, 0.7, 2.0, 9.0] {
        let xd = f64::from(x);
        let s = 1.0 / (1.0 + (-xd).exp());
        assert!(close(Activation::Sigmoid.apply(x), s), "sigmoid({x})");
        assert!(close(Activation::Silu.apply(x), xd * s), "silu({x})");
        assert!(close(Activation::Tanh.apply(x), xd.tanh()), "tanh({x})");
        let gate = (xd / 6.0 + 0.5).clamp(0.0, 1.0);
        assert!(close(Activation::HardSwish.apply(x), xd * gate), "hard_swish({x})");
        let hs = Activation::HardSigmoid { alpha: 0.2, beta: 0.5 }.apply(x);
        assert!(close(hs, (0.2 * xd + 0.5).clamp(0.0, 1.0)), "hard_sigmoid({x})");
        let lr = Activation::LeakyRelu { alpha: 0.1 }.apply(x);
        assert_eq!(lr, if x < 0.0 { 0.1 * x } else { x }, "leaky_relu({x})");
    }
    assert_eq!(Activation::Tanh.apply(-0.0).to_bits(), (-0.0f32).to_bits());
    assert!(
        Activation::Sigmoid.apply(f32::NAN).is_nan()
            && Activation::LeakyRelu { alpha: 0.1 }.apply(f32::NAN).is_nan()
    );
}

#[test]
fn bad_parameters_are_refused_by_every_tier() {
    let bad = [
        Activation::LeakyRelu { alpha: f32::NAN },
        Activation::LeakyRelu { alpha: f32::INFINITY },
        Activation::HardSigmoid { alpha: f32::NAN, beta: 0.5 },
        Activation::HardSigmoid { alpha: 0.2, beta: f32::NEG_INFINITY },
    ];
    for tier in tiers() {
        for act in bad {
            let mut out = [3.0f32; 5];
            let err = (tier.activation)(act, &[1.0; 5], &mut out).unwrap_err();
            assert!(matches!(err, KernelError::InvalidActivation { .. }), "{} {act:?}: {err:?}", tier.name);
            assert_eq!(out, [3.0; 5], "{}: written on error", tier.name);
            assert!(matches!((tier.in_place)(act, &mut out), Err(KernelError::InvalidActivation { .. })));
            assert!(err.to_string().contains("must be finite"), "{err}");
        }
        let mut out = [0.0f32; 4];
        let err = (tier.activation)(Activation::Sigmoid, &[1.0; 5], &mut out).unwrap_err();
        assert!(matches!(err, KernelError::LengthMismatch { .. }), "{}: {err:?}", tier.name);
    }
    let err = reference::activation(bad[0], &[1.0], &mut [0.0]).unwrap_err();
    assert!(matches!(err, KernelError::InvalidActivation { name: "leaky_relu", what: "alpha", .. }));
}

/// Packs `weights` / `bias` for `g`, then runs the entry point twice: with `act`, and with
/// no activation followed by the tier's `activation_in_place(act)`; both must agree bitwise.
#[allow(clippy::too_many_arguments)]
fn compare<G>(
    tier: &Tier,
    p: Packed<G>,
    g: &G,
    weights: &[f32],
    bias: Option<&[f32]>,
    input: &[f32],
    out_len: usize,
    act: Activation,
    ctx: &str,
) {
    let (len, pack, run) = p;
    let mut packed = vec![0.0; len(g).unwrap()];
    pack(g, weights, bias, &mut packed).unwrap();
    let mut fused = vec![0.0; out_len];
    run(g, input, &packed, act, &mut fused).unwrap();
    let mut plain = vec![0.0; out_len];
    run(g, input, &packed, Activation::None, &mut plain).unwrap();
    (tier.in_place)(act, &mut plain).unwrap();
    for (i, (a, b)) in fused.iter().zip(&plain).enumerate() {
        assert!(
            a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
            "{ctx}: output {i}: fused {a} vs {b}"
        );
    }
}

#[test]
fn every_conv_entry_point_applies_the_activation_after_its_store() {
    for tier in tiers().into_iter().filter(|t| t.available) {
        for seed in 0..60u64 {
            let mut r = rng(7000 + seed);
            let acts = nonlinear(&mut r);
            let act = acts[seed as usize % acts.len()];
            let ctx = format!("{} seed {seed} {act:?}", tier.name);

            let g = rand_depthwise_geometry(&mut r);
            let d = g.validate().unwrap();
            let w = rand_vec(&mut r, g.kernel_h * g.kernel_w * g.in_c);
            let b = rand_bias(&mut r, g.out_c);
            let x: Vec<f32> = rand_vec(&mut r, d.input_len).iter().map(|v| 4.0 * v).collect();
            compare(
                &tier,
                tier.dwconv,
                &g,
                &w,
                b.as_deref(),
                &x,
                d.output_len,
                act,
                &format!("{ctx} dwconv {g:?}"),
            );

            let g = rand_conv_geometry(&mut r);
            let d = g.validate().unwrap();
            let w = rand_vec(&mut r, g.out_c * g.kernel_h * g.kernel_w * (g.in_c / g.groups));
            let b = rand_bias(&mut r, g.out_c);
            let x = rand_vec(&mut r, d.input_len);
            compare(
                &tier,
                tier.conv2d,
                &g,
                &w,
                b.as_deref(),
                &x,
                d.output_len,
                act,
                &format!("{ctx} conv2d {g:?}"),
            );

            let s = PointwiseShape {
                pixels: r.random_range(1..=40),
                in_c: r.random_range(1..=30),
                out_c: r.random_range(1..=40),
            };
            let w = rand_vec(&mut r, s.out_c * s.in_c);
            let b = rand_bias(&mut r, s.out_c);
            let x = rand_vec(&mut r, s.pixels * s.in_c);
            let out_len = s.pixels * s.out_c;
            compare(
                &tier,
                tier.pointwise,
                &s,
                &w,
                b.as_deref(),
                &x,
                out_len,
                act,
                &format!("{ctx} pointwise {s:?}"),
            );

            if let Some((row, col)) = tier.separable {
                for (axis, p) in [(SeparableAxis::Row, row), (SeparableAxis::Column, col)] {
                    let g = SeparablePassGeometry {
                        axis,
                        batch: r.random_range(1..=2),
                        in_h: r.random_range(1..=9),
                        in_w: r.random_range(1..=9),
                        channels: r.random_range(1..=13),
                        kernel: r.random_range(1..=7),
                        stride: r.random_range(1..=2),
                        dilation: 1,
                        pad_before: r.random_range(0..=3),
                        pad_after: r.random_range(0..=3),
                    };
                    let Ok(d) = g.validate() else { continue };
                    let w = rand_vec(&mut r, g.kernel * g.channels);
                    let b = rand_bias(&mut r, g.channels);
                    let x = rand_vec(&mut r, d.input_len);
                    compare(&tier, p, &g, &w, b.as_deref(), &x, d.output_len, act, &format!("{ctx} {g:?}"));
                }
            }
        }
    }
}
