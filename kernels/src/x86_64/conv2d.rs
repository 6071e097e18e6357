//! Dense and grouped k×k convolution, all groups in one pass (AVX2+FMA): the 8-lane YMM
//! microkernels of the plan in the family module `conv2d`.
//!
//! - **Wide** plan: blocks of 16 output channels (two YMM), a last block of 8 lanes for a
//!   remainder of 1..=8 or 16 lanes for 9..=15; register tiles of up to 6 pixels × 16 channels
//!   (12 YMM accumulators) or 8 pixels × 8 channels.
//! - **Narrow** plan (`in_c / groups == out_c / groups == c` in {1, 2, 4}, groups > 1):
//!   8 channels per YMM, the in-group rotations are in-lane `vpermilps` shuffles; partial
//!   vectors use `vmaskmovps`. The 3-wide row tile reads its weights from memory (FMA memory
//!   operands) to leave the 16 YMM registers to the accumulators and rotated inputs.
//!
//! Every public function checks the geometry and every slice length before touching memory
//! and writes nothing on error.

use core::arch::x86_64::{__m256, _mm256_permute_ps};

use super::simd::Avx2;
use crate::conv2d::{self, NarrowKernel, WideKernel, WidePlan};
use crate::{Activation, Conv2dGeometry, KernelError};

// SAFETY: `ENSURE` checks AVX2 and FMA, all the tiles use.
unsafe impl WideKernel for Avx2 {
    const PLAN: WidePlan = WidePlan::new(2, [0, 8, 6, 0, 0]);
    type Narrow = Self;
    const ENSURE: fn() -> Result<(), KernelError> = super::ensure_available;
    conv2d::wide_tile_fn!(#[target_feature(enable = "avx2,fma")]);
}

// SAFETY: as the `F32Vector` impl: AVX2 intrinsics under the trait's pointer contracts.
unsafe impl NarrowKernel for Avx2 {
    const HOIST_K3: bool = false;
    #[inline(always)]
    unsafe fn rotate<const C: usize>(x: __m256, r: usize) -> __m256 {
        // SAFETY: AVX available (caller).
        unsafe {
            match (C, r) {
                (2, 1) => _mm256_permute_ps::<0xB1>(x),
                (4, 1) => _mm256_permute_ps::<0x39>(x),
                (4, 2) => _mm256_permute_ps::<0x4E>(x),
                (4, 3) => _mm256_permute_ps::<0x93>(x),
                _ => x,
            }
        }
    }
    conv2d::narrow_fns!(#[target_feature(enable = "avx2,fma")]);
}

conv2d::entry_points!(
    Avx2,
    ", or a CPU without AVX2+FMA ([`KernelError::IsaUnavailable`])",
    /// Length of the AVX2 tier's packed buffer for `g`: the layouts of the family module `conv2d` with
    /// 8 lanes (wide blocks of 16 channels, narrow vectors of 8).
);
