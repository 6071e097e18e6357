//! Reference dense (fully connected) layer.

use super::direct::{Direct, Lens};
use crate::{
    KernelError,
    error::{check_nonzero, checked_product},
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

oracles! {
    /// Dense layer: `output[n][o] = act(bias[o] + Σ_i input[n][i] · weights[o][i])`.
    ///
    /// - `input`: `[batch][in_features]`; `weights`: `[out_features][in_features]`;
    ///   `bias`: `[out_features]` or `None`; `output`: `[batch][out_features]`.
    pub fn dense(s: &DenseShape) => plan(s);
}

/// Checks `s` and describes it for the direct loop: the GEMM of `pointwise` with
/// `pixels = batch`. A length that overflows is reported when its operand is checked.
fn plan(s: &DenseShape) -> Result<Direct, KernelError> {
    check_nonzero("batch", s.batch)?;
    check_nonzero("in_features", s.in_features)?;
    check_nonzero("out_features", s.out_features)?;
    let lens = Lens {
        input: checked_product("input length", &[s.batch, s.in_features]),
        weights: checked_product("weight length", &[s.out_features, s.in_features]),
        output: checked_product("output length", &[s.batch, s.out_features]),
    };
    Ok(Direct::gemm(s.batch, s.in_features, s.out_features, lens))
}
