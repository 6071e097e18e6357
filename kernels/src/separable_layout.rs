//! The packed layout shared by the SIMD tiers' separable passes (`x86_64` with 8 lanes,
//! `aarch64` with 4): per-channel tiles for the per-pixel path and periodic weight patterns for
//! the flat-row path. See the module docs of `x86_64/separable.rs` for how the passes use it.
//!
//! With `L` lanes, `Cp = ceil(C / L)·L` and `S = lcm(L, C) + L`, the packed buffer is:
//! 1. `[Cp]` bias per channel (zeros without a bias, zero padding past `C`);
//! 2. `[k][Cp]` weights per tap and channel (zero padding past `C`);
//! 3. `[S]` bias pattern `bias[j mod C]`, then `[k][S]` weight patterns `w[t][j mod C]`
//!    (`j < S`, so that the `L` floats at any offset below `lcm(L, C)` are inside).
//!
//! Total length `(k + 1)·(Cp + S)`.

use crate::error::{check_len, checked_product};
use crate::{KernelError, SeparableAxis, SeparableDims, SeparablePassGeometry};

/// Offsets of the sections of the packed buffer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Layout {
    /// Channels rounded up to a multiple of the lane count.
    pub cpad: usize,
    /// Period of the weight patterns, `lcm(L, C)`.
    pub period: usize,
    /// Floats per pattern row, `S = lcm(L, C) + L`.
    pub pstride: usize,
    /// Start of the per-channel weights `[k][Cp]` (the bias `[Cp]` is at 0).
    pub plain_w: usize,
    /// Start of the bias pattern `[S]`.
    pub pat_bias: usize,
    /// Start of the weight patterns `[k][S]`.
    pub pat_w: usize,
    /// Total packed length.
    pub len: usize,
}

/// Greatest common divisor.
pub(crate) fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Validates `g` and computes the packed layout for `lanes`-wide vectors.
pub(crate) fn layout(
    g: &SeparablePassGeometry,
    lanes: usize,
) -> Result<(SeparableDims, Layout), KernelError> {
    let d = g.validate()?;
    let c = g.channels;
    let overflow = KernelError::Overflow { what: "packed length" };
    let cpad = c.checked_next_multiple_of(lanes).ok_or(overflow.clone())?;
    let period = checked_product("packed length", &[c / gcd(c, lanes), lanes])?;
    let pstride = period.checked_add(lanes).ok_or(overflow.clone())?;
    let taps1 = g.kernel.checked_add(1).ok_or(overflow.clone())?;
    let plain = checked_product("packed length", &[taps1, cpad])?;
    let pattern = checked_product("packed length", &[taps1, pstride])?;
    let len = plain.checked_add(pattern).ok_or(overflow)?;
    Ok((d, Layout { cpad, period, pstride, plain_w: cpad, pat_bias: plain, pat_w: plain + pstride, len }))
}

/// Packs weights `[k][C]` and an optional bias `[C]` into the layout for `lanes`-wide vectors.
/// Errors (nothing written): invalid geometry, or a `weights`, `bias` or `packed` length that
/// does not match.
pub(crate) fn pack(
    g: &SeparablePassGeometry,
    lanes: usize,
    weights: &[f32],
    bias: Option<&[f32]>,
    packed: &mut [f32],
) -> Result<(), KernelError> {
    let (d, lay) = layout(g, lanes)?;
    let c = g.channels;
    check_len("weights", d.weight_len, weights.len())?;
    if let Some(b) = bias {
        check_len("bias", c, b.len())?;
    }
    check_len("packed", lay.len, packed.len())?;
    packed[..lay.pat_bias].fill(0.0);
    let bias_of = |ch: usize| bias.map_or(0.0, |b| b[ch]);
    for ch in 0..c {
        packed[ch] = bias_of(ch);
        for t in 0..g.kernel {
            packed[lay.plain_w + t * lay.cpad + ch] = weights[t * c + ch];
        }
    }
    for j in 0..lay.pstride {
        packed[lay.pat_bias + j] = bias_of(j % c);
        for t in 0..g.kernel {
            packed[lay.pat_w + t * lay.pstride + j] = weights[t * c + j % c];
        }
    }
    Ok(())
}

/// Errors with [`KernelError::Unsupported`] unless `g.axis == want` (`kernel` names the entry
/// point); the axis is reported as 0 = row, 1 = column.
pub(crate) fn check_axis(
    g: &SeparablePassGeometry,
    want: SeparableAxis,
    kernel: &'static str,
) -> Result<(), KernelError> {
    if g.axis == want {
        return Ok(());
    }
    let code = |a: SeparableAxis| match a {
        SeparableAxis::Row => 0,
        SeparableAxis::Column => 1,
    };
    Err(KernelError::Unsupported {
        kernel,
        what: "axis (0 = row, 1 = column)",
        value: code(g.axis),
        expected: code(want),
    })
}
