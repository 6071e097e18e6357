//! ONNX graph → [`Model`]: walks the nodes in order, tracking every value's shape, and converts
//! each supported operator.

use std::collections::{HashMap, HashSet};

use sepconv_kernels::geometry::conv_out_extent;
use sepconv_kernels::{Activation, PadMode, Padding2d};

use super::fold::ConstTensor;
use super::proto::attribute_proto::AttributeType;
use super::proto::tensor_proto::DataType;
use super::proto::tensor_shape_proto::dimension::Value as DimValue;
use super::proto::type_proto::Value as TypeValue;
use super::proto::{AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto};
use super::tensor::{self, TensorIssue};
use super::{ImportOptions, MAX_OPSET, MIN_OPSET, OnnxError};
use crate::graph::{
    Batch, BatchNormSpec, CatAxis, ConvSpec, DenseSpec, Layout, Model, NearestRounding, Node, OpSpec,
    PadSpec, PoolKind, PoolSpec, ResizeCoord, ResizeMode, ResizeSpec, ValueId,
};
use crate::tensor::Shape4;

type Result<T> = std::result::Result<T, OnnxError>;

/// A computed value: its id and NHWC shape. `flat` values are ONNX 2-D `[N, F]` tensors, held as
/// `N×1×1×F`; the others are ONNX 4-D NCHW tensors.
#[derive(Clone, Copy, Debug)]
struct Value {
    id: ValueId,
    shape: Shape4,
    flat: bool,
}

/// What a name in the graph refers to.
#[derive(Clone, Copy)]
enum Entry<'a> {
    /// A value computed at run time (the input or a node's output).
    Value(Value),
    /// A constant: an initializer or a `Constant` node's output.
    Const(&'a TensorProto),
    /// A constant computed at import time (index into `Importer::folded`).
    Folded(usize),
    /// A 4-D value seen as `[N, g, C/g, H, W]` (the first Reshape of a channel shuffle).
    Grouped { x: Value, groups: usize },
    /// That view transposed to `[N, C/g, g, H, W]` (the shuffle's Transpose).
    Shuffled { x: Value, groups: usize },
}

/// The default domain's opset version, checked against the supported range.
fn default_opset(model: &ModelProto) -> Result<i64> {
    let version = model
        .opset_import
        .iter()
        .filter(|o| matches!(o.domain(), "" | "ai.onnx"))
        .map(|o| o.version())
        .max()
        .ok_or(OnnxError::MissingOpset)?;
    if !(MIN_OPSET..=MAX_OPSET).contains(&version) {
        return Err(OnnxError::UnsupportedOpset { version });
    }
    Ok(version)
}

/// Converts a decoded model.
pub(super) fn convert(model: &ModelProto, options: &ImportOptions) -> Result<Model> {
    let opset = default_opset(model)?;
    let graph = model.graph.as_ref().ok_or(OnnxError::MissingGraph)?;
    let mut im = Importer::new(graph, opset, options)?;
    for (index, node) in graph.node.iter().enumerate() {
        let cx = Cx::new(node, index);
        im.node(&cx, index)?;
    }
    im.finish(graph)
}

/// One node being converted: the node and the name messages use.
struct Cx<'a> {
    node: &'a NodeProto,
    name: String,
    op: &'a str,
}

impl<'a> Cx<'a> {
    fn new(node: &'a NodeProto, index: usize) -> Self {
        let op = node.op_type();
        let name = match node.name() {
            "" => format!("{op}_{index}"),
            n => n.to_string(),
        };
        Self { node, name, op }
    }

    fn err(&self, reason: impl Into<String>) -> OnnxError {
        OnnxError::Node { node: self.name.clone(), op_type: self.op.to_string(), reason: reason.into() }
    }

    fn tensor_err(&self, tensor: &str, issue: TensorIssue) -> OnnxError {
        let (node, op_type, tensor) = (self.name.clone(), self.op.to_string(), tensor.to_string());
        match issue {
            TensorIssue::External => OnnxError::ExternalData { node, op_type, tensor },
            TensorIssue::Invalid(reason) => OnnxError::Tensor { node, op_type, tensor, reason },
        }
    }

    // ----- attributes -------------------------------------------------------------------------

    /// Refuses attributes outside `allowed` (an unknown attribute could change the meaning).
    fn check_attrs(&self, allowed: &[&str]) -> Result<()> {
        let mut seen = HashSet::new();
        for a in &self.node.attribute {
            if !allowed.contains(&a.name()) {
                return Err(self.err(format!("attribute {:?} is not supported", a.name())));
            }
            if !seen.insert(a.name()) {
                return Err(self.err(format!("attribute {:?} is given twice", a.name())));
            }
            if !a.ref_attr_name().is_empty() {
                return Err(self.err(format!(
                    "attribute {:?} refers to a function attribute, which is not supported",
                    a.name()
                )));
            }
        }
        Ok(())
    }

    /// The attribute `name`, checked to be of type `ty` when the model states a type.
    fn attr(&self, name: &str, ty: AttributeType) -> Result<Option<&'a AttributeProto>> {
        let Some(a) = self.node.attribute.iter().find(|a| a.name() == name) else { return Ok(None) };
        match a.r#type {
            Some(t) if t != ty as i32 && t != AttributeType::Undefined as i32 => {
                let actual = AttributeType::try_from(t)
                    .map_or_else(|_| format!("unknown ({t})"), |t| t.as_str_name().into());
                Err(self.err(format!("attribute {name} has type {actual}, expected {}", ty.as_str_name())))
            }
            _ => Ok(Some(a)),
        }
    }

    fn attr_int(&self, name: &str, default: i64) -> Result<i64> {
        match self.attr(name, AttributeType::Int)? {
            None => Ok(default),
            Some(a) => a.i.ok_or_else(|| self.err(format!("attribute {name} has no integer value"))),
        }
    }

    fn attr_float(&self, name: &str, default: f32) -> Result<f32> {
        match self.attr(name, AttributeType::Float)? {
            None => Ok(default),
            Some(a) => a.f.ok_or_else(|| self.err(format!("attribute {name} has no float value"))),
        }
    }

    fn attr_ints(&self, name: &str) -> Result<Option<&'a [i64]>> {
        Ok(self.attr(name, AttributeType::Ints)?.map(|a| a.ints.as_slice()))
    }

    fn attr_string(&self, name: &str) -> Result<Option<String>> {
        match self.attr(name, AttributeType::String)? {
            None => Ok(None),
            Some(a) => match &a.s {
                Some(s) => Ok(Some(String::from_utf8_lossy(s).into_owned())),
                None => Err(self.err(format!("attribute {name} has no string value"))),
            },
        }
    }

    /// A 0/1 flag attribute.
    fn attr_flag(&self, name: &str, default: bool) -> Result<bool> {
        match self.attr_int(name, i64::from(default))? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(self.err(format!("attribute {name} = {v}; expected 0 or 1"))),
        }
    }

    /// A per-axis pair (`strides`, `dilations`, `kernel_shape`) of positive values.
    fn attr_pair(&self, name: &str) -> Result<Option<(usize, usize)>> {
        let Some(v) = self.attr_ints(name)? else { return Ok(None) };
        match *v {
            [a, b] if a > 0 && b > 0 => Ok(Some((to_usize(a), to_usize(b)))),
            [_, _] => Err(self.err(format!("attribute {name} = {v:?} must be positive"))),
            _ => Err(self.err(format!(
                "attribute {name} = {v:?} must have 2 values (sepconv supports 2-D spatial ops only)"
            ))),
        }
    }

    // ----- inputs and outputs -----------------------------------------------------------------

    /// Checks the number of inputs (trailing empty names of optional inputs included).
    fn arity(&self, min: usize, max: usize) -> Result<()> {
        let n = self.node.input.len();
        if n < min || n > max {
            let expected = if min == max { format!("{min}") } else { format!("{min} to {max}") };
            return Err(self.err(format!("has {n} inputs; expected {expected}")));
        }
        Ok(())
    }

    /// The name of input `i`, `None` when absent or empty (an omitted optional input).
    fn input_name(&self, i: usize) -> Option<&'a str> {
        self.node.input.get(i).map(String::as_str).filter(|s| !s.is_empty())
    }

    /// The name of the (first) output; further outputs must be omitted unless `extra_ok`.
    fn output_name(&self, extra_ok: bool) -> Result<&'a str> {
        let name = self
            .node
            .output
            .first()
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| self.err("has no output"))?;
        if !extra_ok && let Some(extra) = self.node.output.iter().skip(1).find(|s| !s.is_empty()) {
            return Err(self.err(format!(
                "output {extra:?} is not supported: only the first output of {} is computed",
                self.op
            )));
        }
        Ok(name)
    }
}

/// A pool's output extent with `ceil_mode = 1` along one axis (`input` with `before`/`after`
/// padding, whose floor-mode extent exists), and how far its last window overhangs the padded
/// input. As ONNX Runtime and PyTorch: a last window that would start in the `after` padding
/// is dropped.
fn ceil_extent(input: usize, kernel: usize, stride: usize, before: usize, after: usize) -> (usize, usize) {
    let padded = input + before + after;
    let mut out = padded.saturating_sub(kernel).div_ceil(stride.max(1)) + 1;
    if out > 1 && (out - 1) * stride >= input + before {
        out -= 1;
    }
    (out, ((out - 1) * stride + kernel).saturating_sub(padded))
}

/// The dims of an ONNX Reshape of `input` dims to `target`: `0` copies the input's dim (unless
/// `allow_zero`), one `-1` takes what is left; `None` when the element counts differ or the
/// target is malformed.
fn resolve_reshape(target: &[i64], input: &[usize], allow_zero: bool) -> Option<Vec<usize>> {
    let total = input.iter().try_fold(1usize, |a, &d| a.checked_mul(d))?;
    let mut dims = Vec::with_capacity(target.len());
    let mut infer = None;
    for (i, &d) in target.iter().enumerate() {
        dims.push(match d {
            -1 if infer.is_none() => {
                infer = Some(i);
                1
            }
            0 if !allow_zero => *input.get(i)?,
            d if d > 0 => usize::try_from(d).ok()?,
            _ => return None,
        });
    }
    let known = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d))?;
    if let Some(i) = infer {
        if known == 0 || total % known != 0 {
            return None;
        }
        *dims.get_mut(i)? = total / known;
    }
    (dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d))? == total).then_some(dims)
}

fn to_usize(v: i64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// NCHW dims of a value, as ONNX sees it (`[N, F]` for flat values).
fn onnx_dims(v: &Value) -> Vec<usize> {
    if v.flat { vec![v.shape.n, v.shape.c] } else { v.shape.to_nchw_dims().to_vec() }
}

struct Importer<'a> {
    opset: i64,
    /// Every name defined so far.
    entries: HashMap<&'a str, Entry<'a>>,
    /// Every node output name → (node index, node name), to tell "later" from "never".
    producers: HashMap<&'a str, (usize, String)>,
    value_names: Vec<String>,
    nodes: Vec<Node>,
    input: ValueId,
    input_shape: Shape4,
    batch: Batch,
    /// Constants folded at import time, as tensors (with their batch elements) and as protos
    /// for the code that reads constants.
    folded: Vec<(ConstTensor, TensorProto)>,
}

impl<'a> Importer<'a> {
    fn new(graph: &'a GraphProto, opset: i64, options: &ImportOptions) -> Result<Self> {
        if let Some(t) = graph.sparse_initializer.first() {
            let name = t.values.as_ref().map_or("", |v| v.name());
            return Err(OnnxError::Graph {
                reason: format!("sparse initializer {name:?}: sparse initializers are not supported"),
            });
        }
        let mut entries = HashMap::new();
        for init in &graph.initializer {
            if entries.insert(init.name(), Entry::Const(init)).is_some() {
                return Err(OnnxError::Graph {
                    reason: format!("initializer {:?} is defined twice", init.name()),
                });
            }
        }
        let inputs: Vec<&ValueInfoProto> =
            graph.input.iter().filter(|i| !entries.contains_key(i.name())).collect();
        let [input] = inputs[..] else {
            let names: Vec<&str> = inputs.iter().map(|i| i.name()).collect();
            return Err(OnnxError::Graph {
                reason: format!(
                    "has {} inputs that are not initializers ({names:?}); sepconv models have exactly one",
                    inputs.len()
                ),
            });
        };
        let (input_shape, batch) = input_shape(input, options)?;
        let value = Value { id: 0, shape: input_shape, flat: false };
        entries.insert(input.name(), Entry::Value(value));

        let mut producers = HashMap::new();
        for (index, node) in graph.node.iter().enumerate() {
            let cx = Cx::new(node, index);
            for out in node.output.iter().filter(|o| !o.is_empty()) {
                producers.entry(out.as_str()).or_insert_with(|| (index, cx.name.clone()));
            }
        }
        Ok(Self {
            opset,
            entries,
            producers,
            value_names: vec![input.name().to_string()],
            nodes: Vec::new(),
            input: 0,
            input_shape,
            batch,
            folded: Vec::new(),
        })
    }

    // ----- looking up inputs ------------------------------------------------------------------

    fn lookup(&self, cx: &Cx<'a>, index: usize, name: &str) -> Result<Entry<'a>> {
        if let Some(e) = self.entries.get(name) {
            return Ok(*e);
        }
        Err(match self.producers.get(name) {
            Some((i, producer)) if *i >= index => OnnxError::NotTopological {
                node: cx.name.clone(),
                op_type: cx.op.to_string(),
                value: name.to_string(),
                producer: producer.clone(),
            },
            _ => OnnxError::UndefinedValue {
                node: cx.name.clone(),
                op_type: cx.op.to_string(),
                value: name.to_string(),
            },
        })
    }

    /// Input `i`, which must be a computed value.
    fn value(&self, cx: &Cx<'a>, index: usize, i: usize) -> Result<Value> {
        let name = cx.input_name(i).ok_or_else(|| cx.err(format!("input {i} is missing")))?;
        match self.lookup(cx, index, name)? {
            Entry::Value(v) => Ok(v),
            Entry::Grouped { .. } | Entry::Shuffled { .. } => Err(cx.err(format!(
                "input {i} ({name:?}) is a 5-D [N, g, C/g, H, W] view, which sepconv supports only inside a \
                 channel shuffle (Reshape -> Transpose [0, 2, 1, 3, 4] -> Reshape)"
            ))),
            Entry::Const(_) | Entry::Folded(_) => Err(cx.err(format!(
                "input {i} ({name:?}) is a constant; sepconv supports {} only on computed tensors here",
                cx.op
            ))),
        }
    }

    /// Input `i` as a 4-D (not flat) value.
    fn spatial(&self, cx: &Cx<'a>, index: usize, i: usize) -> Result<Value> {
        let v = self.value(cx, index, i)?;
        if v.flat {
            return Err(cx.err(format!("input {i} is 2-D {:?}; expected a 4-D NCHW tensor", onnx_dims(&v))));
        }
        Ok(v)
    }

    /// Input `i`, which must be a constant when present.
    fn constant(&self, cx: &Cx<'a>, index: usize, i: usize) -> Result<Option<(&'a str, &TensorProto)>> {
        let Some(name) = cx.input_name(i) else { return Ok(None) };
        match self.lookup(cx, index, name)? {
            Entry::Const(t) => Ok(Some((name, t))),
            Entry::Folded(k) => {
                let (_, t) =
                    self.folded.get(k).ok_or_else(|| cx.err("internal: a folded constant is missing"))?;
                Ok(Some((name, t)))
            }
            Entry::Value(_) | Entry::Grouped { .. } | Entry::Shuffled { .. } => Err(cx.err(format!(
                "input {i} ({name:?}) is computed by the graph; sepconv needs it to be an initializer \
                 (a constant)"
            ))),
        }
    }

    fn required_constant(&self, cx: &Cx<'a>, index: usize, i: usize) -> Result<(&'a str, &TensorProto)> {
        self.constant(cx, index, i)?.ok_or_else(|| cx.err(format!("input {i} is missing")))
    }

    /// Input `i` as a constant to fold (`None` when absent); with its batch elements.
    fn const_tensor(&self, cx: &Cx<'a>, index: usize, i: usize) -> Result<Option<ConstTensor>> {
        let Some(name) = cx.input_name(i) else { return Ok(None) };
        if let Entry::Folded(k) = self.lookup(cx, index, name)? {
            let (c, _) =
                self.folded.get(k).ok_or_else(|| cx.err("internal: a folded constant is missing"))?;
            return Ok(Some(c.clone()));
        }
        let Some((name, t)) = self.constant(cx, index, i)? else { return Ok(None) };
        ConstTensor::read(t).map(Some).map_err(|e| cx.tensor_err(name, e))
    }

    /// Whether some input of the node is a constant.
    fn has_constant_input(&self, cx: &Cx<'a>, index: usize) -> Result<bool> {
        for i in 0..cx.node.input.len() {
            if let Some(name) = cx.input_name(i)
                && !matches!(self.lookup(cx, index, name)?, Entry::Value(_))
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether every present input of the node is a constant (so the node folds).
    fn all_constant(&self, cx: &Cx<'a>, index: usize) -> Result<bool> {
        for i in 0..cx.node.input.len() {
            if let Some(name) = cx.input_name(i)
                && let Entry::Value(_) = self.lookup(cx, index, name)?
            {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// A constant's dims.
    fn dims(cx: &Cx<'a>, name: &str, t: &TensorProto) -> Result<Vec<usize>> {
        tensor::dims(t).map_err(|e| cx.tensor_err(name, e))
    }

    /// A constant's `f32` data, checked to have the shape `expected` (or one of the shapes).
    fn floats(cx: &Cx<'a>, name: &str, t: &TensorProto, expected: &[&[usize]]) -> Result<Vec<f32>> {
        let dims = Self::dims(cx, name, t)?;
        if !expected.is_empty() && !expected.contains(&dims.as_slice()) {
            let shapes: Vec<String> = expected.iter().map(|e| format!("{e:?}")).collect();
            return Err(cx.tensor_err(
                name,
                TensorIssue::Invalid(format!("has shape {dims:?}; expected {}", shapes.join(" or "))),
            ));
        }
        tensor::read_f32(t).map_err(|e| cx.tensor_err(name, e))
    }

    /// A scalar `f32` constant (shape `[]` or `[1]`).
    fn scalar(cx: &Cx<'a>, name: &str, t: &TensorProto) -> Result<f32> {
        let v = Self::floats(cx, name, t, &[&[], &[1]])?;
        v.first().copied().ok_or_else(|| cx.tensor_err(name, TensorIssue::Invalid("is empty".into())))
    }

    // ----- defining outputs -------------------------------------------------------------------

    fn check_new(&self, cx: &Cx<'a>, name: &str) -> Result<()> {
        if self.entries.contains_key(name) {
            return Err(cx.err(format!("output {name:?} is already defined; ONNX values have one producer")));
        }
        Ok(())
    }

    /// Adds a node computing a new value.
    fn define(
        &mut self,
        cx: &Cx<'a>,
        op: OpSpec,
        inputs: Vec<ValueId>,
        shape: Shape4,
        flat: bool,
        extra_outputs_ok: bool,
    ) -> Result<()> {
        let name = cx.output_name(extra_outputs_ok)?;
        self.check_new(cx, name)?;
        let id = self.value_names.len();
        self.value_names.push(name.to_string());
        self.entries.insert(name, Entry::Value(Value { id, shape, flat }));
        self.nodes.push(Node { name: cx.name.clone(), op, inputs, output: id });
        Ok(())
    }

    /// Defines output `k` of a multi-output node (Split): a value `op(inputs)` of `shape`.
    fn define_output(
        &mut self,
        cx: &Cx<'a>,
        k: usize,
        op: OpSpec,
        inputs: Vec<ValueId>,
        shape: Shape4,
        flat: bool,
    ) -> Result<()> {
        let name = cx
            .node
            .output
            .get(k)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| cx.err(format!("output {k} is missing")))?;
        self.check_new(cx, name)?;
        let id = self.value_names.len();
        self.value_names.push(name.to_string());
        self.entries.insert(name, Entry::Value(Value { id, shape, flat }));
        self.nodes.push(Node { name: format!("{}:{k}", cx.name), op, inputs, output: id });
        Ok(())
    }

    /// The channel axis of `x` for an ONNX `axis` attribute or input (1 of NCHW, 1 of `[N, F]`),
    /// else an error naming what is supported.
    fn channel_axis(cx: &Cx<'a>, x: &Value, axis: i64) -> Result<()> {
        let rank: i64 = if x.flat { 2 } else { 4 };
        if (if axis < 0 { axis + rank } else { axis }) == 1 {
            Ok(())
        } else {
            Err(cx
                .err(format!("axis {axis} of {:?} is not supported (only the channel axis 1)", onnx_dims(x))))
        }
    }

    /// `Split` along channels into its outputs: sizes from the `split` input (opset 13+) or
    /// attribute, else equal parts (`num_outputs` in opset 18+, else the output count).
    fn split(&mut self, cx: &Cx<'a>, index: usize) -> Result<()> {
        let sizes = if self.opset >= 13 {
            cx.check_attrs(&["axis", "num_outputs"])?;
            cx.arity(1, 2)?;
            match self.const_tensor(cx, index, 1)? {
                Some(c) => Some(c.as_ints("split").map_err(|e| cx.err(e))?.to_vec()),
                None => None,
            }
        } else {
            cx.check_attrs(&["axis", "split"])?;
            cx.arity(1, 1)?;
            cx.attr_ints("split")?.map(<[i64]>::to_vec)
        };
        let x = self.value(cx, index, 0)?;
        Self::channel_axis(cx, &x, cx.attr_int("axis", 0)?)?;
        let outputs = cx.node.output.len();
        let c = x.shape.c;
        let sizes: Vec<usize> = match sizes {
            Some(s) => s.iter().map(|&v| usize::try_from(v).unwrap_or(0)).collect(),
            None => {
                let parts = usize::try_from(cx.attr_int("num_outputs", outputs as i64)?).unwrap_or(0);
                if parts == 0 || parts != outputs {
                    return Err(cx.err(format!("num_outputs does not match the {outputs} outputs")));
                }
                // ONNX: equal parts, the last one smaller when C does not divide.
                let part = c.div_ceil(parts);
                (0..parts).map(|k| part.min(c.saturating_sub(k * part))).collect()
            }
        };
        if sizes.len() != outputs || sizes.contains(&0) || sizes.iter().sum::<usize>() != c {
            return Err(
                cx.err(format!("split sizes {sizes:?} into {outputs} outputs do not add up to {c} channels"))
            );
        }
        let mut start = 0;
        for (k, &len) in sizes.iter().enumerate() {
            let shape = Shape4 { c: len, ..x.shape };
            self.define_output(cx, k, OpSpec::SliceChannels { start, len }, vec![x.id], shape, x.flat)?;
            start += len;
        }
        Ok(())
    }

    /// `Slice` of a computed value along channels (step 1): a channel range.
    fn slice_channels(&mut self, cx: &Cx<'a>, index: usize) -> Result<()> {
        cx.check_attrs(&[])?;
        cx.arity(3, 5)?;
        let x = self.value(cx, index, 0)?;
        let ints = |i: usize| -> Result<Option<Vec<i64>>> {
            match self.const_tensor(cx, index, i)? {
                Some(c) => Ok(Some(c.as_ints("a Slice input").map_err(|e| cx.err(e))?.to_vec())),
                None => Ok(None),
            }
        };
        let (starts, ends) = (ints(1)?.unwrap_or_default(), ints(2)?.unwrap_or_default());
        let axes = ints(3)?.unwrap_or_else(|| (0..starts.len() as i64).collect());
        let steps = ints(4)?.unwrap_or_else(|| vec![1; starts.len()]);
        let ([start], [end], [axis], [1]) = (&starts[..], &ends[..], &axes[..], &steps[..]) else {
            return Err(cx.err(format!(
                "starts {starts:?}, ends {ends:?}, axes {axes:?}, steps {steps:?}: only one channel range with step 1 is supported"
            )));
        };
        Self::channel_axis(cx, &x, *axis)?;
        let c = i64::try_from(x.shape.c).unwrap_or(i64::MAX);
        let clamp = |v: i64| (if v < 0 { v.saturating_add(c) } else { v }).clamp(0, c);
        let (a, b) = (to_usize(clamp(*start)), to_usize(clamp(*end)));
        if a >= b {
            return Err(cx.err(format!("the channel range {start}..{end} of {c} channels is empty")));
        }
        let shape = Shape4 { c: b - a, ..x.shape };
        self.define(cx, OpSpec::SliceChannels { start: a, len: b - a }, vec![x.id], shape, x.flat, false)
    }

    /// Defines the node's output as the folded constant `c`.
    fn define_const(&mut self, cx: &Cx<'a>, c: ConstTensor) -> Result<()> {
        let name = cx.output_name(false)?;
        let proto = c.to_proto(name);
        self.folded.push((c, proto));
        let k = self.folded.len() - 1;
        self.alias(cx, Entry::Folded(k), false)
    }

    /// Makes the node's output another name for `entry` (Identity, Dropout, no-op Flatten...).
    fn alias(&mut self, cx: &Cx<'a>, entry: Entry<'a>, extra_outputs_ok: bool) -> Result<()> {
        let name = cx.output_name(extra_outputs_ok)?;
        self.check_new(cx, name)?;
        self.entries.insert(name, entry);
        Ok(())
    }

    // ----- operators --------------------------------------------------------------------------

    fn node(&mut self, cx: &Cx<'a>, index: usize) -> Result<()> {
        if !matches!(cx.node.domain(), "" | "ai.onnx") {
            return Err(self.unsupported(cx));
        }
        match cx.op {
            "Conv" => self.conv(cx, index),
            "BatchNormalization" => self.batch_norm(cx, index),
            "Relu" => {
                cx.check_attrs(&[])?;
                cx.arity(1, 1)?;
                let x = self.value(cx, index, 0)?;
                self.define(cx, OpSpec::Activation(Activation::Relu), vec![x.id], x.shape, x.flat, false)
            }
            "Clip" => self.clip(cx, index),
            "HardSigmoid" | "HardSwish" | "Sigmoid" | "Tanh" | "LeakyRelu" | "PRelu" => {
                self.unary_activation(cx, index)
            }
            "Add" | "Sub" | "Mul" | "Div" if self.all_constant(cx, index)? => self.fold(cx, index),
            "Concat" if self.all_constant(cx, index)? => self.fold(cx, index),
            "Slice" if !self.all_constant(cx, index)? => self.slice_channels(cx, index),
            "Split" => self.split(cx, index),
            "Shape" | "Gather" | "Unsqueeze" | "Squeeze" | "Slice" | "Cast" | "ConstantOfShape" => {
                self.fold(cx, index)
            }
            "Add" if self.has_constant_input(cx, index)? => self.affine(cx, index),
            "Sub" | "Mul" | "Div" if self.has_constant_input(cx, index)? => self.affine(cx, index),
            "Mul" => self.mul(cx, index),
            "Add" => self.add(cx, index),
            "GlobalAveragePool" => {
                cx.check_attrs(&[])?;
                cx.arity(1, 1)?;
                let x = self.spatial(cx, index, 0)?;
                let shape = Shape4::new(x.shape.n, 1, 1, x.shape.c);
                self.define(cx, OpSpec::GlobalAvgPool, vec![x.id], shape, false, false)
            }
            "ReduceMean" => self.reduce_mean(cx, index),
            "Pad" => self.pad(cx, index),
            "Resize" => self.resize(cx, index),
            "Softmax" => self.softmax(cx, index),
            "MaxPool" | "AveragePool" => self.pool(cx, index),
            "Flatten" => self.flatten(cx, index),
            "Reshape" => self.reshape(cx, index),
            "Transpose" => self.transpose(cx, index),
            "Gemm" => self.gemm(cx, index),
            "MatMul" => self.matmul(cx, index),
            "Concat" => self.concat(cx, index),
            "Identity" => {
                cx.check_attrs(&[])?;
                cx.arity(1, 1)?;
                let name = cx.input_name(0).ok_or_else(|| cx.err("input 0 is missing"))?;
                let entry = self.lookup(cx, index, name)?;
                self.alias(cx, entry, false)
            }
            "Dropout" => self.dropout(cx, index),
            "Constant" => self.constant_node(cx),
            _ => Err(self.unsupported(cx)),
        }
    }

    /// `Constant` with a tensor `value`, or `value_int(s)` / `value_float(s)`.
    fn constant_node(&mut self, cx: &Cx<'a>) -> Result<()> {
        cx.check_attrs(&["value", "value_int", "value_ints", "value_float", "value_floats"])?;
        cx.arity(0, 0)?;
        if cx.node.attribute.len() != 1 {
            return Err(cx.err("must have exactly one value attribute"));
        }
        if let Some(t) = cx.attr("value", AttributeType::Tensor)?.and_then(|a| a.t.as_ref()) {
            return self.alias(cx, Entry::Const(t), false);
        }
        let c = if let Some(a) = cx.attr("value_ints", AttributeType::Ints)? {
            ConstTensor::ints(vec![a.ints.len()], a.ints.clone())
        } else if let Some(a) = cx.attr("value_int", AttributeType::Int)? {
            ConstTensor::ints(Vec::new(), vec![a.i.ok_or_else(|| cx.err("value_int has no value"))?])
        } else if let Some(a) = cx.attr("value_floats", AttributeType::Floats)? {
            ConstTensor::floats(vec![a.floats.len()], a.floats.clone())
        } else if let Some(a) = cx.attr("value_float", AttributeType::Float)? {
            ConstTensor::floats(Vec::new(), vec![a.f.ok_or_else(|| cx.err("value_float has no value"))?])
        } else {
            return Err(cx.err("only a tensor, int(s) or float(s) value is supported"));
        };
        self.define_const(cx, c)
    }

    /// Folds a node on constants (and `Shape` of an activation) into a new constant: the
    /// exporters' shape arithmetic. Arithmetic on the symbolic batch fixes the batch.
    fn fold(&mut self, cx: &Cx<'a>, index: usize) -> Result<()> {
        let input = |i: usize| -> Result<ConstTensor> {
            self.const_tensor(cx, index, i)?.ok_or_else(|| cx.err(format!("input {i} is missing")))
        };
        let ints_input = |i: usize, what: &str| -> Result<Option<Vec<i64>>> {
            match self.const_tensor(cx, index, i)? {
                Some(c) => Ok(Some(c.as_ints(what).map_err(|e| cx.err(e))?.to_vec())),
                None => Ok(None),
            }
        };
        let folded = match cx.op {
            "Shape" => {
                cx.check_attrs(&["start", "end"])?;
                cx.arity(1, 1)?;
                let x = self.value(cx, index, 0)?;
                let dims: Vec<i64> =
                    onnx_dims(&x).iter().map(|&d| i64::try_from(d).unwrap_or(i64::MAX)).collect();
                let rank = dims.len() as i64;
                let mut shape = ConstTensor::ints(vec![dims.len()], dims);
                if matches!(self.batch, Batch::Symbolic { .. }) {
                    shape.batch = (0..rank).map(|i| i == 0).collect();
                }
                let start = cx.attr_int("start", 0)?;
                let end = cx.attr_int("end", rank)?;
                shape.slice(&[start], &[end], None, None)
            }
            "Gather" => {
                cx.check_attrs(&["axis"])?;
                cx.arity(2, 2)?;
                input(0)?.gather(&input(1)?, cx.attr_int("axis", 0)?)
            }
            "Unsqueeze" | "Squeeze" => {
                cx.arity(1, 2)?;
                let axes = if self.opset >= 13 {
                    cx.check_attrs(&[])?;
                    ints_input(1, "axes")?
                } else {
                    cx.check_attrs(&["axes"])?;
                    cx.attr_ints("axes")?.map(<[i64]>::to_vec)
                };
                let x = input(0)?;
                match (cx.op, axes) {
                    ("Unsqueeze", Some(axes)) => x.unsqueeze(&axes),
                    ("Unsqueeze", None) => Err("axes are missing".into()),
                    (_, axes) => x.squeeze(axes.as_deref()),
                }
            }
            "Slice" => {
                cx.check_attrs(&[])?;
                cx.arity(3, 5)?;
                let starts = ints_input(1, "starts")?.unwrap_or_default();
                let ends = ints_input(2, "ends")?.unwrap_or_default();
                let (axes, steps) = (ints_input(3, "axes")?, ints_input(4, "steps")?);
                input(0)?.slice(&starts, &ends, axes.as_deref(), steps.as_deref())
            }
            "Cast" => {
                cx.check_attrs(&["to", "saturate"])?;
                cx.arity(1, 1)?;
                let to = cx.attr("to", AttributeType::Int)?.and_then(|a| a.i);
                input(0)?.cast(to.ok_or_else(|| cx.err("attribute to is missing"))?)
            }
            "ConstantOfShape" => {
                cx.check_attrs(&["value"])?;
                cx.arity(1, 1)?;
                let value = match cx.attr("value", AttributeType::Tensor)?.and_then(|a| a.t.as_ref()) {
                    Some(t) => Some(ConstTensor::read(t).map_err(|e| cx.tensor_err("value", e))?),
                    None => None,
                };
                let shape = input(0)?;
                self.fix_batch_if(shape.has_batch(), cx);
                shape.constant_of_shape(value.as_ref())
            }
            "Concat" => {
                cx.check_attrs(&["axis"])?;
                cx.arity(1, usize::MAX)?;
                let axis = cx.attr("axis", AttributeType::Int)?.and_then(|a| a.i);
                let parts = (0..cx.node.input.len()).map(input).collect::<Result<Vec<_>>>()?;
                ConstTensor::concat(&parts, axis.ok_or_else(|| cx.err("attribute axis is missing"))?)
            }
            op => {
                cx.check_attrs(&[])?;
                cx.arity(2, 2)?;
                let (a, b) = (input(0)?, input(1)?);
                self.fix_batch_if(a.has_batch() || b.has_batch(), cx);
                ConstTensor::binary(op, &a, &b)
            }
        };
        let c = folded.map_err(|reason| cx.err(format!("cannot be folded: {reason}")))?;
        self.define_const(cx, c)
    }

    /// Fixes a symbolic batch at its current value when `uses_batch`: the node computes with
    /// it (e.g. multiplies it into a size), which would not hold for another batch.
    fn fix_batch_if(&mut self, uses_batch: bool, cx: &Cx<'a>) {
        if uses_batch && matches!(self.batch, Batch::Symbolic { .. }) {
            self.batch =
                Batch::Fixed { by: format!("node {:?} ({}), which computes with the batch", cx.name, cx.op) };
        }
    }

    fn unsupported(&self, cx: &Cx<'a>) -> OnnxError {
        let domain = match cx.node.domain() {
            "" => "ai.onnx",
            d => d,
        };
        OnnxError::UnsupportedOp {
            node: cx.name.clone(),
            op_type: cx.op.to_string(),
            domain: domain.to_string(),
        }
    }

    /// Padding from `auto_pad` / `pads`: the IR's spec and the pixels it resolves to here.
    fn padding(
        cx: &Cx<'a>,
        x: &Value,
        kernel: (usize, usize),
        stride: (usize, usize),
        dilation: (usize, usize),
    ) -> Result<(PadSpec, Padding2d)> {
        let auto_pad = cx.attr_string("auto_pad")?.unwrap_or_else(|| "NOTSET".into());
        let pads = cx.attr_ints("pads")?;
        let mode = match auto_pad.as_str() {
            "NOTSET" => {
                let p = match pads {
                    None => Padding2d::ZERO,
                    Some(&[t, l, b, r]) if [t, l, b, r].iter().all(|&p| p >= 0) => Padding2d {
                        top: to_usize(t),
                        left: to_usize(l),
                        bottom: to_usize(b),
                        right: to_usize(r),
                    },
                    Some(p) => {
                        return Err(cx.err(format!(
                            "attribute pads = {p:?} must be 4 values ≥ 0 [top, left, bottom, right]"
                        )));
                    }
                };
                return Ok((PadSpec::Explicit(p), p));
            }
            "VALID" => PadMode::Valid,
            "SAME_UPPER" => PadMode::SameUpper,
            "SAME_LOWER" => PadMode::SameLower,
            other => return Err(cx.err(format!("attribute auto_pad = {other:?} is not supported"))),
        };
        if let Some(p) = pads
            && p.iter().any(|&v| v != 0)
        {
            return Err(
                cx.err(format!("attribute pads = {p:?} cannot be combined with auto_pad = {auto_pad}"))
            );
        }
        let p = Padding2d::for_mode(
            mode, x.shape.h, x.shape.w, kernel.0, kernel.1, stride.0, stride.1, dilation.0, dilation.1,
        )
        .map_err(|e| cx.err(format!("auto_pad = {auto_pad}: {e}")))?;
        Ok((PadSpec::Auto(mode), p))
    }

    /// Output height and width of a window op.
    fn out_extent(
        cx: &Cx<'a>,
        x: &Value,
        kernel: (usize, usize),
        stride: (usize, usize),
        dilation: (usize, usize),
        p: Padding2d,
    ) -> Result<(usize, usize)> {
        let h = conv_out_extent("height", x.shape.h, kernel.0, stride.0, dilation.0, p.top, p.bottom);
        let w = conv_out_extent("width", x.shape.w, kernel.1, stride.1, dilation.1, p.left, p.right);
        match (h, w) {
            (Ok(h), Ok(w)) => Ok((h, w)),
            (Err(e), _) | (_, Err(e)) => Err(cx.err(format!("on input {}: {e}", x.shape))),
        }
    }

    fn conv(&mut self, cx: &Cx<'a>, index: usize) -> Result<()> {
        cx.check_attrs(&["auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"])?;
        cx.arity(2, 3)?;
        let x = self.spatial(cx, index, 0)?;
        let (w_name, w) = self.required_constant(cx, index, 1)?;
        let dims = Self::dims(cx, w_name, w)?;
        let [m, cig, kh, kw] = dims[..] else {
            return Err(cx.tensor_err(
                w_name,
                TensorIssue::Invalid(format!("weight shape {dims:?} is not 4-D [M, C/group, kH, kW]")),
            ));
        };
        if [m, cig, kh, kw].contains(&0) {
            return Err(cx.tensor_err(w_name, TensorIssue::Invalid(format!("weight shape {dims:?} has a 0"))));
        }
        let c = x.shape.c;
        let group = cx.attr_int("group", 1)?;
        if group < 1 {
            return Err(cx.err(format!("attribute group = {group} must be at least 1")));
        }
        let groups = to_usize(group);
        if c % groups != 0 {
            return Err(cx.err(format!("attribute group = {group} does not divide {c} input channels")));
        }
        if m % groups != 0 {
            return Err(cx.err(format!("attribute group = {group} does not divide {m} output channels")));
        }
        if cig != c / groups {
            return Err(cx.err(format!(
                "weight {w_name:?} has {cig} input channels per group, but the input has {c} channels in \
                 {groups} group(s)"
            )));
        }
        if let Some(k) = cx.attr_pair("kernel_shape")?
            && k != (kh, kw)
        {
            return Err(cx.err(format!(
                "attribute kernel_shape = [{}, {}] disagrees with the weight's kernel {kh}x{kw}",
                k.0, k.1
            )));
        }
        let stride = cx.attr_pair("strides")?.unwrap_or((1, 1));
        let dilation = cx.attr_pair("dilations")?.unwrap_or((1, 1));
        let (padding, pads) = Self::padding(cx, &x, (kh, kw), stride, dilation)?;
        let (oh, ow) = Self::out_extent(cx, &x, (kh, kw), stride, dilation, pads)?;

        let oihw = Self::floats(cx, w_name, w, &[])?;
        // OIHW [m][cig][kh][kw] → OHWI [m][kh][kw][cig].
        let mut weights = Vec::with_capacity(oihw.len());
        for o in 0..m {
            for y in 0..kh {
                for xx in 0..kw {
                    for i in 0..cig {
                        let src = ((o * cig + i) * kh + y) * kw + xx;
                        weights.push(oihw.get(src).copied().unwrap_or(f32::NAN));
                    }
                }
            }
        }
        let bias = match self.constant(cx, index, 2)? {
            Some((name, t)) => Some(Self::floats(cx, name, t, &[&[m]])?),
            None => None,
        };
        let spec = ConvSpec {
            out_c: m,
            kernel: (kh, kw),
            stride,
            dilation,
            padding,
            groups,
            weights,
            bias,
            activation: Activation::None,
        };
        let shape = Shape4::new(x.shape.n, oh, ow, m);
        self.define(cx, OpSpec::Conv(spec), vec![x.id], shape, false, false)
    }

    fn batch_norm(&mut self, cx: &Cx<'a>, index: usize) -> Result<()> {
        cx.check_attrs(&["epsilon", "momentum", "training_mode"])?;
        cx.arity(5, 5)?;
        if cx.attr_flag("training_mode", false)? {
            return Err(cx.err("attribute training_mode = 1 is not supported (inference only)"));
        }
        let epsilon = cx.attr_float("epsilon", 1e-5)?;
        if !(epsilon.is_finite() && epsilon >= 0.0) {
            return Err(cx.err(format!("attribute epsilon = {epsilon} must be finite and ≥ 0")));
        }
        let x = self.value(cx, index, 0)?;
        let c = x.shape.c;
        let mut params = Vec::with_capacity(4);
        for i in 1..5 {
            let (name, t) = self.required_constant(cx, index, i)?;
            params.push(Self::floats(cx, name, t, &[&[c]])?);
        }
        let [scale, bias, mean, var] = <[Vec<f32>; 4]>::try_from(params)
            .map_err(|_| cx.err("internal: expected 4 parameter tensors"))?;
        let spec = BatchNormSpec { scale, bias, mean, var, epsilon };
        self.define(cx, OpSpec::BatchNorm(spec), vec![x.id], x.shape, x.flat, false)
    }

    fn clip(&mut self, cx: &Cx<'a>, index: usize) -> Result<()> {
        let (min, max) = if self.opset >= 11 {
            cx.check_attrs(&[])?;
            cx.arity(1, 3)?;
            let bound = |i: usize, default: f32| -> Result<f32> {
                match self.constant(cx, index, i)? {
                    Some((name, t)) => Self::scalar(cx, name, t),
                    None => Ok(default),
                }
            };
            (bound(1, f32::NEG_INFINITY)?, bound(2, f32::INFINITY)?)
        } else {
            cx.check_attrs(&["min", "max"])?;
            cx.arity(1, 1)?;
            (cx.attr_float("min", f32::NEG_INFINITY)?, cx.attr_float("max", f32::INFINITY)?)
        };
        if min.is_nan() || max.is_nan() || min > max {
            return Err(cx.err(format!("bounds min = {min}, max = {max} are not an interval")));
        }
        let act = match (min, max) {
            (0.0, 6.0) => Activation::Relu6,
            (0.0, f32::INFINITY) => Activation::Relu,
            (f32::NEG_INFINITY, f32::INFINITY) => Activation::None,
            (min, max) => Activation::Clamp { min, max },
        };
        let x = self.value(cx, index, 0)?;
        self.define(cx, OpSpec::Activation(act), vec![x.id], x.shape, x.flat, false)
    }

    /// The elementwise activations that map to one [`Activation`]: `HardSigmoid` (alpha,
    /// beta; defaults 0.2, 0.5), `HardSwish`, `Sigmoid`, `Tanh`, `LeakyRelu` (alpha, default
    /// 0.01) and `PRelu` with one slope for every element (a scalar or all-equal slope). Each
    /// becomes an activation node that the planner fuses into the op before it when that op's
    /// output has no other reader. A `PRelu` whose slope differs between channels is a
    /// [`OpSpec::PRelu`] node (see [`Self::prelu_channels`]).
    fn unary_activation(&mut self, cx: &Cx<'a>, index: usize) -> Result<()> {
        let finite = |what: &str, v: f32| -> Result<f32> {
            if v.is_finite() { Ok(v) } else { Err(cx.err(format!("attribute {what} = {v} must be finite"))) }
        };
        let act = match cx.op {
            "HardSigmoid" => {
                cx.check_attrs(&["alpha", "beta"])?;
                cx.arity(1, 1)?;
                let alpha = finite("alpha", cx.attr_float("alpha", 0.2)?)?;
                Activation::HardSigmoid { alpha, beta: finite("beta", cx.attr_float("beta", 0.5)?)? }
            }
            "LeakyRelu" => {
                cx.check_attrs(&["alpha"])?;
                cx.arity(1, 1)?;
                Activation::LeakyRelu { alpha: finite("alpha", cx.attr_float("alpha", 0.01)?)? }
            }
            "PRelu" => {
                cx.check_attrs(&[])?;
                cx.arity(2, 2)?;
                let (name, t) = self.required_constant(cx, index, 1)?;
                let slope = tensor::read_f32(t).map_err(|e| cx.tensor_err(name, e))?;
                match slope.split_first() {
                    Some((&alpha, rest)) if rest.iter().all(|&v| v.to_bits() == alpha.to_bits()) => {
                        Activation::LeakyRelu { alpha: finite("slope", alpha)? }
                    }
                    _ => {
                        let dims = Self::dims(cx, name, t)?;
                        return self.prelu_channels(cx, index, name, &dims, slope);
                    }
                }
            }
            op => {
                cx.check_attrs(&[])?;
                cx.arity(1, 1)?;
                match op {
                    "HardSwish" => Activation::HardSwish,
                    "Sigmoid" => Activation::Sigmoid,
                    _ => Activation::Tanh,
                }
            }
        };
        let x = self.value(cx, index, 0)?;
        self.define(cx, OpSpec::Activation(act), vec![x.id], x.shape, x.flat, false)
    }

    /// `PRelu` whose slope differs between channels: a slope of shape `[C, 1, 1]` or
    /// `[1, C, 1, 1]` on an NCHW input, `[F]` or `[1, F]` on a 2-D `[N, F]` one (the ONNX
    /// broadcasts that give one slope per channel). Any other slope shape is refused naming it.
    fn prelu_channels(
        &mut self,
        cx: &Cx<'a>,
        index: usize,
        name: &str,
        dims: &[usize],
        slope: Vec<f32>,
    ) -> Result<()> {
        let x = self.value(cx, index, 0)?;
        let c = x.shape.c;
        let per_channel =
            if x.flat { dims == [c] || dims == [1, c] } else { dims == [c, 1, 1] || dims == [1, c, 1, 1] };
        if !per_channel {
            return Err(cx.err(format!(
                "slope {name:?} has shape {dims:?} with different values; sepconv supports one slope for every \
                 element or one per channel ({})",
                if x.flat { format!("[{c}]") } else { format!("[{c}, 1, 1]") }
            )));
        }
        if let Some(v) = slope.iter().find(|v| !v.is_finite()) {
            return Err(cx.err(format!("slope {name:?} has the value {v}; slopes must be finite")));
        }
        self.define(cx, OpSpec::PRelu { slope }, vec![x.id], x.shape, x.flat, false)
    }

    fn add(&mut self, cx: &Cx<'a>, index: usize) -> Result<()> {
        cx.check_attrs(&[])?;
        cx.arity(2, 2)?;
        let a = self.value(cx, index, 0)?;
        let b = self.value(cx, index, 1)?;
        if a.shape != b.shape || a.flat != b.flat {
            return Err(cx.err(format!(
                "inputs have shapes {:?} and {:?}; broadcasting is not supported",
                onnx_dims(&a),
                onnx_dims(&b)
            )));
        }
        self.define(cx, OpSpec::Add(Activation::None), vec![a.id, b.id], a.shape, a.flat, false)
    }

    /// `Mul` of two computed values: the same shape, or one `N×C×1×1` (one value per image
    /// and channel, as a squeeze-and-excitation block's attention) broadcast over the other.
    fn mul(&mut self, cx: &Cx<'a>, index: usize) -> Result<()> {
        cx.check_attrs(&[])?;
        cx.arity(2, 2)?;
        let a = self.value(cx, index, 0)?;
        let b = self.value(cx, index, 1)?;
        let per_channel = |x: &Value, of: &Value| {
            !x.flat && !of.flat && x.shape == Shape4::new(of.shape.n, 1, 1, of.shape.c)
        };
        let (x, s) = if a.shape == b.shape && a.flat == b.flat || per_channel(&b, &a) {
            (a, b)
        } else if per_channel(&a, &b) {
            (b, a)
        } else {
            return Err(cx.err(format!(
                "inputs have shapes {:?} and {:?}; only the same shape or an [N, C, 1, 1] scale is supported",
                onnx_dims(&a),
                onnx_dims(&b)
            )));
        };
        self.define(cx, OpSpec::Mul(Activation::None), vec![x.id, s.id], x.shape, x.flat, false)
    }

    /// `Add`, `Sub`, `Mul` or `Div` of a computed value and a constant that is a scalar or
    /// one value per channel (`[C, 1, 1]` / `[1, C, 1, 1]`, or `[F]` / `[1, F]` for a flat
    /// value): a per-channel `x · k + s`, planned as a batch normalization (so that it folds
    /// into a convolution before it). `x / k` becomes `x · (1 / k)`.
    fn affine(&mut self, cx: &Cx<'a>, index: usize) -> Result<()> {
        cx.check_attrs(&[])?;
        cx.arity(2, 2)?;
        let first_computed = matches!(
            self.lookup(cx, index, cx.input_name(0).ok_or_else(|| cx.err("input 0 is missing"))?)?,
            Entry::Value(_)
        );
        let (xi, ki) = if first_computed { (0, 1) } else { (1, 0) };
        let x = self.value(cx, index, xi)?;
        let (k_name, k) = self.required_constant(cx, index, ki)?;
        let dims = Self::dims(cx, k_name, k)?;
        let c = x.shape.c;
        let per_channel = match (dims.as_slice(), x.flat) {
            ([] | [1], _) | ([1, 1], true) | ([1, 1, 1] | [1, 1, 1, 1], false) => false,
            ([f] | [1, f], true) if *f == c => true,
            ([ch, 1, 1] | [1, ch, 1, 1], false) if *ch == c => true,
            _ => {
                return Err(cx.tensor_err(
                    k_name,
                    TensorIssue::Invalid(format!(
                        "has shape {dims:?}; {} with a constant needs a scalar or one value per channel of {:?}",
                        cx.op,
                        onnx_dims(&x)
                    )),
                ));
            }
        };
        let values = tensor::read_f32(k).map_err(|e| cx.tensor_err(k_name, e))?;
        let k: Vec<f32> = if per_channel { values } else { vec![values.first().copied().unwrap_or(0.0); c] };
        let (scale, shift): (Vec<f32>, Vec<f32>) = match (cx.op, first_computed) {
            ("Add", _) => (vec![1.0; c], k),
            ("Mul", _) => (k, vec![0.0; c]),
            ("Sub", true) => (vec![1.0; c], k.iter().map(|v| -v).collect()),
            ("Sub", false) => (vec![-1.0; c], k),
            ("Div", true) => (k.iter().map(|v| 1.0 / v).collect(), vec![0.0; c]),
            _ => return Err(cx.err("a constant divided by a computed value is not supported")),
        };
        // scale · (x - 0) / sqrt(1 + 0) + shift: exactly x · scale + shift.
        let spec = BatchNormSpec { scale, bias: shift, mean: vec![0.0; c], var: vec![1.0; c], epsilon: 0.0 };
        self.define(cx, OpSpec::BatchNorm(spec), vec![x.id], x.shape, x.flat, false)
    }

    fn pool(&mut self, cx: &Cx<'a>, index: usize) -> Result<()> {
        let max = cx.op == "MaxPool";
        if max {
            cx.check_attrs(&[
                "auto_pad",
                "ceil_mode",
                "dilations",
                "kernel_shape",
                "pads",
                "storage_order",
                "strides",
            ])?;
        } else {
            cx.check_attrs(&[
                "auto_pad",
                "ceil_mode",
                "count_include_pad",
                "dilations",
                "kernel_shape",
                "pads",
                "strides",
            ])?;
        }
        cx.arity(1, 1)?;
        let x = self.spatial(cx, index, 0)?;
        let ceil_mode = cx.attr_flag("ceil_mode", false)?;
        if let Some(d) = cx.attr_ints("dilations")?
            && d.iter().any(|&v| v != 1)
        {
            return Err(cx.err(format!("attribute dilations = {d:?} is not supported (only 1)")));
        }
        let kernel =
            cx.attr_pair("kernel_shape")?.ok_or_else(|| cx.err("attribute kernel_shape is missing"))?;
        let stride = cx.attr_pair("strides")?.unwrap_or((1, 1));
        let (padding, pads) = Self::padding(cx, &x, kernel, stride, (1, 1))?;
        if pads.top >= kernel.0 || pads.bottom >= kernel.0 || pads.left >= kernel.1 || pads.right >= kernel.1
        {
            return Err(cx.err(format!(
                "padding {pads:?} is not smaller than the {}x{} window: a window could lie wholly in the padding",
                kernel.0, kernel.1
            )));
        }
        let (mut oh, mut ow) = Self::out_extent(cx, &x, kernel, stride, (1, 1), pads)?;
        let kind = if max {
            PoolKind::Max
        } else {
            PoolKind::Avg { count_include_pad: cx.attr_flag("count_include_pad", false)? }
        };
        let mut padding = padding;
        if ceil_mode {
            // Output sizes rounded up: the last window may overhang the bottom/right padding
            // (if it starts inside the input or the top/left padding). It is planned as that
            // much more bottom/right padding, which pooling skips.
            if !matches!(padding, PadSpec::Explicit(_)) {
                return Err(
                    cx.err("attribute ceil_mode = 1 is supported with explicit pads only, not auto_pad")
                );
            }
            let (ch, extra_h) = ceil_extent(x.shape.h, kernel.0, stride.0, pads.top, pads.bottom);
            let (cw, extra_w) = ceil_extent(x.shape.w, kernel.1, stride.1, pads.left, pads.right);
            if (extra_h > 0 || extra_w > 0) && kind == (PoolKind::Avg { count_include_pad: true }) {
                return Err(cx.err(
                    "attribute ceil_mode = 1 with count_include_pad = 1 is not supported where the last \
                     window overhangs the padding (ONNX Runtime does not count the overhang)",
                ));
            }
            (oh, ow) = (ch, cw);
            padding = PadSpec::Explicit(Padding2d {
                bottom: pads.bottom + extra_h,
                right: pads.right + extra_w,
                ..pads
            });
        }
        let spec = PoolSpec { kind, kernel, stride, padding };
        let shape = Shape4::new(x.shape.n, oh, ow, x.shape.c);
        self.define(cx, OpSpec::Pool(spec), vec![x.id], shape, false, false)
    }

    /// `Pad` in `constant` mode of the spatial axes (2 and 3 of NCHW): pads from the `pads`
    /// input, with the optional `constant_value` and (opset 18+) `axes` inputs. Padding the
    /// batch or channel axis, negative pads (cropping) and the other modes are refused.
    fn pad(&mut self, cx: &Cx<'a>, index: usize) -> Result<()> {
        cx.check_attrs(&["mode"])?;
        cx.arity(2, if self.opset >= 18 { 4 } else { 3 })?;
        let mode = cx.attr_string("mode")?.unwrap_or_else(|| "constant".into());
        if mode != "constant" {
            return Err(cx.err(format!("attribute mode = {mode:?} is not supported (only \"constant\")")));
        }
        let ints = |i: usize, what: &str| -> Result<Option<Vec<i64>>> {
            match self.const_tensor(cx, index, i)? {
                Some(c) => Ok(Some(c.as_ints(what).map_err(|e| cx.err(e))?.to_vec())),
                None => Ok(None),
            }
        };
        let pads = ints(1, "pads")?.ok_or_else(|| cx.err("input 1 (pads) is missing"))?;
        let value = match self.constant(cx, index, 2)? {
            Some((name, t)) => Self::scalar(cx, name, t)?,
            None => 0.0,
        };
        let axes = ints(3, "axes")?;
        let x = self.spatial(cx, index, 0)?;
        // Per NCHW axis: (begin, end).
        let mut per_axis = [(0i64, 0i64); 4];
        let axes: Vec<i64> = axes.unwrap_or_else(|| (0..4).collect());
        let (begins, ends) = pads
            .split_at_checked(axes.len())
            .filter(|_| pads.len() == 2 * axes.len())
            .ok_or_else(|| cx.err(format!("pads {pads:?} do not have two entries per axis of {axes:?}")))?;
        for (&a, (&b, &e)) in axes.iter().zip(begins.iter().zip(ends)) {
            let axis = if a < 0 { a + 4 } else { a };
            let slot = usize::try_from(axis)
                .ok()
                .and_then(|i| per_axis.get_mut(i))
                .ok_or_else(|| cx.err(format!("axis {a} is not an axis of a 4-D tensor")))?;
            *slot = (b, e);
        }
        if per_axis.iter().any(|&(b, e)| b < 0 || e < 0) {
            return Err(cx.err(format!("pads {pads:?}: negative pads (cropping) are not supported")));
        }
        if per_axis[0] != (0, 0) || per_axis[1] != (0, 0) {
            return Err(
                cx.err(format!("pads {pads:?} pad the batch or channel axis; only H and W are supported"))
            );
        }
        let side = |v: i64| usize::try_from(v).map_err(|_| cx.err(format!("pad {v} is too large")));
        let p = Padding2d {
            top: side(per_axis[2].0)?,
            bottom: side(per_axis[2].1)?,
            left: side(per_axis[3].0)?,
            right: side(per_axis[3].1)?,
        };
        let grow = |extent: usize, a: usize, b: usize| {
            extent
                .checked_add(a)
                .and_then(|v| v.checked_add(b))
                .ok_or_else(|| cx.err("the padded extent overflows"))
        };
        let shape =
            Shape4 { h: grow(x.shape.h, p.top, p.bottom)?, w: grow(x.shape.w, p.left, p.right)?, ..x.shape };
        self.define(cx, OpSpec::Pad { pads: p, value }, vec![x.id], shape, false, false)
    }

    /// `Resize` of H and W (`nearest` or `linear`), sized by the `scales` input (output
    /// `floor(in · scale)`) or the `sizes` input, with the coordinate transforms
    /// `half_pixel`, `pytorch_half_pixel`, `align_corners` and `asymmetric` and every
    /// `nearest_mode`. Refused, naming the attribute or input: `cubic`, `tf_crop_and_resize`,
    /// `half_pixel_symmetric`, `tf_half_pixel_for_nearest`, `antialias`,
    /// `exclude_outside`, a `keep_aspect_ratio_policy` other than `stretch`, and scales or sizes
    /// that resize the batch or the channels.
    fn resize(&mut self, cx: &Cx<'a>, index: usize) -> Result<()> {
        cx.check_attrs(&[
            "mode",
            "coordinate_transformation_mode",
            "nearest_mode",
            "cubic_coeff_a",
            "exclude_outside",
            "extrapolation_value",
            "antialias",
            "axes",
            "keep_aspect_ratio_policy",
        ])?;
        cx.arity(1, 4)?;
        let x = self.spatial(cx, index, 0)?;
        let string = |name: &str, default: &str| -> Result<String> {
            Ok(cx.attr_string(name)?.unwrap_or_else(|| default.to_string()))
        };
        let unsupported = |name: &str, v: &dyn std::fmt::Display| {
            cx.err(format!("attribute {name} = {v} is not supported"))
        };
        let coord = match string("coordinate_transformation_mode", "half_pixel")?.as_str() {
            "half_pixel" => ResizeCoord::HalfPixel,
            "pytorch_half_pixel" => ResizeCoord::PytorchHalfPixel,
            "align_corners" => ResizeCoord::AlignCorners,
            "asymmetric" => ResizeCoord::Asymmetric,
            other => return Err(unsupported("coordinate_transformation_mode", &format!("{other:?}"))),
        };
        let mode = match string("mode", "nearest")?.as_str() {
            "nearest" => ResizeMode::Nearest(match string("nearest_mode", "round_prefer_floor")?.as_str() {
                "round_prefer_floor" => NearestRounding::RoundPreferFloor,
                "round_prefer_ceil" => NearestRounding::RoundPreferCeil,
                "floor" => NearestRounding::Floor,
                "ceil" => NearestRounding::Ceil,
                other => return Err(unsupported("nearest_mode", &format!("{other:?}"))),
            }),
            "linear" => ResizeMode::Linear,
            other => {
                return Err(unsupported("mode", &format!("{other:?} (only \"nearest\" and \"linear\")")));
            }
        };
        for name in ["antialias", "exclude_outside"] {
            let v = cx.attr_int(name, 0)?;
            if v != 0 {
                return Err(unsupported(name, &v));
            }
        }
        let policy = string("keep_aspect_ratio_policy", "stretch")?;
        if policy != "stretch" {
            return Err(unsupported("keep_aspect_ratio_policy", &format!("{policy:?}")));
        }
        // The axes the scales or sizes are given for (opset 18+), as NCHW indices.
        let axes: Vec<usize> = match cx.attr_ints("axes")? {
            None => (0..4).collect(),
            Some(a) => a
                .iter()
                .map(|&v| usize::try_from(if v < 0 { v + 4 } else { v }).ok().filter(|&i| i < 4))
                .collect::<Option<_>>()
                .ok_or_else(|| {
                    cx.err(format!("attribute axes = {a:?} names an axis outside the 4 of NCHW"))
                })?,
        };
        let dims = [x.shape.n, x.shape.c, x.shape.h, x.shape.w];
        let scales = match self.constant(cx, index, 2)? {
            Some((name, t)) => Some(Self::floats(cx, name, t, &[])?).filter(|v| !v.is_empty()),
            None => None,
        };
        let sizes = match self.const_tensor(cx, index, 3)? {
            Some(c) => {
                let v = c.as_ints("sizes").map_err(|e| cx.err(e))?.to_vec();
                // A size that is the symbolic batch is the batch.
                let v: Vec<i64> = v
                    .iter()
                    .enumerate()
                    .map(|(i, &s)| if c.is_batch(i) { x.shape.n as i64 } else { s })
                    .collect();
                Some(v).filter(|v| !v.is_empty())
            }
            None => None,
        };
        // Per NCHW axis: (output extent, scale of the coordinate transform).
        let mut out = dims.map(|d| (d, 1.0f32));
        match (scales, sizes) {
            (Some(sc), None) => {
                if sc.len() != axes.len() {
                    return Err(cx.err(format!("scales {sc:?} do not have one value per axis of {axes:?}")));
                }
                for (&a, &s) in axes.iter().zip(&sc) {
                    if !(s.is_finite() && s > 0.0) {
                        return Err(cx.err(format!("scale {s} must be finite and positive")));
                    }
                    let d = dims.get(a).copied().unwrap_or(0);
                    let e = (d as f32 * s).floor();
                    if !(1.0..1e9).contains(&e) {
                        return Err(
                            cx.err(format!("scale {s} of an extent of {d} gives an empty or huge output"))
                        );
                    }
                    if let Some(o) = out.get_mut(a) {
                        *o = (e as usize, s);
                    }
                }
            }
            (None, Some(sz)) => {
                if sz.len() != axes.len() {
                    return Err(cx.err(format!("sizes {sz:?} do not have one value per axis of {axes:?}")));
                }
                for (&a, &e) in axes.iter().zip(&sz) {
                    let d = dims.get(a).copied().unwrap_or(0);
                    let e = usize::try_from(e)
                        .ok()
                        .filter(|&e| e >= 1)
                        .ok_or_else(|| cx.err(format!("size {e} is not positive")))?;
                    if let Some(o) = out.get_mut(a) {
                        *o = (e, e as f32 / d as f32);
                    }
                }
            }
            (Some(_), Some(_)) => return Err(cx.err("has both scales and sizes; ONNX allows one")),
            (None, None) => return Err(cx.err("has neither scales nor sizes")),
        }
        let [(n, _), (c, _), (out_h, scale_h), (out_w, scale_w)] = out;
        if n != x.shape.n || c != x.shape.c {
            return Err(cx.err(format!(
                "resizes the batch or the channels ({:?} to [{n}, {c}, {out_h}, {out_w}]); only H and W are supported",
                onnx_dims(&x)
            )));
        }
        let spec = ResizeSpec { out_h, out_w, scale_h, scale_w, mode, coord };
        let shape = Shape4 { h: out_h, w: out_w, ..x.shape };
        self.define(cx, OpSpec::Resize(spec), vec![x.id], shape, false, false)
    }

    /// `ReduceMean` over the spatial axes (2 and 3 of NCHW): a global average pool, then for
    /// `keepdims = 0` a flatten to `[N, C]`.
    fn reduce_mean(&mut self, cx: &Cx<'a>, index: usize) -> Result<()> {
        let axes = if self.opset >= 18 {
            cx.check_attrs(&["keepdims", "noop_with_empty_axes"])?;
            cx.arity(1, 2)?;
            match self.const_tensor(cx, index, 1)? {
                Some(c) => Some(c.as_ints("axes").map_err(|e| cx.err(e))?.to_vec()),
                None => None,
            }
        } else {
            cx.check_attrs(&["axes", "keepdims"])?;
            cx.arity(1, 1)?;
            cx.attr_ints("axes")?.map(<[i64]>::to_vec)
        };
        let x = self.spatial(cx, index, 0)?;
        let mut spatial: Vec<i64> =
            axes.clone().unwrap_or_default().iter().map(|&a| if a < 0 { a + 4 } else { a }).collect();
        spatial.sort_unstable();
        if spatial != [2, 3] {
            return Err(cx.err(format!(
                "attribute axes = {axes:?} is not supported: only the spatial axes [2, 3] (a global average pool)"
            )));
        }
        let keepdims = cx.attr_flag("keepdims", true)?;
        let pooled = Shape4::new(x.shape.n, 1, 1, x.shape.c);
        if keepdims {
            return self.define(cx, OpSpec::GlobalAvgPool, vec![x.id], pooled, false, false);
        }
        let out = cx.output_name(false)?;
        let id = self.value_names.len();
        self.value_names.push(format!("{out} (pooled)"));
        self.nodes.push(Node {
            name: cx.name.clone(),
            op: OpSpec::GlobalAvgPool,
            inputs: vec![x.id],
            output: id,
        });
        self.flatten_to_2d(cx, Value { id, shape: pooled, flat: false })
    }

    /// `Softmax` over the channels (axis 1 of NCHW, the last axis of a flat `[N, F]` value),
    /// which is the innermost NHWC axis.
    fn softmax(&mut self, cx: &Cx<'a>, index: usize) -> Result<()> {
        cx.check_attrs(&["axis"])?;
        cx.arity(1, 1)?;
        let x = self.value(cx, index, 0)?;
        let rank: i64 = if x.flat { 2 } else { 4 };
        let given = cx.attr_int("axis", if self.opset >= 13 { -1 } else { 1 })?;
        let axis = if given < 0 { given + rank } else { given };
        // Before opset 13 Softmax flattens the axes from `axis` on: over channels only when
        // nothing follows them (a flat value, or a 1×1 map).
        let channels_only = axis == 1 && (x.flat || self.opset >= 13 || (x.shape.h, x.shape.w) == (1, 1));
        if !channels_only {
            return Err(cx.err(format!(
                "attribute axis = {given} on a {rank}-D input {:?} is not supported (only the channel axis 1)",
                onnx_dims(&x)
            )));
        }
        self.define(cx, OpSpec::Softmax, vec![x.id], x.shape, x.flat, false)
    }

    /// Flattens `x` to `[N, C·H·W]`: a Flatten node for 4-D values, an alias for flat ones.
    fn flatten_to_2d(&mut self, cx: &Cx<'a>, x: Value) -> Result<()> {
        if x.flat {
            return self.alias(cx, Entry::Value(x), false);
        }
        let s = x.shape;
        let features =
            s.c.checked_mul(s.h)
                .and_then(|f| f.checked_mul(s.w))
                .ok_or_else(|| cx.err(format!("the feature count of {s} overflows")))?;
        self.define(cx, OpSpec::Flatten, vec![x.id], Shape4::new(s.n, 1, 1, features), true, false)
    }

    fn flatten(&mut self, cx: &Cx<'a>, index: usize) -> Result<()> {
        cx.check_attrs(&["axis"])?;
        cx.arity(1, 1)?;
        let x = self.value(cx, index, 0)?;
        let rank: i64 = if x.flat { 2 } else { 4 };
        let axis = cx.attr_int("axis", 1)?;
        let normalized = if axis < 0 { axis + rank } else { axis };
        if normalized != 1 {
            return Err(cx.err(format!(
                "attribute axis = {axis} on a {rank}-D input is not supported (only axis 1: [N, C·H·W])"
            )));
        }
        self.flatten_to_2d(cx, x)
    }

    fn reshape(&mut self, cx: &Cx<'a>, index: usize) -> Result<()> {
        cx.check_attrs(&["allowzero"])?;
        cx.arity(2, 2)?;
        let allow_zero = cx.attr_flag("allowzero", false)?;
        let name = cx.input_name(0).ok_or_else(|| cx.err("input 0 is missing"))?;
        let (x, view) = match self.lookup(cx, index, name)? {
            Entry::Grouped { x, groups } => (x, Some((groups, false))),
            Entry::Shuffled { x, groups } => (x, Some((groups, true))),
            _ => (self.value(cx, index, 0)?, None),
        };
        let s_name = cx.input_name(1).unwrap_or_default();
        let shape = self.const_tensor(cx, index, 1)?.ok_or_else(|| cx.err("input 1 is missing"))?;
        let target = shape.as_ints("the shape").map_err(|e| cx.err(e))?.to_vec();
        if shape.dims.len() != 1 {
            return Err(cx.tensor_err(s_name, TensorIssue::Invalid("the shape tensor must be 1-D".into())));
        }
        // The dims the input has as ONNX sees it (5-D for a grouped view).
        let in_dims = match view {
            Some((g, shuffled)) => {
                let (s, cg) = (x.shape, x.shape.c / g.max(1));
                let (a, b) = if shuffled { (cg, g) } else { (g, cg) };
                vec![s.n, a, b, s.h, s.w]
            }
            None => onnx_dims(&x),
        };
        let unsupported = || {
            cx.err(format!(
                "reshape of {in_dims:?} to {target:?} is not supported: only to 2-D [N, C·H·W] (e.g. [N, -1]), \
                 or a channel shuffle (to [N, g, C/g, H, W], Transpose [0, 2, 1, 3, 4], back to [N, C, H, W])"
            ))
        };
        let dims = resolve_reshape(&target, &in_dims, allow_zero).ok_or_else(unsupported)?;
        let n = x.shape.n;
        if dims.first() != Some(&n) {
            return Err(unsupported());
        }
        // A target that spells out the batch as a number (not 0, -1 or the batch itself, as
        // `Shape -> Gather` gives it) runs this batch only; so does one that uses the batch
        // elsewhere.
        let spelled = target.first().is_some_and(|&d0| d0 > 0) && !shape.is_batch(0);
        if (spelled || (1..target.len()).any(|i| shape.is_batch(i)))
            && matches!(self.batch, Batch::Symbolic { .. })
        {
            self.batch = Batch::Fixed { by: format!("node {:?} (Reshape to {target:?})", cx.name) };
        }
        let s = x.shape;
        match (view, dims.as_slice()) {
            (None, [_, _]) => self.flatten_to_2d(cx, x),
            // A no-op (same dims) is an alias.
            (None, _) if dims == in_dims => self.alias(cx, Entry::Value(x), false),
            // The first step of a channel shuffle: [N, C, H, W] as [N, g, C/g, H, W].
            (None, &[_, g, cg, h, w])
                if !x.flat && g > 1 && g.checked_mul(cg) == Some(s.c) && (h, w) == (s.h, s.w) =>
            {
                self.alias(cx, Entry::Grouped { x, groups: g }, false)
            }
            // Back to [N, C, H, W]: unchanged (not transposed), or shuffled.
            (Some((groups, shuffled)), &[_, c, h, w]) if (c, h, w) == (s.c, s.h, s.w) => {
                if shuffled {
                    self.define(cx, OpSpec::ChannelShuffle { groups }, vec![x.id], s, false, false)
                } else {
                    self.alias(cx, Entry::Value(x), false)
                }
            }
            _ => Err(unsupported()),
        }
    }

    /// `Transpose`: only the middle step of a channel shuffle, `[0, 2, 1, 3, 4]` on a
    /// `[N, g, C/g, H, W]` view (or back).
    fn transpose(&mut self, cx: &Cx<'a>, index: usize) -> Result<()> {
        cx.check_attrs(&["perm"])?;
        cx.arity(1, 1)?;
        let name = cx.input_name(0).ok_or_else(|| cx.err("input 0 is missing"))?;
        let perm = cx.attr_ints("perm")?.unwrap_or_default();
        let entry = match (self.lookup(cx, index, name)?, perm) {
            (Entry::Grouped { x, groups }, [0, 2, 1, 3, 4]) => Entry::Shuffled { x, groups },
            (Entry::Shuffled { x, groups }, [0, 2, 1, 3, 4]) => Entry::Grouped { x, groups },
            _ => {
                return Err(cx.err(format!(
                    "perm = {perm:?} is not supported: Transpose only as a channel shuffle's [0, 2, 1, 3, 4] \
                     on a [N, g, C/g, H, W] reshape"
                )));
            }
        };
        self.alias(cx, entry, false)
    }

    /// A flat (2-D) activation input for Gemm / MatMul.
    fn flat_input(&self, cx: &Cx<'a>, index: usize) -> Result<Value> {
        let a = self.value(cx, index, 0)?;
        if !a.flat {
            return Err(cx.err(format!(
                "input A is 4-D {:?}; only a 2-D [N, features] input (after Flatten) is supported",
                onnx_dims(&a)
            )));
        }
        Ok(a)
    }

    /// Dense weights `[out][in]` from a constant `[in, out]` (`transposed == false`) or
    /// `[out, in]` matrix.
    fn dense_weights(
        cx: &Cx<'a>,
        name: &str,
        t: &TensorProto,
        in_features: usize,
        transposed: bool,
    ) -> Result<(usize, Vec<f32>)> {
        let dims = Self::dims(cx, name, t)?;
        let (k, out) = match (&dims[..], transposed) {
            (&[k, out], false) | (&[out, k], true) => (k, out),
            _ => {
                return Err(
                    cx.tensor_err(name, TensorIssue::Invalid(format!("has shape {dims:?}; expected 2-D")))
                );
            }
        };
        if k != in_features || out == 0 {
            return Err(cx.err(format!(
                "weight {name:?} of shape {dims:?} does not fit {in_features} input features"
            )));
        }
        let data = Self::floats(cx, name, t, &[])?;
        let weights = if transposed {
            data
        } else {
            let mut w = Vec::with_capacity(data.len());
            for o in 0..out {
                for i in 0..k {
                    w.push(data.get(i * out + o).copied().unwrap_or(f32::NAN));
                }
            }
            w
        };
        Ok((out, weights))
    }

    fn gemm(&mut self, cx: &Cx<'a>, index: usize) -> Result<()> {
        cx.check_attrs(&["alpha", "beta", "transA", "transB"])?;
        cx.arity(2, 3)?;
        let alpha = cx.attr_float("alpha", 1.0)?;
        let beta = cx.attr_float("beta", 1.0)?;
        if alpha != 1.0 {
            return Err(cx.err(format!("attribute alpha = {alpha} is not supported (only 1)")));
        }
        if cx.attr_flag("transA", false)? {
            return Err(cx.err("attribute transA = 1 is not supported"));
        }
        let trans_b = cx.attr_flag("transB", false)?;
        let a = self.flat_input(cx, index)?;
        let (b_name, b) = self.required_constant(cx, index, 1)?;
        let (out, weights) = Self::dense_weights(cx, b_name, b, a.shape.c, trans_b)?;
        let bias = match self.constant(cx, index, 2)? {
            None => None,
            Some((c_name, c)) => {
                if beta != 1.0 {
                    return Err(cx.err(format!("attribute beta = {beta} is not supported (only 1)")));
                }
                Some(Self::floats(cx, c_name, c, &[&[out], &[1, out]])?)
            }
        };
        let spec = DenseSpec { out_features: out, weights, bias, activation: Activation::None };
        self.define(cx, OpSpec::Dense(spec), vec![a.id], Shape4::new(a.shape.n, 1, 1, out), true, false)
    }

    fn matmul(&mut self, cx: &Cx<'a>, index: usize) -> Result<()> {
        cx.check_attrs(&[])?;
        cx.arity(2, 2)?;
        let a = self.flat_input(cx, index)?;
        let (b_name, b) = self.required_constant(cx, index, 1)?;
        let (out, weights) = Self::dense_weights(cx, b_name, b, a.shape.c, false)?;
        let spec = DenseSpec { out_features: out, weights, bias: None, activation: Activation::None };
        self.define(cx, OpSpec::Dense(spec), vec![a.id], Shape4::new(a.shape.n, 1, 1, out), true, false)
    }

    /// `Concat` along channels (axis 1 of NCHW, the features of `[N, F]`), or along H or W
    /// (axis 2 or 3) of 4-D values; the inputs agree on every other extent.
    fn concat(&mut self, cx: &Cx<'a>, index: usize) -> Result<()> {
        cx.check_attrs(&["axis"])?;
        cx.arity(1, usize::MAX)?;
        let mut values = Vec::with_capacity(cx.node.input.len());
        for i in 0..cx.node.input.len() {
            values.push(self.value(cx, index, i)?);
        }
        let Some(&first) = values.first() else { return Err(cx.err("has no inputs")) };
        let rank: i64 = if first.flat { 2 } else { 4 };
        let axis = match cx.attr("axis", AttributeType::Int)? {
            Some(a) => a.i.ok_or_else(|| cx.err("attribute axis has no integer value"))?,
            None => return Err(cx.err("attribute axis is missing")),
        };
        let normalized = if axis < 0 { axis + rank } else { axis };
        let axis = match (normalized, first.flat) {
            (1, _) => CatAxis::Channels,
            (2, false) => CatAxis::Height,
            (3, false) => CatAxis::Width,
            _ => {
                return Err(cx.err(format!(
                    "attribute axis = {axis} on {rank}-D inputs is not supported (only the channel, height and \
                     width axes of NCHW, the feature axis of [N, F])"
                )));
            }
        };
        let name = axis.name();
        let mut extent = 0usize;
        for v in &values {
            if v.flat != first.flat || axis.with_extent(v.shape, 0) != axis.with_extent(first.shape, 0) {
                return Err(cx.err(format!(
                    "inputs of shapes {:?} and {:?} differ outside the {name} axis",
                    onnx_dims(&first),
                    onnx_dims(v)
                )));
            }
            extent = extent
                .checked_add(axis.extent(v.shape))
                .ok_or_else(|| cx.err(format!("the concatenated {name} extent overflows")))?;
        }
        if values.len() == 1 {
            return self.alias(cx, Entry::Value(first), false);
        }
        let shape = axis.with_extent(first.shape, extent);
        let ids = values.iter().map(|v| v.id).collect();
        self.define(cx, axis.op(), ids, shape, first.flat, false)
    }

    fn dropout(&mut self, cx: &Cx<'a>, index: usize) -> Result<()> {
        cx.check_attrs(&["ratio", "seed"])?;
        cx.arity(1, 3)?;
        let x = self.value(cx, index, 0)?;
        if let Some((name, t)) = self.constant(cx, index, 2)? {
            let training = tensor::read_bool(t).map_err(|e| cx.tensor_err(name, e))?;
            if training.iter().any(|&b| b) {
                return Err(cx.err("training_mode = true is not supported (inference only)"));
            }
        }
        // The optional mask output is left undefined: a node reading it gets an error.
        self.alias(cx, Entry::Value(x), true)
    }

    fn finish(self, graph: &GraphProto) -> Result<Model> {
        let [output] = &graph.output[..] else {
            return Err(OnnxError::Graph {
                reason: format!("has {} outputs; sepconv models have exactly one", graph.output.len()),
            });
        };
        let name = output.name();
        let out_err = |reason: String| OnnxError::Output { name: name.to_string(), reason };
        let value = match self.entries.get(name) {
            Some(Entry::Value(v)) => *v,
            Some(Entry::Const(_) | Entry::Folded(_)) => {
                return Err(out_err("is a constant, not computed from the input".into()));
            }
            Some(Entry::Grouped { .. } | Entry::Shuffled { .. }) => {
                return Err(out_err("is a 5-D view; sepconv outputs 4-D or 2-D tensors".into()));
            }
            None => return Err(out_err("is not produced by any node".into())),
        };
        check_declared(output, &value).map_err(out_err)?;
        let mut batch = self.batch;
        if matches!(batch, Batch::Symbolic { .. }) && declares_static_batch(output) {
            batch = Batch::Fixed { by: format!("graph output {:?}", output.name()) };
        }
        let model_name = match graph.name() {
            "" => "onnx".to_string(),
            n => n.to_string(),
        };
        Ok(Model {
            name: model_name,
            value_names: self.value_names,
            input: self.input,
            input_shape: self.input_shape,
            batch,
            layout: Layout::Nchw,
            output: value.id,
            nodes: self.nodes,
        })
    }
}

/// The graph input's NHWC shape from its NCHW float type, and whether its batch is fixed.
///
/// Each dimension is the model's number, or for a symbolic one (a `dim_param`, or no value)
/// the number `options.input_shape` gives; a symbolic batch with no such number is 1. A given
/// number must agree with a static dimension. Anything else left open is an error naming the
/// input and the dimension.
fn input_shape(input: &ValueInfoProto, options: &ImportOptions) -> Result<(Shape4, Batch)> {
    let name = input.name();
    let err = |reason: String| OnnxError::Input { name: name.to_string(), reason };
    let Some(TypeValue::TensorType(t)) = input.r#type.as_ref().and_then(|t| t.value.as_ref()) else {
        return Err(err("is not a tensor".into()));
    };
    let code = t.elem_type.unwrap_or(0);
    if code != DataType::Float as i32 {
        return Err(err(format!(
            "element type {} is not supported; expected FLOAT",
            tensor::type_name(code)
        )));
    }
    let shape = t.shape.as_ref().ok_or_else(|| err("has no shape; sepconv needs an NCHW shape".into()))?;
    if shape.dim.len() != 4 {
        return Err(err(format!("has rank {}; sepconv needs a 4-D NCHW input", shape.dim.len())));
    }
    let given = options.input_shape;
    if let Some(i) = given.and_then(|g| g.iter().position(|&d| d == 0)) {
        return Err(err(format!("the input shape given for it has 0 in dimension {i}")));
    }
    let mut dims = [0usize; 4];
    let mut batch = Batch::Fixed { by: format!("graph input {name:?}") };
    for (i, (d, slot)) in shape.dim.iter().zip(dims.iter_mut()).enumerate() {
        let want = given.and_then(|g| g.get(i).copied());
        let symbol = match &d.value {
            Some(DimValue::DimValue(v)) if *v > 0 => {
                let v = to_usize(*v);
                if let Some(w) = want.filter(|&w| w != v) {
                    return Err(err(format!(
                        "dimension {i} is {v} in the model, but the input shape given for it says {w}"
                    )));
                }
                *slot = v;
                continue;
            }
            Some(DimValue::DimValue(v)) => {
                return Err(err(format!("dimension {i} is {v}; sepconv needs positive sizes")));
            }
            Some(DimValue::DimParam(p)) => p.clone(),
            None => String::new(),
        };
        let shown = if symbol.is_empty() { "unknown".to_string() } else { format!("symbolic ({symbol:?})") };
        *slot = match (want, i) {
            (Some(w), _) => w,
            (None, 0) => 1,
            (None, _) => {
                return Err(err(format!(
                    "dimension {i} is {shown}; give the input's size (ImportOptions::input_shape, \
                     `sepconv run --input-shape N,C,H,W`)"
                )));
            }
        };
        if i == 0 {
            batch = Batch::Symbolic { name: symbol };
        }
    }
    let [n, c, h, w] = dims;
    Ok((Shape4::from_nchw_dims(n, c, h, w), batch))
}

/// Whether the graph output declares a number (not a symbol) as its dimension 0, the batch.
fn declares_static_batch(output: &ValueInfoProto) -> bool {
    let Some(TypeValue::TensorType(t)) = output.r#type.as_ref().and_then(|t| t.value.as_ref()) else {
        return false;
    };
    let first = t.shape.as_ref().and_then(|s| s.dim.first());
    matches!(first.and_then(|d| d.value.as_ref()), Some(DimValue::DimValue(_)))
}

/// Checks the graph output's declared element type and static dims against the computed value.
fn check_declared(output: &ValueInfoProto, value: &Value) -> std::result::Result<(), String> {
    let Some(TypeValue::TensorType(t)) = output.r#type.as_ref().and_then(|t| t.value.as_ref()) else {
        return Ok(());
    };
    if let Some(code) = t.elem_type
        && code != DataType::Float as i32
    {
        return Err(format!("element type {} is declared; sepconv computes FLOAT", tensor::type_name(code)));
    }
    let Some(shape) = &t.shape else { return Ok(()) };
    let computed = onnx_dims(value);
    let agrees = shape.dim.len() == computed.len()
        && shape.dim.iter().zip(&computed).all(|(d, &c)| match d.value {
            Some(DimValue::DimValue(v)) => usize::try_from(v).is_ok_and(|v| v == c),
            _ => true,
        });
    if agrees {
        Ok(())
    } else {
        let declared: Vec<String> = shape
            .dim
            .iter()
            .map(|d| match &d.value {
                Some(DimValue::DimValue(v)) => v.to_string(),
                Some(DimValue::DimParam(p)) => p.clone(),
                None => "?".into(),
            })
            .collect();
        Err(format!("is declared as [{}], but the graph computes {computed:?}", declared.join(", ")))
    }
}
