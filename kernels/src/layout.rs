//! Layout conversion: the fastest matrix transpose this CPU runs (NCHW <-> NHWC is a
//! per-image transpose). Not an ISA tier choice: the result is identical (a copy), so the
//! best implementation available is always used.

use crate::KernelError;
use crate::error::check_strided;

/// Writes the transpose of the row-major `rows × cols` matrix `src` into `dst`
/// (`dst[c·rows + r] = src[r·cols + c]`), with the AVX2 kernel where the CPU has AVX2+FMA and
/// the portable one elsewhere. Errors: `rows·cols` overflows, or a slice whose length is not
/// `rows·cols`; nothing is written then.
pub fn transpose(rows: usize, cols: usize, src: &[f32], dst: &mut [f32]) -> Result<(), KernelError> {
    // (Under Miri, which does not run AVX2 intrinsics, the portable kernel.)
    if rows == 1 || cols == 1 {
        // A vector is its own transpose.
        let len = crate::error::checked_product("matrix length", &[rows, cols])?;
        crate::error::check_len("src", len, src.len())?;
        crate::error::check_len("dst", src.len(), dst.len())?;
        dst.copy_from_slice(src);
        return Ok(());
    }
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    if crate::x86_64::is_available() {
        return crate::x86_64::layout::transpose(rows, cols, src, dst);
    }
    crate::portable::layout::transpose(rows, cols, src, dst)
}

/// As [`transpose`] for a `rows × cols` matrix at row stride `ld_src` inside `src`, written
/// transposed at row stride `ld_dst` inside `dst` (`dst[c·ld_dst + r] = src[r·ld_src + c]`);
/// nothing else of `dst` is written. Errors (nothing written): a stride below its row length,
/// a slice shorter than its last row's end, or overflow.
pub fn transpose_strided(
    rows: usize,
    cols: usize,
    src: &[f32],
    ld_src: usize,
    dst: &mut [f32],
    ld_dst: usize,
) -> Result<(), KernelError> {
    // A single row (column) written to a single column (row) of contiguous elements is a copy:
    // a one-channel image's layout conversion.
    if (rows == 1 && ld_dst == 1) || (cols == 1 && ld_src == 1) {
        check_strided(rows, cols, src.len(), ld_src, dst.len(), ld_dst)?;
        let n = rows.max(cols).min(rows * cols);
        if let (Some(s), Some(d)) = (src.get(..n), dst.get_mut(..n)) {
            d.copy_from_slice(s);
        }
        return Ok(());
    }
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    if crate::x86_64::is_available() {
        return crate::x86_64::layout::transpose_strided(rows, cols, src, ld_src, dst, ld_dst);
    }
    crate::portable::layout::transpose_strided(rows, cols, src, ld_src, dst, ld_dst)
}
