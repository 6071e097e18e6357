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

/// Defines convolution oracles `pub fn NAME(g, input, weights, bias, act, output)`, each with
/// the docs given: `plan` checks the geometry `g` and describes it as a [`direct::Direct`]
/// (`Result<Direct, KernelError>`), then [`direct::run`] checks the other arguments and runs
/// the one loop.
macro_rules! oracles {
    ($($(#[$doc:meta])* pub fn $name:ident($g:ident: &$geometry:ty) => $plan:expr;)+) => {$(
        $(#[$doc])*
        pub fn $name(
            $g: &$geometry,
            input: &[f32],
            weights: &[f32],
            bias: Option<&[f32]>,
            act: $crate::Activation,
            output: &mut [f32],
        ) -> Result<(), $crate::KernelError> {
            super::direct::run(&$plan?, input, weights, bias, act, output)
        }
    )+};
}

/// Defines a family's packed contract, each function with the docs given: `LEN(g)`,
/// `PACK(g, weights, bias, packed)` and one `RUN(g, input, packed, act, output)` per oracle
/// `RUN` calls, over the layout of [`pack_plain`]. `plain` checks `g` and gives the weight and
/// bias lengths `(weight_len, channels)` (`Result<(usize, usize), KernelError>`); the optional
/// `checked` (`Result<(), KernelError>`) is a further check that `LEN` and `PACK` make after
/// `plain` (`RUN` leaves it to its oracle, after splitting `packed`).
macro_rules! packed_contract {
    (
        $g:ident: &$geometry:ty => plain $plain:expr $(, checked $check:expr)?;
        $(#[$len_doc:meta])* pub fn $len:ident;
        $(#[$pack_doc:meta])* pub fn $pack:ident;
        $($(#[$run_doc:meta])* pub fn $run:ident => $oracle:ident;)+
    ) => {
        $(#[$len_doc])*
        pub fn $len($g: &$geometry) -> Result<usize, $crate::KernelError> {
            let plain = $plain?;
            $($check?;)?
            super::packed_total(plain)
        }

        $(#[$pack_doc])*
        pub fn $pack(
            $g: &$geometry,
            weights: &[f32],
            bias: Option<&[f32]>,
            packed: &mut [f32],
        ) -> Result<(), $crate::KernelError> {
            let plain = $plain?;
            $($check?;)?
            super::pack_plain(plain, weights, bias, packed)
        }

        $(
            $(#[$run_doc])*
            pub fn $run(
                $g: &$geometry,
                input: &[f32],
                packed: &[f32],
                act: $crate::Activation,
                output: &mut [f32],
            ) -> Result<(), $crate::KernelError> {
                let (w, b) = super::split_plain($plain?, packed)?;
                $oracle($g, input, w, Some(b), act, output)
            }
        )+
    };
}

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

/// Length of the reference tier's packed layout: `weight_len` weights then `channels` biases.
fn packed_total((weight_len, channels): (usize, usize)) -> Result<usize, KernelError> {
    weight_len.checked_add(channels).ok_or(KernelError::Overflow { what: "packed length" })
}

/// Packs weights as given followed by the bias (`channels` zeros without one): the reference
/// tier's packed layout, of length `weight_len + channels`.
fn pack_plain(
    (weight_len, channels): (usize, usize),
    weights: &[f32],
    bias: Option<&[f32]>,
    packed: &mut [f32],
) -> Result<(), KernelError> {
    check_len("weights", weight_len, weights.len())?;
    check_bias(bias, channels)?;
    check_len("packed", packed_total((weight_len, channels))?, packed.len())?;
    let (w, b) = packed.split_at_mut(weight_len);
    w.copy_from_slice(weights);
    match bias {
        Some(bias) => b.copy_from_slice(bias),
        None => b.fill(0.0),
    }
    Ok(())
}

/// Splits a buffer packed by [`pack_plain`] into weights and bias.
fn split_plain(plain: (usize, usize), packed: &[f32]) -> Result<(&[f32], &[f32]), KernelError> {
    check_len("packed", packed_total(plain)?, packed.len())?;
    Ok(packed.split_at(plain.0))
}
