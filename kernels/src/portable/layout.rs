//! Matrix transpose for layout conversion (NCHW <-> NHWC), portable: blocks of 16×16 so that
//! the 16 source rows and 16 destination rows of a block stay in L1.

/// Block edge.
const B: usize = 16;

crate::layout::transpose_entry_points!(Ok::<(), crate::KernelError>(()), transpose_blocked, "");

/// The portable raw transpose: 16×16 blocks, element by element.
///
/// # Safety
/// The contract of `crate::layout::Extents`.
pub(crate) unsafe fn transpose_blocked(e: crate::layout::Extents, src: *const f32, dst: *mut f32) {
    let crate::layout::Extents { rows, cols, ld_src, ld_dst } = e;
    for r0 in (0..rows).step_by(B) {
        let r1 = (r0 + B).min(rows);
        for c0 in (0..cols).step_by(B) {
            let c1 = (c0 + B).min(cols);
            for r in r0..r1 {
                for c in c0..c1 {
                    // SAFETY: r < rows and c < cols: inside both matrices (the contract).
                    unsafe { *dst.add(c * ld_dst + r) = *src.add(r * ld_src + c) };
                }
            }
        }
    }
}
