//! Matrix transpose for layout conversion (NCHW <-> NHWC), portable: blocks of 16×16 so that
//! the 16 source rows and 16 destination rows of a block stay in L1.

use crate::{KernelError, error::check_len, error::check_strided, error::checked_product};

/// Block edge.
const B: usize = 16;

/// Writes the transpose of the row-major `rows × cols` matrix `src` into `dst`
/// (`dst[c·rows + r] = src[r·cols + c]`). Errors: `rows·cols` overflows, or a slice whose
/// length is not `rows·cols` (nothing is written then).
pub fn transpose(rows: usize, cols: usize, src: &[f32], dst: &mut [f32]) -> Result<(), KernelError> {
    let len = checked_product("matrix length", &[rows, cols])?;
    check_len("src", len, src.len())?;
    check_len("dst", len, dst.len())?;
    transpose_strided(rows, cols, src, cols, dst, rows)
}

/// As [`transpose`] for matrices inside larger ones: `dst[c·ld_dst + r] = src[r·ld_src + c]`
/// for `r < rows`, `c < cols` (row strides `ld_src >= cols`, `ld_dst >= rows`); nothing else
/// of `dst` is written. Errors (nothing written): a stride below its row length, a slice
/// shorter than its last row's end, or overflow.
pub fn transpose_strided(
    rows: usize,
    cols: usize,
    src: &[f32],
    ld_src: usize,
    dst: &mut [f32],
    ld_dst: usize,
) -> Result<(), KernelError> {
    check_strided(rows, cols, src.len(), ld_src, dst.len(), ld_dst)?;
    for r0 in (0..rows).step_by(B) {
        let r1 = (r0 + B).min(rows);
        for c0 in (0..cols).step_by(B) {
            let c1 = (c0 + B).min(cols);
            for r in r0..r1 {
                for c in c0..c1 {
                    if let (Some(&v), Some(d)) = (src.get(r * ld_src + c), dst.get_mut(c * ld_dst + r)) {
                        *d = v;
                    }
                }
            }
        }
    }
    Ok(())
}
