//! Dense and grouped k×k convolution, all groups in one pass (portable `wide::f32x8`).
//!
//! Output-channel vectorized: for each output pixel, each group and each block of 8 output
//! channels of that group, the accumulator starts at the block's bias and, over every
//! `(ky, kx)` tap that falls inside the input and every input channel `ic` of the group, adds
//! `splat(input) · weights[ky][kx][ic][0..8]`. Taps in the padding are skipped. The activation
//! is applied per lane at the store, exactly as [`Activation::apply`] does.

use wide::f32x8;

use crate::{Activation, Conv2dGeometry, KernelError, error::check_len};

/// Packed floats per group: `ceil(cout_g / 8)` blocks of `8 · (1 + kh·kw·cin_g)`.
fn packed_len_of(g: &Conv2dGeometry) -> Option<usize> {
    let cin_g = g.in_c / g.groups;
    let cout_g = g.out_c / g.groups;
    let block = g.kernel_h.checked_mul(g.kernel_w)?.checked_mul(cin_g)?.checked_add(1)?.checked_mul(8)?;
    block.checked_mul(cout_g.div_ceil(8))?.checked_mul(g.groups)
}

/// Length of the portable tier's packed buffer for `g`.
///
/// Layout: for each group, for each block of 8 of the group's output channels (the last block
/// zero-padded when `out_c / groups` is not a multiple of 8): 8 biases, then the weights
/// `[kh][kw][in_c/groups][8]` (lane `l` = output channel `8·block + l` of the group).
pub fn conv2d_packed_len(g: &Conv2dGeometry) -> Result<usize, KernelError> {
    let g = &g.canonical();
    g.validate()?;
    packed_len_of(g).ok_or(KernelError::Overflow { what: "packed length" })
}

/// Packs OHWI weights `[out_c][kh][kw][in_c/groups]` and an optional bias `[out_c]` into the
/// layout described at [`conv2d_packed_len`], for [`conv2d_run`].
///
/// Errors: invalid geometry, or wrong weight / bias / packed lengths. Nothing is written on
/// error.
pub fn conv2d_pack(
    g: &Conv2dGeometry,
    weights: &[f32],
    bias: Option<&[f32]>,
    packed: &mut [f32],
) -> Result<(), KernelError> {
    let g = &g.canonical();
    let d = g.validate()?;
    check_len("weights", d.weight_len, weights.len())?;
    if let Some(b) = bias {
        check_len("bias", g.out_c, b.len())?;
    }
    let total = packed_len_of(g).ok_or(KernelError::Overflow { what: "packed length" })?;
    check_len("packed", total, packed.len())?;

    let cin_g = g.in_c / g.groups;
    let cout_g = g.out_c / g.groups;
    let taps = g.kernel_h * g.kernel_w;
    let block_len = 8 * (1 + taps * cin_g);
    for (b, block) in packed.chunks_exact_mut(block_len).enumerate() {
        let (grp, first) = (b / cout_g.div_ceil(8), 8 * (b % cout_g.div_ceil(8)));
        block.fill(0.0);
        for lane in 0..8.min(cout_g - first) {
            let oc = grp * cout_g + first + lane;
            block[lane] = bias.map_or(0.0, |b| b[oc]);
            for t in 0..taps {
                for ic in 0..cin_g {
                    block[8 + (t * cin_g + ic) * 8 + lane] = weights[(oc * taps + t) * cin_g + ic];
                }
            }
        }
    }
    Ok(())
}

/// Convolution on weights packed by [`conv2d_pack`] (same geometry), NHWC.
///
/// - `input`: `[batch][in_h][in_w][in_c]`;
/// - `output`: `[batch][out_h][out_w][out_c]`, each element `act(bias + Σ input · weight)`
///   over the taps that fall inside the input.
///
/// Errors: invalid geometry or activation, wrong packed / input / output length. Nothing is
/// written on error.
pub fn conv2d_run(
    g: &Conv2dGeometry,
    input: &[f32],
    packed: &[f32],
    act: Activation,
    output: &mut [f32],
) -> Result<(), KernelError> {
    let g = &g.canonical();
    let d = g.validate()?;
    let total = packed_len_of(g).ok_or(KernelError::Overflow { what: "packed length" })?;
    check_len("packed", total, packed.len())?;
    act.validate()?;
    check_len("input", d.input_len, input.len())?;
    check_len("output", d.output_len, output.len())?;

    let cin_g = g.in_c / g.groups;
    let cout_g = g.out_c / g.groups;
    let blocks = cout_g.div_ceil(8);
    let block_len = 8 * (1 + g.kernel_h * g.kernel_w * cin_g);
    let p = g.padding;
    let load8 = |s: &[f32]| f32x8::from(<[f32; 8]>::try_from(&s[..8]).unwrap_or([0.0; 8]));
    for n in 0..g.batch {
        for oy in 0..d.out_h {
            for ox in 0..d.out_w {
                let out_px = ((n * d.out_h + oy) * d.out_w + ox) * g.out_c;
                for (b, block) in packed.chunks_exact(block_len).enumerate() {
                    let (grp, first) = (b / blocks, 8 * (b % blocks));
                    let mut acc = load8(block);
                    for ky in 0..g.kernel_h {
                        let Some(iy) = (oy * g.stride_h + ky * g.dilation_h).checked_sub(p.top) else {
                            continue;
                        };
                        if iy >= g.in_h {
                            continue;
                        }
                        for kx in 0..g.kernel_w {
                            let Some(ix) = (ox * g.stride_w + kx * g.dilation_w).checked_sub(p.left) else {
                                continue;
                            };
                            if ix >= g.in_w {
                                continue;
                            }
                            let x0 = ((n * g.in_h + iy) * g.in_w + ix) * g.in_c + grp * cin_g;
                            let xs = &input[x0..x0 + cin_g];
                            let w0 = 8 + (ky * g.kernel_w + kx) * cin_g * 8;
                            let ws = &block[w0..w0 + cin_g * 8];
                            for (&x, w) in xs.iter().zip(ws.chunks_exact(8)) {
                                acc = f32x8::splat(x).mul_add(load8(w), acc);
                            }
                        }
                    }
                    let width = 8.min(cout_g - first);
                    let o0 = out_px + grp * cout_g + first;
                    for (o, &v) in output[o0..o0 + width].iter_mut().zip(acc.to_array().iter()) {
                        *o = act.apply(v);
                    }
                }
            }
        }
    }
    Ok(())
}
