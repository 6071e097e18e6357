//! FMA-throughput probe on 512-bit registers: what this core's FMA units deliver to the
//! AVX-512 kernels, for reporting their speed as a share of the peak measured in the same run.

use core::arch::x86_64::{
    __m512, _mm512_add_ps, _mm512_fmadd_ps, _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_ps,
};

use crate::KernelError;

/// Independent accumulator chains: enough to cover FMA latency (4 cycles) × 2 pipes with room.
pub const FMA_PROBE_CHAINS: usize = 12;

/// FLOPs one iteration of [`fma_probe`] performs: `FMA_PROBE_CHAINS` 16-lane FMAs, 2 FLOPs each.
pub const FMA_PROBE_FLOPS_PER_ITER: u64 = (FMA_PROBE_CHAINS * 16 * 2) as u64;

/// Runs `iters` iterations of [`FMA_PROBE_CHAINS`] independent `_mm512_fmadd_ps` chains and
/// returns a value derived from every chain (so the work cannot be optimized away). Time it
/// and divide `iters × FMA_PROBE_FLOPS_PER_ITER` by the elapsed time for the FMA peak.
pub fn fma_probe(iters: u64) -> Result<f32, KernelError> {
    super::ensure_available()?;
    // SAFETY: `ensure_available` just confirmed AVX-512F on this CPU.
    Ok(unsafe { fma_chains(iters) })
}

/// # Safety
/// The CPU must support AVX-512F.
#[target_feature(enable = "avx512f")]
unsafe fn fma_chains(iters: u64) -> f32 {
    // Multiplier and addend close to a fixed point so the values stay finite for any count.
    let a = _mm512_set1_ps(0.999_999);
    let b = _mm512_set1_ps(1e-7);
    let mut acc: [__m512; FMA_PROBE_CHAINS] = [_mm512_setzero_ps(); FMA_PROBE_CHAINS];
    for _ in 0..iters {
        for v in acc.iter_mut() {
            *v = _mm512_fmadd_ps(*v, a, b);
        }
    }
    let mut sum = _mm512_setzero_ps();
    for v in acc {
        sum = _mm512_add_ps(sum, v);
    }
    let mut lanes = [0.0f32; 16];
    // SAFETY: `lanes` is 16 f32 long, exactly one unaligned 512-bit store.
    unsafe { _mm512_storeu_ps(lanes.as_mut_ptr(), sum) };
    lanes.iter().sum()
}
