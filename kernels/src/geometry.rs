//! Shapes of the convolutions, validated once and shared by every tier.

use crate::error::{KernelError, check_nonzero, checked_product};

/// Explicit padding, per side, in input pixels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Padding2d {
    /// Rows added above the input.
    pub top: usize,
    /// Columns added left of the input.
    pub left: usize,
    /// Rows added below the input.
    pub bottom: usize,
    /// Columns added right of the input.
    pub right: usize,
}

impl Padding2d {
    /// No padding.
    pub const ZERO: Self = Self { top: 0, left: 0, bottom: 0, right: 0 };

    /// The same padding on all four sides.
    pub const fn uniform(p: usize) -> Self {
        Self { top: p, left: p, bottom: p, right: p }
    }
}

/// Output extent of a convolution along one axis:
/// `(input + pad_before + pad_after - (dilation * (kernel - 1) + 1)) / stride + 1`.
///
/// Errors when a parameter is 0, when the arithmetic overflows, or when the dilated kernel
/// does not fit in the padded input.
pub fn conv_out_extent(
    axis: &'static str,
    input: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    pad_before: usize,
    pad_after: usize,
) -> Result<usize, KernelError> {
    check_nonzero("kernel", kernel)?;
    check_nonzero("stride", stride)?;
    check_nonzero("dilation", dilation)?;
    let kernel_extent = kernel
        .checked_sub(1)
        .and_then(|k| k.checked_mul(dilation))
        .and_then(|k| k.checked_add(1))
        .ok_or(KernelError::Overflow { what: "dilated kernel extent" })?;
    let padded_input = input
        .checked_add(pad_before)
        .and_then(|x| x.checked_add(pad_after))
        .ok_or(KernelError::Overflow { what: "padded input extent" })?;
    if kernel_extent > padded_input {
        return Err(KernelError::KernelLargerThanInput { axis, kernel_extent, padded_input });
    }
    Ok((padded_input - kernel_extent) / stride + 1)
}

/// Geometry of a 2-D convolution over an NHWC tensor, with groups, stride, dilation and
/// explicit 4-sided padding. Depthwise is `groups == in_c == out_c`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conv2dGeometry {
    /// Batch size N.
    pub batch: usize,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Input channels.
    pub in_c: usize,
    /// Output channels.
    pub out_c: usize,
    /// Kernel height.
    pub kernel_h: usize,
    /// Kernel width.
    pub kernel_w: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Vertical dilation (1 = dense kernel).
    pub dilation_h: usize,
    /// Horizontal dilation.
    pub dilation_w: usize,
    /// Explicit padding per side.
    pub padding: Padding2d,
    /// Channel groups; must divide both `in_c` and `out_c`.
    pub groups: usize,
}

/// Output dimensions of a validated [`Conv2dGeometry`] plus the buffer lengths it implies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conv2dDims {
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
    /// `batch * in_h * in_w * in_c`.
    pub input_len: usize,
    /// `out_c * kernel_h * kernel_w * (in_c / groups)` (OHWI weights).
    pub weight_len: usize,
    /// `batch * out_h * out_w * out_c`.
    pub output_len: usize,
}

impl Conv2dGeometry {
    /// A dense (groups = 1) convolution with unit stride and dilation and no padding.
    pub fn new(
        batch: usize,
        in_h: usize,
        in_w: usize,
        in_c: usize,
        out_c: usize,
        kernel_h: usize,
        kernel_w: usize,
    ) -> Self {
        Self {
            batch,
            in_h,
            in_w,
            in_c,
            out_c,
            kernel_h,
            kernel_w,
            stride_h: 1,
            stride_w: 1,
            dilation_h: 1,
            dilation_w: 1,
            padding: Padding2d::ZERO,
            groups: 1,
        }
    }

    /// A depthwise convolution (`groups == in_c == out_c == channels`) with unit stride and
    /// dilation and no padding.
    pub fn depthwise(
        batch: usize,
        in_h: usize,
        in_w: usize,
        channels: usize,
        kernel_h: usize,
        kernel_w: usize,
    ) -> Self {
        Self { groups: channels, ..Self::new(batch, in_h, in_w, channels, channels, kernel_h, kernel_w) }
    }

    /// Sets the stride (vertical, horizontal).
    pub fn with_stride(self, stride_h: usize, stride_w: usize) -> Self {
        Self { stride_h, stride_w, ..self }
    }

    /// Sets the dilation (vertical, horizontal).
    pub fn with_dilation(self, dilation_h: usize, dilation_w: usize) -> Self {
        Self { dilation_h, dilation_w, ..self }
    }

    /// Sets the padding.
    pub fn with_padding(self, padding: Padding2d) -> Self {
        Self { padding, ..self }
    }

    /// Sets the group count.
    pub fn with_groups(self, groups: usize) -> Self {
        Self { groups, ..self }
    }

    /// True when this is a depthwise convolution: `groups == in_c == out_c`.
    pub fn is_depthwise(&self) -> bool {
        self.groups == self.in_c && self.in_c == self.out_c
    }

    /// True when this is a pointwise 1×1 convolution that is exactly a GEMM: 1×1 kernel, unit
    /// stride, no padding, one group (dilation is irrelevant for a 1×1 kernel).
    pub fn is_pointwise(&self) -> bool {
        self.kernel_h == 1
            && self.kernel_w == 1
            && self.stride_h == 1
            && self.stride_w == 1
            && self.padding == Padding2d::ZERO
            && self.groups == 1
    }

    /// Validates every parameter and returns the output dimensions and buffer lengths.
    ///
    /// Errors: any dimension, kernel size, stride, dilation or group count of 0; groups that do
    /// not divide `in_c` or `out_c`; a dilated kernel larger than the padded input; overflow.
    pub fn validate(&self) -> Result<Conv2dDims, KernelError> {
        check_nonzero("batch", self.batch)?;
        check_nonzero("in_h", self.in_h)?;
        check_nonzero("in_w", self.in_w)?;
        check_nonzero("in_c", self.in_c)?;
        check_nonzero("out_c", self.out_c)?;
        check_nonzero("kernel_h", self.kernel_h)?;
        check_nonzero("kernel_w", self.kernel_w)?;
        check_nonzero("stride_h", self.stride_h)?;
        check_nonzero("stride_w", self.stride_w)?;
        check_nonzero("dilation_h", self.dilation_h)?;
        check_nonzero("dilation_w", self.dilation_w)?;
        check_nonzero("groups", self.groups)?;
        if !self.in_c.is_multiple_of(self.groups) {
            return Err(KernelError::GroupsMismatch {
                groups: self.groups,
                channels: self.in_c,
                what: "in_c",
            });
        }
        if !self.out_c.is_multiple_of(self.groups) {
            return Err(KernelError::GroupsMismatch {
                groups: self.groups,
                channels: self.out_c,
                what: "out_c",
            });
        }
        let (h, w) = (self.axis_h(), self.axis_w());
        let out_h = h.out_extent("height")?;
        let out_w = w.out_extent("width")?;
        let input_len = checked_product("input length", &[self.batch, self.in_h, self.in_w, self.in_c])?;
        let weight_len = checked_product(
            "weight length",
            &[self.out_c, self.kernel_h, self.kernel_w, self.in_c / self.groups],
        )?;
        let output_len = checked_product("output length", &[self.batch, out_h, out_w, self.out_c])?;
        // Kernels step through the input by `stride · row` and `dilation · row`; both are at
        // most the padded image size (after `canonical()`), so bounding it bounds them.
        checked_product("padded input size", &[h.padded()?, w.padded()?, self.in_c])?;
        Ok(Conv2dDims { out_h, out_w, input_len, weight_len, output_len })
    }

    /// The same convolution in the form the kernels run: dilation 1 on an axis whose kernel has
    /// one tap (a single tap has no spacing), and on an axis with a single output a stride no
    /// larger than `padded - kernel_extent + 1` (any larger stride gives the same one output).
    ///
    /// The result has the same output dimensions and values as `self`, and every `stride` and
    /// `dilation · (kernel - 1)` is at most the padded extent, so products with row lengths are
    /// bounded by the padded image size that [`Conv2dGeometry::validate`] checks. Meant for a
    /// validated geometry; on an invalid one it returns `self` unchanged.
    pub fn canonical(&self) -> Self {
        let (h, w) = (self.axis_h().canonical(), self.axis_w().canonical());
        Self {
            stride_h: h.stride,
            stride_w: w.stride,
            dilation_h: h.dilation,
            dilation_w: w.dilation,
            ..*self
        }
    }

    /// The vertical axis: input height, kernel height, vertical stride, dilation and padding.
    pub(crate) fn axis_h(&self) -> ConvAxis {
        let p = self.padding;
        ConvAxis {
            input: self.in_h,
            kernel: self.kernel_h,
            stride: self.stride_h,
            dilation: self.dilation_h,
            pad_before: p.top,
            pad_after: p.bottom,
        }
    }

    /// The horizontal axis: input width, kernel width, horizontal stride, dilation and padding.
    pub(crate) fn axis_w(&self) -> ConvAxis {
        let p = self.padding;
        ConvAxis {
            input: self.in_w,
            kernel: self.kernel_w,
            stride: self.stride_w,
            dilation: self.dilation_w,
            pad_before: p.left,
            pad_after: p.right,
        }
    }

    /// Multiply-adds of the convolution (2 FLOPs each), or `None` on overflow or an invalid
    /// geometry.
    pub fn macs(&self) -> Option<u64> {
        let d = self.validate().ok()?;
        let per_output = (self.kernel_h as u64)
            .checked_mul(self.kernel_w as u64)?
            .checked_mul((self.in_c / self.groups) as u64)?;
        (d.output_len as u64).checked_mul(per_output)
    }
}

/// Shape of a pointwise (1×1) convolution seen as a GEMM:
/// `[pixels, in_c] × [in_c, out_c] -> [pixels, out_c]`, where `pixels = N·H·W`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PointwiseShape {
    /// Rows of the GEMM: `N·H·W`.
    pub pixels: usize,
    /// Input channels (the GEMM's K).
    pub in_c: usize,
    /// Output channels (the GEMM's N).
    pub out_c: usize,
}

impl PointwiseShape {
    /// Validates the shape; returns `(input_len, weight_len, output_len)`.
    pub fn validate(&self) -> Result<(usize, usize, usize), KernelError> {
        check_nonzero("pixels", self.pixels)?;
        check_nonzero("in_c", self.in_c)?;
        check_nonzero("out_c", self.out_c)?;
        Ok((
            checked_product("input length", &[self.pixels, self.in_c])?,
            checked_product("weight length", &[self.out_c, self.in_c])?,
            checked_product("output length", &[self.pixels, self.out_c])?,
        ))
    }
}

/// The axis a spatially separable pass runs along.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SeparableAxis {
    /// A 1×k pass along the width (each output row depends on one input row).
    Row,
    /// A k×1 pass along the height.
    Column,
}

/// Geometry of one spatially separable per-channel pass (1×k row pass or k×1 column pass)
/// over an NHWC tensor. Stride, dilation and padding apply along `axis` only; the other
/// spatial extent is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SeparablePassGeometry {
    /// Which axis the 1-D kernel runs along.
    pub axis: SeparableAxis,
    /// Batch size N.
    pub batch: usize,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Channels (input = output).
    pub channels: usize,
    /// Taps of the 1-D kernel.
    pub kernel: usize,
    /// Stride along `axis`.
    pub stride: usize,
    /// Dilation along `axis`.
    pub dilation: usize,
    /// Padding before (left for a row pass, top for a column pass).
    pub pad_before: usize,
    /// Padding after (right for a row pass, bottom for a column pass).
    pub pad_after: usize,
}

/// Output dimensions of a validated [`SeparablePassGeometry`] plus buffer lengths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SeparableDims {
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
    /// `batch * in_h * in_w * channels`.
    pub input_len: usize,
    /// `kernel * channels`.
    pub weight_len: usize,
    /// `batch * out_h * out_w * channels`.
    pub output_len: usize,
}

impl SeparablePassGeometry {
    /// The same pass with `dilation = 1` when `kernel == 1`: a single tap has no spacing, so the
    /// result is identical, and kernels that multiply the dilation by a row length cannot
    /// overflow on an (irrelevant) huge dilation.
    ///
    /// Also clamps the stride as [`Conv2dGeometry::canonical`] does: with a single output along
    /// the axis, a stride above `padded - kernel_extent + 1` becomes that value (same output).
    pub fn canonical(&self) -> Self {
        let a = self.along().canonical();
        Self { stride: a.stride, dilation: a.dilation, ..*self }
    }

    /// The axis the pass runs along: its input extent (width for a row pass, height for a
    /// column pass), the kernel, stride, dilation and padding.
    pub(crate) fn along(&self) -> ConvAxis {
        let input = match self.axis {
            SeparableAxis::Row => self.in_w,
            SeparableAxis::Column => self.in_h,
        };
        ConvAxis {
            input,
            kernel: self.kernel,
            stride: self.stride,
            dilation: self.dilation,
            pad_before: self.pad_before,
            pad_after: self.pad_after,
        }
    }

    /// Validates every parameter and returns the output dimensions and buffer lengths.
    pub fn validate(&self) -> Result<SeparableDims, KernelError> {
        check_nonzero("batch", self.batch)?;
        check_nonzero("in_h", self.in_h)?;
        check_nonzero("in_w", self.in_w)?;
        check_nonzero("channels", self.channels)?;
        check_nonzero("kernel", self.kernel)?;
        check_nonzero("stride", self.stride)?;
        check_nonzero("dilation", self.dilation)?;
        let along = self.along();
        // `other`: the extent the pass leaves unchanged.
        let (out_h, out_w, other) = match self.axis {
            SeparableAxis::Row => (self.in_h, along.out_extent("width")?, self.in_h),
            SeparableAxis::Column => (along.out_extent("height")?, self.in_w, self.in_w),
        };
        let input_len = checked_product("input length", &[self.batch, self.in_h, self.in_w, self.channels])?;
        let weight_len = checked_product("weight length", &[self.kernel, self.channels])?;
        let output_len = checked_product("output length", &[self.batch, out_h, out_w, self.channels])?;
        // As for Conv2dGeometry: bounds `stride · row` and `dilation · row` in the kernels.
        checked_product("padded input size", &[along.padded()?, other, self.channels])?;
        Ok(SeparableDims { out_h, out_w, input_len, weight_len, output_len })
    }
}

/// One spatial axis of a convolution: the input extent along it and the kernel's taps,
/// stride, dilation and padding on it. The per-axis arithmetic of [`Conv2dGeometry`] (both
/// axes) and [`SeparablePassGeometry`] (its one axis), and the border/interior facts the
/// drivers need, are written once here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConvAxis {
    /// Input extent.
    pub(crate) input: usize,
    /// Kernel taps.
    pub(crate) kernel: usize,
    /// Stride.
    pub(crate) stride: usize,
    /// Dilation.
    pub(crate) dilation: usize,
    /// Padding before the input.
    pub(crate) pad_before: usize,
    /// Padding after the input.
    pub(crate) pad_after: usize,
}

impl ConvAxis {
    /// Output extent, [`conv_out_extent`] (its errors name the axis `name`).
    fn out_extent(&self, name: &'static str) -> Result<usize, KernelError> {
        conv_out_extent(
            name,
            self.input,
            self.kernel,
            self.stride,
            self.dilation,
            self.pad_before,
            self.pad_after,
        )
    }

    /// `input + pad_before + pad_after`, or an overflow error.
    fn padded(&self) -> Result<usize, KernelError> {
        self.input
            .checked_add(self.pad_before)
            .and_then(|x| x.checked_add(self.pad_after))
            .ok_or(KernelError::Overflow { what: "padded input extent" })
    }

    /// The axis with stride and dilation in canonical form (see [`Conv2dGeometry::canonical`]).
    fn canonical(self) -> Self {
        let (kernel, stride) = (self.kernel, self.stride);
        let dilation = if kernel == 1 && self.dilation != 0 { 1 } else { self.dilation };
        let extent = kernel.saturating_sub(1).saturating_mul(dilation).saturating_add(1);
        let padded = self.input.saturating_add(self.pad_before).saturating_add(self.pad_after);
        // With `stride > padded - extent` there is exactly one output, as with `padded - extent + 1`.
        let stride = match padded.checked_sub(extent) {
            Some(room) if stride > room => room.saturating_add(1).max(1),
            _ => stride,
        };
        Self { stride, dilation, ..self }
    }

    /// The interior output positions `lo..hi` of a validated axis with `out` outputs (its
    /// output extent): those whose every tap lies inside the input, i.e.
    /// `o·stride >= pad_before` and `o·stride + (kernel-1)·dilation < pad_before + input`.
    /// `lo <= hi <= out`; the positions before `lo` and from `hi` on are the borders.
    #[inline(always)]
    pub(crate) fn interior(&self, out: usize) -> (usize, usize) {
        let lo = self.pad_before.div_ceil(self.stride).min(out);
        // No overflow: pad_before + input is the padded extent less pad_after (validated).
        let (end, reach) = (self.pad_before + self.input, (self.kernel - 1) * self.dilation);
        let hi = if end > reach { (end - reach).div_ceil(self.stride) } else { 0 };
        (lo, hi.clamp(lo, out))
    }

    /// The taps `t0..t1` of output position `o` of a validated axis that lie inside the input
    /// ([`valid_taps`] at padded position `o·stride`).
    #[inline(always)]
    pub(crate) fn taps(&self, o: usize) -> (usize, usize) {
        valid_taps(o * self.stride, self.pad_before, self.input, self.kernel, self.dilation)
    }
}

/// The taps `t` in `0..kernel` whose padded position `pos + t·dilation` lies inside the input,
/// i.e. in `pad..pad + input`, as `t0..t1` (`t0 == t1` when none does). All in `usize`: for an
/// output position of a validated geometry, `pos + (kernel-1)·dilation` and `pad + input` are
/// below the padded extent, which fits.
#[inline(always)]
pub(crate) fn valid_taps(
    pos: usize,
    pad: usize,
    input: usize,
    kernel: usize,
    dilation: usize,
) -> (usize, usize) {
    let end = pad + input;
    let (t0, t1) = if dilation == 1 {
        (pad.saturating_sub(pos), end.saturating_sub(pos).min(kernel))
    } else {
        let t0 = if pos >= pad { 0 } else { (pad - pos - 1) / dilation + 1 };
        (t0, if pos >= end { 0 } else { ((end - pos - 1) / dilation + 1).min(kernel) })
    };
    (t0.min(t1), t1)
}

/// A validated canonical [`Conv2dGeometry`] in the form the conv2d and dwconv drivers use: the
/// batch, the extents, the kernel, steps and leading padding of both axes, and the interior
/// output columns (every horizontal tap inside the input) that split each output row into a
/// left border, an interior without padding tests and a right border.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Spatial {
    pub(crate) batch: usize,
    pub(crate) in_h: usize,
    pub(crate) in_w: usize,
    pub(crate) out_h: usize,
    pub(crate) out_w: usize,
    pub(crate) kh: usize,
    pub(crate) kw: usize,
    pub(crate) sh: usize,
    pub(crate) sw: usize,
    pub(crate) dh: usize,
    pub(crate) dw: usize,
    pub(crate) pt: usize,
    pub(crate) pl: usize,
    /// Output columns `ox_lo..ox_hi` have every horizontal tap inside the input
    /// ([`ConvAxis::interior`]; `ox_lo <= ox_hi <= out_w`).
    pub(crate) ox_lo: usize,
    pub(crate) ox_hi: usize,
}

/// Implements `Deref<Target = Spatial>` for a family's plan type `$t` through its field `$f`,
/// so that the family's drivers read the spatial facts as fields of their plan.
macro_rules! deref_spatial {
    ($t:ident . $f:ident) => {
        impl core::ops::Deref for $t {
            type Target = $crate::geometry::Spatial;
            #[inline(always)]
            fn deref(&self) -> &Self::Target {
                &self.$f
            }
        }
    };
}
pub(crate) use deref_spatial;

impl Spatial {
    /// The spatial form of `g` (validated, canonical) with its dims `d`.
    pub(crate) fn new(g: &Conv2dGeometry, d: &Conv2dDims) -> Self {
        let (ox_lo, ox_hi) = g.axis_w().interior(d.out_w);
        Self {
            batch: g.batch,
            in_h: g.in_h,
            in_w: g.in_w,
            out_h: d.out_h,
            out_w: d.out_w,
            kh: g.kernel_h,
            kw: g.kernel_w,
            sh: g.stride_h,
            sw: g.stride_w,
            dh: g.dilation_h,
            dw: g.dilation_w,
            pt: g.padding.top,
            pl: g.padding.left,
            ox_lo,
            ox_hi,
        }
    }

    /// The valid kernel rows `ky0..ky1` of output row `oy < out_h` ([`valid_taps`]).
    #[inline(always)]
    pub(crate) fn row_taps(&self, oy: usize) -> (usize, usize) {
        valid_taps(oy * self.sh, self.pt, self.in_h, self.kh, self.dh)
    }

    /// The valid kernel columns `kx0..kx1` of output column `ox < out_w` ([`valid_taps`]).
    #[inline(always)]
    pub(crate) fn col_taps(&self, ox: usize) -> (usize, usize) {
        valid_taps(ox * self.sw, self.pl, self.in_w, self.kw, self.dw)
    }
}

/// How to pad one spatial axis of a convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PadMode {
    /// No padding: the output covers only full kernel windows.
    Valid,
    /// Pad so that `out = ceil(in / stride)`; an odd total puts the extra pixel at the end
    /// (TensorFlow `SAME`, ONNX `SAME_UPPER`).
    SameUpper,
    /// As [`PadMode::SameUpper`] but an odd total puts the extra pixel at the start
    /// (ONNX `SAME_LOWER`).
    SameLower,
}

/// Padding `(before, after)` along one axis for `mode`.
///
/// For the SAME modes: `out = ceil(input / stride)` and
/// `total = max(0, (out - 1) * stride + dilation * (kernel - 1) + 1 - input)`.
/// Errors on a zero parameter or on overflow.
pub fn axis_padding(
    mode: PadMode,
    input: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
) -> Result<(usize, usize), KernelError> {
    check_nonzero("input", input)?;
    check_nonzero("kernel", kernel)?;
    check_nonzero("stride", stride)?;
    check_nonzero("dilation", dilation)?;
    if mode == PadMode::Valid {
        return Ok((0, 0));
    }
    let out = input.div_ceil(stride);
    let needed = (out - 1)
        .checked_mul(stride)
        .and_then(|x| (kernel - 1).checked_mul(dilation).and_then(|k| x.checked_add(k)))
        .and_then(|x| x.checked_add(1))
        .ok_or(KernelError::Overflow { what: "SAME padding" })?;
    let total = needed.saturating_sub(input);
    let small = total / 2;
    Ok(match mode {
        PadMode::SameLower => (total - small, small),
        _ => (small, total - small),
    })
}

impl Padding2d {
    /// Padding of a 2-D convolution for `mode` on both axes (see [`axis_padding`]).
    #[allow(clippy::too_many_arguments)]
    pub fn for_mode(
        mode: PadMode,
        in_h: usize,
        in_w: usize,
        kernel_h: usize,
        kernel_w: usize,
        stride_h: usize,
        stride_w: usize,
        dilation_h: usize,
        dilation_w: usize,
    ) -> Result<Self, KernelError> {
        let (top, bottom) = axis_padding(mode, in_h, kernel_h, stride_h, dilation_h)?;
        let (left, right) = axis_padding(mode, in_w, kernel_w, stride_w, dilation_w)?;
        Ok(Self { top, left, bottom, right })
    }
}

#[cfg(test)]
mod tests {
    use super::ConvAxis;

    /// Every small axis: input, kernel, stride, dilation, padding before and after.
    fn axes() -> impl Iterator<Item = ConvAxis> {
        (1..7).flat_map(|input| {
            (1..5).flat_map(move |kernel| {
                (1..4).flat_map(move |stride| {
                    (1..4).flat_map(move |dilation| {
                        (0..4).flat_map(move |pad_before| {
                            (0..4).map(move |pad_after| ConvAxis {
                                input,
                                kernel,
                                stride,
                                dilation,
                                pad_before,
                                pad_after,
                            })
                        })
                    })
                })
            })
        })
    }

    /// Tap `t` of output `o` reads input position `o·stride + t·dilation - pad_before`, if any.
    fn inside(a: &ConvAxis, o: usize, t: usize) -> bool {
        let pos = o * a.stride + t * a.dilation;
        pos >= a.pad_before && pos - a.pad_before < a.input
    }

    #[test]
    fn taps_are_exactly_the_taps_inside_the_input() {
        for a in axes() {
            let Ok(out) = a.out_extent("axis") else { continue };
            for o in 0..out {
                let (t0, t1) = a.taps(o);
                assert!(t0 <= t1 && t1 <= a.kernel, "{a:?} o={o}: {t0}..{t1}");
                for t in 0..a.kernel {
                    assert_eq!((t0..t1).contains(&t), inside(&a, o, t), "{a:?} o={o} t={t}");
                }
            }
        }
    }

    #[test]
    fn interior_is_exactly_the_outputs_with_every_tap_inside() {
        for a in axes() {
            let Ok(out) = a.out_extent("axis") else { continue };
            let (lo, hi) = a.interior(out);
            assert!(lo <= hi && hi <= out, "{a:?}: {lo}..{hi} of {out}");
            for o in 0..out {
                let all = (0..a.kernel).all(|t| inside(&a, o, t));
                assert_eq!((lo..hi).contains(&o), all, "{a:?} o={o}");
            }
        }
    }

    #[test]
    fn canonical_axis_has_the_same_outputs_and_taps() {
        for a in axes() {
            let Ok(out) = a.out_extent("axis") else { continue };
            let c = a.canonical();
            assert_eq!(c.out_extent("axis"), Ok(out), "{a:?} -> {c:?}");
            for o in 0..out {
                for t in 0..a.kernel {
                    let pos = |x: &ConvAxis| o * x.stride + t * x.dilation;
                    assert_eq!(pos(&c), pos(&a), "{a:?} -> {c:?}, o={o} t={t}");
                }
            }
        }
    }
}
