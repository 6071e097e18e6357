//! Runtime ISA dispatch: detect the CPU's features once, pick a tier, hand out its table of
//! kernel function pointers.
//!
//! Tiers, lowest to highest: [`Isa::Scalar`] (the reference kernels), [`Isa::Portable`]
//! (`wide`-based, any target), [`Isa::Avx2Fma`] (x86_64 with AVX2 and FMA), [`Isa::Avx512`]
//! (x86_64 with AVX-512F as well), [`Isa::Neon`] (aarch64). The best available tier is used
//! unless one is forced with the environment variable
//! `SEPCONV_ISA=scalar|portable|avx2|avx512|neon` (read once) or with [`force_isa`]. Forcing
//! a tier the CPU lacks, or an unknown name, is an [`Error`], never undefined behaviour: a
//! kernel table is only handed out for a tier whose features were detected.
//!
//! Where a tier has no kernel of its own for an op, its table points at another tier's kernel
//! and the kernel name says which: the memory-bound elementwise ops (add, activation, global
//! average pool) run the portable kernels on every SIMD tier (`add/portable`), and the AVX-512
//! tier borrows the AVX2 kernels for the ops it has no own kernel for (`row_pass/avx2`).

use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

use sepconv_kernels::reference::GlobalPoolShape;
use sepconv_kernels::{Activation, Conv2dGeometry, KernelError, PointwiseShape, SeparablePassGeometry};

use crate::error::Error;
pub use crate::isa::Isa;

/// The environment variable that forces a tier.
pub const ISA_ENV: &str = "SEPCONV_ISA";

impl Isa {
    /// Parses a tier name (case-insensitive; `avx2fma` is accepted for `avx2`, `avx512f` for
    /// `avx512`).
    pub fn from_name(name: &str) -> Result<Isa, Error> {
        match name.trim().to_ascii_lowercase().as_str() {
            "scalar" => Ok(Isa::Scalar),
            "portable" => Ok(Isa::Portable),
            "avx2" | "avx2fma" => Ok(Isa::Avx2Fma),
            "avx512" | "avx512f" => Ok(Isa::Avx512),
            "neon" => Ok(Isa::Neon),
            _ => Err(Error::UnknownIsa(name.to_string())),
        }
    }

    /// Why this tier cannot run here, or `None` when it can.
    pub fn unavailable_reason(self) -> Option<&'static str> {
        let f = cpu_features();
        match self {
            Isa::Scalar | Isa::Portable => None,
            Isa::Avx2Fma if !cfg!(target_arch = "x86_64") => Some("not an x86_64 CPU"),
            Isa::Avx2Fma if !f.avx2 => Some("the CPU lacks AVX2"),
            Isa::Avx2Fma if !f.fma => Some("the CPU lacks FMA"),
            Isa::Avx2Fma => None,
            Isa::Avx512 if !cfg!(target_arch = "x86_64") => Some("not an x86_64 CPU"),
            Isa::Avx512 if !f.avx512f => Some("the CPU lacks AVX-512F"),
            Isa::Avx512 if !(f.avx2 && f.fma) => Some("the CPU lacks AVX2 or FMA"),
            Isa::Avx512 => None,
            Isa::Neon if !cfg!(target_arch = "aarch64") => Some("not an aarch64 CPU"),
            Isa::Neon if !f.neon => Some("the CPU lacks NEON"),
            Isa::Neon => None,
        }
    }

    /// True when the CPU has every feature this tier needs.
    pub fn is_available(self) -> bool {
        self.unavailable_reason().is_none()
    }

    /// Every tier this CPU can run, lowest first.
    pub fn available() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|isa| isa.is_available()).collect()
    }

    /// Every tier this CPU cannot run, lowest first, each with the reason
    /// ([`Isa::unavailable_reason`]): the complement of [`Isa::available`].
    pub fn unavailable() -> Vec<(Isa, &'static str)> {
        Isa::ALL.into_iter().filter_map(|isa| isa.unavailable_reason().map(|r| (isa, r))).collect()
    }

    /// The highest tier this CPU can run.
    pub fn best_available() -> Isa {
        Isa::ALL.into_iter().rev().find(|isa| isa.is_available()).unwrap_or(Isa::Scalar)
    }

    /// Checks that this tier can run here.
    pub fn ensure_available(self) -> Result<Isa, Error> {
        match self.unavailable_reason() {
            None => Ok(self),
            Some(reason) => Err(Error::IsaUnavailable { isa: self, reason }),
        }
    }
}

/// CPU features relevant to sepconv, detected once at run time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuFeatures {
    /// x86_64 SSE4.1.
    pub sse41: bool,
    /// x86_64 AVX.
    pub avx: bool,
    /// x86_64 AVX2.
    pub avx2: bool,
    /// x86_64 FMA3.
    pub fma: bool,
    /// x86_64 F16C.
    pub f16c: bool,
    /// x86_64 AVX-512F.
    pub avx512f: bool,
    /// aarch64 Advanced SIMD.
    pub neon: bool,
    /// aarch64 dot product (`asimddp`), recorded for later int8 kernels.
    pub asimddp: bool,
    /// aarch64 half-precision arithmetic (`fp16`), recorded for later f16 kernels.
    pub fp16: bool,
}

impl CpuFeatures {
    fn detect() -> Self {
        #[allow(unused_mut)]
        let mut f = CpuFeatures::default();
        #[cfg(target_arch = "x86_64")]
        {
            f.sse41 = std::arch::is_x86_feature_detected!("sse4.1");
            f.avx = std::arch::is_x86_feature_detected!("avx");
            f.avx2 = std::arch::is_x86_feature_detected!("avx2");
            f.fma = std::arch::is_x86_feature_detected!("fma");
            f.f16c = std::arch::is_x86_feature_detected!("f16c");
            f.avx512f = std::arch::is_x86_feature_detected!("avx512f");
        }
        #[cfg(target_arch = "aarch64")]
        {
            f.neon = std::arch::is_aarch64_feature_detected!("neon");
            f.asimddp = std::arch::is_aarch64_feature_detected!("dotprod");
            f.fp16 = std::arch::is_aarch64_feature_detected!("fp16");
        }
        f
    }

    /// The names of the detected features, in a fixed order.
    pub fn names(&self) -> Vec<&'static str> {
        [
            (self.sse41, "sse4.1"),
            (self.avx, "avx"),
            (self.avx2, "avx2"),
            (self.fma, "fma"),
            (self.f16c, "f16c"),
            (self.avx512f, "avx512f"),
            (self.neon, "neon"),
            (self.asimddp, "asimddp"),
            (self.fp16, "fp16"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }
}

/// The CPU's features, detected on first use and cached.
pub fn cpu_features() -> CpuFeatures {
    static FEATURES: OnceLock<CpuFeatures> = OnceLock::new();
    *FEATURES.get_or_init(CpuFeatures::detect)
}

/// Where the selected tier came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IsaSource {
    /// No override: the best tier the CPU has.
    Detected,
    /// The `SEPCONV_ISA` environment variable.
    Environment,
    /// A call to [`force_isa`].
    Api,
}

const NO_OVERRIDE: u8 = u8::MAX;
static API_OVERRIDE: AtomicU8 = AtomicU8::new(NO_OVERRIDE);

/// The tier `SEPCONV_ISA` asks for (read once), `Ok(None)` when it is unset or empty.
fn env_isa() -> Result<Option<Isa>, Error> {
    static ENV: OnceLock<Result<Option<Isa>, Error>> = OnceLock::new();
    ENV.get_or_init(|| match std::env::var(ISA_ENV) {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => Isa::from_name(&v)
            .and_then(Isa::ensure_available)
            .map(Some)
            .map_err(|e| Error::IsaEnv(Box::new(e))),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(Error::IsaEnv(Box::new(Error::UnknownIsa("<not valid unicode>".to_string()))))
        }
    })
    .clone()
}

/// Forces every op planned from now on (in this process) onto `isa`, or, with `None`, lifts
/// the override so that `SEPCONV_ISA` or detection decide again. Errors (and changes nothing)
/// when the CPU lacks the tier.
pub fn force_isa(isa: Option<Isa>) -> Result<(), Error> {
    let code = match isa {
        Some(isa) => isa.ensure_available()? as u8,
        None => NO_OVERRIDE,
    };
    API_OVERRIDE.store(code, Ordering::Relaxed);
    Ok(())
}

/// The tier ops are planned for, and where that choice came from: a [`force_isa`] override
/// first, then `SEPCONV_ISA`, then the best tier detected. An invalid `SEPCONV_ISA` is an
/// error here even when an API override is set, so a typo is never silently ignored.
pub fn selected_isa() -> Result<(Isa, IsaSource), Error> {
    let env = env_isa()?;
    let api = API_OVERRIDE.load(Ordering::Relaxed);
    if let Some(&isa) = Isa::ALL.get(usize::from(api)) {
        return Ok((isa, IsaSource::Api));
    }
    Ok(match env {
        Some(isa) => (isa, IsaSource::Environment),
        None => (Isa::best_available(), IsaSource::Detected),
    })
}

/// A kernel entry of a [`KernelTable`] for an op without weights: the function and its name.
#[derive(Clone, Copy)]
pub struct Kernel<F> {
    /// `op/implementation`, e.g. `add/reference`.
    pub name: &'static str,
    /// The checked kernel entry point.
    pub func: F,
}

impl<F> fmt::Debug for Kernel<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// A kernel entry for an op with weights, following the kernels' packed contract: the op
/// sizes a buffer with `packed_len`, fills it once with `pack` when it is planned, and calls
/// `run` on every run. The packed layout is private to the kernel's ISA.
pub struct PackedKernel<G: 'static> {
    /// `op/implementation`, e.g. `dwconv3x3s1/avx2` or `pointwise/reference`.
    pub name: &'static str,
    /// Length of the packed-weights buffer for a geometry.
    pub packed_len: PackedLenFn<G>,
    /// Packs weights (in the op family's given layout) and an optional bias.
    pub pack: PackFn<G>,
    /// Runs on packed weights: `(geometry, input, packed, activation, output)`.
    pub run: RunPackedFn<G>,
}

/// `F_packed_len` of the packed contract.
pub type PackedLenFn<G> = fn(&G) -> Result<usize, KernelError>;
/// `F_pack` of the packed contract: `(geometry, weights, bias, packed)`.
pub type PackFn<G> = fn(&G, &[f32], Option<&[f32]>, &mut [f32]) -> Result<(), KernelError>;
/// `F_run` of the packed contract: `(geometry, input, packed, activation, output)`.
pub type RunPackedFn<G> = fn(&G, &[f32], &[f32], Activation, &mut [f32]) -> Result<(), KernelError>;

impl<G> Clone for PackedKernel<G> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<G> Copy for PackedKernel<G> {}

impl<G> fmt::Debug for PackedKernel<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// A standalone activation.
pub type ActivationFn = fn(Activation, &[f32], &mut [f32]) -> Result<(), KernelError>;
/// An elementwise add with fused activation.
pub type AddFn = fn(&[f32], &[f32], Activation, &mut [f32]) -> Result<(), KernelError>;
/// A global average pool.
pub type GlobalAvgPoolFn = fn(&GlobalPoolShape, &[f32], &mut [f32]) -> Result<(), KernelError>;

/// The kernels of one tier, one entry per op class. Non-exhaustive: op classes (and int8
/// kernels) will be added; get a table from [`kernels`] or [`selected_kernels`] rather than
/// building one.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct KernelTable {
    /// The tier these kernels belong to.
    pub isa: Isa,
    /// Dense (groups = 1) k×k convolution, e.g. a network's stem.
    pub conv2d: PackedKernel<Conv2dGeometry>,
    /// Grouped k×k convolution, 1 < groups, not depthwise.
    pub grouped_conv: PackedKernel<Conv2dGeometry>,
    /// Depthwise 3×3, stride 1, dilation 1 (the MobileNet case), any padding.
    pub dwconv3x3s1: PackedKernel<Conv2dGeometry>,
    /// Depthwise 3×3, stride 2, dilation 1, any padding.
    pub dwconv3x3s2: PackedKernel<Conv2dGeometry>,
    /// Depthwise k×k, every other kernel size, stride and dilation.
    pub dwconv: PackedKernel<Conv2dGeometry>,
    /// Pointwise 1×1 convolution as GEMM.
    pub pointwise: PackedKernel<PointwiseShape>,
    /// Row pass 1×k.
    pub row_pass: PackedKernel<SeparablePassGeometry>,
    /// Column pass k×1.
    pub col_pass: PackedKernel<SeparablePassGeometry>,
    /// Dense layer: the GEMM `[batch, in] × [in, out]` (a pointwise kernel with
    /// `pixels = batch`).
    pub dense: PackedKernel<PointwiseShape>,
    /// Standalone activation.
    pub activation: Kernel<ActivationFn>,
    /// Elementwise add.
    pub add: Kernel<AddFn>,
    /// Global average pool.
    pub global_avg_pool: Kernel<GlobalAvgPoolFn>,
}

impl KernelTable {
    /// `(op class, kernel name)` for every entry, in a fixed order (for `sepconv info`).
    pub fn entries(&self) -> [(&'static str, &'static str); 12] {
        [
            ("conv2d", self.conv2d.name),
            ("grouped_conv", self.grouped_conv.name),
            ("dwconv3x3s1", self.dwconv3x3s1.name),
            ("dwconv3x3s2", self.dwconv3x3s2.name),
            ("dwconv", self.dwconv.name),
            ("pointwise", self.pointwise.name),
            ("row_pass", self.row_pass.name),
            ("col_pass", self.col_pass.name),
            ("dense", self.dense.name),
            ("activation", self.activation.name),
            ("add", self.add.name),
            ("global_avg_pool", self.global_avg_pool.name),
        ]
    }

    /// The depthwise entry for a geometry: the 3×3 stride-1 or stride-2 kernel (dilation 1)
    /// when it applies, else the general k×k one.
    pub fn dwconv_for(&self, g: &Conv2dGeometry) -> PackedKernel<Conv2dGeometry> {
        let is_3x3 = g.kernel_h == 3 && g.kernel_w == 3 && g.dilation_h == 1 && g.dilation_w == 1;
        match (is_3x3, g.stride_h, g.stride_w) {
            (true, 1, 1) => self.dwconv3x3s1,
            (true, 2, 2) => self.dwconv3x3s2,
            _ => self.dwconv,
        }
    }
}

/// Builds a [`PackedKernel`] from a kernels module that implements the packed contract.
macro_rules! packed {
    ($name:expr, $module:path, $len:ident, $pack:ident, $run:ident) => {{
        use $module as m;
        PackedKernel { name: $name, packed_len: m::$len, pack: m::$pack, run: m::$run }
    }};
}

/// The reference kernels, under the given tier's label.
const fn reference_table(isa: Isa) -> KernelTable {
    use sepconv_kernels::reference as r;
    KernelTable {
        isa,
        conv2d: packed!("conv2d/reference", r, conv2d_packed_len, conv2d_pack, conv2d_run),
        grouped_conv: packed!("grouped_conv/reference", r, conv2d_packed_len, conv2d_pack, conv2d_run),
        dwconv3x3s1: packed!("dwconv3x3s1/reference", r, dwconv_packed_len, dwconv_pack, dwconv_run),
        dwconv3x3s2: packed!("dwconv3x3s2/reference", r, dwconv_packed_len, dwconv_pack, dwconv_run),
        dwconv: packed!("dwconv/reference", r, dwconv_packed_len, dwconv_pack, dwconv_run),
        pointwise: packed!("pointwise/reference", r, pointwise_packed_len, pointwise_pack, pointwise_run),
        row_pass: packed!("row_pass/reference", r, separable_packed_len, separable_pack, row_pass_run),
        col_pass: packed!("col_pass/reference", r, separable_packed_len, separable_pack, col_pass_run),
        dense: packed!("dense/reference", r, pointwise_packed_len, pointwise_pack, pointwise_run),
        activation: Kernel { name: "activation/reference", func: r::activation },
        add: Kernel { name: "add/reference", func: r::add },
        global_avg_pool: Kernel { name: "global_avg_pool/reference", func: r::global_avg_pool },
    }
}

static SCALAR: KernelTable = reference_table(Isa::Scalar);

/// `table` with the portable elementwise kernels (add, global average pool): memory-bound
/// ops where the `wide` vectors reach the bandwidth that matters, shared by every SIMD tier
/// (the names say `/portable`). Each SIMD tier has its own activation kernel (sigmoid, tanh
/// and SiLU are compute-bound).
const fn with_portable_elementwise(table: KernelTable) -> KernelTable {
    use sepconv_kernels::portable::elementwise as e;
    KernelTable {
        add: Kernel { name: "add/portable", func: e::add },
        global_avg_pool: Kernel { name: "global_avg_pool/portable", func: e::global_avg_pool },
        ..table
    }
}

/// The portable (`wide`) tier: its own kernels where they exist, the reference elsewhere
/// (the names say which).
static PORTABLE: KernelTable = {
    use sepconv_kernels::portable as p;
    KernelTable {
        dwconv3x3s1: packed!("dwconv3x3s1/portable", p::dwconv, dwconv_packed_len, dwconv_pack, dwconv_run),
        dwconv3x3s2: packed!("dwconv3x3s2/portable", p::dwconv, dwconv_packed_len, dwconv_pack, dwconv_run),
        dwconv: packed!("dwconv/portable", p::dwconv, dwconv_packed_len, dwconv_pack, dwconv_run),
        row_pass: packed!(
            "row_pass/portable",
            p::separable,
            separable_packed_len,
            separable_pack,
            row_pass_run
        ),
        col_pass: packed!(
            "col_pass/portable",
            p::separable,
            separable_packed_len,
            separable_pack,
            col_pass_run
        ),
        conv2d: packed!("conv2d/portable", p::conv2d, conv2d_packed_len, conv2d_pack, conv2d_run),
        grouped_conv: packed!("grouped_conv/portable", p::conv2d, conv2d_packed_len, conv2d_pack, conv2d_run),
        pointwise: packed!(
            "pointwise/portable",
            p::pointwise,
            pointwise_packed_len,
            pointwise_pack,
            pointwise_run
        ),
        dense: packed!("dense/portable", p::pointwise, pointwise_packed_len, pointwise_pack, pointwise_run),
        activation: Kernel { name: "activation/portable", func: p::activation::activation },
        ..with_portable_elementwise(reference_table(Isa::Portable))
    }
};

/// The AVX2+FMA tier: its own kernels where they exist, the reference elsewhere (the names say
/// which). Every AVX2 entry point re-checks the CPU's features on each call.
#[cfg(target_arch = "x86_64")]
static AVX2_FMA: KernelTable = {
    use sepconv_kernels::x86_64 as x;
    KernelTable {
        dwconv3x3s1: packed!("dwconv3x3s1/avx2", x::dwconv, dwconv_packed_len, dwconv_pack, dwconv_run),
        dwconv3x3s2: packed!("dwconv3x3s2/avx2", x::dwconv, dwconv_packed_len, dwconv_pack, dwconv_run),
        dwconv: packed!("dwconv/avx2", x::dwconv, dwconv_packed_len, dwconv_pack, dwconv_run),
        row_pass: packed!("row_pass/avx2", x::separable, separable_packed_len, separable_pack, row_pass_run),
        col_pass: packed!("col_pass/avx2", x::separable, separable_packed_len, separable_pack, col_pass_run),
        conv2d: packed!("conv2d/avx2", x::conv2d, conv2d_packed_len, conv2d_pack, conv2d_run),
        grouped_conv: packed!("grouped_conv/avx2", x::conv2d, conv2d_packed_len, conv2d_pack, conv2d_run),
        pointwise: packed!(
            "pointwise/avx2",
            x::pointwise,
            pointwise_packed_len,
            pointwise_pack,
            pointwise_run
        ),
        dense: packed!("dense/avx2", x::pointwise, pointwise_packed_len, pointwise_pack, pointwise_run),
        activation: Kernel { name: "activation/avx2", func: x::activation::activation },
        ..with_portable_elementwise(reference_table(Isa::Avx2Fma))
    }
};
#[cfg(not(target_arch = "x86_64"))]
static AVX2_FMA: KernelTable = reference_table(Isa::Avx2Fma);

/// The AVX-512 tier: AVX-512F kernels for the GEMMs (pointwise, dense), the dense/grouped
/// convolution (whose narrow many-tiny-groups plan runs the AVX2 code inside
/// `grouped_conv/avx512`) and the depthwise convolution (3×3/5×5/7×7 with horizontal stride
/// 1 or 2; other shapes run the AVX2 code inside `dwconv/avx512`), the AVX2 kernels for
/// everything else (the names say which). Every entry point re-checks the CPU's features.
#[cfg(target_arch = "x86_64")]
static AVX512: KernelTable = {
    use sepconv_kernels::avx512 as z;
    KernelTable {
        isa: Isa::Avx512,
        conv2d: packed!("conv2d/avx512", z::conv2d, conv2d_packed_len, conv2d_pack, conv2d_run),
        grouped_conv: packed!("grouped_conv/avx512", z::conv2d, conv2d_packed_len, conv2d_pack, conv2d_run),
        pointwise: packed!(
            "pointwise/avx512",
            z::pointwise,
            pointwise_packed_len,
            pointwise_pack,
            pointwise_run
        ),
        dense: packed!("dense/avx512", z::pointwise, pointwise_packed_len, pointwise_pack, pointwise_run),
        dwconv3x3s1: packed!("dwconv3x3s1/avx512", z::dwconv, dwconv_packed_len, dwconv_pack, dwconv_run),
        dwconv3x3s2: packed!("dwconv3x3s2/avx512", z::dwconv, dwconv_packed_len, dwconv_pack, dwconv_run),
        dwconv: packed!("dwconv/avx512", z::dwconv, dwconv_packed_len, dwconv_pack, dwconv_run),
        activation: Kernel { name: "activation/avx512", func: z::activation::activation },
        ..AVX2_FMA
    }
};
#[cfg(not(target_arch = "x86_64"))]
static AVX512: KernelTable = reference_table(Isa::Avx512);

/// The NEON tier: its own kernels where they exist, the reference elsewhere (the names say
/// which). Every NEON entry point re-checks the CPU's features on each call.
#[cfg(target_arch = "aarch64")]
static NEON: KernelTable = {
    use sepconv_kernels::aarch64 as a;
    KernelTable {
        dwconv3x3s1: packed!("dwconv3x3s1/neon", a::dwconv, dwconv_packed_len, dwconv_pack, dwconv_run),
        dwconv3x3s2: packed!("dwconv3x3s2/neon", a::dwconv, dwconv_packed_len, dwconv_pack, dwconv_run),
        dwconv: packed!("dwconv/neon", a::dwconv, dwconv_packed_len, dwconv_pack, dwconv_run),
        conv2d: packed!("conv2d/neon", a::conv2d, conv2d_packed_len, conv2d_pack, conv2d_run),
        grouped_conv: packed!("grouped_conv/neon", a::conv2d, conv2d_packed_len, conv2d_pack, conv2d_run),
        row_pass: packed!("row_pass/neon", a::separable, separable_packed_len, separable_pack, row_pass_run),
        col_pass: packed!("col_pass/neon", a::separable, separable_packed_len, separable_pack, col_pass_run),
        pointwise: packed!(
            "pointwise/neon",
            a::pointwise,
            pointwise_packed_len,
            pointwise_pack,
            pointwise_run
        ),
        dense: packed!("dense/neon", a::pointwise, pointwise_packed_len, pointwise_pack, pointwise_run),
        activation: Kernel { name: "activation/neon", func: a::activation::activation },
        ..with_portable_elementwise(reference_table(Isa::Neon))
    }
};
#[cfg(not(target_arch = "aarch64"))]
static NEON: KernelTable = reference_table(Isa::Neon);

/// The kernel table of `isa`; errors when the CPU lacks the tier.
pub fn kernels(isa: Isa) -> Result<&'static KernelTable, Error> {
    isa.ensure_available()?;
    Ok(match isa {
        Isa::Scalar => &SCALAR,
        Isa::Portable => &PORTABLE,
        Isa::Avx2Fma => &AVX2_FMA,
        Isa::Avx512 => &AVX512,
        Isa::Neon => &NEON,
    })
}

/// The kernel table of the selected tier (see [`selected_isa`]).
pub fn selected_kernels() -> Result<&'static KernelTable, Error> {
    kernels(selected_isa()?.0)
}
