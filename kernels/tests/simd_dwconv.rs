//! The SIMD depthwise kernels (`portable`, `x86_64` AVX2+FMA and AVX-512F when the CPU has
//! them, and `aarch64` NEON) against the scalar reference, through the packed contract (`dwconv_packed_len` / `dwconv_pack` /
//! `dwconv_run`).
//!
//! Random cases come from `StdRng::seed_from_u64(seed)`; every assertion message prints the
//! seed and the geometry. Ranges: batch 1–2, H/W 1–9 (plus a wider set up to 30 columns),
//! channels 1..=40 (every count at least once per tier, so 1, 7, 8, 9, 15, 16, 17, 24, 33 are
//! all covered), kernel sizes 1, 2, 3, 4, 5, 7 (square 3/5/7 with horizontal dilation 1 and
//! stride 1 or 2 most of the time, which is the specialised path), strides 1–3, dilation 1–2,
//! each pad side 0–3 (plus a set with pads up to 7), all four activations, with and without
//! bias.
//!
//! Tolerance: each output within `1e-5 · (|bias| + Σ|x·w|)` of the reference, the magnitude
//! computed here per output element. The reference accumulates in `f64` and rounds once; an
//! `f32` FMA chain over at most 49 taps (+ bias) is within about `50 · 2^-24 ≈ 3e-6` of that
//! magnitude, and the clamps are 1-Lipschitz, so 1e-5 is safe, while a missing or misplaced tap
//! moves the result by a whole `|x·w|` term. Where the magnitude is 0 the results must be equal.

use rand::{RngExt, SeedableRng, rngs::StdRng};
use sepconv_kernels::{Activation, Conv2dGeometry, KernelError, Padding2d, portable, reference};

/// Relative tolerance against `|bias| + Σ|x·w|` (see the module docs).
const REL_TOL: f64 = 1e-5;

type PackedLenFn = fn(&Conv2dGeometry) -> Result<usize, KernelError>;
type PackFn = fn(&Conv2dGeometry, &[f32], Option<&[f32]>, &mut [f32]) -> Result<(), KernelError>;
type RunFn = fn(&Conv2dGeometry, &[f32], &[f32], Activation, &mut [f32]) -> Result<(), KernelError>;

/// One tier's packed contract.
#[derive(Clone, Copy)]
struct Tier {
    name: &'static str,
    packed_len: PackedLenFn,
    pack: PackFn,
    run: RunFn,
    /// Whether `pack` itself refuses on a CPU without the tier's features (as documented on
    /// each `dwconv_pack`): the AVX-512 pack picks its plan with the CPU's help; the other
    /// tiers' packs are pure layout functions that run anywhere (only `run` needs the CPU).
    pack_needs_cpu: bool,
}

const PORTABLE: Tier = Tier {
    name: "portable",
    packed_len: portable::dwconv::dwconv_packed_len,
    pack: portable::dwconv::dwconv_pack,
    run: portable::dwconv::dwconv_run,
    pack_needs_cpu: false,
};

#[cfg(target_arch = "x86_64")]
const AVX2: Tier = Tier {
    name: "avx2",
    packed_len: sepconv_kernels::x86_64::dwconv::dwconv_packed_len,
    pack: sepconv_kernels::x86_64::dwconv::dwconv_pack,
    run: sepconv_kernels::x86_64::dwconv::dwconv_run,
    pack_needs_cpu: false,
};

#[cfg(target_arch = "x86_64")]
fn avx2_available() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}

#[cfg(target_arch = "x86_64")]
const AVX512: Tier = Tier {
    name: "avx512",
    packed_len: sepconv_kernels::avx512::dwconv::dwconv_packed_len,
    pack: sepconv_kernels::avx512::dwconv::dwconv_pack,
    run: sepconv_kernels::avx512::dwconv::dwconv_run,
    pack_needs_cpu: true,
};

#[cfg(target_arch = "x86_64")]
fn avx512_available() -> bool {
    avx2_available() && std::is_x86_feature_detected!("avx512f")
}

#[cfg(target_arch = "aarch64")]
const NEON: Tier = Tier {
    name: "neon",
    packed_len: sepconv_kernels::aarch64::dwconv::dwconv_packed_len,
    pack: sepconv_kernels::aarch64::dwconv::dwconv_pack,
    run: sepconv_kernels::aarch64::dwconv::dwconv_run,
    pack_needs_cpu: false,
};

#[cfg(target_arch = "aarch64")]
fn neon_available() -> bool {
    std::arch::is_aarch64_feature_detected!("neon")
}

/// True when `tier` can run on this CPU (the portable tier always can). When false, the tier
/// must refuse every valid call with `IsaUnavailable { isa: tier.name }`.
fn isa_available(tier: Tier) -> bool {
    match tier.name {
        #[cfg(target_arch = "x86_64")]
        "avx2" => avx2_available(),
        #[cfg(target_arch = "x86_64")]
        "avx512" => avx512_available(),
        #[cfg(target_arch = "aarch64")]
        "neon" => neon_available(),
        _ => true,
    }
}

fn rand_vec(rng: &mut StdRng, len: usize) -> Vec<f32> {
    (0..len).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

/// Activation number `i % 4`: none, relu, relu6, or a random ordered clamp.
fn act_of(rng: &mut StdRng, i: u64) -> Activation {
    match i % 4 {
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

/// `|bias| + Σ|x·w|` per output element, over the taps inside the input.
fn magnitudes(g: &Conv2dGeometry, input: &[f32], w: &[f32], bias: Option<&[f32]>) -> Vec<f64> {
    let d = g.validate().unwrap();
    let c = g.in_c;
    let p = g.padding;
    let mut m = Vec::with_capacity(d.output_len);
    for n in 0..g.batch {
        for oy in 0..d.out_h {
            for ox in 0..d.out_w {
                for ch in 0..c {
                    let mut s = bias.map_or(0.0, |b| f64::from(b[ch]).abs());
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
                            let x = input[((n * g.in_h + iy as usize) * g.in_w + ix as usize) * c + ch];
                            let wv = w[(ky * g.kernel_w + kx) * c + ch];
                            s += (f64::from(x) * f64::from(wv)).abs();
                        }
                    }
                    m.push(s);
                }
            }
        }
    }
    m
}

/// Guard elements written around the output slice; they must survive every run.
const GUARD: usize = 8;

/// Packs and runs `tier` on the case; returns the output, or the error. The output slice sits
/// between two guard zones of sentinel NaNs (with a payload no kernel produces), which must be
/// left untouched: no write outside the given slice.
fn run_tier(
    tier: Tier,
    g: &Conv2dGeometry,
    input: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
) -> Result<Vec<f32>, KernelError> {
    let d = g.validate().unwrap();
    let mut packed = vec![f32::NAN; (tier.packed_len)(g)?];
    (tier.pack)(g, w, bias, &mut packed)?;
    let sentinel = f32::from_bits(0x7fc0_1234);
    let mut buf = vec![sentinel; d.output_len + 2 * GUARD];
    (tier.run)(g, input, &packed, act, &mut buf[GUARD..GUARD + d.output_len])?;
    let guards_ok =
        buf[..GUARD].iter().chain(&buf[GUARD + d.output_len..]).all(|v| v.to_bits() == sentinel.to_bits());
    assert!(guards_ok, "{}: {g:?}: a write outside the output slice", tier.name);
    Ok(buf[GUARD..GUARD + d.output_len].to_vec())
}

/// Runs one case on `tier` and checks it against the reference (NaN where the reference has
/// NaN, else within the tolerance). A SIMD tier the CPU lacks (AVX2+FMA on x86_64, NEON on
/// aarch64) must refuse with `IsaUnavailable`.
fn check_case(
    tier: Tier,
    g: &Conv2dGeometry,
    input: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    ctx: &str,
) {
    let d = g.validate().unwrap();
    let mut expected = vec![0.0f32; d.output_len];
    reference::dwconv(g, input, w, bias, act, &mut expected).unwrap();
    let got = match run_tier(tier, g, input, w, bias, act) {
        Ok(v) => v,
        Err(KernelError::IsaUnavailable { isa }) if !isa_available(tier) => {
            assert_eq!(isa, tier.name, "{ctx}");
            return;
        }
        Err(e) => panic!("{} {ctx}: {e}", tier.name),
    };
    let mag = magnitudes(g, input, w, bias);
    for (i, ((&a, &e), &m)) in got.iter().zip(&expected).zip(&mag).enumerate() {
        if e.is_nan() {
            assert!(a.is_nan(), "{} {ctx} act {act:?}: element {i}: got {a}, expected NaN", tier.name);
            continue;
        }
        if a == e {
            // Exact match, including equal infinities (whose difference would be NaN).
            continue;
        }
        let diff = (f64::from(a) - f64::from(e)).abs();
        assert!(
            diff <= REL_TOL * m,
            "{} {ctx} act {act:?}: element {i}: got {a}, expected {e}, |diff| {diff:e} > {REL_TOL} × {m:e}",
            tier.name
        );
    }
}

/// The tiers that run on this target.
fn tiers() -> Vec<Tier> {
    #[cfg(target_arch = "x86_64")]
    {
        vec![PORTABLE, AVX2, AVX512]
    }
    #[cfg(target_arch = "aarch64")]
    {
        vec![PORTABLE, NEON]
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        vec![PORTABLE]
    }
}

/// A random valid depthwise geometry with `c` channels and widths up to `max_w`.
fn rand_geometry(rng: &mut StdRng, c: usize, max_w: usize, max_pad: usize) -> Conv2dGeometry {
    loop {
        let (kh, kw, dw, sw) = if rng.random_bool(0.6) {
            // The specialised shapes: square 3/5/7, horizontal dilation 1, stride 1 or 2.
            let k = [3, 5, 7][rng.random_range(0..3)];
            (k, k, 1, rng.random_range(1..=2))
        } else {
            const KS: [usize; 6] = [1, 2, 3, 4, 5, 7];
            (
                KS[rng.random_range(0..KS.len())],
                KS[rng.random_range(0..KS.len())],
                rng.random_range(1..=2),
                rng.random_range(1..=3),
            )
        };
        let g = Conv2dGeometry::depthwise(
            rng.random_range(1..=2),
            rng.random_range(1..=9),
            rng.random_range(1..=max_w),
            c,
            kh,
            kw,
        )
        .with_stride(rng.random_range(1..=3), sw)
        .with_dilation(rng.random_range(1..=2), dw)
        .with_padding(Padding2d {
            top: rng.random_range(0..=max_pad),
            left: rng.random_range(0..=max_pad),
            bottom: rng.random_range(0..=max_pad),
            right: rng.random_range(0..=max_pad),
        });
        if g.validate().is_ok() {
            return g;
        }
    }
}

fn random_cases(tier: Tier, first_seed: u64, cases: u64, max_w: usize, max_pad: usize) {
    for seed in first_seed..first_seed + cases {
        let mut rng = StdRng::seed_from_u64(seed);
        // Every channel count 1..=40 appears in each run of 40 consecutive seeds.
        let c = (seed % 40) as usize + 1;
        let g = rand_geometry(&mut rng, c, max_w, max_pad);
        let d = g.validate().unwrap();
        let input = rand_vec(&mut rng, d.input_len);
        let w = rand_vec(&mut rng, d.weight_len);
        let bias = rng.random_bool(0.5).then(|| rand_vec(&mut rng, c));
        let act = act_of(&mut rng, seed / 40);
        let ctx = format!("seed {seed}, {g:?}, bias {}", bias.is_some());
        check_case(tier, &g, &input, &w, bias.as_deref(), act, &ctx);
    }
}

#[test]
fn portable_random_small() {
    random_cases(PORTABLE, 0, 640, 9, 3);
}

#[test]
fn portable_random_wide() {
    random_cases(PORTABLE, 10_000, 80, 30, 3);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn avx2_random_small() {
    random_cases(AVX2, 0, 640, 9, 3);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn avx2_random_wide() {
    random_cases(AVX2, 10_000, 80, 30, 3);
}

/// Pads up to 7 per side: runs of 4 and more border pixels on one side (and rows or columns
/// entirely in the padding).
#[test]
fn portable_random_large_padding() {
    random_cases(PORTABLE, 20_000, 80, 9, 7);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn avx2_random_large_padding() {
    random_cases(AVX2, 20_000, 80, 9, 7);
}

/// The standard depthwise layers (NHWC, batch 1, 3×3, pad 1, bias, ReLU6): (C, H=W, stride).
const STANDARD: [(usize, usize, usize); 8] = [
    (32, 112, 1),
    (96, 112, 2),
    (144, 56, 1),
    (144, 56, 2),
    (192, 28, 1),
    (384, 14, 1),
    (576, 14, 1),
    (960, 7, 1),
];

fn standard_shapes(tier: Tier) {
    for (i, &(c, hw, s)) in STANDARD.iter().enumerate() {
        let g = Conv2dGeometry::depthwise(1, hw, hw, c, 3, 3)
            .with_stride(s, s)
            .with_padding(Padding2d::uniform(1));
        let d = g.validate().unwrap();
        let seed = 500 + i as u64;
        let mut rng = StdRng::seed_from_u64(seed);
        let input = rand_vec(&mut rng, d.input_len);
        let w = rand_vec(&mut rng, d.weight_len);
        let bias = rand_vec(&mut rng, c);
        let ctx = format!("standard dw_c{c}_{hw}_s{s}, seed {seed}, {g:?}");
        check_case(tier, &g, &input, &w, Some(&bias), Activation::Relu6, &ctx);
    }
}

#[test]
fn portable_standard_shapes() {
    standard_shapes(PORTABLE);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn avx2_standard_shapes() {
    standard_shapes(AVX2);
}

/// 5×5 and 7×7 layers of realistic size (pad 2 / 3), stride 1 and 2, and a partial tile.
fn large_kernels(tier: Tier) {
    for (i, &(c, hw, k, s)) in
        [(144, 28, 5, 1), (144, 28, 7, 1), (44, 17, 5, 2), (20, 15, 7, 2)].iter().enumerate()
    {
        let g = Conv2dGeometry::depthwise(1, hw, hw, c, k, k)
            .with_stride(s, s)
            .with_padding(Padding2d::uniform(k / 2));
        let d = g.validate().unwrap();
        let seed = 600 + i as u64;
        let mut rng = StdRng::seed_from_u64(seed);
        let input = rand_vec(&mut rng, d.input_len);
        let w = rand_vec(&mut rng, d.weight_len);
        let bias = rand_vec(&mut rng, c);
        let ctx = format!("seed {seed}, {g:?}");
        check_case(tier, &g, &input, &w, Some(&bias), Activation::None, &ctx);
    }
}

#[test]
fn portable_large_kernels() {
    large_kernels(PORTABLE);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn avx2_large_kernels() {
    large_kernels(AVX2);
}

/// NaN in the input propagates exactly where the reference's does (through every clamp), and
/// an infinity inside the input never leaks into outputs whose taps do not reach it.
#[test]
fn non_finite_inputs_match_reference() {
    for tier in tiers() {
        for (seed, k) in [(700u64, 3usize), (701, 5), (702, 4)] {
            let mut rng = StdRng::seed_from_u64(seed);
            let g = Conv2dGeometry::depthwise(1, 9, 11, 13, k, k).with_padding(Padding2d::uniform(1));
            let d = g.validate().unwrap();
            let mut input = rand_vec(&mut rng, d.input_len);
            input[(4 * 11 + 5) * 13 + 2] = f32::NAN;
            input[(8 * 11 + 10) * 13 + 12] = f32::NAN;
            input[3] = f32::NAN;
            let w = rand_vec(&mut rng, d.weight_len);
            for i in 0..4 {
                let act = act_of(&mut rng, i);
                let ctx = format!("seed {seed}, {g:?}");
                check_case(tier, &g, &input, &w, None, act, &ctx);
            }
        }
    }
}

/// Expects `call` to fail with `want` and to leave `out` (filled with a sentinel) untouched.
#[track_caller]
fn expect_err(want: KernelError, out: &[f32], sentinel: f32, got: Result<(), KernelError>, ctx: &str) {
    assert_eq!(got, Err(want), "{ctx}");
    assert!(out.iter().all(|&v| v.to_bits() == sentinel.to_bits()), "{ctx}: output was written");
}

fn error_paths(tier: Tier) {
    let isa_ok = isa_available(tier);
    // 1×4×5×11, 3×3, pad 1 → 1×4×5×11; packed ceil(11/8)·8·10 = 160.
    let g = Conv2dGeometry::depthwise(1, 4, 5, 11, 3, 3).with_padding(Padding2d::uniform(1));
    let d = g.validate().unwrap();
    let name = tier.name;
    assert_eq!((tier.packed_len)(&g), Ok(160), "{name}");
    let input = vec![1.0; d.input_len];
    let weights = vec![0.5; d.weight_len];
    let bias = vec![0.25; 11];
    let s = -7.5f32;

    // pack: wrong weights / bias / packed length; packed untouched.
    let mut packed = vec![s; 160];
    let r = (tier.pack)(&g, &weights[1..], Some(&bias), &mut packed);
    expect_err(
        KernelError::LengthMismatch { what: "weights", expected: 99, actual: 98 },
        &packed,
        s,
        r,
        name,
    );
    let r = (tier.pack)(&g, &weights, Some(&bias[..10]), &mut packed);
    expect_err(KernelError::LengthMismatch { what: "bias", expected: 11, actual: 10 }, &packed, s, r, name);
    let mut short = vec![s; 159];
    let r = (tier.pack)(&g, &weights, Some(&bias), &mut short);
    expect_err(
        KernelError::LengthMismatch { what: "packed", expected: 160, actual: 159 },
        &short,
        s,
        r,
        name,
    );
    let r = (tier.pack)(&g, &weights, Some(&bias), &mut packed);
    if isa_ok || !tier.pack_needs_cpu {
        r.unwrap();
    } else {
        // A tier whose packing needs the CPU (AVX-512) refuses without writing; the run below
        // then checks its lengths first and refuses for the ISA last.
        expect_err(KernelError::IsaUnavailable { isa: name }, &packed, s, r, name);
    }

    // run: wrong packed / input / output length, bad clamp, non-depthwise; output untouched.
    let mut out = vec![s; d.output_len];
    let act = Activation::Relu;
    let r = (tier.run)(&g, &input, &packed[..159], act, &mut out);
    expect_err(KernelError::LengthMismatch { what: "packed", expected: 160, actual: 159 }, &out, s, r, name);
    let mut long = packed.clone();
    long.push(0.0);
    let r = (tier.run)(&g, &input, &long, act, &mut out);
    expect_err(KernelError::LengthMismatch { what: "packed", expected: 160, actual: 161 }, &out, s, r, name);
    let r = (tier.run)(&g, &input[1..], &packed, act, &mut out);
    expect_err(KernelError::LengthMismatch { what: "input", expected: 220, actual: 219 }, &out, s, r, name);
    let mut out_long = vec![s; d.output_len + 1];
    let r = (tier.run)(&g, &input, &packed, act, &mut out_long);
    expect_err(
        KernelError::LengthMismatch { what: "output", expected: 220, actual: 221 },
        &out_long,
        s,
        r,
        name,
    );
    let bad = Activation::Clamp { min: 1.0, max: 0.0 };
    let r = (tier.run)(&g, &input, &packed, bad, &mut out);
    expect_err(KernelError::InvalidClamp { min: 1.0, max: 0.0 }, &out, s, r, name);
    let dense = Conv2dGeometry::new(1, 4, 5, 11, 11, 3, 3);
    let want = KernelError::Unsupported { kernel: "dwconv", what: "groups", value: 1, expected: 11 };
    assert_eq!((tier.packed_len)(&dense), Err(want.clone()), "{name}");
    let r = (tier.run)(&dense, &input, &packed, act, &mut out);
    expect_err(want, &out, s, r, name);
    let zero = g.with_stride(0, 1);
    let r = (tier.run)(&zero, &input, &packed, act, &mut out);
    expect_err(KernelError::Zero { what: "stride_h" }, &out, s, r, name);

    // A correct call succeeds (or reports the missing ISA without writing).
    let r = (tier.run)(&g, &input, &packed, act, &mut out);
    if isa_ok {
        r.unwrap();
        assert!(out.iter().all(|&v| v != s), "{name}: output not fully written");
    } else {
        expect_err(KernelError::IsaUnavailable { isa: name }, &out, s, r, name);
    }
}

#[test]
fn portable_error_paths() {
    error_paths(PORTABLE);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn avx2_error_paths() {
    error_paths(AVX2);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn avx512_random_small() {
    random_cases(AVX512, 0, 640, 9, 3);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn avx512_random_wide() {
    random_cases(AVX512, 10_000, 80, 30, 3);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn avx512_random_large_padding() {
    random_cases(AVX512, 20_000, 80, 9, 7);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn avx512_standard_shapes() {
    standard_shapes(AVX512);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn avx512_large_kernels() {
    large_kernels(AVX512);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn avx512_error_paths() {
    error_paths(AVX512);
}

/// Channel counts of 64 and more (several full 16-lane tiles, with and without a tail), random
/// geometries of every kind (own plan and delegated), widths up to 40.
#[cfg(target_arch = "x86_64")]
#[test]
fn avx512_many_channels() {
    for (i, &c) in [64usize, 65, 70, 79, 80, 96, 111, 127, 144].iter().enumerate() {
        for k in 0..6u64 {
            let seed = 40_000 + 10 * i as u64 + k;
            let mut rng = StdRng::seed_from_u64(seed);
            let g = rand_geometry(&mut rng, c, if k % 2 == 0 { 9 } else { 40 }, 3);
            let d = g.validate().unwrap();
            let input = rand_vec(&mut rng, d.input_len);
            let w = rand_vec(&mut rng, d.weight_len);
            let bias = rng.random_bool(0.5).then(|| rand_vec(&mut rng, c));
            let act = act_of(&mut rng, k);
            let ctx = format!("seed {seed}, {g:?}, bias {}", bias.is_some());
            check_case(AVX512, &g, &input, &w, bias.as_deref(), act, &ctx);
        }
    }
}

/// Every row kernel of the AVX-512 own plan (3×3, 5×5, 7×7; horizontal stride 1 and 2;
/// vertical stride and dilation 1–2) with channel counts covering a lone tail, a full tile, a
/// full tile plus a tail and several tiles, widths 1–40 so that the interior is empty, shorter
/// than a block (the 8/4/2/1 blocks), exactly blocks, or blocks plus the shifted last block,
/// each pad side 0–3.
#[cfg(target_arch = "x86_64")]
#[test]
fn avx512_specialised_paths() {
    let mut seed = 50_000u64;
    for k in [3usize, 5, 7] {
        for s in [1usize, 2] {
            for c in [1usize, 3, 15, 16, 17, 31, 32, 33, 48, 50] {
                for _ in 0..3 {
                    seed += 1;
                    let mut rng = StdRng::seed_from_u64(seed);
                    let g = Conv2dGeometry::depthwise(
                        1,
                        rng.random_range(1..=6),
                        rng.random_range(1..=40),
                        c,
                        k,
                        k,
                    )
                    .with_stride(rng.random_range(1..=2), s)
                    .with_dilation(rng.random_range(1..=2), 1)
                    .with_padding(Padding2d {
                        top: rng.random_range(0..=3),
                        left: rng.random_range(0..=3),
                        bottom: rng.random_range(0..=3),
                        right: rng.random_range(0..=3),
                    });
                    // Too small for the kernel: move on (the next seed draws another shape).
                    let Ok(d) = g.validate() else { continue };
                    let input = rand_vec(&mut rng, d.input_len);
                    let w = rand_vec(&mut rng, d.weight_len);
                    let bias = rand_vec(&mut rng, c);
                    let act = act_of(&mut rng, seed);
                    let ctx = format!("seed {seed}, {g:?}");
                    check_case(AVX512, &g, &input, &w, Some(&bias), act, &ctx);
                }
            }
        }
    }
}

/// NaN and infinities through the AVX-512 paths: NaN inputs in a full tile and in the masked
/// tail, interior and border, on the 3×3 stride-1 and stride-2, 5×5 stride-2 and 7×7 row
/// kernels and on a delegated shape (dilation 2), plus a NaN weight and a NaN bias, with every
/// activation (vmaxps/vminps with the bound first keep the NaN, as the reference does).
#[cfg(target_arch = "x86_64")]
#[test]
fn avx512_nan_propagation() {
    let shapes = [(3usize, 1usize, 1usize), (3, 2, 1), (7, 1, 1), (3, 1, 2), (5, 2, 1)];
    for (i, &(k, s, dil)) in shapes.iter().enumerate() {
        let seed = 900 + i as u64;
        let mut rng = StdRng::seed_from_u64(seed);
        // 37 channels: two full tiles (0..32) and a tail of 5 (32..37).
        let c = 37;
        let g = Conv2dGeometry::depthwise(1, 10, 30, c, k, k)
            .with_stride(s, s)
            .with_dilation(dil, dil)
            .with_padding(Padding2d::uniform(k / 2));
        let d = g.validate().unwrap();
        let mut input = rand_vec(&mut rng, d.input_len);
        input[(5 * 30 + 13) * c + 1] = f32::NAN; // full tile, interior
        input[(2 * 30 + 29) * c + 35] = f32::NAN; // tail, right border
        input[(7 * 30 + 17) * c + 33] = f32::NAN; // tail, interior
        input[(9 * 30) * c + 20] = f32::INFINITY; // second tile, bottom-left corner
        let mut w = rand_vec(&mut rng, d.weight_len);
        w[4 * c + 9] = f32::NAN; // tap 4 of channel 9
        let mut bias = rand_vec(&mut rng, c);
        bias[34] = f32::NAN; // a tail channel
        for a in 0..4 {
            let act = act_of(&mut rng, a);
            let ctx = format!("seed {seed}, {g:?}");
            check_case(AVX512, &g, &input, &w, Some(&bias), act, &ctx);
        }
    }
}

/// An own-plan geometry (3×3 stride 2, 16-lane layout) and a delegated one (3×3 with
/// horizontal dilation 2: the AVX2 kernel and its layout).
#[cfg(target_arch = "x86_64")]
fn avx512_probe_geometries() -> [Conv2dGeometry; 2] {
    [
        Conv2dGeometry::depthwise(1, 5, 7, 20, 3, 3).with_stride(2, 2).with_padding(Padding2d::uniform(1)),
        Conv2dGeometry::depthwise(1, 5, 7, 20, 3, 3).with_dilation(1, 2).with_padding(Padding2d::uniform(2)),
    ]
}

/// The AVX-512 tier either runs (the own plan with its 16-lane layout, the delegated plan with
/// exactly the AVX2 tier's packed buffer, both matching the reference) or, on a CPU without
/// AVX-512F, refuses pack and run with `IsaUnavailable { isa: "avx512" }` and writes nothing.
#[cfg(target_arch = "x86_64")]
#[test]
fn avx512_runs_or_reports_unavailable() {
    let [own, delegated] = avx512_probe_geometries();
    // ceil(20 / 16) · 16 · (1 + 9) and ceil(20 / 8) · 8 · (1 + 9).
    assert_eq!((AVX512.packed_len)(&own), Ok(320));
    assert_eq!((AVX512.packed_len)(&delegated), Ok(240));
    assert_eq!((AVX512.packed_len)(&delegated), (AVX2.packed_len)(&delegated));
    for (k, g) in [own, delegated].iter().enumerate() {
        let d = g.validate().unwrap();
        let mut rng = StdRng::seed_from_u64(990 + k as u64);
        let input = rand_vec(&mut rng, d.input_len);
        let w = rand_vec(&mut rng, d.weight_len);
        let bias = rand_vec(&mut rng, g.in_c);
        let len = (AVX512.packed_len)(g).unwrap();
        let mut packed = vec![-1.0f32; len];
        let r = (AVX512.pack)(g, &w, Some(&bias), &mut packed);
        if !avx512_available() {
            assert_eq!(r, Err(KernelError::IsaUnavailable { isa: "avx512" }));
            assert!(packed.iter().all(|&v| v == -1.0), "packed was written");
            let mut out = vec![-1.0f32; d.output_len];
            let r = (AVX512.run)(g, &input, &packed, Activation::None, &mut out);
            assert_eq!(r, Err(KernelError::IsaUnavailable { isa: "avx512" }));
            assert!(out.iter().all(|&v| v == -1.0), "output was written");
            continue;
        }
        r.unwrap();
        if k == 1 {
            let mut b = vec![f32::NAN; len];
            (AVX2.pack)(g, &w, Some(&bias), &mut b).unwrap();
            assert!(
                packed.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
                "delegated layout differs"
            );
        }
        check_case(AVX512, g, &input, &w, Some(&bias), Activation::Relu, &format!("{g:?}"));
        // Centre pixel of an all-ones 3×3 on the own plan: 9 taps of 1·1.
        if k == 0 {
            let ones = Conv2dGeometry::depthwise(1, 3, 3, 17, 3, 3).with_padding(Padding2d::uniform(1));
            let out = run_tier(AVX512, &ones, &[1.0; 153], &[1.0; 153], None, Activation::None).unwrap();
            assert_eq!(out[4 * 17], 9.0);
            assert_eq!(out[4 * 17 + 16], 9.0);
            assert_eq!(out[0], 4.0);
        }
    }
}

/// On x86_64 the AVX2 tier must actually run when the CPU has AVX2+FMA (no silent skip).
#[cfg(target_arch = "x86_64")]
#[test]
fn avx2_runs_when_available() {
    let g = Conv2dGeometry::depthwise(1, 3, 3, 9, 3, 3).with_padding(Padding2d::uniform(1));
    let r = run_tier(AVX2, &g, &[1.0; 81], &[1.0; 81], None, Activation::None);
    if avx2_available() {
        let out = r.unwrap();
        // Centre pixel: 9 taps of 1·1.
        assert_eq!(out[4 * 9], 9.0);
    } else {
        assert_eq!(r, Err(KernelError::IsaUnavailable { isa: "avx2" }));
    }
}

// ---------------------------------------------------------------------------------------------
// NEON (aarch64): the same suites as the AVX2 tier, plus coverage of the three channel views of
// the NEON kernels (full tiles of 8, a half tile of 4, a tail of 1–3 lanes) on the specialised
// paths. On a CPU without NEON every call must return `IsaUnavailable { isa: "neon" }`
// (checked by `check_case` and `error_paths`): never a silent skip.
// ---------------------------------------------------------------------------------------------

#[cfg(target_arch = "aarch64")]
#[test]
fn neon_random_small() {
    random_cases(NEON, 0, 640, 9, 3);
}

#[cfg(target_arch = "aarch64")]
#[test]
fn neon_random_wide() {
    random_cases(NEON, 10_000, 80, 30, 3);
}

#[cfg(target_arch = "aarch64")]
#[test]
fn neon_random_large_padding() {
    random_cases(NEON, 20_000, 80, 9, 7);
}

#[cfg(target_arch = "aarch64")]
#[test]
fn neon_standard_shapes() {
    standard_shapes(NEON);
}

#[cfg(target_arch = "aarch64")]
#[test]
fn neon_large_kernels() {
    large_kernels(NEON);
}

#[cfg(target_arch = "aarch64")]
#[test]
fn neon_error_paths() {
    error_paths(NEON);
}

/// Every specialised shape (3×3, 5×5, 7×7; horizontal stride 1 and 2; vertical stride and
/// dilation 1–2) with channel counts covering every view combination (C < 4, a half tile, a
/// tail, both, full tiles only), widths up to 20 so that full blocks, the shifted remainder
/// block and the 4/2/1 blocks all run, each pad side 0–3.
#[cfg(target_arch = "aarch64")]
#[test]
fn neon_specialised_paths() {
    let mut seed = 30_000u64;
    for k in [3usize, 5, 7] {
        for s in [1usize, 2] {
            for c in [1usize, 2, 3, 4, 5, 7, 8, 11, 12, 14, 16, 19] {
                seed += 1;
                let mut rng = StdRng::seed_from_u64(seed);
                let g =
                    Conv2dGeometry::depthwise(1, rng.random_range(1..=6), rng.random_range(1..=20), c, k, k)
                        .with_stride(rng.random_range(1..=2), s)
                        .with_dilation(rng.random_range(1..=2), 1)
                        .with_padding(Padding2d {
                            top: rng.random_range(0..=3),
                            left: rng.random_range(0..=3),
                            bottom: rng.random_range(0..=3),
                            right: rng.random_range(0..=3),
                        });
                // Too small for the kernel: move on (the next seed draws another shape).
                let Ok(d) = g.validate() else { continue };
                let input = rand_vec(&mut rng, d.input_len);
                let w = rand_vec(&mut rng, d.weight_len);
                let bias = rand_vec(&mut rng, c);
                let act = act_of(&mut rng, seed);
                let ctx = format!("seed {seed}, {g:?}");
                check_case(NEON, &g, &input, &w, Some(&bias), act, &ctx);
            }
        }
    }
}

/// NaN and infinities through the NEON paths: NaN inputs on the specialised 3×3 stride-2, 7×7
/// and 5×5 stride-2 paths and on the generic path (dilation 2), plus a NaN weight and a NaN
/// bias, with every activation (FMAX/FMIN keep the NaN, as the reference's comparisons do).
#[cfg(target_arch = "aarch64")]
#[test]
fn neon_nan_propagation() {
    let shapes = [(3usize, 2usize, 1usize), (7, 1, 1), (3, 1, 2), (5, 2, 1)];
    for (i, &(k, s, dil)) in shapes.iter().enumerate() {
        let seed = 800 + i as u64;
        let mut rng = StdRng::seed_from_u64(seed);
        // 15 channels: a full tile (0..8), a half tile (8..12) and a tail (12..15).
        let g = Conv2dGeometry::depthwise(1, 10, 12, 15, k, k)
            .with_stride(s, s)
            .with_dilation(dil, dil)
            .with_padding(Padding2d::uniform(k / 2));
        let d = g.validate().unwrap();
        let mut input = rand_vec(&mut rng, d.input_len);
        input[(5 * 12 + 6) * 15 + 1] = f32::NAN; // full tile, interior
        input[(2 * 12 + 11) * 15 + 14] = f32::NAN; // tail, right border
        input[(9 * 12) * 15 + 10] = f32::INFINITY; // half tile, bottom-left corner
        let mut w = rand_vec(&mut rng, d.weight_len);
        w[4 * 15 + 9] = f32::NAN; // tap 4 of channel 9 (half tile)
        let mut bias = rand_vec(&mut rng, 15);
        bias[13] = f32::NAN; // a tail channel
        for a in 0..4 {
            let act = act_of(&mut rng, a);
            let ctx = format!("seed {seed}, {g:?}");
            check_case(NEON, &g, &input, &w, Some(&bias), act, &ctx);
        }
    }
}

/// On aarch64 the NEON tier must actually run when the CPU has NEON (no silent skip).
#[cfg(target_arch = "aarch64")]
#[test]
fn neon_runs_when_available() {
    let g = Conv2dGeometry::depthwise(1, 3, 3, 9, 3, 3).with_padding(Padding2d::uniform(1));
    let r = run_tier(NEON, &g, &[1.0; 81], &[1.0; 81], None, Activation::None);
    if neon_available() {
        let out = r.unwrap();
        // Centre pixel: 9 taps of 1·1; corner pixel: 4 taps.
        assert_eq!(out[4 * 9], 9.0);
        assert_eq!(out[0], 4.0);
    } else {
        assert_eq!(r, Err(KernelError::IsaUnavailable { isa: "neon" }));
    }
}
