//! Scalar reference kernels: the obvious loops, written for clarity, the oracle every SIMD
//! kernel is tested against.
//!
//! Every function validates its geometry and the lengths of all slices and returns a
//! [`KernelError`](crate::KernelError) on mismatch; nothing is written to `output` then.
//! Accumulation is done in `f64` and rounded once to `f32` before the activation, so the
//! reference is at least as accurate as any `f32` kernel it judges.

mod activation;
mod add;
mod conv2d;
mod dense;
mod dwconv;
mod pointwise;
mod pool;
mod separable;

pub use activation::{activation, activation_in_place};
pub use add::add;
pub use conv2d::conv2d;
pub use dense::{DenseShape, dense};
pub use dwconv::dwconv;
pub use pointwise::pointwise;
pub use pool::{GlobalPoolShape, global_avg_pool};
pub use separable::{col_pass, row_pass};

use crate::{KernelError, error::check_len};

/// Checks an optional bias against the channel count it must have.
fn check_bias(bias: Option<&[f32]>, channels: usize) -> Result<(), KernelError> {
    match bias {
        Some(b) => check_len("bias", channels, b.len()),
        None => Ok(()),
    }
}

/// The bias of channel `c`, or 0 without a bias.
#[inline]
fn bias_at(bias: Option<&[f32]>, c: usize) -> f64 {
    bias.map_or(0.0, |b| f64::from(b[c]))
}

/// Maps a padded coordinate `pos = out * stride + tap * dilation` back to the input,
/// returning `None` for positions that fall in the padding.
#[inline]
fn unpad(pos: usize, pad_before: usize, extent: usize) -> Option<usize> {
    let i = pos.checked_sub(pad_before)?;
    (i < extent).then_some(i)
}
