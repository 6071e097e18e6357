//! Dense and grouped k×k convolution, all groups in one pass (portable `wide::f32x8`): the
//! 8-lane microkernel of the wide plan in the family module `conv2d`, for any target.
//!
//! Every geometry takes the wide plan with blocks of 8 output channels (one vector) and
//! register tiles of up to 4 pixels; there is no narrow plan in this tier. The activation is
//! applied per lane exactly as [`Activation::apply`] does (NaN propagates).

use wide::f32x8;

use crate::conv2d::{self, NoNarrow, WideKernel, WidePlan};
use crate::{Activation, Conv2dGeometry, KernelError};

/// The portable tier of the conv2d family.
pub(crate) struct Portable;

// SAFETY: plain Rust on `wide` vectors: no CPU feature needed.
unsafe impl WideKernel for Portable {
    const PLAN: WidePlan = WidePlan::new(1, [0, 4, 0, 0, 0]);
    type Narrow = NoNarrow;
    const ENSURE: fn() -> Result<(), KernelError> = || Ok(());
    conv2d::wide_tile_fn!(#[inline(never)]);
}

conv2d::vector_ops! { Portable: f32x8, usize, 8;
    splat(x) = f32x8::splat(x);
    load(p) = f32x8::from(p.cast::<[f32; 8]>().read_unaligned());
    broadcast(p) = f32x8::splat(*p);
    fma(acc, w, x) = x.mul_add(w, acc);
    // As `Activation::apply`: comparisons with NaN are false, so NaN stays.
    clamp(x, lo, hi) = {
        let y = x.simd_lt(lo).select(lo, x);
        y.simd_gt(hi).select(hi, y)
    };
    store(p, v) = p.cast::<[f32; 8]>().write_unaligned(v.to_array());
    mask(n) = n.min(8);
    store_masked(p, v, n) = core::ptr::copy_nonoverlapping(v.to_array().as_ptr(), p, n);
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
