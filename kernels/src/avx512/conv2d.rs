//! Dense and grouped k×k convolution, all groups in one pass (AVX-512F): the 16-lane ZMM
//! microkernels of the wide plan in the family module `conv2d`.
//!
//! - **Wide** plan: blocks of 32 output channels (two ZMM), a last block of 16 lanes for a
//!   remainder of 1..=16 or 32 lanes for 17..=31, stored through a lane mask
//!   (`_mm512_mask_storeu_ps`); register tiles of up to 12 pixels × 32 channels (24 of the 32
//!   ZMM) or 14 pixels × 16 channels. With one group, no horizontal dilation and fewer than
//!   16 input channels the border columns of each row get tiles of their own, so that the
//!   interior tiles always take the long contiguous loop; interior tiles of 16-lane blocks
//!   with fewer than 16 channels per group and no such run loop over `(kx, ic)` in one run
//!   per kernel row through a table of input offsets.
//! - **Narrow** plan (`in_c / groups == out_c / groups` in {1, 2, 4} with groups > 1):
//!   **delegated to the AVX2 kernel** ([`crate::x86_64::conv2d`]), which vectorizes *across*
//!   groups with in-lane rotations of 8-lane vectors. That plan is limited by loads and
//!   shuffles more than by FMA width, and its AVX2 form already runs the standard layer
//!   `gc_c64_g32_56` several times faster than ONNX Runtime does with AVX-512. The packed
//!   buffer of a narrow geometry has the AVX2 narrow layout; the entry points still require
//!   AVX-512F first (so the tier reports `IsaUnavailable { isa: "avx512" }` the same way for
//!   every geometry).
//!
//! Every public function checks the geometry and every slice length before touching memory,
//! checks the CPU (AVX-512F + AVX2 + FMA, [`super::ensure_available`]) before any
//! `#[target_feature]` call, and writes nothing on error.

use super::simd::Avx512;
use crate::conv2d::{self, WideKernel, WidePlan};
use crate::x86_64::simd::Avx2;
use crate::{Activation, Conv2dGeometry, KernelError};

// SAFETY: `ENSURE` checks AVX-512F, AVX2 and FMA: the wide tiles' features and the AVX2
// narrow kernel's.
unsafe impl WideKernel for Avx512 {
    const PLAN: WidePlan =
        WidePlan { border_segments: true, offset_table: true, ..WidePlan::new(2, [0, 14, 12, 0, 0]) };
    type Narrow = Avx2;
    const ENSURE: fn() -> Result<(), KernelError> = super::ensure_available;
    conv2d::wide_tile_fn!(#[target_feature(enable = "avx512f,avx2,fma")]);
}

conv2d::entry_points!(
    Avx512,
    ", or a CPU without AVX-512F + AVX2 + FMA ([`KernelError::IsaUnavailable`])",
    /// Length of the AVX-512 tier's packed buffer for `g`: the wide layout of the family module `conv2d`
    /// with 16 lanes (blocks of 32 channels), or for a narrow geometry the AVX2 tier's narrow
    /// layout (exactly `crate::x86_64::conv2d::conv2d_packed_len(g)` floats).
);
