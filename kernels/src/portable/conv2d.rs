//! Dense and grouped k×k convolution, all groups in one pass (portable `wide::f32x8`): the
//! 8-lane microkernel of the wide plan in the family module `conv2d`, for any target.
//!
//! Every geometry takes the wide plan with blocks of 8 output channels (one vector) and
//! register tiles of up to 4 pixels; there is no narrow plan in this tier. The activation is
//! applied per lane exactly as [`Activation::apply`] does (NaN propagates).

use super::simd::Portable;
use crate::conv2d::{self, NoNarrow, WideKernel, WidePlan};
use crate::{Activation, Conv2dGeometry, KernelError};

// SAFETY: plain Rust on `wide` vectors: no CPU feature needed.
unsafe impl WideKernel for Portable {
    const PLAN: WidePlan = WidePlan::new(1, [0, 4, 0, 0, 0]);
    type Narrow = NoNarrow;
    const ENSURE: fn() -> Result<(), KernelError> = || Ok(());
    conv2d::wide_tile_fn!(#[inline(never)]);
}

conv2d::entry_points!(
    Portable,
    "",
    /// Length of the portable tier's packed buffer for `g`.
    ///
    /// Layout: for each group, for each block of 8 of the group's output channels (the last block
    /// zero-padded when `out_c / groups` is not a multiple of 8): 8 biases, then the weights
    /// `[kh][kw][in_c/groups][8]` (lane `l` = output channel `8·block + l` of the group).
);
