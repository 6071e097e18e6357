//! The one direct-convolution loop behind every convolution oracle.
//!
//! `conv2d`, `dwconv`, `row_pass`, `col_pass`, `pointwise` and `dense` each check their own
//! geometry, describe it as a [`Direct`] and call [`run`], which checks the activation and the
//! operands and runs the loop. The pools walk their windows over the same [`Direct`].

use super::check_bias;
use crate::{Activation, Conv2dDims, Conv2dGeometry, KernelError, error::check_len};

/// One spatial axis of a sliding window: output position `o` with tap `k` reads input position
/// `o·stride + k·dilation - pad_before`, or nothing where that falls in the padding.
#[derive(Clone, Copy, Debug)]
pub(super) struct Axis {
    /// Input extent.
    pub input: usize,
    /// Output extent.
    pub output: usize,
    /// Taps of the window along this axis.
    pub kernel: usize,
    /// Input positions between two consecutive outputs.
    pub stride: usize,
    /// Input positions between two consecutive taps.
    pub dilation: usize,
    /// Padding before the first input position.
    pub pad_before: usize,
}

impl Axis {
    /// An axis the window does not run along: one tap, the extent unchanged.
    pub fn identity(extent: usize) -> Self {
        Self { input: extent, output: extent, kernel: 1, stride: 1, dilation: 1, pad_before: 0 }
    }

    /// The input position that tap `k` of output `o` reads, or `None` in the padding.
    #[inline]
    pub fn tap(&self, o: usize, k: usize) -> Option<usize> {
        let i = (o * self.stride + k * self.dilation).checked_sub(self.pad_before)?;
        (i < self.input).then_some(i)
    }
}

/// The lengths `input`, `weights` and `output` must have. A length that overflowed is an
/// `Err`, returned only when [`run`] comes to that operand: every oracle reports its errors
/// in the order it checks its operands (`dense` computes its lengths that way).
pub(super) struct Lens {
    /// Length of `input`.
    pub input: Result<usize, KernelError>,
    /// Length of `weights`.
    pub weights: Result<usize, KernelError>,
    /// Length of `output`.
    pub output: Result<usize, KernelError>,
}

impl Lens {
    /// Lengths that a validated geometry has already computed.
    pub fn known(input: usize, weights: usize, output: usize) -> Self {
        Self { input: Ok(input), weights: Ok(weights), output: Ok(output) }
    }
}

/// A direct convolution over NHWC tensors, as [`run`] computes it:
///
/// - `input`: `[batch][h.input][w.input][in_c]`; `output`: `[batch][h.output][w.output][out_c]`;
/// - the channels form `groups` groups: output channel `oc` belongs to group
///   `oc / (out_c / groups)` and reads that group's `in_c / groups` input channels;
/// - the weight of output channel `oc`, tap `(ky, kx)` and the group's input channel `ic` is
///   `weights[oc·w_oc + (ky·w.kernel + kx)·w_tap + ic]`;
/// - `bias`: `[out_c]`.
pub(super) struct Direct {
    /// Batch size N.
    pub batch: usize,
    /// The window along the height.
    pub h: Axis,
    /// The window along the width.
    pub w: Axis,
    /// Channels of an input pixel.
    pub in_c: usize,
    /// Channels of an output pixel (and of the bias).
    pub out_c: usize,
    /// Channel groups; divides `in_c` and `out_c`.
    pub groups: usize,
    /// Weight stride of an output channel.
    pub w_oc: usize,
    /// Weight stride of a tap.
    pub w_tap: usize,
    /// The operands' lengths.
    pub lens: Lens,
}

impl Direct {
    /// The convolution a validated `g` (with `d = g.validate()`) describes, with OHWI weights
    /// `[out_c][kernel_h][kernel_w][in_c / groups]`.
    pub fn conv2d(g: &Conv2dGeometry, d: &Conv2dDims) -> Self {
        let axis = |input, output, kernel, stride, dilation, pad_before| Axis {
            input,
            output,
            kernel,
            stride,
            dilation,
            pad_before,
        };
        let cin_g = g.in_c / g.groups;
        Self {
            batch: g.batch,
            h: axis(g.in_h, d.out_h, g.kernel_h, g.stride_h, g.dilation_h, g.padding.top),
            w: axis(g.in_w, d.out_w, g.kernel_w, g.stride_w, g.dilation_w, g.padding.left),
            in_c: g.in_c,
            out_c: g.out_c,
            groups: g.groups,
            w_oc: g.kernel_h * g.kernel_w * cin_g,
            w_tap: cin_g,
            lens: Lens::known(d.input_len, d.weight_len, d.output_len),
        }
    }

    /// The GEMM `[rows][in_c] × [out_c][in_c]ᵀ -> [rows][out_c]`: a 1×1 convolution over
    /// `rows` pixels of height and width 1, with weights `[out_c][in_c]`.
    pub fn gemm(rows: usize, in_c: usize, out_c: usize, lens: Lens) -> Self {
        let (h, w) = (Axis::identity(1), Axis::identity(1));
        Self { batch: rows, h, w, in_c, out_c, groups: 1, w_oc: in_c, w_tap: in_c, lens }
    }

    /// Index of pixel `(n, iy, ix)` in `[batch][h.input][w.input]`.
    #[inline]
    pub fn in_pixel(&self, n: usize, iy: usize, ix: usize) -> usize {
        (n * self.h.input + iy) * self.w.input + ix
    }

    /// Calls `f(o, [n, oy, ox], oc)` for every output element in output order: `o` is its index
    /// in `[batch][h.output][w.output][out_c]`.
    pub fn for_each_output(&self, mut f: impl FnMut(usize, [usize; 3], usize)) {
        let mut o = 0;
        for n in 0..self.batch {
            for oy in 0..self.h.output {
                for ox in 0..self.w.output {
                    for oc in 0..self.out_c {
                        f(o, [n, oy, ox], oc);
                        o += 1;
                    }
                }
            }
        }
    }
}

/// Runs the convolution `d`: checks `act`, then the lengths of `input`, `weights`, `bias` and
/// `output` in that order (nothing is written on error), then sets every output element to
/// `act(bias + Σ input · weight)`, accumulated in `f64` from the bias (0 without one) over the
/// taps in `ky`, `kx` order (taps in the padding skipped) and, per tap, the group's input
/// channels in order; the sum is rounded once to `f32` before the activation.
pub(super) fn run(
    d: &Direct,
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    output: &mut [f32],
) -> Result<(), KernelError> {
    act.validate()?;
    check_len("input", d.lens.input.clone()?, input.len())?;
    check_len("weights", d.lens.weights.clone()?, weights.len())?;
    check_bias(bias, d.out_c)?;
    check_len("output", d.lens.output.clone()?, output.len())?;

    let (cin_g, cout_g) = (d.in_c / d.groups, d.out_c / d.groups);
    d.for_each_output(|o, [n, oy, ox], oc| {
        let group = oc / cout_g;
        let mut acc = bias.map_or(0.0, |b| f64::from(b[oc]));
        for ky in 0..d.h.kernel {
            let Some(iy) = d.h.tap(oy, ky) else { continue };
            for kx in 0..d.w.kernel {
                let Some(ix) = d.w.tap(ox, kx) else { continue };
                let x = d.in_pixel(n, iy, ix) * d.in_c + group * cin_g;
                let w = oc * d.w_oc + (ky * d.w.kernel + kx) * d.w_tap;
                for ic in 0..cin_g {
                    acc += f64::from(input[x + ic]) * f64::from(weights[w + ic]);
                }
            }
        }
        output[o] = act.apply(acc as f32);
    });
    Ok(())
}
