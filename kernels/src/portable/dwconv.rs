//! Depthwise k×k convolution (depth multiplier 1), NHWC, portable SIMD (`wide::f32x8`): the
//! vector type of the generic plan and driver in `crate::dwconv` (which documents the
//! algorithm), run on its generic path (no specialised row kernels: without a known register
//! file they would spill).
//!
//! # Packed layout
//!
//! The layout of `crate::dwconv` with tiles of 8 channels (one `f32x8`): per tile
//! `[bias × 8][tap 0 × 8]…[tap kh·kw−1 × 8]`, taps row-major, lane `l` holding channel `8t + l`
//! (the last tile shifted onto the last 8 channels, or zero-padded below 8). Length `ceil(C / 8) · 8 · (1 + kh·kw)`.
//!
//! Interior pixels are computed 4 at a time × 8 channels; a padded tile (fewer than 8
//! channels) is read and written through small zero-filled copies.

use core::ptr;

use wide::f32x8;

use crate::Activation;
use crate::dwconv::{self as dw, Ctx, DwRows, DwVec, Plan, Row, RowFn};

/// Channels per packed tile.
const LANES: usize = 8;

/// Output pixels per interior block.
const NC: usize = 4;

dw::entry_points! { LANES, any_cpu;
    /// Length of the portable tier's packed depthwise weights: `ceil(C / 8) · 8 · (1 + kh·kw)`
    /// (see the module docs for the layout).
    ///
    /// Errors: an invalid or non-depthwise geometry, or overflow.
    packed_len;
    /// Packs depthwise weights `[kh][kw][C]` and an optional bias `[C]` (zeros without one) into
    /// channel tiles of 8 for [`dwconv_run`]: per tile `[bias × 8][tap 0 × 8]…`, the last
    /// tile shifted onto the last 8 channels or zero-padded (see the module docs).
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
    /// Any kernel size, stride, dilation and 4-sided padding. Errors: an invalid or non-depthwise
    /// geometry, an invalid clamp, or `packed`, `input` or `output` of the wrong length
    /// ([`KernelError::LengthMismatch`](crate::KernelError::LengthMismatch)); nothing is written then.
    run;
}

/// The portable tier runs on any CPU: never an error.
fn any_cpu() -> Result<(), crate::KernelError> {
    Ok(())
}

/// Runs a checked plan.
///
/// # Safety
/// `p` came from [`Plan::checked`] with 8 lanes and the same `input`, `packed` and `output`
/// lengths (no CPU feature needed).
unsafe fn run(p: &Plan, input: &[f32], packed: &[f32], act: Activation, output: &mut [f32]) {
    let (lo, hi) = act.bounds();
    let env = Env { lo: f32x8::splat(lo), hi: f32x8::splat(hi), rem: p.rem };
    let cx = Ctx { p: *p, packed: packed.as_ptr(), env };
    // SAFETY: forwarded from the caller.
    unsafe { dw::run::<Portable>(&cx, input, output) };
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
    unsafe { dw::each_tile!(cx, f32x8, bias_view(cx, row.out)) }
}

/// One output row for any kernel size, stride and dilation.
///
/// # Safety
/// The [`DwRows`] row-kernel contract (no CPU feature needed), a row with valid kernel rows.
unsafe fn generic_row(cx: &Ctx<Env>, row: &Row) {
    // SAFETY: forwarded from the caller.
    unsafe { dw::each_tile!(cx, f32x8, generic_view::<NC>(cx, row)) }
}
