//! Pooling: global average, and windowed max and average pools.

use std::ops::Range;

use sepconv_kernels::Conv2dGeometry;
use sepconv_kernels::reference::GlobalPoolShape;

use super::{check_plan_shape, check_shape, default_isa, slice_band};
use crate::dispatch::{GlobalAvgPoolFn, Isa, Kernel, kernels};
use crate::error::Error;
use crate::graph::PoolKind;
use crate::tensor::{Shape4, TensorView, TensorViewMut};
use crate::threads::Par;

/// Global average pool, planned once: `N×H×W×C -> N×1×1×C`, each output the mean of its
/// channel over the `H·W` positions.
#[derive(Debug)]
pub struct GlobalAvgPool {
    input: Shape4,
    isa: Isa,
    kernel: Kernel<GlobalAvgPoolFn>,
}

impl GlobalAvgPool {
    const OP: &'static str = "GlobalAvgPool";

    /// Plans the op for the selected tier.
    pub fn new(input: Shape4) -> Result<Self, Error> {
        Self::with_isa(default_isa()?, input)
    }

    /// Plans the op for tier `isa` (an error if the CPU lacks it).
    pub fn with_isa(isa: Isa, input: Shape4) -> Result<Self, Error> {
        let kernel = kernels(isa)?.global_avg_pool;
        check_plan_shape(input)?;
        Ok(Self { input, isa, kernel })
    }

    /// Runs the pool; `input` and `output` must have the planned shapes.
    pub fn run(&self, input: TensorView<'_>, mut output: TensorViewMut<'_>) -> Result<(), Error> {
        check_shape(Self::OP, "input", self.input, input.shape())?;
        check_shape(Self::OP, "output", self.output_shape(), output.shape())?;
        let s = GlobalPoolShape {
            batch: self.input.n,
            pixels: self.input.h * self.input.w,
            channels: self.input.c,
        };
        (self.kernel.func)(&s, input.as_slice(), output.as_mut_slice()).map_err(Error::kernel(Self::OP))
    }

    /// The same as [`Self::run`], for a uniform op interface: the pool stays single-threaded
    /// (one pass over the input, memory-bound and small next to the convolutions around it).
    pub fn run_par(
        &self,
        input: TensorView<'_>,
        output: TensorViewMut<'_>,
        _par: &Par<'_>,
    ) -> Result<(), Error> {
        self.run(input, output)
    }

    /// `N×H×W×C`.
    pub fn input_shape(&self) -> Shape4 {
        self.input
    }
    /// `N×1×1×C`.
    pub fn output_shape(&self) -> Shape4 {
        Shape4::new(self.input.n, 1, 1, self.input.c)
    }
    /// The kernel's name.
    pub fn kernel_name(&self) -> &'static str {
        self.kernel.name
    }
    /// The tier the op was planned for.
    pub fn isa(&self) -> Isa {
        self.isa
    }
}

/// A windowed max or average pool over NHWC images (ONNX `MaxPool` / `AveragePool`), planned
/// once: `N×H×W×C -> N×OH×OW×C` with the window, stride, dilation and padding of a depthwise
/// [`Conv2dGeometry`]. Each output pixel reduces the channel vectors of its window's input
/// pixels (contiguous in NHWC, so the inner loop runs over channels and vectorises): max
/// (padding never wins, NaN propagates, a window wholly in the padding gives `-inf`), or the
/// mean over the window (`count_include_pad`) or over its positions inside the input (a
/// window wholly in the padding gives NaN, 0/0). The sums are `f32`, in window order.
#[derive(Debug)]
pub struct Pool2d {
    geom: Conv2dGeometry,
    output: Shape4,
    kind: PoolKind,
    isa: Isa,
}

impl Pool2d {
    const OP: &'static str = "Pool";

    /// Plans the pool `g` (`groups == in_c == out_c`, the channels) on tier `isa` (an error if
    /// the CPU lacks it; the loop is the same on every tier). Errors: an invalid geometry, or
    /// one that is not per channel.
    pub fn with_isa(isa: Isa, g: Conv2dGeometry, kind: PoolKind) -> Result<Self, Error> {
        isa.ensure_available()?;
        if !(g.groups == g.in_c && g.out_c == g.in_c) {
            return Err(Error::InvalidParam {
                op: Self::OP,
                what: "groups",
                value: g.groups,
                reason: "a pool window runs per channel: groups, in_c and out_c must be equal",
            });
        }
        let d = g.validate().map_err(Error::kernel(Self::OP))?;
        let output = Shape4::new(g.batch, d.out_h, d.out_w, g.in_c);
        check_plan_shape(output)?;
        Ok(Self { geom: g, output, kind, isa })
    }

    /// The planned input shape.
    pub fn input_shape(&self) -> Shape4 {
        Shape4::new(self.geom.batch, self.geom.in_h, self.geom.in_w, self.geom.in_c)
    }

    /// The output shape.
    pub fn output_shape(&self) -> Shape4 {
        self.output
    }

    /// Runs the pool; `input` and `output` must have the planned shapes.
    pub fn run(&self, input: TensorView<'_>, mut output: TensorViewMut<'_>) -> Result<(), Error> {
        self.check(&input, &output)?;
        self.band(0..self.output.n * self.output.h, input.as_slice(), output.as_mut_slice())
    }

    /// As [`Self::run`], with the output rows split into bands run in parallel on `par`'s
    /// threads (bit-identical results; with one thread this is [`Self::run`]).
    pub fn run_par(
        &self,
        input: TensorView<'_>,
        mut output: TensorViewMut<'_>,
        par: &Par<'_>,
    ) -> Result<(), Error> {
        if par.is_single() {
            return self.run(input, output);
        }
        self.check(&input, &output)?;
        let row = self.output.w * self.output.c;
        let window = (self.geom.kernel_h * self.geom.kernel_w) as u64;
        let x = input.as_slice();
        par.for_each_band_mut(
            output.as_mut_slice(),
            row,
            par.min_band_rows(window * row as u64, 1),
            |rows, out| self.band(rows, x, out),
        )
    }

    fn check(&self, input: &TensorView<'_>, output: &TensorViewMut<'_>) -> Result<(), Error> {
        check_shape(Self::OP, "input", self.input_shape(), input.shape())?;
        check_shape(Self::OP, "output", self.output, output.shape())
    }

    /// Output rows `rows` (row `r` is row `r mod out_h` of image `r / out_h`) into `out`.
    fn band(&self, rows: Range<usize>, x: &[f32], out: &mut [f32]) -> Result<(), Error> {
        let g = &self.geom;
        let c = g.in_c;
        let (in_row, image_len) = (g.in_w * c, g.in_h * g.in_w * c);
        let out_row = self.output.w * c;
        let window_len = (g.kernel_h * g.kernel_w) as f32;
        let max = self.kind == PoolKind::Max;
        for (r, dst) in rows.zip(out.chunks_exact_mut(out_row)) {
            let (n, oy) = (r / self.output.h, r % self.output.h);
            let image = slice_band(Self::OP, "input", x, n * image_len..(n + 1) * image_len)?;
            let ky = tap_range(oy, g.stride_h, g.dilation_h, g.padding.top, g.kernel_h, g.in_h);
            for (ox, px) in dst.chunks_exact_mut(c).enumerate() {
                let kx = tap_range(ox, g.stride_w, g.dilation_w, g.padding.left, g.kernel_w, g.in_w);
                px.fill(if max { f32::NEG_INFINITY } else { 0.0 });
                for ty in ky.clone() {
                    let iy = oy * g.stride_h + ty * g.dilation_h - g.padding.top;
                    for tx in kx.clone() {
                        let at = iy * in_row + (ox * g.stride_w + tx * g.dilation_w - g.padding.left) * c;
                        // Inside the image: the tap ranges keep iy < in_h and ix < in_w.
                        let Some(src) = image.get(at..at + c) else { continue };
                        if max {
                            for (o, &v) in px.iter_mut().zip(src) {
                                // NaN sticks: once `o` is NaN no comparison replaces it.
                                *o = if v > *o || v.is_nan() { v } else { *o };
                            }
                        } else {
                            for (o, &v) in px.iter_mut().zip(src) {
                                *o += v;
                            }
                        }
                    }
                }
                if let PoolKind::Avg { count_include_pad } = self.kind {
                    let count = (ky.len() * kx.len()) as f32;
                    let divisor = if count_include_pad { window_len } else { count };
                    for o in px.iter_mut() {
                        *o /= divisor;
                    }
                }
            }
        }
        Ok(())
    }

    /// Max or average.
    pub fn kind(&self) -> PoolKind {
        self.kind
    }

    /// The kernel's name.
    pub fn kernel_name(&self) -> &'static str {
        match self.kind {
            PoolKind::Max => "max_pool/portable",
            PoolKind::Avg { .. } => "avg_pool/portable",
        }
    }

    /// The tier the op was planned for.
    pub fn isa(&self) -> Isa {
        self.isa
    }
}

/// The window taps `t` of output `o` along an axis whose input positions
/// `o·stride + t·dilation - pad` lie in `0..extent`: a contiguous range of `0..k`.
fn tap_range(o: usize, stride: usize, dilation: usize, pad: usize, k: usize, extent: usize) -> Range<usize> {
    let start = o * stride;
    // First t with start + t·d >= pad; first t with start + t·d >= pad + extent.
    let lo = pad.saturating_sub(start).div_ceil(dilation).min(k);
    let hi = (pad + extent).saturating_sub(start).div_ceil(dilation).min(k);
    lo..hi.max(lo)
}
