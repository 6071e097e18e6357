//! Depthwise k×k convolution (depth multiplier 1), NHWC, NEON.
