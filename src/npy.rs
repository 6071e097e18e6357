//! Reading `.npy` arrays (NumPy's format) as `f32`, and writing `f32` ones.
//!
//! An `.npy` file is a 6-byte magic string `\x93NUMPY`, a major and a minor version byte, a
//! little-endian header length (`u16` in version 1.0, `u32` in versions 2.0 and 3.0), a header
//! that is the text of a Python dict literal, and then the raw array data:
//!
//! ```text
//! \x93NUMPY \x01 \x00 <u16 len> {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }   ...\n <data>
//! ```
//!
//! The subset this module handles:
//!
//! - **Versions** 1.0, 2.0 and 3.0 on reading (3.0 only differs by a UTF-8 rather than Latin-1
//!   header). The writer produces 1.0, and 2.0 only if the header would not fit a `u16` length,
//!   as numpy does.
//! - **Header**: a dict with exactly the keys `'descr'`, `'fortran_order'` and `'shape'`, in any
//!   order, with any whitespace, single or double quotes, an optional trailing comma; `shape`
//!   is a tuple of non-negative ints (`()` for a scalar, `(3,)` for one dimension). The header
//!   is read by a small literal parser with bounded nesting; nothing is evaluated.
//! - **Dtype**: float32 and float64, signed and unsigned integers of 1, 2, 4 and 8 bytes, and
//!   bool, in either byte order (`'<f4'`, `'>f8'`, `'<i8'`, `'|u1'`, `'|b1'`, ...: the
//!   descriptors numpy writes), every one converted to `f32` on reading (the nearest `f32`;
//!   [`NpyDtype::exact_in_f32`] says whether that can round) with the file's type kept in
//!   [`NpyArray::dtype`]. Every other descriptor (float16, complex, strings, the native-order
//!   `'='` that numpy never writes to a file, structured dtypes) is refused with
//!   [`NpyError::UnsupportedDtype`]. The writer writes `'<f4'`.
//! - **Order**: C order is returned as is; a Fortran-order file (`'fortran_order': True`) is
//!   transposed while reading, so [`NpyArray::data`] is always in C order.
//! - **Data**: its length must be exactly the product of the shape times the element size.
//!
//! The reader never panics, whatever the bytes: every malformed input is an [`NpyError`] whose
//! message says what is wrong. The writer pads the header with spaces and a final `'\n'` so the
//! data starts at a multiple of 64 bytes, byte for byte as `numpy.save` does for the same
//! array; [`write_npy_file`] replaces its target atomically.
//!
//! ```
//! use sepconv::npy::{read_npy, write_npy};
//!
//! let mut bytes = Vec::new();
//! write_npy(&[2, 3], &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0], &mut bytes)?;
//! assert_eq!(bytes.len(), 128 + 6 * 4);
//! let array = read_npy(&bytes)?;
//! assert_eq!(array.shape, [2, 3]);
//! assert_eq!(array.data[4], 4.0);
//! # Ok::<(), sepconv::npy::NpyError>(())
//! ```

// Bad files are errors, never panics: no slice indexing here.
#![deny(clippy::indexing_slicing)]

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The 6 bytes every `.npy` file starts with.
const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// The data offset is a multiple of this (numpy's `ARRAY_ALIGN`).
const ARRAY_ALIGN: usize = 64;

/// Spare spaces numpy appends to the header so the first axis can grow in place
/// (numpy's `GROWTH_AXIS_MAX_DIGITS`).
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// Deepest nesting of tuples/lists the header parser accepts.
const MAX_NESTING: usize = 16;

/// How much of a malformed header an error message quotes.
const HEADER_QUOTE_CHARS: usize = 160;

/// An array read from an `.npy` file, as `f32`.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    /// The dimensions, outermost first; empty for a scalar.
    pub shape: Vec<usize>,
    /// The elements in C (row-major) order, converted to `f32`; `shape.iter().product()` of them.
    pub data: Vec<f32>,
    /// The element type the file stores.
    pub dtype: NpyDtype,
}

/// The element types [`read_npy`] accepts (each in either byte order); all become `f32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NpyDtype {
    /// `f4`.
    F32,
    /// `f8`.
    F64,
    /// `i1`.
    I8,
    /// `u1`.
    U8,
    /// `i2`.
    I16,
    /// `u2`.
    U16,
    /// `i4`.
    I32,
    /// `u4`.
    U32,
    /// `i8`.
    I64,
    /// `u8`.
    U64,
    /// `b1` (0 or 1; any other byte is an error).
    Bool,
}

impl NpyDtype {
    /// The type of a descriptor's kind and size (`"f8"`), if supported.
    fn of(kind_size: &str) -> Option<Self> {
        Some(match kind_size {
            "f4" => NpyDtype::F32,
            "f8" => NpyDtype::F64,
            "i1" => NpyDtype::I8,
            "u1" => NpyDtype::U8,
            "i2" => NpyDtype::I16,
            "u2" => NpyDtype::U16,
            "i4" => NpyDtype::I32,
            "u4" => NpyDtype::U32,
            "i8" => NpyDtype::I64,
            "u8" => NpyDtype::U64,
            "b1" => NpyDtype::Bool,
            _ => return None,
        })
    }

    /// numpy's name of the type (`"float64"`).
    pub fn name(self) -> &'static str {
        match self {
            NpyDtype::F32 => "float32",
            NpyDtype::F64 => "float64",
            NpyDtype::I8 => "int8",
            NpyDtype::U8 => "uint8",
            NpyDtype::I16 => "int16",
            NpyDtype::U16 => "uint16",
            NpyDtype::I32 => "int32",
            NpyDtype::U32 => "uint32",
            NpyDtype::I64 => "int64",
            NpyDtype::U64 => "uint64",
            NpyDtype::Bool => "bool",
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            NpyDtype::I8 | NpyDtype::U8 | NpyDtype::Bool => 1,
            NpyDtype::I16 | NpyDtype::U16 => 2,
            NpyDtype::F32 | NpyDtype::I32 | NpyDtype::U32 => 4,
            NpyDtype::F64 | NpyDtype::I64 | NpyDtype::U64 => 8,
        }
    }

    /// Whether every value of the type is exactly an `f32` (else the conversion rounds to the
    /// nearest one: float64 beyond 24 significant bits or the f32 range, integers beyond 2^24).
    pub fn exact_in_f32(self) -> bool {
        !matches!(self, NpyDtype::F64 | NpyDtype::I32 | NpyDtype::U32 | NpyDtype::I64 | NpyDtype::U64)
    }

    /// Converts one element's bytes (`size()` of them, in the file's byte order) to `f32`.
    /// `None` for a bool byte other than 0 and 1.
    fn to_f32(self, b: &[u8], big_endian: bool) -> Option<f32> {
        fn arr<const N: usize>(b: &[u8], big_endian: bool) -> Option<[u8; N]> {
            let mut a: [u8; N] = b.try_into().ok()?;
            if big_endian {
                a.reverse();
            }
            Some(a)
        }
        // `as` from the integer and f64 types rounds to the nearest f32 (ties to even).
        Some(match self {
            NpyDtype::F32 => f32::from_le_bytes(arr(b, big_endian)?),
            NpyDtype::F64 => f64::from_le_bytes(arr(b, big_endian)?) as f32,
            NpyDtype::I8 => f32::from(i8::from_le_bytes(arr(b, false)?)),
            NpyDtype::U8 => f32::from(u8::from_le_bytes(arr(b, false)?)),
            NpyDtype::I16 => f32::from(i16::from_le_bytes(arr(b, big_endian)?)),
            NpyDtype::U16 => f32::from(u16::from_le_bytes(arr(b, big_endian)?)),
            NpyDtype::I32 => i32::from_le_bytes(arr(b, big_endian)?) as f32,
            NpyDtype::U32 => u32::from_le_bytes(arr(b, big_endian)?) as f32,
            NpyDtype::I64 => i64::from_le_bytes(arr(b, big_endian)?) as f32,
            NpyDtype::U64 => u64::from_le_bytes(arr(b, big_endian)?) as f32,
            NpyDtype::Bool => match b {
                [0] => 0.0,
                [1] => 1.0,
                _ => return None,
            },
        })
    }
}

impl fmt::Display for NpyDtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The type and byte order (`true`: big-endian) of a `descr` string numpy writes: `<` or `>`
/// and a multi-byte type, or `|` (or `<`/`>`) and a one-byte one.
fn parse_descr(descr: &str) -> Option<(NpyDtype, bool)> {
    let mut chars = descr.chars();
    let order = chars.next()?;
    let dtype = NpyDtype::of(chars.as_str())?;
    match (order, dtype.size()) {
        ('<', _) => Some((dtype, false)),
        ('>', _) => Some((dtype, true)),
        ('|', 1) => Some((dtype, false)),
        _ => None,
    }
}

impl NpyArray {
    /// The number of elements the shape describes (1 for a scalar).
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the array has no elements (some dimension is 0).
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// Everything that can go wrong reading or writing an `.npy` file. Every message says what is
/// wrong and names the offending value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NpyError {
    /// Reading, creating, writing or renaming a file failed.
    #[error("npy file {}: {source}", path.display())]
    Io {
        /// The file the operation was about (for [`write_npy_file`], the target path).
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The writer given to [`write_npy`] failed.
    #[error("writing npy data failed: {0}")]
    Stream(#[source] io::Error),
    /// The input does not start with the `.npy` magic string.
    #[error("not an npy file: expected the magic bytes \\x93NUMPY, found \"{}\"", found.escape_ascii())]
    BadMagic {
        /// The first (up to 6) bytes of the input.
        found: Vec<u8>,
    },
    /// A format version other than 1.0, 2.0 or 3.0.
    #[error("unsupported npy format version {major}.{minor} (supported: 1.0, 2.0, 3.0)")]
    UnsupportedVersion {
        /// The major version byte.
        major: u8,
        /// The minor version byte.
        minor: u8,
    },
    /// The input ends before the preamble or the header does.
    #[error("truncated npy file: the {what} needs {needed} bytes, but the input has only {available}")]
    Truncated {
        /// What was cut off (`"magic and version"`, `"header length"`, `"header"`).
        what: &'static str,
        /// How many bytes from the start of the input it needs.
        needed: usize,
        /// How many bytes the input has.
        available: usize,
    },
    /// The header is not a dict literal with valid `descr`, `fortran_order` and `shape` entries.
    #[error("malformed npy header: {reason}; header: {header}")]
    MalformedHeader {
        /// What is wrong, and where.
        reason: String,
        /// The header text (abridged if long), as a quoted, escaped string.
        header: String,
    },
    /// A dtype other than float32/64, 1- to 8-byte integers and bool.
    #[error(
        "unsupported npy dtype {descr}: supported are float32, float64, int8-64, uint8-64 and bool \
         (e.g. '<f4', '>f8', '<i8', '|u1')"
    )]
    UnsupportedDtype {
        /// The header's `descr` value as written there, e.g. `'<f8'`.
        descr: String,
    },
    /// The element count of a shape, or its size in bytes, overflows `usize`.
    #[error("npy shape {shape:?} has too many elements: its size in bytes overflows usize")]
    ShapeOverflow {
        /// The shape.
        shape: Vec<usize>,
    },
    /// The data after the header is not exactly the shape's size.
    #[error("npy data has {actual} bytes, shape {shape:?} of {dtype} needs {expected}")]
    DataLength {
        /// The shape from the header.
        shape: Vec<usize>,
        /// The file's element type.
        dtype: NpyDtype,
        /// The bytes the shape needs (elements × element size).
        expected: usize,
        /// The bytes after the header.
        actual: usize,
    },
    /// A bool element that is neither 0 nor 1.
    #[error("npy bool element {index} is the byte {byte}, not 0 or 1")]
    BadBool {
        /// Its index in the file's order.
        index: usize,
        /// The byte.
        byte: u8,
    },
    /// [`write_npy`] or [`write_npy_file`] was given a data slice whose length is not the
    /// product of the shape.
    #[error("cannot write npy: shape {shape:?} has {expected} elements, but the data has {actual}")]
    ShapeMismatch {
        /// The shape given.
        shape: Vec<usize>,
        /// The element count it implies.
        expected: usize,
        /// The data length given.
        actual: usize,
    },
}

// ------------------------------------------------------------------------------------ reading

/// Parses an `.npy` file held in memory. See the [module docs](self) for the accepted subset.
///
/// Never panics: any malformed input yields an [`NpyError`].
pub fn read_npy(bytes: &[u8]) -> Result<NpyArray, NpyError> {
    let preamble = MAGIC.len() + 2;
    if bytes.len() < preamble {
        return Err(if MAGIC.starts_with(bytes) || bytes.starts_with(MAGIC) {
            NpyError::Truncated { what: "magic and version", needed: preamble, available: bytes.len() }
        } else {
            NpyError::BadMagic { found: bytes.iter().take(MAGIC.len()).copied().collect() }
        });
    }
    let (magic, rest) = bytes.split_at(MAGIC.len());
    if magic != MAGIC {
        return Err(NpyError::BadMagic { found: magic.to_vec() });
    }
    let (major, minor, rest) = match rest {
        [major, minor, rest @ ..] => (*major, *minor, rest),
        _ => unreachable_truncated(preamble, bytes.len())?,
    };
    let (len_size, utf8) = match (major, minor) {
        (1, 0) => (2, false),
        (2, 0) => (4, false),
        (3, 0) => (4, true),
        _ => return Err(NpyError::UnsupportedVersion { major, minor }),
    };
    let Some((len_bytes, rest)) = rest.split_at_checked(len_size) else {
        return Err(NpyError::Truncated {
            what: "header length",
            needed: preamble + len_size,
            available: bytes.len(),
        });
    };
    let header_len = match *len_bytes {
        [a, b] => usize::from(u16::from_le_bytes([a, b])),
        [a, b, c, d] => usize::try_from(u32::from_le_bytes([a, b, c, d])).unwrap_or(usize::MAX),
        _ => unreachable_truncated(preamble + len_size, bytes.len())?,
    };
    let Some((header_bytes, data)) = rest.split_at_checked(header_len) else {
        return Err(NpyError::Truncated {
            what: "header",
            needed: (preamble + len_size).saturating_add(header_len),
            available: bytes.len(),
        });
    };

    let header = decode_header(header_bytes, utf8)?;
    let info = parse_header(&header).map_err(|reason| malformed(reason, &header))?;
    let (dtype, big_endian) = match info.descr {
        Value::Str(ref s) => parse_descr(s),
        _ => None,
    }
    .ok_or_else(|| NpyError::UnsupportedDtype { descr: info.descr.to_string() })?;

    let expected = byte_size(&info.shape, dtype.size())
        .ok_or_else(|| NpyError::ShapeOverflow { shape: info.shape.clone() })?;
    if data.len() != expected {
        return Err(NpyError::DataLength { shape: info.shape, dtype, expected, actual: data.len() });
    }
    let values = data
        .chunks_exact(dtype.size())
        .enumerate()
        .map(|(index, b)| {
            dtype
                .to_f32(b, big_endian)
                .ok_or_else(|| NpyError::BadBool { index, byte: b.first().copied().unwrap_or(0) })
        })
        .collect::<Result<Vec<f32>, NpyError>>()?;
    let data = if info.fortran_order { fortran_to_c(&info.shape, &values) } else { values };
    Ok(NpyArray { shape: info.shape, data, dtype })
}

/// Reads and parses an `.npy` file; see [`read_npy`]. A file that cannot be read is
/// [`NpyError::Io`] naming the path; the format errors do not repeat the path.
pub fn read_npy_file(path: &Path) -> Result<NpyArray, NpyError> {
    let bytes = fs::read(path).map_err(|source| NpyError::Io { path: path.to_path_buf(), source })?;
    read_npy(&bytes)
}

/// An error for a slice pattern that the preceding length checks make impossible; kept as an
/// error rather than a panic so the reader has no panicking path at all.
fn unreachable_truncated<T>(needed: usize, available: usize) -> Result<T, NpyError> {
    Err(NpyError::Truncated { what: "header length", needed, available })
}

/// The number of bytes a shape of `elem`-byte elements needs, or `None` on overflow.
fn byte_size(shape: &[usize], elem: usize) -> Option<usize> {
    shape.iter().try_fold(elem, |acc, &d| acc.checked_mul(d))
}

/// Decodes the header bytes as Latin-1 (versions 1.0 and 2.0) or UTF-8 (version 3.0).
fn decode_header(bytes: &[u8], utf8: bool) -> Result<String, NpyError> {
    if utf8 {
        std::str::from_utf8(bytes).map(str::to_owned).map_err(|e| {
            let lossy = String::from_utf8_lossy(bytes);
            malformed(format!("a version 3.0 header must be UTF-8: {e}"), &lossy)
        })
    } else {
        Ok(bytes.iter().map(|&b| char::from(b)).collect())
    }
}

fn malformed(reason: String, header: &str) -> NpyError {
    let mut quoted: String = header.chars().take(HEADER_QUOTE_CHARS).collect();
    if header.chars().nth(HEADER_QUOTE_CHARS).is_some() {
        quoted.push_str("...");
    }
    NpyError::MalformedHeader { reason, header: format!("{quoted:?}") }
}

/// Reorders Fortran-order (first axis fastest) data into C order.
fn fortran_to_c(shape: &[usize], src: &[f32]) -> Vec<f32> {
    if src.is_empty() || shape.iter().filter(|&&d| d > 1).count() <= 1 {
        // No elements (the strides below could overflow for a shape like (0, 2^40, 2^40)), or
        // at most one axis longer than 1: both orders are the same sequence.
        return src.to_vec();
    }
    let mut dst = vec![0.0f32; src.len()];
    // Walk the source sequentially, advancing a Fortran-order index; keep the matching C offset.
    // C-order strides: the last axis has stride 1, axis k the product of the later extents.
    // (`src` is not empty, so the product of all extents is its length: none overflows.)
    let c_strides: Vec<usize> = {
        let mut strides = vec![1usize; shape.len()];
        let mut stride = 1usize;
        for (s, &d) in strides.iter_mut().zip(shape).rev() {
            *s = stride;
            stride = stride.saturating_mul(d);
        }
        strides
    };
    let mut index = vec![0usize; shape.len()];
    let mut offset = 0usize;
    for &v in src {
        if let Some(slot) = dst.get_mut(offset) {
            *slot = v;
        }
        for ((i, &stride), &d) in index.iter_mut().zip(&c_strides).zip(shape) {
            *i += 1;
            offset += stride;
            if *i < d {
                break;
            }
            offset -= *i * stride;
            *i = 0;
        }
    }
    dst
}

// ------------------------------------------------------------------------------ header parser

/// A Python literal, as far as `.npy` headers use them.
#[derive(Clone, Debug, PartialEq)]
enum Value {
    Str(String),
    Bool(bool),
    None,
    /// An integer literal; `None` if it does not fit in an `i128`.
    Int(Option<i128>),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
}

impl fmt::Display for Value {
    /// Python `repr` style.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn seq(f: &mut fmt::Formatter<'_>, items: &[Value], open: &str, close: &str) -> fmt::Result {
            f.write_str(open)?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{item}")?;
            }
            if open == "(" && items.len() == 1 {
                f.write_str(",")?;
            }
            f.write_str(close)
        }
        match self {
            Value::Str(s) => write!(f, "'{}'", s.escape_default()),
            Value::Bool(true) => f.write_str("True"),
            Value::Bool(false) => f.write_str("False"),
            Value::None => f.write_str("None"),
            Value::Int(Some(i)) => write!(f, "{i}"),
            Value::Int(None) => f.write_str("<huge int>"),
            Value::Tuple(items) => seq(f, items, "(", ")"),
            Value::List(items) => seq(f, items, "[", "]"),
            Value::Dict(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

/// The three entries of a validated header.
struct HeaderInfo {
    descr: Value,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// Parses the header text into its three entries. Errors are the reason only; the caller adds
/// the header text.
fn parse_header(text: &str) -> Result<HeaderInfo, String> {
    let mut parser = Parser { chars: text.char_indices().peekable(), text };
    parser.skip_ws();
    let value = parser.value(0)?;
    parser.skip_ws();
    if let Some(&(pos, c)) = parser.chars.peek() {
        return Err(format!("unexpected {c:?} at position {pos} after the dict"));
    }
    let Value::Dict(entries) = value else {
        return Err(format!("the header is not a dict but {value}"));
    };

    let mut descr = None;
    let mut fortran_order = None;
    let mut shape = None;
    for (key, value) in entries {
        let slot = match &key {
            Value::Str(k) if k == "descr" => &mut descr,
            Value::Str(k) if k == "fortran_order" => &mut fortran_order,
            Value::Str(k) if k == "shape" => &mut shape,
            _ => return Err(format!("unexpected key {key}; expected 'descr', 'fortran_order', 'shape'")),
        };
        if slot.is_some() {
            return Err(format!("duplicate key {key}"));
        }
        *slot = Some(value);
    }
    let missing = |name: &str| format!("missing key '{name}'");
    let descr = descr.ok_or_else(|| missing("descr"))?;
    let fortran_order = match fortran_order.ok_or_else(|| missing("fortran_order"))? {
        Value::Bool(b) => b,
        other => return Err(format!("'fortran_order' must be True or False, not {other}")),
    };
    let shape = match shape.ok_or_else(|| missing("shape"))? {
        Value::Tuple(dims) => {
            dims.iter()
                .map(|d| match d {
                    Value::Int(Some(i)) if *i < 0 => Err(format!("negative dimension {i} in 'shape'")),
                    Value::Int(Some(i)) => usize::try_from(*i)
                        .map_err(|_| format!("dimension {i} in 'shape' does not fit in usize")),
                    Value::Int(None) => Err("a dimension in 'shape' does not fit in usize".to_owned()),
                    other => Err(format!("'shape' must be a tuple of ints, but it holds {other}")),
                })
                .collect::<Result<Vec<usize>, String>>()?
        }
        other => {
            return Err(format!("'shape' must be a tuple of ints such as (2, 3), (3,) or (), not {other}"));
        }
    };
    Ok(HeaderInfo { descr, fortran_order, shape })
}

/// A recursive-descent parser for the Python literals of a header. Recursion is bounded by
/// [`MAX_NESTING`], so no input can exhaust the stack.
struct Parser<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    text: &'a str,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.chars.next_if(|&(_, c)| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c')).is_some() {}
    }

    fn here(&mut self) -> String {
        match self.chars.peek() {
            Some(&(pos, c)) => format!("{c:?} at position {pos}"),
            None => format!("end of header at position {}", self.text.len()),
        }
    }

    fn expect(&mut self, want: char, context: &str) -> Result<(), String> {
        if self.chars.next_if(|&(_, c)| c == want).is_some() {
            Ok(())
        } else {
            Err(format!("expected {want:?} {context}, found {}", self.here()))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > MAX_NESTING {
            return Err(format!("nesting deeper than {MAX_NESTING} levels at {}", self.here()));
        }
        match self.chars.peek().map(|&(_, c)| c) {
            Some('{') => self.dict(depth),
            Some('(') => self.sequence(depth, ')'),
            Some('[') => self.sequence(depth, ']'),
            Some(q @ ('\'' | '"')) => self.string(q),
            Some(c) if c.is_ascii_digit() || c == '-' || c == '+' => self.int(),
            Some(c) if c.is_alphabetic() || c == '_' => self.name(),
            _ => Err(format!("expected a value, found {}", self.here())),
        }
    }

    fn dict(&mut self, depth: usize) -> Result<Value, String> {
        self.expect('{', "to open the dict")?;
        let mut entries = Vec::new();
        loop {
            self.skip_ws();
            if self.chars.next_if(|&(_, c)| c == '}').is_some() {
                return Ok(Value::Dict(entries));
            }
            let key = self.value(depth + 1)?;
            self.skip_ws();
            self.expect(':', "after a dict key")?;
            self.skip_ws();
            let value = self.value(depth + 1)?;
            entries.push((key, value));
            self.skip_ws();
            if self.chars.next_if(|&(_, c)| c == ',').is_none() {
                self.skip_ws();
                self.expect('}', "or ',' after a dict entry")?;
                return Ok(Value::Dict(entries));
            }
        }
    }

    /// A tuple `( ... )` or a list `[ ... ]`. `(x)` without a comma is just `x`, as in Python.
    fn sequence(&mut self, depth: usize, close: char) -> Result<Value, String> {
        self.chars.next();
        let mut items = Vec::new();
        let mut trailing_comma = false;
        loop {
            self.skip_ws();
            if self.chars.next_if(|&(_, c)| c == close).is_some() {
                break;
            }
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            trailing_comma = self.chars.next_if(|&(_, c)| c == ',').is_some();
            if !trailing_comma {
                self.skip_ws();
                self.expect(close, "or ',' in a sequence")?;
                break;
            }
        }
        Ok(match (close, items.len(), trailing_comma) {
            (']', ..) => Value::List(items),
            (_, 1, false) => items.pop().unwrap_or(Value::Tuple(Vec::new())),
            _ => Value::Tuple(items),
        })
    }

    fn string(&mut self, quote: char) -> Result<Value, String> {
        let start = self.here();
        self.chars.next();
        let mut s = String::new();
        loop {
            match self.chars.next() {
                Some((_, c)) if c == quote => return Ok(Value::Str(s)),
                Some((_, '\\')) => match self.chars.next() {
                    Some((_, c)) => s.push(c),
                    None => break,
                },
                Some((_, '\n')) | None => break,
                Some((_, c)) => s.push(c),
            }
        }
        Err(format!("unterminated string starting with {start}"))
    }

    fn int(&mut self) -> Result<Value, String> {
        let start = self.here();
        let negative = matches!(self.chars.next_if(|&(_, c)| c == '-' || c == '+'), Some((_, '-')));
        let mut magnitude: Option<i128> = Some(0);
        let mut digits = 0usize;
        while let Some((_, c)) = self.chars.next_if(|&(_, c)| c.is_ascii_digit() || c == '_') {
            if let Some(d) = c.to_digit(10) {
                digits += 1;
                magnitude =
                    magnitude.and_then(|m| m.checked_mul(10)).and_then(|m| m.checked_add(i128::from(d)));
            }
        }
        if digits == 0 {
            return Err(format!("expected digits in the number starting with {start}"));
        }
        // Python 2 long suffix, as in headers numpy wrote under Python 2: `(3L, 4L)`.
        self.chars.next_if(|&(_, c)| c == 'L' || c == 'l');
        if let Some(&(pos, c)) = self.chars.peek()
            && (c.is_alphanumeric() || c == '.')
        {
            return Err(format!(
                "unexpected {c:?} at position {pos} in a number (only integers are valid here)"
            ));
        }
        Ok(Value::Int(if negative { magnitude.map(|m| -m) } else { magnitude }))
    }

    fn name(&mut self) -> Result<Value, String> {
        let start = self.here();
        let mut word = String::new();
        while let Some((_, c)) = self.chars.next_if(|&(_, c)| c.is_alphanumeric() || c == '_') {
            word.push(c);
        }
        match word.as_str() {
            "True" => Ok(Value::Bool(true)),
            "False" => Ok(Value::Bool(false)),
            "None" => Ok(Value::None),
            _ => Err(format!("unknown name {word:?} starting with {start}; expected True, False or None")),
        }
    }
}

// ------------------------------------------------------------------------------------ writing

/// Writes `data` with the given `shape` as an `.npy` file (version 1.0, dtype `<f4`, C order)
/// to `out`, byte for byte as `numpy.save` writes the same `float32` array: the header is
/// padded with spaces and ends in `'\n'` so the data starts at a multiple of 64 bytes. (A
/// header too long for version 1.0's `u16` length, i.e. thousands of dimensions, is written
/// as version 2.0, as numpy does.)
///
/// A `data.len()` that is not the product of `shape` is [`NpyError::ShapeMismatch`], returned
/// before anything is written. An error of `out` is [`NpyError::Stream`]; `out` is not
/// flushed.
pub fn write_npy(shape: &[usize], data: &[f32], out: &mut impl Write) -> Result<(), NpyError> {
    check_shape(shape, data)?;
    out.write_all(&encode_header(shape)).map_err(NpyError::Stream)?;
    let mut buf = [0u8; 16 * 1024];
    for chunk in data.chunks(buf.len() / 4) {
        let mut filled = 0;
        for (dst, v) in buf.chunks_exact_mut(4).zip(chunk) {
            dst.copy_from_slice(&v.to_le_bytes());
            filled += 4;
        }
        // `filled` counts 4-byte chunks of `buf`, so it is at most `buf.len()`.
        let (bytes, _) = buf.split_at(filled);
        out.write_all(bytes).map_err(NpyError::Stream)?;
    }
    Ok(())
}

/// Writes an `.npy` file as [`write_npy`] does, atomically: the bytes go to a new temporary
/// file in the target's directory, which is flushed to disk and then renamed over `path`. On
/// any error `path` is left as it was (absent, or its previous contents) and the temporary file
/// is removed, so a failed or interrupted write never leaves a partial output file.
///
/// A shape/data mismatch is [`NpyError::ShapeMismatch`], detected before any file is created.
/// Every I/O failure is [`NpyError::Io`] naming `path`. If `path` is a symbolic link, the link
/// itself is replaced by a regular file. The new file has default (umask) permissions.
pub fn write_npy_file(path: &Path, shape: &[usize], data: &[f32]) -> Result<(), NpyError> {
    check_shape(shape, data)?;
    let io_err = |source: io::Error| NpyError::Io { path: path.to_path_buf(), source };
    let Some(file_name) = path.file_name() else {
        return Err(io_err(io::Error::new(io::ErrorKind::InvalidInput, "the path does not name a file")));
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };

    let (file, temp) = create_temp(dir, file_name).map_err(io_err)?;
    let mut guard = TempGuard { path: Some(temp) };
    let mut writer = io::BufWriter::with_capacity(64 * 1024, file);
    write_npy(shape, data, &mut writer).map_err(|e| match e {
        NpyError::Stream(source) => io_err(source),
        other => other,
    })?;
    let file = writer.into_inner().map_err(|e| io_err(e.into_error()))?;
    file.sync_all().map_err(io_err)?;
    drop(file);
    let temp = guard.path.as_deref().unwrap_or(path);
    fs::rename(temp, path).map_err(io_err)?;
    guard.path = None;
    Ok(())
}

/// Removes the temporary file when dropped (on an error or a panic), unless disarmed by
/// taking `path` after the rename.
struct TempGuard {
    path: Option<PathBuf>,
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = fs::remove_file(path);
        }
    }
}

/// Creates a new, previously nonexistent file `.<name>.<pid>.<n>.tmp` in `dir`.
fn create_temp(dir: &Path, file_name: &std::ffi::OsStr) -> io::Result<(fs::File, PathBuf)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut last_err = None;
    for _ in 0..16 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut name = std::ffi::OsString::from(".");
        name.push(file_name);
        name.push(format!(".{}.{n}.tmp", std::process::id()));
        let temp = dir.join(name);
        match fs::OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(file) => return Ok((file, temp)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| io::Error::other("could not create a temporary file")))
}

fn check_shape(shape: &[usize], data: &[f32]) -> Result<(), NpyError> {
    if byte_size(shape, 4).is_none() {
        return Err(NpyError::ShapeOverflow { shape: shape.to_vec() });
    }
    let expected = shape.iter().product::<usize>();
    if expected != data.len() {
        return Err(NpyError::ShapeMismatch { shape: shape.to_vec(), expected, actual: data.len() });
    }
    Ok(())
}

/// The magic, version, header length and padded header, exactly as numpy writes them.
fn encode_header(shape: &[usize]) -> Vec<u8> {
    let dims = match shape {
        [] => "()".to_owned(),
        [d] => format!("({d},)"),
        _ => format!("({})", shape.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")),
    };
    let mut dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {dims}, }}");
    if let Some(first) = shape.first() {
        let digits = first.to_string().len();
        dict.extend(std::iter::repeat_n(' ', GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits)));
    }
    // numpy: hlen = len(header) + 1 (the '\n'); padlen = ALIGN - (preamble + hlen) % ALIGN,
    // which is a full ALIGN, never 0, when already aligned.
    let hlen = dict.len() + 1;
    let padded = |len_size: usize| hlen + ARRAY_ALIGN - (MAGIC.len() + 2 + len_size + hlen) % ARRAY_ALIGN;
    let (version, len_size) = if padded(2) <= usize::from(u16::MAX) { (1u8, 2usize) } else { (2, 4) };
    let preamble = MAGIC.len() + 2 + len_size;
    let total_header = padded(len_size);
    let padlen = total_header - hlen;

    let mut out = Vec::with_capacity(preamble + total_header);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&u16::try_from(total_header).unwrap_or(u16::MAX).to_le_bytes());
    } else {
        out.extend_from_slice(&u32::try_from(total_header).unwrap_or(u32::MAX).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.extend(std::iter::repeat_n(b' ', padlen));
    out.push(b'\n');
    out
}
