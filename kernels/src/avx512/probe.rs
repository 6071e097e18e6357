//! FMA-throughput probe on 512-bit registers: what this core's FMA units deliver to the
//! AVX-512 kernels (`crate::probe` writes the probe; this file gives its intrinsics).

use core::arch::x86_64::{__m512, _mm512_add_ps, _mm512_fmadd_ps, _mm512_reduce_add_ps, _mm512_set1_ps};

crate::probe::fma_probe_module! {
    vector: __m512, lanes: 16, chains: 12, features: "avx512f", isa: "AVX-512F",
    chains_why: "enough to cover FMA latency (4 cycles) × 2 pipes with room.",
    splat: _mm512_set1_ps, fma: |v, a, b| _mm512_fmadd_ps(*v, a, b),
    reduce: |acc| _mm512_reduce_add_ps(acc.iter().fold(_mm512_set1_ps(0.0), |s, v| _mm512_add_ps(s, *v))),
}
