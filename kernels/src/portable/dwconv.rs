//! Depthwise k×k convolution (depth multiplier 1), NHWC, portable SIMD (`wide::f32x8`): the
//! vector type of the generic plan and driver in [`crate::dwconv`] (which documents the
//! algorithm), run on its generic path (no specialised row kernels: without a known register
//! file they would spill).
//!
//! # Packed layout
//!
//! The same as the AVX2 tier's: the channels are cut into tiles of 8, the last tile
//! zero-padded when `C % 8 != 0`. Tile `t` occupies `8 · (1 + kh·kw)` floats starting at
//! `t · 8 · (1 + kh·kw)`: `[bias × 8][tap 0 × 8][tap 1 × 8]…[tap kh·kw−1 × 8]`, taps in
//! row-major `(ky, kx)` order and lane `l` holding channel `8t + l` (zero for channels
//! `>= C`, and a zero bias without one).
//!
//! Interior pixels are computed 4 at a time × 8 channels; the partial last channel tile is
//! read and written through small zero-filled copies.

use core::ptr;

use wide::f32x8;

use crate::dwconv::{self as dw, Ctx, DwRows, DwVec, Plan, Row, RowFn};
use crate::{Activation, Conv2dGeometry, KernelError};

/// Channels per packed tile.
const LANES: usize = 8;

/// Output pixels per interior block.
const NC: usize = 4;

/// Length of the portable tier's packed depthwise weights: `ceil(C / 8) · 8 · (1 + kh·kw)`
/// (see the module docs for the layout).
///
/// Errors: an invalid or non-depthwise geometry, or overflow.
pub fn dwconv_packed_len(g: &Conv2dGeometry) -> Result<usize, KernelError> {
    dw::packed_len(g, LANES)
}

/// Packs depthwise weights `[kh][kw][C]` and an optional bias `[C]` (zeros without one) into
/// channel tiles of 8 for [`dwconv_run`]: per tile `[bias × 8][tap 0 × 8]…`, zero-padded at
/// the channel remainder (see the module docs).
///
/// Errors: an invalid or non-depthwise geometry, or `weights`, `bias` or `packed` of the wrong
/// length (`packed` must have [`dwconv_packed_len`] elements); nothing is written then.
pub fn dwconv_pack(
    g: &Conv2dGeometry,
    weights: &[f32],
    bias: Option<&[f32]>,
    packed: &mut [f32],
) -> Result<(), KernelError> {
    dw::pack(g, LANES, weights, bias, packed)
}

/// Depthwise convolution on weights packed by [`dwconv_pack`] (same geometry), NHWC:
///
/// - `input`: `[batch][in_h][in_w][C]`;
/// - `output`: `[batch][out_h][out_w][C]`, each `act(bias + Σ input · weight)` over the taps
///   that fall inside the input (padding contributes nothing).
///
/// Any kernel size, stride, dilation and 4-sided padding. Errors: an invalid or non-depthwise
/// geometry, an invalid clamp, or `packed`, `input` or `output` of the wrong length
/// ([`KernelError::LengthMismatch`]); nothing is written then.
pub fn dwconv_run(
    g: &Conv2dGeometry,
    input: &[f32],
    packed: &[f32],
    act: Activation,
    output: &mut [f32],
) -> Result<(), KernelError> {
    let p = Plan::checked(g, LANES, input, packed, act, output)?;
    let (lo, hi) = act.bounds();
    let env = Env { lo: f32x8::splat(lo), hi: f32x8::splat(hi), rem: p.rem };
    let cx = Ctx { p, packed: packed.as_ptr(), env };
    // SAFETY: no CPU feature needed; the plan checked `input`, `packed` and `output` against
    // the geometry with 8-lane tiles.
    unsafe { dw::run::<Portable>(&cx, input, output) };
    Ok(())
}

/// Clamp bounds and the channels of the partial last tile.
pub(crate) struct Env {
    lo: f32x8,
    hi: f32x8,
    /// Channels in the last tile, `C % 8` (the lanes a masked access touches).
    rem: usize,
}

impl DwVec for f32x8 {
    type Env = Env;
    const TAP_STRIDE: usize = LANES;
    const HOIST_K: usize = 0;
    const SWEEP: bool = false;
    const OVERLAP: bool = false;
    const EDGE_BLOCKS: bool = false;

    #[inline(always)]
    unsafe fn zero() -> Self {
        f32x8::ZERO
    }

    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: 8 floats readable (the caller's contract); unaligned read.
        f32x8::new(unsafe { ptr::read_unaligned(p.cast::<[f32; LANES]>()) })
    }

    #[inline(always)]
    unsafe fn load_in<const M: bool>(p: *const f32, env: &Env) -> Self {
        if !M {
            // SAFETY: forwarded from the caller.
            return unsafe { Self::load(p) };
        }
        let mut a = [0.0; LANES];
        // SAFETY: the caller guarantees `p..p + rem` readable; rem < 8 fits `a`.
        unsafe { ptr::copy_nonoverlapping(p, a.as_mut_ptr(), env.rem) };
        f32x8::new(a)
    }

    #[inline(always)]
    unsafe fn fma(acc: Self, x: Self, w: Self) -> Self {
        x.mul_add(w, acc)
    }

    #[inline(always)]
    unsafe fn add(a: Self, b: Self) -> Self {
        a + b
    }

    #[inline(always)]
    unsafe fn store<const M: bool>(p: *mut f32, v: Self, env: &Env) {
        // fast_clamp is max(lo, min(hi, x)) with the bound first: NaN propagates on every
        // backend of `wide`.
        let v = v.fast_clamp(env.lo, env.hi);
        let n = if M { env.rem } else { LANES };
        // SAFETY: the caller guarantees `p..p + n` writable; `v` has 8 >= n lanes.
        unsafe { ptr::copy_nonoverlapping(v.as_array().as_ptr(), p, n) };
    }
}

/// The portable row kernels (generic path only).
struct Portable;

impl DwRows for Portable {
    type Env = Env;
    const BIAS: RowFn<Env> = bias_row;
    const GENERIC: RowFn<Env> = generic_row;

    fn fast_row(_kw: usize, _sw: usize, _r: usize) -> Option<RowFn<Env>> {
        None
    }
}

/// An output row with every tap in the padding: `act(bias)` everywhere.
///
/// # Safety
/// The [`DwRows`] row-kernel contract (no CPU feature needed).
unsafe fn bias_row(cx: &Ctx<Env>, row: &Row) {
    // SAFETY: forwarded from the caller.
    unsafe { dw::bias_tiles::<f32x8>(cx, row) }
}

/// One output row for any kernel size, stride and dilation.
///
/// # Safety
/// The [`DwRows`] row-kernel contract (no CPU feature needed), a row with valid kernel rows.
unsafe fn generic_row(cx: &Ctx<Env>, row: &Row) {
    // SAFETY: forwarded from the caller.
    unsafe { dw::generic_tiles::<f32x8, NC>(cx, row) }
}
