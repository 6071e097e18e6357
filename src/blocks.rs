//! Ready-made blocks of ops: the MobileNetV2 inverted-residual block, with deterministic
//! weights, used by `sepconv`'s default job and its benchmarks.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use sepconv_kernels::{Activation, Conv2dGeometry, KernelError, Padding2d};

use crate::dispatch::Isa;
use crate::error::Error;
use crate::ops::{Add, DepthwiseConv2d, PointwiseConv2d};
use crate::tensor::{Shape4, Tensor, TensorView, TensorViewMut};

/// `n` values drawn uniformly from `[-bound, bound]` by `rng`.
pub fn uniform(rng: &mut StdRng, n: usize, bound: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-bound..=bound)).collect()
}

/// He-scaled uniform weights for a layer with `fan_in` inputs per output: the variance is
/// `2 / fan_in`, so activations keep their scale through ReLU layers.
pub fn he_uniform(rng: &mut StdRng, n: usize, fan_in: usize) -> Vec<f32> {
    uniform(rng, n, (6.0 / fan_in.max(1) as f32).sqrt())
}

/// A MobileNetV2 inverted-residual block, planned once:
/// pointwise expand (Cin → t·Cin, ReLU6) → depthwise 3×3 (stride s, padding 1, ReLU6) →
/// pointwise project (t·Cin → Cout, linear) → residual add of the input when `s == 1` and
/// `Cin == Cout`. The two intermediate tensors are owned by the block.
#[derive(Debug)]
pub struct InvertedResidual {
    expand: PointwiseConv2d,
    depthwise: DepthwiseConv2d,
    project: PointwiseConv2d,
    residual: Option<Add>,
    expanded: Tensor,
    filtered: Tensor,
    projected: Tensor,
}

impl InvertedResidual {
    /// Plans the block on tier `isa` for `input` (N×H×W×Cin) with expansion factor `expand`,
    /// `out_c` output channels and depthwise `stride`, with He-scaled weights and small biases
    /// drawn from a generator seeded with `seed` (the same seed gives the same weights on every
    /// machine and tier).
    pub fn seeded(
        isa: Isa,
        input: Shape4,
        expand: usize,
        out_c: usize,
        stride: usize,
        seed: u64,
    ) -> Result<Self, Error> {
        let overflow = |what| Error::Geometry(KernelError::Overflow { what });
        let hidden = input.c.checked_mul(expand).ok_or(overflow("expanded channels"))?;
        let expand_len = hidden.checked_mul(input.c).ok_or(overflow("expand weight length"))?;
        let dw_len = hidden.checked_mul(9).ok_or(overflow("depthwise weight length"))?;
        let project_len = hidden.checked_mul(out_c).ok_or(overflow("project weight length"))?;
        // Validate every shape before drawing (and allocating) any weights.
        input.validate()?;
        Shape4 { c: hidden, ..input }.validate()?;
        Shape4 { c: out_c, ..input }.validate()?;

        let mut rng = StdRng::seed_from_u64(seed);
        let w_expand = he_uniform(&mut rng, expand_len, input.c);
        let b_expand = uniform(&mut rng, hidden, 0.1);
        let w_dw = he_uniform(&mut rng, dw_len, 9);
        let b_dw = uniform(&mut rng, hidden, 0.1);
        let w_project = he_uniform(&mut rng, project_len, hidden);
        let b_project = uniform(&mut rng, out_c, 0.1);

        let expand =
            PointwiseConv2d::with_isa(isa, input, hidden, &w_expand, Some(&b_expand), Activation::Relu6)?;
        let geom = Conv2dGeometry::depthwise(input.n, input.h, input.w, hidden, 3, 3)
            .with_stride(stride, stride)
            .with_padding(Padding2d::uniform(1));
        let depthwise = DepthwiseConv2d::with_isa(isa, geom, &w_dw, Some(&b_dw), Activation::Relu6)?;
        let project = PointwiseConv2d::with_isa(
            isa,
            depthwise.output_shape(),
            out_c,
            &w_project,
            Some(&b_project),
            Activation::None,
        )?;
        let residual = (stride == 1 && input.c == out_c)
            .then(|| Add::with_isa(isa, project.output_shape(), Activation::None))
            .transpose()?;
        Ok(Self {
            expanded: Tensor::zeros(expand.output_shape())?,
            filtered: Tensor::zeros(depthwise.output_shape())?,
            projected: Tensor::zeros(project.output_shape())?,
            expand,
            depthwise,
            project,
            residual,
        })
    }

    /// Runs the block. Needs `&mut self` for its intermediate tensors; allocates nothing.
    pub fn run(&mut self, input: TensorView<'_>, output: TensorViewMut<'_>) -> Result<(), Error> {
        self.expand.run(input, self.expanded.view_mut())?;
        self.depthwise.run(self.expanded.view(), self.filtered.view_mut())?;
        match &self.residual {
            Some(add) => {
                self.project.run(self.filtered.view(), self.projected.view_mut())?;
                add.run(input, self.projected.view(), output)
            }
            None => self.project.run(self.filtered.view(), output),
        }
    }

    /// `N×H×W×Cin`.
    pub fn input_shape(&self) -> Shape4 {
        self.expand.input_shape()
    }
    /// `N×OH×OW×Cout`.
    pub fn output_shape(&self) -> Shape4 {
        self.project.output_shape()
    }
    /// FLOPs of one run: the three convolutions (2 per multiply-add) plus one per residual add.
    pub fn flops(&self) -> u64 {
        let add = self.residual.as_ref().map_or(0, |a| a.shape().len().unwrap_or(0) as u64);
        self.expand.flops() + self.depthwise.flops() + self.project.flops() + add
    }
    /// The kernel names of the block's ops, in order.
    pub fn kernel_names(&self) -> Vec<&'static str> {
        let mut names =
            vec![self.expand.kernel_name(), self.depthwise.kernel_name(), self.project.kernel_name()];
        names.extend(self.residual.as_ref().map(Add::kernel_name));
        names
    }
}
