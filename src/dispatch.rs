//! Runtime ISA dispatch: detect the CPU's features once, pick a tier, hand out its table of
//! kernel function pointers.
//!
//! Tiers, lowest to highest: [`Isa::Scalar`] (the reference kernels), [`Isa::Portable`]
//! (`wide`-based, any target), [`Isa::Avx2Fma`] (x86_64 with AVX2 and FMA), [`Isa::Neon`]
//! (aarch64). The best available tier is used unless one is forced with the environment
//! variable `SEPCONV_ISA=scalar|portable|avx2|neon` (read once) or with [`force_isa`]. Forcing
//! a tier the CPU lacks, or an unknown name, is an [`Error`], never undefined behaviour: a
//! kernel table is only handed out for a tier whose features were detected.
//!
//! Until the SIMD kernels land, every tier's table points at the reference kernels, and the
//! kernel names say so (`dwconv3x3/reference`).

use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

use sepconv_kernels::reference::{self, DenseShape, GlobalPoolShape};
use sepconv_kernels::{Activation, Conv2dGeometry, KernelError, PointwiseShape, SeparablePassGeometry};

use crate::error::Error;

/// The environment variable that forces a tier.
pub const ISA_ENV: &str = "SEPCONV_ISA";

/// An instruction-set tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Isa {
    /// Scalar reference kernels; always available.
    Scalar,
    /// Portable SIMD through `wide`; always available.
    Portable,
    /// AVX2 + FMA intrinsics (x86_64).
    Avx2Fma,
    /// NEON intrinsics (aarch64).
    Neon,
}

impl Isa {
    /// Every tier, lowest first.
    pub const ALL: [Isa; 4] = [Isa::Scalar, Isa::Portable, Isa::Avx2Fma, Isa::Neon];

    /// The tier's name as `SEPCONV_ISA` spells it: `scalar`, `portable`, `avx2`, `neon`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Portable => "portable",
            Isa::Avx2Fma => "avx2",
            Isa::Neon => "neon",
        }
    }

    /// Parses a tier name (case-insensitive; `avx2fma` is accepted for `avx2`).
    pub fn from_name(name: &str) -> Result<Isa, Error> {
        match name.trim().to_ascii_lowercase().as_str() {
            "scalar" => Ok(Isa::Scalar),
            "portable" => Ok(Isa::Portable),
            "avx2" | "avx2fma" => Ok(Isa::Avx2Fma),
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

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
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

/// A kernel entry of a [`KernelTable`]: the function and its name (`op/implementation`).
#[derive(Clone, Copy)]
pub struct Kernel<F> {
    /// `op/implementation`, e.g. `dwconv3x3/reference` or, once it lands, `dwconv3x3s1/avx2`.
    pub name: &'static str,
    /// The checked kernel entry point.
    pub func: F,
}

impl<F> fmt::Debug for Kernel<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// A convolution kernel: NHWC input, weights in the layout of its family, optional bias.
pub type ConvFn =
    fn(&Conv2dGeometry, &[f32], &[f32], Option<&[f32]>, Activation, &mut [f32]) -> Result<(), KernelError>;
/// A pointwise 1×1 convolution (GEMM) kernel.
pub type PointwiseFn =
    fn(&PointwiseShape, &[f32], &[f32], Option<&[f32]>, Activation, &mut [f32]) -> Result<(), KernelError>;
/// A row (1×k) or column (k×1) separable pass.
pub type SeparableFn = fn(
    &SeparablePassGeometry,
    &[f32],
    &[f32],
    Option<&[f32]>,
    Activation,
    &mut [f32],
) -> Result<(), KernelError>;
/// A standalone activation.
pub type ActivationFn = fn(Activation, &[f32], &mut [f32]) -> Result<(), KernelError>;
/// An elementwise add with fused activation.
pub type AddFn = fn(&[f32], &[f32], Activation, &mut [f32]) -> Result<(), KernelError>;
/// A global average pool.
pub type GlobalAvgPoolFn = fn(&GlobalPoolShape, &[f32], &mut [f32]) -> Result<(), KernelError>;
/// A dense layer.
pub type DenseFn =
    fn(&DenseShape, &[f32], &[f32], Option<&[f32]>, Activation, &mut [f32]) -> Result<(), KernelError>;

/// The kernels of one tier, one entry per op class.
#[derive(Clone, Copy, Debug)]
pub struct KernelTable {
    /// The tier these kernels belong to.
    pub isa: Isa,
    /// Dense (groups = 1) k×k convolution, e.g. a network's stem.
    pub conv2d: Kernel<ConvFn>,
    /// Grouped k×k convolution, 1 < groups < channels.
    pub grouped_conv: Kernel<ConvFn>,
    /// Depthwise 3×3 (the MobileNet case), any stride, padding and dilation.
    pub dwconv3x3: Kernel<ConvFn>,
    /// Depthwise k×k, any other kernel size.
    pub dwconv: Kernel<ConvFn>,
    /// Pointwise 1×1 convolution as GEMM.
    pub pointwise: Kernel<PointwiseFn>,
    /// Row pass 1×k.
    pub row_pass: Kernel<SeparableFn>,
    /// Column pass k×1.
    pub col_pass: Kernel<SeparableFn>,
    /// Standalone activation.
    pub activation: Kernel<ActivationFn>,
    /// Elementwise add.
    pub add: Kernel<AddFn>,
    /// Global average pool.
    pub global_avg_pool: Kernel<GlobalAvgPoolFn>,
    /// Dense layer.
    pub dense: Kernel<DenseFn>,
}

impl KernelTable {
    /// `(op class, kernel name)` for every entry, in a fixed order (for `sepconv info`).
    pub fn entries(&self) -> [(&'static str, &'static str); 11] {
        [
            ("conv2d", self.conv2d.name),
            ("grouped_conv", self.grouped_conv.name),
            ("dwconv3x3", self.dwconv3x3.name),
            ("dwconv", self.dwconv.name),
            ("pointwise", self.pointwise.name),
            ("row_pass", self.row_pass.name),
            ("col_pass", self.col_pass.name),
            ("activation", self.activation.name),
            ("add", self.add.name),
            ("global_avg_pool", self.global_avg_pool.name),
            ("dense", self.dense.name),
        ]
    }
}

/// The reference kernels, under the given tier's label.
const fn reference_table(isa: Isa) -> KernelTable {
    KernelTable {
        isa,
        conv2d: Kernel { name: "conv2d/reference", func: reference::conv2d },
        grouped_conv: Kernel { name: "grouped_conv/reference", func: reference::conv2d },
        dwconv3x3: Kernel { name: "dwconv3x3/reference", func: reference::dwconv },
        dwconv: Kernel { name: "dwconv/reference", func: reference::dwconv },
        pointwise: Kernel { name: "pointwise/reference", func: reference::pointwise },
        row_pass: Kernel { name: "row_pass/reference", func: reference::row_pass },
        col_pass: Kernel { name: "col_pass/reference", func: reference::col_pass },
        activation: Kernel { name: "activation/reference", func: reference::activation },
        add: Kernel { name: "add/reference", func: reference::add },
        global_avg_pool: Kernel { name: "global_avg_pool/reference", func: reference::global_avg_pool },
        dense: Kernel { name: "dense/reference", func: reference::dense },
    }
}

static SCALAR: KernelTable = reference_table(Isa::Scalar);
// The SIMD tiers have no kernels of their own yet: they run the reference kernels, and their
// kernel names say so.
static PORTABLE: KernelTable = reference_table(Isa::Portable);
static AVX2_FMA: KernelTable = reference_table(Isa::Avx2Fma);
static NEON: KernelTable = reference_table(Isa::Neon);

/// The kernel table of `isa`; errors when the CPU lacks the tier.
pub fn kernels(isa: Isa) -> Result<&'static KernelTable, Error> {
    isa.ensure_available()?;
    Ok(match isa {
        Isa::Scalar => &SCALAR,
        Isa::Portable => &PORTABLE,
        Isa::Avx2Fma => &AVX2_FMA,
        Isa::Neon => &NEON,
    })
}

/// The kernel table of the selected tier (see [`selected_isa`]).
pub fn selected_kernels() -> Result<&'static KernelTable, Error> {
    kernels(selected_isa()?.0)
}
