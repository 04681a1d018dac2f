//! numpy's `.npy` format (through the npyz crate) as exact integer arrays: what
//! the command line reads and writes, and what a node takes and gives.

use hissc_aop::{Array, DType};
use npyz::WriterBuilder;

fn dtype_of(descr: &str) -> Option<DType> {
    Some(match descr {
        "|b1" => DType::Bool,
        "|u1" | "<u1" => DType::U8,
        "<u2" => DType::U16,
        "<u4" => DType::U32,
        "<u8" => DType::U64,
        "|i1" | "<i1" => DType::I8,
        "<i2" => DType::I16,
        "<i4" => DType::I32,
        "<i8" => DType::I64,
        "<f8" => DType::F64,
        _ => return None,
    })
}

/// Reads `.npy` bytes of an integer or bool dtype, C order, little endian;
/// `shown` names them in messages (a file name, an object key).
pub fn from_bytes(bytes: &[u8], shown: &str) -> Result<Array, String> {
    let npy = npyz::NpyFile::new(bytes)
        .map_err(|e| format!("`{shown}` is not a valid .npy file: {e}"))?;
    let descr = match npy.dtype() {
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
    if npy.order() != npyz::Order::C {
        return Err(format!(
            "`{shown}` is in Fortran order; save it with np.ascontiguousarray first"
        ));
    }
    let shape: Vec<u32> = npy
        .shape()
        .iter()
        .map(|&d| u32::try_from(d).map_err(|_| format!("`{shown}` is too large")))
        .collect::<Result<_, _>>()?;
    let bad = |e: std::io::Error| format!("`{shown}` is truncated or corrupt: {e}");
    let data: Vec<i128> = match dtype {
        DType::Bool => npy
            .into_vec::<bool>()
            .map_err(bad)?
            .into_iter()
            .map(|b| b as i128)
            .collect(),
        DType::U8 => npy
            .into_vec::<u8>()
            .map_err(bad)?
            .into_iter()
            .map(i128::from)
            .collect(),
        DType::U16 => npy
            .into_vec::<u16>()
            .map_err(bad)?
            .into_iter()
            .map(i128::from)
            .collect(),
        DType::U32 => npy
            .into_vec::<u32>()
            .map_err(bad)?
            .into_iter()
            .map(i128::from)
            .collect(),
        DType::U64 => npy
            .into_vec::<u64>()
            .map_err(bad)?
            .into_iter()
            .map(i128::from)
            .collect(),
        DType::I8 => npy
            .into_vec::<i8>()
            .map_err(bad)?
            .into_iter()
            .map(i128::from)
            .collect(),
        DType::I16 => npy
            .into_vec::<i16>()
            .map_err(bad)?
            .into_iter()
            .map(i128::from)
            .collect(),
        DType::I32 => npy
            .into_vec::<i32>()
            .map_err(bad)?
            .into_iter()
            .map(i128::from)
            .collect(),
        DType::I64 => npy
            .into_vec::<i64>()
            .map_err(bad)?
            .into_iter()
            .map(i128::from)
            .collect(),
        DType::F64 => {
            return Err(format!(
                "`{shown}` holds float64; kernel inputs are integers"
            ))
        }
    };
    if data.len() != hissc_aop::types::numel(&shape) {
        return Err(format!(
            "`{shown}` holds {} elements, its header says {:?}",
            data.len(),
            shape
        ));
    }
    Ok(Array::new(dtype, shape, data))
}

fn write_typed<T: npyz::AutoSerialize>(shape: &[u64], data: Vec<T>) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .shape(shape)
            .writer(&mut out)
            .begin_nd()
            .expect("writing to memory cannot fail");
        w.extend(data).expect("writing to memory cannot fail");
        w.finish().expect("writing to memory cannot fail");
    }
    out
}

/// The `.npy` bytes of an array, with numpy's own dtype.
pub fn to_bytes(a: &Array) -> Vec<u8> {
    let shape: Vec<u64> = a.shape.iter().map(|&d| d as u64).collect();
    let d = &a.data;
    match a.dtype {
        DType::Bool => write_typed(&shape, d.iter().map(|&v| v != 0).collect()),
        DType::U8 => write_typed(&shape, d.iter().map(|&v| v as u8).collect()),
        DType::U16 => write_typed(&shape, d.iter().map(|&v| v as u16).collect()),
        DType::U32 => write_typed(&shape, d.iter().map(|&v| v as u32).collect()),
        DType::U64 => write_typed(&shape, d.iter().map(|&v| v as u64).collect()),
        DType::I8 => write_typed(&shape, d.iter().map(|&v| v as i8).collect()),
        DType::I16 => write_typed(&shape, d.iter().map(|&v| v as i16).collect()),
        DType::I32 => write_typed(&shape, d.iter().map(|&v| v as i32).collect()),
        DType::I64 => write_typed(&shape, d.iter().map(|&v| v as i64).collect()),
        DType::F64 => write_typed(
            &shape,
            d.iter().map(|&v| f64::from_bits(v as u64)).collect(),
        ),
    }
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
