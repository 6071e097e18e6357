//! The SIMD pointwise (1×1 conv = GEMM) kernels against the reference oracle, through the
//! packed contract (`pointwise_packed_len` / `pointwise_pack` / `pointwise_run`) of each tier:
//! portable always; AVX2 on x86_64 (run when the CPU has AVX2+FMA, else it must answer
//! `IsaUnavailable`); AVX-512 likewise (AVX-512F); NEON on aarch64 (run when the CPU has NEON, else it must answer
//! `IsaUnavailable`; under qemu it runs).
//!
//! Tolerance: each output within `1e-5 · (|bias| + Σ_k |x·w|)` of the reference (which
//! accumulates in `f64` and rounds once). The kernels accumulate in `f32` (FMA or mul+add), so
//! they are off by at most about `K · 2^-24` of that magnitude in the worst case and by far less
//! for random data; a missing, doubled or misplaced term moves a result by a whole `|x·w|`,
//! which this catches. NaN must come out exactly where the reference has NaN.
//!
//! Shapes sweep every tile remainder: M 1–50 (every row-tile size 1–8 (1–12 for AVX-512) and
//! the even splits), K 1–70 and a few K up to 700 (larger than the AVX2 K block of 170–512
//! rows and the AVX-512 one of 85–256, so the
//! accumulate-into-C path runs; the NEON K block is 512 rows, crossed by every K > 512 here),
//! N 1–70 (every last-panel width 8/16/24 of AVX2, 16/32/48 of AVX-512 and 4/8 of NEON, every
//! masked / partial lane
//! count, several panels), M large enough to cross the NEON M block (128 KiB of A rows), all
//! four activations, with and without bias; plus the seven standard-set layers and the error
//! paths.

mod common;

use common::{rand_act, rand_bias, rand_vec, rng};
use rand::RngExt;
use sepconv_kernels::{Activation, KernelError, PointwiseShape, portable, reference};

/// Relative tolerance (see the module docs).
const TOL: f64 = 1e-5;
/// Written around and into every output buffer to detect stray or missing writes.
const SENTINEL: f32 = -12345.625;
/// Guard elements on each side of the output slice.
const GUARD: usize = 16;

type LenFn = fn(&PointwiseShape) -> Result<usize, KernelError>;
type PackFn = fn(&PointwiseShape, &[f32], Option<&[f32]>, &mut [f32]) -> Result<(), KernelError>;
type RunFn = fn(&PointwiseShape, &[f32], &[f32], Activation, &mut [f32]) -> Result<(), KernelError>;

/// One tier's packed contract.
#[derive(Clone, Copy)]
struct Tier {
    name: &'static str,
    len: LenFn,
    pack: PackFn,
    run: RunFn,
    /// The packed width is `out_c` rounded up to a multiple of this (8 columns for
    /// portable/AVX2, 4 for NEON's 8-or-4-column panels).
    pad: usize,
}

const PORTABLE: Tier = Tier {
    name: "portable",
    len: portable::pointwise::pointwise_packed_len,
    pack: portable::pointwise::pointwise_pack,
    run: portable::pointwise::pointwise_run,
    pad: 8,
};

#[cfg(target_arch = "x86_64")]
const AVX2: Tier = Tier {
    name: "avx2",
    len: sepconv_kernels::x86_64::pointwise::pointwise_packed_len,
    pack: sepconv_kernels::x86_64::pointwise::pointwise_pack,
    run: sepconv_kernels::x86_64::pointwise::pointwise_run,
    pad: 8,
};

#[cfg(target_arch = "x86_64")]
fn has_avx2() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}

#[cfg(target_arch = "x86_64")]
const AVX512: Tier = Tier {
    name: "avx512",
    len: sepconv_kernels::avx512::pointwise::pointwise_packed_len,
    pack: sepconv_kernels::avx512::pointwise::pointwise_pack,
    run: sepconv_kernels::avx512::pointwise::pointwise_run,
    pad: 16,
};

#[cfg(target_arch = "x86_64")]
fn has_avx512() -> bool {
    has_avx2() && std::is_x86_feature_detected!("avx512f")
}

#[cfg(target_arch = "aarch64")]
const NEON: Tier = Tier {
    name: "neon",
    len: sepconv_kernels::aarch64::pointwise::pointwise_packed_len,
    pack: sepconv_kernels::aarch64::pointwise::pointwise_pack,
    run: sepconv_kernels::aarch64::pointwise::pointwise_run,
    pad: 4,
};

#[cfg(target_arch = "aarch64")]
fn has_neon() -> bool {
    std::arch::is_aarch64_feature_detected!("neon")
}

/// The tiers that must run on this machine.
fn tiers() -> Vec<Tier> {
    #[allow(unused_mut)]
    let mut t = vec![PORTABLE];
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        t.push(AVX2);
    }
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        t.push(AVX512);
    }
    #[cfg(target_arch = "aarch64")]
    if has_neon() {
        t.push(NEON);
    }
    t
}

/// One test case: shape, data, and the reference's answer with its magnitudes.
struct Case {
    s: PointwiseShape,
    input: Vec<f32>,
    weights: Vec<f32>,
    bias: Option<Vec<f32>>,
    act: Activation,
    expected: Vec<f32>,
    magnitude: Vec<f32>,
}

impl Case {
    fn new(
        s: PointwiseShape,
        input: Vec<f32>,
        weights: Vec<f32>,
        bias: Option<Vec<f32>>,
        act: Activation,
    ) -> Self {
        let mut expected = vec![0.0; s.pixels * s.out_c];
        reference::pointwise(&s, &input, &weights, bias.as_deref(), act, &mut expected).unwrap();
        // |bias| + Σ|x·w| is the reference GEMM on absolute values (f64 accumulation).
        let abs = |v: &[f32]| v.iter().map(|x| x.abs()).collect::<Vec<_>>();
        let abs_bias = bias.as_deref().map(abs);
        let mut magnitude = vec![0.0; expected.len()];
        reference::pointwise(
            &s,
            &abs(&input),
            &abs(&weights),
            abs_bias.as_deref(),
            Activation::None,
            &mut magnitude,
        )
        .unwrap();
        Case { s, input, weights, bias, act, expected, magnitude }
    }

    fn random(seed: u64, pixels: usize, in_c: usize, out_c: usize) -> Self {
        let mut r = rng(seed);
        let s = PointwiseShape { pixels, in_c, out_c };
        let input = rand_vec(&mut r, pixels * in_c);
        let weights = rand_vec(&mut r, out_c * in_c);
        let bias = rand_bias(&mut r, out_c);
        let act = rand_act(&mut r);
        Case::new(s, input, weights, bias, act)
    }

    /// Packs and runs `tier`, checks the result and that nothing was written outside `output`.
    fn check(&self, tier: Tier, ctx: &str) {
        let ctx = format!(
            "{ctx} tier={} pixels={} in_c={} out_c={} bias={} act={:?}",
            tier.name,
            self.s.pixels,
            self.s.in_c,
            self.s.out_c,
            self.bias.is_some(),
            self.act
        );
        let len = (tier.len)(&self.s).unwrap_or_else(|e| panic!("{ctx}: packed_len: {e}"));
        let mut packed = vec![f32::NAN; len];
        (tier.pack)(&self.s, &self.weights, self.bias.as_deref(), &mut packed)
            .unwrap_or_else(|e| panic!("{ctx}: pack: {e}"));
        assert!(packed.iter().all(|x| !x.is_nan()), "{ctx}: pack left elements unwritten");
        let n = self.expected.len();
        let mut buf = vec![SENTINEL; n + 2 * GUARD];
        (tier.run)(&self.s, &self.input, &packed, self.act, &mut buf[GUARD..GUARD + n])
            .unwrap_or_else(|e| panic!("{ctx}: run: {e}"));
        assert!(
            buf[..GUARD].iter().chain(&buf[GUARD + n..]).all(|x| x.to_bits() == SENTINEL.to_bits()),
            "{ctx}: wrote outside the output slice"
        );
        let got = &buf[GUARD..GUARD + n];
        for (i, ((&g, &e), &m)) in got.iter().zip(&self.expected).zip(&self.magnitude).enumerate() {
            let (p, o) = (i / self.s.out_c, i % self.s.out_c);
            if e.is_nan() || g.is_nan() {
                assert!(e.is_nan() && g.is_nan(), "{ctx}: pixel {p} channel {o}: got {g}, expected {e}");
                continue;
            }
            let diff = (f64::from(g) - f64::from(e)).abs();
            let tol = TOL * f64::from(m);
            assert!(
                diff <= tol,
                "{ctx}: pixel {p} channel {o}: got {g}, expected {e}, |diff| {diff:e} > tol {tol:e}"
            );
        }
    }
}

/// Runs `case` on every tier that must run here.
fn check_all(case: &Case, ctx: &str) {
    for tier in tiers() {
        case.check(tier, ctx);
    }
}

#[test]
fn random_small_shapes() {
    for seed in 0..400u64 {
        let mut r = rng(1_000 + seed);
        let (m, k, n) = (r.random_range(1..=50), r.random_range(1..=70), r.random_range(1..=70));
        check_all(&Case::random(seed, m, k, n), &format!("seed={seed}"));
    }
}

/// Every output-channel count 1–70 (every last-panel width and masked lane count) with every
/// row count 1–13 (each row-tile size and the first even splits).
#[test]
fn every_n_with_small_m() {
    for n in 1..=70 {
        for m in 1..=13 {
            let seed = (n * 100 + m) as u64;
            let k = rng(seed).random_range(1..=20);
            check_all(&Case::random(seed, m, k, n), &format!("seed={seed}"));
        }
    }
}

/// K larger than the AVX2 K block (16 KiB of panel: 512 rows at width 8, 256 at 16, 170 at
/// 24), so the partial sums go through the output and the activation is applied only by the
/// last block; N covers 1-, 2- and 3-vector panels and several panels.
#[test]
fn deep_k_blocked() {
    let shapes = [
        (7, 700, 5),
        (13, 600, 16),
        (9, 300, 24),
        (11, 520, 24),
        (17, 257, 17),
        (20, 513, 40),
        (5, 700, 70),
        (50, 345, 33),
        (1, 700, 9),
        (3, 1030, 12),
    ];
    for (i, &(m, k, n)) in shapes.iter().enumerate() {
        for rep in 0..4u64 {
            let seed = 50_000 + 10 * i as u64 + rep;
            check_all(&Case::random(seed, m, k, n), &format!("seed={seed}"));
        }
    }
}

/// All four activations on the same shapes, with and without bias, including a K-blocked one.
#[test]
fn every_activation_with_and_without_bias() {
    let acts = [
        Activation::None,
        Activation::Relu,
        Activation::Relu6,
        Activation::Clamp { min: -0.25, max: 0.5 },
        Activation::Clamp { min: f32::NEG_INFINITY, max: 0.0 },
    ];
    for &(m, k, n) in &[(23, 37, 45), (6, 300, 24), (8, 3, 8)] {
        for (ai, &act) in acts.iter().enumerate() {
            for with_bias in [false, true] {
                let seed = (m * 1000 + n * 10 + ai) as u64;
                let mut r = rng(seed);
                let s = PointwiseShape { pixels: m, in_c: k, out_c: n };
                // Scale up so that ReLU6 and the clamps actually clip.
                let input: Vec<f32> = rand_vec(&mut r, m * k).iter().map(|x| 4.0 * x).collect();
                let weights = rand_vec(&mut r, n * k);
                let bias = with_bias.then(|| rand_vec(&mut r, n));
                check_all(&Case::new(s, input, weights, bias, act), &format!("seed={seed}"));
            }
        }
    }
}

/// NaN and infinities in the input propagate like the reference (through every activation,
/// also across K blocks).
#[test]
fn nan_and_inf_propagate() {
    let acts =
        [Activation::None, Activation::Relu, Activation::Relu6, Activation::Clamp { min: -1.0, max: 1.0 }];
    for &(m, k, n) in &[(9, 20, 30), (7, 600, 24)] {
        for (ai, &act) in acts.iter().enumerate() {
            let seed = (m * 100 + ai) as u64;
            let mut r = rng(seed);
            let s = PointwiseShape { pixels: m, in_c: k, out_c: n };
            let mut input = rand_vec(&mut r, m * k);
            input[k + 3] = f32::NAN; // pixel 1
            input[3 * k + k / 2] = f32::INFINITY; // pixel 3: ±inf, or NaN where a weight is 0
            let weights = rand_vec(&mut r, n * k);
            let bias = Some(rand_vec(&mut r, n));
            let case = Case::new(s, input, weights, bias, act);
            for tier in tiers() {
                let len = (tier.len)(&s).unwrap();
                let mut packed = vec![0.0; len];
                (tier.pack)(&s, &case.weights, case.bias.as_deref(), &mut packed).unwrap();
                let mut out = vec![0.0; m * n];
                (tier.run)(&s, &case.input, &packed, act, &mut out).unwrap();
                let ctx = format!("seed={seed} tier={} m={m} k={k} n={n} act={act:?}", tier.name);
                for (i, (&g, &e)) in out.iter().zip(&case.expected).enumerate() {
                    let (p, o) = (i / n, i % n);
                    if p == 1 || p == 3 {
                        assert!(
                            (g.is_nan() && e.is_nan()) || g == e,
                            "{ctx}: pixel {p} channel {o}: got {g}, expected {e}"
                        );
                    } else {
                        let tol = TOL * f64::from(case.magnitude[i]);
                        assert!((f64::from(g) - f64::from(e)).abs() <= tol, "{ctx}: pixel {p} channel {o}");
                    }
                }
            }
        }
    }
}

/// The seven pointwise layers of the standard set (Cin × Cout at H = W, batch 1), once each.
#[test]
fn standard_set_shapes() {
    let layers = [
        ("pw_32x16_112", 32, 16, 112),
        ("pw_144x24_56", 144, 24, 56),
        ("pw_192x32_28", 192, 32, 28),
        ("pw_384x64_14", 384, 64, 14),
        ("pw_576x96_14", 576, 96, 14),
        ("pw_960x320_7", 960, 320, 7),
        ("pw_320x1280_7", 320, 1280, 7),
    ];
    for (i, &(name, cin, cout, hw)) in layers.iter().enumerate() {
        let seed = 900 + i as u64;
        let mut r = rng(seed);
        let s = PointwiseShape { pixels: hw * hw, in_c: cin, out_c: cout };
        let input = rand_vec(&mut r, s.pixels * cin);
        let weights = rand_vec(&mut r, cout * cin);
        let bias = Some(rand_vec(&mut r, cout));
        check_all(&Case::new(s, input, weights, bias, Activation::Relu6), &format!("{name} seed={seed}"));
    }
}

// --- Packed length and layout-independent facts --------------------------------------------

#[test]
fn packed_len_is_k_plus_one_times_padded_n() {
    for tier in tiers() {
        // (k, n, length when padded to 8 columns, to 4, to 16)
        for (k, n, want8, want4, want16) in [
            (1, 1, 16, 8, 32),
            (3, 8, 32, 32, 64),
            (3, 9, 64, 48, 64),
            (10, 24, 264, 264, 352),
            (2, 33, 120, 108, 144),
        ] {
            let want = match tier.pad {
                8 => want8,
                4 => want4,
                _ => want16,
            };
            let s = PointwiseShape { pixels: 5, in_c: k, out_c: n };
            assert_eq!((tier.len)(&s), Ok(want), "tier={} k={k} n={n}", tier.name);
        }
        let huge = PointwiseShape { pixels: 1, in_c: usize::MAX / 8, out_c: 8 };
        assert_eq!((tier.len)(&huge), Err(KernelError::Overflow { what: "packed length" }), "{}", tier.name);
    }
}

// --- Error paths -----------------------------------------------------------------------------

/// pointwise fixture: 5 pixels, 3 → 4 channels; input 15, weights 12, bias 4, output 20.
const PW: PointwiseShape = PointwiseShape { pixels: 5, in_c: 3, out_c: 4 };

fn len_mismatch(what: &'static str, expected: usize, actual: usize) -> KernelError {
    KernelError::LengthMismatch { what, expected, actual }
}

/// Calls `run` with the given lengths on an output of sentinels; returns the error and checks
/// that nothing was written.
#[track_caller]
fn run_err(
    tier: Tier,
    s: PointwiseShape,
    input: usize,
    packed: usize,
    output: usize,
    act: Activation,
) -> KernelError {
    let mut out = vec![SENTINEL; output];
    let err = (tier.run)(&s, &vec![1.0; input], &vec![0.5; packed], act, &mut out)
        .expect_err("run accepted invalid arguments");
    assert!(
        out.iter().all(|v| v.to_bits() == SENTINEL.to_bits()),
        "{}: output written before {err:?}",
        tier.name
    );
    err
}

/// Calls `pack` with the given lengths on a buffer of sentinels; returns the error and checks
/// that nothing was written.
#[track_caller]
fn pack_err(
    tier: Tier,
    s: PointwiseShape,
    weights: usize,
    bias: Option<usize>,
    packed: usize,
) -> KernelError {
    let mut buf = vec![SENTINEL; packed];
    let b = bias.map(|n| vec![0.25; n]);
    let err = (tier.pack)(&s, &vec![1.0; weights], b.as_deref(), &mut buf)
        .expect_err("pack accepted invalid arguments");
    assert!(
        buf.iter().all(|v| v.to_bits() == SENTINEL.to_bits()),
        "{}: packed written before {err:?}",
        tier.name
    );
    err
}

#[test]
fn error_paths() {
    let none = Activation::None;
    for tier in tiers() {
        let plen = (tier.len)(&PW).unwrap();
        assert_eq!(plen, 4 * PW.out_c.next_multiple_of(tier.pad));
        // A length this tier does not use: the reference layout's (12 + 4) for the 8-column
        // tiers, the 8-column tiers' 32 for NEON (whose own length is 16).
        let other = if plen == 12 + 4 { 4 * 8 } else { 12 + 4 };
        // The fixture itself is valid.
        let mut packed = vec![0.0; plen];
        (tier.pack)(&PW, &[1.0; 12], Some(&[0.5; 4]), &mut packed).unwrap();
        let mut out = vec![0.0; 20];
        (tier.run)(&PW, &[1.0; 15], &packed, none, &mut out).unwrap();
        assert!(out.iter().all(|&v| v == 3.5), "{}: {out:?}", tier.name);

        // run: each slice of the wrong length, then bad shapes and a bad clamp.
        assert_eq!(run_err(tier, PW, 14, plen, 20, none), len_mismatch("input", 15, 14));
        assert_eq!(run_err(tier, PW, 16, plen, 20, none), len_mismatch("input", 15, 16));
        assert_eq!(run_err(tier, PW, 15, plen - 1, 20, none), len_mismatch("packed", plen, plen - 1));
        assert_eq!(run_err(tier, PW, 15, other, 20, none), len_mismatch("packed", plen, other));
        assert_eq!(run_err(tier, PW, 15, plen, 19, none), len_mismatch("output", 20, 19));
        assert_eq!(run_err(tier, PW, 15, plen, 21, none), len_mismatch("output", 20, 21));
        for (s, what) in [
            (PointwiseShape { pixels: 0, ..PW }, "pixels"),
            (PointwiseShape { in_c: 0, ..PW }, "in_c"),
            (PointwiseShape { out_c: 0, ..PW }, "out_c"),
        ] {
            assert_eq!(run_err(tier, s, 15, plen, 20, none), KernelError::Zero { what });
            assert_eq!(pack_err(tier, s, 12, None, plen), KernelError::Zero { what });
            assert_eq!((tier.len)(&s), Err(KernelError::Zero { what }));
        }
        let bad = Activation::Clamp { min: 1.0, max: -1.0 };
        assert_eq!(run_err(tier, PW, 15, plen, 20, bad), KernelError::InvalidClamp { min: 1.0, max: -1.0 });
        let nan = Activation::Clamp { min: f32::NAN, max: 1.0 };
        assert!(matches!(run_err(tier, PW, 15, plen, 20, nan), KernelError::InvalidClamp { .. }));
        let overflow = PointwiseShape { pixels: usize::MAX / 2, in_c: 3, out_c: 4 };
        assert!(matches!(run_err(tier, overflow, 15, plen, 20, none), KernelError::Overflow { .. }));

        // pack: weights, bias and packed of the wrong length.
        assert_eq!(pack_err(tier, PW, 11, None, plen), len_mismatch("weights", 12, 11));
        assert_eq!(pack_err(tier, PW, 12, Some(3), plen), len_mismatch("bias", 4, 3));
        assert_eq!(pack_err(tier, PW, 12, Some(5), plen), len_mismatch("bias", 4, 5));
        assert_eq!(pack_err(tier, PW, 12, Some(4), plen + 1), len_mismatch("packed", plen, plen + 1));
        assert_eq!(pack_err(tier, PW, 12, None, other), len_mismatch("packed", plen, other));
    }
}

/// Without AVX-512F the AVX-512 entry points refuse to run (after validating their arguments).
#[cfg(target_arch = "x86_64")]
#[test]
fn avx512_runs_or_reports_unavailable() {
    let plen = (AVX512.len)(&PW).unwrap();
    assert_eq!(plen, 4 * 16);
    let mut packed = vec![0.0; plen];
    let mut out = vec![SENTINEL; 20];
    let pack = (AVX512.pack)(&PW, &[1.0; 12], None, &mut packed);
    let run = (AVX512.run)(&PW, &[1.0; 15], &packed, Activation::None, &mut out);
    if has_avx512() {
        assert_eq!(pack, Ok(()));
        assert_eq!(run, Ok(()));
        assert!(out.iter().all(|&v| v == 3.0), "{out:?}");
    } else {
        let unavailable = Err(KernelError::IsaUnavailable { isa: "avx512" });
        assert_eq!(pack, unavailable);
        assert_eq!(run, unavailable);
        assert!(out.iter().all(|v| v.to_bits() == SENTINEL.to_bits()));
    }
}

/// Without AVX2+FMA the AVX2 entry points refuse to run (after validating their arguments).
#[cfg(target_arch = "x86_64")]
#[test]
fn avx2_runs_or_reports_unavailable() {
    let plen = (AVX2.len)(&PW).unwrap();
    let mut packed = vec![0.0; plen];
    let mut out = vec![SENTINEL; 20];
    let pack = (AVX2.pack)(&PW, &[1.0; 12], None, &mut packed);
    let run = (AVX2.run)(&PW, &[1.0; 15], &packed, Activation::None, &mut out);
    if has_avx2() {
        assert_eq!(pack, Ok(()));
        assert_eq!(run, Ok(()));
        assert!(out.iter().all(|&v| v == 3.0), "{out:?}");
    } else {
        let unavailable = Err(KernelError::IsaUnavailable { isa: "avx2" });
        assert_eq!(pack, unavailable);
        assert_eq!(run, unavailable);
        assert!(out.iter().all(|v| v.to_bits() == SENTINEL.to_bits()));
    }
}

/// M larger than the NEON M block (128 KiB of A rows per K block: 88 rows at K block 344-350,
/// 1024 rows at K = 32), together with K blocking and partial last vectors, so the partial sums
/// of several M blocks go through C and every M block's tail tile runs.
#[test]
fn m_blocks_cross() {
    for (i, &(m, k, n)) in [(200, 700, 13), (97, 1030, 8), (130, 1100, 6), (1030, 32, 5)].iter().enumerate() {
        let seed = 70_000 + i as u64;
        check_all(&Case::random(seed, m, k, n), &format!("seed={seed}"));
    }
}

/// On aarch64 the NEON entry points run when the CPU has NEON (always, under qemu too) and
/// must otherwise refuse with `IsaUnavailable` (after validating their arguments).
#[cfg(target_arch = "aarch64")]
#[test]
fn neon_runs_or_reports_unavailable() {
    let plen = (NEON.len)(&PW).unwrap();
    assert_eq!(plen, 4 * 4);
    let mut packed = vec![0.0; plen];
    let mut out = vec![SENTINEL; 20];
    let pack = (NEON.pack)(&PW, &[1.0; 12], None, &mut packed);
    let run = (NEON.run)(&PW, &[1.0; 15], &packed, Activation::None, &mut out);
    if has_neon() {
        assert_eq!(pack, Ok(()));
        assert_eq!(run, Ok(()));
        assert!(out.iter().all(|&v| v == 3.0), "{out:?}");
    } else {
        let unavailable = Err(KernelError::IsaUnavailable { isa: "neon" });
        assert_eq!(pack, unavailable);
        assert_eq!(run, unavailable);
        assert!(out.iter().all(|v| v.to_bits() == SENTINEL.to_bits()));
    }
}

/// The NEON packed layout itself (module docs of `aarch64::pointwise`): 8-column panels, a
/// 4-column last panel when at most 4 columns are left, bias at each panel's head, zeros past
/// `out_c`.
#[cfg(target_arch = "aarch64")]
#[test]
fn neon_packed_layout() {
    if !has_neon() {
        return; // neon_runs_or_reports_unavailable covers this case.
    }
    for &(k, n) in &[(3, 1), (2, 4), (3, 5), (2, 8), (5, 12), (4, 13), (1, 19)] {
        let s = PointwiseShape { pixels: 1, in_c: k, out_c: n };
        let weights: Vec<f32> = (0..n * k).map(|i| 1.0 + i as f32).collect();
        let bias: Vec<f32> = (0..n).map(|i| -1.0 - i as f32).collect();
        let mut packed = vec![f32::NAN; (NEON.len)(&s).unwrap()];
        (NEON.pack)(&s, &weights, Some(&bias), &mut packed).unwrap();
        let mut want = Vec::new();
        let mut n0 = 0;
        while n0 < n {
            let w = if n - n0 <= 4 { 4 } else { 8 };
            want.extend((n0..n0 + w).map(|o| if o < n { bias[o] } else { 0.0 }));
            for kk in 0..k {
                want.extend((n0..n0 + w).map(|o| if o < n { weights[o * k + kk] } else { 0.0 }));
            }
            n0 += w;
        }
        assert_eq!(packed, want, "k={k} n={n}");
    }
}
