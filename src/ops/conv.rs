//! Convolution ops: the general [`Conv2d`] router and the depthwise and pointwise ops.

use sepconv_kernels::error::{check_len, check_nonzero};
use sepconv_kernels::layout::transpose;
use sepconv_kernels::{
    Activation, Conv2dDims, Conv2dGeometry, KernelError, Padding2d, PointwiseShape, SeparableAxis,
    SeparablePassGeometry,
};

use super::{Packed, RowsAxis, check_plan_shape, check_shape, default_isa, gemm_rows_par, slice_band};
use crate::dispatch::{Isa, kernels};
use crate::error::Error;
use crate::tensor::{Shape4, TensorView, TensorViewMut};
use crate::threads::Par;

/// The NHWC output shape of a convolution, after validating its geometry.
pub fn conv2d_output_shape(geom: &Conv2dGeometry) -> Result<Shape4, Error> {
    let d = geom.validate().map_err(Error::kernel("Conv2d"))?;
    Ok(Shape4::new(geom.batch, d.out_h, d.out_w, geom.out_c))
}

fn input_shape_of(g: &Conv2dGeometry) -> Shape4 {
    Shape4::new(g.batch, g.in_h, g.in_w, g.in_c)
}

fn output_shape_of(g: &Conv2dGeometry, d: &Conv2dDims) -> Shape4 {
    Shape4::new(g.batch, d.out_h, d.out_w, g.out_c)
}

/// 2 FLOPs per multiply-add of a convolution (0 if the count would overflow `u64`).
fn conv_flops(g: &Conv2dGeometry) -> u64 {
    g.macs().and_then(|m| m.checked_mul(2)).unwrap_or(0)
}

/// The separable pass a depthwise convolution is, when it is one: a 1×k kernel (a row pass)
/// whose vertical stride is 1 with no vertical padding, or a k×1 kernel (a column pass) with
/// horizontal stride 1 and no horizontal padding. (A 1×1 depthwise kernel is a row pass.)
fn as_separable_pass(g: &Conv2dGeometry) -> Option<SeparablePassGeometry> {
    if !g.is_depthwise() {
        return None;
    }
    let p = g.padding;
    let base = SeparablePassGeometry {
        axis: SeparableAxis::Row,
        batch: g.batch,
        in_h: g.in_h,
        in_w: g.in_w,
        channels: g.in_c,
        kernel: g.kernel_w,
        stride: g.stride_w,
        dilation: g.dilation_w,
        pad_before: p.left,
        pad_after: p.right,
    };
    if g.kernel_h == 1 && g.stride_h == 1 && p.top == 0 && p.bottom == 0 {
        Some(base)
    } else if g.kernel_w == 1 && g.stride_w == 1 && p.left == 0 && p.right == 0 {
        Some(SeparablePassGeometry {
            axis: SeparableAxis::Column,
            kernel: g.kernel_h,
            stride: g.stride_h,
            dilation: g.dilation_h,
            pad_before: p.top,
            pad_after: p.bottom,
            ..base
        })
    } else {
        None
    }
}

/// Runs a separable pass split into bands of output rows: a row pass by rows (no vertical
/// dependency), a column pass by the rows each band's windows need (see [`RowsAxis`]).
#[allow(clippy::too_many_arguments)]
fn pass_rows_par(
    op: &'static str,
    pass: &SeparablePassGeometry,
    d: &Conv2dDims,
    packed: &Packed<SeparablePassGeometry>,
    act: Activation,
    input: &[f32],
    output: &mut [f32],
    par: &Par<'_>,
) -> Result<(), Error> {
    let c = pass.channels;
    let row_in = pass.in_w * c;
    let row_out = d.out_w * c;
    let flops_per_row = (row_out as u64).saturating_mul(2 * pass.kernel as u64);
    match pass.axis {
        SeparableAxis::Row => {
            par.for_each_band_mut(output, row_out, par.min_band_rows(flops_per_row, 2), |rows, out| {
                let sub = SeparablePassGeometry { batch: 1, in_h: rows.len(), ..*pass };
                let band = slice_band(op, "input", input, rows.start * row_in..rows.end * row_in)?;
                packed.run(op, &sub, band, act, out)
            })
        }
        SeparableAxis::Column => {
            let axis = RowsAxis {
                in_h: pass.in_h,
                out_h: d.out_h,
                kernel: pass.kernel,
                stride: pass.stride,
                dilation: pass.dilation,
                pad_top: pass.pad_before,
            };
            if !axis.splittable() {
                return packed.run(op, pass, input, act, output);
            }
            let image_in = pass.in_h * row_in;
            axis.run_par(pass.batch, row_out, flops_per_row, output, par, |n, _, band, out| {
                let sub = SeparablePassGeometry {
                    batch: 1,
                    in_h: band.rows,
                    pad_before: band.pad_top,
                    pad_after: band.pad_bottom,
                    ..*pass
                };
                let start = n * image_in + band.first * row_in;
                packed.run(
                    op,
                    &sub,
                    slice_band(op, "input", input, start..start + band.rows * row_in)?,
                    act,
                    out,
                )
            })
        }
    }
}

/// Runs a convolution (depthwise, grouped or dense) with its output rows split into bands:
/// each band, per image, runs the kernel on the sub-geometry of batch 1 whose input is the
/// rows the band needs and whose top and bottom padding is the part of its windows outside
/// the image (see [`RowsAxis::band`]); the packed weights are shared (every tier's packed
/// layout depends only on the channels, the kernel size and the groups). Falls back to one
/// call on the whole problem when some output row's window misses the image entirely.
#[allow(clippy::too_many_arguments)]
fn conv_rows_par(
    op: &'static str,
    g: &Conv2dGeometry,
    d: &Conv2dDims,
    packed: &Packed<Conv2dGeometry>,
    act: Activation,
    input: &[f32],
    output: &mut [f32],
    par: &Par<'_>,
) -> Result<(), Error> {
    let axis = RowsAxis {
        in_h: g.in_h,
        out_h: d.out_h,
        kernel: g.kernel_h,
        stride: g.stride_h,
        dilation: g.dilation_h,
        pad_top: g.padding.top,
    };
    if par.is_single() || !axis.splittable() {
        return packed.run(op, g, input, act, output);
    }
    let row_in = g.in_w * g.in_c;
    let image_in = g.in_h * row_in;
    let row_out = d.out_w * g.out_c;
    let flops_per_row = [d.out_w, g.out_c, g.kernel_h, g.kernel_w, g.in_c / g.groups]
        .iter()
        .fold(2u64, |acc, &x| acc.saturating_mul(x as u64));
    axis.run_par(g.batch, row_out, flops_per_row, output, par, |n, _, band, out| {
        let padding = Padding2d { top: band.pad_top, bottom: band.pad_bottom, ..g.padding };
        let sub = Conv2dGeometry { batch: 1, in_h: band.rows, padding, ..*g };
        let start = n * image_in + band.first * row_in;
        packed.run(op, &sub, slice_band(op, "input", input, start..start + band.rows * row_in)?, act, out)
    })
}

/// Validates a geometry and an activation, naming `op` in the error.
fn validate_conv(op: &'static str, g: &Conv2dGeometry, act: Activation) -> Result<Conv2dDims, Error> {
    let d = g.validate().map_err(Error::kernel(op))?;
    act.validate().map_err(Error::kernel(op))?;
    check_plan_shape(input_shape_of(g))?;
    check_plan_shape(output_shape_of(g, &d))?;
    Ok(d)
}

/// A depthwise k×k convolution (depth multiplier 1), NHWC, planned once.
///
/// Input `N×H×W×C`, weights `[kh][kw][C]`, bias `[C]`, output `N×OH×OW×C`; any kernel size,
/// stride, dilation and 4-sided padding. 3×3 stride 1 and stride 2 (dilation 1) get the tier's
/// specialised kernels.
#[derive(Debug)]
pub struct DepthwiseConv2d {
    /// The op name errors carry (`Conv2d` when planned through it).
    op: &'static str,
    geom: Conv2dGeometry,
    dims: Conv2dDims,
    packed: Packed<Conv2dGeometry>,
    act: Activation,
    isa: Isa,
}

impl DepthwiseConv2d {
    const OP: &'static str = "DepthwiseConv2d";

    /// Bytes of packed weights (and bias) this op holds.
    pub fn packed_bytes(&self) -> usize {
        self.packed.bytes()
    }

    /// Plans the op for the selected tier. `geom` must be depthwise
    /// (`groups == in_c == out_c`); `weights` is `[kernel_h][kernel_w][channels]`.
    pub fn new(
        geom: Conv2dGeometry,
        weights: &[f32],
        bias: Option<&[f32]>,
        act: Activation,
    ) -> Result<Self, Error> {
        Self::with_isa(default_isa()?, geom, weights, bias, act)
    }

    /// Plans the op for tier `isa` (an error if the CPU lacks it).
    pub fn with_isa(
        isa: Isa,
        geom: Conv2dGeometry,
        weights: &[f32],
        bias: Option<&[f32]>,
        act: Activation,
    ) -> Result<Self, Error> {
        Self::plan(Self::OP, isa, geom, weights, bias, act)
    }

    /// Plans the op; errors name `op`.
    pub(crate) fn plan(
        op: &'static str,
        isa: Isa,
        geom: Conv2dGeometry,
        weights: &[f32],
        bias: Option<&[f32]>,
        act: Activation,
    ) -> Result<Self, Error> {
        let table = kernels(isa)?;
        let dims = validate_conv(op, &geom, act)?;
        if !geom.is_depthwise() {
            let (what, value) =
                if geom.out_c != geom.in_c { ("out_c", geom.out_c) } else { ("groups", geom.groups) };
            return Err(Error::Kernel {
                op,
                source: KernelError::Unsupported { kernel: "depthwise", what, value, expected: geom.in_c },
            });
        }
        let packed = Packed::new(op, table.dwconv_for(&geom), &geom, dims.weight_len, weights, bias)?;
        Ok(Self { op, geom, dims, packed, act, isa })
    }

    /// Runs the planned convolution; `input` and `output` must have the planned shapes.
    pub fn run(&self, input: TensorView<'_>, mut output: TensorViewMut<'_>) -> Result<(), Error> {
        check_shape(self.op, "input", self.input_shape(), input.shape())?;
        check_shape(self.op, "output", self.output_shape(), output.shape())?;
        self.packed.run(self.op, &self.geom, input.as_slice(), self.act, output.as_mut_slice())
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
        check_shape(self.op, "input", self.input_shape(), input.shape())?;
        check_shape(self.op, "output", self.output_shape(), output.shape())?;
        let (g, d) = (&self.geom, &self.dims);
        conv_rows_par(self.op, g, d, &self.packed, self.act, input.as_slice(), output.as_mut_slice(), par)
    }

    /// The planned geometry.
    pub fn geometry(&self) -> &Conv2dGeometry {
        &self.geom
    }
    /// `N×H×W×C`.
    pub fn input_shape(&self) -> Shape4 {
        input_shape_of(&self.geom)
    }
    /// `N×OH×OW×C`.
    pub fn output_shape(&self) -> Shape4 {
        output_shape_of(&self.geom, &self.dims)
    }
    /// The kernel's name, e.g. `dwconv3x3s1/avx2`.
    pub fn kernel_name(&self) -> &'static str {
        self.packed.name()
    }
    /// The tier the op was planned for.
    pub fn isa(&self) -> Isa {
        self.isa
    }
    /// FLOPs of one run (2 per multiply-add).
    pub fn flops(&self) -> u64 {
        conv_flops(&self.geom)
    }
}

/// A pointwise 1×1 convolution, i.e. the GEMM `[N·H·W, Cin] × [Cin, Cout]`, planned once.
///
/// Input `N×H×W×Cin`, weights `[Cout][Cin]`, bias `[Cout]`, output `N×H×W×Cout`.
#[derive(Debug)]
pub struct PointwiseConv2d {
    /// The op name errors carry (`Conv2d` when planned through it).
    op: &'static str,
    input: Shape4,
    shape: PointwiseShape,
    packed: Packed<PointwiseShape>,
    act: Activation,
    isa: Isa,
}

impl PointwiseConv2d {
    /// Bytes of packed weights (and bias) this op holds.
    pub fn packed_bytes(&self) -> usize {
        self.packed.bytes()
    }

    const OP: &'static str = "PointwiseConv2d";

    /// Plans the op for the selected tier; `weights` is `[out_c][input.c]`.
    pub fn new(
        input: Shape4,
        out_c: usize,
        weights: &[f32],
        bias: Option<&[f32]>,
        act: Activation,
    ) -> Result<Self, Error> {
        Self::with_isa(default_isa()?, input, out_c, weights, bias, act)
    }

    /// Plans the op for tier `isa` (an error if the CPU lacks it).
    pub fn with_isa(
        isa: Isa,
        input: Shape4,
        out_c: usize,
        weights: &[f32],
        bias: Option<&[f32]>,
        act: Activation,
    ) -> Result<Self, Error> {
        Self::plan(Self::OP, isa, input, out_c, weights, bias, act)
    }

    /// Plans the op; errors name `op`.
    pub(crate) fn plan(
        op: &'static str,
        isa: Isa,
        input: Shape4,
        out_c: usize,
        weights: &[f32],
        bias: Option<&[f32]>,
        act: Activation,
    ) -> Result<Self, Error> {
        let table = kernels(isa)?;
        check_nonzero("out_c", out_c).map_err(Error::kernel(op))?;
        check_plan_shape(input)?;
        check_plan_shape(Shape4::new(input.n, input.h, input.w, out_c))?;
        act.validate().map_err(Error::kernel(op))?;
        let pixels = input.n * input.h * input.w; // cannot overflow: the input shape validated
        let shape = PointwiseShape { pixels, in_c: input.c, out_c };
        let (_, weight_len, _) = shape.validate().map_err(Error::kernel(op))?;
        let packed = Packed::new(op, table.pointwise, &shape, weight_len, weights, bias)?;
        Ok(Self { op, input, shape, packed, act, isa })
    }

    /// Runs the planned convolution; `input` and `output` must have the planned shapes.
    pub fn run(&self, input: TensorView<'_>, mut output: TensorViewMut<'_>) -> Result<(), Error> {
        check_shape(self.op, "input", self.input_shape(), input.shape())?;
        check_shape(self.op, "output", self.output_shape(), output.shape())?;
        self.packed.run(self.op, &self.shape, input.as_slice(), self.act, output.as_mut_slice())
    }

    /// As [`Self::run`], with the GEMM's rows (pixels) split into bands run in parallel on
    /// `par`'s threads (bit-identical results; with one thread this is [`Self::run`]).
    pub fn run_par(
        &self,
        input: TensorView<'_>,
        mut output: TensorViewMut<'_>,
        par: &Par<'_>,
    ) -> Result<(), Error> {
        if par.is_single() {
            return self.run(input, output);
        }
        check_shape(self.op, "input", self.input_shape(), input.shape())?;
        check_shape(self.op, "output", self.output_shape(), output.shape())?;
        gemm_rows_par(
            self.op,
            &self.packed,
            &self.shape,
            input.as_slice(),
            self.act,
            output.as_mut_slice(),
            par,
        )
    }

    /// `N×H×W×Cin`.
    pub fn input_shape(&self) -> Shape4 {
        self.input
    }
    /// `N×H×W×Cout`.
    pub fn output_shape(&self) -> Shape4 {
        Shape4 { c: self.shape.out_c, ..self.input }
    }
    /// The kernel's name, e.g. `pointwise/avx2`.
    pub fn kernel_name(&self) -> &'static str {
        self.packed.name()
    }
    /// The tier the op was planned for.
    pub fn isa(&self) -> Isa {
        self.isa
    }
    /// FLOPs of one run (2 per multiply-add; saturates at `u64::MAX`).
    pub fn flops(&self) -> u64 {
        (self.shape.pixels as u64)
            .saturating_mul(self.shape.in_c as u64)
            .saturating_mul(self.shape.out_c as u64)
            .saturating_mul(2)
    }
}

/// Which implementation a [`Conv2d`] routed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvPath {
    /// `groups == in_c == out_c`: [`DepthwiseConv2d`].
    Depthwise,
    /// 1×1, stride 1, unpadded, one group: [`PointwiseConv2d`] (GEMM).
    Pointwise,
    /// `1 < groups`, not depthwise: the grouped k×k kernel, all groups in one pass.
    Grouped,
    /// `groups == 1`, not pointwise: the dense k×k kernel (e.g. a network's stem).
    Dense,
}

#[derive(Debug)]
enum ConvImpl {
    Depthwise(DepthwiseConv2d),
    /// A depthwise 1×k (or k×1) convolution with no padding, stride or dilation across the
    /// 1-tap axis: one separable pass kernel (row or column).
    Pass {
        pass: SeparablePassGeometry,
        dims: Conv2dDims,
        packed: Packed<SeparablePassGeometry>,
    },
    Pointwise(PointwiseConv2d),
    General {
        path: ConvPath,
        dims: Conv2dDims,
        packed: Packed<Conv2dGeometry>,
    },
}

/// A general 2-D convolution with groups, planned once; it routes to the depthwise, pointwise,
/// grouped or dense implementation according to its geometry ([`Conv2d::path`]).
///
/// Input `N×H×W×Cin`, weights `[Cout][kh][kw][Cin/groups]` (OHWI), bias `[Cout]`, output
/// `N×OH×OW×Cout`.
#[derive(Debug)]
pub struct Conv2d {
    geom: Conv2dGeometry,
    act: Activation,
    isa: Isa,
    imp: ConvImpl,
}

impl Conv2d {
    const OP: &'static str = "Conv2d";

    /// Bytes of packed weights (and bias) this op holds.
    pub fn packed_bytes(&self) -> usize {
        match &self.imp {
            ConvImpl::Depthwise(op) => op.packed_bytes(),
            ConvImpl::Pointwise(op) => op.packed_bytes(),
            ConvImpl::Pass { packed, .. } => packed.bytes(),
            ConvImpl::General { packed, .. } => packed.bytes(),
        }
    }

    /// Plans the op for the selected tier.
    pub fn new(
        geom: Conv2dGeometry,
        weights: &[f32],
        bias: Option<&[f32]>,
        act: Activation,
    ) -> Result<Self, Error> {
        Self::with_isa(default_isa()?, geom, weights, bias, act)
    }

    /// Plans the op for tier `isa` (an error if the CPU lacks it).
    pub fn with_isa(
        isa: Isa,
        geom: Conv2dGeometry,
        weights: &[f32],
        bias: Option<&[f32]>,
        act: Activation,
    ) -> Result<Self, Error> {
        let table = kernels(isa)?;
        let dims = validate_conv(Self::OP, &geom, act)?;
        check_len("weights", dims.weight_len, weights.len()).map_err(Error::kernel(Self::OP))?;
        let imp = if geom.is_depthwise() {
            // OHWI with one input channel per group, [C][kh][kw][1], is the transpose of the
            // [kh][kw][C] (taps-major) layout the depthwise and separable-pass kernels take.
            // (The weights' length, `C·taps`, was checked above.)
            let mut hwc = vec![0.0; weights.len()];
            transpose(geom.in_c, geom.kernel_h * geom.kernel_w, weights, &mut hwc)
                .map_err(Error::kernel(Self::OP))?;
            match as_separable_pass(&geom) {
                Some(pass) => {
                    let kernel = match pass.axis {
                        SeparableAxis::Row => table.row_pass,
                        SeparableAxis::Column => table.col_pass,
                    };
                    let packed = Packed::new(Self::OP, kernel, &pass, hwc.len(), &hwc, bias)?;
                    ConvImpl::Pass { pass, dims, packed }
                }
                None => ConvImpl::Depthwise(DepthwiseConv2d::plan(Self::OP, isa, geom, &hwc, bias, act)?),
            }
        } else if geom.is_pointwise() {
            let input = input_shape_of(&geom);
            ConvImpl::Pointwise(PointwiseConv2d::plan(Self::OP, isa, input, geom.out_c, weights, bias, act)?)
        } else {
            let (path, kernel) = if geom.groups == 1 {
                (ConvPath::Dense, table.conv2d)
            } else {
                (ConvPath::Grouped, table.grouped_conv)
            };
            ConvImpl::General {
                path,
                dims,
                packed: Packed::new(Self::OP, kernel, &geom, dims.weight_len, weights, bias)?,
            }
        };
        Ok(Self { geom, act, isa, imp })
    }

    /// Runs the planned convolution; `input` and `output` must have the planned shapes.
    pub fn run(&self, input: TensorView<'_>, mut output: TensorViewMut<'_>) -> Result<(), Error> {
        match &self.imp {
            ConvImpl::Depthwise(op) => op.run(input, output),
            ConvImpl::Pointwise(op) => op.run(input, output),
            ConvImpl::Pass { pass, packed, .. } => {
                check_shape(Self::OP, "input", self.input_shape(), input.shape())?;
                check_shape(Self::OP, "output", self.output_shape(), output.shape())?;
                packed.run(Self::OP, pass, input.as_slice(), self.act, output.as_mut_slice())
            }
            ConvImpl::General { packed, .. } => {
                check_shape(Self::OP, "input", self.input_shape(), input.shape())?;
                check_shape(Self::OP, "output", self.output_shape(), output.shape())?;
                packed.run(Self::OP, &self.geom, input.as_slice(), self.act, output.as_mut_slice())
            }
        }
    }

    /// As [`Self::run`], split into bands run in parallel on `par`'s threads: output rows for
    /// the depthwise, grouped and dense paths, GEMM rows for the pointwise one (bit-identical
    /// results; with one thread this is [`Self::run`]).
    pub fn run_par(
        &self,
        input: TensorView<'_>,
        mut output: TensorViewMut<'_>,
        par: &Par<'_>,
    ) -> Result<(), Error> {
        match &self.imp {
            ConvImpl::Depthwise(op) => op.run_par(input, output, par),
            ConvImpl::Pointwise(op) => op.run_par(input, output, par),
            ConvImpl::Pass { pass, dims, packed } => {
                if par.is_single() {
                    return self.run(input, output);
                }
                check_shape(Self::OP, "input", self.input_shape(), input.shape())?;
                check_shape(Self::OP, "output", self.output_shape(), output.shape())?;
                let (input, output) = (input.as_slice(), output.as_mut_slice());
                pass_rows_par(Self::OP, pass, dims, packed, self.act, input, output, par)
            }
            ConvImpl::General { dims, packed, .. } => {
                if par.is_single() {
                    return self.run(input, output);
                }
                check_shape(Self::OP, "input", self.input_shape(), input.shape())?;
                check_shape(Self::OP, "output", self.output_shape(), output.shape())?;
                let (input, output) = (input.as_slice(), output.as_mut_slice());
                conv_rows_par(Self::OP, &self.geom, dims, packed, self.act, input, output, par)
            }
        }
    }

    /// The implementation this convolution routed to.
    pub fn path(&self) -> ConvPath {
        match &self.imp {
            ConvImpl::Depthwise(_) | ConvImpl::Pass { .. } => ConvPath::Depthwise,
            ConvImpl::Pointwise(_) => ConvPath::Pointwise,
            ConvImpl::General { path, .. } => *path,
        }
    }
    /// The planned geometry.
    pub fn geometry(&self) -> &Conv2dGeometry {
        &self.geom
    }
    /// `N×H×W×Cin`.
    pub fn input_shape(&self) -> Shape4 {
        input_shape_of(&self.geom)
    }
    /// `N×OH×OW×Cout`.
    pub fn output_shape(&self) -> Shape4 {
        match &self.imp {
            ConvImpl::Depthwise(op) => op.output_shape(),
            ConvImpl::Pointwise(op) => op.output_shape(),
            ConvImpl::General { dims, .. } | ConvImpl::Pass { dims, .. } => output_shape_of(&self.geom, dims),
        }
    }
    /// The kernel's name, e.g. `grouped_conv/reference`.
    pub fn kernel_name(&self) -> &'static str {
        match &self.imp {
            ConvImpl::Depthwise(op) => op.kernel_name(),
            ConvImpl::Pointwise(op) => op.kernel_name(),
            ConvImpl::General { packed, .. } => packed.name(),
            ConvImpl::Pass { packed, .. } => packed.name(),
        }
    }
    /// The tier the op was planned for.
    pub fn isa(&self) -> Isa {
        self.isa
    }
    /// FLOPs of one run (2 per multiply-add).
    pub fn flops(&self) -> u64 {
        conv_flops(&self.geom)
    }
}
