//! Dense (fully connected) layer.

use sepconv_kernels::error::{check_len, check_nonzero};
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
    /// The packed weights: one GEMM, or for batch 1 with many outputs (a classifier head)
    /// `packed.len()` GEMVs of `chunk_cols` outputs each, so that threads can split the output
    /// features (a batch-1 GEMM has a single row to split).
    packed: Vec<Packed<PointwiseShape>>,
    /// Outputs per chunk (`out_c` when there is one GEMM).
    chunk_cols: usize,
    kernel_name: &'static str,
    act: Activation,
    isa: Isa,
}

/// Output features per chunk (and the chunk count) for a batch-1 dense layer of `out` outputs:
/// 4 or 2 equal chunks of at least [`MIN_CHUNK_COLS`], or `None`.
fn column_chunks(batch: usize, out: usize) -> Option<(usize, usize)> {
    if batch != 1 {
        return None;
    }
    [4, 2].into_iter().find(|&q| out.is_multiple_of(q) && out / q >= MIN_CHUNK_COLS).map(|q| (out / q, q))
}

/// Smallest chunk worth a thread of its own (a GEMV of fewer outputs is mostly overhead).
const MIN_CHUNK_COLS: usize = 128;

impl Dense {
    /// Bytes of packed weights (and bias) this op holds.
    pub fn packed_bytes(&self) -> usize {
        self.packed.iter().map(Packed::bytes).sum()
    }

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
        let mut packed = Vec::new();
        let chunk_cols = match column_chunks(batch, out_features) {
            Some((cols, count)) => {
                // Whole weights and bias first, so a short slice is refused like the one-GEMM path.
                check_len("weights", weight_len, weights.len()).map_err(Error::kernel(Self::OP))?;
                if let Some(b) = bias {
                    check_len("bias", out_features, b.len()).map_err(Error::kernel(Self::OP))?;
                }
                let part = PointwiseShape { out_c: cols, ..shape };
                for (q, w) in weights.chunks_exact(cols * in_features).take(count).enumerate() {
                    let b = bias.and_then(|b| b.get(q * cols..(q + 1) * cols));
                    packed.push(Packed::new(Self::OP, kernel, &part, w.len(), w, b)?);
                }
                cols
            }
            None => {
                packed.push(Packed::new(Self::OP, kernel, &shape, weight_len, weights, bias)?);
                out_features
            }
        };
        Ok(Self { shape, packed, chunk_cols, kernel_name: kernel.name, act, isa })
    }

    /// Runs the layer; `input` and `output` must have the planned shapes.
    pub fn run(&self, input: TensorView<'_>, mut output: TensorViewMut<'_>) -> Result<(), Error> {
        check_shape(Self::OP, "input", self.input_shape(), input.shape())?;
        check_shape(Self::OP, "output", self.output_shape(), output.shape())?;
        let input = input.as_slice();
        match self.packed.as_slice() {
            [one] => one.run(Self::OP, &self.shape, input, self.act, output.as_mut_slice()),
            chunks => self.run_chunks(chunks, input, output.as_mut_slice()),
        }
    }

    /// As [`Self::run`], with the batch rows split into bands run in parallel on `par`'s
    /// threads (bit-identical results; with one thread this is [`Self::run`]). Batch 1 with
    /// many outputs splits the output features instead (each output is computed by the same
    /// kernel over the same K order, so the results are bit-identical too).
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
        let one = match self.packed.as_slice() {
            [one] => one,
            chunks => {
                let input = input.as_slice();
                // One band per run of whole chunks (output features), in order.
                return par.for_each_band_mut(output.as_mut_slice(), self.chunk_cols, 1, |range, out| {
                    let mine = chunks.get(range).ok_or_else(|| Error::Graph {
                        node: Self::OP.to_string(),
                        reason: "internal error: a band past the last chunk".to_string(),
                    })?;
                    self.run_chunks(mine, input, out)
                });
            }
        };
        gemm_rows_par(Self::OP, one, &self.shape, input.as_slice(), self.act, output.as_mut_slice(), par)
    }

    /// Runs column chunks `chunks` (consecutive, `chunk_cols` outputs each) into `output`, the
    /// outputs they cover.
    fn run_chunks(
        &self,
        chunks: &[Packed<PointwiseShape>],
        input: &[f32],
        output: &mut [f32],
    ) -> Result<(), Error> {
        let part = PointwiseShape { out_c: self.chunk_cols, ..self.shape };
        for (chunk, o) in chunks.iter().zip(output.chunks_exact_mut(self.chunk_cols)) {
            chunk.run(Self::OP, &part, input, self.act, o)?;
        }
        Ok(())
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
        self.kernel_name
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
