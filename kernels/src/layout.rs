//! Layout conversion: the fastest matrix transpose this CPU runs (NCHW <-> NHWC is a
//! per-image transpose). Not an ISA tier choice: the result is identical (a copy), so the
//! best implementation available is always used.
//!
//! Every tier with a transpose (`portable::layout`, `x86_64::layout`, and the dispatched one
//! here) has the same two safe functions, made by `transpose_entry_points!` around the tier's
//! one raw kernel: the length and stride checks are written once, here.

use crate::KernelError;
use crate::error::{check_len, checked_product};

/// Checks the slices of a contiguous `rows × cols` transpose: `rows·cols` must not overflow
/// and both `src` and `dst` must hold exactly that many elements.
pub(crate) fn check_contiguous(
    rows: usize,
    cols: usize,
    src_len: usize,
    dst_len: usize,
) -> Result<(), KernelError> {
    let len = checked_product("matrix length", &[rows, cols])?;
    check_len("src", len, src_len)?;
    check_len("dst", len, dst_len)
}

/// The extents of a checked strided transpose, the argument of every tier's raw kernel
/// `unsafe fn(Extents, src: *const f32, dst: *mut f32)`, whose safety contract is: `src`
/// points to `rows` readable rows of `cols` floats at stride `ld_src` and `dst` to `cols`
/// writable rows of `rows` floats at stride `ld_dst`, not overlapping.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Extents {
    /// Rows of the source matrix (columns of the destination).
    pub rows: usize,
    /// Columns of the source matrix (rows of the destination).
    pub cols: usize,
    /// Source row stride, `>= cols`.
    pub ld_src: usize,
    /// Destination row stride, `>= rows`.
    pub ld_dst: usize,
}

/// Makes a tier's safe `transpose` and `transpose_strided` around `$kernel`, a raw kernel
/// (see [`Extents`]) that may also assume `$ensure` returned `Ok` (the tier's CPU features are
/// present). `$cpu` ends the error docs.
macro_rules! transpose_entry_points {
    ($ensure:expr, $kernel:path, $cpu:literal) => {
        #[doc = concat!(
            "Writes the transpose of the row-major `rows × cols` matrix `src` into `dst` ",
            "(`dst[c·rows + r] = src[r·cols + c]`). Errors (nothing written): `rows·cols` ",
            "overflows, or a slice whose length is not `rows·cols`", $cpu, "."
        )]
        pub fn transpose(rows: usize, cols: usize, src: &[f32], dst: &mut [f32]) -> Result<(), $crate::KernelError> {
            $crate::layout::check_contiguous(rows, cols, src.len(), dst.len())?;
            transpose_strided(rows, cols, src, cols, dst, rows)
        }

        #[doc = concat!(
            "As [`transpose`] for matrices inside larger ones: `dst[c·ld_dst + r] = ",
            "src[r·ld_src + c]` for `r < rows`, `c < cols` (row strides `ld_src >= cols`, ",
            "`ld_dst >= rows`); nothing else of `dst` is written. Errors (nothing written): a ",
            "stride below its row length, a slice shorter than its last row's end, overflow", $cpu, "."
        )]
        pub fn transpose_strided(
            rows: usize,
            cols: usize,
            src: &[f32],
            ld_src: usize,
            dst: &mut [f32],
            ld_dst: usize,
        ) -> Result<(), $crate::KernelError> {
            $crate::error::check_strided(rows, cols, src.len(), ld_src, dst.len(), ld_dst)?;
            $ensure?;
            // SAFETY: `$ensure` succeeded (the kernel's CPU features are present) and
            // `check_strided` proved that `rows` rows of `cols` floats at stride `ld_src` lie in
            // `src` and `cols` rows of `rows` floats at stride `ld_dst` lie in `dst`; a `&` and a
            // `&mut` slice do not overlap. That is `$kernel`'s contract.
            unsafe {
                let e = $crate::layout::Extents { rows, cols, ld_src, ld_dst };
                $kernel(e, src.as_ptr(), dst.as_mut_ptr())
            };
            Ok(())
        }
    };
}
pub(crate) use transpose_entry_points;

transpose_entry_points!(
    Ok::<(), KernelError>(()),
    best_transpose,
    " (with the AVX2 kernel where the CPU has AVX2+FMA, the portable one elsewhere)"
);

/// The dispatched raw transpose: a copy where the matrix is a single row or column whose
/// source and destination are both contiguous (a one-channel image's layout conversion),
/// else the AVX2 kernel where available (not under Miri, which does not run it), else the
/// portable one.
///
/// # Safety
/// The contract of [`Extents`] (no CPU feature needed).
unsafe fn best_transpose(e: Extents, src: *const f32, dst: *mut f32) {
    let Extents { rows, cols, ld_src, ld_dst } = e;
    if (rows == 1 && ld_dst == 1) || (cols == 1 && ld_src == 1) {
        // SAFETY: one row of `cols` (or `rows` rows of one) at stride 1 is `rows·cols`
        // contiguous readable floats at `src`, and the destination likewise `rows·cols`
        // contiguous writable ones at `dst` (the caller's contract); they do not overlap.
        unsafe { core::ptr::copy_nonoverlapping(src, dst, rows * cols) };
        return;
    }
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    if crate::x86_64::is_available() {
        // SAFETY: AVX2+FMA are present (checked); the extents are our caller's contract.
        unsafe { crate::x86_64::layout::transpose_avx2(e, src, dst) };
        return;
    }
    // SAFETY: the extents are our caller's contract; the portable kernel needs no feature.
    unsafe { crate::portable::layout::transpose_blocked(e, src, dst) }
}
