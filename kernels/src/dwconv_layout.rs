//! The packed layout shared by the SIMD tiers' depthwise kernels (portable, x86_64, aarch64):
//! channel tiles of 8, each `[bias × 8][tap 0 × 8][tap 1 × 8]…` with the taps in row-major
//! `(ky, kx)` order, zero-padded at the channel remainder (and a zero bias without one).
//! Length `ceil(C / 8) · 8 · (1 + kh·kw)`.
//!
//! The same layout with tiles of `lanes` channels (the AVX-512 tier uses 16) comes from the
//! `*_lanes` functions; the 8-lane functions are those with `lanes = CT`.

use crate::reference::check_depthwise;
use crate::{
    Conv2dGeometry, KernelError,
    error::{check_len, checked_product},
};

/// Channels per packed tile.
pub(crate) const CT: usize = 8;

/// Floats per packed channel tile: `8 · (1 + kh·kw)`.
pub(crate) fn tile_len(g: &Conv2dGeometry) -> Result<usize, KernelError> {
    tile_len_lanes(g, CT)
}

/// Floats per packed channel tile of `lanes` channels: `lanes · (1 + kh·kw)`.
pub(crate) fn tile_len_lanes(g: &Conv2dGeometry, lanes: usize) -> Result<usize, KernelError> {
    let taps = checked_product("packed length", &[g.kernel_h, g.kernel_w])?;
    let per_lane = taps.checked_add(1).ok_or(KernelError::Overflow { what: "packed length" })?;
    checked_product("packed length", &[per_lane, lanes])
}

/// Length of the packed depthwise weights: `ceil(C / 8) · 8 · (1 + kh·kw)`.
///
/// Errors: an invalid or non-depthwise geometry, or overflow.
pub(crate) fn packed_len(g: &Conv2dGeometry) -> Result<usize, KernelError> {
    packed_len_lanes(g, CT)
}

/// Length of the packed depthwise weights in tiles of `lanes` (> 0) channels:
/// `ceil(C / lanes) · lanes · (1 + kh·kw)`.
///
/// Errors: an invalid or non-depthwise geometry, or overflow.
pub(crate) fn packed_len_lanes(g: &Conv2dGeometry, lanes: usize) -> Result<usize, KernelError> {
    g.validate()?;
    check_depthwise(g)?;
    checked_product("packed length", &[g.in_c.div_ceil(lanes), tile_len_lanes(g, lanes)?])
}

/// Packs depthwise weights `[kh][kw][C]` and an optional bias `[C]` into the tile layout.
///
/// Errors: an invalid or non-depthwise geometry, or `weights`, `bias` or `packed` of the wrong
/// length (`packed` must have [`packed_len`] elements); nothing is written then.
pub(crate) fn pack(
    g: &Conv2dGeometry,
    weights: &[f32],
    bias: Option<&[f32]>,
    packed: &mut [f32],
) -> Result<(), KernelError> {
    pack_lanes(g, CT, weights, bias, packed)
}

/// [`pack`] with tiles of `lanes` (> 0) channels (`packed` must have [`packed_len_lanes`]
/// elements).
pub(crate) fn pack_lanes(
    g: &Conv2dGeometry,
    lanes: usize,
    weights: &[f32],
    bias: Option<&[f32]>,
    packed: &mut [f32],
) -> Result<(), KernelError> {
    let d = g.validate()?;
    check_depthwise(g)?;
    let c = g.in_c;
    check_len("weights", d.weight_len, weights.len())?;
    if let Some(b) = bias {
        check_len("bias", c, b.len())?;
    }
    check_len("packed", packed_len_lanes(g, lanes)?, packed.len())?;
    let taps = g.kernel_h * g.kernel_w;
    for (t, tile) in packed.chunks_exact_mut(lanes * (taps + 1)).enumerate() {
        for lane in 0..lanes {
            let ch = t * lanes + lane;
            let valid = ch < c;
            tile[lane] = match bias {
                Some(b) if valid => b[ch],
                _ => 0.0,
            };
            for tap in 0..taps {
                tile[lanes * (1 + tap) + lane] = if valid { weights[tap * c + ch] } else { 0.0 };
            }
        }
    }
    Ok(())
}
