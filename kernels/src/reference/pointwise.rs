//! Reference pointwise 1×1 convolution, i.e. a GEMM over pixels.

use super::direct::{Direct, Lens};
use crate::{KernelError, PointwiseShape};

oracles! {
    /// Pointwise (1×1, stride 1, unpadded) convolution, NHWC, seen as the GEMM
    /// `[pixels, in_c] × [in_c, out_c]`.
    ///
    /// - `input`: `[pixels][in_c]` (an NHWC tensor with `pixels = N·H·W`);
    /// - `weights`: `[out_c][in_c]` (OI: the OHWI layout of a 1×1 kernel);
    /// - `bias`: `[out_c]` or `None`;
    /// - `output`: `[pixels][out_c]`, each `act(bias + Σ_k input[p][k] · weights[o][k])`.
    pub fn pointwise(s: &PointwiseShape) => plan(s);
}

/// Validates `s` and describes it for the direct loop.
fn plan(s: &PointwiseShape) -> Result<Direct, KernelError> {
    let (input_len, weight_len, output_len) = s.validate()?;
    Ok(Direct::gemm(s.pixels, s.in_c, s.out_c, Lens::known(input_len, weight_len, output_len)))
}

packed_contract! {
    s: &PointwiseShape => plain s.validate().map(|(_, weight_len, _)| (weight_len, s.out_c));

    /// Length of the reference tier's packed pointwise weights: `[out_c][in_c]` then `out_c`
    /// biases.
    pub fn pointwise_packed_len;

    /// Packs pointwise weights `[out_c][in_c]` and an optional bias for [`pointwise_run`].
    pub fn pointwise_pack;

    /// Pointwise convolution on weights packed by [`pointwise_pack`]; same contract as
    /// [`pointwise`].
    pub fn pointwise_run => pointwise;
}
