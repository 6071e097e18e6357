//! 2-D resize of NHWC images, nearest or bilinear, with the ONNX coordinate transforms
//! (`Resize` with `coordinate_transformation_mode` and `nearest_mode`).
//!
//! The per-axis source positions are computed once when the op is planned (a table of taps
//! per output row and per output column); running is then a gather (nearest) or a blend of
//! 2×2 channel vectors (bilinear), the same loop on every tier.

use std::ops::Range;

use super::{check_plan_shape, check_shape, slice_band};
use crate::dispatch::Isa;
use crate::error::Error;
use crate::graph::{NearestRounding, ResizeCoord, ResizeMode, ResizeSpec};
use crate::tensor::{Shape4, TensorView, TensorViewMut};
use crate::threads::Par;

/// One output position along an axis: `(1 - w) · in[i0] + w · in[i1]` (nearest: `w = 0`).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Tap {
    i0: usize,
    i1: usize,
    w: f32,
}

/// A planned resize of `N×H×W×C` images to `N×out_h×out_w×C`.
#[derive(Debug)]
pub struct Resize {
    input: Shape4,
    output: Shape4,
    rows: Vec<Tap>,
    cols: Vec<Tap>,
    linear: bool,
    isa: Isa,
}

impl Resize {
    const OP: &'static str = "Resize";

    /// Plans `spec` for inputs of `input`, on tier `isa` (an error if the CPU lacks it; the
    /// op is the same loop on every tier). Errors: an empty output, or a scale that is not
    /// finite and positive.
    pub fn with_isa(isa: Isa, input: Shape4, spec: &ResizeSpec) -> Result<Self, Error> {
        isa.ensure_available()?;
        check_plan_shape(input)?;
        let output = Shape4 { h: spec.out_h, w: spec.out_w, ..input };
        check_plan_shape(output)?;
        for (what, s) in [("vertical scale", spec.scale_h), ("horizontal scale", spec.scale_w)] {
            if !(s.is_finite() && s > 0.0) {
                return Err(Error::InvalidParam {
                    op: Self::OP,
                    what,
                    value: 0,
                    reason: "must be finite and positive",
                });
            }
        }
        let rows = axis_taps(input.h, spec.out_h, spec.scale_h, spec.mode, spec.coord);
        let cols = axis_taps(input.w, spec.out_w, spec.scale_w, spec.mode, spec.coord);
        Ok(Self { input, output, rows, cols, linear: spec.mode == ResizeMode::Linear, isa })
    }

    /// `output = resize(x)`; `x` of the planned input shape, `output` of [`Self::output_shape`].
    pub fn run(&self, x: TensorView<'_>, mut output: TensorViewMut<'_>) -> Result<(), Error> {
        self.check(&x, &output)?;
        let rows = self.output.n * self.output.h;
        self.band(0..rows, x.as_slice(), output.as_mut_slice())
    }

    /// As [`Self::run`], with the output rows split into bands run in parallel on `par`'s
    /// threads (bit-identical results; with one thread this is [`Self::run`]).
    pub fn run_par(
        &self,
        x: TensorView<'_>,
        mut output: TensorViewMut<'_>,
        par: &Par<'_>,
    ) -> Result<(), Error> {
        if par.is_single() {
            return self.run(x, output);
        }
        self.check(&x, &output)?;
        let row = self.output.w * self.output.c;
        let x = x.as_slice();
        par.for_each_band_mut(
            output.as_mut_slice(),
            row,
            par.min_band_rows(4 * row as u64, 1),
            |rows, out| self.band(rows, x, out),
        )
    }

    fn check(&self, x: &TensorView<'_>, output: &TensorViewMut<'_>) -> Result<(), Error> {
        check_shape(Self::OP, "x", self.input, x.shape())?;
        check_shape(Self::OP, "output", self.output, output.shape())
    }

    /// Output rows `rows` (across the batch: row `r` is row `r mod out_h` of image
    /// `r / out_h`) into `out` (those rows).
    fn band(&self, rows: Range<usize>, x: &[f32], out: &mut [f32]) -> Result<(), Error> {
        let (s, c) = (self.input, self.input.c);
        let (in_row, out_row) = (s.w * c, self.output.w * c);
        let image = s.h * in_row;
        for (r, dst) in rows.zip(out.chunks_exact_mut(out_row)) {
            let (n, oy) = (r / self.output.h, r % self.output.h);
            // `rows` has a tap per output row (planned), and oy < out_h.
            let tap = self.rows.get(oy).copied().unwrap_or(Tap { i0: 0, i1: 0, w: 0.0 });
            let row_at = |iy: usize| {
                slice_band(Self::OP, "x", x, n * image + iy * in_row..n * image + (iy + 1) * in_row)
            };
            let (top, bottom) = (row_at(tap.i0)?, row_at(tap.i1)?);
            for (px, col) in dst.chunks_exact_mut(c).zip(&self.cols) {
                let t0 = pixel(top, col.i0, c)?;
                if !self.linear {
                    px.copy_from_slice(t0);
                    continue;
                }
                let (t1, b0, b1) =
                    (pixel(top, col.i1, c)?, pixel(bottom, col.i0, c)?, pixel(bottom, col.i1, c)?);
                let (wx, wy) = (col.w, tap.w);
                for ((((o, &p00), &p01), &p10), &p11) in px.iter_mut().zip(t0).zip(t1).zip(b0).zip(b1) {
                    let upper = p00 + wx * (p01 - p00);
                    let lower = p10 + wx * (p11 - p10);
                    *o = upper + wy * (lower - upper);
                }
            }
        }
        Ok(())
    }

    /// The planned input shape.
    pub fn input_shape(&self) -> Shape4 {
        self.input
    }
    /// The output shape.
    pub fn output_shape(&self) -> Shape4 {
        self.output
    }
    /// The kernel's name.
    pub fn kernel_name(&self) -> &'static str {
        if self.linear { "resize_bilinear/portable" } else { "resize_nearest/portable" }
    }
    /// The tier the op was planned for.
    pub fn isa(&self) -> Isa {
        self.isa
    }
}

/// Pixel `i` (`c` channels) of an input row.
fn pixel(row: &[f32], i: usize, c: usize) -> Result<&[f32], Error> {
    slice_band(Resize::OP, "x", row, i * c..(i + 1) * c)
}

/// The input coordinate of output coordinate `x` along an axis of input length `n`, output
/// length `m` and scale `s` (ONNX `coordinate_transformation_mode`), in `f32` as ONNX Runtime
/// computes it.
fn source_coord(x: usize, n: usize, m: usize, s: f32, coord: ResizeCoord) -> f32 {
    let x = x as f32;
    match coord {
        ResizeCoord::HalfPixel => (x + 0.5) / s - 0.5,
        ResizeCoord::PytorchHalfPixel if m > 1 => (x + 0.5) / s - 0.5,
        ResizeCoord::PytorchHalfPixel => 0.0,
        ResizeCoord::AlignCorners if m > 1 => x * (n as f32 - 1.0) / (m as f32 - 1.0),
        ResizeCoord::AlignCorners => 0.0,
        ResizeCoord::Asymmetric => x / s,
    }
}

/// `x` rounded to an index as `r` says (ties: `round_prefer_*`).
fn round_index(x: f32, r: NearestRounding) -> f32 {
    let tie = x.fract().abs() == 0.5;
    match r {
        NearestRounding::RoundPreferFloor if tie => x.floor(),
        NearestRounding::RoundPreferCeil if tie => x.ceil(),
        NearestRounding::RoundPreferFloor | NearestRounding::RoundPreferCeil => x.round(),
        NearestRounding::Floor => x.floor(),
        NearestRounding::Ceil => x.ceil(),
    }
}

/// The taps of every output position along an axis of input length `n >= 1`, output length
/// `m`: the nearest index, or the two neighbours and the blend weight of a coordinate clamped
/// to `[0, n - 1]`. Indices are always inside the input.
fn axis_taps(n: usize, m: usize, s: f32, mode: ResizeMode, coord: ResizeCoord) -> Vec<Tap> {
    let last = n.saturating_sub(1);
    (0..m)
        .map(|x| {
            let v = source_coord(x, n, m, s, coord);
            match mode {
                ResizeMode::Nearest(r) => {
                    let i = round_index(v, r).max(0.0).min(last as f32) as usize;
                    Tap { i0: i, i1: i, w: 0.0 }
                }
                ResizeMode::Linear => {
                    let v = v.max(0.0).min(last as f32);
                    let i0 = (v as usize).min(last);
                    let i1 = (i0 + 1).min(last);
                    Tap { i0, i1, w: if i1 == i0 { 0.0 } else { v - i0 as f32 } }
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ONNX reference's taps for a few axes: 2 → 4 half-pixel linear, align-corners,
    /// asymmetric nearest with floor, and round_prefer_ceil ties.
    #[test]
    fn taps_follow_the_onnx_coordinate_transforms() {
        let t = |i0, i1, w| Tap { i0, i1, w };
        // half_pixel, 2 -> 4: x_in = (x + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 -> clamped.
        assert_eq!(
            axis_taps(2, 4, 2.0, ResizeMode::Linear, ResizeCoord::HalfPixel),
            [t(0, 1, 0.0), t(0, 1, 0.25), t(0, 1, 0.75), t(1, 1, 0.0)]
        );
        // align_corners, 3 -> 5: x_in = x · 2 / 4.
        assert_eq!(
            axis_taps(3, 5, 5.0 / 3.0, ResizeMode::Linear, ResizeCoord::AlignCorners),
            [t(0, 1, 0.0), t(0, 1, 0.5), t(1, 2, 0.0), t(1, 2, 0.5), t(2, 2, 0.0)]
        );
        // asymmetric nearest floor, 4 -> 2 (scale 0.5): x_in = 0, 2.
        let near = |r| ResizeMode::Nearest(r);
        assert_eq!(
            axis_taps(4, 2, 0.5, near(NearestRounding::Floor), ResizeCoord::Asymmetric),
            [t(0, 0, 0.0), t(2, 2, 0.0)]
        );
        // asymmetric, 2 -> 4 (x_in = 0, 0.5, 1, 1.5): ties round down, or up, then clamp.
        let idx = |r| -> Vec<usize> {
            axis_taps(2, 4, 2.0, near(r), ResizeCoord::Asymmetric).iter().map(|t| t.i0).collect()
        };
        assert_eq!(idx(NearestRounding::RoundPreferFloor), [0, 0, 1, 1]);
        assert_eq!(idx(NearestRounding::RoundPreferCeil), [0, 1, 1, 1]);
        assert_eq!(idx(NearestRounding::Ceil), [0, 1, 1, 1]);
        // pytorch_half_pixel and align_corners to one output: coordinate 0.
        assert_eq!(axis_taps(5, 1, 0.2, ResizeMode::Linear, ResizeCoord::PytorchHalfPixel), [t(0, 1, 0.0)]);
    }
}
