//! Reference general 2-D convolution (NHWC, groups, stride, dilation, 4-sided padding).

use super::direct::Direct;
use crate::{Activation, Conv2dGeometry, KernelError};

/// General 2-D convolution, NHWC.
///
/// - `input`: `[batch][in_h][in_w][in_c]`;
/// - `weights`: `[out_c][kernel_h][kernel_w][in_c / groups]` (OHWI); output channel `oc`
///   belongs to group `oc / (out_c / groups)` and reads that group's input channels;
/// - `bias`: `[out_c]` or `None`;
/// - `output`: `[batch][out_h][out_w][out_c]`, with `out_h`/`out_w` from
///   [`Conv2dGeometry::validate`]; each element is `act(bias + Σ input · weight)`.
pub fn conv2d(
    g: &Conv2dGeometry,
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    output: &mut [f32],
) -> Result<(), KernelError> {
    super::direct::run(&plan(g)?, input, weights, bias, act, output)
}

/// Validates `g` and describes it for the direct loop.
fn plan(g: &Conv2dGeometry) -> Result<Direct, KernelError> {
    Ok(Direct::conv2d(g, &g.validate()?))
}

/// Length of the reference tier's packed convolution weights: the OHWI weights then `out_c`
/// biases.
pub fn conv2d_packed_len(g: &Conv2dGeometry) -> Result<usize, KernelError> {
    let d = g.validate()?;
    d.weight_len.checked_add(g.out_c).ok_or(KernelError::Overflow { what: "packed length" })
}

/// Packs OHWI weights and an optional bias `[out_c]` for [`conv2d_run`].
pub fn conv2d_pack(
    g: &Conv2dGeometry,
    weights: &[f32],
    bias: Option<&[f32]>,
    packed: &mut [f32],
) -> Result<(), KernelError> {
    let d = g.validate()?;
    super::pack_plain(d.weight_len, g.out_c, weights, bias, packed)
}

/// Convolution on weights packed by [`conv2d_pack`]; same contract as [`conv2d`].
pub fn conv2d_run(
    g: &Conv2dGeometry,
    input: &[f32],
    packed: &[f32],
    act: Activation,
    output: &mut [f32],
) -> Result<(), KernelError> {
    let d = g.validate()?;
    let (w, b) = super::split_plain(d.weight_len, g.out_c, packed)?;
    conv2d(g, input, w, Some(b), act, output)
}
