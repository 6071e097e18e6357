//! Row 1×k and column k×1 spatially separable passes, per channel, NEON.
