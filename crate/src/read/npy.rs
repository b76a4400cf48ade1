//! NumPy `.npy` arrays of item embeddings: N × D, float32 (or float16/float64,
//! converted to f32), C or Fortran order, little-endian.

use crate::error::{Error, Location, Result, truncate};

use super::{Input, decode};

/// N vectors of D dimensions, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    pub rows: usize,
    pub dims: usize,
    pub data: Vec<f32>,
    /// Each row's item id, when the file names its rows (text forms only).
    pub ids: Option<Vec<String>>,
}

impl Embeddings {
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dims..(i + 1) * self.dims]
    }
}

#[derive(Clone, Copy)]
enum Dtype {
    F16,
    F32,
    F64,
}

impl Dtype {
    fn size(self) -> usize {
        match self {
            Dtype::F16 => 2,
            Dtype::F32 => 4,
            Dtype::F64 => 8,
        }
    }
}

/// Reads an N × D float array. A 1-d array of length N is read as N × 1.
pub fn read_npy(input: &Input, max_bytes: u64) -> Result<Embeddings> {
    let bytes = decode(input, max_bytes)?;
    let name = input.name.strip_suffix(".gz").unwrap_or(input.name);
    let bad = |message: String| Error::input(Location::file(name), message);
    if bytes.is_empty() {
        return Err(bad("the file is empty".into()));
    }
    if !bytes.starts_with(b"\x93NUMPY") || bytes.len() < 10 {
        return Err(bad("not a .npy file (no \\x93NUMPY magic)".into()));
    }
    let major = bytes[6];
    let (header_len, header_start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        _ => return Err(bad(format!("unsupported .npy version {major}"))),
    };
    let data_start = header_start.checked_add(header_len).filter(|&end| end <= bytes.len()).ok_or_else(|| bad("the header is cut short".into()))?;
    let header = std::str::from_utf8(&bytes[header_start..data_start]).map_err(|_| bad("the header is not text".into()))?;
    let descr = dict_value(header, "descr").ok_or_else(|| bad("the header has no 'descr'".into()))?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    let dtype = match descr {
        "<f4" | "|f4" | "f4" => Dtype::F32,
        "<f2" | "|f2" | "f2" => Dtype::F16,
        "<f8" | "|f8" | "f8" => Dtype::F64,
        other => {
            return Err(bad(format!("dtype '{}' is not supported: save the embeddings as little-endian float32 (np.float32)", truncate(other, 12))));
        }
    };
    let fortran = dict_value(header, "fortran_order").is_some_and(|v| v.trim() == "True");
    let shape_text = dict_value(header, "shape").ok_or_else(|| bad("the header has no 'shape'".into()))?;
    let shape: Vec<usize> = shape_text
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| bad(format!("bad shape {}", truncate(shape_text, 40)))))
        .collect::<Result<_>>()?;
    let (rows, dims) = match shape[..] {
        [n] => (n, 1),
        [n, d] => (n, d),
        _ => return Err(bad(format!("expected a 2-d array (N × D), got shape {}", truncate(shape_text, 40)))),
    };
    let expected = rows.checked_mul(dims).and_then(|c| c.checked_mul(dtype.size())).ok_or_else(|| bad(format!("shape {rows} × {dims} is too large")))?;
    let payload = &bytes[data_start..];
    if payload.len() != expected {
        return Err(bad(format!("shape {rows} × {dims} needs {expected} bytes of data but the file has {}", payload.len())));
    }
    let mut data: Vec<f32> = match dtype {
        Dtype::F32 => payload.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
        Dtype::F16 => payload.chunks_exact(2).map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]]))).collect(),
        Dtype::F64 => payload.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("chunks_exact(8)")) as f32).collect(),
    };
    if let Some(bad_at) = data.iter().position(|v| !v.is_finite()) {
        let (r, c) = if fortran { (bad_at % rows.max(1), bad_at / rows.max(1)) } else { (bad_at / dims, bad_at % dims) };
        return Err(bad(format!("row {r}, dimension {c} is {}, not a finite number", data[bad_at])));
    }
    if fortran && rows > 1 && dims > 1 {
        let mut c_order = vec![0.0; data.len()];
        for c in 0..dims {
            for r in 0..rows {
                c_order[r * dims + c] = data[c * rows + r];
            }
        }
        data = c_order;
    }
    Ok(Embeddings { rows, dims, data, ids: None })
}

/// The text after `'key':` up to the next top-level comma of a Python dict literal.
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let start = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[start..].trim_start().strip_prefix(':')?.trim_start();
    let mut depth = 0;
    for (i, ch) in rest.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' | '}' if depth == 0 => return Some(rest[..i].trim()),
            _ => {}
        }
    }
    None
}

fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let frac = (h & 0x3ff) as u32;
    let bits = match exp {
        0 if frac == 0 => sign,
        0 => {
            // Subnormal: normalise the fraction.
            let shift = frac.leading_zeros() - 21;
            let frac = (frac << shift) & 0x3ff;
            sign | ((127 - 15 + 1 - shift) << 23) | (frac << 13)
        }
        0x1f => sign | 0x7f80_0000 | (frac << 13),
        _ => sign | ((exp + 127 - 15) << 23) | (frac << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str, fortran: bool, shape: &str, payload: &[u8]) -> Vec<u8> {
        let mut header = format!("{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}", if fortran { "True" } else { "False" });
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(payload);
        out
    }

    fn f32s(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn reads_c_and_fortran_order_float32() {
        let c = npy("<f4", false, "(2, 3)", &f32s(&[1., 2., 3., 4., 5., 6.]));
        let e = read_npy(&Input::new("e.npy", &c), u64::MAX).unwrap();
        assert_eq!((e.rows, e.dims), (2, 3));
        assert_eq!(e.row(1), [4., 5., 6.]);
        let f = npy("<f4", true, "(2, 3)", &f32s(&[1., 4., 2., 5., 3., 6.]));
        assert_eq!(read_npy(&Input::new("e.npy", &f), u64::MAX).unwrap(), e);
    }

    #[test]
    fn reads_float16() {
        let half: Vec<u8> = [0x3c00u16, 0xc000, 0x3555, 0x0001].iter().flat_map(|h| h.to_le_bytes()).collect();
        let e = read_npy(&Input::new("e.npy", &npy("<f2", false, "(1, 4)", &half)), u64::MAX).unwrap();
        assert_eq!(e.data[0], 1.0);
        assert_eq!(e.data[1], -2.0);
        assert!((e.data[2] - 0.3333).abs() < 1e-3);
        assert!((e.data[3] - 5.96e-8).abs() < 1e-9);
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let err = |bytes: &[u8]| read_npy(&Input::new("e.npy", bytes), u64::MAX).unwrap_err().to_string();
        assert_eq!(err(b""), "e.npy: the file is empty");
        assert!(err(b"hello world, not numpy").contains("not a .npy file"));
        assert!(err(&npy("<i8", false, "(1, 1)", &[0; 8])).contains("dtype '<i8' is not supported"));
        assert!(err(&npy("<f4", false, "(2, 3)", &f32s(&[1.0; 5]))).contains("needs 24 bytes of data but the file has 20"));
        assert!(err(&npy("<f4", false, "(1000000000000, 1000000000)", &[])).contains("too large"));
        assert!(err(&npy("<f4", false, "(1, 2)", &f32s(&[1.0, f32::NAN]))).contains("row 0, dimension 1 is NaN"));
    }
}
