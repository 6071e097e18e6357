//! The portable (`wide`), AVX2 and NEON separable passes (row 1×k, column k×1) against the
//! scalar reference: randomized geometries, the standard benchmark shapes, and the error paths.
//!
//! Tolerance: each output is within `1e-5 · M` of the reference, `M = |bias| + Σ|x·w|` over the
//! taps that fall inside the input (computed here in `f64`). The reference accumulates in
//! `f64` and rounds once; an `f32` kernel with FMA (or separate multiply and add on `wide`'s
//! non-FMA targets) is within about `(k + 1)·2^-24·M` of the exact sum, i.e. < 1e-6·M for
//! k <= 15, so 1e-5 leaves a wide margin and still catches any missing or misplaced tap (which
//! moves a result by a whole `|x·w|` term). Where `M == 0` the results must be equal.
//!
//! The inputs live in the middle of larger buffers whose surroundings are NaN (a read outside
//! the input slice would poison some output), and the outputs in the middle of buffers whose
//! surroundings are a sentinel that must survive (a write outside the output slice).

mod common;

use common::rng;
use rand::{RngExt, rngs::StdRng};
use sepconv_kernels::{Activation, KernelError, SeparableAxis, SeparablePassGeometry, portable, reference};

const TOL: f64 = 1e-5;
const SENTINEL: f32 = -12345.625;
const GUARD: usize = 19;

type PackedLen = fn(&SeparablePassGeometry) -> Result<usize, KernelError>;
type Pack = fn(&SeparablePassGeometry, &[f32], Option<&[f32]>, &mut [f32]) -> Result<(), KernelError>;
type Run = fn(&SeparablePassGeometry, &[f32], &[f32], Activation, &mut [f32]) -> Result<(), KernelError>;

/// One tier's implementation of the packed contract.
#[derive(Clone, Copy)]
struct Tier {
    name: &'static str,
    packed_len: PackedLen,
    pack: Pack,
    row: Run,
    col: Run,
}

const PORTABLE: Tier = Tier {
    name: "portable",
    packed_len: portable::separable::separable_packed_len,
    pack: portable::separable::separable_pack,
    row: portable::separable::row_pass_run,
    col: portable::separable::col_pass_run,
};

#[cfg(target_arch = "x86_64")]
const AVX2: Tier = Tier {
    name: "avx2",
    packed_len: sepconv_kernels::x86_64::separable::separable_packed_len,
    pack: sepconv_kernels::x86_64::separable::separable_pack,
    row: sepconv_kernels::x86_64::separable::row_pass_run,
    col: sepconv_kernels::x86_64::separable::col_pass_run,
};

#[cfg(target_arch = "aarch64")]
const NEON: Tier = Tier {
    name: "neon",
    packed_len: sepconv_kernels::aarch64::separable::separable_packed_len,
    pack: sepconv_kernels::aarch64::separable::separable_pack,
    row: sepconv_kernels::aarch64::separable::row_pass_run,
    col: sepconv_kernels::aarch64::separable::col_pass_run,
};

#[cfg(target_arch = "x86_64")]
fn avx2_present() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}

/// `|bias| + Σ|x·w|` per output element, over the taps inside the input (the tolerance scale).
fn magnitudes(g: &SeparablePassGeometry, input: &[f32], w: &[f32], bias: Option<&[f32]>) -> Vec<f64> {
    let d = g.validate().unwrap();
    let c = g.channels;
    let mut m = Vec::with_capacity(d.output_len);
    for n in 0..g.batch {
        for oy in 0..d.out_h {
            for ox in 0..d.out_w {
                for ch in 0..c {
                    let mut acc = bias.map_or(0.0, |b| f64::from(b[ch]).abs());
                    for t in 0..g.kernel {
                        let (iy, ix) = match g.axis {
                            SeparableAxis::Row => {
                                (oy as i64, (ox * g.stride + t * g.dilation) as i64 - g.pad_before as i64)
                            }
                            SeparableAxis::Column => {
                                ((oy * g.stride + t * g.dilation) as i64 - g.pad_before as i64, ox as i64)
                            }
                        };
                        if iy < 0 || ix < 0 || iy >= g.in_h as i64 || ix >= g.in_w as i64 {
                            continue;
                        }
                        let x = input[((n * g.in_h + iy as usize) * g.in_w + ix as usize) * c + ch];
                        acc += (f64::from(x) * f64::from(w[t * c + ch])).abs();
                    }
                    m.push(acc);
                }
            }
        }
    }
    m
}

fn rand_vec(r: &mut StdRng, n: usize) -> Vec<f32> {
    (0..n).map(|_| r.random_range(-1.0f32..1.0)).collect()
}

fn rand_act(r: &mut StdRng) -> Activation {
    match r.random_range(0..4) {
        0 => Activation::None,
        1 => Activation::Relu,
        2 => Activation::Relu6,
        _ => {
            let a = r.random_range(-1.5f32..0.5);
            let b = r.random_range(a..1.5f32);
            Activation::Clamp { min: a, max: b }
        }
    }
}

/// Runs one pass of `tier` and the reference on the same data; panics (naming `ctx`) on a
/// mismatch, an output-guard write, or a NaN from a read outside the input. Returns the
/// tier's output.
#[allow(clippy::too_many_arguments)]
fn check_pass(
    tier: Tier,
    g: &SeparablePassGeometry,
    input: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    shift: usize,
    ctx: &str,
) -> Vec<f32> {
    let d = g.validate().unwrap();
    let (reference_run, run): (fn(_, _, _, _, _, _) -> _, Run) = match g.axis {
        SeparableAxis::Row => (reference::row_pass, tier.row),
        SeparableAxis::Column => (reference::col_pass, tier.col),
    };
    let mut expected = vec![0.0f32; d.output_len];
    reference_run(g, input, w, bias, act, &mut expected).unwrap();

    let mut packed = vec![f32::NAN; (tier.packed_len)(g).unwrap()];
    (tier.pack)(g, w, bias, &mut packed).unwrap();
    // `shift` moves both slices relative to the allocations' alignment.
    let (gi, go) = (GUARD + shift, GUARD + 2 * shift % 8);
    let mut in_buf = vec![f32::NAN; input.len() + 2 * gi];
    in_buf[gi..gi + input.len()].copy_from_slice(input);
    let mut out_buf = vec![SENTINEL; d.output_len + 2 * go];
    run(g, &in_buf[gi..gi + input.len()], &packed, act, &mut out_buf[go..go + d.output_len])
        .unwrap_or_else(|e| panic!("{ctx}: {} failed: {e}", tier.name));
    assert!(
        out_buf[..go].iter().chain(&out_buf[go + d.output_len..]).all(|v| v.to_bits() == SENTINEL.to_bits()),
        "{ctx}: {} wrote outside the output slice",
        tier.name
    );
    let got = out_buf[go..go + d.output_len].to_vec();
    let mag = magnitudes(g, input, w, bias);
    for (i, ((&a, &e), &m)) in got.iter().zip(&expected).zip(&mag).enumerate() {
        let diff = (f64::from(a) - f64::from(e)).abs();
        assert!(
            a.is_finite() && diff <= TOL * m,
            "{ctx}: {}: element {i} (n,y,x,c = {:?}): got {a}, expected {e}, |diff| {diff:e} > {:e} \
             (M = {m:e})",
            tier.name,
            unflatten(g, i),
            TOL * m
        );
    }
    got
}

fn unflatten(g: &SeparablePassGeometry, i: usize) -> (usize, usize, usize, usize) {
    let d = g.validate().unwrap();
    let c = g.channels;
    (i / (d.out_h * d.out_w * c), i / (d.out_w * c) % d.out_h, i / c % d.out_w, i % c)
}

/// A random valid geometry: C in 1..=40 (1 a quarter of the time, with the pass's axis up to
/// ~70 long so the W-vectorized path and its remainders run), other extents 1–9, k in 1..=15
/// (the usual 1, 2, 3, 5, 7, 15 more often), stride 1–3, dilation 1–2, pads 0–7, batch 1–2.
fn rand_geometry(r: &mut StdRng) -> SeparablePassGeometry {
    loop {
        let axis = if r.random_bool(0.5) { SeparableAxis::Row } else { SeparableAxis::Column };
        let single = r.random_bool(0.25);
        let channels = if single { 1 } else { r.random_range(1..=40) };
        let mut in_h = r.random_range(1..=9);
        let mut in_w = r.random_range(1..=9);
        if single {
            // C == 1: long rows for the W-vectorized flat path (both passes), and for the
            // column pass some taller images too.
            in_w = r.random_range(1..=70);
            if axis == SeparableAxis::Column && r.random_bool(0.5) {
                in_h = r.random_range(1..=24);
            }
        } else if r.random_bool(0.2) {
            match axis {
                SeparableAxis::Row => in_w = r.random_range(10..=24),
                SeparableAxis::Column => in_h = r.random_range(10..=24),
            }
        }
        let kernel = if r.random_bool(0.5) {
            [1, 2, 3, 5, 7, 15][r.random_range(0..6)]
        } else {
            r.random_range(1..=15)
        };
        let g = SeparablePassGeometry {
            axis,
            batch: r.random_range(1..=2),
            in_h,
            in_w,
            channels,
            kernel,
            stride: r.random_range(1..=3),
            dilation: r.random_range(1..=2),
            pad_before: r.random_range(0..=7),
            pad_after: r.random_range(0..=7),
        };
        if g.validate().is_ok() {
            return g;
        }
    }
}

fn random_cases(tier: Tier, seed: u64, cases: usize) {
    let mut r = rng(seed);
    for case in 0..cases {
        let g = rand_geometry(&mut r);
        let d = g.validate().unwrap();
        let input = rand_vec(&mut r, d.input_len);
        let w = rand_vec(&mut r, d.weight_len);
        let bias = r.random_bool(0.5).then(|| rand_vec(&mut r, g.channels));
        let act = rand_act(&mut r);
        let shift = r.random_range(0..8);
        let ctx =
            format!("seed {seed} case {case}: {g:?}, act {act:?}, bias {}, shift {shift}", bias.is_some());
        check_pass(tier, &g, &input, &w, bias.as_deref(), act, shift, &ctx);
    }
}

/// Channel counts around and at multiples of the vector width, each with both axes.
fn channel_sweep(tier: Tier, seed: u64) {
    let mut r = rng(seed);
    for c in [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 32, 33, 40] {
        for axis in [SeparableAxis::Row, SeparableAxis::Column] {
            for kernel in [1, 3, 7, 15] {
                let g = SeparablePassGeometry {
                    axis,
                    batch: 1,
                    in_h: 9,
                    in_w: 9,
                    channels: c,
                    kernel,
                    stride: 1,
                    dilation: 1,
                    pad_before: kernel / 2,
                    pad_after: kernel / 2,
                };
                let d = g.validate().unwrap();
                let input = rand_vec(&mut r, d.input_len);
                let w = rand_vec(&mut r, d.weight_len);
                let bias = rand_vec(&mut r, c);
                let act = rand_act(&mut r);
                let shift = (c + kernel) % 8;
                let ctx = format!("seed {seed} sweep: {g:?}, act {act:?}, shift {shift}");
                check_pass(tier, &g, &input, &w, Some(&bias), act, shift, &ctx);
            }
        }
    }
}

/// One standard pair: name, H, W, C, k, bias on the column pass.
type PairShape = (&'static str, usize, usize, usize, usize, bool);

/// The two standard pairs at full size.
/// sep_blur_1x1024_k15: 1×15 then 15×1, pad 7, no bias, on 1×1024×1024×1. The reference
/// takes a few hundred ms per pass at opt-level 1 (measured), so the full shape is run.
/// sep_dw_c64_56_k7: 1×7 then 7×1, pad 3, bias on the column pass, on 1×56×56×64.
const STANDARD_PAIRS: [PairShape; 2] =
    [("sep_blur_1x1024_k15", 1024, 1024, 1, 15, false), ("sep_dw_c64_56_k7", 56, 56, 64, 7, true)];

/// The two standard pairs: row pass then column pass through a dense intermediate, each pass
/// checked against the reference on the same input.
fn standard_pairs(tier: Tier) {
    standard_pairs_of(tier, &STANDARD_PAIRS);
}

/// [`standard_pairs`] on the given shapes (the same layers, possibly cropped).
fn standard_pairs_of(tier: Tier, shapes: &[PairShape]) {
    let mut r = rng(7);
    for &(name, h, w, c, k, col_bias) in shapes {
        let row = SeparablePassGeometry {
            axis: SeparableAxis::Row,
            batch: 1,
            in_h: h,
            in_w: w,
            channels: c,
            kernel: k,
            stride: 1,
            dilation: 1,
            pad_before: k / 2,
            pad_after: k / 2,
        };
        let col = SeparablePassGeometry { axis: SeparableAxis::Column, ..row };
        let input = rand_vec(&mut r, h * w * c);
        let w_row = rand_vec(&mut r, k * c);
        let w_col = rand_vec(&mut r, k * c);
        let bias = col_bias.then(|| rand_vec(&mut r, c));
        let mid = check_pass(tier, &row, &input, &w_row, None, Activation::None, 1, &format!("{name} row"));
        check_pass(tier, &col, &mid, &w_col, bias.as_deref(), Activation::Relu6, 3, &format!("{name} col"));
    }
}

/// Every error path returns its specific error and leaves the output untouched.
fn error_paths(tier: Tier) {
    let row = SeparablePassGeometry {
        axis: SeparableAxis::Row,
        batch: 1,
        in_h: 3,
        in_w: 10,
        channels: 3,
        kernel: 3,
        stride: 1,
        dilation: 1,
        pad_before: 1,
        pad_after: 1,
    };
    let col = SeparablePassGeometry { axis: SeparableAxis::Column, ..row };
    let n_in = 3 * 10 * 3;
    let n_out = n_in;
    let plen = (tier.packed_len)(&row).unwrap();
    assert_eq!(plen, (tier.packed_len)(&col).unwrap());
    let w = vec![0.5f32; 9];
    let mut packed = vec![0.0f32; plen];
    (tier.pack)(&row, &w, Some(&[1.0, 2.0, 3.0]), &mut packed).unwrap();
    let input = vec![1.0f32; n_in];

    let expect =
        |name: &str, out_len: usize, want: KernelError, f: &dyn Fn(&mut [f32]) -> Result<(), KernelError>| {
            let mut out = vec![SENTINEL; out_len];
            let got = f(&mut out);
            assert_eq!(got, Err(want), "{}: {name}", tier.name);
            assert!(
                out.iter().all(|v| v.to_bits() == SENTINEL.to_bits()),
                "{}: {name}: output written",
                tier.name
            );
        };
    let lm = |what, expected, actual| KernelError::LengthMismatch { what, expected, actual };
    for (g, run, kname) in [(row, tier.row, "row"), (col, tier.col, "col")] {
        expect(&format!("{kname} short input"), n_out, lm("input", n_in, n_in - 1), &|o| {
            run(&g, &input[1..], &packed, Activation::None, o)
        });
        expect(&format!("{kname} long packed"), n_out, lm("packed", plen, plen + 1), &|o| {
            let mut p = packed.clone();
            p.push(0.0);
            run(&g, &input, &p, Activation::None, o)
        });
        expect(&format!("{kname} short packed"), n_out, lm("packed", plen, plen - 1), &|o| {
            run(&g, &input, &packed[1..], Activation::None, o)
        });
        expect(&format!("{kname} short output"), n_out - 1, lm("output", n_out, n_out - 1), &|o| {
            run(&g, &input, &packed, Activation::None, o)
        });
        expect(
            &format!("{kname} bad clamp"),
            n_out,
            KernelError::InvalidClamp { min: 2.0, max: 1.0 },
            &|o| run(&g, &input, &packed, Activation::Clamp { min: 2.0, max: 1.0 }, o),
        );
        let zero_k = SeparablePassGeometry { kernel: 0, ..g };
        expect(&format!("{kname} kernel 0"), n_out, KernelError::Zero { what: "kernel" }, &|o| {
            run(&zero_k, &input, &packed, Activation::None, o)
        });
        let too_big = SeparablePassGeometry { kernel: 13, pad_before: 0, pad_after: 0, ..g };
        assert!(matches!(
            run(&too_big, &input, &packed, Activation::None, &mut vec![0.0; n_out]),
            Err(KernelError::KernelLargerThanInput { .. })
        ));
    }
    let axis_err = |kernel, value, expected| KernelError::Unsupported {
        kernel,
        what: "axis (0 = row, 1 = column)",
        value,
        expected,
    };
    expect("row_pass_run on a Column geometry", n_out, axis_err("row_pass_run", 1, 0), &|o| {
        (tier.row)(&col, &input, &packed, Activation::None, o)
    });
    expect("col_pass_run on a Row geometry", n_out, axis_err("col_pass_run", 0, 1), &|o| {
        (tier.col)(&row, &input, &packed, Activation::None, o)
    });
    // Pack errors leave `packed` untouched.
    let expect_pack = |name: &str, p_len: usize, want: KernelError, w: &[f32], b: Option<&[f32]>| {
        let mut p = vec![SENTINEL; p_len];
        assert_eq!((tier.pack)(&row, w, b, &mut p), Err(want), "{}: {name}", tier.name);
        assert!(p.iter().all(|v| v.to_bits() == SENTINEL.to_bits()), "{}: {name}: packed written", tier.name);
    };
    expect_pack("short weights", plen, lm("weights", 9, 8), &w[1..], None);
    expect_pack("long bias", plen, lm("bias", 3, 4), &w, Some(&[0.0; 4]));
    expect_pack("short packed", plen - 1, lm("packed", plen, plen - 1), &w, None);
}

#[test]
fn portable_random() {
    random_cases(PORTABLE, 0x5e9a_0001, 700);
}

#[test]
fn portable_channel_sweep() {
    channel_sweep(PORTABLE, 0x5e9a_0002);
}

#[test]
fn portable_standard_pairs() {
    standard_pairs(PORTABLE);
}

#[test]
fn portable_errors() {
    error_paths(PORTABLE);
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::*;

    /// Runs `f` when the CPU has AVX2+FMA; otherwise asserts the safe entry points refuse with
    /// `IsaUnavailable` (no silent skip).
    fn on_avx2(f: impl FnOnce()) {
        if avx2_present() {
            f();
        } else {
            let g = SeparablePassGeometry {
                axis: SeparableAxis::Row,
                batch: 1,
                in_h: 1,
                in_w: 4,
                channels: 1,
                kernel: 1,
                stride: 1,
                dilation: 1,
                pad_before: 0,
                pad_after: 0,
            };
            let packed = vec![0.0; (AVX2.packed_len)(&g).unwrap()];
            let mut out = vec![0.0; 4];
            let want = Err(KernelError::IsaUnavailable { isa: "avx2" });
            assert_eq!((AVX2.row)(&g, &[0.0; 4], &packed, Activation::None, &mut out), want);
            let g = SeparablePassGeometry { axis: SeparableAxis::Column, ..g };
            assert_eq!((AVX2.col)(&g, &[0.0; 4], &packed, Activation::None, &mut out), want);
        }
    }

    #[test]
    fn avx2_random() {
        on_avx2(|| random_cases(AVX2, 0x5e9a_1001, 700));
    }

    #[test]
    fn avx2_random_more() {
        on_avx2(|| random_cases(AVX2, 0x5e9a_1003, 700));
    }

    #[test]
    fn avx2_channel_sweep() {
        on_avx2(|| channel_sweep(AVX2, 0x5e9a_1002));
    }

    #[test]
    fn avx2_standard_pairs() {
        on_avx2(|| standard_pairs(AVX2));
    }

    #[test]
    fn avx2_errors() {
        on_avx2(|| error_paths(AVX2));
    }
}

#[cfg(target_arch = "aarch64")]
mod neon {
    use super::*;

    /// Runs `f` when the CPU has NEON; otherwise asserts the safe entry points refuse with
    /// `IsaUnavailable` (no silent skip).
    fn on_neon(f: impl FnOnce()) {
        if std::arch::is_aarch64_feature_detected!("neon") {
            f();
        } else {
            let g = SeparablePassGeometry {
                axis: SeparableAxis::Row,
                batch: 1,
                in_h: 1,
                in_w: 4,
                channels: 1,
                kernel: 1,
                stride: 1,
                dilation: 1,
                pad_before: 0,
                pad_after: 0,
            };
            let packed = vec![0.0; (NEON.packed_len)(&g).unwrap()];
            let mut out = vec![0.0; 4];
            let want = Err(KernelError::IsaUnavailable { isa: "neon" });
            assert_eq!((NEON.row)(&g, &[0.0; 4], &packed, Activation::None, &mut out), want);
            let g = SeparablePassGeometry { axis: SeparableAxis::Column, ..g };
            assert_eq!((NEON.col)(&g, &[0.0; 4], &packed, Activation::None, &mut out), want);
        }
    }

    /// The standard pairs cropped for qemu: the blur's 15-tap pair on 1×64×64×1 (W·C = 64, so
    /// the column band's cache-line alignment and the 4-vector groups run) and the
    /// depthwise-separable 7-tap pair at its full 1×56×56×64.
    const CROPPED_PAIRS: [PairShape; 2] = [
        ("sep_blur_1x1024_k15 cropped to 64x64", 64, 64, 1, 15, false),
        ("sep_dw_c64_56_k7", 56, 56, 64, 7, true),
    ];

    #[test]
    fn neon_random() {
        on_neon(|| random_cases(NEON, 0x5e9a_2001, 700));
    }

    #[test]
    fn neon_random_more() {
        on_neon(|| random_cases(NEON, 0x5e9a_2003, 700));
    }

    #[test]
    fn neon_channel_sweep() {
        on_neon(|| channel_sweep(NEON, 0x5e9a_2002));
    }

    #[test]
    fn neon_standard_pairs() {
        on_neon(|| standard_pairs_of(NEON, &CROPPED_PAIRS));
    }

    #[test]
    fn neon_errors() {
        on_neon(|| error_paths(NEON));
    }

    /// Rows whose length is a multiple of 4 or 16 floats, at every alignment of the input slice
    /// (shift 0..16): the aligned heads (up to 15 floats before the first 64-byte boundary) of
    /// the column band and the 16-byte heads of the other paths, with 4-, 2- and 1-vector groups
    /// and tails after them.
    #[test]
    fn neon_aligned_rows() {
        on_neon(|| {
            let seed = 0x5e9a_2004;
            let mut r = rng(seed);
            for (w, c) in
                [(16, 1), (32, 1), (48, 1), (64, 1), (4, 4), (16, 4), (8, 2), (6, 8), (4, 12), (2, 24)]
            {
                for axis in [SeparableAxis::Column, SeparableAxis::Row] {
                    for shift in 0..16 {
                        let kernel = [1, 3, 15][shift % 3];
                        let g = SeparablePassGeometry {
                            axis,
                            batch: 1 + shift % 2,
                            in_h: if axis == SeparableAxis::Column {
                                1 + shift % 9 + shift / 9 * 11
                            } else {
                                2
                            },
                            in_w: w,
                            channels: c,
                            kernel,
                            stride: 1 + shift / 12,
                            dilation: 1 + shift / 14,
                            pad_before: kernel / 2 + shift % 2,
                            pad_after: kernel - 1 - kernel / 2,
                        };
                        if g.validate().is_err() {
                            continue;
                        }
                        let d = g.validate().unwrap();
                        let input = rand_vec(&mut r, d.input_len);
                        let wt = rand_vec(&mut r, d.weight_len);
                        let bias = rand_vec(&mut r, c);
                        let act = rand_act(&mut r);
                        let ctx = format!("seed {seed} aligned rows: {g:?}, act {act:?}, shift {shift}");
                        check_pass(NEON, &g, &input, &wt, Some(&bias), act, shift, &ctx);
                    }
                }
            }
        });
    }

    /// Channel counts above the random range (64, 100): wide weight periods, a tap span that
    /// leaves the stride-1 row pass no interior (several edge-buffer chunks) or exceeds the edge
    /// buffer (the per-pixel path at stride 1), and the column pass's 4-period groups.
    #[test]
    fn neon_wide_channels() {
        on_neon(|| {
            let seed = 0x5e9a_2005;
            let mut r = rng(seed);
            for c in [64, 100] {
                for axis in [SeparableAxis::Row, SeparableAxis::Column] {
                    for (ext, kernel, stride, dilation, pad) in [
                        (20, 15, 1, 2, 7),
                        (9, 15, 1, 1, 7),
                        (12, 7, 2, 1, 3),
                        (14, 3, 1, 1, 1),
                        (5, 5, 1, 2, 4),
                    ] {
                        let (in_h, in_w) = if axis == SeparableAxis::Row { (2, ext) } else { (ext, 2) };
                        let g = SeparablePassGeometry {
                            axis,
                            batch: 1,
                            in_h,
                            in_w,
                            channels: c,
                            kernel,
                            stride,
                            dilation,
                            pad_before: pad,
                            pad_after: pad,
                        };
                        let d = g.validate().unwrap();
                        let input = rand_vec(&mut r, d.input_len);
                        let wt = rand_vec(&mut r, d.weight_len);
                        let bias = r.random_bool(0.5).then(|| rand_vec(&mut r, c));
                        let act = rand_act(&mut r);
                        let shift = r.random_range(0..8);
                        let ctx = format!("seed {seed} wide channels: {g:?}, act {act:?}, shift {shift}");
                        check_pass(NEON, &g, &input, &wt, bias.as_deref(), act, shift, &ctx);
                    }
                }
            }
        });
    }

    /// NaN in the input propagates through every path and every activation (FMAX/FMIN keep
    /// NaN): each output is NaN exactly where the reference's is, and the others are within the
    /// usual tolerance of it.
    #[test]
    fn neon_nan_propagation() {
        on_neon(|| {
            let seed = 0x5e9a_2006;
            let mut r = rng(seed);
            let acts = [
                Activation::None,
                Activation::Relu,
                Activation::Relu6,
                Activation::Clamp { min: -0.25, max: 0.25 },
            ];
            let mut nans = 0usize;
            for case in 0..120 {
                let g = rand_geometry(&mut r);
                let d = g.validate().unwrap();
                let mut input = rand_vec(&mut r, d.input_len);
                for _ in 0..=d.input_len / 40 {
                    let i = r.random_range(0..d.input_len);
                    input[i] = f32::NAN;
                }
                let w = rand_vec(&mut r, d.weight_len);
                let bias = r.random_bool(0.5).then(|| rand_vec(&mut r, g.channels));
                let act = acts[case % 4];
                let ctx = format!("seed {seed} NaN case {case}: {g:?}, act {act:?}");
                let (reference_run, run): (fn(_, _, _, _, _, _) -> _, Run) = match g.axis {
                    SeparableAxis::Row => (reference::row_pass, NEON.row),
                    SeparableAxis::Column => (reference::col_pass, NEON.col),
                };
                let mut expected = vec![0.0f32; d.output_len];
                reference_run(&g, &input, &w, bias.as_deref(), act, &mut expected).unwrap();
                let mut packed = vec![0.0; (NEON.packed_len)(&g).unwrap()];
                (NEON.pack)(&g, &w, bias.as_deref(), &mut packed).unwrap();
                let mut got = vec![SENTINEL; d.output_len];
                run(&g, &input, &packed, act, &mut got).unwrap();
                let mag = magnitudes(&g, &input, &w, bias.as_deref());
                for (i, ((&a, &e), &m)) in got.iter().zip(&expected).zip(&mag).enumerate() {
                    if e.is_nan() {
                        nans += 1;
                        assert!(
                            a.is_nan(),
                            "{ctx}: element {i} {:?}: got {a}, expected NaN",
                            unflatten(&g, i)
                        );
                    } else {
                        let diff = (f64::from(a) - f64::from(e)).abs();
                        assert!(
                            diff <= TOL * m,
                            "{ctx}: element {i} {:?}: got {a}, expected {e}, |diff| {diff:e} > {:e}",
                            unflatten(&g, i),
                            TOL * m
                        );
                    }
                }
            }
            // Not asserted per case (a NaN may sit where no tap reads it, e.g. skipped by the
            // stride), but the cases as a whole must produce NaN outputs.
            assert!(nans > 100, "seed {seed}: only {nans} NaN outputs over all cases");
        });
    }
}
