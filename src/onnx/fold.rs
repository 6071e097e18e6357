//! Constant folding at import time: the shape arithmetic exporters write before a Reshape or
//! Flatten (`Shape -> Gather -> Unsqueeze -> Concat -> Reshape`, `Mul` of gathered dims, `Cast`,
//! `Slice`, `ConstantOfShape`, ...) computed once on constant tensors, so that the graph keeps
//! only the ops that touch activations.
//!
//! A [`ConstTensor`] remembers which of its integers *are* the model's symbolic batch (they come
//! from dimension 0 of a `Shape` of an activation): a Reshape whose target starts with such an
//! element keeps the batch open, while arithmetic on one fixes the batch (the importer decides;
//! see `Importer::reshape` and `Importer::fold`).

use super::proto::TensorProto;
use super::proto::tensor_proto::DataType;
use super::tensor::{self, TensorIssue};

/// Elements a folded tensor may have: folding is for shape vectors and small constants, and
/// a model asking for more (e.g. `ConstantOfShape` of a huge shape) is refused, not allocated.
pub(super) const MAX_ELEMENTS: usize = 1 << 20;

/// The numbers of a constant tensor.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum ConstData {
    /// `INT64` (and `INT32`, widened: `Cast` back to `INT32` keeps the values).
    I64(Vec<i64>),
    /// `FLOAT`.
    F32(Vec<f32>),
}

/// A constant tensor being folded: dims (row-major), data, and for integer tensors which
/// elements are the symbolic batch (`batch[i]`; empty = none).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct ConstTensor {
    /// Dimensions (empty for a scalar).
    pub dims: Vec<usize>,
    /// The elements, `dims.iter().product()` of them.
    pub data: ConstData,
    /// Per element: is it the symbolic batch? Empty when no element is.
    pub batch: Vec<bool>,
}

/// Element count of `dims`, refused past [`MAX_ELEMENTS`].
fn count(dims: &[usize]) -> Result<usize, String> {
    dims.iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|&n| n <= MAX_ELEMENTS)
        .ok_or_else(|| format!("a constant of shape {dims:?} is too large to fold (limit {MAX_ELEMENTS})"))
}

/// Resolves a possibly negative axis against `rank` (`-rank..rank`).
fn axis_of(axis: i64, rank: usize) -> Result<usize, String> {
    let r = i64::try_from(rank).map_err(|_| "rank overflows".to_string())?;
    let a = if axis < 0 { axis.saturating_add(r) } else { axis };
    usize::try_from(a)
        .ok()
        .filter(|&a| a < rank)
        .ok_or_else(|| format!("axis {axis} is out of range for rank {rank}"))
}

/// Row-major strides of `dims`.
fn strides(dims: &[usize]) -> Vec<usize> {
    let mut s = vec![0; dims.len()];
    let mut acc = 1usize;
    for (slot, &d) in s.iter_mut().zip(dims).rev() {
        *slot = acc;
        acc = acc.saturating_mul(d);
    }
    s
}

/// Every multi-index of `dims` in row-major order, as the flat offset `Σ idx[k]·step[k] + base`
/// (with `step[k] = 0` a broadcast axis). `dims` has at most [`MAX_ELEMENTS`] elements.
fn offsets(dims: &[usize], base: i64, step: &[i64]) -> Vec<i64> {
    let total: usize = dims.iter().product();
    let mut out = Vec::with_capacity(total);
    let mut idx = vec![0usize; dims.len()];
    for _ in 0..total {
        out.push(idx.iter().zip(step).fold(base, |acc, (&i, &s)| acc + i as i64 * s));
        for (i, &d) in idx.iter_mut().zip(dims).rev() {
            *i += 1;
            if *i < d {
                break;
            }
            *i = 0;
        }
    }
    out
}

/// `dims[..axis]`, `dims[axis]` and `dims[axis + 1..]` for a valid `axis`.
fn around(dims: &[usize], axis: usize) -> Result<(&[usize], usize, &[usize]), String> {
    match dims.split_at_checked(axis) {
        Some((before, [d, after @ ..])) => Ok((before, *d, after)),
        _ => Err(format!("axis {axis} is out of range for rank {}", dims.len())),
    }
}

impl ConstTensor {
    /// A tensor of `INT64` values, none of them the batch.
    pub fn ints(dims: Vec<usize>, values: Vec<i64>) -> Self {
        ConstTensor { dims, data: ConstData::I64(values), batch: Vec::new() }
    }

    /// A tensor of `FLOAT` values.
    pub fn floats(dims: Vec<usize>, values: Vec<f32>) -> Self {
        ConstTensor { dims, data: ConstData::F32(values), batch: Vec::new() }
    }

    /// Reads an initializer or `Constant` value (`INT64`, `INT32` or `FLOAT`).
    pub fn read(t: &TensorProto) -> Result<Self, TensorIssue> {
        let dims = tensor::dims(t)?;
        count(&dims).map_err(TensorIssue::Invalid)?;
        let data = match DataType::try_from(t.data_type.unwrap_or(0)) {
            Ok(DataType::Int32) => ConstData::I64(tensor::read_i32(t)?.into_iter().map(i64::from).collect()),
            Ok(DataType::Float) => ConstData::F32(tensor::read_f32(t)?),
            _ => ConstData::I64(tensor::read_i64(t)?),
        };
        Ok(ConstTensor { dims, data, batch: Vec::new() })
    }

    /// The tensor as an ONNX `TensorProto` (typed fields, not `raw_data`).
    pub fn to_proto(&self, name: &str) -> TensorProto {
        let mut t = TensorProto {
            name: Some(name.to_string()),
            dims: self.dims.iter().map(|&d| i64::try_from(d).unwrap_or(i64::MAX)).collect(),
            ..TensorProto::default()
        };
        match &self.data {
            ConstData::I64(v) => {
                t.data_type = Some(DataType::Int64 as i32);
                t.int64_data.clone_from(v);
            }
            ConstData::F32(v) => {
                t.data_type = Some(DataType::Float as i32);
                t.float_data.clone_from(v);
            }
        }
        t
    }

    /// Whether element `i` is the batch.
    pub fn is_batch(&self, i: usize) -> bool {
        self.batch.get(i).copied().unwrap_or(false)
    }

    /// Whether any element is the batch.
    pub fn has_batch(&self) -> bool {
        self.batch.iter().any(|&b| b)
    }

    /// The integers (an `INT64`/`INT32` tensor), else an error naming `what`.
    pub fn as_ints(&self, what: &str) -> Result<&[i64], String> {
        match &self.data {
            ConstData::I64(v) => Ok(v),
            ConstData::F32(_) => Err(format!("{what} must be an integer tensor, not FLOAT")),
        }
    }

    /// The elements at flat offsets `picks`, with dims `dims`.
    fn pick(&self, dims: Vec<usize>, picks: &[i64]) -> Result<Self, String> {
        fn take<T: Copy>(v: &[T], picks: &[i64]) -> Result<Vec<T>, String> {
            picks
                .iter()
                .map(|&i| usize::try_from(i).ok().and_then(|i| v.get(i).copied()))
                .collect::<Option<_>>()
                .ok_or_else(|| "an index falls outside the tensor".to_string())
        }
        let data = match &self.data {
            ConstData::I64(v) => ConstData::I64(take(v, picks)?),
            ConstData::F32(v) => ConstData::F32(take(v, picks)?),
        };
        let batch = if self.has_batch() {
            picks.iter().map(|&i| usize::try_from(i).is_ok_and(|i| self.is_batch(i))).collect()
        } else {
            Vec::new()
        };
        Ok(ConstTensor { dims, data, batch })
    }

    /// The same elements under other dims (same count).
    fn reshaped(mut self, dims: Vec<usize>) -> Self {
        self.dims = dims;
        self
    }

    /// ONNX `Gather` along `axis` with integer `indices` (negative ones count from the end).
    pub fn gather(&self, indices: &ConstTensor, axis: i64) -> Result<Self, String> {
        let axis = axis_of(axis, self.dims.len())?;
        let (before, extent, after) = around(&self.dims, axis)?;
        let ext = i64::try_from(extent).map_err(|_| "extent overflows".to_string())?;
        let idx: Vec<i64> = indices
            .as_ints("Gather indices")?
            .iter()
            .map(|&i| {
                let j = if i < 0 { i.saturating_add(ext) } else { i };
                if (0..ext).contains(&j) {
                    Ok(j)
                } else {
                    Err(format!("index {i} is out of range for axis {axis} of extent {extent}"))
                }
            })
            .collect::<Result<_, _>>()?;
        let mut dims = before.to_vec();
        dims.extend(&indices.dims);
        dims.extend(after);
        count(&dims)?;
        let inner = i64::try_from(after.iter().product::<usize>()).map_err(|_| "size overflows")?;
        let mut picks = Vec::new();
        for o in 0..before.iter().product::<usize>() as i64 {
            for &j in &idx {
                picks.extend((0..inner).map(|k| (o * ext + j) * inner + k));
            }
        }
        self.pick(dims, &picks)
    }

    /// ONNX `Unsqueeze`: inserts 1s at `axes` (of the output rank).
    pub fn unsqueeze(self, axes: &[i64]) -> Result<Self, String> {
        let rank = self.dims.len() + axes.len();
        let mut at = axes.iter().map(|&a| axis_of(a, rank)).collect::<Result<Vec<_>, _>>()?;
        at.sort_unstable();
        at.dedup();
        if at.len() != axes.len() {
            return Err(format!("axes {axes:?} repeat an axis"));
        }
        let mut dims = self.dims.clone();
        for a in at {
            dims.insert(a.min(dims.len()), 1);
        }
        Ok(self.reshaped(dims))
    }

    /// ONNX `Squeeze`: removes the 1s at `axes`, or every 1 without axes.
    pub fn squeeze(self, axes: Option<&[i64]>) -> Result<Self, String> {
        let rank = self.dims.len();
        let drop: Vec<usize> = match axes {
            Some(axes) => axes.iter().map(|&a| axis_of(a, rank)).collect::<Result<_, _>>()?,
            None => self.dims.iter().enumerate().filter(|&(_, &d)| d == 1).map(|(i, _)| i).collect(),
        };
        let mut dims = Vec::with_capacity(rank);
        for (i, &d) in self.dims.iter().enumerate() {
            match (drop.contains(&i), d) {
                (false, _) => dims.push(d),
                (true, 1) => {}
                (true, _) => return Err(format!("axis {i} has extent {d}, not 1")),
            }
        }
        Ok(self.reshaped(dims))
    }

    /// ONNX `Concat` of constants along `axis` (same type and rank, equal other dims).
    pub fn concat(parts: &[ConstTensor], axis: i64) -> Result<Self, String> {
        let first = parts.first().ok_or("Concat needs at least one input")?;
        let rank = first.dims.len();
        let axis = axis_of(axis, rank)?;
        let (before, _, after) = around(&first.dims, axis)?;
        let mut total_axis = 0usize;
        for p in parts {
            let same_type = matches!(
                (&p.data, &first.data),
                (ConstData::I64(_), ConstData::I64(_)) | (ConstData::F32(_), ConstData::F32(_))
            );
            match around(&p.dims, axis) {
                Ok((b, d, a)) if same_type && b == before && a == after => total_axis += d,
                _ => {
                    return Err(format!(
                        "inputs of shapes {:?} and {:?} do not concatenate",
                        first.dims, p.dims
                    ));
                }
            }
        }
        let mut dims = before.to_vec();
        dims.push(total_axis);
        dims.extend(after);
        count(&dims)?;
        let inner: usize = after.iter().product();
        let mut out = ConstTensor {
            dims,
            data: match first.data {
                ConstData::I64(_) => ConstData::I64(Vec::new()),
                ConstData::F32(_) => ConstData::F32(Vec::new()),
            },
            batch: Vec::new(),
        };
        let any_batch = parts.iter().any(ConstTensor::has_batch);
        for o in 0..before.iter().product::<usize>() {
            for p in parts {
                let run = p.dims.get(axis).copied().unwrap_or(0) * inner;
                let range = o * run..(o + 1) * run;
                let ok = match (&mut out.data, &p.data) {
                    (ConstData::I64(d), ConstData::I64(s)) => {
                        s.get(range.clone()).map(|s| d.extend_from_slice(s))
                    }
                    (ConstData::F32(d), ConstData::F32(s)) => {
                        s.get(range.clone()).map(|s| d.extend_from_slice(s))
                    }
                    _ => None,
                };
                ok.ok_or("the inputs do not concatenate")?;
                if any_batch {
                    out.batch.extend(range.map(|i| p.is_batch(i)));
                }
            }
        }
        Ok(out)
    }

    /// ONNX `Slice` with `starts`, `ends`, optional `axes` (default all) and `steps` (default 1),
    /// clamped as ONNX specifies.
    pub fn slice(
        &self,
        starts: &[i64],
        ends: &[i64],
        axes: Option<&[i64]>,
        steps: Option<&[i64]>,
    ) -> Result<Self, String> {
        let rank = self.dims.len();
        let n = starts.len();
        if ends.len() != n || axes.is_some_and(|a| a.len() != n) || steps.is_some_and(|s| s.len() != n) {
            return Err("starts, ends, axes and steps must have the same length".into());
        }
        // Per axis: (first index, step, count).
        let mut sel: Vec<(i64, i64, usize)> = self.dims.iter().map(|&d| (0, 1, d)).collect();
        for (k, (&start, &end)) in starts.iter().zip(ends).enumerate() {
            let axis = axis_of(axes.and_then(|a| a.get(k).copied()).unwrap_or(k as i64), rank)?;
            let step = steps.and_then(|s| s.get(k).copied()).unwrap_or(1);
            let (_, extent, _) = around(&self.dims, axis)?;
            let d = i64::try_from(extent).map_err(|_| "extent overflows")?;
            if d == 0 || step == 0 {
                if step == 0 {
                    return Err("a step is 0".into());
                }
                continue; // an empty axis stays empty
            }
            let norm = |v: i64| if v < 0 { v.saturating_add(d) } else { v };
            // ceil(n / |step|) without overflow, for any step (i64::MIN included).
            let ceil_div =
                |n: i64| if n <= 0 { 0 } else { ((n.unsigned_abs() - 1) / step.unsigned_abs() + 1) as i64 };
            let len = if step > 0 {
                ceil_div(norm(end).clamp(0, d) - norm(start).clamp(0, d))
            } else {
                ceil_div(norm(start).clamp(0, d - 1) - norm(end).clamp(-1, d - 1))
            };
            let first = if step > 0 { norm(start).clamp(0, d) } else { norm(start).clamp(0, d - 1) };
            if let Some(slot) = sel.get_mut(axis) {
                *slot = (first, step, usize::try_from(len).unwrap_or(0));
            }
        }
        let dims: Vec<usize> = sel.iter().map(|s| s.2).collect();
        count(&dims)?;
        let src = strides(&self.dims);
        let base: i64 = sel.iter().zip(&src).map(|(s, &st)| s.0 * st as i64).sum();
        // A step past the extent selects one element: saturating keeps its product finite.
        let step: Vec<i64> = sel.iter().zip(&src).map(|(s, &st)| s.1.saturating_mul(st as i64)).collect();
        self.pick(dims.clone(), &offsets(&dims, base, &step))
    }

    /// ONNX `Cast` to `INT64`, `INT32` or `FLOAT` (float to integer truncates toward zero).
    pub fn cast(self, to: i64) -> Result<Self, String> {
        let code = i32::try_from(to).unwrap_or(-1);
        let data = match (DataType::try_from(code), self.data) {
            (Ok(DataType::Int64 | DataType::Int32), ConstData::I64(v)) => ConstData::I64(v),
            (Ok(DataType::Int64 | DataType::Int32), ConstData::F32(v)) => {
                ConstData::I64(v.into_iter().map(|x| x as i64).collect())
            }
            (Ok(DataType::Float), ConstData::F32(v)) => ConstData::F32(v),
            (Ok(DataType::Float), ConstData::I64(v)) => {
                ConstData::F32(v.into_iter().map(|x| x as f32).collect())
            }
            _ => return Err(format!("Cast to {} is not supported on constants", tensor::type_name(code))),
        };
        Ok(ConstTensor { dims: self.dims, data, batch: self.batch })
    }

    /// ONNX `ConstantOfShape`: a tensor of shape `self` (integers) filled with `value`'s one
    /// element (default a `FLOAT` 0).
    pub fn constant_of_shape(&self, value: Option<&ConstTensor>) -> Result<Self, String> {
        let dims = self
            .as_ints("the shape")?
            .iter()
            .map(|&d| usize::try_from(d).map_err(|_| format!("dimension {d} is negative")))
            .collect::<Result<Vec<_>, _>>()?;
        let n = count(&dims)?;
        let data = match value.map(|v| &v.data) {
            None => ConstData::F32(vec![0.0; n]),
            Some(ConstData::F32(v)) if v.len() == 1 => ConstData::F32(v.repeat(n)),
            Some(ConstData::I64(v)) if v.len() == 1 => ConstData::I64(v.repeat(n)),
            Some(_) => return Err("the value attribute must hold one element".into()),
        };
        Ok(ConstTensor { dims, data, batch: Vec::new() })
    }

    /// ONNX `Add`, `Sub`, `Mul` or `Div` (`op`) of two constants of one type, with numpy
    /// broadcasting. Integer division truncates; overflow and dividing by 0 are errors.
    pub fn binary(op: &str, a: &ConstTensor, b: &ConstTensor) -> Result<Self, String> {
        let rank = a.dims.len().max(b.dims.len());
        let pad = |d: &[usize]| {
            let mut v = vec![1; rank - d.len()];
            v.extend_from_slice(d);
            v
        };
        let (da, db) = (pad(&a.dims), pad(&b.dims));
        let dims = da
            .iter()
            .zip(&db)
            .map(|(&x, &y)| match (x, y) {
                (x, y) if x == y => Ok(x),
                (1, y) => Ok(y),
                (x, 1) => Ok(x),
                _ => Err(format!("shapes {:?} and {:?} do not broadcast", a.dims, b.dims)),
            })
            .collect::<Result<Vec<_>, _>>()?;
        count(&dims)?;
        // Broadcast axes step 0.
        let step = |d: &[usize]| -> Vec<i64> {
            strides(d).iter().zip(d).map(|(&s, &e)| if e == 1 { 0 } else { s as i64 }).collect()
        };
        let (ia, ib) = (offsets(&dims, 0, &step(&da)), offsets(&dims, 0, &step(&db)));
        let (a, b) = (a.pick(dims.clone(), &ia)?, b.pick(dims.clone(), &ib)?);
        let data = match (a.data, b.data) {
            (ConstData::I64(x), ConstData::I64(y)) => ConstData::I64(
                x.iter()
                    .zip(&y)
                    .map(|(&p, &q)| {
                        match op {
                            "Add" => p.checked_add(q),
                            "Sub" => p.checked_sub(q),
                            "Mul" => p.checked_mul(q),
                            _ => p.checked_div(q),
                        }
                        .ok_or_else(|| format!("{op} of {p} and {q} overflows or divides by 0"))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            (ConstData::F32(x), ConstData::F32(y)) => ConstData::F32(
                x.iter()
                    .zip(&y)
                    .map(|(&p, &q)| match op {
                        "Add" => p + q,
                        "Sub" => p - q,
                        "Mul" => p * q,
                        _ => p / q,
                    })
                    .collect(),
            ),
            _ => return Err("the two inputs have different types".into()),
        };
        Ok(ConstTensor { dims, data, batch: Vec::new() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(dims: &[usize], v: &[i64]) -> ConstTensor {
        ConstTensor::ints(dims.to_vec(), v.to_vec())
    }

    fn shape_with_batch() -> ConstTensor {
        ConstTensor { batch: vec![true, false, false, false], ..ints(&[4], &[2, 8, 5, 7]) }
    }

    #[test]
    fn gather_takes_elements_and_keeps_batch_marks() {
        let s = shape_with_batch();
        let n = s.gather(&ints(&[], &[0]), 0).unwrap();
        assert_eq!((n.dims.clone(), n.data.clone(), n.has_batch()), (vec![], ConstData::I64(vec![2]), true));
        let hw = s.gather(&ints(&[2], &[-2, 3]), 0).unwrap();
        assert_eq!(
            (hw.dims.clone(), hw.data.clone(), hw.has_batch()),
            (vec![2], ConstData::I64(vec![5, 7]), false)
        );
        // A 2-D gather along axis 1: [[0, 1, 2], [3, 4, 5]] columns 2, 0.
        let m = ints(&[2, 3], &[0, 1, 2, 3, 4, 5]);
        let g = m.gather(&ints(&[2], &[2, 0]), 1).unwrap();
        assert_eq!((g.dims, g.data), (vec![2, 2], ConstData::I64(vec![2, 0, 5, 3])));
        assert!(s.gather(&ints(&[], &[4]), 0).unwrap_err().contains("out of range"));
        assert!(s.gather(&ints(&[], &[-5]), 0).is_err());
        assert!(s.gather(&ints(&[], &[0]), 1).unwrap_err().contains("axis 1"));
    }

    #[test]
    fn unsqueeze_squeeze_and_concat() {
        let n = shape_with_batch().gather(&ints(&[], &[0]), 0).unwrap();
        let n1 = n.unsqueeze(&[0]).unwrap();
        assert_eq!(n1.dims, [1]);
        let target = ConstTensor::concat(&[n1.clone(), ints(&[1], &[-1])], 0).unwrap();
        assert_eq!(
            (target.data.clone(), target.batch.clone()),
            (ConstData::I64(vec![2, -1]), vec![true, false])
        );
        assert_eq!(n1.clone().unsqueeze(&[-1, 0]).unwrap().dims, [1, 1, 1]);
        assert!(n1.clone().unsqueeze(&[0, 0]).is_err());
        assert_eq!(ints(&[1, 3, 1], &[1, 2, 3]).squeeze(None).unwrap().dims, [3]);
        assert_eq!(ints(&[1, 3, 1], &[1, 2, 3]).squeeze(Some(&[-1])).unwrap().dims, [1, 3]);
        assert!(ints(&[1, 3, 1], &[1, 2, 3]).squeeze(Some(&[1])).unwrap_err().contains("extent 3"));
        // Concat along axis 1 of 2-D: [[1], [2]] ++ [[3, 4], [5, 6]].
        let c = ConstTensor::concat(&[ints(&[2, 1], &[1, 2]), ints(&[2, 2], &[3, 4, 5, 6])], 1).unwrap();
        assert_eq!((c.dims, c.data), (vec![2, 3], ConstData::I64(vec![1, 3, 4, 2, 5, 6])));
        assert!(ConstTensor::concat(&[ints(&[2], &[1, 2]), ints(&[2, 1], &[3, 4])], 0).is_err());
        let f = ConstTensor::floats(vec![1], vec![1.0]);
        assert!(ConstTensor::concat(&[ints(&[1], &[1]), f], 0).is_err());
    }

    #[test]
    fn slice_clamps_and_steps_as_onnx() {
        let s = shape_with_batch();
        let tail = s.slice(&[1], &[i64::MAX], None, None).unwrap();
        assert_eq!((tail.has_batch(), tail.data), (false, ConstData::I64(vec![8, 5, 7])));
        let rev = s.slice(&[-1], &[i64::MIN], Some(&[0]), Some(&[-2])).unwrap();
        assert_eq!((rev.data, rev.batch), (ConstData::I64(vec![7, 8]), vec![false, false]));
        let empty = s.slice(&[3], &[1], None, None).unwrap();
        assert_eq!(empty.dims, [0]);
        // 2-D: rows 0..2, columns 1.. of a 3×3.
        let m = ints(&[3, 3], &[0, 1, 2, 3, 4, 5, 6, 7, 8]);
        let sub = m.slice(&[0, 1], &[2, 3], Some(&[0, 1]), None).unwrap();
        assert_eq!((sub.dims, sub.data), (vec![2, 2], ConstData::I64(vec![1, 2, 4, 5])));
        assert!(s.slice(&[0], &[1], None, Some(&[0])).unwrap_err().contains("step is 0"));
        let first = s.slice(&[0], &[i64::MAX], None, Some(&[i64::MAX])).unwrap();
        assert_eq!(first.data, ConstData::I64(vec![2]));
        let last = s.slice(&[-1], &[i64::MIN], None, Some(&[i64::MIN])).unwrap();
        assert_eq!(last.data, ConstData::I64(vec![7]));
        assert!(s.slice(&[0, 0], &[1], None, None).is_err());
        assert!(s.slice(&[0], &[1], Some(&[1]), None).is_err());
    }

    #[test]
    fn arithmetic_broadcasts_and_refuses_overflow() {
        let p = ConstTensor::binary("Mul", &ints(&[], &[8]), &ints(&[2], &[5, 7])).unwrap();
        assert_eq!((p.dims, p.data), (vec![2], ConstData::I64(vec![40, 56])));
        let q = ConstTensor::binary("Div", &ints(&[2, 1], &[9, -9]), &ints(&[2], &[2, 4])).unwrap();
        assert_eq!((q.dims, q.data), (vec![2, 2], ConstData::I64(vec![4, 2, -4, -2])));
        assert!(ConstTensor::binary("Div", &ints(&[], &[1]), &ints(&[], &[0])).is_err());
        assert!(ConstTensor::binary("Mul", &ints(&[], &[i64::MAX]), &ints(&[], &[2])).is_err());
        assert!(ConstTensor::binary("Add", &ints(&[2], &[1, 2]), &ints(&[3], &[1, 2, 3])).is_err());
        let f = ConstTensor::binary(
            "Sub",
            &ConstTensor::floats(vec![1], vec![1.5]),
            &ConstTensor::floats(vec![], vec![0.5]),
        );
        assert_eq!(f.unwrap().data, ConstData::F32(vec![1.0]));
    }

    #[test]
    fn cast_and_constant_of_shape() {
        let f = ConstTensor::floats(vec![2], vec![2.9, -2.9]).cast(DataType::Int64 as i64).unwrap();
        assert_eq!(f.data, ConstData::I64(vec![2, -2]));
        assert_eq!(f.cast(DataType::Float as i64).unwrap().data, ConstData::F32(vec![2.0, -2.0]));
        assert!(ints(&[1], &[1]).cast(DataType::Double as i64).is_err());
        let z = ints(&[2], &[2, 3]).constant_of_shape(None).unwrap();
        assert_eq!((z.dims, z.data), (vec![2, 3], ConstData::F32(vec![0.0; 6])));
        let sevens = ints(&[1], &[3]).constant_of_shape(Some(&ints(&[1], &[7]))).unwrap();
        assert_eq!(sevens.data, ConstData::I64(vec![7; 3]));
        assert!(ints(&[2], &[1 << 20, 1 << 20]).constant_of_shape(None).unwrap_err().contains("too large"));
        assert!(ints(&[1], &[-1]).constant_of_shape(None).is_err());
    }

    #[test]
    fn protos_round_trip() {
        for c in [ints(&[2, 2], &[1, -2, 3, 4]), ConstTensor::floats(vec![3], vec![0.5, -1.0, 2.0])] {
            let back = ConstTensor::read(&c.to_proto("t")).ok().unwrap();
            assert_eq!(back, c);
        }
    }
}
