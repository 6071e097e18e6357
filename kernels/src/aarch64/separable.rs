//! Row 1×k and column k×1 spatially separable passes, per channel, NEON: the `SepVector`
//! impl for 4-lane vectors and the safe entry points. The plan, the packed layout and the
//! drivers are written once in `crate::separable` (see its docs).
//!
//! # Packed layout (same for both axes)
//!
//! The tiled layout of `crate::separable` with `L = 4`: with `Cp = ceil(C / 4)·4` and
//! `S = lcm(4, C) + 4`, `[Cp]` bias, `[k][Cp]` weights, `[S]` bias pattern `bias[j mod C]`,
//! `[k][S]` weight patterns `w[t][j mod C]`. Total length `(k + 1)·(Cp + S)`.

use core::arch::aarch64::{float32x4_t, vdupq_n_f32, vfmaq_f32, vld1q_f32, vmaxq_f32, vminq_f32, vst1q_f32};

use crate::separable::SepVector;
use crate::{Activation, KernelError, SeparableAxis, SeparablePassGeometry};

/// The NEON vector primitives of the separable drivers.
#[derive(Clone, Copy)]
struct Neon;

// RT = 8 accumulators cover the A76's 4-cycle FMA latency on both pipes (1.125 loads per FMA;
// A76 has two load pipes beside its two FMA pipes); RC × VC = 6 × 4 = 24 column accumulators
// (+ 4 inputs + 1 weight = 29 of the 32 vector registers).
crate::separable::sep_vector_impl! {
    Neon: float32x4_t, lanes 4, rt 8, vc 4;
    splat vdupq_n_f32, load vld1q_f32, store vst1q_f32, min vminq_f32, max vmaxq_f32;

    /// The number of live lanes, 1..=4 (NEON has no masked loads: partial vectors go through
    /// a stack buffer).
    type Tail = usize;

    #[inline(always)]
    unsafe fn fma(acc: float32x4_t, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        // SAFETY: NEON is present (the trait's contract).
        unsafe { vfmaq_f32(acc, a, b) }
    }
    #[inline(always)]
    unsafe fn tail(n: usize) -> usize {
        n
    }
    #[inline(always)]
    unsafe fn load_part(p: *const f32, n: usize) -> float32x4_t {
        let mut tmp = [0f32; 4];
        // SAFETY: NEON; `p` readable for `n <= 4` floats (the caller's contract); `tmp` is a
        // local 4-float array.
        unsafe {
            core::ptr::copy_nonoverlapping(p, tmp.as_mut_ptr(), n);
            vld1q_f32(tmp.as_ptr())
        }
    }
    #[inline(always)]
    unsafe fn store_part(p: *mut f32, v: float32x4_t, n: usize) {
        let mut tmp = [0f32; 4];
        // SAFETY: NEON; `p` writable for `n <= 4` floats (the caller's contract); `tmp` is a
        // local 4-float array.
        unsafe {
            vst1q_f32(tmp.as_mut_ptr(), v);
            core::ptr::copy_nonoverlapping(tmp.as_ptr(), p, n);
        }
    }
}

crate::separable::simd_entry_points!(Neon, isa: "NEON", features: "neon");
