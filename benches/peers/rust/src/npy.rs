//! A small, dependency-free reader and writer for NumPy `.npy` files holding
//! little-endian `float32` (`'<f4'`) arrays in C order.
//!
//! Format: the magic `\x93NUMPY`, a major/minor version byte pair (1.0 has a
//! `u16` header length, 2.0 and 3.0 a `u32`), then a Python dict literal such as
//! `{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 224, 224), }`
//! padded with spaces and a final newline, then the raw data.

use std::fmt;
use std::fs;
use std::path::Path;

const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// A dense C-order `float32` array read from or written to a `.npy` file.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// Dimensions, outermost first; empty for a 0-d array.
    pub shape: Vec<usize>,
    /// The elements in C (row-major) order; `data.len()` is the product of `shape`.
    pub data: Vec<f32>,
}

/// Why a `.npy` file could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyError(pub String);

impl fmt::Display for NpyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NpyError {}

fn err<T>(msg: impl Into<String>) -> Result<T, NpyError> {
    Err(NpyError(msg.into()))
}

/// A value of the header dict: only the kinds `.npy` headers use.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Bool(bool),
    Tuple(Vec<usize>),
}

/// Parser for the Python-literal header dict.
struct HeaderParser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> HeaderParser<'a> {
    fn skip_ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.pos).copied()
    }

    fn expect(&mut self, c: u8) -> Result<(), NpyError> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            err(format!("malformed .npy header: expected '{}' at byte {}", c as char, self.pos))
        }
    }

    fn string(&mut self) -> Result<String, NpyError> {
        let quote = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => return err(format!("malformed .npy header: expected a string at byte {}", self.pos)),
        };
        self.pos += 1;
        let start = self.pos;
        while self.pos < self.s.len() && self.s[self.pos] != quote {
            self.pos += 1;
        }
        if self.pos >= self.s.len() {
            return err("malformed .npy header: unterminated string");
        }
        let text = String::from_utf8_lossy(&self.s[start..self.pos]).into_owned();
        self.pos += 1;
        Ok(text)
    }

    fn word(&mut self) -> &'a [u8] {
        self.skip_ws();
        let start = self.pos;
        while self.pos < self.s.len()
            && (self.s[self.pos].is_ascii_alphanumeric() || self.s[self.pos] == b'_')
        {
            self.pos += 1;
        }
        &self.s[start..self.pos]
    }

    fn tuple(&mut self) -> Result<Vec<usize>, NpyError> {
        self.expect(b'(')?;
        let mut dims = Vec::new();
        loop {
            if self.peek() == Some(b')') {
                self.pos += 1;
                return Ok(dims);
            }
            let w = self.word();
            // Python 2 era writers put an `L` suffix on longs.
            let digits = w.strip_suffix(b"L").unwrap_or(w);
            let text = std::str::from_utf8(digits).unwrap_or("");
            let dim: usize = text
                .parse()
                .map_err(|_| NpyError(format!("malformed .npy header: bad dimension '{text}' in shape")))?;
            dims.push(dim);
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b')') => {}
                _ => return err("malformed .npy header: expected ',' or ')' in shape"),
            }
        }
    }

    fn value(&mut self) -> Result<Value, NpyError> {
        match self.peek() {
            Some(b'\'' | b'"') => Ok(Value::Str(self.string()?)),
            Some(b'(') => Ok(Value::Tuple(self.tuple()?)),
            _ => match self.word() {
                b"True" => Ok(Value::Bool(true)),
                b"False" => Ok(Value::Bool(false)),
                other => err(format!(
                    "malformed .npy header: unexpected value '{}'",
                    String::from_utf8_lossy(other)
                )),
            },
        }
    }

    fn dict(&mut self) -> Result<Vec<(String, Value)>, NpyError> {
        self.expect(b'{')?;
        let mut entries = Vec::new();
        loop {
            if self.peek() == Some(b'}') {
                self.pos += 1;
                break;
            }
            let key = self.string()?;
            self.expect(b':')?;
            let value = self.value()?;
            entries.push((key, value));
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {}
                _ => return err("malformed .npy header: expected ',' or '}' in dict"),
            }
        }
        if self.peek().is_some() {
            return err("malformed .npy header: trailing bytes after the dict");
        }
        Ok(entries)
    }
}

/// The three fields of a `.npy` header.
#[derive(Debug, Clone, PartialEq)]
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

fn parse_header(text: &[u8]) -> Result<Header, NpyError> {
    let entries = HeaderParser { s: text, pos: 0 }.dict()?;
    let (mut descr, mut fortran_order, mut shape) = (None, None, None);
    for (key, value) in entries {
        match (key.as_str(), value) {
            ("descr", Value::Str(s)) => descr = Some(s),
            ("fortran_order", Value::Bool(b)) => fortran_order = Some(b),
            ("shape", Value::Tuple(t)) => shape = Some(t),
            (k @ ("descr" | "fortran_order" | "shape"), v) => {
                return err(format!("malformed .npy header: bad value {v:?} for '{k}'"));
            }
            _ => {}
        }
    }
    match (descr, fortran_order, shape) {
        (Some(descr), Some(fortran_order), Some(shape)) => Ok(Header { descr, fortran_order, shape }),
        _ => err("malformed .npy header: it needs the keys 'descr', 'fortran_order' and 'shape'"),
    }
}

/// Decodes a `.npy` file's bytes. Only little-endian `float32` in C order is accepted.
pub fn decode(bytes: &[u8]) -> Result<Array, NpyError> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return err("not a .npy file (bad magic)");
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (header_len, header_start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
        2 | 3 => {
            if bytes.len() < 12 {
                return err("truncated .npy file (header length)");
            }
            (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12)
        }
        _ => return err(format!("unsupported .npy version {major}.{minor}")),
    };
    let data_start = header_start
        .checked_add(header_len)
        .filter(|&end| end <= bytes.len())
        .ok_or_else(|| NpyError("truncated .npy file (header)".into()))?;
    let header = parse_header(&bytes[header_start..data_start])?;
    if header.descr != "<f4" {
        return err(format!(
            "unsupported .npy dtype '{}': only little-endian float32 ('<f4') is supported \
             (convert with arr.astype('<f4'))",
            header.descr
        ));
    }
    if header.fortran_order {
        return err("unsupported .npy layout: fortran_order is True, only C order is supported \
                    (convert with np.ascontiguousarray)");
    }
    let count = header
        .shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n.checked_mul(4).is_some())
        .ok_or_else(|| NpyError(format!("shape {:?} is too large", header.shape)))?;
    let payload = &bytes[data_start..];
    if payload.len() != count * 4 {
        return err(format!(
            "shape {:?} needs {} data bytes, the file has {}",
            header.shape,
            count * 4,
            payload.len()
        ));
    }
    let data = payload.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    Ok(Array { shape: header.shape, data })
}

/// Encodes an array as a version 1.0 `.npy` file (`'<f4'`, C order).
///
/// Returns an error if `data.len()` does not match the product of `shape`.
pub fn encode(shape: &[usize], data: &[f32]) -> Result<Vec<u8>, NpyError> {
    let count = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    if count != Some(data.len()) {
        return err(format!("shape {shape:?} does not match {} elements", data.len()));
    }
    let dims = match shape {
        [d] => format!("({d},)"),
        _ => format!("({})", shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {dims}, }}");
    // NumPy pads so that the data starts on a 64-byte boundary; the header
    // ends with a newline.
    let unpadded = MAGIC.len() + 2 + 2 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let header_len =
        u16::try_from(header.len()).map_err(|_| NpyError("shape too long for a .npy header".into()))?;
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&header_len.to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    Ok(out)
}

/// Reads a `'<f4'` C-order `.npy` file.
pub fn read(path: &Path) -> Result<Array, NpyError> {
    let bytes = fs::read(path).map_err(|e| NpyError(format!("cannot read {}: {e}", path.display())))?;
    decode(&bytes).map_err(|e| NpyError(format!("{}: {e}", path.display())))
}

/// Writes `data` with the given `shape` to `path` as a `'<f4'` `.npy` file.
pub fn write(path: &Path, shape: &[usize], data: &[f32]) -> Result<(), NpyError> {
    let bytes = encode(shape, data)?;
    fs::write(path, bytes).map_err(|e| NpyError(format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(version: u8, header: &str, data: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[version, 0]);
        if version == 1 {
            out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        }
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    fn f32_bytes(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn round_trip_keeps_shape_and_data_and_aligns_to_64() {
        for shape in [vec![], vec![3], vec![1, 3, 2, 2], vec![2, 0, 5]] {
            let n: usize = shape.iter().product();
            let data: Vec<f32> = (0..n).map(|i| i as f32 * 0.5 - 1.0).collect();
            let bytes = encode(&shape, &data).unwrap();
            assert_eq!((bytes.len() - n * 4) % 64, 0, "{shape:?}");
            assert_eq!(decode(&bytes).unwrap(), Array { shape: shape.clone(), data });
        }
    }

    #[test]
    fn encodes_numpy_style_header() {
        let bytes = encode(&[4], &[0.0; 4]).unwrap();
        let text = String::from_utf8_lossy(&bytes[10..bytes.len() - 16]);
        assert!(text.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }"), "{text}");
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn reads_numpy_headers_v1_and_v2() {
        let data = f32_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let h = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3), }          \n";
        for version in [1, 2, 3] {
            let a = decode(&raw(version, h, &data)).unwrap();
            assert_eq!(a.shape, vec![1, 2, 3]);
            assert_eq!(a.data, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        }
        // Key order, double quotes, no trailing comma, a Python 2 long suffix.
        let h = "{\"shape\": (2L, 3L), \"fortran_order\": False, \"descr\": \"<f4\"}\n";
        assert_eq!(decode(&raw(1, h, &data)).unwrap().shape, vec![2, 3]);
    }

    #[test]
    fn rejects_other_dtypes_and_fortran_order() {
        let h = "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }\n";
        let e = decode(&raw(1, h, &[0; 8])).unwrap_err();
        assert!(e.0.contains("'<f8'"), "{e}");
        let h = "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }\n";
        assert!(decode(&raw(1, h, &[0; 4])).is_err());
        let h = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }\n";
        let e = decode(&raw(1, h, &[0; 16])).unwrap_err();
        assert!(e.0.contains("fortran_order"), "{e}");
    }

    #[test]
    fn rejects_malformed_files_without_panicking() {
        let good = encode(&[2, 2], &[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert!(decode(b"").is_err());
        assert!(decode(b"PK\x03\x04 not npy at all").is_err());
        // Every truncation is an error, never a panic.
        for cut in 0..good.len() {
            assert!(decode(&good[..cut]).is_err(), "cut at {cut}");
        }
        // Extra trailing data.
        let mut long = good.clone();
        long.extend_from_slice(&[0; 4]);
        assert!(decode(&long).is_err());
        // A header length past the end of the file.
        let mut bad = good.clone();
        bad[8] = 0xff;
        bad[9] = 0xff;
        assert!(decode(&bad).is_err());
        // Unknown version.
        let mut bad = good.clone();
        bad[6] = 9;
        assert!(decode(&bad).is_err());
        // Broken dicts.
        for h in [
            "{'descr': '<f4', 'shape': (1,), }\n",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), \n",
            "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }\n",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }\n",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, }\n",
            "{'descr': '<f4, 'fortran_order': False, 'shape': (1,), }\n",
            "{'descr': '<f4', 'fortran_order': False, 'shape': 'x', }\n",
        ] {
            assert!(decode(&raw(1, h, &[0; 4])).is_err(), "{h}");
        }
        // A shape whose byte size overflows usize.
        let h = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, 4), }}\n", usize::MAX / 2);
        assert!(decode(&raw(1, &h, &[0; 4])).is_err());
    }

    #[test]
    fn encode_checks_the_element_count() {
        assert!(encode(&[2, 3], &[0.0; 5]).is_err());
    }
}
