//! The error type of the sepconv runtime.

use std::fmt;
use std::sync::Arc;

use sepconv_kernels::KernelError;

use crate::isa::Isa;
#[cfg(feature = "npy")]
use crate::npy::NpyError;
#[cfg(feature = "onnx")]
use crate::onnx::OnnxError;
use crate::tensor::{Shape4, TensorError};

/// An error that is neither `Clone` nor `PartialEq` (it carries an `io::Error`), shared so that
/// [`Error`] can be both; two `Shared` are equal when they are the same error.
#[derive(Debug)]
pub struct Shared<E>(pub Arc<E>);

impl<E> Clone for Shared<E> {
    fn clone(&self) -> Self {
        Shared(Arc::clone(&self.0))
    }
}

impl<E> PartialEq for Shared<E> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl<E: fmt::Display> fmt::Display for Shared<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<E: std::error::Error + 'static> std::error::Error for Shared<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Everything that can go wrong when planning or running an op. Every message names the
/// offending value.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A tensor was malformed (wrong element count, zero dimension, overflow, ...).
    #[error(transparent)]
    Tensor(#[from] TensorError),
    /// An op's parameters or buffers were refused while planning or running it.
    #[error("{op}: {source}")]
    Kernel {
        /// The op (e.g. `DepthwiseConv2d`).
        op: &'static str,
        /// What was wrong.
        #[source]
        source: KernelError,
    },
    /// A kernel-layer error met outside any op, e.g. from a padding or geometry helper.
    #[error(transparent)]
    Geometry(#[from] KernelError),
    /// A tensor's shape differs from the one the op was planned for.
    #[error("{op}: {what} has shape {actual}, but the op was planned for {expected}")]
    ShapeMismatch {
        /// The op.
        op: &'static str,
        /// Which tensor (`input`, `output`, ...).
        what: &'static str,
        /// The planned shape.
        expected: Shape4,
        /// The shape given.
        actual: Shape4,
    },
    /// An op parameter outside what the op accepts, which the kernel layer cannot name.
    #[error("{op}: {what} = {value} is invalid: {reason}")]
    InvalidParam {
        /// The op.
        op: &'static str,
        /// The parameter.
        what: &'static str,
        /// Its value.
        value: usize,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A graph node was refused while planning or running; `source` says why.
    #[error("node \"{node}\": {source}")]
    Node {
        /// The node's name.
        node: String,
        /// What was wrong.
        #[source]
        source: Box<Error>,
    },
    /// A graph is malformed at a node (a value read before it is computed, wrong arity, shapes
    /// that do not fit).
    #[error("node \"{node}\": {reason}")]
    Graph {
        /// The node's name (or `<model input>` / `<model output>`).
        node: String,
        /// What is wrong.
        reason: String,
    },
    /// An ONNX model could not be imported.
    #[cfg(feature = "onnx")]
    #[error(transparent)]
    Onnx(Shared<OnnxError>),
    /// A `.npy` file could not be read or written.
    #[cfg(feature = "npy")]
    #[error(transparent)]
    Npy(Shared<NpyError>),
    /// An input array whose shape is not the model's input shape.
    #[error("input {path} has shape {actual:?}, but the model's input is {expected:?}")]
    InputShape {
        /// The input file.
        path: String,
        /// Its shape.
        actual: Vec<usize>,
        /// The model's input shape (in the model's layout).
        expected: Vec<usize>,
    },
    /// A batch the model cannot run: its batch is fixed, or the request is 0 or disagrees with
    /// another request.
    #[error("batch {requested}: {reason}")]
    Batch {
        /// The batch asked for.
        requested: usize,
        /// Why it cannot run.
        reason: String,
    },
    /// A model name that is not a built-in model.
    #[error("unknown model `{0}`; the built-in models are mobilenet_v1 and mobilenet_v2")]
    UnknownModel(String),
    /// An ISA tier name that is not one of `scalar`, `portable`, `avx2`, `neon`.
    #[error("unknown ISA tier `{0}`; expected one of scalar, portable, avx2, avx512, neon")]
    UnknownIsa(String),
    /// An ISA tier this CPU cannot run.
    #[error("ISA tier `{isa}` is not available on this CPU: {reason}")]
    IsaUnavailable {
        /// The tier asked for.
        isa: Isa,
        /// Why it cannot run.
        reason: &'static str,
    },
    /// `SEPCONV_ISA` holds an unknown or unavailable tier.
    #[error("SEPCONV_ISA: {0}")]
    IsaEnv(Box<Error>),
}

#[cfg(feature = "onnx")]
impl From<OnnxError> for Error {
    fn from(e: OnnxError) -> Self {
        Error::Onnx(Shared(Arc::new(e)))
    }
}

#[cfg(feature = "npy")]
impl From<NpyError> for Error {
    fn from(e: NpyError) -> Self {
        Error::Npy(Shared(Arc::new(e)))
    }
}

impl Error {
    /// Wraps a kernel-layer error with the name of the op that met it.
    pub(crate) fn kernel(op: &'static str) -> impl FnOnce(KernelError) -> Error {
        move |source| Error::Kernel { op, source }
    }
}
