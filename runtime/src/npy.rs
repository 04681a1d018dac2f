//! numpy's `.npy` format (through the npyz crate) as exact integer arrays: what
//! the command line reads and writes, and what a node takes and gives.

use hissc_aop::types::numel;
use hissc_aop::{Array, DType, Shape};
use npyz::WriterBuilder;

/// numpy's type string of each dtype, as numpy writes it.
fn descr(dtype: DType) -> &'static str {
    match dtype {
        DType::Bool => "|b1",
        DType::U8 => "|u1",
        DType::U16 => "<u2",
        DType::U32 => "<u4",
        DType::U64 => "<u8",
        DType::I8 => "|i1",
        DType::I16 => "<i2",
        DType::I32 => "<i4",
        DType::I64 => "<i8",
        DType::F64 => "<f8",
    }
}

/// The dtype of a type string (one byte wide types also with `<`).
fn dtype_of(s: &str) -> Option<DType> {
    DType::ALL.into_iter().find(|&d| {
        let ours = descr(d);
        ours == s || (ours.starts_with('|') && s.strip_prefix('<') == Some(&ours[1..]))
    })
}

/// Reads a `.npy` header from `r`, leaving it at the first element: the dtype
/// and shape of an integer or bool array in C order; `shown` names the file in
/// messages.
pub fn read_header(r: &mut impl std::io::Read, shown: &str) -> Result<(DType, Shape), String> {
    let h = npyz::NpyHeader::from_reader(r)
        .map_err(|e| format!("`{shown}` is not a valid .npy file: {e}"))?;
    let descr = match h.dtype() {
        npyz::DType::Plain(ts) => ts.to_string(),
        other => {
            return Err(format!(
                "`{shown}` holds a structured array ({other:?}); kernels take plain integer arrays"
            ))
        }
    };
    let Some(dtype) = dtype_of(&descr) else {
        return Err(format!(
            "`{shown}` has dtype `{descr}`; kernels take little-endian integer or bool arrays"
        ));
    };
    if dtype == DType::F64 {
        return Err(format!(
            "`{shown}` holds float64; kernel inputs are integers"
        ));
    }
    if h.order() != npyz::Order::C {
        return Err(format!(
            "`{shown}` is in Fortran order; save it with np.ascontiguousarray first"
        ));
    }
    let shape: Shape = h
        .shape()
        .iter()
        .map(|&d| u32::try_from(d).map_err(|_| format!("`{shown}` is too large")))
        .collect::<Result<_, _>>()?;
    Ok((dtype, shape))
}

/// Appends the elements in `bytes` (little endian, `dtype`'s width each) to `out`
/// as exact integers (a float64 as its bits); a bool is 1 for any byte but 0.
pub fn decode(dtype: DType, bytes: &[u8], out: &mut Vec<i128>) {
    fn each<const N: usize>(bytes: &[u8], out: &mut Vec<i128>, f: impl Fn([u8; N]) -> i128) {
        out.extend(
            bytes
                .chunks_exact(N)
                .map(|c| f(c.try_into().expect("chunks of N"))),
        );
    }
    match dtype {
        DType::Bool => out.extend(bytes.iter().map(|&b| (b != 0) as i128)),
        DType::U8 => out.extend(bytes.iter().map(|&b| b as i128)),
        DType::I8 => out.extend(bytes.iter().map(|&b| b as i8 as i128)),
        DType::U16 => each(bytes, out, |b| u16::from_le_bytes(b) as i128),
        DType::I16 => each(bytes, out, |b| i16::from_le_bytes(b) as i128),
        DType::U32 => each(bytes, out, |b| u32::from_le_bytes(b) as i128),
        DType::I32 => each(bytes, out, |b| i32::from_le_bytes(b) as i128),
        DType::U64 => each(bytes, out, |b| u64::from_le_bytes(b) as i128),
        DType::I64 => each(bytes, out, |b| i64::from_le_bytes(b) as i128),
        DType::F64 => each(bytes, out, |b| u64::from_le_bytes(b) as i128),
    }
}

/// Appends `data` (exact integers of `dtype`, a float64 as its bits) to `out`
/// as little-endian bytes, numpy's layout.
pub fn encode(dtype: DType, data: &[i128], out: &mut Vec<u8>) {
    match dtype {
        DType::Bool => out.extend(data.iter().map(|&v| (v != 0) as u8)),
        DType::U8 | DType::I8 => out.extend(data.iter().map(|&v| v as u8)),
        DType::U16 | DType::I16 => data
            .iter()
            .for_each(|&v| out.extend_from_slice(&(v as u16).to_le_bytes())),
        DType::U32 | DType::I32 => data
            .iter()
            .for_each(|&v| out.extend_from_slice(&(v as u32).to_le_bytes())),
        DType::U64 | DType::I64 | DType::F64 => data
            .iter()
            .for_each(|&v| out.extend_from_slice(&(v as u64).to_le_bytes())),
    }
}

/// The `.npy` header of an array of `dtype` and `shape` (its elements follow
/// as [`encode`] writes them).
pub fn header(dtype: DType, shape: &[u32]) -> Vec<u8> {
    use npyz::{TypeStr, WriteOptions};
    let ts: TypeStr = descr(dtype)
        .parse()
        .expect("numpy's own type strings parse");
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let mut out = Vec::new();
    WriteOptions::new_header_only()
        .dtype(npyz::DType::Plain(ts))
        .shape(&shape)
        .writer(&mut out)
        .write_header_only()
        .expect("writing to memory cannot fail");
    out
}

/// Reads `.npy` bytes of an integer or bool dtype, C order, little endian;
/// `shown` names them in messages (a file name, an object key).
pub fn from_bytes(bytes: &[u8], shown: &str) -> Result<Array, String> {
    let mut r = bytes;
    let (dtype, shape) = read_header(&mut r, shown)?;
    let want = numel(&shape) * dtype.bytes();
    if r.len() < want {
        return Err(format!(
            "`{shown}` is truncated or corrupt: its header says {shape:?} ({want} bytes of elements), it holds {}",
            r.len()
        ));
    }
    let mut data = Vec::with_capacity(numel(&shape));
    decode(dtype, &r[..want], &mut data);
    Ok(Array::new(dtype, shape, data))
}

/// The `.npy` bytes of an array, with numpy's own dtype.
pub fn to_bytes(a: &Array) -> Vec<u8> {
    let mut out = header(a.dtype, &a.shape);
    encode(a.dtype, &a.data, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dtype_round_trips() {
        for d in DType::INTEGERS {
            let a = Array::new(d, vec![2, 3], (0..6).map(|i| d.wrap(i * 37 - 50)).collect());
            assert_eq!(from_bytes(&to_bytes(&a), "x").unwrap(), a, "{d:?}");
        }
    }
}
