//! Reading and writing numpy `.npy` files (with the npyz crate) as exact integer arrays.

use hissc_aop::{Array, DType};
use npyz::WriterBuilder;
use std::path::Path;

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

/// Reads a `.npy` file of an integer or bool dtype, C order, little endian.
pub fn read(path: &Path) -> Result<Array, String> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    let npy = npyz::NpyFile::new(&bytes[..])
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

fn write_typed<T: npyz::AutoSerialize>(
    path: &Path,
    shape: &[u64],
    data: Vec<T>,
) -> std::io::Result<()> {
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(shape)
        .writer(file)
        .begin_nd()?;
    w.extend(data)?;
    w.finish()
}

/// Writes an array with numpy's own dtype.
pub fn write(path: &Path, a: &Array) -> Result<(), String> {
    let shape: Vec<u64> = a.shape.iter().map(|&d| d as u64).collect();
    let d = &a.data;
    let r = match a.dtype {
        DType::Bool => write_typed(path, &shape, d.iter().map(|&v| v != 0).collect()),
        DType::U8 => write_typed(path, &shape, d.iter().map(|&v| v as u8).collect()),
        DType::U16 => write_typed(path, &shape, d.iter().map(|&v| v as u16).collect()),
        DType::U32 => write_typed(path, &shape, d.iter().map(|&v| v as u32).collect()),
        DType::U64 => write_typed(path, &shape, d.iter().map(|&v| v as u64).collect()),
        DType::I8 => write_typed(path, &shape, d.iter().map(|&v| v as i8).collect()),
        DType::I16 => write_typed(path, &shape, d.iter().map(|&v| v as i16).collect()),
        DType::I32 => write_typed(path, &shape, d.iter().map(|&v| v as i32).collect()),
        DType::I64 => write_typed(path, &shape, d.iter().map(|&v| v as i64).collect()),
        DType::F64 => write_typed(
            path,
            &shape,
            d.iter().map(|&v| f64::from_bits(v as u64)).collect(),
        ),
    };
    r.map_err(|e| format!("cannot write `{}`: {e}", path.display()))
}
