//! Reference spatially separable passes: row 1×k and column k×1, per channel.

use super::direct::{Axis, Direct, Lens};
use crate::separable::check_axis;
use crate::{KernelError, SeparableAxis, SeparablePassGeometry};

oracles! {
    /// Row pass (1×k along the width), per channel, NHWC.
    ///
    /// - `g.axis` must be [`SeparableAxis::Row`]; stride, dilation and `pad_before`/`pad_after`
    ///   (left/right) apply along the width; the height is unchanged;
    /// - `input`: `[batch][in_h][in_w][channels]`;
    /// - `weights`: `[kernel][channels]`;
    /// - `bias`: `[channels]` or `None`;
    /// - `output`: `[batch][in_h][out_w][channels]`,
    ///   `out[n][y][x][c] = act(bias[c] + Σ_t in[n][y][x·stride + t·dilation - pad_before][c] · w[t][c])`.
    pub fn row_pass(g: &SeparablePassGeometry) => plan(g, SeparableAxis::Row, "row_pass");

    /// Column pass (k×1 along the height), per channel, NHWC.
    ///
    /// Same contract as [`row_pass`] with the roles of height and width exchanged: `g.axis` must be
    /// [`SeparableAxis::Column`], `pad_before`/`pad_after` are top/bottom, the width is unchanged,
    /// and `output` is `[batch][out_h][in_w][channels]`.
    pub fn col_pass(g: &SeparablePassGeometry) => plan(g, SeparableAxis::Column, "col_pass");
}

/// Checks that `g` runs along `axis` (else the error names `kernel`), validates it and
/// describes it for the direct loop: a depthwise 1×k (row) or k×1 (column) window with
/// weights `[k][C]`.
fn plan(g: &SeparablePassGeometry, axis: SeparableAxis, kernel: &'static str) -> Result<Direct, KernelError> {
    check_axis(g, axis, kernel)?;
    let d = g.validate()?;
    let along = |input, output| Axis {
        input,
        output,
        kernel: g.kernel,
        stride: g.stride,
        dilation: g.dilation,
        pad_before: g.pad_before,
    };
    let (h, w) = match axis {
        SeparableAxis::Row => (Axis::identity(g.in_h), along(g.in_w, d.out_w)),
        SeparableAxis::Column => (along(g.in_h, d.out_h), Axis::identity(g.in_w)),
    };
    let c = g.channels;
    let lens = Lens::known(d.input_len, d.weight_len, d.output_len);
    Ok(Direct { batch: g.batch, h, w, in_c: c, out_c: c, groups: c, w_oc: 1, w_tap: c, lens })
}

packed_contract! {
    g: &SeparablePassGeometry => plain g.validate().map(|d| (d.weight_len, g.channels));

    /// Length of the reference tier's packed separable-pass weights: `[k][C]` then `C` biases.
    pub fn separable_packed_len;

    /// Packs a separable pass's weights `[k][C]` and an optional bias `[C]` for [`row_pass_run`]
    /// and [`col_pass_run`] (the same layout serves both axes).
    pub fn separable_pack;

    /// Row pass on weights packed by [`separable_pack`]; same contract as [`row_pass`].
    pub fn row_pass_run => row_pass;

    /// Column pass on weights packed by [`separable_pack`]; same contract as [`col_pass`].
    pub fn col_pass_run => col_pass;
}
