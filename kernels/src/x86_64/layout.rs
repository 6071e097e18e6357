//! Matrix transpose for layout conversion (NCHW <-> NHWC is a per-image transpose of a
//! `[C][H·W]` or `[H·W][C]` matrix), AVX2.
//!
//! 8×8 blocks are transposed in registers (8 row loads, three rounds of unpack / shuffle /
//! lane permute, 8 row stores), so both the reads and the writes are whole 32-byte vectors; the
//! blocks of a panel of 8 source rows are visited left to right, which keeps the 8 source
//! streams and the written destination rows in L1. Rows and columns past the last full block
//! are copied one element at a time, and so are matrices of fewer than 8 rows (column by
//! column, so that the destination is written in order).

use core::arch::x86_64::{
    __m256, _mm256_loadu_ps, _mm256_permute2f128_ps, _mm256_shuffle_ps, _mm256_storeu_ps, _mm256_unpackhi_ps,
    _mm256_unpacklo_ps,
};

crate::layout::transpose_entry_points!(
    super::ensure_available(),
    transpose_avx2,
    ", or a CPU without AVX2+FMA"
);

/// The AVX2 raw transpose (module docs).
///
/// # Safety
/// AVX2 available; the contract of `crate::layout::Extents`.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn transpose_avx2(e: crate::layout::Extents, src: *const f32, dst: *mut f32) {
    let crate::layout::Extents { rows, cols, ld_src, ld_dst } = e;
    if rows < 8 {
        // Few rows (an RGB image's NCHW -> NHWC: 3): one pass over the columns, writing each
        // destination row (`rows` floats) whole, reading the `rows` source streams in step.
        for c in 0..cols {
            for r in 0..rows {
                // SAFETY: r < rows, c < cols.
                unsafe { *dst.add(c * ld_dst + r) = *src.add(r * ld_src + c) };
            }
        }
        return;
    }
    let (rb, cb) = (rows / 8 * 8, cols / 8 * 8);
    for r0 in (0..rb).step_by(8) {
        for c0 in (0..cb).step_by(8) {
            // SAFETY: r0 + 8 <= rows and c0 + 8 <= cols: the 8×8 block is inside both matrices.
            unsafe { block8(src.add(r0 * ld_src + c0), ld_src, dst.add(c0 * ld_dst + r0), ld_dst) };
        }
        // Columns past the last full block, for these 8 rows.
        for r in r0..r0 + 8 {
            for c in cb..cols {
                // SAFETY: r < rows, c < cols.
                unsafe { *dst.add(c * ld_dst + r) = *src.add(r * ld_src + c) };
            }
        }
    }
    // Rows past the last full block.
    for r in rb..rows {
        for c in 0..cols {
            // SAFETY: r < rows, c < cols.
            unsafe { *dst.add(c * ld_dst + r) = *src.add(r * ld_src + c) };
        }
    }
}

/// Transposes one 8×8 block: 8 rows of `src` (stride `ld_src`) into 8 rows of `dst` (stride
/// `ld_dst`).
///
/// # Safety
/// AVX2 available; 8 rows of 8 floats readable at `src` with stride `ld_src`, writable at `dst`
/// with stride `ld_dst`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn block8(src: *const f32, ld_src: usize, dst: *mut f32, ld_dst: usize) {
    // SAFETY: (whole body) the 8 loads and 8 stores are the 8 rows our caller guarantees.
    unsafe {
        let r: [__m256; 8] = core::array::from_fn(|i| _mm256_loadu_ps(src.add(i * ld_src)));
        // Round 1: interleave pairs of rows.
        let t0 = _mm256_unpacklo_ps(r[0], r[1]);
        let t1 = _mm256_unpackhi_ps(r[0], r[1]);
        let t2 = _mm256_unpacklo_ps(r[2], r[3]);
        let t3 = _mm256_unpackhi_ps(r[2], r[3]);
        let t4 = _mm256_unpacklo_ps(r[4], r[5]);
        let t5 = _mm256_unpackhi_ps(r[4], r[5]);
        let t6 = _mm256_unpacklo_ps(r[6], r[7]);
        let t7 = _mm256_unpackhi_ps(r[6], r[7]);
        // Round 2: 4-element groups within each 128-bit lane.
        let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
        let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
        let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
        let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
        // Round 3: swap 128-bit halves.
        let out = [
            _mm256_permute2f128_ps::<0x20>(u0, u4),
            _mm256_permute2f128_ps::<0x20>(u1, u5),
            _mm256_permute2f128_ps::<0x20>(u2, u6),
            _mm256_permute2f128_ps::<0x20>(u3, u7),
            _mm256_permute2f128_ps::<0x31>(u0, u4),
            _mm256_permute2f128_ps::<0x31>(u1, u5),
            _mm256_permute2f128_ps::<0x31>(u2, u6),
            _mm256_permute2f128_ps::<0x31>(u3, u7),
        ];
        for (i, v) in out.into_iter().enumerate() {
            _mm256_storeu_ps(dst.add(i * ld_dst), v);
        }
    }
}
