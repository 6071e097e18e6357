//! Ops: planned once, run many times.
//!
//! Every op is built with `new(...) -> Result<Self, Error>` (or `with_isa(...)` to choose a
//! tier explicitly), which validates every parameter and shape, packs the weights into the
//! layout its kernel reads, sizes any scratch, and picks its kernel from the dispatcher's
//! table. `run(&self, ...)` then checks the tensors' shapes against the plan and calls the
//! kernel; it does not allocate.
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
//! | [`Dense`] | `N×1×1×In` | `[Out][In]` | `N×1×1×Out` |

mod conv;
mod dense;
mod elementwise;
mod pool;
mod separable;

pub use conv::{Conv2d, ConvPath, DepthwiseConv2d, PointwiseConv2d, conv2d_output_shape};
pub use dense::Dense;
pub use elementwise::{ActivationOp, Add};
pub use pool::GlobalAvgPool;
pub use separable::{SeparableConv2d, SeparablePass1d};

use sepconv_kernels::Activation;

use crate::dispatch::{self, Isa, PackedKernel};
use crate::error::Error;
use crate::tensor::{AlignedBuf, Shape4};

/// The tier ops are planned for when none is given: see [`dispatch::selected_isa`].
fn default_isa() -> Result<Isa, Error> {
    Ok(dispatch::selected_isa()?.0)
}

/// Errors unless `actual == expected`.
fn check_shape(op: &'static str, what: &'static str, expected: Shape4, actual: Shape4) -> Result<(), Error> {
    if expected == actual { Ok(()) } else { Err(Error::ShapeMismatch { op, what, expected, actual }) }
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
    /// Sizes, allocates and fills the packed buffer; errors (lengths, geometry) name `op`.
    fn new(
        op: &'static str,
        kernel: PackedKernel<G>,
        g: &G,
        weights: &[f32],
        bias: Option<&[f32]>,
    ) -> Result<Self, Error> {
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
