//! Dense (fully connected) layer.

use sepconv_kernels::Activation;
use sepconv_kernels::error::check_nonzero;
use sepconv_kernels::reference::DenseShape;

use super::{check_plan_shape, check_shape, check_weights, default_isa, pack_bias};
use crate::dispatch::{DenseFn, Isa, Kernel, kernels};
use crate::error::Error;
use crate::tensor::{AlignedBuf, Shape4, TensorView, TensorViewMut};

/// A dense layer, planned once: input `N×1×1×In`, weights `[Out][In]`, bias `[Out]`, output
/// `N×1×1×Out`, each `act(bias[o] + Σ_i in[n][i] · w[o][i])`.
#[derive(Debug)]
pub struct Dense {
    shape: DenseShape,
    weights: AlignedBuf,
    bias: Option<AlignedBuf>,
    act: Activation,
    isa: Isa,
    kernel: Kernel<DenseFn>,
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
        let weight_len = in_features.checked_mul(out_features).ok_or(Error::Kernel {
            op: Self::OP,
            source: sepconv_kernels::KernelError::Overflow { what: "weight length" },
        })?;
        check_weights(Self::OP, weight_len, weights)?;
        let bias = pack_bias(Self::OP, bias, out_features)?;
        let shape = DenseShape { batch, in_features, out_features };
        Ok(Self { shape, weights: AlignedBuf::from_slice(weights), bias, act, isa, kernel })
    }

    /// Runs the layer; `input` and `output` must have the planned shapes.
    pub fn run(&self, input: TensorView<'_>, mut output: TensorViewMut<'_>) -> Result<(), Error> {
        check_shape(Self::OP, "input", self.input_shape(), input.shape())?;
        check_shape(Self::OP, "output", self.output_shape(), output.shape())?;
        (self.kernel.func)(
            &self.shape,
            input.as_slice(),
            self.weights.as_slice(),
            self.bias.as_ref().map(AlignedBuf::as_slice),
            self.act,
            output.as_mut_slice(),
        )
        .map_err(Error::kernel(Self::OP))
    }

    /// `N×1×1×In`.
    pub fn input_shape(&self) -> Shape4 {
        Shape4::new(self.shape.batch, 1, 1, self.shape.in_features)
    }
    /// `N×1×1×Out`.
    pub fn output_shape(&self) -> Shape4 {
        Shape4::new(self.shape.batch, 1, 1, self.shape.out_features)
    }
    /// The kernel's name.
    pub fn kernel_name(&self) -> &'static str {
        self.kernel.name
    }
    /// The tier the op was planned for.
    pub fn isa(&self) -> Isa {
        self.isa
    }
    /// FLOPs of one run (2 per multiply-add; saturates at `u64::MAX`).
    pub fn flops(&self) -> u64 {
        (self.shape.batch as u64)
            .saturating_mul(self.shape.in_features as u64)
            .saturating_mul(self.shape.out_features as u64)
            .saturating_mul(2)
    }
}
