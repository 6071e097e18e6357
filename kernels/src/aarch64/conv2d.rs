//! Dense and grouped k×k convolution, all groups in one pass (NEON): the 4-lane Q-register
//! microkernels of the plan in the family module `conv2d`.
//!
//! - **Wide** plan: blocks of 16 output channels (four Q registers), a last block of 4, 8, 12
//!   or 16 lanes for the remainder (partial vectors are stored lane by lane); register tiles
//!   of up to 6 pixels × 16 or 12 channels (24 accumulators), 8 pixels × 8 or 4 channels.
//!   The weight vectors of each `(ky, kx, ic)` are loaded once and each pixel's input value is
//!   broadcast (`vld1q_dup_f32`, which LLVM turns into a scalar `ldr s` feeding by-element
//!   `fmla v.4s, w.4s, x.s[0]`): 8 loads per 24 FMAs for the 6 × 16 tile.
//! - **Narrow** plan (`in_c / groups == out_c / groups == c` in {1, 2, 4}, groups > 1):
//!   4 channels per Q register, the in-group rotations are `vrev64q_f32` for pairs and
//!   `vextq_f32` for quads. The 3-wide row tile keeps its `3·c` weight vectors in registers
//!   for the whole kernel row (32 registers are enough).
//!
//! The tiles are never inlined into their dispatcher: each gets its own register allocation
//! (all accumulators in registers). Every public function checks the geometry and every slice
//! length before touching memory and writes nothing on error.

use core::arch::aarch64::{float32x4_t, vextq_f32, vrev64q_f32};

use super::simd::Neon;
use crate::conv2d::{self, NarrowKernel, WideKernel, WidePlan};
use crate::{Activation, Conv2dGeometry, KernelError};

// SAFETY: `ENSURE` checks NEON, all the tiles use.
unsafe impl WideKernel for Neon {
    const PLAN: WidePlan = WidePlan::new(4, [0, 8, 8, 6, 6]);
    type Narrow = Self;
    const ENSURE: fn() -> Result<(), KernelError> = super::ensure_available;
    conv2d::wide_tile_fn!(#[target_feature(enable = "neon")] #[inline(never)]);
}

// SAFETY: as the `F32Vector` impl: NEON intrinsics under the trait's pointer contracts.
unsafe impl NarrowKernel for Neon {
    const HOIST_K3: bool = true;
    #[inline(always)]
    unsafe fn rotate<const C: usize>(x: float32x4_t, r: usize) -> float32x4_t {
        // SAFETY: NEON available (caller).
        unsafe {
            match (C, r) {
                (2, 1) => vrev64q_f32(x),
                (4, 1) => vextq_f32::<1>(x, x),
                (4, 2) => vextq_f32::<2>(x, x),
                (4, 3) => vextq_f32::<3>(x, x),
                _ => x,
            }
        }
    }
    conv2d::narrow_fns!(#[target_feature(enable = "neon")] #[inline(never)]);
}

conv2d::entry_points!(
    Neon,
    ", or a CPU without NEON ([`KernelError::IsaUnavailable`])",
    /// Length of the NEON tier's packed buffer for `g`: the layouts of the family module `conv2d` with
    /// 4 lanes (wide blocks of 16 channels, then one block of `4·ceil(rem/4)` lanes for a
    /// remainder `rem` of 1..=15; narrow vectors of 4).
);
