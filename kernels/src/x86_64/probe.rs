//! FMA-throughput probe on 256-bit registers: what this core's FMA units deliver to the AVX2
//! kernels (`crate::probe` writes the probe; this file gives its intrinsics).

use core::arch::x86_64::{__m256, _mm256_add_ps, _mm256_fmadd_ps, _mm256_set1_ps, _mm256_storeu_ps};

crate::probe::fma_probe_module! {
    vector: __m256, lanes: 8, chains: 12, features: "avx2,fma", isa: "AVX2 and FMA",
    chains_why: "enough to cover FMA latency (4 cycles) × 2 pipes with room.",
    splat: _mm256_set1_ps, fma: |v, a, b| _mm256_fmadd_ps(*v, a, b),
    reduce: |acc| {
        let sum = acc.iter().fold(_mm256_set1_ps(0.0), |s, v| _mm256_add_ps(s, *v));
        let mut lanes = [0.0f32; 8];
        // SAFETY: `lanes` is 8 f32 long, exactly one unaligned 256-bit store.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), sum) };
        lanes.iter().sum()
    },
}
