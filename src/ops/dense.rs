//! Dense (fully connected) layer.

use sepconv_kernels::error::check_nonzero;
use sepconv_kernels::{Activation, PointwiseShape};

use super::{Packed, check_plan_shape, check_shape, default_isa, gemm_rows_par};
use crate::dispatch::{Isa, kernels};
use crate::error::Error;
use crate::tensor::{Shape4, TensorView, TensorViewMut};
use crate::threads::Par;

/// A dense layer, planned once: input `N×1×1×In`, weights `[Out][In]`, bias `[Out]`, output
/// `N×1×1×Out`, each `act(bias[o] + Σ_i in[n][i] · w[o][i])` — the GEMM
/// `[N, In] × [In, Out]`, run by the tier's dense (GEMM) kernel.
#[derive(Debug)]
pub struct Dense {
    /// The GEMM: `pixels` = batch, `in_c` = in features, `out_c` = out features.
    shape: PointwiseShape,
    packed: Packed<PointwiseShape>,
    act: Activation,
    isa: Isa,
}

impl Dense {
    const OP: &'static str = "Dense";

    /// Plans the op for the selected tier.
    pub fn new(
        batch: usize,
        in_features: usize,
        out_features: usize,
        weights: &[f32],
        bias: Option<&[f32]>,
        act: Activation,
    ) -> Result<Self, Error> {
        Self::with_isa(default_isa()?, batch, in_features, out_features, weights, bias, act)
    }

    /// Plans the op for tier `isa` (an error if the CPU lacks it).
    pub fn with_isa(
        isa: Isa,
        batch: usize,
        in_features: usize,
        out_features: usize,
        weights: &[f32],
        bias: Option<&[f32]>,
        act: Activation,
    ) -> Result<Self, Error> {
        let kernel = kernels(isa)?.dense;
        check_nonzero("in_features", in_features).map_err(Error::kernel(Self::OP))?;
        check_nonzero("out_features", out_features).map_err(Error::kernel(Self::OP))?;
        check_plan_shape(Shape4::new(batch, 1, 1, in_features))?;
        check_plan_shape(Shape4::new(batch, 1, 1, out_features))?;
        act.validate().map_err(Error::kernel(Self::OP))?;
        let shape = PointwiseShape { pixels: batch, in_c: in_features, out_c: out_features };
        let (_, weight_len, _) = shape.validate().map_err(Error::kernel(Self::OP))?;
        let packed = Packed::new(Self::OP, kernel, &shape, weight_len, weights, bias)?;
        Ok(Self { shape, packed, act, isa })
    }

    /// Runs the layer; `input` and `output` must have the planned shapes.
    pub fn run(&self, input: TensorView<'_>, mut output: TensorViewMut<'_>) -> Result<(), Error> {
        check_shape(Self::OP, "input", self.input_shape(), input.shape())?;
        check_shape(Self::OP, "output", self.output_shape(), output.shape())?;
        self.packed.run(Self::OP, &self.shape, input.as_slice(), self.act, output.as_mut_slice())
    }

    /// As [`Self::run`], with the batch rows split into bands run in parallel on `par`'s
    /// threads (bit-identical results; with one thread this is [`Self::run`]). A batch too
    /// small to give each band enough work, e.g. batch 1, runs as one band.
    pub fn run_par(
        &self,
        input: TensorView<'_>,
        mut output: TensorViewMut<'_>,
        par: &Par<'_>,
    ) -> Result<(), Error> {
        if par.is_single() {
            return self.run(input, output);
        }
        check_shape(Self::OP, "input", self.input_shape(), input.shape())?;
        check_shape(Self::OP, "output", self.output_shape(), output.shape())?;
        gemm_rows_par(
            Self::OP,
            &self.packed,
            &self.shape,
            input.as_slice(),
            self.act,
            output.as_mut_slice(),
            par,
        )
    }

    /// `N×1×1×In`.
    pub fn input_shape(&self) -> Shape4 {
        Shape4::new(self.shape.pixels, 1, 1, self.shape.in_c)
    }
    /// `N×1×1×Out`.
    pub fn output_shape(&self) -> Shape4 {
        Shape4::new(self.shape.pixels, 1, 1, self.shape.out_c)
    }
    /// The kernel's name.
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
