//! The portable tier's f32 vector (`wide::f32x8`, whatever the target's vectors are): the
//! crate's [`F32Vector`] for [`Portable`]. No CPU feature is needed; a partial vector is a
//! lane count and goes through an 8-float array.
//!
//! [`F32Vector`]: crate::simd::F32Vector

use wide::f32x8;

/// The portable tier (plain Rust on `wide` vectors).
#[derive(Clone, Copy)]
pub(crate) struct Portable;

crate::simd::f32_vector! { Portable: f32x8, usize, 8;
    splat(x) = f32x8::splat(x);
    load(p) = f32x8::from(p.cast::<[f32; 8]>().read_unaligned());
    broadcast(p) = f32x8::splat(*p);
    fma(acc, a, b) = a.mul_add(b, acc);
    // As `Activation::apply`: comparisons with NaN are false, so NaN stays.
    clamp(x, lo, hi) = {
        let y = x.simd_lt(lo).select(lo, x);
        y.simd_gt(hi).select(hi, y)
    };
    store(p, v) = p.cast::<[f32; 8]>().write_unaligned(v.to_array());
    tail(n) = n;
    load_tail(p, n) = {
        let mut buf = [0.0f32; 8];
        core::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), n);
        f32x8::from(buf)
    };
    store_tail(p, v, n) = core::ptr::copy_nonoverlapping(v.to_array().as_ptr(), p, n);
}
