//! Reference global average pooling.

use crate::{
    KernelError,
    error::{check_len, check_nonzero, checked_product},
};

/// Shape of a global average pool: `[batch][pixels][channels] -> [batch][channels]`, where
/// `pixels = H·W` of an NHWC tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GlobalPoolShape {
    /// Batch size N.
    pub batch: usize,
    /// Spatial positions per image: `H·W`.
    pub pixels: usize,
    /// Channels C.
    pub channels: usize,
}

/// Global average pool, NHWC: `output[n][c] = (Σ_p input[n][p][c]) / pixels`.
///
/// - `input`: `[batch][pixels][channels]`; `output`: `[batch][channels]`.
pub fn global_avg_pool(s: &GlobalPoolShape, input: &[f32], output: &mut [f32]) -> Result<(), KernelError> {
    check_nonzero("batch", s.batch)?;
    check_nonzero("pixels", s.pixels)?;
    check_nonzero("channels", s.channels)?;
    check_len("input", checked_product("input length", &[s.batch, s.pixels, s.channels])?, input.len())?;
    check_len("output", checked_product("output length", &[s.batch, s.channels])?, output.len())?;
    for n in 0..s.batch {
        for c in 0..s.channels {
            let sum: f64 = (0..s.pixels).map(|p| f64::from(input[(n * s.pixels + p) * s.channels + c])).sum();
            output[n * s.channels + c] = (sum / s.pixels as f64) as f32;
        }
    }
    Ok(())
}
