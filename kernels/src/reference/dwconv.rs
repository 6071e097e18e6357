//! Reference depthwise k×k convolution (depth multiplier 1).

use super::direct::Direct;
use crate::{Conv2dGeometry, KernelError};

oracles! {
    /// Depthwise convolution, NHWC: every channel is convolved with its own k×k kernel.
    ///
    /// - `g` must be depthwise: `groups == in_c == out_c` (else [`KernelError::Unsupported`]);
    ///   any kernel size, stride, dilation and padding;
    /// - `input`: `[batch][in_h][in_w][channels]`;
    /// - `weights`: `[kernel_h][kernel_w][channels]` (HWC);
    /// - `bias`: `[channels]` or `None`;
    /// - `output`: `[batch][out_h][out_w][channels]`, each `act(bias + Σ input · weight)`.
    pub fn dwconv(g: &Conv2dGeometry) => plan(g);
}

/// Validates `g`, checks that it is depthwise and describes it for the direct loop: one input
/// channel per group, HWC weights. The pools walk their windows over it too.
pub(super) fn plan(g: &Conv2dGeometry) -> Result<Direct, KernelError> {
    let d = g.validate()?;
    check_depthwise(g)?;
    Ok(Direct { w_oc: 1, w_tap: g.in_c, ..Direct::conv2d(g, &d) })
}

/// Errors unless `g` is depthwise (`groups == in_c == out_c`).
pub(crate) fn check_depthwise(g: &Conv2dGeometry) -> Result<(), KernelError> {
    if g.is_depthwise() {
        return Ok(());
    }
    let (what, value) = if g.out_c != g.in_c { ("out_c", g.out_c) } else { ("groups", g.groups) };
    Err(KernelError::Unsupported { kernel: "dwconv", what, value, expected: g.in_c })
}

packed_contract! {
    g: &Conv2dGeometry => plain g.validate().map(|d| (d.weight_len, g.in_c)), checked check_depthwise(g);

    /// Length of the reference tier's packed depthwise weights: `kh·kw·C` weights then `C` biases.
    pub fn dwconv_packed_len;

    /// Packs depthwise weights `[kh][kw][C]` and an optional bias `[C]` for [`dwconv_run`].
    pub fn dwconv_pack;

    /// Depthwise convolution on weights packed by [`dwconv_pack`]; same contract as [`dwconv`].
    pub fn dwconv_run => dwconv;
}
