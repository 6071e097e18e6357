//! The standard layer set and the timing harness behind `sepconv bench` (also compiled into
//! the criterion benches, benches/ops.rs).
//!
//! Layers are named so results can be joined with other runtimes' on the same names
//! (NHWC, batch 1, fp32, with bias unless said):
//! - depthwise 3×3, pad 1: `dw_c{C}_{H}_s{stride}` (the eight depthwise layers of MobileNetV2);
//! - pointwise: `pw_{Cin}x{Cout}_{H}`;
//! - grouped 3×3, pad 1, Cout = Cin: `gc_c{C}_g{groups}_{H}`;
//! - separable: `sep_dw_c64_56_k7` (1×7 then 7×1, pad 3, on 64×56×56) and
//!   `sep_blur_1x1024_k15` (1×15 then 15×1, pad 7, no bias, on a single-channel 1024² image).
//!
//! FLOPs count 2 per multiply-add of the convolutions.

// No slice indexing here (see the crate's no-panic rule).
#![deny(clippy::indexing_slicing)]

use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;
use sepconv_kernels::{Activation, Conv2dGeometry, Padding2d};

use sepconv::Error;
use sepconv::blocks::{he_uniform, uniform};
use sepconv::dispatch::Isa;
use sepconv::ops::{Conv2d, PointwiseConv2d, SeparableConv2d, SeparablePass1d};
use sepconv::tensor::{Shape4, Tensor};

/// What a standard layer computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerKind {
    /// Depthwise 3×3, pad 1, on `c × hw × hw`.
    Depthwise {
        /// Channels.
        c: usize,
        /// Input height = width.
        hw: usize,
        /// Stride (both axes).
        stride: usize,
    },
    /// Pointwise `cin → cout` on `hw × hw`.
    Pointwise {
        /// Input channels.
        cin: usize,
        /// Output channels.
        cout: usize,
        /// Height = width.
        hw: usize,
    },
    /// Grouped 3×3, pad 1, stride 1, `c → c` channels in `groups` groups.
    Grouped {
        /// Channels (in = out).
        c: usize,
        /// Groups.
        groups: usize,
        /// Height = width.
        hw: usize,
    },
    /// Row 1×k then column k×1 per channel, pad k/2, stride 1.
    Separable {
        /// Channels.
        c: usize,
        /// Height = width.
        hw: usize,
        /// Taps per pass.
        k: usize,
        /// Whether the column pass adds a bias.
        bias: bool,
    },
}

/// A layer of the standard set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StandardLayer {
    /// The name other runtimes' results are joined on.
    pub name: &'static str,
    /// What it computes.
    pub kind: LayerKind,
}

impl StandardLayer {
    /// The op class: `dwconv`, `pointwise`, `grouped` or `separable`.
    pub fn op(&self) -> &'static str {
        match self.kind {
            LayerKind::Depthwise { .. } => "dwconv",
            LayerKind::Pointwise { .. } => "pointwise",
            LayerKind::Grouped { .. } => "grouped",
            LayerKind::Separable { .. } => "separable",
        }
    }
}

/// The standard layer set, in a fixed order.
pub const STANDARD_LAYERS: &[StandardLayer] = &[
    dw("dw_c32_112_s1", 32, 112, 1),
    dw("dw_c96_112_s2", 96, 112, 2),
    dw("dw_c144_56_s1", 144, 56, 1),
    dw("dw_c144_56_s2", 144, 56, 2),
    dw("dw_c192_28_s1", 192, 28, 1),
    dw("dw_c384_14_s1", 384, 14, 1),
    dw("dw_c576_14_s1", 576, 14, 1),
    dw("dw_c960_7_s1", 960, 7, 1),
    pw("pw_32x16_112", 32, 16, 112),
    pw("pw_144x24_56", 144, 24, 56),
    pw("pw_192x32_28", 192, 32, 28),
    pw("pw_384x64_14", 384, 64, 14),
    pw("pw_576x96_14", 576, 96, 14),
    pw("pw_960x320_7", 960, 320, 7),
    pw("pw_320x1280_7", 320, 1280, 7),
    StandardLayer { name: "gc_c128_g4_56", kind: LayerKind::Grouped { c: 128, groups: 4, hw: 56 } },
    StandardLayer { name: "gc_c256_g8_28", kind: LayerKind::Grouped { c: 256, groups: 8, hw: 28 } },
    StandardLayer { name: "gc_c64_g32_56", kind: LayerKind::Grouped { c: 64, groups: 32, hw: 56 } },
    StandardLayer {
        name: "sep_dw_c64_56_k7",
        kind: LayerKind::Separable { c: 64, hw: 56, k: 7, bias: true },
    },
    StandardLayer {
        name: "sep_blur_1x1024_k15",
        kind: LayerKind::Separable { c: 1, hw: 1024, k: 15, bias: false },
    },
];

const fn dw(name: &'static str, c: usize, hw: usize, stride: usize) -> StandardLayer {
    StandardLayer { name, kind: LayerKind::Depthwise { c, hw, stride } }
}

const fn pw(name: &'static str, cin: usize, cout: usize, hw: usize) -> StandardLayer {
    StandardLayer { name, kind: LayerKind::Pointwise { cin, cout, hw } }
}

/// The op behind a planned layer.
#[derive(Debug)]
enum LayerOp {
    Conv(Conv2d),
    Pointwise(PointwiseConv2d),
    Separable(SeparableConv2d),
}

/// A standard layer planned on one tier, with its input and output tensors, ready to time.
#[derive(Debug)]
pub struct PlannedLayer {
    op: LayerOp,
    input: Tensor,
    output: Tensor,
    flops: u64,
    bytes: u64,
}

impl PlannedLayer {
    /// Plans `layer` on tier `isa` with deterministic weights and input (seeded by the
    /// layer's position in the set, so every tier computes the same thing).
    pub fn new(layer: &StandardLayer, isa: Isa) -> Result<Self, Error> {
        let seed = STANDARD_LAYERS.iter().position(|l| l.name == layer.name).unwrap_or(0) as u64;
        let mut rng = StdRng::seed_from_u64(0xbe9c_0000 + seed);
        let act = Activation::Relu6;
        let (op, input_shape, weight_len) = match layer.kind {
            LayerKind::Depthwise { c, hw, stride } => {
                let g = Conv2dGeometry::depthwise(1, hw, hw, c, 3, 3)
                    .with_stride(stride, stride)
                    .with_padding(Padding2d::uniform(1));
                let w = he_uniform(&mut rng, 9 * c, 9);
                let b = uniform(&mut rng, c, 0.1);
                (
                    LayerOp::Conv(Conv2d::with_isa(isa, g, &w, Some(&b), act)?),
                    Shape4::new(1, hw, hw, c),
                    w.len(),
                )
            }
            LayerKind::Pointwise { cin, cout, hw } => {
                let shape = Shape4::new(1, hw, hw, cin);
                let w = he_uniform(&mut rng, cin * cout, cin);
                let b = uniform(&mut rng, cout, 0.1);
                let op = PointwiseConv2d::with_isa(isa, shape, cout, &w, Some(&b), Activation::None)?;
                (LayerOp::Pointwise(op), shape, w.len())
            }
            LayerKind::Grouped { c, groups, hw } => {
                let g = Conv2dGeometry::new(1, hw, hw, c, c, 3, 3)
                    .with_groups(groups)
                    .with_padding(Padding2d::uniform(1));
                let fan_in = 9 * c / groups;
                let w = he_uniform(&mut rng, c * fan_in, fan_in);
                let b = uniform(&mut rng, c, 0.1);
                (
                    LayerOp::Conv(Conv2d::with_isa(isa, g, &w, Some(&b), act)?),
                    Shape4::new(1, hw, hw, c),
                    w.len(),
                )
            }
            LayerKind::Separable { c, hw, k, bias } => {
                let shape = Shape4::new(1, hw, hw, c);
                let row = he_uniform(&mut rng, k * c, k);
                let col = he_uniform(&mut rng, k * c, k);
                let b = bias.then(|| uniform(&mut rng, c, 0.1));
                let pass = SeparablePass1d::new(k, k / 2);
                let op = SeparableConv2d::with_isa(
                    isa,
                    shape,
                    pass,
                    pass,
                    &row,
                    &col,
                    b.as_deref(),
                    Activation::None,
                )?;
                (LayerOp::Separable(op), shape, row.len() + col.len())
            }
        };
        let input_len = input_shape.validate()?;
        let input = Tensor::from_vec(input_shape, uniform(&mut rng, input_len, 1.0))?;
        let (output_shape, flops) = match &op {
            LayerOp::Conv(op) => (op.output_shape(), op.flops()),
            LayerOp::Pointwise(op) => (op.output_shape(), op.flops()),
            LayerOp::Separable(op) => (op.output_shape(), op.flops()),
        };
        let output = Tensor::zeros(output_shape)?;
        let bytes = 4 * (input.len() + output.len() + weight_len) as u64;
        Ok(Self { op, input, output, flops, bytes })
    }

    /// Runs the layer once.
    pub fn run(&mut self) -> Result<(), Error> {
        let input = self.input.view();
        let output = self.output.view_mut();
        match &self.op {
            LayerOp::Conv(op) => op.run(input, output),
            LayerOp::Pointwise(op) => op.run(input, output),
            LayerOp::Separable(op) => op.run(input, output),
        }
    }

    /// The kernel(s) the layer runs, e.g. `dwconv3x3s1/avx2` or `row_pass/avx2+col_pass/avx2`.
    pub fn kernel_name(&self) -> String {
        match &self.op {
            LayerOp::Conv(op) => op.kernel_name().to_string(),
            LayerOp::Pointwise(op) => op.kernel_name().to_string(),
            LayerOp::Separable(op) => op.kernel_names().join("+"),
        }
    }

    /// FLOPs of one run (2 per multiply-add).
    pub fn flops(&self) -> u64 {
        self.flops
    }

    /// Bytes of input, output and weights (each touched at least once per run).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The last run's output.
    pub fn output(&self) -> &Tensor {
        &self.output
    }
}

/// Timing of repeated runs.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Median of the per-run times.
    pub median: Duration,
    /// Fastest run.
    pub min: Duration,
    /// Runs timed.
    pub runs: usize,
}

/// Times `f` after one warm-up call: at least `min_runs` runs and at least `min_time` in
/// total; reports the median and the fastest run.
pub fn time_runs(
    mut f: impl FnMut() -> Result<(), Error>,
    min_runs: usize,
    min_time: Duration,
) -> Result<Timing, Error> {
    f()?;
    let mut times = Vec::with_capacity(min_runs.max(16));
    let start = Instant::now();
    while times.len() < min_runs.max(1) || start.elapsed() < min_time {
        let t = Instant::now();
        f()?;
        times.push(t.elapsed());
    }
    times.sort();
    // The loop above runs at least once, so both exist.
    let (Some(&median), Some(&min)) = (times.get(times.len() / 2), times.first()) else {
        return Err(Error::InvalidParam {
            op: "time_runs",
            what: "runs",
            value: times.len(),
            reason: "internal error: no run was timed",
        });
    };
    Ok(Timing { median, min, runs: times.len() })
}

/// This core's FMA throughput in GFLOP/s on the vector width of the AVX2 / NEON kernels
/// (256-bit FMAs on x86_64, 128-bit on aarch64), measured by a short probe (independent FMA
/// chains), or `None` where no probe exists for this architecture or the CPU lacks FMA.
pub fn fma_peak_gflops() -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    {
        use sepconv_kernels::x86_64::probe::{FMA_PROBE_FLOPS_PER_ITER, fma_probe};
        measure_probe(fma_probe, FMA_PROBE_FLOPS_PER_ITER)
    }
    #[cfg(target_arch = "aarch64")]
    {
        use sepconv_kernels::aarch64::probe::{FMA_PROBE_FLOPS_PER_ITER, fma_probe};
        measure_probe(fma_probe, FMA_PROBE_FLOPS_PER_ITER)
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        None
    }
}

/// The FMA peak that `isa`'s kernels can reach, in GFLOP/s: the 512-bit probe for
/// [`Isa::Avx512`], [`fma_peak_gflops`] for every other tier. `None` where no probe runs.
pub fn fma_peak_gflops_for(isa: Isa) -> Option<f64> {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => {
            use sepconv_kernels::avx512::probe::{FMA_PROBE_FLOPS_PER_ITER, fma_probe};
            measure_probe(fma_probe, FMA_PROBE_FLOPS_PER_ITER)
        }
        _ => fma_peak_gflops(),
    }
}

/// Runs an FMA probe and returns GFLOP/s; `None` when the probe refuses to run (the CPU lacks
/// its features).
///
/// The iteration count is calibrated first: doubled from 1000 until one call takes at least
/// [`PROBE_CALL_TIME`] or reaches [`PROBE_MAX_ITERS`] (a few milliseconds on a real core, where
/// the cap is what binds); then the best of 5 timed calls at that count. So the probe costs
/// tens of milliseconds on any CPU, also on a slow or emulated one, where a fixed count could
/// take minutes.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn measure_probe(
    probe: fn(u64) -> Result<f32, sepconv_kernels::KernelError>,
    flops_per_iter: u64,
) -> Option<f64> {
    let time_call = |iters: u64| -> Option<f64> {
        let t = Instant::now();
        std::hint::black_box(probe(std::hint::black_box(iters)).ok()?);
        Some(t.elapsed().as_secs_f64())
    };
    let mut iters = 1000;
    while iters < PROBE_MAX_ITERS && time_call(iters)? < PROBE_CALL_TIME.as_secs_f64() {
        iters = (iters * 2).min(PROBE_MAX_ITERS);
    }
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        best = best.min(time_call(iters)?);
    }
    Some((iters * flops_per_iter) as f64 / best / 1e9)
}

/// The most iterations one timed FMA-probe call runs (about 3 ms on a 3 GHz core with two FMA
/// ports).
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
const PROBE_MAX_ITERS: u64 = 2_000_000;

/// The time one timed FMA-probe call is calibrated to reach when [`PROBE_MAX_ITERS`] takes
/// longer.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
const PROBE_CALL_TIME: Duration = Duration::from_millis(4);
