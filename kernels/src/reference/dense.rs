//! Reference dense (fully connected) layer.

use super::{bias_at, check_bias};
use crate::{
    Activation, KernelError,
    error::{check_len, check_nonzero, checked_product},
};

/// Shape of a dense layer: `[batch][in_features] -> [batch][out_features]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DenseShape {
    /// Rows (batch size).
    pub batch: usize,
    /// Input features.
    pub in_features: usize,
    /// Output features.
    pub out_features: usize,
}

/// Dense layer: `output[n][o] = act(bias[o] + Σ_i input[n][i] · weights[o][i])`.
///
/// - `input`: `[batch][in_features]`; `weights`: `[out_features][in_features]`;
///   `bias`: `[out_features]` or `None`; `output`: `[batch][out_features]`.
pub fn dense(
    s: &DenseShape,
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    output: &mut [f32],
) -> Result<(), KernelError> {
    check_nonzero("batch", s.batch)?;
    check_nonzero("in_features", s.in_features)?;
    check_nonzero("out_features", s.out_features)?;
    act.validate()?;
    check_len("input", checked_product("input length", &[s.batch, s.in_features])?, input.len())?;
    check_len("weights", checked_product("weight length", &[s.out_features, s.in_features])?, weights.len())?;
    check_bias(bias, s.out_features)?;
    check_len("output", checked_product("output length", &[s.batch, s.out_features])?, output.len())?;
    for n in 0..s.batch {
        let x = &input[n * s.in_features..(n + 1) * s.in_features];
        for o in 0..s.out_features {
            let w = &weights[o * s.in_features..(o + 1) * s.in_features];
            let acc =
                x.iter().zip(w).fold(bias_at(bias, o), |acc, (&a, &b)| acc + f64::from(a) * f64::from(b));
            output[n * s.out_features + o] = act.apply(acc as f32);
        }
    }
    Ok(())
}
