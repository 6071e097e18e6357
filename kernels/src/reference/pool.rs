//! Reference pooling: global average, and windowed max and average pools.

use super::direct::Direct;
use crate::{
    Conv2dGeometry, KernelError,
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

impl GlobalPoolShape {
    /// Checks the shape (no zero dimension, no overflowing length), then the lengths of
    /// `input` and `output`: the checks of every tier's `global_avg_pool`, in its order.
    pub(crate) fn check(&self, input: &[f32], output: &[f32]) -> Result<(), KernelError> {
        let Self { batch, pixels, channels } = *self;
        check_nonzero("batch", batch)?;
        check_nonzero("pixels", pixels)?;
        check_nonzero("channels", channels)?;
        check_len("input", checked_product("input length", &[batch, pixels, channels])?, input.len())?;
        check_len("output", checked_product("output length", &[batch, channels])?, output.len())
    }
}

/// Global average pool, NHWC: `output[n][c] = (Σ_p input[n][p][c]) / pixels`.
///
/// - `input`: `[batch][pixels][channels]`; `output`: `[batch][channels]`.
pub fn global_avg_pool(s: &GlobalPoolShape, input: &[f32], output: &mut [f32]) -> Result<(), KernelError> {
    s.check(input, output)?;
    for n in 0..s.batch {
        for c in 0..s.channels {
            let sum: f64 = (0..s.pixels).map(|p| f64::from(input[(n * s.pixels + p) * s.channels + c])).sum();
            output[n * s.channels + c] = (sum / s.pixels as f64) as f32;
        }
    }
    Ok(())
}

/// Checks a pool geometry: it must be "depthwise" (`groups == in_c == out_c`; the window runs
/// per channel), and returns it described as a depthwise convolution, whose windows the pool
/// walks.
fn check_pool(g: &Conv2dGeometry, input: &[f32], output: &[f32]) -> Result<Direct, KernelError> {
    let d = super::dwconv::plan(g)?;
    check_len("input", d.lens.input.clone()?, input.len())?;
    check_len("output", d.lens.output.clone()?, output.len())?;
    Ok(d)
}

/// Max pool, NHWC: the maximum over each (dilated, strided, padded) window of `g`, per channel.
/// Padded positions never win; a window that lies entirely in the padding gives `-inf`. NaN
/// propagates (a NaN in the window gives NaN).
///
/// `g` describes the window like a depthwise convolution: `groups == in_c == out_c == C`,
/// `kernel_h × kernel_w` window. `input`: `[batch][in_h][in_w][C]`; `output`:
/// `[batch][out_h][out_w][C]`.
pub fn max_pool(g: &Conv2dGeometry, input: &[f32], output: &mut [f32]) -> Result<(), KernelError> {
    let d = check_pool(g, input, output)?;
    pool_loop(&d, input, output, |window| {
        window.fold(f32::NEG_INFINITY, |m, x| if x.is_nan() || m.is_nan() { f32::NAN } else { m.max(x) })
    });
    Ok(())
}

/// Average pool, NHWC: the mean over each window of `g`, per channel. With
/// `count_include_pad` the divisor is the whole window (`kernel_h · kernel_w`, padded positions
/// counting as zeros), else only the positions inside the input (a window entirely in the
/// padding gives NaN, 0/0, as ONNX Runtime does).
///
/// Layouts as [`max_pool`].
pub fn avg_pool(
    g: &Conv2dGeometry,
    count_include_pad: bool,
    input: &[f32],
    output: &mut [f32],
) -> Result<(), KernelError> {
    let d = check_pool(g, input, output)?;
    let window_len = (g.kernel_h * g.kernel_w) as f64;
    pool_loop(&d, input, output, |window| {
        let (sum, count) = window.fold((0.0f64, 0usize), |(s, n), x| (s + f64::from(x), n + 1));
        let divisor = if count_include_pad { window_len } else { count as f64 };
        (sum / divisor) as f32
    });
    Ok(())
}

/// Applies `reduce` to the in-bounds values of every window of a checked pool, per channel.
fn pool_loop(
    d: &Direct,
    input: &[f32],
    output: &mut [f32],
    reduce: impl Fn(&mut dyn Iterator<Item = f32>) -> f32,
) {
    d.for_each_output(|o, [n, oy, ox], ch| {
        let mut window = (0..d.h.kernel).filter_map(|ky| d.h.tap(oy, ky)).flat_map(|iy| {
            (0..d.w.kernel)
                .filter_map(move |kx| d.w.tap(ox, kx))
                .map(move |ix| input[d.in_pixel(n, iy, ix) * d.in_c + ch])
        });
        output[o] = reduce(&mut window);
    });
}
