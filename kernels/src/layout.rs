//! Layout conversion: the fastest matrix transpose this CPU runs (NCHW <-> NHWC is a
//! per-image transpose). Not an ISA tier choice: the result is identical (a copy), so the
//! best implementation available is always used.

use crate::KernelError;

/// Writes the transpose of the row-major `rows × cols` matrix `src` into `dst`
/// (`dst[c·rows + r] = src[r·cols + c]`), with the AVX2 kernel where the CPU has AVX2+FMA and
/// the portable one elsewhere. Errors: `rows·cols` overflows, or a slice whose length is not
/// `rows·cols`; nothing is written then.
pub fn transpose(rows: usize, cols: usize, src: &[f32], dst: &mut [f32]) -> Result<(), KernelError> {
    // (Under Miri, which does not run AVX2 intrinsics, the portable kernel.)
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    if crate::x86_64::is_available() {
        return crate::x86_64::layout::transpose(rows, cols, src, dst);
    }
    crate::portable::layout::transpose(rows, cols, src, dst)
}
