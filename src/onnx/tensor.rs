//! Reading constant tensors (initializers, `Constant` values): shapes and data, from
//! `raw_data` (little-endian) or the typed repeated fields.

use super::proto::TensorProto;
use super::proto::tensor_proto::{DataLocation, DataType};

/// Why a tensor could not be read; the caller adds the node and tensor names.
pub(super) enum TensorIssue {
    /// `data_location = EXTERNAL`.
    External,
    /// Anything else.
    Invalid(String),
}

/// The name of an ONNX data type code, for messages.
pub(super) fn type_name(code: i32) -> String {
    match DataType::try_from(code) {
        Ok(t) => t.as_str_name().to_string(),
        Err(_) => format!("unknown ({code})"),
    }
}

/// The tensor's dimensions, each at least 0.
pub(super) fn dims(t: &TensorProto) -> Result<Vec<usize>, TensorIssue> {
    t.dims
        .iter()
        .enumerate()
        .map(|(i, &d)| usize::try_from(d).map_err(|_| TensorIssue::Invalid(format!("dimension {i} is {d}"))))
        .collect()
}

/// Checks location, segmentation and type; returns the element count.
fn check(t: &TensorProto, expected: DataType) -> Result<usize, TensorIssue> {
    if t.data_location == Some(DataLocation::External as i32) || !t.external_data.is_empty() {
        return Err(TensorIssue::External);
    }
    if t.segment.is_some() {
        return Err(TensorIssue::Invalid("segmented tensors are not supported".into()));
    }
    let code = t.data_type.unwrap_or(DataType::Undefined as i32);
    if code != expected as i32 {
        return Err(TensorIssue::Invalid(format!(
            "data type {} is not supported here; expected {}",
            type_name(code),
            expected.as_str_name()
        )));
    }
    let dims = dims(t)?;
    dims.iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| TensorIssue::Invalid(format!("the element count of shape {dims:?} overflows")))
}

/// Decodes `raw_data` of `count` elements of `N` bytes each, or takes the typed field.
fn decode<T: Clone, const N: usize>(
    t: &TensorProto,
    count: usize,
    typed: &[T],
    typed_field: &str,
    from_le: fn([u8; N]) -> T,
) -> Result<Vec<T>, TensorIssue> {
    match &t.raw_data {
        Some(raw) => {
            if !typed.is_empty() {
                return Err(TensorIssue::Invalid(format!("has both raw_data and {typed_field}")));
            }
            let expected = count.checked_mul(N);
            if expected != Some(raw.len()) {
                return Err(TensorIssue::Invalid(format!(
                    "raw_data has {} bytes, but {count} elements of {N} bytes need {}",
                    raw.len(),
                    count.saturating_mul(N)
                )));
            }
            let (chunks, _) = raw.as_chunks::<N>();
            Ok(chunks.iter().map(|&c| from_le(c)).collect())
        }
        None => {
            if typed.len() != count {
                return Err(TensorIssue::Invalid(format!(
                    "{typed_field} has {} values, but its shape {:?} needs {count}",
                    typed.len(),
                    t.dims
                )));
            }
            Ok(typed.to_vec())
        }
    }
}

/// The data of a `FLOAT` tensor.
pub(super) fn read_f32(t: &TensorProto) -> Result<Vec<f32>, TensorIssue> {
    let count = check(t, DataType::Float)?;
    decode(t, count, &t.float_data, "float_data", f32::from_le_bytes)
}

/// The data of an `INT64` tensor.
pub(super) fn read_i64(t: &TensorProto) -> Result<Vec<i64>, TensorIssue> {
    let count = check(t, DataType::Int64)?;
    decode(t, count, &t.int64_data, "int64_data", i64::from_le_bytes)
}

/// The data of an `INT32` tensor.
pub(super) fn read_i32(t: &TensorProto) -> Result<Vec<i32>, TensorIssue> {
    let count = check(t, DataType::Int32)?;
    decode(t, count, &t.int32_data, "int32_data", i32::from_le_bytes)
}

/// The data of a `BOOL` tensor (one byte each in `raw_data`, or `int32_data`).
pub(super) fn read_bool(t: &TensorProto) -> Result<Vec<bool>, TensorIssue> {
    let count = check(t, DataType::Bool)?;
    let ints = decode(t, count, &t.int32_data, "int32_data", |[b]: [u8; 1]| i32::from(b))?;
    Ok(ints.into_iter().map(|v| v != 0).collect())
}
