//! Depthwise k×k convolution (depth multiplier 1), NHWC: the plan, the packed layout and the
//! driver shared by every SIMD tier, written once and generic over the tier's vector type.
//!
//! Each ISA folder's `dwconv.rs` holds only what differs: a [`DwVec`] impl per vector type
//! (load, masked load, FMA, clamped store), a [`DwRows`] impl that names its row kernels
//! (`#[target_feature]` entries that instantiate the generic walks below), and the safe,
//! length-checked entry points `dwconv_packed_len`, `dwconv_pack`, `dwconv_run`.
//!
//! # Packed layout
//!
//! Tiles of `lanes` channels (8 for AVX2, NEON and portable, 16 for AVX-512), each
//! `[bias × lanes][tap 0 × lanes]…[tap kh·kw−1 × lanes]`, taps row-major `(ky, kx)`, lane `l` of
//! tile `t` holding channel `lanes·t + l` (a zero bias without one), except the last tile when
//! `C` is not a multiple of `lanes`: with `C > lanes` it holds the last `lanes` channels
//! `C − lanes..C` (overlapping the tile before it), with `C < lanes` channels `0..C` zero-padded.
//! Length `ceil(C / lanes) · lanes · (1 + kh·kw)`.
//!
//! # How it runs
//!
//! For every output row the valid kernel rows `ky0..ky1` are computed once, and the output
//! columns are split once per call into a left border, an interior where every horizontal tap
//! is inside the input (no padding branch), and a right border whose pixels visit only their
//! valid taps (MLAS style). Loop order: image, output row, channel tile (a "view"), output
//! columns, so the few input rows an output row needs stay in cache while every tile sweeps
//! them; a tier may pair two full rows tile by tile ([`DwRows::pair_row`]).
//!
//! - **3×3, 5×5 and 7×7, horizontal stride 1 or 2, horizontal dilation 1**: row kernels
//!   instantiated for the kernel size `KW`, stride `S`, valid kernel rows `R > (KW − 1) / 2` (fewer:
//!   images shorter than the kernel or padding over half of it, on the generic path) and interior block
//!   width `B` (a per-tier table); the weights of a view stay in registers for the row (up to
//!   [`DwVec::HOIST_K`]), and each block's `B` accumulators are independent FMA chains.
//! - **Anything else**: the same border split with run-time tap loops; interior blocks of `B`
//!   pixels share each weight load.
//!
//! A channel count that is not a multiple of the tile runs its shifted last tile like any other:
//! its first lanes recompute channels of the tile before it with the same weights and inputs,
//! so they store the same values again, and no masked access is needed. Only `C < lanes` uses
//! the tier's masked loads and stores (generic path), so no element outside the given slices
//! is ever read or written.

use crate::geometry::{Spatial, deref_spatial};
use crate::reference::check_depthwise;
use crate::{
    Activation, Conv2dGeometry, KernelError,
    error::{check_len, checked_product},
};

/// Largest kernel size with a specialised row kernel.
pub(crate) const MAX_FAST_K: usize = 7;

/// Floats per packed channel tile of `lanes` channels: `lanes · (1 + kh·kw)`.
fn tile_len(g: &Conv2dGeometry, lanes: usize) -> Result<usize, KernelError> {
    let taps = checked_product("packed length", &[g.kernel_h, g.kernel_w])?;
    let per_lane = taps.checked_add(1).ok_or(KernelError::Overflow { what: "packed length" })?;
    checked_product("packed length", &[per_lane, lanes])
}

/// Length of the packed depthwise weights of `g` (canonicalised here) in tiles of `lanes`
/// (> 0) channels: `ceil(C / lanes) · lanes · (1 + kh·kw)`.
///
/// Errors: an invalid or non-depthwise geometry, or overflow.
pub(crate) fn packed_len(g: &Conv2dGeometry, lanes: usize) -> Result<usize, KernelError> {
    let g = &g.canonical();
    g.validate()?;
    check_depthwise(g)?;
    checked_product("packed length", &[g.in_c.div_ceil(lanes), tile_len(g, lanes)?])
}

/// Checks the arguments of [`pack`] without writing anything.
///
/// Errors: an invalid or non-depthwise geometry, or `weights`, `bias` or `packed` of the wrong
/// length (`packed` must have [`packed_len`] elements).
pub(crate) fn check_pack(
    g: &Conv2dGeometry,
    lanes: usize,
    weights: &[f32],
    bias: Option<&[f32]>,
    packed: &[f32],
) -> Result<(), KernelError> {
    let g = &g.canonical();
    let d = g.validate()?;
    check_depthwise(g)?;
    check_len("weights", d.weight_len, weights.len())?;
    if let Some(b) = bias {
        check_len("bias", g.in_c, b.len())?;
    }
    check_len("packed", packed_len(g, lanes)?, packed.len())
}

/// Packs depthwise weights `[kh][kw][C]` and an optional bias `[C]` into the tile layout of
/// the module docs with tiles of `lanes` (> 0) channels.
///
/// Errors: as [`check_pack`]; nothing is written then.
pub(crate) fn pack(
    g: &Conv2dGeometry,
    lanes: usize,
    weights: &[f32],
    bias: Option<&[f32]>,
    packed: &mut [f32],
) -> Result<(), KernelError> {
    check_pack(g, lanes, weights, bias, packed)?;
    let c = g.in_c;
    let taps = g.kernel_h * g.kernel_w;
    for (t, tile) in packed.chunks_exact_mut(lanes * (taps + 1)).enumerate() {
        for lane in 0..lanes {
            let ch = tile_start(c, lanes, t) + lane;
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

/// First channel of packed tile `t` of `c` channels in tiles of `lanes`: `lanes·t`, or
/// `c − lanes` for a last tile shifted onto the last `lanes` channels (0 when `c < lanes`).
#[inline(always)]
fn tile_start(c: usize, lanes: usize, t: usize) -> usize {
    (t * lanes).min(c.saturating_sub(lanes))
}

/// True when the canonical `g` has specialised (unmasked) row kernels with tiles of `lanes`: a square
/// 3×3, 5×5 or 7×7 kernel, horizontal stride 1 or 2 and dilation 1, and at least `lanes` channels.
pub(crate) fn has_fast_kernel(g: &Conv2dGeometry, lanes: usize) -> bool {
    g.in_c >= lanes
        && g.kernel_h == g.kernel_w
        && matches!(g.kernel_w, 3 | 5 | 7)
        && g.dilation_w == 1
        && matches!(g.stride_w, 1 | 2)
}

/// The per-call constants of a validated canonical depthwise geometry, for tiles of `lanes`;
/// its spatial form (extents, steps, the interior columns `ox_lo..ox_hi`) is the [`Spatial`]
/// it dereferences to.
#[derive(Clone, Copy)]
pub(crate) struct Plan {
    /// The spatial form of the geometry, shared with the conv2d family.
    sp: Spatial,
    pub(crate) c: usize,
    /// Channels per packed tile.
    pub(crate) lanes: usize,
    /// Tiles of `lanes` existing channels: `ceil(C / lanes)` (see [`tile_start`]), 0 if `C < lanes`.
    pub(crate) tiles: usize,
    /// `C % lanes` (the masked lanes of the padded tile when `C < lanes`).
    pub(crate) rem: usize,
    /// Floats per packed tile.
    pub(crate) tile_len: usize,
    /// [`has_fast_kernel`] of the geometry and lanes.
    pub(crate) fast: bool,
}

deref_spatial!(Plan.sp);

impl Plan {
    /// Canonicalises `g` and checks every argument of a run with tiles of `lanes`, in the
    /// order every tier reports them: the geometry, depthwise, the clamp, then the lengths of
    /// `packed`, `input` and `output`.
    ///
    /// Errors: an invalid or non-depthwise geometry, an invalid clamp, or a slice of the wrong
    /// length ([`KernelError::LengthMismatch`]).
    pub(crate) fn checked(
        g: &Conv2dGeometry,
        lanes: usize,
        input: &[f32],
        packed: &[f32],
        act: Activation,
        output: &[f32],
    ) -> Result<Self, KernelError> {
        let g = &g.canonical();
        let d = g.validate()?;
        check_depthwise(g)?;
        act.validate()?;
        check_len("packed", packed_len(g, lanes)?, packed.len())?;
        check_len("input", d.input_len, input.len())?;
        check_len("output", d.output_len, output.len())?;
        Ok(Self {
            sp: Spatial::new(g, &d),
            c: g.in_c,
            lanes,
            tiles: if g.in_c < lanes { 0 } else { g.in_c.div_ceil(lanes) },
            rem: g.in_c % lanes,
            tile_len: tile_len(g, lanes)?,
            fast: has_fast_kernel(g, lanes),
        })
    }

    /// Output row `oy` of image `n` (its kernel rows, image and output pointers; `rows` still
    /// unset). `wrapping_add`: no dereference here.
    #[inline(always)]
    fn row(&self, input: *const f32, output: *mut f32, n: usize, oy: usize) -> Row {
        let pos = oy * self.sh;
        let (ky0, ky1) = self.row_taps(oy);
        let img = input.wrapping_add(n * self.in_h * self.in_w * self.c);
        let out = output.wrapping_add((n * self.out_h + oy) * self.out_w * self.c);
        Row { img, pos, ky0, ky1, rows: [img; MAX_FAST_K], out }
    }

    /// Sets `row.rows[r]` to the start of input row `pos + (ky0 + r)·dh − pt` for every valid
    /// kernel row (at most [`MAX_FAST_K`]).
    #[inline(always)]
    fn set_rows(&self, row: &mut Row) {
        for (r, slot) in row.rows.iter_mut().enumerate().take(row.ky1 - row.ky0) {
            let iy = row.pos + (row.ky0 + r) * self.dh - self.pt;
            // ky0 + r < ky1, so iy is a valid input row (`row_taps`) of the image.
            *slot = row.img.wrapping_add(iy * self.in_w * self.c);
        }
    }
}

/// One SIMD vector type of a tier (a pixel's channel view: one register or a few) and the
/// tier's tuning. Every method is `#[inline(always)]` in the impls, so the intrinsics get
/// their ISA's codegen inside the `#[target_feature]` row kernels that instantiate the walks.
pub(crate) trait DwVec: Copy {
    /// Per-call state of the loads and stores: clamp bounds and the channel-remainder mask.
    type Env;
    /// Floats between consecutive taps of a packed tile (the tier's tile lanes).
    const TAP_STRIDE: usize;
    /// Largest kernel size whose weights stay in registers for a whole row of a view (larger
    /// ones are loaded per block and kernel row).
    const HOIST_K: usize = MAX_FAST_K;
    /// Interior blocks sweep each input column once per kernel row and feed it to every pixel
    /// that needs it (else: one load per pixel and tap, merged by the compiler).
    const SWEEP: bool = false;
    /// An interior of at least `B` columns ends with a block shifted left onto its last column
    /// (else with blocks of 8, 4, 2, 1).
    const OVERLAP: bool = false;
    /// 5×5 and 7×7 border runs go in blocks of 4 and 2 pixels (else pixel by pixel).
    const EDGE_BLOCKS: bool = true;

    /// All lanes zero.
    ///
    /// # Safety
    /// The tier's CPU features are available.
    unsafe fn zero() -> Self;

    /// Loads all lanes from `p` (packed weights and biases, inputs of the unmasked walks).
    ///
    /// # Safety
    /// The tier's CPU features are available; all lanes from `p` are readable.
    unsafe fn load(p: *const f32) -> Self;

    /// Loads all lanes from `p`, or, when `M`, only the remainder lanes of `env` (the others
    /// read as zero and are not accessed).
    ///
    /// # Safety
    /// The tier's CPU features are available; the accessed lanes are readable.
    unsafe fn load_in<const M: bool>(p: *const f32, env: &Self::Env) -> Self;

    /// `acc + x · w`, lane-wise (fused).
    ///
    /// # Safety
    /// The tier's CPU features are available.
    unsafe fn fma(acc: Self, x: Self, w: Self) -> Self;

    /// `a + b`, lane-wise.
    ///
    /// # Safety
    /// The tier's CPU features are available.
    unsafe fn add(a: Self, b: Self) -> Self;

    /// Clamps `v` to the bounds of `env` (bound first, so NaN propagates) and stores all lanes
    /// to `p`, or only the remainder lanes of `env` when `M`.
    ///
    /// # Safety
    /// The tier's CPU features are available; the written lanes are writable.
    unsafe fn store<const M: bool>(p: *mut f32, v: Self, env: &Self::Env);
}

/// Read-only state shared by the row kernels of one call.
pub(crate) struct Ctx<E> {
    pub(crate) p: Plan,
    /// The packed weights, [`Plan::tile_len`] floats per tile.
    pub(crate) packed: *const f32,
    pub(crate) env: E,
}

impl<E> Ctx<E> {
    /// The view of tile `t` for a vector type `V` covering a whole tile (its lanes are the
    /// tile's; the last one may be shifted, see [`tile_start`]).
    #[inline(always)]
    pub(crate) fn tile<V: DwVec>(&self, t: usize) -> View {
        // wrapping_add: no dereference here; t < ceil(C / lanes) keeps the tile inside `packed`.
        View { ch: tile_start(self.p.c, self.p.lanes, t), wt: self.packed.wrapping_add(t * self.p.tile_len) }
    }
}

/// A view of one channel tile: the channels a vector type covers from `ch`.
#[derive(Clone, Copy)]
pub(crate) struct View {
    /// First channel of the view.
    pub(crate) ch: usize,
    /// Its bias in the packed buffer; tap `i`'s weights are at `wt + TAP_STRIDE·(1 + i)`.
    pub(crate) wt: *const f32,
}

/// One output row of one image.
pub(crate) struct Row {
    /// First element of the image in the input.
    img: *const f32,
    /// `oy · stride_h`: the padded row of kernel row 0.
    pos: usize,
    /// Valid kernel rows `ky0..ky1`.
    ky0: usize,
    ky1: usize,
    /// Start of input row `pos + (ky0 + r)·dh − pt`, for `r < ky1 − ky0` (fast path only).
    rows: [*const f32; MAX_FAST_K],
    /// First element of the output row.
    pub(crate) out: *mut f32,
}

/// A row kernel: computes one output row for every channel view.
pub(crate) type RowFn<E> = unsafe fn(&Ctx<E>, &Row);

/// A full-row kernel: a row with every kernel row valid, or two such rows back to back by tile.
pub(crate) type PairFn<E> = unsafe fn(&Ctx<E>, &Row, Option<&Row>);

/// The row kernels of a tier: `#[target_feature]` functions that instantiate the walks below.
///
/// Each one's contract: the tier's CPU features are available; `cx` was built from a
/// [`Plan::checked`] geometry with the tier's lanes and a matching packed buffer; `row` is an
/// output row of it (its `out` has `out_w · C` writable floats) with the kernel rows the
/// kernel was chosen for (and, for fast kernels, `rows` set).
pub(crate) trait DwRows {
    /// The tier's [`DwVec::Env`].
    type Env;
    /// Row kernel for every row with no valid kernel row: `act(bias)` everywhere.
    const BIAS: RowFn<Self::Env>;
    /// Row kernel for any geometry.
    const GENERIC: RowFn<Self::Env>;
    /// The specialised row kernel for a `kw × kw` kernel, horizontal stride `sw`, `r` valid
    /// kernel rows (see [`fast_row_table`]), if the tier has one (full rows: see `pair_row`).
    fn fast_row(kw: usize, sw: usize, r: usize) -> Option<RowFn<Self::Env>>;
    /// The full-row kernel of a `kw × kw` kernel with horizontal stride `sw` (every kernel row
    /// valid: one row, or two paired), if the tier has one.
    fn pair_row(_kw: usize, _sw: usize) -> Option<PairFn<Self::Env>> {
        None
    }
}

/// The specialised row kernel `$f::<KW, R, S, B>` of `($kw, $sw, $r)`, with the interior block
/// widths `$b = [B31, B32, B51, B52, B71, B72]` (a `const` array of the tier), or `None`. Mode
/// `full`: every `R`; `partial`: `R < KW`; `pair`: the [`DwRows::pair_row`] `$f::<KW, S, B>`.
macro_rules! fast_row_table {
    ($mode:ident $f:ident, $b:ident, $kw:expr, $sw:expr, $r:expr) => {
        match ($kw, $sw) {
            (3, 1) => $crate::dwconv::fast_rows!($mode $f, 3, 1, $b[0], $r; 3 2),
            (3, 2) => $crate::dwconv::fast_rows!($mode $f, 3, 2, $b[1], $r; 3 2),
            (5, 1) => $crate::dwconv::fast_rows!($mode $f, 5, 1, $b[2], $r; 5 3 4),
            (5, 2) => $crate::dwconv::fast_rows!($mode $f, 5, 2, $b[3], $r; 5 3 4),
            (7, 1) => $crate::dwconv::fast_rows!($mode $f, 7, 1, $b[4], $r; 7 4 5 6),
            (7, 2) => $crate::dwconv::fast_rows!($mode $f, 7, 2, $b[5], $r; 7 4 5 6),
            _ => None,
        }
    };
}

/// One kernel size and stride of [`fast_row_table`] (row counts `KW` first, none below `(KW + 1) / 2`).
macro_rules! fast_rows {
    (full $f:ident, $k:literal, $s:literal, $b:expr, $r:expr; $($n:literal)*) => {
        match $r { $($n => Some($f::<$k, $n, $s, { $b }> as _),)* _ => None }
    };
    (partial $f:ident, $k:literal, $s:literal, $b:expr, $r:expr; $full:literal $($n:literal)*) => {
        $crate::dwconv::fast_rows!(full $f, $k, $s, $b, $r; $($n)*)
    };
    (pair $f:ident, $k:literal, $s:literal, $b:expr, $r:expr; $($n:literal)*) => { Some($f::<$k, $s, { $b }> as _) };
}
pub(crate) use {fast_row_table, fast_rows};

/// Calls `$f::<$v, G…, M>(args…, view)` (a walk of this module) on every tile of `$cx`, `$v` covering
/// a whole tile: `M = false` on the [`Plan::tiles`], `true` on the padded tile of `C < lanes`. Form
/// `unmasked`, for the fast walks (no `M`; their plans have `C >= lanes`): `$f::<$v, G…>` on the tiles.
macro_rules! each_tile {
    (unmasked $cx:ident, $v:ty, $f:ident::<$($g:ident),*>($($a:expr),*)) => {{
        for t in 0..$cx.p.tiles {
            $crate::dwconv::$f::<$v, $($g),*>($($a,)* $cx.tile::<$v>(t));
        }
    }};
    ($cx:ident, $v:ty, $f:ident $(::<$($g:ident),*>)? ($($a:expr),*)) => {{
        for t in 0..$cx.p.tiles {
            $crate::dwconv::$f::<$v, $($($g,)*)? false>($($a,)* $cx.tile::<$v>(t));
        }
        if $cx.p.tiles == 0 {
            $crate::dwconv::$f::<$v, $($($g,)*)? true>($($a,)* $cx.tile::<$v>(0));
        }
    }};
}

/// Defines a tier's safe entry points `dwconv_packed_len`, `dwconv_pack` and `dwconv_run`
/// (each with the doc comment given) for tiles of `$lanes` channels: `dwconv_run` checks the
/// arguments ([`Plan::checked`]), then the CPU (`$ensure()`, whose error it returns), then calls
/// the tier's `unsafe fn run(&Plan, input, packed, act, output)`, whose contract is that the
/// tier's features are available and the plan checked these slices with the tier's lanes.
///
/// The form `lanes_of $f, $ensure, pack checks the CPU; ...` is for a tier whose tile width
/// depends on the geometry (`$f(&Conv2dGeometry) -> usize`) and whose `dwconv_pack` also
/// refuses a CPU without its features (after the argument checks).
macro_rules! entry_points {
    ($lanes:expr, $ensure:path; $($docs:tt)*) => {
        $crate::dwconv::entry_points! { lanes_of |_| $lanes, $ensure, pack checks false; $($docs)* }
    };
    (lanes_of $lanes_of:expr, $ensure:path, pack checks $pack_cpu:literal;
     $(#[$len:meta])* packed_len; $(#[$pack:meta])* pack; $(#[$run:meta])* run;) => {
        $(#[$len])*
        pub fn dwconv_packed_len(g: &$crate::Conv2dGeometry) -> Result<usize, $crate::KernelError> {
            $crate::dwconv::packed_len(g, ($lanes_of)(g))
        }

        $(#[$pack])*
        pub fn dwconv_pack(
            g: &$crate::Conv2dGeometry,
            weights: &[f32],
            bias: Option<&[f32]>,
            packed: &mut [f32],
        ) -> Result<(), $crate::KernelError> {
            let lanes = ($lanes_of)(g);
            if $pack_cpu {
                $crate::dwconv::check_pack(g, lanes, weights, bias, packed)?;
                $ensure()?;
            }
            $crate::dwconv::pack(g, lanes, weights, bias, packed)
        }

        $(#[$run])*
        pub fn dwconv_run(
            g: &$crate::Conv2dGeometry,
            input: &[f32],
            packed: &[f32],
            act: $crate::Activation,
            output: &mut [f32],
        ) -> Result<(), $crate::KernelError> {
            let plan = $crate::dwconv::Plan::checked(g, ($lanes_of)(g), input, packed, act, output)?;
            $ensure()?;
            // SAFETY: `$ensure` checked the CPU features `run` needs; the plan checked `input`,
            // `packed` and `output` against the geometry with the tier's tiles.
            unsafe { run(&plan, input, packed, act, output) };
            super::activation::epilogue(act, output);
            Ok(())
        }
    };
}
pub(crate) use {each_tile, entry_points};

/// Runs the rows of every image: each row goes to the bias kernel (no valid kernel row), the full-row
/// kernel (if any; with the next row if full too), its specialised kernel or the generic one.
///
/// # Safety
/// The tier's CPU features are available (the caller is its `#[target_feature]` entry, into
/// which this is inlined); `cx` was built from a [`Plan::checked`] geometry with the tier's
/// lanes, `cx.packed` is a buffer of that length, and `input` and `output` have the lengths
/// checked there.
#[inline(always)]
pub(crate) unsafe fn run<I: DwRows>(cx: &Ctx<I::Env>, input: &[f32], output: &mut [f32]) {
    let p = &cx.p;
    let (inp, out) = (input.as_ptr(), output.as_mut_ptr());
    for n in 0..p.batch {
        let mut oy = 0;
        while oy < p.out_h {
            let mut row = p.row(inp, out, n, oy);
            oy += 1;
            let r = row.ky1 - row.ky0;
            if p.fast
                && r == p.kh
                && let Some(pair) = I::pair_row(p.kw, p.sw)
            {
                p.set_rows(&mut row);
                let mut next =
                    (oy < p.out_h).then(|| p.row(inp, out, n, oy)).filter(|nx| nx.ky1 - nx.ky0 == p.kh);
                if let Some(nx) = next.as_mut() {
                    p.set_rows(nx);
                    oy += 1;
                }
                // SAFETY: the caller's contract; full rows inside the slices, row pointers set.
                unsafe { pair(cx, &row, next.as_ref()) };
                continue;
            }
            let fast = if p.fast && r != 0 { I::fast_row(p.kw, p.sw, r) } else { None };
            let Some(f) = fast else {
                let kernel = if r == 0 { I::BIAS } else { I::GENERIC };
                // SAFETY: the caller's contract; n < batch and oy < out_h, so the row is inside
                // the slices; the bias kernel takes rows without, the generic any row with
                // valid kernel rows.
                unsafe { kernel(cx, &row) };
                continue;
            };
            p.set_rows(&mut row);
            // SAFETY: the caller's contract; the kernel matches (kw, sw, r) and the row pointers
            // were set for every valid kernel row.
            unsafe { f(cx, &row) };
        }
    }
}

/// `act(bias)` over the `out_w` pixels of view `v` of an output row at `out`.
///
/// # Safety
/// The tier's features; `out` has `out_w · C` writable floats; `v` a view of `cx` whose lanes
/// are `V`'s (only the remainder lanes of the env exist when `M`).
#[inline(always)]
pub(crate) unsafe fn bias_view<V: DwVec, const M: bool>(cx: &Ctx<V::Env>, out: *mut f32, v: View) {
    // SAFETY: the view's bias is inside the packed tile; every pixel's view lanes are inside
    // the output row.
    unsafe {
        let bias = V::load(v.wt);
        for ox in 0..cx.p.out_w {
            V::store::<M>(out.add(ox * cx.p.c + v.ch), bias, &cx.env);
        }
    }
}

/// Runs `$body` with `$r` bound to each constant `0, 1, …, $n − 1` (`$n <= MAX_FAST_K`), fully
/// unrolled: every index into the per-row arrays is a constant, so LLVM keeps them in
/// registers (a rolled loop would index them in memory).
macro_rules! unroll_rows {
    ($n:expr, |$r:ident| $body:block) => {{
        const _: () = assert!(MAX_FAST_K == 7);
        unroll_rows!(@ $n, $r, $body; 0 1 2 3 4 5 6)
    }};
    (@ $n:expr, $r:ident, $body:block; $($i:literal)*) => {{
        $(if $i < $n {
            let $r = $i;
            $body
        })*
    }};
}

/// Weights of kernel row `ky` of view `v`: `KW` taps.
///
/// # Safety
/// The tier's features; `ky < kh` of a plan with `kw == KW`, `v` a view of it.
#[inline(always)]
unsafe fn wrow<V: DwVec, const KW: usize>(v: View, ky: usize) -> [V; KW] {
    // SAFETY: the caller's features; no memory access.
    let mut w = [unsafe { V::zero() }; KW];
    for (kx, wv) in w.iter_mut().enumerate() {
        // SAFETY: tap ky·KW + kx < kh·kw is inside the tile; the view's lanes are in the tap.
        *wv = unsafe { V::load(v.wt.add(V::TAP_STRIDE * (1 + ky * KW + kx))) };
    }
    w
}

/// The weights of valid kernel row `r` (`ky0 + r`): from the registers loaded once per row
/// and view when `KW <= HOIST_K`, else loaded now.
///
/// # Safety
/// As [`wrow`] for `ky0 + r`.
#[inline(always)]
unsafe fn wsel<V: DwVec, const KW: usize, const R: usize>(
    hoisted: &[[V; KW]; R],
    v: View,
    ky0: usize,
    r: usize,
) -> [V; KW] {
    // SAFETY: forwarded from the caller.
    if KW <= V::HOIST_K { hoisted[r] } else { unsafe { wrow::<V, KW>(v, ky0 + r) } }
}

/// Accumulates one kernel row into `B` interior pixels: sweeps the `(B−1)·S + KW` input
/// columns from `base` (column stride `cs`) once, each loaded vector feeding every pixel `j`
/// whose tap `kx = c − j·S` is in `0..KW`.
///
/// # Safety
/// The tier's features; every column `base + c·cs` (all its lanes) is readable.
#[inline(always)]
unsafe fn row_accum<V: DwVec, const KW: usize, const S: usize, const B: usize>(
    acc: &mut [V; B],
    base: *const f32,
    cs: usize,
    w: &[V; KW],
) {
    for c in 0..(B - 1) * S + KW {
        // SAFETY: forwarded from the caller (features, readable columns).
        unsafe {
            let x = V::load(base.add(c * cs));
            for (j, a) in acc.iter_mut().enumerate() {
                if c >= j * S && c - j * S < KW {
                    *a = V::fma(*a, x, w[c - j * S]);
                }
            }
        }
    }
}

/// `B` interior output pixels of view `v`: `row.rows[r] + off` is the first tap of the first
/// pixel in kernel row `r`, pixel `j`, tap `kx` reads `rows[r] + off + (j·S + kx)·cs` and is
/// stored at `out + j·cs`. With [`DwVec::SWEEP`] each input column is loaded once per kernel
/// row ([`row_accum`]) and the bias is reloaded (one load) rather than kept in registers; else
/// one load per pixel and tap (the compiler merges the repeated ones) with the weights of all
/// `R` rows in registers.
///
/// # Safety
/// As [`fast_view`]; the block's pixels are interior columns (every tap inside the input) and
/// `out + j·cs` their outputs.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn block<V: DwVec, const KW: usize, const R: usize, const S: usize, const B: usize>(
    cx: &Ctx<V::Env>,
    row: &Row,
    v: View,
    (off, out): (usize, *mut f32),
    cs: usize,
    w: &[[V; KW]; R],
    bias: V,
) {
    // SAFETY: interior pixels have every tap inside the input (Plan::ox_lo/ox_hi), the row
    // pointers are valid input rows and the view's lanes are inside each pixel; the outputs
    // are inside the output row.
    unsafe {
        let mut acc = [if V::SWEEP { V::load(v.wt) } else { bias }; B];
        if V::SWEEP {
            unroll_rows!(R, |r| {
                let wr = wsel::<V, KW, R>(w, v, row.ky0, r);
                row_accum::<V, KW, S, B>(&mut acc, row.rows[r].add(off), cs, &wr);
            });
        } else {
            for (r, wr) in w.iter().enumerate() {
                let base = row.rows[r].add(off);
                for (kx, &wv) in wr.iter().enumerate() {
                    for (j, a) in acc.iter_mut().enumerate() {
                        *a = V::fma(*a, V::load(base.add((j * S + kx) * cs)), wv);
                    }
                }
            }
        }
        for (j, a) in acc.into_iter().enumerate() {
            V::store::<false>(out.add(j * cs), a, &cx.env);
        }
    }
}

/// `E` consecutive border pixels from `ox` of the specialised path, one accumulator per pixel
/// (independent chains), each pixel visiting only its horizontal taps inside the input; with
/// `E == 1`, four accumulators (kernel row mod 4) shorten the single chain instead.
///
/// # Safety
/// As [`fast_view`]; `ox + E <= out_w`.
#[inline(always)]
unsafe fn edge_block<V: DwVec, const KW: usize, const R: usize, const S: usize, const E: usize>(
    cx: &Ctx<V::Env>,
    row: &Row,
    v: View,
    ox: usize,
    w: &[[V; KW]; R],
    bias: V,
) {
    let p = &cx.p;
    let cs = p.c;
    let end = p.pl + p.in_w;
    // SAFETY: a tap is visited only when pl <= pos + kx < pl + in_w, i.e. inside the input
    // row; the row pointers are valid input rows and the view's lanes are inside the pixel.
    unsafe {
        let z = V::zero();
        if E == 1 {
            let pos = ox * S;
            // Horizontal dilation 1: tap kx is inside iff pl <= pos + kx < pl + in_w.
            let kx0 = p.pl.saturating_sub(pos);
            let kx1 = end.saturating_sub(pos).min(KW);
            let mut acc = [bias, z, z, z];
            unroll_rows!(R, |r| {
                let wr = wsel::<V, KW, R>(w, v, row.ky0, r);
                for (kx, &wv) in wr.iter().enumerate() {
                    if kx >= kx0 && kx < kx1 {
                        let x = V::load(row.rows[r].add((pos + kx - p.pl) * cs + v.ch));
                        acc[r & 3] = V::fma(acc[r & 3], x, wv);
                    }
                }
            });
            let sum = V::add(V::add(acc[0], acc[1]), V::add(acc[2], acc[3]));
            V::store::<false>(row.out.add(ox * cs + v.ch), sum, &cx.env);
            return;
        }
        let mut acc = [bias; E];
        unroll_rows!(R, |r| {
            let wr = wsel::<V, KW, R>(w, v, row.ky0, r);
            for (kx, &wv) in wr.iter().enumerate() {
                for (j, a) in acc.iter_mut().enumerate() {
                    let at = (ox + j) * S + kx;
                    if at >= p.pl && at < end {
                        let x = V::load(row.rows[r].add((at - p.pl) * cs + v.ch));
                        *a = V::fma(*a, x, wv);
                    }
                }
            }
        });
        for (j, a) in acc.into_iter().enumerate() {
            V::store::<false>(row.out.add((ox + j) * cs + v.ch), a, &cx.env);
        }
    }
}

/// Border pixels `ox0..ox1` of view `v`: blocks of 4 and 2 for 5×5 and 7×7 when the tier
/// wants them (their border runs are longer and a single pixel's chain is long; for 3×3 the
/// extra code slowed the interior down), then single pixels.
///
/// # Safety
/// As [`fast_view`]; `ox1 <= out_w`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn edge_range<V: DwVec, const KW: usize, const R: usize, const S: usize>(
    cx: &Ctx<V::Env>,
    row: &Row,
    v: View,
    ox0: usize,
    ox1: usize,
    w: &[[V; KW]; R],
    bias: V,
) {
    let mut ox = ox0;
    // SAFETY: forwarded from the caller; every block stays below ox1.
    unsafe {
        if V::EDGE_BLOCKS && KW >= 5 {
            while ox + 4 <= ox1 {
                edge_block::<V, KW, R, S, 4>(cx, row, v, ox, w, bias);
                ox += 4;
            }
            if ox + 2 <= ox1 {
                edge_block::<V, KW, R, S, 2>(cx, row, v, ox, w, bias);
                ox += 2;
            }
        }
        while ox < ox1 {
            edge_block::<V, KW, R, S, 1>(cx, row, v, ox, w, bias);
            ox += 1;
        }
    }
}

/// One output row of view `v`, `KW × KW` kernel (horizontal dilation 1) with `R` valid rows,
/// stride `S`, interior blocks of `B` pixels.
///
/// # Safety
/// The tier's features; `cx.p` has `kh == kw == KW`, `sw == S`, `dw == 1`; `row` is an output
/// row of it with `ky1 − ky0 == R` and `rows` set; `row.out` has `out_w · C` writable floats;
/// `v` a view of `cx` whose lanes are `V`'s (all lanes exist).
#[inline(always)]
pub(crate) unsafe fn fast_view<V: DwVec, const KW: usize, const R: usize, const S: usize, const B: usize>(
    cx: &Ctx<V::Env>,
    row: &Row,
    v: View,
) {
    let p = &cx.p;
    let (lo, hi, cs) = (p.ox_lo, p.ox_hi, p.c);
    // SAFETY: the caller guarantees features and bounds; the view's bias and kernel rows
    // ky0..ky0+R are inside its packed tile; the blocks cover interior columns only (every one
    // inside lo..hi, hi - B >= lo for the shifted one) and the edges the border columns.
    unsafe {
        let bias = V::load(v.wt);
        let mut w = [[V::zero(); KW]; R];
        if KW <= V::HOIST_K {
            unroll_rows!(R, |r| {
                w[r] = wrow::<V, KW>(v, row.ky0 + r);
            });
        }
        edge_range::<V, KW, R, S>(cx, row, v, 0, lo, &w, bias);
        let at = |ox: usize| ((ox * S - p.pl) * cs + v.ch, row.out.add(ox * cs + v.ch));
        let mut ox = lo;
        while ox + B <= hi {
            block::<V, KW, R, S, B>(cx, row, v, at(ox), cs, &w, bias);
            ox += B;
        }
        if V::OVERLAP && hi - lo >= B {
            if ox < hi {
                // One block ending at the last interior column: its first pixels are
                // recomputed with the same operations, so stored again with the same values.
                block::<V, KW, R, S, B>(cx, row, v, at(hi - B), cs, &w, bias);
            }
        } else {
            // The remainder (fewer than B <= 15 pixels) as blocks of 8, 4, 2 and 1.
            let left = hi - ox;
            if B > 8 && left & 8 != 0 {
                block::<V, KW, R, S, 8>(cx, row, v, at(ox), cs, &w, bias);
                ox += 8;
            }
            if left & 4 != 0 {
                block::<V, KW, R, S, 4>(cx, row, v, at(ox), cs, &w, bias);
                ox += 4;
            }
            if left & 2 != 0 {
                block::<V, KW, R, S, 2>(cx, row, v, at(ox), cs, &w, bias);
                ox += 2;
            }
            if left & 1 != 0 {
                block::<V, KW, R, S, 1>(cx, row, v, at(ox), cs, &w, bias);
            }
        }
        edge_range::<V, KW, R, S>(cx, row, v, hi, cx.p.out_w, &w, bias);
    }
}

/// [`fast_view`] of view `v` for a row with all `KW` kernel rows valid and, if given, the next
/// one (the input rows they share are still in L1 for the second).
///
/// # Safety
/// As [`fast_view`] with `R == KW`, for both rows.
#[inline(always)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))] // only AVX-512 pairs rows
pub(crate) unsafe fn pair_view<V: DwVec, const KW: usize, const S: usize, const B: usize>(
    cx: &Ctx<V::Env>,
    a: &Row,
    b: Option<&Row>,
    v: View,
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        fast_view::<V, KW, KW, S, B>(cx, a, v);
        if let Some(b) = b {
            fast_view::<V, KW, KW, S, B>(cx, b, v);
        }
    }
}

/// One output pixel of view `v` for any geometry, visiting only its valid taps (border
/// pixels); two accumulators (kernel row parity).
///
/// # Safety
/// As [`generic_view`]; `ox < out_w`.
#[inline(always)]
unsafe fn border_pixel<V: DwVec, const M: bool>(cx: &Ctx<V::Env>, row: &Row, v: View, ox: usize, bias: V) {
    let p = &cx.p;
    let (kx0, kx1) = p.col_taps(ox);
    // SAFETY: (iy, ix) is inside the input image (valid taps) and the view's lanes are in the
    // pixel; the weights are inside the tile; the output pixel is inside the row.
    unsafe {
        let mut acc = [bias, V::zero()];
        for ky in row.ky0..row.ky1 {
            let iy = row.pos + ky * p.dh - p.pt;
            for kx in kx0..kx1 {
                let ix = ox * p.sw + kx * p.dw - p.pl;
                let x = V::load_in::<M>(row.img.add((iy * p.in_w + ix) * p.c + v.ch), &cx.env);
                let w = V::load(v.wt.add(V::TAP_STRIDE * (1 + ky * p.kw + kx)));
                acc[ky & 1] = V::fma(acc[ky & 1], x, w);
            }
        }
        V::store::<M>(row.out.add(ox * p.c + v.ch), V::add(acc[0], acc[1]), &cx.env);
    }
}

/// `B` interior pixels from `ox` of view `v` for any kernel, stride and dilation (run-time tap
/// loops; each weight load feeds the `B` pixels).
///
/// # Safety
/// As [`generic_view`]; `ox..ox + B` interior columns (every tap inside the input).
#[inline(always)]
unsafe fn generic_block<V: DwVec, const B: usize, const M: bool>(
    cx: &Ctx<V::Env>,
    row: &Row,
    v: View,
    ox: usize,
    bias: V,
) {
    let p = &cx.p;
    let cs = p.c;
    let (xs, xd) = (p.sw * cs, p.dw * cs);
    // SAFETY: every (iy, ix) visited is inside the input (valid kernel rows, interior columns)
    // and every weight inside the tile; the outputs are inside the row.
    unsafe {
        let wt = v.wt.add(V::TAP_STRIDE);
        let mut acc = [bias; B];
        for ky in row.ky0..row.ky1 {
            let iy = row.pos + ky * p.dh - p.pt;
            let base = row.img.add((iy * p.in_w + ox * p.sw - p.pl) * cs + v.ch);
            let wr = wt.add(ky * p.kw * V::TAP_STRIDE);
            for kx in 0..p.kw {
                let w = V::load(wr.add(kx * V::TAP_STRIDE));
                let px = base.add(kx * xd);
                for (j, a) in acc.iter_mut().enumerate() {
                    *a = V::fma(*a, V::load_in::<M>(px.add(j * xs), &cx.env), w);
                }
            }
        }
        for (j, a) in acc.into_iter().enumerate() {
            V::store::<M>(row.out.add((ox + j) * cs + v.ch), a, &cx.env);
        }
    }
}

/// One output row of view `v`, any geometry; interior blocks of `B` pixels.
///
/// # Safety
/// The tier's features; `row` is an output row of `cx.p` with a non-empty kernel-row range and
/// `row.out` has `out_w · C` writable floats; `v` a view of `cx` whose lanes are `V`'s (only the
/// env's remainder lanes exist when `M`).
#[inline(always)]
pub(crate) unsafe fn generic_view<V: DwVec, const B: usize, const M: bool>(
    cx: &Ctx<V::Env>,
    row: &Row,
    v: View,
) {
    let p = &cx.p;
    let (lo, hi) = (p.ox_lo, p.ox_hi);
    // SAFETY: forwarded from the caller; lo..hi are interior columns, the rest border columns.
    unsafe {
        let bias = V::load(v.wt);
        for ox in 0..lo {
            border_pixel::<V, M>(cx, row, v, ox, bias);
        }
        let mut ox = lo;
        while ox + B <= hi {
            generic_block::<V, B, M>(cx, row, v, ox, bias);
            ox += B;
        }
        if V::OVERLAP && ox < hi && hi - lo >= B {
            // The remainder as one block ending at hi (recomputed pixels get the same values).
            generic_block::<V, B, M>(cx, row, v, hi - B, bias);
        } else {
            while ox < hi {
                generic_block::<V, 1, M>(cx, row, v, ox, bias);
                ox += 1;
            }
        }
        for ox in hi..p.out_w {
            border_pixel::<V, M>(cx, row, v, ox, bias);
        }
    }
}
