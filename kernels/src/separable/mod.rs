//! Row 1×k and column k×1 spatially separable passes, per channel: the plan, written once.
//!
//! This module owns everything about the separable family that does not depend on the ISA:
//! the checks of the safe entry points ([`checked_run`]), the packed layout and packing
//! ([`layout`], [`pack`], parameterised by the lane count), and the drivers ([`driver`]) that
//! split a row into border and interior, pick block sizes and walk rows, bands and vectors.
//! The drivers and register-tile microkernels are generic over [`SepVector`]: the tier's
//! [`F32Vector`] plus two block sizes (`x86_64/separable.rs` with AVX2's 8 lanes,
//! `aarch64/separable.rs` with NEON's 4). A new ISA is one `SepVector` impl plus one
//! [`simd_entry_points`] call. The `portable` tier shares the layout, packing, checks and entry
//! points ([`entry_points`]) but runs its own in-place AXPY algorithm on `wide` vectors.
//!
//! # How the SIMD passes are vectorized
//!
//! Both passes see an NHWC row `[W][C]` as one flat array of `W·C` floats and work on flat
//! `L`-float vectors that may start at any flat offset `f`. Lane `l` of such a vector is
//! channel `(f + l) mod C`, so its weights are the `L` floats at offset `f mod LP` of a
//! periodic *weight pattern* `pattern[t][j] = w[t][j mod C]`, with `LP = lcm(L, C)` (`P = 1`
//! when `C == 1`, where every weight vector is a broadcast; `P = C / L` channel tiles when
//! `L | C`); two vectors `LP` floats apart share their weights. This one scheme vectorizes
//! along `W` when `C == 1` and along channels when `C` is large, with full vectors for every
//! `C`, and lets the vectors start where the input is aligned.
//!
//! - **Column pass**, stride 1 and dilation 1 (the common case): an output row is a weighted
//!   sum of whole input rows, so flat vectors need no shuffling. The kernel walks
//!   *input-major* over a band of `RC = 6` output rows and `VC` vectors (`LP` floats apart, so
//!   they share every weight load): each input row's vectors are loaded once and feed every
//!   output row of the band that they reach, and only `RC + k - 1` input rows per band are
//!   read, never `k` rows per output row (the 4 KiB row stride of a 1024-wide image would make
//!   `k` such rows collide in one L1 set). Padding rows are excluded from the band's row range
//!   before the inner loop. Other strides and dilations use the tap-major kernel with whole
//!   rows as taps. Vectors start at the first 64-byte aligned input float when every row keeps
//!   that alignment (else `4L`-byte aligned, else unaligned), so a `C == 1` group of vectors
//!   is whole cache lines.
//! - **Row pass**, stride 1: the taps of a flat output vector are flat input vectors shifted by
//!   `t·dilation·C` floats. The tap-major kernel keeps `RT` accumulators `LP` floats apart
//!   (same weights), loads each tap's weight vector once and FMAs it with `RT` shifted input
//!   windows. Output vectors whose window reaches into the padding are computed the same way
//!   from a zero-padded copy of the row edge in a stack buffer, so the interior loop has no
//!   bounds tests.
//! - **Row pass**, stride > 1 (or a row edge too wide for the stack buffer): per pixel, per
//!   `L`-channel tile, `RT` pixels per block sharing each weight load, a partial vector
//!   ([`F32Vector::load_tail`]) for the channel tail.
//!
//! # Packed layout
//!
//! With `L` lanes, `Cp = ceil(C / L)·L` and `S = lcm(L, C) + L` (the SIMD tiers, *tiled*), or
//! `Cp = C` and `S = lcm(L, C)` (the portable tier, untiled), the packed buffer is:
//! 1. `[Cp]` bias per channel (zeros without a bias, zero padding past `C`);
//! 2. `[k][Cp]` weights per tap and channel (zero padding past `C`): the channel tiles of the
//!    per-pixel path;
//! 3. `[S]` bias pattern `bias[j mod C]`, then `[k][S]` weight patterns `w[t][j mod C]`
//!    (tiled: `j < S`, so that the `L` floats at any offset below `lcm(L, C)` are inside).
//!
//! Total length `(k + 1)·(Cp + S)`.

pub(crate) mod driver;

use crate::error::{check_len, checked_product};
use crate::simd::F32Vector;
use crate::{Activation, KernelError, SeparableAxis, SeparableDims, SeparablePassGeometry};

/// Offsets of the sections of the packed buffer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Layout {
    /// Channels per tap row: `C` rounded up to a multiple of the lane count (tiled), or `C`.
    pub cpad: usize,
    /// Period of the weight patterns, `lcm(L, C)`.
    pub period: usize,
    /// Floats per pattern row: `lcm(L, C) + L` (tiled), or `lcm(L, C)`.
    pub pstride: usize,
    /// Start of the per-channel weights `[k][Cp]` (the bias `[Cp]` is at 0).
    pub plain_w: usize,
    /// Start of the bias pattern `[S]`.
    pub pat_bias: usize,
    /// Start of the weight patterns `[k][S]`.
    pub pat_w: usize,
    /// Total packed length.
    pub len: usize,
}

/// Greatest common divisor.
fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Validates `g` and computes the packed layout for `lanes`-wide vectors, `tiled` (channel
/// rows padded to whole vectors, pattern rows with `lanes` floats of slack) or not.
///
/// Errors: an invalid geometry, or overflow.
pub(crate) fn layout(
    g: &SeparablePassGeometry,
    lanes: usize,
    tiled: bool,
) -> Result<(SeparableDims, Layout), KernelError> {
    let d = g.validate()?;
    let c = g.channels;
    let overflow = KernelError::Overflow { what: "packed length" };
    let cpad = if tiled { c.checked_next_multiple_of(lanes).ok_or(overflow.clone())? } else { c };
    let period = checked_product("packed length", &[c / gcd(c, lanes), lanes])?;
    let pstride = if tiled { period.checked_add(lanes).ok_or(overflow.clone())? } else { period };
    let taps1 = g.kernel.checked_add(1).ok_or(overflow.clone())?;
    let plain = checked_product("packed length", &[taps1, cpad])?;
    let pattern = checked_product("packed length", &[taps1, pstride])?;
    let len = plain.checked_add(pattern).ok_or(overflow)?;
    Ok((d, Layout { cpad, period, pstride, plain_w: cpad, pat_bias: plain, pat_w: plain + pstride, len }))
}

/// Packs weights `[k][C]` and an optional bias `[C]` into the layout of
/// [`layout`]`(g, lanes, tiled)`.
///
/// Errors (nothing written): invalid geometry, or a `weights`, `bias` or `packed` length that
/// does not match.
pub(crate) fn pack(
    g: &SeparablePassGeometry,
    lanes: usize,
    tiled: bool,
    weights: &[f32],
    bias: Option<&[f32]>,
    packed: &mut [f32],
) -> Result<(), KernelError> {
    let (d, lay) = layout(g, lanes, tiled)?;
    let c = g.channels;
    check_len("weights", d.weight_len, weights.len())?;
    if let Some(b) = bias {
        check_len("bias", c, b.len())?;
    }
    check_len("packed", lay.len, packed.len())?;
    packed[..lay.pat_bias].fill(0.0);
    let bias_of = |ch: usize| bias.map_or(0.0, |b| b[ch]);
    for ch in 0..c {
        packed[ch] = bias_of(ch);
        for t in 0..g.kernel {
            packed[lay.plain_w + t * lay.cpad + ch] = weights[t * c + ch];
        }
    }
    for j in 0..lay.pstride {
        packed[lay.pat_bias + j] = bias_of(j % c);
        for t in 0..g.kernel {
            packed[lay.pat_w + t * lay.pstride + j] = weights[t * c + j % c];
        }
    }
    Ok(())
}

/// Errors with [`KernelError::Unsupported`] unless `g.axis == want` (`kernel` names the entry
/// point); the axis is reported as 0 = row, 1 = column.
pub(crate) fn check_axis(
    g: &SeparablePassGeometry,
    want: SeparableAxis,
    kernel: &'static str,
) -> Result<(), KernelError> {
    if g.axis == want {
        return Ok(());
    }
    let code = |a: SeparableAxis| match a {
        SeparableAxis::Row => 0,
        SeparableAxis::Column => 1,
    };
    Err(KernelError::Unsupported {
        kernel,
        what: "axis (0 = row, 1 = column)",
        value: code(g.axis),
        expected: code(want),
    })
}

/// A validated run of one pass: the canonical geometry, its dims and the packed layout.
pub(crate) struct Plan {
    /// `g.canonical()`, validated.
    pub g: SeparablePassGeometry,
    /// Its dims.
    pub d: SeparableDims,
    /// The packed layout of [`layout`]`(g, lanes, tiled)`.
    pub lay: Layout,
}

/// The checks of every `row_pass_run` / `col_pass_run` entry point, in order: canonicalises
/// `g`, checks its axis is `axis` (`kernel` names the entry point), validates it and `act`, and
/// checks the `input`, `packed` (layout of `lanes`, `tiled`) and `output` lengths.
///
/// Errors: the first failed check.
#[allow(clippy::too_many_arguments)]
pub(crate) fn checked_run(
    g: &SeparablePassGeometry,
    axis: SeparableAxis,
    kernel: &'static str,
    lanes: usize,
    tiled: bool,
    input: &[f32],
    packed: &[f32],
    act: Activation,
    output: &[f32],
) -> Result<Plan, KernelError> {
    let g = g.canonical();
    check_axis(&g, axis, kernel)?;
    let (d, lay) = layout(&g, lanes, tiled)?;
    act.validate()?;
    check_len("input", d.input_len, input.len())?;
    check_len("packed", lay.len, packed.len())?;
    check_len("output", d.output_len, output.len())?;
    Ok(Plan { g, d, lay })
}

/// The block sizes of one SIMD tier's separable drivers, on top of its [`F32Vector`] (the
/// impl is in the ISA folder's `separable.rs`). The drivers are entered only from the tier's
/// `#[target_feature]` functions, after a run-time check, so the vector methods inline there.
pub(crate) trait SepVector: F32Vector + Clone + Copy {
    /// Output vectors per block of the tap-major kernel (accumulators in registers).
    const RT: usize;
    /// Vectors per band of the input-major column kernel (`RC × VC` accumulators).
    const VC: usize;
}

/// Defines a tier's safe entry points of the separable family (the packed contract of the
/// crate docs): `separable_packed_len`, `separable_pack`, `row_pass_run` and `col_pass_run`
/// for `$lanes`-wide vectors in the tiled (SIMD) or untiled (portable) layout. Each run checks
/// the call ([`checked_run`]), then `$ensure()` (the CPU), then calls
/// `$run(row, &plan, input, packed, act, output)`, an `unsafe fn` whose contract is that the
/// CPU check passed and the plan comes from `checked_run` with these slices; `$errs` ends the
/// runs' error docs.
macro_rules! entry_points {
    (lanes $lanes:expr, tiled $tiled:literal, ensure $ensure:expr, run $run:path, errors $errs:literal) => {
        /// Length of this tier's packed buffer for `g` (the layout of the module docs).
        ///
        /// Errors: an invalid geometry, or overflow.
        pub fn separable_packed_len(g: &SeparablePassGeometry) -> Result<usize, KernelError> {
            Ok($crate::separable::layout(g, $lanes, $tiled)?.1.len)
        }

        /// Packs a separable pass's weights `[k][C]` and optional bias `[C]` into this tier's
        /// layout (module docs; the same layout serves [`row_pass_run`] and [`col_pass_run`]).
        ///
        /// Errors (nothing written): invalid geometry, or a `weights`, `bias` or `packed`
        /// length that does not match.
        pub fn separable_pack(
            g: &SeparablePassGeometry,
            weights: &[f32],
            bias: Option<&[f32]>,
            packed: &mut [f32],
        ) -> Result<(), KernelError> {
            $crate::separable::pack(g, $lanes, $tiled, weights, bias, packed)
        }

        $crate::separable::entry_points!(@pass row_pass_run, Row, true, $lanes, $tiled, $ensure, $run, $errs,
            "Row pass (1×k along the width)", "`[batch][in_h][out_w][C]`",
            "`out[n][y][x][c] = act(bias[c] + Σ_t in[n][y][x·stride + t·dilation - pad_before][c]·w[t][c])`");
        $crate::separable::entry_points!(@pass col_pass_run, Column, false, $lanes, $tiled, $ensure, $run, $errs,
            "Column pass (k×1 along the height)", "`[batch][out_h][in_w][C]`",
            "`out[n][y][x][c] = act(bias[c] + Σ_t in[n][y·stride + t·dilation - pad_before][x][c]·w[t][c])`");
    };
    (@pass $name:ident, $axis:ident, $row:literal, $lanes:expr, $tiled:literal, $ensure:expr, $run:path, $errs:literal,
     $what:literal, $out:literal, $formula:literal) => {
        #[doc = concat!($what, ", per channel, NHWC, on weights packed by [`separable_pack`].")]
        ///
        #[doc = concat!("Same contract as [`crate::reference::", stringify!($name), "`]: `g.axis` must be [`SeparableAxis::",
            stringify!($axis), "`]; `input` is `[batch][in_h][in_w][C]`, `output` is ", $out, " with ", $formula,
            " (taps in the padding contribute 0).")]
        ///
        #[doc = concat!("Errors (nothing written): wrong axis, invalid geometry or clamp, a slice length that does not match", $errs, ".")]
        pub fn $name(
            g: &SeparablePassGeometry,
            input: &[f32],
            packed: &[f32],
            act: Activation,
            output: &mut [f32],
        ) -> Result<(), KernelError> {
            let p = $crate::separable::checked_run(
                g, SeparableAxis::$axis, stringify!($name), $lanes, $tiled, input, packed, act, output,
            )?;
            ($ensure)()?;
            // SAFETY: the CPU check passed and `p` comes from `checked_run` for this axis and
            // layout with exactly these slices: the contract of `$run`.
            #[allow(unused_unsafe)]
            unsafe {
                $run($row, &p, input, packed, act, output)
            };
            super::activation::epilogue(act, output);
            Ok(())
        }
    };
}
pub(crate) use entry_points;

/// Defines a SIMD tier's separable entry points ([`entry_points`], tiled) over its
/// [`SepVector`] impl `$K`: the runs enter the generic driver through a
/// `#[target_feature(enable = $features)]` function after `super::ensure_available`, so the
/// driver is compiled for the ISA.
macro_rules! simd_entry_points {
    ($K:ty, isa: $isa:literal, features: $features:literal) => {
        $crate::separable::entry_points!(
            lanes <$K as $crate::simd::F32Vector>::LANES, tiled true, ensure super::ensure_available, run run_isa,
            errors $isa
        );

        /// The generic driver of the row (`row`) or column pass, compiled for this ISA. Safety: the
        /// ISA's features are present; `p` comes from `checked_run` for the pass's axis and this
        /// tier's layout with these `input`, `packed`, `output` and `act`.
        #[target_feature(enable = $features)]
        unsafe fn run_isa(
            row: bool,
            p: &$crate::separable::Plan,
            input: &[f32],
            packed: &[f32],
            act: Activation,
            output: &mut [f32],
        ) {
            // SAFETY: forwarded from the caller.
            unsafe { if row { run_pass::<true>(p, input, packed, act, output) } else { run_pass::<false>(p, input, packed, act, output) } }
        }

        /// [`run_isa`] with `row == ROW` (same safety contract), one function per pass: inlined
        /// into one, each pass's loops lost registers (7 % on `sep_dw_c64_56_k7`).
        #[target_feature(enable = $features)]
        #[inline(never)]
        unsafe fn run_pass<const ROW: bool>(
            p: &$crate::separable::Plan,
            input: &[f32],
            packed: &[f32],
            act: Activation,
            output: &mut [f32],
        ) {
            use $crate::separable::driver;
            // SAFETY: the drivers' contract is this function's (inlined under its features).
            unsafe {
                let pass = driver::Pass::<$K>::new(&p.g, &p.lay, packed, act);
                if ROW { driver::row_pass(&pass, &p.d, input, output) } else { driver::col_pass(&pass, &p.d, input, output) }
            }
        }
    };
}
pub(crate) use simd_entry_points;
