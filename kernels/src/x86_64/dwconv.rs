//! Depthwise k×k convolution (3×3 stride 1/2 specialised, any k, stride, dilation).
