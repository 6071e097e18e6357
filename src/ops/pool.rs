//! Global average pooling.

use sepconv_kernels::reference::GlobalPoolShape;

use super::{check_plan_shape, check_shape, default_isa};
use crate::dispatch::{GlobalAvgPoolFn, Isa, Kernel, kernels};
use crate::error::Error;
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
