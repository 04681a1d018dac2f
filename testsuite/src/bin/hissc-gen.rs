//! Writes random kernels with random inputs for checking hissc against CPython +
//! numpy (`testsuite/python/check_random.py`): `hissc-gen DIR N [SEED]` makes
//! `DIR/k0001/{kernel.py,inputs.npz-like .npy files,params.txt}`.

use hissc_aop::{Array, DType};
use hissc_testsuite::gen::{self, Rng};
use std::io::Write;
use std::path::Path;

fn npy(path: &Path, a: &Array) -> std::io::Result<()> {
    // a minimal writer of numpy's format (version 1.0, C order, little endian)
    let descr = match a.dtype {
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
    };
    let shape: Vec<String> = a.shape.iter().map(|d| d.to_string()).collect();
    let shape = match shape.len() {
        0 => "()".to_string(),
        1 => format!("({},)", shape[0]),
        _ => format!("({})", shape.join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for &v in &a.data {
        let bytes = (v as i64).to_le_bytes();
        out.extend_from_slice(&bytes[..a.dtype.bytes()]);
    }
    std::fs::File::create(path)?.write_all(&out)
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: hissc-gen DIR N [SEED]");
        std::process::exit(2);
    }
    let dir = Path::new(&args[1]);
    let n: u64 = args[2].parse().unwrap_or(100);
    let seed: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
    for i in 0..n {
        let s = seed.wrapping_mul(1_000_003).wrapping_add(i);
        let k = gen::kernel(s);
        let d = dir.join(format!("k{i:05}"));
        std::fs::create_dir_all(&d)?;
        std::fs::write(d.join("kernel.py"), &k.source)?;
        let mut rng = Rng::new(s ^ 0x5151);
        let frame = gen::frame(&mut rng, &k);
        let mut params = String::new();
        for ((name, _, shape), a) in k.params.iter().zip(&frame) {
            if shape.is_empty() {
                params.push_str(&format!("{name}={}\n", a.data[0]));
            } else {
                npy(&d.join(format!("{name}.npy")), a)?;
            }
        }
        std::fs::write(d.join("params.txt"), params)?;
    }
    Ok(())
}
