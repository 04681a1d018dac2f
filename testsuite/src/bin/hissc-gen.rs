//! Writes random kernels with random inputs for checking hissc against CPython +
//! numpy (`testsuite/python/check_random.py`): `hissc-gen DIR N [SEED]` makes
//! `DIR/k0001/{kernel.py,inputs.npz-like .npy files,params.txt}`.

use hissc_aop::Array;
use hissc_testsuite::gen::{self, Rng};
use std::path::Path;

fn npy(path: &Path, a: &Array) -> std::io::Result<()> {
    std::fs::write(path, hiss_runtime::npy::to_bytes(a))
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
        let k = gen::kernel_writing(s);
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
        // each state's initial value, in states/NAME.npy
        for (name, dtype, shape) in &k.states {
            std::fs::create_dir_all(d.join("states"))?;
            let n: usize = shape.iter().map(|&x| x as usize).product();
            let data = (0..n)
                .map(|_| rng.value(hissc_aop::DType::min(*dtype), hissc_aop::DType::max(*dtype)))
                .collect();
            let a = hissc_aop::Array::new(*dtype, shape.clone(), data);
            npy(&d.join("states").join(format!("{name}.npy")), &a)?;
        }
    }
    Ok(())
}
