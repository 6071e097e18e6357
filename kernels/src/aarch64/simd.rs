//! The NEON tier's f32 vector (Q register, 4 lanes): the crate's [`F32Vector`] for [`Neon`],
//! which every NEON microkernel family is implemented on. NEON has no masked loads or
//! stores: a partial vector is a lane count and goes through a 4-float stack buffer.
//!
//! [`F32Vector`]: crate::simd::F32Vector

use core::arch::aarch64::{
    float32x4_t, vabsq_f32, vaddq_f32, vaddq_s32, vbslq_f32, vcltq_f32, vcvtq_s32_f32, vdivq_f32,
    vdupq_n_f32, vdupq_n_s32, vfmaq_f32, vld1q_dup_f32, vld1q_f32, vmaxq_f32, vminq_f32, vmulq_f32,
    vreinterpretq_f32_s32, vrndnq_f32, vshlq_n_s32, vst1q_f32, vsubq_f32,
};

/// The NEON tier (`#[target_feature(enable = "neon")]`, checked by
/// [`super::ensure_available`]).
#[derive(Clone, Copy)]
pub(crate) struct Neon;

crate::simd::f32_vector! { Neon: float32x4_t, usize, 4;
    splat(x) = vdupq_n_f32(x);
    load(p) = vld1q_f32(p);
    broadcast(p) = vld1q_dup_f32(p);
    fma(acc, a, b) = vfmaq_f32(acc, a, b);
    // FMAX/FMIN return NaN when an operand is NaN.
    clamp(x, lo, hi) = vminq_f32(hi, vmaxq_f32(lo, x));
    store(p, v) = vst1q_f32(p, v);
    tail(n) = n;
    // Through a stack buffer: the first `n <= 4` floats at `p` are read, the rest are zero.
    load_tail(p, n) = {
        let mut buf = [0.0f32; 4];
        core::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), n);
        vld1q_f32(buf.as_ptr())
    };
    // Through a stack buffer: the first `n <= 4` floats at `p` are written.
    store_tail(p, v, n) = {
        let mut buf = [0.0f32; 4];
        vst1q_f32(buf.as_mut_ptr(), v);
        core::ptr::copy_nonoverlapping(buf.as_ptr(), p, n);
    };
}

crate::simd::f32_math! { Neon: float32x4_t;
    add(a, b) = vaddq_f32(a, b);
    sub(a, b) = vsubq_f32(a, b);
    mul(a, b) = vmulq_f32(a, b);
    div(a, b) = vdivq_f32(a, b);
    // FMIN returns NaN when an operand is NaN.
    min(a, b) = vminq_f32(a, b);
    abs(x) = vabsq_f32(x);
    round(x) = vrndnq_f32(x);
    pow2i(n) = vreinterpretq_f32_s32(vshlq_n_s32::<23>(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127))));
    select_lt(a, b, t, f) = vbslq_f32(vcltq_f32(a, b), t, f);
}
