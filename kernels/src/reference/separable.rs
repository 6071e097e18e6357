//! Reference spatially separable passes: row 1×k and column k×1, per channel.

use super::{bias_at, check_bias, unpad};
use crate::separable::check_axis;
use crate::{Activation, KernelError, SeparableAxis, SeparablePassGeometry, error::check_len};

/// Row pass (1×k along the width), per channel, NHWC.
///
/// - `g.axis` must be [`SeparableAxis::Row`]; stride, dilation and `pad_before`/`pad_after`
///   (left/right) apply along the width; the height is unchanged;
/// - `input`: `[batch][in_h][in_w][channels]`;
/// - `weights`: `[kernel][channels]`;
/// - `bias`: `[channels]` or `None`;
/// - `output`: `[batch][in_h][out_w][channels]`,
///   `out[n][y][x][c] = act(bias[c] + Σ_t in[n][y][x·stride + t·dilation - pad_before][c] · w[t][c])`.
pub fn row_pass(
    g: &SeparablePassGeometry,
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    output: &mut [f32],
) -> Result<(), KernelError> {
    check_axis(g, SeparableAxis::Row, "row_pass")?;
    separable_pass(g, input, weights, bias, act, output)
}

/// Column pass (k×1 along the height), per channel, NHWC.
///
/// Same contract as [`row_pass`] with the roles of height and width exchanged: `g.axis` must be
/// [`SeparableAxis::Column`], `pad_before`/`pad_after` are top/bottom, the width is unchanged,
/// and `output` is `[batch][out_h][in_w][channels]`.
pub fn col_pass(
    g: &SeparablePassGeometry,
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    output: &mut [f32],
) -> Result<(), KernelError> {
    check_axis(g, SeparableAxis::Column, "col_pass")?;
    separable_pass(g, input, weights, bias, act, output)
}

fn separable_pass(
    g: &SeparablePassGeometry,
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    output: &mut [f32],
) -> Result<(), KernelError> {
    let d = g.validate()?;
    act.validate()?;
    let c = g.channels;
    check_len("input", d.input_len, input.len())?;
    check_len("weights", d.weight_len, weights.len())?;
    check_bias(bias, c)?;
    check_len("output", d.output_len, output.len())?;

    for n in 0..g.batch {
        for oy in 0..d.out_h {
            for ox in 0..d.out_w {
                for ch in 0..c {
                    let mut acc = bias_at(bias, ch);
                    for t in 0..g.kernel {
                        let (iy, ix) = match g.axis {
                            SeparableAxis::Row => {
                                (Some(oy), unpad(ox * g.stride + t * g.dilation, g.pad_before, g.in_w))
                            }
                            SeparableAxis::Column => {
                                (unpad(oy * g.stride + t * g.dilation, g.pad_before, g.in_h), Some(ox))
                            }
                        };
                        if let (Some(iy), Some(ix)) = (iy, ix) {
                            let x = input[((n * g.in_h + iy) * g.in_w + ix) * c + ch];
                            acc += f64::from(x) * f64::from(weights[t * c + ch]);
                        }
                    }
                    output[((n * d.out_h + oy) * d.out_w + ox) * c + ch] = act.apply(acc as f32);
                }
            }
        }
    }
    Ok(())
}

/// Length of the reference tier's packed separable-pass weights: `[k][C]` then `C` biases.
pub fn separable_packed_len(g: &SeparablePassGeometry) -> Result<usize, KernelError> {
    let d = g.validate()?;
    d.weight_len.checked_add(g.channels).ok_or(KernelError::Overflow { what: "packed length" })
}

/// Packs a separable pass's weights `[k][C]` and an optional bias `[C]` for [`row_pass_run`]
/// and [`col_pass_run`] (the same layout serves both axes).
pub fn separable_pack(
    g: &SeparablePassGeometry,
    weights: &[f32],
    bias: Option<&[f32]>,
    packed: &mut [f32],
) -> Result<(), KernelError> {
    let d = g.validate()?;
    super::pack_plain(d.weight_len, g.channels, weights, bias, packed)
}

/// Row pass on weights packed by [`separable_pack`]; same contract as [`row_pass`].
pub fn row_pass_run(
    g: &SeparablePassGeometry,
    input: &[f32],
    packed: &[f32],
    act: Activation,
    output: &mut [f32],
) -> Result<(), KernelError> {
    let d = g.validate()?;
    let (w, b) = super::split_plain(d.weight_len, g.channels, packed)?;
    row_pass(g, input, w, Some(b), act, output)
}

/// Column pass on weights packed by [`separable_pack`]; same contract as [`col_pass`].
pub fn col_pass_run(
    g: &SeparablePassGeometry,
    input: &[f32],
    packed: &[f32],
    act: Activation,
    output: &mut [f32],
) -> Result<(), KernelError> {
    let d = g.validate()?;
    let (w, b) = super::split_plain(d.weight_len, g.channels, packed)?;
    col_pass(g, input, w, Some(b), act, output)
}
