//! Pointwise 1×1 convolution (NHWC) as a GEMM over packed weight panels, NEON.
