//! Depthwise k×k convolution (depth multiplier 1), NHWC, NEON: the microkernels of the
//! generic plan and driver in `crate::dwconv` (which documents the algorithm).
//!
//! # Packed layout
//!
//! The layout of `crate::dwconv` with tiles of 8 channels (two Q registers): per tile
//! `[bias × 8][tap 0 × 8]…[tap kh·kw−1 × 8]`, taps row-major, lane `l` holding channel `8t + l`
//! (the last tile shifted onto the last 8 channels, or zero-padded below 8). Length `ceil(C / 8) · 8 · (1 + kh·kw)`.
//!
//! # Views and tuning
//!
//! Each channel tile is seen through one of three views: a full tile of 8 channels (`Q2`,
//! two vectors; every tile from 8 channels up, the last one shifted); below 8 channels (generic
//! path only) a half tile of 4 (one `float32x4_t`) when `C >= 4` and a tail of `C % 4` channels
//! (1 to 3 lanes, read and written with lane loads/stores so that no element outside the slices
//! is touched; its weights are full vectors of the zero-padded packed tile).
//!
//! Interior blocks sweep the `(B−1)·S + k` input columns of each kernel row once, each input
//! vector feeding every accumulator that uses it. For 3×3 the weights of the view (18 vectors
//! for a full tile) stay in registers for the row: full tiles use `B = 4` (8 accumulators +
//! 18 weights + 2 input vectors = 28 of the 32 registers). For 5×5 / 7×7 one kernel row of
//! weights is loaded per block and kernel row, and `B = 6`. Half and tail views use `B = 8`.
//! Interior remainders reuse a full block shifted left, or blocks of 4, 2, 1 when the interior
//! is narrower than `B`. The generic path uses blocks of 4 (8 for half and tail views).
//! The clamp uses FMAX/FMIN, which return NaN for a NaN operand, so NaN propagates.

use core::arch::aarch64::{
    float32x4_t, vaddq_f32, vcombine_f32, vdup_n_f32, vdupq_n_f32, vfmaq_f32, vget_low_f32, vld1_f32,
    vld1q_f32, vld1q_lane_f32, vmaxq_f32, vminq_f32, vst1_f32, vst1q_f32, vst1q_lane_f32,
};

use crate::Activation;
use crate::dwconv::{self as dw, Ctx, DwRows, DwVec, Plan, Row, RowFn, View};

/// Channels per packed tile (two Q registers).
const CT: usize = 8;

/// Lanes of one Q register.
const LANES: usize = 4;

/// Interior block widths (output pixels) of full tiles in the specialised kernels, per
/// (k, stride): `[3×3 s1, 3×3 s2, 5×5 s1, 5×5 s2, 7×7 s1, 7×7 s2]`.
const BLOCKS: [usize; 6] = [4, 4, 6, 6, 6, 6];
/// Interior block width of half and tail views (one vector per pixel) in every path.
const B_HALF: usize = 8;
/// Interior block width of full tiles in the generic path.
const NC: usize = 4;

dw::entry_points! { CT, super::ensure_available;
    /// Length of the NEON tier's packed depthwise weights: `ceil(C / 8) · 8 · (1 + kh·kw)` (see
    /// the module docs for the layout).
    ///
    /// Errors: an invalid or non-depthwise geometry, or overflow.
    packed_len;
    /// Packs depthwise weights `[kh][kw][C]` and an optional bias `[C]` (zeros without one) into
    /// channel tiles of 8 for [`dwconv_run`]: per tile `[bias × 8][tap 0 × 8]…`, taps row-major,
    /// zero-padded at the channel remainder (see the module docs).
    ///
    /// Errors: an invalid or non-depthwise geometry, or `weights`, `bias` or `packed` of the wrong
    /// length (`packed` must have [`dwconv_packed_len`] elements); nothing is written then.
    pack;
    /// Depthwise convolution on weights packed by [`dwconv_pack`] (same geometry), NHWC:
    ///
    /// - `input`: `[batch][in_h][in_w][C]`;
    /// - `output`: `[batch][out_h][out_w][C]`, each `act(bias + Σ input · weight)` over the taps
    ///   that fall inside the input (padding contributes nothing).
    ///
    /// Any batch, kernel size, stride, dilation and 4-sided padding. Errors: an invalid or
    /// non-depthwise geometry, an invalid clamp, `packed`, `input` or `output` of the wrong length
    /// ([`KernelError::LengthMismatch`](crate::KernelError::LengthMismatch)), or a CPU without NEON ([`KernelError::IsaUnavailable`](crate::KernelError::IsaUnavailable));
    /// nothing is written then.
    run;
}

/// Entry of the target-feature code.
///
/// # Safety
/// NEON available; `p` came from [`Plan::checked`] with 8 lanes and the same `input`,
/// `packed` and `output` lengths.
#[target_feature(enable = "neon")]
unsafe fn run(p: &Plan, input: &[f32], packed: &[f32], act: Activation, output: &mut [f32]) {
    let (lo, hi) = act.bounds();
    // Below 8 channels the one zero-padded tile is seen as a half and a tail view.
    let (small, last) = (p.tiles == 0, packed.as_ptr());
    let half = small && p.c >= LANES;
    let tail = if small { p.c % LANES } else { 0 };
    let env = Env {
        lo: vdupq_n_f32(lo),
        hi: vdupq_n_f32(hi),
        tail,
        half: half.then_some(View { ch: 0, wt: last }),
        tail_view: (tail != 0)
            .then(|| View { ch: p.c - tail, wt: last.wrapping_add(if half { LANES } else { 0 }) }),
    };
    let cx = Ctx { p: *p, packed: packed.as_ptr(), env };
    // SAFETY: forwarded from the caller; this is the tier's target-feature entry.
    unsafe { dw::run::<Neon>(&cx, input, output) };
}

/// Clamp bounds and the views of the partial last tile.
pub(crate) struct Env {
    lo: float32x4_t,
    hi: float32x4_t,
    /// Channels of the tail view: `C % 4` (the lanes a masked access touches).
    tail: usize,
    /// The half view (channels 0..4), if `4 <= C < 8`.
    half: Option<View>,
    /// The tail view (`C % 4` channels), if `C < 8` and `C % 4 != 0`.
    tail_view: Option<View>,
}

/// The NEON plan knobs of [`DwVec`], the same for both vector views: taps of one 8-channel
/// tile, weights of kernels up to 3 hoisted, sweeping interior blocks that end on an
/// overlapping block, border pixels one by one.
macro_rules! neon_plan {
    () => {
        type Env = Env;
        const TAP_STRIDE: usize = CT;
        const HOIST_K: usize = 3;
        const SWEEP: bool = true;
        const OVERLAP: bool = true;
        const EDGE_BLOCKS: bool = false;
    };
}

/// A full tile's 8 channels: two Q registers.
#[derive(Clone, Copy)]
pub(crate) struct Q2([float32x4_t; 2]);

impl DwVec for float32x4_t {
    neon_plan!();

    #[inline(always)]
    unsafe fn zero() -> Self {
        // SAFETY: NEON available (the caller's contract); no memory access.
        unsafe { vdupq_n_f32(0.0) }
    }

    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: NEON available and 4 floats readable (the caller's contract).
        unsafe { vld1q_f32(p) }
    }

    #[inline(always)]
    unsafe fn load_in<const M: bool>(p: *const f32, env: &Env) -> Self {
        // SAFETY: the caller guarantees the feature and that the accessed lanes are readable;
        // the lane loads below touch exactly lanes 0..tail (tail in 1..=3 when masked).
        unsafe {
            if !M {
                return vld1q_f32(p);
            }
            let z = vdup_n_f32(0.0);
            match env.tail {
                1 => vld1q_lane_f32::<0>(p, vdupq_n_f32(0.0)),
                2 => vcombine_f32(vld1_f32(p), z),
                _ => vld1q_lane_f32::<2>(p.add(2), vcombine_f32(vld1_f32(p), z)),
            }
        }
    }

    #[inline(always)]
    unsafe fn fma(acc: Self, x: Self, w: Self) -> Self {
        // SAFETY: NEON available (the caller's contract); no memory access.
        unsafe { vfmaq_f32(acc, x, w) }
    }

    #[inline(always)]
    unsafe fn add(a: Self, b: Self) -> Self {
        // SAFETY: NEON available (the caller's contract); no memory access.
        unsafe { vaddq_f32(a, b) }
    }

    #[inline(always)]
    unsafe fn store<const M: bool>(p: *mut f32, v: Self, env: &Env) {
        // SAFETY: the caller guarantees the feature and that the written lanes are writable;
        // the lane stores touch exactly lanes 0..tail. The bound is the first operand of
        // max/min (FMAX/FMIN return NaN for a NaN operand), so a NaN accumulator propagates.
        unsafe {
            let v = vminq_f32(env.hi, vmaxq_f32(env.lo, v));
            if !M {
                vst1q_f32(p, v);
                return;
            }
            match env.tail {
                1 => vst1q_lane_f32::<0>(p, v),
                2 => vst1_f32(p, vget_low_f32(v)),
                _ => {
                    vst1_f32(p, vget_low_f32(v));
                    vst1q_lane_f32::<2>(p.add(2), v);
                }
            }
        }
    }
}

impl DwVec for Q2 {
    neon_plan!();

    #[inline(always)]
    unsafe fn zero() -> Self {
        // SAFETY: forwarded from the caller.
        Q2([unsafe { float32x4_t::zero() }; 2])
    }

    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: forwarded from the caller (8 floats readable).
        unsafe { Q2([vld1q_f32(p), vld1q_f32(p.add(LANES))]) }
    }

    #[inline(always)]
    unsafe fn load_in<const M: bool>(p: *const f32, env: &Env) -> Self {
        // SAFETY: forwarded from the caller for both halves (full tiles are never masked).
        unsafe { Q2([float32x4_t::load_in::<M>(p, env), float32x4_t::load_in::<M>(p.add(LANES), env)]) }
    }

    #[inline(always)]
    unsafe fn fma(acc: Self, x: Self, w: Self) -> Self {
        // SAFETY: forwarded from the caller; no memory access.
        unsafe { Q2([vfmaq_f32(acc.0[0], x.0[0], w.0[0]), vfmaq_f32(acc.0[1], x.0[1], w.0[1])]) }
    }

    #[inline(always)]
    unsafe fn add(a: Self, b: Self) -> Self {
        // SAFETY: forwarded from the caller; no memory access.
        unsafe { Q2([vaddq_f32(a.0[0], b.0[0]), vaddq_f32(a.0[1], b.0[1])]) }
    }

    #[inline(always)]
    unsafe fn store<const M: bool>(p: *mut f32, v: Self, env: &Env) {
        // SAFETY: forwarded from the caller for both halves.
        unsafe {
            float32x4_t::store::<M>(p, v.0[0], env);
            float32x4_t::store::<M>(p.add(LANES), v.0[1], env);
        }
    }
}

/// The NEON row kernels.
struct Neon;

impl DwRows for Neon {
    type Env = Env;
    const BIAS: RowFn<Env> = bias_row;
    const GENERIC: RowFn<Env> = generic_row;

    fn fast_row(kw: usize, sw: usize, r: usize) -> Option<RowFn<Env>> {
        dw::fast_row_table!(full fast_row, BLOCKS, kw, sw, r)
    }
}

/// An output row with every tap in the padding: `act(bias)` everywhere.
///
/// # Safety
/// The [`DwRows`] row-kernel contract for NEON.
#[target_feature(enable = "neon")]
unsafe fn bias_row(cx: &Ctx<Env>, row: &Row) {
    // SAFETY: forwarded; the views are those of the plan.
    unsafe {
        for t in 0..cx.p.tiles {
            dw::bias_view::<Q2, false>(cx, row.out, cx.tile::<Q2>(t));
        }
        if let Some(v) = cx.env.half {
            dw::bias_view::<float32x4_t, false>(cx, row.out, v);
        }
        if let Some(v) = cx.env.tail_view {
            dw::bias_view::<float32x4_t, true>(cx, row.out, v);
        }
    }
}

/// One output row for every view, any kernel size, stride and dilation.
///
/// # Safety
/// The [`DwRows`] row-kernel contract for NEON, a row with valid kernel rows.
#[target_feature(enable = "neon")]
unsafe fn generic_row(cx: &Ctx<Env>, row: &Row) {
    // SAFETY: forwarded; the views are those of the plan.
    unsafe {
        for t in 0..cx.p.tiles {
            dw::generic_view::<Q2, NC, false>(cx, row, cx.tile::<Q2>(t));
        }
        if let Some(v) = cx.env.half {
            dw::generic_view::<float32x4_t, B_HALF, false>(cx, row, v);
        }
        if let Some(v) = cx.env.tail_view {
            dw::generic_view::<float32x4_t, B_HALF, true>(cx, row, v);
        }
    }
}

/// One output row of a `KW × KW` kernel, `R` valid kernel rows, stride `S`, for every tile
/// (fast plans have `C >= 8`: full tiles only) in blocks of `B`.
///
/// # Safety
/// The [`DwRows`] row-kernel contract for NEON, the kernel chosen for `(KW, S, R)`.
#[target_feature(enable = "neon")]
unsafe fn fast_row<const KW: usize, const R: usize, const S: usize, const B: usize>(
    cx: &Ctx<Env>,
    row: &Row,
) {
    // SAFETY: forwarded from the caller.
    unsafe { dw::each_tile!(unmasked cx, Q2, fast_view::<KW, R, S, B>(cx, row)) }
}
