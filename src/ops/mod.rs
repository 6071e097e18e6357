//! Ops: planned once, run many times.
//!
//! Every op is built with `new(...) -> Result<Self, Error>` (or `with_isa(...)` to choose a
//! tier explicitly), which validates every parameter and shape, packs the weights into the
//! layout its kernel reads, sizes any scratch, and picks its kernel from the dispatcher's
//! table. `run(&self, ...)` then checks the tensors' shapes against the plan and calls the
//! kernel; it does not allocate.
//!
//! Every op also has `run_par(..., par)`, which takes the [`Par`] handle of
//! [`Threads::run`](crate::threads::Threads::run) and splits the op's output rows into bands
//! run in parallel, each by the same kernel on a sub-problem (a GEMM row block, or the output
//! rows of a convolution with just the input rows they need); it checks the same
//! things, gives bit-identical results and does not allocate either. With one thread it is
//! exactly `run`. [`GlobalAvgPool`] stays single-threaded.
//!
//! | op | input | weights (as given) | output |
//! |---|---|---|---|
//! | [`Conv2d`] | `N×H×W×Cin` | `[Cout][kh][kw][Cin/groups]` (OHWI) | `N×OH×OW×Cout` |
//! | [`DepthwiseConv2d`] | `N×H×W×C` | `[kh][kw][C]` | `N×OH×OW×C` |
//! | [`PointwiseConv2d`] | `N×H×W×Cin` | `[Cout][Cin]` | `N×H×W×Cout` |
//! | [`SeparableConv2d`] | `N×H×W×C` | row `[kw][C]`, column `[kh][C]` | `N×OH×OW×C` |
//! | [`ActivationOp`] | any | – | same shape |
//! | [`Add`] | two of one shape | – | same shape |
//! | [`GlobalAvgPool`] | `N×H×W×C` | – | `N×1×1×C` |
//! | [`Pool2d`] (max / average) | `N×H×W×C` | – | `N×OH×OW×C` |
//! | [`Dense`] | `N×1×1×In` | `[Out][In]` | `N×1×1×Out` |
//! | [`Mul`], [`PRelu`] | `N×H×W×C` (and the scale) | per-channel slope for PRelu | same shape |
//! | [`Resize`] | `N×H×W×C` | – | `N×OH×OW×C` |

// Bad shapes are errors, never panics: no slice indexing in the ops.
#![deny(clippy::indexing_slicing)]

mod conv;
mod dense;
mod elementwise;
mod pool;
mod resize;
mod separable;

pub use conv::{Conv2d, ConvPath, DepthwiseConv2d, PointwiseConv2d, conv2d_output_shape};
pub use dense::Dense;
pub use elementwise::{ActivationOp, Add, Mul, PRelu};
pub use pool::{GlobalAvgPool, Pool2d};
pub use resize::Resize;
pub use separable::{SeparableConv2d, SeparablePass1d};

use std::ops::Range;

use sepconv_kernels::{Activation, KernelError, PointwiseShape};

use crate::dispatch::{self, Isa, PackedKernel};
use crate::error::Error;
use crate::tensor::{AlignedBuf, Shape4};
use crate::threads::Par;

/// The tier ops are planned for when none is given: see [`dispatch::selected_isa`].
fn default_isa() -> Result<Isa, Error> {
    Ok(dispatch::selected_isa()?.0)
}

/// Errors unless `actual == expected`.
fn check_shape(op: &'static str, what: &'static str, expected: Shape4, actual: Shape4) -> Result<(), Error> {
    if expected == actual { Ok(()) } else { Err(Error::ShapeMismatch { op, what, expected, actual }) }
}

/// The rows `range` of `buf` (a band of a parallel run), or a length error naming `op` and
/// `what`. The shape checks before every split keep bands inside their buffers, so this error
/// means a bug in the split, not a bad input; it is returned rather than panicking.
fn slice_band<'a>(
    op: &'static str,
    what: &'static str,
    buf: &'a [f32],
    range: Range<usize>,
) -> Result<&'a [f32], Error> {
    let (end, len) = (range.end, buf.len());
    // (Building the error is a few moves, no allocation: `ok_or` is fine on the hot path.)
    buf.get(range)
        .ok_or(Error::Kernel { op, source: KernelError::LengthMismatch { what, expected: end, actual: len } })
}

/// Validates a shape given at plan time (every dimension ≥ 1, no overflow).
fn check_plan_shape(shape: Shape4) -> Result<usize, Error> {
    Ok(shape.validate()?)
}

/// Weights packed once, at plan time, for one [`PackedKernel`].
struct Packed<G: 'static> {
    kernel: PackedKernel<G>,
    buf: AlignedBuf,
}

impl<G> Packed<G> {
    /// Bytes of the packed buffer (its alignment padding included).
    fn bytes(&self) -> usize {
        self.buf.allocated_bytes()
    }

    /// Sizes, allocates and fills the packed buffer; errors (lengths, geometry) name `op`.
    /// `weight_len` is the length the geometry implies for `weights`: it is checked before
    /// anything is allocated, so a short slice with huge dimensions is refused without
    /// attempting a huge allocation.
    fn new(
        op: &'static str,
        kernel: PackedKernel<G>,
        g: &G,
        weight_len: usize,
        weights: &[f32],
        bias: Option<&[f32]>,
    ) -> Result<Self, Error> {
        sepconv_kernels::error::check_len("weights", weight_len, weights.len()).map_err(Error::kernel(op))?;
        let len = (kernel.packed_len)(g).map_err(Error::kernel(op))?;
        let mut buf = AlignedBuf::zeroed(len)?;
        (kernel.pack)(g, weights, bias, buf.as_mut_slice()).map_err(Error::kernel(op))?;
        Ok(Self { kernel, buf })
    }

    /// Runs the kernel on the packed weights.
    fn run(
        &self,
        op: &'static str,
        g: &G,
        input: &[f32],
        act: Activation,
        output: &mut [f32],
    ) -> Result<(), Error> {
        (self.kernel.run)(g, input, self.buf.as_slice(), act, output).map_err(Error::kernel(op))
    }

    /// The kernel's name.
    fn name(&self) -> &'static str {
        self.kernel.name
    }
}

impl<G> std::fmt::Debug for Packed<G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Packed({}, {} floats)", self.kernel.name, self.buf.len())
    }
}

/// Runs the GEMM `[pixels, in_c] × [in_c, out_c]` of a pointwise or dense op in bands of
/// whole rows, each by the op's kernel on a sub-shape `pixels = rows`, sharing the packed
/// weights (the packed layout depends only on `in_c` and `out_c`).
fn gemm_rows_par(
    op: &'static str,
    packed: &Packed<PointwiseShape>,
    s: &PointwiseShape,
    input: &[f32],
    act: Activation,
    output: &mut [f32],
    par: &Par<'_>,
) -> Result<(), Error> {
    // At least 12 rows: two tiles of the AVX2 microkernel, so that each band streams the
    // packed weights through more than one tile.
    let flops_per_row = 2 * s.in_c as u64 * s.out_c as u64;
    let min_rows = par.min_band_rows(flops_per_row, 12);
    par.for_each_band_mut(output, s.out_c, min_rows, |rows, out| {
        let sub = PointwiseShape { pixels: rows.len(), ..*s };
        packed.run(
            op,
            &sub,
            slice_band(op, "input", input, rows.start * s.in_c..rows.end * s.in_c)?,
            act,
            out,
        )
    })
}

/// A convolution along H, as far as splitting its output rows into bands is concerned.
#[derive(Clone, Copy, Debug)]
struct RowsAxis {
    in_h: usize,
    out_h: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    pad_top: usize,
}

/// The input rows a band of output rows needs, as the H part of the band's sub-geometry:
/// rows `first..first + rows` of the image, with the part of the windows above and below the
/// image as padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct BandRows {
    first: usize,
    rows: usize,
    pad_top: usize,
    pad_bottom: usize,
}

impl RowsAxis {
    /// Rows one window spans: `dilation · (kernel − 1) + 1`.
    fn extent(&self) -> usize {
        self.dilation * (self.kernel - 1) + 1
    }

    /// True when the window of every output row meets the image (else a band could need no
    /// input row at all, which no geometry describes: the op then runs single-threaded).
    /// The first row's window ends at padded row `extent − 1`, the last one's starts at
    /// `(out_h − 1) · stride`; the image is padded rows `pad_top..pad_top + in_h`.
    fn splittable(&self) -> bool {
        self.pad_top < self.extent() && (self.out_h - 1) * self.stride < self.pad_top + self.in_h
    }

    /// The input rows of output rows `oy`: the windows span padded rows
    /// `oy.start · stride ..= (oy.end − 1) · stride + extent − 1`, clipped to the image.
    /// Needs [`Self::splittable`] and a non-empty `oy` inside `0..out_h`.
    fn band(&self, oy: Range<usize>) -> BandRows {
        debug_assert!(self.splittable() && !oy.is_empty() && oy.end <= self.out_h);
        let top = oy.start * self.stride;
        let bottom = (oy.end - 1) * self.stride + self.extent() - 1;
        let first = top.max(self.pad_top);
        let last = bottom.min(self.pad_top + self.in_h - 1);
        debug_assert!(first <= last, "{self:?}: band {oy:?} meets no input row");
        let b = BandRows {
            first: first - self.pad_top,
            rows: last - first + 1,
            pad_top: first - top,
            pad_bottom: bottom - last,
        };
        // The sub-geometry has exactly the band's output rows.
        debug_assert_eq!((b.pad_top + b.rows + b.pad_bottom - self.extent()) / self.stride + 1, oy.len());
        b
    }

    /// Runs output rows `0..batch · out_h` (rows of `row_len` floats of `output`) in bands;
    /// `f(image, output rows of that image, input rows they need, their output)` runs one
    /// image's part of a band (a band may span images).
    fn run_par<F>(
        &self,
        batch: usize,
        row_len: usize,
        flops_per_row: u64,
        output: &mut [f32],
        par: &Par<'_>,
        f: F,
    ) -> Result<(), Error>
    where
        F: Fn(usize, Range<usize>, BandRows, &mut [f32]) -> Result<(), Error> + Sync,
    {
        debug_assert_eq!(output.len(), batch * self.out_h * row_len);
        let min_rows = par.min_band_rows(flops_per_row, 2);
        par.for_each_band_mut(output, row_len, min_rows, |rows, mut out| {
            let mut r = rows.start;
            while r < rows.end {
                let (n, oy0) = (r / self.out_h, r % self.out_h);
                let oy1 = self.out_h.min(oy0 + rows.end - r);
                let (part, rest) = std::mem::take(&mut out).split_at_mut((oy1 - oy0) * row_len);
                f(n, oy0..oy1, self.band(oy0..oy1), part)?;
                out = rest;
                r += oy1 - oy0;
            }
            Ok(())
        })
    }
}
