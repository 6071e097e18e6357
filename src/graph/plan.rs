//! Planning a [`Model`] into a runnable [`Graph`]: shape inference, folding (BatchNorm into the
//! preceding convolution, activations into the preceding op's store), lowering to planned ops,
//! and an arena of activation buffers reused by liveness.
//!
//! No indexing here can panic (`clippy::indexing_slicing` is denied in [`crate::graph`]): value
//! ids come from the caller's [`Model`], so every lookup is a `get` that turns an id out of
//! range into an error naming the node.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sepconv_kernels::{Activation, Conv2dGeometry, PadMode, Padding2d};

use super::ir::{
    Batch, BatchNormSpec, CatAxis, ConvSpec, Layout, Model, Node, OpSpec, PadSpec, PoolKind, ResizeMode,
    ValueId,
};
use crate::dispatch::{self, Isa};
use crate::error::Error;
use crate::ops::{ActivationOp, Add, Conv2d, ConvPath, Dense, GlobalAvgPool, Mul, PRelu, Pool2d, Resize};
use crate::tensor::{AlignedBuf, Shape4, TensorView, TensorViewMut, nchw_to_nhwc, nhwc_to_nchw};
use crate::threads::{Par, Threads};

/// How to plan a graph: `GraphOptions::default()` (the selected tier, one thread, no pinning,
/// the model's batch) and the `with_*` setters. Non-exhaustive, so that options can be added
/// without breaking callers: build it with those, not with a struct literal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct GraphOptions {
    /// The ISA tier for every op; `None` = the selected tier ([`dispatch::selected_isa`]).
    pub isa: Option<Isa>,
    /// Threads each op runs on (1 = the calling thread only, no pool).
    pub threads: usize,
    /// Pin the pool's threads to cores.
    pub pin: bool,
    /// Images per run: `None` = the model's batch (`input_shape.n`); `Some(n)` runs `n`
    /// images, which a model with a [`Batch::Symbolic`] batch allows for any `n >= 1` and a
    /// [`Batch::Fixed`] one only for its own batch (else [`Error::Batch`]).
    pub batch: Option<usize>,
}

impl Default for GraphOptions {
    fn default() -> Self {
        GraphOptions { isa: None, threads: 1, pin: false, batch: None }
    }
}

impl GraphOptions {
    /// Every op on tier `isa` (planning fails if the CPU lacks it).
    #[must_use]
    pub fn with_isa(self, isa: Isa) -> Self {
        GraphOptions { isa: Some(isa), ..self }
    }

    /// Each op on `threads` threads (1 = the calling thread only; 0 is an error at planning).
    #[must_use]
    pub fn with_threads(self, threads: usize) -> Self {
        GraphOptions { threads, ..self }
    }

    /// Pin the pool's threads to cores, or not.
    #[must_use]
    pub fn with_pin(self, pin: bool) -> Self {
        GraphOptions { pin, ..self }
    }

    /// Images per run (`None`: the model's batch; see [`GraphOptions::batch`]).
    #[must_use]
    pub fn with_batch(self, batch: Option<usize>) -> Self {
        GraphOptions { batch, ..self }
    }
}

/// What one planned step runs.
#[derive(Debug)]
enum Exec {
    Conv(Box<Conv2d>),
    Add(Add),
    Mul(Mul),
    PRelu(PRelu),
    Resize(Resize),
    Activation(ActivationOp),
    GlobalAvgPool(GlobalAvgPool),
    Pool(Pool2d),
    Dense(Dense),
    /// Flatten `N×H×W×C` (H·W > 1) into `N×1×1×(C·H·W)` in NCHW order.
    FlattenNchw,
    Concat(CatAxis),
    Softmax,
    ChannelShuffle {
        groups: usize,
    },
    SliceChannels {
        start: usize,
    },
    Pad {
        pads: Padding2d,
        value: f32,
    },
}

/// One planned step: `output = exec(inputs)`, each tensor in an arena slot.
#[derive(Debug)]
struct Step {
    name: String,
    exec: Exec,
    inputs: Vec<(usize, Shape4)>,
    output: (usize, Shape4),
    flops: u64,
}

/// A step before slot assignment: the step, its output root, and its input roots with the
/// shapes the node reads them under.
type PendingStep = (Step, ValueId, Vec<(ValueId, Shape4)>);

/// A description of one planned step, for profiles and reports.
#[derive(Clone, Debug, PartialEq)]
pub struct StepInfo<'a> {
    /// The node's name (of the first node folded into the step).
    pub name: &'a str,
    /// The op: `conv/depthwise`, `conv/pointwise`, `conv/grouped`, `conv/dense`, `add`,
    /// `activation`, `global_avg_pool`, `max_pool`, `avg_pool`, `dense`, `flatten`, `concat`.
    pub op: &'static str,
    /// The kernel that runs it (`dwconv3x3s1/avx2`, ...), or `copy` for data movement.
    pub kernel: &'static str,
    /// The output's NHWC shape.
    pub output_shape: Shape4,
    /// FLOPs of the step (2 per multiply-add for convolutions and dense layers, 1 per output
    /// element for adds and activations, 0 for data movement).
    pub flops: u64,
}

/// A model planned once for one input shape and one ISA tier: ops with packed weights, an
/// arena of activation buffers sized and shared by liveness at plan time. [`Graph::run`]
/// allocates nothing.
#[derive(Debug)]
pub struct Graph {
    name: String,
    isa: Isa,
    layout: Layout,
    input_shape: Shape4,
    output_shape: Shape4,
    steps: Vec<Step>,
    arena: Vec<AlignedBuf>,
    input_slot: usize,
    output_slot: usize,
    /// The output is flat (`[n, features]` at the boundary) rather than a 4-D map.
    output_flat: bool,
    times: Vec<Duration>,
    /// The thread pool every op splits its rows over (none for one thread).
    threads: Threads,
}

/// Wraps an error with the name of the node it concerns.
fn at_node(node: &str) -> impl FnOnce(Error) -> Error + '_ {
    move |source| match source {
        Error::Graph { node: ref n, .. } | Error::Node { node: ref n, .. } if n == node => source,
        source => Error::Node { node: node.to_string(), source: Box::new(source) },
    }
}

/// A planning error about `node` that no op reported.
fn node_error(node: &str, reason: String) -> Error {
    Error::Graph { node: node.to_string(), reason }
}

/// An invariant of the planner that does not hold (a bug, not a bad model), reported at `node`
/// rather than panicking.
/// Least elements a thread converts in a layout conversion band (smaller images convert on
/// one thread: handing out a band costs more than it saves).
const CONVERT_BAND_ELEMS: usize = 16 * 1024;

/// [`nchw_to_nhwc`] (`to_nhwc`) or [`nhwc_to_nchw`] split across `par`'s threads. Per image,
/// NCHW -> NHWC goes in bands of pixels, each the transpose of a `C × pixels` block of the
/// `[C][H·W]` source (row stride `H·W`) into its `pixels × C` rows of the destination;
/// NHWC -> NCHW in bands of channels, each the transpose of an `H·W × channels` block of the
/// `[H·W][C]` source (row stride `C`) into its channel planes. Bit-identical to the one-thread
/// conversion (a copy); small images, one thread or wrong lengths go to it.
fn convert_par(
    shape: Shape4,
    src: &[f32],
    dst: &mut [f32],
    par: &Par<'_>,
    to_nhwc: bool,
) -> Result<(), Error> {
    let (c, plane) = (shape.c, shape.h * shape.w);
    let image = c * plane;
    if par.is_single()
        || image < 2 * CONVERT_BAND_ELEMS
        || src.len() != dst.len()
        || shape.len().ok() != Some(src.len())
    {
        let serial = if to_nhwc { nchw_to_nhwc(shape, src, dst) } else { nhwc_to_nchw(shape, src, dst) };
        return Ok(serial?);
    }
    // (rows, source row stride) of the transposed blocks, and a band's destination row length.
    let (rows, ld_src, band_row) = if to_nhwc { (c, plane, c) } else { (plane, c, plane) };
    let what = if to_nhwc { "<model input> NCHW -> NHWC" } else { "<model output> NHWC -> NCHW" };
    let min_band = CONVERT_BAND_ELEMS.div_ceil(band_row);
    for (s_img, d_img) in src.chunks_exact(image).zip(dst.chunks_exact_mut(image)) {
        par.for_each_band_mut(d_img, band_row, min_band, |cols, band| {
            let s = s_img.get(cols.start..).unwrap_or(&[]);
            sepconv_kernels::layout::transpose_strided(rows, cols.len(), s, ld_src, band, band_row)
                .map_err(Error::kernel(what))
        })?;
    }
    Ok(())
}

fn internal(node: &str, what: &str) -> Error {
    node_error(node, format!("internal error: {what}"))
}

/// `values[v]` of a per-value table; `v` was checked against the model's value count, so an
/// id out of range is an internal error.
fn at<'a, T>(values: &'a [T], v: ValueId, node: &str) -> Result<&'a T, Error> {
    values.get(v).ok_or_else(|| internal(node, &format!("value {v} is out of range ({})", values.len())))
}

/// `values[v]`, mutably (see [`at`]).
fn at_mut<'a, T>(values: &'a mut [T], v: ValueId, node: &str) -> Result<&'a mut T, Error> {
    let len = values.len();
    values.get_mut(v).ok_or_else(|| internal(node, &format!("value {v} is out of range ({len})")))
}

/// The name of value `v`, for messages.
fn value_name(model: &Model, v: ValueId) -> &str {
    model.value_names.get(v).map_or("?", String::as_str)
}

/// The arena slot of a buffer root; every root read by a step was given a slot when it was
/// computed, so a missing one is an internal error.
fn slot_of_root(slot_of: &HashMap<ValueId, usize>, v: ValueId, node: &str) -> Result<usize, Error> {
    slot_of.get(&v).copied().ok_or_else(|| internal(node, &format!("value {v} has no arena slot")))
}

/// The model's input shape with the batch `options.batch` asks for (see
/// [`GraphOptions::batch`]).
fn batched_input(model: &Model, batch: Option<usize>) -> Result<Shape4, Error> {
    let shape = model.input_shape;
    let Some(n) = batch else { return Ok(shape) };
    let refuse = |reason: String| Err(Error::Batch { requested: n, reason });
    if n == 0 {
        return refuse("a batch must be at least 1".into());
    }
    match &model.batch {
        Batch::Symbolic { .. } => Ok(Shape4 { n, ..shape }),
        Batch::Fixed { .. } if n == shape.n => Ok(shape),
        Batch::Fixed { by } => refuse(format!("the model's batch is fixed at {} by {by}", shape.n)),
    }
}

impl Graph {
    /// Plans `model` with the given options: validates every node and shape (errors name the
    /// node), folds BatchNorm and activations, packs every weight, sizes the arena.
    ///
    /// Works on a copy of the model's nodes; [`Graph::plan_owned`] plans without one.
    pub fn plan(model: &Model, options: GraphOptions) -> Result<Self, Error> {
        Self::plan_nodes(model, model.nodes.clone(), options)
    }

    /// As [`Graph::plan`], consuming the model: each node's weights are freed as soon as they
    /// are packed, so planning never holds more than one copy of the weights besides the
    /// packed ones (the lowest peak memory; what `sepconv run` does).
    pub fn plan_owned(mut model: Model, options: GraphOptions) -> Result<Self, Error> {
        let nodes = std::mem::take(&mut model.nodes);
        Self::plan_nodes(&model, nodes, options)
    }

    /// Plans `nodes` (the model's, taken out of it) in `model`'s context.
    fn plan_nodes(model: &Model, nodes: Vec<Node>, options: GraphOptions) -> Result<Self, Error> {
        let isa = match options.isa {
            Some(isa) => isa.ensure_available()?,
            None => dispatch::selected_isa()?.0,
        };
        let input_shape = batched_input(model, options.batch)?;
        input_shape.validate()?;
        let values = model.value_names.len();
        let check_value = |node: &str, v: ValueId| {
            if v < values {
                Ok(())
            } else {
                Err(node_error(node, format!("refers to value {v}, but the model has {values}")))
            }
        };
        check_value("<model input>", model.input)?;
        check_value("<model output>", model.output)?;
        let nodes = fold(model, nodes)?;

        // Shapes and the slot ("buffer root") of every value: a flatten of a 1×1 map aliases
        // its input.
        let mut shapes: Vec<Option<Shape4>> = vec![None; values];
        // Whether a value is flat (`N×F`, from Flatten or Dense) rather than a 4-D map.
        let mut flat = vec![false; values];
        let mut root: Vec<ValueId> = (0..values).collect();
        *at_mut(&mut shapes, model.input, "<model input>")? = Some(input_shape);
        let mut steps: Vec<PendingStep> = Vec::new();
        // By value: each node (and its weights) is dropped once lowered (packed).
        for node in nodes {
            let node = &node;
            let name = node.name.as_str();
            check_value(name, node.output)?;
            let mut in_shapes = Vec::with_capacity(node.inputs.len());
            for &v in &node.inputs {
                check_value(name, v)?;
                let shape = at(&shapes, v, name)?.ok_or_else(|| {
                    node_error(
                        name,
                        format!("reads value \"{}\" before it is computed", value_name(model, v)),
                    )
                })?;
                in_shapes.push(shape);
            }
            if at(&shapes, node.output, name)?.is_some() {
                return Err(node_error(
                    name,
                    format!("writes value \"{}\", which is already defined", value_name(model, node.output)),
                ));
            }
            // Every input was checked above, so `get` finds each one.
            *at_mut(&mut flat, node.output, name)? = match node.op {
                OpSpec::Flatten | OpSpec::Dense(_) => true,
                // A 1×1 convolution of a flat value (a folded per-feature affine) stays flat.
                OpSpec::Conv(ref c) if c.kernel == (1, 1) => {
                    node.inputs.iter().all(|&v| flat.get(v) == Some(&true))
                }
                OpSpec::Conv(_)
                | OpSpec::Pool(_)
                | OpSpec::GlobalAvgPool
                | OpSpec::Pad { .. }
                | OpSpec::Resize(_) => false,
                OpSpec::Softmax => node.inputs.iter().all(|&v| flat.get(v) == Some(&true)),
                _ => node.inputs.iter().all(|&v| flat.get(v) == Some(&true)),
            };
            match lower(node, &in_shapes, isa).map_err(at_node(name))? {
                Lowered::Alias(shape) => {
                    let &source =
                        node.inputs.first().ok_or_else(|| internal(name, "an alias has no input"))?;
                    let source_root = *at(&root, source, name)?;
                    *at_mut(&mut shapes, node.output, name)? = Some(shape);
                    *at_mut(&mut root, node.output, name)? = source_root;
                }
                Lowered::Step(exec, out_shape, flops) => {
                    let exec = *exec;
                    *at_mut(&mut shapes, node.output, name)? = Some(out_shape);
                    let step = Step {
                        name: node.name.clone(),
                        exec,
                        inputs: Vec::new(),
                        output: (0, out_shape),
                        flops,
                    };
                    let inputs = node
                        .inputs
                        .iter()
                        .zip(&in_shapes)
                        .map(|(&v, &shape)| Ok((*at(&root, v, name)?, shape)))
                        .collect::<Result<Vec<_>, Error>>()?;
                    steps.push((step, *at(&root, node.output, name)?, inputs));
                }
            }
        }
        let output_shape = at(&shapes, model.output, "<model output>")?
            .ok_or_else(|| node_error("<model output>", "the output value is never computed".into()))?;
        let output_root = *at(&root, model.output, "<model output>")?;

        // Liveness: the last step reading each root; the model output lives to the end.
        let mut last_use: HashMap<ValueId, usize> = HashMap::new();
        for (i, (_, _, inputs)) in steps.iter().enumerate() {
            for &(v, _) in inputs {
                last_use.insert(v, i);
            }
        }
        last_use.insert(output_root, usize::MAX);

        // Greedy slot assignment: a step's output gets a free slot (best fit, growing one if
        // none fits) before the step's inputs are released, so no step reads the slot it writes.
        let mut slot_size: Vec<usize> = Vec::new();
        let mut free: Vec<usize> = Vec::new();
        let mut slot_of: HashMap<ValueId, usize> = HashMap::new();
        let input_root = *at(&root, model.input, "<model input>")?;
        let input_slot = take_slot(input_shape.validate()?, &mut slot_size, &mut free, "<model input>")?;
        slot_of.insert(input_root, input_slot);
        if !last_use.contains_key(&input_root) {
            free.push(input_slot); // an input nobody reads (degenerate, but valid)
        }
        let mut planned = Vec::with_capacity(steps.len());
        for (i, (mut step, out_root, inputs)) in steps.into_iter().enumerate() {
            let len = step.output.1.validate()?;
            let out_slot = take_slot(len, &mut slot_size, &mut free, &step.name)?;
            slot_of.insert(out_root, out_slot);
            step.output.0 = out_slot;
            for &(v, shape) in &inputs {
                step.inputs.push((slot_of_root(&slot_of, v, &step.name)?, shape));
            }
            for &(v, _) in &inputs {
                if last_use.get(&v) == Some(&i) {
                    let s = slot_of_root(&slot_of, v, &step.name)?;
                    if !free.contains(&s) {
                        free.push(s);
                    }
                }
            }
            if !last_use.contains_key(&out_root) {
                free.push(out_slot); // computed but never read (e.g. a dead branch)
            }
            planned.push(step);
        }
        let output_slot = slot_of_root(&slot_of, output_root, "<model output>")?;
        let output_flat = *at(&flat, model.output, "<model output>")?;
        let arena = slot_size.iter().map(|&len| AlignedBuf::zeroed(len)).collect::<Result<Vec<_>, _>>()?;
        let times = vec![Duration::ZERO; planned.len()];
        let threads = Threads::new(options.threads, options.pin)?;
        Ok(Graph {
            name: model.name.clone(),
            isa,
            layout: model.layout,
            input_shape,
            output_shape,
            steps: planned,
            arena,
            input_slot,
            output_slot,
            output_flat,
            times,
            threads,
        })
    }

    /// Runs the graph on `input` (the model's layout: NCHW `[n][c][h][w]` or NHWC) and writes
    /// the output in the model's layout (`[n][features]` for a flat output). Allocates nothing.
    pub fn run(&mut self, input: &[f32], output: &mut [f32]) -> Result<(), Error> {
        self.run_inner(input, output, false)
    }

    /// As [`Graph::run`], and records the time of every step (see [`Graph::last_profile`]).
    pub fn run_profiled(&mut self, input: &[f32], output: &mut [f32]) -> Result<(), Error> {
        self.run_inner(input, output, true)
    }

    fn run_inner(&mut self, input: &[f32], output: &mut [f32], profile: bool) -> Result<(), Error> {
        let in_len = self.input_shape.validate()?;
        let out_len = self.output_shape.validate()?;
        if input.len() != in_len {
            return Err(Error::Graph {
                node: "<model input>".into(),
                reason: format!(
                    "input has {} elements, the model's input {} needs {in_len}",
                    input.len(),
                    self.input_dims_text()
                ),
            });
        }
        if output.len() != out_len {
            return Err(Error::Graph {
                node: "<model output>".into(),
                reason: format!("output has {} elements, the model's output needs {out_len}", output.len()),
            });
        }
        let (layout, input_shape, output_shape) = (self.layout, self.input_shape, self.output_shape);
        let (input_slot, output_slot, output_flat) = (self.input_slot, self.output_slot, self.output_flat);
        let Graph { steps, arena, times, threads, .. } = self;
        threads.run(|par| -> Result<(), Error> {
            // The input into its arena slot (NCHW -> NHWC split across the threads).
            let dst = arena
                .get_mut(input_slot)
                .and_then(|buf| buf.as_mut_slice().get_mut(..in_len))
                .ok_or_else(|| internal("<model input>", "the input's arena slot is too small"))?;
            match layout {
                Layout::Nchw => convert_par(input_shape, input, dst, par, true)?,
                Layout::Nhwc => dst.copy_from_slice(input),
            }
            for (step, time) in steps.iter().zip(times.iter_mut()) {
                let start = profile.then(Instant::now);
                // Take the output slot out of the arena so the inputs can be borrowed alongside
                // it; the planner never gives a step's output the slot of one of its inputs.
                let slot = arena
                    .get_mut(step.output.0)
                    .ok_or_else(|| internal(&step.name, "the output's arena slot does not exist"))?;
                let mut out_buf = std::mem::take(slot);
                let result = run_step(step, arena, &mut out_buf, par);
                if let Some(slot) = arena.get_mut(step.output.0) {
                    *slot = out_buf;
                }
                result.map_err(at_node(&step.name))?;
                if let Some(start) = start {
                    *time = start.elapsed();
                }
            }
            // The output out of its arena slot (NHWC -> NCHW split across the threads).
            let src = arena
                .get(output_slot)
                .and_then(|buf| buf.as_slice().get(..out_len))
                .ok_or_else(|| internal("<model output>", "the output's arena slot is too small"))?;
            match layout {
                Layout::Nchw if !output_flat => convert_par(output_shape, src, output, par, false),
                _ => {
                    output.copy_from_slice(src);
                    Ok(())
                }
            }
        })
    }

    fn input_dims_text(&self) -> String {
        let s = self.input_shape;
        match self.layout {
            Layout::Nchw => format!("[{}, {}, {}, {}] (NCHW)", s.n, s.c, s.h, s.w),
            Layout::Nhwc => format!("[{}, {}, {}, {}] (NHWC)", s.n, s.h, s.w, s.c),
        }
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The tier every op was planned for.
    pub fn isa(&self) -> Isa {
        self.isa
    }
    /// The boundary layout of the input and output.
    pub fn layout(&self) -> Layout {
        self.layout
    }
    /// The input's logical NHWC shape.
    pub fn input_shape(&self) -> Shape4 {
        self.input_shape
    }
    /// The output's logical NHWC shape (`N×1×1×F` for a flat output).
    pub fn output_shape(&self) -> Shape4 {
        self.output_shape
    }
    /// The input's dimensions in the model's layout (NCHW `[n, c, h, w]` for ONNX models).
    pub fn input_dims(&self) -> Vec<usize> {
        let s = self.input_shape;
        match self.layout {
            Layout::Nchw => vec![s.n, s.c, s.h, s.w],
            Layout::Nhwc => vec![s.n, s.h, s.w, s.c],
        }
    }
    /// The output's dimensions in the model's layout; `[n, features]` when it is flat.
    pub fn output_dims(&self) -> Vec<usize> {
        let s = self.output_shape;
        match self.layout {
            _ if self.output_flat => vec![s.n, s.c],
            Layout::Nchw => vec![s.n, s.c, s.h, s.w],
            Layout::Nhwc => vec![s.n, s.h, s.w, s.c],
        }
    }
    /// FLOPs of one run (see [`StepInfo::flops`]).
    pub fn flops(&self) -> u64 {
        self.steps.iter().map(|s| s.flops).sum()
    }
    /// Bytes of packed weights and biases the ops hold (alignment padding included): with
    /// [`Graph::arena_bytes`], the graph's memory.
    pub fn weight_bytes(&self) -> usize {
        self.steps
            .iter()
            .map(|s| match &s.exec {
                Exec::Conv(op) => op.packed_bytes(),
                Exec::Dense(op) => op.packed_bytes(),
                _ => 0,
            })
            .sum()
    }

    /// Bytes of activation memory the arena holds.
    pub fn arena_bytes(&self) -> usize {
        self.arena.iter().map(|b| 4 * b.len()).sum()
    }
    /// Threads each op runs on.
    pub fn threads(&self) -> usize {
        self.threads.count()
    }
    /// Number of arena buffers.
    pub fn arena_buffers(&self) -> usize {
        self.arena.len()
    }
    /// The planned steps, in run order.
    pub fn steps(&self) -> impl Iterator<Item = StepInfo<'_>> {
        self.steps.iter().map(|s| StepInfo {
            name: &s.name,
            op: op_name(&s.exec),
            kernel: kernel_name(&s.exec),
            output_shape: s.output.1,
            flops: s.flops,
        })
    }
    /// The time of every step in the last [`Graph::run_profiled`], in run order.
    pub fn last_profile(&self) -> &[Duration] {
        &self.times
    }
}

fn op_name(exec: &Exec) -> &'static str {
    match exec {
        Exec::Conv(c) => match c.path() {
            ConvPath::Depthwise => "conv/depthwise",
            ConvPath::Pointwise => "conv/pointwise",
            ConvPath::Grouped => "conv/grouped",
            ConvPath::Dense => "conv/dense",
        },
        Exec::Add(_) => "add",
        Exec::Mul(_) => "mul",
        Exec::PRelu(_) => "prelu",
        Exec::Resize(_) => "resize",
        Exec::Activation(_) => "activation",
        Exec::GlobalAvgPool(_) => "global_avg_pool",
        Exec::Pool(p) => match p.kind() {
            PoolKind::Max => "max_pool",
            PoolKind::Avg { .. } => "avg_pool",
        },
        Exec::Dense(_) => "dense",
        Exec::FlattenNchw => "flatten",
        Exec::Concat(CatAxis::Channels) => "concat",
        Exec::Concat(CatAxis::Height) => "concat_height",
        Exec::Concat(CatAxis::Width) => "concat_width",
        Exec::Softmax => "softmax",
        Exec::ChannelShuffle { .. } => "channel_shuffle",
        Exec::SliceChannels { .. } => "slice_channels",
        Exec::Pad { .. } => "pad",
    }
}

fn kernel_name(exec: &Exec) -> &'static str {
    match exec {
        Exec::Conv(c) => c.kernel_name(),
        Exec::Add(a) => a.kernel_name(),
        Exec::Mul(m) => m.kernel_name(),
        Exec::PRelu(p) => p.kernel_name(),
        Exec::Resize(r) => r.kernel_name(),
        Exec::Activation(a) => a.kernel_name(),
        Exec::GlobalAvgPool(p) => p.kernel_name(),
        Exec::Pool(p) => p.kernel_name(),
        Exec::Dense(d) => d.kernel_name(),
        Exec::FlattenNchw
        | Exec::Concat(_)
        | Exec::ChannelShuffle { .. }
        | Exec::SliceChannels { .. }
        | Exec::Pad { .. } => "copy",
        Exec::Softmax => "softmax/portable",
    }
}

/// Input `k` of `step`, viewed in its arena slot.
fn input_view<'a>(step: &Step, arena: &'a [AlignedBuf], k: usize) -> Result<TensorView<'a>, Error> {
    let &(slot, shape) = step.inputs.get(k).ok_or_else(|| internal(&step.name, "an input is missing"))?;
    let len = shape.validate()?;
    let data = arena
        .get(slot)
        .and_then(|buf| buf.as_slice().get(..len))
        .ok_or_else(|| internal(&step.name, "an input's arena slot is too small"))?;
    Ok(TensorView::new(shape, data)?)
}

/// Runs one step reading its inputs from `arena` and writing `out`.
fn run_step(step: &Step, arena: &[AlignedBuf], out: &mut AlignedBuf, par: &Par<'_>) -> Result<(), Error> {
    let view = |k: usize| input_view(step, arena, k);
    let (_, out_shape) = step.output;
    let out_len = out_shape.validate()?;
    let out_slice = out
        .as_mut_slice()
        .get_mut(..out_len)
        .ok_or_else(|| internal(&step.name, "the output's arena slot is too small"))?;
    match &step.exec {
        Exec::Conv(op) => op.run_par(view(0)?, TensorViewMut::new(out_shape, out_slice)?, par),
        Exec::Add(op) => op.run_par(view(0)?, view(1)?, TensorViewMut::new(out_shape, out_slice)?, par),
        Exec::Mul(op) => op.run_par(view(0)?, view(1)?, TensorViewMut::new(out_shape, out_slice)?, par),
        Exec::Activation(op) => op.run_par(view(0)?, TensorViewMut::new(out_shape, out_slice)?, par),
        Exec::PRelu(op) => op.run_par(view(0)?, TensorViewMut::new(out_shape, out_slice)?, par),
        Exec::Resize(op) => op.run_par(view(0)?, TensorViewMut::new(out_shape, out_slice)?, par),
        Exec::GlobalAvgPool(op) => op.run_par(view(0)?, TensorViewMut::new(out_shape, out_slice)?, par),
        Exec::Dense(op) => op.run_par(view(0)?, TensorViewMut::new(out_shape, out_slice)?, par),
        Exec::Pool(op) => op.run_par(view(0)?, TensorViewMut::new(out_shape, out_slice)?, par),
        Exec::FlattenNchw => {
            let input = view(0)?;
            Ok(nhwc_to_nchw(input.shape(), input.as_slice(), out_slice)?)
        }
        Exec::ChannelShuffle { groups } => {
            let input = view(0)?;
            let c = out_shape.c;
            let per_group = c / (*groups).max(1);
            for (dst, src) in out_slice.chunks_exact_mut(c).zip(input.as_slice().chunks_exact(c)) {
                // Input channel i·per_group + j goes to output channel j·groups + i.
                for (i, group) in src.chunks_exact(per_group.max(1)).enumerate() {
                    for (j, &v) in group.iter().enumerate() {
                        if let Some(d) = dst.get_mut(j * groups + i) {
                            *d = v;
                        }
                    }
                }
            }
            Ok(())
        }
        Exec::SliceChannels { start } => {
            let input = view(0)?;
            let (c_in, c) = (input.shape().c, out_shape.c);
            for (dst, src) in out_slice.chunks_exact_mut(c).zip(input.as_slice().chunks_exact(c_in)) {
                dst.copy_from_slice(
                    src.get(*start..start + c)
                        .ok_or_else(|| internal(&step.name, "the slice falls outside the channels"))?,
                );
            }
            Ok(())
        }
        Exec::Softmax => {
            let input = view(0)?;
            softmax_rows(input.as_slice(), out_slice, out_shape.c);
            Ok(())
        }
        Exec::Pad { pads, value } => {
            let input = view(0)?;
            pad_images(input.shape(), input.as_slice(), *pads, *value, out_slice);
            Ok(())
        }
        Exec::Concat(axis) => {
            // Every input agrees with the output outside the axis (checked when planning): per
            // pixel (channels), image row (W) or image (H), input `k`'s block follows input
            // `k - 1`'s.
            let (out_block, mut offset) = (axis.block(out_shape), 0usize);
            for k in 0..step.inputs.len() {
                let input = view(k)?;
                let len = axis.block(input.shape());
                let block = offset..offset + len;
                for (dst, src) in
                    out_slice.chunks_exact_mut(out_block).zip(input.as_slice().chunks_exact(len))
                {
                    dst.get_mut(block.clone())
                        .ok_or_else(|| internal(&step.name, "the inputs are larger than the output"))?
                        .copy_from_slice(src);
                }
                offset = block.end;
            }
            Ok(())
        }
    }
}

/// Constant padding of NHWC images: `output` (the padded shape of `s`) gets `value` in the
/// `pads` border of every image and `input` (of shape `s`) inside it.
fn pad_images(s: Shape4, input: &[f32], pads: Padding2d, value: f32, output: &mut [f32]) {
    let row = s.w * s.c;
    let out_row = (pads.left + s.w + pads.right) * s.c;
    let out_image = (pads.top + s.h + pads.bottom) * out_row;
    let (left, right) = (pads.left * s.c, pads.right * s.c);
    for (src, dst) in input.chunks_exact(s.h * row).zip(output.chunks_exact_mut(out_image)) {
        let (above, rest) = dst.split_at_mut(pads.top * out_row);
        above.fill(value);
        let (body, below) = rest.split_at_mut(s.h * out_row);
        below.fill(value);
        for (x, y) in src.chunks_exact(row).zip(body.chunks_exact_mut(out_row)) {
            let (l, rest) = y.split_at_mut(left);
            l.fill(value);
            let (mid, r) = rest.split_at_mut(row);
            mid.copy_from_slice(x);
            debug_assert_eq!(r.len(), right);
            r.fill(value);
        }
    }
}

/// Softmax of every `row`-element row of `input` into `output` (same length), computed as
/// `exp(x - max) / Σ exp(x - max)` in `f32` (ONNX's definition; a row of NaN stays NaN).
fn softmax_rows(input: &[f32], output: &mut [f32], row: usize) {
    for (x, y) in input.chunks_exact(row.max(1)).zip(output.chunks_exact_mut(row.max(1))) {
        let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0f32;
        for (o, &v) in y.iter_mut().zip(x) {
            *o = (v - max).exp();
            sum += *o;
        }
        let inv = 1.0 / sum;
        y.iter_mut().for_each(|o| *o *= inv);
    }
}

/// What a node lowers to.
enum Lowered {
    /// The node's output is its input under another shape.
    Alias(Shape4),
    /// A step, its output shape and FLOPs.
    Step(Box<Exec>, Shape4, u64),
}

/// Resolves a padding spec against an input extent.
fn resolve_padding(
    padding: PadSpec,
    input: Shape4,
    kernel: (usize, usize),
    stride: (usize, usize),
    dilation: (usize, usize),
) -> Result<Padding2d, Error> {
    Ok(match padding {
        PadSpec::Explicit(p) => p,
        PadSpec::Auto(mode) => Padding2d::for_mode(
            mode, input.h, input.w, kernel.0, kernel.1, stride.0, stride.1, dilation.0, dilation.1,
        )?,
    })
}

fn conv_geometry(spec: &ConvSpec, s: Shape4) -> Result<Conv2dGeometry, Error> {
    let padding = resolve_padding(spec.padding, s, spec.kernel, spec.stride, spec.dilation)?;
    Ok(Conv2dGeometry {
        batch: s.n,
        in_h: s.h,
        in_w: s.w,
        in_c: s.c,
        out_c: spec.out_c,
        kernel_h: spec.kernel.0,
        kernel_w: spec.kernel.1,
        stride_h: spec.stride.0,
        stride_w: spec.stride.1,
        dilation_h: spec.dilation.0,
        dilation_w: spec.dilation.1,
        padding,
        groups: spec.groups,
    })
}

/// Lowers one (folded) node to a planned step.
fn lower(node: &Node, inputs: &[Shape4], isa: Isa) -> Result<Lowered, Error> {
    let arity_error = |n: usize| node_error(&node.name, format!("takes {n} input(s), got {}", inputs.len()));
    // The input of a one-input op.
    let one = || match *inputs {
        [s] => Ok(s),
        _ => Err(arity_error(1)),
    };
    Ok(match &node.op {
        OpSpec::Conv(spec) => {
            let geom = conv_geometry(spec, one()?)?;
            let op = Conv2d::with_isa(isa, geom, &spec.weights, spec.bias.as_deref(), spec.activation)?;
            let (shape, flops) = (op.output_shape(), op.flops());
            Lowered::Step(Box::new(Exec::Conv(Box::new(op))), shape, flops)
        }
        OpSpec::BatchNorm(_) => {
            return Err(node_error(&node.name, "BatchNorm was not lowered (internal error)".into()));
        }
        OpSpec::Activation(act) => {
            let s = one()?;
            let op = ActivationOp::with_isa(isa, s, *act)?;
            let len = s.validate()? as u64;
            Lowered::Step(Box::new(Exec::Activation(op)), s, len)
        }
        OpSpec::Add(act) => {
            let [a, b] = *inputs else { return Err(arity_error(2)) };
            if a != b {
                return Err(node_error(
                    &node.name,
                    format!("adds tensors of different shapes {a} and {b} (no broadcasting)"),
                ));
            }
            let op = Add::with_isa(isa, a, *act)?;
            let len = a.validate()? as u64;
            Lowered::Step(Box::new(Exec::Add(op)), a, len)
        }
        OpSpec::Mul(act) => {
            let [x, s] = *inputs else { return Err(arity_error(2)) };
            let op = Mul::with_isa(isa, x, s, *act).map_err(|e| {
                node_error(&node.name, format!("multiplies {x} by {s}: {e} (only the same shape or N×1×1×C)"))
            })?;
            let len = x.validate()? as u64;
            Lowered::Step(Box::new(Exec::Mul(op)), x, len)
        }
        OpSpec::PRelu { slope } => {
            let s = one()?;
            let op = PRelu::with_isa(isa, s, slope)?;
            let len = s.validate()? as u64;
            Lowered::Step(Box::new(Exec::PRelu(op)), s, len)
        }
        OpSpec::Resize(spec) => {
            let op = Resize::with_isa(isa, one()?, spec)?;
            let out = op.output_shape();
            // Bilinear: three lerps (two flops each) per output element.
            let per = if matches!(spec.mode, ResizeMode::Linear) { 6 } else { 0 };
            Lowered::Step(Box::new(Exec::Resize(op)), out, per * out.validate()? as u64)
        }
        OpSpec::GlobalAvgPool => {
            let s = one()?;
            let op = GlobalAvgPool::with_isa(isa, s)?;
            let shape = op.output_shape();
            let flops = s.validate()? as u64;
            Lowered::Step(Box::new(Exec::GlobalAvgPool(op)), shape, flops)
        }
        OpSpec::Pool(spec) => {
            let s = one()?;
            let padding = resolve_padding(spec.padding, s, spec.kernel, spec.stride, (1, 1))?;
            let (kh, kw) = spec.kernel;
            if padding.top >= kh || padding.bottom >= kh || padding.left >= kw || padding.right >= kw {
                return Err(node_error(
                    &node.name,
                    format!(
                        "pool padding {padding:?} is not smaller than the {kh}x{kw} window: a window could lie \
                         wholly in the padding"
                    ),
                ));
            }
            let geom = Conv2dGeometry::depthwise(s.n, s.h, s.w, s.c, spec.kernel.0, spec.kernel.1)
                .with_stride(spec.stride.0, spec.stride.1)
                .with_padding(padding);
            let op = Pool2d::with_isa(isa, geom, spec.kind)?;
            let shape = op.output_shape();
            let flops = (kh * kw) as u64 * shape.validate()? as u64;
            Lowered::Step(Box::new(Exec::Pool(op)), shape, flops)
        }
        OpSpec::ChannelShuffle { groups } => {
            let s = one()?;
            if *groups == 0 || s.c % groups != 0 {
                return Err(node_error(&node.name, format!("shuffles {} channels in {groups} groups", s.c)));
            }
            Lowered::Step(Box::new(Exec::ChannelShuffle { groups: *groups }), s, 0)
        }
        OpSpec::SliceChannels { start, len } => {
            let s = one()?;
            if *len == 0 || start.checked_add(*len).is_none_or(|end| end > s.c) {
                return Err(node_error(&node.name, format!("slices channels {start}..+{len} of {s}")));
            }
            Lowered::Step(Box::new(Exec::SliceChannels { start: *start }), Shape4 { c: *len, ..s }, 0)
        }
        OpSpec::Pad { pads, value } => {
            let s = one()?;
            let grow = |x: usize, a: usize, b: usize| x.checked_add(a).and_then(|v| v.checked_add(b));
            let (Some(h), Some(w)) = (grow(s.h, pads.top, pads.bottom), grow(s.w, pads.left, pads.right))
            else {
                return Err(node_error(&node.name, format!("pads {pads:?} overflow the extents of {s}")));
            };
            let out = Shape4 { h, w, ..s };
            out.validate()?;
            Lowered::Step(Box::new(Exec::Pad { pads: *pads, value: *value }), out, 0)
        }
        OpSpec::Softmax => {
            let s = one()?;
            // exp, a max, a sum and a division per element.
            Lowered::Step(Box::new(Exec::Softmax), s, 4 * s.validate()? as u64)
        }
        OpSpec::Flatten => {
            let s = one()?;
            let features =
                s.h.checked_mul(s.w)
                    .and_then(|x| x.checked_mul(s.c))
                    .ok_or_else(|| node_error(&node.name, format!("flattening {s} overflows")))?;
            let shape = Shape4::new(s.n, 1, 1, features);
            if s.h * s.w == 1 {
                Lowered::Alias(shape)
            } else {
                Lowered::Step(Box::new(Exec::FlattenNchw), shape, 0)
            }
        }
        OpSpec::Dense(spec) => {
            let s = one()?;
            if s.h != 1 || s.w != 1 {
                return Err(node_error(
                    &node.name,
                    format!("a dense layer needs a flat input, got {s} (flatten it first)"),
                ));
            }
            let op = Dense::with_isa(
                isa,
                s.n,
                s.c,
                spec.out_features,
                &spec.weights,
                spec.bias.as_deref(),
                spec.activation,
            )?;
            let (shape, flops) = (op.output_shape(), op.flops());
            Lowered::Step(Box::new(Exec::Dense(op)), shape, flops)
        }
        OpSpec::Concat => lower_concat(node, inputs, CatAxis::Channels)?,
        OpSpec::ConcatSpatial { width: false } => lower_concat(node, inputs, CatAxis::Height)?,
        OpSpec::ConcatSpatial { width: true } => lower_concat(node, inputs, CatAxis::Width)?,
    })
}

/// Plans a concatenation of `inputs` along `axis`: at least two inputs that agree on every
/// other extent.
fn lower_concat(node: &Node, inputs: &[Shape4], axis: CatAxis) -> Result<Lowered, Error> {
    let &[first, _, ..] = inputs else {
        return Err(node_error(
            &node.name,
            format!("concatenates {} input(s); needs at least 2", inputs.len()),
        ));
    };
    let mut extent = 0usize;
    for &s in inputs {
        if axis.with_extent(s, 0) != axis.with_extent(first, 0) {
            return Err(node_error(
                &node.name,
                format!("concatenates {first} with {s}: only {} may differ", axis.what()),
            ));
        }
        extent = extent.checked_add(axis.extent(s)).ok_or_else(|| {
            node_error(&node.name, format!("the concatenated extent of {} overflows", axis.what()))
        })?;
    }
    let shape = axis.with_extent(first, extent);
    shape.validate()?;
    Ok(Lowered::Step(Box::new(Exec::Concat(axis)), shape, 0))
}

/// Counts the readers of every value; the model output counts as one more.
fn consumers(model: &Model, nodes: &[Node]) -> Vec<usize> {
    let mut count = vec![0usize; model.value_names.len()];
    for node in nodes {
        for &v in &node.inputs {
            if let Some(c) = count.get_mut(v) {
                *c += 1;
            }
        }
    }
    if let Some(c) = count.get_mut(model.output) {
        *c += 1;
    }
    count
}

/// Folds BatchNorm into the preceding convolution and activations into the preceding op's
/// store, where that op's output has no other reader; lowers a BatchNorm that cannot be
/// folded to a per-channel 1×1 depthwise convolution.
fn fold(model: &Model, nodes: Vec<Node>) -> Result<Vec<Node>, Error> {
    let nodes = fuse_pads(model, fuse_gates(model, nodes));
    let readers = consumers(model, &nodes);
    let mut out: Vec<Node> = Vec::with_capacity(nodes.len());
    let mut producer: HashMap<ValueId, usize> = HashMap::new();
    for node in nodes {
        let sole_reader_of = |v: ValueId| readers.get(v) == Some(&1);
        let foldable = || -> Option<usize> {
            let &v = node.inputs.first()?;
            let &p = producer.get(&v)?;
            (node.inputs.len() == 1 && sole_reader_of(v)).then_some(p)
        };
        match &node.op {
            OpSpec::BatchNorm(bn) => {
                check_bn(&node.name, bn)?;
                // A convolution whose bias does not have one value per output channel is left
                // alone: its own lowering reports the bias.
                let target = foldable().filter(|&p| {
                    matches!(
                        out.get(p).map(|n| &n.op),
                        Some(OpSpec::Conv(c)) if c.activation == Activation::None
                            && c.out_c == bn.scale.len()
                            && c.bias.as_ref().is_none_or(|b| b.len() == c.out_c)
                    )
                });
                if let Some(p) = target {
                    let folded =
                        out.get_mut(p).ok_or_else(|| internal(&node.name, "the folded node is gone"))?;
                    if let OpSpec::Conv(conv) = &mut folded.op {
                        fold_bn_into_conv(conv, bn);
                    }
                    folded.output = node.output;
                    producer.insert(node.output, p);
                    continue;
                }
                let op = OpSpec::Conv(bn_as_depthwise(bn));
                let lowered = Node { op, ..node };
                producer.insert(node.output, out.len());
                out.push(lowered);
            }
            OpSpec::Activation(act) => {
                act.validate().map_err(|e| Error::Node {
                    node: node.name.clone(),
                    source: Box::new(Error::kernel("Activation")(e)),
                })?;
                let target = foldable().filter(|&p| match out.get(p).map(|n| &n.op) {
                    Some(OpSpec::Conv(c)) => c.activation == Activation::None,
                    Some(OpSpec::Dense(d)) => d.activation == Activation::None,
                    Some(OpSpec::Add(a) | OpSpec::Mul(a)) => *a == Activation::None,
                    _ => false,
                });
                if let Some(p) = target {
                    let fused =
                        out.get_mut(p).ok_or_else(|| internal(&node.name, "the fused node is gone"))?;
                    match &mut fused.op {
                        OpSpec::Conv(c) => c.activation = *act,
                        OpSpec::Dense(d) => d.activation = *act,
                        OpSpec::Add(a) | OpSpec::Mul(a) => *a = *act,
                        _ => {}
                    }
                    fused.output = node.output;
                    producer.insert(node.output, p);
                    continue;
                }
                producer.insert(node.output, out.len());
                out.push(node);
            }
            _ => {
                producer.insert(node.output, out.len());
                out.push(node);
            }
        }
    }
    Ok(out)
}

/// The self-gated activations exporters spell as two nodes, `x · g(x)`, as one activation
/// of `x`: `Mul(x, Sigmoid(x))` is SiLU and `Mul(x, HardSigmoid(x))` with PyTorch's alpha 1/6
/// and beta 1/2 is HardSwish, where the gate has no other reader. The activation then fuses
/// into the op that produces `x` like any other.
fn fuse_gates(model: &Model, mut nodes: Vec<Node>) -> Vec<Node> {
    let readers = consumers(model, &nodes);
    let producer: HashMap<ValueId, usize> = nodes.iter().enumerate().map(|(i, n)| (n.output, i)).collect();
    let mut dropped = vec![false; nodes.len()];
    for i in 0..nodes.len() {
        let Some(node) = nodes.get(i) else { continue };
        let (OpSpec::Mul(Activation::None), [a, b]) = (&node.op, node.inputs.as_slice()) else { continue };
        let gate_of = |x: ValueId, g: ValueId| -> Option<(usize, Activation)> {
            let &p = producer.get(&g)?;
            let gate = nodes.get(p)?;
            let fused = match gate.op {
                OpSpec::Activation(Activation::Sigmoid) => Activation::Silu,
                OpSpec::Activation(Activation::HardSigmoid { alpha, beta })
                    if alpha == 1.0f32 / 6.0 && beta == 0.5 =>
                {
                    Activation::HardSwish
                }
                _ => return None,
            };
            (gate.inputs == [x] && readers.get(g) == Some(&1) && x != g).then_some((p, fused))
        };
        let Some((x, (p, act))) =
            gate_of(*a, *b).map(|f| (*a, f)).or_else(|| gate_of(*b, *a).map(|f| (*b, f)))
        else {
            continue;
        };
        if let Some(node) = nodes.get_mut(i) {
            node.op = OpSpec::Activation(act);
            node.inputs = vec![x];
        }
        if let Some(d) = dropped.get_mut(p) {
            *d = true;
        }
    }
    nodes.into_iter().zip(dropped).filter(|(_, d)| !d).map(|(n, _)| n).collect()
}

/// Folds a zero `Pad` into the convolution that is its only reader, when that convolution's
/// own padding is explicit (or VALID): the convolution reads the unpadded input with the two
/// paddings added, which is the same sum (padding contributes zeros either way) without the
/// padded copy. TensorFlow exports spell SAME padding this way.
fn fuse_pads(model: &Model, mut nodes: Vec<Node>) -> Vec<Node> {
    let readers = consumers(model, &nodes);
    let producer: HashMap<ValueId, usize> = nodes.iter().enumerate().map(|(i, n)| (n.output, i)).collect();
    let mut dropped = vec![false; nodes.len()];
    for i in 0..nodes.len() {
        let Some(Node { op: OpSpec::Conv(conv), inputs, .. }) = nodes.get(i) else { continue };
        let (&[v], PadSpec::Explicit(_) | PadSpec::Auto(PadMode::Valid)) = (inputs.as_slice(), conv.padding)
        else {
            continue;
        };
        let Some(&p) = producer.get(&v) else { continue };
        let Some(Node { op: OpSpec::Pad { pads, value }, inputs: pad_in, .. }) = nodes.get(p) else {
            continue;
        };
        if *value != 0.0 || readers.get(v) != Some(&1) || pad_in.len() != 1 {
            continue;
        }
        let (pads, source) = (*pads, pad_in.clone());
        let own = match conv.padding {
            PadSpec::Explicit(q) => q,
            PadSpec::Auto(_) => Padding2d::default(),
        };
        let sum = |a: usize, b: usize| a.checked_add(b);
        let (Some(top), Some(left), Some(bottom), Some(right)) = (
            sum(own.top, pads.top),
            sum(own.left, pads.left),
            sum(own.bottom, pads.bottom),
            sum(own.right, pads.right),
        ) else {
            continue;
        };
        if let Some(Node { op: OpSpec::Conv(conv), inputs, .. }) = nodes.get_mut(i) {
            conv.padding = PadSpec::Explicit(Padding2d { top, left, bottom, right });
            *inputs = source;
        }
        if let Some(d) = dropped.get_mut(p) {
            *d = true;
        }
    }
    nodes.into_iter().zip(dropped).filter(|(_, d)| !d).map(|(n, _)| n).collect()
}

fn check_bn(node: &str, bn: &BatchNormSpec) -> Result<(), Error> {
    let c = bn.scale.len();
    if c == 0 || bn.bias.len() != c || bn.mean.len() != c || bn.var.len() != c {
        return Err(node_error(
            node,
            format!(
                "BatchNorm parameters must have one value per channel: scale {}, bias {}, mean {}, var {}",
                c,
                bn.bias.len(),
                bn.mean.len(),
                bn.var.len()
            ),
        ));
    }
    Ok(())
}

/// The per-channel multiplier `scale / sqrt(var + eps)` and shift `bias - mean · multiplier`.
fn bn_affine(bn: &BatchNormSpec) -> (Vec<f32>, Vec<f32>) {
    let mul: Vec<f32> = bn
        .scale
        .iter()
        .zip(&bn.var)
        .map(|(&g, &v)| (f64::from(g) / (f64::from(v) + f64::from(bn.epsilon)).sqrt()) as f32)
        .collect();
    let shift = bn.bias.iter().zip(&bn.mean).zip(&mul).map(|((&b, &m), &k)| b - m * k).collect();
    (mul, shift)
}

/// `conv` then `bn` as one convolution: weights of output channel `o` scaled by `mul[o]`,
/// bias `bias[o] · mul[o] + shift[o]`. The caller checked that `bn` and the bias (if any) have
/// one value per output channel.
fn fold_bn_into_conv(conv: &mut ConvSpec, bn: &BatchNormSpec) {
    let (mul, shift) = bn_affine(bn);
    let per_out = conv.weights.len() / conv.out_c.max(1);
    for (o, w) in conv.weights.chunks_mut(per_out.max(1)).enumerate() {
        let k = mul.get(o).copied().unwrap_or(1.0);
        w.iter_mut().for_each(|x| *x *= k);
    }
    let bias: Vec<f32> = match &conv.bias {
        Some(b) => b.iter().zip(&mul).zip(&shift).map(|((&b, &k), &s)| b * k + s).collect(),
        // `0 · mul + shift`, as if the bias were zeros (not just `shift`: that differs for a
        // multiplier that is infinite or NaN, and for a shift of -0).
        None => mul.iter().zip(&shift).map(|(&k, &s)| 0.0 * k + s).collect(),
    };
    conv.bias = Some(bias);
}

/// A BatchNorm that cannot be folded, as a 1×1 depthwise convolution.
fn bn_as_depthwise(bn: &BatchNormSpec) -> ConvSpec {
    let (mul, shift) = bn_affine(bn);
    ConvSpec {
        out_c: mul.len(),
        kernel: (1, 1),
        stride: (1, 1),
        dilation: (1, 1),
        padding: PadSpec::Explicit(Padding2d::ZERO),
        groups: mul.len(),
        weights: mul,
        bias: Some(shift),
        activation: Activation::None,
    }
}

/// A slot for a value of `len` floats (written by `node`): the smallest free slot that fits,
/// else the largest free one (grown), else a new one.
fn take_slot(
    len: usize,
    slot_size: &mut Vec<usize>,
    free: &mut Vec<usize>,
    node: &str,
) -> Result<usize, Error> {
    // Every free slot is one `slot_size` has; a missing one counts as size 0 here and is an
    // internal error below.
    let size = |s: usize| slot_size.get(s).copied().unwrap_or(0);
    let fits = free.iter().enumerate().filter(|&(_, &s)| size(s) >= len).min_by_key(|&(_, &s)| size(s));
    let pick = fits.or_else(|| free.iter().enumerate().max_by_key(|&(_, &s)| size(s))).map(|(i, _)| i);
    match pick {
        Some(i) => {
            let s = free.swap_remove(i);
            let size =
                slot_size.get_mut(s).ok_or_else(|| internal(node, "a free arena slot does not exist"))?;
            *size = (*size).max(len);
            Ok(s)
        }
        None => {
            slot_size.push(len);
            Ok(slot_size.len() - 1)
        }
    }
}
