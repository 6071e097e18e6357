//! sepconv placeholder
pub use sepconv_kernels as kernels;
