//! Pointwise 1×1 convolution as GEMM over packed weight panels.
