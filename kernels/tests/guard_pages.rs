//! Guard-page tests: every tier's packed contract (`F_pack` then `F_run`) with its input, its
//! weights/bias/packed buffer and its output each placed flush against an inaccessible page.
//!
//! [`GuardedBuf`] maps the slice with `mmap` so that either its first element directly follows
//! a `PROT_NONE` page ([`Place::Front`]) or its last element directly precedes one
//! ([`Place::Back`]). Any read or write past either end of a slice (a SIMD tail that loads or
//! stores a whole vector past the last channel, a packed panel read one tile too far, ...)
//! faults with SIGSEGV and kills the test binary, so a pass means no access left the slices.
//! The NaN-poisoned sentinel tests in `simd_*.rs` only catch an over-read that reaches an
//! output; a guard page catches every one, even an access whose value is then discarded.
//!
//! Shapes are small and chosen so the tails end exactly at a buffer's end: channel counts that
//! are not multiples of 4 or 8, tiny widths and heights, kernels 1/3/5/7, strides 1/2,
//! dilations 1/2, paddings 0/1 (asymmetric too), groups 1/2/C, and C == 1 with long rows for
//! the separable passes. Every result is also checked against the reference oracle within
//! `1e-5 · (|bias| + Σ|x·w|)`.
//!
//! To find a faulting case, run with `GUARD_TRACE=1` and `-- --nocapture --test-threads=1`:
//! each case is printed before it runs, so after a SIGSEGV the last line names the kernel, tier,
//! geometry and placement (input, packed, output).
#![cfg(target_os = "linux")]
#![deny(clippy::undocumented_unsafe_blocks)]

mod common;

use std::fmt::Debug;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

use common::{rand_vec, rng};
use sepconv_kernels::{
    Activation, Conv2dGeometry, KernelError, Padding2d, PointwiseShape, SeparableAxis, SeparablePassGeometry,
    portable, reference,
};

/// Relative tolerance on `M = |bias| + Σ|x·w|` (see `simd_separable.rs` for the derivation).
const TOL: f64 = 1e-5;

/// Where a [`GuardedBuf`]'s slice sits relative to its guard page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// The first element directly follows a `PROT_NONE` page (catches under-runs).
    Front,
    /// The last element directly precedes a `PROT_NONE` page (catches over-runs).
    Back,
}

const PLACES: [Place; 2] = [Place::Front, Place::Back];

fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions; _SC_PAGESIZE is a valid name.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    assert!(p > 0, "sysconf(_SC_PAGESIZE) failed");
    p as usize
}

/// An `f32` slice of `len` elements in its own `mmap`ed region, flush against a guard page.
struct GuardedBuf {
    /// Start of the whole mapping (guard page included).
    map: NonNull<libc::c_void>,
    /// Length of the whole mapping in bytes.
    map_len: usize,
    /// First element of the slice, inside the mapping.
    data: NonNull<f32>,
    len: usize,
}

impl GuardedBuf {
    /// A zeroed buffer of `len >= 1` elements placed at `place`.
    fn new(len: usize, place: Place) -> Self {
        assert!(len > 0, "a guarded buffer needs at least one element");
        let page = page_size();
        let bytes = len * size_of::<f32>();
        let data_pages = bytes.div_ceil(page);
        let map_len = (data_pages + 1) * page;
        // SAFETY: an anonymous private mapping at an address of the kernel's choice: no
        // existing memory is affected; the result is checked against MAP_FAILED below.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert!(map != libc::MAP_FAILED, "mmap of {map_len} bytes failed");
        let base = map.cast::<u8>();
        let (guard_offset, data_offset) = match place {
            // Guard page first, the slice starts at the next page boundary.
            Place::Front => (0, page),
            // Data pages then the guard page; the slice ends exactly where the guard starts.
            Place::Back => (data_pages * page, data_pages * page - bytes),
        };
        // SAFETY: `guard_offset + page <= map_len`, so the page lies inside the mapping just
        // created, which nothing else references yet; `base + guard_offset` is page-aligned
        // because mmap returns a page-aligned address and the offset is a multiple of `page`.
        let rc = unsafe { libc::mprotect(base.add(guard_offset).cast(), page, libc::PROT_NONE) };
        assert_eq!(rc, 0, "mprotect of the guard page failed");
        // SAFETY: `data_offset + bytes <= map_len` (Front: page + bytes <= (data_pages + 1) * page;
        // Back: it ends at data_pages * page), so the pointer stays inside the mapping.
        let data = unsafe { base.add(data_offset) }.cast::<f32>();
        assert!(data.is_aligned(), "slice start not aligned for f32");
        Self {
            map: NonNull::new(map).expect("mmap returned null"),
            map_len,
            data: NonNull::new(data).expect("null data pointer"),
            len,
        }
    }

    /// A buffer at `place` holding a copy of `values`.
    fn from_slice(values: &[f32], place: Place) -> Self {
        let mut b = Self::new(values.len(), place);
        b.copy_from_slice(values);
        b
    }
}

impl Deref for GuardedBuf {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        // SAFETY: `data..data + len` lies in the readable/writable (not the guard) pages of a
        // mapping owned by `self` and alive until drop; it is 4-byte aligned, initialised
        // (anonymous pages are zero-filled, and zero bits are 0.0f32), and borrowed through
        // `&self`, so no `&mut` alias exists.
        unsafe { std::slice::from_raw_parts(self.data.as_ptr(), self.len) }
    }
}

impl DerefMut for GuardedBuf {
    fn deref_mut(&mut self) -> &mut [f32] {
        // SAFETY: as in `deref`; `&mut self` guarantees the only live reference to the slice.
        unsafe { std::slice::from_raw_parts_mut(self.data.as_ptr(), self.len) }
    }
}

impl Drop for GuardedBuf {
    fn drop(&mut self) {
        // SAFETY: `map`/`map_len` are exactly the region returned by our mmap, unmapped once
        // here; no slice borrowed from `self` can outlive it.
        let rc = unsafe { libc::munmap(self.map.as_ptr(), self.map_len) };
        debug_assert_eq!(rc, 0, "munmap failed");
    }
}

/// The placement itself (that an access past the slice faults is not testable in-process
/// without a signal handler, but where the slice sits relative to the guard page is).
#[test]
fn guarded_buf_is_flush_against_its_guard_page() {
    let page = page_size();
    for len in [1, 3, 1023, 1024, 1025, 5000] {
        let front = GuardedBuf::new(len, Place::Front);
        assert_eq!(front.as_ptr() as usize % page, 0, "Front slice must start on a page boundary");
        assert_eq!(front.as_ptr() as usize - front.map.as_ptr() as usize, page);
        let back = GuardedBuf::new(len, Place::Back);
        let end = back.as_ptr() as usize + len * size_of::<f32>();
        assert_eq!(end % page, 0, "Back slice must end on a page boundary");
        assert_eq!(end + page, back.map.as_ptr() as usize + back.map_len);
        assert!(front.iter().chain(back.iter()).all(|&x| x == 0.0));
    }
}

// ---------------------------------------------------------------------------------------------
// Tiers and the generic guarded check
// ---------------------------------------------------------------------------------------------

type PackedLen<G> = fn(&G) -> Result<usize, KernelError>;
type Pack<G> = fn(&G, &[f32], Option<&[f32]>, &mut [f32]) -> Result<(), KernelError>;
type Run<G> = fn(&G, &[f32], &[f32], Activation, &mut [f32]) -> Result<(), KernelError>;
type Oracle<G> = fn(&G, &[f32], &[f32], Option<&[f32]>, Activation, &mut [f32]) -> Result<(), KernelError>;

/// One tier's implementation of one family's packed contract.
struct Tier<G> {
    name: &'static str,
    packed_len: PackedLen<G>,
    pack: Pack<G>,
    run: Run<G>,
}

impl<G> Clone for Tier<G> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<G> Copy for Tier<G> {}

/// The tiers this host can run, reference first.
macro_rules! tiers {
    ($module:ident, $len:ident, $pack:ident, $run:ident) => {{
        #[allow(unused_mut)]
        let mut t: Vec<Tier<_>> = vec![
            Tier {
                name: "reference",
                packed_len: reference::$len,
                pack: reference::$pack,
                run: reference::$run,
            },
            Tier {
                name: "portable",
                packed_len: portable::$module::$len,
                pack: portable::$module::$pack,
                run: portable::$module::$run,
            },
        ];
        #[cfg(target_arch = "x86_64")]
        if sepconv_kernels::x86_64::is_available() {
            t.push(Tier {
                name: "avx2",
                packed_len: sepconv_kernels::x86_64::$module::$len,
                pack: sepconv_kernels::x86_64::$module::$pack,
                run: sepconv_kernels::x86_64::$module::$run,
            });
        }
        #[cfg(target_arch = "aarch64")]
        if sepconv_kernels::aarch64::is_available() {
            t.push(Tier {
                name: "neon",
                packed_len: sepconv_kernels::aarch64::$module::$len,
                pack: sepconv_kernels::aarch64::$module::$pack,
                run: sepconv_kernels::aarch64::$module::$run,
            });
        }
        t
    }};
}

/// Buffer lengths of one case.
#[derive(Clone, Copy)]
struct Lens {
    input: usize,
    weights: usize,
    bias: usize,
    output: usize,
}

/// A case known to fault on a guard page, to be skipped until its kernel is fixed:
/// `(family, tier, predicate on the debug string of the geometry, placement)`.
/// Empty: no kernel faulted when this file was written.
fn known_fault(
    _family: &str,
    _tier: &str,
    _geometry: &str,
    _place: (Place, Place, Place),
) -> Option<&'static str> {
    None
}

fn trace() -> bool {
    std::env::var_os("GUARD_TRACE").is_some()
}

/// Counts of what one family's test ran.
#[derive(Default, Debug)]
struct Counts {
    geometries: usize,
    runs: usize,
    skipped: usize,
}

/// Packs and runs `g` on every tier with input, weights/bias/packed and output at every
/// combination of [`PLACES`], comparing each output with the oracle.
fn check_guarded<G: Debug>(
    family: &str,
    g: &G,
    lens: Lens,
    tiers: &[Tier<G>],
    oracle: Oracle<G>,
    seed: u64,
    counts: &mut Counts,
) {
    let mut r = rng(seed);
    let input = rand_vec(&mut r, lens.input);
    let weights = rand_vec(&mut r, lens.weights);
    let bias = (!seed.is_multiple_of(3)).then(|| rand_vec(&mut r, lens.bias));
    let act = match seed % 4 {
        0 => Activation::None,
        1 => Activation::Relu,
        2 => Activation::Relu6,
        _ => Activation::Clamp { min: -0.75, max: 0.5 },
    };

    // Expected values and the tolerance scale M = |b| + Σ|x·w| (the oracle on absolute values).
    let mut expected = vec![0.0f32; lens.output];
    oracle(g, &input, &weights, bias.as_deref(), act, &mut expected).expect("oracle");
    let abs = |v: &[f32]| v.iter().map(|x| x.abs()).collect::<Vec<_>>();
    let mut magnitude = vec![0.0f32; lens.output];
    let abs_bias = bias.as_deref().map(abs);
    oracle(g, &abs(&input), &abs(&weights), abs_bias.as_deref(), Activation::None, &mut magnitude)
        .expect("oracle on magnitudes");

    let geometry = format!("{g:?}");
    let inputs = PLACES.map(|p| GuardedBuf::from_slice(&input, p));
    let mut outputs = PLACES.map(|p| GuardedBuf::new(lens.output, p));
    for tier in tiers {
        let packed_len = (tier.packed_len)(g).expect("packed_len");
        for &p_pack in &PLACES {
            let w = GuardedBuf::from_slice(&weights, p_pack);
            let b = bias.as_deref().map(|b| GuardedBuf::from_slice(b, p_pack));
            let mut packed = GuardedBuf::new(packed_len, p_pack);
            if trace() {
                eprintln!("{family} {} pack {p_pack:?} {geometry}", tier.name);
            }
            (tier.pack)(g, &w, b.as_deref(), &mut packed)
                .unwrap_or_else(|e| panic!("{family} {} pack {geometry}: {e:?}", tier.name));
            for (ii, &p_in) in PLACES.iter().enumerate() {
                for (oi, &p_out) in PLACES.iter().enumerate() {
                    let place = (p_in, p_pack, p_out);
                    if let Some(why) = known_fault(family, tier.name, &geometry, place) {
                        eprintln!("SKIPPED {family} {} {place:?} {geometry}: {why}", tier.name);
                        counts.skipped += 1;
                        continue;
                    }
                    if trace() {
                        eprintln!("{family} {} run in/packed/out {place:?} {geometry}", tier.name);
                    }
                    let out = &mut outputs[oi];
                    out.fill(f32::NAN);
                    (tier.run)(g, &inputs[ii], &packed, act, out)
                        .unwrap_or_else(|e| panic!("{family} {} run {geometry}: {e:?}", tier.name));
                    check_values(out, &expected, &magnitude, || {
                        format!("{family} {} seed {seed} in/packed/out {place:?} {geometry}", tier.name)
                    });
                    counts.runs += 1;
                }
            }
        }
    }
    counts.geometries += 1;
}

#[track_caller]
fn check_values(actual: &[f32], expected: &[f32], magnitude: &[f32], ctx: impl Fn() -> String) {
    for (i, ((&a, &e), &m)) in actual.iter().zip(expected).zip(magnitude).enumerate() {
        let diff = (f64::from(a) - f64::from(e)).abs();
        let tol = TOL * f64::from(m);
        assert!(
            a.is_finite() && diff <= tol,
            "{}: element {i}: got {a}, expected {e}, |diff| {diff:e} > tol {tol:e}",
            ctx()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Shapes
// ---------------------------------------------------------------------------------------------

const CHANNELS: [usize; 7] = [1, 3, 5, 7, 9, 13, 17];
const WIDTHS: [usize; 5] = [1, 2, 3, 5, 9];
const KERNELS: [usize; 4] = [1, 3, 5, 7];
const PADS: [Padding2d; 4] = [
    Padding2d::ZERO,
    Padding2d::uniform(1),
    Padding2d { top: 1, left: 0, bottom: 0, right: 1 },
    Padding2d { top: 0, left: 1, bottom: 1, right: 0 },
];

/// The smallest input extent `>= want` for which the dilated kernel fits in the padded input.
fn fit(want: usize, kernel: usize, dilation: usize, pads: usize) -> usize {
    let extent = (kernel - 1) * dilation + 1;
    want.max(extent.saturating_sub(pads)).max(1)
}

/// Spatial variants of a convolution over `(C, W, k)`: heights 1–3, strides, dilations and
/// paddings rotate with `i` so that each value meets every channel count and kernel.
fn conv_geometry(i: usize, in_c: usize, out_c: usize, groups: usize, w: usize, k: usize) -> Conv2dGeometry {
    let (stride, dilation, pad) = (1 + i % 2, 1 + (i / 2) % 2, PADS[(i / 4 + i) % PADS.len()]);
    // A non-square kernel now and then (k × 1 or 1 × k).
    let (kh, kw) = match i % 7 {
        5 => (k, 1),
        6 => (1, k),
        _ => (k, k),
    };
    let h = fit(1 + i % 3, kh, dilation, pad.top + pad.bottom);
    let w = fit(w, kw, dilation, pad.left + pad.right);
    Conv2dGeometry::new(1 + usize::from(i % 11 == 10), h, w, in_c, out_c, kh, kw)
        .with_stride(stride, 1 + (i / 3) % 2)
        .with_dilation(dilation, 1 + (i / 5) % 2)
        .with_padding(pad)
        .with_groups(groups)
}

/// Re-fits the width and height of `g` so that the kernel fits after stride/dilation changes.
fn refit(mut g: Conv2dGeometry) -> Conv2dGeometry {
    let p = g.padding;
    g.in_h = fit(g.in_h, g.kernel_h, g.dilation_h, p.top + p.bottom);
    g.in_w = fit(g.in_w, g.kernel_w, g.dilation_w, p.left + p.right);
    g
}

fn conv_lens(g: &Conv2dGeometry) -> Lens {
    let d = g.validate().unwrap_or_else(|e| panic!("invalid test geometry {g:?}: {e:?}"));
    Lens { input: d.input_len, weights: d.weight_len, bias: g.out_c, output: d.output_len }
}

#[test]
fn dwconv_guarded() {
    #[allow(unused_mut)]
    let mut tiers = tiers!(dwconv, dwconv_packed_len, dwconv_pack, dwconv_run);
    // The AVX-512 tier's own depthwise kernel (16-lane tiles; its other shapes run the AVX2
    // code).
    #[cfg(target_arch = "x86_64")]
    if sepconv_kernels::avx512::is_available() {
        use sepconv_kernels::avx512::dwconv as z;
        tiers.push(Tier {
            name: "avx512",
            packed_len: z::dwconv_packed_len,
            pack: z::dwconv_pack,
            run: z::dwconv_run,
        });
    }
    // Besides the shared sets: a full 16-lane tile, one plus a tail (the last masked access
    // ends at the buffer's end), and interiors of 12+ columns (full register blocks and the
    // shifted last block).
    let channels = CHANNELS.iter().chain(&[16, 31, 33]);
    let mut counts = Counts::default();
    let mut i = 0;
    for &c in channels {
        for &w in WIDTHS.iter().chain(&[17, 30]) {
            for &k in &KERNELS {
                for _ in 0..2 {
                    let g = refit(conv_geometry(i, c, c, c, w, k));
                    check_guarded(
                        "dwconv",
                        &g,
                        conv_lens(&g),
                        &tiers,
                        reference::dwconv,
                        i as u64,
                        &mut counts,
                    );
                    i += 1;
                }
            }
        }
    }
    eprintln!("dwconv: {counts:?} over {} tiers", tiers.len());
}

#[test]
fn conv2d_guarded() {
    #[allow(unused_mut)]
    let mut tiers = tiers!(conv2d, conv2d_packed_len, conv2d_pack, conv2d_run);
    // The AVX-512 tier's own dense/grouped convolution (its narrow plan runs the AVX2 code).
    #[cfg(target_arch = "x86_64")]
    if sepconv_kernels::avx512::is_available() {
        use sepconv_kernels::avx512::conv2d as z;
        tiers.push(Tier {
            name: "avx512",
            packed_len: z::conv2d_packed_len,
            pack: z::conv2d_pack,
            run: z::conv2d_run,
        });
    }
    // (in_c, out_c, groups): dense, groups = 2, and groups = C (depthwise, multiplier 1 and 2).
    let mut channel_sets = Vec::new();
    for (j, &c) in CHANNELS.iter().enumerate() {
        channel_sets.push((c, CHANNELS[(j + 2) % CHANNELS.len()], 1));
        channel_sets.push((c, c, c));
        channel_sets.push((c, 2 * c, c));
    }
    for (a, b) in [(2, 2), (2, 6), (6, 10), (10, 6), (14, 18), (18, 2)] {
        channel_sets.push((a, b, 2));
    }
    // The AVX-512 wide plan's blocks: 16-lane, 32-lane, and a full block plus either (the last
    // vector's masked stores end at the output's end), one group and two.
    for (a, b, groups) in [(3, 32, 1), (3, 33, 1), (5, 47, 1), (4, 50, 2), (6, 62, 2)] {
        channel_sets.push((a, b, groups));
    }
    let mut counts = Counts::default();
    let mut i = 0;
    for &(in_c, out_c, groups) in &channel_sets {
        for &w in &WIDTHS {
            for &k in &KERNELS[..3] {
                let g = refit(conv_geometry(i, in_c, out_c, groups, w, k));
                check_guarded("conv2d", &g, conv_lens(&g), &tiers, reference::conv2d, i as u64, &mut counts);
                i += 1;
            }
        }
        // One 7×7 per channel set.
        let g = refit(conv_geometry(i, in_c, out_c, groups, 3, 7));
        check_guarded("conv2d", &g, conv_lens(&g), &tiers, reference::conv2d, i as u64, &mut counts);
        i += 1;
    }
    eprintln!("conv2d: {counts:?} over {} tiers", tiers.len());
}

#[test]
fn pointwise_guarded() {
    #[allow(unused_mut)]
    let mut tiers = tiers!(pointwise, pointwise_packed_len, pointwise_pack, pointwise_run);
    // The AVX-512 tier has its own kernel only for the GEMM (its other ops are the AVX2 ones).
    #[cfg(target_arch = "x86_64")]
    if sepconv_kernels::avx512::is_available() {
        use sepconv_kernels::avx512::pointwise as z;
        tiers.push(Tier {
            name: "avx512",
            packed_len: z::pointwise_packed_len,
            pack: z::pointwise_pack,
            run: z::pointwise_run,
        });
    }
    let mut counts = Counts::default();
    let mut i = 0usize;
    for m in 1..=13 {
        for k in 1..=19 {
            // Two N per (M, K), rotating through 1..=37 so every N meets many M and K.
            for n in [1 + (i * 7) % 37, 1 + (i * 7 + 18) % 37] {
                let s = PointwiseShape { pixels: m, in_c: k, out_c: n };
                let lens = Lens { input: m * k, weights: n * k, bias: n, output: m * n };
                check_guarded("pointwise", &s, lens, &tiers, reference::pointwise, i as u64, &mut counts);
                i += 1;
            }
        }
    }
    eprintln!("pointwise: {counts:?} over {} tiers", tiers.len());
}

fn pass_geometry(
    axis: SeparableAxis,
    i: usize,
    c: usize,
    h: usize,
    w: usize,
    k: usize,
) -> SeparablePassGeometry {
    let (pad_before, pad_after) = [(0, 0), (1, 1), (1, 0), (0, 1)][(i / 4 + i) % 4];
    let (stride, dilation) = (1 + i % 2, 1 + (i / 2) % 2);
    let pads = pad_before + pad_after;
    let (in_h, in_w) = match axis {
        SeparableAxis::Row => (h, fit(w, k, dilation, pads)),
        SeparableAxis::Column => (fit(h, k, dilation, pads), w),
    };
    SeparablePassGeometry {
        axis,
        batch: 1 + usize::from(i % 11 == 10),
        in_h,
        in_w,
        channels: c,
        kernel: k,
        stride,
        dilation,
        pad_before,
        pad_after,
    }
}

fn separable_guarded(axis: SeparableAxis) {
    let tiers: Vec<Tier<SeparablePassGeometry>> = match axis {
        SeparableAxis::Row => tiers!(separable, separable_packed_len, separable_pack, row_pass_run),
        SeparableAxis::Column => tiers!(separable, separable_packed_len, separable_pack, col_pass_run),
    };
    let oracle: Oracle<SeparablePassGeometry> = match axis {
        SeparableAxis::Row => reference::row_pass,
        SeparableAxis::Column => reference::col_pass,
    };
    let family = match axis {
        SeparableAxis::Row => "row_pass",
        SeparableAxis::Column => "col_pass",
    };
    let mut counts = Counts::default();
    let mut i = 0usize;
    let mut case = |c: usize, h: usize, w: usize, k: usize, counts: &mut Counts| {
        let g = pass_geometry(axis, i, c, h, w, k);
        let d = g.validate().unwrap_or_else(|e| panic!("invalid test geometry {g:?}: {e:?}"));
        let lens = Lens { input: d.input_len, weights: d.weight_len, bias: c, output: d.output_len };
        check_guarded(family, &g, lens, &tiers, oracle, i as u64, counts);
        i += 1;
    };
    for &c in &CHANNELS {
        for &w in &WIDTHS {
            for &k in &KERNELS {
                for h in 1..=3 {
                    if (c + w + k + h) % 2 == 0 {
                        case(c, h, w, k, &mut counts);
                    }
                }
            }
        }
    }
    // C == 1: the SIMD kernels vectorise along the row; long rows end at the boundary.
    for w in 1..=37 {
        for &k in &KERNELS {
            case(1, 1 + w % 3, w, k, &mut counts);
        }
    }
    eprintln!("{family}: {counts:?} over {} tiers", tiers.len());
}

#[test]
fn row_pass_guarded() {
    separable_guarded(SeparableAxis::Row);
}

#[test]
fn col_pass_guarded() {
    separable_guarded(SeparableAxis::Column);
}
