//! FMA-throughput probe: measures what this core's NEON FMA units deliver, for reporting
//! kernels' speed as a share of the peak measured in the same run.

use core::arch::aarch64::{float32x4_t, vaddq_f32, vaddvq_f32, vdupq_n_f32, vfmaq_f32};

use crate::KernelError;

/// Independent accumulator chains: enough to cover FMA latency × pipes on current cores
/// (Cortex-A76: 4-cycle latency, 2 pipes) without spilling the 32 vector registers.
pub const FMA_PROBE_CHAINS: usize = 16;

/// FLOPs one iteration of [`fma_probe`] performs: `FMA_PROBE_CHAINS` 4-lane FMAs, 2 FLOPs each.
pub const FMA_PROBE_FLOPS_PER_ITER: u64 = (FMA_PROBE_CHAINS * 4 * 2) as u64;

/// Runs `iters` iterations of [`FMA_PROBE_CHAINS`] independent `vfmaq_f32` chains and returns a
/// value derived from every chain (so the work cannot be optimized away). Time it and divide
/// `iters × FMA_PROBE_FLOPS_PER_ITER` by the elapsed time for the FMA peak.
pub fn fma_probe(iters: u64) -> Result<f32, KernelError> {
    super::ensure_available()?;
    // SAFETY: `ensure_available` just confirmed NEON on this CPU.
    Ok(unsafe { fma_chains(iters) })
}

/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
unsafe fn fma_chains(iters: u64) -> f32 {
    let a = vdupq_n_f32(0.999_999);
    let b = vdupq_n_f32(1e-7);
    let mut acc: [float32x4_t; FMA_PROBE_CHAINS] = [vdupq_n_f32(0.0); FMA_PROBE_CHAINS];
    for _ in 0..iters {
        for v in acc.iter_mut() {
            *v = vfmaq_f32(b, *v, a);
        }
    }
    let mut sum = vdupq_n_f32(0.0);
    for v in acc {
        sum = vaddq_f32(sum, v);
    }
    vaddvq_f32(sum)
}
