//! Tensor layer: shapes, 64-byte-aligned f32 storage, owned tensors and
//! borrowed views.
//!
//! # Layout contract
//!
//! The canonical activation layout of `sepconv` is **NHWC, f32, batch
//! first**: element `(n, h, w, c)` of a tensor with shape
//! `Shape4 { n: N, h: H, w: W, c: C }` lives at linear offset
//! `((n * H + h) * W + w) * C + c`. Channels are the fastest-varying
//! dimension, so a pixel's channel vector is contiguous, which is what the
//! depthwise / pointwise SIMD kernels want.
//!
//! NCHW data (as produced by most training frameworks) is converted at graph
//! boundaries with [`nchw_to_nhwc`] / [`nhwc_to_nchw`] or
//! [`Tensor::from_nchw`] / [`Tensor::to_nchw`]. Everywhere in this module a
//! [`Shape4`] is the *logical NHWC shape*, even when the data it describes is
//! stored in NCHW order.
//!
//! Owned storage ([`AlignedBuf`]) always starts on a 64-byte boundary (one
//! cache line / one AVX-512 register), is zero-padded up to a multiple of 16
//! floats, and is built entirely from safe code on top of `bytemuck`.
//!
//! No function in this module panics on bad input; every failure is reported
//! as a [`TensorError`].

// Bad shapes and lengths are errors, never panics: no slice indexing here.
#![deny(clippy::indexing_slicing)]

use std::fmt;

/// Errors produced by the tensor layer. Every message names the offending
/// value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TensorError {
    /// A shape dimension was zero where every dimension must be at least 1.
    /// `dim` is one of `"n"`, `"h"`, `"w"`, `"c"`.
    #[error("dimension {dim} is 0; every dimension must be at least 1")]
    ZeroDim {
        /// Name of the zero dimension: `"n"`, `"h"`, `"w"` or `"c"`.
        dim: &'static str,
    },
    /// The element count `n * h * w * c` of a shape does not fit in `usize`.
    #[error("shape {shape} overflows usize")]
    Overflow {
        /// The shape whose element count overflows.
        shape: Shape4,
    },
    /// A buffer of `len` f32 elements cannot be allocated (its byte size
    /// exceeds `isize::MAX` or the allocator refused it).
    #[error("cannot allocate a buffer of {len} f32 elements")]
    TooLarge {
        /// Requested length in f32 elements.
        len: usize,
    },
    /// A data slice has the wrong number of elements for a shape.
    #[error("tensor of shape {shape} needs {expected} elements, got {actual}")]
    LengthMismatch {
        /// The (NHWC) shape the data was supposed to fill.
        shape: Shape4,
        /// Element count implied by `shape`.
        expected: usize,
        /// Element count actually supplied.
        actual: usize,
    },
    /// Two tensors (or views) that must have the same shape do not.
    #[error("shape mismatch: expected {expected}, got {actual}")]
    ShapeMismatch {
        /// The shape that was required.
        expected: Shape4,
        /// The shape that was supplied.
        actual: Shape4,
    },
    /// A byte buffer's length is not a multiple of 4, so it cannot hold f32s.
    #[error("byte length {len} is not a multiple of 4 (size of f32)")]
    ByteLength {
        /// Length of the byte buffer.
        len: usize,
    },
}

// ---------------------------------------------------------------------------
// Shape4
// ---------------------------------------------------------------------------

/// A 4-D NHWC shape: batch `n`, height `h`, width `w`, channels `c`.
///
/// The linear offset of element `(n, h, w, c)` is
/// `((n * self.h + h) * self.w + w) * self.c + c`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shape4 {
    /// Batch size.
    pub n: usize,
    /// Height (rows).
    pub h: usize,
    /// Width (columns).
    pub w: usize,
    /// Channels (fastest-varying dimension).
    pub c: usize,
}

impl Shape4 {
    /// Creates the NHWC shape `n x h x w x c` (arguments in NHWC order).
    /// No validation is done; see [`Shape4::validate`].
    pub const fn new(n: usize, h: usize, w: usize, c: usize) -> Self {
        Self { n, h, w, c }
    }

    /// Creates the NHWC shape of a tensor described by NCHW dimensions
    /// (arguments in NCHW order: `n, c, h, w`).
    pub const fn from_nchw_dims(n: usize, c: usize, h: usize, w: usize) -> Self {
        Self { n, h, w, c }
    }

    /// Returns the dimensions in NCHW order: `[n, c, h, w]`.
    pub const fn to_nchw_dims(&self) -> [usize; 4] {
        [self.n, self.c, self.h, self.w]
    }

    /// Returns the dimensions in NHWC order: `[n, h, w, c]`.
    pub const fn to_nhwc_dims(&self) -> [usize; 4] {
        [self.n, self.h, self.w, self.c]
    }

    /// Number of elements `n * h * w * c`, computed with overflow checks.
    /// Zero dimensions are allowed here (the result is then 0).
    ///
    /// # Errors
    /// [`TensorError::Overflow`] if the product does not fit in `usize`.
    pub fn len(&self) -> Result<usize, TensorError> {
        self.n
            .checked_mul(self.h)
            .and_then(|x| x.checked_mul(self.w))
            .and_then(|x| x.checked_mul(self.c))
            .ok_or(TensorError::Overflow { shape: *self })
    }

    /// True if any dimension is 0 (the shape holds no elements).
    pub const fn is_empty(&self) -> bool {
        self.n == 0 || self.h == 0 || self.w == 0 || self.c == 0
    }

    /// Checks that every dimension is at least 1 and that the element count
    /// fits in `usize`; returns the element count.
    ///
    /// # Errors
    /// [`TensorError::ZeroDim`] naming the first zero dimension (checked in
    /// `n, h, w, c` order), else [`TensorError::Overflow`].
    pub fn validate(&self) -> Result<usize, TensorError> {
        for (dim, v) in [("n", self.n), ("h", self.h), ("w", self.w), ("c", self.c)] {
            if v == 0 {
                return Err(TensorError::ZeroDim { dim });
            }
        }
        self.len()
    }

    /// Linear NHWC offset of element `(n, h, w, c)`, or `None` if any index
    /// is out of range. Never overflows for a shape whose [`len`](Self::len)
    /// is `Ok`; returns `None` otherwise.
    pub fn offset(&self, n: usize, h: usize, w: usize, c: usize) -> Option<usize> {
        if n >= self.n || h >= self.h || w >= self.w || c >= self.c {
            return None;
        }
        n.checked_mul(self.h)?
            .checked_add(h)?
            .checked_mul(self.w)?
            .checked_add(w)?
            .checked_mul(self.c)?
            .checked_add(c)
    }
}

impl fmt::Display for Shape4 {
    /// Formats as `NxHxWxC`, e.g. `1x56x56x24`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}x{}x{}", self.n, self.h, self.w, self.c)
    }
}

// ---------------------------------------------------------------------------
// AlignedBuf
// ---------------------------------------------------------------------------

/// Number of f32 lanes in one 64-byte block.
const BLOCK_LANES: usize = 16;

/// One 64-byte, 64-byte-aligned chunk of storage.
#[repr(C, align(64))]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Block([f32; BLOCK_LANES]);

const ZERO_BLOCK: Block = Block([0.0; BLOCK_LANES]);

/// Heap storage for `len` f32 values whose first element is 64-byte aligned.
///
/// Internally a `Vec` of 64-byte blocks; the tail past `len` (up to the next
/// multiple of 16 floats) is padding that is zero on construction and never
/// exposed through [`as_slice`](Self::as_slice) /
/// [`as_mut_slice`](Self::as_mut_slice). The pointer of an empty buffer is
/// also 64-byte aligned. Implemented without `unsafe`.
#[derive(Clone, Default)]
pub struct AlignedBuf {
    /// Invariant: `blocks.len() * 16 >= len` (exactly `len.div_ceil(16)`).
    blocks: Vec<Block>,
    len: usize,
}

impl AlignedBuf {
    /// Allocates a buffer of `len` zeros.
    ///
    /// # Errors
    /// [`TensorError::TooLarge`] if `len * 4` bytes exceeds `isize::MAX` or
    /// the allocation fails (reported instead of aborting).
    pub fn zeroed(len: usize) -> Result<Self, TensorError> {
        let nblocks = len.div_ceil(BLOCK_LANES);
        let mut blocks: Vec<Block> = Vec::new();
        blocks.try_reserve_exact(nblocks).map_err(|_| TensorError::TooLarge { len })?;
        blocks.resize(nblocks, ZERO_BLOCK);
        Ok(Self { blocks, len })
    }

    /// Allocates a buffer holding a copy of `src`.
    pub fn from_slice(src: &[f32]) -> Self {
        let mut blocks = vec![ZERO_BLOCK; src.len().div_ceil(BLOCK_LANES)];
        let flat: &mut [f32] = bytemuck::cast_slice_mut(&mut blocks);
        for (d, s) in flat.iter_mut().zip(src) {
            *d = *s;
        }
        Self { blocks, len: src.len() }
    }

    /// Number of f32 elements (excluding alignment padding).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if the buffer holds no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes allocated (the elements rounded up to whole 64-byte blocks).
    pub fn allocated_bytes(&self) -> usize {
        std::mem::size_of_val(self.blocks.as_slice())
    }

    /// The `len` elements; `as_slice().as_ptr()` is 64-byte aligned.
    pub fn as_slice(&self) -> &[f32] {
        let flat: &[f32] = bytemuck::cast_slice(&self.blocks);
        // Invariant: flat.len() >= self.len, so `get` finds the prefix. (Were it broken, the
        // empty slice would fail every length check downstream instead of panicking here.)
        flat.get(..self.len).unwrap_or_default()
    }

    /// The `len` elements, mutably; `as_mut_slice().as_ptr()` is 64-byte
    /// aligned.
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        let flat: &mut [f32] = bytemuck::cast_slice_mut(&mut self.blocks);
        // Invariant: flat.len() >= self.len (see `as_slice`).
        flat.get_mut(..self.len).unwrap_or_default()
    }
}

impl fmt::Debug for AlignedBuf {
    /// Prints the length only, never the contents.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlignedBuf").field("len", &self.len).finish_non_exhaustive()
    }
}

impl PartialEq for AlignedBuf {
    /// Element-wise f32 equality of the visible elements (padding ignored).
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

// ---------------------------------------------------------------------------
// Layout conversion
// ---------------------------------------------------------------------------

fn check_len(shape: Shape4, expected: usize, actual: usize) -> Result<(), TensorError> {
    if expected == actual { Ok(()) } else { Err(TensorError::LengthMismatch { shape, expected, actual }) }
}

/// Converts NCHW data to NHWC without allocating.
///
/// `shape` is the logical NHWC shape; `src` holds `shape.len()` elements in
/// NCHW order (`((n * C + c) * H + h) * W + w`) and `dst` receives them in
/// NHWC order (`((n * H + h) * W + w) * C + c`). Zero-sized shapes are
/// accepted (nothing is copied).
///
/// # Errors
/// [`TensorError::Overflow`] if the shape's element count overflows;
/// [`TensorError::LengthMismatch`] if `src` or `dst` is not exactly
/// `shape.len()` long (`src` is checked first).
pub fn nchw_to_nhwc(shape: Shape4, src: &[f32], dst: &mut [f32]) -> Result<(), TensorError> {
    let len = shape.len()?;
    check_len(shape, len, src.len())?;
    check_len(shape, len, dst.len())?;
    if len == 0 {
        return Ok(());
    }
    let plane = shape.h * shape.w; // cannot overflow: divides len
    let image = plane * shape.c;
    // Per image, the [C][H·W] matrix transposed into [H·W][C].
    for (s_img, d_img) in src.chunks_exact(image).zip(dst.chunks_exact_mut(image)) {
        transpose_image(shape, shape.c, plane, s_img, d_img)?;
    }
    Ok(())
}

/// Converts NHWC data to NCHW without allocating.
///
/// `shape` is the logical NHWC shape; `src` holds `shape.len()` elements in
/// NHWC order and `dst` receives them in NCHW order. Zero-sized shapes are
/// accepted (nothing is copied).
///
/// # Errors
/// [`TensorError::Overflow`] if the shape's element count overflows;
/// [`TensorError::LengthMismatch`] if `src` or `dst` is not exactly
/// `shape.len()` long (`src` is checked first).
pub fn nhwc_to_nchw(shape: Shape4, src: &[f32], dst: &mut [f32]) -> Result<(), TensorError> {
    let len = shape.len()?;
    check_len(shape, len, src.len())?;
    check_len(shape, len, dst.len())?;
    if len == 0 {
        return Ok(());
    }
    let plane = shape.h * shape.w; // cannot overflow: divides len
    let image = plane * shape.c;
    // Per image, the [H·W][C] matrix transposed into [C][H·W].
    for (s_img, d_img) in src.chunks_exact(image).zip(dst.chunks_exact_mut(image)) {
        transpose_image(shape, plane, shape.c, s_img, d_img)?;
    }
    Ok(())
}

/// One image's transpose (`rows × cols` into `cols × rows`) with the fastest kernel the CPU has.
fn transpose_image(
    shape: Shape4,
    rows: usize,
    cols: usize,
    src: &[f32],
    dst: &mut [f32],
) -> Result<(), TensorError> {
    // The lengths were checked by the callers (whole images of a valid shape), so the kernel
    // cannot refuse them; map its error anyway rather than assume.
    sepconv_kernels::layout::transpose(rows, cols, src, dst).map_err(|_| TensorError::LengthMismatch {
        shape,
        expected: rows * cols,
        actual: src.len(),
    })
}

// ---------------------------------------------------------------------------
// Tensor
// ---------------------------------------------------------------------------

/// An owned NHWC f32 tensor with 64-byte-aligned storage.
///
/// Invariant: `shape` is valid (every dimension >= 1, element count fits in
/// `usize`) and `data.len() == shape.len()`.
///
/// # Example
/// ```
/// use sepconv::tensor::{Shape4, Tensor};
///
/// // One image, 2x3 pixels, 2 channels, given in NCHW order.
/// let shape = Shape4::from_nchw_dims(1, 2, 2, 3);
/// let nchw = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, // channel 0
///             10.0, 11.0, 12.0, 13.0, 14.0, 15.0]; // channel 1
/// let t = Tensor::from_nchw(shape, &nchw)?;
/// assert_eq!(t.shape().to_string(), "1x2x3x2");
/// // NHWC: the channel values of each pixel are adjacent.
/// assert_eq!(&t.as_slice()[..4], &[0.0, 10.0, 1.0, 11.0]);
/// assert_eq!(t.get(0, 1, 2, 1), Some(15.0));
/// assert_eq!(t.get(0, 2, 0, 0), None);
/// assert_eq!(t.to_nchw(), nchw.to_vec());
/// assert_eq!(t.as_slice().as_ptr() as usize % 64, 0);
/// # Ok::<(), sepconv::tensor::TensorError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    shape: Shape4,
    data: AlignedBuf,
}

impl Tensor {
    /// A tensor of the given NHWC shape filled with zeros.
    ///
    /// # Errors
    /// [`TensorError::ZeroDim`] / [`TensorError::Overflow`] for an invalid
    /// shape; [`TensorError::TooLarge`] if the storage cannot be allocated.
    pub fn zeros(shape: Shape4) -> Result<Self, TensorError> {
        let len = shape.validate()?;
        Ok(Self { shape, data: AlignedBuf::zeroed(len)? })
    }

    /// A tensor from NHWC-ordered data (copied into aligned storage).
    ///
    /// # Errors
    /// Invalid shape as in [`Tensor::zeros`];
    /// [`TensorError::LengthMismatch`] if `data.len() != shape.len()`.
    pub fn from_vec(shape: Shape4, data: Vec<f32>) -> Result<Self, TensorError> {
        Self::from_slice(shape, &data)
    }

    /// A tensor from NHWC-ordered data (copied into aligned storage).
    ///
    /// # Errors
    /// Invalid shape as in [`Tensor::zeros`];
    /// [`TensorError::LengthMismatch`] if `data.len() != shape.len()`.
    pub fn from_slice(shape: Shape4, data: &[f32]) -> Result<Self, TensorError> {
        let len = shape.validate()?;
        check_len(shape, len, data.len())?;
        Ok(Self { shape, data: AlignedBuf::from_slice(data) })
    }

    /// A tensor wrapping an existing NHWC-ordered [`AlignedBuf`] (no copy).
    ///
    /// # Errors
    /// Invalid shape as in [`Tensor::zeros`];
    /// [`TensorError::LengthMismatch`] if `buf.len() != shape.len()`.
    pub fn from_buf(shape: Shape4, buf: AlignedBuf) -> Result<Self, TensorError> {
        let len = shape.validate()?;
        check_len(shape, len, buf.len())?;
        Ok(Self { shape, data: buf })
    }

    /// Converts NCHW-ordered data into an NHWC tensor. `shape` is the NHWC
    /// shape of the result (build it with [`Shape4::from_nchw_dims`] if you
    /// have NCHW dimensions).
    ///
    /// # Errors
    /// Invalid shape as in [`Tensor::zeros`];
    /// [`TensorError::LengthMismatch`] if `nchw_data.len() != shape.len()`.
    pub fn from_nchw(shape: Shape4, nchw_data: &[f32]) -> Result<Self, TensorError> {
        let len = shape.validate()?;
        check_len(shape, len, nchw_data.len())?;
        let mut data = AlignedBuf::zeroed(len)?;
        nchw_to_nhwc(shape, nchw_data, data.as_mut_slice())?;
        Ok(Self { shape, data })
    }

    /// The tensor's data converted to NCHW order
    /// (`((n * C + c) * H + h) * W + w`).
    pub fn to_nchw(&self) -> Vec<f32> {
        let mut out = vec![0.0; self.data.len()];
        // Cannot fail: shape is valid and both lengths equal shape.len().
        let _ = nhwc_to_nchw(self.shape, self.data.as_slice(), &mut out);
        out
    }

    /// A tensor from little-endian f32 bytes in NHWC order. `bytes` may have
    /// any alignment; the result is correct on big-endian hosts too.
    ///
    /// # Errors
    /// [`TensorError::ByteLength`] if `bytes.len()` is not a multiple of 4;
    /// invalid shape as in [`Tensor::zeros`];
    /// [`TensorError::LengthMismatch`] if `bytes.len() / 4 != shape.len()`.
    pub fn from_le_bytes(shape: Shape4, bytes: &[u8]) -> Result<Self, TensorError> {
        if !bytes.len().is_multiple_of(4) {
            return Err(TensorError::ByteLength { len: bytes.len() });
        }
        let len = shape.validate()?;
        check_len(shape, len, bytes.len() / 4)?;
        let mut data = AlignedBuf::zeroed(len)?;
        let dst = data.as_mut_slice();
        #[cfg(target_endian = "little")]
        if let Ok(src) = bytemuck::try_cast_slice::<u8, f32>(bytes) {
            // Fast path: aligned input on a little-endian host.
            dst.copy_from_slice(src);
            return Ok(Self { shape, data });
        }
        for (d, chunk) in dst.iter_mut().zip(bytes.chunks_exact(4)) {
            *d = f32::from_le_bytes(bytemuck::pod_read_unaligned::<[u8; 4]>(chunk));
        }
        Ok(Self { shape, data })
    }

    /// The tensor's NHWC data as raw bytes in **native** endianness
    /// (`4 * len` bytes, 64-byte aligned).
    pub fn as_bytes(&self) -> &[u8] {
        bytemuck::cast_slice(self.data.as_slice())
    }

    /// The NHWC shape.
    pub fn shape(&self) -> Shape4 {
        self.shape
    }

    /// Number of elements (always >= 1).
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Always false: a tensor has every dimension >= 1. Provided for API
    /// symmetry with [`Tensor::len`].
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The data in NHWC order; the pointer is 64-byte aligned.
    pub fn as_slice(&self) -> &[f32] {
        self.data.as_slice()
    }

    /// The data in NHWC order, mutably; the pointer is 64-byte aligned.
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        self.data.as_mut_slice()
    }

    /// Consumes the tensor and returns its NHWC storage.
    pub fn into_buf(self) -> AlignedBuf {
        self.data
    }

    /// A borrowed NHWC view of the whole tensor.
    pub fn view(&self) -> TensorView<'_> {
        TensorView { shape: self.shape, data: self.data.as_slice() }
    }

    /// A mutable borrowed NHWC view of the whole tensor.
    pub fn view_mut(&mut self) -> TensorViewMut<'_> {
        TensorViewMut { shape: self.shape, data: self.data.as_mut_slice() }
    }

    /// Element `(n, h, w, c)`, or `None` if any index is out of range.
    pub fn get(&self, n: usize, h: usize, w: usize, c: usize) -> Option<f32> {
        self.view().get(n, h, w, c)
    }

    /// Maximum of `|a - b|` over corresponding elements. Returns NaN if
    /// either tensor contains a NaN; equal infinities count as difference 0.
    ///
    /// # Errors
    /// [`TensorError::ShapeMismatch`] (expected = `self`'s shape) if the
    /// shapes differ.
    pub fn max_abs_diff(&self, other: &Tensor) -> Result<f32, TensorError> {
        self.view().max_abs_diff(other.view())
    }
}

// ---------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------

/// A borrowed, immutable NHWC view: a validated shape plus exactly
/// `shape.len()` elements in NHWC order.
#[derive(Clone, Copy, Debug)]
pub struct TensorView<'a> {
    shape: Shape4,
    data: &'a [f32],
}

impl<'a> TensorView<'a> {
    /// Wraps NHWC-ordered `data` as a view of `shape`.
    ///
    /// # Errors
    /// [`TensorError::ZeroDim`] / [`TensorError::Overflow`] for an invalid
    /// shape; [`TensorError::LengthMismatch`] if `data.len() != shape.len()`.
    pub fn new(shape: Shape4, data: &'a [f32]) -> Result<Self, TensorError> {
        let len = shape.validate()?;
        check_len(shape, len, data.len())?;
        Ok(Self { shape, data })
    }

    /// The NHWC shape.
    pub fn shape(&self) -> Shape4 {
        self.shape
    }

    /// The data in NHWC order.
    pub fn as_slice(&self) -> &'a [f32] {
        self.data
    }

    /// Element `(n, h, w, c)`, or `None` if any index is out of range.
    pub fn get(&self, n: usize, h: usize, w: usize, c: usize) -> Option<f32> {
        let i = self.shape.offset(n, h, w, c)?;
        self.data.get(i).copied()
    }

    /// Maximum of `|a - b|` over corresponding elements. Returns NaN if
    /// either view contains a NaN; equal infinities count as difference 0.
    ///
    /// # Errors
    /// [`TensorError::ShapeMismatch`] (expected = `self`'s shape) if the
    /// shapes differ.
    pub fn max_abs_diff(&self, other: TensorView<'_>) -> Result<f32, TensorError> {
        if self.shape != other.shape {
            return Err(TensorError::ShapeMismatch { expected: self.shape, actual: other.shape });
        }
        let mut max = 0.0f32;
        for (&a, &b) in self.data.iter().zip(other.data) {
            if a.is_nan() || b.is_nan() {
                return Ok(f32::NAN);
            }
            let d = if a == b { 0.0 } else { (a - b).abs() };
            if d > max {
                max = d;
            }
        }
        Ok(max)
    }
}

/// A borrowed, mutable NHWC view: a validated shape plus exactly
/// `shape.len()` elements in NHWC order.
#[derive(Debug)]
pub struct TensorViewMut<'a> {
    shape: Shape4,
    data: &'a mut [f32],
}

impl<'a> TensorViewMut<'a> {
    /// Wraps NHWC-ordered `data` as a mutable view of `shape`.
    ///
    /// # Errors
    /// [`TensorError::ZeroDim`] / [`TensorError::Overflow`] for an invalid
    /// shape; [`TensorError::LengthMismatch`] if `data.len() != shape.len()`.
    pub fn new(shape: Shape4, data: &'a mut [f32]) -> Result<Self, TensorError> {
        let len = shape.validate()?;
        check_len(shape, len, data.len())?;
        Ok(Self { shape, data })
    }

    /// The NHWC shape.
    pub fn shape(&self) -> Shape4 {
        self.shape
    }

    /// The data in NHWC order.
    pub fn as_slice(&self) -> &[f32] {
        self.data
    }

    /// The data in NHWC order, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        self.data
    }

    /// Reborrows as an immutable view.
    pub fn as_view(&self) -> TensorView<'_> {
        TensorView { shape: self.shape, data: self.data }
    }

    /// Element `(n, h, w, c)`, or `None` if any index is out of range.
    pub fn get(&self, n: usize, h: usize, w: usize, c: usize) -> Option<f32> {
        self.as_view().get(n, h, w, c)
    }

    /// Mutable reference to element `(n, h, w, c)`, or `None` if any index
    /// is out of range.
    pub fn get_mut(&mut self, n: usize, h: usize, w: usize, c: usize) -> Option<&mut f32> {
        let i = self.shape.offset(n, h, w, c)?;
        self.data.get_mut(i)
    }

    /// Copies all elements of `src` into this view.
    ///
    /// # Errors
    /// [`TensorError::ShapeMismatch`] (expected = this view's shape) if the
    /// shapes differ; nothing is written in that case.
    pub fn copy_from(&mut self, src: TensorView<'_>) -> Result<(), TensorError> {
        if self.shape != src.shape {
            return Err(TensorError::ShapeMismatch { expected: self.shape, actual: src.shape });
        }
        // Both views were validated, so equal shapes imply equal lengths.
        for (d, s) in self.data.iter_mut().zip(src.data) {
            *d = *s;
        }
        Ok(())
    }
}
