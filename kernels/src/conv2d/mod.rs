//! Dense and grouped k×k convolution (`conv2d`), written once for every SIMD tier.
//!
//! This module owns the plan of the family; the ISA folders (`x86_64`, `avx512`, `aarch64`,
//! `portable`) only implement the traits below with their microkernels and keep their thin,
//! checked public entry points (`conv2d_packed_len`, `conv2d_pack`, `conv2d_run`).
//!
//! Two plans, chosen from the geometry alone (so packing and running always agree):
//!
//! - **Wide** ([`wide`], every geometry that is not narrow): a direct "implicit GEMM" per
//!   group. The group's output channels are cut into blocks of `LANES · PLAN.nv` with a last
//!   block of `ceil(rem / LANES)` vectors for the remainder (zero weights in the padding
//!   lanes, stored masked). A register tile of up to `PLAN.mr[nv]` output pixels along a row ×
//!   one block loops over `(ky, kx, ic)`, broadcasting one input value per pixel and FMA-ing it
//!   with the packed weight vectors of that `(ky, kx, ic)`. Rows that touch the top/bottom
//!   padding skip the `ky` taps that fall outside; tiles that touch the left/right padding
//!   point each out-of-range pixel tap at a static zero buffer, so there is no branch in the
//!   FMA loop. Interior tiles with one group and no horizontal dilation read `kw · in_c`
//!   contiguous floats per `ky` (one long `k` loop, which keeps the 3-channel MobileNet stem
//!   busy). Loop order is block-major: one block's packed weights stay in L1 while every
//!   output row of every image streams through them.
//! - **Narrow** ([`narrow`], `in_c / groups == out_c / groups == c` with `c` in {1, 2, 4} and
//!   groups > 1, i.e. many tiny groups, including depthwise; only in tiers whose
//!   [`WideKernel::Narrow`] is enabled): vectorized *across* groups. One vector covers `LANES`
//!   consecutive output channels and reads the same input channels with one load; the input
//!   value a lane needs for its `i`-th weight is obtained by rotating the lane within its group
//!   ([`NarrowKernel::rotate`]), and the weights are stored pre-rotated per lane at pack time.
//!   Tiles of 8 output pixels × one vector; for 3-wide kernels with unit horizontal stride and
//!   dilation each input column of a tile is loaded and rotated once for the three taps.
//!
//! Packed layouts (`L` = the tier's lanes):
//! - wide: for each group, for each output-channel block of the group: the block's bias
//!   (`L·nv` floats) then its weights `[kh][kw][in_c/groups][L·nv]` (lanes past the group's
//!   channels are zero);
//! - narrow: for each vector of `L` output channels (the last one zero-padded): `L` biases,
//!   then `[kh][kw][c][L]` where lane `l` (channel `oc = L·v + l`, `o = oc % c`) of entry `r`
//!   holds the weight of input channel `(o + r) % c` of that channel's group.
//!
//! Codegen: the vector operations of the traits are `#[inline(always)]` wrappers of
//! `core::arch` intrinsics, and the generic tile bodies ([`wide::tile`], [`narrow::tile`]) are
//! `#[inline(always)]` too; each ISA instantiates them inside its own `#[target_feature]`
//! functions ([`WideKernel::wide_tile`], [`NarrowKernel::narrow_tile`]), so the hot loops get
//! that ISA's instructions. The loops around the tiles need no vector instruction.

pub(crate) mod narrow;
pub(crate) mod wide;

use crate::geometry::{Conv2dDims, Spatial, deref_spatial};
use crate::{Activation, Conv2dGeometry, KernelError, error::check_len};

pub(crate) use narrow::{NarrowKernel, NarrowPlan, NarrowTile, NoNarrow, narrow_fns};
pub(crate) use wide::{WideKernel, WidePlan, WideTile, wide_tile_fn};

/// Length of the zero buffer that out-of-range taps read from.
pub(crate) const ZLEN: usize = 64;
/// Zeros read by taps that fall into the padding (at least one vector of every tier).
pub(crate) static ZEROS: [f32; ZLEN] = [0.0; ZLEN];

/// Which packed layout and kernel a geometry uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Per group, blocks of output channels; see the module docs.
    Wide,
    /// Vectorized across groups; `c = in_c / groups = out_c / groups` in {1, 2, 4}.
    Narrow(usize),
}

/// True when a valid geometry `g` has the shape of the narrow plan (many groups of 1, 2 or 4
/// channels in and out). The AVX-512 tier delegates exactly these geometries to the AVX2
/// kernel, so both tiers agree on the plan and its packed layout.
pub(crate) fn is_narrow(g: &Conv2dGeometry) -> bool {
    let (cin_g, cout_g) = (g.in_c / g.groups, g.out_c / g.groups);
    cin_g == cout_g && matches!(cin_g, 1 | 2 | 4) && g.groups > 1
}

/// The plan tier `K` uses for a valid geometry.
fn plan<K: WideKernel>(g: &Conv2dGeometry) -> Plan {
    if K::Narrow::ENABLED && is_narrow(g) { Plan::Narrow(g.in_c / g.groups) } else { Plan::Wide }
}

/// The output-channel blocks of one group in a wide plan of `lanes`-float vectors and full
/// blocks of `nv_full` vectors: `(first channel, width, vectors)`. Full blocks, then the
/// remainder in one block of `ceil(rem / lanes)` vectors.
pub(crate) fn wide_blocks(
    cout_g: usize,
    lanes: usize,
    nv_full: usize,
) -> impl Iterator<Item = (usize, usize, usize)> {
    let block = lanes * nv_full;
    let (full, rem) = (cout_g / block, cout_g % block);
    (0..full)
        .map(move |b| (b * block, block, nv_full))
        .chain((rem > 0).then(|| (full * block, rem, rem.div_ceil(lanes))))
}

/// Length of tier `K`'s packed buffer for a valid canonical `g`, with overflow checks.
fn packed_len_of<K: WideKernel>(g: &Conv2dGeometry) -> Option<usize> {
    let taps = g.kernel_h.checked_mul(g.kernel_w)?;
    match plan::<K>(g) {
        Plan::Wide => {
            let taps_k = taps.checked_mul(g.in_c / g.groups)?;
            let mut per_group = 0usize;
            for (_, _, nv) in wide_blocks(g.out_c / g.groups, K::LANES, K::PLAN.nv) {
                per_group = per_group.checked_add(taps_k.checked_add(1)?.checked_mul(K::LANES * nv)?)?;
            }
            per_group.checked_mul(g.groups)
        }
        Plan::Narrow(c) => {
            let l = K::Narrow::LANES;
            taps.checked_mul(c)?.checked_add(1)?.checked_mul(l)?.checked_mul(g.out_c.div_ceil(l))
        }
    }
}

/// Checked packed length of tier `K` (the body of every tier's `conv2d_packed_len`).
pub(crate) fn packed_len<K: WideKernel>(g: &Conv2dGeometry) -> Result<usize, KernelError> {
    let g = &g.canonical();
    g.validate()?;
    packed_len_of::<K>(g).ok_or(KernelError::Overflow { what: "packed length" })
}

/// Checked packing for tier `K` (the body of every tier's `conv2d_pack`): validates the
/// geometry and the lengths, checks the CPU, then writes every element of `packed`.
pub(crate) fn pack<K: WideKernel>(
    g: &Conv2dGeometry,
    weights: &[f32],
    bias: Option<&[f32]>,
    packed: &mut [f32],
) -> Result<(), KernelError> {
    let g = &g.canonical();
    let d = g.validate()?;
    check_len("weights", d.weight_len, weights.len())?;
    if let Some(b) = bias {
        check_len("bias", g.out_c, b.len())?;
    }
    let total = packed_len_of::<K>(g).ok_or(KernelError::Overflow { what: "packed length" })?;
    check_len("packed", total, packed.len())?;
    (K::ENSURE)()?;
    let (cin_g, cout_g) = (g.in_c / g.groups, g.out_c / g.groups);
    let taps = g.kernel_h * g.kernel_w;
    let bias_of = |oc: usize| bias.map_or(0.0, |b| b[oc]);
    let mut pos = 0usize;
    match plan::<K>(g) {
        Plan::Wide => {
            for grp in 0..g.groups {
                for (first, width, nv) in wide_blocks(cout_g, K::LANES, K::PLAN.nv) {
                    let nr = K::LANES * nv;
                    let block = &mut packed[pos..pos + nr * (1 + taps * cin_g)];
                    block.fill(0.0);
                    for lane in 0..width {
                        let oc = grp * cout_g + first + lane;
                        block[lane] = bias_of(oc);
                        let wrow = &weights[oc * taps * cin_g..(oc + 1) * taps * cin_g];
                        for (r, &x) in block[nr..].chunks_exact_mut(nr).zip(wrow) {
                            r[lane] = x;
                        }
                    }
                    pos += block.len();
                }
            }
        }
        Plan::Narrow(c) => {
            let l = K::Narrow::LANES;
            for v in 0..g.out_c.div_ceil(l) {
                let block = &mut packed[pos..pos + l * (1 + taps * c)];
                block.fill(0.0);
                for lane in 0..l.min(g.out_c - l * v) {
                    let oc = l * v + lane;
                    block[lane] = bias_of(oc);
                    for t in 0..taps {
                        for r in 0..c {
                            block[l + (t * c + r) * l + lane] =
                                weights[(oc * taps + t) * c + (oc % c + r) % c];
                        }
                    }
                }
                pos += block.len();
            }
        }
    }
    debug_assert_eq!(pos, total);
    Ok(())
}

/// Checked convolution for tier `K` (the body of every tier's `conv2d_run`): validates the
/// geometry, activation and lengths, checks the CPU, then runs the plan of `g`.
pub(crate) fn run<K: WideKernel>(
    g: &Conv2dGeometry,
    input: &[f32],
    packed: &[f32],
    act: Activation,
    output: &mut [f32],
) -> Result<(), KernelError> {
    let g = &g.canonical();
    let d = g.validate()?;
    let total = packed_len_of::<K>(g).ok_or(KernelError::Overflow { what: "packed length" })?;
    check_len("packed", total, packed.len())?;
    act.validate()?;
    check_len("input", d.input_len, input.len())?;
    check_len("output", d.output_len, output.len())?;
    (K::ENSURE)()?;
    let s = Shape::new(g, &d);
    let (lo, hi) = act.bounds();
    let io = Io { input: input.as_ptr(), packed: packed.as_ptr(), output: output.as_mut_ptr(), lo, hi };
    match plan::<K>(g) {
        // SAFETY: the CPU has the tier's features (checked just above, and `K::Narrow`'s are
        // implied by `K`'s); the geometry is valid and canonical, its plan is the one matched,
        // and the input, packed and output lengths match it exactly (checked above).
        Plan::Wide => unsafe { wide::run::<K>(&s, io.input, io.packed, io.output, lo, hi) },
        // SAFETY: as above.
        Plan::Narrow(c) => unsafe { K::Narrow::run_narrow(&s, c, &io) },
    }
    Ok(())
}

/// The buffers and activation bounds of one checked run, as the plans' drivers take them.
#[derive(Clone, Copy)]
pub(crate) struct Io {
    /// The input, `batch·in_h·in_w·in_c` floats.
    pub(crate) input: *const f32,
    /// The packed weights of the run's plan.
    pub(crate) packed: *const f32,
    /// The output, `batch·out_h·out_w·out_c` floats.
    pub(crate) output: *mut f32,
    /// Activation lower bound.
    pub(crate) lo: f32,
    /// Activation upper bound.
    pub(crate) hi: f32,
}

/// Geometry in the form the kernels use (all from a validated canonical [`Conv2dGeometry`]):
/// the channel facts of the family, and the spatial form (extents, steps, the interior
/// columns `ox_lo..ox_hi`) as the [`Spatial`] it dereferences to.
pub(crate) struct Shape {
    /// The spatial form of the geometry, shared with the dwconv family.
    sp: Spatial,
    pub(crate) in_c: usize,
    pub(crate) out_c: usize,
    pub(crate) groups: usize,
    pub(crate) cin_g: usize,
    pub(crate) cout_g: usize,
    /// Interior tiles may read `kw · in_c` contiguous floats per kernel row (one group, no
    /// horizontal dilation).
    pub(crate) flat: bool,
}

deref_spatial!(Shape.sp);

impl Shape {
    /// The shape of `g` (valid, canonical) with its dims `d`.
    fn new(g: &Conv2dGeometry, d: &Conv2dDims) -> Self {
        Self {
            sp: Spatial::new(g, d),
            in_c: g.in_c,
            out_c: g.out_c,
            groups: g.groups,
            cin_g: g.in_c / g.groups,
            cout_g: g.out_c / g.groups,
            flat: g.groups == 1 && g.dilation_w == 1,
        }
    }

    /// True when output columns `ox0..ox0 + cnt` have every horizontal tap inside the input.
    #[inline(always)]
    pub(crate) fn interior(&self, ox0: usize, cnt: usize) -> bool {
        ox0 >= self.ox_lo && ox0 + cnt <= self.ox_hi
    }

    /// Input column of tap `kx` of output column `ox`, when it is inside the input.
    #[inline(always)]
    pub(crate) fn in_col(&self, ox: usize, kx: usize) -> Option<usize> {
        let pos = ox * self.sw + kx * self.dw;
        (pos >= self.pl && pos - self.pl < self.in_w).then(|| pos - self.pl)
    }
}

/// Per output row: the input image (already offset to a first channel), the valid `ky` range
/// and the input row of `ky = 0` (may be negative).
pub(crate) struct Row {
    pub(crate) img: *const f32,
    pub(crate) ky0: usize,
    pub(crate) ky1: usize,
    pub(crate) iy0: isize,
}

impl Row {
    /// Input row `ky` of this output row, offset by `ch` floats.
    ///
    /// # Safety
    /// `ky0 <= ky < ky1` and `ch` stays inside a pixel of that row.
    #[inline(always)]
    pub(crate) unsafe fn at(&self, s: &Shape, ky: usize, ch: usize) -> *const f32 {
        // In range by construction of ky0..ky1.
        let iy = (self.iy0 + (ky * s.dh) as isize) as usize;
        // SAFETY: iy < in_h: a row of the current image (caller's invariant on ky and ch).
        unsafe { self.img.add(iy * s.in_w * s.in_c + ch) }
    }
}

/// The [`Row`] of output row `oy` of image `n` (input offset by channel `ch`) and the start of
/// that output row.
///
/// # Safety
/// `s` from a validated geometry; `input`/`output` of its lengths; `n < batch`,
/// `oy < out_h`, `ch < in_c`.
#[inline]
pub(crate) unsafe fn row(
    s: &Shape,
    input: *const f32,
    output: *mut f32,
    n: usize,
    oy: usize,
    ch: usize,
) -> (Row, *mut f32) {
    // Valid ky: 0 <= oy·sh + ky·dh - pt < in_h.
    let (ky0, ky1) = s.row_taps(oy);
    let iy0 = (oy * s.sh) as isize - s.pt as isize;
    // SAFETY: n < batch and ch < in_c: a position inside the first pixel of image n.
    let img = unsafe { input.add(n * s.in_h * s.in_w * s.in_c + ch) };
    // SAFETY: (n, oy) < (batch, out_h): the row start is inside `output`.
    let out_row = unsafe { output.add((n * s.out_h + oy) * s.out_w * s.out_c) };
    (Row { img, ky0, ky1, iy0 }, out_row)
}

/// Repeats `body` with `$i` bound to each listed constant, so that array indices in it are
/// compile-time constants (LLVM then keeps the accumulator arrays in registers; a run-time
/// loop over 8–10 pixels with a large body is not always fully unrolled).
macro_rules! unroll {
    ($i:ident in [$($n:literal),*] $body:block) => {
        $({
            let $i: usize = $n;
            $body
        })*
    };
}
pub(crate) use unroll;

/// Defines a tier's three public, checked entry points over its kernel `$K` (the packed
/// contract of the crate docs): `conv2d_packed_len` (documented by the given doc attributes:
/// the tier's packed layout), `conv2d_pack` and `conv2d_run`. `$cpu` completes the sentence
/// on errors: the tier's CPU requirement, or empty for a tier that needs none.
macro_rules! entry_points {
    ($K:ty, $cpu:literal, $(#[$len_doc:meta])*) => {
        $(#[$len_doc])*
        ///
        /// Layouts (`L` = the plan's lanes; the plan is a function of the geometry; a tier
        /// without a narrow plan uses the wide one for every geometry):
        /// - wide plan: for each group, for each output-channel block of the group: the
        ///   block's bias (`L·nv` floats) then its weights `[kh][kw][in_c/groups][L·nv]`
        ///   (lanes past the group's channels are zero);
        /// - narrow plan (`in_c/groups == out_c/groups == c`, `c` in {1, 2, 4}, groups > 1):
        ///   for each vector of `L` output channels (the last one zero-padded): `L` biases,
        ///   then `[kh][kw][c][L]` where lane `l` (channel `oc = L·v + l`, `o = oc % c`) of
        ///   entry `r` holds the weight of input channel `(o + r) % c` of that channel's group.
        pub fn conv2d_packed_len(g: &Conv2dGeometry) -> Result<usize, KernelError> {
            $crate::conv2d::packed_len::<$K>(g)
        }

        #[doc = concat!(
            "Packs OHWI weights `[out_c][kh][kw][in_c/groups]` and an optional bias `[out_c]` ",
            "into the layout described at [`conv2d_packed_len`], for [`conv2d_run`]. Every ",
            "element of `packed` is written.\n\nErrors: invalid geometry, wrong weight / bias / ",
            "packed lengths", $cpu, ". Nothing is written on error."
        )]
        pub fn conv2d_pack(
            g: &Conv2dGeometry,
            weights: &[f32],
            bias: Option<&[f32]>,
            packed: &mut [f32],
        ) -> Result<(), KernelError> {
            $crate::conv2d::pack::<$K>(g, weights, bias, packed)
        }

        #[doc = concat!(
            "Convolution on weights packed by [`conv2d_pack`] (same geometry), NHWC.\n\n",
            "- `input`: `[batch][in_h][in_w][in_c]`;\n",
            "- `packed`: from [`conv2d_pack`] with the same geometry (layout at ",
            "[`conv2d_packed_len`]);\n",
            "- `output`: `[batch][out_h][out_w][out_c]`, each element ",
            "`act(bias + Σ input · weight)` over the taps that fall inside the input (padding ",
            "contributes nothing).\n\nErrors: invalid geometry or activation, wrong packed / ",
            "input / output length", $cpu, ". Nothing is written on error."
        )]
        pub fn conv2d_run(
            g: &Conv2dGeometry,
            input: &[f32],
            packed: &[f32],
            act: Activation,
            output: &mut [f32],
        ) -> Result<(), KernelError> {
            $crate::conv2d::run::<$K>(g, input, packed, act, output)?;
            super::activation::epilogue(act, output);
            Ok(())
        }
    };
}
pub(crate) use entry_points;
