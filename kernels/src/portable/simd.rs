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

crate::simd::f32_math! { Portable: f32x8;
    add(a, b) = a + b;
    sub(a, b) = a - b;
    mul(a, b) = a * b;
    div(a, b) = a / b;
    // `b < a` is false for a NaN `a`, which is then kept.
    min(a, b) = b.simd_lt(a).select(b, a);
    abs(x) = x.abs();
    round(x) = x.round();
    pow2i(n) = f32x8::from(n.to_array().map(|v| f32::from_bits(((v as i32).wrapping_add(127) as u32) << 23)));
    select_lt(a, b, t, f) = a.simd_lt(b).select(t, f);
}
