//! Reference depthwise k×k convolution (depth multiplier 1).

use super::{bias_at, check_bias, unpad};
use crate::{Activation, Conv2dGeometry, KernelError, error::check_len};

/// Depthwise convolution, NHWC: every channel is convolved with its own k×k kernel.
///
/// - `g` must be depthwise: `groups == in_c == out_c` (else [`KernelError::Unsupported`]);
///   any kernel size, stride, dilation and padding;
/// - `input`: `[batch][in_h][in_w][channels]`;
/// - `weights`: `[kernel_h][kernel_w][channels]` (HWC);
/// - `bias`: `[channels]` or `None`;
/// - `output`: `[batch][out_h][out_w][channels]`, each `act(bias + Σ input · weight)`.
pub fn dwconv(
    g: &Conv2dGeometry,
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    output: &mut [f32],
) -> Result<(), KernelError> {
    let d = g.validate()?;
    check_depthwise(g)?;
    act.validate()?;
    let c = g.in_c;
    check_len("input", d.input_len, input.len())?;
    check_len("weights", d.weight_len, weights.len())?;
    check_bias(bias, c)?;
    check_len("output", d.output_len, output.len())?;

    for n in 0..g.batch {
        for oy in 0..d.out_h {
            for ox in 0..d.out_w {
                for ch in 0..c {
                    let mut acc = bias_at(bias, ch);
                    for ky in 0..g.kernel_h {
                        let Some(iy) = unpad(oy * g.stride_h + ky * g.dilation_h, g.padding.top, g.in_h)
                        else {
                            continue;
                        };
                        for kx in 0..g.kernel_w {
                            let Some(ix) = unpad(ox * g.stride_w + kx * g.dilation_w, g.padding.left, g.in_w)
                            else {
                                continue;
                            };
                            let x = input[((n * g.in_h + iy) * g.in_w + ix) * c + ch];
                            let w = weights[(ky * g.kernel_w + kx) * c + ch];
                            acc += f64::from(x) * f64::from(w);
                        }
                    }
                    output[((n * d.out_h + oy) * d.out_w + ox) * c + ch] = act.apply(acc as f32);
                }
            }
        }
    }
    Ok(())
}

/// Errors unless `g` is depthwise (`groups == in_c == out_c`).
pub(crate) fn check_depthwise(g: &Conv2dGeometry) -> Result<(), KernelError> {
    if g.is_depthwise() {
        return Ok(());
    }
    let (what, value) = if g.out_c != g.in_c { ("out_c", g.out_c) } else { ("groups", g.groups) };
    Err(KernelError::Unsupported { kernel: "dwconv", what, value, expected: g.in_c })
}

/// Length of the reference tier's packed depthwise weights: `kh·kw·C` weights then `C` biases.
pub fn dwconv_packed_len(g: &Conv2dGeometry) -> Result<usize, KernelError> {
    let d = g.validate()?;
    check_depthwise(g)?;
    d.weight_len.checked_add(g.in_c).ok_or(KernelError::Overflow { what: "packed length" })
}

/// Packs depthwise weights `[kh][kw][C]` and an optional bias `[C]` for [`dwconv_run`].
pub fn dwconv_pack(
    g: &Conv2dGeometry,
    weights: &[f32],
    bias: Option<&[f32]>,
    packed: &mut [f32],
) -> Result<(), KernelError> {
    let d = g.validate()?;
    check_depthwise(g)?;
    super::pack_plain(d.weight_len, g.in_c, weights, bias, packed)
}

/// Depthwise convolution on weights packed by [`dwconv_pack`]; same contract as [`dwconv`].
pub fn dwconv_run(
    g: &Conv2dGeometry,
    input: &[f32],
    packed: &[f32],
    act: Activation,
    output: &mut [f32],
) -> Result<(), KernelError> {
    let d = g.validate()?;
    let (w, b) = super::split_plain(d.weight_len, g.in_c, packed)?;
    dwconv(g, input, w, Some(b), act, output)
}
