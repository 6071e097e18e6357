//! Dense and grouped k×k convolution, all groups in one pass (NEON).
