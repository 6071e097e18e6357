//! Spatially separable convolution: a row pass 1×kw then a column pass kh×1, per channel.

use std::sync::Mutex;

use sepconv_kernels::error::check_len;
use sepconv_kernels::{Activation, SeparableAxis, SeparableDims, SeparablePassGeometry};

use super::{Packed, RowsAxis, check_plan_shape, check_shape, default_isa, slice_band};
use crate::dispatch::{Isa, kernels};
use crate::error::Error;
use crate::tensor::{AlignedBuf, Shape4, TensorView, TensorViewMut};
use crate::threads::Par;

/// One axis of a separable convolution: taps, stride, dilation and padding along that axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SeparablePass1d {
    /// Taps.
    pub kernel: usize,
    /// Stride along the axis.
    pub stride: usize,
    /// Dilation along the axis.
    pub dilation: usize,
    /// Padding before (left or top).
    pub pad_before: usize,
    /// Padding after (right or bottom).
    pub pad_after: usize,
}

impl SeparablePass1d {
    /// `kernel` taps, stride 1, dilation 1, `pad` on both sides.
    pub fn new(kernel: usize, pad: usize) -> Self {
        Self { kernel, stride: 1, dilation: 1, pad_before: pad, pad_after: pad }
    }

    fn geometry(&self, axis: SeparableAxis, input: Shape4) -> SeparablePassGeometry {
        SeparablePassGeometry {
            axis,
            batch: input.n,
            in_h: input.h,
            in_w: input.w,
            channels: input.c,
            kernel: self.kernel,
            stride: self.stride,
            dilation: self.dilation,
            pad_before: self.pad_before,
            pad_after: self.pad_after,
        }
    }
}

/// A spatially separable per-channel convolution, planned once: a row pass (1×kw, no bias,
/// no activation) into an intermediate `N×H×OW×C` buffer, then a column pass (kh×1) that adds
/// the bias and applies the activation, into `N×OH×OW×C`.
///
/// Weights: row `[kw][C]`, column `[kh][C]`; bias `[C]`.
#[derive(Debug)]
pub struct SeparableConv2d {
    input: Shape4,
    row: SeparablePassGeometry,
    col: SeparablePassGeometry,
    col_dims: SeparableDims,
    /// Row weights, packed without bias.
    row_packed: Packed<SeparablePassGeometry>,
    /// Column weights and the bias, packed.
    col_packed: Packed<SeparablePassGeometry>,
    act: Activation,
    isa: Isa,
    /// The intermediate buffer [`SeparableConv2d::run`] uses, sized at plan time.
    scratch: Mutex<AlignedBuf>,
}

impl SeparableConv2d {
    /// Bytes of packed weights (and bias) this op holds.
    pub fn packed_bytes(&self) -> usize {
        self.row_packed.bytes() + self.col_packed.bytes()
    }

    const OP: &'static str = "SeparableConv2d";

    /// Plans the op for the selected tier.
    pub fn new(
        input: Shape4,
        row: SeparablePass1d,
        col: SeparablePass1d,
        row_weights: &[f32],
        col_weights: &[f32],
        bias: Option<&[f32]>,
        act: Activation,
    ) -> Result<Self, Error> {
        Self::with_isa(default_isa()?, input, row, col, row_weights, col_weights, bias, act)
    }

    /// Plans the op for tier `isa` (an error if the CPU lacks it).
    #[allow(clippy::too_many_arguments)]
    pub fn with_isa(
        isa: Isa,
        input: Shape4,
        row: SeparablePass1d,
        col: SeparablePass1d,
        row_weights: &[f32],
        col_weights: &[f32],
        bias: Option<&[f32]>,
        act: Activation,
    ) -> Result<Self, Error> {
        let table = kernels(isa)?;
        check_plan_shape(input)?;
        act.validate().map_err(Error::kernel(Self::OP))?;
        let row = row.geometry(SeparableAxis::Row, input);
        let row_dims = row.validate().map_err(Error::kernel(Self::OP))?;
        let mid = Shape4::new(input.n, row_dims.out_h, row_dims.out_w, input.c);
        let col = col.geometry(SeparableAxis::Column, mid);
        let col_dims = col.validate().map_err(Error::kernel(Self::OP))?;
        check_plan_shape(Shape4::new(input.n, col_dims.out_h, col_dims.out_w, input.c))?;
        let row_packed = Packed::new(Self::OP, table.row_pass, &row, row_dims.weight_len, row_weights, None)?;
        let col_packed = Packed::new(Self::OP, table.col_pass, &col, col_dims.weight_len, col_weights, bias)?;
        let scratch = AlignedBuf::zeroed(row_dims.output_len)?;
        Ok(Self { input, row, col, col_dims, row_packed, col_packed, act, isa, scratch: Mutex::new(scratch) })
    }

    /// Elements of the intermediate buffer (`N×H×OW×C`) that [`Self::run_with_scratch`] needs.
    pub fn scratch_len(&self) -> usize {
        self.col.batch * self.col.in_h * self.col.in_w * self.col.channels
    }

    /// Runs the planned convolution with the op's own intermediate buffer. Concurrent calls on
    /// one op take turns on that buffer; use [`Self::run_with_scratch`] to run in parallel.
    pub fn run(&self, input: TensorView<'_>, output: TensorViewMut<'_>) -> Result<(), Error> {
        // A poisoned lock only means another run panicked mid-way; the buffer is fully
        // rewritten by every run, so its contents do not matter.
        let mut scratch = self.scratch.lock().unwrap_or_else(|e| e.into_inner());
        self.run_with_scratch(input, output, scratch.as_mut_slice())
    }

    /// Runs the planned convolution with a caller-provided intermediate buffer of exactly
    /// [`Self::scratch_len`] elements.
    pub fn run_with_scratch(
        &self,
        input: TensorView<'_>,
        mut output: TensorViewMut<'_>,
        scratch: &mut [f32],
    ) -> Result<(), Error> {
        check_shape(Self::OP, "input", self.input_shape(), input.shape())?;
        check_shape(Self::OP, "output", self.output_shape(), output.shape())?;
        check_len("scratch", self.scratch_len(), scratch.len()).map_err(Error::kernel(Self::OP))?;
        self.row_packed.run(Self::OP, &self.row, input.as_slice(), Activation::None, scratch)?;
        self.col_packed.run(Self::OP, &self.col, scratch, self.act, output.as_mut_slice())
    }

    /// As [`Self::run`], both passes split into bands run in parallel on `par`'s threads
    /// (bit-identical results; with one thread this is [`Self::run`]). Uses the op's own
    /// intermediate buffer, as [`Self::run`] does.
    pub fn run_par(
        &self,
        input: TensorView<'_>,
        output: TensorViewMut<'_>,
        par: &Par<'_>,
    ) -> Result<(), Error> {
        if par.is_single() {
            return self.run(input, output);
        }
        // Poison is harmless here, as in `run`.
        let mut scratch = self.scratch.lock().unwrap_or_else(|e| e.into_inner());
        self.run_par_with_scratch(input, output, scratch.as_mut_slice(), par)
    }

    /// As [`Self::run_with_scratch`], in parallel on `par`'s threads: the row pass in bands of
    /// rows (it has no vertical dependency), then the column pass in bands of output rows,
    /// each on the intermediate rows it needs (bit-identical results; with one thread this is
    /// [`Self::run_with_scratch`]).
    pub fn run_par_with_scratch(
        &self,
        input: TensorView<'_>,
        mut output: TensorViewMut<'_>,
        scratch: &mut [f32],
        par: &Par<'_>,
    ) -> Result<(), Error> {
        if par.is_single() {
            return self.run_with_scratch(input, output, scratch);
        }
        check_shape(Self::OP, "input", self.input_shape(), input.shape())?;
        check_shape(Self::OP, "output", self.output_shape(), output.shape())?;
        check_len("scratch", self.scratch_len(), scratch.len()).map_err(Error::kernel(Self::OP))?;
        let (row, col, c) = (&self.row, &self.col, self.input.c);

        // Row pass: rows 0..N·H of the input into the same rows of the scratch, as one image.
        let (row_in, row_mid) = (row.in_w * c, col.in_w * c);
        let row_flops = (row_mid as u64).saturating_mul(2 * row.kernel as u64);
        let input = input.as_slice();
        par.for_each_band_mut(scratch, row_mid, par.min_band_rows(row_flops, 2), |rows, mid| {
            let sub = SeparablePassGeometry { batch: 1, in_h: rows.len(), ..*row };
            let band_in = slice_band(Self::OP, "input", input, rows.start * row_in..rows.end * row_in)?;
            self.row_packed.run(Self::OP, &sub, band_in, Activation::None, mid)
        })?;

        // Column pass: output rows in bands, each on the scratch rows it needs.
        let scratch = &*scratch;
        let axis = RowsAxis {
            in_h: col.in_h,
            out_h: self.col_dims.out_h,
            kernel: col.kernel,
            stride: col.stride,
            dilation: col.dilation,
            pad_top: col.pad_before,
        };
        if !axis.splittable() {
            return self.col_packed.run(Self::OP, col, scratch, self.act, output.as_mut_slice());
        }
        let image_mid = col.in_h * row_mid;
        let col_flops = (row_mid as u64).saturating_mul(2 * col.kernel as u64);
        axis.run_par(col.batch, row_mid, col_flops, output.as_mut_slice(), par, |n, _, band, out| {
            let sub = SeparablePassGeometry {
                batch: 1,
                in_h: band.rows,
                pad_before: band.pad_top,
                pad_after: band.pad_bottom,
                ..*col
            };
            let start = n * image_mid + band.first * row_mid;
            let band_mid = slice_band(Self::OP, "scratch", scratch, start..start + band.rows * row_mid)?;
            self.col_packed.run(Self::OP, &sub, band_mid, self.act, out)
        })
    }

    /// `N×H×W×C`.
    pub fn input_shape(&self) -> Shape4 {
        self.input
    }
    /// `N×OH×OW×C`.
    pub fn output_shape(&self) -> Shape4 {
        Shape4::new(self.input.n, self.col_dims.out_h, self.col_dims.out_w, self.input.c)
    }
    /// The two kernels' names, row pass first.
    pub fn kernel_names(&self) -> [&'static str; 2] {
        [self.row_packed.name(), self.col_packed.name()]
    }
    /// The tier the op was planned for.
    pub fn isa(&self) -> Isa {
        self.isa
    }
    /// FLOPs of one run (2 per multiply-add, both passes; saturates at `u64::MAX`).
    pub fn flops(&self) -> u64 {
        let pass = |g: &SeparablePassGeometry, out_len: usize| {
            (out_len as u64).saturating_mul(g.kernel as u64).saturating_mul(2)
        };
        let row_out = self.scratch_len();
        pass(&self.row, row_out).saturating_add(pass(&self.col, self.col_dims.output_len))
    }
}
