//! Scalar reference kernels: the obvious loops, written for clarity, the oracle every SIMD
//! kernel is tested against.
//!
//! Every function validates its geometry and the lengths of all slices and returns a
//! [`KernelError`] on mismatch; nothing is written to `output` then.
//! Accumulation is done in `f64` and rounded once to `f32` before the activation, so the
//! reference is at least as accurate as any `f32` kernel it judges.
//!
//! Besides the oracle functions (`dwconv`, `pointwise`, `conv2d`, `row_pass`, `col_pass`, which
//! take weights and bias as given), every convolution family has the **packed contract** that
//! every ISA folder implements with the same names (see the crate docs): `F_packed_len`,
//! `F_pack`, `F_run`. The reference "packing" is the weights as given followed by the bias
//! (zeros without one).

mod activation;
mod add;
mod conv2d;
mod dense;
mod direct;
mod dwconv;
mod pointwise;
mod pool;
mod separable;

pub use activation::{activation, activation_in_place};
pub use add::add;
pub use conv2d::{conv2d, conv2d_pack, conv2d_packed_len, conv2d_run};
pub use dense::{DenseShape, dense};
pub(crate) use dwconv::check_depthwise;
pub use dwconv::{dwconv, dwconv_pack, dwconv_packed_len, dwconv_run};
pub use pointwise::{pointwise, pointwise_pack, pointwise_packed_len, pointwise_run};
pub use pool::{GlobalPoolShape, avg_pool, global_avg_pool, max_pool};
pub use separable::{col_pass, col_pass_run, row_pass, row_pass_run, separable_pack, separable_packed_len};

use crate::{KernelError, error::check_len};

/// Checks an optional bias against the channel count it must have.
fn check_bias(bias: Option<&[f32]>, channels: usize) -> Result<(), KernelError> {
    match bias {
        Some(b) => check_len("bias", channels, b.len()),
        None => Ok(()),
    }
}

/// Packs weights as given followed by the bias (`channels` zeros without one): the reference
/// tier's packed layout, of length `weight_len + channels`.
fn pack_plain(
    weight_len: usize,
    channels: usize,
    weights: &[f32],
    bias: Option<&[f32]>,
    packed: &mut [f32],
) -> Result<(), KernelError> {
    check_len("weights", weight_len, weights.len())?;
    check_bias(bias, channels)?;
    let total = weight_len.checked_add(channels).ok_or(KernelError::Overflow { what: "packed length" })?;
    check_len("packed", total, packed.len())?;
    let (w, b) = packed.split_at_mut(weight_len);
    w.copy_from_slice(weights);
    match bias {
        Some(bias) => b.copy_from_slice(bias),
        None => b.fill(0.0),
    }
    Ok(())
}

/// Splits a buffer packed by [`pack_plain`] into weights and bias.
fn split_plain(weight_len: usize, channels: usize, packed: &[f32]) -> Result<(&[f32], &[f32]), KernelError> {
    let total = weight_len.checked_add(channels).ok_or(KernelError::Overflow { what: "packed length" })?;
    check_len("packed", total, packed.len())?;
    Ok(packed.split_at(weight_len))
}
