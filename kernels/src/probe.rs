//! The FMA-throughput probe, written once for every ISA folder: independent FMA chains that
//! measure what the core's FMA units deliver at one vector width, for reporting kernels' speed
//! as a share of the peak measured in the same run.
//!
//! Each ISA folder's `probe.rs` instantiates [`fma_probe_module!`] with its vector type, lane
//! count, chain count and intrinsics; the generated items are the same everywhere:
//! `FMA_PROBE_CHAINS`, `FMA_PROBE_FLOPS_PER_ITER` and the safe `fma_probe(iters)`.

/// Writes an ISA folder's probe: `FMA_PROBE_CHAINS` independent chains `v = v·a + b` of
/// `$lanes`-lane vectors, run inside a `#[target_feature(enable = $features)]` function behind
/// the folder's `ensure_available()` check.
///
/// `fma: |v, a, b| expr` computes `v·a + b`; `reduce: |acc| expr` turns the array of chains
/// into one `f32` (so that no chain can be optimised away).
macro_rules! fma_probe_module {
    (
        vector: $V:ty, lanes: $lanes:literal, chains: $chains:literal, features: $features:literal,
        isa: $isa:literal, chains_why: $why:literal,
        splat: $splat:path, fma: |$v:ident, $a:ident, $b:ident| $fma:expr,
        reduce: |$acc:ident| $reduce:expr $(,)?
    ) => {
        #[doc = concat!("Independent accumulator chains: ", $why)]
        pub const FMA_PROBE_CHAINS: usize = $chains;

        #[doc = concat!(
            "FLOPs one iteration of [`fma_probe`] performs: `FMA_PROBE_CHAINS` ", stringify!($lanes),
            "-lane FMAs, 2 FLOPs each."
        )]
        pub const FMA_PROBE_FLOPS_PER_ITER: u64 = (FMA_PROBE_CHAINS * $lanes * 2) as u64;

        /// Runs `iters` iterations of [`FMA_PROBE_CHAINS`] independent FMA chains and returns a
        /// value derived from every chain (so the work cannot be optimized away). Time it and
        /// divide `iters × FMA_PROBE_FLOPS_PER_ITER` by the elapsed time for the FMA peak.
        ///
        #[doc = concat!("Errors: a CPU without ", $isa, " ([`KernelError::IsaUnavailable`](crate::KernelError)).")]
        pub fn fma_probe(iters: u64) -> Result<f32, $crate::KernelError> {
            super::ensure_available()?;
            // SAFETY: `ensure_available` just confirmed the features `fma_chains` is compiled for.
            Ok(unsafe { fma_chains(iters) })
        }

        /// # Safety
        #[doc = concat!("The CPU must support ", $isa, ".")]
        #[target_feature(enable = $features)]
        unsafe fn fma_chains(iters: u64) -> f32 {
            // Multiplier and addend close to a fixed point so the values stay finite for any count.
            let $a: $V = $splat(0.999_999);
            let $b: $V = $splat(1e-7);
            let mut $acc: [$V; FMA_PROBE_CHAINS] = [$splat(0.0); FMA_PROBE_CHAINS];
            for _ in 0..iters {
                for $v in $acc.iter_mut() {
                    *$v = $fma;
                }
            }
            $reduce
        }
    };
}

pub(crate) use fma_probe_module;
