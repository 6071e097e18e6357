//! Pointwise 1×1 convolution (NHWC) and dense layers, portable `f32x8`: the microkernel behind
//! the plan and driver of `crate::pointwise` (which documents the packed layout and loop nests).
//!
//! Panels of 8 columns (one `f32x8`): length `(in_c + 1) · round_up(out_c, 8)`, as AVX2's but
//! not its layout. Tiles of up to 4 rows × 8 columns; panel-major, K blocks of 512 rows.

use wide::f32x8;

use crate::KernelError;
use crate::pointwise::{Gemm, Microkernel, Sweep, drive, entry_points, tile};

entry_points!(Portable, "no CPU (this tier runs everywhere)");

/// The portable pointwise microkernel (`wide::f32x8`, whatever the target's vectors are).
struct Portable;

impl Microkernel for Portable {
    type V = f32x8;
    type Tail = usize;
    const LANES: usize = 8;
    const FULL_NV: usize = 1;
    const MAX_NV: usize = 1;
    const MAX_ROWS: [usize; 3] = [4, 4, 4];

    fn ensure_available() -> Result<(), KernelError> {
        Ok(())
    }

    #[inline(always)]
    unsafe fn run(g: &Gemm) {
        // SAFETY: the same contract (`drive`'s; no CPU features needed).
        unsafe { drive::<Self>(g) }
    }

    #[inline(always)]
    unsafe fn tile<const MR: usize, const NV: usize>(sw: &Sweep<Self>, a: *const f32, c: *mut f32) {
        // SAFETY: the same contract (`tile`'s; no CPU features needed).
        unsafe { tile::<Self, MR, NV>(sw, a, c) }
    }

    #[inline(always)]
    unsafe fn splat(x: f32) -> f32x8 {
        f32x8::splat(x)
    }

    #[inline(always)]
    unsafe fn load(p: *const f32) -> f32x8 {
        // SAFETY: 8 readable floats at `p` (trait contract); unaligned read.
        f32x8::new(unsafe { p.cast::<[f32; 8]>().read_unaligned() })
    }

    #[inline(always)]
    unsafe fn load_tail(p: *const f32, valid: usize) -> f32x8 {
        let mut t = [0.0f32; 8];
        // SAFETY: `valid <= 8` readable floats at `p` (trait contract) into a separate array.
        unsafe { core::ptr::copy_nonoverlapping(p, t.as_mut_ptr(), valid) };
        f32x8::new(t)
    }

    #[inline(always)]
    unsafe fn broadcast(p: *const f32) -> f32x8 {
        // SAFETY: `p` is readable (trait contract).
        f32x8::splat(unsafe { *p })
    }

    #[inline(always)]
    unsafe fn fma(a: f32x8, b: f32x8, acc: f32x8) -> f32x8 {
        a.mul_add(b, acc)
    }

    #[inline(always)]
    unsafe fn clamp(x: f32x8, lo: f32x8, hi: f32x8) -> f32x8 {
        // Bound first (the NaN-propagating order on SSE and NEON), then NaN lanes restored for
        // backends whose fast_max/fast_min drop them: NaN propagates as in the reference.
        x.is_nan().bitselect(x, lo.fast_max(x).fast_min(hi))
    }

    #[inline(always)]
    unsafe fn store(p: *mut f32, v: f32x8) {
        // SAFETY: 8 writable floats at `p` (trait contract); unaligned write.
        unsafe { p.cast::<[f32; 8]>().write_unaligned(v.to_array()) }
    }

    #[inline(always)]
    unsafe fn store_tail(p: *mut f32, valid: usize, v: f32x8) {
        // SAFETY: `valid <= 8` writable floats at `p` (trait contract) from a separate array.
        unsafe { core::ptr::copy_nonoverlapping(v.to_array().as_ptr(), p, valid) }
    }

    #[inline(always)]
    unsafe fn tail(valid: usize) -> usize {
        valid
    }
}
