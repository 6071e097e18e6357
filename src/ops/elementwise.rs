//! Elementwise ops: standalone activation, residual add, products and per-channel PRelu.

use sepconv_kernels::Activation;

use super::{check_plan_shape, check_shape, default_isa, slice_band};
use crate::dispatch::{ActivationFn, AddFn, Isa, Kernel, kernels};
use crate::error::Error;
use crate::tensor::{Shape4, TensorView, TensorViewMut};
use crate::threads::Par;

/// A standalone activation over a tensor of a planned shape: `out = act(in)`.
#[derive(Debug)]
pub struct ActivationOp {
    shape: Shape4,
    act: Activation,
    isa: Isa,
    kernel: Kernel<ActivationFn>,
}

impl ActivationOp {
    const OP: &'static str = "Activation";

    /// Plans the op for the selected tier.
    pub fn new(shape: Shape4, act: Activation) -> Result<Self, Error> {
        Self::with_isa(default_isa()?, shape, act)
    }

    /// Plans the op for tier `isa` (an error if the CPU lacks it).
    pub fn with_isa(isa: Isa, shape: Shape4, act: Activation) -> Result<Self, Error> {
        let kernel = kernels(isa)?.activation;
        check_plan_shape(shape)?;
        act.validate().map_err(Error::kernel(Self::OP))?;
        Ok(Self { shape, act, isa, kernel })
    }

    /// `output = act(input)`; both must have the planned shape.
    pub fn run(&self, input: TensorView<'_>, mut output: TensorViewMut<'_>) -> Result<(), Error> {
        check_shape(Self::OP, "input", self.shape, input.shape())?;
        check_shape(Self::OP, "output", self.shape, output.shape())?;
        (self.kernel.func)(self.act, input.as_slice(), output.as_mut_slice()).map_err(Error::kernel(Self::OP))
    }

    /// As [`Self::run`], with the pixels split into bands run in parallel on `par`'s threads
    /// (bit-identical results; with one thread this is [`Self::run`]).
    pub fn run_par(
        &self,
        input: TensorView<'_>,
        mut output: TensorViewMut<'_>,
        par: &Par<'_>,
    ) -> Result<(), Error> {
        if par.is_single() {
            return self.run(input, output);
        }
        check_shape(Self::OP, "input", self.shape, input.shape())?;
        check_shape(Self::OP, "output", self.shape, output.shape())?;
        let (c, input) = (self.shape.c, input.as_slice());
        par.for_each_band_mut(output.as_mut_slice(), c, par.min_band_rows(2 * c as u64, 1), |px, out| {
            (self.kernel.func)(self.act, slice_band(Self::OP, "input", input, px.start * c..px.end * c)?, out)
                .map_err(Error::kernel(Self::OP))
        })
    }

    /// The planned shape (input and output).
    pub fn shape(&self) -> Shape4 {
        self.shape
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

/// Elementwise add of two tensors of one planned shape, with a fused activation:
/// `out = act(a + b)` (a residual connection).
#[derive(Debug)]
pub struct Add {
    shape: Shape4,
    act: Activation,
    isa: Isa,
    kernel: Kernel<AddFn>,
}

impl Add {
    const OP: &'static str = "Add";

    /// Plans the op for the selected tier.
    pub fn new(shape: Shape4, act: Activation) -> Result<Self, Error> {
        Self::with_isa(default_isa()?, shape, act)
    }

    /// Plans the op for tier `isa` (an error if the CPU lacks it).
    pub fn with_isa(isa: Isa, shape: Shape4, act: Activation) -> Result<Self, Error> {
        let kernel = kernels(isa)?.add;
        check_plan_shape(shape)?;
        act.validate().map_err(Error::kernel(Self::OP))?;
        Ok(Self { shape, act, isa, kernel })
    }

    /// `output = act(a + b)`; all three must have the planned shape.
    pub fn run(
        &self,
        a: TensorView<'_>,
        b: TensorView<'_>,
        mut output: TensorViewMut<'_>,
    ) -> Result<(), Error> {
        check_shape(Self::OP, "a", self.shape, a.shape())?;
        check_shape(Self::OP, "b", self.shape, b.shape())?;
        check_shape(Self::OP, "output", self.shape, output.shape())?;
        (self.kernel.func)(a.as_slice(), b.as_slice(), self.act, output.as_mut_slice())
            .map_err(Error::kernel(Self::OP))
    }

    /// As [`Self::run`], with the pixels split into bands run in parallel on `par`'s threads
    /// (bit-identical results; with one thread this is [`Self::run`]).
    pub fn run_par(
        &self,
        a: TensorView<'_>,
        b: TensorView<'_>,
        mut output: TensorViewMut<'_>,
        par: &Par<'_>,
    ) -> Result<(), Error> {
        if par.is_single() {
            return self.run(a, b, output);
        }
        check_shape(Self::OP, "a", self.shape, a.shape())?;
        check_shape(Self::OP, "b", self.shape, b.shape())?;
        check_shape(Self::OP, "output", self.shape, output.shape())?;
        let (c, a, b) = (self.shape.c, a.as_slice(), b.as_slice());
        par.for_each_band_mut(output.as_mut_slice(), c, par.min_band_rows(2 * c as u64, 1), |px, out| {
            let range = px.start * c..px.end * c;
            let (a, b) = (slice_band(Self::OP, "a", a, range.clone())?, slice_band(Self::OP, "b", b, range)?);
            (self.kernel.func)(a, b, self.act, out).map_err(Error::kernel(Self::OP))
        })
    }

    /// The planned shape (inputs and output).
    pub fn shape(&self) -> Shape4 {
        self.shape
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

/// Elementwise product with a fused activation, `out = act(x · s)`, where `s` has the shape of
/// `x` or one value per image and channel (`N×1×1×C`, broadcast over the pixels: the channel
/// attention of a squeeze-and-excitation block).
#[derive(Debug)]
pub struct Mul {
    shape: Shape4,
    /// `shape`, or `N×1×1×C`.
    scale: Shape4,
    act: Activation,
    isa: Isa,
}

impl Mul {
    const OP: &'static str = "Mul";

    /// Plans `x · s` for `x` of `shape` and `s` of `scale` (`shape` or `N×1×1×C`), on tier
    /// `isa` (an error if the CPU lacks it; the product is a portable loop on every tier).
    pub fn with_isa(isa: Isa, shape: Shape4, scale: Shape4, act: Activation) -> Result<Self, Error> {
        isa.ensure_available()?;
        check_plan_shape(shape)?;
        act.validate().map_err(Error::kernel(Self::OP))?;
        if scale != shape && scale != Shape4::new(shape.n, 1, 1, shape.c) {
            return Err(Error::ShapeMismatch {
                op: Self::OP,
                what: "scale",
                actual: scale,
                expected: Shape4::new(shape.n, 1, 1, shape.c),
            });
        }
        Ok(Self { shape, scale, act, isa })
    }

    /// `output = act(x · s)`; `x` and `output` of the planned shape, `s` of the planned scale
    /// shape.
    pub fn run(
        &self,
        x: TensorView<'_>,
        s: TensorView<'_>,
        mut output: TensorViewMut<'_>,
    ) -> Result<(), Error> {
        self.check(&x, &s, &output)?;
        let pixels = self.shape.n * self.shape.h * self.shape.w;
        self.band(0..pixels, x.as_slice(), s.as_slice(), output.as_mut_slice())
    }

    /// As [`Self::run`], with the pixels split into bands run in parallel on `par`'s threads
    /// (bit-identical results; with one thread this is [`Self::run`]).
    pub fn run_par(
        &self,
        x: TensorView<'_>,
        s: TensorView<'_>,
        mut output: TensorViewMut<'_>,
        par: &Par<'_>,
    ) -> Result<(), Error> {
        if par.is_single() {
            return self.run(x, s, output);
        }
        self.check(&x, &s, &output)?;
        let (c, x, s) = (self.shape.c, x.as_slice(), s.as_slice());
        par.for_each_band_mut(output.as_mut_slice(), c, par.min_band_rows(2 * c as u64, 1), |px, out| {
            self.band(px, x, s, out)
        })
    }

    fn check(&self, x: &TensorView<'_>, s: &TensorView<'_>, output: &TensorViewMut<'_>) -> Result<(), Error> {
        check_shape(Self::OP, "x", self.shape, x.shape())?;
        check_shape(Self::OP, "scale", self.scale, s.shape())?;
        check_shape(Self::OP, "output", self.shape, output.shape())
    }

    /// Pixels `px` (across the batch) of the product into `out` (those pixels' rows).
    fn band(&self, px: std::ops::Range<usize>, x: &[f32], s: &[f32], out: &mut [f32]) -> Result<(), Error> {
        let c = self.shape.c;
        let per_image = (self.shape.h * self.shape.w).max(1);
        let same = self.scale == self.shape;
        let xs = slice_band(Self::OP, "x", x, px.start * c..px.end * c)?;
        for ((p, o), xp) in px.zip(out.chunks_exact_mut(c)).zip(xs.chunks_exact(c)) {
            // The scale row of pixel `p`: its own, or its image's.
            let row = if same { p } else { p / per_image };
            let sp = slice_band(Self::OP, "scale", s, row * c..(row + 1) * c)?;
            for ((o, &a), &b) in o.iter_mut().zip(xp).zip(sp) {
                *o = self.act.apply(a * b);
            }
        }
        Ok(())
    }

    /// The planned shape of `x` and the output.
    pub fn shape(&self) -> Shape4 {
        self.shape
    }
    /// The kernel's name.
    pub fn kernel_name(&self) -> &'static str {
        if self.scale == self.shape { "mul/portable" } else { "mul_channels/portable" }
    }
    /// The tier the op was planned for.
    pub fn isa(&self) -> Isa {
        self.isa
    }
}

/// PRelu with one slope per channel: `out[p][c] = x[p][c]` where `x >= 0` (and for NaN),
/// `slope[c] · x[p][c]` where `x < 0` (ONNX `PRelu` with a `[C, 1, 1]` slope). A slope shared
/// by every channel is an [`Activation::LeakyRelu`] instead, which fuses into a kernel's store.
#[derive(Debug)]
pub struct PRelu {
    shape: Shape4,
    slope: Vec<f32>,
    isa: Isa,
}

impl PRelu {
    const OP: &'static str = "PRelu";

    /// Plans the op for `x` of `shape` with `slope` (one finite value per channel), on tier
    /// `isa` (an error if the CPU lacks it; the op is a loop the compiler vectorises, the
    /// same on every tier).
    pub fn with_isa(isa: Isa, shape: Shape4, slope: &[f32]) -> Result<Self, Error> {
        isa.ensure_available()?;
        check_plan_shape(shape)?;
        if slope.len() != shape.c {
            return Err(Error::InvalidParam {
                op: Self::OP,
                what: "slope length",
                value: slope.len(),
                reason: "must be the channel count",
            });
        }
        if let Some(k) = slope.iter().position(|v| !v.is_finite()) {
            return Err(Error::InvalidParam {
                op: Self::OP,
                what: "slope channel",
                value: k,
                reason: "is not finite",
            });
        }
        Ok(Self { shape, slope: slope.to_vec(), isa })
    }

    /// `output = prelu(x)`; both of the planned shape.
    pub fn run(&self, x: TensorView<'_>, mut output: TensorViewMut<'_>) -> Result<(), Error> {
        self.check(&x, &output)?;
        self.band(x.as_slice(), output.as_mut_slice());
        Ok(())
    }

    /// As [`Self::run`], with the pixels split into bands run in parallel on `par`'s threads
    /// (bit-identical results; with one thread this is [`Self::run`]).
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
        let (c, x) = (self.shape.c, x.as_slice());
        par.for_each_band_mut(output.as_mut_slice(), c, par.min_band_rows(2 * c as u64, 1), |px, out| {
            self.band(slice_band(Self::OP, "x", x, px.start * c..px.end * c)?, out);
            Ok(())
        })
    }

    fn check(&self, x: &TensorView<'_>, output: &TensorViewMut<'_>) -> Result<(), Error> {
        check_shape(Self::OP, "x", self.shape, x.shape())?;
        check_shape(Self::OP, "output", self.shape, output.shape())
    }

    /// Whole pixels of `x` into `out` (the same pixels).
    fn band(&self, x: &[f32], out: &mut [f32]) {
        let c = self.shape.c;
        for (o, xp) in out.chunks_exact_mut(c).zip(x.chunks_exact(c)) {
            for ((o, &a), &s) in o.iter_mut().zip(xp).zip(&self.slope) {
                *o = if a < 0.0 { a * s } else { a };
            }
        }
    }

    /// The planned shape of `x` and the output.
    pub fn shape(&self) -> Shape4 {
        self.shape
    }
    /// The slope of every channel.
    pub fn slope(&self) -> &[f32] {
        &self.slope
    }
    /// The kernel's name.
    pub fn kernel_name(&self) -> &'static str {
        "prelu_channels/portable"
    }
    /// The tier the op was planned for.
    pub fn isa(&self) -> Isa {
        self.isa
    }
}
