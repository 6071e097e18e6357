//! Reference general 2-D convolution (NHWC, groups, stride, dilation, 4-sided padding).

use super::{bias_at, check_bias, unpad};
use crate::{Activation, Conv2dGeometry, KernelError, error::check_len};

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
    let d = g.validate()?;
    act.validate()?;
    check_len("input", d.input_len, input.len())?;
    check_len("weights", d.weight_len, weights.len())?;
    check_bias(bias, g.out_c)?;
    check_len("output", d.output_len, output.len())?;

    let cin_g = g.in_c / g.groups;
    let cout_g = g.out_c / g.groups;
    for n in 0..g.batch {
        for oy in 0..d.out_h {
            for ox in 0..d.out_w {
                for oc in 0..g.out_c {
                    let group = oc / cout_g;
                    let mut acc = bias_at(bias, oc);
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
                            let in_base = ((n * g.in_h + iy) * g.in_w + ix) * g.in_c + group * cin_g;
                            let w_base = ((oc * g.kernel_h + ky) * g.kernel_w + kx) * cin_g;
                            for ic in 0..cin_g {
                                acc += f64::from(input[in_base + ic]) * f64::from(weights[w_base + ic]);
                            }
                        }
                    }
                    output[((n * d.out_h + oy) * d.out_w + ox) * g.out_c + oc] = act.apply(acc as f32);
                }
            }
        }
    }
    Ok(())
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
