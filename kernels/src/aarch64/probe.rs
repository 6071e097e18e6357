//! FMA-throughput probe on 128-bit registers: what this core's NEON FMA units deliver
//! (`crate::probe` writes the probe; this file gives its intrinsics).

use core::arch::aarch64::{float32x4_t, vaddq_f32, vaddvq_f32, vdupq_n_f32, vfmaq_f32};

crate::probe::fma_probe_module! {
    vector: float32x4_t, lanes: 4, chains: 16, features: "neon", isa: "NEON",
    chains_why: "enough to cover FMA latency × pipes on current cores (Cortex-A76: 4-cycle latency, 2 pipes) without spilling the 32 vector registers.",
    splat: vdupq_n_f32, fma: |v, a, b| vfmaq_f32(b, *v, a),
    reduce: |acc| vaddvq_f32(acc.iter().fold(vdupq_n_f32(0.0), |s, v| vaddq_f32(s, *v))),
}
