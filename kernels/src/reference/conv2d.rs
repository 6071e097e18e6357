//! Reference general 2-D convolution (NHWC, groups, stride, dilation, 4-sided padding).

use super::direct::Direct;
use crate::{Conv2dGeometry, KernelError};

oracles! {
    /// General 2-D convolution, NHWC.
    ///
    /// - `input`: `[batch][in_h][in_w][in_c]`;
    /// - `weights`: `[out_c][kernel_h][kernel_w][in_c / groups]` (OHWI); output channel `oc`
    ///   belongs to group `oc / (out_c / groups)` and reads that group's input channels;
    /// - `bias`: `[out_c]` or `None`;
    /// - `output`: `[batch][out_h][out_w][out_c]`, with `out_h`/`out_w` from
    ///   [`Conv2dGeometry::validate`]; each element is `act(bias + Σ input · weight)`.
    pub fn conv2d(g: &Conv2dGeometry) => plan(g);
}

/// Validates `g` and describes it for the direct loop.
fn plan(g: &Conv2dGeometry) -> Result<Direct, KernelError> {
    Ok(Direct::conv2d(g, &g.validate()?))
}

packed_contract! {
    g: &Conv2dGeometry => plain g.validate().map(|d| (d.weight_len, g.out_c));

    /// Length of the reference tier's packed convolution weights: the OHWI weights then `out_c`
    /// biases.
    pub fn conv2d_packed_len;

    /// Packs OHWI weights and an optional bias `[out_c]` for [`conv2d_run`].
    pub fn conv2d_pack;

    /// Convolution on weights packed by [`conv2d_pack`]; same contract as [`conv2d`].
    pub fn conv2d_run => conv2d;
}
