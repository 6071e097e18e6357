//! Reference pointwise 1×1 convolution, i.e. a GEMM over pixels.

use super::direct::{Direct, Lens};
use crate::{Activation, KernelError, PointwiseShape};

/// Pointwise (1×1, stride 1, unpadded) convolution, NHWC, seen as the GEMM
/// `[pixels, in_c] × [in_c, out_c]`.
///
/// - `input`: `[pixels][in_c]` (an NHWC tensor with `pixels = N·H·W`);
/// - `weights`: `[out_c][in_c]` (OI: the OHWI layout of a 1×1 kernel);
/// - `bias`: `[out_c]` or `None`;
/// - `output`: `[pixels][out_c]`, each `act(bias + Σ_k input[p][k] · weights[o][k])`.
pub fn pointwise(
    s: &PointwiseShape,
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    output: &mut [f32],
) -> Result<(), KernelError> {
    super::direct::run(&plan(s)?, input, weights, bias, act, output)
}

/// Validates `s` and describes it for the direct loop.
fn plan(s: &PointwiseShape) -> Result<Direct, KernelError> {
    let (input_len, weight_len, output_len) = s.validate()?;
    Ok(Direct::gemm(s.pixels, s.in_c, s.out_c, Lens::known(input_len, weight_len, output_len)))
}

/// Length of the reference tier's packed pointwise weights: `[out_c][in_c]` then `out_c`
/// biases.
pub fn pointwise_packed_len(s: &PointwiseShape) -> Result<usize, KernelError> {
    let (_, weight_len, _) = s.validate()?;
    weight_len.checked_add(s.out_c).ok_or(KernelError::Overflow { what: "packed length" })
}

/// Packs pointwise weights `[out_c][in_c]` and an optional bias for [`pointwise_run`].
pub fn pointwise_pack(
    s: &PointwiseShape,
    weights: &[f32],
    bias: Option<&[f32]>,
    packed: &mut [f32],
) -> Result<(), KernelError> {
    let (_, weight_len, _) = s.validate()?;
    super::pack_plain(weight_len, s.out_c, weights, bias, packed)
}

/// Pointwise convolution on weights packed by [`pointwise_pack`]; same contract as
/// [`pointwise`].
pub fn pointwise_run(
    s: &PointwiseShape,
    input: &[f32],
    packed: &[f32],
    act: Activation,
    output: &mut [f32],
) -> Result<(), KernelError> {
    let (_, weight_len, _) = s.validate()?;
    let (w, b) = super::split_plain(weight_len, s.out_c, packed)?;
    pointwise(s, input, w, Some(b), act, output)
}
