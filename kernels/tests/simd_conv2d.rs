//! The SIMD tiers of the general / grouped convolution (`conv2d_packed_len`, `conv2d_pack`,
//! `conv2d_run`) against the reference oracle: randomized geometries (every plan: one group,
//! few wide groups, many narrow groups, depthwise, odd group sizes), the standard layers, NaN
//! propagation and the error paths. The portable tier always runs; the AVX2 tier runs on
//! x86_64 CPUs with AVX2+FMA and the AVX-512 tier on those with AVX-512F as well, and on other
//! x86_64 CPUs their entry points must report `IsaUnavailable`; likewise the NEON tier on
//! aarch64 (run under qemu when cross-testing).

mod common;

use common::{activate, naive_conv, rand_act, rand_bias, rand_vec, rng};
use rand::{RngExt, rngs::StdRng};
use sepconv_kernels::{Activation, Conv2dGeometry, KernelError, Padding2d, portable, reference};

/// Tolerance: each output within `TOL · M` of the exact (f64-accumulated) value, where
/// `M = |bias| + Σ|x·w|` over the taps of that output.
///
/// The SIMD kernels accumulate in `f32` (FMA chains of up to `kh·kw·in_c/groups` terms, ≤ 1960
/// here, in an order different from the reference). Each FMA rounds once, so the error is at
/// most ~`K · 2^-24 · M` in the worst case and ~`sqrt(K) · 2^-24 · M` (≈ 3e-6 · M for K = 1960)
/// in practice; 1e-5 is the brief's bound and still far below a missing or misplaced tap,
/// which moves an output by a whole `|x·w|` term. Where `M == 0` the outputs must be exact.
const TOL: f64 = 1e-5;

/// `F_pack` of the packed contract.
type PackFn = fn(&Conv2dGeometry, &[f32], Option<&[f32]>, &mut [f32]) -> Result<(), KernelError>;
/// `F_run` of the packed contract.
type RunFn = fn(&Conv2dGeometry, &[f32], &[f32], Activation, &mut [f32]) -> Result<(), KernelError>;

/// One SIMD tier's packed contract.
#[derive(Clone, Copy)]
struct Tier {
    name: &'static str,
    packed_len: fn(&Conv2dGeometry) -> Result<usize, KernelError>,
    pack: PackFn,
    run: RunFn,
}

const PORTABLE: Tier = Tier {
    name: "portable",
    packed_len: portable::conv2d::conv2d_packed_len,
    pack: portable::conv2d::conv2d_pack,
    run: portable::conv2d::conv2d_run,
};

#[cfg(target_arch = "x86_64")]
const AVX2: Tier = Tier {
    name: "avx2",
    packed_len: sepconv_kernels::x86_64::conv2d::conv2d_packed_len,
    pack: sepconv_kernels::x86_64::conv2d::conv2d_pack,
    run: sepconv_kernels::x86_64::conv2d::conv2d_run,
};

#[cfg(target_arch = "x86_64")]
const AVX512: Tier = Tier {
    name: "avx512",
    packed_len: sepconv_kernels::avx512::conv2d::conv2d_packed_len,
    pack: sepconv_kernels::avx512::conv2d::conv2d_pack,
    run: sepconv_kernels::avx512::conv2d::conv2d_run,
};

#[cfg(target_arch = "aarch64")]
const NEON: Tier = Tier {
    name: "neon",
    packed_len: sepconv_kernels::aarch64::conv2d::conv2d_packed_len,
    pack: sepconv_kernels::aarch64::conv2d::conv2d_pack,
    run: sepconv_kernels::aarch64::conv2d::conv2d_run,
};

/// True when the NEON tier must run here (aarch64 with NEON).
#[cfg(target_arch = "aarch64")]
fn neon_here() -> bool {
    std::arch::is_aarch64_feature_detected!("neon")
}

/// True when the AVX2 tier must run here (x86_64 with AVX2 and FMA).
#[cfg(target_arch = "x86_64")]
fn avx2_here() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}

/// True when the AVX-512 tier must run here (x86_64 with AVX-512F, AVX2 and FMA).
#[cfg(target_arch = "x86_64")]
fn avx512_here() -> bool {
    avx2_here() && std::is_x86_feature_detected!("avx512f")
}

fn describe(g: &Conv2dGeometry) -> String {
    let p = g.padding;
    format!(
        "n{} {}x{}x{} -> {} k{}x{} s{}x{} d{}x{} pad(t{} l{} b{} r{}) groups {}",
        g.batch,
        g.in_h,
        g.in_w,
        g.in_c,
        g.out_c,
        g.kernel_h,
        g.kernel_w,
        g.stride_h,
        g.stride_w,
        g.dilation_h,
        g.dilation_w,
        p.top,
        p.left,
        p.bottom,
        p.right,
        g.groups
    )
}

/// One test case: geometry, data and the exact-valued oracle result (pre-activation values
/// and magnitudes), computed once and checked against several tiers / activations.
struct Case {
    g: Conv2dGeometry,
    input: Vec<f32>,
    weights: Vec<f32>,
    bias: Option<Vec<f32>>,
    value: Vec<f64>,
    magnitude: Vec<f64>,
}

impl Case {
    fn new(g: Conv2dGeometry, input: Vec<f32>, weights: Vec<f32>, bias: Option<Vec<f32>>) -> Self {
        let (value, magnitude) = naive_conv(&g, &input, &weights, bias.as_deref());
        Self { g, input, weights, bias, value, magnitude }
    }
}

/// Packs and runs `tier` on `c`, then checks every output against the oracle.
fn check_tier(tier: Tier, c: &Case, act: Activation, ctx: &str) {
    let g = &c.g;
    let len = (tier.packed_len)(g).unwrap_or_else(|e| panic!("{ctx} [{}]: packed_len: {e}", tier.name));
    let mut packed = vec![f32::NAN; len];
    (tier.pack)(g, &c.weights, c.bias.as_deref(), &mut packed)
        .unwrap_or_else(|e| panic!("{ctx} [{}]: pack: {e}", tier.name));
    let mut out = vec![f32::NAN; c.value.len()];
    (tier.run)(g, &c.input, &packed, act, &mut out)
        .unwrap_or_else(|e| panic!("{ctx} [{}]: run: {e}", tier.name));
    let expected = activate(act, &c.value);
    for (i, ((&a, &e), &m)) in out.iter().zip(&expected).zip(&c.magnitude).enumerate() {
        let diff = (f64::from(a) - f64::from(e)).abs();
        assert!(
            a.is_finite() && diff <= TOL * m,
            "{ctx} [{}] act {:?}: element {i} (pixel {}, channel {}): got {a}, expected {e}, \
             |diff| = {diff:e} > {TOL:e} · M = {:e}",
            tier.name,
            act,
            i / g.out_c,
            i % g.out_c,
            TOL * m
        );
    }
}

/// The tiers that must run on this machine.
fn tiers() -> Vec<Tier> {
    #[allow(unused_mut)]
    let mut t = vec![PORTABLE];
    #[cfg(target_arch = "x86_64")]
    if avx2_here() {
        t.push(AVX2);
    }
    #[cfg(target_arch = "x86_64")]
    if avx512_here() {
        t.push(AVX512);
    }
    #[cfg(target_arch = "aarch64")]
    if neon_here() {
        t.push(NEON);
    }
    t
}

const CHANNELS: [usize; 12] = [1, 3, 7, 8, 9, 15, 16, 17, 24, 32, 33, 40];
const KERNELS: [usize; 5] = [1, 2, 3, 5, 7];

/// Channel structure `(in_c, out_c, groups)` for one of the group regimes.
fn rand_channels(r: &mut StdRng, regime: usize) -> (usize, usize, usize) {
    let pick = |r: &mut StdRng| CHANNELS[r.random_range(0..CHANNELS.len())];
    match regime {
        // One group, channels from the interesting list or anywhere in 1..=40.
        0 => {
            let i = if r.random_bool(0.5) { pick(r) } else { r.random_range(1..=40) };
            let o = if r.random_bool(0.5) { pick(r) } else { r.random_range(1..=40) };
            (i, o, 1)
        }
        // Depthwise: groups == in_c == out_c.
        1 => {
            let c = pick(r);
            (c, c, c)
        }
        // Many narrow groups of 1, 2 or 4 channels in and out (the across-groups plan).
        2 => {
            let c = [1, 2, 4][r.random_range(0..3)];
            let groups = r.random_range(2..=40 / c);
            (c * groups, c * groups, groups)
        }
        // Two groups, each group's channel counts independent.
        3 => {
            let ci = r.random_range(1..=20);
            let co = r.random_range(1..=20);
            (2 * ci, 2 * co, 2)
        }
        // A middle group count (3..=8) with any per-group sizes (narrow groups with in != out,
        // odd sizes, wide outputs).
        _ => {
            let groups = r.random_range(3..=8);
            let ci = r.random_range(1..=40 / groups);
            let co = r.random_range(1..=40 / groups);
            (ci * groups, co * groups, groups)
        }
    }
}

/// A random valid geometry in `regime` (see [`rand_channels`]).
fn rand_geometry(r: &mut StdRng, regime: usize) -> Conv2dGeometry {
    loop {
        let (in_c, out_c, groups) = rand_channels(r, regime);
        let k = |r: &mut StdRng| KERNELS[r.random_range(0..KERNELS.len())];
        let kh = k(r);
        let kw = if r.random_bool(0.5) { kh } else { k(r) };
        let g = Conv2dGeometry::new(
            r.random_range(1..=2),
            r.random_range(1..=9),
            r.random_range(1..=9),
            in_c,
            out_c,
            kh,
            kw,
        )
        .with_stride(r.random_range(1..=2), r.random_range(1..=2))
        .with_dilation(r.random_range(1..=2), r.random_range(1..=2))
        .with_padding(Padding2d {
            top: r.random_range(0..=3),
            left: r.random_range(0..=3),
            bottom: r.random_range(0..=3),
            right: r.random_range(0..=3),
        })
        .with_groups(groups);
        if g.validate().is_ok() {
            return g;
        }
    }
}

/// Runs every tier on `cases` random geometries per regime, each with a random bias (or none)
/// and all four activations.
fn random_cases(tiers: &[Tier], base_seed: u64, cases: u64) {
    for regime in 0..5 {
        for case in 0..cases {
            let seed = base_seed + 1000 * regime as u64 + case;
            let mut r = rng(seed);
            let g = rand_geometry(&mut r, regime);
            let d = g.validate().unwrap();
            let input = rand_vec(&mut r, d.input_len);
            let weights = rand_vec(&mut r, d.weight_len);
            let bias = rand_bias(&mut r, g.out_c);
            let acts = [Activation::None, Activation::Relu, Activation::Relu6, rand_act(&mut r)];
            let c = Case::new(g, input, weights, bias);
            let ctx = format!("seed {seed}, {}, bias {}", describe(&g), c.bias.is_some());
            for act in acts {
                for &t in tiers {
                    check_tier(t, &c, act, &ctx);
                }
            }
        }
    }
}

#[test]
fn portable_random_geometries() {
    random_cases(&[PORTABLE], 10_000, 60);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn avx2_random_geometries() {
    if avx2_here() {
        random_cases(&[AVX2], 20_000, 120);
    } else {
        avx2_reports_unavailable();
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn avx512_random_geometries() {
    if avx512_here() {
        random_cases(&[AVX512], 50_000, 120);
    } else {
        avx512_reports_unavailable();
    }
}

/// Every remainder of the AVX-512 wide plan's 32-channel blocks: 1..=40 output channels per
/// group (one 16- or 32-lane block, or a full block plus a 16- or 32-lane one), with one,
/// two or three groups and small or odd input channels per group, strides, dilations and
/// asymmetric paddings (checked on every available tier).
#[test]
fn every_block_remainder() {
    let t = tiers();
    for cout_g in 1..=40 {
        for variant in 0..3 {
            let seed = 60_000 + 10 * cout_g as u64 + variant;
            let mut r = rng(seed);
            let groups = 1 + (cout_g + variant as usize) % 3;
            let mut cin_g = [1, 2, 3, 5, 8, 17][(cout_g + 2 * variant as usize) % 6];
            if groups > 1 && cin_g == cout_g && matches!(cin_g, 1 | 2 | 4) {
                cin_g += 1; // keep it on the wide plan
            }
            let k = [3, 1, 5][variant as usize];
            let g = Conv2dGeometry::new(
                1 + usize::from(variant == 2),
                r.random_range(3..=6),
                r.random_range(5..=20),
                cin_g * groups,
                cout_g * groups,
                k,
                [3, 3, 2][variant as usize],
            )
            .with_stride(1 + usize::from(variant == 1), 1 + usize::from(cout_g % 4 == 0))
            .with_dilation(1, 1 + usize::from(variant == 1 && cout_g % 2 == 1))
            .with_padding(Padding2d { top: 1, left: 1 + variant as usize % 2, bottom: 0, right: 1 })
            .with_groups(groups);
            let g = Conv2dGeometry { in_h: g.in_h.max(k), in_w: g.in_w.max(5), ..g };
            let d = g.validate().unwrap_or_else(|e| panic!("{}: {e}", describe(&g)));
            let input = rand_vec(&mut r, d.input_len);
            let weights = rand_vec(&mut r, d.weight_len);
            let bias = rand_bias(&mut r, g.out_c);
            let c = Case::new(g, input, weights, bias);
            let ctx = format!("seed {seed}, {}, bias {}", describe(&g), c.bias.is_some());
            for &tier in &t {
                check_tier(tier, &c, rand_act(&mut r), &ctx);
            }
        }
    }
}

/// Every register-tile size of every wide plan: output rows of 1..=30 pixels (one tile of
/// each size up to 14, then splits into equal tiles), for 32-lane, 16-lane and mixed blocks,
/// interior and border tiles, the contiguous one-group path with few input channels (border
/// columns in tiles of their own), with many, and grouped (checked on every available tier).
#[test]
fn every_tile_size() {
    let t = tiers();
    let mut seed = 70_000;
    for out_w in 1..=30 {
        for (in_c, out_c, groups) in [(3, 32, 1), (3, 16, 1), (20, 40, 1), (8, 48, 2), (6, 24, 3)] {
            seed += 1;
            let mut r = rng(seed);
            let (k, pad) = if seed % 3 == 0 { (1, 0) } else { (3, 1) };
            let g = Conv2dGeometry::new(1, 2, out_w, in_c, out_c, k, k)
                .with_padding(Padding2d { top: pad, left: pad, bottom: pad, right: pad })
                .with_groups(groups);
            let d = g.validate().unwrap();
            assert_eq!(d.out_w, out_w);
            let input = rand_vec(&mut r, d.input_len);
            let weights = rand_vec(&mut r, d.weight_len);
            let bias = rand_bias(&mut r, g.out_c);
            let c = Case::new(g, input, weights, bias);
            let ctx = format!("seed {seed}, {}, bias {}", describe(&g), c.bias.is_some());
            for &tier in &t {
                check_tier(tier, &c, Activation::Relu6, &ctx);
            }
        }
    }
}

/// The NEON tier on random geometries of every regime (fewer cases than AVX2: the oracle and
/// the kernels run under qemu when cross-testing).
#[cfg(target_arch = "aarch64")]
#[test]
fn neon_random_geometries() {
    if neon_here() {
        random_cases(&[NEON], 30_000, NEON_CASES);
    } else {
        neon_reports_unavailable();
    }
}

/// Random cases per regime for the NEON tier.
#[cfg(target_arch = "aarch64")]
const NEON_CASES: u64 = 100;

/// Rows long enough (10..=26 input columns) for full interior tiles of every plan, including
/// the narrow plan's 8-pixel tiles and its 3-tap column-reuse path (random geometries with
/// H/W <= 9 rarely have 8 interior output columns), on 1..=3 input rows; every other case has
/// a 3-wide kernel with unit horizontal stride and dilation.
#[test]
fn long_rows_random_geometries() {
    let t = tiers();
    for regime in 0..5 {
        for case in 0..12 {
            let seed = 40_000 + 1000 * regime as u64 + case;
            let mut r = rng(seed);
            let g = loop {
                let mut g = Conv2dGeometry {
                    in_w: r.random_range(10..=26),
                    in_h: r.random_range(1..=3),
                    ..rand_geometry(&mut r, regime)
                };
                if case % 2 == 0 {
                    // 3 taps, unit horizontal stride and dilation: the column-reuse path.
                    (g.kernel_w, g.stride_w, g.dilation_w) = (3, 1, 1);
                }
                if g.validate().is_ok() {
                    break g;
                }
            };
            let d = g.validate().unwrap();
            let input = rand_vec(&mut r, d.input_len);
            let weights = rand_vec(&mut r, d.weight_len);
            let bias = rand_bias(&mut r, g.out_c);
            let act = rand_act(&mut r);
            let c = Case::new(g, input, weights, bias);
            let ctx = format!("seed {seed}, {}, bias {}", describe(&g), c.bias.is_some());
            for &tier in &t {
                check_tier(tier, &c, act, &ctx);
            }
        }
    }
}

/// A 3×3, stride 1, pad 1 convolution with bias, the standard grouped layers' shape.
fn standard(c: usize, groups: usize, hw: usize) -> Conv2dGeometry {
    Conv2dGeometry::new(1, hw, hw, c, c, 3, 3).with_padding(Padding2d::uniform(1)).with_groups(groups)
}

/// The MobileNet stem: 3 → 32 channels, 3×3 stride 2, with the given padding.
fn stem(hw: usize, padding: Padding2d) -> Conv2dGeometry {
    Conv2dGeometry::new(1, hw, hw, 3, 32, 3, 3).with_stride(2, 2).with_padding(padding)
}

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
const SAME_224: Padding2d = Padding2d { top: 0, left: 0, bottom: 1, right: 1 };

fn run_fixed(tiers: &[Tier], g: &Conv2dGeometry, seed: u64, acts: &[Activation]) {
    let mut r = rng(seed);
    let d = g.validate().unwrap();
    let input = rand_vec(&mut r, d.input_len);
    let weights = rand_vec(&mut r, d.weight_len);
    let bias = rand_vec(&mut r, g.out_c);
    let c = Case::new(*g, input, weights, Some(bias));
    let ctx = format!("seed {seed}, {}", describe(g));
    for &act in acts {
        for &t in tiers {
            check_tier(t, &c, act, &ctx);
        }
    }
}

/// The standard layers' channel/group structure on 14×14 crops (every tier, every target),
/// and the stem on a 16×16 crop with both paddings.
#[test]
fn standard_layers_cropped() {
    let acts = [Activation::None, Activation::Relu6];
    let t = tiers();
    run_fixed(&t, &standard(128, 4, 14), 1, &acts);
    run_fixed(&t, &standard(256, 8, 14), 2, &acts);
    run_fixed(&t, &standard(64, 32, 14), 3, &acts);
    run_fixed(&t, &stem(16, Padding2d { top: 0, left: 0, bottom: 1, right: 1 }), 4, &acts);
    run_fixed(&t, &stem(16, Padding2d::uniform(1)), 5, &acts);
    // More input channels per group than the AVX2 zero buffer holds (border taps chunked).
    let g = Conv2dGeometry::new(1, 5, 7, 150, 24, 3, 3).with_padding(Padding2d::uniform(2)).with_groups(2);
    run_fixed(&t, &g, 6, &acts);
    run_fixed(&t, &Conv2dGeometry { groups: 1, ..g }, 7, &acts);
}

/// The exact standard layers, once each (x86_64 only: the f64 oracle over 100+ M
/// multiply-adds is too slow under emulation). Under `.ci/run`'s emulated x86_64 CPUs
/// (`SEPCONV_EMULATED_CPU`, 17 s of oracle under qemu) every tier still computes each whole
/// layer, and the oracle checks a sample of it as on NEON ([`sampled_check`]: every border
/// pixel, 48 random ones, every channel, and every output written); natively every output.
#[cfg(target_arch = "x86_64")]
#[test]
fn standard_layers_full_size() {
    let t = tiers();
    if common::emulated_cpu() {
        let layers = [
            ("gc_c128_g4_56", standard(128, 4, 56), 11),
            ("gc_c256_g8_28", standard(256, 8, 28), 12),
            ("gc_c64_g32_56", standard(64, 32, 56), 13),
            ("stem SAME", stem(224, SAME_224), 14),
            ("stem pad 1", stem(224, Padding2d::uniform(1)), 15),
        ];
        for (name, g, seed) in layers {
            for &tier in &t {
                sampled_check(tier, &g, seed, &format!("{name}: seed {seed}, {}", describe(&g)));
            }
        }
        return;
    }
    let acts = [Activation::Relu];
    run_fixed(&t, &standard(128, 4, 56), 11, &acts); // gc_c128_g4_56
    run_fixed(&t, &standard(256, 8, 28), 12, &acts); // gc_c256_g8_28
    run_fixed(&t, &standard(64, 32, 56), 13, &acts); // gc_c64_g32_56
    run_fixed(&t, &stem(224, SAME_224), 14, &acts); // stem, SAME (0, 0, 1, 1)
    run_fixed(&t, &stem(224, Padding2d::uniform(1)), 15, &acts); // stem, pad 1
}

/// The reference tier's own packed contract agrees with the oracle on the same shapes (keeps
/// the oracle honest).
#[test]
fn reference_packed_contract_matches_oracle() {
    let tier = Tier {
        name: "reference",
        packed_len: reference::conv2d_packed_len,
        pack: reference::conv2d_pack,
        run: reference::conv2d_run,
    };
    let mut r = rng(77);
    for regime in 0..5 {
        let g = rand_geometry(&mut r, regime);
        let d = g.validate().unwrap();
        let input = rand_vec(&mut r, d.input_len);
        let weights = rand_vec(&mut r, d.weight_len);
        let bias = rand_bias(&mut r, g.out_c);
        let c = Case::new(g, input, weights, bias);
        check_tier(tier, &c, Activation::Relu, &describe(&g));
    }
}

/// NaN in the input propagates through the fused clamp exactly where the reference has NaN
/// (the bounds are the first operand of max/min), for every plan.
#[test]
fn nan_propagates_like_reference() {
    let geoms = [
        Conv2dGeometry::new(1, 5, 6, 16, 16, 3, 3).with_padding(Padding2d::uniform(1)).with_groups(2),
        Conv2dGeometry::new(1, 5, 12, 8, 8, 3, 3).with_padding(Padding2d::uniform(1)).with_groups(4),
        Conv2dGeometry::new(1, 7, 7, 3, 32, 3, 3).with_stride(2, 2).with_padding(Padding2d::uniform(1)),
    ];
    for (k, g) in geoms.iter().enumerate() {
        let mut r = rng(500 + k as u64);
        let d = g.validate().unwrap();
        let mut input = rand_vec(&mut r, d.input_len);
        input[(2 * g.in_w + 3) * g.in_c + 1] = f32::NAN;
        let weights = rand_vec(&mut r, d.weight_len);
        let bias = rand_vec(&mut r, g.out_c);
        for act in [Activation::Relu, Activation::Relu6, Activation::Clamp { min: -0.5, max: 0.5 }] {
            let mut expected = vec![0.0; d.output_len];
            reference::conv2d(g, &input, &weights, Some(&bias), act, &mut expected).unwrap();
            assert!(expected.iter().any(|v| v.is_nan()), "{}: the test needs NaN outputs", describe(g));
            for t in tiers() {
                let mut packed = vec![0.0; (t.packed_len)(g).unwrap()];
                (t.pack)(g, &weights, Some(&bias), &mut packed).unwrap();
                let mut out = vec![0.0; d.output_len];
                (t.run)(g, &input, &packed, act, &mut out).unwrap();
                for (i, (&a, &e)) in out.iter().zip(&expected).enumerate() {
                    assert_eq!(
                        a.is_nan(),
                        e.is_nan(),
                        "{} [{}] {act:?}: element {i}: got {a}, reference {e}",
                        describe(g),
                        t.name
                    );
                }
            }
        }
    }
}

/// Wrong packed / input / output / weight / bias lengths and bad clamps give the specific
/// error and leave the destination untouched.
fn error_paths(t: Tier) {
    let geoms = [
        Conv2dGeometry::new(2, 5, 6, 12, 8, 3, 3).with_padding(Padding2d::uniform(1)).with_groups(4),
        Conv2dGeometry::new(1, 6, 6, 8, 8, 3, 3).with_padding(Padding2d::uniform(1)).with_groups(4),
        Conv2dGeometry::new(1, 9, 9, 3, 32, 3, 3).with_stride(2, 2),
    ];
    const S: f32 = -7.25;
    for g in &geoms {
        let ctx = format!("[{}] {}", t.name, describe(g));
        let d = g.validate().unwrap();
        let len = (t.packed_len)(g).unwrap();
        let weights = vec![0.5; d.weight_len];
        let bias = vec![0.25; g.out_c];
        let input = vec![1.0; d.input_len];

        // pack: wrong weights, bias, packed lengths.
        let mut packed = vec![S; len];
        let e = (t.pack)(g, &weights[1..], Some(&bias), &mut packed).unwrap_err();
        assert!(matches!(e, KernelError::LengthMismatch { what: "weights", .. }), "{ctx}: {e:?}");
        let e = (t.pack)(g, &weights, Some(&bias[1..]), &mut packed).unwrap_err();
        assert!(matches!(e, KernelError::LengthMismatch { what: "bias", .. }), "{ctx}: {e:?}");
        assert!(packed.iter().all(|&v| v == S), "{ctx}: pack wrote on error");
        let mut short = vec![S; len - 1];
        let e = (t.pack)(g, &weights, Some(&bias), &mut short).unwrap_err();
        assert!(matches!(e, KernelError::LengthMismatch { what: "packed", .. }), "{ctx}: {e:?}");
        assert!(short.iter().all(|&v| v == S), "{ctx}: pack wrote on error");
        (t.pack)(g, &weights, Some(&bias), &mut packed).unwrap();

        // run: wrong packed, input, output lengths; invalid clamp.
        let act = Activation::Relu;
        let mut out = vec![S; d.output_len];
        let e = (t.run)(g, &input, &packed[1..], act, &mut out).unwrap_err();
        assert!(matches!(e, KernelError::LengthMismatch { what: "packed", .. }), "{ctx}: {e:?}");
        let mut longer = packed.clone();
        longer.push(0.0);
        let e = (t.run)(g, &input, &longer, act, &mut out).unwrap_err();
        assert!(matches!(e, KernelError::LengthMismatch { what: "packed", .. }), "{ctx}: {e:?}");
        let e = (t.run)(g, &input[1..], &packed, act, &mut out).unwrap_err();
        assert!(matches!(e, KernelError::LengthMismatch { what: "input", .. }), "{ctx}: {e:?}");
        let bad = Activation::Clamp { min: 1.0, max: 0.0 };
        let e = (t.run)(g, &input, &packed, bad, &mut out).unwrap_err();
        assert!(matches!(e, KernelError::InvalidClamp { .. }), "{ctx}: {e:?}");
        assert!(out.iter().all(|&v| v == S), "{ctx}: run wrote on error");
        let mut out_short = vec![S; d.output_len - 1];
        let e = (t.run)(g, &input, &packed, act, &mut out_short).unwrap_err();
        assert!(matches!(e, KernelError::LengthMismatch { what: "output", .. }), "{ctx}: {e:?}");
        assert!(out_short.iter().all(|&v| v == S), "{ctx}: run wrote on error");
        let mut out_long = vec![S; d.output_len + 1];
        let e = (t.run)(g, &input, &packed, act, &mut out_long).unwrap_err();
        assert!(matches!(e, KernelError::LengthMismatch { what: "output", .. }), "{ctx}: {e:?}");
        assert!(out_long.iter().all(|&v| v == S), "{ctx}: run wrote on error");
        // And the good call works.
        (t.run)(g, &input, &packed, act, &mut out).unwrap();
    }

    // Invalid geometries are rejected by every entry point.
    let bad = Conv2dGeometry::new(1, 4, 4, 6, 8, 3, 3).with_groups(4);
    assert!(matches!((t.packed_len)(&bad), Err(KernelError::GroupsMismatch { .. })));
    let mut p = vec![S; 16];
    assert!(matches!((t.pack)(&bad, &[0.0; 24], None, &mut p), Err(KernelError::GroupsMismatch { .. })));
    let mut out = vec![S; 8];
    assert!(matches!(
        (t.run)(&bad, &[0.0; 96], &p, Activation::None, &mut out),
        Err(KernelError::GroupsMismatch { .. })
    ));
    let big = Conv2dGeometry::new(1, 2, 2, 4, 4, 5, 5);
    assert!(matches!((t.packed_len)(&big), Err(KernelError::KernelLargerThanInput { .. })));
    assert!(p.iter().chain(&out).all(|&v| v == S));
}

#[test]
fn portable_error_paths() {
    error_paths(PORTABLE);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn avx2_error_paths() {
    if avx2_here() {
        error_paths(AVX2);
    } else {
        avx2_reports_unavailable();
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn avx512_error_paths() {
    if avx512_here() {
        error_paths(AVX512);
    } else {
        avx512_reports_unavailable();
    }
}

/// A wide geometry (one group of 3 → 40 channels: a 32-lane and a 16-lane block) and a narrow
/// one (4 groups of 2 channels, delegated to the AVX2 kernel).
#[cfg(target_arch = "x86_64")]
fn avx512_probe_geometries() -> [Conv2dGeometry; 2] {
    [
        Conv2dGeometry::new(1, 5, 7, 3, 40, 3, 3).with_stride(2, 1).with_padding(Padding2d::uniform(1)),
        Conv2dGeometry::new(1, 4, 9, 8, 8, 3, 3).with_padding(Padding2d::uniform(1)).with_groups(4),
    ]
}

/// The AVX-512 tier either runs (the wide plan with its own 32/16-lane layout, the narrow plan
/// with exactly the AVX2 tier's packed buffer, both matching the reference) or, on a CPU
/// without AVX-512F, refuses with `IsaUnavailable { isa: "avx512" }` and writes nothing.
#[cfg(target_arch = "x86_64")]
#[test]
fn avx512_runs_or_reports_unavailable() {
    let [wide, narrow] = avx512_probe_geometries();
    // (kh·kw·cin_g + 1) · (32 + 16) floats: bias + weights of a 32- and a 16-lane block.
    assert_eq!((AVX512.packed_len)(&wide).unwrap(), 28 * 48);
    assert_eq!((AVX512.packed_len)(&narrow).unwrap(), (AVX2.packed_len)(&narrow).unwrap());
    if !avx512_here() {
        avx512_reports_unavailable();
        return;
    }
    for (k, g) in [wide, narrow].iter().enumerate() {
        let mut r = rng(90 + k as u64);
        let d = g.validate().unwrap();
        let input = rand_vec(&mut r, d.input_len);
        let weights = rand_vec(&mut r, d.weight_len);
        let bias = rand_vec(&mut r, g.out_c);
        let c = Case::new(*g, input, weights.clone(), Some(bias.clone()));
        check_tier(AVX512, &c, Activation::Relu, &describe(g));
        if k == 1 {
            let len = (AVX512.packed_len)(g).unwrap();
            let (mut a, mut b) = (vec![f32::NAN; len], vec![f32::NAN; len]);
            (AVX512.pack)(g, &weights, Some(&bias), &mut a).unwrap();
            (AVX2.pack)(g, &weights, Some(&bias), &mut b).unwrap();
            assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()), "narrow layout differs");
        }
    }
}

/// On an x86_64 CPU without AVX-512F, pack and run refuse with `IsaUnavailable` (for both
/// plans, including the narrow one that runs AVX2 code) and write nothing.
#[cfg(target_arch = "x86_64")]
fn avx512_reports_unavailable() {
    for g in avx512_probe_geometries() {
        let d = g.validate().unwrap();
        let len = (AVX512.packed_len)(&g).unwrap();
        let mut packed = vec![-1.0; len];
        let e = (AVX512.pack)(&g, &vec![0.0; d.weight_len], None, &mut packed).unwrap_err();
        assert_eq!(e, KernelError::IsaUnavailable { isa: "avx512" });
        assert!(packed.iter().all(|&v| v == -1.0));
        let mut out = vec![-1.0; d.output_len];
        let e = (AVX512.run)(&g, &vec![0.0; d.input_len], &packed, Activation::None, &mut out).unwrap_err();
        assert_eq!(e, KernelError::IsaUnavailable { isa: "avx512" });
        assert!(out.iter().all(|&v| v == -1.0));
    }
}

/// On an x86_64 CPU without AVX2+FMA, pack and run refuse with `IsaUnavailable` and write
/// nothing.
#[cfg(target_arch = "x86_64")]
fn avx2_reports_unavailable() {
    let g = Conv2dGeometry::new(1, 4, 4, 8, 8, 3, 3).with_padding(Padding2d::uniform(1)).with_groups(2);
    let d = g.validate().unwrap();
    let len = (AVX2.packed_len)(&g).unwrap();
    let mut packed = vec![-1.0; len];
    let e = (AVX2.pack)(&g, &vec![0.0; d.weight_len], None, &mut packed).unwrap_err();
    assert_eq!(e, KernelError::IsaUnavailable { isa: "avx2" });
    assert!(packed.iter().all(|&v| v == -1.0));
    let mut out = vec![-1.0; d.output_len];
    let e = (AVX2.run)(&g, &vec![0.0; d.input_len], &packed, Activation::None, &mut out).unwrap_err();
    assert_eq!(e, KernelError::IsaUnavailable { isa: "avx2" });
    assert!(out.iter().all(|&v| v == -1.0));
}

#[cfg(target_arch = "aarch64")]
#[test]
fn neon_error_paths() {
    if neon_here() {
        error_paths(NEON);
    } else {
        neon_reports_unavailable();
    }
}

/// On an aarch64 CPU without NEON, pack and run refuse with `IsaUnavailable` and write
/// nothing.
#[cfg(target_arch = "aarch64")]
fn neon_reports_unavailable() {
    let g = Conv2dGeometry::new(1, 4, 4, 8, 8, 3, 3).with_padding(Padding2d::uniform(1)).with_groups(2);
    let d = g.validate().unwrap();
    let len = (NEON.packed_len)(&g).unwrap();
    let mut packed = vec![-1.0; len];
    let e = (NEON.pack)(&g, &vec![0.0; d.weight_len], None, &mut packed).unwrap_err();
    assert_eq!(e, KernelError::IsaUnavailable { isa: "neon" });
    assert!(packed.iter().all(|&v| v == -1.0));
    let mut out = vec![-1.0; d.output_len];
    let e = (NEON.run)(&g, &vec![0.0; d.input_len], &packed, Activation::None, &mut out).unwrap_err();
    assert_eq!(e, KernelError::IsaUnavailable { isa: "neon" });
    assert!(out.iter().all(|&v| v == -1.0));
}

/// The exact standard layers, once each, on the NEON tier. The kernel computes every output;
/// the f64 oracle (too slow for 100+ M multiply-adds under qemu) checks a sample of them:
/// every channel of every pixel in the two outermost rows and columns on each side (all the
/// border cases) plus 48 random pixels, with the same tolerance as everywhere else.
#[cfg(target_arch = "aarch64")]
#[test]
fn neon_standard_layers_full_size() {
    if !neon_here() {
        neon_reports_unavailable();
        return;
    }
    let layers = [
        ("gc_c128_g4_56", standard(128, 4, 56), 21),
        ("gc_c256_g8_28", standard(256, 8, 28), 22),
        ("gc_c64_g32_56", standard(64, 32, 56), 23),
        ("stem SAME", stem(224, SAME_224), 24),
        ("stem pad 1", stem(224, Padding2d::uniform(1)), 25),
    ];
    for (name, g, seed) in layers {
        sampled_check(NEON, &g, seed, &format!("{name}: seed {seed}, {}", describe(&g)));
    }
}

/// Runs `tier` on the full geometry `g` (random data from `seed`, with bias, ReLU) and checks
/// the border pixels plus random interior pixels against an f64 oracle, and that every output
/// was written (finite: the buffer starts as NaN and ReLU keeps finite values finite).
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn sampled_check(tier: Tier, g: &Conv2dGeometry, seed: u64, ctx: &str) {
    let mut r = rng(seed);
    let d = g.validate().unwrap();
    let input = rand_vec(&mut r, d.input_len);
    let weights = rand_vec(&mut r, d.weight_len);
    let bias = rand_vec(&mut r, g.out_c);
    let act = Activation::Relu;
    let mut packed = vec![f32::NAN; (tier.packed_len)(g).unwrap()];
    (tier.pack)(g, &weights, Some(&bias), &mut packed).unwrap();
    let mut out = vec![f32::NAN; d.output_len];
    (tier.run)(g, &input, &packed, act, &mut out).unwrap();
    if let Some(i) = out.iter().position(|v| !v.is_finite()) {
        panic!("{ctx} [{}]: output element {i} is {} (not written?)", tier.name, out[i]);
    }
    let (oh, ow) = (d.out_h, d.out_w);
    let border = |v: usize, n: usize| v < 2 || v + 2 >= n;
    let mut pixels: Vec<(usize, usize, usize)> = Vec::new();
    for n in 0..g.batch {
        for oy in 0..oh {
            for ox in 0..ow {
                if border(oy, oh) || border(ox, ow) {
                    pixels.push((n, oy, ox));
                }
            }
        }
    }
    for _ in 0..48 {
        pixels.push((r.random_range(0..g.batch), r.random_range(0..oh), r.random_range(0..ow)));
    }
    let (cin_g, cout_g) = (g.in_c / g.groups, g.out_c / g.groups);
    let p = g.padding;
    for (n, oy, ox) in pixels {
        for oc in 0..g.out_c {
            let first_ic = (oc / cout_g) * cin_g;
            let b = f64::from(bias[oc]);
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
                        let w = f64::from(weights[((oc * g.kernel_h + ky) * g.kernel_w + kx) * cin_g + i]);
                        v += x * w;
                        m += (x * w).abs();
                    }
                }
            }
            let e = act.apply(v as f32);
            let a = out[((n * oh + oy) * ow + ox) * g.out_c + oc];
            let diff = (f64::from(a) - f64::from(e)).abs();
            assert!(
                a.is_finite() && diff <= TOL * m,
                "{ctx} [{}]: pixel ({n}, {oy}, {ox}) channel {oc}: got {a}, expected {e}, \
                 |diff| = {diff:e} > {TOL:e} · M = {:e}",
                tier.name,
                TOL * m
            );
        }
    }
}
