//! Helpers shared by the reference-kernel integration tests: seeded random tensors and
//! geometries, an independent naive convolution oracle, and the tolerance check.
//!
//! Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use rand::{RngExt, SeedableRng, rngs::StdRng};
use sepconv_kernels::{Activation, Conv2dGeometry, Padding2d};

/// Relative tolerance of every cross-check, applied to the accumulated magnitude
/// `M = |bias| + Σ|x·w|` of each output element: `|actual - expected| <= REL_TOL · M`.
///
/// Why this is tight but safe: the reference kernels multiply `f32` operands in `f64` (the
/// products are exact) and accumulate in `f64`, then round once to `f32`. So each kernel is
/// within `2^-24 · M` (≈ 6e-8 · M) of the exact sum, plus `f64` summation noise (~1e-16 · n · M).
/// Two such results differ by at most ~1.2e-7 · M. The longest chain here (row pass rounded to
/// `f32`, then column pass, against a depthwise conv whose outer-product weights are themselves
/// rounded to `f32`) stays below 3 · 2^-24 · M ≈ 1.8e-7 · M. Activations are 1-Lipschitz, so
/// they do not widen the gap. 1e-6 leaves a ~4× margin and still catches any missing or
/// misplaced tap (which moves the result by a whole `|x·w|` term, not by ulps). When `M == 0`
/// (every tap in the padding and no bias) the results must be exactly equal.
pub const REL_TOL: f64 = 1e-6;

/// The environment variable `.ci/run`'s emulated x86_64 CPU lanes (4b, 4c) set to the qemu CPU
/// model the tests run under (e.g. `max,avx512f=off`); see `tests/common/mod.rs`.
pub const EMULATED_CPU_ENV: &str = "SEPCONV_EMULATED_CPU";

/// True when the tests run under one of `.ci/run`'s emulated x86_64 CPU lanes. The few tests
/// whose f64 oracle over whole full-size layers costs tens of seconds under qemu then check a
/// sample of the outputs (every border pixel and random interior pixels, every channel) instead
/// of all of them; the kernel still computes the whole layer. Natively they check every output.
pub fn emulated_cpu() -> bool {
    std::env::var(EMULATED_CPU_ENV).is_ok_and(|v| !v.trim().is_empty())
}

/// A `StdRng` seeded from `seed` (ChaCha12: reproducible across platforms).
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// `len` values uniform in `[-1, 1)`.
pub fn rand_vec(rng: &mut StdRng, len: usize) -> Vec<f32> {
    (0..len).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

/// A bias of `len` values half of the time, else `None`.
pub fn rand_bias(rng: &mut StdRng, len: usize) -> Option<Vec<f32>> {
    rng.random_bool(0.5).then(|| rand_vec(rng, len))
}

/// One of none / relu / relu6 / a random ordered clamp.
pub fn rand_act(rng: &mut StdRng) -> Activation {
    match rng.random_range(0..4) {
        0 => Activation::None,
        1 => Activation::Relu,
        2 => Activation::Relu6,
        _ => {
            let a = rng.random_range(-1.0f32..0.5);
            let b = rng.random_range(a..1.0f32);
            Activation::Clamp { min: a, max: b }
        }
    }
}

/// The divisors of `n` (n >= 1), ascending.
pub fn divisors(n: usize) -> Vec<usize> {
    (1..=n).filter(|d| n.is_multiple_of(*d)).collect()
}

/// Greatest common divisor.
pub fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// A random padding with each side in `0..=3`.
pub fn rand_padding(rng: &mut StdRng) -> Padding2d {
    Padding2d {
        top: rng.random_range(0..=3),
        left: rng.random_range(0..=3),
        bottom: rng.random_range(0..=3),
        right: rng.random_range(0..=3),
    }
}

/// Random spatial parameters (batch 1–2, H/W 1–9, kernel 1–5, stride 1–2, dilation 1–2, pads
/// 0–3) on top of the given channel counts and groups. May be invalid; callers regenerate.
pub fn rand_spatial(rng: &mut StdRng, in_c: usize, out_c: usize, groups: usize) -> Conv2dGeometry {
    Conv2dGeometry::new(
        rng.random_range(1..=2),
        rng.random_range(1..=9),
        rng.random_range(1..=9),
        in_c,
        out_c,
        rng.random_range(1..=5),
        rng.random_range(1..=5),
    )
    .with_stride(rng.random_range(1..=2), rng.random_range(1..=2))
    .with_dilation(rng.random_range(1..=2), rng.random_range(1..=2))
    .with_padding(rand_padding(rng))
    .with_groups(groups)
}

/// A random valid convolution geometry: channels 1–19, groups a random divisor of
/// `gcd(in_c, out_c)`. Geometries that `validate()` rejects are regenerated.
pub fn rand_conv_geometry(rng: &mut StdRng) -> Conv2dGeometry {
    loop {
        let in_c = rng.random_range(1..=19);
        let out_c = rng.random_range(1..=19);
        let divs = divisors(gcd(in_c, out_c));
        let groups = divs[rng.random_range(0..divs.len())];
        let g = rand_spatial(rng, in_c, out_c, groups);
        if g.validate().is_ok() {
            return g;
        }
    }
}

/// A random valid depthwise geometry (channels 1–19, `groups == in_c == out_c`).
pub fn rand_depthwise_geometry(rng: &mut StdRng) -> Conv2dGeometry {
    loop {
        let c = rng.random_range(1..=19);
        let g = rand_spatial(rng, c, c, c);
        if g.validate().is_ok() {
            return g;
        }
    }
}

/// Output extent computed independently of `geometry::conv_out_extent`, in signed arithmetic:
/// the number of positions `o >= 0` with `o·stride + (kernel-1)·dilation < input + pads`.
pub fn naive_extent(input: usize, kernel: usize, stride: usize, dilation: usize, pads: usize) -> usize {
    let span = (input + pads) as i64;
    let last_tap = ((kernel - 1) * dilation) as i64;
    (0i64..).take_while(|o| o * stride as i64 + last_tap < span).count()
}

/// An independent oracle for a (grouped) NHWC convolution with OHWI weights, in signed
/// coordinates. Returns, per output element, the exact pre-activation value in `f64` and the
/// accumulated magnitude `|bias| + Σ|x·w|` used by the tolerance check.
pub fn naive_conv(
    g: &Conv2dGeometry,
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
) -> (Vec<f64>, Vec<f64>) {
    let p = g.padding;
    let out_h = naive_extent(g.in_h, g.kernel_h, g.stride_h, g.dilation_h, p.top + p.bottom);
    let out_w = naive_extent(g.in_w, g.kernel_w, g.stride_w, g.dilation_w, p.left + p.right);
    let cin_g = g.in_c / g.groups;
    let cout_g = g.out_c / g.groups;
    let mut value = Vec::with_capacity(g.batch * out_h * out_w * g.out_c);
    let mut magnitude = Vec::with_capacity(value.capacity());
    for n in 0..g.batch {
        for oy in 0..out_h {
            for ox in 0..out_w {
                for oc in 0..g.out_c {
                    let first_ic = (oc / cout_g) * cin_g;
                    let b = bias.map_or(0.0, |b| f64::from(b[oc]));
                    let (mut v, mut m) = (b, b.abs());
                    for ky in 0..g.kernel_h {
                        let iy = (oy * g.stride_h + ky * g.dilation_h) as i64 - p.top as i64;
                        if iy < 0 || iy >= g.in_h as i64 {
                            continue;
                        }
                        for kx in 0..g.kernel_w {
                            let ix = (ox * g.stride_w + kx * g.dilation_w) as i64 - p.left as i64;
                            if ix < 0 || ix >= g.in_w as i64 {
                                continue;
                            }
                            let pixel = (n * g.in_h + iy as usize) * g.in_w + ix as usize;
                            for i in 0..cin_g {
                                let x = f64::from(input[pixel * g.in_c + first_ic + i]);
                                let w = f64::from(
                                    weights[((oc * g.kernel_h + ky) * g.kernel_w + kx) * cin_g + i],
                                );
                                v += x * w;
                                m += (x * w).abs();
                            }
                        }
                    }
                    value.push(v);
                    magnitude.push(m);
                }
            }
        }
    }
    (value, magnitude)
}

/// Applies `act` to exact `f64` values the way a kernel does: round once, then activate.
pub fn activate(act: Activation, exact: &[f64]) -> Vec<f32> {
    exact.iter().map(|&v| act.apply(v as f32)).collect()
}

/// Checks `|actual[i] - expected[i]| <= REL_TOL · magnitude[i]` for every element (exact
/// equality where the magnitude is 0); the error names the first offending element.
pub fn check_close(actual: &[f32], expected: &[f32], magnitude: &[f64]) -> Result<(), String> {
    if actual.len() != expected.len() || actual.len() != magnitude.len() {
        return Err(format!(
            "lengths differ: actual {}, expected {}, magnitude {}",
            actual.len(),
            expected.len(),
            magnitude.len()
        ));
    }
    for (i, ((&a, &e), &m)) in actual.iter().zip(expected).zip(magnitude).enumerate() {
        if !(a.is_finite() && e.is_finite()) {
            return Err(format!("element {i}: non-finite {a} vs {e}"));
        }
        let diff = (f64::from(a) - f64::from(e)).abs();
        let tol = REL_TOL * m;
        if diff > tol {
            return Err(format!(
                "element {i}: got {a}, expected {e}, |diff| = {diff:e} > tol = {tol:e} \
                 (magnitude |b| + Σ|x·w| = {m:e})"
            ));
        }
    }
    Ok(())
}

/// Panics unless [`check_close`] passes; `ctx` must identify the case (seed and shape).
#[track_caller]
pub fn assert_close(actual: &[f32], expected: &[f32], magnitude: &[f64], ctx: &str) {
    if let Err(e) = check_close(actual, expected, magnitude) {
        panic!("{ctx}: {e}");
    }
}

/// Exact comparison that treats NaN as equal to NaN (and distinguishes nothing else).
#[track_caller]
pub fn assert_same_values(actual: &[f32], expected: &[f32], ctx: &str) {
    assert_eq!(actual.len(), expected.len(), "{ctx}: lengths differ");
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        assert!((a.is_nan() && e.is_nan()) || a == e, "{ctx}: element {i}: got {a}, expected {e}");
    }
}
